"""The Redis tier written from Rust (``_core.RedisWriter``) writes the same keys and the same
values, byte for byte, as the tier's former redis-py writer (``wintermute.bench.redis_py``)
for the same journal: compared through redis-py and through ``redis-cli``."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import numpy as np
import pytest
import redis

import storage_workload
from storage_servers import redis_prefix, redis_server_url
from test_storage_redis import redis_cli
from wintermute import batch, errors
from wintermute._core import RedisWriter, redis_key
from wintermute.bench import redis_py
from wintermute.config import InstrumentConfig
from wintermute.engine import Engine
from wintermute.storage import redis_tier
from wintermute.storage.redis_tier import RedisTier
from wintermute.storage.rust_rows import RustJournalReplay

__all__ = ["redis_prefix", "redis_server_url"]  # fixtures, used by name

TS_NS = 1_765_000_000_123_456_789


def _keys(client: Any, prefix: str) -> set[bytes]:
    """The keys under ``prefix``, the prefix cut off."""
    return {k[len(prefix) :] for k in client.scan_iter(match=f"{prefix}:*")}


def _assert_same(url: str, rust: str, python: str) -> int:
    """Every key under ``rust`` holds what the same key under ``python`` holds (hashes: every
    field; streams: every entry's fields, in order, not the entry ids); returns the keys."""
    client: Any = redis.Redis.from_url(url)
    keys = _keys(client, rust)
    assert keys, "the Rust writer wrote nothing"
    assert keys == _keys(client, python)
    for k in sorted(keys):
        kind = client.type(rust.encode() + k)
        assert kind == client.type(python.encode() + k)
        if kind == b"hash":
            assert client.hgetall(rust.encode() + k) == client.hgetall(python.encode() + k)
            # Field order too, as another client lists them.
            got = redis_cli(url, "HGETALL", (rust.encode() + k).decode())
            assert got == redis_cli(url, "HGETALL", (python.encode() + k).decode())
        else:
            assert kind == b"stream"
            ours = [f for _, f in client.xrange(rust.encode() + k)]
            theirs = [f for _, f in client.xrange(python.encode() + k)]
            assert ours == theirs
            assert [list(f) for f in ours] == [list(f) for f in theirs]  # field order
    client.close()
    return len(keys)


def _publish_both(url: str, prefix: str, instruments: list[InstrumentConfig], path: Path) -> None:
    replay = RustJournalReplay(instruments, path)
    rows = replay.read()
    tier = RedisTier(url, prefix=f"{prefix}r", stream_len=100_000)
    assert tier.publish(replay, rows, 0, replay.cursor, ts_ns=TS_NS)
    tier.close()
    trades = rows.rows(rows.columns()["kind"] == 3)
    books = {s: replay.depth(s, 10) for s in sorted(replay.touched)}
    client = redis.Redis.from_url(url)
    redis_py.publish(client, f"{prefix}p", trades, books, replay.cursor, TS_NS, 100_000)
    client.close()


def test_the_rust_writer_writes_what_the_redis_py_writer_wrote(
    redis_server_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    run = storage_workload.run(tmp_path, orders=3_000, seed=31)
    _publish_both(redis_server_url, redis_prefix, list(run.config.instruments), run.journal)
    keys = _assert_same(redis_server_url, f"{redis_prefix}r", f"{redis_prefix}p")
    assert keys == 4  # two instruments' books and trade streams


def test_tiny_steps_print_as_python_decimals_print_them(
    redis_server_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    """A lot of 1E-8 and prices of 0.0000001 print in Python's scientific form."""
    coin = InstrumentConfig(
        "SAT-BTC", tick_size="0.0000001", lot_size="0.00000001", min_qty="0.00000001",
        max_qty="100", min_price="0.0000001", max_price="1",
    )  # fmt: skip
    eng = Engine()
    eng.add_instrument(coin)
    eng.open_journal(str(tmp_path / "j"), fsync="none")
    eng.submit_batch(0, batch.new_orders(
        order_id=np.arange(1, 6), side=[batch.SELL, batch.SELL, batch.BUY, batch.BUY, batch.BUY],
        price=[1, 25, 1, 30, 2], qty=[1, 10, 1, 1, 7], account=[1, 2, 3, 4, 5],
    ))  # fmt: skip
    eng.close_journal()
    _publish_both(redis_server_url, redis_prefix, [coin], tmp_path / "j")
    _assert_same(redis_server_url, f"{redis_prefix}r", f"{redis_prefix}p")
    client: Any = redis.Redis.from_url(redis_server_url, decode_responses=True)
    prices = [f["price"] for _, f in client.xrange(f"{redis_prefix}r:{{SAT-BTC}}:trades")]
    assert "1E-7" in prices, prices
    client.close()


def test_send_writes_what_a_redis_py_pipeline_writes(
    redis_server_url: str, redis_prefix: str
) -> None:
    """The service's path (``RedisTier.send``: any hashes and entries)."""
    hashes: dict[str, dict[str, str | int]] = {
        ":{BTC-USD}:venue:xyz:book": {"venue": "kraken", "symbol": "XBT/USD", "ts_ns": 7,
                                        "bid": "64000.1", "bids": '[["64000.1", "0.5"]]'},
        ":{BTC-USD}:consolidated": {"bid": "", "mid": "64000.05", "ts_ns": -3},
    }  # fmt: skip
    entries: list[tuple[str, dict[str, str | int]]] = [
        (":{BTC-USD}:consolidated:ticks", {"bid": "1", "n": i}) for i in range(50)
    ]
    writer = RedisWriter(redis_server_url, stream_len=1_000)
    rust, python = f"{redis_prefix}r", f"{redis_prefix}p"
    assert writer.send(
        {rust + k: v for k, v in hashes.items()}, [(rust + k, e) for k, e in entries]
    )
    assert writer.counters == (52, 0, 0)
    client: Any = redis.Redis.from_url(redis_server_url)
    pipe = client.pipeline(transaction=False)
    for k, v in hashes.items():
        pipe.hset(python + k, mapping=v)
    for k, e in entries:
        pipe.xadd(python + k, e, maxlen=1_000, approximate=True)
    pipe.execute()
    client.close()
    assert _assert_same(redis_server_url, rust, python) == 3


def test_bad_fields_are_a_clear_error_and_write_nothing(
    redis_server_url: str, redis_prefix: str
) -> None:
    writer = RedisWriter(redis_server_url, prefix=redis_prefix)
    with pytest.raises(TypeError, match="str or an int"):
        writer.send({f"{redis_prefix}:{{X}}:book": {"bid": 1.5}}, [])  # type: ignore[dict-item]
    assert writer.pending == 0
    client = redis.Redis.from_url(redis_server_url)
    assert not _keys(client, redis_prefix)
    client.close()


def test_an_unreachable_redis_raises_with_its_reason() -> None:
    writer = RedisWriter("redis://127.0.0.1:1/0", timeout_s=0.2, retry_s=60.0)
    with pytest.raises(errors.WintermuteError) as e:
        writer.send({"wm:{X}:book": {"bid": "1"}}, [("wm:{X}:trades", {"n": 1})])
    assert e.value.reason == "REDIS_UNREACHABLE"
    assert writer.down
    assert writer.pending == 1  # kept for the next round
    assert writer.counters == (0, 1, 1)
    # Within retry_s no new try: the entry is dropped, no error.
    assert writer.send({}, [("wm:{X}:trades", {"n": 2})]) is False
    assert writer.counters == (0, 2, 1)
    with pytest.raises(errors.WintermuteError, match="redis url"):
        RedisWriter("http://nowhere/")


def test_the_readers_keys_are_the_documented_layout_that_rust_builds() -> None:
    assert redis_tier.book_key("wm", "BTC-USD") == "wm:{BTC-USD}:book"
    assert redis_tier.trades_key("wm", "BTC-USD") == "wm:{BTC-USD}:trades"
    assert redis_tier.venue_book_key("p", "ETH-USD", "xyz") == "p:{ETH-USD}:venue:xyz:book"
    assert redis_tier.venue_trades_key("p", "ETH-USD", "xyz") == "p:{ETH-USD}:venue:xyz:trades"
    assert redis_tier.consolidated_key("wm", "BTC-USD") == "wm:{BTC-USD}:consolidated"
    assert redis_tier.ticks_key("wm", "BTC-USD") == "wm:{BTC-USD}:consolidated:ticks"


@pytest.mark.parametrize(
    ("kind", "venue"),
    [("bbo", None), ("book", "kraken"), ("venue_book", None), ("venue_trades", None)],
)
def test_an_unknown_key_kind_or_a_misplaced_venue_is_a_type_error(
    kind: str, venue: str | None
) -> None:
    with pytest.raises(TypeError, match=f'kind="{kind}"'):
        redis_key("wm", "BTC-USD", kind, venue)  # type: ignore[arg-type]
