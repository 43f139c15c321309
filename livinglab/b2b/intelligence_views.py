"""Market and user intelligence: the reports and briefs member firms read, the staff's drafts, publication
and withdrawal, and the topics a firm user follows in the digest. Every change goes through
``services.intelligence``."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, F, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.http import require_POST

from livinglab.acting import refuse
from livinglab.charts import horizontal_bars
from livinglab.errors import DomainError
from livinglab.views import paginate

from .intelligence_forms import ReportFilterForm, ReportForm, SubscriptionForm
from .models import DigestDelivery, Report, Topic
from .services import intelligence as services

PAGE_SIZE = 20
# One chart per unit: bars of different units never share an axis.
UNIT_TITLES = {
    "people": gettext_lazy("Number of people"),
    "percent": gettext_lazy("Shares, in per cent"),
    "score": gettext_lazy("Scores"),
}


def require_reader(request) -> None:
    if not request.user.has_perm("b2b.read_reports"):
        raise PermissionDenied(_("Reports and briefs are for the staff of member firms."))


def require_publisher(request) -> None:
    if not request.user.has_perm("b2b.publish_reports"):
        raise PermissionDenied(_("Reports and briefs are published by the cluster's staff."))


def figure_charts(figures: list[dict]) -> list[dict]:
    """The bar charts of a brief's figures, one per unit; suppressed figures have no bar."""
    charts = []
    for unit, title in UNIT_TITLES.items():
        rows = [(f["label"], f["value"]) for f in figures if f["unit"] == unit and not f["suppressed"]]
        if rows:
            charts.append(
                {"title": str(title), "chart": horizontal_bars(rows), "chart_id": f"figures-{unit}"}
            )
    return charts


# ------------------------------------------------------------------------------------------------ reading


@login_required
def report_list(request):
    """Published reports and briefs, by topic and kind; the staff also see drafts and withdrawn ones."""
    require_reader(request)
    may_publish = request.user.has_perm("b2b.publish_reports")
    form = ReportFilterForm(request.GET or None, staff=may_publish)
    filters = form.filters()
    reports = Report.objects.all() if may_publish else Report.objects.filter(status=Report.Status.PUBLISHED)
    if filters.get("topic"):
        reports = reports.filter(topics=filters["topic"])
    if filters.get("kind"):
        reports = reports.filter(kind=filters["kind"])
    if filters.get("status"):
        reports = reports.filter(status=filters["status"])
    reports = reports.prefetch_related("topics").order_by(F("published_at").desc(nulls_first=True), "-pk")
    return render(
        request,
        "b2b/intelligence/list.html",
        {
            "form": form,
            "reports": paginate(request, reports, PAGE_SIZE),
            "may_publish": may_publish,
            "may_subscribe": request.user.has_perm("b2b.subscribe_topics"),
        },
    )


@login_required
def report_detail(request, slug: str):
    """A report or brief: summary, findings, the frozen figures with their charts, topics and campaigns."""
    require_reader(request)
    report = get_object_or_404(
        Report.objects.select_related("publisher").prefetch_related("topics"), slug=slug
    )
    may_publish = request.user.has_perm("b2b.publish_reports")
    if not may_publish and report.status == Report.Status.DRAFT:
        raise Http404  # a draft's existence is not revealed
    if not may_publish and report.status == Report.Status.WITHDRAWN:
        return render(request, "b2b/intelligence/withdrawn.html", {"report": report}, status=410)
    figures, preview = report.figures, False
    if may_publish and report.status == Report.Status.DRAFT and report.kind == Report.Kind.INSIGHT:
        # What publishing would freeze now: the staff check it before they publish.
        figures, preview = services.campaign_figures(report.campaigns.all()), True
    return render(
        request,
        "b2b/intelligence/detail.html",
        {
            "report": report,
            "figures": figures,
            "charts": figure_charts(figures),
            "preview": preview,
            "campaign_titles": list(report.campaigns.order_by("title").values_list("title", flat=True)),
            "may_publish": may_publish,
            "min_group": services.MIN_GROUP,
        },
    )


# ------------------------------------------------------------------------------------------ writing


def report_form_page(request, form, report=None):
    return render(request, "b2b/intelligence/form.html", {"form": form, "report": report})


@login_required
def report_create(request):
    """Write a report or brief; it is saved as a draft."""
    require_publisher(request)
    publishers = services.publishers_for(request.user)
    form = ReportForm(request.POST if request.method == "POST" else None, publishers=publishers)
    if request.method == "POST" and form.is_valid():
        try:
            report = services.save_report(None, acting_user=request.user, **form.values())
        except DomainError as error:
            refuse(request, error, form)
        else:
            messages.success(request, _("The draft is saved. Check it, then publish it."))
            return redirect("b2b:report_detail", slug=report.slug)
    return report_form_page(request, form)


@login_required
def report_edit(request, slug: str):
    """Change a draft; published text is never changed."""
    require_publisher(request)
    report = get_object_or_404(Report, slug=slug)
    if report.status != Report.Status.DRAFT:
        messages.error(
            request,
            _("A published or withdrawn report is never changed: withdraw it and publish a corrected one."),
        )
        return redirect("b2b:report_detail", slug=report.slug)
    publishers = services.publishers_for(request.user)
    if report.publisher not in publishers:
        publishers.append(report.publisher)
    initial = {
        "kind": report.kind,
        "title": report.title,
        "summary": report.summary,
        "body": report.body,
        "topics": list(report.topics.all()),
        "campaigns": list(report.campaigns.all()),
        "publisher": report.publisher,
    }
    form = ReportForm(
        request.POST if request.method == "POST" else None, initial=initial, publishers=publishers
    )
    if request.method == "POST" and form.is_valid():
        try:
            report = services.save_report(report, acting_user=request.user, **form.values())
        except DomainError as error:
            refuse(request, error, form)
        else:
            messages.success(request, _("The draft is saved."))
            return redirect("b2b:report_detail", slug=report.slug)
    return report_form_page(request, form, report)


@login_required
@require_POST
def report_publish(request, slug: str):
    """Publish a draft to the member firms."""
    require_publisher(request)
    report = get_object_or_404(Report, slug=slug)
    try:
        report = services.publish_report(report, acting_user=request.user)
    except DomainError as error:
        refuse(request, error)
    else:
        messages.success(request, _("“%(title)s” is published.") % {"title": report.title})
    return redirect("b2b:report_detail", slug=report.slug)


@login_required
@require_POST
def report_withdraw(request, slug: str):
    """Withdraw a published report."""
    require_publisher(request)
    report = get_object_or_404(Report, slug=slug)
    try:
        report = services.withdraw_report(report, acting_user=request.user)
    except DomainError as error:
        refuse(request, error)
    else:
        messages.success(
            request, _("“%(title)s” is withdrawn: firms no longer read it.") % {"title": report.title}
        )
    return redirect("b2b:report_detail", slug=report.slug)


# ------------------------------------------------------------------------------------------- topics


@login_required
def topic_subscriptions(request):
    """The topics a firm user follows in the digest e-mail, and when the last digest went out."""
    user = request.user
    if not user.has_perm("b2b.subscribe_topics"):
        raise PermissionDenied(_("Topics are followed by the staff of member firms."))
    followed = list(Topic.objects.filter(subscriptions__user=user))
    form = SubscriptionForm(request.POST if request.method == "POST" else None, initial={"topics": followed})
    if request.method == "POST" and form.is_valid():
        try:
            added, removed = services.save_subscriptions(form.cleaned_data["topics"], acting_user=user)
        except DomainError as error:
            refuse(request, error, form)
        else:
            if added or removed:
                messages.success(request, _("Your topics are saved."))
            else:
                messages.info(request, _("Nothing changed: you already follow these topics."))
            return redirect("b2b:topic_subscriptions")
    counts = Topic.objects.annotate(
        published=Count("reports", filter=Q(reports__status=Report.Status.PUBLISHED))
    ).order_by("name")
    return render(
        request,
        "b2b/intelligence/topics.html",
        {
            "form": form,
            "followed": followed,
            "last_digest": DigestDelivery.objects.filter(user=user, sent_at__isnull=False)
            .order_by("-sent_at")
            .first(),
            "topic_chart": horizontal_bars([(t.name, t.published) for t in counts]),
        },
    )
