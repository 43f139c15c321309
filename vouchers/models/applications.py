"""End-users' applications for vouchers, and their feedback on the solutions they tried."""

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from livinglab.models import Organisation, Person

from .base import HouseholdType
from .ledger import Voucher
from .programmes import Programme, Solution

# --------------------------------------------------------------------------------------------------
# End-user applications


class Application(models.Model):
    """A person's application for a voucher, with the facts they declared and the eligibility outcome.

    One per person per programme. A refused application keeps the reasons the person was shown."""

    audit_pseudonymous = True
    wagtail_reference_index_ignore = True

    class Status(models.TextChoices):
        WAITING = "waiting", _("Eligible, waiting for the lottery")
        REFUSED = "refused", _("Not eligible")
        ISSUED = "issued", _("Voucher issued")
        NOT_SELECTED = "not_selected", _("Not drawn in the lottery")
        WITHDRAWN = "withdrawn", _("Withdrawn by the applicant")

    programme = models.ForeignKey(Programme, on_delete=models.PROTECT, related_name="applications")
    applicant = models.ForeignKey(
        Person, verbose_name=_("applicant"), on_delete=models.PROTECT, related_name="voucher_applications"
    )
    region = models.CharField(_("region"), max_length=100)
    postcode = models.CharField(_("postcode"), max_length=12, blank=True)
    household_type = models.CharField(_("household type"), max_length=16, choices=HouseholdType.choices)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices)
    refusal_reasons = models.JSONField(_("why not eligible"), default=list, blank=True)
    voucher = models.OneToOneField(
        Voucher, null=True, blank=True, on_delete=models.PROTECT, related_name="application"
    )
    # Set by a lottery: 1 is drawn first. Stored so that the draw can be shown and repeated.
    lottery_rank = models.PositiveIntegerField(_("lottery rank"), null=True, blank=True)
    submitted_at = models.DateTimeField(_("submitted"), default=timezone.now)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # A campaign or a cluster organisation that nominated the applicant, when it was not self-service.
    nominated_by = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="voucher_nominations"
    )
    decided_at = models.DateTimeField(_("decided"), null=True, blank=True)

    class Meta:
        verbose_name = _("voucher application")
        ordering = ["submitted_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["programme", "applicant"], name="one_application_per_person"),
        ]

    def __str__(self):
        return _("application %(pk)s to %(programme)s") % {"pk": self.pk, "programme": self.programme}


# --------------------------------------------------------------------------------------------------
# Feedback


class Feedback(models.Model):
    """The holder's short questionnaire about the solution they tried with a voucher."""

    audit_pseudonymous = True
    wagtail_reference_index_ignore = True

    voucher = models.OneToOneField(Voucher, on_delete=models.PROTECT, related_name="feedback")
    firm = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="voucher_feedback")
    solution = models.ForeignKey(
        Solution, null=True, blank=True, on_delete=models.PROTECT, related_name="feedback"
    )
    satisfaction = models.PositiveSmallIntegerField(
        _("satisfaction (1 to 5)"), validators=[MinValueValidator(1), MaxValueValidator(5)]
    )
    recommend = models.PositiveSmallIntegerField(
        _("likelihood to recommend (0 to 10)"), validators=[MinValueValidator(0), MaxValueValidator(10)]
    )
    solved_need = models.BooleanField(_("the solution met my need"))
    comment = models.TextField(_("comment"), blank=True, max_length=2000)
    submitted_at = models.DateTimeField(_("submitted"), default=timezone.now)

    class Meta:
        verbose_name = _("voucher feedback")
        verbose_name_plural = _("voucher feedback")
        ordering = ["-submitted_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(satisfaction__gte=1, satisfaction__lte=5), name="feedback_satisfaction_range"
            ),
            models.CheckConstraint(condition=Q(recommend__lte=10), name="feedback_recommend_range"),
        ]

    def __str__(self):
        return _("feedback on %(voucher)s") % {"voucher": self.voucher}
