"""Mail that must go out exactly once, however often its task is delivered or retried.

The row that a mail is about holds a timestamp of when it was sent. Sending first claims that timestamp by
compare-and-set (from empty to now, so that two workers never both send), and gives it back when sending
fails, so that the retry sends. A notice that can recur (an event moved again) claims its own moment
instead: the row is claimed when it holds nothing or an earlier moment."""

from collections.abc import Callable
from datetime import datetime

from django.db.models import Model, Q
from django.utils import timezone


def send_once(
    model: type[Model],
    pk,
    field: str,
    send: Callable[[], object],
    *,
    stamp: datetime | None = None,
    previous: datetime | None = None,
) -> bool:
    """Run ``send`` unless ``field`` of row ``pk`` says it ran; whether it sent. ``send`` returning False
    means there was nobody to write to: the claim is kept, so nobody is written to later either. On an
    error the field goes back to ``previous`` (what it held before the claim)."""
    claimed = stamp or timezone.now()
    unsent = Q(**{f"{field}__isnull": True})
    if stamp is not None:
        unsent |= Q(**{f"{field}__lt": stamp})
    if model.objects.filter(unsent, pk=pk).update(**{field: claimed}) != 1:
        return False
    try:
        result = send()
    except Exception:
        model.objects.filter(pk=pk, **{field: claimed}).update(**{field: previous})
        raise
    return result is not False
