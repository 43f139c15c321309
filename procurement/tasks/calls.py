"""Tasks of the calls part: documents generated from the structured call (call document, consultation notice
and summary report), rendered after the commit that asked for them."""

from celery import shared_task

__all__ = ["render_procurement_document"]


@shared_task
def render_procurement_document(procurement_id: int, kind: str, request_key: str, user_id: int | None = None):
    """Render and store the next version of a procurement's document; a retry of the same request finds it
    stored and does nothing."""
    from livinglab.models import User

    from ..errors import ProcurementError
    from ..models import Procurement
    from ..services.calls import generate_document

    procurement = Procurement.objects.filter(pk=procurement_id).first()
    if procurement is None:
        return None
    user = User.objects.filter(pk=user_id).first() if user_id else None
    try:
        document = generate_document(procurement, kind, request_key=request_key, acting_user=user)
    except ProcurementError:
        # The procurement moved on (cancelled, say): its document is no longer due.
        return None
    return document.pk
