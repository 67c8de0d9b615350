"""The web UI: a live view of the venue in the browser, served by the service itself.

``GET /`` is the page; its script, styles and modules come from ``GET /ui/<file>`` (plain
HTML, CSS and JavaScript modules shipped in the package under ``static/``: nothing to build,
no third-party code). The page reads:

- ``GET /api/ui/config``: the symbol to show, the API key the browser trades with (the demo
  sets one; a deployment sets none and the page asks for a key), and whether an external
  market is attached;
- the WebSocket API at ``/ws`` (``wintermute.service.ws``): the book, trades, the engine's
  stats and, with the key, the account's own orders;
- ``GET /api/orders`` (with the key): the open orders with their exact queue positions;
- the WebSocket at ``/ws/market`` (this module): a sample of the external venues' books, the
  consolidated BBO and the market maker's state, at most four times a second (the newest
  sample only: a slow client skips samples, it never queues them; one whose socket takes
  nothing for ``ws_send_timeout_s`` is closed with 1008 ``send_timeout``).

What the page shows is set on ``app.state.ui`` (a ``WebUi``); an app without one serves the
page with the first instrument, no key and no external market::

    >>> from wintermute.service.web_ui import WebUi
    >>> WebUi(symbol="BTC-USD").config(["BTC-USD"])["market"]
    False
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from fastapi import APIRouter, HTTPException, Request, WebSocket
from fastapi.responses import FileResponse
from starlette.datastructures import State

from wintermute.service.external_market import ExternalMarket
from wintermute.service.venue import Venue
from wintermute.service.ws.outlet import Frame, Outlet

__all__ = ["STATIC_DIR", "WebUi", "market_maker_not_running", "router"]

#: The page's files (shipped in the package).
STATIC_DIR = Path(__file__).parent / "static"
_MEDIA = {".html": "text/html", ".js": "text/javascript", ".css": "text/css", ".png": "image/png"}
_FILES = {p.name: p for p in sorted(STATIC_DIR.glob("*")) if p.suffix in _MEDIA}
MARKET_EVERY_S = 0.25


def market_maker_not_running() -> dict[str, Any]:
    """The market maker's state while there is none (the panel says so)."""
    return {"state": "not_running", "message": "market maker: not running"}


@dataclass
class WebUi:
    """What the page shows: ``symbol`` (None: the venue's first instrument), ``api_key`` (the
    key the browser trades with, or None: the page asks), ``market`` (the external venues, or
    None), ``market_maker`` (a callable returning the market maker's state for its panel:
    ``state`` (``not_running``, ``running``, ...), an optional ``message``, and any other
    JSON-ready fields, which the panel lists as name and value: quotes, inventory, PnL)."""

    symbol: str | None = None
    api_key: str | None = field(default=None, repr=False)
    market: ExternalMarket | None = None
    market_maker: Callable[[], dict[str, Any]] = market_maker_not_running

    def config(self, symbols: list[str]) -> dict[str, Any]:
        """The page's configuration (``/api/ui/config``)."""
        return {
            "symbol": self.symbol or (symbols[0] if symbols else None),
            "symbols": symbols,
            "api_key": self.api_key,
            "market": self.market is not None,
        }


router = APIRouter(include_in_schema=False)


def _ui(state: State) -> WebUi:
    ui = getattr(state, "ui", None)
    return ui if isinstance(ui, WebUi) else WebUi()


def _file(name: str) -> FileResponse:
    path = _FILES.get(name)
    if path is None:
        raise HTTPException(404, "no such file")
    return FileResponse(path, media_type=_MEDIA[path.suffix], headers={"Cache-Control": "no-cache"})


@router.get("/")
def page() -> FileResponse:
    """The web UI."""
    return _file("index.html")


@router.get("/ui/{name}")
def asset(name: str) -> FileResponse:
    """One of the page's files."""
    return _file(name)


@router.get("/api/ui/config")
def config(request: Request) -> dict[str, Any]:
    """What the page shows (see ``WebUi``)."""
    venue: Venue = request.app.state.venue
    return _ui(request.app.state).config([i.symbol for i in venue.instruments()])


def _market_message(ui: WebUi) -> dict[str, Any]:
    sample = ui.market.snapshot() if ui.market is not None else {
        "type": "market", "instrument": None, "venues": {}, "consolidated": None,
    }  # fmt: skip
    return {**sample, "market_maker": ui.market_maker()}


@router.websocket("/ws/market")
async def market_stream(ws: WebSocket) -> None:
    """The external venues, the consolidated BBO and the market maker's state (see the module
    documentation); the client sends nothing. A sample is conflated: a client that falls
    behind gets the newest, and one whose socket takes nothing for ``ws_send_timeout_s`` is
    closed (``wintermute.service.ws.outlet``)."""
    ui = _ui(ws.app.state)
    await ws.accept()
    outlet = Outlet.of(ws, ws.app.state.settings)

    async def reader() -> None:
        while True:
            await ws.receive_text()

    async def sampler() -> None:
        last: str | None = None
        while True:
            text = json.dumps(_market_message(ui))
            if text != last:
                outlet.push(Frame(text, key="market"))
                last = text
            await asyncio.sleep(MARKET_EVERY_S)

    tasks = {
        asyncio.create_task(reader()), asyncio.create_task(sampler()),
        asyncio.create_task(outlet.run()), asyncio.create_task(outlet.closed.wait()),
    }  # fmt: skip
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if outlet.closing is not None:
            ws.app.state.ws_dropped[outlet.closing.reason] += 1
            await outlet.finish()
        else:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(ws.close(), 1.0)
