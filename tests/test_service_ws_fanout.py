"""The fan-out in-process, over a running venue and stand-in outlets that record what they are
handed: one encode per message, the very same frame for every subscriber; a book snapshot at
the feed's sequence then every update; a feed that falls behind the engine; the venue
stopping; a feed ending with its last member."""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Awaitable, Callable
from decimal import Decimal
from typing import Any, cast

import numpy as np
import pytest

from service_fixtures import service_config
from wintermute import batch
from wintermute.service.settings import ServiceSettings
from wintermute.service.venue import Venue
from wintermute.service.ws import messages
from wintermute.service.ws.fanout import FanOut
from wintermute.service.ws.outlet import Frame, Outlet
from wintermute.service.ws.protocol import SERVER_BEHIND, SHUTDOWN, Close

BTC = "BTC-USD"
D = Decimal


class Recorder:
    """An outlet that keeps every frame it is handed, and how it was closed."""

    def __init__(self) -> None:
        self.frames: list[Frame] = []
        self.closing: Close | None = None

    def push(self, frame: Frame) -> None:
        self.frames.append(frame)

    def close(self, close: Close) -> None:
        self.closing = close

    def messages(self) -> list[dict[str, Any]]:
        return [json.loads(f.text) for f in self.frames]

    @property
    def outlet(self) -> Outlet:
        return cast(Outlet, self)


def _venue(**settings: Any) -> Venue:
    config = service_config()
    del config["service"]
    config["gateways"] = {"count": 2}
    return Venue(config, ServiceSettings(**settings))


def _run(venue: Venue, scenario: Callable[[FanOut], Awaitable[None]]) -> None:
    async def main() -> None:
        await asyncio.wait_for(scenario(FanOut(venue)), 60)

    try:
        asyncio.run(main())
    finally:
        venue.close()


async def _until(check: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not check():
        assert time.monotonic() < deadline, "not in time"
        await asyncio.sleep(0.01)


def test_each_message_is_encoded_once_and_every_subscriber_gets_the_same_frame(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    venue = _venue()

    async def scenario(fanout: FanOut) -> None:
        subscribers = [Recorder() for _ in range(3)]
        trades, book = fanout.trades(BTC), fanout.book(BTC)
        for r in subscribers:
            trades.join(r.outlet)
            book.join_book(r.outlet, 10)
        encoded: list[str] = []
        original = messages.encode

        def counting(message: dict[str, Any]) -> str:
            encoded.append(message["type"])
            return original(message)

        monkeypatch.setattr(messages, "encode", counting)
        await venue.place(1, BTC, "sell", "limit", D(1), D(100))
        await venue.place(2, BTC, "buy", "limit", D("0.4"), D(100))
        await _until(lambda: "trades" in [m["type"] for m in subscribers[0].messages()])
        monkeypatch.undo()
        first = subscribers[0].frames
        assert len(first) == 4  # the snapshot, the ask, the trade's update, the trade
        for other in subscribers[1:]:
            assert all(a is b for a, b in zip(other.frames[1:], first[1:], strict=True))
        assert sorted(encoded) == ["book_delta", "book_delta", "trades"]  # once each, not 3x

    _run(venue, scenario)


def test_a_book_member_gets_a_snapshot_at_the_feeds_sequence_then_every_update() -> None:
    venue = _venue()

    async def scenario(fanout: FanOut) -> None:
        early, late = Recorder(), Recorder()
        book = fanout.book(BTC)
        book.join_book(early.outlet, 5000)
        gateway = venue.pipeline.gateway(1)
        ids = np.arange(10**9, 10**9 + 300, dtype=np.uint64)
        orders = batch.new_orders(order_id=ids, side=batch.BUY, price=9000 + ids % 50, qty=1)
        gateway.submit_batch(0, orders[:150])
        await _until(lambda: len(early.frames) > 100)
        book.join_book(late.outlet, 5000)  # mid-stream
        gateway.submit_batch(0, orders[150:])
        await _until(lambda: book.levels is not None and book.levels.seq == 300)  # one each
        for r in (early, late):
            msgs = r.messages()
            assert msgs[0]["type"] == "book_snapshot"
            seq, levels = msgs[0]["seq"], dict(map(tuple, msgs[0]["bids"]))
            for m in msgs[1:]:
                assert m["first_seq"] == seq + 1
                seq = m["seq"]
                levels.update(map(tuple, m["bids"]))
            depth = venue.depth(BTC, 5000)
            assert seq == depth.seq
            assert levels == {format(p, "f"): format(q, "f") for p, q in depth.bids}

    _run(venue, scenario)


def test_a_feed_behind_the_engine_closes_its_book_members_and_keeps_its_bbo_ones() -> None:
    venue = _venue(subscriber_queue=5)

    async def scenario(fanout: FanOut) -> None:
        book_member, bbo_member = Recorder(), Recorder()
        book = fanout.book(BTC)
        book.join_book(book_member.outlet, 10)
        book.join_bbo(bbo_member.outlet)
        ids = np.arange(10**9, 10**9 + 50, dtype=np.uint64)
        orders = batch.new_orders(order_id=ids, side=batch.BUY, price=9000 + ids % 50, qty=1)
        venue.pipeline.gateway(1).submit_batch(0, orders)
        time.sleep(0.5)  # the loop does not run: the feed's queue of 5 overflows
        await _until(lambda: book_member.closing is not None)
        assert book_member.closing == SERVER_BEHIND
        best = venue.depth(BTC, 1).bids[0]
        await _until(lambda: bbo_member.messages()[-1]["bid"] == [format(x, "f") for x in best])
        assert bbo_member.closing is None
        assert fanout.feeds() == [book]  # still serving the bbo

    _run(venue, scenario)


def test_when_the_venue_stops_every_member_is_closed_with_shutdown() -> None:
    venue = _venue()

    async def scenario(fanout: FanOut) -> None:
        members = [Recorder() for _ in range(3)]
        fanout.trades(BTC).join(members[0].outlet)
        fanout.stats().join(members[1].outlet)
        fanout.book(BTC).join_bbo(members[2].outlet)
        await asyncio.to_thread(venue.close)
        await _until(lambda: all(m.closing is not None for m in members))
        assert {m.closing for m in members} == {SHUTDOWN}
        assert fanout.feeds() == []

    _run(venue, scenario)


def test_a_feed_leaves_the_venue_with_its_last_member() -> None:
    venue = _venue()

    async def scenario(fanout: FanOut) -> None:
        a, b = Recorder(), Recorder()
        trades = fanout.trades(BTC)
        assert fanout.trades(BTC) is trades  # one feed per topic
        trades.join(a.outlet)
        trades.join(b.outlet)
        assert venue.topics.count() == 1  # one venue subscription for both
        trades.leave(a.outlet)
        assert venue.topics.count() == 1
        trades.leave(b.outlet)
        assert (venue.topics.count(), fanout.feeds()) == (0, [])
        assert fanout.trades(BTC) is not trades  # a new subscriber starts a new feed

    _run(venue, scenario)
