"""Session pages. Staff of the hosting lab schedule, change and cancel sessions and record attendance, seeing
participants by their codes only; participants book, cancel and download calendar files; the requesting firm
sees dates and how full sessions are. Thin views: every change goes through ``pilots.services.sessions``."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.http import Http404, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods, require_POST

from livinglab.errors import DomainError
from livinglab.models import Person
from livinglab.views import paginate

from .calendar import booking_ics, ics_filename
from .models import Booking, Campaign, CampaignSession
from .rules import may_manage_own_data
from .services import sessions as services
from .services.campaign_access import require_participant
from .session_forms import AttendanceForm, CancelSessionForm, SessionForm


def _campaign(request, slug: str, perm: str) -> Campaign:
    campaign = get_object_or_404(Campaign.objects.select_related("lab", "requested_by"), slug=slug)
    if not request.user.has_perm(perm, campaign):
        raise PermissionDenied(_("You cannot see the sessions of this campaign."))
    return campaign


def _session(campaign: Campaign, pk: int) -> CampaignSession:
    return get_object_or_404(
        CampaignSession.objects.select_related("campaign__lab"), pk=pk, campaign=campaign
    )


def person_of(user) -> Person | None:
    """The signed-in user's Person, if they have one."""
    if not user.is_authenticated:
        return None
    try:
        return user.person
    except Person.DoesNotExist:
        return None


# ------------------------------------------------------------------------------ staff and the firm


@login_required
def session_list(request, slug: str):
    """Staff: every session with its figures and actions. The firm: dates and how full each session is."""
    campaign = _campaign(request, slug, "pilots.view_campaign")
    can_run = request.user.has_perm("pilots.run_campaign", campaign)
    sessions = services.with_figures(campaign.sessions.all()).order_by("starts_at", "pk")
    page = paginate(request, sessions)
    context = {"campaign": campaign, "page_obj": page, "sessions": page, "can_run": can_run}
    return render(request, "pilots/sessions/session_list.html", context)


def _session_form_page(request, campaign: Campaign, session: CampaignSession | None):
    form = SessionForm(request.POST or None, instance=session)
    if request.method == "POST" and form.is_valid():
        try:
            saved = services.save_session(
                campaign, session=session, acting_user=request.user, **form.session_fields()
            )
        except DomainError as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request,
                _("Session saved. People booked were told of the change.")
                if session is not None
                else _("Session scheduled: participants can book it now."),
            )
            return redirect("campaigns:session_detail", slug=campaign.slug, pk=saved.pk)
    context = {"campaign": campaign, "session": session, "form": form}
    return render(request, "pilots/sessions/session_form.html", context)


@login_required
@require_http_methods(["GET", "POST"])
def session_create(request, slug: str):
    campaign = _campaign(request, slug, "pilots.run_campaign")
    return _session_form_page(request, campaign, None)


@login_required
@require_http_methods(["GET", "POST"])
def session_edit(request, slug: str, pk: int):
    campaign = _campaign(request, slug, "pilots.run_campaign")
    return _session_form_page(request, campaign, _session(campaign, pk))


@login_required
@require_http_methods(["GET", "POST"])
def session_cancel(request, slug: str, pk: int):
    campaign = _campaign(request, slug, "pilots.run_campaign")
    session = _session(campaign, pk)
    form = CancelSessionForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            count = services.cancel_session(
                session, reason=form.cleaned_data["reason"], acting_user=request.user
            )
        except DomainError as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request,
                _("Session cancelled; %(count)s people booked or waiting are told by e-mail.")
                % {"count": count},
            )
            return redirect("campaigns:session_list", slug=campaign.slug)
    context = {"campaign": campaign, "session": session, "form": form}
    return render(request, "pilots/sessions/session_cancel.html", context)


@login_required
def session_detail(request, slug: str, pk: int):
    """Staff: the session and its bookings by participant code, with attendance once it has started."""
    campaign = _campaign(request, slug, "pilots.run_campaign")
    session = get_object_or_404(
        services.with_figures(CampaignSession.objects.filter(campaign=campaign)), pk=pk
    )
    bookings = session.bookings.select_related("invitation__selection").order_by("created_at", "pk")
    page = paginate(request, bookings)
    context = {
        "campaign": campaign,
        "session": session,
        "page_obj": page,
        "bookings": page,
        "started": session.starts_at <= timezone.now(),
        "attendance_choices": AttendanceForm.base_fields["attended"].choices,
    }
    return render(request, "pilots/sessions/session_detail.html", context)


@login_required
@require_POST
def booking_attendance(request, pk: int):
    booking = get_object_or_404(
        Booking.objects.select_related("session__campaign", "invitation__selection"), pk=pk
    )
    campaign = booking.session.campaign
    if not request.user.has_perm("pilots.run_campaign", campaign):
        raise PermissionDenied(_("You cannot record attendance in this campaign."))
    form = AttendanceForm(request.POST)
    if form.is_valid():
        try:
            services.record_attendance(booking, form.cleaned_data["attended"], acting_user=request.user)
        except DomainError as error:
            messages.error(request, str(error))
        else:
            messages.success(
                request, _("Recorded for %(code)s.") % {"code": booking.invitation.selection.code}
            )
    else:
        messages.error(request, _("Choose whether the person came or did not come."))
    url = reverse("campaigns:session_detail", args=[campaign.slug, booking.session_id])
    page = request.POST.get("page", "")
    return redirect(f"{url}?page={page}" if page.isdigit() else url)


# ------------------------------------------------------------------------------------- participants


@login_required
def session_book(request, slug: str):
    """A participant's page: their bookings in the campaign and the sessions they can book."""
    campaign = get_object_or_404(Campaign.objects.select_related("lab"), slug=slug)
    person = person_of(request.user)
    problem = ""
    try:
        require_participant(campaign, person)
    except DomainError as error:
        # Someone never invited learns nothing about the campaign's sessions.
        if not _was_invited(campaign, person):
            raise Http404(_("No such campaign.")) from error
        problem = str(error)
    context = {"campaign": campaign, "person": person, "problem": problem}
    return render(request, "pilots/sessions/book.html", context, status=403 if problem else 200)


def _was_invited(campaign: Campaign, person: Person | None) -> bool:
    return person is not None and person.invitations.filter(selection__draw__campaign=campaign).exists()


@login_required
@require_POST
def session_book_place(request, slug: str, pk: int):
    campaign = get_object_or_404(Campaign, slug=slug)
    session = _session(campaign, pk)
    try:
        booking = services.book_session(session, person_of(request.user), acting_user=request.user)
    except DomainError as error:
        messages.error(request, str(error))
    else:
        message = services.booking_message(booking)
        if booking.status == Booking.Status.WAITING:
            messages.warning(request, message)
        else:
            messages.success(request, message)
    return redirect(_back(request, campaign))


def _back(request, campaign: Campaign) -> str:
    """Where the participant came from (their campaign page or the booking page), if it is on this site."""
    target = request.POST.get("next", "")
    if target.startswith("/") and not target.startswith("//"):
        return target
    return reverse("campaigns:session_book", args=[campaign.slug])


def _own_booking(request, pk: int) -> Booking:
    booking = get_object_or_404(Booking.objects.select_related("session__campaign__lab", "person"), pk=pk)
    # Not Django's has_perm: a platform administrator does not act through a participant's own pages.
    if not may_manage_own_data(request.user, booking.person):
        raise Http404(_("No such booking."))
    return booking


@login_required
@require_POST
def booking_cancel(request, pk: int):
    booking = _own_booking(request, pk)
    try:
        services.cancel_booking(booking, reason=_("Cancelled by the participant"), acting_user=request.user)
    except DomainError as error:
        messages.error(request, str(error))
    else:
        messages.success(request, _("Your booking is cancelled. Thank you for freeing the place."))
    return redirect(_back(request, booking.session.campaign))


@login_required
def booking_calendar(request, pk: int):
    """The calendar file of one's own booking (a cancellation when the booking no longer holds a place)."""
    booking = _own_booking(request, pk)
    response = HttpResponse(booking_ics(booking), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{ics_filename(booking.session)}"'
    return response
