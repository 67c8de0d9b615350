"""The venue's state saved beside its journal, so that a venue over a pruned journal comes back
whole (see ``wintermute.service.venue`` and docs/service.md, "Restarts").

A venue over a journal saves its state as of one journal record ``S`` into the journal
directory as ``venue-<S, 20 digits>.state``: once it has rebuilt itself at start, at close once
the engine has stopped (then ``S`` is the engine's last record), and after engine snapshots or
on request (``Venue.save_state``: ``S`` is the snapshot's record). While the file is there,
pruning (``prune_segments``, ``wintermute journal prune``) keeps every record after ``S``; a
venue starting over the journal loads the file and replays only the records after ``S``.

The state: the books of the engine as of ``S`` (``Engine.snapshot`` JSON, from which the records
after ``S`` are replayed), the order table, the ledger and the book mirrors (the Rust parts'
own versioned documents: ``VenueOrders.to_state``, ``VenueLedger.to_state``,
``VenueBooks.to_state``), the trade tape, the accounts' fills, the next trade id, the kill
switches and the runtime limits. The file is one header line, then JSON::

    wintermute-venue-state v1 len=<bytes of JSON> crc32=<8 hex digits>
    {"journal_seq": S, "symbols": [...], "engine": {...}, "orders": "...", ...}

It is written atomically (a ``.tmp`` file, fsynced, renamed, the directory fsynced), then the
older states are removed. A file that does not read back (another format or version, a wrong
length or CRC, a state of other instruments) raises ``JournalError`` with reason
``VENUE_STATE`` naming the file: the venue never starts empty over it.
"""

from __future__ import annotations

import json
import os
import zlib
from dataclasses import dataclass, fields
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar, get_type_hints

from wintermute import errors

__all__ = [
    "VERSION",
    "SavedState",
    "decode",
    "encode",
    "load",
    "save",
    "snapshot_books",
    "state_name",
]

VERSION = 1
_MAGIC = f"wintermute-venue-state v{VERSION}"
_PREFIX, _EXT = "venue-", ".state"

T = TypeVar("T")


@dataclass(frozen=True)
class SavedState:
    """A state read back: the journal record it is as of, its file and its document."""

    journal_seq: int
    path: Path
    body: dict[str, Any]


def state_name(journal_seq: int) -> str:
    """The file name of the state as of journal record ``journal_seq`` (the name the journal's
    pruning knows: ``wintermute_engine::journal::held_state_name``)."""
    return f"{_PREFIX}{journal_seq:020d}{_EXT}"


def _states(directory: Path) -> list[tuple[int, Path]]:
    """The saved states of ``directory``, newest first."""
    found = []
    for path in directory.iterdir():
        digits = path.name.removeprefix(_PREFIX).removesuffix(_EXT)
        if digits.isdigit() and path.name == state_name(int(digits)):
            found.append((int(digits), path))
    return sorted(found, reverse=True)


def _bad(path: Path, why: str) -> errors.JournalError:
    return errors.JournalError(f"venue state {path}: {why}", reason="VENUE_STATE")


def save(directory: str | os.PathLike[str], journal_seq: int, body: dict[str, Any]) -> Path:
    """Writes the state as of ``journal_seq`` atomically into ``directory``, then removes every
    other saved state; returns its path."""
    d = Path(directory)
    path = d / state_name(journal_seq)
    data = json.dumps({"journal_seq": journal_seq, **body}, separators=(",", ":")).encode()
    header = f"{_MAGIC} len={len(data)} crc32={zlib.crc32(data):08x}\n".encode()
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(header + data)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)
    _sync_dir(d)
    for _, old in _states(d):
        if old != path:
            old.unlink()
    _sync_dir(d)
    return path


def _sync_dir(d: Path) -> None:
    fd = os.open(d, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def load(directory: str | os.PathLike[str]) -> SavedState | None:
    """The newest state saved in ``directory`` (None: there is none). Raises ``JournalError``
    (reason ``VENUE_STATE``) for one that does not read back whole."""
    states = _states(Path(directory))
    if not states:
        return None
    seq, path = states[0]
    raw = path.read_bytes()
    head, nl, data = raw.partition(b"\n")
    words = head.decode("utf-8", "replace").split(" ")
    if not nl or " ".join(words[:2]) != _MAGIC:
        raise _bad(path, f"the file does not start with {_MAGIC!r}")
    try:
        meta = dict(w.split("=", 1) for w in words[2:])
        length, crc = int(meta["len"]), int(meta["crc32"], 16)
    except (KeyError, ValueError) as e:
        raise _bad(path, f"bad header {head[:80]!r}") from e
    if len(data) != length:
        raise _bad(path, f"length mismatch: header len={length}, body len={len(data)}")
    if zlib.crc32(data) != crc:
        raise _bad(path, f"CRC mismatch: header crc32={crc:08x}, body crc32={zlib.crc32(data):08x}")
    body = json.loads(data)
    if body.get("journal_seq") != seq:
        said = body.get("journal_seq")
        raise _bad(path, f"the file name says journal_seq={seq}, the state {said}")
    return SavedState(seq, path, body)


def snapshot_books(path: str | os.PathLike[str], symbols: list[str]) -> dict[str, str]:
    """The books of an engine snapshot file (``snapshot-<seq>.snap``, ``Pipeline.snapshot``)
    as ``Engine.snapshot`` JSON, by symbol (``symbols``: in instrument id order)."""
    p = Path(path)
    head, _, data = p.read_bytes().partition(b"\n")
    if not head.startswith(b"wintermute-snapshot v"):
        raise errors.JournalError(f"{p}: not an engine snapshot", reason="VENUE_STATE")
    books = json.loads(data)["books"]
    if [b["spec"]["symbol"] for b in books] != symbols:
        raise errors.JournalError(f"{p}: a snapshot of other instruments", reason="VENUE_STATE")
    return {s: json.dumps(b) for s, b in zip(symbols, books, strict=True)}


_FIELDS: dict[type, tuple[list[str], frozenset[str]]] = {}


def _fields_of(cls: type) -> tuple[list[str], frozenset[str]]:
    """A record class's field names in order, and those that are decimals (read once)."""
    if cls not in _FIELDS:
        names = [f.name for f in fields(cls)]
        hints = get_type_hints(cls)
        _FIELDS[cls] = names, frozenset(n for n, t in hints.items() if t is Decimal)
    return _FIELDS[cls]


def encode(record: Any) -> list[Any]:
    """A record (``Trade``, ``Fill``) as a JSON list: its fields in order, decimals as text."""
    return [
        str(v) if isinstance(v, Decimal) else v
        for v in (getattr(record, f.name) for f in fields(record))
    ]


def decode(cls: type[T], values: list[Any]) -> T:
    """A record of ``cls`` from :func:`encode`'s list."""
    names, exact = _fields_of(cls)
    if len(values) != len(names):
        raise ValueError(f"{cls.__name__}: {len(values)} values for {len(names)} fields")
    return cls(**{n: Decimal(v) if n in exact else v for n, v in zip(names, values, strict=True)})
