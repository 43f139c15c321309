"""Thin Celery tasks of the voucher programmes: they take ids and are safe to retry."""

from datetime import timedelta

from celery import shared_task
from django.conf import settings
from django.core.cache import cache
from django.core.mail import EmailMessage
from django.urls import reverse
from django.utils import formats, timezone
from django.utils.translation import gettext as _

from livinglab.models import User

from .models import Voucher
from .pdf import voucher_pdf

MAIL_CLAIM_MIN_SECONDS = int(timedelta(days=1).total_seconds())


def recipients(voucher: Voucher) -> list[str]:
    """The holder's address; for a minor or a holder without a login, their guardians' addresses."""
    holder = voucher.holder
    if holder.user is not None and holder.user.email and not holder.needs_guardian_consent():
        return [holder.user.email]
    guardians = User.objects.filter(person__wards__ward=holder).exclude(email="").order_by("email")
    return list(guardians.values_list("email", flat=True))


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
                "url": settings.WAGTAILADMIN_BASE_URL.rstrip("/")
                + reverse("voucher_detail", args=[voucher.pk]),
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
