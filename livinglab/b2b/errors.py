from livinglab.errors import DomainError


class B2BError(DomainError):
    """A refused B2B action; the message says why, in the user's language."""
