"""Tasks of the awards part: each bidder's notification of the award decision (its own scores, rank,
reasons and the end of the standstill period), and the beat task that makes decisions final when their
standstill period ends. Mails are claimed by a compare-and-set on ``Award.notified_at``, so a retried task
sends each once; the claim is given back when sending fails, so that the retry sends it."""

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.urls import NoReverseMatch
from django.utils import translation

from livinglab.links import absolute_url
from livinglab.models import Membership
from livinglab.once import send_once

from ..errors import ProcurementError
from ..models import Award, AwardDecision, ConsensusScore
from ..rules import FIRM_ROLES

__all__ = ["finalise_due_awards", "send_award_notification"]

logger = logging.getLogger(__name__)


def lead_addresses(award: Award) -> list[str]:
    """The people of the consortium's lead organisation who act for it on calls."""
    return sorted(
        set(
            Membership.objects.active()
            .filter(organisation_id=award.bid.consortium.lead_id, role__in=FIRM_ROLES, user__is_active=True)
            .exclude(user__email="")
            .values_list("user__email", flat=True)
        )
    )


def award_mail_context(award: Award) -> dict:
    """Only this bidder's own scores: never another bidder's."""
    from ..services.awards import local_moment

    decision = award.decision
    phase = decision.phase
    procurement = phase.procurement
    scores = list(
        ConsensusScore.objects.filter(bid=award.bid)
        .select_related("criterion")
        .order_by("criterion__position", "criterion__pk")
    )
    try:
        link = absolute_url("procurement:bid_detail", award.bid_id)
    except NoReverseMatch:  # the bids part is not installed
        link = ""
    return {
        "award": award,
        "decision": decision,
        "phase": phase,
        "procurement": procurement,
        "consortium": award.bid.consortium,
        "scores": scores,
        "passing": Award.objects.filter(decision=decision, rank__isnull=False).count(),
        "standstill_ends": local_moment(procurement, decision.standstill_ends_at),
        "link": link,
    }


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_award_notification(award_id: int) -> bool:
    """Tell one bidder the outcome of the award decision, once."""
    award = (
        Award.objects.select_related("decision__phase__procurement__buyer", "bid__consortium__lead")
        .filter(pk=award_id)
        .first()
    )
    if award is None or award.decision.status == AwardDecision.Status.REVOKED:
        return False
    to = lead_addresses(award)
    if not to:
        return False

    def send():
        context = award_mail_context(award)
        template = "award_successful" if award.successful else "award_unsuccessful"
        with translation.override(settings.LANGUAGE_CODE):
            subject = render_to_string(f"procurement/mail/{template}_subject.txt", context).strip()
            body = render_to_string(f"procurement/mail/{template}.txt", context)
        send_mail(subject, body, None, to)

    return send_once(Award, award.pk, "notified_at", send)


@shared_task
def finalise_due_awards() -> int:
    """Celery beat, every few minutes: make final the award decisions whose standstill period has ended
    (the phase becomes awarded and the contracts are created). Safe to run twice."""
    # Imported here: the services enqueue this module's tasks, so a top-level import would be circular.
    from ..services.awards import due_decisions, finalise_award

    done = 0
    for pk in due_decisions():
        decision = AwardDecision.objects.select_related("phase__procurement").get(pk=pk)
        try:
            finalise_award(decision, acting_user=None)
        except ProcurementError as error:  # revoked or finalised meanwhile
            logger.info("Award decision %s not finalised: %s", pk, error.message)
            continue
        done += 1
    return done
