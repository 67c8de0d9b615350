"""A mirror of one engine book, rebuilt from the engine's outputs: the L2 levels with a
sequence number, and every resting order in its level's FIFO, so that the exact quantity ahead
of an order (its queue position) is known.

The venue keeps its mirrors in Rust (``wintermute._core.VenueBooks``, from
``wintermute_engine::venue_books``: a whole drained batch per call, no Python object per book
delta). This module is the plain reference of the same rules: ``tests/test_venue_books.py``
checks the Rust mirrors against it over a real engine's events, and ``BUY`` / ``SELL`` are the
side codes both use.

Why this is exact: the venue's subscription takes every output of the engine, book deltas
included, in the matching thread's order, and the outputs carry every event that changes a
resting order — ``accepted`` (an order arrives as a taker), ``trade`` (maker and taker
quantities left), ``canceled`` (quantity left), ``amended`` (priority kept or lost) — so
replaying them with the rules of ``docs/matching.md`` gives the engine's own FIFO:

- an order that still has quantity when its command ends rests at the **back** of its level
  (a GTC remainder; IOC and market remainders are canceled before the command ends);
- a trade or cancel leaves a maker in place with less, or removes it at zero;
- an amend that keeps priority changes the quantity in place; one that loses it takes the
  order out and matches it again like a new arrival (then it rests at the back).

The levels themselves come from the ``book_delta`` outputs (the engine's own totals); the FIFO
is checked against them in the tests. The service places no icebergs, so every resting order
shows its whole quantity. Everything here is integer ticks and lots.
"""

from __future__ import annotations

from dataclasses import dataclass, field

__all__ = ["BUY", "SELL", "BookMirror", "LevelChange"]

BUY, SELL = 0, 1


@dataclass(frozen=True)
class LevelChange:
    """A level after a change: ``qty == 0`` means it is gone."""

    side: int
    price: int
    qty: int
    orders: int


@dataclass
class _Taker:
    side: int
    price: int
    remaining: int


@dataclass
class BookMirror:
    """One instrument's levels (from book deltas) and resting orders (FIFO per level)."""

    #: Book sequence: +1 for every level change.
    seq: int = 0
    _levels: tuple[dict[int, int], dict[int, int]] = field(default_factory=lambda: ({}, {}))
    #: (side, price) -> {order_id: remaining lots}, in queue order (dicts keep insertion order).
    _queues: dict[tuple[int, int], dict[int, int]] = field(default_factory=dict)
    _where: dict[int, tuple[int, int]] = field(default_factory=dict)
    #: Orders of the command being applied that may still rest when it ends.
    _takers: dict[int, _Taker] = field(default_factory=dict)
    _changes: list[LevelChange] = field(default_factory=list)

    # ---- engine events ---------------------------------------------------------------------

    def accepted(self, order_id: int, side: int, price: int, qty: int) -> None:
        """A new order arrived; it matches first, and rests if it has quantity left."""
        self._takers[order_id] = _Taker(side, price, qty)

    def traded(self, maker_id: int, maker_left: int, taker_id: int, taker_left: int) -> None:
        """A trade: the maker and the taker have ``*_left`` lots left."""
        self._set_resting(maker_id, maker_left)
        taker = self._takers.get(taker_id)
        if taker is not None:
            taker.remaining = taker_left

    def canceled(self, order_id: int, left: int) -> None:
        """A cancel (user, mass cancel, unfilled remainder, self-trade prevention)."""
        if order_id in self._where:
            self._set_resting(order_id, left)
        elif order_id in self._takers:
            self._takers[order_id].remaining = left

    def amended(self, order_id: int, price: int, qty: int, priority_kept: bool) -> None:
        """An amend to ``price`` for ``qty`` remaining lots."""
        if priority_kept:
            self._set_resting(order_id, qty)
            return
        place = self._where.get(order_id)
        if place is None:
            return
        self._set_resting(order_id, 0)
        self._takers[order_id] = _Taker(place[0], price, qty)

    def level(self, side: int, price: int, qty: int, orders: int) -> None:
        """A book delta: the level's visible quantity and order count now."""
        book = self._levels[side]
        if qty == 0:
            book.pop(price, None)
        else:
            book[price] = qty
        self.seq += 1
        self._changes.append(LevelChange(side, price, qty, orders))

    def command_done(self) -> list[LevelChange]:
        """Ends a command: takers with quantity left rest at the back of their level.
        Returns the level changes of the command (for the book's live topic)."""
        for order_id, t in self._takers.items():
            if t.remaining > 0:
                self._queues.setdefault((t.side, t.price), {})[order_id] = t.remaining
                self._where[order_id] = (t.side, t.price)
        self._takers.clear()
        changes, self._changes = self._changes, []
        return changes

    def _set_resting(self, order_id: int, left: int) -> None:
        place = self._where.get(order_id)
        if place is None:
            return
        queue = self._queues[place]
        if left > 0:
            queue[order_id] = left
            return
        del queue[order_id]
        del self._where[order_id]
        if not queue:
            del self._queues[place]

    # ---- queries ------------------------------------------------------------------------

    def depth(self, side: int, limit: int) -> list[tuple[int, int]]:
        """Up to ``limit`` levels ``(price, qty)``, best first."""
        book = self._levels[side]
        prices = sorted(book, reverse=side == BUY)[:limit]
        return [(p, book[p]) for p in prices]

    def best(self, side: int) -> int | None:
        """The best price of a side, or None."""
        book = self._levels[side]
        if not book:
            return None
        return max(book) if side == BUY else min(book)

    def resting(self, order_id: int) -> int | None:
        """The lots an order has resting, or None if it does not rest."""
        place = self._where.get(order_id)
        return None if place is None else self._queues[place][order_id]

    def queue_ahead(self, order_id: int) -> int | None:
        """The lots resting ahead of an order at its price, or None if it does not rest."""
        place = self._where.get(order_id)
        if place is None:
            return None
        ahead = 0
        for other, left in self._queues[place].items():
            if other == order_id:
                return ahead
            ahead += left
        raise AssertionError("an order's place names a queue without it")

    def queue_totals(self, side: int) -> dict[int, int]:
        """The FIFO's total per level of a side (the tests compare it with the levels)."""
        return {p: sum(q.values()) for (s, p), q in self._queues.items() if s == side}
