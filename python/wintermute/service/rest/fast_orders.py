"""The order-entry hot path: ``POST /api/orders`` and ``DELETE /api/orders/{order_id}`` served
without FastAPI's per-request machinery (routing, dependency solving, response-model
validation), which costs several times the venue's own work per request
(``wintermute bench service`` measures both).

An ASGI middleware in front of the routes. It takes a request only when everything is
ordinary — the method and path of one of the two routes, a known ``X-API-Key``, a JSON body
that ``NewOrder`` accepts — and then does what the route does: the same model, the same venue
call, the same ``Order`` answer (201 / 200) and the same ``{code, message}`` error for a
``VenueError``. Anything else (no key or an unknown one, a body the model refuses, another
content type) goes on to FastAPI with the body replayed, so every error answer comes from one
place and the API is the one the OpenAPI schema describes. The route is set in the ASGI scope,
so metrics, logs and traces name it as before.
"""

from __future__ import annotations

import json
from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wintermute.service.error_responses import STATUS_OF_CODE, error_body
from wintermute.service.keys import KeyStore
from wintermute.service.rest import orders
from wintermute.service.rest.models import NewOrder, Order
from wintermute.service.venue import OrderState, Venue, VenueError

__all__ = ["FastOrders"]

_PREFIX = "/api/orders/"
_JSON = (b"content-type", b"application/json")


def _route(path: str, method: str) -> APIRoute:
    for route in orders.router.routes:
        if isinstance(route, APIRoute) and route.path == path and method in (route.methods or ()):
            return route
    raise LookupError(f"no route {method} {path}")


def _header(scope: Scope, name: bytes) -> bytes | None:
    for key, value in scope["headers"]:
        if key == name:
            return bytes(value)
    return None


class FastOrders:
    """ASGI middleware (see the module documentation); ``fastapi_app`` is the app whose routes
    it stands in for."""

    def __init__(self, app: ASGIApp, fastapi_app: FastAPI) -> None:
        self.app = app
        self.place_route = _route("/api/orders", "POST")
        self.cancel_route = _route("/api/orders/{order_id}", "DELETE")
        self.state = fastapi_app.state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            method, path = scope["method"], scope["path"]
            if method == "POST" and path == "/api/orders":
                await self._place(scope, receive, send)
                return
            if method == "DELETE" and path.startswith(_PREFIX) and path[12:].isdigit():
                await self._cancel(scope, receive, send)
                return
        await self.app(scope, receive, send)

    def _key(self, scope: Scope) -> Any:
        raw = _header(scope, b"x-api-key")
        keys: KeyStore = self.state.keys
        return None if raw is None else keys.lookup(raw.decode("latin-1"))

    async def _place(self, scope: Scope, receive: Receive, send: Send) -> None:
        body, more = b"", True
        while more:
            message = await receive()
            if message["type"] != "http.request":  # the client left
                return
            body += message.get("body", b"")
            more = message.get("more_body", False)
        key = self._key(scope)
        content_type = _header(scope, b"content-type") or b""
        order = None
        if key is not None and content_type.split(b";")[0].strip() == b"application/json":
            try:
                order = NewOrder.model_validate(json.loads(body))
            except ValueError:  # malformed JSON or refused by the model: FastAPI answers
                order = None
        if order is None:
            await self.app(scope, _replay(body, receive), send)
            return
        scope["route"] = self.place_route
        scope.setdefault("state", {})["api_key"] = key
        venue: Venue = self.state.venue
        try:
            state = await venue.place(
                key.account, order.symbol, order.side, order.type, order.qty, order.price,
                order.tif, order.client_order_id,
            )  # fmt: skip
        except VenueError as e:
            await _error(send, e)
            return
        await _answer(send, 201, state)

    async def _cancel(self, scope: Scope, receive: Receive, send: Send) -> None:
        key = self._key(scope)
        order_id = int(scope["path"][12:])
        if key is None or not 1 <= order_id < 2**63:
            await self.app(scope, receive, send)
            return
        scope["route"] = self.cancel_route
        scope.setdefault("path_params", {})["order_id"] = str(order_id)
        scope.setdefault("state", {})["api_key"] = key
        try:
            state = await orders._cancel(self.state.venue, key.account, order_id=order_id)
        except VenueError as e:
            await _error(send, e)
            return
        await _answer(send, 200, state)


def _replay(body: bytes, receive: Receive) -> Receive:
    """A ``receive`` that gives the body read already, then the original's messages."""
    sent = False

    async def replay() -> Message:
        nonlocal sent
        if not sent:
            sent = True
            return {"type": "http.request", "body": body, "more_body": False}
        return await receive()

    return replay


async def _respond(send: Send, status: int, body: bytes) -> None:
    headers = [(b"content-length", str(len(body)).encode()), _JSON]
    await send({"type": "http.response.start", "status": status, "headers": headers})
    await send({"type": "http.response.body", "body": body})


async def _answer(send: Send, status: int, state: OrderState) -> None:
    await _respond(send, status, Order.of(state).model_dump_json().encode())


async def _error(send: Send, e: VenueError) -> None:
    """The app's ``VenueError`` answer (``wintermute.service.error_responses``)."""
    body = error_body(e.code, e.message)
    if e.reason:
        body["reason"] = e.reason
    text = json.dumps(body, ensure_ascii=False, separators=(",", ":"))
    await _respond(send, STATUS_OF_CODE.get(e.code, 400), text.encode())
