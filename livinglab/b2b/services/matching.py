"""Stored match suggestions (``Match``): recomputed from the published needs and offers by the pure
functions of ``livinglab.b2b.matching``. Pages read the stored rows, so a page never scores anything.

What is kept: each published need's ``TOP_K`` best offers and each published offer's ``TOP_K`` best needs,
when they score at least ``MIN_SCORE``. The nightly task recomputes the whole table; publishing, editing
or closing a listing recomputes that listing's pairs straight away (``refresh_matches(need_ids=[…])``).

A listing's refresh ranks it against every counterpart, so its own best ones are exact. Whether it is
also among a counterpart's best is decided against the counterpart's other stored suggestions, which hold
its best ones as of the last refresh; a counterpart whose best ones shift because of this listing is
settled by the nightly refresh.

Refreshes are idempotent (a second run with the same data writes nothing) and may run concurrently: the
heavy computation runs outside any transaction, and the writes of each run happen in one transaction
that holds a lock for the match table (a PostgreSQL advisory lock; SQLite has a single writer anyway).
Listings that change while a refresh computes are left alone by it: their own refresh, enqueued by that
change, writes their pairs."""

from collections import defaultdict
from dataclasses import dataclass

from django.db import connection, transaction
from django.db.models import Q
from django.utils import timezone

from ..matching import Matcher, Profile, Suggestion
from ..models import Match, Need, Offer

# Suggestions kept per need and per offer. Ten fill one page of a listing's suggestions and are as many
# as a firm reads; keeping them per offer too means an offer that is nobody's favourite still gets its
# best needs, and the cluster staff see both sides.
TOP_K = 10
# Below 0.1 a pair shares at most one technology out of four, or a sector among two, or a text similarity
# of 0.25 (see the score formula in ``livinglab.b2b.matching``): suggestions the broker would only have
# to wade through.
MIN_SCORE = 0.1
# pg_advisory_xact_lock key of the match table (any constant that no other part of the project uses).
LOCK_KEY = 0x62326D61  # "b2ma"
# Ids per ``IN (…)`` list, well below SQLite's limit on query parameters.
CHUNK = 500


@dataclass(frozen=True)
class Refreshed:
    """What a refresh changed: rows inserted or updated, and rows deleted."""

    written: int = 0
    deleted: int = 0

    def __add__(self, other: "Refreshed") -> "Refreshed":
        return Refreshed(self.written + other.written, self.deleted + other.deleted)


def load_profiles(model: type[Need] | type[Offer]) -> list[Profile]:
    """Every published need (or offer) as the matcher sees it: teaser, full text, tag ids."""
    name = model._meta.model_name
    tags = {"sectors": defaultdict(set), "technologies": defaultdict(set)}
    for relation, found in tags.items():
        through = getattr(model, relation).through
        rows = through.objects.filter(**{f"{name}__in": model.objects.published()})
        for listing_id, tag_id in rows.values_list(f"{name}_id", "tag_id"):
            found[listing_id].add(tag_id)
    rows = (
        model.objects.published()
        .order_by("pk")
        .values_list("pk", "organisation_id", "title", "summary", "description", named=True)
    )
    return [
        Profile(
            pk=row.pk,
            organisation_id=row.organisation_id,
            teaser=f"{row.title}\n{row.summary}",
            # The model's own definition of the compared text, applied to the row.
            text=model.matching_text(row),
            sectors=frozenset(tags["sectors"].get(row.pk, ())),
            technologies=frozenset(tags["technologies"].get(row.pk, ())),
        )
        for row in rows.iterator(chunk_size=2000)
    ]


def build_matcher() -> Matcher:
    return Matcher(load_profiles(Need), load_profiles(Offer))


def refresh_matches(need_ids=None, offer_ids=None) -> Refreshed:
    """Recompute stored suggestions of these needs and offers, or of every listing when none are named."""
    started = timezone.now()
    matcher = build_matcher()
    if need_ids is None and offer_ids is None:
        wanted = matcher.table(per_need=TOP_K, per_offer=TOP_K, min_score=MIN_SCORE)
        return _store(wanted, Q(), started)
    done = Refreshed()
    for need_id in sorted(set(need_ids or ())):
        ranked = matcher.offers_for(need_id, min_score=MIN_SCORE) if need_id in matcher.need_index else []
        done += _refresh_one("need", need_id, ranked, started)
    for offer_id in sorted(set(offer_ids or ())):
        ranked = matcher.needs_for(offer_id, min_score=MIN_SCORE) if offer_id in matcher.offer_index else []
        done += _refresh_one("offer", offer_id, ranked, started)
    return done


def _refresh_one(kind: str, pk: int, ranked: list[Suggestion], started) -> Refreshed:
    """Store the suggestions of one listing: its ``TOP_K`` best counterparts, and the pairs in which it is
    among the counterpart's ``TOP_K`` best (judged against the counterpart's other stored suggestions)."""
    other = "offer" if kind == "need" else "need"
    with transaction.atomic():
        _lock()
        wanted = list(ranked[:TOP_K])
        rest = ranked[TOP_K:]
        if rest:
            theirs = defaultdict(list)
            ids = [getattr(s, f"{other}_id") for s in rest]
            for start in range(0, len(ids), CHUNK):
                rows = Match.objects.filter(**{f"{other}_id__in": ids[start : start + CHUNK]}).exclude(
                    **{f"{kind}_id": pk}
                )
                for their_id, mine_id, score in rows.values_list(f"{other}_id", f"{kind}_id", "score"):
                    theirs[their_id].append((-score, mine_id))
            for suggestion in rest:
                best = sorted(theirs.get(getattr(suggestion, f"{other}_id"), ()))
                if len(best) < TOP_K or (-suggestion.score, pk) < best[TOP_K - 1]:
                    wanted.append(suggestion)
        return _store(wanted, Q(**{f"{kind}_id": pk}), started)


def _lock() -> None:
    """Serialise the writes of concurrent refreshes (inside the caller's transaction)."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [LOCK_KEY])


def _store(wanted: list[Suggestion], scope: Q, started) -> Refreshed:
    """Make the stored rows within ``scope`` exactly ``wanted``: delete the stale ones, insert or update
    the ones that changed, leave the others untouched."""
    with transaction.atomic():
        _lock()
        moved_needs = set(Need.objects.filter(updated_at__gt=started).values_list("pk", flat=True))
        moved_offers = set(Offer.objects.filter(updated_at__gt=started).values_list("pk", flat=True))

        def settled(need_id, offer_id) -> bool:
            return need_id not in moved_needs and offer_id not in moved_offers

        existing = {
            (need_id, offer_id): (pk, (score, tag_score, text_score, reasons))
            for pk, need_id, offer_id, score, tag_score, text_score, reasons in Match.objects.filter(
                scope
            ).values_list("pk", "need_id", "offer_id", "score", "tag_score", "text_score", "reasons")
        }
        target = {
            (s.need_id, s.offer_id): (s.score, s.tag_score, s.text_score, s.reasons)
            for s in wanted
            if settled(s.need_id, s.offer_id)
        }
        stale = sorted(pk for key, (pk, _v) in existing.items() if key not in target and settled(*key))
        now = timezone.now()
        changed = [
            Match(
                need_id=need_id,
                offer_id=offer_id,
                score=values[0],
                tag_score=values[1],
                text_score=values[2],
                reasons=values[3],
                computed_at=now,
            )
            for (need_id, offer_id), values in sorted(target.items())
            if (need_id, offer_id) not in existing or existing[(need_id, offer_id)][1] != values
        ]
        for start in range(0, len(stale), CHUNK):
            Match.objects.filter(pk__in=stale[start : start + CHUNK]).delete()
        Match.objects.bulk_create(
            changed,
            batch_size=CHUNK,
            update_conflicts=True,
            unique_fields=["need", "offer"],
            update_fields=["score", "tag_score", "text_score", "reasons", "computed_at"],
        )
    return Refreshed(written=len(changed), deleted=len(stale))
