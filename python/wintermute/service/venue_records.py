"""The venue's records: what the REST, WebSocket and Binance-compatible APIs read and return.

Every price and quantity is an exact ``Decimal`` (the engine's integer ticks and lots times the
instrument's tick and lot sizes); times are wall-clock nanoseconds (``time.time_ns``). The
records are frozen: the venue hands out copies, never its working state.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

__all__ = [
    "Balance",
    "BookUpdate",
    "Depth",
    "Fill",
    "InstrumentInfo",
    "OrderState",
    "Position",
    "Trade",
    "VenueError",
]


@dataclass(frozen=True)
class InstrumentInfo:
    """An instrument as the engine's config defines it."""

    symbol: str
    base: str
    quote: str
    tick_size: Decimal
    lot_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    min_price: Decimal
    max_price: Decimal


@dataclass(frozen=True)
class OrderState:
    """An order as the venue knows it after the engine's verdict."""

    order_id: int
    client_order_id: str
    account: int
    symbol: str
    side: str  # "buy" | "sell"
    type: str  # "limit" | "market"
    tif: str  # "gtc" | "ioc" | "fok" | "post_only"
    price: Decimal | None
    qty: Decimal
    filled_qty: Decimal
    cum_quote: Decimal
    status: str  # new | partially_filled | filled | canceled | rejected | expired
    reject_reason: str | None
    created_ns: int
    updated_ns: int
    #: Exact quantity resting ahead of this order at its price (None unless it rests).
    queue_ahead: Decimal | None

    @property
    def is_open(self) -> bool:
        """True while the order can still trade."""
        return self.status in ("new", "partially_filled")


@dataclass(frozen=True)
class Fill:
    """One side of a trade, as the account that traded sees it."""

    trade_id: int
    order_id: int
    client_order_id: str
    account: int
    symbol: str
    side: str
    price: Decimal
    qty: Decimal
    liquidity: str  # "maker" | "taker"
    fee: Decimal
    fee_asset: str
    ts_ns: int


@dataclass(frozen=True)
class Trade:
    """A trade on the public tape."""

    trade_id: int
    symbol: str
    price: Decimal
    qty: Decimal
    taker_side: str
    ts_ns: int


@dataclass(frozen=True)
class Depth:
    """The book's levels, best first, at book sequence ``seq``."""

    symbol: str
    seq: int
    bids: list[tuple[Decimal, Decimal]]
    asks: list[tuple[Decimal, Decimal]]


@dataclass(frozen=True)
class BookUpdate:
    """The levels one engine command changed (``qty == 0``: the level is gone). The update
    moves the book from sequence ``first_seq - 1`` to ``seq``: a subscriber whose last
    sequence is not ``first_seq - 1`` missed something and must take a new snapshot."""

    symbol: str
    first_seq: int
    seq: int
    bids: list[tuple[Decimal, Decimal]]
    asks: list[tuple[Decimal, Decimal]]
    ts_ns: int


@dataclass(frozen=True)
class Balance:
    """A spot balance: ``free`` can be spent, ``locked`` is held by open orders."""

    asset: str
    free: Decimal
    locked: Decimal


@dataclass(frozen=True)
class Position:
    """An account's net position in one instrument and its PnL in the quote asset
    (average-cost method; unrealized at ``mark_price``, the mid or the last trade)."""

    symbol: str
    qty: Decimal
    avg_price: Decimal | None
    realized_pnl: Decimal
    unrealized_pnl: Decimal
    mark_price: Decimal | None
    fees: Decimal


class VenueError(Exception):
    """Bad input or a refused request; the venue's state is unchanged. ``code`` is one of
    UNKNOWN_SYMBOL, INVALID_QTY, INVALID_PRICE, OFF_TICK, INVALID_ORDER,
    INSUFFICIENT_BALANCE, UNKNOWN_ORDER, DUPLICATE_CLIENT_ORDER_ID, RISK_REJECTED,
    BOOK_REJECTED, KILL_SWITCH, UNAVAILABLE, FORBIDDEN."""

    def __init__(self, code: str, message: str, reason: str | None = None) -> None:
        super().__init__(f"{code}: {message}")
        self.code = code
        self.message = message
        #: The engine's own reason code (``POST_ONLY_WOULD_CROSS``, ``MAX_ORDER_QTY``...).
        self.reason = reason
