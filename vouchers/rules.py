"""Who may act on vouchers. Autodiscovered by ``rules``; services and views ask ``user.has_perm``."""

import rules

from livinglab.models import Organisation, Role
from livinglab.policy import (
    CLUSTER_ROLES,
    active_memberships,
    is_guardian_of,
    is_member,
    is_organisation_admin,
    is_own_person,
    is_platform_admin,
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


# --------------------------------------------------------------------------------- programmes, per object


@rules.predicate
def operates(user, programme) -> bool:
    """Cluster staff of the organisation that runs ``programme``."""
    return programme is not None and any(
        m.organisation_id == programme.operator_id and m.role in CLUSTER_ROLES
        for m in active_memberships(user)
    )


@rules.predicate
def funds(user, programme) -> bool:
    """A funding officer of the agency that funds ``programme``."""
    return programme is not None and any(
        m.organisation_id == programme.funder_id and m.role == Role.FUNDING_OFFICER
        for m in active_memberships(user)
    )


# The operator runs the programme day to day: applications, the lottery, checking claims.
rules.add_perm("vouchers.run_programme", operates | is_platform_admin)
# The funder decides on reimbursement and pays.
rules.add_perm("vouchers.fund_programme", funds | is_platform_admin)
# Both follow the figures.
rules.add_perm("vouchers.view_programme_reports", operates | funds | is_platform_admin)


@rules.predicate
def is_applicant(user, application) -> bool:
    return application is not None and (
        is_own_person(user, application.applicant) or is_guardian_of(user, application.applicant)
    )


@rules.predicate
def runs_programme_of(user, obj) -> bool:
    return obj is not None and operates(user, obj.programme)


@rules.predicate
def funds_programme_of(user, obj) -> bool:
    return obj is not None and funds(user, obj.programme)


@rules.predicate
def belongs_to_claiming_firm(user, claim) -> bool:
    return claim is not None and is_member(user, claim.firm)


# People apply for themselves or for a minor in their care.
rules.add_perm("vouchers.apply_for", is_own_person | is_guardian_of)
rules.add_perm("vouchers.view_application", is_applicant | runs_programme_of | is_platform_admin)
rules.add_perm("vouchers.give_feedback", holds_voucher)

# A firm's part in programmes: enrolling solutions, declaring other aid, claiming reimbursement.
rules.add_perm("vouchers.act_for_firm", is_organisation_admin | staff)
# Its State-aid headroom and statements: the firm and cluster staff (funders see headroom on claims).
rules.add_perm("vouchers.view_firm_aid", is_member | staff)
rules.add_perm(
    "vouchers.view_claim",
    belongs_to_claiming_firm | runs_programme_of | funds_programme_of | is_platform_admin,
)


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


# ------------------------------------------------------------------------------------ reimbursement claims

# A firm's list of its reimbursement claims: its members, and cluster staff helping it (added with the
# claim pages; claiming itself is vouchers.act_for_firm, one claim is vouchers.view_claim).
rules.add_perm("vouchers.view_firm_claims", is_member | staff)
