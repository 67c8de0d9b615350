"""The audit rows built in Rust: the journal replayed and turned into columns by the engine
crate (``wintermute_engine::audit_rows``), with no Python work per row.

:class:`RustJournalReplay` reads a journal as :class:`~.replay.JournalReplay` does (same rows,
row for row: a test runs both on thousands of random command streams), but returns an
:class:`AuditBatch`: the rows as integer columns (ticks, lots, codes), which PostgreSQL takes
as binary ``COPY`` data encoded in Rust (:meth:`PostgresStore.write_columns
<wintermute.storage.postgres.PostgresStore.write_columns>`, exact ``NUMERIC`` from ticks and
lots with the instrument's tick and lot size), and from which :meth:`AuditBatch.rows` builds
:class:`AuditRow` s where Python needs them (SQLite, the monitors)::

    replay = RustJournalReplay(config.instruments, "journal/")
    batch = replay.read()
    write_batch(store, batch, replay.cursor)   # COPY on PostgreSQL, rows on SQLite
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from os import PathLike
from typing import Any

import numpy as np
import numpy.typing as npt

from wintermute import _core, errors
from wintermute.config import InstrumentConfig
from wintermute.storage.replay import CORRUPT_REREADS, _Spec
from wintermute.storage.schema import Alert, AuditRow, MonitorStateWrite
from wintermute.storage.store import AuditStore

__all__ = ["AuditBatch", "RustJournalReplay", "command_batches", "write_batch"]

_COMMANDS = ("new", "cancel", "amend", "mass_cancel", "amend_total")
_KINDS = ("", "accepted", "rejected", "trade", "canceled", "amended")
_SIDES = ("buy", "sell")
_REASONS: dict[int, str] = dict(_core.AUDIT_REASONS)
# The null bits of the ``present`` column (``audit_rows::present``), in AuditRow's order of
# the nullable fields.
_ACCOUNT, _SIDE, _PRICE, _QTY, _LEAVES, _OLD_PRICE, _OLD_QTY = (1 << i for i in range(7))
_CONTRA_ACCOUNT, _CONTRA_ORDER, _CONTRA_LEAVES, _REASON, _PRIORITY = (1 << i for i in range(7, 12))
_DAY_NS = 86_400 * 10**9


class AuditBatch:
    """Audit rows as columns (:meth:`columns`), as rows (:meth:`rows`) and as PostgreSQL
    binary ``COPY`` data (:meth:`copy_binary`)."""

    def __init__(self, raw: _core.AuditColumns, specs: Sequence[_Spec]) -> None:
        self._raw = raw
        self._specs = specs
        self._columns: dict[str, npt.NDArray[Any]] | None = None

    def __len__(self) -> int:
        return len(self._raw)

    def columns(self) -> dict[str, npt.NDArray[Any]]:
        """Every column as a numpy array (integers: ticks, lots, codes; ``present``: which
        nullable columns each row has)."""
        if self._columns is None:
            self._columns = self._raw.columns()
        return self._columns

    @property
    def journal_seq(self) -> npt.NDArray[np.uint64]:
        return self.columns()["journal_seq"]

    def days(self, start: int = 0, end: int | None = None) -> list[int]:
        """The UTC days (since the epoch) of rows ``start:end``."""
        ts = self.columns()["ts_ns"][start:end]
        return [int(d) for d in np.unique(ts // _DAY_NS)]

    def copy_binary(
        self, start: int = 0, end: int | None = None, after_seq: int = 0
    ) -> tuple[bytes, int]:
        """Binary ``COPY`` data of rows ``start:end`` after ``after_seq``, and its row count."""
        return self._raw.copy_binary(start, len(self) if end is None else end, after_seq)

    def rows(
        self, where: npt.NDArray[np.bool_] | None = None, start: int = 0, end: int | None = None
    ) -> list[AuditRow]:
        """Rows ``start:end`` as :class:`AuditRow` s (exact decimals from ticks and lots);
        only those where the mask ``where`` (one bool per row) is true, when given."""
        if where is None:
            c = {k: v[start:end].tolist() for k, v in self.columns().items()}
        else:
            c = {k: v[start:end][where[start:end]].tolist() for k, v in self.columns().items()}
        present = c["present"]
        specs = [self._specs[i] for i in c["instrument"]]

        def plain(name: str, bit: int, table: Any = None) -> list[Any]:
            """The column, None where the row lacks it; through ``table`` when given."""
            if table is None:
                return [v if p & bit else None for v, p in zip(c[name], present, strict=True)]
            return [table[v] if p & bit else None for v, p in zip(c[name], present, strict=True)]

        def decimal(name: str, bit: int, price: bool) -> list[Any]:
            return [
                (s.price(v) if price else s.qty(v)) if p & bit else None
                for s, v, p in zip(specs, c[name], present, strict=True)
            ]

        columns = (
            c["journal_seq"], c["n"], c["event_seq"], c["ts_ns"], [s.symbol for s in specs],
            [_COMMANDS[v] for v in c["command"]], [_KINDS[v] for v in c["kind"]],
            plain("account", _ACCOUNT), c["order_id"], plain("side", _SIDE, _SIDES),
            decimal("price", _PRICE, True), decimal("qty", _QTY, False),
            decimal("leaves_qty", _LEAVES, False), decimal("old_price", _OLD_PRICE, True),
            decimal("old_qty", _OLD_QTY, False), plain("contra_account", _CONTRA_ACCOUNT),
            plain("contra_order_id", _CONTRA_ORDER),
            decimal("contra_leaves_qty", _CONTRA_LEAVES, False),
            plain("reason", _REASON, _REASONS), plain("priority_kept", _PRIORITY, (False, True)),
        )  # fmt: skip
        return list(map(AuditRow._make, zip(*columns, strict=True)))


class RustJournalReplay:
    """Replays the journal at ``path`` for ``instruments`` (in id order) in Rust; each
    :meth:`read` returns the rows of the records appended since the last. Not thread-safe."""

    def __init__(self, instruments: Sequence[InstrumentConfig], path: str | PathLike[str]) -> None:
        self.path = str(path)
        self._specs = [_Spec(i) for i in instruments]
        fields = ("symbol", "tick_size", "lot_size", "min_qty", "max_qty", "min_price", "max_price")
        self._replay = _core.AuditReplay(
            [tuple(str(getattr(i, f)) for f in fields) for i in instruments]  # type: ignore[misc]
        )
        self._ids = {spec.symbol: i for i, spec in enumerate(self._specs)}

    @property
    def cursor(self) -> int:
        """The last journal sequence number read (any record)."""
        return self._replay.cursor

    @property
    def records_read(self) -> int:
        """Journal records read so far (after :meth:`resume`: only those after the
        snapshot)."""
        return self._replay.records_read

    @property
    def touched(self) -> set[str]:
        """The symbols whose books the last :meth:`read` ran commands on."""
        return {self._specs[i].symbol for i in self._replay.touched}

    def resume(self, at_most: int) -> int | None:
        """Before the first :meth:`read`: starts from the newest engine snapshot in the
        journal's directory at or before journal sequence ``at_most`` (its books, and
        :attr:`cursor` at its sequence) instead of the journal's first record, so reads cover
        only what follows it. Returns the snapshot's sequence, or None (none that early, or
        none that checks out: nothing changed, the replay starts from the first record)."""
        return self._replay.resume(self.path, at_most)

    def depth(self, symbol: str, levels: int = 10) -> _core.Depth:
        """The replayed book of ``symbol`` (as ``Engine.depth``), as of :attr:`cursor`."""
        return self._replay.depth(self._ids[symbol], levels)

    def read(self) -> AuditBatch:
        """The rows of the records after :attr:`cursor`, advancing it (records without a time
        take the time of the read). A record caught half-written is read again, as
        ``JournalReplay`` does; raises ``JournalCorruptError`` on real damage."""
        for attempt in range(CORRUPT_REREADS):
            try:
                raw = self._replay.read(self.path, time.time_ns())
                return AuditBatch(raw, self._specs)
            except errors.JournalCorruptError:  # noqa: PERF203 (rare: a racing write)
                if attempt == CORRUPT_REREADS - 1:
                    raise
                time.sleep(0.001 * (attempt + 1))
        raise AssertionError("unreachable")


def write_batch(
    store: AuditStore,
    batch: AuditBatch,
    through_seq: int,
    start: int = 0,
    end: int | None = None,
    alerts: Sequence[Alert] = (),
    state: MonitorStateWrite | None = None,
) -> int:
    """Stores rows ``start:end`` of ``batch``, ``alerts`` and the monitors' ``state`` (one
    transaction, rows at or before the stored sequence skipped): by binary ``COPY`` of the
    Rust-encoded data on PostgreSQL, as rows elsewhere."""
    write_columns = getattr(store, "write_columns", None)
    if write_columns is not None:
        return int(write_columns(batch, through_seq, start, end, alerts, state))
    return store.write(batch.rows(start=start, end=end), through_seq, alerts, state)


def command_batches(seqs: Sequence[int], batch_rows: int) -> list[tuple[int, int]]:
    """``(start, end)`` of consecutive batches of about ``batch_rows`` rows, each ending at a
    command boundary (a command's rows are never split), as the writer cuts them."""
    out = []
    i = 0
    while i < len(seqs):
        end = min(i + batch_rows, len(seqs))
        while end < len(seqs) and seqs[end] == seqs[end - 1]:
            end += 1
        out.append((i, end))
        i = end
    return out
