"""hftbacktest's side of ``wintermute bench backtest-peer``: numba-compiled loops over its
backtester, compiled on first call (numba cannot cache them on disk: hftbacktest's backtester is
a pointer it treats as a dynamic global), which takes tens of seconds on a loaded machine.

Imported only when hftbacktest (the ``peers`` extra) is installed.
"""

from __future__ import annotations

import math
from typing import Any

from hftbacktest import BUY, GTX, LIMIT, NEW
from hftbacktest.order import PARTIALLY_FILLED
from numba import njit

__all__ = ["glft", "tops"]


@njit  # type: ignore[untyped-decorator]
def glft(
    hbt: Any,
    rec: Any,
    step_ns: int,
    half_spread: float,
    skew: float,
    order_qty: float,
    max_position: float,
    record_every: int,
) -> int:
    """A GLFT market maker in hftbacktest's loop, one order per side, shaped like hftbacktest's
    own GLFT example: every ``step_ns`` it reads the book, sets the bid ``half_spread + skew·q``
    ticks under the fair value and the ask ``half_spread - skew·q`` over it (``q``: position in
    orders), cancels what rests elsewhere and posts (post-only) what is missing; a ``Recorder``
    row every ``record_every`` steps. Returns the steps run."""
    steps = 0
    while hbt.elapse(step_ns) == 0:
        steps += 1
        if steps % record_every == 0:
            rec.record(hbt)
        hbt.clear_inactive_orders(0)
        depth = hbt.depth(0)
        bid_qty, ask_qty = depth.best_bid_qty, depth.best_ask_qty
        if not (bid_qty > 0.0 and ask_qty > 0.0):
            continue
        best_bid, best_ask = depth.best_bid_tick, depth.best_ask_tick
        # The microprice, in ticks: the fair value our pricing stack reads.
        fair = (best_bid * ask_qty + best_ask * bid_qty) / (bid_qty + ask_qty)
        position = hbt.position(0)
        q = position / order_qty
        bid = min(math.floor(fair - half_spread - skew * q), math.ceil(fair) - 1, best_ask - 1)
        ask = max(math.ceil(fair + half_spread - skew * q), math.floor(fair) + 1, best_bid + 1)
        want_bid = position < max_position
        want_ask = position > -max_position
        have_bid = have_ask = False
        orders = hbt.orders(0)
        values = orders.values()
        while values.has_next():
            order = values.get()
            if order.status != NEW and order.status != PARTIALLY_FILLED:
                continue
            if order.side == BUY:
                if want_bid and order.price_tick == bid:
                    have_bid = True
                elif order.cancellable:
                    hbt.cancel(0, order.order_id, False)
            else:
                if want_ask and order.price_tick == ask:
                    have_ask = True
                elif order.cancellable:
                    hbt.cancel(0, order.order_id, False)
        # Order ids from the price (as the example does): even for bids, odd for asks.
        if want_bid and not have_bid and (2 * bid) not in orders:
            hbt.submit_buy_order(0, 2 * bid, bid * depth.tick_size, order_qty, GTX, LIMIT, False)
        if want_ask and not have_ask and (2 * ask + 1) not in orders:
            hbt.submit_sell_order(
                0, 2 * ask + 1, ask * depth.tick_size, order_qty, GTX, LIMIT, False
            )
    return steps


@njit  # type: ignore[untyped-decorator]
def tops(hbt: Any, targets: Any, out: Any) -> None:
    """Best bid and ask ticks of hftbacktest's local book at each of ``targets`` (ns, rising)
    into ``out`` (``len(targets)`` x 2)."""
    # A backtest's clock starts at its first event on the first elapse (before: i64::MAX).
    hbt.elapse(0)
    for j in range(len(targets)):
        hbt.elapse(targets[j] - hbt.current_timestamp)
        depth = hbt.depth(0)
        out[j, 0] = depth.best_bid_tick
        out[j, 1] = depth.best_ask_tick
