"""The fan-out: one venue subscription per topic, each message encoded once, the same frame
pushed to every subscriber.

The venue's drain thread publishes each event once per *topic* (into one bounded queue per
feed, never waiting), not once per client. On the server's event loop each ``Feed`` reads its
topic, turns a batch of events into frames (``wintermute.service.ws.messages``: the JSON text
is made once), and pushes every frame to every member's ``Outlet``, whose ``push`` queues it or
conflates it without waiting. A slow client therefore costs the engine nothing and the other
clients one ``push`` per message.

A book feed also keeps the book's levels (``Levels``) from the venue's snapshot and the updates
it fans out, so a client that joins gets a snapshot at exactly the sequence the feed has sent,
and a ``bbo`` member gets the top of the book whenever it changes.

If a feed itself falls behind the engine (its queue from the venue overflows: the whole server
is too slow), its sequenced members are closed with ``server_behind`` and its conflated ones
carry on from a fresh subscription. When the venue stops, every member is closed with
``shutdown``.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Callable
from typing import Any

from wintermute.pipeline_stats import PipelineStats
from wintermute.service.topics import SlowConsumer, Subscriber, Topics
from wintermute.service.venue import Venue
from wintermute.service.venue_records import BookUpdate, Trade
from wintermute.service.ws import messages
from wintermute.service.ws.levels import Level, Levels
from wintermute.service.ws.outlet import Frame, Outlet
from wintermute.service.ws.protocol import SERVER_BEHIND, SHUTDOWN, Close
from wintermute.storage.schema import Alert

__all__ = ["FEED_SLICE", "AlertFeed", "BookFeed", "FanOut", "Feed", "publish_alerts"]

Render = Callable[[list[Any]], list[Frame]]
#: Events a feed fans out before it lets the event loop run the senders: a burst from the
#: venue reaches the outlets in slices, so that a client that keeps up is never seen behind
#: by more than a slice.
FEED_SLICE = 64


class Feed:
    """One venue topic on one event loop and the outlets subscribed to it."""

    def __init__(self, fanout: FanOut, topic: str, render: Render, *, conflated: bool) -> None:
        self.fanout = fanout
        self.topic = topic
        self.conflated = conflated
        self._render = render
        self._members: dict[Outlet, None] = {}
        self._sub: Subscriber | None = None
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Subscribes to the venue (``VenueError`` for a topic that cannot exist) and starts
        reading."""
        self._subscribe()
        self._task = asyncio.get_running_loop().create_task(self._pump(), name=self.topic)

    def _subscribe(self) -> None:
        self._sub = self.fanout.venue.subscribe(self.topic)

    def join(self, outlet: Outlet) -> None:
        """``outlet`` gets every frame from now on."""
        self._members[outlet] = None

    def leave(self, outlet: Outlet) -> None:
        """``outlet`` gets no more frames; the feed stops with its last member."""
        self._members.pop(outlet, None)
        if self.empty():
            self.fanout.retire(self)

    def empty(self) -> bool:
        return not self._members

    def stop(self) -> None:
        """Leaves the venue's topic and stops reading."""
        if self._sub is not None:
            self._sub.close()
        if self._task is not None:
            self._task.cancel()

    def fan_out(self, frames: list[Frame], members: dict[Outlet, None]) -> None:
        """Pushes every frame to every member: the one piece of work per subscriber."""
        for frame in frames:
            for outlet in members:
                outlet.push(frame)

    async def deliver(self, items: list[Any]) -> None:
        """A batch of the venue's events, to every member, ``FEED_SLICE`` frames at a time."""
        frames = self._render(items)
        for i in range(0, len(frames), FEED_SLICE):
            if i:  # the senders write the last slice before the next one queues
                await asyncio.sleep(0)
            self.fan_out(frames[i : i + FEED_SLICE], self._members)

    async def _pump(self) -> None:
        try:
            while True:
                assert self._sub is not None
                try:
                    items = await self._sub.next_batch()
                except SlowConsumer as e:
                    if e.reason == "slow_consumer" and self._resume():
                        continue
                    self._end(SHUTDOWN if e.reason == "shutdown" else SERVER_BEHIND)
                    return
                await self.deliver(items)
        finally:  # stopped, or its loop ends: the venue has nobody to hand this topic to
            if self._sub is not None:
                self._sub.close()

    def _resume(self) -> bool:
        """The feed fell behind: conflated members carry on from a fresh subscription,
        sequenced ones are closed. True if the feed goes on."""
        if not self.conflated:
            return False
        self._subscribe()
        return True

    def _end(self, close: Close) -> None:
        for outlet in tuple(self._members):
            outlet.close(close)
        self._members.clear()
        self.fanout.retire(self)


class BookFeed(Feed):
    """A book topic: ``book`` members get a snapshot then every update, ``bbo`` members the top
    of the book when it changes (conflated)."""

    def __init__(self, fanout: FanOut, symbol: str) -> None:
        super().__init__(fanout, f"book:{symbol}", lambda items: [], conflated=False)
        self.symbol = symbol
        self.levels: Levels | None = None
        self._book: dict[Outlet, None] = {}
        self._bbo: dict[Outlet, None] = {}
        self._top: tuple[Level | None, Level | None] | None = None

    def _subscribe(self) -> None:
        snapshot, self._sub = self.fanout.venue.subscribe_book(self.symbol, sys.maxsize)
        self.levels = Levels(snapshot)
        self._top = None

    def join_book(self, outlet: Outlet, depth: int) -> None:
        """A snapshot of ``depth`` levels at the feed's sequence, then every update."""
        assert self.levels is not None
        outlet.push(messages.book_snapshot(self.levels.depth(depth)))
        self._book[outlet] = None

    def join_bbo(self, outlet: Outlet) -> None:
        """The top of the book now, then whenever it changes."""
        assert self.levels is not None
        outlet.push(messages.bbo(self.symbol, self.levels.seq, *self.levels.top()))
        self._bbo[outlet] = None

    def leave(self, outlet: Outlet) -> None:
        self._book.pop(outlet, None)
        self._bbo.pop(outlet, None)
        if self.empty():
            self.fanout.retire(self)

    def empty(self) -> bool:
        return not self._book and not self._bbo

    async def deliver(self, items: list[Any]) -> None:
        levels = self.levels
        assert levels is not None
        book, bbo = self._book, self._bbo
        for i, update in enumerate(items):
            if not isinstance(update, BookUpdate):
                continue
            if i and not i % FEED_SLICE:
                await asyncio.sleep(0)  # as above; members may join or leave meanwhile
            levels.apply(update)
            if book:
                self.fan_out([messages.book_delta(update)], book)
            if bbo:
                top = levels.top()
                if top != self._top:
                    self._top = top
                    self.fan_out([messages.bbo(self.symbol, levels.seq, *top)], bbo)

    def _resume(self) -> bool:
        for outlet in tuple(self._book):
            outlet.close(SERVER_BEHIND)
        self._book.clear()
        if not self._bbo:
            return False
        self._subscribe()  # a fresh snapshot: the bbo members get its top at once
        assert self.levels is not None
        self._top = self.levels.top()
        self.fan_out([messages.bbo(self.symbol, self.levels.seq, *self._top)], self._bbo)
        return True

    def _end(self, close: Close) -> None:
        for outlet in (*self._book, *self._bbo):
            outlet.close(close)
        self._book.clear()
        self._bbo.clear()
        self.fanout.retire(self)


class AlertFeed(Feed):
    """Alerts come from the audit writer, not the engine: the topic is on the venue's
    ``topics`` but is none of the venue's own."""

    def _subscribe(self) -> None:
        self._sub = self.fanout.venue.topics.subscribe(self.topic)


def publish_alerts(topics: Topics, alerts: list[Alert]) -> None:
    """Offers stored alerts to the ``alerts`` topic (the admin's: all of them) and to
    ``alerts:<account>`` of each account an alert names (its ``account`` and a wash trade's
    ``contra_account``), as ``/api/audit/alerts`` shows them to an account key. Called on
    the audit writer's thread; never waits."""
    for alert in alerts:
        topics.publish("alerts", alert)
        for account in {alert.account, alert.contra_account}:
            if account is not None:
                topics.publish(f"alerts:{account}", alert)


def _trades(symbol: str) -> Render:
    return lambda items: messages.trades(symbol, [t for t in items if isinstance(t, Trade)])


def _stats(items: list[Any]) -> list[Frame]:
    newest = [s for s in items if isinstance(s, PipelineStats)][-1:]
    return [messages.stats(s) for s in newest]


class FanOut:
    """The feeds of one event loop (one server), by topic, made on first use and stopped with
    their last member."""

    def __init__(self, venue: Venue) -> None:
        self.venue = venue
        self.loop = asyncio.get_running_loop()
        self._feeds: dict[str, Feed] = {}

    def book(self, symbol: str) -> BookFeed:
        """The book feed of ``symbol`` (``VenueError`` ``UNKNOWN_SYMBOL``)."""
        feed = self._feeds.get(f"book:{symbol}")
        if feed is None:
            feed = BookFeed(self, symbol)
            self._start(feed)
        assert isinstance(feed, BookFeed)
        return feed

    def trades(self, symbol: str) -> Feed:
        """The public trades of ``symbol`` (``VenueError`` ``UNKNOWN_SYMBOL``)."""
        return self._feed(f"trades:{symbol}", _trades(symbol), conflated=False)

    def account(self, account: int) -> Feed:
        """An account's orders and fills."""
        return self._feed(f"account:{account}", messages.account, conflated=False)

    def stats(self) -> Feed:
        """The engine's stats (conflated)."""
        return self._feed("stats", _stats, conflated=True)

    def alerts(self, account: int | None) -> Feed:
        """The compliance alerts as the audit trail stores them: every one (``None``: for
        the admin) or those naming ``account`` (:func:`publish_alerts`)."""
        topic = "alerts" if account is None else f"alerts:{account}"
        return self._feed(topic, messages.alerts, conflated=False, kind=AlertFeed)

    def _feed(
        self, topic: str, render: Render, *, conflated: bool, kind: type[Feed] | None = None
    ) -> Feed:
        feed = self._feeds.get(topic)
        if feed is None:
            feed = (kind or Feed)(self, topic, render, conflated=conflated)
            self._start(feed)
        return feed

    def _start(self, feed: Feed) -> None:
        feed.start()
        self._feeds[feed.topic] = feed

    def retire(self, feed: Feed) -> None:
        """Stops ``feed`` (it has no member left, or it ended)."""
        if self._feeds.get(feed.topic) is feed:
            del self._feeds[feed.topic]
        feed.stop()

    def feeds(self) -> list[Feed]:
        """The running feeds."""
        return list(self._feeds.values())
