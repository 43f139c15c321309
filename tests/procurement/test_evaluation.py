"""Conflict-free evaluation: the panel, declarations and recusal (declared and detected), scores, consensus,
thresholds and the ranking."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.utils import timezone

from livinglab.factories import MembershipFactory, UserFactory
from livinglab.models import AuditEntry, EnterpriseGroup, Membership, Organisation, Role
from procurement.errors import ProcurementError
from procurement.factories import BidFactory
from procurement.models import ConflictDeclaration, ConsensusScore, Evaluator, Score
from procurement.services import evaluation as services
from procurement.services.evaluation import Candidate, CriterionFacts, rank_bids
from tests.conftest import with_totp

D = Decimal


@pytest.fixture
def chair_user(authority, call, accept):
    user = MembershipFactory(
        organisation=authority, role=Role.EVALUATOR, user=UserFactory(email="chair@example.org")
    ).user
    return accept(with_totp(user), call, authority)


@pytest.fixture
def rival_bid(phase1, rival_consortium):
    return BidFactory(
        phase=phase1,
        consortium=rival_consortium,
        content__price=D("100000.00"),
        content__summary="Loire Care: a smart-speaker check-in service.",
    )


@pytest.fixture
def panel(phase1, procurer, evaluator_user, chair_user):
    """An evaluator and a chair, appointed by the procurer before the deadline."""
    return {
        "evaluator": services.assign_evaluator(phase1, evaluator_user, acting_user=procurer),
        "chair": services.assign_evaluator(phase1, chair_user, Evaluator.Role.CHAIR, acting_user=procurer),
    }


@pytest.fixture
def opened(sealed_bid, rival_bid, panel, phase1, pass_deadline):
    """Both bids in, the panel appointed, the deadline just passed."""
    pass_deadline(phase1)
    return phase1


def criteria(phase):
    quality, price = phase.criteria.order_by("position")
    return quality, price


def score_everything(phase, bid, evaluators, values, *, consensus_by=None):
    """Each evaluator declares no conflict and gives ``values`` (per criterion, in order); optionally the
    consensus is recorded with the same values."""
    for evaluator in evaluators:
        if not ConflictDeclaration.objects.filter(evaluator=evaluator, bid=bid).exists():
            services.declare_conflict(evaluator, bid, has_conflict=False, acting_user=evaluator.user)
        for criterion, value in zip(criteria(phase), values, strict=True):
            services.score_bid(
                evaluator, bid, criterion, value, "Reasoned score.", acting_user=evaluator.user
            )
    if consensus_by is not None:
        for criterion, value in zip(criteria(phase), values, strict=True):
            services.record_consensus(bid, criterion, value, "The panel agrees.", acting_user=consensus_by)


# ------------------------------------------------------------------------------------------------ panel


def test_assign_evaluator_refuses_a_member_of_a_bidding_organisation_and_names_the_relationship(
    phase1, sealed_bid, procurer, partner_user
):
    with pytest.raises(ProcurementError) as refused:
        services.assign_evaluator(phase1, partner_user, acting_user=procurer)
    assert "Aalto Care Research" in refused.value.message
    assert "HomeSense" in refused.value.message
    assert not Evaluator.objects.filter(user=partner_user).exists()


def test_assign_evaluator_refuses_a_member_of_an_enterprise_linked_to_a_bidder(
    phase1, sealed_bid, procurer, sme
):
    group = EnterpriseGroup.objects.create(name="Breizh Group")
    Organisation.objects.filter(pk=sme.pk).update(group=group)
    holding = Organisation.objects.create(
        name="Breizh Holding", slug="breizh-holding", kind=Organisation.Kind.LARGE_ENTERPRISE, group=group
    )
    expert = MembershipFactory(organisation=holding, role=Role.FIRM_MEMBER).user
    with pytest.raises(ProcurementError) as refused:
        services.assign_evaluator(phase1, expert, acting_user=procurer)
    assert "Breizh Holding" in refused.value.message
    assert "Breizh Sensors" in refused.value.message
    assert "linked" in refused.value.message


def test_assign_evaluator_ignores_bids_that_were_withdrawn(phase1, sealed_bid, procurer, partner_user):
    type(sealed_bid).objects.filter(pk=sealed_bid.pk).update(status="withdrawn")
    evaluator = services.assign_evaluator(phase1, partner_user, acting_user=procurer)
    assert evaluator.phase == phase1


def test_only_a_procurer_appoints_the_panel_and_the_appointment_is_audited(
    phase1, procurer, evaluator_user, chair_user
):
    with pytest.raises(ProcurementError):
        services.assign_evaluator(phase1, chair_user, acting_user=evaluator_user)
    evaluator = services.assign_evaluator(phase1, evaluator_user, acting_user=procurer)
    entry = AuditEntry.objects.get(action="procurement.evaluator.assign")
    assert entry.object_id == str(evaluator.pk)
    assert "evaluator@example.org" not in str(entry.data) + entry.object_repr


def test_a_panel_has_one_chair(phase1, procurer, evaluator_user, chair_user):
    services.assign_evaluator(phase1, chair_user, Evaluator.Role.CHAIR, acting_user=procurer)
    with pytest.raises(ProcurementError):
        services.assign_evaluator(phase1, evaluator_user, Evaluator.Role.CHAIR, acting_user=procurer)


# ------------------------------------------------------------------------------------------ declarations


def test_declarations_wait_for_the_bid_deadline_shown_in_the_authority_time_zone(sealed_bid, panel):
    with pytest.raises(ProcurementError) as refused:
        services.declare_conflict(
            panel["evaluator"], sealed_bid, has_conflict=False, acting_user=panel["evaluator"].user
        )
    assert "sealed until" in refused.value.message
    assert "Europe/Helsinki" in refused.value.message
    assert not ConflictDeclaration.objects.exists()


def test_a_declared_conflict_recuses_the_evaluator_who_then_cannot_see_or_score_the_bid(
    opened, sealed_bid, panel
):
    evaluator = panel["evaluator"]
    declaration = services.declare_conflict(
        evaluator,
        sealed_bid,
        has_conflict=True,
        relationship="My sister works there.",
        acting_user=evaluator.user,
    )
    assert declaration.recused and declaration.source == ConflictDeclaration.Source.DECLARED
    assert services.bid_access(evaluator, sealed_bid).state == "recused"
    assert not services.bid_access(evaluator, sealed_bid).may_read
    quality, _price = criteria(opened)
    with pytest.raises(ProcurementError, match="recused"):
        services.score_bid(evaluator, sealed_bid, quality, 7, "Good.", acting_user=evaluator.user)
    assert not Score.objects.exists()


def test_a_conflict_needs_the_relationship_and_a_declaration_stands(opened, sealed_bid, panel):
    evaluator = panel["evaluator"]
    with pytest.raises(ProcurementError):
        services.declare_conflict(
            evaluator, sealed_bid, has_conflict=True, relationship=" ", acting_user=evaluator.user
        )
    services.declare_conflict(
        evaluator, sealed_bid, has_conflict=True, relationship="Former employer.", acting_user=evaluator.user
    )
    with pytest.raises(ProcurementError, match="already recused"):
        services.declare_conflict(evaluator, sealed_bid, has_conflict=False, acting_user=evaluator.user)


def test_only_the_evaluator_declares_for_themselves(opened, sealed_bid, panel):
    with pytest.raises(ProcurementError):
        services.declare_conflict(
            panel["evaluator"], sealed_bid, has_conflict=False, acting_user=panel["chair"].user
        )


def test_a_membership_begun_after_assignment_recuses_the_evaluator_automatically_at_declaration(
    opened, sealed_bid, rival_bid, panel, partner_firm
):
    evaluator = panel["evaluator"]
    Membership.objects.create(user=evaluator.user, organisation=partner_firm, role=Role.RESEARCHER)
    declaration = services.declare_conflict(
        evaluator, sealed_bid, has_conflict=False, acting_user=evaluator.user
    )
    assert declaration.has_conflict
    assert declaration.source == ConflictDeclaration.Source.DETECTED
    assert "Aalto Care Research" in declaration.relationship
    assert services.bid_access(evaluator, sealed_bid).state == "recused"
    # The other bid has nothing to do with that organisation.
    other = services.declare_conflict(evaluator, rival_bid, has_conflict=False, acting_user=evaluator.user)
    assert not other.has_conflict


def test_a_membership_begun_after_a_no_conflict_declaration_stops_the_scoring(
    opened, sealed_bid, panel, partner_firm
):
    evaluator = panel["evaluator"]
    services.declare_conflict(evaluator, sealed_bid, has_conflict=False, acting_user=evaluator.user)
    assert services.bid_access(evaluator, sealed_bid).may_read
    Membership.objects.create(user=evaluator.user, organisation=partner_firm, role=Role.RESEARCHER)
    assert services.bid_access(evaluator, sealed_bid).state == "recused"
    quality, _price = criteria(opened)
    with pytest.raises(ProcurementError, match="Aalto Care Research"):
        services.score_bid(evaluator, sealed_bid, quality, 7, "Good.", acting_user=evaluator.user)


def test_declaring_a_conflict_later_withdraws_the_evaluator_scores(opened, sealed_bid, panel):
    evaluator = panel["evaluator"]
    score_everything(opened, sealed_bid, [evaluator], [7, 6])
    services.declare_conflict(
        evaluator,
        sealed_bid,
        has_conflict=True,
        relationship="I just learned of a tie.",
        acting_user=evaluator.user,
    )
    assert not Score.objects.filter(evaluator=evaluator).exists()
    assert services.bid_access(evaluator, sealed_bid).state == "recused"


# ------------------------------------------------------------------------------------------------ scores


def test_scoring_needs_a_declaration_a_score_in_range_and_a_justification(opened, sealed_bid, panel):
    evaluator = panel["evaluator"]
    quality, _price = criteria(opened)
    with pytest.raises(ProcurementError, match="Declare"):
        services.score_bid(evaluator, sealed_bid, quality, 7, "Good.", acting_user=evaluator.user)
    services.declare_conflict(evaluator, sealed_bid, has_conflict=False, acting_user=evaluator.user)
    with pytest.raises(ProcurementError, match="from 0 to 10"):
        services.score_bid(evaluator, sealed_bid, quality, 11, "Too good.", acting_user=evaluator.user)
    with pytest.raises(ProcurementError, match="Justify"):
        services.score_bid(evaluator, sealed_bid, quality, 7, "  ", acting_user=evaluator.user)
    services.score_bid(evaluator, sealed_bid, quality, D("7.5"), "Clear design.", acting_user=evaluator.user)
    assert Score.objects.get().score == D("7.5")


def test_scores_are_editable_until_the_consensus_is_recorded(opened, sealed_bid, panel):
    evaluator, chair = panel["evaluator"], panel["chair"]
    quality, _price = criteria(opened)
    score_everything(opened, sealed_bid, [evaluator, chair], [6, 5])
    services.score_bid(
        evaluator, sealed_bid, quality, 8, "On reflection, stronger.", acting_user=evaluator.user
    )
    assert Score.objects.get(evaluator=evaluator, criterion=quality).score == 8
    services.record_consensus(sealed_bid, quality, 7, "Agreed at the panel meeting.", acting_user=chair.user)
    with pytest.raises(ProcurementError, match="final"):
        services.score_bid(evaluator, sealed_bid, quality, 9, "Even better.", acting_user=evaluator.user)
    assert Score.objects.get(evaluator=evaluator, criterion=quality).score == 8


def test_record_consensus_lists_the_evaluators_who_have_not_scored(opened, sealed_bid, panel, procurer):
    evaluator, chair = panel["evaluator"], panel["chair"]
    quality, _price = criteria(opened)
    score_everything(opened, sealed_bid, [chair], [6, 5])
    with pytest.raises(ProcurementError) as refused:
        services.record_consensus(sealed_bid, quality, 6, "Agreed.", acting_user=procurer)
    assert str(evaluator.user) in refused.value.message
    assert str(chair.user) not in refused.value.message
    assert not ConsensusScore.objects.exists()
    # A recused evaluator is not waited for.
    services.declare_conflict(
        evaluator, sealed_bid, has_conflict=True, relationship="Shareholder.", acting_user=evaluator.user
    )
    services.record_consensus(sealed_bid, quality, 6, "Agreed.", acting_user=procurer)
    assert ConsensusScore.objects.get().score == 6


def test_an_ordinary_evaluator_cannot_record_the_consensus(opened, sealed_bid, panel):
    evaluator, chair = panel["evaluator"], panel["chair"]
    quality, _price = criteria(opened)
    score_everything(opened, sealed_bid, [evaluator, chair], [6, 5])
    with pytest.raises(ProcurementError, match="chair"):
        services.record_consensus(sealed_bid, quality, 6, "Agreed.", acting_user=evaluator.user)


def test_a_recused_chair_cannot_record_that_bid_consensus(opened, sealed_bid, panel, procurer):
    evaluator, chair = panel["evaluator"], panel["chair"]
    services.declare_conflict(
        chair, sealed_bid, has_conflict=True, relationship="Co-author.", acting_user=chair.user
    )
    score_everything(opened, sealed_bid, [evaluator], [6, 5])
    quality, _price = criteria(opened)
    with pytest.raises(ProcurementError):
        services.record_consensus(sealed_bid, quality, 6, "Agreed.", acting_user=chair.user)
    services.record_consensus(sealed_bid, quality, 6, "Agreed.", acting_user=procurer)


# ------------------------------------------------------------------------------------------------ ranking


def test_rank_bids_matches_a_hand_computed_case():
    a = CriterionFacts(pk=1, weight=D("60"), max_score=10, threshold=D("4"))
    b = CriterionFacts(pk=2, weight=D("40"), max_score=5, threshold=D("0"))
    t0 = timezone.now()
    candidates = [
        Candidate(1, {1: D("8"), 2: D("3")}, D("100"), t0 + timedelta(hours=2)),  # 48 + 24 = 72
        Candidate(2, {1: D("9"), 2: D("2")}, D("80"), t0),  # 54 + 16 = 70
        Candidate(3, {1: D("3.5"), 2: D("5")}, D("50"), t0),  # 21 + 40 = 61, but 3.5 < 4 on A
        Candidate(4, {1: D("6"), 2: D("1.5")}, D("50"), t0),  # 36 + 12 = 48 < pass mark 60
        Candidate(5, {1: D("8"), 2: D("3")}, D("90"), t0 + timedelta(hours=3)),  # 72, cheaper than 1 and 6
        Candidate(
            6, {1: D("8"), 2: D("3")}, D("100"), t0 + timedelta(hours=1)
        ),  # 72, same price as 1, earlier
        Candidate(7, {1: D("10")}, D("10"), t0),  # no consensus on B yet
        Candidate(8, {1: D("7"), 2: D("4")}, None, t0),  # 42 + 32 = 74
    ]
    ranking = rank_bids([a, b], candidates, pass_mark=D("60"))
    assert [(r.bid_id, r.total, r.rank) for r in ranking] == [
        (8, D("74.00"), 1),
        (5, D("72.00"), 2),
        (6, D("72.00"), 3),
        (1, D("72.00"), 4),
        (2, D("70.00"), 5),
        (3, D("61.00"), None),
        (4, D("48.00"), None),
        (7, None, None),
    ]
    by_id = {r.bid_id: r for r in ranking}
    assert by_id[3].below_threshold == (1,) and not by_id[3].below_pass_mark and not by_id[3].passed
    assert by_id[4].below_pass_mark and by_id[4].below_threshold == ()
    assert not by_id[7].complete


def test_weighted_total_rounds_to_the_cent_on_a_hundred_point_scale():
    criteria_ = [CriterionFacts(1, D("70"), 9), CriterionFacts(2, D("30"), 10)]
    # 7/9 × 70 = 54.444…, 5/10 × 30 = 15
    assert services.weighted_total(criteria_, {1: D("7"), 2: D("5")}) == D("69.44")


def test_the_overview_applies_the_thresholds_to_the_recorded_consensus(opened, sealed_bid, rival_bid, panel):
    evaluator, chair = panel["evaluator"], panel["chair"]
    quality, _price = criteria(opened)
    type(quality).objects.filter(pk=quality.pk).update(threshold=D("6"))
    # HomeSense: 5 on quality (under 6) and 10 on price → 30 + 40 = 70, above the pass mark but failing.
    score_everything(opened, sealed_bid, [evaluator, chair], [5, 10], consensus_by=chair.user)
    # Loire Care: 8 and 6 → 48 + 24 = 72.
    score_everything(opened, rival_bid, [evaluator, chair], [8, 6], consensus_by=chair.user)
    evaluation = services.evaluate_phase(opened)
    assert evaluation.complete
    results = [(row.bid, result.total, result.passed, result.rank) for result, row in evaluation.ranking]
    assert results == [(rival_bid, D("72.00"), True, 1), (sealed_bid, D("70.00"), False, None)]


def test_the_evaluation_progress_counts_each_evaluator_state(opened, sealed_bid, rival_bid, panel, authority):
    evaluator, chair = panel["evaluator"], panel["chair"]
    services.declare_conflict(
        evaluator, rival_bid, has_conflict=True, relationship="Advisor.", acting_user=evaluator.user
    )
    score_everything(opened, sealed_bid, [evaluator], [7, 7])
    evaluation = services.evaluate_phase(opened)
    states = {
        (row.bid.pk, cell["evaluator"].pk): (cell["state"], cell["scored"])
        for row in evaluation.rows
        for cell in row.cells
    }
    assert states[(sealed_bid.pk, evaluator.pk)] == ("scored", 2)
    assert states[(rival_bid.pk, evaluator.pk)] == ("recused", 0)
    assert states[(sealed_bid.pk, chair.pk)] == ("undeclared", 0)
    [mine] = services.evaluator_assignments(evaluator.user)
    assert (mine["bids"], mine["to_declare"], mine["recused"], mine["scores_to_give"]) == (2, 0, 1, 0)
    [chairs] = services.evaluator_assignments(chair.user)
    assert (chairs["to_declare"], chairs["scores_to_give"]) == (2, 4)
    [progress] = services.evaluation_progress(authority)
    assert (progress["bids"], progress["panel"], progress["agreed"], progress["needed"]) == (2, 2, 0, 4)
