"""Book updates derived from a workload (wintermute.bench.deltas)."""

from __future__ import annotations

import pytest

from wintermute.bench.deltas import ADD, DELETE, UPDATE, derive
from wintermute.bench.price_time_book import BUY, SELL, PriceTimeBook
from wintermute.bench.workload import Workload, apply, generate


@pytest.fixture(scope="module")
def stream() -> Workload:
    return generate(seed=3, orders=3_000, warmup=300)


def test_one_entry_per_command(stream: Workload) -> None:
    l3, l2 = derive(stream)
    assert len(l3) == len(l2) == len(stream)


def test_l3_updates_rebuild_the_reference_book(stream: Workload) -> None:
    l3, _ = derive(stream)
    book = PriceTimeBook()
    orders: dict[int, tuple[int, int, int]] = {}  # id -> (side, price, size)
    for command, updates in zip(stream.rows(), l3, strict=True):
        apply(book, command)
        for action, u_side, u_price, u_qty, u_id in updates:
            if action == ADD:
                assert u_id not in orders
                orders[u_id] = (u_side, u_price, u_qty)
            elif action == UPDATE:
                assert orders[u_id][:2] == (u_side, u_price)
                assert 0 < u_qty < orders[u_id][2]
                orders[u_id] = (u_side, u_price, u_qty)
            else:
                assert action == DELETE
                assert orders.pop(u_id)[:2] == (u_side, u_price)
        assert orders == {o.order_id: (o.side, o.price, o.remaining) for o in book.orders.values()}


def test_l2_updates_rebuild_the_reference_depth(stream: Workload) -> None:
    _, l2 = derive(stream)
    book = PriceTimeBook()
    levels: tuple[dict[int, int], dict[int, int]] = ({}, {})
    for command, updates in zip(stream.rows(), l2, strict=True):
        apply(book, command)
        for u_side, u_price, size in updates:
            if size:
                levels[u_side][u_price] = size
            else:
                del levels[u_side][u_price]
        for s in (BUY, SELL):
            assert levels[s] == dict(book.depth(s))


def test_a_passive_add_is_one_update_and_a_sweep_one_per_maker() -> None:
    stream = generate(seed=1, orders=0, warmup=2)
    l3, l2 = derive(stream)
    assert [len(u) for u in l3] == [1, 1]
    assert l3[0][0][0] == ADD
    assert l2[0] == [(BUY, stream.price[0], stream.qty[0])]
