"""The web UI with the live market maker running (headless Debian Chromium through Playwright):
its panel shows the running state with numbers (quotes with their queue places, inventory,
PnL and its parts, the interlock and its pulls per cause, hedge decisions), updated live; its
quotes are marked on the ladder; an operator's kill switch shows as a pull."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal

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
