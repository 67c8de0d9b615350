"""A real server for the service's tests: uvicorn on 127.0.0.1, port 0 (the kernel picks a free
port), in a background thread; real clients (httpx, websockets) talk to it over TCP.

``running_server(app)`` is a context manager that yields the base URL and stops the server
when it exits (bounded waits both ways); the ``service`` fixture serves a fresh venue with the
demo keys (``demo-key-1``, ``demo-key-2``, ``demo-key-3``, ``demo-admin-key``).
``stalled_client`` is a WebSocket client that subscribes and never reads, ``tcp_state`` what
the kernel says of its connection, ``drain_held(venue)`` keeps the engine's answers from the
venue for a while (commands sent meanwhile are all in flight together)::

    from service_fixtures import Service, service  # noqa: F401  (the fixture)

    def test_x(service: Service) -> None:
        r = httpx.get(f"{service.url}/health")
"""

from __future__ import annotations

import contextlib
import socket
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from fastapi import FastAPI

from specs import BTC, PARK
from wintermute.bench.service_load import stalled_client
from wintermute.service.app import create_app
from wintermute.service.keys import demo_keys
from wintermute.service.server import background
from wintermute.service.settings import ServiceSettings
from wintermute.service.venue import Venue

__all__ = [
    "ETH",
    "Service",
    "drain_held",
    "running_server",
    "service",
    "service_config",
    "stalled_client",
    "tcp_state",
]

#: A second instrument, so that tests see more than one book.
ETH: dict[str, Any] = {
    "symbol": "ETH-USD",
    "tick_size": "0.1",
    "lot_size": "0.01",
    "min_qty": "0.01",
    "max_qty": "1000",
    "min_price": "1",
    "max_price": "100000",
}


def service_config(**service: Any) -> dict[str, Any]:
    """An engine config with BTC-USD and ETH-USD, parked threads, and a ``[service]`` table."""
    return {
        "instruments": [BTC, ETH],
        "threads": {"risk": {"wait": PARK}, "matching": {"wait": PARK}},
        "risk": {"default_limits": {"max_order_qty": 100_000}},
        "service": service,
    }


def running_server(app: FastAPI) -> contextlib.AbstractContextManager[str]:
    """Serves ``app`` on 127.0.0.1 on a free port in a background thread; the context yields
    the base URL (``http://127.0.0.1:PORT``) and stops the server on exit."""
    return background(app, "127.0.0.1", 0)


@dataclass
class Service:
    """A running service: its base URL, WebSocket URL and the venue behind it."""

    url: str
    venue: Venue

    @property
    def ws_url(self) -> str:
        return self.url.replace("http://", "ws://", 1) + "/ws"


@pytest.fixture
def service() -> Iterator[Service]:
    """A fresh venue (BTC-USD, ETH-USD) served on 127.0.0.1 with the demo keys."""
    settings = ServiceSettings(rate_limit_per_s=100_000, rate_limit_burst=100_000)
    app = create_app(service_config(), keys=demo_keys(), settings=settings)
    venue: Venue = app.state.venue
    try:
        with running_server(app) as url:
            yield Service(url, venue)
    finally:
        venue.close()


class _DrainHold:
    """Stands in a venue's list of released subscriptions, which its drain thread polls after
    each batch outside its lock: while held, the drain waits there, and the engine's outputs
    queue up unread."""

    def __init__(self) -> None:
        self.waiting = threading.Event()
        self.go = threading.Event()

    def poll(self, _limit: int) -> None:
        self.waiting.set()
        self.go.wait(10)


@contextlib.contextmanager
def drain_held(venue: Venue, commands: int) -> Iterator[None]:
    """Holds ``venue``'s drain thread between two batches until ``commands`` commands wait
    for the engine's answer (polled for 10 s at most) once the block ends, then lets it go:
    what the engine answered meanwhile reaches the venue in one go."""
    hold = _DrainHold()
    venue._released.append(hold)  # type: ignore[arg-type]
    try:
        assert hold.waiting.wait(10), "the drain thread never came round"
        yield
        deadline = time.monotonic() + 10
        while len(venue._orders.waiting()) < commands:
            assert time.monotonic() < deadline, venue._orders.waiting()
            time.sleep(0.001)
    finally:
        hold.go.set()
        venue._released.remove(hold)  # type: ignore[arg-type]


#: Linux's TCP states (``tcp_info.tcpi_state``) that a test tells apart.
_TCP_STATES = {1: "established", 7: "closed", 8: "close_wait"}


def tcp_state(sock: socket.socket) -> str:
    """The kernel's state of ``sock``'s connection (Linux): ``established``, ``close_wait``
    (the peer sent its FIN), ``closed`` (reset, or fully closed), or the state's number."""
    state = sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_INFO, 1)[0]
    return _TCP_STATES.get(state, str(state))
