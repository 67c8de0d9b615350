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

``Engine(config)`` — given an ``EngineConfig``, a dict in its shape, or the path of a ``.toml``
/ ``.json`` config — starts the *threaded* engine instead and returns a
``wintermute.pipeline.Pipeline`` (gateways -> risk -> matching -> subscriptions on their own
threads; see ``docs/pipeline-python.md``). ``Engine()`` is the in-thread engine above.
"""

from __future__ import annotations

from os import PathLike
from typing import TYPE_CHECKING, Any, overload

import numpy as np
import numpy.typing as npt

from wintermute import _core
from wintermute.batch import COMMAND_DTYPE, EVENT_DTYPE

if TYPE_CHECKING:
    from collections.abc import Mapping

    from wintermute.config import EngineConfig
    from wintermute.pipeline import Pipeline

__all__ = ["Engine", "Event"]

Event = _core.Event


class Engine(_core.Engine):
    """Order books for several instruments; see the module documentation.

    ``Engine()`` is the in-thread engine; ``Engine(config)`` returns the threaded engine, a
    ``wintermute.pipeline.Pipeline`` started from ``config``.
    """

    @overload
    def __new__(cls) -> Engine: ...

    # A constructor that returns another class is what mypy calls [misc]; the overload still
    # types ``Engine(config)`` as ``Pipeline`` for callers.
    @overload
    def __new__(  # type: ignore[misc]
        cls, config: EngineConfig | Mapping[str, Any] | str | PathLike[str]
    ) -> Pipeline: ...

    def __new__(
        cls, config: EngineConfig | Mapping[str, Any] | str | PathLike[str] | None = None
    ) -> Any:
        if config is None:
            return super().__new__(cls)
        from wintermute.pipeline import Pipeline

        return Pipeline(config)

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

    def fast(self, instrument: int | str, account: int = 0) -> _core.FastBook:
        """The per-call object for one instrument and account: ``submit(order_id, side, price,
        qty)``, ``ioc``, ``market``, ``cancel``, ``amend``, ``take_events()``. Each call runs the
        ``submit_ticks`` path (same validation, journal, events, exceptions) with fewer
        arguments; see ``wintermute._core.FastBook``."""
        return _core.FastBook(self, instrument, account)

    def take_events(self) -> npt.NDArray[np.void]:  # type: ignore[override]
        """Drains the events of the fast-path calls (``submit_ticks`` & co.) as an
        ``EVENT_DTYPE`` array."""
        return super().take_events().view(EVENT_DTYPE)
