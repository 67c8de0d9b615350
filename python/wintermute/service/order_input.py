"""Checks a request's values at the venue's edge and converts them exactly to the engine's
integers. Quantities and prices are checked in Rust, the one set of checks both order
entries use (``_core.OrderGrid``, ``wintermute_engine::venue_input``): read as
``decimal.Decimal`` reads them, within the instrument's bounds, on its grid, in lots or ticks
(never through a float). Anything wrong raises ``VenueError`` with a code before the engine or
the venue's state is touched."""

from __future__ import annotations

import re
from typing import Any

from wintermute import _core
from wintermute.service.venue_records import InstrumentInfo, VenueError

__all__ = [
    "SIDES", "TIFS", "TYPES", "account_of", "client_id_of", "grid_of", "lots_of", "ticks_of",
]  # fmt: skip

SIDES = ("buy", "sell")
TYPES = ("limit", "market")
TIFS = ("gtc", "ioc", "fok", "post_only")
_CLIENT_ID = re.compile(r"^[A-Za-z0-9._:/-]{1,36}$")


def grid_of(inst: InstrumentInfo) -> _core.OrderGrid:
    """The checks of ``inst``'s quantities and prices."""
    return _core.OrderGrid(
        inst.symbol, inst.tick_size, inst.lot_size, inst.min_qty, inst.max_qty, inst.min_price,
        inst.max_price,
    )  # fmt: skip


def lots_of(value: object, grid: _core.OrderGrid) -> int:
    """An order quantity in lots: positive, within ``[min_qty, max_qty]``, on the lot grid
    (``INVALID_QTY`` otherwise)."""
    lots = grid.lots(value)
    if isinstance(lots, int):
        return lots
    raise VenueError(*lots)


def ticks_of(value: object, grid: _core.OrderGrid) -> int:
    """A limit price in ticks: within ``[min_price, max_price]`` (``INVALID_PRICE``), on the
    tick grid (``OFF_TICK``)."""
    ticks = grid.ticks(value)
    if isinstance(ticks, int):
        return ticks
    raise VenueError(*ticks)


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
