"""A pre-commercial procurement: the authority's societal challenge, its phased call and the call's terms.

Key dates are stored as aware datetimes and shown in the authority's own time zone (``time_zone``); every
deadline is enforced on the server with ``now < deadline`` — at the deadline's own second it is late."""

import zoneinfo
from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from livinglab.models import Channel, ChannelActivity, Organisation

TIME_ZONES = sorted(zoneinfo.available_timezones())


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(_("“%(zone)s” is not a known time zone."), params={"zone": value})


# The default EU PCP phases (COM(2007) 799): solution design, prototypes, first products in field tests.
DEFAULT_PHASES = (
    {
        "number": 1,
        "title": _("Solution design"),
        "share": Decimal("0.10"),
        "max_contractors": 5,
        "duration_months": 4,
        "deliverables": _("Feasibility study and solution design, with a plan for phases 2 and 3."),
    },
    {
        "number": 2,
        "title": _("Prototype development"),
        "share": Decimal("0.30"),
        "max_contractors": 3,
        "duration_months": 10,
        "deliverables": _("A working prototype tested in a lab setting, with test reports."),
    },
    {
        "number": 3,
        "title": _("Original development and field testing of first products"),
        "share": Decimal("0.60"),
        "max_contractors": 2,
        "duration_months": 14,
        "deliverables": _(
            "A limited set of first products, field-tested with end-users in real-life settings."
        ),
    },
)


class Procurement(ChannelActivity):
    """One authority's challenge and the pre-commercial procurement that answers it."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        CONSULTATION = "consultation", _("Open market consultation")
        CALL = "call", _("Call published")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    TRANSITIONS = {
        Status.DRAFT: {Status.CONSULTATION, Status.CALL, Status.CANCELLED},
        Status.CONSULTATION: {Status.CALL, Status.CANCELLED},
        Status.CALL: {Status.COMPLETED, Status.CANCELLED},
        Status.COMPLETED: set(),
        Status.CANCELLED: set(),
    }
    # The structured call (phases, criteria, terms) is edited only before it is published.
    EDITABLE = {Status.DRAFT, Status.CONSULTATION}

    buyer = models.ForeignKey(
        Organisation,
        verbose_name=_("public authority (buyer)"),
        on_delete=models.PROTECT,
        related_name="procurements",
        limit_choices_to={"kind": Organisation.Kind.PUBLIC_AUTHORITY},
    )
    intermediaries = models.ManyToManyField(
        Organisation,
        verbose_name=_("intermediary cluster organisations"),
        blank=True,
        related_name="intermediated_procurements",
        limit_choices_to={"kind": Organisation.Kind.CLUSTER},
    )
    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(_("web address"), max_length=80, unique=True)
    # Challenge
    challenge = models.TextField(_("societal challenge"))
    needs = models.TextField(_("needs the solution must meet"))
    expected_outcome = models.TextField(_("expected outcome"))
    budget = models.DecimalField(
        _("budget envelope"), max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    currency = models.CharField(_("currency"), max_length=3, default="EUR")
    time_zone = models.CharField(
        _("the authority's time zone"),
        max_length=64,
        default="Europe/Brussels",
        validators=[validate_time_zone],
    )
    # Open market consultation
    consultation_opens_at = models.DateTimeField(_("consultation opens"), null=True, blank=True)
    consultation_closes_at = models.DateTimeField(_("consultation closes"), null=True, blank=True)
    consultation_summary = models.TextField(_("consultation summary report"), blank=True)
    consultation_summary_published_at = models.DateTimeField(null=True, blank=True)
    # Call
    specifications = models.TextField(
        _("call specifications"),
        blank=True,
        help_text=_("What the solutions must do; informed by the consultation."),
    )
    # Risk-benefit sharing at market price (PCP): suppliers keep IPR, the procurer keeps rights of use.
    ipr_terms = models.TextField(
        _("ownership of results (IPR)"),
        default=_("Each supplier keeps the intellectual property rights to the results it generates."),
    )
    usage_rights = models.TextField(
        _("procurer's rights of use"),
        default=_("The procurer may use the results free of charge for its own internal needs."),
    )
    licensing_rights = models.TextField(
        _("licensing and call-back rights"),
        default=_(
            "The procurer may license the results to third parties under fair and reasonable market "
            "conditions, and may call back the rights if a supplier fails to commercialise them within a "
            "reasonable time."
        ),
    )
    price_terms = models.TextField(
        _("price and IPR retention"),
        default=_("Prices reflect the market value of the rights the suppliers keep."),
    )
    commercial_volumes_note = models.TextField(
        _("commercial volumes"),
        default=_(
            "Commercial volumes of end-products are excluded: any deployment is procured separately "
            "through a public procurement procedure."
        ),
    )
    status = models.CharField(_("status"), max_length=15, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(_("call published"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("pre-commercial procurement")
        verbose_name_plural = _("pre-commercial procurements")
        ordering = ["-created_at"]

    def save(self, *args, **kwargs):
        # Every procurement runs in the business-to-public-services channel.
        self.channel = Channel.B2G
        super().save(*args, **kwargs)

    def __str__(self):
        return self.title

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)

    def local(self, moment: datetime | None) -> datetime | None:
        """``moment`` in the authority's time zone, for display."""
        return None if moment is None else timezone.localtime(moment, self.tz)

    @property
    def ocid(self) -> str:
        """The open contracting id of the planning process (challenge and consultation)."""
        return f"{settings.OCDS_PREFIX}-pcp-{self.pk}"

    @property
    def is_editable(self) -> bool:
        return self.status in self.EDITABLE

    def consultation_open(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        return (
            self.status == self.Status.CONSULTATION
            and self.consultation_opens_at is not None
            and self.consultation_opens_at <= now
            and (self.consultation_closes_at is None or now < self.consultation_closes_at)
        )


class Phase(models.Model):
    """One phase of the call, each a contracting process of its own (linked in OCDS)."""

    class Status(models.TextChoices):
        PLANNED = "planned", _("Planned")
        OPEN = "open", _("Open for bids")
        EVALUATION = "evaluation", _("Under evaluation")
        STANDSTILL = "standstill", _("Award decided (standstill)")
        AWARDED = "awarded", _("Contracts awarded")
        COMPLETED = "completed", _("Completed")
        CANCELLED = "cancelled", _("Cancelled")

    TRANSITIONS = {
        Status.PLANNED: {Status.OPEN, Status.CANCELLED},
        Status.OPEN: {Status.EVALUATION, Status.CANCELLED},
        Status.EVALUATION: {Status.STANDSTILL, Status.CANCELLED},
        Status.STANDSTILL: {Status.AWARDED, Status.EVALUATION, Status.CANCELLED},
        Status.AWARDED: {Status.COMPLETED},
        Status.COMPLETED: set(),
        Status.CANCELLED: set(),
    }
    # From publication of the phase until its award is final no direct contact is allowed (quiet period).
    QUIET = {Status.OPEN, Status.EVALUATION, Status.STANDSTILL}

    procurement = models.ForeignKey(Procurement, on_delete=models.CASCADE, related_name="phases")
    number = models.PositiveSmallIntegerField(
        _("phase"), validators=[MinValueValidator(1), MaxValueValidator(9)]
    )
    title = models.CharField(_("title"), max_length=200)
    description = models.TextField(_("what this phase asks for"), blank=True)
    budget = models.DecimalField(
        _("budget"), max_digits=14, decimal_places=2, validators=[MinValueValidator(Decimal("0"))]
    )
    max_contractors = models.PositiveSmallIntegerField(
        _("maximum number of contractors"), validators=[MinValueValidator(1)]
    )
    duration_months = models.PositiveSmallIntegerField(
        _("duration (months)"), validators=[MinValueValidator(1)]
    )
    deliverables = models.TextField(_("deliverables"))
    question_deadline = models.DateTimeField(_("deadline for questions"), null=True, blank=True)
    bid_deadline = models.DateTimeField(_("deadline for bids"), null=True, blank=True)
    # A bid must reach this total (0–100) after the criterion thresholds to be ranked.
    pass_mark = models.DecimalField(
        _("overall pass mark (out of 100)"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("60"),
        validators=[MinValueValidator(Decimal("0")), MaxValueValidator(Decimal("100"))],
    )
    standstill_days = models.PositiveSmallIntegerField(_("standstill period (days)"), default=10)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.PLANNED)
    opened_at = models.DateTimeField(null=True, blank=True)
    # The field test campaign of the last phase (first products tested with end-users in real life).
    field_test = models.ForeignKey(
        "pilots.Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="procurement_phases"
    )

    class Meta:
        verbose_name = _("phase")
        ordering = ["procurement", "number"]
        constraints = [models.UniqueConstraint(fields=["procurement", "number"], name="unique_phase_number")]

    def __str__(self):
        return _("Phase %(number)s: %(title)s") % {"number": self.number, "title": self.title}

    @property
    def ocid(self) -> str:
        return f"{settings.OCDS_PREFIX}-pcp-{self.procurement_id}-{self.number}"

    def accepts_questions(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.status == self.Status.OPEN and (
            self.question_deadline is None or now < self.question_deadline
        )

    def accepts_bids(self, now: datetime | None = None) -> bool:
        now = now or timezone.now()
        return self.status == self.Status.OPEN and self.bid_deadline is not None and now < self.bid_deadline

    def is_sealed(self, now: datetime | None = None) -> bool:
        """Bid content stays sealed until the bid deadline has passed."""
        return self.bid_deadline is None or (now or timezone.now()) < self.bid_deadline

    def in_quiet_period(self) -> bool:
        return self.status in self.QUIET


class AwardCriterion(models.Model):
    """One award criterion of a phase: its weight in the total and the minimum score it needs."""

    phase = models.ForeignKey(Phase, on_delete=models.CASCADE, related_name="criteria")
    name = models.CharField(_("criterion"), max_length=200)
    description = models.TextField(_("what evaluators look for"), blank=True)
    weight = models.DecimalField(
        _("weight (%)"),
        max_digits=5,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0.01")), MaxValueValidator(Decimal("100"))],
    )
    max_score = models.PositiveSmallIntegerField(
        _("highest score"), default=10, validators=[MinValueValidator(1)]
    )
    threshold = models.DecimalField(
        _("minimum score"),
        max_digits=5,
        decimal_places=2,
        default=Decimal("0"),
        validators=[MinValueValidator(Decimal("0"))],
    )
    # Price is scored like any other criterion; the bid's price is the one the answer states.
    is_price = models.BooleanField(_("price criterion"), default=False)
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        verbose_name = _("award criterion")
        ordering = ["phase", "position", "pk"]

    def __str__(self):
        return self.name


class CallDocument(models.Model):
    """A published document of the procurement: a generated call document, the consultation summary, an
    annex. Files are public once published; OCDS releases link to them."""

    class Kind(models.TextChoices):
        CALL = "call", _("Call for tenders")
        CONSULTATION_NOTICE = "consultation_notice", _("Market consultation notice")
        CONSULTATION_SUMMARY = "consultation_summary", _("Consultation summary report")
        ANNEX = "annex", _("Annex")

    procurement = models.ForeignKey(Procurement, on_delete=models.CASCADE, related_name="documents")
    phase = models.ForeignKey(
        Phase, null=True, blank=True, on_delete=models.CASCADE, related_name="documents"
    )
    kind = models.CharField(_("kind"), max_length=25, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=200)
    file = models.FileField(upload_to="procurement-documents/%Y/")
    sha256 = models.CharField(max_length=64)
    version = models.PositiveIntegerField(default=1)
    # The request that asked for this document to be rendered: a retried task finds it and adds nothing.
    request_key = models.UUIDField(null=True, blank=True, unique=True, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("call document")
        ordering = ["procurement", "kind", "-version"]

    def __str__(self):
        return self.title
