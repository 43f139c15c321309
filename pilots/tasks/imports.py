"""Checking and importing member lists in the background."""

from celery import shared_task
from django.db import OperationalError

__all__ = ["forget_old_lists", "run_panel_import"]


@shared_task(autoretry_for=(OperationalError,), retry_backoff=True, max_retries=5)
def run_panel_import(import_id: int) -> str:
    """Check every row of a mapped list, then import it whole or not at all; a retry of a finished import
    does nothing (see ``pilots.services.imports.run_import``)."""
    from ..services.imports import run_import  # the services enqueue this task: import them when it runs

    return run_import(import_id).status


@shared_task
def forget_old_lists() -> int:
    """Daily: delete uploaded lists once imported or past their retention (see the service)."""
    from ..services import imports

    return imports.forget_old_lists()
