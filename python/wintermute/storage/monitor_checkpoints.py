"""When the audit writer stores the compliance monitors' state whole (a checkpoint) rather than
the entries changed since the state the store holds.

A store holds the monitors' state as one whole state (``audit_monitor_entries``, part
``whole``) and, over it, one entry per account or instrument changed since (upserted each
batch; ``monitors.py``). Left alone those entries grow towards one per account ever seen, and
a restart decodes every one of them. So the writer **folds** them: it stores a whole state
again (the store writes it and deletes the entries it replaces in the batch's one
transaction, so a crash leaves either the old whole state and its entries or the new one)

- every ``every`` batches (``[audit.monitors] checkpoint_every``, default
  :data:`DEFAULT_EVERY`; 0: never, the entries grow as before), or
- as soon as the entries stored since the whole state add up to more bytes than it has:
  the monitors' state then costs at most about twice the changes' bytes to write, and a
  restart decodes at most about twice the whole state's bytes.

A writer that restored a state continues from it: it takes the sizes the store holds
(``monitor_state_sizes()``) as its starting point; a restored state of an older format
(``monitors.READ_FORMATS``) is folded at the first batch, into the current one.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any, ClassVar

from wintermute.storage.monitors import STATE_FORMAT, ComplianceMonitor, check_changes
from wintermute.storage.schema import MonitorChanges, MonitorState, MonitorStateWrite

__all__ = [
    "DEFAULT_EVERY",
    "DROP_FOLDED_SQL",
    "Checkpoints",
    "MonitorStateTables",
    "checkpoint_every",
    "stored_sizes",
]

#: Deletes the entries a whole state just written replaces (all of them: each entry is of a
#: state at or before it). A store runs it in the transaction that wrote the whole state. The
#: same SQL on every backend.
DROP_FOLDED_SQL = "DELETE FROM audit_monitor_entries WHERE part <> 'whole'"

_STATE_SIZES_SQL = (
    "SELECT coalesce(sum(CASE WHEN part = 'whole' THEN length(value) END), 0), "
    "coalesce(sum(CASE WHEN part <> 'whole' THEN length(part) + length(key) + length(value) "
    "END), 0) FROM audit_monitor_entries"
)


def stored_sizes(db: Any) -> tuple[int, int]:
    """The bytes of the monitors' whole state a store's connection ``db`` (sqlite3 or
    psycopg) holds, and of the entries over it (parts, keys and values, as
    ``MonitorChanges.size`` counts them)."""
    row = db.execute(_STATE_SIZES_SQL).fetchone()
    assert row is not None
    return int(row[0]), int(row[1])


class MonitorStateTables:
    """The monitors' state in a store's tables (``audit_monitor_state``, the head: format,
    config, sequence; ``audit_monitor_entries``: the whole state and the entries over it),
    written and sized the same way by every store; a store sets its connection ``_db``
    (sqlite3 or psycopg) and its SQL dialect: ``PARAM`` (the placeholder) and ``HEAD_LOCK``
    (what locks the head row while changes are checked against it)."""

    PARAM: ClassVar[str]
    HEAD_LOCK: ClassVar[str] = ""
    _db: Any

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        p = cls.PARAM
        head = "SELECT format, config, journal_seq FROM audit_monitor_state"
        cls._HEAD_SQL = head + cls.HEAD_LOCK
        cls._UPSERT_STATE = (
            f"INSERT INTO audit_monitor_state VALUES (1, {p}, {p}, {p}, {p}) "
            "ON CONFLICT (id) DO UPDATE SET format = excluded.format, config = excluded.config, "
            "journal_seq = excluded.journal_seq, updated_ns = excluded.updated_ns"
        )
        cls._UPSERT_ENTRY = (
            f"INSERT INTO audit_monitor_entries VALUES ({p}, {p}, {p}) "
            "ON CONFLICT (part, key) DO UPDATE SET value = excluded.value"
        )
        cls._ADVANCE_HEAD = f"UPDATE audit_monitor_state SET journal_seq = {p}, updated_ns = {p}"

    _HEAD_SQL: ClassVar[str]
    _UPSERT_STATE: ClassVar[str]
    _UPSERT_ENTRY: ClassVar[str]
    _ADVANCE_HEAD: ClassVar[str]

    def _put_state(self, state: MonitorStateWrite) -> None:
        """In the caller's transaction: a whole state in place of the one held (then the
        entries it folds in are dropped), or changes upserted over it
        (``monitors.check_changes``)."""
        db, now = self._db, time.time_ns()
        if isinstance(state, MonitorChanges):
            head = db.execute(self._HEAD_SQL).fetchone()
            check_changes(None if head is None else (int(head[0]), head[1], int(head[2])), state)
            if state.entries:
                cur = db.cursor()
                try:
                    cur.executemany(self._UPSERT_ENTRY, state.entries)
                finally:
                    cur.close()
            db.execute(self._ADVANCE_HEAD, (state.journal_seq, now))
            return
        db.execute(self._UPSERT_STATE, (state.format, state.config, state.journal_seq, now))
        db.execute(self._UPSERT_ENTRY, ("whole", "", state.data))  # the checkpoint, then
        self._drop_folded_entries()  # the entries it folds in (one transaction)

    def _drop_folded_entries(self) -> None:
        """In the caller's transaction: :data:`DROP_FOLDED_SQL`."""
        self._db.execute(DROP_FOLDED_SQL)

    def monitor_state_sizes(self) -> tuple[int, int]:
        """The bytes of the monitors' whole state the store holds, and of the entries over
        it (:func:`stored_sizes`)."""
        return stored_sizes(self._db)


#: Batches between two whole states of the monitors (at most).
DEFAULT_EVERY = 1_000
_MAX_EVERY = 10**9


def checkpoint_every(value: object) -> int:
    """``value`` if it is a number of batches between checkpoints (0 to 10**9, 0: never);
    ``ValueError`` naming what it got otherwise."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= _MAX_EVERY:
        raise ValueError(
            f"checkpoint_every={value!r}: expected an integer from 0 (never) to {_MAX_EVERY}"
        )
    return value


@dataclass
class Checkpoints:
    """What the writer knows of the monitors' state its store holds, and whether the next
    state it stores should be whole (see the module documentation)."""

    every: int = DEFAULT_EVERY
    #: The sequence of the newest state of this monitor the store holds (the next changes
    #: are those since it); None: none, the next state is whole.
    base: int | None = None
    #: Batches and entry bytes stored since the whole state, and the whole state's bytes.
    batches: int = 0
    entry_bytes: int = 0
    whole_bytes: int = 0

    def __post_init__(self) -> None:
        checkpoint_every(self.every)

    def due(self) -> bool:
        """Whether the next state stored should be whole."""
        if self.base is None:
            return True
        return self.every > 0 and (
            self.batches >= self.every or self.entry_bytes > self.whole_bytes
        )

    def state(
        self, monitor: ComplianceMonitor, seq: int, may_fold: bool = True
    ) -> MonitorStateWrite:
        """The monitors' state to store as of ``seq``: whole when there is no base, or when
        a fold is due and ``may_fold`` (the writer folds only with the last batch of a step
        written on several connections: only the newest state of a step is stored)."""
        if self.base is None or (may_fold and self.due()):
            return monitor.state(seq)
        return monitor.changes(seq, self.base)

    def stored(self, state: MonitorStateWrite, batches: int = 1) -> None:
        """The store committed ``state``, and with it ``batches`` batches since the last
        state it committed."""
        if isinstance(state, MonitorChanges):
            self.batches += batches
            self.entry_bytes += state.size
        else:
            self.batches, self.entry_bytes, self.whole_bytes = 0, 0, len(state.data)
        self.base = state.journal_seq

    def restored(self, state: MonitorState, sizes: tuple[int, int]) -> None:
        """The writer restored ``state`` from its store, which holds ``sizes`` (the whole
        state's bytes, its entries' bytes)."""
        self.base = state.journal_seq if state.format == STATE_FORMAT else None
        self.batches = 0
        self.whole_bytes, self.entry_bytes = sizes

    def forget(self) -> None:
        """The store refused changes: the next state is whole."""
        self.base = None
