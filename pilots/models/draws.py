"""Screeners, reproducible draws, invitations and who took part: the contact history that fair-contact
rules count."""

import secrets

from django.conf import settings
from django.core.validators import MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from livinglab.models import ConsentPurpose, Organisation, Person

from .panels import Panel, PanelMembership

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I: codes are read aloud in sessions


def participant_code() -> str:
    """A pseudonymous code firms see instead of a name, e.g. ``P-7K3QX``."""
    return "P-" + "".join(secrets.choice(CODE_ALPHABET) for _ in range(5))


def new_seed() -> int:
    return secrets.randbelow(2**31)


class Screener(models.Model):
    """A saved set of conditions over profile and custom attributes, nested with and/or.

    ``conditions`` is a tree: ``{"all": [node, …]}`` or ``{"any": [node, …]}``, leaves
    ``{"attribute": "age_band", "operator": "in", "value": ["65-74", "75+"]}``; see ``pilots.screening``.
    """

    panel = models.ForeignKey(Panel, on_delete=models.CASCADE, related_name="screeners")
    name = models.CharField(_("name"), max_length=200)
    conditions = models.JSONField(_("conditions"), default=dict)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("screener")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Draw(models.Model):
    """One seeded random draw from a panel. Conditions, quotas and seed are copied in, and the result is
    stored, so that staff can show how people were chosen and replay it."""

    class Status(models.TextChoices):
        DRAWN = "drawn", _("Drawn, invitations not sent")
        INVITING = "inviting", _("Invitations sent")
        CLOSED = "closed", _("Closed")
        CANCELLED = "cancelled", _("Cancelled")

    panel = models.ForeignKey(Panel, on_delete=models.PROTECT, related_name="draws")
    screener = models.ForeignKey(
        Screener, null=True, blank=True, on_delete=models.SET_NULL, related_name="draws"
    )
    title = models.CharField(_("study"), max_length=200)
    involves = models.TextField(
        _("what taking part involves"),
        help_text=_("Plain language: what people will do, where, for how long, and what they get."),
    )
    requested_by = models.ForeignKey(
        Organisation,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="requested_draws",
        verbose_name=_("for the firm or authority"),
    )
    # The test campaign the draw recruits for: its accepted invitations are the campaign's participants.
    campaign = models.ForeignKey(
        "pilots.Campaign",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="draws",
        verbose_name=_("test campaign"),
    )
    conditions = models.JSONField(default=dict)
    strata = models.JSONField(default=list)
    quotas = models.JSONField(default=list)
    size = models.PositiveIntegerField(_("how many people"), validators=[MinValueValidator(1)])
    seed = models.BigIntegerField(_("seed"), default=new_seed)
    required_purposes = models.ManyToManyField(
        ConsentPurpose, related_name="draws", verbose_name=_("consent needed")
    )
    one_per_household = models.BooleanField(_("at most one person per household"), default=False)
    respond_within_days = models.PositiveSmallIntegerField(_("days to answer"), default=10)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.DRAWN)
    eligible_count = models.PositiveIntegerField(default=0)
    result_sha256 = models.CharField(max_length=64, blank=True)
    drawn_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    drawn_at = models.DateTimeField(null=True, blank=True)
    invited_at = models.DateTimeField(null=True, blank=True)

    TRANSITIONS = {
        Status.DRAWN: {Status.INVITING, Status.CANCELLED},
        Status.INVITING: {Status.CLOSED},
        Status.CLOSED: set(),
        Status.CANCELLED: set(),
    }

    class Meta:
        verbose_name = _("draw")
        ordering = ["-drawn_at"]

    def __str__(self):
        return self.title


class DrawSelection(models.Model):
    """One person the draw chose, in rank order, under a pseudonymous code."""

    audit_pseudonymous = True
    wagtail_reference_index_ignore = True

    draw = models.ForeignKey(Draw, on_delete=models.CASCADE, related_name="selections")
    membership = models.ForeignKey(PanelMembership, on_delete=models.CASCADE, related_name="selections")
    rank = models.PositiveIntegerField()
    cell = models.JSONField(default=dict, blank=True)
    code = models.CharField(max_length=8, default=participant_code)
    overridden = models.BooleanField(default=False)
    removed_at = models.DateTimeField(null=True, blank=True)
    removal_reason = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["draw", "rank"]
        constraints = [
            models.UniqueConstraint(fields=["draw", "membership"], name="one_selection_per_member"),
            models.UniqueConstraint(fields=["draw", "code"], name="unique_code_per_draw"),
        ]

    def __str__(self):
        return self.code


class ContactOverride(models.Model):
    """Staff let the next draw consider a member the fair-contact rules protect, with a reason.
    Consent can never be overridden."""

    audit_pseudonymous = True

    membership = models.ForeignKey(PanelMembership, on_delete=models.CASCADE, related_name="overrides")
    reason = models.CharField(_("reason"), max_length=300)
    granted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    granted_at = models.DateTimeField(auto_now_add=True)
    used_by = models.ForeignKey(
        Draw, null=True, blank=True, on_delete=models.SET_NULL, related_name="overrides"
    )

    class Meta:
        ordering = ["-granted_at"]

    def __str__(self):
        return _("Override #%(pk)s") % {"pk": self.pk}


class Invitation(models.Model):
    """An invitation to one drawn person, answered through signed links."""

    audit_pseudonymous = True
    wagtail_reference_index_ignore = True

    class Status(models.TextChoices):
        SENT = "sent", _("Sent")
        OPENED = "opened", _("Opened")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        EXPIRED = "expired", _("Expired")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    OPEN = (Status.SENT, Status.OPENED)

    selection = models.OneToOneField(DrawSelection, on_delete=models.CASCADE, related_name="invitation")
    # Copied from the selection so that fair-contact counts are one indexed look-up per person.
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="invitations")
    panel = models.ForeignKey(Panel, on_delete=models.CASCADE, related_name="invitations")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.SENT)
    nonce = models.CharField(max_length=64, default=secrets.token_urlsafe, editable=False)
    created_at = models.DateTimeField(auto_now_add=True)
    expires_at = models.DateTimeField()
    mailed_at = models.DateTimeField(null=True, blank=True)
    reminder_sent_at = models.DateTimeField(null=True, blank=True)
    opened_at = models.DateTimeField(null=True, blank=True)
    responded_at = models.DateTimeField(null=True, blank=True)
    share_identity = models.BooleanField(
        _("share my name and contact details with the organisation running this study"), default=False
    )

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["person", "created_at"]),
            models.Index(fields=["status", "expires_at"]),
        ]

    def __str__(self):
        return _("Invitation #%(pk)s") % {"pk": self.pk}


class Participation(models.Model):
    """Someone took part in a study (or did not show up): what cooldown and participation limits count."""

    audit_pseudonymous = True
    wagtail_reference_index_ignore = True

    class Outcome(models.TextChoices):
        TOOK_PART = "took_part", _("Took part")
        NO_SHOW = "no_show", _("Did not come")

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="participations")
    panel = models.ForeignKey(Panel, on_delete=models.CASCADE, related_name="participations")
    invitation = models.OneToOneField(
        Invitation, null=True, blank=True, on_delete=models.SET_NULL, related_name="participation"
    )
    outcome = models.CharField(max_length=10, choices=Outcome.choices)
    occurred_at = models.DateTimeField()
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        ordering = ["-occurred_at"]
        indexes = [models.Index(fields=["person", "occurred_at"])]

    def __str__(self):
        return _("Participation #%(pk)s") % {"pk": self.pk}
