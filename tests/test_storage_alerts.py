"""Compliance alerts in the store (``audit_alerts``), on SQLite and on a real PostgreSQL:
written in the rows' transaction, once per (journal_seq, rule, account) whatever is replayed,
queryable by account, rule, instrument, time and sequence; the schema migrates an old store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

import storage_workload
from storage_servers import postgres_admin_url, postgres_url, store_url
from wintermute.storage import AuditRow, AuditStore, AuditWriter, StorageError, open_store, rebuild
from wintermute.storage import postgres as pg_backend
from wintermute.storage import sqlite as sqlite_backend
from wintermute.storage.monitors import Alert, ComplianceMonitor, Thresholds
from wintermute.storage.queries import AlertQuery, to_ns

__all__ = ["postgres_admin_url", "postgres_url", "store_url"]  # fixtures, used by name

GROUPS = {"desk-a": [1, 2, 3], "desk-b": [5, 6]}
THRESHOLDS = Thresholds(max_order_to_trade=1.2, max_cancel_rate=0.06, max_stp_hits=3,
                        min_orders=20, price_band_bps=3)  # fmt: skip
T0 = datetime(2026, 12, 6, 9, 0, tzinfo=timezone.utc)


@pytest.fixture
def store(store_url: str) -> Iterator[AuditStore]:
    s = open_store(store_url)
    yield s
    s.close()


def _all_alerts(store: AuditStore) -> list[Alert]:
    out: list[Alert] = []
    while page := store.alerts(AlertQuery(after=out[-1].key if out else None, limit=7)):
        out.extend(page)
    return out


def _timeless(alerts: list[Alert]) -> list[tuple[Any, ...]]:
    return [(a.journal_seq, a.n, a.rule, a.account, a.contra_account, a.instrument, a.price,
             a.qty, a.reference_price, a.value, a.threshold, a.detail) for a in alerts]  # fmt: skip


def _expected_wash_trades(expected: list[tuple[Any, ...]]) -> list[tuple[Any, ...]]:
    """The wash-trade alerts the rules of docs/storage.md give for the engine's own trades
    (``storage_workload``'s reference rows): one per command and related maker."""
    group_of = {a: g for g, members in GROUPS.items() for a in members}
    found: dict[tuple[int, int], list[Any]] = {}
    for r in expected:
        seq, kind, maker, price, qty, taker = r[0], r[5], r[6], r[9], r[10], r[14]
        if kind != "trade" or maker == taker or group_of.get(maker, "x") != group_of.get(taker):
            continue
        if (seq, maker) in found:
            found[(seq, maker)][1] += qty
            found[(seq, maker)][2] += 1
        else:
            found[(seq, maker)] = [price, qty, 1, taker]
    return [(seq, maker, taker, price, qty, fills)
            for (seq, maker), (price, qty, fills, taker) in sorted(found.items())]  # fmt: skip


def test_the_writer_stores_the_alerts_it_raised_with_their_rows(
    store: AuditStore, tmp_path: Path
) -> None:
    run = storage_workload.run(tmp_path, orders=3_000, seed=23)
    monitor = ComplianceMonitor(THRESHOLDS, account_groups=GROUPS)
    AuditWriter(store, run.config.instruments, run.journal, monitor=monitor, batch_rows=400).step()
    stored = _all_alerts(store)
    assert stored == sorted(monitor.alerts, key=lambda a: a.key)  # every field, exactly
    assert {a.rule for a in stored} == {"order_to_trade", "cancel_rate", "stp_hits",
                                        "wash_trade", "price_band"}  # fmt: skip
    washes = [(a.journal_seq, a.account, a.contra_account, a.price, a.qty, a.value)
              for a in stored if a.rule == "wash_trade"]  # fmt: skip
    assert washes == _expected_wash_trades(run.expected)
    assert len(washes) > 10
    assert len({a.key for a in stored}) == len(stored)


def test_a_restart_or_a_replay_never_duplicates_an_alert(store_url: str, tmp_path: Path) -> None:
    run = storage_workload.run(tmp_path, orders=2_000, seed=29)
    first = open_store(store_url)
    writer = AuditWriter(first, run.config.instruments, run.journal, batch_rows=300,
                         monitor=ComplianceMonitor(THRESHOLDS, account_groups=GROUPS))  # fmt: skip
    storage_workload.fail_on_write(first, at=4)
    with pytest.raises(ConnectionError):
        writer.step()
    stored_seq = first.last_seq()
    assert 0 < stored_seq < run.last_seq
    partial = _all_alerts(first)
    assert partial
    assert all(a.journal_seq <= stored_seq for a in partial)
    first.close()
    second = open_store(store_url)
    resumed = ComplianceMonitor(THRESHOLDS, account_groups=GROUPS)
    AuditWriter(second, run.config.instruments, run.journal, monitor=resumed).step()
    assert all(a.journal_seq > stored_seq for a in resumed.alerts)  # none raised twice
    whole = ComplianceMonitor(THRESHOLDS, account_groups=GROUPS)
    scratch = open_store(":memory:")
    AuditWriter(scratch, run.config.instruments, run.journal, monitor=whole).step()
    scratch.close()
    in_order = sorted(whole.alerts, key=lambda a: a.key)
    assert _timeless(_all_alerts(second)) == _timeless(in_order)
    # Writing a batch again (a writer that crashed after its commit) stores nothing new, and
    # two alerts with one identity in one batch are stored once.
    again = in_order[:3]
    assert second.write([], second.last_seq(), again) == 0
    assert len(_all_alerts(second)) == len(whole.alerts)
    # A rebuild with a fresh monitor gives the same alerts again, once.
    rebuild(second, run.config.instruments, run.journal,
            monitor=ComplianceMonitor(THRESHOLDS, account_groups=GROUPS))  # fmt: skip
    assert _timeless(_all_alerts(second)) == _timeless(in_order)
    second.close()


def _row(seq: int, account: int, ts: datetime) -> AuditRow:
    return AuditRow(seq, 0, seq, to_ns(ts, "ts"), "BTC-USD", "new", "accepted", account, seq,
                    "buy", Decimal("64000.25"), Decimal("0.5"), None, None, None, None, None,
                    None, None, None)  # fmt: skip


def _alert(seq: int, rule: str, account: int, ts: datetime, **kw: Any) -> Alert:
    return Alert(account, rule, 1.5, 1.0, seq, 0, to_ns(ts, "ts"), **kw)


def test_an_alert_and_its_rows_are_stored_together_or_not_at_all(store: AuditStore) -> None:
    rows = [_row(s, 1, T0) for s in (1, 2, 3)]
    same = _alert(2, "stp_hits", 1, T0)
    assert store.write(rows, 3, [same, same]) == 3  # one identity twice in a batch: once
    assert store.alerts(AlertQuery()) == [same]
    broken = Alert(None, "stp_hits", 1.0, 0.0, 5)  # type: ignore[arg-type]
    with pytest.raises(StorageError, match="account"):
        store.write([_row(4, 1, T0), _row(5, 1, T0)], 5, [broken])
    assert store.last_seq() == 3
    assert store.count() == 3
    assert store.alerts(AlertQuery()) == [same]


def test_alerts_are_asked_by_account_rule_instrument_time_and_sequence(store: AuditStore) -> None:
    hour = timedelta(hours=1)
    alerts = [
        _alert(1, "order_to_trade", 1, T0),
        _alert(2, "price_band", 2, T0 + hour, instrument="BTC-USD", price=Decimal("66000"),
               qty=Decimal("0.5"), reference_price=Decimal("64000.25"), detail="band_bps=300"),
        _alert(2, "wash_trade", 1, T0 + hour, contra_account=2, instrument="BTC-USD",
               price=Decimal("64000.25"), qty=Decimal("0.500"), detail="group=desk-a fills=1"),
        _alert(3, "cancel_rate", 3, T0 + 2 * hour),
        _alert(4, "stp_hits", 2, T0 + 26 * hour),
    ]  # fmt: skip
    store.write([_row(s, 1, T0) for s in range(1, 5)], 4, alerts)
    assert store.alerts(AlertQuery()) == alerts

    def keys(q: AlertQuery) -> list[tuple[int, str, int]]:
        return [a.key for a in store.alerts(q)]

    assert keys(AlertQuery(account=2)) == [(2, "price_band", 2), (2, "wash_trade", 1),
                                           (4, "stp_hits", 2)]  # fmt: skip
    assert keys(AlertQuery(rule="wash_trade")) == [(2, "wash_trade", 1)]
    assert keys(AlertQuery(instrument="BTC-USD", account=1)) == [(2, "wash_trade", 1)]
    assert keys(AlertQuery(since=T0 + hour, until=T0 + 2 * hour)) == [
        (2, "price_band", 2), (2, "wash_trade", 1)
    ]  # fmt: skip
    assert keys(AlertQuery(from_seq=3, to_seq=4)) == [(3, "cancel_rate", 3), (4, "stp_hits", 2)]
    assert keys(AlertQuery(after=(2, "price_band", 2), limit=2)) == [
        (2, "wash_trade", 1), (3, "cancel_rate", 3)
    ]  # fmt: skip
    assert keys(AlertQuery(account=4_000_000)) == []
    assert keys(AlertQuery(rule="x'; DROP TABLE audit_alerts; --")) == []
    assert len(store.alerts(AlertQuery())) == 5  # still there
    # Retention drops the alerts of the days before, with their rows.
    store.drop_before(date(2026, 12, 7))
    assert keys(AlertQuery()) == [(4, "stp_hits", 2)]
    store.reset()
    assert keys(AlertQuery()) == []


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"from_seq": 9, "to_seq": 3}, "inverted sequence range: from_seq=9 > to_seq=3"),
        ({"since": T0, "until": T0 - timedelta(seconds=1)}, "inverted time range"),
        ({"limit": 10**9}, "limit=1000000000: must be 1..100000"),
        ({"account": -1}, "account=-1: not an account number"),
        ({"rule": ""}, "rule='': not a rule name"),
        ({"from_seq": -1}, "from_seq=-1: not a journal sequence number"),
        ({"after": (1, 2, 3)}, "after=\\(1, 2, 3\\): not the"),
    ],
)
def test_bad_alert_queries_are_refused_before_any_database(
    kwargs: dict[str, Any], message: str
) -> None:
    with pytest.raises(StorageError, match=message):
        AlertQuery(**kwargs)


def test_a_store_of_the_first_schema_is_migrated(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    backend = sqlite_backend if store_url.startswith("sqlite") else pg_backend
    with monkeypatch.context() as m:
        m.setattr(backend, "MIGRATIONS", backend.MIGRATIONS[:1])
        old = open_store(store_url)
        old.write([_row(1, 7, T0)], 1)
        old.close()
    store = open_store(store_url)  # applies migration 2: the alerts and the taker indexes
    assert store.last_seq() == 1
    assert store.count() == 1
    alert = _alert(2, "stp_hits", 7, T0)
    store.write([_row(2, 7, T0)], 2, [alert])
    assert store.alerts(AlertQuery(account=7)) == [alert]
    store.close()
    reopened = open_store(store_url)  # nothing applied twice
    assert reopened.alerts(AlertQuery()) == [alert]
    reopened.close()
