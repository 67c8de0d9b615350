"""``/api/orders``: place, amend, cancel, mass cancel, get, list; and ``/api/fills``.

Every route acts for the account of the request's API key: another account's order is a 404,
exactly like an order that does not exist. Canceling an order that is already canceled or
expired answers its state again (a retried cancel is harmless)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Query, Request, status

from wintermute.service.auth import api_key
from wintermute.service.keys import ApiKey
from wintermute.service.rest.models import (
    Amend,
    ClientOrderId,
    FillOut,
    NewOrder,
    Order,
    Symbol,
)
from wintermute.service.venue import OrderState, Venue, VenueError

router = APIRouter(prefix="/api", tags=["orders"])
Key = Annotated[ApiKey, Depends(api_key)]
OrderId = Annotated[int, Query(ge=1, lt=2**63)]
Limit = Annotated[int, Query(ge=1, le=1000)]
ERRORS: dict[int | str, dict[str, Any]] = {
    400: {"description": "bad input"},
    401: {"description": "missing or unknown API key"},
    404: {"description": "no such order for this account"},
    422: {"description": "refused: balance, risk, book or kill switch"},
}


def _venue(request: Request) -> Venue:
    venue: Venue = request.app.state.venue
    return venue


@router.post("/orders", status_code=status.HTTP_201_CREATED, responses=ERRORS)
async def place_order(body: NewOrder, key: Key, request: Request) -> Order:
    """Places an order; answers after the engine's verdict. A repeated ``client_order_id``
    answers the first order (nothing new is placed)."""
    venue = _venue(request)
    state = await venue.place(
        key.account, body.symbol, body.side, body.type, body.qty, body.price, body.tif,
        body.client_order_id,
    )  # fmt: skip
    return Order.of(state)


@router.get("/orders", responses=ERRORS)
async def open_orders(key: Key, request: Request, symbol: Symbol | None = None) -> list[Order]:
    """The account's open orders, oldest first."""
    return [Order.of(o) for o in _venue(request).open_orders(key.account, symbol)]


@router.delete("/orders", responses=ERRORS)
async def cancel_all(key: Key, request: Request, symbol: Symbol | None = None) -> list[Order]:
    """Cancels every open order of the account (in ``symbol``, or everywhere)."""
    return [Order.of(o) for o in await _venue(request).cancel_all(key.account, symbol)]


@router.get("/orders/history", responses=ERRORS)
async def order_history(
    key: Key, request: Request, symbol: Symbol, limit: Limit = 500
) -> list[Order]:
    """The account's most recent orders in ``symbol``, open and closed."""
    return [Order.of(o) for o in _venue(request).all_orders(key.account, symbol, limit)]


@router.get("/orders/{order_id}", responses=ERRORS)
async def get_order(order_id: int, key: Key, request: Request) -> Order:
    """One of the account's orders, with its queue position if it rests."""
    return Order.of(_venue(request).order(key.account, None, order_id=_id(order_id)))


@router.get("/orders/by-client-id/{client_order_id}", responses=ERRORS)
async def get_order_by_client_id(
    client_order_id: ClientOrderId, key: Key, request: Request
) -> Order:
    """One of the account's orders, by its client order id."""
    return Order.of(_venue(request).order(key.account, None, client_order_id=client_order_id))


@router.patch("/orders/{order_id}", responses=ERRORS)
async def amend_order(order_id: int, body: Amend, key: Key, request: Request) -> Order:
    """Amends an open limit order: ``qty`` is the new total quantity. Lowering the quantity
    keeps the order's place in the queue; a new price or more quantity sends it to the back."""
    venue = _venue(request)
    state = await venue.amend(
        key.account, None, order_id=_id(order_id),
        qty=None if body.qty is None else Decimal(body.qty),
        price=None if body.price is None else Decimal(body.price),
    )  # fmt: skip
    return Order.of(state)


@router.delete("/orders/{order_id}", responses=ERRORS)
async def cancel_order(order_id: int, key: Key, request: Request) -> Order:
    """Cancels an open order (a canceled or expired one answers its state again)."""
    return Order.of(await _cancel(_venue(request), key.account, order_id=_id(order_id)))


@router.delete("/orders/by-client-id/{client_order_id}", responses=ERRORS)
async def cancel_order_by_client_id(
    client_order_id: ClientOrderId, key: Key, request: Request
) -> Order:
    """Cancels an open order by its client order id."""
    venue = _venue(request)
    return Order.of(await _cancel(venue, key.account, client_order_id=client_order_id))


@router.get("/fills", responses=ERRORS)
async def fills(
    key: Key, request: Request, symbol: Symbol | None = None, limit: Limit = 500
) -> list[FillOut]:
    """The account's most recent fills (maker or taker, with fees), oldest first."""
    return [FillOut.of(f) for f in _venue(request).fills(key.account, symbol, limit)]


def _id(order_id: int) -> int:
    if not 1 <= order_id < 2**63:
        raise VenueError("UNKNOWN_ORDER", f"no order {order_id}")
    return order_id


async def _cancel(
    venue: Venue, account: int, *, order_id: int | None = None, client_order_id: str | None = None
) -> OrderState:
    try:
        return await venue.cancel(account, None, order_id=order_id, client_order_id=client_order_id)
    except VenueError as e:
        if e.code != "UNKNOWN_ORDER":
            raise
        state = venue.order(account, None, order_id=order_id, client_order_id=client_order_id)
        if state.status in ("canceled", "expired"):
            return state
        raise
