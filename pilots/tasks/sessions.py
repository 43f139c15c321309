"""Session mails (booking confirmation, promotion from the waiting list, a changed or cancelled session or
booking, the reminder) and the beat task that sends reminders. Tasks take ids and are safe to retry: each mail
is claimed once by a compare-and-set before it leaves (the reminder on ``Booking.reminder_sent_at``, the
others on a cache key naming the booking and the version of the session they describe), and the claim is
given back when sending fails, so that the retry sends it."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMessage
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation

from livinglab.links import absolute_url
from livinglab.once import send_once

from ..calendar import booking_ics, ics_filename
from ..models import Booking, CampaignSession
from .invitations import invitation_recipients

__all__ = [
    "remind_sessions",
    "send_booking_cancelled",
    "send_booking_confirmation",
    "send_booking_promoted",
    "send_session_changed",
    "send_session_reminder",
]

REMIND_WITHIN = timedelta(hours=48)
CLAIM_SECONDS = 60 * 60 * 24 * 90

MAIL_RELATED = ("session__campaign__lab", "person__user", "person__profile")


def _booking(booking_id: int) -> Booking | None:
    return Booking.objects.select_related(*MAIL_RELATED).filter(pk=booking_id).first()


def _context(booking: Booking, for_guardian: bool) -> dict:
    session = booking.session
    return {
        "booking": booking,
        "session": session,
        "campaign": session.campaign,
        "lab": session.campaign.lab,
        "name": booking.person.full_name,
        "for_guardian": for_guardian,
        "starts": formats.date_format(timezone.localtime(session.starts_at), "DATETIME_FORMAT"),
        "ends": formats.date_format(timezone.localtime(session.ends_at), "TIME_FORMAT"),
        "link": absolute_url("campaigns:session_book", session.campaign.slug),
    }


def _deliver(booking: Booking, template: str, calendar: bool) -> bool:
    """Render and send one mail about ``booking``, with the session's calendar file when asked."""
    to, for_guardian = invitation_recipients(booking.person)
    if not to:
        return False
    context = _context(booking, for_guardian)
    with translation.override(settings.LANGUAGE_CODE):
        subject = render_to_string(f"pilots/mail/{template}_subject.txt", context).strip()
        body = render_to_string(f"pilots/mail/{template}.txt", context)
    message = EmailMessage(subject, body, None, to)
    if calendar:
        method = "REQUEST" if booking.status in Booking.HOLDS_PLACE else "CANCEL"
        message.attach(
            ics_filename(booking.session),
            booking_ics(booking),
            f"text/calendar; charset=utf-8; method={method}",
        )
    message.send()
    return True


def _send_claimed(booking: Booking, key: str, template: str, calendar: bool) -> bool:
    """Send once per ``key``: ``cache.add`` is the compare-and-set, released when sending fails."""
    key = f"pilots:session-mail:{booking.session.uid}:{booking.pk}:{key}"
    if not cache.add(key, timezone.now().isoformat(), CLAIM_SECONDS):
        return False
    try:
        return _deliver(booking, template, calendar)
    except Exception:
        cache.delete(key)
        raise


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_booking_confirmation(booking_id: int) -> bool:
    """Confirm a booking (with the calendar file) or a waiting-list place, once."""
    booking = _booking(booking_id)
    if booking is None or booking.status not in Booking.CURRENT:
        return False
    booked = booking.status == Booking.Status.BOOKED
    return _send_claimed(booking, "confirmation", "session_booked", calendar=booked)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_booking_promoted(booking_id: int) -> bool:
    """Tell someone on the waiting list that a place freed up and is now theirs, once."""
    booking = _booking(booking_id)
    if booking is None or booking.status != Booking.Status.BOOKED or booking.promoted_at is None:
        return False
    return _send_claimed(booking, f"promoted:{booking.promoted_at.isoformat()}", "session_promoted", True)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_session_changed(booking_id: int, sequence: int) -> bool:
    """Tell a booked or waiting person that the session's time, place or details changed, once per change;
    a mail about an older version of the session is not sent (the newer one is on its way)."""
    booking = _booking(booking_id)
    if booking is None or booking.status not in Booking.CURRENT or booking.session.sequence != sequence:
        return False
    booked = booking.status == Booking.Status.BOOKED
    return _send_claimed(booking, f"changed:{sequence}", "session_changed", calendar=booked)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_booking_cancelled(booking_id: int) -> bool:
    """Tell someone that their booking (or the whole session) was cancelled, with a calendar cancellation
    for a place they held, once."""
    booking = _booking(booking_id)
    if booking is None or booking.status != Booking.Status.CANCELLED:
        return False
    # The calendar cancellation removes the event for those who had it; calendars ignore unknown events.
    return _send_claimed(booking, "cancelled", "session_cancelled", calendar=True)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_session_reminder(booking_id: int) -> bool:
    """Remind a booked person of their session, once: claimed on ``reminder_sent_at``."""
    booking = _booking(booking_id)
    now = timezone.now()
    if (
        booking is None
        or booking.status != Booking.Status.BOOKED
        or booking.session.status != CampaignSession.Status.SCHEDULED
        or booking.session.starts_at <= now
    ):
        return False
    return send_once(
        Booking, booking.pk, "reminder_sent_at", lambda: _deliver(booking, "session_reminder", calendar=True)
    )


def bookings_to_remind(now=None) -> list[int]:
    """Booked places, not yet reminded, in scheduled sessions starting within the next 48 hours."""
    now = now or timezone.now()
    return list(
        Booking.objects.filter(
            status=Booking.Status.BOOKED,
            reminder_sent_at__isnull=True,
            session__status=CampaignSession.Status.SCHEDULED,
            session__starts_at__gt=now,
            session__starts_at__lte=now + REMIND_WITHIN,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


@shared_task
def remind_sessions() -> int:
    """Celery beat, hourly: remind booked people once of a session starting within 48 hours."""
    due = bookings_to_remind()
    for pk in due:
        send_session_reminder.delay(pk)
    return len(due)
