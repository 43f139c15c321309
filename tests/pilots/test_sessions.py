"""Sessions of a campaign: booking with a waiting list, automatic promotion, cancellation, attendance that
feeds the contact history, reminders, calendar files, and the staff, firm and participant pages."""

from datetime import UTC, timedelta

import pytest
from django.urls import reverse
from django.utils import timezone
from icalendar import Calendar

from livinglab import services as core
from livinglab.models import AuditEntry, ConsentRecord
from pilots.calendar import booking_ics, session_ics
from pilots.errors import CampaignError
from pilots.factories import CampaignSessionFactory
from pilots.models import Booking, CampaignSession, Participation
from pilots.services import sessions as services
from pilots.tasks.sessions import remind_sessions, send_booking_confirmation
from tests.concurrency import on_postgresql, run_together

Status = Booking.Status


def make_session(**kwargs):
    return CampaignSessionFactory(**kwargs)


@pytest.fixture
def session(campaign):
    return make_session(campaign=campaign, title="Morning test", capacity=2)


def book(session, person):
    return services.book_session(session, person, acting_user=person.user)


def start(session, minutes_ago=10):
    """Move the session into the past, as if it had started ``minutes_ago``."""
    starts = timezone.now() - timedelta(minutes=minutes_ago)
    CampaignSession.objects.filter(pk=session.pk).update(
        starts_at=starts, ends_at=starts + timedelta(hours=1)
    )
    session.refresh_from_db()
    return session


# ------------------------------------------------------------------------------------------- booking


def test_booking_a_full_session_puts_the_person_on_the_waiting_list(session, take_part):
    first, second, third = take_part(), take_part(), take_part()
    assert book(session, first).status == Status.BOOKED
    assert book(session, second).status == Status.BOOKED

    late = book(session, third)

    assert late.status == Status.WAITING
    assert "waiting list" in services.booking_message(late)
    assert services.places_taken(session) == 2


def test_cancelling_a_booking_promotes_the_first_waiting_person_automatically(
    session, take_part, mailoutbox, django_capture_on_commit_callbacks
):
    first, second, waiting_first, waiting_second = (take_part() for _ in range(4))
    booking = book(session, first)
    book(session, second)
    promoted = book(session, waiting_first)
    still_waiting = book(session, waiting_second)
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        services.cancel_booking(booking, reason="Cannot come", acting_user=first.user)

    promoted.refresh_from_db()
    still_waiting.refresh_from_db()
    assert promoted.status == Status.BOOKED and promoted.promoted_at is not None
    assert still_waiting.status == Status.WAITING
    subjects = {m.to[0]: m.subject for m in mailoutbox}
    assert subjects[waiting_first.user.email].startswith("A place freed up for you")
    assert subjects[first.user.email].startswith("Booking cancelled")
    promotion = next(m for m in mailoutbox if m.to == [waiting_first.user.email])
    assert promotion.attachments and promotion.attachments[0][0].endswith(".ics")


def test_a_waiting_person_who_withdrew_consent_is_not_promoted_and_the_next_one_is(session, take_part):
    first, second, withdrawn, next_in_line = (take_part() for _ in range(4))
    booking = book(session, first)
    book(session, second)
    left = book(session, withdrawn)
    waiting = book(session, next_in_line)
    # The withdrawal has not reached the bookings yet (as when its handler is still to run).
    ConsentRecord.objects.filter(person=withdrawn).update(withdrawn_at=timezone.now())

    services.cancel_booking(booking, reason="Cannot come", acting_user=first.user)

    left.refresh_from_db()
    waiting.refresh_from_db()
    assert left.status == Status.CANCELLED and "withdrew a consent" in left.cancel_reason
    assert waiting.status == Status.BOOKED


def test_leaving_the_waiting_list_promotes_nobody(session, take_part):
    people = [take_part() for _ in range(3)]
    bookings = [book(session, p) for p in people]
    services.cancel_booking(bookings[2], reason="", acting_user=people[2].user)
    assert [Booking.objects.get(pk=b.pk).status for b in bookings] == [
        Status.BOOKED,
        Status.BOOKED,
        "cancelled",
    ]


def test_a_double_click_books_once(session, take_part):
    person = take_part()
    first = book(session, person)
    second = book(session, person)

    assert first.pk == second.pk and second.is_new is False
    assert "already have a place" in services.booking_message(second)
    assert Booking.objects.filter(session=session, person=person).count() == 1


def test_booking_sends_one_confirmation_with_a_calendar_file(
    session, take_part, mailoutbox, django_capture_on_commit_callbacks
):
    person = take_part()
    mailoutbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        booking = book(session, person)

    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == [person.user.email] and mail.subject.startswith("Booked: Morning test")
    filename, content, mimetype = mail.attachments[0]
    assert filename.endswith(".ics") and "method=REQUEST" in mimetype
    assert Calendar.from_ical(content).walk("VEVENT")[0]["UID"].startswith(session.uid)
    assert send_booking_confirmation(booking.pk) is False  # a retried task does not mail twice
    assert len(mailoutbox) == 1


def test_booking_is_refused_to_someone_who_is_not_a_participant(session, participant):
    with pytest.raises(CampaignError, match="Only people who accepted an invitation"):
        book(session, participant.person)
    assert not Booking.objects.exists()


def test_booking_is_refused_after_the_consent_was_withdrawn(session, take_part):
    person = take_part()
    record = person.consents.get(purpose__code="participation")
    core.withdraw_consent(record, channel="online", acting_user=person.user)

    with pytest.raises(CampaignError, match="withdrew a consent"):
        book(session, person)
    assert not Booking.objects.filter(person=person, status__in=Booking.CURRENT).exists()


def test_booking_is_refused_for_a_session_that_has_started(session, take_part):
    person = take_part()
    start(session)
    with pytest.raises(CampaignError, match="it can no longer be booked"):
        book(session, person)


def test_booking_is_refused_for_a_cancelled_session(session, take_part, staff_user):
    person = take_part()
    services.cancel_session(session, reason="Room flooded", acting_user=staff_user)
    with pytest.raises(CampaignError, match="was cancelled"):
        book(session, person)


def test_cancelling_a_session_cancels_every_booking_and_tells_everyone(
    session, take_part, staff_user, mailoutbox, django_capture_on_commit_callbacks
):
    people = [take_part() for _ in range(3)]
    for person in people:
        book(session, person)
    mailoutbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        assert services.cancel_session(session, reason="Room flooded", acting_user=staff_user) == 3

    session.refresh_from_db()
    assert session.status == CampaignSession.Status.CANCELLED and session.sequence == 1
    assert set(Booking.objects.values_list("status", flat=True)) == {Status.CANCELLED}
    assert sorted(m.to[0] for m in mailoutbox) == sorted(p.user.email for p in people)
    assert all("Room flooded" in m.body and m.subject.startswith("Session cancelled") for m in mailoutbox)
    cancellation = Calendar.from_ical(mailoutbox[0].attachments[0][1])
    assert cancellation["METHOD"] == "CANCEL"


def test_future_bookings_of_lists_only_live_bookings_in_sessions_not_yet_started(campaign, take_part):
    person = take_part()
    later = make_session(campaign=campaign, capacity=1)
    past = make_session(campaign=campaign)
    kept = book(later, person)
    book(past, person)
    start(past)
    assert list(services.future_bookings_of(person, campaign)) == [kept]


# ------------------------------------------------------------------------------------------- sessions


def test_save_session_refuses_an_end_before_the_start_and_a_session_without_place(campaign, staff_user):
    starts = timezone.now() + timedelta(days=3)
    with pytest.raises(CampaignError, match="end after it starts"):
        services.save_session(
            campaign,
            title="A",
            starts_at=starts,
            ends_at=starts,
            capacity=4,
            place="Rennes",
            acting_user=staff_user,
        )
    with pytest.raises(CampaignError, match="online link"):
        services.save_session(
            campaign,
            title="A",
            starts_at=starts,
            ends_at=starts + timedelta(hours=1),
            capacity=4,
            acting_user=staff_user,
        )
    assert not CampaignSession.objects.exists()


def test_lowering_the_capacity_below_the_bookings_is_refused_with_how_many_are_booked(
    session, take_part, staff_user
):
    book(session, take_part())
    book(session, take_part())
    with pytest.raises(CampaignError, match="2 people already have a place"):
        services.save_session(
            session.campaign,
            session=session,
            title=session.title,
            starts_at=session.starts_at,
            ends_at=session.ends_at,
            place=session.place,
            capacity=1,
            acting_user=staff_user,
        )
    session.refresh_from_db()
    assert session.capacity == 2


def test_moving_a_session_bumps_its_sequence_and_tells_the_people_booked(
    session, take_part, staff_user, mailoutbox, django_capture_on_commit_callbacks
):
    person = take_part()
    book(session, person)
    mailoutbox.clear()
    later = session.starts_at + timedelta(days=1)

    with django_capture_on_commit_callbacks(execute=True):
        services.save_session(
            session.campaign,
            session=session,
            title=session.title,
            starts_at=later,
            ends_at=later + timedelta(hours=2),
            place=session.place,
            capacity=session.capacity,
            acting_user=staff_user,
        )

    session.refresh_from_db()
    assert session.sequence == 1
    [mail] = mailoutbox
    assert mail.subject.startswith("Session changed") and mail.to == [person.user.email]
    event = Calendar.from_ical(mail.attachments[0][1]).walk("VEVENT")[0]
    assert event["SEQUENCE"] == 1 and event.decoded("DTSTART") == later.astimezone(UTC).replace(microsecond=0)


def test_raising_the_capacity_gives_the_new_places_to_the_waiting_list(session, take_part, staff_user):
    people = [take_part() for _ in range(3)]
    waiting = [book(session, p) for p in people][2]
    assert waiting.status == Status.WAITING
    services.save_session(
        session.campaign,
        session=session,
        title=session.title,
        starts_at=session.starts_at,
        ends_at=session.ends_at,
        place=session.place,
        capacity=3,
        acting_user=staff_user,
    )
    waiting.refresh_from_db()
    assert waiting.status == Status.BOOKED


# ----------------------------------------------------------------------------------------- attendance


def test_attendance_creates_a_participation_and_a_no_show_is_recorded(
    campaign, session, take_part, staff_user
):
    came, stayed_away = take_part(), take_part()
    came_booking, away_booking = book(session, came), book(session, stayed_away)
    start(session)

    services.record_attendance(came_booking, True, acting_user=staff_user)
    services.record_attendance(away_booking, False, acting_user=staff_user)

    took_part = Participation.objects.get(person=came)
    assert took_part.outcome == Participation.Outcome.TOOK_PART
    assert took_part.panel == campaign.panel and took_part.occurred_at == session.starts_at
    assert took_part.invitation == came_booking.invitation
    assert Participation.objects.get(person=stayed_away).outcome == Participation.Outcome.NO_SHOW
    assert Booking.objects.get(pk=away_booking.pk).status == Status.NO_SHOW
    session.refresh_from_db()
    assert session.status == CampaignSession.Status.HELD


def test_changing_a_recorded_attendance_updates_the_participation(session, take_part, staff_user):
    person = take_part()
    booking = book(session, person)
    start(session)
    services.record_attendance(booking, False, acting_user=staff_user)
    services.record_attendance(booking, True, acting_user=staff_user)

    assert Participation.objects.filter(person=person).count() == 1
    assert Participation.objects.get(person=person).outcome == Participation.Outcome.TOOK_PART
    assert Booking.objects.get(pk=booking.pk).status == Status.ATTENDED


def test_attendance_is_refused_before_the_session_starts(session, take_part, staff_user):
    booking = book(session, take_part())
    with pytest.raises(CampaignError, match="once the session has started"):
        services.record_attendance(booking, True, acting_user=staff_user)
    assert not Participation.objects.exists()


def test_attendance_is_refused_for_someone_still_on_the_waiting_list(session, take_part, staff_user):
    for _ in range(2):
        book(session, take_part())
    waiting = book(session, take_part())
    start(session)
    with pytest.raises(CampaignError, match="On the waiting list"):
        services.record_attendance(waiting, True, acting_user=staff_user)


# -------------------------------------------------------------------------------------------- reminders


def test_the_beat_task_reminds_each_booked_person_once(campaign, take_part, mailoutbox):
    soon = make_session(campaign=campaign, starts_at=timezone.now() + timedelta(hours=20))
    later = make_session(campaign=campaign, starts_at=timezone.now() + timedelta(days=5))
    booked_soon, booked_later = take_part(), take_part()
    book(soon, booked_soon)
    book(later, booked_later)
    mailoutbox.clear()

    assert remind_sessions() == 1
    assert remind_sessions() == 0

    [mail] = mailoutbox
    assert mail.to == [booked_soon.user.email] and mail.subject.startswith("Reminder:")
    assert Booking.objects.get(person=booked_soon).reminder_sent_at is not None
    assert Booking.objects.get(person=booked_later).reminder_sent_at is None


# ---------------------------------------------------------------------------------------- calendar files


def test_the_calendar_file_parses_back_with_the_right_times_uid_sequence_and_method(session, take_part):
    session.sequence = 3
    session.online_url = "https://meet.example.org/abc"
    session.save()
    booking = book(session, take_part())

    calendar = Calendar.from_ical(booking_ics(booking))
    event = calendar.walk("VEVENT")[0]

    assert calendar["METHOD"] == "REQUEST"
    assert str(event["UID"]) == f"{session.uid}@testserver"
    assert event["SEQUENCE"] == 3
    assert event.decoded("DTSTART") == session.starts_at.astimezone(UTC).replace(microsecond=0)
    assert event.decoded("DTEND") == session.ends_at.astimezone(UTC).replace(microsecond=0)
    assert event.decoded("DTSTART").tzinfo is not None and event["DTSTART"].to_ical().endswith(b"Z")
    assert str(event["SUMMARY"]) == "Morning test"
    assert "Rennes" in str(event["LOCATION"]) and "meet.example.org" in str(event["LOCATION"])
    assert "hearing loop" in str(event["DESCRIPTION"])


def test_a_cancelled_booking_gives_a_cancelling_calendar_file(session, take_part):
    person = take_part()
    booking = services.cancel_booking(book(session, person), reason="", acting_user=person.user)
    calendar = Calendar.from_ical(booking_ics(booking))
    assert calendar["METHOD"] == "CANCEL"
    assert calendar.walk("VEVENT")[0]["STATUS"] == "CANCELLED"
    assert Calendar.from_ical(session_ics(session))["METHOD"] == "REQUEST"


# ------------------------------------------------------------------------------------------------ pages


@pytest.fixture
def named_participant(participant, take_part, give):
    """The signed-in ``participant`` user, taking part in the campaign under a known name."""
    person = participant.person
    person.full_name = "Maëlle Kerjean"
    person.save()
    give(person, "participation")
    return take_part(person)


def test_staff_see_codes_not_names_in_the_booking_list(client, staff_user, session, named_participant):
    book(session, named_participant)
    start(session)
    client.force_login(staff_user)

    response = client.get(reverse("campaigns:session_detail", args=[session.campaign.slug, session.pk]))

    page = response.content.decode()
    assert named_participant.code in page
    assert "Maëlle" not in page and "Kerjean" not in page
    assert reverse("campaigns:booking_attendance", args=[Booking.objects.get().pk]) in page


def test_staff_record_attendance_from_the_session_page(client, staff_user, session, named_participant):
    booking = book(session, named_participant)
    start(session)
    client.force_login(staff_user)
    response = client.post(reverse("campaigns:booking_attendance", args=[booking.pk]), {"attended": "0"})
    assert response.status_code == 302
    assert Participation.objects.get(person=named_participant).outcome == Participation.Outcome.NO_SHOW


def test_staff_schedule_a_session_through_the_page_and_see_clear_errors(client, staff_user, campaign):
    client.force_login(staff_user)
    url = reverse("campaigns:session_create", args=[campaign.slug])
    starts = timezone.localtime(timezone.now() + timedelta(days=4)).replace(second=0, microsecond=0)
    data = {
        "title": "Evening test",
        "starts_at": starts.strftime("%Y-%m-%dT%H:%M"),
        "ends_at": (starts + timedelta(hours=2)).strftime("%Y-%m-%dT%H:%M"),
        "place": "",
        "online_url": "",
        "capacity": "8",
        "accessibility_info": "Captions on request.",
    }

    refused = client.post(url, data)
    assert refused.status_code == 200
    assert "Give the place of the session, an online link, or both." in refused.content.decode()
    assert not CampaignSession.objects.exists()

    response = client.post(url, {**data, "online_url": "https://meet.example.org/evening"})
    session = CampaignSession.objects.get()
    assert response.status_code == 302 and session.starts_at == starts and session.capacity == 8


def test_the_firm_sees_dates_and_figures_but_no_codes_or_names(client, sme_admin, session, named_participant):
    book(session, named_participant)
    client.force_login(sme_admin)

    page = client.get(reverse("campaigns:session_list", args=[session.campaign.slug])).content.decode()

    assert "Morning test" in page and "<td>1</td>" in page
    assert named_participant.code not in page and "Kerjean" not in page
    assert reverse("campaigns:session_create", args=[session.campaign.slug]) not in page
    detail = reverse("campaigns:session_detail", args=[session.campaign.slug, session.pk])
    assert client.get(detail).status_code == 403


def test_the_session_list_keeps_its_query_count_whatever_the_number_of_sessions(
    client, staff_user, campaign, django_assert_max_num_queries
):
    for _ in range(15):
        make_session(campaign=campaign)
    client.force_login(staff_user)
    with django_assert_max_num_queries(12):
        response = client.get(reverse("campaigns:session_list", args=[campaign.slug]))
    assert response.content.decode().count("<tr>") == 16


def test_a_participant_books_through_the_page_and_downloads_the_calendar_file(
    client, participant, session, named_participant
):
    client.force_login(participant)
    page_url = reverse("campaigns:session_book", args=[session.campaign.slug])
    page = client.get(page_url)
    assert "Morning test" in page.content.decode()

    response = client.post(
        reverse("campaigns:session_book_place", args=[session.campaign.slug, session.pk]), follow=True
    )

    booking = Booking.objects.get(person=named_participant)
    assert booking.status == Status.BOOKED
    assert "Your place is booked" in response.content.decode()
    ics = client.get(reverse("campaigns:booking_calendar", args=[booking.pk]))
    assert ics["Content-Type"].startswith("text/calendar")
    assert Calendar.from_ical(ics.content).walk("VEVENT")[0]["UID"].startswith(session.uid)

    client.post(reverse("campaigns:booking_cancel", args=[booking.pk]))
    assert Booking.objects.get(pk=booking.pk).status == Status.CANCELLED


def test_a_full_session_page_says_the_participant_is_on_the_waiting_list(
    client, participant, campaign, named_participant, take_part
):
    full = make_session(campaign=campaign, capacity=1)
    book(full, take_part())
    client.force_login(participant)
    response = client.post(
        reverse("campaigns:session_book_place", args=[campaign.slug, full.pk]), follow=True
    )
    assert "you are on its waiting list" in response.content.decode()
    assert Booking.objects.get(person=named_participant).status == Status.WAITING


def test_someone_never_invited_cannot_see_or_book_the_sessions(client, participant, session):
    client.force_login(participant)
    assert client.get(reverse("campaigns:session_book", args=[session.campaign.slug])).status_code == 404
    response = client.post(
        reverse("campaigns:session_book_place", args=[session.campaign.slug, session.pk]), follow=True
    )
    assert "Only people who accepted an invitation" in response.content.decode()
    assert not Booking.objects.exists()


def test_a_participant_cannot_cancel_or_download_someone_elses_booking(
    client, participant, session, named_participant, take_part
):
    other = book(session, take_part())
    client.force_login(participant)
    assert client.post(reverse("campaigns:booking_cancel", args=[other.pk])).status_code == 404
    assert client.get(reverse("campaigns:booking_calendar", args=[other.pk])).status_code == 404
    assert Booking.objects.get(pk=other.pk).status == Status.BOOKED


def test_every_booking_change_is_audited_without_personal_data(session, take_part, staff_user):
    person = take_part()
    booking = book(session, person)
    services.cancel_booking(booking, reason="", acting_user=person.user)
    entries = AuditEntry.objects.filter(action__startswith="pilots.booking.").order_by("seq")
    assert [e.action for e in entries] == ["pilots.booking.create", "pilots.booking.cancel"]
    assert all(person.full_name not in e.object_repr for e in entries)


# ------------------------------------------------------------------------ concurrency (PostgreSQL only)


@on_postgresql
def test_ten_people_booking_three_places_at_once_get_three_places_and_seven_waiting(
    transactional_db, campaign, take_part
):
    session = make_session(campaign=campaign, capacity=3)
    people = [take_part() for _ in range(10)]

    results = run_together(lambda i: book(session, people[i]), 10)

    assert all(isinstance(r, Booking) for r in results), results
    assert Booking.objects.filter(session=session, status=Status.BOOKED).count() == 3
    assert Booking.objects.filter(session=session, status=Status.WAITING).count() == 7


@on_postgresql
def test_the_same_person_clicking_book_twice_at_once_gets_one_booking(transactional_db, campaign, take_part):
    session = make_session(campaign=campaign, capacity=3)
    person = take_part()

    results = run_together(lambda i: book(session, person), 4)

    assert all(isinstance(r, Booking) for r in results), results
    assert len({r.pk for r in results}) == 1
    assert Booking.objects.filter(session=session, person=person).count() == 1


@on_postgresql
def test_a_cancellation_racing_new_bookings_never_overfills_the_session(
    transactional_db, campaign, take_part
):
    session = make_session(campaign=campaign, capacity=2)
    holders = [take_part() for _ in range(2)]
    bookings = [book(session, p) for p in holders]
    newcomers = [take_part() for _ in range(5)]

    def worker(i):
        if i == 0:
            return services.cancel_booking(bookings[0], reason="", acting_user=holders[0].user)
        return book(session, newcomers[i - 1])

    results = run_together(worker, 6)

    assert all(isinstance(r, Booking) for r in results), results
    assert services.places_taken(session) == 2
