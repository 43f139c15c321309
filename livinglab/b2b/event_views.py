"""Event pages: the list and each event's page (anyone may read published events; signed-in people
register), the attendee's tickets, and the staff pages that prepare an event, check people in at the door,
sign up lead users on the spot and follow up afterwards.

Thin views: parse, ask ``user.has_perm``, call ``livinglab.b2b.services.events``, render. Dates are shown in
the event's own time zone, with the zone named."""

from zoneinfo import ZoneInfo

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db.models import Q
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from livinglab.acting import acting_organisations, refuse
from livinglab.charts import horizontal_bars
from livinglab.errors import DomainError
from livinglab.models import Channel, Person
from livinglab.policy import FIRM_KINDS
from livinglab.spreadsheets import csv_response
from livinglab.views import paginate, pdf_response
from pilots.enrol_forms import EnrolForm, PanelConsentForm
from pilots.models import Panel
from pilots.services.enrolment import ConsentRoute, PanelFieldError, current_consent_version

from .event_forms import (
    CheckInForm,
    ConfirmForm,
    EventForm,
    FollowUpForm,
    LeadUserForm,
    LeadUserProfileForm,
    RegistrationForm,
    SearchForm,
)
from .models import Event, EventRegistration, LeadUserSignup
from .services import events as services

Status = Event.Status
Registered = EventRegistration.Status.REGISTERED
PER_PAGE = 20


# ------------------------------------------------------------------------------------------- helpers


def _is_staff(user) -> bool:
    return user.has_perm("b2b.manage_events")


def _require_staff(request) -> None:
    if not _is_staff(request.user):
        raise PermissionDenied(_("This page is for the cluster organisation's staff."))


def _event(request, slug: str) -> Event:
    """The event at ``slug``; drafts exist only for staff."""
    event = get_object_or_404(Event.objects.select_related("organiser", "lead_user_panel"), slug=slug)
    if event.status == Status.DRAFT and not _is_staff(request.user):
        raise Http404(_("No such event."))
    return event


def _staff_event(request, slug: str) -> Event:
    _require_staff(request)
    return _event(request, slug)


def _with_when(events) -> list:
    """The events of a page, each with ``when`` (in its own time zone) and ``places_left``."""
    rows = list(events)
    for event in rows:
        event.when = services.event_when(event)
        registered = getattr(event, "registered_count", None)
        if registered is not None:
            event.places_left = max(event.capacity - registered, 0)
    return rows


def _ticket(request, code: str) -> EventRegistration:
    """A ticket its attendee or the staff may handle; 404 for everybody else (its existence included)."""
    registration = services.find_ticket(code)
    if registration is None or not services.may_handle_ticket(request.user, registration):
        raise Http404(_("No such ticket."))
    return registration


def _registration_initial(request) -> dict:
    user = request.user
    person = Person.objects.filter(user=user).only("full_name").first()
    firms = acting_organisations(request, FIRM_KINDS)
    return {
        "full_name": (person.full_name if person else "") or user.get_full_name(),
        "email": user.email,
        "organisation": firms[0].name if firms else "",
    }


# ---------------------------------------------------------------------------------------------- lists


def event_list(request):
    """Published events, upcoming and past, by kind; staff also see drafts and cancelled events."""
    kinds = Event.Kind
    kind = request.GET.get("kind", "")
    if kind not in kinds.values:
        kind = ""
    upcoming, past = services.upcoming_events(), services.past_events()
    if kind:
        upcoming, past = upcoming.filter(kind=kind), past.filter(kind=kind)
    context = {
        "kinds": kinds.choices,
        "kind": kind,
        "upcoming": paginate(request, services.with_counts(upcoming), PER_PAGE, "page"),
        "past": paginate(request, services.with_counts(past), PER_PAGE, "past"),
        "staff": _is_staff(request.user),
    }
    context["upcoming_rows"] = _with_when(context["upcoming"])
    context["past_rows"] = _with_when(context["past"])
    if context["staff"]:
        others = Event.objects.exclude(status=Status.PUBLISHED).select_related("organiser")
        if kind:
            others = others.filter(kind=kind)
        others = services.with_counts(others.order_by("-starts_at", "-pk"))
        context["others"] = paginate(request, others, PER_PAGE, "others")
        context["other_rows"] = _with_when(context["others"])
    return render(request, "b2b/events/list.html", context)


@login_required
def ticket_list(request):
    """The signed-in person's registrations, the next events first."""
    registrations = (
        EventRegistration.objects.filter(user=request.user)
        .select_related("event__organiser")
        .order_by("-event__starts_at", "-pk")
    )
    page = paginate(request, registrations, PER_PAGE)
    rows = list(page)
    for registration in rows:
        registration.when = services.event_when(registration.event)
    return render(request, "b2b/events/tickets.html", {"page_obj": page, "rows": rows})


# ------------------------------------------------------------------------------------ an event's page


def _detail_context(request, event: Event, form: RegistrationForm | None = None) -> dict:
    user = request.user
    registered = services.registered_count(event)
    mine = []
    if user.is_authenticated:
        mine = list(
            EventRegistration.objects.filter(event=event, user=user, status=Registered).order_by("pk")
        )
    places_left = max(event.capacity - registered, 0)
    is_open = services.registration_open(event)
    if form is None and user.is_authenticated and is_open and places_left:
        form = RegistrationForm(initial=_registration_initial(request))
    staff = _is_staff(user)
    return {
        "event": event,
        "when": services.event_when(event),
        "closes": services.local_moment(event, event.registration_closes_at),
        "moved": services.local_moment(event, event.moved_at),
        "registered": registered,
        "places_left": places_left,
        "is_open": is_open,
        "is_over": event.ends_at <= timezone.now(),
        "mine": mine,
        "form": form,
        "staff": staff,
        "lead_user_count": event.lead_user_signups.count() if staff and event.lead_user_panel_id else 0,
    }


def event_detail(request, slug):
    event = _event(request, slug)
    return render(request, "b2b/events/detail.html", _detail_context(request, event))


@login_required
@require_POST
def event_register(request, slug):
    event = _event(request, slug)
    form = RegistrationForm(request.POST)
    if form.is_valid():
        data = form.cleaned_data
        typed = data["organisation"]
        own = next((o for o in acting_organisations(request) if o.name.casefold() == typed.casefold()), None)
        try:
            registration, created = services.register_for_event(
                event,
                user=request.user,
                full_name=data["full_name"],
                email=data["email"],
                organisation=own or typed,
                job_title=data["job_title"],
                acting_user=request.user,
            )
        except DomainError as error:
            refuse(request, error, form)
        else:
            if created:
                messages.success(
                    request,
                    _(
                        "You are registered. Your ticket is on its way to %(email)s; you can also download "
                        "it here."
                    )
                    % {"email": registration.email},
                )
            else:
                messages.info(request, _("This address was registered already: here is its ticket."))
            return redirect("b2b:event_detail", slug=event.slug)
    return render(request, "b2b/events/detail.html", _detail_context(request, event, form), status=200)


# ------------------------------------------------------------------------------------------ tickets


@login_required
def ticket_pdf(request, code):
    registration = _ticket(request, code)
    return pdf_response(*services.ticket_pdf(registration))


@login_required
def ticket_cancel(request, code):
    registration = _ticket(request, code)
    event = registration.event
    if request.method == "POST":
        try:
            services.cancel_registration(registration, acting_user=request.user)
        except DomainError as error:
            refuse(request, error)
        else:
            messages.success(
                request,
                _(
                    "The registration of %(name)s for “%(title)s” is cancelled; the place is free for "
                    "someone else."
                )
                % {"name": registration.full_name, "title": event.title},
            )
        if registration.user_id == request.user.pk:
            return redirect("b2b:ticket_list")
        return redirect("b2b:event_registrations", slug=event.slug)
    return render(
        request,
        "b2b/events/confirm.html",
        {
            "event": event,
            "when": services.event_when(event),
            "heading": _("Cancel a registration"),
            "question": _("Cancel the registration of %(name)s for “%(title)s”?")
            % {"name": registration.full_name, "title": event.title},
            "explanation": _(
                "The ticket stops being valid and the place is given to whoever registers next."
            ),
            "button": _("Cancel the registration"),
            "danger": True,
            "back": reverse("b2b:event_detail", args=[event.slug]),
        },
    )


# ------------------------------------------------------------------------------------------ staff pages


@login_required
def event_create(request):
    _require_staff(request)
    organisers = services.organisers_for(request.user)
    panels = Panel.objects.filter(channel=Channel.B2B, owner__in=organisers)
    form = EventForm(request.POST or None, organisers=organisers, panels=panels)
    if request.method == "POST" and form.is_valid():
        try:
            event = services.save_event(
                None, form.changes(), organiser=form.cleaned_data["organiser"], acting_user=request.user
            )
        except DomainError as error:
            refuse(request, error, form)
        else:
            messages.success(request, _("The event is saved as a draft. Publish it to open registration."))
            return redirect("b2b:event_detail", slug=event.slug)
    return render(request, "b2b/events/form.html", {"form": form, "event": None})


@login_required
def event_edit(request, slug):
    event = _staff_event(request, slug)
    panels = Panel.objects.filter(channel=Channel.B2B, owner=event.organiser)
    form = EventForm(request.POST or None, instance=event, panels=panels)
    if request.method == "POST" and form.is_valid():
        moved_at = event.moved_at
        try:
            event = services.save_event(event, form.changes(), acting_user=request.user)
        except DomainError as error:
            refuse(request, error, form)
        else:
            if event.moved_at != moved_at:
                messages.success(
                    request,
                    _(
                        "The event is saved. Its registered attendees are being e-mailed the new time "
                        "and place."
                    ),
                )
            else:
                messages.success(request, _("The event is saved."))
            return redirect("b2b:event_detail", slug=event.slug)
    registered = services.registered_count(event) if event.status == Event.Status.PUBLISHED else 0
    return render(request, "b2b/events/form.html", {"form": form, "event": event, "registered": registered})


def _transition(request, slug, *, service, heading, question, explanation, button, done, danger=False):
    event = _staff_event(request, slug)
    if request.method == "POST":
        try:
            service(event, acting_user=request.user)
        except DomainError as error:
            refuse(request, error)
        else:
            messages.success(request, done)
        return redirect("b2b:event_detail", slug=event.slug)
    return render(
        request,
        "b2b/events/confirm.html",
        {
            "event": event,
            "when": services.event_when(event),
            "heading": heading,
            "question": question % {"title": event.title},
            "explanation": explanation,
            "button": button,
            "danger": danger,
            "back": reverse("b2b:event_detail", args=[event.slug]),
            "form": ConfirmForm(),
        },
    )


@login_required
def event_publish(request, slug):
    return _transition(
        request,
        slug,
        service=services.publish_event,
        heading=_("Publish the event"),
        question=_("Publish “%(title)s”?"),
        explanation=_(
            "Everybody can then see it and signed-in people can register until registration closes."
        ),
        button=_("Publish"),
        done=_("The event is published: registration is open."),
    )


@login_required
def event_cancel(request, slug):
    return _transition(
        request,
        slug,
        service=services.cancel_event,
        heading=_("Cancel the event"),
        question=_("Cancel “%(title)s”?"),
        explanation=_(
            "Every registered attendee is told by e-mail. A cancelled event cannot be published again."
        ),
        button=_("Cancel the event"),
        done=_("The event is cancelled; the attendees are being told by e-mail."),
        danger=True,
    )


@login_required
def event_registrations(request, slug):
    """The attendee list with check-in state, counts and a chart of registered, checked in and places."""
    event = _staff_event(request, slug)
    search = SearchForm(request.GET or None)
    registrations = EventRegistration.objects.filter(event=event).select_related(
        "checked_in_by", "organisation"
    )
    status = request.GET.get("status", Registered)
    if status not in EventRegistration.Status.values:
        status = Registered
    registrations = registrations.filter(status=status)
    query = search.cleaned_data.get("q", "") if search.is_valid() else ""
    if query:
        registrations = registrations.filter(
            Q(full_name__icontains=query) | Q(organisation_name__icontains=query)
        )
    counts = services.with_counts(Event.objects.filter(pk=event.pk)).values(
        "registered_count", "checked_in_count"
    )[0]
    cancelled = EventRegistration.objects.filter(
        event=event, status=EventRegistration.Status.CANCELLED
    ).count()
    page = paginate(request, registrations.order_by("full_name", "pk"), 50)
    rows = list(page)
    for registration in rows:
        registration.checked_in_text = services.local_moment(event, registration.checked_in_at)
    chart = horizontal_bars(
        [
            (_("Places"), event.capacity),
            (_("Registered"), counts["registered_count"]),
            (_("Checked in"), counts["checked_in_count"]),
        ]
    )
    return render(
        request,
        "b2b/events/registrations.html",
        {
            "event": event,
            "when": services.event_when(event),
            "search": search,
            "query": query,
            "status": status,
            "statuses": EventRegistration.Status.choices,
            "page_obj": page,
            "rows": rows,
            "registered": counts["registered_count"],
            "checked_in": counts["checked_in_count"],
            "cancelled": cancelled,
            "places_left": max(event.capacity - counts["registered_count"], 0),
            "chart": chart,
        },
    )


@login_required
def event_registrations_export(request, slug):
    """The attendee list as CSV, for badges and the door: names, organisations, job titles, registration
    and check-in, in the event's time zone. No e-mail addresses or ticket codes: the list leaves the platform,
    and those stay in it."""
    event = _staff_event(request, slug)
    registrations = (
        EventRegistration.objects.filter(event=event)
        .only("full_name", "organisation_name", "job_title", "status", "registered_at", "checked_in_at")
        .order_by("full_name", "pk")
    )

    def stamp(moment):
        return (
            timezone.localtime(moment, ZoneInfo(event.time_zone)).strftime("%Y-%m-%d %H:%M") if moment else ""
        )

    rows = (
        [
            r.full_name,
            r.organisation_name,
            r.job_title,
            r.status,
            stamp(r.registered_at),
            stamp(r.checked_in_at),
        ]
        for r in registrations.iterator(chunk_size=500)
    )
    header = ["name", "organisation", "job_title", "status", "registered_at", "checked_in_at"]
    return csv_response(f"{event.slug}-attendees.csv", header, rows)


def _check_in_message(request, result: services.CheckIn) -> None:
    registration = result.registration
    who = registration.full_name
    if registration.organisation_name:
        who = f"{who} ({registration.organisation_name})"
    if result.already:
        messages.warning(
            request,
            _("%(who)s was checked in already, at %(when)s.")
            % {"who": who, "when": services.local_moment(registration.event, registration.checked_in_at)},
        )
    else:
        messages.success(request, _("Checked in: %(who)s.") % {"who": who})


@login_required
def event_check_in(request, slug):
    """The door: staff type or scan a ticket code."""
    event = _staff_event(request, slug)
    form = CheckInForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            result = services.check_in(form.cleaned_data["code"], event=event, acting_user=request.user)
        except DomainError as error:
            refuse(request, error, form)
        else:
            _check_in_message(request, result)
            return redirect("b2b:event_check_in", slug=event.slug)
    recent = list(
        EventRegistration.objects.filter(
            event=event, status=Registered, checked_in_at__isnull=False
        ).order_by("-checked_in_at", "-pk")[:10]
    )
    for registration in recent:
        registration.checked_in_text = services.local_moment(event, registration.checked_in_at)
    counts = services.with_counts(Event.objects.filter(pk=event.pk)).values(
        "registered_count", "checked_in_count"
    )[0]
    return render(
        request,
        "b2b/events/check_in.html",
        {
            "event": event,
            "when": services.event_when(event),
            "form": form,
            "recent": recent,
            "registered": counts["registered_count"],
            "checked_in": counts["checked_in_count"],
        },
    )


@login_required
def ticket_check_in(request, code):
    """Where the ticket's QR code leads: the attendee, and a button to check them in."""
    _require_staff(request)
    registration = services.find_ticket(code)
    if request.method == "POST" and registration is not None:
        try:
            result = services.check_in(code, acting_user=request.user)
        except DomainError as error:
            refuse(request, error)
        else:
            _check_in_message(request, result)
        return redirect("b2b:ticket_check_in", code=registration.ticket_code)
    if registration is None:
        return render(request, "b2b/events/ticket_check_in.html", {"registration": None}, status=404)
    event = registration.event
    return render(
        request,
        "b2b/events/ticket_check_in.html",
        {
            "registration": registration,
            "event": event,
            "when": services.event_when(event),
            "checked_in_at": services.local_moment(event, registration.checked_in_at),
            "cancelled_at": services.local_moment(event, registration.cancelled_at),
            "is_registered": registration.status == Registered,
            "form": ConfirmForm(),
        },
    )


def _show_refusal(error: DomainError, forms_in_order) -> None:
    """Put a refusal next to the field it is about (a panel's field error), else on the first form."""
    field = getattr(error, "field", None)
    if isinstance(error, PanelFieldError):
        for form in forms_in_order:
            if field in form.fields:
                form.add_error(field, error.message)
                return
    problems = getattr(error, "problems", None)
    if isinstance(problems, dict):
        profile_form = forms_in_order[1]
        for code, problem in problems.items():
            name = profile_form.field_for(code, error.panel_id)
            profile_form.add_error(name, problem)
        return
    forms_in_order[0].add_error(None, error.message)


def _registration_prefill(event: Event, pk) -> tuple[dict, dict]:
    """What a registration (``?registration=<pk>``) says about the person: (enrol, profile) initial."""
    registration = (
        EventRegistration.objects.filter(event=event, status=Registered, pk=pk).first()
        if str(pk or "").isdigit()
        else None
    )
    if registration is None:
        return {}, {}
    return (
        {"full_name": registration.full_name, "registration": registration.pk},
        {
            "contact_email": registration.email,
            "employer": registration.organisation_name,
            "occupation": registration.job_title[:120],
        },
    )


@login_required
def event_lead_users(request, slug):
    """Staff sign professionals up on the spot as lead users into the event's B2B panel, with their consent
    recorded; and the list of lead users signed up at this event."""
    event = _staff_event(request, slug)
    panel = event.lead_user_panel
    signups = (
        LeadUserSignup.objects.filter(event=event)
        .select_related("membership__person__profile", "registration", "signed_up_by")
        .order_by("-signed_up_at", "-pk")
    )
    page = paginate(request, signups, PER_PAGE, "signed")
    context = {
        "event": event,
        "when": services.event_when(event),
        "panel": panel,
        "page_obj": page,
        "signups": list(page),
        "version": current_consent_version(panel) if panel is not None else None,
    }
    if panel is None or context["version"] is None or event.status != Status.PUBLISHED:
        return render(request, "b2b/events/lead_users.html", context)
    version = context["version"]
    route = request.POST.get("consent_route")
    enrol_initial, profile_initial = _registration_prefill(event, request.GET.get("registration"))
    data = request.POST or None
    lead_form = LeadUserForm(data, event=event, initial=enrol_initial)
    enrol_form = EnrolForm(data, request.FILES or None, initial=enrol_initial)
    profile_form = LeadUserProfileForm(
        data,
        attributes=list(panel.attributes.select_related("panel")),
        require_email=route == ConsentRoute.EMAIL,
        initial=profile_initial,
    )
    consent_form = PanelConsentForm(
        data, version=version, on_behalf=True, required=route != ConsentRoute.EMAIL
    )
    forms_in_order = (enrol_form, profile_form, consent_form, lead_form)
    if request.method == "POST" and all(form.is_valid() for form in forms_in_order):
        details = enrol_form.cleaned_data
        try:
            signup, created = services.sign_up_lead_user(
                event,
                full_name=details["full_name"],
                profile=profile_form.profile_data(),
                answers=profile_form.answers_for(panel.pk),
                consent_route=details["consent_route"],
                purposes=consent_form.cleaned_data["chosen"],
                explicit_purposes=consent_form.cleaned_data["explicit"],
                scan=details.get("scan"),
                witness_name=details.get("witness_name", ""),
                registration=lead_form.cleaned_data["registration"],
                submission_key=details["submission"],
                acting_user=request.user,
            )
        except DomainError as error:
            _show_refusal(error, forms_in_order)
        else:
            name = details["full_name"]
            if not created:
                messages.info(
                    request, _("This form was sent already: %(name)s is signed up once.") % {"name": name}
                )
            elif signup.membership.status == signup.membership.Status.PENDING:
                messages.success(
                    request,
                    _(
                        "%(name)s is signed up. They have been e-mailed a link to read the consent form and "
                        "confirm; until they do, nobody contacts them for a study."
                    )
                    % {"name": name},
                )
            else:
                messages.success(
                    request,
                    _("%(name)s is signed up as a lead user, with their consent recorded.") % {"name": name},
                )
            return redirect("b2b:event_lead_users", slug=event.slug)
    context.update(
        lead_form=lead_form, enrol_form=enrol_form, profile_form=profile_form, consent_form=consent_form
    )
    return render(request, "b2b/events/lead_users.html", context)


@login_required
def event_follow_up(request, slug):
    """After the event: one message to each attendee who was checked in, sent once."""
    event = _staff_event(request, slug)
    form = FollowUpForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            services.send_follow_up(
                event,
                subject=form.cleaned_data["subject"],
                message=form.cleaned_data["message"],
                acting_user=request.user,
            )
        except DomainError as error:
            refuse(request, error, form)
        else:
            messages.success(request, _("The follow-up is on its way to each attendee who was checked in."))
            return redirect("b2b:event_follow_up", slug=event.slug)
    attendees = EventRegistration.objects.filter(event=event, status=Registered, checked_in_at__isnull=False)
    return render(
        request,
        "b2b/events/follow_up.html",
        {
            "event": event,
            "when": services.event_when(event),
            "form": form,
            "attendees": attendees.count(),
            "mailed": attendees.filter(follow_up_mailed_at__isnull=False).count(),
            "sent_at": services.local_moment(event, event.follow_up_sent_at),
            "is_over": event.ends_at <= timezone.now(),
        },
    )
