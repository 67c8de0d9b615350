#!/usr/bin/env python3
"""Bytes of the compliance monitors' state an audit batch writes, whole vs changed entries.

Run as ``.venv/bin/python scripts/monitor_state_bytes.py [ACCOUNTS]`` (default 10,000). A
monitor counts 1 to 12 orders and up to 12 cancels of each of ACCOUNTS accounts (numbered at
random, fixed seed); then batches touching K accounts each (a few orders, cancels and trades
between them, on two instruments) are written to a SQLite store in a temporary directory,
each with the monitors' state, and for each K the script prints, per batch, the bytes a
whole state takes (``ComplianceMonitor.state``: what each batch stored before migration 7)
and the bytes the store wrote (``state_bytes_written``: the entries changed since the
stored state, ``ComplianceMonitor.changes``), and that the state read back is the monitor's,
byte for byte. Byte counts, not timings: the same on any machine."""

from __future__ import annotations

import random
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

from wintermute.storage import AuditRow, open_store
from wintermute.storage.monitors import ComplianceMonitor, Thresholds


def _row(
    seq: int, kind: str, account: int, contra: int | None = None, price: str = "1"
) -> AuditRow:
    command = "new"
    reason = "USER" if kind == "canceled" else None
    instrument = "BTC-USD" if seq % 2 else "ETH-USD"
    return AuditRow(
        journal_seq=seq,
        n=0,
        event_seq=seq,
        ts_ns=0,
        instrument=instrument,
        command=command,
        kind=kind,
        account=account,
        order_id=1,
        side="buy",
        price=Decimal(price),
        qty=Decimal("1"),
        leaves_qty=None,
        old_price=None,
        old_qty=None,
        contra_account=contra,
        contra_order_id=None,
        contra_leaves_qty=None,
        reason=reason,
        priority_kept=None,
    )


def main(accounts: int) -> None:
    rng = random.Random(5)
    numbers = rng.sample(range(1_000, 2**31), accounts)
    monitor = ComplianceMonitor(Thresholds(min_orders=20))
    seed: list[AuditRow] = []
    for a in numbers:
        seed.extend(_row(0, "accepted", a) for _ in range(rng.randint(1, 12)))
        seed.extend(_row(0, "canceled", a) for _ in range(rng.randint(0, 12)))
    monitor.observe(seed)
    with tempfile.TemporaryDirectory() as tmp:
        store = open_store(f"sqlite:///{Path(tmp) / 'audit.db'}")
        seq = 1
        store.write([], seq, (), monitor.state(seq))  # the first state of a writer: whole
        base = seq
        print(f"accounts={accounts} first (whole) state: {store.state_bytes_written} bytes")
        print("accounts touched per batch | whole state per batch | written (changes) per batch")
        for touched in (1, 10, 100, 1_000):
            whole_sizes, written = [], []
            for _ in range(5):
                seq += 1
                batch = rng.sample(numbers, touched)
                rows = [_row(seq, "accepted", a) for a in batch]
                rows += [_row(seq, "trade", a, rng.choice(numbers), f"{rng.randint(99, 101)}")
                         for a in batch[: max(1, touched // 4)]]  # fmt: skip
                monitor.observe(rows)
                before = store.state_bytes_written
                store.write([], seq, (), monitor.changes(seq, base))
                base = seq
                monitor.forget_through(seq)
                written.append(store.state_bytes_written - before)
                whole_sizes.append(len(monitor.state(seq).data))
            print(f"{touched:>26} | {min(whole_sizes):>8}-{max(whole_sizes)} bytes"
                  f" | {min(written):>7}-{max(written)} bytes")  # fmt: skip
        stored = store.monitor_state()
        assert stored == monitor.state(seq), "the state read back differs"
        print("state read back == monitor.state(): byte for byte")
        store.close()


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 10_000)
