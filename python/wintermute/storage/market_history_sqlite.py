"""The market-data history in SQLite (``market_history.py``'s tables, migration 3 of
``sqlite.py``): decimals as exact text, one transaction per batch, ``INSERT ... ON CONFLICT DO
NOTHING`` on each table's identity so a row written twice is stored once."""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator, Sequence
from datetime import date, datetime, timezone
from decimal import Decimal
from typing import Any

from wintermute.storage.market_history import (
    COLUMNS,
    DECIMAL_COLUMNS,
    TABLES,
    HistoryQuery,
    LevelRow,
    TickRow,
    TradeRow,
)
from wintermute.storage.schema import StorageError
from wintermute.storage.sqlite import SqliteStore

__all__ = ["SqliteHistory"]

_INSERT = {
    name: f"INSERT INTO {table} ({', '.join(COLUMNS[name])}) "
    f"VALUES ({', '.join('?' * len(COLUMNS[name]))}) ON CONFLICT DO NOTHING"
    for name, (table, _) in TABLES.items()
}
_DECIMAL_AT = {
    name: [i for i, c in enumerate(cols) if c in DECIMAL_COLUMNS] for name, cols in COLUMNS.items()
}


class SqliteHistory:
    """The market-data tables of the SQLite audit store at ``path``."""

    backend = "sqlite"

    def __init__(self, path: str) -> None:
        self._store = SqliteStore(path)  # opens and migrates (WAL, busy timeout)
        self._db = self._store._db
        self.path = path

    def write(
        self,
        trades: Sequence[TradeRow] = (),
        ticks: Sequence[TickRow] = (),
        levels: Sequence[LevelRow] = (),
    ) -> int:
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:
            raise StorageError(f"sqlite path={self.path}: {e}", reason="STORAGE") from e
        try:
            before = db.total_changes
            for name, rows in (("trades", trades), ("ticks", ticks), ("snapshots", levels)):
                if rows:
                    db.executemany(_INSERT[name], [_to_sql(name, r) for r in rows])
            stored = db.total_changes - before
            db.execute("COMMIT")
        except BaseException as e:
            db.execute("ROLLBACK")
            if isinstance(e, sqlite3.Error):
                raise StorageError(f"sqlite path={self.path}: {e}", reason="STORAGE") from e
            raise
        return stored

    def _select(self, q: HistoryQuery, limit: bool) -> tuple[str, list[object]]:
        where, params = q.where("?")
        sql = (
            f"SELECT {', '.join(COLUMNS[q.table])} FROM {q.sql_table} WHERE {where} "
            f"ORDER BY {q.order}"
        )
        if limit:
            return sql + " LIMIT ?", [*params, q.limit]
        return sql, params

    def query(self, q: HistoryQuery) -> list[Any]:
        sql, params = self._select(q, limit=True)
        return [_from_sql(q.table, r) for r in self._db.execute(sql, params)]

    def rows(self, q: HistoryQuery, chunk: int = 10_000) -> Iterator[Any]:
        sql, params = self._select(q, limit=False)
        cur = self._db.cursor()  # a cursor of its own: the writer may keep writing meanwhile
        cur.execute(sql, params)
        while batch := cur.fetchmany(chunk):
            for r in batch:
                yield _from_sql(q.table, r)

    def count(self, table: str) -> int:
        (n,) = self._db.execute(f"SELECT count(*) FROM {HistoryQuery(table).sql_table}").fetchone()
        return int(n)

    def drop_before(self, day: date) -> int:
        cutoff = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
        cutoff_ns = int(cutoff.timestamp()) * 10**9
        self._db.execute("BEGIN IMMEDIATE")
        try:
            gone = 0
            for table, _ in TABLES.values():
                gone += self._db.execute(
                    f"DELETE FROM {table} WHERE ts_ns < ?", (cutoff_ns,)
                ).rowcount
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return gone

    def close(self) -> None:
        self._store.close()


def _to_sql(name: str, row: Sequence[object]) -> list[object]:
    out = list(row)
    for i in _DECIMAL_AT[name]:
        if out[i] is not None:
            out[i] = str(out[i])
    return out


def _from_sql(name: str, values: Sequence[object]) -> Any:
    out = list(values)
    for i in _DECIMAL_AT[name]:
        if out[i] is not None:
            out[i] = Decimal(str(out[i]))
    return TABLES[name][1](*out)
