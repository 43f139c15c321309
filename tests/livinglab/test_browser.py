"""Journeys a person walks through in a real browser: joining, securing a staff account, accepting ground
rules, giving and withdrawing consent. Each asserts what the page says and what the database now holds."""

import io
import re

import pyotp
import pytest
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from playwright.sync_api import expect
from pypdf import PdfReader

from livinglab import services
from livinglab.factories import DEMO_PASSWORD, MembershipFactory, PersonFactory, UserFactory
from livinglab.models import ConsentRecord, GroundRulesAcceptance, Person, Role, User
from tests.browser import fresh_totp_code, sign_in

pytestmark = pytest.mark.browser

VERIFY_LINK = re.compile(r"https?://[^\s]+/accounts/confirm-email/[^\s]+/")


def field(page, label: str):
    """The form field labelled exactly ``label`` (required fields add a " *" to their label)."""
    return page.get_by_label(re.compile(rf"^{re.escape(label)}( \*)?$"))


def test_a_visitor_signs_up_verifies_their_email_and_lands_in_their_workspace(page, shoot, mailoutbox):
    page.goto("/accounts/signup/")
    field(page, "Full name").fill("Maëlle Le Goff")
    field(page, "Email").fill("maelle@example.org")
    field(page, "Password").fill("orchard-lantern-42")
    field(page, "Password (again)").fill("orchard-lantern-42")
    shoot("1-form")
    page.get_by_role("button", name="Sign Up").click()

    expect(page).to_have_url(re.compile(r"/accounts/confirm-email/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Verify Your Email Address")
    shoot("2-verify-your-email")
    user = User.objects.get(email="maelle@example.org")
    assert not EmailAddress.objects.get(user=user).verified
    assert Person.objects.get(user=user).full_name == "Maëlle Le Goff"

    assert [m.to for m in mailoutbox] == [["maelle@example.org"]]
    link = VERIFY_LINK.search(mailoutbox[0].body).group(0)

    # A link whose key was tampered with explains what went wrong and verifies nothing.
    tampered = re.sub(r"[^/]{4}/$", "AAAA/", link)
    assert tampered != link
    response = page.goto(tampered)
    assert response.status < 500
    expect(page.get_by_text("This email confirmation link expired or is invalid")).to_be_visible()
    expect(page.get_by_role("link", name="issue a new email confirmation request")).to_be_visible()
    shoot("3-tampered-link")
    assert not EmailAddress.objects.get(user=user).verified

    page.goto(link)
    expect(page.get_by_role("heading", level=1)).to_have_text("Confirm Email Address")
    expect(page.get_by_text("maelle@example.org").first).to_be_visible()
    shoot("4-confirm")
    page.get_by_role("button", name="Confirm").click()

    expect(page).to_have_url(re.compile(r"/workspace/me/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Welcome, Maëlle Le Goff")
    expect(page.get_by_role("button", name="Sign out")).to_be_visible()
    shoot("5-workspace")
    assert EmailAddress.objects.get(user=user, email="maelle@example.org").verified


def test_a_lab_coordinator_must_enrol_an_authenticator_and_then_signs_in_with_its_code(page, shoot, cluster):
    coordinator = MembershipFactory(
        organisation=cluster,
        role=Role.LAB_COORDINATOR,
        user=UserFactory(email="coordinator@example.org", first_name="Yannick", last_name="Morvan"),
    ).user
    PersonFactory(user=coordinator)
    assert not Authenticator.objects.filter(user=coordinator).exists()

    sign_in(page, "coordinator@example.org", DEMO_PASSWORD)
    page.goto("/workspace/")
    expect(page).to_have_url(re.compile(r"/accounts/mfa-required/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text("Two-step sign-in required")
    expect(page.get_by_text("Install an authenticator app")).to_be_visible()
    shoot("1-mfa-required")

    page.get_by_role("link", name="Set up authenticator").click()
    if "/reauthenticate/" in page.url:
        field(page, "Password").fill(DEMO_PASSWORD)
        page.locator("main form button[type=submit]").first.click()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/totp/activate/$"))
    secret_field = page.get_by_label("Authenticator secret")
    expect(secret_field).to_have_accessible_description(re.compile("reinstall your authenticator app"))
    secret = secret_field.input_value()
    assert re.fullmatch(r"[A-Z2-7]{32}", secret)
    shoot("2-activate")

    used: set[str] = set()
    field(page, "Authenticator code").fill(fresh_totp_code(secret, used))
    page.get_by_role("button", name="Activate").click()

    expect(page).to_have_url(re.compile(r"/accounts/2fa/recovery-codes/$"))
    recovery_codes = page.locator("#recovery_codes").input_value().split()
    assert len(recovery_codes) == 10
    shoot("3-recovery-codes")
    assert set(Authenticator.objects.filter(user=coordinator).values_list("type", flat=True)) == {
        Authenticator.Type.TOTP,
        Authenticator.Type.RECOVERY_CODES,
    }

    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Sign in").first).to_be_visible()

    sign_in(page, "coordinator@example.org", DEMO_PASSWORD)
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/$"))
    expect(page.get_by_text("Please enter an authenticator code")).to_be_visible()
    shoot("4-code-asked")
    # Like the app, type the next code rather than the one used to activate; keep 15 s of its
    # 30-second window for the reuse check below.
    code = fresh_totp_code(secret, used, margin=15)
    page.locator("input[name=code]").fill(code)
    page.locator("main form button[type=submit]").first.click()

    expect(page).to_have_url(re.compile(rf"/workspace/org/{cluster.slug}/$"))
    expect(page.get_by_role("heading", level=1)).to_have_text(cluster.name)
    expect(page.get_by_text("Living-lab coordinator").first).to_be_visible()
    shoot("5-cluster-workspace")

    # A code that has signed in once is refused if typed again, even while the app still shows it.
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Sign in").first).to_be_visible()
    sign_in(page, "coordinator@example.org", DEMO_PASSWORD)
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/$"))
    assert pyotp.TOTP(secret).now() == code, "the 30-second window ended: the reuse check would prove nothing"
    page.locator("input[name=code]").fill(code)
    page.locator("main form button[type=submit]").first.click()
    expect(page.get_by_text("Incorrect code.")).to_be_visible()
    expect(page).to_have_url(re.compile(r"/accounts/2fa/authenticate/$"))
    shoot("6-reused-code-refused")


def test_a_firm_admin_accepts_pending_ground_rules_for_their_firm_and_downloads_the_pdf(
    page, shoot, sme, sme_admin, platform_rules
):
    sign_in(page, sme_admin.email, DEMO_PASSWORD)
    expect(page).to_have_url(re.compile(rf"/workspace/org/{sme.slug}/$"))
    pending = page.get_by_role("region", name="Ground rules awaiting acceptance for this organisation")
    expect(pending.get_by_role("link", name=str(platform_rules))).to_be_visible()
    shoot("1-workspace-pending")

    pending.get_by_role("link", name=str(platform_rules)).click()
    expect(page.get_by_role("heading", level=1)).to_have_text(str(platform_rules))
    expect(page.get_by_text("No gifts or favours.")).to_be_visible()
    field(page, "I accept on behalf of").select_option(label=sme.name)
    page.get_by_role("button", name="Accept these ground rules").click()

    confirm = field(page, "I have read these ground rules and agree to follow them.")
    expect(confirm).to_have_accessible_description("This field is required.")
    shoot("2-checkbox-missing")
    assert not GroundRulesAcceptance.objects.exists()

    confirm.check()
    page.get_by_role("button", name="Accept these ground rules").click()

    expect(page).to_have_url(re.compile(r"/ground-rules/$"))
    expect(page.get_by_role("status")).to_contain_text(f"Thank you: you accepted “{platform_rules}”.")
    row = page.get_by_role("row").filter(has_text=str(platform_rules))
    expect(row).to_contain_text(sme.name)
    expect(row).to_contain_text("Current")
    shoot("3-accepted")
    acceptance = GroundRulesAcceptance.objects.get()
    assert (acceptance.user, acceptance.organisation, acceptance.version) == (sme_admin, sme, platform_rules)
    assert list(services.pending_ground_rules(sme_admin, organisation=sme)) == []

    with page.expect_download() as download_info:
        row.get_by_role("link", name="Download PDF").click()
    pdf = download_info.value.path().read_bytes()
    assert pdf.startswith(b"%PDF")
    text = " ".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf)).pages)
    assert "Platform code of conduct" in text
    assert sme.name in text

    page.goto(f"/workspace/org/{sme.slug}/")
    expect(page.get_by_text("Nothing to accept: this organisation is up to date.")).to_be_visible()


def test_a_participant_gives_explicit_health_consent_and_withdraws_it_with_one_click(
    page, shoot, participant, consent_form, mailoutbox
):
    person = participant.person
    sign_in(page, participant.email, DEMO_PASSWORD)
    page.goto("/consent/")
    expect(page.get_by_text("You have not given any consent yet.")).to_be_visible()
    page.get_by_role("link", name=str(consent_form)).click()

    expect(page.get_by_role("heading", level=1)).to_have_text(str(consent_form))
    field(page, "Health data").check()
    page.get_by_role("button", name="Give my consent").click()

    explicit = "I explicitly agree that data about my health may be processed for this purpose."
    expect(field(page, explicit)).to_have_accessible_description(
        "Tick this box as well to give explicit consent for “Health data”."
    )
    shoot("1-explicit-missing")
    assert not services.has_active_consent(person, "health-data")

    expect(field(page, "Health data")).to_be_checked()
    field(page, explicit).check()
    page.get_by_role("button", name="Give my consent").click()

    expect(page).to_have_url(re.compile(r"/consent/$"))
    expect(page.get_by_role("status")).to_contain_text("Your consent is recorded.")
    row = page.get_by_role("row").filter(has_text="Health data")
    expect(row).to_contain_text("Active")
    expect(row).to_contain_text("explicit")
    shoot("2-given")
    assert services.has_active_consent(person, "health-data")
    assert not services.has_active_consent(person, "participation")
    record = ConsentRecord.objects.get(person=person)
    assert record.explicit
    assert [m.subject for m in mailoutbox] == ["Your consent receipt: Health data"]

    row.get_by_role("button", name=re.compile(r"^Withdraw")).click()

    expect(page.get_by_role("status")).to_contain_text("Consent to “Health data” is withdrawn from now on.")
    row = page.get_by_role("row").filter(has_text="Health data")
    expect(row).to_contain_text("Withdrawn")
    expect(row.get_by_role("button", name=re.compile(r"^Withdraw"))).to_have_count(0)
    shoot("3-withdrawn")
    assert not services.has_active_consent(person, "health-data")
    record.refresh_from_db()
    assert record.withdrawal_channel == ConsentRecord.WithdrawalChannel.ONLINE


def test_the_first_tab_on_the_home_page_shows_the_skip_link_and_it_moves_focus_to_the_content(page, shoot):
    page.goto("/")
    skip = page.get_by_role("link", name="Skip to main content")
    assert skip.bounding_box()["x"] < 0, "the skip link should stay off-screen until focused"

    page.keyboard.press("Tab")
    expect(skip).to_be_focused()
    box = skip.bounding_box()
    viewport = page.viewport_size
    assert box["x"] >= 0 and box["x"] + box["width"] <= viewport["width"]
    assert box["y"] >= 0 and box["y"] + box["height"] <= viewport["height"]
    shoot("1-skip-link-focused")

    page.keyboard.press("Enter")
    expect(page.locator("main#main")).to_be_focused()
