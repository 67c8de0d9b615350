"""``wintermute bench feeds``: the L2 workload, the JSON document and the peers' cross-checks."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import pytest

from wintermute.bench import feeds
from wintermute.cli import main


def test_workload_is_seeded_uncrossed_and_near_two_thousand_levels() -> None:
    a, b = feeds.generate(50_000, seed=3), feeds.generate(50_000, seed=3)
    assert np.array_equal(a.prices, b.prices)
    assert not np.array_equal(a.prices, feeds.generate(50_000, seed=4).prices)
    assert len(a) == 50_000
    bids: dict[int, int] = {}
    asks: dict[int, int] = {}
    for side, price, qty in a.updates():
        levels = bids if side == 0 else asks
        if qty:
            levels[price] = qty
        else:
            levels.pop(price, None)
        if bids and asks:
            assert max(bids) < min(asks)
    assert 1_000 < len(bids) + len(asks) <= 2 * feeds.WINDOW
    assert 0.15 < a.describe()["deletes"] / len(a) < 0.35


@pytest.mark.slow
def test_bench_feeds_json_smoke(
    capsys: pytest.CaptureFixture[str], require: Callable[[str], None]
) -> None:
    for module in ("nautilus_trader", "order_book", "sortedcontainers", "cryptofeed", "ccxt"):
        require(module)
    assert main(["bench", "feeds", "--json", "--updates", "5000"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["workload"]["updates"] == 5000
    rows = {r["system"]: r for r in doc["results"]}
    for system in (
        "l2/wintermute-native",
        "l2/wintermute-batch",
        "l2/wintermute-per-call",
        "l2/nautilus_trader",
        "l2/order-book",
        "l2/sortedcontainers",
        "json/binance/wintermute",
        "json/binance/wintermute-ticks",
        "json/binance/cryptofeed",
        "json/binance/ccxt",
        "json/coinbase/wintermute",
        "json/kraken/wintermute",
    ):
        assert rows[system]["ops_per_s"] > 0, system
    assert rows["l2/wintermute-per-call"]["p99_ns"] is not None
    assert rows["l2/wintermute-native"]["p50_ns"] is None
    # Every peer ended with Wintermute's best prices; no recorded message was rejected.
    assert not [n for n in doc["notes"] if "MISMATCH" in n]
    assert all(" 0 rejected" in n for n in doc["notes"] if "rejected" in n)


def test_bench_feeds_one_system_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "feeds", "--updates", "2000", "--system", "wintermute-batch"]) == 0
    out = capsys.readouterr().out
    assert "l2/wintermute-batch" in out
    assert "json/" not in out
