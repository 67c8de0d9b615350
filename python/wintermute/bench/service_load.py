"""The load generator of ``wintermute bench service``: REST clients, WebSocket subscribers and
a client that stops reading, all on 127.0.0.1, each bounded by a deadline.

- **REST clients** (:func:`rest_load`): each is an aiohttp session with one keep-alive HTTP/1.1
  connection and its own API key (account), and loops: place a passive limit buy, cancel it;
  every ``cross_every``-th round also places an IOC buy that trades against the maker's asks
  (a trade on the tape). Every answer's latency is kept (exact percentiles, no binning); every
  acknowledged order is remembered with the last status the client was told, for the check
  that nothing was lost.
- **Hello clients** (:func:`hello_load`): the same clients sending ``GET`` to a URL that answers
  a constant: against a raw asyncio server it is the load generator's own ceiling; against
  ``/bench/hello`` of the app, the framework's (middleware, routing, no venue).
- **WebSocket subscribers** (:func:`subscriber`): subscribe to the book and the trades, count
  messages, check every book delta follows the previous one (``first_seq == seq + 1``), and
  take each trade's latency from the engine event (the trade's ``ts_ns``, stamped when the
  venue applied the engine's output) to the client's receipt (same machine, same clock).
- **The stalled client** (:func:`stalled_client`): subscribes, then never reads; the server
  must drop it (code 1008, ``slow_consumer`` or ``send_timeout``) without slowing the others.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import signal
import socket
import time
from collections.abc import Coroutine
from dataclasses import dataclass, field
from multiprocessing.connection import Connection
from typing import Any, TypeVar

import aiohttp
import numpy as np
import websockets

T = TypeVar("T")

__all__ = [
    "RestResult",
    "SubscriberResult",
    "hello_load",
    "percentiles_ms",
    "rest_load",
    "run_loop",
    "serve_subscribers",
    "stalled_client",
    "subscriber",
]


def percentiles_ms(latencies_ns: list[int]) -> dict[str, float]:
    """p50, p90, p99, p99.9 and max of latencies in ns, as milliseconds (exact, from every
    sample)."""
    if not latencies_ns:
        return {"p50": 0.0, "p90": 0.0, "p99": 0.0, "p999": 0.0, "max": 0.0}
    a = np.asarray(latencies_ns, dtype=np.int64)
    p50, p90, p99, p999 = np.percentile(a, [50, 90, 99, 99.9], method="higher")
    return {
        "p50": p50 / 1e6, "p90": p90 / 1e6, "p99": p99 / 1e6, "p999": p999 / 1e6,
        "max": float(a.max()) / 1e6,
    }  # fmt: skip


@dataclass
class RestResult:
    """What the REST clients did: requests by kind, latencies (ns), answers by status, and the
    acknowledged orders (order id -> (account, last status told))."""

    seconds: float = 0.0
    latencies_ns: list[int] = field(default_factory=list)
    places: int = 0
    cancels: int = 0
    crosses: int = 0
    statuses: dict[int, int] = field(default_factory=dict)
    acked: dict[int, tuple[int, str]] = field(default_factory=dict)

    @property
    def requests(self) -> int:
        return len(self.latencies_ns)


async def rest_load(
    url: str, clients: int, seconds: float, *, symbol: str, cross_every: int = 10
) -> RestResult:
    """``clients`` REST clients placing and cancelling for ``seconds`` (see the module
    documentation); client ``i`` uses ``demo-key-<i+1>``."""
    result = RestResult()
    deadline = time.monotonic() + seconds
    content = {"content-type": "application/json"}

    async def client(i: int) -> None:
        headers = {**content, "X-API-Key": f"demo-key-{i + 1}"}
        account = i + 1
        price = f"{90 + i % 9}.{i % 100:02d}"
        passive = json.dumps(
            {"symbol": symbol, "side": "buy", "qty": "0.001", "price": price}
        ).encode()
        cross = json.dumps(
            {"symbol": symbol, "side": "buy", "qty": "0.001", "price": "101.50", "tif": "ioc"}
        ).encode()
        lat = result.latencies_ns
        rounds = 0
        connector = aiohttp.TCPConnector(limit=1)
        async with aiohttp.ClientSession(connector=connector) as session:
            while time.monotonic() < deadline:
                rounds += 1
                body = cross if cross_every and rounds % cross_every == 0 else passive
                t0 = time.perf_counter_ns()
                async with session.post(f"{url}/api/orders", data=body, headers=headers) as r:
                    answer = await r.read()
                lat.append(time.perf_counter_ns() - t0)
                result.statuses[r.status] = result.statuses.get(r.status, 0) + 1
                if r.status != 201:
                    continue
                order = json.loads(answer)
                oid = order["order_id"]
                result.acked[oid] = (account, order["status"])
                if body is cross:
                    result.crosses += 1
                    continue
                result.places += 1
                t0 = time.perf_counter_ns()
                async with session.delete(f"{url}/api/orders/{oid}", headers=headers) as r:
                    answer = await r.read()
                lat.append(time.perf_counter_ns() - t0)
                result.statuses[r.status] = result.statuses.get(r.status, 0) + 1
                if r.status == 200:
                    result.cancels += 1
                    result.acked[oid] = (account, json.loads(answer)["status"])

    started = time.perf_counter()
    await asyncio.gather(*(client(i) for i in range(clients)))
    result.seconds = time.perf_counter() - started
    return result


async def hello_load(url: str, clients: int, seconds: float) -> dict[str, Any]:
    """``clients`` keep-alive clients sending ``GET url`` for ``seconds``: requests a second
    and latency percentiles (ms)."""
    deadline = time.monotonic() + seconds
    lat: list[int] = []
    failed = 0

    async def client() -> None:
        nonlocal failed
        async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=1)) as session:
            while time.monotonic() < deadline:
                t0 = time.perf_counter_ns()
                async with session.get(url) as r:
                    await r.read()
                lat.append(time.perf_counter_ns() - t0)
                failed += r.status != 200

    started = time.perf_counter()
    await asyncio.gather(*(client() for _ in range(clients)))
    elapsed = time.perf_counter() - started
    return {
        "requests": len(lat), "failed": failed, "seconds": elapsed,
        "requests_per_s": len(lat) / elapsed, "latency_ms": percentiles_ms(lat),
    }  # fmt: skip


@dataclass
class SubscriberResult:
    """One WebSocket subscriber: messages received (book deltas, trade messages), trades,
    gaps in the book's sequence, each trade's engine-event-to-receipt latency (ns), and the
    close reason if the server closed it."""

    messages: int = 0
    deltas: int = 0
    trades: int = 0
    gaps: int = 0
    trade_latencies_ns: list[int] = field(default_factory=list)
    closed: str | None = None
    #: Whether trade latencies are being kept (off for the burst: it measures throughput).
    measuring: bool = True
    #: The connection while it is open.
    ws: Any = None

    async def unsubscribe_book(self, symbol: str) -> None:
        """Stops the book's deltas (the trades keep coming)."""
        if self.ws is not None:
            await self.ws.send(
                json.dumps({"op": "unsubscribe", "channel": "book", "symbol": symbol})
            )


async def subscriber(
    ws_url: str, symbol: str, stop: asyncio.Event, out: SubscriberResult
) -> SubscriberResult:
    """Subscribes to ``symbol``'s book and trades and reads until ``stop`` is set, counting
    into ``out`` as it goes."""
    async with websockets.connect(ws_url, max_size=None) as ws:
        out.ws = ws
        for channel in ("book", "trades"):
            await ws.send(json.dumps({"op": "subscribe", "channel": channel, "symbol": symbol}))
        seq: int | None = None
        stopped = asyncio.create_task(stop.wait())
        try:
            while not stop.is_set():
                recv = asyncio.ensure_future(ws.recv())
                done, _ = await asyncio.wait({recv, stopped}, return_when=asyncio.FIRST_COMPLETED)
                if recv not in done:
                    recv.cancel()
                    break
                now = time.time_ns()
                msg = json.loads(recv.result())
                kind = msg.get("type")
                if kind == "book_snapshot":
                    seq = msg["seq"]
                elif kind == "book_delta":
                    out.messages += 1
                    out.deltas += 1
                    if seq is not None and msg["first_seq"] != seq + 1:
                        out.gaps += 1
                    seq = msg["seq"]
                elif kind == "trades":
                    out.messages += 1
                    out.trades += len(msg["trades"])
                    if out.measuring:
                        out.trade_latencies_ns.extend(now - t["ts_ns"] for t in msg["trades"])
        except websockets.ConnectionClosed as e:
            out.closed = e.rcvd.reason if e.rcvd is not None else "closed"
        finally:
            stopped.cancel()
            out.ws = None
    return out


def stalled_client(http_url: str, *subscribe: dict[str, Any], path: str = "/ws") -> socket.socket:
    """A WebSocket client of ``path`` at ``http_url`` (``http://HOST:PORT``) that sends the
    ``subscribe`` messages and then never reads: a raw socket with a small receive buffer, the
    handshake and masked text frames written by hand (a client library would keep reading in
    the background)."""
    host, port = http_url.removeprefix("http://").split(":")
    sock = socket.socket()
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    sock.settimeout(10)
    sock.connect((host, int(port)))
    key = base64.b64encode(os.urandom(16)).decode()
    sock.sendall(
        f"GET {path} HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
        f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
        "Sec-WebSocket-Version: 13\r\n\r\n".encode()
    )
    head = b""
    while b"\r\n\r\n" not in head:
        head += sock.recv(1)
    if not head.startswith(b"HTTP/1.1 101"):
        raise RuntimeError(f"WebSocket handshake refused: {head[:60]!r}")
    for message in subscribe:
        payload = json.dumps(message).encode()
        if len(payload) >= 126:
            raise ValueError(f"subscribe message of {len(payload)} bytes: one short frame only")
        mask = os.urandom(4)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        sock.sendall(bytes([0x81, 0x80 | len(payload)]) + mask + masked)
    return sock


def closed_by_server(sock: socket.socket, timeout_s: float = 10.0) -> bool:
    """Reads what the server sent until its close frame (reason ``slow_consumer`` or
    ``send_timeout``) or the end of the connection (the server aborts one that does not read);
    False if neither came within ``timeout_s`` of silence."""
    sock.settimeout(timeout_s)
    tail = b""
    try:
        while chunk := sock.recv(1 << 20):
            tail = tail[-64:] + chunk
            if b"\x88" in tail and (b"slow_consumer" in tail or b"send_timeout" in tail):
                return True
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False
    finally:
        sock.close()
    return True


def run_loop(coro: Coroutine[Any, Any, T]) -> T:
    """Runs ``coro`` on uvloop when it is installed (the clients' loop costs less), else on
    asyncio's own loop."""
    try:
        import uvloop
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


def _subscriber_dict(s: SubscriberResult) -> dict[str, Any]:
    return {
        "messages": s.messages, "deltas": s.deltas, "trades": s.trades, "gaps": s.gaps,
        "closed": s.closed, "trade_latencies_ns": s.trade_latencies_ns,
    }  # fmt: skip


def serve_subscribers(conn: Connection, url: str, symbol: str, count: int) -> None:
    """The subscribers' process: ``count`` readers and the stalled client, driven over the
    pipe (a process of their own, so that the REST clients' work does not delay their reads
    and inflate the latency they measure). Messages: ``("ready", None)`` once subscribed;
    ``("quiet",)`` -> the totals so far, then the readers leave the book (the trades go on)
    and stop keeping latencies; ``("wait", trades, timeout_s)`` -> once every reader has that
    many trades (or the time is up); ``("stop",)`` -> every reader's results and whether the
    server dropped the stalled client."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    async def main() -> None:
        ws_url = url.replace("http://", "ws://", 1) + "/ws"
        stop = asyncio.Event()
        subs = [SubscriberResult() for _ in range(count)]
        readers = [asyncio.create_task(subscriber(ws_url, symbol, stop, s)) for s in subs]
        stalled = stalled_client(url, {"op": "subscribe", "channel": "book", "symbol": symbol})
        await asyncio.sleep(0.5)  # the subscriptions are in place
        conn.send(("ready", None))
        while True:
            message = await asyncio.to_thread(conn.recv)
            if message[0] == "quiet":
                totals = {"messages": sum(s.messages for s in subs)}
                for s in subs:
                    s.measuring = False
                    await s.unsubscribe_book(symbol)
                await asyncio.sleep(0.5)  # the unsubscriptions are in place
                conn.send(("quiet", totals))
            elif message[0] == "wait":
                deadline = time.monotonic() + message[2]
                while min(s.trades for s in subs) < message[1] and time.monotonic() < deadline:
                    await asyncio.sleep(0.05)
                conn.send(("waited", None))
            else:
                stop.set()
                await asyncio.gather(*readers)
                dropped = await asyncio.to_thread(closed_by_server, stalled, 10.0)
                results = [_subscriber_dict(s) for s in subs]
                conn.send(("done", {"subscribers": results, "stalled_dropped": dropped}))
                return

    run_loop(main())
