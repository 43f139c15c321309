from allauth.mfa.models import Authenticator
from django.shortcuts import redirect

from .policy import requires_mfa

PROTECTED_PREFIXES = ("/workspace/", "/admin/")


class RequireMFAMiddleware:
    """Privileged roles open no workspace and no admin page until they have enrolled an authenticator."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = request.user
        if (
            user.is_authenticated
            and request.path.startswith(PROTECTED_PREFIXES)
            and requires_mfa(user)
            and not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists()
        ):
            return redirect("mfa_required")
        return self.get_response(request)
