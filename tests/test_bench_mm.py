"""``wintermute bench mm``: the market maker's latency benchmark from Python and the CLI."""

from __future__ import annotations

import argparse
import json

import pytest

from wintermute.bench import mm_latency
from wintermute.cli import main


def test_a_short_run_measures_every_path_in_order_of_percentile() -> None:
    doc = mm_latency.run([5_000], seconds=0.1, jitter_seconds=0.01, fill_every=10)
    (r,) = doc["results"]
    assert r["system"] == "wintermute-mm@5k"
    assert r["messages"] == 500
    for name in ("tick_to_accept", "tick_to_submit", "fill_to_hedge"):
        lat = r[name]
        assert lat["count"] > 0, name
        assert lat["p50_ns"] <= lat["p99_ns"] <= lat["p999_ns"] <= lat["max_ns"], name
    # Nearly every message requotes both sides: a cancel and a place each.
    assert r["commands"] >= 2 * r["messages"]
    assert r["cut_short"] == 0
    assert r["fills"] > 0
    assert r["host"]["seconds"] == pytest.approx(0.01)
    assert "wintermute-mm@5k" in mm_latency.to_table(doc)


def test_the_cli_prints_the_json_document(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["bench", "mm", "--rates", "2k", "--seconds", "0.1", "--jitter-seconds", "0"])
    assert code == 0
    assert "wintermute-mm@2k" in capsys.readouterr().out
    code = main(["bench", "mm", "--rates", "2k", "--seconds", "0.1", "--park", "--json"])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["results"][0]["system"] == "wintermute-mm@2k/park"


def test_max_is_no_offered_rate_here() -> None:
    with pytest.raises(argparse.ArgumentTypeError, match="max"):
        mm_latency._rates("10k,max")
