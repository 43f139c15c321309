"""The challenge and its structured, phased call: drafting it (phases, award criteria, risk-benefit sharing
terms), checking that it is complete, publishing it, opening the next phases, cancelling, and the documents
generated from the structured call (call document, consultation notice and summary report) as PDFs.

Key dates are aware datetimes; forms turn what the authority types in its own time zone into them, and every
message shows them back in that zone, with its name."""

import hashlib
import uuid
from datetime import datetime
from decimal import ROUND_DOWN, Decimal

from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.db.models import Max, Sum
from django.utils import formats, timezone
from django.utils.text import capfirst, slugify
from django.utils.translation import gettext as _

from livinglab import audit
from livinglab.models import GroundRulesVersion, Organisation, User
from livinglab.pdf import render_pdf

from ..errors import ProcurementError
from ..models import DEFAULT_PHASES, AwardCriterion, CallDocument, Phase, Procurement
from ..rules import is_procurer_anywhere
from ..tasks.calls import render_procurement_document
from .lifecycle import move_phase, move_procurement, require_rules

Status = Procurement.Status
Kind = CallDocument.Kind

# First path segments under /procurement/ that other pages use: no procurement may take them as its slug.
RESERVED_SLUGS = {"new", "documents", "ocds", "consortia", "bids", "evaluation", "contracts", "registers"}
# What the authority describes, and the risk-benefit sharing terms of the call.
CHALLENGE_FIELDS = (
    "title",
    "challenge",
    "needs",
    "expected_outcome",
    "budget",
    "currency",
    "time_zone",
    "specifications",
)
TERMS_FIELDS = ("ipr_terms", "usage_rights", "licensing_rights", "price_terms", "commercial_volumes_note")
PHASE_FIELDS = (
    "title",
    "description",
    "budget",
    "max_contractors",
    "duration_months",
    "deliverables",
    "question_deadline",
    "bid_deadline",
    "pass_mark",
    "standstill_days",
)
CRITERION_FIELDS = ("name", "description", "weight", "max_score", "threshold", "is_price", "position")
MAX_PHASES = 9
CENT = Decimal("0.01")


class CallIncomplete(ProcurementError):
    """The call cannot be published yet; ``problems`` lists everything still missing."""

    def __init__(self, message, problems):
        super().__init__(message)
        self.problems = list(problems)


# --------------------------------------------------------------------------------------------- helpers


def money(amount: Decimal, currency: str) -> str:
    return f"{formats.number_format(amount, 2, force_grouping=True)} {currency}"


def percent(value: Decimal) -> str:
    """A weight without trailing zeros: 60, 12.5."""
    return format(value.normalize(), "f")


def when(procurement: Procurement, moment: datetime | None) -> str:
    """``moment`` in the authority's time zone, with the zone's name: “15 January 2030, 17:00
    (Europe/Helsinki)”."""
    if moment is None:
        return _("not set")
    local = formats.date_format(procurement.local(moment), "j F Y, H:i")
    return f"{local} ({procurement.time_zone})"


def _require_manager(user: User, procurement: Procurement) -> None:
    if not user.has_perm("procurement.manage_procurement", procurement):
        raise ProcurementError(
            _("Only the procurers of %(buyer)s can change this procurement.") % {"buyer": procurement.buyer}
        )


def _require_editable(procurement: Procurement) -> None:
    if not procurement.is_editable:
        raise ProcurementError(
            _(
                "This procurement is “%(status)s”: its call is published, so its challenge, phases, award "
                "criteria and terms can no longer change."
            )
            % {"status": procurement.get_status_display()}
        )


def _locked(procurement: Procurement) -> Procurement:
    return Procurement.objects.select_for_update(no_key=True).get(pk=procurement.pk)


def _clean(obj, *, exclude=()) -> None:
    """Run the model's field validation and turn its errors into one refusal naming the fields."""
    try:
        obj.full_clean(exclude=list(exclude), validate_unique=False, validate_constraints=False)
    except ValidationError as error:
        parts = []
        for field, messages in error.message_dict.items():
            label = "" if field == NON_FIELD_ERRORS else capfirst(obj._meta.get_field(field).verbose_name)
            parts.extend(f"{label}: {message}" if label else message for message in messages)
        raise ProcurementError(" ".join(parts)) from None


def unique_slug(title: str, *, exclude_pk=None) -> str:
    """A web address from the title, never one of the fixed words of /procurement/ nor another one's."""
    base = slugify(title)[:70].strip("-") or "procurement"
    taken = set(
        Procurement.objects.filter(slug__startswith=base)
        .exclude(pk=exclude_pk)
        .values_list("slug", flat=True)
    )
    slug, n = base, 1
    while slug in taken or slug in RESERVED_SLUGS:
        n += 1
        slug = f"{base}-{n}"
    return slug


def _check_intermediaries(intermediaries) -> list[Organisation]:
    intermediaries = list(intermediaries or [])
    wrong = [o.name for o in intermediaries if o.kind != Organisation.Kind.CLUSTER]
    if wrong:
        raise ProcurementError(
            _("Only cluster organisations can act as intermediaries; these are not: %(names)s.")
            % {"names": ", ".join(wrong)}
        )
    return intermediaries


def _check_challenge(procurement: Procurement) -> None:
    _clean(procurement, exclude=["buyer", "slug", "channel", "created_by", "status"])
    if procurement.budget <= 0:
        raise ProcurementError(_("The budget envelope must be more than zero."))
    if not (len(procurement.currency) == 3 and procurement.currency.isalpha()):
        raise ProcurementError(_("Give the currency as its three-letter code, such as EUR."))
    procurement.currency = procurement.currency.upper()


# ------------------------------------------------------------------------------------------- challenge


@transaction.atomic
def create_procurement(
    *,
    buyer: Organisation,
    title: str,
    challenge: str,
    needs: str,
    expected_outcome: str,
    budget: Decimal,
    currency: str = "EUR",
    time_zone: str = "Europe/Brussels",
    specifications: str = "",
    intermediaries=(),
    acting_user: User,
) -> Procurement:
    """Describe a public authority's societal challenge as a draft procurement with the default EU PCP
    phases (solution design, prototypes, first products), their budgets shared out of the envelope."""
    if buyer.kind != Organisation.Kind.PUBLIC_AUTHORITY:
        raise ProcurementError(
            _("%(organisation)s is not a public authority: only public authorities procure.")
            % {"organisation": buyer}
        )
    if not (is_procurer_anywhere(acting_user, buyer) or acting_user.is_superuser):
        raise ProcurementError(
            _("Only the procurers of %(buyer)s can start a procurement for it.") % {"buyer": buyer}
        )
    intermediaries = _check_intermediaries(intermediaries)
    procurement = Procurement(
        buyer=buyer,
        title=title.strip(),
        challenge=challenge,
        needs=needs,
        expected_outcome=expected_outcome,
        budget=budget,
        currency=currency,
        time_zone=time_zone,
        specifications=specifications,
        status=Status.DRAFT,
        created_by=acting_user,
    )
    _check_challenge(procurement)
    procurement.slug = unique_slug(procurement.title)
    procurement.save()
    procurement.intermediaries.set(intermediaries)
    # Each phase gets its share of the envelope, rounded down to the cent; the last one takes the rest so
    # that the phases add up to the envelope exactly.
    allotted = Decimal("0")
    for index, spec in enumerate(DEFAULT_PHASES):
        last = index == len(DEFAULT_PHASES) - 1
        share = (budget - allotted) if last else (budget * spec["share"]).quantize(CENT, rounding=ROUND_DOWN)
        allotted += share
        Phase.objects.create(
            procurement=procurement,
            number=spec["number"],
            title=str(spec["title"]),
            budget=share,
            max_contractors=spec["max_contractors"],
            duration_months=spec["duration_months"],
            deliverables=str(spec["deliverables"]),
        )
    audit.record(
        "procurement.procurement.create",
        actor=acting_user,
        obj=procurement,
        organisation=buyer,
        data={
            "budget": str(procurement.budget),
            "currency": procurement.currency,
            "intermediaries": sorted(o.pk for o in intermediaries),
            "phases": len(DEFAULT_PHASES),
        },
    )
    return procurement


@transaction.atomic
def update_procurement(
    procurement: Procurement, changes: dict, *, intermediaries=None, acting_user: User
) -> Procurement:
    """Change the challenge, the specifications or the risk-benefit sharing terms while the call is not
    published."""
    _require_manager(acting_user, procurement)
    procurement = _locked(procurement)
    _require_editable(procurement)
    unknown = set(changes) - set(CHALLENGE_FIELDS) - set(TERMS_FIELDS)
    if unknown:
        raise ProcurementError(
            _("These fields cannot be changed here: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}
        )
    changed = sorted(name for name, value in changes.items() if getattr(procurement, name) != value)
    for name, value in changes.items():
        setattr(procurement, name, value)
    _check_challenge(procurement)
    for name in TERMS_FIELDS:
        if not getattr(procurement, name).strip():
            raise ProcurementError(
                _("The risk-benefit sharing terms are part of every PCP call: “%(term)s” cannot be empty.")
                % {"term": capfirst(Procurement._meta.get_field(name).verbose_name)}
            )
    phases_total = procurement.phases.aggregate(total=Sum("budget"))["total"] or Decimal("0")
    if phases_total > procurement.budget:
        raise ProcurementError(
            _(
                "The phases already share %(phases)s: the envelope cannot be smaller. Lower the phase "
                "budgets first."
            )
            % {"phases": money(phases_total, procurement.currency)}
        )
    procurement.save()
    if intermediaries is not None:
        intermediaries = _check_intermediaries(intermediaries)
        before = set(procurement.intermediaries.values_list("pk", flat=True))
        if before != {o.pk for o in intermediaries}:
            changed.append("intermediaries")
        procurement.intermediaries.set(intermediaries)
    changed.sort()
    audit.record(
        "procurement.procurement.update",
        actor=acting_user,
        obj=procurement,
        organisation=procurement.buyer,
        data={"fields": changed},
    )
    return procurement


# ---------------------------------------------------------------------------------------------- phases


def _check_deadlines(procurement: Procurement, phase: Phase, previous: dict, now: datetime) -> None:
    labels = {
        "question_deadline": _("deadline for questions"),
        "bid_deadline": _("deadline for bids"),
    }
    for field, label in labels.items():
        value = getattr(phase, field)
        if value is not None and value != previous.get(field) and value <= now:
            raise ProcurementError(
                _("The %(deadline)s of %(phase)s, %(when)s, is not in the future.")
                % {"deadline": label, "phase": phase, "when": when(procurement, value)}
            )
    if phase.question_deadline and phase.bid_deadline and phase.question_deadline > phase.bid_deadline:
        raise ProcurementError(
            _(
                "In %(phase)s questions would close (%(questions)s) after bids are due (%(bids)s): the "
                "deadline for questions must come first."
            )
            % {
                "phase": phase,
                "questions": when(procurement, phase.question_deadline),
                "bids": when(procurement, phase.bid_deadline),
            }
        )


def _check_phase(procurement: Procurement, phase: Phase, previous: dict) -> None:
    _clean(phase, exclude=["procurement", "number", "status", "opened_at", "field_test"])
    others = Phase.objects.filter(procurement=procurement).exclude(pk=phase.pk).aggregate(
        total=Sum("budget")
    )["total"] or Decimal("0")
    if others + phase.budget > procurement.budget:
        raise ProcurementError(
            _(
                "The phases would share %(total)s, more than the budget envelope of %(envelope)s. Lower a "
                "phase budget or raise the envelope."
            )
            % {
                "total": money(others + phase.budget, procurement.currency),
                "envelope": money(procurement.budget, procurement.currency),
            }
        )
    _check_deadlines(procurement, phase, previous, timezone.now())


@transaction.atomic
def save_phase(phase: Phase, changes: dict, *, acting_user: User) -> Phase:
    """Change a phase of a call not yet published: budget, contractors, duration, deliverables, deadlines,
    pass mark and standstill period."""
    _require_manager(acting_user, phase.procurement)
    procurement = _locked(phase.procurement)
    _require_editable(procurement)
    phase = Phase.objects.select_for_update(no_key=True).get(pk=phase.pk, procurement=procurement)
    unknown = set(changes) - set(PHASE_FIELDS)
    if unknown:
        raise ProcurementError(
            _("These fields cannot be changed here: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}
        )
    previous = {name: getattr(phase, name) for name in PHASE_FIELDS}
    for name, value in changes.items():
        setattr(phase, name, value)
    phase.procurement = procurement
    _check_phase(procurement, phase, previous)
    phase.save()
    audit.record(
        "procurement.phase.update",
        actor=acting_user,
        obj=phase,
        organisation=procurement.buyer,
        data={
            "procurement": procurement.pk,
            "fields": sorted(name for name in changes if previous[name] != getattr(phase, name)),
        },
    )
    return phase


@transaction.atomic
def add_phase(procurement: Procurement, data: dict, *, acting_user: User) -> Phase:
    """Add a phase after the last one of a call not yet published."""
    _require_manager(acting_user, procurement)
    procurement = _locked(procurement)
    _require_editable(procurement)
    unknown = set(data) - set(PHASE_FIELDS)
    if unknown:
        raise ProcurementError(
            _("These fields cannot be set here: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}
        )
    number = (procurement.phases.aggregate(last=Max("number"))["last"] or 0) + 1
    if number > MAX_PHASES:
        raise ProcurementError(_("A call has at most %(n)s phases.") % {"n": MAX_PHASES})
    phase = Phase(procurement=procurement, number=number, **data)
    _check_phase(procurement, phase, {})
    phase.save()
    audit.record(
        "procurement.phase.create",
        actor=acting_user,
        obj=phase,
        organisation=procurement.buyer,
        data={"procurement": procurement.pk, "number": number, "budget": str(phase.budget)},
    )
    return phase


@transaction.atomic
def remove_phase(phase: Phase, *, acting_user: User) -> None:
    """Remove a phase (and its criteria) from a call not yet published; later phases move up one number."""
    _require_manager(acting_user, phase.procurement)
    procurement = _locked(phase.procurement)
    _require_editable(procurement)
    phases = list(
        Phase.objects.select_for_update(no_key=True).filter(procurement=procurement).order_by("number")
    )
    if len(phases) == 1:
        raise ProcurementError(_("A call needs at least one phase: change this one instead of removing it."))
    target = next((p for p in phases if p.pk == phase.pk), None)
    if target is None:
        raise ProcurementError(_("This phase was removed already."))
    target.delete()
    for later in phases:
        if later.number > target.number:
            Phase.objects.filter(pk=later.pk).update(number=later.number - 1)
    audit.record(
        "procurement.phase.delete",
        actor=acting_user,
        obj=procurement,
        organisation=procurement.buyer,
        data={"phase": phase.pk, "number": target.number},
    )


# ------------------------------------------------------------------------------------------- criteria


@transaction.atomic
def save_criterion(
    phase: Phase, data: dict, *, criterion: AwardCriterion | None = None, acting_user: User
) -> AwardCriterion:
    """Add or change an award criterion of a phase: its weight in the total and the minimum score it needs.
    The weights of a phase must add up to 100 % before the call is published."""
    _require_manager(acting_user, phase.procurement)
    procurement = _locked(phase.procurement)
    _require_editable(procurement)
    unknown = set(data) - set(CRITERION_FIELDS)
    if unknown:
        raise ProcurementError(
            _("These fields cannot be set here: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}
        )
    creating = criterion is None
    if creating:
        criterion = AwardCriterion(phase=phase)
        if data.get("position") is None:
            last = phase.criteria.aggregate(last=Max("position"))["last"]
            data = {**data, "position": 0 if last is None else last + 1}
    else:
        criterion = AwardCriterion.objects.select_for_update(no_key=True).get(pk=criterion.pk)
        if criterion.phase_id != phase.pk:
            raise ProcurementError(_("This criterion belongs to another phase."))
    for name, value in data.items():
        if value is not None:
            setattr(criterion, name, value)
    _clean(criterion, exclude=["phase"])
    if criterion.threshold > criterion.max_score:
        raise ProcurementError(
            _("The minimum score (%(threshold)s) cannot be above the highest score (%(max)s).")
            % {"threshold": criterion.threshold, "max": criterion.max_score}
        )
    if criterion.is_price and phase.criteria.filter(is_price=True).exclude(pk=criterion.pk).exists():
        raise ProcurementError(
            _("%(phase)s already has a price criterion: a phase scores price once.") % {"phase": phase}
        )
    criterion.save()
    audit.record(
        "procurement.awardcriterion.create" if creating else "procurement.awardcriterion.update",
        actor=acting_user,
        obj=criterion,
        organisation=procurement.buyer,
        data={
            "phase": phase.pk,
            "weight": str(criterion.weight),
            "max_score": criterion.max_score,
            "threshold": str(criterion.threshold),
        },
    )
    return criterion


@transaction.atomic
def remove_criterion(criterion: AwardCriterion, *, acting_user: User) -> None:
    """Remove an award criterion from a phase of a call not yet published."""
    procurement = criterion.phase.procurement
    _require_manager(acting_user, procurement)
    procurement = _locked(procurement)
    _require_editable(procurement)
    deleted, _detail = AwardCriterion.objects.filter(pk=criterion.pk).delete()
    if not deleted:
        raise ProcurementError(_("This criterion was removed already."))
    audit.record(
        "procurement.awardcriterion.delete",
        actor=acting_user,
        obj=criterion.phase,
        organisation=procurement.buyer,
        data={"criterion": criterion.pk, "name": criterion.name},
    )


# ----------------------------------------------------------------------------------------- publication


def call_problems(procurement: Procurement, now: datetime | None = None) -> list[str]:
    """Everything that keeps the call from being published, in plain words; empty when it is complete."""
    now = now or timezone.now()
    problems = []
    for name in ("specifications", *TERMS_FIELDS):
        if not getattr(procurement, name).strip():
            problems.append(
                _("“%(field)s” is empty.")
                % {"field": capfirst(Procurement._meta.get_field(name).verbose_name)}
            )
    if procurement.status == Status.CONSULTATION and procurement.consultation_summary_published_at is None:
        problems.append(
            _("Publish the summary report of the market consultation first: the call builds on its outcome.")
        )
    phases = list(procurement.phases.prefetch_related("criteria").order_by("number"))
    if not phases:
        problems.append(_("The call has no phase."))
        return problems
    total = sum((p.budget for p in phases), Decimal("0"))
    if total > procurement.budget:
        problems.append(
            _("The phases share %(total)s, more than the budget envelope of %(envelope)s.")
            % {
                "total": money(total, procurement.currency),
                "envelope": money(procurement.budget, procurement.currency),
            }
        )
    for phase in phases:
        if phase.budget <= 0:
            problems.append(_("%(phase)s has no budget.") % {"phase": phase})
        criteria = list(phase.criteria.all())
        if not criteria:
            problems.append(_("%(phase)s has no award criteria.") % {"phase": phase})
            continue
        weight = sum((c.weight for c in criteria), Decimal("0"))
        if weight != 100:
            problems.append(
                _("The weights of the award criteria of %(phase)s add up to %(total)s %%, not 100 %%.")
                % {"phase": phase, "total": percent(weight)}
            )
    first = phases[0]
    if first.question_deadline is None or first.bid_deadline is None:
        problems.append(_("Set the deadlines for questions and for bids of %(phase)s.") % {"phase": first})
    else:
        for moment, label in (
            (first.question_deadline, _("deadline for questions")),
            (first.bid_deadline, _("deadline for bids")),
        ):
            if moment <= now:
                problems.append(
                    _("The %(deadline)s of %(phase)s, %(when)s, has passed: set a new one.")
                    % {"deadline": label, "phase": first, "when": when(procurement, moment)}
                )
        if first.question_deadline > first.bid_deadline:
            problems.append(
                _("In %(phase)s the deadline for questions comes after the deadline for bids.")
                % {"phase": first}
            )
    return problems


def _next_version(procurement: Procurement, kind: str) -> int:
    last = CallDocument.objects.filter(procurement=procurement, kind=kind).aggregate(last=Max("version"))[
        "last"
    ]
    return (last or 0) + 1


def _enqueue_document(procurement: Procurement, kind: str, acting_user: User | None) -> None:
    """Have the next version of a document rendered after the commit. The version number is taken when
    the document is stored, so that two requests in one transaction make two versions."""
    render_procurement_document.delay_on_commit(
        procurement.pk, str(kind), str(uuid.uuid4()), getattr(acting_user, "pk", None)
    )


@transaction.atomic
def publish_call(procurement: Procurement, *, acting_user: User) -> Procurement:
    """Publish the structured call and open phase 1 for questions and bids; the call document is generated
    right after. Refused with the list of what is missing while the call is incomplete."""
    _require_manager(acting_user, procurement)
    require_rules(acting_user, procurement, procurement.buyer)
    procurement = _locked(procurement)
    if procurement.status not in (Status.DRAFT, Status.CONSULTATION):
        raise ProcurementError(
            _("This procurement is “%(status)s”: its call cannot be published (again).")
            % {"status": procurement.get_status_display()}
        )
    now = timezone.now()
    problems = call_problems(procurement, now)
    if problems:
        raise CallIncomplete(
            _("The call cannot be published yet: %(problems)s") % {"problems": " ".join(problems)}, problems
        )
    first = procurement.phases.select_for_update(no_key=True).get(number=1)
    move_procurement(procurement, Status.CALL, acting_user=acting_user, published_at=now)
    move_phase(first, Phase.Status.OPEN, acting_user=acting_user, opened_at=now)
    _enqueue_document(procurement, Kind.CALL, acting_user)
    audit.record(
        "procurement.call.publish",
        actor=acting_user,
        obj=procurement,
        organisation=procurement.buyer,
        data={
            "phase": first.pk,
            "question_deadline": first.question_deadline.isoformat(),
            "bid_deadline": first.bid_deadline.isoformat(),
        },
    )
    return procurement


@transaction.atomic
def open_next_phase(
    phase: Phase, *, question_deadline: datetime, bid_deadline: datetime, acting_user: User
) -> Phase:
    """Open a planned phase for questions and bids, with its deadlines, once the phase before it is awarded.
    The call document gets a new version with the new dates."""
    procurement = phase.procurement
    _require_manager(acting_user, procurement)
    require_rules(acting_user, procurement, procurement.buyer)
    procurement = _locked(procurement)
    if procurement.status != Status.CALL:
        raise ProcurementError(
            _("This procurement is “%(status)s”: no phase can open.")
            % {"status": procurement.get_status_display()}
        )
    phase = Phase.objects.select_for_update(no_key=True).get(pk=phase.pk, procurement=procurement)
    if phase.status != Phase.Status.PLANNED:
        raise ProcurementError(
            _("%(phase)s is “%(status)s”: only a planned phase can open.")
            % {"phase": phase, "status": phase.get_status_display()}
        )
    previous = Phase.objects.filter(procurement=procurement, number=phase.number - 1).first()
    if previous is not None and previous.status not in (Phase.Status.AWARDED, Phase.Status.COMPLETED):
        raise ProcurementError(
            _(
                "%(previous)s is “%(status)s”: %(phase)s opens only once the contracts of the phase before "
                "it are awarded, because only its contractors may bid."
            )
            % {"previous": previous, "status": previous.get_status_display(), "phase": phase}
        )
    if question_deadline is None or bid_deadline is None:
        raise ProcurementError(_("Give the deadline for questions and the deadline for bids."))
    phase.question_deadline, phase.bid_deadline = question_deadline, bid_deadline
    _check_deadlines(procurement, phase, {}, timezone.now())
    weight = phase.criteria.aggregate(total=Sum("weight"))["total"] or Decimal("0")
    if weight != 100:
        raise ProcurementError(
            _("The weights of the award criteria of %(phase)s add up to %(total)s %%, not 100 %%.")
            % {"phase": phase, "total": percent(weight)}
        )
    phase = move_phase(
        phase,
        Phase.Status.OPEN,
        acting_user=acting_user,
        opened_at=timezone.now(),
        question_deadline=question_deadline,
        bid_deadline=bid_deadline,
    )
    _enqueue_document(procurement, Kind.CALL, acting_user)
    audit.record(
        "procurement.phase.schedule",
        actor=acting_user,
        obj=phase,
        organisation=procurement.buyer,
        data={
            "procurement": procurement.pk,
            "question_deadline": question_deadline.isoformat(),
            "bid_deadline": bid_deadline.isoformat(),
        },
    )
    return phase


@transaction.atomic
def cancel_procurement(procurement: Procurement, *, reason: str, acting_user: User) -> Procurement:
    """Cancel the procurement and every phase that has not been awarded, with the reason."""
    _require_manager(acting_user, procurement)
    reason = (reason or "").strip()
    if not reason:
        raise ProcurementError(_("Say why the procurement is cancelled: bidders and the public are told."))
    if procurement.status != Status.DRAFT:
        require_rules(acting_user, procurement, procurement.buyer)
    procurement = _locked(procurement)
    if procurement.status in (Status.COMPLETED, Status.CANCELLED):
        raise ProcurementError(
            _("This procurement is “%(status)s” already.") % {"status": procurement.get_status_display()}
        )
    cancellable = {Phase.Status.PLANNED, Phase.Status.OPEN, Phase.Status.EVALUATION, Phase.Status.STANDSTILL}
    cancelled = []
    for phase in procurement.phases.select_for_update(no_key=True).order_by("number"):
        if phase.status in cancellable:
            move_phase(phase, Phase.Status.CANCELLED, acting_user=acting_user)
            cancelled.append(phase.number)
    move_procurement(procurement, Status.CANCELLED, acting_user=acting_user)
    audit.record(
        "procurement.procurement.cancel",
        actor=acting_user,
        obj=procurement,
        organisation=procurement.buyer,
        data={"reason": reason, "phases": cancelled},
    )
    return procurement


# ---------------------------------------------------------------------------------------------- documents

DOCUMENT_TITLES = {
    Kind.CALL: _("Call for tenders"),
    Kind.CONSULTATION_NOTICE: _("Open market consultation notice"),
    Kind.CONSULTATION_SUMMARY: _("Open market consultation: summary report"),
}


def document_context(procurement: Procurement, kind: str, version: int | None) -> dict:
    """What a generated document shows: the structured call, its key dates in the authority's time zone,
    the ground rules and the consultation's outcome."""
    from .consultation import consultation_record

    phases = list(procurement.phases.prefetch_related("criteria").order_by("number"))
    for phase in phases:
        phase.criteria_list = list(phase.criteria.all())
        phase.total_weight = sum((c.weight for c in phase.criteria_list), Decimal("0"))
    summary = (
        CallDocument.objects.filter(procurement=procurement, kind=Kind.CONSULTATION_SUMMARY)
        .order_by("-version")
        .first()
    )
    return {
        "procurement": procurement,
        "kind": str(kind),
        "document_title": DOCUMENT_TITLES.get(kind, capfirst(Kind(kind).label)),
        "version": version,
        "issued_at": timezone.now(),
        "phases": phases,
        "phases_total": sum((p.budget for p in phases), Decimal("0")),
        "intermediaries": list(procurement.intermediaries.order_by("name")),
        "ground_rules": list(GroundRulesVersion.objects.for_scope(procurement).order_by("rules__title")),
        "summary_document": summary,
        "record": consultation_record(procurement) if kind == Kind.CONSULTATION_SUMMARY else None,
    }


def render_document(
    procurement: Procurement, kind: str = Kind.CALL, version: int | None = None, *, preview: bool = False
) -> bytes:
    """The PDF of one of the procurement's generated documents (the call document by default); a preview
    of a draft says that it is not issued."""
    context = document_context(procurement, kind, version)
    context["preview"] = preview
    return render_pdf("pdf/pcp_call.html", context)


def _document_allowed(procurement: Procurement, kind: str) -> None:
    if kind == Kind.CALL and procurement.status not in (Status.CALL, Status.COMPLETED):
        raise ProcurementError(_("The call document is issued once the call is published."))
    if kind == Kind.CONSULTATION_NOTICE and procurement.status == Status.DRAFT:
        raise ProcurementError(_("The consultation notice is issued when the consultation opens."))
    if kind == Kind.CONSULTATION_SUMMARY and procurement.consultation_summary_published_at is None:
        raise ProcurementError(_("The consultation summary report is not published yet."))
    if kind not in DOCUMENT_TITLES:
        raise ProcurementError(_("Annexes are uploaded, not generated."))


def generate_document(
    procurement: Procurement,
    kind: str = Kind.CALL,
    *,
    request_key: str | None = None,
    acting_user: User | None,
) -> CallDocument:
    """Render a document from the structured call and store it, with its SHA-256, as the next version of its
    kind. With ``request_key`` (a task's), nothing is rendered again once that request was stored."""
    procurement = Procurement.objects.select_related("buyer").get(pk=procurement.pk)
    if acting_user is not None and request_key is None:
        _require_manager(acting_user, procurement)
    if request_key is not None:
        existing = CallDocument.objects.filter(request_key=request_key).first()
        if existing is not None:
            return existing
    _document_allowed(procurement, kind)
    planned = _next_version(procurement, kind)
    # Rendering takes a while: it happens before the transaction, which only stores the result.
    pdf = render_document(procurement, kind, planned)
    digest = hashlib.sha256(pdf).hexdigest()
    with transaction.atomic():
        procurement = _locked(procurement)
        if _next_version(procurement, kind) != planned:
            raise ProcurementError(
                _("Another version of this document was issued at the same moment; please try again.")
            )
        document = CallDocument(
            procurement=procurement,
            kind=kind,
            title=_("%(document)s — %(title)s (version %(version)s)")
            % {"document": DOCUMENT_TITLES[kind], "title": procurement.title, "version": planned},
            sha256=digest,
            version=planned,
            request_key=request_key,
        )
        document.file.save(f"{procurement.slug}-{kind}-v{planned}.pdf", ContentFile(pdf), save=False)
        document.save()
        audit.record(
            "procurement.calldocument.create",
            actor=acting_user,
            obj=document,
            organisation=procurement.buyer,
            data={"procurement": procurement.pk, "kind": str(kind), "version": planned, "sha256": digest},
        )
    return document
