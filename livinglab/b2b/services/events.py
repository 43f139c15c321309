"""Cluster events: staff prepare, publish and cancel them; signed-in people register up to the capacity and
get a ticket (a PDF with a QR code of its check-in link); staff check attendees in at the door, sign up
professionals as lead users into the event's B2B panel with their consent recorded, and follow up with the
people who came.

Registrations are serialised per event by a lock on the event row, so that an event never takes more
people than it has places, however many click at the same moment."""

import re
import zoneinfo
from dataclasses import dataclass
from datetime import datetime
from functools import cache

import segno
from django.conf import settings
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.files.uploadedfile import UploadedFile
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Count, Q, QuerySet
from django.utils import formats, timezone
from django.utils.text import capfirst, slugify
from django.utils.translation import gettext as _

from livinglab import audit
from livinglab.links import absolute_url
from livinglab.models import Channel, Organisation, User
from livinglab.pdf import render_pdf
from livinglab.policy import CLUSTER_ROLES, active_memberships, is_platform_admin
from pilots.models import AttributeKind, PanelAttribute, PanelMembership
from pilots.services.enrolment import enrol_participant

from ..errors import B2BError
from ..models import Event, EventRegistration, LeadUserSignup
from ..tasks.events import mail_cancellation, mail_follow_up, mail_move, mail_ticket

__all__ = [
    "EVENT_FIELDS",
    "CheckIn",
    "cancel_event",
    "cancel_registration",
    "check_in",
    "check_in_url",
    "event_when",
    "find_ticket",
    "local_moment",
    "may_handle_ticket",
    "may_organise",
    "organisers_for",
    "past_events",
    "publish_event",
    "register_for_event",
    "registered_count",
    "registration_open",
    "save_event",
    "send_follow_up",
    "sign_up_lead_user",
    "ticket_context",
    "ticket_pdf",
    "ticket_qr",
    "upcoming_events",
    "with_counts",
]

Status = Event.Status
Registered = EventRegistration.Status.REGISTERED
# What staff set on an event; the organiser is chosen once, when the event is created.
EVENT_FIELDS = (
    "title",
    "kind",
    "description",
    "venue",
    "time_zone",
    "starts_at",
    "ends_at",
    "registration_closes_at",
    "capacity",
    "lead_user_panel",
)
# What attendees need to turn up: when one of these changes on a published event, each is told by mail.
MOVE_FIELDS = ("venue", "time_zone", "starts_at", "ends_at")
# First path segments under /b2b/events/ that other pages use: no event may take them as its slug.
RESERVED_SLUGS = {"new", "check-in"}
# A ticket code is 16 random bytes in URL-safe base64 (22 characters); anything else is no code of ours.
CODE_PATTERN = re.compile(r"^[A-Za-z0-9_-]{8,32}$")
# Panel questions that, when a lead user's panel asks them as free text, take the organisation and job title.
ORGANISATION_CODES = ("organisation", "organization", "employer", "company")
JOB_TITLE_CODES = ("job_title", "job-title", "position", "role")


# --------------------------------------------------------------------------------------------- reading


def with_counts(queryset: QuerySet) -> QuerySet:
    """Events with ``registered_count`` and ``checked_in_count`` (current registrations only)."""
    registered = Q(registrations__status=Registered)
    return queryset.annotate(
        registered_count=Count("registrations", filter=registered),
        checked_in_count=Count(
            "registrations", filter=registered & Q(registrations__checked_in_at__isnull=False)
        ),
    )


def upcoming_events() -> QuerySet:
    """Published events that have not ended yet, soonest first (for the event pages and the public site)."""
    return (
        Event.objects.filter(status=Status.PUBLISHED, ends_at__gt=timezone.now())
        .select_related("organiser")
        .order_by("starts_at", "pk")
    )


def past_events() -> QuerySet:
    """Published events that have ended, latest first."""
    return (
        Event.objects.filter(status=Status.PUBLISHED, ends_at__lte=timezone.now())
        .select_related("organiser")
        .order_by("-starts_at", "-pk")
    )


def registered_count(event: Event) -> int:
    return EventRegistration.objects.filter(event_id=event.pk, status=Registered).count()


def registration_open(event: Event, now: datetime | None = None) -> bool:
    """Registration is open while the event is published and until the second it closes (excluded)."""
    now = now or timezone.now()
    return event.status == Status.PUBLISHED and now < event.registration_closes_at


def may_handle_ticket(user, registration: EventRegistration) -> bool:
    """The attendee who registered (downloads and cancels their ticket) and the cluster staff."""
    return user.has_perm("b2b.manage_ticket", registration)


def organisers_for(user) -> QuerySet:
    """Cluster organisations ``user`` may organise events for: theirs as cluster staff, any for admins."""
    clusters = Organisation.objects.filter(kind=Organisation.Kind.CLUSTER)
    if is_platform_admin(user):
        return clusters
    return clusters.filter(
        pk__in=[m.organisation_id for m in active_memberships(user) if m.role in CLUSTER_ROLES]
    )


def may_organise(user, organiser: Organisation) -> bool:
    return (
        organiser.kind == Organisation.Kind.CLUSTER and organisers_for(user).filter(pk=organiser.pk).exists()
    )


# ------------------------------------------------------------------------------------------------ time


@cache
def _zone(name: str) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.TIME_ZONE)


def local_moment(event: Event, moment: datetime | None) -> str:
    """``moment`` in the event's time zone, with the zone named: “12 May 2026, 09:00 (Europe/Brussels)”."""
    if moment is None:
        return ""
    local = timezone.localtime(moment, _zone(event.time_zone))
    return f"{formats.date_format(local, 'j F Y, H:i')} ({event.time_zone})"


def event_when(event: Event) -> str:
    """When the event takes place, in its own time zone: “Tuesday 12 May 2026, 09:00–12:00
    (Europe/Brussels)”, or both dates when it lasts several days."""
    tz = _zone(event.time_zone)
    starts, ends = timezone.localtime(event.starts_at, tz), timezone.localtime(event.ends_at, tz)
    if starts.date() == ends.date():
        day = formats.date_format(starts, "l j F Y")
        return f"{day}, {starts:%H:%M}–{ends:%H:%M} ({event.time_zone})"
    first = formats.date_format(starts, "j F Y, H:i")
    last = formats.date_format(ends, "j F Y, H:i")
    return f"{first} – {last} ({event.time_zone})"


# -------------------------------------------------------------------------------------------- tickets


def check_in_url(registration: EventRegistration) -> str:
    """The absolute link the ticket's QR code holds: staff who scan it land on the check-in page."""
    return absolute_url("b2b:ticket_check_in", registration.ticket_code)


def ticket_qr(registration: EventRegistration) -> segno.QRCode:
    return segno.make(check_in_url(registration), error="m", micro=False)


def ticket_context(registration: EventRegistration) -> dict:
    event = registration.event
    return {
        "registration": registration,
        "event": event,
        "when": event_when(event),
        "organisation": registration.organisation_name
        or (registration.organisation.name if registration.organisation_id else ""),
        "check_in_url": check_in_url(registration),
        # An SVG data URI, drawn here: WeasyPrint fetches nothing from the network.
        "qr": ticket_qr(registration).svg_data_uri(scale=1, border=4, omitsize=True),
    }


def ticket_pdf(registration: EventRegistration) -> tuple[str, bytes]:
    """The printable ticket: the event, when (in its time zone) and where, the attendee, and the code as
    text and as a QR code of its check-in link."""
    registration = EventRegistration.objects.select_related("event__organiser", "organisation").get(
        pk=registration.pk
    )
    pdf = render_pdf("b2b/pdf/ticket.html", ticket_context(registration))
    return f"ticket-{registration.event.slug}-{registration.pk}.pdf", pdf


# ------------------------------------------------------------------------------------------ helpers


def _require_staff(user: User) -> None:
    if not user.has_perm("b2b.manage_events"):
        raise B2BError(_("Only the cluster organisation's staff manage events."))


def _locked(event: Event) -> Event:
    return Event.objects.select_for_update(no_key=True).get(pk=event.pk)


def _clean(event: Event) -> None:
    """The model's field validation, as one refusal naming the fields."""
    try:
        event.full_clean(
            exclude=["slug", "organiser", "created_by", "channel", "status"],
            validate_unique=False,
            validate_constraints=False,
        )
    except ValidationError as error:
        parts = []
        for field, messages in error.message_dict.items():
            label = "" if field == NON_FIELD_ERRORS else capfirst(Event._meta.get_field(field).verbose_name)
            parts.extend(f"{label}: {message}" if label else message for message in messages)
        raise B2BError(" ".join(parts)) from None


def _check_event(event: Event) -> None:
    """Refuse an event whose dates, capacity or lead-user panel do not make sense."""
    if event.time_zone not in zoneinfo.available_timezones():
        raise B2BError(_("Choose the time zone from the list, such as Europe/Brussels."))
    _clean(event)
    if event.ends_at <= event.starts_at:
        raise B2BError(_("The event must end after it starts."))
    if event.registration_closes_at > event.ends_at:
        raise B2BError(_("Registration must close before the event ends."))
    if event.capacity < 1:
        raise B2BError(_("An event needs at least one place."))
    if event.pk is not None:
        taken = registered_count(event)
        if event.capacity < taken:
            raise B2BError(
                _(
                    "%(taken)s people are registered already: the event needs at least %(taken)s places. "
                    "Cancel registrations first to make it smaller."
                )
                % {"taken": taken}
            )
    panel = event.lead_user_panel
    if panel is not None and (panel.channel != Channel.B2B or panel.owner_id != event.organiser_id):
        raise B2BError(
            _("Lead users join a B2B panel of the organiser, %(organiser)s: “%(panel)s” is not one.")
            % {"organiser": event.organiser, "panel": panel}
        )


def unique_slug(title: str, *, exclude_pk=None) -> str:
    """A web address from the title, never a fixed word of /b2b/events/ nor another event's."""
    base = slugify(title)[:70].strip("-") or "event"
    taken = set(
        Event.objects.filter(slug__startswith=base).exclude(pk=exclude_pk).values_list("slug", flat=True)
    )
    slug, n = base, 1
    while slug in taken or slug in RESERVED_SLUGS:
        n += 1
        slug = f"{base}-{n}"
    return slug


def _move(event: Event, to: str) -> str:
    """Check ``event`` (locked) may take status ``to``; return its current status."""
    if to not in Event.TRANSITIONS.get(event.status, set()):
        raise B2BError(
            _("This event is “%(current)s”: it cannot become “%(to)s”.")
            % {"current": event.get_status_display(), "to": Status(to).label}
        )
    return event.status


# ------------------------------------------------------------------------------------------- events


@transaction.atomic
def save_event(
    event: Event | None, changes: dict, *, organiser: Organisation | None = None, acting_user: User
) -> Event:
    """Create an event as a draft of ``organiser``, or change one that is not cancelled. When the time or
    place of a published event changes, every registered attendee is mailed the new details and ticket."""
    _require_staff(acting_user)
    unknown = set(changes) - set(EVENT_FIELDS)
    if unknown:
        raise B2BError(
            _("These cannot be set on an event: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}
        )
    created = event is None
    if created:
        if organiser is None or not may_organise(acting_user, organiser):
            raise B2BError(_("Choose a cluster organisation you work for as the organiser."))
        event = Event(organiser=organiser, created_by=acting_user, status=Status.DRAFT)
    else:
        event = _locked(event)
        if event.status == Status.CANCELLED:
            raise B2BError(_("This event is cancelled: it cannot be changed any more."))
    before = {field: getattr(event, field) for field in MOVE_FIELDS}
    for field, value in changes.items():
        setattr(event, field, value)
    event.title = " ".join((event.title or "").split())
    event.channel = Channel.B2B
    _check_event(event)
    if created:
        event.slug = unique_slug(event.title)
    moved = not created and event.status == Status.PUBLISHED and _moved(before, event)
    if moved:
        event.moved_at = timezone.now()
    event.save()
    audit.record(
        "b2b.event." + ("create" if created else "update"),
        actor=acting_user,
        obj=event,
        organisation=event.organiser,
        data={
            "fields": sorted(changes),
            "capacity": event.capacity,
            "panel": event.lead_user_panel_id,
            "moved": moved,
        },
    )
    if moved:
        mail_move.delay_on_commit(event.pk)
    return event


def _moved(before: dict, event: Event) -> bool:
    """Whether ``event`` now takes place at another time or place than ``before`` (moments compared as
    moments, so that retyping the same time changes nothing)."""
    return any(before[field] != getattr(event, field) for field in MOVE_FIELDS)


@transaction.atomic
def publish_event(event: Event, *, acting_user: User) -> Event:
    """Open a draft event to registration."""
    _require_staff(acting_user)
    event = _locked(event)
    current = _move(event, Status.PUBLISHED)
    if event.ends_at <= timezone.now():
        raise B2BError(_("This event is over: it cannot be published."))
    _check_event(event)
    event.status = Status.PUBLISHED
    event.save(update_fields=["status"])
    audit.record(
        "b2b.event.publish",
        actor=acting_user,
        obj=event,
        organisation=event.organiser,
        data={"from": current},
    )
    return event


@transaction.atomic
def cancel_event(event: Event, *, acting_user: User) -> Event:
    """Cancel a published event that has not ended; every registered attendee is told by e-mail."""
    _require_staff(acting_user)
    event = _locked(event)
    current = _move(event, Status.CANCELLED)
    if event.ends_at <= timezone.now():
        raise B2BError(_("This event is over: it cannot be cancelled."))
    event.status = Status.CANCELLED
    event.save(update_fields=["status"])
    audit.record(
        "b2b.event.cancel",
        actor=acting_user,
        obj=event,
        organisation=event.organiser,
        data={"from": current, "registered": registered_count(event)},
    )
    mail_cancellation.delay_on_commit(event.pk)
    return event


# ------------------------------------------------------------------------------------- registration


@transaction.atomic
def register_for_event(
    event: Event,
    *,
    user: User | None,
    full_name: str,
    email: str,
    organisation: Organisation | str | None = None,
    job_title: str = "",
    acting_user: User,
) -> tuple[EventRegistration, bool]:
    """Register someone for a published event while places are left and registration is open; the ticket is
    e-mailed. (registration, created): the same address registering again gets its existing ticket back."""
    if not acting_user.has_perm("b2b.register_for_event", event):
        raise B2BError(_("Sign in to register for an event."))
    staff = acting_user.has_perm("b2b.manage_events")
    if user is None and not staff:
        user = acting_user
    if user is not None and user.pk != acting_user.pk and not staff:
        raise B2BError(_("You can register only yourself; staff register others."))
    full_name = " ".join((full_name or "").split())
    email = (email or "").strip().lower()
    job_title = " ".join((job_title or "").split())
    if not full_name:
        raise B2BError(_("Give the attendee's full name, as it should appear on the badge."))
    if len(full_name) > 200 or len(job_title) > 200:
        raise B2BError(_("A name and a job title have at most 200 characters each."))
    try:
        validate_email(email)
    except ValidationError:
        raise B2BError(_("Give a valid e-mail address: the ticket is sent there.")) from None
    if isinstance(organisation, Organisation):
        linked, organisation_name = organisation, organisation.name
    else:
        linked, organisation_name = None, " ".join((organisation or "").split())[:200]

    # Registrations of one event are serialised here: the count below cannot go stale before the insert.
    event = _locked(event)
    now = timezone.now()
    if event.status != Status.PUBLISHED:
        raise B2BError(
            _("“%(title)s” is “%(status)s”: it takes no registrations.")
            % {"title": event.title, "status": event.get_status_display()}
        )
    if not registration_open(event, now):
        raise B2BError(
            _("Registration for “%(title)s” closed on %(when)s.")
            % {"title": event.title, "when": local_moment(event, event.registration_closes_at)}
        )
    existing = EventRegistration.objects.filter(event=event, email=email, status=Registered).first()
    if existing is not None:
        if staff or (user is not None and existing.user_id == user.pk):
            return existing, False
        raise B2BError(
            _(
                "This e-mail address is registered for “%(title)s” already; its ticket was sent to that "
                "address."
            )
            % {"title": event.title}
        )
    if registered_count(event) >= event.capacity:
        raise B2BError(
            _("“%(title)s” is full: all %(capacity)s places are taken.")
            % {"title": event.title, "capacity": event.capacity}
        )
    registration = EventRegistration.objects.create(
        event=event,
        user=user,
        full_name=full_name,
        email=email,
        organisation=linked,
        organisation_name=organisation_name,
        job_title=job_title,
    )
    audit.record(
        "b2b.registration.create",
        actor=acting_user,
        obj=registration,
        organisation=event.organiser,
        data={"event": event.pk, "organisation": linked.pk if linked else None},
    )
    mail_ticket.delay_on_commit(registration.pk)
    return registration, True


@transaction.atomic
def cancel_registration(registration: EventRegistration, *, acting_user: User) -> EventRegistration:
    """The attendee (or staff) cancels a registration before the event ends: the place is free again."""
    if not may_handle_ticket(acting_user, registration):
        raise B2BError(_("Only the attendee and the cluster staff can cancel this registration."))
    # The event first, then the registration: the order every registration takes its locks in.
    event = _locked(registration.event)
    registration = EventRegistration.objects.select_for_update(no_key=True).get(pk=registration.pk)
    if registration.status != Registered:
        raise B2BError(
            _("This registration was cancelled already, on %(when)s.")
            % {"when": local_moment(event, registration.cancelled_at)}
        )
    if registration.checked_in_at is not None:
        raise B2BError(_("This attendee has been checked in: the registration cannot be cancelled any more."))
    if event.ends_at <= timezone.now():
        raise B2BError(_("This event is over: its registrations stay as they were."))
    registration.status = EventRegistration.Status.CANCELLED
    registration.cancelled_at = timezone.now()
    registration.save(update_fields=["status", "cancelled_at"])
    audit.record(
        "b2b.registration.cancel",
        actor=acting_user,
        obj=registration,
        organisation=event.organiser,
        data={"event": event.pk, "by_attendee": registration.user_id == acting_user.pk},
    )
    return registration


# ------------------------------------------------------------------------------------------- check-in


@dataclass(frozen=True)
class CheckIn:
    """The outcome of a check-in: ``already`` when the ticket had been checked in before (at
    ``registration.checked_in_at``)."""

    registration: EventRegistration
    already: bool


def find_ticket(code: str) -> EventRegistration | None:
    """The registration with this ticket code, or None for anything that is not one of our codes."""
    code = (code or "").strip()
    if not CODE_PATTERN.match(code):
        return None
    return (
        EventRegistration.objects.select_related("event__organiser", "organisation", "checked_in_by")
        .filter(ticket_code=code)
        .first()
    )


@transaction.atomic
def check_in(code: str, *, event: Event | None = None, acting_user: User) -> CheckIn:
    """Check an attendee in by their ticket code (at ``event``'s door when given); a ticket checked in
    before is reported with the time it was, not checked in twice."""
    _require_staff(acting_user)
    registration = find_ticket(code)
    if registration is None:
        raise B2BError(
            _("No ticket has this code. Check it character by character, or find the attendee by name.")
        )
    ticket_event = registration.event
    if event is not None and ticket_event.pk != event.pk:
        raise B2BError(
            _("This ticket is for another event: “%(title)s”, %(when)s.")
            % {"title": ticket_event.title, "when": event_when(ticket_event)}
        )
    if registration.status != Registered:
        raise B2BError(
            _("This ticket was cancelled on %(when)s: it is not valid any more.")
            % {"when": local_moment(ticket_event, registration.cancelled_at)}
        )
    if ticket_event.status != Status.PUBLISHED:
        raise B2BError(
            _("“%(title)s” is “%(status)s”: nobody can be checked in.")
            % {"title": ticket_event.title, "status": ticket_event.get_status_display()}
        )
    claimed = EventRegistration.objects.filter(
        pk=registration.pk, status=Registered, checked_in_at__isnull=True
    ).update(checked_in_at=timezone.now(), checked_in_by=acting_user)
    registration.refresh_from_db(fields=["status", "checked_in_at", "checked_in_by", "cancelled_at"])
    if not claimed:
        if registration.checked_in_at is None:  # cancelled at this very moment
            raise B2BError(_("This ticket was cancelled a moment ago: it is not valid any more."))
        return CheckIn(registration, already=True)
    audit.record(
        "b2b.registration.check_in",
        actor=acting_user,
        obj=registration,
        organisation=ticket_event.organiser,
        data={"event": ticket_event.pk},
    )
    return CheckIn(registration, already=False)


# ----------------------------------------------------------------------------------------- lead users


def _professional_answers(panel_id: int, answers: dict, organisation: str, job_title: str) -> dict:
    """Put the organisation and job title into the panel's own free-text questions that ask for them."""
    answers = dict(answers)
    questions = PanelAttribute.objects.filter(panel_id=panel_id, kind=AttributeKind.TEXT)
    for code in questions.values_list("code", flat=True):
        value = organisation if code in ORGANISATION_CODES else job_title if code in JOB_TITLE_CODES else ""
        if value and not answers.get(code):
            answers[code] = value
    return answers


@transaction.atomic
def sign_up_lead_user(
    event: Event,
    *,
    full_name: str,
    profile: dict,
    answers: dict | None = None,
    consent_route: str,
    purposes=(),
    explicit_purposes=(),
    scan: UploadedFile | None = None,
    witness_name: str = "",
    registration: EventRegistration | None = None,
    submission_key: str = "",
    acting_user: User,
) -> tuple[LeadUserSignup, bool]:
    """Sign a professional up on the spot as a lead user into the event's B2B panel: their consent recorded
    now (signed paper form, witness) or asked for by e-mail; (sign-up, created). Their organisation and job
    title go into the panel profile (employer, occupation)."""
    _require_staff(acting_user)
    event = Event.objects.select_related("organiser", "lead_user_panel__owner").get(pk=event.pk)
    panel = event.lead_user_panel
    if panel is None:
        raise B2BError(
            _("“%(title)s” has no lead-user panel: choose a B2B panel on the event first.")
            % {"title": event.title}
        )
    if event.status != Status.PUBLISHED:
        raise B2BError(
            _("“%(title)s” is “%(status)s”: nobody can sign up at it.")
            % {"title": event.title, "status": event.get_status_display()}
        )
    profile = dict(profile)
    if registration is not None:
        if registration.event_id != event.pk:
            raise B2BError(_("This registration is for another event."))
        full_name = full_name or registration.full_name
        if not profile.get("contact_email"):
            profile["contact_email"] = registration.email
        if not profile.get("employer"):
            profile["employer"] = registration.organisation_name
        if not profile.get("occupation"):
            profile["occupation"] = registration.job_title[:120]
    answers = _professional_answers(
        panel.pk, answers or {}, profile.get("employer") or "", profile.get("occupation") or ""
    )
    membership, _created = enrol_participant(
        panel,
        full_name=full_name,
        profile=profile,
        answers=answers,
        consent_route=consent_route,
        purposes=purposes,
        explicit_purposes=explicit_purposes,
        scan=scan,
        witness_name=witness_name,
        recruited_by=None,
        submission_key=submission_key,
        at_event=event.title,
        acting_user=acting_user,
    )
    signup, made = LeadUserSignup.objects.get_or_create(
        membership=membership,
        defaults={"event": event, "registration": registration, "signed_up_by": acting_user},
    )
    if made:
        audit.record(
            "b2b.lead_user.sign_up",
            actor=acting_user,
            obj=signup,
            organisation=event.organiser,
            data={
                "event": event.pk,
                "panel": panel.pk,
                "membership": membership.pk,
                "registration": registration.pk if registration else None,
                "route": consent_route,
                "active": membership.status == PanelMembership.Status.ACTIVE,
            },
        )
    return signup, made


# ------------------------------------------------------------------------------------------ follow-up


@transaction.atomic
def send_follow_up(event: Event, *, subject: str, message: str, acting_user: User) -> Event:
    """After the event, mail ``message`` once to every attendee who was checked in."""
    _require_staff(acting_user)
    event = _locked(event)
    subject = " ".join((subject or "").split())
    message = (message or "").strip()
    if event.follow_up_sent_at is not None:
        raise B2BError(
            _("The follow-up of this event was sent on %(when)s: it is sent once.")
            % {"when": local_moment(event, event.follow_up_sent_at)}
        )
    if event.status != Status.PUBLISHED:
        raise B2BError(
            _("This event is “%(status)s”: it has no follow-up.") % {"status": event.get_status_display()}
        )
    now = timezone.now()
    if event.ends_at > now:
        raise B2BError(
            _("The follow-up goes out after the event, which ends %(when)s.")
            % {"when": local_moment(event, event.ends_at)}
        )
    if not subject or not message:
        raise B2BError(_("Write a subject and a message."))
    if len(subject) > 200:
        raise B2BError(_("The subject has at most 200 characters."))
    attendees = EventRegistration.objects.filter(event=event, status=Registered, checked_in_at__isnull=False)
    count = attendees.count()
    if not count:
        raise B2BError(_("Nobody was checked in at this event: there is nobody to follow up with."))
    event.follow_up_subject, event.follow_up_message, event.follow_up_sent_at = subject, message, now
    event.save(update_fields=["follow_up_subject", "follow_up_message", "follow_up_sent_at"])
    audit.record(
        "b2b.event.follow_up",
        actor=acting_user,
        obj=event,
        organisation=event.organiser,
        data={"attendees": count},
    )
    mail_follow_up.delay_on_commit(event.pk)
    return event
