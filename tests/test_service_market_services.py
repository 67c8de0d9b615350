"""``wintermute serve --config FILE`` with a ``[market]`` table: the external market runs next
to our venue, as in the demo. Venues served on 127.0.0.1 in their own protocols show up over
``/ws/market`` with their books and the consolidated BBO, in Redis with ``[service.redis]``,
and in the audit store with ``--record-market``; a bad table is exit code 2."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
from websockets.sync.client import connect

from feed_servers import ServedVenue, serve_venue
from storage_servers import start_redis
from test_service_server import CONFIG, _free_port, _stop, _wait_ready
from wintermute.storage.market_history import open_history
from wintermute.storage.redis_tier import RedisReader


def market_toml(served: list[ServedVenue], instruments: bool = True) -> str:
    lines = ["", "[market]", 'source = "venues"']
    for s in served:
        lines += [f"[market.venues.{s.venue}]", f'ws_url = "{s.ws_url}"',
                  f'symbols = ["{s.symbol}"]']  # fmt: skip
        if s.venue == "binance":
            lines.append(f'rest_url = "{s.rest_url}"')
    if instruments:
        lines.append('[market.instruments."BTC-USD"]')
        lines += [f'{s.venue} = "{s.symbol}"' for s in served if s.venue != "binance"]
    return "\n".join(lines) + "\n"


def start(tmp_path: Path, tables: str, *extra: str) -> tuple[subprocess.Popen[str], str]:
    port = _free_port()
    (tmp_path / "keys.json").write_text(json.dumps({"keys": [{"key": "k-1", "account": 9}]}))
    config = tmp_path / "venue.toml"
    config.write_text(CONFIG.format(port=port, tls="") + tables)
    proc = subprocess.Popen(
        [sys.executable, "-m", "wintermute.cli", "serve", "--config", str(config), "--run-dir",
         str(tmp_path / "run"), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
        env={**os.environ, "WINTERMUTE_API_KEYS": ""},
    )  # fmt: skip
    url = f"http://127.0.0.1:{port}"
    _wait_ready(url, True, proc)
    return proc, url


def live_sample(url: str, venues: list[str]) -> dict[str, Any]:
    """The first ``/ws/market`` sample in which every venue is live."""
    deadline = time.monotonic() + 30
    with connect(url.replace("http://", "ws://") + "/ws/market", open_timeout=10) as ws:
        while True:
            sample: dict[str, Any] = json.loads(ws.recv(timeout=10))
            if all(sample["venues"].get(v, {}).get("state") == "live" for v in venues):
                return sample
            assert time.monotonic() < deadline, sample


def _top(sample: dict[str, Any], venue: str) -> tuple[Decimal, Decimal]:
    v = sample["venues"][venue]
    return Decimal(v["bid"][0]), Decimal(v["ask"][0])


def test_serve_shows_the_market_tables_venues_over_ws_market(tmp_path: Path) -> None:
    served = [serve_venue(tmp_path, "coinbase", seed=21), serve_venue(tmp_path, "kraken", seed=22),
              serve_venue(tmp_path, "binance", seed=23)]  # fmt: skip
    proc, url = start(tmp_path, market_toml(served), "--no-audit")
    try:
        assert httpx.get(f"{url}/api/ui/config").json()["market"] is True
        sample = live_sample(url, ["coinbase", "kraken", "binance"])
        deadline = time.monotonic() + 20
        # Served fast: the books reach their final state, which the sample then shows.
        # Both sides: a sample can show one side's last update before the other's.
        while any(_top(sample, s.venue) != (s.best_bid, s.best_ask) for s in served):
            assert time.monotonic() < deadline, sample
            time.sleep(0.3)
            sample = live_sample(url, ["coinbase", "kraken", "binance"])
    finally:
        code, err = _stop(proc)
    assert code == 0, err
    assert sorted(sample["venues"]) == ["binance", "coinbase", "kraken"]
    for s in served:
        v = sample["venues"][s.venue]
        assert v["symbol"] == s.symbol
        assert (Decimal(v["bid"][0]), Decimal(v["ask"][0])) == (s.best_bid, s.best_ask)
        assert v["merged"] is (s.venue != "binance")
    bbo = sample["consolidated"]["bbo"]
    usd = served[:2]
    assert Decimal(bbo[0]) == max(s.best_bid for s in usd)
    assert Decimal(bbo[1]) == min(s.best_ask for s in usd)
    assert sample["consolidated"]["merged"] == ["coinbase", "kraken"]
    assert f"external market: the venues: coinbase BTC-USD at {served[0].ws_url}" in err


def test_serve_publishes_and_records_the_market_tables_venues(tmp_path: Path) -> None:
    served = [serve_venue(tmp_path, "coinbase", seed=31), serve_venue(tmp_path, "kraken", seed=32)]
    redis_url, redis = start_redis(tmp_path)
    tables = market_toml(served) + f'\n[service.redis]\nurl = "{redis_url}"\nprefix = "mk"\n'
    reader = RedisReader(redis_url, prefix="mk")
    proc, url = start(tmp_path, tables, "--record-market")
    try:
        live_sample(url, ["coinbase", "kraken"])
        deadline = time.monotonic() + 20
        while True:
            books = {s.venue: reader.venue_book("BTC-USD", s.venue) for s in served}
            if all(b is not None and b["bids"] and b["bids"][0][0] == s.best_bid
                   for s, b in zip(served, books.values(), strict=True)):  # fmt: skip
                break
            assert time.monotonic() < deadline, books
            time.sleep(0.1)
        consolidated = reader.consolidated("BTC-USD")
        assert consolidated is not None
        assert consolidated["bid"] == max(s.best_bid for s in served)
    finally:
        code, err = _stop(proc)
        reader.close()
        redis.kill()
        redis.wait()
    assert code == 0, err
    run = tmp_path / "run"
    assert f"market data: recording the external venues into sqlite:///{run}" in err
    history = open_history(f"sqlite:///{run / 'audit.db'}")
    try:
        assert history.count("snapshots") > 0
        assert history.count("ticks") > 0
    finally:
        history.close()


def test_serve_refuses_a_bad_market_table_with_exit_code_2(tmp_path: Path) -> None:
    cases = [
        ('\n[market]\n[market.venues.kraken]\nsymbols = ["XBT/USD"]\n'
         '[market.instruments.ETH-USD]\nkraken = "XBT/USD"\n',
         "market.instruments.ETH-USD: not an instrument of the engine"),
        ('\n[market]\n[market.venues.kraken]\nsymbols = ["XBT/USD"]\n'
         '[market.instruments.BTC-USD]\nkraken = "XBT/EUR"\n',
         "market.instruments.BTC-USD.kraken: kraken symbol 'XBT/EUR' is not subscribed"),
        ('\n[market]\nsteps = 0\n', "market.steps: 0 must be an integer in [1,"),
        ('\n[market.venues.kraken]\nsymbols = ["XBT/USD"]\nca_file = "nope.pem"\n',
         f"market.venues.kraken.ca_file: no file at {tmp_path / 'nope.pem'}"),
        ("", "--record-market records the [market] venues"),
    ]  # fmt: skip
    (tmp_path / "keys.json").write_text(json.dumps({"keys": []}))
    for table, message in cases:
        config = tmp_path / "venue.toml"
        config.write_text(CONFIG.format(port=_free_port(), tls="") + table)
        extra = ["--record-market"] if not table else ["--no-audit"]
        done = subprocess.run(
            [sys.executable, "-m", "wintermute.cli", "serve", "--config", str(config), *extra],
            capture_output=True, text=True, timeout=60,
            env={**os.environ, "WINTERMUTE_API_KEYS": ""},
        )  # fmt: skip
        assert done.returncode == 2, (table, done.stderr)
        assert message in done.stderr, (table, done.stderr)
        assert "Traceback" not in done.stderr


def test_serve_runs_the_synthetic_market_of_a_market_table(tmp_path: Path) -> None:
    table = '\n[market]\nsource = "synthetic"\nseed = 5\nsteps = 3000\npace = "10"\n'
    proc, url = start(tmp_path, table, "--no-audit")
    try:
        sample = live_sample(url, ["binance", "coinbase", "kraken"])
    finally:
        code, err = _stop(proc)
    assert code == 0, err
    assert {v: s["symbol"] for v, s in sample["venues"].items()} == {
        "binance": "BTCUSDT", "coinbase": "BTC-USD", "kraken": "XBT/USD",
    }  # fmt: skip
    assert sample["consolidated"]["merged"] == ["coinbase", "kraken"]
    assert sample["consolidated"]["bbo"] is not None
    assert "external market: the synthetic market (seed 5, 3000 messages a replay)" in err
