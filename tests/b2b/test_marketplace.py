"""Needs and offers: a firm writes a draft, publishes it, edits it and closes it; each step is refused
with a reason when it should be, audited, and refreshes the listing's suggestions after commit."""

import pytest

from livinglab.b2b.errors import B2BError
from livinglab.b2b.factories import NeedFactory, OfferFactory
from livinglab.b2b.models import ListingStatus, Match, Need, Offer, Visibility
from livinglab.b2b.services.marketplace import close_listing, publish_listing, save_need, save_offer
from livinglab.errors import GroundRulesRequired
from livinglab.models import AuditEntry


def need_values(tags, **changes):
    return {
        "title": "Track pallets between our cold stores",
        "summary": "We lose pallets between warehouses and want to know where each one is.",
        "description": "CONFIDENTIAL-NEED: 3 % of pallets go missing each month.",
        "users_affected": "Forklift drivers and the dispatch office.",
        "timeframe": Need.Timeframe.NOW,
        "budget": "€30,000",
        "visibility": Visibility.INTRODUCTION,
        "sectors": [tags["logistics"]],
        "technologies": [tags["iot"]],
    } | changes


def offer_values(tags, **changes):
    return {
        "title": "Pallet trackers with ten-year batteries",
        "summary": "Small radio tags that report where each pallet is, between and inside warehouses.",
        "description": "CONFIDENTIAL-OFFER: runs on the public LoRa network.",
        "kind": Offer.Kind.PRODUCT,
        "maturity": Offer.Maturity.PILOT,
        "references": "",
        "visibility": Visibility.MEMBERS,
        "sectors": [tags["logistics"]],
        "technologies": [tags["iot"]],
    } | changes


def actions(obj):
    entries = AuditEntry.objects.filter(
        action__startswith=f"b2b.{obj._meta.model_name}.", object_id=str(obj.pk)
    ).order_by("seq")
    return list(entries.values_list("action", flat=True))


# -------------------------------------------------------------------------------------------- writing


def test_save_need_writes_a_draft_for_the_firm_with_its_tags(buyer, buyer_user, tags):
    need = save_need(None, need_values(tags), organisation=buyer, acting_user=buyer_user)

    need.refresh_from_db()
    assert need.status == ListingStatus.DRAFT and need.published_at is None
    assert need.organisation == buyer and need.contact == buyer_user and need.created_by == buyer_user
    assert list(need.sectors.all()) == [tags["logistics"]]
    assert list(need.technologies.all()) == [tags["iot"]]
    assert actions(need) == ["b2b.need.create"]
    entry = AuditEntry.objects.get(action="b2b.need.create")
    assert entry.data["technologies"] == [tags["iot"].pk]
    assert "CONFIDENTIAL" not in str(entry.data)


def test_save_offer_writes_a_draft_and_edits_change_fields_and_tags(supplier, supplier_user, tags):
    offer = save_offer(None, offer_values(tags), organisation=supplier, acting_user=supplier_user)

    save_offer(
        offer,
        {"summary": "Radio tags for pallets.", "technologies": [tags["iot"], tags["ml"]]},
        acting_user=supplier_user,
    )

    offer.refresh_from_db()
    assert offer.summary == "Radio tags for pallets."
    assert set(offer.technologies.all()) == {tags["iot"], tags["ml"]}
    assert actions(offer) == ["b2b.offer.create", "b2b.offer.edit"]
    assert AuditEntry.objects.get(action="b2b.offer.edit").data["fields"] == ["summary", "technologies"]


def test_a_firm_that_has_not_accepted_the_ground_rules_cannot_post(newcomer, tags, b2b_rules):
    firm = newcomer.memberships.get().organisation

    with pytest.raises(GroundRulesRequired) as refusal:
        save_need(None, need_values(tags), organisation=firm, acting_user=newcomer)

    assert refusal.value.pending == [b2b_rules]
    assert not Need.objects.exists()


def test_a_firm_cannot_post_for_another_firm(buyer, rival_user, tags):
    with pytest.raises(B2BError, match="Only people acting for Nordic Foods"):
        save_need(None, need_values(tags), organisation=buyer, acting_user=rival_user)


def test_another_firm_cannot_edit_a_listing_but_the_cluster_staff_can(need, rival_user, broker):
    with pytest.raises(B2BError, match="Only the firm that posted this need"):
        save_need(need, {"title": "Hijacked"}, acting_user=rival_user)

    save_need(need, {"title": "Predict failures of freezing lines"}, acting_user=broker)

    need.refresh_from_db()
    assert need.title == "Predict failures of freezing lines"


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"title": "  "}, "Give your need a title"),
        ({"summary": ""}, "Write a short summary"),
        ({"users_affected": " "}, "“Users affected” cannot be empty"),
        ({"timeframe": "someday"}, "Choose a value for “Timeframe”"),
        ({"owner": 3}, "These fields cannot be set here: owner"),
    ],
)
def test_save_need_refuses_incomplete_values_with_a_reason(buyer, buyer_user, tags, changes, reason):
    with pytest.raises(B2BError, match=reason):
        save_need(None, need_values(tags, **changes), organisation=buyer, acting_user=buyer_user)


def test_tags_of_the_wrong_kind_are_refused(buyer, buyer_user, tags):
    with pytest.raises(B2BError, match="These tags are not sectors: Machine learning"):
        save_need(None, need_values(tags, sectors=[tags["ml"]]), organisation=buyer, acting_user=buyer_user)


def test_a_published_listing_cannot_lose_all_its_tags(need, buyer_user):
    with pytest.raises(B2BError, match="Choose at least one technology"):
        save_need(need, {"technologies": []}, acting_user=buyer_user)


# ------------------------------------------------------------------------------------------ publishing


def test_publish_listing_shows_a_draft_and_refreshes_its_suggestions(
    buyer, buyer_user, offer, tags, django_capture_on_commit_callbacks
):
    draft = save_need(
        None,
        need_values(tags, sectors=[tags["food"]], technologies=[tags["iot"], tags["ml"]]),
        organisation=buyer,
        acting_user=buyer_user,
    )
    assert not Match.objects.exists()

    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        published = publish_listing(draft, acting_user=buyer_user)

    assert len(callbacks) == 1
    draft.refresh_from_db()
    assert draft.status == ListingStatus.PUBLISHED and draft.published_at == published.published_at
    assert actions(draft) == ["b2b.need.create", "b2b.need.publish"]
    assert Match.objects.filter(need=draft, offer=offer).exists()


@pytest.mark.parametrize(
    ("changes", "reason"),
    [
        ({"sectors": []}, "Choose at least one sector"),
        ({"technologies": []}, "Choose at least one technology"),
    ],
)
def test_publishing_without_tags_is_refused_with_the_reason(buyer, buyer_user, tags, changes, reason):
    draft = save_need(None, need_values(tags, **changes), organisation=buyer, acting_user=buyer_user)

    with pytest.raises(B2BError, match=reason):
        publish_listing(draft, acting_user=buyer_user)

    draft.refresh_from_db()
    assert draft.status == ListingStatus.DRAFT


def test_publishing_without_a_summary_is_refused(buyer, buyer_user, tags):
    draft = NeedFactory(
        organisation=buyer, summary="", status=ListingStatus.DRAFT, published_at=None, sectors=[tags["food"]]
    )
    draft.technologies.set([tags["iot"]])

    with pytest.raises(B2BError, match="Write a short summary"):
        publish_listing(draft, acting_user=buyer_user)


def test_publishing_twice_says_it_is_already_published(need, buyer_user):
    with pytest.raises(B2BError, match="already published"):
        publish_listing(need, acting_user=buyer_user)


def test_only_the_firm_publishes_its_listing(buyer, buyer_user, rival_user, broker, tags):
    draft = save_need(None, need_values(tags), organisation=buyer, acting_user=buyer_user)

    for outsider in (rival_user, broker):
        with pytest.raises(B2BError):
            publish_listing(draft, acting_user=outsider)

    draft.refresh_from_db()
    assert draft.status == ListingStatus.DRAFT


# ------------------------------------------------------------------------------------------- closing


def test_close_listing_takes_it_off_the_marketplace_with_its_suggestions(
    need, offer, supplier_user, django_capture_on_commit_callbacks
):
    from livinglab.b2b.services.matching import refresh_matches

    refresh_matches()
    assert Match.objects.filter(offer=offer).exists()

    with django_capture_on_commit_callbacks(execute=True):
        close_listing(offer, acting_user=supplier_user)

    offer.refresh_from_db()
    assert offer.status == ListingStatus.CLOSED
    assert not Match.objects.filter(offer=offer).exists()
    assert actions(offer) == ["b2b.offer.close"]
    assert AuditEntry.objects.get(action="b2b.offer.close").data == {"from": "published"}
    assert offer not in Offer.objects.listed_to_members()


def test_a_closed_listing_cannot_be_closed_published_or_edited_again(need, buyer_user):
    close_listing(need, acting_user=buyer_user)

    with pytest.raises(B2BError, match="already closed"):
        close_listing(need, acting_user=buyer_user)
    with pytest.raises(B2BError, match="closed and cannot be published again"):
        publish_listing(need, acting_user=buyer_user)
    with pytest.raises(B2BError, match="closed and can no longer be changed"):
        save_need(need, {"title": "Again"}, acting_user=buyer_user)


def test_a_stale_copy_cannot_close_a_listing_twice(need, buyer_user):
    """Two clicks on “Close” with the page's copy of the listing: the second is refused, not repeated."""
    stale = Need.objects.get(pk=need.pk)
    close_listing(need, acting_user=buyer_user)

    with pytest.raises(B2BError, match="already closed"):
        close_listing(stale, acting_user=buyer_user)

    assert AuditEntry.objects.filter(action="b2b.need.close").count() == 1


def test_another_firm_cannot_close_a_listing_the_staff_can(offer, rival_user, broker):
    with pytest.raises(B2BError):
        close_listing(offer, acting_user=rival_user)

    close_listing(offer, acting_user=broker)

    assert Offer.objects.get(pk=offer.pk).status == ListingStatus.CLOSED


def test_a_closed_draft_never_reaches_the_marketplace(buyer, buyer_user, tags):
    draft = save_need(None, need_values(tags), organisation=buyer, acting_user=buyer_user)

    close_listing(draft, acting_user=buyer_user)

    assert AuditEntry.objects.get(action="b2b.need.close").data == {"from": "draft"}
    assert not Need.objects.published().filter(pk=draft.pk).exists()


def test_editing_a_published_listing_refreshes_its_suggestions(
    need, offer, buyer_user, tags, django_capture_on_commit_callbacks
):
    OfferFactory(
        organisation=offer.organisation,
        title="Pallet trackers",
        summary="Radio tags for pallets.",
        sectors=[tags["logistics"]],
        technologies=[tags["robotics"]],
    )
    with django_capture_on_commit_callbacks(execute=True):
        save_need(
            need, {"sectors": [tags["logistics"]], "technologies": [tags["robotics"]]}, acting_user=buyer_user
        )

    best = Match.objects.filter(need=need).first()
    assert best.offer.title == "Pallet trackers"
