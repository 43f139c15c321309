"""Pre-commercial procurement, one module per part; everything is importable from ``procurement.models``."""

from .awards import Award, AwardDecision, Contract, Milestone
from .bids import Bid, BidContent, BidDocument, file_sha256
from .conduct import Clarification, DirectMessage, GiftDeclaration, Interaction
from .consortia import Consortium, ConsortiumMember, PartnerPost
from .consultation import ConsultationEvent, ConsultationInput, Registration
from .evaluation import ConflictDeclaration, ConsensusScore, Evaluator, Score
from .procurements import DEFAULT_PHASES, TIME_ZONES, AwardCriterion, CallDocument, Phase, Procurement

__all__ = [
    "DEFAULT_PHASES",
    "TIME_ZONES",
    "Award",
    "AwardCriterion",
    "AwardDecision",
    "Bid",
    "BidContent",
    "BidDocument",
    "CallDocument",
    "Clarification",
    "ConflictDeclaration",
    "ConsensusScore",
    "Consortium",
    "ConsortiumMember",
    "ConsultationEvent",
    "ConsultationInput",
    "Contract",
    "DirectMessage",
    "Evaluator",
    "GiftDeclaration",
    "Interaction",
    "Milestone",
    "PartnerPost",
    "Phase",
    "Procurement",
    "Registration",
    "Score",
    "file_sha256",
]
