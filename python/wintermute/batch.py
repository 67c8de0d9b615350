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

A caller that needs only the order events (acks, rejections, fills, cancels, amends) passes
``book_deltas=False``: the book's level updates are left out (on a typical mix about half the
records, and a faster call), and every other record is the same, ``seq`` included (the level
updates keep their numbers, so the ``seq`` column has gaps)::

    >>> more = batch.new_orders(order_id=[3, 4], side=[batch.SELL, batch.BUY],
    ...                         price=[6_400_200, 6_400_000], qty=[100, 100])
    >>> orders = eng.submit_batch(btc, more, book_deltas=False)
    >>> [batch.KIND_NAMES[k] for k in orders["kind"]], [int(s) for s in orders["seq"]]
    (['accepted', 'accepted', 'trade'], [6, 8, 9])

Prices are integer ticks and quantities integer lots of the instrument (see
``Engine.instrument(...)``). The layouts are fixed, little-endian, and documented field by field
in ``crates/core/src/records.rs``, and this module reads them from there (``_core``) at import,
so they exist once; ``command`` in an event is the index of the command that
caused it. A command that fails validation inside a batch does not stop the batch: it yields one
``rejected`` event with ``seq == 0`` and the reason code (``REJECT_REASONS``).
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

from wintermute import _core

__all__ = [
    "AMEND",
    "AMEND_TOTAL",
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

_COMMAND_CODES = dict(_core.COMMAND_CODES)


def _codes(name: str) -> int:
    """The code ``name`` of a command record (``wintermute_core::records::tables``)."""
    return _COMMAND_CODES[name]


#: 48-byte command record (the layout is Rust's: ``_core.COMMAND_FIELDS``).
COMMAND_DTYPE = np.dtype(_core.COMMAND_FIELDS)

#: 80-byte event record (``_core.EVENT_FIELDS``).
EVENT_DTYPE = np.dtype(_core.EVENT_FIELDS)
assert COMMAND_DTYPE.itemsize == _core.COMMAND_SIZE
assert EVENT_DTYPE.itemsize == _core.EVENT_SIZE

# Command kinds, sides, types, time in force, STP modes, flags (``_core.COMMAND_CODES``).
NEW, CANCEL, AMEND, MASS_CANCEL = (
    _codes("NEW"),
    _codes("CANCEL"),
    _codes("AMEND"),
    _codes("MASS_CANCEL"),
)
#: An amend by total: ``qty`` is the open quantity wanted as the sender saw the order, and the
#: ``display_qty`` column holds the open quantity it saw (``docs/matching.md``).
AMEND_TOTAL = _codes("AMEND_TOTAL")
BUY, SELL, BOTH_SIDES = _codes("BUY"), _codes("SELL"), _codes("BOTH_SIDES")
LIMIT, MARKET = _codes("LIMIT"), _codes("MARKET")
GTC, IOC, FOK = _codes("GTC"), _codes("IOC"), _codes("FOK")
STP_NONE, STP_CANCEL_NEWEST, STP_CANCEL_OLDEST = (
    _codes("STP_NONE"),
    _codes("STP_CANCEL_NEWEST"),
    _codes("STP_CANCEL_OLDEST"),
)
STP_CANCEL_BOTH, STP_DECREMENT = _codes("STP_CANCEL_BOTH"), _codes("STP_DECREMENT")
FLAG_POST_ONLY, FLAG_HAS_PRICE = _codes("FLAG_POST_ONLY"), _codes("FLAG_HAS_PRICE")
FLAG_HAS_QTY, FLAG_HAS_ACCOUNT = _codes("FLAG_HAS_QTY"), _codes("FLAG_HAS_ACCOUNT")

#: Event kind code -> name.
KIND_NAMES: dict[int, str] = dict(_core.EVENT_KINDS)

#: Reject reason code -> name (``reason`` of ``rejected`` events).
REJECT_REASONS: dict[int, str] = dict(_core.REJECT_REASONS)

#: Cancel reason code -> name (``reason`` of ``canceled`` events).
CANCEL_REASONS: dict[int, str] = dict(_core.CANCEL_REASONS)

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
