"""Bids as services: drafts, documents checked by size and content, submission with a receipt hash, late
submissions, withdrawal and resubmission, who may bid in which phase, and closing phases at the deadline.
The concurrency claim (one submission out of two simultaneous ones) runs on PostgreSQL."""

import hashlib
import json
from datetime import UTC, timedelta
from decimal import Decimal

import pytest
from django.core.files.storage import storages
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import formats, timezone

from livinglab.errors import GroundRulesRequired
from livinglab.factories import MembershipFactory, UserFactory
from livinglab.models import AuditEntry, Role
from procurement.errors import ProcurementError
from procurement.factories import BidFactory, ConsortiumFactory
from procurement.models import (
    Award,
    AwardDecision,
    Bid,
    BidContent,
    BidDocument,
    Consortium,
    ConsortiumMember,
    Contract,
    Phase,
)
from procurement.services import bids as services
from procurement.tasks import bids as tasks
from tests.concurrency import on_postgresql, run_together

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64


def upload(name="design.pdf", content=PDF, content_type="application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


@pytest.fixture
def criteria(phase1):
    quality = phase1.criteria.get(is_price=False)
    price = phase1.criteria.get(is_price=True)
    return quality, price


@pytest.fixture
def complete(phase1, consortium, bidder, criteria):
    """Save a complete draft of ``consortium`` in phase 1 (with one PDF)."""

    def _save(**changes):
        quality, _price = criteria
        values = {
            "summary": "Radar sensors and a nurse dashboard.",
            "price": Decimal("120000.00"),
            "answers": {str(quality.pk): "We design a contact-free fall detector."},
            "documents": [upload()],
            **changes,
        }
        return services.save_bid_draft(phase1, consortium, acting_user=bidder, **values)

    return _save


def test_a_submitted_bid_has_a_receipt_hashing_its_canonical_content(
    complete, phase1, consortium, bidder, criteria, django_capture_on_commit_callbacks, mailoutbox
):
    draft = complete()
    with django_capture_on_commit_callbacks(execute=True):
        bid = services.submit_bid(draft, acting_user=bidder)
    assert bid.status == Bid.Status.SUBMITTED and bid.submitted_by == bidder
    quality, _price = criteria
    expected = json.dumps(
        {
            "answers": {str(quality.pk): "We design a contact-free fall detector."},
            "consortium": consortium.pk,
            "documents": [{"name": "design.pdf", "sha256": hashlib.sha256(PDF).hexdigest()}],
            "phase": phase1.ocid,
            "price": "120000.00",
            "submitted_at": bid.submitted_at.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ"),
            "summary": "Radar sensors and a nurse dashboard.",
        },
        sort_keys=True,
        separators=(",", ":"),
        ensure_ascii=False,
    ).encode()
    assert bid.receipt_sha256 == hashlib.sha256(expected).hexdigest()
    assert services.verify_receipt(Bid.objects.get(pk=bid.pk), consortium.lead)
    # The lead's staff are e-mailed the receipt.
    assert [m.to for m in mailoutbox] == [["bidder@example.org"]]
    assert bid.receipt_sha256 in mailoutbox[0].body and "Europe/Helsinki" in mailoutbox[0].body
    entry = AuditEntry.objects.get(action="procurement.bid.submit")
    assert entry.data["receipt_sha256"] == bid.receipt_sha256


def test_documents_are_stored_privately_with_their_hash(complete, consortium):
    bid = complete(documents=[upload("Design v2.pdf"), upload("floor plan.png", PNG, "image/png")])
    documents = {d.name: d for d in BidDocument.objects.of_own_bid(bid, consortium.lead)}
    assert set(documents) == {"Design_v2.pdf", "floor_plan.png"}
    pdf = documents["Design_v2.pdf"]
    assert pdf.content_type == "application/pdf" and pdf.size == len(PDF)
    assert pdf.sha256 == hashlib.sha256(PDF).hexdigest()
    assert pdf.file.storage is storages["private"]
    with pdf.file.open("rb") as stored:
        assert stored.read() == PDF


def test_a_document_is_checked_by_its_content_whatever_its_name_says(complete):
    disguised = upload("budget.pdf", b"MZ\x90\x00 this is a Windows program", "application/pdf")
    with pytest.raises(ProcurementError, match=r"“budget\.pdf” is not an accepted file type"):
        complete(documents=[disguised])
    assert not Bid.objects.exists()


def test_a_document_larger_than_the_limit_is_refused_by_name(complete, settings):
    settings.BID_DOCUMENT_MAX_BYTES = 1024
    with pytest.raises(ProcurementError, match=r"“annex\.pdf” is too large"):
        complete(documents=[upload("annex.pdf", PDF + b"0" * 2000)])


def test_submission_lists_everything_still_missing(phase1, consortium, bidder, criteria):
    draft = services.save_bid_draft(
        phase1, consortium, summary="", price=None, answers={}, acting_user=bidder
    )
    with pytest.raises(ProcurementError) as refused:
        services.submit_bid(draft, acting_user=bidder)
    message = refused.value.message
    assert "the summary" in message
    assert "the answer to “Quality of the solution design”" in message
    assert "the price (criterion “Price”)" in message
    assert Bid.objects.get(pk=draft.pk).status == Bid.Status.DRAFT


def test_a_late_submission_is_refused_with_the_deadline_in_the_authoritys_time_zone(
    complete, phase1, bidder, pass_deadline
):
    draft = complete()
    phase1 = pass_deadline(phase1)
    with pytest.raises(ProcurementError) as refused:
        services.submit_bid(draft, acting_user=bidder)
    local = formats.date_format(timezone.localtime(phase1.bid_deadline, phase1.procurement.tz), "j F Y, H:i")
    assert refused.value.message.startswith("Too late")
    assert f"{local} (Europe/Helsinki)" in refused.value.message
    assert Bid.objects.get(pk=draft.pk).status == Bid.Status.DRAFT


def test_submitting_twice_gives_one_submission_and_one_receipt(complete, bidder):
    bid = services.submit_bid(complete(), acting_user=bidder)
    with pytest.raises(ProcurementError, match="already submitted"):
        services.submit_bid(bid, acting_user=bidder)
    assert Bid.objects.filter(status=Bid.Status.SUBMITTED).count() == 1
    assert AuditEntry.objects.filter(action="procurement.bid.submit").count() == 1


def test_a_withdrawn_bid_can_be_replaced_by_a_new_submission_before_the_deadline(
    complete, phase1, consortium, bidder
):
    first = services.submit_bid(complete(), acting_user=bidder)
    with pytest.raises(ProcurementError, match="withdraw it first"):
        complete(summary="Changed my mind")
    services.withdraw_bid(first, acting_user=bidder)
    # The new draft starts from the withdrawn bid's documents.
    second = complete(summary="Radar sensors, a dashboard and a nurse app.", documents=[])
    assert second.pk != first.pk
    assert [d.name for d in BidDocument.objects.of_own_bid(second, consortium.lead)] == ["design.pdf"]
    second = services.submit_bid(second, acting_user=bidder)
    first.refresh_from_db()
    assert first.status == Bid.Status.WITHDRAWN and first.withdrawn_at is not None
    assert second.status == Bid.Status.SUBMITTED and second.receipt_sha256 != first.receipt_sha256
    assert (
        Bid.objects.filter(phase=phase1, consortium=consortium, status__in=["draft", "submitted"]).count()
        == 1
    )


def test_withdrawing_after_the_deadline_is_refused(complete, phase1, bidder, pass_deadline):
    bid = services.submit_bid(complete(), acting_user=bidder)
    pass_deadline(phase1)
    with pytest.raises(ProcurementError, match="Too late"):
        services.withdraw_bid(bid, acting_user=bidder)
    assert Bid.objects.get(pk=bid.pk).status == Bid.Status.SUBMITTED


def test_only_the_lead_prepares_and_submits_the_bid(phase1, consortium, partner_user, complete, bidder):
    with pytest.raises(ProcurementError, match="Only the consortium's lead"):
        services.save_bid_draft(
            phase1, consortium, summary="x", price=None, answers={}, acting_user=partner_user
        )
    draft = complete()
    with pytest.raises(ProcurementError, match="Only the consortium's lead"):
        services.submit_bid(draft, acting_user=partner_user)
    with pytest.raises(ProcurementError, match="Only the consortium's lead"):
        services.withdraw_bid(draft, acting_user=partner_user)


def test_bid_actions_need_the_ground_rules_accepted(phase1, consortium, sme):
    colleague = MembershipFactory(organisation=sme, role=Role.FIRM_ADMIN, user=UserFactory()).user
    with pytest.raises(GroundRulesRequired):
        services.save_bid_draft(
            phase1, consortium, summary="x", price=None, answers={}, acting_user=colleague
        )
    assert not Bid.objects.exists()


def test_a_consortium_still_forming_cannot_submit(complete, consortium, bidder, other_sme):
    ConsortiumMember.objects.create(consortium=consortium, organisation=other_sme, status="invited")
    Consortium.objects.filter(pk=consortium.pk).update(status=Consortium.Status.FORMING)
    with pytest.raises(ProcurementError, match="not formed yet"):
        services.submit_bid(complete(), acting_user=bidder)


def test_a_dissolved_consortium_may_not_bid(phase1, consortium):
    consortium.status = Consortium.Status.DISSOLVED
    eligibility = services.may_bid(consortium, phase1)
    assert not eligibility and "dissolved" in eligibility.reason


# ------------------------------------------------------------------------- only phase N contractors in N+1


def award(phase, bid, *, status=AwardDecision.Status.FINAL, successful=True, contract=True):
    decision = AwardDecision.objects.create(
        phase=phase,
        reasons="Best value for money.",
        status=status,
        decided_at=timezone.now() - timedelta(days=20),
        standstill_ends_at=timezone.now() - timedelta(days=10),
    )
    result = Award.objects.create(
        decision=decision, bid=bid, successful=successful, rank=1, total=Decimal("80")
    )
    if contract:
        Contract.objects.create(
            award=result,
            phase=phase,
            title="Solution design",
            value=Decimal("50000"),
            starts_on=timezone.localdate(),
            ends_on=timezone.localdate() + timedelta(days=120),
        )
    return result


@pytest.fixture
def phase2(call):
    phase = call.phases.get(number=2)
    Phase.objects.filter(pk=phase.pk).update(
        status=Phase.Status.OPEN, bid_deadline=timezone.now() + timedelta(days=30), opened_at=timezone.now()
    )
    phase.refresh_from_db()
    return phase


def test_phase_one_is_open_to_every_consortium(phase1, rival_consortium):
    assert services.may_bid(rival_consortium, phase1)


def test_only_contractors_of_phase_one_may_bid_in_phase_two(
    phase1, phase2, consortium, rival_consortium, rival
):
    won = BidFactory(phase=phase1, consortium=consortium)
    lost = BidFactory(phase=phase1, consortium=rival_consortium)
    result = award(phase1, won)
    Award.objects.create(decision=result.decision, bid=lost, successful=False, rank=2)
    assert services.may_bid(consortium, phase2)
    refused = services.may_bid(rival_consortium, phase2)
    assert not refused
    assert refused.reason == (
        "Only contractors of phase 1 may bid in phase 2: Loire Care holds no contract of phase 1."
    )
    # The service refuses a phase 2 draft with the same reason.
    with pytest.raises(ProcurementError, match="Only contractors of phase 1 may bid in phase 2"):
        services.save_bid_draft(
            phase2, rival_consortium, summary="x", price=None, answers={}, acting_user=rival
        )


def test_an_award_still_in_standstill_or_without_contract_does_not_open_phase_two(
    phase1, phase2, consortium, call
):
    bid = BidFactory(phase=phase1, consortium=consortium)
    award(phase1, bid, status=AwardDecision.Status.STANDSTILL, contract=False)
    refused = services.may_bid(consortium, phase2)
    assert not refused and "not final yet" in refused.reason
    AwardDecision.objects.update(status=AwardDecision.Status.FINAL)
    assert not services.may_bid(consortium, phase2)  # final, but no contract signed up yet
    other = ConsortiumFactory(procurement=call, name="Elsewhere")
    assert not services.may_bid(other, phase2)


# ------------------------------------------------------------------------------------- closing phases


def test_closing_due_phases_moves_them_to_evaluation_once(phase1, pass_deadline, call):
    assert tasks.close_due_phases.name == "procurement.tasks.bids.close_due_phases"
    assert tasks.close_due_phases() == 0
    pass_deadline(phase1)
    assert tasks.close_due_phases() == 1
    phase1.refresh_from_db()
    assert phase1.status == Phase.Status.EVALUATION
    assert tasks.close_due_phases() == 0
    assert AuditEntry.objects.filter(action="procurement.phase.evaluation").count() == 1
    assert set(call.phases.exclude(pk=phase1.pk).values_list("status", flat=True)) == {"planned"}


# ---------------------------------------------------------------------------------------- concurrency


@on_postgresql
def test_two_simultaneous_submissions_of_one_bid_submit_it_once(
    transactional_db, complete, bidder, mailoutbox
):
    draft = complete()

    def attempt(_):
        return services.submit_bid(Bid.objects.get(pk=draft.pk), acting_user=bidder)

    results = run_together(attempt, 2)
    submitted = [r for r in results if isinstance(r, Bid)]
    refused = [r for r in results if isinstance(r, ProcurementError)]
    assert len(submitted) == 1 and len(refused) == 1, results
    assert "already submitted" in refused[0].message
    bid = Bid.objects.get(pk=draft.pk)
    assert bid.status == Bid.Status.SUBMITTED and bid.receipt_sha256 == submitted[0].receipt_sha256
    assert AuditEntry.objects.filter(action="procurement.bid.submit").count() == 1
    assert len(mailoutbox) == 1
    assert BidContent.objects.count() == 0  # and still sealed for everyone else
