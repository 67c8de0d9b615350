"""Live topics: the venue publishes, each subscriber reads from a bounded queue of its own.

The publisher is the venue's drain thread; subscribers are asyncio tasks (a WebSocket
connection) on any event loop. ``offer`` never waits: when a subscriber's queue is full it is
dropped (reason ``slow_consumer``) and its iterator raises ``SlowConsumer``, so a slow reader
costs the engine nothing but the one failed offer::

    >>> import asyncio
    >>> from wintermute.service.topics import Topics
    >>> topics = Topics(capacity=2)
    >>> async def main() -> list[object]:
    ...     sub = topics.subscribe("trades:BTC-USD")
    ...     topics.publish("trades:BTC-USD", "t1")
    ...     return await sub.next_batch()
    >>> asyncio.run(main())
    ['t1']
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections import deque
from collections.abc import AsyncIterator
from typing import Any

__all__ = ["SlowConsumer", "Subscriber", "Topics"]


class SlowConsumer(Exception):  # noqa: N818 (the contract's name)
    """A subscriber fell behind (its queue was full) and was dropped."""

    def __init__(self, topic: str, reason: str = "slow_consumer") -> None:
        super().__init__(f"subscriber of topic={topic} dropped: {reason}")
        self.topic = topic
        self.reason = reason


def _wake(waiter: asyncio.Future[None]) -> None:
    if not waiter.done():
        waiter.set_result(None)


def _wake_from_any_thread(waiter: asyncio.Future[None]) -> None:
    with contextlib.suppress(RuntimeError):  # its loop is closed: nobody waits any more
        waiter.get_loop().call_soon_threadsafe(_wake, waiter)


class Subscriber:
    """One reader of one topic. Iterate it (``async for item in sub``) or take everything
    waiting at once (``await sub.next_batch()``); ``close()`` when done."""

    def __init__(self, topics: Topics, topic: str, capacity: int) -> None:
        self.topic = topic
        self.capacity = capacity
        #: Why it was dropped (``slow_consumer``, ``closed``), or None while live.
        self.dropped: str | None = None
        self._topics = topics
        self._items: deque[Any] = deque()
        self._lock = threading.Lock()
        self._waiter: asyncio.Future[None] | None = None

    def offer(self, item: Any) -> bool:
        """Queues ``item`` (any thread, never waits); False once the subscriber is gone."""
        with self._lock:
            if self.dropped is not None:
                return False
            if len(self._items) >= self.capacity:
                self.dropped = "slow_consumer"
                self._items.clear()
                ok = False
            else:
                self._items.append(item)
                ok = True
            waiter, self._waiter = self._waiter, None
        if waiter is not None:
            _wake_from_any_thread(waiter)
        return ok

    def close(self, reason: str = "closed") -> None:
        """Stops the subscription (idempotent)."""
        with self._lock:
            if self.dropped is None:
                self.dropped = reason
            waiter, self._waiter = self._waiter, None
        self._topics.remove(self)
        if waiter is not None:
            _wake_from_any_thread(waiter)

    async def next_batch(self) -> list[Any]:
        """Everything queued, waiting for at least one item. Raises ``SlowConsumer`` once the
        subscriber was dropped."""
        while True:
            with self._lock:
                if self.dropped is not None:
                    raise SlowConsumer(self.topic, self.dropped)
                if self._items:
                    items = list(self._items)
                    self._items.clear()
                    return items
                waiter = asyncio.get_running_loop().create_future()
                self._waiter = waiter
            await waiter

    def pending(self) -> int:
        """Items waiting."""
        return len(self._items)

    async def __aiter__(self) -> AsyncIterator[Any]:
        while True:
            for item in await self.next_batch():
                yield item


class Topics:
    """Subscribers by topic name; ``capacity`` bounds each subscriber's queue."""

    def __init__(self, capacity: int = 10000) -> None:
        self.capacity = capacity
        self._subs: dict[str, list[Subscriber]] = {}
        self._lock = threading.Lock()
        #: Subscribers dropped for falling behind, since start.
        self.dropped_slow = 0
        #: +1 whenever a topic gains its first subscriber or loses its last one.
        self.changes = 0

    def subscribe(self, topic: str, capacity: int | None = None) -> Subscriber:
        """A new subscriber of ``topic``."""
        sub = Subscriber(self, topic, capacity or self.capacity)
        with self._lock:
            subs = self._subs.setdefault(topic, [])
            if not subs:
                self.changes += 1
            subs.append(sub)
        return sub

    def remove(self, sub: Subscriber) -> None:
        """Takes ``sub`` off its topic."""
        with self._lock:
            subs = self._subs.get(sub.topic)
            if subs is not None and sub in subs:
                subs.remove(sub)
                if not subs:
                    del self._subs[sub.topic]
                    self.changes += 1

    def names(self) -> list[str]:
        """The topics that have subscribers."""
        with self._lock:
            return list(self._subs)

    def has(self, topic: str) -> bool:
        """True if ``topic`` has a subscriber (publishers skip building unread events)."""
        return topic in self._subs

    def publish(self, topic: str, item: Any) -> None:
        """Offers ``item`` to every subscriber of ``topic``; drops those that are full."""
        subs = self._subs.get(topic)
        if not subs:
            return
        for sub in list(subs):
            if not sub.offer(item):
                if sub.dropped == "slow_consumer":
                    self.dropped_slow += 1
                self.remove(sub)

    def close_all(self, reason: str = "shutdown") -> None:
        """Drops every subscriber (the venue stops)."""
        with self._lock:
            subs = [s for group in self._subs.values() for s in group]
        for sub in subs:
            sub.close(reason)

    def count(self) -> int:
        """Live subscribers."""
        return sum(len(s) for s in self._subs.values())
