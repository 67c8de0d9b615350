"""The web UI with the live market maker running (headless Debian Chromium through Playwright):
its panel shows the running state with numbers (quotes with their queue places, inventory,
PnL and its parts, the interlock and its pulls per cause, hedge decisions, the hedges sent and
what came of them), updated live; its quotes are marked on the ladder; an operator's kill switch
shows as a pull; the service's kill switch (the admin REST call) pulls the quotes and holds the
hedging, and the panel shows the hold until it is released."""

from __future__ import annotations

import asyncio
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from decimal import Decimal

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from service_fixtures import running_server
from ui_browser import watched_page
from wintermute import mm_live
from wintermute.service.app import create_app
from wintermute.service.external_market import ExternalMarket
from wintermute.service.keys import demo_keys
from wintermute.service.order_flow import OrderFlow
from wintermute.service.settings import ServiceSettings
from wintermute.service.venue import Venue
from wintermute.service.web_ui import WebUi

SYMBOL = "BTC-USD"
ADMIN = {"X-API-Key": "demo-admin-key"}
WAIT_MS = 30_000


@dataclass
class MmServer:
    url: str
    venue: Venue
    maker: mm_live.LiveMarketMaker


@pytest.fixture(scope="module")
def mm_server() -> Iterator[MmServer]:
    config = mm_live.paper_config()
    settings = ServiceSettings(rate_limit_per_s=100_000, rate_limit_burst=100_000)
    venue = Venue(mm_live.engine_config(config), settings, reserve=1)
    market = ExternalMarket(steps=4000, pace="1")
    maker = mm_live.start_on_venue(config, venue, market)
    app = create_app(venue=venue, keys=demo_keys(), settings=settings)
    app.state.ui = WebUi(
        symbol=SYMBOL, api_key="demo-key-1", market=market, market_maker=maker.state
    )
    flow = OrderFlow(venue, SYMBOL, seed=5, rate=40, reference=market.reference_mid)
    try:
        with running_server(app) as url:
            yield MmServer(url, venue, maker)
    finally:
        flow.stop()
        maker.stop()
        market.stop()
        venue.close()


@pytest.fixture
def page(browser: Browser, mm_server: MmServer) -> Iterator[Page]:
    with watched_page(browser, mm_server.url, timeout_ms=WAIT_MS) as p:
        yield p


def field(page: Page, name: str) -> str:
    text: str = page.locator(f'#mm-fields dd[data-field="{name}"]').inner_text()
    return text


def test_the_panel_shows_the_running_market_maker_with_numbers_and_its_quotes_on_the_ladder(
    page: Page, mm_server: MmServer
) -> None:
    state = page.locator("#mm-state")
    expect(state).to_have_text(f"market maker: running ({SYMBOL}, account {mm_live.MM_ACCOUNT})")
    expect(state).to_have_attribute("data-state", "running")
    expect(page.locator('#mm-fields dd[data-field="quotes"]')).to_contain_text("buy 0.01 @ ")
    expect(page.locator('#mm-fields dd[data-field="interlock"]')).to_have_text("quoting allowed")
    # The numbers are the market maker's own, as exact decimals.
    s = mm_server.maker.state()
    for name in ("PnL", "inventory", "spread capture", "inventory MTM", "fees", "hedge slippage"):
        Decimal(field(page, name))
    assert "not_live" in field(page, "pulls"), "the start, before the books were live"
    Decimal(field(page, "fair value"))
    quotes = field(page, "quotes").splitlines()
    assert len(quotes) == 4, quotes
    assert all("\N{BLACK UP-POINTING TRIANGLE}" in q for q in quotes), quotes
    # Updated live: the counters move.
    first = field(page, "fills")
    page.wait_for_function(
        "(before) => document.querySelector('#mm-fields dd[data-field=\"fills\"]').textContent"
        " !== before",
        arg=first,
    )
    # Its quotes are marked on the ladder (near the touch: the ladder shows them).
    expect(page.locator("#ladder .mm-order").first).to_be_visible()
    ids = {q["order_id"] for q in s["quotes"]}
    marked = page.locator("#ladder .mm-order").evaluate_all(
        "els => els.map(e => e.dataset.orderId)"
    )
    assert marked, ids
    assert all(int(i) in ids or int(i) >= 1 << 40 for i in marked), (marked, ids)


def test_the_operators_kill_switch_shows_as_a_pull_and_the_quotes_come_back(
    page: Page, mm_server: MmServer
) -> None:
    expect(page.locator("#mm-state")).to_have_attribute("data-state", "running")
    mm_server.maker.kill()
    try:
        expect(page.locator("#mm-state")).to_have_attribute("data-state", "pulled")
        expect(page.locator('#mm-fields dd[data-field="interlock"]')).to_have_text(
            "pulled: kill_switch"
        )
        expect(page.locator('#mm-fields dd[data-field="pulls"]')).to_contain_text("kill_switch 1")
        expect(page.locator('#mm-fields dd[data-field="quotes"]')).to_have_text("none resting")
        expect(page.locator("#ladder .mm-order")).to_have_count(0)
    finally:
        mm_server.maker.release()
    expect(page.locator("#mm-state")).to_have_attribute("data-state", "running")
    expect(page.locator('#mm-fields dd[data-field="quotes"]')).to_contain_text("sell 0.01 @ ")


def test_the_panel_shows_the_hedges_sent_and_what_they_cost(
    page: Page, mm_server: MmServer
) -> None:
    expect(page.locator('#mm-fields dd[data-field="hedging"]')).to_have_text(
        "to coinbase · sending"
    )
    # A market buy through our asks takes the inventory past the 20-lot threshold: a hedge.
    # (On a thread of its own: Playwright's sync API holds this thread's event loop.)
    buy = mm_server.venue.place(1, SYMBOL, "buy", "market", Decimal("0.2"))
    with ThreadPoolExecutor(1) as pool:
        pool.submit(asyncio.run, buy).result()
    deadline = time.monotonic() + WAIT_MS / 1000
    while not mm_server.maker.state()["hedging"]["orders"]:
        assert time.monotonic() < deadline, mm_server.maker.state()["hedging"]
        time.sleep(0.05)
    latest = page.locator('#mm-fields dd[data-field="hedge orders (latest)"]')
    expect(latest).to_contain_text(" on coinbase ")
    expect(page.locator('#mm-fields dd[data-field="hedge orders"]')).not_to_contain_text("0 sent ·")
    s = mm_server.maker.state()["hedging"]
    order = s["orders"][-1]
    expect(latest).to_contain_text(f"#{order['client_id']} {order['side']} {order['qty']} on")
    # Slippage and fees: exact decimals, the total their difference.
    total, rest = field(page, "hedge PnL").split(" (slippage ")
    slippage, fees = rest.rstrip(")").split(", fees ")
    assert Decimal(total) == Decimal(slippage) - Decimal(fees)
    assert field(page, "hedge errors") == "none"


def test_the_services_kill_switch_holds_the_hedging_and_the_panel_shows_it(
    page: Page, mm_server: MmServer
) -> None:
    expect(page.locator("#mm-state")).to_have_attribute("data-state", "running")
    holds = mm_server.maker.state()["hedging"]["holds"]
    with httpx.Client(base_url=mm_server.url) as http:
        r = http.post("/api/admin/kill-switch", json={"engaged": True}, headers=ADMIN)
        assert r.status_code == 200, r.text
        try:
            expect(page.locator('#mm-fields dd[data-field="hedging"]')).to_contain_text(
                "held: kill switch (venue)"
            )
            expect(page.locator("#mm-state")).to_have_attribute("data-state", "pulled")
            expect(page.locator('#mm-fields dd[data-field="kill-switch holds"]')).to_contain_text(
                f"{holds + 1} holds"
            )
            expect(page.locator('#mm-fields dd[data-field="quotes"]')).to_have_text("none resting")
            assert mm_server.maker.state()["hedging"]["hold"] == "kill_switch"
        finally:
            r = http.post("/api/admin/kill-switch", json={"engaged": False}, headers=ADMIN)
            assert r.status_code == 200, r.text
    expect(page.locator('#mm-fields dd[data-field="hedging"]')).to_contain_text("· sending")
    expect(page.locator("#mm-state")).to_have_attribute("data-state", "running")
