"""Peer L2 books for the "L2 alone" workload of ``wintermute bench feeds``.

Every peer gets the same updates (side, price in ticks, quantity in lots; 0 deletes), converted
to its own objects before timing, and reads the best bid and ask after each update:

- ``sortedcontainers``: two ``SortedDict`` (price -> qty), best from ``peekitem``;
- ``order-book`` (bmoscon/orderbook, C): ``bids[price] = qty`` / ``del``, best from ``index(0)``
  (it has no cheaper best read; ``index`` re-sorts the keys after every change, which is where
  its time goes in this workload);
- ``nautilus_trader``: ``OrderBook`` of type ``L2_MBP``, ``update`` / ``delete`` of pre-built
  ``BookOrder`` objects (precision 0, i.e. ticks and lots), best from ``best_bid_price()``.

``hftbacktest`` has no per-call book API from Python: its Rust market depth is driven by its
backtester over an event array. :func:`hftbacktest_loop` builds the depth events (one
nanosecond apart, tick and lot size 1) and times a numba-compiled loop that calls ``elapse(1)``
(one event each) and reads ``best_bid`` / ``best_ask`` of ``depth(0)`` after each, so its number
includes the backtester's per-step work (compilation is done before timing).
"""

from __future__ import annotations

import importlib.util
import math
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

#: One update: (side 0 = bid / 1 = ask, price in ticks, quantity in lots; 0 deletes).
Update = tuple[int, int, int]
Step = Callable[[int], object]


@dataclass(frozen=True)
class L2Peer:
    """A peer book: ``session(updates)`` builds an empty book and returns ``step(i)``."""

    name: str
    module: str
    install_hint: str
    note: str
    session: Callable[[Sequence[Update]], Step]

    def available(self) -> bool:
        """Whether the peer's package is installed."""
        try:
            return importlib.util.find_spec(self.module) is not None
        except ImportError:
            return False


def _sortedcontainers(updates: Sequence[Update]) -> Step:
    from sortedcontainers import SortedDict

    bids: Any = SortedDict()
    asks: Any = SortedDict()
    sides = (bids, asks)

    def step(i: int) -> object:
        side, price, qty = updates[i]
        levels = sides[side]
        if qty:
            levels[price] = qty
        else:
            levels.pop(price, None)
        best_bid = bids.peekitem(-1)[0] if bids else None
        best_ask = asks.peekitem(0)[0] if asks else None
        return best_bid, best_ask

    return step


def _order_book(updates: Sequence[Update]) -> Step:
    from order_book import OrderBook

    book = OrderBook()
    bids, asks = book.bids, book.asks
    sides = (bids, asks)

    def step(i: int) -> object:
        side, price, qty = updates[i]
        levels = sides[side]
        if qty:
            levels[price] = qty
        elif price in levels:
            del levels[price]
        best_bid = bids.index(0)[0] if len(bids) else None
        best_ask = asks.index(0)[0] if len(asks) else None
        return best_bid, best_ask

    return step


def _nautilus(updates: Sequence[Update]) -> Step:
    from nautilus_trader.model.book import OrderBook
    from nautilus_trader.model.data import BookOrder
    from nautilus_trader.model.enums import BookType, OrderSide
    from nautilus_trader.model.identifiers import InstrumentId
    from nautilus_trader.model.objects import Price, Quantity

    book = OrderBook(InstrumentId.from_str("BENCH.SIM"), BookType.L2_MBP)
    # Pre-built orders (outside the timed loop); a delete carries the price only.
    orders = [
        (
            qty != 0,
            BookOrder(
                OrderSide.BUY if side == 0 else OrderSide.SELL,
                Price(price, 0),
                Quantity(qty, 0),
                0,
            ),
        )
        for side, price, qty in updates
    ]
    update, delete = book.update, book.delete
    best_bid, best_ask = book.best_bid_price, book.best_ask_price

    def step(i: int) -> object:
        live, order = orders[i]
        if live:
            update(order, 0)
        else:
            delete(order, 0)
        return best_bid(), best_ask()

    return step


L2_PEERS: tuple[L2Peer, ...] = (
    L2Peer(
        "nautilus_trader",
        "nautilus_trader",
        "pip install nautilus_trader",
        "nautilus_trader: OrderBook(L2_MBP) update/delete of pre-built BookOrder objects",
        _nautilus,
    ),
    L2Peer(
        "order-book",
        "order_book",
        "pip install order-book",
        "order-book: bids/asks[price] = qty, del at 0, best from index(0) (which re-sorts "
        "the keys after every change: without the best reads it applies ~5M updates/s here)",
        _order_book,
    ),
    L2Peer(
        "sortedcontainers",
        "sortedcontainers",
        "pip install sortedcontainers",
        "sortedcontainers: two SortedDict books, best from peekitem",
        _sortedcontainers,
    ),
)


def hftbacktest_loop(
    sides: Sequence[int] | Any, prices: Any, qtys: Any
) -> tuple[float, tuple[int | None, int | None]]:
    """hftbacktest's market depth in its compiled loop: (seconds, final best bid and ask)."""
    import numpy as np
    from hftbacktest import (
        BUY_EVENT,
        DEPTH_EVENT,
        EXCH_EVENT,
        LOCAL_EVENT,
        SELL_EVENT,
        BacktestAsset,
        HashMapMarketDepthBacktest,
        event_dtype,
    )
    from numba import njit

    n = len(sides)
    events = np.zeros(n, event_dtype)
    side_flag = np.where(np.asarray(sides) == 0, BUY_EVENT, SELL_EVENT)
    events["ev"] = DEPTH_EVENT | EXCH_EVENT | LOCAL_EVENT | side_flag
    events["exch_ts"] = np.arange(1, n + 1)
    events["local_ts"] = np.arange(1, n + 1)
    events["px"] = np.asarray(prices, dtype=np.float64)
    events["qty"] = np.asarray(qtys, dtype=np.float64)

    def asset() -> Any:
        return (
            BacktestAsset()
            .data([events])
            .linear_asset(1.0)
            .constant_order_latency(0, 0)
            .risk_adverse_queue_model()
            .no_partial_fill_exchange()
            .trading_value_fee_model(0.0, 0.0)
            .tick_size(1.0)
            .lot_size(1.0)
        )

    @njit  # type: ignore[untyped-decorator]
    def loop(hbt: Any, steps: int) -> tuple[float, float, float]:
        total = 0.0
        bid = ask = 0.0
        for _ in range(steps):
            if hbt.elapse(1) != 0:
                break
            depth = hbt.depth(0)
            bid, ask = depth.best_bid, depth.best_ask
            total += bid + ask
        return total, bid, ask

    loop(HashMapMarketDepthBacktest([asset()]), 10)  # compile outside the timing
    hbt = HashMapMarketDepthBacktest([asset()])
    start = time.perf_counter()
    _, bid, ask = loop(hbt, n)
    seconds = time.perf_counter() - start

    def tick(value: float) -> int | None:
        return None if math.isnan(value) else round(value)

    return seconds, (tick(bid), tick(ask))
