"""Our venue's records in Binance's shapes: symbols, decimals, orders, trades, exchangeInfo.

- **Symbols**: Binance writes a pair without a separator, upper case in REST (``BTCUSD``) and
  lower case in stream names (``btcusd@depth``); ours is ``BTC-USD``. :class:`SymbolMap`
  translates both ways from the venue's instruments, so a Binance name that no instrument has
  is an unknown symbol (-1121), never a guess.
- **Decimals**: exact text, never through a float. Binance pads to 8 decimal places
  (``"0.10000000"``); a value with more places than 8 keeps them all.
- **Enums**: side ``BUY``/``SELL``; type ``LIMIT``, ``MARKET`` or ``LIMIT_MAKER`` (our
  ``post_only``); timeInForce ``GTC``/``IOC``/``FOK``; status ``NEW``, ``PARTIALLY_FILLED``,
  ``FILLED``, ``CANCELED``, ``REJECTED``, ``EXPIRED``.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from decimal import Decimal

from wintermute.service.venue import Fill, InstrumentInfo, OrderState, Trade

__all__ = [
    "SymbolMap",
    "agg_trade_json",
    "decimal_text",
    "fill_json",
    "order_json",
    "order_type",
    "symbol_json",
    "time_in_force",
    "trade_json",
]

_PLACES = Decimal("0.00000001")


def decimal_text(value: Decimal | None) -> str:
    """``value`` as Binance writes it: at least 8 decimal places, exact (``None``: zero)."""
    if value is None:
        value = Decimal(0)
    exponent = value.as_tuple().exponent
    if isinstance(exponent, int) and exponent >= -8:
        value = value.quantize(_PLACES)  # only appends zeros: exact
    text = format(value, "f")
    return "0.00000000" if text.startswith("-") and Decimal(text) == 0 else text


def _places(step: Decimal) -> int:
    exponent = step.normalize().as_tuple().exponent
    return max(0, -exponent) if isinstance(exponent, int) else 0


class SymbolMap:
    """Binance names of the venue's instruments, both ways."""

    def __init__(self, instruments: Iterable[InstrumentInfo]) -> None:
        self._to_ours: dict[str, str] = {}
        self._to_binance: dict[str, str] = {}
        for info in instruments:
            name = binance_name(info.symbol)
            self._to_ours[name] = info.symbol
            self._to_binance[info.symbol] = name

    def ours(self, binance: str) -> str | None:
        """Our symbol for Binance's ``binance`` (either case), or None."""
        return self._to_ours.get(binance.upper())

    def binance(self, ours: str) -> str:
        """Binance's (upper-case) name of our ``ours``."""
        return self._to_binance.get(ours) or binance_name(ours)


def binance_name(symbol: str) -> str:
    """Binance's name for our symbol: the letters and digits, upper case (``BTC-USD`` ->
    ``BTCUSD``)."""
    return "".join(c for c in symbol if c.isalnum()).upper()


def order_type(order: OrderState) -> str:
    """Binance's order type of ``order``."""
    if order.type == "market":
        return "MARKET"
    return "LIMIT_MAKER" if order.tif == "post_only" else "LIMIT"


def time_in_force(order: OrderState) -> str:
    """Binance's timeInForce of ``order`` (a market or limit-maker order shows ``GTC``)."""
    if order.type == "market" or order.tif == "post_only":
        return "GTC"
    return order.tif.upper()


def _ms(ns: int) -> int:
    return ns // 1_000_000


def order_json(order: OrderState, symbols: SymbolMap, view: str) -> dict[str, object]:
    """``order`` in one of Binance's order shapes: ``ACK`` / ``RESULT`` (new-order responses;
    ``FULL`` is ``RESULT`` plus ``fills``, see :func:`fill_json`), ``QUERY`` (GET order,
    openOrders, allOrders) or ``CANCEL`` (DELETE order)."""
    body: dict[str, object] = {
        "symbol": symbols.binance(order.symbol),
        "orderId": order.order_id,
        "orderListId": -1,
        "clientOrderId": order.client_order_id,
    }
    if view == "ACK":
        body["transactTime"] = _ms(order.updated_ns)
        return body
    if view == "CANCEL":
        body = {
            "symbol": body["symbol"],
            "origClientOrderId": order.client_order_id,
            "orderId": order.order_id,
            "orderListId": -1,
            "clientOrderId": order.client_order_id,
            "transactTime": _ms(order.updated_ns),
        }
    elif view == "RESULT":
        body["transactTime"] = _ms(order.updated_ns)
    body.update(
        {
            "price": decimal_text(order.price),
            "origQty": decimal_text(order.qty),
            "executedQty": decimal_text(order.filled_qty),
            "origQuoteOrderQty": decimal_text(None),
            "cummulativeQuoteQty": decimal_text(order.cum_quote),
            "status": order.status.upper(),
            "timeInForce": time_in_force(order),
            "type": order_type(order),
            "side": order.side.upper(),
        }
    )
    if view == "QUERY":
        body.update(
            {
                "stopPrice": decimal_text(None),
                "icebergQty": decimal_text(None),
                "time": _ms(order.created_ns),
                "updateTime": _ms(order.updated_ns),
                "isWorking": order.status in ("new", "partially_filled"),
            }
        )
    if view in ("RESULT", "QUERY"):
        body["workingTime"] = _ms(order.created_ns)
    body["selfTradePreventionMode"] = "NONE"
    return body


def fill_json(fill: Fill) -> dict[str, object]:
    """One entry of a FULL new-order response's ``fills``."""
    return {
        "price": decimal_text(fill.price),
        "qty": decimal_text(fill.qty),
        "commission": decimal_text(fill.fee),
        "commissionAsset": fill.fee_asset,
        "tradeId": fill.trade_id,
    }


def my_trade_json(fill: Fill, symbols: SymbolMap) -> dict[str, object]:
    """``fill`` as ``GET /api/v3/myTrades`` lists it."""
    return {
        "symbol": symbols.binance(fill.symbol),
        "id": fill.trade_id,
        "orderId": fill.order_id,
        "orderListId": -1,
        "price": decimal_text(fill.price),
        "qty": decimal_text(fill.qty),
        "quoteQty": decimal_text(fill.price * fill.qty),
        "commission": decimal_text(fill.fee),
        "commissionAsset": fill.fee_asset,
        "time": _ms(fill.ts_ns),
        "isBuyer": fill.side == "buy",
        "isMaker": fill.liquidity == "maker",
        "isBestMatch": True,
    }


def trade_json(trade: Trade) -> dict[str, object]:
    """``trade`` as ``GET /api/v3/trades`` lists it (``isBuyerMaker``: the seller took)."""
    return {
        "id": trade.trade_id,
        "price": decimal_text(trade.price),
        "qty": decimal_text(trade.qty),
        "quoteQty": decimal_text(trade.price * trade.qty),
        "time": _ms(trade.ts_ns),
        "isBuyerMaker": trade.taker_side == "sell",
        "isBestMatch": True,
    }


def agg_trade_json(trade: Trade) -> dict[str, object]:
    """``trade`` as ``GET /api/v3/aggTrades`` lists it: an aggregate of one trade."""
    return {
        "a": trade.trade_id,
        "p": decimal_text(trade.price),
        "q": decimal_text(trade.qty),
        "f": trade.trade_id,
        "l": trade.trade_id,
        "T": _ms(trade.ts_ns),
        "m": trade.taker_side == "sell",
        "M": True,
    }


def levels_json(levels: Sequence[tuple[Decimal, Decimal]]) -> list[list[str]]:
    """Book levels as Binance's ``[["price", "qty"], ...]``."""
    return [[decimal_text(p), decimal_text(q)] for p, q in levels]


def symbol_json(info: InstrumentInfo, symbols: SymbolMap) -> dict[str, object]:
    """``info`` as one of ``exchangeInfo``'s ``symbols``: its tick and lot sizes and price and
    quantity bounds become the PRICE_FILTER, LOT_SIZE and MARKET_LOT_SIZE filters."""
    base_places = max(8, _places(info.lot_size))
    quote_places = max(8, _places(info.tick_size))
    lot = {
        "minQty": decimal_text(info.min_qty),
        "maxQty": decimal_text(info.max_qty),
        "stepSize": decimal_text(info.lot_size),
    }
    return {
        "symbol": symbols.binance(info.symbol),
        "status": "TRADING",
        "baseAsset": info.base,
        "baseAssetPrecision": base_places,
        "quoteAsset": info.quote,
        "quotePrecision": quote_places,
        "quoteAssetPrecision": quote_places,
        "baseCommissionPrecision": base_places,
        "quoteCommissionPrecision": quote_places,
        "orderTypes": ["LIMIT", "LIMIT_MAKER", "MARKET"],
        "icebergAllowed": False,
        "ocoAllowed": False,
        "otoAllowed": False,
        "quoteOrderQtyMarketAllowed": False,
        "allowTrailingStop": False,
        "cancelReplaceAllowed": False,
        "amendAllowed": False,
        "isSpotTradingAllowed": True,
        "isMarginTradingAllowed": False,
        "filters": [
            {
                "filterType": "PRICE_FILTER",
                "minPrice": decimal_text(info.min_price),
                "maxPrice": decimal_text(info.max_price),
                "tickSize": decimal_text(info.tick_size),
            },
            {"filterType": "LOT_SIZE", **lot},
            {"filterType": "MARKET_LOT_SIZE", **lot},
        ],
        "permissions": [],
        "permissionSets": [["SPOT"]],
        "defaultSelfTradePreventionMode": "NONE",
        "allowedSelfTradePreventionModes": ["NONE"],
    }
