from .base import B2BActivity, private_storage
from .events import Event, EventRegistration, LeadUserSignup
from .intelligence import DigestDelivery, Report, Topic, TopicSubscription
from .introductions import Introduction, IntroductionAcceptance, IntroductionOutcome
from .marketplace import ListingStatus, Match, Need, Offer, Tag, Visibility
from .projects import Project, ProjectDocument, ProjectMilestone, ProjectPartner
from .providers import ContactRequest, ProviderService, Service, ServiceProvider

__all__ = [
    "B2BActivity",
    "ContactRequest",
    "DigestDelivery",
    "Event",
    "EventRegistration",
    "Introduction",
    "IntroductionAcceptance",
    "IntroductionOutcome",
    "LeadUserSignup",
    "ListingStatus",
    "Match",
    "Need",
    "Offer",
    "Project",
    "ProjectDocument",
    "ProjectMilestone",
    "ProjectPartner",
    "ProviderService",
    "Report",
    "Service",
    "ServiceProvider",
    "Tag",
    "Topic",
    "TopicSubscription",
    "Visibility",
    "private_storage",
]
