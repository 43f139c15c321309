"""Sessions of a campaign and their bookings: scheduling, booking with a waiting list that promotes people
automatically, cancellation, and attendance (which becomes a Participation that fair-contact rules count).

Every change to a session's bookings first locks the session row, in that order (session, then booking), and
recounts the places after taking the lock; the partial unique constraint on bookings is the last guard
against a double click."""

from datetime import datetime

from django.db import IntegrityError, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from livinglab import audit
from livinglab.errors import DomainError
from livinglab.models import Person, User

from ..errors import CampaignError
from ..models import Booking, Campaign, CampaignSession, Invitation, Participation
from ..tasks.sessions import (
    send_booking_cancelled,
    send_booking_confirmation,
    send_booking_promoted,
    send_session_changed,
)
from .campaign_access import WITHDRAWN_CONSENT, consents_to_campaign, require_participant
from .invitations import record_participation

# Campaigns whose sessions can no longer be planned or changed.
FINISHED = {Campaign.Status.CLOSED, Campaign.Status.WITHDRAWN, Campaign.Status.REJECTED}
# Changing one of these changes the calendar event: SEQUENCE is bumped and booked people are told.
CALENDAR_FIELDS = ("title", "starts_at", "ends_at", "place", "online_url", "accessibility_info")


def _lock(session: CampaignSession) -> CampaignSession:
    return (
        CampaignSession.objects.select_for_update(no_key=True, of=("self",))
        .select_related("campaign__lab", "campaign__panel")
        .get(pk=session.pk)
    )


def places_taken(session: CampaignSession) -> int:
    """How many places are taken (booked, attended or no-show); recount after locking the session."""
    return Booking.objects.filter(session=session, status__in=Booking.HOLDS_PLACE).count()


def with_figures(sessions: QuerySet) -> QuerySet:
    """Annotate sessions with ``booked`` (places taken) and ``waiting``, in the same query."""
    return sessions.annotate(
        booked=Count("bookings", filter=Q(bookings__status__in=Booking.HOLDS_PLACE)),
        waiting=Count("bookings", filter=Q(bookings__status=Booking.Status.WAITING)),
    )


def _when(moment: datetime) -> str:
    return formats.date_format(timezone.localtime(moment), "DATETIME_FORMAT")


def _promote_waiting(session: CampaignSession, now: datetime) -> list[int]:
    """Give free places to the oldest waiting bookings; the session must be locked. Their ids.

    Someone who has withdrawn a consent the campaign relies on is taken off the waiting list instead of
    promoted: the withdrawal may not have reached their bookings yet."""
    if session.status != CampaignSession.Status.SCHEDULED or session.starts_at <= now:
        return []
    free = session.capacity - places_taken(session)
    promoted = []
    waiting = (
        Booking.objects.filter(session=session, status=Booking.Status.WAITING)
        .select_related("person")
        .order_by("created_at", "pk")
    )
    for booking in waiting.iterator(chunk_size=50):
        if len(promoted) >= free:
            break
        if not consents_to_campaign(session.campaign, booking.person):
            Booking.objects.filter(pk=booking.pk, status=Booking.Status.WAITING).update(
                status=Booking.Status.CANCELLED,
                cancelled_at=now,
                cancel_reason=str(WITHDRAWN_CONSENT),
            )
            continue
        if Booking.objects.filter(pk=booking.pk, status=Booking.Status.WAITING).update(
            status=Booking.Status.BOOKED, promoted_at=now
        ):
            promoted.append(booking.pk)
            send_booking_promoted.delay_on_commit(booking.pk)
    return promoted


# ------------------------------------------------------------------------------------------ sessions


def _check_session_fields(starts_at, ends_at, place, online_url, capacity) -> None:
    if starts_at is None or ends_at is None or ends_at <= starts_at:
        raise CampaignError(_("The session must end after it starts."))
    if not (place or "").strip() and not (online_url or "").strip():
        raise CampaignError(_("Give the place of the session, an online link, or both."))
    if capacity is None or capacity < 1:
        raise CampaignError(_("A session needs at least one place."))


@transaction.atomic
def save_session(
    campaign: Campaign,
    *,
    title: str,
    starts_at: datetime,
    ends_at: datetime,
    capacity: int,
    place: str = "",
    online_url: str = "",
    accessibility_info: str = "",
    session: CampaignSession | None = None,
    acting_user: User,
) -> CampaignSession:
    """Schedule a new session of ``campaign``, or change ``session``; booked people hear of any change."""
    if campaign.status in FINISHED:
        raise CampaignError(
            _("This campaign is “%(status)s”: its sessions can no longer be changed.")
            % {"status": campaign.get_status_display()}
        )
    _check_session_fields(starts_at, ends_at, place, online_url, capacity)
    values = {
        "title": title.strip(),
        "starts_at": starts_at,
        "ends_at": ends_at,
        "place": (place or "").strip(),
        "online_url": (online_url or "").strip(),
        "accessibility_info": (accessibility_info or "").strip(),
    }
    now = timezone.now()
    if session is None:
        if starts_at <= now:
            raise CampaignError(_("A new session must start in the future."))
        # An explicit uid: the model's default is longer than its column (PostgreSQL refuses it).
        session = CampaignSession.objects.create(campaign=campaign, capacity=capacity, **values)
        changed, promoted, told = sorted(values), [], []
        action = "pilots.session.create"
    else:
        if session.campaign_id != campaign.pk:
            raise CampaignError(_("This session belongs to another campaign."))
        session = _lock(session)
        if session.status == CampaignSession.Status.CANCELLED:
            raise CampaignError(_("This session was cancelled: it can no longer be changed."))
        taken = places_taken(session)
        if capacity < taken:
            raise CampaignError(
                ngettext(
                    "%(count)d person already has a place: the session needs at least %(count)d place.",
                    "%(count)d people already have a place: the session needs at least %(count)d places.",
                    taken,
                )
                % {"count": taken}
            )
        changed = [name for name, value in values.items() if getattr(session, name) != value]
        if session.capacity != capacity:
            changed.append("capacity")
        for name, value in values.items():
            setattr(session, name, value)
        session.capacity = capacity
        calendar_changed = any(name in CALENDAR_FIELDS for name in changed)
        if calendar_changed:
            session.sequence += 1
        session.save()
        promoted = _promote_waiting(session, now)
        told = []
        if calendar_changed and session.starts_at > now:
            told = list(
                session.bookings.filter(status__in=Booking.CURRENT)
                .exclude(pk__in=promoted)
                .values_list("pk", flat=True)
            )
            for pk in told:
                send_session_changed.delay_on_commit(pk, session.sequence)
        action = "pilots.session.edit"
    audit.record(
        action,
        actor=acting_user,
        obj=session,
        organisation=campaign.lab,
        data={
            "campaign": campaign.pk,
            "changed": sorted(changed),
            "capacity": session.capacity,
            "sequence": session.sequence,
            "promoted": promoted,
            "told": len(told),
        },
    )
    return session


@transaction.atomic
def cancel_session(session: CampaignSession, *, reason: str = "", acting_user: User) -> int:
    """Cancel a scheduled session and every booking and waiting-list place in it; everyone is told by
    e-mail after commit. How many bookings were cancelled."""
    session = _lock(session)
    if session.status != CampaignSession.Status.SCHEDULED:
        raise CampaignError(
            _("This session is “%(status)s”: it can no longer be cancelled.")
            % {"status": session.get_status_display()}
        )
    now = timezone.now()
    reason = (reason or "").strip() or _("The session was cancelled.")
    session.status = CampaignSession.Status.CANCELLED
    session.sequence += 1
    session.save(update_fields=["status", "sequence"])
    cancelled = list(
        session.bookings.filter(status__in=Booking.CURRENT).order_by("pk").values_list("pk", flat=True)
    )
    Booking.objects.filter(pk__in=cancelled, status__in=Booking.CURRENT).update(
        status=Booking.Status.CANCELLED, cancelled_at=now, cancel_reason=reason[:200]
    )
    for pk in cancelled:
        send_booking_cancelled.delay_on_commit(pk)
    audit.record(
        "pilots.session.cancel",
        actor=acting_user,
        obj=session,
        organisation=session.campaign.lab,
        data={"campaign": session.campaign_id, "bookings": cancelled, "reason": reason[:200]},
    )
    return len(cancelled)


# ------------------------------------------------------------------------------------------ bookings


def booking_refusal(session: CampaignSession, now: datetime | None = None) -> str:
    """Why nobody can book ``session`` now, or an empty string."""
    now = now or timezone.now()
    if session.status == CampaignSession.Status.CANCELLED:
        return _("This session was cancelled: it can no longer be booked.")
    if session.status == CampaignSession.Status.HELD or session.starts_at <= now:
        return _("This session started on %(when)s: it can no longer be booked.") % {
            "when": _when(session.starts_at)
        }
    return ""


def live_booking(session: CampaignSession, person: Person) -> Booking | None:
    """The person's booking or waiting-list place in ``session`` that still counts, if any."""
    live = (*Booking.HOLDS_PLACE, Booking.Status.WAITING)
    return Booking.objects.filter(session=session, person=person, status__in=live).first()


def book_session(session: CampaignSession, person: Person | None, *, acting_user: User) -> Booking:
    """Book a place in ``session`` for a participant of its campaign, or a waiting-list place when it is
    full. A second click returns the booking already made (``booking.is_new`` is False)."""
    invitation = require_participant(session.campaign, person)
    try:
        return _book(session, person, invitation, acting_user=acting_user)
    except IntegrityError:
        # A concurrent click won the race between our check and our insert: that booking is the answer.
        existing = live_booking(session, person)
        if existing is None:
            raise
        existing.is_new = False
        return existing


@transaction.atomic
def _book(session: CampaignSession, person: Person, invitation: Invitation, *, acting_user: User) -> Booking:
    session = _lock(session)
    refusal = booking_refusal(session)
    if refusal:
        raise CampaignError(refusal)
    existing = live_booking(session, person)
    if existing is not None:
        existing.is_new = False
        return existing
    full = places_taken(session) >= session.capacity
    booking = Booking.objects.create(
        session=session,
        invitation=invitation,
        person=person,
        status=Booking.Status.WAITING if full else Booking.Status.BOOKED,
    )
    booking.is_new = True
    send_booking_confirmation.delay_on_commit(booking.pk)
    audit.record(
        "pilots.booking.create",
        actor=acting_user,
        obj=booking,
        organisation=session.campaign.lab,
        data={"session": session.pk, "status": booking.status},
    )
    return booking


def booking_message(booking: Booking) -> str:
    """What the person is told after clicking "book"."""
    when = _when(booking.session.starts_at)
    if not getattr(booking, "is_new", True):
        if booking.status == Booking.Status.WAITING:
            return _("You are already on the waiting list of this session.")
        return _("You already have a place in this session (%(when)s).") % {"when": when}
    if booking.status == Booking.Status.WAITING:
        return _(
            "This session is full: you are on its waiting list. If a place frees up you get it "
            "automatically, and we will e-mail you."
        )
    return _("Your place is booked (%(when)s). A confirmation with a calendar file is on its way.") % {
        "when": when
    }


@transaction.atomic
def cancel_booking(booking: Booking, *, reason: str, acting_user: User | None) -> Booking:
    """Cancel a booking or waiting-list place; a freed place goes to the oldest waiting booking."""
    session = _lock(booking.session)
    booking = Booking.objects.select_for_update(no_key=True).get(pk=booking.pk)
    booking.session = session
    if booking.status == Booking.Status.CANCELLED:
        raise CampaignError(_("This booking was already cancelled."))
    if booking.status not in Booking.CURRENT:
        raise CampaignError(
            _("Attendance was already recorded for this booking: it can no longer be cancelled.")
        )
    now = timezone.now()
    if session.starts_at <= now:
        raise CampaignError(_("This session has already started: the booking can no longer be cancelled."))
    was_booked = booking.status == Booking.Status.BOOKED
    booking.status = Booking.Status.CANCELLED
    booking.cancelled_at = now
    booking.cancel_reason = (reason or "")[:200]
    booking.save(update_fields=["status", "cancelled_at", "cancel_reason"])
    promoted = _promote_waiting(session, now) if was_booked else []
    send_booking_cancelled.delay_on_commit(booking.pk)
    audit.record(
        "pilots.booking.cancel",
        actor=acting_user,
        obj=booking,
        organisation=session.campaign.lab,
        data={"session": session.pk, "was_booked": was_booked, "promoted": promoted},
    )
    return booking


@transaction.atomic
def record_attendance(booking: Booking, attended: bool, *, acting_user: User) -> Booking:
    """Record that a booked person came or did not come, once the session has started; it becomes (or
    updates) their Participation in the panel's contact history."""
    session = _lock(booking.session)
    booking = (
        Booking.objects.select_for_update(no_key=True, of=("self",))
        .select_related("invitation")
        .get(pk=booking.pk)
    )
    booking.session = session
    if session.status == CampaignSession.Status.CANCELLED:
        raise CampaignError(_("This session was cancelled: there is no attendance to record."))
    now = timezone.now()
    if session.starts_at > now:
        raise CampaignError(
            _("Attendance can be recorded once the session has started (%(when)s).")
            % {"when": _when(session.starts_at)}
        )
    if booking.status not in Booking.HOLDS_PLACE:
        raise CampaignError(
            _("Only people who had a place can be recorded; this booking is “%(status)s”.")
            % {"status": booking.get_status_display()}
        )
    old = booking.status
    booking.status = Booking.Status.ATTENDED if attended else Booking.Status.NO_SHOW
    # One Participation per invitation: someone who came to another session of the campaign took part.
    came_elsewhere = (
        Booking.objects.filter(invitation=booking.invitation, status=Booking.Status.ATTENDED)
        .exclude(pk=booking.pk)
        .exists()
    )
    outcome = Participation.Outcome.TOOK_PART if attended or came_elsewhere else Participation.Outcome.NO_SHOW
    try:
        participation = record_participation(
            booking.invitation, outcome, acting_user=acting_user, occurred_at=session.starts_at
        )
    except DomainError as error:
        raise CampaignError(str(error)) from error
    booking.participation = participation
    booking.recorded_by = acting_user
    booking.save(update_fields=["status", "participation", "recorded_by"])
    CampaignSession.objects.filter(pk=session.pk, status=CampaignSession.Status.SCHEDULED).update(
        status=CampaignSession.Status.HELD
    )
    audit.record(
        "pilots.booking.attendance",
        actor=acting_user,
        obj=booking,
        organisation=session.campaign.lab,
        data={"session": session.pk, "status": booking.status, "was": old, "participation": participation.pk},
    )
    return booking


# ------------------------------------------------------------------------------------------- reading


def future_bookings_of(person: Person, campaign: Campaign) -> QuerySet:
    """The person's bookings and waiting-list places in sessions of ``campaign`` that have not started."""
    return Booking.objects.filter(
        person=person,
        session__campaign=campaign,
        status__in=Booking.CURRENT,
        session__starts_at__gt=timezone.now(),
    ).select_related("session")


def bookable_sessions(campaign: Campaign, person: Person | None = None) -> QuerySet:
    """Scheduled sessions of ``campaign`` not yet started, with their figures, excluding those the person
    already booked or waits for."""
    sessions = CampaignSession.objects.filter(
        campaign=campaign, status=CampaignSession.Status.SCHEDULED, starts_at__gt=timezone.now()
    )
    if person is not None:
        mine = Booking.objects.filter(
            person=person, status__in=(*Booking.HOLDS_PLACE, Booking.Status.WAITING)
        ).values("session_id")
        sessions = sessions.exclude(pk__in=mine)
    return with_figures(sessions).order_by("starts_at", "pk")


__all__ = [
    "book_session",
    "bookable_sessions",
    "booking_message",
    "booking_refusal",
    "cancel_booking",
    "cancel_session",
    "future_bookings_of",
    "live_booking",
    "places_taken",
    "record_attendance",
    "save_session",
    "with_figures",
]
