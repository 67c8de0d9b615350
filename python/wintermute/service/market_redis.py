"""The external venues in Redis: each venue's latest book, its trades and the consolidated BBO,
published from the service for other processes (key layout: ``wintermute.storage.redis_tier``).

On when the service has a Redis URL (``[service.redis]``, ``wintermute demo --redis URL``);
off without. A :class:`MarketPublisher` runs on a thread of its own: every ``every_s`` it
takes the newest state from its source (:class:`ExternalMarketSource`: the books the
connectors keep, read at that moment) and hands it to ``RedisTier.send``, one pipeline per
round. Nothing queues: the state is read fresh each round (conflated to the newest), a Redis
that is slow slows only this thread, and one that is away costs a failed pipeline per
``retry_s`` (logged, counted in ``wintermute_redis_errors_total``). The engine, the event
loop and the WebSocket clients never wait for it::

    tier = RedisTier("redis://127.0.0.1:6379/0")
    publisher = MarketPublisher(tier, ExternalMarketSource(market)).start()
    ...
    publisher.stop()      # then tier.close()
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import Any
from urllib.parse import urlsplit

from wintermute.errors import WintermuteError
from wintermute.service.external_market import ExternalMarket
from wintermute.service.settings import RedisSettings
from wintermute.storage.redis_tier import (
    Entry,
    RedisTier,
    consolidated_key,
    ticks_key,
    venue_book_key,
    venue_trades_key,
)

__all__ = ["ExternalMarketSource", "MarketPublisher", "Update", "redacted", "redis_tier"]

log = logging.getLogger("wintermute.service.market_redis")

#: What one round writes: hashes (key -> fields) and stream entries (key, fields).
Update = tuple[dict[str, Entry], list[tuple[str, Entry]]]
#: The newest events read from each venue's ring per round, for its trades.
EVENTS_PER_ROUND = 1024


def redis_tier(s: RedisSettings) -> RedisTier:
    """A tier that writes where ``[service.redis]`` says."""
    return RedisTier(s.url, prefix=s.prefix, stream_len=s.stream_len, cluster=s.cluster)


def redacted(url: str) -> str:
    """``url`` without its user and password, for a log line."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    return f"{parts.scheme}://{host}{'' if parts.port is None else f':{parts.port}'}{parts.path}"


def _text(d: Decimal | None) -> str:
    return "" if d is None else format(d, "f")


def _levels(levels: Sequence[tuple[Decimal, Decimal]]) -> str:
    return json.dumps([[_text(p), _text(q)] for p, q in levels])


class ExternalMarketSource:
    """The newest state of an ``ExternalMarket``'s venues, as Redis writes: each venue's book
    (``depth`` levels a side), the trades it received since the last round, and the
    consolidated BBO of the venues merged into the market's instrument (with a tick when it
    changed). After the market restarts (a fresh synthetic market) the trades start over."""

    def __init__(self, market: ExternalMarket, *, prefix: str = "wm", depth: int = 10) -> None:
        self.market = market
        self.prefix = prefix
        self.depth = depth
        self._restarts = market.restarts
        self._last_trade: dict[str, int] = {}
        self._last_bbo: tuple[str, str] | None = None

    def __call__(self) -> Update:
        m, symbol, p = self.market.market, self.market.instrument, self.prefix
        if self.market.restarts != self._restarts:  # a fresh market: sequences start over
            self._restarts = self.market.restarts
            self._last_trade.clear()
        now = time.time_ns()
        hashes: dict[str, Entry] = {}
        entries: list[tuple[str, Entry]] = []
        for venue, shown in self.market.shown.items():
            last = self._last_trade.get(venue, -1)
            try:
                book = m.book(venue, shown, depth=self.depth)
                events = self._new_events(m, venue, shown, last)
            except WintermuteError as err:  # not subscribed yet: nothing to say of it
                log.debug("venue=%s not readable yet: %s", venue, err)
                continue
            bids, asks = book["bids"], book["asks"]
            bid, ask = (bids[0] if bids else (None, None)), (asks[0] if asks else (None, None))
            hashes[venue_book_key(p, symbol, venue)] = {
                "venue": venue, "symbol": book["symbol"], "state": book["state"], "ts_ns": now,
                "bid": _text(bid[0]), "bid_qty": _text(bid[1]), "ask": _text(ask[0]),
                "ask_qty": _text(ask[1]), "bids": _levels(bids), "asks": _levels(asks),
            }  # fmt: skip
            for e in events:
                if e["kind"] != "trade" or e["seq"] <= last:
                    continue
                entries.append((venue_trades_key(p, symbol, venue), {
                    "seq": e["seq"], "trade_id": e["trade_id"], "price": _text(e["price"]),
                    "qty": _text(e["qty"]), "side": e["aggressor"] or "",
                    "exchange_ts": "" if e["exchange_ts"] is None else e["exchange_ts"],
                    "receive_ts": e["receive_ts"],
                }))  # fmt: skip
            if events:
                self._last_trade[venue] = max(last, events[-1]["seq"])
        self._consolidated(m, symbol, now, hashes, entries)
        return hashes, entries

    @staticmethod
    def _new_events(m: Any, venue: str, symbol: str, last: int) -> list[Any]:
        """The venue's events after sequence ``last`` (at most ``EVENTS_PER_ROUND``): a few
        are read first, more only when the round missed more (reading the whole ring every
        round would cost the service's interpreter far more than the writes). The first round
        reads the whole ring."""
        n = EVENTS_PER_ROUND if last < 0 else 64
        while True:
            events: list[Any] = m.events(venue, symbol, last=n)
            if not events or events[0]["seq"] <= last + 1 or n >= EVENTS_PER_ROUND:
                return events
            n = min(n * 4, EVENTS_PER_ROUND)

    def _consolidated(
        self, m: Any, symbol: str, now: int, hashes: dict[str, Entry],
        entries: list[tuple[str, Entry]],
    ) -> None:  # fmt: skip
        if not self.market.legs:  # nothing merged into our instrument
            return
        try:
            view = m.consolidated(symbol, depth=1)
        except WintermuteError as e:
            log.debug("consolidated %s not readable yet: %s", symbol, e)
            return
        bid = view["bids"][0] if view["bids"] else None
        ask = view["asks"][0] if view["asks"] else None

        def venues(level: Mapping[str, Any] | None) -> str:
            by_venue = {} if level is None else level["venues"]
            return json.dumps({v: _text(q) for v, q in by_venue.items()})

        fields: dict[str, str | int] = {
            "ts_ns": now, "bid": _text(bid and bid["price"]),
            "bid_qty": _text(bid and bid["total"]), "bid_venues": venues(bid),
            "ask": _text(ask and ask["price"]),
            "ask_qty": _text(ask and ask["total"]), "ask_venues": venues(ask),
            "mid": _text(view["mid"]), "microprice": _text(view["microprice"]),
            "cross": str((view["cross"] or {}).get("kind", "none")),
            "merged": ",".join(sorted(self.market.legs)),
        }  # fmt: skip
        hashes[consolidated_key(self.prefix, symbol)] = fields
        top = (str(fields["bid"]), str(fields["ask"]))
        if top != self._last_bbo:
            self._last_bbo = top
            tick: dict[str, str | int] = {"bid": top[0], "ask": top[1], "mid": fields["mid"],
                                          "ts_ns": now}  # fmt: skip
            entries.append((ticks_key(self.prefix, symbol), tick))


class MarketPublisher:
    """Publishes ``source()`` (an :data:`Update`) through ``tier`` every ``every_s`` seconds,
    on a thread of its own (see the module documentation). ``published`` counts the rounds
    Redis took, ``failed`` those it did not, ``source_errors`` the rounds whose source
    raised (logged; the thread carries on)."""

    def __init__(
        self, tier: RedisTier, source: Callable[[], Update], *, every_s: float = 0.1
    ) -> None:
        if not 0 < every_s <= 3600:
            raise ValueError(f"every_s={every_s}: must be in (0, 3600]")
        self.tier = tier
        self.source = source
        self.every_s = every_s
        self.published = 0
        self.failed = 0
        self.source_errors = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="redis-market", daemon=True)

    def start(self) -> MarketPublisher:
        self._thread.start()
        return self

    def round(self) -> bool:
        """One round: the source's newest state to Redis. True if Redis took it."""
        try:
            hashes, entries = self.source()
        except Exception as e:  # the thread must go on (a market between restarts, a bug)
            self.source_errors += 1
            if self.source_errors == 1 or self.source_errors % 1000 == 0:
                log.warning("redis market source failed (%d times): %s", self.source_errors, e)
            return False
        if self.tier.send(hashes, entries):
            self.published += 1
            return True
        self.failed += 1
        return False

    def _loop(self) -> None:
        while not self._stop.is_set():
            started = time.monotonic()
            self.round()
            self._stop.wait(max(0.0, self.every_s - (time.monotonic() - started)))

    def stop(self) -> None:
        """Stops the thread after its current round (bounded by the tier's timeouts)."""
        self._stop.set()
        if self._thread.is_alive() and self._thread is not threading.current_thread():
            self._thread.join(timeout=10)
