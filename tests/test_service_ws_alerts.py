"""Compliance alerts pushed live on the WebSocket's ``alerts`` channel, against a real server
on 127.0.0.1 with a real WebSocket client (``websockets``): the service's venue journals, its
audit trail follows the journal with the monitors on (accounts 1 and 2: one desk), and each
alert reaches the admin and the accounts it names as soon as it is stored, never another
account; in the browser, the alerts panel lists it (headless Chromium, ``ui_browser``)."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, expect
from websockets.asyncio.client import ClientConnection, connect

from service_fixtures import running_server, service_config
from ui_browser import watched_page
from wintermute.config import EngineConfig
from wintermute.service.app import create_app
from wintermute.service.keys import demo_keys
from wintermute.service.settings import ServiceSettings, split_config
from wintermute.service.venue import Venue
from wintermute.service.web_ui import WebUi
from wintermute.storage.audit_settings import AuditSettings
from wintermute.storage.audit_trail import AuditTrail, plan_trail

KEYS = {"admin": "demo-admin-key", 1: "demo-key-1", 2: "demo-key-2", 3: "demo-key-3"}


@dataclass
class Audited:
    url: str
    http: httpx.Client
    trail: AuditTrail

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://") + "/ws"

    def place(self, account: int, **kw: Any) -> dict[str, Any]:
        body = {"symbol": "BTC-USD", "side": "buy", "qty": "1", "price": "100", **kw}
        r = self.http.post("/api/orders", json=body, headers={"X-API-Key": KEYS[account]})
        assert r.status_code == 201, r.text
        out: dict[str, Any] = r.json()
        return out


@pytest.fixture(scope="module")
def audited(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Audited]:
    """A served venue whose journal an audit trail follows, accounts 1 and 2 one desk."""
    engine_doc, _ = split_config(service_config())
    audit = AuditSettings(account_groups={"desk": (1, 2)})
    run_dir: Path = tmp_path_factory.mktemp("alerts") / "run"
    plan = plan_trail(EngineConfig.from_dict(engine_doc), audit, run_dir)
    venue = Venue(plan.engine, ServiceSettings(rate_limit_per_s=10**5, rate_limit_burst=10**5))
    trail = plan.start(audit)
    app = create_app(venue=venue, keys=demo_keys(), audit=trail)
    app.state.ui = WebUi(symbol="BTC-USD", api_key="demo-admin-key")
    try:
        with running_server(app) as base, httpx.Client(base_url=base, timeout=10) as http:
            yield Audited(base, http, trail)
    finally:
        venue.close()
        trail.close()


async def recv(ws: ClientConnection, timeout: float = 15.0) -> dict[str, Any]:
    msg: dict[str, Any] = json.loads(await asyncio.wait_for(ws.recv(), timeout))
    return msg


async def subscribed(url: str, key: str | None) -> ClientConnection:
    ws = await connect(url, additional_headers={} if key is None else {"X-API-Key": key})
    await ws.send(json.dumps({"op": "subscribe", "channel": "alerts"}))
    return ws


def test_an_alert_reaches_the_admin_and_the_accounts_it_names_as_soon_as_it_is_stored(
    audited: Audited,
) -> None:
    async def scenario() -> None:
        clients = {who: await subscribed(audited.ws_url, KEYS[who]) for who in KEYS}
        anonymous = await subscribed(audited.ws_url, None)
        try:
            for ws in clients.values():
                assert (await recv(ws))["type"] == "subscribed"
            refused = await recv(anonymous)
            assert (refused["type"], refused["code"]) == ("error", "UNAUTHORIZED")
            # 1 rests a sell; 2 (1's desk) buys part of it: a wash trade. 3 buys the rest:
            # no alert (3 is not of the desk).
            await asyncio.to_thread(audited.place, 1, side="sell", qty="1")
            await asyncio.to_thread(audited.place, 2, qty="0.4")
            await asyncio.to_thread(audited.place, 3, qty="0.6")
            started = time.monotonic()
            got = {who: await recv(clients[who]) for who in ("admin", 1, 2)}
            waited = time.monotonic() - started
            for who, msg in got.items():
                assert msg["type"] == "alert", (who, msg)
                alert = msg["alert"]
                assert (alert["rule"], alert["account"], alert["contra_account"]) == (
                    "wash_trade", 1, 2
                )  # fmt: skip
                assert (alert["instrument"], alert["price"], alert["qty"]) == (
                    "BTC-USD", "100.00", "0.400"
                )  # fmt: skip
            assert got["admin"] == got[1] == got[2]
            # Stored before it was pushed: the REST API has it, the same.
            stored = audited.http.get(
                "/api/audit/alerts", headers={"X-API-Key": KEYS[1]}, params={"rule": "wash_trade"}
            ).json()
            assert got[1]["alert"] in stored
            assert waited < 10
            # Account 3 got nothing: the next thing it hears is the answer to its ping.
            await asyncio.sleep(0.5)
            await clients[3].send(json.dumps({"op": "ping"}))
            assert (await recv(clients[3]))["type"] == "pong"
        finally:
            for ws in (*clients.values(), anonymous):
                await ws.close()

    asyncio.run(scenario())


def test_alerts_without_an_audit_trail_are_a_clear_error(tmp_path: Path) -> None:
    app = create_app(service_config(), keys=demo_keys())
    try:
        with running_server(app) as base:

            async def scenario() -> dict[str, Any]:
                ws = await subscribed(base.replace("http://", "ws://") + "/ws", KEYS[1])
                try:
                    return await recv(ws)
                finally:
                    await ws.close()

            msg = asyncio.run(scenario())
            assert (msg["type"], msg["code"]) == ("error", "AUDIT_OFF")
    finally:
        app.state.venue.close()


def test_the_alerts_panel_lists_a_new_alert_live(audited: Audited, browser: Browser) -> None:
    ready = "window.wintermute !== undefined && window.wintermute.live.socket.readyState === 1"
    with watched_page(browser, audited.url, timeout_ms=20_000, ready=ready) as page:
        rows = page.locator("#alerts tbody tr")
        before = rows.count()
        # Let the subscription reach the server before the alert is raised.
        expect(page.locator("#connection")).to_have_text("live")
        time.sleep(0.5)
        audited.place(2, side="sell", qty="0.5", price="99")  # 2 rests, 1 (its desk) takes it
        audited.place(1, qty="0.5", price="99")
        expect(rows).to_have_count(before + 1)
        newest = rows.first
        expect(newest).to_have_attribute("data-rule", "wash_trade")
        expect(newest).to_contain_text("2 ↔ 1")
        expect(newest).to_contain_text("BTC-USD 0.500 @ 99.00")
        expect(page.locator("#alerts-note")).to_contain_text("since the page opened")
