"""Joining a panel, enrolling someone on their behalf, confirming through the e-mailed link, the
participant's profile, a panel's own questions, and what interest groups see of their recruits.

Thin views: parse, ask ``user.has_perm``, call ``pilots.services.enrolment``, render."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Count, Prefetch, Q
from django.http import FileResponse, Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _

from livinglab.charts import horizontal_bars
from livinglab.errors import DomainError
from livinglab.models import ConsentRecord, Organisation, Person, Role
from livinglab.policy import CLUSTER_ROLES, active_memberships, is_platform_admin
from livinglab.views import client_ip, paginate, person_of

from .enrol_forms import (
    AttributeForm,
    DeleteAttributeForm,
    EnrolForm,
    PanelConsentForm,
    ProfileForm,
    RecordConsentForm,
    employer_wanted,
)
from .models import AttributeValue, Panel, PanelAttribute, PanelMembership, ParticipantProfile
from .rules import may_manage_own_data
from .services.enrolment import (
    AnswerError,
    ConsentRoute,
    PanelFieldError,
    confirm_membership,
    current_consent_version,
    decline_membership,
    define_attribute,
    enrol_participant,
    join_panel,
    membership_from_token,
    open_scan,
    record_paper_consent,
    recruit_counts,
    recruiting_groups_of,
    remove_attribute,
    scan_content_type,
    update_profile,
)
from .services.panels import note_member_viewed
from .tokens import CONFIRMATION_MAX_AGE, LinkProblem

Status = PanelMembership.Status
MEMBER_STATUSES = {Status.ACTIVE, Status.PAUSED}
# Panels whose questions a person still answers on their profile page.
CURRENT_STATUSES = {Status.PENDING, Status.ACTIVE, Status.PAUSED}


def _panel(slug: str) -> Panel:
    return get_object_or_404(Panel.objects.select_related("owner", "consent_document"), slug=slug)


def _require(request, perm: str, obj) -> None:
    if not request.user.has_perm(perm, obj):
        raise PermissionDenied(_("You cannot open this page."))


def _evidence(request) -> dict:
    return {"ip": client_ip(request), "user_agent": request.META.get("HTTP_USER_AGENT", "")[:300]}


def _show_refusal(error: DomainError, *, profile_form, others=(), panel_id=None) -> None:
    """Put a service's refusal next to the field it is about, or at the top of the first form."""
    if isinstance(error, AnswerError):
        for code, problem in error.problems.items():
            field = profile_form.field_for(code, error.panel_id or panel_id)
            profile_form.add_error(field, problem)
        return
    if isinstance(error, PanelFieldError):
        for form in (profile_form, *others):
            if error.field in form.fields:
                form.add_error(error.field, error.message)
                return
    (others[0] if others else profile_form).add_error(None, error.message)


def _stored_answers(memberships) -> dict:
    return {v.attribute_id: v for v in AttributeValue.objects.filter(membership__in=memberships)}


# -------------------------------------------------------------------------------------------- joining


@login_required
def join(request, slug):
    panel = _panel(slug)
    me = person_of(request.user)
    wards = list(Person.objects.filter(guardianships__guardian=me).order_by("full_name"))
    subject = me
    if request.GET.get("for"):
        subject = next((w for w in wards if str(w.pk) == request.GET["for"]), None)
        if subject is None:
            raise Http404
    for_ward = subject.pk != me.pk
    here = reverse("pilots:join_panel", args=[panel.slug]) + (f"?for={subject.pk}" if for_ward else "")
    membership = PanelMembership.objects.filter(panel=panel, person=subject).first()
    version = current_consent_version(panel)
    context = {
        "panel": panel,
        "subject": subject,
        "for_ward": for_ward,
        "wards": wards,
        "membership": membership,
        "version": version,
        "here": here,
    }
    state = _join_state(panel, membership, version)
    if state != "open":
        context["state"] = state
        return render(request, "pilots/enrol/join.html", context)
    profile = ParticipantProfile.objects.filter(person=subject).first()
    attributes = list(panel.attributes.select_related("panel"))
    form = ProfileForm(
        request.POST or None,
        profile=profile,
        person=subject,
        attributes=attributes,
        answers=_stored_answers([membership]) if membership else None,
        show_employer=employer_wanted([panel]),
        ask_email=subject.user_id is None,
        group_contact=False,
        on_behalf=for_ward,
    )
    consent_form = PanelConsentForm(request.POST or None, version=version)
    if request.method == "POST" and form.is_valid() and consent_form.is_valid():
        try:
            membership, joined = join_panel(
                panel,
                subject,
                profile=form.profile_data(),
                answers=form.answers_for(panel.pk),
                purposes=consent_form.cleaned_data["chosen"],
                explicit_purposes=consent_form.cleaned_data["explicit"],
                guardian=me if for_ward else None,
                evidence=_evidence(request),
                acting_user=request.user,
            )
        except DomainError as error:
            _show_refusal(error, profile_form=form, others=(consent_form,), panel_id=panel.pk)
        else:
            if joined:
                messages.success(
                    request,
                    _("Welcome to “%(panel)s”. Your consent is recorded; you can pause or leave at any time.")
                    % {"panel": panel.name},
                )
            else:
                messages.info(request, _("You were already a member of this panel: nothing has changed."))
            return redirect(here)
    context.update(state="open", form=form, consent_form=consent_form)
    return render(request, "pilots/enrol/join.html", context)


def _join_state(panel, membership, version) -> str:
    if membership is not None and membership.status in MEMBER_STATUSES:
        return "member"
    if membership is not None and membership.status not in {Status.PENDING, Status.OPTED_OUT}:
        return "unavailable"
    if membership is None and not panel.open_for_sign_up:
        return "closed"
    if version is None:
        return "revising"
    return "open"


# -------------------------------------------------------------------------------- assisted enrolment


@login_required
def enrol(request, slug):
    panel = _panel(slug)
    _require(request, "pilots.enrol_into_panel", panel)
    groups = recruiting_groups_of(request.user, panel)
    staff = request.user.has_perm("pilots.manage_panel", panel)
    version = current_consent_version(panel)
    context = {"panel": panel, "groups": groups, "version": version}
    if version is None:
        return render(request, "pilots/enrol/enrol.html", context)
    route = request.POST.get("consent_route")
    profile_form = ProfileForm(
        request.POST or None,
        attributes=list(panel.attributes.select_related("panel")),
        staff=staff,
        show_employer=employer_wanted([panel]),
        ask_email=True,
        require_email=route == ConsentRoute.EMAIL,
        group_contact=bool(groups),
        on_behalf=True,
    )
    enrol_form = EnrolForm(request.POST or None, request.FILES or None, groups=groups)
    consent_form = PanelConsentForm(
        request.POST or None, version=version, on_behalf=True, required=route != ConsentRoute.EMAIL
    )
    if request.method == "POST" and all(f.is_valid() for f in (enrol_form, profile_form, consent_form)):
        data = enrol_form.cleaned_data
        try:
            membership, created = enrol_participant(
                panel,
                full_name=data["full_name"],
                profile=profile_form.profile_data(),
                answers=profile_form.answers_for(panel.pk),
                consent_route=data["consent_route"],
                purposes=consent_form.cleaned_data["chosen"],
                explicit_purposes=consent_form.cleaned_data["explicit"],
                scan=data.get("scan"),
                witness_name=data.get("witness_name", ""),
                recruited_by=enrol_form.chosen_group(),
                submission_key=data["submission"],
                acting_user=request.user,
            )
        except DomainError as error:
            _show_refusal(
                error, profile_form=profile_form, others=(enrol_form, consent_form), panel_id=panel.pk
            )
        else:
            name = data["full_name"]
            if not created:
                messages.info(
                    request, _("This form was already sent: %(name)s is enrolled once.") % {"name": name}
                )
            elif membership.status == Status.PENDING:
                messages.success(
                    request,
                    _(
                        "%(name)s is enrolled. We have e-mailed them a link to read the consent form and "
                        "confirm; until they do, nobody contacts them for a study."
                    )
                    % {"name": name},
                )
            else:
                messages.success(
                    request, _("%(name)s is enrolled and their consent is recorded.") % {"name": name}
                )
            return redirect("pilots:enrol_participant", slug=panel.slug)
    context.update(profile_form=profile_form, enrol_form=enrol_form, consent_form=consent_form)
    return render(request, "pilots/enrol/enrol.html", context)


@login_required
def record_consent(request, pk):
    membership = get_object_or_404(
        PanelMembership.objects.select_related("panel__owner", "person", "recruited_by", "enrolled_by"), pk=pk
    )
    _require(request, "pilots.manage_member", membership)
    if request.method == "GET":
        note_member_viewed(membership, acting_user=request.user)
    panel = membership.panel
    version = current_consent_version(panel)
    context = {"membership": membership, "panel": panel, "version": version}
    if membership.status != Status.PENDING or version is None:
        return render(request, "pilots/enrol/record_consent.html", context)
    form = RecordConsentForm(request.POST or None, request.FILES or None)
    consent_form = PanelConsentForm(request.POST or None, version=version, on_behalf=True)
    if request.method == "POST" and form.is_valid() and consent_form.is_valid():
        try:
            record_paper_consent(
                membership,
                route=form.cleaned_data["route"],
                purposes=consent_form.cleaned_data["chosen"],
                explicit_purposes=consent_form.cleaned_data["explicit"],
                scan=form.cleaned_data.get("scan"),
                witness_name=form.cleaned_data.get("witness_name", ""),
                acting_user=request.user,
            )
        except DomainError as error:
            if isinstance(error, PanelFieldError) and error.field in form.fields:
                form.add_error(error.field, error.message)
            else:
                form.add_error(None, error.message)
        else:
            messages.success(request, _("The consent is recorded and the member is now active."))
            return redirect("pilots:record_consent", pk=membership.pk)
    context.update(form=form, consent_form=consent_form)
    return render(request, "pilots/enrol/record_consent.html", context)


@login_required
def consent_scan(request, pk):
    """The scan of a signed consent form, for the person, their guardian and staff."""
    record = get_object_or_404(ConsentRecord.objects.select_related("person"), pk=pk)
    _require(request, "pilots.view_consent_scan", record)
    name = (record.evidence or {}).get("scan") or ""
    if not name.startswith("consent-scans/") or ".." in name:
        raise Http404
    try:
        handle = open_scan(name)
    except FileNotFoundError:
        raise Http404 from None
    extension = name.rsplit(".", 1)[-1]
    return FileResponse(
        handle,
        as_attachment=True,
        filename=f"consent-{record.pk}.{extension}",
        content_type=scan_content_type(name),
    )


# ------------------------------------------------------------------------------------- confirmation


def confirm(request, token):
    """Open to anyone holding the link: it names no person, and says nothing when the link is not ours."""
    try:
        membership = membership_from_token(token)
    except LinkProblem as problem:
        if problem.reason == "expired":
            context = {"problem": "expired", "max_age_days": CONFIRMATION_MAX_AGE.days}
            return render(request, "pilots/enrol/link_problem.html", context, status=410)
        return render(request, "pilots/enrol/link_problem.html", {"problem": "invalid"}, status=400)
    panel = membership.panel
    context = {"membership": membership, "panel": panel}
    if membership.status != Status.PENDING:
        if membership.confirmed_at is not None:
            return render(request, "pilots/enrol/confirm.html", {**context, "state": "confirmed"})
        return render(request, "pilots/enrol/link_problem.html", {**context, "problem": "closed"}, status=410)
    version = current_consent_version(panel)
    if version is None:
        return render(request, "pilots/enrol/confirm.html", {**context, "state": "revising"})
    own = request.user.is_authenticated and membership.person.user_id == request.user.pk
    acting_user = request.user if own else None
    form = PanelConsentForm(request.POST or None, version=version)
    if request.method == "POST":
        try:
            if "decline" in request.POST:
                decline_membership(membership, acting_user=acting_user)
                return render(request, "pilots/enrol/confirm.html", {**context, "state": "declined"})
            if form.is_valid():
                confirm_membership(
                    membership,
                    form.cleaned_data["chosen"],
                    explicit_purposes=form.cleaned_data["explicit"],
                    evidence=_evidence(request),
                    acting_user=acting_user,
                )
                messages.success(
                    request, _("Thank you: you are now a member of “%(panel)s”.") % {"panel": panel.name}
                )
                return redirect("pilots:confirm_membership", token=token)
        except DomainError as error:
            if PanelMembership.objects.filter(pk=membership.pk).exclude(status=Status.PENDING).exists():
                return redirect("pilots:confirm_membership", token=token)  # the twin of a double submit
            form.add_error(None, error.message)
    return render(
        request, "pilots/enrol/confirm.html", {**context, "state": "open", "version": version, "form": form}
    )


# -------------------------------------------------------------------------------------------- profile


@login_required
def edit_profile(request, person_id=None):
    me = person_of(request.user)
    person = me if person_id is None else get_object_or_404(Person, pk=person_id)
    if not may_manage_own_data(request.user, person):
        raise PermissionDenied(_("You cannot open this page."))
    for_ward = person.pk != me.pk
    memberships = list(
        PanelMembership.objects.filter(person=person, status__in=CURRENT_STATUSES)
        .select_related("panel")
        .order_by("panel__name")
    )
    panels = [m.panel for m in memberships]
    attributes = list(
        PanelAttribute.objects.filter(panel__in=panels)
        .select_related("panel")
        .order_by("panel__name", "order", "pk")
    )
    profile = ParticipantProfile.objects.filter(person=person).first()
    form = ProfileForm(
        request.POST or None,
        profile=profile,
        person=person,
        attributes=attributes,
        answers=_stored_answers(memberships),
        show_employer=employer_wanted(panels),
        ask_email=person.user_id is None,
        on_behalf=for_ward,
    )
    if request.method == "POST" and form.is_valid():
        try:
            update_profile(
                person,
                form.profile_data(),
                answers={m: form.answers_for(m.panel_id) for m in memberships},
                acting_user=request.user,
            )
        except DomainError as error:
            _show_refusal(error, profile_form=form)
        else:
            messages.success(request, _("The profile is saved."))
            return redirect(request.path)
    wards = [] if for_ward else list(Person.objects.filter(guardianships__guardian=me).order_by("full_name"))
    return render(
        request,
        "pilots/enrol/profile.html",
        {"person": person, "for_ward": for_ward, "form": form, "memberships": memberships, "wards": wards},
    )


# ------------------------------------------------------------------------------- custom attributes


@login_required
def panel_attributes(request, slug):
    panel = _panel(slug)
    _require(request, "pilots.manage_panel", panel)
    attributes = panel.attributes.annotate(answer_count=Count("answers")).order_by("order", "pk")
    return render(
        request, "pilots/enrol/attributes.html", {"panel": panel, "attributes": paginate(request, attributes)}
    )


@login_required
def attribute_form(request, slug, pk=None):
    panel = _panel(slug)
    _require(request, "pilots.manage_panel", panel)
    attribute = get_object_or_404(PanelAttribute, pk=pk, panel=panel) if pk is not None else None
    form = AttributeForm(request.POST or None, attribute=attribute)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            saved = define_attribute(
                panel,
                code=attribute.code if attribute else data["code"],
                label=data["label"],
                kind=data["kind"],
                options=data["options"],
                help_text=data["help_text"],
                required=data["required"],
                order=data.get("order") or 0,
                attribute=attribute,
                acting_user=request.user,
            )
        except DomainError as error:
            field = getattr(error, "field", None)
            form.add_error(field if field in form.fields else None, error.message)
        else:
            messages.success(request, _("The question “%(label)s” is saved.") % {"label": saved.label})
            return redirect("pilots:panel_attributes", slug=panel.slug)
    return render(
        request, "pilots/enrol/attribute_form.html", {"panel": panel, "attribute": attribute, "form": form}
    )


@login_required
def attribute_delete(request, slug, pk):
    panel = _panel(slug)
    _require(request, "pilots.manage_panel", panel)
    attribute = get_object_or_404(
        PanelAttribute.objects.annotate(answer_count=Count("answers")), pk=pk, panel=panel
    )
    form = DeleteAttributeForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            remove_attribute(attribute, acting_user=request.user)
        except DomainError as error:
            messages.error(request, error.message)
        else:
            messages.success(request, _("The question “%(label)s” is deleted.") % {"label": attribute.label})
        return redirect("pilots:panel_attributes", slug=panel.slug)
    return render(
        request, "pilots/enrol/attribute_delete.html", {"panel": panel, "attribute": attribute, "form": form}
    )


# ---------------------------------------------------------------------------------- interest groups


@login_required
def recruits(request, slug):
    """Aggregate counts of the people a group recruited: never who they are."""
    panel = _panel(slug)
    _require(request, "pilots.view_recruit_counts", panel)
    if request.user.has_perm("pilots.manage_panel", panel):
        groups = list(panel.recruiting_groups.order_by("name"))
    else:
        groups = recruiting_groups_of(request.user, panel)
    group = next((g for g in groups if str(g.pk) == request.GET.get("group")), groups[0] if groups else None)
    context = {"panel": panel, "groups": groups, "group": group}
    if group is not None:
        counts = recruit_counts(panel, group)
        context["counts"] = counts
        context["age_chart"] = horizontal_bars([(c.label, c.count) for c in counts.by_age_band if c.shown])
    return render(request, "pilots/enrol/recruits.html", context)


@login_required
def recruiting_panels(request):
    """The panels the user's interest groups recruit for (and, for staff, the panels they run)."""
    memberships = active_memberships(request.user)
    group_ids = [m.organisation_id for m in memberships if m.role == Role.GROUP_REPRESENTATIVE]
    lab_ids = [m.organisation_id for m in memberships if m.role in CLUSTER_ROLES]
    panels = Panel.objects.select_related("owner").order_by("name")
    if not is_platform_admin(request.user):
        panels = panels.filter(Q(recruiting_groups__in=group_ids) | Q(owner_id__in=lab_ids)).distinct()
    panels = panels.prefetch_related(
        Prefetch(
            "recruiting_groups",
            queryset=Organisation.objects.filter(pk__in=group_ids).order_by("name"),
            to_attr="my_groups",
        )
    )
    return render(
        request,
        "pilots/enrol/recruiting_panels.html",
        {"panels": paginate(request, panels), "lab_ids": set(lab_ids)},
    )
