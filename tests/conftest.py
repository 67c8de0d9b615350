"""Shared test fixtures.

Under ``CI=true`` a test never skips because a package is missing: ``.ci/run`` installs
everything, so a missing package there is a failure to report.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Callable

import pytest

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
