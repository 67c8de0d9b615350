"""The L2 book a book feed keeps: the venue's snapshot, then every update it fans out.

Because the feed is the one reader of the venue's book topic on its event loop, its levels are
exactly the book at the last update it sent: a client that joins gets a snapshot at that
sequence from here, and the next update the feed sends is the one after it (no venue lock, no
race with the engine). The top of the book is what the ``bbo`` channel sends::

    >>> from decimal import Decimal as D
    >>> from wintermute.service.venue_records import BookUpdate, Depth
    >>> levels = Levels(Depth("BTC-USD", 7, [(D(99), D(1))], [(D(101), D(2))]))
    >>> levels.apply(BookUpdate("BTC-USD", 8, 9, [(D(100), D(3))], [(D(101), D(0))], 0))
    >>> levels.top()
    ((Decimal('100'), Decimal('3')), None)
    >>> depth = levels.depth(5)
    >>> depth.seq, depth.bids, depth.asks
    (9, [(Decimal('100'), Decimal('3')), (Decimal('99'), Decimal('1'))], [])
"""

from __future__ import annotations

import itertools
import operator
from decimal import Decimal

from sortedcontainers import SortedDict

from wintermute.service.venue_records import BookUpdate, Depth

__all__ = ["Level", "Levels"]

Level = tuple[Decimal, Decimal]


class Levels:
    """One instrument's levels ``price -> qty``, best first on both sides, at ``seq``."""

    def __init__(self, snapshot: Depth) -> None:
        self.symbol = snapshot.symbol
        self.seq = snapshot.seq
        self._bids: SortedDict = SortedDict(operator.neg, snapshot.bids)
        self._asks: SortedDict = SortedDict(snapshot.asks)

    def apply(self, update: BookUpdate) -> None:
        """Applies an update (a zero quantity removes the level)."""
        for book, levels in ((self._bids, update.bids), (self._asks, update.asks)):
            for price, qty in levels:
                if qty:
                    book[price] = qty
                else:
                    book.pop(price, None)
        self.seq = update.seq

    def top(self) -> tuple[Level | None, Level | None]:
        """The best bid and ask ``(price, qty)`` (None: that side is empty)."""
        bid = self._bids.peekitem(0) if self._bids else None
        ask = self._asks.peekitem(0) if self._asks else None
        return bid, ask

    def depth(self, limit: int) -> Depth:
        """The top ``limit`` levels per side, at ``seq``."""
        return Depth(
            self.symbol,
            self.seq,
            list(itertools.islice(self._bids.items(), limit)),
            list(itertools.islice(self._asks.items(), limit)),
        )
