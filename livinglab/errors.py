"""Domain errors: services raise them with a translated, user-facing reason; views show it as a message."""


class DomainError(Exception):
    """A request the domain refuses, with a reason a user can act on."""

    def __init__(self, message):
        super().__init__(message)
        self.message = message


class GroundRulesRequired(DomainError):
    """The user must accept these ground rules versions first."""

    def __init__(self, message, pending):
        super().__init__(message)
        self.pending = list(pending)


class ConsentError(DomainError):
    pass


class MembershipError(DomainError):
    pass
