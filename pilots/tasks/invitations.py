"""Invitation mails (one per invitation, one reminder at most) and the beat tasks that expire invitations
and send the reminders. Each mail is claimed by a compare-and-set on its timestamp, so a retried or
duplicated task sends it once; the claim is given back when sending fails, so that the retry sends it."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import formats, timezone, translation

from livinglab.links import absolute_url
from livinglab.models import Person, User
from livinglab.once import send_once

from ..models import FIXED_ATTRIBUTES, Invitation, ParticipantProfile
from ..tokens import invitation_token

__all__ = [
    "expire_invitations",
    "remind_invitations",
    "send_invitation",
    "send_invitation_reminder",
]

# The reminder goes this long before the answer-by date, to invitations mailed at least MIN_DAYS ago.
REMIND_DAYS_BEFORE_EXPIRY = 3
REMIND_MIN_DAYS_AFTER_MAIL = 2

MAIL_RELATED = (
    "selection__draw__requested_by",
    "panel__owner",
    "person__user",
    "person__profile",
)


def invitation_recipients(person: Person) -> tuple[list[str], bool]:
    """(addresses, to guardians): the person's own address; for a minor, or someone without an address of
    their own, their guardians' addresses."""
    profile = getattr(person, "profile", None)
    own = profile.contact_address() if profile is not None else (person.user.email if person.user else "")
    if own and not person.needs_guardian_consent():
        return [own], False
    guardians = User.objects.filter(person__wards__ward=person).exclude(email="").order_by("email")
    return list(guardians.values_list("email", flat=True)), True


def _mail_context(invitation: Invitation, for_guardian: bool) -> dict:
    draw = invitation.selection.draw
    profile = getattr(invitation.person, "profile", None)
    shared = [
        str(FIXED_ATTRIBUTES[code].label)
        for code in (profile.shared if profile is not None else [])
        if code in FIXED_ATTRIBUTES and FIXED_ATTRIBUTES[code].shareable
    ]
    return {
        "invitation": invitation,
        "draw": draw,
        "panel": invitation.panel,
        "lab": invitation.panel.owner,
        "requested_by": draw.requested_by,
        "name": invitation.person.full_name,
        "for_guardian": for_guardian,
        "answer_by": formats.date_format(timezone.localtime(invitation.expires_at), "DATE_FORMAT"),
        "link": absolute_url("pilots:invitation_answer", invitation_token(invitation)),
        "shared": shared,
    }


def _send_once(invitation_id: int, field: str, template: str, extra=None) -> bool:
    """Mail an open invitation once: claim it by setting ``field`` from empty to now."""
    invitation = Invitation.objects.select_related(*MAIL_RELATED).filter(pk=invitation_id).first()
    if invitation is None or invitation.status not in Invitation.OPEN:
        return False
    if invitation.expires_at <= timezone.now() or (extra is not None and not extra(invitation)):
        return False
    profile = getattr(invitation.person, "profile", None)
    if profile is None or profile.preferred_contact != ParticipantProfile.Contact.EMAIL:
        return False  # staff call, write to or go through the group of people who prefer that
    to, for_guardian = invitation_recipients(invitation.person)
    if not to:
        return False

    def send():
        context = _mail_context(invitation, for_guardian)
        with translation.override(settings.LANGUAGE_CODE):
            subject = render_to_string(f"pilots/mail/{template}_subject.txt", context).strip()
            body = render_to_string(f"pilots/mail/{template}.txt", context)
        send_mail(subject, body, None, to)

    return send_once(Invitation, invitation.pk, field, send)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_invitation(invitation_id: int) -> bool:
    """E-mail an invitation with its signed accept/decline link, once."""
    return _send_once(invitation_id, "mailed_at", "invitation")


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_invitation_reminder(invitation_id: int) -> bool:
    """Remind someone once, a few days before the answer-by date, of an invitation they have not answered."""
    return _send_once(
        invitation_id, "reminder_sent_at", "invitation_reminder", extra=lambda i: i.mailed_at is not None
    )


def invitations_to_remind(now=None) -> list[int]:
    """Open, mailed, not yet reminded invitations whose answer-by date is near."""
    now = now or timezone.now()
    return list(
        Invitation.objects.filter(
            status__in=Invitation.OPEN,
            reminder_sent_at__isnull=True,
            mailed_at__lte=now - timedelta(days=REMIND_MIN_DAYS_AFTER_MAIL),
            expires_at__gt=now,
            expires_at__lte=now + timedelta(days=REMIND_DAYS_BEFORE_EXPIRY),
        )
        .order_by("pk")
        .values_list("pk", flat=True)
    )


@shared_task
def remind_invitations() -> int:
    """Celery beat, daily: remind once those who have not answered an invitation due in a few days."""
    due = invitations_to_remind()
    for pk in due:
        send_invitation_reminder.delay(pk)
    return len(due)


@shared_task
def expire_invitations() -> int:
    """Celery beat, hourly: expire open invitations past their answer-by date."""
    # Imported here: the services enqueue this module's tasks, so a top-level import would be circular.
    from ..services.invitations import expire_overdue_invitations

    return expire_overdue_invitations()
