"""Who may act on vouchers. Autodiscovered by ``rules``; services and views ask ``user.has_perm``."""

import rules

from livinglab.models import Organisation, Role
from livinglab.policy import (
    active_memberships,
    is_guardian_of,
    is_member,
    is_organisation_admin,
    is_own_person,
    staff,
)

# Redeeming and reversing happen at a firm's point of sale: its staff, or cluster staff helping them.
rules.add_perm("vouchers.redeem_for_firm", is_member | staff)

# A firm's partner API tokens: the firm's administrators, or cluster staff setting up its till.
rules.add_perm("vouchers.manage_partner_tokens", is_organisation_admin | staff)


@rules.predicate
def holds_voucher(user, voucher) -> bool:
    """The voucher's holder, or a guardian of the holder."""
    return voucher is not None and (
        is_own_person(user, voucher.holder) or is_guardian_of(user, voucher.holder)
    )


# A voucher, its code and its PDF: the holder or their guardian, and cluster staff who run programmes.
rules.add_perm("vouchers.open_voucher", holds_voucher | staff)


# ------------------------------------------------------------------------------------------ Wagtail admin


@rules.predicate
def is_funding_officer(user) -> bool:
    """A funding officer of any funding agency (scoping to the programmes it funds is per object)."""
    return any(
        m.role == Role.FUNDING_OFFICER and m.organisation.kind == Organisation.Kind.FUNDING_AGENCY
        for m in active_memberships(user)
    )


# Cluster staff run the programmes; funding officers may look at programmes, vouchers and the ledger.
# These are model-level permissions: Wagtail asks them without an object.
for _model, _actions in {
    "programme": ("add", "change"),
    "solution": ("add", "change", "view"),
    "enrolment": ("change", "view"),
    "voucher": ("add", "cancel"),
    "deminimisaid": ("add", "view"),
}.items():
    for _action in _actions:
        rules.add_perm(f"vouchers.{_action}_{_model}", staff)
for _model in ("programme", "voucher", "ledgerentry"):
    rules.add_perm(f"vouchers.view_{_model}", staff | is_funding_officer)
