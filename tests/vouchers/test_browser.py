"""The voucher journey in a real browser, across the four people it involves: an end-user applies on the
programme's public page and receives a voucher, a firm redeems it at its counter, the end-user answers the
feedback, the firm claims reimbursement, the cluster checks the claim, the funder approves it, exports the
payment batch and marks it paid. Each step asserts what the page says and what the database now holds."""

import csv
import io
import re
from decimal import Decimal

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from playwright.sync_api import expect

from cms.models import VoucherProgrammePage
from livinglab.factories import DEMO_PASSWORD, MembershipFactory, PersonFactory, UserFactory
from livinglab.models import Role
from tests.browser import fresh_totp_code, home_page, sign_in
from vouchers import services
from vouchers.factories import ProgrammeFactory, SolutionFactory
from vouchers.models import Claim, DeMinimisAid, Feedback, LedgerEntry, PaymentBatch, Voucher

pytestmark = pytest.mark.browser

PDF = b"%PDF-1.7\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


def field(page, label: str):
    """The form field labelled exactly ``label`` (required fields add a " *" to their label)."""
    return page.get_by_label(re.compile(rf"^{re.escape(label)}( \*)?$"))


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Sign in").first).to_be_visible()


def sign_in_with_code(page, email: str, secret: str, used: set[str]) -> None:
    """Privileged roles type their authenticator code after the password."""
    sign_in(page, email, DEMO_PASSWORD)
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/$"))
    page.locator("input[name=code]").fill(fresh_totp_code(secret, used))
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_url(lambda url: "/accounts/2fa/" not in url)


@pytest.fixture
def scene(cluster, agency, sme):
    """An open programme of 500 EUR vouchers with its public page, an approved solution, and the four
    people of the journey (the cluster's coordinator and the funding officer with an authenticator)."""
    coordinator = MembershipFactory(
        organisation=cluster, role=Role.LAB_COORDINATOR, user=UserFactory(email="coord@example.org")
    ).user
    officer = MembershipFactory(
        organisation=agency, role=Role.FUNDING_OFFICER, user=UserFactory(email="officer@example.org")
    ).user
    secrets = {}
    for user in (coordinator, officer):
        secrets[user.email] = generate_totp_secret()
        TOTP.activate(user, secrets[user.email])
    cashier = MembershipFactory(
        organisation=sme, role=Role.FIRM_ADMIN, user=UserFactory(email="counter@example.org")
    ).user
    holder = PersonFactory(full_name="Anne Le Goff", user=UserFactory(email="anne@example.org")).user
    programme = ProgrammeFactory(title="Warm homes Bretagne", operator=cluster, funder=agency)
    solution = SolutionFactory(firm=sme, name="Heat-pump retrofit", price=Decimal("900.00"))
    enrolment = services.apply_for_enrolment(solution, programme, acting_user=cashier)
    services.decide_enrolment(enrolment, approve=True, acting_user=coordinator)
    home_page().add_child(
        instance=VoucherProgrammePage(
            title="Warm homes vouchers",
            slug="warm-homes",
            programme=programme,
            introduction="A voucher of 500 EUR for households trying a new way to heat their home.",
        )
    )
    return {
        "programme": programme,
        "solution": solution,
        "firm": sme,
        "holder": holder,
        "cashier": cashier,
        "coordinator": coordinator,
        "officer": officer,
        "secrets": secrets,
    }


def test_an_end_user_applies_a_firm_redeems_and_claims_and_the_funder_pays(page, shoot, scene, mailoutbox):
    programme, firm = scene["programme"], scene["firm"]
    used_codes: set[str] = set()

    # 1. The end-user finds the programme's public page, signs in and applies.
    page.goto("/warm-homes/")
    expect(page.get_by_role("heading", level=1)).to_have_text("Warm homes vouchers")
    expect(page.get_by_text("Applications are open")).to_be_visible()
    expect(page.get_by_text("Heat-pump retrofit")).to_be_visible()
    shoot("1-public-page")
    sign_in(page, "anne@example.org", DEMO_PASSWORD)
    page.goto(f"/vouchers/apply/{programme.slug}/")
    field(page, "Region where you live").fill("Bretagne")
    field(page, "Postcode").fill("29200")
    field(page, "Your household").select_option(label="One adult")
    shoot("2-application-form")
    page.get_by_role("button", name="Apply").click()
    expect(page.get_by_role("heading", level=2, name="Voucher issued")).to_be_visible()
    shoot("3-voucher-issued")
    voucher = Voucher.objects.get(programme=programme, holder__user=scene["holder"])
    assert [m.to for m in mailoutbox] == [["anne@example.org"]]
    assert mailoutbox[0].attachments[0][2] == "application/pdf"
    page.get_by_role("link", name="Open the voucher").click()
    expect(page.get_by_text(voucher.formatted_code).first).to_be_visible()
    shoot("4-voucher")
    sign_out(page)

    # 2. At the firm's counter the cashier types the code, the price and the holder's name.
    sign_in(page, "counter@example.org", DEMO_PASSWORD)
    page.goto(f"/vouchers/firms/{firm.slug}/redeem/")
    field(page, "Voucher code").fill(voucher.formatted_code.lower())
    field(page, "Price of the purchase (EUR)").fill("900.00")
    field(page, "Solution sold").select_option(label="Heat-pump retrofit")
    field(page, "Holder's full name or family name").fill("Jean Martin")
    page.get_by_role("button", name="Redeem the voucher").click()
    expect(page.get_by_text("The name does not match the voucher's holder")).to_be_visible()
    assert not LedgerEntry.objects.filter(kind=LedgerEntry.Kind.REDEEM).exists()
    field(page, "Holder's full name or family name").fill("le goff")
    page.get_by_role("button", name="Redeem the voucher").click()
    expect(page.get_by_role("heading", level=1)).to_have_text("Voucher redeemed")
    expect(page.get_by_text("500.00 EUR").first).to_be_visible()
    shoot("5-receipt")
    redemption = LedgerEntry.objects.get(kind=LedgerEntry.Kind.REDEEM)
    assert redemption.amount == Decimal("-500.00") and redemption.firm == firm
    sign_out(page)

    # 3. The end-user answers the short questionnaire about the solution.
    sign_in(page, "anne@example.org", DEMO_PASSWORD)
    page.goto(f"/vouchers/{voucher.pk}/feedback/")
    page.get_by_role("group", name=re.compile("How satisfied")).get_by_label("4", exact=True).check()
    page.get_by_role("group", name=re.compile("How likely")).get_by_label("9", exact=True).check()
    page.get_by_role("group", name=re.compile("meet your need")).get_by_label("Yes").check()
    field(page, "Anything else you want to tell us? (optional)").fill("Warm at last.")
    shoot("6-feedback")
    page.get_by_role("button", name="Send my feedback").click()
    expect(page.get_by_role("heading", name="Thank you")).to_be_visible()
    feedback = Feedback.objects.get(voucher=voucher)
    assert (feedback.satisfaction, feedback.recommend, feedback.solved_need) == (4, 9, True)
    assert feedback.solution == scene["solution"]
    sign_out(page)

    # 4. The firm claims reimbursement with its invoice.
    sign_in(page, "counter@example.org", DEMO_PASSWORD)
    page.goto(f"/vouchers/claims/firm/{firm.slug}/new/{programme.slug}/")
    field(page, "Claim every redemption listed").check()
    field(page, "Invoice number").fill("BS-2026-014")
    field(page, "Invoice").set_input_files(
        {"name": "BS-2026-014.pdf", "mimeType": "application/pdf", "buffer": PDF}
    )
    field(page, "Account holder").fill("Breizh Sensors")
    field(page, "IBAN").fill("FR14 2004 1010 0505 0001 3M02 606")
    shoot("7-claim-form")
    page.get_by_role("button", name="Submit the claim").click()
    claim = Claim.objects.get(firm=firm)
    expect(page).to_have_url(re.compile(rf"/vouchers/claims/{claim.pk}/$"))
    assert claim.status == Claim.Status.SUBMITTED
    assert [line.amount for line in claim.lines.all()] == [Decimal("500.00")]
    shoot("8-claim-submitted")
    sign_out(page)

    # 5. The cluster's coordinator checks the claim for the funder.
    sign_in_with_code(page, "coord@example.org", scene["secrets"]["coord@example.org"], used_codes)
    page.goto(f"/vouchers/claims/{claim.pk}/")
    page.get_by_label(re.compile("Complete and correct")).check()
    page.get_by_role("button", name="Record the check").click()
    claim.refresh_from_db()
    assert claim.status == Claim.Status.CHECKED
    shoot("9-claim-checked")
    sign_out(page)

    # 6. The funder approves the line (de minimis aid to the firm), batches the payment and pays it.
    sign_in_with_code(page, "officer@example.org", scene["secrets"]["officer@example.org"], used_codes)
    page.goto(f"/vouchers/claims/{claim.pk}/")
    expect(page.get_by_text("De minimis headroom today")).to_be_visible()
    field(page, "Approve every line still waiting for a decision").check()
    page.get_by_role("button", name="Approve all waiting lines").click()
    expect(page.get_by_text("Approved").first).to_be_visible()
    claim.refresh_from_db()
    assert claim.status == Claim.Status.DECIDED
    aid = DeMinimisAid.objects.get(organisation=firm)
    assert aid.amount == Decimal("500.00") and aid.programme == programme
    shoot("10-claim-approved")

    page.goto(f"/vouchers/claims/programme/{programme.slug}/batches/")
    field(page, "Paying account holder").fill(scene["programme"].funder.name)
    field(page, "Paying account IBAN").fill("FR7630006000011234567890189")
    page.get_by_role("button", name="Create the payment batch").click()
    batch = PaymentBatch.objects.get(programme=programme)
    expect(page).to_have_url(re.compile(rf"/vouchers/claims/batches/{batch.pk}/$"))
    with page.expect_download() as download_info:
        page.get_by_role("link", name="Download the list (CSV)").click()
    rows = list(csv.reader(io.StringIO(download_info.value.path().read_text(encoding="utf-8-sig"))))
    assert len(rows) == 2, rows
    assert "Breizh Sensors" in rows[1] and "500.00" in rows[1]
    shoot("11-payment-batch")
    page.get_by_role("button", name="Mark as paid").click()
    batch.refresh_from_db()
    assert batch.status == PaymentBatch.Status.PAID
    shoot("12-paid")
