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

Subscriptions are registered with the venue before the ``SUBSCRIBE`` answer goes out, so a
client that takes its snapshot after the answer misses no update. Each connection has a
bounded outgoing queue; a client that falls that far behind is disconnected (code 1008,
reason ``slow_consumer``), as is one whose venue subscription was dropped for being slow.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
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
from wintermute.service.venue import SlowConsumer, Subscriber, Trade

__all__ = ["MAX_STREAMS", "OUT_QUEUE", "StreamName", "parse_stream", "stream_routes"]

#: Frames a connection may have waiting before it is dropped as a slow consumer.
OUT_QUEUE = 10_000
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


class _SlowClientError(Exception):
    pass


class StreamConnection:
    """One client connection: its streams, one task each, and one writer."""

    def __init__(self, api: BinanceApi, ws: WebSocket, combined: bool) -> None:
        self.api = api
        self.ws = ws
        self.combined = combined
        self.out: asyncio.Queue[str] = asyncio.Queue(OUT_QUEUE)
        self.tasks: dict[str, asyncio.Task[None]] = {}
        self.closing: str | None = None
        self.done = asyncio.Event()

    def send(self, text: str) -> None:
        try:
            self.out.put_nowait(text)
        except asyncio.QueueFull:
            self.drop("slow_consumer")
            raise _SlowClientError from None

    def emit(self, stream: str, event: object) -> None:
        if self.combined:
            self.send(json.dumps({"stream": stream, "data": event}))
        else:
            self.send(json.dumps(event))

    def start(self, stream: StreamName) -> None:
        if stream.name in self.tasks:
            return
        runner = _RUNNERS[stream.kind]
        topic = f"trades:{stream.symbol}" if stream.kind in ("trade", "aggTrade") else None
        sub = self.api.venue.subscribe(topic or f"book:{stream.symbol}")
        self.tasks[stream.name] = asyncio.create_task(self._guard(runner(self, stream, sub), sub))

    def stop(self, name: str) -> None:
        task = self.tasks.pop(name, None)
        if task is not None:
            task.cancel()

    def drop(self, reason: str) -> None:
        """Ends the connection with code 1008 and ``reason``."""
        self.closing = self.closing or reason
        self.done.set()

    async def _guard(self, body: Awaitable[None], sub: Subscriber) -> None:
        try:
            await body
        except asyncio.CancelledError:
            raise
        except (_SlowClientError, SlowConsumer) as e:  # behind on our queue, or the venue's
            self.drop(e.reason if isinstance(e, SlowConsumer) else "slow_consumer")
        except Exception:  # the venue stopped, or a bug: end the connection, say so
            self.drop("internal_error")
        finally:
            sub.close()

    async def writer(self) -> None:
        while True:
            await self.ws.send_text(await self.out.get())

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
            self.send(json.dumps({"result": sorted(self.tasks), "id": request_id}))
            return
        if method not in ("SUBSCRIBE", "UNSUBSCRIBE") or not isinstance(params, list):
            self.send(_error(2, "Invalid request: unknown method", request_id))
            return
        streams = [parse_stream(self.api, p) if isinstance(p, str) else None for p in params]
        if method == "SUBSCRIBE":
            if any(s is None for s in streams):
                self.send(_error(2, "Invalid request: invalid stream", request_id))
                return
            if len(set(self.tasks) | set(params)) > MAX_STREAMS:
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
        await self.ws.accept()
        for name in initial:
            stream = parse_stream(self.api, name)
            if stream is not None:
                self.start(stream)
        writer = asyncio.create_task(self.writer())
        reader = asyncio.create_task(self._read())
        done = asyncio.create_task(self.done.wait())
        try:
            await asyncio.wait({writer, reader, done}, return_when=asyncio.FIRST_COMPLETED)
        finally:
            tasks = (writer, reader, done, *self.tasks.values())
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)
            if self.closing is not None:
                with contextlib.suppress(Exception):
                    await self.ws.close(code=1008, reason=self.closing)

    async def _read(self) -> None:
        try:
            while True:
                text = await self.ws.receive_text()
                try:
                    self.control(text)
                except _SlowClientError:
                    return
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


async def _run_depth(conn: StreamConnection, stream: StreamName, sub: Subscriber) -> None:
    loop = asyncio.get_running_loop()
    name = conn.api.symbols.binance(stream.symbol)
    bids: dict[Decimal, Decimal] = {}
    asks: dict[Decimal, Decimal] = {}
    first: int | None = None
    last = 0
    deadline: float | None = None

    def flush() -> None:
        nonlocal first, deadline
        if first is None:
            return
        conn.emit(
            stream.name,
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


async def _run_partial(conn: StreamConnection, stream: StreamName, sub: Subscriber) -> None:
    loop = asyncio.get_running_loop()
    sent = -1
    deadline: float | None = None
    while True:
        batch = await _next(sub, None if deadline is None else deadline - loop.time())
        if batch and deadline is None:
            deadline = loop.time() + stream.interval_s
        if deadline is not None and loop.time() >= deadline:
            deadline = None
            book = conn.api.venue.depth(stream.symbol, stream.levels)
            if book.seq != sent:
                sent = book.seq
                conn.emit(
                    stream.name,
                    {
                        "lastUpdateId": book.seq,
                        "bids": levels_json(book.bids),
                        "asks": levels_json(book.asks),
                    },
                )


async def _run_book_ticker(conn: StreamConnection, stream: StreamName, sub: Subscriber) -> None:
    name = conn.api.symbols.binance(stream.symbol)
    shown: object = None
    while True:
        await sub.next_batch()
        book = conn.api.venue.depth(stream.symbol, 1)
        bid = book.bids[0] if book.bids else (None, None)
        ask = book.asks[0] if book.asks else (None, None)
        if (bid, ask) == shown:
            continue
        shown = (bid, ask)
        conn.emit(
            stream.name,
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


async def _run_trades(conn: StreamConnection, stream: StreamName, sub: Subscriber) -> None:
    name = conn.api.symbols.binance(stream.symbol)
    aggregate = stream.kind == "aggTrade"
    while True:
        for trade in await sub.next_batch():
            conn.emit(stream.name, trade_event(trade, name, aggregate))


_RUNNERS: dict[str, Callable[[StreamConnection, StreamName, Any], Awaitable[None]]] = {
    "depth": _run_depth,
    "partial": _run_partial,
    "bookTicker": _run_book_ticker,
    "trade": _run_trades,
    "aggTrade": _run_trades,
}


def stream_routes(api: BinanceApi) -> APIRouter:
    """``/ws``, ``/ws/<stream>`` and ``/stream?streams=...``."""
    router = APIRouter()

    @router.websocket("/ws")
    async def raw_bare(ws: WebSocket) -> None:
        await StreamConnection(api, ws, combined=False).run([])

    @router.websocket("/ws/{names:path}")
    async def raw(ws: WebSocket, names: str) -> None:
        await StreamConnection(api, ws, combined=False).run([n for n in names.split("/") if n])

    @router.websocket("/stream")
    async def combined(ws: WebSocket) -> None:
        names = ws.query_params.get("streams", "")
        await StreamConnection(api, ws, combined=True).run([n for n in names.split("/") if n])

    return router
