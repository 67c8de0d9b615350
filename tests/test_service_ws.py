"""The WebSocket API against a real server on 127.0.0.1 with a real client (websockets): book
snapshot then deltas with contiguous sequence numbers, trades, the key's own orders and fills,
and a slow client dropped without slowing the engine or the other clients."""

from __future__ import annotations

import asyncio
import json
import socket
import time
from decimal import Decimal
from typing import Any

import numpy as np
import pytest
from websockets.asyncio.client import ClientConnection, connect

from service_fixtures import (  # noqa: F401  (the fixture)
    Service,
    running_server,
    service,
    service_config,
    stalled_client,
)
from wintermute import batch
from wintermute.service.app import create_app
from wintermute.service.keys import demo_keys
from wintermute.service.settings import ServiceSettings
from wintermute.service.venue import Venue

D = Decimal


async def recv(ws: ClientConnection, timeout: float = 5.0) -> dict[str, Any]:
    msg: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout))
    return msg


async def until(ws: ClientConnection, kind: str) -> dict[str, Any]:
    while True:
        msg = await recv(ws)
        if msg["type"] == kind:
            return msg


def test_a_book_subscription_gets_a_snapshot_then_contiguous_deltas(service: Service) -> None:  # noqa: F811
    venue = service.venue

    async def scenario() -> None:
        await venue.place(1, "BTC-USD", "sell", "limit", D(1), D(101))
        async with connect(service.ws_url) as ws:
            await ws.send(json.dumps({"op": "subscribe", "channel": "book", "symbol": "BTC-USD"}))
            assert (await recv(ws))["type"] == "subscribed"
            snap = await recv(ws)
            assert (snap["type"], snap["asks"]) == ("book_snapshot", [["101.00", "1.000"]])
            seq = snap["seq"]
            book = {("ask", p): q for p, q in snap["asks"]}
            for price in ("99", "98", "97"):
                await venue.place(2, "BTC-USD", "buy", "limit", D(2), D(price))
            await venue.place(3, "BTC-USD", "sell", "limit", D(3), D(98))  # takes 99, then 98
            levels_seen = 0
            while levels_seen < 5:  # 3 new levels, then 99 gone and 98 less
                delta = await recv(ws)
                assert delta["type"] == "book_delta"
                assert delta["first_seq"] == seq + 1  # no gap
                seq = delta["seq"]
                for side, levels in (("bid", delta["bids"]), ("ask", delta["asks"])):
                    for p, q in levels:
                        book[(side, p)] = q
                levels_seen += len(delta["bids"]) + len(delta["asks"])
            live = {k: v for k, v in book.items() if v != "0.000"}
            depth = venue.depth("BTC-USD")
            assert sorted(live.items()) == sorted(
                [(("bid", format(p, "f")), format(q, "f")) for p, q in depth.bids]
                + [(("ask", format(p, "f")), format(q, "f")) for p, q in depth.asks]
            )
            assert seq == depth.seq
            # Subscribing again starts over with a fresh snapshot at the current sequence.
            await ws.send(json.dumps({"op": "subscribe", "channel": "book", "symbol": "BTC-USD"}))
            assert (await until(ws, "book_snapshot"))["seq"] == seq

    asyncio.run(scenario())


def test_trades_and_own_orders_stream_and_other_accounts_see_nothing(service: Service) -> None:  # noqa: F811
    venue = service.venue

    async def scenario() -> None:
        async with (
            connect(service.ws_url, additional_headers={"X-API-Key": "demo-key-1"}) as mine,
            connect(service.ws_url) as theirs,
            connect(service.ws_url) as public,
        ):
            await mine.send(json.dumps({"op": "subscribe", "channel": "orders"}))
            assert (await recv(mine))["type"] == "subscribed"
            await theirs.send(json.dumps({"op": "subscribe", "channel": "orders"}))
            assert (await recv(theirs))["code"] == "UNAUTHORIZED"
            await theirs.send(json.dumps({"op": "auth", "key": "demo-key-2"}))
            assert (await recv(theirs))["account"] == 2
            await theirs.send(json.dumps({"op": "subscribe", "channel": "orders"}))
            assert (await recv(theirs))["type"] == "subscribed"
            await public.send(
                json.dumps({"op": "subscribe", "channel": "trades", "symbol": "BTC-USD"})
            )
            assert (await recv(public))["type"] == "subscribed"
            ask = await venue.place(1, "BTC-USD", "sell", "limit", D(1), D(100))
            await venue.place(3, "BTC-USD", "buy", "limit", D("0.25"), D(100))
            new = (await until(mine, "order"))["order"]
            assert (new["order_id"], new["status"], new["queue_ahead"]) == (
                ask.order_id, "new", "0.000",
            )  # fmt: skip
            fill = (await until(mine, "fill"))["fill"]
            assert (fill["liquidity"], fill["qty"], fill["price"]) == ("maker", "0.250", "100.00")
            part = (await until(mine, "order"))["order"]
            assert (part["status"], part["filled_qty"]) == ("partially_filled", "0.250")
            trades = await until(public, "trades")
            assert [(t["qty"], t["taker_side"]) for t in trades["trades"]] == [("0.250", "buy")]
            await theirs.send(json.dumps({"op": "ping"}))
            assert (await recv(theirs))["type"] == "pong"  # nothing of account 1's came first

    asyncio.run(scenario())


def test_bad_messages_get_error_replies_and_the_connection_stays(service: Service) -> None:  # noqa: F811
    async def scenario() -> None:
        async with connect(service.ws_url) as ws:
            for bad in ("not json", "[1]", json.dumps({"op": "fly"}),
                        json.dumps({"op": "subscribe", "channel": "book", "symbol": "NOPE"}),
                        json.dumps({"op": "subscribe", "channel": "book", "symbol": "BTC-USD",
                                    "depth": 10**9})):  # fmt: skip
                await ws.send(bad)
                assert (await recv(ws))["type"] == "error"
            await ws.send(json.dumps({"op": "ping"}))
            assert (await recv(ws))["type"] == "pong"

    asyncio.run(scenario())


def _read_until_closed(sock: socket.socket) -> bool:
    """Reads what the server sent until it closes the connection; True if it did."""
    try:
        while sock.recv(1 << 20):
            pass
    except ConnectionResetError:
        pass
    finally:
        sock.close()
    return True


def _crossing_pairs(first_id: int, n: int) -> Any:
    """``n`` sells resting at 100.00 and ``n`` buys taking them: ``n`` trades."""
    ids = np.arange(first_id, first_id + 2 * n, dtype=np.uint64)
    sides = np.tile(np.array([batch.SELL, batch.BUY]), n)
    return batch.new_orders(order_id=ids, side=sides, price=10_000, qty=1_000, account=50)


@pytest.mark.slow
def test_a_slow_client_is_dropped_and_a_fast_one_gets_every_trade() -> None:
    config = service_config()
    config["gateways"] = {"count": 2}  # the test's bulk orders come through gateway 1
    settings = ServiceSettings(ws_buffer=20_000, rate_limit_per_s=10**6, rate_limit_burst=10**6)
    app = create_app(config, keys=demo_keys(), settings=settings)
    venue: Venue = app.state.venue
    sub = {"op": "subscribe", "channel": "trades", "symbol": "BTC-USD"}

    async def scenario(url: str) -> None:
        ws_url = url.replace("http", "ws") + "/ws"
        slow = stalled_client(url, sub)
        fast = await connect(ws_url, max_size=None)
        await fast.send(json.dumps(sub))
        assert (await recv(fast))["type"] == "subscribed"
        got: list[int] = []

        async def read_fast() -> None:
            while True:
                msg = await recv(fast, 30)
                got.extend(t["trade_id"] for t in msg.get("trades", ()))

        reader = asyncio.create_task(read_fast())
        await asyncio.sleep(0.2)  # the slow client's subscription is in place
        gw, sent, waves = venue.pipeline.gateway(1), 0, 0
        started = time.monotonic()
        while not app.state.ws_dropped["slow_consumer"] and waves < 60:
            gw.submit_batch(0, _crossing_pairs(10**12 + 2 * sent, 5000))
            sent += 5000
            waves += 1
            await asyncio.sleep(0.2)
        assert app.state.ws_dropped["slow_consumer"] == 1, f"not dropped after {sent} trades"
        deadline = time.monotonic() + 30
        while len(got) < sent and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        elapsed = time.monotonic() - started
        reader.cancel()
        assert got == list(range(1, sent + 1))  # every trade, in order, none twice
        slow.settimeout(10)
        assert _read_until_closed(slow), "the server closed the slow client's connection"
        await fast.close()
        print(
            f"slow client dropped after {sent} trades; fast client got them all in {elapsed:.1f}s"
        )

    try:
        with running_server(app) as url:
            asyncio.run(scenario(url))
    finally:
        venue.close()


def test_the_stats_channel_sends_engine_throughput_and_latency(service: Service) -> None:  # noqa: F811
    async def scenario() -> dict[str, Any]:
        async with connect(service.ws_url) as ws:
            await ws.send(json.dumps({"op": "subscribe", "channel": "stats"}))
            assert (await recv(ws))["type"] == "subscribed"
            await service.venue.place(1, "BTC-USD", "buy", "limit", D(1), D(100))
            for _ in range(5):  # the engine hands its measurements over once an interval
                stats = await until(ws, "stats")
                if stats["received"] >= 1:
                    return stats
            raise AssertionError("the stats never counted the command")

    stats = asyncio.run(asyncio.wait_for(scenario(), 20))
    assert stats["latency_ns"]["p50"] <= stats["latency_ns"]["p99"] <= stats["latency_ns"]["max"]
