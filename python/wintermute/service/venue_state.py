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
own versioned documents: ``VenueOrders.to_state_bin``, ``VenueLedger.to_state_bin``,
``VenueBooks.to_state_bin``), the trade tape and the accounts' fills (one more binary document,
``_core.venue_history_to_state``), the next trade id, the kill switches and the runtime limits.
The file is one header line, then its parts one after the other::

    wintermute-venue-state v2 len=<bytes> crc32=<8 hex digits> parts=meta:<bytes>,engine:...
    <meta: JSON><engine: JSON><orders><ledger><books><history>

``meta`` holds ``journal_seq``, the symbols, the next trade id, the kill switches and the
limits; ``engine`` the engine's snapshot document (its books); the last four are binary
(postcard, see ``wintermute_engine::venue_state``). The CRC covers every part. Version 1
files (one JSON document, the Rust parts' documents in it as JSON text) still load.

It is written atomically (a ``.tmp`` file, fsynced, renamed, the directory fsynced), then the
older states are removed. A file that does not read back (another format or version, a wrong
length or CRC, a state of other instruments) raises ``JournalError`` with reason
``VENUE_STATE`` naming the file: the venue never starts empty over it.
"""

from __future__ import annotations

import json
import operator
import os
import zlib
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, fields
from decimal import Decimal
from pathlib import Path
from typing import Any, TypeVar, get_type_hints

from wintermute import _core, errors

__all__ = [
    "VERSION",
    "SavedState",
    "decode",
    "encode",
    "load",
    "save",
    "snapshot_books",
    "snapshot_document",
    "state_name",
]

VERSION = 2
_MAGIC = f"wintermute-venue-state v{VERSION}"
_MAGIC_V1 = "wintermute-venue-state v1"
#: The parts of a version 2 file, in order; the binary ones are the Rust parts' documents.
_PARTS = ("meta", "engine", "orders", "ledger", "books", "history")
_BINARY = ("orders", "ledger", "books")
_PREFIX, _EXT = "venue-", ".state"

T = TypeVar("T")


@dataclass(frozen=True)
class SavedState:
    """A state read back: the journal record it is as of, its file and its document (the
    keys ``save`` takes, ``journal_seq`` too: the Rust parts' documents are ``bytes`` from a
    version 2 file, JSON text from a version 1 file; the tape and the fills are records as
    :func:`encode` lists, by symbol and by account)."""

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


def save(directory: str | os.PathLike[str], journal_seq: int, body: Mapping[str, Any]) -> Path:
    """Writes the state as of ``journal_seq`` atomically into ``directory``, then removes every
    other saved state; returns its path. ``body``: ``symbols``; ``engine``, the engine's books
    by symbol (JSON text) or an engine snapshot document (:func:`snapshot_document`);
    ``orders``, ``ledger`` and ``books``, the Rust parts' binary documents; ``tape`` by symbol
    and ``fills`` by account, each a list of records (``Trade``, ``Fill``, or their
    :func:`encode` lists); and the JSON-able rest (``next_trade_id``, ``kill_switches``,
    ``limits``, ``default_limits``)."""
    d = Path(directory)
    path = d / state_name(journal_seq)
    parts = _encode_v2(journal_seq, body)
    data = b"".join(parts.values())
    sizes = ",".join(f"{name}:{len(part)}" for name, part in parts.items())
    head = f"{_MAGIC} len={len(data)} crc32={zlib.crc32(data):08x} parts={sizes}\n"
    tmp = path.with_name(path.name + ".tmp")
    with open(tmp, "wb") as f:
        f.write(head.encode())
        f.write(data)
        f.flush()
        os.fsync(f.fileno())
    tmp.replace(path)
    _sync_dir(d)
    for _, old in _states(d):
        if old != path:
            old.unlink()
    _sync_dir(d)
    return path


def _rows(records: Iterable[Any]) -> list[list[Any]]:
    return [r if isinstance(r, list) else encode(r) for r in records]


def _encode_v2(journal_seq: int, body: Mapping[str, Any]) -> dict[str, bytes]:
    """The parts of a version 2 file (see the module docs), in order."""
    rest = {k: v for k, v in body.items() if k not in (*_PARTS, "journal_seq", "tape", "fills")}
    meta = json.dumps({"journal_seq": journal_seq, **rest}, separators=(",", ":")).encode()
    engine = body["engine"]
    if not isinstance(engine, bytes):  # the books by symbol, JSON already: set as they are
        engine = f'{{"books":[{",".join(engine.values())}]}}'.encode()
    history = _core.venue_history_to_state(
        [(s, _rows(t)) for s, t in body["tape"].items()],
        [(int(a), _rows(f)) for a, f in body["fills"].items()],
    )
    binary = {name: bytes(body[name]) for name in _BINARY}
    return {"meta": meta, "engine": engine, **binary, "history": history}


def _sync_dir(d: Path) -> None:
    fd = os.open(d, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def load(directory: str | os.PathLike[str]) -> SavedState | None:
    """The newest state saved in ``directory`` (None: there is none), of either version.
    Raises ``JournalError`` (reason ``VENUE_STATE``) for one that does not read back whole."""
    states = _states(Path(directory))
    if not states:
        return None
    seq, path = states[0]
    raw = path.read_bytes()
    head, nl, data = raw.partition(b"\n")
    words = head.decode("utf-8", "replace").split(" ")
    magic = " ".join(words[:2])
    if not nl or magic not in (_MAGIC_V1, _MAGIC):
        raise _bad(path, f"the file does not start with {_MAGIC_V1!r} or {_MAGIC!r}")
    try:
        meta = dict(w.split("=", 1) for w in words[2:])
        length, crc = int(meta["len"]), int(meta["crc32"], 16)
        parts = _part_sizes(meta["parts"]) if magic == _MAGIC else None
    except (KeyError, ValueError) as e:
        raise _bad(path, f"bad header {head[:120]!r}") from e
    if len(data) != length:
        raise _bad(path, f"length mismatch: header len={length}, body len={len(data)}")
    if zlib.crc32(data) != crc:
        raise _bad(path, f"CRC mismatch: header crc32={crc:08x}, body crc32={zlib.crc32(data):08x}")
    if parts is not None and sum(parts) != length:
        raise _bad(path, f"the parts' sizes add up to {sum(parts)}, not len={length}")
    try:
        body = json.loads(data) if parts is None else _decode_v2(data, parts)
    except (ValueError, TypeError, KeyError, AttributeError, errors.WintermuteError) as e:
        raise _bad(path, f"the state does not decode: {e!r}") from e
    if body.get("journal_seq") != seq:
        said = body.get("journal_seq")
        raise _bad(path, f"the file name says journal_seq={seq}, the state {said}")
    return SavedState(seq, path, body)


def _part_sizes(text: str) -> list[int]:
    """The header's ``parts=meta:<bytes>,...`` (the parts of this version, in order)."""
    named = [p.split(":", 1) for p in text.split(",")]
    if [name for name, _ in named] != list(_PARTS):
        raise ValueError(f"parts {[name for name, _ in named]}, expected {list(_PARTS)}")
    sizes = [int(size) for _, size in named]
    if min(sizes) < 0:
        raise ValueError("a negative size")
    return sizes


def _decode_v2(data: bytes, sizes: list[int]) -> dict[str, Any]:
    """A version 2 file's document: ``save``'s keys, the Rust parts' documents as bytes."""
    parts, at = {}, 0
    for name, size in zip(_PARTS, sizes, strict=True):
        parts[name], at = data[at : at + size], at + size
    body: dict[str, Any] = json.loads(parts["meta"])
    if not isinstance(body, dict):
        raise ValueError("the meta part is not a JSON object")
    body["engine"] = _books_of(parts["engine"])
    body.update((name, parts[name]) for name in _BINARY)
    tape, fills = _core.venue_history_from_state(parts["history"])
    body["tape"] = dict(tape)
    body["fills"] = dict(fills)
    return body


def snapshot_books(path: str | os.PathLike[str], symbols: list[str]) -> dict[str, str]:
    """The books of an engine snapshot file (``snapshot-<seq>.snap``, ``Pipeline.snapshot``)
    as ``Engine.snapshot`` JSON, by symbol (``symbols``: in instrument id order)."""
    p = Path(path)
    books = _books_of(snapshot_document(p, p.read_bytes()))
    if list(books) != symbols:
        raise errors.JournalError(f"{p}: a snapshot of other instruments", reason="VENUE_STATE")
    return books


def snapshot_document(path: Path, raw: bytes) -> bytes:
    """The JSON document of the engine snapshot file ``path`` read as ``raw`` (what
    :func:`save` takes as ``engine``)."""
    head, _, data = raw.partition(b"\n")
    if not head.startswith(b"wintermute-snapshot v"):
        raise errors.JournalError(f"{path}: not an engine snapshot", reason="VENUE_STATE")
    return data


def _books_of(document: bytes) -> dict[str, str]:
    """The books of an engine snapshot document (``{"books": [...], ...}``) by symbol."""
    books = json.loads(document)["books"]
    return {b["spec"]["symbol"]: json.dumps(b) for b in books}


_FIELDS: dict[type, tuple[list[str], frozenset[str]]] = {}


def _fields_of(cls: type) -> tuple[list[str], frozenset[str]]:
    """A record class's field names in order, and those that are decimals (read once)."""
    if cls not in _FIELDS:
        names = [f.name for f in fields(cls)]
        hints = get_type_hints(cls)
        _FIELDS[cls] = names, frozenset(n for n, t in hints.items() if t is Decimal)
    return _FIELDS[cls]


_GETTERS: dict[type, Callable[[Any], tuple[Any, ...]]] = {}


def encode(record: Any) -> list[Any]:
    """A record (``Trade``, ``Fill``) as a JSON list: its fields in order, decimals as text."""
    get = _GETTERS.get(type(record))
    if get is None:
        get = _GETTERS[type(record)] = operator.attrgetter(*(f.name for f in fields(record)))
    return [str(v) if isinstance(v, Decimal) else v for v in get(record)]


def decode(cls: type[T], values: list[Any]) -> T:
    """A record of ``cls`` from :func:`encode`'s list."""
    names, exact = _fields_of(cls)
    if len(values) != len(names):
        raise ValueError(f"{cls.__name__}: {len(values)} values for {len(names)} fields")
    return cls(**{n: Decimal(v) if n in exact else v for n, v in zip(names, values, strict=True)})
