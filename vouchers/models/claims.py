"""Firms' reimbursement claims, the funder's decisions per line, and payment batches."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from livinglab.models import Organisation

from .aid import DeMinimisAid
from .base import money_field, positive, storages_private
from .ledger import LedgerEntry
from .programmes import Programme

# --------------------------------------------------------------------------------------------------
# Reimbursement


def invoice_path(claim: "Claim", filename: str) -> str:
    # The firm's own file name is kept only as the last part; the claim's reference makes it unique.
    return f"invoices/{claim.programme_id}/{claim.firm_id}/{timezone.now():%Y%m%d%H%M%S}-{filename}"


class Claim(models.Model):
    """A firm's request to be reimbursed for redemptions in one programme, with its invoice."""

    class Status(models.TextChoices):
        SUBMITTED = "submitted", _("Submitted, waiting for the operator's check")
        CHECKED = "checked", _("Checked by the operator, waiting for the funder")
        RETURNED = "returned", _("Returned to the firm")
        DECIDED = "decided", _("Decided by the funder")

    # The operator checks or returns a submitted claim; the funder's last decision on a line decides it.
    TRANSITIONS: dict[str, frozenset[str]] = {
        Status.SUBMITTED: frozenset({Status.CHECKED, Status.RETURNED}),
        Status.CHECKED: frozenset({Status.DECIDED}),
        Status.RETURNED: frozenset(),
        Status.DECIDED: frozenset(),
    }

    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="claims")
    firm = models.ForeignKey(
        Organisation, verbose_name=_("firm"), on_delete=models.PROTECT, related_name="voucher_claims"
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.SUBMITTED)
    invoice_number = models.CharField(_("invoice number"), max_length=50)
    invoice = models.FileField(_("invoice"), upload_to=invoice_path, storage=storages_private, max_length=300)
    iban = models.CharField(_("IBAN"), max_length=34)
    bic = models.CharField(_("BIC"), max_length=11, blank=True)
    account_holder = models.CharField(_("account holder"), max_length=70)
    submitted_at = models.DateTimeField(_("submitted"), default=timezone.now)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    checked_at = models.DateTimeField(_("checked"), null=True, blank=True)
    checked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    check_note = models.TextField(_("operator's note"), blank=True)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    class Meta:
        verbose_name = _("reimbursement claim")
        ordering = ["-submitted_at", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["firm", "invoice_number"], name="unique_invoice_per_firm"),
        ]

    def __str__(self):
        return _("claim %(reference)s") % {"reference": self.reference}

    def can_transition(self, to: str) -> bool:
        return to in self.TRANSITIONS.get(self.status, frozenset())

    @property
    def reference(self) -> str:
        return f"VC-{self.programme_id}-{self.pk:06d}" if self.pk else "VC-new"


class PaymentBatch(models.Model):
    """Approved claim lines paid together by the funder: exported as CSV and SEPA XML, then marked paid."""

    class Status(models.TextChoices):
        OPEN = "open", _("Ready to pay")
        PAID = "paid", _("Paid")

    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="payment_batches")
    status = models.CharField(_("status"), max_length=6, choices=Status.choices, default=Status.OPEN)
    created_at = models.DateTimeField(_("created"), default=timezone.now)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    paid_at = models.DateTimeField(_("paid"), null=True, blank=True)
    paid_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # The funder's account the transfers are paid from (the debtor of the SEPA credit transfer).
    debtor_name = models.CharField(_("paying account holder"), max_length=70, blank=True)
    debtor_iban = models.CharField(_("paying account IBAN"), max_length=34, blank=True)
    debtor_bic = models.CharField(_("paying account BIC"), max_length=11, blank=True)
    execution_date = models.DateField(_("requested payment date"), null=True, blank=True)

    class Meta:
        verbose_name = _("payment batch")
        verbose_name_plural = _("payment batches")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return self.reference

    @property
    def reference(self) -> str:
        return f"PB-{self.programme_id}-{self.pk:05d}" if self.pk else "PB-new"


class ClaimLine(models.Model):
    """One redemption claimed for reimbursement, and the funder's decision on it. A redemption is claimed
    once; an approved line is de minimis aid to the firm and waits for a payment batch."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Waiting for a decision")
        APPROVED = "approved", _("Approved")
        REJECTED = "rejected", _("Rejected")

    claim = models.ForeignKey(Claim, on_delete=models.CASCADE, related_name="lines")
    redemption = models.OneToOneField(
        LedgerEntry,
        on_delete=models.PROTECT,
        related_name="claim_line",
        limit_choices_to={"kind": LedgerEntry.Kind.REDEEM},
    )
    amount = money_field(_("amount (EUR)"), validators=[positive])
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PENDING)
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reason = models.TextField(_("reason"), blank=True)
    aid = models.OneToOneField(
        DeMinimisAid, null=True, blank=True, on_delete=models.PROTECT, related_name="claim_line"
    )
    batch = models.ForeignKey(
        PaymentBatch, null=True, blank=True, on_delete=models.PROTECT, related_name="lines"
    )

    class Meta:
        verbose_name = _("claim line")
        ordering = ["claim", "pk"]
        constraints = [
            models.CheckConstraint(condition=Q(amount__gt=0), name="claim_line_amount_positive"),
            models.CheckConstraint(
                condition=~Q(status="approved") | Q(aid__isnull=False), name="approved_line_is_aid"
            ),
            models.CheckConstraint(
                condition=Q(batch__isnull=True) | Q(status="approved"), name="only_approved_lines_paid"
            ),
        ]

    def __str__(self):
        return f"{self.claim}: {self.amount} EUR ({self.get_status_display()})"
