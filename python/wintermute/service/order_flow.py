"""Background order flow for the demo: seeded noise makers and takers trading on our venue, so
the book moves and trades print while you watch.

``OrderFlow(venue, symbol, reference=...)`` runs in a thread of its own (with its own asyncio
loop) and calls the venue directly, like any client would through the API:

- **makers** (accounts 101-103) rest limit orders 1 to 25 ticks either side of a reference
  price, each keeping at most ``max_resting`` orders per side (over that, the one farthest from
  the reference is canceled first, so the book follows the reference);
- **takers** (accounts 201-202) send small market orders of a random side.

The reference is the outside market's consolidated mid when one is given (``reference``
returns ``None`` until it is live) and a seeded random walk otherwise. One action every
``1/rate`` seconds on average (exponential gaps); refusals (balance, risk, a book that moved)
are counted and ignored::

    >>> from wintermute.service.order_flow import OrderFlow
    >>> from wintermute.service.venue import Venue
    >>> config = {"instruments": [{"symbol": "BTC-USD", "tick_size": "0.01",
    ...     "lot_size": "0.001", "min_qty": "0.001", "max_qty": "100", "min_price": "1",
    ...     "max_price": "1000000"}], "threads": {"risk": {"wait": "park"}}}
    >>> with Venue(config) as venue:
    ...     with OrderFlow(venue, "BTC-USD", seed=1, rate=200) as flow:
    ...         flow.wait_actions(100, timeout=20)
    ...     depth = venue.depth("BTC-USD")
    >>> len(depth.bids) > 0 and len(depth.asks) > 0
    True

The same seed gives the same sequence of decisions (the fills depend on timing).
"""

from __future__ import annotations

import asyncio
import collections
import logging
import random
import threading
import time
from collections.abc import Callable
from decimal import Decimal

from wintermute._stoppable import Stoppable
from wintermute.service.venue import Venue, VenueError

__all__ = ["MAKERS", "TAKERS", "OrderFlow"]

log = logging.getLogger("wintermute.service.order_flow")

#: The accounts of the demo's noise makers and takers (the browser trades as account 1).
MAKERS = (101, 102, 103)
TAKERS = (201, 202)
MAX_OFFSET_TICKS = 25


class OrderFlow(Stoppable):
    """Seeded makers and takers on ``symbol`` (see the module documentation)."""

    def __init__(
        self,
        venue: Venue,
        symbol: str,
        *,
        seed: int = 1,
        rate: float = 40.0,
        reference: Callable[[], Decimal | None] | None = None,
        start_price: Decimal = Decimal(60000),
        max_resting: int = 12,
        taker_share: float = 0.25,
    ) -> None:
        self.venue = venue
        self.symbol = symbol
        self.info = venue.instrument(symbol)
        self.rate = rate
        self.max_resting = max_resting
        self.taker_share = taker_share
        self._reference = reference
        self._rng = random.Random(seed)
        self._walk = self._on_grid(start_price)
        #: Actions taken and refusals met, by kind (``place``, ``cancel``, ``take``, ``refused``).
        self.counts: collections.Counter[str] = collections.Counter()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="order-flow", daemon=True)
        self._thread.start()

    def _on_grid(self, price: Decimal) -> Decimal:
        tick = self.info.tick_size
        return (price / tick).to_integral_value() * tick

    def reference_price(self) -> Decimal:
        """The price the makers quote around now (on the tick grid)."""
        outside = self._reference() if self._reference is not None else None
        if outside is not None:
            return self._on_grid(outside)
        if self._rng.random() < 0.2:
            self._walk += self.info.tick_size * self._rng.choice((-1, 1))
        return self._walk

    def _qty(self, most_lots: int) -> Decimal:
        lot = self.info.lot_size
        return max(self.info.min_qty, lot * self._rng.randint(1, most_lots))

    async def _make(self, account: int) -> None:
        ref = self.reference_price()
        side = self._rng.choice(("buy", "sell"))
        offset = self.info.tick_size * self._rng.randint(1, MAX_OFFSET_TICKS)
        price = ref - offset if side == "buy" else ref + offset
        mine = [o for o in self.venue.open_orders(account, self.symbol) if o.side == side]
        if len(mine) >= self.max_resting:
            farthest = max(mine, key=lambda o: abs((o.price or ref) - ref))
            await self.venue.cancel(account, self.symbol, order_id=farthest.order_id)
            self.counts["cancel"] += 1
        await self.venue.place(account, self.symbol, side, "limit", self._qty(500), price)
        self.counts["place"] += 1

    async def _take(self, account: int) -> None:
        side = self._rng.choice(("buy", "sell"))
        await self.venue.place(account, self.symbol, side, "market", self._qty(150))
        self.counts["take"] += 1

    async def _main(self) -> None:
        while not self._stop.is_set():
            try:
                if self._rng.random() < self.taker_share:
                    await self._take(self._rng.choice(TAKERS))
                else:
                    await self._make(self._rng.choice(MAKERS))
            except VenueError as e:
                self.counts["refused"] += 1
                if e.code == "UNAVAILABLE":
                    return
            await asyncio.sleep(min(self._rng.expovariate(self.rate), 1.0))

    def _run(self) -> None:
        try:
            asyncio.run(self._main())
        except Exception:  # the flow is decoration: never take the demo down with it
            log.exception("order flow stopped")

    def actions(self) -> int:
        """Orders placed, canceled and sent to take, so far."""
        return self.counts["place"] + self.counts["cancel"] + self.counts["take"]

    def wait_actions(self, n: int, timeout: float = 10.0) -> None:
        """Waits until ``n`` actions were taken (``TimeoutError`` after ``timeout``)."""
        deadline = time.monotonic() + timeout
        while self.actions() < n:
            if time.monotonic() > deadline or not self._thread.is_alive():
                raise TimeoutError(f"order flow: {self.actions()} of {n} actions")
            time.sleep(0.01)

    def stop(self) -> None:
        """Stops the flow (idempotent); its orders stay in the book."""
        self._stop.set()
        self._thread.join(timeout=5)
