"""The REST API against a real server on 127.0.0.1 with a real HTTP client (httpx): the order
lifecycle, authentication, other accounts' orders, bad payloads (4xx, the book unchanged),
rate limits, risk controls and metrics."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import httpx
import pytest

from service_fixtures import Service, running_server, service, service_config  # noqa: F401
from wintermute.service.app import create_app
from wintermute.service.keys import demo_keys
from wintermute.service.settings import ServiceSettings

K1 = {"X-API-Key": "demo-key-1"}
K2 = {"X-API-Key": "demo-key-2"}
ADMIN = {"X-API-Key": "demo-admin-key"}


@pytest.fixture
def http(service: Service) -> Iterator[httpx.Client]:  # noqa: F811
    with httpx.Client(base_url=service.url, timeout=10) as client:
        yield client


def order(**kw: Any) -> dict[str, Any]:
    return {"symbol": "BTC-USD", "side": "buy", "qty": "1", "price": "100", **kw}


def test_an_order_lives_rests_amends_fills_and_shows_in_fills_and_balances(
    http: httpx.Client,
) -> None:
    r = http.post(
        "/api/orders", json=order(side="sell", qty="2", client_order_id="s-1"), headers=K1
    )
    assert r.status_code == 201, r.text
    ask = r.json()
    assert (ask["status"], ask["price"], ask["qty"], ask["queue_ahead"]) == (
        "new", "100.00", "2.000", "0.000",
    )  # fmt: skip
    behind = http.post("/api/orders", json=order(side="sell", qty="1"), headers=K2).json()
    assert behind["queue_ahead"] == "2.000"
    r = http.patch(f"/api/orders/{ask['order_id']}", json={"qty": "1.5"}, headers=K1)
    assert r.json()["qty"] == "1.500"
    assert http.get(f"/api/orders/{behind['order_id']}", headers=K2).json()["queue_ahead"] == (
        "1.500"
    )
    book = http.get("/api/book/BTC-USD", params={"depth": 5}).json()
    assert book["asks"] == [["100.00", "2.500"]]
    r = http.post("/api/orders", json=order(qty="2", type="limit", tif="ioc"), headers=ADMIN)
    taker = r.json()
    assert (taker["status"], taker["filled_qty"], taker["cum_quote"]) == (
        "filled", "2.000", "200.00000",
    )  # fmt: skip
    mine = http.get("/api/orders/by-client-id/s-1", headers=K1).json()
    assert (mine["status"], mine["queue_ahead"]) == ("filled", None)
    fills = http.get("/api/fills", headers=K1).json()
    assert [(f["liquidity"], f["qty"], f["price"]) for f in fills] == [("maker", "1.500", "100.00")]
    left = http.get("/api/orders", headers=K2).json()
    assert [(o["filled_qty"], o["queue_ahead"]) for o in left] == [("0.500", "0.000")]
    assert http.delete(f"/api/orders/{behind['order_id']}", headers=K2).json()["status"] == (
        "canceled"
    )
    again = http.delete(f"/api/orders/{behind['order_id']}", headers=K2)
    assert (again.status_code, again.json()["status"]) == (200, "canceled")  # idempotent
    assert http.get("/api/book/BTC-USD").json()["asks"] == []
    trades = http.get("/api/trades/BTC-USD").json()
    assert [(t["qty"], t["taker_side"]) for t in trades] == [("1.500", "buy"), ("0.500", "buy")]
    balances = {b["asset"]: b for b in http.get("/api/account/balances", headers=K1).json()}
    assert balances["BTC"] == {"asset": "BTC", "free": "98.500", "locked": "0.000"}
    positions = http.get("/api/account/positions", headers=K1).json()
    assert [(p["symbol"], p["qty"]) for p in positions] == [("BTC-USD", "-1.500")]
    history = http.get("/api/orders/history", params={"symbol": "BTC-USD"}, headers=K1).json()
    assert [o["client_order_id"] for o in history] == ["s-1"]


def test_a_repeated_client_order_id_places_one_order(http: httpx.Client) -> None:
    first = http.post("/api/orders", json=order(client_order_id="dup"), headers=K1).json()
    again = http.post("/api/orders", json=order(client_order_id="dup", qty="5"), headers=K1)
    assert again.json()["order_id"] == first["order_id"]
    assert len(http.get("/api/orders", headers=K1).json()) == 1


def test_mass_cancel_cancels_the_accounts_orders_only(http: httpx.Client) -> None:
    for price in ("100", "101"):
        http.post("/api/orders", json=order(price=price), headers=K1)
    http.post("/api/orders", json=order(price="99"), headers=K2)
    done = http.delete("/api/orders", params={"symbol": "BTC-USD"}, headers=K1).json()
    assert sorted(o["price"] for o in done) == ["100.00", "101.00"]
    assert http.get("/api/book/BTC-USD").json()["bids"] == [["99.00", "1.000"]]


@pytest.mark.parametrize("headers", [{}, {"X-API-Key": "wrong"}, {"X-API-Key": ""}])
def test_a_missing_or_wrong_key_is_a_401_with_a_json_error(
    http: httpx.Client, headers: dict[str, str]
) -> None:
    routes = [("POST", "/api/orders"), ("GET", "/api/orders"), ("GET", "/api/fills"),
              ("GET", "/api/account/balances"), ("DELETE", "/api/orders/1")]  # fmt: skip
    for method, path in routes:
        r = http.request(method, path, json=order(), headers=headers)
        assert r.status_code == 401, (method, path)
        assert r.json()["code"] == "UNAUTHORIZED"
        assert "wrong" not in r.text


def test_another_accounts_order_is_a_404_and_stays_untouched(http: httpx.Client) -> None:
    mine = http.post("/api/orders", json=order(client_order_id="mine"), headers=K1).json()
    oid = mine["order_id"]
    for method, path, body in (
        ("GET", f"/api/orders/{oid}", None),
        ("GET", "/api/orders/by-client-id/mine", None),
        ("DELETE", f"/api/orders/{oid}", None),
        ("DELETE", "/api/orders/by-client-id/mine", None),
        ("PATCH", f"/api/orders/{oid}", {"qty": "3"}),
    ):
        r = http.request(method, path, json=body, headers=K2)
        assert r.status_code == 404, (method, path)
        assert r.json()["code"] == "UNKNOWN_ORDER"
    assert http.get("/api/orders", headers=K2).json() == []
    assert http.get(f"/api/orders/{oid}", headers=K1).json() == mine


BAD_ORDERS: list[Any] = [
    order(symbol="DOGE-USD"),
    order(qty="-1"),
    order(qty="0"),
    order(qty="0.0001"),
    order(price="100.001"),
    order(qty="99999999999999999999.99999999999999999999"),
    order(price="0"),
    order(qty=1),  # a JSON number: never a float round trip
    order(price=100.5),
    order(qty=None),
    order(side="up"),
    order(tif="day"),
    order(extra="field"),
    order(type="market"),  # a market order takes no price
    order(client_order_id="x" * 37),
    order(qty="1e3"),
    order(qty="NaN"),
    [order()],
    "just a string",
]


@pytest.mark.parametrize("body", BAD_ORDERS)
def test_bad_payloads_are_4xx_and_leave_the_book_unchanged(http: httpx.Client, body: Any) -> None:
    http.post("/api/orders", json=order(side="sell", price="200"), headers=K2)
    before = http.get("/api/book/BTC-USD").json()
    r = http.post("/api/orders", json=body, headers=K1)
    assert 400 <= r.status_code < 500, r.text
    assert set(r.json()) >= {"code", "message"}
    assert http.get("/api/book/BTC-USD").json() == before
    assert http.get("/api/orders", headers=K1).json() == []


def test_malformed_json_and_oversized_bodies_are_4xx(http: httpx.Client) -> None:
    r = http.post(
        "/api/orders", content=b'{"symbol": ', headers={**K1, "content-type": "application/json"}
    )
    assert (r.status_code, r.json()["code"]) == (400, "INVALID_REQUEST")
    big = b'{"symbol": "' + b"x" * 100_000 + b'"}'
    r = http.post("/api/orders", content=big, headers={**K1, "content-type": "application/json"})
    assert (r.status_code, r.json()["code"]) == (413, "PAYLOAD_TOO_LARGE")
    chunks = (b'{"symbol": "' if i == 0 else b"x" * 10_000 for i in range(20))  # no length
    r = http.post("/api/orders", content=chunks, headers={**K1, "content-type": "application/json"})
    assert (r.status_code, r.json()["code"]) == (413, "PAYLOAD_TOO_LARGE")
    r = http.get("/api/book/BTC-USD", params={"depth": "lots"})
    assert r.status_code == 400
    r = http.get("/api/orders/99999999999999999999999", headers=K1)
    assert 400 <= r.status_code < 500
    assert http.get("/api/book/NOPE").status_code == 400


def test_rate_limits_answer_429_with_retry_after_and_standard_headers() -> None:
    settings = ServiceSettings(rate_limit_per_s=1, rate_limit_burst=3)
    app = create_app(service_config(), keys=demo_keys(), settings=settings)
    try:
        with running_server(app) as url, httpx.Client(base_url=url) as http:
            seen = [http.get("/api/orders", headers=K1) for _ in range(4)]
            assert [r.status_code for r in seen] == [200, 200, 200, 429]
            assert [r.headers["RateLimit-Remaining"] for r in seen[:3]] == ["2", "1", "0"]
            assert seen[0].headers["RateLimit-Limit"] == "3"
            assert int(seen[3].headers["Retry-After"]) >= 1
            assert seen[3].json()["code"] == "RATE_LIMITED"
            assert http.get("/api/orders", headers=K2).status_code == 200  # its own bucket
            assert http.get("/health").status_code == 200  # not limited
    finally:
        app.state.venue.close()


def test_admins_change_limits_and_the_kill_switch_and_traders_cannot(http: httpx.Client) -> None:
    assert http.get("/api/risk/limits", headers=K1).json()["limits"]["max_order_qty"] == 100_000
    assert http.put("/api/risk/limits/1", json={"max_order_qty": 1}, headers=K1).status_code == 403
    r = http.put("/api/risk/limits/1", json={"max_order_qty": 500}, headers=ADMIN)
    assert r.json()["limits"]["max_order_qty"] == 500
    r = http.post("/api/orders", json=order(qty="1"), headers=K1)
    assert (r.status_code, r.json()["code"], r.json()["reason"]) == (
        422, "RISK_REJECTED", "MAX_ORDER_QTY",
    )  # fmt: skip
    assert (
        http.post("/api/admin/kill-switch", json={"engaged": True}, headers=K1).status_code == 403
    )
    r = http.post("/api/admin/kill-switch", json={"engaged": True}, headers=ADMIN)
    assert r.json() == {"global_engaged": True, "accounts": []}
    r = http.post("/api/orders", json=order(qty="0.1"), headers=K2)
    assert (r.status_code, r.json()["code"]) == (422, "KILL_SWITCH")
    http.post("/api/admin/kill-switch", json={"engaged": False}, headers=ADMIN)
    assert http.post("/api/orders", json=order(qty="0.1"), headers=K2).status_code == 201


def test_metrics_follow_prometheus_names_and_count_requests(http: httpx.Client) -> None:
    http.post("/api/orders", json=order(), headers=K1)
    http.get("/api/orders/12345", headers=K1)
    text = http.get("/metrics").text
    assert (
        'wintermute_api_requests_total{method="POST",route="/api/orders",status="201"} 1.0' in text
    )
    assert 'route="/api/orders/{order_id}",status="404"' in text
    assert 'wintermute_engine_commands_total{result="received"}' in text
    assert 'wintermute_engine_stage_latency_seconds{quantile="0.99",stage="end_to_end"}' in text
    assert "wintermute_api_request_duration_seconds_bucket" in text
    assert "demo-key" not in text


def test_health_readiness_and_the_openapi_schema_are_served(http: httpx.Client) -> None:
    assert http.get("/ready").json() == {"status": "ready"}
    schema = http.get("/openapi.json").json()
    assert "/api/orders" in schema["paths"]
    assert http.get("/docs").status_code == 200
    assert http.get("/").headers["content-type"].startswith("text/html")  # the web UI
