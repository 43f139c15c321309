"""Who may do what in the B2B channel. Autodiscovered by ``rules``; views, services, exports and the admin
ask ``user.has_perm``. Which confidential fields of a need or offer a reader sees is decided by
``b2b.view_listing_details`` here and applied field by field in ``livinglab.b2b.disclosure``.

Cluster staff broker between firms: they read every listing in full, as they must to suggest and broker
introductions."""

import rules
from django.db.models import Q

from livinglab.policy import firm_ids, is_cluster_staff, is_platform_admin

from .models import Introduction, ListingStatus, Need, Visibility

staff = is_cluster_staff | is_platform_admin


def introduced_listing_ids(user) -> dict[str, dict[int, bool]]:
    """Needs and offers of other firms that ``user``'s firms were introduced to, mapped to whether an
    introduction between them was accepted (details revealed) or is only brokered so far (teaser, so that
    the firm knows what it is asked to accept): ``{"need": {id: accepted}, "offer": {id: accepted}}``.
    Read once per user object (a request's user lives for one request)."""
    cached = getattr(user, "_b2b_introduced", None)
    if cached is not None:
        return cached
    mine = firm_ids(user)
    introduced = {"need": {}, "offer": {}}
    if mine:
        Status = Introduction.Status
        rows = Introduction.objects.filter(status__in=[Status.BROKERED, Status.ACCEPTED]).filter(
            Q(need__organisation_id__in=mine) | Q(offer__organisation_id__in=mine)
        )
        for need_id, offer_id, need_org, offer_org, status in rows.values_list(
            "need_id", "offer_id", "need__organisation_id", "offer__organisation_id", "status"
        ):
            accepted = status == Status.ACCEPTED
            if need_org in mine:
                introduced["offer"][offer_id] = introduced["offer"].get(offer_id, False) or accepted
            if offer_org in mine:
                introduced["need"][need_id] = introduced["need"].get(need_id, False) or accepted
    user._b2b_introduced = introduced
    return introduced


def listing_kind(listing) -> str:
    return "need" if isinstance(listing, Need) else "offer"


@rules.predicate
def is_firm_user(user) -> bool:
    return bool(firm_ids(user))


@rules.predicate
def owns_listing(user, listing) -> bool:
    return listing is not None and listing.organisation_id in firm_ids(user)


@rules.predicate
def is_listed_to_members(user, listing) -> bool:
    """A published listing other firms may find: its teaser (title, summary, tags) is theirs to read."""
    return (
        listing is not None
        and listing.status == ListingStatus.PUBLISHED
        and listing.visibility != Visibility.STAFF
        and bool(firm_ids(user))
    )


@rules.predicate
def is_public_to_members(user, listing) -> bool:
    return is_listed_to_members(user, listing) and listing.visibility == Visibility.MEMBERS


@rules.predicate
def is_introduced(user, listing) -> bool:
    return listing is not None and listing.pk in introduced_listing_ids(user)[listing_kind(listing)]


@rules.predicate
def is_revealed_by_introduction(user, listing) -> bool:
    return listing is not None and introduced_listing_ids(user)[listing_kind(listing)].get(listing.pk, False)


@rules.predicate
def is_introduction_party(user, introduction) -> bool:
    mine = firm_ids(user)
    return introduction is not None and bool(
        {introduction.need.organisation_id, introduction.offer.organisation_id} & mine
    )


@rules.predicate
def knows_introduction(user, introduction) -> bool:
    """A firm learns of an introduction when it asked for it or once the cluster brokered it: a request the
    cluster refuses stays unknown to the other firm."""
    return introduction is not None and (
        introduction.requested_by_id in firm_ids(user) or introduction.brokered_at is not None
    )


@rules.predicate
def holds_ticket(user, registration) -> bool:
    return registration is not None and user.is_authenticated and registration.user_id == user.pk


@rules.predicate
def is_project_partner(user, project) -> bool:
    if project is None:
        return False
    mine = firm_ids(user)
    return bool(mine) and project.partners.filter(organisation_id__in=mine).exists()


# Needs and offers (``listing`` is a Need or an Offer)
rules.add_perm("b2b.post_listing", is_firm_user)
rules.add_perm("b2b.edit_listing", owns_listing | staff)
rules.add_perm("b2b.view_listing", owns_listing | staff | is_listed_to_members | is_introduced)
rules.add_perm(
    "b2b.view_listing_details", owns_listing | staff | is_public_to_members | is_revealed_by_introduction
)

# Introductions
rules.add_perm("b2b.request_introduction", is_firm_user | staff)
rules.add_perm("b2b.broker_introduction", staff)
rules.add_perm("b2b.view_introduction", (is_introduction_party & knows_introduction) | staff)
rules.add_perm("b2b.answer_introduction", is_introduction_party)
# Who may act, not when: a platform admin holds every permission (Django's model backend), so the state an
# action needs (an accepted introduction, a running project) is checked by the services on the model.
rules.add_perm("b2b.record_outcome", is_introduction_party | staff)
rules.add_perm("b2b.export_introductions", staff)

# Co-development projects
rules.add_perm("b2b.start_project", staff | is_firm_user)
rules.add_perm("b2b.view_project", is_project_partner | staff)
rules.add_perm("b2b.manage_project", is_project_partner | staff)

# Events
rules.add_perm("b2b.manage_events", staff)
rules.add_perm("b2b.register_for_event", rules.is_authenticated)
rules.add_perm("b2b.manage_ticket", holds_ticket | staff)

# Service providers
rules.add_perm("b2b.curate_providers", staff)
rules.add_perm("b2b.propose_provider", rules.is_authenticated)
rules.add_perm("b2b.request_contact", is_firm_user)

# Market and user intelligence
rules.add_perm("b2b.publish_reports", staff)
rules.add_perm("b2b.read_reports", is_firm_user | staff)
rules.add_perm("b2b.subscribe_topics", is_firm_user | staff)

# Wagtail admin: tags and topics are reference data staff keep tidy.
for model in ("tag", "topic"):
    for action in ("view", "add", "change"):
        rules.add_perm(f"b2b.{action}_{model}", staff)
