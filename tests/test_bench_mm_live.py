"""``wintermute bench mm-live``: both rows run on the same stepped market in one run, each
step requotes, and the report gives each row's decision latency and their ratio."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from wintermute.bench import mm_live

ROOT = Path(__file__).resolve().parents[1]


def test_both_rows_requote_on_every_step_and_the_ratio_is_of_their_medians() -> None:
    doc = mm_live.run(steps=20, gap_ms=10.0)
    builtin, python = doc["rows"]
    assert (builtin["row"], python["row"]) == ("builtin", "python FixedSpread")
    # Every step moves the fair value 10 ticks: at least one decision per step in each row.
    assert builtin["decisions"] >= 20
    assert python["decisions"] >= 20
    assert python["events"] >= 20
    assert python["conflated"] == 0
    assert python["strategy_ns_per_event"] > 0
    assert builtin["p50_ns"] > 0
    assert doc["p50_ratio"] == python["p50_ns"] / builtin["p50_ns"]
    table = mm_live.to_table(doc)
    assert "python / builtin" in table
    assert table.count("\n") == 4


def test_the_command_prints_the_table() -> None:
    cmd = [sys.executable, "-m", "wintermute.cli", "bench", "mm-live", "--steps", "10"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("wintermute bench mm-live: 10 steps")
    assert "python FixedSpread" in done.stdout
