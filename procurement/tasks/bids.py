"""Tasks of the consortia and bids part: consortium invitations and proposals, bid receipts, and the beat
task that closes phases whose bid deadline has passed.

Each mail is claimed once by setting its ``*_mailed_at`` timestamp from empty to now (compare-and-set), so
that a retried or duplicated task sends nothing twice; a new invitation clears the timestamp. The claim is
given back when sending fails, so that the retry sends the mail."""

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import formats, translation

from livinglab.links import absolute_url
from livinglab.models import Membership, Organisation
from livinglab.once import send_once

from ..rules import FIRM_ROLES

__all__ = [
    "close_due_phases",
    "send_bid_receipt",
    "send_consortium_invitation",
    "send_consortium_proposal",
]


def organisation_addresses(organisation: Organisation) -> list[str]:
    """Where mail for an organisation taking part in a call goes: its active firm staff and researchers."""
    return Membership.objects.active().filter(organisation=organisation, role__in=FIRM_ROLES).addresses()


def _send_once(obj, field: str, to: list[str], template: str, context: dict) -> bool:
    """Mail ``to`` unless ``obj``'s ``field`` says it was already sent: claim it from empty to now."""
    if not to:
        return False

    def send():
        with translation.override(settings.LANGUAGE_CODE):
            subject = render_to_string(f"procurement/mail/{template}_subject.txt", context).strip()
            body = render_to_string(f"procurement/mail/{template}.txt", context)
        send_mail(subject, body, None, to)

    return send_once(type(obj), obj.pk, field, send)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_consortium_invitation(member_id: int) -> bool:
    """E-mail an invited organisation once per invitation and agreement text."""
    from ..models import ConsortiumMember

    member = (
        ConsortiumMember.objects.select_related("consortium__procurement", "consortium__lead", "organisation")
        .filter(pk=member_id, status=ConsortiumMember.Status.INVITED)
        .first()
    )
    if member is None:
        return False
    consortium = member.consortium
    context = {
        "consortium": consortium,
        "procurement": consortium.procurement,
        "organisation": member.organisation,
        "lead": consortium.lead,
        "agreement_sha256": consortium.agreement_sha256,
        "link": absolute_url("procurement:consortium", consortium.pk),
    }
    to = organisation_addresses(member.organisation)
    return _send_once(member, "invitation_mailed_at", to, "consortium_invitation", context)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_consortium_proposal(consortium_id: int) -> bool:
    """Tell the proposed lead, once, that an intermediary cluster proposes a consortium for it to lead."""
    from ..models import Consortium, ConsortiumMember

    consortium = (
        Consortium.objects.select_related("procurement", "lead", "proposed_by")
        .filter(pk=consortium_id, status=Consortium.Status.PROPOSED)
        .first()
    )
    if consortium is None:
        return False
    partners = [
        m.organisation.name
        for m in consortium.members.filter(role=ConsortiumMember.Role.PARTNER).select_related("organisation")
    ]
    context = {
        "consortium": consortium,
        "procurement": consortium.procurement,
        "lead": consortium.lead,
        "cluster": consortium.proposed_by,
        "partners": sorted(partners),
        "link": absolute_url("procurement:consortium", consortium.pk),
    }
    to = organisation_addresses(consortium.lead)
    return _send_once(consortium, "proposal_mailed_at", to, "consortium_proposal", context)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_bid_receipt(bid_id: int) -> bool:
    """E-mail the lead organisation the receipt of a submitted bid, once per receipt hash."""
    from ..models import Bid

    bid = (
        Bid.objects.select_related("phase__procurement", "consortium__lead")
        .filter(pk=bid_id, status=Bid.Status.SUBMITTED)
        .first()
    )
    if bid is None or not bid.receipt_sha256:
        return False
    procurement = bid.phase.procurement
    context = {
        "bid": bid,
        "phase": bid.phase,
        "procurement": procurement,
        "consortium": bid.consortium,
        "submitted_at": formats.date_format(procurement.local(bid.submitted_at), "j F Y, H:i:s"),
        "deadline": formats.date_format(procurement.local(bid.phase.bid_deadline), "j F Y, H:i"),
        "zone": procurement.time_zone,
        "link": absolute_url("procurement:bid_detail", bid.pk),
        "pdf_link": absolute_url("procurement:bid_receipt", bid.pk),
    }
    return _send_once(
        bid, "receipt_mailed_at", organisation_addresses(bid.consortium.lead), "bid_receipt", context
    )


@shared_task
def close_due_phases() -> int:
    """Celery beat, every minute: move open phases whose bid deadline has passed to evaluation."""
    # Imported here: the services enqueue this module's tasks, so a top-level import would be circular.
    from ..services.bids import close_due_phases as close

    return close()
