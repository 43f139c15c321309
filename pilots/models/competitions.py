"""Idea competitions: participants submit ideas, a jury of firms and staff scores them against criteria,
and winners are announced and rewarded."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from livinglab.models import Person

from .campaigns import Campaign


class Competition(models.Model):
    """The competition part of a campaign of kind ``competition``."""

    class Status(models.TextChoices):
        OPEN = "open", _("Open for ideas")
        JUDGING = "judging", _("Jury scoring")
        ANNOUNCED = "announced", _("Winners announced")

    TRANSITIONS = {Status.OPEN: {Status.JUDGING}, Status.JUDGING: {Status.ANNOUNCED}, Status.ANNOUNCED: set()}

    campaign = models.OneToOneField(Campaign, on_delete=models.CASCADE, related_name="competition")
    challenge = models.TextField(_("the challenge"), help_text=_("What ideas are wanted, in plain language."))
    submissions_close_at = models.DateTimeField(_("ideas accepted until"))
    winners_count = models.PositiveSmallIntegerField(
        _("number of winners"), default=3, validators=[MinValueValidator(1)]
    )
    # A voucher programme whose vouchers reward winners; without one, the prize is recorded as text.
    prize_programme = models.ForeignKey(
        "vouchers.Programme",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="competitions",
        verbose_name=_("reward winners with a voucher of"),
    )
    prize_description = models.CharField(_("prize"), max_length=300, blank=True)
    jury = models.ManyToManyField(
        settings.AUTH_USER_MODEL, blank=True, related_name="juries", verbose_name=_("jury")
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.OPEN)
    announced_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("idea competition")

    def __str__(self):
        return str(self.campaign)


class Criterion(models.Model):
    """One thing the jury scores, 0 to ``max_score``, weighted."""

    competition = models.ForeignKey(Competition, on_delete=models.CASCADE, related_name="criteria")
    name = models.CharField(_("criterion"), max_length=120)
    description = models.CharField(_("what the jury looks for"), max_length=300, blank=True)
    weight = models.DecimalField(
        _("weight"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("1"),
        validators=[MinValueValidator(Decimal("0.01"))],
    )
    max_score = models.PositiveSmallIntegerField(
        _("highest score"), default=10, validators=[MinValueValidator(1), MaxValueValidator(100)]
    )
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["competition", "position", "pk"]

    def __str__(self):
        return self.name


class Idea(models.Model):
    """A participant's idea, shown to the jury under the participant's code only."""

    audit_pseudonymous = True
    wagtail_reference_index_ignore = True

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted")
        WITHDRAWN = "withdrawn", _("Withdrawn")
        WINNER = "winner", _("Winner")

    competition = models.ForeignKey(Competition, on_delete=models.CASCADE, related_name="ideas")
    person = models.ForeignKey(Person, null=True, on_delete=models.SET_NULL, related_name="ideas")
    code = models.CharField(max_length=12)
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("your idea"))
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SUBMITTED)
    submitted_at = models.DateTimeField(auto_now_add=True)
    rank = models.PositiveSmallIntegerField(null=True, blank=True)
    prize_voucher = models.ForeignKey(
        "vouchers.Voucher", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    prize_note = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["competition", "rank", "submitted_at"]

    def __str__(self):
        return self.title


class IdeaScore(models.Model):
    """One juror's score of one idea on one criterion, with a justification."""

    idea = models.ForeignKey(Idea, on_delete=models.CASCADE, related_name="scores")
    criterion = models.ForeignKey(Criterion, on_delete=models.CASCADE, related_name="scores")
    juror = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    score = models.PositiveSmallIntegerField()
    comment = models.CharField(_("justification"), max_length=500, blank=True)
    scored_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["idea", "criterion", "juror"], name="one_score_per_juror")
        ]

    def __str__(self):
        return f"{self.idea} / {self.criterion}: {self.score}"
