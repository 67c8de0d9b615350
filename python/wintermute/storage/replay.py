"""The audit events of a journal: its commands replayed through a fresh engine, as rows, and
its risk rejections (commands a pre-trade limit refused, journaled with their reason).

The journal is the source of truth (see ``docs/storage.md``): it holds every sequenced
command, and running them in order through books with the same instruments yields the same
events the live engine produced, event for event (the live path and recovery share one
``apply``). A :class:`JournalReplay` does that incrementally: each :meth:`JournalReplay.read`
runs the records appended since the last one and returns their audit rows::

    replay = JournalReplay(config.instruments, "journal/")
    rows = replay.read()        # everything so far
    rows = replay.read()        # only what was appended since

Each row's ``ts_ns`` is the engine's wall-clock time of its record, as the journal holds it
(one time mark per matching batch: see ``docs/storage.md``), so a rebuild reproduces every row.
Journals written before time marks hold none: their rows take the time they were read.

Prices and quantities become exact decimals with the instrument's tick and lot sizes (integer
ticks times a ``Decimal`` step, never a float). Events that carry no account (cancels,
amends) take it from the order, which the replay remembers while the order rests.
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from decimal import Context, Decimal
from os import PathLike
from typing import Any

import numpy as np
import numpy.typing as npt

from wintermute import _core, batch, errors
from wintermute.config import InstrumentConfig
from wintermute.engine import Engine
from wintermute.storage.schema import AuditRow

__all__ = ["JournalReplay"]

_EXACT = Context(prec=80)
_SIDES = {batch.BUY: "buy", batch.SELL: "sell"}
_COMMANDS = {
    batch.NEW: "new",
    batch.CANCEL: "cancel",
    batch.AMEND: "amend",
    batch.MASS_CANCEL: "mass_cancel",
    batch.AMEND_TOTAL: "amend_total",
}
_ACCEPTED, _REJECTED, _TRADE, _CANCELED, _AMENDED = 1, 2, 3, 4, 5
assert [batch.KIND_NAMES[k] for k in (1, 2, 3, 4, 5)] == [
    "accepted",
    "rejected",
    "trade",
    "canceled",
    "amended",
]
_COMMAND_NAMES = [n for n in batch.COMMAND_DTYPE.names or () if not n.startswith("_")]


def _side_name(side: int | None) -> str | None:
    return None if side is None else _SIDES.get(side)


class _Spec:
    """An instrument's symbol and the decimal value of one tick and one lot."""

    def __init__(self, instrument: InstrumentConfig) -> None:
        self.symbol = instrument.symbol
        self.tick = Decimal(instrument.tick_size)
        self.lot = Decimal(instrument.lot_size)

    def price(self, ticks: int) -> Decimal:
        return _EXACT.multiply(Decimal(ticks), self.tick)

    def qty(self, lots: int) -> Decimal:
        return _EXACT.multiply(Decimal(lots), self.lot)


#: Re-reads of a journal that looked damaged before it is called corrupt (see ``_read_raw``).
CORRUPT_REREADS = 5


class JournalReplay:
    """Replays the journal at ``path`` for the engine's ``instruments`` (in id order, as in
    its config) and turns the events into :class:`AuditRow` s. Not thread-safe."""

    def __init__(self, instruments: Sequence[InstrumentConfig], path: str | PathLike[str]) -> None:
        self.path = str(path)
        self._specs = [_Spec(i) for i in instruments]
        self._engine = Engine()
        for instrument in instruments:
            self._engine.add_instrument(instrument)
        #: The last journal sequence number read (command, control or risk rejection record).
        self.cursor = 0
        #: The symbols whose books the last :meth:`read` changed (or may have).
        self.touched: set[str] = set()
        # (instrument, order_id) -> (account, side) of resting orders.
        self._orders: dict[tuple[int, int], tuple[int, int]] = {}

    def _read_raw(self) -> _core.JournalColumns:
        """The journal after the cursor. The engine may be appending while we read: a record
        caught half-written, with complete ones after it by the time the reader looks further,
        reads as a CRC mismatch. Such a read is repeated (the write completes within
        microseconds); damage that is still there after ``CORRUPT_REREADS`` reads is real."""
        for attempt in range(CORRUPT_REREADS):
            try:
                return _core.journal_read(self.path, self.cursor)
            except errors.JournalCorruptError:  # noqa: PERF203 (rare: a racing write)
                if attempt == CORRUPT_REREADS - 1:
                    raise
                time.sleep(0.001 * (attempt + 1))
        raise AssertionError("unreachable")

    def read(self) -> list[AuditRow]:
        """The audit rows of the records after :attr:`cursor`, advancing it. Raises
        ``JournalCorruptError`` on a damaged record."""
        raw = self._read_raw()
        seqs: npt.NDArray[np.uint64] = raw["seq"]
        end = len(seqs)
        refused = raw["rejections"]
        last_seen = max(
            [
                self.cursor,
                *(int(s) for s in seqs[-1:]),
                *(s for s, _ in raw["controls"]),
                *(int(s) for s in refused["seq"][-1:]),
            ]
        )
        now = time.time_ns()
        commands = raw["commands"].view(batch.COMMAND_DTYPE)[:end]
        instruments: npt.NDArray[np.uint32] = raw["instrument"][:end]
        walls = raw["wall_ns"].tolist()
        rows: list[AuditRow] = []
        self.touched = {self._specs[int(i)].symbol for i in np.unique(instruments)}
        start = 0
        while start < end:
            iid = int(instruments[start])
            stop = start + 1
            while stop < end and instruments[stop] == iid:
                stop += 1
            events = self._engine.submit_batch(iid, commands[start:stop])
            times = [w or now for w in walls[start:stop]]
            rows.extend(self._rows(iid, seqs[start:stop], commands[start:stop], events, times))
            start = stop
        if len(refused["seq"]):
            rows.extend(self._risk_rejections(refused, now))
            rows.sort(key=lambda r: (r.journal_seq, r.n))
        self.cursor = max(self.cursor, last_seen)
        return rows

    def _risk_rejections(self, raw: _core.JournalRejections, now: int) -> list[AuditRow]:
        """The rows of journaled risk rejections: the command as asked, the limit's code as
        the reason (``MAX_ORDER_QTY``, ...)."""
        commands = raw["commands"].view(batch.COMMAND_DTYPE)
        rows = []
        for seq, iid, cmd, reason, wall in zip(
            raw["seq"].tolist(),
            raw["instrument"].tolist(),
            commands,
            raw["reason"].tolist(),
            raw["wall_ns"].tolist(),
            strict=True,
        ):
            spec = self._specs[iid]
            what = _COMMANDS.get(int(cmd["kind"]), str(int(cmd["kind"])))
            code = _core.PIPELINE_RISK_CODES[reason - 1]
            head = (seq, 0, 0, wall or now, spec.symbol)
            rows.append(self._rejected(head, what, cmd, int(cmd["order_id"]), code, spec))
        return rows

    def depth(self, symbol: str, levels: int = 10) -> _core.Depth:
        """The replayed book of ``symbol`` now (``Engine.depth``): as the engine had it at
        :attr:`cursor`."""
        return self._engine.depth(symbol, levels)

    def _rows(
        self,
        iid: int,
        seqs: npt.NDArray[np.uint64],
        commands: npt.NDArray[Any],
        events: npt.NDArray[Any],
        times: list[int],
    ) -> list[AuditRow]:
        spec = self._specs[iid]
        orders = self._orders
        out: list[AuditRow] = []
        previous_command = -1
        n = 0
        for ev in events.tolist():
            (seq, order_id, other_id, price, qty, remaining, other, account, other_account) = ev[:9]
            command_index, kind, side, reason, flags = ev[10:15]
            if kind not in (_ACCEPTED, _REJECTED, _TRADE, _CANCELED, _AMENDED):
                continue
            n = n + 1 if command_index == previous_command else 0
            previous_command = command_index
            cmd = commands[command_index]
            head = (int(seqs[command_index]), n, seq, times[command_index], spec.symbol)
            what = _COMMANDS.get(int(cmd["kind"]), str(int(cmd["kind"])))
            if kind == _ACCEPTED:
                orders[(iid, order_id)] = (account, side)
                row = AuditRow(*head, what, "accepted", account, order_id, _SIDES.get(side),
                               spec.price(price), spec.qty(qty), None, None, None,
                               None, None, None, None, None)  # fmt: skip
            elif kind == _TRADE:
                if remaining == 0:
                    orders.pop((iid, order_id), None)
                if other == 0:
                    orders.pop((iid, other_id), None)
                row = AuditRow(*head, what, "trade", account, order_id, _SIDES.get(side),
                               spec.price(price), spec.qty(qty), spec.qty(remaining), None, None,
                               other_account, other_id, spec.qty(other), None, None)  # fmt: skip
            elif kind == _CANCELED:
                owner, order_side = orders.pop((iid, order_id), (None, None))
                row = AuditRow(*head, what, "canceled", owner, order_id, _side_name(order_side),
                               None, spec.qty(qty), spec.qty(remaining), None, None,
                               None, None, None, batch.CANCEL_REASONS.get(reason, str(reason)),
                               None)  # fmt: skip
            elif kind == _AMENDED:
                owner, order_side = orders.get((iid, order_id), (None, None))
                row = AuditRow(*head, what, "amended", owner, order_id, _side_name(order_side),
                               spec.price(price), spec.qty(qty), None, spec.price(other),
                               spec.qty(remaining), None, None, None, None,
                               bool(flags & 1))  # fmt: skip
            else:
                code = batch.REJECT_REASONS.get(reason, str(reason))
                row = self._rejected(head, what, cmd, order_id, code, spec)
            out.append(row)
        return out

    def _rejected(
        self,
        head: tuple[int, int, int, int, str],
        what: str,
        cmd: Any,
        order_id: int,
        reason: str,
        spec: _Spec,
    ) -> AuditRow:
        """A rejection: the command as asked (its account; a new order's side, price, size)."""
        new = what == "new"
        market = int(cmd["order_type"]) == batch.MARKET
        return AuditRow(
            *head, what, "rejected", int(cmd["account"]), order_id,
            _SIDES.get(int(cmd["side"])) if new else None,
            spec.price(int(cmd["price"])) if new and not market else None,
            spec.qty(int(cmd["qty"])) if new else None,
            None, None, None, None, None, None,
            reason, None,
        )  # fmt: skip
