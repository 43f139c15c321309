"""Brokered introductions: a firm asks to be introduced to the other side of a match, cluster staff broker
it, both firms accept the B2B ground rules (and the NDA when one is asked for), and only then does each see
the other's confidential details. Outcomes are recorded afterwards."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from livinglab.models import Organisation

from .base import B2BActivity
from .marketplace import Need, Offer


class Introduction(B2BActivity):
    class Status(models.TextChoices):
        REQUESTED = "requested", _("Requested, waiting for the cluster")
        BROKERED = "brokered", _("Brokered, waiting for both firms to accept")
        ACCEPTED = "accepted", _("Accepted by both firms")
        DECLINED = "declined", _("Declined by a firm")
        REFUSED = "refused", _("Not brokered by the cluster")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    TRANSITIONS = {
        Status.REQUESTED: {Status.BROKERED, Status.REFUSED, Status.WITHDRAWN},
        Status.BROKERED: {Status.ACCEPTED, Status.DECLINED, Status.WITHDRAWN},
    }
    LIVE = (Status.REQUESTED, Status.BROKERED, Status.ACCEPTED)

    need = models.ForeignKey(Need, on_delete=models.PROTECT, related_name="introductions")
    offer = models.ForeignKey(Offer, on_delete=models.PROTECT, related_name="introductions")
    # The cluster organisation whose staff broker it.
    broker = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="brokered_introductions",
        limit_choices_to={"kind": Organisation.Kind.CLUSTER},
        verbose_name=_("cluster organisation"),
    )
    # The firm that asked (the buyer or the supplier); empty when cluster staff proposed it.
    requested_by = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    requested_by_user = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    message = models.TextField(_("why this introduction"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.REQUESTED)
    nda_required = models.BooleanField(_("non-disclosure agreement required"), default=False)
    nda_text = models.TextField(_("non-disclosure agreement"), blank=True)
    nda_sha256 = models.CharField(max_length=64, blank=True, editable=False)
    brokered_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    broker_note = models.TextField(_("note from the cluster"), blank=True)
    reason = models.CharField(_("reason"), max_length=400, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    brokered_at = models.DateTimeField(null=True, blank=True)
    accepted_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    # Each notice is mailed once: its task claims the timestamp before sending.
    requested_mailed_at = models.DateTimeField(null=True, blank=True, editable=False)
    brokered_mailed_at = models.DateTimeField(null=True, blank=True, editable=False)
    accepted_mailed_at = models.DateTimeField(null=True, blank=True, editable=False)
    closed_mailed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("introduction")
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["need", "offer"],
                condition=Q(status__in=["requested", "brokered", "accepted"]),
                name="b2b_one_live_introduction_per_pair",
            )
        ]
        indexes = [models.Index(fields=["status", "created_at"], name="b2b_intro_status_created")]

    def __str__(self):
        return _("Introduction #%(pk)s") % {"pk": self.pk}

    @property
    def buyer_id(self) -> int:
        return self.need.organisation_id

    @property
    def supplier_id(self) -> int:
        return self.offer.organisation_id

    def parties(self) -> tuple[int, int]:
        return (self.need.organisation_id, self.offer.organisation_id)

    def can_move_to(self, status: str) -> bool:
        return status in self.TRANSITIONS.get(self.status, set())

    @property
    def is_accepted(self) -> bool:
        """Both firms accepted: outcomes are recorded and projects start only now."""
        return self.status == self.Status.ACCEPTED


class IntroductionAcceptance(models.Model):
    """One firm's acceptance of a brokered introduction: who, when, and the NDA text it agreed to."""

    introduction = models.ForeignKey(Introduction, on_delete=models.CASCADE, related_name="acceptances")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    nda_sha256 = models.CharField(max_length=64, blank=True)
    accepted_at = models.DateTimeField()

    class Meta:
        verbose_name = _("acceptance of an introduction")
        constraints = [
            models.UniqueConstraint(
                fields=["introduction", "organisation"], name="b2b_one_acceptance_per_firm"
            )
        ]

    def __str__(self):
        return f"{self.organisation_id} accepts introduction {self.introduction_id}"


class IntroductionOutcome(models.Model):
    """What came of an accepted introduction; recorded by either firm or the cluster, never edited."""

    class Kind(models.TextChoices):
        MEETING_HELD = "meeting", _("Meeting held")
        CODEVELOPMENT = "codevelopment", _("Co-development started")
        NO_FIT = "no_fit", _("No fit")

    introduction = models.ForeignKey(Introduction, on_delete=models.CASCADE, related_name="outcomes")
    kind = models.CharField(_("outcome"), max_length=15, choices=Kind.choices)
    occurred_on = models.DateField(_("date"))
    note = models.TextField(_("note"), blank=True)
    recorded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    recorded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("outcome of an introduction")
        ordering = ["occurred_on", "pk"]

    def __str__(self):
        return self.get_kind_display()
