"""Domain errors of pre-commercial procurement."""

from livinglab.errors import DomainError


class ProcurementError(DomainError):
    """A procurement request (a transition, a bid, a score, a message) the rules refuse, with the reason."""


class SealedError(ProcurementError):
    """Bid content asked for before the bid deadline by someone outside the bidding consortium."""
