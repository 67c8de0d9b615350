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
from wintermute.storage import AuditQuery, AuditWriter, StorageError, open_store
from wintermute.storage.audit_settings import AuditSettings
from wintermute.storage.audit_trail import AuditTrail, plan_trail
from wintermute.storage.monitors import ComplianceMonitor

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
