"""The WebSocket API at ``/ws``: live book, trades, the key's own orders and fills, stats.

Messages are JSON objects; prices and quantities are decimal strings. The client sends::

    {"op": "subscribe", "channel": "book", "symbol": "BTC-USD", "depth": 50}
    {"op": "subscribe", "channel": "trades", "symbol": "BTC-USD"}
    {"op": "auth", "key": "..."}           (or the X-API-Key header when connecting)
    {"op": "subscribe", "channel": "orders"}   (the key's account: orders and fills)
    {"op": "subscribe", "channel": "stats"}
    {"op": "unsubscribe", "channel": "book", "symbol": "BTC-USD"}
    {"op": "ping"}

and receives ``{"type": "subscribed", ...}``, then for a book a ``book_snapshot`` (``seq``,
``bids``, ``asks``) followed by ``book_delta`` messages (``first_seq``, ``seq``, changed levels,
``"0"`` quantity: level gone). Each delta's ``first_seq`` is the previous message's ``seq + 1``;
a client that sees anything else missed an update and subscribes again for a fresh snapshot.
``trades`` messages carry a list of trades; ``order`` and ``fill`` messages the account's
events (``{"type": "order", "order": {...}}``, as the REST API's order; an order's message
follows its fills); ``stats`` the engine's throughput and latency once a second; ``error``
messages a ``code`` and a ``message``.

A slow client never slows the engine: each connection has a bounded buffer
(``ws_buffer`` events); one that falls behind is closed with code 1008 and reason
``slow_consumer``.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
from collections import deque
from typing import Any

from fastapi import APIRouter, WebSocket

from wintermute.pipeline_stats import PipelineStats
from wintermute.service.keys import ApiKey, KeyStore
from wintermute.service.rest.models import Book, FillOut, Order, TradeOut
from wintermute.service.topics import SlowConsumer, Subscriber
from wintermute.service.venue import BookUpdate, Fill, OrderState, Trade, Venue, VenueError

__all__ = ["router"]

log = logging.getLogger("wintermute.service.ws")
router = APIRouter()
SLOW_CONSUMER = 1008
MAX_CLIENT_MESSAGE = 4096
TRADES_PER_MESSAGE = 1000


def _levels(levels: list[tuple[Any, Any]]) -> list[tuple[str, str]]:
    return [(format(p, "f"), format(q, "f")) for p, q in levels]


def _stats(s: PipelineStats) -> dict[str, Any]:
    lat = s.latency.end_to_end
    return {
        "type": "stats", "commands_per_s": s.commands_per_s, "events_per_s": s.events_per_s,
        "outputs_per_s": s.outputs_per_s, "received": s.counters.received,
        "latency_ns": {"p50": lat.p50_ns, "p95": lat.p95_ns, "p99": lat.p99_ns,
                       "p999": lat.p999_ns, "max": lat.max_ns},
    }  # fmt: skip


def _messages(channel: str, symbol: str | None, items: list[Any]) -> list[dict[str, Any]]:
    """The messages for a batch of topic events."""
    if channel == "trades":
        trades = [TradeOut.of(t).model_dump() for t in items if isinstance(t, Trade)]
        return [
            {"type": "trades", "symbol": symbol, "trades": trades[i : i + TRADES_PER_MESSAGE]}
            for i in range(0, len(trades), TRADES_PER_MESSAGE)
        ]
    out: list[dict[str, Any]] = []
    for item in items:
        if isinstance(item, BookUpdate):
            out.append({
                "type": "book_delta", "symbol": item.symbol, "first_seq": item.first_seq,
                "seq": item.seq, "bids": _levels(item.bids), "asks": _levels(item.asks),
            })  # fmt: skip
        elif isinstance(item, OrderState):
            out.append({"type": "order", "order": Order.of(item).model_dump()})
        elif isinstance(item, Fill):
            out.append({"type": "fill", "fill": FillOut.of(item).model_dump()})
        elif isinstance(item, PipelineStats):
            out.append(_stats(item))
    return out


class _Connection:
    """One client: its subscriptions, its bounded outgoing buffer and its sender."""

    def __init__(self, ws: WebSocket, venue: Venue, keys: KeyStore, buffer: int) -> None:
        self.ws, self.venue, self.keys, self.buffer = ws, venue, keys, buffer
        self.key: ApiKey | None = keys.lookup(ws.headers.get("x-api-key"))
        self.subs: dict[tuple[str, str | None], tuple[Subscriber, asyncio.Task[None]]] = {}
        self.out: deque[tuple[str, int]] = deque()
        self.unsent = 0
        self.ready = asyncio.Event()
        self.closing: str | None = None
        self.dropped = asyncio.Event()

    def drop(self, reason: str) -> None:
        """Ends the connection (the handler closes it with ``reason``)."""
        if self.closing is None:
            self.closing = reason
            self.dropped.set()

    def push(self, message: dict[str, Any], events: int = 1) -> None:
        """Queues a message; over the buffer, the client is dropped."""
        if self.closing is not None:
            return
        if self.unsent + events > self.buffer:
            self.drop("slow_consumer")
            return
        self.out.append((json.dumps(message), events))
        self.unsent += events
        self.ready.set()

    async def sender(self) -> None:
        while self.closing is None:
            await self.ready.wait()
            self.ready.clear()
            while self.out and self.closing is None:
                text, events = self.out.popleft()
                await self.ws.send_text(text)
                self.unsent -= events

    async def pump(self, channel: str, symbol: str | None, sub: Subscriber) -> None:
        try:
            while True:
                items = await sub.next_batch()
                for m in _messages(channel, symbol, items):
                    self.push(m, len(m.get("trades", ())) or 1)
        except SlowConsumer as e:
            if e.reason == "slow_consumer":
                self.drop("slow_consumer")

    def error(self, code: str, message: str) -> None:
        self.push({"type": "error", "code": code, "message": message})

    def subscribe(self, msg: dict[str, Any]) -> None:
        channel, symbol = msg.get("channel"), msg.get("symbol")
        if not isinstance(symbol, (str, type(None))):
            self.error("INVALID_REQUEST", "symbol must be a string")
            return
        if channel in ("orders", "stats"):
            symbol = None
        ident = (str(channel), symbol)
        if ident in self.subs:
            self.unsubscribe(msg)  # a resubscription starts afresh (a new snapshot)
        snapshot: dict[str, Any] | None = None
        try:
            if channel == "book":
                depth = msg.get("depth", 100)
                if isinstance(depth, bool) or not isinstance(depth, int) or not 1 <= depth <= 5000:
                    self.error("INVALID_REQUEST", "depth must be an integer in [1, 5000]")
                    return
                book, sub = self.venue.subscribe_book(str(symbol), depth)
                snapshot = {"type": "book_snapshot", **Book.of(book).model_dump()}
            elif channel == "trades":
                sub = self.venue.subscribe(f"trades:{symbol}")
            elif channel == "orders":
                if self.key is None:
                    self.error("UNAUTHORIZED", "orders need an API key (auth first)")
                    return
                sub = self.venue.subscribe(f"account:{self.key.account}")
            elif channel == "stats":
                sub = self.venue.subscribe("stats")
            else:
                self.error("INVALID_REQUEST", "channel must be book, trades, orders or stats")
                return
        except VenueError as e:
            self.error(e.code, e.message)
            return
        self.push({"type": "subscribed", "channel": channel, "symbol": symbol})
        if snapshot is not None:
            self.push(snapshot)
        task = asyncio.create_task(self.pump(str(channel), symbol, sub))
        self.subs[ident] = (sub, task)

    def unsubscribe(self, msg: dict[str, Any]) -> None:
        channel, symbol = msg.get("channel"), msg.get("symbol")
        if channel in ("orders", "stats"):
            symbol = None
        found = self.subs.pop((str(channel), symbol if isinstance(symbol, str) else None), None)
        if found is not None:
            found[0].close()
            found[1].cancel()
            self.push({"type": "unsubscribed", "channel": channel, "symbol": symbol})

    def handle(self, text: str) -> None:
        if len(text) > MAX_CLIENT_MESSAGE:
            self.error("INVALID_REQUEST", "message too long")
            return
        try:
            msg = json.loads(text)
        except ValueError:
            self.error("INVALID_REQUEST", "messages are JSON objects")
            return
        if not isinstance(msg, dict):
            self.error("INVALID_REQUEST", "messages are JSON objects")
            return
        op = msg.get("op")
        if op == "subscribe":
            self.subscribe(msg)
        elif op == "unsubscribe":
            self.unsubscribe(msg)
        elif op == "auth":
            key = msg.get("key")
            self.key = self.keys.lookup(key if isinstance(key, str) else None)
            if self.key is None:
                self.error("UNAUTHORIZED", "unknown API key")
            else:
                self.push({"type": "authenticated", "account": self.key.account})
        elif op == "ping":
            self.push({"type": "pong"})
        else:
            self.error("INVALID_REQUEST", "op must be subscribe, unsubscribe, auth or ping")

    def close_all(self) -> None:
        for sub, task in self.subs.values():
            sub.close()
            task.cancel()
        self.subs.clear()


@router.websocket("/ws")
async def websocket(ws: WebSocket) -> None:
    """The live API (see the module documentation)."""
    app = ws.app
    await ws.accept()
    conn = _Connection(ws, app.state.venue, app.state.keys, app.state.settings.ws_buffer)
    sender = asyncio.create_task(conn.sender())

    async def reader() -> None:
        while True:
            conn.handle(await ws.receive_text())

    read = asyncio.create_task(reader())
    dropped = asyncio.create_task(conn.dropped.wait())
    tasks = {sender, read, dropped}
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        conn.close_all()
        for task in tasks:
            task.cancel()
        # Collect them: a disconnect ends the reader with an exception.
        await asyncio.gather(*tasks, return_exceptions=True)
        if conn.closing is not None:
            app.state.ws_dropped[conn.closing] += 1
            log.info("websocket dropped", extra={"reason": conn.closing})
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(SLOW_CONSUMER, conn.closing), 1.0)
