"""The Redis hot tier (wintermute.storage.redis_tier) against a real Redis: what we wrote,
read back by ``redis-cli`` (a client we did not write) and by our reader; Redis going away
and coming back while the audit writer keeps going."""

from __future__ import annotations

import shutil
import subprocess
import tempfile
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

import storage_workload
from storage_servers import CI, redis_prefix, redis_server_url, start_redis, start_redis_cluster
from wintermute import batch, journal
from wintermute.config import EngineConfig
from wintermute.engine import Engine
from wintermute.storage import AuditWriter, open_store
from wintermute.storage.redis_tier import RedisReader, RedisTier

__all__ = ["redis_prefix", "redis_server_url"]  # fixtures, used by name


def redis_cli(url: str, *args: str) -> str:
    cli = shutil.which("redis-cli")
    if cli is None:
        if CI:
            pytest.fail("redis-cli is missing; CI=true requires it")
        pytest.skip("redis-cli is missing")
    done = subprocess.run(
        [cli, "-u", url, "--no-raw", *args], capture_output=True, text=True, timeout=10, check=True
    )
    return done.stdout


def _replayed_books(run: storage_workload.Run) -> Engine:
    """The final books, from a fresh engine that runs the journal's commands one by one (the
    reference for what Redis must hold)."""
    eng = Engine()
    for instrument in run.config.instruments:
        eng.add_instrument(instrument)
    names = [n for n in batch.COMMAND_DTYPE.names or () if not n.startswith("_")]
    for e in journal.read(run.journal):
        cmd = np.zeros(1, dtype=batch.COMMAND_DTYPE)
        for n in names:
            cmd[n] = e[n]
        eng.submit_batch(int(e["instrument"]), cmd)
    return eng


def test_books_and_trades_in_redis_match_the_engine_and_read_back_with_redis_cli(
    redis_server_url: str, redis_prefix: str, tmp_path: Path
) -> None:
    run = storage_workload.run(tmp_path, orders=5_000, seed=21)
    hot = RedisTier(redis_server_url, prefix=redis_prefix, stream_len=100)
    store = open_store(":memory:")
    AuditWriter(store, run.config.instruments, run.journal, hot=hot).step()
    reference = _replayed_books(run)
    reader = RedisReader(redis_server_url, prefix=redis_prefix)
    for symbol in ("BTC-USD", "ETH-USD"):
        depth = reference.depth(symbol, 10)
        book = reader.book(symbol)
        assert book is not None
        assert book["seq"] == run.last_seq
        assert book["bids"] == [tuple(level) for level in depth["bids"]]
        assert book["asks"] == [tuple(level) for level in depth["asks"]]
        (bid, _), (ask, _) = reference.bbo(symbol)  # type: ignore[misc]
        assert reader.bbo(symbol) == (bid, ask)
        key = f"{redis_prefix}:{{{symbol}}}:book"
        assert redis_cli(redis_server_url, "HGET", key, "bid").strip() == f'"{bid}"'
        # Trades: the stream is trimmed to about 100 entries, newest last, equal to the rows.
        trades = [r for r in run.expected if r[5] == "trade" and r[3] == symbol]
        stream = f"{redis_prefix}:{{{symbol}}}:trades"
        length = int(redis_cli(redis_server_url, "XLEN", stream).split()[-1])
        assert 100 <= length < len(trades)
        newest = reader.trades(symbol, 50)
        assert [(t["journal_seq"], t["n"], t["price"], t["qty"], t["side"]) for t in newest] == [
            (r[0], r[1], r[9], r[10], r[8]) for r in trades[-50:]
        ]
        last = redis_cli(redis_server_url, "XREVRANGE", stream, "+", "-", "COUNT", "1")
        assert f'"{trades[-1][9]}"' in last  # the price text, exactly
    reader.close()
    hot.close()


def test_the_writer_keeps_going_while_redis_is_down_and_the_cache_recovers(
    tmp_path: Path,
) -> None:
    tmp = Path(tempfile.mkdtemp(prefix="wm-redis-down-"))
    url, server = start_redis(tmp)
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    chunks: list[int] = []
    downs: list[bool] = []
    state: dict[str, object] = {}

    def between_chunks(config: EngineConfig, journal_dir: Path) -> None:
        if "writer" not in state:
            store = open_store(":memory:")
            hot = RedisTier(url, retry_s=0.0, timeout_s=0.2)
            state.update(writer=AuditWriter(store, config.instruments, journal_dir, hot=hot))
        writer = state["writer"]
        assert isinstance(writer, AuditWriter)
        chunks.append(writer.step())
        if len(chunks) == 3:
            server.kill()  # Redis dies mid-run
            server.wait()
        assert writer.hot is not None
        downs.append(writer.hot.down)

    try:
        run = storage_workload.run(tmp_path, orders=3_000, seed=8, between_chunks=between_chunks)
        writer = state["writer"]
        assert isinstance(writer, AuditWriter)
        assert len(chunks) > 4
        assert not any(downs[:3])
        assert any(downs[3:])  # a step that had something to publish found Redis away
        writer.step()  # what the engine journaled after the last chunk, Redis still away
        assert writer.store.last_seq() == run.last_seq  # the audit trail missed nothing
        url2, server2 = start_redis(tmp, port=port)  # Redis returns on the same port
        try:
            writer.step()
            assert writer.hot is not None
            assert not writer.hot.down
            reference = _replayed_books(run)
            reader = RedisReader(url2)
            for symbol in ("BTC-USD", "ETH-USD"):
                book = reader.book(symbol)
                assert book is not None
                assert book["bids"] == [tuple(x) for x in reference.depth(symbol, 10)["bids"]]
            reader.close()
        finally:
            server2.kill()
            server2.wait()
    finally:
        if server.poll() is None:
            server.kill()
            server.wait()
        shutil.rmtree(tmp, ignore_errors=True)


def test_book_fields_are_exact_decimal_text() -> None:
    # The redis-py encoding, kept as the reference of the Rust writer (test_storage_redis_rust).
    from wintermute.bench.redis_py import book_fields

    fields = book_fields({"bids": [(Decimal("64000.25"), Decimal("0.500"), 2)], "asks": []}, 7, 1)
    assert fields["bid"] == "64000.25"
    assert fields["bid_qty"] == "0.500"
    assert fields["ask"] == ""
    assert fields["bids"] == '[["64000.25", "0.500", 2]]'


def test_the_same_code_publishes_to_a_redis_cluster(tmp_path: Path) -> None:
    nodes_dir = Path(tempfile.mkdtemp(prefix="wm-redis-cluster-"))
    urls, procs = start_redis_cluster(nodes_dir)
    try:
        run = storage_workload.run(tmp_path, orders=1_500, seed=23)
        hot = RedisTier(urls[0], cluster=True, timeout_s=2.0)
        AuditWriter(open_store(":memory:"), run.config.instruments, run.journal, hot=hot).step()
        assert not hot.down
        reference = _replayed_books(run)
        reader = RedisReader(urls[1], cluster=True)  # any node will do
        slots = set()
        for symbol in ("BTC-USD", "ETH-USD"):
            book = reader.book(symbol)
            assert book is not None
            assert book["bids"] == [tuple(x) for x in reference.depth(symbol, 10)["bids"]]
            trades = [r for r in run.expected if r[5] == "trade" and r[3] == symbol]
            newest = reader.trades(symbol, 5)
            assert [(t["journal_seq"], t["n"]) for t in newest] == [
                (r[0], r[1]) for r in trades[-5:]
            ]
            # Both of an instrument's keys live in one slot; redis-cli -c follows redirects.
            key_slots = {
                redis_cli(urls[2], "-c", "CLUSTER", "KEYSLOT", f"wm:{{{symbol}}}:{kind}")
                for kind in ("book", "trades")
            }
            assert len(key_slots) == 1
            slots |= key_slots
            bid = redis_cli(urls[2], "-c", "HGET", f"wm:{{{symbol}}}:book", "bid").strip()
            assert bid == f'"{book["bids"][0][0]}"'
        assert len(slots) == 2
        reader.close()
        hot.close()
    finally:
        for p in procs:
            p.kill()
            p.wait()
        shutil.rmtree(nodes_dir, ignore_errors=True)
