"""Cluster events (fairs, exhibitions, cluster visits, breakfast meetings, workshops): registration up to
capacity, a ticket with a QR code, check-in at the door, lead users signed up on the spot into the event's
B2B panel, and a follow-up to the people who came."""

import secrets

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from livinglab.models import Organisation

from .base import B2BActivity


def ticket_code() -> str:
    # 128 bits: a ticket cannot be guessed from another one.
    return secrets.token_urlsafe(16)


class Event(B2BActivity):
    class Kind(models.TextChoices):
        FAIR = "fair", _("Fair")
        EXHIBITION = "exhibition", _("Exhibition")
        CLUSTER_VISIT = "visit", _("Cluster visit")
        BREAKFAST = "breakfast", _("Breakfast meeting")
        WORKSHOP = "workshop", _("Workshop")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        CANCELLED = "cancelled", _("Cancelled")

    TRANSITIONS = {Status.DRAFT: {Status.PUBLISHED}, Status.PUBLISHED: {Status.CANCELLED}}

    organiser = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="b2b_events",
        limit_choices_to={"kind": Organisation.Kind.CLUSTER},
        verbose_name=_("organiser"),
    )
    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(_("web address"), max_length=80, unique=True)
    kind = models.CharField(_("kind of event"), max_length=10, choices=Kind.choices)
    description = models.TextField(_("description"))
    venue = models.CharField(_("venue"), max_length=300)
    time_zone = models.CharField(_("time zone"), max_length=64, default=settings.TIME_ZONE)
    starts_at = models.DateTimeField(_("starts"))
    ends_at = models.DateTimeField(_("ends"))
    capacity = models.PositiveIntegerField(_("places"))
    registration_closes_at = models.DateTimeField(_("registration closes"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    lead_user_panel = models.ForeignKey(
        "pilots.Panel",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="b2b_events",
        verbose_name=_("B2B panel for lead users"),
        help_text=_("Professionals who sign up as lead users at the event join this panel."),
    )
    follow_up_subject = models.CharField(_("follow-up subject"), max_length=200, blank=True)
    follow_up_message = models.TextField(_("follow-up message"), blank=True)
    follow_up_sent_at = models.DateTimeField(null=True, blank=True, editable=False)
    # When the time or place of the published event last changed: its attendees are told once per change.
    moved_at = models.DateTimeField(null=True, blank=True, editable=False)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("event")
        ordering = ["starts_at", "pk"]
        indexes = [models.Index(fields=["status", "starts_at"], name="b2b_event_status_start")]

    def __str__(self):
        return self.title


class EventRegistration(models.Model):
    class Status(models.TextChoices):
        REGISTERED = "registered", _("Registered")
        CANCELLED = "cancelled", _("Cancelled")

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="registrations")
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    full_name = models.CharField(_("full name"), max_length=200)
    email = models.EmailField(_("e-mail address"))
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    organisation_name = models.CharField(_("organisation"), max_length=200, blank=True)
    job_title = models.CharField(_("job title"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.REGISTERED)
    ticket_code = models.CharField(max_length=32, unique=True, default=ticket_code, editable=False)
    registered_at = models.DateTimeField(auto_now_add=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    checked_in_at = models.DateTimeField(null=True, blank=True)
    checked_in_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    ticket_mailed_at = models.DateTimeField(null=True, blank=True, editable=False)
    follow_up_mailed_at = models.DateTimeField(null=True, blank=True, editable=False)
    cancellation_mailed_at = models.DateTimeField(null=True, blank=True, editable=False)
    # The event's ``moved_at`` this attendee was last told about.
    move_mailed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("event registration")
        ordering = ["registered_at", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["event", "email"],
                condition=Q(status="registered"),
                name="b2b_one_registration_per_address",
            )
        ]

    def __str__(self):
        return _("Registration #%(pk)s for %(event)s") % {"pk": self.pk, "event": self.event_id}


class LeadUserSignup(models.Model):
    """A professional who signed up as a lead user at an event: the panel membership it created."""

    event = models.ForeignKey(Event, on_delete=models.CASCADE, related_name="lead_user_signups")
    membership = models.OneToOneField(
        "pilots.PanelMembership", on_delete=models.CASCADE, related_name="b2b_event_signup"
    )
    registration = models.ForeignKey(
        EventRegistration, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    signed_up_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    signed_up_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("lead user signed up at an event")
        ordering = ["-signed_up_at"]

    def __str__(self):
        return _("Lead user #%(pk)s from event %(event)s") % {
            "pk": self.membership_id,
            "event": self.event_id,
        }
