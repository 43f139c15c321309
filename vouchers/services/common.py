"""Helpers shared by the voucher services: amounts, formatting, locks and the firm check."""

from decimal import Decimal, InvalidOperation

from django.utils import formats
from django.utils.translation import gettext as _

from livinglab.models import Organisation, User

from ..errors import VoucherError
from ..models import CENT, Voucher, amount_text


def _money(value, *, what: str) -> Decimal:
    """A positive amount in whole cents, or a VoucherError naming ``what`` was wrong."""
    try:
        amount = Decimal(value)
    except (InvalidOperation, TypeError, ValueError):
        raise VoucherError(_("The %(what)s is not an amount of money.") % {"what": what}) from None
    if not amount.is_finite() or amount != amount.quantize(CENT):
        raise VoucherError(_("The %(what)s must be in whole cents.") % {"what": what})
    if amount <= 0:
        raise VoucherError(_("The %(what)s must be more than zero.") % {"what": what})
    return amount.quantize(CENT)


def _eur(amount: Decimal) -> str:
    return amount_text(amount)


def _percent(rate: Decimal) -> str:
    percent = (rate * 100).quantize(CENT)
    return formats.number_format(percent, decimal_pos=0 if percent == percent.to_integral() else 2)


def _user(acting_user) -> User | None:
    return acting_user if acting_user is not None and acting_user.is_authenticated else None


def _lock_voucher(pk: int) -> Voucher:
    return Voucher.objects.select_for_update(no_key=True).get(pk=pk)


def _require_firm_member(acting_user, firm: Organisation) -> None:
    if acting_user is None or not acting_user.has_perm("vouchers.redeem_for_firm", firm):
        raise VoucherError(_("You cannot act on vouchers for %(firm)s.") % {"firm": firm})
