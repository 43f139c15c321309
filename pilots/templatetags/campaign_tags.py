"""Template tags of test campaigns for the workspaces: an organisation's campaigns (the firm's own, or the
living lab's review queue and running campaigns) and the campaigns a participant takes part in. Each tag
runs a fixed number of queries, whatever the number of campaigns."""

from django import template
from django.db.models import OuterRef, Q, Subquery
from django.urls import reverse
from django.utils import timezone

from livinglab.models import Organisation
from livinglab.policy import CLUSTER_ROLES, active_memberships

from ..models import (
    Booking,
    Campaign,
    CampaignSession,
    Invitation,
    ParticipantAgreement,
    Questionnaire,
    Response,
)

register = template.Library()

LIMIT = 8
Status = Campaign.Status


def _upcoming(campaigns):
    return list(
        CampaignSession.objects.filter(
            campaign__in=campaigns,
            status=CampaignSession.Status.SCHEDULED,
            starts_at__gte=timezone.now(),
        )
        .select_related("campaign")
        .order_by("starts_at", "pk")[:LIMIT]
    )


@register.inclusion_tag("pilots/campaigns/workspace_organisation.html")
def organisation_campaigns(organisation, user):
    """A firm's campaigns with their status, next sessions and results; for the lab's staff, the review
    queue, the running campaigns and the upcoming sessions."""
    runs_lab = organisation.kind == Organisation.Kind.CLUSTER and (
        user.is_superuser
        or any(
            m.organisation_id == organisation.pk and m.role in CLUSTER_ROLES for m in active_memberships(user)
        )
    )
    if runs_lab:
        hosted = Campaign.objects.filter(lab=organisation)
        queue = hosted.filter(status__in=[Status.SUBMITTED, Status.IN_REVIEW]).select_related("requested_by")
        queue_list = list(queue.order_by("submitted_at", "pk")[:LIMIT])
        return {
            "organisation": organisation,
            "lab": True,
            "queue": queue_list,
            "queue_count": queue.count() if len(queue_list) == LIMIT else len(queue_list),
            "running": list(
                hosted.filter(status__in=Campaign.ACTIVE)
                .select_related("requested_by")
                .order_by("title")[:LIMIT]
            ),
            "sessions": _upcoming(hosted.filter(status__in=Campaign.ACTIVE)),
        }
    partnered = Campaign.partners.through.objects.filter(organisation_id=organisation.pk).values(
        "campaign_id"
    )
    own = Campaign.objects.filter(Q(requested_by=organisation) | Q(pk__in=partnered))
    campaigns = list(own.select_related("lab").order_by("-created_at", "-pk")[:LIMIT])
    shows_results = {Status.RUNNING, Status.ANALYSING, Status.CLOSED}
    for campaign in campaigns:
        campaign.results_url = (
            reverse("campaigns:results", args=[campaign.slug]) if campaign.status in shows_results else None
        )
    return {
        "organisation": organisation,
        "lab": False,
        "campaigns": campaigns,
        "sessions": _upcoming(own.filter(status__in=Campaign.ACTIVE)),
    }


@register.inclusion_tag("pilots/campaigns/workspace_participant.html")
def my_campaigns(person):
    """The campaigns a participant accepted an invitation to, with a link to each campaign's page."""
    if person is None:
        return {"campaigns": []}
    accepted = Invitation.objects.filter(person=person, status=Invitation.Status.ACCEPTED).values(
        "selection__draw__campaign_id"
    )
    agreement = ParticipantAgreement.objects.filter(campaign=OuterRef("pk"), person=person).values(
        "terms_sha256"
    )[:1]
    campaigns = list(
        Campaign.objects.filter(pk__in=accepted)
        .annotate(agreed_sha=Subquery(agreement))
        .select_related("lab")
        .order_by("-created_at", "-pk")[:LIMIT]
    )
    for campaign in campaigns:
        campaign.agreed = campaign.agreed_sha == campaign.terms_sha256()
    taking_part = [c.pk for c in campaigns if c.agreed and c.status in Campaign.ACTIVE]
    bookings = list(
        Booking.objects.filter(
            person=person, status__in=Booking.CURRENT, session__starts_at__gte=timezone.now()
        )
        .select_related("session__campaign")
        .order_by("session__starts_at", "pk")[:LIMIT]
    )
    # Open questionnaires of their campaigns, and of the sessions they have a place in, not yet submitted.
    booked_sessions = Booking.objects.filter(
        person=person, status__in=(Booking.Status.BOOKED, Booking.Status.ATTENDED)
    ).values("session_id")
    submitted = Response.objects.filter(person=person, status=Response.Status.SUBMITTED).values(
        "questionnaire_id"
    )
    to_answer = list(
        Questionnaire.objects.filter(campaign_id__in=taking_part, status=Questionnaire.Status.OPEN)
        .filter(Q(session__isnull=True) | Q(session_id__in=booked_sessions))
        .exclude(pk__in=submitted)
        .select_related("campaign")
        .order_by("closes_at", "pk")[:LIMIT]
    )
    return {"campaigns": campaigns, "bookings": bookings, "to_answer": to_answer}
