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

from dataclasses import dataclass
from typing import Any

from wintermute.storage.monitors import STATE_FORMAT, ComplianceMonitor
from wintermute.storage.schema import MonitorChanges, MonitorState, MonitorStateWrite

__all__ = ["DEFAULT_EVERY", "DROP_FOLDED_SQL", "Checkpoints", "checkpoint_every", "stored_sizes"]

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
