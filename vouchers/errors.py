"""Domain errors of the voucher programmes."""

from livinglab.errors import DomainError


class VoucherError(DomainError):
    """A voucher request the programme's rules refuse, with the reason."""
