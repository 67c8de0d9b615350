"""The benchmark's seeded workload: one stream of order commands that every system replays.

Mix (after the warm-up), as in the benchmark issue:

* 60% **add**: a passive limit order that rests, priced a few ticks off a random-walk mid on its
  own side (never through the opposite touch);
* 30% **cancel** of an order that is live at that moment, picked uniformly;
* 10% **cross**: an order that trades on arrival, half of them aggressive limits priced 0-3 ticks
  through the opposite touch (their remainder rests), half market orders (their remainder is
  dropped).

Before those, a warm-up of ``warmup`` passive adds (1,000 by default, half bids and half asks)
builds the book; systems apply it untimed.

One instrument; prices are integer ticks (the mid starts at 100,000 ticks) and quantities integer
lots. Commands are five parallel ``array('q')`` columns, so the stream is compact, identical for
every system, and viewable as numpy arrays without a copy (:meth:`Workload.columns`):

========= ================================================================================
column    meaning
========= ================================================================================
kind      ``LIMIT`` (0), ``CANCEL`` (1) or ``MARKET`` (2)
order_id  the new order's id (1, 2, 3, ... in stream order), or the id a cancel targets
side      ``BUY`` (0) or ``SELL`` (1); for a cancel, the side of the order it targets
price     limit price in ticks; for a cancel, the target's price; 0 for a market order
qty       quantity in lots; 0 for a cancel
========= ================================================================================

The stream is generated in Rust (``python_mix_flat_warm`` in ``crates/bench/src/workload.rs``, the
same generator the Rust benchmarks replay), which drives a real order book while it generates, so
that cancels always name a live order and crosses always meet liquidity. The same seed gives the
same stream, byte for byte, on every platform (a self-contained SplitMix64).
"""

from __future__ import annotations

from array import array
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from wintermute.bench.price_time_book import Fill, PriceTimeBook

if TYPE_CHECKING:
    import numpy as np
    import numpy.typing as npt

LIMIT = 0
CANCEL = 1
MARKET = 2

KIND_NAMES = {LIMIT: "limit", CANCEL: "cancel", MARKET: "market"}

ADD_SHARE = 0.60
CANCEL_SHARE = 0.30
CROSS_SHARE = 0.10

START_MID = 100_000
DEFAULT_SEED = 42
DEFAULT_ORDERS = 100_000
DEFAULT_WARMUP = 1_000


@dataclass(frozen=True)
class Workload:
    """A command stream: ``warmup`` untimed commands, then the measured ones."""

    seed: int
    warmup: int
    kind: array[int]
    order_id: array[int]
    side: array[int]
    price: array[int]
    qty: array[int]

    def __len__(self) -> int:
        return len(self.kind)

    @property
    def measured(self) -> int:
        """Number of commands after the warm-up: the ones every system is timed on."""
        return len(self.kind) - self.warmup

    def rows(self) -> list[tuple[int, int, int, int, int]]:
        """All commands as (kind, order_id, side, price, qty) tuples."""
        return list(zip(self.kind, self.order_id, self.side, self.price, self.qty, strict=True))

    def mix(self) -> dict[str, int]:
        """Measured commands per category: add (passive limit), cancel, cross."""
        mix = {"add": 0, "cancel": 0, "cross": 0}
        book = PriceTimeBook()
        for i, row in enumerate(self.rows()):
            fills = apply(book, row)
            if i >= self.warmup:
                mix["cancel" if row[0] == CANCEL else "cross" if fills else "add"] += 1
        return mix

    def describe(self) -> dict[str, Any]:
        """The workload's parameters, for reports (the ``workload`` object of ``bench --json``)."""
        return {
            "seed": self.seed,
            "orders": self.measured,
            "warmup_orders": self.warmup,
            "mix": {"add": ADD_SHARE, "cancel": CANCEL_SHARE, "cross": CROSS_SHARE},
            "instrument": "one instrument, integer ticks and lots",
            "start_mid_ticks": START_MID,
        }

    def columns(self) -> dict[str, npt.NDArray[np.int64]]:
        """The five columns as int64 numpy arrays sharing this workload's memory (no copy)."""
        import numpy as np

        return {
            name: np.frombuffer(getattr(self, name), dtype=np.int64)
            for name in ("kind", "order_id", "side", "price", "qty")
        }


def apply(book: PriceTimeBook, command: tuple[int, int, int, int, int]) -> list[Fill]:
    """Apply one (kind, order_id, side, price, qty) command to a reference book; return fills."""
    kind, oid, side, price, qty = command
    if kind == LIMIT:
        return book.add_limit(oid, side, price, qty)
    if kind == CANCEL:
        book.cancel(oid)
        return []
    return book.market(oid, side, qty)


def generate(
    seed: int = DEFAULT_SEED, orders: int = DEFAULT_ORDERS, warmup: int = DEFAULT_WARMUP
) -> Workload:
    """Build the workload for ``seed``: ``warmup`` resting adds, then ``orders`` commands.

    The stream comes from the Rust generator (``wintermute_bench::workload::python_mix_flat_warm``
    through ``wintermute._core.python_workload``): one generator for the Rust and the Python
    benchmarks.
    """
    if orders < 0 or warmup < 0:
        raise ValueError(f"orders={orders} and warmup={warmup} must not be negative")
    from wintermute import _core

    kind, order_id, side, price, qty = (
        array("q", column.tobytes()) for column in _core.python_workload(seed, orders, warmup)
    )
    return Workload(seed, warmup, kind, order_id, side, price, qty)
