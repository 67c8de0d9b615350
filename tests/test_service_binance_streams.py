"""The Binance-compatible market streams and user data stream, with real clients: raw
WebSockets, the project's own Binance book builder (crates/feeds through ``feeds.watch``), and
unmodified ccxt.pro's ``watch_order_book``, ``watch_trades`` and ``watch_orders``."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from decimal import Decimal
from typing import Any

import pytest
import websockets

from binance_server import KEYS, BinanceServer, ccxt_binance, ccxt_pro_binance, serve
from wintermute import feeds
from wintermute.service import binance

TIMEOUT_S = 10.0


@pytest.fixture
def server() -> Iterator[BinanceServer]:
    """A fresh venue behind the Binance-compatible API on 127.0.0.1."""
    with serve() as running:
        yield running


async def place(server: BinanceServer, account: int, side: str, qty: str, price: str) -> int:
    state = await server.venue.place(
        account, "BTC-USD", side, "limit", Decimal(qty), Decimal(price)
    )
    return state.order_id


async def recv_json(ws: Any) -> Any:
    return json.loads(await asyncio.wait_for(ws.recv(), TIMEOUT_S))


def test_diff_depth_events_chain_from_a_rest_snapshot_to_the_venues_book(
    server: BinanceServer,
) -> None:
    """Binance's local-book procedure, by hand: buffer the stream, take the snapshot, drop
    what it covers, check U/u chain, apply; the result is the venue's book."""
    import httpx

    async def main() -> None:
        await place(server, 2, "buy", "1", "99")
        async with websockets.connect(server.ws + "/ws/btcusd@depth@100ms") as ws:
            await asyncio.sleep(0.2)  # subscribed before the snapshot
            for i in range(5):
                await place(server, 2, "buy", "0.5", str(94 + i))
            snap = httpx.get(server.api + "/api/v3/depth?symbol=BTCUSD&limit=1000").json()
            await place(server, 2, "sell", "0.25", "101")
            await place(server, 1, "sell", "0.5", "99")  # trades the 99 bid down
            book = {
                "bids": {Decimal(p): Decimal(q) for p, q in snap["bids"]},
                "asks": {Decimal(p): Decimal(q) for p, q in snap["asks"]},
            }
            last = snap["lastUpdateId"]
            target = server.venue.depth("BTC-USD").seq
            applied = 0
            while last < target:
                event = await recv_json(ws)
                assert event["e"] == "depthUpdate"
                assert event["s"] == "BTCUSD"
                if event["u"] <= snap["lastUpdateId"]:
                    continue
                if applied == 0:
                    assert event["U"] <= snap["lastUpdateId"] + 1 <= event["u"]
                else:
                    assert event["U"] == last + 1
                for side, key in (("bids", "b"), ("asks", "a")):
                    for p, q in event[key]:
                        if Decimal(q) == 0:
                            book[side].pop(Decimal(p), None)
                        else:
                            book[side][Decimal(p)] = Decimal(q)
                last = event["u"]
                applied += 1
            venue = server.venue.depth("BTC-USD")
            assert sorted(book["bids"].items(), reverse=True) == venue.bids
            assert sorted(book["asks"].items()) == venue.asks
            assert venue.bids[0] == (Decimal("99"), Decimal("0.5"))

    asyncio.run(main())


def test_the_projects_binance_book_builder_syncs_to_our_venue(
    server: BinanceServer,
) -> None:
    """crates/feeds' Binance connector (snapshot + diff depth, sequence checks) against our
    server: no gaps or resyncs, and its top of book is the venue's."""

    async def trade_for_a_while() -> None:
        await place(server, 2, "buy", "1", "99")
        await place(server, 2, "sell", "1", "101")
        for i in range(30):
            await asyncio.sleep(0.05)
            await place(server, 2, "buy", "0.1", f"{98 - (i % 5)}")
            await place(server, 2, "sell", "0.1", f"{102 + (i % 5)}")

    import threading

    thread = threading.Thread(target=lambda: asyncio.run(trade_for_a_while()))
    thread.start()
    report = feeds.watch(
        "binance",
        ["BTCUSD"],
        ws_base=server.ws,
        rest_base=server.api,
        seconds=3.0,
        max_attempts=3,
    )
    thread.join(TIMEOUT_S)
    (stream,) = report["streams"]
    assert stream["symbol"] == "BTCUSD"
    assert stream["snapshots"] >= 1
    assert stream["updates"] > 0
    assert (stream["gaps"], stream["resyncs"], stream["crossed"], stream["errors"]) == (0, 0, 0, 0)
    venue = server.venue.depth("BTC-USD", 1)
    assert Decimal(stream["best_bid"] or "0") == venue.bids[0][0]
    assert Decimal(stream["best_ask"] or "0") == venue.asks[0][0]


def test_trade_and_book_ticker_streams_report_what_the_venue_did(
    server: BinanceServer,
) -> None:
    async def main() -> None:
        url = server.ws + "/stream?streams=btcusd@trade/btcusd@bookTicker/btcusd@aggTrade"
        async with websockets.connect(url) as ws:
            await asyncio.sleep(0.2)
            await place(server, 2, "sell", "0.4", "101")
            await place(server, 1, "buy", "0.1", "101")
            seen: dict[str, Any] = {}
            while {"btcusd@trade", "btcusd@aggTrade"} - set(seen) or "b" not in str(
                seen.get("btcusd@bookTicker")
            ):
                msg = await recv_json(ws)
                seen[msg["stream"]] = msg["data"]
            trade = seen["btcusd@trade"]
            tape = server.venue.trades("BTC-USD")[-1]
            assert (trade["e"], trade["s"], trade["t"]) == ("trade", "BTCUSD", tape.trade_id)
            assert (trade["p"], trade["q"], trade["m"]) == ("101.00000000", "0.10000000", False)
            assert seen["btcusd@aggTrade"]["a"] == tape.trade_id
            ticker = seen["btcusd@bookTicker"]
            assert (ticker["s"], ticker["a"]) == ("BTCUSD", "101.00000000")

    asyncio.run(main())


def test_partial_depth_streams_send_the_top_levels_when_the_book_changes(
    server: BinanceServer,
) -> None:
    async def main() -> None:
        async with websockets.connect(server.ws + "/ws/btcusd@depth5@100ms") as ws:
            await asyncio.sleep(0.2)
            for i in range(7):
                await place(server, 2, "buy", "0.1", str(90 + i))
            book = server.venue.depth("BTC-USD", 5)
            while True:
                top = await recv_json(ws)
                if top["lastUpdateId"] == book.seq:
                    break
            assert [Decimal(p) for p, _ in top["bids"]] == [p for p, _ in book.bids]
            assert len(top["bids"]) == 5
            assert top["asks"] == []

    asyncio.run(main())


def test_subscribe_unsubscribe_and_list_on_a_live_connection(server: BinanceServer) -> None:
    async def main() -> None:
        async with websockets.connect(server.ws + "/ws") as ws:
            await ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["btcusd@trade"], "id": 1}))
            assert await recv_json(ws) == {"result": None, "id": 1}
            await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 2}))
            assert await recv_json(ws) == {"result": ["btcusd@trade"], "id": 2}
            await ws.send(json.dumps({"method": "SUBSCRIBE", "params": ["nope@trade"], "id": 3}))
            reply = await recv_json(ws)
            assert (reply["id"], reply["error"]["code"]) == (3, 2)
            await ws.send(
                json.dumps({"method": "UNSUBSCRIBE", "params": ["btcusd@trade"], "id": 4})
            )
            assert await recv_json(ws) == {"result": None, "id": 4}
            await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 5}))
            assert await recv_json(ws) == {"result": [], "id": 5}

    asyncio.run(main())


def test_a_connection_holds_at_most_max_streams(
    server: BinanceServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wintermute.service.binance import streams

    monkeypatch.setattr(streams, "MAX_STREAMS", 2)

    async def main() -> None:
        async with websockets.connect(server.ws + "/ws/btcusd@trade") as ws:
            two = {"method": "SUBSCRIBE", "params": ["btcusd@trade", "ethusd@trade"], "id": 1}
            await ws.send(json.dumps(two))
            assert await recv_json(ws) == {"result": None, "id": 1}
            three = {"method": "SUBSCRIBE", "params": ["btcusd@bookTicker"], "id": 2}
            await ws.send(json.dumps(three))
            reply = await recv_json(ws)
            assert (reply["id"], reply["error"]["code"]) == (2, 2)
            await ws.send(json.dumps({"method": "LIST_SUBSCRIPTIONS", "id": 3}))
            assert await recv_json(ws) == {"result": ["btcusd@trade", "ethusd@trade"], "id": 3}

    asyncio.run(main())


@pytest.fixture
def require_ccxt(require: Any) -> None:
    require("ccxt")


@pytest.mark.usefixtures("require_ccxt")
def test_ccxt_pro_watches_the_order_book_and_trades(server: BinanceServer) -> None:
    async def main() -> None:
        await place(server, 2, "buy", "1", "99")
        await place(server, 2, "sell", "0.5", "101")
        ex = ccxt_pro_binance(server)
        try:
            book = await asyncio.wait_for(ex.watch_order_book("BTC/USD"), TIMEOUT_S)
            assert (book["bids"][:1], book["asks"][:1]) == ([[99.0, 1.0]], [[101.0, 0.5]])
            await place(server, 2, "buy", "0.3", "100")
            while book["bids"][0] != [100.0, 0.3]:
                book = await asyncio.wait_for(ex.watch_order_book("BTC/USD"), TIMEOUT_S)
            assert book["nonce"] == server.venue.depth("BTC-USD").seq

            watching = asyncio.ensure_future(ex.watch_trades("BTC/USD"))
            await asyncio.sleep(0.3)
            await place(server, 1, "sell", "0.2", "100")
            trades = await asyncio.wait_for(watching, TIMEOUT_S)
            assert [(t["price"], t["amount"], t["side"]) for t in trades] == [(100.0, 0.2, "sell")]
        finally:
            await ex.close()

    asyncio.run(main())


@pytest.mark.usefixtures("require_ccxt")
def test_ccxt_pro_watches_its_orders_through_the_user_data_stream(
    server: BinanceServer,
) -> None:
    async def main() -> None:
        ex = ccxt_pro_binance(server)
        try:
            await ex.load_markets()
            watching = asyncio.ensure_future(ex.watch_orders("BTC/USD"))
            await asyncio.sleep(0.5)
            placed = await ex.create_order("BTC/USD", "limit", "buy", 0.5, 99)
            orders = await asyncio.wait_for(watching, TIMEOUT_S)
            assert [(o["id"], o["status"], o["filled"]) for o in orders] == [
                (placed["id"], "open", 0.0)
            ]
            watching = asyncio.ensure_future(ex.watch_orders("BTC/USD"))
            await asyncio.sleep(0.1)
            await place(server, 2, "sell", "0.2", "99")  # fills 0.2 of it
            orders = await asyncio.wait_for(watching, TIMEOUT_S)
            assert [(o["id"], o["status"], o["filled"]) for o in orders] == [
                (placed["id"], "open", 0.2)
            ]
            watching = asyncio.ensure_future(ex.watch_orders("BTC/USD"))
            await asyncio.sleep(0.1)
            await ex.cancel_order(placed["id"], "BTC/USD")
            orders = await asyncio.wait_for(watching, TIMEOUT_S)
            assert [(o["id"], o["status"], o["filled"]) for o in orders] == [
                (placed["id"], "canceled", 0.2)
            ]
        finally:
            await ex.close()

    asyncio.run(main())


class _Outlet:
    """Records what a feed pushes (in place of a connection's outlet)."""

    def __init__(self) -> None:
        self.frames: list[Any] = []

    def push(self, frame: Any) -> None:
        self.frames.append(frame)


def test_a_stream_encodes_each_event_once_for_all_its_connections(
    server: BinanceServer,
) -> None:
    """One feed per stream name: every raw connection gets the same frame object, every
    ``/stream`` connection the same wrapping of it; the feed (and its venue subscription)
    stops with its last connection."""
    from wintermute.service.binance import BinanceApi, streams

    async def main() -> None:
        hub = streams.StreamHub(BinanceApi(server.venue, KEYS))
        stream = streams.parse_stream(hub.api, "btcusd@trade")
        assert stream is not None
        raw1, raw2, wrapped1, wrapped2 = _Outlet(), _Outlet(), _Outlet(), _Outlet()
        feed = hub.join(stream, raw1, False)  # type: ignore[arg-type]
        for outlet, combined in ((raw2, False), (wrapped1, True), (wrapped2, True)):
            assert hub.join(stream, outlet, combined) is feed  # type: ignore[arg-type]
        feed.emit({"e": "trade", "p": "101.00000000"})
        (a,), (b,), (c,), (d,) = (o.frames for o in (raw1, raw2, wrapped1, wrapped2))
        assert a is b
        assert c is d
        assert json.loads(a.text) == {"e": "trade", "p": "101.00000000"}
        assert json.loads(c.text) == {"stream": "btcusd@trade", "data": json.loads(a.text)}
        assert a.key is None  # trades are sequenced, never conflated
        for outlet in (raw1, raw2, wrapped1, wrapped2):
            feed.leave(outlet)  # type: ignore[arg-type]
        assert hub.feeds == {}
        await asyncio.sleep(0)
        assert feed._task.cancelled() or feed._task.done()

    asyncio.run(main())


def test_a_book_ticker_joiner_gets_the_newest_state_at_once(server: BinanceServer) -> None:
    """State streams (bookTicker, partial depth) are conflated per stream, and a connection
    that joins a running one gets its newest event without waiting for the next change."""

    async def main() -> None:
        await place(server, 2, "buy", "1", "99")
        async with websockets.connect(server.ws + "/ws/btcusd@bookTicker") as first:
            await asyncio.sleep(0.2)
            await place(server, 2, "sell", "1", "101")
            ticker = await recv_json(first)
            while ticker["a"] != "101.00000000":
                ticker = await recv_json(first)
            async with websockets.connect(server.ws + "/stream?streams=btcusd@bookTicker") as late:
                joined = await recv_json(late)
            assert joined == {"stream": "btcusd@bookTicker", "data": ticker}

    asyncio.run(main())


def _crossing_pairs(first_id: int, pairs: int) -> Any:
    """``pairs`` resting buys of 1 lot at 10000 ticks (account 50), each taken by a sell of
    account 51: one trade per pair."""
    import numpy as np

    from wintermute import batch

    n = 2 * pairs
    return batch.new_orders(
        order_id=np.arange(first_id, first_id + n, dtype=np.uint64),
        side=np.where(np.arange(n) % 2 == 0, batch.BUY, batch.SELL),
        price=10_000,
        qty=1,
        account=np.where(np.arange(n) % 2 == 0, 50, 51),
    )


def test_a_stalled_stream_client_is_dropped_and_the_others_get_every_trade() -> None:
    """Through the service's outlet: a client of ``btcusd@trade`` that never reads is closed
    with 1008 ``slow_consumer`` once it leaves ``ws_buffer`` trades unsent, while a raw and a
    combined client of the same stream get every trade, in order."""
    import contextlib

    from service_fixtures import running_server, service_config, stalled_client
    from wintermute.service.app import create_app
    from wintermute.service.settings import ServiceSettings

    config = service_config()
    config["gateways"] = {"count": 2}
    settings = ServiceSettings(ws_buffer=1000, ws_send_timeout_s=60, ws_send_buffer_bytes=16384)
    app = create_app(config, keys=KEYS, settings=settings)
    venue = app.state.venue
    dropped = app.state.ws_dropped

    async def follow(ws: Any, ids: list[int], combined: bool) -> None:
        with contextlib.suppress(websockets.ConnectionClosed):
            async for text in ws:
                msg = json.loads(text)
                ids.append((msg["data"] if combined else msg)["t"])

    async def main(url: str) -> None:
        base = url.replace("http://", "ws://", 1) + binance.PREFIX
        raw_ids: list[int] = []
        wrapped_ids: list[int] = []
        async with (
            websockets.connect(base + "/ws/btcusd@trade", max_size=None) as raw,
            websockets.connect(base + "/stream?streams=btcusd@trade", max_size=None) as wrapped,
        ):
            readers = [
                asyncio.create_task(follow(raw, raw_ids, False)),
                asyncio.create_task(follow(wrapped, wrapped_ids, True)),
            ]
            path = binance.PREFIX + "/ws/btcusd@trade"
            with contextlib.closing(stalled_client(url, path=path)):
                await asyncio.sleep(0.3)
                gateway, pairs = venue.pipeline.gateway(1), 0
                while not dropped["slow_consumer"] and pairs < 20_000:
                    gateway.submit_batch(0, _crossing_pairs(10**9 + 2 * pairs, 100))
                    pairs += 100
                    await asyncio.sleep(0.05)
                assert dict(dropped) == {"slow_consumer": 1}, f"after {pairs} trades"
                deadline = time.monotonic() + 30
                while min(len(raw_ids), len(wrapped_ids)) < pairs:
                    assert time.monotonic() < deadline, (len(raw_ids), len(wrapped_ids), pairs)
                    await asyncio.sleep(0.05)
                assert raw_ids == wrapped_ids
                assert len(raw_ids) == pairs
                assert raw_ids == list(range(raw_ids[0], raw_ids[0] + pairs))  # none missing
                tape = [t.trade_id for t in venue.trades("BTC-USD", pairs)]  # its newest
                assert raw_ids[-len(tape) :] == tape
            for task in readers:
                task.cancel()

    try:
        with running_server(app) as url:
            asyncio.run(asyncio.wait_for(main(url), 120))
    finally:
        venue.close()


def test_every_url_a_guarded_ccxt_client_uses_must_be_the_local_server(
    server: BinanceServer,
) -> None:
    ex = ccxt_binance(server)
    ex.urls["api"]["public"] = "https://api.binance.com/api/v3"
    with pytest.raises(AssertionError, match="ccxt tried to reach"):
        ex.fetch_time()
