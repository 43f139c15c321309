"""What user panels do when the core tells them something happened."""

from django.dispatch import receiver

from livinglab.models import ConsentRecord
from livinglab.signals import consent_withdrawn

from .services.invitations import withdraw_from_pending


@receiver(consent_withdrawn, dispatch_uid="pilots.withdraw_from_pending")
def consent_was_withdrawn(sender, record_id: int, **kwargs) -> None:
    """Someone withdrew a consent: take them out of every pending draw and invitation that needed it."""
    record = (
        ConsentRecord.objects.select_related("person", "purpose", "withdrawn_by").filter(pk=record_id).first()
    )
    if record is None or record.withdrawn_at is None:
        return
    withdraw_from_pending(record.person, record.purpose, acting_user=record.withdrawn_by)
