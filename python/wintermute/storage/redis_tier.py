"""The Redis hot tier: the latest book per instrument and a bounded stream of its trades, so
other processes read the market without asking the engine; and, from the service, the external
venues' latest books, their trades and the consolidated BBO. Optional: off without a URL.

The audit writer publishes our venue here after each journal read (``AuditWriter(...,
hot=RedisTier(url))``, ``wintermute audit follow --redis URL``, or the service's
``[service.redis]``), from the books its replay keeps, in one pipelined round trip. The
service publishes the external venues (``wintermute.service.market_redis``) from a thread of
its own. Keys are hash-tagged by instrument (``{BTC-USD}``), so an instrument's keys share a
Redis Cluster slot and the same code runs on a cluster.

Key layout (``prefix`` defaults to ``wm``; ``SYMBOL`` is our instrument, ``VENUE`` an external
venue whose book is a view of it: ``binance``, ``coinbase``, ``kraken``):

=================================  ======  ==================================================
key                                type    content
=================================  ======  ==================================================
``wm:{SYMBOL}:book``               hash    our venue: ``seq`` (journal sequence of the
                                           state), ``ts_ns``, ``bid``, ``bid_qty``, ``ask``,
                                           ``ask_qty`` (exact decimal text; empty when the
                                           side is empty), ``bids``, ``asks`` (JSON
                                           ``[[price, qty, orders], ...]``, best first, top
                                           ``depth`` levels)
``wm:{SYMBOL}:trades``             stream  our venue, one entry per trade: ``journal_seq``,
                                           ``n``, ``price``, ``qty``, ``side`` (the
                                           aggressor's), ``ts_ns``
``wm:{SYMBOL}:venue:VENUE:book``   hash    an external venue's book: ``venue``, ``symbol``
                                           (the venue's own, e.g. ``XBT/USD``), ``state``
                                           (``live``, ``resyncing``, ...), ``ts_ns``,
                                           ``bid``, ``bid_qty``, ``ask``, ``ask_qty``,
                                           ``bids``, ``asks`` (JSON ``[[price, qty], ...]``)
``wm:{SYMBOL}:venue:VENUE:trades`` stream  its trades: ``seq`` (the venue stream's normalized
                                           sequence), ``trade_id``, ``price``, ``qty``,
                                           ``side`` (aggressor, or empty), ``exchange_ts``
                                           (ns, or empty), ``receive_ts``
``wm:{SYMBOL}:consolidated``       hash    the consolidated BBO of the venues merged into
                                           ``SYMBOL``: ``ts_ns``, ``bid``, ``bid_qty``,
                                           ``bid_venues``, ``ask``, ``ask_qty``,
                                           ``ask_venues`` (JSON ``{venue: qty}``), ``mid``,
                                           ``microprice``, ``cross`` (``none``, ``locked``,
                                           ``crossed``)
``wm:{SYMBOL}:consolidated:ticks`` stream  one entry per change of the consolidated BBO:
                                           ``bid``, ``ask``, ``mid``, ``ts_ns``
=================================  ======  ==================================================

Streams are trimmed with ``XADD ... MAXLEN ~ stream_len``. Reading, from any process (or
``redis-cli HGETALL 'wm:{BTC-USD}:book'``)::

    reader = RedisReader("redis://127.0.0.1:6379/0")
    reader.bbo("BTC-USD")        # (Decimal bid, Decimal ask) or None for an empty side
    reader.trades("BTC-USD", 10) # the newest 10, oldest first
    reader.venue_book("BTC-USD", "kraken")   # an external venue's book
    reader.consolidated("BTC-USD")           # the consolidated BBO
    reader.venue_trades("BTC-USD", "coinbase", 10)

**Written from Rust**: every publisher goes through :meth:`RedisTier.send` or
:meth:`RedisTier.publish`, which stage the round in ``_core.RedisWriter``
(``wintermute_storage::redis_tier``, Rust): it encodes the fields (the decimals as
``str(Decimal)`` prints them, the JSON levels) and writes one pipeline with the GIL released,
to a server or, with ``cluster=True``, to a Redis Cluster (the pipeline split by slot).

**Conflated, never in the way**: the writer keeps only the newest state of each hash until
it is written, so a slow or absent Redis costs a publisher one failed pipeline per
``retry_s`` and never a queue.
**Redis down**: a publish that fails is logged and counted (``wintermute_redis_errors_total``)
and never stops the publisher; while Redis is away the tier retries at most every
``retry_s``, stream entries of that time are dropped (``wintermute_redis_dropped_total``: the
streams are a cache, the audit store has our trades) and the newest state of every hash
touched meanwhile is written on the first success, so the cache is current again at once.
After a writer restart a few trades may be published twice; ``journal_seq`` and ``n``
identify them. On a Redis Cluster, a master that fails is replaced by its replica and the
writes resume once the cluster client sees the new topology (tested).
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Mapping, Sequence
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import redis
import redis.cluster
from prometheus_client import Counter
from redis.backoff import NoBackoff
from redis.retry import Retry

from wintermute import _core, errors

if TYPE_CHECKING:
    from wintermute.storage.rust_rows import AuditBatch, RustJournalReplay

__all__ = [
    "RedisReader",
    "RedisTier",
    "book_key",
    "consolidated_key",
    "ticks_key",
    "trades_key",
    "venue_book_key",
    "venue_trades_key",
]

log = logging.getLogger("wintermute.storage.redis_tier")

#: A hash's fields or a stream entry's, as written.
Entry = Mapping[str, str | int]

ERRORS = Counter("wintermute_redis_errors", "Failed publishes to the Redis tier")
DROPPED = Counter("wintermute_redis_dropped", "Trades not published while Redis was away")
UPDATES = Counter("wintermute_redis_updates", "Book and trade updates published to Redis")


def _client(url: str, cluster: bool, **options: Any) -> Any:
    """A redis-py client (for reading) of the server at ``url``, or of the Redis Cluster
    ``url`` is a node of."""
    if cluster:
        # Fail fast and look again soon: the tier retries by itself (every ``retry_s``), and
        # a promoted replica is found by the next topology refresh, not by waiting.
        return redis.cluster.RedisCluster.from_url(
            url, retry=Retry(NoBackoff(), 1), topology_refresh_min_interval=0.2, **options
        )
    return redis.Redis.from_url(url, **options)


# The key layout is Rust's (``wintermute_storage::redis_fields::key``), the one the writer writes.


def book_key(prefix: str, symbol: str) -> str:
    return _core.redis_key(prefix, symbol, "book")


def trades_key(prefix: str, symbol: str) -> str:
    return _core.redis_key(prefix, symbol, "trades")


def venue_book_key(prefix: str, symbol: str, venue: str) -> str:
    return _core.redis_key(prefix, symbol, "venue_book", venue)


def venue_trades_key(prefix: str, symbol: str, venue: str) -> str:
    return _core.redis_key(prefix, symbol, "venue_trades", venue)


def consolidated_key(prefix: str, symbol: str) -> str:
    return _core.redis_key(prefix, symbol, "consolidated")


def ticks_key(prefix: str, symbol: str) -> str:
    return _core.redis_key(prefix, symbol, "ticks")


class RedisTier:
    """Publishes books and trades to the Redis at ``url`` (``redis://host:port/db``); with
    ``cluster=True``, to the Redis Cluster that ``url`` is a node of (the pipeline is split by
    slot; one instrument's keys share one). The writing is Rust's (``_core.RedisWriter``);
    this class logs and counts what it reports."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "wm",
        stream_len: int = 10_000,
        timeout_s: float = 0.25,
        retry_s: float = 1.0,
        cluster: bool = False,
    ) -> None:
        self.prefix = prefix
        self.stream_len = stream_len
        self.retry_s = retry_s
        self._writer = _core.RedisWriter(
            url, prefix=prefix, stream_len=stream_len, timeout_s=timeout_s, retry_s=retry_s,
            cluster=cluster,
        )  # fmt: skip
        self._counted = (0, 0, 0)

    @property
    def down(self) -> bool:
        """True while the last publish failed."""
        return self._writer.down

    def publish(
        self,
        replay: RustJournalReplay,
        batch: AuditBatch,
        after_seq: int,
        seq: int,
        *,
        depth: int = 10,
        ts_ns: int | None = None,
    ) -> bool:
        """Publishes the books ``replay`` touched in its last read (top ``depth`` levels) and
        the trades of ``batch`` after journal sequence ``after_seq``, as of journal sequence
        ``seq`` (stamped ``ts_ns``, default now), pipelined. Returns False (logged, counted)
        if Redis is away; never raises for that."""
        stamp = time.time_ns() if ts_ns is None else ts_ns
        return self._round(
            lambda: self._writer.publish_audit(
                replay._replay, batch._raw, after_seq, seq, stamp, depth
            )
        )

    def send(self, hashes: Mapping[str, Entry], entries: Sequence[tuple[str, Entry]]) -> bool:
        """Writes ``hashes`` (key -> fields, ``HSET``: the newest state of each key) and
        appends ``entries`` (stream key -> fields, ``XADD ... MAXLEN ~ stream_len``) in one
        pipeline. Conflated: a hash that could not be written waits for the next success,
        replaced by any newer state of its key meanwhile; entries of a failed send are
        dropped (counted). Returns False (logged, counted) if Redis is away; never raises
        for that. Every publisher of the tier goes through here or :meth:`publish`."""
        staged = {key: dict(fields) for key, fields in hashes.items()}
        added = [(key, dict(fields)) for key, fields in entries]
        return self._round(lambda: self._writer.send(staged, added))

    def _round(self, write: Callable[[], bool]) -> bool:
        was_down = self._writer.down
        try:
            written = write()
        except errors.WintermuteError as e:
            if e.reason not in ("REDIS_UNREACHABLE", "REDIS_ERROR"):
                raise
            if not was_down:
                log.warning("redis tier unreachable, retrying every %.1fs: %s", self.retry_s, e)
            written = False
        if written and was_down:
            log.info("redis tier back: staged keys republished")
        updates, dropped, failed = self._writer.counters
        UPDATES.inc(updates - self._counted[0])
        DROPPED.inc(dropped - self._counted[1])
        ERRORS.inc(failed - self._counted[2])
        self._counted = (updates, dropped, failed)
        return bool(written)

    def close(self) -> None:
        self._writer.close()


class RedisReader:
    """Reads what :class:`RedisTier` wrote (decimals come back exact)."""

    def __init__(self, url: str, *, prefix: str = "wm", cluster: bool = False) -> None:
        self.prefix = prefix
        self._client = _client(url, cluster, decode_responses=True)

    def book(self, symbol: str) -> dict[str, Any] | None:
        """``{"seq", "ts_ns", "bids", "asks"}`` (levels of Decimal price, Decimal qty,
        orders), or None if nothing was published for ``symbol``."""
        raw: dict[str, str] = self._client.hgetall(book_key(self.prefix, symbol))
        if not raw:
            return None
        return {
            "seq": int(raw["seq"]),
            "ts_ns": int(raw["ts_ns"]),
            "bids": [(Decimal(p), Decimal(q), n) for p, q, n in json.loads(raw["bids"])],
            "asks": [(Decimal(p), Decimal(q), n) for p, q, n in json.loads(raw["asks"])],
        }

    def bbo(self, symbol: str) -> tuple[Decimal | None, Decimal | None]:
        """The best bid and ask prices (None: that side is empty or unknown)."""
        values: list[str | None] = self._client.hmget(book_key(self.prefix, symbol), ["bid", "ask"])
        bid, ask = values
        return (Decimal(bid) if bid else None, Decimal(ask) if ask else None)

    def trades(self, symbol: str, count: int = 100) -> list[dict[str, Any]]:
        """The newest ``count`` trades, oldest first."""
        entries: list[tuple[str, dict[str, str]]] = self._client.xrevrange(
            trades_key(self.prefix, symbol), count=count
        )
        return [
            {
                "id": entry_id,
                "journal_seq": int(f["journal_seq"]),
                "n": int(f["n"]),
                "price": Decimal(f["price"]),
                "qty": Decimal(f["qty"]),
                "side": f["side"],
                "ts_ns": int(f["ts_ns"]),
            }
            for entry_id, f in reversed(entries)
        ]

    def venue_book(self, symbol: str, venue: str) -> dict[str, Any] | None:
        """An external venue's latest book (``venue``, ``symbol``, ``state``, ``ts_ns``,
        ``bids``, ``asks``: levels of Decimal price and quantity), or None if nothing was
        published."""
        raw: dict[str, str] = self._client.hgetall(venue_book_key(self.prefix, symbol, venue))
        if not raw:
            return None
        return {
            "venue": raw["venue"],
            "symbol": raw["symbol"],
            "state": raw["state"],
            "ts_ns": int(raw["ts_ns"]),
            "bids": [(Decimal(p), Decimal(q)) for p, q in json.loads(raw["bids"])],
            "asks": [(Decimal(p), Decimal(q)) for p, q in json.loads(raw["asks"])],
        }

    def consolidated(self, symbol: str) -> dict[str, Any] | None:
        """The consolidated BBO (``bid``, ``bid_qty``, ``ask``, ``ask_qty``, ``mid``,
        ``microprice``: Decimal or None; ``bid_venues``, ``ask_venues``: venue -> Decimal;
        ``cross``, ``ts_ns``), or None if nothing was published."""
        raw: dict[str, str] = self._client.hgetall(consolidated_key(self.prefix, symbol))
        if not raw:
            return None
        names = ("bid", "bid_qty", "ask", "ask_qty", "mid", "microprice")
        out: dict[str, Any] = {k: _decimal(raw[k]) for k in names}
        for side in ("bid_venues", "ask_venues"):
            out[side] = {v: Decimal(q) for v, q in json.loads(raw[side]).items()}
        out["cross"] = raw["cross"]
        out["ts_ns"] = int(raw["ts_ns"])
        return out

    def venue_trades(self, symbol: str, venue: str, count: int = 100) -> list[dict[str, Any]]:
        """An external venue's newest ``count`` trades, oldest first."""
        entries: list[tuple[str, dict[str, str]]] = self._client.xrevrange(
            venue_trades_key(self.prefix, symbol, venue), count=count
        )
        return [
            {
                "id": entry_id,
                "seq": int(f["seq"]),
                "trade_id": int(f["trade_id"]),
                "price": Decimal(f["price"]),
                "qty": Decimal(f["qty"]),
                "side": f["side"] or None,
                "exchange_ts": int(f["exchange_ts"]) if f["exchange_ts"] else None,
                "receive_ts": int(f["receive_ts"]),
            }
            for entry_id, f in reversed(entries)
        ]

    def consolidated_ticks(self, symbol: str, count: int = 100) -> list[dict[str, Any]]:
        """The newest ``count`` changes of the consolidated BBO, oldest first."""
        entries: list[tuple[str, dict[str, str]]] = self._client.xrevrange(
            ticks_key(self.prefix, symbol), count=count
        )
        return [
            {"id": entry_id, "bid": _decimal(f["bid"]), "ask": _decimal(f["ask"]),
             "mid": _decimal(f["mid"]), "ts_ns": int(f["ts_ns"])}
            for entry_id, f in reversed(entries)
        ]  # fmt: skip

    def close(self) -> None:
        self._client.close()


def _decimal(text: str) -> Decimal | None:
    return Decimal(text) if text else None
