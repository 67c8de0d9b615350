"""The response bodies of ``/api/audit`` (``audit.py``): audit events, compliance alerts and
the daily report. Prices, quantities, volumes and notionals are exact decimal strings; ratios
and a rule's value and threshold are numbers."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, Field

from wintermute.service.rest.models import text
from wintermute.storage.daily_report import AccountReport, DailyReport, InstrumentVolume
from wintermute.storage.schema import Alert, AuditRow

__all__ = ["AccountReportOut", "AlertOut", "AuditEventOut", "DailyReportOut", "VolumeOut"]

Rule = Literal["order_to_trade", "cancel_rate", "stp_hits", "wash_trade", "price_band"]


class AuditEventOut(BaseModel):
    """One order lifecycle event or trade, as the audit trail stores it
    (``docs/storage.md``). A trade's ``account`` / ``order_id`` / ``leaves_qty`` are the
    maker's and ``contra_*`` the taker's; an account key sees only its own side of a trade
    (the other side's account, order id and remaining quantity are null)."""

    journal_seq: int = Field(description="the command's journal sequence number")
    n: int = Field(description="the event's index among the command's events")
    event_seq: int
    ts_ns: int = Field(description="when the audit writer read the command (ns since epoch)")
    instrument: str
    command: Literal["new", "cancel", "amend", "mass_cancel", "amend_total"]
    kind: Literal["accepted", "rejected", "trade", "canceled", "amended"]
    account: int | None
    order_id: int | None
    side: Literal["buy", "sell"] | None
    price: str | None
    qty: str | None
    leaves_qty: str | None
    old_price: str | None
    old_qty: str | None
    contra_account: int | None
    contra_order_id: int | None
    contra_leaves_qty: str | None
    reason: str | None
    priority_kept: bool | None

    @classmethod
    def of(cls, r: AuditRow, viewer: int | None) -> AuditEventOut:
        """The row as ``viewer`` may see it (None: everything, for an admin)."""
        maker_hidden = viewer is not None and r.kind == "trade" and r.account != viewer
        taker_hidden = viewer is not None and r.kind == "trade" and r.contra_account != viewer
        return cls(
            journal_seq=r.journal_seq, n=r.n, event_seq=r.event_seq, ts_ns=r.ts_ns,
            instrument=r.instrument, command=r.command, kind=r.kind,  # type: ignore[arg-type]
            account=None if maker_hidden else r.account,
            order_id=None if maker_hidden else r.order_id, side=r.side,  # type: ignore[arg-type]
            price=text(r.price), qty=text(r.qty),
            leaves_qty=None if maker_hidden else text(r.leaves_qty),
            old_price=text(r.old_price), old_qty=text(r.old_qty),
            contra_account=None if taker_hidden else r.contra_account,
            contra_order_id=None if taker_hidden else r.contra_order_id,
            contra_leaves_qty=None if taker_hidden else text(r.contra_leaves_qty),
            reason=r.reason, priority_kept=r.priority_kept,
        )  # fmt: skip


class AlertOut(BaseModel):
    """A compliance alert (``docs/storage.md``, Compliance monitors)."""

    journal_seq: int
    n: int
    ts_ns: int
    rule: Rule
    account: int
    contra_account: int | None = Field(description="wash_trade: the related taker")
    instrument: str | None
    price: str | None
    qty: str | None
    reference_price: str | None = Field(description="price_band: the band's reference")
    value: float
    threshold: float
    detail: str

    @classmethod
    def of(cls, a: Alert) -> AlertOut:
        return cls(
            journal_seq=a.journal_seq, n=a.n, ts_ns=a.ts_ns, rule=a.rule,  # type: ignore[arg-type]
            account=a.account, contra_account=a.contra_account, instrument=a.instrument,
            price=text(a.price), qty=text(a.qty), reference_price=text(a.reference_price),
            value=a.value, threshold=a.threshold, detail=a.detail,
        )  # fmt: skip


class VolumeOut(BaseModel):
    """What an account traded of one instrument in the day (each side of a fill counts)."""

    instrument: str
    fills: int
    bought: str
    sold: str
    volume: str
    notional: str

    @classmethod
    def of(cls, v: InstrumentVolume) -> VolumeOut:
        return cls(
            instrument=v.instrument, fills=v.fills, bought=format(v.bought, "f"),
            sold=format(v.sold, "f"), volume=format(v.volume, "f"),
            notional=format(v.notional, "f"),
        )  # fmt: skip


class AccountReportOut(BaseModel):
    """One account's day."""

    account: int
    orders: int
    fills: int
    cancels: int
    stp_hits: int
    rejections: dict[str, int] = Field(description="rejected commands by reason")
    order_to_trade: float = Field(description="orders / max(fills, 1)")
    cancel_rate: float | None = Field(description="cancels / orders; null without orders")
    instruments: list[VolumeOut]
    alerts: list[AlertOut]

    @classmethod
    def of(cls, a: AccountReport) -> AccountReportOut:
        return cls(
            account=a.account, orders=a.orders, fills=a.fills, cancels=a.cancels,
            stp_hits=a.stp_hits, rejections=a.rejections, order_to_trade=a.order_to_trade,
            cancel_rate=a.cancel_rate, instruments=[VolumeOut.of(v) for v in a.instruments],
            alerts=[AlertOut.of(x) for x in a.alerts],
        )  # fmt: skip


class DailyReportOut(BaseModel):
    """The daily report of one UTC day: per account, in account order."""

    day: str
    events: int = Field(description="audit rows read for the report")
    alerts: int
    accounts: list[AccountReportOut]

    @classmethod
    def of(cls, r: DailyReport) -> DailyReportOut:
        return cls(
            day=r.day.isoformat(),
            events=r.events,
            alerts=r.alerts,
            accounts=[AccountReportOut.of(a) for a in r.accounts],
        )
