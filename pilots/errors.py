"""Domain errors of user panels and test campaigns."""

from livinglab.errors import DomainError


class PanelError(DomainError):
    """A panel request the panel's rules refuse, with the reason."""


class ScreenerError(DomainError):
    """A screener or quota set that cannot be used, with every problem found (``problems``)."""

    def __init__(self, message, problems=()):
        super().__init__(message)
        self.problems = list(problems)


class CampaignError(DomainError):
    """A campaign request (a transition, a booking, an answer) the campaign refuses, with the reason."""
