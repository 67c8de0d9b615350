"""A live market from Python: venues' order-book and trade feeds kept in sync in a background
thread, with normalized events, latency histograms and a consolidated book.

Each venue connects either to a **seeded synthetic market** served on 127.0.0.1 in the venue's
own protocol (the default: nothing to install, no internet) or to explicit ``endpoints`` (a
``wintermute feeds serve`` of a recording, a proxy, or the exchange itself). The connectors run
in one background thread with the GIL released; every read below copies from the last published
state (after the last frame received) and never blocks the feed for long::

    >>> from wintermute.market import Market
    >>> with Market(["coinbase", "kraken"], pace="fast", steps=300,
    ...             instruments={"BTC-USD": {"coinbase": "BTC-USD", "kraken": "XBT/USD"}}) as m:
    ...     m.wait_live(timeout=10)
    ...     book = m.book("kraken")                  # exact decimals
    ...     view = m.consolidated("BTC-USD")         # per-venue quantities, BBO, microprice
    >>> book["state"], view["cross"]["kind"] in ("none", "locked", "crossed")
    ('live', True)

**Instruments.** The consolidated book merges only what you map: ``{"BTC-USD": {"coinbase":
"BTC-USD", "kraken": "XBT/USD"}}``. Binance's ``BTCUSDT`` is quoted in Tether (USDT), which is not
the US dollar: mapping it into ``BTC-USD`` is your decision to make, never a default. Asking for an
instrument that is not mapped raises ``wintermute.errors.FeedError`` listing the known ones.

**Events.** ``events()`` returns the L1 ring of a (venue, symbol): the last ``ring_capacity``
normalized events (``snapshot``, ``delta``, ``trade``, ``bbo``) with exact prices and quantities
(``decimal.Decimal``), the exchange timestamp (``None`` when the venue sends none), and the local
receive and normalization times in ns since the epoch, ``seq`` (the feed's own per-stream counter,
gapless from 1) and ``venue_seq``, the venue's own number of the message the event came from, to
match it against the exchange: Binance the diff's final update id ``u`` (a snapshot: the update id
the book is at), a trade its trade id; Coinbase a ``match``'s ``sequence`` (Advanced Trade:
``sequence_num``); ``None`` where the venue numbers nothing (Coinbase ``level2``; Kraken, whose
books carry a checksum instead). ``events_array()`` gives the same as a numpy
structured array (decimals as exact strings). ``latency(venue)`` reads the venue's HDR histograms:
exchange → receive and receive → normalized, p50/p99/p99.9/max in ns.
"""

from __future__ import annotations

import json
import time
from collections.abc import Iterable, Mapping, Sequence
from decimal import Decimal
from typing import Any, TypedDict

import numpy as np
import numpy.typing as npt

from wintermute import _core, errors
from wintermute._stoppable import Stoppable

__all__ = [
    "DEFAULT_SYMBOLS",
    "EVENT_DTYPE",
    "NORMALIZED_EVENT_DTYPE",
    "VENUES",
    "Book",
    "LatencySummary",
    "Market",
    "NormalizedEvent",
]

#: The venues a market can connect to.
VENUES = ("binance", "coinbase", "kraken")

#: The symbol each venue's synthetic market trades.
DEFAULT_SYMBOLS = {"binance": "BTCUSDT", "coinbase": "BTC-USD", "kraken": "XBT/USD"}

#: ``events_array()`` records of normalized market-data events: exact decimals as strings
#: (``""`` when absent), timestamps in ns (``exchange_ts`` is -1 when the venue sends none),
#: ``venue_seq`` -1 when the venue numbers none.
#: Not the order book's event record (that is ``wintermute.batch.EVENT_DTYPE``).
NORMALIZED_EVENT_DTYPE = np.dtype(
    [
        ("seq", "u8"),
        ("kind", "U8"),
        ("side", "U3"),
        ("price", "U40"),
        ("qty", "U40"),
        ("aggressor", "U4"),
        ("trade_id", "u8"),
        ("bid_price", "U40"),
        ("bid_qty", "U40"),
        ("ask_price", "U40"),
        ("ask_qty", "U40"),
        ("exchange_ts", "i8"),
        ("receive_ts", "i8"),
        ("normalized_ts", "i8"),
        ("venue_seq", "i8"),
    ]
)


#: The former name of ``NORMALIZED_EVENT_DTYPE``, kept for existing callers.
EVENT_DTYPE = NORMALIZED_EVENT_DTYPE


class NormalizedEvent(TypedDict):
    seq: int
    kind: str  # "snapshot", "delta", "trade" or "bbo"
    side: str | None  # delta: "bid" or "ask"
    price: Decimal | None  # delta: the level; trade: the price
    qty: Decimal | None  # delta: new absolute quantity (0 = deleted); trade: traded quantity
    aggressor: str | None  # trade: "buy" or "sell", when the venue says
    trade_id: int
    bid: tuple[Decimal, Decimal] | None  # snapshot/bbo: best bid (price, qty) after the event
    ask: tuple[Decimal, Decimal] | None
    exchange_ts: int | None
    receive_ts: int
    normalized_ts: int
    venue_seq: int | None  # the venue's number of the message, when it sends one (see above)


class Book(TypedDict):
    venue: str
    symbol: str
    state: str  # "buffering", "live" or "resyncing"
    bids: list[tuple[Decimal, Decimal]]
    asks: list[tuple[Decimal, Decimal]]
    stats: dict[str, int]


class LatencySummary(TypedDict):
    count: int
    p50_ns: int
    p99_ns: int
    p999_ns: int
    max_ns: int


#: Latent price units per unit of the quote currency (``synthetic::latent::UNITS_PER_DOLLAR``).
_LATENT_UNITS = 100_000_000


def _dislocation(d: tuple[str, float, float, str]) -> tuple[int, int, int]:
    """``(venue, start_s, duration_s, jump)`` -> ``(start_ns, duration_ns, jump units)``."""
    _, start_s, duration_s, jump = d
    units = Decimal(jump) * _LATENT_UNITS
    if units != units.to_integral_value():
        raise errors.FeedError(f"dislocation jump={jump!r}: finer than 1e-8", reason="FEED")
    return round(start_s * 1e9), round(duration_s * 1e9), int(units)


def _pair(p: tuple[str, str] | None) -> tuple[Decimal, Decimal] | None:
    return None if p is None else (Decimal(p[0]), Decimal(p[1]))


def _dec(s: str | None) -> Decimal | None:
    return None if s is None else Decimal(s)


def _record(row: _core._EventRow) -> tuple[object, ...]:
    """A ring row as an ``events_array`` record: absent text ``""``, absent numbers -1."""
    seq, kind, *text, trade_id, bid, ask, exchange_ts, receive_ts, normalized_ts, venue_seq = row
    return (
        seq,
        kind,
        *(t or "" for t in text),  # side, price, qty, aggressor
        trade_id,
        *(bid or ("", "")),
        *(ask or ("", "")),
        -1 if exchange_ts is None else exchange_ts,
        receive_ts,
        normalized_ts,
        -1 if venue_seq is None else venue_seq,
    )


class Market(Stoppable):
    """Venues' feeds in a background thread (see the module docs).

    ``venues``: the venues to run. A venue listed in ``endpoints`` (``ws_base`` or
    ``(ws_base, rest_base)``; None: the venue's own public endpoint) connects there and
    subscribes to ``symbols[venue]``, trusting the root certificates of the PEM file
    ``ca_files[venue]`` besides Mozilla's when given (a private CA for ``wss://``); any other
    venue gets its own synthetic market (``seed``, ``steps`` messages, ``gap_rate`` injected
    gaps, served at ``pace``: ``"recorded"``, ``"fast"`` or a speed factor like ``"10"``).
    ``max_attempts`` bounds failed connection attempts in a row before a venue gives up.
    ``scales`` runs Binance on integer books: ``{"BTCUSDT": ("0.01", "0.00000001")}`` gives
    each Binance symbol's tick size and lot size (every subscribed one; the synthetic market
    trades ``BTCUSDT`` on those); its published levels stay exact decimals.
    ``latent=True`` makes the synthetic venues follow one latent price seeded with ``seed``,
    each with its own lag, noise and spread, so their books agree and a consolidated book is
    crossed only while a lagging venue catches up (the demo does this); by default each venue
    random-walks on its own (the same market as ``feeds.synthesize`` with seed ``seed + i``).
    ``dislocation=(venue, start_s, duration_s, jump)`` (with ``latent=True``) makes one
    synthetic venue jump away from the latent price by ``jump`` (a decimal amount of the quote
    currency, e.g. ``"3"``) for ``duration_s`` seconds, ``start_s`` seconds of exchange time into
    its session: a real cross of the consolidated book, to watch an interlock pull quotes.
    """

    def __init__(
        self,
        venues: Iterable[str] = VENUES,
        *,
        endpoints: Mapping[str, str | tuple[str | None, str | None]] | None = None,
        symbols: Mapping[str, Sequence[str]] | None = None,
        instruments: Mapping[str, Mapping[str, str]] | None = None,
        seed: int = 7,
        steps: int = 12_000,
        pace: str = "recorded",
        gap_rate: float = 0.0,
        ring_capacity: int = 1024,
        depth: int = 50,
        max_attempts: int | None = 5,
        publish_every: float = 0.0,
        scales: Mapping[str, tuple[str, str]] | None = None,
        latent: bool = False,
        dislocation: tuple[str, float, float, str] | None = None,
        ca_files: Mapping[str, str] | None = None,
    ) -> None:
        endpoints = dict(endpoints or {})
        ca_files = dict(ca_files or {})
        symbols = dict(symbols or {})
        names = list(venues)
        if scales is not None and "binance" not in names:
            raise errors.FeedError(
                "scales are for binance, which is not a venue here", reason="FEED"
            )
        for name in [*names, *endpoints, *symbols, *ca_files]:
            if name not in VENUES:
                raise errors.FeedError(
                    f"venue={name!r}: expected one of {list(VENUES)}", reason="FEED"
                )
        if dislocation is not None and (dislocation[0] not in names or dislocation[0] in endpoints):
            raise errors.FeedError(
                f"dislocation venue={dislocation[0]!r}: not a synthetic venue of this market",
                reason="FEED",
            )
        specs: list[dict[str, Any]] = []
        for i, name in enumerate(names):
            spec: dict[str, Any] = {"venue": name, "max_attempts": max_attempts}
            if name == "binance" and scales is not None:
                spec["scales"] = {k: [str(t), str(lot)] for k, (t, lot) in scales.items()}
            if name in endpoints:
                target = endpoints[name]
                ws, rest = (target, None) if isinstance(target, str) else target
                spec.update(ws_base=ws, rest_base=rest, symbols=list(symbols.get(name, ())))
                spec["tls_ca_file"] = ca_files.get(name)
            else:
                spec["pace"] = pace
                spec["synthetic"] = {
                    "seed": seed + i,
                    "steps": steps,
                    "gap_rate": gap_rate,
                    # Exchange times near now, so exchange -> receive latency is meaningful.
                    "start_ns": time.time_ns(),
                }
                if latent:
                    spec["synthetic"]["latent_seed"] = seed
                if dislocation is not None and dislocation[0] == name:
                    spec["synthetic"]["dislocation"] = _dislocation(dislocation)
            specs.append(spec)
        legs = [[name, dict(mapping)] for name, mapping in (instruments or {}).items()]
        self._symbols = {
            name: list(symbols.get(name, ())) if name in endpoints else [DEFAULT_SYMBOLS[name]]
            for name in names
        }
        options = {
            "venues": specs, "instruments": legs, "ring_capacity": ring_capacity,
            "depth": depth, "publish_every": publish_every,
        }  # fmt: skip
        self._core = _core.Market(json.dumps(options))

    def _symbol(self, venue: str, symbol: str | None) -> str:
        if symbol is not None:
            return symbol
        subscribed = self._symbols.get(venue)
        if subscribed is None:
            raise errors.FeedError(f"venue={venue!r}: not part of this market", reason="FEED")
        if len(subscribed) != 1:
            raise errors.FeedError(
                f"venue={venue!r} has symbols {subscribed}: name one", reason="FEED"
            )
        return subscribed[0]

    @property
    def running(self) -> bool:
        """Whether the background thread still runs."""
        return self._core.running

    def wait_live(self, timeout: float = 10.0) -> None:
        """Waits until every subscribed book is live; raises ``FeedError`` when a venue's
        connector failed or ``timeout`` seconds pass."""
        self._core.wait_live(timeout)

    def streams(self) -> list[tuple[str, str]]:
        """``(venue, symbol)`` of every stream seen so far."""
        return self._core.streams()

    def book(self, venue: str, symbol: str | None = None, depth: int = 10) -> Book:
        """Sync state, counters and the best ``depth`` levels per side, exact."""
        raw = self._core.book(venue, self._symbol(venue, symbol), depth)
        return Book(
            venue=raw["venue"],
            symbol=raw["symbol"],
            state=raw["state"],
            bids=[(Decimal(p), Decimal(q)) for p, q in raw["bids"]],
            asks=[(Decimal(p), Decimal(q)) for p, q in raw["asks"]],
            stats=raw["stats"],
        )

    def top(self, venue: str, symbol: str | None = None) -> tuple[Decimal | None, Decimal | None]:
        """Best bid and ask prices (``None`` for an empty side or a book that is not live)."""
        b = self.book(venue, symbol, depth=1)
        return (b["bids"][0][0] if b["bids"] else None, b["asks"][0][0] if b["asks"] else None)

    def events(
        self, venue: str, symbol: str | None = None, last: int | None = None
    ) -> list[NormalizedEvent]:
        """The L1 ring (at most the ``last`` newest events), oldest first."""
        rows = self._core.events(venue, self._symbol(venue, symbol), last)
        return [
            NormalizedEvent(
                seq=seq,
                kind=kind,
                side=side,
                price=_dec(price),
                qty=_dec(qty),
                aggressor=aggressor,
                trade_id=trade_id,
                bid=_pair(bid),
                ask=_pair(ask),
                exchange_ts=exchange_ts,
                receive_ts=receive_ts,
                normalized_ts=normalized_ts,
                venue_seq=venue_seq,
            )
            for (
                seq,
                kind,
                side,
                price,
                qty,
                aggressor,
                trade_id,
                bid,
                ask,
                exchange_ts,
                receive_ts,
                normalized_ts,
                venue_seq,
            ) in rows
        ]

    def events_array(
        self, venue: str, symbol: str | None = None, last: int | None = None
    ) -> npt.NDArray[np.void]:
        """The L1 ring as a numpy structured array of ``NORMALIZED_EVENT_DTYPE``."""
        rows = self._core.events(venue, self._symbol(venue, symbol), last)
        records = [_record(row) for row in rows]
        return np.array(records, dtype=NORMALIZED_EVENT_DTYPE)

    def latency(self, venue: str) -> dict[str, LatencySummary | int]:
        """The venue's latency: ``exchange_to_receive`` and ``receive_to_normalized``
        percentiles in ns, and ``clock_skew_frames`` (exchange time after receive time)."""
        s = self._core.venue_stats(venue)
        return {
            "exchange_to_receive": s["exchange_to_receive"],
            "receive_to_normalized": s["receive_to_normalized"],
            "clock_skew_frames": s["clock_skew_frames"],
        }

    def counters(self, venue: str) -> dict[str, Any]:
        """The venue connector's counters (connections, frames, resyncs, …), ``running`` and
        ``error`` (why it stopped, if it failed)."""
        s = self._core.venue_stats(venue)
        out: dict[str, Any] = json.loads(s["counters_json"])
        out["running"] = s["running"]
        out["error"] = s["error"]
        return out

    def consolidated(self, instrument: str, depth: int = 10) -> dict[str, Any]:
        """The instrument's consolidated book over its mapped venues' live books: ``bids`` and
        ``asks`` (each level: ``price``, ``total``, ``venues`` = {venue: qty}), ``bbo``,
        ``microprice``, ``mid`` and ``cross`` (``kind`` none/locked/crossed, and which venue's
        bid meets which venue's ask). Decimals are exact."""
        raw = self._core.consolidated(instrument, depth)

        def levels(side: list[dict[str, Any]]) -> list[dict[str, Any]]:
            return [
                {
                    "price": Decimal(lv["price"]),
                    "total": Decimal(lv["total"]),
                    "venues": {v: Decimal(q) for v, q in lv["venues"].items()},
                }
                for lv in side
            ]

        bbo = raw["bbo"]
        return {
            "instrument": raw["instrument"],
            "bids": levels(raw["bids"]),
            "asks": levels(raw["asks"]),
            "bbo": None if bbo is None else (Decimal(bbo[0]), Decimal(bbo[1])),
            "microprice": _dec(raw["microprice"]),
            "mid": _dec(raw["mid"]),
            "cross": raw["cross"],
        }

    def stop(self) -> None:
        """Stops the connectors and synthetic servers; reads keep the final state."""
        self._core.stop()
