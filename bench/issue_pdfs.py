"""Issuing vouchers and e-mailing each holder their voucher PDF, through the Celery task, timed.

    uv run python bench/issue_pdfs.py                # 500 vouchers, throwaway SQLite file under var/bench/
    uv run python bench/issue_pdfs.py --count 10000
    uv run python bench/issue_pdfs.py --postgres postgres://user@127.0.0.1:5432/livinglab_bench
    uv run python bench/issue_pdfs.py --count 10000 --celery-workers 2   # real workers, PostgreSQL, Redis

Builds an open fixed-value programme with budget for ``--count`` vouchers and three approved firms (their
solutions are listed in every PDF), issues a voucher to each of ``--count`` holders through
``vouchers.services.issue_voucher`` (without e-mail), then runs ``send_voucher_issued`` for every voucher.
That is the whole task: the once-only claim in the cache, loading the voucher, rendering its PDF with
WeasyPrint (QR code included), building and sending the message.

By default the task runs in this process (``CELERY_TASK_ALWAYS_EAGER``: ``.delay()`` runs it at once) with
Django's in-memory e-mail backend. With ``--celery-workers N`` it goes through real Celery instead: the
script starts its own Redis (broker and shared cache) and, unless ``--postgres`` is given, a throwaway
PostgreSQL, then ``celery -A livinglab worker --pool prefork --concurrency N``; it enqueues every task and
waits until every message is logged by the worker's e-mail backend (``MailLog`` below).
Prints the time of both phases, the median and 95th percentile per voucher, and the peak memory.
See bench/README.md.
"""

import argparse
import contextlib
import logging
import os
import re
import resource
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import warnings
from decimal import Decimal
from pathlib import Path

from django.core.mail.backends.base import BaseEmailBackend
from support import throwaway_postgres, unwind_on_sigterm
from voucher_world import enrolled_firm, open_fixed_programme

BENCH_DIR = Path(__file__).resolve().parent
BASE_DIR = BENCH_DIR.parent
LOG_DIR = BASE_DIR / "var" / "bench"
SQLITE_FILE = LOG_DIR / "issue_pdfs.sqlite3"
WORKER_LOG = LOG_DIR / "issue_pdfs-worker.log"
FACE_VALUE = Decimal("300.00")

# The worker's settings: the dev profile, with every message logged by MailLog. Written to a temp dir.
WORKER_SETTINGS = """from livinglab.settings.dev import *  # noqa: F403

EMAIL_BACKEND = "issue_pdfs.MailLog"
ISSUE_PDFS_MAIL_LOG = {mail_log!r}
"""
# Celery's log line for a finished task (celery.app.trace.LOG_SUCCESS), and for one that raised.
TASK_SUCCEEDED = re.compile(
    r"Task vouchers\.tasks\.send_voucher_issued\[([^\]]+)\] succeeded in ([0-9.e-]+)s"
)
TASK_RAISED = re.compile(r"Task vouchers\.tasks\.send_voucher_issued\[([^\]]+)\] raised")


def parse_args() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--count", type=int, default=500, help="vouchers to issue and mail (default 500)")
    parser.add_argument(
        "--postgres", metavar="URL", help="a throwaway PostgreSQL DATABASE_URL instead of SQLite"
    )
    parser.add_argument(
        "--celery-workers",
        type=int,
        default=0,
        metavar="N",
        help="mail through a real Celery worker with N prefork processes, Redis and PostgreSQL (a throwaway "
        "server unless --postgres is given); default 0: the task runs eagerly in this process",
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
    if args.celery_workers < 0:
        parser.error("--celery-workers must be 0 (eager) or more")
    return args


def configure(args: argparse.Namespace, redis_port: int | None) -> str:
    """Point Django at the benchmark database; tasks eagerly with mail in memory, or to the broker on
    ``redis_port`` (database 0; the cache, and with it the once-only claim, in database 1). Before
    django.setup(); the worker inherits this environment."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "livinglab.settings.dev"
    os.environ["DEBUG"] = "false"
    if redis_port is None:
        os.environ["CELERY_BROKER_URL"] = ""  # no broker: Celery runs tasks eagerly, in this process
    else:
        os.environ["CELERY_BROKER_URL"] = f"redis://127.0.0.1:{redis_port}/0"
        os.environ["CACHE_URL"] = f"redis://127.0.0.1:{redis_port}/1"
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

    # Celery logs every task it runs at INFO: thousands of lines that say nothing here.
    logging.getLogger("celery").setLevel(logging.WARNING)
    if redis_port is None:
        settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
        if not settings.CELERY_TASK_ALWAYS_EAGER:
            sys.exit("Celery is not eager in this environment: unset CELERY_BROKER_URL.")
    return label


class MailLog(BaseEmailBackend):
    """The worker's e-mail backend with --celery-workers: serialises each message as SMTP would send it,
    then appends one line per message to the file ISSUE_PDFS_MAIL_LOG: the time, the size of its PDF
    attachments (only attachments that are PDFs) and the size of the whole message, in bytes."""

    def send_messages(self, email_messages) -> int:
        from django.conf import settings

        lines = []
        for message in email_messages:
            size = len(message.message().as_bytes())
            pdf = sum(
                len(content)
                for _name, content, mimetype in message.attachments
                if mimetype == "application/pdf" and content.startswith(b"%PDF-")
            )
            lines.append(f"{time.time():.6f} {pdf} {size}\n")
        # One write with O_APPEND: the lines of concurrent worker processes never interleave.
        descriptor = os.open(settings.ISSUE_PDFS_MAIL_LOG, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o600)
        try:
            os.write(descriptor, "".join(lines).encode())
        finally:
            os.close(descriptor)
        return len(email_messages)


# --------------------------------------------------------------------------------- servers and worker


@contextlib.contextmanager
def redis_server(workdir: Path):
    """A Redis server on a free loopback port, without persistence, stopped at the end; yields the port."""
    from tests.harness import free_port

    binary = shutil.which("redis-server")
    if binary is None:
        sys.exit("redis-server is not installed (Debian package redis-server).")
    port = free_port()
    command = [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    # Its own session: a Ctrl-C in the terminal reaches this script, which then stops the server itself.
    server = subprocess.Popen(
        [*command, "--dir", str(workdir)], stdout=subprocess.DEVNULL, start_new_session=True
    )
    try:
        deadline = time.monotonic() + 10
        while not port_open(port):
            if server.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"redis-server did not start on port {port}")
            time.sleep(0.05)
        yield port
    finally:
        stop(server)


def port_open(port: int) -> bool:
    with socket.socket() as probe:
        return probe.connect_ex(("127.0.0.1", port)) == 0


def stop(process: subprocess.Popen, timeout: float = 30) -> None:
    """Stop a process this script started in its own session: SIGTERM (a Celery worker then finishes its
    tasks in hand and stops its children), and SIGKILL for the whole session if that takes too long."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)


@contextlib.contextmanager
def celery_worker(concurrency: int, workdir: Path):
    """``celery -A livinglab worker`` with ``concurrency`` prefork children, in this process's environment
    (database, broker, cache) with MailLog as its e-mail backend; yields (process, mail log) once ready.
    INFO level: the per-task runtimes are read from its log, WORKER_LOG."""
    mail_log = workdir / "mail.log"
    (workdir / "issue_pdfs_worker_settings.py").write_text(WORKER_SETTINGS.format(mail_log=str(mail_log)))
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "issue_pdfs_worker_settings",
        "PYTHONPATH": os.pathsep.join(str(path) for path in (workdir, BENCH_DIR, BASE_DIR)),
    }
    command = [sys.executable, "-m", "celery", "-A", "livinglab", "worker", "--pool", "prefork"]
    command += ["--concurrency", str(concurrency), "--loglevel", "INFO", "--hostname", "issue-pdfs@%h"]
    LOG_DIR.mkdir(parents=True, exist_ok=True)
    with WORKER_LOG.open("wb") as log:
        process = subprocess.Popen(
            command, cwd=BASE_DIR, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True
        )
    try:
        deadline = time.monotonic() + 120
        while " ready." not in WORKER_LOG.read_text(errors="replace"):
            if process.poll() is not None or time.monotonic() > deadline:
                sys.exit(f"the Celery worker did not start; see {WORKER_LOG}")
            time.sleep(0.2)
        yield process, mail_log
    finally:
        stop(process)


def process_tree_rss_mb(pid: int) -> tuple[float, float]:
    """Resident memory of a process and its children: (total, largest child), in MB."""
    ps = subprocess.run(["ps", "-o", "pid=,rss=", "-p", str(pid), "--ppid", str(pid)], capture_output=True)
    sizes = {int(p): int(rss) / 1024 for p, rss in (line.split() for line in ps.stdout.decode().splitlines())}
    children = [size for child, size in sizes.items() if child != pid]
    return sum(sizes.values()), max(children, default=0.0)


def read_lines(path: Path) -> list[str]:
    return path.read_text(errors="replace").splitlines() if path.exists() else []


def task_runtimes_ms(log_lines: list[str]) -> tuple[dict[str, float], set[str]]:
    """From the worker's log: runtime of each send_voucher_issued that succeeded, ids of those that raised.
    By task id: the same line may be logged twice (Celery's handler and Django's console handler)."""
    succeeded, raised = {}, set()
    for line in log_lines:
        if match := TASK_SUCCEEDED.search(line):
            succeeded[match[1]] = float(match[2]) * 1000
        elif match := TASK_RAISED.search(line):
            raised.add(match[1])
    return succeeded, raised


# ------------------------------------------------------------------------------------------------ data


def build_programme(count: int):
    """An open programme run by a cluster, with budget for exactly ``count`` vouchers and three firms."""
    import factory
    from django.contrib.auth.hashers import make_password

    from livinglab.factories import OrganisationFactory, UserFactory
    from livinglab.models import Organisation

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
        enrolled_firm(
            programme,
            name=f"Bench Installer {number}",
            email=f"bench-installer{number}@example.org",
            solution=f"Insulation package {number}",
            price=Decimal("2400.00"),
            password=no_password,
            admin=admin,
        )
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


# --------------------------------------------------------------------------------------------- mailing


def mail_eagerly(voucher_pks: list[int], time_limit: float) -> tuple[int, float]:
    """Phase 2 by default: the task for each voucher through eager Celery in this process, mail in memory."""
    from django.core import mail

    from vouchers.tasks import send_voucher_issued

    mail_ms, pdf_bytes, sent = [], 0, 0
    mail.outbox = []
    phase = time.perf_counter()
    deadline = phase + time_limit
    for pk in voucher_pks:
        if time.perf_counter() > deadline:
            print(f"STOPPED mailing after {time_limit:.0f} s")
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
    return sent, mail_wall


def mail_through_workers(
    voucher_pks: list[int], args: argparse.Namespace, workdir: Path
) -> tuple[int, float]:
    """Phase 2 with --celery-workers: start the worker, enqueue the task for every voucher, wait until the
    worker's MailLog has a line for each; time from the first enqueue to the last message."""
    from vouchers.tasks import send_voucher_issued

    count, workers = len(voucher_pks), args.celery_workers
    with celery_worker(workers, workdir) as (worker, mail_log):
        total_rss, child_rss = process_tree_rss_mb(worker.pid)
        print(
            f"Celery worker ready: {workers} prefork processes, {total_rss:.0f} MB resident in all; "
            f"log {WORKER_LOG.relative_to(BASE_DIR)}"
        )
        started = time.time()
        for pk in voucher_pks:
            send_voucher_issued.delay(pk)
        print(f"enqueued {count} tasks in {time.time() - started:.1f} s")
        peak_total, peak_child, reported = total_rss, child_rss, started
        while True:
            mails = read_lines(mail_log)
            total_rss, child_rss = process_tree_rss_mb(worker.pid)
            peak_total, peak_child = max(peak_total, total_rss), max(peak_child, child_rss)
            now = time.time()
            if len(mails) >= count:
                break
            if worker.poll() is not None:
                print(f"the Celery worker stopped (exit code {worker.returncode}); see {WORKER_LOG}")
                break
            if now - started > args.time_limit:
                print(f"STOPPED waiting for the mail after {args.time_limit:.0f} s")
                break
            if now - reported >= 10:  # the worker's log grows large: read it only now and then
                succeeded, raised = task_runtimes_ms(read_lines(WORKER_LOG))
                if len(succeeded) + len(raised) >= count:
                    print("every task has finished, but not every one sent its message")
                    break
                print(
                    f"  {now - started:5.0f} s: {len(mails)} of {count} mailed, {total_rss:.0f} MB resident"
                )
                reported = now
            time.sleep(0.5)
    # Read once the worker has stopped: it logs a task's runtime just after the task has sent its message.
    succeeded, raised = task_runtimes_ms(read_lines(WORKER_LOG))
    fields = [line.split() for line in mails]
    last_mail = max((float(stamp) for stamp, _pdf, _size in fields), default=now)
    wall = last_mail - started
    runtimes = list(succeeded.values())
    if runtimes:
        print(summary(f"mailed with PDF (send_voucher_issued, {workers} Celery workers)", runtimes, wall))
    print(
        f"messages mailed: {len(mails)} of {count}; tasks succeeded {len(succeeded)}, raised {len(raised)}; "
        f"from the first enqueue to the last message {wall:.1f} s ({len(mails) / wall:.1f} PDFs/s)"
    )
    if fields:
        pdf_kb = sum(int(pdf) for _stamp, pdf, _size in fields) / len(fields) / 1024
        message_kb = sum(int(size) for _stamp, _pdf, size in fields) / len(fields) / 1024
        print(f"PDFs {pdf_kb:.0f} KB on average, {message_kb:.0f} KB per message as sent")
    print(
        "the per-PDF figures are Celery's runtime of each task in its worker process (the queue wait "
        "left out); the rate is over the whole wall time"
    )
    print(f"worker peak resident memory: {peak_total:.0f} MB in all, {peak_child:.0f} MB the largest child")
    return len(mails), wall


def main() -> int:
    args = parse_args()
    sys.stdout.reconfigure(line_buffering=True)  # progress lines show at once, also through tee
    # Stopped from outside: the worker, Redis and PostgreSQL are stopped and removed on the way out.
    unwind_on_sigterm()
    sys.path.insert(0, str(BASE_DIR))
    with contextlib.ExitStack() as servers:
        workdir = redis_port = None
        if args.celery_workers:
            workdir = Path(servers.enter_context(tempfile.TemporaryDirectory(prefix="issue-pdfs-")))
            if not args.postgres:  # the worker processes and this one need a database server to share
                args.postgres = servers.enter_context(throwaway_postgres())
            redis_port = servers.enter_context(redis_server(workdir))
        database = configure(args, redis_port)
        return run(args, database, workdir)


def run(args: argparse.Namespace, database: str, workdir: Path | None) -> int:
    from django.core.cache import cache
    from django.core.management import call_command
    from django.db import connections

    from livinglab.factories import PersonFactory, UserFactory
    from vouchers import services

    started = time.perf_counter()
    call_command("migrate", interactive=False, verbosity=0)
    print(f"database: {database}; migrated in {time.perf_counter() - started:.0f} s")
    programme, admin, no_password = build_programme(args.count)
    cache.clear()
    print(
        f"load average {load_average()} on {os.cpu_count()} CPUs; "
        f"peak memory after setup {peak_memory_mb():.0f} MB"
    )

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

    # Phase 2: the e-mail task for each voucher, PDF attached.
    if workdir is None:
        sent, mail_wall = mail_eagerly(voucher_pks, args.time_limit)
    else:
        sent, mail_wall = mail_through_workers(voucher_pks, args, workdir)
    print(
        f"total: {issue_wall + mail_wall:.1f} s for {len(voucher_pks)} vouchers issued, "
        f"{sent} of them mailed with their PDFs"
    )
    print(
        f"peak memory of this process (ru_maxrss): {peak_memory_mb():.0f} MB; load average {load_average()}"
    )
    connections.close_all()
    return 0 if sent == len(voucher_pks) == args.count else 1


def load_average() -> str:
    return ", ".join(f"{n:.1f}" for n in os.getloadavg())


if __name__ == "__main__":
    # WhiteNoise warns once per process that collectstatic has not run; static files play no part here.
    warnings.filterwarnings("ignore", message="No directory at", category=UserWarning)
    try:
        sys.exit(main())
    except KeyboardInterrupt:  # the servers and the worker are stopped by now
        sys.exit("interrupted")
