"""Binance's SIGNED REST endpoints over our venue: ``account``, ``order`` (POST, DELETE,
GET), ``openOrders`` (GET, DELETE), ``allOrders`` and ``myTrades``.

Order entry takes Binance's parameters and answers in its shapes:

| Binance | our venue |
|---|---|
| ``type=LIMIT`` + ``timeInForce=GTC/IOC/FOK`` | ``limit``, tif ``gtc``/``ioc``/``fok`` |
| ``type=LIMIT_MAKER`` | ``limit``, tif ``post_only`` (one that would take: -2010) |
| ``type=MARKET`` + ``quantity`` | ``market`` (``quoteOrderQty``: -1014, not supported) |
| ``newClientOrderId`` / ``origClientOrderId`` | the client order id |
| ``newOrderRespType=ACK/RESULT/FULL`` | the response's detail (default FULL) |

A repeated ``newClientOrderId`` returns the first order (our venue is idempotent by client
order id) rather than Binance's -2010. Rejections map to Binance's codes (see
:mod:`wintermute.service.binance.errors`).
"""

from __future__ import annotations

import re

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from wintermute.service.binance.context import (
    BinanceApi,
    Call,
    Params,
    mandatory,
    param_decimal,
    param_int,
)
from wintermute.service.binance.errors import BinanceError, Code
from wintermute.service.binance.formats import (
    decimal_text,
    fill_json,
    my_trade_json,
    order_json,
)
from wintermute.service.venue import OrderState, VenueError

__all__ = ["trading_routes"]

_CLIENT_ID = re.compile(r"[a-zA-Z0-9_\-]{1,36}")
_SIDES = {"BUY": "buy", "SELL": "sell"}
_TIFS = {"GTC": "gtc", "IOC": "ioc", "FOK": "fok"}
_RESP_TYPES = ("ACK", "RESULT", "FULL")
#: Parameters Binance's new-order endpoint takes that this venue does not implement.
_UNSUPPORTED = ("quoteOrderQty", "stopPrice", "icebergQty", "trailingDelta")


def _client_id(params: Params, name: str) -> str | None:
    value = params.get(name)
    if value is not None and not _CLIENT_ID.fullmatch(value):
        raise BinanceError(
            Code.BAD_PARAM,
            f"Illegal characters found in parameter '{name}'; legal range is "
            "'^[a-zA-Z0-9-_]{1,36}$'.",
        )
    return value


def _not_required(name: str) -> BinanceError:
    return BinanceError(Code.PARAM_NOT_REQUIRED, f"Parameter '{name}' sent when not required.")


def _order_ref(params: Params) -> tuple[int | None, str | None]:
    order_id = param_int(params, "orderId")
    client_id = _client_id(params, "origClientOrderId")
    if order_id is None and client_id is None:
        raise BinanceError(
            Code.MANDATORY_PARAM,
            "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
        )
    return order_id, client_id


def _limit(params: Params, default: int = 500, high: int = 1000) -> int:
    limit = param_int(params, "limit", low=1)
    return min(limit if limit is not None else default, high)


def _in_time(ns: int, params: Params) -> bool:
    start = param_int(params, "startTime")
    end = param_int(params, "endTime")
    ms = ns // 1_000_000
    return (start is None or ms >= start) and (end is None or ms <= end)


def trading_routes(api: BinanceApi) -> APIRouter:
    """The SIGNED endpoints under ``/api/v3``."""
    router = APIRouter()
    venue = api.venue

    @router.get("/api/v3/account")
    async def account(request: Request) -> Response:
        async def run(call: Call) -> object:
            omit_zero = call.params.get("omitZeroBalances") == "true"
            balances = [
                {"asset": b.asset, "free": decimal_text(b.free), "locked": decimal_text(b.locked)}
                for b in venue.balances(call.account)
                if not (omit_zero and b.free == 0 and b.locked == 0)
            ]
            zero = decimal_text(None)
            return {
                "makerCommission": 0,
                "takerCommission": 0,
                "buyerCommission": 0,
                "sellerCommission": 0,
                "commissionRates": {"maker": zero, "taker": zero, "buyer": zero, "seller": zero},
                "canTrade": True,
                "canWithdraw": False,
                "canDeposit": False,
                "brokered": False,
                "requireSelfTradePrevention": False,
                "preventSor": False,
                "updateTime": call.now_ms,
                "accountType": "SPOT",
                "balances": balances,
                "permissions": ["SPOT"],
                "uid": call.account,
            }

        return await api.handle(request, run, weight=20, signed=True)

    async def new_order(call: Call) -> object:
        p = call.params
        symbol = api.symbol(p)
        side = p.get("side")
        if side is None:
            raise mandatory("side")
        if side not in _SIDES:
            raise BinanceError(Code.INVALID_SIDE, "Invalid side.")
        kind = p.get("type")
        if kind is None:
            raise mandatory("type")
        for name in _UNSUPPORTED:
            if name in p:
                raise BinanceError(Code.UNKNOWN_ORDER_COMPOSITION, "Unsupported order combination.")
        qty = param_decimal(p, "quantity")
        if qty is None:
            raise mandatory("quantity")
        price = param_decimal(p, "price")
        tif_text = p.get("timeInForce")
        if kind == "LIMIT":
            if tif_text is None:
                raise mandatory("timeInForce")
            if tif_text not in _TIFS:
                raise BinanceError(Code.INVALID_TIF, "Invalid timeInForce.")
            if price is None:
                raise mandatory("price")
            order_type, tif = "limit", _TIFS[tif_text]
        elif kind == "LIMIT_MAKER":
            if tif_text is not None:
                raise _not_required("timeInForce")
            if price is None:
                raise mandatory("price")
            order_type, tif = "limit", "post_only"
        elif kind == "MARKET":
            if tif_text is not None:
                raise _not_required("timeInForce")
            if price is not None:
                raise _not_required("price")
            order_type, tif = "market", "ioc"
        else:
            raise BinanceError(Code.INVALID_ORDER_TYPE, "Invalid orderType.")
        resp_type = p.get("newOrderRespType", "FULL")
        if resp_type not in _RESP_TYPES:
            raise BinanceError(
                Code.BAD_PARAM,
                "Illegal characters found in parameter 'newOrderRespType'; legal range is "
                "'ACK, RESULT, FULL'.",
            )
        try:
            order = await venue.place(
                call.account,
                symbol,
                _SIDES[side],
                order_type,
                qty,
                price,
                tif,
                _client_id(p, "newClientOrderId"),
            )
        except VenueError as e:
            if tif == "post_only" and e.code == "BOOK_REJECTED":
                raise BinanceError(
                    Code.NEW_ORDER_REJECTED, "Order would immediately match and take."
                ) from None
            raise
        if order.status == "rejected":
            if tif == "post_only":
                raise BinanceError(
                    Code.NEW_ORDER_REJECTED, "Order would immediately match and take."
                )
            raise BinanceError(Code.NEW_ORDER_REJECTED, order.reject_reason or "Order rejected.")
        if resp_type == "ACK":
            return order_json(order, api.symbols, "ACK")
        body = order_json(order, api.symbols, "RESULT")
        if resp_type == "FULL":
            fills = [
                f for f in venue.fills(call.account, symbol, 1000) if f.order_id == order.order_id
            ]
            body["fills"] = [fill_json(f) for f in sorted(fills, key=lambda f: f.trade_id)]
        return body

    @router.post("/api/v3/order")
    async def post_order(request: Request) -> Response:
        return await api.handle(request, new_order, signed=True, counts_order=True)

    @router.post("/api/v3/order/test")
    async def test_order(request: Request) -> Response:
        async def run(call: Call) -> object:
            api.symbol(call.params)
            return {}

        return await api.handle(request, run, signed=True)

    @router.delete("/api/v3/order")
    async def cancel_order(request: Request) -> Response:
        async def run(call: Call) -> object:
            symbol = api.symbol(call.params)
            order_id, client_id = _order_ref(call.params)
            _client_id(call.params, "newClientOrderId")
            order = await venue.cancel(
                call.account, symbol, order_id=order_id, client_order_id=client_id
            )
            return order_json(order, api.symbols, "CANCEL")

        return await api.handle(request, run, signed=True)

    @router.get("/api/v3/order")
    async def get_order(request: Request) -> Response:
        async def run(call: Call) -> object:
            symbol = api.symbol(call.params)
            order_id, client_id = _order_ref(call.params)
            order = venue.order(call.account, symbol, order_id=order_id, client_order_id=client_id)
            return order_json(order, api.symbols, "QUERY")

        return await api.handle(request, run, weight=4, signed=True)

    def by_id(orders: list[OrderState]) -> list[OrderState]:
        return sorted(orders, key=lambda o: o.order_id)

    @router.get("/api/v3/openOrders")
    async def open_orders(request: Request) -> Response:
        async def run(call: Call) -> object:
            symbol = api.symbol(call.params) if "symbol" in call.params else None
            orders = by_id(venue.open_orders(call.account, symbol))
            return [order_json(o, api.symbols, "QUERY") for o in orders]

        def weight(params: Params) -> int:
            return 6 if "symbol" in params else 80

        return await api.handle(request, run, weight=weight, signed=True)

    @router.delete("/api/v3/openOrders")
    async def cancel_open_orders(request: Request) -> Response:
        async def run(call: Call) -> object:
            symbol = api.symbol(call.params)
            orders = by_id(await venue.cancel_all(call.account, symbol))
            return [order_json(o, api.symbols, "CANCEL") for o in orders]

        return await api.handle(request, run, signed=True)

    @router.get("/api/v3/allOrders")
    async def all_orders(request: Request) -> Response:
        async def run(call: Call) -> object:
            symbol = api.symbol(call.params)
            limit = _limit(call.params)
            from_id = param_int(call.params, "orderId")
            orders = [
                o
                for o in by_id(venue.all_orders(call.account, symbol, 10 * limit + 1000))
                if (from_id is None or o.order_id >= from_id)
                and _in_time(o.created_ns, call.params)
            ]
            return [order_json(o, api.symbols, "QUERY") for o in orders[:limit]]

        return await api.handle(request, run, weight=20, signed=True)

    @router.get("/api/v3/myTrades")
    async def my_trades(request: Request) -> Response:
        async def run(call: Call) -> object:
            symbol = api.symbol(call.params)
            limit = _limit(call.params)
            order_id = param_int(call.params, "orderId")
            from_id = param_int(call.params, "fromId")
            fills = sorted(
                (
                    f
                    for f in venue.fills(call.account, symbol, 10 * limit + 1000)
                    if (order_id is None or f.order_id == order_id)
                    and (from_id is None or f.trade_id >= from_id)
                    and _in_time(f.ts_ns, call.params)
                ),
                key=lambda f: f.trade_id,
            )
            if from_id is None:
                fills = fills[-limit:]
            return [my_trade_json(f, api.symbols) for f in fills[:limit]]

        return await api.handle(request, run, weight=20, signed=True)

    return router
