"""What test campaigns do when the core tells them something happened. Connected in ``PilotsConfig.ready``."""

from django.dispatch import receiver

from livinglab.models import ConsentRecord
from livinglab.signals import consent_withdrawn

from .services.campaign_access import consents_to_campaign
from .services.results import campaigns_relying_on, withdraw_from_campaign


@receiver(consent_withdrawn, dispatch_uid="pilots.withdraw_from_campaigns")
def consent_withdrawn_from_campaigns(sender, record_id: int, **kwargs) -> None:
    """Someone withdrew a consent: leave every campaign that relied on it (unless another active consent to
    the same purpose still covers them)."""
    record = ConsentRecord.objects.select_related("person", "withdrawn_by").filter(pk=record_id).first()
    if record is None or record.withdrawn_at is None:
        return
    for campaign in campaigns_relying_on(record.person, record.purpose_id):
        if not consents_to_campaign(campaign, record.person):
            withdraw_from_campaign(record.person, campaign, acting_user=record.withdrawn_by)
