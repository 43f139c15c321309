"""Campaign requests, the living lab's review and the lifecycle, and the participant's campaign page."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from livinglab.errors import DomainError
from livinglab.models import Organisation, Person
from livinglab.policy import CLUSTER_ROLES, active_memberships
from livinglab.views import paginate

from .models import Campaign, CampaignKind, CampaignReview, Method
from .request_forms import REQUESTER_KINDS, AcceptTermsForm, CampaignFilterForm, CampaignForm, ReviewForm
from .screening import attributes_of, describe
from .services import campaign_access
from .services import campaigns as services

Status = Campaign.Status
LIST_RELATED = ("lab", "requested_by", "panel")


def visible_campaigns(user):
    """Campaigns ``user`` may see: their lab's, their organisation's, and those they are a partner in."""
    if user.is_superuser:
        return Campaign.objects.all()
    memberships = active_memberships(user)
    mine = [m.organisation_id for m in memberships]
    labs = [m.organisation_id for m in memberships if m.role in CLUSTER_ROLES]
    partnered = Campaign.partners.through.objects.filter(organisation_id__in=mine).values("campaign_id")
    return Campaign.objects.filter(Q(lab_id__in=labs) | Q(requested_by_id__in=mine) | Q(pk__in=partnered))


def _campaign(request, slug: str, perm: str = "pilots.view_campaign") -> Campaign:
    campaign = get_object_or_404(Campaign.objects.select_related(*LIST_RELATED), slug=slug)
    if not request.user.has_perm("pilots.view_campaign", campaign):
        raise Http404(_("No such campaign."))  # another firm's campaign is not even acknowledged
    if not request.user.has_perm(perm, campaign):
        raise PermissionDenied(_("You may see this campaign, but not do that."))
    return campaign


def _requesters(user):
    if user.is_superuser or any(
        m.role in CLUSTER_ROLES and m.organisation.kind == Organisation.Kind.CLUSTER
        for m in active_memberships(user)
    ):
        return Organisation.objects.filter(kind__in=REQUESTER_KINDS).order_by("name")
    mine = [m.organisation_id for m in active_memberships(user) if m.organisation.kind in REQUESTER_KINDS]
    return Organisation.objects.filter(pk__in=mine).order_by("name")


def _error(request, error: DomainError):
    messages.error(request, error.message)


# ------------------------------------------------------------------------------------------ pages


@login_required
def campaign_list(request):
    form = CampaignFilterForm(request.GET or None)
    campaigns = visible_campaigns(request.user).select_related(*LIST_RELATED)
    if form.is_valid():
        if form.cleaned_data["status"]:
            campaigns = campaigns.filter(status=form.cleaned_data["status"])
        if form.cleaned_data["channel"]:
            campaigns = campaigns.filter(channel=form.cleaned_data["channel"])
    page = paginate(request, campaigns.order_by("-created_at", "-pk"))
    return render(
        request,
        "pilots/campaigns/campaign_list.html",
        {"campaigns": page, "form": form, "may_add": request.user.has_perm("pilots.add_campaign")},
    )


@login_required
def campaign_new(request):
    if not request.user.has_perm("pilots.add_campaign"):
        raise PermissionDenied(
            _("Test campaigns are requested by firms, research organisations and authorities.")
        )
    form = CampaignForm(
        request.POST if request.method == "POST" else None, requesters=_requesters(request.user)
    )
    if request.method == "POST" and form.is_valid():
        try:
            campaign = services.save_campaign(
                form.apply(),
                required_purposes=form.cleaned_data["required_purposes"],
                partners=form.cleaned_data["partners"],
                acting_user=request.user,
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(
                request,
                _("The request “%(title)s” was saved as a draft. Submit it when it is complete.")
                % {"title": campaign.title},
            )
            return redirect("campaigns:campaign_detail", slug=campaign.slug)
    return render(request, "pilots/campaigns/campaign_form.html", {"form": form, "campaign": None})


@login_required
def campaign_edit(request, slug):
    campaign = _campaign(request, slug)
    if not request.user.has_perm("pilots.edit_campaign", campaign) or (
        campaign.status not in services.STAFF_EDITABLE
    ):
        messages.error(
            request,
            _("This campaign is “%(status)s”: you can no longer edit it.")
            % {"status": campaign.get_status_display()},
        )
        return redirect("campaigns:campaign_detail", slug=campaign.slug)
    form = CampaignForm(
        request.POST if request.method == "POST" else None,
        instance=campaign,
        requesters=Organisation.objects.filter(pk=campaign.requested_by_id),
        initial={"methods": campaign.methods},
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.save_campaign(
                form.apply(),
                required_purposes=form.cleaned_data["required_purposes"],
                partners=form.cleaned_data["partners"],
                acting_user=request.user,
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Your changes were saved."))
            return redirect("campaigns:campaign_detail", slug=campaign.slug)
    return render(request, "pilots/campaigns/campaign_form.html", {"form": form, "campaign": campaign})


def _moves(user, campaign: Campaign) -> list[dict]:
    """The lifecycle buttons the user may press now."""
    perms = {
        Status.SUBMITTED: "pilots.submit_campaign",
        Status.WITHDRAWN: "pilots.withdraw_campaign",
        Status.RECRUITING: "pilots.run_campaign",
        Status.RUNNING: "pilots.run_campaign",
        Status.ANALYSING: "pilots.run_campaign",
        Status.CLOSED: "pilots.run_campaign",
    }
    labels = {
        Status.SUBMITTED: _("Submit to the living lab"),
        Status.RECRUITING: _("Draw participants and start recruiting"),
        Status.RUNNING: _("Recruitment done: start the sessions"),
        Status.ANALYSING: _("Fieldwork over: analyse the results"),
        Status.CLOSED: _("Close the campaign"),
        Status.WITHDRAWN: _("Withdraw the campaign"),
    }
    order = [
        Status.SUBMITTED,
        Status.RECRUITING,
        Status.RUNNING,
        Status.ANALYSING,
        Status.CLOSED,
        Status.WITHDRAWN,
    ]
    return [
        {"to": to, "label": labels[to], "danger": to == Status.WITHDRAWN}
        for to in order
        if campaign.can_move_to(to) and user.has_perm(perms[to], campaign)
    ]


@login_required
def campaign_detail(request, slug):
    campaign = _campaign(request, slug)
    user = request.user
    reviews = list(campaign.reviews.select_related("reviewer").order_by("decided_at", "pk"))
    may_review = user.has_perm("pilots.review_campaign", campaign)
    context = {
        "campaign": campaign,
        "methods": [label for value, label in Method.choices if value in (campaign.methods or [])],
        "purposes": list(campaign.required_purposes.order_by("name")),
        "partners": list(campaign.partners.order_by("name")),
        "reviews": reviews,
        "checklist_labels": CampaignReview.CHECKLIST,
        "moves": _moves(user, campaign),
        "may_edit": user.has_perm("pilots.edit_campaign", campaign)
        and campaign.status in services.STAFF_EDITABLE,
        "may_review": may_review and campaign.status in (Status.SUBMITTED, Status.IN_REVIEW),
        "may_run": user.has_perm("pilots.run_campaign", campaign),
        "draws": list(campaign.draws.order_by("-drawn_at"))
        if user.has_perm("pilots.run_campaign", campaign)
        else [],
        "screener": describe(campaign.conditions, attributes_of(campaign.panel)) if campaign.panel else "",
        "parts": _parts(user, campaign),
        "sensitive": [
            label
            for flag, label in (
                (campaign.involves_health, _("health data")),
                (campaign.involves_minors, _("people under 18")),
                (campaign.involves_vulnerable, _("vulnerable people")),
                (campaign.involves_recordings, _("recordings")),
            )
            if flag
        ],
    }
    return render(request, "pilots/campaigns/campaign_detail.html", context)


def _parts(user, campaign) -> list[tuple[str, str]]:
    """Links to the parts of the campaign this user may open: sessions, questionnaires, results, the
    competition and the partners of a joint survey."""
    runs = user.has_perm("pilots.run_campaign", campaign)
    parts = [(_("Sessions"), reverse("campaigns:session_list", args=[campaign.slug]))]
    if user.has_perm("pilots.edit_questionnaire", campaign):
        parts.append((_("Questionnaires"), reverse("campaigns:questionnaires", args=[campaign.slug])))
    if user.has_perm("pilots.view_campaign_results", campaign):
        parts.append((_("Results"), reverse("campaigns:results", args=[campaign.slug])))
    if campaign.kind == CampaignKind.COMPETITION:
        if runs:
            parts.append(
                (_("Competition set-up"), reverse("campaigns:competition_setup", args=[campaign.slug]))
            )
        parts.append(
            (_("Competition results"), reverse("campaigns:competition_results", args=[campaign.slug]))
        )
    if campaign.kind == CampaignKind.JOINT_SURVEY and runs:
        parts.append(
            (_("Firms of this joint survey"), reverse("campaigns:survey_partners", args=[campaign.slug]))
        )
    return parts


@login_required
@require_POST
def campaign_submit(request, slug):
    campaign = _campaign(request, slug, "pilots.submit_campaign")
    try:
        services.submit_campaign(campaign, acting_user=request.user)
    except DomainError as error:
        _error(request, error)
    else:
        messages.success(request, _("Submitted: the living lab has been told and will come back to you."))
    return redirect("campaigns:campaign_detail", slug=campaign.slug)


@login_required
@require_POST
def campaign_move(request, slug):
    campaign = _campaign(request, slug)
    target = request.POST.get("to", "")
    service = services.MOVES.get(target)
    if service is None:
        messages.error(request, _("Use the lifecycle buttons of the campaign page."))
        return redirect("campaigns:campaign_detail", slug=campaign.slug)
    perm = {
        Status.SUBMITTED: "pilots.submit_campaign",
        Status.WITHDRAWN: "pilots.withdraw_campaign",
    }.get(target, "pilots.run_campaign")
    if not request.user.has_perm(perm, campaign):
        raise PermissionDenied(_("You may not move this campaign to that stage."))
    try:
        service(campaign, acting_user=request.user)
    except DomainError as error:
        _error(request, error)
    else:
        campaign.refresh_from_db()
        messages.success(
            request, _("The campaign is now “%(status)s”.") % {"status": campaign.get_status_display()}
        )
    return redirect("campaigns:campaign_detail", slug=campaign.slug)


@login_required
def campaign_review(request, slug):
    campaign = _campaign(request, slug, "pilots.review_campaign")
    form = ReviewForm(request.POST if request.method == "POST" else None)
    if request.method == "POST":
        action = request.POST.get("action")
        try:
            if action == "claim":
                if services.start_review(campaign, acting_user=request.user):
                    messages.success(request, _("You are reviewing this campaign."))
                else:
                    messages.error(
                        request, _("Someone else started this review first, or it is not submitted.")
                    )
                return redirect("campaigns:campaign_review", slug=campaign.slug)
            if action == "fast_track":
                services.fast_track_campaign(campaign, acting_user=request.user)
                messages.success(request, _("Fast-tracked: the campaign is approved."))
                return redirect("campaigns:campaign_detail", slug=campaign.slug)
            if form.is_valid():
                review = services.decide_review(
                    campaign,
                    form.cleaned_data["decision"],
                    form.checklist(),
                    form.cleaned_data["reasons"],
                    acting_user=request.user,
                )
                messages.success(
                    request,
                    _("Decision recorded: %(decision)s. The requester is told by e-mail.")
                    % {"decision": review.get_decision_display()},
                )
                return redirect("campaigns:campaign_detail", slug=campaign.slug)
        except DomainError as error:
            form.add_error(None, error.message)
    return render(
        request,
        "pilots/campaigns/campaign_review.html",
        {
            "campaign": campaign,
            "form": form,
            "reviews": campaign.reviews.select_related("reviewer").order_by("-decided_at"),
            "methods": [label for value, label in Method.choices if value in (campaign.methods or [])],
            "purposes": list(campaign.required_purposes.order_by("name")),
        },
    )


@login_required
def review_queue(request):
    user = request.user
    labs = [m.organisation_id for m in active_memberships(user) if m.role in CLUSTER_ROLES]
    if not labs and not user.is_superuser:
        raise PermissionDenied(_("The review queue is for the living lab's staff."))
    queue = Campaign.objects.filter(status__in=[Status.SUBMITTED, Status.IN_REVIEW])
    if not user.is_superuser:
        queue = queue.filter(lab_id__in=labs)
    queue = queue.select_related("lab", "requested_by", "reviewer").order_by("submitted_at", "pk")
    return render(request, "pilots/campaigns/review_queue.html", {"campaigns": paginate(request, queue)})


# -------------------------------------------------------------------------------- participants


@login_required
def campaign_take_part(request, slug):
    campaign = get_object_or_404(Campaign.objects.select_related("lab", "requested_by"), slug=slug)
    try:
        person = request.user.person
    except Person.DoesNotExist:
        person = None
    invitation = campaign_access.invitation_for(campaign, person) if person is not None else None
    if invitation is None and not campaign_access.ever_invited(campaign, person):
        raise Http404(_("No such campaign."))
    if invitation is None:
        return render(
            request,
            "pilots/campaigns/take_part_refused.html",
            {
                "campaign": campaign,
                "reason": _(
                    "This page is for the people who accepted an invitation to this campaign. "
                    "If you withdrew from it, it no longer concerns you."
                ),
            },
            status=403,
        )
    form = AcceptTermsForm(request.POST if request.method == "POST" else None, campaign=campaign)
    if request.method == "POST" and form.is_valid():
        try:
            services.accept_campaign_terms(
                campaign, person, form.cleaned_data.get("nda_accepted", False), acting_user=request.user
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("Thank you: you take part in this campaign."))
            return redirect("campaigns:campaign_take_part", slug=campaign.slug)
    agreed = campaign_access.has_agreed(campaign, person)
    consents = campaign_access.consents_to_campaign(campaign, person)
    return render(
        request,
        "pilots/campaigns/take_part.html",
        {
            "campaign": campaign,
            "person": person,
            "form": form,
            "agreed": agreed,
            "consents": consents,
            "active": campaign.status in Campaign.ACTIVE,
            "code": invitation.selection.code,
            "parts_ready": agreed and consents,
            "methods": [label for value, label in Method.choices if value in (campaign.methods or [])],
        },
    )
