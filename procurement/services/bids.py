"""Bids: a consortium lead prepares a draft (answers per award criterion, price, summary, documents),
submits it before the deadline, may withdraw it before the deadline and submit a new one. Submission
returns a receipt: the SHA-256 of the canonical JSON of what was submitted.

Bid content stays sealed in the data layer (``procurement/models/bids.py``): this module reads it only for
the bidding consortium, through ``BidContent.objects.of_own_bid`` and ``BidDocument.objects.of_own_bid``.
"""

import hashlib
import json
import os
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation

import filetype
from django.conf import settings
from django.core.exceptions import SuspiciousFileOperation
from django.db import transaction
from django.utils import formats, timezone
from django.utils.text import get_valid_filename
from django.utils.translation import gettext as _

from livinglab import audit
from livinglab.models import User

from ..errors import ProcurementError
from ..models import (
    Award,
    AwardDecision,
    Bid,
    BidContent,
    BidDocument,
    Consortium,
    Phase,
    file_sha256,
)
from ..tasks.bids import send_bid_receipt
from .lifecycle import move_phase, require_rules

# A bid carries at most this many documents.
MAX_DOCUMENTS = 20
CENT = Decimal("0.01")
# Readable names of the accepted content types, for error messages.
TYPE_NAMES = {
    "application/pdf": "PDF",
    "application/zip": "ZIP",
    "image/png": "PNG",
    "image/jpeg": "JPEG",
}


# ------------------------------------------------------------------------------------------------ dates


def moment_text(phase: Phase, moment: datetime) -> str:
    """A moment in the authority's time zone, named: “12 March 2026, 17:00 (Europe/Helsinki)”."""
    procurement = phase.procurement
    when = formats.date_format(procurement.local(moment), "j F Y, H:i")
    return f"{when} ({procurement.time_zone})"


def _require_accepting(phase: Phase, now: datetime) -> None:
    if phase.accepts_bids(now):
        return
    if phase.bid_deadline is not None and now >= phase.bid_deadline:
        raise ProcurementError(
            _("Too late: the deadline for bids in %(phase)s was %(deadline)s. Bids can no longer be changed.")
            % {"phase": phase, "deadline": moment_text(phase, phase.bid_deadline)}
        )
    raise ProcurementError(
        _("%(phase)s is “%(status)s”: it does not accept bids.")
        % {"phase": phase, "status": phase.get_status_display()}
    )


# ----------------------------------------------------------------------------------------- eligibility


@dataclass(frozen=True)
class Eligibility:
    """Whether a consortium may bid in a phase, and if not, why."""

    allowed: bool
    reason: str = ""

    def __bool__(self) -> bool:
        return self.allowed


def may_bid(consortium: Consortium, phase: Phase) -> Eligibility:
    """Phase 1 is open to every consortium; phase N>1 only to contractors of phase N-1 (a successful award
    of a final award decision of phase N-1, with its contract)."""
    if consortium.procurement_id != phase.procurement_id:
        return Eligibility(False, _("This consortium was formed for another procurement."))
    if consortium.status == Consortium.Status.DISSOLVED:
        return Eligibility(False, _("This consortium is dissolved."))
    if phase.number == 1:
        return Eligibility(True)
    previous = phase.number - 1
    won = Award.objects.filter(
        successful=True,
        bid__consortium=consortium,
        decision__phase__procurement_id=phase.procurement_id,
        decision__phase__number=previous,
    )
    if won.filter(decision__status=AwardDecision.Status.FINAL, contract__isnull=False).exists():
        return Eligibility(True)
    if won.filter(decision__status=AwardDecision.Status.STANDSTILL).exists():
        return Eligibility(
            False,
            _(
                "Only contractors of phase %(previous)s may bid in phase %(number)s, and the award of phase "
                "%(previous)s is not final yet (standstill period)."
            )
            % {"previous": previous, "number": phase.number},
        )
    return Eligibility(
        False,
        _(
            "Only contractors of phase %(previous)s may bid in phase %(number)s: %(consortium)s holds no "
            "contract of phase %(previous)s."
        )
        % {"previous": previous, "number": phase.number, "consortium": consortium.name},
    )


# ------------------------------------------------------------------------------------------- documents


def check_bid_document(upload) -> tuple[str, str]:
    """Refuse a document that is empty, too large, or whose content is not an accepted type; return a safe
    file name and the content type found in the file (its name and declared type are not trusted)."""
    shown = os.path.basename((upload.name or "").replace("\\", "/"))[:150] or _("(unnamed file)")
    size = upload.size or 0
    if size == 0:
        raise ProcurementError(_("“%(name)s” is empty.") % {"name": shown})
    if size > settings.BID_DOCUMENT_MAX_BYTES:
        raise ProcurementError(
            _("“%(name)s” is too large (%(size)s); a bid document may be at most %(max)s.")
            % {
                "name": shown,
                "size": formats.number_format(size / 1024 / 1024, 1) + " MB",
                "max": formats.number_format(settings.BID_DOCUMENT_MAX_BYTES / 1024 / 1024, 1) + " MB",
            }
        )
    upload.seek(0)
    kind = filetype.guess(upload.read(8192))
    upload.seek(0)
    if kind is None or kind.mime not in settings.BID_DOCUMENT_TYPES:
        accepted = ", ".join(TYPE_NAMES.get(t, t) for t in settings.BID_DOCUMENT_TYPES)
        raise ProcurementError(
            _("“%(name)s” is not an accepted file type (%(accepted)s), whatever its name says.")
            % {"name": shown, "accepted": accepted}
        )
    stem = os.path.splitext(shown)[0][:100]
    try:
        stem = get_valid_filename(stem)
    except SuspiciousFileOperation:
        stem = "document"
    return f"{stem}.{kind.extension}", kind.mime


# ----------------------------------------------------------------------------------------------- drafts


def _lead_of(bid_or_consortium) -> tuple[Consortium, object]:
    consortium = getattr(bid_or_consortium, "consortium", bid_or_consortium)
    return consortium, consortium.lead


def _require_lead(user: User, consortium: Consortium) -> None:
    if not user.has_perm("procurement.submit_bid", consortium):
        raise ProcurementError(_("Only the consortium's lead organisation prepares and submits its bid."))


def live_bid(phase: Phase, consortium: Consortium) -> Bid | None:
    """The consortium's draft or submitted bid in ``phase``."""
    return Bid.objects.filter(
        phase=phase, consortium=consortium, status__in=[Bid.Status.DRAFT, Bid.Status.SUBMITTED]
    ).first()


def last_withdrawn_bid(phase: Phase, consortium: Consortium) -> Bid | None:
    return (
        Bid.objects.filter(phase=phase, consortium=consortium, status=Bid.Status.WITHDRAWN)
        .order_by("-withdrawn_at", "-pk")
        .first()
    )


def _clean_answers(phase: Phase, answers: dict) -> dict[str, str]:
    criteria = {str(c.pk) for c in phase.criteria.all() if not c.is_price}
    return {
        str(key): str(text).strip()
        for key, text in (answers or {}).items()
        if str(key) in criteria and str(text).strip()
    }


def _clean_price(price) -> Decimal | None:
    if price in (None, ""):
        return None
    try:
        price = Decimal(str(price)).quantize(CENT)
    except InvalidOperation:
        raise ProcurementError(_("Give the price in euros, for example 120000.00.")) from None
    if price < 0:
        raise ProcurementError(_("The price cannot be negative."))
    return price


@transaction.atomic
def save_bid_draft(
    phase: Phase,
    consortium: Consortium,
    *,
    summary: str,
    price,
    answers: dict,
    documents=(),
    remove_documents=(),
    acting_user: User,
) -> Bid:
    """Create or update the consortium's draft bid for ``phase`` (answers by criterion id, price in EUR,
    summary, new documents to add and document ids to remove)."""
    _require_lead(acting_user, consortium)
    require_rules(acting_user, phase.procurement, consortium.lead)
    # Serialise the consortium's bid changes (one live bid per consortium and phase).
    consortium = (
        Consortium.objects.select_for_update(no_key=True, of=("self",))
        .select_related("lead")
        .get(pk=consortium.pk)
    )
    _require_accepting(phase, timezone.now())
    eligibility = may_bid(consortium, phase)
    if not eligibility:
        raise ProcurementError(eligibility.reason)
    price = _clean_price(price)
    answers = _clean_answers(phase, answers)
    checked = [(upload, *check_bid_document(upload)) for upload in documents]
    bid = live_bid(phase, consortium)
    created = bid is None
    if bid is not None and bid.status == Bid.Status.SUBMITTED:
        raise ProcurementError(
            _("This bid was submitted; withdraw it first to prepare a new one (before the deadline).")
        )
    if created:
        previous = last_withdrawn_bid(phase, consortium)
        bid = Bid.objects.create(
            phase=phase, consortium=consortium, status=Bid.Status.DRAFT, created_by=acting_user
        )
        BidContent.objects.create(bid=bid, summary=summary.strip(), price=price, answers=answers)
        if previous is not None:
            # Start again from the withdrawn bid's documents: same stored files, same hashes.
            BidDocument.objects.bulk_create(
                BidDocument(
                    bid=bid,
                    file=d.file.name,
                    name=d.name,
                    content_type=d.content_type,
                    size=d.size,
                    sha256=d.sha256,
                )
                for d in BidDocument.objects.of_own_bid(previous, consortium.lead)
            )
    else:
        BidContent.objects.of_own_bid(bid, consortium.lead).update(
            summary=summary.strip(), price=price, answers=answers
        )
    own_documents = BidDocument.objects.of_own_bid(bid, consortium.lead)
    removed = own_documents.filter(pk__in=[int(pk) for pk in remove_documents]).delete()[0]
    if own_documents.count() + len(checked) > MAX_DOCUMENTS:
        raise ProcurementError(_("A bid can carry at most %(max)s documents.") % {"max": MAX_DOCUMENTS})
    added = []
    for upload, name, content_type in checked:
        upload.seek(0)
        document = BidDocument(
            bid=bid, name=name, content_type=content_type, size=upload.size, sha256=file_sha256(upload)
        )
        upload.seek(0)
        document.file.save(name, upload, save=False)
        document.save()
        added.append(document.pk)
    audit.record(
        "procurement.bid.save_draft",
        actor=acting_user,
        obj=bid,
        organisation=consortium.lead,
        data={
            "phase": phase.pk,
            "created": created,
            "documents_added": added,
            "documents_removed": removed,
        },
    )
    return bid


# --------------------------------------------------------------------------------------------- receipts


def canonical_receipt(bid: Bid, content: BidContent, documents) -> bytes:
    """The canonical JSON a receipt hashes: content, documents' names and hashes, phase, consortium, time."""
    payload = {
        "phase": bid.phase.ocid,
        "consortium": bid.consortium_id,
        "submitted_at": bid.submitted_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
        "summary": content.summary,
        "price": None if content.price is None else str(Decimal(content.price).quantize(CENT)),
        "answers": {str(k): v for k, v in sorted(content.answers.items(), key=lambda kv: int(kv[0]))},
        "documents": sorted(
            ({"name": d.name, "sha256": d.sha256} for d in documents), key=lambda d: (d["name"], d["sha256"])
        ),
    }
    return json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode("utf-8")


def receipt_sha256(bid: Bid, content: BidContent, documents) -> str:
    return hashlib.sha256(canonical_receipt(bid, content, documents)).hexdigest()


def verify_receipt(bid: Bid, organisation) -> bool:
    """Recompute a submitted bid's receipt from its stored content (for a member of its consortium)."""
    content = BidContent.objects.of_own_bid(bid, organisation).first()
    if content is None or not bid.receipt_sha256 or bid.submitted_at is None:
        return False
    documents = list(BidDocument.objects.of_own_bid(bid, organisation))
    return receipt_sha256(bid, content, documents) == bid.receipt_sha256


# ------------------------------------------------------------------------------------ submit and withdraw


def missing_parts(phase: Phase, content: BidContent | None) -> list[str]:
    """What a bid still lacks before it can be submitted, in words."""
    if content is None:
        return [_("the whole bid")]
    missing = []
    if not content.summary.strip():
        missing.append(_("the summary"))
    for criterion in phase.criteria.all():
        if criterion.is_price:
            if content.price is None:
                missing.append(_("the price (criterion “%(name)s”)") % {"name": criterion.name})
        elif not content.answer_for(criterion).strip():
            missing.append(_("the answer to “%(name)s”") % {"name": criterion.name})
    return missing


@transaction.atomic
def submit_bid(bid: Bid, *, acting_user: User) -> Bid:
    """Submit the draft before the deadline; store the receipt hash and e-mail the receipt."""
    consortium, lead = _lead_of(Bid.objects.select_related("consortium__lead").get(pk=bid.pk))
    _require_lead(acting_user, consortium)
    require_rules(acting_user, bid.phase.procurement, lead)
    # The bid row lock makes a double or concurrent submission produce exactly one submission.
    bid = (
        Bid.objects.select_for_update(no_key=True, of=("self",))
        .select_related("phase__procurement", "consortium__lead")
        .get(pk=bid.pk)
    )
    if bid.status == Bid.Status.SUBMITTED:
        raise ProcurementError(
            _("This bid was already submitted on %(when)s.")
            % {"when": moment_text(bid.phase, bid.submitted_at)}
        )
    if bid.status != Bid.Status.DRAFT:
        raise ProcurementError(_("This bid was withdrawn; prepare a new one to bid again."))
    phase = bid.phase
    now = timezone.now()
    _require_accepting(phase, now)
    eligibility = may_bid(bid.consortium, phase)
    if not eligibility:
        raise ProcurementError(eligibility.reason)
    if bid.consortium.status != Consortium.Status.FORMED:
        raise ProcurementError(
            _(
                "The consortium is not formed yet: every invited partner must answer and accept the current "
                "agreement before the bid can be submitted."
            )
        )
    content = BidContent.objects.of_own_bid(bid, lead).first()
    missing = missing_parts(phase, content)
    if missing:
        raise ProcurementError(
            _("The bid cannot be submitted yet; it lacks %(missing)s.") % {"missing": ", ".join(missing)}
        )
    documents = list(BidDocument.objects.of_own_bid(bid, lead))
    bid.submitted_at = now
    receipt = receipt_sha256(bid, content, documents)
    if not Bid.objects.filter(pk=bid.pk, status=Bid.Status.DRAFT).update(
        status=Bid.Status.SUBMITTED, submitted_at=now, submitted_by=acting_user, receipt_sha256=receipt
    ):
        raise ProcurementError(_("Someone else changed this bid at the same moment; please try again."))
    bid.refresh_from_db()
    send_bid_receipt.delay_on_commit(bid.pk)
    audit.record(
        "procurement.bid.submit",
        actor=acting_user,
        obj=bid,
        organisation=lead,
        data={"phase": phase.pk, "receipt_sha256": receipt, "documents": len(documents)},
    )
    return bid


@transaction.atomic
def withdraw_bid(bid: Bid, *, acting_user: User) -> Bid:
    """Withdraw a submitted bid (or discard a draft) before the deadline; a new draft may follow."""
    consortium, lead = _lead_of(Bid.objects.select_related("consortium__lead").get(pk=bid.pk))
    _require_lead(acting_user, consortium)
    require_rules(acting_user, bid.phase.procurement, lead)
    bid = (
        Bid.objects.select_for_update(no_key=True, of=("self",))
        .select_related("phase__procurement", "consortium")
        .get(pk=bid.pk)
    )
    if bid.status == Bid.Status.WITHDRAWN:
        raise ProcurementError(_("This bid is already withdrawn."))
    _require_accepting(bid.phase, timezone.now())
    previous = bid.status
    now = timezone.now()
    if not Bid.objects.filter(pk=bid.pk, status=previous).update(
        status=Bid.Status.WITHDRAWN, withdrawn_at=now
    ):
        raise ProcurementError(_("Someone else changed this bid at the same moment; please try again."))
    bid.refresh_from_db()
    audit.record(
        "procurement.bid.withdraw",
        actor=acting_user,
        obj=bid,
        organisation=lead,
        data={"phase": bid.phase_id, "from": previous},
    )
    return bid


# ------------------------------------------------------------------------------------- closing phases


def close_phase_for_bids(phase: Phase, *, now: datetime | None = None) -> bool:
    """Move an open phase whose bid deadline has passed to evaluation; False when there is nothing to do."""
    now = now or timezone.now()
    with transaction.atomic():
        current = Phase.objects.select_related("procurement__buyer").filter(pk=phase.pk).first()
        if current is None or current.status != Phase.Status.OPEN:
            return False
        if current.bid_deadline is None or now < current.bid_deadline:
            return False
        try:
            move_phase(current, Phase.Status.EVALUATION, acting_user=None)
        except ProcurementError:
            # Closed (or cancelled) at the same moment by someone else: nothing left to do.
            transaction.set_rollback(True)
            return False
    return True


def close_due_phases(now: datetime | None = None) -> int:
    """Close every open phase whose bid deadline has passed; each in its own transaction. Idempotent."""
    now = now or timezone.now()
    due = Phase.objects.filter(status=Phase.Status.OPEN, bid_deadline__lte=now).order_by("pk")
    return sum(close_phase_for_bids(phase, now=now) for phase in due)
