"""Pages of the challenge, the market consultation and the phased call: the index, drafting (challenge,
terms, phases, award criteria), publishing, the consultation page, the public detail page and the documents
generated from the call. Views parse, check the policy and call a service; refusals become messages or form
errors, never a 500."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Prefetch, Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from livinglab.acting import acting_organisation, acting_organisations, pending_rules, refuse
from livinglab.errors import DomainError
from livinglab.models import Organisation, Role
from livinglab.policy import CLUSTER_ROLES, active_memberships, is_platform_admin
from livinglab.views import paginate, pdf_response

from . import call_forms as forms
from .models import (
    AwardCriterion,
    CallDocument,
    Consortium,
    ConsultationEvent,
    ConsultationInput,
    Phase,
    Procurement,
    Registration,
)
from .rules import FIRM_KINDS, firm_ids
from .services import calls as services
from .services import consultation as consulting
from .view_helpers import get_procurement

Status = Procurement.Status
PhaseStatus = Phase.Status
MANAGE = "procurement.manage_procurement"


# ---------------------------------------------------------------------------------------------- helpers


def visible_procurements(user):
    """Procurements ``user`` may see: every published one, their own authority's (drafts included) and the
    ones their cluster intermediates."""
    procurements = Procurement.objects.all()
    if is_platform_admin(user):
        return procurements
    memberships = active_memberships(user)
    staff_of = [m.organisation_id for m in memberships]
    clusters = [m.organisation_id for m in memberships if m.role in CLUSTER_ROLES]
    intermediated = Procurement.intermediaries.through.objects.filter(organisation_id__in=clusters).values(
        "procurement_id"
    )
    return procurements.filter(~Q(status=Status.DRAFT) | Q(buyer_id__in=staff_of) | Q(pk__in=intermediated))


def _current_phase(phases: list[Phase]) -> Phase | None:
    """The phase that matters now: the one running (open, under evaluation, standstill), else the next
    planned one, else the last."""
    for phase in phases:
        if phase.status in Phase.QUIET:
            return phase
    for phase in phases:
        if phase.status == PhaseStatus.PLANNED:
            return phase
    return phases[-1] if phases else None


def _next_deadline(phase: Phase | None, now):
    if phase is None or phase.status != PhaseStatus.OPEN:
        return None
    for moment in (phase.question_deadline, phase.bid_deadline):
        if moment is not None and now < moment:
            return moment
    return None


def _link(name: str, *args) -> str | None:
    """The address of another part's page; None while that part is not installed."""
    try:
        return reverse(f"procurement:{name}", args=args)
    except NoReverseMatch:
        return None


def _documents(procurement: Procurement):
    return CallDocument.objects.filter(procurement=procurement).order_by("kind", "-version", "-pk")


def _firm_choices(request) -> list[Organisation]:
    return acting_organisations(request, FIRM_KINDS)


# -------------------------------------------------------------------------------------------------- index


def index(request):
    """Procurements the user can see, newest first, optionally of one status."""
    form = forms.FilterForm(request.GET or None)
    procurements = visible_procurements(request.user).select_related("buyer")
    if form.is_valid() and form.cleaned_data["status"]:
        procurements = procurements.filter(status=form.cleaned_data["status"])
    procurements = procurements.prefetch_related(
        Prefetch("phases", queryset=Phase.objects.order_by("number")),
        Prefetch("intermediaries", queryset=Organisation.objects.order_by("name")),
    ).order_by("-created_at", "-pk")
    page = paginate(request, procurements)
    now = timezone.now()
    for procurement in page:
        procurement.current_phase = _current_phase(list(procurement.phases.all()))
        procurement.next_deadline = _next_deadline(procurement.current_phase, now)
    return render(
        request,
        "procurement/calls/index.html",
        {
            "procurements": page,
            "form": form,
            "may_add": request.user.has_perm("procurement.add_procurement"),
        },
    )


# ------------------------------------------------------------------------------------------------ drafting


@login_required
def create(request):
    if not request.user.has_perm("procurement.add_procurement"):
        raise PermissionDenied(_("Procurements are started by the procurers of public authorities."))
    if is_platform_admin(request.user):
        buyers = Organisation.objects.filter(kind=Organisation.Kind.PUBLIC_AUTHORITY)
    else:
        mine = [m.organisation_id for m in active_memberships(request.user) if m.role == Role.PROCURER]
        buyers = Organisation.objects.filter(pk__in=mine, kind=Organisation.Kind.PUBLIC_AUTHORITY)
    form = forms.ProcurementForm(request.POST or None, buyers=buyers.order_by("name"))
    if request.method == "POST" and form.is_valid():
        data = form.changes()
        intermediaries = data.pop("intermediaries", [])
        try:
            procurement = services.create_procurement(
                **data, intermediaries=intermediaries, acting_user=request.user
            )
        except DomainError as error:
            refuse(request, error, form)
        else:
            messages.success(
                request,
                _(
                    "“%(title)s” is saved as a draft with the three default phases. "
                    "Set their criteria and dates."
                )
                % {"title": procurement.title},
            )
            return redirect("procurement:edit", slug=procurement.slug)
    return render(
        request,
        "procurement/calls/form.html",
        {"form": form, "procurement": None, "pending_rules": pending_rules(request)},
    )


def _not_editable(request, procurement):
    messages.error(
        request,
        _("This procurement is “%(status)s”: its call is published and can no longer be edited.")
        % {"status": procurement.get_status_display()},
    )
    return redirect("procurement:detail", slug=procurement.slug)


def _edit_page(request, procurement, form=None, phase_form=None, status=200):
    phases = list(procurement.phases.prefetch_related("criteria").order_by("number"))
    for phase in phases:
        criteria = list(phase.criteria.all())
        phase.criteria_n = len(criteria)
        phase.weight = sum(c.weight for c in criteria)
    context = {
        "procurement": procurement,
        "form": form or forms.ProcurementEditForm(instance=procurement),
        "phases": phases,
        "phase_form": phase_form or forms.PhaseForm(procurement=procurement, prefix="new"),
        "problems": services.call_problems(procurement),
        "pending_rules": pending_rules(request),
    }
    return render(request, "procurement/calls/edit.html", context, status=status)


@login_required
def edit(request, slug):
    procurement = get_procurement(request, slug, MANAGE)
    if not procurement.is_editable:
        return _not_editable(request, procurement)
    form = forms.ProcurementEditForm(request.POST or None, instance=procurement)
    if request.method == "POST" and form.is_valid():
        changes = form.changes()
        intermediaries = changes.pop("intermediaries", None)
        try:
            services.update_procurement(
                procurement, changes, intermediaries=intermediaries, acting_user=request.user
            )
        except DomainError as error:
            refuse(request, error, form)
        else:
            messages.success(request, _("The challenge and the terms are saved."))
            return redirect("procurement:edit", slug=procurement.slug)
    return _edit_page(request, procurement, form=form)


@login_required
@require_POST
def phase_add(request, slug):
    procurement = get_procurement(request, slug, MANAGE)
    if not procurement.is_editable:
        return _not_editable(request, procurement)
    form = forms.PhaseForm(request.POST, procurement=procurement, prefix="new")
    if form.is_valid():
        try:
            phase = services.add_phase(procurement, form.changes(), acting_user=request.user)
        except DomainError as error:
            refuse(request, error, form)
        else:
            messages.success(request, _("%(phase)s is added: give it its award criteria.") % {"phase": phase})
            return redirect("procurement:phase_edit", slug=procurement.slug, number=phase.number)
    return _edit_page(request, procurement, phase_form=form)


def _phase(request, slug, number) -> Phase:
    procurement = get_procurement(request, slug, MANAGE)
    return get_object_or_404(
        Phase.objects.select_related("procurement__buyer"), procurement=procurement, number=number
    )


def _phase_page(request, phase, form=None, criterion_form=None, bound=None):
    """The phase's settings and its award criteria, each with its own form (``bound`` replaces one)."""
    procurement = phase.procurement
    criteria = list(phase.criteria.order_by("position", "pk"))
    for criterion in criteria:
        if bound is not None and bound.instance.pk == criterion.pk:
            criterion.form = bound
        else:
            criterion.form = forms.CriterionForm(instance=criterion, prefix=f"c{criterion.pk}")
    context = {
        "procurement": procurement,
        "phase": phase,
        "form": form or forms.PhaseForm(instance=phase, procurement=procurement),
        "criteria": criteria,
        "total_weight": sum(c.weight for c in criteria),
        "criterion_form": criterion_form or forms.CriterionForm(prefix="new"),
        "pending_rules": pending_rules(request),
    }
    return render(request, "procurement/calls/phase.html", context)


@login_required
def phase_edit(request, slug, number):
    phase = _phase(request, slug, number)
    if not phase.procurement.is_editable:
        return _not_editable(request, phase.procurement)
    form = forms.PhaseForm(request.POST or None, instance=phase, procurement=phase.procurement)
    if request.method == "POST" and form.is_valid():
        try:
            services.save_phase(phase, form.changes(), acting_user=request.user)
        except DomainError as error:
            refuse(request, error, form)
        else:
            messages.success(request, _("%(phase)s is saved.") % {"phase": phase})
            return redirect("procurement:phase_edit", slug=phase.procurement.slug, number=phase.number)
    return _phase_page(request, phase, form=form)


@login_required
@require_POST
def phase_remove(request, slug, number):
    phase = _phase(request, slug, number)
    try:
        services.remove_phase(phase, acting_user=request.user)
    except DomainError as error:
        refuse(request, error)
    else:
        messages.success(request, _("%(phase)s is removed; the phases after it moved up.") % {"phase": phase})
    return redirect("procurement:edit", slug=phase.procurement.slug)


@login_required
@require_POST
def criterion_add(request, slug, number):
    phase = _phase(request, slug, number)
    form = forms.CriterionForm(request.POST, prefix="new")
    if form.is_valid():
        try:
            services.save_criterion(phase, form.changes(), acting_user=request.user)
        except DomainError as error:
            refuse(request, error, form)
        else:
            messages.success(request, _("The criterion is added."))
            return redirect("procurement:phase_edit", slug=phase.procurement.slug, number=phase.number)
    return _phase_page(request, phase, criterion_form=form)


@login_required
@require_POST
def criterion_edit(request, slug, number, pk):
    phase = _phase(request, slug, number)
    criterion = get_object_or_404(AwardCriterion, pk=pk, phase=phase)
    if "remove" in request.POST:
        try:
            services.remove_criterion(criterion, acting_user=request.user)
        except DomainError as error:
            refuse(request, error)
        else:
            messages.success(request, _("The criterion “%(name)s” is removed.") % {"name": criterion.name})
        return redirect("procurement:phase_edit", slug=phase.procurement.slug, number=phase.number)
    form = forms.CriterionForm(request.POST, instance=criterion, prefix=f"c{criterion.pk}")
    if form.is_valid():
        try:
            services.save_criterion(phase, form.changes(), criterion=criterion, acting_user=request.user)
        except DomainError as error:
            refuse(request, error, form)
        else:
            messages.success(
                request, _("The criterion “%(name)s” is saved.") % {"name": form.cleaned_data["name"]}
            )
            return redirect("procurement:phase_edit", slug=phase.procurement.slug, number=phase.number)
    return _phase_page(request, phase, bound=form)


# ----------------------------------------------------------------------------------------- the detail page


def _parts(user, procurement: Procurement, phases: list[Phase]) -> list[tuple[str, str]]:
    """Links to the other parts of the procurement, each shown only to those who may use it."""
    published = procurement.status != Status.DRAFT
    in_call = procurement.status in (Status.CALL, Status.COMPLETED)
    parts = []

    def add(label, name, *args):
        url = _link(name, *args)
        if url:
            parts.append((label, url))

    if in_call:
        add(_("Clarifications"), "clarifications", procurement.slug)
    if in_call and user.has_perm("procurement.post_partner_search", procurement):
        add(_("Partner search"), "partners", procurement.slug)
    if in_call and (
        user.has_perm("procurement.form_consortium", procurement)
        or user.has_perm("procurement.propose_consortium", procurement)
    ):
        add(_("Consortia"), "consortia", procurement.slug)
    mine = firm_ids(user)
    leads = (
        bool(mine)
        and Consortium.objects.filter(procurement=procurement, lead_id__in=mine)
        .exclude(status=Consortium.Status.DISSOLVED)
        .exists()
    )
    for phase in phases:
        if leads and phase.status == PhaseStatus.OPEN:
            add(_("Bid for phase %(n)s") % {"n": phase.number}, "bid", procurement.slug, phase.number)
        # (The evaluator predicate expects a signed-in user.)
        if (
            user.is_authenticated
            and phase.status not in (PhaseStatus.PLANNED, PhaseStatus.CANCELLED)
            and (
                user.has_perm("procurement.manage_evaluation", procurement)
                or user.has_perm("procurement.evaluate_phase", phase)
            )
        ):
            add(
                _("Evaluation of phase %(n)s") % {"n": phase.number},
                "evaluation",
                procurement.slug,
                phase.number,
            )
        if phase.status in (
            PhaseStatus.EVALUATION,
            PhaseStatus.STANDSTILL,
            PhaseStatus.AWARDED,
            PhaseStatus.COMPLETED,
        ) and user.has_perm("procurement.award_phase", procurement):
            add(_("Award of phase %(n)s") % {"n": phase.number}, "award", procurement.slug, phase.number)
    if user.has_perm("procurement.view_register", procurement):
        add(_("Interaction register"), "register", procurement.slug)
    if published:
        add(_("Contacts with the authority (public summary)"), "register_summary", procurement.slug)
        add(_("Open contracting data (OCDS record)"), "ocds_record", procurement.ocid)
    return parts


def _detail_page(request, procurement, status=200, **extra):
    user = request.user
    now = timezone.now()
    phases = list(procurement.phases.prefetch_related("criteria").order_by("number"))
    may_manage = user.has_perm(MANAGE, procurement)
    openable = None
    for phase in phases:
        previous = next((p for p in phases if p.number == phase.number - 1), None)
        if (
            procurement.status == Status.CALL
            and phase.status == PhaseStatus.PLANNED
            and previous is not None
            and previous.status in (PhaseStatus.AWARDED, PhaseStatus.COMPLETED)
        ):
            openable = phase
            break
    firms = _firm_choices(request) if user.is_authenticated else []
    registered = (
        set(
            Registration.objects.filter(
                procurement=procurement, stage=Registration.Stage.CALL, organisation__in=firms
            ).values_list("organisation_id", flat=True)
        )
        if firms
        else set()
    )
    context = {
        "procurement": procurement,
        "zone": procurement.time_zone,
        "phases": phases,
        "current_phase": _current_phase(phases),
        "intermediaries": list(procurement.intermediaries.order_by("name")),
        "documents": paginate(request, _documents(procurement), param="documents"),
        "may_manage": may_manage,
        "problems": services.call_problems(procurement, now)
        if may_manage and procurement.is_editable
        else [],
        "openable": openable,
        "next_phase_form": forms.NextPhaseForm(procurement=procurement) if may_manage and openable else None,
        "cancel_form": forms.CancelForm()
        if may_manage and procurement.status not in (Status.COMPLETED, Status.CANCELLED)
        else None,
        "parts": _parts(user, procurement, phases),
        "bidder_firms": [o for o in firms if o.pk not in registered]
        if procurement.status == Status.CALL and user.has_perm("procurement.register_interest", procurement)
        else [],
        "registered_firms": [o for o in firms if o.pk in registered],
        "pending_rules": pending_rules(request),
        **extra,
    }
    return render(request, "procurement/calls/detail.html", context, status=status)


def detail(request, slug):
    return _detail_page(request, get_procurement(request, slug))


@login_required
@require_POST
def publish(request, slug):
    procurement = get_procurement(request, slug, MANAGE)
    try:
        services.publish_call(procurement, acting_user=request.user)
    except services.CallIncomplete as error:
        return _detail_page(request, procurement, publish_problems=error.problems)
    except DomainError as error:
        refuse(request, error)
        return _detail_page(request, procurement)
    messages.success(request, _("The call is published and phase 1 is open for questions and bids."))
    return redirect("procurement:detail", slug=procurement.slug)


@login_required
@require_POST
def phase_open(request, slug, number):
    phase = _phase(request, slug, number)
    procurement = phase.procurement
    form = forms.NextPhaseForm(request.POST, procurement=procurement)
    if form.is_valid():
        try:
            services.open_next_phase(
                phase,
                question_deadline=form.cleaned_data["question_deadline"],
                bid_deadline=form.cleaned_data["bid_deadline"],
                acting_user=request.user,
            )
        except DomainError as error:
            refuse(request, error, form)
        else:
            messages.success(request, _("%(phase)s is open for questions and bids.") % {"phase": phase})
            return redirect("procurement:detail", slug=procurement.slug)
    return _detail_page(request, procurement, next_phase_form=form, openable=phase)


@login_required
@require_POST
def cancel(request, slug):
    procurement = get_procurement(request, slug, MANAGE)
    form = forms.CancelForm(request.POST)
    if form.is_valid():
        try:
            services.cancel_procurement(
                procurement, reason=form.cleaned_data["reason"], acting_user=request.user
            )
        except DomainError as error:
            refuse(request, error, form)
        else:
            messages.success(request, _("The procurement is cancelled."))
            return redirect("procurement:detail", slug=procurement.slug)
    return _detail_page(request, procurement, cancel_form=form)


@login_required
@require_POST
def register_interest(request, slug):
    """A firm registers for the consultation or as a bidder of the call."""
    procurement = get_procurement(request, slug)
    stage = request.POST.get("stage", "")
    organisation = acting_organisation(request, FIRM_KINDS)
    if organisation is None:
        messages.error(request, _("Only firms and research organisations register for a procurement."))
    else:
        try:
            consulting.register_interest(procurement, organisation, stage, acting_user=request.user)
        except DomainError as error:
            refuse(request, error)
            if stage == Registration.Stage.CONSULTATION:
                return _consultation_page(request, procurement)
            return _detail_page(request, procurement)
        messages.success(
            request,
            _(
                "%(organisation)s is registered: it receives what the authority publishes for "
                "this procurement."
            )
            % {"organisation": organisation},
        )
    if stage == Registration.Stage.CONSULTATION:
        return redirect("procurement:consultation", slug=procurement.slug)
    return redirect("procurement:detail", slug=procurement.slug)


# ------------------------------------------------------------------------------------------- consultation


def _consultation_page(request, procurement, **forms_):
    user = request.user
    may_manage = user.has_perm(MANAGE, procurement)
    firms = _firm_choices(request) if user.is_authenticated else []
    registrations = Registration.objects.filter(
        procurement=procurement, stage=Registration.Stage.CONSULTATION
    )
    mine = (
        set(registrations.filter(organisation__in=firms).values_list("organisation_id", flat=True))
        if firms
        else set()
    )
    events = procurement.consultation_events.prefetch_related(
        Prefetch("attendees", queryset=Organisation.objects.order_by("name"))
    ).order_by("starts_at", "pk")
    events_page = paginate(request, events, param="events")
    now = timezone.now()
    attendance_choices = (
        Organisation.objects.filter(
            Q(pk__in=registrations.values("organisation_id"))
            | Q(pcp_events_attended__procurement=procurement)
        )
        .distinct()
        .order_by("name")
    )
    if may_manage:
        for event in events_page:
            event.started = event.starts_at <= now
            bound = forms_.get("attendance")
            if bound is not None and forms_.get("attendance_event") == event.pk:
                event.attendance_form = bound
            else:
                event.attendance_form = forms.AttendanceForm(
                    choices=attendance_choices,
                    initial={"organisations": list(event.attendees.all())},
                    prefix=f"e{event.pk}",
                )
    inputs = ConsultationInput.objects.filter(procurement=procurement).select_related("organisation")
    if not may_manage:
        inputs = inputs.filter(organisation__in=firms) if firms else inputs.none()
    open_now = procurement.consultation_open(now)
    context = {
        "procurement": procurement,
        "zone": procurement.time_zone,
        "may_manage": may_manage,
        "open_now": open_now,
        "closed": procurement.consultation_closes_at is not None
        and procurement.consultation_closes_at <= now,
        "events": events_page,
        "inputs": paginate(request, inputs.order_by("-submitted_at", "-pk"), param="inputs"),
        "unregistered_firms": [o for o in firms if o.pk not in mine]
        if open_now and user.has_perm("procurement.register_interest", procurement)
        else [],
        "registered_firms": [o for o in firms if o.pk in mine],
        "record": consulting.consultation_record(procurement),
        "open_form": forms.ConsultationOpenForm(procurement=procurement)
        if may_manage and procurement.status == Status.DRAFT
        else None,
        "event_form": forms.EventForm(procurement=procurement)
        if may_manage and procurement.is_editable
        else None,
        "input_form": forms.InputForm() if open_now and mine else None,
        "summary_form": forms.SummaryForm(initial={"summary": procurement.consultation_summary})
        if may_manage and procurement.status == Status.CONSULTATION
        else None,
        "documents": _documents(procurement).filter(
            kind__in=[CallDocument.Kind.CONSULTATION_NOTICE, CallDocument.Kind.CONSULTATION_SUMMARY]
        )[:6],
        "pending_rules": pending_rules(request),
    }
    # A form sent back with its errors replaces the empty one, whatever changed since.
    for name in ("open", "event", "input", "summary"):
        if forms_.get(name) is not None:
            context[f"{name}_form"] = forms_[name]
    record = context["record"]
    record["participants"] = paginate(request, record["participants"], param="participants")
    return render(request, "procurement/calls/consultation.html", context)


def consultation(request, slug):
    return _consultation_page(request, get_procurement(request, slug))


@login_required
@require_POST
def consultation_open(request, slug):
    procurement = get_procurement(request, slug, MANAGE)
    form = forms.ConsultationOpenForm(request.POST, procurement=procurement)
    if form.is_valid():
        try:
            consulting.open_consultation(
                procurement,
                opens_at=form.cleaned_data["opens_at"],
                closes_at=form.cleaned_data["closes_at"],
                acting_user=request.user,
            )
        except DomainError as error:
            refuse(request, error, form)
        else:
            messages.success(request, _("The market consultation is open and its notice is published."))
            return redirect("procurement:consultation", slug=procurement.slug)
    return _consultation_page(request, procurement, open=form)


@login_required
@require_POST
def event_add(request, slug):
    procurement = get_procurement(request, slug, MANAGE)
    form = forms.EventForm(request.POST, procurement=procurement)
    if form.is_valid():
        try:
            consulting.add_consultation_event(procurement, form.changes(), acting_user=request.user)
        except DomainError as error:
            refuse(request, error, form)
        else:
            messages.success(request, _("The event is announced on the consultation page."))
            return redirect("procurement:consultation", slug=procurement.slug)
    return _consultation_page(request, procurement, event=form)


@login_required
@require_POST
def event_attendance(request, slug, pk):
    procurement = get_procurement(request, slug, MANAGE)
    event = get_object_or_404(ConsultationEvent, pk=pk, procurement=procurement)
    registrations = Registration.objects.filter(
        procurement=procurement, stage=Registration.Stage.CONSULTATION
    )
    choices = Organisation.objects.filter(
        Q(pk__in=registrations.values("organisation_id")) | Q(pcp_events_attended=event)
    ).distinct()
    form = forms.AttendanceForm(request.POST, choices=choices, prefix=f"e{event.pk}")
    if form.is_valid():
        try:
            consulting.record_event_attendance(
                event, form.cleaned_data["organisations"], acting_user=request.user
            )
        except DomainError as error:
            refuse(request, error, form)
        else:
            messages.success(request, _("Attendance of “%(event)s” is recorded.") % {"event": event.title})
            return redirect("procurement:consultation", slug=procurement.slug)
    return _consultation_page(request, procurement, attendance=form, attendance_event=event.pk)


@login_required
@require_POST
def input_submit(request, slug):
    procurement = get_procurement(request, slug)
    form = forms.InputForm(request.POST, request.FILES)
    organisation = acting_organisation(request, FIRM_KINDS)
    if organisation is None:
        raise PermissionDenied(_("Written input comes from firms and research organisations."))
    if form.is_valid():
        try:
            consulting.submit_consultation_input(
                procurement,
                organisation,
                subject=form.cleaned_data["subject"],
                text=form.cleaned_data["text"],
                document=form.cleaned_data["document"],
                acting_user=request.user,
            )
        except DomainError as error:
            refuse(request, error, form)
        else:
            messages.success(request, _("Thank you: your input reached the authority."))
            return redirect("procurement:consultation", slug=procurement.slug)
    return _consultation_page(request, procurement, input=form)


@login_required
@require_POST
def input_used(request, slug, pk):
    procurement = get_procurement(request, slug, MANAGE)
    contribution = get_object_or_404(ConsultationInput, pk=pk, procurement=procurement)
    used = request.POST.get("used") == "1"
    try:
        consulting.mark_input_used(contribution, used, acting_user=request.user)
    except DomainError as error:
        refuse(request, error)
    else:
        text = (
            _("“%(subject)s” is marked as used in the specifications.")
            if used
            else _("“%(subject)s” is no longer marked as used in the specifications.")
        )
        messages.success(request, text % {"subject": contribution.subject})
    return redirect("procurement:consultation", slug=procurement.slug)


@login_required
def input_document(request, slug, pk):
    """An attachment of written input: for the authority's procurers and the organisation that sent it."""
    procurement = get_procurement(request, slug)
    contribution = get_object_or_404(ConsultationInput, pk=pk, procurement=procurement)
    if not (
        request.user.has_perm(MANAGE, procurement) or contribution.organisation_id in firm_ids(request.user)
    ):
        raise Http404(_("No such attachment."))
    if not contribution.document:
        raise Http404(_("This input has no attachment."))
    return FileResponse(contribution.document.open("rb"), as_attachment=True)


@login_required
@require_POST
def summary_publish(request, slug):
    procurement = get_procurement(request, slug, MANAGE)
    form = forms.SummaryForm(request.POST)
    if form.is_valid():
        try:
            consulting.publish_consultation_summary(
                procurement, form.cleaned_data["summary"], acting_user=request.user
            )
        except DomainError as error:
            refuse(request, error, form)
        else:
            messages.success(request, _("The summary report is published with the record of who took part."))
            return redirect("procurement:consultation", slug=procurement.slug)
    return _consultation_page(request, procurement, summary=form)


# ------------------------------------------------------------------------------------------------ documents


def call_pdf(request, slug):
    """GET: the current call document (a draft's procurers get a preview). POST: issue a new version."""
    procurement = get_procurement(request, slug)
    may_manage = request.user.has_perm(MANAGE, procurement)
    if request.method == "POST":
        if not may_manage:
            raise PermissionDenied(_("Only the authority's procurers issue the call document."))
        try:
            document = services.generate_document(
                procurement, CallDocument.Kind.CALL, acting_user=request.user
            )
        except DomainError as error:
            refuse(request, error)
        else:
            messages.success(
                request,
                _("Version %(version)s of the call document is issued.") % {"version": document.version},
            )
        return redirect("procurement:detail", slug=procurement.slug)
    document = _documents(procurement).filter(kind=CallDocument.Kind.CALL).first()
    if document is not None:
        return _file(document)
    if may_manage and procurement.is_editable:
        pdf = services.render_document(procurement, CallDocument.Kind.CALL, preview=True)
        return pdf_response(f"{procurement.slug}-call-preview.pdf", pdf)
    raise Http404(_("The call document is not issued yet."))


def _file(document: CallDocument):
    name = f"{document.procurement.slug}-{document.kind}-v{document.version}.pdf"
    response = FileResponse(document.file.open("rb"), content_type="application/pdf", filename=name)
    response["X-Content-SHA256"] = document.sha256
    return response


def document(request, pk):
    document = get_object_or_404(CallDocument.objects.select_related("procurement"), pk=pk)
    get_procurement(request, document.procurement.slug)
    return _file(document)
