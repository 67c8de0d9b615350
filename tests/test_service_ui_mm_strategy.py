"""The web UI's market-making panel with a Python strategy quoting live: the state behind the
panel carries the strategy's section (its name, the events and batches it was handed, trades
and our venue's tops among them, its callback time, the commands it sent, its error), and the
panel (headless Debian Chromium through Playwright) shows it as rows."""

from __future__ import annotations

import re
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from playwright.sync_api import Browser, Page, expect

from service_fixtures import running_server
from ui_browser import watched_page
from wintermute import mm_live
from wintermute.mm_fixed_spread import FixedSpread
from wintermute.service.app import create_app
from wintermute.service.external_market import ExternalMarket
from wintermute.service.keys import demo_keys
from wintermute.service.order_flow import OrderFlow
from wintermute.service.settings import ServiceSettings
from wintermute.service.venue import Venue
from wintermute.service.web_ui import WebUi

SYMBOL = "BTC-USD"
WAIT_MS = 30_000


def strategy_config() -> dict[str, Any]:
    """The paper config with the fixed-spread model (what ``FixedSpread`` implements) on the two
    dollar venues."""
    config = mm_live.paper_config()
    for key in ("hedge_on", "hedge", "interlock", "hedge_threshold_lots", "hedge_slippage_ticks"):
        config.pop(key)
    config["pricing"]["venues"] = config["pricing"]["venues"][:2]
    config["pricing"]["model"] = {
        "kind": "fixed_spread", "half_spread_ticks": 5.0, "skew_ticks_per_unit": 1.0,
    }  # fmt: skip
    return config


@dataclass
class StrategyServer:
    url: str
    ui: WebUi


@pytest.fixture(scope="module")
def strategy_server() -> Iterator[StrategyServer]:
    config = strategy_config()
    settings = ServiceSettings(rate_limit_per_s=100_000, rate_limit_burst=100_000)
    venue = Venue(mm_live.engine_config(config), settings, reserve=1)
    market = ExternalMarket(steps=4000, pace="1")
    maker = mm_live.start_on_venue(config, venue, market, strategy=FixedSpread(config))
    app = create_app(venue=venue, keys=demo_keys(), settings=settings)
    ui = WebUi(symbol=SYMBOL, api_key="demo-key-1", market=market, market_maker=maker.state)
    app.state.ui = ui
    # Other traders: they trade with the quotes, so public trades print on our venue.
    flow = OrderFlow(venue, SYMBOL, seed=5, rate=40, reference=market.reference_mid)
    try:
        with running_server(app) as url:
            yield StrategyServer(url, ui)
    finally:
        flow.stop()
        maker.stop()
        market.stop()
        venue.close()


def wait_strategy(server: StrategyServer, done: Any) -> dict[str, Any]:
    deadline = time.monotonic() + WAIT_MS / 1000
    while True:
        st = server.ui.market_maker()["strategy"]
        if st is not None and done(st):
            return dict(st)
        assert time.monotonic() < deadline, st
        time.sleep(0.05)


def test_the_panels_state_has_the_strategys_section(strategy_server: StrategyServer) -> None:
    st = wait_strategy(
        strategy_server, lambda s: s["commands"] > 0 and s["trades"] > 0 and s["our_tops"] > 0
    )
    assert st["name"] == "FixedSpread"
    assert st["events"] >= st["batches"] > 0
    assert st["busy_ns"] > 0
    assert not st["failed"]
    assert st["dropped"] == st["dropped_trades"] == st["missed_events"] == 0


@pytest.fixture
def page(browser: Browser, strategy_server: StrategyServer) -> Iterator[Page]:
    with watched_page(browser, strategy_server.url, timeout_ms=WAIT_MS) as p:
        yield p


def field(page: Page, name: str) -> Any:
    return page.locator(f'#mm-fields dd[data-field="{name}"]')


def test_the_panel_shows_the_strategy_its_events_time_and_commands(
    page: Page, strategy_server: StrategyServer
) -> None:
    wait_strategy(strategy_server, lambda s: s["commands"] > 0 and s["trades"] > 0)
    expect(field(page, "strategy")).to_have_text("FixedSpread · running")
    expect(field(page, "strategy events")).to_have_text(
        re.compile(r"^[1-9]\d* events in [1-9]\d* batches \(largest \d+\) · [1-9]\d* trades · ")
    )
    expect(field(page, "strategy time")).to_have_text(re.compile(r"^[\d.]+ (ns|µs|ms) per event$"))
    expect(field(page, "strategy commands")).to_have_text(re.compile(r"^[1-9]\d* sent · "))
    expect(field(page, "strategy queue")).to_contain_text("0 dropped · 0 trades dropped")
    expect(field(page, "strategy errors")).to_have_text("none")
