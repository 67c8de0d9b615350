"""Shared test fixtures.

Under ``CI=true`` a test never skips because a package is missing: ``.ci/run`` installs
everything, so a missing package there is a failure to report.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

import pytest

if TYPE_CHECKING:
    from playwright.sync_api import Browser

CI = os.environ.get("CI") == "true"


def _require(module: str) -> None:
    if importlib.util.find_spec(module) is not None:
        return
    message = f"{module} is not installed (pip install -e '.[peers]')"
    if CI:
        pytest.fail(f"{message}; CI=true requires it")
    pytest.skip(message)


@pytest.fixture
def require() -> Callable[[str], None]:
    """``require("order_book")``: skip the test when the module is missing, fail it under CI."""
    return _require


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """Headless Chromium for the web UI tests (``ui_browser``), one per test module."""
    from ui_browser import launched_chromium

    with launched_chromium() as b:
        yield b
