"""One client's outlet, in-process, over a stand-in socket the test can stall: sequenced frames
in order up to the buffer, then ``slow_consumer``; conflated frames replaced in place by the
newest; the send deadline; a close that cannot hang; the frames' bytes."""

from __future__ import annotations

import asyncio
import time
from typing import Any, cast

import pytest
from starlette.websockets import WebSocket

from wintermute.errors import ConfigError
from wintermute.service.settings import ServiceSettings
from wintermute.service.ws import outlet as outlet_module
from wintermute.service.ws.outlet import Frame, Outlet
from wintermute.service.ws.protocol import SEND_TIMEOUT, SLOW_CONSUMER, Close
from wintermute.service.ws.wire import AsgiWire, frame_bytes


class StallableSocket:
    """What an outlet uses of Starlette's WebSocket; sends wait while ``open`` is clear."""

    def __init__(self) -> None:
        self.sent: list[str] = []
        self.open = asyncio.Event()
        self.open.set()
        self.closed_with: tuple[int, str] | None = None

    async def send_text(self, text: str) -> None:
        await self.open.wait()
        self.sent.append(text)

    async def close(self, code: int, reason: str) -> None:
        await self.open.wait()
        self.closed_with = (code, reason)


def _outlet(sock: StallableSocket, limit: int = 100, timeout_s: float = 10.0) -> Outlet:
    outlet = Outlet(cast(WebSocket, sock), limit=limit, send_timeout_s=timeout_s)
    assert isinstance(outlet._wire, AsgiWire)  # no server transport behind the stand-in
    return outlet


def _closing(outlet: Outlet) -> Close | None:
    return outlet.closing


async def _settle() -> None:
    for _ in range(10):
        await asyncio.sleep(0)


def test_sequenced_frames_go_out_in_order_and_one_too_many_closes_with_slow_consumer() -> None:
    async def scenario() -> None:
        sock = StallableSocket()
        outlet = _outlet(sock, limit=5)
        sock.open.clear()
        sender = asyncio.create_task(outlet.run())
        for i in range(3):
            outlet.push(Frame(f"m{i}"))
        outlet.push(Frame("trades", weight=2))  # a message of two trades counts two events
        await _settle()
        assert outlet.closing is None
        sock.open.set()
        await _settle()
        assert sock.sent == ["m0", "m1", "m2", "trades"]
        assert outlet.pending == 0
        sock.open.clear()
        for i in range(5):
            outlet.push(Frame(f"n{i}"))
        await _settle()
        outlet.push(Frame("one too many"))
        assert _closing(outlet) == SLOW_CONSUMER
        assert outlet.closed.is_set()
        outlet.push(Frame("after"))  # a closed outlet takes nothing more
        assert outlet.pending == 0
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)
        assert "after" not in sock.sent

    asyncio.run(scenario())


def test_a_conflated_key_keeps_only_its_newest_frame_in_the_place_of_the_first() -> None:
    async def scenario() -> None:
        sock = StallableSocket()
        outlet = _outlet(sock, limit=3)
        sock.open.clear()
        outlet.push(Frame("a1"))
        for i in range(1000):  # far past the buffer: conflated, never a disconnect
            outlet.push(Frame(f"bbo{i}", key="bbo:BTC-USD"))
        outlet.push(Frame("a2"))
        outlet.push(Frame("stats1", key="stats"))
        outlet.push(Frame("eth", key="bbo:ETH-USD"))
        outlet.push(Frame("stats2", key="stats"))
        outlet.push(Frame("a3"))
        assert (outlet.closing, outlet.pending, outlet.conflated) == (None, 3, 1000)
        sender = asyncio.create_task(outlet.run())
        sock.open.set()
        await _settle()
        assert sock.sent == ["a1", "bbo999", "a2", "stats2", "eth", "a3"]
        outlet.push(Frame("bbo-next", key="bbo:BTC-USD"))  # a new key's slot after sending
        await _settle()
        assert sock.sent[-1] == "bbo-next"
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)

    asyncio.run(scenario())


def test_a_socket_that_takes_nothing_is_closed_at_the_deadline_and_a_slow_one_is_not() -> None:
    async def scenario() -> None:
        stalled, slow = StallableSocket(), StallableSocket()
        closes = _outlet(stalled, timeout_s=0.3)
        keeps = _outlet(slow, timeout_s=0.3)
        stalled.open.clear()
        senders = [asyncio.create_task(o.run()) for o in (closes, keeps)]
        started = time.monotonic()
        for i in range(10):
            closes.push(Frame(f"m{i}"))
            keeps.push(Frame(f"m{i}"))
        for _ in range(10):  # the slow socket takes a message every 0.1 s
            slow.open.clear()
            await asyncio.sleep(0.1)
            slow.open.set()
            await asyncio.sleep(0)
        await asyncio.wait_for(closes.closed.wait(), 2)
        assert closes.closing == SEND_TIMEOUT
        assert 0.3 <= time.monotonic() - started < 1.5
        assert keeps.closing is None
        assert len(slow.sent) == 10
        for s in senders:
            s.cancel()
        await asyncio.gather(*senders, return_exceptions=True)

    asyncio.run(scenario())


def test_an_idle_outlet_is_never_timed_out() -> None:
    async def scenario() -> None:
        sock = StallableSocket()
        outlet = _outlet(sock, timeout_s=0.1)
        sender = asyncio.create_task(outlet.run())
        outlet.push(Frame("only"))
        await asyncio.sleep(0.5)  # nothing to send is not a stalled socket
        assert (outlet.closing, sock.sent) == (None, ["only"])
        sender.cancel()
        await asyncio.gather(sender, return_exceptions=True)

    asyncio.run(scenario())


def test_the_close_gives_up_on_a_socket_that_takes_nothing(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(outlet_module, "CLOSE_GRACE_S", 0.2)

    async def scenario() -> None:
        sock = StallableSocket()
        outlet = _outlet(sock)
        outlet.close(SLOW_CONSUMER)
        sock.open.clear()
        started = time.monotonic()
        await outlet.finish()
        assert time.monotonic() - started < 1.0
        assert sock.closed_with is None  # it could not leave; the close did not wait for it
        sock.open.set()
        await outlet.finish()
        assert sock.closed_with == (1008, "slow_consumer")

    asyncio.run(scenario())


@pytest.mark.parametrize("size", [0, 125, 126, 65535, 65536, 70000])
def test_a_frames_bytes_are_one_final_unmasked_text_frame(size: int) -> None:
    text = "x" * size
    wire = frame_bytes(text)
    assert wire[0] == 0x81  # FIN, text
    length: Any = wire[1]
    assert length & 0x80 == 0  # a server's frames are not masked
    if size < 126:
        head = 2
    elif size < 65536:
        assert length == 126
        length, head = int.from_bytes(wire[2:4], "big"), 4
    else:
        assert length == 127
        length, head = int.from_bytes(wire[2:10], "big"), 10
    assert (length, wire[head:]) == (size, text.encode())
    frame = Frame(text)
    assert frame.wire is frame.wire  # made once, shared


def test_the_outlets_settings_come_from_the_service_table_and_are_checked() -> None:
    s = ServiceSettings.from_dict(
        {"ws_buffer": 50, "ws_send_timeout_s": 2.5, "ws_send_buffer_bytes": 0}
    )
    assert (s.ws_buffer, s.ws_send_timeout_s, s.ws_send_buffer_bytes) == (50, 2.5, 0)
    for bad in (
        {"ws_send_timeout_s": 0}, {"ws_send_timeout_s": "5"}, {"ws_send_timeout_s": True},
        {"ws_send_buffer_bytes": -1}, {"ws_send_buffer_bytes": 1.5}, {"ws_buffer": 0},
    ):  # fmt: skip
        with pytest.raises(ConfigError, match=next(iter(bad))):
            ServiceSettings.from_dict(bad)

    async def scenario() -> None:
        outlet = Outlet.of(cast(WebSocket, StallableSocket()), s)
        assert (outlet.limit, outlet.send_timeout_s) == (50, 2.5)

    asyncio.run(scenario())
