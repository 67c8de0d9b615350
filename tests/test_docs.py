"""The documented examples are tests: every docstring example in the package runs and passes."""

from __future__ import annotations

import doctest
import importlib

import pytest

MODULES = ["wintermute", "wintermute.engine", "wintermute.batch"]


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0
