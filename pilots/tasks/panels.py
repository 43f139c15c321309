"""Mails that ask people to confirm a panel membership."""

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import translation

from livinglab.links import absolute_url
from livinglab.once import send_once

from ..models import PanelMembership
from ..tokens import confirmation_token

__all__ = ["send_membership_confirmation"]


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_membership_confirmation(membership_id: int) -> bool:
    """Ask someone enrolled by others to confirm and consent; sent once (claimed by compare-and-set)."""
    membership = PanelMembership.objects.select_related("panel", "person__user", "person__profile").get(
        pk=membership_id
    )
    address = membership.person.profile.contact_address() if hasattr(membership.person, "profile") else ""
    if not address or membership.status != PanelMembership.Status.PENDING:
        return False

    def send():
        link = absolute_url("pilots:confirm_membership", confirmation_token(membership))
        context = {"membership": membership, "panel": membership.panel, "link": link}
        with translation.override(settings.LANGUAGE_CODE):
            subject = render_to_string("pilots/mail/confirm_membership_subject.txt", context).strip()
            body = render_to_string("pilots/mail/confirm_membership.txt", context)
        send_mail(subject, body, None, [address])

    return send_once(PanelMembership, membership.pk, "confirmation_sent_at", send)
