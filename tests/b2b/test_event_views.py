"""Event pages as people use them: the list and an event's page, registering and the ticket PDF, the staff
pages (attendees, check-in at the door and through the ticket's QR code, lead-user sign-up, follow-up) and
what firms and other people are refused."""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.core import mail
from django.test import Client
from django.urls import reverse
from django.utils import timezone

from livinglab.b2b.factories import EventFactory, EventRegistrationFactory
from livinglab.b2b.models import Event, EventRegistration, LeadUserSignup
from livinglab.b2b.services import events as services
from livinglab.factories import UserFactory
from livinglab.models import Channel, ConsentRecord
from pilots.factories import PanelFactory
from pilots.models import PanelMembership
from pilots.services.enrolment import ConsentRoute

Status = Event.Status


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def text_of(response) -> str:
    return re.sub(r"\s+", " ", response.content.decode())


@pytest.fixture
def event(cluster):
    return EventFactory(
        organiser=cluster,
        title="Predictive maintenance breakfast",
        slug="predictive-maintenance-breakfast",
        kind=Event.Kind.BREAKFAST,
        venue="Cluster house, Kerava",
        time_zone="Europe/Helsinki",
        starts_at=datetime(2031, 3, 12, 7, 0, tzinfo=UTC),
        ends_at=datetime(2031, 3, 12, 9, 30, tzinfo=UTC),
        registration_closes_at=datetime(2031, 3, 11, 15, 0, tzinfo=UTC),
        capacity=3,
    )


@pytest.fixture
def ticket(event, buyer_user):
    """The buyer's registration for the event."""
    registration, _created = services.register_for_event(
        event,
        user=buyer_user,
        full_name="Ada Lindqvist",
        email="ada@nordic.example",
        organisation="Nordic Foods",
        job_title="Maintenance manager",
        acting_user=buyer_user,
    )
    return registration


# ---------------------------------------------------------------------------------------------- list


def test_the_event_list_shows_published_events_in_their_time_zone_and_hides_drafts_from_firms(
    event, cluster, buyer_user
):
    EventFactory(organiser=cluster, title="Secret draft", status=Status.DRAFT)
    EventFactory(
        organiser=cluster,
        title="Last year's fair",
        kind=Event.Kind.FAIR,
        starts_at=timezone.now() - timedelta(days=300),
        ends_at=timezone.now() - timedelta(days=299),
        registration_closes_at=timezone.now() - timedelta(days=301),
    )
    page = text_of(signed_in(buyer_user).get(reverse("b2b:event_list")))
    assert "Predictive maintenance breakfast" in page
    assert "Wednesday 12 March 2031, 09:00–11:30 (Europe/Helsinki)" in page
    assert "3 of 3" in page
    assert "Last year&#x27;s fair" in page
    assert "Secret draft" not in page and "New event" not in page


def test_the_event_list_filters_by_kind(event, cluster, client):
    EventFactory(organiser=cluster, title="Robotics fair", kind=Event.Kind.FAIR)
    page = text_of(client.get(reverse("b2b:event_list"), {"kind": "fair"}))
    assert "Robotics fair" in page and "Predictive maintenance breakfast" not in page
    assert client.get(reverse("b2b:event_list"), {"kind": "<script>"}).status_code == 200


def test_staff_see_drafts_in_the_event_list(event, cluster, staff_user):
    EventFactory(organiser=cluster, title="Secret draft", status=Status.DRAFT)
    page = text_of(signed_in(staff_user).get(reverse("b2b:event_list")))
    assert "Secret draft" in page and "New event" in page


def test_the_event_list_runs_a_fixed_number_of_queries(cluster, staff_user, django_assert_max_num_queries):
    for n in range(25):
        EventFactory(organiser=cluster, title=f"Upcoming {n}")
        EventFactory(
            organiser=cluster,
            title=f"Past {n}",
            starts_at=timezone.now() - timedelta(days=n + 2),
            ends_at=timezone.now() - timedelta(days=n + 1),
            registration_closes_at=timezone.now() - timedelta(days=n + 3),
        )
        EventFactory(organiser=cluster, title=f"Draft {n}", status=Status.DRAFT)
    client = signed_in(staff_user)
    client.get(reverse("b2b:event_list"))  # warm the session
    with django_assert_max_num_queries(10):
        response = client.get(reverse("b2b:event_list"))
    assert "Page 1 of 2" in text_of(response)


# --------------------------------------------------------------------------------------- event page


def test_an_anonymous_visitor_reads_the_event_and_is_asked_to_sign_in(event, client):
    page = text_of(client.get(reverse("b2b:event_detail", args=[event.slug])))
    assert "Predictive maintenance breakfast" in page and "Cluster house, Kerava" in page
    assert "3 places left of 3" in page
    assert "Open until 11 March 2031, 17:00 (Europe/Helsinki)" in page
    assert "Sign in to register" in page


def test_a_draft_event_is_not_found_by_firms(cluster, buyer_user, client):
    draft = EventFactory(organiser=cluster, status=Status.DRAFT)
    assert client.get(reverse("b2b:event_detail", args=[draft.slug])).status_code == 404
    assert signed_in(buyer_user).get(reverse("b2b:event_detail", args=[draft.slug])).status_code == 404


def test_a_firm_user_registers_and_sees_the_ticket_links(
    event, buyer_user, django_capture_on_commit_callbacks
):
    client = signed_in(buyer_user)
    url = reverse("b2b:event_detail", args=[event.slug])
    form = text_of(client.get(url))
    assert 'value="buyer@example.org"' in form and 'value="Nordic Foods"' in form
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            reverse("b2b:event_register", args=[event.slug]),
            {"full_name": "Ada Lindqvist", "email": "ada@nordic.example", "organisation": "nordic foods"},
            follow=True,
        )
    page = text_of(response)
    assert "You are registered. Your ticket is on its way to ada@nordic.example" in page
    registration = EventRegistration.objects.get(event=event)
    assert registration.user == buyer_user and registration.organisation.name == "Nordic Foods"
    assert reverse("b2b:ticket_pdf", args=[registration.ticket_code]) in page
    assert "2 places left of 3" in page
    assert mail.outbox[0].to == ["ada@nordic.example"]


def test_registering_with_a_bad_address_shows_the_form_again(event, buyer_user):
    response = signed_in(buyer_user).post(
        reverse("b2b:event_register", args=[event.slug]), {"full_name": "Ada", "email": "ada-at-nowhere"}
    )
    assert response.status_code == 200
    assert "Enter a valid email address." in text_of(response)
    assert not EventRegistration.objects.exists()


def test_registering_for_a_full_event_says_it_is_full(event, buyer_user):
    for _n in range(3):
        EventRegistrationFactory(event=event)
    response = signed_in(buyer_user).post(
        reverse("b2b:event_register", args=[event.slug]), {"full_name": "Ada", "email": "ada@nordic.example"}
    )
    assert response.status_code == 200
    assert "is full: all 3 places are taken" in text_of(response)


def test_registering_needs_a_sign_in(event, client):
    response = client.post(
        reverse("b2b:event_register", args=[event.slug]), {"full_name": "Ada", "email": "ada@nordic.example"}
    )
    assert response.status_code == 302 and "/accounts/login/" in response["Location"]
    assert not EventRegistration.objects.exists()


# ------------------------------------------------------------------------------------------ tickets


def test_my_tickets_lists_my_registrations_only(ticket, event, buyer_user, rival_user):
    EventRegistrationFactory(event=event, full_name="Someone Else", user=rival_user)
    page = text_of(signed_in(buyer_user).get(reverse("b2b:ticket_list")))
    assert "Predictive maintenance breakfast" in page and "Ada Lindqvist" in page
    assert "Someone Else" not in page


def test_only_the_attendee_or_staff_download_the_ticket(ticket, buyer_user, rival_user, staff_user, client):
    url = reverse("b2b:ticket_pdf", args=[ticket.ticket_code])
    response = signed_in(buyer_user).get(url)
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    assert response.content.startswith(b"%PDF")
    assert signed_in(staff_user).get(url).status_code == 200
    assert signed_in(rival_user).get(url).status_code == 404
    assert signed_in(UserFactory()).get(url).status_code == 404
    assert client.get(url).status_code == 302  # to the sign-in page
    assert signed_in(buyer_user).get(reverse("b2b:ticket_pdf", args=["no-such-code"])).status_code == 404


def test_the_attendee_cancels_their_registration_and_frees_the_place(ticket, event, buyer_user, rival_user):
    url = reverse("b2b:ticket_cancel", args=[ticket.ticket_code])
    assert signed_in(rival_user).post(url).status_code == 404
    client = signed_in(buyer_user)
    assert "Cancel the registration of Ada Lindqvist" in text_of(client.get(url))
    response = client.post(url, follow=True)
    assert "is cancelled; the place is free for someone else" in text_of(response)
    ticket.refresh_from_db()
    assert ticket.status == EventRegistration.Status.CANCELLED
    assert "3 places left of 3" in text_of(client.get(reverse("b2b:event_detail", args=[event.slug])))
    again = client.post(url, follow=True)  # a second click says so, it is no error page
    assert again.status_code == 200 and "cancelled already" in text_of(again)


# -------------------------------------------------------------------------------------- staff pages


STAFF_PAGES = [
    ("b2b:event_create", False),
    ("b2b:event_edit", True),
    ("b2b:event_publish", True),
    ("b2b:event_cancel", True),
    ("b2b:event_registrations", True),
    ("b2b:event_check_in", True),
    ("b2b:event_lead_users", True),
    ("b2b:event_follow_up", True),
]


@pytest.mark.parametrize("name, with_slug", STAFF_PAGES)
def test_staff_pages_refuse_firms(event, ticket, buyer_user, staff_user, name, with_slug):
    url = reverse(name, args=[event.slug] if with_slug else [])
    firm = signed_in(buyer_user)
    assert firm.get(url).status_code == 403
    assert firm.post(url, {}).status_code == 403
    assert signed_in(staff_user).get(url).status_code == 200
    check_in = reverse("b2b:ticket_check_in", args=[ticket.ticket_code])
    assert firm.get(check_in).status_code == 403 and firm.post(check_in).status_code == 403
    assert EventRegistration.objects.get(pk=ticket.pk).checked_in_at is None
    assert Event.objects.get(pk=event.pk).status == Status.PUBLISHED


def test_staff_create_an_event_with_dates_in_its_time_zone(cluster, staff_user):
    client = signed_in(staff_user)
    response = client.post(
        reverse("b2b:event_create"),
        {
            "organiser": cluster.pk,
            "title": "Cluster visit to Kerava Dairy",
            "kind": Event.Kind.CLUSTER_VISIT,
            "description": "A guided visit of the production lines.",
            "venue": "Kerava Dairy",
            "time_zone": "Europe/Helsinki",
            "starts_at": "2031-06-02T10:00",
            "ends_at": "2031-06-02T12:00",
            "registration_closes_at": "2031-06-01T17:00",
            "capacity": "25",
            "lead_user_panel": "",
        },
    )
    assert response.status_code == 302
    event = Event.objects.get()
    assert event.status == Status.DRAFT and event.starts_at == datetime(2031, 6, 2, 7, 0, tzinfo=UTC)
    publish = reverse("b2b:event_publish", args=[event.slug])
    assert "Publish “Cluster visit to Kerava Dairy”?" in text_of(client.get(publish))
    client.post(publish)
    assert Event.objects.get().status == Status.PUBLISHED


def test_a_refused_event_form_says_why(event, staff_user):
    response = signed_in(staff_user).post(
        reverse("b2b:event_edit", args=[event.slug]),
        {
            "title": event.title,
            "kind": event.kind,
            "description": event.description,
            "venue": event.venue,
            "time_zone": "Europe/Helsinki",
            "starts_at": "2031-03-12T09:00",
            "ends_at": "2031-03-12T08:00",
            "registration_closes_at": "2031-03-11T17:00",
            "capacity": "3",
        },
    )
    assert response.status_code == 200 and "The event must end after it starts." in text_of(response)


def test_staff_are_warned_before_moving_an_event_and_attendees_see_that_it_moved(
    event, ticket, staff_user, buyer_user, django_capture_on_commit_callbacks
):
    client = signed_in(staff_user)
    edit = reverse("b2b:event_edit", args=[event.slug])
    assert "the 1 registered attendee is e-mailed the new details" in text_of(client.get(edit))
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            edit,
            {
                "title": event.title,
                "kind": event.kind,
                "description": event.description,
                "venue": "Kerava Dairy, hall B",
                "time_zone": "Europe/Helsinki",
                "starts_at": "2031-03-12T09:00",
                "ends_at": "2031-03-12T11:30",
                "registration_closes_at": "2031-03-11T17:00",
                "capacity": "3",
            },
            follow=True,
        )
    assert "registered attendees are being e-mailed the new time and place" in text_of(response)
    assert [m.to for m in mail.outbox] == [["ada@nordic.example"]]
    page = text_of(signed_in(buyer_user).get(reverse("b2b:event_detail", args=[event.slug])))
    assert "Kerava Dairy, hall B" in page
    assert re.search(r"The time or place changed on \d+ \w+ 20\d\d, \d\d:\d\d \(Europe/Helsinki\)", page)


def test_staff_cancel_an_event_and_the_attendees_are_told(
    event, ticket, staff_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = signed_in(staff_user).post(reverse("b2b:event_cancel", args=[event.slug]), follow=True)
    assert "The event is cancelled" in text_of(response)
    assert [m.to for m in mail.outbox] == [["ada@nordic.example"]]


def test_the_attendee_list_counts_searches_and_charts(event, ticket, staff_user):
    EventRegistrationFactory(event=event, full_name="Bertil Svensson", organisation_name="Arla Robotics")
    services.check_in(ticket.ticket_code, acting_user=staff_user)
    client = signed_in(staff_user)
    url = reverse("b2b:event_registrations", args=[event.slug])
    page = text_of(client.get(url))
    assert "Ada Lindqvist" in page and "Bertil Svensson" in page
    assert "✓ Checked in" in page and "Not checked in" in page
    assert '<th scope="row">Places</th><td>3</td>' in page
    assert '<th scope="row">Registered</th><td>2</td>' in page
    assert '<th scope="row">Checked in</th><td>1</td>' in page
    found = text_of(client.get(url, {"q": "bertil"}))
    assert "Bertil Svensson" in found and "Ada Lindqvist" not in found


def test_the_attendee_list_downloads_as_csv_in_the_events_zone_without_e_mails_or_ticket_codes(
    event, ticket, staff_user, buyer_user
):
    EventRegistrationFactory(
        event=event, full_name="=HYPERLINK(1)", organisation_name="Arla Robotics", email="b@arla.example"
    )
    EventRegistration.objects.filter(pk=ticket.pk).update(
        checked_in_at=datetime(2031, 3, 12, 6, 55, tzinfo=UTC)
    )
    url = reverse("b2b:event_registrations_export", args=[event.slug])
    assert url in text_of(signed_in(staff_user).get(reverse("b2b:event_registrations", args=[event.slug])))
    response = signed_in(staff_user).get(url)
    assert (
        response["Content-Disposition"]
        == 'attachment; filename="predictive-maintenance-breakfast-attendees.csv"'
    )
    lines = b"".join(response.streaming_content).decode("utf-8-sig").splitlines()
    assert lines[0] == "name,organisation,job_title,status,registered_at,checked_in_at"
    assert lines[1].startswith("'=HYPERLINK(1),Arla Robotics,")  # never run as a formula
    assert lines[2].startswith("Ada Lindqvist,Nordic Foods,") and lines[2].endswith(",2031-03-12 08:55")
    body = "\n".join(lines)
    assert "@" not in body and ticket.ticket_code not in body
    # Firms, even the attendee, get no attendee list.
    assert signed_in(buyer_user).get(url).status_code == 403


def test_the_attendee_list_runs_a_fixed_number_of_queries(event, staff_user, django_assert_max_num_queries):
    event.capacity = 200
    event.save()
    for n in range(120):
        EventRegistrationFactory(event=event, checked_in_at=timezone.now() if n % 2 else None)
    client = signed_in(staff_user)
    client.get(reverse("b2b:event_registrations", args=[event.slug]))
    with django_assert_max_num_queries(9):
        response = client.get(reverse("b2b:event_registrations", args=[event.slug]))
    assert "Page 1 of 3" in text_of(response)


# ------------------------------------------------------------------------------------------ check-in


def test_the_qr_code_page_checks_an_attendee_in_once(ticket, staff_user):
    client = signed_in(staff_user)
    url = reverse("b2b:ticket_check_in", args=[ticket.ticket_code])
    page = text_of(client.get(url))
    assert "Ada Lindqvist" in page and "Nordic Foods" in page and "Check in Ada Lindqvist" in page
    response = client.post(url, follow=True)
    assert "Checked in: Ada Lindqvist (Nordic Foods)." in text_of(response)
    ticket.refresh_from_db()
    assert ticket.checked_in_by == staff_user
    again = text_of(client.get(url))
    assert "Already checked in at " in again and "(Europe/Helsinki)" in again
    assert "Check in Ada Lindqvist" not in again
    second = client.post(url, follow=True)
    assert second.status_code == 200 and "was checked in already, at" in text_of(second)


@pytest.mark.parametrize("code", ["no-such-code", "x" * 22, "%20", "a" * 300])
def test_an_unknown_ticket_code_says_so_and_is_no_error(staff_user, code):
    client = signed_in(staff_user)
    url = f"/b2b/events/check-in/{code}/"
    response = client.get(url)
    assert response.status_code == 404 and "No ticket has this code" in text_of(response)
    assert client.post(url).status_code == 404


def test_the_door_checks_in_a_typed_code_or_a_scanned_link(event, ticket, staff_user):
    client = signed_in(staff_user)
    url = reverse("b2b:event_check_in", args=[event.slug])
    scanned = f"http://testserver/b2b/events/check-in/{ticket.ticket_code}/"
    page = text_of(client.post(url, {"code": scanned}, follow=True))
    assert "Checked in: Ada Lindqvist (Nordic Foods)." in page
    assert "1 of 1 registered attendees are checked in." in page
    again = text_of(client.post(url, {"code": ticket.ticket_code}, follow=True))
    assert "was checked in already, at" in again
    unknown = client.post(url, {"code": "WRONGCODE123"})
    assert unknown.status_code == 200 and "No ticket has this code" in text_of(unknown)


# ---------------------------------------------------------------------------------------- lead users


@pytest.fixture
def b2b_panel(cluster, consent_form, event):
    panel = PanelFactory(
        owner=cluster, channel=Channel.B2B, name="Lead users in food", consent_document=consent_form.document
    )
    event.lead_user_panel = panel
    event.save()
    return panel


def lead_user_post(purposes, route=ConsentRoute.WITNESSED, **overrides) -> dict:
    data = {
        "full_name": "Mikko Virtanen",
        "submission": "b" * 32,
        "consent_route": route,
        "witness_name": "Liisa Korhonen" if route == ConsentRoute.WITNESSED else "",
        "year_of_birth": "1980",
        "region": "Uusimaa",
        "employer": "Kerava Dairy",
        "occupation": "Production engineer",
        "preferred_contact": "email",
        "contact_email": "mikko@kerava-dairy.example",
        "shared_attributes": ["age_band", "region"],
    }
    if route != ConsentRoute.EMAIL:
        data[f"consent-purpose_{purposes['participation'].pk}"] = "on"
    return data | overrides


def test_staff_sign_up_a_lead_user_on_the_spot_with_witnessed_consent(event, b2b_panel, staff_user, purposes):
    client = signed_in(staff_user)
    url = reverse("b2b:event_lead_users", args=[event.slug])
    form = text_of(client.get(url))
    assert "Sign someone up into “Lead users in food”" in form and "Job title" in form
    response = client.post(url, lead_user_post(purposes), follow=True)
    page = text_of(response)
    assert "Mikko Virtanen is signed up as a lead user, with their consent recorded." in page
    assert "Kerava Dairy" in page and "Production engineer" in page
    signup = LeadUserSignup.objects.select_related("membership").get(event=event)
    assert signup.membership.status == PanelMembership.Status.ACTIVE
    assert signup.membership.source == PanelMembership.Source.EVENT
    assert ConsentRecord.objects.get(person=signup.membership.person).method == ConsentRecord.Method.WITNESSED


def test_a_lead_user_sign_up_without_a_witness_shows_the_form_again(event, b2b_panel, staff_user, purposes):
    response = signed_in(staff_user).post(
        reverse("b2b:event_lead_users", args=[event.slug]), lead_user_post(purposes, witness_name="")
    )
    assert response.status_code == 200
    assert "Give the name of the person who witnessed the consent." in text_of(response)
    assert not LeadUserSignup.objects.exists()


def test_the_lead_user_form_is_prefilled_from_a_registration(event, b2b_panel, ticket, staff_user):
    page = text_of(
        signed_in(staff_user).get(
            reverse("b2b:event_lead_users", args=[event.slug]), {"registration": ticket.pk}
        )
    )
    assert 'value="Ada Lindqvist"' in page and 'value="Maintenance manager"' in page
    assert 'value="ada@nordic.example"' in page


def test_the_lead_user_page_explains_when_the_event_has_no_panel(event, staff_user):
    response = signed_in(staff_user).post(
        reverse("b2b:event_lead_users", args=[event.slug]), {"full_name": "X"}
    )
    assert response.status_code == 200 and "No lead-user panel" in text_of(response)
    assert not PanelMembership.objects.exists()


# ---------------------------------------------------------------------------------------- follow-up


def test_staff_send_the_follow_up_once_after_the_event(
    event, ticket, staff_user, django_capture_on_commit_callbacks
):
    EventRegistrationFactory(event=event, email="absent@example.org")
    services.check_in(ticket.ticket_code, acting_user=staff_user)
    Event.objects.filter(pk=event.pk).update(
        starts_at=timezone.now() - timedelta(hours=4), ends_at=timezone.now() - timedelta(hours=1)
    )
    client = signed_in(staff_user)
    url = reverse("b2b:event_follow_up", args=[event.slug])
    assert "to the 1 attendee who was checked in" in text_of(client.get(url))
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"subject": "Slides", "message": "Thank you for coming."}, follow=True)
    assert "The follow-up is on its way" in text_of(response) and "Sent on " in text_of(response)
    assert [m.to for m in mail.outbox] == [["ada@nordic.example"]]
    assert "Mailed to 1 of 1 attendees who were checked in." in text_of(client.get(url))
    again = client.post(url, {"subject": "Again", "message": "Again"})
    assert again.status_code == 200 and "sent once" in text_of(again)
    assert len(mail.outbox) == 1
