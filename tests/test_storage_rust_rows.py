"""The audit rows built in Rust (``wintermute.storage.rust_rows``) against the Python replay
(``wintermute.storage.replay``, the reference model): the same rows on random command
streams, and the same rows stored, by Rust-encoded binary COPY into PostgreSQL and into SQLite.
"""

from __future__ import annotations

import json
import random
import threading
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from storage_servers import postgres_admin_url, postgres_url
from wintermute import Pipeline, batch
from wintermute.cli import main
from wintermute.config import EngineConfig, InstrumentConfig
from wintermute.engine import Engine
from wintermute.storage.monitors import ComplianceMonitor, Thresholds
from wintermute.storage.postgres import PostgresStore
from wintermute.storage.queries import AlertQuery, AuditQuery
from wintermute.storage.replay import JournalReplay
from wintermute.storage.rust_rows import RustJournalReplay, write_batch
from wintermute.storage.schema import AuditRow
from wintermute.storage.sqlite import SqliteStore
from wintermute.storage.writer import rebuild

__all__ = ["postgres_admin_url", "postgres_url"]  # fixtures, used by name

INSTRUMENTS = [
    InstrumentConfig("BTC-USD", tick_size="0.01", lot_size="0.001", min_qty="0.001",
                     max_qty="100", min_price="1", max_price="1000000"),
    InstrumentConfig("ODD", tick_size="0.50", lot_size="10", min_qty="10", max_qty="100000",
                     min_price="0.5", max_price="5000"),
]  # fmt: skip
MIDS = [6_400_000, 2_000]
STP_MODES = [batch.STP_NONE] * 6 + [
    batch.STP_CANCEL_NEWEST,
    batch.STP_CANCEL_OLDEST,
    batch.STP_CANCEL_BOTH,
    batch.STP_DECREMENT,
]
HUGE = 2**64 - 1_000  # order ids from 2**63 up: stored as the BIGINT of their bits


def _commands(rng: random.Random, iid: int, n: int, live: list[int]) -> npt.NDArray[Any]:
    """Random commands of every kind: limits (GTC, IOC, FOK, post-only, icebergs, each STP
    mode), market orders, cancels and amends of live and unknown orders, mass cancels, and
    some the book refuses (zero or too large quantities, prices out of band)."""
    out = np.zeros(n, dtype=batch.COMMAND_DTYPE)
    for c in out:
        r = rng.random()
        if r < 0.12 and live:
            c["kind"], c["order_id"] = batch.CANCEL, rng.choice(live)
        elif r < 0.22 and live:
            c["kind"], c["order_id"] = batch.AMEND, rng.choice(live)
            c["qty"], c["price"] = rng.randint(0, 40), MIDS[iid] + rng.randint(-20, 20)
            c["flags"] = rng.choice([batch.FLAG_HAS_QTY, batch.FLAG_HAS_PRICE,
                                     batch.FLAG_HAS_QTY | batch.FLAG_HAS_PRICE])  # fmt: skip
        elif r < 0.24:
            c["kind"], c["order_id"] = batch.CANCEL, rng.randint(1, 10**6)  # mostly unknown
        elif r < 0.26:
            c["kind"], c["account"] = batch.MASS_CANCEL, rng.randint(1, 4)
            c["side"] = rng.choice([batch.BUY, batch.SELL, 2])
            c["flags"] = batch.FLAG_HAS_ACCOUNT if rng.random() < 0.7 else 0
        else:
            oid = rng.randint(1, 10**6) if rng.random() < 0.9 else HUGE + rng.randint(0, 999)
            side = rng.choice([batch.BUY, batch.SELL])
            c["kind"], c["order_id"], c["side"] = batch.NEW, oid, side
            c["account"] = rng.randint(1, 4)
            c["qty"] = rng.choice([0, 10**9]) if rng.random() < 0.03 else rng.randint(1, 60)
            off = rng.randint(-15, 25) * (1 if side == batch.BUY else -1)
            c["price"] = 10**9 if rng.random() < 0.02 else MIDS[iid] - off
            c["stp"] = rng.choice(STP_MODES)
            t = rng.random()
            if t < 0.05:
                c["order_type"], c["tif"] = batch.MARKET, batch.IOC
            elif t < 0.1:
                c["tif"] = rng.choice([batch.IOC, batch.FOK])
            elif t < 0.15:
                c["flags"] = batch.FLAG_POST_ONLY
            elif t < 0.2:
                c["display_qty"] = rng.randint(1, 5)
            live.append(oid)
    return out


def _rows_of_both(journal: Path) -> tuple[JournalReplay, RustJournalReplay]:
    return JournalReplay(INSTRUMENTS, journal), RustJournalReplay(INSTRUMENTS, journal)


def test_rust_rows_equal_the_python_replay_on_2000_random_command_streams(
    tmp_path: Path,
) -> None:
    kinds: set[str] = set()
    total = 0
    for seed in range(2000):
        rng = random.Random(seed)
        journal = tmp_path / f"j{seed}"
        eng = Engine()
        for i in INSTRUMENTS:
            eng.add_instrument(i)
        eng.open_journal(str(journal), fsync="none", segment_size=1 << 16)
        python, rust = _rows_of_both(journal)
        lives: list[list[int]] = [[], []]
        for _ in range(rng.randint(1, 4)):  # reads go on from where the last one stopped
            for _ in range(rng.randint(1, 3)):
                iid = rng.randrange(2)
                eng.submit_batch(iid, _commands(rng, iid, rng.randint(1, 30), lives[iid]))
            expected = python.read()
            got = rust.read()
            rows = got.rows()
            assert [r.without_time() for r in rows] == [r.without_time() for r in expected], seed
            assert rust.cursor == python.cursor, seed
            assert len(got) == len(rows)
            kinds.update(r.kind for r in rows)
            total += len(rows)
        eng.close_journal()
    assert kinds == {"accepted", "rejected", "trade", "canceled", "amended"}
    assert total > 100_000


def _pipeline_journal(tmp: Path, orders: int, seed: int) -> Path:
    """A seeded flow through the threaded pipeline with a journal: time marks, and risk
    rejections (orders over the accounts' quantity limit) journaled as records of their own."""
    data = {
        "instruments": [{"symbol": i.symbol, "tick_size": i.tick_size, "lot_size": i.lot_size,
                         "min_qty": i.min_qty, "max_qty": i.max_qty, "min_price": i.min_price,
                         "max_price": i.max_price} for i in INSTRUMENTS],
        "threads": {"risk": {"wait": "park"}, "matching": {"wait": "park"}},
        "risk": {"default_limits": {"max_order_qty": 45}},
        "journal": {"dir": str(tmp / "journal"), "fsync": "none", "segment_size": 1 << 20},
    }  # fmt: skip
    path = tmp / "engine.json"
    path.write_text(json.dumps(data))
    rng = random.Random(seed)
    lives: list[list[int]] = [[], []]
    with Pipeline(EngineConfig.from_file(path)) as eng:
        gw = eng.gateway(0)
        left = orders
        while left > 0:
            n = min(left, rng.randint(1, 200))
            gw.submit_batch(0, _commands(rng, 0, n, lives[0]))
            left -= n
    return tmp / "journal"


def test_rust_rows_equal_the_python_replay_on_a_pipeline_journal_times_and_risk_included(
    tmp_path: Path,
) -> None:
    journal = _pipeline_journal(tmp_path, 5_000, seed=7)
    python, rust = _rows_of_both(journal)
    expected, got = python.read(), rust.read().rows()
    assert got == expected  # ts_ns included: both take it from the journal's time marks
    assert any(r.reason == "MAX_ORDER_QTY" and r.event_seq == 0 for r in got)
    assert all(r.ts_ns > 10**18 for r in got)


def _stored_both_ways(
    python_store: Any, rust_store: Any, journal: Path, batch_rows: int
) -> tuple[list[AuditRow], list[AuditRow]]:
    python, rust = _rows_of_both(journal)
    rows, columns = python.read(), rust.read()
    seqs = [r.journal_seq for r in rows]
    written = 0
    for start in range(0, len(rows), batch_rows):
        end = min(start + batch_rows, len(rows))
        while end < len(rows) and seqs[end] == seqs[end - 1]:
            end += 1
        python_store.write(rows[start:end], seqs[end - 1])
        if isinstance(rust_store, PostgresStore):
            written += rust_store.write_columns(columns, seqs[end - 1], start, end)
        else:
            written += write_batch(rust_store, columns, seqs[end - 1])
    assert written == len(rows) == len(columns)
    q = AuditQuery(limit=100_000)
    return python_store.query(q), rust_store.query(q)


def test_rows_copied_from_rust_into_postgresql_equal_those_the_python_path_stores(
    postgres_url: str, tmp_path: Path
) -> None:
    journal = _pipeline_journal(tmp_path, 3_000, seed=11)
    a, b = (
        PostgresStore(postgres_url, schema="by_python"),
        PostgresStore(postgres_url, schema="by_rust"),
    )
    try:
        stored_py, stored_rust = _stored_both_ways(a, b, journal, 700)
        assert stored_rust == stored_py
        assert len(stored_rust) > 3_000
        assert {r.kind for r in stored_rust} == {
            "accepted",
            "rejected",
            "trade",
            "canceled",
            "amended",
        }
        assert any(r.order_id >= 2**63 for r in stored_rust), "ids from 2**63 read back as given"
        assert b.last_seq() == a.last_seq()
        # Written again: the rows at or before the stored sequence are skipped.
        again = RustJournalReplay(INSTRUMENTS, journal).read()
        assert b.write_columns(again, b.last_seq()) == 0
        assert b.count() == len(stored_py)
    finally:
        a.close()
        b.close()


def test_rows_built_in_rust_stored_in_sqlite_equal_those_the_python_path_stores(
    tmp_path: Path,
) -> None:
    journal = _pipeline_journal(tmp_path, 2_000, seed=3)
    a, b = SqliteStore(str(tmp_path / "py.db")), SqliteStore(str(tmp_path / "rust.db"))
    stored_py, stored_rust = _stored_both_ways(a, b, journal, 10**9)
    assert stored_rust == stored_py
    assert len(stored_rust) > 2_000
    a.close()
    b.close()


def test_an_instrument_the_replay_does_not_have_is_an_error(tmp_path: Path) -> None:
    eng = Engine()
    for i in INSTRUMENTS:
        eng.add_instrument(i)
    eng.open_journal(str(tmp_path / "j"), fsync="none", segment_size=1 << 16)
    eng.submit_batch(1, _commands(random.Random(1), 1, 5, []))
    eng.close_journal()
    replay = RustJournalReplay(INSTRUMENTS[:1], tmp_path / "j")
    with pytest.raises(Exception, match="instrument"):
        replay.read()
    assert replay.cursor == 0


def test_bench_storage_measures_the_rust_path_beside_the_python_one(
    postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["bench", "storage", "--orders", "2000", "--batch-rows", "500", "--json",
            "--postgres", postgres_url]  # fmt: skip
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    names = [r["name"] for r in report["rust"]]
    assert names == ["replay (Rust)", "COPY data encoded (Rust)", "sqlite (rows from Rust columns)",
                     "postgresql (Rust binary COPY)",
                     "postgresql (same COPY, table without indexes)"]  # fmt: skip
    assert all(r["rows"] == report["rows"] > 2000 and r["per_s"] > 0 for r in report["rust"])


def _rebuilt_both_ways(python_store: Any, rust_store: Any, journal: Path) -> None:
    """``rebuild`` (rows built in Rust) against the reference: the Python replay's rows and
    the alerts they raise, written in one batch."""
    thresholds = Thresholds(max_cancel_rate=0.2, min_orders=20)
    replay = JournalReplay(INSTRUMENTS, journal)
    rows = replay.read()
    alerts = ComplianceMonitor(thresholds).observe(rows)
    n_py = python_store.write(rows, replay.cursor, alerts)
    n_rust = rebuild(rust_store, INSTRUMENTS, journal, batch_rows=500,
                     monitor=ComplianceMonitor(thresholds))  # fmt: skip
    assert n_rust == n_py > 1_000
    q = AuditQuery(limit=100_000)
    assert rust_store.query(q) == python_store.query(q)
    alerts_q = AlertQuery(limit=100_000)
    assert rust_store.alerts(alerts_q) == python_store.alerts(alerts_q)
    assert len(rust_store.alerts(alerts_q)) > 0
    assert rust_store.last_seq() == python_store.last_seq()


def test_a_rebuild_with_rows_from_rust_equals_the_python_rebuild_in_sqlite(
    tmp_path: Path,
) -> None:
    journal = _pipeline_journal(tmp_path, 2_000, seed=5)
    a, b = SqliteStore(str(tmp_path / "py.db")), SqliteStore(str(tmp_path / "rust.db"))
    _rebuilt_both_ways(a, b, journal)
    a.close()
    b.close()


def test_a_rebuild_with_rows_from_rust_equals_the_python_rebuild_in_postgresql(
    postgres_url: str, tmp_path: Path
) -> None:
    journal = _pipeline_journal(tmp_path, 2_000, seed=6)
    a = PostgresStore(postgres_url, schema="by_python")
    b = PostgresStore(postgres_url, schema="by_rust")
    try:
        _rebuilt_both_ways(a, b, journal)
    finally:
        a.close()
        b.close()


def test_audit_rebuild_takes_the_deprecated_rust_rows_flag_and_stores_the_same_rows(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    journal = _pipeline_journal(tmp_path, 1_000, seed=8)
    config = tmp_path / "engine.json"
    py_url, rust_url = f"sqlite:///{tmp_path}/py.db", f"sqlite:///{tmp_path}/rust.db"
    assert main(["audit", "rebuild", "--config", str(config), "--store", py_url]) == 0
    argv = ["audit", "rebuild", "--config", str(config), "--store", rust_url, "--rust-rows"]
    assert main(argv) == 0
    out = capsys.readouterr().out.splitlines()
    assert out[0].split()[:2] == out[1].split()[:2]  # "rebuilt N rows"
    a, b = SqliteStore(str(tmp_path / "py.db")), SqliteStore(str(tmp_path / "rust.db"))
    q = AuditQuery(limit=100_000)
    assert b.query(q) == a.query(q) != []
    assert journal.exists()
    a.close()
    b.close()


def test_a_rust_replay_made_on_one_thread_reads_on_another(tmp_path: Path) -> None:
    journal = _pipeline_journal(tmp_path, 500, seed=9)
    replay = RustJournalReplay(INSTRUMENTS, journal)  # as a writer made before its thread
    got: list[int] = []
    worker = threading.Thread(target=lambda: got.append(len(replay.read())))
    worker.start()
    worker.join()
    assert got == [len(JournalReplay(INSTRUMENTS, journal).read())]
    assert got[0] > 500
