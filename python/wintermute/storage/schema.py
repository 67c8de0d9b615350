"""The audit trail's one schema: its columns, the row type, and the errors of the storage tier.

Both backends (``sqlite.py``, ``postgres.py``) store the same columns in table
``audit_events``, one row per order lifecycle event and per trade, keyed by the engine's
journal sequence number of the command that caused it (``journal_seq``) and the event's
position among that command's audit events (``n``, from 0). Book level updates are not audit
events and are not stored.

=================  ==========================================================================
column             meaning
=================  ==========================================================================
journal_seq        the command's journal sequence number (the engine's total order)
n                  the event's index among the command's audit events
event_seq          the book's event sequence number (0: refused in validation, no number)
ts_ns              wall-clock nanoseconds since the epoch when the writer read the command
instrument         the instrument's symbol
command            what was asked: ``new``, ``cancel``, ``amend``, ``mass_cancel``
kind               ``accepted``, ``rejected``, ``trade``, ``canceled``, ``amended``
account            the order's account (a trade: the maker's; rejected: the command's)
order_id           the client's order id (a trade: the maker's)
side               ``buy`` / ``sell`` (a trade: the aggressor's side)
price, qty         exact decimals: accepted (limit, size), trade (price, size), canceled
                   (qty canceled), amended (new price, new qty), rejected (as asked)
leaves_qty         quantity left on the book after the event (trade: the maker's)
old_price/old_qty  amended: what the order had before
contra_*           trade: the taker's account, order id and leaves quantity
reason             rejected: ``batch.REJECT_REASONS``; canceled: ``batch.CANCEL_REASONS``
priority_kept      amended: whether the order kept its place in the queue
=================  ==========================================================================

Order ids are unsigned 64-bit in the engine; SQL integers are signed, so ids of 2**63 and up
are stored as their two's-complement ``BIGINT`` (:func:`to_sql_id`) and read back as given.

The compliance monitors' alerts (:class:`Alert`, ``monitors.py``) go to a second table,
``audit_alerts``, written in the same transaction as the rows that raised them; its identity
is ``(journal_seq, rule, account)``, so an alert written twice (a replay, a restart) is
stored once:

===============  ============================================================================
column           meaning
===============  ============================================================================
journal_seq, n   the row that raised it (its command's sequence number, the event's index)
ts_ns            that row's ``ts_ns``
rule             ``order_to_trade``, ``cancel_rate``, ``stp_hits``, ``wash_trade``,
                 ``price_band``
account          the account the alert is about (wash_trade: the maker)
contra_account   wash_trade: the related taker; otherwise empty
instrument       the trade's instrument (wash_trade, price_band); empty for per-account rules
price, qty       wash_trade: the first fill's price and the quantity traded between the two
                 accounts in that command; price_band: the trade farthest out of the band
reference_price  price_band: the reference the band is around
value            the rule's value (a ratio, a count, basis points) at the row
threshold        the threshold it went over
detail           rule-specific context as ``key=value`` text (``group=desk-a fills=2``)
===============  ============================================================================

A writer with compliance monitors also stores the monitors' state (:class:`MonitorState`)
in the same transaction as the rows and alerts, so a restarted writer takes the monitors'
counts from there instead of replaying the whole journal (``writer.py``):
``audit_monitor_state`` (one row) holds ``format`` (the serialization's version,
``monitors.STATE_FORMAT``), ``config`` (the monitors' thresholds and account groups it was
counted under, canonical JSON) and ``journal_seq`` (the sequence it counts every row up to);
``audit_monitor_entries`` (migration 7) the data, keyed by ``(part, key)``: a whole state
(part ``whole``, written when a writer starts without a state it can continue) and, over it,
the entries changed since (:class:`MonitorChanges`: part ``account`` or ``band``, one row
per account or instrument, upserted), so a batch that touches few accounts writes few bytes.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, NamedTuple

from wintermute import errors

__all__ = [
    "ALERT_COLUMNS",
    "ALERT_DECIMAL_COLUMNS",
    "COLUMNS",
    "DECIMAL_COLUMNS",
    "MAX_CONNECTIONS",
    "MAX_ORDER_ID",
    "Alert",
    "AuditRow",
    "MonitorChanges",
    "MonitorState",
    "MonitorStateWrite",
    "StorageError",
    "from_sql_id",
    "state_bytes",
    "to_sql_id",
]

MAX_ORDER_ID = 2**64 - 1
#: The most connections a PostgreSQL audit store writes batches on at once.
MAX_CONNECTIONS = 32


class StorageError(errors.WintermuteError):
    """A storage tier failed (connection, schema) or was asked something it cannot answer
    (``reason``: ``STORAGE``, ``BAD_QUERY``, ``STORE_URL``)."""


class AuditRow(NamedTuple):
    """One audit event, as stored (see the module documentation for each field)."""

    journal_seq: int
    n: int
    event_seq: int
    ts_ns: int
    instrument: str
    command: str
    kind: str
    account: int | None
    order_id: int
    side: str | None
    price: Decimal | None
    qty: Decimal | None
    leaves_qty: Decimal | None
    old_price: Decimal | None
    old_qty: Decimal | None
    contra_account: int | None
    contra_order_id: int | None
    contra_leaves_qty: Decimal | None
    reason: str | None
    priority_kept: bool | None

    def without_time(self) -> tuple[Any, ...]:
        """Every field but ``ts_ns`` (the time: the engine's, from the journal's time marks)."""
        return self[:3] + self[4:]


COLUMNS: tuple[str, ...] = AuditRow._fields
DECIMAL_COLUMNS = frozenset(
    ("price", "qty", "leaves_qty", "old_price", "old_qty", "contra_leaves_qty")
)


@dataclass(frozen=True)
class Alert:
    """A compliance rule an account went over, at the row that took it over (see the module
    documentation for each field, ``monitors.py`` for the rules)."""

    account: int
    rule: str
    value: float
    threshold: float
    journal_seq: int
    n: int = 0
    ts_ns: int = 0
    instrument: str | None = None
    contra_account: int | None = None
    price: Decimal | None = None
    qty: Decimal | None = None
    reference_price: Decimal | None = None
    detail: str = ""

    @property
    def key(self) -> tuple[int, str, int]:
        """The alert's identity in the store: ``(journal_seq, rule, account)``."""
        return (self.journal_seq, self.rule, self.account)

    def __str__(self) -> str:
        parts = [
            f"compliance alert account={self.account} rule={self.rule} "
            f"value={self.value:.4g} threshold={self.threshold:.4g} journal_seq={self.journal_seq}"
        ]
        for name in ("instrument", "contra_account", "price", "qty", "reference_price"):
            value = getattr(self, name)
            if value is not None:
                parts.append(f"{name}={value}")
        if self.detail:
            parts.append(self.detail)
        return " ".join(parts)


ALERT_COLUMNS: tuple[str, ...] = tuple(Alert.__dataclass_fields__)
ALERT_DECIMAL_COLUMNS = frozenset(("price", "qty", "reference_price"))


@dataclass(frozen=True)
class MonitorState:
    """The compliance monitors' state as stored with the writer's progress: ``data`` (the
    serialization ``ComplianceMonitor.state`` makes, of version ``format``) counts every row
    up to ``journal_seq`` under the monitors' configuration ``config``."""

    format: int
    config: str
    journal_seq: int
    data: bytes


@dataclass(frozen=True)
class MonitorChanges:
    """What of the compliance monitors' state changed after journal sequence ``since`` (a
    state the store holds, or an older one), as of ``journal_seq``: ``entries``, each
    ``(part, key, value)`` (``part`` ``"account"`` or ``"band"``, ``key`` the account
    number's text or the instrument, ``value`` the entry's serialization), upserted by the
    store over the state it holds (``ComplianceMonitor.changes``). ``format`` and ``config``
    as in :class:`MonitorState`: the store takes them only over a state of the same."""

    format: int
    config: str
    journal_seq: int
    since: int
    entries: tuple[tuple[str, str, bytes], ...]

    @property
    def size(self) -> int:
        """The bytes of the entries' keys and values."""
        return sum(len(p) + len(k.encode()) + len(v) for p, k, v in self.entries)


#: What a writer stores of the monitors' state: a whole one, or the changes since one.
MonitorStateWrite = MonitorState | MonitorChanges


def state_bytes(state: MonitorStateWrite) -> int:
    """The bytes of the monitors' state a store writes for ``state``: a whole state's data,
    or the changed entries' parts, keys and values."""
    if isinstance(state, MonitorChanges):
        return state.size
    return len(state.data)


def to_sql_id(order_id: int) -> int:
    """An unsigned 64-bit order id as the signed ``BIGINT`` that holds its bits."""
    if not 0 <= order_id <= MAX_ORDER_ID:
        raise StorageError(f"order_id={order_id}: not an unsigned 64-bit id", reason="BAD_QUERY")
    return order_id - 2**64 if order_id >= 2**63 else order_id


def from_sql_id(value: int) -> int:
    """The order id a stored ``BIGINT`` holds."""
    return value + 2**64 if value < 0 else value
