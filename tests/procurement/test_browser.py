"""The pre-commercial procurement journey in a real browser. The authority's procurer publishes a prepared
call; a firm accepts the call's ground rules when asked, registers, forms a consortium, invites a research
partner (who accepts the agreement) and asks a clarification; the answer reaches every registered bidder
in one identical, anonymous mail; the consortium bids with a document and keeps the receipt; after the
deadline an evaluator declares no conflict and scores; the procurer records the consensus and awards phase
1; once the standstill ends the award is final and the phase's OCDS record shows it.

Two computers take part: the procurer's desk (a browser context of its own, signed in once with an
authenticator code) and the ``page`` that the firm, its partner and the evaluator use in turn."""

import io
import re
from datetime import timedelta
from decimal import Decimal

import pytest
from allauth.mfa.adapter import get_adapter
from allauth.mfa.models import Authenticator
from django.urls import reverse
from django.utils import timezone
from playwright.sync_api import expect
from pypdf import PdfReader, PdfWriter

from livinglab.factories import DEMO_PASSWORD, MembershipFactory, UserFactory
from livinglab.models import GroundRulesAcceptance, Organisation, Role
from procurement.models import (
    Award,
    AwardDecision,
    Bid,
    BidDocument,
    CallDocument,
    Clarification,
    ConflictDeclaration,
    ConsensusScore,
    Consortium,
    ConsortiumMember,
    Contract,
    Evaluator,
    Phase,
    Procurement,
    Registration,
    Score,
)
from procurement.services import calls, consultation
from procurement.tasks.awards import finalise_due_awards
from tests.browser import (
    SCREENSHOT_DIR,
    TIMEOUT_MS,
    fresh_totp_code,
    screenshot_prefix,
    sign_in,
)
from tests.conftest import with_totp
from tests.procurement.test_ocds import assert_codelists, assert_valid

pytestmark = pytest.mark.browser

TITLE = "Living at home longer in Espoo"
QUALITY = "Quality of the solution design"
QUESTION = "May the solution rely on the alarm buttons that home-care clients already wear?"
ANSWER = "Yes. The city's alarm platform offers an open interface; its specification is annexed to the call."
AGREEMENT = (
    "Breizh Sensors leads and builds the sensors; Aalto Care Research designs the field study. Each partner "
    "keeps the intellectual property rights of its own results."
)
PRICE = "120000.00"
# Scores out of 10 (quality weighs 60 %, price 40 %): 8 ÷ 10 × 60 + 7 ÷ 10 × 40 = 48 + 28 = 76 out of 100,
# above the phase's pass mark of 60.
SCORES = {QUALITY: "8", "Price": "7"}
TOTAL = Decimal("76.00")


def field(scope, label: str):
    """The form field labelled exactly ``label`` (required fields add a " *" to their label)."""
    return scope.get_by_label(re.compile(rf"^{re.escape(label)}( \*)?$"))


def link_in(message, path: str) -> str:
    """The site-relative part of the link to ``path`` in a mail (mails carry the public address)."""
    found = re.search(rf"https?://[^/\s]+({re.escape(path)}[^\s]*)", message.body)
    assert found, message.body
    return found.group(1)


def totp_secret(user) -> str:
    """The secret of the authenticator the fixtures enrolled for ``user``, as their app holds it."""
    authenticator = Authenticator.objects.get(user=user, type=Authenticator.Type.TOTP)
    return get_adapter().decrypt(authenticator.data["secret"])


def sign_out(tab) -> None:
    tab.get_by_role("button", name="Sign out").click()
    expect(tab.get_by_role("link", name="Sign in").first).to_be_visible()


def sign_in_with_totp(tab, user, used: set[str]) -> None:
    sign_in(tab, user.email, DEMO_PASSWORD)
    expect(tab).to_have_url(re.compile(r"/accounts/2fa/authenticate/$"))
    tab.locator("input[name=code]").fill(fresh_totp_code(totp_secret(user), used))
    tab.locator("main form button[type=submit]").first.click()
    tab.wait_for_url(lambda url: "/accounts/2fa/" not in url)


def parts(tab):
    """The navigation of a procurement's page to its parts (clarifications, consortia, evaluation…)."""
    return tab.get_by_role("navigation", name="Parts of this procurement")


def criterion_card(tab, name: str):
    """The card of one award criterion on the evaluation page of a bid."""
    heading = tab.get_by_role("heading", name=re.compile(f"^{re.escape(name)} "))
    return tab.locator("section.card").filter(has=heading)


def small_pdf() -> bytes:
    """A real one-page PDF, as a bidder's solution design would be."""
    writer = PdfWriter()
    writer.add_blank_page(width=595, height=842)
    writer.add_metadata({"/Title": "HomeSense solution design"})
    buffer = io.BytesIO()
    writer.write(buffer)
    return buffer.getvalue()


@pytest.fixture
def desk(browser, live_server, page, request):
    """The procurer's own computer: a second browser context on the same live server, failing the test on
    any server or script error just as ``page`` does."""
    context = browser.new_context(
        base_url=live_server.url, locale="en-GB", viewport={"width": 1280, "height": 900}
    )
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    problems: list[str] = []
    tab.on("pageerror", lambda error: problems.append(f"script error on the desk: {error}"))
    tab.on(
        "response",
        lambda response: (
            problems.append(f"{response.status} from {response.url}") if response.status >= 500 else None
        ),
    )
    yield tab
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        tab.screenshot(
            path=str(SCREENSHOT_DIR / f"{screenshot_prefix(request)}-desk-failed.png"), full_page=True
        )
    context.close()
    assert not problems, "The procurer met server or script errors: " + "; ".join(problems)


@pytest.fixture
def snap(desk, request):
    """``snap(desk, "step")``: a full-page screenshot of either computer, named like ``shoot``'s."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)

    def _snap(tab, step: str):
        path = SCREENSHOT_DIR / f"{screenshot_prefix(request)}-{step}.png"
        tab.screenshot(path=str(path), full_page=True)
        return path

    return _snap


@pytest.fixture
def scene(authority, cluster, procurer, sme, other_sme, sme_admin, accept):
    """A complete draft call of Espoo's social services, built through the calls service (three default
    phases, each with criteria summing to 100 %), and the people of the journey. The procurer, the
    evaluator, the research partner and the rival firm have accepted the call's ground rules; the firm's
    administrator has not."""
    procurement = calls.create_procurement(
        buyer=authority,
        title=TITLE,
        challenge="Older people want to live at home longer, safely and with dignity.",
        needs="Early detection of falls and loneliness, without cameras, alongside home-care visits.",
        expected_outcome="Home-care nurses act before a crisis; tested with 200 households.",
        budget=Decimal("1500000.00"),
        time_zone="Europe/Helsinki",
        specifications="A service that warns the home-care team of a fall or of a change in daily habits.",
        intermediaries=[cluster],
        acting_user=procurer,
    )
    phases = {p.number: p for p in procurement.phases.all()}
    now = timezone.now()
    calls.save_phase(
        phases[1],
        {"question_deadline": now + timedelta(days=5), "bid_deadline": now + timedelta(days=7)},
        acting_user=procurer,
    )
    for number, quality in ((1, QUALITY), (2, "Quality of the prototype"), (3, "Results of the field test")):
        calls.save_criterion(phases[number], {"name": quality, "weight": Decimal("60")}, acting_user=procurer)
        calls.save_criterion(
            phases[number], {"name": "Price", "weight": Decimal("40"), "is_price": True}, acting_user=procurer
        )
    assert calls.call_problems(procurement) == []
    accept(procurer, procurement, authority)

    evaluator = with_totp(
        MembershipFactory(
            organisation=authority, role=Role.EVALUATOR, user=UserFactory(email="evaluator@example.org")
        ).user
    )
    accept(evaluator, procurement, authority)
    research = Organisation.objects.create(
        name="Aalto Care Research", slug="aalto-care-research", kind=Organisation.Kind.RESEARCH, country="FI"
    )
    partner = MembershipFactory(
        organisation=research, role=Role.RESEARCHER, user=UserFactory(email="partner@example.org")
    ).user
    accept(partner, procurement, research)
    rival = MembershipFactory(
        organisation=other_sme, role=Role.FIRM_ADMIN, user=UserFactory(email="rival@example.org")
    ).user
    accept(rival, procurement, other_sme)
    return {
        "procurement": procurement,
        "phase": phases[1],
        "procurer": procurer,
        "evaluator": evaluator,
        "lead": sme_admin,
        "partner": partner,
        "research": research,
        "rival": rival,
    }


def test_a_call_is_published_answered_bid_for_evaluated_awarded_and_shown_as_open_contracting_data(
    page, desk, shoot, snap, scene, sme, other_sme, authority, mailoutbox
):
    procurement, phase = scene["procurement"], scene["phase"]
    procurer, lead, partner = scene["procurer"], scene["lead"], scene["partner"]
    used_codes: set[str] = set()

    # 1. The procurer opens the prepared draft and publishes the call; phase 1 opens and the call document
    # (PDF) is issued.
    sign_in_with_totp(desk, procurer, used_codes)
    desk.goto("/procurement/")
    desk.get_by_role("link", name=TITLE).click()
    expect(desk.get_by_text("Status: Draft")).to_be_visible()
    expect(desk.get_by_role("heading", name="Still missing before the call can be published")).to_have_count(
        0
    )
    snap(desk, "01-draft")
    desk.get_by_role("button", name="Publish the call and open phase 1").click()
    expect(
        desk.get_by_text("The call is published and phase 1 is open for questions and bids.")
    ).to_be_visible()
    expect(desk.get_by_text("Status: Call published")).to_be_visible()
    procurement.refresh_from_db()
    phase.refresh_from_db()
    assert procurement.status == Procurement.Status.CALL and procurement.published_at is not None
    assert phase.status == Phase.Status.OPEN
    document = CallDocument.objects.get(procurement=procurement, kind=CallDocument.Kind.CALL)
    assert document.version == 1
    call_link = desk.get_by_role("link", name=re.compile(r"^Call for tenders — .*\(version 1\)$"))
    expect(call_link).to_be_visible()
    pdf = desk.request.get(call_link.get_attribute("href"))
    assert pdf.ok and pdf.headers["content-type"] == "application/pdf"
    assert pdf.headers["x-content-sha256"] == document.sha256
    call_text = "\n".join(p.extract_text() for p in PdfReader(io.BytesIO(pdf.body())).pages)
    assert TITLE in call_text and QUALITY in call_text
    snap(desk, "02-published")

    # A second firm registered as a bidder as soon as the call was out (through the service).
    consultation.register_interest(
        procurement, other_sme, Registration.Stage.CALL, acting_user=scene["rival"]
    )

    # 2. The firm wants to register; it is asked to accept the call's ground rules first, with links.
    sign_in(page, lead.email, DEMO_PASSWORD)
    page.goto(f"/procurement/{procurement.slug}/")
    page.get_by_role("button", name="Register Breizh Sensors as a bidder").click()
    refusal = page.get_by_role("alert").filter(has_text="Accept the ground rules first")
    expect(refusal).to_be_visible()
    rules_link = refusal.get_by_role(
        "link", name=re.compile(r"^Ground rules for public procurement contacts")
    )
    expect(rules_link).to_be_visible()
    assert not Registration.objects.filter(procurement=procurement, organisation=sme).exists()
    shoot("03-rules-asked")
    rules_link.click()
    expect(
        page.get_by_role("heading", name=re.compile(r"^Ground rules for public procurement contacts"))
    ).to_be_visible()
    field(page, "I accept on behalf of").select_option(label="Breizh Sensors")
    field(page, "I have read these ground rules and agree to follow them.").check()
    shoot("04-rules")
    page.get_by_role("button", name="Accept these ground rules").click()
    expect(
        page.get_by_text(re.compile(r"Thank you: you accepted “Ground rules for public procurement"))
    ).to_be_visible()

    assert GroundRulesAcceptance.objects.filter(user=lead, organisation=sme).exists()
    page.goto(f"/procurement/{procurement.slug}/")
    page.get_by_role("button", name="Register Breizh Sensors as a bidder").click()
    expect(
        page.get_by_text("Breizh Sensors is registered as a bidder: it receives every clarification.")
    ).to_be_visible()
    assert Registration.objects.filter(procurement=procurement, organisation=sme, stage="call").exists()

    # It forms a consortium and invites its research partner.
    parts(page).get_by_role("link", name="Consortia", exact=True).click()
    field(page, "Name of the consortium").fill("HomeSense")
    field(page, "Consortium agreement").fill(AGREEMENT)
    page.get_by_role("button", name="Form the consortium").click()
    expect(page.get_by_text("The consortium “HomeSense” is formed. Invite your partners.")).to_be_visible()
    consortium = Consortium.objects.get(procurement=procurement, name="HomeSense")
    assert consortium.lead == sme
    field(page, "Organisation to invite").select_option(label="Aalto Care Research")
    field(page, "Contribution").fill("Designs and runs the field study with home-care clients.")
    page.get_by_role("button", name="Invite", exact=True).click()
    expect(page.get_by_text("Aalto Care Research is invited; it has been e-mailed.")).to_be_visible()
    shoot("05-consortium")

    # It asks a clarification, privately.
    page.goto(f"/procurement/{procurement.slug}/")
    parts(page).get_by_role("link", name="Clarifications", exact=True).click()
    field(page, "Your question").fill(QUESTION)
    page.get_by_role("button", name="Send the question").click()
    expect(page.get_by_text("Your question is sent.")).to_be_visible()
    expect(page.get_by_role("cell", name=QUESTION)).to_be_visible()
    shoot("06-question")
    clarification = Clarification.objects.get(phase=phase)
    assert clarification.asking_organisation == sme and clarification.status == Clarification.Status.ASKED
    sign_out(page)

    # The partner's researcher follows the link in the invitation mail and accepts the agreement.
    invitation = next(m for m in mailoutbox if partner.email in m.to and "HomeSense" in m.body)
    page.goto(link_in(invitation, "/procurement/consortia/"))
    page.locator("input[name=login]").fill(partner.email)
    page.locator("input[name=password]").fill(DEMO_PASSWORD)
    page.locator("main form button[type=submit]").first.click()
    expect(page.get_by_role("heading", name="Aalto Care Research is invited to join")).to_be_visible()
    expect(page.get_by_text(AGREEMENT)).to_be_visible()
    page.get_by_role("button", name="Accept the invitation and the agreement").click()
    expect(page.get_by_text("You accepted the invitation and the consortium agreement.")).to_be_visible()
    expect(page.get_by_text("Status: Formed")).to_be_visible()
    shoot("07-partner-accepted")
    member = ConsortiumMember.objects.get(consortium=consortium, organisation=scene["research"])
    consortium.refresh_from_db()
    assert member.status == ConsortiumMember.Status.ACCEPTED and member.accepted_by == partner
    assert member.agreement_sha256 == consortium.agreement_sha256
    assert consortium.status == Consortium.Status.FORMED
    sign_out(page)

    # 3. The procurer sees who asked, answers and publishes the answer to every registered bidder at once.
    desk.goto(f"/procurement/{procurement.slug}/clarifications/")
    question = desk.locator("article").filter(has_text=QUESTION)
    expect(question.get_by_role("heading", name="Asked by Breizh Sensors")).to_be_visible()
    field(question, "Answer").fill(ANSWER)
    snap(desk, "08-answer")
    mailoutbox.clear()
    question.get_by_role("button", name="Publish to every bidder now").click()
    expect(
        desk.get_by_text("The answer is published to every registered bidder and e-mailed to them.")
    ).to_be_visible()
    clarification.refresh_from_db()
    assert clarification.status == Clarification.Status.PUBLISHED
    answers = [m for m in mailoutbox if "clarification is published" in m.subject]
    assert sorted(address for m in answers for address in m.to) == [
        "partner@example.org",
        "rival@example.org",
        "sme@example.org",
    ]
    assert len({(m.subject, m.body) for m in answers}) == 1, "every bidder gets the very same mail"
    body = answers[0].body
    assert QUESTION in body and ANSWER in body
    for name in ("Breizh Sensors", "Aalto Care Research", "HomeSense", "sme@example.org"):
        assert name not in body

    # The procurer appoints the evaluation panel of phase 1 while bids come in.
    desk.goto(f"/procurement/{procurement.slug}/")
    parts(desk).get_by_role("link", name="Evaluation of phase 1").click()
    field(desk, "E-mail address of the evaluator").fill(scene["evaluator"].email)
    desk.get_by_role("button", name="Appoint").click()
    expect(desk.get_by_text(re.compile(r"is on the panel as evaluator\.$"))).to_be_visible()
    assert Evaluator.objects.filter(phase=phase, user=scene["evaluator"]).exists()

    # Anyone, without signing in, reads the published answer; it does not say who asked.
    page.goto(f"/procurement/{procurement.slug}/clarifications/")
    published = page.get_by_role("region", name="Published questions and answers")
    expect(published.get_by_text(QUESTION)).to_be_visible()
    expect(published.get_by_text(ANSWER)).to_be_visible()
    expect(page.get_by_text("Breizh Sensors")).to_have_count(0)
    expect(page.get_by_text("HomeSense")).to_have_count(0)
    shoot("09-public-answer")

    # 4. The consortium's lead prepares and submits the bid with a document, and reads its receipt.
    sign_in(page, lead.email, DEMO_PASSWORD)
    page.goto(reverse("procurement:consortium", args=[consortium.pk]))
    page.get_by_role("link", name="Phase 1: Solution design").click()
    field(page, "Summary of the proposed solution").fill(
        "Motion sensors and the existing alarm buttons warn the home-care team of falls and of a change "
        "in daily habits."
    )
    field(page, QUALITY).fill("A feasibility study with 20 households, then a design reviewed by nurses.")
    field(page, "Price (EUR, excluding VAT) — criterion “Price”").fill(PRICE)
    design = small_pdf()
    field(page, "Add documents").set_input_files(
        files=[{"name": "solution-design.pdf", "mimeType": "application/pdf", "buffer": design}]
    )
    shoot("10-bid")
    page.get_by_role("button", name="Submit the bid").click()
    expect(
        page.get_by_text(re.compile(r"Your bid is submitted\. Receipt fingerprint \(SHA-256\): [0-9a-f]{64}"))
    ).to_be_visible()
    bid = Bid.objects.get(phase=phase, consortium=consortium)
    assert bid.status == Bid.Status.SUBMITTED and len(bid.receipt_sha256) == 64
    receipt = page.get_by_role("region", name="Receipt")
    expect(receipt.locator("code")).to_have_text(bid.receipt_sha256)
    expect(receipt.get_by_text("Checked: the fingerprint matches the content stored now.")).to_be_visible()
    expect(page.get_by_role("link", name="solution-design.pdf")).to_be_visible()
    receipt_pdf = page.request.get(reverse("procurement:bid_receipt", args=[bid.pk]))
    assert receipt_pdf.ok and receipt_pdf.body().startswith(b"%PDF")
    shoot("11-receipt")
    # Sealed: before the deadline nobody outside the consortium reads the content, not even through the ORM.
    assert not BidDocument.objects.filter(bid=bid).exists()
    sign_out(page)

    # 5. Time passes: the bid deadline of phase 1 is moved into the past in the database, as the
    # ``pass_deadline`` fixture does, instead of waiting a week.
    moment = timezone.now() - timedelta(seconds=1)
    Phase.objects.filter(pk=phase.pk).update(bid_deadline=moment, question_deadline=moment)
    (document_row,) = BidDocument.objects.filter(bid=bid)
    assert document_row.name == "solution-design.pdf" and document_row.size == len(design)

    # 6. The evaluator opens the bid, declares no conflict of interest, reads it and scores each criterion.
    sign_in_with_totp(page, scene["evaluator"], used_codes)
    page.goto(f"/procurement/{procurement.slug}/")
    parts(page).get_by_role("link", name="Evaluation of phase 1").click()
    page.get_by_role("link", name=f"Bid #{bid.pk} by HomeSense").click()
    expect(page.get_by_role("heading", name="Your declaration of interests")).to_be_visible()
    expect(page.get_by_text("A feasibility study with 20 households")).to_have_count(0)
    page.get_by_label("I have no conflict of interest with this bid").check()
    shoot("12-declaration")
    page.get_by_role("button", name="Record my declaration").click()
    expect(
        page.get_by_text("Your declaration is recorded. You may now read and score the bid.")
    ).to_be_visible()
    expect(page.get_by_text("A feasibility study with 20 households")).to_be_visible()
    expect(page.get_by_role("link", name="solution-design.pdf")).to_be_visible()
    declaration = ConflictDeclaration.objects.get(bid=bid, evaluator__user=scene["evaluator"])
    assert declaration.has_conflict is False
    for name, score in SCORES.items():
        card = criterion_card(page, name)
        field(card, "Score from 0 to 10").fill(score)
        field(card, "Justification").fill(f"{name}: well argued and realistic for the home-care teams.")
        card.get_by_role("button", name=f"Save my score for “{name}”").click()
        expect(page.get_by_text(f"Your score for “{name}” is saved.")).to_be_visible()
    shoot("13-scored")
    assert Score.objects.filter(bid=bid, evaluator__user=scene["evaluator"]).count() == 2
    sign_out(page)

    # The procurer records the panel's consensus on each criterion, then decides the award of phase 1.
    desk.goto(f"/procurement/{procurement.slug}/phases/1/evaluation/")
    desk.get_by_role("link", name=f"#{bid.pk} HomeSense").first.click()
    for name, score in SCORES.items():
        card = criterion_card(desk, name)
        expect(card.get_by_role("cell", name=score, exact=True)).to_be_visible()
        field(card, "Score from 0 to 10").fill(score)
        field(card, "Justification").fill(f"The panel agrees: {name.lower()} is convincing.")
        card.get_by_role("button", name=f"Record the consensus on “{name}”").click()
        expect(desk.get_by_text(f"The consensus on “{name}” is recorded.")).to_be_visible()
    snap(desk, "14-consensus")
    assert ConsensusScore.objects.filter(bid=bid).count() == 2
    desk.get_by_role("link", name="Evaluation overview").click()
    desk.get_by_role("link", name="Award of this phase").click()
    field(desk, "Reasons for the decision").fill("HomeSense passes every threshold and ranks first.")
    desk.get_by_role("button", name="Decide the award").click()
    expect(desk.get_by_text("The award is decided. Every bidder is told its result")).to_be_visible()
    expect(desk.get_by_role("cell", name="Successful")).to_be_visible()
    snap(desk, "15-award-decided")
    decision = AwardDecision.objects.get(phase=phase)
    award = Award.objects.get(decision=decision)
    assert decision.status == AwardDecision.Status.STANDSTILL
    assert award.bid == bid and award.successful and award.rank == 1 and award.total == TOTAL
    assert award.value == Decimal(PRICE)
    assert any(lead.email in m.to and "HomeSense" in m.body for m in mailoutbox), "the lead is told"

    # Time passes again: instead of waiting ten days, the end of the standstill period is moved to now in
    # the database (the decision keeps its real date); then the task the beat scheduler runs makes the
    # decision final and draws up the contract.
    assert finalise_due_awards() == 0, "nothing is final during the standstill period"
    AwardDecision.objects.filter(pk=decision.pk).update(standstill_ends_at=timezone.now())
    assert finalise_due_awards() == 1
    desk.reload()
    expect(desk.locator("dd").filter(has_text=re.compile(r"^Final$"))).to_be_visible()
    expect(desk.get_by_role("link", name="Contract")).to_be_visible()
    snap(desk, "16-award-final")
    phase.refresh_from_db()
    assert phase.status == Phase.Status.AWARDED
    assert Contract.objects.get(award=award).value == Decimal(PRICE)

    # 7. Anyone reads the call's open contracting data: the record of phase 1 shows the award, active, to
    # the consortium's organisations, and validates against the vendored OCDS 1.1.5 schema and codelists.
    page.goto(f"/procurement/{procurement.slug}/")
    expect(
        page.get_by_role("row", name=re.compile(r"^Phase 1: Solution design Contracts awarded"))
    ).to_be_visible()
    page.goto("/procurement/ocds/")
    with page.expect_response(lambda r: r.url.endswith(f"/ocds/{phase.ocid}/record.json")) as fetched:
        page.get_by_role("link", name=f"Record {phase.ocid}", exact=True).click()
    response = fetched.value
    assert response.ok and response.headers["content-type"].startswith("application/json")
    expect(page.get_by_text(f'"ocid": "{phase.ocid}"').first).to_be_visible()
    shoot("17-ocds-record")
    package = response.json()
    assert_valid(package, "record-package-schema.json")
    (record,) = package["records"]
    assert record["ocid"] == phase.ocid
    assert_codelists(record["releases"])
    assert [r["date"] for r in record["releases"]] == sorted(r["date"] for r in record["releases"])
    state = record["compiledRelease"]
    period = state["tender"]["awardPeriod"]
    assert period["startDate"] <= period["endDate"], "the award is decided after the bid deadline"
    (published_award,) = state["awards"]
    assert published_award["status"] == "active"
    assert {s["name"] for s in published_award["suppliers"]} == {"Breizh Sensors", "Aalto Care Research"}
    assert published_award["value"] == {"amount": 120000, "currency": "EUR"}
    assert state["buyer"]["name"] == authority.name
    text = response.text()
    assert "@example.org" not in text
    for person in (procurer, lead, partner, scene["evaluator"]):
        assert f"{person.first_name} {person.last_name}" not in text
