"""Seeded, reproducible draws from a panel, with quotas, one-per-household and fair-contact overrides.

How people are chosen: every member gets a ranking key that depends only on the draw's seed and the
member's id (a 32-bit integer hash computed in SQL, identical on SQLite and PostgreSQL). Within each quota
cell members are taken in key order: first each cell's minimum, then the remaining places go to the lowest
keys among all cells that are below their maximum. With one-per-household, only the lowest key of each
household takes part. Anybody can recompute a key from the seed and the id, so the choice can be shown.

The database does the ranking: Python only ever sees the first few candidates of each cell.
"""

import hashlib
from collections import defaultdict
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.db.models import Count, F
from django.utils import timezone
from django.utils.translation import gettext as _

from livinglab import audit
from livinglab.models import User

from ..errors import PanelError, ScreenerError
from ..models import ContactOverride, Draw, DrawSelection, Panel, PanelMembership, participant_code
from ..models.draws import new_seed
from ..screening import (
    Attribute,
    attributes_of,
    cell_label,
    condition_problems,
    quota_problems,
    sampling_frame,
)

# A 32-bit mixing hash (multiply, xor-shift), written for 64-bit SQL integers without overflow.
KEY_STEPS = [
    "(mid * 2654435761 + %s) %% 4294967296",
    "((k | (k >> 16)) - (k & (k >> 16))) * 73244475 %% 4294967296",
    "((k | (k >> 16)) - (k & (k >> 16))) * 73244475 %% 4294967296",
    "(k | (k >> 16)) - (k & (k >> 16))",
]
# Each step reads k four times: folded into one expression, the first step would be computed 64 times per
# member. An empty OFFSET keeps each step a query of its own, computed once per member (same result).
KEY_FENCE = {"postgresql": "OFFSET 0", "sqlite": "LIMIT -1 OFFSET 0"}


def ranking_key(seed: int, membership_id: int) -> int:
    """The same key in Python, to explain (and test) a draw."""
    k = (membership_id * 2654435761 + seed) % 4294967296
    for _step in range(2):
        k = ((k ^ (k >> 16)) * 73244475) % 4294967296
    return k ^ (k >> 16)


@dataclass
class Cell:
    values: dict
    label: str
    minimum: int
    maximum: int | None
    eligible: int = 0

    @property
    def short(self) -> int:
        return max(self.minimum - self.eligible, 0)


@dataclass
class Feasibility:
    """What a draw would find, before drawing: eligible members per cell, and every problem in words."""

    problems: list = field(default_factory=list)
    eligible: int = 0
    cells: list = field(default_factory=list)

    @property
    def shortfalls(self) -> list[str]:
        return [
            _("%(cell)s: needs at least %(min)s, only %(n)s eligible.")
            % {"cell": c.label, "min": c.minimum, "n": c.eligible}
            for c in self.cells
            if c.short
        ]

    @property
    def can_draw(self) -> bool:
        return not self.problems and not self.shortfalls


@dataclass
class Spec:
    """The what of a draw; the same spec and seed give the same people."""

    conditions: dict
    strata: list
    quotas: list
    size: int
    purposes: list
    one_per_household: bool = False


def _cells(spec: Spec, attributes: dict[str, Attribute]) -> list[Cell]:
    if not spec.quotas:
        return [Cell({}, _("Everyone eligible"), 0, spec.size)]
    return [
        Cell(q["cell"], cell_label(q["cell"], attributes), q.get("min", 0), q.get("max")) for q in spec.quotas
    ]


def _problems(panel: Panel, spec: Spec, attributes) -> list[str]:
    problems = condition_problems(spec.conditions, panel, attributes)
    if spec.size < 1:
        problems.append(_("Draw at least one person."))
    if not spec.purposes:
        problems.append(_("Choose the consent purposes the study needs."))
    return problems + quota_problems(spec.strata, spec.quotas, spec.size, attributes)


def _key(cell_values: dict, strata: list) -> tuple:
    return tuple(cell_values.get(code, "") for code in strata)


def _frame(panel: Panel, spec: Spec, attributes, *, now=None, draw=None):
    return sampling_frame(
        panel,
        conditions=spec.conditions,
        strata=spec.strata,
        quotas=spec.quotas,
        purposes=spec.purposes,
        attributes=attributes,
        now=now,
        draw=draw,
    )


def preview_draw(panel: Panel, spec: Spec) -> Feasibility:
    """How many members each quota cell could draw from right now (one GROUP BY query)."""
    attributes = attributes_of(panel)
    problems = _problems(panel, spec, attributes)
    if problems:
        return Feasibility(problems=problems)
    frame = _frame(panel, spec, attributes)
    cells = _cells(spec, attributes)
    columns = [f"s{i}" for i in range(len(spec.strata))]
    if columns:
        counts = {
            tuple(row[c] or "" for c in columns): row["n"]
            for row in frame.queryset.filter(frame.cells_q)
            .values(*columns)
            .annotate(n=Count("pk"))
            .order_by()
        }
        for cell in cells:
            cell.eligible = counts.get(_key(cell.values, spec.strata), 0)
        eligible = sum(counts.values())
    else:
        eligible = cells[0].eligible = frame.queryset.count()
    feasibility = Feasibility(eligible=eligible, cells=cells)
    if eligible < spec.size:
        feasibility.problems.append(
            _("Only %(n)s members are eligible: fewer than the %(size)s to draw.")
            % {"n": eligible, "size": spec.size}
        )
    return feasibility


def _candidates(panel: Panel, spec: Spec, seed: int, attributes, *, now=None, draw=None) -> list[tuple]:
    """(membership id, cell values, key, rank in cell) of the first candidates of every cell, in key order."""
    frame = _frame(panel, spec, attributes, now=now, draw=draw)
    columns = [f"s{i}" for i in range(len(spec.strata))]
    queryset = frame.queryset.filter(frame.cells_q) if spec.quotas else frame.queryset
    # Without the model's default ordering: the ranking orders by key, and a sort of the whole frame by
    # join date would cost as much as the ranking itself.
    queryset = (
        queryset.annotate(mid=F("pk"), hh=F("person__profile__household_key"))
        .values("mid", *columns, "hh")
        .order_by()
    )
    inner, params = queryset.query.sql_with_params()
    caps = [c.maximum if c.maximum is not None else spec.size for c in _cells(spec, attributes)]
    sql = ranking_sql(inner, columns, spec.one_per_household)
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, seed, min(max(caps), spec.size)])
        rows = cursor.fetchall()
    return [
        (row[0], dict(zip(spec.strata, (v or "" for v in row[1:-2]), strict=True)), row[-2], row[-1])
        for row in rows
    ]


def ranking_sql(inner: str, columns: list[str], one_per_household: bool) -> str:
    """The ranking query around the sampling frame's SQL. Only fixed names go into the text (the stratum
    columns are ``s0``…``s2``); every value is a parameter."""
    carried = ", ".join(["mid", *columns, "hh"])
    fence = KEY_FENCE.get(connection.vendor, "")
    steps = [f"k0 AS (SELECT {carried}, {KEY_STEPS[0]} AS k FROM e {fence})"]  # noqa: S608
    for i, step in enumerate(KEY_STEPS[1:], start=1):
        steps.append(f"k{i} AS (SELECT {carried}, {step} AS k FROM k{i - 1} {fence})")  # noqa: S608
    last = f"k{len(KEY_STEPS) - 1}"
    if one_per_household:  # people without a household reference are a household of their own
        household_rank = (
            "ROW_NUMBER() OVER (PARTITION BY CASE WHEN COALESCE(hh, '') = '' "
            "THEN 'm' || CAST(mid AS VARCHAR(20)) ELSE hh END ORDER BY k, mid)"
        )
    else:
        household_rank = "1"
    partition = f"PARTITION BY {', '.join(columns)} " if columns else ""
    out = ", ".join(["mid", *columns, "k"])
    return (
        f"WITH e AS ({inner}), {', '.join(steps)}, "  # noqa: S608
        f"h AS (SELECT {carried}, k, {household_rank} AS hr FROM {last}), "
        f"c AS (SELECT {out}, ROW_NUMBER() OVER ({partition}ORDER BY k, mid) AS cr FROM h WHERE hr = 1) "
        f"SELECT {out}, cr FROM c WHERE cr <= %s ORDER BY k, mid"
    )


def _allocate(spec: Spec, candidates: list[tuple], attributes) -> list[tuple]:
    """Fill each cell's minimum, then the remaining places by key across cells below their maximum."""
    cells = {_key(c.values, spec.strata): c for c in _cells(spec, attributes)}
    by_cell = defaultdict(list)
    for candidate in candidates:  # already in key order
        by_cell[_key(candidate[1], spec.strata)].append(candidate)
    shortfalls = []
    chosen, rest = [], []
    for key, cell in cells.items():
        pool = by_cell.get(key, [])
        cell.eligible = len(pool)
        if len(pool) < cell.minimum:
            shortfalls.append(
                _("%(cell)s: needs at least %(min)s, only %(n)s can be drawn.")
                % {"cell": cell.label, "min": cell.minimum, "n": len(pool)}
            )
        chosen.extend(pool[: cell.minimum])
        cap = cell.maximum if cell.maximum is not None else spec.size
        rest.extend(pool[cell.minimum : cap])
    if shortfalls:
        raise ScreenerError(_("The quotas cannot be met."), shortfalls)
    rest.sort(key=lambda c: (c[2], c[0]))
    chosen.extend(rest[: spec.size - len(chosen)])
    if len(chosen) < spec.size:
        raise ScreenerError(
            _("Only %(n)s people can be drawn with these conditions and quotas, not %(size)s.")
            % {"n": len(chosen), "size": spec.size},
            [],
        )
    chosen.sort(key=lambda c: (c[2], c[0]))
    return chosen


def result_fingerprint(seed: int, membership_ids: list[int]) -> str:
    return hashlib.sha256(f"{seed}:{','.join(map(str, membership_ids))}".encode()).hexdigest()


def draw_sample(
    panel: Panel,
    spec: Spec,
    *,
    title: str,
    involves: str,
    acting_user: User,
    seed: int | None = None,
    requested_by=None,
    screener=None,
    respond_within_days: int = 10,
) -> Draw:
    """Draw ``spec.size`` members at random but reproducibly; refuse with every reason when the screener or
    the quotas cannot be met."""
    attributes = attributes_of(panel)
    problems = _problems(panel, spec, attributes)
    if problems:
        raise ScreenerError(_("The draw cannot be made as it stands."), problems)
    seed = new_seed() if seed is None else int(seed)
    now = timezone.now()
    chosen = _allocate(spec, _candidates(panel, spec, seed, attributes, now=now), attributes)
    ids = [c[0] for c in chosen]
    with transaction.atomic():
        draw = Draw.objects.create(
            panel=panel,
            screener=screener,
            title=title,
            involves=involves,
            requested_by=requested_by,
            conditions=spec.conditions,
            strata=spec.strata,
            quotas=spec.quotas,
            size=spec.size,
            seed=seed,
            one_per_household=spec.one_per_household,
            respond_within_days=respond_within_days,
            eligible_count=len(ids),
            result_sha256=result_fingerprint(seed, ids),
            drawn_by=acting_user,
            drawn_at=now,
        )
        draw.required_purposes.set(spec.purposes)
        overridden = set(
            ContactOverride.objects.filter(membership_id__in=ids, used_by__isnull=True).values_list(
                "membership_id", flat=True
            )
        )
        codes = set()
        selections = []
        for rank, (mid, cell, _k, _r) in enumerate(chosen, start=1):
            code = participant_code()
            while code in codes:
                code = participant_code()
            codes.add(code)
            selections.append(
                DrawSelection(
                    draw=draw,
                    membership_id=mid,
                    rank=rank,
                    cell=cell,
                    code=code,
                    overridden=mid in overridden,
                )
            )
        DrawSelection.objects.bulk_create(selections)
        ContactOverride.objects.filter(membership_id__in=overridden, used_by__isnull=True).update(
            used_by=draw
        )
        audit.record(
            "pilots.draw.create",
            actor=acting_user,
            obj=draw,
            organisation=panel.owner,
            data={
                "seed": seed,
                "size": spec.size,
                "result_sha256": draw.result_sha256,
                "overrides": len(overridden),
            },
        )
    return draw


def spec_of(draw: Draw) -> Spec:
    return Spec(
        conditions=draw.conditions,
        strata=draw.strata,
        quotas=draw.quotas,
        size=draw.size,
        purposes=list(draw.required_purposes.all()),
        one_per_household=draw.one_per_household,
    )


def replay_draw(draw: Draw) -> list[int]:
    """The members the stored seed and spec choose from the panel as it was at the draw (consents and
    contacts then; members' statuses and profiles as they are now), in rank order."""
    attributes = attributes_of(draw.panel)
    try:
        candidates = _candidates(
            draw.panel, spec_of(draw), draw.seed, attributes, now=draw.drawn_at, draw=draw
        )
        return [c[0] for c in _allocate(spec_of(draw), candidates, attributes)]
    except ScreenerError:
        return []


@transaction.atomic
def cancel_draw(draw: Draw, *, acting_user: User) -> Draw:
    """Cancel a draw whose invitations have not gone out; its overrides become available again."""
    cancellable = [old for old, new in Draw.TRANSITIONS.items() if Draw.Status.CANCELLED in new]
    cancelled = Draw.objects.filter(pk=draw.pk, status__in=cancellable).update(status=Draw.Status.CANCELLED)
    if not cancelled:
        raise PanelError(_("Only a draw whose invitations have not been sent can be cancelled."))
    ContactOverride.objects.filter(used_by=draw).update(used_by=None)
    audit.record("pilots.draw.cancel", actor=acting_user, obj=draw, organisation=draw.panel.owner)
    draw.refresh_from_db()
    return draw


@transaction.atomic
def grant_override(membership: PanelMembership, *, reason: str, acting_user: User) -> ContactOverride:
    """Let the next draw consider a member the fair-contact limits protect. Never their own choices:
    paused, left, do-not-contact or blocklisted members stay out, and consent is always required."""
    if not reason.strip():
        raise PanelError(_("Give the reason for the exception: it goes to the audit trail."))
    if membership.status != PanelMembership.Status.ACTIVE:
        raise PanelError(
            _("Only active members can be considered; this member is “%(status)s”.")
            % {"status": membership.get_status_display()}
        )
    override = ContactOverride.objects.create(
        membership=membership, reason=reason.strip(), granted_by=acting_user
    )
    audit.record(
        "pilots.override.grant",
        actor=acting_user,
        obj=override,
        organisation=membership.panel.owner,
        data={"membership": membership.pk, "reason": reason.strip()},
    )
    return override
