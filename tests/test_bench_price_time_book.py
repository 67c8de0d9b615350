"""The plain-Python reference engine (wintermute.bench.price_time_book)."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wintermute.bench.price_time_book import BUY, SELL, Fill, PriceTimeBook
from wintermute.errors import (
    DuplicateOrderIdError,
    InvalidPriceError,
    InvalidQuantityError,
    UnknownOrderError,
)


def test_empty_book() -> None:
    book = PriceTimeBook()
    assert book.best_bid() is None
    assert book.best_ask() is None
    assert len(book) == 0
    assert book.depth(BUY) == []
    assert book.queue(SELL, 100) == []
    assert book.level_qty(BUY, 100) == 0


def test_non_crossing_orders_rest_best_first() -> None:
    book = PriceTimeBook()
    assert book.add_limit(1, BUY, 99, 5) == []
    assert book.add_limit(2, BUY, 100, 3) == []
    assert book.add_limit(3, SELL, 102, 4) == []
    assert book.add_limit(4, SELL, 101, 1) == []
    assert book.best_bid() == 100
    assert book.best_ask() == 101
    assert book.depth(BUY) == [(100, 3), (99, 5)]
    assert book.depth(SELL) == [(101, 1), (102, 4)]
    assert len(book) == 4
    assert 3 in book


def test_fifo_within_a_level() -> None:
    book = PriceTimeBook()
    for oid in (1, 2, 3):
        book.add_limit(oid, SELL, 100, 2)
    fills = book.add_limit(9, BUY, 100, 5)
    assert fills == [
        Fill(9, 1, SELL, 100, 2, 0),
        Fill(9, 2, SELL, 100, 2, 0),
        Fill(9, 3, SELL, 100, 1, 1),
    ]
    assert book.queue(SELL, 100) == [(3, 1)]
    assert 9 not in book  # fully filled: nothing rests


def test_partly_filled_maker_keeps_its_place() -> None:
    book = PriceTimeBook()
    book.add_limit(1, BUY, 100, 10)
    book.add_limit(2, BUY, 100, 10)
    assert book.market(3, SELL, 4) == [Fill(3, 1, BUY, 100, 4, 6)]
    assert book.queue(BUY, 100) == [(1, 6), (2, 10)]
    assert book.level_qty(BUY, 100) == 16


def test_sweep_trades_at_maker_prices_and_rests_the_remainder() -> None:
    book = PriceTimeBook()
    book.add_limit(1, SELL, 101, 2)
    book.add_limit(2, SELL, 102, 2)
    book.add_limit(3, SELL, 104, 2)
    fills = book.add_limit(4, BUY, 103, 7)
    assert [(f.maker_id, f.price, f.qty) for f in fills] == [(1, 101, 2), (2, 102, 2)]
    assert book.best_bid() == 103
    assert book.queue(BUY, 103) == [(4, 3)]
    assert book.best_ask() == 104


def test_market_order_drops_what_it_cannot_fill() -> None:
    book = PriceTimeBook()
    book.add_limit(1, BUY, 100, 3)
    book.add_limit(2, BUY, 98, 3)
    fills = book.market(3, SELL, 10)
    assert [(f.maker_id, f.price, f.qty) for f in fills] == [(1, 100, 3), (2, 98, 3)]
    assert len(book) == 0
    assert book.best_bid() is None
    assert book.market(4, BUY, 1) == []


def test_limit_that_does_not_reach_the_touch_rests() -> None:
    book = PriceTimeBook()
    book.add_limit(1, SELL, 101, 1)
    assert book.add_limit(2, BUY, 100, 1) == []
    assert book.best_bid() == 100
    assert book.best_ask() == 101


def test_cancel_returns_remaining_and_removes_empty_levels() -> None:
    book = PriceTimeBook()
    book.add_limit(1, BUY, 100, 5)
    book.add_limit(2, BUY, 100, 7)
    book.market(3, SELL, 2)
    assert book.cancel(1) == 3
    assert book.queue(BUY, 100) == [(2, 7)]
    assert book.cancel(2) == 7
    assert book.depth(BUY) == []
    assert len(book) == 0


def test_cancelled_id_can_be_reused() -> None:
    book = PriceTimeBook()
    book.add_limit(1, BUY, 100, 5)
    book.cancel(1)
    book.add_limit(1, SELL, 101, 5)
    assert book.queue(SELL, 101) == [(1, 5)]


@pytest.mark.parametrize(
    ("call", "error", "reason"),
    [
        (lambda b: b.cancel(42), UnknownOrderError, "UNKNOWN_ORDER"),
        (lambda b: b.add_limit(1, BUY, 99, 1), DuplicateOrderIdError, "DUPLICATE_ORDER_ID"),
        (lambda b: b.market(1, SELL, 1), DuplicateOrderIdError, "DUPLICATE_ORDER_ID"),
        (lambda b: b.add_limit(2, BUY, 99, 0), InvalidQuantityError, "INVALID_QUANTITY"),
        (lambda b: b.market(2, BUY, -1), InvalidQuantityError, "INVALID_QUANTITY"),
        (lambda b: b.add_limit(2, BUY, 0, 1), InvalidPriceError, "INVALID_PRICE"),
    ],
)
def test_rejections_leave_the_book_unchanged(
    call: object, error: type[Exception], reason: str
) -> None:
    book = PriceTimeBook()
    book.add_limit(1, BUY, 100, 5)
    with pytest.raises(error) as raised:
        call(book)  # type: ignore[operator]
    assert getattr(raised.value, "reason", None) == reason
    assert book.queue(BUY, 100) == [(1, 5)]
    assert len(book) == 1


# ---- property test against a brute-force model -----------------------------------------------


@dataclass
class _ModelOrder:
    order_id: int
    side: int
    price: int
    remaining: int
    arrival: int


class _Model:
    """Price-time matching by brute force: scan every resting order for the best one."""

    def __init__(self) -> None:
        self.orders: list[_ModelOrder] = []
        self.arrivals = 0

    def submit(self, oid: int, side: int, price: int | None, qty: int) -> list[Fill]:
        fills: list[Fill] = []
        while qty:
            makers = [
                o
                for o in self.orders
                if o.side != side
                and (price is None or (o.price <= price if side == BUY else o.price >= price))
            ]
            if not makers:
                break
            maker = min(makers, key=lambda o: (o.price if side == BUY else -o.price, o.arrival))
            fill = min(qty, maker.remaining)
            qty -= fill
            maker.remaining -= fill
            fills.append(Fill(oid, maker.order_id, maker.side, maker.price, fill, maker.remaining))
            if not maker.remaining:
                self.orders.remove(maker)
        if qty and price is not None:
            self.arrivals += 1
            self.orders.append(_ModelOrder(oid, side, price, qty, self.arrivals))
        return fills

    def cancel(self, oid: int) -> int:
        (order,) = (o for o in self.orders if o.order_id == oid)
        self.orders.remove(order)
        return order.remaining

    def queues(self) -> dict[tuple[int, int], list[tuple[int, int]]]:
        queues: dict[tuple[int, int], list[tuple[int, int]]] = {}
        for o in sorted(self.orders, key=lambda o: o.arrival):
            queues.setdefault((o.side, o.price), []).append((o.order_id, o.remaining))
        return queues


_commands = st.lists(
    st.one_of(
        st.tuples(
            st.just("limit"), st.sampled_from((BUY, SELL)), st.integers(95, 105), st.integers(1, 9)
        ),
        st.tuples(st.just("market"), st.sampled_from((BUY, SELL)), st.just(0), st.integers(1, 25)),
        st.tuples(st.just("cancel"), st.just(0), st.integers(0, 10_000), st.just(0)),
    ),
    max_size=120,
)


@settings(max_examples=300, deadline=None)
@given(_commands)
def test_matches_the_brute_force_model(commands: list[tuple[str, int, int, int]]) -> None:
    book, model = PriceTimeBook(), _Model()
    for oid, (what, side, price, qty) in enumerate(commands, start=1):
        if what == "cancel":
            live = sorted(book.orders)
            if not live:
                continue
            target = live[price % len(live)]
            assert book.cancel(target) == model.cancel(target)
        elif what == "limit":
            assert book.add_limit(oid, side, price, qty) == model.submit(oid, side, price, qty)
        else:
            assert book.market(oid, side, qty) == model.submit(oid, side, None, qty)

        bid, ask = book.best_bid(), book.best_ask()
        assert bid is None or ask is None or bid < ask, "book is crossed"
        queues = {
            (side, p): book.queue(side, p) for side in (BUY, SELL) for p, _ in book.depth(side)
        }
        assert queues == model.queues()
        for side in (BUY, SELL):
            for p, total in book.depth(side):
                assert total == sum(q for _, q in book.queue(side, p)) > 0
    assert len(book) == len(model.orders)
