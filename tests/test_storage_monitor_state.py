"""The compliance monitors' state stored with the audit writer's progress
(``audit_monitor_state``), on SQLite and on a real PostgreSQL: a writer restarted at several
points, crashes and failed writes included, restores it, starts from the engine's snapshot and
raises exactly the alerts (and the store gives exactly the report) of a writer that never
stopped; a state of another format or monitor configuration, or one that does not decode, is
never mixed in: the writer replays the whole journal and says why."""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Iterator
from datetime import datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import storage_workload
from storage_servers import postgres_admin_url, postgres_url, store_url
from wintermute.config import EngineConfig
from wintermute.storage import AuditQuery, AuditRow, AuditStore, AuditWriter, open_store
from wintermute.storage import postgres as pg_backend
from wintermute.storage import sqlite as sqlite_backend
from wintermute.storage.daily_report import DailyReport, daily_report
from wintermute.storage.monitors import STATE_FORMAT, Alert, ComplianceMonitor, Thresholds
from wintermute.storage.queries import AlertQuery
from wintermute.storage.schema import MonitorState, StorageError

__all__ = ["postgres_admin_url", "postgres_url", "store_url"]  # fixtures, used by name

GROUPS = {"desk-a": [1, 2, 3], "desk-b": [5, 6]}
THRESHOLDS = Thresholds(max_order_to_trade=1.2, max_cancel_rate=0.06, max_stp_hits=3,
                        min_orders=20, price_band_bps=3)  # fmt: skip


def _monitor(thresholds: Thresholds = THRESHOLDS) -> ComplianceMonitor:
    return ComplianceMonitor(thresholds, account_groups=GROUPS)


def _all_alerts(store: AuditStore) -> list[Alert]:
    out: list[Alert] = []
    while page := store.alerts(AlertQuery(after=out[-1].key if out else None, limit=500)):
        out.extend(page)
    return out


def _all_rows(store: AuditStore) -> list[AuditRow]:
    rows: list[AuditRow] = []
    while page := store.query(
        AuditQuery(after=(rows[-1].journal_seq, rows[-1].n) if rows else None, limit=5000)
    ):
        rows.extend(page)
    return rows


def _reports(store: AuditStore, rows: list[AuditRow]) -> list[DailyReport]:
    days = sorted({datetime.fromtimestamp(r.ts_ns / 1e9, timezone.utc).date() for r in rows})
    return [daily_report(store, day) for day in days]


def _never_stopped(
    tmp_path: Path, run: storage_workload.Run, monitor: ComplianceMonitor, name: str = "ref"
) -> AuditStore:
    """The store of a writer that read the whole journal in one go (SQLite in a file)."""
    ref = open_store(f"sqlite:///{tmp_path / f'{name}.db'}")
    AuditWriter(ref, run.config.instruments, run.journal, monitor=monitor, batch_rows=250).step()
    return ref


class _Restarts:
    """Follows a journal while the engine writes it (``storage_workload.run``'s
    ``between_chunks``), restarting the writer, with a fresh monitor, before some chunks, and
    failing a write in others: a crash (the writer is dropped), or a failure the same writer
    retries."""

    RESTART = frozenset((3, 6, 9, 13, 17, 21))
    CRASH = frozenset((5, 11, 19))
    RETRY = frozenset((8, 15))

    def __init__(self, url: str) -> None:
        self.url = url
        self.chunk = 0
        self.store: AuditStore | None = None
        self.writer: AuditWriter | None = None
        #: (stored seq, monitor_restored, resumed_from, full_replay_reason) of each start.
        self.starts: list[tuple[int, int | None, int | None, str | None]] = []
        self.failures = 0

    def start(self, config: EngineConfig, journal: Path) -> AuditWriter:
        if self.store is not None:
            self.store.close()
        self.store = open_store(self.url)
        w = AuditWriter(self.store, config.instruments, journal, monitor=_monitor(),
                        batch_rows=23)  # fmt: skip
        self.starts.append((w.stored_seq, w.monitor_restored, w.resumed_from,
                            w.full_replay_reason))  # fmt: skip
        self.writer = w
        return w

    def __call__(self, config: EngineConfig, journal: Path) -> None:
        self.chunk += 1
        writer = self.writer
        if writer is None or self.chunk in self.RESTART:
            writer = self.start(config, journal)
        if self.chunk in self.CRASH | self.RETRY:
            storage_workload.fail_on_write(writer.store, at=2)
            with pytest.raises(ConnectionError):
                writer.step()
            self.failures += 1
            if self.chunk in self.CRASH:
                self.writer = None  # dropped: its monitor, its held rows, all gone
                return
        writer.step()


@pytest.fixture
def restarted(store_url: str, tmp_path: Path) -> Iterator[tuple[_Restarts, storage_workload.Run]]:
    follow = _Restarts(store_url)
    run = storage_workload.run(tmp_path, orders=7_000, seed=53, between_chunks=follow,
                               snapshots=True)  # fmt: skip
    follow.start(run.config, run.journal).step()  # the last start, after the engine stopped
    yield follow, run
    assert follow.store is not None
    follow.store.close()


def test_a_writer_restarted_at_several_points_alerts_as_one_that_never_stopped(
    restarted: tuple[_Restarts, storage_workload.Run], tmp_path: Path
) -> None:
    follow, run = restarted
    store = follow.store
    assert store is not None
    assert follow.writer is not None
    assert follow.chunk > max(follow.RESTART | follow.CRASH | follow.RETRY), "too few chunks"
    assert follow.failures == len(follow.CRASH | follow.RETRY)
    # Every start after the first took the monitors' state from the store (at the stored
    # sequence: each transaction stores it) and its books from a snapshot at or before it.
    first, *later = follow.starts
    assert first == (0, None, None, None)
    after_crash = {c + 1 for c in follow.CRASH}  # the chunk after a crash starts a writer
    assert len(later) == len(follow.RESTART | after_crash) + 1  # and the last start
    for stored, restored, resumed_from, reason in later:
        assert reason is None
        assert restored == stored > 0
        assert resumed_from is not None
        assert resumed_from <= stored
    whole = _monitor()
    ref = _never_stopped(tmp_path, run, whole)
    alerts = _all_alerts(store)
    assert alerts == _all_alerts(ref)  # every field, exactly; none lost, none twice
    assert {a.rule for a in alerts} == {"order_to_trade", "cancel_rate", "stp_hits",
                                        "wash_trade", "price_band"}  # fmt: skip
    restarts = [s for s, *_ in later]
    assert any(a.journal_seq > restarts[-2] for a in alerts), "alerts after the restarts"
    rows = _all_rows(store)
    assert [r.without_time() for r in rows] == run.expected
    assert rows == _all_rows(ref)
    assert _reports(store, rows) == _reports(ref, rows)
    assert any(r.accounts for r in _reports(store, rows))
    # The state each ends with is the same, byte for byte, at the same sequence.
    assert store.monitor_state() == ref.monitor_state()
    assert store.monitor_state() is not None
    monitor = follow.writer.monitor
    assert monitor is not None
    for account in range(8):
        assert monitor.stats(account) == whole.stats(account)
    ref.close()


def test_a_state_behind_the_stored_sequence_counts_the_rows_between_without_alerting(
    store_url: str, tmp_path: Path
) -> None:
    run = storage_workload.run(tmp_path, orders=3_000, seed=59, snapshots=True)
    instruments = run.config.instruments
    store = open_store(store_url)
    storage_workload.fail_on_write(store, at=6)
    with pytest.raises(ConnectionError):
        AuditWriter(store, instruments, run.journal, monitor=_monitor(), batch_rows=200).step()
    counted_to = store.last_seq()
    store.close()
    # A writer without monitors moves the stored sequence on, not the monitors' state.
    store = open_store(store_url)
    storage_workload.fail_on_write(store, at=5)
    with pytest.raises(ConnectionError):
        AuditWriter(store, instruments, run.journal, batch_rows=200).step()
    stored = store.last_seq()
    state = store.monitor_state()
    assert state is not None
    assert 0 < state.journal_seq == counted_to < stored < run.last_seq
    store.close()
    store = open_store(store_url)
    monitor = _monitor()
    writer = AuditWriter(store, instruments, run.journal, monitor=monitor)
    assert writer.monitor_restored == counted_to
    assert writer.resumed_from is not None
    assert writer.resumed_from <= counted_to
    writer.step()
    whole = _monitor()
    ref = _never_stopped(tmp_path, run, whole)
    expected = _all_alerts(ref)
    # The rows between the state and the stored sequence were counted, not alerted on (no
    # monitor watched them live): the rest is what a writer that never stopped stores.
    gap = [a for a in expected if counted_to < a.journal_seq <= stored]
    assert gap
    assert _all_alerts(store) == [a for a in expected if a not in gap]
    assert monitor.alerts == [a for a in whole.alerts if a.journal_seq > stored]
    for account in range(8):
        assert monitor.stats(account) == whole.stats(account)
    assert store.monitor_state() == ref.monitor_state()
    ref.close()
    store.close()


def _stored_halfway(store_url: str, run: storage_workload.Run) -> int:
    """Stores about half the journal with ``_monitor()`` (a crash); returns the sequence."""
    store = open_store(store_url)
    storage_workload.fail_on_write(store, at=8)
    with pytest.raises(ConnectionError):
        AuditWriter(store, run.config.instruments, run.journal, monitor=_monitor(),
                    batch_rows=200).step()  # fmt: skip
    stored = store.last_seq()
    store.close()
    assert 0 < stored < run.last_seq
    return stored


def test_another_monitor_configuration_replays_the_whole_journal_and_says_why(
    store_url: str, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    run = storage_workload.run(tmp_path, orders=3_000, seed=61, snapshots=True)
    stored = _stored_halfway(store_url, run)
    changed = dataclasses.replace(THRESHOLDS, min_orders=30, max_cancel_rate=0.08)
    store = open_store(store_url)
    monitor = _monitor(changed)
    with caplog.at_level(logging.WARNING, "wintermute.storage.writer"):
        writer = AuditWriter(store, run.config.instruments, run.journal, monitor=monitor)
    reason = writer.full_replay_reason
    assert reason is not None
    assert "another configuration" in reason
    assert "thresholds.min_orders 20 (stored) vs 30 (now)" in reason
    assert "thresholds.max_cancel_rate 0.06 (stored) vs 0.08 (now)" in reason
    assert reason in caplog.text
    assert "replays the whole journal" in caplog.text
    assert (writer.monitor_restored, writer.resumed_from) == (None, None)
    writer.step()
    assert writer.records_read == run.last_seq  # from the first record
    # The history counted under the new thresholds, alerting only after the stored sequence:
    # what a writer with them that never stopped raises there.
    whole = _monitor(changed)
    ref = _never_stopped(tmp_path, run, whole)
    assert monitor.alerts == [a for a in whole.alerts if a.journal_seq > stored]
    assert monitor.alerts
    # The state stored now is the new configuration's: the next start restores it.
    assert store.monitor_state() == ref.monitor_state()
    store.close()
    store = open_store(store_url)
    again = AuditWriter(store, run.config.instruments, run.journal, monitor=_monitor(changed))
    assert again.full_replay_reason is None
    assert again.monitor_restored == run.last_seq
    assert again.step() == 0
    assert again.monitor is not None
    assert again.monitor.alerts == []
    # Account groups are configuration too.
    other = ComplianceMonitor(changed, account_groups={"desk-a": [1, 2]})
    third = AuditWriter(store, run.config.instruments, run.journal, monitor=other)
    assert third.full_replay_reason is not None
    assert "account_groups" in third.full_replay_reason
    ref.close()
    store.close()


@pytest.mark.parametrize(
    ("tamper", "message"),
    [
        (lambda s: dataclasses.replace(s, format=STATE_FORMAT + 1),
         f"has format {STATE_FORMAT + 1}; this version reads format {STATE_FORMAT}"),
        (lambda s: dataclasses.replace(s, data=b"\x00not zlib"), "does not decode"),
        (lambda s: dataclasses.replace(s, config="{not json"),
         "the stored configuration does not decode"),
    ],
)  # fmt: skip
def test_a_state_of_another_format_or_one_that_does_not_decode_is_never_mixed_in(
    store_url: str, tmp_path: Path, tamper: Any, message: str
) -> None:
    run = storage_workload.run(tmp_path, orders=1_500, seed=67, snapshots=True)
    stored = _stored_halfway(store_url, run)
    store = open_store(store_url)
    state = store.monitor_state()
    assert state is not None
    assert state.journal_seq == stored
    store.write([], stored, (), tamper(state))  # the same sequence: the state is replaced
    assert store.monitor_state() == tamper(state)
    monitor = _monitor()
    writer = AuditWriter(store, run.config.instruments, run.journal, monitor=monitor)
    assert writer.full_replay_reason is not None
    assert message in writer.full_replay_reason
    assert (writer.monitor_restored, writer.resumed_from) == (None, None)
    writer.step()
    whole = _monitor()
    ref = _never_stopped(tmp_path, run, whole)
    assert monitor.alerts == [a for a in whole.alerts if a.journal_seq > stored]
    assert _all_alerts(store) == _all_alerts(ref)
    assert store.monitor_state() == ref.monitor_state()
    ref.close()
    store.close()


def test_a_rebuild_and_resume_false_start_over_and_store_the_state(
    store_url: str, tmp_path: Path
) -> None:
    from wintermute.storage import rebuild

    run = storage_workload.run(tmp_path, orders=1_500, seed=71, snapshots=True)
    store = open_store(store_url)
    whole = _monitor()
    ref = _never_stopped(tmp_path, run, whole)
    rebuild(store, run.config.instruments, run.journal, monitor=_monitor())
    assert store.monitor_state() == ref.monitor_state()
    store.reset()
    assert store.monitor_state() is None
    rebuild(store, run.config.instruments, run.journal)  # no monitor: no state
    assert store.monitor_state() is None
    writer = AuditWriter(store, run.config.instruments, run.journal, monitor=_monitor(),
                         resume=False)  # fmt: skip
    assert (writer.resumed_from, writer.monitor_restored, writer.full_replay_reason) == (
        None, None, None
    )  # fmt: skip
    assert writer.step() == 0
    assert store.monitor_state() == ref.monitor_state()  # counted, and stored
    ref.close()
    store.close()


def test_a_store_of_the_fourth_schema_is_migrated(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = sqlite_backend if store_url.startswith("sqlite") else pg_backend
    with monkeypatch.context() as m:
        m.setattr(backend, "MIGRATIONS", backend.MIGRATIONS[:4])
        old = open_store(store_url)
        old.write([], 3)
        old.close()
    store = open_store(store_url)  # applies migration 5: the monitors' state
    assert store.last_seq() == 3
    assert store.monitor_state() is None
    state = MonitorState(STATE_FORMAT, _monitor().config(), 4, b"\x01\x02")
    store.write([], 4, (), state)
    assert store.monitor_state() == state
    older = MonitorState(STATE_FORMAT, "{}", 3, b"")
    store.write([], 3, (), older)  # a batch written again: the newer state stays
    assert store.monitor_state() == state
    store.close()
    reopened = open_store(store_url)  # nothing applied twice
    assert reopened.monitor_state() == state
    reopened.close()


# ---- the monitor's own state ---------------------------------------------------------------


def _rows(run: storage_workload.Run) -> list[AuditRow]:
    return [AuditRow._make((*r[:3], 0, *r[3:])) for r in run.expected]


def test_a_restored_monitor_goes_on_exactly_as_the_one_it_came_from(tmp_path: Path) -> None:
    run = storage_workload.run(tmp_path, orders=2_000, seed=73)
    rows = _rows(run)
    cut = next(i for i, r in enumerate(rows) if i > len(rows) // 2 and r.n == 0)
    original = _monitor()
    original.observe(rows[:cut])
    state = original.state(rows[cut - 1].journal_seq)
    assert state.format == STATE_FORMAT
    assert state.journal_seq == rows[cut - 1].journal_seq
    assert len(state.data) < 1_000  # compact: counts, flags and two prices, compressed
    restored = _monitor()
    restored.restore(state)
    assert restored.state(state.journal_seq) == state
    assert restored.observe(rows[cut:]) == original.observe(rows[cut:])
    assert restored.state(0) == original.state(0)


@pytest.mark.parametrize(
    ("document", "message"),
    [
        ({"accounts": [[1, 2, 3, 4, -5]], "bands": [], "over": {}}, "is not a count"),
        ({"accounts": [[2**32, 1, 1, 1, 1]], "bands": [], "over": {}}, "not an account"),
        ({"accounts": [[1, 2, 3, 4, True]], "bands": [], "over": {}}, "is not a count"),
        ({"accounts": [], "bands": [], "over": {"spoof": [1]}}, "is not a rule"),
        ({"accounts": [], "bands": [["BTC-USD", "NaN", 3, None]], "over": {}}, "finite"),
        ({"accounts": [], "bands": [["BTC-USD", 1.5, 3, None]], "over": {}}, "decimal's text"),
        ({"accounts": [], "bands": []}, "not a monitor state"),
        ({"accounts": [[1, 2]], "bands": [], "over": {}}, "not enough values"),
    ],
)  # fmt: skip
def test_a_bad_state_is_refused_and_changes_nothing(document: Any, message: str) -> None:
    import json
    import zlib

    monitor = _monitor()
    monitor.observe([AuditRow(1, 0, 1, 0, "BTC-USD", "new", "accepted", 1, 1, "buy",
                              Decimal("1"), Decimal("1"), None, None, None, None, None, None,
                              None, None)])  # fmt: skip
    before = monitor.state(1)
    data = zlib.compress(json.dumps(document).encode())
    with pytest.raises(StorageError, match=message) as e:
        monitor.restore(MonitorState(1, monitor.config(), 2, data))  # the JSON format
    assert e.value.reason == "MONITOR_STATE"
    assert monitor.state(1) == before


def test_the_configuration_is_canonical() -> None:
    a = ComplianceMonitor(Thresholds(max_order_to_trade=20, max_stp_hits=10),
                          account_groups={"b": [3, 2], "a": [1]})  # fmt: skip
    b = ComplianceMonitor(Thresholds(max_order_to_trade=20.0),
                          account_groups={"a": (1,), "b": (2, 3)})  # fmt: skip
    assert a.config() == b.config()
    assert a.config() != ComplianceMonitor(Thresholds(price_band_bps=None)).config()
