"""Issuing vouchers and e-mailing each holder their voucher PDF, through the Celery task, timed.

    uv run python bench/issue_pdfs.py                # 500 vouchers, throwaway SQLite file under var/bench/
    uv run python bench/issue_pdfs.py --count 10000
    uv run python bench/issue_pdfs.py --postgres postgres://user@127.0.0.1:5432/livinglab_bench

Builds an open fixed-value programme with budget for ``--count`` vouchers and three approved firms (their
solutions are listed in every PDF), issues a voucher to each of ``--count`` holders through
``vouchers.services.issue_voucher`` (without e-mail), then runs ``send_voucher_issued`` for every voucher
through Celery in-process (``CELERY_TASK_ALWAYS_EAGER``: ``.delay()`` runs the task at once), with
Django's in-memory e-mail backend. That is the whole task: the once-only claim in the cache, loading the
voucher, rendering its PDF with WeasyPrint (QR code included), building and "sending" the message.
Prints the time of both phases, the median and 95th percentile per voucher, and the peak memory.
See bench/README.md.
"""

import argparse
import logging
import os
import resource
import statistics
import sys
import time
import warnings
from decimal import Decimal
from pathlib import Path

from voucher_world import open_fixed_programme

BASE_DIR = Path(__file__).resolve().parent.parent
SQLITE_FILE = BASE_DIR / "var" / "bench" / "issue_pdfs.sqlite3"
FACE_VALUE = Decimal("300.00")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=500, help="vouchers to issue and mail (default 500)")
    parser.add_argument(
        "--postgres", metavar="URL", help="a throwaway PostgreSQL DATABASE_URL instead of SQLite"
    )
    parser.add_argument(
        "--time-limit",
        type=float,
        default=3600,
        help="seconds after which each phase stops early and reports what it did (default 3600)",
    )
    args = parser.parse_args()
    if args.count < 1:
        parser.error("--count must be at least 1")
    return args


def configure(args: argparse.Namespace) -> str:
    """Point Django at the benchmark database, tasks in-process, mail in memory; before django.setup()."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "livinglab.settings.dev"
    os.environ["DEBUG"] = "false"
    os.environ["CELERY_BROKER_URL"] = ""  # no broker: Celery runs tasks eagerly, in this process
    if args.postgres:
        os.environ["DATABASE_URL"] = args.postgres
        label = "PostgreSQL"
    else:
        SQLITE_FILE.parent.mkdir(parents=True, exist_ok=True)
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(f"{SQLITE_FILE}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{SQLITE_FILE}"
        label = f"SQLite ({SQLITE_FILE.relative_to(BASE_DIR)})"
    sys.path.insert(0, str(BASE_DIR))
    import django

    django.setup()
    from django.conf import settings

    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    # Celery logs every task it runs at INFO: thousands of lines that say nothing here.
    logging.getLogger("celery").setLevel(logging.WARNING)
    if not settings.CELERY_TASK_ALWAYS_EAGER:
        sys.exit("Celery is not eager in this environment: unset CELERY_BROKER_URL.")
    return label


def build_programme(count: int):
    """An open programme run by a cluster, with budget for exactly ``count`` vouchers and three firms."""
    import factory
    from django.contrib.auth.hashers import make_password

    from livinglab import services as core
    from livinglab.factories import OrganisationFactory, UserFactory
    from livinglab.models import Organisation, Role
    from vouchers import services
    from vouchers.models import Solution

    no_password = factory.Transformer.Force(make_password(None))
    admin = UserFactory(
        email="bench-admin@example.org", is_superuser=True, is_staff=True, password=no_password
    )
    programme = open_fixed_programme(
        funder=OrganisationFactory(name="Bench Agency", kind=Organisation.Kind.FUNDING_AGENCY),
        operator=OrganisationFactory(name="Bench Cluster", kind=Organisation.Kind.CLUSTER),
        face_value=FACE_VALUE,
        count=count,
        acting_user=admin,
    )
    for number in range(3):
        firm = OrganisationFactory(name=f"Bench Installer {number}", kind=Organisation.Kind.SME)
        owner = UserFactory(email=f"bench-installer{number}@example.org", password=no_password)
        core.add_membership(owner, firm, Role.FIRM_ADMIN, acting_user=admin)
        solution = services.save_solution(
            Solution(
                firm=firm,
                name=f"Insulation package {number}",
                description="Loft and wall insulation, fitted in two days.",
                price=Decimal("2400.00"),
                category=Solution.Category.ENERGY_EFFICIENCY,
            ),
            acting_user=owner,
        )
        enrolment = services.apply_for_enrolment(solution, programme, acting_user=owner)
        services.decide_enrolment(enrolment, approve=True, acting_user=admin)
    return programme, admin, no_password


def summary(label: str, times_ms: list[float], wall: float) -> str:
    p95 = statistics.quantiles(times_ms, n=20, method="inclusive")[-1] if len(times_ms) > 1 else times_ms[0]
    return (
        f"{label}: {len(times_ms)} in {wall:.1f} s ({len(times_ms) / wall:.1f}/s); "
        f"per voucher median {statistics.median(times_ms):.1f} ms, p95 {p95:.1f} ms, "
        f"max {max(times_ms):.1f} ms"
    )


def peak_memory_mb() -> float:
    # ru_maxrss is in kilobytes on Linux (bytes on macOS).
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return peak / (1024 * 1024) if sys.platform == "darwin" else peak / 1024


def main() -> int:
    args = parse_args()
    database = configure(args)
    from django.core import mail
    from django.core.cache import cache
    from django.core.management import call_command

    from livinglab.factories import PersonFactory, UserFactory
    from vouchers import services
    from vouchers.tasks import send_voucher_issued

    started = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    print(f"database: {database}; migrated in {time.perf_counter() - started:.0f} s")
    programme, admin, no_password = build_programme(args.count)
    cache.clear()
    load = ", ".join(f"{n:.1f}" for n in os.getloadavg())
    print(f"load average {load} on {os.cpu_count()} CPUs; peak memory after setup {peak_memory_mb():.0f} MB")

    # Phase 1: issuance. Each holder has a login, so the task has an address to mail the PDF to.
    issue_ms, voucher_pks = [], []
    phase = time.perf_counter()
    deadline = phase + args.time_limit
    for number in range(args.count):
        if time.perf_counter() > deadline:
            print(f"STOPPED issuing after {args.time_limit:.0f} s")
            break
        holder = PersonFactory(
            user=UserFactory(email=f"holder{number}@example.org", password=no_password),
            full_name=f"Holder {number}",
        )
        started = time.perf_counter()
        voucher = services.issue_voucher(programme, holder, acting_user=admin, send_mail=False)
        issue_ms.append((time.perf_counter() - started) * 1000)
        voucher_pks.append(voucher.pk)
    issue_wall = time.perf_counter() - phase
    # The per-voucher figures time issue_voucher alone; the phase's wall time includes making the holders.
    print(summary("issued (issue_voucher)", issue_ms, sum(issue_ms) / 1000))
    print(f"issuance phase including creating {len(issue_ms)} holders with logins: {issue_wall:.1f} s")
    print(f"peak memory after issuance: {peak_memory_mb():.0f} MB")

    # Phase 2: the e-mail task for each voucher, through Celery (eager), PDF attached.
    mail_ms, pdf_bytes, sent = [], 0, 0
    mail.outbox = []
    phase = time.perf_counter()
    deadline = phase + args.time_limit
    for pk in voucher_pks:
        if time.perf_counter() > deadline:
            print(f"STOPPED mailing after {args.time_limit:.0f} s")
            break
        started = time.perf_counter()
        result = send_voucher_issued.delay(pk)
        mail_ms.append((time.perf_counter() - started) * 1000)
        if result.get() is True:
            sent += 1
        for message in mail.outbox:  # keep memory flat: count the PDFs, then drop the messages
            pdf_bytes += sum(len(content) for _name, content, _type in message.attachments)
        mail.outbox = []
    mail_wall = time.perf_counter() - phase
    print(summary("mailed with PDF (send_voucher_issued through Celery)", mail_ms, mail_wall))
    print(
        f"messages sent: {sent} of {len(voucher_pks)}; "
        f"PDFs {pdf_bytes / max(sent, 1) / 1024:.0f} KB on average"
    )
    print(
        f"total: {issue_wall + mail_wall:.1f} s for {len(voucher_pks)} vouchers issued, "
        f"{len(mail_ms)} of them mailed with their PDFs"
    )
    print(f"peak memory (ru_maxrss): {peak_memory_mb():.0f} MB")
    return 0 if sent == len(voucher_pks) == args.count else 1


if __name__ == "__main__":
    # WhiteNoise warns once per process that collectstatic has not run; static files play no part here.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    sys.exit(main())
