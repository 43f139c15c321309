"""The one place that decides who may do what to which object. Built on ``rules``; views, the admin and
services ask ``user.has_perm(name, obj)``. Tested as a role × object × action matrix."""

import rules
from django.db.models import Q

from .models import PRIVILEGED_ROLES, Membership, Organisation, Role

CLUSTER_ROLES = {Role.CLUSTER_MANAGER, Role.LAB_COORDINATOR}
ORG_ADMIN_ROLES = {Role.CLUSTER_MANAGER, Role.FIRM_ADMIN}
# Organisations that act as firms (post needs and offers, bid, form consortia) and the roles acting for them.
FIRM_KINDS = {Organisation.Kind.SME, Organisation.Kind.LARGE_ENTERPRISE, Organisation.Kind.RESEARCH}
FIRM_ROLES = {Role.FIRM_ADMIN, Role.FIRM_MEMBER, Role.RESEARCHER}


def active_memberships(user) -> list[Membership]:
    """Memberships of ``user``, read once per user object (a request's user lives for one request)."""
    if not user.is_authenticated or not user.is_active:
        return []
    cached = getattr(user, "_active_memberships", None)
    if cached is None:
        cached = list(Membership.objects.active().filter(user=user).select_related("organisation"))
        user._active_memberships = cached
    return cached


def roles_in(user, organisation) -> set[str]:
    return {m.role for m in active_memberships(user) if m.organisation_id == organisation.pk}


def roles_at(user, organisation_id) -> set[str]:
    return {m.role for m in active_memberships(user) if m.organisation_id == organisation_id}


def firm_ids(user) -> set[int]:
    """Organisations for which ``user`` acts as a firm."""
    return {
        m.organisation_id
        for m in active_memberships(user)
        if m.organisation.kind in FIRM_KINDS and m.role in FIRM_ROLES
    }


@rules.predicate
def is_cluster_staff(user) -> bool:
    return any(
        m.role in CLUSTER_ROLES and m.organisation.kind == Organisation.Kind.CLUSTER
        for m in active_memberships(user)
    )


@rules.predicate
def is_platform_admin(user) -> bool:
    return user.is_authenticated and user.is_active and user.is_superuser


@rules.predicate
def requires_mfa(user) -> bool:
    """Cluster staff, procurers, evaluators, compliance and funding officers must use MFA."""
    return is_platform_admin(user) or any(m.role in PRIVILEGED_ROLES for m in active_memberships(user))


@rules.predicate
def is_member(user, organisation) -> bool:
    return organisation is not None and bool(roles_in(user, organisation))


@rules.predicate
def is_organisation_admin(user, organisation) -> bool:
    return organisation is not None and bool(roles_in(user, organisation) & ORG_ADMIN_ROLES)


@rules.predicate
def is_own_person(user, person) -> bool:
    return user.is_authenticated and person is not None and person.user_id == user.pk


@rules.predicate
def is_guardian_of(user, person) -> bool:
    if not user.is_authenticated or person is None:
        return False
    return person.guardianships.filter(guardian__user=user).exists()


@rules.predicate
def is_subject_of_record(user, record) -> bool:
    return is_own_person(user, record.person) or is_guardian_of(user, record.person)


@rules.predicate
def owns_acceptance(user, acceptance) -> bool:
    return user.is_authenticated and acceptance.user_id == user.pk


@rules.predicate
def may_act_for(user, organisation) -> bool:
    """Accepting on behalf of nobody (oneself) or of an organisation one belongs to."""
    return user.is_authenticated and (organisation is None or is_member(user, organisation))


staff = is_cluster_staff | is_platform_admin

# Workspaces
rules.add_perm("livinglab.open_participant_workspace", rules.is_authenticated)
rules.add_perm("livinglab.open_organisation_workspace", is_member | is_platform_admin)

# Organisations and memberships
rules.add_perm("livinglab.manage_members", is_organisation_admin | staff)

# Ground rules
rules.add_perm("livinglab.accept_ground_rules", may_act_for)
rules.add_perm("livinglab.view_acceptance", owns_acceptance | staff)

# Consent
rules.add_perm("livinglab.view_consent", is_subject_of_record | staff)
rules.add_perm("livinglab.withdraw_consent", is_subject_of_record | staff)
rules.add_perm("livinglab.give_consent_for", is_own_person | is_guardian_of)

# Wagtail admin: cluster staff run the platform; each model permission Wagtail asks for is decided here.
rules.add_perm("wagtailadmin.access_admin", staff)
for model in (
    "organisation",
    "enterprisegroup",
    "membership",
    "groundrules",
    "groundrulesversion",
    "consentpurpose",
    "consentdocument",
    "consentdocumentversion",
):
    for action in ("view", "add", "change"):
        rules.add_perm(f"livinglab.{action}_{model}", staff)
rules.add_perm("livinglab.delete_membership", staff)
for model in ("auditentry", "groundrulesacceptance", "consentrecord"):
    rules.add_perm(f"livinglab.view_{model}", staff)


def visible_organisations(user):
    """Organisations whose workspace ``user`` may open."""
    if is_platform_admin(user):
        return Organisation.objects.all()
    return Organisation.objects.filter(
        Q(memberships__user=user, memberships__ended_at__isnull=True)
    ).distinct()
