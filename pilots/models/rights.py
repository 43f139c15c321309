"""Imports of member lists, and the participant's own data rights: exports (Art. 15/20) and erasure
receipts (Art. 17)."""

import uuid

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from livinglab.models import Person

from .panels import Panel


def private_storage():
    from django.core.files.storage import storages

    return storages["private"]


class PanelImport(models.Model):
    """A CSV or XLSX list of members: uploaded, mapped to profile fields, validated, then imported whole or
    not at all."""

    # Audit entries name it by type and id: a file name can hold a person's name.
    audit_pseudonymous = True

    class Status(models.TextChoices):
        UPLOADED = "uploaded", _("Uploaded: map the columns")
        RUNNING = "running", _("Being checked and imported")
        INVALID = "invalid", _("Rows with errors: nothing imported")
        IMPORTED = "imported", _("Imported")

    panel = models.ForeignKey(Panel, on_delete=models.CASCADE, related_name="imports")
    file = models.FileField(storage=private_storage, upload_to="panel-imports/")
    original_name = models.CharField(max_length=200)
    file_sha256 = models.CharField(max_length=64)
    mapping = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.UPLOADED)
    row_count = models.PositiveIntegerField(default=0)
    processed_count = models.PositiveIntegerField(default=0)  # progress of validation and import
    created_count = models.PositiveIntegerField(default=0)
    existing_count = models.PositiveIntegerField(default=0)
    errors = models.JSONField(default=list, blank=True)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return self.original_name


class DataExport(models.Model):
    """Everything the platform holds about a person, prepared in the background as JSON and CSV."""

    audit_pseudonymous = True

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting to start")
        RUNNING = "running", _("Being prepared")
        READY = "ready", _("Ready to download")
        FAILED = "failed", _("Failed")

    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="data_exports")
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    file = models.FileField(storage=private_storage, upload_to="data-exports/", blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return _("Data export #%(pk)s") % {"pk": self.pk}


class ErasureReceipt(models.Model):
    """Proof that a person's data was erased: a reference and what was erased, nothing identifying."""

    reference = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    person_ref = models.CharField(max_length=40)
    requested_by = models.CharField(max_length=20)
    summary = models.JSONField(default=dict)
    erased_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-erased_at"]

    def __str__(self):
        return str(self.reference)


def contact_digest(email: str) -> str:
    """A keyed hash of an e-mail address (the site's secret is the key): it recognises the address again
    without holding it."""
    from django.utils.crypto import salted_hmac

    return salted_hmac("pilots.erased-contact", email.strip().lower(), algorithm="sha256").hexdigest()


class ErasedContact(models.Model):
    """An address whose owner had their data erased. Lists imported later skip it: importing it again
    would undo the erasure. Only the keyed hash is kept."""

    digest = models.CharField(max_length=64, unique=True)
    erased_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("erased contact")

    def __str__(self):
        return self.digest[:12]
