"""Results of a campaign: the dashboard, free-text answers with search and tags, exports and the report made
in the background with their progress, and the coordinator's findings.

The lab and the requester see every question; a partner firm of a joint survey sees the shared questions
and its own, on the page and in the files made for it. Thin views: changes go through
``pilots.services.results``."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import FileResponse, Http404, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from livinglab.errors import DomainError
from livinglab.models import Organisation
from livinglab.policy import active_memberships
from livinglab.views import paginate

from . import analytics, result_charts
from .models import Answer, AnswerTag, Campaign, QuestionKind, Response, ResultsFile
from .results_forms import AnswerSearchForm, FindingsForm, ResultsFileForm, TagForm
from .rules import requests_campaign
from .services import results as services

ANSWERS_PER_PAGE = 25


def _campaign(request, slug: str, perm: str = "pilots.view_campaign_results") -> Campaign:
    campaign = get_object_or_404(Campaign.objects.select_related("lab", "requested_by"), slug=slug)
    if not request.user.has_perm("pilots.view_campaign", campaign):
        raise Http404  # another firm's campaign: not even its existence is shown
    if not request.user.has_perm(perm, campaign):
        raise PermissionDenied(_("You may not see or change the results of this campaign."))
    return campaign


def firm_filter(user, campaign: Campaign) -> Organisation | None:
    """None for the lab and the requester (every question); a partner firm sees its own and shared ones."""
    if user.has_perm("pilots.run_campaign", campaign) or requests_campaign(user, campaign):
        return None
    mine = {m.organisation_id for m in active_memberships(user)}
    firm = campaign.partners.filter(pk__in=mine).order_by("pk").first()
    if firm is None:
        raise PermissionDenied(_("You may not see the results of this campaign."))
    return firm


@login_required
def dashboard(request, slug: str):
    campaign = _campaign(request, slug)
    for_firm = firm_filter(request.user, campaign)
    results = result_charts.with_charts(analytics.campaign_results(campaign, for_firm=for_firm))
    return render(
        request,
        "pilots/results/dashboard.html",
        {
            "campaign": campaign,
            "results": results,
            "headline": analytics.headline(results),
            "for_firm": for_firm,
            "may_tag": request.user.has_perm("pilots.tag_answers", campaign),
            "may_write": request.user.has_perm("pilots.run_campaign", campaign),
        },
    )


def _text_answers(campaign: Campaign, for_firm: Organisation | None):
    answers = Answer.objects.filter(
        question__questionnaire__campaign=campaign,
        question__kind=QuestionKind.TEXT,
        response__status=Response.Status.SUBMITTED,
    ).exclude(text="")
    if for_firm is not None:
        answers = answers.filter(question__in=analytics.visible_questions(campaign, for_firm))
    return answers


@login_required
def text_answers(request, slug: str):
    campaign = _campaign(request, slug)
    for_firm = firm_filter(request.user, campaign)
    form = AnswerSearchForm(request.GET or None, campaign=campaign)
    answers = _text_answers(campaign, for_firm)
    if form.is_valid():
        if form.cleaned_data["q"]:
            answers = answers.filter(text__icontains=form.cleaned_data["q"])
        if form.cleaned_data["tag"]:
            answers = answers.filter(tags=form.cleaned_data["tag"])
    answers = (
        answers.select_related("question", "response")
        .prefetch_related("tags")
        .order_by("question__questionnaire_id", "question__position", "pk")
    )
    page = paginate(request, answers, ANSWERS_PER_PAGE)
    for item in page:
        item.question_label = analytics.text_of(item.question.text) or item.question.key
    return render(
        request,
        "pilots/results/answers.html",
        {
            "campaign": campaign,
            "form": form,
            "page_obj": page,
            "may_tag": request.user.has_perm("pilots.tag_answers", campaign),
            "tag_form": TagForm(),
        },
    )


def _answer(request, slug: str, pk: int) -> tuple[Campaign, Answer]:
    campaign = _campaign(request, slug, "pilots.tag_answers")
    answer = get_object_or_404(_text_answers(campaign, None).select_related("question"), pk=pk)
    return campaign, answer


def _back_to_answers(request, campaign):
    target = request.POST.get("next", "")
    if target.startswith(f"/campaigns/{campaign.slug}/results/answers/"):
        return redirect(target)
    return redirect("campaigns:results_answers", campaign.slug)


@login_required
@require_POST
def tag_answer(request, slug: str, pk: int):
    campaign, answer = _answer(request, slug, pk)
    form = TagForm(request.POST)
    if not form.is_valid():
        messages.error(request, _("A tag is 1 to 60 characters long."))
        return _back_to_answers(request, campaign)
    try:
        tag = services.tag_answer(answer, form.cleaned_data["name"], acting_user=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Tagged “%(tag)s”.") % {"tag": tag.name})
    return _back_to_answers(request, campaign)


@login_required
@require_POST
def untag_answer(request, slug: str, pk: int, tag: int):
    campaign, answer = _answer(request, slug, pk)
    tag = get_object_or_404(AnswerTag, campaign=campaign, pk=tag)
    try:
        services.untag_answer(answer, tag, acting_user=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    return _back_to_answers(request, campaign)


# ------------------------------------------------------------------------------------------- files


def _visible_files(user, campaign: Campaign):
    for_firm = firm_filter(user, campaign)
    files = ResultsFile.objects.filter(campaign=campaign).select_related("for_firm")
    return (files.filter(for_firm=for_firm) if for_firm is not None else files), for_firm


@login_required
def files(request, slug: str):
    campaign = _campaign(request, slug)
    visible, for_firm = _visible_files(request.user, campaign)
    form = ResultsFileForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            results_file = services.request_results_file(
                campaign, form.cleaned_data["kind"], for_firm=for_firm, acting_user=request.user
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            return redirect("campaigns:results_file", campaign.slug, results_file.pk)
    return render(
        request,
        "pilots/results/files.html",
        {
            "campaign": campaign,
            "form": form,
            "page_obj": paginate(request, visible.order_by("-created_at", "-pk")),
        },
        status=400 if form.is_bound and form.errors else 200,
    )


def _file(request, slug: str, pk: int) -> tuple[Campaign, ResultsFile]:
    campaign = _campaign(request, slug)
    visible, _for_firm = _visible_files(request.user, campaign)
    return campaign, get_object_or_404(visible, pk=pk)


@login_required
def file_detail(request, slug: str, pk: int):
    campaign, results_file = _file(request, slug, pk)
    return render(
        request,
        "pilots/results/file.html",
        {"campaign": campaign, "file": results_file, "current": services.is_current(results_file, campaign)},
    )


@login_required
def file_progress(request, slug: str, pk: int):
    """The progress bar's figures, for the page's script."""
    _unused, results_file = _file(request, slug, pk)
    return JsonResponse(
        {
            "status": results_file.status,
            "percent": results_file.progress,
            "text": _("%(status)s: %(percent)s%%")
            % {"status": results_file.get_status_display(), "percent": results_file.progress},
        }
    )


@login_required
def file_download(request, slug: str, pk: int):
    campaign, results_file = _file(request, slug, pk)
    if results_file.status != ResultsFile.Status.READY or not services.is_current(results_file, campaign):
        messages.error(
            request,
            _("This file was made from answers that have changed since (someone withdrew). Make a new one."),
        )
        return redirect("campaigns:results_files", campaign.slug)
    day = results_file.finished_at or results_file.created_at
    response = FileResponse(
        results_file.file.open("rb"),
        as_attachment=True,
        filename=f"{campaign.slug}-{results_file.kind}-{day:%Y-%m-%d}.{services.EXTENSIONS[results_file.kind]}",
        content_type=services.CONTENT_TYPES[results_file.kind],
    )
    response["Cache-Control"] = "no-store"
    return response


# ------------------------------------------------------------------------------------------- findings


@login_required
def findings(request, slug: str):
    campaign = _campaign(request, slug, "pilots.run_campaign")
    form = FindingsForm(
        request.POST or None,
        initial={"key_findings": campaign.key_findings, "recommendations": campaign.recommendations},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.save_findings(
                campaign,
                form.cleaned_data["key_findings"],
                form.cleaned_data["recommendations"],
                acting_user=request.user,
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Findings saved. Make the report again to include them."))
            return redirect("campaigns:results", campaign.slug)
    return render(
        request,
        "pilots/results/findings.html",
        {"campaign": campaign, "form": form},
        status=400 if form.is_bound and form.errors else 200,
    )
