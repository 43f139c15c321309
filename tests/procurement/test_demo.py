"""The demo's procurements keep their promises: a home-care PCP in phase 2 after a market consultation, a
conflict-free evaluation and a final phase-1 award; a second call open for bids; public notices for both;
workspaces with something to do; open contracting data that validates; built once however often the seeder
runs."""

import importlib.util

import pytest
from django.core.management import call_command
from django.db import transaction
from django.test import Client
from django.urls import reverse

from cms.models import CallNoticePage, ChallengeNoticePage, ProcurementIndexPage
from livinglab import audit
from livinglab.models import GroundRulesAcceptance, User
from procurement.demo import COMPANION, HOME_CARE, seed_procurement
from procurement.models import (
    Award,
    AwardDecision,
    Bid,
    BidContent,
    Clarification,
    ConflictDeclaration,
    ConsensusScore,
    Consortium,
    ConsultationInput,
    Contract,
    GiftDeclaration,
    Interaction,
    Milestone,
    Phase,
    Procurement,
    Registration,
    Score,
)
from tests.conftest import with_totp

MODELS = (
    Procurement,
    Phase,
    Registration,
    ConsultationInput,
    Consortium,
    Bid,
    Clarification,
    ConflictDeclaration,
    Score,
    ConsensusScore,
    AwardDecision,
    Contract,
    Milestone,
    Interaction,
    GiftDeclaration,
)


def counts() -> dict[str, int]:
    found = {model.__name__: model.objects.count() for model in MODELS}
    found["notices"] = ChallengeNoticePage.objects.count() + CallNoticePage.objects.count()
    return found


@pytest.fixture(scope="module")
def demo_world(django_db_setup, django_db_blocker):
    """The demo world with its procurements, built once for this module and rolled back after it."""
    with django_db_blocker.unblock(), transaction.atomic():
        call_command("seed_demo", verbosity=0)
        yield counts()
        transaction.set_rollback(True)


@pytest.fixture
def seeded(demo_world, db):
    return demo_world


@pytest.fixture
def home_care(seeded):
    return Procurement.objects.get(slug=HOME_CARE)


@pytest.fixture
def companion(seeded):
    return Procurement.objects.get(slug=COMPANION)


def login(email: str) -> Client:
    """Signed in; privileged demo logins get the authenticator they would enrol on their first visit."""
    user = User.objects.get(email=email)
    if not user.authenticator_set.exists():
        with_totp(user)
    client = Client()
    client.force_login(user)
    return client


def workspace(email: str, organisation_slug: str) -> str:
    response = login(email).get(reverse("organisation_workspace", args=[organisation_slug]))
    assert response.status_code == 200, email
    return response.content.decode()


def test_seeding_the_procurements_again_adds_nothing_and_the_audit_chain_holds(seeded):
    seed_procurement()
    call_command("seed_demo", verbosity=0)

    assert counts() == seeded
    assert audit.verify_chain()[1] == []


def test_the_home_care_procurement_is_in_phase_two_after_a_final_phase_one_award(home_care):
    phases = {p.number: p for p in home_care.phases.all()}

    assert home_care.status == Procurement.Status.CALL
    assert home_care.buyer.kind == "public_authority" and home_care.time_zone == "Europe/Helsinki"
    assert phases[1].status == Phase.Status.COMPLETED
    assert phases[2].status == Phase.Status.OPEN and phases[2].accepts_bids()
    assert phases[3].status == Phase.Status.PLANNED
    decision = AwardDecision.objects.get(phase=phases[1])
    assert decision.status == AwardDecision.Status.FINAL
    winners = set(
        Award.objects.filter(decision=decision, successful=True).values_list(
            "bid__consortium__name", flat=True
        )
    )
    assert winners == {"HomeSense", "CareWave"}
    assert (
        Award.objects.filter(decision=decision, successful=False).get().bid.consortium.name
        == "Warm Home Alliance"
    )
    contracts = Contract.objects.filter(phase=phases[1])
    assert contracts.count() == 2 and set(contracts.values_list("status", flat=True)) == {"completed"}
    assert Milestone.objects.filter(contract__in=contracts, status=Milestone.Status.PAID).count() == 4


def test_only_phase_one_contractors_bid_in_phase_two_and_their_bids_stay_sealed(home_care):
    phase2 = home_care.phases.get(number=2)
    bidders = set(Bid.objects.filter(phase=phase2).values_list("consortium__name", flat=True))

    assert bidders == {"HomeSense", "CareWave"}
    assert set(Bid.objects.filter(phase=phase2).values_list("status", flat=True)) == {Bid.Status.SUBMITTED}
    assert not BidContent.objects.filter(bid__phase=phase2).exists()  # the deadline is still ahead
    assert BidContent.objects.filter(bid__phase__procurement=home_care, bid__phase__number=1).count() == 3


def test_the_market_consultation_left_a_record_of_who_took_part(home_care):
    events = list(home_care.consultation_events.order_by("starts_at"))

    assert len(events) == 2
    assert all(event.attendees.exists() for event in events)
    assert Registration.objects.filter(procurement=home_care, stage="consultation").count() >= 5
    assert ConsultationInput.objects.filter(procurement=home_care).count() == 3
    assert ConsultationInput.objects.filter(procurement=home_care, used_in_specifications=True).exists()
    assert home_care.consultation_summary and home_care.consultation_summary_published_at
    assert home_care.consultation_summary_published_at < home_care.published_at


def test_the_panel_declared_before_scoring_and_one_evaluator_stepped_aside(home_care):
    phase1 = home_care.phases.get(number=1)
    declarations = ConflictDeclaration.objects.filter(bid__phase=phase1)

    assert declarations.count() == 6
    recusal = declarations.get(has_conflict=True)
    assert recusal.relationship
    assert not Score.objects.filter(evaluator=recusal.evaluator, bid=recusal.bid).exists()
    for score in Score.objects.filter(bid__phase=phase1).select_related("evaluator"):
        assert declarations.filter(evaluator=score.evaluator, bid=score.bid, has_conflict=False).exists()
        assert score.justification
    assert ConsensusScore.objects.filter(bid__phase=phase1).count() == 3 * phase1.criteria.count()


def test_clarifications_are_published_pending_and_declined_and_consortia_include_a_cluster_proposal(
    home_care,
):
    statuses = list(
        Clarification.objects.filter(phase__procurement=home_care).values_list("status", flat=True)
    )

    assert statuses.count(Clarification.Status.PUBLISHED) >= 2
    assert Clarification.Status.ASKED in statuses and Clarification.Status.DECLINED in statuses
    for clarification in Clarification.objects.filter(phase__procurement=home_care, status="published"):
        assert clarification.public_question and clarification.answer and clarification.published_at
    consortia = Consortium.objects.filter(procurement=home_care)
    assert consortia.count() == 3
    assert consortia.filter(proposed_by__kind="cluster").count() == 1


def test_the_interaction_register_holds_contacts_and_a_declared_gift(home_care):
    entries = Interaction.objects.filter(procurement=home_care)

    assert entries.count() >= 3
    assert entries.filter(on_behalf_of__isnull=False).exists()
    assert entries.filter(message__isnull=False).exists()
    assert GiftDeclaration.objects.filter(procurement=home_care, outcome="refused").exists()


def test_a_second_call_is_open_for_bids(companion):
    phase1 = companion.phases.get(number=1)

    assert companion.status == Procurement.Status.CALL
    assert phase1.status == Phase.Status.OPEN and phase1.accepts_bids() and phase1.accepts_questions()
    assert Registration.objects.filter(procurement=companion, stage="call").exists()
    assert Consortium.objects.filter(procurement=companion, members__status="invited").exists()


def test_the_public_notices_of_both_procurements_are_published_and_served(home_care, companion):
    index = ProcurementIndexPage.objects.live().get()

    response = Client().get(index.url)

    assert response.status_code == 200
    html = response.content.decode()
    assert "4 notices" in html
    for procurement in (home_care, companion):
        for model in (ChallengeNoticePage, CallNoticePage):
            page = model.objects.live().get(procurement=procurement)
            assert page.get_parent().pk == index.pk
            page_html = Client().get(page.url).content.decode()
            assert procurement.title in page_html and "Europe/Helsinki" in page_html
    call_html = Client().get(CallNoticePage.objects.get(procurement=home_care).url).content.decode()
    assert "May a solution rely on the alarm buttons clients already have?" in call_html
    assert "We at Kerveil" not in call_html
    assert "HomeSense" in call_html  # the phase-1 contractors are public


def test_the_demo_logins_find_the_procurements_in_their_workspaces(home_care):
    procurer_html = workspace("procurer@demo.livinglab.eu", home_care.buyer.slug)
    evaluator_html = workspace("evaluator@demo.livinglab.eu", home_care.buyer.slug)
    firm_html = workspace("sme@demo.livinglab.eu", "kerveil-capteurs")
    cluster_html = workspace("manager@demo.livinglab.eu", "armor-medias-reseaux")

    assert "Living at home longer" in procurer_html and "Phase 2: 2 bids" in procurer_html
    assert (
        "Bids to evaluate" in evaluator_html and "The bids stay sealed until the deadline" in evaluator_html
    )
    assert "HomeSense" in firm_html and "Successful" in firm_html
    assert "Warm Home Alliance" in cluster_html and "Digital companion against loneliness" in cluster_html


def test_the_documented_sme_login_still_has_the_new_platform_code_to_accept(seeded):
    user = User.objects.get(email="sme@demo.livinglab.eu")
    assert not GroundRulesAcceptance.objects.filter(
        user=user, version__rules__title="Platform code of conduct", version__number=2
    ).exists()


@pytest.mark.skipif(importlib.util.find_spec("procurement.ocds") is None, reason="no OCDS export yet")
def test_every_ocds_release_of_the_demo_validates_against_the_schema_and_codelists(home_care, companion):
    from tests.procurement.test_ocds import assert_codelists, assert_valid, releases_by_ocid

    releases = []
    for procurement in (home_care, companion):
        found = releases_by_ocid(procurement)
        assert set(found) >= {
            procurement.ocid,
            *(p.ocid for p in procurement.phases.exclude(status="planned")),
        }
        releases += [release for ocid_releases in found.values() for release in ocid_releases]
    for release in releases:
        assert_valid(release, "release-schema.json")
    assert_codelists(releases)
    tags = {tag for release in releases for tag in release["tag"]}
    assert {"planning", "tender", "award", "contract"} <= tags
