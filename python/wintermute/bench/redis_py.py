"""The Redis hot tier's audit round written with redis-py: the encoding the tier used before
it was written from Rust, kept as the baseline of ``wintermute bench storage`` and as the
reference the Rust writer's keys and values are tested against
(``tests/test_storage_redis_rust.py``). Not used by the tier itself
(``wintermute.storage.redis_tier``)."""

from __future__ import annotations

import json
from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from wintermute.storage.redis_tier import book_key, trades_key
from wintermute.storage.schema import AuditRow

if TYPE_CHECKING:
    from wintermute._core import Depth

__all__ = ["book_fields", "publish", "trade_fields"]


def book_fields(book: Depth, seq: int, ts_ns: int) -> dict[str, str | int]:
    """Our venue's book hash: ``seq``, ``ts_ns``, the best bid and ask (empty for an empty
    side) and the JSON levels."""
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


def trade_fields(t: AuditRow) -> dict[str, str | int]:
    """A trade's stream entry."""
    return {"journal_seq": t.journal_seq, "n": t.n, "price": str(t.price), "qty": str(t.qty),
            "side": t.side or "", "ts_ns": t.ts_ns}  # fmt: skip


def publish(
    client: Any,
    prefix: str,
    trades: Iterable[AuditRow],
    books: dict[str, Depth],
    seq: int,
    ts_ns: int,
    stream_len: int = 10_000,
) -> int:
    """One pipeline (redis-py ``client``): ``HSET`` of each book of ``books`` (symbol ->
    depth) and an ``XADD ... MAXLEN ~ stream_len`` per trade; returns the updates."""
    pipe = client.pipeline(transaction=False)
    for symbol, book in books.items():
        pipe.hset(book_key(prefix, symbol), mapping=book_fields(book, seq, ts_ns))
    for t in trades:
        pipe.xadd(trades_key(prefix, t.instrument), trade_fields(t), maxlen=stream_len,
                  approximate=True)  # fmt: skip
    return len(pipe.execute())
