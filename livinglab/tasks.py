"""Thin Celery tasks: they take ids, call the code that does the work, and are safe to retry."""

from celery import shared_task
from django.core.mail import EmailMessage
from django.db.models import Q
from django.utils import timezone
from django.utils.module_loading import import_string
from django.utils.translation import gettext as _

from .models import ConsentRecord
from .receipts import consent_receipt


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_consent_receipt(record_id: int) -> bool:
    """E-mail the receipt PDF for one consent record to the person (or their guardian) exactly once."""
    record = (
        ConsentRecord.objects.select_related("person__user", "guardian__user", "purpose", "version__document")
        .filter(pk=record_id)
        .first()
    )
    recipient = record and ((record.guardian and record.guardian.user) or record.person.user)
    if recipient is None or not recipient.email:
        return False
    # Claim the sending first so that a duplicate delivery of this task sends nothing.
    claimed = ConsentRecord.objects.filter(Q(pk=record_id), Q(receipt_sent_at__isnull=True)).update(
        receipt_sent_at=timezone.now()
    )
    if not claimed:
        return False
    try:
        filename, pdf = consent_receipt(record)
        message = EmailMessage(
            subject=_("Your consent receipt: %(purpose)s") % {"purpose": record.purpose.name},
            body=_(
                "Thank you. Attached is a receipt of the consent you gave for “%(purpose)s”.\n"
                "You can withdraw it at any time from your consent page; withdrawing is as easy as giving."
            )
            % {"purpose": record.purpose.name},
            to=[recipient.email],
        )
        message.attach(filename, pdf, "application/pdf")
        message.send()
    except Exception:
        ConsentRecord.objects.filter(pk=record_id).update(receipt_sent_at=None)
        raise
    return True


@shared_task(acks_late=True)
def run_django_task(func_path: str, args: list, kwargs: dict) -> None:
    """Run a django-tasks task (Wagtail's background work) handed over by ``CeleryBackend``."""
    import_string(func_path).call(*args, **kwargs)
