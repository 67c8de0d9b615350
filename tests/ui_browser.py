"""The browser of the web UI tests: Debian's headless Chromium (the ``chromium`` package) driven by
Playwright for Python, and a page that fails its test on any console error or uncaught exception.

``tests/conftest.py`` holds the ``browser`` fixture; each UI test module opens its page on its own
server with :func:`watched_page`. Under ``CI=true`` a missing Chromium is a failure, not a skip.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Page, sync_playwright
from playwright.sync_api import Error as PlaywrightError

CI = os.environ.get("CI") == "true"


def chromium_path() -> str:
    """Debian's Chromium; a skip without it (a failure under CI)."""
    path = shutil.which("chromium") or shutil.which("chromium-browser")
    if path is None and Path("/usr/bin/chromium").exists():
        path = "/usr/bin/chromium"
    if path is None:
        message = "chromium is not installed (apt-get install chromium)"
        if CI:
            pytest.fail(f"{message}; CI=true requires it")
        pytest.skip(message)
    return path


@contextmanager
def launched_chromium() -> Iterator[Browser]:
    """Headless Chromium, closed on exit."""
    path = chromium_path()
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=path, args=["--no-sandbox"])
        yield b
        b.close()


@contextmanager
def watched_page(
    browser: Browser, url: str, *, timeout_ms: int, ready: str | None = None
) -> Iterator[Page]:
    """The UI at ``url`` in a fresh 1440x900 page; once the ``ready`` JavaScript expression (if
    any) holds, the page is handed over, and on exit any console error in it fails the test."""
    context = browser.new_context(viewport={"width": 1440, "height": 900})
    p = context.new_page()
    errors: list[str] = []

    def on_console(m: ConsoleMessage) -> None:
        if m.type == "error":
            errors.append(m.text)

    p.on("console", on_console)
    p.on("pageerror", lambda e: errors.append(f"uncaught: {e}"))
    p.set_default_timeout(timeout_ms)
    p.goto(url + "/")
    if ready is not None:
        try:
            p.wait_for_function(ready)
        except PlaywrightError as e:
            raise AssertionError(f"the page did not start: {e}; console errors: {errors}") from None
    yield p
    context.close()
    assert errors == [], f"console errors in the page: {errors}"
