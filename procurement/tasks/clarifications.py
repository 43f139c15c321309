"""Tasks of the conduct part: one identical e-mail per registered bidder's address when clarifications are
published, never naming who asked; and a notice to the organisation a direct message is written to. Each
mail is claimed by a compare-and-set on ``notified_at``, so a retried or duplicated task sends it once; the
claim is given back when sending fails."""

from celery import shared_task
from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation
from django.utils.dateformat import format as format_date
from django.utils.http import urlencode

from livinglab.links import absolute_url
from livinglab.models import Organisation, Role, User
from livinglab.policy import CLUSTER_ROLES

from ..models import Clarification, DirectMessage
from ..rules import FIRM_KINDS, FIRM_ROLES

__all__ = ["send_clarification_answers", "send_message_notice"]


def bidder_addresses(procurement) -> list[str]:
    """One address per active firm-role member of every registered bidder, each address once."""
    # Imported here: the services enqueue this module's task, so a top-level import would be circular.
    from ..services.clarifications import registered_bidders

    return list(
        User.objects.filter(
            is_active=True,
            memberships__organisation__in=registered_bidders(procurement),
            memberships__ended_at__isnull=True,
            memberships__role__in=FIRM_ROLES,
        )
        .exclude(email="")
        .order_by("email")
        .values_list("email", flat=True)
        .distinct()
    )


def answers_mail(procurement, clarifications) -> tuple[str, str]:
    """(subject, body): the same for every recipient; the asker is not in it."""
    with translation.override(settings.LANGUAGE_CODE):
        # Formatted here: the ``date`` filter would show the server's time zone, not the authority's.
        published_at = procurement.local(clarifications[0].published_at)
        context = {
            "procurement": procurement,
            "clarifications": clarifications,
            "published_at": format_date(published_at, formats.get_format("DATETIME_FORMAT")),
            "time_zone": procurement.time_zone,
            "link": absolute_url("procurement:clarifications", procurement.slug),
        }
        subject = " ".join(render_to_string("procurement/mail/clarification_subject.txt", context).split())
        body = render_to_string("procurement/mail/clarification.txt", context)
    return subject, body


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_clarification_answers(clarification_ids: list[int]) -> int:
    """E-mail answers published together to every registered bidder, once; returns the mails sent."""
    now = timezone.now()
    claimed = Clarification.objects.filter(
        pk__in=clarification_ids, status=Clarification.Status.PUBLISHED, notified_at__isnull=True
    ).update(notified_at=now)
    if not claimed:
        return 0
    items = list(
        Clarification.objects.filter(pk__in=clarification_ids, notified_at=now)
        .select_related("phase__procurement")
        .order_by("phase__number", "published_at", "pk")
    )
    sent = 0
    try:
        by_procurement: dict[int, list[Clarification]] = {}
        for item in items:
            by_procurement.setdefault(item.phase.procurement_id, []).append(item)
        connection = get_connection()
        for group in by_procurement.values():
            procurement = group[0].phase.procurement
            subject, body = answers_mail(procurement, group)
            mails = [
                EmailMessage(subject, body, None, [address]) for address in bidder_addresses(procurement)
            ]
            sent += connection.send_messages(mails) or 0
    except Exception:
        Clarification.objects.filter(pk__in=[i.pk for i in items], notified_at=now).update(notified_at=None)
        raise
    return sent


def organisation_addresses(organisation: Organisation, roles) -> list[str]:
    return list(
        User.objects.filter(
            is_active=True,
            memberships__organisation=organisation,
            memberships__ended_at__isnull=True,
            memberships__role__in=roles,
        )
        .exclude(email="")
        .order_by("email")
        .values_list("email", flat=True)
        .distinct()
    )


def message_recipients(message: DirectMessage) -> list[str]:
    """Who reads the recipient organisation's messages: the buyer's procurers, a firm's members, a
    cluster's staff."""
    organisation = message.recipient_organisation
    if organisation.pk == message.procurement.buyer_id:
        roles = {Role.PROCURER}
    elif organisation.kind in FIRM_KINDS:
        roles = FIRM_ROLES
    else:
        roles = CLUSTER_ROLES
    return organisation_addresses(organisation, roles)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_message_notice(message_id: int) -> int:
    """Tell the recipient organisation, once, that a direct message is waiting; returns the mails sent."""
    message = (
        DirectMessage.objects.select_related("procurement", "sender_organisation", "recipient_organisation")
        .filter(pk=message_id)
        .first()
    )
    if message is None:
        return 0
    addresses = message_recipients(message)
    if not addresses:
        return 0
    now = timezone.now()
    if not DirectMessage.objects.filter(pk=message.pk, notified_at__isnull=True).update(notified_at=now):
        return 0
    try:
        procurement = message.procurement
        query = urlencode(
            {"as": message.recipient_organisation.slug, "with": message.sender_organisation.slug}
        )
        with translation.override(settings.LANGUAGE_CODE):
            context = {
                "message": message,
                "procurement": procurement,
                "sent_at": format_date(
                    procurement.local(message.sent_at), formats.get_format("DATETIME_FORMAT")
                ),
                "time_zone": procurement.time_zone,
                "link": f"{absolute_url('procurement:messages', procurement.slug)}?{query}",
            }
            subject = " ".join(render_to_string("procurement/mail/message_subject.txt", context).split())
            body = render_to_string("procurement/mail/message.txt", context)
        mails = [EmailMessage(subject, body, None, [address]) for address in addresses]
        return get_connection().send_messages(mails) or 0
    except Exception:
        DirectMessage.objects.filter(pk=message.pk, notified_at=now).update(notified_at=None)
        raise
