"""Award decisions per phase, the standstill period, the contracts with their milestones and payments, and
the phase 3 field test with end-users.

A decision follows the ranking of the consensus scores: the best passing bids, up to the phase's maximum
number of contractors and within its budget, are successful. Every bidder is told its own scores and the
reasons; the decision becomes final when the standstill period ends (``finalise_due_awards`` runs every few
minutes), which creates the contracts. Only contractors of phase N may bid in phase N + 1."""

import calendar
from dataclasses import dataclass
from datetime import date, timedelta
from decimal import Decimal

from django.db import transaction
from django.utils import formats, timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from livinglab import audit
from livinglab.models import Channel, User
from pilots.models import Campaign, CampaignKind, IdeaOwnership, Maturity, Method

from ..errors import ProcurementError
from ..models import Award, AwardDecision, ConsortiumMember, Contract, Milestone, Phase
from .evaluation import CENT, Ranked, _lock_phase, evaluate_phase
from .lifecycle import move_phase, move_procurement, require_rules

# The default payment plan of a contract: an interim deliverable halfway, the final one at the end.
DEFAULT_MILESTONES = ((Decimal("0.40"), "interim"), (Decimal("0.60"), "final"))
MILESTONE_STEPS = {
    Milestone.Status.SCHEDULED: Milestone.Status.DELIVERED,
    Milestone.Status.DELIVERED: Milestone.Status.ACCEPTED,
    Milestone.Status.ACCEPTED: Milestone.Status.PAID,
}
MILESTONE_TIMES = {
    Milestone.Status.DELIVERED: "delivered_at",
    Milestone.Status.ACCEPTED: "accepted_at",
    Milestone.Status.PAID: "paid_at",
}


def _money(value: Decimal | None, currency: str = "EUR") -> str:
    if value is None:
        return "—"
    return f"{formats.number_format(value, 2, use_l10n=True, force_grouping=True)} {currency}"


def local_moment(procurement, moment) -> str:
    """A moment in the authority's time zone, with the zone's name."""
    return f"{formats.date_format(procurement.local(moment), 'DATETIME_FORMAT')} ({procurement.time_zone})"


def _require_procurer(user: User, phase: Phase, perm: str = "procurement.award_phase") -> None:
    if not user.has_perm(perm, phase):
        raise ProcurementError(_("Only a procurer of the buying authority may do this."))
    require_rules(user, phase.procurement, phase.procurement.buyer)


# ------------------------------------------------------------------------------------------ selection


@dataclass(frozen=True)
class Outcome:
    successful: bool
    reason: str


def select_successful(
    ranking: list[Ranked],
    *,
    max_contractors: int,
    budget: Decimal,
    criterion_names: dict[int, str],
    pass_mark: Decimal,
    currency: str = "EUR",
) -> dict[int, Outcome]:
    """Who wins, and why each bid did or did not: passing bids in rank order while there is room (maximum
    number of contractors) and money (the phase budget, by bid price). A bid whose price no longer fits is
    passed over for the next one that does."""
    passing = sum(1 for r in ranking if r.passed)
    remaining, chosen, outcomes = budget, 0, {}
    for result in ranking:
        if not result.passed:
            reasons = []
            if result.below_threshold:
                names = ", ".join(criterion_names[pk] for pk in result.below_threshold)
                reasons.append(_("Below the minimum score on: %(criteria)s.") % {"criteria": names})
            if result.below_pass_mark:
                reasons.append(
                    _("The total of %(total)s is under the pass mark of %(mark)s.")
                    % {"total": result.total, "mark": pass_mark}
                )
            outcomes[result.bid_id] = Outcome(False, " ".join(reasons))
        elif chosen >= max_contractors:
            outcomes[result.bid_id] = Outcome(
                False,
                _("Ranked %(rank)s of %(passing)s: this phase takes at most %(max)s contractors.")
                % {"rank": result.rank, "passing": passing, "max": max_contractors},
            )
        elif result.price is None or result.price > remaining:
            outcomes[result.bid_id] = Outcome(
                False,
                _(
                    "Ranked %(rank)s of %(passing)s: its price of %(price)s is more than what remains of "
                    "the phase budget (%(remaining)s)."
                )
                % {
                    "rank": result.rank,
                    "passing": passing,
                    "price": _money(result.price, currency),
                    "remaining": _money(remaining, currency),
                },
            )
        else:
            chosen += 1
            remaining -= result.price
            outcomes[result.bid_id] = Outcome(
                True,
                ngettext(
                    "Ranked %(rank)s of %(passing)s bid that passed every threshold and the pass mark.",
                    "Ranked %(rank)s of %(passing)s bids that passed every threshold and the pass mark.",
                    passing,
                )
                % {"rank": result.rank, "passing": passing},
            )
    return outcomes


# ---------------------------------------------------------------------------------------------- decision


def _catch_up_to_evaluation(phase: Phase, acting_user: User | None) -> Phase:
    """An open phase past its bid deadline is under evaluation, even before the beat task moved it."""
    if phase.status == Phase.Status.OPEN and not phase.is_sealed():
        phase = move_phase(phase, Phase.Status.EVALUATION, acting_user=acting_user)
    return phase


@transaction.atomic
def decide_award(phase: Phase, reasons: str, *, acting_user: User) -> AwardDecision:
    """Decide the phase's award from the ranking, once every consensus score is recorded: one award per
    submitted bid, the standstill period starts, and every bidder is told its own result."""
    from ..tasks.awards import send_award_notification

    _require_procurer(acting_user, phase)
    phase = _lock_phase(phase.pk)
    procurement = phase.procurement
    reasons = (reasons or "").strip()
    if not reasons:
        raise ProcurementError(_("Give the reasons for the decision; every bidder receives them."))
    if phase.is_sealed():
        raise ProcurementError(_("The bids are still sealed: the award comes after the evaluation."))
    phase = _catch_up_to_evaluation(phase, acting_user)
    if phase.status != Phase.Status.EVALUATION:
        raise ProcurementError(
            _("%(phase)s is “%(status)s”: an award is decided at the end of the evaluation.")
            % {"phase": phase, "status": phase.get_status_display()}
        )
    evaluation = evaluate_phase(phase)
    if not evaluation.rows:
        raise ProcurementError(_("No bid was submitted in this phase: there is nothing to award."))
    missing = evaluation.missing_consensus()
    if missing:
        listed = "; ".join(
            _("bid #%(bid)s (%(consortium)s): %(criteria)s")
            % {
                "bid": bid.pk,
                "consortium": bid.consortium.name,
                "criteria": ", ".join(c.name for c in criteria),
            }
            for bid, criteria in missing
        )
        raise ProcurementError(_("Consensus scores are still missing for %(listed)s.") % {"listed": listed})
    outcomes = select_successful(
        [result for result, _row in evaluation.ranking],
        max_contractors=phase.max_contractors,
        budget=phase.budget,
        criterion_names={c.pk: c.name for c in evaluation.criteria},
        pass_mark=phase.pass_mark,
        currency=procurement.currency,
    )
    now = timezone.now()
    decision = AwardDecision.objects.create(
        phase=phase,
        reasons=reasons,
        decided_by=acting_user,
        decided_at=now,
        standstill_ends_at=now + timedelta(days=phase.standstill_days),
    )
    awards = Award.objects.bulk_create(
        Award(
            decision=decision,
            bid=row.bid,
            successful=outcomes[result.bid_id].successful,
            rank=result.rank,
            total=result.total,
            passed_thresholds=not result.below_threshold,
            reasons=outcomes[result.bid_id].reason,
            value=row.price if outcomes[result.bid_id].successful else None,
        )
        for result, row in evaluation.ranking
    )
    move_phase(phase, Phase.Status.STANDSTILL, acting_user=acting_user)
    for award in awards:
        send_award_notification.delay_on_commit(award.pk)
    audit.record(
        "procurement.award_decision.decide",
        actor=acting_user,
        obj=decision,
        organisation=procurement.buyer,
        data={
            "phase": phase.pk,
            "successful": [a.bid_id for a in awards if a.successful],
            "unsuccessful": [a.bid_id for a in awards if not a.successful],
            "standstill_ends_at": decision.standstill_ends_at.isoformat(),
        },
    )
    return decision


@transaction.atomic
def revoke_award(decision: AwardDecision, reasons: str, *, acting_user: User) -> AwardDecision:
    """Withdraw a decision during its standstill period (after a complaint, say): the phase goes back to
    evaluation, where the consensus can be corrected and a new decision taken."""
    _require_procurer(acting_user, decision.phase)
    phase = _lock_phase(decision.phase_id)
    reasons = (reasons or "").strip()
    if not reasons:
        raise ProcurementError(_("Give the reasons for withdrawing the decision."))
    now = timezone.now()
    note = _("Withdrawn on %(when)s: %(reasons)s") % {
        "when": local_moment(phase.procurement, now),
        "reasons": reasons,
    }
    current = AwardDecision.objects.filter(pk=decision.pk).values_list("reasons", flat=True).first()
    revoked = AwardDecision.objects.filter(pk=decision.pk, status=AwardDecision.Status.STANDSTILL).update(
        status=AwardDecision.Status.REVOKED, reasons=f"{current}\n\n{note}"
    )
    if revoked != 1:
        raise ProcurementError(_("Only a decision in its standstill period can be withdrawn."))
    move_phase(phase, Phase.Status.EVALUATION, acting_user=acting_user)
    decision.refresh_from_db()
    audit.record(
        "procurement.award_decision.revoke",
        actor=acting_user,
        obj=decision,
        organisation=phase.procurement.buyer,
        data={"phase": phase.pk},
    )
    return decision


# -------------------------------------------------------------------------------------------- contracts


def add_months(day: date, months: int) -> date:
    """The same day ``months`` later (the month's last day when it is shorter)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _milestones(contract: Contract) -> list[Milestone]:
    span = (contract.ends_on - contract.starts_on).days
    titles = {
        "interim": _("Interim deliverable"),
        "final": _("Final deliverables: %(deliverables)s")
        % {"deliverables": contract.phase.deliverables.strip().splitlines()[0][:150]},
    }
    due = {"interim": contract.starts_on + timedelta(days=span // 2), "final": contract.ends_on}
    interim = (contract.value * DEFAULT_MILESTONES[0][0]).quantize(CENT)
    amounts = {"interim": interim, "final": contract.value - interim}
    return [
        Milestone(contract=contract, title=titles[kind][:200], due_on=due[kind], amount=amounts[kind])
        for _share, kind in DEFAULT_MILESTONES
    ]


@transaction.atomic
def finalise_award(decision: AwardDecision, *, acting_user: User | None = None) -> AwardDecision:
    """Make a decision final once its standstill period has ended: the phase is awarded and each
    successful bidder gets a contract with the default milestones. Run by the beat task (no user) or by a
    procurer."""
    phase = decision.phase
    if acting_user is not None:
        _require_procurer(acting_user, phase)
    phase = _lock_phase(decision.phase_id)
    now = timezone.now()
    current = AwardDecision.objects.get(pk=decision.pk)
    if current.status != AwardDecision.Status.STANDSTILL:
        raise ProcurementError(
            _("This decision is “%(status)s”: it cannot be made final.")
            % {"status": current.get_status_display()}
        )
    if now < current.standstill_ends_at:
        raise ProcurementError(
            _("The standstill period runs until %(when)s; the decision becomes final then.")
            % {"when": local_moment(phase.procurement, current.standstill_ends_at)}
        )
    claimed = AwardDecision.objects.filter(pk=decision.pk, status=AwardDecision.Status.STANDSTILL).update(
        status=AwardDecision.Status.FINAL, finalised_at=now
    )
    if claimed != 1:
        raise ProcurementError(_("Someone else changed this decision at the same moment; please try again."))
    move_phase(phase, Phase.Status.AWARDED, acting_user=acting_user)
    starts_on = phase.procurement.local(now).date()
    ends_on = add_months(starts_on, phase.duration_months) - timedelta(days=1)
    successful = list(
        Award.objects.filter(decision=decision, successful=True)
        .select_related("bid__consortium")
        .order_by("rank")
    )
    contracts = Contract.objects.bulk_create(
        Contract(
            award=award,
            phase=phase,
            title=(
                _("%(phase)s — %(consortium)s") % {"phase": phase, "consortium": award.bid.consortium.name}
            )[:200],
            value=award.value or Decimal("0"),
            starts_on=starts_on,
            ends_on=ends_on,
        )
        for award in successful
    )
    for contract in contracts:
        contract.phase = phase
    Milestone.objects.bulk_create(m for contract in contracts for m in _milestones(contract))
    decision.refresh_from_db()
    audit.record(
        "procurement.award_decision.finalise",
        actor=acting_user,
        obj=decision,
        organisation=phase.procurement.buyer,
        data={"phase": phase.pk, "contracts": [c.pk for c in contracts]},
    )
    return decision


def due_decisions(now=None) -> list[int]:
    """Decisions whose standstill period has ended and that are not final yet."""
    now = now or timezone.now()
    return list(
        AwardDecision.objects.filter(status=AwardDecision.Status.STANDSTILL, standstill_ends_at__lte=now)
        .order_by("standstill_ends_at", "pk")
        .values_list("pk", flat=True)
    )


def _lock_contract(contract: Contract) -> Contract:
    """The contract row, locked (only that row: its phase and procurement are read without a lock)."""
    locked = Contract.objects.select_for_update(no_key=True).get(pk=contract.pk)
    locked.phase = Phase.objects.select_related("procurement__buyer").get(pk=locked.phase_id)
    return locked


@transaction.atomic
def sign_contract(contract: Contract, *, acting_user: User) -> Contract:
    """Record that the contract is signed: its milestones can then be delivered and paid."""
    _require_procurer(acting_user, contract.phase, "procurement.manage_contract")
    contract = _lock_contract(contract)
    if contract.status != Contract.Status.PENDING:
        raise ProcurementError(_("This contract is already signed."))
    now = timezone.now()
    Contract.objects.filter(pk=contract.pk).update(status=Contract.Status.ACTIVE, signed_at=now)
    contract.refresh_from_db()
    audit.record(
        "procurement.contract.sign",
        actor=acting_user,
        obj=contract,
        organisation=contract.phase.procurement.buyer,
        data={"phase": contract.phase_id},
    )
    return contract


@transaction.atomic
def record_milestone(milestone: Milestone, to: str, *, acting_user: User) -> Milestone:
    """Move a milestone one step: delivered, then accepted, then paid. When every milestone of the contract
    is paid, the contract is completed."""
    contract = _lock_contract(milestone.contract)
    _require_procurer(acting_user, contract.phase, "procurement.manage_contract")
    if contract.status != Contract.Status.ACTIVE:
        raise ProcurementError(
            _("This contract is “%(status)s”: milestones are recorded on an active (signed) contract.")
            % {"status": contract.get_status_display()}
        )
    current = Milestone.objects.get(pk=milestone.pk, contract=contract)
    if MILESTONE_STEPS.get(current.status) != to:
        raise ProcurementError(
            _("This milestone is “%(current)s”: it cannot become “%(to)s”.")
            % {
                "current": current.get_status_display(),
                "to": Milestone.Status(to).label if to in Milestone.Status.values else to,
            }
        )
    if to == Milestone.Status.PAID:
        earlier = contract.milestones.filter(due_on__lt=current.due_on).exclude(status=Milestone.Status.PAID)
        if earlier.exists():
            raise ProcurementError(_("Pay the earlier milestones of this contract first."))
    Milestone.objects.filter(pk=current.pk, status=current.status).update(
        status=to, **{MILESTONE_TIMES[to]: timezone.now()}
    )
    completed = (
        to == Milestone.Status.PAID and not contract.milestones.exclude(status=Milestone.Status.PAID).exists()
    )
    if completed:
        Contract.objects.filter(pk=contract.pk).update(status=Contract.Status.COMPLETED)
    current.refresh_from_db()
    audit.record(
        f"procurement.milestone.{to}",
        actor=acting_user,
        obj=current,
        organisation=contract.phase.procurement.buyer,
        data={"contract": contract.pk, "amount": str(current.amount), "contract_completed": completed},
    )
    return current


@transaction.atomic
def complete_phase(phase: Phase, *, acting_user: User) -> Phase:
    """Close an awarded phase once all its contracts are completed or terminated; closing the last phase
    completes the procurement."""
    _require_procurer(acting_user, phase, "procurement.manage_contract")
    phase = _lock_phase(phase.pk)
    open_contracts = list(
        phase.contracts.filter(status__in=[Contract.Status.PENDING, Contract.Status.ACTIVE]).order_by("pk")
    )
    if open_contracts:
        raise ProcurementError(
            _("These contracts are still running: %(titles)s.")
            % {"titles": ", ".join(c.title for c in open_contracts)}
        )
    phase = move_phase(phase, Phase.Status.COMPLETED, acting_user=acting_user)
    procurement = phase.procurement
    last = (
        not procurement.phases.filter(number__gt=phase.number).exclude(status=Phase.Status.CANCELLED).exists()
    )
    if last and procurement.status == procurement.Status.CALL:
        move_procurement(procurement, procurement.Status.COMPLETED, acting_user=acting_user)
    audit.record(
        "procurement.phase.complete",
        actor=acting_user,
        obj=phase,
        organisation=procurement.buyer,
        data={"procurement_completed": last},
    )
    return phase


# ---------------------------------------------------------------------------------------- field tests


def is_last_phase(phase: Phase) -> bool:
    return not Phase.objects.filter(procurement_id=phase.procurement_id, number__gt=phase.number).exists()


@transaction.atomic
def open_field_test(contract: Contract, *, acting_user: User) -> Campaign:
    """Start the field test of a last-phase contract: a draft test campaign with end-users, requested by
    the consortium lead and hosted by the procurement's first intermediary cluster, linked to the phase."""
    from pilots.services.campaigns import save_campaign

    _require_procurer(acting_user, contract.phase, "procurement.manage_contract")
    phase = _lock_phase(contract.phase_id)
    procurement = phase.procurement
    contract = Contract.objects.select_related("award__bid__consortium__lead").get(pk=contract.pk)
    if not is_last_phase(phase):
        raise ProcurementError(
            _("Field tests with end-users belong to the last phase; %(phase)s is not it.") % {"phase": phase}
        )
    if contract.status not in (Contract.Status.PENDING, Contract.Status.ACTIVE):
        raise ProcurementError(
            _("This contract is “%(status)s”: no field test can start under it.")
            % {"status": contract.get_status_display()}
        )
    if phase.field_test_id is not None:
        raise ProcurementError(
            _("This phase already has its field test campaign: %(title)s.")
            % {"title": Campaign.objects.get(pk=phase.field_test_id).title}
        )
    lab = procurement.intermediaries.order_by("pk").first()
    if lab is None:
        raise ProcurementError(
            _("The procurement has no intermediary cluster organisation to host the field test.")
        )
    consortium = contract.award.bid.consortium
    partners = [
        m.organisation
        for m in consortium.members.filter(status=ConsortiumMember.Status.ACCEPTED)
        .exclude(organisation_id=consortium.lead_id)
        .select_related("organisation")
    ]
    campaign = save_campaign(
        Campaign(
            channel=Channel.B2G,
            kind=CampaignKind.TEST,
            title=(
                _("Field test: %(consortium)s for %(procurement)s")
                % {
                    "consortium": consortium.name,
                    "procurement": procurement.title,
                }
            )[:200],
            lab=lab,
            requested_by=consortium.lead,
            product_name=(_("The first products of %(consortium)s") % {"consortium": consortium.name})[:200],
            product_description=phase.deliverables,
            maturity=Maturity.PRE_SERIES,
            objectives=_(
                "Test the first products in real-life settings with end-users, against the needs of the "
                "challenge: %(needs)s"
            )
            % {"needs": procurement.needs},
            methods=[Method.FIELD_TRIAL],
            expect_activities=_("Use the product in your daily life for the period of the field test."),
            expect_time=_("To be set by the living lab with the consortium."),
            expect_benefits=_("You help shape a public service that should let people live better."),
            expect_not=_(
                "The product is a first, pre-series version: it may fail, and you do not keep it after the "
                "test unless the living lab says otherwise."
            ),
            expect_risks=_("To be set by the living lab with the consortium before recruitment."),
            idea_ownership=IdeaOwnership.NONE,
        ),
        partners=partners,
        acting_user=acting_user,
    )
    if Phase.objects.filter(pk=phase.pk, field_test__isnull=True).update(field_test=campaign) != 1:
        raise ProcurementError(_("Someone else opened this phase's field test at the same moment."))
    audit.record(
        "procurement.phase.open_field_test",
        actor=acting_user,
        obj=phase,
        organisation=procurement.buyer,
        data={"contract": contract.pk, "campaign": campaign.pk, "lab": lab.pk},
    )
    return campaign
