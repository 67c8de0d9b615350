"""The order-entry hot path answers exactly what the FastAPI routes answer: the same requests
against an app with it and one without give the same statuses and bodies."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from service_fixtures import running_server, service_config
from wintermute.service.app import create_app
from wintermute.service.keys import demo_keys
from wintermute.service.rest import fast_orders
from wintermute.service.rest.fast_orders import FastOrders
from wintermute.service.settings import ServiceSettings

K1, K2 = {"X-API-Key": "demo-key-1"}, {"X-API-Key": "demo-key-2"}
ORDER = {"symbol": "BTC-USD", "side": "buy", "qty": "0.5", "price": "100.25"}
SETTINGS = ServiceSettings(rate_limit_per_s=10_000, rate_limit_burst=10_000)
#: (method, path, JSON body or raw bytes, headers)
SCRIPT: list[tuple[str, str, Any, dict[str, str]]] = [
    ("POST", "/api/orders", {**ORDER, "client_order_id": "a"}, K1),
    ("POST", "/api/orders", {**ORDER, "client_order_id": "a"}, K1),  # a repeat: the first
    ("POST", "/api/orders", {**ORDER, "side": "sell", "qty": "0.2"}, K2),  # trades
    ("POST", "/api/orders", {**ORDER, "qty": "0.0005"}, K1),  # INVALID_QTY
    ("POST", "/api/orders", {**ORDER, "price": "100.001"}, K1),  # OFF_TICK
    ("POST", "/api/orders", {**ORDER, "symbol": "NOPE"}, K1),  # UNKNOWN_SYMBOL
    ("POST", "/api/orders", {**ORDER, "qty": "99", "price": "900000"}, K1),  # balance
    ("POST", "/api/orders", {**ORDER, "side": "sell", "tif": "post_only"}, K2),  # crosses
    ("POST", "/api/orders", {**ORDER, "extra": 1}, K1),  # unknown field
    ("POST", "/api/orders", {**ORDER, "qty": 0.5}, K1),  # a JSON number
    ("POST", "/api/orders", b"{not json", K1),
    ("POST", "/api/orders", ORDER, {}),  # no key
    ("POST", "/api/orders", ORDER, {"X-API-Key": "wrong"}),
    (
        "POST",
        "/api/orders",
        {**ORDER, "type": "market", "price": None, "side": "sell", "qty": "0.1"},
        K2,
    ),
    ("DELETE", "/api/orders/1", None, K2),  # another account's order
    ("DELETE", "/api/orders/1", None, K1),
    ("DELETE", "/api/orders/1", None, K1),  # again: its state again
    ("DELETE", "/api/orders/999", None, K1),
    ("DELETE", "/api/orders/0", None, K1),
    ("DELETE", "/api/orders/99999999999999999999", None, K1),
    ("DELETE", "/api/orders/1", None, {}),
    ("GET", "/api/orders/1", None, K1),
]
TIMES = ("created_ns", "updated_ns")


def _without_times(body: Any) -> Any:
    if isinstance(body, dict):
        return {k: _without_times(v) for k, v in body.items() if k not in TIMES}
    if isinstance(body, list):
        return [_without_times(x) for x in body]
    return body


def _run(app: FastAPI) -> list[tuple[int, Any, str | None]]:
    out = []
    try:
        with running_server(app) as url, httpx.Client(base_url=url) as client:
            for method, path, body, headers in SCRIPT:
                if isinstance(body, bytes):
                    h = {**headers, "content-type": "application/json"}
                    r = client.request(method, path, content=body, headers=h)
                else:
                    r = client.request(method, path, json=body, headers=headers)
                out.append(
                    (r.status_code, _without_times(r.json()), r.headers.get("ratelimit-limit"))
                )
            metrics = client.get("/metrics").text
    finally:
        app.state.venue.close()
    out.append((0, [line for line in metrics.splitlines() if "api_requests_total{" in line], None))
    return out


def _app(fast: bool) -> FastAPI:
    app = create_app(service_config(), keys=demo_keys(), settings=SETTINGS)
    if not fast:
        app.user_middleware = [m for m in app.user_middleware if m.cls is not FastOrders]  # type: ignore[comparison-overlap]
    return app


def test_the_hot_path_answers_what_the_routes_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    served: list[int] = []
    answer = fast_orders._answer

    async def counting(send: Any, status: int, state: Any) -> None:
        served.append(status)
        await answer(send, status, state)

    monkeypatch.setattr(fast_orders, "_answer", counting)
    fast = _run(_app(True))
    assert served == [201, 201, 201, 201, 200, 200]  # the hot path took the ordinary ones
    routes = _run(_app(False))
    assert len(served) == 6  # and the other app never went near it
    for step, (a, b) in enumerate(zip(fast, routes, strict=True)):
        assert a == b, f"step {step}: {SCRIPT[step] if step < len(SCRIPT) else 'metrics'}"
    statuses = [status for status, _, _ in fast[: len(SCRIPT)]]
    assert statuses == [
        201, 201, 201, 400, 400, 400, 422, 422, 400, 400, 400, 401, 401, 201,
        404, 200, 200, 404, 404, 404, 401, 200,
    ]  # fmt: skip


def test_hot_path_requests_are_counted_under_their_route_templates() -> None:
    (*_, (_, metrics, _)) = _run(_app(True))
    assert any('route="/api/orders"' in line and 'status="201"' in line for line in metrics)
    assert any('route="/api/orders/{order_id}"' in line for line in metrics)
