"""Matchmaking between needs and offers: pure functions over plain records (``Profile``), no database.
``livinglab.b2b.services.matching`` reads the listings, calls these functions and stores the result.

The score of a need–offer pair, each part between 0 and 1 and each kept on the ``Suggestion``:

    technology = Jaccard overlap of the two listings' technology tags   (shared ÷ either)
    sector     = Jaccard overlap of their sector tags
    text       = cosine similarity of the TF-IDF vectors of their full texts (title, summary, description)

    tag_score  = (2 × technology + sector) ÷ 3
    score      = 0.6 × tag_score + 0.4 × text        (= 0.4 technology + 0.2 sector + 0.4 text)

Tags weigh most because firms choose them on purpose from the cluster's shared list; a technology says
what can be done, a sector only where, so technologies count twice. Text catches what the tags miss (a
need and an offer using the same words without the same tags), but ordinary texts rarely reach a cosine
above 0.5, so it cannot outrank a good tag match on its own.

Each suggestion says why: the sectors and technologies both listings carry, and the words both use that
weigh most in the score. Those words are taken only from what both firms show every member, the teaser
(title and summary): the score may use a confidential description, the reasons never quote one.

Pairs from the same organisation are never suggested. Order is deterministic: best score first (scores
rounded to four decimals), ties by id.

The full table is computed in blocks of needs, so that memory stays bounded however many listings there
are: each block's scores are dense arrays of block × offers cells.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field

import numpy as np
from django.utils.translation import gettext_lazy as _
from scipy import sparse
from sklearn.feature_extraction.text import TfidfVectorizer

TECHNOLOGY_WEIGHT = 0.4
SECTOR_WEIGHT = 0.2
TEXT_WEIGHT = 0.4
# Scores are rounded so that equal pairs compare equal whatever the order of floating-point sums.
DECIMALS = 4
# Shared words named in a reason.
REASON_TERMS = 5
# Words of two letters or more, without digits: figures (“40,000”, “92 %”) are never a reason.
WORD_PATTERN = r"(?u)\b[^\W\d_]{2,}\b"
# About this many cells (needs × offers) are scored at once; 1,000,000 cells are 8 MB per array.
BLOCK_CELLS = 1_000_000

# Plain-language strength of a score, from the strongest; a pair gets the first label whose floor it reaches.
STRENGTHS = (
    (0.6, _("Strong match")),
    (0.35, _("Good match")),
    (0.0, _("Possible match")),
)


def strength(score: float) -> str:
    """“Strong match”, “Good match” or “Possible match”: 0.6 is what the same technologies alone give."""
    for floor, label in STRENGTHS:
        if score >= floor:
            return label
    return STRENGTHS[-1][1]


@dataclass(frozen=True, slots=True)
class Profile:
    """What the matcher knows of a need or an offer. ``teaser`` is what every member firm may read
    (title and summary); ``text`` is everything compared, confidential parts included."""

    pk: int
    organisation_id: int
    teaser: str
    text: str
    sectors: frozenset[int] = field(default_factory=frozenset)
    technologies: frozenset[int] = field(default_factory=frozenset)


@dataclass(frozen=True, slots=True)
class Suggestion:
    """One suggested pair, its score, each part of it, and the reasons."""

    need_id: int
    offer_id: int
    score: float
    technology_score: float
    sector_score: float
    text_score: float
    sectors: tuple[int, ...] = ()
    technologies: tuple[int, ...] = ()
    terms: tuple[str, ...] = ()

    @property
    def tag_score(self) -> float:
        return round((2 * self.technology_score + self.sector_score) / 3, DECIMALS)

    @property
    def reasons(self) -> dict:
        """As stored on ``Match.reasons``: tag ids and shared teaser words."""
        return {
            "sectors": list(self.sectors),
            "technologies": list(self.technologies),
            "terms": list(self.terms),
        }


def combine(technology, sector, text):
    """The score from its parts (numbers or numpy arrays), rounded."""
    return np.round(TECHNOLOGY_WEIGHT * technology + SECTOR_WEIGHT * sector + TEXT_WEIGHT * text, DECIMALS)


@dataclass
class _Parts:
    """Dense parts of a block of pairs (rows × columns); excluded pairs score -1."""

    technology: np.ndarray
    sector: np.ndarray
    text: np.ndarray
    score: np.ndarray


def _binary(sets: Sequence[frozenset[int]], columns: dict[int, int]) -> sparse.csr_matrix:
    rows, cols = [], []
    for row, tags in enumerate(sets):
        for tag in tags:
            rows.append(row)
            cols.append(columns[tag])
    data = np.ones(len(rows), dtype=np.float64)
    return sparse.csr_matrix((data, (rows, cols)), shape=(len(sets), max(len(columns), 1)))


def _jaccard(left: sparse.csr_matrix, right_t: sparse.csc_matrix, left_sizes, right_sizes) -> np.ndarray:
    """Jaccard overlap of every left row with every right row: the intersections come from one sparse
    product of binary matrices, the unions from the set sizes; pairs sharing nothing stay 0."""
    shared = (left @ right_t).tocoo()
    overlap = np.zeros(shared.shape)
    if shared.nnz:
        rows, cols, both = shared.row, shared.col, shared.data
        overlap[rows, cols] = both / (left_sizes[rows] + right_sizes[cols] - both)
    return overlap


def _top_k(values: np.ndarray, k: int) -> np.ndarray:
    """Mask of the ``k`` largest values of each row; among equal values the earlier columns win."""
    columns = values.shape[1]
    if columns <= k:
        return np.ones(values.shape, dtype=bool)
    kth = -np.partition(-values, k - 1, axis=1)[:, k - 1]
    above = values > kth[:, None]
    tied = values == kth[:, None]
    room = k - above.sum(axis=1)
    return above | (tied & (np.cumsum(tied, axis=1) <= room[:, None]))


class Matcher:
    """Scores needs against offers. Build it once from every listing that can be matched (the TF-IDF
    weights depend on that whole corpus), then rank one listing's counterparts or compute the table."""

    def __init__(self, needs: Iterable[Profile], offers: Iterable[Profile]):
        self.needs = sorted(needs, key=lambda p: p.pk)
        self.offers = sorted(offers, key=lambda p: p.pk)
        self.need_index = {p.pk: i for i, p in enumerate(self.needs)}
        self.offer_index = {p.pk: i for i, p in enumerate(self.offers)}
        self.need_ids = np.array([p.pk for p in self.needs], dtype=np.int64)
        self.offer_ids = np.array([p.pk for p in self.offers], dtype=np.int64)
        self.need_orgs = np.array([p.organisation_id for p in self.needs], dtype=np.int64)
        self.offer_orgs = np.array([p.organisation_id for p in self.offers], dtype=np.int64)

        self.vectorizer = TfidfVectorizer(
            sublinear_tf=True, stop_words="english", strip_accents="unicode", token_pattern=WORD_PATTERN
        )
        texts = [p.text for p in self.needs] + [p.text for p in self.offers]
        try:
            vectors = self.vectorizer.fit_transform(texts).tocsr()
        except ValueError:  # no documents, or not a single word that is not a stop word
            vectors = sparse.csr_matrix((len(texts), 1), dtype=np.float64)
            self.vectorizer = None
        self.need_vectors = vectors[: len(self.needs)]
        self.offer_vectors = vectors[len(self.needs) :]

        tags = sorted({t for p in (*self.needs, *self.offers) for t in (*p.sectors, *p.technologies)})
        columns = {tag: i for i, tag in enumerate(tags)}
        self.need_sectors = _binary([p.sectors for p in self.needs], columns)
        self.need_technologies = _binary([p.technologies for p in self.needs], columns)
        self.offer_sectors = _binary([p.sectors for p in self.offers], columns)
        self.offer_technologies = _binary([p.technologies for p in self.offers], columns)
        self.sizes = {
            name: np.array([len(getattr(p, tags)) for p in profiles], dtype=np.float64)
            for name, profiles, tags in (
                ("need_sectors", self.needs, "sectors"),
                ("need_technologies", self.needs, "technologies"),
                ("offer_sectors", self.offers, "sectors"),
                ("offer_technologies", self.offers, "technologies"),
            )
        }
        self._analyse = self.vectorizer.build_analyzer() if self.vectorizer is not None else None
        self._teaser_words: dict[tuple[str, int], frozenset[int]] = {}
        self._names = self.vectorizer.get_feature_names_out().tolist() if self.vectorizer is not None else []
        self._row_weights: dict[tuple[str, int], dict[int, float]] = {}

    # ------------------------------------------------------------------------------------------ scoring

    def _parts(self, need_rows, offer_rows) -> _Parts:
        """Every part of the score for needs ``need_rows`` × offers ``offer_rows`` (slices or index
        arrays), with pairs of the same organisation at -1."""

        sizes = self.sizes
        technology = _jaccard(
            self.need_technologies[need_rows],
            self.offer_technologies[offer_rows].T.tocsc(),
            sizes["need_technologies"][need_rows],
            sizes["offer_technologies"][offer_rows],
        )
        sector = _jaccard(
            self.need_sectors[need_rows],
            self.offer_sectors[offer_rows].T.tocsc(),
            sizes["need_sectors"][need_rows],
            sizes["offer_sectors"][offer_rows],
        )
        text = (self.need_vectors[need_rows] @ self.offer_vectors[offer_rows].T).toarray()
        # Rounded once here, so that every path (one row, one column, the table) stores the same figures.
        technology = np.round(technology, DECIMALS)
        sector = np.round(sector, DECIMALS)
        text = np.round(np.clip(text, 0.0, 1.0), DECIMALS)
        score = combine(technology, sector, text)
        same = self.need_orgs[need_rows][:, None] == self.offer_orgs[offer_rows][None, :]
        score[same] = -1.0
        return _Parts(technology, sector, text, score)

    def _suggestion(self, need: int, offer: int, technology, sector, text, score) -> Suggestion:
        """The suggestion of needs[need] × offers[offer] (positions) with its parts and reasons."""
        n, o = self.needs[need], self.offers[offer]
        return Suggestion(
            need_id=n.pk,
            offer_id=o.pk,
            score=float(score),
            technology_score=float(technology),
            sector_score=float(sector),
            text_score=float(text),
            sectors=tuple(sorted(n.sectors & o.sectors)),
            technologies=tuple(sorted(n.technologies & o.technologies)),
            terms=self.shared_terms(need, offer),
        )

    @staticmethod
    def _at(parts: _Parts, r, c) -> tuple:
        return parts.technology[r, c], parts.sector[r, c], parts.text[r, c], parts.score[r, c]

    def shared_terms(self, need: int, offer: int, limit: int = REASON_TERMS) -> tuple[str, ...]:
        """Words in both teasers (never the confidential text), the ones weighing most in the score first.
        ``need`` and ``offer`` are positions in ``self.needs`` and ``self.offers``."""
        if self.vectorizer is None:
            return ()
        columns = self._teaser_columns("need", need) & self._teaser_columns("offer", offer)
        if not columns:
            return ()
        need_weight, offer_weight = self._weights("need", need), self._weights("offer", offer)
        names = self._names
        ranked = sorted(
            columns, key=lambda c: (-need_weight.get(c, 0.0) * offer_weight.get(c, 0.0), names[c])
        )
        return tuple(names[c] for c in ranked[:limit])

    def _weights(self, side: str, position: int) -> dict[int, float]:
        """TF-IDF weight of each word column of one listing (read from the CSR arrays: slicing a row of a
        sparse matrix costs far more)."""
        key = (side, position)
        weights = self._row_weights.get(key)
        if weights is None:
            matrix = self.need_vectors if side == "need" else self.offer_vectors
            start, end = matrix.indptr[position], matrix.indptr[position + 1]
            weights = dict(
                zip(matrix.indices[start:end].tolist(), matrix.data[start:end].tolist(), strict=True)
            )
            self._row_weights[key] = weights
        return weights

    def _teaser_columns(self, side: str, position: int) -> frozenset[int]:
        """The word columns of one listing's teaser."""
        key = (side, position)
        columns = self._teaser_words.get(key)
        if columns is None:
            profile = (self.needs if side == "need" else self.offers)[position]
            vocabulary = self.vectorizer.vocabulary_
            words = self._analyse(profile.teaser)
            columns = frozenset(vocabulary[w] for w in words if w in vocabulary)
            self._teaser_words[key] = columns
        return columns

    # ------------------------------------------------------------------------------------------ ranking

    def offers_for(self, need_id: int, *, limit: int | None = None, min_score: float = 0.0):
        """Offers for need ``need_id``, best first, excluding its own organisation's."""
        row = self.need_index[need_id]
        parts = self._parts(slice(row, row + 1), slice(None))
        order = np.lexsort((self.offer_ids, -parts.score[0]))
        found = []
        for column in order:
            if parts.score[0, column] < min_score or parts.score[0, column] < 0:
                break
            found.append(self._suggestion(row, column, *self._at(parts, 0, column)))
            if limit is not None and len(found) >= limit:
                break
        return found

    def needs_for(self, offer_id: int, *, limit: int | None = None, min_score: float = 0.0):
        """Needs for offer ``offer_id``, best first, excluding its own organisation's."""
        column = self.offer_index[offer_id]
        parts = self._parts(slice(None), slice(column, column + 1))
        order = np.lexsort((self.need_ids, -parts.score[:, 0]))
        found = []
        for row in order:
            if parts.score[row, 0] < min_score or parts.score[row, 0] < 0:
                break
            found.append(self._suggestion(row, column, *self._at(parts, row, 0)))
            if limit is not None and len(found) >= limit:
                break
        return found

    def table(self, *, per_need: int, per_offer: int, min_score: float) -> list[Suggestion]:
        """The suggestions worth keeping: each need's ``per_need`` best offers and each offer's
        ``per_offer`` best needs, scoring at least ``min_score``; best first, ties by need and offer id."""
        n_needs, n_offers = len(self.needs), len(self.offers)
        if not n_needs or not n_offers:
            return []
        floor = max(min_score, 0.0)  # excluded pairs score -1
        # The parts (technology, sector, text, score) of every pair that was among someone's best when
        # its block was scored, by (need position, offer position).
        found: dict[tuple[int, int], tuple] = {}
        chosen: set[tuple[int, int]] = set()
        # Each offer's best needs so far (offers × per_offer), sorted by score, then need position.
        best_score = np.full((n_offers, per_offer), -np.inf)
        best_need = np.full((n_offers, per_offer), n_needs, dtype=np.int64)
        step = max(1, BLOCK_CELLS // n_offers)
        for start in range(0, n_needs, step):
            stop = min(start + step, n_needs)
            parts = self._parts(slice(start, stop), slice(None))
            # Each need of the block: its best offers (earlier columns, that is lower ids, win ties).
            rows, cols = np.nonzero(_top_k(parts.score, per_need) & (parts.score >= floor))
            self._remember(found, parts, rows + start, cols, rows, cols)
            chosen.update(zip((rows + start).tolist(), cols.tolist(), strict=True))
            # Each offer: merge the block's needs into its best so far. The block's needs come after
            # every need seen before, so among equal scores the earlier columns are the lower ids.
            merged_score = np.concatenate([best_score, parts.score.T], axis=1)
            merged_need = np.concatenate(
                [best_need, np.broadcast_to(np.arange(start, stop), (n_offers, stop - start))], axis=1
            )
            mask = _top_k(merged_score, per_offer)
            kept_score = merged_score[mask].reshape(n_offers, per_offer)
            kept_need = merged_need[mask].reshape(n_offers, per_offer)
            order = np.lexsort((kept_need, -kept_score), axis=1)
            best_score = np.take_along_axis(kept_score, order, axis=1)
            best_need = np.take_along_axis(kept_need, order, axis=1)
            offers, slots = np.nonzero((best_need >= start) & (best_need < stop) & (best_score >= floor))
            needs = best_need[offers, slots]
            self._remember(found, parts, needs, offers, needs - start, offers)
        offers, slots = np.nonzero(best_score >= floor)
        chosen.update(zip(best_need[offers, slots].tolist(), offers.tolist(), strict=True))
        suggestions = [self._suggestion(need, offer, *found[(need, offer)]) for need, offer in chosen]
        return sorted(suggestions, key=lambda s: (-s.score, s.need_id, s.offer_id))

    @staticmethod
    def _remember(found: dict, parts: _Parts, needs, offers, rows, cols) -> None:
        """Keep the parts of pairs (needs[i], offers[i]) read at parts[rows[i], cols[i]]."""
        values = zip(
            needs.tolist(),
            offers.tolist(),
            parts.technology[rows, cols].tolist(),
            parts.sector[rows, cols].tolist(),
            parts.text[rows, cols].tolist(),
            parts.score[rows, cols].tolist(),
            strict=True,
        )
        for need, offer, *numbers in values:
            found.setdefault((need, offer), tuple(numbers))


def rank_offers(need: Profile, offers: Iterable[Profile], *, limit=None, min_score=0.0) -> list[Suggestion]:
    """``offers`` for ``need``, best first (the TF-IDF corpus is the need and these offers)."""
    return Matcher([need], offers).offers_for(need.pk, limit=limit, min_score=min_score)


def rank_needs(offer: Profile, needs: Iterable[Profile], *, limit=None, min_score=0.0) -> list[Suggestion]:
    """``needs`` for ``offer``, best first (the TF-IDF corpus is the offer and these needs)."""
    return Matcher(needs, [offer]).needs_for(offer.pk, limit=limit, min_score=min_score)


def match_table(
    needs: Iterable[Profile], offers: Iterable[Profile], *, per_need: int, per_offer: int, min_score: float
) -> list[Suggestion]:
    """The suggestions worth keeping between ``needs`` and ``offers`` (see ``Matcher.table``)."""
    return Matcher(needs, offers).table(per_need=per_need, per_offer=per_offer, min_score=min_score)
