"""Checks a request's values at the venue's edge and converts them exactly to the engine's
integers: quantities to lots, prices to ticks (never through a float). Anything wrong raises
``VenueError`` with a code before the engine or the venue's state is touched."""

from __future__ import annotations

import decimal
import re
from decimal import Decimal
from typing import Any

from wintermute.service.venue_records import InstrumentInfo, VenueError

__all__ = ["SIDES", "TIFS", "TYPES", "account_of", "client_id_of", "lots_of", "ticks_of"]

SIDES = ("buy", "sell")
TYPES = ("limit", "market")
TIFS = ("gtc", "ioc", "fok", "post_only")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:/-]{1,36}$")
_EXACT = decimal.Context(prec=60, traps=[decimal.InvalidOperation, decimal.Inexact])


def _decimal(value: Any, what: str, code: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (Decimal, str, int)):
        raise VenueError(code, f"{what} must be a decimal string, not {type(value).__name__}")
    try:
        d = Decimal(value.strip() if isinstance(value, str) else value)
    except decimal.InvalidOperation:
        raise VenueError(code, f"{what}={str(value)[:40]!r} is not a decimal") from None
    if not d.is_finite():
        raise VenueError(code, f"{what}={d} is not finite")
    return d


def _units(d: Decimal, unit: Decimal) -> int | None:
    """``d / unit`` if it is an integer, else None."""
    try:
        n = _EXACT.divide(d, unit)
    except (decimal.Inexact, decimal.InvalidOperation):
        return None
    return int(n) if n == n.to_integral_value() else None


def lots_of(value: Any, inst: InstrumentInfo, what: str = "qty") -> int:
    """An order quantity in lots: positive, within ``[min_qty, max_qty]``, on the lot grid."""
    d = _decimal(value, what, "INVALID_QTY")
    if d <= 0:
        raise VenueError("INVALID_QTY", f"{what}={d} must be positive")
    if d < inst.min_qty or d > inst.max_qty:
        raise VenueError(
            "INVALID_QTY", f"{what}={d} outside [{inst.min_qty}, {inst.max_qty}] for {inst.symbol}"
        )
    lots = _units(d, inst.lot_size)
    if lots is None:
        raise VenueError("INVALID_QTY", f"{what}={d} is not a multiple of lot_size={inst.lot_size}")
    return lots


def ticks_of(value: Any, inst: InstrumentInfo) -> int:
    """A limit price in ticks: within ``[min_price, max_price]``, on the tick grid."""
    d = _decimal(value, "price", "INVALID_PRICE")
    if d < inst.min_price or d > inst.max_price:
        raise VenueError(
            "INVALID_PRICE",
            f"price={d} outside [{inst.min_price}, {inst.max_price}] for {inst.symbol}",
        )
    ticks = _units(d, inst.tick_size)
    if ticks is None:
        raise VenueError("OFF_TICK", f"price={d} is not a multiple of tick_size={inst.tick_size}")
    return ticks


def account_of(value: Any) -> int:
    """An account id (u32)."""
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**32:
        raise VenueError("INVALID_ORDER", f"account={value!r} must be an integer in [0, 2^32)")
    return value


def client_id_of(value: Any) -> str:
    """A client order id: 1 to 36 of letters, digits and ``._:/-``."""
    if not isinstance(value, str) or not _CLIENT_ID.match(value):
        raise VenueError(
            "INVALID_ORDER", "client_order_id must be 1 to 36 of letters, digits and ._:/-"
        )
    return value
