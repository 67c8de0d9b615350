"""Our records in Binance's shapes: exact decimal text, symbol names both ways, order views."""

from __future__ import annotations

from decimal import Decimal

import pytest
from hypothesis import given
from hypothesis import strategies as st

from wintermute.service.binance.formats import (
    SymbolMap,
    binance_name,
    decimal_text,
    order_json,
    symbol_json,
)
from wintermute.service.venue import InstrumentInfo, OrderState

BTC = InstrumentInfo(
    "BTC-USD",
    "BTC",
    "USD",
    Decimal("0.01"),
    Decimal("0.001"),
    Decimal("0.001"),
    Decimal("100"),
    Decimal("1"),
    Decimal("1000000"),
)
FINE = InstrumentInfo(
    "SHIB/USDT",
    "SHIB",
    "USDT",
    Decimal("0.0000000001"),
    Decimal("1"),
    Decimal("1"),
    Decimal("1e12"),
    Decimal("0.0000000001"),
    Decimal("1"),
)


@pytest.mark.parametrize(
    ("value", "text"),
    [
        (Decimal("0.1"), "0.10000000"),
        (Decimal("100"), "100.00000000"),
        (Decimal("1E+3"), "1000.00000000"),
        (Decimal("0.000000001"), "0.000000001"),
        (Decimal("123456789012.12345678"), "123456789012.12345678"),
        (Decimal("-0"), "0.00000000"),
        (None, "0.00000000"),
    ],
)
def test_decimals_are_written_as_binance_pads_them(value: Decimal | None, text: str) -> None:
    assert decimal_text(value) == text


@given(st.decimals(min_value=Decimal(0), max_value=Decimal("1e15"), places=12, allow_nan=False))
def test_decimal_text_is_exact_whatever_the_value(value: Decimal) -> None:
    text = decimal_text(value)
    assert Decimal(text) == value
    assert "E" not in text
    assert len(text.split(".")[1]) >= 8


def test_symbols_map_both_ways_and_unknown_names_are_not_guessed() -> None:
    symbols = SymbolMap([BTC, FINE])
    assert (symbols.binance("BTC-USD"), symbols.binance("SHIB/USDT")) == ("BTCUSD", "SHIBUSDT")
    assert (symbols.ours("BTCUSD"), symbols.ours("btcusd"), symbols.ours("ETHUSD")) == (
        "BTC-USD",
        "BTC-USD",
        None,
    )
    assert binance_name("eth_usd") == "ETHUSD"


def test_exchange_info_filters_keep_precision_finer_than_8_places() -> None:
    entry = symbol_json(FINE, SymbolMap([FINE]))
    price = next(f for f in entry["filters"] if f["filterType"] == "PRICE_FILTER")  # type: ignore[attr-defined]
    assert price["tickSize"] == "0.0000000001"
    assert entry["quotePrecision"] == 10
    assert entry["baseAssetPrecision"] == 8


def order(**changes: object) -> OrderState:
    base = OrderState(
        order_id=7,
        client_order_id="c-7",
        account=1,
        symbol="BTC-USD",
        side="buy",
        type="limit",
        tif="post_only",
        price=Decimal("99.50"),
        qty=Decimal("2.000"),
        filled_qty=Decimal("0.500"),
        cum_quote=Decimal("49.75000"),
        status="partially_filled",
        reject_reason=None,
        created_ns=1_000_000_000_123_456,
        updated_ns=2_000_000_000_999_999,
        queue_ahead=Decimal("1.000"),
    )
    fields = {**base.__dict__, **changes}
    return OrderState(**fields)


def test_order_views_carry_the_fields_of_each_binance_response() -> None:
    symbols = SymbolMap([BTC])
    query = order_json(order(), symbols, "QUERY")
    assert query["type"] == "LIMIT_MAKER"
    assert query["timeInForce"] == "GTC"
    assert (query["status"], query["side"], query["symbol"]) == (
        "PARTIALLY_FILLED",
        "BUY",
        "BTCUSD",
    )
    assert (query["price"], query["origQty"], query["executedQty"]) == (
        "99.50000000",
        "2.00000000",
        "0.50000000",
    )
    assert query["cummulativeQuoteQty"] == "49.75000000"
    assert (query["time"], query["updateTime"], query["isWorking"]) == (
        1_000_000_000,
        2_000_000_000,
        True,
    )
    ack = order_json(order(), symbols, "ACK")
    assert ack == {
        "symbol": "BTCUSD",
        "orderId": 7,
        "orderListId": -1,
        "clientOrderId": "c-7",
        "transactTime": 2_000_000_000,
    }
    market = order_json(order(type="market", tif="ioc", price=None), symbols, "RESULT")
    assert (market["type"], market["timeInForce"], market["price"]) == (
        "MARKET",
        "GTC",
        "0.00000000",
    )
    cancel = order_json(order(status="canceled"), symbols, "CANCEL")
    assert (cancel["origClientOrderId"], cancel["status"]) == ("c-7", "CANCELED")
    ioc = order_json(order(tif="ioc", status="expired"), symbols, "RESULT")
    assert (ioc["timeInForce"], ioc["status"], ioc["type"]) == ("IOC", "EXPIRED", "LIMIT")
