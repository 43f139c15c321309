"""The marketplace pages: each firm sees its own listings in full and other firms' listings only as far as
disclosure allows (pages and CSV), suggestions explain themselves and offer to ask for an introduction,
the staff see everything, and the list pages make a fixed number of queries."""

import csv
import io
import re

import pytest
from django.urls import NoReverseMatch, reverse

from livinglab.b2b import marketplace_views
from livinglab.b2b.disclosure import WITHHELD
from livinglab.b2b.factories import NeedFactory, OfferFactory
from livinglab.b2b.models import Introduction, ListingStatus, Match, Need, Offer, Visibility
from livinglab.b2b.services.matching import refresh_matches
from livinglab.factories import MembershipFactory
from livinglab.models import Role

from .conftest import CONFIDENTIAL_MARKERS

INTRODUCTION_URL = "/b2b/introductions/request/"


@pytest.fixture(autouse=True)
def introduction_target(monkeypatch):
    """Where the introduction buttons post (the introductions part's URL when it is installed)."""
    try:
        url = reverse("b2b:introduction_request")
    except NoReverseMatch:
        url = INTRODUCTION_URL
        monkeypatch.setattr(marketplace_views, "introduction_url", lambda: url)
    return url


def page(client, user, name, *args, **query):
    client.force_login(user)
    response = client.get(reverse(f"b2b:{name}", args=args), query)
    assert response.status_code == 200, response.status_code
    return response.content.decode()


def assert_nothing_confidential(text):
    for marker in CONFIDENTIAL_MARKERS:
        assert marker not in text


@pytest.fixture
def matched(need, offer):
    refresh_matches()
    return Match.objects.get(need=need, offer=offer)


# ------------------------------------------------------------------------------------- who may enter


@pytest.mark.parametrize(
    ("name", "args"),
    [
        ("need_list", []),
        ("offer_list", []),
        ("need_create", []),
        ("need_detail", [1]),
        ("offer_matches", [1]),
        ("need_matches_export", [1]),
        ("match_list", []),
    ],
)
def test_anonymous_visitors_are_sent_to_sign_in(client, db, name, args):
    response = client.get(reverse(f"b2b:{name}", args=args))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("account_login"))


def test_someone_who_acts_for_no_firm_is_refused_the_marketplace(client, participant):
    client.force_login(participant)

    assert client.get(reverse("b2b:need_list")).status_code == 403
    assert client.get(reverse("b2b:offer_create")).status_code == 403


# ------------------------------------------------------------------------------------------- lists


def test_a_firm_sees_its_own_needs_in_every_status_and_other_firms_teasers_only(
    client, buyer, buyer_user, need, offer, rival, tags
):
    draft = NeedFactory(organisation=buyer, title="Our draft about pallets", status=ListingStatus.DRAFT)
    NeedFactory(organisation=rival, title="A rival's draft", status=ListingStatus.DRAFT)
    NeedFactory(organisation=rival, title="A need only the staff see", visibility=Visibility.STAFF)
    NeedFactory(organisation=rival, title="A rival's published need", visibility=Visibility.MEMBERS)

    needs = page(client, buyer_user, "need_list")

    assert "Needs of Nordic Foods" in needs
    assert need.title in needs and draft.title in needs and "Draft" in needs
    assert "A rival&#x27;s published need" in needs and "Rival Robotics" in needs  # public to members
    assert "A rival&#x27;s draft" not in needs
    assert "A need only the staff see" not in needs

    offers = page(client, buyer_user, "offer_list")
    assert offer.title in offers and offer.summary in offers
    assert "Internet of things" in offers
    assert str(WITHHELD) in offers
    assert "Breizh Sensors" not in offers  # who posted it is withheld until an accepted introduction
    assert_nothing_confidential(offers)


def test_lists_search_titles_and_summaries_and_filter_by_tag(client, rival_user, need, offer, tags, buyer):
    NeedFactory(
        organisation=buyer,
        title="Robots for our packing line",
        summary="Boxes packed by hand today.",
        technologies=[tags["robotics"]],
    )

    found = page(client, rival_user, "need_list", q="freezing")
    assert need.title in found and "Robots for our packing line" not in found

    found = page(client, rival_user, "need_list", technology=tags["robotics"].pk)
    assert need.title not in found and "Robots for our packing line" in found

    found = page(client, rival_user, "need_list", q="Kerava")  # a word of the confidential description
    assert need.title not in found


def test_the_staff_see_every_listing_in_full(client, broker, need, offer, buyer):
    draft = NeedFactory(organisation=buyer, title="A draft of the buyer", status=ListingStatus.DRAFT)
    staff_only = NeedFactory(organisation=buyer, title="A staff-only need", visibility=Visibility.STAFF)

    needs = page(client, broker, "need_list")

    assert "Every need" in needs
    for listing in (need, draft, staff_only):
        assert listing.title in needs
    assert "Nordic Foods" in needs and str(WITHHELD) not in needs


def test_someone_acting_for_two_firms_chooses_which_one(client, buyer_user, rival, need, accept_b2b):
    MembershipFactory(user=buyer_user, organisation=rival, role=Role.FIRM_MEMBER)
    NeedFactory(organisation=rival, title="Rival's own need about welding", status=ListingStatus.DRAFT)

    as_rival = page(client, buyer_user, "need_list", **{"as": rival.slug})

    assert "Needs of Rival Robotics" in as_rival
    assert "Rival&#x27;s own need about welding" in as_rival
    assert 'name="as"' in as_rival
    as_buyer = page(client, buyer_user, "need_list", **{"as": "nordic-foods"})
    assert "Needs of Nordic Foods" in as_buyer
    client.force_login(buyer_user)
    assert client.get(reverse("b2b:need_list"), {"as": "someone-else"}).status_code == 403


# ------------------------------------------------------------------------------------------ detail


def test_the_owner_reads_its_listing_in_full(client, buyer_user, need):
    text = page(client, buyer_user, "need_detail", need.pk)

    assert "CONFIDENTIAL-NEED" in text and "CONFIDENTIAL-BUDGET" in text
    assert "Edit" in text and "Close for good" in text
    assert str(WITHHELD) not in text


def test_another_firm_reads_the_teaser_and_sees_what_is_withheld(client, rival_user, need, offer):
    text = page(client, rival_user, "need_detail", need.pk)

    assert need.title in text and need.summary in text
    assert "Food processing" in text and "Machine learning" in text
    assert text.count(str(WITHHELD)) == 5  # posted by, description, users affected, budget, contact
    assert "Nordic Foods" not in text
    assert_nothing_confidential(text)
    assert "Close for good" not in text


def test_a_listing_public_to_members_shows_its_details_to_other_firms(client, rival_user, offer):
    type(offer).objects.filter(pk=offer.pk).update(visibility=Visibility.MEMBERS)

    text = page(client, rival_user, "offer_detail", offer.pk)

    assert "CONFIDENTIAL-OFFER" in text and "Breizh Sensors" in text
    assert str(WITHHELD) not in text


def test_other_firms_drafts_and_staff_only_listings_are_not_acknowledged(client, rival_user, buyer):
    draft = NeedFactory(organisation=buyer, status=ListingStatus.DRAFT)
    staff_only = NeedFactory(organisation=buyer, visibility=Visibility.STAFF)
    client.force_login(rival_user)

    for listing in (draft, staff_only):
        assert client.get(reverse("b2b:need_detail", args=[listing.pk])).status_code == 404
    assert client.get(reverse("b2b:need_detail", args=[999999])).status_code == 404


def test_the_staff_read_every_detail(client, broker, need):
    text = page(client, broker, "need_detail", need.pk)

    assert "CONFIDENTIAL-NEED" in text and "Nordic Foods" in text


# ---------------------------------------------------------------------------------- write and edit


def test_a_firm_posts_a_draft_need_from_the_form(client, buyer_user, tags):
    form = page(client, buyer_user, "need_create")
    assert "Who reads what" in form and "Details revealed only after an accepted introduction" in form
    assert "Food processing" in form and 'type="checkbox"' in form

    response = client.post(
        reverse("b2b:need_create"),
        {
            "title": "Sort returned crates automatically",
            "summary": "Crates come back mixed; we sort them by hand.",
            "description": "Details of our crate return flow.",
            "users_affected": "Warehouse staff.",
            "timeframe": Need.Timeframe.YEAR,
            "budget": "",
            "visibility": Visibility.INTRODUCTION,
            "sectors": [tags["logistics"].pk],
            "technologies": [tags["robotics"].pk],
        },
    )

    need = Need.objects.get(title="Sort returned crates automatically")
    assert response.status_code == 302 and response["Location"] == reverse("b2b:need_detail", args=[need.pk])
    assert need.status == ListingStatus.DRAFT and list(need.sectors.all()) == [tags["logistics"]]
    detail = client.get(response["Location"]).content.decode()
    assert "is saved. Publish it when it is ready." in detail and "Publish" in detail


def test_a_firm_without_the_ground_rules_is_shown_which_to_accept(client, newcomer, tags, b2b_rules):
    client.force_login(newcomer)

    response = client.post(
        reverse("b2b:offer_create"),
        {
            "title": "Drone inspections",
            "summary": "We inspect roofs with drones.",
            "description": "Details.",
            "kind": "service",
            "maturity": "market",
            "visibility": Visibility.MEMBERS,
        },
    )

    text = response.content.decode()
    assert response.status_code == 200
    assert "Accept the ground rules first" in text and "Ground rules for brokered introductions" in text
    assert not Offer.objects.exists()


def test_the_form_keeps_what_was_typed_when_the_values_are_invalid(client, buyer_user):
    client.force_login(buyer_user)

    response = client.post(reverse("b2b:need_create"), {"title": "Half a need", "summary": ""})

    text = response.content.decode()
    assert response.status_code == 200 and "Half a need" in text and "This field is required." in text
    assert not Need.objects.filter(title="Half a need").exists()


def test_only_the_firm_or_the_staff_open_the_edit_form(client, rival_user, buyer_user, broker, need):
    client.force_login(rival_user)
    assert client.get(reverse("b2b:need_edit", args=[need.pk])).status_code == 403

    edit = page(client, buyer_user, "need_edit", need.pk)
    assert "CONFIDENTIAL-NEED" in edit  # the firm edits its own description
    assert page(client, broker, "need_edit", need.pk)


def test_the_firm_edits_its_listing(client, buyer_user, need, tags):
    client.force_login(buyer_user)

    response = client.post(
        reverse("b2b:need_edit", args=[need.pk]),
        {
            "title": "Predict failures of freezing lines",
            "summary": need.summary,
            "description": need.description,
            "users_affected": need.users_affected,
            "timeframe": need.timeframe,
            "budget": need.budget,
            "visibility": Visibility.MEMBERS,
            "sectors": [tags["food"].pk],
            "technologies": [tags["iot"].pk],
        },
    )

    assert response.status_code == 302
    need.refresh_from_db()
    assert need.title == "Predict failures of freezing lines" and need.visibility == Visibility.MEMBERS
    assert list(need.technologies.all()) == [tags["iot"]]


def test_publish_and_close_are_buttons_that_say_what_happened(client, buyer_user, buyer, tags):
    draft = NeedFactory(
        organisation=buyer, status=ListingStatus.DRAFT, published_at=None, sectors=[tags["food"]]
    )
    client.force_login(buyer_user)
    publish = reverse("b2b:need_publish", args=[draft.pk])

    refused = client.post(publish, follow=True).content.decode()
    assert "Choose at least one technology" in refused
    draft.technologies.set([tags["iot"]])
    assert client.get(publish).status_code == 405

    published = client.post(publish, follow=True).content.decode()
    assert "is published" in published
    again = client.post(publish, follow=True).content.decode()
    assert "already published" in again

    closed = client.post(reverse("b2b:need_close", args=[draft.pk]), follow=True).content.decode()
    assert "is closed" in closed and "Closed: no longer shown" in closed
    draft.refresh_from_db()
    assert draft.status == ListingStatus.CLOSED


def test_another_firm_cannot_publish_or_close(client, rival_user, need):
    client.force_login(rival_user)

    assert client.post(reverse("b2b:need_close", args=[need.pk])).status_code == 403
    assert client.post(reverse("b2b:need_publish", args=[need.pk])).status_code == 403
    need.refresh_from_db()
    assert need.status == ListingStatus.PUBLISHED


# ----------------------------------------------------------------------------------------- matches


def test_the_buyer_sees_the_suggested_offer_with_its_reasons_and_can_ask_for_an_introduction(
    client, buyer_user, need, offer, matched, introduction_target
):
    text = page(client, buyer_user, "need_matches", need.pk)

    assert offer.title in text and offer.summary in text
    assert "Strong match" in text
    assert "Both involve these technologies: Internet of things, Machine learning" in text
    assert "Both are in these sectors: Food processing" in text
    assert "Words both summaries use:" in text and "predict" in text
    assert f'action="{introduction_target}"' in text
    assert f'name="need" value="{need.pk}"' in text and f'name="offer" value="{offer.pk}"' in text
    assert 'name="as" value="nordic-foods"' in text and 'name="message"' in text
    assert "Ask the cluster for an introduction" in text
    assert "Breizh Sensors" not in text and str(WITHHELD) in text
    assert_nothing_confidential(text)


def test_asking_for_an_introduction_from_a_suggestion_reaches_the_cluster(
    client, buyer_user, buyer, need, offer, matched, cluster, introduction_target
):
    try:
        reverse("b2b:introduction_request")
    except NoReverseMatch:
        pytest.skip("the introductions part is not installed")
    text = page(client, buyer_user, "need_matches", need.pk)
    form = re.search(
        r'<form method="post" action="([^"]+)" class="introduction-request">(.*?)</form>', text, re.S
    )
    fields = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form.group(2)))

    client.post(form.group(1), {**fields, "message": "We would like to see the sensors on line 4."})

    introduction = Introduction.objects.get(need=need, offer=offer)
    assert introduction.requested_by == buyer and introduction.status == Introduction.Status.REQUESTED
    assert introduction.message == "We would like to see the sensors on line 4."
    again = page(client, buyer_user, "need_matches", need.pk)
    assert "already requested or under way" in again


def test_the_supplier_sees_the_suggested_need_for_its_offer(client, supplier_user, need, offer, matched):
    text = page(client, supplier_user, "offer_matches", offer.pk)

    assert need.title in text and "Nordic Foods" not in text
    assert f'name="as" value="{offer.organisation.slug}"' in text
    assert_nothing_confidential(text)


def test_a_suggestion_already_introduced_shows_no_second_button(client, buyer_user, need, offer, matched):
    from livinglab.b2b.factories import IntroductionFactory

    IntroductionFactory(need=need, offer=offer)

    text = page(client, buyer_user, "need_matches", need.pk)

    assert "already requested or under way" in text
    assert "Ask the cluster for an introduction" not in text


def test_staff_only_offers_are_not_suggested_to_firms(client, buyer_user, broker, need, offer, matched):
    type(offer).objects.filter(pk=offer.pk).update(visibility=Visibility.STAFF)

    assert offer.title not in page(client, buyer_user, "need_matches", need.pk)
    staff_view = page(client, broker, "need_matches", need.pk)
    assert offer.title in staff_view and "Propose an introduction" in staff_view
    assert 'name="as"' not in staff_view


def test_only_the_firm_and_the_staff_see_a_listings_suggestions(client, rival_user, need, matched):
    client.force_login(rival_user)

    assert client.get(reverse("b2b:need_matches", args=[need.pk])).status_code == 403
    assert client.get(reverse("b2b:need_matches_export", args=[need.pk])).status_code == 403


def test_the_csv_of_suggestions_leaves_withheld_fields_empty(
    client, buyer_user, broker, need, offer, matched
):
    client.force_login(buyer_user)

    response = client.get(reverse("b2b:need_matches_export", args=[need.pk]))

    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode("utf-8-sig")
    (row,) = list(csv.DictReader(io.StringIO(body)))
    assert (
        row["offer_id"] == str(offer.pk) and row["title"] == offer.title and row["summary"] == offer.summary
    )
    assert row["maturity"] == "Prototype" and row["strength"] == "Strong match"
    assert row["shared_technologies"] == "Internet of things; Machine learning"
    assert row["organisation"] == row["description"] == row["references"] == row["contact"] == ""
    assert_nothing_confidential(body)

    client.force_login(broker)
    staff_body = b"".join(client.get(reverse("b2b:need_matches_export", args=[need.pk])).streaming_content)
    (staff_row,) = list(csv.DictReader(io.StringIO(staff_body.decode("utf-8-sig"))))
    assert staff_row["description"] == offer.description and staff_row["organisation"] == "Breizh Sensors"


def test_the_staff_table_lists_every_suggestion_best_first_with_a_button(
    client, broker, need, offer, matched, rival, tags, introduction_target
):
    weak = OfferFactory(
        organisation=rival,
        title="Sensors for logistics",
        summary="Trackers for trucks.",
        sectors=[tags["food"]],
        technologies=[tags["robotics"]],
    )
    refresh_matches()

    text = page(client, broker, "match_list")

    assert text.index(offer.title) < text.index(weak.title)
    assert "Propose an introduction" in text and f'action="{introduction_target}"' in text
    assert 'name="as"' not in text
    assert "Breizh Sensors" in text
    strong_only = page(client, broker, "match_list", min_score="0.6")
    assert offer.title in strong_only and weak.title not in strong_only
    logistics = page(client, broker, "match_list", sector=tags["logistics"].pk)
    assert offer.title not in logistics and "No suggestion matches these filters." in logistics


def test_the_staff_table_is_for_the_staff_only(client, buyer_user):
    client.force_login(buyer_user)

    assert client.get(reverse("b2b:match_list")).status_code == 403


# ---------------------------------------------------------------------------------------- queries


def many_listings(buyer, rival, supplier, tags, count):
    for i in range(count):
        NeedFactory(
            organisation=rival,
            title=f"Cold chain need {i}",
            sectors=[tags["food"]],
            technologies=[tags["iot"]],
        )
        NeedFactory(organisation=buyer, title=f"Our need {i}", technologies=[tags["ml"]])
        OfferFactory(
            organisation=supplier,
            title=f"Cold chain sensors {i}",
            sectors=[tags["food"]],
            technologies=[tags["iot"], tags["ml"]],
        )


@pytest.mark.parametrize("count", [1, 12])
def test_the_list_pages_make_a_fixed_number_of_queries(
    client, buyer_user, broker, buyer, rival, supplier, tags, count, django_assert_max_num_queries
):
    many_listings(buyer, rival, supplier, tags, count)
    client.force_login(buyer_user)

    # Session, user, memberships, two permission lookups; per list a count, a page and its tags (2);
    # the introductions the firm took part in; the tag choices of the filters (2).
    with django_assert_max_num_queries(16):
        assert client.get(reverse("b2b:need_list")).status_code == 200
    with django_assert_max_num_queries(13):
        assert client.get(reverse("b2b:offer_list"), {"q": "sensors"}).status_code == 200
    client.force_login(broker)
    with django_assert_max_num_queries(10):
        assert client.get(reverse("b2b:need_list")).status_code == 200


@pytest.mark.parametrize("count", [1, 12])
def test_the_match_pages_make_a_fixed_number_of_queries(
    client, buyer_user, broker, need, buyer, rival, supplier, tags, count, django_assert_max_num_queries
):
    many_listings(buyer, rival, supplier, tags, count)
    refresh_matches()
    assert Match.objects.filter(need=need).count() >= min(count, 10)
    client.force_login(buyer_user)

    with django_assert_max_num_queries(11):
        assert client.get(reverse("b2b:need_matches", args=[need.pk])).status_code == 200
    with django_assert_max_num_queries(9):
        assert client.get(reverse("b2b:need_matches_export", args=[need.pk])).status_code == 200
    client.force_login(broker)
    with django_assert_max_num_queries(8):
        assert client.get(reverse("b2b:match_list")).status_code == 200
