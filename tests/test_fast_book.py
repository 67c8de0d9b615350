"""``Engine.fast(instrument, account)``: the per-call object with few positional arguments.

It must be the ``submit_ticks`` / ``cancel_ticks`` path with less around it: the same events for
the same commands, the same exceptions, and a book left untouched by a refused command.
"""

from __future__ import annotations

from collections.abc import Callable
from decimal import Decimal

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wintermute import _core, batch, errors
from wintermute.engine import Engine


def make_engine() -> Engine:
    eng = Engine()
    for symbol in ("X", "Y"):
        eng.add_instrument(
            symbol,
            tick_size="1",
            lot_size="1",
            min_qty="1",
            max_qty="15",
            min_price="96",
            max_price="104",
        )
    return eng


def test_fast_returns_an_object_bound_to_one_instrument_and_account() -> None:
    eng = make_engine()
    book = eng.fast("Y", account=7)
    assert isinstance(book, _core.FastBook)
    assert (book.instrument, book.account) == (1, 7)
    assert eng.fast(0).instrument == 0
    assert repr(book) == "FastBook(instrument=1, account=7)"
    assert book.submit(1, batch.SELL, 100, 3) == 2  # accepted, book delta
    assert book.pending_events == eng.pending_events == 2
    events = book.take_events()
    assert events.dtype == batch.EVENT_DTYPE
    assert [batch.KIND_NAMES[k] for k in events["kind"]] == ["accepted", "book_delta"]
    assert events["instrument"].tolist() == [1, 1]
    assert events[0]["account"] == 7
    assert eng.order_count("Y") == 1
    assert eng.order_count("X") == 0
    assert book.pending_events == 0


def test_fast_on_an_unknown_instrument_raises() -> None:
    eng = make_engine()
    with pytest.raises(errors.UnknownInstrumentError):
        eng.fast(5)
    with pytest.raises(errors.UnknownInstrumentError):
        eng.fast("Z")


def test_market_and_ioc_trade_and_drop_their_remainder() -> None:
    eng = make_engine()
    book = eng.fast(0)
    book.submit(1, batch.SELL, 100, 2)
    book.submit(2, batch.SELL, 101, 2)
    assert book.market(3, batch.BUY, 3) > 0
    assert book.ioc(4, batch.BUY, 101, 5) > 0
    events = book.take_events()
    trades = events[events["kind"] == 3]
    assert trades[["order_id", "other_id", "price", "qty"]].tolist() == [
        (1, 3, 100, 2),
        (2, 3, 101, 1),
        (2, 4, 101, 1),
    ]
    unfilled = events[events["kind"] == 4]
    assert unfilled["order_id"].tolist() == [4]
    assert eng.order_count(0) == 0


def test_amend_keeps_or_changes_the_order() -> None:
    eng = make_engine()
    book = eng.fast(0)
    book.submit(1, batch.BUY, 99, 5)
    book.amend(1, None, 3)
    book.amend(1, 98)
    order = eng.order(0, 1)
    assert order is not None
    assert (order["price"], order["remaining"]) == (Decimal(98), Decimal(3))


@pytest.mark.parametrize(
    ("call", "error", "reason"),
    [
        (lambda b: b.cancel(12345), errors.UnknownOrderError, "UNKNOWN_ORDER"),
        (lambda b: b.amend(12345, 99), errors.UnknownOrderError, "UNKNOWN_ORDER"),
        (lambda b: b.submit(9, 5, 100, 1), errors.InvalidOrderError, "INVALID_ORDER"),
        (lambda b: b.market(9, 2, 1), errors.InvalidOrderError, "INVALID_ORDER"),
        (lambda b: b.submit(9, 0, 100, -1), errors.InvalidQuantityError, "NON_POSITIVE_QTY"),
        (lambda b: b.submit(9, 0, 200, 1), errors.InvalidPriceError, "PRICE_OUT_OF_BAND"),
        (lambda b: b.submit(1, 0, 99, 1), errors.DuplicateOrderIdError, "DUPLICATE_ORDER_ID"),
    ],
)
def test_bad_input_raises_the_same_error_as_the_ticks_path_and_changes_nothing(  # type: ignore[no-untyped-def]
    call, error, reason
) -> None:
    eng = make_engine()
    book = eng.fast(0)
    book.submit(1, batch.BUY, 99, 1)
    book.submit(2, batch.SELL, 101, 1)
    book.take_events()
    before = [eng.snapshot(i) for i in (0, 1)]
    with pytest.raises(error) as info:
        call(book)
    assert info.value.reason == reason
    assert [eng.snapshot(i) for i in (0, 1)] == before
    assert book.pending_events == 0


def test_the_ticks_path_refuses_the_same_bad_side() -> None:
    eng = make_engine()
    with pytest.raises(errors.InvalidOrderError) as ticks:
        eng.submit_ticks(0, 9, 5, 100, 1)
    with pytest.raises(errors.InvalidOrderError) as fast:
        eng.fast(0).submit(9, 5, 100, 1)
    assert str(ticks.value) == str(fast.value)


def test_drains_keep_counting_commands_from_zero() -> None:
    eng = make_engine()
    book = eng.fast(0)
    book.submit(1, batch.BUY, 99, 1)
    book.submit(2, batch.BUY, 98, 1)
    assert book.take_events()["command"].tolist() == [0, 0, 1, 1]
    book.cancel(1)
    assert book.take_events()["command"].tolist() == [0, 0]
    assert len(book.take_events()) == 0


def test_many_drains_of_a_filled_buffer_lose_nothing() -> None:
    eng = make_engine()
    book = eng.fast(0)
    seen = []
    for i in range(1, 2001):
        book.submit(i, i % 2, 99 + i % 2, 1)  # buys at 99, sells at 100: they never cross
        book.cancel(i)
        if i % 300 == 0:
            seen.append(book.take_events())
    seen.append(book.take_events())
    events = np.concatenate(seen)
    assert len(events) == 2000 * 4
    assert events["seq"].tolist() == list(range(1, 8001))


_commands = st.lists(
    st.tuples(
        st.sampled_from(["limit", "ioc", "market", "cancel", "amend"]),
        st.integers(1, 12),  # order id
        st.integers(0, 2),  # side, 2 is invalid
        st.integers(94, 106),  # price, outside the band at both ends
        st.integers(-1, 16),  # qty, outside the limits at both ends
    ),
    max_size=60,
)


def _by_ticks(eng: Engine, kind: str, oid: int, side: int, price: int, qty: int) -> int:
    if kind == "limit":
        return eng.submit_ticks(0, oid, side, price, qty, 3)
    if kind == "ioc":
        return eng.submit_ticks(0, oid, side, price, qty, 3, 0, 1)
    if kind == "market":
        return eng.submit_ticks(0, oid, side, 0, qty, 3, 1, 1)
    if kind == "cancel":
        return eng.cancel_ticks(0, oid)
    return eng.amend_ticks(0, oid, price, qty)


def _by_fast_book(
    book: _core.FastBook, kind: str, oid: int, side: int, price: int, qty: int
) -> int:
    if kind == "limit":
        return book.submit(oid, side, price, qty)
    if kind == "ioc":
        return book.ioc(oid, side, price, qty)
    if kind == "market":
        return book.market(oid, side, qty)
    if kind == "cancel":
        return book.cancel(oid)
    return book.amend(oid, price, qty)


def _outcome(run: Callable[[], int]) -> object:
    try:
        return run()
    except errors.WintermuteError as e:
        return (type(e), e.reason, str(e))


@settings(max_examples=300, deadline=None)
@given(_commands)
def test_fast_book_equals_the_ticks_path(cmds: list[tuple[str, int, int, int, int]]) -> None:
    ticks, fast = make_engine(), make_engine()
    book = fast.fast(0, account=3)
    for cmd in cmds:
        by_ticks = _outcome(lambda: _by_ticks(ticks, *cmd))  # noqa: B023 - called at once
        by_fast_book = _outcome(lambda: _by_fast_book(book, *cmd))  # noqa: B023 - called at once
        assert by_ticks == by_fast_book
    assert ticks.take_events().tobytes() == book.take_events().tobytes()
    assert ticks.snapshot(0) == fast.snapshot(0)


def test_the_bench_per_call_system_drains_every_4096_commands_and_refuses_nothing() -> None:
    from wintermute.bench.wintermute_adapters import DRAIN_EVERY, WintermutePythonAdapter
    from wintermute.bench.workload import generate

    workload = generate(seed=7, orders=9000, warmup=200)
    adapter = WintermutePythonAdapter()
    prepared = adapter.prepare(workload)
    drains = [i for i, row in enumerate(prepared) if row[0] >= 3]
    assert drains == list(range(0, len(workload), DRAIN_EVERY))
    assert [row[1:] for row in prepared] == [row[1:] for row in workload.rows()]
    step = adapter.session(prepared)
    for i in range(len(workload)):
        step(i)  # a refused command would raise


def test_a_cycle_through_the_fast_book_is_collected() -> None:
    import gc
    import weakref

    eng = make_engine()
    eng.book = eng.fast(0)  # type: ignore[attr-defined]
    gone = weakref.ref(eng)
    del eng
    gc.collect()
    assert gone() is None


def test_a_call_while_another_thread_holds_the_engine_is_an_error_not_a_panic() -> None:
    import threading

    eng = make_engine()
    book = eng.fast("X")
    n = 400_000
    ids = np.arange(1, n + 1, dtype=np.uint64)
    # Alternate sides at one price: every second order trades, so the batch keeps the engine
    # busy (GIL released, engine borrowed) for a while.
    commands = batch.new_orders(
        order_id=ids, side=ids % 2, price=np.full(n, 100, dtype=np.int64), qty=np.ones(n, np.int64)
    )
    started = threading.Event()

    def run_batch() -> None:
        started.set()
        eng.submit_batch("X", commands)

    refused: list[RuntimeError] = []
    order_id = n + 1

    def attempt() -> None:
        nonlocal order_id
        try:
            book.submit(order_id, batch.BUY, 97, 1)
            order_id += 1
        except RuntimeError as e:  # "Already mutably borrowed": the engine is busy
            refused.append(e)

    # Until a call has met the busy engine (the first batch may finish before this thread runs
    # again on a loaded machine); each later batch only finds the book deeper.
    for _ in range(5):
        worker = threading.Thread(target=run_batch)
        worker.start()
        started.wait()
        while worker.is_alive():
            attempt()
        worker.join()
        if refused:
            break
        commands["order_id"] += n + 1_000_000
    # A pyo3 panic would have ended the loop with PanicException (a BaseException), not here.
    assert refused, "no call met the engine while the batch held it"
    assert all("borrow" in str(e) for e in refused)
    assert book.submit(order_id, batch.BUY, 97, 1) == 2  # usable again once the batch is done
