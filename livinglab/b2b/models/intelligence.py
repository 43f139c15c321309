"""Market-intelligence reports and user-insight briefs that staff publish to member firms by topic, the
topics firms subscribe to, and the digests sent to them. Briefs hold aggregated, anonymous findings only."""

from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from livinglab.models import Organisation


class Topic(models.Model):
    name = models.CharField(_("name"), max_length=120)
    slug = models.SlugField(_("web address"), max_length=80, unique=True)
    description = models.CharField(_("description"), max_length=400, blank=True)

    class Meta:
        verbose_name = _("topic")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Report(models.Model):
    class Kind(models.TextChoices):
        MARKET = "market", _("Market-intelligence report")
        INSIGHT = "insight", _("User-insight brief")

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        PUBLISHED = "published", _("Published")
        WITHDRAWN = "withdrawn", _("Withdrawn")

    kind = models.CharField(_("kind"), max_length=10, choices=Kind.choices)
    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(_("web address"), max_length=80, unique=True)
    topics = models.ManyToManyField(Topic, related_name="reports", verbose_name=_("topics"))
    publisher = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="+",
        limit_choices_to={"kind": Organisation.Kind.CLUSTER},
        verbose_name=_("published by"),
    )
    summary = models.TextField(_("summary"))
    body = models.TextField(_("findings"))
    # Campaigns an insight brief draws on; only their aggregated figures are shown (``intelligence`` service).
    campaigns = models.ManyToManyField(
        "pilots.Campaign", blank=True, related_name="+", verbose_name=_("campaigns")
    )
    # Aggregated figures frozen at publication: [{"label": …, "value": …, "base": n}], never personal data.
    figures = models.JSONField(default=list, blank=True)
    status = models.CharField(_("status"), max_length=10, choices=Status.choices, default=Status.DRAFT)
    published_at = models.DateTimeField(null=True, blank=True)
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("report")
        ordering = ["-published_at", "-pk"]
        indexes = [models.Index(fields=["status", "published_at"], name="b2b_report_published")]

    def __str__(self):
        return self.title


class TopicSubscription(models.Model):
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="b2b_subscriptions"
    )
    topic = models.ForeignKey(Topic, on_delete=models.CASCADE, related_name="subscriptions")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("topic subscription")
        constraints = [
            models.UniqueConstraint(fields=["user", "topic"], name="b2b_one_subscription_per_topic")
        ]

    def __str__(self):
        return f"{self.user_id} → {self.topic_id}"


class DigestDelivery(models.Model):
    """One digest mail per subscriber and period, claimed before sending: a retried task never sends twice."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    period_end = models.DateTimeField()
    reports = models.ManyToManyField(Report, related_name="+")
    claimed_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        verbose_name = _("digest delivery")
        constraints = [
            models.UniqueConstraint(fields=["user", "period_end"], name="b2b_one_digest_per_period")
        ]

    def __str__(self):
        return f"digest for {self.user_id} to {self.period_end:%Y-%m-%d}"
