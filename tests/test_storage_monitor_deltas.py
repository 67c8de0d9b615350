"""The compliance monitors' state stored as the entries changed since a whole state
(``audit_monitor_entries``, migration 7), on SQLite and on a real PostgreSQL: a batch that
touches few accounts writes few bytes however many accounts the monitors count, the state
read back is byte for byte the monitor's own, changes that do not apply to the stored state
are refused, and a store of schema 6 keeps its whole state through the migration."""

from __future__ import annotations

import itertools
import random
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import storage_workload
from storage_servers import postgres_admin_url, postgres_url, store_url
from wintermute.config import EngineConfig
from wintermute.storage import AuditRow, AuditStore, AuditWriter, open_store
from wintermute.storage import postgres as pg_backend
from wintermute.storage import sqlite as sqlite_backend
from wintermute.storage.monitors import (
    ComplianceMonitor,
    Thresholds,
    count_row,
    merge_state,
)
from wintermute.storage.queries import AlertQuery
from wintermute.storage.schema import MonitorChanges, StorageError

__all__ = ["postgres_admin_url", "postgres_url", "store_url"]  # fixtures, used by name

GROUPS = {"desk-a": [1, 2, 3], "desk-b": [5, 6]}
THRESHOLDS = Thresholds(max_order_to_trade=1.2, max_cancel_rate=0.06, max_stp_hits=3,
                        min_orders=20, price_band_bps=3)  # fmt: skip
MANY = 10_000


def _monitor() -> ComplianceMonitor:
    return ComplianceMonitor(THRESHOLDS, account_groups=GROUPS)


def _rows(run: storage_workload.Run) -> list[AuditRow]:
    return [AuditRow._make((*r[:3], 0, *r[3:])) for r in run.expected]


def _accepted(account: int, seq: int = 0, kind: str = "accepted") -> AuditRow:
    reason = "USER" if kind == "canceled" else None
    return AuditRow(seq, 0, 1, 0, "BTC-USD", "new", kind, account, 1, "buy",
                    Decimal("1"), Decimal("1"), None, None, None, None, None, None, reason,
                    None)  # fmt: skip


def seeded_monitor(monitor: ComplianceMonitor, accounts: int, seed: int = 5) -> list[int]:
    """Has ``monitor`` count (at sequence 0, without alerting) 1 to 12 orders and up to as
    many cancels of each of ``accounts`` accounts numbered at random above the workload's;
    returns them."""
    rng = random.Random(seed)
    numbers = rng.sample(range(1_000, 2**31), accounts)
    rows: list[AuditRow] = []
    for a in numbers:
        rows.extend(_accepted(a) for _ in range(rng.randint(1, 12)))
        rows.extend(_accepted(a, kind="canceled") for _ in range(rng.randint(0, 12)))
    monitor.observe(rows)
    return numbers


def _seeded() -> tuple[ComplianceMonitor, list[int]]:
    m = _monitor()
    return m, seeded_monitor(m, MANY)


def _state_bytes_per_write(store: AuditStore) -> list[int]:
    """Records, per write of ``store`` (``write``, and ``write_columns`` on PostgreSQL), the
    bytes of the monitors' state it committed (its ``state_bytes_written`` before and after)."""
    sizes: list[int] = []

    def counted(real: Callable[..., int]) -> Callable[..., int]:
        def write(*args: Any, **kwargs: Any) -> int:
            before = store.state_bytes_written
            out = real(*args, **kwargs)
            sizes.append(store.state_bytes_written - before)
            return out

        return write

    store.write = counted(store.write)  # type: ignore[method-assign]
    if hasattr(store, "write_columns"):
        store.write_columns = counted(store.write_columns)
    return sizes


def test_a_batch_touching_few_accounts_writes_few_bytes_among_ten_thousand(
    store_url: str, tmp_path: Path
) -> None:
    run = storage_workload.run(tmp_path, orders=2_000, seed=79, snapshots=True)
    store = open_store(store_url)
    sizes = _state_bytes_per_write(store)
    monitor, seeded = _seeded()
    whole = len(monitor.state(0).data)
    assert whole > 30_000  # about 3.8 bytes an account here, compressed (binary, format 2)
    writer = AuditWriter(store, run.config.instruments, run.journal, monitor=monitor,
                         batch_rows=200)  # fmt: skip
    writer.step()
    assert len(sizes) > 10  # one write per batch of 200 rows (and the journal's tail)
    first, *later = sizes
    assert first >= whole  # the writer's first state is whole
    # Each later batch stores only the few accounts (of the workload's 8) and instruments
    # its rows touched: a few hundred bytes, not the 10,008 accounts' state.
    assert all(0 < s < 600 for s in later), later
    assert store.state_bytes_written == sum(sizes)
    # What the store holds is the monitor's state, byte for byte.
    state = store.monitor_state()
    assert state is not None
    assert state.journal_seq == run.last_seq
    assert state == monitor.state(run.last_seq)
    store.close()
    # A restarted writer restores all of it, and goes on with changes only.
    store = open_store(store_url)
    again = _monitor()
    w = AuditWriter(store, run.config.instruments, run.journal, monitor=again)
    assert w.monitor_restored == run.last_seq
    for account in seeded[:100]:
        assert again.stats(account) == monitor.stats(account)
    assert again.stats(seeded[-1]).orders > 0
    for account in range(8):
        assert again.stats(account) == monitor.stats(account)
    assert again.state(run.last_seq) == state
    store.close()


def test_changes_upserted_over_a_whole_state_give_the_state_byte_for_byte(
    tmp_path: Path,
) -> None:
    run = storage_workload.run(tmp_path, orders=2_000, seed=83)
    rows = _rows(run)
    cuts = [i for i, r in enumerate(rows) if r.n == 0][::97][1:]
    assert len(cuts) > 5
    m = _monitor()
    m.observe(rows[: cuts[0]])
    base = m.state(rows[cuts[0] - 1].journal_seq)
    stored: dict[tuple[str, str], bytes] = {}  # what a store holds over the base
    for lo, hi in itertools.pairwise(cuts):
        m.observe(rows[lo:hi])
        seq = rows[hi - 1].journal_seq
        cumulative = m.changes(seq, base.journal_seq)  # everything since the base
        assert merge_state(base, cumulative.entries).data == m.state(seq).data
        stored.update(((p, k), v) for p, k, v in cumulative.entries)
        over_stored = [(p, k, v) for (p, k), v in stored.items()]
        assert merge_state(base, over_stored).data == m.state(seq).data
        touched = {a for r in rows[lo:hi] for a in count_row(r, {})}  # the counted accounts
        accounts = {int(k) for p, k, _ in m.changes(seq, rows[lo - 1].journal_seq).entries
                    if p == "account"}  # fmt: skip
        assert accounts == touched
        assert touched
    # Once a state is stored, the changes since it are those after it.
    m.forget_through(rows[cuts[-2] - 1].journal_seq)
    assert m.changes(0, 0).entries == m.changes(0, rows[cuts[-2] - 1].journal_seq).entries
    restored = _monitor()
    restored.restore(m.state(7))
    assert restored.changes(7, 0).entries == ()  # a restored state is the base


def test_changes_that_do_not_apply_are_refused_and_change_nothing(store_url: str) -> None:
    store = open_store(store_url)
    m = _monitor()
    m.observe([_accepted(1, 1)])
    with pytest.raises(StorageError, match="the store holds no state") as e:
        store.write([], 1, (), m.changes(1, 0))
    assert e.value.reason == "MONITOR_STATE"
    assert (store.last_seq(), store.monitor_state()) == (0, None)
    first = m.state(1)
    store.write([], 1, (), first)
    m.observe([_accepted(2, 2), _accepted(3, 3)])
    later = m.changes(3, 2)  # changed since 2, but the store holds 1: would lose account 2
    with pytest.raises(StorageError, match="at journal_seq=1") as e:
        store.write([], 3, (), later)
    assert e.value.reason == "MONITOR_STATE"
    other = ComplianceMonitor(THRESHOLDS)
    other.observe([_accepted(3, 3)])
    with pytest.raises(StorageError, match="another configuration"):
        store.write([], 3, (), other.changes(3, 0))
    assert store.last_seq() == 1
    assert store.monitor_state() == first != m.state(3)  # nothing of it stored
    store.write([], 3, (), m.changes(3, 1))
    assert store.monitor_state() == m.state(3)
    store.close()


class _Replaced:
    """Follows the journal as the engine writes it; before the second chunk's step, the
    stored state is replaced by another monitor's (behind the writer's back)."""

    def __init__(self, url: str) -> None:
        self.store = open_store(url)
        self.writer: AuditWriter | None = None
        self.chunk = 0
        self.refused: list[str] = []

    def __call__(self, config: EngineConfig, journal: Path) -> None:
        self.chunk += 1
        if self.writer is None:
            # Changes only (no checkpoints: a fold would store the state whole anyway).
            self.writer = AuditWriter(self.store, config.instruments, journal,
                                      monitor=_monitor(), batch_rows=100,
                                      checkpoint_every=0)  # fmt: skip
        if self.chunk == 2:
            held = self.store.monitor_state()
            assert held is not None
            foreign = ComplianceMonitor(THRESHOLDS).state(held.journal_seq)
            self.store.write([], held.journal_seq, (), foreign)
            with pytest.raises(StorageError) as e:
                self.writer.step()  # its changes do not apply to the foreign state
            self.refused.append(f"{e.value.reason} {e.value}")
        self.writer.step()  # retried: the state stored whole


def test_a_writer_whose_changes_are_refused_stores_the_state_whole(
    store_url: str, tmp_path: Path
) -> None:
    follow = _Replaced(store_url)
    run = storage_workload.run(tmp_path, orders=1_500, seed=89, between_chunks=follow,
                               snapshots=True)  # fmt: skip
    assert follow.writer is not None
    follow.writer.step()
    assert follow.chunk > 2
    assert len(follow.refused) == 1
    assert follow.refused[0].startswith("MONITOR_STATE")
    assert "another configuration" in follow.refused[0]
    ref = open_store(f"sqlite:///{tmp_path / 'ref.db'}")
    AuditWriter(ref, run.config.instruments, run.journal, monitor=_monitor()).step()
    assert follow.store.monitor_state() == ref.monitor_state()
    assert follow.store.alerts(AlertQuery(limit=10_000)) == ref.alerts(AlertQuery(limit=10_000))
    ref.close()
    follow.store.close()


def _raw_sql(store: AuditStore, statement: str, params: tuple[Any, ...]) -> list[Any]:
    db: Any = store._db  # type: ignore[attr-defined]
    if store.backend == "postgresql":
        statement = statement.replace("?", "%s")
    cur = db.execute(statement, params)
    return list(cur.fetchall()) if cur.description is not None else []


def test_a_store_of_the_sixth_schema_is_migrated_with_its_state_carried_over(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = sqlite_backend if store_url.startswith("sqlite") else pg_backend
    run = storage_workload.run(tmp_path, orders=2_000, seed=97, snapshots=True)
    rows = _rows(run)
    with monkeypatch.context() as m:
        m.setattr(backend, "MIGRATIONS", backend.MIGRATIONS[:6])
        old = open_store(store_url)
        storage_workload.fail_on_write(old, at=6)
        with pytest.raises(ConnectionError):  # about half the journal, without monitors
            AuditWriter(old, run.config.instruments, run.journal, batch_rows=200).step()
        stored = old.last_seq()
        assert 0 < stored < run.last_seq
        # The whole state a writer of schema 6 stored (its one row, with the data).
        counted = _monitor()
        counted.observe([r for r in rows if r.journal_seq <= stored])
        whole = counted.state(stored)
        _raw_sql(old, "DELETE FROM audit_monitor_state", ())
        _raw_sql(old, "INSERT INTO audit_monitor_state VALUES (1, ?, ?, ?, ?, ?)",
                 (whole.format, whole.config, whole.journal_seq, whole.data, 1))  # fmt: skip
        old.close()
    store = open_store(store_url)  # applies migration 7: the state moves to the entries
    assert store.monitor_state() == whole
    assert _raw_sql(store, "SELECT part, key FROM audit_monitor_entries", ()) == [("whole", "")]
    sizes = _state_bytes_per_write(store)
    monitor = _monitor()
    writer = AuditWriter(store, run.config.instruments, run.journal, monitor=monitor,
                         batch_rows=200, checkpoint_every=0)  # fmt: skip  # no fold
    assert writer.monitor_restored == stored
    assert writer.resumed_from is not None
    writer.step()
    assert sum(sizes) > 0
    # Changes upserted over the carried state: the whole state stored is still that one.
    carried = _raw_sql(store, "SELECT value FROM audit_monitor_entries WHERE part = ?",
                       ("whole",))  # fmt: skip
    assert [bytes(v) for (v,) in carried] == [whole.data]
    ref = open_store(f"sqlite:///{tmp_path / 'ref.db'}")
    whole_monitor = _monitor()
    AuditWriter(ref, run.config.instruments, run.journal, monitor=whole_monitor).step()
    assert store.monitor_state() == ref.monitor_state()
    assert monitor.alerts == [a for a in whole_monitor.alerts if a.journal_seq > stored]
    final = store.monitor_state()
    ref.close()
    store.close()
    reopened = open_store(store_url)  # nothing applied twice
    assert reopened.monitor_state() == final
    reopened.close()


def test_monitor_changes_size_counts_parts_keys_and_values() -> None:
    changes = MonitorChanges(1, "{}", 2, 1, (("account", "17", b"[[1,0,0,0],[]]"),))
    assert changes.size == len("account") + len("17") + len(b"[[1,0,0,0],[]]")
