"""The integer L2 book (``wintermute.TickBook``) from Python, against a dict reference."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wintermute import TickBook, errors
from wintermute._core import tick_book_replay

BID, ASK = TickBook.BID, TickBook.ASK


class DictBook:
    """The reference: one dict per side, best found by max/min."""

    def __init__(self) -> None:
        self.sides: tuple[dict[int, int], dict[int, int]] = ({}, {})

    def set(self, side: int, price: int, qty: int) -> None:
        if qty:
            self.sides[side][price] = qty
        else:
            self.sides[side].pop(price, None)

    def best_bid(self) -> tuple[int, int] | None:
        bids = self.sides[BID]
        return (p := max(bids), bids[p]) if bids else None

    def best_ask(self) -> tuple[int, int] | None:
        asks = self.sides[ASK]
        return (p := min(asks), asks[p]) if asks else None


# Prices near a centre plus far jumps (so the 64-tick windows move and overflow).
prices = st.one_of(
    st.integers(-200, 200), st.integers(-(10**9), 10**9), st.sampled_from([-(2**62), 2**62])
)
updates = st.lists(
    st.tuples(st.sampled_from([BID, ASK]), prices, st.one_of(st.just(0), st.integers(1, 10**12))),
    max_size=300,
)


@settings(max_examples=300, deadline=None)
@given(updates)
def test_per_call_agrees_with_a_dict_book(ops: list[tuple[int, int, int]]) -> None:
    book, ref = TickBook(window=64), DictBook()
    for side, price, qty in ops:
        book.set(side, price, qty)
        ref.set(side, price, qty)
        assert book.best_bid() == ref.best_bid()
        assert book.best_ask() == ref.best_ask()
        assert book.best_bid_price() == (b[0] if (b := ref.best_bid()) else None)
        assert book.qty_at(side, price) == qty
    assert book.levels(BID) == sorted(ref.sides[BID].items(), reverse=True)
    assert book.levels(ASK) == sorted(ref.sides[ASK].items())
    assert len(book) == len(ref.sides[BID]) + len(ref.sides[ASK])


@settings(max_examples=200, deadline=None)
@given(updates)
def test_batch_agrees_with_per_call(ops: list[tuple[int, int, int]]) -> None:
    sides = np.array([o[0] for o in ops], dtype=np.uint8)
    px = np.array([o[1] for o in ops], dtype=np.int64)
    qty = np.array([o[2] for o in ops], dtype=np.int64)
    batch, single = TickBook(window=64), TickBook(window=64)
    bids, asks = batch.apply(sides, px, qty)
    for i, (side, price, q) in enumerate(ops):
        single.set(side, price, q)
        bid, ask = single.best_bid_price(), single.best_ask_price()
        assert bids[i] == (TickBook.NO_BID if bid is None else bid)
        assert asks[i] == (TickBook.NO_ASK if ask is None else ask)
    assert batch.levels(BID) == single.levels(BID)
    assert batch.levels(ASK) == single.levels(ASK)


def test_bad_input_raises_and_changes_nothing() -> None:
    book = TickBook()
    book.set(BID, 100, 5)
    with pytest.raises(errors.InvalidQuantityError, match="qty=-1") as info:
        book.set(BID, 100, -1)
    assert info.value.reason == "NEGATIVE_QTY"
    with pytest.raises(errors.InvalidPriceError, match="price out of range"):
        book.set(ASK, 2**63 - 1, 1)
    with pytest.raises(ValueError, match="side=7"):
        book.set(7, 100, 1)
    with pytest.raises(ValueError, match="bad window"):
        TickBook(window=100)
    bad = np.array([1, -3], dtype=np.int64)
    with pytest.raises(errors.InvalidQuantityError, match="index=1"):
        book.apply(np.array([0, 1], dtype=np.uint8), np.array([101, 102], dtype=np.int64), bad)
    with pytest.raises(ValueError, match="lengths differ"):
        book.apply(np.zeros(2, np.uint8), np.zeros(1, np.int64), np.zeros(2, np.int64))
    assert book.levels(BID) == [(100, 5)]
    assert book.levels(ASK) == []
    assert repr(book) == "TickBook(bids=1, asks=0, best_bid=(100, 5), best_ask=None)"


def test_native_replay_counts_and_matches_the_batch() -> None:
    rng = np.random.default_rng(1)
    n = 10_000
    sides = rng.integers(0, 2, n).astype(np.uint8)
    px = np.where(sides == BID, 1_000 - rng.integers(1, 300, n), 1_000 + rng.integers(1, 300, n))
    qty = rng.integers(0, 5, n).astype(np.int64)
    out = tick_book_replay(sides, px.astype(np.int64), qty, repeat=2)
    assert out["updates"] == 2 * n
    assert out["seconds"] > 0
    bids, asks = TickBook().apply(sides, px.astype(np.int64), qty)
    empty = (bids == TickBook.NO_BID, asks == TickBook.NO_ASK)
    expected = 2 * int(np.where(empty[0], 0, bids).sum() + np.where(empty[1], 0, asks).sum())
    assert out["checksum"] == expected
