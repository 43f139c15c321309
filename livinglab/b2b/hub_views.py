"""The B2B channel's start page: what a signed-in person can do there, with their own figures. A firm sees
its needs, offers, matches, introductions, projects and events; cluster staff the brokering queue and
their tools. Which parts are shown is decided by the permissions in ``livinglab.b2b.rules``."""

from django.contrib.auth.decorators import login_required
from django.db.models import Count, Q
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.http import require_GET

from livinglab.acting import ORGANISATION_PARAM, acting_organisations
from livinglab.models import Channel, Organisation
from livinglab.policy import CLUSTER_ROLES, FIRM_KINDS, active_memberships, firm_ids, is_platform_admin
from livinglab.services import pending_ground_rules

from .models import (
    Event,
    Introduction,
    ListingStatus,
    Need,
    Offer,
    Project,
    Report,
    ServiceProvider,
)
from .templatetags.b2b_tags import (
    accepted_by,
    firm_introductions,
    firm_matches,
    firm_projects,
    upcoming_registrations,
)

Status = Introduction.Status

# What the page offers, each shown only to those who hold the permission.
PERMISSIONS = (
    "post_listing",
    "request_introduction",
    "start_project",
    "register_for_event",
    "request_contact",
    "propose_provider",
    "read_reports",
    "subscribe_topics",
    "broker_introduction",
    "export_introductions",
    "manage_events",
    "curate_providers",
    "publish_reports",
)


def listing_figures(model, organisation: Organisation) -> dict:
    return model.objects.filter(organisation=organisation).aggregate(
        published=Count("pk", filter=Q(status=ListingStatus.PUBLISHED)),
        drafts=Count("pk", filter=Q(status=ListingStatus.DRAFT)),
    )


def firm_figures(organisation: Organisation, *, reports: bool, now) -> dict:
    """``organisation``'s own figures: a fixed number of queries."""
    introductions = firm_introductions(organisation).annotate(accepted_by_us=accepted_by(organisation))
    return {
        "needs": listing_figures(Need, organisation),
        "offers": listing_figures(Offer, organisation),
        "matches": firm_matches(organisation).count(),
        "introductions": introductions.aggregate(
            awaiting=Count("pk", filter=Q(status=Status.BROKERED, accepted_by_us=False)),
            live=Count("pk", filter=Q(status__in=Introduction.LIVE)),
            accepted=Count("pk", filter=Q(status=Status.ACCEPTED)),
        ),
        "projects": firm_projects(organisation).filter(status=Project.Status.ACTIVE).count(),
        "registrations": upcoming_registrations(organisation, now).count(),
        "reports": Report.objects.filter(status=Report.Status.PUBLISHED).count() if reports else None,
    }


def staff_figures(user, now) -> dict:
    """The brokering queue of the cluster organisations ``user`` works for (all of them for a platform
    administrator), providers to review, reports in draft and upcoming events."""
    introductions = Introduction.objects.all()
    reports = Report.objects.filter(status=Report.Status.DRAFT)
    events = Event.objects.filter(status__in=(Event.Status.DRAFT, Event.Status.PUBLISHED), ends_at__gte=now)
    if not is_platform_admin(user):
        clusters = {
            m.organisation_id
            for m in active_memberships(user)
            if m.role in CLUSTER_ROLES and m.organisation.kind == Organisation.Kind.CLUSTER
        }
        introductions = introductions.filter(broker__in=clusters)
        reports = reports.filter(publisher__in=clusters)
        events = events.filter(organiser__in=clusters)
    return {
        **introductions.aggregate(
            requested=Count("pk", filter=Q(status=Status.REQUESTED)),
            brokered=Count("pk", filter=Q(status=Status.BROKERED)),
        ),
        "providers": ServiceProvider.objects.filter(status=ServiceProvider.Status.PROPOSED).count(),
        "draft_reports": reports.count(),
        "events": events.count(),
    }


@login_required
@require_GET
def home(request):
    """The B2B start page for the signed-in user; ``?as=<slug>`` picks the firm for those in several."""
    user = request.user
    mine = firm_ids(user)
    firms = [o for o in acting_organisations(request, FIRM_KINDS) if o.pk in mine]
    wanted = request.GET.get(ORGANISATION_PARAM)
    organisation = next((o for o in firms if o.slug == wanted), firms[0] if firms else None)
    may = {name: user.has_perm(f"b2b.{name}") for name in PERMISSIONS}
    now = timezone.now()
    context = {
        "firms": firms,
        "acting_firm": organisation,
        "may": may,
        "firm": firm_figures(organisation, reports=may["read_reports"], now=now) if organisation else None,
        "staff": staff_figures(user, now) if may["broker_introduction"] else None,
        "pending_rules": list(pending_ground_rules(user, Channel.B2B, organisation=organisation)),
    }
    return render(request, "b2b/hub.html", context)
