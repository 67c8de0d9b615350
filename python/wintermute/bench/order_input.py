"""The venue's quantity and price checks as they were written in Python, with ``decimal``:
the baseline ``scripts/bench_order_input.py`` times the Rust checks
(:mod:`wintermute.service.order_input`, ``_core.OrderGrid``) against, and the reference model
``tests/test_service_order_input.py`` holds them to (the same lots or ticks, or the same code
and message, for any value)."""

from __future__ import annotations

import decimal
from decimal import Decimal

from wintermute.service.venue_records import InstrumentInfo, VenueError

_EXACT = decimal.Context(prec=60, traps=[decimal.InvalidOperation, decimal.Inexact])


def _decimal(value: object, what: str, code: str) -> Decimal:
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
    try:
        n = _EXACT.divide(d, unit)
    except (decimal.Inexact, decimal.InvalidOperation):
        return None
    return int(n) if n == n.to_integral_value() else None


def python_lots(value: object, inst: InstrumentInfo) -> int:
    """``value`` as lots of ``inst``, or :class:`VenueError` ``INVALID_QTY``."""
    d = _decimal(value, "qty", "INVALID_QTY")
    if d <= 0:
        raise VenueError("INVALID_QTY", f"qty={d} must be positive")
    if d < inst.min_qty or d > inst.max_qty:
        bounds = f"[{inst.min_qty}, {inst.max_qty}]"
        raise VenueError("INVALID_QTY", f"qty={d} outside {bounds} for {inst.symbol}")
    lots = _units(d, inst.lot_size)
    if lots is None:
        raise VenueError("INVALID_QTY", f"qty={d} is not a multiple of lot_size={inst.lot_size}")
    return lots


def python_ticks(value: object, inst: InstrumentInfo) -> int:
    """``value`` as ticks of ``inst``, or :class:`VenueError` ``INVALID_PRICE`` / ``OFF_TICK``."""
    d = _decimal(value, "price", "INVALID_PRICE")
    if d < inst.min_price or d > inst.max_price:
        bounds = f"[{inst.min_price}, {inst.max_price}]"
        raise VenueError("INVALID_PRICE", f"price={d} outside {bounds} for {inst.symbol}")
    ticks = _units(d, inst.tick_size)
    if ticks is None:
        raise VenueError("OFF_TICK", f"price={d} is not a multiple of tick_size={inst.tick_size}")
    return ticks
