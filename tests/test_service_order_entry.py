"""Order entry served from Rust (``wintermute.service.order_entry``): with a real HTTP client
against the listener on 127.0.0.1, it answers what the Python routes answer, and its orders
are the venue's (seen by the Python routes, the account topic and the order table)."""

from __future__ import annotations

import asyncio
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from service_fixtures import running_server, service_config
from wintermute.errors import WintermuteError
from wintermute.service import order_entry
from wintermute.service.app import create_app
from wintermute.service.keys import demo_keys
from wintermute.service.settings import ServiceSettings
from wintermute.service.venue import VenueError

K1, K2 = {"X-API-Key": "demo-key-1"}, {"X-API-Key": "demo-key-2"}
ORDER = {"symbol": "BTC-USD", "side": "buy", "qty": "0.5", "price": "100.25"}
SETTINGS = ServiceSettings(
    rate_limit_per_s=10_000, rate_limit_burst=10_000, order_entry_bind="127.0.0.1:0"
)
#: (method, path, JSON body or raw bytes, headers, whether the message is pydantic's wording)
SCRIPT: list[tuple[str, str, Any, dict[str, str], bool]] = [
    ("POST", "/api/orders", {**ORDER, "client_order_id": "a"}, K1, False),
    ("POST", "/api/orders", {**ORDER, "client_order_id": "a"}, K1, False),  # a repeat
    ("POST", "/api/orders", {**ORDER, "side": "sell", "qty": "0.2"}, K2, False),  # trades
    ("POST", "/api/orders", {**ORDER, "qty": "0.0005"}, K1, False),  # INVALID_QTY (range)
    ("POST", "/api/orders", {**ORDER, "qty": "0.0015"}, K1, False),  # INVALID_QTY (grid)
    ("POST", "/api/orders", {**ORDER, "qty": "0"}, K1, False),  # INVALID_QTY (not positive)
    ("POST", "/api/orders", {**ORDER, "price": "100.001"}, K1, False),  # OFF_TICK
    ("POST", "/api/orders", {**ORDER, "price": "0.5"}, K1, False),  # INVALID_PRICE
    ("POST", "/api/orders", {**ORDER, "price": "99999999999999999999.9"}, K1, False),  # huge
    ("POST", "/api/orders", {**ORDER, "qty": "1.00000000000000000001"}, K1, False),  # tiny
    ("POST", "/api/orders", {**ORDER, "symbol": "NOPE"}, K1, False),  # UNKNOWN_SYMBOL
    ("POST", "/api/orders", {**ORDER, "qty": "99", "price": "900000"}, K1, False),  # balance
    ("POST", "/api/orders", {**ORDER, "side": "sell", "tif": "post_only"}, K2, False),  # cross
    ("POST", "/api/orders", {**ORDER, "type": "market"}, K1, False),  # market with a price
    ("POST", "/api/orders", {k: v for k, v in ORDER.items() if k != "price"}, K1, False),
    ("POST", "/api/orders", {**ORDER, "extra": 1}, K1, True),  # unknown field
    ("POST", "/api/orders", {**ORDER, "qty": 0.5}, K1, True),  # a JSON number
    ("POST", "/api/orders", {**ORDER, "side": "BUY"}, K1, True),
    ("POST", "/api/orders", {**ORDER, "qty": "1e5"}, K1, True),
    ("POST", "/api/orders", {**ORDER, "client_order_id": "no spaces"}, K1, True),
    ("POST", "/api/orders", [ORDER], K1, True),
    ("POST", "/api/orders", b"{not json", K1, True),
    ("POST", "/api/orders", b"{not json", {}, True),  # bad JSON before the key
    ("POST", "/api/orders", ORDER, {}, False),  # no key
    ("POST", "/api/orders", ORDER, {"X-API-Key": "wrong"}, False),
    ("POST", "/api/orders", b'{"symbol": "' + b"x" * 70_000 + b'"}', K1, False),  # 413
    (
        "POST",
        "/api/orders",
        {**ORDER, "type": "market", "price": None, "side": "sell", "qty": "0.1"},
        K2,
        False,
    ),
    ("DELETE", "/api/orders/1", None, K2, False),  # another account's order
    ("DELETE", "/api/orders/1", None, K1, False),
    ("DELETE", "/api/orders/1", None, K1, False),  # again: its state again
    ("DELETE", "/api/orders/2", None, K2, False),  # filled: not open
    ("DELETE", "/api/orders/999", None, K1, False),
    ("DELETE", "/api/orders/0", None, K1, False),
    ("DELETE", "/api/orders/-5", None, K1, False),
    ("DELETE", "/api/orders/99999999999999999999", None, K1, False),
    ("DELETE", "/api/orders/abc", None, K1, True),
    ("DELETE", "/api/orders/1", None, {}, False),
]
TIMES = ("created_ns", "updated_ns")
VENUE_COUNTS = ("wintermute_venue_commands_total", "wintermute_venue_rejections_total")
#: Compared as they are (``RateLimit-Remaining`` only for being there: it moves with time).
LIMIT_HEADERS = ("ratelimit-limit", "ratelimit-reset", "www-authenticate")


def _without_times(body: Any) -> Any:
    if isinstance(body, dict):
        return {k: _without_times(v) for k, v in body.items() if k not in TIMES}
    return body


def _app(**settings: Any) -> FastAPI:
    s = ServiceSettings(**{**SETTINGS.__dict__, **settings})
    return create_app(service_config(), keys=demo_keys(), settings=s)


def _entry_url(app: FastAPI) -> str:
    host, port = app.state.order_entry.address
    return f"http://{host}:{port}"


def _send(
    client: httpx.Client, method: str, path: str, body: Any, headers: dict[str, str]
) -> httpx.Response:
    if isinstance(body, bytes):
        h = {**headers, "content-type": "application/json"}
        return client.request(method, path, content=body, headers=h)
    return client.request(method, path, json=body, headers=headers)


def _run(app: FastAPI, rust: bool) -> list[tuple[int, Any, dict[str, str | None]]]:
    out = []
    try:
        with running_server(app) as url:
            base = _entry_url(app) if rust else url
            with httpx.Client(base_url=base) as client:
                for method, path, body, headers, _ in SCRIPT:
                    r = _send(client, method, path, body, headers)
                    seen = {h: r.headers.get(h) for h in LIMIT_HEADERS}
                    seen["remaining"] = str("ratelimit-remaining" in r.headers)
                    out.append((r.status_code, _without_times(r.json()), seen))
                    assert r.headers["content-type"] == "application/json"
            depth = app.state.venue.depth("BTC-USD")
            out.append((0, (depth.bids, depth.asks), {}))
            # The venue's commands and refusals on /metrics (the Python app's).
            text = httpx.get(f"{url}/metrics").text
            counted = [line for line in text.splitlines() if line.startswith(VENUE_COUNTS)]
            out.append((0, counted, {}))
    finally:
        app.state.venue.close()
    return out


def test_the_rust_listener_answers_what_the_python_routes_answer() -> None:
    rust, python = _run(_app(), rust=True), _run(_app(), rust=False)
    for step, ((sa, ba, ha), (sb, bb, hb)) in enumerate(zip(rust, python, strict=True)):
        what = (
            SCRIPT[step] if step < len(SCRIPT) else ("the book", "the metrics")[step - len(SCRIPT)]
        )
        assert sa == sb, f"step {step}: {what}: {ba} != {bb}"
        assert ha == hb, f"step {step}: {what}"
        if step < len(SCRIPT) and SCRIPT[step][4]:  # pydantic's wording is not copied
            assert (ba["code"], set(ba)) == (bb["code"], set(bb)), f"step {step}: {what}"
        else:
            assert ba == bb, f"step {step}: {what}"
    assert rust[-1][1], "the listener's commands are counted on /metrics"
    statuses = [status for status, _, _ in rust[: len(SCRIPT)]]
    assert statuses == [
        201, 201, 201, 400, 400, 400, 400, 400, 400, 400, 400, 422, 422, 400, 400,
        400, 400, 400, 400, 400, 400, 400, 400, 401, 401, 413, 201,
        404, 200, 200, 404, 404, 404, 404, 404, 400, 401,
    ]  # fmt: skip


def test_orders_placed_through_rust_are_the_venues_and_the_other_way_round() -> None:
    app = _app()
    venue = app.state.venue
    try:
        with running_server(app) as url, httpx.Client() as client:
            rust = _entry_url(app)
            ask = client.post(f"{rust}/api/orders", json={**ORDER, "side": "sell"}, headers=K2)
            assert ask.status_code == 201, ask.text
            ask_id = ask.json()["order_id"]
            # The Python routes see it, the venue's table holds it, the book shows it.
            seen = client.get(f"{url}/api/orders/{ask_id}", headers=K2).json()
            assert seen == {**ask.json(), "updated_ns": seen["updated_ns"]}
            assert [o["order_id"] for o in client.get(f"{url}/api/orders", headers=K2).json()] == [
                ask_id
            ]
            assert venue.depth("BTC-USD").asks == [(Decimal("100.25"), Decimal("0.500"))]
            # An order placed through Python is canceled through Rust.
            bid = client.post(f"{url}/api/orders", json={**ORDER, "price": "99"}, headers=K1)
            gone = client.delete(f"{rust}/api/orders/{bid.json()['order_id']}", headers=K1)
            assert (gone.status_code, gone.json()["status"]) == (200, "canceled")
            # A client order id used through one is a repeat through the other.
            first = client.post(
                f"{url}/api/orders", json={**ORDER, "price": "98", "client_order_id": "c-1"},
                headers=K1,
            )  # fmt: skip
            again = client.post(
                f"{rust}/api/orders", json={**ORDER, "price": "97", "client_order_id": "c-1"},
                headers=K1,
            )  # fmt: skip
            assert (again.status_code, again.json()) == (201, first.json())
            # A trade against the order placed through Rust: filled, fills and balances moved.
            take = client.post(f"{rust}/api/orders", json={**ORDER, "qty": "0.2"}, headers=K1)
            assert take.json()["status"] == "filled"
            assert (
                client.get(f"{url}/api/orders/{ask_id}", headers=K2).json()["filled_qty"] == "0.200"
            )
            fills = client.get(f"{url}/api/fills", headers=K2).json()
            assert [(f["order_id"], f["qty"], f["liquidity"]) for f in fills] == [
                (ask_id, "0.200", "maker")
            ]
            base = {b.asset: b for b in venue.balances(2)}["BTC"]
            assert (base.free, base.locked) == (Decimal("99.5"), Decimal("0.300"))
    finally:
        venue.close()


def test_the_account_topic_publishes_orders_placed_through_rust() -> None:
    app = _app()
    venue = app.state.venue
    try:
        with running_server(app), httpx.Client() as client:
            sub = venue.subscribe("account:1")
            r = client.post(f"{_entry_url(app)}/api/orders", json=ORDER, headers=K1)
            assert r.status_code == 201

            deadline = time.monotonic() + 5
            while sub.pending() == 0 and time.monotonic() < deadline:
                time.sleep(0.005)
            states = asyncio.run(sub.next_batch())
            assert [(s.order_id, s.status) for s in states] == [(r.json()["order_id"], "new")]
    finally:
        venue.close()


def test_the_rate_limit_answers_429_with_retry_after() -> None:
    app = _app(rate_limit_per_s=1, rate_limit_burst=2)
    try:
        with running_server(app), httpx.Client(base_url=_entry_url(app)) as client:
            answers = [client.delete("/api/orders/999", headers=K1) for _ in range(3)]
            assert [a.status_code for a in answers] == [404, 404, 429]
            refused = answers[2]
            assert refused.json() == {
                "code": "RATE_LIMITED",
                "message": "too many requests for this key",
            }
            assert refused.headers["retry-after"] == "1"
            assert refused.headers["ratelimit-limit"] == "2"
            assert refused.headers["ratelimit-remaining"] == "0"
            # Another key has its own bucket.
            assert client.delete("/api/orders/999", headers=K2).status_code == 404
    finally:
        app.state.venue.close()


def test_without_order_entry_bind_nothing_listens_and_no_gateway_is_reserved() -> None:
    app = _app(order_entry_bind=None)
    try:
        with running_server(app):
            assert app.state.order_entry is None
            with pytest.raises(VenueError, match="order_entry_bind is not set"):
                app.state.venue.order_entry_parts()
    finally:
        app.state.venue.close()


@pytest.mark.parametrize("bind", ["nonsense", "127.0.0.1:99999"])
def test_a_bad_bind_address_is_a_config_error(bind: str) -> None:
    app = _app(order_entry_bind=bind)
    try:
        with pytest.raises(WintermuteError, match="order_entry_bind"):
            order_entry.start(app.state.venue, demo_keys())
    finally:
        app.state.venue.close()


def test_orders_placed_through_rust_come_back_after_a_restart(tmp_path: Path) -> None:
    config = service_config()
    config["journal"] = {"dir": str(tmp_path / "journal"), "fsync": "none"}
    settings = ServiceSettings(**SETTINGS.__dict__)
    app = create_app(config, keys=demo_keys(), settings=settings)
    try:
        with running_server(app), httpx.Client(base_url=_entry_url(app)) as client:
            placed = client.post(
                "/api/orders", json={**ORDER, "client_order_id": "r-1"}, headers=K1
            )
            assert placed.status_code == 201, placed.text
    finally:
        app.state.venue.close()
    again = create_app(config, keys=demo_keys(), settings=settings)
    try:
        with running_server(again) as url, httpx.Client() as client:
            seen = client.get(f"{url}/api/orders/by-client-id/r-1", headers=K1).json()
            assert _without_times(seen) == _without_times(placed.json())
            # A repeat through Rust after the restart answers the first order.
            repeat = client.post(
                f"{_entry_url(again)}/api/orders", json={**ORDER, "client_order_id": "r-1"},
                headers=K1,
            )  # fmt: skip
            assert _without_times(repeat.json()) == _without_times(placed.json())
    finally:
        again.state.venue.close()
