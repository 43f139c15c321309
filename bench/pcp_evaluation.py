"""The evaluation overview of a pre-commercial procurement phase: median server time and query count with
50 bids × 10 evaluators × 8 criteria, and the same figures with 5 bids to show that the query count does
not grow with the number of bids.

    uv run python bench/pcp_evaluation.py                      # SQLite, in a fresh file under var/bench/
    uv run python bench/pcp_evaluation.py --postgres           # a throwaway PostgreSQL server
    uv run python bench/pcp_evaluation.py --bids 50 --evaluators 10 --criteria 8 --runs 30
    DATABASE_URL=postgres://… uv run python bench/pcp_evaluation.py   # an empty database of yours

The authority, the procurement, its phase and the award criteria (weights summing to 100) come from the
factories; so do the consortia and their submitted bids (seeded prices). The panel's work is written with
``bulk_create`` from a seeded generator, as the product holds it when the evaluation is complete: every
evaluator's declaration on every bid (about one in twenty a declared conflict, which recuses them), a
score with its justification per criterion from every evaluator free of conflicts, and the consensus score
per bid and criterion. The phase's bid deadline is in the past, so the ranking is shown.

The page is requested through ``django.test.Client`` signed in as a procurer of the authority (with an
authenticator, as the MFA guard of /procurement/ requires): two untimed requests, then ``--runs`` timed
ones; "server time" is the wall time of ``Client.get`` (middleware, view, queries, template). The query
count comes from a separate request, counted by a database execute wrapper. The ranking itself
(``evaluate_phase``) is timed on its own too. First with ``--small`` bids (default 5), then after adding
bids up to ``--bids``.
"""

import argparse
import os
import random
import sys
import time
import warnings
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

from support import add_postgres_flag, counting, run_on_database, setup, timed

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

HOST = "localhost"  # in the dev profile's ALLOWED_HOSTS


def build_world(evaluators: int, criteria: int):
    """The authority, its procurer, a procurement whose phase 1 is past its deadline, the criteria and the
    panel (no bids yet)."""
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.utils import timezone

    from livinglab.factories import MembershipFactory, OrganisationFactory, UserFactory
    from livinglab.models import Organisation, Role
    from procurement.factories import AwardCriterionFactory, PhaseFactory, ProcurementFactory
    from procurement.models import Evaluator

    authority = OrganisationFactory(
        name="Bench City Social Services", kind=Organisation.Kind.PUBLIC_AUTHORITY
    )
    procurer = MembershipFactory(
        organisation=authority, role=Role.PROCURER, user=UserFactory(email="bench-procurer@example.org")
    ).user
    TOTP.activate(procurer, generate_totp_secret())
    procurement = ProcurementFactory(buyer=authority, title="Bench living at home longer", slug="bench-pcp")
    now = timezone.now()
    phase = PhaseFactory(
        procurement=procurement,
        max_contractors=5,
        budget=Decimal("5000000"),
        question_deadline=now - timedelta(days=9),
        bid_deadline=now - timedelta(days=7),
    )
    weights = [(Decimal(100) / criteria).quantize(Decimal("0.01"))] * criteria
    weights[-1] = Decimal(100) - sum(weights[:-1])  # the weights sum to exactly 100
    for i, weight in enumerate(weights):
        AwardCriterionFactory(
            phase=phase,
            name=f"Criterion {i + 1}",
            weight=weight,
            threshold=Decimal("3"),
            position=i,
            is_price=i == criteria - 1,
        )
    panel = []
    for i in range(evaluators):
        user = MembershipFactory(
            organisation=authority,
            role=Role.EVALUATOR,
            user=UserFactory(email=f"bench-evaluator-{i}@example.org"),
        ).user
        panel.append(
            Evaluator(
                phase=phase,
                user=user,
                role=Evaluator.Role.CHAIR if i == 0 else Evaluator.Role.EVALUATOR,
                assigned_by=procurer,
            )
        )
    Evaluator.objects.bulk_create(panel)
    return phase, procurer


def add_bids(phase, count: int, rng: random.Random) -> None:
    """``count`` more submitted bids, each with its declarations, scores and consensus."""
    from django.db import transaction

    from procurement.factories import BidFactory, ConsortiumFactory
    from procurement.models import ConflictDeclaration, ConsensusScore, Evaluator, Score

    criteria = list(phase.criteria.all())
    panel = list(Evaluator.objects.filter(phase=phase).order_by("pk"))
    with transaction.atomic():
        bids = []
        for _n in range(count):
            consortium = ConsortiumFactory(procurement=phase.procurement)
            price = Decimal(rng.randrange(60_000, 150_000, 500))
            bids.append(BidFactory(phase=phase, consortium=consortium, content__price=price))
        declarations, scores, consensus = [], [], []
        for bid in bids:
            quality = rng.uniform(3, 9.5)
            for evaluator in panel:
                conflict = evaluator.role != Evaluator.Role.CHAIR and rng.random() < 0.05
                declarations.append(
                    ConflictDeclaration(
                        evaluator=evaluator,
                        bid=bid,
                        has_conflict=conflict,
                        relationship="Former colleague of the lead's director." if conflict else "",
                    )
                )
                if conflict:
                    continue
                for criterion in criteria:
                    value = min(10, max(0, round(quality + rng.uniform(-1.5, 1.5), 1)))
                    scores.append(
                        Score(
                            evaluator=evaluator,
                            bid=bid,
                            criterion=criterion,
                            score=Decimal(str(value)),
                            justification="Meets the need; the plan for phase 2 is credible.",
                        )
                    )
            for criterion in criteria:
                value = min(10, max(0, round(quality + rng.uniform(-0.5, 0.5), 1)))
                consensus.append(
                    ConsensusScore(
                        bid=bid,
                        criterion=criterion,
                        score=Decimal(str(value)),
                        justification="Agreed by the panel.",
                    )
                )
        ConflictDeclaration.objects.bulk_create(declarations)
        Score.objects.bulk_create(scores, batch_size=2000)
        ConsensusScore.objects.bulk_create(consensus)


def measure(phase, procurer, runs: int) -> dict:
    from django.db import connection
    from django.test import Client
    from django.urls import reverse

    from procurement.models import Bid, Score
    from procurement.services.evaluation import evaluate_phase

    client = Client(HTTP_HOST=HOST)
    client.force_login(procurer)
    url = reverse("procurement:evaluation", args=[phase.procurement.slug, phase.number])
    for _i in range(2):
        response = client.get(url)
        assert response.status_code == 200, response.status_code
    page = response.content.decode()
    assert "Ranking" in page and "ranking-totals" in page, "the overview does not show the ranking"
    # Counted by a wrapper: each request resets Django's own query log when it starts.
    captured: list[str] = []
    with connection.execute_wrapper(counting(captured)):
        client.get(url)
    page_ms, page_p95 = timed(lambda: client.get(url), runs)
    evaluation = evaluate_phase(phase)
    ranking_ms, _p95 = timed(lambda: evaluate_phase(phase), runs)
    return {
        "bids": Bid.objects.filter(phase=phase).count(),
        "scores": Score.objects.filter(bid__phase=phase).count(),
        "passing": sum(1 for result, _row in evaluation.ranking if result.passed),
        "page_ms": page_ms,
        "page_p95": page_p95,
        "queries": len(captured),
        "ranking_ms": ranking_ms,
    }


def run(args) -> None:
    setup(ROOT / "var" / "bench" / "pcp_evaluation.sqlite3")
    from django.db import connection

    print(f"database: {connection.vendor}; load average {os.getloadavg()[0]:.2f}", flush=True)
    rng = random.Random(args.seed)
    start = time.perf_counter()
    phase, procurer = build_world(args.evaluators, args.criteria)
    add_bids(phase, args.small, rng)
    print(f"built {args.small} bids in {time.perf_counter() - start:.1f} s", flush=True)
    figures = [measure(phase, procurer, args.runs)]
    start = time.perf_counter()
    add_bids(phase, args.bids - args.small, rng)
    print(f"added {args.bids - args.small} bids in {time.perf_counter() - start:.1f} s", flush=True)
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    figures.append(measure(phase, procurer, args.runs))
    print(
        f"\n{args.evaluators} evaluators × {args.criteria} criteria; {args.runs} timed requests each\n"
        f"{'bids':>5} {'scores':>7} {'passing':>8} {'overview median ms':>19} {'p95 ms':>7} {'queries':>8} "
        f"{'evaluate_phase ms':>18}"
    )
    for f in figures:
        print(
            f"{f['bids']:>5} {f['scores']:>7} {f['passing']:>8} {f['page_ms']:>19.1f} {f['page_p95']:>7.1f} "
            f"{f['queries']:>8} {f['ranking_ms']:>18.1f}"
        )
    same = figures[0]["queries"] == figures[1]["queries"]
    small, large = figures
    print(
        f"\nquery count {'constant' if same else 'NOT constant'}: "
        f"{small['queries']} with {small['bids']} bids, {large['queries']} with {large['bids']}"
    )
    print(f"load average {os.getloadavg()[0]:.2f}")
    if not same:
        sys.exit(1)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--bids", type=int, default=50)
    parser.add_argument("--small", type=int, default=5, help="bids of the first measurement (default 5)")
    parser.add_argument("--evaluators", type=int, default=10)
    parser.add_argument("--criteria", type=int, default=8)
    parser.add_argument("--runs", type=int, default=30, help="timed requests per measurement (default 30)")
    parser.add_argument("--seed", type=int, default=2026)
    add_postgres_flag(parser)
    args = parser.parse_args()
    if not 0 < args.small < args.bids:
        parser.error("--small must be between 1 and --bids")
    run_on_database(args, run)


if __name__ == "__main__":
    # WhiteNoise warns once per process that collectstatic has not run; static files play no part here.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    main()
