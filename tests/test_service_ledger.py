"""Balances and average-cost PnL of the venue's ledger (``_core.VenueLedger`` moved by the order
table, read through ``wintermute.service.ledger``), against hand-computed values."""

from __future__ import annotations

from decimal import Decimal

import pytest

from wintermute import _core, batch, errors
from wintermute.service import ledger as ledger_edges
from wintermute.service.settings import FeeSchedule
from wintermute.service.venue_records import InstrumentInfo

D = Decimal
KINDS = {name: code for code, name in batch.KIND_NAMES.items()}
BTC = InstrumentInfo(
    "BTC-USD", "BTC", "USD", D("0.01"), D("1"), D("1"), D("100"), D("0.01"), D("100000")
)


def _ledger(
    defaults: dict[str, Decimal], per_account: dict[int, dict[str, Decimal]], fees: FeeSchedule
) -> tuple[_core.VenueLedger, _core.VenueOrders]:
    ledger = ledger_edges.new_ledger([BTC], fees, defaults, per_account)
    return ledger, _core.VenueOrders(1, 0, 100, ledger)


def _fill(orders: _core.VenueOrders, account: int, side: int, ticks: int, lots: int) -> None:
    """An order of ``account`` that the engine accepts and fills at once, as the taker."""
    held = lots * ticks if side == batch.BUY else lots
    oid, _ = orders.place(account, None, 0, side, "limit", "gtc", ticks, lots, held, 0)
    orders.event(KINDS["accepted"], oid, 0, side, ticks, lots, lots, 0, 0, 1)
    orders.event(KINDS["trade"], 10**9, oid, side, ticks, lots, 0, 0, 0, 1)
    orders.command_done()


def _balances(ledger: _core.VenueLedger, account: int) -> dict[str, tuple[Decimal, Decimal]]:
    return {b.asset: (b.free, b.locked) for b in ledger_edges.balances(ledger, account)}


def test_holds_and_fills_move_free_and_locked_exactly() -> None:
    fees = FeeSchedule(maker_bps=D(0), taker_bps=D(5))
    ledger, orders = _ledger({"USD": D(1000), "BTC": D(1)}, {7: {"USD": D(5)}}, fees)
    oid, _ = orders.place(1, None, 0, batch.BUY, "limit", "gtc", 10025, 2, 20050, 0)  # 2 @ 100.25
    assert _balances(ledger, 1)["USD"] == (D(1000) - D("200.50"), D("200.50"))
    orders.event(KINDS["accepted"], oid, 0, batch.BUY, 10025, 2, 2, 0, 0, 1)
    effects = orders.event(KINDS["trade"], 10**9, oid, batch.BUY, 9900, 1, 0, 0, 0, 1)
    (fill,) = [fx for fx in effects if fx[0] == 1]  # filled 1 at 99 (taker): 1.25 back
    fee = ledger_edges.decimal(fill[10])
    assert fee == D(99) * 5 / 10_000
    assert _balances(ledger, 1) == {
        "BTC": (D(2), D(0)),
        "USD": (D(1000) - D("200.50") + D("1.25") - fee, D("100.25")),
    }
    assert [str(v) for v in _balances(ledger, 1)["BTC"]] == ["2", "0"]  # as Decimals print
    with pytest.raises(errors.WintermuteError) as e:  # account 7 starts with its own balances
        orders.place(7, None, 0, batch.BUY, "limit", "gtc", 501, 1, 501, 0)
    assert (e.value.reason, str(e.value)) == (
        "INSUFFICIENT_BALANCE", "account=7 asset=USD needs=5.01 free=5"
    )  # fmt: skip
    assert [(b.asset, b.free, b.locked) for b in ledger_edges.balances(ledger, 7)] == [
        ("USD", D(5), D(0))
    ]


def test_average_cost_pnl_through_a_reduction_and_a_flip() -> None:
    fees = FeeSchedule(maker_bps=D(0), taker_bps=D(5))
    ledger, orders = _ledger({"USD": D(10_000), "BTC": D(10)}, {}, fees)
    _fill(orders, 1, batch.BUY, 10000, 2)  # long 2 @ 100
    _fill(orders, 1, batch.BUY, 11000, 2)  # long 4 @ 105
    _fill(orders, 1, batch.SELL, 12000, 1)  # sell 1: +15 realized
    _fill(orders, 1, batch.SELL, 9000, 5)  # sell 5: close 3 (-45), short 2 @ 90
    symbols = ["BTC-USD"]
    (p,) = ledger_edges.positions(ledger, 1, symbols, {"BTC-USD": D(80)})
    assert (p.qty, p.avg_price, p.realized_pnl) == (D(-2), D(90), D(15 - 45))
    assert p.unrealized_pnl == D(20)  # short 2 from 90, marked at 80
    assert p.fees == (D(200) + D(220) + D(120) + D(450)) * 5 / 10_000
    (unmarked,) = ledger_edges.positions(ledger, 1, symbols, {})
    assert (unmarked.mark_price, unmarked.unrealized_pnl) == (None, D(0))


def test_decimals_cross_the_edge_exactly() -> None:
    fees = FeeSchedule(maker_bps=D(0), taker_bps=D(0))
    for d, shown in [
        (D("0.00000001"), "1E-8"), (D("-12.5"), "-12.5"), (D("1E+3"), "1000"), (D(0), "0"),
        (D("12345678901234567890.1"), "12345678901234567890.1"), (D("2.50"), "2.50"),
    ]:  # fmt: skip
        ledger = ledger_edges.new_ledger([BTC], fees, {"X": d}, {})
        (x,) = [b for b in ledger_edges.balances(ledger, 1) if b.asset == "X"]
        assert (x.free, str(x.free)) == (d, shown)
    assert str(ledger_edges.decimal((98500, 3))) == "98.500"
    assert str(ledger_edges.decimal((-15, 1))) == "-1.5"
    # Outside the rules of every decimal of the engine: an error that names the amount.
    for bad in (D("NaN"), D("123456789012345678901234567890.1"), D("1E-19")):
        with pytest.raises(errors.InvalidDecimalError, match="balance X") as e:
            ledger_edges.new_ledger([BTC], fees, {"X": bad}, {})
        assert isinstance(e.value, ValueError)
    with pytest.raises(TypeError, match="floats are not accepted"):
        _core.VenueLedger([("BTC", "USD", 0.01, "1")], "0", "0", [], [])  # type: ignore[list-item]


def test_a_quote_shared_by_instruments_of_different_grids_stays_exact() -> None:
    eth = InstrumentInfo(
        "ETH-USD", "ETH", "USD", D("0.1"), D("0.0001"), D("0.0001"), D("100"), D("0.1"), D("1e6")
    )
    fees = FeeSchedule(maker_bps=D("0.5"), taker_bps=D(5))
    ledger = ledger_edges.new_ledger([BTC, eth], fees, {"USD": D(1000)}, {})
    orders = _core.VenueOrders(2, 0, 100, ledger)
    oid, _ = orders.place(1, None, 1, batch.BUY, "limit", "gtc", 20001, 3, 60003, 0)
    orders.event(KINDS["accepted"], oid, 0, batch.BUY, 20001, 3, 3, 0, 1, 1)
    effects = orders.event(KINDS["trade"], 10**9, oid, batch.BUY, 20001, 3, 0, 0, 1, 1)
    (fill,) = [fx for fx in effects if fx[0] == 1]  # 0.0003 ETH at 2000.1, taker
    notional = D("2000.1") * D("0.0003")
    assert ledger_edges.decimal(fill[10]) == notional * 5 / 10_000
    assert str(ledger_edges.decimal(fill[10])) == str(notional * 5 / 10_000)  # same digits
    free, locked = _balances(ledger, 1)["USD"]
    assert free == D(1000) - notional - notional * 5 / 10_000
    assert (str(free), str(locked)) == (str(D(1000) - notional - notional * 5 / 10_000), "0.00000")
    assert _balances(ledger, 1)["ETH"] == (D("0.0003"), D(0))
