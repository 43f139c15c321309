"""Tasks of market and user intelligence: the periodic topic digest (Celery beat, weekly).

``send_topic_digests`` finds the subscribers and hands each to ``send_topic_digest``, which claims the one
``DigestDelivery`` row of the subscriber and period before mailing: a retried, duplicated or concurrent run
sends nothing twice. The claim is given back when sending fails, so that the retry sends the mail. What a
digest lists is decided in ``services.intelligence``."""

from datetime import datetime

from celery import shared_task
from django.contrib.auth import get_user_model
from django.core.mail import send_mail

from livinglab.links import absolute_url

from .mail import render

__all__ = ["send_topic_digest", "send_topic_digests"]


@shared_task
def send_topic_digests() -> int:
    """Celery beat, weekly: send each subscriber the reports published in their topics since their last
    digest. Returns how many subscribers were considered. Safe to run twice."""
    # Imported here: the services may enqueue this package's tasks, so a top-level import could be circular.
    from ..services.intelligence import digest_period_end, digest_subscribers

    period_end = digest_period_end().isoformat()
    subscribers = digest_subscribers()
    for user_id in subscribers:
        send_topic_digest.delay(user_id, period_end)
    return len(subscribers)


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def send_topic_digest(user_id: int, period_end: str) -> bool:
    """Mail one subscriber their digest for the period ending at ``period_end`` (ISO 8601), once; nothing
    when there is nothing new."""
    from ..services import intelligence

    user = get_user_model().objects.filter(pk=user_id, is_active=True).exclude(email="").first()
    if user is None:
        return False
    end = datetime.fromisoformat(period_end)
    reports = intelligence.digest_reports(user, end)
    if not reports:
        return False
    delivery = intelligence.claim_digest(user, end, reports)
    if delivery is None:
        return False
    try:
        context = {
            "reports": [
                {
                    "title": r.title,
                    "kind": r.get_kind_display(),
                    "summary": r.summary,
                    "topics": ", ".join(t.name for t in r.topics.all()),
                    "published_at": r.published_at,
                    "link": absolute_url("b2b:report_detail", r.slug),
                }
                for r in reports
            ],
            "period_end": end,
            "topics_link": absolute_url("b2b:topic_subscriptions"),
        }
        subject, body = render("digest", context)
        send_mail(subject, body, None, [user.email])
    except Exception:
        intelligence.release_digest(delivery)
        raise
    intelligence.mark_digest_sent(delivery)
    return True
