"""Compliance monitors (wintermute.storage.monitors): counts per account against the engine's
own events, thresholds, one alert per crossing, in the logs and metrics."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import tempfile
from decimal import Decimal
from pathlib import Path

import pytest
from prometheus_client import REGISTRY

import storage_workload
from wintermute.config import InstrumentConfig
from wintermute.engine import Engine
from wintermute.storage import AuditRow, AuditWriter, open_store
from wintermute.storage.monitors import AccountStats, ComplianceMonitor, Thresholds

X = InstrumentConfig("X", tick_size="1", lot_size="1", min_qty="1", max_qty="1000",
                     min_price="1", max_price="100000")  # fmt: skip


def _engine_journal(tmp: Path) -> Engine:
    eng = Engine()
    eng.add_instrument(X)
    eng.open_journal(str(tmp), fsync="none")
    return eng


def test_self_trade_prevention_hits_are_counted_from_the_engine_events(tmp_path: Path) -> None:
    eng = _engine_journal(tmp_path)
    eng.submit("X", 1, "sell", qty="5", price="100", account=3)
    for oid in range(2, 5):  # account 3 crosses itself three times; STP cancels the newest
        eng.submit("X", oid, "buy", qty="1", price="100", account=3, stp="cancel_newest")
    eng.submit("X", 9, "buy", qty="2", price="100", account=4)  # a real trade
    eng.close_journal()
    monitor = ComplianceMonitor(Thresholds(max_stp_hits=2, min_orders=1))
    AuditWriter(open_store(":memory:"), [X], tmp_path, monitor=monitor).step()
    # Each STP-canceled order was accepted first (docs/matching.md), so it counts as an order.
    assert monitor.stats(3) == AccountStats(orders=4, trades=1, cancels=0, stp_hits=3)
    assert monitor.stats(4) == AccountStats(orders=1, trades=1, cancels=0, stp_hits=0)
    assert [(a.account, a.rule, a.value) for a in monitor.alerts] == [(3, "stp_hits", 3)]


def _row(seq: int, kind: str, account: int, reason: str | None = None,
         contra: int | None = None, command: str = "new") -> AuditRow:  # fmt: skip
    return AuditRow(seq, 0, seq, 0, "X", command, kind, account, seq, "buy", Decimal(1),
                    Decimal(1), None, None, None, contra, None, None, reason, None)  # fmt: skip


def test_order_to_trade_and_cancel_rate_alert_once_per_crossing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    monitor = ComplianceMonitor(
        Thresholds(max_order_to_trade=4.0, max_cancel_rate=0.5, min_orders=4)
    )
    before = (
        REGISTRY.get_sample_value("wintermute_compliance_alerts_total", {"rule": "order_to_trade"})
        or 0.0
    )
    seq = iter(range(1, 1000))
    rows = [_row(next(seq), "accepted", 1) for _ in range(5)]  # 5 orders, no trade: 5 > 4
    with caplog.at_level(logging.WARNING, logger="wintermute.storage.monitors"):
        alerts = monitor.observe(rows)
    assert [(a.account, a.rule, a.value, a.journal_seq) for a in alerts] == [
        (1, "order_to_trade", 4.0 + 1, 5)
    ]
    assert "compliance alert account=1 rule=order_to_trade value=5" in caplog.text
    after = REGISTRY.get_sample_value(
        "wintermute_compliance_alerts_total", {"rule": "order_to_trade"}
    )
    assert after == before + 1
    # More orders: still over, no second alert. A trade (as taker) brings it under...
    assert monitor.observe([_row(next(seq), "accepted", 1)]) == []
    assert monitor.observe([_row(next(seq), "trade", 2, contra=1)]) == []
    assert monitor.stats(1).trades == 1  # 6 orders / 1 trade... still over 4
    assert monitor.observe([_row(next(seq), "trade", 1, contra=2)]) == []  # 6 / 2 = 3: under
    # ... and over again alerts again.
    again = monitor.observe([_row(next(seq), "accepted", 1) for _ in range(3)])
    assert [a.rule for a in again] == ["order_to_trade"]  # 9 / 2 = 4.5
    # Cancels the account asked for count; the engine's own (unfilled IOC) do not.
    cancels = [_row(next(seq), "canceled", 1, "USER", command="cancel") for _ in range(4)]
    cancels.append(_row(next(seq), "canceled", 1, "UNFILLED"))
    assert [a.rule for a in monitor.observe(cancels)] == []  # 4 / 9 <= 0.5
    assert [a.rule for a in monitor.observe([_row(next(seq), "canceled", 1, "MASS_CANCEL")])] == [
        "cancel_rate"
    ]  # 5 / 9 > 0.5
    assert monitor.stats(1) == AccountStats(orders=9, trades=2, cancels=5, stp_hits=0)
    assert monitor.stats(99) == AccountStats()


def test_a_restarted_writer_counts_history_without_alerting_again(tmp_path: Path) -> None:
    run = storage_workload.run(tmp_path, orders=1_500, seed=17)
    thresholds = Thresholds(max_order_to_trade=1.5, max_cancel_rate=0.05, min_orders=20)
    store = open_store(f"sqlite:///{tmp_path / 'm.db'}")
    first = ComplianceMonitor(thresholds)
    AuditWriter(store, run.config.instruments, run.journal, monitor=first).step()
    assert first.alerts  # this flow cancels a lot
    second = ComplianceMonitor(thresholds)
    AuditWriter(store, run.config.instruments, run.journal, monitor=second).step()
    assert second.alerts == []
    for account in range(1, 7):
        assert second.stats(account) == first.stats(account)
    store.close()


@pytest.mark.parametrize(
    "kwargs",
    [{"max_order_to_trade": 0}, {"max_cancel_rate": 1.5}, {"max_stp_hits": -1}, {"min_orders": 0}],
)
def test_bad_thresholds_are_refused(kwargs: dict[str, float]) -> None:
    with pytest.raises(ValueError, match="thresholds: "):
        Thresholds(**kwargs)  # type: ignore[arg-type]


def test_orders_and_fills_of_the_seeded_flow_are_all_counted() -> None:
    with tempfile.TemporaryDirectory() as tmp:
        run = storage_workload.run(Path(tmp), orders=800, seed=2)
    counted = ComplianceMonitor()
    rows = [AuditRow._make((*r[:3], 0, *r[3:])) for r in run.expected]
    counted.observe(rows)
    orders = sum(1 for r in rows if r.kind == "accepted" and r.command == "new")
    assert sum(counted.stats(a).orders for a in range(1, 7)) == orders
    fills = sum(1 for r in rows if r.kind == "trade")
    self_fills = sum(1 for r in rows if r.kind == "trade" and r.account == r.contra_account)
    assert sum(counted.stats(a).trades for a in range(1, 7)) == 2 * fills - self_fills


def test_audit_follow_monitor_logs_alerts(tmp_path: Path) -> None:
    run = storage_workload.run(tmp_path, orders=600, seed=31)
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent / "python")}
    done = subprocess.run(
        [sys.executable, "-m", "wintermute.cli", "audit", "follow", "--config",
         str(run.config_path), "--store", f"sqlite:///{tmp_path / 'f.db'}", "--seconds", "3",
         "--monitor", "--max-cancel-rate", "0.01", "--min-orders", "10"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "compliance alert account=" in done.stderr
    assert "rule=cancel_rate" in done.stderr
    assert f"stored through seq {run.last_seq}" in done.stdout
    bad = subprocess.run(
        [sys.executable, "-m", "wintermute.cli", "audit", "follow", "--config",
         str(run.config_path), "--store", f"sqlite:///{tmp_path / 'g.db'}", "--seconds", "1",
         "--monitor", "--max-cancel-rate", "2"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2
    assert "max_cancel_rate=2" in bad.stderr
