"""Ground rules in practice: direct messages (closed during the quiet period), the interaction register,
gifts and hospitality declarations, and clarifications answered to every bidder at once."""

from decimal import Decimal

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from livinglab.models import Organisation

from .procurements import Phase, Procurement


class DirectMessage(models.Model):
    """A message between a firm (or its cluster) and the authority about a procurement. Refused while a
    phase is in its quiet period; every message is also an entry of the interaction register."""

    # Audit entries name it by type and id only (see livinglab.audit.describe).
    audit_pseudonymous = True

    procurement = models.ForeignKey(Procurement, on_delete=models.CASCADE, related_name="messages")
    sender = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    sender_organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    recipient_organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    subject = models.CharField(_("subject"), max_length=200)
    body = models.TextField(_("message"))
    sent_at = models.DateTimeField(auto_now_add=True)
    # The recipient organisation is e-mailed once: the task claims this timestamp before sending.
    notified_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("direct message")
        ordering = ["-sent_at"]

    def __str__(self):
        return self.subject


class Interaction(models.Model):
    """One contact between firms (or a cluster on their behalf) and the authority: the register entry."""

    # Audit entries name it by type and id only (see livinglab.audit.describe).
    audit_pseudonymous = True

    class Kind(models.TextChoices):
        MEETING = "meeting", _("Meeting")
        CALL = "call", _("Telephone or video call")
        EMAIL = "email", _("E-mail")
        MESSAGE = "message", _("Message on the platform")
        EVENT = "event", _("Consultation event")
        OTHER = "other", _("Other contact")

    procurement = models.ForeignKey(Procurement, on_delete=models.CASCADE, related_name="interactions")
    kind = models.CharField(_("kind of contact"), max_length=10, choices=Kind.choices)
    occurred_at = models.DateTimeField(_("when"))
    subject = models.CharField(_("subject"), max_length=200)
    summary = models.TextField(_("summary"))
    # Names of the people present: seen by compliance and cluster staff, never in the public summary.
    participants = models.TextField(_("people present"), blank=True)
    organisations = models.ManyToManyField(
        Organisation, verbose_name=_("organisations involved"), related_name="pcp_interactions"
    )
    on_behalf_of = models.ForeignKey(
        Organisation,
        verbose_name=_("cluster acting on behalf of firms"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    message = models.OneToOneField(
        DirectMessage, null=True, blank=True, on_delete=models.SET_NULL, related_name="register_entry"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("interaction")
        ordering = ["-occurred_at"]

    def __str__(self):
        return self.subject


class GiftDeclaration(models.Model):
    """A gift, favour or hospitality offered in connection with a procurement, declared by its recipient."""

    # Audit entries name it by type and id only (see livinglab.audit.describe).
    audit_pseudonymous = True

    class Outcome(models.TextChoices):
        REFUSED = "refused", _("Refused")
        RETURNED = "returned", _("Returned")
        ACCEPTED = "accepted", _("Accepted (within the rules)")

    procurement = models.ForeignKey(Procurement, on_delete=models.CASCADE, related_name="gift_declarations")
    offered_by = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    declared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    description = models.TextField(_("what was offered"))
    value = models.DecimalField(
        _("estimated value (EUR)"),
        max_digits=10,
        decimal_places=2,
        validators=[MinValueValidator(Decimal("0"))],
    )
    offered_on = models.DateField(_("offered on"))
    outcome = models.CharField(_("what happened"), max_length=10, choices=Outcome.choices)
    declared_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("gift or hospitality declaration")
        ordering = ["-offered_on"]

    def __str__(self):
        return self.description[:60]


class Clarification(models.Model):
    """A bidder's question, asked privately; its answer is published to every registered bidder at the same
    moment, without saying who asked."""

    # The audit trail names it by type and id: the question as asked is for the authority's procurers only.
    audit_pseudonymous = True

    class Status(models.TextChoices):
        ASKED = "asked", _("Awaiting an answer")
        PUBLISHED = "published", _("Answered to all bidders")
        DECLINED = "declined", _("Not answered (outside the call's scope or a duplicate)")

    phase = models.ForeignKey(Phase, on_delete=models.CASCADE, related_name="clarifications")
    # The asker is known only to the authority's procurers; never published, never in OCDS.
    asked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    asking_organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    question = models.TextField(_("question"))
    asked_at = models.DateTimeField(auto_now_add=True)
    # The published wording may rephrase the question so that it does not reveal who asked.
    public_question = models.TextField(_("question as published"), blank=True)
    answer = models.TextField(_("answer"), blank=True)
    decline_reason = models.TextField(_("why it is not answered"), blank=True)
    answered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ASKED)
    published_at = models.DateTimeField(null=True, blank=True, db_index=True)
    notified_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("clarification")
        ordering = ["phase", "published_at", "asked_at"]

    def __str__(self):
        return (self.public_question or self.question)[:80]
