"""The batch API's record formats: numpy structured dtypes for commands in and events out.

Research and backtests send many commands in one call so that Python is not the bottleneck::

    >>> import numpy as np
    >>> from wintermute import Engine, batch
    >>> eng = Engine()
    >>> btc = eng.add_instrument("BTC-USD", tick_size="0.01", lot_size="0.001",
    ...                          min_qty="0.001", max_qty="100", min_price="1", max_price="1000000")
    >>> cmds = batch.new_orders(order_id=[1, 2], side=[batch.SELL, batch.BUY],
    ...                         price=[6_400_000, 6_400_100], qty=[1_000, 400])
    >>> events = eng.submit_batch(btc, cmds)
    >>> [batch.KIND_NAMES[k] for k in events["kind"]]
    ['accepted', 'book_delta', 'accepted', 'trade', 'book_delta']
    >>> int(events[3]["qty"]), int(events[3]["price"])
    (400, 6400000)

Prices are integer ticks and quantities integer lots of the instrument (see
``Engine.instrument(...)``). The layouts are fixed, little-endian, and documented field by field
in ``crates/core/src/records.rs``; ``command`` in an event is the index of the command that
caused it. A command that fails validation inside a batch does not stop the batch: it yields one
``rejected`` event with ``seq == 0`` and the reason code (``REJECT_REASONS``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

__all__ = [
    "AMEND",
    "BUY",
    "CANCEL",
    "CANCEL_REASONS",
    "COMMAND_DTYPE",
    "EVENT_DTYPE",
    "KIND_NAMES",
    "MASS_CANCEL",
    "NEW",
    "REJECT_REASONS",
    "SELL",
    "cancels",
    "new_orders",
]

#: 48-byte command record.
COMMAND_DTYPE = np.dtype(
    [
        ("order_id", "<u8"),
        ("price", "<i8"),
        ("qty", "<i8"),
        ("display_qty", "<i8"),
        ("account", "<u4"),
        ("kind", "u1"),
        ("side", "u1"),
        ("order_type", "u1"),
        ("tif", "u1"),
        ("stp", "u1"),
        ("flags", "u1"),
        ("_pad", "V6"),
    ]
)

#: 80-byte event record.
EVENT_DTYPE = np.dtype(
    [
        ("seq", "<u8"),
        ("order_id", "<u8"),
        ("other_id", "<u8"),
        ("price", "<i8"),
        ("qty", "<i8"),
        ("remaining", "<i8"),
        ("other", "<i8"),
        ("account", "<u4"),
        ("other_account", "<u4"),
        ("instrument", "<u4"),
        ("command", "<u4"),
        ("kind", "u1"),
        ("side", "u1"),
        ("reason", "u1"),
        ("flags", "u1"),
        ("_pad", "V4"),
    ]
)
assert COMMAND_DTYPE.itemsize == 48
assert EVENT_DTYPE.itemsize == 80

# Command kinds, sides, types, time in force, STP modes, flags.
NEW, CANCEL, AMEND, MASS_CANCEL = 0, 1, 2, 3
BUY, SELL, BOTH_SIDES = 0, 1, 2
LIMIT, MARKET = 0, 1
GTC, IOC, FOK = 0, 1, 2
STP_NONE, STP_CANCEL_NEWEST, STP_CANCEL_OLDEST, STP_CANCEL_BOTH, STP_DECREMENT = 0, 1, 2, 3, 4
FLAG_POST_ONLY, FLAG_HAS_PRICE, FLAG_HAS_QTY, FLAG_HAS_ACCOUNT = 1, 2, 4, 8

#: Event kind code -> name.
KIND_NAMES = {
    1: "accepted",
    2: "rejected",
    3: "trade",
    4: "canceled",
    5: "amended",
    6: "book_delta",
}

#: Reject reason code -> name (``reason`` of ``rejected`` events).
REJECT_REASONS = {
    1: "DUPLICATE_ORDER_ID",
    2: "UNKNOWN_ORDER",
    3: "NON_POSITIVE_QTY",
    4: "QTY_BELOW_MIN",
    5: "QTY_ABOVE_MAX",
    6: "PRICE_OUT_OF_BAND",
    7: "INVALID_ORDER",
    8: "POST_ONLY_WOULD_CROSS",
    9: "FOK_NOT_FILLABLE",
    10: "FOK_SELF_TRADE",
    11: "UNKNOWN_INSTRUMENT",
    12: "INVALID_DISPLAY_QTY",
}

#: Cancel reason code -> name (``reason`` of ``canceled`` events).
CANCEL_REASONS = {1: "USER", 2: "UNFILLED", 3: "SELF_TRADE", 4: "MASS_CANCEL"}

_IntColumn = int | Sequence[int] | npt.NDArray[Any]


def new_orders(
    *,
    order_id: _IntColumn,
    side: _IntColumn,
    price: _IntColumn,
    qty: _IntColumn,
    account: _IntColumn = 0,
    order_type: _IntColumn = LIMIT,
    tif: _IntColumn = GTC,
    stp: _IntColumn = STP_NONE,
    post_only: _IntColumn = 0,
    display_qty: _IntColumn = 0,
) -> npt.NDArray[np.void]:
    """A command array of new orders, one per element of the (broadcast) columns."""
    given = (order_id, side, price, qty, account, order_type, tif, stp, post_only, display_qty)
    cols = [np.atleast_1d(c) for c in np.broadcast_arrays(*(np.asarray(c) for c in given))]
    out = np.zeros(cols[0].shape[0], dtype=COMMAND_DTYPE)
    names = ("order_id", "side", "price", "qty", "account", "order_type", "tif", "stp")
    for name, col in zip(names, cols[:8], strict=True):
        out[name] = col
    out["flags"] = np.where(cols[8].astype(bool), FLAG_POST_ONLY, 0)
    out["display_qty"] = cols[9]
    out["kind"] = NEW
    return out


def cancels(order_id: _IntColumn) -> npt.NDArray[np.void]:
    """A command array of cancels."""
    ids = np.atleast_1d(np.asarray(order_id))
    out = np.zeros(ids.shape[0], dtype=COMMAND_DTYPE)
    out["order_id"] = ids
    out["kind"] = CANCEL
    return out
