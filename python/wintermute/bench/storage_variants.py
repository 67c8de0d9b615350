"""``wintermute bench storage``'s PostgreSQL variants: the same binary ``COPY`` data (the Rust
rows of the run) into tables that differ in their indexes, over one connection or two in
parallel, to show where the server's time goes (``--variants``).

Each variant is a fresh unpartitioned table of ``audit_events``' columns (what a ``COPY``
straight into the day's partition writes), with one of these index sets:

- ``six btree``: the indexes of ``audit_events`` (``schema.py``, migration 1 and 3);
- ``five btree + BRIN seq``: ``(journal_seq, n)`` as a BRIN index (the rows arrive in
  sequence order), the other five as they are;
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

__all__ = ["INDEX_SETS", "copy_variants"]

_BTREE = {
    "seq": "(journal_seq, n)",
    "account": "(account, journal_seq)",
    "instrument": "(instrument, journal_seq)",
    "order": "(order_id, journal_seq)",
    "contra_account": "(contra_account, journal_seq)",
    "contra_order": "(contra_order_id, journal_seq)",
}
#: Index set name -> (index name, ``USING ... (columns)``) pairs.
INDEX_SETS: dict[str, list[tuple[str, str]]] = {
    "six btree": [(k, f"USING btree {v}") for k, v in _BTREE.items()],
    "five btree + BRIN seq": [
        (k, "USING brin (journal_seq)" if k == "seq" else f"USING btree {v}")
        for k, v in _BTREE.items()
    ],
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
        for label, indexes in INDEX_SETS.items():
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
