"""A seeded order flow through the threaded engine with a journal, and the audit rows its
outputs say must be stored: the reference the storage tests compare the stores against.

The expected rows are built from the engine's *outputs* (``Pipeline`` subscription records)
and from the commands this module sent (which account owns which order), following the column
meanings of ``wintermute.storage.schema`` — not from the storage code's journal replay.
"""

from __future__ import annotations

import json
import random
from collections.abc import Callable
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from wintermute import Pipeline, batch
from wintermute.config import EngineConfig
from wintermute.pipeline import OUTCOMES

INSTRUMENTS: list[dict[str, Any]] = [
    {"symbol": "BTC-USD", "tick_size": "0.01", "lot_size": "0.001", "min_qty": "0.001",
     "max_qty": "100", "min_price": "1", "max_price": "1000000"},
    {"symbol": "ETH-USD", "tick_size": "0.05", "lot_size": "0.0001", "min_qty": "0.0001",
     "max_qty": "1000", "min_price": "1", "max_price": "100000"},
]  # fmt: skip
MIDS = [6_400_000, 60_000]  # ticks
SIDES = {batch.BUY: "buy", batch.SELL: "sell"}
KINDS = {1: "accepted", 2: "rejected", 3: "trade", 4: "canceled", 5: "amended"}
COMMANDS = {batch.NEW: "new", batch.CANCEL: "cancel", batch.AMEND: "amend"}


@dataclass
class Run:
    config: EngineConfig
    config_path: Path
    journal: Path
    #: Expected rows without ``ts_ns``, in order (``AuditRow.without_time`` shape).
    expected: list[tuple[Any, ...]]
    last_seq: int


def engine_config(tmp: Path, snapshots: bool = False) -> tuple[EngineConfig, Path]:
    """The engine's config (``snapshots``: every snapshot kept)."""
    data: dict[str, Any] = {
        "instruments": INSTRUMENTS,
        "threads": {"risk": {"wait": {"kind": "park", "timeout_us": 200}},
                    "matching": {"wait": {"kind": "park", "timeout_us": 200}}},
        "subscriptions": {"count": 1, "capacity": 1 << 16, "book_deltas": False},
        "journal": {"dir": str(tmp / "journal"), "fsync": "none", "segment_size": 8 << 20},
    }  # fmt: skip
    if snapshots:
        data["journal"]["snapshot_keep"] = 1000
    path = tmp / "engine.json"
    path.write_text(json.dumps(data))
    return EngineConfig.from_file(path), path


def _commands(rng: random.Random, iid: int, n: int, live: list[int], next_id: list[int],
              owner: dict[tuple[int, int], int]) -> npt.NDArray[Any]:  # fmt: skip
    out = np.zeros(n, dtype=batch.COMMAND_DTYPE)
    for i in range(n):
        r = rng.random()
        c = out[i]
        if r < 0.15 and live:
            c["kind"], c["order_id"] = batch.CANCEL, live.pop(rng.randrange(len(live)))
        elif r < 0.25 and live:
            c["kind"], c["order_id"] = batch.AMEND, live[rng.randrange(len(live))]
            c["qty"], c["price"] = rng.randint(1, 50), MIDS[iid] + rng.randint(-30, 30)
            c["flags"] = batch.FLAG_HAS_QTY | (batch.FLAG_HAS_PRICE if rng.random() < 0.5 else 0)
        elif r < 0.27:
            c["kind"], c["order_id"] = batch.CANCEL, 10**12 + i  # unknown: refused
        else:
            oid = next_id[0]
            next_id[0] += 1
            side = batch.BUY if rng.random() < 0.5 else batch.SELL
            c["kind"], c["order_id"], c["side"] = batch.NEW, oid, side
            c["account"] = rng.randint(1, 6)
            c["qty"] = 0 if rng.random() < 0.01 else rng.randint(1, 60)  # 0: refused
            c["price"] = MIDS[iid] + rng.randint(-40, 40) * (1 if side == batch.BUY else -1)
            c["stp"] = batch.STP_CANCEL_NEWEST if rng.random() < 0.1 else batch.STP_NONE
            if rng.random() < 0.05:
                c["tif"] = batch.IOC
            else:
                live.append(oid)
            owner[(iid, oid)] = int(c["account"])
    return out


def run(
    tmp: Path,
    orders: int,
    seed: int,
    between_chunks: Callable[[EngineConfig, Path], None] | None = None,
    snapshots: bool = False,
) -> Run:
    """Runs ``orders`` seeded commands (two instruments, chunks alternating) and returns the
    journal and the expected audit rows; ``between_chunks(config, journal)`` runs after each
    chunk of commands, while the engine runs; with ``snapshots``, the engine snapshots its
    books after each chunk (``Pipeline.snapshot()``, every file kept)."""
    config, path = engine_config(tmp, snapshots)
    rng = random.Random(seed)
    lives: list[list[int]] = [[], []]
    next_id = [1]
    owner: dict[tuple[int, int], int] = {}
    outputs: list[npt.NDArray[Any]] = []
    sent: list[npt.NDArray[Any]] = []  # per command in gateway order
    with Pipeline(config) as eng:
        gw, sub = eng.gateway(0), eng.subscription(0)
        left = orders
        while left:
            iid = rng.randrange(2)
            n = min(left, rng.randint(1, 500))
            cmds = _commands(rng, iid, n, lives[iid], next_id, owner)
            gw.submit_batch(iid, cmds)
            sent.extend((iid, c) for c in cmds)  # type: ignore[misc]
            left -= n
            outputs.append(sub.poll())
            if snapshots:
                eng.snapshot()
            if between_chunks is not None:
                between_chunks(config, tmp / "journal")
        eng.shutdown()
        while not sub.finished:
            outputs.append(sub.poll(timeout=1.0))
    out = np.concatenate(outputs)
    return Run(
        config, path, tmp / "journal", _expected(out, sent, owner), int(out["journal_seq"].max())
    )


def _dec(value: int, step: str) -> Decimal:
    return Decimal(value) * Decimal(step)


def _expected(
    out: npt.NDArray[Any], sent: list[Any], owner: dict[tuple[int, int], int]
) -> list[tuple[Any, ...]]:
    rows: list[tuple[Any, ...]] = []
    side_of: dict[tuple[int, int], str] = {}
    n, prev = 0, -1
    for o in out:
        assert OUTCOMES[int(o["outcome"])] in ("event", "no_events", "refused")
        kind = int(o["kind"])
        if kind not in KINDS:
            continue
        jseq = int(o["journal_seq"])
        n = n + 1 if jseq == prev else 0
        prev = jseq
        iid, cmd = sent[int(o["command_seq"]) - 1]
        spec = INSTRUMENTS[iid]
        tick, lot = spec["tick_size"], spec["lot_size"]
        oid = int(o["order_id"])
        price, qty, rem, other = (int(o[f]) for f in ("price", "qty", "remaining", "other"))
        acct = owner.get((iid, oid))
        command = COMMANDS[int(cmd["kind"])]
        side_of_order = side_of.get((iid, oid))
        head = (jseq, n, int(o["seq"]), spec["symbol"], command, KINDS[kind])
        if kind == 1:
            side_of[(iid, oid)] = SIDES[int(o["side"])]
            rows.append((*head, int(o["account"]), oid, SIDES[int(o["side"])],
                         _dec(price, tick), _dec(qty, lot),
                         None, None, None, None, None, None, None, None))  # fmt: skip
        elif kind == 3:
            rows.append((*head, int(o["account"]), oid, SIDES[int(o["side"])],
                         _dec(price, tick), _dec(qty, lot), _dec(rem, lot), None, None,
                         int(o["other_account"]),
                         int(o["other_id"]), _dec(other, lot), None, None))  # fmt: skip
        elif kind == 4:
            rows.append((*head, acct, oid, side_of_order, None, _dec(qty, lot), _dec(rem, lot),
                         None, None, None, None, None, batch.CANCEL_REASONS[int(o["reason"])],
                         None))  # fmt: skip
        elif kind == 5:
            rows.append((*head, acct, oid, side_of_order, _dec(price, tick), _dec(qty, lot), None,
                         _dec(other, tick), _dec(rem, lot), None, None, None, None,
                         bool(int(o["flags"]) & 1)))  # fmt: skip
        else:
            new = command == "new"
            rows.append((*head, int(cmd["account"]), oid, SIDES[int(cmd["side"])] if new else None,
                         _dec(int(cmd["price"]), tick) if new else None,
                         _dec(int(cmd["qty"]), lot) if new else None, None, None, None, None,
                         None, None, batch.REJECT_REASONS[int(o["reason"])], None))  # fmt: skip
    return rows


def fail_on_write(store: Any, at: int) -> None:
    """Makes ``store``'s ``at``-th write (from 1: ``write``, or ``write_columns`` on PostgreSQL,
    counted together) raise ``ConnectionError`` before it writes anything, as a server dying
    mid-run would; the writes before it go through."""
    writes = 0

    def failing(real: Any) -> Any:
        def write(*args: Any, **kwargs: Any) -> int:
            nonlocal writes
            writes += 1
            if writes == at:
                raise ConnectionError("server went away mid-batch")
            return int(real(*args, **kwargs))

        return write

    store.write = failing(store.write)
    if hasattr(store, "write_columns"):
        store.write_columns = failing(store.write_columns)
