"""The one place that decides which fields of a need or an offer a reader sees. Pages, exports, mails and
match reasons all show listings through ``disclose``; nothing else reads a listing's confidential fields
for someone other than its own firm.

Before an accepted introduction, a firm reading another firm's listing sees the teaser only (title,
summary, tags, timeframe or maturity), unless the listing is public to members; staff-only listings are not
shown to other firms at all (``b2b.view_listing``)."""

from dataclasses import dataclass, field

from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext_lazy as _

from .models import Need, Offer

WITHHELD = _("Revealed after an accepted introduction")


@dataclass
class Disclosed:
    """A listing as one reader may see it: confidential fields they may not read are None and named in
    ``withheld``. Templates show ``WITHHELD`` in their place."""

    listing: Need | Offer
    details: bool
    withheld: frozenset = field(default_factory=frozenset)

    def __getattr__(self, name):
        # Only called for attributes the dataclass itself does not have: the listing's fields.
        if name in self.withheld:
            return None
        return getattr(self.listing, name)

    @property
    def kind(self) -> str:
        return "need" if isinstance(self.listing, Need) else "offer"


def disclose(listing: Need | Offer, user) -> Disclosed:
    """``listing`` as ``user`` may see it; PermissionDenied when they may not see it at all."""
    if not user.has_perm("b2b.view_listing", listing):
        raise PermissionDenied(_("You cannot see this listing."))
    if user.has_perm("b2b.view_listing_details", listing):
        return Disclosed(listing, details=True)
    return Disclosed(listing, details=False, withheld=frozenset(type(listing).CONFIDENTIAL_FIELDS))


def disclose_many(listings, user) -> list[Disclosed]:
    """The listings ``user`` may see, each disclosed; the ones they may not see are left out."""
    return [disclose(listing, user) for listing in listings if user.has_perm("b2b.view_listing", listing)]


def row(disclosed: Disclosed, fields: list[str]) -> dict:
    """Plain values for an export row; withheld fields are empty."""
    values = {}
    for name in fields:
        value = getattr(disclosed, name)
        values[name] = "" if value is None else str(value)
    return values
