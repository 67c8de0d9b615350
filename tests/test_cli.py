"""The ``wintermute`` command line (wintermute.cli)."""

from __future__ import annotations

import json
import re
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

import wintermute
from wintermute.bench.registry import SYSTEMS
from wintermute.cli import main

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


DATA = Path(__file__).resolve().parent.parent / "data"
KRAKEN = DATA / "kraken" / "kraken_ws1_2021-04-05_book1000_checksum.cfraw.txt"


def test_feeds_verify_json_on_real_kraken_data(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["feeds", "verify", str(KRAKEN), "--json"]) == 0
    report = json.loads(capsys.readouterr().out)
    streams = {s["symbol"]: s for s in report["streams"]}
    assert len(streams) == 10
    xbt = streams["XBT/USD"]
    assert xbt["venue"] == "kraken"
    assert xbt["checksum_bad"] == 0
    assert xbt["checksum_ok"] == xbt["updates"] > 5000
    assert xbt["best_bid"] < xbt["best_ask"]
    assert set(xbt) >= {
        "venue", "symbol", "messages", "snapshots", "updates", "checksum_ok", "checksum_bad",
        "gaps", "resyncs", "crossed", "best_bid", "best_ask",
    }  # fmt: skip


def test_feeds_verify_table_and_failures(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["feeds", "verify", str(KRAKEN)]) == 0
    out = capsys.readouterr().out
    assert "XBT/USD" in out
    assert "crc bad" in out
    assert main(["feeds", "verify", str(tmp_path / "missing.txt")]) == 2
    assert "missing.txt" in capsys.readouterr().err
    # A corrupted checksum is reported and makes the command fail.
    lines = KRAKEN.read_text().splitlines()
    target = next(i for i, line in enumerate(lines) if i > 40 and '"c":"' in line)
    corrupted = list(lines)
    crc = lines[target].split('"c":"', 1)[1].split('"', 1)[0]
    wrong = str((int(crc) + 1) % 2**32)
    corrupted[target] = lines[target].replace(f'"c":"{crc}"', f'"c":"{wrong}"', 1)
    bad = tmp_path / "corrupted.cfraw.txt"
    bad.write_text("\n".join(corrupted) + "\n")
    assert main(["feeds", "verify", str(bad), "--json"]) == 1
    report = json.loads(capsys.readouterr().out)
    assert sum(s["checksum_bad"] for s in report["streams"]) == 1


def test_terminal_demo_runs_and_prints_a_summary(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["demo", "--terminal", "--seconds", "0.3", "--commands", "50000"]) == 0
    out = capsys.readouterr().out
    assert "commands/s" in out
    assert "latency p99" in out
    assert "bid" in out
    # Part 2: the threaded engine's per-stage latency table.
    assert "the threaded engine" in out
    for stage in ("gateway_to_risk", "risk_to_match", "match_to_publish", "end_to_end"):
        assert stage in out
    # Part 3: three synthetic venues, live, and the consolidated book.
    assert out.count(" live ") == 3
    assert re.search(r"BTC-USD consolidated \(coinbase \+ kraken\): bbo \d+\.\d+ / \d", out)


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
