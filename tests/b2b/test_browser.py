"""The B2B matchmaking journey in a real browser. A buyer firm posts a need, kept confidential until an
accepted introduction; the supplier's published offer is suggested with the reasons it matched, without
naming the supplier; the buyer asks the cluster for an introduction; the cluster coordinator brokers it
with a non-disclosure agreement; the buyer accepts, then the supplier accepts the B2B ground rules when
asked and the introduction; now each firm reads the other's name, contact and confidential details; the
buyer starts a co-development project from the introduction, which records the outcome.

Three computers take part: the buyer's (``page``), the cluster coordinator's (signed in with an
authenticator code) and the supplier's, each a browser context of its own on the same live server."""

import re

import pytest
from django.urls import reverse
from playwright.sync_api import expect

from livinglab.b2b.factories import OfferFactory
from livinglab.b2b.models import (
    Introduction,
    IntroductionAcceptance,
    IntroductionOutcome,
    ListingStatus,
    Match,
    Need,
    Project,
    ProjectPartner,
    Visibility,
)
from livinglab.factories import DEMO_PASSWORD
from livinglab.models import GroundRulesAcceptance
from tests.b2b.conftest import firm_user
from tests.browser import SCREENSHOT_DIR, TIMEOUT_MS, screenshot_prefix, sign_in
from tests.procurement.test_browser import field, sign_in_with_totp

pytestmark = pytest.mark.browser

NEED_TITLE = "Predict breakdowns of our freezing lines"
NEED_SUMMARY = "We want to predict machine failures of our freezing lines days ahead, with wireless sensors."
# What only the buyer, the cluster staff and — after an accepted introduction — the supplier may read.
BUYER_SECRET = "BUYERSECRET: line 4 in Kerava stops twice a month; each stop costs €40,000."
BUYER_USERS = "BUYERUSERS: night-shift maintenance technicians."
OFFER_TITLE = "Vibration sensors that predict machine failures"
SUPPLIER_SECRET = "SUPPLIERSECRET: our model reaches 92 % recall on compressor bearings."
SUPPLIER_REFERENCES = "SUPPLIERREFERENCES: piloted at two dairies."
MESSAGE = "Their sensors could warn our night shift before line 4 stops."
NOTE = "Both firms work on predictive maintenance in food processing: worth a first meeting."
GOALS = "A pilot on line 4 in Kerava: sensors on three compressors, warnings to the night shift by June."
LICENCES = "Nordic Foods may use the warning model in all its plants, royalty-free."
CONFIDENTIALITY = "Line data and the model's parameters stay confidential for five years."


@pytest.fixture
def computers(browser, live_server, page, request):
    """``open_computer("name")``: another person's computer, a browser context of its own on the live
    server, failing the test on any server or script error just as ``page`` does."""
    opened = []

    def open_computer(name: str):
        context = browser.new_context(
            base_url=live_server.url, locale="en-GB", viewport={"width": 1280, "height": 900}
        )
        context.set_default_timeout(TIMEOUT_MS)
        tab = context.new_page()
        problems: list[str] = []
        tab.on("pageerror", lambda error: problems.append(f"script error on the {name}'s computer: {error}"))
        tab.on(
            "response",
            lambda response: (
                problems.append(f"{response.status} from {response.url} on the {name}'s computer")
                if response.status >= 500
                else None
            ),
        )
        opened.append((name, context, tab, problems))
        return tab

    yield open_computer
    report = getattr(request.node, "rep_call", None)
    found: list[str] = []
    for name, context, tab, problems in opened:
        if report is not None and report.failed:
            SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
            tab.screenshot(
                path=str(SCREENSHOT_DIR / f"{screenshot_prefix(request)}-{name}-failed.png"), full_page=True
            )
        context.close()
        found += problems
    assert not found, "Other computers met server or script errors: " + "; ".join(found)


@pytest.fixture
def snap(page, request):
    """``snap(tab, "step")``: a full-page screenshot of any computer, named like ``shoot``'s."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)

    def _snap(tab, step: str):
        path = SCREENSHOT_DIR / f"{screenshot_prefix(request)}-{step}.png"
        tab.screenshot(path=str(path), full_page=True)
        return path

    return _snap


@pytest.fixture
def supplier_offer(supplier, tags):
    """Breizh Sensors' published offer, confidential until an accepted introduction. Its contact has not
    accepted the B2B ground rules yet: the journey asks them to."""
    contact = firm_user(supplier, "supplier@example.org")
    contact.first_name, contact.last_name = "Maëlle", "Le Goff"
    contact.save(update_fields=["first_name", "last_name"])
    offer = OfferFactory(
        organisation=supplier,
        contact=contact,
        title=OFFER_TITLE,
        summary="Wireless sensors and a model that predict failures of rotating machines days ahead.",
        description=SUPPLIER_SECRET,
        references=SUPPLIER_REFERENCES,
        visibility=Visibility.INTRODUCTION,
        sectors=[tags["food"]],
        technologies=[tags["iot"], tags["ml"]],
    )
    return offer


def body_text(tab) -> str:
    return tab.locator("body").inner_text()


def test_a_buyer_posts_a_need_is_introduced_to_the_suggested_supplier_and_starts_co_development(
    page, computers, shoot, snap, buyer, buyer_user, supplier, supplier_offer, broker, tags, mailoutbox
):
    supplier_user = supplier_offer.contact
    coordinator = computers("coordinator")
    supplier_desk = computers("supplier")

    # 1. The buyer signs in and posts a need, confidential until an accepted introduction, and publishes it.
    sign_in(page, buyer_user.email, DEMO_PASSWORD)
    page.goto(reverse("b2b:need_create"))
    expect(page.get_by_role("heading", name="Post a need", level=1)).to_be_visible()
    field(page, "Title").fill(NEED_TITLE)
    field(page, "Short summary").fill(NEED_SUMMARY)
    field(page, "Full description").fill(BUYER_SECRET)
    field(page, "Users affected").fill(BUYER_USERS)
    page.get_by_label("Within 6 to 12 months", exact=True).check()
    field(page, "Indicative budget").fill("Up to €120,000")
    page.get_by_label("Food processing", exact=True).check()
    page.get_by_label("Internet of things", exact=True).check()
    page.get_by_label("Machine learning", exact=True).check()
    page.get_by_label("Details revealed only after an accepted introduction", exact=True).check()
    shoot("01-need-form")
    page.get_by_role("button", name="Save as a draft").click()
    expect(page.get_by_text(f"Your draft “{NEED_TITLE}” is saved.")).to_be_visible()
    need = Need.objects.get(organisation=buyer, title=NEED_TITLE)
    assert need.status == ListingStatus.DRAFT and need.visibility == Visibility.INTRODUCTION
    page.get_by_role("button", name=re.compile(r"^Publish")).click()
    expect(page.get_by_text(f"“{NEED_TITLE}” is published.")).to_be_visible()
    shoot("02-need-published")
    need.refresh_from_db()
    assert need.status == ListingStatus.PUBLISHED
    # The test settings run tasks eagerly: publishing refreshed the suggestions when it committed.
    assert Match.objects.filter(need=need, offer=supplier_offer).exists()

    # 2. The supplier's offer is suggested, with the reasons it matched, but neither the supplier's name nor
    # its confidential details; the buyer asks the cluster for an introduction.
    page.get_by_role("link", name=re.compile(r"^1 suggested match$")).click()
    expect(page).to_have_url(reverse("b2b:need_matches", args=[need.pk]))
    suggestion = page.get_by_role("article").filter(has=page.get_by_role("heading", name=OFFER_TITLE))
    expect(suggestion).to_be_visible()
    expect(
        suggestion.get_by_text("Both involve these technologies: Internet of things, Machine learning")
    ).to_be_visible()
    expect(suggestion.get_by_text("Both are in these sectors: Food processing")).to_be_visible()
    words = suggestion.get_by_text(re.compile(r"^Words both summaries use: "))
    expect(words).to_be_visible()
    assert {"predict", "failures"} & set(re.findall(r"\w+", words.inner_text()))
    text = body_text(page)
    assert supplier.name not in text and "SUPPLIERSECRET" not in text and "SUPPLIERREFERENCES" not in text
    assert supplier_user.email not in page.content()
    shoot("03-suggested-match")
    suggestion.get_by_label("Why you would like to meet (optional)").fill(MESSAGE)
    suggestion.get_by_label("We want a mutual non-disclosure agreement").check()
    suggestion.get_by_role("button", name=re.compile(r"^Ask the cluster for an introduction")).click()
    expect(page.get_by_text("Your request is with the cluster staff")).to_be_visible()
    introduction = Introduction.objects.get(need=need, offer=supplier_offer)
    assert introduction.status == Introduction.Status.REQUESTED and introduction.nda_required
    assert introduction.message == MESSAGE and introduction.requested_by == buyer
    expect(page).to_have_url(reverse("b2b:introduction_detail", args=[introduction.pk]))
    assert supplier.name not in body_text(page)
    shoot("04-introduction-requested")

    # 3. The cluster coordinator signs in with an authenticator code, finds the request at the top of the
    # brokering queue and brokers it, with the mutual non-disclosure agreement the buyer asked for.
    sign_in_with_totp(coordinator, broker, set())
    coordinator.goto(reverse("b2b:introduction_list"))
    expect(coordinator.get_by_role("heading", name="Brokering queue", level=1)).to_be_visible()
    row = coordinator.get_by_role("row").filter(has_text=NEED_TITLE)
    expect(row).to_contain_text(OFFER_TITLE)
    expect(row).to_contain_text("Requested, waiting for the cluster")
    snap(coordinator, "05-brokering-queue")
    row.get_by_role("link", name=f"Introduction #{introduction.pk}").click()
    coordinator.get_by_role("link", name="Broker this introduction").click()
    expect(coordinator.get_by_text(MESSAGE)).to_be_visible()
    # The staff read both listings in full: they need to, to broker.
    expect(coordinator.get_by_text("BUYERSECRET")).to_be_visible()
    expect(coordinator.get_by_text("SUPPLIERSECRET")).to_be_visible()
    agreement = coordinator.get_by_label("Both firms accept a mutual non-disclosure agreement")
    expect(agreement).to_be_checked()
    field(coordinator, "Note to both firms").fill(NOTE)
    snap(coordinator, "06-broker")
    coordinator.get_by_role("button", name="Broker the introduction").click()
    expect(coordinator.get_by_text("The introduction is brokered; both firms are asked")).to_be_visible()
    introduction.refresh_from_db()
    assert introduction.status == Introduction.Status.BROKERED and introduction.brokered_by == broker
    assert introduction.nda_text and len(introduction.nda_sha256) == 64
    snap(coordinator, "07-brokered")

    # 4. The buyer reads the agreement and accepts. Until the supplier accepts too, it still sees neither the
    # supplier's name nor its details.
    page.reload()
    page.get_by_role("link", name="Read the ground rules and accept").click()
    expect(page.get_by_role("heading", name=f"Accept the introduction for {buyer.name}")).to_be_visible()
    expect(page.get_by_role("heading", name="Non-disclosure agreement")).to_be_visible()
    expect(page.get_by_text(introduction.nda_sha256)).to_be_visible()
    expect(page.get_by_text(NOTE)).to_be_visible()
    text = body_text(page)
    assert supplier.name not in text and "SUPPLIERSECRET" not in text
    shoot("08-buyer-reads-the-agreement")
    page.get_by_role("button", name="Accept the introduction and the agreement").click()
    expect(
        page.get_by_text("Your acceptance is recorded; the other firm is still to answer.")
    ).to_be_visible()
    answers = page.get_by_role("region", name="Answers of the firms")
    expect(answers.get_by_role("row", name=re.compile(r"^Buyer \(the need\) Yes, on "))).to_be_visible()
    expect(answers.get_by_role("row", name=re.compile(r"^Supplier \(the offer\) Not yet"))).to_be_visible()
    text = body_text(page)
    assert supplier.name not in text and "SUPPLIERSECRET" not in text and "SUPPLIERREFERENCES" not in text
    assert supplier_user.email not in page.content()
    shoot("09-buyer-waits-for-the-supplier")
    acceptance = IntroductionAcceptance.objects.get(introduction=introduction, organisation=buyer)
    assert acceptance.nda_sha256 == introduction.nda_sha256

    # 5. The supplier signs in, finds the introduction awaiting its answer, and is asked to accept the B2B
    # ground rules first; it does so on the ground rules' own page, comes back, and accepts the introduction.
    sign_in(supplier_desk, supplier_user.email, DEMO_PASSWORD)
    supplier_desk.goto(reverse("b2b:introduction_list"))
    row = supplier_desk.get_by_role("row").filter(has_text=OFFER_TITLE)
    expect(row).to_contain_text("Your answer is awaited")
    expect(row).not_to_contain_text(buyer.name)
    row.get_by_role("link", name=f"Introduction #{introduction.pk}").click()
    supplier_desk.get_by_role("link", name="Read the ground rules and accept").click()
    refusal = supplier_desk.get_by_role("alert").filter(has_text="Accept the ground rules first")
    expect(refusal).to_be_visible()
    accept_button = supplier_desk.get_by_role("button", name="Accept the introduction and the agreement")
    expect(accept_button).to_be_disabled()
    text = body_text(supplier_desk)
    assert buyer.name not in text and "BUYERSECRET" not in text and "BUYERUSERS" not in text
    snap(supplier_desk, "10-supplier-asked-for-the-ground-rules")
    accept_url = supplier_desk.url
    refusal.get_by_role("link", name=re.compile(r"^Ground rules for brokered introductions")).click()
    field(supplier_desk, "I accept on behalf of").select_option(label=supplier.name)
    field(supplier_desk, "I have read these ground rules and agree to follow them.").check()
    snap(supplier_desk, "11-ground-rules")
    supplier_desk.get_by_role("button", name="Accept these ground rules").click()
    expect(
        supplier_desk.get_by_text(re.compile(r"Thank you: you accepted “Ground rules for brokered"))
    ).to_be_visible()
    assert GroundRulesAcceptance.objects.filter(user=supplier_user, organisation=supplier).exists()
    expect(supplier_desk).to_have_url(accept_url)  # back where the rules were asked for
    expect(supplier_desk.get_by_role("alert").filter(has_text="Accept the ground rules first")).to_have_count(
        0
    )
    expect(supplier_desk.get_by_text(introduction.nda_sha256)).to_be_visible()
    accept_button.click()
    expect(
        supplier_desk.get_by_text("Both firms accepted: each other's details are now visible on this page.")
    ).to_be_visible()
    introduction.refresh_from_db()
    assert introduction.status == Introduction.Status.ACCEPTED

    # 6. Both firms now read each other's details: the supplier reads the buyer's name, need and contact…
    buyer_side = supplier_desk.get_by_role("region", name="The buyer's need")
    expect(buyer_side.get_by_text(buyer.name, exact=True)).to_be_visible()
    expect(buyer_side.get_by_text("BUYERSECRET")).to_be_visible()
    expect(buyer_side.get_by_text("BUYERUSERS")).to_be_visible()
    expect(buyer_side.get_by_role("link", name=buyer_user.email)).to_be_visible()
    expect(supplier_desk.get_by_text("Accepted by both firms").first).to_be_visible()
    snap(supplier_desk, "12-supplier-sees-the-buyer")

    # …and the buyer reads the supplier's name, offer and contact.
    page.reload()
    supplier_side = page.get_by_role("region", name="The supplier's offer")
    expect(supplier_side.get_by_text(supplier.name, exact=True)).to_be_visible()
    expect(supplier_side.get_by_text("SUPPLIERSECRET")).to_be_visible()
    expect(supplier_side.get_by_text("SUPPLIERREFERENCES")).to_be_visible()
    expect(supplier_side.get_by_text("Maëlle Le Goff")).to_be_visible()
    expect(supplier_side.get_by_role("link", name=supplier_user.email)).to_be_visible()
    shoot("13-buyer-sees-the-supplier")

    # 7. The buyer starts a co-development project from the introduction: goals and the IP arrangement.
    page.get_by_role("link", name=re.compile(r"^Start a co-development project")).click()
    expect(page).to_have_url(re.compile(rf"\?introduction={introduction.pk}$"))
    expect(page.get_by_role("heading", name="Start a co-development project", level=1)).to_be_visible()
    expect(field(page, "Title")).to_have_value(NEED_TITLE)
    field(page, "Goals").fill(GOALS)
    page.get_by_label("Results are owned jointly", exact=True).check()
    field(page, "Licences").fill(LICENCES)
    page.get_by_label("Exclusive in the buyer's field of use", exact=True).check()
    field(page, "Confidentiality").fill(CONFIDENTIALITY)
    shoot("14-project-form")
    page.get_by_role("button", name="Start the project").click()
    expect(page.get_by_text("The co-development project has started.")).to_be_visible()
    project = Project.objects.get(introduction=introduction)
    expect(page).to_have_url(reverse("b2b:project_detail", args=[project.slug]))
    partners = page.get_by_role("region", name="Partners")
    expect(partners.get_by_role("row", name=re.compile(rf"^{buyer.name} \(yours\) Buyer$"))).to_be_visible()
    expect(partners.get_by_role("row", name=re.compile(rf"^{supplier.name} Supplier$"))).to_be_visible()
    expect(page.get_by_text(GOALS)).to_be_visible()
    expect(page.get_by_text("Results are owned jointly.")).to_be_visible()
    expect(page.get_by_text(LICENCES)).to_be_visible()
    shoot("15-project")
    assert project.ip_ownership == Project.Ownership.JOINT
    assert project.exclusivity == Project.Exclusivity.FIELD
    assert set(ProjectPartner.objects.filter(project=project).values_list("organisation_id", "role")) == {
        (buyer.pk, ProjectPartner.Role.BUYER),
        (supplier.pk, ProjectPartner.Role.SUPPLIER),
    }

    # The introduction shows what came of it, to both firms.
    page.get_by_role("link", name=f"It started from introduction #{introduction.pk}.").click()
    outcomes = page.get_by_role("region", name="Outcomes")
    expect(outcomes.get_by_role("cell", name="Co-development started")).to_be_visible()
    expect(
        page.get_by_role("region", name="Co-development").get_by_role("link", name=project.title)
    ).to_be_visible()
    shoot("16-introduction-outcome")
    supplier_desk.reload()
    expect(
        supplier_desk.get_by_role("region", name="Outcomes").get_by_role(
            "cell", name="Co-development started"
        )
    ).to_be_visible()
    assert IntroductionOutcome.objects.filter(
        introduction=introduction, kind=IntroductionOutcome.Kind.CODEVELOPMENT
    ).exists()
    # Both firms were told by e-mail along the way.
    assert any(supplier_user.email in m.to for m in mailoutbox), "the supplier is asked to accept"
