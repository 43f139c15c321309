"""The bulk OCDS export (``/procurement/ocds/releases.json``) of 1,000 procurements with 10 bids each: the
time to stream the whole release package and the peak memory while doing it.

    uv run python bench/pcp_ocds_export.py                       # SQLite, a fresh file under var/bench/
    uv run python bench/pcp_ocds_export.py --postgres            # a throwaway PostgreSQL server
    uv run python bench/pcp_ocds_export.py --procurements 4000   # more of everything
    DATABASE_URL=postgres://… uv run python bench/pcp_ocds_export.py   # an empty database of yours

Each procurement is a played-through call, written with ``bulk_create`` from a seeded generator: a
consultation with five registered firms and its notice, a published call with three phases; phase 1 past
its bid deadline with 10 submitted bids (10 consortia of a lead and a partner, so the tenderers are named),
a final award decision for three of them, their contracts with two milestones each (one paid); phase 2 open,
phase 3 planned. About 13 releases per procurement.

Timings are medians of untraced runs of the view, read to the end through Django's test client (URL
routing, middleware, the streamed response): wall time, and the CPU time of the process, which says more
than the wall time on a machine busy with other work. Peak memory is measured apart, so that measuring
never slows the timed runs: the Python heap with ``tracemalloc`` (peak during one export, for a quarter of
the procurements and for all of them — a streamed export stays flat), and the process's resident set in a
separate process (``--measure``): before the export and its peak (VmHWM) during it. For contrast, the peak
of the same releases built as one list and dumped at once.
"""

import argparse
import gc
import json
import os
import random
import statistics
import subprocess
import sys
import time
import tracemalloc
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from support import add_postgres_flag, reset_peak_rss, resident_kb, run_on_database, setup

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

BATCH = 200
REGIONS = ["Uusimaa", "Bretagne", "Pays de la Loire", "Skåne", "Oberösterreich", "Normandie"]
COUNTRIES = ["FI", "FR", "FR", "SE", "AT", "FR"]


def build(procurements: int, bids: int, seed: int) -> None:
    """``procurements`` played-through calls with ``bids`` submitted bids each in phase 1."""
    from django.db import transaction
    from django.utils import timezone

    from livinglab.models import Channel, Organisation
    from procurement.models import (
        Award,
        AwardCriterion,
        AwardDecision,
        Bid,
        CallDocument,
        Consortium,
        ConsortiumMember,
        Contract,
        Milestone,
        Phase,
        Procurement,
        Registration,
    )

    rng = random.Random(seed)
    now = timezone.now()
    kind = Organisation.Kind

    def organisations(prefix, count, org_kind):
        return Organisation.objects.bulk_create(
            Organisation(
                name=f"{prefix} {n}",
                slug=f"bench-{org_kind}-{n}",
                kind=org_kind,
                country=COUNTRIES[n % len(COUNTRIES)],
                region=REGIONS[n % len(REGIONS)],
            )
            for n in range(count)
        )

    with transaction.atomic():
        buyers = organisations("City social services", 40, kind.PUBLIC_AUTHORITY)
        firms = organisations("Care tech SME", 400, kind.SME)
        labs = organisations("Research lab", 80, kind.RESEARCH)

    made = 0
    while made < procurements:
        size = min(BATCH, procurements - made)
        with transaction.atomic():
            calls = Procurement.objects.bulk_create(
                Procurement(
                    channel=Channel.B2G,
                    buyer=rng.choice(buyers),
                    title=f"Living at home longer {made + n}",
                    slug=f"bench-pcp-{made + n}",
                    challenge="Older people want to live at home longer, safely and with dignity.",
                    needs="Early detection of falls and loneliness without cameras.",
                    expected_outcome="Solutions tested with 200 households.",
                    budget=Decimal("1500000.00"),
                    time_zone="Europe/Helsinki",
                    status=Procurement.Status.CALL,
                    consultation_opens_at=now - timedelta(days=160),
                    consultation_closes_at=now - timedelta(days=130),
                    consultation_summary="Firms asked for a longer phase 1.",
                    consultation_summary_published_at=now - timedelta(days=125),
                    published_at=now - timedelta(days=120),
                )
                for n in range(size)
            )
            phases = Phase.objects.bulk_create(
                Phase(
                    procurement=call,
                    number=number,
                    title=title,
                    description="Design, prototype or test a solution.",
                    budget=budget,
                    max_contractors=contractors,
                    duration_months=months,
                    deliverables="Reports and working software.",
                    status=status,
                    opened_at=opened,
                    question_deadline=questions,
                    bid_deadline=deadline,
                )
                for call in calls
                for number, title, budget, contractors, months, status, opened, questions, deadline in (
                    (
                        1,
                        "Solution design",
                        Decimal("150000"),
                        5,
                        4,
                        Phase.Status.AWARDED,
                        now - timedelta(days=120),
                        now - timedelta(days=100),
                        now - timedelta(days=90),
                    ),
                    (
                        2,
                        "Prototype development",
                        Decimal("450000"),
                        3,
                        10,
                        Phase.Status.OPEN,
                        now - timedelta(days=5),
                        now + timedelta(days=20),
                        now + timedelta(days=30),
                    ),
                    (3, "Field testing", Decimal("900000"), 2, 14, Phase.Status.PLANNED, None, None, None),
                )
            )
            first = [p for p in phases if p.number == 1]
            AwardCriterion.objects.bulk_create(
                AwardCriterion(phase=phase, name=name, weight=weight, position=position, is_price=price)
                for phase in phases
                if phase.number < 3
                for name, weight, position, price in (
                    ("Quality of the solution", Decimal("60"), 1, False),
                    ("Price", Decimal("40"), 2, True),
                )
            )
            CallDocument.objects.bulk_create(
                CallDocument(procurement=call, kind=kind_, title=title, file=f"bench/{call.pk}-{kind_}.pdf")
                for call in calls
                for kind_, title in (
                    (CallDocument.Kind.CONSULTATION_NOTICE, "Market consultation notice"),
                    (CallDocument.Kind.CONSULTATION_SUMMARY, "Consultation summary"),
                    (CallDocument.Kind.CALL, "Call for tenders"),
                )
            )
            Registration.objects.bulk_create(
                Registration(procurement=call, organisation=firm, stage=Registration.Stage.CONSULTATION)
                for call in calls
                for firm in rng.sample(firms, 5)
            )
            consortia = Consortium.objects.bulk_create(
                Consortium(
                    procurement=call,
                    name=f"Consortium {n}",
                    lead=lead,
                    agreement_text="The lead coordinates.",
                    status=Consortium.Status.FORMED,
                )
                for call in calls
                for n, lead in enumerate(rng.sample(firms, bids))
            )
            ConsortiumMember.objects.bulk_create(
                ConsortiumMember(
                    consortium=consortium,
                    organisation=organisation,
                    role=role,
                    status=ConsortiumMember.Status.ACCEPTED,
                    responded_at=now,
                )
                for consortium in consortia
                for organisation, role in (
                    (consortium.lead, ConsortiumMember.Role.LEAD),
                    (rng.choice(labs), ConsortiumMember.Role.PARTNER),
                )
            )
            by_call = {}
            for consortium in consortia:
                by_call.setdefault(consortium.procurement_id, []).append(consortium)
            submitted = Bid.objects.bulk_create(
                Bid(
                    phase=phase,
                    consortium=consortium,
                    status=Bid.Status.SUBMITTED,
                    submitted_at=now - timedelta(days=91),
                    receipt_sha256="0" * 64,
                )
                for phase in first
                for consortium in by_call[phase.procurement_id]
            )
            decisions = AwardDecision.objects.bulk_create(
                AwardDecision(
                    phase=phase,
                    reasons="The three best bids above the pass mark.",
                    status=AwardDecision.Status.FINAL,
                    decided_at=now - timedelta(days=60),
                    standstill_ends_at=now - timedelta(days=50),
                    finalised_at=now - timedelta(days=50),
                )
                for phase in first
            )
            decision_of = {d.phase_id: d for d in decisions}
            awards = Award.objects.bulk_create(
                Award(
                    decision=decision_of[bid.phase_id],
                    bid=bid,
                    successful=rank <= 3,
                    rank=rank,
                    total=Decimal(90 - rank * 3),
                    value=Decimal("140000") if rank <= 3 else None,
                )
                for phase in first
                for rank, bid in enumerate((b for b in submitted if b.phase_id == phase.pk), start=1)
            )
            phase_of = {bid.pk: bid.phase_id for bid in submitted}
            contracts = Contract.objects.bulk_create(
                Contract(
                    award=award,
                    phase_id=phase_of[award.bid_id],
                    title="Solution design contract",
                    value=Decimal("140000"),
                    status=Contract.Status.ACTIVE,
                    signed_at=now - timedelta(days=45),
                    starts_on=(now - timedelta(days=44)).date(),
                    ends_on=(now + timedelta(days=70)).date(),
                )
                for award in awards
                if award.successful
            )
            Milestone.objects.bulk_create(
                Milestone(
                    contract=contract,
                    title=title,
                    due_on=due.date(),
                    amount=Decimal("70000"),
                    status=status,
                    delivered_at=paid and paid - timedelta(days=4),
                    accepted_at=paid and paid - timedelta(days=2),
                    paid_at=paid,
                )
                for contract in contracts
                for title, due, status, paid in (
                    (
                        "Feasibility study",
                        now - timedelta(days=10),
                        Milestone.Status.PAID,
                        now - timedelta(days=3),
                    ),
                    ("Solution design", now + timedelta(days=60), Milestone.Status.SCHEDULED, None),
                )
            )
        made += size
        print(f"  {made:,} procurements", file=sys.stderr, flush=True)


def export(limit: int | None = None):
    """The streamed release package as the view writes it; ``limit`` keeps the first procurements only."""
    from procurement import ocds

    queryset = ocds.published_procurements()
    if limit is not None:
        last = queryset.order_by("pk").values_list("pk", flat=True)[limit - 1]
        queryset = queryset.filter(pk__lte=last)
    return ocds.stream_release_package(
        queryset, uri="http://localhost/procurement/ocds/releases.json", links=ocds.Links()
    )


def consume(pieces) -> tuple[int, int]:
    """Bytes and pieces, encoded as the response would send them, then dropped."""
    size = count = 0
    for piece in pieces:
        size += len(piece.encode() if isinstance(piece, str) else piece)
        count += 1
    return size, count


def whole(limit: int | None = None) -> int:
    """For contrast: every release in one list, dumped at once."""
    from procurement import ocds

    releases = []
    queryset = ocds.published_procurements()
    for batch in ocds._batches(queryset, ocds.CHUNK_SIZE):
        world = ocds.load_world(batch)
        for procurement in batch:
            for found in ocds.procurement_releases(procurement, world, ocds.Links()).values():
                releases.extend(found)
    package = ocds.release_package(releases, uri="http://localhost/x", links=ocds.Links())
    return len(json.dumps(package, ensure_ascii=False).encode())


def traced(fn) -> tuple[float, object]:
    gc.collect()
    tracemalloc.start()
    tracemalloc.reset_peak()
    result = fn()
    _current, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak / 2**20, result


def measure() -> None:
    """In a process of its own: the resident set before one streamed export and its peak during it."""
    import ocdsmerge  # noqa: F401  (importing is not exporting)
    from django.db import connection

    connection.ensure_connection()
    # Start the peak (VmHWM) again from the current resident set, so imports do not count.
    reset_peak_rss()
    before = resident_kb("VmRSS")
    consume(export())
    peak = resident_kb("VmHWM")
    print(json.dumps({"before_mb": before / 1024, "peak_mb": peak / 1024}))


def memory_of_process() -> dict:
    output = subprocess.run(
        [sys.executable, __file__, "--measure"],
        check=True,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--procurements", type=int, default=1_000)
    parser.add_argument("--bids", type=int, default=10, help="submitted bids per procurement (phase 1)")
    parser.add_argument("--runs", type=int, default=5, help="timed exports")
    parser.add_argument("--seed", type=int, default=2026)
    add_postgres_flag(parser)
    parser.add_argument("--measure", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.measure:
        setup(ROOT / "var" / "bench" / "unused.sqlite3", fresh=False, migrate=False)
        measure()
        return
    run_on_database(args, run)


def run(args) -> None:
    setup(ROOT / "var" / "bench" / f"pcp_ocds_export_{args.procurements}.sqlite3")

    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext
    from django.urls import reverse

    from procurement.models import Bid, Procurement

    print(f"database: {connection.vendor}; load average {os.getloadavg()[0]:.2f}", flush=True)
    start = time.perf_counter()
    build(args.procurements, args.bids, args.seed)
    print(
        f"built in {time.perf_counter() - start:.0f} s: {Procurement.objects.count():,} procurements, "
        f"{Bid.objects.count():,} bids",
        flush=True,
    )
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")  # fresh statistics, as autovacuum would have gathered by now

    client = Client(HTTP_HOST="localhost")
    url = reverse("procurement:ocds_bulk")

    def through_the_view():
        response = client.get(url)
        assert response.status_code == 200 and response.streaming, response.status_code
        return consume(response.streaming_content)

    through_the_view()  # warm-up: imports, the schema's merge rules, template and URL caches
    times, cpu, size, pieces = [], [], 0, 0
    for _run in range(args.runs):
        started, started_cpu = time.perf_counter(), time.process_time()
        size, pieces = through_the_view()
        times.append(time.perf_counter() - started)
        cpu.append(time.process_time() - started_cpu)
    with CaptureQueriesContext(connection) as queries:
        through_the_view()
    query_count = len(queries)  # now: the next request empties the log
    package = json.loads(b"".join(client.get(url).streaming_content))
    releases = len(package["releases"])
    del package

    quarter = max(1, args.procurements // 4)
    peak_quarter, _ = traced(lambda: consume(export(quarter)))
    peak_all, _ = traced(lambda: consume(export()))
    peak_whole, whole_size = traced(whole)
    process = memory_of_process()

    print()
    print(
        f"bulk export: {args.procurements:,} procurements × {args.bids} bids → {releases:,} releases, "
        f"{size / 2**20:.1f} MiB of JSON in {pieces} pieces, {query_count} queries"
    )
    print(
        f"  time, median of {args.runs}: {statistics.median(times):.2f} s "
        f"(fastest {min(times):.2f} s, slowest {max(times):.2f} s) — goal < 5 s"
    )
    whose = (
        "SQLite's work included" if connection.vendor == "sqlite" else "the database server's not included"
    )
    print(f"  CPU time of this process ({whose}), median: {statistics.median(cpu):.2f} s")
    print(
        f"  Python heap peak (tracemalloc), streamed: {peak_quarter:.1f} MiB for {quarter:,} procurements, "
        f"{peak_all:.1f} MiB for all {args.procurements:,}"
    )
    print(
        f"  resident set (separate process): {process['before_mb']:.0f} MiB before, "
        f"{process['peak_mb']:.0f} MiB at the peak (+{process['peak_mb'] - process['before_mb']:.0f} MiB)"
    )
    print(
        f"  for contrast, built as one list and dumped at once: {peak_whole:.1f} MiB heap peak "
        f"({whole_size / 2**20:.1f} MiB of JSON)"
    )


if __name__ == "__main__":
    main()
