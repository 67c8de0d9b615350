"""Slow WebSocket clients against a real server on 127.0.0.1, with real clients: a client that
never reads is disconnected (sequenced channels) or conflated then timed out (conflated ones)
with the documented reason, within a bounded time, while a fast client on the same topics gets
every message in sequence and order entry keeps its pace; a dropped book client resyncs from a
fresh snapshot; garbage gets clear errors."""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import statistics
import time
from collections.abc import Awaitable, Callable, Mapping
from decimal import Decimal
from typing import Any

import httpx
import numpy as np
import numpy.typing as npt
from fastapi import FastAPI
from websockets.asyncio.client import ClientConnection, connect
from websockets.exceptions import ConnectionClosed

from service_fixtures import (  # noqa: F401  (the fixture)
    Service,
    running_server,
    service,
    service_config,
    stalled_client,
    tcp_state,
)
from wintermute import batch
from wintermute.service.app import create_app
from wintermute.service.keys import demo_keys
from wintermute.service.settings import ServiceSettings
from wintermute.service.venue import Venue
from wintermute.service.ws.protocol import CLOSE_GRACE_S

BTC = "BTC-USD"
BOOK = {"op": "subscribe", "channel": "book", "symbol": BTC, "depth": 5000}
BBO = {"op": "subscribe", "channel": "bbo", "symbol": BTC}
TRADES = {"op": "subscribe", "channel": "trades", "symbol": BTC}
#: The account of the bulk orders (sent through the engine's second gateway).
BULK_ACCOUNT = 50


def _app(**settings: Any) -> FastAPI:
    config = service_config()
    config["gateways"] = {"count": 2}  # the tests' bulk orders come through gateway 1
    s = ServiceSettings(
        rate_limit_per_s=10**6, rate_limit_burst=10**6, ws_send_buffer_bytes=16384, **settings
    )
    return create_app(config, keys=demo_keys(), settings=s)


def _serve(app: FastAPI, scenario: Callable[[str], Awaitable[None]]) -> None:
    venue: Venue = app.state.venue
    try:
        with running_server(app) as url:
            asyncio.run(asyncio.wait_for(scenario(url), 120))
    finally:
        venue.close()


def _ws(url: str) -> str:
    return url.replace("http://", "ws://", 1) + "/ws"


def _bids(first_id: int, prices: npt.ArrayLike) -> Any:
    """Resting buys of 1 lot at ``prices`` (ticks), ids from ``first_id``: one book update
    each."""
    p = np.asarray(prices, dtype=np.int64)
    ids = np.arange(first_id, first_id + len(p), dtype=np.uint64)
    return batch.new_orders(order_id=ids, side=batch.BUY, price=p, qty=1, account=BULK_ACCOUNT)


async def _move_the_top(venue: Venue, changes: int, first_id: int = 10**9) -> None:
    """``changes`` resting buys, each better than the last (each one moves the best bid),
    paced a few at a time: a steady stream of ``bbo`` changes, not one burst."""
    gateway = venue.pipeline.gateway(1)
    for i in range(0, changes, 5):
        gateway.submit_batch(0, _bids(first_id + i, 10_000 + i + np.arange(5)))
        await asyncio.sleep(0.001)


async def _recv(ws: ClientConnection, timeout: float = 10.0) -> dict[str, Any]:
    msg: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout))
    return msg


async def _lazy_client(url: str, *subscribe: dict[str, Any]) -> ClientConnection:
    """A websockets client that reads only when the test calls ``recv``: a small kernel
    receive buffer and a small library queue (past it the library stops reading the socket)."""
    host, port = url.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.connect((host, int(port)))
    sock.setblocking(False)
    ws = await connect(_ws(url), sock=sock, max_queue=4, max_size=None)
    for message in subscribe:
        await ws.send(json.dumps(message))
    return ws


class BookReader:
    """A fast client's view of the book: the snapshot, then every delta, each checked to
    follow the last (``first_seq == seq + 1``)."""

    def __init__(self) -> None:
        self.seq: int | None = None
        self.levels: dict[tuple[str, str], str] = {}
        self.deltas = 0
        self.gaps = 0
        self.trades: list[int] = []

    def take(self, msg: dict[str, Any]) -> None:
        kind = msg["type"]
        if kind == "book_snapshot":
            self.seq, self.levels = msg["seq"], {}
            self._apply(msg)
        elif kind == "book_delta":
            assert self.seq is not None, "a delta before the snapshot"
            self.gaps += msg["first_seq"] != self.seq + 1
            self.seq = msg["seq"]
            self.deltas += 1
            self._apply(msg)
        elif kind == "trades":
            self.trades.extend(t["trade_id"] for t in msg["trades"])
        else:
            assert kind in ("subscribed", "bbo"), msg

    def _apply(self, msg: dict[str, Any]) -> None:
        for side in ("bids", "asks"):
            for price, qty in msg[side]:
                if Decimal(qty):
                    self.levels[(side, price)] = qty
                else:
                    self.levels.pop((side, price), None)

    def at(self, seq: int, venue: Venue) -> bool:
        """The reader is at ``seq``, and its book is the venue's."""
        return self.seq == seq and self.matches(venue)

    def matches(self, venue: Venue) -> bool:
        depth = venue.depth(BTC, 10**6)
        want = {("bids", format(p, "f")): format(q, "f") for p, q in depth.bids}
        want.update({("asks", format(p, "f")): format(q, "f") for p, q in depth.asks})
        return self.seq == depth.seq and self.levels == want

    async def follow(self, ws: ClientConnection) -> ConnectionClosed:
        """Reads ``ws`` until it closes; how it closed."""
        try:
            while True:
                self.take(json.loads(await ws.recv()))
        except ConnectionClosed as e:
            return e


async def _until(check: Callable[[], bool], timeout: float, what: str) -> float:
    """Waits for ``check``; the seconds it took. Fails after ``timeout``."""
    started = time.monotonic()
    while not check():
        if time.monotonic() - started > timeout:
            raise AssertionError(f"{what}: not within {timeout}s")
        await asyncio.sleep(0.02)
    return time.monotonic() - started


async def _flood_the_book(venue: Venue, dropped: Mapping[str, int]) -> tuple[int, float]:
    """Bids 500 at a time (one book update each) until a client is dropped as a slow consumer,
    for at most 30 s: how many were sent, and the seconds it took."""
    gateway, sent = venue.pipeline.gateway(1), 0
    started = time.monotonic()
    while not dropped["slow_consumer"] and time.monotonic() - started < 30:
        gateway.submit_batch(0, _bids(10**9 + sent, 9000 + np.arange(500) % 300))
        sent += 500
        await asyncio.sleep(0.05)
    return sent, time.monotonic() - started


async def _fast_client(url: str, *subscribe: dict[str, Any]) -> ClientConnection:
    fast = await connect(_ws(url), max_size=None)
    for message in subscribe:
        await fast.send(json.dumps(message))
    return fast


def test_a_client_that_never_reads_the_book_is_disconnected_and_a_fast_one_misses_nothing() -> None:
    app = _app(ws_buffer=500, ws_send_timeout_s=60)
    venue: Venue = app.state.venue
    dropped = app.state.ws_dropped

    async def scenario(url: str) -> None:
        fast = await _fast_client(url, BOOK, TRADES)
        reader = BookReader()
        following = asyncio.create_task(reader.follow(fast))
        with contextlib.closing(stalled_client(url, BOOK, TRADES)) as slow:
            await asyncio.sleep(0.3)  # its subscriptions are in place
            sent, took = await _flood_the_book(venue, dropped)
            assert dict(dropped) == {"slow_consumer": 1}, f"after {sent} book updates"
            print(f"a client that never read the book was dropped after {took:.1f}s")
            # The fast client gets every update, in sequence, up to the venue's book.
            await _until(lambda: reader.at(sent, venue), 30, "the fast client's book")
            assert (reader.gaps, reader.deltas) == (0, sent)
            # The slow client never read: its connection is gone anyway within the close's
            # bounds (the close frame could not leave; the connection was aborted).
            await _until(lambda: tcp_state(slow) != "established", 2 * CLOSE_GRACE_S + 3, "abort")
        await fast.close()
        await following

    _serve(app, scenario)


def test_a_dropped_book_client_gets_the_reason_and_resyncs_from_a_fresh_snapshot() -> None:
    app = _app(ws_buffer=200, ws_send_timeout_s=60)
    venue: Venue = app.state.venue
    dropped = app.state.ws_dropped

    async def scenario(url: str) -> None:
        lazy = await _lazy_client(url, BOOK)
        assert (await _recv(lazy))["type"] == "subscribed"
        before = BookReader()
        before.take(await _recv(lazy))  # the snapshot; then it stops reading
        sent, _ = await _flood_the_book(venue, dropped)
        assert dropped["slow_consumer"] == 1
        # Reading again: what the server had sent, in sequence, then the close and its reason.
        closed = await asyncio.wait_for(before.follow(lazy), 10)
        assert closed.rcvd is not None
        assert (closed.rcvd.code, closed.rcvd.reason) == (1008, "slow_consumer")
        assert before.gaps == 0
        assert 0 < before.deltas < sent
        # Subscribing again: a fresh snapshot, and updates that follow it.
        again = BookReader()
        fresh = await _fast_client(url, BOOK)
        following = asyncio.create_task(again.follow(fresh))
        await _until(lambda: again.seq is not None, 10, "the fresh snapshot")
        assert again.seq is not None
        target = again.seq + 100  # one update per order
        venue.pipeline.gateway(1).submit_batch(0, _bids(2 * 10**9, 9500 + np.arange(100)))
        await _until(lambda: again.at(target, venue), 30, "the resubscribed book")
        assert again.gaps == 0
        assert again.deltas > 0
        await fresh.close()
        await following

    _serve(app, scenario)


def test_a_client_behind_on_the_bbo_is_conflated_to_the_newest_and_not_dropped() -> None:
    app = _app(ws_buffer=100, ws_send_timeout_s=60)
    venue: Venue = app.state.venue

    async def scenario(url: str) -> None:
        fast = await _fast_client(url, BBO)
        fast_bbo: list[dict[str, Any]] = []

        async def follow() -> None:
            try:
                while True:
                    msg = json.loads(await fast.recv())
                    if msg["type"] == "bbo":
                        fast_bbo.append(msg)
            except ConnectionClosed:
                return

        following = asyncio.create_task(follow())
        lazy = await _lazy_client(url, BBO)
        assert (await _recv(lazy))["type"] == "subscribed"
        changes, start = 15_000, venue.depth(BTC, 1).seq
        await _move_the_top(venue, changes)
        # The engine takes the orders asynchronously: the newest top is the one after the last
        # of them (each one is a book update), not whatever the book shows when they are sent.
        await _until(lambda: venue.depth(BTC, 1).seq == start + changes, 30, "the last order")
        best = venue.depth(BTC, 1).bids[0]
        newest = [format(best[0], "f"), format(best[1], "f")]
        await _until(lambda: bool(fast_bbo) and fast_bbo[-1]["bid"] == newest, 30, "fast bbo")
        # The lazy client reads now: a bounded backlog, then the newest top of the book.
        slow_bbo: list[dict[str, Any]] = []
        while not slow_bbo or slow_bbo[-1]["bid"] != newest:
            slow_bbo.append(await _recv(lazy, 10))
        assert all(m["type"] == "bbo" for m in slow_bbo)
        seqs = [m["seq"] for m in slow_bbo]
        assert seqs == sorted(seqs)  # newer states only, in order
        # Conflated: of the ``changes`` tops published while it was behind, the lazy client got
        # its buffers' worth and the newest, not all of them. (The fast client is no measure:
        # it reads in this process, so under load its own outlet conflates too.)
        print(f"a lazy bbo client read {len(slow_bbo)} of {changes} tops (fast: {len(fast_bbo)})")
        assert len(slow_bbo) < changes / 2, (len(slow_bbo), len(fast_bbo))
        assert dict(app.state.ws_dropped) == {}  # conflated, never disconnected
        await lazy.close()
        await fast.close()
        await following

    _serve(app, scenario)


def test_a_client_that_never_reads_the_bbo_is_closed_at_the_send_deadline() -> None:
    app = _app(ws_buffer=100, ws_send_timeout_s=1.0)
    venue: Venue = app.state.venue
    dropped = app.state.ws_dropped

    async def scenario(url: str) -> None:
        with contextlib.closing(stalled_client(url, BBO)) as slow:
            await asyncio.sleep(0.3)
            moving = asyncio.create_task(_move_the_top(venue, 100_000))
            took = await _until(lambda: bool(dropped["send_timeout"]), 30, "send_timeout")
            moving.cancel()
            print(f"a client that never read the bbo was closed after {took:.1f}s")
            assert dict(dropped) == {"send_timeout": 1}
            await _until(lambda: tcp_state(slow) != "established", 2 * CLOSE_GRACE_S + 3, "abort")

    _serve(app, scenario)


#: Rounds of order entry without and with stalled clients, and the round trips of each.
ROUNDS, ROUND_TRIPS = 3, 100


def _round_trips(url: str, n: int) -> list[float]:
    """``n`` place + cancel round trips over REST; each one's seconds."""
    key = {"X-API-Key": "demo-key-1"}
    order = {"symbol": BTC, "side": "buy", "qty": "0.001", "price": "95.00"}
    took = []
    with httpx.Client(base_url=url, headers=key, timeout=10) as client:
        for _ in range(n):
            t0 = time.perf_counter()
            placed = client.post("/api/orders", json=order)
            assert placed.status_code == 201, placed.text
            canceled = client.delete(f"/api/orders/{placed.json()['order_id']}")
            assert canceled.status_code == 200, canceled.text
            took.append(time.perf_counter() - t0)
    return took


def test_stalled_clients_do_not_slow_order_entry_or_the_fast_client() -> None:
    app = _app(ws_buffer=100_000, ws_send_timeout_s=60)
    venue: Venue = app.state.venue
    gateway = venue.pipeline.gateway(1)

    async def scenario(url: str) -> None:
        fast = await _fast_client(url, BOOK, BBO)
        reader = BookReader()
        following = asyncio.create_task(reader.follow(fast))
        # Rounds of order entry without, then with, 10 stalled clients: the two are measured
        # in turns over the same stretch of time, so that a machine busy with other work
        # slows both alike (one measure after the other compares two different loads).
        baseline: list[float] = []
        with_stalled: list[float] = []
        for round_ in range(ROUNDS):
            baseline += await asyncio.to_thread(_round_trips, url, ROUND_TRIPS)
            with contextlib.ExitStack() as stack:
                for _ in range(10):
                    stack.enter_context(contextlib.closing(stalled_client(url, BOOK, BBO, TRADES)))
                await asyncio.sleep(0.3)
                # Fill their sockets: from here on every update queues for them, unsent.
                first = 10**9 + round_ * 5000
                gateway.submit_batch(0, _bids(first, 9000 + np.arange(5000) % 300))
                await _until(lambda: reader.matches(venue), 30, "the fast client after the burst")
                with_stalled += await asyncio.to_thread(_round_trips, url, ROUND_TRIPS)
                await _until(lambda: reader.matches(venue), 30, "the fast client after the orders")
                assert dict(app.state.ws_dropped) == {}  # still connected, still behind
        assert reader.gaps == 0
        ratio = statistics.median(with_stalled) / statistics.median(baseline)
        print(f"REST place + cancel, median with 10 stalled clients / without: {ratio:.2f}")
        assert ratio < 3.0
        await fast.close()
        await following

    _serve(app, scenario)


def test_garbage_gets_a_clear_error_and_the_connection_stays(service: Service) -> None:  # noqa: F811
    cases: list[tuple[str | bytes, str, str]] = [
        ("not json", "INVALID_REQUEST", "not JSON"),
        (b"\x00\x01binary", "INVALID_REQUEST", "binary"),
        ("[1, 2]", "INVALID_REQUEST", "not list"),
        ("x" * 5000, "INVALID_REQUEST", "at most 4096"),
        (json.dumps({"op": "fly"}), "INVALID_REQUEST", "op='fly'"),
        (json.dumps({"op": "subscribe", "channel": "candles"}), "INVALID_REQUEST", "candles"),
        (json.dumps({"op": "subscribe", "channel": "book"}), "INVALID_REQUEST", "symbol"),
        (json.dumps({**BOOK, "depth": "10"}), "INVALID_REQUEST", "depth"),
        (json.dumps({**BOOK, "depth": 10**9}), "INVALID_REQUEST", "depth"),
        (json.dumps({**BOOK, "symbol": "NOPE"}), "UNKNOWN_SYMBOL", "NOPE"),
        (json.dumps({"op": "subscribe", "channel": "orders"}), "UNAUTHORIZED", "API key"),
        (json.dumps({"op": "auth", "key": 7}), "UNAUTHORIZED", "key"),
        (json.dumps({"op": "auth", "key": "wrong"}), "UNAUTHORIZED", "unknown API key"),
        (json.dumps({"op": "unsubscribe", "channel": "trades", "symbol": BTC}),
         "NOT_SUBSCRIBED", "trades BTC-USD"),
    ]  # fmt: skip

    async def scenario() -> None:
        async with connect(service.ws_url) as ws:
            for bad, code, says in cases:
                await ws.send(bad)
                reply = await _recv(ws)
                assert (reply["type"], reply["code"]) == ("error", code), (bad, reply)
                assert says in reply["message"], (bad, reply)
            await ws.send(json.dumps({"op": "ping"}))
            assert (await _recv(ws))["type"] == "pong"

    asyncio.run(scenario())
