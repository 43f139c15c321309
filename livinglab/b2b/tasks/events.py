"""Tasks of the events part: the ticket mailed to a new registration, the notice that a published event
moved to another time or place, the follow-up after an event and the notice that an event is cancelled. One
mail per attendee, never a mail with everybody's address.

Each mail is claimed once in a timestamp of the registration (``livinglab.once``). A move can happen again,
so its claim is the move's own timestamp, taken when the attendee has not been told of that move or a later
one."""

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMessage
from django.db.models import Q
from django.utils import timezone, translation

from livinglab.links import absolute_url
from livinglab.once import send_once

from ..models import Event, EventRegistration
from .mail import render

__all__ = ["mail_cancellation", "mail_follow_up", "mail_move", "mail_ticket"]

Registered = EventRegistration.Status.REGISTERED


def _context(registration: EventRegistration) -> dict:
    # Imported here: the services enqueue this module's tasks, so a top-level import would be circular.
    from ..services.events import event_when, local_moment

    event = registration.event
    return {
        "registration": registration,
        "event": event,
        "name": registration.full_name,
        "when": event_when(event),
        "closes": local_moment(event, event.registration_closes_at),
        "event_link": absolute_url("b2b:event_detail", event.slug),
        "events_link": absolute_url("b2b:event_list"),
        "tickets_link": absolute_url("b2b:ticket_list"),
        "cancel_link": absolute_url("b2b:ticket_cancel", registration.ticket_code),
    }


def _send_once(
    registration: EventRegistration, field: str, template: str, context: dict, pdf=None, *, stamp=None
) -> bool:
    """Mail the attendee unless ``field`` says it was sent already (or, given a ``stamp``, that it was sent
    for that moment)."""

    def send():
        subject, body = render(template, context)
        with translation.override(settings.LANGUAGE_CODE):
            attachment = pdf(registration) if pdf is not None else None
        message = EmailMessage(subject, body, None, [registration.email])
        if attachment is not None:
            message.attach(attachment[0], attachment[1], "application/pdf")
        message.send()

    previous = getattr(registration, field)
    return send_once(EventRegistration, registration.pk, field, send, stamp=stamp, previous=previous)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def mail_ticket(registration_id: int) -> bool:
    """E-mail a new registration its ticket (the PDF attached), once; not when the event is over by the time
    the task runs (a ticket would be no use, and a queue that was down must not mail a backlog)."""
    from ..services.events import ticket_pdf

    registration = (
        EventRegistration.objects.select_related("event__organiser", "organisation")
        .filter(
            pk=registration_id,
            status=Registered,
            event__status=Event.Status.PUBLISHED,
            event__ends_at__gt=timezone.now(),
        )
        .first()
    )
    if registration is None:
        return False
    return _send_once(
        registration, "ticket_mailed_at", "event_ticket", _context(registration), pdf=ticket_pdf
    )


def _mail_each(event: Event, registrations, field: str, template: str, extra: dict, **send) -> int:
    sent = 0
    for registration in registrations.select_related("organisation").order_by("pk"):
        registration.event = event
        context = _context(registration) | extra
        sent += _send_once(registration, field, template, context, **send)
    return sent


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def mail_move(event_id: int) -> int:
    """Tell each registered attendee of a published event the new time and place, with the ticket again,
    once per move; the number sent. Nothing once the event is over: the notice would be no use."""
    from ..services.events import ticket_pdf

    event = (
        Event.objects.select_related("organiser")
        .filter(
            pk=event_id,
            status=Event.Status.PUBLISHED,
            moved_at__isnull=False,
            ends_at__gt=timezone.now(),
        )
        .first()
    )
    if event is None:
        return 0
    # A later move's own task tells the attendees again; this one tells them the event as it stands now.
    attendees = EventRegistration.objects.filter(event=event, status=Registered).filter(
        Q(move_mailed_at__isnull=True) | Q(move_mailed_at__lt=event.moved_at)
    )
    return _mail_each(
        event, attendees, "move_mailed_at", "event_moved", {}, pdf=ticket_pdf, stamp=event.moved_at
    )


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def mail_follow_up(event_id: int) -> int:
    """Mail the event's follow-up to each attendee who was checked in, once each; the number sent."""
    event = (
        Event.objects.select_related("organiser").filter(pk=event_id, follow_up_sent_at__isnull=False).first()
    )
    if event is None:
        return 0
    attendees = EventRegistration.objects.filter(
        event=event, status=Registered, checked_in_at__isnull=False, follow_up_mailed_at__isnull=True
    )
    return _mail_each(
        event,
        attendees,
        "follow_up_mailed_at",
        "event_follow_up",
        {"subject": event.follow_up_subject, "message": event.follow_up_message},
    )


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def mail_cancellation(event_id: int) -> int:
    """Tell each registered attendee of a cancelled event that it is cancelled, once each; the number sent."""
    event = (
        Event.objects.select_related("organiser").filter(pk=event_id, status=Event.Status.CANCELLED).first()
    )
    if event is None:
        return 0
    attendees = EventRegistration.objects.filter(
        event=event, status=Registered, cancellation_mailed_at__isnull=True
    )
    return _mail_each(event, attendees, "cancellation_mailed_at", "event_cancelled", {})
