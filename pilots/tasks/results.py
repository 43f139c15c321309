"""Thin Celery tasks of results: exports and reports made in the background."""

from celery import shared_task

__all__: list[str] = ["build_results_file", "warm_results"]


@shared_task
def build_results_file(results_file_id: int) -> bool:
    """Make one queued export or report; claimed once by compare-and-set, so a duplicate does nothing."""
    # Imported here: the service enqueues this task, so a top-level import would be circular.
    from ..services import results

    return results.build_results_file(results_file_id) is not None


@shared_task
def warm_results(campaign_id: int, version: int) -> bool:
    """Compute a campaign's results into the cache once its answers changed, so that the dashboard reads
    them instead of computing them. Does nothing if the answers changed again meanwhile (a later task
    warms those): a burst of submissions computes once per version that is still current."""
    from ..analytics import warm_cache
    from ..models import Campaign

    campaign = Campaign.objects.filter(pk=campaign_id, results_version=version).first()
    if campaign is None:
        return False
    warm_cache(campaign)
    return True
