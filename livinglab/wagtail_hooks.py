from wagtail import hooks
from wagtail.permissions import register_permission_policy

from .viewsets import POLICIES, AuditEntryViewSet, PlatformGroup, RulesAndConsentGroup, RulesPolicy

for _model, _actions in POLICIES.items():
    register_permission_policy(_model, RulesPolicy(_model, _actions))


@hooks.register("register_admin_viewset")
def register_viewsets():
    return [PlatformGroup(), RulesAndConsentGroup(), AuditEntryViewSet("audit")]
