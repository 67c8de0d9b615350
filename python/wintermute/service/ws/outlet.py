"""One client's outgoing messages: a bounded buffer, conflation, a sender with a deadline and a
bounded close.

The fan-out hands every subscriber the same ``Frame`` (a message encoded once); ``push`` is the
only work it does per subscriber, and it never waits:

- a **sequenced** frame (``key`` None: book deltas, trades, orders, replies) joins the queue;
  when the events waiting would pass ``limit`` the client is closed with ``slow_consumer``
  (dropping one would leave a gap the client cannot see);
- a **conflated** frame (a ``key``: the newest BBO of a symbol, the engine's stats) replaces the
  pending frame of its key, if there is one, in that frame's place in the queue: a client that
  falls behind gets the newest state, never a backlog, and never a disconnect for it.

The sender writes the queue to the connection in order, a batch at a time (``wire``: under
uvicorn, the frames' bytes straight to the transport); the connection's kernel send buffer is
capped (``socket_buffer`` bytes, ``SO_SNDBUF``), so what a stalled client holds is bounded
there too. A socket that takes no message for ``send_timeout_s`` (the client stopped reading,
or reads too slowly for the frames in flight) closes the client with ``send_timeout``.
``finish`` sends the close frame with its code and reason, waiting at most ``CLOSE_GRACE_S``,
and aborts the connection if it is still open ``CLOSE_GRACE_S`` later: a client that never
reads cannot keep it, or the server's memory, for longer.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections import deque

from starlette.websockets import WebSocket

from wintermute.service.settings import ServiceSettings
from wintermute.service.ws.protocol import CLOSE_GRACE_S, SEND_TIMEOUT, SLOW_CONSUMER, Close
from wintermute.service.ws.wire import frame_bytes, wire_of

__all__ = ["SEND_BATCH", "Frame", "Outlet"]

#: Messages the sender writes before it lets the event loop run others.
SEND_BATCH = 256


class Frame:
    """One message, encoded once and shared by every subscriber: its JSON ``text``, the events
    it carries (``weight``: a trades message counts its trades) and its conflation ``key``
    (None: every frame is delivered)."""

    __slots__ = ("_wire", "key", "text", "weight")

    def __init__(self, text: str, weight: int = 1, key: str | None = None) -> None:
        self.text = text
        self.weight = weight
        self.key = key
        self._wire: bytes | None = None

    @property
    def wire(self) -> bytes:
        """The WebSocket frame's bytes, made on first use and then shared."""
        if self._wire is None:
            self._wire = frame_bytes(self.text)
        return self._wire

    def __repr__(self) -> str:
        return f"Frame({self.text[:60]!r}, weight={self.weight}, key={self.key!r})"


class Outlet:
    """One client's outgoing messages (see the module documentation). Run ``run()`` as the
    sender task; once ``closed`` is set, cancel it and ``await finish()``."""

    def __init__(
        self, ws: WebSocket, *, limit: int, send_timeout_s: float, socket_buffer: int = 0
    ) -> None:
        self.ws = ws
        self.limit = limit
        self.send_timeout_s = send_timeout_s
        #: Why the server closes the connection (None while it serves).
        self.closing: Close | None = None
        #: Set once ``closing`` is.
        self.closed = asyncio.Event()
        #: Messages written to the socket; pending messages a newer one of their key replaced.
        self.sent = 0
        self.conflated = 0
        self._loop = asyncio.get_running_loop()
        self._queue: deque[Frame] = deque()
        self._latest: dict[str, Frame] = {}
        self._pending = 0  # events in the queue's sequenced frames
        self._waiter: asyncio.Future[None] | None = None
        self._busy = False
        self._progress_at = 0.0
        self._deadline: asyncio.TimerHandle | None = None
        self._wire = wire_of(ws)
        if socket_buffer:
            self._wire.cap(socket_buffer)

    @classmethod
    def of(cls, ws: WebSocket, settings: ServiceSettings) -> Outlet:
        """An outlet with the service's settings: ``ws_buffer`` events, ``ws_send_timeout_s``,
        ``ws_send_buffer_bytes``."""
        return cls(
            ws, limit=settings.ws_buffer, send_timeout_s=settings.ws_send_timeout_s,
            socket_buffer=settings.ws_send_buffer_bytes,
        )  # fmt: skip

    @property
    def pending(self) -> int:
        """Events waiting in sequenced frames (at most ``limit``)."""
        return self._pending

    def push(self, frame: Frame) -> None:
        """Queues ``frame`` (never waits; see the module documentation)."""
        if self.closing is not None:
            return
        key = frame.key
        if key is None:
            pending = self._pending + frame.weight
            if pending > self.limit:
                self.close(SLOW_CONSUMER)
                return
            self._pending = pending
            self._queue.append(frame)
        elif key in self._latest:
            self._latest[key] = frame
            self.conflated += 1
            return
        else:
            self._latest[key] = frame
            self._queue.append(frame)
        waiter = self._waiter
        if waiter is not None:
            self._waiter = None
            if not waiter.done():
                waiter.set_result(None)

    def close(self, close: Close) -> None:
        """Stops the outlet: nothing more is queued or sent; ``closed`` is set."""
        if self.closing is not None:
            return
        self.closing = close
        self._queue.clear()
        self._latest.clear()
        self._pending = 0
        if self._deadline is not None:
            self._deadline.cancel()
            self._deadline = None
        waiter, self._waiter = self._waiter, None
        if waiter is not None and not waiter.done():
            waiter.set_result(None)
        self.closed.set()

    async def run(self) -> None:
        """The sender: writes the queue to the socket, in order, until the outlet closes."""
        try:
            await self._send_all()
        finally:
            self._busy = False  # a deadline still armed finds nothing to time

    async def _send_all(self) -> None:
        queue, latest, loop, wire = self._queue, self._latest, self._loop, self._wire
        while self.closing is None:
            if not queue:
                self._busy = False
                self._waiter = loop.create_future()
                await self._waiter
                continue
            if not self._busy:
                self._busy = True
                self._progress_at = loop.time()
                if self._deadline is None:
                    self._deadline = loop.call_later(self.send_timeout_s, self._check_deadline)
            batch, weight = [], 0
            for _ in range(min(len(queue), SEND_BATCH)):
                frame = queue.popleft()
                if frame.key is None:
                    weight += frame.weight
                else:
                    frame = latest.pop(frame.key)
                batch.append(frame)
            if not await wire.write(batch, self._progressed) or self.closing is not None:
                return  # the connection is closing: the session ends
            self._pending -= weight  # counted until the socket took them
            self.sent += len(batch)
            await asyncio.sleep(0)

    def _progressed(self) -> None:
        self._progress_at = self._loop.time()

    def _check_deadline(self) -> None:
        self._deadline = None
        if self.closing is not None or not self._busy:
            return
        waited = self._loop.time() - self._progress_at
        if waited >= self.send_timeout_s:
            self.close(SEND_TIMEOUT)
        else:
            self._deadline = self._loop.call_later(
                self.send_timeout_s - waited, self._check_deadline
            )

    async def finish(self) -> None:
        """Sends the close frame (``closing``'s code and reason), waiting at most
        ``CLOSE_GRACE_S``; a connection still open ``CLOSE_GRACE_S`` later is aborted."""
        close = self.closing
        if close is None:
            return
        with contextlib.suppress(Exception):  # a client already gone, or one that never reads
            await asyncio.wait_for(self.ws.close(close.code, close.reason), CLOSE_GRACE_S)
        self._loop.call_later(CLOSE_GRACE_S, self._wire.abort_if_open)
