"""Voucher redemption through the partner API under concurrent load, and whether the books still balance.

    uv run python bench/redeem.py                         # 1,000 vouchers, 50 clients, 200 double spends
    uv run python bench/redeem.py --vouchers 5000 --clients 100 --workers 8

Starts a throwaway PostgreSQL server on loopback (tests.harness.postgres_server), migrates it and builds,
through the services, an open fixed-value programme whose budget covers exactly ``--vouchers`` vouchers,
two approved firms whose cashiers have accepted the applicable ground rules, one partner API token per
firm, and the vouchers themselves (issued without e-mail). Then it serves the app with gunicorn on
127.0.0.1 and lets ``--clients`` threads redeem every voucher once through POST /api/vouchers/redeem,
each with its own request key, while ``--conflicts`` double-spend attempts race them: the other firm
redeeming the same voucher, or the same firm redeeming it again under a different key. It prints
throughput, latency and status codes, then checks the ledger in the database. See bench/README.md.
"""

import argparse
import http.client
import json
import os
import queue
import random
import statistics
import subprocess
import sys
import threading
import time
import uuid
import warnings
from collections import Counter
from dataclasses import dataclass, field
from decimal import Decimal
from pathlib import Path

from support import percentile, throwaway_postgres
from voucher_world import enrolled_firm, open_fixed_programme

BASE_DIR = Path(__file__).resolve().parent.parent
LOG_DIR = BASE_DIR / "var" / "bench"
FACE_VALUE = Decimal("500.00")
# The API locks a firm and a client address out after a few unknown codes within a window. Every code
# here is valid, but the benchmark should measure redemption, never the lockout: raise both limits.
LOCKOUT_LIMIT = "1000000"


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--vouchers", type=int, default=1000, help="vouchers to issue and redeem (1,000)")
    parser.add_argument("--clients", type=int, default=50, help="concurrent client threads (50)")
    parser.add_argument("--conflicts", type=int, default=200, help="double-spend attempts (200)")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes (4)")
    parser.add_argument(
        "--time-limit", type=float, default=600, help="seconds after which clients stop sending (600)"
    )
    parser.add_argument("--seed", type=int, default=5, help="random seed for the order of requests")
    args = parser.parse_args()
    if args.vouchers < 1 or args.clients < 1 or args.workers < 1 or args.conflicts < 0:
        parser.error("--vouchers, --clients and --workers must be at least 1, --conflicts at least 0")
    args.conflicts = min(args.conflicts, args.vouchers)
    return args


# ------------------------------------------------------------------------------------------------ data


@dataclass(frozen=True)
class Setup:
    programme_pk: int
    codes: list[str]
    secrets: dict[str, str]  # firm label -> token secret


def build_data(count: int) -> Setup:
    """Everything through the services, except the organisations, people and ground rules text."""
    import factory
    from django.contrib.auth.hashers import make_password

    from livinglab import services as core
    from livinglab.factories import (
        GroundRulesVersionFactory,
        OrganisationFactory,
        PersonFactory,
        UserFactory,
    )
    from livinglab.models import Organisation
    from vouchers import services, tokens

    # Nobody signs in here: one unusable password, not a PBKDF2 hash per user.
    no_password = factory.Transformer.Force(make_password(None))
    admin = UserFactory(
        email="bench-admin@example.org", is_superuser=True, is_staff=True, password=no_password
    )
    cluster = OrganisationFactory(name="Bench Cluster", kind=Organisation.Kind.CLUSTER)
    agency = OrganisationFactory(name="Bench Agency", kind=Organisation.Kind.FUNDING_AGENCY)
    GroundRulesVersionFactory(rules__title="Platform code of conduct")

    programme = open_fixed_programme(
        funder=agency,
        operator=cluster,
        face_value=FACE_VALUE,
        count=count,
        acting_user=admin,
    )

    secrets = {}
    for label in ("firm", "rival"):
        firm, cashier, _ = enrolled_firm(
            programme,
            name=f"Bench {label}",
            email=f"bench-{label}@example.org",
            solution=f"Heat pump of bench {label}",
            price=Decimal("900.00"),
            password=no_password,
            admin=admin,
        )
        core.require_ground_rules(cashier, programme, organisation=firm)
        _, secrets[label] = tokens.create_partner_token(
            firm, "Bench till", ["check", "redeem", "reverse"], acting_user=cashier
        )

    codes = []
    for number in range(count):
        holder = PersonFactory(user=None, full_name=f"Holder {number}")  # a household without a login
        voucher = services.issue_voucher(programme, holder, acting_user=admin, send_mail=False)
        codes.append(voucher.code)
    return Setup(programme.pk, codes, secrets)


# ----------------------------------------------------------------------------------------------- server


def start_gunicorn(database_url: str, workers: int) -> tuple[subprocess.Popen, int, Path]:
    from tests.harness import free_port

    port = free_port()
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    log = LOG_DIR / "redeem-gunicorn.log"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "livinglab.settings.dev",
        "DEBUG": "false",
        "DATABASE_URL": database_url,
        "VOUCHER_API_FAILURES_PER_FIRM": LOCKOUT_LIMIT,
        "VOUCHER_API_FAILURES_PER_ADDRESS": LOCKOUT_LIMIT,
    }
    with log.open("wb") as out:
        process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "gunicorn",
                "livinglab.wsgi:application",
                "--bind",
                f"127.0.0.1:{port}",
                "--workers",
                str(workers),
                "--timeout",
                "60",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
        )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            sys.exit(f"gunicorn stopped with exit code {process.returncode}; see {log}")
        try:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=2)
            connection.request("GET", "/healthz/")
            if connection.getresponse().status == 200:
                connection.close()
                return process, port, log
            connection.close()
        except OSError:
            pass
        time.sleep(0.2)
    stop_gunicorn(process)
    sys.exit(f"gunicorn did not answer /healthz/ within 60 s; see {log}")


def stop_gunicorn(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=20)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=10)


# ---------------------------------------------------------------------------------------------- load


@dataclass(frozen=True)
class Attempt:
    code: str
    firm: str  # which token: "firm" or "rival"
    kind: str  # "redeem" (the one meant to succeed) or a kind of double spend
    key: str = field(default_factory=lambda: uuid.uuid4().hex)


@dataclass
class Outcome:
    attempt: Attempt
    status: int  # 0: no answer (connection error or time-out)
    seconds: float
    code: str = ""


def plan(codes: list[str], conflicts: int, seed: int) -> list[Attempt]:
    """Every voucher once, in random order; each double spend right behind the redemption it races, so
    that two client threads pick both up at nearly the same moment."""
    chance = random.Random(seed)
    order = list(codes)
    chance.shuffle(order)
    contested = set(chance.sample(order, conflicts))
    attempts = []
    flip = False
    for code in order:
        attempts.append(Attempt(code, "firm", "redeem"))
        if code in contested:
            flip = not flip
            # Half by another enrolled firm, half by the same firm under a new request key.
            attempts.append(Attempt(code, "rival" if flip else "firm", "other firm" if flip else "new key"))
    return attempts


def run_load(port: int, secrets: dict[str, str], attempts: list[Attempt], clients: int, time_limit: float):
    work: queue.Queue[Attempt] = queue.Queue()
    for attempt in attempts:
        work.put(attempt)
    outcomes: list[Outcome] = []
    lock = threading.Lock()
    deadline = time.monotonic() + time_limit

    def client():
        connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine = []
        try:
            while time.monotonic() < deadline:
                try:
                    attempt = work.get_nowait()
                except queue.Empty:
                    break
                body = json.dumps(
                    {"code": attempt.code, "amount": str(FACE_VALUE), "idempotency_key": attempt.key}
                )
                headers = {
                    "Authorization": f"Bearer {secrets[attempt.firm]}",
                    "Content-Type": "application/json",
                    "Connection": "keep-alive",
                }
                started = time.perf_counter()
                try:
                    connection.request("POST", "/api/vouchers/redeem", body=body, headers=headers)
                    response = connection.getresponse()
                    payload = response.read()
                    status = response.status
                    if response.will_close:
                        connection.close()  # reopened by the next request
                except (OSError, http.client.HTTPException):
                    connection.close()
                    status, payload = 0, b""
                elapsed = time.perf_counter() - started
                code = ""
                if status >= 400:
                    try:
                        code = json.loads(payload).get("code", "")
                    except ValueError:
                        code = "not json"
                mine.append(Outcome(attempt, status, elapsed, code))
        finally:
            connection.close()
            with lock:
                outcomes.extend(mine)

    threads = [threading.Thread(target=client, name=f"client-{n}") for n in range(clients)]
    started = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=max(1.0, deadline - time.monotonic() + 60))
    wall = time.perf_counter() - started
    return outcomes, wall, work.qsize()


# --------------------------------------------------------------------------------------- correctness


def check_ledger(setup: Setup, successes: int) -> list[tuple[str, bool, str]]:
    from django.db.models import Count, Q

    from vouchers.models import LedgerEntry, Programme, Voucher

    programme = Programme.objects.get(pk=setup.programme_pk)
    count = len(setup.codes)
    entries = LedgerEntry.objects.filter(voucher__programme=programme)
    redemptions = entries.filter(kind=LedgerEntry.Kind.REDEEM)
    redeemed_count = redemptions.count()
    redeemed_total = -redemptions.total()
    ledger_total = entries.total()
    committed = programme.committed_budget()
    vouchers = Voucher.objects.filter(programme=programme)
    negative = vouchers.with_balance().filter(balance_sum__lt=0).count()
    twice = (
        vouchers.annotate(spends=Count("entries", filter=Q(entries__kind=LedgerEntry.Kind.REDEEM)))
        .filter(spends__gt=1)
        .count()
    )
    unredeemed = vouchers.exclude(status=Voucher.Status.REDEEMED).count()
    expected = FACE_VALUE * count
    return [
        (
            "successful redemptions == vouchers",
            redeemed_count == count == successes,
            f"{redeemed_count} in the ledger, {successes} answered 2xx, {count} vouchers",
        ),
        (
            "ledger total == expected",
            redeemed_total == expected and ledger_total == 0,
            f"redeemed {redeemed_total} EUR (expected {expected}); issued minus redeemed = {ledger_total}",
        ),
        (
            "committed <= budget",
            committed <= programme.total_budget,
            f"committed {committed} EUR of a {programme.total_budget} EUR budget",
        ),
        ("no voucher with a negative balance", negative == 0, f"{negative} vouchers below zero"),
        ("no voucher redeemed twice", twice == 0, f"{twice} vouchers with two or more redemptions"),
        ("every voucher marked redeemed", unredeemed == 0, f"{unredeemed} vouchers not redeemed"),
    ]


# ------------------------------------------------------------------------------------------------ main


def report(outcomes: list[Outcome], wall: float, left: int, args: argparse.Namespace) -> int:
    if not outcomes:
        print("\nno request was answered")
        return 0
    successes = [o for o in outcomes if 200 <= o.status < 300]
    latencies = [o.seconds * 1000 for o in outcomes]
    print(f"\n{len(outcomes)} requests in {wall:.1f} s ({len(outcomes) / wall:.0f} requests/s)")
    if left:
        print(f"NOT SENT: {left} requests left when the {args.time_limit:.0f} s limit was reached")
    print(f"redemptions per second: {len(successes) / wall:.0f} ({len(successes)} successful)")
    print(
        f"latency, all requests: median {statistics.median(latencies):.1f} ms, "
        f"p95 {percentile(latencies, 0.95):.1f} ms, max {max(latencies):.1f} ms"
    )
    if successes:
        ok = [o.seconds * 1000 for o in successes]
        print(
            f"latency, successful: median {statistics.median(ok):.1f} ms, p95 {percentile(ok, 0.95):.1f} ms"
        )
    by_status = Counter((o.status, o.code) for o in outcomes)
    print("answers:")
    for (status, code), number in sorted(by_status.items()):
        label = {0: "no answer"}.get(status, str(status))
        print(f"  {label:>9} {code or '':<24} {number:>6}")
    by_kind = Counter((o.attempt.kind, 200 <= o.status < 300) for o in outcomes)
    print("who won the races:")
    for kind in ("redeem", "other firm", "new key"):
        won, lost = by_kind[(kind, True)], by_kind[(kind, False)]
        print(f"  {kind:<11} {won:>6} succeeded {lost:>6} refused")
    return len(successes)


def main() -> int:
    args = parse_args()
    sys.path.insert(0, str(BASE_DIR))
    # SIGTERM unwinds through this block, so gunicorn is stopped before the server.
    with throwaway_postgres() as url:
        os.environ["DJANGO_SETTINGS_MODULE"] = "livinglab.settings.dev"
        os.environ["DEBUG"] = "false"
        os.environ["DATABASE_URL"] = url
        import django

        django.setup()
        from django.core.management import call_command

        started = time.perf_counter()
        call_command("migrate", interactive=False, verbosity=0)
        migrated = time.perf_counter()
        setup = build_data(args.vouchers)
        built = time.perf_counter()
        print(
            f"PostgreSQL on loopback: migrated in {migrated - started:.0f} s; {args.vouchers} vouchers of "
            f"{FACE_VALUE} EUR issued through the services in {built - migrated:.0f} s"
        )
        from django.db import connections

        connections.close_all()
        process, port, log = start_gunicorn(url, args.workers)
        try:
            load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
            print(
                f"gunicorn: {args.workers} sync workers on 127.0.0.1:{port} "
                f"(log {log.relative_to(BASE_DIR)}); "
                f"lookup lockout limits raised to {LOCKOUT_LIMIT} per firm and per address so that they "
                "cannot interfere"
            )
            print(
                f"{args.clients} client threads (http.client; sync workers close each connection, clients "
                f"reconnect); {args.vouchers} redemptions + {args.conflicts} double-spend attempts; "
                f"load average {load} on {os.cpu_count()} CPUs"
            )
            attempts = plan(setup.codes, args.conflicts, args.seed)
            outcomes, wall, left = run_load(port, setup.secrets, attempts, args.clients, args.time_limit)
        finally:
            stop_gunicorn(process)
        successes = report(outcomes, wall, left, args)
        print("\ncorrectness, from the database:")
        checks = check_ledger(setup, successes)
        for label, passed, detail in checks:
            print(f"  {'OK  ' if passed else 'FAIL'} {label}: {detail}")
        connections.close_all()
        return 0 if all(passed for _label, passed, _detail in checks) else 1


if __name__ == "__main__":
    # WhiteNoise warns once per process that collectstatic has not run; static files play no part here.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    sys.exit(main())
