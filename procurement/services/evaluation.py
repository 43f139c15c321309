"""Conflict-free evaluation of a phase's bids: the panel, the conflict-of-interest declarations (declared by
the evaluator, or detected from memberships and linked enterprises), individual scores, consensus scores
and the ranking that the award decision follows.

Bid existence and consortium membership are not sealed, so conflicts can be detected before the deadline;
declarations, scores and consensus need the deadline to have passed (``not phase.is_sealed()``)."""

from collections import defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from datetime import datetime
from decimal import ROUND_HALF_UP, Decimal

from django.db import transaction
from django.db.models import Count, Q
from django.utils import formats
from django.utils.translation import gettext as _

from livinglab import audit
from livinglab.models import Membership, Organisation, User
from livinglab.policy import active_memberships

from ..errors import ProcurementError
from ..models import (
    AwardCriterion,
    Bid,
    BidContent,
    ConflictDeclaration,
    ConsensusScore,
    ConsortiumMember,
    Evaluator,
    Phase,
    Procurement,
    Score,
)
from .lifecycle import require_rules

# Bids whose consortium an evaluator must be free of: drafts count too, their existence is not sealed.
LIVE_BIDS = (Bid.Status.DRAFT, Bid.Status.SUBMITTED)
# Phases whose bids may be declared on, scored and agreed (an open phase past its deadline counts, until the
# beat task moves it to evaluation).
EVALUATING = (Phase.Status.OPEN, Phase.Status.EVALUATION)
# The panel may still change while bids come in and during the evaluation.
ASSIGNABLE = (Phase.Status.PLANNED, Phase.Status.OPEN, Phase.Status.EVALUATION)
CENT = Decimal("0.01")


# ------------------------------------------------------------------------------------------ helpers


def acting_for(user: User, procurement: Procurement) -> Organisation | None:
    """The organisation an authority-side user acts for on a call: the buyer when they belong to it; an
    outside expert acts in a personal capacity (None)."""
    for membership in active_memberships(user):
        if membership.organisation_id == procurement.buyer_id:
            return membership.organisation
    return None


def local_deadline(phase: Phase) -> str:
    """The bid deadline in the authority's time zone, with the zone's name."""
    procurement = phase.procurement
    if phase.bid_deadline is None:
        return _("a deadline not yet set")
    moment = formats.date_format(procurement.local(phase.bid_deadline), "DATETIME_FORMAT")
    return f"{moment} ({procurement.time_zone})"


def sealed_message(phase: Phase) -> str:
    return _("The bids are sealed until %(deadline)s.") % {"deadline": local_deadline(phase)}


def _require_unsealed(phase: Phase) -> None:
    if phase.is_sealed():
        raise ProcurementError(sealed_message(phase))
    if phase.status not in EVALUATING:
        raise ProcurementError(
            _("%(phase)s is “%(status)s”: its bids are no longer being evaluated.")
            % {"phase": phase, "status": phase.get_status_display()}
        )


def _lock_phase(phase_id: int) -> Phase:
    """The phase row, locked: every change to a phase's panel, declarations, scores and award is serialised
    on it, so that a decision never reads a half-recorded evaluation."""
    locked = Phase.objects.select_for_update(no_key=True).get(pk=phase_id)
    locked.procurement = Procurement.objects.select_related("buyer").get(pk=locked.procurement_id)
    return locked


def _plain(value) -> str:
    return format(value.normalize(), "f") if isinstance(value, Decimal) else str(value)


# --------------------------------------------------------------------------------- detected conflicts


def detected_conflicts(user: User, phase: Phase, bid_ids: Iterable[int] | None = None) -> dict[int, str]:
    """Live bids of ``phase`` whose consortium includes an organisation ``user`` belongs to, or one linked
    to it (same linked-enterprise group): {bid id: the relationship, in words}. Read fresh from the
    database, since memberships may have begun after the evaluator was assigned."""
    memberships = list(Membership.objects.active().filter(user=user).select_related("organisation"))
    own = {m.organisation_id: m.organisation for m in memberships}
    groups: dict[int, Organisation] = {}
    for membership in memberships:
        if membership.organisation.group_id:
            groups.setdefault(membership.organisation.group_id, membership.organisation)
    if not own:
        return {}
    bids = Bid.objects.filter(phase=phase, status__in=LIVE_BIDS)
    if bid_ids is not None:
        bids = bids.filter(pk__in=list(bid_ids))
    by_consortium: dict[int, list[int]] = defaultdict(list)
    for bid_id, consortium_id in bids.values_list("pk", "consortium_id"):
        by_consortium[consortium_id].append(bid_id)
    if not by_consortium:
        return {}
    related = Q(organisation_id__in=list(own))
    if groups:
        related |= Q(organisation__group_id__in=list(groups))
    members = (
        ConsortiumMember.objects.filter(
            related, consortium_id__in=list(by_consortium), status=ConsortiumMember.Status.ACCEPTED
        )
        .select_related("organisation", "consortium")
        .order_by("consortium_id", "organisation__name")
    )
    found: dict[int, list[str]] = defaultdict(list)
    for member in members:
        organisation = member.organisation
        if organisation.pk in own:
            text = _(
                "%(person)s is a member of %(organisation)s, which bids in the consortium “%(consortium)s”."
            ) % {
                "person": user,
                "organisation": organisation.name,
                "consortium": member.consortium.name,
            }
        else:
            text = _(
                "%(person)s is a member of %(yours)s, an enterprise linked to %(organisation)s, which bids "
                "in the consortium “%(consortium)s”."
            ) % {
                "person": user,
                "yours": groups[organisation.group_id].name,
                "organisation": organisation.name,
                "consortium": member.consortium.name,
            }
        for bid_id in by_consortium[member.consortium_id]:
            found[bid_id].append(text)
    return {bid_id: " ".join(texts) for bid_id, texts in found.items()}


# ------------------------------------------------------------------------------------------- the panel


@transaction.atomic
def assign_evaluator(phase: Phase, user: User, role: str = Evaluator.Role.EVALUATOR, *, acting_user: User):
    """Put ``user`` on the phase's evaluation panel (or change their role); refused while the platform
    knows a relationship between them and a bidding organisation."""
    if not acting_user.has_perm("procurement.manage_evaluation", phase):
        raise ProcurementError(_("Only a procurer of the buying authority may appoint evaluators."))
    phase = _lock_phase(phase.pk)
    procurement = phase.procurement
    require_rules(acting_user, procurement, procurement.buyer)
    if role not in Evaluator.Role.values:
        raise ProcurementError(_("Choose the evaluator's role on the panel."))
    if phase.status not in ASSIGNABLE:
        raise ProcurementError(
            _("%(phase)s is “%(status)s”: its panel can no longer change.")
            % {"phase": phase, "status": phase.get_status_display()}
        )
    if not user.is_active:
        raise ProcurementError(_("This account is deactivated; it cannot evaluate."))
    conflicts = detected_conflicts(user, phase)
    if conflicts:
        raise ProcurementError(
            _("This person cannot evaluate this phase. %(relationship)s")
            % {"relationship": " ".join(dict.fromkeys(conflicts.values()))}
        )
    if role == Evaluator.Role.CHAIR and phase.evaluators.filter(role=role).exclude(user=user).exists():
        raise ProcurementError(_("This panel already has a chair; make them an evaluator first."))
    evaluator, created = Evaluator.objects.get_or_create(
        phase=phase, user=user, defaults={"role": role, "assigned_by": acting_user}
    )
    if not created and evaluator.role != role:
        evaluator.role = role
        evaluator.save(update_fields=["role"])
    audit.record(
        "procurement.evaluator.assign" if created else "procurement.evaluator.change_role",
        actor=acting_user,
        obj=evaluator,
        organisation=procurement.buyer,
        data={"phase": phase.pk, "user": user.pk, "role": role},
    )
    return evaluator


@transaction.atomic
def remove_evaluator(evaluator: Evaluator, *, acting_user: User) -> None:
    """Take an evaluator off the panel before they have scored anything."""
    if not acting_user.has_perm("procurement.manage_evaluation", evaluator.phase):
        raise ProcurementError(_("Only a procurer of the buying authority may change the panel."))
    phase = _lock_phase(evaluator.phase_id)
    require_rules(acting_user, phase.procurement, phase.procurement.buyer)
    if phase.status not in ASSIGNABLE:
        raise ProcurementError(_("The award has been decided: the panel can no longer change."))
    if evaluator.scores.exists():
        raise ProcurementError(_("This evaluator has already scored bids; their scores must stay on record."))
    evaluator_id, user_id = evaluator.pk, evaluator.user_id
    evaluator.delete()
    audit.record(
        "procurement.evaluator.remove",
        actor=acting_user,
        obj=phase,
        organisation=phase.procurement.buyer,
        data={"evaluator": evaluator_id, "user": user_id},
    )


# ---------------------------------------------------------------------------------------- declarations


def _own_evaluator(evaluator: Evaluator, acting_user: User) -> None:
    if evaluator.user_id != acting_user.pk:
        raise ProcurementError(_("Only the evaluator themselves can declare and score."))


@transaction.atomic
def declare_conflict(
    evaluator: Evaluator, bid: Bid, *, has_conflict: bool, relationship: str = "", acting_user: User
) -> ConflictDeclaration:
    """Record, before seeing a bid, whether the evaluator has a conflict of interest with it. A conflict —
    declared, or found by the platform at this moment — recuses them from the bid. Declaring a conflict
    after a "no conflict" is allowed until the bid's consensus is being recorded; their scores are then
    withdrawn."""
    _own_evaluator(evaluator, acting_user)
    if bid.phase_id != evaluator.phase_id:
        raise ProcurementError(_("This bid is not in the phase you evaluate."))
    phase = _lock_phase(bid.phase_id)
    require_rules(acting_user, phase.procurement, acting_for(acting_user, phase.procurement))
    _require_unsealed(phase)
    bid = Bid.objects.get(pk=bid.pk)
    if bid.status != Bid.Status.SUBMITTED:
        raise ProcurementError(_("This bid was not submitted; there is nothing to evaluate."))
    relationship = (relationship or "").strip()
    if has_conflict and not relationship:
        raise ProcurementError(_("Say what your relationship to the bidding organisations or people is."))
    existing = ConflictDeclaration.objects.filter(evaluator=evaluator, bid=bid).first()
    if existing is not None and (existing.has_conflict or not has_conflict):
        raise ProcurementError(
            _("You are already recused from this bid.")
            if existing.has_conflict
            else _("You have already declared that you have no conflict with this bid.")
        )
    detected = detected_conflicts(acting_user, phase, [bid.pk]).get(bid.pk)
    if detected:
        has_conflict, relationship, source = True, detected, ConflictDeclaration.Source.DETECTED
    else:
        source = ConflictDeclaration.Source.DECLARED
    withdrawn = 0
    if existing is None:
        declaration = ConflictDeclaration.objects.create(
            evaluator=evaluator, bid=bid, has_conflict=has_conflict, relationship=relationship, source=source
        )
    else:
        # From "no conflict" to a conflict: the evaluator's scores of this bid no longer count.
        if ConsensusScore.objects.filter(bid=bid).exists():
            raise ProcurementError(
                _("The panel has started agreeing this bid's scores; tell the procurer about the conflict.")
            )
        withdrawn, _deleted = Score.objects.filter(evaluator=evaluator, bid=bid).delete()
        existing.has_conflict, existing.relationship, existing.source = True, relationship, source
        existing.save(update_fields=["has_conflict", "relationship", "source"])
        declaration = existing
    audit.record(
        "procurement.conflict_declaration.declare",
        actor=acting_user,
        obj=declaration,
        organisation=phase.procurement.buyer,
        data={
            "bid": bid.pk,
            "evaluator": evaluator.pk,
            "has_conflict": has_conflict,
            "source": source,
            "scores_withdrawn": withdrawn,
        },
    )
    return declaration


@dataclass(frozen=True)
class Access:
    """What an evaluator may do with one bid now."""

    state: str  # "sealed", "undeclared", "recused", "open"
    declaration: ConflictDeclaration | None = None
    reason: str = ""

    @property
    def may_read(self) -> bool:
        return self.state == "open"


def bid_access(evaluator: Evaluator, bid: Bid) -> Access:
    """Sealed before the deadline; then a declaration first; recused after a declared or detected conflict
    (also one that arose after a "no conflict" declaration)."""
    if bid.phase.is_sealed():
        return Access("sealed", reason=sealed_message(bid.phase))
    declaration = ConflictDeclaration.objects.filter(evaluator=evaluator, bid=bid).first()
    if declaration is None:
        return Access("undeclared")
    if declaration.has_conflict:
        return Access("recused", declaration, declaration.relationship)
    detected = detected_conflicts(evaluator.user, bid.phase, [bid.pk]).get(bid.pk)
    if detected:
        return Access("recused", declaration, detected)
    return Access("open", declaration)


# ------------------------------------------------------------------------------------------------ scores


def _check_score(criterion: AwardCriterion, score, justification: str) -> tuple[Decimal, str]:
    try:
        value = Decimal(str(score))
    except (ArithmeticError, ValueError):
        raise ProcurementError(_("A score must be a number.")) from None
    if not value.is_finite() or value < 0 or value > criterion.max_score:
        raise ProcurementError(
            _("Score “%(criterion)s” from 0 to %(max)s.")
            % {"criterion": criterion.name, "max": criterion.max_score}
        )
    if value != value.quantize(CENT):
        raise ProcurementError(_("Scores have at most two decimals."))
    justification = (justification or "").strip()
    if not justification:
        raise ProcurementError(_("Justify the score for “%(criterion)s”.") % {"criterion": criterion.name})
    return value, justification


@transaction.atomic
def score_bid(
    evaluator: Evaluator,
    bid: Bid,
    criterion: AwardCriterion,
    score,
    justification: str,
    *,
    acting_user: User,
) -> Score:
    """An evaluator's own score of a bid on one criterion, with its justification; editable until the
    panel's consensus on that criterion is recorded."""
    _own_evaluator(evaluator, acting_user)
    if bid.phase_id != evaluator.phase_id or criterion.phase_id != bid.phase_id:
        raise ProcurementError(_("This bid or criterion is not in the phase you evaluate."))
    phase = _lock_phase(bid.phase_id)
    require_rules(acting_user, phase.procurement, acting_for(acting_user, phase.procurement))
    _require_unsealed(phase)
    bid = Bid.objects.get(pk=bid.pk)
    if bid.status != Bid.Status.SUBMITTED:
        raise ProcurementError(_("This bid was not submitted; there is nothing to evaluate."))
    declaration = ConflictDeclaration.objects.filter(evaluator=evaluator, bid=bid).first()
    if declaration is None:
        raise ProcurementError(_("Declare whether you have a conflict of interest with this bid first."))
    if declaration.has_conflict:
        raise ProcurementError(_("You are recused from this bid: you cannot score it."))
    detected = detected_conflicts(acting_user, phase, [bid.pk]).get(bid.pk)
    if detected:
        raise ProcurementError(_("You cannot score this bid: %(relationship)s") % {"relationship": detected})
    value, justification = _check_score(criterion, score, justification)
    if ConsensusScore.objects.filter(bid=bid, criterion=criterion).exists():
        raise ProcurementError(
            _("The consensus on “%(criterion)s” is recorded: individual scores are final.")
            % {"criterion": criterion.name}
        )
    row, created = Score.objects.update_or_create(
        evaluator=evaluator,
        bid=bid,
        criterion=criterion,
        defaults={"score": value, "justification": justification},
    )
    audit.record(
        "procurement.score.record" if created else "procurement.score.change",
        actor=acting_user,
        obj=row,
        organisation=phase.procurement.buyer,
        data={"bid": bid.pk, "criterion": criterion.pk, "evaluator": evaluator.pk, "score": _plain(value)},
    )
    return row


def may_record_consensus(user: User, phase: Phase, bid: Bid | None = None) -> bool:
    """A procurer of the buyer, or the panel's chair (not recused from ``bid``)."""
    if user.has_perm("procurement.manage_evaluation", phase):
        return True
    chair = phase.evaluators.filter(user=user, role=Evaluator.Role.CHAIR).first()
    if chair is None:
        return False
    return (
        bid is None
        or not ConflictDeclaration.objects.filter(evaluator=chair, bid=bid, has_conflict=True).exists()
    )


def missing_scorers(bid: Bid, criterion: AwardCriterion) -> list[Evaluator]:
    """Evaluators of the panel, not recused from ``bid``, who have not scored it on ``criterion``."""
    recused = ConflictDeclaration.objects.filter(bid=bid, has_conflict=True).values("evaluator_id")
    scored = Score.objects.filter(bid=bid, criterion=criterion).values("evaluator_id")
    return list(
        Evaluator.objects.filter(phase_id=bid.phase_id)
        .exclude(pk__in=recused)
        .exclude(pk__in=scored)
        .select_related("user")
        .order_by("user__email")
    )


@transaction.atomic
def record_consensus(
    bid: Bid, criterion: AwardCriterion, score, justification: str, *, acting_user: User
) -> ConsensusScore:
    """The panel's agreed score of a bid on a criterion, once every evaluator free of conflicts has scored
    it; recorded by the chair or a procurer, and told to the bidder with the award."""
    if criterion.phase_id != bid.phase_id:
        raise ProcurementError(_("This criterion is not one of the bid's phase."))
    phase = _lock_phase(bid.phase_id)
    if not may_record_consensus(acting_user, phase, bid):
        raise ProcurementError(
            _("Only the panel's chair (free of conflicts) or a procurer records the consensus.")
        )
    require_rules(acting_user, phase.procurement, acting_for(acting_user, phase.procurement))
    _require_unsealed(phase)
    bid = Bid.objects.get(pk=bid.pk)
    if bid.status != Bid.Status.SUBMITTED:
        raise ProcurementError(_("This bid was not submitted; there is nothing to evaluate."))
    if not acting_user.has_perm("procurement.manage_evaluation", phase):
        detected = detected_conflicts(acting_user, phase, [bid.pk]).get(bid.pk)
        if detected:
            raise ProcurementError(detected)
    missing = missing_scorers(bid, criterion)
    if missing:
        raise ProcurementError(
            _("Not everyone has scored “%(criterion)s” yet. Still to score: %(names)s.")
            % {"criterion": criterion.name, "names": ", ".join(str(e.user) for e in missing)}
        )
    if not Score.objects.filter(bid=bid, criterion=criterion).exists():
        raise ProcurementError(_("No evaluator free of conflicts has scored this bid yet."))
    value, justification = _check_score(criterion, score, justification)
    row, created = ConsensusScore.objects.update_or_create(
        bid=bid,
        criterion=criterion,
        defaults={"score": value, "justification": justification, "decided_by": acting_user},
    )
    audit.record(
        "procurement.consensus_score.record" if created else "procurement.consensus_score.change",
        actor=acting_user,
        obj=row,
        organisation=phase.procurement.buyer,
        data={"bid": bid.pk, "criterion": criterion.pk, "score": _plain(value)},
    )
    return row


# ----------------------------------------------------------------------------------------------- ranking


@dataclass(frozen=True)
class CriterionFacts:
    pk: int
    weight: Decimal
    max_score: int
    threshold: Decimal = Decimal("0")


@dataclass(frozen=True)
class Candidate:
    bid_id: int
    consensus: Mapping[int, Decimal]  # criterion id → consensus score
    price: Decimal | None = None
    submitted_at: datetime | None = None


@dataclass(frozen=True)
class Ranked:
    bid_id: int
    total: Decimal | None  # 0–100, None until every criterion has its consensus
    complete: bool
    passed: bool
    rank: int | None  # 1 = best; only passing bids are ranked
    below_threshold: tuple[int, ...] = ()  # criteria whose consensus is under their threshold
    below_pass_mark: bool = False
    price: Decimal | None = None
    submitted_at: datetime | None = None


def weighted_total(criteria: list[CriterionFacts], consensus: Mapping[int, Decimal]) -> Decimal:
    """Σ consensus ÷ highest score × weight, on a 0–100 scale (weights are shares of 100)."""
    weights = sum((c.weight for c in criteria), Decimal("0"))
    if not weights:
        return Decimal("0.00")
    raw = sum((Decimal(consensus[c.pk]) / c.max_score * c.weight for c in criteria), Decimal("0"))
    return (raw * 100 / weights).quantize(CENT, rounding=ROUND_HALF_UP)


def rank_bids(
    criteria: list[CriterionFacts], candidates: list[Candidate], pass_mark: Decimal
) -> list[Ranked]:
    """Rank bids: a bid fails when a criterion's consensus is under its threshold or its total under the
    pass mark; passing bids rank by total (highest first), then price (lowest first), then submission
    time (earliest first). Passing bids come first, in rank order; the others follow by total."""
    rows = []
    for candidate in candidates:
        complete = all(c.pk in candidate.consensus for c in criteria)
        if not complete:
            rows.append(
                Ranked(
                    candidate.bid_id,
                    None,
                    False,
                    False,
                    None,
                    (),
                    False,
                    candidate.price,
                    candidate.submitted_at,
                )
            )
            continue
        total = weighted_total(criteria, candidate.consensus)
        below = tuple(c.pk for c in criteria if Decimal(candidate.consensus[c.pk]) < c.threshold)
        under_mark = total < pass_mark
        rows.append(
            Ranked(
                candidate.bid_id,
                total,
                True,
                not below and not under_mark,
                None,
                below,
                under_mark,
                candidate.price,
                candidate.submitted_at,
            )
        )

    def order(row: Ranked):
        return (
            not row.passed,
            not row.complete,
            -(row.total or 0),
            row.price is None,
            row.price or 0,
            row.submitted_at is None,
            row.submitted_at or datetime.max,
            row.bid_id,
        )

    rows.sort(key=order)
    ranked, rank = [], 0
    for row in rows:
        if row.passed:
            rank += 1
            row = replace(row, rank=rank)
        ranked.append(row)
    return ranked


# ------------------------------------------------------------------------------------ the phase's evaluation


@dataclass
class BidRow:
    """One bid on the evaluation overview: each evaluator's status, the consensus progress, the result."""

    bid: Bid
    cells: list[dict] = field(default_factory=list)
    consensus: dict = field(default_factory=dict)  # criterion id → consensus score
    consensus_count: int = 0
    price: Decimal | None = None
    result: Ranked | None = None
    # For the ranking table: per criterion, the consensus score and whether it is under the minimum.
    scores: list[dict] = field(default_factory=list)


@dataclass
class Evaluation:
    phase: Phase
    criteria: list[AwardCriterion]
    evaluators: list[Evaluator]
    rows: list[BidRow]
    ranking: list[tuple[Ranked, BidRow]]
    consensus_needed: int
    consensus_done: int

    @property
    def complete(self) -> bool:
        return bool(self.rows) and self.consensus_done == self.consensus_needed

    def missing_consensus(self) -> list[tuple[Bid, list[AwardCriterion]]]:
        return [
            (row.bid, [c for c in self.criteria if c.pk not in row.consensus])
            for row in self.rows
            if row.consensus_count < len(self.criteria)
        ]


def criterion_facts(criteria: Iterable[AwardCriterion]) -> list[CriterionFacts]:
    return [CriterionFacts(c.pk, c.weight, c.max_score, c.threshold) for c in criteria]


def evaluate_phase(phase: Phase) -> Evaluation:
    """Everything the overview shows, in a fixed number of queries whatever the number of bids and
    evaluators: statuses per bid × evaluator, consensus progress and the ranking."""
    criteria = list(phase.criteria.all())
    evaluators = list(phase.evaluators.select_related("user").order_by("user__email", "pk"))
    bids = list(
        Bid.objects.filter(phase=phase, status=Bid.Status.SUBMITTED)
        .select_related("consortium__lead")
        .order_by("submitted_at", "pk")
    )
    rows = [BidRow(bid) for bid in bids]
    if phase.is_sealed() or not bids:
        return Evaluation(phase, criteria, evaluators, rows, [], len(bids) * len(criteria), 0)
    declarations = {
        (e, b): conflict
        for e, b, conflict in ConflictDeclaration.objects.filter(bid__phase=phase).values_list(
            "evaluator_id", "bid_id", "has_conflict"
        )
    }
    scored = {
        (row["evaluator_id"], row["bid_id"]): row["n"]
        for row in Score.objects.filter(bid__phase=phase)
        .values("evaluator_id", "bid_id")
        .annotate(n=Count("pk"))
        .order_by()
    }
    consensus: dict[int, dict[int, Decimal]] = defaultdict(dict)
    for bid_id, criterion_id, score in ConsensusScore.objects.filter(bid__phase=phase).values_list(
        "bid_id", "criterion_id", "score"
    ):
        consensus[bid_id][criterion_id] = score
    prices = dict(BidContent.objects.filter(bid__phase=phase).values_list("bid_id", "price"))
    for row in rows:
        for evaluator in evaluators:
            conflict = declarations.get((evaluator.pk, row.bid.pk))
            n = scored.get((evaluator.pk, row.bid.pk), 0)
            if conflict is None:
                state = "undeclared"
            elif conflict:
                state = "recused"
            elif n >= len(criteria):
                state = "scored"
            else:
                state = "declared"
            row.cells.append({"evaluator": evaluator, "state": state, "scored": n, "of": len(criteria)})
        row.consensus = consensus[row.bid.pk]
        row.consensus_count = len(row.consensus)
        row.price = prices.get(row.bid.pk)
    results = rank_bids(
        criterion_facts(criteria),
        [Candidate(r.bid.pk, consensus[r.bid.pk], r.price, r.bid.submitted_at) for r in rows],
        phase.pass_mark,
    )
    by_id = {row.bid.pk: row for row in rows}
    for result in results:
        row = by_id[result.bid_id]
        row.result = result
        row.scores = [
            {"criterion": c, "score": row.consensus.get(c.pk), "below": c.pk in result.below_threshold}
            for c in criteria
        ]
    ranking = [(result, by_id[result.bid_id]) for result in results]
    done = sum(row.consensus_count for row in rows)
    return Evaluation(phase, criteria, evaluators, rows, ranking, len(rows) * len(criteria), done)


def evaluator_assignments(user: User) -> list[dict]:
    """The evaluator's workspace: each phase they sit on with its bids still to declare on and to score."""
    panels = list(
        Evaluator.objects.filter(user=user)
        .exclude(phase__status__in=[Phase.Status.CANCELLED, Phase.Status.COMPLETED])
        .select_related("phase__procurement")
        .order_by("phase__bid_deadline", "pk")
    )
    if not panels:
        return []
    phase_ids = [p.phase_id for p in panels]
    bids = defaultdict(int)
    for phase_id, n in (
        Bid.objects.filter(phase_id__in=phase_ids, status=Bid.Status.SUBMITTED)
        .values_list("phase_id")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        bids[phase_id] = n
    declared, recused, scores = defaultdict(int), defaultdict(int), defaultdict(int)
    for evaluator_id, conflict, n in (
        ConflictDeclaration.objects.filter(evaluator__in=panels, bid__status=Bid.Status.SUBMITTED)
        .values_list("evaluator_id", "has_conflict")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        declared[evaluator_id] += n
        if conflict:
            recused[evaluator_id] += n
    for evaluator_id, n in (
        Score.objects.filter(evaluator__in=panels, bid__status=Bid.Status.SUBMITTED)
        .values_list("evaluator_id")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        scores[evaluator_id] = n
    criteria = defaultdict(int)
    for phase_id, n in (
        AwardCriterion.objects.filter(phase_id__in=phase_ids)
        .values_list("phase_id")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        criteria[phase_id] = n
    result = []
    for panel in panels:
        total = bids[panel.phase_id]
        to_score = (total - recused[panel.pk]) * criteria[panel.phase_id] - scores[panel.pk]
        result.append(
            {
                "evaluator": panel,
                "phase": panel.phase,
                "procurement": panel.phase.procurement,
                "sealed": panel.phase.is_sealed(),
                "bids": total,
                "to_declare": total - declared[panel.pk],
                "recused": recused[panel.pk],
                "scores_to_give": max(to_score, 0),
            }
        )
    return result


def evaluation_progress(organisation: Organisation) -> list[dict]:
    """The authority's workspace: each phase of its procurements being evaluated, with the share of
    consensus scores recorded."""
    phases = list(
        Phase.objects.filter(procurement__buyer=organisation, status__in=EVALUATING)
        .select_related("procurement")
        .annotate(
            submitted=Count("bids", filter=Q(bids__status=Bid.Status.SUBMITTED), distinct=True),
            criteria_count=Count("criteria", distinct=True),
            panel=Count("evaluators", distinct=True),
        )
        .order_by("bid_deadline", "pk")
    )
    agreed = defaultdict(int)
    for phase_id, n in (
        ConsensusScore.objects.filter(bid__phase__in=phases, bid__status=Bid.Status.SUBMITTED)
        .values_list("bid__phase_id")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        agreed[phase_id] = n
    rows = []
    for phase in phases:
        if phase.is_sealed():
            continue
        needed = phase.submitted * phase.criteria_count
        rows.append(
            {
                "phase": phase,
                "procurement": phase.procurement,
                "bids": phase.submitted,
                "panel": phase.panel,
                "agreed": agreed[phase.pk],
                "needed": needed,
                "percent": round(100 * agreed[phase.pk] / needed) if needed else 0,
            }
        )
    return rows
