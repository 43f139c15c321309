"""Bids. A bid's existence is visible to the authority (it knows how many arrived); its content — answers,
price, documents — is sealed until the phase's bid deadline.

The seal lives in the data access layer: ``BidContent.objects`` and ``BidDocument.objects`` return only
content whose deadline has passed, whoever asks — views, the admin, the API and the shell all go through
them. The bidder's own consortium reads its content before the deadline through
``BidContent.objects.of_own_bid(bid, organisation)``, which checks that ``organisation`` leads or belongs to
the bid's consortium."""

import hashlib

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from livinglab.models import Organisation

from .consortia import Consortium, ConsortiumMember
from .procurements import AwardCriterion, Phase


def private_storage():
    from django.core.files.storage import storages

    return storages["private"]


class Bid(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    phase = models.ForeignKey(Phase, on_delete=models.PROTECT, related_name="bids")
    consortium = models.ForeignKey(Consortium, on_delete=models.PROTECT, related_name="bids")
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    withdrawn_at = models.DateTimeField(null=True, blank=True)
    # SHA-256 over the canonical content and the documents' hashes at submission: the bidder's receipt.
    receipt_sha256 = models.CharField(max_length=64, blank=True)
    # The receipt is e-mailed once: the task claims this timestamp before sending.
    receipt_mailed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("bid")
        ordering = ["phase", "submitted_at", "pk"]
        constraints = [
            # One live bid (draft or submitted) per consortium and phase; withdrawn ones stay as history.
            models.UniqueConstraint(
                fields=["phase", "consortium"],
                condition=Q(status__in=["draft", "submitted"]),
                name="one_live_bid_per_consortium_and_phase",
            )
        ]

    def __str__(self):
        return _("Bid #%(pk)s by %(consortium)s") % {"pk": self.pk, "consortium": self.consortium}


class SealedQuerySet(models.QuerySet):
    def of_own_bid(self, bid: Bid, organisation: Organisation | None):
        """Content of ``bid`` for a member of its consortium, deadline or not; nothing for anybody else."""
        is_member = (
            organisation is not None
            and ConsortiumMember.objects.filter(
                consortium_id=bid.consortium_id,
                organisation=organisation,
                status=ConsortiumMember.Status.ACCEPTED,
            ).exists()
        )
        if not is_member:
            return self.none()
        return self.model._base_manager.filter(bid=bid)


class SealedManager(models.Manager.from_queryset(SealedQuerySet)):
    """Only content whose phase's bid deadline has passed (evaluated at query time)."""

    def get_queryset(self):
        return super().get_queryset().filter(bid__phase__bid_deadline__lte=timezone.now())


class BidContent(models.Model):
    """The sealed part of a bid: the answer to each criterion, the price and a summary."""

    bid = models.OneToOneField(Bid, on_delete=models.CASCADE, related_name="+")
    summary = models.TextField(_("summary of the proposed solution"), blank=True)
    price = models.DecimalField(_("price (EUR, excluding VAT)"), max_digits=14, decimal_places=2, null=True)
    # {criterion id (str): answer text}
    answers = models.JSONField(default=dict, blank=True)

    objects = SealedManager()

    class Meta:
        verbose_name = _("bid content")
        # The sealed manager is what the admin, forms and every generic view use. Django's base manager
        # stays unfiltered only so that deleting a draft bid cascades to its content.
        default_manager_name = "objects"

    def __str__(self):
        return f"content of bid #{self.bid_id}"

    def answer_for(self, criterion: AwardCriterion) -> str:
        return self.answers.get(str(criterion.pk), "")


class BidDocument(models.Model):
    """A document attached to a bid; sealed like the content, stored outside the public media folder."""

    bid = models.ForeignKey(Bid, on_delete=models.CASCADE, related_name="+")
    file = models.FileField(storage=private_storage, upload_to="bids/%Y/")
    name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_at = models.DateTimeField(auto_now_add=True)

    objects = SealedManager()

    class Meta:
        verbose_name = _("bid document")
        ordering = ["uploaded_at"]
        default_manager_name = "objects"

    def __str__(self):
        return self.name


def file_sha256(fileobj) -> str:
    digest = hashlib.sha256()
    for chunk in fileobj.chunks():
        digest.update(chunk)
    return digest.hexdigest()
