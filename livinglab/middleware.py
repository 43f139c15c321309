from allauth.mfa.models import Authenticator
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.utils.translation import gettext as _

from .policy import requires_mfa

# Staff pages of panels and campaigns show participants' identities, procurement pages sealed bids and
# evaluations, B2B pages confidential needs and offers: the same rule as workspaces.
PROTECTED_PREFIXES = ("/workspace/", "/admin/", "/panels/", "/campaigns/", "/procurement/", "/b2b/")


class RequireMFAMiddleware:
    """Privileged roles open no workspace and no admin page until they have enrolled an authenticator.
    Signed-in people without admin access get a clear refusal at /admin/ (Wagtail would send them to the
    login page, which sends a signed-in user straight back: a loop)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if user.is_authenticated and request.path.startswith(PROTECTED_PREFIXES):
            if request.path.startswith("/admin/") and not user.has_perm("wagtailadmin.access_admin"):
                raise PermissionDenied(_("The administration is for the cluster organisation's staff."))
            if (
                requires_mfa(user)
                and not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
            ):
                return redirect("mfa_required")
        return self.get_response(request)
