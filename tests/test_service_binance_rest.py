"""The Binance-compatible REST API with a real HTTP client (httpx) against a real server on
127.0.0.1: Binance's shapes and exact decimals, its error codes, signed requests, weight
headers and 429s."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from binance_server import HMAC_SECRET, BinanceServer, now_ms, serve
from wintermute.service import binance


@pytest.fixture
def server() -> Iterator[BinanceServer]:
    """A fresh venue behind the Binance-compatible API on 127.0.0.1."""
    with serve() as running:
        yield running


def place(server: BinanceServer, account: int, side: str, qty: str, price: str) -> int:
    state = asyncio.run(
        server.venue.place(account, "BTC-USD", side, "limit", Decimal(qty), Decimal(price))
    )
    return state.order_id


def error(r: httpx.Response) -> tuple[int, int]:
    body: dict[str, Any] = r.json()
    assert set(body) == {"code", "msg"}
    return r.status_code, body["code"]


def test_ping_and_time_answer_with_the_servers_clock(server: BinanceServer) -> None:
    assert httpx.get(server.api + "/api/v3/ping").json() == {}
    before = now_ms()
    t = httpx.get(server.api + "/api/v3/time").json()["serverTime"]
    assert before <= t <= now_ms()


def test_exchange_info_describes_each_instrument_with_exact_filters(server: BinanceServer) -> None:
    info = httpx.get(server.api + "/api/v3/exchangeInfo").json()
    assert [s["symbol"] for s in info["symbols"]] == ["BTCUSD", "ETHUSD"]
    btc = info["symbols"][0]
    filters = {f["filterType"]: f for f in btc["filters"]}
    spec = server.venue.instrument("BTC-USD")
    assert filters["PRICE_FILTER"] == {
        "filterType": "PRICE_FILTER",
        "minPrice": "1.00000000",
        "maxPrice": "1000000.00000000",
        "tickSize": "0.01000000",
    }
    assert Decimal(filters["LOT_SIZE"]["stepSize"]) == spec.lot_size
    assert Decimal(filters["LOT_SIZE"]["minQty"]) == spec.min_qty
    assert Decimal(filters["LOT_SIZE"]["maxQty"]) == spec.max_qty
    assert (btc["baseAsset"], btc["quoteAsset"], btc["status"]) == ("BTC", "USD", "TRADING")
    one = httpx.get(server.api + "/api/v3/exchangeInfo", params={"symbol": "ETHUSD"}).json()
    assert [s["symbol"] for s in one["symbols"]] == ["ETHUSD"]
    two = httpx.get(
        server.api + '/api/v3/exchangeInfo?symbols=["BTCUSD","ETHUSD"]'.replace('"', "%22")
    ).json()
    assert len(two["symbols"]) == 2


def test_depth_is_the_venues_book_with_its_sequence_as_last_update_id(
    server: BinanceServer,
) -> None:
    place(server, 2, "buy", "1.5", "99.5")
    place(server, 2, "buy", "0.001", "99.49")
    place(server, 2, "sell", "2", "100.01")
    r = httpx.get(server.api + "/api/v3/depth", params={"symbol": "BTCUSD", "limit": 1})
    book = server.venue.depth("BTC-USD")
    assert r.json() == {
        "lastUpdateId": book.seq,
        "bids": [["99.50000000", "1.50000000"]],
        "asks": [["100.01000000", "2.00000000"]],
    }
    full = httpx.get(server.api + "/api/v3/depth", params={"symbol": "btcusd"}).json()
    assert [Decimal(p) for p, _ in full["bids"]] == [Decimal("99.5"), Decimal("99.49")]


def test_trades_and_tickers_come_from_the_tape_and_the_book(server: BinanceServer) -> None:
    place(server, 2, "sell", "1", "101")
    place(server, 1, "buy", "0.25", "101")
    place(server, 1, "buy", "0.5", "101")
    place(server, 2, "buy", "1", "99")
    trades = httpx.get(server.api + "/api/v3/trades", params={"symbol": "BTCUSD"}).json()
    assert [(t["price"], t["qty"], t["isBuyerMaker"]) for t in trades] == [
        ("101.00000000", "0.25000000", False),
        ("101.00000000", "0.50000000", False),
    ]
    assert trades[0]["id"] < trades[1]["id"]
    q = {"symbol": "BTCUSD"}
    price = httpx.get(server.api + "/api/v3/ticker/price", params=q).json()
    assert price == {"symbol": "BTCUSD", "price": "101.00000000"}
    book = httpx.get(server.api + "/api/v3/ticker/bookTicker", params=q).json()
    assert (book["bidPrice"], book["bidQty"]) == ("99.00000000", "1.00000000")
    assert (book["askPrice"], book["askQty"]) == ("101.00000000", "0.25000000")
    day = httpx.get(server.api + "/api/v3/ticker/24hr", params=q).json()
    assert (day["volume"], day["quoteVolume"], day["count"]) == ("0.75000000", "75.75000000", 2)
    assert (day["lastPrice"], day["highPrice"], day["weightedAvgPrice"]) == (
        "101.00000000",
        "101.00000000",
        "101.00000000",
    )
    every = httpx.get(server.api + "/api/v3/ticker/price").json()
    assert [p["symbol"] for p in every] == ["BTCUSD", "ETHUSD"]


@pytest.mark.parametrize(
    ("path", "params", "status", "code"),
    [
        ("/api/v3/depth", {"symbol": "DOGEUSD"}, 400, -1121),
        ("/api/v3/depth", {}, 400, -1102),
        ("/api/v3/depth", {"symbol": "BTCUSD", "limit": "ten"}, 400, -1100),
        ("/api/v3/depth", {"symbol": "BTCUSD", "limit": "0"}, 400, -1130),
        ("/api/v3/depth", {"symbol": ""}, 400, -1105),
        ("/api/v3/trades", {"symbol": "BTC-USD"}, 400, -1121),
        ("/api/v3/exchangeInfo", {"symbol": "BTCUSD", "symbols": '["BTCUSD"]'}, 400, -1128),
    ],
)
def test_bad_public_requests_get_binances_error_body_and_code(
    server: BinanceServer, path: str, params: dict[str, str], status: int, code: int
) -> None:
    assert error(httpx.get(server.api + path, params=params)) == (status, code)


def test_a_parameter_given_twice_is_refused(server: BinanceServer) -> None:
    r = httpx.get(server.api + "/api/v3/depth?symbol=BTCUSD&symbol=ETHUSD")
    assert error(r) == (400, -1101)


def test_signed_requests_with_a_bad_key_signature_or_timestamp_get_binances_codes(
    server: BinanceServer,
) -> None:
    assert server.signed("GET", "/api/v3/account", {}).status_code == 200
    assert error(server.signed("GET", "/api/v3/account", {}, secret="wrong")) == (400, -1022)
    assert error(server.signed("GET", "/api/v3/account", {}, key="unknown-key")) == (401, -2015)
    assert error(server.signed("GET", "/api/v3/account", {}, key="bad key!")) == (401, -2014)
    stale = now_ms() - 6000
    assert error(server.signed("GET", "/api/v3/account", {}, timestamp=stale)) == (400, -1021)
    wide = {"recvWindow": "10000"}
    assert server.signed("GET", "/api/v3/account", wide, timestamp=stale).status_code == 200
    assert error(server.signed("GET", "/api/v3/account", {"recvWindow": "60001"})) == (400, -1131)
    ahead = now_ms() + 5000
    assert error(server.signed("GET", "/api/v3/account", {}, timestamp=ahead)) == (400, -1021)
    no_key = httpx.get(server.api + f"/api/v3/account?timestamp={now_ms()}&signature=00")
    assert error(no_key) == (401, -2014)
    unsigned = httpx.get(
        server.api + f"/api/v3/account?timestamp={now_ms()}", headers={"X-MBX-APIKEY": "bn-hmac-1"}
    )
    assert error(unsigned) == (400, -1102)


def test_a_body_signed_order_and_its_three_response_types(server: BinanceServer) -> None:
    base = {"symbol": "BTCUSD", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}
    ack = server.signed(
        "POST",
        "/api/v3/order",
        {**base, "quantity": "0.1", "price": "90", "newOrderRespType": "ACK"},
        in_body=True,
    ).json()
    assert set(ack) == {"symbol", "orderId", "orderListId", "clientOrderId", "transactTime"}
    result = server.signed(
        "POST",
        "/api/v3/order",
        {**base, "quantity": "0.1", "price": "91", "newOrderRespType": "RESULT"},
    ).json()
    assert (result["status"], result["price"], result["origQty"]) == (
        "NEW",
        "91.00000000",
        "0.10000000",
    )
    assert "fills" not in result
    place(server, 2, "sell", "0.05", "92")
    place(server, 2, "sell", "0.05", "93")
    full = server.signed(
        "POST",
        "/api/v3/order",
        {**base, "quantity": "0.2", "price": "93", "newClientOrderId": "full-1"},
    ).json()
    assert (full["status"], full["executedQty"], full["cummulativeQuoteQty"]) == (
        "PARTIALLY_FILLED",
        "0.10000000",
        "9.25000000",
    )
    assert [(f["price"], f["qty"]) for f in full["fills"]] == [
        ("92.00000000", "0.05000000"),
        ("93.00000000", "0.05000000"),
    ]
    assert full["clientOrderId"] == "full-1"
    got = server.signed(
        "GET", "/api/v3/order", {"symbol": "BTCUSD", "origClientOrderId": "full-1"}
    ).json()
    assert (got["orderId"], got["isWorking"], got["executedQty"]) == (
        full["orderId"],
        True,
        "0.10000000",
    )


def test_ioc_fok_and_limit_maker_behave_as_on_binance(server: BinanceServer) -> None:
    place(server, 2, "sell", "0.5", "100")
    common = {"symbol": "BTCUSD", "side": "BUY", "price": "100"}
    fok = server.signed(
        "POST",
        "/api/v3/order",
        {**common, "type": "LIMIT", "timeInForce": "FOK", "quantity": "1"},
    ).json()
    assert (fok["status"], fok["executedQty"]) == ("EXPIRED", "0.00000000")
    ioc = server.signed(
        "POST",
        "/api/v3/order",
        {**common, "type": "LIMIT", "timeInForce": "IOC", "quantity": "1"},
    ).json()
    assert (ioc["status"], ioc["executedQty"], ioc["timeInForce"]) == (
        "EXPIRED",
        "0.50000000",
        "IOC",
    )
    place(server, 2, "sell", "0.5", "100")
    maker = server.signed(
        "POST", "/api/v3/order", {**common, "type": "LIMIT_MAKER", "quantity": "1"}
    )
    assert error(maker) == (400, -2010)
    assert maker.json()["msg"] == "Order would immediately match and take."
    assert server.venue.depth("BTC-USD").asks == [(Decimal("100.00"), Decimal("0.500"))]
    resting = server.signed(
        "POST",
        "/api/v3/order",
        {**common, "price": "99", "type": "LIMIT_MAKER", "quantity": "1"},
    ).json()
    assert (resting["type"], resting["status"]) == ("LIMIT_MAKER", "NEW")


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({"side": "HOLD", "type": "LIMIT"}, -1117),
        ({"type": "STOP_LOSS"}, -1116),
        ({"type": "LIMIT", "timeInForce": "GTX"}, -1115),
        ({"type": "LIMIT"}, -1102),  # no timeInForce
        ({"type": "MARKET", "price": "100"}, -1106),
        ({"type": "MARKET", "quoteOrderQty": "100"}, -1014),
        ({"type": "LIMIT", "timeInForce": "GTC", "price": "100.001"}, -1013),  # off tick
        ({"type": "LIMIT", "timeInForce": "GTC", "quantity": "0.0001"}, -1013),  # off lot
        ({"type": "LIMIT", "timeInForce": "GTC", "quantity": "1e3"}, -1100),
        ({"type": "LIMIT", "timeInForce": "GTC", "quantity": "-1"}, -1100),
        ({"type": "LIMIT", "timeInForce": "GTC", "quantity": "90000"}, -1013),  # maxQty
        ({"type": "LIMIT", "timeInForce": "GTC", "price": "999999", "quantity": "2"}, -2010),
        ({"type": "LIMIT", "timeInForce": "GTC", "newClientOrderId": "bad id"}, -1100),
        ({"type": "LIMIT", "timeInForce": "GTC", "symbol": "XRPUSD"}, -1121),
    ],
)
def test_bad_orders_get_binances_codes_and_leave_the_book_unchanged(
    server: BinanceServer, params: dict[str, str], code: int
) -> None:
    place(server, 2, "sell", "1", "105")
    before = server.venue.depth("BTC-USD")
    order = {"symbol": "BTCUSD", "side": "BUY", "quantity": "1", **params}
    if params.get("type") != "MARKET":
        order.setdefault("price", "100")
    r = server.signed("POST", "/api/v3/order", order)
    assert error(r)[1] == code
    assert server.venue.depth("BTC-USD") == before
    assert server.venue.open_orders(1) == []


def test_cancel_and_query_of_missing_orders_get_2011_and_2013(server: BinanceServer) -> None:
    theirs = place(server, 2, "buy", "1", "90")
    for ref in ({"orderId": str(theirs)}, {"orderId": "424242"}, {"origClientOrderId": "nope"}):
        q = {"symbol": "BTCUSD", **ref}
        assert error(server.signed("DELETE", "/api/v3/order", q)) == (400, -2011)
        assert error(server.signed("GET", "/api/v3/order", q)) == (400, -2013)
    assert error(server.signed("GET", "/api/v3/order", {"symbol": "BTCUSD"})) == (400, -1102)
    assert server.venue.open_orders(2)[0].order_id == theirs


def test_all_orders_my_trades_and_open_orders_list_the_accounts_own(
    server: BinanceServer,
) -> None:
    place(server, 2, "sell", "1", "100")
    q = {"symbol": "BTCUSD", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}
    a = server.signed("POST", "/api/v3/order", {**q, "quantity": "0.3", "price": "100"}).json()
    b = server.signed("POST", "/api/v3/order", {**q, "quantity": "0.2", "price": "98"}).json()
    every = server.signed("GET", "/api/v3/allOrders", {"symbol": "BTCUSD"}).json()
    assert [(o["orderId"], o["status"]) for o in every] == [
        (a["orderId"], "FILLED"),
        (b["orderId"], "NEW"),
    ]
    assert [o["orderId"] for o in server.signed("GET", "/api/v3/openOrders", {}).json()] == [
        b["orderId"]
    ]
    mine = server.signed("GET", "/api/v3/myTrades", {"symbol": "BTCUSD"}).json()
    assert [(t["orderId"], t["price"], t["qty"], t["isBuyer"], t["isMaker"]) for t in mine] == [
        (a["orderId"], "100.00000000", "0.30000000", True, False)
    ]
    theirs = server.signed(
        "GET", "/api/v3/myTrades", {"symbol": "BTCUSD"}, key="bn-hmac-2", secret="x"
    )
    assert error(theirs) == (400, -1022)
    gone = server.signed("DELETE", "/api/v3/openOrders", {"symbol": "BTCUSD"}).json()
    assert [(o["orderId"], o["status"]) for o in gone] == [(b["orderId"], "CANCELED")]


def test_every_answer_carries_the_used_weight_and_orders_their_counts(
    server: BinanceServer,
) -> None:
    r1 = httpx.get(server.api + "/api/v3/depth", params={"symbol": "BTCUSD", "limit": 5000})
    used1 = int(r1.headers["X-MBX-USED-WEIGHT-1M"])
    r2 = httpx.get(server.api + "/api/v3/depth", params={"symbol": "BTCUSD", "limit": 100})
    assert int(r2.headers["X-MBX-USED-WEIGHT-1M"]) in (used1 + 5, 5)  # 5, unless a minute turned
    bad = httpx.get(server.api + "/api/v3/depth", params={"symbol": "NOPE"})
    assert "X-MBX-USED-WEIGHT-1M" in bad.headers
    q = {"symbol": "BTCUSD", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}
    o1 = server.signed("POST", "/api/v3/order", {**q, "quantity": "0.1", "price": "90"})
    o2 = server.signed("POST", "/api/v3/order", {**q, "quantity": "0.1", "price": "90.5"})
    counts = [int(o.headers["X-MBX-ORDER-COUNT-10S"]) for o in (o1, o2)]
    assert counts[1] == counts[0] + 1 or counts[1] == 1
    assert int(o2.headers["X-MBX-ORDER-COUNT-1D"]) == 2


def test_over_the_weight_limit_answers_429_with_retry_after_and_1003() -> None:
    with serve(binance.RateLimits(weight_per_minute=30, orders_per_10s=2)) as server:
        codes = []
        for _ in range(3):
            r = httpx.get(server.api + "/api/v3/exchangeInfo")  # weight 20
            codes.append(r.status_code)
        assert codes[0] == 200
        assert 429 in codes
        limited = httpx.get(server.api + "/api/v3/exchangeInfo")
        assert error(limited) == (429, -1003)
        assert 1 <= int(limited.headers["Retry-After"]) <= 60
        assert int(limited.headers["X-MBX-USED-WEIGHT-1M"]) <= 30


def test_over_the_order_limit_answers_429_with_1015_and_places_nothing() -> None:
    with serve(binance.RateLimits(orders_per_10s=2)) as server:
        q = {"symbol": "BTCUSD", "side": "BUY", "type": "LIMIT", "timeInForce": "GTC"}
        answers = [
            server.signed("POST", "/api/v3/order", {**q, "quantity": "0.1", "price": p})
            for p in ("90", "91", "92", "93")
        ]
        refused = [a for a in answers if a.status_code == 429]
        assert refused, "two orders per 10 s: some of four in a row are refused"
        assert {error(a) for a in refused} == {(429, -1015)}
        assert all(1 <= int(a.headers["Retry-After"]) <= 10 for a in refused)
        assert len(server.venue.open_orders(1)) == len(answers) - len(refused)


def test_hmac_signatures_from_the_docs_example_key_shape_are_accepted_in_any_case(
    server: BinanceServer,
) -> None:
    import hashlib
    import hmac
    from urllib.parse import urlencode

    query = urlencode({"timestamp": now_ms()})
    sig = hmac.new(HMAC_SECRET.encode(), query.encode(), hashlib.sha256).hexdigest().upper()
    r = httpx.get(
        f"{server.api}/api/v3/account?{query}&signature={sig}",
        headers={"X-MBX-APIKEY": "bn-hmac-1"},
    )
    assert r.status_code == 200
    assert {b["asset"] for b in r.json()["balances"]} >= {"BTC", "USD"}


_PARAM_VALUES = st.one_of(
    st.sampled_from(
        [
            "BTCUSD",
            "btcusd",
            "ETHUSD",
            "BUY",
            "SELL",
            "LIMIT",
            "MARKET",
            "LIMIT_MAKER",
            "GTC",
            "IOC",
            "FOK",
            "ACK",
            "FULL",
            "0",
            "0.001",
            "1",
            "100",
            "100.005",
            "-1",
            "1e9",
            "NaN",
            "99999999999999999999.99999999999999999999",
            "",
            "\u00e9",
            "%",
            "[]",
        ]
    ),
    st.text(max_size=12),
)
_PARAM_NAMES = st.sampled_from(
    [
        "symbol",
        "side",
        "type",
        "timeInForce",
        "quantity",
        "price",
        "newClientOrderId",
        "newOrderRespType",
        "quoteOrderQty",
        "orderId",
        "origClientOrderId",
        "limit",
        "recvWindow",
    ]
)

_ROUTES = st.sampled_from(
    [("POST", "/api/v3/order"), ("DELETE", "/api/v3/order"), ("GET", "/api/v3/order"),
     ("GET", "/api/v3/openOrders"), ("GET", "/api/v3/myTrades"), ("GET", "/api/v3/depth")]
)  # fmt: skip


def test_random_order_requests_never_fail_the_server_and_refusals_change_nothing() -> None:
    with serve() as server:
        place(server, 2, "sell", "1", "105")
        place(server, 2, "buy", "1", "95")

        @settings(max_examples=80, deadline=None)
        @given(st.dictionaries(_PARAM_NAMES, _PARAM_VALUES, max_size=8), _ROUTES)
        def check(params: dict[str, str], route: tuple[str, str]) -> None:
            before = server.venue.depth("BTC-USD")
            r = server.signed(route[0], route[1], params, in_body=route[0] == "POST")
            assert r.status_code < 500, r.text
            if r.status_code >= 400:
                assert set(r.json()) == {"code", "msg"}
                assert server.venue.depth("BTC-USD") == before

        check()
