"""The REST API's request and response bodies. Prices and quantities are decimal **strings**
both ways (a JSON number is refused: it would pass through a float)."""

from __future__ import annotations

from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, StringConstraints

from wintermute.service.venue_records import (
    Balance,
    Depth,
    Fill,
    InstrumentInfo,
    OrderState,
    Position,
    Trade,
)

#: A decimal string as requests carry it (the venue checks range and grid).
DecimalText = Annotated[
    str,
    StringConstraints(strict=True, pattern=r"^[0-9]{1,20}(\.[0-9]{1,20})?$", max_length=41),
]
ClientOrderId = Annotated[str, StringConstraints(strict=True, pattern=r"^[A-Za-z0-9._:/-]{1,36}$")]
Symbol = Annotated[str, StringConstraints(strict=True, min_length=1, max_length=32)]


def text(d: Decimal | None) -> str | None:
    """A decimal as plain text (no exponent)."""
    return None if d is None else format(d, "f")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", strict=True)


class NewOrder(_Strict):
    """A new order. ``price`` for limit orders only; market orders trade IOC (or FOK)."""

    symbol: Symbol
    side: Literal["buy", "sell"]
    type: Literal["limit", "market"] = "limit"
    qty: DecimalText
    price: DecimalText | None = None
    tif: Literal["gtc", "ioc", "fok", "post_only"] = "gtc"
    client_order_id: ClientOrderId | None = None


class Amend(_Strict):
    """An amend: the new total quantity and/or the new price."""

    qty: DecimalText | None = None
    price: DecimalText | None = None


class Order(BaseModel):
    """An order's state."""

    order_id: int
    client_order_id: str
    account: int
    symbol: str
    side: str
    type: str
    tif: str
    price: str | None
    qty: str
    filled_qty: str
    cum_quote: str
    status: Literal["new", "partially_filled", "filled", "canceled", "rejected", "expired"]
    reject_reason: str | None
    created_ns: int
    updated_ns: int
    queue_ahead: str | None = Field(
        description="Exact quantity resting ahead of this order at its price (resting orders)"
    )

    @classmethod
    def of(cls, o: OrderState) -> Order:
        return cls(
            order_id=o.order_id, client_order_id=o.client_order_id, account=o.account,
            symbol=o.symbol, side=o.side, type=o.type, tif=o.tif, price=text(o.price),
            qty=format(o.qty, "f"), filled_qty=format(o.filled_qty, "f"),
            cum_quote=format(o.cum_quote, "f"), status=o.status,  # type: ignore[arg-type]
            reject_reason=o.reject_reason, created_ns=o.created_ns, updated_ns=o.updated_ns,
            queue_ahead=text(o.queue_ahead),
        )  # fmt: skip


class FillOut(BaseModel):
    """One of the account's fills."""

    trade_id: int
    order_id: int
    client_order_id: str
    symbol: str
    side: str
    price: str
    qty: str
    liquidity: Literal["maker", "taker"]
    fee: str
    fee_asset: str
    ts_ns: int

    @classmethod
    def of(cls, f: Fill) -> FillOut:
        return cls(
            trade_id=f.trade_id, order_id=f.order_id, client_order_id=f.client_order_id,
            symbol=f.symbol, side=f.side, price=format(f.price, "f"), qty=format(f.qty, "f"),
            liquidity=f.liquidity, fee=format(f.fee, "f"),  # type: ignore[arg-type]
            fee_asset=f.fee_asset, ts_ns=f.ts_ns,
        )  # fmt: skip


class TradeOut(BaseModel):
    """A public trade."""

    trade_id: int
    symbol: str
    price: str
    qty: str
    taker_side: str
    ts_ns: int

    @classmethod
    def of(cls, t: Trade) -> TradeOut:
        return cls(
            trade_id=t.trade_id, symbol=t.symbol, price=format(t.price, "f"),
            qty=format(t.qty, "f"), taker_side=t.taker_side, ts_ns=t.ts_ns,
        )  # fmt: skip


class Book(BaseModel):
    """The book's levels ``[price, qty]``, best first, at sequence ``seq``."""

    symbol: str
    seq: int
    bids: list[tuple[str, str]]
    asks: list[tuple[str, str]]

    @classmethod
    def of(cls, d: Depth) -> Book:
        return cls(
            symbol=d.symbol, seq=d.seq,
            bids=[(format(p, "f"), format(q, "f")) for p, q in d.bids],
            asks=[(format(p, "f"), format(q, "f")) for p, q in d.asks],
        )  # fmt: skip


class Instrument(BaseModel):
    """An instrument and its grid."""

    symbol: str
    base: str
    quote: str
    tick_size: str
    lot_size: str
    min_qty: str
    max_qty: str
    min_price: str
    max_price: str

    @classmethod
    def of(cls, i: InstrumentInfo) -> Instrument:
        return cls(
            symbol=i.symbol, base=i.base, quote=i.quote, tick_size=format(i.tick_size, "f"),
            lot_size=format(i.lot_size, "f"), min_qty=format(i.min_qty, "f"),
            max_qty=format(i.max_qty, "f"), min_price=format(i.min_price, "f"),
            max_price=format(i.max_price, "f"),
        )  # fmt: skip


class BalanceOut(BaseModel):
    """A spot balance."""

    asset: str
    free: str
    locked: str

    @classmethod
    def of(cls, b: Balance) -> BalanceOut:
        return cls(asset=b.asset, free=format(b.free, "f"), locked=format(b.locked, "f"))


class PositionOut(BaseModel):
    """A position with its PnL in the quote asset."""

    symbol: str
    qty: str
    avg_price: str | None
    realized_pnl: str
    unrealized_pnl: str
    mark_price: str | None
    fees: str

    @classmethod
    def of(cls, p: Position) -> PositionOut:
        return cls(
            symbol=p.symbol, qty=format(p.qty, "f"), avg_price=text(p.avg_price),
            realized_pnl=format(p.realized_pnl, "f"),
            unrealized_pnl=format(p.unrealized_pnl, "f"), mark_price=text(p.mark_price),
            fees=format(p.fees, "f"),
        )  # fmt: skip


class Limits(_Strict):
    """Pre-trade limits (None: no limit): quantities in lots, notionals in notional units,
    the price band in ticks or basis points, the order rate as a token bucket."""

    max_order_qty: Annotated[int, Field(ge=0, le=2**62)] | None = None
    max_order_notional: Annotated[int, Field(ge=0, le=2**62)] | None = None
    max_open_orders: Annotated[int, Field(ge=0, le=2**31)] | None = None
    max_position: Annotated[int, Field(ge=0, le=2**62)] | None = None
    max_gross_exposure: Annotated[int, Field(ge=0, le=2**62)] | None = None
    max_net_exposure: Annotated[int, Field(ge=0, le=2**62)] | None = None
    price_band_ticks: Annotated[int, Field(ge=0, le=2**62)] | None = None
    price_band_bps: Annotated[int, Field(ge=0, le=2**31)] | None = None
    order_rate_per_second: Annotated[int, Field(ge=0, le=2**31)] | None = None
    order_rate_burst: Annotated[int, Field(ge=0, le=2**31)] | None = None


class AccountLimits(BaseModel):
    """An account's limits (``limits`` None: its orders are refused)."""

    account: int
    limits: Limits | None


class KillSwitch(_Strict):
    """Engage or release a kill switch: ``account`` None is the global one."""

    engaged: bool
    account: Annotated[int, Field(ge=0, lt=2**32)] | None = None


class KillSwitches(BaseModel):
    """The engaged kill switches."""

    global_engaged: bool
    accounts: list[int]
