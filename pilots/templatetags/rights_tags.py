"""The participant workspace's "My panels and data" card."""

from django import template
from django.db.models import Count, Q

from livinglab.models import Person

from ..models import Invitation, PanelMembership, Participation

register = template.Library()


@register.inclusion_tag("pilots/rights/my_panels_card.html")
def my_panels(person):
    """Counts of the person's panels, open invitations and studies, linking to their page; and the pages of
    the people they are guardian for. Four queries, whatever the numbers."""
    if person is None:
        return {"person": None}
    status = PanelMembership.Status
    panels = PanelMembership.objects.filter(person=person).aggregate(
        active=Count("pk", filter=Q(status=status.ACTIVE)),
        paused=Count("pk", filter=Q(status=status.PAUSED)),
        pending=Count("pk", filter=Q(status=status.PENDING)),
    )
    return {
        "person": person,
        "panels": panels,
        "open_invitations": Invitation.objects.filter(person=person, status__in=Invitation.OPEN).count(),
        "studies": Participation.objects.filter(
            person=person, outcome=Participation.Outcome.TOOK_PART
        ).count(),
        "wards": list(Person.objects.filter(guardianships__guardian=person).order_by("full_name")),
    }
