"""Book updates equivalent to a workload, for peers that keep a book but do not match orders.

``order-book`` (an L2 price -> size map) and nautilus_trader's ``OrderBook`` (an L3 order book for
market data) have no matching engine. To run the benchmark's stream through them, the stream is
first replayed through the reference :class:`~wintermute.bench.price_time_book.PriceTimeBook`, and
each command is turned into the updates a matching engine would publish for it:

* **L3** (per order): ``ADD`` the resting remainder of a limit order, ``UPDATE`` a maker that a
  trade partly filled (its new remaining size), ``DELETE`` a maker that was filled or canceled;
* **L2** (per price level): ``(side, price, size)`` with the level's new total size, 0 meaning the
  level is gone.

Applying these updates is less work than matching (the decisions were already taken), so the
numbers of those peers are a lower bound on what an engine built on them would spend.
"""

from __future__ import annotations

from wintermute.bench.price_time_book import PriceTimeBook
from wintermute.bench.workload import CANCEL, Workload, apply

ADD = 0
UPDATE = 1
DELETE = 2

#: (action, side, price, qty, order_id); qty is the order's size after the update (0 on DELETE).
L3Delta = tuple[int, int, int, int, int]
#: (side, price, level size after the command); size 0 removes the level.
L2Delta = tuple[int, int, int]


def derive(workload: Workload) -> tuple[list[list[L3Delta]], list[list[L2Delta]]]:
    """Per command, the L3 and L2 updates it causes, in the order a matching engine emits them."""
    book = PriceTimeBook()
    l3_all: list[list[L3Delta]] = []
    l2_all: list[list[L2Delta]] = []
    for command in workload.rows():
        kind, oid, side, price, _ = command
        fills = apply(book, command)
        l3: list[L3Delta] = []
        touched: list[tuple[int, int]] = []
        if kind == CANCEL:
            l3.append((DELETE, side, price, 0, oid))
            touched.append((side, price))
        for f in fills:
            action = UPDATE if f.maker_remaining else DELETE
            l3.append((action, f.maker_side, f.price, f.maker_remaining, f.maker_id))
            if not touched or touched[-1] != (f.maker_side, f.price):
                touched.append((f.maker_side, f.price))
        if oid in book:  # the new order's remainder rests
            ((_, remaining),) = book.queue(side, price)[-1:]
            l3.append((ADD, side, price, remaining, oid))
            touched.append((side, price))
        l3_all.append(l3)
        l2_all.append([(s, p, book.level_qty(s, p)) for s, p in touched])
    return l3_all, l2_all
