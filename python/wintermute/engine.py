"""The matching engine: several instruments, each with its own price-time-priority order book.

>>> from wintermute import Engine
>>> eng = Engine()
>>> eng.add_instrument("BTC-USD", tick_size="0.01", lot_size="0.0001", min_qty="0.0001",
...                    max_qty="100", min_price="1", max_price="1000000")
0
>>> _ = eng.submit("BTC-USD", 1, "sell", qty="1.5", price="64000.25", account=1)
>>> [e.kind for e in eng.submit("BTC-USD", 2, "buy", qty="0.5", price="64001", account=2)]
['accepted', 'trade', 'book_delta']
>>> eng.bbo("BTC-USD")
(None, (Decimal('64000.25'), Decimal('1.0000')))

The rules (validation, event order, self-trade prevention, icebergs, amends) are in
``docs/matching.md``. Everything the Rust class ``wintermute._core.Engine`` offers is here; this
subclass adds the numpy views of the batch and fast-path record buffers.
"""

from __future__ import annotations

from typing import Any

import numpy as np
import numpy.typing as npt

from wintermute import _core
from wintermute.batch import COMMAND_DTYPE, EVENT_DTYPE

__all__ = ["Engine", "Event"]

Event = _core.Event


class Engine(_core.Engine):
    """Order books for several instruments; see the module documentation."""

    def submit_batch(
        self, instrument: int | str, commands: npt.NDArray[Any]
    ) -> npt.NDArray[np.void]:
        """Runs a ``COMMAND_DTYPE`` array on one instrument (GIL released) and returns the
        events as an ``EVENT_DTYPE`` array."""
        iid = instrument if isinstance(instrument, int) else self.instrument_id(instrument)
        if commands.dtype != COMMAND_DTYPE:
            raise TypeError(
                f"commands must have wintermute.batch.COMMAND_DTYPE, not {commands.dtype}"
            )
        raw = self.submit_batch_raw(iid, np.ascontiguousarray(commands).view(np.uint8))
        return raw.view(EVENT_DTYPE)

    def take_events(self) -> npt.NDArray[np.void]:  # type: ignore[override]
        """Drains the events of the fast-path calls (``submit_ticks`` & co.) as an
        ``EVENT_DTYPE`` array."""
        return super().take_events().view(EVENT_DTYPE)
