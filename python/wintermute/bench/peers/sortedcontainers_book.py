"""The plain-Python engine: :class:`~wintermute.bench.price_time_book.PriceTimeBook`.

A complete price-time matching engine in pure Python on ``sortedcontainers.SortedDict`` (FIFO
queues, partial fills, O(1) cancels). It runs the workload's commands as they are.
"""

from __future__ import annotations

from collections.abc import Callable

from wintermute.bench.adapter import StepAdapter
from wintermute.bench.price_time_book import PriceTimeBook
from wintermute.bench.workload import CANCEL, LIMIT, Workload

Rows = list[tuple[int, int, int, int, int]]


class SortedContainersAdapter(StepAdapter[Rows]):
    name = "sortedcontainers"
    note = "sortedcontainers: pure-Python price-time engine (wintermute.bench.price_time_book)"
    install_hint = "pip install sortedcontainers"
    module = "sortedcontainers"

    def prepare(self, workload: Workload) -> Rows:
        return workload.rows()

    def session(self, prepared: Rows) -> Callable[[int], object]:
        book = PriceTimeBook()
        add_limit, cancel, market = book.add_limit, book.cancel, book.market

        def step(i: int) -> object:
            kind, oid, side, price, qty = prepared[i]
            if kind == LIMIT:
                return add_limit(oid, side, price, qty)
            if kind == CANCEL:
                return cancel(oid)
            return market(oid, side, qty)

        return step
