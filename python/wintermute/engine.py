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

An instrument is given by its seven decimal fields, or as one ``InstrumentConfig`` (the
``[[instruments]]`` table of a config)::

>>> from wintermute.config import InstrumentConfig
>>> eth = InstrumentConfig("ETH-USD", tick_size="0.05", lot_size="0.001", min_qty="0.001",
...                        max_qty="1000", min_price="1", max_price="100000")
>>> eng.add_instrument(eth)
1

The *threaded* engine (gateways -> risk -> matching -> subscriptions on their own threads,
started from a config) is ``wintermute.Pipeline(config)``; see ``docs/pipeline-python.md``.
``Engine(config)`` still starts one, with a ``DeprecationWarning``.
"""

from __future__ import annotations

import warnings
from decimal import Decimal
from typing import TYPE_CHECKING, Any

import numpy as np
import numpy.typing as npt

from wintermute import _core
from wintermute.batch import COMMAND_DTYPE, EVENT_DTYPE
from wintermute.config import InstrumentConfig

if TYPE_CHECKING:
    from wintermute.pipeline import ConfigLike

__all__ = ["Engine", "Event"]

Event = _core.Event

_Decimal = str | int | Decimal


class Engine(_core.Engine):
    """Order books for several instruments; see the module documentation."""

    def __new__(cls, config: ConfigLike | None = None) -> Engine:
        # ``Engine(config)`` used to start the threaded engine: it still does, with a warning,
        # until it is removed. Typed as ``Engine()`` only: type checkers point to Pipeline.
        if config is not None:
            warnings.warn(
                "Engine(config) is deprecated: the threaded engine is wintermute.Pipeline(config)",
                DeprecationWarning,
                stacklevel=2,
            )
            from wintermute.pipeline import Pipeline

            threaded: Any = Pipeline(config)
            engine: Engine = threaded
            return engine
        return super().__new__(cls)

    def add_instrument(
        self,
        symbol: str | InstrumentConfig,
        *,
        tick_size: _Decimal | None = None,
        lot_size: _Decimal | None = None,
        min_qty: _Decimal | None = None,
        max_qty: _Decimal | None = None,
        min_price: _Decimal | None = None,
        max_price: _Decimal | None = None,
    ) -> int:
        """Adds an instrument and returns its id: an ``InstrumentConfig``, or a symbol and its
        six decimal fields (tick and lot size, quantity and price limits)."""
        if isinstance(symbol, InstrumentConfig):
            given = (tick_size, lot_size, min_qty, max_qty, min_price, max_price)
            if any(v is not None for v in given):
                raise TypeError("add_instrument: give an InstrumentConfig or the fields, not both")
            spec = symbol
            return super().add_instrument(
                spec.symbol,
                tick_size=spec.tick_size,
                lot_size=spec.lot_size,
                min_qty=spec.min_qty,
                max_qty=spec.max_qty,
                min_price=spec.min_price,
                max_price=spec.max_price,
            )
        fields = {
            "tick_size": tick_size,
            "lot_size": lot_size,
            "min_qty": min_qty,
            "max_qty": max_qty,
            "min_price": min_price,
            "max_price": max_price,
        }
        missing = [name for name, v in fields.items() if v is None]
        if missing:
            raise TypeError(f"add_instrument({symbol!r}): missing {', '.join(missing)}")
        assert tick_size is not None
        assert lot_size is not None
        assert min_qty is not None
        assert max_qty is not None
        assert min_price is not None
        assert max_price is not None
        return super().add_instrument(
            symbol,
            tick_size=tick_size,
            lot_size=lot_size,
            min_qty=min_qty,
            max_qty=max_qty,
            min_price=min_price,
            max_price=max_price,
        )

    def submit_batch(
        self, instrument: int | str, commands: npt.NDArray[Any], *, book_deltas: bool = True
    ) -> npt.NDArray[np.void]:
        """Runs a ``COMMAND_DTYPE`` array on one instrument (GIL released) and returns the
        events as an ``EVENT_DTYPE`` array. ``book_deltas=False`` leaves out the level updates
        (``book_delta`` records): the other records are the same, ``seq`` included."""
        iid = instrument if isinstance(instrument, int) else self.instrument_id(instrument)
        if commands.dtype != COMMAND_DTYPE:
            raise TypeError(
                f"commands must have wintermute.batch.COMMAND_DTYPE, not {commands.dtype}"
            )
        raw = self.submit_batch_raw(iid, np.ascontiguousarray(commands).view(np.uint8), book_deltas)
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
