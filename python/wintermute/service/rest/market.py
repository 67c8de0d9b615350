"""Public market data: ``/api/instruments``, ``/api/book/{symbol}``, ``/api/trades/{symbol}``.
No API key needed."""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Query, Request

from wintermute.service.rest.models import Book, Instrument, TradeOut
from wintermute.service.venue import Venue

router = APIRouter(prefix="/api", tags=["market data"])
ERRORS: dict[int | str, dict[str, Any]] = {400: {"description": "unknown symbol or bad parameter"}}


def _venue(request: Request) -> Venue:
    venue: Venue = request.app.state.venue
    return venue


@router.get("/instruments")
async def instruments(request: Request) -> list[Instrument]:
    """Every instrument with its tick and lot grid and limits."""
    return [Instrument.of(i) for i in _venue(request).instruments()]


@router.get("/book/{symbol}", responses=ERRORS)
async def book(
    symbol: str, request: Request, depth: Annotated[int, Query(ge=1, le=5000)] = 50
) -> Book:
    """The top ``depth`` levels per side, best first, and the book's sequence number (the
    WebSocket's book deltas continue from it)."""
    return Book.of(_venue(request).depth(symbol, depth))


@router.get("/trades/{symbol}", responses=ERRORS)
async def trades(
    symbol: str, request: Request, limit: Annotated[int, Query(ge=1, le=1000)] = 100
) -> list[TradeOut]:
    """The most recent public trades, oldest first."""
    return [TradeOut.of(t) for t in _venue(request).trades(symbol, limit)]
