"""Vouchers and their append-only money ledger."""

from datetime import datetime
from decimal import Decimal

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from livinglab.models import Organisation, Person

from ..codes import format_code
from .base import cents, money_field, money_sum, positive

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

    programme = models.ForeignKey("vouchers.Programme", on_delete=models.PROTECT, related_name="vouchers")
    holder = models.ForeignKey(
        Person, verbose_name=_("holder"), on_delete=models.PROTECT, related_name="vouchers"
    )
    code = models.CharField(_("code"), max_length=17, unique=True)
    face_value = money_field(_("face value (EUR)"), validators=[positive])
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ISSUED)
    issued_at = models.DateTimeField(_("issued"), default=timezone.now)
    expires_at = models.DateTimeField(_("expires"), db_index=True)
    # When the holder was reminded of the coming expiry, and asked for feedback: each happens once.
    reminder_sent_at = models.DateTimeField(_("expiry reminder sent"), null=True, blank=True)
    feedback_requested_at = models.DateTimeField(_("feedback requested"), null=True, blank=True)

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
        "vouchers.Solution", null=True, blank=True, on_delete=models.PROTECT, related_name="voucher_entries"
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
