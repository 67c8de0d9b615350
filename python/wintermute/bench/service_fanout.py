"""``wintermute bench service --fanout``: WebSocket fan-out, N subscribers of one book.

::

    wintermute bench service --fanout [--subscribers 100] [--updates 5000] [--json]

One run, three measurements, each with the same ``subscribers`` readers:

1. **The readers' ceiling**: a raw asyncio server (no framework, no venue) writes ``updates``
   ready-made ``book_delta`` frames to every reader, in large writes: what the readers
   themselves can take.
2. **Per client** (the baseline: the WebSocket path before the fan-out, kept here as a bench
   route, ``/bench/ws-per-client``): one venue subscription per connection, each update
   encoded to JSON for each connection and sent on its own.
3. **Fan-out** (``/ws``, the service's own path): one venue subscription per book, each update
   encoded once, the same frame queued for every subscriber.

In 2 and 3 the venue takes ``updates`` passive orders through the engine's second gateway as
fast as it can (each one book update) after every reader has its snapshot. Reported: messages
delivered a second across the readers (``updates x subscribers`` over the time from the first
order to the last reader's last message), each reader's count, and the book sequence checks:
every reader must end at the venue's sequence with every update (one reader also checks each
delta's ``first_seq`` against the previous ``seq``).

The readers are lean: raw sockets on uvloop in a process of their own that parse frame headers
and count (JSON only for the checks), so that the server, not the readers' WebSocket library,
is what is measured; the ceiling in 1 shows how far that holds on the machine.
"""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import json
import multiprocessing
import os
import signal
import time
from multiprocessing.connection import Connection
from typing import Any

from fastapi import APIRouter, WebSocket
from starlette.websockets import WebSocketDisconnect

__all__ = ["PER_CLIENT_PATH", "per_client_router", "run_fanout", "serve_ceiling", "serve_readers"]

#: The baseline route of the bench server.
PER_CLIENT_PATH = "/bench/ws-per-client"
_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
START_TIMEOUT_S = 60.0


def _recv(conn: Connection, process: Any, timeout_s: float, what: str) -> Any:
    deadline = time.monotonic() + timeout_s
    while not conn.poll(0.2):
        if process is not None and not process.is_alive():
            raise RuntimeError(f"bench service --fanout: the {what} process ended")
        if time.monotonic() > deadline:
            raise RuntimeError(f"bench service --fanout: no {what} within {timeout_s:.0f}s")
    return conn.recv()


# ---- the readers ---------------------------------------------------------------------------


def _masked(payload: bytes, opcode: int = 0x1) -> bytes:
    mask = os.urandom(4)
    body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
    n = len(payload)
    head = bytes([0x80 | opcode, 0x80 | n]) if n < 126 else bytes([0x80 | opcode, 0xFE])
    if n >= 126:
        head += n.to_bytes(2, "big")
    return head + mask + body


class _Reader(asyncio.Protocol):
    """One subscriber: the handshake, one subscribe message, then frames counted by their
    headers. ``check`` parses every message and checks the book sequence."""

    def __init__(self, path: str, subscribe: bytes, check: bool) -> None:
        self.path, self.subscribe, self.check = path, subscribe, check
        self.transport: Any = None
        self.buf = bytearray()
        self.open = False
        self.messages = 0
        self.last = b""
        self.last_at = 0.0
        self.seq: int | None = None
        self.gaps = 0
        self.closed = False
        self.snapshot = asyncio.get_running_loop().create_future()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport
        key = base64.b64encode(os.urandom(16)).decode()
        transport.write(
            f"GET {self.path} HTTP/1.1\r\nHost: bench\r\nUpgrade: websocket\r\n"
            f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
            "Sec-WebSocket-Version: 13\r\n\r\n".encode()
        )

    def data_received(self, data: bytes) -> None:
        buf = self.buf
        buf += data
        if not self.open:
            end = buf.find(b"\r\n\r\n")
            if end < 0:
                return
            if not buf.startswith(b"HTTP/1.1 101"):
                raise RuntimeError(f"handshake refused: {bytes(buf[:40])!r}")
            del buf[: end + 4]
            self.open = True
            self.transport.write(_masked(self.subscribe))
        pos, n, last = 0, len(buf), None
        while n - pos >= 2:
            length = buf[pos + 1] & 0x7F
            head = 2
            if length == 126:
                if n - pos < 4:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 4], "big"), 4
            elif length == 127:
                if n - pos < 10:
                    break
                length, head = int.from_bytes(buf[pos + 2 : pos + 10], "big"), 10
            end = pos + head + length
            if end > n:
                break
            opcode = buf[pos] & 0x0F
            if opcode == 0x1:
                last = (pos + head, end)
                if self.snapshot.done():
                    self.messages += 1  # the updates after the snapshot
                if self.check or not self.snapshot.done():
                    self._parse(bytes(buf[pos + head : end]))
            elif opcode == 0x9:  # ping: pong with its payload
                self.transport.write(_masked(bytes(buf[pos + head : end]), 0xA))
            elif opcode == 0x8:
                self.closed = True
            pos = end
        if last is not None:
            self.last = bytes(buf[last[0] : last[1]])
            self.last_at = time.monotonic()
        del buf[:pos]

    def _parse(self, payload: bytes) -> None:
        msg = json.loads(payload)
        kind = msg.get("type")
        if kind == "book_snapshot":
            self.seq = msg["seq"]
            if not self.snapshot.done():
                self.snapshot.set_result(msg["seq"])
        elif kind == "book_delta":
            if self.seq is not None and msg["first_seq"] != self.seq + 1:
                self.gaps += 1
            self.seq = msg["seq"]

    def last_seq(self) -> int | None:
        if not self.last:
            return None
        msg = json.loads(self.last)
        return msg.get("seq") if isinstance(msg, dict) else None


def _factory(reader: _Reader) -> Any:
    return lambda: reader


def serve_readers(conn: Connection, count: int) -> None:
    """The readers' process. Messages: ``("connect", host, port, path, subscribe)`` -> once
    every reader has its snapshot: ``("ready", snapshot seqs)``; ``("expect", seq, timeout_s)``
    -> once every reader's last message has that sequence (or the time is up): the readers'
    counts, last sequences, gaps and the time of the last message (``time.monotonic``, the
    same clock in every process); ``("close",)`` closes them; ``("stop",)`` ends."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        readers: list[_Reader] = []
        while True:
            message = await asyncio.to_thread(conn.recv)
            if message[0] == "connect":
                _, host, port, path, subscribe = message
                readers = []
                for i in range(count):
                    reader = _Reader(path, subscribe, check=i == 0)
                    await loop.create_connection(_factory(reader), host, port)
                    readers.append(reader)
                seqs = await asyncio.wait_for(asyncio.gather(*(r.snapshot for r in readers)), 60)
                conn.send(("ready", seqs))
            elif message[0] == "expect":
                _, seq, timeout_s = message
                deadline = time.monotonic() + timeout_s
                while time.monotonic() < deadline and not all(
                    r.last_seq() == seq or r.closed for r in readers
                ):
                    await asyncio.sleep(0.01)
                conn.send((
                    "expected", {
                        "messages": [r.messages for r in readers],
                        "last_seq": [r.last_seq() for r in readers],
                        "gaps": sum(r.gaps for r in readers),
                        "closed": sum(r.closed for r in readers),
                        "last_at": max(r.last_at for r in readers),
                    },
                ))  # fmt: skip
            elif message[0] == "close":
                for r in readers:
                    r.transport.close()
                await asyncio.sleep(0.2)
                conn.send(("closed", None))
            else:
                return

    _run(main())


def _run(coro: Any) -> None:
    try:
        import uvloop
    except ImportError:
        asyncio.run(coro)
        return
    uvloop.run(coro)


# ---- the readers' ceiling: a raw server ------------------------------------------------------


def _frame(payload: bytes) -> bytes:
    n = len(payload)
    head = bytes([0x81, n]) if n < 126 else bytes([0x81, 126]) + n.to_bytes(2, "big")
    return head + payload


def _delta(seq: int) -> bytes:
    return json.dumps(
        {"type": "book_delta", "symbol": "BTC-USD", "first_seq": seq, "seq": seq,
         "bids": [["90.00", "0.001"]], "asks": []}, separators=(",", ":"),
    ).encode()  # fmt: skip


class _RawServer(asyncio.Protocol):
    """Accepts a WebSocket handshake, answers the first message with a snapshot at seq 0."""

    def __init__(self, peers: list[_RawServer]) -> None:
        self.peers = peers
        self.transport: Any = None
        self.buf = b""
        self.subscribed = False
        self.drained = asyncio.Event()
        self.drained.set()

    def connection_made(self, transport: Any) -> None:
        self.transport = transport

    def pause_writing(self) -> None:
        self.drained.clear()

    def resume_writing(self) -> None:
        self.drained.set()

    def data_received(self, data: bytes) -> None:
        self.buf += data
        if self.transport is None or b"\r\n\r\n" not in self.buf:
            return
        if not self.subscribed and self.buf.startswith(b"GET"):
            key = next(
                line.split(b":", 1)[1].strip()
                for line in self.buf.split(b"\r\n")
                if line.lower().startswith(b"sec-websocket-key")
            )
            accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())  # RFC 6455's accept key
            self.transport.write(
                b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n"
                b"Connection: Upgrade\r\nSec-WebSocket-Accept: " + accept + b"\r\n\r\n"
            )
            self.buf = b""
            self.subscribed = True
            snapshot = {
                "type": "book_snapshot",
                "symbol": "BTC-USD",
                "seq": 0,
                "bids": [],
                "asks": [],
            }
            self.transport.write(_frame(json.dumps(snapshot).encode()))
            self.peers.append(self)


async def _feed(peer: _RawServer, chunks: list[bytes]) -> None:
    for chunk in chunks:
        await peer.drained.wait()
        peer.transport.write(chunk)


def serve_ceiling(conn: Connection) -> None:
    """A raw WebSocket server on 127.0.0.1: ``("ready", port)``; then ``("send", n)`` writes
    ``n`` delta frames (seq 1..n) to every connection and answers ``("sent", start time)``;
    anything else stops it."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)

    async def main() -> None:
        loop = asyncio.get_running_loop()
        peers: list[_RawServer] = []
        server = await loop.create_server(lambda: _RawServer(peers), "127.0.0.1", 0)
        conn.send(("ready", server.sockets[0].getsockname()[1]))
        while True:
            message = await asyncio.to_thread(conn.recv)
            if message[0] != "send":
                break
            n = message[1]
            chunks = [
                b"".join(_frame(_delta(s)) for s in range(i, min(i + 500, n + 1)))
                for i in range(1, n + 1, 500)
            ]
            started = time.monotonic()

            conn.send(("sent", started))
            await asyncio.gather(*(_feed(p, chunks) for p in list(peers)))
            peers.clear()
        server.close()

    _run(main())


# ---- the baseline route --------------------------------------------------------------------


def per_client_router() -> APIRouter:
    """``/bench/ws-per-client``: the WebSocket path before the fan-out, for the baseline. The
    first client message names the symbol; then a snapshot, and every update of the book
    encoded and sent for this connection alone, from a venue subscription of its own."""
    from wintermute.service.rest.models import Book

    router = APIRouter(include_in_schema=False)

    def levels(items: list[Any]) -> list[tuple[str, str]]:
        return [(format(p, "f"), format(q, "f")) for p, q in items]

    @router.websocket(PER_CLIENT_PATH)
    async def per_client(ws: WebSocket) -> None:
        venue = ws.app.state.venue
        await ws.accept()
        symbol = json.loads(await ws.receive_text())["symbol"]
        depth, sub = venue.subscribe_book(symbol, 100)
        with contextlib.suppress(WebSocketDisconnect), contextlib.closing(sub):
            await ws.send_text(json.dumps({"type": "book_snapshot", **Book.of(depth).model_dump()}))
            while True:
                for u in await sub.next_batch():
                    await ws.send_text(json.dumps({
                        "type": "book_delta", "symbol": u.symbol, "first_seq": u.first_seq,
                        "seq": u.seq, "bids": levels(u.bids), "asks": levels(u.asks),
                    }))  # fmt: skip

    return router


# ---- the run -------------------------------------------------------------------------------


def _phase(
    readers: Connection, reader_proc: Any, host: str, port: int, path: str, subscribe: bytes,
    start: Any, final_seq: Any, updates: int, subscribers: int, timeout_s: float,
) -> dict[str, Any]:  # fmt: skip
    """One measurement: connect the readers, start the source, wait for the last update."""
    readers.send(("connect", host, port, path, subscribe))
    _, seqs = _recv(readers, reader_proc, START_TIMEOUT_S, "readers")
    started = start()
    want = final_seq(seqs[0])
    readers.send(("expect", want, timeout_s))
    _, got = _recv(readers, reader_proc, timeout_s + 30, "readers")
    readers.send(("close",))
    _recv(readers, reader_proc, 30, "readers")
    seconds = got["last_at"] - started
    complete = sum(s == want for s in got["last_seq"])
    delivered = sum(got["messages"])
    return {
        "seconds": seconds,
        "messages_delivered": delivered,
        "messages_per_s": delivered / seconds if seconds > 0 else None,
        "readers_complete": complete,
        "expected_per_reader": updates,
        "gaps": got["gaps"],
        "closed": got["closed"],
    }


def run_fanout(
    *, subscribers: int = 100, updates: int = 5000, ws_buffer: int = 10**6
) -> dict[str, Any]:
    """One run (see the module documentation); the result as a JSON-able dict."""
    from wintermute.bench.service_server import BENCH_SYMBOL, ServerOptions, serve_bench

    ctx = multiprocessing.get_context("spawn")
    timeout_s = max(60.0, updates * subscribers / 5000)
    result: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "load_average": list(os.getloadavg())},
        "settings": {"subscribers": subscribers, "updates": updates, "ws_buffer": ws_buffer},
    }
    here, there = ctx.Pipe()
    reader_proc = ctx.Process(target=serve_readers, args=(there, subscribers), daemon=True)
    reader_proc.start()
    try:
        # 1. The readers' ceiling.
        c_here, c_there = ctx.Pipe()
        ceiling = ctx.Process(target=serve_ceiling, args=(c_there,), daemon=True)
        ceiling.start()
        try:
            _, port = _recv(c_here, ceiling, START_TIMEOUT_S, "ceiling server")

            def send_raw() -> float:
                c_here.send(("send", updates))
                return float(_recv(c_here, ceiling, 60, "ceiling server")[1])

            result["ceiling"] = _phase(
                here, reader_proc, "127.0.0.1", port, "/raw", b"{}", send_raw,
                lambda snap: updates, updates, subscribers, timeout_s,
            )  # fmt: skip
        finally:
            c_here.send(("stop",))
            ceiling.join(10)
            if ceiling.is_alive():
                ceiling.kill()
        # 2 and 3: the service, per client and fanned out.
        s_here, s_there = ctx.Pipe()
        options = ServerOptions(
            1, ws_buffer=ws_buffer, engine_s=0.0, engine_callers=1, subscriber_queue=10**7
        )
        server = ctx.Process(target=serve_bench, args=(s_there, options), name="bench-server")
        server.start()
        try:
            _, info = _recv(s_here, server, START_TIMEOUT_S, "server")
            host, port_s = info["url"].removeprefix("http://").split(":")
            subscribe_new = json.dumps(
                {"op": "subscribe", "channel": "book", "symbol": BENCH_SYMBOL, "depth": 1}
            ).encode()
            subscribe_old = json.dumps({"symbol": BENCH_SYMBOL}).encode()
            for name, path, subscribe in (
                ("per_client", PER_CLIENT_PATH, subscribe_old),
                ("fanout", "/ws", subscribe_new),
            ):

                def start() -> float:
                    s_here.send(("updates", updates))
                    return float(_recv(s_here, server, 60, "server")[1])

                result[name] = _phase(
                    here, reader_proc, host, int(port_s), path, subscribe, start,
                    lambda snap: snap + updates, updates, subscribers, timeout_s,
                )  # fmt: skip
        finally:
            s_here.send(("stop",))
            server.join(30)
            if server.is_alive():
                server.kill()
    finally:
        with contextlib.suppress(OSError):
            here.send(("stop",))
        reader_proc.join(10)
        if reader_proc.is_alive():
            reader_proc.kill()
    new, old = result["fanout"]["messages_per_s"], result["per_client"]["messages_per_s"]
    result["fanout_vs_per_client"] = new / old if new and old else None
    return result


def to_table(r: dict[str, Any]) -> str:
    """The result as text."""
    s = r["settings"]
    load = ", ".join(f"{x:.1f}" for x in r["machine"]["load_average"])
    lines = [
        f"wintermute bench service --fanout ({r['date']}; {r['machine']['cpus']} CPUs, load "
        f"{load}): {s['subscribers']} subscribers of one book, {s['updates']:,} updates",
    ]
    for name, what in (
        ("ceiling", "readers' ceiling (raw server, ready-made frames)"),
        ("per_client", "per client (before: a subscription and an encode per connection)"),
        ("fanout", "fan-out (/ws: one subscription, one encode, shared frames)"),
    ):
        p = r[name]
        rate = p["messages_per_s"]
        lines.append(
            f"{what}: {rate or 0:,.0f} messages/s delivered ({p['messages_delivered']:,} in "
            f"{p['seconds']:.2f}s); readers complete {p['readers_complete']}/{s['subscribers']}, "
            f"gaps {p['gaps']}, closed {p['closed']}"
        )
    ratio = r["fanout_vs_per_client"]
    lines.append(f"fan-out / per client: {ratio:.2f}x" if ratio else "fan-out / per client: -")
    return "\n".join(lines)
