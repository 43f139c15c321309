"""What every view that acts for an organisation does the same way: find the organisation the user acts
for, and turn a domain refusal into a message (listing ground rules still to accept)."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.utils.translation import gettext as _

from .errors import DomainError, GroundRulesRequired
from .models import Organisation
from .policy import active_memberships, is_platform_admin

# Query parameter or form field naming the organisation a user acts for when they belong to several.
ORGANISATION_PARAM = "as"


def acting_organisations(request, kinds=None) -> list[Organisation]:
    """Organisations the user belongs to (of ``kinds`` when given), in name order, without repeats."""
    seen = {}
    for membership in active_memberships(request.user):
        organisation = membership.organisation
        if kinds is None or organisation.kind in kinds:
            seen.setdefault(organisation.pk, organisation)
    return sorted(seen.values(), key=lambda o: o.name)


def acting_organisation(request, kinds=None) -> Organisation | None:
    """The organisation the user acts for: the one named by ``?as=<slug>`` (or the form field ``as``) when
    they belong to several, else their only one. None when they belong to none of ``kinds``."""
    candidates = acting_organisations(request, kinds)
    wanted = request.POST.get(ORGANISATION_PARAM) or request.GET.get(ORGANISATION_PARAM)
    if wanted:
        for organisation in candidates:
            if organisation.slug == wanted:
                return organisation
        if not is_platform_admin(request.user):
            raise PermissionDenied(_("You do not act for this organisation."))
    return candidates[0] if candidates else None


def refuse(request, error: DomainError, form=None) -> None:
    """Show a refusal: on the form when there is one, else as a message. Ground rules still to accept are
    listed with links by the ``includes/ground_rules_refusal.html`` include (context ``pending_rules``)."""
    if form is not None:
        form.add_error(None, error.message)
    else:
        messages.error(request, error.message)
    if isinstance(error, GroundRulesRequired):
        request.pending_rules = error.pending


def pending_rules(request) -> list:
    """Ground rules versions a refusal in this request asked the user to accept (for the template)."""
    return getattr(request, "pending_rules", [])
