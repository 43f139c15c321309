"""The test-campaign journey in a real browser: a firm asks its living lab to test a pill reminder that
collects health data; the coordinator asks for changes, then approves, draws a participant from the panel,
invites her, schedules a session and builds a System Usability Scale questionnaire; the participant accepts,
books and answers; the firm reads the SUS score on its dashboard and in the PDF report it downloads."""

import io
import re

import pytest
from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
from django.utils import timezone
from playwright.sync_api import expect
from pypdf import PdfReader

from livinglab.factories import DEMO_PASSWORD, MembershipFactory, PersonFactory, UserFactory
from livinglab.models import Role
from pilots.models import Booking, Campaign, Invitation, Response
from pilots.scoring import SUS_ITEMS
from tests.browser import fresh_totp_code, sign_in

pytestmark = pytest.mark.browser

TITLE = "Pill reminder at home"
# Amélie's answers to the ten SUS statements, in their standard order (1 = strongly disagree).
SUS_ANSWERS = [4, 2, 5, 1, 4, 2, 5, 1, 4, 3]
# By hand: the odd statements score the answer minus 1: 3 + 4 + 3 + 4 + 3 = 17; the even ones 5 minus the
# answer: 3 + 4 + 3 + 4 + 2 = 16; the SUS score is (17 + 16) × 2.5 = 82.5.
SUS_SCORE = "82.5"
CHANGES = "Say where the health data are stored and who reads them, and keep the session under an hour."


def link_in(message, path: str) -> str:
    """The site-relative part of the link to ``path`` in a mail (mails carry the public address)."""
    found = re.search(rf"https?://[^/\s]+({re.escape(path)}[^\s]+)", message.body)
    assert found, message.body
    return found.group(1)


def sign_out(page) -> None:
    page.get_by_role("button", name="Sign out").click()
    expect(page.get_by_role("link", name="Sign in").first).to_be_visible()


def sign_in_with_totp(page, user, secret: str, used: set[str]) -> None:
    sign_in(page, user.email, DEMO_PASSWORD)
    page.locator("input[name=code]").fill(fresh_totp_code(secret, used))
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_url(lambda url: "/accounts/2fa/" not in url)


def fill_request(page) -> None:
    """The request form as the firm fills it first: a usability test of a prototype that reads health data."""
    page.get_by_label("Requested by").select_option(label="Breizh Sensors")
    page.get_by_label("Living lab").select_option(label="Images & Réseaux Living Lab")
    page.get_by_label("Business to consumers (B2C)").check()
    page.get_by_role("textbox", name="Title", exact=True).fill(TITLE)
    page.get_by_label("Product or service under test").fill("MediBox reminder")
    page.get_by_label("Description of the product or service").fill(
        "A pill box that lights up and speaks when a dose is due, and tells a relative when one is missed."
    )
    page.get_by_label("Prototype", exact=True).check()
    page.get_by_label("Objectives").fill("Learn whether people over 70 can set it up and use it alone.")
    page.get_by_label("Usability test").check()
    page.get_by_label("Panel to recruit from").select_option(label="Living well at home")
    page.get_by_label("Participants wanted").fill("1")
    page.get_by_label("Taking part in studies").check()
    page.get_by_label("Health data", exact=True).check()
    page.get_by_label("Incentive offered").fill("A 20 EUR voucher")
    page.get_by_label("What participants will do").fill(
        "Set up the pill box at the lab, use it for a pretend week of doses, and answer ten questions."
    )
    page.get_by_label("How much time it takes").fill("About 90 minutes")
    page.get_by_label("What participants get").fill("A 20 EUR voucher and a coffee.")
    page.get_by_label("What participants do not get").fill("The prototype: it stays with the firm.")
    page.get_by_label("Risks and inconveniences").fill("Some tiredness; the prototype may fail.")
    page.get_by_label("No ideas are collected (testing only)").check()
    page.get_by_label("Collects health data").check()


def test_a_firm_requests_a_health_test_which_is_reviewed_run_answered_and_reported(
    page, shoot, panel, member, sme_admin, cluster, mailoutbox, tmp_path
):
    coordinator = MembershipFactory(
        organisation=cluster, role=Role.LAB_COORDINATOR, user=UserFactory(email="coordinator@example.org")
    ).user
    secret = generate_totp_secret()
    TOTP.activate(coordinator, secret)
    used_codes: set[str] = set()
    amelie = member(
        consent=("participation", "health"),
        person=PersonFactory(user=UserFactory(email="amelie@example.org"), full_name="Amélie Le Goff"),
    ).person

    # 1. The firm requests a test that collects health data, and submits it.
    sign_in(page, sme_admin.email, DEMO_PASSWORD)
    page.get_by_role("link", name="Request a test campaign").click()
    expect(page).to_have_url(re.compile(r"/campaigns/new/$"))
    fill_request(page)
    shoot("1-request")
    page.get_by_role("button", name="Save the draft").click()
    expect(page.get_by_role("heading", name=TITLE)).to_be_visible()
    campaign = Campaign.objects.get(title=TITLE)
    assert campaign.needs_review
    page.get_by_role("button", name="Submit to the living lab").click()
    expect(page.get_by_text("Status: Submitted for review")).to_be_visible()
    shoot("2-submitted")
    sign_out(page)

    # 2. The coordinator starts the review and asks for changes, with reasons.
    sign_in_with_totp(page, coordinator, secret, used_codes)
    page.get_by_role("link", name="The whole review queue").click()
    page.get_by_role("link", name=TITLE).click()
    expect(
        page.get_by_text("Review required: health, minors, vulnerable people or recordings")
    ).to_be_visible()
    page.get_by_role("button", name="Start the review").click()
    expect(page.get_by_text("You are reviewing this campaign.")).to_be_visible()
    page.get_by_label("Request changes").check()
    page.get_by_label("Reasons").fill(CHANGES)
    shoot("3-changes-requested")
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_text("Decision recorded: Request changes.")).to_be_visible()
    expect(page.get_by_text("Status: Draft")).to_be_visible()
    sign_out(page)

    # The firm reads the reasons on its campaign page, edits the request and submits it again.
    sign_in(page, sme_admin.email, DEMO_PASSWORD)
    page.get_by_role("link", name=TITLE).first.click()
    expect(page.get_by_role("heading", name="The living lab asked for changes")).to_be_visible()
    expect(page.get_by_text(CHANGES).first).to_be_visible()
    shoot("4-firm-reads-reasons")
    page.get_by_role("link", name="Edit the request").click()
    page.get_by_label("How much time it takes").fill("45 minutes")
    page.get_by_label("Risks and inconveniences").fill(
        "Some tiredness; the prototype may fail. Dose times are stored at the living lab in France, read "
        "only by its staff, and deleted after 24 months."
    )
    page.get_by_role("button", name="Save the draft").click()
    expect(page.get_by_text("Your changes were saved.")).to_be_visible()
    page.get_by_role("button", name="Submit to the living lab").click()
    expect(page.get_by_text("Status: Submitted for review")).to_be_visible()
    sign_out(page)

    # The coordinator reviews again and approves with the whole checklist ticked.
    sign_in_with_totp(page, coordinator, secret, used_codes)
    page.get_by_role("link", name="The whole review queue").click()
    page.get_by_role("link", name=TITLE).click()
    page.get_by_role("button", name="Start the review").click()
    expect(page.get_by_text("45 minutes")).to_be_visible()
    checklist = page.get_by_role("group", name="Checklist (every item must hold to approve)")
    for box in checklist.get_by_role("checkbox").all():
        box.check()
    page.get_by_label("Approve").check()
    shoot("5-approve")
    page.get_by_role("button", name="Record the decision").click()
    expect(page.get_by_text("Status: Approved")).to_be_visible()

    # 3. The coordinator draws the participant, invites her, schedules a session and builds a questionnaire.
    page.get_by_role("button", name="Draw participants and start recruiting").click()
    expect(page.get_by_text("The campaign is now “Recruiting”.")).to_be_visible()
    page.get_by_role("link", name=TITLE).last.click()  # the draw made for the campaign
    page.get_by_role("link", name="Invitations").click()
    page.get_by_role("button", name="Send the invitations").click()
    expect(page.get_by_text("1 invitation sent.")).to_be_visible()
    shoot("6-invitations-sent")
    assert Invitation.objects.get(selection__draw__campaign=campaign).person == amelie

    page.get_by_role("link", name=f"Campaign “{TITLE}”").click()
    page.get_by_role("link", name="Sessions").click()
    page.get_by_role("link", name="Schedule a session").click()
    day = timezone.localtime() + timezone.timedelta(days=7)
    page.get_by_role("textbox", name="Title", exact=True).fill("Morning test at the lab")
    page.get_by_label("Starts at").fill(f"{day:%Y-%m-%d}T10:00")
    page.get_by_label("Ends at").fill(f"{day:%Y-%m-%d}T10:45")
    page.get_by_label("Place (address)").fill("Living lab, 1 rue de la Santé, Rennes")
    page.get_by_role("spinbutton", name="Places", exact=True).fill("4")
    page.get_by_label("Accessibility", exact=True).fill(
        "Step-free entrance; a quiet room; large-print instructions."
    )
    shoot("7-session")
    page.get_by_role("button", name="Schedule the session").click()
    expect(page.get_by_text("Session scheduled: participants can book it now.")).to_be_visible()

    page.locator(".eyebrow").get_by_role("link", name=TITLE).click()  # back to the sessions
    page.locator(".eyebrow").get_by_role("link", name=TITLE).click()  # back to the campaign
    page.get_by_role("link", name="Questionnaires").click()
    page.get_by_role("textbox", name="Title", exact=True).fill("After the test")
    page.get_by_role("button", name="Create questionnaire").click()
    expect(page.get_by_text("Questionnaire created: now add its questions.")).to_be_visible()
    page.get_by_label("Kind of question").select_option(
        label="System Usability Scale (10 standard statements)"
    )
    page.get_by_label("Short name").fill("sus")
    page.get_by_label("Question (English)").fill("How usable was the MediBox reminder?")
    page.get_by_role("button", name="Add question").click()
    expect(page.get_by_text("Question added.")).to_be_visible()
    page.get_by_role("button", name="Open the questionnaire").click()
    expect(page.get_by_text("The questionnaire is open for answers.")).to_be_visible()
    shoot("8-questionnaire")

    page.locator(".eyebrow").get_by_role("link", name=TITLE).click()  # back to the questionnaires
    page.locator(".eyebrow").get_by_role("link", name=TITLE).click()  # back to the campaign
    page.get_by_role("button", name="Recruitment done: start the sessions").click()
    expect(page.get_by_text("Status: Running")).to_be_visible()
    shoot("9-running")
    sign_out(page)

    # 4. Amélie accepts from her invitation mail, signs in, accepts the terms, books and answers.
    invitation_mail = next(
        m for m in mailoutbox if "amelie@example.org" in m.to and "/panels/invitations/" in m.body
    )
    assert TITLE in invitation_mail.body
    page.goto(link_in(invitation_mail, "/panels/invitations/"))
    page.get_by_role("button", name="Yes, I will take part").click()
    expect(page.get_by_text(re.compile("you said yes", re.I)).first).to_be_visible()
    page.get_by_role("link", name="Read the terms, book a session and answer the questionnaires").click()
    page.locator("input[name=login]").fill("amelie@example.org")
    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    page.locator("main form button[type=submit]").first.click()
    expect(page).to_have_url(re.compile(rf"/campaigns/{campaign.slug}/take-part/$"))
    expect(page.get_by_text("45 minutes")).to_be_visible()
    page.get_by_label("I have read what taking part involves").check()
    shoot("10-take-part")
    page.get_by_role("button", name="I accept and take part").click()
    expect(page.get_by_text("Thank you: you take part in this campaign.")).to_be_visible()
    page.get_by_role("button", name=re.compile(r"^Book")).click()
    expect(page.get_by_text("Morning test at the lab").first).to_be_visible()
    assert Booking.objects.get(person=amelie).status == Booking.Status.BOOKED
    shoot("11-booked")

    page.get_by_role("link", name="After the test").click()
    for number, (statement, answer) in enumerate(zip(SUS_ITEMS, SUS_ANSWERS, strict=True), start=1):
        item = page.get_by_role("group", name=f"{number}. {statement}")
        item.get_by_role("radio", name=re.compile(rf"^{answer} —")).check()
    shoot("12-sus")
    page.get_by_role("button", name="Submit").click()
    expect(page.get_by_text("Thank you: your answers are submitted.")).to_be_visible()
    response = Response.objects.get(person=amelie)
    assert response.status == Response.Status.SUBMITTED
    assert response.answers.get().value == SUS_ANSWERS
    sign_out(page)

    # 5. The firm reads the SUS score on its dashboard, and the same figure in the PDF report.
    sign_in(page, sme_admin.email, DEMO_PASSWORD)
    page.get_by_role("link", name=f"Results — {TITLE}").click()
    expect(page.locator(".sus-mean")).to_have_text(SUS_SCORE)
    expect(page.get_by_text("too few answers for a confidence interval")).to_be_visible()
    expect(page.get_by_text(amelie.full_name)).to_have_count(0)
    shoot("13-dashboard")
    page.get_by_role("link", name="Exports and report").click()
    page.get_by_label("Report, PDF").check()
    page.get_by_role("button", name="Make the file").click()
    download_link = page.get_by_role("link", name="Download: Report, PDF")
    expect(download_link).to_be_visible(timeout=60_000)  # made in the background; the page polls
    shoot("14-report-ready")
    with page.expect_download() as download:
        download_link.click()
    pdf = tmp_path / "report.pdf"
    download.value.save_as(pdf)
    text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.read_bytes())).pages)
    assert "SUS score (mean)" in text
    assert SUS_SCORE in text
    assert amelie.full_name not in text
