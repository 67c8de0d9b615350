"""``wintermute bench backtest``: every row runs on the same backtest, the pairs that must trade
identically do, and the CLI prints the table and the JSON document."""

from __future__ import annotations

import json
from typing import Any

import pytest

from wintermute import _core, errors, mm
from wintermute.bench import mm_backtest
from wintermute.cli import main


def short(seconds: float = 2.0) -> dict[str, Any]:
    config = mm.load_config(mm_backtest.DEFAULT_CONFIG)
    config["market"]["duration_s"] = seconds
    return config


def test_every_row_runs_and_the_costs_are_taken_against_a_twin_that_traded_the_same() -> None:
    doc = mm_backtest.run(short(), repeat=1)
    rows = {r["system"]: r for r in doc["results"]}
    assert list(rows) == [
        "rust builtin",
        "rust builtin_batched",
        "rust idle",
        "rust idle_batched",
        "python idle",
        "python idle unbatched",
        "python on_batch",
        "python FixedSpread",
    ]
    for r in rows.values():
        if r["baseline"] is not None:
            assert r["digest"] == rows[r["baseline"]]["digest"], r["system"]
            assert r["strategy_events"] > 0
            assert r["ns_per_event"] is not None
    assert rows["python FixedSpread"]["fills"] == rows["rust builtin"]["fills"] > 0
    assert rows["python idle"]["orders"] == 0
    unbatched = rows["python idle unbatched"]
    assert unbatched["batches"] == unbatched["strategy_events"]
    assert rows["python idle"]["batches"] < unbatched["batches"]
    assert "python FixedSpread" in mm_backtest.to_table(doc)


def test_an_unknown_rust_strategy_is_an_error() -> None:
    with pytest.raises(errors.WintermuteError, match="strategy=nope"):
        _core.mm_backtest_bench("{}", "nope")


def test_the_cli_prints_the_json_document(capsys: pytest.CaptureFixture[str]) -> None:
    code = main(["bench", "backtest", "--seconds", "1", "--repeat", "1", "--json"])
    assert code == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["workload"]["sim_seconds"] == 1.0
    assert len(doc["results"]) == 8
    assert main(["bench", "backtest", "--config", "/nonexistent.toml"]) == 2
