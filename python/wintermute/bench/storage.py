"""``wintermute bench storage``: how fast the storage tiers take the audit trail.

::

    wintermute bench storage [--orders N] [--postgres URL] [--redis URL] [--batch-rows N]
                             [--seed N] [--json] [--variants] [--connections 1,2,4]

A seeded order flow (``--orders`` commands, one instrument, about a quarter crossing) runs
through an in-thread engine with a journal; then, each timed on its own:

- ``replay``: journal -> audit rows (``JournalReplay.read``: the engine's replay plus the
  conversion to exact decimals);
- ``sqlite``: the rows into a fresh SQLite file (``SqliteStore.write``, ``--batch-rows`` per
  transaction);
- ``postgresql`` (with ``--postgres URL``): the rows into a schema of their own
  (``wm_bench_<pid>``, dropped afterwards) by binary COPY, one connection;
- ``redis`` (with ``--redis URL``): the trades and their book, pipelines of 1,000 XADD + 1
  HSET (keys under ``wmbench<pid>``, deleted afterwards), in updates/s, twice in the same
  run: through redis-py with the tier's former Python encoding (``redis_py.py``, the
  baseline), and through ``RedisTier.publish`` (encoded and written in Rust, the rows from
  ``RustJournalReplay``; in the report's ``rust`` list).

Then the same journal with the rows built in Rust (``rust_rows.RustJournalReplay``), in the
report's ``rust`` list, same run:

- ``replay (Rust)``: journal -> audit rows as columns (no Python per row);
- ``sqlite (rows from Rust columns)``: ``AuditRow`` s built from the columns, then the same
  batched writes;
- ``COPY data encoded (Rust)``: the binary COPY data of every row, encoded in Rust;
- ``postgresql (Rust binary COPY)``: ``PostgresStore.write_columns``: the COPY data encoded in
  Rust (exact ``numeric`` from ticks and lots), same batches;
- ``postgresql (same COPY, table without indexes)``: the same data in one COPY into a table of
  the same columns without its indexes and partitions (what the indexes cost the server);
- ``postgresql (writer's batches, N connection(s))``, for each N of ``--connections N,N,...``
  (``1,2,4``: the three in one run; none without the option): the same batches through
  ``PostgresStore.write_ranges``, the audit writer's path on N connections (each batch a
  transaction with its sequence range, then the fold of the gap-free prefix), each N into a
  fresh schema, its connections opened before the clock starts.

With ``--variants`` (and ``--postgres``), the same COPY data into tables with other index
sets, over one connection and two (``storage_variants.py``). Without a URL a backend is left
out and named in the notes.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from wintermute import batch
from wintermute.config import InstrumentConfig
from wintermute.engine import Engine
from wintermute.storage.replay import JournalReplay
from wintermute.storage.rust_rows import AuditBatch, RustJournalReplay, command_batches
from wintermute.storage.schema import AuditRow

__all__ = ["add_parser", "run"]

INSTRUMENT = InstrumentConfig(
    "BTC-USD", tick_size="0.01", lot_size="0.001", min_qty="0.001", max_qty="100",
    min_price="1", max_price="1000000",
)  # fmt: skip


def _journal(path: Path, orders: int, seed: int) -> None:
    """Writes the journal of a seeded flow: limit orders around a mid, some crossing."""
    rng = random.Random(seed)
    eng = Engine()
    eng.add_instrument(INSTRUMENT)
    eng.open_journal(str(path), fsync="none")
    mid = 6_400_000
    sides = [rng.choice((batch.BUY, batch.SELL)) for _ in range(orders)]
    offsets = [rng.randint(-20, 40) for _ in range(orders)]  # negative: crossing
    prices = [mid - o if s == batch.BUY else mid + o for s, o in zip(sides, offsets, strict=True)]
    cmds = batch.new_orders(
        order_id=np.arange(1, orders + 1),
        side=sides,
        price=prices,
        qty=[rng.randint(1, 50) for _ in range(orders)],
        account=[rng.randint(1, 8) for _ in range(orders)],
    )
    for start in range(0, orders, 10_000):
        eng.submit_batch(0, cmds[start : start + 10_000])
    eng.close_journal()


def _timed_writes(store: Any, rows: list[AuditRow], batch_rows: int) -> float:
    """Seconds to write ``rows`` in batches of about ``batch_rows``, each ending at a command
    boundary (as the writer cuts them: a store takes whole commands)."""
    start = time.perf_counter()
    i = 0
    while i < len(rows):
        end = min(i + batch_rows, len(rows))
        while end < len(rows) and rows[end].journal_seq == rows[end - 1].journal_seq:
            end += 1
        store.write(rows[i:end], rows[end - 1].journal_seq)
        i = end
    seconds = time.perf_counter() - start
    if store.count() != len(rows):
        raise RuntimeError(f"{store.backend}: stored {store.count()} of {len(rows)} rows")
    return seconds


def run(
    orders: int,
    seed: int,
    batch_rows: int,
    postgres: str | None,
    redis_url: str | None,
    variants: bool = False,
    connections: tuple[int, ...] = (),
) -> dict[str, Any]:
    """Runs the measurements; returns ``{"rows", "results": [...], "notes": [...]}``."""
    results: list[dict[str, Any]] = []
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="wm-bench-storage-") as tmp:
        journal = Path(tmp) / "journal"
        _journal(journal, orders, seed)
        replay = JournalReplay([INSTRUMENT], journal)
        start = time.perf_counter()
        rows = replay.read()
        seconds = time.perf_counter() - start
        results.append({"name": "replay", "rows": len(rows), "seconds": seconds})

        from wintermute.storage.sqlite import SqliteStore

        lite = SqliteStore(str(Path(tmp) / "bench.db"))
        results.append({"name": "sqlite", "rows": len(rows),
                        "seconds": _timed_writes(lite, rows, batch_rows)})  # fmt: skip
        lite.close()
        if postgres:
            results.append(_postgres(postgres, rows, batch_rows))
        else:
            notes.append("postgresql: left out (give --postgres URL)")
        if redis_url:
            python_row, rust_row = _redis(redis_url, rows, replay, journal)
            results.append(python_row)
        else:
            notes.append("redis: left out (give --redis URL)")
        rust = _rust(journal, Path(tmp), batch_rows, postgres, len(rows), variants, connections)
        if redis_url:
            rust.append(rust_row)
    for r in results + rust:
        r["per_s"] = r.get("updates", r["rows"]) / r["seconds"] if r["seconds"] else 0.0
    return {"orders": orders, "rows": len(rows), "results": results, "rust": rust,
            "notes": notes}  # fmt: skip


def _rust(
    journal: Path,
    tmp: Path,
    batch_rows: int,
    postgres: str | None,
    expected: int,
    variants: bool = False,
    connections: tuple[int, ...] = (),
) -> list[dict[str, Any]]:
    """The Rust path's rows: built, into SQLite, into PostgreSQL (same batches)."""
    replay = RustJournalReplay([INSTRUMENT], journal)
    start = time.perf_counter()
    columns = replay.read()
    out = [{"name": "replay (Rust)", "rows": len(columns), "seconds": time.perf_counter() - start}]
    if len(columns) != expected:
        raise RuntimeError(f"Rust replay: {len(columns)} rows, the Python replay {expected}")
    start = time.perf_counter()
    data, count = columns.copy_binary()
    out.append({"name": "COPY data encoded (Rust)", "rows": count,
                "seconds": time.perf_counter() - start, "bytes": len(data)})  # fmt: skip
    from wintermute.storage.sqlite import SqliteStore

    lite = SqliteStore(str(tmp / "bench-rust.db"))
    start = time.perf_counter()
    rows = columns.rows()
    seconds = time.perf_counter() - start + _timed_writes(lite, rows, batch_rows)
    out.append({"name": "sqlite (rows from Rust columns)", "rows": len(rows), "seconds": seconds})
    lite.close()
    if postgres:
        out.extend(_postgres_rust(postgres, columns, batch_rows, variants))
        out.extend(_postgres_parallel(postgres, columns, batch_rows, n) for n in connections)
    return out


def _postgres_parallel(
    url: str, columns: AuditBatch, batch_rows: int, connections: int
) -> dict[str, Any]:
    """The writer's batches through ``write_ranges`` on ``connections`` connections."""
    from psycopg import sql

    from wintermute.storage.postgres import PostgresStore, RangeWrite

    schema = f"wm_bench_par_{os.getpid()}_{connections}"
    store = PostgresStore(url, schema=schema, connections=connections)
    seqs = columns.journal_seq.tolist()
    batches, after = [], 0
    for i, end in command_batches(seqs, batch_rows):
        batches.append(RangeWrite(columns, i, end, after, seqs[end - 1]))
        after = seqs[end - 1]
    try:
        store._open_pool()
        start = time.perf_counter()
        written, prefix, error = store.write_ranges(batches)
        seconds = time.perf_counter() - start
        if error is not None:
            raise error
        if written != len(columns) or store.count() != len(columns) or prefix != seqs[-1]:
            raise RuntimeError(f"postgresql: stored {store.count()} of {len(columns)} rows")
    finally:
        store.reset()
        store._db.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
        store.close()
    return {"name": f"postgresql (writer's batches, {connections} connection(s))",
            "rows": len(columns), "seconds": seconds, "batches": len(batches)}  # fmt: skip


def _postgres_rust(
    url: str, columns: AuditBatch, batch_rows: int, variants: bool
) -> list[dict[str, Any]]:
    from psycopg import sql

    from wintermute.storage.postgres import PostgresStore

    schema = f"wm_bench_rust_{os.getpid()}"
    store = PostgresStore(url, schema=schema)
    seqs = columns.journal_seq.tolist()
    try:
        start = time.perf_counter()
        for i, end in command_batches(seqs, batch_rows):
            store.write_columns(columns, seqs[end - 1], i, end)
        seconds = time.perf_counter() - start
        if store.count() != len(columns):
            raise RuntimeError(f"postgresql: stored {store.count()} of {len(columns)} rows")
        bare = [_bare_copy(store, columns)]
        if variants:
            from wintermute.bench.storage_variants import copy_variants

            bare.extend(copy_variants(url, schema, columns))
    finally:
        store.reset()
        store._db.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
        store.close()
    return [{"name": "postgresql (Rust binary COPY)", "rows": len(columns), "seconds": seconds},
            *bare]  # fmt: skip


def _bare_copy(store: Any, columns: AuditBatch) -> dict[str, Any]:
    """The same COPY data, in one transaction, into a table of the same columns without
    indexes or partitions: what the server takes when it maintains no index."""
    db = store._db
    db.execute("CREATE TABLE bench_bare (LIKE audit_events)")
    data, count = columns.copy_binary()
    start = time.perf_counter()
    with (
        db.transaction(),
        db.cursor() as cur,
        cur.copy("COPY bench_bare FROM STDIN (FORMAT BINARY)") as copy,
    ):
        copy.write(data)
    seconds = time.perf_counter() - start
    stored = db.execute("SELECT count(*) FROM bench_bare").fetchone()
    if stored != (count,):
        raise RuntimeError(f"postgresql: the bare table holds {stored} of {count} rows")
    return {"name": "postgresql (same COPY, table without indexes)", "rows": count,
            "seconds": seconds}  # fmt: skip


def _postgres(url: str, rows: list[AuditRow], batch_rows: int) -> dict[str, Any]:
    from psycopg import sql

    from wintermute.storage.postgres import PostgresStore

    schema = f"wm_bench_{os.getpid()}"
    store = PostgresStore(url, schema=schema)
    try:
        seconds = _timed_writes(store, rows, batch_rows)
    finally:
        store.reset()
        store._db.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
        store.close()
    return {"name": "postgresql (binary COPY, 1 connection)", "rows": len(rows),
            "seconds": seconds}  # fmt: skip


def _redis(
    url: str, rows: list[AuditRow], replay: JournalReplay, journal: Path
) -> tuple[dict[str, Any], dict[str, Any]]:
    """The trades and their book into Redis, pipelines of ``chunk`` XADD + 1 HSET: through
    redis-py (the tier's former Python encoding, ``bench/redis_py.py``), then through the
    tier as it runs (``RedisTier.publish``: encoded and written in Rust), same run."""
    import redis

    from wintermute.bench import redis_py
    from wintermute.storage.redis_tier import RedisTier

    chunk = 1_000
    trades = [r for r in rows if r.kind == "trade"]
    books = {"BTC-USD": replay.depth("BTC-USD")}
    client = redis.Redis.from_url(url, socket_timeout=5.0)
    prefix = f"wmbench{os.getpid()}"
    updates = 0
    start = time.perf_counter()
    for i in range(0, len(trades), chunk):
        updates += redis_py.publish(client, prefix, trades[i : i + chunk], books, i, time.time_ns())
    seconds = time.perf_counter() - start
    python_row = {"name": f"redis (redis-py, pipelines of {chunk} XADD + 1 HSET)",
                  "rows": len(trades), "updates": updates, "seconds": seconds}  # fmt: skip

    rust_prefix = f"wmbenchrust{os.getpid()}"
    rust_replay = RustJournalReplay([INSTRUMENT], journal)
    batch = rust_replay.read()
    kind = batch.columns()["kind"]
    seqs = batch.journal_seq[kind == 3]
    tier = RedisTier(url, prefix=rust_prefix, timeout_s=5.0)
    rounds, i, after = 0, 0, 0
    start = time.perf_counter()
    while i < len(seqs):
        seq = int(seqs[min(i + chunk, len(seqs)) - 1])
        if not tier.publish(rust_replay, batch, after, seq):
            raise RuntimeError(f"redis at {url} did not take the updates")
        after, rounds = seq, rounds + 1
        i = int(np.searchsorted(seqs, seq, side="right"))
    seconds = time.perf_counter() - start
    written = tier._writer.counters[0]
    tier.close()
    if written != len(seqs) + rounds or len(seqs) != len(trades):
        raise RuntimeError(f"Rust writer: {written} updates for {len(seqs)} trades")
    rust_row = {"name": f"redis (Rust RedisWriter, pipelines of {chunk} XADD + 1 HSET)",
                "rows": len(seqs), "updates": written, "seconds": seconds}  # fmt: skip
    for p in (prefix, rust_prefix):
        keys = list(client.scan_iter(match=f"{p}:*"))
        if keys:
            client.delete(*keys)
    client.close()
    return python_row, rust_row


def to_table(report: dict[str, Any]) -> str:
    lines = [f"{report['orders']} orders -> {report['rows']} audit rows", ""]
    lines.append(f"{'target':<46} {'items':>9} {'seconds':>9} {'per second':>12}")
    for r in report["results"] + report.get("rust", []):
        items = r.get("updates", r["rows"])
        lines.append(f"{r['name']:<46} {items:>9} {r['seconds']:>9.3f} {r['per_s']:>12,.0f}")
    lines += [f"note: {n}" for n in report["notes"]]
    return "\n".join(lines)


def _main(args: argparse.Namespace) -> int:
    report = run(
        args.orders, args.seed, args.batch_rows, args.postgres, args.redis, args.variants,
        args.connections,
    )  # fmt: skip
    print(json.dumps(report, indent=2) if args.json else to_table(report))
    return 0


def add_parser(targets: Any) -> None:
    """Adds the ``storage`` sub-target to ``wintermute bench``'s sub-parsers."""
    p = targets.add_parser(
        "storage", help="audit rows/s into SQLite and PostgreSQL, Redis updates/s"
    )
    p.add_argument("--orders", type=int, default=200_000, help="commands in the journal")
    p.add_argument("--seed", type=int, default=42, help="order flow seed")
    p.add_argument("--batch-rows", type=int, default=50_000, help="rows per transaction")
    p.add_argument("--postgres", help="a postgresql:// URL (a scratch schema is used)")
    p.add_argument("--redis", help="a redis:// URL (a scratch key prefix is used)")
    p.add_argument("--json", action="store_true", help="print a JSON document")
    p.add_argument(
        "--variants",
        action="store_true",
        help="with --postgres: the same COPY into tables with other index sets, over one "
        "connection and two in parallel (bench/storage_variants.py)",
    )
    p.add_argument(
        "--connections",
        type=_connection_counts,
        default=(),
        metavar="N,N,...",
        help="with --postgres: the writer's batches on each of these numbers of connections, "
        "like 1,2,4 (default: none)",
    )
    p.set_defaults(handler=_main)


def _connection_counts(text: str) -> tuple[int, ...]:
    from wintermute.storage.schema import MAX_CONNECTIONS

    try:
        counts = tuple(int(t) for t in text.split(","))
    except ValueError:
        counts = ()
    if not counts or not all(1 <= n <= MAX_CONNECTIONS for n in counts):
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected numbers of connections from 1 to {MAX_CONNECTIONS}, like 1,2,4"
        )
    return counts
