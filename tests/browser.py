"""Browser fixtures: Debian's Chromium driven by Playwright against pytest-django's live server. They are
registered once, in tests/conftest.py, so that every app's journeys share one Chromium per run.

Every browser test signs in through the real forms, fails on any server error or script error the page
meets, and saves screenshots of its key steps to ``var/screenshots/<test-name>-<step>.png``.
"""

import os
import re
import time
from pathlib import Path

import pyotp
import pytest
from django.conf import settings
from wagtail.models import Locale, Page, Site

from cms.models import HomePage

# Playwright's sync API runs an event loop in this thread; the ORM calls the tests make are synchronous.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-dev-shm-usage",
]
SCREENSHOT_DIR = Path(__file__).resolve().parents[1] / "var" / "screenshots"
TIMEOUT_MS = 15_000


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(item, call):
    """Keep each phase's report on the test item, so that a failed journey leaves a screenshot."""
    report = yield
    setattr(item, f"rep_{report.when}", report)
    return report


def screenshot_prefix(request) -> str:
    return re.sub(r"[^\w.-]+", "-", request.node.name).strip("-")


@pytest.fixture(scope="session")
def browser():
    """One Chromium for the whole run; each test gets its own context (cookies, storage)."""
    if not Path(CHROMIUM).exists():
        pytest.fail(
            f"Chromium is not installed at {CHROMIUM}: `make test` installs Debian's chromium package."
        )
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield chromium
        chromium.close()


@pytest.fixture
def page(browser, live_server, django_db_serialized_rollback, request):
    """A fresh browser tab on the live server. The test fails if a page answers 5xx or throws."""
    for stale in SCREENSHOT_DIR.glob(f"{screenshot_prefix(request)}-*.png"):
        stale.unlink()
    context = browser.new_context(
        base_url=live_server.url,
        locale="en-GB",
        viewport={"width": 1280, "height": 900},
        accept_downloads=True,
    )
    context.set_default_timeout(TIMEOUT_MS)
    tab = context.new_page()
    problems: list[str] = []

    def note_server_error(response):
        if response.status >= 500:
            problems.append(f"{response.status} from {response.url}")

    tab.on("pageerror", lambda error: problems.append(f"script error: {error}"))
    tab.on("response", note_server_error)
    yield tab
    report = getattr(request.node, "rep_call", None)
    if report is not None and report.failed:
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        tab.screenshot(path=str(SCREENSHOT_DIR / f"{screenshot_prefix(request)}-failed.png"), full_page=True)
    context.close()
    assert not problems, "The journey met server or script errors: " + "; ".join(problems)


@pytest.fixture
def shoot(page, request):
    """``shoot("step")`` saves a full-page screenshot named after the test and the step."""
    SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)

    def _shoot(step: str) -> Path:
        path = SCREENSHOT_DIR / f"{screenshot_prefix(request)}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return _shoot


def sign_in(page, email: str, password: str) -> None:
    """Sign in through the real login form."""
    page.goto("/accounts/login/")
    page.locator("input[name=login]").fill(email)
    page.locator("input[name=password]").fill(password)
    page.locator("main form button[type=submit]").first.click()
    page.wait_for_url(lambda url: "/accounts/login/" not in url)


def fresh_totp_code(secret: str, used: set[str], *, margin: float = 4.0) -> str:
    """The authenticator code an app would show now, never one already used, and never one about to
    expire before the form is submitted: waits for the next 30-second window when needed."""
    totp = pyotp.TOTP(secret)
    while True:
        now = time.time()
        left = totp.interval - now % totp.interval
        code = totp.at(now)
        if left >= margin and code not in used:
            used.add(code)
            return code
        time.sleep(left + 0.1)


def home_page():
    """The site's home page, rebuilt when an earlier test emptied the database. A live-server test should
    find the pages the migrations install (serialized rollback), but Playwright's event loop gives this
    thread a new database connection object without the serialized copy, so a flushed database stays
    empty; this puts back what the migrations create: the locale, the root, the home page and the site."""
    home = HomePage.objects.first()
    if home is None:
        Locale.objects.get_or_create(language_code=settings.LANGUAGE_CODE)
        root = Page.get_first_root_node() or Page.add_root(instance=Page(title="Root", slug="root"))
        home = root.add_child(instance=HomePage(title="Living lab", slug="home"))
        Site.objects.update_or_create(
            is_default_site=True,
            defaults={"hostname": "localhost", "port": 80, "root_page": home, "site_name": "livinglab"},
        )
    return home
