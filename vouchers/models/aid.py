"""De minimis State aid and the rolling three-year window."""

from datetime import date, timedelta
from decimal import Decimal

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from livinglab.models import EnterpriseGroup, Organisation

from .base import (
    DEFAULT_DE_MINIMIS_CEILING,
    ZERO,
    cents,
    money_field,
    money_sum,
    positive,
)
from .programmes import Programme

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
