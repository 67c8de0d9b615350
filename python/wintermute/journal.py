"""The journal: every input command, in order, from which every book state can be rebuilt.

An engine writes one when asked to (``Engine.open_journal(path)``): each command is appended
(length + CRC32C per record, memory-mapped segment files) before it runs. Opening the same
directory again after a stop or a crash rebuilds the books from the newest valid snapshot
(``Engine.journal_snapshot()``) and the records after it; a torn last record is cut off and
reported, damage in the middle raises ``JournalCorruptError`` naming the segment and offset.

This module reads journals back, for ``wintermute journal``::

    >>> import tempfile
    >>> from wintermute import Engine, journal
    >>> d = tempfile.mkdtemp()
    >>> eng = Engine()
    >>> eng.add_instrument("X", tick_size="1", lot_size="1", min_qty="1", max_qty="100",
    ...                    min_price="1", max_price="1000")
    0
    >>> eng.open_journal(d, fsync="none")["records"]
    0
    >>> _ = eng.submit("X", 1, "buy", qty="5", price="100")
    >>> eng.close_journal()
    >>> entries = journal.read(d)
    >>> int(entries["seq"][0]), int(entries["price"][0]), int(entries["qty"][0])
    (1, 100, 5)
"""

from __future__ import annotations

import csv
import json
import sys
from collections.abc import Iterator
from os import PathLike
from pathlib import Path
from typing import Any, TextIO, TypedDict

import numpy as np
import numpy.typing as npt

from wintermute import _core, batch, errors

__all__ = [
    "ENTRY_DTYPE",
    "REJECTION_DTYPE",
    "Pruned",
    "Summary",
    "export",
    "prune",
    "read",
    "read_client_order_ids",
    "read_controls",
    "read_rejections",
    "summarize",
]

#: One journal entry: its sequence number, the instrument id, the command's fields, then
#: ``wall_ns``, the engine's wall-clock time of the record (nanoseconds since the Unix epoch,
#: from the journal's time marks; 0 in journals written before them).
_COMMAND_FIELDS = [n for n in batch.COMMAND_DTYPE.names or () if not n.startswith("_")]
ENTRY_DTYPE = np.dtype(
    [("seq", np.dtype("<u8")), ("instrument", np.dtype("<u4"))]
    + [(n, batch.COMMAND_DTYPE[n]) for n in _COMMAND_FIELDS]
    + [("wall_ns", np.dtype("<u8"))]
)
#: One journaled risk rejection: an entry, then ``reason``, the number of its code in
#: ``wintermute.pipeline.RISK_REASONS`` (1 = the first of ``_core.PIPELINE_RISK_CODES``).
REJECTION_DTYPE = np.dtype([*ENTRY_DTYPE.descr, ("reason", np.dtype("u1"))])

_KINDS = {
    batch.NEW: "new",
    batch.CANCEL: "cancel",
    batch.AMEND: "amend",
    batch.MASS_CANCEL: "mass_cancel",
    batch.AMEND_TOTAL: "amend_total",
}


def read(path: str | PathLike[str], after_seq: int = 0) -> npt.NDArray[np.void]:
    """The entries after ``after_seq`` as an ``ENTRY_DTYPE`` array. Raises
    ``JournalCorruptError`` at the first invalid record."""
    raw = _core.journal_read(str(path), after_seq)
    cmds = raw["commands"].view(batch.COMMAND_DTYPE)
    out = np.zeros(len(cmds), dtype=ENTRY_DTYPE)
    out["seq"] = raw["seq"]
    out["instrument"] = raw["instrument"]
    out["wall_ns"] = raw["wall_ns"]
    for name in _COMMAND_FIELDS:
        out[name] = cmds[name]
    return out


def read_client_order_ids(path: str | PathLike[str], after_seq: int = 0) -> dict[int, str]:
    """The client order ids of the records after ``after_seq``, by sequence number: the ids a
    gateway was given with its new orders (``submit_ticks(..., client_order_id=)``, as the
    service's venue does), journaled with them."""
    return dict(_core.journal_read(str(path), after_seq)["client_order_ids"])


def read_rejections(path: str | PathLike[str], after_seq: int = 0) -> npt.NDArray[np.void]:
    """The risk rejections after ``after_seq`` as a ``REJECTION_DTYPE`` array: the commands a
    pre-trade limit refused in a journaled pipeline, each with its journal sequence number
    (rejections are numbered with the commands) and its reason."""
    return _rejections(_core.journal_read(str(path), after_seq)["rejections"])


def _rejections(raw: _core.JournalRejections) -> npt.NDArray[np.void]:
    cmds = raw["commands"].view(batch.COMMAND_DTYPE)
    out = np.zeros(len(cmds), dtype=REJECTION_DTYPE)
    out["seq"] = raw["seq"]
    out["instrument"] = raw["instrument"]
    out["wall_ns"] = raw["wall_ns"]
    out["reason"] = raw["reason"]
    for name in _COMMAND_FIELDS:
        out[name] = cmds[name]
    return out


def read_controls(path: str | PathLike[str], after_seq: int = 0) -> list[dict[str, Any]]:
    """The control records after ``after_seq``: runtime risk changes made through the threaded
    engine (limits, default limits, kill switches, reference prices), journaled in order with
    the commands so that a restart restores them. Each is ``{"seq": N, "control": kind, ...}``
    with the record's fields (money in the engine's notional units, prices in ticks)."""
    raw = _core.journal_read(str(path), after_seq)
    return [{"seq": seq, **json.loads(text)} for seq, text in raw["controls"]]


class Summary(TypedDict):
    path: str
    ok: bool
    error: str | None
    records: int
    controls: int
    rejections: int
    first_seq: int | None
    last_seq: int | None
    segments: list[str]
    snapshots: list[str]
    commands: dict[str, int]
    instruments: dict[str, int]


def summarize(path: str | PathLike[str]) -> Summary:
    """Verifies every record of a journal (read-only) and summarizes it."""
    p = Path(path)
    if not p.is_dir():
        raise errors.JournalError(f"no journal directory at path={p}", reason="JOURNAL")
    error = None
    controls: list[dict[str, Any]] = []
    rejections: npt.NDArray[np.void] = np.zeros(0, dtype=REJECTION_DTYPE)
    try:
        entries = read(p)
        controls = read_controls(p)
        rejections = read_rejections(p)
    except errors.JournalError as e:
        error = str(e)
        entries = np.zeros(0, dtype=ENTRY_DTYPE)
    seqs = [int(s) for s in entries["seq"][:1]] + [int(s) for s in entries["seq"][-1:]]
    seqs += [c["seq"] for c in controls[:1]] + [c["seq"] for c in controls[-1:]]
    seqs += [int(s) for s in rejections["seq"][:1]] + [int(s) for s in rejections["seq"][-1:]]
    kinds, counts = np.unique(entries["kind"], return_counts=True)
    insts, icounts = np.unique(entries["instrument"], return_counts=True)
    return {
        "path": str(p),
        "ok": error is None,
        "error": error,
        "records": len(entries) + len(controls) + len(rejections),
        "controls": len(controls),
        "rejections": len(rejections),
        "first_seq": min(seqs) if seqs else None,
        "last_seq": max(seqs) if seqs else None,
        "segments": sorted(f.name for f in p.glob("*.wal")),
        "snapshots": sorted(f.name for f in p.iterdir() if f.name.endswith(".snap")),
        "commands": {
            _KINDS.get(int(k), str(int(k))): int(c) for k, c in zip(kinds, counts, strict=True)
        },
        "instruments": {str(int(i)): int(c) for i, c in zip(insts, icounts, strict=True)},
    }


class Pruned(TypedDict):
    snapshot_seq: int | None
    #: The oldest record a saved venue state holds (``venue-<seq>.state``, see
    #: ``wintermute.service.venue``): nothing after it is removed. None: no such state.
    held_seq: int | None
    segments: list[str]
    archive: str | None
    dry_run: bool


def prune(
    path: str | PathLike[str], archive: str | PathLike[str] | None = None, dry_run: bool = False
) -> Pruned:
    """Removes the segments of the journal at ``path`` that hold only records at or before its
    oldest snapshot that reads back whole: recovery starts from a snapshot and needs none of
    them; a venue state saved in the directory keeps the records after its own (``held_seq``).
    Deleted, or moved to ``archive`` (created if missing; the archive is a journal
    directory of its own, which ``read`` and ``summarize`` read); ``dry_run`` only lists them.
    ``snapshot_seq`` is None, and nothing is removed, when no snapshot reads back. Safe beside
    a running engine: the segment being written is never removed. A pipeline does this itself
    after each snapshot with ``journal.prune_segments`` (and ``journal.archive_dir``)."""
    return _core.journal_prune(str(path), None if archive is None else str(archive), dry_run)


def _rows(entries: npt.NDArray[np.void]) -> Iterator[dict[str, Any]]:
    names = [n for n in ENTRY_DTYPE.names or () if n != "kind"]
    for e in entries:
        row: dict[str, Any] = {"kind": _KINDS.get(int(e["kind"]), int(e["kind"]))}
        row.update({n: int(e[n]) for n in names})
        yield row


def _rejection_rows(refused: npt.NDArray[np.void]) -> Iterator[dict[str, Any]]:
    names = [n for n in ENTRY_DTYPE.names or () if n != "kind"]
    for e in refused:
        row: dict[str, Any] = {
            "kind": "risk_rejected",
            "command": _KINDS.get(int(e["kind"]), int(e["kind"])),
            "reason": _core.PIPELINE_RISK_CODES[int(e["reason"]) - 1],
        }
        row.update({n: int(e[n]) for n in names})
        yield row


def export(
    path: str | PathLike[str], fmt: str, out: TextIO | None = None, parquet_path: str | None = None
) -> int:
    """Writes every entry as JSON lines (``jsonl``), CSV (``csv``) or Parquet (``parquet``,
    needs pyarrow and ``parquet_path``). Returns the number of entries written.

    JSON lines hold every record in sequence order, control records (``"kind": "control"``)
    and risk rejections (``"kind": "risk_rejected"``, with ``command`` and ``reason``)
    included, with the ``client_order_id`` of the records that have one; CSV and Parquet
    have one fixed column set and hold the commands only (see :func:`read_controls`,
    :func:`read_rejections` and :func:`read_client_order_ids` for the rest; ``wintermute
    journal export`` says how many it left out). Every entry has its ``wall_ns``.
    """
    entries = read(path)
    if fmt == "parquet":
        if parquet_path is None:
            raise ValueError("parquet export needs an output file (--out)")
        try:
            import pyarrow as pa
            import pyarrow.parquet as pq
        except ImportError as e:
            raise errors.JournalError(
                "parquet export needs pyarrow: pip install pyarrow", reason="JOURNAL"
            ) from e
        table = pa.table({name: entries[name] for name in entries.dtype.names or ()})
        pq.write_table(table, parquet_path)
        return len(entries)
    stream = out or sys.stdout
    if fmt == "jsonl":
        controls = read_controls(path)
        rows = [
            *_rows(entries),
            *({"kind": "control", **c} for c in controls),
            *_rejection_rows(read_rejections(path)),
        ]
        rows.sort(key=lambda r: int(r["seq"]))
        tags = read_client_order_ids(path)
        for row in rows:
            if (tag := tags.get(int(row["seq"]))) is not None:
                row["client_order_id"] = tag
        for row in rows:
            stream.write(json.dumps(row) + "\n")
        return len(rows)
    elif fmt == "csv":
        writer = csv.DictWriter(
            stream, fieldnames=["kind", *(n for n in ENTRY_DTYPE.names or () if n != "kind")]
        )
        writer.writeheader()
        writer.writerows(_rows(entries))
    else:
        raise ValueError(f"format={fmt!r}: expected jsonl, csv or parquet")
    return len(entries)
