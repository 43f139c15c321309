"""Template tags of the B2B channel: event times in the event's own time zone, and the B2B part of an
organisation's workspace.

The workspace tag shows each organisation what it acts on: a firm its needs and offers with the matches
suggested for each, its best matches, its introductions and what is awaited from it, its co-development
projects and its upcoming event registrations; the staff of a cluster organisation the brokering queue,
the marketplace in figures, their upcoming events, providers to curate, reports in draft and the chart of
introductions and outcomes over time. Another firm's need or offer is only ever shown through
``livinglab.b2b.disclosure``. Every list is paginated, and the tag runs a fixed number of queries whatever
the number of listings, matches, introductions, projects or events."""

import zoneinfo

from django import template
from django.conf import settings
from django.core.exceptions import PermissionDenied
from django.db.models import Case, Count, Exists, IntegerField, OuterRef, Prefetch, Q, Subquery, Value, When
from django.utils import formats, timezone
from django.utils.dateformat import format as format_date
from django.utils.html import format_html
from django.utils.translation import gettext as _

from livinglab.db import SubqueryCount
from livinglab.models import Organisation
from livinglab.policy import CLUSTER_ROLES, FIRM_KINDS, active_memberships, firm_ids, is_platform_admin
from livinglab.views import paginate as paginate_list

from ..disclosure import WITHHELD, Disclosed, disclose
from ..models import (
    Event,
    EventRegistration,
    Introduction,
    IntroductionAcceptance,
    IntroductionOutcome,
    ListingStatus,
    Match,
    Need,
    Offer,
    Project,
    ProjectMilestone,
    ProjectPartner,
    Report,
    ServiceProvider,
    Tag,
    Visibility,
)
from ..timeline import introduction_timeline

register = template.Library()

PER_PAGE = 5
# Months shown on the cluster's chart of introductions and outcomes.
TIMELINE_MONTHS = 12

Status = Introduction.Status


def paginate(request, queryset, param: str):
    return paginate_list(request, queryset, per_page=PER_PAGE, param=param)


# ---------------------------------------------------------------------------------------------- events


def event_zone(event: Event) -> zoneinfo.ZoneInfo:
    """The zone the event happens in (the site's zone if the stored name is unknown)."""
    try:
        return zoneinfo.ZoneInfo(event.time_zone)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(settings.TIME_ZONE)


@register.simple_tag
def event_when(event: Event):
    """When ``event`` takes place, in its own time zone with the zone named: ``March 12, 2027, 9 a.m. –
    noon (Europe/Helsinki time)``. Formatted here because the ``date`` filter would convert to the
    visitor's zone."""
    zone = event_zone(event)
    start = timezone.localtime(event.starts_at, zone)
    end = timezone.localtime(event.ends_at, zone)
    end_format = "TIME_FORMAT" if end.date() == start.date() else "DATETIME_FORMAT"
    return format_html(
        '<time datetime="{}">{}</time> – <time datetime="{}">{}</time> ({})',
        start.isoformat(),
        format_date(start, formats.get_format("DATETIME_FORMAT")),
        end.isoformat(),
        format_date(end, formats.get_format(end_format)),
        _("%(zone)s time") % {"zone": zone.key},
    )


# ------------------------------------------------------------------------------------------- listings


def listed_to_members(side: str) -> Q:
    """The ``side`` ("need" or "offer") of a match is a published listing other firms may find."""
    return Q(**{f"{side}__status": ListingStatus.PUBLISHED}) & ~Q(**{f"{side}__visibility": Visibility.STAFF})


def firm_matches(organisation: Organisation):
    """Suggested matches between a published listing of ``organisation`` and another firm's listing that
    member firms may find, best first."""
    org = organisation.pk
    ours = {"status": ListingStatus.PUBLISHED, "organisation": org}
    for_our_need = Q(**{f"need__{k}": v for k, v in ours.items()}) & listed_to_members("offer")
    for_our_offer = Q(**{f"offer__{k}": v for k, v in ours.items()}) & listed_to_members("need")
    return Match.objects.filter(
        (for_our_need & ~Q(offer__organisation=org)) | (for_our_offer & ~Q(need__organisation=org))
    ).order_by("-score", "pk")


def known_to(organisation: Organisation) -> Q:
    """Introductions a firm knows of (as ``b2b.view_introduction`` decides): those it asked for, and those
    the cluster brokered. A request the cluster has not brokered stays unknown to the other firm."""
    return Q(requested_by=organisation) | Q(brokered_at__isnull=False)


def firm_introductions(organisation: Organisation):
    """Introductions where one side is ``organisation``'s need or offer, and that it knows of."""
    return Introduction.objects.filter(
        Q(need__organisation=organisation) | Q(offer__organisation=organisation)
    ).filter(known_to(organisation))


def accepted_by(organisation: Organisation) -> Exists:
    """The introduction (``OuterRef("pk")``) was accepted by ``organisation``."""
    return Exists(
        IntroductionAcceptance.objects.filter(introduction=OuterRef("pk"), organisation=organisation)
    )


def firm_projects(organisation: Organisation):
    return Project.objects.filter(partners__organisation=organisation)


def upcoming_registrations(organisation: Organisation, now):
    """Registrations of people of ``organisation`` for events that have not ended yet."""
    return EventRegistration.objects.filter(
        organisation=organisation,
        status=EventRegistration.Status.REGISTERED,
        event__status__in=(Event.Status.PUBLISHED, Event.Status.CANCELLED),
        event__ends_at__gte=now,
    )


def shown(listing, user) -> Disclosed | None:
    """``listing`` as ``user`` may see it, or None when they may not see it at all."""
    try:
        return disclose(listing, user)
    except PermissionDenied:
        return None


def status_order(field: str, order: list[str]) -> Case:
    return Case(
        *(When(**{field: value}, then=Value(i)) for i, value in enumerate(order)),
        default=Value(len(order)),
        output_field=IntegerField(),
    )


def tag_names(matches) -> dict[int, str]:
    """Names of the sector and technology tags the matches share, in one query."""
    ids = set()
    for match in matches:
        for kind in ("sectors", "technologies"):
            ids.update(i for i in (match.reasons or {}).get(kind, []) if isinstance(i, int))
    if not ids:
        return {}
    return dict(Tag.objects.filter(pk__in=ids).values_list("pk", "name"))


# ------------------------------------------------------------------------------------------------ firm


def listings_of(request, model, organisation, param: str):
    """``organisation``'s needs or offers, published first, with the number of matches suggested for each
    (with listings of other firms that member firms may find)."""
    other = "offer" if model is Need else "need"
    own = "need" if model is Need else "offer"
    suggested = (
        Match.objects.filter(**{own: OuterRef("pk")})
        .filter(listed_to_members(other))
        .exclude(**{f"{other}__organisation": OuterRef("organisation")})
    )
    return paginate(
        request,
        model.objects.filter(organisation=organisation)
        .annotate(
            suggested=SubqueryCount(suggested),
            shown_first=status_order("status", [ListingStatus.PUBLISHED, ListingStatus.DRAFT]),
        )
        .order_by("shown_first", "-created_at", "-pk"),
        param,
    )


def what_is_awaited(intro, user) -> tuple[str, str]:
    """What is awaited in ``intro``, as (text, action): the action is for the firm to take on the
    introduction's page; the text says who else is expected to act, or how it ended."""
    if intro.status == Status.REQUESTED:
        return _("Waiting for the cluster organisation to broker it"), ""
    if intro.status == Status.BROKERED:
        if intro.accepted_by_us:
            return _("Waiting for the other firm to accept"), ""
        if user.has_perm("b2b.answer_introduction", intro):
            return "", _("Accept the introduction")
        return _("Waiting for this organisation to accept"), ""
    if intro.status == Status.ACCEPTED:
        if intro.last_outcome:
            return IntroductionOutcome.Kind(intro.last_outcome).label, ""
        if user.has_perm("b2b.record_outcome", intro):
            return "", _("Record what came of it")
        return _("No outcome recorded yet"), ""
    return intro.get_status_display(), ""


def firm_overview(request, organisation: Organisation, user, now) -> dict:
    """A firm's needs and offers, its best suggested matches, its introductions and what is awaited from
    it, its co-development projects and its upcoming event registrations."""
    needs = listings_of(request, Need, organisation, "b2b_needs")
    offers = listings_of(request, Offer, organisation, "b2b_offers")

    live = Introduction.LIVE
    introduced = Introduction.objects.filter(
        known_to(organisation), need=OuterRef("need"), offer=OuterRef("offer"), status__in=live
    )
    matches = paginate(
        request,
        firm_matches(organisation)
        .select_related("need__organisation", "offer__organisation")
        .annotate(introduced=Exists(introduced)),
        "b2b_matches",
    )
    names = tag_names(matches.object_list)
    match_rows = []
    for match in matches.object_list:
        mine_is_need = match.need.organisation_id == organisation.pk
        mine, other = (match.need, match.offer) if mine_is_need else (match.offer, match.need)
        shared = [
            names[i]
            for kind in ("sectors", "technologies")
            for i in (match.reasons or {}).get(kind, [])
            if i in names
        ]
        match_rows.append(
            {
                "match": match,
                "mine": mine,
                "mine_is_need": mine_is_need,
                "other": shown(other, user),
                "shared": shared,
            }
        )

    last_outcome = IntroductionOutcome.objects.filter(introduction=OuterRef("pk")).order_by(
        "-occurred_on", "-pk"
    )
    introductions = paginate(
        request,
        firm_introductions(organisation)
        .select_related("need__organisation", "offer__organisation")
        .annotate(
            accepted_by_us=accepted_by(organisation),
            last_outcome=Subquery(last_outcome.values("kind")[:1]),
        )
        .annotate(
            # What this firm has to act on first, then what is under way, then what has ended.
            shown_first=Case(
                When(status=Status.BROKERED, accepted_by_us=False, then=Value(0)),
                When(status__in=live, then=Value(1)),
                default=Value(2),
                output_field=IntegerField(),
            ),
        )
        .order_by("shown_first", "-created_at", "-pk"),
        "b2b_introductions",
    )
    introduction_rows = []
    for intro in introductions.object_list:
        if not user.has_perm("b2b.view_introduction", intro):
            continue
        mine_is_need = intro.need.organisation_id == organisation.pk
        mine, other = (intro.need, intro.offer) if mine_is_need else (intro.offer, intro.need)
        waiting, action = what_is_awaited(intro, user)
        introduction_rows.append(
            {
                "introduction": intro,
                "mine": mine,
                "other": shown(other, user),
                "waiting": waiting,
                "action": action,
            }
        )

    milestones = ProjectMilestone.objects.filter(project=OuterRef("pk"))
    projects = paginate(
        request,
        firm_projects(organisation)
        .annotate(
            milestones_total=SubqueryCount(milestones),
            milestones_done=SubqueryCount(milestones.filter(done_at__isnull=False)),
            next_due=Subquery(
                milestones.filter(done_at__isnull=True).order_by("due_on").values("due_on")[:1]
            ),
            our_role=Subquery(
                ProjectPartner.objects.filter(project=OuterRef("pk"), organisation=organisation).values(
                    "role"
                )[:1]
            ),
            shown_first=status_order("status", [Project.Status.ACTIVE]),
        )
        .prefetch_related(
            Prefetch("partners", queryset=ProjectPartner.objects.select_related("organisation"))
        )
        .order_by("shown_first", "-started_on", "-pk"),
        "b2b_projects",
    )
    roles = dict(ProjectPartner.Role.choices)
    for project in projects.object_list:
        project.our_role_label = roles.get(project.our_role, "")
        project.other_partners = [p for p in project.partners.all() if p.organisation_id != organisation.pk]

    registrations = paginate(
        request,
        upcoming_registrations(organisation, now).select_related("event").order_by("event__starts_at", "pk"),
        "b2b_events",
    )
    return {
        "needs": needs,
        "offers": offers,
        "matches": matches,
        "match_rows": match_rows,
        "introductions": introductions,
        "introduction_rows": introduction_rows,
        "projects": projects,
        "registrations": registrations,
    }


# --------------------------------------------------------------------------------------------- cluster


def marketplace_figures(broker: Organisation | None = None) -> dict:
    """Needs and offers published, suggested matches, and introductions by state (those ``broker``
    brokers, when given): one query each."""
    published = Q(status=ListingStatus.PUBLISHED)
    introductions = Introduction.objects.all()
    if broker is not None:
        introductions = introductions.filter(broker=broker)
    return {
        **Need.objects.aggregate(needs=Count("pk", filter=published)),
        **Offer.objects.aggregate(offers=Count("pk", filter=published)),
        "matches": Match.objects.count(),
        **introductions.aggregate(
            requested=Count("pk", filter=Q(status=Status.REQUESTED)),
            brokered=Count("pk", filter=Q(status=Status.BROKERED)),
            accepted=Count("pk", filter=Q(status=Status.ACCEPTED)),
        ),
    }


def cluster_overview(request, organisation: Organisation, user, now) -> dict:
    """The brokering queue of a cluster organisation (requests oldest first, brokered introductions
    waiting for the firms), the marketplace in figures, its upcoming events with registrations against
    capacity, providers proposed for the directory, its reports in draft and the introductions chart."""
    queue = Introduction.objects.filter(broker=organisation).select_related(
        "need__organisation", "offer__organisation"
    )
    requested = paginate(
        request,
        queue.filter(status=Status.REQUESTED).select_related("requested_by").order_by("created_at", "pk"),
        "b2b_requested",
    )
    brokered = paginate(
        request,
        queue.filter(status=Status.BROKERED)
        .annotate(
            acceptances_count=SubqueryCount(
                IntroductionAcceptance.objects.filter(introduction=OuterRef("pk"))
            )
        )
        .order_by("brokered_at", "pk"),
        "b2b_brokered",
    )

    def rows(page):
        return [
            {"introduction": i, "need": shown(i.need, user), "offer": shown(i.offer, user)}
            for i in page.object_list
        ]

    events = paginate(
        request,
        Event.objects.filter(
            organiser=organisation,
            status__in=(Event.Status.DRAFT, Event.Status.PUBLISHED),
            ends_at__gte=now,
        )
        .annotate(
            registered=SubqueryCount(
                EventRegistration.objects.filter(
                    event=OuterRef("pk"), status=EventRegistration.Status.REGISTERED
                )
            )
        )
        .order_by("starts_at", "pk"),
        "b2b_events",
    )
    providers = paginate(
        request,
        ServiceProvider.objects.filter(status=ServiceProvider.Status.PROPOSED)
        .prefetch_related("services")
        .order_by("created_at", "pk"),
        "b2b_providers",
    )
    reports = paginate(
        request,
        Report.objects.filter(publisher=organisation, status=Report.Status.DRAFT).order_by(
            "-created_at", "-pk"
        ),
        "b2b_reports",
    )
    timeline = introduction_timeline(TIMELINE_MONTHS, broker=organisation)
    return {
        "requested": requested,
        "requested_rows": rows(requested),
        "brokered": brokered,
        "brokered_rows": rows(brokered),
        "figures": marketplace_figures(organisation),
        "events": events,
        "providers": providers,
        "reports": reports,
        "timeline": timeline,
        "chart": timeline.chart(),
        "months": TIMELINE_MONTHS,
    }


# -------------------------------------------------------------------------------------- the workspace


@register.inclusion_tag("b2b/workspace/organisation.html", takes_context=True)
def organisation_b2b(context, organisation, user):
    """The B2B part of ``organisation``'s workspace, as ``user`` may see it: nothing for organisations
    that are neither firms nor cluster organisations, nor for people who do not act for them."""
    request = context["request"]
    now = timezone.now()
    admin = is_platform_admin(user)
    parts = {"request": request, "organisation": organisation, "now": now, "withheld": WITHHELD}
    if organisation.kind in FIRM_KINDS and (admin or organisation.pk in firm_ids(user)):
        parts["firm"] = firm_overview(request, organisation, user, now)
    elif organisation.kind == Organisation.Kind.CLUSTER and user.has_perm("b2b.broker_introduction"):
        roles = {m.role for m in active_memberships(user) if m.organisation_id == organisation.pk}
        if admin or roles & CLUSTER_ROLES:
            parts["cluster"] = cluster_overview(request, organisation, user, now)
    return parts
