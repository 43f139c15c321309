"""Voucher programmes, the firms' solutions and their enrolment."""

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from livinglab.models import Channel, ChannelActivity, Organisation

from .base import (
    DEFAULT_DE_MINIMIS_CEILING,
    HouseholdType,
    end_of_day,
    money_field,
    positive,
)
from .ledger import LedgerEntry

# --------------------------------------------------------------------------------------------------
# Programmes


class Programme(ChannelActivity):
    """A funder's voucher programme, run by a cluster organisation on the funder's behalf."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        OPEN = "open", _("Open for applications")
        CLOSED = "closed", _("Closed for applications")
        FINISHED = "finished", _("Finished")

    class ValueRule(models.TextChoices):
        FIXED = "fixed", _("Fixed face value")
        CO_FUNDING = "co_funding", _("Share of the solution's price, up to a cap")

    class Selection(models.TextChoices):
        FIRST_COME = "first_come", _("First come, first served")
        LOTTERY = "lottery", _("Lottery among eligible applicants after the window closes")

    # draft → open → closed → finished; nothing goes back.
    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.DRAFT: frozenset({Status.OPEN}),
        Status.OPEN: frozenset({Status.CLOSED}),
        Status.CLOSED: frozenset({Status.FINISHED}),
        Status.FINISHED: frozenset(),
    }

    # End-users are households (B2C) or small businesses trying a solution (B2B).
    CHANNELS = (Channel.B2C, Channel.B2B)

    funder = models.ForeignKey(
        Organisation,
        verbose_name=_("funder"),
        on_delete=models.PROTECT,
        related_name="funded_programmes",
        limit_choices_to={"kind": Organisation.Kind.FUNDING_AGENCY},
    )
    operator = models.ForeignKey(
        Organisation,
        verbose_name=_("operator"),
        on_delete=models.PROTECT,
        related_name="operated_programmes",
        limit_choices_to={"kind": Organisation.Kind.CLUSTER},
    )
    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(_("slug"), max_length=80, unique=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    total_budget = money_field(_("total budget (EUR)"), validators=[positive])
    value_rule = models.CharField(_("value rule"), max_length=12, choices=ValueRule.choices)
    face_value = money_field(_("face value (EUR)"), null=True, blank=True, validators=[positive])
    co_funding_rate = models.DecimalField(
        _("co-funding rate"),
        max_digits=5,
        decimal_places=4,
        null=True,
        blank=True,
        validators=[MinValueValidator(Decimal("0.0001")), MaxValueValidator(Decimal("1"))],
        help_text=_("The share of the price the voucher pays, e.g. 0.5 for half."),
    )
    co_funding_cap = money_field(
        _("co-funding cap per voucher (EUR)"), null=True, blank=True, validators=[positive]
    )
    opens_at = models.DateTimeField(_("applications open"))
    closes_at = models.DateTimeField(_("applications close"))
    valid_from = models.DateField(_("vouchers valid from"))
    valid_until = models.DateField(_("vouchers valid until (inclusive)"))
    partial_redemption = models.BooleanField(
        _("partial redemption allowed"),
        default=False,
        help_text=_("If not, a voucher is redeemed once; any unused value is released when it expires."),
    )
    de_minimis_ceiling = money_field(
        _("de minimis ceiling (EUR)"), default=DEFAULT_DE_MINIMIS_CEILING, validators=[positive]
    )
    # Who may apply. Empty lists and blank ages mean "no condition".
    eligible_regions = models.JSONField(
        _("eligible regions"), default=list, blank=True, help_text=_("Leave empty to accept every region.")
    )
    eligible_household_types = models.JSONField(
        _("eligible household types"),
        default=list,
        blank=True,
        help_text=_("Leave empty to accept every household type."),
    )
    min_age = models.PositiveSmallIntegerField(_("minimum age"), null=True, blank=True)
    max_age = models.PositiveSmallIntegerField(_("maximum age"), null=True, blank=True)
    first_time_only = models.BooleanField(
        _("first-time applicants only"),
        default=False,
        help_text=_("Refuse people who already held a voucher in another programme of the same funder."),
    )
    selection = models.CharField(
        _("selection method"), max_length=12, choices=Selection.choices, default=Selection.FIRST_COME
    )
    # A lottery is drawn once, from this seed, over the eligible applications in id order: anyone can
    # repeat the draw and get the same ranking.
    lottery_seed = models.CharField(_("lottery seed"), max_length=64, blank=True, editable=False)
    lottery_drawn_at = models.DateTimeField(_("lottery drawn"), null=True, blank=True, editable=False)
    feedback_required = models.BooleanField(
        _("holders give feedback"),
        default=True,
        help_text=_("After a redemption the holder is asked a short questionnaire about the solution."),
    )
    reminder_days = models.PositiveSmallIntegerField(
        _("remind holders this many days before expiry"),
        default=14,
        validators=[MinValueValidator(1), MaxValueValidator(365)],
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("voucher programme")
        ordering = ["-opens_at", "title"]
        constraints = [
            models.CheckConstraint(condition=Q(total_budget__gt=0), name="programme_budget_positive"),
            models.CheckConstraint(condition=Q(channel__in=["b2c", "b2b"]), name="programme_channel"),
            models.CheckConstraint(
                # NULL would make the comparison unknown, which a CHECK lets through: say "not null".
                condition=Q(value_rule="fixed", face_value__isnull=False, face_value__gt=0)
                | Q(
                    value_rule="co_funding",
                    co_funding_rate__isnull=False,
                    co_funding_cap__isnull=False,
                    co_funding_rate__gt=0,
                    co_funding_rate__lte=1,
                    co_funding_cap__gt=0,
                ),
                name="programme_value_rule_complete",
            ),
            models.CheckConstraint(condition=Q(closes_at__gt=models.F("opens_at")), name="programme_window"),
            models.CheckConstraint(
                condition=Q(valid_until__gte=models.F("valid_from")), name="programme_validity"
            ),
            models.CheckConstraint(
                condition=Q(de_minimis_ceiling__gt=0), name="programme_de_minimis_ceiling_positive"
            ),
            models.CheckConstraint(
                condition=Q(min_age__isnull=True)
                | Q(max_age__isnull=True)
                | Q(max_age__gte=models.F("min_age")),
                name="programme_age_range",
            ),
        ]

    def __str__(self):
        return self.title

    def clean(self):
        errors = {}
        if self.funder_id and self.funder.kind != Organisation.Kind.FUNDING_AGENCY:
            errors["funder"] = _("The funder must be a funding agency.")
        if self.operator_id and self.operator.kind != Organisation.Kind.CLUSTER:
            errors["operator"] = _("The operator must be a cluster organisation.")
        if self.channel not in self.CHANNELS:
            errors["channel"] = _("Vouchers go to households (B2C) or to small businesses (B2B).")
        if self.value_rule == self.ValueRule.FIXED and not self.face_value:
            errors["face_value"] = _("A fixed-value programme needs a face value.")
        if self.value_rule == self.ValueRule.CO_FUNDING:
            if not self.co_funding_rate:
                errors["co_funding_rate"] = _("A co-funding programme needs a rate.")
            if not self.co_funding_cap:
                errors["co_funding_cap"] = _("A co-funding programme needs a cap per voucher.")
        if self.opens_at and self.closes_at and self.closes_at <= self.opens_at:
            errors["closes_at"] = _("Applications must close after they open.")
        if self.valid_from and self.valid_until and self.valid_until < self.valid_from:
            errors["valid_until"] = _("Vouchers must stay valid until on or after the first valid day.")
        if self.min_age is not None and self.max_age is not None and self.max_age < self.min_age:
            errors["max_age"] = _("The maximum age cannot be below the minimum age.")
        unknown = set(self.eligible_household_types or []) - set(HouseholdType.values)
        if unknown:
            errors["eligible_household_types"] = _("Unknown household types: %(types)s.") % {
                "types": ", ".join(sorted(unknown))
            }
        if errors:
            raise ValidationError(errors)

    def can_transition(self, to: str) -> bool:
        return to in self.TRANSITIONS.get(self.status, frozenset())

    @property
    def voucher_value(self) -> Decimal:
        """What one voucher commits from the budget: its face value, or the co-funding cap."""
        return self.face_value if self.value_rule == self.ValueRule.FIXED else self.co_funding_cap

    def accepts_applications(self, at: datetime) -> bool:
        return self.status == self.Status.OPEN and self.opens_at <= at < self.closes_at

    def voucher_expiry(self) -> datetime:
        return end_of_day(self.valid_until)

    def committed_budget(self) -> Decimal:
        """Value issued and not released: the outstanding balances plus the value redeemed."""
        return LedgerEntry.objects.filter(voucher__programme=self).committed()

    def remaining_budget(self) -> Decimal:
        return self.total_budget - self.committed_budget()

    def approved_firm(self, firm: Organisation) -> bool:
        return Enrolment.objects.filter(
            programme=self, solution__firm=firm, status=Enrolment.Status.APPROVED
        ).exists()


# --------------------------------------------------------------------------------------------------
# Firms and solutions


class Solution(models.Model):
    """An innovative product or service a firm offers to voucher holders."""

    class Category(models.TextChoices):
        ENERGY_EFFICIENCY = "energy_efficiency", _("Energy efficiency")
        CONSTRUCTION = "construction", _("Construction and renovation")
        DIGITAL_SERVICES = "digital_services", _("Digital services")
        HEALTH = "health", _("Health and care")
        MOBILITY = "mobility", _("Mobility")
        OTHER = "other", _("Other")

    firm = models.ForeignKey(
        Organisation,
        verbose_name=_("firm"),
        on_delete=models.PROTECT,
        related_name="solutions",
        limit_choices_to={"kind__in": [Organisation.Kind.SME, Organisation.Kind.LARGE_ENTERPRISE]},
    )
    programmes = models.ManyToManyField(Programme, through="Enrolment", related_name="solutions")
    name = models.CharField(_("name"), max_length=200)
    description = models.TextField(_("description"))
    price = money_field(_("price (EUR)"), validators=[positive])
    category = models.CharField(_("category"), max_length=20, choices=Category.choices)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("solution")
        ordering = ["name"]
        constraints = [models.CheckConstraint(condition=Q(price__gt=0), name="solution_price_positive")]

    def __str__(self):
        return self.name


class Enrolment(models.Model):
    """A firm's application to offer a solution in a programme, and the operator's decision."""

    class Status(models.TextChoices):
        APPLIED = "applied", _("Applied")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    solution = models.ForeignKey(Solution, on_delete=models.CASCADE, related_name="enrolments")
    programme = models.ForeignKey(Programme, on_delete=models.CASCADE, related_name="enrolments")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.APPLIED)
    applied_at = models.DateTimeField(default=timezone.now)
    decided_at = models.DateTimeField(null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("enrolment")
        ordering = ["-applied_at"]
        constraints = [
            models.UniqueConstraint(fields=["solution", "programme"], name="unique_enrolment"),
        ]

    def __str__(self):
        return f"{self.solution} in {self.programme} ({self.get_status_display()})"
