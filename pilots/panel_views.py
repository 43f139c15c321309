"""Coordinators' pages: panels, members and their contact history, screeners and draws."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import ngettext
from django.views.decorators.http import require_POST

from livinglab.charts import horizontal_bars
from livinglab.errors import DomainError
from livinglab.models import AuditEntry, Organisation
from livinglab.policy import CLUSTER_ROLES, active_memberships
from livinglab.views import paginate

from . import reports
from .errors import ScreenerError
from .models import (
    ContactOverride,
    Draw,
    DrawSelection,
    Invitation,
    Panel,
    PanelMembership,
    Participation,
    Screener,
    age_band_limits,
)
from .panel_forms import DrawForm, MemberSearchForm, MemberStatusForm, OverrideForm, PanelForm, ScreenerForm
from .screening import all_cells, attributes_of, cell_label, describe, stratum_expression
from .services import draws as draw_services
from .services import panels as panel_services
from .services.draws import Spec, ranking_key


def _panel(request, slug: str, perm: str = "pilots.manage_panel") -> Panel:
    panel = get_object_or_404(Panel.objects.select_related("owner", "consent_document"), slug=slug)
    if not request.user.has_perm(perm, panel):
        raise PermissionDenied(_("You do not run this panel."))
    return panel


def _run_panels(user):
    if user.is_superuser:
        return Panel.objects.all()
    clusters = [m.organisation_id for m in active_memberships(user) if m.role in CLUSTER_ROLES]
    return Panel.objects.filter(owner_id__in=clusters)


# -------------------------------------------------------------------------------------------- panels


@login_required
def panel_list(request):
    panels = (
        _run_panels(request.user)
        .select_related("owner")
        .annotate(
            active_count=Count("memberships", filter=Q(memberships__status=PanelMembership.Status.ACTIVE)),
            pending_count=Count("memberships", filter=Q(memberships__status=PanelMembership.Status.PENDING)),
        )
        .order_by("name")
    )
    if not request.user.has_perm("pilots.add_panel") and not panels.exists():
        raise PermissionDenied(_("Panels are run by living-lab staff."))
    page = paginate(request, panels)
    return render(
        request,
        "pilots/panels/panel_list.html",
        {"panels": page, "chart": horizontal_bars([(p.name, p.active_count) for p in page])},
    )


def _owners(user):
    if user.is_superuser:
        return Organisation.objects.filter(kind=Organisation.Kind.CLUSTER)
    clusters = [m.organisation_id for m in active_memberships(user) if m.role in CLUSTER_ROLES]
    return Organisation.objects.filter(pk__in=clusters, kind=Organisation.Kind.CLUSTER)


@login_required
def panel_edit(request, slug=None):
    panel = _panel(request, slug) if slug else None
    if panel is None and not request.user.has_perm("pilots.add_panel"):
        raise PermissionDenied(_("Panels are opened by living-lab staff."))
    form = PanelForm(request.POST or None, instance=panel, owners=_owners(request.user))
    if request.method == "POST" and form.is_valid():
        try:
            saved = panel_services.save_panel(
                form.save(commit=False),
                acting_user=request.user,
                recruiting_groups=form.cleaned_data["recruiting_groups"],
            )
        except DomainError as error:
            form.add_error(None, error.message)
        else:
            messages.success(request, _("The panel “%(name)s” was saved.") % {"name": saved.name})
            return redirect("pilots:panel_detail", slug=saved.slug)
    return render(request, "pilots/panels/panel_form.html", {"form": form, "panel": panel})


@login_required
def panel_detail(request, slug):
    panel = _panel(request, slug)
    figures = reports.composition(panel)
    draws = panel.draws.select_related("requested_by").order_by("-drawn_at")[:5]
    return render(
        request,
        "pilots/panels/panel_detail.html",
        {
            "panel": panel,
            "figures": figures,
            "age_chart": horizontal_bars(figures["by_age_band"]),
            "region_chart": horizontal_bars(figures["by_region"]),
            "status_chart": horizontal_bars(figures["by_status"]),
            "draws": draws,
            "screener_count": panel.screeners.count(),
        },
    )


# ------------------------------------------------------------------------------------------- members


@login_required
def member_list(request, slug):
    panel = _panel(request, slug)
    form = MemberSearchForm(request.GET or None)
    members = (
        PanelMembership.objects.filter(panel=panel)
        .select_related("person__profile", "person__user", "recruited_by")
        .order_by("person__full_name", "pk")
    )
    if form.is_valid():
        data = form.cleaned_data
        if data["q"]:
            q = data["q"].strip()
            members = members.filter(
                Q(person__full_name__icontains=q)
                | Q(person__user__email__iexact=q)
                | Q(person__profile__contact_email__iexact=q)
                | Q(person__profile__postcode_area__istartswith=q)
            )
        if data["status"]:
            members = members.filter(status=data["status"])
        if data["source"]:
            members = members.filter(source=data["source"])
        if data["age_band"]:
            low, high = age_band_limits(data["age_band"])
            year = timezone.localdate().year
            members = members.filter(person__profile__year_of_birth__lte=year - low)
            if high is not None:
                members = members.filter(person__profile__year_of_birth__gte=year - high)
    return render(
        request,
        "pilots/panels/member_list.html",
        {
            "panel": panel,
            "form": form,
            "members": paginate(request, members),
            "query": request.GET.urlencode(),
        },
    )


def contact_history(membership: PanelMembership) -> list[dict]:
    """Everything that reached or concerned this person through panels, newest first."""
    person = membership.person
    events = []
    for invitation in Invitation.objects.filter(person=person).select_related("selection__draw", "panel"):
        events.append(
            {
                "at": invitation.created_at,
                "what": _("Invited to “%(study)s”") % {"study": invitation.selection.draw.title},
                "panel": invitation.panel.name,
                "detail": invitation.get_status_display(),
            }
        )
    for participation in Participation.objects.filter(person=person).select_related("panel", "invitation"):
        events.append(
            {
                "at": participation.occurred_at,
                "what": participation.get_outcome_display(),
                "panel": participation.panel.name,
                "detail": "",
            }
        )
    for override in ContactOverride.objects.filter(membership__person=person).select_related(
        "membership__panel", "used_by"
    ):
        events.append(
            {
                "at": override.granted_at,
                "what": _("Contact limits overridden"),
                "panel": override.membership.panel.name,
                "detail": override.reason,
            }
        )
    entries = AuditEntry.objects.filter(
        action="pilots.membership.status", object_id=str(membership.pk), content_type__model="panelmembership"
    )
    statuses = dict(PanelMembership.Status.choices)
    for entry in entries:
        events.append(
            {
                "at": entry.created_at,
                "what": _("Status: %(status)s")
                % {"status": statuses.get(entry.data.get("to"), entry.data.get("to"))},
                "panel": membership.panel.name,
                "detail": entry.data.get("reason", ""),
            }
        )
    return sorted(events, key=lambda e: e["at"], reverse=True)


@login_required
def member_detail(request, slug, pk):
    panel = _panel(request, slug)
    membership = get_object_or_404(
        PanelMembership.objects.select_related(
            "person__profile", "person__user", "recruited_by", "enrolled_by"
        ),
        panel=panel,
        pk=pk,
    )
    if not request.user.has_perm("pilots.manage_member", membership):
        raise PermissionDenied
    panel_services.note_member_viewed(membership, acting_user=request.user)
    status_form = MemberStatusForm(initial={"status": membership.status})
    status_form.fields["status"].choices = [
        (value, label) for value, label in PanelMembership.Status.choices if membership.can_move_to(value)
    ]
    answers = membership.answers.select_related("attribute").order_by("attribute__order", "attribute__pk")
    return render(
        request,
        "pilots/panels/member_detail.html",
        {
            "panel": panel,
            "membership": membership,
            "profile": getattr(membership.person, "profile", None),
            "answers": answers,
            "consents": membership.person.consents.select_related("purpose").order_by("-given_at")[:20],
            "history": paginate(request, contact_history(membership)),
            "status_form": status_form,
            "override_form": OverrideForm(),
            "open_override": membership.overrides.filter(used_by__isnull=True).first(),
        },
    )


@login_required
@require_POST
def member_status(request, slug, pk):
    panel = _panel(request, slug)
    membership = get_object_or_404(PanelMembership, panel=panel, pk=pk)
    form = MemberStatusForm(request.POST)
    if form.is_valid():
        try:
            panel_services.change_membership_status(
                membership,
                form.cleaned_data["status"],
                acting_user=request.user,
                reason=form.cleaned_data["reason"],
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("The member's status was changed."))
    else:
        messages.error(request, _("Choose a status."))
    return redirect("pilots:member_detail", slug=panel.slug, pk=membership.pk)


@login_required
@require_POST
def member_override(request, slug, pk):
    panel = _panel(request, slug)
    membership = get_object_or_404(PanelMembership, panel=panel, pk=pk)
    form = OverrideForm(request.POST)
    if form.is_valid():
        try:
            draw_services.grant_override(
                membership, reason=form.cleaned_data["reason"], acting_user=request.user
            )
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(
                request, _("The next draw will consider this member despite the contact limits.")
            )
    else:
        messages.error(request, _("Give the reason for the exception."))
    return redirect("pilots:member_detail", slug=panel.slug, pk=membership.pk)


# ----------------------------------------------------------------------------------------- screeners


@login_required
def screener_list(request, slug):
    panel = _panel(request, slug)
    screeners = panel.screeners.annotate(draw_count=Count("draws")).order_by("name")
    return render(
        request,
        "pilots/panels/screener_list.html",
        {
            "panel": panel,
            "screeners": paginate(request, screeners),
            "attributes": attributes_of(panel).values(),
        },
    )


@login_required
def screener_edit(request, slug, pk=None):
    panel = _panel(request, slug)
    screener = get_object_or_404(Screener, panel=panel, pk=pk) if pk else Screener(panel=panel)
    initial = ScreenerForm.initial_for(screener) if pk else None
    form = ScreenerForm(request.POST or None, panel=panel, initial=initial)
    problems = []
    if request.method == "POST" and form.is_valid():
        screener.name = form.cleaned_data["name"]
        screener.conditions = form.cleaned_data["conditions"]
        try:
            panel_services.save_screener(screener, acting_user=request.user)
        except ScreenerError as error:
            problems = error.problems
            form.add_error(None, error.message)
        else:
            messages.success(request, _("The screener “%(name)s” was saved.") % {"name": screener.name})
            return redirect("pilots:screener_list", slug=panel.slug)
    return render(
        request,
        "pilots/panels/screener_form.html",
        {
            "panel": panel,
            "screener": screener,
            "form": form,
            "problems": problems,
            "attributes": attributes_of(panel).values(),
        },
    )


# --------------------------------------------------------------------------------------------- draws


def _cells_of(request, panel) -> list[dict]:
    attributes = attributes_of(panel)
    strata = [s for s in request.POST.getlist("strata") if s in attributes][:3]
    if not strata:
        return []
    cells = all_cells(strata, attributes)
    if any(not attributes[s].choices for s in strata):
        # Free-text choices (regions): the values members actually have.
        year = timezone.localdate().year
        columns = {f"s{i}": stratum_expression(attributes[code], year) for i, code in enumerate(strata)}
        rows = (
            PanelMembership.objects.filter(panel=panel, status=PanelMembership.Status.ACTIVE)
            .annotate(**columns)
            .values_list(*columns)
            .distinct()
            .order_by(*columns)[:60]
        )
        cells = [dict(zip(strata, row, strict=True)) for row in rows if all(row)]
    return cells


@login_required
def draw_new(request, slug):
    panel = _panel(request, slug)
    attributes = attributes_of(panel)
    cells = _cells_of(request, panel) if request.method == "POST" else []
    form = DrawForm(request.POST or None, panel=panel, cells=cells)
    feasibility = None
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        screener = data["screener"]
        spec = Spec(
            conditions=screener.conditions if screener else {},
            strata=list(data["strata"]),
            quotas=form.quotas() if data["strata"] else [],
            size=data["size"],
            purposes=list(data["purposes"]),
            one_per_household=data["one_per_household"],
        )
        if spec.strata and not spec.quotas and "draw" in request.POST:
            form.add_error(None, _("Fill in the quota table (press Preview first)."))
        elif "draw" in request.POST and request.POST.get("previewed") == "1":
            try:
                draw = draw_services.draw_sample(
                    panel,
                    spec,
                    title=data["title"],
                    involves=data["involves"],
                    acting_user=request.user,
                    seed=data["seed"],
                    requested_by=data["requested_by"],
                    screener=screener,
                    respond_within_days=data["respond_within_days"],
                )
            except ScreenerError as error:
                form.add_error(None, error.message)
                for problem in error.problems:
                    form.add_error(None, problem)
            else:
                drawn = ngettext("%(n)s person was drawn.", "%(n)s people were drawn.", draw.size)
                messages.success(request, drawn % {"n": draw.size})
                return redirect("pilots:draw_detail", pk=draw.pk)
        feasibility = draw_services.preview_draw(panel, spec)
    chart = None
    if feasibility is not None and feasibility.cells:
        chart = horizontal_bars([(c.label, c.eligible) for c in feasibility.cells])
    return render(
        request,
        "pilots/panels/draw_form.html",
        {
            "panel": panel,
            "form": form,
            "feasibility": feasibility,
            "chart": chart,
            "cell_rows": [(cell_label(c, attributes), mn, mx) for c, mn, mx in form.cell_rows()],
        },
    )


@login_required
def draw_list(request, slug):
    panel = _panel(request, slug)
    draws = (
        panel.draws.select_related("requested_by", "drawn_by")
        .annotate(selected=Count("selections", filter=Q(selections__removed_at__isnull=True)))
        .order_by("-drawn_at")
    )
    return render(
        request, "pilots/panels/draw_list.html", {"panel": panel, "draws": paginate(request, draws)}
    )


def _draw(request, pk) -> Draw:
    draw = get_object_or_404(
        Draw.objects.select_related("panel__owner", "requested_by", "screener", "campaign"), pk=pk
    )
    if not request.user.has_perm("pilots.manage_draw", draw):
        raise PermissionDenied(_("You do not run this panel."))
    return draw


@login_required
def draw_detail(request, pk):
    draw = _draw(request, pk)
    attributes = attributes_of(draw.panel)
    selections = (
        DrawSelection.objects.filter(draw=draw)
        .select_related("invitation")
        .prefetch_related(
            Prefetch("membership__overrides", queryset=ContactOverride.objects.filter(used_by=draw))
        )
        .order_by("rank")
    )
    page = paginate(request, selections, per_page=50)
    rows = [
        {
            "selection": s,
            "cell": cell_label(s.cell, attributes) if s.cell else "",
            "key": ranking_key(draw.seed, s.membership_id),
            "override": next(iter(s.membership.overrides.all()), None),
        }
        for s in page
    ]
    replay = None
    if "replay" in request.GET:
        stored = list(draw.selections.order_by("rank").values_list("membership_id", flat=True))
        replay = draw_services.replay_draw(draw) == stored
    drawn_cells = list(draw.selections.values_list("cell", flat=True)) if draw.quotas else []
    cells = [
        {
            "label": cell_label(quota["cell"], attributes),
            "min": quota.get("min", 0),
            "max": quota.get("max"),
            "drawn": drawn_cells.count(quota["cell"]),
        }
        for quota in draw.quotas
    ]
    return render(
        request,
        "pilots/panels/draw_detail.html",
        {
            "draw": draw,
            "rows": rows,
            "page": page,
            "replay": replay,
            "cells": cells,
            "purposes": draw.required_purposes.all(),
            "conditions": describe(draw.conditions, attributes),
        },
    )


@login_required
@require_POST
def draw_cancel(request, pk):
    draw = _draw(request, pk)
    try:
        draw_services.cancel_draw(draw, acting_user=request.user)
    except DomainError as error:
        messages.error(request, error.message)
    else:
        messages.success(request, _("The draw was cancelled."))
    return redirect("pilots:draw_detail", pk=draw.pk)
