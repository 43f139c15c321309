"""Questionnaires of a campaign or a session, their questions, and the answers stored against the
participant's pseudonymous code. The same engine serves every questionnaire on the platform."""

from django.conf import settings
from django.db import models
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from livinglab.models import Organisation, Person

from .campaigns import Campaign
from .rights import private_storage
from .sessions import CampaignSession


class QuestionKind(models.TextChoices):
    LIKERT5 = "likert5", _("Agreement scale, 5 points")
    LIKERT7 = "likert7", _("Agreement scale, 7 points")
    SUS = "sus", _("System Usability Scale (10 standard statements)")
    NPS = "nps", _("Net Promoter (0–10)")
    SINGLE = "single", _("Single choice")
    MULTIPLE = "multiple", _("Multiple choice")
    RATING = "rating", _("Rating (stars)")
    RANKING = "ranking", _("Ranking")
    TEXT = "text", _("Free text")


class Questionnaire(models.Model):
    """A set of questions attached to a campaign, or to one of its sessions."""

    class Status(models.TextChoices):
        DRAFT = "draft", _("Being written")
        OPEN = "open", _("Open for answers")
        CLOSED = "closed", _("Closed")

    TRANSITIONS = {
        Status.DRAFT: {Status.OPEN},
        Status.OPEN: {Status.CLOSED},
        Status.CLOSED: {Status.OPEN},
    }

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="questionnaires")
    session = models.ForeignKey(
        CampaignSession, null=True, blank=True, on_delete=models.CASCADE, related_name="questionnaires"
    )
    # Titles and question texts are {language code: text}; the first language is the default.
    title = models.JSONField(_("title"), default=dict)
    introduction = models.JSONField(_("introduction"), default=dict, blank=True)
    languages = models.JSONField(default=list)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT)
    closes_at = models.DateTimeField(_("closes at"), null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("questionnaire")
        ordering = ["campaign", "pk"]

    def __str__(self):
        return next(iter(self.title.values()), "") or str(_("Questionnaire #%(pk)s") % {"pk": self.pk})


class Question(models.Model):
    """One question. ``options`` holds choices ``[{"value": "a", "label": {"en": "…"}}]``; ``show_if`` a
    condition on an earlier question ``{"question": "key", "operator": "eq|ne|in|gte|lte|answered",
    "value": …}``; ``firm`` marks a joint survey's question as one firm's own (empty: shared)."""

    questionnaire = models.ForeignKey(Questionnaire, on_delete=models.CASCADE, related_name="questions")
    position = models.PositiveSmallIntegerField()
    key = models.SlugField(max_length=40)
    kind = models.CharField(max_length=10, choices=QuestionKind.choices)
    text = models.JSONField(default=dict)
    help_text = models.JSONField(default=dict, blank=True)
    options = models.JSONField(default=list, blank=True)
    scale_max = models.PositiveSmallIntegerField(null=True, blank=True)  # rating: number of stars
    required = models.BooleanField(default=True)
    show_if = models.JSONField(null=True, blank=True)
    firm = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.PROTECT, related_name="survey_questions"
    )

    class Meta:
        ordering = ["questionnaire", "position"]
        constraints = [
            models.UniqueConstraint(fields=["questionnaire", "key"], name="unique_question_key"),
            models.UniqueConstraint(fields=["questionnaire", "position"], name="unique_question_position"),
        ]

    def __str__(self):
        return self.key


class Response(models.Model):
    """One participant's answers to one questionnaire: saved as they go, submitted once."""

    audit_pseudonymous = True
    wagtail_reference_index_ignore = True

    class Status(models.TextChoices):
        IN_PROGRESS = "in_progress", _("Started, not submitted")
        SUBMITTED = "submitted", _("Submitted")

    questionnaire = models.ForeignKey(Questionnaire, on_delete=models.CASCADE, related_name="responses")
    # Empty once anonymised after a withdrawal the campaign's consent terms allowed to keep anonymously.
    person = models.ForeignKey(
        Person, null=True, blank=True, on_delete=models.SET_NULL, related_name="responses"
    )
    code = models.CharField(max_length=12)  # the participant's pseudonymous code; all that results show
    # Profile attributes the person agreed to share, copied when they submit: results compare by them.
    attributes = models.JSONField(default=dict, blank=True)
    language = models.CharField(max_length=8, blank=True)
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.IN_PROGRESS)
    page = models.PositiveSmallIntegerField(default=0)  # where to resume
    started_at = models.DateTimeField(auto_now_add=True)
    submitted_at = models.DateTimeField(null=True, blank=True)
    anonymised_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["questionnaire", "pk"]
        constraints = [
            models.UniqueConstraint(
                fields=["questionnaire", "person"],
                condition=Q(person__isnull=False),
                name="one_response_per_person",
            )
        ]
        indexes = [models.Index(fields=["questionnaire", "status"])]

    def __str__(self):
        return self.code


class Answer(models.Model):
    """One answer. Numbers (scales, SUS score, NPS, rating) in ``number``; choices, rankings and the ten SUS
    item answers in ``value``; free text in ``text``."""

    audit_pseudonymous = True
    wagtail_reference_index_ignore = True

    response = models.ForeignKey(Response, on_delete=models.CASCADE, related_name="answers")
    question = models.ForeignKey(Question, on_delete=models.CASCADE, related_name="answers")
    number = models.FloatField(null=True, blank=True)
    value = models.JSONField(null=True, blank=True)
    text = models.TextField(blank=True)
    tags = models.ManyToManyField("AnswerTag", blank=True, related_name="answers")

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["response", "question"], name="one_answer_per_question")
        ]
        indexes = [models.Index(fields=["question", "response"])]

    def __str__(self):
        return _("Answer #%(pk)s") % {"pk": self.pk}


class AnswerTag(models.Model):
    """A label staff put on free-text answers to group them (e.g. "battery", "too small")."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="answer_tags")
    name = models.CharField(_("tag"), max_length=60)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["campaign", "name"], name="unique_tag_per_campaign")]

    def __str__(self):
        return self.name


class ResultsFile(models.Model):
    """A file made in the background from a campaign's results: a CSV or XLSX export of the answers, or the
    PDF report. Each shows its progress; only the newest of each kind is offered."""

    class Kind(models.TextChoices):
        CSV = "csv", _("Answers, CSV")
        XLSX = "xlsx", _("Answers, Excel")
        REPORT = "report", _("Report, PDF")

    class Status(models.TextChoices):
        QUEUED = "queued", _("Waiting to start")
        RUNNING = "running", _("Being prepared")
        READY = "ready", _("Ready to download")
        FAILED = "failed", _("Failed")

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="results_files")
    kind = models.CharField(max_length=6, choices=Kind.choices)
    # The firm a joint survey's export is made for (its own and the shared questions only); empty: all.
    for_firm = models.ForeignKey(
        Organisation, null=True, blank=True, on_delete=models.CASCADE, related_name="+"
    )
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    progress = models.PositiveSmallIntegerField(default=0)
    file = models.FileField(storage=private_storage, upload_to="campaign-results/", blank=True)
    results_version = models.PositiveIntegerField(default=0)  # the campaign's answers it was made from
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+"
    )
    created_at = models.DateTimeField(auto_now_add=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    error = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self):
        return f"{self.campaign} — {self.get_kind_display()}"
