"""Questions to the audit trail: by account, instrument, order id and time range.

An :class:`AuditQuery` is checked when it is made, so a bad one never reaches a database: an
inverted time range, a limit outside ``1..MAX_LIMIT``, an account or order id out of range or
a naive datetime raise ``StorageError`` (reason ``BAD_QUERY``) with the offending value named.
Every value travels as a bound parameter (:meth:`AuditQuery.where`), never inside the SQL
text, so a symbol like ``"x'; DROP TABLE audit_events; --"`` is only a symbol that matches
nothing. An account nobody traded under gives an empty answer, not an error::

    >>> from wintermute.storage.queries import AuditQuery
    >>> AuditQuery(account=7, instrument="BTC-USD", limit=10).where("?")
    ('account = ? AND instrument = ?', [7, 'BTC-USD'])
    >>> AuditQuery(since=20, until=10)
    Traceback (most recent call last):
    ...
    wintermute.storage.schema.StorageError: inverted time range: since=20 is after until=10

Times are timezone-aware ``datetime`` s or integer nanoseconds since the epoch; ``since`` is
inclusive and ``until`` exclusive. Rows come back in the engine's order (``journal_seq``,
``n``); ``after`` pages through a long answer: pass the last row's ``(journal_seq, n)``.

``account`` and ``order_id`` match the row's own columns: a trade's are the maker's. With
``either_side=True`` they match either side of a trade too (the taker's ``contra_account`` /
``contra_order_id``), paired when both are given: an account's orders' events *and* every
trade it took part in, as maker or taker::

    >>> AuditQuery(account=7, order_id=3, either_side=True).where("?")[0]
    '((account = ? AND order_id = ?) OR (contra_account = ? AND contra_order_id = ?))'

:class:`AlertQuery` asks the compliance alerts (``audit_alerts``) the same way: by account
(the alert's account or its ``contra_account``), rule, instrument, time and journal sequence
range.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from wintermute.storage.schema import StorageError, to_sql_id

__all__ = ["MAX_LIMIT", "AlertQuery", "AuditQuery", "parse_time", "to_ns"]

#: The most rows one query returns (page with ``after`` for more).
MAX_LIMIT = 100_000
_MAX_ACCOUNT = 2**32 - 1
_MAX_SYMBOL = 64
_EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)

Time = datetime | int


def to_ns(value: Time, name: str) -> int:
    """Nanoseconds since the epoch of a timezone-aware datetime or an integer."""
    if isinstance(value, datetime):
        if value.tzinfo is None:
            raise StorageError(
                f"{name}={value.isoformat()}: give a timezone (e.g. +00:00)", reason="BAD_QUERY"
            )
        try:
            delta = value - _EPOCH
        except OverflowError:  # a timezone that takes it past year 1 or 9999
            raise StorageError(
                f"{name}={value.isoformat()}: outside the epoch's range", reason="BAD_QUERY"
            ) from None
        ns = (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1000
        if not 0 <= ns < 2**63:
            raise StorageError(
                f"{name}={value.isoformat()}: outside 1970..2262 (nanoseconds since the epoch)",
                reason="BAD_QUERY",
            )
        return ns
    if isinstance(value, bool) or not isinstance(value, int):
        raise StorageError(f"{name}={value!r}: not a datetime or nanoseconds", reason="BAD_QUERY")
    if not 0 <= value < 2**63:
        raise StorageError(f"{name}={value}: outside 0..2**63-1 nanoseconds", reason="BAD_QUERY")
    return value


def parse_time(text: str, name: str = "time") -> datetime | int:
    """A time as the command line and the REST API take it: ISO 8601 with a timezone
    (``2026-12-06T10:00:00+00:00``, ``...Z``) or integer nanoseconds since the epoch. Raises
    ``StorageError`` (``BAD_QUERY``, naming ``name``) for anything else."""
    if text.isascii() and text.isdigit() and len(text) <= 19:
        return int(text)
    try:
        when = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith("Z") else text)
    except ValueError:
        raise StorageError(
            f"{name}={text[:40]!r}: not ISO 8601 (2026-12-06T10:00:00+00:00) or nanoseconds",
            reason="BAD_QUERY",
        ) from None
    to_ns(when, name)  # a timezone, and inside the epoch's range
    return when


@dataclass(frozen=True)
class AuditQuery:
    """Which audit rows to return; every given criterion must hold."""

    account: int | None = None
    instrument: str | None = None
    order_id: int | None = None
    since: Time | None = None
    until: Time | None = None
    after: tuple[int, int] | None = None
    limit: int = 1000
    either_side: bool = False

    def __post_init__(self) -> None:
        bad = _problem(self)
        if bad:
            raise StorageError(bad, reason="BAD_QUERY")

    def where(self, placeholder: str) -> tuple[str, list[object]]:
        """The ``WHERE`` condition (``TRUE`` when nothing is asked) and its parameters, in the
        driver's ``placeholder`` style (``?`` for sqlite3, ``%s`` for psycopg)."""
        p = placeholder
        parts: list[str] = []
        params: list[object] = []
        order_id = None if self.order_id is None else to_sql_id(self.order_id)
        if self.either_side and (self.account is not None or order_id is not None):
            own = [(c, v) for c, v in (("account", self.account), ("order_id", order_id))
                   if v is not None]  # fmt: skip
            sides = [
                " AND ".join(f"{prefix}{c} = {p}" for c, _ in own) for prefix in ("", "contra_")
            ]
            parts.append("(" + " OR ".join(f"({s})" if len(own) > 1 else s for s in sides) + ")")
            params.extend([v for _, v in own] * 2)
            columns: tuple[tuple[str, object], ...] = (("instrument", self.instrument),)
        else:
            columns = (
                ("account", self.account),
                ("instrument", self.instrument),
                ("order_id", order_id),
            )
        for column, value in columns:
            if value is not None:
                parts.append(f"{column} = {p}")
                params.append(value)
        _time_range(parts, params, p, self.since, self.until)
        if self.after is not None:
            parts.append(f"(journal_seq, n) > ({placeholder}, {placeholder})")
            params.extend(self.after)
        return (" AND ".join(parts) or "TRUE"), params


def _time_range(
    parts: list[str], params: list[object], p: str, since: Time | None, until: Time | None
) -> None:
    if since is not None:
        parts.append(f"ts_ns >= {p}")
        params.append(to_ns(since, "since"))
    if until is not None:
        parts.append(f"ts_ns < {p}")
        params.append(to_ns(until, "until"))


#: The longest rule name an :class:`AlertQuery` takes.
_MAX_RULE = 32


@dataclass(frozen=True)
class AlertQuery:
    """Which compliance alerts to return (``audit_alerts``); every given criterion must hold.
    ``account`` matches the alert's account or its ``contra_account`` (a wash trade names
    both); ``from_seq`` and ``to_seq`` bound the journal sequence, both inclusive. Alerts come
    in ``(journal_seq, rule, account)`` order; ``after`` pages: the last alert's ``key``."""

    account: int | None = None
    rule: str | None = None
    instrument: str | None = None
    since: Time | None = None
    until: Time | None = None
    from_seq: int | None = None
    to_seq: int | None = None
    after: tuple[int, str, int] | None = None
    limit: int = 1000

    def __post_init__(self) -> None:
        bad = _common_problem(self.limit, self.account, self.instrument, self.since, self.until)
        if (
            bad is None
            and self.rule is not None
            and not (isinstance(self.rule, str) and 0 < len(self.rule) <= _MAX_RULE)
        ):
            bad = f"rule={self.rule!r}: not a rule name of 1..{_MAX_RULE} characters"
        for name in ("from_seq", "to_seq"):
            value = getattr(self, name)
            if bad is None and value is not None and not _is_seq(value):
                bad = f"{name}={value!r}: not a journal sequence number (0..2**63-1)"
        if (
            bad is None
            and self.from_seq is not None
            and self.to_seq is not None
            and self.from_seq > self.to_seq
        ):
            bad = f"inverted sequence range: from_seq={self.from_seq} > to_seq={self.to_seq}"
        if bad is None and self.after is not None and not (
            isinstance(self.after, tuple) and len(self.after) == 3 and _is_seq(self.after[0])
            and isinstance(self.after[1], str) and _is_seq(self.after[2])
        ):  # fmt: skip
            bad = f"after={self.after!r}: not the (journal_seq, rule, account) of an alert"
        if bad:
            raise StorageError(bad, reason="BAD_QUERY")

    def where(self, placeholder: str) -> tuple[str, list[object]]:
        """The ``WHERE`` condition and its parameters (see :meth:`AuditQuery.where`)."""
        p = placeholder
        parts: list[str] = []
        params: list[object] = []
        if self.account is not None:
            parts.append(f"(account = {p} OR contra_account = {p})")
            params.extend([self.account, self.account])
        for column, value in (("rule", self.rule), ("instrument", self.instrument)):
            if value is not None:
                parts.append(f"{column} = {p}")
                params.append(value)
        _time_range(parts, params, p, self.since, self.until)
        if self.from_seq is not None:
            parts.append(f"journal_seq >= {p}")
            params.append(self.from_seq)
        if self.to_seq is not None:
            parts.append(f"journal_seq <= {p}")
            params.append(self.to_seq)
        if self.after is not None:
            parts.append(f"(journal_seq, rule, account) > ({p}, {p}, {p})")
            params.extend(self.after)
        return (" AND ".join(parts) or "TRUE"), params


def _is_seq(value: object) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and 0 <= value < 2**63


def _common_problem(
    limit: object, account: object, instrument: object, since: Time | None, until: Time | None
) -> str | None:
    """What is wrong with the criteria both queries share, or None."""
    if isinstance(limit, bool) or not isinstance(limit, int):
        return f"limit={limit!r}: not an integer"
    if not 1 <= limit <= MAX_LIMIT:
        return f"limit={limit}: must be 1..{MAX_LIMIT} (page with after for more)"
    if account is not None and not (
        isinstance(account, int) and not isinstance(account, bool)
        and 0 <= account <= _MAX_ACCOUNT
    ):  # fmt: skip
        return f"account={account!r}: not an account number (0..{_MAX_ACCOUNT})"
    if instrument is not None and not (
        isinstance(instrument, str) and 0 < len(instrument) <= _MAX_SYMBOL
    ):
        return f"instrument={instrument!r}: not a symbol of 1..{_MAX_SYMBOL} characters"
    since_ns = None if since is None else to_ns(since, "since")
    until_ns = None if until is None else to_ns(until, "until")
    if since_ns is not None and until_ns is not None and since_ns > until_ns:
        return f"inverted time range: since={since} is after until={until}"
    return None


def _problem(q: AuditQuery) -> str | None:
    """What is wrong with ``q``, or None."""
    bad = _common_problem(q.limit, q.account, q.instrument, q.since, q.until)
    if bad:
        return bad
    if q.order_id is not None:
        to_sql_id(q.order_id)
    if q.after is not None and not (
        isinstance(q.after, tuple)
        and len(q.after) == 2
        and all(isinstance(v, int) and 0 <= v < 2**63 for v in q.after)
    ):
        return f"after={q.after!r}: not a (journal_seq, n) pair of a row"
    return None
