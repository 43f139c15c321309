"""Thin Celery tasks of campaign lifecycle: the lab's coordinators hear of a submitted request, and the
requester of the lab's decision. Each mail is claimed once (an atomic ``cache.add`` keyed on what it is
about), so a retried or duplicated task does not send it twice; the claim is given back when sending fails."""

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation

from livinglab.links import absolute_url
from livinglab.models import Membership
from livinglab.policy import CLUSTER_ROLES

from ..models import Campaign, CampaignReview

__all__ = ["send_campaign_decision", "send_campaign_submitted"]

CLAIM_SECONDS = 60 * 60 * 24 * 30


def _addresses(organisation_id: int, roles=None) -> list[str]:
    members = Membership.objects.active().filter(organisation_id=organisation_id)
    if roles is not None:
        members = members.filter(role__in=roles)
    return members.addresses()


def _send_once(key: str, template: str, context: dict, to: list[str]) -> bool:
    if not to or not cache.add(key, True, CLAIM_SECONDS):
        return False
    try:
        with translation.override(settings.LANGUAGE_CODE):
            subject = render_to_string(f"pilots/mail/{template}_subject.txt", context).strip()
            body = render_to_string(f"pilots/mail/{template}.txt", context)
        send_mail(subject, body, None, to)
    except Exception:
        cache.delete(key)
        raise
    return True


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_campaign_submitted(campaign_id: int) -> bool:
    """Tell the hosting lab's coordinators that a campaign request waits for them, once per submission."""
    campaign = Campaign.objects.select_related("lab", "requested_by").filter(pk=campaign_id).first()
    if campaign is None or campaign.status != Campaign.Status.SUBMITTED or campaign.submitted_at is None:
        return False
    context = {
        "campaign": campaign,
        "link": absolute_url("campaigns:campaign_detail", campaign.slug),
        "queue": absolute_url("campaigns:review_queue"),
    }
    key = f"pilots:campaign-submitted:{campaign.pk}:{campaign.submitted_at.timestamp()}"
    return _send_once(key, "campaign_submitted", context, _addresses(campaign.lab_id, CLUSTER_ROLES))


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_campaign_decision(review_id: int) -> bool:
    """Tell the requester what the lab decided (approved, changes requested, rejected, fast-tracked)."""
    review = (
        CampaignReview.objects.select_related("campaign__lab", "campaign__requested_by")
        .filter(pk=review_id)
        .first()
    )
    if review is None:
        return False
    campaign = review.campaign
    context = {
        "campaign": campaign,
        "review": review,
        "link": absolute_url("campaigns:campaign_detail", campaign.slug),
    }
    key = f"pilots:campaign-decision:{review.pk}"
    return _send_once(key, "campaign_decision", context, _addresses(campaign.requested_by_id))
