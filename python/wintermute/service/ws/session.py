"""One ``/ws`` connection: its API key, its subscriptions and its outlet.

The session reads the client's requests (``wintermute.service.ws.protocol``), joins and leaves
the fan-out's feeds, and answers through the connection's ``Outlet``. It ends when the client
goes, or when the outlet closes the connection (a slow consumer, a send timeout, the server
falling behind or stopping): then it leaves every feed, counts the reason
(``app.state.ws_dropped``, the ``wintermute_ws_clients_dropped_total{reason}`` metric), logs
it, and sends the close frame within a bounded time.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable

from fastapi import APIRouter, WebSocket
from starlette.datastructures import State

from wintermute.service.keys import ApiKey, KeyStore
from wintermute.service.venue import Venue, VenueError
from wintermute.service.ws import messages
from wintermute.service.ws.fanout import FanOut
from wintermute.service.ws.outlet import Outlet
from wintermute.service.ws.protocol import (
    Auth,
    Ping,
    Request,
    RequestError,
    Subscribe,
    Unsubscribe,
    parse,
)

__all__ = ["Session", "fanout_of", "router"]

log = logging.getLogger("wintermute.service.ws")
router = APIRouter()


def fanout_of(state: State, venue: Venue) -> FanOut:
    """The app's fan-out on the running event loop (made on first use)."""
    fanout = getattr(state, "ws_fanout", None)
    if not isinstance(fanout, FanOut) or fanout.loop is not asyncio.get_running_loop():
        fanout = state.ws_fanout = FanOut(venue)
    return fanout


class Session:
    """One client: its key, its subscriptions (each a way to leave its feed) and its outlet."""

    def __init__(self, ws: WebSocket, fanout: FanOut, keys: KeyStore, outlet: Outlet) -> None:
        self.ws, self.fanout, self.keys, self.outlet = ws, fanout, keys, outlet
        self.key: ApiKey | None = keys.lookup(ws.headers.get("x-api-key"))
        self.subs: dict[tuple[str, str | None], Callable[[], None]] = {}

    def handle(self, text: str | bytes) -> None:
        """Acts on one client message; anything wrong is answered with an ``error``."""
        try:
            self.act(parse(text))
        except (RequestError, VenueError) as e:
            self.outlet.push(messages.error(e.code, e.message))

    def act(self, request: Request) -> None:
        if isinstance(request, Subscribe):
            self.subscribe(request)
        elif isinstance(request, Unsubscribe):
            self.unsubscribe(request)
        elif isinstance(request, Auth):
            key = self.keys.lookup(request.key)
            if key is None:
                raise RequestError("UNAUTHORIZED", "unknown API key")
            self.key = key
            self.outlet.push(messages.reply({"type": "authenticated", "account": key.account}))
        elif isinstance(request, Ping):
            self.outlet.push(messages.reply({"type": "pong"}))

    def subscribe(self, r: Subscribe) -> None:
        ident = (r.channel, r.symbol)
        if ident in self.subs:  # a resubscription starts afresh (a book: a new snapshot)
            self.subs.pop(ident)()
        outlet, fanout = self.outlet, self.fanout
        subscribed = messages.reply(
            {"type": "subscribed", "channel": r.channel, "symbol": r.symbol}
        )
        if r.channel in ("book", "bbo"):
            assert r.symbol is not None
            book = fanout.book(r.symbol)
            outlet.push(subscribed)
            if r.channel == "book":
                book.join_book(outlet, r.depth)
            else:
                book.join_bbo(outlet)
            self.subs[ident] = lambda: book.leave(outlet)
            return
        if r.channel == "trades":
            assert r.symbol is not None
            feed = fanout.trades(r.symbol)
        elif r.channel == "orders":
            if self.key is None:
                raise RequestError("UNAUTHORIZED", "orders need an API key (auth first)")
            feed = fanout.account(self.key.account)
        elif r.channel == "alerts":
            if self.key is None:
                raise RequestError("UNAUTHORIZED", "alerts need an API key (auth first)")
            if getattr(self.ws.app.state, "audit", None) is None:
                raise RequestError("AUDIT_OFF", "this service keeps no audit trail")
            feed = fanout.alerts(None if self.key.is_admin else self.key.account)
        else:
            feed = fanout.stats()
        outlet.push(subscribed)
        feed.join(outlet)
        self.subs[ident] = lambda: feed.leave(outlet)

    def unsubscribe(self, r: Unsubscribe) -> None:
        leave = self.subs.pop((r.channel, r.symbol), None)
        if leave is None:
            shown = r.channel if r.symbol is None else f"{r.channel} {r.symbol}"
            raise RequestError("NOT_SUBSCRIBED", f"no subscription to {shown}")
        leave()
        self.outlet.push(
            messages.reply({"type": "unsubscribed", "channel": r.channel, "symbol": r.symbol})
        )

    def leave_all(self) -> None:
        for leave in self.subs.values():
            leave()
        self.subs.clear()

    async def read(self) -> None:
        """The client's messages, until it goes."""
        while True:
            message = await self.ws.receive()
            if message["type"] == "websocket.disconnect":
                return
            text = message.get("text")
            self.handle(text if text is not None else message.get("bytes") or b"")


@router.websocket("/ws")
async def websocket(ws: WebSocket) -> None:
    """The live API (``wintermute.service.ws``)."""
    state = ws.app.state
    await ws.accept()
    outlet = Outlet.of(ws, state.settings)
    session = Session(ws, fanout_of(state, state.venue), state.keys, outlet)
    tasks = {
        asyncio.create_task(outlet.run()),
        asyncio.create_task(session.read()),
        asyncio.create_task(outlet.closed.wait()),
    }
    try:
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
    finally:
        session.leave_all()
        for task in tasks:
            task.cancel()
        # Collect them: a disconnect ends the reader or the sender with an exception.
        await asyncio.gather(*tasks, return_exceptions=True)
        close = outlet.closing
        if close is not None:
            state.ws_dropped[close.reason] += 1
            log.info(
                "websocket closed by the server",
                extra={"code": close.code, "reason": close.reason, "sent": outlet.sent,
                       "conflated": outlet.conflated},
            )  # fmt: skip
            await outlet.finish()
