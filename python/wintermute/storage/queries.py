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
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timezone

from wintermute.storage.schema import StorageError, to_sql_id

__all__ = ["MAX_LIMIT", "AuditQuery", "to_ns"]

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
        delta = value - _EPOCH
        return (delta.days * 86_400 + delta.seconds) * 10**9 + delta.microseconds * 1000
    if isinstance(value, bool) or not isinstance(value, int):
        raise StorageError(f"{name}={value!r}: not a datetime or nanoseconds", reason="BAD_QUERY")
    if not 0 <= value < 2**63:
        raise StorageError(f"{name}={value}: outside 0..2**63-1 nanoseconds", reason="BAD_QUERY")
    return value


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

    def __post_init__(self) -> None:
        bad = _problem(self)
        if bad:
            raise StorageError(bad, reason="BAD_QUERY")

    def where(self, placeholder: str) -> tuple[str, list[object]]:
        """The ``WHERE`` condition (``TRUE`` when nothing is asked) and its parameters, in the
        driver's ``placeholder`` style (``?`` for sqlite3, ``%s`` for psycopg)."""
        parts: list[str] = []
        params: list[object] = []
        for column, value in (
            ("account", self.account),
            ("instrument", self.instrument),
            ("order_id", None if self.order_id is None else to_sql_id(self.order_id)),
        ):
            if value is not None:
                parts.append(f"{column} = {placeholder}")
                params.append(value)
        if self.since is not None:
            parts.append(f"ts_ns >= {placeholder}")
            params.append(to_ns(self.since, "since"))
        if self.until is not None:
            parts.append(f"ts_ns < {placeholder}")
            params.append(to_ns(self.until, "until"))
        if self.after is not None:
            parts.append(f"(journal_seq, n) > ({placeholder}, {placeholder})")
            params.extend(self.after)
        return (" AND ".join(parts) or "TRUE"), params


def _problem(q: AuditQuery) -> str | None:
    """What is wrong with ``q``, or None."""
    if isinstance(q.limit, bool) or not isinstance(q.limit, int):
        return f"limit={q.limit!r}: not an integer"
    if not 1 <= q.limit <= MAX_LIMIT:
        return f"limit={q.limit}: must be 1..{MAX_LIMIT} (page with after for more)"
    if q.account is not None and not (
        isinstance(q.account, int) and 0 <= q.account <= _MAX_ACCOUNT
    ):
        return f"account={q.account!r}: not an account number (0..{_MAX_ACCOUNT})"
    if q.instrument is not None and not (
        isinstance(q.instrument, str) and 0 < len(q.instrument) <= _MAX_SYMBOL
    ):
        return f"instrument={q.instrument!r}: not a symbol of 1..{_MAX_SYMBOL} characters"
    if q.order_id is not None:
        to_sql_id(q.order_id)
    if q.after is not None and not (
        isinstance(q.after, tuple)
        and len(q.after) == 2
        and all(isinstance(v, int) and 0 <= v < 2**63 for v in q.after)
    ):
        return f"after={q.after!r}: not a (journal_seq, n) pair of a row"
    since = None if q.since is None else to_ns(q.since, "since")
    until = None if q.until is None else to_ns(q.until, "until")
    if since is not None and until is not None and since > until:
        return f"inverted time range: since={q.since} is after until={q.until}"
    return None
