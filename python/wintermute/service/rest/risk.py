"""Risk controls: ``/api/risk/limits`` (read your own; admins read and change any account's)
and ``/api/admin/kill-switch`` (admins)."""

from __future__ import annotations

import asyncio
import dataclasses
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Path, Query, Request

from wintermute.service.auth import admin_key, api_key
from wintermute.service.error_responses import ApiError
from wintermute.service.keys import ApiKey
from wintermute.service.rest.models import AccountLimits, KillSwitch, KillSwitches, Limits
from wintermute.service.venue import Venue

router = APIRouter(tags=["risk"])
Key = Annotated[ApiKey, Depends(api_key)]
Admin = Annotated[ApiKey, Depends(admin_key)]
Account = Annotated[int, Path(ge=0, lt=2**32)]
ERRORS: dict[int | str, dict[str, Any]] = {
    401: {"description": "missing or unknown API key"},
    403: {"description": "needs an admin key"},
}


def _venue(request: Request) -> Venue:
    venue: Venue = request.app.state.venue
    return venue


def _limits(venue: Venue, account: int) -> AccountLimits:
    limits = venue.limits(account)
    return AccountLimits(
        account=account, limits=None if limits is None else Limits(**dataclasses.asdict(limits))
    )


@router.get("/api/risk/limits", responses=ERRORS)
async def my_limits(
    key: Key, request: Request, account: Annotated[int | None, Query(ge=0, lt=2**32)] = None
) -> AccountLimits:
    """The pre-trade limits of the key's account (admins: of ``account``)."""
    if account is not None and account != key.account and not key.is_admin:
        raise ApiError(403, "FORBIDDEN", "only admins read other accounts' limits")
    return _limits(_venue(request), key.account if account is None else account)


@router.put("/api/risk/limits/{account}", responses=ERRORS)
async def set_limits(account: Account, body: Limits, key: Admin, request: Request) -> AccountLimits:
    """Replaces an account's limits (admin); applies before the next order is checked."""
    venue = _venue(request)
    await asyncio.to_thread(venue.set_limits, account, body.model_dump())
    return _limits(venue, account)


@router.get("/api/admin/kill-switch", responses=ERRORS)
async def kill_switches(key: Admin, request: Request) -> KillSwitches:
    """The engaged kill switches (admin)."""
    engaged = _venue(request).kill_switches
    return KillSwitches(
        global_engaged=None in engaged, accounts=sorted(a for a in engaged if a is not None)
    )


@router.post("/api/admin/kill-switch", responses=ERRORS)
async def kill_switch(body: KillSwitch, key: Admin, request: Request) -> KillSwitches:
    """Engages or releases the global kill switch or an account's (admin): new orders and
    amends are refused while it is engaged; cancels still pass."""
    venue = _venue(request)
    action = venue.kill if body.engaged else venue.release
    await asyncio.to_thread(action, body.account)
    return await kill_switches(key, request)
