"""Award decisions, notifications, the standstill period, contracts with milestones, the phase 3 field test,
and "only contractors of phase N may bid in phase N + 1"."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.utils import timezone

from livinglab.factories import MembershipFactory, UserFactory
from livinglab.models import Channel, Role
from pilots.models import Campaign
from procurement.errors import ProcurementError
from procurement.factories import AwardCriterionFactory, BidFactory
from procurement.models import Award, AwardDecision, Contract, Evaluator, Milestone, Phase
from procurement.services import awards as services
from procurement.services import evaluation
from procurement.services.evaluation import Candidate, CriterionFacts, rank_bids
from procurement.tasks.awards import finalise_due_awards, send_award_notification
from tests.concurrency import on_postgresql, run_together
from tests.conftest import with_totp

D = Decimal


@pytest.fixture
def chair_user(authority, call, accept):
    user = MembershipFactory(
        organisation=authority, role=Role.EVALUATOR, user=UserFactory(email="chair@example.org")
    ).user
    return accept(with_totp(user), call, authority)


@pytest.fixture
def rival_bid(phase1, rival_consortium, rival):
    return BidFactory(phase=phase1, consortium=rival_consortium, content__price=D("100000.00"))


@pytest.fixture
def chair(phase1, procurer, chair_user):
    return evaluation.assign_evaluator(phase1, chair_user, Evaluator.Role.CHAIR, acting_user=procurer)


def judge(phase, bid, chair, values, *, justification="The panel agrees."):
    """The chair (the only evaluator) declares, scores and records the consensus of ``bid``."""
    evaluation.declare_conflict(chair, bid, has_conflict=False, acting_user=chair.user)
    for criterion, value in zip(phase.criteria.order_by("position"), values, strict=True):
        evaluation.score_bid(chair, bid, criterion, value, "My reading.", acting_user=chair.user)
        evaluation.record_consensus(
            bid, criterion, value, f"{justification} ({criterion.name})", acting_user=chair.user
        )


@pytest.fixture
def evaluated(phase1, sealed_bid, rival_bid, chair, pass_deadline, bidder):
    """Both bids judged: HomeSense 9 and 6 → 54 + 24 = 78 (price 120,000); Loire Care 7 and 8 → 42 + 32 = 74
    (price 100,000). The phase budget is 150,000, so only one fits."""
    pass_deadline(phase1)
    judge(phase1, sealed_bid, chair, [9, 6], justification="HomeSense-only reasoning")
    judge(phase1, rival_bid, chair, [7, 8], justification="Loire-only reasoning")
    return phase1


def end_standstill(decision):
    AwardDecision.objects.filter(pk=decision.pk).update(
        standstill_ends_at=timezone.now() - timedelta(seconds=1)
    )


# ----------------------------------------------------------------------------------------------- decision


def test_decide_award_is_refused_while_consensus_scores_are_missing_and_lists_them(
    phase1, sealed_bid, rival_bid, chair, procurer, pass_deadline
):
    pass_deadline(phase1)
    judge(phase1, sealed_bid, chair, [9, 6])
    with pytest.raises(ProcurementError) as refused:
        services.decide_award(phase1, "Best value.", acting_user=procurer)
    assert f"bid #{rival_bid.pk} (Loire Care)" in refused.value.message
    assert "Quality of the solution design, Price" in refused.value.message
    assert f"#{sealed_bid.pk}" not in refused.value.message
    assert not AwardDecision.objects.exists()


def test_decide_award_is_refused_before_the_deadline_and_to_non_procurers(
    phase1, sealed_bid, procurer, chair
):
    with pytest.raises(ProcurementError, match="sealed"):
        services.decide_award(phase1, "Too early.", acting_user=procurer)
    with pytest.raises(ProcurementError, match="procurer"):
        services.decide_award(phase1, "Not mine to decide.", acting_user=chair.user)


def test_decide_award_picks_the_best_passing_bids_within_the_budget_and_starts_the_standstill(
    evaluated, sealed_bid, rival_bid, procurer
):
    before = timezone.now()
    decision = services.decide_award(evaluated, "The best value for the challenge.", acting_user=procurer)
    evaluated.refresh_from_db()
    assert evaluated.status == Phase.Status.STANDSTILL
    assert decision.status == AwardDecision.Status.STANDSTILL
    assert before + timedelta(days=10) <= decision.standstill_ends_at <= timezone.now() + timedelta(days=10)
    winner, runner_up = decision.awards.order_by("rank")
    assert (winner.bid, winner.successful, winner.rank, winner.total, winner.value) == (
        sealed_bid,
        True,
        1,
        D("78.00"),
        D("120000.00"),
    )
    # Loire Care passes but its 100,000 no longer fits the 30,000 left of the budget.
    assert (runner_up.bid, runner_up.successful, runner_up.rank, runner_up.value) == (
        rival_bid,
        False,
        2,
        None,
    )
    assert "budget" in runner_up.reasons


def test_decide_award_respects_the_maximum_number_of_contractors(evaluated, sealed_bid, rival_bid, procurer):
    Phase.objects.filter(pk=evaluated.pk).update(budget=D("1000000"), max_contractors=1)
    decision = services.decide_award(evaluated, "One contractor only.", acting_user=procurer)
    loser = decision.awards.get(bid=rival_bid)
    assert not loser.successful and "at most 1 contractors" in loser.reasons


def test_select_successful_passes_over_a_bid_that_no_longer_fits_the_budget():
    criteria = [CriterionFacts(1, D("100"), 10)]
    t = timezone.now()
    ranking = rank_bids(
        criteria,
        [
            Candidate(1, {1: D("9")}, D("90"), t),
            Candidate(2, {1: D("8")}, D("100"), t),
            Candidate(3, {1: D("7")}, D("80"), t),
            Candidate(4, {1: D("6.5")}, D("5"), t),
            Candidate(5, {1: D("3")}, D("1"), t),
        ],
        pass_mark=D("60"),
    )
    outcomes = services.select_successful(
        ranking, max_contractors=2, budget=D("185"), criterion_names={1: "Quality"}, pass_mark=D("60")
    )
    assert {pk for pk, outcome in outcomes.items() if outcome.successful} == {1, 3}
    assert "budget" in outcomes[2].reason
    assert "at most 2" in outcomes[4].reason
    assert "pass mark" in outcomes[5].reason


def test_a_bid_under_a_threshold_is_not_successful_whatever_its_total(evaluated, sealed_bid, procurer):
    quality = evaluated.criteria.get(position=1)
    type(quality).objects.filter(pk=quality.pk).update(threshold=D("9.5"))
    decision = services.decide_award(evaluated, "Quality first.", acting_user=procurer)
    award = decision.awards.get(bid=sealed_bid)
    assert not award.successful and not award.passed_thresholds and award.rank is None
    assert "Quality of the solution design" in award.reasons


# ------------------------------------------------------------------------------------------ notifications


def test_every_bidder_is_told_its_own_scores_and_never_another_bidders(
    evaluated, sealed_bid, rival_bid, procurer, bidder, rival, sme_admin, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        decision = services.decide_award(evaluated, "The best value for the challenge.", acting_user=procurer)
    assert len(mail.outbox) == 2
    to_winner = next(m for m in mail.outbox if "bidder@example.org" in m.to)
    to_loser = next(m for m in mail.outbox if "rival@example.org" in m.to)
    assert "sme@example.org" in to_winner.to  # every member of the lead organisation
    assert "successful" in to_winner.subject
    assert "HomeSense-only reasoning" in to_winner.body and "Loire-only reasoning" not in to_winner.body
    assert "Loire-only reasoning" in to_loser.body and "HomeSense-only reasoning" not in to_loser.body
    assert "78.00" in to_winner.body and "74.00" not in to_winner.body
    assert "74.00" in to_loser.body and "78.00" not in to_loser.body
    for message in (to_winner, to_loser):
        assert "The best value for the challenge." in message.body
        assert "Europe/Helsinki" in message.body
        assert services.local_moment(evaluated.procurement, decision.standstill_ends_at) in message.body
    assert "budget" in to_loser.body
    assert all(a.notified_at for a in decision.awards.all())


def test_an_award_notification_is_sent_once_even_when_the_task_runs_again(
    evaluated, procurer, bidder, rival, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        decision = services.decide_award(evaluated, "Reasons.", acting_user=procurer)
    assert len(mail.outbox) == 2
    mail.outbox.clear()
    for award in decision.awards.all():
        assert send_award_notification(award.pk) is False
    assert mail.outbox == []


# ------------------------------------------------------------------------------------ standstill and final


def test_finalise_due_awards_waits_for_the_standstill_then_awards_the_phase_with_contracts(
    evaluated, sealed_bid, procurer
):
    decision = services.decide_award(evaluated, "Reasons.", acting_user=procurer)
    assert finalise_due_awards() == 0
    with pytest.raises(ProcurementError, match="standstill period runs until"):
        services.finalise_award(decision, acting_user=procurer)
    end_standstill(decision)
    assert finalise_due_awards() == 1
    decision.refresh_from_db()
    evaluated.refresh_from_db()
    assert decision.status == AwardDecision.Status.FINAL and decision.finalised_at
    assert evaluated.status == Phase.Status.AWARDED
    contract = Contract.objects.get()
    assert contract.award.bid == sealed_bid and contract.value == D("120000.00")
    assert (contract.ends_on - contract.starts_on).days in range(118, 123)  # four months
    interim, final = contract.milestones.order_by("due_on")
    assert (interim.amount, final.amount) == (D("48000.00"), D("72000.00"))
    assert interim.due_on < final.due_on == contract.ends_on
    # Running again changes nothing.
    assert finalise_due_awards() == 0
    assert Contract.objects.count() == 1 and Milestone.objects.count() == 2


def test_a_decision_withdrawn_during_the_standstill_sends_the_phase_back_to_evaluation(
    evaluated, sealed_bid, rival_bid, procurer, chair
):
    decision = services.decide_award(evaluated, "First decision.", acting_user=procurer)
    services.revoke_award(decision, "A complaint showed the price score was wrong.", acting_user=procurer)
    decision.refresh_from_db()
    evaluated.refresh_from_db()
    assert decision.status == AwardDecision.Status.REVOKED
    assert "the price score was wrong" in decision.reasons
    assert evaluated.status == Phase.Status.EVALUATION
    end_standstill(decision)
    assert finalise_due_awards() == 0
    # The consensus is corrected and a new decision taken.
    price = evaluated.criteria.get(position=2)
    evaluation.record_consensus(
        rival_bid, price, 10, "Corrected after the complaint.", acting_user=chair.user
    )
    evaluation.record_consensus(
        sealed_bid, price, 1, "Corrected after the complaint.", acting_user=chair.user
    )
    second = services.decide_award(evaluated, "Second decision.", acting_user=procurer)
    assert second.awards.get(successful=True).bid == rival_bid
    with pytest.raises(ProcurementError):
        services.revoke_award(decision, "Again.", acting_user=procurer)


# ---------------------------------------------------------------------------------- contracts and phases


@pytest.fixture
def contract(evaluated, procurer):
    decision = services.decide_award(evaluated, "Reasons.", acting_user=procurer)
    end_standstill(decision)
    services.finalise_award(decision, acting_user=procurer)
    return Contract.objects.get()


def test_milestones_are_delivered_accepted_and_paid_in_order_then_the_contract_and_phase_complete(
    contract, procurer, phase1, compliance_user
):
    interim, final = contract.milestones.order_by("due_on")
    with pytest.raises(ProcurementError, match="signed"):
        services.record_milestone(interim, Milestone.Status.DELIVERED, acting_user=procurer)
    services.sign_contract(contract, acting_user=procurer)
    with pytest.raises(ProcurementError):
        services.record_milestone(interim, Milestone.Status.PAID, acting_user=procurer)
    with pytest.raises(ProcurementError):
        services.record_milestone(interim, Milestone.Status.DELIVERED, acting_user=compliance_user)
    with pytest.raises(ProcurementError, match="still running"):
        services.complete_phase(phase1, acting_user=procurer)
    for step in (Milestone.Status.DELIVERED, Milestone.Status.ACCEPTED):
        services.record_milestone(final, step, acting_user=procurer)
    with pytest.raises(ProcurementError, match="earlier milestones"):
        services.record_milestone(final, Milestone.Status.PAID, acting_user=procurer)
    for step in (Milestone.Status.DELIVERED, Milestone.Status.ACCEPTED, Milestone.Status.PAID):
        services.record_milestone(interim, step, acting_user=procurer)
    services.record_milestone(final, Milestone.Status.PAID, acting_user=procurer)
    contract.refresh_from_db()
    assert contract.status == Contract.Status.COMPLETED
    phase = services.complete_phase(phase1, acting_user=procurer)
    assert phase.status == Phase.Status.COMPLETED
    assert phase1.procurement.status == "call"  # phases 2 and 3 are still to come


def test_a_field_test_is_only_opened_for_the_last_phase(contract, procurer):
    with pytest.raises(ProcurementError, match="last phase"):
        services.open_field_test(contract, acting_user=procurer)
    assert not Campaign.objects.exists()


def test_a_last_phase_contract_opens_a_draft_field_test_campaign_linked_to_the_phase(
    call, phase1, procurer, consortium, sme, partner_firm, cluster, chair_user, pass_deadline, bidder
):
    Phase.objects.filter(procurement=call, number__gt=1).delete()
    chair = evaluation.assign_evaluator(phase1, chair_user, Evaluator.Role.CHAIR, acting_user=procurer)
    bid = BidFactory(phase=phase1, consortium=consortium, content__price=D("120000.00"))
    pass_deadline(phase1)
    judge(phase1, bid, chair, [9, 6])
    decision = services.decide_award(phase1, "Reasons.", acting_user=procurer)
    end_standstill(decision)
    services.finalise_award(decision, acting_user=procurer)
    contract = Contract.objects.get()
    campaign = services.open_field_test(contract, acting_user=procurer)
    phase1.refresh_from_db()
    assert phase1.field_test == campaign
    assert campaign.status == Campaign.Status.DRAFT
    assert campaign.channel == Channel.B2G
    assert (campaign.requested_by, campaign.lab) == (sme, cluster)
    assert campaign.methods == ["field_trial"] and campaign.maturity == "pre_series"
    assert list(campaign.partners.all()) == [partner_firm]
    with pytest.raises(ProcurementError, match="already has its field test"):
        services.open_field_test(contract, acting_user=procurer)
    assert Campaign.objects.count() == 1


# ------------------------------------------------------------------------ phase N contractors bid in N + 1


def test_only_the_contractors_of_phase_one_may_bid_in_phase_two(
    evaluated, call, consortium, rival_consortium, procurer, bidder, rival
):
    from procurement.services.bids import may_bid, save_bid_draft

    phase2 = call.phases.get(number=2)
    decision = services.decide_award(evaluated, "Reasons.", acting_user=procurer)
    assert not may_bid(consortium, phase2)  # still in the standstill period
    end_standstill(decision)
    finalise_due_awards()
    now = timezone.now()
    Phase.objects.filter(pk=phase2.pk).update(
        status=Phase.Status.OPEN,
        opened_at=now,
        question_deadline=now + timedelta(days=5),
        bid_deadline=now + timedelta(days=7),
    )
    phase2.refresh_from_db()
    AwardCriterionFactory(phase=phase2, name="Prototype quality", weight=D("100"))
    assert may_bid(consortium, phase2)
    refusal = may_bid(rival_consortium, phase2)
    assert not refusal and "phase 1" in refusal.reason
    draft = save_bid_draft(
        phase2, consortium, summary="Prototype.", price="400000", answers={}, acting_user=bidder
    )
    assert draft.phase == phase2
    with pytest.raises(ProcurementError, match="Only contractors of phase 1"):
        save_bid_draft(
            phase2, rival_consortium, summary="Prototype.", price="300000", answers={}, acting_user=rival
        )
    assert not Award.objects.filter(bid__phase=phase2).exists()


# ------------------------------------------------------------------------------------------- concurrency


@on_postgresql
def test_two_procurers_deciding_at_the_same_moment_make_one_decision(transactional_db, evaluated, procurer):
    results = run_together(
        lambda i: services.decide_award(evaluated, f"Decision {i}.", acting_user=procurer), 2
    )
    assert AwardDecision.objects.count() == 1
    assert sum(isinstance(r, ProcurementError) for r in results) == 1
    assert Award.objects.count() == 2


@on_postgresql
def test_the_beat_task_running_twice_at_once_draws_up_each_contract_once(
    transactional_db, evaluated, procurer
):
    decision = services.decide_award(evaluated, "Reasons.", acting_user=procurer)
    end_standstill(decision)
    results = run_together(lambda i: finalise_due_awards(), 3)
    assert sorted(results) == [0, 0, 1]
    assert Contract.objects.count() == 1 and Milestone.objects.count() == 2
