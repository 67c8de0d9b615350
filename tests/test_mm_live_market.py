"""``wintermute mm --config FILE`` with a ``[market]`` table of venues: the market maker's
reference books come from the servers it names (here synthetic venues served on 127.0.0.1 in
their own protocols, one behind TLS with a private certificate authority), not from the
built-in synthetic market."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from feed_servers import ServedVenue, authority, serve_venue, tls_proxy
from wintermute import mm_live
from wintermute.errors import ConfigError


def quiet_config(served: list[ServedVenue]) -> dict[str, Any]:
    """The paper config priced off the served venues only; their books stop moving once
    drained, so nothing is stale or crossed for this test's few seconds."""
    config = mm_live.paper_config()
    pricing = config["pricing"]
    pricing["venues"] = [
        {"name": s.venue, "symbol": s.symbol, "quote_currency": "USD", "weight": 1.0,
         "stale_after_ms": 600_000}
        for s in served
    ]  # fmt: skip
    config["interlock"] = {"stale_after_ms": 600_000, "cross_threshold_ticks": 10_000_000}
    config["hedge_on"] = served[0].venue
    config["hedge"] = {"routes": [served[0].venue]}
    return config


def market_table(served: list[ServedVenue], ca: Path | None = None) -> dict[str, Any]:
    venues: dict[str, Any] = {}
    for s in served:
        venues[s.venue] = {"ws_url": s.ws_url, "symbols": [s.symbol]}
        if ca is not None and s.ws_url.startswith("wss://"):
            venues[s.venue]["ca_file"] = str(ca)
    return {"venues": venues}


def run_paper(config: dict[str, Any], seconds: float = 4.0) -> tuple[dict[str, Any], str]:
    """The last state of a paper run, and the state lines it printed."""
    out = io.StringIO()
    last = mm_live.paper(config, duration=seconds, every=0.5, out=out)
    return last, out.getvalue()


def test_the_market_maker_quotes_off_the_venues_its_market_table_names(tmp_path: Path) -> None:
    # Seeds far from the built-in market's (7): the books differ from anything it would show.
    served = [
        serve_venue(tmp_path, "coinbase", seed=101),
        serve_venue(tmp_path, "kraken", seed=202),
    ]
    config = quiet_config(served)
    config["market"] = market_table(served)
    last, lines = run_paper(config)
    refs = {r["venue"]: r for r in last["references"]}
    for s in served:
        # Its reference books are the served ones, to the tick.
        assert refs[s.venue]["state"] == "live", last["references"]
        assert Decimal(refs[s.venue]["bid"]) == s.best_bid, (s, refs[s.venue])
        assert Decimal(refs[s.venue]["ask"]) == s.best_ask, (s, refs[s.venue])
    # The fair value follows those books: inside the span of the two venues' tops.
    fair = Decimal(last["fair_value"])
    low = min(s.best_bid for s in served) - Decimal(1)
    high = max(s.best_ask for s in served) + Decimal(1)
    assert low <= fair <= high, (fair, low, high)
    # And it quoted around it while running.
    assert any(" | buy " in line for line in lines.splitlines()), lines


def test_a_venue_behind_tls_is_read_with_the_market_table_ca_file(tmp_path: Path) -> None:
    served = serve_venue(tmp_path, "kraken", seed=303)
    ca, context = authority(tmp_path)
    with tls_proxy(context, served.ws_url) as wss:
        assert wss.startswith("wss://127.0.0.1:")
        served.ws_url = wss
        config = quiet_config([served])
        config["market"] = market_table([served], ca=ca)
        last, _ = run_paper(config)
    ref = last["references"][0]
    assert (ref["venue"], ref["state"]) == ("kraken", "live"), ref
    assert (Decimal(ref["bid"]), Decimal(ref["ask"])) == (served.best_bid, served.best_ask)
    fair = Decimal(last["fair_value"])
    assert served.best_bid - 1 <= fair <= served.best_ask + 1, (fair, served)


def test_without_the_ca_file_the_tls_venue_never_goes_live(tmp_path: Path) -> None:
    served = serve_venue(tmp_path, "kraken", seed=304)
    _, context = authority(tmp_path)
    with tls_proxy(context, served.ws_url) as wss:
        served.ws_url = wss
        config = quiet_config([served])
        config["market"] = market_table([served])  # no ca_file: the certificate is unknown
        last, _ = run_paper(config, seconds=2.0)
    ref = last["references"][0]
    assert ref["state"] != "live", ref
    assert ref["bid"] is None, ref
    assert last["fair_value"] is None


def test_a_pricing_venue_the_market_does_not_subscribe_is_a_config_error(tmp_path: Path) -> None:
    config = mm_live.paper_config()  # priced off coinbase, kraken and binance
    config["market"] = {"venues": {"coinbase": {"symbols": ["BTC-USD"]},
                                   "kraken": {"symbols": ["XBT/EUR"]}}}  # fmt: skip
    with pytest.raises(ConfigError, match=r"pricing.venues\[1\].*'XBT/USD' is not subscribed"):
        mm_live.market_settings(config)
    config["market"]["venues"]["kraken"]["symbols"] = ["XBT/USD"]
    with pytest.raises(ConfigError, match=r"pricing.venues\[2\]: venue 'binance' is not in"):
        mm_live.market_settings(config)


def test_a_backtest_market_table_leaves_a_live_run_on_the_synthetic_market() -> None:
    config = mm_live.paper_config()
    config["market"] = {"kind": "synthetic", "duration_s": 10.0}
    assert mm_live.market_settings(config).source == "synthetic"


def cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "wintermute.cli", *args],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip


@pytest.mark.parametrize(
    ("market", "message"),
    [
        ({"venues": {"bitmex": {"symbols": ["XBTUSD"]}}}, "market.venues.bitmex: unknown venue"),
        ({"venues": {"kraken": {"symbol": ["XBT/USD"]}}}, "market.venues.kraken.symbol: unknown"),
        ({"venues": {"kraken": {"symbols": ["XBT/USD"], "ws_url": "http://x"}}},
         "market.venues.kraken.ws_url: expected a wss:// or ws:// URL"),
        ({"seed": 3, "venues": {"kraken": {"symbols": ["XBT/USD"]}}},
         "market.seed: only for source = 'synthetic'"),
        ({"pace": "slow"}, "market.pace: 'slow'"),
    ],
    ids=["unknown-venue", "misspelt-key", "bad-url", "seed-with-venues", "bad-pace"],
)  # fmt: skip
def test_wintermute_mm_refuses_a_bad_market_table_with_exit_code_2(
    tmp_path: Path, market: dict[str, Any], message: str
) -> None:
    config = mm_live.paper_config()
    config["market"] = market
    path = tmp_path / "mm.json"
    path.write_text(json.dumps(config))
    done = cli("mm", "--config", str(path), "--duration", "1")
    assert done.returncode == 2, done.stderr
    assert message in done.stderr, done.stderr
    assert "Traceback" not in done.stderr


def test_wintermute_mm_says_where_its_market_comes_from(tmp_path: Path) -> None:
    served = [serve_venue(tmp_path, "coinbase", seed=11), serve_venue(tmp_path, "kraken", seed=12)]
    config = quiet_config(served)
    config["market"] = market_table(served)
    path = tmp_path / "mm.json"
    path.write_text(json.dumps(config))
    done = cli("mm", "--config", str(path), "--duration", "3", "--every", "1")
    assert done.returncode == 0, done.stderr
    first = done.stdout.splitlines()[0]
    assert f"quoting off the venues: coinbase BTC-USD at {served[0].ws_url}" in first, first
    assert f"kraken XBT/USD at {served[1].ws_url}" in first, first
    # The state lines show a fair value inside the served books.
    fairs = [Decimal(line.split("fair ")[1].split(" ")[0]) for line in done.stdout.splitlines()
             if " fair " in line and "fair None" not in line]  # fmt: skip
    assert fairs, done.stdout
    assert min(s.best_bid for s in served) - 1 <= fairs[-1] <= max(s.best_ask for s in served) + 1
    seeded = cli("mm", "--config", str(path), "--seed", "3", "--duration", "1")
    assert seeded.returncode == 2
    assert "--seed and --steps are for the synthetic market" in seeded.stderr
