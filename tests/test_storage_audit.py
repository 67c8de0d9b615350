"""The audit trail (wintermute.storage) against the engine's own outputs, on SQLite and on a
real PostgreSQL: every row, every field, in order; restarts, crashes and rebuilds."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from datetime import date
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

import storage_workload
from storage_servers import (
    postgres_admin_url,
    postgres_url,
    start_postgres,
    stop_postgres,
    store_url,
)
from wintermute.cli import main
from wintermute.config import EngineConfig
from wintermute.storage import AuditQuery, AuditRow, AuditStore, AuditWriter, open_store, rebuild
from wintermute.storage.monitors import ComplianceMonitor as Monitor

__all__ = ["postgres_admin_url", "postgres_url", "store_url"]  # fixtures, used by name


@pytest.fixture
def store(store_url: str) -> Iterator[AuditStore]:
    s = open_store(store_url)
    yield s
    s.close()


def all_rows(store: AuditStore) -> list[AuditRow]:
    """Every row, paging through the store with ``after`` (pages end inside commands)."""
    rows: list[AuditRow] = []
    while page := store.query(
        AuditQuery(after=(rows[-1].journal_seq, rows[-1].n) if rows else None, limit=997)
    ):
        rows.extend(page)
    return rows


def timeless(rows: list[AuditRow]) -> list[tuple[Any, ...]]:
    return [r.without_time() for r in rows]


def test_lifecycle_rows_equal_the_engine_events_of_a_seeded_run(
    store: AuditStore, tmp_path: Path
) -> None:
    run = storage_workload.run(tmp_path, orders=3_000, seed=11)
    kinds = {row[5] for row in run.expected}
    assert kinds == {"accepted", "rejected", "trade", "canceled", "amended"}  # all covered
    writer = AuditWriter(store, run.config.instruments, run.journal, batch_rows=700)
    assert writer.step() == len(run.expected)
    assert timeless(all_rows(store)) == run.expected
    assert store.last_seq() == writer.stored_seq == run.last_seq
    assert writer.lag().records == 0


@pytest.mark.slow
def test_lifecycle_rows_equal_the_engine_events_of_100_000_orders(
    store: AuditStore, tmp_path: Path
) -> None:
    run = storage_workload.run(tmp_path, orders=100_000, seed=2026)
    writer = AuditWriter(store, run.config.instruments, run.journal, batch_rows=20_000)
    assert writer.step() == len(run.expected) > 100_000
    assert timeless(all_rows(store)) == run.expected


def test_a_batch_written_twice_is_stored_once(store: AuditStore) -> None:
    rows = [_row(seq, n) for seq in (1, 2, 3) for n in range(2)]
    assert store.write(rows[:4], through_seq=2) == 4
    # A writer that crashed after the commit, restarted and sends everything again.
    assert store.write(rows, through_seq=3) == 2
    assert store.last_seq() == 3
    assert [(r.journal_seq, r.n) for r in all_rows(store)] == [
        (s, n) for s in (1, 2, 3) for n in (0, 1)
    ]
    assert store.write([], through_seq=7) == 0
    assert store.last_seq() == 7


def test_a_restarted_writer_resumes_after_the_stored_sequence(
    store_url: str, tmp_path: Path
) -> None:
    run = storage_workload.run(tmp_path, orders=1_500, seed=5)
    first = open_store(store_url)
    writer = AuditWriter(first, run.config.instruments, run.journal, batch_rows=300)
    # Stop after some batches: the store fails the third write, as a dying server would.
    storage_workload.fail_on_write(first, at=3)
    with pytest.raises(ConnectionError):
        writer.step()
    stored = first.last_seq()
    assert 0 < stored < run.last_seq
    assert timeless(all_rows(first)) == [r for r in run.expected if r[0] <= stored]
    first.close()
    second = open_store(store_url)
    resumed = AuditWriter(second, run.config.instruments, run.journal, batch_rows=300)
    assert resumed.stored_seq == stored
    assert resumed.step() == sum(1 for r in run.expected if r[0] > stored)
    assert timeless(all_rows(second)) == run.expected
    second.close()


def test_a_restart_over_a_long_journal_reads_only_the_tail_after_the_engines_snapshot(
    store_url: str, tmp_path: Path
) -> None:
    run = storage_workload.run(tmp_path, orders=10_000, seed=41, snapshots=True)
    first = open_store(store_url)
    batch_rows = len(run.expected) // 25
    writer = AuditWriter(first, run.config.instruments, run.journal, batch_rows=batch_rows)
    storage_workload.fail_on_write(first, at=24)  # the store dies after 23 of ~25 batches
    with pytest.raises(ConnectionError):
        writer.step()
    stored = first.last_seq()
    assert run.last_seq * 0.8 < stored < run.last_seq
    first.close()
    second = open_store(store_url)
    resumed = AuditWriter(second, run.config.instruments, run.journal, batch_rows=batch_rows)
    start = resumed.resumed_from
    snapshots = [int(p.stem.removeprefix("snapshot-")) for p in run.journal.glob("*.snap")]
    assert start == max(s for s in snapshots if s <= stored), "the newest at or before"
    assert resumed.step() == sum(1 for r in run.expected if r[0] > stored)
    # Only the records after the snapshot were read, and the store is whole: no gap, no
    # duplicate, every row equal to the engine's events.
    assert resumed.records_read == resumed.lag().journal_seq - start
    assert resumed.records_read < run.last_seq * 0.3
    assert timeless(all_rows(second)) == run.expected
    assert resumed.lag().records == 0
    stored_now = resumed.lag().journal_seq
    # A monitor needs the whole history, which a store written without monitors does not
    # hold: such a writer replays from the first record, says why, and stores the state it
    # counted, so the next one starts from the snapshot again.
    monitored = AuditWriter(second, run.config.instruments, run.journal, monitor=Monitor())
    assert monitored.resumed_from is None
    assert monitored.full_replay_reason == "the store holds no monitor state"
    assert monitored.step() == 0
    assert monitored.records_read == resumed.lag().journal_seq
    again = AuditWriter(second, run.config.instruments, run.journal, monitor=Monitor())
    assert again.full_replay_reason is None
    assert again.monitor_restored == stored_now == second.last_seq()
    assert again.resumed_from == max(snapshots)
    assert again.step() == 0
    assert again.records_read == stored_now - max(snapshots)
    second.close()


def _follow(config: Path, store_url: str, *extra: str) -> subprocess.Popen[bytes]:
    """``wintermute audit follow`` in a process of its own, its output appended to
    ``follow.log`` beside the config."""
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent / "python")}
    with open(config.parent / "follow.log", "ab") as log:
        return subprocess.Popen(
            [sys.executable, "-m", "wintermute.cli", "audit", "follow", "--config", str(config),
             "--store", store_url, "--batch-rows", "200", "--poll", "0.01", *extra],
            env=env, stdout=log, stderr=subprocess.STDOUT,
        )  # fmt: skip


def _sigkill_once_it_commits(proc: subprocess.Popen[bytes], store: Any, log: Path) -> None:
    """Waits (at most 60 s) until the writer ``proc`` commits past where ``store`` stands now,
    then SIGKILLs it: it must die of the signal."""
    deadline = time.monotonic() + 60
    start = store.last_seq()
    while store.last_seq() <= start and time.monotonic() < deadline:
        assert proc.poll() is None, log.read_text()
        time.sleep(0.002)
    proc.send_signal(signal.SIGKILL)
    assert proc.wait(10) == -signal.SIGKILL


def _catch_up_then_sigterm(
    proc: subprocess.Popen[bytes], store: Any, last_seq: int, log: Path
) -> None:
    """Waits (at most 60 s) until ``store`` holds everything up to ``last_seq``, then stops the
    writer ``proc`` with SIGTERM: it must exit cleanly."""
    deadline = time.monotonic() + 60
    while store.last_seq() < last_seq and time.monotonic() < deadline:
        time.sleep(0.05)
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(30) == 0, log.read_text()


def test_a_writer_killed_mid_batch_loses_and_duplicates_nothing(
    store_url: str, tmp_path: Path
) -> None:
    run = storage_workload.run(tmp_path, orders=6_000, seed=9)
    store = open_store(store_url)
    log = run.config_path.parent / "follow.log"
    procs: list[subprocess.Popen[bytes]] = []
    try:
        kills = 0
        for _ in range(3):  # SIGKILL three writers, each once it committed something
            procs.append(proc := _follow(run.config_path, store_url))
            _sigkill_once_it_commits(proc, store, log)
            stored = store.last_seq()
            if stored >= run.last_seq:
                break
            kills += 1
            # Whatever was committed is exactly the rows up to the stored sequence.
            assert timeless(all_rows(store)) == [r for r in run.expected if r[0] <= stored]
        assert kills >= 1, log.read_text()
        procs.append(proc := _follow(run.config_path, store_url, "--seconds", "60"))
        _catch_up_then_sigterm(proc, store, run.last_seq, log)
        assert timeless(all_rows(store)) == run.expected
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.wait()
        store.close()


def test_rebuild_from_the_journal_equals_the_store_written_live(
    store_url: str, tmp_path: Path
) -> None:
    live = open_store(store_url)
    writer: list[AuditWriter] = []

    def between_chunks(run_config: Any, journal: Path) -> None:
        if not writer:
            writer.append(AuditWriter(live, run_config.instruments, journal, batch_rows=500))
        writer[0].step()  # while the engine is still running and appending

    started = time.time_ns()
    run = storage_workload.run(tmp_path, orders=2_000, seed=3, between_chunks=between_chunks)
    ended = time.time_ns()
    writer[0].step()
    assert writer[0].stored_seq == run.last_seq
    live_rows = all_rows(live)
    # ts_ns is the engine's time of each record (the journal's time marks), not the reader's.
    assert all(started <= r.ts_ns <= ended for r in live_rows)
    assert len({r.ts_ns for r in live_rows}) > 1  # several matching batches
    by_seq = sorted(live_rows, key=lambda r: (r.journal_seq, r.n))
    assert [r.ts_ns for r in by_seq] == sorted(r.ts_ns for r in by_seq), "time follows seq"
    time.sleep(0.01)
    rebuilt = open_store(f"sqlite:///{tmp_path / 'rebuilt.db'}")
    assert rebuild(rebuilt, run.config.instruments, run.journal) == len(live_rows)
    assert all_rows(rebuilt) == live_rows, "every row again, ts_ns included"
    assert timeless(all_rows(rebuilt)) == timeless(live_rows) == run.expected
    # Rebuilding a store in place gives the same rows again, once.
    assert rebuild(live, run.config.instruments, run.journal) == len(live_rows)
    assert timeless(all_rows(live)) == run.expected
    rebuilt.close()
    live.close()


def test_audit_rebuild_and_query_from_the_command_line(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    run = storage_workload.run(tmp_path, orders=500, seed=1)
    url = f"sqlite:///{tmp_path / 'cli.db'}"
    assert main(["audit", "rebuild", "--config", str(run.config_path), "--store", url]) == 0
    assert f"rebuilt {len(run.expected)} rows" in capsys.readouterr().out
    account = run.expected[0][6]
    assert main(["audit", "query", "--store", url, "--account", str(account), "--json"]) == 0
    out = capsys.readouterr()
    lines = [__import__("json").loads(line) for line in out.out.splitlines()]
    mine = [r for r in run.expected if r[6] == account]
    assert [(x["journal_seq"], x["n"], x["kind"]) for x in lines] == [
        (r[0], r[1], r[5]) for r in mine
    ][:1000]
    assert all(
        Decimal(x["price"]) == r[9] for x, r in zip(lines, mine[:1000], strict=True) if x["price"]
    )
    assert main(["audit", "query", "--store", url, "--limit", "100000000"]) == 2
    assert "limit=100000000" in capsys.readouterr().err


def test_the_lag_gauges_follow_the_writer(store: AuditStore, tmp_path: Path) -> None:
    run = storage_workload.run(tmp_path, orders=300, seed=4)
    writer = AuditWriter(store, run.config.instruments, run.journal)
    writer.step()
    label = {"store": store.backend}
    assert REGISTRY.get_sample_value("wintermute_audit_stored_seq", label) == run.last_seq
    assert REGISTRY.get_sample_value("wintermute_audit_lag_records", label) == 0
    assert REGISTRY.get_sample_value("wintermute_audit_lag_seconds", label) == 0


def test_retention_removes_whole_days(store: AuditStore) -> None:
    day = 86_400 * 10**9
    base = (date(2026, 12, 1) - date(1970, 1, 1)).days * day
    rows = [_row(seq, 0, ts_ns=base + (seq - 1) * day + 5) for seq in range(1, 6)]  # 5 days
    store.write(rows, through_seq=5)
    assert store.drop_before(date(2026, 12, 3)) == 2  # days (PostgreSQL) or rows (SQLite)
    assert [r.journal_seq for r in all_rows(store)] == [3, 4, 5]
    assert store.last_seq() == 5  # retention never rewinds the writer


def _row(seq: int, n: int, ts_ns: int = 1_796_000_000_000_000_000) -> AuditRow:
    return AuditRow(seq, n, seq * 10 + n, ts_ns, "BTC-USD", "new", "accepted", 7, 2**64 - seq,
                    "buy", Decimal("64000.25"), Decimal("0.500"), None, None, None, None, None,
                    None, None, None)  # fmt: skip


def test_postgresql_stopped_mid_run_then_started_the_writer_reconnects_and_catches_up(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    server_dir = Path(tempfile.mkdtemp(prefix="wm-pg-restart-"))
    url, data = start_postgres(server_dir)
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    state: dict[str, Any] = {"chunks": 0}

    def between_chunks(config: EngineConfig, journal_dir: Path) -> None:
        if "writer" not in state:
            writer = AuditWriter(open_store(url), config.instruments, journal_dir, batch_rows=200)
            thread = threading.Thread(target=writer.follow, args=(0.005, 0.1), daemon=True)
            thread.start()
            state.update(writer=writer, thread=thread)
        state["chunks"] += 1
        if state["chunks"] == 3:
            stop_postgres(server_dir, data)  # the database goes away, as in a crash
        if state["chunks"] == 7:
            start_postgres(server_dir, port=port)

    try:
        run = storage_workload.run(tmp_path, orders=4_000, seed=13, between_chunks=between_chunks)
        assert state["chunks"] > 7
        writer: AuditWriter = state["writer"]
        deadline = time.monotonic() + 60
        while writer.stored_seq < run.last_seq and time.monotonic() < deadline:
            time.sleep(0.02)
        writer.stop()
        state["thread"].join(10)
        assert "audit store failed" in caplog.text  # it did notice the outage
        check = open_store(url)
        assert timeless(all_rows(check)) == run.expected
        assert check.last_seq() == run.last_seq
        check.close()
    finally:
        if "writer" in state:
            state["writer"].stop()
            state["thread"].join(10)
            state["writer"].store.close()
        stop_postgres(server_dir, data)
        shutil.rmtree(server_dir, ignore_errors=True)
