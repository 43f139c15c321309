"""Thin Celery tasks of results: exports and reports made in the background."""

from celery import shared_task

__all__: list[str] = ["build_results_file"]


@shared_task
def build_results_file(results_file_id: int) -> bool:
    """Make one queued export or report; claimed once by compare-and-set, so a duplicate does nothing."""
    # Imported here: the service enqueues this task, so a top-level import would be circular.
    from ..services import results

    return results.build_results_file(results_file_id) is not None
