"""Award decisions per phase, the standstill period, and the contracts (with milestones and payments)."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from .bids import Bid
from .procurements import Phase


class AwardDecision(models.Model):
    """The authority's decision for a phase; it becomes final when the standstill period ends."""

    class Status(models.TextChoices):
        STANDSTILL = "standstill", _("In the standstill period")
        FINAL = "final", _("Final")
        REVOKED = "revoked", _("Revoked (re-evaluation)")

    phase = models.ForeignKey(Phase, on_delete=models.PROTECT, related_name="award_decisions")
    reasons = models.TextField(_("reasons for the decision"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.STANDSTILL)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField()
    standstill_ends_at = models.DateTimeField(_("standstill ends"))
    finalised_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("award decision")
        ordering = ["phase", "-decided_at"]
        constraints = [
            models.UniqueConstraint(
                fields=["phase"],
                condition=~models.Q(status="revoked"),
                name="one_live_award_decision_per_phase",
            )
        ]

    def __str__(self):
        return _("Award decision for %(phase)s") % {"phase": self.phase}


class Award(models.Model):
    """The outcome for one bid: successful or not, with its rank, total score and reasons."""

    decision = models.ForeignKey(AwardDecision, on_delete=models.CASCADE, related_name="awards")
    bid = models.ForeignKey(Bid, on_delete=models.PROTECT, related_name="awards")
    successful = models.BooleanField(_("successful"))
    rank = models.PositiveSmallIntegerField(_("rank"), null=True, blank=True)
    total = models.DecimalField(_("total score (out of 100)"), max_digits=6, decimal_places=2, null=True)
    passed_thresholds = models.BooleanField(default=True)
    reasons = models.TextField(_("reasons"), blank=True)
    value = models.DecimalField(
        _("awarded value (EUR)"),
        max_digits=14,
        decimal_places=2,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0"))],
    )
    notified_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("award")
        ordering = ["decision", "rank", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["decision", "bid"], name="one_award_per_bid_and_decision")
        ]

    def __str__(self):
        return f"{self.bid} — {'successful' if self.successful else 'unsuccessful'}"


class Contract(models.Model):
    """The R&D services contract of a successful bidder for one phase."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Awaiting signature")
        ACTIVE = "active", _("Active")
        COMPLETED = "completed", _("Completed")
        TERMINATED = "terminated", _("Terminated")

    award = models.OneToOneField(Award, on_delete=models.PROTECT, related_name="contract")
    phase = models.ForeignKey(Phase, on_delete=models.PROTECT, related_name="contracts")
    title = models.CharField(_("title"), max_length=200)
    value = models.DecimalField(
        _("value (EUR)"), max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    signed_at = models.DateTimeField(null=True, blank=True)
    starts_on = models.DateField(_("starts"))
    ends_on = models.DateField(_("ends"))
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("contract")
        ordering = ["phase", "pk"]

    def __str__(self):
        return self.title


class Milestone(models.Model):
    """A deliverable of a contract and the payment due when the authority accepts it."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        DELIVERED = "delivered", _("Delivered")
        ACCEPTED = "accepted", _("Accepted")
        PAID = "paid", _("Paid")

    contract = models.ForeignKey(Contract, on_delete=models.CASCADE, related_name="milestones")
    title = models.CharField(_("deliverable"), max_length=200)
    due_on = models.DateField(_("due"))
    amount = models.DecimalField(
        _("payment (EUR)"), max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    delivered_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    paid_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("milestone")
        ordering = ["contract", "due_on"]

    def __str__(self):
        return self.title
