"""The audit trail in PostgreSQL (psycopg 3): the production backend.

- **Batches by binary COPY**: each :meth:`PostgresStore.write` is one transaction that locks
  the progress row, COPYs the rows after the stored sequence (``FORMAT BINARY``: no text
  parsing on the server) and moves the sequence; a crash mid-batch leaves nothing of it.
- **Partitioned by day**: ``audit_events`` is ``PARTITION BY RANGE (ts_ns)`` with one partition
  per UTC day (``audit_events_pYYYYMMDD``), created as rows for a new day arrive. Indexes on
  the parent (account, instrument, order id, each with ``journal_seq``; and ``journal_seq, n``)
  apply to every partition; a time range prunes partitions.
- **Retention by dropping partitions**: :meth:`PostgresStore.drop_before` drops whole days,
  which takes no row-by-row delete and leaves no bloat.
- **Migrations**: numbered, recorded in ``schema_migrations``, applied under an advisory lock
  so two processes opening the same database do not race. Migration 2 adds the compliance
  alerts (``audit_alerts``, a plain table: alerts are few; ``INSERT ... ON CONFLICT DO
  NOTHING`` in the batch's transaction) and indexes on the taker's account and order id.
  Migration 3 adds the market-data history's tables, partitioned by day the same way
  (``market_history.py``, written by ``market_history_postgres.py``). Migration 5 adds the
  compliance monitors' state (``audit_monitor_state``, one row, upserted in the batch's
  transaction when the writer has monitors). Migration 6 adds ``audit_batches``: the
  sequence ranges of batches committed in parallel, not yet folded into ``audit_progress``.
  Migration 7 moves the monitors' state into ``audit_monitor_entries`` (rows keyed by
  ``(part, key)``: the whole state a writer last started from, and the accounts and
  instruments changed since, upserted per batch), carrying a stored whole state over;
  ``audit_monitor_state`` keeps its format, configuration and sequence.
- **Batches on several connections** (``connections=N``, ``[audit] connections``): the writer
  hands a step's batches to :meth:`PostgresStore.write_ranges`, which writes them on ``N``
  connections at once, each batch one transaction that COPYs its rows, stores its alerts and
  records its range ``(after_seq, through_seq]`` in ``audit_batches`` (no lock shared
  between them). Batches may commit out of order, so the stored sequence (:meth:`last_seq
  <PostgresStore.last_seq>`, what a restart resumes from, and the bound of every query) is
  the **gap-free prefix**: ``audit_progress`` followed through the chain of committed ranges.
  After the batches, one small transaction folds the prefix into ``audit_progress`` with the
  monitors' state as of the prefix. Rows, alerts and ranges past the prefix (batches that
  committed after one that failed, or a writer killed in between) are deleted by
  :meth:`PostgresStore.recover`, which a writer calls before it resumes, so nothing is
  stored twice.
"""

from __future__ import annotations

import logging
import queue
import re
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone
from typing import TYPE_CHECKING, Any

import psycopg
from psycopg import sql

from wintermute.storage.market_history import postgres_migration, postgres_migration_4
from wintermute.storage.monitor_checkpoints import DROP_FOLDED_SQL, MonitorStateTables
from wintermute.storage.monitors import stored_state
from wintermute.storage.queries import AlertQuery, AuditQuery
from wintermute.storage.schema import (
    ALERT_COLUMNS,
    COLUMNS,
    DECIMAL_COLUMNS,
    MAX_CONNECTIONS,
    Alert,
    AuditRow,
    MonitorState,
    MonitorStateWrite,
    StorageError,
    from_sql_id,
    state_bytes,
    to_sql_id,
)

if TYPE_CHECKING:
    from wintermute.storage.rust_rows import AuditBatch

__all__ = ["MAX_CONNECTIONS", "MIGRATIONS", "PostgresStore", "RangeWrite"]

_DAY_NS = 86_400 * 10**9
_TYPES = {
    "n": "int4",
    "instrument": "text",
    "command": "text",
    "kind": "text",
    "side": "text",
    "reason": "text",
    "priority_kept": "bool",
}
#: The binary COPY types of the columns, in order.
_COPY_TYPES = ["numeric" if c in DECIMAL_COLUMNS else _TYPES.get(c, "int8") for c in COLUMNS]
_NULLABLE = {"account", "side", "reason", "priority_kept", "contra_account", "contra_order_id"}
_COLUMN_SQL = ",\n    ".join(
    f"{c} {t}{'' if c in _NULLABLE or c in DECIMAL_COLUMNS else ' NOT NULL'}"
    for c, t in zip(COLUMNS, _COPY_TYPES, strict=True)
)
_MIGRATION_LOCK = 0x574D_4155  # "WMAU": one advisory lock id for this schema's migrations

#: (version, SQL) in order; a database records the versions it applied.
MIGRATIONS: list[tuple[int, str]] = [
    (
        1,
        f"""
CREATE TABLE audit_events (
    {_COLUMN_SQL}
) PARTITION BY RANGE (ts_ns);
CREATE INDEX audit_events_seq ON audit_events (journal_seq, n);
CREATE INDEX audit_events_account ON audit_events (account, journal_seq);
CREATE INDEX audit_events_instrument ON audit_events (instrument, journal_seq);
CREATE INDEX audit_events_order ON audit_events (order_id, journal_seq);
CREATE TABLE audit_progress (
    id int4 PRIMARY KEY CHECK (id = 1),
    journal_seq int8 NOT NULL,
    updated_ns int8 NOT NULL
);
INSERT INTO audit_progress VALUES (1, 0, 0);
""",
    ),
    (
        2,
        """
CREATE TABLE audit_alerts (
    journal_seq int8 NOT NULL,
    rule text NOT NULL,
    account int8 NOT NULL,
    n int4 NOT NULL,
    ts_ns int8 NOT NULL,
    instrument text,
    contra_account int8,
    price numeric,
    qty numeric,
    reference_price numeric,
    value float8 NOT NULL,
    threshold float8 NOT NULL,
    detail text NOT NULL,
    PRIMARY KEY (journal_seq, rule, account)
);
CREATE INDEX audit_alerts_account ON audit_alerts (account, journal_seq);
CREATE INDEX audit_alerts_contra ON audit_alerts (contra_account, journal_seq);
CREATE INDEX audit_alerts_time ON audit_alerts (ts_ns);
CREATE INDEX audit_events_contra_account ON audit_events (contra_account, journal_seq);
CREATE INDEX audit_events_contra_order ON audit_events (contra_order_id, journal_seq);
""",
    ),
    (3, postgres_migration()),  # the market-data history (market_history.py)
    (4, postgres_migration_4()),  # md_*.venue_seq: the venue's own sequence numbers
    (
        5,
        """
CREATE TABLE audit_monitor_state (
    id int4 PRIMARY KEY CHECK (id = 1),
    format int4 NOT NULL,
    config text NOT NULL,
    journal_seq int8 NOT NULL,
    state bytea NOT NULL,
    updated_ns int8 NOT NULL
);
""",
    ),
    (
        6,
        """
CREATE TABLE audit_batches (
    after_seq int8 PRIMARY KEY,
    through_seq int8 NOT NULL CHECK (through_seq > after_seq),
    committed_ns int8 NOT NULL
);
""",
    ),
    (
        7,
        """
CREATE TABLE audit_monitor_entries (
    part text NOT NULL,
    key text NOT NULL,
    value bytea NOT NULL,
    PRIMARY KEY (part, key)
);
INSERT INTO audit_monitor_entries SELECT 'whole', '', state FROM audit_monitor_state;
ALTER TABLE audit_monitor_state DROP COLUMN state;
""",
    ),
]
#: The stored sequence: ``audit_progress`` followed through the committed ranges that chain
#: on to it (each ``(after_seq, through_seq]``); where the chain stops there is a gap.
log = logging.getLogger(__name__)

#: Rows the monitors' folds deleted (dead rows until a vacuum) after which a store vacuums
#: ``audit_monitor_entries`` itself, when autovacuum does not (``vacuums_itself``).
VACUUM_AFTER_DEAD_ROWS = 10_000

# Whether autovacuum leaves the entries table alone: off on the server, or for the table.
_AUTOVACUUM_OFF = (
    "SELECT current_setting('autovacuum') = 'off' OR EXISTS (SELECT 1 FROM pg_class c, "
    "pg_options_to_table(c.reloptions) o WHERE c.oid = to_regclass('audit_monitor_entries') "
    "AND o.option_name = 'autovacuum_enabled' "
    "AND lower(o.option_value) IN ('false', 'off', 'no', '0', 'f', 'n'))"
)

_PREFIX = (
    "WITH RECURSIVE chain(seq) AS (SELECT journal_seq FROM audit_progress UNION ALL "
    "SELECT b.through_seq FROM audit_batches b JOIN chain c ON b.after_seq = c.seq) "
    "SELECT max(seq) FROM chain"
)
_INSERT_ALERT = (
    f"INSERT INTO audit_alerts ({', '.join(ALERT_COLUMNS)}) "
    f"VALUES ({', '.join(['%s'] * len(ALERT_COLUMNS))}) "
    "ON CONFLICT (journal_seq, rule, account) DO NOTHING"
)

_COPY_SQL = f"COPY audit_events ({', '.join(COLUMNS)}) FROM STDIN (FORMAT BINARY)"
_PARTITION = re.compile(r"^audit_events_p(\d{8})$")


@dataclass(frozen=True)
class RangeWrite:
    """One batch for :meth:`PostgresStore.write_ranges`: rows ``start:end`` of ``batch`` (all
    of them after ``after_seq``, none after ``through_seq``) and the ``alerts`` they raised,
    covering the journal sequences ``(after_seq, through_seq]``."""

    batch: AuditBatch
    start: int
    end: int
    after_seq: int
    through_seq: int
    alerts: Sequence[Alert] = ()


class PostgresStore(MonitorStateTables):
    """The audit trail in the PostgreSQL database at ``url`` (a libpq URL); in ``schema``
    (created if missing) instead of the default search path when given. ``connections``:
    how many connections :meth:`write_ranges` writes batches on at once (opened at its first
    call; 1 to :data:`MAX_CONNECTIONS`)."""

    backend = "postgresql"
    PARAM = "%s"
    HEAD_LOCK = " FOR UPDATE"  # the writer's connections race on the head
    _db: psycopg.Connection[Any]

    def __init__(
        self,
        url: str,
        connect_timeout: float = 5.0,
        schema: str | None = None,
        connections: int = 1,
    ) -> None:
        if (
            isinstance(connections, bool)
            or not isinstance(connections, int)
            or not 1 <= connections <= MAX_CONNECTIONS
        ):
            raise StorageError(
                f"connections={connections!r}: expected an integer from 1 to {MAX_CONNECTIONS}",
                reason="STORAGE",
            )
        self.url = url
        self.schema = schema
        self.connections = connections
        #: Bytes of the monitors' state this store wrote (``schema.state_bytes``), committed.
        self.state_bytes_written = 0
        self._state_put = 0  # the bytes of the state the fold in progress wrote
        self._timeout = connect_timeout
        self._days: set[int] = set()
        # The batch connections of write_ranges, each used by one thread at a time.
        self._pool: queue.SimpleQueue[psycopg.Connection[Any]] = queue.SimpleQueue()
        self._pooled: list[psycopg.Connection[Any]] = []
        self._pool_lock = threading.Lock()
        #: Whether the store vacuums ``audit_monitor_entries`` itself (autovacuum is off on
        #: the server or for the table, as read at connect), and how often it did.
        self.vacuums_itself = False
        self.vacuums = 0
        self._dead_rows = 0  # deleted by committed folds since the last vacuum
        self._dropped = 0  # deleted by the fold of the transaction in progress
        self._db = self._connect()
        self._migrate()
        self._read_autovacuum()

    def _connect(self) -> psycopg.Connection[Any]:
        try:
            db = psycopg.connect(
                self.url, autocommit=True, connect_timeout=max(1, round(self._timeout))
            )
            if self.schema is not None:
                name = sql.Identifier(self.schema)
                db.execute(sql.SQL("CREATE SCHEMA IF NOT EXISTS {}").format(name))
                db.execute(sql.SQL("SET search_path TO {}").format(name))
            return db
        except psycopg.Error as e:
            raise StorageError(f"postgresql: cannot connect: {e}", reason="STORAGE") from e

    def reconnect(self) -> None:
        """Opens a new connection (after the server went away)."""
        try:
            self._db.close()
            self._close_pool()
        finally:
            self._days.clear()
            self._dropped = 0
            self._db = self._connect()
            self._read_autovacuum()

    def _read_autovacuum(self) -> None:
        try:
            row = self._db.execute(_AUTOVACUUM_OFF).fetchone()
        except psycopg.Error as e:
            raise StorageError(f"postgresql: cannot read autovacuum: {e}", reason="STORAGE") from e
        self.vacuums_itself = bool(row and row[0])

    def _drop_folded_entries(self) -> None:
        """In the caller's transaction: :data:`DROP_FOLDED_SQL`, counting the rows (dead rows
        once it commits)."""
        cur = self._db.execute(DROP_FOLDED_SQL)
        self._dropped += max(cur.rowcount, 0) + 1  # and the whole state's old version

    def _committed(self) -> None:
        """After a transaction of this connection committed: counts the dead rows its fold
        left and, when the store vacuums itself and they reach
        :data:`VACUUM_AFTER_DEAD_ROWS`, vacuums the entries table. A vacuum that fails is
        logged and tried again after the next commit; the data is committed either way."""
        self._dead_rows += self._dropped
        self._dropped = 0
        if not self.vacuums_itself or self._dead_rows < VACUUM_AFTER_DEAD_ROWS:
            return
        try:
            self._db.execute("VACUUM audit_monitor_entries")
        except psycopg.Error as e:
            log.warning("postgresql: vacuum of audit_monitor_entries failed: %s", e)
            return
        self._dead_rows = 0
        self.vacuums += 1

    def _close_pool(self) -> None:
        with self._pool_lock:
            for db in self._pooled:
                db.close()
            self._pooled.clear()
            while not self._pool.empty():
                self._pool.get_nowait()

    def _migrate(self) -> None:
        with self._db.transaction():
            self._db.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS schema_migrations "
                "(version int4 PRIMARY KEY, applied_ns int8 NOT NULL)"
            )
            done = {v for (v,) in self._db.execute("SELECT version FROM schema_migrations")}
            for version, sql in MIGRATIONS:
                if version in done:
                    continue
                for statement in sql.split(";"):
                    if statement.strip():
                        self._db.execute(statement)
                self._db.execute(
                    "INSERT INTO schema_migrations VALUES (%s, %s)", (version, time.time_ns())
                )
                done.add(version)
        # A schema before migration 6 has no ranges: its stored sequence is audit_progress.
        self._ranges = 6 in done
        self._prefix = _PREFIX if self._ranges else "SELECT journal_seq FROM audit_progress"

    def last_seq(self) -> int:
        """The gap-free prefix of the committed batches (see the module documentation)."""
        row = self._db.execute(self._prefix).fetchone()
        assert row is not None
        return int(row[0])

    def recover(self) -> int:
        """Before a writer resumes: folds the committed ranges that chain on to the stored
        sequence into it, deletes the rows, alerts and ranges of batches past it (committed
        out of order: their writer failed or died before the batches between them), and
        returns it. Idempotent; a store written on one connection has nothing to delete."""
        if not self._ranges:
            return self.last_seq()
        try:
            with self._db.transaction():
                self._db.execute("SELECT journal_seq FROM audit_progress FOR UPDATE")
                prefix = self._fold(None)
                self._discard_after(prefix)
        except psycopg.Error as e:
            raise StorageError(f"postgresql: recover failed: {e}", reason="STORAGE") from e
        return prefix

    def _fold(self, state: MonitorStateWrite | None) -> int:
        """In the caller's transaction: moves ``audit_progress`` to the gap-free prefix,
        forgets the ranges it covers, stores ``state`` (as of a sequence within the prefix)
        and returns the prefix."""
        row = self._db.execute(_PREFIX).fetchone()
        assert row is not None
        prefix = int(row[0])
        self._db.execute(
            "UPDATE audit_progress SET journal_seq = %s, updated_ns = %s WHERE journal_seq < %s",
            (prefix, time.time_ns(), prefix),
        )
        self._db.execute("DELETE FROM audit_batches WHERE through_seq <= %s", (prefix,))
        if state is not None and state.journal_seq <= prefix:
            self._put_state(state)
            self._state_put = state_bytes(state)
        return prefix

    def _discard_after(self, prefix: int) -> None:
        self._db.execute("DELETE FROM audit_events WHERE journal_seq > %s", (prefix,))
        self._db.execute("DELETE FROM audit_alerts WHERE journal_seq > %s", (prefix,))
        self._db.execute("DELETE FROM audit_batches")

    def write_ranges(
        self, batches: Sequence[RangeWrite], states: Mapping[int, MonitorStateWrite] = {}
    ) -> tuple[int, int, StorageError | None]:
        """Writes ``batches`` (consecutive ranges, in order, the first after the stored
        sequence) on :attr:`connections` connections at once, each one transaction (its rows
        by binary COPY, its alerts, its range); then folds the gap-free prefix into the
        stored sequence with the newest of the monitors' ``states`` (by sequence) within it.
        Returns the rows of the batches within the prefix, the prefix, and the first
        batch's error (None: all stored); after an error, whatever committed past the prefix
        is deleted (:meth:`recover`). Raises ``StorageError`` when the fold itself fails (the
        next writer's :meth:`recover` settles the store)."""
        if not batches:
            return 0, self.last_seq(), None
        if not self._ranges:
            raise StorageError("postgresql: the schema has no audit_batches", reason="STORAGE")
        try:
            days: set[int] = set()
            for b in batches:
                days.update(b.batch.days(b.start, b.end))
            self._ensure_day_numbers(days)  # here, once: batches never race to create one
            self._open_pool()
        except psycopg.Error as e:
            self._days.clear()
            raise StorageError(f"postgresql: write failed: {e}", reason="STORAGE") from e
        if len(batches) == 1:
            results = [self._write_range(batches[0])]
        else:
            with ThreadPoolExecutor(min(self.connections, len(batches))) as pool:
                results = list(pool.map(self._write_range, batches))
        error = next((r for r in results if isinstance(r, StorageError)), None)
        self._state_put = 0
        try:
            with self._db.transaction():
                self._db.execute("SELECT journal_seq FROM audit_progress FOR UPDATE")
                row = self._db.execute(_PREFIX).fetchone()
                assert row is not None
                within = [s for s in states if s <= int(row[0])]
                prefix = self._fold(states[max(within)] if within else None)
                if error is not None:
                    self._discard_after(prefix)
        except BaseException as e:
            self._dropped = 0
            if isinstance(e, psycopg.Error):
                raise StorageError(f"postgresql: write failed: {e}", reason="STORAGE") from e
            raise
        self.state_bytes_written += self._state_put
        self._committed()
        written = sum(
            r for b, r in zip(batches, results, strict=True)
            if isinstance(r, int) and b.through_seq <= prefix
        )  # fmt: skip
        return written, prefix, error

    def _open_pool(self) -> None:
        """Opens the batch connections, replacing any that broke (between calls: every
        connection is in the queue)."""
        with self._pool_lock:
            if any(db.broken or db.closed for db in self._pooled):
                while not self._pool.empty():
                    self._pool.get_nowait()
                for db in self._pooled:
                    if db.broken or db.closed:
                        db.close()
                self._pooled = [db for db in self._pooled if not db.closed]
                for db in self._pooled:
                    self._pool.put(db)
            while len(self._pooled) < self.connections:
                db = self._connect()
                self._pooled.append(db)
                self._pool.put(db)

    def _write_range(self, b: RangeWrite) -> int | StorageError:
        """One batch's transaction on a free pooled connection: its rows, alerts and range."""
        db = self._pool.get()
        try:
            data, count = b.batch.copy_binary(b.start, b.end, b.after_seq)
            with db.transaction():
                if count:
                    with db.cursor() as cur, cur.copy(_COPY_SQL) as copy:
                        copy.write(data)
                alerts = [a for a in b.alerts if b.after_seq < a.journal_seq <= b.through_seq]
                if alerts:
                    with db.cursor() as cur:
                        cur.executemany(
                            _INSERT_ALERT, [[getattr(a, c) for c in ALERT_COLUMNS] for a in alerts]
                        )
                db.execute(
                    "INSERT INTO audit_batches VALUES (%s, %s, %s)",
                    (b.after_seq, b.through_seq, time.time_ns()),
                )
            return int(count)
        except psycopg.Error as e:
            return StorageError(
                f"postgresql: batch ({b.after_seq}, {b.through_seq}] failed: {e}",
                reason="STORAGE",
            )
        finally:
            self._pool.put(db)

    def _ensure_days(self, rows: Sequence[AuditRow]) -> None:
        self._ensure_day_numbers({r.ts_ns // _DAY_NS for r in rows})

    def _ensure_day_numbers(self, days: set[int]) -> None:
        for day in sorted(days - self._days):
            name = _partition_name(day)
            self._db.execute(
                f"CREATE TABLE IF NOT EXISTS {name} PARTITION OF audit_events "
                f"FOR VALUES FROM ({day * _DAY_NS}) TO ({(day + 1) * _DAY_NS})"
            )
            self._days.add(day)

    def monitor_state(self) -> MonitorState | None:
        with self._db.transaction():
            self._db.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
            head = self._db.execute(
                "SELECT format, config, journal_seq FROM audit_monitor_state"
            ).fetchone()
            entries = self._db.execute(
                "SELECT part, key, value FROM audit_monitor_entries"
            ).fetchall()
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
        def copy_rows(stored: int) -> int:
            fresh = [r for r in rows if r.journal_seq > stored]
            if fresh:
                self._ensure_days(fresh)
                with self._db.cursor() as cur, cur.copy(_COPY_SQL) as copy:
                    copy.set_types(_COPY_TYPES)
                    for r in fresh:
                        copy.write_row(_to_sql(r))
            return len(fresh)

        return self._write(copy_rows, through_seq, alerts, state)

    def write_columns(
        self,
        batch: AuditBatch,
        through_seq: int,
        start: int = 0,
        end: int | None = None,
        alerts: Sequence[Alert] = (),
        state: MonitorStateWrite | None = None,
    ) -> int:
        """:meth:`write` for rows built in Rust (rows ``start:end`` of a
        ``rust_rows.AuditBatch``): one transaction that COPYs the binary data Rust encoded
        (the rows after the stored sequence; exact ``numeric`` from ticks and lots), stores
        ``alerts`` and the monitors' ``state`` and moves the sequence. The rows stored equal
        those :meth:`write` stores."""

        def copy_columns(stored: int) -> int:
            data, count = batch.copy_binary(start, end, stored)
            if count:
                self._ensure_day_numbers(set(batch.days(start, end)))
                with self._db.cursor() as cur, cur.copy(_COPY_SQL) as copy:
                    copy.write(data)
            return int(count)

        return self._write(copy_columns, through_seq, alerts, state)

    def _write(
        self,
        copy_rows: Callable[[int], int],
        through_seq: int,
        alerts: Sequence[Alert],
        state: MonitorStateWrite | None,
    ) -> int:
        """One transaction: lock the stored sequence (the gap-free prefix),
        ``copy_rows(stored)`` (the rows after it; returns how many), store ``alerts`` after
        it and ``state`` unless it is older, and move the sequence to ``through_seq``."""
        try:
            with self._db.transaction():
                row = self._db.execute(
                    "SELECT journal_seq FROM audit_progress FOR UPDATE"
                ).fetchone()
                if row is None:
                    raise StorageError("postgresql: audit_progress has no row", reason="STORAGE")
                # Ranges committed on several connections that chain on count as stored.
                stored = self._fold(None) if self._ranges else int(row[0])
                written = copy_rows(stored)
                self._insert_alerts([a for a in alerts if a.journal_seq > stored])
                put = state is not None and state.journal_seq >= stored
                if state is not None and put:
                    self._put_state(state)
                self._db.execute(
                    "UPDATE audit_progress SET journal_seq = %s, updated_ns = %s",
                    (max(stored, through_seq), time.time_ns()),
                )
        except psycopg.Error as e:
            self._days.clear()  # a rolled-back partition may not exist
            self._dropped = 0
            raise StorageError(f"postgresql: write failed: {e}", reason="STORAGE") from e
        except BaseException:
            self._days.clear()  # rolled back too (an error of ours, an interrupt)
            self._dropped = 0
            raise
        if state is not None and put:
            self.state_bytes_written += state_bytes(state)
        self._committed()
        return written

    def _insert_alerts(self, alerts: Sequence[Alert]) -> None:
        if alerts:
            with self._db.cursor() as cur:
                cur.executemany(
                    _INSERT_ALERT, [[getattr(a, c) for c in ALERT_COLUMNS] for a in alerts]
                )

    def query(self, q: AuditQuery) -> list[AuditRow]:
        where, params = q.where("%s")
        text = (
            f"SELECT {', '.join(COLUMNS)} FROM audit_events WHERE {where} "
            f"AND journal_seq <= ({self._prefix}) ORDER BY journal_seq, n LIMIT %s"
        )
        cur = self._db.execute(text, [*params, q.limit])
        return [_from_sql(r) for r in cur]

    def alerts(self, q: AlertQuery) -> list[Alert]:
        where, params = q.where("%s")
        text = (
            f"SELECT {', '.join(ALERT_COLUMNS)} FROM audit_alerts WHERE {where} "
            f"AND journal_seq <= ({self._prefix}) ORDER BY journal_seq, rule, account LIMIT %s"
        )
        return [Alert(*r) for r in self._db.execute(text, [*params, q.limit])]

    def count(self) -> int:
        row = self._db.execute(
            f"SELECT count(*) FROM audit_events WHERE journal_seq <= ({self._prefix})"
        ).fetchone()
        assert row is not None
        return int(row[0])

    def partitions(self) -> list[date]:
        """The UTC days that have a partition, oldest first."""
        cur = self._db.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "WHERE i.inhparent = 'audit_events'::regclass"
        )
        days = [m.group(1) for (name,) in cur if (m := _PARTITION.match(name))]
        return sorted(datetime.strptime(d, "%Y%m%d").date() for d in days)

    def drop_before(self, day: date) -> int:
        gone = [d for d in self.partitions() if d < day]
        cutoff = (day - date(1970, 1, 1)).days * _DAY_NS
        with self._db.transaction():
            for d in gone:
                self._db.execute(f"DROP TABLE audit_events_p{d:%Y%m%d}")
            self._db.execute("DELETE FROM audit_alerts WHERE ts_ns < %s", (cutoff,))
        self._days.clear()
        return len(gone)

    def reset(self) -> None:
        with self._db.transaction():
            for d in self.partitions():
                self._db.execute(f"DROP TABLE audit_events_p{d:%Y%m%d}")
            self._db.execute("DELETE FROM audit_alerts")
            self._db.execute("DELETE FROM audit_monitor_state")
            self._db.execute("DELETE FROM audit_monitor_entries")
            if self._ranges:
                self._db.execute("DELETE FROM audit_batches")
            self._db.execute("UPDATE audit_progress SET journal_seq = 0, updated_ns = 0")
        self._days.clear()

    def close(self) -> None:
        self._close_pool()
        self._db.close()


def _partition_name(day: int) -> str:
    start = datetime(1970, 1, 1, tzinfo=timezone.utc) + timedelta(days=day)
    return f"audit_events_p{start:%Y%m%d}"


_ORDER_AT = COLUMNS.index("order_id")
_CONTRA_AT = COLUMNS.index("contra_order_id")


def _to_sql(row: AuditRow) -> list[object]:
    out: list[object] = list(row)
    out[_ORDER_AT] = to_sql_id(row.order_id)
    if row.contra_order_id is not None:
        out[_CONTRA_AT] = to_sql_id(row.contra_order_id)
    return out


def _from_sql(values: Sequence[Any]) -> AuditRow:
    out = list(values)
    out[_ORDER_AT] = from_sql_id(out[_ORDER_AT])
    if out[_CONTRA_AT] is not None:
        out[_CONTRA_AT] = from_sql_id(out[_CONTRA_AT])
    return AuditRow(*out)
