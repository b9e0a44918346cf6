"""Browser fixtures: Debian's chromium driven by Playwright (sync API) against pytest-django's live server.

The browser is never downloaded: if /usr/bin/chromium is missing the tests are skipped with a loud banner,
or fail when LINLI_REQUIRE_BROWSER=1 (CI sets it so a missing package cannot pass silently).
"""

from __future__ import annotations

import os
import re
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

# Playwright's sync API runs an asyncio loop in this thread; Django's ORM would otherwise refuse to be
# called from the test body. The ORM calls here are ordinary synchronous ones.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
SCREENS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screens"
PHONE = {"width": 390, "height": 844}
DESK = {"width": 1280, "height": 900}
SKIP_PREFIX = "browser tests skipped: "


def _banner(reason: str) -> str:
    line = "!" * 78
    return (
        f"{line}\n!! BROWSER TESTS NOT RUN: {reason}\n"
        "!! Install Debian's package (apt-get install chromium); never `playwright install`.\n"
        "!! Set LINLI_REQUIRE_BROWSER=1 to make this a failure instead of a skip.\n"
        f"{line}"
    )


def _no_browser(config: pytest.Config, reason: str) -> None:
    # pytest captures output during fixtures and throws it away for skips, so step around the capture:
    # a silently skipped browser suite looks exactly like a passing one.
    capture = config.pluginmanager.getplugin("capturemanager")
    if capture is not None:
        with capture.global_and_fixture_disabled():
            sys.stderr.write("\n" + _banner(reason) + "\n")
    else:
        sys.stderr.write("\n" + _banner(reason) + "\n")
    if os.environ.get("LINLI_REQUIRE_BROWSER") == "1":
        pytest.fail(f"browser tests required (LINLI_REQUIRE_BROWSER=1) but {reason}", pytrace=False)
    pytest.skip(SKIP_PREFIX + reason)


def pytest_terminal_summary(terminalreporter: Any) -> None:
    # Read from the reports, not from _MISSING, so that the banner also shows under xdist.
    for report in terminalreporter.stats.get("skipped", []):
        reason = str(getattr(report, "longrepr", ""))
        if SKIP_PREFIX in reason:
            missing = reason.split(SKIP_PREFIX, 1)[1].rstrip("')\"")
            terminalreporter.write_line(_banner(missing), red=True, bold=True)
            return


@pytest.fixture(scope="session")
def browser(pytestconfig: pytest.Config) -> Iterator[Any]:
    if not CHROMIUM.exists():
        _no_browser(pytestconfig, f"{CHROMIUM} is missing")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        _no_browser(pytestconfig, "the playwright package is not installed")
    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


@contextmanager
def _page(browser: Any, live_server: Any, viewport: dict[str, int]) -> Iterator[Any]:
    # A fresh context per test: no cookies or session leak from one test into the next.
    context = browser.new_context(
        base_url=live_server.url, viewport=viewport, locale="zh-CN", accept_downloads=True
    )
    # Everything is local and background jobs run inline, so anything slower than this is a bug.
    context.set_default_timeout(10_000)
    try:
        yield context.new_page()
    finally:
        context.close()


# live_server needs transactional_db: the server thread must see the rows the test body commits.
@pytest.fixture
def phone_page(browser: Any, live_server: Any, transactional_db: None) -> Iterator[Any]:
    with _page(browser, live_server, PHONE) as page:
        yield page


@pytest.fixture
def desk_page(browser: Any, live_server: Any, transactional_db: None) -> Iterator[Any]:
    with _page(browser, live_server, DESK) as page:
        yield page


class Screens:
    """Saves test-artifacts/screens/<test>-<step>.png, full page, so a person can look at them."""

    def __init__(self, test_name: str) -> None:
        self.prefix = re.sub(r"[^\w-]+", "_", test_name)
        SCREENS.mkdir(parents=True, exist_ok=True)

    def __call__(self, page: Any, step: str) -> Path:
        path = SCREENS / f"{self.prefix}-{step}.png"
        page.screenshot(path=str(path), full_page=True)
        return path


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Screens:
    return Screens(request.node.name)


def login(page: Any, username: str, password: str) -> None:
    page.goto("/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", password)
    page.click("button[type=submit]")
    page.wait_for_url(lambda url: "/login/" not in url)
