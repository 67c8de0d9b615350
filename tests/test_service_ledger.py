"""Balances and average-cost PnL (wintermute.service.ledger), against hand-computed values."""

from __future__ import annotations

from decimal import Decimal

import pytest

from wintermute.service.ledger import Ledger
from wintermute.service.venue_records import VenueError

D = Decimal


def test_holds_and_fills_move_free_and_locked_exactly() -> None:
    ledger = Ledger({"USD": D(1000), "BTC": D(1)}, {7: {"USD": D(5)}})
    ledger.lock(1, "USD", D("200.50"))  # a buy of 2 at 100.25
    ledger.settle(
        1, spend_asset="USD", spend=D("99.00"), from_hold=D("100.25"), get_asset="BTC", get=D(1)
    )  # fmt: skip  (filled 1 at 99: 1.25 back)
    ledger.charge(1, "USD", D("0.05"))
    assert {b.asset: (b.free, b.locked) for b in ledger.balances(1)} == {
        "BTC": (D(2), D(0)),
        "USD": (D(1000) - D("200.50") + D("1.25") - D("0.05"), D("100.25")),
    }
    with pytest.raises(VenueError) as e:
        ledger.lock(7, "USD", D("5.01"))  # account 7 starts with its own balances
    assert e.value.code == "INSUFFICIENT_BALANCE"
    assert [(b.asset, b.free, b.locked) for b in ledger.balances(7)] == [("USD", D(5), D(0))]


def test_average_cost_pnl_through_a_reduction_and_a_flip() -> None:
    ledger = Ledger({}, {})
    ledger.record_fill(1, "BTC-USD", D(2), D(100), D("0.1"))  # long 2 @ 100
    ledger.record_fill(1, "BTC-USD", D(2), D(110), D("0.1"))  # long 4 @ 105
    ledger.record_fill(1, "BTC-USD", D(-1), D(120), D(0))  # sell 1: +15 realized
    ledger.record_fill(1, "BTC-USD", D(-5), D(90), D(0))  # sell 5: close 3 (-45), short 2 @ 90
    (p,) = ledger.positions(1, {"BTC-USD": D(80)})
    assert (p.qty, p.avg_price, p.realized_pnl) == (D(-2), D(90), D(15 - 45))
    assert p.unrealized_pnl == D(20)  # short 2 from 90, marked at 80
    assert p.fees == D("0.2")
    (unmarked,) = ledger.positions(1, {})
    assert (unmarked.mark_price, unmarked.unrealized_pnl) == (None, D(0))
