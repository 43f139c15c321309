"""Tasks of the provider directory: the contact request mailed to the provider (with a copy to the
requester), and the cluster staff's notice of a proposed provider.

Each is mailed once, claimed in ``ContactRequest.mailed_at`` or ``ServiceProvider.proposal_mailed_at``
(``livinglab.once``)."""

from celery import shared_task
from django.core.mail import EmailMessage, get_connection, send_mail

from livinglab.links import absolute_url
from livinglab.once import send_once

from ..models import ContactRequest, ServiceProvider
from .mail import render, staff_addresses

__all__ = ["mail_contact_request", "notify_staff_of_proposal"]


def requester_name(user) -> str:
    if user is None:
        return ""
    person = getattr(user, "person", None)
    return (person.full_name if person else "") or user.get_full_name() or user.email


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def mail_contact_request(request_id: int) -> bool:
    """Mail a contact request to the provider, and a copy to the requester, once."""
    contact = (
        ContactRequest.objects.select_related("provider", "organisation", "user__person")
        .filter(pk=request_id, mailed_at__isnull=True)
        .first()
    )
    if contact is None or not contact.provider.contact_email:
        return False

    def send():
        user = contact.user
        context = {
            "contact": contact,
            "provider": contact.provider,
            "organisation": contact.organisation,
            "requester": requester_name(user),
            "requester_email": user.email if user else "",
            "service": contact.get_service_display(),
            "link": absolute_url("b2b:provider_detail", contact.provider.slug),
        }
        reply_to = [user.email] if user and user.email else []
        messages = [
            EmailMessage(
                *render("provider_contact_request", context),
                None,
                [contact.provider.contact_email],
                reply_to=reply_to,
            )
        ]
        if reply_to:
            # A separate message: the copy must not reveal the provider's address.
            messages.append(EmailMessage(*render("provider_contact_copy", context), None, reply_to))
        get_connection().send_messages(messages)

    return send_once(ContactRequest, contact.pk, "mailed_at", send)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def notify_staff_of_proposal(provider_id: int) -> bool:
    """Tell the cluster staff that a provider was proposed for the directory, once."""
    provider = (
        ServiceProvider.objects.filter(pk=provider_id, status=ServiceProvider.Status.PROPOSED)
        .prefetch_related("services")
        .first()
    )
    to = staff_addresses()
    if provider is None or not to:
        return False

    def send():
        context = {
            "provider": provider,
            "services": [s.get_service_display() for s in provider.services.all()],
            "link": absolute_url("b2b:provider_detail", provider.slug),
            "queue": absolute_url("b2b:provider_curation"),
        }
        subject, body = render("provider_proposed", context)
        send_mail(subject, body, None, to)

    return send_once(ServiceProvider, provider.pk, "proposal_mailed_at", send)
