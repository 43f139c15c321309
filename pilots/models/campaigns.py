"""Test campaigns: a firm's (or an authority's) request to test something new with users, hosted and reviewed
by a cluster organisation's living lab, with what participants can expect and the terms they accept."""

import hashlib

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from livinglab.models import ChannelActivity, ConsentPurpose, Organisation, Person

from .panels import Panel


class Maturity(models.TextChoices):
    IDEA = "idea", _("Idea or concept")
    PROTOTYPE = "prototype", _("Prototype")
    PRE_SERIES = "pre_series", _("Pre-series product")


class Method(models.TextChoices):
    CO_CREATION = "co_creation", _("Co-creation workshop")
    USABILITY = "usability", _("Usability test")
    FIELD_TRIAL = "field_trial", _("Field trial in a real-life setting")
    SURVEY = "survey", _("Survey")
    DIARY = "diary", _("Diary study")


class IdeaOwnership(models.TextChoices):
    PARTICIPANT = "participant", _("Participants keep the ideas they contribute")
    FIRM = "firm", _("The firm owns the ideas participants contribute")
    SHARED = "shared", _("Ideas are shared: the firm may use them, participants keep theirs")
    NONE = "none", _("No ideas are collected (testing only)")


class CampaignKind(models.TextChoices):
    TEST = "test", _("Test with users")
    JOINT_SURVEY = "joint_survey", _("Joint survey for several firms")
    COMPETITION = "competition", _("Idea competition")


class Campaign(ChannelActivity):
    """One test campaign, from the request to the closing report."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SUBMITTED = "submitted", _("Submitted for review")
        IN_REVIEW = "in_review", _("In review")
        APPROVED = "approved", _("Approved")
        RECRUITING = "recruiting", _("Recruiting")
        RUNNING = "running", _("Running")
        ANALYSING = "analysing", _("Analysing results")
        CLOSED = "closed", _("Closed")
        WITHDRAWN = "withdrawn", _("Withdrawn by the requester")
        REJECTED = "rejected", _("Rejected")

    TRANSITIONS = {
        Status.DRAFT: {Status.SUBMITTED, Status.WITHDRAWN},
        # The coordinator either claims the review or fast-tracks a campaign that needs none.
        Status.SUBMITTED: {Status.IN_REVIEW, Status.APPROVED, Status.WITHDRAWN},
        # Changes requested send it back to draft.
        Status.IN_REVIEW: {Status.APPROVED, Status.DRAFT, Status.REJECTED, Status.WITHDRAWN},
        Status.APPROVED: {Status.RECRUITING, Status.WITHDRAWN},
        Status.RECRUITING: {Status.RUNNING, Status.WITHDRAWN},
        Status.RUNNING: {Status.ANALYSING},
        Status.ANALYSING: {Status.CLOSED},
        Status.CLOSED: set(),
        Status.WITHDRAWN: set(),
        Status.REJECTED: set(),
    }
    # The requester edits only these; afterwards the reviewed text is what participants were promised.
    EDITABLE = {Status.DRAFT}
    # Campaigns whose participants may currently book sessions and answer questionnaires.
    ACTIVE = {Status.RECRUITING, Status.RUNNING}

    kind = models.CharField(_("kind"), max_length=15, choices=CampaignKind.choices, default=CampaignKind.TEST)
    title = models.CharField(_("title"), max_length=200)
    slug = models.SlugField(_("web address"), max_length=80, unique=True)
    lab = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="hosted_campaigns",
        limit_choices_to={"kind": Organisation.Kind.CLUSTER},
        verbose_name=_("living lab"),
    )
    requested_by = models.ForeignKey(
        Organisation,
        on_delete=models.PROTECT,
        related_name="requested_campaigns",
        verbose_name=_("requested by"),
        help_text=_("The firm, consortium lead or public authority the test is run for."),
    )
    # Consortium partners of the requester, and the firms a joint survey is run for: they see the campaign
    # and their own part of the results.
    partners = models.ManyToManyField(
        Organisation, blank=True, related_name="partner_campaigns", verbose_name=_("partner organisations")
    )
    # What is tested
    product_name = models.CharField(_("product or service under test"), max_length=200)
    product_description = models.TextField(_("description of the product or service"))
    maturity = models.CharField(_("maturity"), max_length=12, choices=Maturity.choices)
    objectives = models.TextField(_("objectives"), help_text=_("What the firm wants to learn."))
    methods = models.JSONField(_("methods"), default=list, help_text=_("One or more of the methods."))
    # Who is recruited
    panel = models.ForeignKey(
        Panel,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="campaigns",
        verbose_name=_("panel to recruit from"),
    )
    conditions = models.JSONField(_("screener"), default=dict, blank=True)
    strata = models.JSONField(default=list, blank=True)
    quotas = models.JSONField(default=list, blank=True)
    target_participants = models.PositiveIntegerField(
        _("participants wanted"), default=12, validators=[MinValueValidator(1), MaxValueValidator(100_000)]
    )
    required_purposes = models.ManyToManyField(
        ConsentPurpose, blank=True, related_name="campaigns", verbose_name=_("consent purposes required")
    )
    incentive = models.CharField(_("incentive offered"), max_length=300, blank=True)
    # Expectation statement: shown to participants before they accept, in the invitation and on the call page.
    expect_activities = models.TextField(_("what participants will do"))
    expect_time = models.CharField(_("how much time it takes"), max_length=200)
    expect_benefits = models.TextField(_("what participants get"))
    expect_not = models.TextField(
        _("what participants do not get"),
        help_text=_("For example: no payment beyond the incentive, no right to keep the prototype."),
    )
    expect_risks = models.TextField(_("risks and inconveniences"))
    # IP and confidentiality terms participants accept
    idea_ownership = models.CharField(
        _("ideas participants contribute"), max_length=12, choices=IdeaOwnership.choices
    )
    ip_terms = models.TextField(_("IP terms in plain language"), blank=True)
    nda_required = models.BooleanField(
        _("participants sign a confidentiality agreement (NDA)"), default=False
    )
    confidentiality_terms = models.TextField(_("what participants must keep confidential"), blank=True)
    firm_ground_rules = models.TextField(
        _("ground rules for the firm"),
        blank=True,
        help_text=_("Campaign-specific rules the firm accepts, e.g. no direct contact with participants."),
    )
    # What makes a review mandatory
    involves_health = models.BooleanField(_("collects health data"), default=False)
    involves_minors = models.BooleanField(_("involves people under 18"), default=False)
    involves_vulnerable = models.BooleanField(_("involves vulnerable people"), default=False)
    involves_recordings = models.BooleanField(_("makes audio, video or photo recordings"), default=False)
    retention_months = models.PositiveSmallIntegerField(
        _("keep answers for (months)"), default=24, validators=[MinValueValidator(1), MaxValueValidator(120)]
    )
    keep_anonymous_on_withdrawal = models.BooleanField(
        _("keep anonymised answers when someone withdraws"),
        default=False,
        help_text=_(
            "Only when the consent text says so; otherwise a withdrawal deletes the person's answers."
        ),
    )
    recruitment_closes_on = models.DateField(_("recruitment closes on"), null=True, blank=True)
    # The report the coordinator writes
    key_findings = models.TextField(_("key findings"), blank=True)
    recommendations = models.TextField(_("recommendations"), blank=True)
    status = models.CharField(_("status"), max_length=12, choices=Status.choices, default=Status.DRAFT)
    status_changed_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)
    # Bumped whenever answers change (submitted, withdrawn, anonymised): cached results are keyed on it.
    results_version = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("test campaign")
        ordering = ["-created_at"]
        indexes = [models.Index(fields=["status", "lab"]), models.Index(fields=["requested_by", "status"])]

    def __str__(self):
        return self.title

    @property
    def needs_review(self) -> bool:
        """Health, minors, vulnerable people or recordings: the lab must approve before recruitment."""
        return (
            self.involves_health
            or self.involves_minors
            or self.involves_vulnerable
            or self.involves_recordings
        )

    def can_move_to(self, status: str) -> bool:
        return status in self.TRANSITIONS.get(self.status, set())

    def terms_text(self) -> str:
        """The terms a participant accepts, as one text whose hash is stored with the acceptance."""
        parts = [
            str(self.get_idea_ownership_display()),
            self.ip_terms,
            str(_("Confidentiality agreement required")) if self.nda_required else "",
            self.confidentiality_terms,
        ]
        return "\n\n".join(p for p in parts if p)

    def terms_sha256(self) -> str:
        return hashlib.sha256(self.terms_text().encode()).hexdigest()


class CampaignReview(models.Model):
    """One review decision by the living lab, with its checklist and reasons."""

    class Decision(models.TextChoices):
        APPROVE = "approve", _("Approve")
        REQUEST_CHANGES = "request_changes", _("Request changes")
        REJECT = "reject", _("Reject")
        FAST_TRACK = "fast_track", _("Fast-tracked (no review needed)")

    # The checklist a reviewer ticks; each must be ticked to approve.
    CHECKLIST = {
        "expectations": _("The expectation statement is realistic and honest about the product's maturity."),
        "purposes": _("The consent purposes match the data the campaign collects."),
        "safeguards": _("The safeguards suit the group (health, minors, vulnerable people, recordings)."),
        "retention": _("The data retention period is justified."),
    }

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="reviews")
    decision = models.CharField(_("decision"), max_length=16, choices=Decision.choices)
    checklist = models.JSONField(default=dict, blank=True)
    reasons = models.TextField(_("reasons"), blank=True)
    reviewer = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    decided_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-decided_at"]

    def __str__(self):
        return f"{self.campaign} — {self.get_decision_display()}"


class ParticipantAgreement(models.Model):
    """A participant accepted the campaign's expectation statement and IP/confidentiality terms, as worded
    then (the hash of the terms text is kept)."""

    audit_pseudonymous = True
    wagtail_reference_index_ignore = True

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="agreements")
    person = models.ForeignKey(Person, on_delete=models.CASCADE, related_name="campaign_agreements")
    terms_sha256 = models.CharField(max_length=64)
    nda_accepted = models.BooleanField(default=False)
    accepted_at = models.DateTimeField(auto_now_add=True)
    accepted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["campaign", "person"], name="one_agreement_per_campaign")
        ]

    def __str__(self):
        return _("Agreement #%(pk)s") % {"pk": self.pk}
