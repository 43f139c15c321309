"""Figures about panels for coordinators: composition, fatigue and recent draws. Aggregates only."""

from django.db.models import Count
from django.utils import timezone

from .models import AgeBand, Panel, PanelMembership
from .screening import attributes_of, protected_q, stratum_expression


def composition(panel: Panel) -> dict:
    """Active members by age band and region, members by status, and fatigue: the share of active members
    whom the fair-contact rules protect right now (at their limit or resting)."""
    members = PanelMembership.objects.filter(panel=panel)
    active = members.filter(status=PanelMembership.Status.ACTIVE)
    year = timezone.localdate().year
    band = stratum_expression(attributes_of(panel)["age_band"], year)
    bands = dict(active.annotate(band=band).values_list("band").annotate(n=Count("pk")).order_by())
    region = "person__profile__region"
    regions = list(active.values_list(region).annotate(n=Count("pk")).order_by("-n", region))
    statuses = dict(members.values_list("status").annotate(n=Count("pk")).order_by())
    totals = active.aggregate(n=Count("pk"), protected=Count("pk", filter=protected_q(panel, timezone.now())))
    return {
        "active": totals["n"],
        "protected": totals["protected"],
        "fatigue": (totals["protected"] / totals["n"]) if totals["n"] else 0,
        "by_age_band": [(label, bands.get(value, 0)) for value, label in AgeBand.choices],
        "by_region": [(region or "—", n) for region, n in regions[:12]],
        "by_status": [(label, statuses.get(value, 0)) for value, label in PanelMembership.Status.choices],
    }
