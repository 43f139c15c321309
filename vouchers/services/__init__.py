"""Every state change of the voucher programmes, one module per part. Views, the admin, the API, commands
and tasks call these.

Locks are taken in one order: programme, then voucher, then (for State aid) the organisations of a
single undertaking, and the audit chain last. Only issuance locks the programme: it is the one operation
that adds to the committed budget; releases (expiry, cancellation) can only lower it.
"""

from .aid import record_de_minimis_aid
from .applications import (
    apply_for_voucher,
    draw_lottery,
    eligibility_problems,
    replay_lottery,
    withdraw_application,
)
from .claims import (
    check_claim,
    create_payment_batch,
    decide_claim_line,
    mark_batch_paid,
    return_claim,
    submit_claim,
)
from .feedback import feedback_due, submit_feedback
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
    "apply_for_voucher",
    "cancel_voucher",
    "change_programme_status",
    "check_claim",
    "create_payment_batch",
    "decide_claim_line",
    "decide_enrolment",
    "draw_lottery",
    "eligibility_problems",
    "expire_vouchers",
    "feedback_due",
    "issue_voucher",
    "mark_batch_paid",
    "record_de_minimis_aid",
    "redeem_voucher",
    "refusal_reason",
    "replay_lottery",
    "return_claim",
    "reverse_redemption",
    "same_request",
    "save_programme",
    "save_solution",
    "submit_claim",
    "submit_feedback",
    "withdraw_application",
]
