"""Template tags of sessions: a participant's bookings and the sessions they can book (for their campaign
page), and a short list of upcoming sessions (for workspaces)."""

from django import template
from django.utils import timezone

from livinglab.errors import DomainError

from ..models import Booking
from ..services import sessions as services
from ..services.campaign_access import require_participant

register = template.Library()

BOOKABLE_LIMIT = 20


@register.inclusion_tag("pilots/sessions/participant_sessions.html", takes_context=True)
def participant_sessions(context, campaign, person):
    """{% participant_sessions campaign person %}: the person's bookings in ``campaign`` (with cancel buttons
    and calendar files) and the sessions they can book, or why they cannot book."""
    request = context.get("request")
    try:
        require_participant(campaign, person)
    except DomainError as error:
        problem = str(error)
    else:
        problem = ""
    bookings = []
    if person is not None:
        bookings = list(
            Booking.objects.filter(
                person=person,
                session__campaign=campaign,
                status__in=(*Booking.HOLDS_PLACE, Booking.Status.WAITING),
            )
            .select_related("session")
            .order_by("session__starts_at", "pk")
        )
    sessions = [] if problem else list(services.bookable_sessions(campaign, person)[:BOOKABLE_LIMIT])
    for session in sessions:
        session.places_left = max(session.capacity - session.booked, 0)
    return {
        "campaign": campaign,
        "bookings": bookings,
        "sessions": sessions,
        "problem": problem,
        "now": timezone.now(),
        "csrf_token": context.get("csrf_token"),
        "next": request.get_full_path() if request is not None else "",
    }


@register.inclusion_tag("pilots/sessions/upcoming_sessions.html", takes_context=True)
def upcoming_sessions(context, sessions, show_figures=True):
    """{% upcoming_sessions sessions %}: a short table of sessions (annotate them with
    ``services.sessions.with_figures`` and select_related("campaign") to keep it to one query)."""
    user = context.get("user")
    return {"sessions": sessions, "show_figures": show_figures, "user": user}
