"""The ``wintermute`` command line (wintermute.cli)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import wintermute
from wintermute.bench.registry import SYSTEMS
from wintermute.cli import EXIT_NOT_BUILT, main

Require = Callable[[str], None]


def _exit_code(argv: list[str]) -> int:
    with pytest.raises(SystemExit) as exited:
        main(argv)
    code = exited.value.code
    assert isinstance(code, int)
    return code


def test_version(capsys: pytest.CaptureFixture[str]) -> None:
    assert _exit_code(["--version"]) == 0
    assert capsys.readouterr().out.strip() == f"wintermute {wintermute.__version__}"


def test_a_command_is_required(capsys: pytest.CaptureFixture[str]) -> None:
    assert _exit_code([]) == 2
    assert "required" in capsys.readouterr().err


@pytest.mark.parametrize("argv", [["feeds", "verify", "some.txt", "--json"]])
def test_placeholders_say_not_built_and_fail(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(argv) == EXIT_NOT_BUILT != 0
    assert "not built yet" in capsys.readouterr().err


@pytest.mark.parametrize(
    "argv",
    [
        ["feeds"],
        ["feeds", "verify"],
        ["bench", "--orders", "0"],
        ["bench", "--orders", "many"],
        ["bench", "--seed", "-1"],
        ["bench", "--warmup", "-5"],
        ["bench", "--system", "nope"],
        ["bench", "--frobnicate"],
    ],
)
def test_bad_arguments_are_usage_errors(
    argv: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    assert _exit_code(argv) == 2
    assert "usage:" in capsys.readouterr().err


def _bench_json(argv: list[str], capsys: pytest.CaptureFixture[str]) -> dict[str, object]:
    assert main(["bench", "--json", *argv]) == 0
    document: dict[str, object] = json.loads(capsys.readouterr().out)
    return document


def test_bench_json_shape(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["--seed", "5", "--orders", "500", "--system", "sortedcontainers"]
    document = _bench_json(argv, capsys)
    assert list(document) == ["workload", "results", "notes"]
    workload = document["workload"]
    assert isinstance(workload, dict)
    assert (workload["seed"], workload["orders"], workload["warmup_orders"]) == (5, 500, 1000)
    results = document["results"]
    assert isinstance(results, list)
    (row,) = results
    assert list(row) == ["system", "ops_per_s", "p50_ns", "p99_ns", "p999_ns"]
    assert row["system"] == "sortedcontainers"
    assert row["ops_per_s"] > 0
    assert 0 < row["p50_ns"] <= row["p99_ns"] <= row["p999_ns"]
    notes = document["notes"]
    assert isinstance(notes, list)
    assert all(isinstance(note, str) for note in notes)


def test_bench_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "--orders", "300", "--system", "sortedcontainers"]) == 0
    out = capsys.readouterr().out
    assert out.splitlines()[0].split()[:2] == ["system", "ops/s"]
    assert "sortedcontainers" in out


@pytest.mark.slow
def test_console_script_runs_every_installed_peer(require: Require) -> None:
    for module in ("sortedcontainers", "order_book", "nautilus_trader"):
        require(module)
    script = Path(sys.executable).with_name("wintermute")
    assert script.exists(), "the console script is not installed (run ./scripts/bootstrap)"
    done = subprocess.run(
        [str(script), "bench", "--json", "--orders", "2000", "--seed", "1"],
        capture_output=True,
        text=True,
        check=True,
        timeout=300,
    )
    document = json.loads(done.stdout)
    systems = [row["system"] for row in document["results"]]
    assert {"sortedcontainers", "order-book", "nautilus_trader"} <= set(systems)
    assert systems == [s for s in SYSTEMS if s in systems]
    for row in document["results"]:
        assert row["ops_per_s"] > 0
    if sys.version_info < (3, 12):
        assert any("matching-engine left out" in note for note in document["notes"])
