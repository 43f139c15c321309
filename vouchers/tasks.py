"""Thin Celery tasks of the voucher programmes: they take ids and are safe to retry."""

from datetime import timedelta

from celery import shared_task
from django.core.cache import cache
from django.core.mail import EmailMessage
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from livinglab.links import absolute_url
from livinglab.models import Person, User
from livinglab.once import send_once

from .models import Application, Voucher, amount_text
from .pdf import voucher_pdf

MAIL_CLAIM_MIN_SECONDS = int(timedelta(days=1).total_seconds())


def person_recipients(person: Person) -> list[str]:
    """The person's address; for a minor or a person without a login, their guardians' addresses."""
    if person.user is not None and person.user.email and not person.needs_guardian_consent():
        return [person.user.email]
    guardians = User.objects.filter(person__wards__ward=person).exclude(email="").order_by("email")
    return list(guardians.values_list("email", flat=True))


def recipients(voucher: Voucher) -> list[str]:
    return person_recipients(voucher.holder)


def mail_claim_key(voucher: Voucher) -> str:
    # The issue time as well as the id: a database rebuilt from scratch reuses ids, never both.
    return f"voucher-mail:{voucher.pk}:{voucher.issued_at.timestamp():.6f}"


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_voucher_issued(voucher_id: int) -> bool:
    """E-mail the voucher PDF to its holder (or their guardians) exactly once.

    Enqueue it from the issuing transaction with ``send_voucher_issued.delay_on_commit(voucher.pk)``.
    The once-only claim is an atomic ``cache.add``: in production the cache is Redis, shared by every
    worker, so a duplicate delivery of this task (a retry, a worker lost after sending) sends nothing.
    The claim is released when sending fails, so that the retry sends the mail."""
    voucher = (
        Voucher.objects.select_related("programme__operator", "programme__funder", "holder__user")
        .filter(pk=voucher_id)
        .first()
    )
    if voucher is None or voucher.status != Voucher.Status.ISSUED:
        return False
    to = recipients(voucher)
    if not to:
        return False
    key = mail_claim_key(voucher)
    claim_seconds = max(MAIL_CLAIM_MIN_SECONDS, int((voucher.expires_at - timezone.now()).total_seconds()))
    if not cache.add(key, 1, timeout=claim_seconds):
        return False
    try:
        filename, pdf = voucher_pdf(voucher)
        programme = voucher.programme
        message = EmailMessage(
            subject=_("Your voucher: %(programme)s") % {"programme": programme.title},
            body=_(
                "Good news: %(holder)s has received a voucher of the programme “%(programme)s”, run by "
                "%(operator)s.\n\n"
                "It is attached as a PDF with its code and QR code. Keep the code secret, like cash: "
                "whoever has it can spend the voucher.\n"
                "The voucher can be used until %(last_day)s at the firms listed in the PDF. You can also "
                "find it on your vouchers page: %(url)s"
            )
            % {
                "holder": voucher.holder.full_name,
                "programme": programme.title,
                "operator": programme.operator.name,
                "last_day": formats.date_format(programme.valid_until, "DATE_FORMAT"),
                "url": absolute_url("voucher_detail", voucher.pk),
            },
            to=to,
        )
        message.attach(filename, pdf, "application/pdf")
        message.send()
    except Exception:
        cache.delete(key)
        raise
    return True


@shared_task
def expire_due_vouchers() -> int:
    """Celery beat, hourly: expire vouchers past their validity and release what was left of them."""
    # Imported here: the services enqueue this module's tasks, so a top-level import would be circular.
    from .services import expire_vouchers

    return expire_vouchers()


# --------------------------------------------------------------------------- reminders and feedback

MAIL_RELATED = ("programme__operator", "holder__user")


def _send_once(voucher_id: int, field: str, compose) -> bool:
    """Send one mail about a voucher once (``livinglab.once``)."""

    def send():
        voucher = Voucher.objects.select_related(*MAIL_RELATED).get(pk=voucher_id)
        to = recipients(voucher)
        if not to:
            return False
        subject, body = compose(voucher)
        EmailMessage(subject=subject, body=body, to=to).send()

    return send_once(Voucher, voucher_id, field, send)


def _reminder(voucher: Voucher) -> tuple[str, str]:
    programme = voucher.programme
    subject = _("Your voucher expires on %(day)s") % {
        "day": formats.date_format(programme.valid_until, "DATE_FORMAT")
    }
    body = _(
        "The voucher ending %(tail)s of the programme “%(programme)s”, held by %(holder)s, can be used "
        "until %(last_day)s. %(balance)s EUR is still available on it.\n\n"
        "After that day the unused value goes back to the programme. See where you can use it: %(url)s\n\n"
        "This is the only reminder we send."
    ) % {
        "tail": voucher.formatted_code[-6:],
        "programme": programme.title,
        "holder": voucher.holder.full_name,
        "last_day": formats.date_format(programme.valid_until, "DATE_FORMAT"),
        "balance": amount_text(voucher.balance()),
        "url": absolute_url("voucher_detail", voucher.pk),
    }
    return subject, body


def _feedback_request(voucher: Voucher) -> tuple[str, str]:
    programme = voucher.programme
    subject = _("How was it? A short questionnaire about your voucher")
    body = _(
        "%(holder)s used a voucher of the programme “%(programme)s”, run by %(operator)s.\n\n"
        "Please tell us in one minute how the solution worked for you: four short questions. Your answers "
        "help the programme choose the solutions it offers.\n\n"
        "Answer here: %(url)s"
    ) % {
        "holder": voucher.holder.full_name,
        "programme": programme.title,
        "operator": programme.operator.name,
        "url": absolute_url("voucher_feedback", voucher.pk),
    }
    return subject, body


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_expiry_reminder(voucher_id: int) -> bool:
    """E-mail a holder (or their guardians) once that their voucher is about to expire."""
    return _send_once(voucher_id, "reminder_sent_at", _reminder)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_feedback_request(voucher_id: int) -> bool:
    """E-mail a holder (or their guardians) once the link to the questionnaire about their voucher."""
    return _send_once(voucher_id, "feedback_requested_at", _feedback_request)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_not_selected(application_id: int) -> bool:
    """Tell an applicant (or their guardians) once that the lottery did not draw them."""
    application = (
        Application.objects.select_related("programme__operator", "applicant__user")
        .filter(pk=application_id, status=Application.Status.NOT_SELECTED)
        .first()
    )
    if application is None:
        return False
    # The draw time as well as the id: a database rebuilt from scratch reuses ids, never both.
    key = f"voucher-not-selected:{application.pk}:{application.decided_at.timestamp():.6f}"
    if not cache.add(key, True, MAIL_CLAIM_MIN_SECONDS * 30):
        return False
    try:
        to = person_recipients(application.applicant)
        if not to:
            return False
        programme = application.programme
        subject = _("The lottery of “%(programme)s” has been drawn") % {"programme": programme.title}
        body = _(
            "The lottery among the eligible applicants of the programme “%(programme)s”, run by "
            "%(operator)s, has been drawn. The application of %(applicant)s was not drawn: the budget did "
            "not cover more vouchers.\n\nHow the lottery was drawn, and the application: %(url)s"
        ) % {
            "programme": programme.title,
            "operator": programme.operator.name,
            "applicant": application.applicant.full_name,
            "url": absolute_url("voucher_application", application.pk),
        }
        EmailMessage(subject=subject, body=body, to=to).send()
    except Exception:
        cache.delete(key)
        raise
    return True


def vouchers_to_remind(now=None) -> list[int]:
    """Vouchers with value left that expire within their programme's reminder period, not yet reminded."""
    from .models import Programme

    now = now or timezone.now()
    ids: list[int] = []
    programmes = Programme.objects.filter(
        status__in=[Programme.Status.OPEN, Programme.Status.CLOSED]
    ).values_list("pk", "reminder_days")
    for programme_id, days in programmes:
        ids += (
            Voucher.objects.filter(
                programme_id=programme_id,
                status__in=[Voucher.Status.ISSUED, Voucher.Status.REDEEMED],
                reminder_sent_at__isnull=True,
                expires_at__gt=now,
                expires_at__lte=now + timedelta(days=days),
            )
            .with_balance()
            .filter(balance_sum__gt=0)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
    return ids


def vouchers_to_ask_for_feedback() -> list[int]:
    """Vouchers of programmes that ask for feedback, used (not reversed), not yet asked, no feedback yet."""
    from .models import LedgerEntry

    return list(
        Voucher.objects.filter(
            programme__feedback_required=True,
            feedback_requested_at__isnull=True,
            feedback__isnull=True,
            entries__kind=LedgerEntry.Kind.REDEEM,
            entries__reversal__isnull=True,
        )
        .order_by("pk")
        .values_list("pk", flat=True)
        .distinct()
    )


@shared_task
def remind_expiring_vouchers() -> int:
    """Celery beat, daily: remind holders once before their voucher expires. Returns how many were due."""
    due = vouchers_to_remind()
    for pk in due:
        send_expiry_reminder.delay(pk)
    return len(due)


@shared_task
def request_feedback() -> int:
    """Celery beat, every 15 minutes: ask holders once for feedback after they used their voucher."""
    due = vouchers_to_ask_for_feedback()
    for pk in due:
        send_feedback_request.delay(pk)
    return len(due)
