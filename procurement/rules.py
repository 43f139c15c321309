"""Who may act on pre-commercial procurements. Autodiscovered by ``rules``; services and views ask
``user.has_perm``. Reading bid content is additionally sealed in the data layer (``models/bids.py``)."""

import rules

from livinglab.models import Role
from livinglab.policy import (  # noqa: F401  (FIRM_KINDS and FIRM_ROLES are read from here by the app)
    CLUSTER_ROLES,
    FIRM_KINDS,
    FIRM_ROLES,
    active_memberships,
    firm_ids,
    is_platform_admin,
    roles_at,
)


def _procurement(obj):
    """The procurement an object belongs to (a procurement, a phase, a consortium, a bid …)."""
    for path in ("procurement", "phase.procurement", "consortium.procurement"):
        target = obj
        for attr in path.split("."):
            target = getattr(target, attr, None)
        if target is not None:
            return target
    return obj


@rules.predicate
def is_procurer_anywhere(user, organisation=None) -> bool:
    """A procurer of ``organisation`` (an authority), or of any authority when none is given."""
    return any(
        m.role == Role.PROCURER and (organisation is None or m.organisation_id == organisation.pk)
        for m in active_memberships(user)
    )


@rules.predicate
def is_procurer(user, obj) -> bool:
    """A procurer of the authority that buys."""
    return obj is not None and Role.PROCURER in roles_at(user, _procurement(obj).buyer_id)


@rules.predicate
def is_compliance(user, obj) -> bool:
    return obj is not None and Role.COMPLIANCE in roles_at(user, _procurement(obj).buyer_id)


@rules.predicate
def is_buyer_staff(user, obj) -> bool:
    return obj is not None and bool(roles_at(user, _procurement(obj).buyer_id))


@rules.predicate
def is_intermediary(user, obj) -> bool:
    """Staff of a cluster organisation acting as intermediary for the procurement."""
    if obj is None:
        return False
    clusters = {m.organisation_id for m in active_memberships(user) if m.role in CLUSTER_ROLES}
    return bool(clusters) and _procurement(obj).intermediaries.filter(pk__in=clusters).exists()


@rules.predicate
def is_firm(user, obj=None) -> bool:
    return bool(firm_ids(user))


@rules.predicate
def is_published(user, obj) -> bool:
    procurement = _procurement(obj)
    return procurement is not None and procurement.status != procurement.Status.DRAFT


@rules.predicate
def leads_consortium(user, consortium) -> bool:
    return consortium is not None and consortium.lead_id in firm_ids(user)


@rules.predicate
def in_consortium(user, obj) -> bool:
    """A member of an organisation that accepted to be part of the consortium (of a bid)."""
    consortium = getattr(obj, "consortium", obj)
    if consortium is None:
        return False
    mine = firm_ids(user)
    return bool(mine) and consortium.members.filter(organisation_id__in=mine, status="accepted").exists()


@rules.predicate
def is_invited_member(user, member) -> bool:
    return member is not None and member.organisation_id in firm_ids(user)


@rules.predicate
def holds_contract(user, contract) -> bool:
    """A member of the consortium that won the contract."""
    return contract is not None and in_consortium(user, contract.award.bid)


@rules.predicate
def evaluates(user, phase) -> bool:
    return phase is not None and user.is_authenticated and phase.evaluators.filter(user=user).exists()


# Authorities
rules.add_perm("procurement.add_procurement", is_procurer_anywhere | is_platform_admin)
rules.add_perm("procurement.manage_procurement", is_procurer | is_platform_admin)
rules.add_perm(
    "procurement.view_procurement", is_published | is_buyer_staff | is_intermediary | is_platform_admin
)
rules.add_perm("procurement.answer_clarification", is_procurer)
rules.add_perm("procurement.manage_evaluation", is_procurer)
rules.add_perm("procurement.award_phase", is_procurer)
rules.add_perm("procurement.manage_contract", is_procurer)
rules.add_perm("procurement.view_contract", is_procurer | is_compliance | holds_contract | is_platform_admin)
# The interaction register: compliance and the neutral intermediaries see everything in it; the public
# summary (counts by kind and organisation) is open to all.
rules.add_perm("procurement.view_register", is_compliance | is_intermediary | is_platform_admin)
rules.add_perm("procurement.record_interaction", is_buyer_staff | is_intermediary | is_firm)
rules.add_perm("procurement.declare_gift", is_buyer_staff)
# Firms and research organisations
rules.add_perm("procurement.register_interest", is_published & is_firm)
rules.add_perm("procurement.contribute_to_consultation", is_published & is_firm)
rules.add_perm("procurement.ask_clarification", is_published & is_firm)
rules.add_perm("procurement.send_message", is_firm | is_intermediary | is_buyer_staff)
rules.add_perm("procurement.post_partner_search", is_published & (is_firm | is_intermediary))
rules.add_perm("procurement.form_consortium", is_published & is_firm)
rules.add_perm("procurement.propose_consortium", is_intermediary)
rules.add_perm("procurement.manage_consortium", leads_consortium)
rules.add_perm("procurement.view_consortium", in_consortium | leads_consortium | is_intermediary)
rules.add_perm("procurement.answer_consortium_invitation", is_invited_member)
rules.add_perm("procurement.submit_bid", leads_consortium)
rules.add_perm("procurement.view_own_bid", in_consortium | leads_consortium)
# Evaluators (their conflicts are checked per bid by the evaluation service, not here)
rules.add_perm("procurement.evaluate_phase", evaluates)
