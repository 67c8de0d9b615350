"""Binance's WebSocket API (``/ws-api/v3``): requests as JSON frames
``{"id": ..., "method": ..., "params": {...}}``, answered
``{"id": ..., "status": 200, "result": ..., "rateLimits": [...]}`` or, on failure,
``{"id": ..., "status": 400, "error": {"code": ..., "msg": ...}, "rateLimits": [...]}`` with
the REST API's codes.

Methods: ``ping``, ``time``, ``session.logon`` / ``session.status`` / ``session.logout``,
``userDataStream.subscribe.signature`` (signed in its own params: what current ccxt sends for
``watch_orders``), ``userDataStream.subscribe`` (on a logged-on session),
``userDataStream.unsubscribe`` and ``session.subscriptions``. A signed request's payload is its
params but ``signature``, sorted by name, ``name=value`` joined by ``&``; HMAC and Ed25519 keys
both sign it (Binance itself takes only Ed25519 for ``session.logon``; we take both).

A user-data subscription sends the account's events wrapped as
``{"subscriptionId": n, "event": {...}}``: an ``executionReport`` for each change of an order
(``x`` = ``NEW``, ``TRADE`` (one per fill, with ``l``/``L``/``n``/``t``), ``CANCELED``,
``REJECTED`` or ``EXPIRED``; ``z``/``Z`` cumulative), then an ``outboundAccountPosition`` with
the balances of the assets the change touched.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections import OrderedDict
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from fastapi import APIRouter
from starlette.websockets import WebSocket, WebSocketDisconnect

from wintermute.service.binance import signing
from wintermute.service.binance.context import BinanceApi
from wintermute.service.binance.errors import BinanceError, Code, from_venue_error
from wintermute.service.binance.formats import decimal_text, order_type, time_in_force
from wintermute.service.keys import ApiKey
from wintermute.service.venue import Fill, OrderState, Subscriber, VenueError

__all__ = ["AccountReports", "execution_report", "ws_api_routes"]

_TERMINAL = {"canceled": "CANCELED", "rejected": "REJECTED", "expired": "EXPIRED"}


def _ms(ns: int | None = None) -> int:
    return (time.time_ns() if ns is None else ns) // 1_000_000


def execution_report(
    order: OrderState,
    symbol: str,
    *,
    exec_type: str,
    status: str,
    cum_qty: Decimal,
    cum_quote: Decimal,
    fill: Fill | None = None,
) -> dict[str, object]:
    """Binance's ``executionReport`` for ``order`` (``fill``: the trade a TRADE report is for)."""
    when = _ms(fill.ts_ns if fill is not None else order.updated_ns)
    return {
        "e": "executionReport",
        "E": _ms(),
        "s": symbol,
        "c": order.client_order_id,
        "S": order.side.upper(),
        "o": order_type(order),
        "f": time_in_force(order),
        "q": decimal_text(order.qty),
        "p": decimal_text(order.price),
        "P": decimal_text(None),
        "F": decimal_text(None),
        "g": -1,
        "C": order.client_order_id if exec_type == "CANCELED" else "",
        "x": exec_type,
        "X": status,
        "r": "NONE" if exec_type != "REJECTED" else (order.reject_reason or "UNKNOWN"),
        "i": order.order_id,
        "l": decimal_text(fill.qty if fill else None),
        "z": decimal_text(cum_qty),
        "L": decimal_text(fill.price if fill else None),
        "n": decimal_text(fill.fee if fill else None),
        "N": fill.fee_asset if fill else None,
        "T": when,
        "t": fill.trade_id if fill else -1,
        "I": 0,
        "w": status in ("NEW", "PARTIALLY_FILLED") and order.type == "limit",
        "m": bool(fill and fill.liquidity == "maker"),
        "M": False,
        "O": _ms(order.created_ns),
        "Z": decimal_text(cum_quote),
        "Y": decimal_text(fill.price * fill.qty if fill else None),
        "Q": decimal_text(None),
        "W": _ms(order.created_ns),
        "V": "NONE",
    }


@dataclass
class _Reported:
    """What a subscription has told its client about one order."""

    done: bool = False
    qty: Decimal = Decimal(0)
    quote: Decimal = Decimal(0)


class AccountReports:
    """Turns an account's venue events (order states and fills) into Binance's user-data
    events, keeping per order what was reported so that each fill is one TRADE report with
    the right cumulative quantities, whatever order the venue's events come in. It remembers
    the last ``MAX_ORDERS`` orders it reported on."""

    MAX_ORDERS = 100_000

    def __init__(self, api: BinanceApi, account: int) -> None:
        self.api = api
        self.account = account
        self._orders: OrderedDict[int, _Reported] = OrderedDict()

    def _reported(self, order: OrderState, name: str, out: list[dict[str, object]]) -> _Reported:
        """The order's record; a first sight of it is reported NEW first."""
        seen = self._orders.get(order.order_id)
        if seen is not None:
            self._orders.move_to_end(order.order_id)
            return seen
        seen = self._orders[order.order_id] = _Reported()
        if len(self._orders) > self.MAX_ORDERS:
            self._orders.popitem(last=False)
        zero = Decimal(0)
        out.append(
            execution_report(
                order, name, exec_type="NEW", status="NEW", cum_qty=zero, cum_quote=zero
            )
        )
        return seen

    def events(self, item: object) -> list[dict[str, object]]:
        """The Binance events for one venue event (none for one already reported)."""
        out: list[dict[str, object]] = []
        if isinstance(item, Fill):
            try:
                order = self.api.venue.order(self.account, item.symbol, order_id=item.order_id)
            except VenueError:
                return []
            name = self.api.symbols.binance(item.symbol)
            seen = self._reported(order, name, out)
            seen.qty += item.qty
            seen.quote += item.qty * item.price
            status = "FILLED" if seen.qty >= order.qty else "PARTIALLY_FILLED"
            out.append(
                execution_report(
                    order,
                    name,
                    exec_type="TRADE",
                    status=status,
                    cum_qty=seen.qty,
                    cum_quote=seen.quote,
                    fill=item,
                )
            )
            out.append(self._position(item.symbol))
        elif isinstance(item, OrderState):
            name = self.api.symbols.binance(item.symbol)
            seen = self._reported(item, name, out)
            terminal = _TERMINAL.get(item.status)
            if terminal is not None and not seen.done:
                seen.done = True
                out.append(
                    execution_report(
                        item,
                        name,
                        exec_type=terminal,
                        status=terminal,
                        cum_qty=item.filled_qty,
                        cum_quote=item.cum_quote,
                    )
                )
            if out:
                out.append(self._position(item.symbol))
        return out

    def _position(self, symbol: str) -> dict[str, object]:
        info = self.api.venue.instrument(symbol)
        assets = {info.base, info.quote}
        return {
            "e": "outboundAccountPosition",
            "E": _ms(),
            "u": _ms(),
            "B": [
                {"a": b.asset, "f": decimal_text(b.free), "l": decimal_text(b.locked)}
                for b in self.api.venue.balances(self.account)
                if b.asset in assets
            ],
        }


class WsApiSession:
    """One WebSocket API connection."""

    def __init__(self, api: BinanceApi, ws: WebSocket) -> None:
        self.api = api
        self.ws = ws
        self.client = ws.client.host if ws.client is not None else "unknown"
        self.key: ApiKey | None = None
        self.connected_ms = _ms()
        self.logon_ms: int | None = None
        self.next_subscription = 0
        self.subscriptions: dict[int, asyncio.Task[None]] = {}
        self.send_lock = asyncio.Lock()

    async def send(self, body: dict[str, object]) -> None:
        async with self.send_lock:
            await self.ws.send_text(json.dumps(body))

    def rate_limits(self, now: int) -> list[dict[str, object]]:
        limits = self.api.limiter.limits
        return [
            {
                "rateLimitType": "REQUEST_WEIGHT",
                "interval": "MINUTE",
                "intervalNum": 1,
                "limit": limits.weight_per_minute,
                "count": self.api.limiter.used_weight(self.client, now),
            }
        ]

    def signed_key(self, params: dict[str, Any], now: int) -> ApiKey:
        key = self.api.lookup_key(
            params.get("apiKey") if isinstance(params.get("apiKey"), str) else None
        )
        signing.check_timestamp({k: str(v) for k, v in params.items()}, now)
        signature = params.get("signature")
        if not isinstance(signature, str) or not signature:
            raise BinanceError(
                Code.MANDATORY_PARAM,
                "Mandatory parameter 'signature' was not sent, was empty/null, or malformed.",
            )
        if not signing.verify(
            signing.ws_payload(params),
            signature,
            hmac_secret=key.hmac_secret,
            ed25519_public_key=key.ed25519_public_key,
        ):
            raise BinanceError(Code.INVALID_SIGNATURE, "Signature for this request is not valid.")
        return key

    def subscribe(self, key: ApiKey) -> dict[str, object]:
        sub_id = self.next_subscription
        self.next_subscription += 1
        sub = self.api.venue.subscribe(f"account:{key.account}")
        self.subscriptions[sub_id] = asyncio.create_task(self.forward(sub_id, sub, key.account))
        return {"subscriptionId": sub_id}

    async def forward(self, sub_id: int, sub: Subscriber, account: int) -> None:
        reports = AccountReports(self.api, account)
        try:
            while True:
                for item in await sub.next_batch():
                    for event in reports.events(item):
                        await self.send({"subscriptionId": sub_id, "event": event})
        except asyncio.CancelledError:
            raise
        except Exception:  # dropped as a slow consumer, or the venue stopped
            with contextlib.suppress(Exception):
                await self.send(
                    {"subscriptionId": sub_id, "event": {"e": "eventStreamTerminated", "E": _ms()}}
                )
        finally:
            sub.close()

    async def call(self, method: object, params: dict[str, Any], now: int) -> object:
        if method == "ping":
            return {}
        if method == "time":
            return {"serverTime": now}
        if method == "session.logon":
            self.key = self.signed_key(params, now)
            self.logon_ms = now
            return self.status(now)
        if method == "session.status":
            return self.status(now)
        if method == "session.logout":
            self.key, self.logon_ms = None, None
            return self.status(now)
        if method == "userDataStream.subscribe.signature":
            return self.subscribe(self.signed_key(params, now))
        if method == "userDataStream.subscribe":
            if self.key is None:
                raise BinanceError(
                    Code.UNAUTHORIZED, "You are not authorized to execute this request."
                )
            return self.subscribe(self.key)
        if method == "userDataStream.unsubscribe":
            wanted = params.get("subscriptionId")
            ids = list(self.subscriptions) if wanted is None else [wanted]
            for sub_id in ids:
                task = self.subscriptions.pop(sub_id, None) if isinstance(sub_id, int) else None
                if task is None:
                    raise BinanceError(
                        Code.INVALID_PARAMETER,
                        "Invalid data sent for a parameter: 'subscriptionId'.",
                    )
                task.cancel()
            return {}
        if method == "session.subscriptions":
            return [{"subscriptionId": s} for s in sorted(self.subscriptions)]
        raise BinanceError(Code.UNSUPPORTED_OPERATION, "This request is not supported.")

    def status(self, now: int) -> dict[str, object]:
        return {
            "apiKey": self.key.key if self.key is not None else None,
            "authorizedSince": self.logon_ms,
            "connectedSince": self.connected_ms,
            "returnRateLimits": True,
            "serverTime": now,
            "userDataStream": bool(self.subscriptions),
        }

    async def answer(self, text: str) -> None:
        now = self.api.clock_ms()
        request_id: object = None
        try:
            try:
                msg = json.loads(text)
            except json.JSONDecodeError:
                raise BinanceError(Code.BAD_PARAM, "Malformed request: not JSON.") from None
            if not isinstance(msg, dict):
                raise BinanceError(Code.BAD_PARAM, "Malformed request: not an object.")
            request_id = msg.get("id")
            params = msg.get("params", {})
            if not isinstance(params, dict):
                raise BinanceError(Code.BAD_PARAM, "Malformed request: params is not an object.")
            self.api.limiter.spend_weight(self.client, 2, now)
            result = await self.call(msg.get("method"), params, now)
            body: dict[str, object] = {"id": request_id, "status": 200, "result": result}
        except VenueError as e:
            err = from_venue_error(e.code, e.message)
            body = {"id": request_id, "status": err.status, "error": err.body()}
        except BinanceError as e:
            body = {"id": request_id, "status": e.status, "error": e.body()}
            if e.retry_after is not None:
                body["error"] = {**e.body(), "data": {"retryAfter": now + 1000 * e.retry_after}}
        body["rateLimits"] = self.rate_limits(now)
        await self.send(body)

    async def run(self) -> None:
        await self.ws.accept()
        try:
            while True:
                await self.answer(await self.ws.receive_text())
        except (WebSocketDisconnect, RuntimeError):
            pass
        finally:
            tasks = list(self.subscriptions.values())
            for task in tasks:
                task.cancel()
            await asyncio.gather(*tasks, return_exceptions=True)


def ws_api_routes(api: BinanceApi) -> APIRouter:
    """``/ws-api/v3``."""
    router = APIRouter()

    @router.websocket("/ws-api/v3")
    async def ws_api(ws: WebSocket) -> None:
        await WsApiSession(api, ws).run()

    return router
