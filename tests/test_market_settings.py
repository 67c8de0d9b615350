"""The ``[market]`` table (``wintermute.market_settings``): defaults, the venues' public
endpoints, paths taken from the config's folder, and an error naming the key for each bad
value."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from wintermute.config import EngineConfig
from wintermute.errors import ConfigError
from wintermute.market_settings import PUBLIC_ENDPOINTS, SYNTHETIC_LEGS, MarketSettings
from wintermute.service.settings import split_config


def test_no_table_is_the_synthetic_market_with_its_defaults() -> None:
    for table in (None, {}, {"source": "synthetic"}):
        s = MarketSettings.from_dict(table)
        assert s == MarketSettings()
        assert (s.source, s.seed, s.steps, s.pace) == ("synthetic", 7, 20_000, "1")
        assert s.gap_rate == 0.001
    assert MarketSettings().legs("BTC-USD") == SYNTHETIC_LEGS
    assert MarketSettings().symbols()["kraken"] == ("XBT/USD",)


def test_the_synthetic_keys_are_read() -> None:
    s = MarketSettings.from_dict(
        {"seed": 3, "steps": 500, "pace": "fast", "gap_rate": 0, "restart_after_s": 2}
    )
    assert (s.seed, s.steps, s.pace, s.gap_rate, s.restart_after_s) == (3, 500, "fast", 0.0, 2.0)
    assert MarketSettings.from_dict({"pace": "10"}).pace == "10"


def test_venues_default_to_their_public_wss_endpoints() -> None:
    s = MarketSettings.from_dict({
        "venues": {"binance": {"symbols": ["BTCUSDT", "ETHUSDT"]},
                   "coinbase": {"symbols": ["BTC-USD"]}},
    })  # fmt: skip
    assert s.source == "venues"
    binance, coinbase = s.venues
    assert (binance.ws_url, binance.rest_url) == PUBLIC_ENDPOINTS["binance"]
    assert (coinbase.ws_url, coinbase.rest_url) == PUBLIC_ENDPOINTS["coinbase"]
    assert all(ws.startswith("wss://") for ws, _ in PUBLIC_ENDPOINTS.values())
    assert binance.symbols == ("BTCUSDT", "ETHUSDT")
    assert s.legs("BTC-USD") == {}  # the venues merge only what [market.instruments] maps
    assert "binance BTCUSDT/ETHUSDT at wss://stream.binance.com:9443" in s.describe()


def test_urls_instruments_and_a_relative_ca_file_are_taken_as_given(tmp_path: Path) -> None:
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    s = MarketSettings.from_dict(
        {"source": "venues",
         "venues": {"kraken": {"symbols": ["XBT/USD"], "ws_url": "ws://127.0.0.1:9001",
                               "ca_file": "ca.pem"},
                    "binance": {"symbols": ["BTCUSDT"], "ws_url": "wss://127.0.0.1:9002",
                                "rest_url": "https://127.0.0.1:9003"}},
         "instruments": {"BTC-USD": {"kraken": "XBT/USD"}}},
        base_dir=tmp_path,
    )  # fmt: skip
    kraken, binance = s.venues
    assert (kraken.ws_url, kraken.ca_file) == ("ws://127.0.0.1:9001", str(tmp_path / "ca.pem"))
    assert binance.rest_url == "https://127.0.0.1:9003"
    assert s.legs("BTC-USD") == {"kraken": "XBT/USD"}


KRAKEN = {"kraken": {"symbols": ["XBT/USD"]}}


@pytest.mark.parametrize(
    ("table", "key", "message"),
    [
        ({"sources": "venues"}, "market.sources", "unknown key"),
        ({"source": "exchange"}, "market.source", "expected 'synthetic' or 'venues'"),
        ({"source": "venues"}, "market.venues", "expected a table"),
        ({"venues": {}}, "market.venues", "name at least one venue"),
        ({"venues": {"ftx": {"symbols": ["BTC/USD"]}}}, "market.venues.ftx", "unknown venue"),
        ({"venues": {"kraken": {}}}, "market.venues.kraken.symbols", "non-empty list"),
        ({"venues": {"kraken": {"symbols": "XBT/USD"}}}, "market.venues.kraken.symbols",
         "non-empty list"),
        ({"venues": {"kraken": {"symbols": ["XBT/USD", "XBT/USD"]}}},
         "market.venues.kraken.symbols", "listed twice"),
        ({"venues": {"kraken": {"symbols": ["XBT/USD"], "url": "wss://x"}}},
         "market.venues.kraken.url", "unknown key"),
        ({"venues": {"kraken": {"symbols": ["XBT/USD"], "ws_url": "https://x"}}},
         "market.venues.kraken.ws_url", "wss:// or ws://"),
        ({"venues": {"kraken": {"symbols": ["XBT/USD"], "ws_url": "wss://"}}},
         "market.venues.kraken.ws_url", "names no host"),
        ({"venues": {"kraken": {"symbols": ["XBT/USD"], "rest_url": "https://x"}}},
         "market.venues.kraken.rest_url", "reads no REST endpoint"),
        ({"venues": {"binance": {"symbols": ["BTCUSDT"], "rest_url": "ftp://x"}}},
         "market.venues.binance.rest_url", "https:// or http://"),
        ({"venues": {"kraken": {"symbols": ["XBT/USD"], "ca_file": "missing.pem"}}},
         "market.venues.kraken.ca_file", "no file at"),
        ({"venues": KRAKEN, "steps": 10}, "market.steps", "only for source = 'synthetic'"),
        ({"source": "synthetic", "venues": KRAKEN}, "market.venues", "only for source = 'venues'"),
        ({"steps": 0}, "market.steps", "must be an integer in [1,"),
        ({"seed": -1}, "market.seed", "must be an integer in [0,"),
        ({"seed": True}, "market.seed", "must be an integer"),
        ({"pace": 10}, "market.pace", "expected 'fast', 'recorded' or a speed"),
        ({"pace": "-2"}, "market.pace", "expected 'fast', 'recorded' or a speed"),
        ({"gap_rate": 1.5}, "market.gap_rate", "in [0, 1)"),
        ({"restart_after_s": 0}, "market.restart_after_s", "(0, 3600]"),
        ({"venues": KRAKEN, "instruments": {"BTC-USD": {"coinbase": "BTC-USD"}}},
         "market.instruments.BTC-USD.coinbase", "venue 'coinbase' is not in [market.venues]"),
        ({"venues": KRAKEN, "instruments": {"BTC-USD": {"kraken": "XBT/EUR"}}},
         "market.instruments.BTC-USD.kraken",
         "kraken symbol 'XBT/EUR' is not subscribed by market.venues.kraken.symbols"),
        ({"instruments": {"BTC-USD": {"binance": "BTCUSD"}}},
         "market.instruments.BTC-USD.binance", "not subscribed by the synthetic binance market"),
        ({"instruments": {"BTC-USD": "coinbase"}}, "market.instruments.BTC-USD",
         "expected a table"),
        ("synthetic", "market", "expected a [market] table"),
    ],
)  # fmt: skip
def test_a_bad_value_is_an_error_naming_its_key(
    tmp_path: Path, table: Any, key: str, message: str
) -> None:
    with pytest.raises(ConfigError) as e:
        MarketSettings.from_dict(table, base_dir=tmp_path)
    assert e.value.key == key
    assert f"config key {key}" in str(e.value)
    assert message in str(e.value)


def test_the_engine_config_readers_leave_the_market_table_out(tmp_path: Path) -> None:
    btc = {"symbol": "BTC-USD", "tick_size": "0.01", "lot_size": "0.001", "min_qty": "0.001",
           "max_qty": "100", "min_price": "1", "max_price": "1000000"}  # fmt: skip
    document = {"instruments": [btc], "market": {"venues": KRAKEN}}
    engine, _ = split_config(document)
    assert "market" not in engine
    path = tmp_path / "venue.json"
    path.write_text(json.dumps(document))
    assert [i.symbol for i in EngineConfig.from_file(path).instruments] == ["BTC-USD"]
