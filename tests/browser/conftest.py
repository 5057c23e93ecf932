"""Browser fixtures: Debian's Chromium driven through Playwright's sync API.

No browser is downloaded: the tests use /usr/bin/chromium and fail (never
skip) when it is missing.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, Page, expect, sync_playwright

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]
DEFAULT_TIMEOUT_MS = 15_000

# Playwright's sync API keeps its asyncio loop "running" in the main thread
# from sync_playwright().start() until stop(), even while test code runs, so
# Django's async-unsafe guard would refuse every ORM call made by the test
# (tally_run, deliver_all, factories). The browser fixture lives for the whole
# session, so tests collected after this folder run with that loop too: the
# variable is set at import time, not per test. Test-only; never in settings.
os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

HERE = Path(__file__).resolve().parent


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Every test in this folder drives the browser: mark it ``browser``."""
    for item in items:
        if HERE in Path(item.path).resolve().parents:
            item.add_marker(pytest.mark.browser)


@pytest.fixture(scope="session")
def browser() -> Iterator[Browser]:
    if not CHROMIUM.is_file() or not os.access(CHROMIUM, os.X_OK):
        pytest.fail(
            f"The browser tests need Debian's Chromium at {CHROMIUM}; "
            "install it: apt-get install -y chromium",
            pytrace=False,
        )
    expect.set_options(timeout=DEFAULT_TIMEOUT_MS)
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=str(CHROMIUM), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        playwright.stop()


@pytest.fixture
def new_page(browser: Browser) -> Iterator[Callable[[], Page]]:
    """Open a page in a fresh browser context (its own cookies): one per person."""
    contexts = []

    def open_page() -> Page:
        context = browser.new_context()
        context.set_default_timeout(DEFAULT_TIMEOUT_MS)
        context.set_default_navigation_timeout(DEFAULT_TIMEOUT_MS)
        # Chromium fetches /favicon.ico on its own after each page load. Answer
        # it in the browser so that no request reaches the live server behind
        # the test's back: with SQLite the live server shares the test's
        # in-memory connection, and every server request should be over by
        # the time the action that caused it returns.
        context.route("**/favicon.ico", lambda route: route.fulfill(status=204))
        contexts.append(context)
        return context.new_page()

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def page(new_page: Callable[[], Page]) -> Page:
    """A page in a fresh browser context for this test."""
    return new_page()
