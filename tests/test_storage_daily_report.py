"""The daily report (wintermute.storage.daily_report, ``wintermute audit report``) on SQLite
and a real PostgreSQL, against counts made here from the engine's own outputs."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import storage_workload
from storage_servers import postgres_admin_url, postgres_url, store_url
from wintermute.cli import main
from wintermute.storage import AuditRow, AuditStore, open_store
from wintermute.storage.daily_report import daily_report, format_table, report_dict
from wintermute.storage.monitors import ComplianceMonitor, Thresholds
from wintermute.storage.queries import to_ns

__all__ = ["postgres_admin_url", "postgres_url", "store_url"]  # fixtures, used by name

DAY = date(2026, 12, 6)
GROUPS = {"desk": [1, 2]}


@pytest.fixture(scope="module")
def flow(tmp_path_factory: pytest.TempPathFactory) -> storage_workload.Run:
    return storage_workload.run(tmp_path_factory.mktemp("flow"), orders=2_500, seed=41)


@pytest.fixture
def store(store_url: str, flow: storage_workload.Run) -> Iterator[AuditStore]:
    """The flow's rows and alerts: the first 60% on DAY, the rest on the day after."""
    start = to_ns(datetime(2026, 12, 6, 23, 0, tzinfo=timezone.utc), "t")
    cut = flow.expected[len(flow.expected) * 3 // 5][0]
    rows = [AuditRow._make((*r[:3], start + (r[0] >= cut) * 3_600 * 10**9, *r[3:]))
            for r in flow.expected]  # fmt: skip
    monitor = ComplianceMonitor(Thresholds(max_cancel_rate=0.05, min_orders=10),
                                account_groups=GROUPS)  # fmt: skip
    alerts = monitor.observe(rows)
    s = open_store(store_url)
    s.write(rows, flow.last_seq, alerts)
    yield s
    s.close()


def _reference(rows: list[tuple[Any, ...]]) -> dict[int, dict[str, Any]]:
    """Each account's day, counted from the engine's rows as docs/storage.md defines it."""
    out: dict[int, dict[str, Any]] = {}

    def acct(a: int) -> dict[str, Any]:
        return out.setdefault(a, {"orders": 0, "fills": 0, "cancels": 0, "rejections": {},
                                  "traded": {}})  # fmt: skip

    for r in rows:
        kind, command, account, reason = r[5], r[4], r[6], r[17]
        if kind == "accepted" and command == "new":
            acct(account)["orders"] += 1
        elif kind == "canceled" and reason in ("USER", "MASS_CANCEL") and account is not None:
            acct(account)["cancels"] += 1
        elif kind == "rejected":
            per = acct(account)["rejections"]
            per[reason] = per.get(reason, 0) + 1
        elif kind == "trade":
            maker, taker, side, price, qty = account, r[14], r[8], r[9], r[10]
            for a in {maker, taker}:
                acct(a)["fills"] += 1
            for a, bought in ((taker, side == "buy"), (maker, side != "buy")):
                t = acct(a)["traded"].setdefault(r[3], [0, Decimal(0), Decimal(0), Decimal(0)])
                t[1 if bought else 2] += qty
                t[3] += price * qty
            for a in {maker, taker}:
                acct(a)["traded"][r[3]][0] += 1
    return out


def test_the_report_counts_one_day_of_each_account_exactly(
    store: AuditStore, flow: storage_workload.Run
) -> None:
    report = daily_report(store, DAY)
    cut = flow.expected[len(flow.expected) * 3 // 5][0]
    first_day = [r for r in flow.expected if r[0] < cut]
    assert report.events == len(first_day)
    want = _reference(first_day)
    assert [a.account for a in report.accounts] == sorted(want)
    for a in report.accounts:
        w = want[a.account]
        assert (a.orders, a.fills, a.cancels, a.rejections) == (
            w["orders"], w["fills"], w["cancels"], w["rejections"]
        )  # fmt: skip
        traded = {v.instrument: [v.fills, v.bought, v.sold, v.notional] for v in a.instruments}
        assert traded == w["traded"]
        assert a.order_to_trade == a.orders / max(a.fills, 1)
        assert all(a.account in (x.account, x.contra_account) for x in a.alerts)
        assert a.alerts or a.account == 0  # the workload's cancels of unknown orders: account 0
    assert report.alerts > 0
    assert sum(len(a.rejections) for a in report.accounts) > 0
    # The other day holds the rest; an account alone; a day and an account without rows.
    assert daily_report(store, DAY + timedelta(days=1)).events == len(flow.expected) - len(
        first_day
    )
    alone = daily_report(store, DAY, account=2)
    assert [a.account for a in alone.accounts] == [2]
    assert alone.accounts[0] == next(a for a in report.accounts if a.account == 2)
    assert daily_report(store, date(2020, 1, 1)).accounts == []
    assert daily_report(store, DAY, account=4_000_000).accounts == []


def test_the_report_reads_as_tables_and_as_json(
    store: AuditStore, store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    report = daily_report(store, DAY)
    text = format_table(report)
    assert text.splitlines()[0] == (
        f"audit report 2026-12-06 (UTC): {report.events} events, {len(report.accounts)} "
        f"accounts, {report.alerts} alerts"
    )
    for part in ("traded", "rejections", "alerts", "wash_trade", "group=desk"):
        assert part in text
    assert main(["audit", "report", "--store", store_url, "--day", "2026-12-06", "--json"]) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed == report_dict(report)
    assert printed["accounts"][1]["instruments"][0]["notional"] == format(
        report.accounts[1].instruments[0].notional, "f"
    )  # accounts[0] is account 0, which only sent cancels
    assert main(["audit", "report", "--store", store_url, "--day", "2026-12-06"]) == 0
    assert capsys.readouterr().out.strip() == text
    assert main(["audit", "report", "--store", store_url, "--day", "2021-01-01"]) == 0
    assert "0 events, 0 accounts, 0 alerts\nno activity" in capsys.readouterr().out


@pytest.mark.parametrize(
    ("argv", "message"),
    [
        (["--day", "2026-13-01"], "'2026-13-01': not a day as YYYY-MM-DD"),
        (["--day", "yesterday"], "not a day as YYYY-MM-DD"),
        (["--day", "2026-12-06", "--account", "-4"], "must not be negative"),
    ],
)
def test_bad_report_arguments_are_usage_errors(
    argv: list[str], message: str, capsys: pytest.CaptureFixture[str]
) -> None:
    with pytest.raises(SystemExit) as exited:
        main(["audit", "report", *argv])
    assert exited.value.code == 2
    assert message in capsys.readouterr().err


def test_a_report_of_a_store_that_does_not_exist_is_an_error_not_a_new_file(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    missing = tmp_path / "typo.db"
    assert main(["audit", "report", "--store", f"sqlite:///{missing}", "--day", "2026-12-06"]) == 2
    assert f"no audit store at {missing}" in capsys.readouterr().err
    assert not missing.exists()
