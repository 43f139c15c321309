"""The holder's short questionnaire after using a voucher.

A fixed questionnaire (satisfaction, recommendation, need met, comment) until the campaigns'
questionnaire engine exists."""

from django.db import IntegrityError, transaction
from django.utils.translation import gettext as _

from livinglab import audit
from livinglab.models import User

from ..errors import VoucherError
from ..models import Feedback, LedgerEntry, Voucher
from .common import _lock_voucher, _user

COMMENT_MAX = 2000


def feedback_redemption(voucher: Voucher) -> LedgerEntry | None:
    """The latest redemption of ``voucher`` that was not reversed: what the feedback is about."""
    return (
        LedgerEntry.objects.filter(voucher=voucher, kind=LedgerEntry.Kind.REDEEM, reversal__isnull=True)
        .select_related("firm", "solution")
        .order_by("-created_at", "-pk")
        .first()
    )


def feedback_due(voucher: Voucher) -> bool:
    """True when the holder can give feedback: the voucher was used and no feedback was given yet."""
    return not Feedback.objects.filter(voucher=voucher).exists() and feedback_redemption(voucher) is not None


def _score(value, low: int, high: int, what: str) -> int:
    try:
        score = int(value)
    except (TypeError, ValueError):
        score = None
    if score is None or str(score) != str(value).strip() or not low <= score <= high:
        raise VoucherError(
            _("Please choose %(what)s from %(low)s to %(high)s.") % {"what": what, "low": low, "high": high}
        )
    return score


@transaction.atomic
def submit_feedback(
    voucher: Voucher, *, satisfaction, recommend, solved_need: bool, comment: str = "", acting_user: User
) -> Feedback:
    """The holder (or their guardian) answers the questionnaire about the solution a voucher paid for,
    once, after a redemption that was not reversed."""
    if acting_user is None or not acting_user.has_perm("vouchers.give_feedback", voucher):
        raise VoucherError(_("Only the holder of the voucher or their guardian can give this feedback."))
    satisfaction = _score(satisfaction, 1, 5, _("how satisfied you are"))
    recommend = _score(recommend, 0, 10, _("how likely you are to recommend it"))
    if not isinstance(solved_need, bool):
        raise VoucherError(_("Please tell us whether the solution met your need."))
    comment = (comment or "").strip()
    if len(comment) > COMMENT_MAX:
        raise VoucherError(_("The comment can have at most %(max)s characters.") % {"max": COMMENT_MAX})

    voucher = _lock_voucher(voucher.pk)
    if Feedback.objects.filter(voucher=voucher).exists():
        raise VoucherError(_("Feedback on this voucher has already been given: thank you."))
    redemption = feedback_redemption(voucher)
    if redemption is None:
        raise VoucherError(_("You can give feedback once the voucher has been used at a firm."))
    try:
        with transaction.atomic():
            feedback = Feedback.objects.create(
                voucher=voucher,
                firm=redemption.firm,
                solution=redemption.solution,
                satisfaction=satisfaction,
                recommend=recommend,
                solved_need=solved_need,
                comment=comment,
            )
    except IntegrityError:
        raise VoucherError(_("Feedback on this voucher has already been given: thank you.")) from None
    audit.record(
        "vouchers.feedback.submit",
        actor=_user(acting_user),
        obj=feedback,
        organisation=redemption.firm,
        data={
            "voucher": voucher.pk,
            "redemption": redemption.pk,
            "satisfaction": satisfaction,
            "recommend": recommend,
            "solved_need": solved_need,
        },
    )
    return feedback
