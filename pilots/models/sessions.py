"""Scheduled sessions of a campaign and the bookings of invited participants, with a waiting list."""

import secrets

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from livinglab.models import Person

from .campaigns import Campaign
from .draws import Invitation, Participation


def session_uid() -> str:
    return secrets.token_hex(16)


class CampaignSession(models.Model):
    """One workshop, test or visit at a place or online, with a capacity."""

    class Status(models.TextChoices):
        SCHEDULED = "scheduled", _("Scheduled")
        CANCELLED = "cancelled", _("Cancelled")
        HELD = "held", _("Held: attendance recorded")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="sessions")
    title = models.CharField(_("title"), max_length=200)
    starts_at = models.DateTimeField(_("starts at"))
    ends_at = models.DateTimeField(_("ends at"))
    place = models.CharField(_("place (address)"), max_length=300, blank=True)
    online_url = models.URLField(_("online link"), blank=True)
    capacity = models.PositiveSmallIntegerField(_("places"), validators=[MinValueValidator(1)])
    accessibility_info = models.TextField(
        _("accessibility"), blank=True, help_text=_("Step-free access, hearing loop, sign language, parking…")
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SCHEDULED)
    # Stable identity for calendar files, so that an update replaces the event instead of adding one.
    uid = models.CharField(max_length=40, default=session_uid, editable=False, unique=True)
    sequence = models.PositiveIntegerField(default=0)  # iCalendar SEQUENCE: bumped on each change
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("session")
        ordering = ["starts_at"]
        constraints = [
            models.CheckConstraint(
                condition=Q(ends_at__gt=models.F("starts_at")), name="session_ends_after_start"
            )
        ]

    def __str__(self):
        return self.title


class Booking(models.Model):
    """An invited participant's place in a session, or their place on its waiting list."""

    audit_pseudonymous = True
    wagtail_reference_index_ignore = True

    class Status(models.TextChoices):
        BOOKED = "booked", _("Booked")
        WAITING = "waiting", _("On the waiting list")
        CANCELLED = "cancelled", _("Cancelled")
        ATTENDED = "attended", _("Attended")
        NO_SHOW = "no_show", _("Did not come")

    HOLDS_PLACE = (Status.BOOKED, Status.ATTENDED, Status.NO_SHOW)
    CURRENT = (Status.BOOKED, Status.WAITING)

    session = models.ForeignKey(CampaignSession, on_delete=models.CASCADE, related_name="bookings")
    invitation = models.ForeignKey(Invitation, on_delete=models.CASCADE, related_name="bookings")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="session_bookings")
    status = models.CharField(max_length=10, choices=Status.choices)
    created_at = models.DateTimeField(auto_now_add=True)
    promoted_at = models.DateTimeField(null=True, blank=True)
    cancelled_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=200, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    participation = models.OneToOneField(
        Participation, null=True, blank=True, on_delete=models.SET_NULL, related_name="booking"
    )
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["session", "created_at", "pk"]
        constraints = [
            # One live booking (or waiting-list place) per person and session; a double click books once.
            models.UniqueConstraint(
                fields=["session", "person"],
                condition=Q(status__in=["booked", "waiting", "attended", "no_show"]),
                name="one_live_booking_per_session",
            )
        ]
        indexes = [models.Index(fields=["session", "status", "created_at"])]

    def __str__(self):
        return _("Booking #%(pk)s") % {"pk": self.pk}
