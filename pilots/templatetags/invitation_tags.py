"""Template tags of invitations: a draw's funnel (for the draw page) and the participant's invitations
(for their workspace)."""

from django import template
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from livinglab.charts import horizontal_bars
from livinglab.models import Person

from ..models import Draw, Invitation
from ..services import invitations as services

register = template.Library()

RECENT_LIMIT = 5

FUNNEL_LABELS = {
    "invited": _("Invited"),
    "opened": _("Opened the link"),
    "accepted": _("Accepted"),
    "declined": _("Declined"),
    "expired": _("Did not answer in time"),
    "withdrawn": _("Withdrawn (consent withdrawn)"),
}


@register.inclusion_tag("pilots/invitations/funnel.html")
def draw_funnel(draw):
    """How far a draw's invitations got, as a table and a bar chart (one query)."""
    counts = services.draw_funnel(draw)
    invited = counts["invited"]
    rows = [
        {
            "label": FUNNEL_LABELS[key],
            "count": counts[key],
            "share": round(100 * counts[key] / invited) if invited else None,
        }
        for key in services.FUNNEL
    ]
    return {
        "draw": draw,
        "rows": rows,
        "invited": invited,
        "chart": horizontal_bars([(row["label"], row["count"]) for row in rows]),
        "chart_id": f"draw-{draw.pk}-funnel",
        "title": _("Invitations of this draw: how far they got"),
    }


@register.inclusion_tag("pilots/invitations/my_invitations.html")
def my_invitations(person):
    """The workspace's invitations: open ones first, with the link to answer, then recent answered ones.
    A guardian also sees those of the people in their care."""
    if person is None:
        return {"open": [], "recent": []}
    now = timezone.now()
    people = Person.objects.filter(Q(pk=person.pk) | Q(guardianships__guardian=person)).values("pk")
    mine = Invitation.objects.filter(person__in=people).select_related(
        "selection__draw__requested_by", "panel__owner", "person"
    )
    is_open = Q(status__in=Invitation.OPEN, expires_at__gt=now, selection__draw__status=Draw.Status.INVITING)
    recent = list(mine.exclude(is_open).order_by("-created_at", "-pk")[:RECENT_LIMIT])
    for invitation in recent:
        invitation.shown_status = invitation.get_status_display()
        if invitation.status in Invitation.OPEN:  # not expired by the hourly task yet, or the study closed
            late = invitation.expires_at <= now
            invitation.shown_status = _("Not answered in time") if late else _("Study closed")
    return {
        "person": person,
        "open": list(mine.filter(is_open).order_by("expires_at", "pk")),
        "recent": recent,
    }
