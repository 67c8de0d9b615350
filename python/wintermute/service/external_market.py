"""The external venues next to ours, sampled a few times a second for the web UI, the Redis
venue books, the demo's order flow and the market maker: by default the synthetic three-venue
market (Binance, Coinbase, Kraken, each served on 127.0.0.1 in its own protocol and read by the
real connectors), or the venues a ``[market]`` table names
(``wintermute.market_settings.MarketSettings``: their own public endpoints, or any server
speaking their protocols).

``ExternalMarket`` runs a ``wintermute.market.Market`` and, in a thread of its own, takes a
``snapshot()`` of it every ``every_s`` seconds: each venue's sync state, best bid and ask with
their quantities, frames and resyncs, and the consolidated BBO of the venues mapped into our
instrument (``legs``; by default Coinbase's BTC-USD and Kraken's XBT/USD: Binance's BTCUSDT is
quoted in Tether, so it is shown but not merged), with the microprice and whether the venues'
books lock or cross. Readers get the last sample (a plain dict, JSON-ready: decimals as
strings) and its ``version``; the WebSocket at ``/ws/market`` (``wintermute.service.web_ui``)
sends it on::

    >>> from wintermute.service.external_market import ExternalMarket
    >>> with ExternalMarket(pace="fast", steps=400, every_s=0.05) as market:
    ...     market.wait_live(timeout=20)
    ...     sample = market.snapshot()
    >>> sorted(sample["venues"]), sample["instrument"]
    (['binance', 'coinbase', 'kraken'], 'BTC-USD')

``reference_mid()`` is the consolidated mid as a ``Decimal`` (None until a book is live): the
demo's makers quote around it, so our venue follows the outside market.

A synthetic market replays ``steps`` messages per venue and then goes quiet; when no venue has
sent a frame for ``restart_after_s`` seconds, the sampler starts a fresh market with the next
seed (``restarts`` counts them), so a demo left open keeps moving. The venues' own market is
never restarted: their connectors reconnect and resync by themselves.

``ExternalMarket(settings, instrument=...)`` runs the market of a ``MarketSettings``::

    >>> from wintermute.market_settings import MarketSettings
    >>> settings = MarketSettings.from_dict({"pace": "fast", "steps": 400})
    >>> with ExternalMarket(settings, every_s=0.05) as market:
    ...     market.wait_live(timeout=20)
    >>> market.shown
    {'binance': 'BTCUSDT', 'coinbase': 'BTC-USD', 'kraken': 'XBT/USD'}
    >>> market.legs
    {'coinbase': 'BTC-USD', 'kraken': 'XBT/USD'}
"""

from __future__ import annotations

import contextlib
import dataclasses
import logging
import threading
import time
from collections.abc import Callable
from decimal import Decimal
from typing import Any

from wintermute._stoppable import Stoppable
from wintermute.errors import WintermuteError
from wintermute.market import VENUES, Market
from wintermute.market_settings import SYNTHETIC_LEGS, MarketSettings

__all__ = ["INSTRUMENT_LEGS", "ExternalMarket"]

log = logging.getLogger("wintermute.service.external_market")

#: The synthetic venues' symbols merged into our BTC-USD (US dollars only: not Binance's
#: Tether pair).
INSTRUMENT_LEGS = SYNTHETIC_LEGS


def _text(d: Decimal | None) -> str | None:
    return None if d is None else format(d, "f")


def _level(levels: list[tuple[Decimal, Decimal]]) -> list[str] | None:
    return None if not levels else [format(levels[0][0], "f"), format(levels[0][1], "f")]


class ExternalMarket(Stoppable):
    """The external market of ``settings`` (default: the synthetic one), sampled every
    ``every_s`` seconds (see the module documentation).

    ``seed``, ``steps``, ``pace``, ``gap_rate`` and ``restart_after_s``, when given, replace
    the synthetic market's settings (``pace``: a speed factor such as ``"1"`` for the recorded
    pace, or ``"fast"``); ``instrument`` is our symbol the consolidated book is named after,
    merging ``legs`` (``{venue: symbol}``; default: ``settings.legs(instrument)``).
    ``shown``: the symbol sampled of each venue (the merged one, else its first)."""

    def __init__(
        self,
        settings: MarketSettings | None = None,
        *,
        seed: int | None = None,
        steps: int | None = None,
        pace: str | None = None,
        gap_rate: float | None = None,
        instrument: str = "BTC-USD",
        legs: dict[str, str] | None = None,
        every_s: float = 0.25,
        restart_after_s: float | None = None,
    ) -> None:
        given: dict[str, Any] = {"seed": seed, "steps": steps, "pace": pace, "gap_rate": gap_rate,
                 "restart_after_s": restart_after_s}  # fmt: skip
        settings = dataclasses.replace(
            settings or MarketSettings(), **{k: v for k, v in given.items() if v is not None}
        )
        self.settings = settings
        self.instrument = instrument
        self.every_s = every_s
        self.restart_after_s = settings.restart_after_s
        self.legs = settings.legs(instrument) if legs is None else dict(legs)
        for venue, symbol in self.legs.items():
            settings.check_stream(venue, symbol, f"market.instruments.{instrument}.{venue}")
        self.shown = {
            venue: self.legs.get(venue, symbols[0]) for venue, symbols in settings.symbols().items()
        }
        self._seed = settings.seed
        self._market = self._start(settings.seed)
        #: Called with each fresh market after a restart (a live market maker follows it).
        self.on_restart: list[Callable[[Market], None]] = []
        #: Fresh markets started after the previous one went quiet.
        self.restarts = 0
        self._frames = -1
        self._frames_seen = 0
        self._quiet_since = time.monotonic()
        self._lock = threading.Lock()
        self._sample: dict[str, Any] = self._empty()
        self._mid: Decimal | None = None
        self.version = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name="external-market", daemon=True)
        self._thread.start()

    def _start(self, seed: int) -> Market:
        s = self.settings
        instruments = {self.instrument: self.legs} if self.legs else None
        if s.source == "venues":
            return Market(
                [v.venue for v in s.venues],
                endpoints={v.venue: (v.ws_url, v.rest_url) for v in s.venues},
                symbols={v.venue: list(v.symbols) for v in s.venues},
                ca_files={v.venue: v.ca_file for v in s.venues if v.ca_file is not None},
                instruments=instruments, max_attempts=None,
            )  # fmt: skip
        return Market(
            VENUES, seed=seed, steps=s.steps, pace=s.pace, gap_rate=s.gap_rate,
            instruments=instruments, max_attempts=None, latent=True,
        )  # fmt: skip

    def _restart_if_quiet(self, frames: int) -> None:
        now = time.monotonic()
        if frames != self._frames:
            self._frames, self._quiet_since = frames, now
            return
        if now - self._quiet_since < self.restart_after_s or self._stop.is_set():
            return
        if self.settings.source != "synthetic":  # the venues' connectors resync themselves
            return
        self.restarts += 1
        old = self._market
        self._market = self._start(self._seed + 3 * self.restarts)
        for hook in self.on_restart:
            hook(self._market)
        self._frames, self._quiet_since = -1, time.monotonic()
        with contextlib.suppress(WintermuteError):
            old.stop()
        log.info(
            "synthetic market replayed; started a fresh one", extra={"restarts": self.restarts}
        )

    def _empty(self) -> dict[str, Any]:
        return {
            "type": "market", "instrument": self.instrument, "ts_ns": time.time_ns(),
            "venues": {v: {"state": "connecting", "symbol": s} for v, s in self.shown.items()},
            "consolidated": None,
        }  # fmt: skip

    @property
    def market(self) -> Market:
        """The running ``Market`` (a fresh one after each restart)."""
        return self._market

    def wait_live(self, timeout: float = 10.0) -> None:
        """Waits until every venue's book is live (``FeedError`` after ``timeout``), then
        takes a fresh sample."""
        self._market.wait_live(timeout)
        self._take()

    def snapshot(self) -> dict[str, Any]:
        """The last sample (``type``, ``instrument``, ``ts_ns``, ``venues``: per venue
        ``state``, ``symbol``, ``bid``/``ask`` as ``[price, qty]``, ``frames``, ``resyncs``;
        ``consolidated``: ``bbo``, ``mid``, ``microprice``, ``cross``)."""
        with self._lock:
            return self._sample

    def reference_mid(self) -> Decimal | None:
        """The consolidated mid of the mapped venues, or None while none is live."""
        with self._lock:
            return self._mid

    def _take(self) -> None:
        m = self._market
        venues: dict[str, Any] = {}
        for venue, symbol in self.shown.items():
            book = m.book(venue, symbol, depth=1)
            counters = m.counters(venue)
            venues[venue] = {
                "state": book["state"] if counters["running"] else "stopped",
                "symbol": book["symbol"],
                "bid": _level(book["bids"]),
                "ask": _level(book["asks"]),
                "frames": counters.get("frames", 0),
                "resyncs": counters.get("resyncs", 0),
                "merged": venue in self.legs,
            }
        consolidated: dict[str, Any] | None = None
        mid: Decimal | None = None
        if self.legs:
            view = m.consolidated(self.instrument, depth=1)
            bbo, mid = view["bbo"], view["mid"]
            consolidated = {
                "bbo": None if bbo is None else [_text(bbo[0]), _text(bbo[1])],
                "mid": _text(mid),
                "microprice": _text(view["microprice"]),
                "cross": view["cross"],
                "merged": sorted(self.legs),
            }
        sample = {
            "type": "market", "instrument": self.instrument, "ts_ns": time.time_ns(),
            "venues": venues, "consolidated": consolidated,
        }  # fmt: skip
        with self._lock:
            self._sample = sample
            self._mid = mid
            self.version += 1
            self._frames_seen = sum(int(v["frames"]) for v in venues.values())

    def _take_or_keep(self) -> None:
        try:
            self._take()
        except WintermuteError as e:  # a venue not subscribed yet: keep the last sample
            log.debug("market sample skipped: %s", e)

    def _loop(self) -> None:
        while not self._stop.wait(self.every_s):
            self._take_or_keep()
            self._restart_if_quiet(self._frames_seen)

    def stop(self) -> None:
        """Stops sampling and the venues (idempotent)."""
        self._stop.set()
        if self._thread is not threading.current_thread():
            self._thread.join(timeout=30)  # a restart under way finishes first
        with contextlib.suppress(WintermuteError):
            self._market.stop()
