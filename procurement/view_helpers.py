"""What every procurement view does the same way: load the procurement or phase behind a URL and check the
policy, find the organisation the user acts for, and turn a refusal into a message."""

from django.contrib import messages
from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from livinglab.errors import DomainError, GroundRulesRequired
from livinglab.models import Organisation
from livinglab.policy import active_memberships, is_platform_admin

from .models import Phase, Procurement

# Query parameter or form field naming the organisation a user acts for when they belong to several.
ORGANISATION_PARAM = "as"


def get_procurement(request, slug: str, perm: str = "procurement.view_procurement") -> Procurement:
    """The procurement behind ``slug``: 404 while it is an unpublished draft the user may not see, 403 when
    ``perm`` is missing."""
    procurement = get_object_or_404(Procurement.objects.select_related("buyer"), slug=slug)
    if not request.user.has_perm("procurement.view_procurement", procurement):
        raise Http404(_("No published procurement has this address."))
    if perm != "procurement.view_procurement" and not request.user.has_perm(perm, procurement):
        raise PermissionDenied(_("You cannot do this on this procurement."))
    return procurement


def get_phase(request, slug: str, number: int, perm: str = "procurement.view_procurement") -> Phase:
    procurement = get_procurement(request, slug)
    phase = get_object_or_404(
        Phase.objects.select_related("procurement__buyer"), procurement=procurement, number=number
    )
    if perm != "procurement.view_procurement" and not request.user.has_perm(perm, phase):
        raise PermissionDenied(_("You cannot do this in this phase."))
    return phase


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
    listed with links by the ``procurement/includes/refusal.html`` include (context ``pending_rules``)."""
    if form is not None:
        form.add_error(None, error.message)
    else:
        messages.error(request, error.message)
    if isinstance(error, GroundRulesRequired):
        request.pending_rules = error.pending


def pending_rules(request) -> list:
    """Ground rules versions a refusal in this request asked the user to accept (for the template)."""
    return getattr(request, "pending_rules", [])
