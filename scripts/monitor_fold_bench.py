#!/usr/bin/env python3
"""Bytes the compliance monitors' state takes in an audit store after many batches, and the
time a restart takes to read it back, with the entries folded into checkpoints or not.

Run as ``.venv/bin/python scripts/monitor_fold_bench.py [--batches N] [--accounts A]
[--touched K] [--store URL] [--checkpoint-every N]`` (defaults: 100,000 batches, 10,000
accounts, 10 accounts a batch, SQLite in a temporary directory, the writer's default). A
monitor counts 1 to 12 orders and up to 12 cancels of each account (numbered at random, fixed
seed); then each batch has K accounts place an order, a quarter of them trade with another
account, and stores the monitors' state as the writer does (whole at first, then the changed
entries; whole again when ``monitor_checkpoints.Checkpoints`` says, unless
``--checkpoint-every 0``). At the end it prints the rows and bytes of
``audit_monitor_entries`` (the whole state's and the entries', and on PostgreSQL the table's
size on disk, dead rows included), the time ``store.monitor_state()`` plus
``ComplianceMonitor.restore`` take (best of 5), and checks that the state read back is the
monitor's, byte for byte. It uses only what a store and a monitor had before checkpoints, so
the same file measures an older checkout (``PYTHONPATH=that/python``). ``--vacuum-every N``
(PostgreSQL) vacuums the table every N batches, as autovacuum would on a server that runs it
(the size on disk counts dead rows until a vacuum marks their room free). ``--restore-only
--store URL`` times only the restore of what a store holds (a run before left it there), so
the restores of two stores can be timed back to back, alternating."""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from wintermute.storage import AuditRow, open_store
from wintermute.storage.monitors import ComplianceMonitor, Thresholds

try:
    from wintermute.storage.monitor_checkpoints import DEFAULT_EVERY, Checkpoints
except ImportError:  # an older checkout: changes only
    Checkpoints = None  # type: ignore[assignment,misc]
    DEFAULT_EVERY = 0


def _row(seq: int, kind: str, account: int, contra: int | None = None) -> AuditRow:
    reason = "USER" if kind == "canceled" else None
    return AuditRow(seq, 0, seq, 0, "BTC-USD" if seq % 2 else "ETH-USD", "new", kind, account,
                    1, "buy", Decimal(100 + seq % 3), Decimal("1"), None, None, None, contra,
                    None, None, reason, None)  # fmt: skip


def _sizes(store: Any) -> tuple[int, int, int, int | None]:
    """Entries' rows, the whole state's bytes, the entries' bytes, the table on disk."""
    db: Any = store._db
    rows, whole, entries = db.execute(
        "SELECT count(*), coalesce(sum(CASE WHEN part = 'whole' THEN length(value) END), 0), "
        "coalesce(sum(CASE WHEN part <> 'whole' THEN length(part) + length(key) + "
        "length(value) END), 0) FROM audit_monitor_entries"
    ).fetchone()
    disk = None
    if store.backend == "postgresql":
        (disk,) = db.execute("SELECT pg_total_relation_size('audit_monitor_entries')").fetchone()
    return int(rows), int(whole), int(entries), disk


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--batches", type=int, default=100_000)
    p.add_argument("--accounts", type=int, default=10_000)
    p.add_argument("--touched", type=int, default=10)
    p.add_argument("--store", default=None, help="an audit store URL (default: SQLite, temp)")
    p.add_argument("--checkpoint-every", type=int, default=DEFAULT_EVERY)
    p.add_argument(
        "--vacuum-every",
        type=int,
        default=0,
        metavar="N",
        help="PostgreSQL: VACUUM the entries every N batches, as autovacuum would",
    )
    p.add_argument(
        "--restore-only",
        action="store_true",
        help="only time the restore of the state --store holds (a run before)",
    )
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        run(args, args.store or f"sqlite:///{Path(tmp) / 'audit.db'}")


def _restore_ms(store: Any) -> tuple[float, Any]:
    """The best of 5 times of ``store.monitor_state()`` plus ``restore``, and the state."""
    times = []
    for _ in range(5):
        t0 = time.perf_counter()
        held = store.monitor_state()
        assert held is not None
        ComplianceMonitor(Thresholds(min_orders=20)).restore(held)
        times.append(time.perf_counter() - t0)
    return min(times) * 1000, held


def run(args: argparse.Namespace, url: str) -> None:
    if args.restore_only:
        store = open_store(url)
        rows_held, whole, entries, _ = _sizes(store)
        ms, held = _restore_ms(store)
        print(f"store={store.backend} format={held.format} rows={rows_held:,} "
              f"whole={whole:,} B entries={entries:,} B restore={ms:.1f} ms")  # fmt: skip
        store.close()
        return
    rng = random.Random(5)
    numbers = rng.sample(range(1_000, 2**31), args.accounts)
    monitor = ComplianceMonitor(Thresholds(min_orders=20))
    seed: list[AuditRow] = []
    for a in numbers:
        seed.extend(_row(0, "accepted", a) for _ in range(rng.randint(1, 12)))
        seed.extend(_row(0, "canceled", a) for _ in range(rng.randint(0, 12)))
    monitor.observe(seed)
    store = open_store(url)
    store.reset()
    every = args.checkpoint_every
    checkpoints = None if Checkpoints is None else Checkpoints(every)
    wholes, started = 0, time.perf_counter()
    for seq in range(1, args.batches + 1):
        batch = rng.sample(numbers, args.touched)
        rows = [_row(seq, "accepted", a) for a in batch]
        rows += [_row(seq, "trade", a, rng.choice(numbers)) for a in batch[: args.touched // 4]]
        monitor.observe(rows)
        if checkpoints is not None:
            state = checkpoints.state(monitor, seq)
        else:
            state = monitor.state(seq) if seq == 1 else monitor.changes(seq, seq - 1)
        store.write([], seq, (), state)
        if checkpoints is not None:
            checkpoints.stored(state)
        monitor.forget_through(seq)
        wholes += not hasattr(state, "entries")
        if args.vacuum_every and seq % args.vacuum_every == 0 and store.backend == "postgresql":
            store._db.execute("VACUUM audit_monitor_entries")
    wrote = time.perf_counter() - started
    rows_held, whole, entries, disk = _sizes(store)
    ms, held = _restore_ms(store)
    assert held == monitor.state(args.batches), "the state read back differs"
    print(f"store={store.backend} batches={args.batches:,} accounts={args.accounts:,} "
          f"touched={args.touched} checkpoint_every={every if checkpoints else 'none'} "
          f"format={held.format}")  # fmt: skip
    print(f"  whole states written: {wholes:,}; all batches written in {wrote:.1f} s")
    print(
        f"  audit_monitor_entries: {rows_held:,} rows, whole state {whole:,} B, "
        f"entries {entries:,} B" + ("" if disk is None else f", on disk {disk:,} B")
    )
    print(f"  restore (monitor_state + restore), best of 5: {ms:.1f} ms")
    print("  state read back == monitor.state(): byte for byte")
    store.close()


if __name__ == "__main__":
    main()
