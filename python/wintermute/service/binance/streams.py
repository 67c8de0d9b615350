"""Binance's WebSocket market streams over our venue.

Connect to ``/ws/<stream>`` (raw events) or ``/stream?streams=<a>/<b>`` (each event wrapped as
``{"stream": name, "data": event}``), and add or drop streams on a live connection with
Binance's ``{"method": "SUBSCRIBE", "params": [...], "id": 1}`` (also ``UNSUBSCRIBE`` and
``LIST_SUBSCRIPTIONS``), answered ``{"result": null, "id": 1}``. Stream names, lower case:

- ``<symbol>@depth`` (every second), ``<symbol>@depth@100ms``: diff depth. ``U`` and ``u`` are
  the first and last book sequence numbers the event covers, so consecutive events chain
  (``U`` = previous ``u`` + 1) and a REST depth snapshot's ``lastUpdateId`` places them; a
  quantity of ``0`` removes a level. Updates inside one interval are merged (the last quantity
  of a level wins); a break in the venue's sequence is never merged over.
- ``<symbol>@depth<N>`` / ``<symbol>@depth<N>@100ms`` (N = 5, 10, 20): the top N levels.
- ``<symbol>@trade`` and ``<symbol>@aggTrade`` (one trade per aggregate).
- ``<symbol>@bookTicker``: best bid and ask, sent when either changes.

Every connection subscribed to the same stream name is served by one feed: one venue
subscription, each event encoded to JSON once, and the same frame (or, for ``/stream``, the
same ``{"stream": ..., "data": ...}`` wrapping of it) pushed to every connection
(``wintermute.service.ws.fanout``'s scheme). Each connection writes through an ``Outlet``, the
policy every WebSocket of the service shares (``wintermute.service.ws.outlet``): diff depth
and trades are sequenced, and a client that leaves more than the service's ``ws_buffer``
events unsent is closed with code 1008, reason ``slow_consumer``; ``bookTicker`` and the
partial-depth streams are state, conflated to the newest event per stream; a socket that takes
nothing for ``ws_send_timeout_s`` is closed with ``send_timeout``. If a feed falls behind the
venue (the server itself is too slow) its connections are closed with 1013
``server_behind``; when the server stops, with 1001 ``shutdown``.

Subscriptions are registered with the venue before the ``SUBSCRIBE`` answer goes out, so a
client that takes its snapshot after the answer misses no update. A diff-depth event shared by
all of a stream's connections may begin before a connection joined (its ``U`` is older than the
connection): Binance's procedure accepts that, since the first event it applies only has to
cover the snapshot's ``lastUpdateId + 1``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import re
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from fastapi import APIRouter
from starlette.websockets import WebSocket, WebSocketDisconnect

from wintermute.service.binance.context import BinanceApi
from wintermute.service.binance.formats import agg_trade_json, decimal_text, levels_json
from wintermute.service.settings import ServiceSettings
from wintermute.service.venue import SlowConsumer, Subscriber, Trade
from wintermute.service.ws.outlet import Frame, Outlet
from wintermute.service.ws.protocol import SERVER_BEHIND, SHUTDOWN, Close

__all__ = ["MAX_STREAMS", "StreamFeed", "StreamHub", "StreamName", "parse_stream", "stream_routes"]

log = logging.getLogger("wintermute.service.binance")

#: Streams one connection may hold (Binance's limit).
MAX_STREAMS = 1024

_STREAM = re.compile(
    r"(?P<sym>[a-z0-9]+)@(?P<kind>depth(?P<levels>5|10|20)?|trade|aggTrade|bookTicker)"
    r"(?:@(?P<speed>100ms|1000ms))?"
)


@dataclass(frozen=True)
class StreamName:
    """A parsed stream name."""

    name: str
    symbol: str  # ours
    kind: str  # depth | partial | trade | aggTrade | bookTicker
    levels: int
    interval_s: float


def parse_stream(api: BinanceApi, name: str) -> StreamName | None:
    """The stream ``name`` asks for, or None if it is not one (or its symbol is not ours)."""
    m = _STREAM.fullmatch(name)
    if m is None:
        return None
    symbol = api.symbols.ours(m["sym"])
    if symbol is None:
        return None
    kind = m["kind"]
    speed = m["speed"]
    if kind.startswith("depth"):
        interval = 0.1 if speed == "100ms" else 1.0
        if m["levels"]:
            return StreamName(name, symbol, "partial", int(m["levels"]), interval)
        return StreamName(name, symbol, "depth", 0, interval)
    if speed is not None:
        return None
    return StreamName(name, symbol, kind, 0, 0.0)


def _ms() -> int:
    return time.time_ns() // 1_000_000


def _error(code: int, msg: str, request_id: object) -> str:
    """A control-message error as Binance's stream servers write it."""
    return json.dumps({"error": {"code": code, "msg": msg}, "id": request_id})


#: Stream kinds whose events are state (the newest replaces a pending one), not deltas.
_CONFLATED_KINDS = frozenset({"partial", "bookTicker"})
#: A stream's runner failed (a bug, logged): its connections are closed with this.
INTERNAL_ERROR = Close(1011, "internal_error")


class StreamFeed:
    """One stream name on one event loop: its venue subscription, its runner, and the
    connections' outlets it pushes every event to (``True``: the outlet wants the ``/stream``
    wrapping)."""

    def __init__(self, hub: StreamHub, stream: StreamName) -> None:
        self.hub = hub
        self.stream = stream
        self.members: dict[Outlet, bool] = {}
        self._key = stream.name if stream.kind in _CONFLATED_KINDS else None
        self._prefix = '{"stream": ' + json.dumps(stream.name) + ', "data": '
        self._state: str | None = None  # the newest event of a state stream, as JSON
        topic = "trades" if stream.kind in ("trade", "aggTrade") else "book"
        self._sub = hub.api.venue.subscribe(f"{topic}:{stream.symbol}")
        self._task = asyncio.get_running_loop().create_task(self._guard())

    def emit(self, event: object) -> None:
        """Encodes ``event`` once and pushes it to every member."""
        raw = json.dumps(event)
        if self._key is not None:
            self._state = raw
        plain: Frame | None = None
        wrapped: Frame | None = None
        for outlet, combined in self.members.items():
            if combined:
                if wrapped is None:
                    wrapped = Frame(self._prefix + raw + "}", key=self._key)
                outlet.push(wrapped)
            else:
                if plain is None:
                    plain = Frame(raw, key=self._key)
                outlet.push(plain)

    def join(self, outlet: Outlet, combined: bool) -> None:
        """``outlet`` gets every event from now on; a state stream's newest event at once."""
        self.members[outlet] = combined
        if self._state is not None:
            text = self._prefix + self._state + "}" if combined else self._state
            outlet.push(Frame(text, key=self._key))

    def leave(self, outlet: Outlet) -> None:
        """``outlet`` gets no more events; the feed stops with its last member."""
        self.members.pop(outlet, None)
        if not self.members:
            self.hub.retire(self)

    def stop(self) -> None:
        self._task.cancel()
        self._sub.close()

    async def _guard(self) -> None:
        close: Close = SERVER_BEHIND
        try:
            await _RUNNERS[self.stream.kind](self, self.stream, self._sub)
        except asyncio.CancelledError:
            raise
        except SlowConsumer as e:  # this feed fell behind the venue, or the venue stopped
            close = SHUTDOWN if e.reason == "shutdown" else SERVER_BEHIND
        except Exception:  # a bug: end the stream's connections, say so in the log
            log.exception("binance stream %s failed", self.stream.name)
            close = INTERNAL_ERROR
        finally:
            self._sub.close()
        for outlet in tuple(self.members):
            outlet.close(close)
        self.members.clear()
        self.hub.retire(self)


class StreamHub:
    """The stream feeds of one event loop, by stream name, made on first use and stopped with
    their last connection."""

    def __init__(self, api: BinanceApi) -> None:
        self.api = api
        self.loop = asyncio.get_running_loop()
        self.feeds: dict[str, StreamFeed] = {}

    def join(self, stream: StreamName, outlet: Outlet, combined: bool) -> StreamFeed:
        feed = self.feeds.get(stream.name)
        if feed is None:
            feed = self.feeds[stream.name] = StreamFeed(self, stream)
        feed.join(outlet, combined)
        return feed

    def retire(self, feed: StreamFeed) -> None:
        if self.feeds.get(feed.stream.name) is feed:
            del self.feeds[feed.stream.name]
        feed.stop()


class StreamConnection:
    """One client connection: its streams (each a feed it is a member of) and its outlet."""

    def __init__(self, hub: StreamHub, ws: WebSocket, outlet: Outlet, combined: bool) -> None:
        self.hub = hub
        self.ws = ws
        self.outlet = outlet
        self.combined = combined
        self.feeds: dict[str, StreamFeed] = {}

    def send(self, text: str) -> None:
        self.outlet.push(Frame(text))

    def start(self, stream: StreamName) -> None:
        if stream.name not in self.feeds:
            self.feeds[stream.name] = self.hub.join(stream, self.outlet, self.combined)

    def stop(self, name: str) -> None:
        feed = self.feeds.pop(name, None)
        if feed is not None:
            feed.leave(self.outlet)

    def leave_all(self) -> None:
        for name in tuple(self.feeds):
            self.stop(name)

    def control(self, text: str) -> None:
        """Answers one client message (SUBSCRIBE / UNSUBSCRIBE / LIST_SUBSCRIPTIONS)."""
        try:
            msg = json.loads(text)
        except json.JSONDecodeError:
            self.send(_error(3, "Invalid JSON", None))
            return
        if not isinstance(msg, dict):
            self.send(_error(3, "Invalid JSON", None))
            return
        request_id = msg.get("id")
        method = msg.get("method")
        params = msg.get("params", [])
        if method == "LIST_SUBSCRIPTIONS":
            self.send(json.dumps({"result": sorted(self.feeds), "id": request_id}))
            return
        if method not in ("SUBSCRIBE", "UNSUBSCRIBE") or not isinstance(params, list):
            self.send(_error(2, "Invalid request: unknown method", request_id))
            return
        streams = [parse_stream(self.hub.api, p) if isinstance(p, str) else None for p in params]
        if method == "SUBSCRIBE":
            if any(s is None for s in streams):
                self.send(_error(2, "Invalid request: invalid stream", request_id))
                return
            if len(set(self.feeds) | set(params)) > MAX_STREAMS:
                self.send(
                    _error(2, f"Invalid request: more than {MAX_STREAMS} streams", request_id)
                )
                return
            for s in streams:
                if s is not None:
                    self.start(s)
        else:
            for p in params:
                if isinstance(p, str):
                    self.stop(p)
        self.send(json.dumps({"result": None, "id": request_id}))

    async def run(self, initial: list[str]) -> None:
        """Serves the connection until the client goes or the outlet closes it."""
        for name in initial:
            stream = parse_stream(self.hub.api, name)
            if stream is not None:
                self.start(stream)
        outlet = self.outlet
        tasks = {
            asyncio.create_task(outlet.run()),
            asyncio.create_task(self._read()),
            asyncio.create_task(outlet.closed.wait()),
        }
        try:
            await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        finally:
            self.leave_all()
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if outlet.closing is not None:
                dropped = getattr(self.ws.app.state, "ws_dropped", None)
                if dropped is not None:
                    dropped[outlet.closing.reason] += 1
                await outlet.finish()

    async def _read(self) -> None:
        try:
            while True:
                self.control(await self.ws.receive_text())
        except (WebSocketDisconnect, RuntimeError):
            return


async def _next(sub: Subscriber, timeout: float | None) -> list[Any] | None:
    """The subscriber's next batch, or None when ``timeout`` runs out first."""
    if timeout is None:
        return list(await sub.next_batch())
    try:
        return list(await asyncio.wait_for(sub.next_batch(), max(timeout, 0.0)))
    except asyncio.TimeoutError:
        return None


async def _run_depth(feed: StreamFeed, stream: StreamName, sub: Subscriber) -> None:
    loop = asyncio.get_running_loop()
    name = feed.hub.api.symbols.binance(stream.symbol)
    bids: dict[Decimal, Decimal] = {}
    asks: dict[Decimal, Decimal] = {}
    first: int | None = None
    last = 0
    deadline: float | None = None

    def flush() -> None:
        nonlocal first, deadline
        if first is None:
            return
        feed.emit(
            {
                "e": "depthUpdate",
                "E": _ms(),
                "s": name,
                "U": first,
                "u": last,
                "b": levels_json(sorted(bids.items(), reverse=True)),
                "a": levels_json(sorted(asks.items())),
            },
        )
        bids.clear()
        asks.clear()
        first, deadline = None, None

    while True:
        batch = await _next(sub, None if deadline is None else deadline - loop.time())
        for update in batch or ():
            if first is not None and update.first_seq != last + 1:
                flush()  # never merge across a gap: the client must see it
            if first is None:
                first = update.first_seq
                deadline = loop.time() + stream.interval_s
            last = update.seq
            bids.update(update.bids)
            asks.update(update.asks)
        if deadline is not None and loop.time() >= deadline:
            flush()


async def _run_partial(feed: StreamFeed, stream: StreamName, sub: Subscriber) -> None:
    loop = asyncio.get_running_loop()
    venue = feed.hub.api.venue
    sent = -1
    deadline: float | None = None
    while True:
        batch = await _next(sub, None if deadline is None else deadline - loop.time())
        if batch and deadline is None:
            deadline = loop.time() + stream.interval_s
        if deadline is not None and loop.time() >= deadline:
            deadline = None
            book = venue.depth(stream.symbol, stream.levels)
            if book.seq != sent:
                sent = book.seq
                feed.emit(
                    {
                        "lastUpdateId": book.seq,
                        "bids": levels_json(book.bids),
                        "asks": levels_json(book.asks),
                    },
                )


async def _run_book_ticker(feed: StreamFeed, stream: StreamName, sub: Subscriber) -> None:
    venue = feed.hub.api.venue
    name = feed.hub.api.symbols.binance(stream.symbol)
    shown: object = None
    while True:
        await sub.next_batch()
        book = venue.depth(stream.symbol, 1)
        bid = book.bids[0] if book.bids else (None, None)
        ask = book.asks[0] if book.asks else (None, None)
        if (bid, ask) == shown:
            continue
        shown = (bid, ask)
        feed.emit(
            {
                "u": book.seq,
                "s": name,
                "b": decimal_text(bid[0]),
                "B": decimal_text(bid[1]),
                "a": decimal_text(ask[0]),
                "A": decimal_text(ask[1]),
            },
        )


def trade_event(trade: Trade, name: str, aggregate: bool) -> dict[str, object]:
    """A public trade as Binance's ``trade`` or ``aggTrade`` event (``m``: the buyer made)."""
    common: dict[str, object] = {"E": _ms(), "s": name}
    ms = trade.ts_ns // 1_000_000
    maker_buys = trade.taker_side == "sell"
    if aggregate:
        return {"e": "aggTrade", **common, **agg_trade_json(trade)}
    return {
        "e": "trade",
        **common,
        "t": trade.trade_id,
        "p": decimal_text(trade.price),
        "q": decimal_text(trade.qty),
        "T": ms,
        "m": maker_buys,
        "M": True,
    }


async def _run_trades(feed: StreamFeed, stream: StreamName, sub: Subscriber) -> None:
    name = feed.hub.api.symbols.binance(stream.symbol)
    aggregate = stream.kind == "aggTrade"
    while True:
        for trade in await sub.next_batch():
            feed.emit(trade_event(trade, name, aggregate))


_RUNNERS: dict[str, Callable[[StreamFeed, StreamName, Any], Awaitable[None]]] = {
    "depth": _run_depth,
    "partial": _run_partial,
    "bookTicker": _run_book_ticker,
    "trade": _run_trades,
    "aggTrade": _run_trades,
}


def stream_routes(api: BinanceApi) -> APIRouter:
    """``/ws``, ``/ws/<stream>`` and ``/stream?streams=...``."""
    router = APIRouter()
    hubs: list[StreamHub] = []  # the hub of the running event loop (one, made on first use)

    async def serve(ws: WebSocket, names: str, combined: bool) -> None:
        if not hubs or hubs[0].loop is not asyncio.get_running_loop():
            hubs[:] = [StreamHub(api)]
        settings = getattr(ws.app.state, "settings", None)
        await ws.accept()
        outlet = Outlet.of(
            ws, settings if isinstance(settings, ServiceSettings) else ServiceSettings()
        )
        conn = StreamConnection(hubs[0], ws, outlet, combined)
        await conn.run([n for n in names.split("/") if n])

    @router.websocket("/ws")
    async def raw_bare(ws: WebSocket) -> None:
        await serve(ws, "", combined=False)

    @router.websocket("/ws/{names:path}")
    async def raw(ws: WebSocket, names: str) -> None:
        await serve(ws, names, combined=False)

    @router.websocket("/stream")
    async def combined(ws: WebSocket) -> None:
        await serve(ws, ws.query_params.get("streams", ""), combined=True)

    return router
