from wagtail.permissions import register_permission_policy
from wagtail.snippets.models import register_snippet

from livinglab.viewsets import RulesPolicy

from .viewsets import POLICIES, B2BReferenceGroup

for _model, _actions in POLICIES.items():
    register_permission_policy(_model, RulesPolicy(_model, _actions))

register_snippet(B2BReferenceGroup)
