"""The ``order-book`` PyPI package (bmoscon/orderbook): a sorted L2 book written in C.

It is L2 only (price -> size per side) and does not match orders, so it is fed the level updates
a matching engine would publish for each command (:mod:`wintermute.bench.deltas`, derived with the
reference book before the run): set ``bids[price] = size`` or ``asks[price] = size``, delete the
price when its size drops to 0. A command costs the updates it causes (one for an add or a cancel,
one per level swept for a cross); matching itself is not timed, so this is a lower bound.
"""

from __future__ import annotations

from collections.abc import Callable

from wintermute.bench.adapter import StepAdapter
from wintermute.bench.deltas import L2Delta, derive
from wintermute.bench.workload import Workload

Updates = list[list[L2Delta]]


class OrderBookAdapter(StepAdapter[Updates]):
    name = "order-book"
    note = "order-book: L2 only, no matching: applies the level updates each command causes"
    install_hint = "pip install order-book"
    module = "order_book"

    def prepare(self, workload: Workload) -> Updates:
        return derive(workload)[1]

    def session(self, prepared: Updates) -> Callable[[int], object]:
        from order_book import OrderBook

        book = OrderBook()
        sides = (book.bids, book.asks)

        def step(i: int) -> object:
            for side, price, size in prepared[i]:
                levels = sides[side]
                if size:
                    levels[price] = size
                else:
                    del levels[price]
            return None

        return step
