"""Market and user intelligence: cluster staff write market-intelligence reports and user-insight briefs,
publish them to member firms by topic and withdraw them; firms subscribe to topics and get a periodic digest.

A user-insight brief shows aggregated, anonymous figures from the campaigns it draws on, frozen into
``Report.figures`` when it is published (``campaign_figures``): counts, shares and averages only, each with
the number of people it rests on, and none resting on fewer than ``MIN_GROUP`` people. Free-text answers are
never read, and no name, e-mail address, pseudonymous code or id of a person is ever part of a figure.

The digest (``tasks.intelligence.send_topic_digests``, Celery beat) covers, for each subscriber, the reports
published in their topics since their last digest (or since they subscribed to the topic) and before the
period end, which is local midnight of the day it runs: two runs on the same day share the period, and the
unique ``DigestDelivery`` row per subscriber and period, claimed before the mail is sent, lets only one of
them send."""

import re
from datetime import datetime, time

from django.contrib.auth import get_user_model
from django.db import IntegrityError, transaction
from django.db.models import Avg, Count, F, Max, Q, QuerySet
from django.utils import timezone, translation
from django.utils.text import slugify
from django.utils.translation import gettext as _

from livinglab import audit
from livinglab.models import Organisation, User
from livinglab.policy import CLUSTER_ROLES, active_memberships, is_platform_admin
from pilots.models import Answer, Campaign, Question, QuestionKind, Response

from ..errors import B2BError
from ..models import DigestDelivery, Report, Tag, Topic, TopicSubscription

__all__ = [
    "MIN_GROUP",
    "RESULT_STATUSES",
    "campaign_figures",
    "claim_digest",
    "digest_period_end",
    "digest_reports",
    "digest_subscribers",
    "eligible_campaigns",
    "mark_digest_sent",
    "personal_data_in",
    "publish_report",
    "publishers_for",
    "release_digest",
    "save_reference_entry",
    "save_report",
    "save_subscriptions",
    "subscribe_topic",
    "unsubscribe_topic",
    "withdraw_report",
]

# A figure resting on fewer people than this is not shown (it says so instead): a handful of people could
# be recognised. The same threshold as the campaign dashboards (``pilots.analytics.MIN_GROUP``).
MIN_GROUP = 5
# Campaigns that have results a brief may draw on.
RESULT_STATUSES = (Campaign.Status.RUNNING, Campaign.Status.ANALYSING, Campaign.Status.CLOSED)
# At most this many agreement statements per brief (the rest are left out, in questionnaire order).
MAX_STATEMENTS = 20
# Words of the section's own addresses (/b2b/intelligence/new/, …/topics/) that no report may take.
RESERVED_SLUGS = {"new", "topics"}
REPORT_FIELDS = ("kind", "title", "summary", "body")

# The personal-data check on a brief's published text. Deliberately simple, so that staff can predict it:
#   - an e-mail address: something@domain.tld;
#   - a phone number: "+" followed by 8 or more digits, or 9 or more digits in one run, either allowing
#     spaces, dots, dashes, slashes and brackets between them ("+33 6 12 34 56 78", "020 7946 0958").
# Years ("2019–2024"), percentages and amounts written with commas ("70,000") do not match.
EMAIL = re.compile(r"[\w.+-]+@[\w-]+(?:\.[\w-]+)+")
PHONE = re.compile(r"(?:\+[\s().\-/]*(?:\d[\s().\-/]*){8,}|(?<![\d,])(?:\d[\s().\-/]*){9,})")


# ------------------------------------------------------------------------------------------------ figures


def eligible_campaigns() -> QuerySet[Campaign]:
    """Campaigns a brief may draw on: running, analysing or closed (never withdrawn or rejected)."""
    return Campaign.objects.filter(status__in=RESULT_STATUSES).order_by("title", "pk")


def _text(value) -> str:
    """A question's text in the active language, else its first language."""
    if isinstance(value, dict):
        return value.get(translation.get_language() or "") or next(iter(value.values()), "") or ""
    return value or ""


def _figure(key: str, label: str, value, base: int, unit: str) -> dict:
    """One figure; suppressed (no value, no base) when it rests on fewer than MIN_GROUP people."""
    if base < MIN_GROUP:
        return {"key": key, "label": label, "value": None, "base": None, "unit": unit, "suppressed": True}
    if isinstance(value, float):
        value = round(value, 1)
    return {"key": key, "label": label, "value": value, "base": base, "unit": unit, "suppressed": False}


def _share(part: int, whole: int) -> float:
    return 100.0 * part / whole if whole else 0.0


def _people(answers) -> int:
    """How many people gave ``answers``: one pseudonymous code per campaign, however many questionnaires
    (before and after a test, say) each of them answered."""
    return answers.values("response__questionnaire__campaign_id", "response__code").distinct().count()


def campaign_figures(campaigns) -> list[dict]:
    """Aggregated, anonymous figures across ``campaigns``, as ``Report.figures`` stores them: each
    ``{"key", "label", "value", "base", "unit", "suppressed"}`` where ``base`` is the number of people the
    figure rests on and ``unit`` is ``people``, ``percent`` or ``score``. A figure resting on fewer than
    ``MIN_GROUP`` people has neither value nor base and says so (``suppressed``). Only submitted answers
    to the questions every firm of a campaign shares count; free-text answers are never read."""
    wanted = [c if isinstance(c, int) else c.pk for c in campaigns]
    ids = list(
        Campaign.objects.filter(pk__in=wanted, status__in=RESULT_STATUSES).values_list("pk", flat=True)
    )
    if not ids:
        return []
    Submitted = Response.Status.SUBMITTED
    responses = Response.objects.filter(questionnaire__campaign_id__in=ids)
    # People: one pseudonymous code per campaign (anonymised answers keep a code of their own). Counted here,
    # never returned.
    started = responses.values("questionnaire__campaign_id", "code").distinct().count()
    answered = (
        responses.filter(status=Submitted).values("questionnaire__campaign_id", "code").distinct().count()
    )
    forms = responses.aggregate(all=Count("pk"), done=Count("pk", filter=Q(status=Submitted)))
    figures = [
        _figure("respondents", _("People who answered"), answered, answered, "people"),
        _figure(
            "completion",
            _("Questionnaires completed, of those started (%)"),
            _share(forms["done"], forms["all"]),
            started,
            "percent",
        ),
    ]

    # Scale answers: submitted, to questions shared by every firm of the campaign, with a number.
    answers = Answer.objects.filter(
        response__questionnaire__campaign_id__in=ids,
        response__status=Submitted,
        question__firm__isnull=True,
        number__isnull=False,
    )
    sus_answers = answers.filter(question__kind=QuestionKind.SUS)
    sus = sus_answers.aggregate(mean=Avg("number"))
    if sus["mean"] is not None:
        label = _("Average usability score (SUS, 0–100)")
        figures.append(_figure("sus", label, sus["mean"], _people(sus_answers), "score"))
    nps_answers = answers.filter(question__kind=QuestionKind.NPS)
    nps = nps_answers.aggregate(
        n=Count("pk"),
        promoters=Count("pk", filter=Q(number__gte=9)),
        detractors=Count("pk", filter=Q(number__lte=6)),
    )
    if nps["n"]:
        n, promoters, detractors = nps["n"], nps["promoters"], nps["detractors"]
        nps["people"] = _people(nps_answers)
        figures += [
            _figure(
                "nps_promoters",
                _("Would recommend it: promoters, 9–10 (%)"),
                _share(promoters, n),
                nps["people"],
                "percent",
            ),
            _figure(
                "nps_passives",
                _("Passives, 7–8 (%)"),
                _share(n - promoters - detractors, n),
                nps["people"],
                "percent",
            ),
            _figure(
                "nps_detractors",
                _("Would not recommend it: detractors, 0–6 (%)"),
                _share(detractors, n),
                nps["people"],
                "percent",
            ),
        ]
    # Agreement statements: the share who agree (the top two points of five, the top three of seven).
    statements = list(
        Question.objects.filter(
            questionnaire__campaign_id__in=ids,
            firm__isnull=True,
            kind__in=[QuestionKind.LIKERT5, QuestionKind.LIKERT7],
        )
        .annotate(
            people=Count(
                "answers",
                filter=Q(answers__response__status=Submitted, answers__number__isnull=False),
            ),
            agree=Count(
                "answers",
                filter=Q(answers__response__status=Submitted)
                & (
                    Q(kind=QuestionKind.LIKERT5, answers__number__gte=4)
                    | Q(kind=QuestionKind.LIKERT7, answers__number__gte=5)
                ),
            ),
        )
        .filter(people__gt=0)
        .order_by("questionnaire__campaign__title", "questionnaire_id", "position")[:MAX_STATEMENTS]
    )
    for question in statements:
        figures.append(
            _figure(
                f"agree_{question.pk}",
                _("Agree: “%(statement)s” (%%)") % {"statement": _text(question.text)},
                _share(question.agree, question.people),
                question.people,
                "percent",
            )
        )
    return figures


# --------------------------------------------------------------------------------------------- reports


def personal_data_in(text: str) -> str | None:
    """What the personal-data check finds in ``text``: "email", "phone" or None."""
    if EMAIL.search(text or ""):
        return "email"
    if PHONE.search(text or ""):
        return "phone"
    return None


def _require_publisher(acting_user: User) -> None:
    if acting_user is None or not acting_user.has_perm("b2b.publish_reports"):
        raise B2BError(_("Reports and briefs are published by the cluster's staff."))


def publishers_for(user: User) -> list[Organisation]:
    """The cluster organisations ``user`` may publish for: their own (any, for a platform administrator)."""
    clusters = Organisation.objects.filter(kind=Organisation.Kind.CLUSTER).order_by("name", "pk")
    if is_platform_admin(user):
        return list(clusters)
    return list(
        clusters.filter(
            pk__in={m.organisation_id for m in active_memberships(user) if m.role in CLUSTER_ROLES}
        )
    )


def _check_publisher(publisher: Organisation | None, acting_user: User) -> None:
    if publisher is None or publisher.pk not in {o.pk for o in publishers_for(acting_user)}:
        raise B2BError(_("Reports are published by the cluster organisation you work for."))


def _free_slug(title: str) -> str:
    base = slugify(title)[:70].strip("-") or "report"
    taken = set(Report.objects.filter(slug__startswith=base).values_list("slug", flat=True)) | RESERVED_SLUGS
    number = 1
    while True:
        slug = base if number == 1 else f"{base}-{number}"
        if slug not in taken:
            return slug
        number += 1


def _create_report(values: dict) -> Report:
    """Create a report under a free web address made from its title (``-2``, ``-3``… when taken)."""
    for _attempt in range(5):
        try:
            with transaction.atomic():  # a savepoint: someone may take the address meanwhile
                return Report.objects.create(slug=_free_slug(values["title"]), **values)
        except IntegrityError:
            continue
    raise B2BError(_("The report could not be saved; please try again."))


@transaction.atomic
def save_report(
    report: Report | None,
    *,
    topics,
    campaigns=(),
    publisher: Organisation | None = None,
    acting_user: User,
    **fields,
) -> Report:
    """Write a new report or brief as a draft, or change a draft (published text is never changed)."""
    _require_publisher(acting_user)
    unknown = set(fields) - set(REPORT_FIELDS)
    if unknown:
        raise TypeError(f"Unknown report fields: {', '.join(sorted(unknown))}")
    values = {key: value.strip() if isinstance(value, str) else value for key, value in fields.items()}
    if "kind" in values and values["kind"] not in Report.Kind.values:
        raise B2BError(_("Choose a market-intelligence report or a user-insight brief."))
    for key, message in (
        ("title", _("Give the report a title.")),
        ("summary", _("Write a short summary.")),
        ("body", _("Write the findings.")),
    ):
        if key in values and not values[key]:
            raise B2BError(message)
    topics = list(topics)
    if not topics:
        raise B2BError(_("Choose at least one topic: firms receive reports by topic."))
    if report is None:
        _check_publisher(publisher, acting_user)
        report = _create_report({**values, "publisher": publisher, "author": acting_user})
        created = True
    else:
        report = Report.objects.select_for_update(no_key=True).get(pk=report.pk)
        if report.status != Report.Status.DRAFT:
            raise B2BError(
                _(
                    "A published or withdrawn report is never changed: "
                    "withdraw it and publish a corrected one."
                )
            )
        for key, value in values.items():
            setattr(report, key, value)
        if publisher is not None and publisher.pk != report.publisher_id:
            _check_publisher(publisher, acting_user)
            report.publisher = publisher
        report.save()
        created = False
    report.topics.set(topics)
    # Only a user-insight brief draws on campaigns.
    chosen = list(campaigns) if report.kind == Report.Kind.INSIGHT else []
    if any(c.status not in RESULT_STATUSES for c in chosen):
        raise B2BError(_("A brief draws only on campaigns that are running, being analysed or closed."))
    report.campaigns.set(chosen)
    audit.record(
        "b2b.report.create" if created else "b2b.report.update",
        actor=acting_user,
        obj=report,
        organisation=report.publisher,
        data={
            "kind": report.kind,
            "topics": sorted(t.pk for t in topics),
            "campaigns": sorted(c.pk for c in chosen),
        },
    )
    return report


@transaction.atomic
def publish_report(report: Report, *, acting_user: User) -> Report:
    """Publish a draft to member firms; a brief's aggregated figures are computed and frozen now."""
    _require_publisher(acting_user)
    report = Report.objects.select_related("publisher").get(pk=report.pk)
    if report.status != Report.Status.DRAFT:
        raise B2BError(_("This report is already published or was withdrawn."))
    topics = sorted(report.topics.values_list("pk", flat=True))
    if not topics:
        raise B2BError(_("Choose at least one topic before publishing: firms receive reports by topic."))
    figures, campaigns = [], []
    if report.kind == Report.Kind.INSIGHT:
        chosen = list(report.campaigns.all())
        campaigns = sorted(c.pk for c in chosen)
        if not chosen:
            raise B2BError(_("A user-insight brief draws on at least one campaign: choose its campaigns."))
        if any(c.status not in RESULT_STATUSES for c in chosen):
            raise B2BError(_("A brief draws only on campaigns that are running, being analysed or closed."))
        found = personal_data_in("\n".join([report.title, report.summary, report.body]))
        if found == "email":
            raise B2BError(
                _("The brief contains an e-mail address. Briefs hold aggregated, anonymous findings only.")
            )
        if found == "phone":
            raise B2BError(
                _("The brief contains a phone number. Briefs hold aggregated, anonymous findings only.")
            )
        figures = campaign_figures(chosen)
    now = timezone.now()
    published = Report.objects.filter(pk=report.pk, status=Report.Status.DRAFT).update(
        status=Report.Status.PUBLISHED, published_at=now, figures=figures
    )
    if published != 1:
        raise B2BError(_("This report is already published or was withdrawn."))
    report.refresh_from_db()
    audit.record(
        "b2b.report.publish",
        actor=acting_user,
        obj=report,
        organisation=report.publisher,
        data={
            "kind": report.kind,
            "topics": topics,
            "campaigns": campaigns,
            "figures": len(figures),
            "suppressed": sum(1 for f in figures if f["suppressed"]),
        },
    )
    return report


@transaction.atomic
def withdraw_report(report: Report, *, acting_user: User) -> Report:
    """Take a published report back: firms no longer read it and no digest lists it."""
    _require_publisher(acting_user)
    withdrawn = Report.objects.filter(pk=report.pk, status=Report.Status.PUBLISHED).update(
        status=Report.Status.WITHDRAWN
    )
    if withdrawn != 1:
        raise B2BError(_("Only a published report can be withdrawn."))
    report = Report.objects.select_related("publisher").get(pk=report.pk)
    audit.record("b2b.report.withdraw", actor=acting_user, obj=report, organisation=report.publisher, data={})
    return report


# ---------------------------------------------------------------------------------------- subscriptions


def _require_subscriber(acting_user: User) -> None:
    if acting_user is None or not acting_user.has_perm("b2b.subscribe_topics"):
        raise B2BError(_("Topics are followed by the staff of member firms."))


@transaction.atomic
def subscribe_topic(topic: Topic, *, acting_user: User) -> bool:
    """Follow a topic in the digest; True if newly followed (following it again changes nothing)."""
    _require_subscriber(acting_user)
    try:
        with transaction.atomic():
            _subscription, created = TopicSubscription.objects.get_or_create(user=acting_user, topic=topic)
    except IntegrityError:  # the same click twice at once: the other one subscribed
        return False
    if created:
        audit.record("b2b.topic.subscribe", actor=acting_user, obj=topic, data={"topic": topic.pk})
    return created


@transaction.atomic
def unsubscribe_topic(topic: Topic, *, acting_user: User) -> bool:
    """Stop following a topic; True if it was followed. Allowed even after leaving one's firm."""
    deleted, _detail = TopicSubscription.objects.filter(user=acting_user, topic=topic).delete()
    if deleted:
        audit.record("b2b.topic.unsubscribe", actor=acting_user, obj=topic, data={"topic": topic.pk})
    return bool(deleted)


def save_subscriptions(topics, *, acting_user: User) -> tuple[int, int]:
    """Follow exactly ``topics``: (number newly followed, number no longer followed)."""
    wanted = {t.pk: t for t in topics}
    current = set(TopicSubscription.objects.filter(user=acting_user).values_list("topic_id", flat=True))
    added = sum(subscribe_topic(t, acting_user=acting_user) for pk, t in wanted.items() if pk not in current)
    removed = sum(
        unsubscribe_topic(t, acting_user=acting_user)
        for t in Topic.objects.filter(pk__in=current - set(wanted))
    )
    return added, removed


# ---------------------------------------------------------------------------------------------- digests


def digest_period_end(now: datetime | None = None) -> datetime:
    """The end of the digest period for a run at ``now``: local midnight of that day. Runs on the same day
    share it, so a duplicated run claims the same ``DigestDelivery`` rows and sends nothing twice."""
    local = timezone.localtime(now or timezone.now())
    return timezone.make_aware(datetime.combine(local.date(), time.min), local.tzinfo)


def digest_subscribers() -> list[int]:
    """Ids of the active users who follow at least one topic."""
    return list(
        get_user_model()
        .objects.filter(is_active=True, b2b_subscriptions__isnull=False)
        .exclude(email="")
        .distinct()
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def digest_reports(user: User, period_end: datetime) -> list[Report]:
    """What ``user``'s digest for the period ending at ``period_end`` lists: reports still published in the
    topics they follow, published after they subscribed to the topic and after their last digest's period,
    and before ``period_end``. Nothing for someone who may no longer read reports (who acts for no firm and is
    not the cluster's staff)."""
    if not user.is_active or not user.has_perm("b2b.read_reports"):
        return []
    since = DigestDelivery.objects.filter(user=user).aggregate(last=Max("period_end"))["last"]
    reports = Report.objects.filter(status=Report.Status.PUBLISHED, published_at__lt=period_end)
    if since is not None:
        reports = reports.filter(published_at__gte=since)
    # One filter() call: the subscription compared with the publication date is the user's own.
    reports = reports.filter(
        topics__subscriptions__user=user, published_at__gte=F("topics__subscriptions__created_at")
    )
    ids = reports.values("pk").distinct()
    return list(Report.objects.filter(pk__in=ids).prefetch_related("topics").order_by("published_at", "pk"))


def claim_digest(user: User, period_end: datetime, reports: list[Report]) -> DigestDelivery | None:
    """Claim the one digest of ``user`` for the period, before sending it; None if it was claimed
    already (a retried, duplicated or concurrent run)."""
    try:
        with transaction.atomic():
            delivery = DigestDelivery.objects.create(user=user, period_end=period_end)
            delivery.reports.set(reports)
    except IntegrityError:
        return None
    return delivery


def release_digest(delivery: DigestDelivery) -> None:
    """Give a claim back when the mail could not be sent, so that the retry sends it."""
    DigestDelivery.objects.filter(pk=delivery.pk, sent_at__isnull=True).delete()


@transaction.atomic
def mark_digest_sent(delivery: DigestDelivery) -> None:
    """Record that the digest went out."""
    DigestDelivery.objects.filter(pk=delivery.pk, sent_at__isnull=True).update(sent_at=timezone.now())
    audit.record(
        "b2b.digest.send",
        obj=delivery,
        data={
            "user": delivery.user_id,
            "period_end": delivery.period_end.isoformat(),
            "reports": sorted(delivery.reports.values_list("pk", flat=True)),
        },
    )


# ----------------------------------------------------------------------------------- admin reference data


@transaction.atomic
def save_reference_entry(obj: Tag | Topic, *, acting_user: User) -> Tag | Topic:
    """Create or change a marketplace tag or an intelligence topic, as staff keep them tidy in the admin."""
    created = obj.pk is None
    action = "add" if created else "change"
    name = obj._meta.model_name
    if acting_user is None or not acting_user.has_perm(f"b2b.{action}_{name}"):
        raise B2BError(_("Tags and topics are kept by the cluster's staff."))
    obj.full_clean()
    obj.save()
    audit.record(
        f"b2b.{name}." + ("create" if created else "update"),
        actor=acting_user,
        obj=obj,
        data={"slug": obj.slug},
    )
    return obj
