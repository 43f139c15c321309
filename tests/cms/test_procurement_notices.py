"""Public notices of pre-commercial procurements: the index with its filters, the challenge and market
consultation notice, and the call for tenders notice. Their facts are read live from the procurement, dates
are shown in the buyer's time zone, answers never say who asked, and drafts stay unpublished."""

from datetime import UTC, datetime, timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.test import Client, RequestFactory
from django.test.utils import CaptureQueriesContext
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from cms.models import CallNoticePage, ChallengeNoticePage, HomePage, ProcurementIndexPage
from livinglab.factories import OrganisationFactory, UserFactory
from livinglab.models import Organisation
from procurement.factories import (
    AwardCriterionFactory,
    BidFactory,
    ConsortiumFactory,
    PhaseFactory,
    ProcurementFactory,
)
from procurement.models import (
    Award,
    AwardDecision,
    CallDocument,
    Clarification,
    ConsultationEvent,
    Contract,
    Phase,
    Procurement,
    Registration,
)

# 12:30 in Helsinki (UTC+2 in mid-March), 11:30 in Brussels (the server's zone).
BID_DEADLINE = datetime(2030, 3, 15, 10, 30, tzinfo=UTC)


def publish(parent, page):
    parent.add_child(instance=page)
    page.save_revision().publish()
    return page


def visit(url, **params) -> tuple[int, str]:
    response = Client().get(url, params)
    return response.status_code, response.content.decode()


def url_or_none(name, *args):
    try:
        return reverse(name, args=args)
    except NoReverseMatch:  # that part of the procurement site is not there
        return None


@pytest.fixture
def index(db):
    return publish(
        HomePage.objects.get(),
        ProcurementIndexPage(
            title="Public procurement of innovation",
            slug="public-procurement",
            introduction="Challenges, consultations and calls.",
        ),
    )


@pytest.fixture
def espoo(authority, cluster):
    """Espoo's call: the consultation is over (two events, a published summary), phase 1 open for bids
    until 15 March 2030, phases 2 and 3 planned."""
    now = timezone.now()
    procurement = ProcurementFactory(
        buyer=authority,
        title="Living at home longer in Espoo",
        slug="living-at-home-longer",
        intermediaries=[cluster],
        challenge="Older people want to live at home longer, safely.",
        needs="Detect falls without cameras.",
        expected_outcome="Nurses act before a crisis.",
        budget=Decimal("1500000"),
        specifications="Work with the existing home-care visits.",
        consultation_opens_at=now - timedelta(days=90),
        consultation_closes_at=now - timedelta(days=30),
        consultation_summary="Firms asked for access to anonymised visit data.",
        consultation_summary_published_at=now - timedelta(days=25),
    )
    phase = PhaseFactory(
        procurement=procurement, bid_deadline=BID_DEADLINE, question_deadline=BID_DEADLINE - timedelta(days=5)
    )
    AwardCriterionFactory(phase=phase, name="Quality of the solution design", weight=Decimal("60"))
    AwardCriterionFactory(
        phase=phase, name="Price", weight=Decimal("40"), is_price=True, threshold=Decimal("2")
    )
    for number, title in ((2, "Prototype development"), (3, "Field testing of first products")):
        PhaseFactory(
            procurement=procurement,
            number=number,
            title=title,
            status=Phase.Status.PLANNED,
            question_deadline=None,
            bid_deadline=None,
            opened_at=None,
            budget=Decimal("450000"),
            max_contractors=3,
        )
    return procurement


@pytest.fixture
def challenge_page(index, espoo):
    return publish(
        index,
        ChallengeNoticePage(
            title="Challenge: living at home longer",
            slug="challenge-living-at-home-longer",
            procurement=espoo,
            introduction="How can older people stay at home safely?",
        ),
    )


@pytest.fixture
def call_page(index, espoo):
    return publish(
        index,
        CallNoticePage(
            title="Call: living at home longer",
            slug="call-living-at-home-longer",
            procurement=espoo,
            introduction="Three phases, five suppliers at first.",
        ),
    )


def other_call(index, title, *, buyer=None, status=Procurement.Status.CALL, phase_status=Phase.Status.OPEN):
    procurement = ProcurementFactory(title=title, status=status, **({"buyer": buyer} if buyer else {}))
    if status != Procurement.Status.CONSULTATION:
        PhaseFactory(procurement=procurement, status=phase_status)
    return publish(
        index, CallNoticePage(title=f"Call: {title}", slug=procurement.slug, procurement=procurement)
    )


# ------------------------------------------------------------------------------------------- the index


def test_the_index_lists_each_notice_with_its_buyer_status_and_next_key_date_in_the_buyers_zone(
    index, call_page, challenge_page
):
    status, html = visit(index.url)

    assert status == 200
    assert "2 notices" in html
    assert "Call: living at home longer" in html and "Challenge: living at home longer" in html
    assert "City of Espoo Social Services" in html
    assert "Call open for bids" in html
    # The next key date is phase 1's deadline for questions, five days before the bids.
    assert "Phase 1: deadline for questions" in html
    assert "March 10, 2030, 12:30 p.m." in html and "Europe/Helsinki time" in html
    assert "11:30 a.m." not in html
    assert "1,500,000 EUR" in html


def test_the_index_filters_by_status_buyer_and_words_of_the_title(index, call_page, authority):
    oulu = OrganisationFactory(name="City of Oulu", kind=Organisation.Kind.PUBLIC_AUTHORITY)
    other_call(index, "Digital companion against loneliness", buyer=oulu)
    other_call(index, "Warmer homes", buyer=oulu, status=Procurement.Status.CONSULTATION)
    other_call(index, "Smart pill boxes", buyer=oulu, phase_status=Phase.Status.AWARDED)

    def titles(**params):
        status, html = visit(index.url, **params)
        assert status == 200
        return {
            t
            for t in (
                "Call: living at home longer",
                "Call: Digital companion against loneliness",
                "Call: Warmer homes",
                "Call: Smart pill boxes",
            )
            if t in html
        }

    assert len(titles()) == 4
    assert titles(stage="consultation") == {"Call: Warmer homes"}
    assert titles(stage="awarded") == {"Call: Smart pill boxes"}
    assert titles(stage="open") == {
        "Call: living at home longer",
        "Call: Digital companion against loneliness",
    }
    assert titles(buyer=authority.slug) == {"Call: living at home longer"}
    assert titles(buyer=oulu.slug, stage="open") == {"Call: Digital companion against loneliness"}
    assert titles(q="LONELINESS") == {"Call: Digital companion against loneliness"}
    assert titles(q="nothing like this") == set()
    assert "No notice matches these filters." in visit(index.url, q="nothing like this")[1]


def test_the_filter_form_is_labelled_and_an_unknown_buyer_is_refused_not_crashed(index, call_page):
    status, html = visit(index.url, buyer="no-such-buyer")

    assert status == 200
    assert 'role="search"' in html
    for field in ("id_stage", "id_buyer", "id_q"):
        assert f'<label for="{field}">' in html
    assert "Select a valid choice" in html


def test_a_call_whose_deadline_has_passed_is_listed_as_closed_not_open(index, call_page, espoo):
    Phase.objects.filter(procurement=espoo, number=1).update(
        bid_deadline=timezone.now() - timedelta(seconds=1)
    )

    assert "Call: living at home longer" not in visit(index.url, stage="open")[1]
    assert "Call: living at home longer" in visit(index.url, stage="evaluation")[1]


def test_the_index_paginates_and_runs_the_same_number_of_queries_for_many_notices(index, call_page):
    def queries():
        with CaptureQueriesContext(connection) as captured:
            assert Client().get(index.url).status_code == 200
        return len(captured)

    few = queries()
    for n in range(11):
        other_call(index, f"Call number {n}")
    assert queries() == few
    html = visit(index.url, page=2)[1]
    assert "12 notices" in html and "Page 2 of 2" in html
    assert "Clear the filters" not in html and "noindex" not in html  # a page number is not a filter


# ----------------------------------------------------------------------------------------- drafts


def test_a_notice_of_a_draft_procurement_is_not_found_listed_or_in_the_sitemap(index, call_page, espoo):
    Procurement.objects.filter(pk=espoo.pk).update(status=Procurement.Status.DRAFT)

    assert visit(call_page.url)[0] == 404
    assert "Call: living at home longer" not in visit(index.url)[1]
    assert CallNoticePage.objects.get(pk=call_page.pk).get_sitemap_urls(RequestFactory().get("/")) == []


def test_an_editor_previewing_a_notice_of_a_draft_procurement_sees_it_with_a_warning(call_page, espoo):
    Procurement.objects.filter(pk=espoo.pk).update(status=Procurement.Status.DRAFT)

    response = CallNoticePage.objects.get(pk=call_page.pk).make_preview_request()

    assert response.status_code == 200
    html = response.content.decode()
    assert "Prototype development" in html
    assert "this procurement is still a draft" in html


# ------------------------------------------------------------------------------ the challenge notice


def test_the_challenge_notice_shows_the_challenge_events_who_took_part_and_the_published_summary(
    challenge_page, espoo, sme, other_sme
):
    now = timezone.now()
    workshop = ConsultationEvent.objects.create(
        procurement=espoo,
        title="Information day at Espoo city hall",
        starts_at=now - timedelta(days=60),
        ends_at=now - timedelta(days=60) + timedelta(hours=3),
        place="Espoo city hall",
    )
    workshop.attendees.set([sme, other_sme])
    Registration.objects.create(procurement=espoo, organisation=sme, stage=Registration.Stage.CONSULTATION)

    status, html = visit(challenge_page.url)

    assert status == 200
    assert "Older people want to live at home longer, safely." in html
    assert "Detect falls without cameras." in html and "Nurses act before a crisis." in html
    assert "1,500,000 EUR" in html
    assert "Information day at Espoo city hall" in html
    assert "2 organisations took part: Breizh Sensors, Loire Mobile" in html
    assert "Firms asked for access to anonymised visit data." in html
    assert "1 organisation registered for the consultation" in html
    assert "The consultation is closed" in html


def test_the_challenge_notice_invites_firms_to_register_while_the_consultation_is_open(challenge_page, espoo):
    Procurement.objects.filter(pk=espoo.pk).update(
        status=Procurement.Status.CONSULTATION,
        consultation_closes_at=timezone.now() + timedelta(days=20),
        consultation_summary_published_at=None,
    )

    status, html = visit(challenge_page.url)

    assert status == 200
    assert "Take part in the consultation" in html
    assert "Firms asked for access to anonymised visit data." not in html  # not published yet
    consultation_url = url_or_none("procurement:consultation", espoo.slug)
    if consultation_url:
        assert consultation_url in html


def test_the_challenge_and_call_notices_link_to_each_other(challenge_page, call_page):
    assert call_page.url in visit(challenge_page.url)[1]
    assert challenge_page.url in visit(call_page.url)[1]


# ----------------------------------------------------------------------------------- the call notice


def test_the_call_notice_shows_phases_criteria_risk_benefit_terms_and_key_dates_in_the_buyers_zone(
    call_page, espoo
):
    status, html = visit(call_page.url)

    assert status == 200
    assert "Phase 1: Solution design" in html and "Phase 2: Prototype development" in html
    assert "150,000 EUR" in html and "450,000 EUR" in html
    assert "Maximum number of contractors" in html
    assert "4 months" in html
    assert "Feasibility study and solution design." in html
    assert "Open for bids" in html and "Planned" in html
    assert "Quality of the solution design" in html and "60 %" in html and "40 %" in html
    assert "2 out of 10" in html  # the price criterion's minimum score
    assert "Each supplier keeps the intellectual property rights" in html
    assert "Commercial volumes of end-products are excluded" in html
    # Key dates in the buyer's zone, named; never in the server's.
    assert "Phase 1: deadline for bids" in html
    assert "March 15, 2030, 12:30 p.m." in html
    assert 'datetime="2030-03-15T12:30:00+02:00"' in html
    assert "Europe/Helsinki" in html
    assert "11:30 a.m." not in html


def test_the_call_notice_reads_its_facts_live_from_the_procurement(call_page, espoo):
    Phase.objects.filter(procurement=espoo, number=2).update(max_contractors=7, title="Prototypes in labs")

    html = visit(call_page.url)[1]

    assert "Phase 2: Prototypes in labs" in html
    assert "<dd>7</dd>" in html


def test_the_call_notice_publishes_answers_without_the_asker_and_hides_pending_questions(
    call_page, espoo, sme
):
    phase = espoo.phases.get(number=1)
    asker = UserFactory(email="asker@example.org", first_name="Aurélie", last_name="Quéméner")
    Clarification.objects.create(
        phase=phase,
        asked_by=asker,
        asking_organisation=sme,
        question="We at Breizh Sensors would like to know whether alarm buttons count.",
        public_question="May a solution rely on existing alarm buttons?",
        answer="Yes, as long as it also works without them.",
        status=Clarification.Status.PUBLISHED,
        published_at=timezone.now(),
    )
    Clarification.objects.create(
        phase=phase, asked_by=asker, asking_organisation=sme, question="Is the budget firm?"
    )

    html = visit(call_page.url)[1]

    assert "May a solution rely on existing alarm buttons?" in html
    assert "Yes, as long as it also works without them." in html
    assert "Is the budget firm?" not in html
    assert "Breizh Sensors" not in html
    assert "asker@example.org" not in html and "Quéméner" not in html


def test_the_call_notice_lists_the_latest_version_of_each_document_and_the_open_data_links(call_page, espoo):
    for version in (1, 2):
        CallDocument.objects.create(
            procurement=espoo,
            kind=CallDocument.Kind.CALL,
            title=f"Call for tenders (version {version})",
            file=f"procurement-documents/2026/call-v{version}.pdf",
            sha256="0" * 64,
            version=version,
        )
    CallDocument.objects.create(
        procurement=espoo,
        kind=CallDocument.Kind.ANNEX,
        title="Data agreement for visit data",
        file="procurement-documents/2026/data-agreement.pdf",
        sha256="0" * 64,
    )
    latest = CallDocument.objects.get(version=2)

    html = visit(call_page.url)[1]

    assert "Call for tenders (version 2)" in html and "Data agreement for visit data" in html
    assert "Call for tenders (version 1)" not in html
    document_url = url_or_none("procurement:document", latest.pk)
    if document_url:
        assert f'href="{document_url}"' in html
    ocds_url = url_or_none("procurement:ocds_record", espoo.ocid)
    if ocds_url:
        assert ocds_url in html
    summary_url = url_or_none("procurement:register_summary", espoo.slug)
    if summary_url:
        assert summary_url in html


def test_the_call_notice_names_the_contractors_of_a_final_award(call_page, espoo, sme):
    phase = espoo.phases.get(number=1)
    consortium = ConsortiumFactory(procurement=espoo, lead=sme, name="HomeSense")
    bid = BidFactory(phase=phase, consortium=consortium)
    decision = AwardDecision.objects.create(
        phase=phase,
        reasons="Best value.",
        decided_at=timezone.now(),
        standstill_ends_at=timezone.now(),
        status=AwardDecision.Status.STANDSTILL,
    )
    award = Award.objects.create(decision=decision, bid=bid, successful=True, rank=1, value=Decimal("120000"))
    Contract.objects.create(
        award=award,
        phase=phase,
        title="Phase 1 design",
        value=Decimal("120000"),
        starts_on=timezone.localdate(),
        ends_on=timezone.localdate() + timedelta(days=120),
    )
    assert "HomeSense" not in visit(call_page.url)[1]  # still in the standstill period

    AwardDecision.objects.filter(pk=decision.pk).update(status=AwardDecision.Status.FINAL)

    html = visit(call_page.url)[1]
    assert "Contracts awarded:" in html and "HomeSense — 120,000 EUR" in html
