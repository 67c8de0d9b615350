"""The Redis hot tier: the latest book per instrument and a bounded stream of its trades, so
other processes read the market without asking the engine. Optional: off without a URL.

The audit writer publishes here after each journal read (``AuditWriter(..., hot=RedisTier(
url))`` or ``wintermute audit follow --redis URL``), from the books its replay keeps, in one
pipelined round trip. Keys are hash-tagged by instrument (``{BTC-USD}``), so an instrument's
keys share a Redis Cluster slot and the same code runs on a cluster.

Key layout (``prefix`` defaults to ``wm``):

==========================  ======  =========================================================
key                         type    content
==========================  ======  =========================================================
``wm:{SYMBOL}:book``        hash    ``seq`` (journal sequence of the state), ``ts_ns``,
                                    ``bid``, ``bid_qty``, ``ask``, ``ask_qty`` (exact decimal
                                    text; empty when the side is empty), ``bids``, ``asks``
                                    (JSON ``[[price, qty, orders], ...]``, best first, top
                                    ``depth`` levels)
``wm:{SYMBOL}:trades``      stream  one entry per trade: ``journal_seq``, ``n``, ``price``,
                                    ``qty``, ``side`` (the aggressor's), ``ts_ns``; trimmed
                                    with ``XADD ... MAXLEN ~ stream_len``
==========================  ======  =========================================================

Reading, from any process (or ``redis-cli HGETALL 'wm:{BTC-USD}:book'``)::

    reader = RedisReader("redis://127.0.0.1:6379/0")
    reader.bbo("BTC-USD")        # (Decimal bid, Decimal ask) or None for an empty side
    reader.trades("BTC-USD", 10) # the newest 10, oldest first

**Redis down**: a publish that fails is logged and counted (``wintermute_redis_errors_total``)
and never stops the writer; while Redis is away the tier retries at most every
``retry_s``, trades of that time are dropped (``wintermute_redis_dropped_total``: the stream
is a cache, the audit store has them all) and the books of every instrument touched meanwhile
are published whole on the first success, so the cache is current again at once. After a
writer restart a few trades may be published twice; ``journal_seq`` and ``n`` identify them.
"""

from __future__ import annotations

import json
import logging
import time
from collections.abc import Callable, Iterable
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import redis
import redis.cluster
from prometheus_client import Counter

from wintermute.storage.schema import AuditRow

if TYPE_CHECKING:
    # A book as :class:`RedisTier` takes it: ``Engine.depth`` (price, qty, orders levels).
    from wintermute._core import Depth as Book

__all__ = ["RedisReader", "RedisTier", "book_key", "trades_key"]

log = logging.getLogger("wintermute.storage.redis_tier")

ERRORS = Counter("wintermute_redis_errors", "Failed publishes to the Redis tier")
DROPPED = Counter("wintermute_redis_dropped", "Trades not published while Redis was away")
UPDATES = Counter("wintermute_redis_updates", "Book and trade updates published to Redis")


def _client(url: str, cluster: bool, **options: Any) -> Any:
    """A client of the server at ``url``, or of the Redis Cluster ``url`` is a node of."""
    if cluster:
        return redis.cluster.RedisCluster.from_url(url, **options)
    return redis.Redis.from_url(url, **options)


def book_key(prefix: str, symbol: str) -> str:
    return f"{prefix}:{{{symbol}}}:book"


def trades_key(prefix: str, symbol: str) -> str:
    return f"{prefix}:{{{symbol}}}:trades"


class RedisTier:
    """Publishes books and trades to the Redis at ``url`` (``redis://host:port/db``); with
    ``cluster=True``, to the Redis Cluster that ``url`` is a node of (the pipeline is split by
    slot; one instrument's keys share one)."""

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
        self._client = _client(
            url, cluster, socket_timeout=timeout_s, socket_connect_timeout=timeout_s
        )
        self._stale: set[str] = set()  # symbols whose book Redis may not have
        self._retry_at = 0.0
        #: True while the last publish failed.
        self.down = False

    def publish(
        self,
        rows: Iterable[AuditRow],
        touched: Iterable[str],
        book_of: Callable[[str], Book],
        seq: int,
    ) -> bool:
        """Publishes the trades among ``rows`` and the books of the ``touched`` symbols
        (``book_of(symbol)``: its depth now) as of journal sequence ``seq``, pipelined.
        Returns False (logged, counted) if Redis is away; never raises for that."""
        trades = [r for r in rows if r.kind == "trade"]
        self._stale.update(touched)
        now = time.monotonic()
        if self.down and now < self._retry_at:
            DROPPED.inc(len(trades))
            return False
        pipe = self._client.pipeline(transaction=False)
        ts_ns = time.time_ns()
        for symbol in self._stale:
            fields = _book_fields(book_of(symbol), seq, ts_ns)
            pipe.hset(book_key(self.prefix, symbol), mapping=fields)
        for t in trades:
            entry: dict[str | bytes, str | int] = {
                "journal_seq": t.journal_seq,
                "n": t.n,
                "price": str(t.price),
                "qty": str(t.qty),
                "side": t.side or "",
                "ts_ns": t.ts_ns,
            }
            pipe.xadd(
                trades_key(self.prefix, t.instrument),
                entry,
                maxlen=self.stream_len,
                approximate=True,
            )
        try:
            pipe.execute()
        except redis.RedisError as e:
            ERRORS.inc()
            DROPPED.inc(len(trades))
            if not self.down:
                log.warning("redis tier unreachable, retrying every %.1fs: %s", self.retry_s, e)
            self.down = True
            self._retry_at = now + self.retry_s
            return False
        if self.down:
            log.info("redis tier back: %d books republished", len(self._stale))
        UPDATES.inc(len(trades) + len(self._stale))
        self._stale.clear()
        self.down = False
        return True

    def close(self) -> None:
        self._client.close()


def _book_fields(book: Book, seq: int, ts_ns: int) -> dict[str, str | int]:
    bids, asks = book["bids"], book["asks"]
    return {
        "seq": seq,
        "ts_ns": ts_ns,
        "bid": str(bids[0][0]) if bids else "",
        "bid_qty": str(bids[0][1]) if bids else "",
        "ask": str(asks[0][0]) if asks else "",
        "ask_qty": str(asks[0][1]) if asks else "",
        "bids": json.dumps([[str(p), str(q), n] for p, q, n in bids]),
        "asks": json.dumps([[str(p), str(q), n] for p, q, n in asks]),
    }


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

    def close(self) -> None:
        self._client.close()
