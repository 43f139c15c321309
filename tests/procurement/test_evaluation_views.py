"""The evaluation overview, the evaluator's pages, the award page and the contract page."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from livinglab.factories import MembershipFactory, UserFactory
from livinglab.models import Role
from pilots.models import Campaign
from procurement.factories import BidFactory, ConsortiumFactory
from procurement.models import (
    AwardDecision,
    ConflictDeclaration,
    ConsensusScore,
    Contract,
    Evaluator,
    Milestone,
    Phase,
    Score,
)
from procurement.services import awards as award_services
from procurement.services import evaluation as services
from tests.conftest import with_totp

D = Decimal
SUMMARY = "A sensor-free fall-detection service built on home-care visits."
OVERVIEW_MAX_QUERIES = 14  # the same for 3 and for 12 bids


@pytest.fixture
def chair_user(authority, call, accept):
    user = MembershipFactory(
        organisation=authority, role=Role.EVALUATOR, user=UserFactory(email="chair@example.org")
    ).user
    return accept(with_totp(user), call, authority)


@pytest.fixture
def panel(phase1, procurer, evaluator_user, chair_user):
    return {
        "evaluator": services.assign_evaluator(phase1, evaluator_user, acting_user=procurer),
        "chair": services.assign_evaluator(phase1, chair_user, Evaluator.Role.CHAIR, acting_user=procurer),
    }


def overview_url(phase):
    return reverse("procurement:evaluation", args=[phase.procurement.slug, phase.number])


def bid_url(bid):
    return reverse("procurement:evaluate_bid", args=[bid.pk])


def add_evaluated_bids(phase, evaluators, count):
    """``count`` more submitted bids, each declared on, scored and agreed by the whole panel (rows written
    directly: this is the state the overview reads, not the behaviour under test)."""
    criteria = list(phase.criteria.all())
    for n in range(count):
        consortium = ConsortiumFactory(procurement=phase.procurement)
        bid = BidFactory(phase=phase, consortium=consortium, content__price=D(90000 + n * 1000))
        for evaluator in evaluators:
            ConflictDeclaration.objects.create(
                evaluator=evaluator, bid=bid, has_conflict=n % 5 == 4 and evaluator == evaluators[0]
            )
            for criterion in criteria:
                Score.objects.create(
                    evaluator=evaluator, bid=bid, criterion=criterion, score=5 + n % 5, justification="ok"
                )
        for criterion in criteria:
            ConsensusScore.objects.create(
                bid=bid, criterion=criterion, score=5 + n % 5, justification="agreed"
            )


# ------------------------------------------------------------------------------------------------ overview


def test_the_overview_query_count_does_not_grow_with_the_number_of_bids(
    client, phase1, panel, procurer, pass_deadline, django_assert_max_num_queries
):
    evaluators = [panel["evaluator"], panel["chair"]]
    add_evaluated_bids(phase1, evaluators, 3)
    pass_deadline(phase1)
    client.force_login(procurer)
    with django_assert_max_num_queries(OVERVIEW_MAX_QUERIES):
        response = client.get(overview_url(phase1))
    assert response.status_code == 200
    with CaptureQueriesContext(connection) as three:
        client.get(overview_url(phase1))
    add_evaluated_bids(phase1, evaluators, 9)
    with django_assert_max_num_queries(OVERVIEW_MAX_QUERIES):
        response = client.get(overview_url(phase1))
    with CaptureQueriesContext(connection) as twelve:
        client.get(overview_url(phase1))
    assert len(three) == len(twelve)
    page = response.content.decode()
    assert page.count("Recused (conflict)") == 1  # the fifth of the nine added, for the first evaluator
    assert "Consensus scores recorded: 24 of 24." in page
    assert "ranking-totals" in page  # the chart of the totals


def test_the_overview_says_the_bids_are_sealed_until_the_deadline_in_the_authority_time_zone(
    client, phase1, sealed_bid, panel, procurer
):
    client.force_login(procurer)
    page = client.get(overview_url(phase1)).content.decode()
    assert "The bids are sealed until" in page and "Europe/Helsinki" in page
    assert "HomeSense" not in page  # no ranking, no statuses before the deadline
    assert str(panel["evaluator"].user) in page


def test_the_overview_is_for_procurers_and_the_chair_and_sends_evaluators_to_their_bids(
    client, phase1, panel, bidder, pass_deadline
):
    pass_deadline(phase1)
    client.force_login(panel["evaluator"].user)
    response = client.get(overview_url(phase1))
    assert response.url == reverse("procurement:evaluation_bids", args=[panel["evaluator"].pk])
    client.force_login(bidder)
    assert client.get(overview_url(phase1)).status_code == 403
    client.force_login(panel["chair"].user)
    assert client.get(overview_url(phase1)).status_code == 200


def test_a_procurer_appoints_the_panel_and_sees_why_a_bidder_cannot_sit_on_it(
    client, phase1, sealed_bid, procurer, evaluator_user, partner_user
):
    client.force_login(procurer)
    response = client.post(
        overview_url(phase1), {"action": "assign", "email": partner_user.email, "role": "evaluator"}
    )
    assert response.status_code == 200
    assert "Aalto Care Research" in response.content.decode()
    assert not Evaluator.objects.exists()
    response = client.post(
        overview_url(phase1), {"action": "assign", "email": evaluator_user.email, "role": "chair"}
    )
    assert response.status_code == 302
    assert Evaluator.objects.get().role == Evaluator.Role.CHAIR


# ---------------------------------------------------------------------------------------- evaluator pages


def test_an_evaluator_declares_before_seeing_the_bid_then_reads_and_scores_it(
    client, phase1, sealed_bid, panel, pass_deadline
):
    pass_deadline(phase1)
    evaluator = panel["evaluator"]
    client.force_login(evaluator.user)
    page = client.get(bid_url(sealed_bid)).content.decode()
    assert "Your declaration of interests" in page
    assert SUMMARY not in page and "Aalto Care Research" not in page
    response = client.post(bid_url(sealed_bid), {"action": "declare", "has_conflict": "no"})
    assert response.status_code == 302
    page = client.get(bid_url(sealed_bid)).content.decode()
    assert SUMMARY in page and "Aalto Care Research" in page
    quality = phase1.criteria.get(position=1)
    response = client.post(
        bid_url(sealed_bid),
        {
            "action": "score",
            "criterion": quality.pk,
            f"s{quality.pk}-score": "7.5",
            f"s{quality.pk}-justification": "A realistic design.",
        },
    )
    assert response.status_code == 302
    assert Score.objects.get(evaluator=evaluator, criterion=quality).score == D("7.5")


def test_a_recused_evaluator_never_sees_the_bid_content_and_cannot_score_it(
    client, phase1, sealed_bid, panel, pass_deadline
):
    pass_deadline(phase1)
    evaluator = panel["evaluator"]
    client.force_login(evaluator.user)
    client.post(
        bid_url(sealed_bid),
        {"action": "declare", "has_conflict": "yes", "relationship": "I consult for them."},
    )
    page = client.get(bid_url(sealed_bid)).content.decode()
    assert "You are recused from this bid" in page
    assert SUMMARY not in page and "Aalto Care Research" not in page
    quality = phase1.criteria.get(position=1)
    client.post(
        bid_url(sealed_bid),
        {
            "action": "score",
            "criterion": quality.pk,
            f"s{quality.pk}-score": "9",
            f"s{quality.pk}-justification": "x",
        },
    )
    assert not Score.objects.exists()


def test_the_evaluator_page_is_sealed_before_the_deadline(client, phase1, sealed_bid, panel):
    client.force_login(panel["evaluator"].user)
    page = client.get(bid_url(sealed_bid)).content.decode()
    assert "The bids are sealed until" in page and "Europe/Helsinki" in page
    assert "Your declaration of interests" not in page
    client.post(bid_url(sealed_bid), {"action": "declare", "has_conflict": "no"})
    assert not ConflictDeclaration.objects.exists()


def test_the_evaluator_page_does_not_exist_for_bidders_and_outsiders(
    client, phase1, sealed_bid, panel, bidder, rival, pass_deadline
):
    pass_deadline(phase1)
    for user in (bidder, rival):
        client.force_login(user)
        assert client.get(bid_url(sealed_bid)).status_code == 404


def test_the_chair_records_the_consensus_on_the_bid_page(client, phase1, sealed_bid, panel, pass_deadline):
    pass_deadline(phase1)
    chair, evaluator = panel["chair"], panel["evaluator"]
    quality = phase1.criteria.get(position=1)
    for member in (chair, evaluator):
        services.declare_conflict(member, sealed_bid, has_conflict=False, acting_user=member.user)
    services.score_bid(chair, sealed_bid, quality, 8, "Strong.", acting_user=chair.user)
    client.force_login(chair.user)
    data = {
        "action": "consensus",
        "criterion": quality.pk,
        f"k{quality.pk}-score": "8",
        f"k{quality.pk}-justification": "Agreed.",
    }
    response = client.post(bid_url(sealed_bid), data)
    assert response.status_code == 200 and str(evaluator.user) in response.content.decode()  # still to score
    services.score_bid(evaluator, sealed_bid, quality, 7, "Good.", acting_user=evaluator.user)
    assert client.post(bid_url(sealed_bid), data).status_code == 302
    assert ConsensusScore.objects.get(bid=sealed_bid, criterion=quality).score == 8


def test_the_evaluator_workspace_lists_the_declarations_to_make(
    client, phase1, sealed_bid, panel, pass_deadline
):
    pass_deadline(phase1)
    client.force_login(panel["evaluator"].user)
    page = client.get(reverse("procurement:my_evaluations")).content.decode()
    assert "Living at home longer in Espoo" in page
    page = client.get(reverse("procurement:evaluation_bids", args=[panel["evaluator"].pk])).content.decode()
    assert "Declaration to make" in page and bid_url(sealed_bid) in page


# --------------------------------------------------------------------------------------- award and contract


def judge_everything(phase, panel):
    for bid in phase.bids.all():
        for member in panel.values():
            services.declare_conflict(member, bid, has_conflict=False, acting_user=member.user)
            for criterion, value in zip(phase.criteria.order_by("position"), (9, 6), strict=True):
                services.score_bid(member, bid, criterion, value, "Fine.", acting_user=member.user)
        for criterion, value in zip(phase.criteria.order_by("position"), (9, 6), strict=True):
            services.record_consensus(bid, criterion, value, "Agreed.", acting_user=panel["chair"].user)


def test_the_procurer_decides_the_award_on_the_award_page_once_the_consensus_is_complete(
    client, phase1, sealed_bid, panel, procurer, bidder, pass_deadline, django_capture_on_commit_callbacks
):
    pass_deadline(phase1)
    url = reverse("procurement:award", args=[phase1.procurement.slug, 1])
    client.force_login(procurer)
    page = client.get(url).content.decode()
    assert "Still missing" in page and "Quality of the solution design" in page
    judge_everything(phase1, panel)
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(url, {"action": "decide", "reasons": "The most convincing design."})
    assert response.status_code == 302
    assert AwardDecision.objects.get().status == AwardDecision.Status.STANDSTILL
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["bidder@example.org"]
    page = client.get(url).content.decode()
    assert "Successful" in page and "Withdraw the decision" in page


def test_the_contract_page_is_for_the_procurer_compliance_and_the_contractor_only(
    client, phase1, sealed_bid, panel, procurer, bidder, partner_user, rival, compliance_user, pass_deadline
):
    pass_deadline(phase1)
    judge_everything(phase1, panel)
    decision = award_services.decide_award(phase1, "Reasons.", acting_user=procurer)
    AwardDecision.objects.filter(pk=decision.pk).update(
        standstill_ends_at=timezone.now() - timedelta(seconds=1)
    )
    award_services.finalise_award(decision, acting_user=procurer)
    contract = Contract.objects.get()
    url = reverse("procurement:contract", args=[contract.pk])
    for user in (procurer, compliance_user, bidder, partner_user):
        client.force_login(user)
        response = client.get(url)
        assert response.status_code == 200 and "Interim deliverable" in response.content.decode()
    client.force_login(rival)
    assert client.get(url).status_code == 404
    client.force_login(bidder)
    client.post(url, {"action": "sign"})
    contract.refresh_from_db()
    assert contract.status == Contract.Status.PENDING
    client.force_login(procurer)
    client.post(url, {"action": "sign"})
    interim = contract.milestones.order_by("due_on").first()
    client.post(url, {"action": "milestone", "milestone": interim.pk, "to": "delivered"})
    interim.refresh_from_db()
    assert interim.status == Milestone.Status.DELIVERED
    assert "Open the field test campaign" not in client.get(url).content.decode()  # phase 1 is not the last


def test_the_contract_page_of_the_last_phase_opens_the_field_test(
    client, call, phase1, sealed_bid, panel, procurer, pass_deadline
):
    Phase.objects.filter(procurement=call, number__gt=1).delete()
    pass_deadline(phase1)
    judge_everything(phase1, panel)
    decision = award_services.decide_award(phase1, "Reasons.", acting_user=procurer)
    AwardDecision.objects.filter(pk=decision.pk).update(
        standstill_ends_at=timezone.now() - timedelta(seconds=1)
    )
    award_services.finalise_award(decision, acting_user=procurer)
    url = reverse("procurement:contract", args=[Contract.objects.get().pk])
    client.force_login(procurer)
    assert "Open the field test campaign" in client.get(url).content.decode()
    assert client.post(url, {"action": "field_test"}).status_code == 302
    campaign = Campaign.objects.get()
    page = client.get(url).content.decode()
    assert campaign.title in page and "Open the field test campaign" not in page
