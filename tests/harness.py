"""Run the whole suite twice: on the embedded SQLite default, then on a throwaway PostgreSQL server that this
harness initialises, starts on loopback and removes afterwards.

    python -m tests.harness [extra pytest arguments]

PostgreSQL refuses to run as root, so when started as root the server runs as the ``postgres`` user.
"""

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def postgres_bin(name: str) -> str:
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    found = candidates[0] if candidates else shutil.which(name)
    if not found:
        sys.exit(f"PostgreSQL's {name} was not found: install the postgresql package (see .ci/run).")
    return found


@contextlib.contextmanager
def postgres_server():
    as_root = os.geteuid() == 0
    workdir = tempfile.mkdtemp(prefix="livinglab-pg-")
    data, sock = Path(workdir, "data"), Path(workdir, "sock")
    sock.mkdir()
    run_as: list[str] = []
    if as_root:
        pw = pwd.getpwnam("postgres")
        for path in (workdir, data.parent, sock):
            os.chown(path, pw.pw_uid, pw.pw_gid)
        run_as = ["runuser", "-u", "postgres", "--"]
    port = free_port()
    subprocess.run(
        [
            *run_as,
            postgres_bin("initdb"),
            "-D",
            str(data),
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-sync",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    options = (
        f"-c listen_addresses=127.0.0.1 -c port={port} -c unix_socket_directories={sock} -c fsync=off "
        "-c synchronous_commit=off -c full_page_writes=off -c max_connections=200"
    )
    subprocess.run(
        [
            *run_as,
            postgres_bin("pg_ctl"),
            "-D",
            str(data),
            "-o",
            options,
            "-l",
            str(Path(workdir, "server.log")),
            "-w",
            "start",
        ],
        check=True,
        stdout=subprocess.DEVNULL,
    )
    try:
        yield f"postgres://postgres@127.0.0.1:{port}/livinglab"
    finally:
        subprocess.run(
            [*run_as, postgres_bin("pg_ctl"), "-D", str(data), "-m", "immediate", "stop"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            check=False,
        )
        shutil.rmtree(workdir, ignore_errors=True)


def pytest(label: str, env: dict, args: list[str]) -> int:
    print(f"\n===== test suite on {label} =====", flush=True)
    started = time.monotonic()
    code = subprocess.call([sys.executable, "-m", "pytest", *args], cwd=ROOT, env=env)
    print(f"===== {label}: exit {code} after {time.monotonic() - started:.0f} s =====", flush=True)
    return code


def main(argv: list[str]) -> int:
    # Stopped from outside (CI time-out, kill): unwind so that the PostgreSQL server is stopped and removed.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    base_env = {k: v for k, v in os.environ.items() if k not in {"DATABASE_URL", "DJANGO_SETTINGS_MODULE"}}
    sqlite = pytest("SQLite", base_env, argv)
    with postgres_server() as url:
        postgresql = pytest("PostgreSQL", {**base_env, "DATABASE_URL": url}, argv)
    verdict = {0: "passed"}
    print(f"\nSQLite: {verdict.get(sqlite, 'FAILED')}; PostgreSQL: {verdict.get(postgresql, 'FAILED')}")
    return sqlite or postgresql


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
