"""Wintermute's own entries in ``wintermute bench``.

``wintermute-native``
    The command stream as 48-byte records, run by a Rust loop inside the extension
    (``Engine.run_native``) with the GIL released: no Python per command. Latency: each command
    timed in Rust with ``std::time::Instant`` (two clock reads, ~20-40 ns, included).
``wintermute-python``
    One Python call per command on the integer fast path, through the instrument-bound
    ``Engine.fast(0)`` object (``submit`` / ``cancel`` / ``market``: the ``submit_ticks`` path
    with few positional arguments); events are kept as records and drained with
    ``take_events()`` every 4,096 commands (the drain is part of the timed work). Driven by the
    same per-command step loop as the peers.
``wintermute-python-batch``
    The measured commands in ``submit_batch`` calls of 16,384 commands each (numpy structured
    array in, event array out); batches of 4k-64k commands are the sweet spot (one call with
    hundreds of thousands of commands spends much of its time faulting in fresh pages for its
    output). Latency: chunks of 256 commands, each timed; a sample is the chunk's time divided by
    256 (the per-command cost inside small batches).
``wintermute-python-batch-orders``
    The same with ``submit_batch(..., book_deltas=False)``: the order events only (acks,
    fills, cancels, rejects), without the book's level updates.
"""

from __future__ import annotations

import gc
import time
from array import array
from collections.abc import Callable

import numpy as np
import numpy.typing as npt

from wintermute import batch
from wintermute.bench.adapter import Result, StepAdapter
from wintermute.bench.workload import CANCEL, LIMIT, MARKET, Workload
from wintermute.engine import Engine

__all__ = [
    "WintermuteNativeAdapter",
    "WintermutePythonAdapter",
    "WintermutePythonBatchAdapter",
    "to_commands",
]

CHUNK = 256
BATCH = 16_384
#: The per-call system drains its events every this many commands.
DRAIN_EVERY = 4096
#: Added to a command's kind when the step drains the events before it (kinds are 0..=2).
_DRAIN = 3


def _engine() -> Engine:
    eng = Engine()
    eng.add_instrument(
        "BENCH",
        tick_size="1",
        lot_size="1",
        min_qty="1",
        max_qty="1000000000",
        min_price="1",
        max_price="1000000000",
    )
    return eng


def to_commands(workload: Workload) -> npt.NDArray[np.void]:
    """The workload as a ``COMMAND_DTYPE`` array (limit GTC, cancel, market IOC)."""
    cols = workload.columns()
    out = np.zeros(len(workload), dtype=batch.COMMAND_DTYPE)
    kind = cols["kind"]
    out["order_id"] = cols["order_id"]
    out["side"] = cols["side"]
    out["price"] = np.where(kind == LIMIT, cols["price"], 0)
    out["qty"] = np.where(kind == CANCEL, 0, cols["qty"])
    out["kind"] = np.where(kind == CANCEL, batch.CANCEL, batch.NEW)
    out["order_type"] = np.where(kind == MARKET, batch.MARKET, batch.LIMIT)
    out["tif"] = np.where(kind == MARKET, batch.IOC, batch.GTC)
    return out


def _check(events: npt.NDArray[np.void]) -> None:
    rejected = events[(events["kind"] == 2) & (events["seq"] == 0)]
    if len(rejected):
        code = batch.REJECT_REASONS.get(int(rejected[0]["reason"]), "?")
        raise RuntimeError(
            f"{len(rejected)} commands were refused (first: {code}); workload and book disagree"
        )


class WintermuteNativeAdapter:
    name = "wintermute-native"
    note = (
        "wintermute-native: Rust loop over command records inside the extension, "
        "no Python per command"
    )
    install_hint = "build the extension (./scripts/bootstrap)"

    def available(self) -> bool:
        return True

    def _fresh(self, cmds: npt.NDArray[np.void], warmup: int) -> Engine:
        eng = _engine()
        _check(eng.submit_batch(0, cmds[:warmup]))
        return eng

    def run(self, workload: Workload) -> Result:
        cmds = to_commands(workload)
        measured = np.ascontiguousarray(cmds[workload.warmup :]).view(np.uint8)
        eng = self._fresh(cmds, workload.warmup)
        gc.collect()
        out = eng.run_native(0, measured, False)
        eng = self._fresh(cmds, workload.warmup)
        timed = eng.run_native(0, measured, True)
        return Result(
            self.name, int(out["ops"]), float(out["seconds"]), array("q", timed["latencies_ns"])
        )


class WintermutePythonAdapter(StepAdapter[list[tuple[int, int, int, int, int]]]):
    name = "wintermute-python"
    note = (
        "wintermute-python: one call per command (Engine.fast: submit/cancel/market), "
        "events drained every 4,096"
    )
    install_hint = "build the extension (./scripts/bootstrap)"
    module = "wintermute._core"

    def prepare(self, workload: Workload) -> list[tuple[int, int, int, int, int]]:
        # Every 4,096th command also drains the events: marked here, in its kind, so that the
        # step tests one small int instead of computing ``i % 4096`` per command.
        rows = workload.rows()
        for i in range(0, len(rows), DRAIN_EVERY):
            kind, oid, side, price, qty = rows[i]
            rows[i] = (kind + _DRAIN, oid, side, price, qty)
        return rows

    def session(self, prepared: list[tuple[int, int, int, int, int]]) -> Callable[[int], object]:
        book = _engine().fast(0)
        submit, cancel, market, take = book.submit, book.cancel, book.market, book.take_events

        def step(i: int) -> object:
            kind, oid, side, price, qty = prepared[i]
            if kind >= _DRAIN:
                take()
                kind -= _DRAIN
            if kind == LIMIT:
                return submit(oid, side, price, qty)
            if kind == CANCEL:
                return cancel(oid)
            return market(oid, side, qty)

        return step


class WintermutePythonBatchAdapter:
    name = "wintermute-python-batch"
    note = (
        "wintermute-python-batch: submit_batch calls of 16,384 commands (numpy in, numpy out); "
        "latency = 256-command chunk time / 256"
    )
    install_hint = "build the extension (./scripts/bootstrap)"
    #: Whether the events include the book's level updates.
    book_deltas = True

    def available(self) -> bool:
        return True

    def run(self, workload: Workload) -> Result:
        cmds = to_commands(workload)
        warm, measured = cmds[: workload.warmup], cmds[workload.warmup :]
        eng = _engine()
        _check(eng.submit_batch(0, warm))
        gc.collect()
        batches = [measured[i : i + BATCH] for i in range(0, len(measured), BATCH)]
        deltas = self.book_deltas
        start = time.perf_counter()
        for b in batches:
            eng.submit_batch(0, b, book_deltas=deltas)
        seconds = time.perf_counter() - start

        eng = _engine()
        eng.submit_batch(0, warm)
        chunks = [measured[i : i + CHUNK] for i in range(0, len(measured), CHUNK)]
        samples = array("q")
        clock = time.perf_counter_ns
        refused = 0
        for chunk in chunks:
            t0 = clock()
            events = eng.submit_batch(0, chunk, book_deltas=deltas)
            samples.append((clock() - t0) // len(chunk))
            refused += int(np.count_nonzero((events["kind"] == 2) & (events["seq"] == 0)))
        if refused:  # the same commands as the timed pass: they must all be accepted
            raise RuntimeError(f"{refused} commands were refused; workload and book disagree")
        return Result(self.name, len(measured), seconds, samples)


class WintermutePythonBatchOrdersAdapter(WintermutePythonBatchAdapter):
    name = "wintermute-python-batch-orders"
    note = (
        "wintermute-python-batch-orders: the same batches with book_deltas=False "
        "(order events only, no level updates)"
    )
    book_deltas = False
