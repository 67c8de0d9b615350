"""How an outlet reaches its client: the connection under the ASGI WebSocket.

Under uvicorn's sans-I/O WebSocket protocol (the one the service runs: ``ws="websockets-sansio"``,
no per-message compression) the connection's transport is reachable, and ``wire_of`` returns a
``DirectWire``: each frame's bytes (the WebSocket header and the JSON, built once per frame and
shared by every subscriber) are written straight to the transport, a batch at a time in one
vectored write, with the protocol's own flow control (its ``writable`` event, cleared above the
transport's high-water mark). Anywhere else it is an ``AsgiWire``: one ASGI ``send`` per message.

Either way the wire can cap the kernel's send buffer (``SO_SNDBUF``) and abort the connection
(with a zero linger time: the kernel resets it rather than keep what the client never read).
"""

from __future__ import annotations

import asyncio
import contextlib
import socket
import struct
from collections.abc import Callable
from typing import Any

from starlette.websockets import WebSocket

__all__ = ["AsgiWire", "DirectWire", "Wire", "frame_bytes", "wire_of"]


def frame_bytes(text: str) -> bytes:
    """A final, unmasked WebSocket text frame (what a server sends) carrying ``text``."""
    data = text.encode()
    n = len(data)
    if n < 126:
        return bytes((0x81, n)) + data
    if n < 1 << 16:
        return bytes((0x81, 126)) + n.to_bytes(2, "big") + data
    return bytes((0x81, 127)) + n.to_bytes(8, "big") + data


class Wire:
    """The connection: ``write`` frames, ``cap`` its kernel buffer, ``abort`` it."""

    def __init__(self, transport: Any) -> None:
        self.transport = transport

    async def write(self, frames: list[Any], progressed: Callable[[], None]) -> bool:
        """Writes ``frames`` (objects with ``text`` and ``wire``) in order, calling
        ``progressed`` as the socket takes them. False if the connection is closing."""
        raise NotImplementedError

    def cap(self, size: int) -> None:
        """Sets the kernel's send buffer to ``size`` bytes (the kernel's autotuning would let
        a client that stops reading hold megabytes)."""
        sock = self.transport.get_extra_info("socket") if self.transport is not None else None
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, size)

    def abort_if_open(self) -> None:
        """Aborts the connection if it is still open, or still flushing to a client that does
        not read."""
        transport = self.transport
        if transport is None or (transport.is_closing() and not transport.get_write_buffer_size()):
            return
        sock = transport.get_extra_info("socket")
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
        transport.abort()


class AsgiWire(Wire):
    """One ASGI ``send`` per message (any server)."""

    def __init__(self, ws: WebSocket, transport: Any) -> None:
        super().__init__(transport)
        self.send_text = ws.send_text

    async def write(self, frames: list[Any], progressed: Callable[[], None]) -> bool:
        for frame in frames:
            await self.send_text(frame.text)
            progressed()
        return True


class DirectWire(Wire):
    """Frames straight to uvicorn's transport, in one vectored write per batch."""

    def __init__(self, protocol: Any) -> None:
        super().__init__(protocol.transport)
        self.protocol = protocol
        self.writable: asyncio.Event = protocol.writable

    async def write(self, frames: list[Any], progressed: Callable[[], None]) -> bool:
        if not self.writable.is_set():
            await self.writable.wait()
        protocol, transport = self.protocol, self.transport
        if protocol.close_sent or protocol.disconnected or transport.is_closing():
            return False
        transport.writelines([f.wire for f in frames])
        progressed()
        return True


def _uvicorn_protocol(ws: WebSocket) -> Any:
    """uvicorn's WebSocket protocol object of ``ws``: its bound method is the ASGI
    ``receive`` (None under another server)."""
    return getattr(getattr(ws, "_receive", None), "__self__", None)


def wire_of(ws: WebSocket) -> Wire:
    """The best wire for ``ws`` (see the module documentation)."""
    protocol = _uvicorn_protocol(ws)
    transport = getattr(protocol, "transport", None)
    if not callable(getattr(transport, "abort", None)):
        return AsgiWire(ws, None)
    direct = (
        isinstance(getattr(protocol, "writable", None), asyncio.Event)
        and isinstance(getattr(protocol, "close_sent", None), bool)
        and isinstance(getattr(protocol, "disconnected", None), bool)
        and getattr(getattr(protocol, "conn", None), "extensions", None) == []
    )
    return DirectWire(protocol) if direct else AsgiWire(ws, transport)
