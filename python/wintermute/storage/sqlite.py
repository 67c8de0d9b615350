"""The audit trail in SQLite: the embedded default, with nothing to install (stdlib ``sqlite3``).

The schema is ``schema.py``'s, with decimals stored as their exact text (SQLite has no decimal
type, and a REAL would round them); the compliance alerts (``audit_alerts``, migration 2) are
stored in the same transaction as the rows that raised them. The database runs in WAL mode so
readers (``wintermute audit query``) never wait for the writer. Migrations are numbered and
recorded in ``schema_migrations``; opening a store applies the missing ones. Migration 3 adds
the market-data history's tables (``market_history.py``); migration 5 the compliance monitors'
state (``audit_monitor_state``), written in the same transaction as the rows; migration 6 the
table of batch ranges PostgreSQL's writer commits in parallel (``audit_batches``), kept so both
backends hold the same schema: SQLite keeps one connection and writes each batch's sequence
into ``audit_progress`` directly, so its ``audit_batches`` stays empty. Migration 7 moves the
monitors' state into ``audit_monitor_entries`` (rows keyed by ``(part, key)``: the whole state
a writer last started from, and the accounts and instruments changed since, upserted per
batch), carrying a stored whole state over; ``audit_monitor_state`` keeps its format,
configuration and sequence.
"""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Sequence
from datetime import date, datetime, timezone
from decimal import Decimal

from wintermute.storage.market_history import sqlite_migration, sqlite_migration_4
from wintermute.storage.monitor_checkpoints import MonitorStateTables
from wintermute.storage.monitors import stored_state
from wintermute.storage.queries import AlertQuery, AuditQuery
from wintermute.storage.schema import (
    ALERT_COLUMNS,
    ALERT_DECIMAL_COLUMNS,
    COLUMNS,
    DECIMAL_COLUMNS,
    Alert,
    AuditRow,
    MonitorState,
    MonitorStateWrite,
    StorageError,
    from_sql_id,
    state_bytes,
    to_sql_id,
)

__all__ = ["MIGRATIONS", "SqliteStore"]

_TYPES = {
    "instrument": "TEXT NOT NULL",
    "command": "TEXT NOT NULL",
    "kind": "TEXT NOT NULL",
    "side": "TEXT",
    "reason": "TEXT",
    "priority_kept": "INTEGER",
    "account": "INTEGER",
    "contra_account": "INTEGER",
    "contra_order_id": "INTEGER",
}
_COLUMN_SQL = ",\n    ".join(
    f"{c} {'TEXT' if c in DECIMAL_COLUMNS else _TYPES.get(c, 'INTEGER NOT NULL')}" for c in COLUMNS
)

#: (version, SQL) in order; a store records the versions it applied.
MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        f"""
CREATE TABLE audit_events (
    {_COLUMN_SQL},
    PRIMARY KEY (journal_seq, n)
) WITHOUT ROWID;
CREATE INDEX audit_events_account ON audit_events (account, journal_seq);
CREATE INDEX audit_events_instrument ON audit_events (instrument, journal_seq);
CREATE INDEX audit_events_order ON audit_events (order_id, journal_seq);
CREATE INDEX audit_events_time ON audit_events (ts_ns);
CREATE TABLE audit_progress (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    journal_seq INTEGER NOT NULL,
    updated_ns INTEGER NOT NULL
);
INSERT INTO audit_progress VALUES (1, 0, 0);
""",
    ),
    (
        2,
        """
CREATE TABLE audit_alerts (
    journal_seq INTEGER NOT NULL,
    rule TEXT NOT NULL,
    account INTEGER NOT NULL,
    n INTEGER NOT NULL,
    ts_ns INTEGER NOT NULL,
    instrument TEXT,
    contra_account INTEGER,
    price TEXT,
    qty TEXT,
    reference_price TEXT,
    value REAL NOT NULL,
    threshold REAL NOT NULL,
    detail TEXT NOT NULL,
    PRIMARY KEY (journal_seq, rule, account)
) WITHOUT ROWID;
CREATE INDEX audit_alerts_account ON audit_alerts (account, journal_seq);
CREATE INDEX audit_alerts_contra ON audit_alerts (contra_account, journal_seq);
CREATE INDEX audit_alerts_time ON audit_alerts (ts_ns);
CREATE INDEX audit_events_contra_account ON audit_events (contra_account, journal_seq);
CREATE INDEX audit_events_contra_order ON audit_events (contra_order_id, journal_seq);
""",
    ),
    (3, sqlite_migration()),  # the market-data history (market_history.py)
    (4, sqlite_migration_4()),  # md_*.venue_seq: the venue's own sequence numbers
    (
        5,
        """
CREATE TABLE audit_monitor_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    format INTEGER NOT NULL,
    config TEXT NOT NULL,
    journal_seq INTEGER NOT NULL,
    state BLOB NOT NULL,
    updated_ns INTEGER NOT NULL
);
""",
    ),
    (
        6,
        """
CREATE TABLE audit_batches (
    after_seq INTEGER PRIMARY KEY,
    through_seq INTEGER NOT NULL CHECK (through_seq > after_seq),
    committed_ns INTEGER NOT NULL
);
""",
    ),
    (
        7,
        """
CREATE TABLE audit_monitor_entries (
    part TEXT NOT NULL,
    key TEXT NOT NULL,
    value BLOB NOT NULL,
    PRIMARY KEY (part, key)
) WITHOUT ROWID;
INSERT INTO audit_monitor_entries SELECT 'whole', '', state FROM audit_monitor_state;
ALTER TABLE audit_monitor_state DROP COLUMN state;
""",
    ),
]

_DECIMAL_AT = [i for i, c in enumerate(COLUMNS) if c in DECIMAL_COLUMNS]
_ORDER_AT = [COLUMNS.index("order_id"), COLUMNS.index("contra_order_id")]
_BOOL_AT = COLUMNS.index("priority_kept")
_INSERT = (
    f"INSERT INTO audit_events ({', '.join(COLUMNS)}) VALUES ({', '.join('?' * len(COLUMNS))})"
)
_INSERT_ALERT = (
    f"INSERT INTO audit_alerts ({', '.join(ALERT_COLUMNS)}) "
    f"VALUES ({', '.join('?' * len(ALERT_COLUMNS))}) "
    "ON CONFLICT (journal_seq, rule, account) DO NOTHING"  # only the identity; NOT NULL holds
)


class SqliteStore(MonitorStateTables):
    """The audit trail in the SQLite database at ``path`` (``":memory:"``: in memory)."""

    backend = "sqlite"
    PARAM = "?"
    _db: sqlite3.Connection

    def __init__(self, path: str) -> None:
        #: Bytes of the monitors' state this store wrote (``schema.state_bytes``), committed.
        self.state_bytes_written = 0
        try:
            self._db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=NORMAL")
            self._db.execute("PRAGMA busy_timeout=10000")
            self._migrate()
        except sqlite3.Error as e:
            raise StorageError(f"sqlite path={path}: {e}", reason="STORAGE") from e
        self.path = path

    def _migrate(self) -> None:
        db = self._db
        db.execute(
            "CREATE TABLE IF NOT EXISTS schema_migrations "
            "(version INTEGER PRIMARY KEY, applied_ns INTEGER NOT NULL)"
        )
        done = {v for (v,) in db.execute("SELECT version FROM schema_migrations")}
        for version, sql in MIGRATIONS:
            if version in done:
                continue
            db.execute("BEGIN IMMEDIATE")
            try:
                for statement in sql.split(";"):
                    if statement.strip():
                        db.execute(statement)
                db.execute("INSERT INTO schema_migrations VALUES (?, ?)", (version, time.time_ns()))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise

    def last_seq(self) -> int:
        (seq,) = self._db.execute("SELECT journal_seq FROM audit_progress").fetchone()
        return int(seq)

    def monitor_state(self) -> MonitorState | None:
        db = self._db
        db.execute("BEGIN")  # the header and the entries of one state
        try:
            row = db.execute("SELECT format, config, journal_seq FROM audit_monitor_state")
            head = row.fetchone()
            entries = db.execute("SELECT part, key, value FROM audit_monitor_entries").fetchall()
        finally:
            db.execute("COMMIT")
        if head is None:
            return None
        return stored_state(int(head[0]), head[1], int(head[2]), entries)

    def write(
        self,
        rows: Sequence[AuditRow],
        through_seq: int,
        alerts: Sequence[Alert] = (),
        state: MonitorStateWrite | None = None,
    ) -> int:
        db = self._db
        try:
            db.execute("BEGIN IMMEDIATE")
        except sqlite3.Error as e:  # locked past busy_timeout, disk gone...
            raise StorageError(f"sqlite path={self.path}: {e}", reason="STORAGE") from e
        try:
            stored = self.last_seq()
            fresh = [_to_sql(r) for r in rows if r.journal_seq > stored]
            db.executemany(_INSERT, fresh)
            new_alerts = [_alert_to_sql(a) for a in alerts if a.journal_seq > stored]
            if new_alerts:
                db.executemany(_INSERT_ALERT, new_alerts)
            put = state is not None and state.journal_seq >= stored
            if state is not None and put:
                self._put_state(state)
            db.execute(
                "UPDATE audit_progress SET journal_seq = ?, updated_ns = ?",
                (max(stored, through_seq), time.time_ns()),
            )
            db.execute("COMMIT")
        except BaseException as e:
            db.execute("ROLLBACK")
            if isinstance(e, sqlite3.Error):
                raise StorageError(f"sqlite path={self.path}: {e}", reason="STORAGE") from e
            raise
        if state is not None and put:
            self.state_bytes_written += state_bytes(state)
        return len(fresh)

    def query(self, q: AuditQuery) -> list[AuditRow]:
        where, params = q.where("?")
        sql = (
            f"SELECT {', '.join(COLUMNS)} FROM audit_events WHERE {where} "
            "ORDER BY journal_seq, n LIMIT ?"
        )
        return [_from_sql(r) for r in self._db.execute(sql, [*params, q.limit])]

    def alerts(self, q: AlertQuery) -> list[Alert]:
        where, params = q.where("?")
        sql = (
            f"SELECT {', '.join(ALERT_COLUMNS)} FROM audit_alerts WHERE {where} "
            "ORDER BY journal_seq, rule, account LIMIT ?"
        )
        return [_alert_from_sql(r) for r in self._db.execute(sql, [*params, q.limit])]

    def count(self) -> int:
        (n,) = self._db.execute("SELECT count(*) FROM audit_events").fetchone()
        return int(n)

    def drop_before(self, day: date) -> int:
        cutoff = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
        cutoff_ns = int(cutoff.timestamp()) * 10**9
        self._db.execute("BEGIN IMMEDIATE")
        try:
            cur = self._db.execute("DELETE FROM audit_events WHERE ts_ns < ?", (cutoff_ns,))
            self._db.execute("DELETE FROM audit_alerts WHERE ts_ns < ?", (cutoff_ns,))
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return cur.rowcount

    def reset(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")
        self._db.execute("DELETE FROM audit_events")
        self._db.execute("DELETE FROM audit_alerts")
        self._db.execute("DELETE FROM audit_monitor_state")
        self._db.execute("DELETE FROM audit_monitor_entries")
        self._db.execute("DELETE FROM audit_batches")
        self._db.execute("UPDATE audit_progress SET journal_seq = 0, updated_ns = 0")
        self._db.execute("COMMIT")

    def close(self) -> None:
        self._db.close()


def _to_sql(row: AuditRow) -> list[object]:
    out: list[object] = list(row)
    for i in _DECIMAL_AT:
        if out[i] is not None:
            out[i] = str(out[i])
    for i in _ORDER_AT:
        value = out[i]
        if isinstance(value, int):
            out[i] = to_sql_id(value)
    return out


def _from_sql(values: Sequence[object]) -> AuditRow:
    out = list(values)
    for i in _DECIMAL_AT:
        if out[i] is not None:
            out[i] = Decimal(str(out[i]))
    for i in _ORDER_AT:
        value = out[i]
        if isinstance(value, int):
            out[i] = from_sql_id(value)
    if out[_BOOL_AT] is not None:
        out[_BOOL_AT] = bool(out[_BOOL_AT])
    return AuditRow(*out)  # type: ignore[arg-type]


_ALERT_DECIMAL_AT = [i for i, c in enumerate(ALERT_COLUMNS) if c in ALERT_DECIMAL_COLUMNS]


def _alert_to_sql(alert: Alert) -> list[object]:
    out: list[object] = [getattr(alert, c) for c in ALERT_COLUMNS]
    for i in _ALERT_DECIMAL_AT:
        if out[i] is not None:
            out[i] = str(out[i])
    return out


def _alert_from_sql(values: Sequence[object]) -> Alert:
    out = list(values)
    for i in _ALERT_DECIMAL_AT:
        if out[i] is not None:
            out[i] = Decimal(str(out[i]))
    return Alert(*out)  # type: ignore[arg-type]
