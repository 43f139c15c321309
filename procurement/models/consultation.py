"""The open market consultation and who registered for a procurement: firms register their interest during
the consultation and, once the call is out, as bidders who receive every clarification."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from livinglab.models import Organisation

from .bids import private_storage
from .procurements import Procurement


class Registration(models.Model):
    """An organisation following a procurement: in the consultation, or as a (prospective) bidder."""

    class Stage(models.TextChoices):
        CONSULTATION = "consultation", _("Market consultation")
        CALL = "call", _("Call for tenders")

    procurement = models.ForeignKey(Procurement, on_delete=models.CASCADE, related_name="registrations")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="pcp_registrations")
    stage = models.CharField(_("stage"), max_length=15, choices=Stage.choices)
    registered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    registered_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("registration")
        ordering = ["procurement", "stage", "organisation__name"]
        constraints = [
            models.UniqueConstraint(
                fields=["procurement", "organisation", "stage"], name="unique_procurement_registration"
            )
        ]

    def __str__(self):
        return f"{self.organisation} — {self.get_stage_display()}"


class ConsultationEvent(models.Model):
    """An information day, workshop or one-to-one session of the market consultation."""

    procurement = models.ForeignKey(Procurement, on_delete=models.CASCADE, related_name="consultation_events")
    title = models.CharField(_("title"), max_length=200)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    place = models.CharField(_("place"), max_length=300, blank=True)
    online_url = models.URLField(_("online link"), blank=True)
    description = models.TextField(_("agenda"), blank=True)
    # Who took part: organisations only, so that the public record holds no personal data.
    attendees = models.ManyToManyField(Organisation, blank=True, related_name="pcp_events_attended")
    minutes = models.TextField(_("minutes"), blank=True)

    class Meta:
        verbose_name = _("consultation event")
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="consultation_event_ends"
            )
        ]

    def __str__(self):
        return self.title


class ConsultationInput(models.Model):
    """Written input a registered organisation sends to the consultation."""

    # The audit trail names it by type and id: its subject is for the authority and the sender only.
    audit_pseudonymous = True

    procurement = models.ForeignKey(Procurement, on_delete=models.CASCADE, related_name="consultation_inputs")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    subject = models.CharField(_("subject"), max_length=200)
    text = models.TextField(_("input"))
    # Input may be commercially sensitive: stored privately, served only through a permission check.
    document = models.FileField(
        _("attachment"), storage=private_storage, upload_to="consultation-inputs/%Y/", blank=True
    )
    submitted_at = models.DateTimeField(auto_now_add=True)
    # The authority marks which inputs shaped the call specifications.
    used_in_specifications = models.BooleanField(_("used in the call specifications"), default=False)

    class Meta:
        verbose_name = _("consultation input")
        ordering = ["-submitted_at"]

    def __str__(self):
        return self.subject
