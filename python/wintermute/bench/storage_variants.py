"""``wintermute bench storage``'s PostgreSQL variants: the same binary ``COPY`` data (the Rust
rows of the run) into tables that differ in their indexes, over one connection or two in
parallel, to show where the server's time goes (``--variants``).

Each variant is a fresh unpartitioned table of ``audit_events``' columns (what a ``COPY``
straight into the day's partition writes), with one of these index sets:

- ``audit_events' indexes``: the store's own (six B-tree indexes today), read from the
  migrated schema's ``pg_indexes``, so the bench follows the migrations;
- ``with BRIN seq``: the same, with ``(journal_seq, n)`` as a BRIN index on ``journal_seq``
  (the rows arrive in sequence order);
- ``none``: no index (the server's ceiling for this data).

Two connections each ``COPY`` one half of the rows (a contiguous slice) in a transaction of
their own, at the same time (threads; the server works in two backends). The time is the
wall clock from the first byte sent to the last commit.
"""

from __future__ import annotations

import threading
import time
from typing import Any

import psycopg

from wintermute.storage.rust_rows import AuditBatch

__all__ = ["copy_variants", "index_sets"]


def index_sets(db: psycopg.Connection[Any], schema: str) -> dict[str, list[tuple[str, str]]]:
    """Index set name -> (index name, ``USING ... (columns)``) pairs (see the module docs)."""
    rows = db.execute(
        "SELECT indexname, indexdef FROM pg_indexes"
        " WHERE schemaname = %s AND tablename = 'audit_events' ORDER BY indexname",
        (schema,),
    ).fetchall()
    own = [(name.removeprefix("audit_events_"), d[d.index(" USING ") + 1 :]) for name, d in rows]
    if not own:
        raise RuntimeError(f"no indexes on {schema}.audit_events: is it a migrated audit store?")
    return {
        "audit_events' indexes": own,
        "with BRIN seq": [(k, "USING brin (journal_seq)" if k == "seq" else u) for k, u in own],
        "none": [],
    }


def _table(db: psycopg.Connection[Any], name: str, indexes: list[tuple[str, str]]) -> None:
    db.execute(f"DROP TABLE IF EXISTS {name}")
    db.execute(f"CREATE TABLE {name} (LIKE audit_events INCLUDING DEFAULTS)")
    for index, using in indexes:
        db.execute(f"CREATE INDEX {name}_{index} ON {name} {using}")
    db.commit()


def _copy(db: psycopg.Connection[Any], table: str, data: bytes) -> None:
    with (
        db.transaction(),
        db.cursor() as cur,
        cur.copy(f"COPY {table} FROM STDIN (FORMAT BINARY)") as copy,
    ):
        copy.write(data)


def copy_variants(url: str, schema: str, columns: AuditBatch) -> list[dict[str, Any]]:
    """Times every index set with one connection and with two; the tables are dropped
    afterwards. ``schema`` must exist and hold ``audit_events``."""
    dbs = [psycopg.connect(url, options=f"-c search_path={schema}") for _ in range(2)]
    half = len(columns) // 2
    whole = columns.copy_binary()[0]
    halves = [columns.copy_binary(0, half)[0], columns.copy_binary(half)[0]]
    out = []
    try:
        for label, indexes in index_sets(dbs[0], schema).items():
            for connections in (1, 2):
                table = "bench_variant"
                _table(dbs[0], table, indexes)
                start = time.perf_counter()
                if connections == 1:
                    _copy(dbs[0], table, whole)
                else:
                    threads = [
                        threading.Thread(target=_copy, args=(db, table, data))
                        for db, data in zip(dbs, halves, strict=True)
                    ]
                    for t in threads:
                        t.start()
                    for t in threads:
                        t.join()
                seconds = time.perf_counter() - start
                stored = dbs[0].execute(f"SELECT count(*) FROM {table}").fetchone()
                dbs[0].commit()
                if stored != (len(columns),):
                    raise RuntimeError(f"{label}: stored {stored} of {len(columns)} rows")
                out.append({"name": f"postgresql COPY, {label}, {connections} connection(s)",
                            "rows": len(columns), "seconds": seconds})  # fmt: skip
        dbs[0].execute("DROP TABLE IF EXISTS bench_variant")
        dbs[0].commit()
    finally:
        for db in dbs:
            db.close()
    return out
