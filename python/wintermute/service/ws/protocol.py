"""What a ``/ws`` client may send, and how the server ends a connection.

A client message is one JSON object with an ``op``; ``parse`` turns its text into a request or
raises ``RequestError`` with the ``code`` and ``message`` of the error reply (the connection
stays open)::

    >>> from wintermute.service.ws.protocol import parse, RequestError
    >>> parse('{"op": "subscribe", "channel": "book", "symbol": "BTC-USD", "depth": 5}')
    Subscribe(channel='book', symbol='BTC-USD', depth=5)
    >>> try:
    ...     parse('{"op": "subscribe", "channel": "candles"}')
    ... except RequestError as e:
    ...     print(e.code, e.message)
    INVALID_REQUEST channel='candles': must be one of book, bbo, trades, orders, stats, alerts

The server closes a connection only for one of the reasons below, always with the close frame's
code and reason set (``CLOSES``). A client closed for ``slow_consumer``, ``send_timeout`` or
``server_behind`` connects again and subscribes again: a book subscription starts with a fresh
snapshot.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import NamedTuple

__all__ = [
    "CHANNELS",
    "CLOSES",
    "CLOSE_GRACE_S",
    "CONFLATED",
    "MAX_CLIENT_MESSAGE",
    "MAX_DEPTH",
    "SEND_TIMEOUT",
    "SERVER_BEHIND",
    "SHUTDOWN",
    "SLOW_CONSUMER",
    "Auth",
    "Close",
    "Ping",
    "Request",
    "RequestError",
    "Subscribe",
    "Unsubscribe",
    "parse",
]

#: The channels, in the order the error message lists them.
CHANNELS = ("book", "bbo", "trades", "orders", "stats", "alerts")
#: Channels where only the newest state matters: a client that falls behind gets the newest
#: pending message per key instead of every one (conflation), never a disconnect for it.
CONFLATED = frozenset({"bbo", "stats"})
#: Channels of one instrument (they need a ``symbol``).
_PER_SYMBOL = frozenset({"book", "bbo", "trades"})
#: The longest client message, in characters.
MAX_CLIENT_MESSAGE = 4096
#: The deepest book snapshot a subscription may ask for (levels per side).
MAX_DEPTH = 5000
#: How long a close may take: the close frame gets this long to leave, and a connection still
#: open this long after it is aborted (a client that never reads cannot hold it open).
CLOSE_GRACE_S = 2.0


class Close(NamedTuple):
    """A close frame's code and reason."""

    code: int
    reason: str


#: A sequenced channel (book deltas, trades, orders) had more than ``ws_buffer`` events
#: waiting for the client: skipping some would leave a gap, so the connection ends.
SLOW_CONSUMER = Close(1008, "slow_consumer")
#: The client's socket took no message for ``ws_send_timeout_s`` seconds.
SEND_TIMEOUT = Close(1008, "send_timeout")
#: The service itself fell behind the engine on a sequenced topic (its own bounded queue from
#: the venue overflowed): every subscriber of that topic is closed, to resubscribe.
SERVER_BEHIND = Close(1013, "server_behind")
#: The server is stopping.
SHUTDOWN = Close(1001, "shutdown")
#: Every reason, by name (the ``wintermute_ws_clients_dropped_total{reason}`` label).
CLOSES = {c.reason: c for c in (SLOW_CONSUMER, SEND_TIMEOUT, SERVER_BEHIND, SHUTDOWN)}


class RequestError(Exception):
    """A client message the server cannot act on: answered with an ``error`` message."""

    def __init__(self, code: str, message: str) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message


@dataclass(frozen=True)
class Subscribe:
    """``{"op": "subscribe", "channel": ..., "symbol": ..., "depth": ...}`` (``depth``: the
    book snapshot's levels per side; book only)."""

    channel: str
    symbol: str | None
    depth: int = 100


@dataclass(frozen=True)
class Unsubscribe:
    """``{"op": "unsubscribe", "channel": ..., "symbol": ...}``."""

    channel: str
    symbol: str | None


@dataclass(frozen=True)
class Auth:
    """``{"op": "auth", "key": ...}``: the API key for the ``orders`` and ``alerts``
    channels."""

    key: str


@dataclass(frozen=True)
class Ping:
    """``{"op": "ping"}``, answered ``{"type": "pong"}``."""


Request = Subscribe | Unsubscribe | Auth | Ping


def _invalid(message: str) -> RequestError:
    return RequestError("INVALID_REQUEST", message)


def _channel(msg: dict[str, object]) -> tuple[str, str | None]:
    channel = msg.get("channel")
    if not isinstance(channel, str) or channel not in CHANNELS:
        shown = repr(channel)[:40]
        raise _invalid(f"channel={shown}: must be one of {', '.join(CHANNELS)}")
    if channel not in _PER_SYMBOL:
        return channel, None
    symbol = msg.get("symbol")
    if not isinstance(symbol, str) or not symbol:
        raise _invalid(f"channel={channel} needs a symbol (a string)")
    return channel, symbol


def parse(text: str | bytes) -> Request:
    """The request in one client message (see the module documentation)."""
    if isinstance(text, bytes):
        raise _invalid("messages are JSON text, not binary frames")
    if len(text) > MAX_CLIENT_MESSAGE:
        raise _invalid(f"message of {len(text)} characters: at most {MAX_CLIENT_MESSAGE}")
    try:
        msg = json.loads(text)
    except ValueError:
        raise _invalid("messages are JSON objects; this is not JSON") from None
    if not isinstance(msg, dict):
        raise _invalid(f"messages are JSON objects, not {type(msg).__name__}")
    op = msg.get("op")
    if op == "subscribe":
        channel, symbol = _channel(msg)
        depth = msg.get("depth", 100)
        if channel == "book" and (
            isinstance(depth, bool) or not isinstance(depth, int) or not 1 <= depth <= MAX_DEPTH
        ):
            raise _invalid(f"depth={str(depth)[:20]}: must be an integer in [1, {MAX_DEPTH}]")
        return Subscribe(channel, symbol, depth if channel == "book" else 100)
    if op == "unsubscribe":
        return Unsubscribe(*_channel(msg))
    if op == "auth":
        key = msg.get("key")
        if not isinstance(key, str):
            raise RequestError("UNAUTHORIZED", "auth needs a key (a string)")
        return Auth(key)
    if op == "ping":
        return Ping()
    shown = repr(op)[:40]
    raise _invalid(f"op={shown}: must be subscribe, unsubscribe, auth or ping")
