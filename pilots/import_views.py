"""Member imports of a panel: the list of imports, a new upload, the column mapping, the progress and result
of one import, and its per-line error report (as a page and as CSV). Staff who run the panel only.

Thin views: every change goes through ``pilots.services.imports``; its refusals are shown on the form."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import content_disposition_header
from django.utils.translation import gettext as _

from livinglab.errors import DomainError
from livinglab.views import paginate

from .import_forms import MappingForm, UploadForm
from .models import Panel, PanelImport
from .services import imports as services

ERRORS_PER_PAGE = 50


def _panel(request, slug: str) -> Panel:
    panel = get_object_or_404(Panel.objects.select_related("owner"), slug=slug)
    if not request.user.has_perm("pilots.manage_panel", panel):
        raise PermissionDenied(_("Only the staff who run this panel can import members into it."))
    return panel


def _import(request, slug: str, pk: int) -> PanelImport:
    panel = _panel(request, slug)
    return get_object_or_404(PanelImport.objects.select_related("uploaded_by"), panel=panel, pk=pk)


@login_required
def import_list(request, slug: str):
    panel = _panel(request, slug)
    imports = (
        PanelImport.objects.filter(panel=panel)
        .select_related("uploaded_by")
        .defer("errors", "mapping")
        .order_by("-created_at", "-pk")
    )
    return render(
        request, "pilots/imports/import_list.html", {"panel": panel, "imports": paginate(request, imports)}
    )


@login_required
def import_new(request, slug: str):
    panel = _panel(request, slug)
    form = UploadForm(request.POST or None, request.FILES or None)
    if request.method == "POST" and form.is_valid():
        try:
            panel_import = services.upload_import(panel, form.cleaned_data["file"], acting_user=request.user)
        except DomainError as error:
            form.add_error("file", error.message)
        else:
            return redirect("pilots:import_mapping", panel.slug, panel_import.pk)
    return render(
        request,
        "pilots/imports/import_new.html",
        {"panel": panel, "form": form, "targets": services.PROFILE_TARGETS},
        status=400 if form.is_bound and form.errors else 200,
    )


@login_required
def import_mapping(request, slug: str, pk: int):
    panel_import = _import(request, slug, pk)
    panel = panel_import.panel
    if panel_import.status not in services.MAPPABLE:
        return redirect("pilots:import_detail", panel.slug, panel_import.pk)
    mapping = panel_import.mapping
    form = MappingForm(
        request.POST or None,
        panel=panel,
        columns=mapping["columns"],
        targets=services.import_targets(panel),
        initial_targets=mapping.get("targets", []),
    )
    if request.method == "POST" and form.is_valid():
        try:
            services.map_import(panel_import, form.targets, acting_user=request.user)
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            return redirect("pilots:import_detail", panel.slug, panel_import.pk)
    earlier = (
        panel.imports.filter(file_sha256=panel_import.file_sha256, status=PanelImport.Status.IMPORTED)
        .exclude(pk=panel_import.pk)
        .only("finished_at")
        .first()
    )
    return render(
        request,
        "pilots/imports/import_mapping.html",
        {"panel": panel, "import": panel_import, "form": form, "earlier": earlier},
        status=400 if form.is_bound and form.errors else 200,
    )


@login_required
def import_detail(request, slug: str, pk: int):
    panel_import = _import(request, slug, pk)
    if panel_import.status == PanelImport.Status.UPLOADED:
        return redirect("pilots:import_mapping", slug, pk)
    errors = panel_import.errors if panel_import.status == PanelImport.Status.INVALID else []
    return render(
        request,
        "pilots/imports/import_detail.html",
        {
            "panel": panel_import.panel,
            "import": panel_import,
            "progress": services.import_progress(panel_import),
            "problem_count": len(errors),
            "problem_lines": len({e["line"] for e in errors if e.get("line")}),
            "general_problems": [services.describe_error(e) for e in errors if not e.get("line")],
        },
    )


@login_required
def import_progress(request, slug: str, pk: int):
    """The progress bar's figures, for the page's script."""
    panel_import = _import(request, slug, pk)
    progress = services.import_progress(panel_import)
    return JsonResponse(
        {
            "status": panel_import.status,
            "phase": progress.phase,
            "done": progress.done,
            "total": progress.total,
            "percent": progress.percent,
            "text": _progress_text(progress),
        }
    )


def _progress_text(progress) -> str:
    if progress.phase == "checking":
        return _("Checking the rows: %(done)s of %(total)s rows") % {
            "done": progress.done,
            "total": progress.total,
        }
    return _("Importing: %(done)s of %(total)s rows") % {"done": progress.done, "total": progress.total}


@login_required
def import_errors(request, slug: str, pk: int):
    panel_import = _import(request, slug, pk)
    if panel_import.status != PanelImport.Status.INVALID:
        return redirect("pilots:import_detail", slug, pk)
    problems = [{**e, "message": services.describe_error(e)} for e in panel_import.errors]
    page = Paginator(problems, ERRORS_PER_PAGE).get_page(request.GET.get("page"))
    return render(
        request,
        "pilots/imports/import_errors.html",
        {
            "panel": panel_import.panel,
            "import": panel_import,
            "problems": page,
            "problem_lines": len({e["line"] for e in problems if e.get("line")}),
        },
    )


@login_required
def import_errors_csv(request, slug: str, pk: int):
    panel_import = _import(request, slug, pk)
    if panel_import.status != PanelImport.Status.INVALID:
        messages.info(request, _("This list has no error report."))
        return redirect(reverse("pilots:import_detail", args=[slug, pk]))
    services.record_error_report_download(panel_import, acting_user=request.user)
    response = HttpResponse(services.error_report_csv(panel_import), content_type="text/csv; charset=utf-8")
    stem = panel_import.original_name.rsplit(".", 1)[0]
    response["Content-Disposition"] = content_disposition_header(True, f"{stem}-problems.csv")
    return response
