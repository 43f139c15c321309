"""The coordinator's panel pages on a large panel: median server time and query count.

    uv run python bench/panel_draw.py                 # first: builds 100,000 participants under var/bench/
    uv run python bench/panel_pages.py                # then: measures the pages on that database
    uv run python bench/panel_pages.py --runs 50 --database postgres://user@127.0.0.1:5432/livinglab

Measures, through ``django.test.Client`` signed in as the panel's coordinator, ``--runs`` requests each after
two untimed ones: the panel list, the member list (first page and a page deep in the list), a member search
by name, by status and by age band, the panel overview (composition charts and fatigue) and
``/healthz/`` (the floor). Prints the median and 95th percentile server time and the number of queries of
each request; the query count is the same on page 1 and page 2,000 and for any panel size (pinned in
tests/pilots/test_panel_views.py).
"""

import argparse
import os
import sys
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH_DIR))
sys.path.insert(0, str(BENCH_DIR.parent))

from panel_draw import SQLITE_FILE  # noqa: E402
from support import counting, timed  # noqa: E402


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--runs", type=int, default=30)
    parser.add_argument("--database", help="a database URL (default: the SQLite file of bench/panel_draw.py)")
    args = parser.parse_args()
    if not args.database and not SQLITE_FILE.exists():
        sys.exit(f"{SQLITE_FILE} does not exist: run bench/panel_draw.py first")
    os.environ["DJANGO_SETTINGS_MODULE"] = "livinglab.settings.dev"
    os.environ["DEBUG"] = "false"
    os.environ["DATABASE_URL"] = args.database or f"sqlite:///{SQLITE_FILE}"
    os.environ.setdefault("ALLOWED_HOSTS", "testserver,127.0.0.1,localhost")
    import django

    django.setup()
    from allauth.mfa.models import Authenticator
    from allauth.mfa.totp.internal.auth import TOTP, generate_totp_secret
    from django.db import connection
    from django.test import Client

    from livinglab.models import User
    from pilots.models import Panel, PanelMembership

    panel = Panel.objects.get(slug="bench-panel")
    coordinator = User.objects.get(email="bench-coordinator@example.org")
    if not Authenticator.objects.filter(user=coordinator, type=Authenticator.Type.TOTP).exists():
        TOTP.activate(coordinator, generate_totp_secret())
    members = PanelMembership.objects.filter(panel=panel)
    someone = members.select_related("person").order_by("pk")[members.count() // 2].person.full_name
    pages = members.count() // 20
    client = Client()
    client.force_login(coordinator)
    base = f"/panels/{panel.slug}"
    requests = [
        ("floor: /healthz/", "/healthz/"),
        ("panel list", "/panels/"),
        ("member list, page 1", f"{base}/members/"),
        (f"member list, page {pages:,}", f"{base}/members/?page={pages}"),
        ("member search by name", f"{base}/members/?q={someone.split()[-1]}"),
        ("member search by status", f"{base}/members/?status=paused"),
        ("member search by age band", f"{base}/members/?age_band=65-74&page=3"),
        ("panel overview (charts, fatigue)", f"{base}/"),
    ]
    print(f"{connection.vendor}: {members.count():,} members; {args.runs} timed requests per page\n")
    print(f"{'page':40} {'median ms':>10} {'p95 ms':>8} {'queries':>8}")
    for label, url in requests:
        for _ in range(2):
            response = client.get(url)
            assert response.status_code == 200, (url, response.status_code)
        # Counted by a wrapper: each request resets Django's own query log when it starts.
        queries: list[str] = []
        with connection.execute_wrapper(counting(queries)):
            client.get(url)
        median, p95 = timed(lambda url=url: client.get(url), args.runs)
        print(f"{label:40} {median:10.1f} {p95:8.1f} {len(queries):8d}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
