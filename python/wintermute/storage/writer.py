"""The audit writer: follows the journal and stores its events in batches, off the hot path.

The engine only appends to its journal; the writer, in its own thread or process
(``wintermute audit follow``), reads what was appended (:class:`~.replay.JournalReplay`),
and writes the rows in batches of at most ``batch_rows``, each batch one transaction that also
records the journal sequence it covers. So the engine never waits for a database, and:

- **restart without gap or duplicate**: a new writer starts from the store's
  ``last_seq()``: it replays the journal to there (rebuilding its books) without writing, then
  writes only what comes after. A batch cut short by a crash was never committed, and a batch
  written twice is stored once (the store skips rows at or before its sequence);
- **rebuild**: :func:`rebuild` empties the store and writes the whole journal again
  (``wintermute audit rebuild``);
- **lag**, exported as Prometheus gauges (``prometheus_client``, default registry, label
  ``store``): ``wintermute_audit_lag_records`` (journal head minus stored sequence),
  ``wintermute_audit_lag_seconds`` (how long the oldest unstored record has been waiting),
  ``wintermute_audit_stored_seq``, and the counter ``wintermute_audit_rows_total``;
- **the Redis hot tier** (``hot=RedisTier(url)``, optional): after each read, the touched
  books and the new trades go to Redis first (see ``redis_tier.py``); Redis being away never
  stops the audit trail;
- **compliance monitors** (``monitor=ComplianceMonitor(...)``, optional, ``monitors.py``): fed
  every row as it is read (after a restart, the replayed history counts without alerting);
  the alerts they raise are stored (``audit_alerts``) in the same transaction as the rows
  that raised them, so a crash never keeps one without the other; once stored, each batch's
  alerts go to the callables in ``on_alerts`` (the service pushes them to its WebSocket
  clients; a listener that raises is logged and never stops the writer);
- **a store that goes away** (PostgreSQL restarted): :meth:`AuditWriter.follow` logs it, keeps
  the rows it holds, retries with backoff, reconnects, and catches up.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from os import PathLike

from prometheus_client import Counter, Gauge

from wintermute import errors
from wintermute.config import InstrumentConfig
from wintermute.storage.monitors import ComplianceMonitor
from wintermute.storage.redis_tier import RedisTier
from wintermute.storage.replay import JournalReplay
from wintermute.storage.schema import Alert, AuditRow, StorageError
from wintermute.storage.store import AuditStore

__all__ = ["AuditWriter", "Lag", "rebuild"]

log = logging.getLogger("wintermute.storage.writer")

LAG_RECORDS = Gauge(
    "wintermute_audit_lag_records",
    "Journal records not yet in the audit store (journal head minus stored sequence)",
    ["store"],
)
LAG_SECONDS = Gauge(
    "wintermute_audit_lag_seconds",
    "Seconds the oldest journal record not yet in the audit store has waited",
    ["store"],
)
STORED_SEQ = Gauge(
    "wintermute_audit_stored_seq", "Journal sequence the audit store holds up to", ["store"]
)
ROWS = Counter("wintermute_audit_rows", "Audit rows stored", ["store"])


@dataclass(frozen=True)
class Lag:
    """How far the store is behind the journal."""

    journal_seq: int
    stored_seq: int
    seconds: float

    @property
    def records(self) -> int:
        return max(self.journal_seq - self.stored_seq, 0)


class AuditWriter:
    """Writes the events of the journal at ``journal`` (an engine with ``instruments``, in
    id order) into ``store``. :meth:`step` once, or :meth:`follow` until :meth:`stop`."""

    def __init__(
        self,
        store: AuditStore,
        instruments: Sequence[InstrumentConfig],
        journal: str | PathLike[str],
        *,
        batch_rows: int = 10_000,
        hot: RedisTier | None = None,
        depth: int = 10,
        monitor: ComplianceMonitor | None = None,
    ) -> None:
        if batch_rows < 1:
            raise ValueError(f"batch_rows={batch_rows}: must be at least 1")
        self.store = store
        self.batch_rows = batch_rows
        self._replay = JournalReplay(instruments, journal)
        self._stored = store.last_seq()
        self._pending: list[AuditRow] = []
        self._pending_alerts: list[Alert] = []
        self._behind_since: int | None = None
        self._stop = threading.Event()
        self._label = store.backend
        self.hot = hot
        self.monitor = monitor
        self._depth = depth
        #: Called with each batch of alerts once it is stored (on the writer's thread).
        self.on_alerts: list[Callable[[list[Alert]], None]] = []

    @property
    def stored_seq(self) -> int:
        """The journal sequence the store holds every event up to."""
        return self._stored

    def lag(self) -> Lag:
        """The writer's lag now (also published as gauges)."""
        since = self._behind_since
        seconds = 0.0 if since is None else (time.monotonic_ns() - since) / 1e9
        lag = Lag(self._replay.cursor, self._stored, seconds)
        LAG_RECORDS.labels(self._label).set(lag.records)
        LAG_SECONDS.labels(self._label).set(lag.seconds)
        STORED_SEQ.labels(self._label).set(self._stored)
        return lag

    def step(self) -> int:
        """Reads what the journal gained and stores it (and anything held from a failed
        write); returns the rows stored. Raises ``StorageError`` if the store fails (the rows
        stay held for the next step)."""
        before = self._replay.cursor
        rows = self._replay.read()
        if self._replay.cursor > before and self._behind_since is None:
            self._behind_since = time.monotonic_ns()
        fresh = [r for r in rows if r.journal_seq > self._stored]
        if self.hot is not None and (self._replay.touched or self.hot.down):
            self.hot.publish(
                fresh,
                self._replay.touched,
                lambda symbol: self._replay.depth(symbol, self._depth),
                self._replay.cursor,
            )
        if self.monitor is not None:
            self._pending_alerts.extend(self.monitor.observe(rows, quiet_through=self._stored))
        self._pending.extend(fresh)
        written = 0
        head = self._replay.cursor
        while self._pending or self._stored < head:
            batch = self._next_batch()
            through = batch[-1].journal_seq if len(batch) < len(self._pending) else head
            alerts = [a for a in self._pending_alerts if a.journal_seq <= through]
            written += self.store.write(batch, through, alerts)
            del self._pending[: len(batch)]
            if alerts:
                self._pending_alerts = self._pending_alerts[len(alerts) :]
                self._announce(alerts)
            self._stored = max(self._stored, through)
            ROWS.labels(self._label).inc(len(batch))
        self._behind_since = None
        self.lag()
        return written

    def _announce(self, alerts: list[Alert]) -> None:
        for listener in self.on_alerts:
            try:
                listener(alerts)
            except Exception:  # noqa: PERF203 (a listener's bug must not stop the audit trail)
                log.exception("an alert listener failed")

    def _next_batch(self) -> list[AuditRow]:
        """The next rows to write: at most ``batch_rows``, ending at a command boundary (a
        command's events are never split between two batches) unless one command has more."""
        pending = self._pending
        if len(pending) <= self.batch_rows:
            return pending[:]
        end = self.batch_rows
        last = pending[end - 1].journal_seq
        if pending[end].journal_seq == last:
            start = end
            while end > 0 and pending[end - 1].journal_seq == last:
                end -= 1
            if end == 0:  # one command with more events than a batch: take them all
                end = start
                while end < len(pending) and pending[end].journal_seq == last:
                    end += 1
        return pending[:end]

    def follow(self, poll_s: float = 0.05, max_backoff_s: float = 5.0) -> None:
        """Steps every ``poll_s`` until :meth:`stop`; a failing store is retried with
        exponential backoff (reconnecting when the store can) without losing rows."""
        backoff = poll_s
        while not self._stop.is_set():
            failed = self._step_or_report(backoff)
            if failed is None:
                backoff = poll_s
                self._stop.wait(poll_s)
                continue
            self._stop.wait(backoff)
            backoff = min(backoff * 2, max_backoff_s)
            if failed == "store":
                self._reconnect()

    def _step_or_report(self, backoff: float) -> str | None:
        """One :meth:`step`; what failed (``"store"``, ``"journal"``, logged) or None."""
        try:
            self.step()
        except StorageError as e:
            self.lag()
            log.warning("audit store failed (retrying in %.2fs): %s", backoff, e)
            return "store"
        except errors.JournalError as e:
            # A record being written as it was read, or real damage: read again later (real
            # damage keeps failing, and says where, every time).
            log.warning("journal read failed (retrying in %.2fs): %s", backoff, e)
            return "journal"
        return None

    def _reconnect(self) -> None:
        """Reconnects a store that can, and re-reads where it stands."""
        reconnect = getattr(self.store, "reconnect", None)
        if reconnect is None:
            return
        try:
            reconnect()
            self._stored = self.store.last_seq()
        except StorageError as e:
            log.warning("audit store still unreachable: %s", e)
            return
        self._pending = [r for r in self._pending if r.journal_seq > self._stored]
        self._pending_alerts = [a for a in self._pending_alerts if a.journal_seq > self._stored]

    def stop(self) -> None:
        """Makes :meth:`follow` return after its current step."""
        self._stop.set()


def rebuild(
    store: AuditStore,
    instruments: Sequence[InstrumentConfig],
    journal: str | PathLike[str],
    *,
    batch_rows: int = 50_000,
    monitor: ComplianceMonitor | None = None,
) -> int:
    """Empties ``store`` and writes every event of the journal again (with the alerts of
    ``monitor``, a fresh one, when given); returns the rows."""
    store.reset()
    writer = AuditWriter(store, instruments, journal, batch_rows=batch_rows, monitor=monitor)
    return writer.step()
