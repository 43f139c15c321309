"""Co-development projects: a buyer, one or more suppliers and optionally research organisations working
towards goals and milestones under an IP arrangement. Only the partners and cluster staff see a project."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from livinglab.models import Organisation

from .base import B2BActivity, private_storage
from .introductions import Introduction


class Project(B2BActivity):
    class Status(models.TextChoices):
        ACTIVE = "active", _("Running")
        COMPLETED = "completed", _("Completed")
        STOPPED = "stopped", _("Stopped")

    class Ownership(models.TextChoices):
        BUYER = "buyer", _("The buyer owns the results")
        SUPPLIER = "supplier", _("The supplier owns the results")
        JOINT = "joint", _("Results are owned jointly")
        GENERATOR = "generator", _("Each partner owns what it generates")

    class Exclusivity(models.TextChoices):
        NONE = "none", _("No exclusivity")
        FIELD = "field", _("Exclusive in the buyer's field of use")
        FULL = "full", _("Fully exclusive for the buyer")

    TRANSITIONS = {Status.ACTIVE: {Status.COMPLETED, Status.STOPPED}}

    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(_("web address"), max_length=80, unique=True)
    introduction = models.ForeignKey(
        Introduction, null=True, blank=True, on_delete=models.PROTECT, related_name="projects"
    )
    broker = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"kind": Organisation.Kind.CLUSTER},
        verbose_name=_("cluster organisation"),
    )
    goals = models.TextField(_("goals"))
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.ACTIVE)
    ip_ownership = models.CharField(_("who owns the results"), max_length=10, choices=Ownership.choices)
    licence_terms = models.TextField(
        _("licences"), help_text=_("Who may use which results, for what, and on which terms.")
    )
    exclusivity = models.CharField(
        _("exclusivity"), max_length=5, choices=Exclusivity.choices, default=Exclusivity.NONE
    )
    exclusivity_until = models.DateField(_("exclusive until"), null=True, blank=True)
    confidentiality = models.TextField(
        _("confidentiality"), help_text=_("What the partners keep confidential, and for how long.")
    )
    test_campaign = models.OneToOneField(
        "pilots.Campaign", null=True, blank=True, on_delete=models.SET_NULL, related_name="b2b_project"
    )
    started_on = models.DateField(_("start date"))
    ended_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("co-development project")
        ordering = ["-started_on", "-pk"]

    def __str__(self):
        return self.title


class ProjectPartner(models.Model):
    class Role(models.TextChoices):
        BUYER = "buyer", _("Buyer")
        SUPPLIER = "supplier", _("Supplier")
        RESEARCH = "research", _("Research organisation")

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="partners")
    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="b2b_projects")
    role = models.CharField(_("role"), max_length=10, choices=Role.choices)
    joined_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("project partner")
        ordering = ["role", "organisation__name"]
        constraints = [
            models.UniqueConstraint(fields=["project", "organisation"], name="b2b_one_partner_row_per_firm")
        ]

    def __str__(self):
        return f"{self.organisation} ({self.get_role_display()})"


class ProjectMilestone(models.Model):
    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="milestones")
    title = models.CharField(_("milestone"), max_length=200)
    due_on = models.DateField(_("due"))
    done_at = models.DateTimeField(null=True, blank=True)
    done_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        verbose_name = _("project milestone")
        ordering = ["due_on", "pk"]

    def __str__(self):
        return self.title


class ProjectDocument(models.Model):
    """A document shared between the partners; stored outside the public media folder."""

    project = models.ForeignKey(Project, on_delete=models.CASCADE, related_name="documents")
    title = models.CharField(_("title"), max_length=200)
    file = models.FileField(storage=private_storage, upload_to="b2b/projects/%Y/")
    name = models.CharField(_("file name"), max_length=200)
    content_type = models.CharField(max_length=100)
    size = models.PositiveBigIntegerField()
    sha256 = models.CharField(max_length=64)
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    uploaded_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("project document")
        ordering = ["-uploaded_at", "-pk"]

    def __str__(self):
        return self.title
