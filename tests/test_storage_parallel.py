"""The audit writer on several PostgreSQL connections (``PostgresStore(connections=N)``,
``write_ranges``) against the engine's own outputs, on a real PostgreSQL: batches commit out
of order, the stored sequence is the gap-free prefix of the committed ranges, and a restart
after out-of-order commits (an injected failure in one connection, a writer that dies before
it folds, a SIGKILL) stores exactly the engine's events, no gap, no duplicate, with the alerts
and the monitors' state of a writer that never stopped."""

from __future__ import annotations

import itertools
import threading
import time
from pathlib import Path
from typing import Any

import psycopg
import pytest

import storage_workload
from storage_servers import postgres_admin_url, postgres_url, store_url
from test_storage_audit import (
    _catch_up_then_sigterm,
    _follow,
    _sigkill_once_it_commits,
    all_rows,
    timeless,
)
from wintermute.errors import ConfigError
from wintermute.storage import AuditWriter, StorageError, open_store
from wintermute.storage import postgres as pg_backend
from wintermute.storage import sqlite as sqlite_backend
from wintermute.storage.audit_settings import AuditSettings
from wintermute.storage.monitors import ComplianceMonitor, Thresholds
from wintermute.storage.postgres import PostgresStore, RangeWrite
from wintermute.storage.queries import AlertQuery
from wintermute.storage.schema import Alert

__all__ = ["postgres_admin_url", "postgres_url", "store_url"]  # fixtures, used by name

THRESHOLDS = Thresholds(max_order_to_trade=1.2, max_cancel_rate=0.06, max_stp_hits=3,
                        min_orders=20, price_band_bps=3)  # fmt: skip
GROUPS = {"desk-a": [1, 2, 3], "desk-b": [5, 6]}


def _monitor() -> ComplianceMonitor:
    return ComplianceMonitor(THRESHOLDS, account_groups=GROUPS)


def _all_alerts(store: Any) -> list[Alert]:
    out: list[Alert] = []
    while page := store.alerts(AlertQuery(after=out[-1].key if out else None, limit=500)):
        out.extend(page)
    return out


def _raw(url: str, what: str) -> int:
    """A count straight from the tables, past the stored sequence too."""
    with psycopg.connect(url) as db:
        row = db.execute(f"SELECT count(*) FROM {what}").fetchone()
        assert row is not None
        return int(row[0])


def _backends_gone(url: str) -> None:
    """Waits until no other session is connected to the database: a killed writer's server
    backends may still commit what the writer sent before it died."""
    with psycopg.connect(url, autocommit=True) as db:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            row = db.execute(
                "SELECT count(*) FROM pg_stat_activity "
                "WHERE datname = current_database() AND pid <> pg_backend_pid()"
            ).fetchone()
            if row == (0,):
                return
            time.sleep(0.01)
    raise AssertionError("the killed writer's sessions did not end")


@pytest.fixture
def run(tmp_path: Path) -> storage_workload.Run:
    return storage_workload.run(tmp_path, orders=3_000, seed=17)


class _OutOfOrder:
    """Wraps ``store._write_range``: batch number ``fail`` (from 0, in sequence order) of a
    ``write_ranges`` call waits until a later batch has committed, then fails, as a
    connection whose server backend died would; with ``no_fold``, the transaction that folds
    the prefix then fails too, as when the writer is killed between the commits and the
    fold."""

    def __init__(self, store: PostgresStore, fail: int, no_fold: bool) -> None:
        self.real = store._write_range
        self.fail = fail
        self.batches: list[RangeWrite] = []
        self.done: set[int] = set()
        self.cond = threading.Condition()
        store._write_range = self  # type: ignore[method-assign]
        real_ranges = store.write_ranges

        def write_ranges(batches: list[RangeWrite], states: Any) -> Any:
            self.batches = list(batches)
            return real_ranges(batches, states)

        store.write_ranges = write_ranges  # type: ignore[method-assign, assignment]
        if no_fold:
            real_fold = store._fold

            def fold(state: Any) -> int:
                store._fold = real_fold  # type: ignore[method-assign]
                raise psycopg.OperationalError("the writer died before the fold")

            store._fold = fold  # type: ignore[method-assign]

    def __call__(self, b: RangeWrite) -> int | StorageError:
        if b is not self.batches[self.fail]:
            result = self.real(b)
            with self.cond:
                self.done.add(b.after_seq)
                self.cond.notify_all()
            return result
        with self.cond:  # a batch after this one commits first
            assert self.cond.wait_for(
                lambda: any(s > b.after_seq for s in self.done), timeout=30
            ), "no batch after the failing one committed"
        return StorageError(f"batch ({b.after_seq}, {b.through_seq}] lost its connection",
                            reason="STORAGE")  # fmt: skip


def _reference(tmp_path: Path, run: storage_workload.Run) -> Any:
    """The store of a writer that never stopped (SQLite, one connection)."""
    ref = open_store(f"sqlite:///{tmp_path / 'ref.db'}")
    AuditWriter(ref, run.config.instruments, run.journal, monitor=_monitor(),
                batch_rows=250).step()  # fmt: skip
    return ref


def test_a_restart_after_out_of_order_commits_stores_exactly_the_engines_events(
    postgres_url: str, run: storage_workload.Run, tmp_path: Path
) -> None:
    batch_rows = len(run.expected) // 12
    first = PostgresStore(postgres_url, connections=4)
    writer = AuditWriter(first, run.config.instruments, run.journal, batch_rows=batch_rows,
                         monitor=_monitor())  # fmt: skip
    inject = _OutOfOrder(first, fail=2, no_fold=True)
    with pytest.raises(StorageError, match="before the fold"):
        writer.step()
    ranges = sorted((b.after_seq, b.through_seq) for b in inject.batches)
    assert len(ranges) >= 10
    assert all(a[1] == b[0] for a, b in itertools.pairwise(ranges)), "consecutive"
    prefix = ranges[1][1]  # batches 0 and 1 chain on; batch 2 failed
    first.close()
    # Batches after the failed one did commit: their rows are in the table, past the prefix.
    within = [r for r in run.expected if r[0] <= prefix]
    assert _raw(postgres_url, "audit_events") > len(within)
    assert _raw(postgres_url, "audit_batches") >= 3
    reader = open_store(postgres_url)
    assert reader.last_seq() == prefix  # the gap-free prefix, not the newest commit
    assert timeless(all_rows(reader)) == within  # readers see the prefix only
    assert reader.count() == len(within)
    assert all(a.journal_seq <= prefix for a in _all_alerts(reader))
    state = reader.monitor_state()
    assert state is None or state.journal_seq <= prefix
    # A new writer deletes what was committed past the prefix, then resumes after it.
    second = PostgresStore(postgres_url, connections=4)
    resumed = AuditWriter(second, run.config.instruments, run.journal, batch_rows=batch_rows,
                          monitor=_monitor())  # fmt: skip
    assert resumed.stored_seq == prefix
    assert _raw(postgres_url, "audit_events") == len(within)
    assert _raw(postgres_url, "audit_batches") == 0
    assert resumed.step() == len(run.expected) - len(within)
    assert timeless(all_rows(second)) == run.expected
    assert _raw(postgres_url, "audit_events") == len(run.expected), "no duplicate"
    assert second.last_seq() == resumed.stored_seq == run.last_seq
    ref = _reference(tmp_path, run)
    alerts = _all_alerts(second)
    assert alerts == _all_alerts(ref)  # every alert once, none lost
    assert len({a.rule for a in alerts}) >= 3
    assert second.monitor_state() == ref.monitor_state() is not None
    ref.close()
    reader.close()
    second.close()


def test_a_batch_failing_on_one_connection_is_written_again_by_the_same_writer(
    postgres_url: str, run: storage_workload.Run, tmp_path: Path
) -> None:
    store = PostgresStore(postgres_url, connections=3)
    announced: list[Alert] = []
    writer = AuditWriter(store, run.config.instruments, run.journal,
                         batch_rows=len(run.expected) // 9, monitor=_monitor())  # fmt: skip
    writer.on_alerts.append(announced.extend)
    inject = _OutOfOrder(store, fail=4, no_fold=False)
    with pytest.raises(StorageError, match="lost its connection"):
        writer.step()
    ranges = sorted((b.after_seq, b.through_seq) for b in inject.batches)
    prefix = ranges[3][1]
    assert writer.stored_seq == store.last_seq() == prefix
    # What committed after the failed batch was deleted at once; its rows stay held.
    within = [r for r in run.expected if r[0] <= prefix]
    assert _raw(postgres_url, "audit_events") == len(within)
    assert all(a.journal_seq <= prefix for a in announced)
    store._write_range = inject.real  # type: ignore[method-assign]
    assert writer.step() == len(run.expected) - len(within)
    assert timeless(all_rows(store)) == run.expected
    assert _raw(postgres_url, "audit_events") == len(run.expected)
    ref = _reference(tmp_path, run)
    assert _all_alerts(store) == _all_alerts(ref)
    assert sorted(a.key for a in announced) == [a.key for a in _all_alerts(ref)], "once each"
    assert store.monitor_state() == ref.monitor_state()
    ref.close()
    store.close()


def test_a_parallel_writer_killed_mid_run_loses_and_duplicates_nothing(
    postgres_url: str, tmp_path: Path
) -> None:
    run = storage_workload.run(tmp_path, orders=6_000, seed=9)
    store = open_store(postgres_url)
    log = run.config_path.parent / "follow.log"
    procs: list[Any] = []
    try:
        kills = 0
        for _ in range(3):  # SIGKILL three writers, each once it committed something
            procs.append(proc := _follow(run.config_path, postgres_url, "--connections", "4"))
            _sigkill_once_it_commits(proc, store, log)
            store.close()  # the test's own session too, to see the writer's end
            _backends_gone(postgres_url)
            store = open_store(postgres_url)
            stored = store.last_seq()
            if stored >= run.last_seq:
                break
            kills += 1
            assert timeless(all_rows(store)) == [r for r in run.expected if r[0] <= stored]
        assert kills >= 1, log.read_text()
        procs.append(proc := _follow(run.config_path, postgres_url, "--connections", "4",
                                     "--seconds", "60"))  # fmt: skip
        _catch_up_then_sigterm(proc, store, run.last_seq, log)
        assert timeless(all_rows(store)) == run.expected
        assert _raw(postgres_url, "audit_events") == len(run.expected), "no duplicate"
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        store.close()


@pytest.mark.slow
def test_100_000_orders_on_four_connections_equal_the_engines_events(
    postgres_url: str, tmp_path: Path
) -> None:
    run = storage_workload.run(tmp_path, orders=100_000, seed=2026)
    store = open_store(postgres_url, connections=4)
    writer = AuditWriter(store, run.config.instruments, run.journal, batch_rows=20_000)
    assert writer.step() == len(run.expected) > 100_000
    assert timeless(all_rows(store)) == run.expected
    assert _raw(postgres_url, "audit_events") == len(run.expected)
    store.close()


@pytest.mark.parametrize("value", [0, 33, "2", True, 1.5])
def test_bad_connection_counts_are_refused_naming_the_key(value: Any) -> None:
    with pytest.raises(ConfigError, match=r"audit\.connections") as e:
        AuditSettings.from_dict({"connections": value})
    assert e.value.key == "connections"
    with pytest.raises(StorageError, match="connections="):
        PostgresStore("postgresql://nobody@127.0.0.1:1/none", connections=value)


def test_the_connections_setting_and_its_default() -> None:
    assert AuditSettings().connections == 2
    assert AuditSettings.from_dict({"connections": 4}).connections == 4


def test_a_store_of_the_fifth_schema_is_migrated_and_then_written_in_parallel(
    store_url: str, run: storage_workload.Run, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = sqlite_backend if store_url.startswith("sqlite") else pg_backend
    assert [v for v, _ in backend.MIGRATIONS] == [1, 2, 3, 4, 5, 6, 7]
    with monkeypatch.context() as m:
        m.setattr(backend, "MIGRATIONS", backend.MIGRATIONS[:5])
        old = open_store(store_url)
        AuditWriter(old, run.config.instruments, run.journal, batch_rows=400).step()
        assert old.last_seq() == run.last_seq
        old.close()
    store = open_store(store_url, connections=3)  # applies migration 6: audit_batches
    assert store.last_seq() == run.last_seq
    assert timeless(all_rows(store)) == run.expected
    store.reset()  # and written again, on three connections where the backend has them
    writer = AuditWriter(store, run.config.instruments, run.journal,
                         batch_rows=len(run.expected) // 7)  # fmt: skip
    assert writer.step() == len(run.expected)
    assert timeless(all_rows(store)) == run.expected
    assert store.last_seq() == run.last_seq
    store.close()
    reopened = open_store(store_url)  # nothing applied twice
    assert reopened.last_seq() == run.last_seq
    assert reopened.count() == len(run.expected)
    reopened.close()
