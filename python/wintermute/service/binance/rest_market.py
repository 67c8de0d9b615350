"""Binance's public REST endpoints over our venue: ``ping``, ``time``, ``exchangeInfo``,
``depth``, ``trades``, ``aggTrades`` (each trade an aggregate of one), ``ticker/24hr``,
``ticker/price`` and ``ticker/bookTicker``.

``depth``'s ``lastUpdateId`` is the venue's book sequence, the same number the diff-depth
stream's ``U``/``u`` count, so Binance's documented local-book procedure (buffer the stream,
take this snapshot, drop events with ``u <= lastUpdateId``, apply the rest) works as is.
The 24-hour ticker is computed from the venue's trade tape; its averages and percentages are
divisions, rounded to 8 places (``priceChangePercent`` to 3, as Binance writes it).
"""

from __future__ import annotations

import json
from decimal import ROUND_HALF_EVEN, Decimal

from fastapi import APIRouter
from starlette.requests import Request
from starlette.responses import Response

from wintermute.service.binance.context import BinanceApi, Call, Params, param_int
from wintermute.service.binance.errors import BinanceError, Code
from wintermute.service.binance.formats import (
    agg_trade_json,
    decimal_text,
    levels_json,
    symbol_json,
    trade_json,
)
from wintermute.service.binance.weights import depth_weight

__all__ = ["market_routes"]

_DAY_NS = 86_400_000_000_000
#: The most trades the 24-hour ticker reads from the tape.
TICKER_TAPE_LIMIT = 100_000


def _symbols_param(api: BinanceApi, params: Params) -> list[str] | None:
    """Our symbols for ``symbol=X`` or ``symbols=["X","Y"]``; None for neither (all)."""
    if "symbol" in params and "symbols" in params:
        raise BinanceError(
            Code.OPTIONAL_PARAMS_BAD_COMBO,
            "Combination of optional parameters invalid.",
        )
    if "symbol" in params:
        return [api.symbol(params)]
    if "symbols" in params:
        try:
            names = json.loads(params["symbols"])
        except json.JSONDecodeError:
            names = None
        if not isinstance(names, list) or not names or not all(isinstance(n, str) for n in names):
            raise BinanceError(Code.BAD_PARAM, "Illegal characters found in parameter 'symbols'.")
        return [api.symbol({"symbol": n}) for n in names]
    return None


def _count(params: Params) -> int | None:
    if "symbol" in params:
        return 1
    if "symbols" in params:
        try:
            names = json.loads(params["symbols"])
        except json.JSONDecodeError:
            return 1
        return len(names) if isinstance(names, list) else 1
    return None


def _ticker_24hr_weight(params: Params) -> int:
    n = _count(params)
    if n is None or n > 100:
        return 80
    return 2 if n <= 20 else 40


def _one_or_all_weight(params: Params) -> int:
    return 2 if "symbol" in params else 4


def _quantize(value: Decimal, places: str = "0.00000001") -> Decimal:
    return value.quantize(Decimal(places), rounding=ROUND_HALF_EVEN)


def market_routes(api: BinanceApi) -> APIRouter:
    """The public endpoints under ``/api/v3``."""
    router = APIRouter()
    venue = api.venue

    @router.get("/api/v3/ping")
    async def ping(request: Request) -> Response:
        async def run(call: Call) -> object:
            return {}

        return await api.handle(request, run)

    @router.get("/api/v3/time")
    async def server_time(request: Request) -> Response:
        async def run(call: Call) -> object:
            return {"serverTime": call.now_ms}

        return await api.handle(request, run)

    @router.get("/api/v3/exchangeInfo")
    async def exchange_info(request: Request) -> Response:
        async def run(call: Call) -> object:
            wanted = _symbols_param(api, call.params)
            infos = [i for i in venue.instruments() if wanted is None or i.symbol in wanted]
            return {
                "timezone": "UTC",
                "serverTime": call.now_ms,
                "rateLimits": api.limiter.limits.exchange_info(),
                "exchangeFilters": [],
                "symbols": [symbol_json(i, api.symbols) for i in infos],
            }

        return await api.handle(request, run, weight=20)

    def depth_limit(params: Params) -> int:
        limit = param_int(params, "limit", low=1)
        return min(limit if limit is not None else 100, 5000)

    @router.get("/api/v3/depth")
    async def depth(request: Request) -> Response:
        async def run(call: Call) -> object:
            book = venue.depth(api.symbol(call.params), depth_limit(call.params))
            return {
                "lastUpdateId": book.seq,
                "bids": levels_json(book.bids),
                "asks": levels_json(book.asks),
            }

        def weight(params: Params) -> int:
            try:
                return depth_weight(depth_limit(params))
            except BinanceError:
                return 5

        return await api.handle(request, run, weight=weight)

    @router.get("/api/v3/trades")
    async def trades(request: Request) -> Response:
        async def run(call: Call) -> object:
            symbol = api.symbol(call.params)
            limit = param_int(call.params, "limit", low=1)
            tape = venue.trades(symbol, min(limit if limit is not None else 500, 1000))
            tape = sorted(tape, key=lambda t: t.trade_id)
            return [trade_json(t) for t in tape]

        return await api.handle(request, run, weight=25)

    @router.get("/api/v3/aggTrades")
    async def agg_trades(request: Request) -> Response:
        async def run(call: Call) -> object:
            p = call.params
            symbol = api.symbol(p)
            limit = param_int(p, "limit", low=1)
            from_id = param_int(p, "fromId")
            start = param_int(p, "startTime")
            end = param_int(p, "endTime")
            tape = sorted(venue.trades(symbol, TICKER_TAPE_LIMIT), key=lambda t: t.trade_id)
            tape = [
                t
                for t in tape
                if (from_id is None or t.trade_id >= from_id)
                and (start is None or t.ts_ns // 1_000_000 >= start)
                and (end is None or t.ts_ns // 1_000_000 <= end)
            ]
            n = min(limit if limit is not None else 500, 1000)
            tape = tape[:n] if from_id is not None or start is not None else tape[-n:]
            return [agg_trade_json(t) for t in tape]

        return await api.handle(request, run, weight=4)

    def ticker_24hr_json(symbol: str, now_ms: int) -> dict[str, object]:
        since_ns = now_ms * 1_000_000 - _DAY_NS
        tape = sorted(
            (t for t in venue.trades(symbol, TICKER_TAPE_LIMIT) if t.ts_ns >= since_ns),
            key=lambda t: t.trade_id,
        )
        top = venue.depth(symbol, 1)
        bid = top.bids[0] if top.bids else (Decimal(0), Decimal(0))
        ask = top.asks[0] if top.asks else (Decimal(0), Decimal(0))
        volume = sum((t.qty for t in tape), Decimal(0))
        quote_volume = sum((t.qty * t.price for t in tape), Decimal(0))
        first = tape[0] if tape else None
        last = tape[-1] if tape else None
        open_price = first.price if first else Decimal(0)
        last_price = last.price if last else Decimal(0)
        change = last_price - open_price
        return {
            "symbol": api.symbols.binance(symbol),
            "priceChange": decimal_text(change),
            "priceChangePercent": str(_quantize(change * 100 / open_price, "0.001"))
            if open_price
            else "0.000",
            "weightedAvgPrice": decimal_text(_quantize(quote_volume / volume))
            if volume
            else decimal_text(None),
            "prevClosePrice": decimal_text(open_price),
            "lastPrice": decimal_text(last_price),
            "lastQty": decimal_text(last.qty if last else None),
            "bidPrice": decimal_text(bid[0]),
            "bidQty": decimal_text(bid[1]),
            "askPrice": decimal_text(ask[0]),
            "askQty": decimal_text(ask[1]),
            "openPrice": decimal_text(open_price),
            "highPrice": decimal_text(max((t.price for t in tape), default=None)),
            "lowPrice": decimal_text(min((t.price for t in tape), default=None)),
            "volume": decimal_text(volume),
            "quoteVolume": decimal_text(quote_volume),
            "openTime": now_ms - 86_400_000,
            "closeTime": now_ms,
            "firstId": first.trade_id if first else -1,
            "lastId": last.trade_id if last else -1,
            "count": len(tape),
        }

    def all_symbols(params: Params) -> tuple[list[str], bool]:
        wanted = _symbols_param(api, params)
        if wanted is None:
            return [i.symbol for i in venue.instruments()], False
        return wanted, "symbol" in params

    @router.get("/api/v3/ticker/24hr")
    async def ticker_24hr(request: Request) -> Response:
        async def run(call: Call) -> object:
            symbols, single = all_symbols(call.params)
            rows = [ticker_24hr_json(s, call.now_ms) for s in symbols]
            return rows[0] if single else rows

        return await api.handle(request, run, weight=_ticker_24hr_weight)

    @router.get("/api/v3/ticker/price")
    async def ticker_price(request: Request) -> Response:
        async def run(call: Call) -> object:
            symbols, single = all_symbols(call.params)
            rows = []
            for s in symbols:
                last = max(venue.trades(s, 1), key=lambda t: t.trade_id, default=None)
                price = last.price if last is not None else None
                rows.append({"symbol": api.symbols.binance(s), "price": decimal_text(price)})
            return rows[0] if single else rows

        return await api.handle(request, run, weight=_one_or_all_weight)

    @router.get("/api/v3/ticker/bookTicker")
    async def book_ticker(request: Request) -> Response:
        async def run(call: Call) -> object:
            symbols, single = all_symbols(call.params)
            rows = []
            for s in symbols:
                top = venue.depth(s, 1)
                bid = top.bids[0] if top.bids else (None, None)
                ask = top.asks[0] if top.asks else (None, None)
                rows.append(
                    {
                        "symbol": api.symbols.binance(s),
                        "bidPrice": decimal_text(bid[0]),
                        "bidQty": decimal_text(bid[1]),
                        "askPrice": decimal_text(ask[0]),
                        "askQty": decimal_text(ask[1]),
                    }
                )
            return rows[0] if single else rows

        return await api.handle(request, run, weight=_one_or_all_weight)

    return router
