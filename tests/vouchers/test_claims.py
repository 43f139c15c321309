"""Reimbursement claims: a firm claims its redemptions with an invoice, the operator checks or returns the
claim, the funder decides per line within the de minimis ceiling; the pages for each of them."""

import re
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django.utils import timezone

from livinglab.factories import MembershipFactory, OrganisationFactory, UserFactory
from livinglab.models import AuditEntry, EnterpriseGroup, Organisation, Role
from tests.conftest import with_totp
from vouchers import services
from vouchers.errors import VoucherError
from vouchers.factories import (
    DeMinimisAidFactory,
    EnrolmentFactory,
    ProgrammeFactory,
    SolutionFactory,
    VoucherFactory,
)
from vouchers.models import Claim, ClaimLine, DeMinimisAid, LedgerEntry, de_minimis_total
from vouchers.services.claims import MAX_INVOICE_BYTES, claimable_redemptions

IBAN = "FR1420041010050500013M02606"
PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
PNG = b"\x89PNG\r\n\x1a\n" + b"\x00\x00\x00\rIHDR" + b"\x00" * 64
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 200


# ------------------------------------------------------------------------------------------- helpers


def signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


def invoice(name="invoice-2026-001.pdf", content=PDF):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def redeem(programme, firm, cashier, amount="500.00") -> LedgerEntry:
    voucher = VoucherFactory(programme=programme)
    return services.redeem_voucher(
        voucher.code, firm=firm, amount=Decimal(amount), idempotency_key=uuid.uuid4().hex, acting_user=cashier
    )


def submit(programme, firm, user, redemptions, **kwargs) -> Claim:
    kwargs.setdefault("invoice_number", f"INV-{uuid.uuid4().hex[:8]}")
    kwargs.setdefault("invoice", invoice())
    kwargs.setdefault("iban", IBAN)
    kwargs.setdefault("bic", "")
    kwargs.setdefault("account_holder", firm.name)
    return services.submit_claim(programme, firm, redemptions=redemptions, acting_user=user, **kwargs)


def checked_claim(programme, firm, cashier, operator, amounts=("500.00",)) -> Claim:
    entries = [redeem(programme, firm, cashier, amount) for amount in amounts]
    claim = submit(programme, firm, cashier, entries)
    return services.check_claim(claim, note="", acting_user=operator)


def actions(prefix="vouchers.") -> list[str]:
    return list(
        AuditEntry.objects.filter(action__startswith=prefix).order_by("seq").values_list("action", flat=True)
    )


@pytest.fixture
def other_funder(db):
    agency = OrganisationFactory(name="Loire Region Fund", kind=Organisation.Kind.FUNDING_AGENCY)
    user = MembershipFactory(organisation=agency, role=Role.FUNDING_OFFICER, user=UserFactory()).user
    return with_totp(user)


# ------------------------------------------------------------------------------------------ submitting


def test_submit_claim_claims_the_firms_redemptions_at_their_amounts(partial, firm, cashier):
    first, second = redeem(partial, firm, cashier, "123.45"), redeem(partial, firm, cashier, "0.55")

    claim = submit(partial, firm, cashier, [first, second], invoice_number="F-2026-17", bic="agrifrpp")

    assert claim.status == Claim.Status.SUBMITTED
    assert sorted(claim.lines.values_list("amount", flat=True)) == [Decimal("0.55"), Decimal("123.45")]
    assert set(claim.lines.values_list("status", flat=True)) == {ClaimLine.Status.PENDING}
    assert claim.iban == IBAN and claim.bic == "AGRIFRPP"
    assert re.search(r"/\d{14}-invoice-2026-001(_\w+)?\.pdf$", claim.invoice.name)
    assert not claimable_redemptions(partial, firm).exists()
    assert actions()[-1] == "vouchers.claim.submit"


def test_submit_claim_refuses_a_reversed_redemption(programme, firm, cashier):
    entry = redeem(programme, firm, cashier)
    services.reverse_redemption(entry, acting_user=cashier)

    with pytest.raises(VoucherError, match="was reversed"):
        submit(programme, firm, cashier, [entry])
    assert not Claim.objects.exists()


def test_submit_claim_refuses_another_firms_redemption(
    programme, firm, cashier, other_sme, other_firm_cashier
):
    EnrolmentFactory(solution=SolutionFactory(firm=other_sme), programme=programme)
    theirs = redeem(programme, other_sme, other_firm_cashier)

    with pytest.raises(VoucherError, match="own redemptions"):
        submit(programme, firm, cashier, [theirs, redeem(programme, firm, cashier)])
    assert not ClaimLine.objects.exists()


def test_submit_claim_refuses_a_redemption_of_another_programme(programme, firm, cashier, cluster, agency):
    other = ProgrammeFactory(title="Digital shops", operator=cluster, funder=agency)
    EnrolmentFactory(solution=SolutionFactory(firm=firm), programme=other)
    elsewhere = redeem(other, firm, cashier)

    with pytest.raises(VoucherError, match="own redemptions in Warm homes"):
        submit(programme, firm, cashier, [elsewhere])


def test_submit_claim_refuses_a_redemption_already_claimed(programme, firm, cashier):
    entry = redeem(programme, firm, cashier)
    submit(programme, firm, cashier, [entry])

    with pytest.raises(VoucherError, match="already on a claim"):
        submit(programme, firm, cashier, [entry, redeem(programme, firm, cashier)])
    assert Claim.objects.count() == 1


def test_submit_claim_needs_at_least_one_redemption(programme, firm, cashier):
    with pytest.raises(VoucherError, match="at least one redemption"):
        submit(programme, firm, cashier, [])


def test_submit_claim_refuses_an_invoice_number_used_before_by_the_firm(programme, firm, cashier):
    submit(programme, firm, cashier, [redeem(programme, firm, cashier)], invoice_number="F-1")

    with pytest.raises(VoucherError, match="already claimed with invoice number F-1"):
        submit(programme, firm, cashier, [redeem(programme, firm, cashier)], invoice_number=" F-1 ")


@pytest.mark.parametrize(
    ("upload", "message"),
    [
        (SimpleUploadedFile("invoice.pdf", b"%PDF" + b"0" * MAX_INVOICE_BYTES), "too large"),
        (SimpleUploadedFile("invoice.pdf", EXE, content_type="application/pdf"), "PDF, PNG or JPEG"),
        (SimpleUploadedFile("invoice.pdf", b"Dear funder, please pay us." * 20), "PDF, PNG or JPEG"),
        (SimpleUploadedFile("invoice.pdf", b""), "empty"),
        (None, "Attach the invoice"),
    ],
    ids=["too-big", "renamed-exe", "text", "empty", "missing"],
)
def test_submit_claim_refuses_an_invoice_that_is_not_a_small_pdf_or_image(
    programme, firm, cashier, upload, message
):
    with pytest.raises(VoucherError, match=message):
        submit(programme, firm, cashier, [redeem(programme, firm, cashier)], invoice=upload)
    assert not Claim.objects.exists()


def test_submit_claim_names_the_invoice_after_its_content_and_strips_the_path(programme, firm, cashier):
    upload = SimpleUploadedFile("../../etc/scan 03;rm -rf.exe", PNG, content_type="application/octet-stream")

    claim = submit(programme, firm, cashier, [redeem(programme, firm, cashier)], invoice=upload)

    assert re.search(r"/\d{14}-scan_03rm_-rf(_\w+)?\.png$", claim.invoice.name)
    assert ".." not in claim.invoice.name


@pytest.mark.parametrize(
    ("iban", "message"),
    [
        ("FR1420041010050500013M02607", "check digits"),
        ("FR14200410100505", "wrong number of characters"),
        ("ZZ1420041010050500013M02606", "country code"),
        ("", "Enter the IBAN"),
    ],
)
def test_submit_claim_refuses_a_wrong_iban_saying_what_is_wrong(programme, firm, cashier, iban, message):
    with pytest.raises(VoucherError, match=message) as refusal:
        submit(programme, firm, cashier, [redeem(programme, firm, cashier)], iban=iban)
    assert refusal.value.field == "iban"


def test_submit_claim_refuses_a_wrong_bic(programme, firm, cashier):
    with pytest.raises(VoucherError, match="8 or 11 characters"):
        submit(programme, firm, cashier, [redeem(programme, firm, cashier)], bic="AGRIF")


def test_only_the_firms_administrators_and_cluster_staff_claim_for_it(
    programme, firm, cashier, other_firm_cashier, participant, funder
):
    entry = redeem(programme, firm, cashier)
    for outsider in (other_firm_cashier, participant, funder):
        with pytest.raises(VoucherError, match="cannot claim reimbursement for Breizh Sensors"):
            submit(programme, firm, outsider, [entry])
    assert not Claim.objects.exists()


def test_a_claimed_redemption_can_no_longer_be_reversed(programme, firm, cashier):
    entry = redeem(programme, firm, cashier)
    submit(programme, firm, cashier, [entry])

    with pytest.raises(VoucherError, match="on a reimbursement claim"):
        services.reverse_redemption(entry, acting_user=cashier)
    assert not LedgerEntry.objects.filter(reverses=entry).exists()


# ---------------------------------------------------------------------------------- the operator's check


def test_operator_checks_a_claim_for_the_funder(programme, firm, cashier, staff_user):
    claim = submit(programme, firm, cashier, [redeem(programme, firm, cashier)])

    claim = services.check_claim(claim, note="Invoice matches.", acting_user=staff_user)

    assert claim.status == Claim.Status.CHECKED
    assert claim.checked_by == staff_user and claim.check_note == "Invoice matches."
    assert actions()[-1] == "vouchers.claim.check"


def test_a_returned_claim_frees_its_redemptions_to_be_claimed_again(programme, firm, cashier, staff_user):
    entries = [redeem(programme, firm, cashier) for _ in range(2)]
    claim = submit(programme, firm, cashier, entries, invoice_number="F-9")

    claim = services.return_claim(claim, note="The invoice is not signed.", acting_user=staff_user)

    assert claim.status == Claim.Status.RETURNED
    assert not claim.lines.exists()
    assert set(claimable_redemptions(programme, firm)) == set(entries)
    entry = AuditEntry.objects.filter(action="vouchers.claim.return").get()
    assert sorted(r["redemption"] for r in entry.data["released"]) == sorted(e.pk for e in entries)
    again = submit(programme, firm, cashier, entries, invoice_number="F-9b")
    assert again.lines.count() == 2


def test_returning_a_claim_needs_a_note(programme, firm, cashier, staff_user):
    claim = submit(programme, firm, cashier, [redeem(programme, firm, cashier)])
    with pytest.raises(VoucherError, match="why the claim is returned"):
        services.return_claim(claim, note="  ", acting_user=staff_user)
    claim.refresh_from_db()
    assert claim.status == Claim.Status.SUBMITTED and claim.lines.count() == 1


def test_a_claim_moves_only_along_its_transitions(programme, firm, cashier, staff_user):
    claim = checked_claim(programme, firm, cashier, staff_user)
    with pytest.raises(VoucherError, match="cannot be returned now"):
        services.return_claim(claim, note="Too late", acting_user=staff_user)
    with pytest.raises(VoucherError, match="cannot be checked now"):
        services.check_claim(claim, acting_user=staff_user)


def test_only_the_programmes_operator_checks_claims(programme, firm, cashier, funder, sme_admin):
    claim = submit(programme, firm, cashier, [redeem(programme, firm, cashier)])
    for user in (funder, sme_admin):
        with pytest.raises(VoucherError, match="operator"):
            services.check_claim(claim, acting_user=user)
    claim.refresh_from_db()
    assert claim.status == Claim.Status.SUBMITTED


# -------------------------------------------------------------------------------- the funder's decision


def test_approving_a_line_records_de_minimis_aid_granted_today(programme, firm, cashier, staff_user, funder):
    claim = checked_claim(programme, firm, cashier, staff_user)
    line = claim.lines.get()

    line = services.decide_claim_line(line, approve=True, acting_user=funder)

    assert line.status == ClaimLine.Status.APPROVED and line.decided_by == funder
    aid = line.aid
    assert aid.organisation == firm and aid.amount == Decimal("500.00")
    assert aid.granted_on == timezone.localdate()
    assert aid.granting_body == "Bretagne Innovation Agency"
    assert aid.source == DeMinimisAid.Source.PROGRAMME and aid.programme == programme
    assert actions()[-2:] == ["vouchers.deminimisaid.record", "vouchers.claimline.approve"]


def test_a_line_over_the_ceiling_of_the_linked_enterprises_stays_pending_with_the_headroom(
    programme, firm, cashier, staff_user, funder
):
    programme.de_minimis_ceiling = Decimal("10000.00")
    programme.save(update_fields=["de_minimis_ceiling"])
    group = EnterpriseGroup.objects.create(name="Breizh Holding")
    sister = OrganisationFactory(name="Breizh Services", kind=Organisation.Kind.SME, group=group)
    firm.group = group
    firm.save(update_fields=["group"])
    DeMinimisAidFactory(
        organisation=sister, amount=Decimal("9700.00"), granted_on=timezone.localdate() - timedelta(days=400)
    )
    claim = checked_claim(programme, firm, cashier, staff_user)
    line = claim.lines.get()

    with pytest.raises(VoucherError) as refusal:
        services.decide_claim_line(line, approve=True, acting_user=funder)

    assert "Breizh Sensors and its linked enterprises over the de minimis ceiling" in refusal.value.message
    assert "only 300.00 EUR is left" in refusal.value.message
    line.refresh_from_db()
    assert line.status == ClaimLine.Status.PENDING and line.aid is None
    assert de_minimis_total(firm, timezone.localdate()) == Decimal("9700.00")
    claim.refresh_from_db()
    assert claim.status == Claim.Status.CHECKED


def test_rejecting_a_line_needs_a_reason(programme, firm, cashier, staff_user, funder):
    line = checked_claim(programme, firm, cashier, staff_user).lines.get()
    with pytest.raises(VoucherError, match="reason"):
        services.decide_claim_line(line, approve=False, reason=" ", acting_user=funder)
    line = services.decide_claim_line(
        line, approve=False, reason="Not an eligible solution.", acting_user=funder
    )
    assert line.status == ClaimLine.Status.REJECTED and line.aid is None
    assert not DeMinimisAid.objects.exists()


def test_the_claim_is_decided_with_its_last_line(programme, firm, cashier, staff_user, funder):
    claim = checked_claim(programme, firm, cashier, staff_user, amounts=("500.00", "500.00"))
    first, second = claim.lines.order_by("pk")

    services.decide_claim_line(first, approve=True, acting_user=funder)
    claim.refresh_from_db()
    assert claim.status == Claim.Status.CHECKED and claim.decided_at is None

    services.decide_claim_line(second, approve=False, reason="Duplicate sale.", acting_user=funder)
    claim.refresh_from_db()
    assert claim.status == Claim.Status.DECIDED and claim.decided_at is not None
    with pytest.raises(VoucherError, match="already been decided"):
        services.decide_claim_line(second, approve=True, acting_user=funder)


def test_lines_are_decided_only_after_the_operators_check(programme, firm, cashier, funder):
    claim = submit(programme, firm, cashier, [redeem(programme, firm, cashier)])
    with pytest.raises(VoucherError, match="once the operator has checked"):
        services.decide_claim_line(claim.lines.get(), approve=True, acting_user=funder)
    assert not DeMinimisAid.objects.exists()


def test_only_the_programmes_funder_decides(programme, firm, cashier, staff_user, other_funder):
    line = checked_claim(programme, firm, cashier, staff_user).lines.get()
    for user in (staff_user, other_funder, cashier):
        with pytest.raises(VoucherError, match="Only the programme's funder"):
            services.decide_claim_line(line, approve=True, acting_user=user)
    line.refresh_from_db()
    assert line.status == ClaimLine.Status.PENDING


# ---------------------------------------------------------------------------------------------- pages


def test_firm_claims_page_lists_the_claims_and_what_is_left_to_claim(programme, firm, cashier):
    claim = submit(programme, firm, cashier, [redeem(programme, firm, cashier)], invoice_number="F-77")
    redeem(programme, firm, cashier)

    page = signed_in(cashier).get(reverse("firm_claims", args=[firm.slug]))

    text = page.content.decode()
    assert page.status_code == 200
    assert claim.reference in text and "F-77" in text
    assert reverse("claim_new", args=[firm.slug, programme.slug]) in text


def test_another_firm_cannot_see_or_make_claims_for_the_firm(programme, firm, cashier, other_firm_cashier):
    claim = submit(programme, firm, cashier, [redeem(programme, firm, cashier)])
    client = signed_in(other_firm_cashier)
    assert client.get(reverse("firm_claims", args=[firm.slug])).status_code == 403
    assert client.get(reverse("claim_new", args=[firm.slug, programme.slug])).status_code == 403
    assert client.get(reverse("claim_detail", args=[claim.pk])).status_code == 403
    assert client.get(reverse("claim_invoice", args=[claim.pk])).status_code == 403


def test_a_participant_and_another_funder_cannot_open_a_claim(
    programme, firm, cashier, participant, other_funder
):
    claim = submit(programme, firm, cashier, [redeem(programme, firm, cashier)])
    for user in (participant, other_funder):
        client = signed_in(user)
        assert client.get(reverse("claim_detail", args=[claim.pk])).status_code == 403
        assert client.get(reverse("programme_claims", args=[programme.slug])).status_code == 403


def test_new_claim_form_keeps_the_input_after_an_error_except_the_file(programme, firm, cashier):
    entries = [redeem(programme, firm, cashier) for _ in range(2)]
    url = reverse("claim_new", args=[firm.slug, programme.slug])

    page = signed_in(cashier).post(
        url,
        {
            "redemptions": [entries[1].pk],
            "invoice_number": "F-2026-04",
            "invoice": invoice(),
            "account_holder": "Breizh Sensors SAS",
            "iban": "FR1420041010050500013M02607",
            "bic": "",
        },
    )

    text = page.content.decode()
    assert page.status_code == 400
    assert "check digits do not match" in text
    assert 'value="F-2026-04"' in text and 'value="Breizh Sensors SAS"' in text
    assert f'value="{entries[1].pk}" id="redemption-{entries[1].pk}" checked' in text
    assert f'value="{entries[0].pk}" id="redemption-{entries[0].pk}">' in text
    assert "choose it again" in text
    assert not Claim.objects.exists()


def test_new_claim_form_submits_every_listed_redemption_and_shows_the_claim(programme, firm, cashier):
    entries = [redeem(programme, firm, cashier) for _ in range(3)]
    client = signed_in(cashier)

    response = client.post(
        reverse("claim_new", args=[firm.slug, programme.slug]),
        {
            "claim_all": "on",
            "invoice_number": "F-2026-05",
            "invoice": invoice(),
            "account_holder": "Breizh Sensors SAS",
            "iban": "fr14 2004 1010 0505 0001 3m02 606",
        },
    )

    claim = Claim.objects.get()
    assert response.status_code == 302 and response.url == reverse("claim_detail", args=[claim.pk])
    assert set(claim.lines.values_list("redemption", flat=True)) == {e.pk for e in entries}
    detail = client.get(response.url).content.decode()
    assert "1,500.00 EUR" in detail and claim.reference in detail


def test_the_invoice_downloads_as_an_attachment_with_its_type(programme, firm, cashier, staff_user):
    claim = submit(programme, firm, cashier, [redeem(programme, firm, cashier)])

    response = signed_in(staff_user).get(reverse("claim_invoice", args=[claim.pk]))

    assert response.status_code == 200
    assert response["Content-Type"] == "application/pdf"
    assert response["Content-Disposition"].startswith("attachment;")
    assert b"".join(response.streaming_content) == PDF


def test_operator_checks_and_returns_claims_on_the_claim_page(programme, firm, cashier, staff_user):
    claim = submit(programme, firm, cashier, [redeem(programme, firm, cashier)])
    client = signed_in(staff_user)
    assert "Operator's check" in client.get(reverse("claim_detail", args=[claim.pk])).content.decode()

    refused = client.post(reverse("claim_check", args=[claim.pk]), {"decision": "return", "note": ""})
    assert refused.status_code == 400 and "why the claim is returned" in refused.content.decode()

    done = client.post(reverse("claim_check", args=[claim.pk]), {"decision": "check", "note": "OK"})
    assert done.status_code == 302
    claim.refresh_from_db()
    assert claim.status == Claim.Status.CHECKED


def test_funder_sees_the_headroom_and_the_ceiling_refusal_on_the_line(
    programme, firm, cashier, staff_user, funder
):
    programme.de_minimis_ceiling = Decimal("800.00")
    programme.save(update_fields=["de_minimis_ceiling"])
    claim = checked_claim(programme, firm, cashier, staff_user, amounts=("500.00", "500.00"))
    first, second = claim.lines.order_by("pk")
    client = signed_in(funder)
    page = client.get(reverse("claim_detail", args=[claim.pk])).content.decode()
    assert "Headroom left" in page and "800.00 EUR" in page

    approved = client.post(
        reverse("claim_line_decide", args=[first.pk]),
        {f"line-{first.pk}-line": first.pk, f"line-{first.pk}-decision": "approve"},
    )
    assert approved.status_code == 302
    refused = client.post(
        reverse("claim_line_decide", args=[second.pk]),
        {f"line-{second.pk}-line": second.pk, f"line-{second.pk}-decision": "approve"},
    )

    assert refused.status_code == 400
    assert "only 300.00 EUR is left" in refused.content.decode()
    second.refresh_from_db()
    assert second.status == ClaimLine.Status.PENDING


def test_approve_all_approves_what_fits_and_explains_the_rest(programme, firm, cashier, staff_user, funder):
    programme.de_minimis_ceiling = Decimal("1000.00")
    programme.save(update_fields=["de_minimis_ceiling"])
    claim = checked_claim(programme, firm, cashier, staff_user, amounts=("500.00",) * 3)

    response = signed_in(funder).post(reverse("claim_approve_all", args=[claim.pk]), {"confirm": "on"})

    assert response.status_code == 400
    assert "only 0.00 EUR is left" in response.content.decode()
    assert claim.lines.filter(status=ClaimLine.Status.APPROVED).count() == 2
    assert claim.lines.filter(status=ClaimLine.Status.PENDING).count() == 1


def test_programme_claims_page_shows_the_totals_and_filters_by_status(
    programme, firm, cashier, staff_user, funder
):
    decided = checked_claim(programme, firm, cashier, staff_user, amounts=("500.00", "500.00"))
    first, second = decided.lines.order_by("pk")
    services.decide_claim_line(first, approve=True, acting_user=funder)
    services.decide_claim_line(second, approve=False, reason="No", acting_user=funder)
    waiting = submit(programme, firm, cashier, [redeem(programme, firm, cashier)])
    client = signed_in(staff_user)

    page = client.get(reverse("programme_claims", args=[programme.slug])).content.decode()
    filtered = client.get(
        reverse("programme_claims", args=[programme.slug]), {"status": "submitted"}
    ).content.decode()

    assert page.count("500.00 EUR") >= 3  # pending, approved and rejected totals
    assert decided.reference in page and waiting.reference in page
    assert waiting.reference in filtered and decided.reference not in filtered
    assert (
        client.get(reverse("programme_claims", args=[programme.slug]), {"status": "nonsense"}).status_code
        == 200
    )


def test_claim_pages_refuse_anonymous_visitors(programme, firm, cashier):
    claim = submit(programme, firm, cashier, [redeem(programme, firm, cashier)])
    response = Client().get(reverse("claim_detail", args=[claim.pk]))
    assert response.status_code == 302 and "login" in response.url


def test_new_claim_form_shows_every_problem_at_once(programme, firm, cashier):
    entry = redeem(programme, firm, cashier)

    page = signed_in(cashier).post(
        reverse("claim_new", args=[firm.slug, programme.slug]),
        {
            "redemptions": [entry.pk],
            "invoice_number": "F-1",
            "invoice": SimpleUploadedFile("invoice.pdf", EXE),
            "account_holder": "Breizh Sensors",
            "iban": "FR1420041010050500013M02607",
            "bic": "AGRIF",
        },
    )

    text = page.content.decode()
    assert "check digits do not match" in text
    assert "8 or 11 characters" in text
    assert "whatever its name says" in text
    assert not Claim.objects.exists()


def test_claim_lists_take_the_same_number_of_queries_for_more_claims(programme, firm, cashier, staff_user):
    submit(programme, firm, cashier, [redeem(programme, firm, cashier)])
    operator, firm_client = signed_in(staff_user), signed_in(cashier)
    urls = [
        (operator, reverse("programme_claims", args=[programme.slug])),
        (firm_client, reverse("firm_claims", args=[firm.slug])),
    ]
    for client, url in urls:
        client.get(url)  # warm caches (sessions, permissions)

    def queries(client, url):
        with CaptureQueriesContext(connection) as captured:
            assert client.get(url).status_code == 200
        return len(captured)

    before = [queries(client, url) for client, url in urls]
    for _ in range(4):
        submit(programme, firm, cashier, [redeem(programme, firm, cashier), redeem(programme, firm, cashier)])
    assert [queries(client, url) for client, url in urls] == before


def test_a_returned_claim_shows_the_firm_the_note_and_the_released_redemptions(
    programme, firm, cashier, staff_user
):
    entry = redeem(programme, firm, cashier, "500.00")
    claim = submit(programme, firm, cashier, [entry])
    client = signed_in(staff_user)
    response = client.post(
        reverse("claim_check", args=[claim.pk]), {"decision": "return", "note": "Please sign the invoice."}
    )
    assert response.status_code == 302

    page = signed_in(cashier).get(reverse("claim_detail", args=[claim.pk])).content.decode()

    assert "Please sign the invoice." in page
    assert f"…{entry.voucher.code[-4:]}" in page and "500.00 EUR" in page
    assert (
        reverse("claim_new", args=[firm.slug, programme.slug])
        in signed_in(cashier).get(reverse("firm_claims", args=[firm.slug])).content.decode()
    )
