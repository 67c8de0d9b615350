"""The server's messages, each encoded once into a ``Frame`` that every subscriber shares.

Prices and quantities are decimal strings, as in the REST API (the same models make them).
Messages are compact JSON objects with a ``type``::

    >>> from decimal import Decimal as D
    >>> from wintermute.service.ws import messages
    >>> messages.bbo("BTC-USD", 12, (D("100.00"), D("1.500")), None).text
    '{"type":"bbo","symbol":"BTC-USD","seq":12,"bid":["100.00","1.500"],"ask":null}'
    >>> messages.bbo("BTC-USD", 12, None, None).key  # conflated: the newest per symbol
    'bbo:BTC-USD'
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import Any

from wintermute.pipeline_stats import PipelineStats
from wintermute.service.rest.audit_models import AlertOut
from wintermute.service.rest.models import Book, FillOut, Order, TradeOut
from wintermute.service.venue_records import BookUpdate, Depth, Fill, OrderState, Trade
from wintermute.service.ws.levels import Level
from wintermute.service.ws.outlet import Frame
from wintermute.storage.schema import Alert

__all__ = [
    "TRADES_PER_MESSAGE",
    "account",
    "alerts",
    "bbo",
    "book_delta",
    "book_snapshot",
    "encode",
    "error",
    "reply",
    "stats",
    "trades",
]

#: The most trades one ``trades`` message carries.
TRADES_PER_MESSAGE = 1000


def encode(message: dict[str, Any]) -> str:
    """A message as compact JSON text."""
    return json.dumps(message, separators=(",", ":"))


def reply(message: dict[str, Any]) -> Frame:
    """An answer to one client's request (``subscribed``, ``pong``, ...)."""
    return Frame(encode(message))


def error(code: str, message: str) -> Frame:
    """``{"type": "error", "code": ..., "message": ...}``."""
    return Frame(encode({"type": "error", "code": code, "message": message}))


def _levels(levels: Iterable[Level]) -> list[tuple[str, str]]:
    return [(format(p, "f"), format(q, "f")) for p, q in levels]


def book_snapshot(depth: Depth) -> Frame:
    """``book_snapshot``: ``seq``, ``bids``, ``asks`` (best first)."""
    return Frame(encode({"type": "book_snapshot", **Book.of(depth).model_dump()}))


def book_delta(update: BookUpdate) -> Frame:
    """``book_delta``: the levels one engine command changed, ``first_seq`` to ``seq``."""
    message = {
        "type": "book_delta", "symbol": update.symbol, "first_seq": update.first_seq,
        "seq": update.seq, "bids": _levels(update.bids), "asks": _levels(update.asks),
    }  # fmt: skip
    return Frame(encode(message))


def _level(level: Level | None) -> tuple[str, str] | None:
    return None if level is None else (format(level[0], "f"), format(level[1], "f"))


def bbo(symbol: str, seq: int, bid: Level | None, ask: Level | None) -> Frame:
    """``bbo``: the best bid and ask ``[price, qty]`` (null: the side is empty) at book
    sequence ``seq``; conflated per symbol."""
    message = {"type": "bbo", "symbol": symbol, "seq": seq, "bid": _level(bid), "ask": _level(ask)}
    return Frame(encode(message), key=f"bbo:{symbol}")


def trades(symbol: str, items: list[Trade]) -> list[Frame]:
    """``trades`` messages of at most ``TRADES_PER_MESSAGE`` trades each (each frame weighs
    its trades)."""
    rows = [TradeOut.of(t).model_dump() for t in items]
    chunks = (rows[i : i + TRADES_PER_MESSAGE] for i in range(0, len(rows), TRADES_PER_MESSAGE))
    return [
        Frame(encode({"type": "trades", "symbol": symbol, "trades": chunk}), weight=len(chunk))
        for chunk in chunks
    ]


def account(items: list[Any]) -> list[Frame]:
    """An account's ``order`` (as the REST API's order) and ``fill`` messages."""
    out: list[Frame] = []
    for item in items:
        if isinstance(item, OrderState):
            out.append(Frame(encode({"type": "order", "order": Order.of(item).model_dump()})))
        elif isinstance(item, Fill):
            out.append(Frame(encode({"type": "fill", "fill": FillOut.of(item).model_dump()})))
    return out


def alerts(items: list[Any]) -> list[Frame]:
    """``alert`` messages: ``{"type": "alert", "alert": {...}}``, as ``/api/audit/alerts``
    answers each one."""
    return [
        Frame(encode({"type": "alert", "alert": AlertOut.of(a).model_dump()}))
        for a in items
        if isinstance(a, Alert)
    ]


def stats(s: PipelineStats) -> Frame:
    """``stats``: the engine's throughput and end-to-end latency; conflated (the newest)."""
    lat = s.latency.end_to_end
    latency = {
        "p50": lat.p50_ns, "p95": lat.p95_ns, "p99": lat.p99_ns, "p999": lat.p999_ns,
        "max": lat.max_ns,
    }  # fmt: skip
    message = {
        "type": "stats", "commands_per_s": s.commands_per_s, "events_per_s": s.events_per_s,
        "outputs_per_s": s.outputs_per_s, "received": s.counters.received, "latency_ns": latency,
    }  # fmt: skip
    return Frame(encode(message), key="stats")
