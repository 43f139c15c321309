"""Thin Celery tasks of idea competitions: the winners' mail, and starting the jury's scoring once the
closing time for ideas has passed (beat)."""

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.core.mail import send_mail
from django.template.loader import render_to_string

from livinglab.links import absolute_url

__all__ = ["send_winner_mail", "start_due_judging"]

# A winner is mailed once: the claim is an atomic ``cache.add`` (Redis in production, shared by workers).
CLAIM_SECONDS = 60 * 60 * 24 * 90


def _claim_key(idea_id: int) -> str:
    return f"pilots:competition:winner-mail:{idea_id}"


@shared_task
def send_winner_mail(idea_id: int) -> bool:
    """Tell a winner (or their guardians) that their idea won and what they get, exactly once."""
    from ..models import Idea
    from .invitations import invitation_recipients

    idea = (
        Idea.objects.select_related(
            "competition__campaign__lab", "competition__prize_programme", "person__user", "person__profile"
        )
        .filter(pk=idea_id, status=Idea.Status.WINNER)
        .first()
    )
    if idea is None or idea.person is None:
        return False
    to, for_guardian = invitation_recipients(idea.person)
    if not to or not cache.add(_claim_key(idea.pk), 1, timeout=CLAIM_SECONDS):
        return False
    campaign = idea.competition.campaign
    context = {
        "idea": idea,
        "competition": idea.competition,
        "campaign": campaign,
        "lab": campaign.lab,
        "name": idea.person.full_name,
        "for_guardian": for_guardian,
        "link": absolute_url("campaigns:competition_ideas", campaign.slug),
    }
    try:
        send_mail(
            render_to_string("pilots/mail/competition_winner_subject.txt", context).strip(),
            render_to_string("pilots/mail/competition_winner.txt", context),
            settings.DEFAULT_FROM_EMAIL,
            to,
        )
    except Exception:
        cache.delete(_claim_key(idea.pk))  # let the retry send it
        raise
    return True


@shared_task
def start_due_judging() -> list[int]:
    """Beat: open scoring on competitions whose closing time for ideas has passed."""
    from ..services.competitions import start_due_judging as start

    return start()
