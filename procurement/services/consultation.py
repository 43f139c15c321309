"""The open market consultation before the call: its notice, firms registering their interest (and, once the
call is out, as bidders), consultation events and who attended, written input, and the summary report that
feeds the call specifications and shows who took part."""

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta

import filetype
from django.conf import settings
from django.core.files.uploadedfile import UploadedFile
from django.db import transaction
from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from livinglab import audit
from livinglab.models import Organisation, User

from ..errors import ProcurementError
from ..models import CallDocument, ConsultationEvent, ConsultationInput, Procurement, Registration
from ..rules import firm_ids
from .calls import _enqueue_document, _locked, _require_editable, _require_manager, when
from .lifecycle import move_procurement, require_rules

Status = Procurement.Status
Stage = Registration.Stage
# The file types written input may carry, checked on the content (not the name), and their extensions.
INPUT_TYPES = {
    "application/pdf": "pdf",
    "application/zip": "zip",
    "image/png": "png",
    "image/jpeg": "jpg",
}


def _acts_for(user: User, organisation: Organisation) -> None:
    if organisation.pk not in firm_ids(user):
        raise ProcurementError(
            _("You cannot act for %(organisation)s: you are not one of its firm or research staff.")
            % {"organisation": organisation}
        )


def _current(procurement: Procurement) -> Procurement:
    """The procurement as it is now (its status and dates decide), not as the caller last read it."""
    return Procurement.objects.select_related("buyer").get(pk=procurement.pk)


# --------------------------------------------------------------------------------------------- opening


@transaction.atomic
def open_consultation(
    procurement: Procurement,
    *,
    closes_at: datetime,
    opens_at: datetime | None = None,
    acting_user: User,
) -> Procurement:
    """Publish the consultation notice of a draft procurement: firms may register and send written input
    from ``opens_at`` (now by default) until ``closes_at``."""
    _require_manager(acting_user, procurement)
    require_rules(acting_user, procurement, procurement.buyer)
    procurement = _locked(procurement)
    if procurement.status != Status.DRAFT:
        raise ProcurementError(
            _("This procurement is “%(status)s”: a market consultation opens only before the call.")
            % {"status": procurement.get_status_display()}
        )
    now = timezone.now()
    opens_at = opens_at or now
    if opens_at < now - timedelta(minutes=1):
        raise ProcurementError(
            _("The consultation cannot open in the past (%(when)s).") % {"when": when(procurement, opens_at)}
        )
    if closes_at is None or closes_at <= opens_at:
        raise ProcurementError(
            _("The consultation must close after it opens (%(opens)s).")
            % {"opens": when(procurement, opens_at)}
        )
    move_procurement(
        procurement,
        Status.CONSULTATION,
        acting_user=acting_user,
        consultation_opens_at=opens_at,
        consultation_closes_at=closes_at,
    )
    _enqueue_document(procurement, CallDocument.Kind.CONSULTATION_NOTICE, acting_user)
    audit.record(
        "procurement.consultation.open",
        actor=acting_user,
        obj=procurement,
        organisation=procurement.buyer,
        data={
            "opens_at": opens_at.isoformat(),
            "closes_at": closes_at.isoformat(),
        },
    )
    return procurement


# ---------------------------------------------------------------------------------------- registration


@transaction.atomic
def register_interest(
    procurement: Procurement, organisation: Organisation, stage: str, *, acting_user: User
) -> Registration:
    """Register ``organisation`` for the consultation or as a bidder of the call; registering twice changes
    nothing."""
    if stage not in Stage.values:
        raise ProcurementError(_("Register for the market consultation or for the call."))
    _acts_for(acting_user, organisation)
    procurement = _current(procurement)
    if not acting_user.has_perm("procurement.register_interest", procurement):
        raise ProcurementError(_("This procurement is not published: nobody can register for it yet."))
    now = timezone.now()
    if stage == Stage.CONSULTATION and not procurement.consultation_open(now):
        if procurement.status != Status.CONSULTATION:
            raise ProcurementError(_("This procurement has no market consultation open."))
        if procurement.consultation_opens_at and now < procurement.consultation_opens_at:
            raise ProcurementError(
                _("The consultation opens on %(when)s.")
                % {"when": when(procurement, procurement.consultation_opens_at)}
            )
        raise ProcurementError(
            _("The consultation closed on %(when)s.")
            % {"when": when(procurement, procurement.consultation_closes_at)}
        )
    if stage == Stage.CALL and procurement.status != Status.CALL:
        raise ProcurementError(
            _("This procurement is “%(status)s”: bidders register while its call is published.")
            % {"status": procurement.get_status_display()}
        )
    require_rules(acting_user, procurement, organisation)
    registration, created = Registration.objects.get_or_create(
        procurement=procurement,
        organisation=organisation,
        stage=stage,
        defaults={"registered_by": acting_user},
    )
    if created:
        audit.record(
            "procurement.registration.create",
            actor=acting_user,
            obj=registration,
            organisation=organisation,
            data={"procurement": procurement.pk, "organisation": organisation.pk, "stage": stage},
        )
    return registration


# -------------------------------------------------------------------------------------------- events


@transaction.atomic
def add_consultation_event(procurement: Procurement, data: dict, *, acting_user: User) -> ConsultationEvent:
    """Announce an information day, workshop or one-to-one session of the consultation."""
    _require_manager(acting_user, procurement)
    require_rules(acting_user, procurement, procurement.buyer)
    procurement = _locked(procurement)
    _require_editable(procurement)
    allowed = {"title", "starts_at", "ends_at", "place", "online_url", "description"}
    unknown = set(data) - allowed
    if unknown:
        raise ProcurementError(
            _("These fields cannot be set here: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}
        )
    event = ConsultationEvent(procurement=procurement, **data)
    if not (event.title or "").strip():
        raise ProcurementError(_("Give the event a title."))
    if event.starts_at is None or event.ends_at is None or event.ends_at <= event.starts_at:
        raise ProcurementError(_("The event must end after it starts."))
    if not (event.place or "").strip() and not event.online_url:
        raise ProcurementError(_("Say where the event takes place, give an online link, or both."))
    event.save()
    audit.record(
        "procurement.consultationevent.create",
        actor=acting_user,
        obj=event,
        organisation=procurement.buyer,
        data={"procurement": procurement.pk, "starts_at": event.starts_at.isoformat()},
    )
    return event


@transaction.atomic
def record_event_attendance(
    event: ConsultationEvent, organisations, *, acting_user: User
) -> ConsultationEvent:
    """Record which organisations took part in a consultation event (organisations, never people)."""
    procurement = event.procurement
    _require_manager(acting_user, procurement)
    require_rules(acting_user, procurement, procurement.buyer)
    _locked(procurement)
    event = ConsultationEvent.objects.select_for_update(no_key=True).get(pk=event.pk)
    if event.starts_at > timezone.now():
        raise ProcurementError(
            _("The event starts on %(when)s: record who came once it has started.")
            % {"when": when(procurement, event.starts_at)}
        )
    organisations = list(organisations)
    if any(o.pk == procurement.buyer_id for o in organisations):
        raise ProcurementError(_("The authority itself is not a participant of its own consultation."))
    event.attendees.set(organisations)
    audit.record(
        "procurement.consultationevent.attendance",
        actor=acting_user,
        obj=event,
        organisation=procurement.buyer,
        data={"procurement": procurement.pk, "organisations": sorted(o.pk for o in organisations)},
    )
    return event


# ---------------------------------------------------------------------------------------- written input


def check_input_document(document: UploadedFile | None) -> str | None:
    """The extension to store an attachment under, once its size and (sniffed) type are acceptable."""
    if document is None:
        return None
    limit = settings.BID_DOCUMENT_MAX_BYTES
    if not document.size:
        raise ProcurementError(_("The attachment is empty."))
    if document.size > limit:
        raise ProcurementError(
            _("The attachment is too large: at most %(mb)s MB.") % {"mb": round(limit / (1024 * 1024), 1)}
        )
    document.seek(0)
    kind = filetype.guess(document.read(8192))
    document.seek(0)
    if kind is None or kind.mime not in INPUT_TYPES or kind.mime not in settings.BID_DOCUMENT_TYPES:
        raise ProcurementError(
            _("The attachment must be a PDF, ZIP, PNG or JPEG file; this one is not, whatever its name says.")
        )
    return INPUT_TYPES[kind.mime]


@transaction.atomic
def submit_consultation_input(
    procurement: Procurement,
    organisation: Organisation,
    *,
    subject: str,
    text: str,
    document: UploadedFile | None = None,
    acting_user: User,
) -> ConsultationInput:
    """Send a registered organisation's written input, while the consultation is open."""
    _acts_for(acting_user, organisation)
    procurement = _current(procurement)
    if not acting_user.has_perm("procurement.contribute_to_consultation", procurement):
        raise ProcurementError(_("This procurement is not published: it takes no input yet."))
    now = timezone.now()
    if not procurement.consultation_open(now):
        if procurement.status != Status.CONSULTATION:
            raise ProcurementError(_("This procurement has no market consultation open."))
        if procurement.consultation_opens_at and now < procurement.consultation_opens_at:
            raise ProcurementError(
                _("The consultation opens on %(when)s.")
                % {"when": when(procurement, procurement.consultation_opens_at)}
            )
        raise ProcurementError(
            _("The consultation closed on %(when)s: input is no longer accepted.")
            % {"when": when(procurement, procurement.consultation_closes_at)}
        )
    if not Registration.objects.filter(
        procurement=procurement, organisation=organisation, stage=Stage.CONSULTATION
    ).exists():
        raise ProcurementError(
            _("Register %(organisation)s for the consultation before sending input.")
            % {"organisation": organisation}
        )
    require_rules(acting_user, procurement, organisation)
    subject, text = (subject or "").strip(), (text or "").strip()
    if not subject or not text:
        raise ProcurementError(_("Give your input a subject and write it out."))
    if len(subject) > 200:
        raise ProcurementError(_("The subject has at most 200 characters."))
    extension = check_input_document(document)
    contribution = ConsultationInput(
        procurement=procurement,
        organisation=organisation,
        submitted_by=acting_user,
        subject=subject,
        text=text,
    )
    if document is not None:
        # A random name: the uploaded one may say more than it should.
        contribution.document.save(f"{secrets.token_hex(16)}.{extension}", document, save=False)
    contribution.save()
    audit.record(
        "procurement.consultationinput.create",
        actor=acting_user,
        obj=contribution,
        organisation=organisation,
        data={"procurement": procurement.pk, "organisation": organisation.pk, "document": bool(document)},
    )
    return contribution


@transaction.atomic
def mark_input_used(contribution: ConsultationInput, used: bool, *, acting_user: User) -> ConsultationInput:
    """Mark whether a piece of input shaped the call specifications (shown in the summary record)."""
    procurement = contribution.procurement
    _require_manager(acting_user, procurement)
    procurement = _locked(procurement)
    _require_editable(procurement)
    ConsultationInput.objects.filter(pk=contribution.pk).update(used_in_specifications=bool(used))
    contribution.used_in_specifications = bool(used)
    audit.record(
        "procurement.consultationinput.mark_used",
        actor=acting_user,
        obj=contribution,
        organisation=procurement.buyer,
        data={"procurement": procurement.pk, "used": bool(used)},
    )
    return contribution


# --------------------------------------------------------------------------------------------- summary


@transaction.atomic
def publish_consultation_summary(procurement: Procurement, summary: str, *, acting_user: User) -> Procurement:
    """Publish the summary report of a closed consultation; its record shows who took part. The summary
    report PDF is generated right after."""
    _require_manager(acting_user, procurement)
    require_rules(acting_user, procurement, procurement.buyer)
    procurement = _locked(procurement)
    if procurement.status != Status.CONSULTATION:
        raise ProcurementError(
            _("This procurement is “%(status)s”: the summary belongs to an open market consultation.")
            % {"status": procurement.get_status_display()}
        )
    now = timezone.now()
    if procurement.consultation_closes_at is None or now < procurement.consultation_closes_at:
        raise ProcurementError(
            _("The consultation is open until %(when)s: publish its summary once it has closed.")
            % {"when": when(procurement, procurement.consultation_closes_at)}
        )
    summary = (summary or "").strip()
    if not summary:
        raise ProcurementError(_("Write the summary: what the market said and what the call takes from it."))
    first = procurement.consultation_summary_published_at is None
    Procurement.objects.filter(pk=procurement.pk).update(
        consultation_summary=summary, consultation_summary_published_at=now, updated_at=now
    )
    procurement.refresh_from_db()
    _enqueue_document(procurement, CallDocument.Kind.CONSULTATION_SUMMARY, acting_user)
    audit.record(
        "procurement.consultation.publish_summary",
        actor=acting_user,
        obj=procurement,
        organisation=procurement.buyer,
        data={"first": first},
    )
    return procurement


@dataclass
class ParticipantRow:
    organisation: Organisation
    registered_at: datetime | None = None
    events: list[str] = field(default_factory=list)
    inputs: int = 0
    used: int = 0


def consultation_record(procurement: Procurement) -> dict:
    """Who took part in the consultation, by organisation: registration, events attended, written input
    sent and how much of it shaped the specifications. Organisations only, no people; fixed query count."""
    rows: dict[int, ParticipantRow] = {}

    def row(organisation):
        return rows.setdefault(organisation.pk, ParticipantRow(organisation))

    registrations = Registration.objects.filter(
        procurement=procurement, stage=Stage.CONSULTATION
    ).select_related("organisation")
    for registration in registrations:
        row(registration.organisation).registered_at = registration.registered_at
    events = list(procurement.consultation_events.prefetch_related("attendees").order_by("starts_at", "pk"))
    for event in events:
        for organisation in event.attendees.all():
            row(organisation).events.append(event.title)
    inputs = (
        ConsultationInput.objects.filter(procurement=procurement)
        .values("organisation")
        .annotate(n=Count("pk"), used=Count("pk", filter=Q(used_in_specifications=True)))
    )
    counts = {entry["organisation"]: entry for entry in inputs}
    missing = set(counts) - set(rows)
    for organisation in Organisation.objects.filter(pk__in=missing):
        row(organisation)
    for pk, entry in counts.items():
        rows[pk].inputs, rows[pk].used = entry["n"], entry["used"]
    participants = sorted(rows.values(), key=lambda r: r.organisation.name)
    return {
        "participants": participants,
        "events": events,
        "registrations": sum(1 for r in participants if r.registered_at),
        "inputs": sum(r.inputs for r in participants),
        "used": sum(r.used for r in participants),
    }
