"""The benchmark's seeded workload: one stream of order commands that every system replays.

Mix (after the warm-up), as in the benchmark issue:

* 60% **add**: a passive limit order that rests, priced a few ticks off a random-walk mid on its
  own side (never through the opposite touch);
* 30% **cancel** of an order that is live at that moment, picked uniformly;
* 10% **cross**: an order that trades on arrival, half of them aggressive limits priced 0-3 ticks
  through the opposite touch (their remainder rests), half market orders (their remainder is
  dropped).

Before those, a warm-up of ``warmup`` passive adds (1,000 by default, half bids and half asks)
builds the book; systems apply it untimed.

One instrument; prices are integer ticks (the mid starts at 100,000 ticks) and quantities integer
lots. Commands are five parallel ``array('q')`` columns, so the stream is compact, identical for
every system, and viewable as numpy arrays without a copy (:meth:`Workload.columns`):

========= ================================================================================
column    meaning
========= ================================================================================
kind      ``LIMIT`` (0), ``CANCEL`` (1) or ``MARKET`` (2)
order_id  the new order's id (1, 2, 3, ... in stream order), or the id a cancel targets
side      ``BUY`` (0) or ``SELL`` (1); for a cancel, the side of the order it targets
price     limit price in ticks; for a cancel, the target's price; 0 for a market order
qty       quantity in lots; 0 for a cancel
========= ================================================================================

The generator tracks the book with :class:`~wintermute.bench.price_time_book.PriceTimeBook` so
that cancels always name a live order and crosses always meet liquidity. The same seed gives the
same stream, byte for byte, on every platform (it uses only :class:`random.Random`).
"""

from __future__ import annotations

import random
from array import array
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wintermute.bench.price_time_book import BUY, SELL, Fill, PriceTimeBook

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

LIMIT = 0
CANCEL = 1
MARKET = 2

KIND_NAMES = {LIMIT: "limit", CANCEL: "cancel", MARKET: "market"}

ADD_SHARE = 0.60
CANCEL_SHARE = 0.30
CROSS_SHARE = 0.10

START_MID = 100_000
DEFAULT_SEED = 42
DEFAULT_ORDERS = 100_000
DEFAULT_WARMUP = 1_000

# Steps of the generator's plan (not command kinds: a cross is a LIMIT or a MARKET command).
_ADD, _CANCEL, _CROSS = range(3)


@dataclass(frozen=True)
class Workload:
    """A command stream: ``warmup`` untimed commands, then the measured ones."""

    seed: int
    warmup: int
    kind: array[int]
    order_id: array[int]
    side: array[int]
    price: array[int]
    qty: array[int]

    def __len__(self) -> int:
        return len(self.kind)

    @property
    def measured(self) -> int:
        """Number of commands after the warm-up: the ones every system is timed on."""
        return len(self.kind) - self.warmup

    def rows(self) -> list[tuple[int, int, int, int, int]]:
        """All commands as (kind, order_id, side, price, qty) tuples."""
        return list(zip(self.kind, self.order_id, self.side, self.price, self.qty, strict=True))

    def mix(self) -> dict[str, int]:
        """Measured commands per category: add (passive limit), cancel, cross."""
        mix = {"add": 0, "cancel": 0, "cross": 0}
        book = PriceTimeBook()
        for i, row in enumerate(self.rows()):
            fills = apply(book, row)
            if i >= self.warmup:
                mix["cancel" if row[0] == CANCEL else "cross" if fills else "add"] += 1
        return mix

    def describe(self) -> dict[str, Any]:
        """The workload's parameters, for reports (the ``workload`` object of ``bench --json``)."""
        return {
            "seed": self.seed,
            "orders": self.measured,
            "warmup_orders": self.warmup,
            "mix": {"add": ADD_SHARE, "cancel": CANCEL_SHARE, "cross": CROSS_SHARE},
            "instrument": "one instrument, integer ticks and lots",
            "start_mid_ticks": START_MID,
        }

    def columns(self) -> dict[str, npt.NDArray[np.int64]]:
        """The five columns as int64 numpy arrays sharing this workload's memory (no copy)."""
        import numpy as np

        return {
            name: np.frombuffer(getattr(self, name), dtype=np.int64)
            for name in ("kind", "order_id", "side", "price", "qty")
        }


def apply(book: PriceTimeBook, command: tuple[int, int, int, int, int]) -> list[Fill]:
    """Apply one (kind, order_id, side, price, qty) command to a reference book; return fills."""
    kind, oid, side, price, qty = command
    if kind == LIMIT:
        return book.add_limit(oid, side, price, qty)
    if kind == CANCEL:
        book.cancel(oid)
        return []
    return book.market(oid, side, qty)


def generate(
    seed: int = DEFAULT_SEED, orders: int = DEFAULT_ORDERS, warmup: int = DEFAULT_WARMUP
) -> Workload:
    """Build the workload for ``seed``: ``warmup`` resting adds, then ``orders`` commands."""
    if orders < 0 or warmup < 0:
        raise ValueError(f"orders={orders} and warmup={warmup} must not be negative")
    rng = random.Random(seed)
    book = PriceTimeBook()
    live: list[int] = []  # ids of resting orders, for uniform cancel picks
    slot: dict[int, int] = {}  # order id -> index in `live`
    columns: tuple[array[int], ...] = tuple(array("q") for _ in range(5))
    kind_col, id_col, side_col, price_col, qty_col = columns
    next_id = 1
    mid = START_MID

    def emit(kind: int, oid: int, side: int, price: int, qty: int) -> None:
        kind_col.append(kind)
        id_col.append(oid)
        side_col.append(side)
        price_col.append(price)
        qty_col.append(qty)

    def forget(oid: int) -> None:
        index = slot.pop(oid)
        last = live.pop()
        if last != oid:
            live[index] = last
            slot[last] = index

    def submit(kind: int, side: int, price: int, qty: int) -> None:
        nonlocal next_id
        oid = next_id
        next_id += 1
        emit(kind, oid, side, price, qty)
        fills = apply(book, (kind, oid, side, price, qty))
        for fill in fills:
            if not fill.maker_remaining:
                forget(fill.maker_id)
        if oid in book:
            slot[oid] = len(live)
            live.append(oid)

    def add_passive(side: int) -> None:
        offset = 1 + min(int(rng.expovariate(1 / 8)), 200)
        if side == BUY:
            ask = book.best_ask()
            price = mid - offset if ask is None else min(mid - offset, ask - 1)
        else:
            bid = book.best_bid()
            price = mid + offset if bid is None else max(mid + offset, bid + 1)
        submit(LIMIT, side, max(price, 1), rng.randint(1, 100))

    def cross() -> None:
        side = BUY if rng.random() < 0.5 else SELL
        touch = book.best_ask() if side == BUY else book.best_bid()
        if touch is None:  # nothing to trade with: flip to the side that has liquidity
            side = SELL if side == BUY else BUY
            touch = book.best_ask() if side == BUY else book.best_bid()
            assert touch is not None, "cross with an empty book"
        qty = rng.randint(1, 200)
        if rng.random() < 0.5:
            through = rng.randint(0, 3)
            price = touch + through if side == BUY else max(touch - through, 1)
            submit(LIMIT, side, price, qty)
        else:
            submit(MARKET, side, 0, qty)

    for i in range(warmup):
        add_passive(BUY if i % 2 == 0 else SELL)

    n_add = round(orders * ADD_SHARE)
    n_cancel = round(orders * CANCEL_SHARE)
    plan = [_ADD] * n_add + [_CANCEL] * n_cancel + [_CROSS] * (orders - n_add - n_cancel)
    rng.shuffle(plan)
    for step in plan:
        # The mid walks one tick at a time and stays inside the spread, so passive orders
        # land near the touch instead of piling up where an old mid left them.
        r = rng.random()
        mid += 1 if r < 0.25 else -1 if r < 0.5 else 0
        bid, ask = book.best_bid(), book.best_ask()
        if bid is not None:
            mid = max(mid, bid)
        if ask is not None:
            mid = min(mid, ask)
        if step == _CANCEL and live:
            oid = live[rng.randrange(len(live))]
            order = book.orders[oid]
            emit(CANCEL, oid, order.side, order.price, 0)
            book.cancel(oid)
            forget(oid)
        elif step == _CROSS and book.orders:
            cross()
        else:
            add_passive(BUY if rng.random() < 0.5 else SELL)
    return Workload(seed, warmup, kind_col, id_col, side_col, price_col, qty_col)
