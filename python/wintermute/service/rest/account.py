"""The key's account: ``/api/account/balances`` and ``/api/account/positions`` (with PnL)."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request

from wintermute.service.auth import api_key
from wintermute.service.keys import ApiKey
from wintermute.service.rest.models import BalanceOut, PositionOut
from wintermute.service.venue import Venue

router = APIRouter(prefix="/api/account", tags=["account"])
Key = Annotated[ApiKey, Depends(api_key)]
ERRORS: dict[int | str, dict[str, Any]] = {401: {"description": "missing or unknown API key"}}


def _venue(request: Request) -> Venue:
    venue: Venue = request.app.state.venue
    return venue


@router.get("/balances", responses=ERRORS)
async def balances(key: Key, request: Request) -> list[BalanceOut]:
    """Spot balances: ``free`` to spend, ``locked`` by open orders."""
    return [BalanceOut.of(b) for b in _venue(request).balances(key.account)]


@router.get("/positions", responses=ERRORS)
async def positions(key: Key, request: Request) -> list[PositionOut]:
    """Net positions with average price, realized and unrealized PnL (at the mid, else the
    last trade) and fees paid, in the quote asset."""
    return [PositionOut.of(p) for p in _venue(request).pnl(key.account)]
