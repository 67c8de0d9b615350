"""A Python strategy quoting live (``LiveMarketMaker(..., strategy=...)``) on a real pipeline,
driven by a stepped synthetic market (``SteppedBooks``: the reference books set by hand, one
state at a time): the Python ``FixedSpread`` settles on the same quotes as the built-in
fixed-spread model for every book state and after a fill; it sees our venue's top as a backtest
shows it (its own orders in it) and our venue's public trades; its ``on_trade`` sees the
external venues' trades as the feeds served them (a synthetic market on 127.0.0.1); a slow
strategy's quotes are still pulled by the Rust thread on a resync, within the turn; its queue
conflates tops when it falls behind, and counts it; a strategy that raises has its quotes
pulled, with the error shown."""

from __future__ import annotations

import asyncio
import copy
import time
from collections.abc import Callable, Iterator
from decimal import ROUND_CEILING, ROUND_FLOOR, Decimal
from pathlib import Path
from typing import Any

import pytest

from wintermute import mm, mm_live
from wintermute.bench import mm_live as bench_mm_live
from wintermute.market import Market, NormalizedEvent
from wintermute.mm_fixed_spread import FixedSpread
from wintermute.mm_strategy import BUY, OURS, SELL, Strategy, Top, Trade
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
    def __init__(
        self, strategy: Strategy | None, config: dict[str, Any] = CONFIG, **kwargs: Any
    ) -> None:
        self.venue = Venue(mm_live.engine_config(config), reserve=1)
        self.books = mm_live.SteppedBooks(2)
        gateway, subscription = self.venue.reserved(0)
        self.maker = mm_live.LiveMarketMaker(
            config, gateway=gateway, subscription=subscription, books=self.books, account=9,
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


def settled(
    rig: Rig, fair: float | None = None, still_s: float = 0.05
) -> list[tuple[str, int, int]]:
    """The quotes once they rest and stop changing for ``still_s`` seconds (snapshots a timer
    tick apart)."""
    seen: list[tuple[str, int, int]] | None = None
    since = time.monotonic()
    deadline = since + 20
    while True:
        s = rig.maker.raw_state()
        ready = (fair is None or s["fair_value"] == pytest.approx(fair)) and len(
            s["quotes"]
        ) == 4 and all(q["queue_ahead"] is not None for q in s["quotes"])  # fmt: skip
        now = quotes(s) if ready else None
        if now is None or now != seen:
            seen, since = now, time.monotonic()
        elif time.monotonic() - since >= still_s:
            return now
        assert time.monotonic() < deadline, f"quotes never settled: {s}"
        time.sleep(0.025)


def microprice(bid: str, ask: str, bq: str, aq: str) -> float:
    b, a = float(Decimal(bid) / TICK), float(Decimal(ask) / TICK)
    return b + (a - b) * float(bq) / (float(bq) + float(aq))


#: The comparison's config: requotes at least every 100 ms (see the test below).
REQUOTING: dict[str, Any] = copy.deepcopy(CONFIG)
REQUOTING["pricing"]["quoting"]["requote_interval_ms"] = 100


class Watching(FixedSpread):
    """FixedSpread that also keeps what it saw of our venue: its tops and public trades."""

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self.our_tops: list[Top] = []
        self.our_trades: list[Trade] = []
        self.own_seen = False

    def on_book(self, venue: int, top: Top) -> None:
        if venue == OURS:
            self.our_tops.append(top)
            # Our own best bid and ask, as the quoter has them resting, are the whole top.
            bid, ask = self.resting[0][0], self.resting[1][0]
            if bid and ask and (top.bid_price, top.bid_qty, top.ask_price, top.ask_qty) == (
                *bid, *ask,
            ):  # fmt: skip
                self.own_seen = True
        super().on_book(venue, top)

    def on_trade(self, trade: Trade) -> None:
        if trade.venue == OURS:
            self.our_trades.append(trade)


def run_steps(strategy: Strategy | None, config: dict[str, Any] = REQUOTING) -> list[Any]:
    rig = Rig(strategy, config=config)
    try:
        out = []
        for step in STEPS:
            rig.step(step)
            fair = sum(microprice(*v) for v in step) / len(step)
            out.append(settled(rig, fair, still_s=0.5))
        # A fill: another trader lifts 3 lots of our asks; the quotes skew against the
        # inventory (-3 lots) the same way in both.
        asyncio.run(rig.venue.place(1, SYMBOL, "buy", "market", Decimal("0.003")))
        wait_raw(rig, "the fill", lambda s: s["inventory"] == -3)
        out.append(settled(rig, still_s=0.5))
        return out
    finally:
        rig.close()


def test_the_python_fixed_spread_quotes_live_as_the_built_in_does_on_a_stepped_market() -> None:
    builtin = run_steps(None)
    watching = Watching(REQUOTING)
    python = run_steps(watching)
    # The settled quotes are the built-in's. On the way they may differ: a Python strategy
    # sees our venue's whole top, its own quotes included, exactly as a backtest shows it (the
    # built-in live model reads the top without our orders), and FixedSpread, like the built-in
    # in a backtest, keeps its bid below that top's ask: on a jump of the books wider than its
    # spread it first requotes against its own old quotes, and reaches the built-in's quotes at
    # its next requote (every 100 ms here, hence REQUOTING; with the bench's 600 s interval it
    # would stay there).
    assert python == builtin
    assert watching.own_seen, watching.our_tops[:10]
    # The fill came from 3 lots of our asks lifted: our venue's public trades, the buyer the
    # aggressor, at the asks that rested before it.
    asks = [(p, q) for side, p, q in builtin[-2] if side == "sell"]
    assert [(t.price, t.qty, t.aggressor) for t in watching.our_trades] == [
        (asks[0][0], 2, BUY), (asks[1][0], 1, BUY),
    ]  # fmt: skip
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
    """FixedSpread that raises on a reference venue's top once it has quoted (not on our
    venue's, which shows its own quotes)."""

    def on_book(self, venue: int, top: Top) -> None:
        if venue != OURS and self.requotes and top.bid_price != 6_000_000:
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


EXAMPLES = Path(__file__).resolve().parents[1] / "examples"


def test_a_strategy_sees_its_own_orders_in_our_venues_top_in_a_backtest_as_it_does_live() -> None:
    # The same strategy code in a backtest: our venue's top it is shown counts its own quotes
    # (the live test above checks the same live), and our venue's public trades reach it. No
    # other maker on our venue: when both our quotes rest, they are the whole top.
    config = mm.load_config(EXAMPLES / "mm_python.toml")
    config["market"]["duration_s"] = 10.0
    config["market"]["participants"]["makers"] = 0
    watching = Watching(config)
    result = mm.run_backtest(config, strategy=watching)
    assert watching.own_seen, watching.our_tops[:10]
    assert result.summary["fills"] > 0
    assert watching.our_trades, "our venue's trades (ours among them) reach on_trade"


class Tape(Strategy):
    """Keeps every public trade it is shown."""

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        self.trades: list[Trade] = []

    def on_trade(self, trade: Trade) -> None:
        self.trades.append(trade)


def on_our_grid(event: NormalizedEvent, tick: Decimal, lot: Decimal) -> tuple[int, int, int]:
    """A feed's trade as a strategy is shown it: a buy's price rounded up onto our ticks, a
    sell's down, the quantity in whole lots (at least one)."""
    buy = event["aggressor"] == "buy"
    price, qty = event["price"], event["qty"]
    assert price is not None
    assert qty is not None
    ticks = (price / tick).to_integral_value(ROUND_CEILING if buy else ROUND_FLOOR)
    return int(ticks), max(1, int(qty // lot)), BUY if buy else SELL


def test_on_trade_sees_the_external_venues_trades_as_the_feeds_served_them() -> None:
    config = mm_live.paper_config()
    venue = Venue(mm_live.engine_config(config), reserve=1)
    # The synthetic venues served on 127.0.0.1, a ring large enough to keep every event.
    market = Market(steps=3000, pace="1", latent=True, max_attempts=None, ring_capacity=1 << 16)
    tape = Tape(config)
    maker = mm_live.start_on_venue(config, venue, market, strategy=tape)
    try:
        wait_state = time.monotonic() + 20
        while len({t.venue for t in tape.trades}) < 2:
            assert time.monotonic() < wait_state, f"trades of two venues never came: {tape.trades}"
            time.sleep(0.05)
        time.sleep(1.0)
        market.stop()
        # Every trade published before the stop reaches the strategy.
        count = -1
        while count != len(tape.trades):
            count = len(tape.trades)
            time.sleep(0.3)
        state = maker.state()["strategy"]
    finally:
        maker.stop()
        market.stop()
        venue.close()
    tick, lot = maker.tick_size, maker.lot_size
    for i, v in enumerate(config["pricing"]["venues"]):
        served = [
            on_our_grid(e, tick, lot)
            for e in market.events(v["name"], v["symbol"])
            if e["kind"] == "trade" and e["aggressor"] is not None
        ]
        seen = [(t.price, t.qty, t.aggressor) for t in tape.trades if t.venue == i]
        # From when the market maker started reading, every trade the feed served, in order.
        assert len(seen) <= len(served)
        assert seen == served[len(served) - len(seen) :], v["name"]
    assert len(tape.trades) >= 5
    assert state["trades"] == len(tape.trades)
    assert state["missed_events"] == 0
    assert state["dropped_trades"] == 0
    # Nothing of ours traded: no trade of our venue among them.
    assert all(t.venue != OURS for t in tape.trades)
