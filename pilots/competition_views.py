"""Pages of idea competitions and joint-survey partners: the lab's set-up (criteria, jury, judging,
announcement), the participant's ideas and the announcement, the jury's scoring, the ranking, and the
partners of a joint survey. Thin views: every change goes through ``pilots.services.competitions``."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from livinglab.errors import DomainError
from livinglab.models import Organisation, Person
from livinglab.views import paginate

from .competition_forms import CompetitionForm, CriterionForm, IdeaForm, JuryForm, PartnerForm, ScoreForm
from .models import Campaign, CampaignKind, Competition, Criterion, Idea, IdeaScore
from .services import competitions as services
from .services.campaign_access import require_participant


def _campaign(slug: str) -> Campaign:
    return get_object_or_404(Campaign.objects.select_related("lab", "requested_by"), slug=slug)


def _competition(campaign: Campaign) -> Competition:
    competition = (
        Competition.objects.select_related("campaign__lab", "campaign__requested_by", "prize_programme")
        .filter(campaign=campaign)
        .first()
    )
    if competition is None:
        raise Http404(_("This campaign has no idea competition."))
    return competition


def _run(request, slug: str) -> Competition:
    competition = _competition(_campaign(slug))
    if not request.user.has_perm("pilots.run_competition", competition):
        raise PermissionDenied(_("Only the living lab hosting this campaign runs its competition."))
    return competition


def _person(request) -> Person | None:
    try:
        return request.user.person
    except (AttributeError, Person.DoesNotExist):
        return None


# ------------------------------------------------------------------------------------------- set-up


@login_required
@require_http_methods(["GET", "POST"])
def competition_setup(request, slug: str):
    """The lab: the challenge, closing time and prize; the criteria, the jury, judging and announcement."""
    campaign = _campaign(slug)
    competition = Competition.objects.select_related("prize_programme").filter(campaign=campaign).first()
    allowed = (
        request.user.has_perm("pilots.run_competition", competition)
        if competition is not None
        else request.user.has_perm("pilots.run_campaign", campaign)
    )
    if not allowed:
        raise PermissionDenied(_("Only the living lab hosting this campaign runs its competition."))
    if campaign.kind != CampaignKind.COMPETITION:
        raise Http404(_("This campaign is not an idea competition."))
    form = CompetitionForm(request.POST or None, instance=competition, campaign=campaign)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            services.set_up_competition(
                campaign,
                data["challenge"],
                data["submissions_close_at"],
                data["winners_count"],
                data["prize_programme"],
                data["prize_description"],
                acting_user=request.user,
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("The competition is saved."))
            return redirect("campaigns:competition_setup", slug=campaign.slug)
    if competition is not None:
        competition.refresh_from_db()  # the form may have changed the instance without saving it
    context = {"campaign": campaign, "competition": competition, "form": form}
    if competition is not None:
        context.update(
            criteria=list(competition.criteria.all()),
            criterion_form=CriterionForm(prefix="new"),
            jury_form=JuryForm(initial={"jurors": competition.jury.all()}, campaign=campaign),
            jury=list(competition.jury.order_by("email")),
            idea_count=competition.ideas.filter(status__in=services.ACTIVE_IDEAS).count(),
            missing=services.missing_scores(competition)[: services.MISSING_SHOWN]
            if competition.status == Competition.Status.JUDGING
            else [],
        )
    return render(request, "pilots/competitions/setup.html", context)


def _done(request, slug: str, call, success: str):
    try:
        call()
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, success)
    return redirect("campaigns:competition_setup", slug=slug)


@login_required
@require_POST
def criterion_save(request, slug: str, pk: int | None = None):
    competition = _run(request, slug)
    criterion = get_object_or_404(competition.criteria, pk=pk) if pk is not None else None
    form = CriterionForm(request.POST, instance=criterion, prefix=None if criterion else "new")
    if not form.is_valid():
        messages.error(request, _("The criterion was not saved: %(errors)s") % {"errors": _errors(form)})
        return redirect("campaigns:competition_setup", slug=slug)
    data = form.cleaned_data
    if criterion is not None:
        criterion.refresh_from_db()  # the form wrote the new values on it; the service saves them
    return _done(
        request,
        slug,
        lambda: services.save_criterion(
            competition,
            data["name"],
            data["weight"],
            data["max_score"],
            data.get("description", ""),
            criterion,
            acting_user=request.user,
        ),
        _("The criterion is saved."),
    )


def _errors(form) -> str:
    return " ".join(f"{form.fields[name].label}: {' '.join(errors)}" for name, errors in form.errors.items())


@login_required
@require_POST
def criterion_delete(request, slug: str, pk: int):
    competition = _run(request, slug)
    criterion = get_object_or_404(Criterion, pk=pk, competition=competition)
    return _done(
        request,
        slug,
        lambda: services.delete_criterion(criterion, acting_user=request.user),
        _("The criterion is removed."),
    )


@login_required
@require_POST
def jury_save(request, slug: str):
    competition = _run(request, slug)
    form = JuryForm(request.POST, campaign=competition.campaign)
    if not form.is_valid():
        messages.error(request, _("Choose jurors from the list."))
        return redirect("campaigns:competition_setup", slug=slug)
    return _done(
        request,
        slug,
        lambda: services.set_jury(competition, form.cleaned_data["jurors"], acting_user=request.user),
        _("The jury is saved."),
    )


@login_required
@require_POST
def judging_start(request, slug: str):
    competition = _run(request, slug)
    return _done(
        request,
        slug,
        lambda: services.start_judging(competition, acting_user=request.user),
        _("Submissions are closed and the jury can score the ideas."),
    )


@login_required
@require_POST
def winners_announce(request, slug: str):
    competition = _run(request, slug)
    try:
        winners = services.announce_winners(competition, acting_user=request.user)
    except DomainError as error:
        messages.error(request, error.message)
        return redirect("campaigns:competition_setup", slug=slug)
    messages.success(request, _("%(count)s winners are announced.") % {"count": len(winners)})
    return redirect("campaigns:competition_results", slug=slug)


# ---------------------------------------------------------------------------------------- the ranking


@login_required
def competition_results(request, slug: str):
    """The ranking by code: the lab at any time, the firms the campaign is run for once announced."""
    competition = _competition(_campaign(slug))
    runs = request.user.has_perm("pilots.run_competition", competition)
    if not runs and not (
        competition.status == Competition.Status.ANNOUNCED
        and request.user.has_perm("pilots.view_campaign", competition.campaign)
    ):
        raise PermissionDenied(_("The ranking is shown to the firm once the winners are announced."))
    criteria = list(competition.criteria.all())
    ranked = services.ranking(competition)
    page = paginate(request, ranked)
    rows = [(row, [row.per_criterion.get(c.pk) for c in criteria]) for row in page]
    context = {
        "competition": competition,
        "campaign": competition.campaign,
        "criteria": criteria,
        "rows": rows,
        "page_obj": page,
        "runs": runs,
        "jury_size": competition.jury.count(),
    }
    return render(request, "pilots/competitions/results.html", context)


# ------------------------------------------------------------------------------------ the participant


def _winners(competition: Competition):
    if competition.status != Competition.Status.ANNOUNCED:
        return []
    return list(competition.ideas.filter(status=Idea.Status.WINNER).order_by("rank").only("title", "rank"))


@login_required
@require_http_methods(["GET", "POST"])
def my_ideas(request, slug: str):
    """A participant: the challenge, their ideas (submit, withdraw) and, once announced, the winners."""
    campaign = _campaign(slug)
    competition = _competition(campaign)
    person = _person(request)
    try:
        require_participant(campaign, person)
    except DomainError as error:
        if not request.user.has_perm("pilots.view_campaign", campaign):
            raise PermissionDenied(error.message) from None
        refusal = error.message  # the lab and the firms see the page as participants do, without a form
    else:
        refusal = ""
    form = IdeaForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.submit_idea(
                competition,
                person,
                form.cleaned_data["title"],
                form.cleaned_data["description"],
                acting_user=request.user,
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("Thank you: your idea is submitted."))
            return redirect("campaigns:competition_ideas", slug=slug)
    ideas = (
        list(competition.ideas.filter(person=person).order_by("-submitted_at")) if person is not None else []
    )
    context = {
        "campaign": campaign,
        "competition": competition,
        "form": form,
        "ideas": ideas,
        "refusal": refusal,
        "accepting": competition.status == Competition.Status.OPEN and not refusal,
        "winners": _winners(competition),
        "max_ideas": services.MAX_IDEAS_PER_PERSON,
    }
    return render(request, "pilots/competitions/my_ideas.html", context)


@login_required
@require_POST
def idea_withdraw(request, slug: str, pk: int):
    competition = _competition(_campaign(slug))
    idea = get_object_or_404(Idea, pk=pk, competition=competition)
    try:
        services.withdraw_idea(idea, _person(request), acting_user=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("Your idea is withdrawn."))
    return redirect("campaigns:competition_ideas", slug=slug)


# ------------------------------------------------------------------------------------------ the jury


def _juror(request, slug: str) -> Competition:
    competition = _competition(_campaign(slug))
    if not request.user.has_perm("pilots.judge_competition", competition):
        raise PermissionDenied(_("Only members of this competition's jury can score its ideas."))
    return competition


@login_required
def jury_ideas(request, slug: str):
    """A juror: the ideas by code (never a name), a scoring form per idea and their progress."""
    competition = _juror(request, slug)
    criteria = list(competition.criteria.all())
    ideas = competition.ideas.filter(status__in=services.ACTIVE_IDEAS).order_by("submitted_at", "pk")
    ideas = ideas.only("pk", "code", "title", "description", "status", "competition_id", "submitted_at")
    page = paginate(request, ideas)
    mine = {}
    for score in IdeaScore.objects.filter(juror=request.user, idea__in=list(page.object_list)):
        mine.setdefault(score.idea_id, {})[score.criterion_id] = score
    rows = [
        (
            idea,
            ScoreForm(criteria=criteria, scores=mine.get(idea.pk), prefix=f"idea{idea.pk}"),
            len(mine.get(idea.pk, {})),
        )
        for idea in page
    ]
    done = IdeaScore.objects.filter(
        juror=request.user, idea__competition=competition, idea__status__in=services.ACTIVE_IDEAS
    ).count()
    context = {
        "competition": competition,
        "campaign": competition.campaign,
        "criteria": criteria,
        "rows": rows,
        "page_obj": page,
        "done": done,
        "needed": len(criteria) * page.paginator.count,
        "scoring": competition.status == Competition.Status.JUDGING,
    }
    return render(request, "pilots/competitions/jury.html", context)


@login_required
@require_POST
def idea_score(request, slug: str, pk: int):
    competition = _juror(request, slug)
    idea = get_object_or_404(Idea, pk=pk, competition=competition)
    criteria = list(competition.criteria.all())
    form = ScoreForm(request.POST, criteria=criteria, prefix=f"idea{idea.pk}")
    back = redirect(f"{_jury_url(slug)}?page={request.POST.get('page', '')}#idea-{idea.pk}")
    if not form.is_valid():
        messages.error(request, _("Scores are whole numbers: %(errors)s") % {"errors": _errors(form)})
        return back
    entered = form.entered()
    if not entered:
        messages.error(request, _("Enter at least one score."))
        return back
    saved = 0
    for criterion, score, comment in entered:
        try:
            services.score_idea(idea, criterion, request.user, score, comment, acting_user=request.user)
        except DomainError as error:
            messages.error(request, f"{idea.code} — {error.message}")
        else:
            saved += 1
    if saved:
        messages.success(
            request, _("%(count)s scores saved for %(code)s.") % {"count": saved, "code": idea.code}
        )
    return back


def _jury_url(slug: str) -> str:
    return reverse("campaigns:jury_ideas", args=[slug])


# ------------------------------------------------------------------------------------- joint surveys


def _partners_campaign(request, slug: str) -> Campaign:
    campaign = _campaign(slug)
    if not request.user.has_perm("pilots.run_campaign", campaign):
        raise PermissionDenied(_("Only the living lab hosting this survey chooses its partner firms."))
    if campaign.kind != CampaignKind.JOINT_SURVEY:
        raise Http404(_("This campaign is not a joint survey."))
    return campaign


@login_required
@require_http_methods(["GET", "POST"])
def survey_partners(request, slug: str):
    """The lab: the firms a joint survey is run for; add one, remove one without its own questions."""
    campaign = _partners_campaign(request, slug)
    form = PartnerForm(request.POST or None, campaign=campaign)
    if request.method == "POST" and form.is_valid():
        organisation = form.cleaned_data["organisation"]
        try:
            services.add_survey_partner(campaign, organisation, acting_user=request.user)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("%(firm)s is now a partner of this survey.") % {"firm": organisation})
            return redirect("campaigns:survey_partners", slug=slug)
    partners = campaign.partners.annotate(
        own_questions=Count("survey_questions", filter=Q(survey_questions__questionnaire__campaign=campaign))
    ).order_by("name")
    page = paginate(request, partners)
    context = {"campaign": campaign, "form": form, "page_obj": page, "partners": page}
    return render(request, "pilots/competitions/partners.html", context)


@login_required
@require_POST
def survey_partner_remove(request, slug: str, pk: int):
    campaign = _partners_campaign(request, slug)
    organisation = get_object_or_404(Organisation, pk=pk)
    try:
        services.remove_survey_partner(campaign, organisation, acting_user=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(
            request, _("%(firm)s is no longer a partner of this survey.") % {"firm": organisation}
        )
    return redirect("campaigns:survey_partners", slug=slug)
