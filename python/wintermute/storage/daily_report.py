"""The daily compliance report: per account, one UTC day of the audit trail.

:func:`daily_report` reads the day's rows (``ts_ns`` in ``[day, day + 1)``, UTC) and alerts
from any store and counts, per account:

- ``orders`` (new orders accepted), ``fills``, ``cancels`` (asked for: ``USER`` and
  ``MASS_CANCEL``) and ``stp_hits``, counted exactly as the compliance monitors count them
  (``monitors.count_row``): a fill is counted once per account that took part in it;
- ``rejections``: rejected commands by reason (``FOK_NOT_FILLABLE``, ``UNKNOWN_ORDER``...);
- per instrument: ``bought`` and ``sold`` quantity, ``volume`` (bought + sold) and
  ``notional`` (the sum of price x quantity over both), exact decimals; an account that
  traded with itself has the fill on both sides;
- ``order_to_trade`` (orders / max(fills, 1)) and ``cancel_rate`` (cancels / orders; None
  without orders), the monitors' ratios over the day alone;
- the day's ``alerts`` on the account (a wash trade is listed under both of its accounts).

::

    report = daily_report(store, date(2026, 12, 6))          # every account
    report = daily_report(store, date(2026, 12, 6), account=7)
    print(format_table(report))                              # or report_dict(report) as JSON

A day without rows, or an account without activity that day, gives a report with no
accounts (not an error). ``wintermute audit report --day`` prints it; the service answers it
at ``GET /api/audit/report``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta, timezone
from decimal import Context, Decimal
from typing import Any

from wintermute.storage.monitors import AccountStats, count_row
from wintermute.storage.queries import MAX_LIMIT, AlertQuery, AuditQuery
from wintermute.storage.schema import Alert, AuditRow
from wintermute.storage.store import AuditStore

__all__ = [
    "AccountReport",
    "DailyReport",
    "InstrumentVolume",
    "alert_dict",
    "daily_report",
    "format_table",
    "report_dict",
]

#: Sums and products without rounding (far more digits than any price x quantity needs).
_EXACT = Context(prec=80)


@dataclass
class InstrumentVolume:
    """What an account traded of one instrument in the day."""

    instrument: str
    fills: int = 0
    bought: Decimal = Decimal(0)
    sold: Decimal = Decimal(0)
    notional: Decimal = Decimal(0)

    @property
    def volume(self) -> Decimal:
        return _EXACT.add(self.bought, self.sold)


@dataclass
class AccountReport:
    """One account's day (see the module documentation)."""

    account: int
    orders: int = 0
    fills: int = 0
    cancels: int = 0
    stp_hits: int = 0
    rejections: dict[str, int] = field(default_factory=dict)
    instruments: list[InstrumentVolume] = field(default_factory=list)
    alerts: list[Alert] = field(default_factory=list)

    @property
    def order_to_trade(self) -> float:
        return self.orders / max(self.fills, 1)

    @property
    def cancel_rate(self) -> float | None:
        return self.cancels / self.orders if self.orders else None


@dataclass
class DailyReport:
    """The report of ``day``: its accounts in account order, and how many rows it read."""

    day: date
    accounts: list[AccountReport]
    events: int
    alerts: int


def _day_range(day: date) -> tuple[datetime, datetime]:
    start = datetime(day.year, day.month, day.day, tzinfo=timezone.utc)
    return start, start + timedelta(days=1)


def _rows(store: AuditStore, day: date, account: int | None) -> Iterator[AuditRow]:
    since, until = _day_range(day)
    after: tuple[int, int] | None = None
    while True:
        page = store.query(AuditQuery(account=account, either_side=True, since=since,
                                      until=until, after=after, limit=MAX_LIMIT))  # fmt: skip
        yield from page
        if len(page) < MAX_LIMIT:
            return
        after = (page[-1].journal_seq, page[-1].n)


def _alerts(store: AuditStore, day: date, account: int | None) -> list[Alert]:
    since, until = _day_range(day)
    out: list[Alert] = []
    while True:
        after = out[-1].key if out else None
        page = store.alerts(AlertQuery(account=account, since=since, until=until, after=after,
                                       limit=MAX_LIMIT))  # fmt: skip
        out.extend(page)
        if len(page) < MAX_LIMIT:
            return out


def daily_report(store: AuditStore, day: date, account: int | None = None) -> DailyReport:
    """The report of the UTC ``day`` for every account, or for ``account`` only."""
    stats: dict[int, AccountStats] = {}
    rejections: dict[int, dict[str, int]] = {}
    volumes: dict[tuple[int, str], InstrumentVolume] = {}
    events = 0
    for row in _rows(store, day, account):
        events += 1
        count_row(row, stats)
        if row.kind == "rejected" and row.account is not None:
            per = rejections.setdefault(row.account, {})
            reason = row.reason or "UNKNOWN"
            per[reason] = per.get(reason, 0) + 1
        elif row.kind == "trade" and row.price is not None and row.qty is not None:
            _add_trade(volumes, row, row.price, row.qty)
    alerts = _alerts(store, day, account)
    accounts = set(stats) | set(rejections) | {a for a, _ in volumes}
    for alert in alerts:
        accounts.update(a for a in (alert.account, alert.contra_account) if a is not None)
    if account is not None:
        accounts &= {account}
    reports = []
    for a in sorted(accounts):
        s = stats.get(a, AccountStats())
        reports.append(AccountReport(
            a, s.orders, s.trades, s.cancels, s.stp_hits,
            dict(sorted(rejections.get(a, {}).items())),
            [v for (owner, _), v in sorted(volumes.items()) if owner == a],
            [x for x in alerts if a in (x.account, x.contra_account)],
        ))  # fmt: skip
    return DailyReport(day, reports, events, len(alerts))


def _add_trade(
    volumes: dict[tuple[int, str], InstrumentVolume], row: AuditRow, price: Decimal, qty: Decimal
) -> None:
    """A trade on each of its sides: the taker's side is ``row.side``, the maker's the other."""
    sides = []
    if row.contra_account is not None:
        sides.append((row.contra_account, row.side))
    if row.account is not None:
        sides.append((row.account, "sell" if row.side == "buy" else "buy"))
    for account in {a for a, _ in sides}:
        volume = volumes.setdefault((account, row.instrument), InstrumentVolume(row.instrument))
        volume.fills += 1
    for account, side in sides:
        volume = volumes[(account, row.instrument)]
        if side == "buy":
            volume.bought = _EXACT.add(volume.bought, qty)
        else:
            volume.sold = _EXACT.add(volume.sold, qty)
        volume.notional = _EXACT.add(volume.notional, _EXACT.multiply(price, qty))


def _text(d: Decimal | None) -> str | None:
    return None if d is None else format(d, "f")


def alert_dict(alert: Alert) -> dict[str, Any]:
    """An alert as JSON-able data (decimals as exact text)."""
    return {
        "journal_seq": alert.journal_seq, "n": alert.n, "ts_ns": alert.ts_ns,
        "rule": alert.rule, "account": alert.account, "contra_account": alert.contra_account,
        "instrument": alert.instrument, "price": _text(alert.price), "qty": _text(alert.qty),
        "reference_price": _text(alert.reference_price), "value": alert.value,
        "threshold": alert.threshold, "detail": alert.detail,
    }  # fmt: skip


def report_dict(report: DailyReport) -> dict[str, Any]:
    """The report as JSON-able data: decimals as exact text, ratios as numbers."""
    return {
        "day": report.day.isoformat(),
        "events": report.events,
        "alerts": report.alerts,
        "accounts": [
            {
                "account": a.account, "orders": a.orders, "fills": a.fills,
                "cancels": a.cancels, "stp_hits": a.stp_hits, "rejections": a.rejections,
                "order_to_trade": a.order_to_trade, "cancel_rate": a.cancel_rate,
                "instruments": [
                    {"instrument": v.instrument, "fills": v.fills, "bought": _text(v.bought),
                     "sold": _text(v.sold), "volume": _text(v.volume),
                     "notional": _text(v.notional)}
                    for v in a.instruments
                ],
                "alerts": [alert_dict(x) for x in a.alerts],
            }
            for a in report.accounts
        ],
    }  # fmt: skip


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(h), *(len(r[i]) for r in rows)) for i, h in enumerate(header)]
    return [
        "  ".join(c.rjust(w) for c, w in zip(line, widths, strict=True)).rstrip()
        for line in (header, *rows)
    ]


def format_table(report: DailyReport) -> str:
    """The report as readable text: one table per part."""
    lines = [
        f"audit report {report.day.isoformat()} (UTC): {report.events} events, "
        f"{len(report.accounts)} accounts, {report.alerts} alerts"
    ]
    if not report.accounts:
        lines.append("no activity")
        return "\n".join(lines)
    lines.append("")
    lines += _table(
        ["account", "orders", "fills", "cancels", "rejected", "stp_hits", "order/trade",
         "cancel_rate", "alerts"],
        [[str(a.account), str(a.orders), str(a.fills), str(a.cancels),
          str(sum(a.rejections.values())), str(a.stp_hits), f"{a.order_to_trade:.2f}",
          "-" if a.cancel_rate is None else f"{a.cancel_rate:.3f}", str(len(a.alerts))]
         for a in report.accounts],
    )  # fmt: skip
    volumes = [[str(a.account), v.instrument, str(v.fills), _text(v.bought) or "",
                _text(v.sold) or "", _text(v.volume) or "", _text(v.notional) or ""]
               for a in report.accounts for v in a.instruments]  # fmt: skip
    if volumes:
        lines += ["", "traded"]
        lines += _table(
            ["account", "instrument", "fills", "bought", "sold", "volume", "notional"], volumes
        )
    rejected = [[str(a.account), reason, str(n)]
                for a in report.accounts for reason, n in a.rejections.items()]  # fmt: skip
    if rejected:
        lines += ["", "rejections"]
        lines += _table(["account", "reason", "count"], rejected)
    seen: dict[tuple[int, str, int], Alert] = {}
    for a in report.accounts:
        for x in a.alerts:
            seen.setdefault(x.key, x)
    if seen:
        lines += ["", "alerts"]
        lines += _table(
            ["journal_seq", "account", "rule", "value", "threshold", "instrument", "contra",
             "price", "qty", "detail"],
            [[str(x.journal_seq), str(x.account), x.rule, f"{x.value:.4g}", f"{x.threshold:.4g}",
              x.instrument or "", "" if x.contra_account is None else str(x.contra_account),
              _text(x.price) or "", _text(x.qty) or "", x.detail]
             for x in sorted(seen.values(), key=lambda x: x.key)],
        )  # fmt: skip
    return "\n".join(lines)
