"""The seeded benchmark workload (wintermute.bench.workload)."""

from __future__ import annotations

import numpy as np
import pytest

from wintermute.bench.price_time_book import BUY, SELL, PriceTimeBook
from wintermute.bench.workload import CANCEL, LIMIT, MARKET, Workload, generate


@pytest.fixture(scope="module")
def stream() -> Workload:
    return generate(seed=7, orders=5_000)


def test_same_seed_same_stream_byte_for_byte(stream: Workload) -> None:
    again = generate(seed=7, orders=5_000)
    for name in ("kind", "order_id", "side", "price", "qty"):
        assert getattr(again, name).tobytes() == getattr(stream, name).tobytes()


def test_other_seed_other_stream(stream: Workload) -> None:
    assert generate(seed=8, orders=5_000).rows() != stream.rows()


def test_sizes(stream: Workload) -> None:
    assert stream.warmup == 1_000
    assert stream.measured == 5_000
    assert len(stream) == 6_000


@pytest.mark.parametrize("orders", [10, 999, 5_000])
def test_mix_is_60_30_10(orders: int) -> None:
    mix = generate(seed=orders, orders=orders).mix()
    assert mix == {
        "add": round(orders * 0.6),
        "cancel": round(orders * 0.3),
        "cross": orders - round(orders * 0.6) - round(orders * 0.3),
    }


def test_warmup_builds_a_resting_book_of_both_sides(stream: Workload) -> None:
    book = PriceTimeBook()
    for kind, oid, side, price, qty in stream.rows()[: stream.warmup]:
        assert kind == LIMIT
        assert book.add_limit(oid, side, price, qty) == []
    assert len(book) == 1_000
    assert len([1 for *_, side, _, _ in stream.rows()[:1000] if side == BUY]) == 500


def test_commands_are_valid_when_replayed(stream: Workload) -> None:
    book = PriceTimeBook()
    next_id = 1
    for kind, oid, side, price, qty in stream.rows():
        assert side in (BUY, SELL)
        if kind == CANCEL:
            resting = book.orders[oid]  # a cancel always names a live order...
            assert (resting.side, resting.price) == (side, price)  # ...with its side and price
            assert qty == 0
            book.cancel(oid)
            continue
        assert oid == next_id  # new orders are numbered in stream order
        next_id += 1
        assert 1 <= qty <= 200
        if kind == LIMIT:
            assert price > 0
            book.add_limit(oid, side, price, qty)
        else:
            assert kind == MARKET
            assert price == 0
            assert book.market(oid, side, qty)  # a market order always meets liquidity
        bid, ask = book.best_bid(), book.best_ask()
        assert bid is None or ask is None or bid < ask


def test_prices_stay_near_the_start(stream: Workload) -> None:
    prices = [p for p in stream.price if p]
    assert 99_000 < min(prices) <= max(prices) < 101_000


def test_columns_are_int64_views_without_copy(stream: Workload) -> None:
    columns = stream.columns()
    assert sorted(columns) == ["kind", "order_id", "price", "qty", "side"]
    for name, column in columns.items():
        assert column.dtype == np.int64
        assert len(column) == len(stream)
        assert not column.flags.owndata
        assert column.tolist() == list(getattr(stream, name))


def test_describe_names_seed_and_sizes(stream: Workload) -> None:
    described = stream.describe()
    assert described["seed"] == 7
    assert described["orders"] == 5_000
    assert described["warmup_orders"] == 1_000
    assert described["mix"] == {"add": 0.6, "cancel": 0.3, "cross": 0.1}


def test_empty_and_invalid_sizes() -> None:
    assert generate(orders=0, warmup=0).rows() == []
    assert generate(orders=0, warmup=10).measured == 0
    with pytest.raises(ValueError, match="must not be negative"):
        generate(orders=-1)
