"""Request weights and rate limits, with Binance's headers.

Binance counts a *weight* per request (1 for most, more for wide ones: a depth of 5000 levels
weighs 250) against a limit per minute for each client address, and new orders against limits
per account (per 10 seconds and per day). Every response says how much was used, in
``X-MBX-USED-WEIGHT-1M`` (and ``X-MBX-USED-WEIGHT`` for older clients), and an order response
adds ``X-MBX-ORDER-COUNT-10S`` and ``X-MBX-ORDER-COUNT-1D``. A request over a limit is answered
429 with code -1003 (weight) or -1015 (orders) and ``Retry-After``: the seconds until the
current interval ends. Intervals are fixed windows on the wall clock (a minute from :00), as
Binance's are. The limits appear in ``exchangeInfo``'s ``rateLimits``.
"""

from __future__ import annotations

import threading
from dataclasses import dataclass

from wintermute.service.binance.errors import BinanceError, Code

__all__ = ["RateLimiter", "RateLimits", "depth_weight", "ticker_weight"]

_MINUTE_MS = 60_000
_TEN_S_MS = 10_000
_DAY_MS = 86_400_000


@dataclass(frozen=True)
class RateLimits:
    """The limits: request weight per minute (per client address), orders per 10 s and per day
    (per account). Binance's spot defaults."""

    weight_per_minute: int = 6000
    orders_per_10s: int = 100
    orders_per_day: int = 200_000

    def exchange_info(self) -> list[dict[str, object]]:
        """The ``rateLimits`` array of ``exchangeInfo``."""
        return [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": self.weight_per_minute,
            },
            {
                "rateLimitType": "ORDERS",
                "interval": "SECOND",
                "intervalNum": 10,
                "limit": self.orders_per_10s,
            },
            {
                "rateLimitType": "ORDERS",
                "interval": "DAY",
                "intervalNum": 1,
                "limit": self.orders_per_day,
            },
        ]


def depth_weight(limit: int) -> int:
    """The weight of ``GET /api/v3/depth`` at ``limit`` levels (Binance's table)."""
    if limit <= 100:
        return 5
    if limit <= 500:
        return 25
    if limit <= 1000:
        return 50
    return 250


def ticker_weight(symbols: int | None, *, per_symbol: int, all_symbols: int) -> int:
    """The weight of a ticker request for ``symbols`` symbols (None: all of them)."""
    return all_symbols if symbols is None else per_symbol * max(symbols, 1)


class _Window:
    """A counter over fixed windows of ``span_ms``."""

    __slots__ = ("count", "span_ms", "start_ms")

    def __init__(self, span_ms: int) -> None:
        self.span_ms = span_ms
        self.start_ms = 0
        self.count = 0

    def roll(self, now_ms: int) -> None:
        start = now_ms - now_ms % self.span_ms
        if start != self.start_ms:
            self.start_ms, self.count = start, 0

    def retry_after_s(self, now_ms: int) -> int:
        left_ms = self.start_ms + self.span_ms - now_ms
        return max(1, -(-left_ms // 1000))


class RateLimiter:
    """Counts request weight per client address and orders per account; thread-safe."""

    def __init__(self, limits: RateLimits | None = None) -> None:
        self.limits = limits or RateLimits()
        self._lock = threading.Lock()
        self._weight: dict[str, _Window] = {}
        self._orders: dict[int, tuple[_Window, _Window]] = {}

    def spend_weight(self, client: str, weight: int, now_ms: int) -> int:
        """Adds ``weight`` to ``client``'s minute; returns the minute's total. Over the limit:
        ``BinanceError`` -1003 (429, ``Retry-After``), and the request is not counted."""
        with self._lock:
            w = self._weight.setdefault(client, _Window(_MINUTE_MS))
            w.roll(now_ms)
            if w.count + weight > self.limits.weight_per_minute:
                raise BinanceError(
                    Code.TOO_MANY_REQUESTS,
                    "Too much request weight used; current limit is "
                    f"{self.limits.weight_per_minute} request weight per 1 MINUTE. "
                    "Please use WebSocket Streams for live updates to "
                    "avoid polling the API.",
                    retry_after=w.retry_after_s(now_ms),
                )
            w.count += weight
            return w.count

    def used_weight(self, client: str, now_ms: int) -> int:
        """``client``'s weight so far this minute."""
        with self._lock:
            w = self._weight.get(client)
            if w is None:
                return 0
            w.roll(now_ms)
            return w.count

    def count_order(self, account: int, now_ms: int) -> tuple[int, int]:
        """Counts one new order for ``account``; returns the (10 s, day) counts. Over a limit:
        ``BinanceError`` -1015 (429, ``Retry-After``), and the order is not counted."""
        with self._lock:
            ten, day = self._orders.setdefault(account, (_Window(_TEN_S_MS), _Window(_DAY_MS)))
            ten.roll(now_ms)
            day.roll(now_ms)
            for window, limit, name in (
                (ten, self.limits.orders_per_10s, "10 SECOND"),
                (day, self.limits.orders_per_day, "1 DAY"),
            ):
                if window.count + 1 > limit:
                    raise BinanceError(
                        Code.TOO_MANY_ORDERS,
                        f"Too many new orders; current limit is {limit} orders per {name}.",
                        retry_after=window.retry_after_s(now_ms),
                    )
            ten.count += 1
            day.count += 1
            return ten.count, day.count

    def order_counts(self, account: int, now_ms: int) -> tuple[int, int]:
        """``account``'s (10 s, day) order counts so far."""
        with self._lock:
            pair = self._orders.get(account)
            if pair is None:
                return 0, 0
            pair[0].roll(now_ms)
            pair[1].roll(now_ms)
            return pair[0].count, pair[1].count
