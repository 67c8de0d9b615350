"""Compliance monitors on the audit stream: self-trade-prevention hits, order-to-trade ratio
and cancel rate per account, with thresholds, and alerts in the logs and metrics.

The monitor reads the same rows the audit trail stores (``AuditWriter(..., monitor=m)`` feeds
it each batch as it is read), so it sees the engine's events, in order, once::

    >>> from wintermute.storage.monitors import ComplianceMonitor, Thresholds
    >>> m = ComplianceMonitor(Thresholds(max_order_to_trade=5.0, min_orders=3))
    >>> m.stats(7)
    AccountStats(orders=0, trades=0, cancels=0, stp_hits=0)

Counted per account: ``orders`` (new orders accepted), ``trades`` (fills, on both the maker's
and the taker's side), ``cancels`` (cancels the account asked for: ``USER`` and
``MASS_CANCEL``) and ``stp_hits`` (orders canceled or refused by self-trade prevention:
``SELF_TRADE`` cancels, ``FOK_SELF_TRADE`` rejections). The rules, each checked once an account
has ``min_orders`` orders (STP from the first hit):

==================  ==================================================  ===================
rule                value                                               threshold
==================  ==================================================  ===================
order_to_trade      orders / max(trades, 1)                             max_order_to_trade
cancel_rate         cancels / orders                                    max_cancel_rate
stp_hits            stp_hits                                            max_stp_hits
==================  ==================================================  ===================

A rule that goes over its threshold raises one :class:`Alert` (logged as a warning on
``wintermute.storage.monitors``, counted in ``wintermute_compliance_alerts_total{rule}``); it
alerts again only after its value came back under the threshold. High order-to-trade ratios
and cancel rates are the usual first signs of layering and spoofing; they are heuristics
for a human to look at, not verdicts.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field

from prometheus_client import Counter

from wintermute.storage.schema import AuditRow

__all__ = ["AccountStats", "Alert", "ComplianceMonitor", "Thresholds"]

log = logging.getLogger("wintermute.storage.monitors")

ALERTS = Counter("wintermute_compliance_alerts", "Compliance alerts raised", ["rule"])


@dataclass(frozen=True)
class Thresholds:
    """Where each rule alerts (see the module documentation)."""

    max_order_to_trade: float = 20.0
    max_cancel_rate: float = 0.95
    max_stp_hits: int = 10
    min_orders: int = 100

    def __post_init__(self) -> None:
        if self.max_order_to_trade <= 0 or not 0 < self.max_cancel_rate <= 1:
            raise ValueError(
                f"thresholds: max_order_to_trade={self.max_order_to_trade} must be > 0 and "
                f"max_cancel_rate={self.max_cancel_rate} in (0, 1]"
            )
        if self.max_stp_hits < 0 or self.min_orders < 1:
            raise ValueError(
                f"thresholds: max_stp_hits={self.max_stp_hits} must be >= 0 and "
                f"min_orders={self.min_orders} >= 1"
            )


@dataclass
class AccountStats:
    """An account's counts so far."""

    orders: int = 0
    trades: int = 0
    cancels: int = 0
    stp_hits: int = 0


@dataclass(frozen=True)
class Alert:
    """A rule an account went over, at the row that took it over."""

    account: int
    rule: str
    value: float
    threshold: float
    journal_seq: int

    def __str__(self) -> str:
        return (
            f"compliance alert account={self.account} rule={self.rule} "
            f"value={self.value:.4g} threshold={self.threshold:.4g} journal_seq={self.journal_seq}"
        )


@dataclass
class ComplianceMonitor:
    """Counts the rows it is given per account and raises alerts (see the module docs)."""

    thresholds: Thresholds = field(default_factory=Thresholds)
    _accounts: dict[int, AccountStats] = field(default_factory=dict)
    _over: set[tuple[int, str]] = field(default_factory=set)
    #: Every alert raised so far, in order.
    alerts: list[Alert] = field(default_factory=list)

    def stats(self, account: int) -> AccountStats:
        """The counts of ``account`` (zeros for one never seen)."""
        return self._accounts.get(account, AccountStats())

    def observe(self, rows: Iterable[AuditRow], quiet_through: int = 0) -> list[Alert]:
        """Counts ``rows`` and returns the alerts they raised. Rows at or before journal
        sequence ``quiet_through`` are counted without alerting (a restarted writer replays
        history that was alerted on before)."""
        raised: list[Alert] = []
        for row in rows:
            for account in self._count(row):
                alerts = self._check(account, row.journal_seq)
                if row.journal_seq > quiet_through:
                    raised.extend(alerts)
        for alert in raised:
            log.warning("%s", alert)
            ALERTS.labels(alert.rule).inc()
        self.alerts.extend(raised)
        return raised

    def _count(self, row: AuditRow) -> list[int]:
        """Counts one row; returns the accounts whose counts changed."""
        touched: list[int] = []

        def stats(account: int | None) -> AccountStats | None:
            if account is None:
                return None
            touched.append(account)
            return self._accounts.setdefault(account, AccountStats())

        if row.kind == "accepted" and row.command == "new":
            s = stats(row.account)
            if s:
                s.orders += 1
        elif row.kind == "trade":
            for account in {row.account, row.contra_account}:
                s = stats(account)
                if s:
                    s.trades += 1
        elif row.kind == "canceled" and row.reason in ("USER", "MASS_CANCEL"):
            s = stats(row.account)
            if s:
                s.cancels += 1
        elif (row.kind, row.reason) in (("canceled", "SELF_TRADE"), ("rejected", "FOK_SELF_TRADE")):
            s = stats(row.account)
            if s:
                s.stp_hits += 1
        return touched

    def _check(self, account: int, journal_seq: int) -> list[Alert]:
        s, t = self._accounts[account], self.thresholds
        values: list[tuple[str, float, float]] = [("stp_hits", s.stp_hits, t.max_stp_hits)]
        if s.orders >= t.min_orders:
            values.append(("order_to_trade", s.orders / max(s.trades, 1), t.max_order_to_trade))
            values.append(("cancel_rate", s.cancels / s.orders, t.max_cancel_rate))
        out: list[Alert] = []
        for rule, value, threshold in values:
            key = (account, rule)
            if value > threshold and key not in self._over:
                self._over.add(key)
                out.append(Alert(account, rule, value, threshold, journal_seq))
            elif value <= threshold:
                self._over.discard(key)
        return out
