"""Mails of brokered introductions: to the cluster staff when a firm asks, to each firm when the cluster
brokers, to both firms when both have accepted, and to those who knew of it when an introduction is closed.

Each step is mailed once, claimed in the step's ``*_mailed_at`` timestamp (``livinglab.once``). A task does
nothing once the introduction has moved on from the step it announces. Each firm gets its own message.

Before acceptance a mail names a listing by its teaser (title and summary) only: never the other firm, its
description, contact or another confidential field (``Need.CONFIDENTIAL_FIELDS``,
``Offer.CONFIDENTIAL_FIELDS``)."""

from celery import shared_task
from django.core.mail import EmailMessage, get_connection

from livinglab.links import absolute_url
from livinglab.models import Membership
from livinglab.once import send_once
from livinglab.policy import FIRM_ROLES

from .mail import render, staff_addresses

__all__ = [
    "send_introduction_accepted",
    "send_introduction_brokered",
    "send_introduction_closed",
    "send_introduction_requested",
]


def firm_addresses(introduction, organisation_id: int) -> list[str]:
    """Who hears about an introduction for one firm: the contact person of its listing and the person who
    asked for it; when neither is set, the firm's active staff."""
    listing = (
        introduction.need if introduction.need.organisation_id == organisation_id else introduction.offer
    )
    people = {listing.contact_id, introduction.requested_by_user_id} - {None}
    members = Membership.objects.active().filter(organisation_id=organisation_id, role__in=FIRM_ROLES)
    found = members.filter(user_id__in=people).addresses() if people else []
    return found or members.addresses()


def _message(template: str, to: list[str], context: dict) -> EmailMessage:
    return EmailMessage(*render(template, context), None, to)


def _send_once(introduction, field: str, messages: list[EmailMessage]) -> bool:
    """Send ``messages`` unless the step's ``field`` says they were sent: claim it from empty to now."""
    from ..models import Introduction

    messages = [m for m in messages if m.to]
    if not messages:
        return False
    return send_once(Introduction, introduction.pk, field, lambda: get_connection().send_messages(messages))


def _load(introduction_id: int, statuses):
    from ..models import Introduction

    return (
        Introduction.objects.select_related("need", "offer", "broker")
        .filter(pk=introduction_id, status__in=statuses)
        .first()
    )


def _sides(introduction, organisation_id: int):
    """(own listing, other listing) for one firm of the introduction."""
    if introduction.need.organisation_id == organisation_id:
        return introduction.need, introduction.offer
    return introduction.offer, introduction.need


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_introduction_requested(introduction_id: int) -> bool:
    """Tell the broker cluster's staff, once, that a firm asks for an introduction."""
    from ..models import Introduction

    introduction = _load(introduction_id, [Introduction.Status.REQUESTED])
    if introduction is None:
        return False
    context = {
        "introduction": introduction,
        "need_title": introduction.need.title,
        "offer_title": introduction.offer.title,
        "link": absolute_url("b2b:introduction_detail", introduction.pk),
        "queue_link": absolute_url("b2b:introduction_list"),
    }
    message = _message("introduction_requested", staff_addresses(introduction.broker_id), context)
    return _send_once(introduction, "requested_mailed_at", [message])


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_introduction_brokered(introduction_id: int) -> bool:
    """Ask each firm, once, to accept a brokered introduction; the other side appears by its teaser only."""
    from ..models import Introduction

    introduction = _load(introduction_id, [Introduction.Status.BROKERED])
    if introduction is None:
        return False
    messages = []
    for organisation_id in introduction.parties():
        own, other = _sides(introduction, organisation_id)
        context = {
            "introduction": introduction,
            "own_title": own.title,
            "other_kind": "need" if other is introduction.need else "offer",
            "other_title": other.title,
            "other_summary": other.summary,
            "link": absolute_url("b2b:introduction_accept", introduction.pk),
        }
        to = firm_addresses(introduction, organisation_id)
        messages.append(_message("introduction_brokered", to, context))
    return _send_once(introduction, "brokered_mailed_at", messages)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_introduction_accepted(introduction_id: int) -> bool:
    """Tell both firms, once, that both accepted: each other's details are now on the introduction's page."""
    from ..models import Introduction

    introduction = _load(introduction_id, [Introduction.Status.ACCEPTED])
    if introduction is None:
        return False
    messages = []
    for organisation_id in introduction.parties():
        own, other = _sides(introduction, organisation_id)
        context = {
            "introduction": introduction,
            "own_title": own.title,
            "other_title": other.title,
            "link": absolute_url("b2b:introduction_detail", introduction.pk),
        }
        to = firm_addresses(introduction, organisation_id)
        messages.append(_message("introduction_accepted", to, context))
    return _send_once(introduction, "accepted_mailed_at", messages)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_introduction_closed(introduction_id: int) -> bool:
    """Tell, once, those who knew of an introduction that it was refused, withdrawn or declined, with the
    reason given: the cluster's staff, the firm that asked, and — once brokered — both firms (never a firm
    that did not know of it)."""
    from ..models import Introduction

    Status = Introduction.Status
    introduction = _load(introduction_id, [Status.REFUSED, Status.WITHDRAWN, Status.DECLINED])
    if introduction is None:
        return False
    context = {
        "introduction": introduction,
        "status": introduction.get_status_display(),
        "reason": introduction.reason,
        "link": absolute_url("b2b:introduction_detail", introduction.pk),
    }
    staff_context = {
        **context,
        "need_title": introduction.need.title,
        "offer_title": introduction.offer.title,
    }
    messages = [_message("introduction_closed", staff_addresses(introduction.broker_id), staff_context)]
    firms = {introduction.requested_by_id} - {None}
    if introduction.brokered_at is not None:
        firms |= set(introduction.parties())
    for organisation_id in sorted(firms):
        own, _other = _sides(introduction, organisation_id)
        to = firm_addresses(introduction, organisation_id)
        messages.append(_message("introduction_closed", to, {**context, "own_title": own.title}))
    return _send_once(introduction, "closed_mailed_at", messages)
