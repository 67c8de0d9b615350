"""The Python API of the matching engine: exact decimals, events, queries, errors, snapshots,
and the agreement of the per-call, fast-path and batch APIs."""

from __future__ import annotations

from decimal import Decimal

import numpy as np
import numpy.typing as npt
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from wintermute import batch, errors
from wintermute.engine import Engine

BOOK_DELTA = next(code for code, name in batch.KIND_NAMES.items() if name == "book_delta")


def make_engine() -> Engine:
    eng = Engine()
    eng.add_instrument(
        "BTC-USD",
        tick_size="0.01",
        lot_size="0.0001",
        min_qty="0.0001",
        max_qty="100",
        min_price="1",
        max_price="1000000",
    )
    eng.add_instrument(
        "ETH-USD",
        tick_size="0.05",
        lot_size="0.001",
        min_qty="0.01",
        max_qty="1000",
        min_price="10",
        max_price="100000",
    )
    return eng


def test_decimals_are_exact_both_ways() -> None:
    eng = make_engine()
    eng.submit("BTC-USD", 1, "sell", qty="0.3", price="1.3", account=1)
    eng.submit("BTC-USD", 2, "sell", qty=Decimal("0.1"), price=Decimal("1.2"), account=1)
    ev = eng.submit("BTC-USD", 3, "buy", qty="0.2", price="1.3", account=2)
    trade = next(e for e in ev if e.kind == "trade")
    assert trade.price_decimal == Decimal("1.20")
    assert trade.qty_decimal == Decimal("0.1000")
    assert eng.bbo("BTC-USD") == (None, (Decimal("1.30"), Decimal("0.2000")))
    assert eng.instrument("BTC-USD")["tick_size"] == Decimal("0.01")


def test_ints_are_values_and_floats_are_refused() -> None:
    eng = make_engine()
    eng.submit("BTC-USD", 1, "buy", qty=2, price=100)
    assert eng.depth("BTC-USD")["bids"] == [(Decimal("100.00"), Decimal("2.0000"), 1)]
    with pytest.raises(TypeError, match="floats are not accepted"):
        eng.submit("BTC-USD", 2, "buy", qty=0.5, price="100")  # type: ignore[arg-type]
    with pytest.raises(TypeError, match=r"expected str, int or decimal\.Decimal"):
        eng.submit("BTC-USD", 2, "buy", qty=[1], price="100")  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("call", "error", "reason"),
    [
        (
            lambda e: e.submit("BTC-USD", 9, "buy", qty="1", price="100.001"),
            errors.PriceOffTickError,
            "PRICE_OFF_TICK",
        ),
        (
            lambda e: e.submit("BTC-USD", 9, "buy", qty="0.00001", price="100"),
            errors.QuantityOffLotError,
            "QTY_OFF_LOT",
        ),
        (
            lambda e: e.submit("BTC-USD", 9, "buy", qty="abc", price="100"),
            errors.InvalidDecimalError,
            "INVALID_DECIMAL",
        ),
        (
            lambda e: e.submit("BTC-USD", 9, "buy", qty="-1", price="100"),
            errors.InvalidQuantityError,
            "NON_POSITIVE_QTY",
        ),
        (
            lambda e: e.submit("BTC-USD", 9, "buy", qty="0", price="100"),
            errors.InvalidQuantityError,
            "NON_POSITIVE_QTY",
        ),
        (
            lambda e: e.submit("BTC-USD", 9, "buy", qty="101", price="100"),
            errors.InvalidQuantityError,
            "QTY_ABOVE_MAX",
        ),
        (
            lambda e: e.submit("ETH-USD", 9, "buy", qty="0.001", price="100"),
            errors.InvalidQuantityError,
            "QTY_BELOW_MIN",
        ),
        (
            lambda e: e.submit("BTC-USD", 9, "buy", qty="1", price="0.5"),
            errors.InvalidPriceError,
            "PRICE_OUT_OF_BAND",
        ),
        (
            lambda e: e.submit("BTC-USD", 9, "buy", qty="1", price="1000000.01"),
            errors.InvalidPriceError,
            "PRICE_OUT_OF_BAND",
        ),
        (
            lambda e: e.submit("BTC-USD", 9, "buy", qty="1"),
            errors.InvalidPriceError,
            "MISSING_PRICE",
        ),
        (
            lambda e: e.submit("BTC-USD", 1, "buy", qty="1", price="100"),
            errors.DuplicateOrderIdError,
            "DUPLICATE_ORDER_ID",
        ),
        (
            lambda e: e.submit("BTC-USD", 9, "up", qty="1", price="100"),
            errors.InvalidOrderError,
            "INVALID_ORDER",
        ),
        (
            lambda e: e.submit("BTC-USD", 9, "buy", qty="1", order_type="market", tif="gtc"),
            errors.InvalidOrderError,
            "INVALID_ORDER",
        ),
        (
            lambda e: e.submit(
                "BTC-USD", 9, "buy", qty="1", price="100", tif="ioc", post_only=True
            ),
            errors.InvalidOrderError,
            "INVALID_ORDER",
        ),
        (
            lambda e: e.submit("BTC-USD", 9, "buy", qty="1", price="100", display_qty="2"),
            errors.InvalidOrderError,
            "INVALID_DISPLAY_QTY",
        ),
        (
            lambda e: e.submit("DOGE-USD", 9, "buy", qty="1", price="100"),
            errors.UnknownInstrumentError,
            "UNKNOWN_INSTRUMENT",
        ),
        (
            lambda e: e.submit(7, 9, "buy", qty="1", price="100"),
            errors.UnknownInstrumentError,
            "UNKNOWN_INSTRUMENT",
        ),
        (lambda e: e.cancel("BTC-USD", 12345), errors.UnknownOrderError, "UNKNOWN_ORDER"),
        (lambda e: e.amend("BTC-USD", 1), errors.InvalidOrderError, "INVALID_ORDER"),
        (lambda e: e.amend("BTC-USD", 1, qty="0"), errors.InvalidQuantityError, "NON_POSITIVE_QTY"),
        (
            lambda e: e.amend("BTC-USD", 1, price="98", seen_remaining="1"),
            errors.InvalidOrderError,
            "INVALID_ORDER",
        ),
        (
            lambda e: e.amend("BTC-USD", 1, qty="0.5", seen_remaining="0.9"),
            errors.InvalidOrderError,
            "INVALID_ORDER",
        ),
        (
            lambda e: e.amend_ticks(0, 1, None, 5000, 1_000_001),
            errors.InvalidQuantityError,
            "QTY_ABOVE_MAX",
        ),
        (lambda e: e.cancel_ticks(0, 12345), errors.UnknownOrderError, "UNKNOWN_ORDER"),
        (lambda e: e.submit_ticks(0, 9, 5, 10000, 1), errors.InvalidOrderError, "INVALID_ORDER"),
        (
            lambda e: e.submit_ticks(0, 9, 0, 10000, -1),
            errors.InvalidQuantityError,
            "NON_POSITIVE_QTY",
        ),
    ],
)
def test_bad_input_raises_a_named_error_and_changes_nothing(call, error, reason) -> None:  # type: ignore[no-untyped-def]
    eng = make_engine()
    eng.submit("BTC-USD", 1, "buy", qty="1", price="99", account=1)
    eng.submit("BTC-USD", 2, "sell", qty="1", price="101", account=1)
    before = [eng.snapshot(i) for i in (0, 1)]
    with pytest.raises(error) as info:
        call(eng)
    assert info.value.reason == reason
    assert str(info.value)
    assert [eng.snapshot(i) for i in (0, 1)] == before
    assert eng.pending_events == 0


def test_an_instrument_is_its_config_table_or_its_fields() -> None:
    from wintermute.config import InstrumentConfig

    eth = InstrumentConfig("ETH-USD", "0.05", "0.001", "0.001", "1000", "1", "100000")
    eng = Engine()
    assert eng.add_instrument(eth) == 0
    info = eng.instrument("ETH-USD")
    assert (info["tick_size"], info["max_price"]) == (Decimal("0.05"), Decimal("100000"))
    with pytest.raises(TypeError, match="not both"):
        eng.add_instrument(eth, tick_size="1")
    with pytest.raises(TypeError, match="missing lot_size, max_price"):
        eng.add_instrument("X", tick_size="1", min_qty="1", max_qty="1", min_price="1")
    with pytest.raises(errors.InstrumentError, match="already defined"):
        eng.add_instrument(eth)


def test_duplicate_and_invalid_instruments() -> None:
    eng = make_engine()
    with pytest.raises(errors.InstrumentError, match="already defined"):
        eng.add_instrument(
            "BTC-USD",
            tick_size="1",
            lot_size="1",
            min_qty="1",
            max_qty="1",
            min_price="1",
            max_price="2",
        )
    with pytest.raises(errors.InstrumentError, match="tick_size"):
        eng.add_instrument(
            "X", tick_size="0", lot_size="1", min_qty="1", max_qty="1", min_price="1", max_price="2"
        )
    with pytest.raises(errors.InstrumentError, match="min_price"):
        eng.add_instrument(
            "X",
            tick_size="0.1",
            lot_size="1",
            min_qty="1",
            max_qty="1",
            min_price="1.05",
            max_price="2",
        )
    assert eng.instruments() == ["BTC-USD", "ETH-USD"]


def test_an_amend_by_total_takes_off_the_fills_its_sender_had_not_seen() -> None:
    eng = make_engine()
    eng.submit("BTC-USD", 1, "sell", qty="2", price="100", account=1)
    # The sender saw 2 open and wants a total of 1.5; 0.8 fill before its amend arrives.
    eng.submit("BTC-USD", 2, "buy", qty="0.8", price="100", account=2)
    ev = eng.amend("BTC-USD", 1, qty="1.5", seen_remaining="2")
    assert [(e.kind, e.old_qty, e.qty, e.priority_kept) for e in ev[:1]] == [
        ("amended", 12000, 7000, True)
    ]
    # 0.8 filled + 0.7 open: the total asked for (setting the remaining would leave 1.5 open).
    assert eng.order("BTC-USD", 1)["remaining"] == Decimal("0.7000")  # type: ignore[index]
    # Unseen fills that reach the new total cancel the rest (ticks and lots).
    eng.submit_ticks(0, 3, batch.BUY, 10000, 4000, 2)
    eng.take_events()
    assert eng.amend_ticks(0, 1, None, 3000, 7000) == 2
    canceled, delta = eng.take_events()
    assert batch.KIND_NAMES[int(canceled["kind"])] == "canceled"
    assert batch.CANCEL_REASONS[int(canceled["reason"])] == "FILLED_BEFORE_AMEND"
    assert (int(canceled["qty"]), int(delta["qty"])) == (3000, 0)
    assert eng.order("BTC-USD", 1) is None


def test_events_of_a_cross_and_the_queries() -> None:
    eng = make_engine()
    eng.submit("BTC-USD", 1, "sell", qty="1", price="100", account=1)
    eng.submit("BTC-USD", 2, "sell", qty="2", price="100", account=2)
    eng.submit("BTC-USD", 3, "sell", qty="1", price="101", account=1, display_qty="0.5")
    ev = eng.submit("BTC-USD", 4, "buy", qty="1.5", price="100.5", account=3)
    assert [e.kind for e in ev] == ["accepted", "trade", "trade", "book_delta"]
    assert [e.seq for e in ev] == list(range(ev[0].seq, ev[0].seq + 4))
    t1, t2 = ev[1], ev[2]
    assert (t1.maker_order_id, t1.taker_order_id, t1.qty, t1.aggressor) == (1, 4, 10000, "buy")
    assert (t2.maker_order_id, t2.qty, t2.maker_remaining, t2.taker_remaining) == (
        2,
        5000,
        15000,
        0,
    )
    assert ev[3].to_dict() == {
        "kind": "book_delta",
        "seq": ev[3].seq,
        "instrument": 0,
        "price": 10000,
        "qty": 15000,
        "orders": 1,
        "side": "sell",
    }
    assert eng.depth("BTC-USD", 2)["asks"] == [
        (Decimal("100.00"), Decimal("1.5000"), 1),
        (Decimal("101.00"), Decimal("0.5000"), 1),
    ]
    level = eng.orders_at("BTC-USD", "sell", "101")
    assert [(o["order_id"], o["remaining"], o["visible"], o["display_qty"]) for o in level] == [
        (3, Decimal("1.0000"), Decimal("0.5000"), Decimal("0.5000"))
    ]
    assert eng.order("BTC-USD", 2)["remaining"] == Decimal("1.5000")  # type: ignore[index]
    assert eng.order("BTC-USD", 1) is None
    assert eng.order_count("BTC-USD") == 2
    # The other instrument's book is untouched.
    assert eng.depth("ETH-USD") == {"bids": [], "asks": []}
    assert eng.seq("ETH-USD") == 0


def test_snapshot_restore_continues_identically() -> None:
    eng = make_engine()
    for i in range(1, 20):
        eng.submit(
            "BTC-USD",
            i,
            "buy" if i % 2 else "sell",
            qty="1",
            price=str(100 + (i % 7) - (3 if i % 2 else -3)),
            account=i % 3,
        )
    snap = eng.snapshot("BTC-USD")
    other = Engine()
    assert other.restore(snap) == 0
    assert other.snapshot("BTC-USD") == snap
    a = eng.submit("BTC-USD", 100, "buy", qty="5", price="110", stp="cancel_oldest", account=1)
    b = other.submit("BTC-USD", 100, "buy", qty="5", price="110", stp="cancel_oldest", account=1)
    assert [e.to_dict() for e in a] == [e.to_dict() for e in b]
    with pytest.raises(errors.WintermuteError, match="invalid snapshot JSON"):
        other.restore("{not json")


commands_strategy = st.lists(
    st.tuples(
        st.sampled_from(["new", "new", "new", "cancel", "amend", "total", "mass"]),
        st.integers(1, 30),  # order id
        st.integers(0, 1),  # side
        st.integers(95, 105),  # price (ticks)
        st.integers(-1, 20),  # qty (lots), some invalid
        st.integers(0, 2),  # account
        st.integers(0, 2),  # tif
        st.integers(0, 4),  # stp
    ),
    max_size=80,
)


def to_records(
    cmds: list[tuple[str, int, int, int, int, int, int, int]],
) -> npt.NDArray[np.void]:
    out = np.zeros(len(cmds), dtype=batch.COMMAND_DTYPE)
    for i, (kind, oid, side, price, qty, acct, tif, stp) in enumerate(cmds):
        rec = out[i]
        rec["order_id"], rec["side"], rec["price"], rec["qty"], rec["account"] = (
            oid,
            side,
            price,
            qty,
            acct,
        )
        rec["kind"] = {
            "new": batch.NEW,
            "cancel": batch.CANCEL,
            "amend": batch.AMEND,
            "total": batch.AMEND_TOTAL,
            "mass": batch.MASS_CANCEL,
        }[kind]
        if kind == "new":
            rec["tif"], rec["stp"] = tif, stp
        elif kind == "amend":
            rec["flags"] = batch.FLAG_HAS_PRICE | (batch.FLAG_HAS_QTY if qty % 2 else 0)
        elif kind == "total":  # the sender's view of the remaining: the display_qty column
            rec["flags"] = batch.FLAG_HAS_PRICE if qty % 3 == 0 else 0
            rec["display_qty"] = tif + stp
        elif kind == "mass":
            rec["side"], rec["flags"] = 2, batch.FLAG_HAS_ACCOUNT
    return out


@settings(max_examples=300, deadline=None)
@given(commands_strategy)
def test_batch_equals_fast_path_and_is_deterministic(
    cmds: list[tuple[str, int, int, int, int, int, int, int]],
) -> None:
    records = to_records(cmds)
    # Batch, twice: byte-identical.
    a, b = Engine(), Engine()
    for e in (a, b):
        e.add_instrument(
            "X",
            tick_size="1",
            lot_size="1",
            min_qty="1",
            max_qty="15",
            min_price="96",
            max_price="104",
        )
    ev_a, ev_b = a.submit_batch(0, records), b.submit_batch(0, records)
    assert ev_a.tobytes() == ev_b.tobytes()
    # Without the level updates: the same records less the book_delta ones, seq included.
    d = Engine()
    d.add_instrument(
        "X", tick_size="1", lot_size="1", min_qty="1", max_qty="15", min_price="96", max_price="104"
    )
    orders = d.submit_batch(0, records, book_deltas=False)
    assert orders.tobytes() == ev_a[ev_a["kind"] != BOOK_DELTA].tobytes()
    assert d.depth(0) == a.depth(0)
    # The fast path, one call per command: the same sequenced events.
    c = Engine()
    c.add_instrument(
        "X", tick_size="1", lot_size="1", min_qty="1", max_qty="15", min_price="96", max_price="104"
    )
    for (kind, oid, side, price, qty, acct, tif, stp), rec in zip(cmds, records, strict=True):
        try:
            if kind == "new":
                c.submit_ticks(0, oid, side, price, qty, acct, 0, tif, stp)
            elif kind == "cancel":
                c.cancel_ticks(0, oid)
            elif kind == "amend":
                c.amend_ticks(0, oid, price, qty if rec["flags"] & batch.FLAG_HAS_QTY else None)
            elif kind == "total":
                given = price if rec["flags"] & batch.FLAG_HAS_PRICE else None
                c.amend_ticks(0, oid, given, qty, int(rec["display_qty"]))
            else:
                c.mass_cancel_ticks(0, acct, None)
        except errors.WintermuteError:  # noqa: PERF203 - refusals are part of the stream
            pass
    fast = c.take_events()
    cols = [
        "seq",
        "kind",
        "order_id",
        "other_id",
        "price",
        "qty",
        "remaining",
        "other",
        "side",
        "reason",
        "flags",
    ]
    assert ev_a[ev_a["seq"] > 0][cols].tolist() == fast[cols].tolist()
    # Refused commands: one seq-0 record each in the batch, an exception on the fast path.
    assert a.snapshot(0) == c.snapshot(0)
