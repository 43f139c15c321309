"""Thin Celery tasks of questionnaires: closing those whose closing time passed (beat)."""

from celery import shared_task

__all__ = ["close_expired_questionnaires"]


@shared_task
def close_expired_questionnaires() -> int:
    """Close the open questionnaires past their closing time; safe to run twice (compare-and-set)."""
    from ..services.questionnaires import close_expired_questionnaires as close

    return close(acting_user=None)
