"""Innovation vouchers for end-users: a funder's programme run by a cluster organisation, the firms'
solutions enrolled in it, vouchers issued to people, the append-only money ledger, and de minimis aid.

State changes live in ``vouchers.services``. Money is ``Decimal`` with two places; a voucher's balance and
a programme's committed budget are sums of ledger rows, never stored counters.
"""

from datetime import date, datetime, time, timedelta
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q, Sum
from django.db.models.functions import Coalesce, Round
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from livinglab.models import Channel, ChannelActivity, EnterpriseGroup, Organisation, Person

from .codes import format_code

CENT = Decimal("0.01")
ZERO = Decimal("0.00")
DEFAULT_DE_MINIMIS_CEILING = Decimal("300000.00")  # Regulation (EU) 2023/2831, Art. 3(2)


def money_sum(expression: str = "amount"):
    """SUM of a money column, zero when there are no rows. SQLite adds decimals as floating point: the
    sum is rounded to the cent in SQL (so that filters on it are exact) and again by ``cents``."""
    output = models.DecimalField(max_digits=14, decimal_places=2)
    return Coalesce(Round(Sum(expression), 2, output_field=output), ZERO, output_field=output)


def cents(value) -> Decimal:
    return Decimal(value).quantize(CENT)


def money_field(verbose_name, **kwargs):
    return models.DecimalField(verbose_name, max_digits=12, decimal_places=2, **kwargs)


positive = MinValueValidator(CENT)


def end_of_day(day: date) -> datetime:
    """The first moment after ``day`` in the platform's time zone."""
    return datetime.combine(day + timedelta(days=1), time.min, tzinfo=timezone.get_default_timezone())


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


# --------------------------------------------------------------------------------------------------
# Vouchers and the ledger


class VoucherQuerySet(models.QuerySet):
    def with_balance(self):
        return self.annotate(balance_sum=money_sum("entries__amount"))


class Voucher(models.Model):
    """A voucher held by one person in one programme. Its balance is the sum of its ledger entries."""

    # High-volume records nobody needs Wagtail's "usage" report for: keep them out of its reference index.
    wagtail_reference_index_ignore = True

    class Status(models.TextChoices):
        ISSUED = "issued", _("Issued")
        REDEEMED = "redeemed", _("Redeemed")
        EXPIRED = "expired", _("Expired")
        CANCELLED = "cancelled", _("Cancelled")

    # A reversal brings a redeemed voucher back; expiry and cancellation are final.
    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.ISSUED: frozenset({Status.REDEEMED, Status.EXPIRED, Status.CANCELLED}),
        Status.REDEEMED: frozenset({Status.ISSUED, Status.EXPIRED}),
        Status.EXPIRED: frozenset(),
        Status.CANCELLED: frozenset(),
    }

    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="vouchers")
    holder = models.ForeignKey(
        Person, verbose_name=_("holder"), on_delete=models.PROTECT, related_name="vouchers"
    )
    code = models.CharField(_("code"), max_length=17, unique=True)
    face_value = money_field(_("face value (EUR)"), validators=[positive])
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ISSUED)
    issued_at = models.DateTimeField(_("issued"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"), db_index=True)

    objects = VoucherQuerySet.as_manager()

    class Meta:
        verbose_name = _("voucher")
        ordering = ["-issued_at"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "holder"], name="one_voucher_per_person"),
            models.CheckConstraint(condition=Q(face_value__gt=0), name="voucher_face_value_positive"),
        ]

    def __str__(self):
        # Never the whole code: it is a bearer secret, and names end up in the audit trail.
        return _("voucher ending %(tail)s") % {"tail": self.formatted_code[-6:]}

    @property
    def formatted_code(self) -> str:
        return format_code(self.code)

    def can_transition(self, to: str) -> bool:
        return to in self.TRANSITIONS.get(self.status, frozenset())

    def balance(self) -> Decimal:
        return cents(self.entries.aggregate(total=money_sum())["total"])

    def has_expired(self, at: datetime) -> bool:
        return at >= self.expires_at


class LedgerEntryQuerySet(models.QuerySet):
    def total(self) -> Decimal:
        return cents(self.aggregate(total=money_sum())["total"])

    def committed(self) -> Decimal:
        """Issued value minus what expiry and cancellation released (redemptions stay committed)."""
        return self.filter(kind__in=LedgerEntry.COMMITTING_KINDS).total()


class LedgerEntry(models.Model):
    """One movement of a voucher's value. Append-only: corrections are new entries (a reversal)."""

    # High-volume records nobody needs Wagtail's "usage" report for: keep them out of its reference index.
    wagtail_reference_index_ignore = True

    class Kind(models.TextChoices):
        ISSUE = "issue", _("Issue")
        REDEEM = "redeem", _("Redemption")
        REVERSE = "reverse", _("Reversal of a redemption")
        EXPIRE = "expire", _("Expiry")
        CANCEL = "cancel", _("Cancellation")

    COMMITTING_KINDS = (Kind.ISSUE, Kind.EXPIRE, Kind.CANCEL)

    voucher = models.ForeignKey(Voucher, on_delete=models.PROTECT, related_name="entries")
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    amount = money_field(_("amount (EUR)"))
    firm = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="voucher_entries"
    )
    solution = models.ForeignKey(
        Solution, null=True, blank=True, on_delete=models.PROTECT, related_name="voucher_entries"
    )
    purchase_price = money_field(_("purchase price (EUR)"), null=True, blank=True)
    reverses = models.OneToOneField(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="reversal"
    )
    idempotency_key = models.CharField(max_length=100, null=True, blank=True)
    created_at = models.DateTimeField(default=timezone.now, db_index=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    objects = LedgerEntryQuerySet.as_manager()

    class Meta:
        verbose_name = _("ledger entry")
        verbose_name_plural = _("ledger")
        ordering = ["created_at", "pk"]
        constraints = [
            # Increases are issue and reverse; every other kind takes value away.
            models.CheckConstraint(
                condition=Q(kind__in=["issue", "reverse"], amount__gt=0)
                | Q(kind__in=["redeem", "expire", "cancel"], amount__lt=0),
                name="ledger_amount_sign_matches_kind",
            ),
            models.CheckConstraint(
                condition=~Q(kind="redeem") | Q(firm__isnull=False), name="ledger_redemption_names_a_firm"
            ),
            models.CheckConstraint(
                condition=~Q(kind="reverse") | Q(reverses__isnull=False), name="ledger_reversal_names_entry"
            ),
            # A firm's point of sale chooses its keys; they only need to be unique per firm.
            models.UniqueConstraint(
                fields=["firm", "idempotency_key"],
                condition=Q(idempotency_key__isnull=False),
                name="unique_idempotency_key_per_firm",
            ),
            models.UniqueConstraint(
                fields=["voucher"], condition=Q(kind="issue"), name="one_issue_entry_per_voucher"
            ),
        ]

    def __str__(self):
        return f"{self.get_kind_display()} {self.amount} EUR ({self.voucher})"

    def save(self, *args, **kwargs):
        if not self._state.adding:
            raise ValidationError("Ledger entries cannot be changed; record a new entry instead.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("Ledger entries cannot be deleted; record a new entry instead.")


# --------------------------------------------------------------------------------------------------
# State aid


class DeMinimisAid(models.Model):
    """De minimis aid to one organisation: declared by the firm, or granted through a voucher programme.
    It counts towards the ceiling of the organisation's single undertaking (linked enterprises together)."""

    class Source(models.TextChoices):
        DECLARED = "declared", _("Declared by the firm")
        PROGRAMME = "programme", _("Voucher reimbursement in this programme")

    organisation = models.ForeignKey(
        Organisation, verbose_name=_("organisation"), on_delete=models.PROTECT, related_name="de_minimis_aid"
    )
    # The linked-enterprise group at the time of recording, kept for the record; the headroom is
    # computed over the organisation's current single undertaking.
    undertaking = models.ForeignKey(
        EnterpriseGroup,
        verbose_name=_("single undertaking"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="de_minimis_aid",
    )
    amount = money_field(_("amount (EUR)"), validators=[positive])
    granted_on = models.DateField(_("granted on"), help_text=_("The day the legal right to the aid arose."))
    granting_body = models.CharField(_("granting body"), max_length=200)
    source = models.CharField(_("source"), max_length=10, choices=Source.choices)
    programme = models.ForeignKey(
        Programme, null=True, blank=True, on_delete=models.PROTECT, related_name="de_minimis_aid"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("de minimis aid")
        verbose_name_plural = _("de minimis aid")
        ordering = ["-granted_on", "-pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="de_minimis_amount_positive"),
            models.CheckConstraint(
                condition=~Q(source="programme") | Q(programme__isnull=False),
                name="de_minimis_programme_aid_names_programme",
            ),
        ]

    def __str__(self):
        return f"{self.organisation}: {self.amount} EUR on {self.granted_on}"


def three_years_before(day: date) -> date:
    """The same calendar day three years earlier; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year - 3)
    except ValueError:
        return day.replace(year=day.year - 3, day=28)


def de_minimis_window(on_date: date) -> tuple[date, date]:
    """The rolling three years ending on ``on_date``, as inclusive first and last days.

    Aid granted on day d counts when ``three_years_before(on_date) < d <= on_date``."""
    return three_years_before(on_date) + timedelta(days=1), on_date


def de_minimis_total(organisation: Organisation, on_date: date) -> Decimal:
    """De minimis aid to ``organisation``'s single undertaking in the three years ending on ``on_date``."""
    first, last = de_minimis_window(on_date)
    aid = DeMinimisAid.objects.filter(
        organisation__in=organisation.single_undertaking(), granted_on__gte=first, granted_on__lte=last
    )
    return cents(aid.aggregate(total=money_sum())["total"])


def de_minimis_headroom(
    organisation: Organisation, on_date: date, ceiling: Decimal = DEFAULT_DE_MINIMIS_CEILING
) -> Decimal:
    """How much more de minimis aid the single undertaking may receive on ``on_date`` (never below 0)."""
    return max(ZERO, ceiling - de_minimis_total(organisation, on_date))


# --------------------------------------------------------------------------------------------------
# Partner API tokens


class PartnerToken(models.Model):
    """A firm's key to the partner API for its point of sale. Only the SHA-256 hash of the secret is
    stored; the first characters are kept so that people can tell their tokens apart. A request made
    with a token acts on behalf of the person who created it, limited to the token's scopes."""

    class Scope(models.TextChoices):
        CHECK = "check", _("Check a voucher code")
        REDEEM = "redeem", _("Redeem a voucher")
        REVERSE = "reverse", _("Reverse a redemption")

    PREFIX_LENGTH = 8

    firm = models.ForeignKey(
        Organisation, verbose_name=_("firm"), on_delete=models.CASCADE, related_name="partner_tokens"
    )
    name = models.CharField(_("name"), max_length=100, help_text=_("Which till or system uses it."))
    prefix = models.CharField(_("token starts with"), max_length=PREFIX_LENGTH)
    secret_hash = models.CharField(max_length=64, unique=True, editable=False)
    scopes = models.JSONField(_("scopes"), default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        verbose_name=_("created by"),
        null=True,
        on_delete=models.SET_NULL,
        related_name="+",
    )
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    last_used_at = models.DateTimeField(_("last used"), null=True, blank=True)
    revoked_at = models.DateTimeField(_("revoked"), null=True, blank=True)

    class Meta:
        verbose_name = _("partner API token")
        ordering = ["firm", "-created_at"]

    def __str__(self):
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def allows(self, scope: str) -> bool:
        return scope in self.scopes
