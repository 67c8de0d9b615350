"""The threaded engine: gateways -> risk -> matching -> subscriptions, on pinned threads joined
by bounded SPSC rings (``wintermute_engine::pipeline`` in Rust).

``wintermute.Pipeline(config)`` starts one (``wintermute.Engine()`` is the in-thread engine).
Producers submit through *gateways* — one per producer thread, each with its own ring,
so threads never contend — and consumers read every output (with ``subscriptions.book_deltas =
false``: every output but the book's level updates), in order, from *subscriptions* drained in
batches::

    >>> from wintermute import Pipeline
    >>> config = {"instruments": [{"symbol": "BTC-USD", "tick_size": "0.01",
    ...     "lot_size": "0.001", "min_qty": "0.001", "max_qty": "100", "min_price": "1",
    ...     "max_price": "1000000"}], "threads": {"risk": {"wait": "park"}}}
    >>> with Pipeline(config) as eng:
    ...     gw, sub = eng.gateway(0), eng.subscription(0)
    ...     gw.submit("BTC-USD", 1, "sell", qty="1.5", price="64000.25", account=1)
    ...     gw.submit("BTC-USD", 2, "buy", qty="0.5", price="64001", account=2)
    ...     out = sub.poll(timeout=5.0, until_commands=2)
    1
    2
    >>> [KIND_NAMES.get(int(k), OUTCOMES[int(o)]) for k, o in zip(out["kind"], out["outcome"])]
    ['accepted', 'book_delta', 'accepted', 'trade', 'book_delta']
    >>> int(out["journal_seq"][-1]), int(out["command_seq"][-1]), bool(out["last"][-1])
    (2, 2, True)

A submit returns the command's number on its gateway (``command_seq`` of its outputs). Input
that cannot be converted (a price off the tick grid, a float) raises at once, as with the
in-thread engine; the *book's* verdict (accepted, refused...) comes back as outputs.

Outputs are ``OUTPUT_DTYPE`` records: the ``wintermute.batch.EVENT_DTYPE`` fields of the event
(prices in ticks, quantities in lots), then ``command_seq``, ``journal_seq``, ``ingress_ns``,
``latency_ns`` (ingress to publication), ``gateway``, ``outcome`` (``OUTCOMES``) and ``last``
(1 on a command's last output, so "every command exactly once" is countable).

Shutdown (``shutdown()``, or leaving the ``with`` block) closes the gateways, runs every
accepted command, flushes the journal, joins the threads and returns the final stats and the
books; outputs published until then stay readable. An engine dropped without ``shutdown`` stops
the same way on a background thread: Python never waits for it.
"""

from __future__ import annotations

import time
from collections.abc import Mapping
from decimal import Decimal
from os import PathLike
from types import TracebackType
from typing import Any, TypedDict

import numpy as np
import numpy.typing as npt

from wintermute import _core, batch
from wintermute.config import EngineConfig, LimitsConfig, limits_json
from wintermute.pipeline_stats import PipelineStats, Recovery, SnapshotInfo

__all__ = [
    "KIND_NAMES",
    "OUTCOMES",
    "OUTPUT_DTYPE",
    "RISK_REASONS",
    "Gateway",
    "Pipeline",
    "PipelineStats",
    "Shutdown",
    "Subscription",
    "config_of",
]

KIND_NAMES = batch.KIND_NAMES

#: ``outcome`` code -> name: a book ``event``; ``no_events`` (ran, nothing happened);
#: ``refused`` by the book's validation (journaled; the event part is a ``rejected`` record
#: with the reason code of ``batch.REJECT_REASONS``); ``risk_rejected`` by a pre-trade limit
#: (``reason`` indexes ``RISK_REASONS``); ``unknown_instrument``; ``halted`` (the journal
#: failed earlier: see ``shutdown``). Read from Rust (``_core.PIPELINE_OUTCOMES``).
OUTCOMES: dict[int, str] = dict(_core.PIPELINE_OUTCOMES)

#: ``reason`` code of a risk rejection -> the limit's name.
RISK_REASONS = {i + 1: code for i, code in enumerate(_core.PIPELINE_RISK_CODES)}

#: One output record (120 bytes): the event record, then the command's identity and timing
#: (the layout is Rust's: ``_core.EVENT_FIELDS`` + ``_core.PIPELINE_OUTPUT_FIELDS``).
OUTPUT_DTYPE = np.dtype(_core.EVENT_FIELDS + _core.PIPELINE_OUTPUT_FIELDS)
assert OUTPUT_DTYPE.itemsize == _core.PIPELINE_OUTPUT_SIZE


class Shutdown(TypedDict):
    """What ``Pipeline.shutdown`` returns."""

    stats: PipelineStats
    last_seq: int
    #: symbol -> ``Engine.snapshot`` JSON of the final book (``Engine.restore`` takes it).
    books: dict[str, str]


ConfigLike = EngineConfig | Mapping[str, Any] | str | PathLike[str]


def config_of(config: ConfigLike) -> EngineConfig:
    """An ``EngineConfig`` from a config, a dict, or a ``.toml`` / ``.json`` path."""
    if isinstance(config, EngineConfig):
        return config
    if isinstance(config, Mapping):
        return EngineConfig.from_dict(config)
    return EngineConfig.from_file(config)


class Gateway:
    """A producer handle: give each producer thread its own (``Pipeline.gateway(i)``).

    Every method converts its arguments, releases the GIL, puts the command in the gateway's
    ring and returns its number on this gateway. On a full ring it waits (backpressure
    ``block``) or raises ``errors.GatewayFullError`` (reason ``GATEWAY_FULL``, backpressure
    ``reject``); after shutdown it raises ``errors.GatewayClosedError`` (``GATEWAY_CLOSED``).
    """

    def __init__(self, core: _core.PipelineGateway) -> None:
        self._core = core
        self.id = core.id
        # The decimal and integer submits, as the Rust class offers them.
        self.submit = core.submit
        self.cancel = core.cancel
        self.amend = core.amend
        self.mass_cancel = core.mass_cancel
        self.submit_ticks = core.submit_ticks
        self.cancel_ticks = core.cancel_ticks
        self.amend_ticks = core.amend_ticks
        self.mass_cancel_ticks = core.mass_cancel_ticks

    def submit_batch(self, instrument: int, commands: npt.NDArray[Any]) -> tuple[int, int]:
        """Submits a ``batch.COMMAND_DTYPE`` array for one instrument id (GIL released).
        Returns ``(first_seq, accepted)``; with backpressure ``reject`` a full ring stops the
        batch early (submit the rest, ``commands[accepted:]``, later). An invalid record
        raises ``InvalidOrderError`` and nothing is submitted."""
        if commands.dtype != batch.COMMAND_DTYPE:
            raise TypeError(
                f"commands must have wintermute.batch.COMMAND_DTYPE, not {commands.dtype}"
            )
        raw = np.ascontiguousarray(commands).view(np.uint8)
        return self._core.submit_batch_raw(instrument, raw)

    @property
    def submitted(self) -> int:
        """Commands accepted so far (``GatewayClosedError``, reason ``GATEWAY_LENT``, while a
        live market maker trades through this gateway)."""
        return self._core.submitted

    @property
    def closed(self) -> bool:
        """True once the engine stopped (raises as :attr:`submitted` while lent)."""
        return self._core.closed


class Subscription:
    """Every output of the engine, in order, drained in batches (``Pipeline.subscription(i)``).

    A subscription that nobody reads holds the engine up once its ring is full (the matching
    stage waits for room: nothing is dropped); configure ``subscriptions.count = 0`` if you
    do not read outputs.
    """

    def __init__(self, core: _core.PipelineSubscription) -> None:
        self._core = core
        self.id = core.id

    def poll(
        self, limit: int | None = None, *, timeout: float = 0.0, until_commands: int | None = None
    ) -> npt.NDArray[np.void]:
        """Drains at most ``limit`` outputs (all available if None) as an ``OUTPUT_DTYPE``
        array. Waits up to ``timeout`` seconds (GIL released) for the first one; with
        ``until_commands``, keeps polling until that many commands' last outputs arrived or
        the timeout passed."""
        if limit is not None and limit < 1:
            raise ValueError(f"limit={limit}: must be at least 1")
        if until_commands is None:
            return self._core.poll_raw(limit, timeout).view(OUTPUT_DTYPE)
        deadline = time.monotonic() + timeout
        parts: list[npt.NDArray[np.void]] = []
        done = 0
        while done < until_commands:
            left = max(deadline - time.monotonic(), 0.0)
            out = self._core.poll_raw(limit, left).view(OUTPUT_DTYPE)
            if len(out):
                parts.append(out)
                done += int(np.count_nonzero(out["last"]))
            elif left == 0.0 or self.finished:
                break
        return np.concatenate(parts) if parts else np.zeros(0, dtype=OUTPUT_DTYPE)

    def __len__(self) -> int:
        return len(self._core)

    @property
    def finished(self) -> bool:
        """True once the engine stopped and every output was read."""
        return self._core.finished


class Pipeline:
    """The threaded engine. See the module documentation.

    ``Pipeline(config)`` recovers the books from the journal, if one is configured, and starts
    the threads; ``config`` is an ``EngineConfig``, a dict in its shape, or the path of a
    ``.toml`` / ``.json`` file.
    """

    def __init__(self, config: ConfigLike) -> None:
        self.config = config_of(config)
        self._core = _core.Pipeline(self.config.to_json())
        self.gateways = [Gateway(g) for g in self._core.gateways]
        self.subscriptions = [Subscription(s) for s in self._core.subscriptions]

    # ---- runtime control ----------------------------------------------------------------
    # Each call returns once the thread that owns the risk state applied the change between
    # two commands and journaled it (so a restart restores it): every command submitted after
    # the call returns is checked under it. Each returns the change's journal sequence number
    # (0 without a journal). Failures raise ``errors.ControlError`` (reason: CONTROL_STOPPED,
    # CONTROL_TIMEOUT, NO_RISK, NO_JOURNAL, JOURNAL_HALTED, SNAPSHOT, or the risk code).

    def set_limits(self, account: int, limits: LimitsConfig | Mapping[str, Any]) -> int:
        """Sets (replaces) ``account``'s pre-trade limits: a ``LimitsConfig`` or a mapping with
        its keys (missing or None: no limit)."""
        return self._core.set_limits(account, limits_json(limits))

    def set_default_limits(self, limits: LimitsConfig | Mapping[str, Any] | None) -> int:
        """Sets the limits of accounts seen for the first time; None refuses their orders
        (``UNKNOWN_ACCOUNT``)."""
        if limits is None:
            return self._core.set_default_limits(None)
        return self._core.set_default_limits(limits_json(limits))

    def kill(self, account: int | None = None) -> int:
        """Engages the kill switch of ``account``, or the global one: new orders and amends
        are refused (``ACCOUNT_KILL_SWITCH`` / ``GLOBAL_KILL_SWITCH``); cancels still pass."""
        return self._core.set_kill_switch(True, account)

    def release(self, account: int | None = None) -> int:
        """Releases the kill switch that :meth:`kill` engaged."""
        return self._core.set_kill_switch(False, account)

    def set_reference_price(self, instrument: str | int, price: str | int | Decimal) -> int:
        """Moves an instrument's reference price (price-band centre, mark for exposures) to
        an exact decimal price on its tick grid."""
        return self._core.set_reference_price(instrument, price)

    def snapshot(self) -> SnapshotInfo:
        """Writes a snapshot of the books and the risk state now (needs a journal): its
        ``journal_seq`` and ``path``. The next start loads the newest valid one."""
        d = self._core.snapshot()
        return SnapshotInfo(journal_seq=d["journal_seq"], path=d["path"])

    def recovery(self) -> Recovery:
        """What the start recovered from the journal: ``snapshot`` (path or None),
        ``snapshot_warnings`` (newer snapshots passed over, and why), ``replayed`` commands,
        ``controls`` replayed, ``journal_seq``, ``truncated`` (a torn tail cut off)."""
        return Recovery.of(self._core.recovery())

    def gateway(self, index: int) -> Gateway:
        """Gateway ``index`` (one per producer thread)."""
        return self.gateways[index]

    def subscription(self, index: int) -> Subscription:
        """Subscription ``index``."""
        return self.subscriptions[index]

    def instruments(self) -> list[str]:
        """The symbols, in id order (the ids the integer and batch submits take)."""
        return self._core.instruments()

    def instrument_id(self, symbol: str) -> int:
        """The id of ``symbol``."""
        try:
            return self.instruments().index(symbol)
        except ValueError:
            from wintermute import errors

            raise errors.UnknownInstrumentError(
                f"unknown instrument symbol={symbol!r}", reason="UNKNOWN_INSTRUMENT"
            ) from None

    @property
    def is_running(self) -> bool:
        """True until ``shutdown``."""
        return self._core.is_running

    def stats(self) -> PipelineStats:
        """Per-stage latency percentiles, throughput, counters, ring occupancy, gateways, the
        thread layout, journal and snapshot counters (see ``PipelineStats``). At most one
        stats interval old while running; exact after shutdown."""
        return PipelineStats.of(self._core.stats())

    def shutdown(self) -> Shutdown:
        """Stops the engine cleanly (see the module documentation); a second call returns the
        same result."""
        done = self._core.shutdown()
        return Shutdown(
            stats=PipelineStats.of(done["stats"]), last_seq=done["last_seq"], books=done["books"]
        )

    def __enter__(self) -> Pipeline:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.shutdown()

    def __repr__(self) -> str:
        state = "running" if self.is_running else "stopped"
        return (
            f"<wintermute.Pipeline {state} topology={self.config.topology} "
            f"instruments={self.instruments()} gateways={len(self.gateways)}>"
        )
