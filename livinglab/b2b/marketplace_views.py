"""Pages of the marketplace: a firm's needs and offers, the listings of other firms it may read, the
suggested matches of its listings, and the staff's table of every suggestion.

Another firm's listing is shown only through ``disclosure.disclose`` (pages) and ``disclosure.row`` (CSV):
fields the reader may not see yet say ``disclosure.WITHHELD``, or stay empty in a CSV. Every change goes
through ``services.marketplace``. The same views serve needs and offers (``kind`` comes from the URL)."""

from dataclasses import dataclass

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, F, OuterRef, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_POST

from livinglab.acting import (
    ORGANISATION_PARAM,
    acting_organisation,
    acting_organisations,
    pending_rules,
    refuse,
)
from livinglab.errors import DomainError
from livinglab.policy import FIRM_KINDS, firm_ids
from livinglab.spreadsheets import csv_response
from livinglab.views import paginate

from . import disclosure
from .marketplace_forms import ListingFilterForm, MatchFilterForm, NeedForm, OfferForm
from .matching import strength
from .models import Introduction, ListingStatus, Match, Need, Offer, Tag, Visibility
from .services import marketplace as services

# Suggestions per page: a listing keeps about ten (services.matching.TOP_K), the staff table many more.
MATCHES_PER_PAGE = 10
TABLE_PER_PAGE = 25
# Teaser fields with choices: exported by their label, not their code.
CHOICE_FIELDS = ("timeframe", "kind", "maturity")


@dataclass(frozen=True)
class Side:
    kind: str
    other: str
    model: type
    form: type
    save: object
    # Fields of this kind of listing in a CSV of suggestions (of the other kind), through ``disclosure.row``.
    export_fields: tuple[str, ...]


SIDES = {
    "need": Side(
        "need",
        "offer",
        Need,
        NeedForm,
        services.save_need,
        (
            "title",
            "summary",
            "timeframe",
            "organisation",
            "description",
            "users_affected",
            "budget",
            "contact",
        ),
    ),
    "offer": Side(
        "offer",
        "need",
        Offer,
        OfferForm,
        services.save_offer,
        ("title", "summary", "kind", "maturity", "organisation", "description", "references", "contact"),
    ),
}


def _side(kind: str) -> Side:
    return SIDES[kind]


def _is_broker(user) -> bool:
    """Cluster staff: they read every listing in full and broker introductions."""
    return user.has_perm("b2b.broker_introduction")


def _firms(request) -> list:
    """The organisations the user acts for as a firm, in name order."""
    mine = firm_ids(request.user)
    return [o for o in acting_organisations(request, FIRM_KINDS) if o.pk in mine]


def _acting_firm(request, firms: list):
    """The firm chosen with ``?as=`` (or the only one); None for someone who acts for no firm."""
    if not firms:
        return None
    organisation = acting_organisation(request, FIRM_KINDS)
    if organisation is not None and organisation.pk in {o.pk for o in firms}:
        return organisation
    if request.POST.get(ORGANISATION_PARAM) or request.GET.get(ORGANISATION_PARAM):
        raise PermissionDenied(_("You do not act for this organisation."))
    return firms[0]


def _listing(request, kind: str, pk: int):
    """The need or offer ``pk``, if the user may see it at all (others' drafts are not acknowledged)."""
    side = _side(kind)
    listing = get_object_or_404(side.model.objects.select_related("organisation", "contact"), pk=pk)
    if not request.user.has_perm("b2b.view_listing", listing):
        raise Http404(_("No such listing."))
    return listing


def _require_editor(request, listing) -> None:
    if not request.user.has_perm("b2b.edit_listing", listing):
        raise PermissionDenied(_("Only the firm that posted it, or the cluster staff, can do this."))


def introduction_url() -> str | None:
    """Where the introduction buttons post to; None while the introductions part is not installed."""
    try:
        return reverse("b2b:introduction_request")
    except NoReverseMatch:
        return None


def _filtered(listings, filters: ListingFilterForm):
    if not filters.is_valid():
        return listings
    for word in filters.words():
        listings = listings.filter(Q(title__icontains=word) | Q(summary__icontains=word))
    if filters.cleaned_data["sector"]:
        listings = listings.filter(sectors=filters.cleaned_data["sector"])
    if filters.cleaned_data["technology"]:
        listings = listings.filter(technologies=filters.cleaned_data["technology"])
    return listings


def _disclosed_page(page, user):
    page.disclosed = disclosure.disclose_many(page.object_list, user)
    return page


# ------------------------------------------------------------------------------------------- lists


@login_required
@require_GET
def listing_list(request, kind: str):
    """A firm's own needs (or offers), in every status, and the other firms' ones it may read; staff
    see every one."""
    side = _side(kind)
    user = request.user
    broker = _is_broker(user)
    firms = _firms(request)
    if not broker and not firms:
        raise PermissionDenied(_("The marketplace is for member firms and the cluster staff."))
    acting = _acting_firm(request, firms)
    filters = ListingFilterForm(request.GET or None)
    listings = (
        side.model.objects.select_related("organisation")
        .prefetch_related("sectors", "technologies")
        .order_by(F("published_at").desc(nulls_first=True), "-pk")
    )
    mine = None
    if acting is not None:
        mine = paginate(request, _filtered(listings.filter(organisation=acting), filters), param="mine")
        _disclosed_page(mine, user)
    if broker:
        others = listings.exclude(organisation=acting) if acting is not None else listings
    else:
        others = listings.listed_to_members().exclude(organisation_id__in=firm_ids(user))
    others = _disclosed_page(paginate(request, _filtered(others, filters), param="page"), user)
    return render(
        request,
        "b2b/marketplace/listing_list.html",
        {
            "kind": kind,
            "mine": mine,
            "others": others,
            "filters": filters,
            "acting": acting,
            "firms": firms,
            "is_broker": broker,
            "WITHHELD": disclosure.WITHHELD,
        },
    )


# ------------------------------------------------------------------------------------ write and edit


def _form_page(request, side: Side, form, listing, acting, firms):
    return render(
        request,
        "b2b/marketplace/listing_form.html",
        {
            "kind": side.kind,
            "form": form,
            "listing": listing,
            "acting": acting,
            "firms": firms,
            "pending_rules": pending_rules(request),
        },
    )


@login_required
def listing_create(request, kind: str):
    """Write a new need (or offer) as a draft for the firm the user acts for."""
    side = _side(kind)
    firms = _firms(request)
    if not firms or not request.user.has_perm("b2b.post_listing"):
        raise PermissionDenied(_("Needs and offers are posted by people acting for a member firm."))
    acting = _acting_firm(request, firms)
    form = side.form(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            listing = side.save(None, form.values(), organisation=acting, acting_user=request.user)
        except DomainError as error:
            refuse(request, error, form)
        else:
            messages.success(
                request,
                _("Your draft “%(title)s” is saved. Publish it when it is ready.") % {"title": listing.title},
            )
            return redirect(f"b2b:{kind}_detail", pk=listing.pk)
    return _form_page(request, side, form, None, acting, firms)


@login_required
def listing_edit(request, kind: str, pk: int):
    side = _side(kind)
    listing = _listing(request, kind, pk)
    _require_editor(request, listing)
    form = side.form(request.POST or None, instance=listing)
    if request.method == "POST" and form.is_valid():
        try:
            listing = side.save(listing, form.values(), acting_user=request.user)
        except DomainError as error:
            refuse(request, error, form)
        else:
            messages.success(request, _("Your changes are saved."))
            return redirect(f"b2b:{kind}_detail", pk=listing.pk)
    return _form_page(request, side, form, listing, listing.organisation, [])


@login_required
@require_POST
def listing_publish(request, kind: str, pk: int):
    listing = _listing(request, kind, pk)
    _require_editor(request, listing)
    try:
        services.publish_listing(listing, acting_user=request.user)
    except DomainError as error:
        refuse(request, error)
        if pending_rules(request):
            return listing_detail(request, kind, pk)
    else:
        messages.success(
            request,
            _("“%(title)s” is published. Suggested matches appear in a moment.") % {"title": listing.title},
        )
    return redirect(f"b2b:{kind}_detail", pk=pk)


@login_required
@require_POST
def listing_close(request, kind: str, pk: int):
    listing = _listing(request, kind, pk)
    _require_editor(request, listing)
    try:
        services.close_listing(listing, acting_user=request.user)
    except DomainError as error:
        refuse(request, error)
    else:
        messages.success(request, _("“%(title)s” is closed.") % {"title": listing.title})
    return redirect(f"b2b:{kind}_detail", pk=pk)


# ------------------------------------------------------------------------------------------- detail


@login_required
def listing_detail(request, kind: str, pk: int):
    """A listing as the reader may see it: in full for its firm and the staff, else through disclosure."""
    listing = _listing(request, kind, pk)
    user = request.user
    may_edit = user.has_perm("b2b.edit_listing", listing)
    return render(
        request,
        "b2b/marketplace/listing_detail.html",
        {
            "kind": kind,
            "listing": disclosure.disclose(listing, user),
            "sectors": list(listing.sectors.order_by("name")),
            "technologies": list(listing.technologies.order_by("name")),
            "may_edit": may_edit and listing.status != ListingStatus.CLOSED,
            "may_publish": may_edit
            and listing.status == ListingStatus.DRAFT
            and user.has_perm("b2b.post_listing")
            and listing.organisation_id in firm_ids(user),
            "may_close": may_edit and listing.status != ListingStatus.CLOSED,
            "match_count": listing.matches.count() if may_edit else None,
            "WITHHELD": disclosure.WITHHELD,
            "pending_rules": pending_rules(request),
        },
    )


# ------------------------------------------------------------------------------------------ matches


def _tag_names(matches) -> dict[int, str]:
    ids = {pk for m in matches for name in ("sectors", "technologies") for pk in m.reasons.get(name, ())}
    return dict(Tag.objects.filter(pk__in=ids).values_list("pk", "name")) if ids else {}


def _reasons(match: Match, names: dict[int, str]) -> dict:
    return {
        name: [names[pk] for pk in match.reasons.get(name, ()) if pk in names]
        for name in ("sectors", "technologies")
    } | {"terms": list(match.reasons.get("terms", ()))}


def _suggestions(listing, side: Side, user):
    """Stored suggestions for ``listing``: counterparts still published and, for a firm, listed to
    members (staff-only ones are brokered by the staff)."""
    matches = (
        Match.objects.filter(**{side.kind: listing}, **{f"{side.other}__status": ListingStatus.PUBLISHED})
        .select_related(f"{side.other}__organisation", f"{side.other}__contact")
        .order_by("-score", "pk")
    )
    if not _is_broker(user):
        matches = matches.exclude(**{f"{side.other}__visibility": Visibility.STAFF})
    return matches


def _rows(matches, side: Side, user) -> list[dict]:
    names = _tag_names(matches)
    rows = []
    for match in matches:
        other = getattr(match, side.other)
        if not user.has_perm("b2b.view_listing", other):
            continue
        rows.append(
            {
                "match": match,
                "other": disclosure.disclose(other, user),
                "strength": strength(match.score),
                "reasons": _reasons(match, names),
            }
        )
    return rows


@login_required
@require_GET
def listing_matches(request, kind: str, pk: int):
    """The suggested counterparts of a listing, best first, each with why it was suggested."""
    side = _side(kind)
    listing = _listing(request, kind, pk)
    _require_editor(request, listing)
    user = request.user
    page = paginate(request, _suggestions(listing, side, user), per_page=MATCHES_PER_PAGE)
    rows = _rows(page.object_list, side, user)
    pairs = [(listing.pk, r["other"].pk) if kind == "need" else (r["other"].pk, listing.pk) for r in rows]
    live = set(
        Introduction.objects.filter(
            **{side.kind: listing},
            **{f"{side.other}__in": [r["other"].pk for r in rows]},
            status__in=Introduction.LIVE,
        ).values_list("need_id", "offer_id")
    )
    for row, pair in zip(rows, pairs, strict=True):
        row["need_id"], row["offer_id"] = pair
        row["introduced"] = pair in live
    acting_as = listing.organisation.slug if listing.organisation_id in firm_ids(user) else None
    return render(
        request,
        "b2b/marketplace/listing_matches.html",
        {
            "kind": kind,
            "listing": disclosure.disclose(listing, user),
            "page": page,
            "rows": rows,
            "acting_as": acting_as,
            "introduction_url": introduction_url(),
            "is_published": listing.status == ListingStatus.PUBLISHED,
            "WITHHELD": disclosure.WITHHELD,
        },
    )


@login_required
@require_GET
def listing_matches_export(request, kind: str, pk: int):
    """The suggestions of a listing as CSV; the counterparts' withheld fields are empty."""
    side = _side(kind)
    listing = _listing(request, kind, pk)
    _require_editor(request, listing)
    user = request.user
    rows = _rows(list(_suggestions(listing, side, user)), side, user)
    fields = list(SIDES[side.other].export_fields)
    header = [
        "rank",
        f"{side.other}_id",
        "score",
        "strength",
        "shared_sectors",
        "shared_technologies",
        "shared_words",
        *fields,
    ]

    def cells():
        for rank, row in enumerate(rows, start=1):
            values = disclosure.row(row["other"], fields)
            for name in CHOICE_FIELDS:
                if values.get(name):
                    values[name] = getattr(row["other"], f"get_{name}_display")()
            reasons = row["reasons"]
            yield [
                rank,
                row["other"].pk,
                f"{row['match'].score:.4f}",
                row["strength"],
                "; ".join(reasons["sectors"]),
                "; ".join(reasons["technologies"]),
                "; ".join(reasons["terms"]),
                *(values[name] for name in fields),
            ]

    return csv_response(f"{kind}-{listing.pk}-suggestions.csv", header, cells())


@login_required
@require_GET
def match_list(request):
    """Every stored suggestion, best first, for the cluster staff to broker introductions."""
    user = request.user
    if not _is_broker(user):
        raise PermissionDenied(_("The table of every suggestion is for the cluster staff."))
    filters = MatchFilterForm(request.GET or None)
    matches = (
        Match.objects.filter(need__status=ListingStatus.PUBLISHED, offer__status=ListingStatus.PUBLISHED)
        .select_related("need__organisation", "offer__organisation")
        .order_by("-score", "pk")
    )
    if filters.is_valid():
        if filters.cleaned_data["min_score"] is not None:
            matches = matches.filter(score__gte=filters.cleaned_data["min_score"])
        sector = filters.cleaned_data["sector"]
        if sector is not None:
            matches = matches.filter(
                Exists(Need.sectors.through.objects.filter(need_id=OuterRef("need_id"), tag=sector))
                | Exists(Offer.sectors.through.objects.filter(offer_id=OuterRef("offer_id"), tag=sector))
            )
    page = paginate(request, matches, per_page=TABLE_PER_PAGE)
    names = _tag_names(page.object_list)
    rows = [
        {
            "match": match,
            "need": disclosure.disclose(match.need, user),
            "offer": disclosure.disclose(match.offer, user),
            "strength": strength(match.score),
            "reasons": _reasons(match, names),
        }
        for match in page.object_list
    ]
    return render(
        request,
        "b2b/marketplace/match_list.html",
        {
            "page": page,
            "rows": rows,
            "filters": filters,
            "introduction_url": introduction_url(),
        },
    )
