"""NautilusTrader's ``OrderBook`` (Rust core behind a Cython API), as an L3 (``L3_MBO``) book.

``nautilus_trader.model.book.OrderBook`` maintains a market-data book: ``add``, ``update`` and
``delete`` of individual orders (``BookOrder``), but no matching (Nautilus matches in its backtest
``OrderMatchingEngine``, a much larger machine with accounts, venues and messaging). It is fed the
order-level updates a matching engine would publish for each command
(:mod:`wintermute.bench.deltas`, derived with the reference book before the run): ``add`` a
resting remainder, ``update`` a partly filled maker, ``delete`` a filled or canceled one. The
``BookOrder`` objects (prices and sizes with precision 0, i.e. ticks and lots) are built before
the run. Matching itself is not timed, so this is a lower bound.

Note that in an L3 book ``best_bid_size()`` / ``best_ask_size()`` return the first order's size,
not the level's total; ``bids()[0].size()`` gives the total.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from wintermute.bench.adapter import StepAdapter
from wintermute.bench.deltas import ADD, DELETE, UPDATE, derive
from wintermute.bench.price_time_book import BUY
from wintermute.bench.workload import Workload

Updates = list[list[tuple[int, Any]]]


class NautilusTraderAdapter(StepAdapter[Updates]):
    name = "nautilus_trader"
    note = (
        "nautilus_trader: L3 OrderBook, no matching: applies the order updates each command causes"
    )
    install_hint = "pip install nautilus_trader"
    module = "nautilus_trader"

    def prepare(self, workload: Workload) -> Updates:
        from nautilus_trader.model.data import BookOrder
        from nautilus_trader.model.enums import OrderSide
        from nautilus_trader.model.objects import Price, Quantity

        updates: Updates = []
        for deltas in derive(workload)[0]:
            updates.append(
                [
                    (
                        action,
                        BookOrder(
                            OrderSide.BUY if side == BUY else OrderSide.SELL,
                            Price(price, 0),
                            Quantity(qty, 0),
                            oid,
                        ),
                    )
                    for action, side, price, qty, oid in deltas
                ]
            )
        return updates

    def session(self, prepared: Updates) -> Callable[[int], object]:
        from nautilus_trader.model.book import OrderBook
        from nautilus_trader.model.enums import BookType
        from nautilus_trader.model.identifiers import InstrumentId

        book = OrderBook(InstrumentId.from_str("BENCH.SIM"), BookType.L3_MBO)
        ops = (book.add, book.update, book.delete)  # indexed by ADD, UPDATE, DELETE
        assert (ADD, UPDATE, DELETE) == (0, 1, 2)

        def step(i: int) -> object:
            for action, order in prepared[i]:
                ops[action](order, 0)
            return None

        return step
