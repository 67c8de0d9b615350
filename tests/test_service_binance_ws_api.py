"""The Binance-compatible WebSocket API (``/ws-api/v3``) with a raw WebSocket client: signed
user-data subscriptions, logon sessions, Binance's error codes, and the executionReport /
outboundAccountPosition events an account's orders produce."""

from __future__ import annotations

import asyncio
import base64
import json
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import websockets
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from binance_server import _ED_KEY, HMAC_SECRET, BinanceServer, now_ms, serve
from wintermute.service.binance import signing

TIMEOUT_S = 10.0


@pytest.fixture
def server() -> Iterator[BinanceServer]:
    """A fresh venue behind the Binance-compatible API on 127.0.0.1."""
    with serve() as running:
        yield running


def hmac_params(key: str = "bn-hmac-1", secret: str = HMAC_SECRET, **extra: Any) -> dict[str, Any]:
    params: dict[str, Any] = {"apiKey": key, "timestamp": now_ms(), **extra}
    params["signature"] = signing.hmac_signature(secret, signing.ws_payload(params))
    return params


def ed_params(private: Ed25519PrivateKey, key: str = "bn-ed-1") -> dict[str, Any]:
    params: dict[str, Any] = {"apiKey": key, "timestamp": now_ms()}
    params["signature"] = base64.b64encode(private.sign(signing.ws_payload(params))).decode()
    return params


async def call(ws: Any, request_id: str, method: str, params: dict[str, Any]) -> Any:
    await ws.send(json.dumps({"id": request_id, "method": method, "params": params}))
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT_S))
        if msg.get("id") == request_id:
            return msg


async def next_event(ws: Any, kind: str) -> dict[str, Any]:
    while True:
        msg = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT_S))
        if "event" in msg and msg["event"]["e"] == kind:
            event: dict[str, Any] = msg["event"]
            return event


def test_a_signed_subscription_streams_the_accounts_order_lifecycle(
    server: BinanceServer,
) -> None:
    async def main() -> None:
        async with websockets.connect(server.ws + "/ws-api/v3") as ws:
            reply = await call(ws, "s1", "userDataStream.subscribe.signature", hmac_params())
            assert (reply["status"], reply["result"]) == (200, {"subscriptionId": 0})
            assert reply["rateLimits"][0]["rateLimitType"] == "REQUEST_WEIGHT"
            mine = await server.venue.place(
                1, "BTC-USD", "buy", "limit", Decimal("1"), Decimal("99"), client_order_id="ws-1"
            )
            new = await next_event(ws, "executionReport")
            assert (new["x"], new["X"], new["i"], new["c"], new["s"]) == (
                "NEW",
                "NEW",
                mine.order_id,
                "ws-1",
                "BTCUSD",
            )
            position = await next_event(ws, "outboundAccountPosition")
            usd = next(b for b in position["B"] if b["a"] == "USD")
            assert usd["l"] == "99.00000000"
            await server.venue.place(2, "BTC-USD", "sell", "limit", Decimal("0.4"), Decimal("99"))
            trade = await next_event(ws, "executionReport")
            assert (trade["x"], trade["X"], trade["l"], trade["L"], trade["z"], trade["m"]) == (
                "TRADE",
                "PARTIALLY_FILLED",
                "0.40000000",
                "99.00000000",
                "0.40000000",
                True,
            )
            assert trade["t"] == server.venue.trades("BTC-USD")[-1].trade_id
            await server.venue.cancel(1, "BTC-USD", order_id=mine.order_id)
            done = await next_event(ws, "executionReport")
            assert (done["x"], done["X"], done["z"]) == ("CANCELED", "CANCELED", "0.40000000")

    asyncio.run(main())


def test_another_accounts_orders_never_reach_the_stream(server: BinanceServer) -> None:
    async def main() -> None:
        async with websockets.connect(server.ws + "/ws-api/v3") as ws:
            await call(ws, "s1", "userDataStream.subscribe.signature", hmac_params())
            await server.venue.place(2, "BTC-USD", "buy", "limit", Decimal("1"), Decimal("90"))
            mine = await server.venue.place(
                1, "BTC-USD", "buy", "limit", Decimal("1"), Decimal("91")
            )
            first = await next_event(ws, "executionReport")
            assert first["i"] == mine.order_id

    asyncio.run(main())


def test_logon_with_an_ed25519_key_then_subscribe_then_unsubscribe(server: BinanceServer) -> None:
    async def main() -> None:
        async with websockets.connect(server.ws + "/ws-api/v3") as ws:
            refused = await call(ws, "u0", "userDataStream.subscribe", {})
            assert (refused["status"], refused["error"]["code"]) == (401, -1002)
            logon = await call(ws, "l1", "session.logon", ed_params(_ED_KEY))
            assert logon["status"] == 200
            assert logon["result"]["apiKey"] == "bn-ed-1"
            sub = await call(ws, "u1", "userDataStream.subscribe", {})
            assert sub["result"] == {"subscriptionId": 0}
            listed = await call(ws, "l2", "session.subscriptions", {})
            assert listed["result"] == [{"subscriptionId": 0}]
            gone = await call(ws, "u2", "userDataStream.unsubscribe", {"subscriptionId": 0})
            assert gone["status"] == 200
            listed = await call(ws, "l3", "session.subscriptions", {})
            assert listed["result"] == []

    asyncio.run(main())


@pytest.mark.parametrize(
    ("params", "code"),
    [
        (lambda: hmac_params(secret="wrong"), -1022),
        (lambda: hmac_params(key="nobody"), -2015),
        (lambda: {**hmac_params(), "recvWindow": 6000}, -1022),  # added after signing
        (lambda: hmac_params(timestamp=now_ms() - 10_000), -1021),
        (lambda: ed_params(Ed25519PrivateKey.generate()), -1022),
        (lambda: {"apiKey": "bn-hmac-1", "timestamp": now_ms()}, -1102),
    ],
    ids=["wrong-secret", "unknown-key", "tampered", "stale", "other-ed25519-key", "unsigned"],
)
def test_bad_signed_subscriptions_get_binances_codes(
    server: BinanceServer, params: Any, code: int
) -> None:
    async def main() -> None:
        async with websockets.connect(server.ws + "/ws-api/v3") as ws:
            reply = await call(ws, "x", "userDataStream.subscribe.signature", params())
            assert reply["error"]["code"] == code
            assert reply["status"] in (400, 401)
            listed = await call(ws, "y", "session.subscriptions", {})
            assert listed["result"] == []

    asyncio.run(main())


def test_unknown_methods_and_malformed_frames_are_answered_not_dropped(
    server: BinanceServer,
) -> None:
    async def main() -> None:
        async with websockets.connect(server.ws + "/ws-api/v3") as ws:
            reply = await call(ws, "m", "order.place", {})
            assert reply["error"]["code"] == -1020
            await ws.send("{not json")
            bad = json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT_S))
            assert (bad["id"], bad["status"]) == (None, 400)
            pong = await call(ws, "p", "ping", {})
            assert (pong["status"], pong["result"]) == (200, {})
            t = await call(ws, "t", "time", {})
            assert abs(t["result"]["serverTime"] - now_ms()) < 5000

    asyncio.run(main())


def test_an_order_filled_on_arrival_is_reported_new_then_one_trade_per_fill() -> None:
    from binance_server import KEYS
    from service_fixtures import service_config
    from wintermute.service.binance.context import BinanceApi
    from wintermute.service.binance.ws_api import AccountReports
    from wintermute.service.settings import split_config
    from wintermute.service.venue import OrderState, Venue

    engine_doc, settings = split_config(service_config())
    with Venue(engine_doc, settings) as venue:
        reports = AccountReports(BinanceApi(venue, KEYS), 1)

        async def main() -> list[dict[str, Any]]:
            sub = venue.subscribe("account:1")
            for price in ("101", "102"):
                await venue.place(2, "BTC-USD", "sell", "limit", Decimal("0.3"), Decimal(price))
            taker = await venue.place(1, "BTC-USD", "buy", "market", Decimal("0.5"))
            assert taker.status == "filled"
            events: list[dict[str, Any]] = []
            done = False
            while not done:
                for item in await asyncio.wait_for(sub.next_batch(), TIMEOUT_S):
                    events += reports.events(item)
                    done = done or (isinstance(item, OrderState) and item.status == "filled")
            sub.close()
            return events

        events = asyncio.run(main())
    execs = [
        (e["x"], e["X"], e["l"], e["L"], e["z"]) for e in events if e["e"] == "executionReport"
    ]
    assert execs == [
        ("NEW", "NEW", "0.00000000", "0.00000000", "0.00000000"),
        ("TRADE", "PARTIALLY_FILLED", "0.30000000", "101.00000000", "0.30000000"),
        ("TRADE", "FILLED", "0.20000000", "102.00000000", "0.50000000"),
    ]
    after_trades = [events[i + 1]["e"] for i, e in enumerate(events) if e.get("x") == "TRADE"]
    assert after_trades == ["outboundAccountPosition"] * 2
