"""Background work of the participant's data rights: preparing a data export, deleting private files and
ending the sessions of an erased account. Thin and safe to retry."""

from celery import shared_task
from django.contrib.sessions.models import Session
from django.core.files.storage import storages
from django.utils import timezone

__all__ = ["build_data_export", "delete_expired_data_exports", "delete_private_files", "end_user_sessions"]


@shared_task
def build_data_export(export_id: int) -> bool:
    """Prepare one export; claimed once by compare-and-set, so a duplicate delivery does nothing."""
    from ..services import rights

    if not rights.start_data_export(export_id):
        return False
    try:
        return rights.write_data_export(export_id) is not None
    except Exception:
        rights.fail_data_export(export_id)
        raise


@shared_task
def delete_expired_data_exports() -> int:
    """Periodic: exports are kept for a week, then deleted with their files."""
    from ..services import rights

    return rights.delete_expired_data_exports()


@shared_task(autoretry_for=(OSError,), retry_backoff=True, max_retries=5)
def delete_private_files(names: list[str]) -> int:
    """Delete files from private storage (an erased person's exports and scans); missing ones are skipped."""
    storage = storages["private"]
    deleted = 0
    for name in names:
        if storage.exists(name):
            storage.delete(name)
            deleted += 1
    return deleted


@shared_task
def end_user_sessions(user_id: int) -> int:
    """Delete every stored session of a deleted account (they no longer sign anyone in, but they linger)."""
    ended = 0
    marker = str(user_id)
    for session in Session.objects.filter(expire_date__gt=timezone.now()).iterator(chunk_size=500):
        if str(session.get_decoded().get("_auth_user_id")) == marker:
            ended += Session.objects.filter(pk=session.pk).delete()[0]
    return ended
