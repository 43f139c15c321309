"""Calendar files (.ics, RFC 5545) of campaign sessions. The UID is the session's, and SEQUENCE is bumped on
every change, so that calendars replace the event rather than add a second one; a cancelled session or
booking is sent with METHOD:CANCEL so that it disappears from the calendar."""

from datetime import UTC
from email.utils import parseaddr
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone
from django.utils.translation import gettext as _
from icalendar import Calendar, Event, vCalAddress, vText

from .models import Booking, CampaignSession

PRODID = "-//livinglab//test campaign sessions//EN"


def calendar_host() -> str:
    """The host part of event UIDs: the site's own host name, so that UIDs are unique worldwide."""
    return urlsplit(settings.WAGTAILADMIN_BASE_URL).hostname or "livinglab.invalid"


def event_uid(session: CampaignSession) -> str:
    return f"{session.uid}@{calendar_host()}"


def session_location(session: CampaignSession) -> str:
    """Where the session is: its address, its online link, or both."""
    return " — ".join(part for part in (session.place, session.online_url) if part)


def _description(session: CampaignSession) -> str:
    campaign = session.campaign
    lines = [campaign.title]
    if campaign.expect_activities:
        lines += ["", campaign.expect_activities]
    if session.online_url:
        lines += ["", _("Online link: %(url)s") % {"url": session.online_url}]
    if session.accessibility_info:
        lines += ["", _("Accessibility: %(info)s") % {"info": session.accessibility_info}]
    return "\n".join(lines)


def session_ics(session: CampaignSession, *, cancelled: bool = False, attendee_email: str = "") -> bytes:
    """The session as an iCalendar file: METHOD:REQUEST, or METHOD:CANCEL when the session (or the booking
    the file is for) is cancelled."""
    cancelled = cancelled or session.status == CampaignSession.Status.CANCELLED
    calendar = Calendar()
    calendar.add("prodid", PRODID)
    calendar.add("version", "2.0")
    calendar.add("method", "CANCEL" if cancelled else "REQUEST")
    event = Event()
    event.add("uid", event_uid(session))
    event.add("sequence", session.sequence)
    event.add("dtstamp", timezone.now().astimezone(UTC))
    event.add("dtstart", session.starts_at.astimezone(UTC))
    event.add("dtend", session.ends_at.astimezone(UTC))
    event.add("summary", session.title)
    location = session_location(session)
    if location:
        event.add("location", location)
    if session.online_url:
        event.add("url", session.online_url)
    event.add("description", _description(session))
    event.add("status", "CANCELLED" if cancelled else "CONFIRMED")
    organizer = vCalAddress(f"mailto:{parseaddr(settings.DEFAULT_FROM_EMAIL)[1]}")
    organizer.params["cn"] = vText(session.campaign.lab.name)
    event.add("organizer", organizer)
    if attendee_email:
        attendee = vCalAddress(f"mailto:{attendee_email}")
        attendee.params["role"] = vText("REQ-PARTICIPANT")
        attendee.params["partstat"] = vText("DECLINED" if cancelled else "ACCEPTED")
        event.add("attendee", attendee)
    calendar.add_component(event)
    return calendar.to_ical()


def booking_ics(booking: Booking, attendee_email: str = "") -> bytes:
    """The calendar file of one booking: the session's event, cancelled unless the booking holds a place."""
    return session_ics(
        booking.session, cancelled=booking.status not in Booking.HOLDS_PLACE, attendee_email=attendee_email
    )


def ics_filename(session: CampaignSession) -> str:
    return f"session-{session.pk}.ics"
