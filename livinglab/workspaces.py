"""Which workspaces a user holds: the participant one, and one per organisation they belong to."""

from dataclasses import dataclass

from django.utils.translation import gettext_lazy as _

from .models import Organisation

WORKSPACE_SESSION_KEY = "livinglab.workspace"

K = Organisation.Kind
KIND_LABELS = {
    K.CLUSTER: _("Cluster staff"),
    K.SME: _("Firm"),
    K.LARGE_ENTERPRISE: _("Firm"),
    K.RESEARCH: _("Research partner"),
    K.PUBLIC_AUTHORITY: _("Public authority"),
    K.FUNDING_AGENCY: _("Funder"),
    K.INTEREST_GROUP: _("Interest group"),
}


@dataclass(frozen=True)
class WorkspaceKind:
    code: str
    label: str


def workspace_kind(organisation: Organisation) -> WorkspaceKind:
    return WorkspaceKind(organisation.kind, KIND_LABELS[organisation.kind])
