"""The panels' part of an organisation's workspace: what a living lab, an interest group or a firm
sees of panels from its own workspace."""

from django import template
from django.db.models import Count, Q

from livinglab.charts import horizontal_bars
from livinglab.models import Channel, Organisation

from ..models import Draw, Panel, PanelMembership
from ..reports import composition

register = template.Library()

WORKSPACE_LIMIT = 5


@register.inclusion_tag("pilots/panels/workspace_panels.html", takes_context=True)
def organisation_panels(context, organisation):
    """Cluster: panel sizes, composition by channel, age band and region, fatigue and recent draws.
    Interest group: the panels it recruits for. Firm or authority: the draws made for it."""
    user = context["request"].user
    data = {"organisation": organisation, "kind": organisation.kind}
    if organisation.kind == Organisation.Kind.CLUSTER:
        panels = list(
            Panel.objects.filter(owner=organisation)
            .annotate(
                active_count=Count("memberships", filter=Q(memberships__status=PanelMembership.Status.ACTIVE))
            )
            .order_by("name")
        )
        if not panels or not user.has_perm("pilots.manage_panel", panels[0]):
            return {**data, "hidden": True}
        by_channel = {value: 0 for value, _label in Channel.choices}
        age, regions, protected, active = {}, {}, 0, 0
        for panel in panels:
            figures = composition(panel)
            by_channel[panel.channel] += figures["active"]
            active += figures["active"]
            protected += figures["protected"]
            for label, n in figures["by_age_band"]:
                age[label] = age.get(label, 0) + n
            for label, n in figures["by_region"]:
                regions[label] = regions.get(label, 0) + n
        data.update(
            {
                "panels": panels[:WORKSPACE_LIMIT],
                "more_panels": len(panels) > WORKSPACE_LIMIT,
                "fatigue": protected / active if active else 0,
                "protected": protected,
                "active": active,
                "size_chart": horizontal_bars([(p.name, p.active_count) for p in panels[:12]]),
                "channel_chart": horizontal_bars(
                    [(label, by_channel[value]) for value, label in Channel.choices]
                ),
                "age_chart": horizontal_bars(list(age.items())),
                "region_chart": horizontal_bars(sorted(regions.items(), key=lambda r: -r[1])[:10]),
                "draws": Draw.objects.filter(panel__owner=organisation)
                .select_related("panel", "requested_by")
                .order_by("-drawn_at")[:WORKSPACE_LIMIT],
            }
        )
    elif organisation.kind == Organisation.Kind.INTEREST_GROUP:
        data["recruiting"] = list(organisation.recruits_for_panels.order_by("name")[:WORKSPACE_LIMIT])
    else:
        data["requested"] = list(
            Draw.objects.filter(requested_by=organisation)
            .select_related("panel")
            .order_by("-drawn_at")[:WORKSPACE_LIMIT]
        )
    return data
