"""Pages of co-development projects: the list (a firm's projects; every project for the cluster staff),
starting one (from an accepted introduction, or by the staff naming the organisations), a project's page,
and the partners' changes: the IP arrangement, partners, milestones, documents, the test campaign and
closing. Only the partners and the cluster staff see a project; everyone else gets “not found”, so that
its existence is not revealed.

Every change goes through ``services.projects``."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from livinglab.acting import pending_rules, refuse
from livinglab.charts import horizontal_bars
from livinglab.errors import DomainError
from livinglab.models import Organisation
from livinglab.policy import firm_ids
from livinglab.views import paginate

from .models import Introduction, Project, ProjectDocument, ProjectMilestone, ProjectPartner
from .project_forms import (
    ArrangementForm,
    CloseForm,
    DocumentForm,
    MilestoneForm,
    PartnerAddForm,
    PartnerRemoveForm,
    StartForm,
    StatusFilterForm,
)
from .services import introductions as introduction_services
from .services import projects as services

PER_PAGE = 20


# ------------------------------------------------------------------------------------------------ helpers


def _partners():
    return Prefetch("partners", queryset=ProjectPartner.objects.select_related("organisation"))


def visible_project(request, slug: str) -> Project:
    """The project, for its partners and the cluster staff; 404 for everyone else."""
    project = (
        Project.objects.select_related("broker", "introduction", "test_campaign")
        .prefetch_related(_partners())
        .filter(slug=slug)
        .first()
    )
    if project is None or not request.user.has_perm("b2b.view_project", project):
        raise Http404(_("No such project."))
    return project


def manageable_project(request, slug: str) -> tuple[Project, bool]:
    """The project (404 as above) and whether the user may change it now; when not, a message says why."""
    project = visible_project(request, slug)
    if services.may_manage(request.user, project):
        return project, True
    messages.error(
        request,
        _("This project is “%(status)s”: it can no longer be changed.")
        % {"status": project.get_status_display()},
    )
    return project, False


def to_project(project: Project, anchor: str = ""):
    return redirect(reverse("b2b:project_detail", args=[project.slug]) + (f"#{anchor}" if anchor else ""))


def _introduction_or_404(request, raw) -> Introduction | None:
    if not raw:
        return None
    try:
        pk = int(raw)
    except (TypeError, ValueError):
        raise Http404(_("No such introduction.")) from None
    introduction = get_object_or_404(
        Introduction.objects.select_related("need__organisation", "offer__organisation", "broker"), pk=pk
    )
    if not introduction_services.may_view(request.user, introduction):
        raise Http404(_("No such introduction."))
    return introduction


# ---------------------------------------------------------------------------------------------- the list


@login_required
@require_GET
def project_list(request):
    """A firm's projects, or every project for the cluster staff; filtered by status, paginated."""
    user = request.user
    filters = StatusFilterForm(request.GET or None)
    visible = services.projects_for(user)
    projects = visible
    if filters.is_valid() and filters.cleaned_data["status"]:
        projects = projects.filter(status=filters.cleaned_data["status"])
    projects = (
        projects.select_related("broker")
        .prefetch_related(_partners())
        .annotate(
            milestones_total=Count("milestones"),
            milestones_done=Count("milestones", filter=Q(milestones__done_at__isnull=False)),
        )
        .order_by("-started_on", "-pk")
    )
    page = paginate(request, projects, PER_PAGE)
    mine = firm_ids(user)
    for project in page:
        project.ours = [p for p in project.partners.all() if p.organisation_id in mine]
    counts = dict(visible.order_by().values_list("status").annotate(n=Count("pk")))
    chart = horizontal_bars([(label, counts.get(value, 0)) for value, label in Project.Status.choices])
    return render(
        request,
        "b2b/projects/list.html",
        {
            "page": page,
            "projects": list(page),
            "filters": filters,
            "is_staff": services.may_start_without_introduction(user),
            "may_start": user.has_perm("b2b.start_project"),
            "chart": chart if sum(counts.values()) else None,
        },
    )


# ------------------------------------------------------------------------------------------------ start


@login_required
@require_http_methods(["GET", "POST"])
def project_create(request):
    """Start a project: from ``?introduction=<pk>`` (accepted), or, for the cluster staff, without one."""
    user = request.user
    if not user.has_perm("b2b.start_project"):
        raise PermissionDenied(_("Only member firms and the cluster staff start co-development projects."))
    introduction = _introduction_or_404(
        request, request.POST.get("introduction") or request.GET.get("introduction")
    )
    context = {"introduction": introduction, "pending_rules": pending_rules(request)}
    if introduction is None and not services.may_start_without_introduction(user):
        context["startable"] = list(services.startable_introductions(user)[:50])
        return render(request, "b2b/projects/create.html", context)
    if introduction is not None:
        existing = Project.objects.filter(introduction=introduction).first()
        if existing is not None or introduction.status != Introduction.Status.ACCEPTED:
            context["existing"] = existing
            context["may_view_existing"] = existing is not None and user.has_perm(
                "b2b.view_project", existing
            )
            return render(request, "b2b/projects/create.html", context)
    clusters = list(services.clusters_of(user)) if introduction is None else None
    form_kwargs = {"choose_partners": introduction is None, "clusters": clusters}
    if request.method == "POST":
        form = StartForm(request.POST, **form_kwargs)
        if form.is_valid():
            data = form.cleaned_data
            partners = form.partners()
            try:
                project = services.start_project(
                    introduction=introduction,
                    title=data["title"],
                    started_on=data["started_on"],
                    partners=partners,
                    broker=data.get("broker"),
                    acting_user=user,
                    **form.arrangement(),
                )
            except DomainError as error:
                refuse(request, error, form)
            else:
                messages.success(request, _("The co-development project has started."))
                return to_project(project)
    else:
        initial = {}
        if introduction is not None:
            initial = {"title": introduction.need.title[:200], "goals": introduction.need.summary}
        form = StartForm(initial=initial, **form_kwargs)
    context.update({"form": form, "pending_rules": pending_rules(request)})
    return render(request, "b2b/projects/create.html", context)


# ------------------------------------------------------------------------------------------ the project


@login_required
@require_GET
def project_detail(request, slug):
    """A project for its partners and the cluster staff: partners, goals, IP arrangement, milestones,
    documents, the test campaign, and what the user may do."""
    user = request.user
    project = visible_project(request, slug)
    partners = list(project.partners.all())
    milestones = list(project.milestones.select_related("done_by"))
    done = sum(1 for m in milestones if m.done_at is not None)
    campaign = project.test_campaign
    may_manage = services.may_manage(user, project)
    introduction = project.introduction
    context = {
        "project": project,
        "partners": partners,
        "buyers": [p for p in partners if p.role == ProjectPartner.Role.BUYER],
        "suppliers": [p for p in partners if p.role == ProjectPartner.Role.SUPPLIER],
        "researchers": [p for p in partners if p.role == ProjectPartner.Role.RESEARCH],
        "ours": {p.organisation_id for p in partners} & firm_ids(user),
        "milestones": milestones,
        "milestones_done": done,
        "documents": list(project.documents.select_related("uploaded_by")),
        "campaign": campaign,
        "may_view_campaign": campaign is not None and user.has_perm("pilots.view_campaign", campaign),
        "may_view_introduction": introduction is not None
        and introduction_services.may_view(user, introduction),
        "may_manage": may_manage,
        "may_launch": may_manage and campaign is None,
        "today": timezone.localdate(),
    }
    return render(request, "b2b/projects/detail.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def project_edit(request, slug):
    """Change the goals, IP arrangement and confidentiality of a running project."""
    project, may_manage = manageable_project(request, slug)
    if not may_manage:
        return to_project(project)
    if request.method == "POST":
        form = ArrangementForm(request.POST)
        if form.is_valid():
            try:
                services.edit_project(project, acting_user=request.user, **form.arrangement())
            except DomainError as error:
                refuse(request, error, form)
            else:
                messages.success(request, _("The project's arrangement is saved."))
                return to_project(project)
    else:
        form = ArrangementForm(initial={name: getattr(project, name) for name in ArrangementForm.base_fields})
    return render(request, "b2b/projects/edit.html", {"project": project, "form": form})


@login_required
@require_http_methods(["GET", "POST"])
def project_partners(request, slug):
    """Add a research organisation or a further supplier, or remove one (POST ``remove``)."""
    project, may_manage = manageable_project(request, slug)
    if not may_manage:
        return to_project(project)
    form = PartnerAddForm(project=project)
    if request.method == "POST":
        if "remove" in request.POST:
            remove = PartnerRemoveForm(request.POST)
            organisation = None
            if remove.is_valid():
                organisation = Organisation.objects.filter(pk=remove.cleaned_data["organisation"]).first()
            if organisation is None:
                messages.error(request, _("Choose a partner to remove."))
            else:
                try:
                    services.remove_partner(project, organisation=organisation, acting_user=request.user)
                except DomainError as error:
                    refuse(request, error)
                else:
                    messages.success(
                        request,
                        _("%(organisation)s no longer takes part in the project.")
                        % {"organisation": organisation.name},
                    )
            return redirect("b2b:project_partners", slug=project.slug)
        form = PartnerAddForm(request.POST, project=project)
        if form.is_valid():
            organisation = form.cleaned_data["organisation"]
            try:
                services.add_partner(
                    project,
                    organisation=organisation,
                    role=form.cleaned_data["role"],
                    acting_user=request.user,
                )
            except DomainError as error:
                refuse(request, error, form)
            else:
                messages.success(
                    request,
                    _("%(organisation)s takes part in the project.") % {"organisation": organisation.name},
                )
                return redirect("b2b:project_partners", slug=project.slug)
    partners = list(project.partners.select_related("organisation"))
    suppliers = sum(1 for p in partners if p.role == ProjectPartner.Role.SUPPLIER)
    for partner in partners:
        partner.removable = partner.role == ProjectPartner.Role.RESEARCH or (
            partner.role == ProjectPartner.Role.SUPPLIER and suppliers > 1
        )
    return render(
        request,
        "b2b/projects/partners.html",
        {"project": project, "partners": partners, "form": form, "pending_rules": pending_rules(request)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def project_milestone_add(request, slug):
    project, may_manage = manageable_project(request, slug)
    if not may_manage:
        return to_project(project)
    if request.method == "POST":
        form = MilestoneForm(request.POST)
        if form.is_valid():
            try:
                services.add_milestone(project, acting_user=request.user, **form.cleaned_data)
            except DomainError as error:
                refuse(request, error, form)
            else:
                messages.success(request, _("The milestone is added."))
                return to_project(project, "milestones-heading")
    else:
        form = MilestoneForm()
    return render(request, "b2b/projects/milestone_form.html", {"project": project, "form": form})


@login_required
@require_POST
def project_milestone_done(request, slug, pk):
    project = visible_project(request, slug)
    milestone = get_object_or_404(ProjectMilestone, pk=pk, project=project)
    try:
        services.complete_milestone(milestone, acting_user=request.user)
    except DomainError as error:
        refuse(request, error)
    else:
        messages.success(request, _("“%(title)s” is marked done.") % {"title": milestone.title})
    return to_project(project, "milestones-heading")


@login_required
@require_http_methods(["GET", "POST"])
def project_document_upload(request, slug):
    project, may_manage = manageable_project(request, slug)
    if not may_manage:
        return to_project(project)
    if request.method == "POST":
        form = DocumentForm(request.POST, request.FILES)
        if form.is_valid():
            try:
                document = services.upload_document(
                    project,
                    title=form.cleaned_data["title"],
                    upload=form.cleaned_data["file"],
                    acting_user=request.user,
                )
            except DomainError as error:
                refuse(request, error, form)
            else:
                messages.success(
                    request, _("“%(title)s” is shared with the partners.") % {"title": document.title}
                )
                return to_project(project, "documents-heading")
    else:
        form = DocumentForm()
    return render(request, "b2b/projects/document_form.html", {"project": project, "form": form})


@login_required
@require_GET
def project_document(request, slug, pk):
    """Download a document: only for the partners and the cluster staff, as uploaded."""
    project = visible_project(request, slug)
    document = ProjectDocument.objects.filter(pk=pk, project=project).first()
    if document is None or not document.file or not document.file.storage.exists(document.file.name):
        raise Http404(_("No such document."))
    return FileResponse(
        document.file.open("rb"),
        as_attachment=True,
        filename=document.name,
        content_type=document.content_type,
    )


@login_required
@require_POST
def project_launch_test(request, slug):
    """Launch the project's B2B test campaign (a draft the supplier completes with the living lab)."""
    project = visible_project(request, slug)
    try:
        campaign = services.launch_test_campaign(project, acting_user=request.user)
    except DomainError as error:
        refuse(request, error)
    else:
        messages.success(
            request,
            _("The test campaign “%(title)s” is drafted; complete it with the living lab and submit it.")
            % {"title": campaign.title},
        )
    return to_project(project, "campaign-heading")


@login_required
@require_http_methods(["GET", "POST"])
def project_close(request, slug):
    project, may_manage = manageable_project(request, slug)
    if not may_manage:
        return to_project(project)
    if request.method == "POST":
        form = CloseForm(request.POST)
        if form.is_valid():
            try:
                services.close_project(project, status=form.cleaned_data["status"], acting_user=request.user)
            except DomainError as error:
                refuse(request, error, form)
            else:
                messages.success(request, _("The project is closed."))
                return to_project(project)
    else:
        form = CloseForm()
    return render(request, "b2b/projects/close.html", {"project": project, "form": form})
