"""The challenge and the structured, phased call: drafting, completeness, publication, the next phases,
cancellation and the call document generated as a PDF."""

import hashlib
import zoneinfo
from datetime import datetime, timedelta
from decimal import Decimal
from io import BytesIO

import pytest
from django.utils import timezone
from pypdf import PdfReader

from livinglab.errors import GroundRulesRequired
from livinglab.factories import MembershipFactory, OrganisationFactory, UserFactory
from livinglab.models import AuditEntry, Organisation, Role
from procurement.errors import ProcurementError
from procurement.models import AwardCriterion, CallDocument, Phase, Procurement
from procurement.services import calls as services
from tests.concurrency import on_postgresql, run_together

HELSINKI = zoneinfo.ZoneInfo("Europe/Helsinki")


@pytest.fixture(autouse=True)
def media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def winter_deadline(day=15, hour=17):
    """A deadline next January in Helsinki (UTC+2 in winter)."""
    return datetime(timezone.now().year + 1, 1, day, hour, 0, tzinfo=HELSINKI)


@pytest.fixture
def draft(procurer, authority, cluster):
    return services.create_procurement(
        buyer=authority,
        title="Home care that sees a fall coming",
        challenge="Older people want to live at home longer, safely.",
        needs="Detect falls and loneliness early, without cameras.",
        expected_outcome="Home-care nurses act before a crisis.",
        budget=Decimal("1000000.00"),
        time_zone="Europe/Helsinki",
        intermediaries=[cluster],
        acting_user=procurer,
    )


def complete(procurement, user):
    """Give every phase criteria adding up to 100 %, phase 1 its deadlines, the call its specifications."""
    services.update_procurement(
        procurement,
        {"specifications": "A service that works with existing home-care visits."},
        acting_user=user,
    )
    for phase in procurement.phases.order_by("number"):
        services.save_criterion(
            phase, {"name": "Quality of the solution", "weight": Decimal("70")}, acting_user=user
        )
        services.save_criterion(
            phase,
            {"name": "Price", "weight": Decimal("30"), "is_price": True, "threshold": Decimal("2")},
            acting_user=user,
        )
    first = procurement.phases.get(number=1)
    services.save_phase(
        first,
        {"question_deadline": winter_deadline(10), "bid_deadline": winter_deadline(15)},
        acting_user=user,
    )
    procurement.refresh_from_db()
    return procurement


@pytest.fixture
def ready(draft, procurer, authority, accept):
    accept(procurer, draft, authority)
    return complete(draft, procurer)


def other_procurer():
    elsewhere = OrganisationFactory(name="City of Turku", kind=Organisation.Kind.PUBLIC_AUTHORITY)
    return MembershipFactory(organisation=elsewhere, role=Role.PROCURER, user=UserFactory()).user


def pdf_text(pdf: bytes) -> str:
    return " ".join(" ".join(page.extract_text() for page in PdfReader(BytesIO(pdf)).pages).split())


# ----------------------------------------------------------------------------------------------- challenge


def test_create_procurement_shares_the_envelope_between_the_default_eu_phases(draft, cluster):
    assert draft.status == Procurement.Status.DRAFT
    assert list(draft.intermediaries.all()) == [cluster]
    phases = list(
        draft.phases.order_by("number").values_list("number", "budget", "max_contractors", "status")
    )
    assert phases == [
        (1, Decimal("100000.00"), 5, "planned"),
        (2, Decimal("300000.00"), 3, "planned"),
        (3, Decimal("600000.00"), 2, "planned"),
    ]
    assert draft.phases.get(number=3).title == "Original development and field testing of first products"
    assert AuditEntry.objects.filter(
        action="procurement.procurement.create", object_id=str(draft.pk)
    ).exists()


def test_create_procurement_gives_the_last_phase_the_cents_left_over(procurer, authority):
    procurement = services.create_procurement(
        buyer=authority,
        title="Odd envelope",
        challenge="c",
        needs="n",
        expected_outcome="o",
        budget=Decimal("1000.05"),
        acting_user=procurer,
    )
    budgets = list(procurement.phases.order_by("number").values_list("budget", flat=True))
    assert budgets == [Decimal("100.00"), Decimal("300.01"), Decimal("600.04")]
    assert sum(budgets) == Decimal("1000.05")


@pytest.mark.parametrize(
    "change, reason",
    [
        ({"budget": Decimal("0")}, "more than zero"),
        ({"time_zone": "Europe/Atlantis"}, "not a known time zone"),
        ({"currency": "E1"}, "three-letter code"),
        ({"needs": ""}, "cannot be blank"),
    ],
)
def test_create_procurement_refuses_an_incomplete_or_wrong_challenge(procurer, authority, change, reason):
    data = {
        "buyer": authority,
        "title": "Living at home",
        "challenge": "c",
        "needs": "n",
        "expected_outcome": "o",
        "budget": Decimal("500000"),
        **change,
    }
    with pytest.raises(ProcurementError, match=reason):
        services.create_procurement(**data, acting_user=procurer)
    assert not Procurement.objects.exists()


def test_create_procurement_refuses_a_buyer_that_is_not_a_public_authority(procurer, sme):
    with pytest.raises(ProcurementError, match="not a public authority"):
        services.create_procurement(
            buyer=sme,
            title="t",
            challenge="c",
            needs="n",
            expected_outcome="o",
            budget=Decimal("1"),
            acting_user=procurer,
        )


def test_create_procurement_refuses_someone_who_is_not_a_procurer_of_the_buyer(authority, sme_admin):
    with pytest.raises(ProcurementError, match="Only the procurers of City of Espoo"):
        services.create_procurement(
            buyer=authority,
            title="t",
            challenge="c",
            needs="n",
            expected_outcome="o",
            budget=Decimal("1"),
            acting_user=other_procurer(),
        )
    with pytest.raises(ProcurementError, match="Only the procurers"):
        services.create_procurement(
            buyer=authority,
            title="t",
            challenge="c",
            needs="n",
            expected_outcome="o",
            budget=Decimal("1"),
            acting_user=sme_admin,
        )


def test_create_procurement_refuses_an_intermediary_that_is_not_a_cluster(procurer, authority, sme):
    with pytest.raises(ProcurementError, match="Breizh Sensors"):
        services.create_procurement(
            buyer=authority,
            title="t",
            challenge="c",
            needs="n",
            expected_outcome="o",
            budget=Decimal("1"),
            intermediaries=[sme],
            acting_user=procurer,
        )


def test_create_procurement_never_takes_a_fixed_word_of_the_site_as_its_address(procurer, authority):
    procurement = services.create_procurement(
        buyer=authority,
        title="OCDS",
        challenge="c",
        needs="n",
        expected_outcome="o",
        budget=Decimal("9"),
        acting_user=procurer,
    )
    assert procurement.slug == "ocds-2"


def test_update_procurement_changes_the_challenge_and_the_risk_benefit_terms_of_a_draft(draft, procurer):
    services.update_procurement(
        draft,
        {"needs": "Works without broadband.", "licensing_rights": "Call-back after two years without sales."},
        intermediaries=[],
        acting_user=procurer,
    )
    draft.refresh_from_db()
    assert draft.needs == "Works without broadband."
    assert draft.licensing_rights == "Call-back after two years without sales."
    assert not draft.intermediaries.exists()
    entry = AuditEntry.objects.get(action="procurement.procurement.update")
    assert entry.data["fields"] == ["intermediaries", "licensing_rights", "needs"]


def test_update_procurement_refuses_an_empty_risk_benefit_term(draft, procurer):
    with pytest.raises(ProcurementError, match="risk-benefit sharing terms"):
        services.update_procurement(draft, {"ipr_terms": "  "}, acting_user=procurer)


def test_update_procurement_refuses_an_envelope_smaller_than_what_the_phases_share(draft, procurer):
    with pytest.raises(ProcurementError, match=r"already share 1,000,000\.00 EUR"):
        services.update_procurement(draft, {"budget": Decimal("900000")}, acting_user=procurer)


def test_update_procurement_refuses_once_the_call_is_published(call, procurer):
    with pytest.raises(ProcurementError, match="its call is published"):
        services.update_procurement(call, {"needs": "Something else"}, acting_user=procurer)


def test_update_procurement_refuses_a_firm_and_another_authoritys_procurer(draft, sme_admin):
    for user in (sme_admin, other_procurer()):
        with pytest.raises(ProcurementError, match="Only the procurers of City of Espoo"):
            services.update_procurement(draft, {"needs": "x"}, acting_user=user)


def test_update_procurement_refuses_fields_that_are_not_the_challenge(draft, procurer):
    with pytest.raises(ProcurementError, match="status"):
        services.update_procurement(draft, {"status": "call"}, acting_user=procurer)


# -------------------------------------------------------------------------------------------------- phases


def test_save_phase_stores_budget_contractors_deliverables_and_deadlines(draft, procurer):
    phase = draft.phases.get(number=2)
    services.save_phase(
        phase,
        {
            "budget": Decimal("250000"),
            "max_contractors": 4,
            "duration_months": 8,
            "deliverables": "Prototypes tested in a lab flat.",
            "pass_mark": Decimal("65"),
            "standstill_days": 14,
        },
        acting_user=procurer,
    )
    phase.refresh_from_db()
    assert (phase.budget, phase.max_contractors, phase.duration_months, phase.standstill_days) == (
        Decimal("250000"),
        4,
        8,
        14,
    )
    assert phase.deliverables == "Prototypes tested in a lab flat."


def test_save_phase_refuses_phase_budgets_above_the_envelope(draft, procurer):
    phase = draft.phases.get(number=1)
    with pytest.raises(
        ProcurementError, match=r"1,000,000\.01 EUR, more than the budget envelope of 1,000,000\.00"
    ):
        services.save_phase(phase, {"budget": Decimal("100000.01")}, acting_user=procurer)
    phase.refresh_from_db()
    assert phase.budget == Decimal("100000.00")


def test_save_phase_refuses_a_deadline_in_the_past_and_names_it_in_the_authoritys_zone(draft, procurer):
    phase = draft.phases.get(number=1)
    past = datetime(2020, 1, 15, 17, 0, tzinfo=HELSINKI)
    with pytest.raises(
        ProcurementError, match=r"15 January 2020, 17:00 \(Europe/Helsinki\), is not in the future"
    ):
        services.save_phase(phase, {"bid_deadline": past}, acting_user=procurer)


def test_save_phase_refuses_a_question_deadline_after_the_bid_deadline(draft, procurer):
    phase = draft.phases.get(number=1)
    with pytest.raises(ProcurementError, match="the deadline for questions must come first"):
        services.save_phase(
            phase,
            {"question_deadline": winter_deadline(20), "bid_deadline": winter_deadline(15)},
            acting_user=procurer,
        )


def test_save_phase_refuses_a_phase_of_a_published_call(call, procurer):
    with pytest.raises(ProcurementError, match="its call is published"):
        services.save_phase(call.phases.get(number=2), {"max_contractors": 9}, acting_user=procurer)


def test_save_phase_refuses_a_pass_mark_above_100(draft, procurer):
    with pytest.raises(ProcurementError, match="pass mark"):
        services.save_phase(draft.phases.get(number=1), {"pass_mark": Decimal("101")}, acting_user=procurer)


def test_add_phase_comes_after_the_last_and_stays_within_the_envelope(draft, procurer):
    services.save_phase(draft.phases.get(number=3), {"budget": Decimal("500000")}, acting_user=procurer)
    data = {
        "title": "Scale-up pilot",
        "budget": Decimal("100000"),
        "max_contractors": 1,
        "duration_months": 6,
    }
    phase = services.add_phase(draft, {**data, "deliverables": "A pilot."}, acting_user=procurer)
    assert phase.number == 4
    with pytest.raises(ProcurementError, match="more than the budget envelope"):
        services.add_phase(draft, {**data, "deliverables": "Another."}, acting_user=procurer)


def test_add_phase_refuses_a_tenth_phase(draft, procurer):
    services.update_procurement(draft, {"budget": Decimal("2000000")}, acting_user=procurer)
    for _ in range(6):
        services.add_phase(
            draft,
            {
                "title": "More",
                "budget": Decimal("1"),
                "max_contractors": 1,
                "duration_months": 1,
                "deliverables": "x",
            },
            acting_user=procurer,
        )
    with pytest.raises(ProcurementError, match="at most 9 phases"):
        services.add_phase(
            draft,
            {
                "title": "Too many",
                "budget": Decimal("1"),
                "max_contractors": 1,
                "duration_months": 1,
                "deliverables": "x",
            },
            acting_user=procurer,
        )


def test_remove_phase_moves_the_later_phases_up(draft, procurer):
    services.remove_phase(draft.phases.get(number=2), acting_user=procurer)
    assert list(draft.phases.order_by("number").values_list("number", "title")) == [
        (1, "Solution design"),
        (2, "Original development and field testing of first products"),
    ]


def test_remove_phase_refuses_the_only_phase(draft, procurer):
    services.remove_phase(draft.phases.get(number=3), acting_user=procurer)
    services.remove_phase(draft.phases.get(number=2), acting_user=procurer)
    with pytest.raises(ProcurementError, match="at least one phase"):
        services.remove_phase(draft.phases.get(number=1), acting_user=procurer)


# ------------------------------------------------------------------------------------------------- criteria


def test_save_criterion_refuses_a_minimum_score_above_the_highest_score(draft, procurer):
    phase = draft.phases.get(number=1)
    with pytest.raises(
        ProcurementError, match=r"minimum score \(11\) cannot be above the highest score \(10\)"
    ):
        services.save_criterion(
            phase,
            {"name": "Quality", "weight": Decimal("50"), "threshold": Decimal("11")},
            acting_user=procurer,
        )
    assert not phase.criteria.exists()


def test_save_criterion_refuses_a_second_price_criterion(draft, procurer):
    phase = draft.phases.get(number=1)
    services.save_criterion(
        phase, {"name": "Price", "weight": Decimal("40"), "is_price": True}, acting_user=procurer
    )
    with pytest.raises(ProcurementError, match="already has a price criterion"):
        services.save_criterion(
            phase, {"name": "Cost", "weight": Decimal("10"), "is_price": True}, acting_user=procurer
        )


def test_save_criterion_refuses_a_weight_of_zero(draft, procurer):
    with pytest.raises(ProcurementError, match="Weight"):
        services.save_criterion(
            draft.phases.get(number=1), {"name": "Q", "weight": Decimal("0")}, acting_user=procurer
        )


def test_save_criterion_changes_a_criterion_and_remove_criterion_removes_it(draft, procurer):
    phase = draft.phases.get(number=1)
    criterion = services.save_criterion(
        phase, {"name": "Quality", "weight": Decimal("60")}, acting_user=procurer
    )
    services.save_criterion(phase, {"weight": Decimal("100")}, criterion=criterion, acting_user=procurer)
    criterion.refresh_from_db()
    assert criterion.weight == Decimal("100")
    services.remove_criterion(criterion, acting_user=procurer)
    assert not AwardCriterion.objects.filter(pk=criterion.pk).exists()


def test_save_criterion_refuses_a_criterion_of_a_published_call(call, procurer):
    criterion = call.phases.get(number=1).criteria.first()
    with pytest.raises(ProcurementError, match="its call is published"):
        services.save_criterion(
            criterion.phase, {"weight": Decimal("1")}, criterion=criterion, acting_user=procurer
        )
    with pytest.raises(ProcurementError, match="its call is published"):
        services.remove_criterion(criterion, acting_user=procurer)


# ------------------------------------------------------------------------------------------------ publishing


def test_publish_call_refuses_an_incomplete_call_and_lists_what_is_missing(draft, procurer):
    services.save_criterion(
        draft.phases.get(number=1), {"name": "Quality", "weight": Decimal("60")}, acting_user=procurer
    )
    services.update_procurement(draft, {"specifications": ""}, acting_user=procurer)
    with pytest.raises(services.CallIncomplete) as refused:
        services.publish_call(draft, acting_user=procurer)
    problems = refused.value.problems
    assert "“Call specifications” is empty." in problems
    assert (
        "The weights of the award criteria of Phase 1: Solution design add up to 60 %, not 100 %." in problems
    )
    assert "Phase 2: Prototype development has no award criteria." in problems
    assert "Set the deadlines for questions and for bids of Phase 1: Solution design." in problems
    draft.refresh_from_db()
    assert draft.status == Procurement.Status.DRAFT


def test_publish_call_refuses_when_phase_ones_deadline_has_passed(ready, procurer):
    Phase.objects.filter(procurement=ready, number=1).update(
        question_deadline=timezone.now() - timedelta(days=2), bid_deadline=timezone.now() - timedelta(days=1)
    )
    with pytest.raises(services.CallIncomplete) as refused:
        services.publish_call(ready, acting_user=procurer)
    assert any(
        "deadline for bids of Phase 1: Solution design" in p and "has passed" in p
        for p in refused.value.problems
    )


def test_publish_call_opens_phase_one_and_issues_the_call_document(
    ready, procurer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        services.publish_call(ready, acting_user=procurer)
    ready.refresh_from_db()
    assert ready.status == Procurement.Status.CALL and ready.published_at is not None
    assert list(ready.phases.order_by("number").values_list("status", flat=True)) == [
        "open",
        "planned",
        "planned",
    ]
    document = CallDocument.objects.get(procurement=ready, kind=CallDocument.Kind.CALL)
    assert document.version == 1
    content = document.file.read()
    assert content.startswith(b"%PDF") and hashlib.sha256(content).hexdigest() == document.sha256
    assert AuditEntry.objects.filter(action="procurement.call.publish", object_id=str(ready.pk)).exists()


def test_publish_call_refuses_a_procurer_who_has_not_accepted_the_ground_rules(draft, procurer, pcp_rules):
    complete(draft, procurer)
    with pytest.raises(GroundRulesRequired):
        services.publish_call(draft, acting_user=procurer)


def test_publish_call_refuses_a_published_call(call, procurer):
    with pytest.raises(ProcurementError, match="cannot be published"):
        services.publish_call(call, acting_user=procurer)


def test_a_regenerated_call_document_is_a_new_version_and_a_retried_task_adds_none(
    ready, procurer, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        services.publish_call(ready, acting_user=procurer)
    callbacks[-1]()  # the rendering task delivered a second time
    assert CallDocument.objects.filter(procurement=ready).count() == 1
    second = services.generate_document(ready, CallDocument.Kind.CALL, acting_user=procurer)
    assert second.version == 2
    assert list(CallDocument.objects.filter(procurement=ready).values_list("version", flat=True)) == [2, 1]


def test_generate_document_refuses_a_draft_and_a_firm(draft, call, procurer, sme_admin):
    with pytest.raises(ProcurementError, match="once the call is published"):
        services.generate_document(draft, CallDocument.Kind.CALL, acting_user=procurer)
    with pytest.raises(ProcurementError, match="Only the procurers"):
        services.generate_document(call, CallDocument.Kind.CALL, acting_user=sme_admin)


def test_the_call_document_shows_phases_weights_terms_and_zone_named_deadlines(ready, procurer, pcp_rules):
    text = pdf_text(services.render_document(ready, CallDocument.Kind.CALL, 3))
    assert "Home care that sees a fall coming" in text and "CALL FOR TENDERS · VERSION 3" in text
    for amount in ("100,000.00", "300,000.00", "600,000.00", "1,000,000.00"):
        assert amount in text
    assert "Quality of the solution" in text and "70 %" in text and "30 %" in text
    year = timezone.now().year + 1
    assert f"15 January {year}, 17:00 (Europe/Helsinki)" in text
    assert f"10 January {year}, 17:00 (Europe/Helsinki)" in text
    assert "Each supplier keeps the intellectual property rights" in text
    assert "Commercial volumes of end-products are excluded" in text
    assert str(pcp_rules) in text
    assert "No open market consultation preceded this call." in text


# ---------------------------------------------------------------------------------------------- next phases


def test_open_next_phase_waits_until_the_phase_before_is_awarded(call, procurer):
    phase2 = call.phases.get(number=2)
    with pytest.raises(ProcurementError, match="Phase 1: Solution design is “Open for bids”"):
        services.open_next_phase(
            phase2,
            question_deadline=winter_deadline(10),
            bid_deadline=winter_deadline(15),
            acting_user=procurer,
        )
    phase2.refresh_from_db()
    assert phase2.status == Phase.Status.PLANNED


def test_open_next_phase_opens_it_with_its_deadlines_and_a_new_call_document(
    call, procurer, django_capture_on_commit_callbacks
):
    Phase.objects.filter(procurement=call, number=1).update(status=Phase.Status.AWARDED)
    phase2 = call.phases.get(number=2)
    AwardCriterion.objects.create(phase=phase2, name="Prototype quality", weight=Decimal("100"))
    with django_capture_on_commit_callbacks(execute=True):
        services.open_next_phase(
            phase2,
            question_deadline=winter_deadline(10),
            bid_deadline=winter_deadline(15),
            acting_user=procurer,
        )
    phase2.refresh_from_db()
    assert phase2.status == Phase.Status.OPEN and phase2.bid_deadline == winter_deadline(15)
    document = CallDocument.objects.get(procurement=call, kind=CallDocument.Kind.CALL)
    assert f"15 January {timezone.now().year + 1}, 17:00 (Europe/Helsinki)" in pdf_text(document.file.read())


def test_open_next_phase_refuses_past_or_crossed_deadlines_and_criteria_short_of_100(call, procurer):
    Phase.objects.filter(procurement=call, number=1).update(status=Phase.Status.AWARDED)
    phase2 = call.phases.get(number=2)
    with pytest.raises(ProcurementError, match="not in the future"):
        services.open_next_phase(
            phase2,
            question_deadline=timezone.now() - timedelta(hours=1),
            bid_deadline=winter_deadline(),
            acting_user=procurer,
        )
    with pytest.raises(ProcurementError, match="must come first"):
        services.open_next_phase(
            phase2,
            question_deadline=winter_deadline(20),
            bid_deadline=winter_deadline(15),
            acting_user=procurer,
        )
    with pytest.raises(ProcurementError, match="add up to 0 %, not 100 %"):
        services.open_next_phase(
            phase2,
            question_deadline=winter_deadline(10),
            bid_deadline=winter_deadline(15),
            acting_user=procurer,
        )


def test_open_next_phase_refuses_a_phase_that_is_not_planned(call, procurer):
    with pytest.raises(ProcurementError, match="only a planned phase can open"):
        services.open_next_phase(
            call.phases.get(number=1),
            question_deadline=winter_deadline(10),
            bid_deadline=winter_deadline(15),
            acting_user=procurer,
        )


# ---------------------------------------------------------------------------------------------- cancelling


def test_cancel_procurement_cancels_every_phase_not_yet_awarded(call, procurer):
    services.cancel_procurement(call, reason="The city's budget was cut.", acting_user=procurer)
    call.refresh_from_db()
    assert call.status == Procurement.Status.CANCELLED
    assert set(call.phases.values_list("status", flat=True)) == {Phase.Status.CANCELLED}
    entry = AuditEntry.objects.get(action="procurement.procurement.cancel")
    assert entry.data == {"reason": "The city's budget was cut.", "phases": [1, 2, 3]}


def test_cancel_procurement_needs_a_reason_and_happens_once(call, procurer):
    with pytest.raises(ProcurementError, match="Say why"):
        services.cancel_procurement(call, reason=" ", acting_user=procurer)
    services.cancel_procurement(call, reason="Budget cut.", acting_user=procurer)
    with pytest.raises(ProcurementError, match="“Cancelled” already"):
        services.cancel_procurement(call, reason="Again.", acting_user=procurer)


def test_cancel_procurement_refuses_a_firm(call, bidder):
    with pytest.raises(ProcurementError, match="Only the procurers"):
        services.cancel_procurement(call, reason="Not mine to cancel.", acting_user=bidder)
    call.refresh_from_db()
    assert call.status == Procurement.Status.CALL


# ---------------------------------------------------------------------------------------------- concurrency


@on_postgresql
def test_two_budget_raises_at_once_never_take_the_phases_above_the_envelope(
    transactional_db, draft, procurer
):
    services.save_phase(draft.phases.get(number=3), {"budget": Decimal("500000")}, acting_user=procurer)
    phases = [draft.phases.get(number=1), draft.phases.get(number=2)]
    raises = [Decimal("180000"), Decimal("380000")]  # each fits the 100,000 left; both together do not
    results = run_together(
        lambda i: services.save_phase(phases[i], {"budget": raises[i]}, acting_user=procurer), 2
    )
    assert len([r for r in results if isinstance(r, ProcurementError)]) == 1
    assert sum(draft.phases.values_list("budget", flat=True)) <= draft.budget


@on_postgresql
def test_a_double_clicked_publication_publishes_once(transactional_db, ready, procurer):
    results = run_together(lambda i: services.publish_call(ready, acting_user=procurer), 3)
    assert len([r for r in results if isinstance(r, Procurement)]) == 1
    assert AuditEntry.objects.filter(action="procurement.call.publish").count() == 1
    assert ready.phases.get(number=1).status == Phase.Status.OPEN
