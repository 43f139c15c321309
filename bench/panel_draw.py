"""The feasibility preview and the draw of a panel, timed against one hand-written COUNT(*) (the floor).

    uv run python bench/panel_draw.py                      # 100,000 participants, SQLite under var/bench/
    uv run python bench/panel_draw.py --postgres --participants 1000000    # a throwaway PostgreSQL
    uv run python bench/panel_draw.py --postgres postgres://user@127.0.0.1:5432/bench_db    # your server
    uv run python bench/panel_draw.py --reuse              # measure again on the previous SQLite file

Builds a panel of ``--participants`` people with ``bench/panel_world.py`` (bulk SQL, seeded), then measures,
``--runs`` times each after one untimed warm-up:

- the floor: one raw ``COUNT(*)`` with the same joins and filters as the sampling frame (active members,
  the four screener conditions, the quota cells' regions, the consent ``EXISTS``, the fair-contact
  exclusions and the overrides), written by hand;
- ``preview_draw``: the feasibility of the screener with its 12 quota cells (age band × region);
- the ranking query alone (the SQL ``draw_sample`` runs to rank the candidates of every cell);
- ``draw_sample`` of 200 people, whole: validation, ranking, allocation, the draw and its selections, the
  audit entry (a fresh seed each run; the draw is deleted afterwards).

Prints medians, 95th percentiles, the draw / floor ratio, the memory of one draw (Python's tracemalloc peak
and the resident set before, after and at its peak during the draw), and the query plans (EXPLAIN ANALYZE
on PostgreSQL, EXPLAIN QUERY PLAN on SQLite; whole plans in var/bench/panel_draw-*.txt). It also checks
that the preview counts as many eligible members as the floor, and that a draw replays from its seed.

Reading the figures: the floor already pays for the joins, the consent check and the fair-contact counts;
what the draw adds is handing every eligible member to one process, computing its key and sorting by cell
and key. The memory of a draw does not grow with the panel: Python only sees the first candidates of each
cell. ``--pg-set jit=off`` (or ``work_mem=32MB``) measures the same with other PostgreSQL settings; the
throwaway server runs with PostgreSQL's defaults (and fsync off). Medians move with other work on the
machine: the script prints the load average, compare runs made under the same load.
"""

import argparse
import os
import re
import statistics
import sys
import time
import tracemalloc
import warnings
from pathlib import Path

from support import percentile, reset_peak_rss, resident_kb, throwaway_postgres

BENCH_DIR = Path(__file__).resolve().parent
BASE_DIR = BENCH_DIR.parent
OUT_DIR = BASE_DIR / "var" / "bench"
SQLITE_FILE = OUT_DIR / "panel_draw.sqlite3"
THROWAWAY = "throwaway"

SIZE = 200
BANDS = ["35-44", "45-54", "55-64", "65-74"]
CELL_REGIONS = ["Bretagne", "Pays de la Loire", "Uusimaa"]
LANGUAGES = ["fr", "fi"]
SKILLS = ["basic", "everyday", "advanced"]
DEVICES = ["smartphone", "tablet"]
AGE_RANGE = (35, 74)
CONDITIONS = {
    "all": [
        {"attribute": "age", "operator": "between", "value": list(AGE_RANGE)},
        {"attribute": "languages", "operator": "any_of", "value": LANGUAGES},
        {"attribute": "digital_skills", "operator": "in", "value": SKILLS},
        {"attribute": "devices", "operator": "any_of", "value": DEVICES},
    ]
}
STRATA = ["age_band", "region"]
QUOTAS = [{"cell": {"age_band": b, "region": r}, "min": 10, "max": 30} for b in BANDS for r in CELL_REGIONS]


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--participants", type=int, default=100_000, help="panel size to generate (default 100,000)"
    )
    parser.add_argument(
        "--postgres",
        nargs="?",
        const=THROWAWAY,
        metavar="URL",
        help="PostgreSQL instead of SQLite: a throwaway server started for the run, or the (throwaway!) "
        "database at URL",
    )
    parser.add_argument("--runs", type=int, default=7, help="timed runs of each measurement (default 7)")
    parser.add_argument("--seed", type=int, default=2026, help="seed of the generated panel (default 2026)")
    parser.add_argument(
        "--reuse", action="store_true", help="measure again on the panel a previous run left in the database"
    )
    parser.add_argument("--explain", action="store_true", help="print the whole query plans")
    parser.add_argument(
        "--pg-set",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="a PostgreSQL setting for the measuring session, e.g. jit=off or work_mem=32MB (repeatable)",
    )
    args = parser.parse_args()
    if args.runs < 1:
        parser.error("--runs must be at least 1")
    if args.reuse and args.postgres == THROWAWAY:
        parser.error("a throwaway server starts empty: --reuse needs SQLite or --postgres URL")
    if args.pg_set and not args.postgres:
        parser.error("--pg-set is for PostgreSQL")
    for setting in args.pg_set:
        if not re.fullmatch(r"[a-z_]+=[A-Za-z0-9_.]+", setting):
            parser.error(f"--pg-set {setting!r}: expected NAME=VALUE, e.g. jit=off")
    return args


def configure(url: str | None, reuse: bool) -> str:
    """Point Django at the benchmark database; must run before django.setup()."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "livinglab.settings.dev"
    # DEBUG would keep every query in memory and skew the memory figures.
    os.environ["DEBUG"] = "false"
    if url:
        os.environ["DATABASE_URL"] = url
        label = "PostgreSQL"
    else:
        OUT_DIR.mkdir(parents=True, exist_ok=True)
        if not reuse:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{SQLITE_FILE}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{SQLITE_FILE}"
        label = f"SQLite ({SQLITE_FILE.relative_to(BASE_DIR)})"
    import django

    django.setup()
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT sqlite_version()" if connection.vendor == "sqlite" else "SHOW server_version")
        version = cursor.fetchone()[0]
    return f"{label} {version}"


# ----------------------------------------------------------------------------------------------- figures


def timed(label: str, work, runs: int, *, before=None, after=None) -> list[float]:
    """One untimed warm-up, then ``runs`` timed calls of ``work(run)``; milliseconds."""
    times = []
    for run in range(runs + 1):
        if before:
            before(run)
        started = time.perf_counter()
        result = work(run)
        elapsed = (time.perf_counter() - started) * 1000
        if after:
            after(result)
        if run:
            times.append(elapsed)
    print(
        f"  {label:<34} median {statistics.median(times):9.1f} ms   p95 {percentile(times, 0.95):9.1f} ms   "
        f"fastest {min(times):9.1f} ms"
    )
    return times


# ---------------------------------------------------------------------------------------------- the floor


def floor_sql(world, now, *, fair_contact: bool = True) -> tuple[str, list]:
    """The frame's conditions, written by hand as one COUNT(*): what any draw has to pay at least."""
    from django.conf import settings
    from django.db import connection
    from django.utils import timezone

    from livinglab.models import ConsentDocumentVersion
    from pilots.models import Panel
    from pilots.screening import years_before

    panel = Panel.objects.get(pk=world.panel_id)
    adapt = connection.ops.adapt_datetimefield_value if connection.vendor == "sqlite" else (lambda v: v)
    today = timezone.localdate(now)
    versions = list(
        ConsentDocumentVersion.objects.filter(document_id=panel.consent_document_id).values_list(
            "pk", flat=True
        )
    )
    since = now - timezone.timedelta(days=panel.period_days)
    resting = now - timezone.timedelta(days=panel.cooldown_days)
    cutoff = years_before(today, settings.AGE_OF_DIGITAL_CONSENT)
    cutoff = connection.ops.adapt_datefield_value(cutoff) if connection.vendor == "sqlite" else cutoff

    def marks(values):
        return ", ".join(["%s"] * len(values))

    sql = f"""
        SELECT COUNT(*)
        FROM pilots_panelmembership m
        JOIN livinglab_person p ON p.id = m.person_id
        JOIN pilots_participantprofile pr ON pr.person_id = m.person_id
        WHERE m.panel_id = %s AND m.status = 'active'
          AND pr.year_of_birth BETWEEN %s AND %s
          AND ({" OR ".join(["pr.languages LIKE %s"] * len(LANGUAGES))})
          AND pr.digital_skills IN ({marks(SKILLS)})
          AND ({" OR ".join(["pr.devices LIKE %s"] * len(DEVICES))})
          AND pr.region IN ({marks(CELL_REGIONS)})
          AND EXISTS (
            SELECT 1 FROM livinglab_consentrecord c
            WHERE c.person_id = m.person_id AND c.purpose_id = %s AND c.version_id IN ({marks(versions)})
              AND c.given_at <= %s AND (c.withdrawn_at IS NULL OR c.withdrawn_at > %s)
              AND (c.guardian_id IS NOT NULL OR NOT (
                (p.birth_date IS NOT NULL AND p.birth_date > %s)
                OR (p.birth_date IS NULL AND pr.year_of_birth > %s)))
          )"""  # noqa: S608 -- only placeholders are formatted in
    params = [
        world.panel_id,
        today.year - AGE_RANGE[1],
        today.year - AGE_RANGE[0],
        *[f"%|{v}|%" for v in LANGUAGES],
        *SKILLS,
        *[f"%|{v}|%" for v in DEVICES],
        *CELL_REGIONS,
        world.participation_purpose_id,
        *versions,
        adapt(now),
        adapt(now),
        cutoff,
        today.year - settings.AGE_OF_DIGITAL_CONSENT,
    ]
    if fair_contact:
        sql += """
          AND (
            (m.person_id NOT IN (
               SELECT person_id FROM pilots_invitation WHERE created_at >= %s AND created_at < %s
               GROUP BY person_id HAVING COUNT(*) >= %s)
             AND m.person_id NOT IN (
               SELECT person_id FROM pilots_participation
               WHERE outcome = 'took_part' AND occurred_at >= %s AND occurred_at < %s
               GROUP BY person_id HAVING COUNT(*) >= %s)
             AND m.person_id NOT IN (
               SELECT person_id FROM pilots_participation
               WHERE outcome = 'took_part' AND occurred_at >= %s AND occurred_at < %s))
            OR m.id IN (
               SELECT o.membership_id FROM pilots_contactoverride o
               WHERE o.used_by_id IS NULL AND o.granted_at <= %s))"""
        params += [
            adapt(since),
            adapt(now),
            panel.max_invitations,
            adapt(since),
            adapt(now),
            panel.max_participations,
            adapt(resting),
            adapt(now),
            adapt(now),
        ]
    return sql, params


def count(sql: str, params: list) -> int:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()[0]


# ------------------------------------------------------------------------------------------------- plans


def explain(sql: str, params: list | None = None) -> list[str]:
    from django.db import connection

    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
        else:
            cursor.execute("EXPLAIN QUERY PLAN " + sql, params)
        rows = cursor.fetchall()
    if connection.vendor == "postgresql":
        return [row[0] for row in rows]
    return [f"{row[1]:>4} {row[2]:>4}  {row[-1]}" for row in rows]


def ranking_query(world, spec) -> str:
    """The SQL text of the ranking query, as draw_sample sends it (parameters included)."""
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from pilots.models import Panel
    from pilots.screening import attributes_of
    from pilots.services import draws

    panel = Panel.objects.get(pk=world.panel_id)
    with CaptureQueriesContext(connection) as captured:
        draws._candidates(panel, spec, 12345, attributes_of(panel))
    return next(q["sql"] for q in reversed(captured.captured_queries) if q["sql"].lstrip().startswith("WITH"))


def plan_summary(lines: list[str]) -> list[str]:
    """The lines of a PostgreSQL plan worth a glance: the top node, scans, sorts, sub-plans, totals."""
    keep = ("Seq Scan", "Index", "Sort Method", "SubPlan", "Hash Join", "Nested Loop", "WindowAgg", "Time:")
    return [lines[0], *[line for line in lines[1:] if any(k in line for k in keep)]]


def write_plan(name: str, lines: list[str], vendor: str) -> Path:
    OUT_DIR.mkdir(parents=True, exist_ok=True)
    path = OUT_DIR / f"panel_draw-{name}-{vendor}.txt"
    path.write_text("\n".join(lines) + "\n")
    return path


# -------------------------------------------------------------------------------------------------- main


def measure(world, args) -> None:
    from django.db import connection
    from django.utils import timezone

    from livinglab.models import ConsentPurpose, User
    from pilots.models import Draw, Panel
    from pilots.screening import attributes_of
    from pilots.services import draws
    from pilots.services.draws import Spec, draw_sample, preview_draw, replay_draw

    vendor = connection.vendor

    if vendor == "postgresql":
        with connection.cursor() as cursor:
            for setting in args.pg_set:
                name, value = setting.split("=", 1)
                cursor.execute(f"SET {name} = %s", [value])
            shown = {}
            for name in ("jit", "work_mem", "shared_buffers", "max_parallel_workers_per_gather"):
                cursor.execute(f"SHOW {name}")
                shown[name] = cursor.fetchone()[0]
        print("settings: " + ", ".join(f"{k}={v}" for k, v in shown.items()))
    panel = Panel.objects.get(pk=world.panel_id)
    staff = User.objects.get(pk=world.staff_user_id)
    purpose = ConsentPurpose.objects.get(pk=world.participation_purpose_id)
    spec = Spec(conditions=CONDITIONS, strata=STRATA, quotas=QUOTAS, size=SIZE, purposes=[purpose])

    now = timezone.now()
    floor, floor_params = floor_sql(world, now)
    unprotected, unprotected_params = floor_sql(world, now, fair_contact=False)
    feasibility = preview_draw(panel, spec)
    if feasibility.problems or feasibility.shortfalls:
        sys.exit(f"the benchmark's screener cannot be drawn: {feasibility.problems + feasibility.shortfalls}")
    eligible, before_rules = count(floor, floor_params), count(unprotected, unprotected_params)
    members = panel.memberships.count()
    active = panel.memberships.filter(status="active").count()
    print(
        f"panel: {members:,} members, {active:,} active; the screener and the 12 cells' regions keep "
        f"{before_rules:,} consenting active members, the fair-contact rules protect "
        f"{before_rules - eligible:,} of them: {eligible:,} eligible"
    )
    agree = "the same" if eligible == feasibility.eligible else "DIFFERENT"
    print(
        f"preview_draw counts {feasibility.eligible:,} eligible in the 12 cells ({agree} as the floor), "
        f"{min(c.eligible for c in feasibility.cells):,} to {max(c.eligible for c in feasibility.cells):,} "
        "per cell"
    )
    print(f"\ntimes ({args.runs} runs after one warm-up):")
    floor_times = timed("floor: raw COUNT(*)", lambda run: count(floor, floor_params), args.runs)
    timed("preview_draw (12 cells)", lambda run: preview_draw(panel, spec), args.runs)
    attributes = attributes_of(panel)
    timed(
        "ranking query alone",
        lambda run: draws._candidates(panel, spec, 1000 + run, attributes),
        args.runs,
    )

    made = []

    def draw(run):
        return draw_sample(
            panel, spec, title="Bench study", involves="Nothing.", acting_user=staff, seed=2000 + run
        )

    def forget(result):
        made.append((result.pk, result.selections.count()))
        Draw.objects.filter(pk=result.pk).delete()

    draw_times = timed(f"draw_sample of {SIZE}", draw, args.runs, after=forget)
    sizes = {n for _pk, n in made}
    ratio = statistics.median(draw_times) / statistics.median(floor_times)
    print(f"\ndraw / floor (medians): {ratio:.2f}x (goal: at most 3x); selections per draw: {sorted(sizes)}")

    # Memory: one draw under tracemalloc (Python objects), one without (the resident set).
    tracemalloc.start()
    kept = draw(98)
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    check = kept.selections.values_list("membership_id", flat=True).order_by("rank")
    replayed = replay_draw(kept) == list(check)
    Draw.objects.filter(pk=kept.pk).delete()
    reset = reset_peak_rss()
    rss_before = resident_kb("VmRSS")
    kept = draw(99)
    rss_after, hwm = resident_kb("VmRSS"), resident_kb("VmHWM")
    Draw.objects.filter(pk=kept.pk).delete()
    print(
        f"memory of one draw: Python peak {peak / 1024 / 1024:.2f} MB (tracemalloc); resident set "
        f"{rss_before / 1024:.0f} MB before, {rss_after / 1024:.0f} MB after"
        + (f", peak {hwm / 1024:.0f} MB during the draw" if reset else "")
    )
    print(f"replaying a draw from its seed gives the same people: {replayed}")

    # Plans.
    ranking = ranking_query(world, spec)
    plans = {"floor": explain(floor, floor_params), "ranking": explain(ranking)}
    print(f"\nquery plans ({'EXPLAIN ANALYZE' if vendor == 'postgresql' else 'EXPLAIN QUERY PLAN'}):")
    for name, lines in plans.items():
        path = write_plan(name, lines, vendor)
        print(f"- {name} (whole plan in {path.relative_to(BASE_DIR)}):")
        shown = lines if args.explain or vendor != "postgresql" else plan_summary(lines)
        for line in shown:
            print(f"    {line}")


def build(args) -> object:
    from django.core.management import call_command
    from panel_world import build_panel_world, find_world

    started = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    migrated = time.perf_counter()
    world = find_world()
    if world is not None:
        if not args.reuse:
            sys.exit("this database already holds a benchmark panel: use --reuse, or an empty database")
        print(
            f"migrated in {migrated - started:.0f} s; the panel of the previous run: {world.participants:,}"
        )
        return world
    if args.reuse:
        print("no panel from a previous run: building one")
    world = build_panel_world(args.participants, seed=args.seed)
    built = time.perf_counter()
    print(
        f"migrated in {migrated - started:.0f} s; {args.participants:,} participants generated in "
        f"{built - migrated:.0f} s ({args.participants / (built - migrated):,.0f} per second)"
    )
    return world


def tables() -> str:
    from livinglab.models import ConsentRecord, Person
    from pilots.models import DrawSelection, Invitation, Participation

    counted = [
        ("people", Person),
        ("consent records", ConsentRecord),
        ("draw selections", DrawSelection),
        ("invitations", Invitation),
        ("participations", Participation),
    ]
    return ", ".join(f"{model.objects.count():,} {name}" for name, model in counted)


def run(url: str | None, args) -> None:
    label = configure(url, args.reuse)
    load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
    print(f"{label}; load average {load} on {os.cpu_count()} CPUs")
    world = build(args)
    print(tables())
    measure(world, args)
    from django.db import connections

    connections.close_all()


def main() -> int:
    args = parse_args()
    sys.path.insert(0, str(BASE_DIR))
    sys.path.insert(0, str(BENCH_DIR))
    if args.postgres == THROWAWAY:
        with throwaway_postgres() as url:
            run(url, args)
    else:
        run(args.postgres, args)
    return 0


if __name__ == "__main__":
    # WhiteNoise warns once per process that collectstatic has not run; static files play no part here.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    sys.exit(main())
