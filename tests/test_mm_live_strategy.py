"""A Python strategy quoting live (``LiveMarketMaker(..., strategy=...)``) on a real pipeline,
driven by a stepped synthetic market (``SteppedBooks``: the reference books set by hand, one
state at a time): the Python ``FixedSpread`` places the same quotes as the built-in fixed-spread
model for every book state and after a fill; a slow strategy's quotes are still pulled by the
Rust thread on a resync, within the turn; its queue conflates tops when it falls behind, and
counts it; a strategy that raises has its quotes pulled, with the error shown."""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from typing import Any

import pytest

from wintermute import mm_live
from wintermute.bench import mm_live as bench_mm_live
from wintermute.mm_fixed_spread import FixedSpread
from wintermute.mm_strategy import Strategy, Top
from wintermute.service.venue import Venue

SYMBOL = "BTC-USD"
TICK, LOT = Decimal("0.01"), Decimal("0.001")
#: The bench's config (``wintermute bench mm-live``), with a 20 ms timer.
CONFIG: dict[str, Any] = {**bench_mm_live.CONFIG, "timer_ms": 20}
#: The stepped market: each step's (bid, ask, bid qty, ask qty) on both venues.
STEPS = [
    (("60000.00", "60000.04", "1", "1"), ("60000.00", "60000.04", "1", "1")),
    (("60000.10", "60000.12", "1", "3"), ("60000.06", "60000.12", "2", "1")),
    (("59999.50", "59999.60", "5", "1"), ("59999.52", "59999.58", "1", "1")),
    (("60001.00", "60001.02", "1", "1"), ("60001.00", "60001.06", "1", "4")),
]


class Rig:
    def __init__(self, strategy: Strategy | None, **kwargs: Any) -> None:
        self.venue = Venue(mm_live.engine_config(CONFIG), reserve=1)
        self.books = mm_live.SteppedBooks(2)
        gateway, subscription = self.venue.reserved(0)
        self.maker = mm_live.LiveMarketMaker(
            CONFIG, gateway=gateway, subscription=subscription, books=self.books, account=9,
            symbol=SYMBOL, tick_size=TICK, lot_size=LOT, strategy=strategy, **kwargs,
        )  # fmt: skip

    def step(self, step: tuple[tuple[str, str, str, str], ...]) -> None:
        for i, (bid, ask, bq, aq) in enumerate(step):
            self.books.set_live(i, (bid, bq), (ask, aq))

    def close(self) -> None:
        self.maker.stop()
        self.venue.close()


def wait_raw(rig: Rig, what: str, done: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
    deadline = time.monotonic() + 20
    while True:
        s = rig.maker.raw_state()
        if done(s):
            return s
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {s}"
        time.sleep(0.01)


def quotes(s: dict[str, Any]) -> list[tuple[str, int, int]]:
    return sorted((q["side"], q["price"], q["qty"]) for q in s["quotes"])


def settled(rig: Rig, fair: float | None = None) -> list[tuple[str, int, int]]:
    """The quotes once they rest and stop changing (three snapshots, a timer tick apart)."""
    seen: list[list[tuple[str, int, int]]] = []
    deadline = time.monotonic() + 20
    while True:
        s = rig.maker.raw_state()
        ready = (fair is None or s["fair_value"] == pytest.approx(fair)) and len(
            s["quotes"]
        ) == 4 and all(q["queue_ahead"] is not None for q in s["quotes"])  # fmt: skip
        seen = [*seen[-2:], quotes(s)] if ready else []
        if len(seen) == 3 and seen[0] == seen[1] == seen[2]:
            return seen[0]
        assert time.monotonic() < deadline, f"quotes never settled: {s}"
        time.sleep(0.025)


def microprice(bid: str, ask: str, bq: str, aq: str) -> float:
    b, a = float(Decimal(bid) / TICK), float(Decimal(ask) / TICK)
    return b + (a - b) * float(bq) / (float(bq) + float(aq))


def run_steps(strategy: Strategy | None) -> list[list[tuple[str, int, int]]]:
    rig = Rig(strategy)
    try:
        out = []
        for step in STEPS:
            rig.step(step)
            fair = sum(microprice(*v) for v in step) / len(step)
            out.append(settled(rig, fair))
        # A fill: another trader lifts 3 lots of our asks; the quotes skew against the
        # inventory (-3 lots) the same way in both.
        asyncio.run(rig.venue.place(1, SYMBOL, "buy", "market", Decimal("0.003")))
        wait_raw(rig, "the fill", lambda s: s["inventory"] == -3)
        out.append(settled(rig))
        return out
    finally:
        rig.close()


def test_the_python_fixed_spread_quotes_live_as_the_built_in_does_on_a_stepped_market() -> None:
    builtin = run_steps(None)
    python = run_steps(FixedSpread(CONFIG))
    assert python == builtin
    # Step 1 by hand: both venues 6000000 x 6000004 (1 each): fair 6000002, 3 ticks a side,
    # 2 then 3 lots, levels 2 ticks apart.
    assert builtin[0] == [("buy", 5_999_997, 3), ("buy", 5_999_999, 2),
                          ("sell", 6_000_005, 2), ("sell", 6_000_007, 3)]  # fmt: skip
    # Short 3 lots (1.5 units of 2 lots, 1 tick each): the quotes move up 1.5 ticks, rounded
    # away from the touch; the fill took lots off the best ask.
    assert builtin[-1] != builtin[-2]


class Slow(FixedSpread):
    """FixedSpread that takes 0.3 s over every batch."""

    def on_batch(self, events: Any) -> None:
        time.sleep(0.3)
        super().on_batch(events)


class Failing(FixedSpread):
    """FixedSpread that raises on a top once it has quoted."""

    def on_book(self, venue: int, top: Top) -> None:
        if self.requotes and top.bid_price != 6_000_000:
            raise RuntimeError("strategy bug on purpose")
        super().on_book(venue, top)


@pytest.fixture
def slow() -> Iterator[Rig]:
    rig = Rig(Slow(CONFIG), queue=4)
    try:
        yield rig
    finally:
        rig.close()


def test_a_resync_pulls_a_slow_strategys_quotes_at_once_and_a_full_queue_is_conflated(
    slow: Rig,
) -> None:
    slow.step(STEPS[0])
    settled(slow)
    slow.books.resync(0)
    started = time.monotonic()
    s = wait_raw(slow, "the pull", lambda x: not x["quotes"])
    # The Rust thread pulled them (well within the 0.3 s the strategy takes per batch).
    assert time.monotonic() - started < 0.3
    assert dict(s["interlock"]["pulls"])["sequence_gap"] == 1
    assert s["strategy"]["pulled"] == 4
    # Many tops while the strategy sleeps: the queue (4) fills and tops are conflated.
    for k in range(40):
        step = copy.deepcopy(STEPS[k % 3 + 1])
        slow.step(step)
        time.sleep(0.002)
    s = wait_raw(slow, "conflation", lambda x: x["strategy"]["conflated_books"] > 0)
    assert s["strategy"]["full"] > 0
    assert s["strategy"]["dropped"] == 0
    assert s["strategy"]["queued"] <= 4
    slow.step(STEPS[0])
    assert settled(slow)  # back once live, from the latest tops


def test_a_strategy_that_raises_has_its_quotes_pulled_and_the_error_is_shown() -> None:
    rig = Rig(Failing(CONFIG))
    try:
        rig.step(STEPS[0])
        settled(rig)
        rig.step(STEPS[1])
        s = wait_raw(
            rig,
            "the failure",
            lambda x: bool(x["strategy"] and x["strategy"]["failed"] and x["error"]),
        )
        assert "strategy bug on purpose" in s["error"]
        assert s["quotes"] == [], "its orders were pulled"
        assert s["strategy"]["pulled"] == 4
        shown = rig.maker.state()
        assert shown["strategy"]["name"] == "Failing"
    finally:
        rig.close()


def test_a_non_strategy_is_refused_before_anything_starts() -> None:
    venue = Venue(mm_live.engine_config(CONFIG), reserve=1)
    try:
        gateway, subscription = venue.reserved(0)
        with pytest.raises(TypeError, match="Strategy"):
            mm_live.LiveMarketMaker(
                CONFIG, gateway=gateway, subscription=subscription, books=mm_live.SteppedBooks(2),
                account=9, symbol=SYMBOL, tick_size=TICK, lot_size=LOT,
                strategy=object(),  # type: ignore[arg-type]
            )  # fmt: skip
    finally:
        venue.close()
