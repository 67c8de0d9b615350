"""Compliance monitors on the audit stream: self-trade-prevention hits, order-to-trade ratio
and cancel rate per account, wash trades across related accounts and trades outside the price
band, with thresholds, and alerts in the logs, the metrics and the store.

The monitor reads the same rows the audit trail stores (``AuditWriter(..., monitor=m)`` feeds
it each batch as it is read), so it sees the engine's events, in order, once::

    >>> from wintermute.storage.monitors import ComplianceMonitor, Thresholds
    >>> m = ComplianceMonitor(Thresholds(max_order_to_trade=5.0, min_orders=3),
    ...                       account_groups={"desk-a": [1, 2]})
    >>> m.stats(7)
    AccountStats(orders=0, trades=0, cancels=0, stp_hits=0)

Counted per account: ``orders`` (new orders accepted), ``trades`` (fills, on both the maker's
and the taker's side), ``cancels`` (cancels the account asked for: ``USER`` and
``MASS_CANCEL``) and ``stp_hits`` (orders canceled or refused by self-trade prevention:
``SELF_TRADE`` cancels, ``FOK_SELF_TRADE`` rejections). The rules:

==============  ==========================================  ===========================
rule            value                                       threshold
==============  ==========================================  ===========================
order_to_trade  orders / max(trades, 1)                     max_order_to_trade
cancel_rate     cancels / orders                            max_cancel_rate
stp_hits        stp_hits                                    max_stp_hits
wash_trade      fills between two related accounts          0 (any fill)
price_band      |price - reference| / reference, in bps     price_band_bps
==============  ==========================================  ===========================

The ratio rules apply once an account has ``min_orders`` orders, STP from the first hit; each
of them alerts when its value goes over the threshold, and again only after it came back
under. High order-to-trade ratios and cancel rates are the usual first signs of layering and
spoofing: heuristics for a human to look at, not verdicts.

**Wash trades**: ``account_groups`` maps a group name to the accounts one owner controls
(``{"desk-a": [1, 2]}``). A trade whose maker and taker are *different* accounts of one group
alerts, on the maker's account, naming the taker (``contra_account``), the instrument, the
price and the quantity. One command that fills against several orders of the same related
account raises one alert for the pair: the first fill's price, the summed quantity, ``value``
the number of fills. (An account trading with itself is self-trade prevention's business.)

**Price band**: a trade more than ``price_band_bps`` basis points away from its instrument's
*reference* alerts, on the taker's account (the aggressor moved the price). The reference is
the price of the instrument's last trade *before the command*: every fill of one sweep is
measured from where the market was when it started, so a sweep that walks the book far
alerts once (the farthest fill) even when each step is small. The first command that trades
an instrument has no reference and is not checked. The band follows the market: an
out-of-band trade becomes the next reference, so a lone spike alerts on the way out and again
on the way back. The comparison is exact (decimals, no float).

An alert is logged as a warning on ``wintermute.storage.monitors``, counted in
``wintermute_compliance_alerts_total{rule}``, kept in ``monitor.alerts`` and, through the
writer, stored in ``audit_alerts`` (``schema.py``). At most one alert per
``(journal_seq, rule, account)``.

**State**: :meth:`ComplianceMonitor.state` serializes what the rules carry from one command
to the next (per account: the four counts and the ratio rules it is over; per instrument: the
price band's last trade), with the configuration it was counted under (:meth:`config`);
:meth:`ComplianceMonitor.restore` puts it back into a fresh monitor of the same configuration,
which then alerts exactly as the one it came from would. The writer stores it with its
progress (``writer.py``): whole once, then per batch only :meth:`ComplianceMonitor.changes`,
the entries (per account, per instrument) changed since a stored state, which a store
upserts and :func:`merge_state` puts back over the whole state, byte for byte (and which
it folds into a whole state again from time to time: ``monitor_checkpoints.py``). The
serializations, binary and compact, are ``monitor_codec.py``'s; a state of format 1 (JSON,
written by earlier versions) is still read. A state of another format (``STATE_FORMAT``,
``READ_FORMATS``) or configuration is refused (``StorageError``, reason
``MONITOR_STATE``), never mixed in::

    >>> same = ComplianceMonitor(Thresholds(max_order_to_trade=5.0, min_orders=3),
    ...                          account_groups={"desk-a": [2, 1]})
    >>> same.restore(m.state(journal_seq=0))
    >>> try:
    ...     ComplianceMonitor().restore(m.state(journal_seq=0))
    ... except StorageError as e:
    ...     print(e.reason, e)
    MONITOR_STATE monitor state at journal_seq=0 was counted under another configuration:
    thresholds.max_order_to_trade 5.0 (stored) vs 20.0 (now), thresholds.min_orders 3 (stored)
    vs 100 (now), account_groups {'desk-a': [1, 2]} (stored) vs {} (now)"""

from __future__ import annotations

import json
import logging
import zlib
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal, InvalidOperation
from typing import Any

from prometheus_client import Counter

from wintermute.storage import monitor_codec as codec
from wintermute.storage.monitor_codec import RULES
from wintermute.storage.schema import Alert, AuditRow, MonitorChanges, MonitorState, StorageError

__all__ = [
    "READ_FORMATS",
    "RULES",
    "STATE_FORMAT",
    "AccountStats",
    "Alert",
    "ComplianceMonitor",
    "Thresholds",
    "check_changes",
    "count_row",
    "merge_state",
    "stored_state",
]

log = logging.getLogger("wintermute.storage.monitors")

ALERTS = Counter("wintermute_compliance_alerts", "Compliance alerts raised", ["rule"])
#: The version of :meth:`ComplianceMonitor.state`'s serialization (stored with it).
STATE_FORMAT = 2
#: The formats :meth:`ComplianceMonitor.restore` and the stores read (``monitor_codec.py``).
READ_FORMATS = (1, 2)
_MAX_ACCOUNT = codec.MAX_ACCOUNT


@dataclass(frozen=True)
class Thresholds:
    """Where each rule alerts (see the module documentation); ``price_band_bps`` None turns
    the price-band rule off."""

    max_order_to_trade: float = 20.0
    max_cancel_rate: float = 0.95
    max_stp_hits: int = 10
    min_orders: int = 100
    price_band_bps: float | None = 500.0

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
        band = self.price_band_bps
        if band is not None and not 0 < band <= 1_000_000:
            raise ValueError(f"thresholds: price_band_bps={band} must be in (0, 1000000]")


@dataclass
class AccountStats:
    """An account's counts so far."""

    orders: int = 0
    trades: int = 0
    cancels: int = 0
    stp_hits: int = 0


def count_row(row: AuditRow, accounts: dict[int, AccountStats]) -> list[int]:
    """Counts one row into ``accounts`` (see the module documentation for what counts);
    returns the accounts whose counts changed. The daily report counts with it too."""
    touched: list[int] = []

    def stats(account: int | None) -> AccountStats | None:
        if account is None:
            return None
        touched.append(account)
        return accounts.setdefault(account, AccountStats())

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


@dataclass
class _Band:
    """An instrument's price-band state: the reference of the command being checked, the
    last trade's price and the command it came from."""

    reference: Decimal | None
    last_price: Decimal
    last_seq: int


@dataclass
class ComplianceMonitor:
    """Counts the rows it is given per account and raises alerts (see the module docs).
    ``account_groups``: group name -> the related accounts, for the wash-trade rule."""

    thresholds: Thresholds = field(default_factory=Thresholds)
    account_groups: Mapping[str, Iterable[int]] = field(default_factory=dict)
    _accounts: dict[int, AccountStats] = field(default_factory=dict)
    _over: set[tuple[int, str]] = field(default_factory=set)
    _groups: dict[int, frozenset[str]] = field(default_factory=dict)
    _bands: dict[str, _Band] = field(default_factory=dict)
    # The journal sequence of each account's and instrument's last change (for changes()).
    _changed_accounts: dict[int, int] = field(default_factory=dict)
    _changed_bands: dict[str, int] = field(default_factory=dict)
    #: Every alert raised so far, in order.
    alerts: list[Alert] = field(default_factory=list)

    def __post_init__(self) -> None:
        groups: dict[int, set[str]] = {}
        for name, members in self.account_groups.items():
            if not isinstance(name, str) or not name:
                raise ValueError(f"account_groups: group name={name!r} must be a string")
            if isinstance(members, (str, bytes)) or not isinstance(members, Iterable):
                raise ValueError(f"account_groups: group={name} must list account numbers")
            for account in members:
                if (
                    isinstance(account, bool)
                    or not isinstance(account, int)
                    or not 0 <= account <= _MAX_ACCOUNT
                ):
                    raise ValueError(
                        f"account_groups: group={name} account={account!r} is not an account "
                        f"number (0..{_MAX_ACCOUNT})"
                    )
                groups.setdefault(account, set()).add(name)
        self._groups = {a: frozenset(g) for a, g in groups.items()}
        self.account_groups = {
            name: tuple(a for a in sorted(groups) if name in groups[a])
            for name in self.account_groups
        }

    def stats(self, account: int) -> AccountStats:
        """The counts of ``account`` (zeros for one never seen)."""
        return self._accounts.get(account, AccountStats())

    def config(self) -> str:
        """The thresholds and account groups, as canonical JSON: what a stored state must
        have been counted under to be restored."""
        t = self.thresholds
        band = t.price_band_bps
        thresholds = {
            "max_order_to_trade": float(t.max_order_to_trade),
            "max_cancel_rate": float(t.max_cancel_rate),
            "max_stp_hits": int(t.max_stp_hits),
            "min_orders": int(t.min_orders),
            "price_band_bps": None if band is None else float(band),
        }
        groups = {name: list(members) for name, members in self.account_groups.items()}
        doc = {"account_groups": groups, "thresholds": thresholds}
        return json.dumps(doc, sort_keys=True, separators=(",", ":"))

    def state(self, journal_seq: int) -> MonitorState:
        """What the rules carry over (see the module documentation), serialized, as counted
        through journal sequence ``journal_seq`` (the caller says where that is)."""
        data = _encode(STATE_FORMAT, self._accounts, self._over, self._bands)
        return MonitorState(STATE_FORMAT, self.config(), journal_seq, data)

    def changes(self, journal_seq: int, since: int) -> MonitorChanges:
        """The entries of :meth:`state` that changed after journal sequence ``since`` (every
        account and instrument a row after it touched), as of ``journal_seq``: upserted over
        a stored state at ``since`` or later (see :func:`merge_state`), they give
        :meth:`state`. Cumulative until :meth:`forget_through` says a later state is
        stored."""
        entries: list[tuple[str, str, bytes]] = []
        over: dict[int, list[str]] = {}
        for account, rule in self._over:
            over.setdefault(account, []).append(rule)
        for account in sorted(a for a, seq in self._changed_accounts.items() if seq > since):
            s = self._accounts.get(account)
            counts = None if s is None else (s.orders, s.trades, s.cancels, s.stp_hits)
            value = codec.encode_account_entry(STATE_FORMAT, counts, over.get(account, ()))
            entries.append(("account", str(account), value))
        for i in sorted(i for i, seq in self._changed_bands.items() if seq > since):
            b = self._bands[i]
            band = codec.encode_band_entry(STATE_FORMAT, (b.last_price, b.last_seq, b.reference))
            entries.append(("band", i, band))
        return MonitorChanges(STATE_FORMAT, self.config(), journal_seq, since, tuple(entries))

    def forget_through(self, journal_seq: int) -> None:
        """A state as of ``journal_seq`` is stored: :meth:`changes` need no longer list what
        changed at or before it."""
        self._changed_accounts = {
            a: seq for a, seq in self._changed_accounts.items() if seq > journal_seq
        }
        self._changed_bands = {
            i: seq for i, seq in self._changed_bands.items() if seq > journal_seq
        }

    def restore(self, state: MonitorState) -> None:
        """Takes the counts of ``state`` (from :meth:`state`) instead of its own; raises
        ``StorageError`` (``MONITOR_STATE``), changing nothing, for a state of another format
        or configuration, or one that does not decode."""
        where = f"monitor state at journal_seq={state.journal_seq}"
        _check_format(where, state.format)
        mine = self.config()
        if state.config != mine:
            raise StorageError(
                f"{where} was counted under another configuration: "
                f"{_config_difference(state.config, mine)}",
                reason="MONITOR_STATE",
            )
        try:
            accounts, over, bands = _decode(state.format, state.data)
        except (ValueError, TypeError, KeyError, zlib.error, InvalidOperation) as e:
            raise StorageError(f"{where} does not decode: {e}", reason="MONITOR_STATE") from e
        self._accounts, self._over, self._bands = accounts, over, bands
        self._changed_accounts, self._changed_bands = {}, {}

    def observe(self, rows: Iterable[AuditRow], quiet_through: int = 0) -> list[Alert]:
        """Counts ``rows`` and returns the alerts they raised. Rows at or before journal
        sequence ``quiet_through`` are counted without alerting (a restarted writer replays
        history that was alerted on before)."""
        raised: dict[tuple[int, str, int], Alert] = {}
        for row in rows:
            alerts: list[Alert] = []
            for account in count_row(row, self._accounts):
                self._changed_accounts[account] = row.journal_seq
                alerts.extend(self._check(account, row))
            if row.kind == "trade":
                alerts.extend(self._trade(row))
                if row.price is not None:
                    self._changed_bands[row.instrument] = row.journal_seq
            if row.journal_seq <= quiet_through:
                continue
            for alert in alerts:
                earlier = raised.get(alert.key)
                raised[alert.key] = alert if earlier is None else _merge(earlier, alert)
        out = list(raised.values())
        for alert in out:
            log.warning("%s", alert)
            ALERTS.labels(alert.rule).inc()
        self.alerts.extend(out)
        return out

    def _check(self, account: int, row: AuditRow) -> list[Alert]:
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
                out.append(Alert(account, rule, float(value), float(threshold),
                                 row.journal_seq, row.n, row.ts_ns))  # fmt: skip
            elif value <= threshold:
                self._over.discard(key)
        return out

    def _trade(self, row: AuditRow) -> list[Alert]:
        """The trade rules (wash trade, price band) on one trade row."""
        out: list[Alert] = []
        maker, taker, price = row.account, row.contra_account, row.price
        if maker is not None and taker is not None and maker != taker:
            shared = self._groups.get(maker, frozenset()) & self._groups.get(taker, frozenset())
            if shared:
                group = ",".join(sorted(shared))
                out.append(Alert(
                    maker, "wash_trade", 1.0, 0.0, row.journal_seq, row.n, row.ts_ns,
                    row.instrument, taker, price, row.qty, None, f"group={group} fills=1",
                ))  # fmt: skip
        if price is None:
            return out
        band = self._bands.get(row.instrument)
        if band is None:
            self._bands[row.instrument] = _Band(None, price, row.journal_seq)
            return out
        if band.last_seq != row.journal_seq:  # a new command: measured from the last trade
            band.reference, band.last_seq = band.last_price, row.journal_seq
        band.last_price = price
        bps, ref = self.thresholds.price_band_bps, band.reference
        if bps is None or ref is None or taker is None or ref <= 0:
            return out
        limit = Decimal(str(bps))
        if abs(price - ref) * 10_000 > limit * ref:
            deviation = float(abs(price - ref) * 10_000 / ref)
            out.append(Alert(
                taker, "price_band", deviation, float(bps), row.journal_seq, row.n, row.ts_ns,
                row.instrument, None, price, row.qty, ref, f"band_bps={limit}",
            ))  # fmt: skip
        return out


def _merge(earlier: Alert, later: Alert) -> Alert:
    """One alert for two of the same ``(journal_seq, rule, account)`` (one command): a wash
    trade's fills add up; the price band keeps the farthest fill; other rules the first."""
    if earlier.rule == "wash_trade" and earlier.qty is not None and later.qty is not None:
        fills = earlier.value + later.value
        group = earlier.detail.split(" ", 1)[0]
        return replace(earlier, value=fills, qty=earlier.qty + later.qty,
                       detail=f"{group} fills={fills:g}")  # fmt: skip
    if earlier.rule == "price_band" and later.value > earlier.value:
        return later
    return earlier


def _config_difference(stored: str, now: str) -> str:
    """What differs between two :meth:`ComplianceMonitor.config` texts, for a person."""
    try:
        old: dict[str, Any] = json.loads(stored)
    except ValueError:
        return f"the stored configuration does not decode ({stored[:80]!r})"
    new: dict[str, Any] = json.loads(now)
    out = []
    for name in sorted(set(old.get("thresholds", {})) | set(new["thresholds"])):
        a, b = old.get("thresholds", {}).get(name), new["thresholds"].get(name)
        if a != b:
            out.append(f"thresholds.{name} {a} (stored) vs {b} (now)")
    if old.get("account_groups") != new["account_groups"]:
        out.append(f"account_groups {old.get('account_groups')} (stored) vs "
                   f"{new['account_groups']} (now)")  # fmt: skip
    return ", ".join(out) or "the configurations differ"


def _parts(
    accounts: dict[int, AccountStats], over_set: set[tuple[int, str]], band_map: dict[str, _Band]
) -> tuple[dict[int, codec.Account], dict[int, list[str]], dict[str, codec.Band]]:
    """The monitor's state as the codec's plain values."""
    counts = {a: (s.orders, s.trades, s.cancels, s.stp_hits) for a, s in accounts.items()}
    over: dict[int, list[str]] = {}
    for account, rule in over_set:
        over.setdefault(account, []).append(rule)
    bands = {i: (b.last_price, b.last_seq, b.reference) for i, b in band_map.items()}
    return counts, over, bands


def _encode(
    fmt: int,
    accounts: dict[int, AccountStats],
    over_set: set[tuple[int, str]],
    band_map: dict[str, _Band],
) -> bytes:
    """:meth:`ComplianceMonitor.state`'s data in format ``fmt`` (``monitor_codec.py``)."""
    return codec.encode_state(fmt, *_parts(accounts, over_set, band_map))


def merge_state(base: MonitorState, entries: Iterable[tuple[str, str, bytes]]) -> MonitorState:
    """The whole state a store holds as ``base`` (a :meth:`ComplianceMonitor.state`) with the
    entries of :meth:`ComplianceMonitor.changes` upserted over it (in any order: one per
    key): byte for byte the :meth:`ComplianceMonitor.state` of the monitor they came from.
    ``StorageError`` (``MONITOR_STATE``) when the base or an entry does not decode."""
    where = f"monitor state at journal_seq={base.journal_seq}"
    _check_format(where, base.format)
    fmt = base.format
    try:
        accounts, over, bands = codec.decode_state(fmt, base.data)
        for part, key, value in entries:
            if part == "account":
                account = codec.account_number(int(key))
                counts, rules = codec.decode_account_entry(fmt, value)
                if counts is None:
                    accounts.pop(account, None)
                else:
                    accounts[account] = counts
                over[account] = rules  # the ratio rules it is over come from the entry
            elif part == "band":
                bands[key] = codec.decode_band_entry(fmt, key, value)
            else:
                raise ValueError(f"part={part!r} is not a part of a monitor state")
        data = codec.encode_state(fmt, accounts, over, bands)
    except (ValueError, TypeError, KeyError, zlib.error, InvalidOperation) as e:
        raise StorageError(f"{where} does not decode: {e}", reason="MONITOR_STATE") from e
    return MonitorState(fmt, base.config, base.journal_seq, data)


def stored_state(
    format: int, config: str, journal_seq: int, entries: Iterable[tuple[str, str, bytes]]
) -> MonitorState:
    """The state a store holds (``audit_monitor_state``'s ``format``, ``config`` and
    ``journal_seq``, ``audit_monitor_entries``' rows): the whole state (part ``whole``) with
    the changed entries upserted over it (:func:`merge_state`); the whole state's bytes as
    stored when none were. ``StorageError`` (``MONITOR_STATE``) when it does not decode."""
    whole: bytes | None = None
    changed: list[tuple[str, str, bytes]] = []
    for part, key, value in entries:
        if part == "whole":
            whole = bytes(value)
        else:
            changed.append((part, key, bytes(value)))
    if whole is None:
        raise StorageError(
            f"monitor state at journal_seq={journal_seq} has no whole state to start from",
            reason="MONITOR_STATE",
        )
    base = MonitorState(format, config, journal_seq, whole)
    return merge_state(base, changed) if changed else base


def check_changes(held: tuple[int, str, int] | None, changes: MonitorChanges) -> None:
    """Whether ``changes`` may be upserted over the state a store holds (``held``: its
    ``format``, ``config`` and ``journal_seq``; None: none): of the same format and
    configuration, and changed since that state or earlier. ``StorageError``
    (``MONITOR_STATE``) if not: the writer stores a whole state instead."""
    if held is not None:
        fmt, config, seq = held
        same = fmt == changes.format and config == changes.config
        if same and changes.since <= seq <= changes.journal_seq:
            return
        where = f"a state at journal_seq={seq} of format {fmt}"
    else:
        where = "no state"
    raise StorageError(
        f"monitor state changes since journal_seq={changes.since} through "
        f"{changes.journal_seq} do not apply: the store holds {where}"
        + ("" if held is None or held[1] == changes.config else " of another configuration"),
        reason="MONITOR_STATE",
    )


def _check_format(where: str, fmt: int) -> None:
    if fmt not in READ_FORMATS:
        raise StorageError(
            f"{where} has format {fmt}; this version reads format {STATE_FORMAT} (and the "
            f"formats {', '.join(map(str, READ_FORMATS))} a store may hold)",
            reason="MONITOR_STATE",
        )


def _decode(
    fmt: int, data: bytes
) -> tuple[dict[int, AccountStats], set[tuple[int, str]], dict[str, _Band]]:
    """The contents of :meth:`ComplianceMonitor.state`'s data, checked field by field."""
    counts, over, bands = codec.decode_state(fmt, data)
    accounts = {a: AccountStats(*c) for a, c in counts.items()}
    over_set = {(a, r) for a, rules in over.items() for r in rules}
    band_map = {i: _Band(ref, price, seq) for i, (price, seq, ref) in bands.items()}
    return accounts, over_set, band_map
