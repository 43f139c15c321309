"""The append-only, hash-chained audit trail. Every service that changes state calls ``record``."""

from dataclasses import dataclass

from django.contrib.contenttypes.models import ContentType
from django.db import transaction
from django.utils import timezone

from .models import AuditChainHead, AuditEntry

GENESIS = "0" * 64


def record(action: str, *, actor=None, obj=None, organisation=None, data: dict | None = None) -> AuditEntry:
    """Append one entry to the chain. Call it last in the service's transaction: it holds the chain
    lock until commit, so that entries are chained in the order they become visible."""
    if not transaction.get_connection().in_atomic_block:
        raise RuntimeError("audit.record must run inside the service's transaction.")
    head, _ = AuditChainHead.objects.get_or_create(pk=1)
    head = AuditChainHead.objects.select_for_update().get(pk=head.pk)
    entry = AuditEntry(
        seq=head.last_seq + 1,
        created_at=timezone.now(),
        actor=actor if actor is not None and actor.is_authenticated else None,
        actor_ref=f"user:{actor.pk}" if actor is not None and actor.is_authenticated else "system",
        organisation=organisation,
        action=action,
        content_type=ContentType.objects.get_for_model(obj) if obj is not None else None,
        object_id=str(obj.pk) if obj is not None else "",
        object_repr=describe(obj),
        data=data or {},
        prev_hash=head.last_hash,
    )
    entry.hash = entry.compute_hash()
    entry.save()
    AuditChainHead.objects.filter(pk=head.pk).update(last_seq=entry.seq, last_hash=entry.hash)
    return entry


def describe(obj) -> str:
    """How an entry names its object. Records about people are named by type and id only, so that the trail
    holds no personal data that erasure would have to reach (and the hash chain forbids editing)."""
    if obj is None:
        return ""
    if getattr(obj, "audit_pseudonymous", False):
        return f"{obj._meta.verbose_name} #{obj.pk}"
    return str(obj)[:200]


@dataclass(frozen=True)
class Problem:
    seq: int
    message: str


def verify_chain(batch_size: int = 2000) -> tuple[int, list[Problem]]:
    """Walk the whole chain; report edited entries (hash mismatch), deleted ones (gaps in the sequence
    or a broken link) and inserted ones (a link that does not match its predecessor)."""
    problems: list[Problem] = []
    expected_seq, prev_hash, checked = 1, GENESIS, 0
    fields = ["seq", "created_at", "actor_ref", "organisation_id", "action", "content_type_id", "object_id"]
    entries = AuditEntry.objects.order_by("seq").only(*fields, "data", "prev_hash", "hash")
    for entry in entries.iterator(chunk_size=batch_size):
        checked += 1
        if entry.seq != expected_seq:
            problems.append(Problem(entry.seq, f"entries {expected_seq}–{entry.seq - 1} are missing"))
        if entry.prev_hash != prev_hash:
            problems.append(
                Problem(entry.seq, "does not link to the entry before it (inserted or re-ordered)")
            )
        if entry.compute_hash() != entry.hash:
            problems.append(Problem(entry.seq, "content was changed after it was written"))
        expected_seq, prev_hash = entry.seq + 1, entry.hash
    head = AuditChainHead.objects.filter(pk=1).first()
    if head is not None and (head.last_seq, head.last_hash) != (expected_seq - 1, prev_hash):
        problems.append(Problem(head.last_seq, "the newest entries were removed"))
    return checked, problems
