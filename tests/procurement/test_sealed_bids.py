"""Sealed bids: before the deadline nobody outside the bidding consortium — the procurer, compliance, the
phase's evaluators, the intermediary cluster's staff, a platform superuser, a rival firm, an anonymous
visitor — reads a bid's price, summary, answers or documents, through the pages, the document download,
the Wagtail admin or the ORM. The consortium's own members do. After the deadline the procurer, and the
evaluators who declared no conflict, read it; rivals never do. At the deadline's own second the bid is
late and unsealed."""

from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.core.cache import cache
from django.core.exceptions import FieldError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.test import Client
from django.urls import NoReverseMatch, reverse
from django.utils import timezone

from livinglab.factories import UserFactory
from procurement.errors import ProcurementError
from procurement.models import Bid, BidContent, BidDocument, ConflictDeclaration, Evaluator, Phase
from procurement.services import bids as services
from tests.conftest import with_totp

SUMMARY = "Millimetre-wave radar under the ceiling spots a fall within four seconds"
ANSWER = "Our solution design relies on the Vantaa night-shift pilot with 38 flats"
PRICE = Decimal("987654.32")
PRICE_FORMS = ("987654.32", "987654,32", "987,654.32", "987 654,32", "987.654,32", "987654")
DOCUMENT = b"%PDF-1.4\n% CONFIDENTIAL-COST-BREAKDOWN-7731\n%%EOF\n"
SECRETS = (SUMMARY, ANSWER, "CONFIDENTIAL-COST-BREAKDOWN-7731", *PRICE_FORMS)

OUTSIDERS = ("procurer", "compliance", "evaluator", "intermediary", "superuser", "rival", "anonymous")
MEMBERS = ("bidder", "partner")


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()
    yield
    cache.clear()


@pytest.fixture
def bid(phase1, consortium, bidder):
    """A complete bid of HomeSense in phase 1, submitted through the services, with one document."""
    quality = phase1.criteria.get(is_price=False)
    draft = services.save_bid_draft(
        phase1,
        consortium,
        summary=SUMMARY,
        price=PRICE,
        answers={str(quality.pk): ANSWER},
        documents=[SimpleUploadedFile("costs.pdf", DOCUMENT, content_type="application/pdf")],
        acting_user=bidder,
    )
    return services.submit_bid(draft, acting_user=bidder)


@pytest.fixture
def document(bid, consortium):
    return BidDocument.objects.of_own_bid(bid, consortium.lead).get()


@pytest.fixture
def evaluator(evaluator_user, phase1, procurer):
    Evaluator.objects.create(phase=phase1, user=evaluator_user, assigned_by=procurer)
    return evaluator_user


@pytest.fixture
def personas(procurer, compliance_user, evaluator, intermediary, rival, bidder, partner_user):
    superuser = with_totp(UserFactory(email="root@example.org", is_superuser=True, is_staff=True))
    return {
        "procurer": procurer,
        "compliance": compliance_user,
        "evaluator": evaluator,
        "intermediary": intermediary,
        "superuser": superuser,
        "rival": rival,
        "anonymous": None,
        "bidder": bidder,
        "partner": partner_user,
    }


def client_for(user) -> Client:
    client = Client()
    if user is not None:
        client.force_login(user)
    return client


def body(response) -> str:
    if getattr(response, "streaming", False):
        return b"".join(response.streaming_content).decode("latin-1")
    return response.content.decode("utf-8", "replace")


def revealed(text: str) -> list[str]:
    return [secret for secret in SECRETS if secret in text]


def pages(bid, document, call):
    return {
        "bid page": reverse("procurement:bid_detail", args=[bid.pk]),
        "document": reverse("procurement:bid_document", args=[bid.pk, document.pk]),
        "receipt": reverse("procurement:bid_receipt", args=[bid.pk]),
        "bid form": reverse("procurement:bid", args=[call.slug, 1]),
        "consortium": reverse("procurement:consortium", args=[bid.consortium_id]),
        "admin listing": reverse("pcp_bids:index"),
    }


# --------------------------------------------------------------------------------- before the deadline


@pytest.mark.parametrize("role", OUTSIDERS)
def test_before_the_deadline_no_page_shows_an_outsider_the_bids_content(role, personas, bid, document, call):
    client = client_for(personas[role])
    for name, url in pages(bid, document, call).items():
        response = client.get(url)
        assert revealed(body(response)) == [], f"{role} reads the sealed bid on the {name}"
        assert not (name == "document" and response.status_code == 200), f"{role} downloads a sealed document"


@pytest.mark.parametrize("role", ["procurer", "intermediary", "superuser", "compliance", "evaluator"])
def test_before_the_deadline_those_who_may_know_the_bid_exists_see_it_sealed(role, personas, bid):
    page = body(client_for(personas[role]).get(reverse("procurement:bid_detail", args=[bid.pk])))
    assert "Sealed until the deadline" in page and "HomeSense" in page


@pytest.mark.parametrize("role", ["rival", "anonymous"])
def test_a_rival_or_an_anonymous_visitor_does_not_even_learn_the_bid_exists(role, personas, bid):
    response = client_for(personas[role]).get(reverse("procurement:bid_detail", args=[bid.pk]))
    assert response.status_code in {302, 404}
    assert "HomeSense" not in body(response)


@pytest.mark.parametrize("role", ["intermediary", "superuser"])
def test_the_admin_bid_listing_shows_the_bid_but_keeps_its_content_sealed(role, personas, bid, phase1):
    response = client_for(personas[role]).get(reverse("pcp_bids:index"))
    page = body(response)
    assert response.status_code == 200
    assert "HomeSense" in page and "Sealed until" in page
    assert revealed(page) == []


@pytest.mark.parametrize("role", ["procurer", "rival", "partner"])
def test_people_outside_the_cluster_staff_cannot_open_the_admin_bid_listing(role, personas, bid):
    response = client_for(personas[role]).get(reverse("pcp_bids:index"))
    assert response.status_code in {302, 403}
    assert revealed(body(response)) == []


@pytest.mark.parametrize("role", MEMBERS)
def test_the_consortiums_own_members_read_their_bid_before_the_deadline(role, personas, bid, document):
    client = client_for(personas[role])
    page = body(client.get(reverse("procurement:bid_detail", args=[bid.pk])))
    assert SUMMARY in page and ANSWER in page and "987,654.32 EUR" in page
    assert bid.receipt_sha256 in page
    download = client.get(reverse("procurement:bid_document", args=[bid.pk, document.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == DOCUMENT


def test_before_the_deadline_the_orm_returns_no_content_whoever_asks(
    bid, consortium, rival_consortium, phase1
):
    assert list(BidContent.objects.all()) == [] and list(BidDocument.objects.all()) == []
    assert not BidContent.objects.filter(bid=bid).exists()
    assert not BidContent.objects.filter(bid__phase=phase1).exists()
    assert not BidContent.objects.filter(bid__consortium=consortium).exists()
    assert not BidDocument.objects.select_related("bid").filter(bid__pk=bid.pk).exists()
    assert BidContent.objects.filter(bid=bid).values_list("price", flat=True).first() is None
    # Generic code (the admin, model forms, serialisers) uses the default manager: sealed too.
    assert not BidContent._default_manager.filter(bid=bid).exists()
    assert not BidDocument._default_manager.filter(bid=bid).exists()
    # Bids have no path to their content: a join through Bid is impossible.
    for lookup in ("bidcontent__price", "bidcontent__summary", "biddocument__file"):
        with pytest.raises(FieldError):
            list(Bid.objects.filter(pk=bid.pk).values(lookup))
    with pytest.raises(FieldError):
        Bid.objects.filter(bidcontent__price=PRICE).exists()
    # The own-bid door opens for the consortium's members only.
    assert not BidContent.objects.of_own_bid(bid, rival_consortium.lead).exists()
    assert not BidContent.objects.of_own_bid(bid, None).exists()
    assert not BidDocument.objects.of_own_bid(bid, phase1.procurement.buyer).exists()
    assert BidContent.objects.of_own_bid(bid, consortium.lead).get().price == PRICE


def test_before_the_deadline_the_ocds_endpoints_reveal_no_bid_content(bid, phase1, call):
    urls = []
    for name, args in (
        ("procurement:ocds_releases", [phase1.ocid]),
        ("procurement:ocds_record", [phase1.ocid]),
        ("procurement:ocds_releases", [call.ocid]),
        ("procurement:ocds_record", [call.ocid]),
        ("procurement:ocds_bulk", []),
    ):
        try:
            urls.append(reverse(name, args=args))
        except NoReverseMatch:
            continue
    if not urls:
        pytest.skip("The OCDS endpoints are not there yet.")
    for url in urls:
        assert revealed(body(Client().get(url))) == [], url


# ---------------------------------------------------------------------------------- after the deadline


def test_after_the_deadline_the_procurer_reads_the_bid_and_its_documents(
    personas, bid, document, phase1, pass_deadline
):
    pass_deadline(phase1)
    client = client_for(personas["procurer"])
    page = body(client.get(reverse("procurement:bid_detail", args=[bid.pk])))
    assert SUMMARY in page and ANSWER in page and "987,654.32 EUR" in page
    download = client.get(reverse("procurement:bid_document", args=[bid.pk, document.pk]))
    assert download.status_code == 200 and b"".join(download.streaming_content) == DOCUMENT
    assert BidContent.objects.get(bid=bid).price == PRICE
    assert BidDocument.objects.get(bid=bid).sha256 == document.sha256


def test_after_the_deadline_an_evaluator_reads_a_bid_only_once_they_declared_no_conflict(
    personas, bid, document, phase1, pass_deadline
):
    pass_deadline(phase1)
    client = client_for(personas["evaluator"])
    url = reverse("procurement:bid_detail", args=[bid.pk])
    assert revealed(body(client.get(url))) == []
    declaration = ConflictDeclaration.objects.create(
        evaluator=Evaluator.objects.get(phase=phase1), bid=bid, has_conflict=False
    )
    page = body(client.get(url))
    assert SUMMARY in page and ANSWER in page
    # A declared conflict recuses them: the content closes again.
    ConflictDeclaration.objects.filter(pk=declaration.pk).update(
        has_conflict=True, relationship="Brother-in-law"
    )
    assert revealed(body(client.get(url))) == []
    response = client.get(reverse("procurement:bid_document", args=[bid.pk, document.pk]))
    assert response.status_code == 404


@pytest.mark.parametrize("role", ["rival", "anonymous"])
def test_after_the_deadline_rivals_still_never_read_the_bid(
    role, personas, bid, document, call, phase1, pass_deadline
):
    pass_deadline(phase1)
    client = client_for(personas[role])
    for name, url in pages(bid, document, call).items():
        response = client.get(url)
        assert revealed(body(response)) == [], f"{role} reads the bid on the {name} after the deadline"


def test_after_the_deadline_the_admin_listing_opens_the_price_to_platform_admins_only(
    personas, bid, phase1, pass_deadline
):
    pass_deadline(phase1)
    page = body(client_for(personas["superuser"]).get(reverse("pcp_bids:index")))
    assert "987654.32 EUR" in page and "Sealed until" not in page
    assert SUMMARY not in page and ANSWER not in page
    # The intermediary cluster brokers consortia: it never reads a bidder's price.
    page = body(client_for(personas["intermediary"]).get(reverse("pcp_bids:index")))
    assert "Opened for the authority" in page and revealed(page) == []


# --------------------------------------------------------------------------------- the boundary second


def test_at_the_deadlines_own_second_bids_are_late_and_content_is_unsealed(phase1, consortium, bidder):
    deadline = (timezone.now() + timedelta(days=2)).replace(microsecond=0)
    Phase.objects.filter(pk=phase1.pk).update(bid_deadline=deadline)
    phase1.refresh_from_db()
    one_second_earlier = deadline - timedelta(seconds=1)
    assert phase1.accepts_bids(one_second_earlier) is True and phase1.is_sealed(one_second_earlier) is True
    assert phase1.accepts_bids(deadline) is False and phase1.is_sealed(deadline) is False

    quality = phase1.criteria.get(is_price=False)
    draft = services.save_bid_draft(
        phase1,
        consortium,
        summary=SUMMARY,
        price=PRICE,
        answers={str(quality.pk): ANSWER},
        acting_user=bidder,
    )
    with mock.patch("django.utils.timezone.now", return_value=deadline):
        with pytest.raises(ProcurementError, match="Too late"):
            services.submit_bid(draft, acting_user=bidder)
        assert BidContent.objects.filter(bid=draft).exists()  # unsealed at that very second
    with mock.patch("django.utils.timezone.now", return_value=one_second_earlier):
        assert not BidContent.objects.filter(bid=draft).exists()
        submitted = services.submit_bid(draft, acting_user=bidder)
    assert submitted.status == Bid.Status.SUBMITTED and submitted.submitted_at == one_second_earlier
