"""The threaded engine's config (wintermute.config): one schema, the engine's, read through
every route — a TOML file, a Python dict, and the JSON document the engine itself starts from
— gives the same config or the same error, naming the key."""

from __future__ import annotations

import dataclasses
import json
import warnings
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from specs import BTC, PARK
from wintermute import _core, errors
from wintermute.config import (
    WAIT_KINDS,
    ConfigError,
    EngineConfig,
    InstrumentConfig,
    LimitsConfig,
    limits_of,
)

#: (document, the key its error names, a word of the message).
BAD: list[tuple[dict[str, Any], str, str]] = [
    ({}, "instruments", "non-empty list"),
    ({"instruments": [BTC], "gateway": {}}, "gateway", "unknown key"),
    ({"instruments": [{**BTC, "tick": "1"}]}, "instruments[0].tick", "unknown key"),
    ({"instruments": [{**BTC, "tick_size": 0.01}]}, "instruments[0].tick_size", "floats"),
    ({"instruments": [{**BTC, "min_price": "abc"}]}, "instruments[0].min_price", "decimal"),
    ({"instruments": [{**BTC, "min_qty": "0.0005"}]}, "instruments[0]", "min_qty"),
    ({"instruments": [BTC, BTC]}, "instruments[1].symbol", "duplicate"),
    ({"instruments": [BTC], "gateways": {"count": 0}}, "gateways.count", "out of range"),
    ({"instruments": [BTC], "gateways": {"count": "4"}}, "gateways.count", "integer"),
    ({"instruments": [BTC], "gateways": {"count": True}}, "gateways.count", "integer"),
    (
        {"instruments": [BTC], "gateways": {"backpressure": "drop"}},
        "gateways.backpressure",
        "block",
    ),
    ({"instruments": [BTC], "topology": "ring"}, "topology", "merged"),
    ({"instruments": [BTC], "threads": {"risk": {"wait": "nap"}}}, "threads.risk.wait", "park"),
    ({"instruments": [BTC], "threads": {"io": {}}}, "threads.io", "unknown key"),
    ({"instruments": [BTC], "threads": {"risk": {"core": -1}}}, "threads.risk.core", "range"),
    (
        {"instruments": [BTC], "subscriptions": {"capacity": 1 << 31}},
        "subscriptions.capacity",
        "range",
    ),
    (
        {"instruments": [BTC], "subscriptions": {"book_deltas": "no"}},
        "subscriptions.book_deltas",
        "true or false",
    ),
    (
        {"instruments": [BTC], "subscriptions": {"count": 2, "book_deltas": [True]}},
        "subscriptions.book_deltas",
        "one per subscription",
    ),
    (
        {"instruments": [BTC], "subscriptions": {"count": 2, "book_deltas": [True, None]}},
        "subscriptions.book_deltas[1]",
        "true or false",
    ),
    ({"instruments": [BTC], "journal": {"fsync": "none"}}, "journal.dir", "directory"),
    (
        {"instruments": [BTC], "journal": {"dir": "j", "fsync": "often"}},
        "journal.fsync",
        "batch",
    ),
    (
        {"instruments": [BTC], "journal": {"dir": "j", "populate": 1}},
        "journal.populate",
        "true or false",
    ),
    (
        {"instruments": [BTC], "journal": {"dir": "j", "prepare_segments": "off"}},
        "journal.prepare_segments",
        "true or false",
    ),
    (
        {"instruments": [BTC], "journal": {"dir": "j", "segment_size": 10}},
        "journal.segment_size",
        "range",
    ),
    ({"instruments": [BTC], "risk": {"accounts": {"x": {}}}}, "risk.accounts.x", "integer"),
    (
        {"instruments": [BTC], "risk": {"accounts": {"7": {"max_position": -1}}}},
        "risk.accounts.7.max_position",
        "range",
    ),
    (
        {
            "instruments": [BTC],
            "risk": {"default_limits": {"price_band_ticks": 5, "price_band_bps": 5}},
        },
        "risk.default_limits.price_band_bps",
        "not both",
    ),
    (
        {"instruments": [BTC], "risk": {"reference_prices": {"ETH-USD": "1"}}},
        "risk.reference_prices.ETH-USD",
        "unknown instrument",
    ),
    (
        {"instruments": [BTC], "risk": {"reference_prices": {"BTC-USD": "1.005"}}},
        "risk.reference_prices.BTC-USD",
        "not a price",
    ),
    ({"instruments": [BTC], "gateways": {"wait": "yield"}}, "gateways.wait", "spin_then_yield"),
    (
        {"instruments": [BTC], "journal": {"dir": "j", "archive_dir": "a"}},
        "journal.archive_dir",
        "needs",
    ),
    (
        {"instruments": [BTC], "risk": {"default_limits": {"order_rate_burst": 1}}},
        "risk.default_limits.order_rate_burst",
        "needs",
    ),
    ({"instruments": [BTC], "order_capacity": -1}, "order_capacity", "range"),
    ({"instruments": [BTC], "risk": {"notional_scale": 4}}, "risk.notional_scale", "notional"),
    ({"instruments": [BTC], "journal": {"dir": ""}}, "journal.dir", "directory"),
]

#: Documents that must read the same by every route.
GOOD: list[dict[str, Any]] = [
    {"instruments": [BTC]},
    {"instruments": [{**BTC, "max_qty": 100, "min_price": 1}], "topology": "auto"},
    {
        "instruments": [BTC, {**BTC, "symbol": "ETH-USD", "tick_size": "0.05"}],
        "topology": "split",
        "threads": {"risk": {"wait": PARK, "core": 0}, "matching": {"wait": "spin_then_yield"}},
        "gateways": {"count": 3, "capacity": 512, "backpressure": "reject", "wait": "park"},
        "subscriptions": {"count": 2, "capacity": 256, "book_deltas": [True, False]},
        "order_capacity": 1024,
        "stats_interval_ms": 50,
        "risk": {
            "notional_scale": 8,
            "reject_unknown_accounts": True,
            "accounts": {"7": {"max_order_qty": 10, "price_band_bps": 500}, "12": {}},
            "reference_prices": {"BTC-USD": "64000.5"},
        },
        "journal": {
            "dir": "journal",
            "fsync": "none",
            "sync": "background",
            "snapshot_every_records": 100,
            "prune_segments": True,
            "archive_dir": "old",
        },
    },
]


def toml_value(value: Any) -> str:
    """``value`` as a TOML inline value (enough for these documents: no None)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return (
            "{"
            + ", ".join(f"{json.dumps(str(k))} = {toml_value(v)}" for k, v in value.items())
            + "}"
        )
    raise TypeError(value)


def has_none(value: Any) -> bool:
    if isinstance(value, dict):
        return any(has_none(v) for v in value.values())
    if isinstance(value, list | tuple):
        return any(has_none(v) for v in value)
    return value is None


def write_toml(path: Path, doc: dict[str, Any]) -> Path:
    path.write_text("".join(f"{k} = {toml_value(v)}\n" for k, v in doc.items()), encoding="utf-8")
    return path


@pytest.mark.parametrize("doc", GOOD)
def test_a_toml_file_a_dict_and_the_engines_document_give_the_same_config(
    tmp_path: Path, doc: dict[str, Any]
) -> None:
    from_dict = EngineConfig.from_dict(doc, cores=2, base_dir=tmp_path)
    from_toml = EngineConfig.from_file(write_toml(tmp_path / "engine.toml", doc), cores=2)
    json_file = tmp_path / "engine.json"
    json_file.write_text(json.dumps(doc), encoding="utf-8")
    assert from_toml == from_dict
    assert EngineConfig.from_file(json_file, cores=2) == from_dict
    # The engine reads the same schema: the document it is handed resolves to itself.
    cores, resolved = _core.pipeline_config(json.dumps(doc), 2, str(tmp_path))
    assert cores == from_dict.cores == 2
    assert _core.pipeline_config(from_dict.to_json(), 16)[1] == resolved
    again = EngineConfig.from_dict(from_dict.to_dict(), cores=16)
    assert again == dataclasses.replace(from_dict, cores=16)
    engine = _core.Pipeline(from_dict.to_json())
    try:
        assert engine.instruments() == [i["symbol"] for i in doc["instruments"]]
        assert len(engine.gateways) == from_dict.gateways.count
        assert len(engine.subscriptions) == from_dict.subscriptions.count
    finally:
        engine.shutdown()


@pytest.mark.parametrize(("data", "key", "message"), BAD)
def test_a_bad_value_is_the_same_error_by_every_route(
    tmp_path: Path, data: dict[str, Any], key: str, message: str
) -> None:
    raised: list[ConfigError] = []
    routes: list[Any] = [
        lambda: EngineConfig.from_dict(data, cores=2),
        lambda: _core.pipeline_config(json.dumps(data), 2),
        lambda: _core.Pipeline(json.dumps(data)),
    ]
    if not has_none(data):
        toml = write_toml(tmp_path / "bad.toml", data)
        routes.append(lambda: EngineConfig.from_file(toml, cores=2))
    for route in routes:
        with pytest.raises(ConfigError) as e:
            route()
        raised.append(e.value)
    assert {(e.key, str(e)) for e in raised} == {(key, str(raised[0]))}
    assert message in str(raised[0])
    assert all(e.reason == "CONFIG" for e in raised)


@pytest.mark.parametrize(("data", "key", "message"), BAD)
def test_config_errors_name_the_key(data: dict[str, Any], key: str, message: str) -> None:
    with pytest.raises(ConfigError, match=message) as raised:
        EngineConfig.from_dict(data, cores=2)
    assert raised.value.key == key
    assert key in str(raised.value)
    assert isinstance(raised.value, ValueError)
    assert isinstance(raised.value, errors.WintermuteError)


def test_defaults_adapt_to_the_core_count() -> None:
    small = EngineConfig.from_dict({"instruments": [BTC]}, cores=2)
    assert (small.topology, small.risk_thread.wait.kind, small.gateways.wait.kind) == (
        "merged",
        "park",
        "park",
    )
    big = EngineConfig.from_dict({"instruments": [BTC]}, cores=16)
    assert (big.topology, big.risk_thread.wait.kind, big.matching_thread.wait.kind) == (
        "split",
        "busy_spin",
        "busy_spin",
    )
    assert big.gateways.wait.kind == "spin_then_yield"
    # Given values win over the defaults.
    given = EngineConfig.from_dict(
        {"instruments": [BTC], "topology": "split", "threads": {"matching": {"core": 1}}}, cores=2
    )
    assert given.topology == "split"
    assert given.matching_thread.core == 1


def test_config_files_toml_and_json_round_trip(tmp_path: Path) -> None:
    toml = tmp_path / "engine.toml"
    toml.write_text(
        """
topology = "merged"
stats_interval_ms = 50

[[instruments]]
symbol = "BTC-USD"
tick_size = "0.01"
lot_size = "0.001"
min_qty = "0.001"
max_qty = "100"
min_price = "1"
max_price = "1000000"

[threads.risk]
wait = { kind = "park", timeout_us = 100 }
core = 0

[gateways]
count = 3
backpressure = "reject"

[journal]
dir = "journal"
fsync = "none"

[risk]
reference_prices = { "BTC-USD" = "64000.5" }
[risk.accounts.7]
max_order_qty = 10
price_band_bps = 500
""",
        encoding="utf-8",
    )
    cfg = EngineConfig.from_file(toml, cores=2)
    assert cfg.gateways.count == 3
    assert cfg.gateways.backpressure == "reject"
    assert cfg.risk_thread.wait.timeout_us == 100
    assert cfg.risk_thread.core == 0
    assert cfg.journal is not None
    assert cfg.journal.dir == str(tmp_path / "journal")
    assert cfg.risk is not None
    assert cfg.risk.accounts[7].max_order_qty == 10
    assert cfg.risk.reference_prices == {"BTC-USD": "64000.5"}
    as_json = tmp_path / "engine.json"
    as_json.write_text(json.dumps(cfg.to_dict()), encoding="utf-8")
    assert EngineConfig.from_file(as_json, cores=2) == cfg
    bad = tmp_path / "bad.toml"
    bad.write_text("instruments = [", encoding="utf-8")
    with pytest.raises(ConfigError, match="TOML"):
        EngineConfig.from_file(bad)
    with pytest.raises(ConfigError, match=r"\.toml or \.json"):
        EngineConfig.from_file(tmp_path / "engine.yaml")


def test_a_resolved_config_names_every_default() -> None:
    cfg = EngineConfig.from_dict({"instruments": [BTC], "journal": {"dir": "/tmp/j"}}, cores=2)
    assert cfg.journal is not None
    assert (cfg.journal.fsync, cfg.journal.batch_records, cfg.journal.segment_size) == (
        "batch",
        1000,
        64 << 20,
    )
    assert (cfg.journal.snapshot_keep, cfg.journal.prepare_segments, cfg.journal.populate) == (
        3,
        True,
        True,
    )
    assert (cfg.order_capacity, cfg.stage_capacity, cfg.batch, cfg.stats_interval_ms) == (
        1 << 16,
        1 << 14,
        256,
        100,
    )
    assert cfg.risk is None
    assert cfg.risk_thread.wait == cfg.matching_thread.wait
    assert cfg.risk_thread.wait.spins == 2000  # the engine's own default on a small machine
    permissive = EngineConfig.from_dict({"instruments": [BTC], "risk": {}}, cores=2).risk
    assert permissive is not None
    assert (permissive.notional_scale, permissive.default_limits) == (6, LimitsConfig())


def test_instruments_and_limits_may_be_given_as_the_config_classes() -> None:
    btc = InstrumentConfig(**BTC)
    cfg = EngineConfig.from_dict(
        {"instruments": [btc], "risk": {"default_limits": LimitsConfig(max_position=5)}}
    )
    assert cfg.instruments == (btc,)
    assert cfg.risk is not None
    assert cfg.risk.default_limits == LimitsConfig(max_position=5)
    with_decimal = EngineConfig.from_dict({"instruments": [{**BTC, "tick_size": Decimal("0.01")}]})
    assert with_decimal.instruments == (btc,)
    tiny = EngineConfig.from_dict({"instruments": [{**BTC, "min_qty": Decimal("1E-3")}]})
    assert tiny.instruments[0].min_qty == "0.001"
    assert limits_of({"max_order_qty": 3}) == LimitsConfig(max_order_qty=3)
    with pytest.raises(ConfigError, match="range") as e:
        limits_of(LimitsConfig(max_order_qty=-3), "limits[4]")
    assert e.value.key == "limits[4].max_order_qty"
    with pytest.raises(ConfigError) as e:
        EngineConfig.from_dict({"instruments": [BTC], "batch": object()})
    assert e.value.key == "<top>"


def test_the_wait_kinds_are_the_configs_and_the_benchmarks() -> None:
    for kind in WAIT_KINDS:
        cfg = EngineConfig.from_dict({"instruments": [BTC], "gateways": {"wait": kind}})
        assert cfg.gateways.wait.kind == kind
    with pytest.raises(errors.WintermuteError, match="busy_spin, spin_then_yield, park"):
        _core.pipeline_bench(None, "off", seconds=0.01, wait="spin")


def test_the_engine_module_keeps_engine_config_working_with_a_warning(tmp_path: Path) -> None:
    from wintermute import Engine, Pipeline

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert type(Engine()) is Engine
    with pytest.warns(DeprecationWarning, match=r"wintermute\.Pipeline\(config\)"):
        eng: Any = Engine({"instruments": [BTC], "threads": {"risk": {"wait": PARK}}})
    assert isinstance(eng, Pipeline)
    eng.shutdown()
