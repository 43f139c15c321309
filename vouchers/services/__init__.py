"""Every state change of the voucher programmes, one module per part. Views, the admin, the API, commands
and tasks call these.

Locks are taken in one order: programme, then voucher, then (for State aid) the organisations of a
single undertaking, and the audit chain last. Only issuance locks the programme: it is the one operation
that adds to the committed budget; releases (expiry, cancellation) can only lower it.
"""

from .aid import record_de_minimis_aid
from .ledger import (
    CODE_ATTEMPTS,
    REVERSAL_WINDOW,
    cancel_voucher,
    expire_vouchers,
    issue_voucher,
    redeem_voucher,
    refusal_reason,
    reverse_redemption,
    same_request,
)
from .programmes import (
    apply_for_enrolment,
    change_programme_status,
    decide_enrolment,
    save_programme,
    save_solution,
)

__all__ = [
    "CODE_ATTEMPTS",
    "REVERSAL_WINDOW",
    "apply_for_enrolment",
    "cancel_voucher",
    "change_programme_status",
    "decide_enrolment",
    "expire_vouchers",
    "issue_voucher",
    "record_de_minimis_aid",
    "redeem_voucher",
    "refusal_reason",
    "reverse_redemption",
    "same_request",
    "save_programme",
    "save_solution",
]
