"""The market-data history in PostgreSQL (``market_history.py``'s tables, migration 3 of
``postgres.py``).

- **Batches by binary COPY**: each :meth:`PostgresHistory.write` is one transaction that COPYs
  each table's rows (``FORMAT BINARY``) into a temporary staging table, then moves them with
  ``INSERT ... SELECT ... ON CONFLICT DO NOTHING`` (COPY itself cannot skip a row already
  stored, and re-recording a stream must not fail or duplicate).
- **Partitioned by day** on ``ts_ns`` like ``audit_events``: ``md_trades_pYYYYMMDD``, ... created
  as rows for a new day arrive; the primary key (venue, symbol, ts_ns, ...) is the index for
  venue + symbol + time range queries, and a time range prunes partitions.
- **Retention by dropping partitions** (:meth:`PostgresHistory.drop_before`), as the audit
  trail's (``wintermute audit retain`` and ``wintermute md retain`` take the same day).
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timedelta, timezone
from typing import Any

import psycopg

from wintermute.storage.market_history import (
    COLUMNS,
    PG_TYPES,
    TABLES,
    HistoryQuery,
    LevelRow,
    TickRow,
    TradeRow,
)
from wintermute.storage.postgres import PostgresStore
from wintermute.storage.schema import StorageError

__all__ = ["PostgresHistory"]

_DAY_NS = 86_400 * 10**9
_PARTITION = re.compile(r"^md_[a-z]+_p(\d{8})$")


class PostgresHistory:
    """The market-data tables of the PostgreSQL audit store at ``url`` (in ``schema`` when
    given, as ``PostgresStore``)."""

    backend = "postgresql"

    def __init__(self, url: str, connect_timeout: float = 5.0, schema: str | None = None) -> None:
        self._store = PostgresStore(url, connect_timeout, schema)  # connects and migrates
        self._days: set[tuple[str, int]] = set()
        self._staged = False

    @property
    def _db(self) -> psycopg.Connection[Any]:
        return self._store._db

    def reconnect(self) -> None:
        """Opens a new connection (after the server went away)."""
        self._days.clear()
        self._staged = False
        self._store.reconnect()

    def _stage(self) -> None:
        if self._staged:
            return
        for table, _ in TABLES.values():
            self._db.execute(
                f"CREATE TEMP TABLE IF NOT EXISTS stage_{table} (LIKE {table}) "
                "ON COMMIT DELETE ROWS"
            )
        self._staged = True

    def _ensure_days(self, table: str, rows: Sequence[Sequence[Any]]) -> None:
        days = {(table, r[2] // _DAY_NS) for r in rows}  # ts_ns is the third column everywhere
        for _, day in sorted(days - self._days):
            start = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(days=day)
            self._db.execute(
                f"CREATE TABLE IF NOT EXISTS {table}_p{start:%Y%m%d} PARTITION OF {table} "
                f"FOR VALUES FROM ({day * _DAY_NS}) TO ({(day + 1) * _DAY_NS})"
            )
            self._days.add((table, day))

    def write(
        self,
        trades: Sequence[TradeRow] = (),
        ticks: Sequence[TickRow] = (),
        levels: Sequence[LevelRow] = (),
    ) -> int:
        stored = 0
        try:
            self._stage()
            with self._db.transaction():
                for name, rows in (("trades", trades), ("ticks", ticks), ("snapshots", levels)):
                    if rows:
                        stored += self._copy(name, rows)
        except psycopg.Error as e:
            self._days.clear()  # a rolled-back partition may not exist
            raise StorageError(
                f"postgresql: market-data write failed: {e}", reason="STORAGE"
            ) from e
        return stored

    def _copy(self, name: str, rows: Sequence[Sequence[Any]]) -> int:
        table = TABLES[name][0]
        columns = ", ".join(COLUMNS[name])
        self._ensure_days(table, rows)
        with (
            self._db.cursor() as cur,
            cur.copy(f"COPY stage_{table} ({columns}) FROM STDIN (FORMAT BINARY)") as copy,
        ):
            copy.set_types(PG_TYPES[name])
            for r in rows:
                copy.write_row(r)
        cur = self._db.execute(
            f"INSERT INTO {table} ({columns}) SELECT {columns} FROM stage_{table} "
            "ON CONFLICT DO NOTHING"
        )
        return max(cur.rowcount, 0)

    def _select(self, q: HistoryQuery) -> tuple[str, list[object]]:
        where, params = q.where("%s")
        return (
            f"SELECT {', '.join(COLUMNS[q.table])} FROM {q.sql_table} WHERE {where} "
            f"ORDER BY {q.order}",
            params,
        )

    def query(self, q: HistoryQuery) -> list[Any]:
        sql, params = self._select(q)
        row = TABLES[q.table][1]
        return [row(*r) for r in self._db.execute(sql + " LIMIT %s", [*params, q.limit])]

    def rows(self, q: HistoryQuery, chunk: int = 10_000) -> Iterator[Any]:
        sql, params = self._select(q)
        row = TABLES[q.table][1]
        with self._db.transaction(), self._db.cursor(name="md_rows") as cur:
            cur.execute(sql, params)
            while batch := cur.fetchmany(chunk):
                for r in batch:
                    yield row(*r)

    def count(self, table: str) -> int:
        found = self._db.execute(f"SELECT count(*) FROM {HistoryQuery(table).sql_table}").fetchone()
        assert found is not None
        return int(found[0])

    def partitions(self) -> dict[str, list[date]]:
        """Each table's day partitions, oldest first."""
        out: dict[str, list[date]] = {}
        for table, _ in TABLES.values():
            cur = self._db.execute(
                "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
                "WHERE i.inhparent = %s::regclass",
                (table,),
            )
            days = [m.group(1) for (name,) in cur if (m := _PARTITION.match(name))]
            out[table] = sorted(datetime.strptime(d, "%Y%m%d").date() for d in days)
        return out

    def drop_before(self, day: date) -> int:
        gone = 0
        with self._db.transaction():
            for table, days in self.partitions().items():
                for d in days:
                    if d < day:
                        self._db.execute(f"DROP TABLE {table}_p{d:%Y%m%d}")
                        gone += 1
        self._days.clear()
        return gone

    def close(self) -> None:
        self._store.close()
