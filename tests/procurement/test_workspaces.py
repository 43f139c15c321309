"""The procurement part of the workspaces: the authority's procurements and evaluation progress, the
evaluator's to-do list, the firm's calls, consortia and bids, the cluster's brokered calls. Each person sees
what they act on, bid content never appears, and the number of queries does not grow with the lists."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from livinglab.factories import MembershipFactory, UserFactory
from livinglab.models import Role
from procurement.factories import (
    AwardCriterionFactory,
    BidFactory,
    ConsortiumFactory,
    ConsortiumMemberFactory,
    PhaseFactory,
    ProcurementFactory,
)
from procurement.models import (
    Award,
    AwardDecision,
    Bid,
    ConflictDeclaration,
    ConsensusScore,
    Consortium,
    ConsortiumMember,
    Contract,
    Evaluator,
    Interaction,
    Phase,
    Procurement,
    Registration,
    Score,
)

SEALED_SUMMARY = "A sensor-free fall-detection service built on home-care visits."


def workspace(user, organisation, **params) -> str:
    client = Client()
    client.force_login(user)
    response = client.get(reverse("organisation_workspace", args=[organisation.slug]), params)
    assert response.status_code == 200
    return response.content.decode()


def url_or_none(name, *args):
    try:
        return reverse(name, args=args)
    except NoReverseMatch:  # that part of the procurement site is not there
        return None


def to_evaluation(phase):
    """Past the deadline and under evaluation, as if the procurer had closed the phase."""
    Phase.objects.filter(pk=phase.pk).update(
        status=Phase.Status.EVALUATION,
        bid_deadline=timezone.now() - timedelta(hours=1),
        question_deadline=timezone.now() - timedelta(days=2),
    )
    phase.refresh_from_db()
    return phase


def evaluator(phase, user):
    return Evaluator.objects.create(phase=phase, user=user)


def score_all(bid, panel_member, *, skip=0):
    for criterion in list(bid.phase.criteria.all())[skip:]:
        Score.objects.create(
            evaluator=panel_member, bid=bid, criterion=criterion, score=Decimal("7"), justification="Sound."
        )


@pytest.fixture
def rival_bid(phase1, rival_consortium):
    return BidFactory(
        phase=phase1, consortium=rival_consortium, content__summary="Loire's secret design, never shown."
    )


# ---------------------------------------------------------------------------------------- authority


def test_the_authority_sees_its_procurements_next_deadline_and_how_many_bids_arrived_but_never_what_they_say(
    procurer, authority, call, sealed_bid, rival_bid
):
    html = workspace(procurer, authority)

    assert "Pre-commercial procurements" in html
    assert "Living at home longer in Espoo" in html
    assert "Call published" in html and "Phase 1: Open for bids" in html
    assert "Phase 1: deadline for questions" in html and "Europe/Helsinki time" in html
    assert "Phase 1: 2 bids" in html
    assert "Procurements by status" in html
    assert SEALED_SUMMARY not in html and "Loire&#x27;s secret design" not in html
    assert "120,000" not in html and "120000" not in html
    detail_url = url_or_none("procurement:detail", call.slug)
    if detail_url:
        assert detail_url in html


def test_the_authority_follows_evaluation_progress_as_n_of_m(
    procurer, authority, call, phase1, sealed_bid, rival_bid, evaluator_user
):
    to_evaluation(phase1)
    second = UserFactory(email="second-evaluator@example.org")
    MembershipFactory(organisation=authority, role=Role.EVALUATOR, user=second)
    first_member, second_member = evaluator(phase1, evaluator_user), evaluator(phase1, second)
    # Three declarations of four; the second evaluator steps aside from the rival's bid.
    ConflictDeclaration.objects.create(evaluator=first_member, bid=sealed_bid, has_conflict=False)
    ConflictDeclaration.objects.create(evaluator=first_member, bid=rival_bid, has_conflict=False)
    ConflictDeclaration.objects.create(
        evaluator=second_member, bid=rival_bid, has_conflict=True, relationship="My brother works there."
    )
    score_all(sealed_bid, first_member)  # 2 scores of (2 evaluators x 2 bids - 1 recusal) x 2 criteria
    criterion = phase1.criteria.first()
    ConsensusScore.objects.create(
        bid=sealed_bid, criterion=criterion, score=Decimal("7"), justification="Agreed."
    )

    html = workspace(procurer, authority)

    assert "Declarations made</dt><dd>3 of 4</dd>" in html
    assert "Scores recorded</dt><dd>2 of 6</dd>" in html
    assert "Consensus recorded</dt><dd>1 of 4</dd>" in html
    assert "My brother works there." not in html


def test_an_authority_lists_its_running_procurements_first_and_pages_through_the_rest(
    procurer, authority, call
):
    for n in range(6):
        ProcurementFactory(
            buyer=authority, title=f"Finished challenge {n}", status=Procurement.Status.COMPLETED
        )

    first = workspace(procurer, authority)
    second = workspace(procurer, authority, pcp=2)

    assert "Living at home longer in Espoo" in first
    assert "7 procurements, still running ones first" in first
    assert "Page 1 of 2" in first
    assert sum(f"Finished challenge {n}" in second for n in range(6)) == 2


def test_an_evaluator_without_the_procurer_role_sees_only_their_own_assignments(
    evaluator_user, authority, call, phase1, sealed_bid
):
    html = workspace(evaluator_user, authority)

    assert "Pre-commercial procurements" not in html
    assert "Bids to evaluate" not in html  # not on any panel yet

    evaluator(phase1, evaluator_user)
    html = workspace(evaluator_user, authority)
    assert "Bids to evaluate" in html
    assert "The bids stay sealed until the deadline" in html
    assert "Bid #" not in html


# ---------------------------------------------------------------------------------------- evaluator


def test_an_evaluator_sees_the_bids_awaiting_their_declaration_and_the_scores_they_have_left(
    evaluator_user, authority, call, phase1, consortium, sealed_bid, rival_bid, other_sme
):
    third = BidFactory(
        phase=phase1, consortium=ConsortiumFactory(procurement=call, name="Nordic Care", lead=other_sme)
    )
    to_evaluation(phase1)
    member = evaluator(phase1, evaluator_user)
    ConflictDeclaration.objects.create(evaluator=member, bid=sealed_bid, has_conflict=False)
    score_all(sealed_bid, member, skip=1)  # one criterion of two left
    ConflictDeclaration.objects.create(evaluator=member, bid=third, has_conflict=True)

    html = workspace(evaluator_user, authority)

    assert "1 bid awaits your declaration" in html
    assert f"Declare for bid #{rival_bid.pk} by Loire Care" in html
    assert f"Score bid #{sealed_bid.pk} by HomeSense" in html and "1 criterion left" in html
    assert "1 bid you stepped aside from" in html
    assert "Nordic Care" not in html
    assert SEALED_SUMMARY not in html and "Loire&#x27;s secret design" not in html
    evaluate_url = url_or_none("procurement:evaluate_bid", rival_bid.pk)
    if evaluate_url:
        assert f'href="{evaluate_url}"' in html


def test_an_evaluator_does_not_see_another_evaluators_work_as_their_own(
    evaluator_user, authority, call, phase1, sealed_bid
):
    to_evaluation(phase1)
    evaluator(phase1, evaluator_user)
    colleague = UserFactory(email="colleague@example.org")
    other = evaluator(phase1, colleague)
    ConflictDeclaration.objects.create(evaluator=other, bid=sealed_bid, has_conflict=False)
    score_all(sealed_bid, other)

    html = workspace(evaluator_user, authority)

    assert f"Declare for bid #{sealed_bid.pk} by HomeSense" in html


# --------------------------------------------------------------------------------------------- firm


def test_a_firm_sees_the_calls_it_follows_its_consortia_invitations_and_bids_with_receipts(
    bidder, sme, call, phase1, consortium, sealed_bid, other_sme
):
    Registration.objects.create(procurement=call, organisation=sme, stage=Registration.Stage.CALL)
    invitation = ConsortiumFactory(procurement=call, lead=other_sme, name="Loire Alliance")
    ConsortiumMemberFactory(consortium=invitation, organisation=sme, status=ConsortiumMember.Status.INVITED)

    html = workspace(bidder, sme)

    assert "Public procurement calls" in html
    assert "Calls you follow" in html and "Call for tenders" in html
    assert (
        "1 consortium invitation to answer" in html
        and "Loire Alliance" in html
        and "led by Loire Mobile" in html
    )
    assert "HomeSense" in html and "Lead" in html
    assert f"Bid #{sealed_bid.pk} by HomeSense" in html and "Submitted" in html and "Not decided yet" in html
    assert "Open calls you may bid for" in html and "you are bidding" in html
    assert SEALED_SUMMARY not in html and "120,000" not in html
    receipt_url = url_or_none("procurement:bid_receipt", sealed_bid.pk)
    if receipt_url:
        assert receipt_url in html


def test_a_partner_sees_its_consortium_and_bid_but_a_rival_firm_does_not(
    partner_user, partner_firm, rival, other_sme, sealed_bid
):
    partner_html = workspace(partner_user, partner_firm)
    rival_html = workspace(rival, other_sme)

    assert "HomeSense" in partner_html and "Partner" in partner_html
    assert f"Bid #{sealed_bid.pk} by HomeSense" in partner_html
    assert "HomeSense" not in rival_html
    assert "No bid yet." in rival_html


def test_only_contractors_of_phase_one_see_phase_two_among_the_calls_they_may_bid_for(
    bidder, rival, sme, other_sme, call, phase1, consortium, rival_consortium, sealed_bid, rival_bid
):
    Phase.objects.filter(pk=phase1.pk).update(status=Phase.Status.AWARDED, bid_deadline=timezone.now())
    decision = AwardDecision.objects.create(
        phase=phase1,
        reasons="HomeSense ranked first.",
        status=AwardDecision.Status.FINAL,
        decided_at=timezone.now(),
        standstill_ends_at=timezone.now(),
    )
    winning = Award.objects.create(decision=decision, bid=sealed_bid, successful=True, rank=1)
    Award.objects.create(decision=decision, bid=rival_bid, successful=False, rank=2)
    Contract.objects.create(
        award=winning,
        phase=phase1,
        title="Solution design",
        value=Decimal("100000"),
        starts_on=timezone.localdate(),
        ends_on=timezone.localdate() + timedelta(days=90),
    )
    Phase.objects.filter(procurement=call, number=2).update(
        status=Phase.Status.OPEN, bid_deadline=timezone.now() + timedelta(days=20)
    )

    winner_html = workspace(bidder, sme)
    loser_html = workspace(rival, other_sme)

    assert "phase 2: Prototype development" in winner_html
    assert "Successful" in winner_html
    assert "phase 2: Prototype development" not in loser_html
    assert "Not successful" in loser_html


# ------------------------------------------------------------------------------------------ cluster


def test_cluster_staff_see_brokered_calls_recent_contacts_the_register_and_proposed_consortia(
    intermediary, cluster, call, sme, other_sme, procurer
):
    now = timezone.now()
    for days in (1, 29, 45):
        Interaction.objects.create(
            procurement=call,
            kind=Interaction.Kind.MEETING,
            occurred_at=now - timedelta(days=days),
            subject=f"Meeting {days} days ago",
            summary="Talked about the consultation.",
            participants="Alice Example, Bob Example",
        )
    proposed = Consortium.objects.create(
        procurement=call,
        name="Cluster's pick",
        lead=sme,
        proposed_by=cluster,
        agreement_text="Work share to agree.",
        status=Consortium.Status.PROPOSED,
    )
    ConsortiumMember.objects.create(consortium=proposed, organisation=sme, role=ConsortiumMember.Role.LEAD)
    ConsortiumMember.objects.create(consortium=proposed, organisation=other_sme)
    ProcurementFactory(title="Somebody else's call")

    html = workspace(intermediary, cluster)

    assert "Procurements we broker" in html
    assert "Living at home longer in Espoo" in html and "Somebody else" not in html
    assert "Phase 1: Open for bids" in html and "Phase 2: Planned" in html
    assert "Contacts in the last 30 days" in html and "<td>2" in html
    assert "Alice Example" not in html
    assert "Cluster&#x27;s pick" in html and "0 of 2" in html
    register_url = url_or_none("procurement:register", call.slug)
    if register_url:
        assert register_url in html


def test_other_workspaces_show_no_procurement_section(sme_admin, sme, funder, agency):
    assert "Public procurement calls" in workspace(sme_admin, sme)
    funder_html = workspace(funder, agency)
    for heading in ("Pre-commercial procurements", "Public procurement calls", "Procurements we broker"):
        assert heading not in funder_html


# ------------------------------------------------------------------------------------------ queries


def grow(authority, cluster, sme, partner_firm, evaluator_user, n, start=0):
    """``n`` more procurements of the same authority, each with a phase under evaluation, bids of the firm,
    scores and contacts in the register."""
    for i in range(start, start + n):
        procurement = ProcurementFactory(
            buyer=authority, title=f"Challenge {i}", slug=f"challenge-{i}", intermediaries=[cluster]
        )
        phase = PhaseFactory(procurement=procurement)
        AwardCriterionFactory(phase=phase)
        consortium = ConsortiumFactory(
            procurement=procurement, lead=sme, name=f"Team {i}", proposed_by=cluster
        )
        ConsortiumMemberFactory(consortium=consortium, organisation=partner_firm)
        bid = BidFactory(phase=phase, consortium=consortium)
        to_evaluation(phase)
        member = evaluator(phase, evaluator_user)
        ConflictDeclaration.objects.create(evaluator=member, bid=bid, has_conflict=False)
        Registration.objects.create(procurement=procurement, organisation=sme, stage=Registration.Stage.CALL)
        Interaction.objects.create(
            procurement=procurement,
            kind=Interaction.Kind.CALL,
            occurred_at=timezone.now(),
            subject="Call",
            summary="Questions.",
        )


def test_the_workspaces_run_the_same_number_of_queries_whatever_the_number_of_procurements(
    procurer,
    evaluator_user,
    bidder,
    intermediary,
    authority,
    cluster,
    sme,
    partner_firm,
    call,
    sealed_bid,
    django_assert_max_num_queries,
):
    evaluator(call.phases.get(number=1), evaluator_user)
    MembershipFactory(organisation=authority, role=Role.PROCURER, user=evaluator_user)
    people = [(procurer, authority), (evaluator_user, authority), (bidder, sme), (intermediary, cluster)]

    def queries(user, organisation):
        with CaptureQueriesContext(connection) as captured:
            workspace(user, organisation)
        return len(captured)

    # One of everything first (empty lists skip their queries), then many more.
    grow(authority, cluster, sme, partner_firm, evaluator_user, 1)
    before = [queries(u, o) for u, o in people]
    grow(authority, cluster, sme, partner_firm, evaluator_user, 6, start=1)
    after = [queries(u, o) for u, o in people]

    assert after == before
    with django_assert_max_num_queries(max(after)):
        html = workspace(evaluator_user, authority)
    assert "Challenge 6" in html and "Bids to evaluate" in html


def test_a_procurement_without_phases_or_bids_still_shows_in_every_workspace(
    procurer, authority, intermediary, cluster
):
    ProcurementFactory(
        buyer=authority, title="Early idea", status=Procurement.Status.DRAFT, intermediaries=[cluster]
    )

    assert "Early idea" in workspace(procurer, authority)
    assert "Early idea" in workspace(intermediary, cluster)


def test_withdrawn_bids_keep_their_status_and_offer_no_receipt(bidder, sme, sealed_bid):
    Bid.objects.filter(pk=sealed_bid.pk).update(status=Bid.Status.WITHDRAWN, withdrawn_at=timezone.now())

    html = workspace(bidder, sme)

    assert "Withdrawn" in html
    receipt_url = url_or_none("procurement:bid_receipt", sealed_bid.pk)
    if receipt_url:
        assert receipt_url not in html
