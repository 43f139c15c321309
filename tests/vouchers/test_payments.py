"""Payment batches: the funder gathers approved lines, exports them as CSV and SEPA credit transfer XML
(exact to the cent), and marks the batch paid once; the operator may look."""

import csv
import io
import xml.etree.ElementTree as ET
from decimal import Decimal

import pytest
from django.urls import reverse

from livinglab.factories import MembershipFactory, OrganisationFactory, UserFactory
from livinglab.models import AuditEntry, Organisation, Role
from tests.vouchers.test_claims import checked_claim, signed_in
from vouchers import services
from vouchers.errors import VoucherError
from vouchers.factories import EnrolmentFactory, SolutionFactory
from vouchers.models import ClaimLine, PaymentBatch
from vouchers.payments import batch_csv, batch_sepa_xml

DEBTOR = {
    "debtor_name": "Bretagne Innovation Agency",
    "debtor_iban": "FR7630006000011234567890189",
    "debtor_bic": "",
}
NS = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03"}


@pytest.fixture
def second_firm(partial):
    firm = OrganisationFactory(name="=Armor Énergie", kind=Organisation.Kind.SME)
    EnrolmentFactory(solution=SolutionFactory(firm=firm), programme=partial)
    user = MembershipFactory(organisation=firm, role=Role.FIRM_ADMIN, user=UserFactory()).user
    return firm, user


def approve_all(claim, funder):
    for line in claim.lines.order_by("pk"):
        services.decide_claim_line(line, approve=True, acting_user=funder)


@pytest.fixture
def approved(partial, firm, cashier, second_firm, staff_user, funder):
    """Two firms' claims with awkward cents; one line rejected (it must not be paid)."""
    first = checked_claim(partial, firm, cashier, staff_user, amounts=("123.45", "0.01", "99.99"))
    approve_all(first, funder)
    other, other_user = second_firm
    second = checked_claim(partial, other, other_user, staff_user, amounts=("333.33", "0.10"))
    kept, rejected = second.lines.order_by("pk")
    services.decide_claim_line(kept, approve=True, acting_user=funder)
    services.decide_claim_line(rejected, approve=False, reason="Outside the programme.", acting_user=funder)
    return first, second


@pytest.fixture
def batch(partial, approved, funder):
    return services.create_payment_batch(partial, **DEBTOR, acting_user=funder)


def test_a_batch_gathers_every_approved_line_not_yet_paid(partial, approved, batch):
    assert batch.status == PaymentBatch.Status.OPEN
    assert set(batch.lines.values_list("status", flat=True)) == {ClaimLine.Status.APPROVED}
    assert batch.lines.count() == 4
    assert not ClaimLine.objects.filter(status=ClaimLine.Status.APPROVED, batch__isnull=True).exists()
    assert ClaimLine.objects.filter(status=ClaimLine.Status.REJECTED, batch__isnull=True).count() == 1
    assert batch.debtor_iban == "FR7630006000011234567890189"
    assert AuditEntry.objects.filter(action="vouchers.paymentbatch.create").count() == 1


def test_an_empty_batch_is_refused(partial, batch, funder):
    with pytest.raises(VoucherError, match="no approved claim line waiting"):
        services.create_payment_batch(partial, **DEBTOR, acting_user=funder)
    assert PaymentBatch.objects.count() == 1


def test_a_batch_needs_a_valid_paying_account(partial, approved, funder):
    with pytest.raises(VoucherError, match="check digits"):
        services.create_payment_batch(
            partial, **{**DEBTOR, "debtor_iban": "FR7630006000011234567890188"}, acting_user=funder
        )
    assert not PaymentBatch.objects.exists()


def test_the_csv_has_one_row_per_claim_and_its_total_is_exact(batch, approved):
    data = batch_csv(batch)

    assert data.startswith("\ufeff".encode())
    rows = list(csv.DictReader(io.StringIO(data.decode("utf-8-sig"))))
    assert len(rows) == 2
    assert sum(Decimal(r["amount_eur"]) for r in rows) == Decimal("556.78")  # 223.45 + 333.33 (0.10 rejected)
    by_reference = {r["claim_reference"]: r for r in rows}
    first, second = approved
    assert by_reference[first.reference]["amount_eur"] == "223.45"
    assert by_reference[second.reference]["firm"] == "'=Armor Énergie"  # not a spreadsheet formula
    assert by_reference[first.reference]["remittance_information"].startswith(first.reference)


def test_the_sepa_file_is_valid_pain_001_with_the_exact_control_sum(batch, approved):
    root = ET.fromstring(batch_sepa_xml(batch))  # noqa: S314 (our own export, not untrusted input)

    assert root.find("p:CstmrCdtTrfInitn/p:GrpHdr/p:CtrlSum", NS).text == "556.78"
    assert root.find("p:CstmrCdtTrfInitn/p:GrpHdr/p:NbOfTxs", NS).text == "2"
    amounts = [Decimal(a.text) for a in root.iterfind(".//p:CdtTrfTxInf/p:Amt/p:InstdAmt", NS)]
    assert sorted(amounts) == [Decimal("223.45"), Decimal("333.33")]
    ids = {e.text for e in root.iterfind(".//p:CdtTrfTxInf/p:PmtId/p:EndToEndId", NS)}
    assert ids == {claim.reference for claim in approved}
    assert root.find(".//p:DbtrAcct/p:Id/p:IBAN", NS).text == DEBTOR["debtor_iban"]


def test_a_batch_is_marked_paid_once(batch, funder):
    batch = services.mark_batch_paid(batch, acting_user=funder)
    assert batch.status == PaymentBatch.Status.PAID and batch.paid_by == funder

    with pytest.raises(VoucherError, match="already been marked as paid"):
        services.mark_batch_paid(batch, acting_user=funder)
    assert AuditEntry.objects.filter(action="vouchers.paymentbatch.pay").count() == 1


def test_only_the_funder_creates_and_pays_batches(partial, approved, staff_user, funder, cashier):
    for user in (staff_user, cashier):
        with pytest.raises(VoucherError, match="funder"):
            services.create_payment_batch(partial, **DEBTOR, acting_user=user)
    batch = services.create_payment_batch(partial, **DEBTOR, acting_user=funder)
    with pytest.raises(VoucherError, match="funder"):
        services.mark_batch_paid(batch, acting_user=staff_user)
    batch.refresh_from_db()
    assert batch.status == PaymentBatch.Status.OPEN


# ---------------------------------------------------------------------------------------------- pages


def test_funder_creates_a_batch_downloads_its_files_and_marks_it_paid(partial, approved, funder):
    client = signed_in(funder)
    listing = client.get(reverse("payment_batches", args=[partial.slug])).content.decode()
    assert "556.78 EUR" in listing

    created = client.post(
        reverse("payment_batches", args=[partial.slug]), {**DEBTOR, "execution_date": "2099-01-15"}
    )
    batch = PaymentBatch.objects.get()
    assert created.status_code == 302 and created.url == reverse("payment_batch_detail", args=[batch.pk])
    page = client.get(created.url).content.decode()
    assert "556.78 EUR" in page and "Mark as paid" in page

    exported = client.get(reverse("payment_batch_csv", args=[batch.pk]))
    assert exported["Content-Disposition"] == f'attachment; filename="{batch.reference}.csv"'
    sepa = client.get(reverse("payment_batch_sepa", args=[batch.pk]))
    assert sepa["Content-Type"] == "application/xml" and b"<CtrlSum>556.78</CtrlSum>" in sepa.content
    assert b"<ReqdExctnDt>2099-01-15</ReqdExctnDt>" in sepa.content

    assert client.post(reverse("payment_batch_paid", args=[batch.pk])).status_code == 302
    again = client.post(reverse("payment_batch_paid", args=[batch.pk]), follow=True)
    assert "already been marked as paid" in again.content.decode()
    batch.refresh_from_db()
    assert batch.status == PaymentBatch.Status.PAID


def test_operator_sees_batches_but_cannot_create_or_pay_them(partial, batch, staff_user):
    client = signed_in(staff_user)
    assert client.get(reverse("payment_batch_detail", args=[batch.pk])).status_code == 200
    assert client.get(reverse("payment_batch_csv", args=[batch.pk])).status_code == 200
    assert client.post(reverse("payment_batches", args=[partial.slug]), DEBTOR).status_code == 403
    assert client.post(reverse("payment_batch_paid", args=[batch.pk])).status_code == 403
    batch.refresh_from_db()
    assert batch.status == PaymentBatch.Status.OPEN


def test_a_firm_cannot_see_payment_batches(partial, batch, cashier):
    client = signed_in(cashier)
    assert client.get(reverse("payment_batches", args=[partial.slug])).status_code == 403
    assert client.get(reverse("payment_batch_sepa", args=[batch.pk])).status_code == 403


def test_an_empty_batch_request_is_shown_on_the_form(partial, funder):
    response = signed_in(funder).post(
        reverse("payment_batches", args=[partial.slug]), {**DEBTOR, "execution_date": "2099-01-15"}
    )
    assert response.status_code == 400
    assert "no approved claim line waiting" in response.content.decode()


def test_a_claim_is_paid_whole_once_every_line_is_decided(partial, firm, cashier, staff_user, funder):
    claim = checked_claim(partial, firm, cashier, staff_user, amounts=("10.00", "20.00"))
    first, second = claim.lines.order_by("pk")
    services.decide_claim_line(first, approve=True, acting_user=funder)
    with pytest.raises(VoucherError, match="no approved claim line waiting"):
        services.create_payment_batch(partial, **DEBTOR, acting_user=funder)

    services.decide_claim_line(second, approve=True, acting_user=funder)
    batch = services.create_payment_batch(partial, **DEBTOR, acting_user=funder)

    assert batch.lines.count() == 2
    assert batch_csv(batch).decode("utf-8-sig").splitlines()[1].split(",")[6] == "30.00"
