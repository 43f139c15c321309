"""The partner-search board of a call, the consortia a user takes part in or brokers, and a consortium's
page (members, agreement, invitations, proposals). Every change goes through ``services.consortia``."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.utils.translation import gettext as _

from livinglab.acting import pending_rules, refuse
from livinglab.errors import DomainError
from livinglab.policy import active_memberships, is_platform_admin
from livinglab.views import paginate

from .bid_views import optional_url
from .consortium_forms import (
    AgreementForm,
    AnswerForm,
    FormConsortiumForm,
    InviteForm,
    PartnerFilterForm,
    PartnerPostForm,
    ProposeConsortiumForm,
)
from .models import Bid, Consortium, ConsortiumMember, PartnerPost, Phase
from .rules import firm_ids
from .services import consortia as services
from .view_helpers import get_procurement

MemberStatus = ConsortiumMember.Status
VISIBLE_MEMBER = {MemberStatus.PROPOSED, MemberStatus.INVITED, MemberStatus.ACCEPTED}


# ------------------------------------------------------------------------------------- partner search


def partners(request, slug: str):
    """The partner-search board: open posts, filtered by kind; firms, research organisations and the
    intermediary clusters post and close their own posts."""
    procurement = get_procurement(request, slug)
    user = request.user
    organisations = services.postable_organisations(user, procurement) if user.is_authenticated else []
    may_post = (
        bool(organisations)
        and user.has_perm("procurement.post_partner_search", procurement)
        and procurement.status in services.OPEN_FOR_CONSORTIA
    )
    form = PartnerPostForm(organisations=organisations)
    if request.method == "POST":
        if not user.is_authenticated:
            return redirect_to_login(request.get_full_path())
        if request.POST.get("action") == "close":
            post = get_object_or_404(PartnerPost, pk=request.POST.get("post") or 0, procurement=procurement)
            try:
                services.close_partner_post(post, acting_user=user)
            except DomainError as error:
                refuse(request, error)
            else:
                messages.success(request, _("Your post “%(title)s” is closed.") % {"title": post.title})
                return redirect("procurement:partners", slug=procurement.slug)
        else:
            if not may_post:
                raise PermissionDenied(_("You cannot post on this board."))
            form = PartnerPostForm(request.POST, organisations=organisations)
            if form.is_valid():
                try:
                    post = services.post_partner_search(
                        procurement,
                        form.cleaned_data["organisation"],
                        kind=form.cleaned_data["kind"],
                        title=form.cleaned_data["title"],
                        text=form.cleaned_data["text"],
                        acting_user=user,
                    )
                except DomainError as error:
                    refuse(request, error, form)
                else:
                    messages.success(
                        request, _("Your post “%(title)s” is on the board.") % {"title": post.title}
                    )
                    return redirect("procurement:partners", slug=procurement.slug)
    filters = PartnerFilterForm(request.GET or None)
    posts = (
        PartnerPost.objects.filter(procurement=procurement, closed_at__isnull=True)
        .select_related("organisation")
        .order_by("-created_at", "-pk")
    )
    if filters.is_valid() and filters.cleaned_data["kind"]:
        posts = posts.filter(kind=filters.cleaned_data["kind"])
    mine = {m.organisation_id for m in active_memberships(user)}
    return render(
        request,
        "procurement/consortia/partners.html",
        {
            "procurement": procurement,
            "posts": paginate(request, posts),
            "filters": filters,
            "form": form,
            "may_post": may_post,
            "my_organisation_ids": mine,
            "call_url": optional_url("procurement:detail", procurement.slug),
            "pending_rules": pending_rules(request),
        },
    )


# -------------------------------------------------------------------------------------------- consortia


@login_required
def consortia(request, slug: str):
    """The consortia of a call that the user takes part in, is invited to or brokers; forming a consortium,
    and — for the intermediary clusters — proposing one."""
    procurement = get_procurement(request, slug)
    user = request.user
    leads = [m.organisation for m in active_memberships(user) if m.organisation_id in firm_ids(user)]
    leads = sorted({o.pk: o for o in leads}.values(), key=lambda o: o.name)
    clusters = services.intermediary_clusters(user, procurement)
    is_open = procurement.status in services.OPEN_FOR_CONSORTIA
    may_form = is_open and bool(leads) and user.has_perm("procurement.form_consortium", procurement)
    may_propose = is_open and bool(clusters) and user.has_perm("procurement.propose_consortium", procurement)
    form = FormConsortiumForm(leads=leads) if may_form else None
    proposal = ProposeConsortiumForm(clusters=clusters) if may_propose else None
    if request.method == "POST":
        action = request.POST.get("action")
        if action == "propose":
            if not may_propose:
                raise PermissionDenied(_("Only the intermediary cluster organisations propose consortia."))
            proposal = ProposeConsortiumForm(request.POST, clusters=clusters)
            if proposal.is_valid():
                data = proposal.cleaned_data
                try:
                    consortium = services.propose_consortium(
                        procurement,
                        cluster=data["cluster"],
                        name=data["name"],
                        lead=data["lead"],
                        partners=list(data["partners"]),
                        agreement_text=data["agreement_text"],
                        acting_user=user,
                    )
                except DomainError as error:
                    refuse(request, error, proposal)
                else:
                    messages.success(
                        request,
                        _("The consortium “%(name)s” is proposed; its lead is asked to confirm it.")
                        % {"name": consortium.name},
                    )
                    return redirect("procurement:consortium", pk=consortium.pk)
        else:
            if not may_form:
                raise PermissionDenied(
                    _("Firms and research organisations form consortia on published calls.")
                )
            form = FormConsortiumForm(request.POST, leads=leads)
            if form.is_valid():
                data = form.cleaned_data
                try:
                    consortium = services.form_consortium(
                        procurement,
                        data["lead"],
                        name=data["name"],
                        agreement_text=data["agreement_text"],
                        acting_user=user,
                    )
                except DomainError as error:
                    refuse(request, error, form)
                else:
                    messages.success(
                        request,
                        _("The consortium “%(name)s” is formed. Invite your partners.")
                        % {"name": consortium.name},
                    )
                    return redirect("procurement:consortium", pk=consortium.pk)
    mine = firm_ids(user)
    listed = (
        services.consortia_for(user, procurement)
        .select_related("lead", "proposed_by")
        .annotate(accepted_count=Count("members", filter=Q(members__status=MemberStatus.ACCEPTED)))
        .prefetch_related(
            Prefetch(
                "members",
                queryset=ConsortiumMember.objects.filter(organisation_id__in=mine).order_by("role"),
                to_attr="my_members",
            )
        )
        .order_by("name", "pk")
    )
    return render(
        request,
        "procurement/consortia/consortium_list.html",
        {
            "procurement": procurement,
            "consortia": paginate(request, listed),
            "form": form,
            "proposal": proposal,
            "is_intermediary": bool(clusters),
            "call_url": optional_url("procurement:detail", procurement.slug),
            "pending_rules": pending_rules(request),
        },
    )


def _consortium_for(request, pk: int) -> tuple[Consortium, ConsortiumMember | None]:
    consortium = get_object_or_404(
        Consortium.objects.select_related("procurement__buyer", "lead", "proposed_by"), pk=pk
    )
    user = request.user
    if not user.has_perm("procurement.view_procurement", consortium.procurement):
        raise Http404(_("No such consortium."))
    mine = services.own_member(user, consortium)
    allowed = (
        user.has_perm("procurement.view_consortium", consortium)
        or (mine is not None and mine.status in VISIBLE_MEMBER)
        or is_platform_admin(user)
    )
    if not allowed:
        # Other firms' consortia are not even acknowledged.
        raise Http404(_("No such consortium."))
    return consortium, mine


def _act(request, consortium: Consortium, mine: ConsortiumMember | None, forms: dict):
    """Run the POSTed action; return a success message, or None after showing a refusal."""
    user = request.user
    action = request.POST.get("action")
    try:
        if action == "invite":
            form = forms["invite"] = InviteForm(request.POST, consortium=consortium)
            if not form.is_valid():
                return None
            organisation = form.cleaned_data["organisation"]
            services.invite_partner(
                consortium, organisation, contribution=form.cleaned_data["contribution"], acting_user=user
            )
            return _("%(organisation)s is invited; it has been e-mailed.") % {
                "organisation": organisation.name
            }
        if action == "agreement":
            form = forms["agreement"] = AgreementForm(request.POST)
            if not form.is_valid():
                return None
            services.change_consortium_agreement(
                consortium, form.cleaned_data["agreement_text"], acting_user=user
            )
            return _("The agreement is changed; the partners are asked to accept the new text.")
        if action == "answer":
            form = forms["answer"] = AnswerForm(request.POST)
            if not form.is_valid() or mine is None:
                raise PermissionDenied(_("There is no invitation for you to answer here."))
            accept = form.cleaned_data["decision"] == "accept"
            services.answer_invitation(
                mine, accept=accept, acting_user=user, shown_sha256=form.cleaned_data["shown_sha256"] or None
            )
            if accept:
                return _("You accepted the invitation and the consortium agreement.")
            return _("You declined the invitation.")
        if action == "confirm":
            services.confirm_consortium_proposal(consortium, acting_user=user)
            return _("You confirmed the proposal: the partners are invited.")
        if action == "leave":
            if mine is None:
                raise PermissionDenied(_("You are not a member of this consortium."))
            services.leave_consortium(mine, acting_user=user)
            return _("Your organisation left the consortium.")
        if action == "dissolve":
            services.dissolve_consortium(consortium, acting_user=user)
            return _("The consortium is dissolved.")
    except DomainError as error:
        form = forms.get(action) if action in {"invite", "agreement"} else None
        refuse(request, error, form)
        return None
    raise PermissionDenied(_("Unknown action."))


@login_required
def consortium_detail(request, pk: int):
    """A consortium: members and their answers, the agreement and its fingerprint, what the user may do."""
    consortium, mine = _consortium_for(request, pk)
    user = request.user
    forms = {}
    if request.method == "POST":
        message = _act(request, consortium, mine, forms)
        if message is not None:
            messages.success(request, message)
            return redirect("procurement:consortium", pk=consortium.pk)
        consortium.refresh_from_db()
        mine = services.own_member(user, consortium)
    is_lead = user.has_perm("procurement.manage_consortium", consortium)
    active = consortium.status in {Consortium.Status.FORMING, Consortium.Status.FORMED}
    members = list(consortium.members.select_related("organisation").order_by("role", "organisation__name"))
    is_member = user.has_perm("procurement.view_own_bid", consortium)
    bids = (
        Bid.objects.filter(consortium=consortium).select_related("phase").order_by("phase__number", "-pk")
        if is_member
        else Bid.objects.none()
    )
    open_phases = (
        Phase.objects.filter(procurement=consortium.procurement, status=Phase.Status.OPEN).order_by("number")
        if is_lead and active
        else Phase.objects.none()
    )
    context = {
        "consortium": consortium,
        "procurement": consortium.procurement,
        "members": members,
        "mine": mine,
        "is_lead": is_lead,
        "is_member": is_member,
        "may_invite": is_lead and active,
        "may_change_agreement": is_lead and active,
        "may_confirm": is_lead and consortium.status == Consortium.Status.PROPOSED,
        "may_answer": mine is not None and mine.status == MemberStatus.INVITED and active,
        "may_leave": mine is not None
        and mine.role == ConsortiumMember.Role.PARTNER
        and mine.status == MemberStatus.ACCEPTED
        and consortium.status != Consortium.Status.DISSOLVED,
        "may_dissolve": consortium.status != Consortium.Status.DISSOLVED
        and services.may_dissolve(user, consortium),
        "invite_form": forms.get("invite") or InviteForm(consortium=consortium),
        "agreement_form": forms.get("agreement")
        or AgreementForm(initial={"agreement_text": consortium.agreement_text}),
        "bids": bids,
        "open_phases": open_phases,
        "pending_rules": pending_rules(request),
    }
    return render(request, "procurement/consortia/consortium_detail.html", context)
