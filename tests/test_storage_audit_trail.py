"""The live audit trail of ``wintermute serve`` / ``demo`` (wintermute.storage.audit_trail):
where it goes (``plan_trail``), following a running engine's journal, reading a store another
process writes, and storing the journal's end when it closes."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest

from specs import BTC, PARK
from wintermute import Pipeline
from wintermute.config import EngineConfig, JournalConfig
from wintermute.storage import AlertQuery, AuditQuery, AuditWriter, StorageError, open_store
from wintermute.storage.audit_settings import AuditSettings
from wintermute.storage.audit_trail import AuditTrail, plan_trail
from wintermute.storage.monitors import ComplianceMonitor, Thresholds

ENGINE = EngineConfig.from_dict(
    {"instruments": [BTC], "threads": {"risk": {"wait": PARK}, "matching": {"wait": PARK}}}
)


def test_the_plan_journals_and_stores_in_the_run_directory_unless_told_otherwise(
    tmp_path: Path,
) -> None:
    plan = plan_trail(ENGINE, AuditSettings(), tmp_path / "run")
    run = tmp_path / "run"
    assert (plan.run_dir, plan.journal, plan.url) == (
        run, str(run / "journal"), f"sqlite:///{run / 'audit.db'}"
    )  # fmt: skip
    assert plan.engine.journal is not None
    assert plan.engine.journal.fsync == "none"
    assert str(run) in plan.describe()
    # The engine's own journal and a configured store: no run directory at all.
    journaled = dataclasses.replace(ENGINE, journal=JournalConfig(str(tmp_path / "j")))
    plan = plan_trail(journaled, AuditSettings(store="postgresql://h/db"), tmp_path / "unused")
    assert (plan.run_dir, plan.journal, plan.url) == (
        None,
        str(tmp_path / "j"),
        "postgresql://h/db",
    )
    assert plan.engine == journaled
    assert not (tmp_path / "unused").exists()
    # No directory given anywhere: a new one in the temporary directory.
    fresh = plan_trail(ENGINE, AuditSettings(), prefix="wintermute-test-")
    assert fresh.run_dir is not None
    assert fresh.run_dir.name.startswith("wintermute-test-")
    fresh.run_dir.rmdir()


def test_the_trail_follows_a_running_engine_and_stores_its_end_on_close(tmp_path: Path) -> None:
    plan = plan_trail(ENGINE, AuditSettings(), tmp_path)
    with Pipeline(plan.engine) as eng:
        trail = AuditTrail(plan.url, plan.engine.instruments, plan.journal, poll_s=0.01,
                           monitor=ComplianceMonitor()).start()  # fmt: skip
        gw = eng.gateway(0)
        gw.submit("BTC-USD", 1, "sell", qty="1", price="100", account=1)
        deadline = time.monotonic() + 20
        while not trail.events(AuditQuery()):
            assert time.monotonic() < deadline, "the trail did not follow"
            time.sleep(0.01)
        for oid in range(2, 40):
            gw.submit("BTC-USD", oid, "buy", qty="0.001", price="100", account=2)
        eng.shutdown()
    trail.close()  # the engine stopped: everything it journaled is stored
    store = open_store(plan.url)
    assert store.last_seq() == 39
    assert [r.kind for r in store.query(AuditQuery(account=2, either_side=True))].count(
        "trade"
    ) == 38
    store.close()


def test_a_reading_trail_answers_from_a_store_another_writer_keeps(tmp_path: Path) -> None:
    plan = plan_trail(ENGINE, AuditSettings(), tmp_path)
    with Pipeline(plan.engine) as eng:
        eng.gateway(0).submit("BTC-USD", 1, "sell", qty="1", price="100", account=5)
    reader = AuditTrail(plan.url, ENGINE.instruments, plan.journal, follow=False).start()
    assert reader.writer is None
    assert reader.events(AuditQuery()) == []
    writer_store = open_store(plan.url)
    AuditWriter(writer_store, ENGINE.instruments, plan.journal).step()  # "audit follow"
    writer_store.close()
    assert [r.account for r in reader.events(AuditQuery())] == [5]
    assert reader.stored_seq() == 1
    reader.close()


@pytest.mark.parametrize("url", [":memory:", "sqlite:///:memory:", "sqlite://"])
def test_a_live_trail_in_memory_is_refused(url: str, tmp_path: Path) -> None:
    with pytest.raises(StorageError, match="needs a file or a server"):
        AuditTrail(url, ENGINE.instruments, tmp_path)


def test_a_restarted_trail_takes_up_the_monitors_counts_where_the_last_one_stopped(
    tmp_path: Path,
) -> None:
    journal = JournalConfig(str(tmp_path / "journal"), fsync="none", snapshot_every_records=25)
    engine = dataclasses.replace(ENGINE, journal=journal)
    settings = AuditSettings(thresholds=Thresholds(max_cancel_rate=0.15, min_orders=10),
                             account_groups={"desk": (1, 2)})  # fmt: skip
    plan = plan_trail(engine, settings, tmp_path)
    starts = []
    for first in (1, 101, 201):  # three runs of the service, each restarting the engine
        with Pipeline(plan.engine) as eng:
            trail = plan.start(settings)
            w = trail.writer
            assert w is not None
            starts.append((w.stored_seq, w.monitor_restored, w.resumed_from,
                           w.full_replay_reason))  # fmt: skip
            gw = eng.gateway(0)
            for oid in range(first, first + 40):
                gw.submit("BTC-USD", oid, "sell", qty="1", price=str(100 + oid % 5), account=1)
                if oid % 3 == 0:
                    gw.cancel("BTC-USD", oid)
                if oid % 4 == 0:
                    gw.submit("BTC-USD", oid + 10_000, "buy", qty="0.5", price="104", account=2)
            eng.shutdown()
        trail.close()
    assert starts[0] == (0, None, None, None)
    for stored, restored, resumed_from, reason in starts[1:]:
        assert reason is None
        assert restored == stored > 0
        assert resumed_from is not None
        assert resumed_from <= stored
    # The alerts are those of one writer over the whole journal: the cancel rate, over since
    # the first run, is not alerted on again by the later ones.
    store = open_store(plan.url)
    ref = open_store(f"sqlite:///{tmp_path / 'ref.db'}")
    AuditWriter(ref, engine.instruments, plan.journal, monitor=settings.monitor()).step()
    alerts = store.alerts(AlertQuery())
    assert alerts == ref.alerts(AlertQuery())
    assert [a.rule for a in alerts].count("cancel_rate") == 1
    assert any(a.rule == "wash_trade" and a.journal_seq > starts[2][0] for a in alerts)
    store.close()
    ref.close()
