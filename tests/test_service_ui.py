"""The web UI in a real browser: headless Chromium (Debian's ``chromium`` package) driven by
Playwright for Python, against a real server on 127.0.0.1 with the demo's pieces (the
external venues, background order flow, the browser's API key).

Each test fails on any console error or uncaught exception in the page. The order test also
saves a screenshot of the whole page to ``test-output/ui.png`` (``WINTERMUTE_TEST_OUTPUT``
moves it); ``WINTERMUTE_UPDATE_SCREENSHOT=1`` copies it to ``docs/img/ui.png`` for the README.
Under ``CI=true`` a missing Chromium or Playwright is a failure, not a skip (``ui_browser``).
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest
from playwright.sync_api import Browser, Page, expect

from service_fixtures import running_server, service_config
from ui_browser import watched_page
from wintermute.service.app import create_app
from wintermute.service.external_market import ExternalMarket
from wintermute.service.keys import demo_keys
from wintermute.service.order_flow import OrderFlow
from wintermute.service.settings import ServiceSettings
from wintermute.service.venue import Venue
from wintermute.service.web_ui import WebUi

ROOT = Path(__file__).resolve().parent.parent
SYMBOL = "BTC-USD"
WAIT_MS = 20_000
KEY_2 = {"X-API-Key": "demo-key-2"}


class UiServer:
    """The served app and its parts: the URL, the venue and a way to run order flow."""

    def __init__(self, url: str, venue: Venue, ui: WebUi) -> None:
        self.url = url
        self.venue = venue
        self.ui = ui

    def flow(self, seed: int = 3) -> OrderFlow:
        return OrderFlow(self.venue, SYMBOL, seed=seed, rate=40)

    def book(self) -> dict[str, Any]:
        r = httpx.get(f"{self.url}/api/book/{SYMBOL}", params={"depth": 50}, timeout=10)
        r.raise_for_status()
        book: dict[str, Any] = r.json()
        return book


@pytest.fixture(scope="module")
def ui_server() -> Iterator[UiServer]:
    settings = ServiceSettings(rate_limit_per_s=100_000, rate_limit_burst=100_000)
    app = create_app(service_config(), keys=demo_keys(), settings=settings)
    venue: Venue = app.state.venue
    market = ExternalMarket(steps=3000, pace="1")
    app.state.ui = WebUi(symbol=SYMBOL, api_key="demo-key-1", market=market)
    try:
        with running_server(app) as url:
            server = UiServer(url, venue, app.state.ui)
            with server.flow(seed=1) as flow:  # a book to start from
                flow.wait_actions(60, timeout=30)
            yield server
    finally:
        market.stop()
        venue.close()


@pytest.fixture
def page(browser: Browser, ui_server: UiServer) -> Iterator[Page]:
    """The UI loaded in a fresh page; the test fails on any console error in it."""
    ready = "() => window.wintermute && window.wintermute.book.seq !== null"
    with watched_page(browser, ui_server.url, timeout_ms=WAIT_MS, ready=ready) as p:
        yield p


def book_seq(page: Page) -> int:
    seq: int = page.evaluate("() => window.wintermute.book.seq")
    return seq


def ladder_cell(page: Page, price: str, column: str) -> str:
    text: str = page.locator(f'#ladder tr[data-price="{price}"] td.{column}').inner_text()
    return text.strip()


def wait_until(check: Callable[[], bool], page: Page, what: str) -> None:
    for _ in range(WAIT_MS // 100):
        if check():
            return
        page.wait_for_timeout(100)
    raise AssertionError(f"timed out waiting for {what}")


def test_the_page_follows_the_live_book_and_matches_the_venue_once_it_rests(
    page: Page, ui_server: UiServer
) -> None:
    with ui_server.flow(seed=5) as flow:
        start = book_seq(page)
        flow.wait_actions(flow.actions() + 30)
        wait_until(lambda: book_seq(page) > start, page, "book deltas in the page")
    # The flow has stopped: the page catches up with the venue's sequence, then every level
    # the ladder shows is the venue's own.
    rest = ui_server.book()
    wait_until(lambda: book_seq(page) == rest["seq"], page, f"seq {rest['seq']}")
    best_bid, bid_qty = rest["bids"][0]
    best_ask, ask_qty = rest["asks"][0]
    page.wait_for_selector(f'#ladder tr[data-price="{best_bid}"]')
    assert Decimal(ladder_cell(page, best_bid, "bid")) == Decimal(bid_qty)
    assert Decimal(ladder_cell(page, best_ask, "ask")) == Decimal(ask_qty)
    assert "best-bid" in (
        page.locator(f'#ladder tr[data-price="{best_bid}"]').get_attribute("class") or ""
    )
    expect(page.locator("#connection")).to_have_text("live")


def test_an_order_from_the_ticket_shows_its_exact_queue_position_and_goes_when_canceled(
    page: Page, ui_server: UiServer
) -> None:
    rest = ui_server.book()
    wait_until(lambda: book_seq(page) == rest["seq"], page, "the page to catch up")
    price, resting = rest["bids"][0]  # join the best bid: everything there is ahead of us
    page.fill("#ticket-price", price)
    page.fill("#ticket-qty", "0.005")
    page.check('input[name="side"][value="buy"]')
    page.click("#place")
    ours = page.locator(f'#ladder tr[data-price="{price}"] td.bid-side .our-order')
    expect(ours).to_have_count(1)
    assert Decimal(ours.get_attribute("data-queue-ahead") or "nan") == Decimal(resting)
    order_id = int(ours.get_attribute("data-order-id") or 0)
    assert ui_server.venue.order(1, SYMBOL, order_id=order_id).queue_ahead == Decimal(resting)
    expect(page.locator(f'#my-orders tr[data-order-id="{order_id}"] td.ahead')).to_have_text(
        resting
    )
    page.screenshot(path=str(_screenshot_path()), full_page=True)

    # Someone sells into the bid, less than what is ahead of us: our place moves up by
    # exactly what traded, and the page shows it.
    sold = Decimal(resting) / 2 if Decimal(resting) >= Decimal("0.002") else None
    if sold is not None:
        sold = sold.quantize(Decimal("0.001"))
        r = httpx.post(
            f"{ui_server.url}/api/orders", headers=KEY_2, timeout=10,
            json={"symbol": SYMBOL, "side": "sell", "type": "market", "qty": str(sold)},
        )  # fmt: skip
        assert r.status_code == 201, r.text
        left = Decimal(resting) - sold
        wait_until(
            lambda: Decimal(ours.get_attribute("data-queue-ahead") or "nan") == left,
            page, f"queue ahead {left}",
        )  # fmt: skip

    page.click(f'#my-orders button[data-order-id="{order_id}"]')
    expect(ours).to_have_count(0)
    expect(page.locator(f'#my-orders tr[data-order-id="{order_id}"]')).to_have_count(0)
    expect(page.locator("#ticket-result")).to_contain_text(f"order {order_id} canceled")
    assert ui_server.venue.open_orders(1, SYMBOL) == []


def test_our_order_events_on_the_websocket_alone_move_our_orders_on_the_ladder(
    page: Page, ui_server: UiServer
) -> None:
    # No reloads from the REST API: only the WebSocket's order events reach the page.
    page.evaluate("() => { window.wintermute.own.refresh = () => {}; }")
    rest = ui_server.book()
    price = rest["bids"][0][0]
    key_1 = {"X-API-Key": "demo-key-1"}
    order = {"symbol": SYMBOL, "side": "buy", "qty": "0.004", "price": price}
    r = httpx.post(f"{ui_server.url}/api/orders", headers=key_1, json=order, timeout=10)
    assert r.status_code == 201, r.text
    order_id = r.json()["order_id"]
    ours = page.locator(f'#ladder .our-order[data-order-id="{order_id}"]')
    expect(ours).to_have_count(1)
    # Another account sells the whole best bid, ours last in its queue: our order fills, and
    # its event removes it.
    level = ui_server.book()["bids"][0]
    assert level[0] == price
    sell = {"symbol": SYMBOL, "side": "sell", "type": "market", "qty": level[1]}
    r = httpx.post(f"{ui_server.url}/api/orders", headers=KEY_2, json=sell, timeout=10)
    assert r.status_code == 201, r.text
    expect(ours).to_have_count(0)
    assert ui_server.venue.order(1, SYMBOL, order_id=order_id).status == "filled"
    with ui_server.flow(seed=11) as flow:  # a book again for the tests after this one
        flow.wait_actions(80, timeout=30)


def test_the_page_resyncs_by_itself_after_a_sequence_gap_and_after_a_reconnect(
    page: Page, ui_server: UiServer
) -> None:
    with ui_server.flow(seed=9):
        page.evaluate("() => { window.wintermute.book.seq -= 3; }")  # as if deltas were lost
        expect(page.locator("#resyncs")).to_have_text("1")
        start = book_seq(page)
        wait_until(lambda: book_seq(page) > start + 2, page, "deltas after the resync")
        page.evaluate("() => window.wintermute.live.socket.close()")
        expect(page.locator("#reconnects")).to_have_text("1")
        expect(page.locator("#connection")).to_have_text("live")
        start = book_seq(page)
        wait_until(lambda: book_seq(page) > start + 2, page, "deltas after the reconnect")
    rest = ui_server.book()
    wait_until(lambda: book_seq(page) == rest["seq"], page, "the page to catch up")
    best_bid, bid_qty = rest["bids"][0]
    page.wait_for_selector(f'#ladder tr[data-price="{best_bid}"]')
    assert Decimal(ladder_cell(page, best_bid, "bid")) == Decimal(bid_qty)


def test_the_panels_show_the_external_venues_the_engine_stats_and_no_market_maker(
    page: Page, ui_server: UiServer
) -> None:
    for venue in ("binance", "coinbase", "kraken"):
        expect(page.locator(f'#venues tr[data-venue="{venue}"] td.state-live')).to_have_count(1)
    expect(page.locator("#bbo-bid")).to_have_text(_decimal_pattern())
    expect(page.locator("#lat-p99")).to_contain_text("s")  # ns, µs or ms: measured
    expect(page.locator("#mm-state")).to_have_text("market maker: not running")
    assert page.locator("#tape tbody tr").count() > 0


def test_the_market_maker_panel_shows_what_the_market_maker_reports(
    page: Page, ui_server: UiServer
) -> None:
    expect(page.locator("#mm-state")).to_have_text("market maker: not running")
    before = ui_server.ui.market_maker
    ui_server.ui.market_maker = lambda: {
        "state": "running", "message": "market maker: quoting", "inventory": "0.250",
    }  # fmt: skip
    try:
        expect(page.locator("#mm-state")).to_have_text("market maker: quoting")
        expect(page.locator("#mm-state")).to_have_attribute("data-state", "running")
        expect(page.locator("#mm-fields dt")).to_have_text(["inventory"])
        expect(page.locator("#mm-fields dd")).to_have_text(["0.250"])
    finally:
        ui_server.ui.market_maker = before
    expect(page.locator("#mm-state")).to_have_text("market maker: not running")
    expect(page.locator("#mm-fields dt")).to_have_count(0)


def test_the_page_converts_prices_to_ticks_and_back_exactly(page: Page) -> None:
    # decimal.js against Python's Decimal, over tick sizes and prices that floats get wrong.
    cases = [
        ("0.01", "60000.07"), ("0.01", "0.29"), ("0.1", "99999.9"), ("0.5", "1234.5"),
        ("0.00000001", "60000.01000000"), ("0.001", "0.3"), ("25", "1025"), ("0.01", "60000.1"),
    ]  # fmt: skip
    got = page.evaluate(
        """async (cases) => {
            const { TickGrid } = await import("/ui/decimal.js");
            return cases.map(([tick, price]) => {
                const grid = new TickGrid(tick);
                const ticks = grid.ticks(price);
                return [ticks, grid.price(ticks)];
            });
        }""",
        cases,
    )
    for (tick, price), (ticks, back) in zip(cases, got, strict=True):
        expected = int(Decimal(price) / Decimal(tick))
        assert ticks == expected, (tick, price)
        assert back == format(expected * Decimal(tick), "f"), (tick, price)  # the tick's decimals
        assert Decimal(back) == Decimal(price), (tick, price)


def test_the_page_and_its_files_are_served_without_a_build_step(ui_server: UiServer) -> None:
    page = httpx.get(ui_server.url + "/", timeout=10)
    assert page.status_code == 200
    assert page.headers["content-type"].startswith("text/html")
    for name in ("app.js", "style.css", "ladder.js"):
        r = httpx.get(f"{ui_server.url}/ui/{name}", timeout=10)
        assert r.status_code == 200, name
    assert httpx.get(f"{ui_server.url}/ui/..%2Fweb_ui.py", timeout=10).status_code == 404
    assert httpx.get(f"{ui_server.url}/ui/nothing.js", timeout=10).status_code == 404
    config = httpx.get(f"{ui_server.url}/api/ui/config", timeout=10).json()
    assert config == {
        "symbol": SYMBOL, "symbols": ["BTC-USD", "ETH-USD"], "api_key": "demo-key-1",
        "market": True,
    }  # fmt: skip


def _decimal_pattern() -> re.Pattern[str]:
    return re.compile(r"^\d+\.\d+$")


def _screenshot_path() -> Path:
    out = Path(os.environ.get("WINTERMUTE_TEST_OUTPUT", ROOT / "test-output"))
    out.mkdir(parents=True, exist_ok=True)
    return out / "ui.png"


@pytest.fixture(autouse=True, scope="module")
def _publish_screenshot() -> Iterator[None]:
    yield
    shot = _screenshot_path()
    if os.environ.get("WINTERMUTE_UPDATE_SCREENSHOT") == "1" and shot.exists():
        (ROOT / "docs" / "img").mkdir(parents=True, exist_ok=True)
        shutil.copyfile(shot, ROOT / "docs" / "img" / "ui.png")
