"""The fixed-spread market maker written in Python trades exactly as the built-in one.

The same backtest config runs twice: with the built-in Rust market maker, and with
``wintermute.mm_fixed_spread.FixedSpread`` through the Python callback path (events in batches,
commands sent as of the event they were decided after). Orders, fills, PnL to the last money
unit, markouts, sampled series and the run's digest must be equal: any event delivered late,
out of order or with the wrong state, or any command sent at another step, shows.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from wintermute import errors, mm
from wintermute.mm_fixed_spread import FixedSpread

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "mm_python.toml"
RECORDED = ROOT / "examples" / "mm_recorded.toml"


@pytest.fixture(scope="module")
def example() -> dict[str, Any]:
    config = mm.load_config(EXAMPLE)
    config["market"]["duration_s"] = 20.0
    return config


def builtin(config: dict[str, Any]) -> mm.BacktestResult:
    plain = copy.deepcopy(config)
    plain.pop("strategy", None)
    return mm.run_backtest(plain)


def assert_same_trading(a: mm.BacktestResult, b: mm.BacktestResult) -> None:
    for key in ("digest", "pnl_exact", "fills", "orders", "amends", "cancels", "rejects"):
        assert a.summary[key] == b.summary[key], key
    for key in ("markouts", "markouts_fair", "max_inventory_lots", "uptime", "queue_error"):
        assert a.summary[key] == b.summary[key], key
    for name, column in a.columns.items():
        np.testing.assert_array_equal(column, b.columns[name], err_msg=name)


@pytest.mark.parametrize("max_batch", [1, 5, 4096])
def test_the_python_fixed_spread_trades_exactly_as_the_builtin_on_the_synthetic_market(
    example: dict[str, Any], max_batch: int
) -> None:
    reference = builtin(example)
    assert reference.summary["fills"] > 100, "the run must trade to mean anything"
    assert reference.summary["amends"] > 0, "and amend in place"
    python = mm.run_backtest(example, strategy=FixedSpread(example), max_batch=max_batch)
    assert_same_trading(reference, python)
    assert python.summary["model"] == "python:wintermute.mm_fixed_spread:FixedSpread"
    batching = python.summary["batching"]
    assert batching["largest"] <= max_batch
    if max_batch > 1:
        assert batching["mean_events"] > 1.5, batching


def test_skew_spread_bounds_and_the_inventory_limit_take_the_same_paths(
    example: dict[str, Any],
) -> None:
    # A strong skew and a small inventory limit: quotes pinned to the fair value, sides cut.
    config = copy.deepcopy(example)
    config["pricing"]["model"] = {
        "kind": "fixed_spread",
        "half_spread_ticks": 1.2,
        "skew_ticks_per_unit": 3.0,
    }
    config["pricing"]["quoting"].update(max_inventory_lots=12, min_spread_ticks=3)
    reference = builtin(config)
    assert reference.summary["max_inventory_lots"] >= 10
    assert_same_trading(reference, mm.run_backtest(config, strategy=FixedSpread(config)))


def test_on_a_recorded_venue_too() -> None:
    config = mm.load_config(RECORDED)
    config["pricing"]["model"] = {
        "kind": "fixed_spread",
        "half_spread_ticks": 20.0,
        "skew_ticks_per_unit": 5.0,
    }
    reference = mm.run_backtest(config)
    assert reference.summary["fills"] > 0
    python = mm.run_backtest(config, strategy=FixedSpread(config))
    assert_same_trading(reference, python)


def test_the_config_s_strategy_table_runs_it_from_the_cli(tmp_path: Path) -> None:
    from wintermute.cli import main

    out = tmp_path / "run"
    config = mm.load_config(EXAMPLE)
    config["market"]["duration_s"] = 5.0
    path = tmp_path / "config.json"
    path.write_text(__import__("json").dumps(config))
    assert main(["mm", "backtest", "--config", str(path), "--out", str(out), "--no-progress"]) == 0
    summary = mm.load_run(out).summary
    assert summary["model"] == "python:wintermute.mm_fixed_spread:FixedSpread"
    assert summary["digest"] == builtin(config).summary["digest"]


def test_what_it_does_not_do_is_a_config_error(example: dict[str, Any]) -> None:
    for key, value in (("hedge_on", "binance"), ("interlock", {"stale_after_ms": 1.0})):
        with pytest.raises(errors.ConfigError) as e:
            FixedSpread({**example, key: value})
        assert e.value.key == key
    glft = copy.deepcopy(example)
    glft["pricing"]["model"] = {"kind": "glft", "gamma": 0.1}
    with pytest.raises(errors.ConfigError, match="fixed_spread"):
        FixedSpread(glft)
