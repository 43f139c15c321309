from wagtail import hooks
from wagtail.permissions import register_permission_policy

from .viewsets import POLICIES, POLICY_CLASSES, ProcurementGroup

for _model, _actions in POLICIES.items():
    register_permission_policy(_model, POLICY_CLASSES[_model](_model, _actions))


@hooks.register("register_admin_viewset")
def register_viewsets():
    return ProcurementGroup()
