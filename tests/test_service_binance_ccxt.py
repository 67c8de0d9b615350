"""Unmodified ccxt (from PyPI) trading on our venue through the Binance-compatible API: its
``urls`` point at a real server on 127.0.0.1, and any other host fails the test."""

from __future__ import annotations

from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest

from binance_server import ED_PRIVATE_PEM, BinanceServer, ccxt_binance, serve

pytestmark = pytest.mark.usefixtures("require_ccxt")


@pytest.fixture
def server() -> Iterator[BinanceServer]:
    """A fresh venue behind the Binance-compatible API on 127.0.0.1."""
    with serve() as running:
        yield running


@pytest.fixture
def require_ccxt(require: Any) -> None:
    require("ccxt")


def rest(server: BinanceServer, side: str, qty: str, price: str, account_key: str = "2") -> None:
    """Rests an order of account 2 (the counterparty) through the venue."""
    import asyncio

    state = asyncio.run(
        server.venue.place(int(account_key), "BTC-USD", side, "limit", Decimal(qty), Decimal(price))
    )
    assert state.status == "new"


def test_ccxt_loads_our_markets_with_their_tick_and_lot_sizes(
    server: BinanceServer,
) -> None:
    ex = ccxt_binance(server)
    markets = ex.load_markets()
    assert set(markets) == {"BTC/USD", "ETH/USD"}
    btc = markets["BTC/USD"]
    assert (btc["id"], btc["base"], btc["quote"], btc["spot"]) == ("BTCUSD", "BTC", "USD", True)
    assert btc["precision"]["price"] == 0.01
    assert btc["precision"]["amount"] == 0.001
    assert btc["limits"]["amount"]["min"] == 0.001
    assert btc["limits"]["price"]["max"] == 1_000_000


def test_ccxt_fetches_the_book_the_venue_holds(server: BinanceServer) -> None:
    rest(server, "buy", "1.5", "99.5")
    rest(server, "sell", "0.25", "101")
    ex = ccxt_binance(server)
    book = ex.fetch_order_book("BTC/USD")
    assert book["bids"] == [[99.5, 1.5]]
    assert book["asks"] == [[101.0, 0.25]]
    assert book["nonce"] == server.venue.depth("BTC-USD").seq


def test_ccxt_places_reads_and_cancels_a_limit_order(server: BinanceServer) -> None:
    ex = ccxt_binance(server)
    order = ex.create_order("BTC/USD", "limit", "buy", 0.5, 95.25, {"clientOrderId": "my-bid-1"})
    assert (order["status"], order["clientOrderId"], order["price"]) == ("open", "my-bid-1", 95.25)
    assert order["amount"] == 0.5
    assert server.venue.depth("BTC-USD").bids == [(Decimal("95.25"), Decimal("0.500"))]

    fetched = ex.fetch_order(order["id"], "BTC/USD")
    assert (fetched["id"], fetched["status"], fetched["filled"]) == (order["id"], "open", 0.0)
    assert [o["id"] for o in ex.fetch_open_orders("BTC/USD")] == [order["id"]]

    canceled = ex.cancel_order(order["id"], "BTC/USD")
    assert canceled["status"] == "canceled"
    assert server.venue.depth("BTC-USD").bids == []
    assert ex.fetch_open_orders("BTC/USD") == []
    assert ex.fetch_order(order["id"], "BTC/USD")["status"] == "canceled"


def test_ccxt_market_order_fills_against_the_book_with_its_trades(
    server: BinanceServer,
) -> None:
    rest(server, "sell", "0.3", "101")
    rest(server, "sell", "0.5", "102")
    ex = ccxt_binance(server)
    order = ex.create_order("BTC/USD", "market", "buy", 0.6)
    assert (order["status"], order["filled"]) == ("closed", 0.6)
    assert order["cost"] == pytest.approx(0.3 * 101 + 0.3 * 102)
    assert [(t["price"], t["amount"]) for t in order["trades"]] == [(101.0, 0.3), (102.0, 0.3)]
    assert server.venue.depth("BTC-USD").asks == [(Decimal("102.00"), Decimal("0.200"))]

    mine = ex.fetch_my_trades("BTC/USD")
    assert [(t["side"], t["price"], t["amount"], t["order"]) for t in mine] == [
        ("buy", 101.0, 0.3, order["id"]),
        ("buy", 102.0, 0.3, order["id"]),
    ]
    assert all(t["takerOrMaker"] == "taker" for t in mine)


def test_ccxt_balance_follows_the_venues_ledger(server: BinanceServer) -> None:
    ex = ccxt_binance(server)
    before = ex.fetch_balance()
    ex.create_order("BTC/USD", "limit", "buy", 2, 100)
    after = ex.fetch_balance()
    ledger = {b.asset: b for b in server.venue.balances(1)}
    assert after["USD"]["used"] == float(ledger["USD"].locked) == 200.0
    assert after["USD"]["free"] == float(ledger["USD"].free)
    assert after["USD"]["total"] == before["USD"]["total"]
    assert after["BTC"]["free"] == float(ledger["BTC"].free)


def test_ccxt_cancels_all_open_orders_of_a_symbol(server: BinanceServer) -> None:
    ex = ccxt_binance(server)
    ids = {ex.create_order("BTC/USD", "limit", "buy", 0.1, p)["id"] for p in (90, 91, 92)}
    ex.create_order("ETH/USD", "limit", "buy", 0.1, 50)
    canceled = ex.cancel_all_orders("BTC/USD")
    assert {o["id"] for o in canceled} == ids
    assert ex.fetch_open_orders("BTC/USD") == []
    assert len(ex.fetch_open_orders("ETH/USD")) == 1


def test_ccxt_with_an_ed25519_key_trades_too(server: BinanceServer) -> None:
    ex = ccxt_binance(server, key="bn-ed-1", secret=ED_PRIVATE_PEM)
    order = ex.create_order("BTC/USD", "limit", "sell", 0.2, 120)
    assert ex.fetch_open_orders("BTC/USD")[0]["id"] == order["id"]
    assert server.venue.open_orders(1)[0].order_id == int(order["id"])


def test_ccxt_sees_binances_errors_as_its_own_exception_classes(
    server: BinanceServer,
) -> None:
    import ccxt

    ex = ccxt_binance(server)
    ex.load_markets()
    with pytest.raises(ccxt.OrderNotFound):
        ex.fetch_order("999999", "BTC/USD")
    with pytest.raises(ccxt.OrderNotFound):
        ex.cancel_order("999999", "BTC/USD")
    with pytest.raises(ccxt.InvalidOrder):  # over maxQty: LOT_SIZE
        ex.create_order("BTC/USD", "limit", "sell", 150, 100)
    with pytest.raises(ccxt.InsufficientFunds):
        ex.create_order("BTC/USD", "limit", "buy", 99, 999_999)
    wrong = ccxt_binance(server, secret="not-the-secret")
    with pytest.raises(ccxt.AuthenticationError):
        wrong.fetch_balance()
    unknown = ccxt_binance(server, key="no-such-key")
    with pytest.raises(ccxt.AuthenticationError):
        unknown.fetch_balance()
    assert server.venue.open_orders(1) == []


def test_ccxt_reads_the_public_tape_and_ticker(server: BinanceServer) -> None:
    rest(server, "sell", "1", "101")
    ex = ccxt_binance(server)
    ex.create_order("BTC/USD", "market", "buy", 0.4)
    rest(server, "buy", "2", "99")
    trades = ex.fetch_trades("BTC/USD")
    assert [(t["price"], t["amount"], t["side"]) for t in trades] == [(101.0, 0.4, "buy")]
    ticker = ex.fetch_ticker("BTC/USD")
    assert (ticker["last"], ticker["bid"], ticker["ask"]) == (101.0, 99.0, 101.0)
    assert (ticker["baseVolume"], ticker["quoteVolume"]) == (0.4, 40.4)
    assert ex.fetch_time() == pytest.approx(ex.milliseconds(), abs=5000)
