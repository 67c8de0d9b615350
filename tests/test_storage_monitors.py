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
    # Started again, it takes the monitors' counts from the store and alerts on nothing
    # old; --full-replay counts the whole journal again, and alerts on nothing old either.
    for extra, start in (
        ([], f"(replaying from the first record; monitors' state restored at seq {run.last_seq})"),
        (["--full-replay"], "(replaying from the first record)"),
    ):
        again = subprocess.run(
            [sys.executable, "-m", "wintermute.cli", "audit", "follow", "--config",
             str(run.config_path), "--store", f"sqlite:///{tmp_path / 'f.db'}", "--seconds",
             "1", "--monitor", "--max-cancel-rate", "0.01", "--min-orders", "10", *extra],
            env=env, capture_output=True, text=True, timeout=120,
        )  # fmt: skip
        assert again.returncode == 0, again.stderr
        assert f"from seq {run.last_seq} {start}" in again.stdout
        assert "compliance alert" not in again.stderr
    bad = subprocess.run(
        [sys.executable, "-m", "wintermute.cli", "audit", "follow", "--config",
         str(run.config_path), "--store", f"sqlite:///{tmp_path / 'g.db'}", "--seconds", "1",
         "--monitor", "--max-cancel-rate", "2"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert bad.returncode == 2
    assert "max_cancel_rate=2" in bad.stderr


# ---- wash trades across related accounts, and the price band -------------------------------


def test_a_trade_between_two_accounts_of_one_group_is_a_wash_trade(tmp_path: Path) -> None:
    eng = _engine_journal(tmp_path)
    eng.submit("X", 1, "sell", qty="5", price="100", account=1)
    eng.submit("X", 2, "buy", qty="2", price="100", account=2)  # 1 and 2: one desk
    eng.submit("X", 3, "buy", qty="1", price="100", account=3)  # 3: not related
    eng.submit("X", 4, "sell", qty="1", price="101", account=1)
    eng.submit("X", 5, "sell", qty="1", price="102", account=1)
    eng.submit("X", 6, "buy", qty="4", price="102", account=2)  # three fills against 1
    eng.submit("X", 7, "sell", qty="1", price="102", account=3)
    eng.submit("X", 8, "buy", qty="1", price="102", account=4)  # 3 and 4: another desk
    eng.close_journal()
    monitor = ComplianceMonitor(
        Thresholds(price_band_bps=None), account_groups={"desk-a": [1, 2], "desk-b": [3, 4]}
    )
    AuditWriter(open_store(":memory:"), [X], tmp_path, monitor=monitor).step()
    got = [(a.rule, a.account, a.contra_account, a.journal_seq, a.instrument, a.price, a.qty,
            a.value, a.detail) for a in monitor.alerts]  # fmt: skip
    assert got == [
        ("wash_trade", 1, 2, 2, "X", Decimal(100), Decimal(2), 1, "group=desk-a fills=1"),
        ("wash_trade", 1, 2, 6, "X", Decimal(100), Decimal(4), 3, "group=desk-a fills=3"),
        ("wash_trade", 3, 4, 8, "X", Decimal(102), Decimal(1), 1, "group=desk-b fills=1"),
    ]
    assert "rule=wash_trade" in str(monitor.alerts[0])
    assert "contra_account=2" in str(monitor.alerts[0])


def _trade(seq: int, price: str, taker: int = 2, maker: int = 1, n: int = 0,
           instrument: str = "X", qty: str = "1") -> AuditRow:  # fmt: skip
    return AuditRow(seq, n, seq, 0, instrument, "new", "trade", maker, seq, "buy",
                    Decimal(price), Decimal(qty), Decimal(0), None, None, taker, 1000 + seq,
                    Decimal(0), None, None)  # fmt: skip


def _bands(monitor: ComplianceMonitor, rows: list[AuditRow]) -> list[tuple[object, ...]]:
    return [(a.journal_seq, a.account, a.price, a.reference_price, round(a.value, 6))
            for a in monitor.observe(rows) if a.rule == "price_band"]  # fmt: skip


def test_the_price_band_is_measured_from_the_last_trade_before_the_command() -> None:
    monitor = ComplianceMonitor(Thresholds(price_band_bps=100))  # 1%
    # The first trade of an instrument has no reference; 102.01 is exactly 1% over 101: not
    # over the band (an exact comparison: no float rounding either way).
    assert _bands(monitor, [_trade(1, "100"), _trade(2, "101"), _trade(3, "102.01")]) == []
    assert _bands(monitor, [_trade(4, "103.0302")]) == [
        (4, 2, Decimal("103.0302"), Decimal("102.01"), 100.009803)
    ]
    # A sweep: each step under 1%, the whole walk over it; the farthest fill is the alert.
    sweep = [_trade(5, p, taker=5, n=i) for i, p in enumerate(["103.5", "104", "105", "104.5"])]
    assert _bands(monitor, sweep) == [(5, 5, Decimal(105), Decimal("103.0302"), 191.186662)]
    # The band follows the market: the next command is measured from 104.5 (the last fill).
    assert _bands(monitor, [_trade(6, "104.5")]) == []
    # A lone spike alerts on the way out and on the way back; other instruments apart.
    assert _bands(monitor, [_trade(7, "120", taker=7), _trade(8, "50", instrument="Y")]) == [
        (7, 7, Decimal(120), Decimal("104.5"), 1483.253589)
    ]
    assert [a[:4] for a in _bands(monitor, [_trade(9, "104.5", taker=8)])] == [
        (9, 8, Decimal("104.5"), Decimal(120))
    ]


def test_the_price_band_rule_can_be_turned_off() -> None:
    monitor = ComplianceMonitor(Thresholds(price_band_bps=None))
    assert monitor.observe([_trade(1, "100"), _trade(2, "1000")]) == []


def test_replayed_history_moves_the_price_band_reference_without_alerting() -> None:
    monitor = ComplianceMonitor(Thresholds(price_band_bps=50))
    history = [_trade(1, "100"), _trade(2, "110")]  # stored before a restart
    assert monitor.observe([*history, _trade(3, "110.1")], quiet_through=2) == []
    assert [a.journal_seq for a in monitor.observe([_trade(4, "100")])] == [4]


@pytest.mark.parametrize(
    ("groups", "message"),
    [
        ({"desk": [1, "2"]}, "group=desk account='2' is not an account number"),
        ({"desk": [1, -3]}, "group=desk account=-3 is not"),
        ({"desk": "12"}, "group=desk must list account numbers"),
        ({"": [1, 2]}, "group name=''"),
    ],
)
def test_bad_account_groups_are_refused(groups: dict[str, object], message: str) -> None:
    with pytest.raises(ValueError, match=f"account_groups: {message}"):
        ComplianceMonitor(account_groups=groups)  # type: ignore[arg-type]


def test_a_bad_price_band_is_refused() -> None:
    with pytest.raises(ValueError, match="price_band_bps=0 must be in"):
        Thresholds(price_band_bps=0)
