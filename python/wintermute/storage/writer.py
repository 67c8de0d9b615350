"""The audit writer: follows the journal and stores its events in batches, off the hot path.

The engine only appends to its journal; the writer, in its own thread or process
(``wintermute audit follow``), reads what was appended, with the rows built in Rust
(:class:`~.rust_rows.RustJournalReplay`: the journal replayed through books of its own, the rows
as integer columns, and on PostgreSQL the binary ``COPY`` data encoded in Rust), and writes them
in batches of about ``batch_rows`` (whole commands), each batch one transaction that also
records the journal sequence it covers. So the engine never waits for a database, and:

- **restart without gap or duplicate**: a new writer starts from the store's ``last_seq()``.
  It rebuilds its books from the newest engine snapshot in the journal's directory at or
  before that sequence (``JournalConfig.snapshot_every_records``/``_ms``, or
  ``Pipeline.snapshot()``), so it reads only the journal after the snapshot, replays the
  records up to the stored sequence without writing, then writes only what comes after.
  Without such a snapshot it replays from the journal's first record (same rows, slower).
  A batch cut short by a crash was never committed, and a batch written twice is stored once
  (the store skips rows at or before its sequence);
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
  every row once, in order, each batch's rows just before it is written (as
  :class:`AuditRow` s: the monitors are Python). Their counts are history (order-to-trade
  ratios since the start), so each batch's transaction also stores the monitors' state as of
  the batch's sequence, and a new writer restores it and starts from the newest snapshot at
  or before *that* sequence, like a writer without monitors: its alerts are exactly those of
  a writer that never stopped. A writer's first state is whole (``ComplianceMonitor.state``);
  once the store holds one of its monitor (restored or written), each batch stores only the
  accounts and instruments changed since that stored state (``ComplianceMonitor.changes``,
  upserted into ``audit_monitor_entries``), so a batch that touches few accounts writes few
  bytes however many accounts the monitors count; and it folds those entries into a whole
  state again (a checkpoint, in the batch's transaction) every ``checkpoint_every`` batches
  or once they outgrow the whole state (``monitor_checkpoints.py``), so the table stays
  bounded and a restart reads little.
  A stored state it cannot take (another ``STATE_FORMAT``, another configuration of the
  monitors, or none: a store written by an older version or without monitors) is never
  mixed in: the writer replays the whole journal, counting the stored history without
  alerting, and logs why (:attr:`AuditWriter.full_replay_reason`);
  the alerts are stored (``audit_alerts``) in the same transaction as the rows that raised
  them, so a crash never keeps one without the other; once stored, each batch's alerts go
  to the callables in ``on_alerts`` (the service pushes them to its WebSocket clients; a
  listener that raises is logged and never stops the writer);
- **batches on several connections** (PostgreSQL opened with ``connections=N``, ``[audit]
  connections``): each step's batches are cut and counted by the monitors in order as above,
  then written at once (``PostgresStore.write_ranges``), each batch a transaction carrying its
  sequence range; the stored sequence is the gap-free prefix of the committed ranges, the
  monitors' state is stored as of that prefix, and the alerts are announced once the prefix
  covers them. A writer first calls the store's ``recover()``, which deletes what batches
  committed past the prefix (out of order, before a failure or a kill), so a restart stores
  nothing twice; a batch that fails leaves the rows after the prefix held for the next step;
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

import numpy as np
import numpy.typing as npt
from prometheus_client import Counter, Gauge

from wintermute import errors
from wintermute.config import InstrumentConfig
from wintermute.storage.monitor_checkpoints import DEFAULT_EVERY, Checkpoints
from wintermute.storage.monitors import ComplianceMonitor
from wintermute.storage.redis_tier import RedisTier
from wintermute.storage.rust_rows import AuditBatch, RustJournalReplay, write_batch
from wintermute.storage.schema import Alert, MonitorStateWrite, StorageError
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


@dataclass
class _Held:
    """Rows ``start:`` of ``batch`` read but not yet stored; ``head``: the journal cursor
    after the read that returned them (what the batch's last write covers)."""

    batch: AuditBatch
    start: int
    head: int

    def skip_through(self, seq: int) -> bool:
        """Drops the rows at or before ``seq``; True when none are left."""
        seqs = self.batch.journal_seq
        self.start = max(self.start, int(np.searchsorted(seqs, seq, side="right")))
        return self.start >= len(self.batch)


def _cut(seqs: npt.NDArray[np.uint64], start: int, rows: int) -> int:
    """The end of the batch of about ``rows`` rows from ``start``, at a command boundary (a
    command's rows are never split: one with more rows than a batch goes whole)."""
    end = min(start + rows, len(seqs))
    if end < len(seqs) and seqs[end] == seqs[end - 1]:
        end = int(np.searchsorted(seqs, seqs[end - 1], side="right"))
    return end


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
    id order) into ``store``. :meth:`step` once, or :meth:`follow` until :meth:`stop`.

    ``resume`` (default: on; False: replay the whole journal): start from the newest engine
    snapshot at or before the stored sequence (with a ``monitor``, a fresh one: at or before
    the monitors' stored state, which it restores; see the module documentation);
    :attr:`resumed_from` says which (None: from the first record).
    ``checkpoint_every``: the monitors' state is stored whole at least every this many
    batches (0: only when it must; ``monitor_checkpoints.py``)."""

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
        resume: bool | None = None,
        checkpoint_every: int = DEFAULT_EVERY,
    ) -> None:
        if batch_rows < 1:
            raise ValueError(f"batch_rows={batch_rows}: must be at least 1")
        # The monitors' state the store holds, and when to store it whole again.
        self._checkpoints = Checkpoints(checkpoint_every)
        self.store = store
        self.batch_rows = batch_rows
        self._replay = RustJournalReplay(instruments, journal)
        recover: Callable[[], int] | None = getattr(store, "recover", None)
        self._stored = store.last_seq() if recover is None else recover()
        # Batches on several connections (see the module documentation).
        self._parallel = getattr(store, "connections", 1) > 1 and hasattr(store, "write_ranges")
        # The monitors' states taken at batch ends not yet within the stored sequence; and
        # whether the store must be recovered before the next parallel write.
        self._states: dict[int, MonitorStateWrite] = {}
        self._recover_due = False
        #: The engine snapshot this writer's books started from (None: the first record).
        self.resumed_from: int | None = None
        #: The sequence of the stored monitors' state this writer restored (None: none).
        self.monitor_restored: int | None = None
        #: Why a writer with a monitor replays the whole journal (None: it does not).
        self.full_replay_reason: str | None = None
        # The monitor has counted every row up to this sequence, and none after it;
        # ``_unsaved``: it counted rows since its state was last stored.
        self._counted = 0
        self._unsaved = False
        if resume is not False and self._stored > 0:
            at_most = self._stored if monitor is None else self._restore(monitor)
            if at_most > 0:
                self.resumed_from = self._replay.resume(at_most)
            log.info(
                "audit writer: stored through seq %d; books from %s%s", self._stored,
                "the first record" if self.resumed_from is None
                else f"the snapshot at seq {self.resumed_from}",
                "" if self.monitor_restored is None
                else f"; monitors' state restored at seq {self.monitor_restored}",
            )  # fmt: skip
        self._held: list[_Held] = []
        self._pending_alerts: list[Alert] = []
        self._behind_since: int | None = None
        self._stop = threading.Event()
        self._label = store.backend
        self.hot = hot
        self.monitor = monitor
        self._depth = depth
        #: Called with each batch of alerts once it is stored (on the writer's thread).
        self.on_alerts: list[Callable[[list[Alert]], None]] = []

    def _restore(self, monitor: ComplianceMonitor) -> int:
        """Restores the monitors' stored state into ``monitor``; returns its sequence, or 0
        (logged, :attr:`full_replay_reason`) when there is none it can take."""
        try:
            state = self.store.monitor_state()
            if state is None:
                raise StorageError("the store holds no monitor state", reason="MONITOR_STATE")
            if not 0 < state.journal_seq <= self._stored:
                raise StorageError(
                    f"monitor state at journal_seq={state.journal_seq} is not within the "
                    f"stored sequence {self._stored}",
                    reason="MONITOR_STATE",
                )
            monitor.restore(state)
        except StorageError as e:
            if e.reason != "MONITOR_STATE":
                raise
            self.full_replay_reason = str(e)
            log.warning(
                "audit writer replays the whole journal to count the monitors' history "
                "(stored through seq %d): %s", self._stored, e,
            )  # fmt: skip
            return 0
        self._counted = self.monitor_restored = state.journal_seq
        self._checkpoints.restored(state, self.store.monitor_state_sizes())
        return state.journal_seq

    @property
    def stored_seq(self) -> int:
        """The journal sequence the store holds every event up to."""
        return self._stored

    @property
    def records_read(self) -> int:
        """Journal records this writer has read (after a resume: only those after the
        snapshot)."""
        return self._replay.records_read

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
        batch = self._replay.read()
        head = self._replay.cursor
        if head > before and self._behind_since is None:
            self._behind_since = time.monotonic_ns()
        held = _Held(batch, 0, head)
        if len(batch) and not held.skip_through(self._stored):
            self._held.append(held)
        elif self._held:  # no new rows: the last held batch's write covers the new records
            self._held[-1].head = head
        touched = self._replay.touched
        if self.hot is not None and (touched or self.hot.down):
            self.hot.publish(self._replay, batch, self._stored, head, depth=self._depth)
        # Rows already stored, which the monitor may not have counted (a full replay, or
        # the rows between its stored state and the stored sequence): counted, no alerts.
        self._count(batch, 0, len(batch), min(head, self._stored))
        written = self._write_parallel() if self._parallel else 0
        while self._held and not self._parallel:
            h = self._held[0]
            end = _cut(h.batch.journal_seq, h.start, self.batch_rows)
            last = end >= len(h.batch)
            through = h.head if last else int(h.batch.journal_seq[end - 1])
            self._count(h.batch, h.start, end, through)
            written += self._write(h.batch, h.start, end, through)
            h.start = end
            if last:
                self._held.pop(0)
        # Records without rows (controls), or rows stored before; or the monitors' state,
        # once they counted the stored history (so the next start need not count it again).
        if self._stored < head or (self._unsaved and self._counted >= self._stored):
            self._write(None, 0, 0, max(head, self._stored))
        self._behind_since = None
        self.lag()
        return written

    def _write_parallel(self) -> int:
        """The held rows cut into batches (counted by the monitors in order) and written on
        the store's connections at once; the stored sequence moves to the gap-free prefix of
        the committed batches. Raises ``StorageError`` when a batch failed (the rows after the
        prefix stay held)."""
        if self._recover_due:
            self._settle(self.store.recover())  # type: ignore[attr-defined]
            self._recover_due = False
        from wintermute.storage.postgres import RangeWrite

        batches: list[RangeWrite] = []
        after = self._stored
        for h in self._held:
            start = h.start
            while start < len(h.batch):
                end = _cut(h.batch.journal_seq, start, self.batch_rows)
                through = h.head if end >= len(h.batch) else int(h.batch.journal_seq[end - 1])
                self._count(h.batch, start, end, through)
                if self.monitor is not None and self._unsaved and self._counted == through:
                    last = h is self._held[-1] and end >= len(h.batch)  # a fold goes last
                    state = self._checkpoints.state(self.monitor, through, may_fold=last)
                    self._states[through] = state
                alerts = [a for a in self._pending_alerts if after < a.journal_seq <= through]
                batches.append(RangeWrite(h.batch, start, end, after, through, alerts))
                after, start = through, end
        if not batches:
            return 0
        try:
            written, prefix, error = self.store.write_ranges(  # type: ignore[attr-defined]
                batches, self._states
            )
        except StorageError:
            self._recover_due = True  # the fold may not have happened: settle first
            raise
        self._settle(prefix, folded=True)
        ROWS.labels(self._label).inc(written)
        if error is not None:
            raise error
        return int(written)

    def _settle(self, prefix: int, folded: bool = False) -> None:
        """The store holds every row up to ``prefix`` (and, ``folded``, the monitors' newest
        state within it): drops what it covers from what is held, and announces its alerts."""
        within = [s for s in self._states if s <= prefix]
        saved = max(within, default=None)
        if saved is not None and saved == self._counted:
            self._unsaved = False
        if saved is not None and folded:
            self._stored_state(self._states[saved], batches=len(within))
        self._states = {s: v for s, v in self._states.items() if s > prefix}
        alerts = [a for a in self._pending_alerts if a.journal_seq <= prefix]
        self._pending_alerts = [a for a in self._pending_alerts if a.journal_seq > prefix]
        self._stored = max(self._stored, prefix)
        self._held = [h for h in self._held if not h.skip_through(self._stored)]
        if alerts:
            self._announce(alerts)

    def _stored_state(self, state: MonitorStateWrite, batches: int = 1) -> None:
        """The store committed ``state`` (with ``batches`` batches since the last one)."""
        self._checkpoints.stored(state, batches)
        if self.monitor is not None:
            self.monitor.forget_through(state.journal_seq)

    def _count(self, batch: AuditBatch, start: int, end: int, through: int) -> None:
        """Feeds the monitor the rows of ``start:end`` it has not counted, up to ``through``
        (those at or before the stored sequence without alerting); it has then counted every
        row up to ``through`` (the caller read them all)."""
        if self.monitor is None or through <= self._counted:
            return
        seqs = batch.journal_seq[start:end]
        lo = start + int(np.searchsorted(seqs, self._counted, side="right"))
        hi = start + int(np.searchsorted(seqs, through, side="right"))
        if hi > lo:
            alerts = self.monitor.observe(batch.rows(start=lo, end=hi), self._stored)
            self._pending_alerts.extend(alerts)
            self._unsaved = True
        self._counted = through

    def _write(self, batch: AuditBatch | None, start: int, end: int, through: int) -> int:
        """Stores rows ``start:end`` of ``batch``, the alerts up to ``through`` and the
        monitors' state (every row up to ``through`` counted, none after) in one transaction
        that moves the stored sequence to ``through``; announces the alerts."""
        alerts = [a for a in self._pending_alerts if a.journal_seq <= through]
        state: MonitorStateWrite | None = None
        if self.monitor is not None and self._unsaved:
            state = self._checkpoints.state(self.monitor, max(self._counted, through))
        try:
            if batch is None:
                written = self.store.write([], through, alerts, state)
            else:
                written = write_batch(self.store, batch, through, start, end, alerts, state)
        except StorageError as e:
            if e.reason == "MONITOR_STATE":  # changes the store cannot take: store it whole
                log.warning("audit writer stores the monitors' state whole: %s", e)
                self._checkpoints.forget()
            raise
        if state is not None:
            self._unsaved = False
            self._stored_state(state)
        if self.monitor is not None:  # every row up to ``through`` is counted (see step)
            self._counted = max(self._counted, through)
        if alerts:
            self._pending_alerts = [a for a in self._pending_alerts if a.journal_seq > through]
            self._announce(alerts)
        self._stored = max(self._stored, through)
        ROWS.labels(self._label).inc(written)
        return written

    def _announce(self, alerts: list[Alert]) -> None:
        for listener in self.on_alerts:
            try:
                listener(alerts)
            except Exception:  # noqa: PERF203 (a listener's bug must not stop the audit trail)
                log.exception("an alert listener failed")

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
            recover = getattr(self.store, "recover", None)
            self._stored = self.store.last_seq() if recover is None else recover()
            self._recover_due = False
        except StorageError as e:
            log.warning("audit store still unreachable: %s", e)
            return
        for h in self._held:  # rows stored by then: counted (without alerting) before dropped
            self._count(h.batch, h.start, len(h.batch), min(h.head, self._stored))
        self._held = [h for h in self._held if not h.skip_through(self._stored)]
        self._pending_alerts = [a for a in self._pending_alerts if a.journal_seq > self._stored]
        self._states = {s: v for s, v in self._states.items() if s > self._stored}

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
    writer = AuditWriter(
        store, instruments, journal, batch_rows=batch_rows, monitor=monitor, resume=False
    )
    return writer.step()
