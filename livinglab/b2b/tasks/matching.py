"""Tasks of the marketplace part: recompute the stored match suggestions of one listing after it was
saved, published or closed, and of every listing each night. Both are idempotent, so retries are safe."""

from celery import shared_task
from django.db import DatabaseError

__all__ = ["refresh_all_matches", "refresh_listing_matches"]

KINDS = ("need", "offer")


@shared_task(autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=5)
def refresh_listing_matches(kind: str, pk: int) -> int:
    """Recompute the suggestions of one need or offer; the number of rows written and deleted."""
    # Imported here: the marketplace services enqueue this task, so a top-level import would be circular.
    from ..services.matching import refresh_matches

    if kind not in KINDS:
        raise ValueError(f"kind must be one of {KINDS}, not {kind!r}")
    done = refresh_matches(**{f"{kind}_ids": [pk]})
    return done.written + done.deleted


@shared_task(autoretry_for=(DatabaseError,), retry_backoff=True, max_retries=3)
def refresh_all_matches() -> int:
    """Celery beat, nightly: recompute the whole suggestion table; the number of rows written and deleted."""
    from ..services.matching import refresh_matches

    done = refresh_matches()
    return done.written + done.deleted
