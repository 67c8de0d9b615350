"""A Python strategy live gets the answers to its cancels and amends as a backtest gives them
(``Strategy.on_answer``, ``answers_commands`` true): one per command, never dropped, even when
its events queue floods; past the runner's ``unanswered`` limit ``cancel`` and ``amend`` raise
and send nothing; and with the answers ``FixedSpread`` counts its orders in flight live, so its
worst-case inventory (inventory, resting orders, and canceled or amended ones not yet answered),
audited from the raw events, never passes its limit on random stepped markets with a trader
hitting its quotes."""

from __future__ import annotations

import asyncio
import copy
import random
import time
from decimal import Decimal
from typing import Any

import pytest

from test_mm_live_strategy import CONFIG, LOT, STEPS, SYMBOL, Rig, wait_raw
from wintermute.errors import InvalidOrderError
from wintermute.mm_fixed_spread import FixedSpread
from wintermute.mm_strategy import BUY, OURS, SELL, Fill, Strategy

#: Far from the stepped market (60000.00): they rest and never fill.
BID, ASK = 5_990_000, 6_010_000


class Churning(Strategy):
    """Each batch (2 ms slow): amends to 1 lot, then cancels, the orders it placed the batch
    before, cancels once an order that is not its own, and places a bid and an ask; ``rounds``
    batches long. Counts the cancels and amends it sent and the answers it got."""

    def __init__(self, rounds: int) -> None:
        super().__init__(CONFIG)
        self.rounds = rounds
        self.working: list[int] = []
        self.sent = 0
        self.answers: list[tuple[int, int]] = []
        self.told_answered: set[bool] = set()

    def on_answer(self, venue: int, order_id: int, open_qty: int) -> None:
        assert venue == OURS
        self.answers.append((order_id, open_qty))

    def on_batch(self, events: Any) -> None:
        time.sleep(0.002)
        self.told_answered.add(self.answers_commands)
        super().on_batch(events)
        if self.rounds == 0:
            return
        self.rounds -= 1
        for order_id in self.working:
            self.amend(OURS, order_id, 1)
            self.cancel(OURS, order_id)
            self.sent += 2
        if self.sent == 0:
            self.cancel(OURS, 12345)
            self.sent += 1
        self.working = [self.place(OURS, BUY, BID, 2), self.place(OURS, SELL, ASK, 2)]


def test_every_cancel_and_amend_gets_one_answer_live_even_when_the_events_queue_floods() -> None:
    strategy = Churning(rounds=40)
    rig = Rig(strategy, queue=2)
    try:
        k = 0
        deadline = time.monotonic() + 20
        while strategy.rounds or len(strategy.answers) < strategy.sent:
            assert time.monotonic() < deadline, (strategy.rounds, strategy.sent, strategy.answers)
            rig.step(STEPS[k % len(STEPS)])  # tops on both venues: the queue of 2 floods
            k += 1
            time.sleep(0.001)
        s = wait_raw(rig, "the counts", lambda x: x["strategy"]["commands"] >= 80)
        assert s["strategy"]["full"] > 0, s["strategy"]
        assert s["strategy"]["conflated_books"] > 0, s["strategy"]
        time.sleep(0.1)
        # Exactly one answer per command, nothing more.
        assert len(strategy.answers) == strategy.sent >= 80
        assert strategy.told_answered == {True}
        state = rig.maker.raw_state()["strategy"]
        assert (state["answers"], state["unanswered"]) == (strategy.sent, 0)
        assert (12345, 0) in strategy.answers, "an unknown order's cancel: answered gone at once"
        by_order: dict[int, list[int]] = {}
        for order_id, open_qty in strategy.answers:
            by_order.setdefault(order_id, []).append(open_qty)
        del by_order[12345]
        # Each order: its amend answered with 1 lot open, then its cancel with 0.
        assert all(v == [1, 0] for v in by_order.values()), by_order
    finally:
        rig.close()


class Greedy(Strategy):
    """Places a bid, then cancels it three times in one batch."""

    def __init__(self) -> None:
        super().__init__(CONFIG)
        self.order_id: int | None = None
        self.refused: list[InvalidOrderError] = []
        self.answers = 0

    def on_answer(self, venue: int, order_id: int, open_qty: int) -> None:
        self.answers += 1

    def on_order_gone(self, venue: int, order_id: int) -> None:
        if order_id == self.order_id:  # refused: quoting was not allowed yet
            self.order_id = None

    def on_book(self, venue: int, top: Any) -> None:
        if self.order_id is None:
            self.order_id = self.place(OURS, BUY, BID, 1)
        elif self.answer_room is not None and self.refused == [] and self.answers == 0:
            self.cancel(OURS, self.order_id)
            self.cancel(OURS, self.order_id)
            try:
                self.cancel(OURS, self.order_id)
            except InvalidOrderError as e:
                self.refused.append(e)


def test_past_the_unanswered_limit_cancel_raises_and_sends_nothing() -> None:
    strategy = Greedy()
    rig = Rig(strategy, unanswered=2)
    try:
        k = 0
        deadline = time.monotonic() + 20
        while strategy.answers < 2:
            assert time.monotonic() < deadline, (strategy.refused, strategy.answers)
            rig.step(STEPS[k % len(STEPS)])
            k += 1
            time.sleep(0.01)
        time.sleep(0.1)
        assert len(strategy.refused) == 1
        assert strategy.refused[0].reason == "TOO_MANY_UNANSWERED"
        assert strategy.answers == 2, "two cancels went, two answers came"
        s = rig.maker.raw_state()
        assert not s["strategy"]["failed"], s
    finally:
        rig.close()


def test_a_live_unanswered_limit_below_one_is_a_config_error() -> None:
    with pytest.raises(ValueError, match="unanswered"):
        Rig(Churning(rounds=0), unanswered=0)


#: A tight limit: the two levels (2 + 3 lots) a side fill 5 of 6 lots, so a moved ladder must
#: wait for its cancels' answers before it quotes in full again.
TIGHT: dict[str, Any] = copy.deepcopy(CONFIG)
TIGHT["pricing"]["quoting"]["max_inventory_lots"] = 6
TIGHT["pricing"]["quoting"]["requote_interval_ms"] = 50


class Audited(FixedSpread):
    """FixedSpread whose worst-case inventory is audited from the raw events, with the venue's
    rule (an amend from ``old`` to ``new`` fills at most ``max(old, new)``; a canceled or
    amended order may fill until its answer): after every callback each side's inventory plus
    what its orders may still fill must be within the limit."""

    def __init__(self, config: Any) -> None:
        super().__init__(config)
        #: order id -> [side index, lots it may still fill, unanswered commands]
        self.orders: dict[int, list[int]] = {}
        self.worst = 0
        self.violations: list[tuple[int, int, int]] = []
        self.answered = 0

    def place(self, venue: int, side: int, price: int, qty: int) -> int:
        order_id = super().place(venue, side, price, qty)
        self.orders[order_id] = [0 if side == BUY else 1, qty, 0]
        return order_id

    def amend(self, venue: int, order_id: int, qty: int) -> None:
        super().amend(venue, order_id, qty)
        o = self.orders[order_id]
        o[1], o[2] = max(o[1], qty), o[2] + 1

    def cancel(self, venue: int, order_id: int) -> None:
        super().cancel(venue, order_id)
        self.orders[order_id][2] += 1

    def on_fill(self, fill: Fill) -> None:
        o = self.orders.get(fill.order_id)
        if o is not None:
            o[1] = 0 if fill.remaining == 0 else o[1] - fill.qty
        super().on_fill(fill)
        self._audit()

    def on_order_gone(self, venue: int, order_id: int) -> None:
        self.orders.pop(order_id, None)
        super().on_order_gone(venue, order_id)
        self._audit()

    def on_answer(self, venue: int, order_id: int, open_qty: int) -> None:
        self.answered += 1
        o = self.orders.get(order_id)
        if o is not None:
            o[2] -= 1
            if open_qty == 0:
                del self.orders[order_id]
            elif o[2] == 0:
                o[1] = open_qty
        super().on_answer(venue, order_id, open_qty)
        self._audit()

    def on_book(self, venue: int, top: Any) -> None:
        super().on_book(venue, top)
        self._audit()

    def on_timer(self) -> None:
        super().on_timer()
        self._audit()

    def _audit(self) -> None:
        for s, sign in ((0, 1), (1, -1)):
            worst = sign * self.inventory + sum(o[1] for o in self.orders.values() if o[0] == s)
            self.worst = max(self.worst, worst)
            if worst > self.max_inventory:
                self.violations.append((self.now_ns, s, worst))


def ticks(price: int) -> str:
    return str(Decimal(price) * Decimal("0.01"))


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_fixed_spreads_worst_case_inventory_stays_within_its_limit_live(seed: int) -> None:
    rng = random.Random(seed)
    strategy = Audited(TIGHT)
    rig = Rig(strategy, config=TIGHT)
    try:
        mid = 6_000_000
        for _ in range(12):
            mid += rng.choice([-7, -3, 0, 3, 7])
            bq, aq = str(rng.randint(1, 3)), str(rng.randint(1, 3))
            step = tuple((ticks(mid - 2), ticks(mid + 2), bq, aq) for _ in range(2))
            rig.step(step)
            time.sleep(rng.choice([0.0, 0.01, 0.06]))
            if rng.random() < 0.4:
                side = rng.choice(["buy", "sell"])
                qty = LOT * rng.randint(1, 4)
                asyncio.run(rig.venue.place(1, SYMBOL, side, "market", qty))
        time.sleep(0.2)
        s = rig.maker.raw_state()
        assert strategy.answers_commands
        assert strategy.answered > 0, "its cancels and amends were answered"
        assert strategy.violations == [], (strategy.violations[:5], strategy.worst)
        assert abs(s["inventory"]) <= TIGHT["pricing"]["quoting"]["max_inventory_lots"]
    finally:
        rig.close()
