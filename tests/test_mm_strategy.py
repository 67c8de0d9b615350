"""The Python strategy base class in the backtester: every callback kind arrives with the state as
of its event (the answers to cancels and amends included), orders reach the venue and come back
as fills, a whole-batch override sees the batch as a numpy structured array, and a strategy's
errors and bad commands stop the run with a clear exception."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from wintermute import _core, errors, mm
from wintermute.mm_strategy import (
    BUY,
    EVENT_DTYPE,
    MAKER,
    OURS,
    SELL,
    Fill,
    Strategy,
    Top,
    Trade,
)

ROOT = Path(__file__).resolve().parent.parent


@pytest.fixture(scope="module")
def config() -> dict[str, Any]:
    c = mm.load_config(ROOT / "examples" / "mm_python.toml")
    c["market"]["duration_s"] = 5.0
    del c["strategy"]
    return c


class Recorder(Strategy):
    """Joins our venue's touch with one lot a side; records what it sees."""

    working: list[int]

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.kinds: dict[str, int] = {
            "book": 0,
            "trade": 0,
            "fill": 0,
            "gone": 0,
            "timer": 0,
            "answer": 0,
        }
        self.working: list[int] = []
        self.canceled: set[int] = set()
        self.answers: list[tuple[int, int, int]] = []
        self.fills: list[Fill] = []
        self.times: list[int] = []
        self.positions: list[int] = []

    def on_book(self, venue: int, top: Top) -> None:
        self.kinds["book"] += 1
        self.times.append(self.now_ns)
        assert self.top(venue) == top
        assert venue == OURS or 0 <= venue < 3
        ours = self.top(OURS)
        # Requote on the first reference venue's changes (our own orders do not move it).
        if venue != 0 or not (ours.bid_qty and ours.ask_qty):
            return
        for order_id in self.working:
            self.cancel(OURS, order_id)
            self.canceled.add(order_id)
        self.working = [
            self.place(OURS, BUY, ours.bid_price, 1),
            self.place(OURS, SELL, ours.ask_price, 1),
        ]
        if self.kinds["book"] % 100 == 0:  # a post-only buy at the ask: refused
            self.place(OURS, BUY, ours.ask_price, 1)

    def on_trade(self, trade: Trade) -> None:
        self.kinds["trade"] += 1
        self.times.append(self.now_ns)
        assert trade.qty > 0
        assert trade.aggressor in (BUY, SELL)

    def on_fill(self, fill: Fill) -> None:
        self.kinds["fill"] += 1
        self.times.append(self.now_ns)
        self.fills.append(fill)
        self.positions.append(self.inventory)

    def on_order_gone(self, venue: int, order_id: int) -> None:
        self.kinds["gone"] += 1
        self.times.append(self.now_ns)

    def on_timer(self) -> None:
        self.kinds["timer"] += 1
        self.times.append(self.now_ns)

    def on_answer(self, venue: int, order_id: int, open_qty: int) -> None:
        self.kinds["answer"] += 1
        self.times.append(self.now_ns)
        self.answers.append((venue, order_id, open_qty))


def test_every_callback_arrives_in_time_order_and_orders_come_back_as_fills(
    config: dict[str, Any],
) -> None:
    s = Recorder(config)
    r = mm.run_backtest(config, strategy=s)
    assert all(n > 0 for n in s.kinds.values()), s.kinds
    assert s.times == sorted(s.times)
    assert len(s.fills) == r.summary["fills"] > 0
    assert all(f.liquidity == MAKER and f.venue == OURS for f in s.fills)
    # The position the callback sees is the sum of the fills so far.
    signed = np.cumsum([f.qty if f.side == BUY else -f.qty for f in s.fills])
    assert s.positions == signed.tolist()
    assert r.summary["final_inventory_lots"] == s.positions[-1]
    assert 0 < s.kinds["gone"] <= r.summary["rejects"]
    # Each cancel is answered once (but those still on their way at the end): the order gone.
    assert s.answers_commands
    answered = [order_id for _, order_id, _ in s.answers]
    assert len(set(answered)) == len(answered) <= r.summary["cancels"]
    assert set(answered) <= s.canceled
    assert all(venue == OURS and open_qty == 0 for venue, _, open_qty in s.answers)
    batching = r.summary["batching"]
    assert batching["events"] == sum(s.kinds.values())
    assert batching["commands"] == r.summary["orders"] + r.summary["cancels"]


def test_a_run_is_deterministic_and_smaller_batches_change_nothing(config: dict[str, Any]) -> None:
    a = mm.run_backtest(config, strategy=Recorder(config))
    b = mm.run_backtest(config, strategy=Recorder(config), max_batch=3)
    assert a.summary["digest"] == b.summary["digest"]
    assert a.summary["pnl_exact"] == b.summary["pnl_exact"]
    assert b.summary["batching"]["largest"] <= 3
    assert b.summary["batching"]["batches"] > a.summary["batching"]["batches"]


class WholeBatch(Strategy):
    """Works on the batch as a numpy array: counts it, quotes one lot below our bid."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.events = 0
        self.batches = 0
        self.order: int | None = None

    def on_batch(self, events: npt.NDArray[np.void]) -> None:
        assert events.dtype == EVENT_DTYPE
        assert np.all(np.diff(events["ts_ns"]) >= 0)
        self.events += len(events)
        self.batches += 1
        assert self.now_ns == int(events["ts_ns"][-1]), "the state is as of the batch's end"
        ours = self.top(OURS)
        if ours.bid_qty and self.order is None:
            self.order = self.place(OURS, BUY, ours.bid_price - 1, 2)


def test_an_on_batch_override_gets_the_whole_batch_as_a_structured_array(
    config: dict[str, Any],
) -> None:
    s = WholeBatch(config)
    r = mm.run_backtest(config, strategy=s)
    assert r.summary["batching"]["events"] == s.events
    assert r.summary["batching"]["batches"] == s.batches
    assert s.events > 2 * s.batches
    assert r.summary["orders"] == 1
    assert s.order is not None


def test_the_event_layout_is_the_core_s() -> None:
    assert EVENT_DTYPE.names == _core.MM_EVENT_FIELDS
    assert all(EVENT_DTYPE[name] == np.int64 for name in _core.MM_EVENT_FIELDS)
    assert set(_core.MM_EVENT_KINDS) == {"book", "trade", "fill", "order_gone", "timer", "answer"}
    assert (_core.MM_SIDES["buy"], _core.MM_SIDES["sell"], -1) == (BUY, SELL, OURS)


class Amender(Strategy):
    """Rests 3 lots far below our bid, amends them down to 1, then cancels them."""

    def __init__(self, config: dict[str, Any]) -> None:
        super().__init__(config)
        self.order: int | None = None
        self.placed_ns = 0
        self.amended = False
        self.answers: list[tuple[int, int, int]] = []

    def on_book(self, venue: int, top: Top) -> None:
        ours = self.top(OURS)
        if self.order is None and ours.bid_qty:
            self.order = self.place(OURS, BUY, ours.bid_price - 50, 3)
            self.placed_ns = self.now_ns
        elif self.order is not None and not self.amended and self.now_ns > self.placed_ns + 10**8:
            self.amend(OURS, self.order, 1)
            self.amended = True

    def on_answer(self, venue: int, order_id: int, open_qty: int) -> None:
        self.answers.append((venue, order_id, open_qty))
        if len(self.answers) == 1:
            self.cancel(venue, order_id)


def test_the_answers_to_an_amend_and_a_cancel_carry_the_open_quantity(
    config: dict[str, Any],
) -> None:
    s = Amender(config)
    r = mm.run_backtest(config, strategy=s)
    assert s.order is not None
    assert s.answers == [(OURS, s.order, 1), (OURS, s.order, 0)]
    assert (r.summary["amends"], r.summary["cancels"], r.summary["fills"]) == (1, 1, 0)


class Raises(Strategy):
    def __init__(self, config: dict[str, Any], after: int) -> None:
        super().__init__(config)
        self.after = after
        self.seen = 0

    def on_book(self, venue: int, top: Top) -> None:
        self.seen += 1
        if self.seen == self.after:
            raise KeyError("strategy bug")


def test_an_exception_in_a_callback_stops_the_run_and_is_raised(config: dict[str, Any]) -> None:
    s = Raises(config, after=50)
    with pytest.raises(KeyError, match="strategy bug"):
        mm.run_backtest(config, strategy=s)
    assert s.seen == 50, "nothing runs after the failing batch"


class BadOrders(Strategy):
    def __init__(self, config: dict[str, Any], qty: int) -> None:
        super().__init__(config)
        self.qty = qty

    def on_timer(self) -> None:
        self.place(OURS, BUY, 1_000, self.qty)


def test_a_bad_command_is_an_invalid_order_error_naming_its_field(config: dict[str, Any]) -> None:
    with pytest.raises(errors.InvalidOrderError, match="qty=0") as e:
        mm.run_backtest(config, strategy=BadOrders(config, qty=0))
    assert e.value.reason == "STRATEGY_COMMAND"


def test_a_float_price_is_a_type_error_not_a_silent_truncation(config: dict[str, Any]) -> None:
    class FloatPrice(Strategy):
        def on_timer(self) -> None:
            self.place(OURS, BUY, 100.5, 1)  # type: ignore[arg-type]

    with pytest.raises(TypeError):
        mm.run_backtest(config, strategy=FloatPrice(config))


def test_orders_outside_a_callback_are_refused() -> None:
    with pytest.raises(RuntimeError, match="callback"):
        Strategy().place(OURS, BUY, 100, 1)


def test_fair_value_feeds_the_fair_value_markouts(config: dict[str, Any]) -> None:
    class Fair(Recorder):
        def fair_value(self, now_ns: int) -> float | None:
            top = self.top(OURS)
            return (top.bid_price + top.ask_price) / 2 if top.bid_qty and top.ask_qty else None

    plain = mm.run_backtest(config, strategy=Recorder(config))
    fair = mm.run_backtest(config, strategy=Fair(config))
    assert plain.summary["digest"] == fair.summary["digest"]
    assert all(m["n"] == 0 for m in plain.summary["markouts_fair"])
    assert fair.summary["markouts_fair"][1]["n"] == fair.summary["markouts"][1]["n"] > 0


def test_a_strategy_is_named_by_module_and_class(config: dict[str, Any]) -> None:
    s = mm.load_strategy("wintermute.mm_fixed_spread:FixedSpread", config)
    assert type(s).__name__ == "FixedSpread"
    for spec in (
        "nonsense",
        "wintermute.mm_fixed_spread:Nope",
        "no.such.module:X",
        "wintermute.mm:BacktestResult",
    ):
        with pytest.raises(errors.ConfigError) as e:
            mm.load_strategy(spec, config)
        assert e.value.key == "strategy"
    bad = copy.deepcopy(config)
    bad["strategy"] = {"max_batch": 3}
    with pytest.raises(errors.ConfigError, match="class"):
        mm.run_backtest(bad)
