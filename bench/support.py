"""What the benchmark scripts share: pointing Django at a fresh database, a throwaway PostgreSQL server,
timing, counting queries, and the memory of this process.

The scripts run as ``uv run python bench/NAME.py``, so ``bench/`` is first on sys.path and they import
this module as ``support``. The project itself is imported lazily here: each script puts the project root
on sys.path before it calls these functions.
"""

import argparse
import contextlib
import os
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

# ------------------------------------------------------------------------------------------- the database


def setup(database: Path, *, fresh: bool = True, migrate: bool = True) -> None:
    """Set Django up on DATABASE_URL, or when it is unset on the SQLite file ``database`` (deleted first
    when ``fresh``), and migrate the database."""
    os.environ["DJANGO_SETTINGS_MODULE"] = "livinglab.settings.dev"
    # DEBUG would keep every query in memory and skew the time and memory figures.
    os.environ["DEBUG"] = "false"
    if not os.environ.get("DATABASE_URL"):
        database.parent.mkdir(parents=True, exist_ok=True)
        if fresh:
            for suffix in ("", "-wal", "-shm", "-journal"):
                Path(f"{database}{suffix}").unlink(missing_ok=True)
        os.environ["DATABASE_URL"] = f"sqlite:///{database}"
    import django

    django.setup()
    if migrate:
        from django.core.management import call_command

        call_command("migrate", verbosity=0)


def create_database(url: str) -> None:
    """Create the empty ``livinglab`` database on the throwaway server of tests.harness at ``url``."""
    from tests.harness import postgres_bin

    port = url.rsplit(":", 1)[1].split("/", 1)[0]
    subprocess.run(
        [postgres_bin("createdb"), "-h", "127.0.0.1", "-p", port, "-U", "postgres", "livinglab"], check=True
    )


def unwind_on_sigterm() -> None:
    """Turn SIGTERM into SystemExit(143), so that a script stopped from outside still leaves its ``with``
    blocks and stops and removes the servers it started."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))


@contextlib.contextmanager
def throwaway_postgres():
    """A PostgreSQL server of its own on loopback with an empty ``livinglab`` database, stopped and removed
    at the end (also when the script gets SIGTERM); yields the database URL."""
    from tests.harness import postgres_server

    unwind_on_sigterm()
    with postgres_server() as url:
        create_database(url)
        yield url


def add_postgres_flag(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--postgres", action="store_true", help="start a throwaway PostgreSQL server and measure on it"
    )


def run_on_database(args: argparse.Namespace, run) -> None:
    """``run(args)``: with ``--postgres`` on a throwaway PostgreSQL server, else on the database setup()
    chooses (DATABASE_URL, or a fresh SQLite file)."""
    if args.postgres:
        with throwaway_postgres() as url:
            os.environ["DATABASE_URL"] = url
            run(args)
    else:
        run(args)


# ---------------------------------------------------------------------------------------------- timing


def timed(fn, runs: int) -> tuple[float, float]:
    """Median and 95th percentile of ``runs`` calls of ``fn``, in milliseconds."""
    times = []
    for _i in range(runs):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.95))]


def percentile(values: list[float], fraction: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


def counting(log: list[str]):
    """A database execute wrapper that appends each statement to ``log``."""

    def wrapper(execute, sql, params, many, context):
        log.append(sql)
        return execute(sql, params, many, context)

    return wrapper


# ---------------------------------------------------------------------------------------------- memory


def resident_kb(field: str) -> int:
    """VmRSS (now) or VmHWM (peak) of this process from /proc/self/status in kB (Linux), 0 elsewhere."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith(field + ":"):
                return int(line.split()[1])
    except OSError:
        pass
    return 0


def reset_peak_rss() -> bool:
    """Reset the kernel's high-water mark of this process's resident set (Linux: clear_refs 5)."""
    try:
        Path("/proc/self/clear_refs").write_text("5")
        return True
    except OSError:
        return False
