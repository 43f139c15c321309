"""The bid pages: the lead prepares, submits, withdraws and resubmits a bid; refusals say why (late with
the deadline in the authority's zone, missing answers, a wrong file, not a contractor of the previous
phase); the receipt page and PDF show the hash."""

import io
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import NoReverseMatch, reverse
from django.utils import formats, timezone
from pypdf import PdfReader

from livinglab.factories import MembershipFactory, OrganisationFactory, UserFactory
from livinglab.models import Organisation, Role
from procurement.models import Bid, BidDocument, Phase
from procurement.services import bids as services
from tests.conftest import with_totp

PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def lead_client(client, bidder, consortium):
    """The administrator of Breizh Sensors, lead of HomeSense."""
    client.force_login(bidder)
    return client


@pytest.fixture
def bid_url(call):
    return reverse("procurement:bid", args=[call.slug, 1])


@pytest.fixture
def form_data(phase1):
    quality = phase1.criteria.get(is_price=False)
    return {
        "summary": "Radar sensors and a nurse dashboard.",
        f"answer_{quality.pk}": "A contact-free fall detector designed with home-care nurses.",
        "price": "120000.00",
    }


def post(client, url, data, action, *files):
    return client.post(url, {**data, "action": action, "documents": list(files)})


def pdf(name="design.pdf", content=PDF):
    return SimpleUploadedFile(name, content, content_type="application/pdf")


def test_the_bid_page_shows_each_criterion_and_the_deadline_in_the_authoritys_zone(
    lead_client, bid_url, phase1
):
    page = lead_client.get(bid_url).content.decode()
    local = formats.date_format(timezone.localtime(phase1.bid_deadline, phase1.procurement.tz), "j F Y, H:i")
    assert f"{local} (Europe/Helsinki)" in page
    assert "Quality of the solution design" in page and "Price (EUR, excluding VAT)" in page
    assert "HomeSense" in page and "Submit the bid" in page


def test_the_lead_submits_a_bid_and_sees_its_receipt(lead_client, bid_url, form_data, consortium):
    response = post(lead_client, bid_url, form_data, "submit", pdf())
    bid = Bid.objects.get(consortium=consortium)
    assert response.status_code == 302
    assert response["Location"] == reverse("procurement:bid_detail", args=[bid.pk])
    assert bid.status == Bid.Status.SUBMITTED and len(bid.receipt_sha256) == 64
    page = lead_client.get(response["Location"]).content.decode()
    assert bid.receipt_sha256 in page
    assert "Checked: the fingerprint matches the content stored now." in page
    assert "design.pdf" in page and "Radar sensors and a nurse dashboard." in page


def test_the_receipt_pdf_carries_the_hash(lead_client, bid_url, form_data, consortium, partner_user, client):
    post(lead_client, bid_url, form_data, "submit", pdf())
    bid = Bid.objects.get(consortium=consortium)
    response = lead_client.get(reverse("procurement:bid_receipt", args=[bid.pk]))
    assert response.status_code == 200 and response["Content-Type"] == "application/pdf"
    text = "".join(page.extract_text() for page in PdfReader(io.BytesIO(response.content)).pages)
    flat = "".join(text.split())
    assert bid.receipt_sha256 in flat
    assert "HomeSense" in text and "design.pdf" in text
    assert bid.phase.ocid in flat


def test_a_submission_with_missing_answers_keeps_the_draft_and_says_what_is_missing(
    lead_client, bid_url, form_data, consortium
):
    incomplete = {**form_data, "price": ""}
    response = post(lead_client, bid_url, incomplete, "submit")
    page = response.content.decode()
    assert response.status_code == 200
    assert "it lacks the price (criterion “Price”)" in page
    bid = Bid.objects.get(consortium=consortium)
    assert bid.status == Bid.Status.DRAFT
    assert "Radar sensors and a nurse dashboard." in lead_client.get(bid_url).content.decode()


def test_a_file_of_the_wrong_type_is_refused_with_its_name(lead_client, bid_url, form_data):
    fake = SimpleUploadedFile("minutes.pdf", b"just some text, not a PDF", content_type="application/pdf")
    response = post(lead_client, bid_url, form_data, "save", fake)
    page = response.content.decode()
    assert "“minutes.pdf” is not an accepted file type" in page
    assert not Bid.objects.exists()


def test_a_late_submission_is_refused_with_the_deadline_in_the_authoritys_zone(
    lead_client, bid_url, form_data, phase1, pass_deadline
):
    post(lead_client, bid_url, form_data, "save")
    phase1 = pass_deadline(phase1)
    response = post(lead_client, bid_url, form_data, "submit")
    page = response.content.decode()
    local = formats.date_format(timezone.localtime(phase1.bid_deadline, phase1.procurement.tz), "j F Y, H:i")
    assert "Too late" in page and f"{local} (Europe/Helsinki)" in page
    assert Bid.objects.get().status == Bid.Status.DRAFT


def test_withdraw_and_resubmit_on_the_bid_page(lead_client, bid_url, form_data, consortium):
    post(lead_client, bid_url, form_data, "submit", pdf())
    first = Bid.objects.get(consortium=consortium)
    page = lead_client.get(bid_url).content.decode()
    assert "Withdraw the bid" in page and first.receipt_sha256 in page
    response = lead_client.post(bid_url, {"action": "withdraw", "consortium": consortium.pk})
    assert response.status_code == 302
    first.refresh_from_db()
    assert first.status == Bid.Status.WITHDRAWN
    page = lead_client.get(bid_url).content.decode()
    assert "Radar sensors and a nurse dashboard." in page  # the new draft starts from the withdrawn one
    post(lead_client, bid_url, {**form_data, "price": "110000.00"}, "submit")
    second = Bid.objects.get(consortium=consortium, status=Bid.Status.SUBMITTED)
    assert second.pk != first.pk
    assert [d.name for d in BidDocument.objects.of_own_bid(second, consortium.lead)] == ["design.pdf"]


def test_a_non_contractor_is_told_why_it_may_not_bid_in_phase_two(lead_client, call):
    Phase.objects.filter(procurement=call, number=2).update(
        status=Phase.Status.OPEN, bid_deadline=timezone.now() + timedelta(days=30)
    )
    page = lead_client.get(reverse("procurement:bid", args=[call.slug, 2])).content.decode()
    assert "Your consortium may not bid in this phase" in page
    assert "Only contractors of phase 1 may bid in phase 2: HomeSense holds no contract of phase 1." in page
    assert "Submit the bid" not in page


def test_a_firm_leading_no_consortium_is_pointed_to_the_consortia(client, rival, bid_url, call):
    client.force_login(rival)
    page = client.get(bid_url).content.decode()
    assert "None of your organisations leads a consortium" in page
    assert reverse("procurement:consortia", args=[call.slug]) in page


def test_a_partner_reads_the_bid_but_cannot_submit_it(
    client, partner_user, bid_url, consortium, phase1, bidder
):
    draft = services.save_bid_draft(
        phase1, consortium, summary="Draft by the lead", price=Decimal("1.00"), answers={}, acting_user=bidder
    )
    client.force_login(partner_user)
    page = client.get(bid_url).content.decode()
    assert "None of your organisations leads a consortium" in page
    detail = client.get(reverse("procurement:bid_detail", args=[draft.pk])).content.decode()
    assert "Draft by the lead" in detail
    client.post(bid_url, {"action": "submit", "summary": "Mine now"})
    assert Bid.objects.get(pk=draft.pk).status == Bid.Status.DRAFT


# ------------------------------------------------------------------------------------------ the admin


def test_the_admin_bid_listing_is_read_only_even_for_a_superuser(client, sealed_bid):
    client.force_login(with_totp(UserFactory(email="root@example.org", is_superuser=True, is_staff=True)))
    assert client.get(reverse("pcp_bids:index")).status_code == 200
    for view, args in (("add", []), ("edit", [sealed_bid.pk]), ("delete", [sealed_bid.pk])):
        try:
            url = reverse(f"pcp_bids:{view}", args=args)
        except NoReverseMatch:
            continue
        assert client.get(url).status_code != 200, view
        client.post(url, {"status": "withdrawn"})
    sealed_bid.refresh_from_db()
    assert sealed_bid.status == Bid.Status.SUBMITTED


def test_cluster_staff_list_only_the_bids_of_calls_their_cluster_brokers(client, sealed_bid):
    elsewhere = OrganisationFactory(name="Another Cluster", kind=Organisation.Kind.CLUSTER)
    staff = with_totp(MembershipFactory(organisation=elsewhere, role=Role.CLUSTER_MANAGER).user)
    client.force_login(staff)
    response = client.get(reverse("pcp_bids:index"))
    assert response.status_code == 200 and "HomeSense" not in response.content.decode()
