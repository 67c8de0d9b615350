"""The audit trail over REST: ``/api/audit/events``, ``/api/audit/alerts`` and
``/api/audit/report``, answered from the service's audit trail (``app.state.audit``, a
``wintermute.storage.audit_trail.AuditTrail``; ``wintermute serve`` and ``wintermute demo``
keep one by default).

An account key sees its own account only: its orders' events and the trades it took part in
(as maker or taker, with the other side's account, order id and remaining quantity withheld),
the alerts that name it, and its part of the daily report. Asking for another account is a
403; the admin key sees every account (``account`` filters). Bad input (an inverted time
range, a limit over 1000, a malformed time or day) is a 400 with the service's JSON error
shape; symbols and rules are bound parameters, so SQL-looking text only matches nothing.
Without an audit trail every route answers 503 ``AUDIT_OFF``.
"""

from __future__ import annotations

import asyncio
from datetime import date
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request

from wintermute.service.auth import api_key
from wintermute.service.error_responses import ApiError
from wintermute.service.keys import ApiKey
from wintermute.service.rest.audit_models import (
    AlertOut,
    AuditEventOut,
    DailyReportOut,
    Rule,
)
from wintermute.service.rest.models import Symbol
from wintermute.storage.audit_trail import AuditTrail
from wintermute.storage.queries import AlertQuery, AuditQuery, parse_time
from wintermute.storage.schema import StorageError

router = APIRouter(prefix="/api/audit", tags=["audit"])
Key = Annotated[ApiKey, Depends(api_key)]
#: The most rows or alerts one request returns (page with ``after`` / ``from_seq``).
MAX_LIMIT = 1000
Account = Annotated[int | None, Query(ge=0, lt=2**32, description="default: the key's own")]
Limit = Annotated[int, Query(ge=1, le=MAX_LIMIT)]
Time = Annotated[
    str | None,
    Query(max_length=40, description="ISO 8601 with a timezone, or nanoseconds since the epoch"),
]
Seq = Annotated[int | None, Query(ge=0, lt=2**63)]
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "bad input: a malformed time or day, an inverted range, a limit"},
    401: {"description": "missing or unknown API key"},
    403: {"description": "another account's rows (only the admin key sees every account)"},
    503: {"description": "no audit trail, or its store is unreachable"},
}


def _trail(request: Request) -> AuditTrail:
    trail: AuditTrail | None = getattr(request.app.state, "audit", None)
    if trail is None:
        raise ApiError(503, "AUDIT_OFF", "this service keeps no audit trail")
    return trail


def _account(key: ApiKey, account: int | None) -> int | None:
    """The account to answer for: the key's own, any for the admin (None: all)."""
    if key.is_admin:
        return account
    if account is not None and account != key.account:
        raise ApiError(403, "FORBIDDEN", "an account key sees only its own account")
    return key.account


def _time(text: str | None, name: str) -> Any:
    return None if text is None else parse_time(text, name)


async def _ask(call: Any, *args: Any) -> Any:
    """Runs a store call on a worker thread; storage errors become 400 / 503."""
    try:
        return await asyncio.to_thread(call, *args)
    except StorageError as e:
        if e.reason == "BAD_QUERY":
            raise ApiError(400, "BAD_QUERY", str(e)) from None
        raise ApiError(503, "UNAVAILABLE", "the audit store is unreachable") from None


def _bad(e: StorageError) -> ApiError:
    return ApiError(400, "BAD_QUERY", str(e))


@router.get("/events", responses=ERRORS)
async def events(
    key: Key,
    request: Request,
    account: Account = None,
    instrument: Symbol | None = None,
    order_id: Annotated[int | None, Query(ge=0, lt=2**64)] = None,
    since: Time = None,
    until: Time = None,
    after: Annotated[
        str | None, Query(pattern=r"^[0-9]{1,18}:[0-9]{1,9}$", description="page: SEQ:N")
    ] = None,
    limit: Limit = 100,
) -> list[AuditEventOut]:
    """Audit events in the engine's order: ``account`` (its orders' events and every trade
    it was either side of), ``instrument``, ``order_id`` (the order's events and trades,
    maker or taker), a time range (``since`` inclusive, ``until`` exclusive). Page with
    ``after`` = the last row's ``journal_seq:n``."""
    trail = _trail(request)
    who = _account(key, account)
    try:
        q = AuditQuery(
            account=who, instrument=instrument, order_id=order_id, since=_time(since, "since"),
            until=_time(until, "until"), limit=limit, either_side=True,
            after=None if after is None else tuple(int(x) for x in after.split(":")),  # type: ignore[arg-type]
        )  # fmt: skip
    except StorageError as e:
        raise _bad(e) from None
    rows = await _ask(trail.events, q)
    viewer = None if key.is_admin else key.account
    return [
        AuditEventOut.of(r, viewer)
        for r in rows
        if viewer is None or viewer in (r.account, r.contra_account)
    ]


@router.get("/alerts", responses=ERRORS)
async def alerts(
    key: Key,
    request: Request,
    account: Account = None,
    rule: Rule | None = None,
    instrument: Symbol | None = None,
    since: Time = None,
    until: Time = None,
    from_seq: Seq = None,
    to_seq: Seq = None,
    limit: Limit = 100,
) -> list[AlertOut]:
    """Compliance alerts in journal order: by ``account`` (the alert's or its
    ``contra_account``), ``rule``, ``instrument``, time range and journal sequence range
    (``from_seq``, ``to_seq``, both inclusive)."""
    trail = _trail(request)
    who = _account(key, account)
    try:
        q = AlertQuery(
            account=who, rule=rule, instrument=instrument, since=_time(since, "since"),
            until=_time(until, "until"), from_seq=from_seq, to_seq=to_seq, limit=limit,
        )  # fmt: skip
    except StorageError as e:
        raise _bad(e) from None
    return [AlertOut.of(a) for a in await _ask(trail.alerts, q)]


@router.get("/report", responses=ERRORS)
async def report(
    key: Key,
    request: Request,
    day: Annotated[str, Query(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$", description="UTC day")],
    account: Account = None,
) -> DailyReportOut:
    """The daily report of ``day`` (UTC) per account: orders, fills, cancels, rejections by
    reason, traded volume and notional per instrument, order-to-trade ratio, cancel rate and
    the day's alerts. A day without activity is an empty report."""
    trail = _trail(request)
    who = _account(key, account)
    try:
        when = date.fromisoformat(day)
    except ValueError:
        raise ApiError(400, "BAD_QUERY", f"day={day}: not a calendar day") from None
    return DailyReportOut.of(await _ask(trail.report, when, who))
