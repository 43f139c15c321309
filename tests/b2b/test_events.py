"""Events as services: preparing, publishing and cancelling them, registration up to the capacity (also
under concurrent clicks, on PostgreSQL), tickets with a QR code, check-in at the door, lead users signed up
on the spot into the event's B2B panel with their consent, and the follow-up after the event."""

import subprocess
import zoneinfo
from datetime import UTC, datetime, timedelta
from unittest import mock

import pytest
import segno
from django.core import mail
from django.template.loader import render_to_string
from django.utils import timezone

from livinglab.b2b.errors import B2BError
from livinglab.b2b.factories import EventFactory, EventRegistrationFactory
from livinglab.b2b.models import Event, EventRegistration, LeadUserSignup
from livinglab.b2b.services import events as services
from livinglab.b2b.tasks import events as tasks
from livinglab.factories import OrganisationFactory, UserFactory
from livinglab.models import AuditChainHead, AuditEntry, Channel, ConsentRecord, Organisation
from pilots.factories import PanelAttributeFactory, PanelFactory
from pilots.models import PanelMembership
from pilots.services.enrolment import ConsentRoute
from tests.concurrency import on_postgresql, run_together

Status = Event.Status
Registered = EventRegistration.Status.REGISTERED


@pytest.fixture
def event(cluster):
    """A published workshop of the shared cluster in Helsinki, three places."""
    return EventFactory(
        organiser=cluster,
        title="Predictive maintenance breakfast",
        slug="predictive-maintenance-breakfast",
        kind=Event.Kind.BREAKFAST,
        venue="Cluster house, Kerava",
        time_zone="Europe/Helsinki",
        starts_at=datetime(2031, 3, 12, 7, 0, tzinfo=UTC),  # 09:00 in Helsinki
        ends_at=datetime(2031, 3, 12, 9, 30, tzinfo=UTC),
        registration_closes_at=datetime(2031, 3, 11, 15, 0, tzinfo=UTC),  # 17:00 in Helsinki
        capacity=3,
    )


@pytest.fixture
def register(participant):
    """Register ``email`` for ``event`` as ``user`` (the participant by default)."""

    def _register(event, email="ada@example.org", user=None, **kwargs):
        user = user or participant
        kwargs.setdefault("full_name", "Ada Lindqvist")
        kwargs.setdefault("organisation", "Nordic Foods")
        kwargs.setdefault("job_title", "Maintenance manager")
        return services.register_for_event(event, user=user, email=email, acting_user=user, **kwargs)

    return _register


@pytest.fixture
def b2b_panel(cluster, consent_form):
    """The cluster's B2B panel of professional lead users."""
    return PanelFactory(
        owner=cluster,
        channel=Channel.B2B,
        name="Lead users in food processing",
        consent_document=consent_form.document,
    )


def pdf_text(pdf: bytes, tmp_path) -> str:
    path = tmp_path / "ticket.pdf"
    path.write_bytes(pdf)
    return subprocess.run(
        ["pdftotext", "-layout", str(path), "-"], capture_output=True, text=True, check=True
    ).stdout


def at(moment):
    """Make ``timezone.now()`` return ``moment``."""
    return mock.patch("django.utils.timezone.now", return_value=moment)


# ------------------------------------------------------------------------------------------- events


def event_changes(**overrides) -> dict:
    starts = timezone.now() + timedelta(days=30)
    values = {
        "title": "  Smart  packaging fair ",
        "kind": Event.Kind.FAIR,
        "description": "Suppliers show packaging that keeps food fresh longer.",
        "venue": "Expo hall, Tampere",
        "time_zone": "Europe/Helsinki",
        "starts_at": starts,
        "ends_at": starts + timedelta(hours=8),
        "registration_closes_at": starts - timedelta(days=1),
        "capacity": 200,
        "lead_user_panel": None,
    }
    return values | overrides


def test_staff_create_an_event_as_a_draft_with_a_slug_from_its_title(cluster, staff_user):
    event = services.save_event(None, event_changes(), organiser=cluster, acting_user=staff_user)
    assert (event.title, event.slug, event.status) == (
        "Smart packaging fair",
        "smart-packaging-fair",
        Status.DRAFT,
    )
    assert event.channel == Channel.B2B and event.organiser == cluster and event.created_by == staff_user
    assert AuditEntry.objects.filter(action="b2b.event.create", object_id=str(event.pk)).exists()


def test_an_event_never_takes_a_fixed_word_of_the_event_pages_as_its_slug(cluster, staff_user):
    event = services.save_event(
        None, event_changes(title="Check-in"), organiser=cluster, acting_user=staff_user
    )
    assert event.slug == "check-in-2"


@pytest.mark.parametrize(
    "overrides, reason",
    [
        ({"ends_at": timezone.now() + timedelta(days=29)}, "must end after it starts"),
        ({"registration_closes_at": timezone.now() + timedelta(days=31)}, "Registration must close before"),
        ({"capacity": 0}, "at least one place"),
        ({"time_zone": "Mars/Olympus"}, "time zone"),
        ({"title": ""}, "Title"),
    ],
)
def test_save_event_refuses_what_does_not_make_sense(cluster, staff_user, overrides, reason):
    with pytest.raises(B2BError) as refused:
        services.save_event(None, event_changes(**overrides), organiser=cluster, acting_user=staff_user)
    assert reason in refused.value.message
    assert not Event.objects.exists()


def test_save_event_refuses_fewer_places_than_people_registered(event, staff_user, register):
    register(event, "a@example.org")
    register(event, "b@example.org")
    with pytest.raises(B2BError, match="2 people are registered already"):
        services.save_event(event, {"capacity": 1}, acting_user=staff_user)
    assert services.save_event(event, {"capacity": 2}, acting_user=staff_user).capacity == 2


def test_the_lead_user_panel_must_be_a_b2b_panel_of_the_organiser(event, staff_user, b2b_panel, consent_form):
    consumer_panel = PanelFactory(
        owner=event.organiser, channel=Channel.B2C, consent_document=consent_form.document
    )
    foreign_panel = PanelFactory(channel=Channel.B2B, consent_document=consent_form.document)
    for panel in (consumer_panel, foreign_panel):
        with pytest.raises(B2BError, match="is not one"):
            services.save_event(event, {"lead_user_panel": panel}, acting_user=staff_user)
    assert (
        services.save_event(event, {"lead_user_panel": b2b_panel}, acting_user=staff_user).lead_user_panel
        == b2b_panel
    )


def test_only_staff_of_the_organiser_create_events(cluster, staff_user, buyer_user):
    with pytest.raises(B2BError, match="staff manage events"):
        services.save_event(None, event_changes(), organiser=cluster, acting_user=buyer_user)
    other_cluster = OrganisationFactory(kind=Organisation.Kind.CLUSTER)
    with pytest.raises(B2BError, match="organiser"):
        services.save_event(None, event_changes(), organiser=other_cluster, acting_user=staff_user)


def test_a_draft_is_published_once_and_a_published_event_cancelled_once(cluster, staff_user):
    event = services.save_event(None, event_changes(), organiser=cluster, acting_user=staff_user)
    assert services.publish_event(event, acting_user=staff_user).status == Status.PUBLISHED
    with pytest.raises(B2BError, match="cannot become"):
        services.publish_event(event, acting_user=staff_user)
    assert services.cancel_event(event, acting_user=staff_user).status == Status.CANCELLED
    with pytest.raises(B2BError, match="cannot become"):
        services.cancel_event(event, acting_user=staff_user)
    with pytest.raises(B2BError, match="cancelled"):
        services.save_event(event, {"capacity": 5}, acting_user=staff_user)


def test_cancel_event_mails_every_registered_attendee_once(
    event, staff_user, register, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=False):
        register(event, "a@example.org")
        register(event, "b@example.org")
        gone, _created = register(event, "c@example.org")
        services.cancel_registration(gone, acting_user=gone.user)
    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_event(event, acting_user=staff_user)
    assert sorted(m.to[0] for m in mail.outbox) == ["a@example.org", "b@example.org"]
    assert all(m.subject == "Cancelled: Predictive maintenance breakfast" for m in mail.outbox)
    assert "12 March 2031" in mail.outbox[0].body and "Europe/Helsinki" in mail.outbox[0].body
    assert tasks.mail_cancellation(event.pk) == 0  # a retried task sends nothing twice
    assert len(mail.outbox) == 2


def test_moving_a_published_event_mails_each_attendee_the_new_details_and_ticket_once_per_move(
    event, staff_user, register, django_capture_on_commit_callbacks, tmp_path
):
    with django_capture_on_commit_callbacks(execute=False):
        first, _created = register(event, "a@example.org")
        register(event, "b@example.org")
        gone, _created = register(event, "c@example.org")
        services.cancel_registration(gone, acting_user=gone.user)
    later = {
        "starts_at": datetime(2031, 3, 13, 7, 0, tzinfo=UTC),
        "ends_at": datetime(2031, 3, 13, 9, 30, tzinfo=UTC),
    }
    with django_capture_on_commit_callbacks(execute=True):
        event = services.save_event(event, later, acting_user=staff_user)
    assert event.moved_at is not None
    assert sorted(m.to[0] for m in mail.outbox) == ["a@example.org", "b@example.org"]
    message = next(m for m in mail.outbox if m.to == ["a@example.org"])
    assert message.subject == "New time or place: Predictive maintenance breakfast"
    assert "Thursday 13 March 2031, 09:00–11:30 (Europe/Helsinki)" in message.body
    assert "Cluster house, Kerava" in message.body and "b@example.org" not in message.body
    (_name, pdf, kind) = message.attachments[0]
    ticket = pdf_text(pdf, tmp_path)
    assert kind == "application/pdf" and first.ticket_code in ticket and "13 March 2031" in ticket
    assert tasks.mail_move(event.pk) == 0  # a retried task sends nothing twice

    with django_capture_on_commit_callbacks(execute=True):
        services.save_event(event, {"venue": "Kerava Dairy, hall B"}, acting_user=staff_user)
    assert len(mail.outbox) == 4
    assert all("Kerava Dairy, hall B" in m.body for m in mail.outbox[2:])


def test_changes_that_leave_time_and_place_as_they_were_mail_nobody(
    event, cluster, staff_user, register, django_capture_on_commit_callbacks
):
    register(event)
    mail.outbox.clear()
    same_moment_in_helsinki = event.starts_at.astimezone(zoneinfo.ZoneInfo("Europe/Helsinki"))
    with django_capture_on_commit_callbacks(execute=True):
        services.save_event(
            event,
            {"capacity": 10, "description": "Coffee from 08:45.", "starts_at": same_moment_in_helsinki},
            acting_user=staff_user,
        )
        draft = services.save_event(None, event_changes(), organiser=cluster, acting_user=staff_user)
        services.save_event(draft, {"venue": "Elsewhere"}, acting_user=staff_user)
    assert not mail.outbox
    assert Event.objects.get(pk=event.pk).moved_at is None and draft.moved_at is None


def test_a_failed_move_mail_is_sent_again_by_the_retry(event, staff_user, register):
    register(event, "a@example.org")
    mail.outbox.clear()
    with mock.patch("django.core.mail.EmailMessage.send", side_effect=OSError("SMTP down")):
        services.save_event(event, {"venue": "Kerava Dairy"}, acting_user=staff_user)
        with pytest.raises(OSError):
            tasks.mail_move(event.pk)
    assert EventRegistration.objects.get().move_mailed_at is None
    assert tasks.mail_move(event.pk) == 1 and len(mail.outbox) == 1


def test_no_move_notice_is_mailed_once_the_event_is_over(event, staff_user, register):
    register(event)
    mail.outbox.clear()
    services.save_event(event, {"venue": "Kerava Dairy"}, acting_user=staff_user)
    Event.objects.filter(pk=event.pk).update(
        starts_at=timezone.now() - timedelta(hours=3), ends_at=timezone.now() - timedelta(hours=1)
    )
    assert tasks.mail_move(event.pk) == 0 and not mail.outbox


def test_upcoming_and_past_events_list_only_published_ones(event, cluster):
    past = EventFactory(
        organiser=cluster,
        starts_at=timezone.now() - timedelta(days=3),
        ends_at=timezone.now() - timedelta(days=3) + timedelta(hours=2),
        registration_closes_at=timezone.now() - timedelta(days=4),
    )
    EventFactory(organiser=cluster, status=Status.DRAFT)
    EventFactory(organiser=cluster, status=Status.CANCELLED)
    assert list(services.upcoming_events()) == [event]
    assert list(services.past_events()) == [past]


# ------------------------------------------------------------------------------------- registration


def test_a_registration_gets_its_ticket_by_mail_with_the_pdf(
    event, register, participant, django_capture_on_commit_callbacks, tmp_path
):
    with django_capture_on_commit_callbacks(execute=True):
        registration, created = register(event, "Ada@Example.org ")
    assert created and registration.email == "ada@example.org" and registration.user == participant
    assert (registration.organisation_name, registration.job_title) == ("Nordic Foods", "Maintenance manager")
    assert len(registration.ticket_code) == 22  # 128 random bits
    (message,) = mail.outbox
    assert message.to == ["ada@example.org"]
    assert message.subject == "Your ticket: Predictive maintenance breakfast"
    assert registration.ticket_code in message.body
    assert "Wednesday 12 March 2031, 09:00–11:30 (Europe/Helsinki)" in message.body
    (_name, pdf, kind) = message.attachments[0]
    assert kind == "application/pdf" and pdf.startswith(b"%PDF")
    assert registration.ticket_code in pdf_text(pdf, tmp_path)
    registration.refresh_from_db()
    assert registration.ticket_mailed_at is not None
    assert tasks.mail_ticket(registration.pk) is False  # a retried task sends nothing twice
    assert len(mail.outbox) == 1


def test_a_registration_links_the_organisation_the_attendee_acts_for(event, buyer, buyer_user):
    registration, _created = services.register_for_event(
        event,
        user=buyer_user,
        full_name="Ada Lindqvist",
        email="ada@nordic.example",
        organisation=buyer,
        acting_user=buyer_user,
    )
    assert (registration.organisation, registration.organisation_name) == (buyer, "Nordic Foods")


def test_an_event_at_capacity_refuses_further_registrations(event, register):
    for n in range(3):
        register(event, f"p{n}@example.org")
    with pytest.raises(B2BError, match="is full: all 3 places are taken"):
        register(event, "late@example.org")
    assert EventRegistration.objects.filter(event=event, status=Registered).count() == 3


@on_postgresql
def test_an_event_at_capacity_refuses_further_registrations_even_under_concurrent_clicks(
    transactional_db, event, participant, mailoutbox
):
    AuditChainHead.objects.get_or_create(pk=1)

    def click(i):
        return services.register_for_event(
            Event.objects.get(pk=event.pk),
            user=participant,
            full_name=f"Attendee {i}",
            email=f"attendee{i}@example.org",
            acting_user=participant,
        )

    results = run_together(click, 10)
    registered = [r for r in results if isinstance(r, tuple)]
    refused = [r for r in results if isinstance(r, B2BError)]
    assert len(registered) == 3 and len(refused) == 7, results
    assert all("is full" in error.message for error in refused)
    assert EventRegistration.objects.filter(event=event, status=Registered).count() == 3
    assert AuditEntry.objects.filter(action="b2b.registration.create").count() == 3


def test_registration_is_open_until_the_second_before_it_closes(event, register):
    closes = event.registration_closes_at
    with at(closes - timedelta(seconds=1)):
        assert services.registration_open(event)
        register(event, "just-in-time@example.org")
    with at(closes), pytest.raises(B2BError) as refused:
        register(event, "too-late@example.org")
    assert refused.value.message == (
        "Registration for “Predictive maintenance breakfast” closed on 11 March 2031, 17:00 "
        "(Europe/Helsinki)."
    )
    assert not services.registration_open(event, closes)
    assert list(EventRegistration.objects.values_list("email", flat=True)) == ["just-in-time@example.org"]


def test_the_same_address_registering_twice_gets_its_existing_ticket_back(
    event, register, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        first, created = register(event, "ada@example.org")
        again, created_again = register(event, "ADA@example.org")
    assert created and not created_again
    assert again.pk == first.pk and again.ticket_code == first.ticket_code
    assert EventRegistration.objects.count() == 1
    assert len(mail.outbox) == 1


def test_another_account_does_not_get_the_ticket_of_an_address_registered_already(
    event, register, buyer_user
):
    first, _created = register(event, "ada@example.org")
    with pytest.raises(
        B2BError, match="registered for “Predictive maintenance breakfast” already"
    ) as refused:
        register(event, "ada@example.org", user=buyer_user)
    assert first.ticket_code not in refused.value.message


def test_a_draft_or_cancelled_event_takes_no_registrations(cluster, register):
    for status in (Status.DRAFT, Status.CANCELLED):
        with pytest.raises(B2BError, match="takes no registrations"):
            register(EventFactory(organiser=cluster, status=status))
    assert not EventRegistration.objects.exists()


def test_people_register_only_themselves(event, participant, buyer_user):
    with pytest.raises(B2BError, match="only yourself"):
        services.register_for_event(
            event, user=buyer_user, full_name="Someone", email="s@example.org", acting_user=participant
        )


def test_a_registration_needs_a_name_and_a_valid_address(event, register):
    with pytest.raises(B2BError, match="valid e-mail address"):
        register(event, "not an address")
    with pytest.raises(B2BError, match="full name"):
        register(event, "ada@example.org", full_name="   ")


def test_cancelling_a_registration_frees_its_place(event, register, participant, buyer_user):
    registrations = [register(event, f"p{n}@example.org")[0] for n in range(3)]
    with pytest.raises(B2BError, match="is full"):
        register(event, "waiting@example.org")
    with pytest.raises(B2BError, match="Only the attendee"):
        services.cancel_registration(registrations[0], acting_user=buyer_user)
    cancelled = services.cancel_registration(registrations[0], acting_user=participant)
    assert cancelled.status == EventRegistration.Status.CANCELLED and cancelled.cancelled_at is not None
    registration, created = register(event, "waiting@example.org")
    assert created and registration.status == Registered
    with pytest.raises(B2BError, match="cancelled already"):
        services.cancel_registration(registrations[0], acting_user=participant)


def test_the_same_address_may_register_again_after_cancelling(event, register, participant):
    first, _created = register(event, "ada@example.org")
    services.cancel_registration(first, acting_user=participant)
    again, created = register(event, "ada@example.org")
    assert created and again.ticket_code != first.ticket_code


# ------------------------------------------------------------------------------------------- check-in


def test_a_ticket_is_checked_in_once_and_a_second_check_in_says_when(event, register, staff_user):
    registration, _created = register(event)
    moment = datetime(2031, 3, 12, 6, 55, tzinfo=UTC)
    with at(moment):
        first = services.check_in(registration.ticket_code, event=event, acting_user=staff_user)
    assert not first.already
    assert (first.registration.checked_in_at, first.registration.checked_in_by) == (moment, staff_user)
    second = services.check_in(f"  {registration.ticket_code} ", acting_user=staff_user)
    assert second.already and second.registration.checked_in_at == moment
    assert (
        services.local_moment(event, second.registration.checked_in_at)
        == "12 March 2031, 08:55 (Europe/Helsinki)"
    )
    assert AuditEntry.objects.filter(action="b2b.registration.check_in").count() == 1


@pytest.mark.parametrize("code", ["", "nope", "x" * 22, "../../etc/passwd", "a" * 500, "' OR 1=1 --"])
def test_an_unknown_ticket_code_is_refused_clearly(event, staff_user, code):
    with pytest.raises(B2BError, match="No ticket has this code"):
        services.check_in(code, acting_user=staff_user)


def test_a_cancelled_ticket_or_one_of_another_event_is_not_checked_in(
    event, register, participant, staff_user
):
    registration, _created = register(event)
    other = EventFactory(organiser=event.organiser, title="Robotics fair")
    with pytest.raises(B2BError, match="for another event: “Predictive maintenance breakfast”"):
        services.check_in(registration.ticket_code, event=other, acting_user=staff_user)
    services.cancel_registration(registration, acting_user=participant)
    with pytest.raises(B2BError, match="was cancelled on"):
        services.check_in(registration.ticket_code, acting_user=staff_user)
    assert EventRegistration.objects.get(pk=registration.pk).checked_in_at is None


def test_only_staff_check_attendees_in(event, register, participant):
    registration, _created = register(event)
    with pytest.raises(B2BError, match="staff"):
        services.check_in(registration.ticket_code, acting_user=participant)


# -------------------------------------------------------------------------------------------- tickets


def test_the_ticket_pdf_names_the_event_its_time_in_its_zone_the_attendee_and_the_code(
    event, register, tmp_path
):
    registration, _created = register(event)
    filename, pdf = services.ticket_pdf(registration)
    assert filename == f"ticket-predictive-maintenance-breakfast-{registration.pk}.pdf"
    text = " ".join(pdf_text(pdf, tmp_path).split())
    for expected in (
        "Predictive maintenance breakfast",
        "Wednesday 12 March 2031, 09:00–11:30 (Europe/Helsinki)",
        "Cluster house, Kerava",
        "Ada Lindqvist",
        "Maintenance manager, Nordic Foods",
        registration.ticket_code,
    ):
        assert expected in text


def test_the_ticket_qr_code_holds_the_absolute_check_in_link(event, register):
    registration, _created = register(event)
    url = f"http://testserver/b2b/events/check-in/{registration.ticket_code}/"
    assert services.check_in_url(registration) == url
    qr = services.ticket_qr(registration)
    assert qr.matrix == segno.make(url, error="m", micro=False).matrix
    context = services.ticket_context(registration)
    html = render_to_string("b2b/pdf/ticket.html", context)
    assert f'src="{qr.svg_data_uri(scale=1, border=4, omitsize=True)}"' in html


# ----------------------------------------------------------------------------------------- lead users


def witnessed(consent_purposes, **overrides) -> dict:
    values = {
        "full_name": "Mikko Virtanen",
        "profile": {
            "year_of_birth": 1980,
            "region": "Uusimaa",
            "employer": "Kerava Dairy",
            "occupation": "Production engineer",
            "preferred_contact": "email",
            "contact_email": "mikko@kerava-dairy.example",
        },
        "consent_route": ConsentRoute.WITNESSED,
        "witness_name": "Liisa Korhonen",
        "purposes": [consent_purposes["participation"]],
        "submission_key": "s" * 32,
    }
    return values | overrides


def test_a_lead_user_signed_up_with_witnessed_consent_is_an_active_member_from_the_event(
    event, b2b_panel, staff_user, purposes
):
    event.lead_user_panel = b2b_panel
    event.save()
    signup, created = services.sign_up_lead_user(event, acting_user=staff_user, **witnessed(purposes))
    assert created and signup.event == event and signup.signed_up_by == staff_user
    membership = signup.membership
    assert (membership.panel, membership.status) == (b2b_panel, PanelMembership.Status.ACTIVE)
    assert (membership.source, membership.source_detail) == ("event", "Predictive maintenance breakfast")
    profile = membership.person.profile
    assert (profile.employer, profile.occupation) == ("Kerava Dairy", "Production engineer")
    record = ConsentRecord.objects.get(person=membership.person)
    assert record.method == ConsentRecord.Method.WITNESSED and record.purpose == purposes["participation"]
    assert record.evidence["witness"] == "Liisa Korhonen"
    assert AuditEntry.objects.filter(action="b2b.lead_user.sign_up", object_id=str(signup.pk)).exists()


def test_a_lead_user_asked_to_confirm_by_email_is_pending_and_gets_the_mail(
    event, b2b_panel, staff_user, purposes, django_capture_on_commit_callbacks
):
    event.lead_user_panel = b2b_panel
    event.save()
    with django_capture_on_commit_callbacks(execute=True):
        signup, _created = services.sign_up_lead_user(
            event,
            acting_user=staff_user,
            **witnessed(purposes, consent_route=ConsentRoute.EMAIL, witness_name="", purposes=[]),
        )
    assert signup.membership.status == PanelMembership.Status.PENDING
    assert signup.membership.source == PanelMembership.Source.EVENT
    assert not ConsentRecord.objects.filter(person=signup.membership.person).exists()
    (message,) = mail.outbox
    assert message.to == ["mikko@kerava-dairy.example"]


def test_lead_user_sign_up_is_refused_when_the_event_has_no_panel(event, staff_user, purposes):
    with pytest.raises(B2BError, match="has no lead-user panel"):
        services.sign_up_lead_user(event, acting_user=staff_user, **witnessed(purposes))
    assert not PanelMembership.objects.exists() and not LeadUserSignup.objects.exists()


def test_only_staff_sign_up_lead_users(event, b2b_panel, buyer_user, purposes):
    event.lead_user_panel = b2b_panel
    event.save()
    with pytest.raises(B2BError, match="staff"):
        services.sign_up_lead_user(event, acting_user=buyer_user, **witnessed(purposes))


def test_a_registered_attendee_signs_up_with_the_work_they_gave_when_registering(
    event, b2b_panel, staff_user, purposes, register
):
    event.lead_user_panel = b2b_panel
    event.save()
    PanelAttributeFactory(panel=b2b_panel, code="job_title", label="Job title", kind="text")
    registration, _created = register(event)
    profile = {"year_of_birth": 1979, "region": "Uusimaa", "preferred_contact": "email"}
    signup, _created = services.sign_up_lead_user(
        event,
        acting_user=staff_user,
        registration=registration,
        **witnessed(purposes, full_name="", profile=profile),
    )
    person = signup.membership.person
    assert signup.registration == registration and person.full_name == "Ada Lindqvist"
    assert (person.profile.employer, person.profile.occupation) == ("Nordic Foods", "Maintenance manager")
    assert person.profile.contact_email == "ada@example.org"
    assert signup.membership.answers.get(attribute__code="job_title").value == "Maintenance manager"


def test_the_same_sign_up_form_sent_twice_signs_up_once(event, b2b_panel, staff_user, purposes):
    event.lead_user_panel = b2b_panel
    event.save()
    first, created = services.sign_up_lead_user(event, acting_user=staff_user, **witnessed(purposes))
    again, created_again = services.sign_up_lead_user(event, acting_user=staff_user, **witnessed(purposes))
    assert created and not created_again and again.pk == first.pk
    assert PanelMembership.objects.count() == 1 and LeadUserSignup.objects.count() == 1


# ------------------------------------------------------------------------------------------ follow-up


@pytest.fixture
def held(event, register, staff_user):
    """The event has taken place: a@ and b@ were checked in, c@ did not come, d@ cancelled."""
    registrations = {}
    for name in ("a", "b", "c"):
        registrations[name] = register(event, f"{name}@example.org", full_name=f"Person {name.upper()}")[0]
    for name in ("a", "b"):
        services.check_in(registrations[name].ticket_code, acting_user=staff_user)
    Event.objects.filter(pk=event.pk).update(
        starts_at=timezone.now() - timedelta(hours=5), ends_at=timezone.now() - timedelta(hours=2)
    )
    event.refresh_from_db()
    EventRegistrationFactory(event=event, email="d@example.org", status=EventRegistration.Status.CANCELLED)
    return event


def test_the_follow_up_is_mailed_once_to_the_attendees_who_were_checked_in(
    held, staff_user, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        event = services.send_follow_up(
            held, subject="Slides and next steps", message="Thank you for coming!", acting_user=staff_user
        )
    assert event.follow_up_sent_at is not None
    assert sorted(m.to for m in mail.outbox) == [["a@example.org"], ["b@example.org"]]
    message = mail.outbox[0]
    assert message.subject == "Slides and next steps" and "Thank you for coming!" in message.body
    assert "Hello Person A," in message.body or "Hello Person B," in message.body
    assert tasks.mail_follow_up(held.pk) == 0
    with pytest.raises(B2BError, match="sent once"):
        services.send_follow_up(held, subject="Again", message="Again", acting_user=staff_user)
    assert len(mail.outbox) == 2


def test_the_follow_up_waits_until_the_event_has_ended(event, staff_user):
    with pytest.raises(B2BError, match="after the event"):
        services.send_follow_up(event, subject="Too early", message="Hello", acting_user=staff_user)
    assert Event.objects.get(pk=event.pk).follow_up_sent_at is None


def test_a_failed_follow_up_mail_is_sent_again_by_the_retry(
    held, staff_user, django_capture_on_commit_callbacks
):
    with mock.patch("django.core.mail.EmailMessage.send", side_effect=OSError("SMTP down")):
        services.send_follow_up(held, subject="Slides", message="Thanks", acting_user=staff_user)
        with pytest.raises(OSError):
            tasks.mail_follow_up(held.pk)
    assert not EventRegistration.objects.filter(follow_up_mailed_at__isnull=False).exists()
    assert tasks.mail_follow_up(held.pk) == 2


def test_a_ticket_is_not_mailed_for_a_registration_cancelled_before_the_task_ran(
    event, register, participant
):
    registration, _created = register(event)
    services.cancel_registration(registration, acting_user=participant)
    assert tasks.mail_ticket(registration.pk) is False
    assert not mail.outbox


def test_no_ticket_is_mailed_once_the_event_is_over(event, register):
    registration, _created = register(event)
    mail.outbox.clear()
    Event.objects.filter(pk=event.pk).update(
        starts_at=timezone.now() - timedelta(hours=3), ends_at=timezone.now() - timedelta(hours=1)
    )
    assert tasks.mail_ticket(registration.pk) is False
    assert not mail.outbox
    registration.refresh_from_db()
    assert registration.ticket_mailed_at is None


def test_tickets_are_handled_by_their_attendee_and_staff_only(event, register, participant, staff_user):
    registration, _created = register(event)
    assert services.may_handle_ticket(participant, registration)
    assert services.may_handle_ticket(staff_user, registration)
    assert not services.may_handle_ticket(UserFactory(), registration)
