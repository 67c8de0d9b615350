"""The journal, step by step, for a venue starting over it (``Venue`` rebuilds its order table,
fills, balances and book mirrors from these steps; see ``wintermute.service.venue``).

The journal holds every sequenced command (with the client order id the venue gave each of its
new orders: a *tagged* record), every risk rejection and every runtime control, in the engine's
order. :func:`journal_steps` reads it and runs its commands through a fresh engine with the same
instruments, as recovery does: each command comes back as a :class:`Step` with the events it
made (the very events the live engine published, book deltas included), risk rejections and
controls in their places between them. A venue that saved its state as of a record
(``wintermute.service.venue_state``) reads only the records after it, through an engine
restored to the books of that record.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from wintermute import _core, batch
from wintermute.config import InstrumentConfig
from wintermute.engine import Engine

__all__ = ["Step", "journal_steps"]


@dataclass(frozen=True)
class Step:
    """One journal record: a command with its events, a risk rejection or a control."""

    seq: int
    instrument: int
    #: The command (``COMMAND_DTYPE`` fields by name); None for a control.
    command: dict[str, int] | None
    #: The client order id of a tagged record.
    client_order_id: str | None = None
    #: A risk rejection's code (``MAX_ORDER_QTY``, ...); None for a command that ran.
    risk_reason: str | None = None
    #: A control, as the journal exports it (``{"control": "account_kill", ...}``).
    control: dict[str, Any] | None = None
    #: The command's events as ``EVENT_DTYPE`` tuples, in order.
    events: list[tuple[Any, ...]] = field(default_factory=list)
    #: The engine's wall-clock time of the record (the journal's time marks; 0: none).
    wall_ns: int = 0


_COMMAND_FIELDS = [n for n in batch.COMMAND_DTYPE.names or () if not n.startswith("_")]


def _command(row: Any) -> dict[str, int]:
    return {name: int(row[name]) for name in _COMMAND_FIELDS}


def journal_steps(
    path: str, instruments: Sequence[InstrumentConfig], after: int = 0,
    books: Mapping[str, str] | None = None,
) -> tuple[int, Iterator[Step], Engine]:  # fmt: skip
    """The first sequence number of the journal in ``path`` after record ``after`` (0: none)
    and its records after ``after`` as steps, in order, and the engine they run through: a
    fresh one with ``instruments`` (in id order), its books as ``books`` gives them (symbol ->
    ``Engine.snapshot`` JSON, the books as of record ``after``) or empty. Runs of one
    instrument's commands go over in one batch; once the steps are consumed the engine's
    books are those after the journal's last record."""
    engine = Engine()
    for instrument in instruments:
        engine.add_instrument(instrument)
        if books is not None:
            engine.restore(books[instrument.symbol])
    raw = _core.journal_read(path, after)
    firsts = [
        *(int(s) for s in raw["seq"][:1]),
        *(int(s) for s in raw["rejections"]["seq"][:1]),
        *(s for s, _ in raw["controls"][:1]),
    ]
    return (min(firsts) if firsts else 0), _steps(raw, engine), engine


def _steps(raw: _core.JournalColumns, engine: Engine) -> Iterator[Step]:
    tags = dict(raw["client_order_ids"])
    seqs = raw["seq"].tolist()
    iids = raw["instrument"].tolist()
    walls = raw["wall_ns"].tolist()
    commands = raw["commands"].view(batch.COMMAND_DTYPE)
    # Everything that is not a command, by sequence number.
    others: list[Step] = []
    refused = raw["rejections"]
    for seq, iid, cmd, reason, wall in zip(
        refused["seq"].tolist(),
        refused["instrument"].tolist(),
        refused["commands"].view(batch.COMMAND_DTYPE),
        refused["reason"].tolist(),
        refused["wall_ns"].tolist(),
        strict=True,
    ):
        code = _core.PIPELINE_RISK_CODES[reason - 1]
        others.append(Step(seq, iid, _command(cmd), tags.get(seq), risk_reason=code, wall_ns=wall))
    for seq, text in raw["controls"]:
        control = json.loads(text)
        others.append(Step(seq, int(control.get("instrument", 0)), None, control=control))
    others.sort(key=lambda s: s.seq)
    k = 0
    start, end = 0, len(seqs)
    while start < end:
        while k < len(others) and others[k].seq < seqs[start]:
            yield others[k]
            k += 1
        # A run: one instrument's commands with nothing else between them.
        stop, iid = start + 1, iids[start]
        limit = others[k].seq if k < len(others) else None
        while stop < end and iids[stop] == iid and (limit is None or seqs[stop] < limit):
            stop += 1
        events = engine.submit_batch(iid, np.ascontiguousarray(commands[start:stop]))
        by_command: list[list[tuple[Any, ...]]] = [[] for _ in range(stop - start)]
        for ev in events.tolist():
            by_command[ev[10]].append(ev)
        for i in range(start, stop):
            seq = seqs[i]
            yield Step(
                seq, iid, _command(commands[i]), tags.get(seq), events=by_command[i - start],
                wall_ns=walls[i],
            )  # fmt: skip
        start = stop
    yield from others[k:]
