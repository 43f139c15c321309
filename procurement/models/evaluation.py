"""Conflict-free evaluation: a panel per phase, a conflict-of-interest declaration per evaluator and bid
before the bid is shown, individual scores with justifications, then a consensus score per criterion."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from .bids import Bid
from .procurements import AwardCriterion, Phase


class Evaluator(models.Model):
    """A member of a phase's evaluation panel."""

    # Audit entries name it by type and id only (see livinglab.audit.describe).
    audit_pseudonymous = True

    class Role(models.TextChoices):
        EVALUATOR = "evaluator", _("Evaluator")
        CHAIR = "chair", _("Chair (records the consensus)")

    phase = models.ForeignKey(Phase, on_delete=models.CASCADE, related_name="evaluators")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="pcp_evaluations"
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.EVALUATOR)
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    assigned_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("evaluator")
        ordering = ["phase", "user__email"]
        constraints = [models.UniqueConstraint(fields=["phase", "user"], name="unique_phase_evaluator")]

    def __str__(self):
        return str(self.user)


class ConflictDeclaration(models.Model):
    """What an evaluator declared about one bid before seeing it. A declared conflict — or one the platform
    detects from memberships and linked enterprises — recuses the evaluator from that bid."""

    # Audit entries name it by type and id only (see livinglab.audit.describe).
    audit_pseudonymous = True

    class Source(models.TextChoices):
        DECLARED = "declared", _("Declared by the evaluator")
        DETECTED = "detected", _("Detected from the platform's records")

    evaluator = models.ForeignKey(Evaluator, on_delete=models.CASCADE, related_name="declarations")
    bid = models.ForeignKey(Bid, on_delete=models.CASCADE, related_name="declarations")
    has_conflict = models.BooleanField(_("I have a conflict of interest with this bid"))
    relationship = models.TextField(_("relationship to the bidding organisations or people"), blank=True)
    source = models.CharField(max_length=10, choices=Source.choices, default=Source.DECLARED)
    declared_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("conflict-of-interest declaration")
        ordering = ["bid", "evaluator"]
        constraints = [models.UniqueConstraint(fields=["evaluator", "bid"], name="one_declaration_per_bid")]

    def __str__(self):
        return f"{self.evaluator} / bid #{self.bid_id}: {'conflict' if self.has_conflict else 'no conflict'}"

    @property
    def recused(self) -> bool:
        return self.has_conflict


class Score(models.Model):
    """One evaluator's score of one bid on one criterion."""

    evaluator = models.ForeignKey(Evaluator, on_delete=models.CASCADE, related_name="scores")
    bid = models.ForeignKey(Bid, on_delete=models.CASCADE, related_name="scores")
    criterion = models.ForeignKey(AwardCriterion, on_delete=models.CASCADE, related_name="scores")
    score = models.DecimalField(
        _("score"), max_digits=5, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    justification = models.TextField(_("justification"))
    scored_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("score")
        ordering = ["bid", "criterion", "evaluator"]
        constraints = [
            models.UniqueConstraint(fields=["evaluator", "bid", "criterion"], name="one_score_per_criterion")
        ]

    def __str__(self):
        return f"{self.score}"


class ConsensusScore(models.Model):
    """The panel's agreed score of a bid on a criterion, with the reasons given to the bidder."""

    bid = models.ForeignKey(Bid, on_delete=models.CASCADE, related_name="consensus_scores")
    criterion = models.ForeignKey(AwardCriterion, on_delete=models.CASCADE, related_name="consensus_scores")
    score = models.DecimalField(
        _("score"), max_digits=5, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    justification = models.TextField(_("justification"))
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("consensus score")
        ordering = ["bid", "criterion"]
        constraints = [
            models.UniqueConstraint(fields=["bid", "criterion"], name="one_consensus_per_criterion")
        ]

    def __str__(self):
        return f"{self.score}"
