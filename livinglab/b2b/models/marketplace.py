"""Needs (what buyer firms are looking for) and offers (what suppliers can do), with the tags both are
matched on, and the stored match suggestions between them.

Confidentiality is decided per listing (``Visibility``) and enforced in one place,
``livinglab.b2b.disclosure``. Every page, export and mail shows a listing through it; the
``CONFIDENTIAL_FIELDS`` named here are the ones it withholds until an accepted introduction."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from livinglab.models import Organisation


class Tag(models.Model):
    """A sector or technology keyword that needs and offers share; staff keep the list tidy."""

    class Kind(models.TextChoices):
        SECTOR = "sector", _("Sector")
        TECHNOLOGY = "technology", _("Technology")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    name = models.CharField(_("name"), max_length=80)
    slug = models.SlugField(_("web address"), max_length=80)

    class Meta:
        verbose_name = _("tag")
        ordering = ["kind", "name"]
        constraints = [models.UniqueConstraint(fields=["kind", "slug"], name="b2b_unique_tag")]

    def __str__(self):
        return self.name


class Visibility(models.TextChoices):
    MEMBERS = "members", _("Public to member firms")
    STAFF = "staff", _("Visible to cluster staff only")
    INTRODUCTION = "introduction", _("Details revealed only after an accepted introduction")


class ListingStatus(models.TextChoices):
    DRAFT = "draft", _("Draft")
    PUBLISHED = "published", _("Published")
    CLOSED = "closed", _("Closed")


class ListingQuerySet(models.QuerySet):
    def published(self):
        return self.filter(status=ListingStatus.PUBLISHED)

    def listed_to_members(self):
        """Published listings other firms may find (staff-only ones are brokered by staff instead)."""
        return self.published().exclude(visibility=Visibility.STAFF)


class Listing(models.Model):
    """Abstract: what needs and offers share. ``title``, ``summary`` and the tags are the teaser every member
    firm may read (unless the listing is staff-only); the rest is confidential by ``visibility``."""

    # Shown before an accepted introduction only when the listing is public to members.
    CONFIDENTIAL_FIELDS = ("organisation", "description", "contact")

    organisation = models.ForeignKey(Organisation, on_delete=models.PROTECT, related_name="+")
    title = models.CharField(_("title"), max_length=200)
    summary = models.CharField(
        _("short summary"),
        max_length=400,
        help_text=_("One or two sentences every member firm may read, without confidential details."),
    )
    description = models.TextField(
        _("full description"), help_text=_("The details, confidential by your choice.")
    )
    sectors = models.ManyToManyField(
        Tag,
        blank=True,
        related_name="+",
        limit_choices_to={"kind": Tag.Kind.SECTOR},
        verbose_name=_("sectors"),
    )
    technologies = models.ManyToManyField(
        Tag,
        blank=True,
        related_name="+",
        limit_choices_to={"kind": Tag.Kind.TECHNOLOGY},
        verbose_name=_("technologies"),
    )
    visibility = models.CharField(
        _("who may see it"), max_length=12, choices=Visibility.choices, default=Visibility.INTRODUCTION
    )
    status = models.CharField(
        _("status"), max_length=10, choices=ListingStatus.choices, default=ListingStatus.DRAFT
    )
    contact = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("contact person"),
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    published_at = models.DateTimeField(null=True, blank=True)

    objects = ListingQuerySet.as_manager()

    class Meta:
        abstract = True
        ordering = ["-published_at", "-pk"]

    def __str__(self):
        return self.title

    def matching_text(self) -> str:
        """The words the matcher compares; confidential text counts too, but is never shown as a reason
        unless the reader may see it (see ``livinglab.b2b.matching``)."""
        return " ".join((self.title, self.summary, self.description))


class Need(Listing):
    """A problem a buyer firm wants solved."""

    class Timeframe(models.TextChoices):
        NOW = "now", _("Within 6 months")
        YEAR = "year", _("Within 6 to 12 months")
        LATER = "later", _("In 1 to 2 years")
        EXPLORING = "exploring", _("Exploring, no date yet")

    CONFIDENTIAL_FIELDS = (*Listing.CONFIDENTIAL_FIELDS, "users_affected", "budget")

    users_affected = models.TextField(
        _("users affected"), help_text=_("Who lives with the problem today: staff, customers, patients…")
    )
    timeframe = models.CharField(_("timeframe"), max_length=10, choices=Timeframe.choices)
    budget = models.CharField(_("indicative budget"), max_length=120, blank=True)

    class Meta(Listing.Meta):
        verbose_name = _("need")
        indexes = [models.Index(fields=["status", "visibility"], name="b2b_need_status_vis")]


class Offer(Listing):
    """What a supplier firm can do: a product, a service or a capability."""

    class Kind(models.TextChoices):
        PRODUCT = "product", _("Product")
        SERVICE = "service", _("Service")
        CAPABILITY = "capability", _("Capability or expertise")

    class Maturity(models.TextChoices):
        IDEA = "idea", _("Idea or concept")
        PROTOTYPE = "prototype", _("Prototype")
        PILOT = "pilot", _("Piloted with customers")
        MARKET = "market", _("On the market")

    CONFIDENTIAL_FIELDS = (*Listing.CONFIDENTIAL_FIELDS, "references")

    kind = models.CharField(_("kind"), max_length=12, choices=Kind.choices, default=Kind.PRODUCT)
    maturity = models.CharField(_("maturity"), max_length=10, choices=Maturity.choices)
    references = models.TextField(_("references and customers"), blank=True)

    class Meta(Listing.Meta):
        verbose_name = _("offer")
        indexes = [models.Index(fields=["status", "visibility"], name="b2b_offer_status_vis")]


class Match(models.Model):
    """A suggested need–offer pair, recomputed by ``livinglab.b2b.matching``; ``reasons`` says why."""

    need = models.ForeignKey(Need, on_delete=models.CASCADE, related_name="matches")
    offer = models.ForeignKey(Offer, on_delete=models.CASCADE, related_name="matches")
    score = models.FloatField(_("score"))
    tag_score = models.FloatField()
    text_score = models.FloatField()
    # {"sectors": [tag ids], "technologies": [tag ids], "terms": [words shared by both texts]}
    reasons = models.JSONField(default=dict)
    computed_at = models.DateTimeField()

    class Meta:
        verbose_name = _("suggested match")
        verbose_name_plural = _("suggested matches")
        ordering = ["-score", "pk"]
        constraints = [models.UniqueConstraint(fields=["need", "offer"], name="b2b_one_match_per_pair")]
        indexes = [models.Index(fields=["offer", "-score"], name="b2b_match_offer_score")]

    def __str__(self):
        return f"{self.need_id} ↔ {self.offer_id} ({self.score:.2f})"
