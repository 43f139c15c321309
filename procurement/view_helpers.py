"""What every procurement view does the same way: load the procurement or phase behind a URL and check the
policy. Acting for an organisation and showing refusals are shared with other apps (``livinglab.acting``)."""

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import get_object_or_404
from django.utils.translation import gettext as _

from .models import Phase, Procurement


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
