"""The directory of service providers firms are pointed to: design, IPR, financing, internationalisation
and testing — including living labs and design centres abroad for market tests. Staff curate it."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_countries.fields import CountryField

from livinglab.models import Organisation


class Service(models.TextChoices):
    DESIGN = "design", _("Design")
    IPR = "ipr", _("Intellectual property")
    FINANCING = "financing", _("Financing")
    INTERNATIONALISATION = "international", _("Internationalisation")
    TESTING = "testing", _("Testing and certification")
    LIVING_LAB = "living_lab", _("Living lab (market tests)")
    DESIGN_CENTRE = "design_centre", _("Design centre")


class ProviderQuerySet(models.QuerySet):
    def listed(self):
        return self.filter(status=ServiceProvider.Status.LISTED)


class ServiceProvider(models.Model):
    class Status(models.TextChoices):
        PROPOSED = "proposed", _("Proposed, waiting for review")
        LISTED = "listed", _("Listed")
        HIDDEN = "hidden", _("Hidden")

    name = models.CharField(_("name"), max_length=200)
    slug = models.SlugField(_("web address"), max_length=80, unique=True)
    organisation = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.SET_NULL, related_name="service_listings"
    )
    description = models.TextField(_("what they offer"))
    country = CountryField(_("country"))
    region = models.CharField(_("region"), max_length=120, blank=True)
    website = models.URLField(_("website"), blank=True)
    # Contact requests are mailed here; the address itself is never shown on the platform.
    contact_email = models.EmailField(_("e-mail address for contact requests"))
    languages = models.CharField(_("languages"), max_length=200, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.PROPOSED)
    curated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    curated_at = models.DateTimeField(null=True, blank=True)
    curator_note = models.CharField(_("note from the cluster"), max_length=400, blank=True)
    proposed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # When the cluster staff were told of the proposal (mailed once).
    proposal_mailed_at = models.DateTimeField(null=True, blank=True, editable=False)

    objects = ProviderQuerySet.as_manager()

    class Meta:
        verbose_name = _("service provider")
        ordering = ["name", "pk"]
        indexes = [models.Index(fields=["status", "country", "region"], name="b2b_provider_place")]

    def __str__(self):
        return self.name


class ProviderService(models.Model):
    """One service a provider offers (a provider offers several)."""

    provider = models.ForeignKey(ServiceProvider, on_delete=models.CASCADE, related_name="services")
    service = models.CharField(_("service"), max_length=15, choices=Service.choices)

    class Meta:
        verbose_name = _("service offered")
        constraints = [
            models.UniqueConstraint(fields=["provider", "service"], name="b2b_one_row_per_service")
        ]
        indexes = [models.Index(fields=["service", "provider"], name="b2b_service_provider")]

    def __str__(self):
        return self.get_service_display()


class ContactRequest(models.Model):
    """A firm asks a provider to get in touch; the platform mails the provider, and the firm sees it sent."""

    provider = models.ForeignKey(ServiceProvider, on_delete=models.CASCADE, related_name="contact_requests")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    user = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    service = models.CharField(_("service"), max_length=15, choices=Service.choices)
    message = models.TextField(_("message"))
    created_at = models.DateTimeField(auto_now_add=True)
    mailed_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        verbose_name = _("contact request")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return _("Contact request #%(pk)s") % {"pk": self.pk}
