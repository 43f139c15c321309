"""Needs and offers: a firm writes a draft, publishes it to the marketplace, edits it, and closes it when
it is no longer looking (or offering). Each change refreshes the listing's match suggestions after commit.

Who may: the firm that owns the listing (``b2b.edit_listing``); writing and publishing also need
``b2b.post_listing`` and the firm's acceptance of the B2B ground rules. Cluster staff may edit and close
any listing (to keep the marketplace tidy) but do not publish for a firm: the firm decides what it shows.
"""

from django.db import transaction
from django.utils import timezone
from django.utils.text import capfirst
from django.utils.translation import gettext as _

from livinglab import audit
from livinglab.models import Channel, Organisation, User
from livinglab.policy import FIRM_KINDS, firm_ids
from livinglab.services import require_ground_rules

from ..errors import B2BError
from ..models import ListingStatus, Need, Offer, Tag
from ..tasks.matching import refresh_listing_matches

Status = ListingStatus

# What a firm writes; the tags come as ``sectors`` and ``technologies`` (Tag objects or ids).
NEED_FIELDS = ("title", "summary", "description", "users_affected", "timeframe", "budget", "visibility")
OFFER_FIELDS = ("title", "summary", "description", "kind", "maturity", "references", "visibility")
FIELDS = {Need: NEED_FIELDS, Offer: OFFER_FIELDS}
TAGS = {"sectors": Tag.Kind.SECTOR, "technologies": Tag.Kind.TECHNOLOGY}


def kind_of(listing: Need | Offer) -> str:
    return type(listing)._meta.model_name


def _label(model, name: str) -> str:
    return capfirst(model._meta.get_field(name).verbose_name)


def _require_editor(listing: Need | Offer, user: User) -> None:
    if not user.has_perm("b2b.edit_listing", listing):
        raise B2BError(
            _("Only the firm that posted this %(kind)s, or the cluster staff, can change it.")
            % {"kind": type(listing)._meta.verbose_name}
        )


def _require_poster(listing: Need | Offer, user: User) -> None:
    """The firm's own people post, having accepted the B2B ground rules for that firm."""
    if not (user.has_perm("b2b.post_listing") and listing.organisation_id in firm_ids(user)):
        raise B2BError(
            _("Only people acting for %(organisation)s can post its %(kinds)s.")
            % {
                "organisation": listing.organisation.name,
                "kinds": type(listing)._meta.verbose_name_plural,
            }
        )
    require_ground_rules(user, Channel.B2B, organisation=listing.organisation)


def _tags(values: dict, name: str) -> list[Tag]:
    wanted = [getattr(t, "pk", t) for t in values.get(name) or ()]
    found = list(Tag.objects.filter(pk__in=wanted))
    if len(found) != len(set(wanted)):
        raise B2BError(_("Some of the chosen tags no longer exist. Please choose again."))
    wrong = [t.name for t in found if t.kind != TAGS[name]]
    if wrong:
        raise B2BError(
            _("These tags are not %(kind)s: %(tags)s.")
            % {"kind": Tag.Kind(TAGS[name]).label.lower() + "s", "tags": ", ".join(sorted(wrong))}
        )
    return sorted(found, key=lambda t: t.pk)


def _check_teaser(listing: Need | Offer) -> None:
    model = type(listing)
    if not listing.title.strip():
        raise B2BError(_("Give your %(kind)s a title.") % {"kind": model._meta.verbose_name})
    if not listing.summary.strip():
        raise B2BError(
            _("Write a short summary: it is what other firms read first, before any introduction.")
        )


def _check_publishable(listing: Need | Offer, sectors: list, technologies: list) -> None:
    """What a listing needs before other firms and the matcher can find it."""
    _check_teaser(listing)
    if not sectors:
        raise B2BError(_("Choose at least one sector: suggestions are made by sector and technology tags."))
    if not technologies:
        raise B2BError(
            _("Choose at least one technology: suggestions are made by sector and technology tags.")
        )


def _enqueue_refresh(listing: Need | Offer) -> None:
    refresh_listing_matches.delay_on_commit(kind_of(listing), listing.pk)


# ----------------------------------------------------------------------------------------- writing


@transaction.atomic
def _save_listing(
    model, listing, values: dict, *, organisation: Organisation | None, acting_user: User
) -> Need | Offer:
    allowed = set(FIELDS[model]) | set(TAGS)
    unknown = set(values) - allowed
    if unknown:
        raise B2BError(
            _("These fields cannot be set here: %(fields)s.") % {"fields": ", ".join(sorted(unknown))}
        )
    creating = listing is None
    if creating:
        if organisation is None or organisation.kind not in FIRM_KINDS:
            raise B2BError(_("Needs and offers are posted by firms and research organisations."))
        listing = model(organisation=organisation, created_by=acting_user, status=Status.DRAFT)
        _require_poster(listing, acting_user)
        listing.contact = acting_user
    else:
        _require_editor(listing, acting_user)
        listing = (
            model.objects.select_for_update(no_key=True).select_related("organisation").get(pk=listing.pk)
        )
        if listing.status == Status.CLOSED:
            raise B2BError(
                _("This %(kind)s is closed and can no longer be changed. Post a new one instead.")
                % {"kind": model._meta.verbose_name}
            )
        if listing.organisation_id in firm_ids(acting_user):
            _require_poster(listing, acting_user)
    before = {name: getattr(listing, name) for name in FIELDS[model]}
    for name in FIELDS[model]:
        if name in values:
            value = values[name]
            setattr(listing, name, value.strip() if isinstance(value, str) else value)
    tags = {}
    for name in TAGS:
        if name in values:
            tags[name] = _tags(values, name)
        else:
            tags[name] = [] if creating else list(getattr(listing, name).order_by("pk"))
    if listing.status == Status.PUBLISHED:
        _check_publishable(listing, tags["sectors"], tags["technologies"])
    else:
        _check_teaser(listing)
    for name in FIELDS[model]:
        field = model._meta.get_field(name)
        if field.choices and getattr(listing, name) not in dict(field.choices):
            raise B2BError(_("Choose a value for “%(field)s”.") % {"field": _label(model, name)})
        if not field.blank and not str(getattr(listing, name)).strip():
            raise B2BError(_("“%(field)s” cannot be empty.") % {"field": _label(model, name)})
    changed = sorted(
        name for name in FIELDS[model] if not creating and before[name] != getattr(listing, name)
    )
    listing.save()
    for name, chosen in tags.items():
        if creating or name in values:
            current = set(getattr(listing, name).values_list("pk", flat=True)) if not creating else set()
            if current != {t.pk for t in chosen}:
                getattr(listing, name).set(chosen)
                if not creating:
                    changed.append(name)
    kind = kind_of(listing)
    audit.record(
        f"b2b.{kind}.{'create' if creating else 'edit'}",
        actor=acting_user,
        obj=listing,
        organisation=listing.organisation,
        data={
            "status": listing.status,
            "visibility": listing.visibility,
            "fields": sorted(changed),
            "sectors": [t.pk for t in tags["sectors"]],
            "technologies": [t.pk for t in tags["technologies"]],
        },
    )
    if listing.status == Status.PUBLISHED:
        _enqueue_refresh(listing)
    return listing


def save_need(
    need: Need | None, values: dict, *, organisation: Organisation | None = None, acting_user: User
) -> Need:
    """Write a new draft need for ``organisation``, or change ``need`` (``values``: fields and tags)."""
    return _save_listing(Need, need, values, organisation=organisation, acting_user=acting_user)


def save_offer(
    offer: Offer | None, values: dict, *, organisation: Organisation | None = None, acting_user: User
) -> Offer:
    """Write a new draft offer for ``organisation``, or change ``offer`` (``values``: fields and tags)."""
    return _save_listing(Offer, offer, values, organisation=organisation, acting_user=acting_user)


# ---------------------------------------------------------------------------------------- lifecycle


@transaction.atomic
def publish_listing(listing: Need | Offer, *, acting_user: User) -> Need | Offer:
    """Show a draft need or offer on the marketplace, to the readers its visibility allows."""
    model = type(listing)
    _require_editor(listing, acting_user)
    _require_poster(listing, acting_user)
    listing = model.objects.select_for_update(no_key=True).select_related("organisation").get(pk=listing.pk)
    if listing.status == Status.PUBLISHED:
        raise B2BError(_("This %(kind)s is already published.") % {"kind": model._meta.verbose_name})
    if listing.status == Status.CLOSED:
        raise B2BError(
            _("This %(kind)s is closed and cannot be published again. Post a new one instead.")
            % {"kind": model._meta.verbose_name}
        )
    _check_publishable(listing, list(listing.sectors.all()), list(listing.technologies.all()))
    now = timezone.now()
    claimed = model.objects.filter(pk=listing.pk, status=Status.DRAFT).update(
        status=Status.PUBLISHED, published_at=now, updated_at=now
    )
    if claimed != 1:  # pragma: no cover - the row lock above makes this a belt and braces check
        raise B2BError(
            _("This %(kind)s changed meanwhile. Please try again.") % {"kind": model._meta.verbose_name}
        )
    listing.status, listing.published_at, listing.updated_at = Status.PUBLISHED, now, now
    audit.record(
        f"b2b.{kind_of(listing)}.publish",
        actor=acting_user,
        obj=listing,
        organisation=listing.organisation,
        data={"visibility": listing.visibility},
    )
    _enqueue_refresh(listing)
    return listing


@transaction.atomic
def close_listing(listing: Need | Offer, *, acting_user: User) -> Need | Offer:
    """Take a need or offer off the marketplace for good; its suggestions go with it."""
    model = type(listing)
    _require_editor(listing, acting_user)
    current = model.objects.filter(pk=listing.pk).values_list("status", flat=True).first()
    if current == Status.CLOSED:
        raise B2BError(_("This %(kind)s is already closed.") % {"kind": model._meta.verbose_name})
    now = timezone.now()
    closed = model.objects.filter(pk=listing.pk, status=current).update(status=Status.CLOSED, updated_at=now)
    if closed != 1:
        raise B2BError(
            _("This %(kind)s changed while you were closing it. Please look at it again.")
            % {"kind": model._meta.verbose_name}
        )
    listing.status, listing.updated_at = Status.CLOSED, now
    audit.record(
        f"b2b.{kind_of(listing)}.close",
        actor=acting_user,
        obj=listing,
        organisation=listing.organisation,
        data={"from": current},
    )
    _enqueue_refresh(listing)
    return listing
