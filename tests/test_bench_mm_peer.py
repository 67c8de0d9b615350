"""``wintermute bench backtest-peer``: the tape converted to hftbacktest's events, and both rows."""

from __future__ import annotations

import json
from collections.abc import Callable

import numpy as np
import numpy.typing as npt
import pytest

from wintermute.bench import mm_peer
from wintermute.cli import main

Require = Callable[[str], None]


def _reference_tops(
    rows: npt.NDArray[np.int64], times: list[int]
) -> list[tuple[int | None, int | None]]:
    """Best bid and ask (ticks) of a plain book fed the rows in receive order, at each time."""
    bids: dict[int, int] = {}
    asks: dict[int, int] = {}
    order = np.argsort(rows[:, 1], kind="stable")
    out, i = [], 0
    for t in times:
        while i < len(order) and rows[order[i], 1] <= t:
            _, _, kind, side, price, qty = (int(v) for v in rows[order[i]])
            i += 1
            if kind >= 2:
                bids.clear()
                asks.clear()
            elif kind == 0:
                book = bids if side == 0 else asks
                if qty == 0:
                    book.pop(price, None)
                else:
                    book[price] = qty
        out.append((max(bids, default=None), min(asks, default=None)))
    return out


def _hftbacktest_tops(
    events: npt.NDArray[np.void], tick: float, lot: float, times: list[int]
) -> list[tuple[int | None, int | None]]:
    from wintermute.bench.mm_peer_loops import tops

    hbt = mm_peer.hftbacktest_backtest(events, tick, lot)
    out = np.zeros((len(times), 2), np.int64)
    tops(hbt, np.asarray(times, np.int64), out)
    hbt.close()
    lo, hi = np.iinfo(np.int32).min, np.iinfo(np.int32).max
    return [(None if b <= lo else int(b), None if a >= hi else int(a)) for b, a in out]


def test_glft_coefficients_equal_our_models_closed_form() -> None:
    # The hand-computed values of crates/mm/src/models/glft.rs: gamma = 0.1, A = 2, k = 0.5.
    c1, c2 = mm_peer.glft_coefficients(0.1, 2.0, 0.5)
    assert c1 == pytest.approx(1.823_215_568, abs=1e-9)
    assert c2 == pytest.approx(0.386_392_546_5, abs=1e-9)


def test_converted_rows_carry_hftbacktests_kind_side_and_time_flags(require: Require) -> None:
    require("hftbacktest")
    from hftbacktest import (
        BUY_EVENT,
        DEPTH_CLEAR_EVENT,
        DEPTH_EVENT,
        EXCH_EVENT,
        LOCAL_EVENT,
        SELL_EVENT,
        TRADE_EVENT,
    )

    rows = np.array(
        [
            [10, 15, 2, 0, 0, 0],
            [10, 15, 0, 0, 99, 3],
            [11, 16, 0, 1, 101, 4],
            [12, 17, 1, 1, 101, 2],
        ],
        np.int64,
    )
    ev = mm_peer.to_hftbacktest(rows, 0.5, 0.25)
    both = EXCH_EVENT | LOCAL_EVENT
    assert list(ev["ev"]) == [
        DEPTH_CLEAR_EVENT | both,
        DEPTH_EVENT | BUY_EVENT | both,
        DEPTH_EVENT | SELL_EVENT | both,
        TRADE_EVENT | SELL_EVENT | both,
    ]
    assert list(ev["px"][1:]) == [49.5, 50.5, 50.5]
    assert np.isnan(ev["px"][0])
    assert list(ev["qty"][1:]) == [0.75, 1.0, 0.5]
    # A receive time out of venue-time order: each event once per side, each side in order.
    rows[1, 1] = 20
    ev = mm_peer.to_hftbacktest(rows, 0.5, 0.25)
    exch = ev[(ev["ev"] & EXCH_EVENT) != 0]
    local = ev[(ev["ev"] & LOCAL_EVENT) != 0]
    assert len(exch) == len(local) == 4
    assert len(ev) == 8
    assert list(exch["exch_ts"]) == [10, 10, 11, 12]
    assert list(local["local_ts"]) == [15, 16, 17, 20]


def test_the_converted_recording_gives_hftbacktest_our_best_bid_and_ask(require: Require) -> None:
    require("hftbacktest")
    rows, tick, lot, venue = mm_peer.tape(mm_peer.config("recorded"))
    assert venue == "binance:BTCUSDT"
    assert len(rows) > 10_000
    assert {0, 1, 2} <= set(rows[:, 2].tolist())
    recv = np.unique(rows[:, 1])
    # Checkpoints between two receive times, so that "at or before" is the same for both.
    picks = recv[np.linspace(0, len(recv) - 2, 60).astype(int)]
    nxt = recv[np.searchsorted(recv, picks) + 1]
    times = [int(a + (b - a) // 2) for a, b in zip(picks, nxt, strict=True)]
    ours = _reference_tops(rows, times)
    theirs = _hftbacktest_tops(mm_peer.to_hftbacktest(rows, tick, lot), tick, lot, times)
    assert sum(b is not None and a is not None for b, a in ours) > 50
    assert theirs == ours


@pytest.mark.slow
def test_a_short_bench_run_reports_both_backtesters_on_the_same_events(
    require: Require, capsys: pytest.CaptureFixture[str]
) -> None:
    require("hftbacktest")
    args = ["bench", "backtest-peer", "--seconds", "5", "--repeat", "1", "--json"]
    assert main(args) == 0
    doc = json.loads(capsys.readouterr().out)
    rows = {r["system"]: r for r in doc["results"]}
    assert set(rows) == {"wintermute", "hftbacktest"}
    assert rows["wintermute"]["events"] == rows["hftbacktest"]["events"] > 10_000
    for r in rows.values():
        assert r["events_per_s"] > 0, r
        assert r["fills"] > 0, r
    assert doc["ratio"] == pytest.approx(
        rows["wintermute"]["events_per_s"] / rows["hftbacktest"]["events_per_s"]
    )
    assert rows["wintermute"]["markout_1s_bps"] is not None


def test_the_bench_refuses_an_unknown_queue_model(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "backtest-peer", "--seconds", "1", "--queue", "fifo"]) == 2
    assert "queue_model" in capsys.readouterr().err
