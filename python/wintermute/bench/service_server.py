"""The server side of ``wintermute bench service``: a process of its own that runs the venue
and the service app, measures the venue's in-process rate, and checks the load's orders.

The load generator (:mod:`wintermute.bench.service_load`) talks to it over a
``multiprocessing`` pipe: the process sends ``("ready", info)`` once it serves (the base URL and
the venue's in-process rate, measured before any HTTP traffic, under the same conditions), then
answers ``("verify", acked)`` with what it found of every acknowledged order and ``("stop",)``
by stopping. A raw asyncio HTTP server (:func:`serve_hello`) answers every request with the
same tiny body: the load generator's own ceiling, with no framework behind it.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import time
from collections.abc import Sequence
from dataclasses import dataclass
from decimal import Decimal
from multiprocessing.connection import Connection
from typing import Any

from fastapi import APIRouter

__all__ = [
    "BENCH_SYMBOL",
    "ENGINE_ACCOUNT",
    "MAKER_ACCOUNT",
    "ServerOptions",
    "bench_config",
    "book_updates",
    "burst",
    "engine_rate",
    "serve_bench",
    "serve_hello",
    "verify",
]

BENCH_SYMBOL = "BTC-USD"
#: The account whose large asks the load's crossing orders trade against.
MAKER_ACCOUNT = 100_000
#: The account of the in-process measurement's orders.
ENGINE_ACCOUNT = 100_001
#: The asks the maker rests before the load: (price, qty), far more than the load takes.
MAKER_ASKS = tuple((Decimal(101) + Decimal(i) / 100, Decimal(500)) for i in range(20))


@dataclass(frozen=True)
class ServerOptions:
    """What the server process serves: ``clients`` API keys (``demo-key-1``..), the WebSocket
    buffer (events a client may leave unsent before it is dropped), how long to measure the
    venue in-process and with how many concurrent callers."""

    clients: int
    ws_buffer: int = 20_000
    engine_s: float = 5.0
    engine_callers: int = 32
    #: Events a live subscriber (a WebSocket feed) may have waiting in the venue's queue.
    subscriber_queue: int = 10_000
    #: Freeze the start-up heap as ``wintermute serve`` does (``wintermute.service.heap``).
    freeze_heap: bool = True


def bench_config() -> dict[str, Any]:
    """The engine's config: one instrument, parked engine threads (the machine is shared),
    generous risk limits and a ``[service]`` table with no rate limit that keeps every order."""
    return {
        "instruments": [
            {
                "symbol": BENCH_SYMBOL, "tick_size": "0.01", "lot_size": "0.001",
                "min_qty": "0.001", "max_qty": "1000", "min_price": "1", "max_price": "1000000",
            }
        ],
        "threads": {
            "risk": {"wait": {"kind": "park", "timeout_us": 200}},
            "matching": {"wait": {"kind": "park", "timeout_us": 200}},
        },
        "risk": {"default_limits": {"max_order_qty": 10_000_000}},
        "gateways": {"count": 2},  # the REST API's, and the burst's (gateway 1)
    }  # fmt: skip


async def engine_rate(venue: Any, seconds: float, callers: int) -> dict[str, Any]:
    """The venue's own rate, no HTTP: ``callers`` coroutines place a passive limit order and
    cancel it until ``seconds`` pass. Commands (places + cancels) a second and their
    latencies (ns)."""
    deadline = time.monotonic() + seconds
    latencies: list[int] = []

    async def caller(i: int) -> None:
        price = Decimal(90) + Decimal(i % 100) / 100
        while time.monotonic() < deadline:
            t0 = time.perf_counter_ns()
            state = await venue.place(
                ENGINE_ACCOUNT, BENCH_SYMBOL, "buy", "limit", Decimal("0.001"), price
            )
            t1 = time.perf_counter_ns()
            await venue.cancel(ENGINE_ACCOUNT, BENCH_SYMBOL, order_id=state.order_id)
            latencies.extend((t1 - t0, time.perf_counter_ns() - t1))

    started = time.perf_counter()
    await asyncio.gather(*(caller(i) for i in range(callers)))
    elapsed = time.perf_counter() - started
    return {"commands": len(latencies), "seconds": elapsed, "latencies_ns": latencies}


def verify(venue: Any, acked: Sequence[tuple[int, int, str]]) -> dict[str, Any]:
    """What the venue holds of every acknowledged order ``(account, order_id, last status
    the client was told)``: ``missing`` (unknown to the venue), ``mismatched`` (another
    status than the last answer, beyond what later fills explain) and ``resting_not_in_book``
    (open, but no queue position in the book mirror). All zero: nothing was lost."""
    missing = mismatched = not_in_book = 0
    examples: list[str] = []
    for account, order_id, told in acked:
        try:
            state = venue.order(account, None, order_id=order_id)
        except Exception:
            missing += 1
            if len(examples) < 5:
                examples.append(f"order {order_id} of account {account}: missing")
            continue
        later_fills = told in ("new", "partially_filled") and state.status in (
            "partially_filled", "filled",
        )  # fmt: skip
        if state.status != told and not later_fills:
            mismatched += 1
            if len(examples) < 5:
                examples.append(f"order {order_id}: told {told}, venue has {state.status}")
        if state.status in ("new", "partially_filled") and state.queue_ahead is None:
            not_in_book += 1
    return {
        "checked": len(acked),
        "missing": missing,
        "mismatched": mismatched,
        "resting_not_in_book": not_in_book,
        "examples": examples,
    }


def burst(venue: Any, dropped: Any, max_waves: int, pairs: int = 2000) -> dict[str, Any]:
    """Trades in bulk through the engine's second gateway (waves of ``pairs`` resting sells at
    100.00 and buys taking them, 0.2 s apart) until a WebSocket client was dropped (a slow
    consumer, or its send deadline) or ``max_waves`` passed: what a client that stopped
    reading must not survive."""
    import numpy as np

    from wintermute import batch

    gateway = venue.pipeline.gateway(1)
    started = time.perf_counter()
    waves = 0
    while not (dropped["slow_consumer"] or dropped["send_timeout"]) and waves < max_waves:
        first = 10**12 + 2 * pairs * waves
        ids = np.arange(first, first + 2 * pairs, dtype=np.uint64)
        sides = np.tile(np.array([batch.SELL, batch.BUY]), pairs)
        orders = batch.new_orders(
            order_id=ids, side=sides, price=10_000, qty=1, account=ENGINE_ACCOUNT + 1
        )
        gateway.submit_batch(0, orders)
        waves += 1
        time.sleep(0.2)
    return {
        "trades": waves * pairs, "waves": waves, "seconds": time.perf_counter() - started,
        "dropped": dict(dropped),
    }  # fmt: skip


def book_updates(venue: Any, first: int, n: int, batch_size: int = 1000) -> float:
    """Submits ``n`` passive buys of one lot (order ids from ``first``) through the engine's
    second gateway, at prices cycling over 1,000 levels below the maker's asks: ``n`` book
    updates. Returns when the first was submitted (``time.monotonic``)."""
    import numpy as np

    from wintermute import batch

    gateway = venue.pipeline.gateway(1)
    started = time.monotonic()
    for i in range(0, n, batch_size):
        ids = np.arange(first + i, first + min(i + batch_size, n), dtype=np.uint64)
        prices = 9_000 + (ids - first) % 1000
        orders = batch.new_orders(
            order_id=ids, side=batch.BUY, price=prices, qty=1, account=ENGINE_ACCOUNT + 2
        )
        gateway.submit_batch(0, orders)
    return started


def _hello_router() -> APIRouter:
    router = APIRouter(include_in_schema=False)

    @router.get("/bench/hello")
    async def hello() -> dict[str, bool]:
        return {"ok": True}

    return router


def serve_bench(conn: Connection, options: ServerOptions) -> None:
    """The server process's body (see the module documentation)."""
    from wintermute.bench.service_fanout import per_client_router
    from wintermute.service.app import create_app
    from wintermute.service.keys import demo_keys
    from wintermute.service.server import background
    from wintermute.service.settings import ServiceSettings

    signal.signal(signal.SIGINT, signal.SIG_IGN)  # the parent stops it through the pipe
    settings = ServiceSettings(
        rate_limit_per_s=10**9, rate_limit_burst=10**9, history_size=10**7,
        ws_buffer=options.ws_buffer, subscriber_queue=options.subscriber_queue,
        account_balances={MAKER_ACCOUNT: {"BTC": Decimal(10**6), "USD": Decimal(10**6)}},
    )  # fmt: skip
    app = create_app(
        bench_config(), keys=demo_keys(options.clients), settings=settings,
        routers=[_hello_router(), per_client_router()],
    )  # fmt: skip
    app.state.freeze_heap = options.freeze_heap  # at the server's start-up, as serve does
    venue = app.state.venue
    try:

        async def prepare() -> dict[str, Any]:
            for price, qty in MAKER_ASKS:
                await venue.place(MAKER_ACCOUNT, BENCH_SYMBOL, "sell", "limit", qty, price)
            return await engine_rate(venue, options.engine_s, options.engine_callers)

        engine = asyncio.run(prepare())
        updates_sent = 0
        redis: _RedisLoad | None = None
        with background(app) as url:
            conn.send(("ready", {"url": url, "engine": engine, "pid": os.getpid()}))
            while True:
                message = conn.recv()
                if message[0] == "verify":
                    conn.send(("verified", verify(venue, message[1])))
                elif message[0] == "burst":
                    conn.send(("burst", burst(venue, app.state.ws_dropped, message[1])))
                elif message[0] == "updates":
                    first = 2 * 10**12 + updates_sent
                    updates_sent += message[1]
                    conn.send(("updating", book_updates(venue, first, message[1])))
                elif message[0] == "redis":
                    redis = redis or _RedisLoad(message[1])
                    conn.send(("redis", redis.switch(message[2])))
                elif message[0] == "counters":
                    dropped = dict(app.state.ws_dropped)
                    conn.send(("counters", {"ws_dropped": dropped, **venue.counters}))
                else:
                    break
    finally:
        if redis is not None:
            redis.close()
        venue.close()
        with contextlib.suppress(OSError):
            conn.close()


class _RedisLoad:
    """The external market (synthetic venues at their recorded pace) in the server's
    process, and its Redis publisher, switched on and off between the load phases: what
    publishing costs the service, the market itself running in every phase."""

    def __init__(self, url: str) -> None:
        from wintermute.service.external_market import ExternalMarket

        self.url = url
        self.market = ExternalMarket(seed=7)
        self.market.wait_live(timeout=60)
        self.publisher: Any = None

    def switch(self, on: bool) -> dict[str, Any]:
        """Starts (``on``) or stops the publisher; what the last one did."""
        from wintermute.service.market_redis import ExternalMarketSource, MarketPublisher
        from wintermute.storage.redis_tier import RedisTier

        done: dict[str, Any] = {}
        if self.publisher is not None:
            p, self.publisher = self.publisher, None
            p.stop()
            p.tier.close()
            done = {
                "published": p.published,
                "failed": p.failed,
                "seconds": time.monotonic() - p.since,
            }
        if on:
            tier = RedisTier(self.url, prefix=f"wmbench{os.getpid()}")
            source = ExternalMarketSource(self.market, prefix=tier.prefix)
            self.publisher = MarketPublisher(tier, source, every_s=0.1).start()
            self.publisher.since = time.monotonic()
        return done

    def close(self) -> None:
        import redis as redis_client

        self.switch(False)
        self.market.stop()
        client = redis_client.Redis.from_url(self.url)
        keys = list(client.scan_iter(match=f"wmbench{os.getpid()}:*"))
        if keys:
            client.delete(*keys)
        client.close()


class _Hello(asyncio.Protocol):
    """Answers each request of a keep-alive connection with ``{"ok":true}``."""

    RESPONSE = (
        b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n"
        b'{"ok":true}'
    )

    def connection_made(self, transport: asyncio.BaseTransport) -> None:
        self.transport: Any = transport
        self.buffer = b""

    def data_received(self, data: bytes) -> None:
        self.buffer += data
        n = self.buffer.count(b"\r\n\r\n")  # GETs only: no bodies
        if n:
            self.buffer = self.buffer[self.buffer.rfind(b"\r\n\r\n") + 4 :]
            self.transport.write(self.RESPONSE * n)


def serve_hello(conn: Connection) -> None:
    """A raw HTTP/1.1 server on 127.0.0.1 (a free port): sends ``("ready", url)``, serves
    until the pipe says anything."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        server = await loop.create_server(_Hello, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        conn.send(("ready", f"http://127.0.0.1:{port}"))
        await loop.run_in_executor(None, conn.recv)
        server.close()

    with contextlib.suppress(ImportError):
        import uvloop

        uvloop.install()
    asyncio.run(main())
