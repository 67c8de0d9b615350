"""A plain-Python price-time priority order book: the "plain-Python engine" baseline.

Built on ``sortedcontainers.SortedDict``, the usual choice for a pure-Python book. It is the
benchmark's slowest rival and, because it is small and easy to read, the reference model the
other adapters are checked against: ``deltas.py`` replays a workload through it to derive the
level (L2) and order (L3) updates that feed the peers which do not match orders themselves.

Layout
------
* Each side is a ``SortedDict`` keyed so that index 0 is the best level: ``-price`` for bids,
  ``price`` for asks.
* A level keeps its resting orders in an ``OrderedDict`` (order id -> order), oldest first: FIFO
  matching pops from the front in O(1), and a cancel deletes from the middle in O(1).
* ``orders`` maps each live order id to its order, so a cancel finds its level directly.

Matching follows price-time priority: an incoming order trades with the best opposite level,
oldest order first, at the maker's price, until it is filled or no longer crosses. A limit
order's remainder rests; a market order's remainder is dropped.
"""

from __future__ import annotations

from collections import OrderedDict
from typing import NamedTuple

from sortedcontainers import SortedDict

from wintermute.errors import (
    DuplicateOrderIdError,
    InvalidPriceError,
    InvalidQuantityError,
    UnknownOrderError,
)

BUY = 0
SELL = 1


class Fill(NamedTuple):
    """One trade: the taker met the maker at the maker's price."""

    taker_id: int
    maker_id: int
    maker_side: int
    price: int
    qty: int
    maker_remaining: int


class _Order:
    __slots__ = ("order_id", "price", "remaining", "side")

    def __init__(self, order_id: int, side: int, price: int, remaining: int) -> None:
        self.order_id = order_id
        self.side = side
        self.price = price
        self.remaining = remaining


class _Level:
    __slots__ = ("orders", "price", "qty")

    def __init__(self, price: int) -> None:
        self.price = price
        self.qty = 0
        self.orders: OrderedDict[int, _Order] = OrderedDict()


class PriceTimeBook:
    """One instrument's limit order book with price-time priority matching.

    Prices are integer ticks and quantities integer lots, both strictly positive.
    """

    __slots__ = ("_sides", "orders")

    def __init__(self) -> None:
        # _sides[BUY] is keyed by -price and _sides[SELL] by price: index 0 is the best level.
        self._sides: tuple[SortedDict, SortedDict] = (SortedDict(), SortedDict())
        self.orders: dict[int, _Order] = {}

    # ---- commands ---------------------------------------------------------------------------

    def add_limit(self, order_id: int, side: int, price: int, qty: int) -> list[Fill]:
        """Match a limit order against the book and rest what is left; return the fills."""
        if price <= 0:
            raise InvalidPriceError(f"price={price} must be positive", reason="INVALID_PRICE")
        self._check_new(order_id, qty)
        fills: list[Fill] = []
        remaining = self._match(order_id, side, price, qty, fills)
        if remaining:
            order = _Order(order_id, side, price, remaining)
            book_side = self._sides[side]
            key = -price if side == BUY else price
            level = book_side.get(key)
            if level is None:
                level = book_side[key] = _Level(price)
            level.orders[order_id] = order
            level.qty += remaining
            self.orders[order_id] = order
        return fills

    def market(self, order_id: int, side: int, qty: int) -> list[Fill]:
        """Match a market order against the book; the unfilled rest is dropped."""
        self._check_new(order_id, qty)
        fills: list[Fill] = []
        self._match(order_id, side, None, qty, fills)
        return fills

    def cancel(self, order_id: int) -> int:
        """Remove a resting order; return the quantity it still had."""
        order = self.orders.pop(order_id, None)
        if order is None:
            raise UnknownOrderError(f"order_id={order_id} is not live", reason="UNKNOWN_ORDER")
        book_side = self._sides[order.side]
        key = -order.price if order.side == BUY else order.price
        level = book_side[key]
        del level.orders[order_id]
        level.qty -= order.remaining
        if not level.orders:
            del book_side[key]
        return order.remaining

    # ---- queries ----------------------------------------------------------------------------

    def best_bid(self) -> int | None:
        """Highest bid price, or None when there are no bids."""
        bids = self._sides[BUY]
        return bids.peekitem(0)[1].price if bids else None

    def best_ask(self) -> int | None:
        """Lowest ask price, or None when there are no asks."""
        asks = self._sides[SELL]
        return asks.peekitem(0)[1].price if asks else None

    def level_qty(self, side: int, price: int) -> int:
        """Total resting quantity at one price (0 when the level is empty)."""
        level = self._sides[side].get(-price if side == BUY else price)
        return 0 if level is None else int(level.qty)

    def depth(self, side: int) -> list[tuple[int, int]]:
        """(price, total quantity) per level, best first."""
        return [(level.price, level.qty) for level in self._sides[side].values()]

    def queue(self, side: int, price: int) -> list[tuple[int, int]]:
        """(order id, remaining) at one price, in time priority (empty when no such level)."""
        level = self._sides[side].get(-price if side == BUY else price)
        if level is None:
            return []
        return [(o.order_id, o.remaining) for o in level.orders.values()]

    def __len__(self) -> int:
        return len(self.orders)

    def __contains__(self, order_id: object) -> bool:
        return order_id in self.orders

    # ---- matching ---------------------------------------------------------------------------

    def _check_new(self, order_id: int, qty: int) -> None:
        if qty <= 0:
            raise InvalidQuantityError(f"qty={qty} must be positive", reason="INVALID_QUANTITY")
        if order_id in self.orders:
            raise DuplicateOrderIdError(
                f"order_id={order_id} is already live", reason="DUPLICATE_ORDER_ID"
            )

    def _match(
        self, taker_id: int, side: int, limit: int | None, qty: int, fills: list[Fill]
    ) -> int:
        """Trade ``qty`` against the opposite side up to ``limit``; return the unfilled rest."""
        maker_side = SELL if side == BUY else BUY
        opposite = self._sides[maker_side]
        orders = self.orders
        while qty and opposite:
            key, level = opposite.peekitem(0)
            price = level.price
            if limit is not None and (price > limit if side == BUY else price < limit):
                break
            queue = level.orders
            while qty and queue:
                maker = next(iter(queue.values()))
                fill = qty if qty < maker.remaining else maker.remaining
                qty -= fill
                maker.remaining -= fill
                level.qty -= fill
                fills.append(
                    Fill(taker_id, maker.order_id, maker_side, price, fill, maker.remaining)
                )
                if not maker.remaining:
                    queue.popitem(last=False)
                    del orders[maker.order_id]
            if not queue:
                del opposite[key]
        return qty
