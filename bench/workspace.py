"""Server time and query count of the workspace pages, measured against the /healthz/ floor.

    uv run python bench/workspace.py                       # throwaway SQLite file under var/bench/
    uv run python bench/workspace.py --postgres postgres://user:pw@127.0.0.1:5432/livinglab_bench

The database is built from scratch (SQLite) or brought up to date (PostgreSQL: it must be a throwaway
database, the script migrates it and writes demo data into it), filled by ``seed_demo`` when that command
exists and by the factories otherwise, then each page is requested through Django's test client: a few
warm-up requests, then ``--runs`` timed ones. "Server time" is the wall time of ``Client.get``: URL
resolution, every middleware, the view, its queries and template rendering; no network and no web server.
The query count comes from separate requests under ``CaptureQueriesContext`` so that recording queries does
not inflate the timings. See bench/README.md.
"""

import argparse
import os
import statistics
import sys
import time
import warnings
from dataclasses import dataclass
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SQLITE_FILE = BASE_DIR / "var" / "bench" / "workspace.sqlite3"
HOST = "localhost"  # in the dev profile's ALLOWED_HOSTS


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--postgres", metavar="URL", help="a throwaway PostgreSQL DATABASE_URL instead of SQLite"
    )
    parser.add_argument("--runs", type=int, default=200, help="timed requests per page (default 200)")
    parser.add_argument("--warmup", type=int, default=20, help="untimed requests per page first (default 20)")
    parser.add_argument(
        "--factories", action="store_true", help="build the data with the factories even if seed_demo exists"
    )
    parser.add_argument("--participants", type=int, default=220, help="panel size when using the factories")
    parser.add_argument("--show-queries", action="store_true", help="print the SQL each page runs")
    parser.add_argument(
        "--reuse", action="store_true", help="keep the database of the previous run and only measure again"
    )
    return parser.parse_args()


def configure(args: argparse.Namespace) -> str:
    """Point Django at the benchmark database; must run before django.setup()."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "livinglab.settings.dev"
    # Timings with DEBUG on would include query logging and debug-page machinery nobody runs in production.
    os.environ["DEBUG"] = "false"
    if args.postgres:
        os.environ["DATABASE_URL"] = args.postgres
        label = "PostgreSQL"
    else:
        SQLITE_FILE.parent.mkdir(parents=True, exist_ok=True)
        if not args.reuse:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{SQLITE_FILE}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{SQLITE_FILE}"
        label = f"SQLite ({SQLITE_FILE.relative_to(BASE_DIR)})"
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()
    return label


# ------------------------------------------------------------------------------------------------ data


def build_data(args: argparse.Namespace) -> str:
    from django.core.management import call_command, get_commands

    started = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    migrated = time.perf_counter()
    if args.reuse:
        return f"migrated in {migrated - started:.0f}s, data of the previous run"
    if "seed_demo" in get_commands() and not args.factories:
        call_command("seed_demo", verbosity=0)
        source = "seed_demo"
    else:
        build_with_factories(args.participants)
        source = f"the factories ({args.participants} participants)"
    return (
        f"migrated in {migrated - started:.0f}s, data from {source} in {time.perf_counter() - migrated:.0f}s"
    )


def build_with_factories(participants: int) -> None:
    """A cluster with staff, a panel of participants who each consented to a few purposes, an audit trail."""
    from unittest import mock

    import factory
    from django.contrib.auth.hashers import make_password
    from django.db import transaction

    from livinglab import services
    from livinglab.factories import (
        ConsentDocumentVersionFactory,
        ConsentPurposeFactory,
        GroundRulesVersionFactory,
        OrganisationFactory,
        PersonFactory,
        UserFactory,
    )
    from livinglab.models import Organisation, Role

    class NoReceipts:
        @staticmethod
        def delay_on_commit(*args, **kwargs):
            return None

    # The benchmark signs in with force_login: one unusable password, not a PBKDF2 hash per user.
    no_password = factory.Transformer.Force(make_password(None))
    with transaction.atomic(), mock.patch.object(services, "send_consent_receipt", NoReceipts):
        admin = UserFactory(
            email="bench-admin@example.org", is_superuser=True, is_staff=True, password=no_password
        )
        cluster = OrganisationFactory(name="Bench Cluster", kind=Organisation.Kind.CLUSTER)

        def member(email):
            return PersonFactory(user=UserFactory(email=email, password=no_password)).user

        for number, role in enumerate([Role.LAB_COORDINATOR, Role.CLUSTER_MANAGER, Role.LAB_COORDINATOR]):
            services.add_membership(
                member(f"bench-staff{number}@example.org"), cluster, role, acting_user=admin
            )
        for number in range(5):
            firm = OrganisationFactory(name=f"Bench Firm {number}", kind=Organisation.Kind.SME)
            services.add_membership(
                member(f"bench-firm{number}@example.org"), firm, Role.FIRM_ADMIN, acting_user=admin
            )
        GroundRulesVersionFactory(rules__title="Platform code of conduct")
        purposes = [
            ConsentPurposeFactory(code=code)
            for code in ("participation", "profile-data", "recording", "future-contact", "publish-quotes")
        ]
        form = ConsentDocumentVersionFactory(document__title="Panel participation", purposes=purposes)
        for number in range(participants):
            user = UserFactory(email=f"bench-panel{number}@example.org", password=no_password)
            panelist = services.register_person(user, full_name=f"Panelist {number}")
            chosen = purposes[: 2 + number % 3]
            services.give_consent(panelist, form, chosen, method="online", acting_user=user)


# ------------------------------------------------------------------------------------------ who and what


@dataclass(frozen=True)
class Page:
    label: str
    url: str
    client: object


def pick_subjects():
    """The participant with the most active consents, and a coordinator of the first cluster."""
    from django.db.models import Count, Q

    from livinglab.models import Membership, Organisation, Person, Role

    participant = (
        Person.objects.filter(user__isnull=False, user__memberships__isnull=True)
        .annotate(active=Count("consents", filter=Q(consents__withdrawn_at__isnull=True)))
        .filter(active__gt=0)
        .order_by("-active", "pk")
        .select_related("user")
        .first()
    )
    cluster = Organisation.objects.filter(kind=Organisation.Kind.CLUSTER).order_by("pk").first()
    coordinator = (
        Membership.objects.active()
        .filter(organisation=cluster, role=Role.LAB_COORDINATOR)
        .order_by("pk")
        .select_related("user")
        .first()
    )
    if participant is None or coordinator is None:
        sys.exit("The database has no participant with consents, or no cluster with a lab coordinator.")
    return participant, cluster, coordinator.user


def ensure_totp(user) -> None:
    """Privileged roles need an authenticator before the MFA middleware lets them into a workspace."""
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret

    if not Authenticator.objects.filter(user=user, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(user, generate_totp_secret())


def signed_in(user):
    from django.test import Client

    client = Client(HTTP_HOST=HOST)
    client.force_login(user)
    return client


# ---------------------------------------------------------------------------------------- measuring


@dataclass(frozen=True)
class Result:
    label: str
    times_ms: list[float]
    queries: tuple[int, ...]

    @property
    def median(self) -> float:
        return statistics.median(self.times_ms)

    @property
    def p95(self) -> float:
        return statistics.quantiles(self.times_ms, n=20, method="inclusive")[-1]

    @property
    def fastest(self) -> float:
        return min(self.times_ms)


def measure(page: Page, runs: int, warmup: int, show_queries: bool = False) -> Result:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def get():
        response = page.client.get(page.url)
        if response.status_code != 200:
            location = response.get("Location", "")
            sys.exit(f"{page.url} answered {response.status_code} {location}: the benchmark needs a 200.")
        return response

    for _ in range(warmup):
        get()
    counts = []
    for _ in range(3):
        with CaptureQueriesContext(connection) as captured:
            get()
        counts.append(len(captured.captured_queries))
    if show_queries:
        print(f"\n{page.label}:")
        for number, query in enumerate(captured.captured_queries, 1):
            print(f"  {number:>2}. {query['sql'][:300]}")
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        get()
        times.append((time.perf_counter() - started) * 1000)
    return Result(page.label, times, tuple(sorted(set(counts))))


def print_table(results: list[Result], floor: Result) -> None:
    width = max(len(r.label) for r in results)
    header = f"{'page':<{width}} {'median':>9} {'p95':>9} {'min':>9} {'queries':>8} {'/ floor':>8}"
    print(header)
    print("-" * len(header))
    for r in results:
        queries = f"{r.queries[0]}-{r.queries[-1]}" if len(r.queries) > 1 else str(r.queries[0])
        print(
            f"{r.label:<{width}} {r.median:>7.2f}ms {r.p95:>7.2f}ms {r.fastest:>7.2f}ms {queries:>8} "
            f"{r.median / floor.median:>7.1f}x"
        )
    print("median / floor: how many times the cheapest page's median time each page takes.")


def main() -> None:
    args = parse_args()
    database = configure(args)
    from django.test import Client

    built = build_data(args)

    from livinglab.models import AuditEntry, ConsentRecord, Organisation, Person

    participant, cluster, coordinator = pick_subjects()
    ensure_totp(coordinator)
    consents = participant.consents.filter(withdrawn_at__isnull=True).count()
    print(f"database: {database}; {built}")
    print(
        f"data: {Organisation.objects.count()} organisations, {Person.objects.count()} people, "
        f"{ConsentRecord.objects.active().count()} active consents, "
        f"{AuditEntry.objects.count()} audit entries"
    )
    print(f"participant: {participant.user.email} ({consents} active consents)")
    print(f"coordinator: {coordinator.email} at {cluster.slug}")
    load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
    print(
        f"{args.warmup} warm-up then {args.runs} timed requests per page; load average {load} "
        f"on {os.cpu_count()} CPUs (other work on the machine widens p95 and moves the medians)"
    )

    workspace = f"/workspace/org/{cluster.slug}/"
    pages = [
        Page("/healthz/ (anonymous: the floor)", "/healthz/", Client(HTTP_HOST=HOST)),
        Page("/healthz/ (signed in)", "/healthz/", signed_in(participant.user)),
        Page("/workspace/me/ (participant)", "/workspace/me/", signed_in(participant.user)),
        Page(f"{workspace} (coordinator)", workspace, signed_in(coordinator)),
    ]
    results = [measure(page, args.runs, args.warmup, args.show_queries) for page in pages]
    print()
    print_table(results, floor=results[0])


if __name__ == "__main__":
    # WhiteNoise warns once per process that collectstatic has not run; static files play no part here.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    main()
