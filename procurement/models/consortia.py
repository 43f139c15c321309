"""Partner search and consortia: firms and research organisations that bid together, led by one of them."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from livinglab.models import Organisation

from .procurements import Procurement


class PartnerPost(models.Model):
    """A post on a call's partner-search board: what an organisation can bring, or what it looks for."""

    class Kind(models.TextChoices):
        CAPABILITY = "capability", _("We offer")
        NEED = "need", _("We are looking for")

    procurement = models.ForeignKey(Procurement, on_delete=models.CASCADE, related_name="partner_posts")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    posted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=200)
    text = models.TextField(_("details"))
    created_at = models.DateTimeField(auto_now_add=True)
    closed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("partner-search post")
        ordering = ["-created_at"]

    def __str__(self):
        return self.title


class Consortium(models.Model):
    """Organisations bidding together under one lead, across the phases of one procurement."""

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed by the cluster organisation")
        FORMING = "forming", _("Forming")
        FORMED = "formed", _("Formed")
        DISSOLVED = "dissolved", _("Dissolved")

    procurement = models.ForeignKey(Procurement, on_delete=models.CASCADE, related_name="consortia")
    name = models.CharField(_("name"), max_length=200)
    lead = models.ForeignKey(
        Organisation, verbose_name=_("lead"), on_delete=models.PROTECT, related_name="led_consortia"
    )
    proposed_by = models.ForeignKey(
        Organisation,
        verbose_name=_("proposed by"),
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
    )
    agreement_text = models.TextField(
        _("consortium agreement"),
        help_text=_("What the partners agree on: roles, work share, IPR between partners, liability."),
    )
    agreement_sha256 = models.CharField(max_length=64, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.FORMING)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    # The proposed lead is e-mailed once: the task claims this timestamp before sending.
    proposal_mailed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("consortium")
        verbose_name_plural = _("consortia")
        ordering = ["procurement", "name"]
        constraints = [
            models.UniqueConstraint(fields=["procurement", "name"], name="unique_consortium_name"),
        ]

    def __str__(self):
        return self.name

    def member_organisations(self):
        """Every organisation in the consortium that has accepted (the lead included)."""
        return Organisation.objects.filter(
            pcp_consortium_memberships__consortium=self,
            pcp_consortium_memberships__status=ConsortiumMember.Status.ACCEPTED,
        )


class ConsortiumMember(models.Model):
    class Role(models.TextChoices):
        LEAD = "lead", _("Lead")
        PARTNER = "partner", _("Partner")

    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed")
        INVITED = "invited", _("Invited")
        ACCEPTED = "accepted", _("Accepted")
        DECLINED = "declined", _("Declined")
        LEFT = "left", _("Left")

    consortium = models.ForeignKey(Consortium, on_delete=models.CASCADE, related_name="members")
    organisation = models.ForeignKey(
        Organisation, on_delete=models.PROTECT, related_name="pcp_consortium_memberships"
    )
    role = models.CharField(_("role"), max_length=10, choices=Role.choices, default=Role.PARTNER)
    contribution = models.TextField(_("contribution"), blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.INVITED)
    invited_at = models.DateTimeField(auto_now_add=True)
    # Each invitation (a new one after a decline or a changed agreement resets it) is e-mailed once.
    invitation_mailed_at = models.DateTimeField(null=True, blank=True, editable=False)
    responded_at = models.DateTimeField(null=True, blank=True)
    # The agreement version the member accepted, and who accepted it for the organisation.
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    agreement_sha256 = models.CharField(max_length=64, blank=True)

    class Meta:
        verbose_name = _("consortium member")
        # "lead" sorts before "partner".
        ordering = ["consortium", "role", "organisation__name"]
        constraints = [
            models.UniqueConstraint(fields=["consortium", "organisation"], name="unique_consortium_member"),
            models.UniqueConstraint(
                fields=["consortium"], condition=Q(role="lead"), name="one_lead_per_consortium"
            ),
        ]

    def __str__(self):
        return f"{self.organisation} ({self.get_role_display()})"
