"""The compiled extension wintermute._core, as the package exposes it."""

from __future__ import annotations

import re

import wintermute
from wintermute import _core


def test_package_reexports_the_extension_version() -> None:
    assert wintermute.__version__ == _core.__version__
    assert re.fullmatch(r"\d+\.\d+\.\d+.*", wintermute.__version__)


def test_build_info_describes_this_build() -> None:
    info = wintermute.build_info()
    assert info["version"] == wintermute.__version__
    assert info["profile"] in {"debug", "release"}
    assert info["target_arch"]
    assert info["target_os"]


def test_distribution_version_is_the_crate_version() -> None:
    from importlib.metadata import version

    assert version("wintermute-engine") == wintermute.__version__
