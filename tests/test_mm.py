"""Market-making backtests from Python: determinism, the report's files, config errors, CLI."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from wintermute import errors, mm
from wintermute.cli import main

ROOT = Path(__file__).resolve().parent.parent
EXAMPLE = ROOT / "examples" / "mm.toml"
RECORDED = ROOT / "examples" / "mm_recorded.toml"


def short(config: dict[str, Any], seconds: float = 10.0) -> dict[str, Any]:
    c = copy.deepcopy(config)
    c["market"]["duration_s"] = seconds
    return c


@pytest.fixture(scope="module")
def example() -> dict[str, Any]:
    return mm.load_config(EXAMPLE)


def test_a_backtest_is_deterministic_for_a_seed_and_changes_with_it(
    example: dict[str, Any],
) -> None:
    a = mm.run_backtest(short(example))
    b = mm.run_backtest(short(example))
    assert a.summary["digest"] == b.summary["digest"]
    assert a.summary["fills"] > 0
    for name, column in a.columns.items():
        np.testing.assert_array_equal(column, b.columns[name], err_msg=name)
    other = short(example)
    other["seed"] = 43
    assert mm.run_backtest(other).summary["digest"] != a.summary["digest"]


def test_the_pnl_parts_add_up_to_the_total(example: dict[str, Any]) -> None:
    r = mm.run_backtest(short(example))
    exact = r.summary["pnl_exact"]
    parts = sum(int(exact[k]) for k in ("spread", "mtm", "fees", "hedge"))
    assert parts == int(exact["total"])
    c = r.columns
    np.testing.assert_allclose(c["pnl"], c["spread"] + c["mtm"] + c["fees"] + c["hedge"], atol=1e-6)


def test_progress_is_reported_up_to_one(example: dict[str, Any]) -> None:
    seen: list[float] = []
    r = mm.run_backtest(short(example, 20.0), progress=seen.append)
    assert seen[-1] == 1.0
    assert all(0.0 <= x <= 1.0 for x in seen)
    assert r.summary["digest"] == mm.run_backtest(short(example, 20.0)).summary["digest"]


def test_a_recorded_venue_backtest_runs() -> None:
    r = mm.run_backtest(mm.load_config(RECORDED))
    assert r.summary["market"] == "binance:BTCUSDT"
    assert r.summary["md_events"] > 10_000
    assert r.summary["orders"] > 0


def test_a_recorded_market_merges_the_kraken_book_and_trades_recordings() -> None:
    config = mm.load_config(ROOT / "examples" / "mm_recorded_kraken.toml")
    # The relative recordings are resolved against the config's folder.
    assert all(Path(p).is_absolute() and Path(p).exists() for p in config["market"]["recordings"])
    r = mm.run_backtest(config)
    assert r.summary["market"] == "kraken:XBT/USD"
    book_only = copy.deepcopy(config)
    book_only["market"]["recordings"] = config["market"]["recordings"][:1]
    b = mm.run_backtest(book_only)
    # The same book, plus the trades recording's XBT/USD trades (22 of them).
    assert r.summary["md_events"] - b.summary["md_events"] == 22
    both = copy.deepcopy(config)
    both["market"]["path"] = config["market"]["recordings"][0]
    with pytest.raises(errors.ConfigError) as e:
        mm.run_backtest(both)
    assert e.value.key == "market.recordings"


def test_the_fill_probability_calibration_is_in_the_summary_and_the_report(
    example: dict[str, Any], tmp_path: Path
) -> None:
    r = mm.run_backtest(short(example, 30.0))
    cals = r.summary["fill_calibration"]
    models = ["risk_averse", "power:2", "log", "exact"]
    formulas = ["exp", "compound_poisson", "empirical"]
    assert [(c["formula"], c["model"]) for c in cals] == [(f, m) for f in formulas for m in models]
    for c in cals:
        assert c["horizon_ms"] == 1000
        assert c["filled"] > 0
        ended = c["filled"] + c["censored"] + c["survived"]
        assert sum(d["count"] for d in c["deciles"]) == ended
    mm.write_report(mm.save_run(r, tmp_path / "run", short(example, 30.0)))
    report = (tmp_path / "run" / "metrics.md").read_text()
    assert "fill probability within 1000 ms, exp, exact" in report
    assert "fill probability within 1000 ms, compound_poisson, exact" in report
    # The horizon is the config's.
    config = short(example, 30.0)
    config["fill_horizon_ms"] = 250
    cals = mm.run_backtest(config).summary["fill_calibration"]
    assert {c["horizon_ms"] for c in cals} == {250}


@pytest.mark.parametrize(
    ("change", "key", "text"),
    [
        (lambda c: c["pricing"]["model"].update(gamma=-0.1), "pricing", "gamma"),
        (lambda c: c.update(hedge_on="bitmex"), "hedge_on", "bitmex"),
        (lambda c: c["pricing"]["venues"][0].update(quote_currency="USDT"), "pricing", "basis"),
        (lambda c: c["pricing"]["venues"].reverse(), "pricing.venues", "kraken"),
        (lambda c: c.update(sample_ms=0), "sample_ms", "sample_ms"),
        (lambda c: c.update(fill_horizon_ms=0), "fill_horizon_ms", "1..=10000"),
        (lambda c: c.update(fill_horizon_ms=20_000), "fill_horizon_ms", "20000"),
        (lambda c: c.update(unknown_key=1), "config", "unknown_key"),
        (lambda c: c.update(quote_on=["coinbase", "bitstamp"]), "quote_on[1]", "bitstamp"),
        (lambda c: c.update(quote_on=["kraken", "kraken"]), "quote_on[1]", "twice"),
        (lambda c: c.update(quote_on=[]), "quote_on", "empty"),
    ],
)
def test_bad_configs_are_config_errors_naming_the_field(
    example: dict[str, Any], change: Any, key: str, text: str
) -> None:
    config = short(example, 1.0)
    change(config)
    with pytest.raises(errors.ConfigError) as e:
        mm.run_backtest(config)
    assert e.value.key == key
    assert text in str(e.value)


def test_quote_on_a_list_quotes_on_each_venue_with_its_own_markouts(
    example: dict[str, Any],
) -> None:
    config = short(example)
    config["quote_on"] = ["coinbase", "kraken"]
    r = mm.run_backtest(config)
    s = r.summary
    assert s["quote_venue"] == "coinbase, kraken"
    assert s["fills"] > 0
    assert s["identity_breaks"] == 0
    by_venue = s["markouts_by_venue"]
    assert [v["venue"] for v in by_venue] == ["coinbase", "kraken"]
    # Every venue's fills together, each against its own venue's mid.
    for i, m in enumerate(s["markouts"]):
        assert m["n"] == sum(v["markouts"][i]["n"] for v in by_venue)
    assert all(v["markouts"][1]["n"] > 0 for v in by_venue), by_venue
    assert mm.run_backtest(config).summary["digest"] == s["digest"]


def test_an_unreadable_recording_is_a_feed_error() -> None:
    config = mm.load_config(RECORDED)
    config["market"]["path"] = "/nonexistent/recording.txt"
    with pytest.raises(errors.FeedError, match="nonexistent"):
        mm.run_backtest(config)


def test_a_config_file_that_is_not_toml_or_json_is_refused(tmp_path: Path) -> None:
    bad = tmp_path / "mm.yaml"
    bad.write_text("seed: 1\n")
    with pytest.raises(errors.ConfigError):
        mm.load_config(bad)
    broken = tmp_path / "mm.toml"
    broken.write_text("seed = [\n")
    with pytest.raises(errors.ConfigError):
        mm.load_config(broken)


def test_a_report_writes_the_table_the_plots_and_one_html_page(
    example: dict[str, Any], tmp_path: Path
) -> None:
    run = mm.save_run(mm.run_backtest(short(example)), tmp_path / "run", example)
    written = mm.write_report(run)
    names = {p.name for p in written}
    assert {"metrics.md", "report.html", *mm.PLOTS} <= names
    for p in written:
        assert p.stat().st_size > 0
    assert (run / "pnl.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    page = (run / "report.html").read_text()
    assert page.count("data:image/png;base64,") == len(mm.PLOTS)
    assert 'src="http' not in page  # self-contained
    table = (run / "metrics.md").read_text()
    assert "PnL total" in table
    assert "markout +1000 ms" in table
    assert "markout vs fair value +1000 ms" in table
    assert "queue estimator error, risk_averse" in table
    assert json.loads((run / "summary.json").read_text())["digest"] in table


def test_the_cli_backtests_and_reports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    config = tmp_path / "mm.json"
    config.write_text(json.dumps(short(mm.load_config(EXAMPLE), 5.0)))
    out = tmp_path / "run"
    assert main(["mm", "backtest", "--config", str(config), "--out", str(out)]) == 0
    captured = capsys.readouterr()
    assert "100.0%" in captured.err  # the progress bar
    assert "digest=" in captured.out
    assert main(["mm", "report", str(out)]) == 0
    assert (out / "report.html").exists()
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"market": {"kind": "synthetic"}}))
    assert main(["mm", "backtest", "--config", str(bad), "--out", str(out)]) == 2
    assert "config" in capsys.readouterr().err
