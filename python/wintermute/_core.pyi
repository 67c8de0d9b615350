"""Type stubs for the compiled extension ``wintermute._core`` (crates/python).

This stub is the Python contract of the bindings: keep it in step with crates/python/src.
"""

import os
from collections.abc import Callable
from decimal import Decimal
from pathlib import Path
from typing import Any, Literal, TypeAlias, TypedDict, final, type_check_only

import numpy as np
import numpy.typing as npt
from typing_extensions import disjoint_base

__all__ = [
    "COMMAND_SIZE",
    "EVENT_SIZE",
    "Engine",
    "Event",
    "FastBook",
    "MmBacktest",
    "__version__",
    "build_info",
    "feeds_recorded_subscription",
    "feeds_serve",
    "feeds_verify",
    "feeds_watch",
    "generate_workload",
    "journal_prune",
    "journal_read",
    "python_workload",
    "run_backtest",
]

__version__: str

@type_check_only
class BuildInfo(TypedDict):
    version: str
    profile: str  # "debug" or "release"
    target_arch: str
    target_os: str

def build_info() -> BuildInfo:
    """How this extension was built: version, cargo profile and target."""

# ---- order book (crates/python/src/book.rs) -------------------------------------------------

_DecimalLike = str | int | Decimal
_Instrument = str | int
_Side = Literal["buy", "sell"]
_Level = tuple[Decimal, Decimal]

# ---- record formats and code tables (crates/python/src/records.rs) -------------------------

__all__ += [
    "CANCEL_REASONS",
    "COMMAND_CODES",
    "COMMAND_FIELDS",
    "EVENT_FIELDS",
    "EVENT_KINDS",
    "REJECT_REASONS",
]

COMMAND_SIZE: int
EVENT_SIZE: int
#: ``[(name, numpy type string), ...]`` in offset order.
COMMAND_FIELDS: list[tuple[str, str]]
EVENT_FIELDS: list[tuple[str, str]]
#: ``[(name, code), ...]``: command kinds, sides, order types, tif, STP modes, flag bits.
COMMAND_CODES: list[tuple[str, int]]
#: ``[(code, name), ...]``.
EVENT_KINDS: list[tuple[int, str]]
REJECT_REASONS: list[tuple[int, str]]
CANCEL_REASONS: list[tuple[int, str]]

@type_check_only
class InstrumentInfo(TypedDict):
    id: int
    symbol: str
    tick_size: Decimal
    lot_size: Decimal
    min_qty: Decimal
    max_qty: Decimal
    min_price: Decimal
    max_price: Decimal
    min_qty_lots: int
    max_qty_lots: int
    min_price_ticks: int
    max_price_ticks: int

@type_check_only
class OrderInfo(TypedDict):
    order_id: int
    account: int
    side: _Side
    price: Decimal
    remaining: Decimal
    visible: Decimal
    display_qty: Decimal | None
    stp: str
    post_only: bool

@type_check_only
class Depth(TypedDict):
    bids: list[tuple[Decimal, Decimal, int]]
    asks: list[tuple[Decimal, Decimal, int]]

@type_check_only
class NativeRun(TypedDict, total=False):
    ops: int
    seconds: float
    events: int
    trades: int
    latencies_ns: list[int]

@final
class Event:
    """One event of an order book (see docs/matching.md). Prices in ticks, quantities in lots."""

    @property
    def kind(
        self,
    ) -> Literal["accepted", "rejected", "trade", "canceled", "amended", "book_delta"]: ...
    @property
    def seq(self) -> int: ...
    @property
    def instrument(self) -> int: ...
    @property
    def order_id(self) -> int | None: ...
    @property
    def maker_order_id(self) -> int | None: ...
    @property
    def taker_order_id(self) -> int | None: ...
    @property
    def account(self) -> int | None: ...
    @property
    def maker_account(self) -> int | None: ...
    @property
    def taker_account(self) -> int | None: ...
    @property
    def price(self) -> int | None: ...
    @property
    def qty(self) -> int | None: ...
    @property
    def old_price(self) -> int | None: ...
    @property
    def old_qty(self) -> int | None: ...
    @property
    def canceled_qty(self) -> int | None: ...
    @property
    def remaining_qty(self) -> int | None: ...
    @property
    def maker_remaining(self) -> int | None: ...
    @property
    def taker_remaining(self) -> int | None: ...
    @property
    def orders(self) -> int | None: ...
    @property
    def side(self) -> _Side | None: ...
    @property
    def aggressor(self) -> _Side | None: ...
    @property
    def reason(self) -> str | None: ...
    @property
    def priority_kept(self) -> bool | None: ...
    @property
    def price_decimal(self) -> Decimal | None: ...
    @property
    def qty_decimal(self) -> Decimal | None: ...
    def to_dict(self) -> dict[str, Any]: ...

@type_check_only
class TornTail(TypedDict):
    segment: str
    offset: int
    reason: str
    removed_segments: list[str]

@type_check_only
class RecoveryDict(TypedDict):
    snapshot: str | None
    snapshot_warnings: list[str]
    replayed: int
    controls: int
    journal_seq: int
    truncated: TornTail | None

@type_check_only
class SnapshotDict(TypedDict):
    journal_seq: int
    path: str

@type_check_only
class JournalReport(TypedDict):
    segments: int
    records: int
    last_seq: int
    replayed: int
    refused: int
    snapshot: str | None
    truncated: TornTail | None

@final
class FastBook:
    """One instrument and account of an ``Engine``, for one Python call per command.

    Returned by ``wintermute.Engine.fast(instrument, account=0)``. Each call runs the same path as
    ``Engine.submit_ticks`` / ``cancel_ticks`` / ``amend_ticks`` (same validation, journal,
    events and exceptions) with positional integers only: side 0 buy / 1 sell, prices in ticks,
    quantities in lots. Each returns how many event records it added to the engine's pending
    buffer; ``take_events()`` drains that buffer without copying it.
    """

    def __new__(cls, engine: Engine, instrument: _Instrument, account: int = 0) -> FastBook: ...
    @property
    def instrument(self) -> int: ...
    @property
    def account(self) -> int: ...
    def submit(self, order_id: int, side: int, price: int, qty: int, /) -> int:
        """A limit GTC order."""
    def ioc(self, order_id: int, side: int, price: int, qty: int, /) -> int:
        """A limit IOC order: what does not trade at once is canceled."""
    def market(self, order_id: int, side: int, qty: int, /) -> int:
        """A market IOC order."""
    def cancel(self, order_id: int, /) -> int:
        """Cancels a live order."""
    def amend(self, order_id: int, price: int | None = None, qty: int | None = None, /) -> int:
        """Amends a live order's price and/or quantity (None keeps the current value)."""
    @property
    def pending_events(self) -> int: ...
    def take_events(self) -> npt.NDArray[np.void]:
        """Drains the engine's pending events (every instrument's) as an ``EVENT_DTYPE`` array."""

@disjoint_base
class Engine:
    """Order books for several instruments (the Rust class; use ``wintermute.Engine``)."""

    def __init__(self) -> None: ...
    def add_instrument(
        self,
        symbol: str,
        *,
        tick_size: _DecimalLike,
        lot_size: _DecimalLike,
        min_qty: _DecimalLike,
        max_qty: _DecimalLike,
        min_price: _DecimalLike,
        max_price: _DecimalLike,
    ) -> int: ...
    def instrument_id(self, symbol: str) -> int: ...
    def instruments(self) -> list[str]: ...
    def instrument(self, instrument: _Instrument) -> InstrumentInfo: ...
    def submit(
        self,
        instrument: _Instrument,
        order_id: int,
        side: _Side,
        qty: _DecimalLike,
        price: _DecimalLike | None = None,
        *,
        account: int = 0,
        order_type: Literal["limit", "market"] = "limit",
        tif: Literal["gtc", "ioc", "fok"] | None = None,
        post_only: bool = False,
        display_qty: _DecimalLike | None = None,
        stp: Literal["none", "cancel_newest", "cancel_oldest", "cancel_both", "decrement"] = "none",
    ) -> list[Event]: ...
    def cancel(self, instrument: _Instrument, order_id: int) -> list[Event]: ...
    def amend(
        self,
        instrument: _Instrument,
        order_id: int,
        *,
        price: _DecimalLike | None = None,
        qty: _DecimalLike | None = None,
        seen_remaining: _DecimalLike | None = None,
    ) -> list[Event]: ...
    def mass_cancel(
        self, instrument: _Instrument, *, account: int | None = None, side: _Side | None = None
    ) -> list[Event]: ...
    def bbo(self, instrument: _Instrument) -> tuple[_Level | None, _Level | None]: ...
    def depth(self, instrument: _Instrument, levels: int = 10) -> Depth: ...
    def orders_at(
        self, instrument: _Instrument, side: _Side, price: _DecimalLike
    ) -> list[OrderInfo]: ...
    def order(self, instrument: _Instrument, order_id: int) -> OrderInfo | None: ...
    def order_count(self, instrument: _Instrument) -> int: ...
    def seq(self, instrument: _Instrument) -> int: ...
    def snapshot(self, instrument: _Instrument) -> str: ...
    def restore(self, snapshot: str) -> int: ...
    def submit_ticks(
        self,
        instrument: int,
        order_id: int,
        side: int,
        price: int,
        qty: int,
        account: int = 0,
        order_type: int = 0,
        tif: int = 0,
        stp: int = 0,
        post_only: bool = False,
        display_qty: int = 0,
    ) -> int: ...
    def cancel_ticks(self, instrument: int, order_id: int) -> int: ...
    def amend_ticks(
        self,
        instrument: int,
        order_id: int,
        price: int | None = None,
        qty: int | None = None,
        seen_remaining: int | None = None,
    ) -> int: ...
    def mass_cancel_ticks(
        self, instrument: int, account: int | None = None, side: int | None = None
    ) -> int: ...
    @property
    def pending_events(self) -> int: ...
    def take_events(self) -> npt.NDArray[np.uint8]: ...
    def open_journal(
        self,
        path: str,
        *,
        fsync: Literal["none", "batch", "every"] = "batch",
        segment_size: int = 67108864,
        batch_records: int = 1000,
        batch_interval_ms: int = 10,
    ) -> JournalReport: ...
    def journal_snapshot(self) -> str: ...
    def sync_journal(self) -> None: ...
    def close_journal(self) -> None: ...
    @property
    def journal_seq(self) -> int | None: ...
    def submit_batch_raw(
        self, instrument: int, commands: npt.NDArray[np.uint8], book_deltas: bool = True
    ) -> npt.NDArray[np.uint8]: ...
    def run_native(
        self, instrument: int, commands: npt.NDArray[np.uint8], timed: bool = False
    ) -> NativeRun: ...

# ---- workloads (crates/python/src/workload.rs) ----------------------------------------------

@type_check_only
class WorkloadSpec(TypedDict):
    symbol: str
    tick_size: str
    lot_size: str
    min_qty: str
    max_qty: str
    min_price: str
    max_price: str

@type_check_only
class GeneratedWorkload(TypedDict):
    name: str
    spec: WorkloadSpec
    warmup: npt.NDArray[np.uint8]
    commands: npt.NDArray[np.uint8]

def generate_workload(name: str, seed: int = 42, commands: int = 1_000_000) -> GeneratedWorkload:
    """A seeded benchmark stream as command records.

    Names: exchange_core, feed, python, sweep, deep_queue, big_book.
    """

def python_workload(
    seed: int, orders: int, warmup: int
) -> tuple[
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
    npt.NDArray[np.int64],
]:
    """The stream of ``wintermute bench``: (kind, order_id, side, price, qty) int64 columns."""

# ---- market data (crates/python/src/feeds.rs) -----------------------------------------------

def feeds_verify(path: str) -> str:
    """Replays a recording through the feed parsers and book builders; the report as JSON."""

# ---- journal (crates/python/src/journal.rs) -------------------------------------------------

@type_check_only
class JournalRejections(TypedDict):
    seq: npt.NDArray[np.uint64]
    instrument: npt.NDArray[np.uint32]
    wall_ns: npt.NDArray[np.uint64]
    commands: npt.NDArray[np.uint8]
    reason: npt.NDArray[np.uint8]

@type_check_only
class JournalColumns(TypedDict):
    seq: npt.NDArray[np.uint64]
    instrument: npt.NDArray[np.uint32]
    wall_ns: npt.NDArray[np.uint64]
    commands: npt.NDArray[np.uint8]
    controls: list[tuple[int, str]]
    rejections: JournalRejections
    client_order_ids: list[tuple[int, str]]

def journal_read(path: str, after_seq: int = 0) -> JournalColumns:
    """The journal's entries after ``after_seq`` as columns (commands as 48-byte records;
    control records, the runtime risk changes, as ``(seq, JSON text)``; risk rejections with
    their reason numbers; the client order ids of tagged records as ``(seq, id)``; ``wall_ns``:
    each record's wall-clock time as the engine journaled it, 0 where the journal has none)."""

@type_check_only
class JournalPruned(TypedDict):
    snapshot_seq: int | None
    held_seq: int | None
    segments: list[str]
    archive: str | None
    dry_run: bool

def journal_prune(path: str, archive: str | None = None, dry_run: bool = False) -> JournalPruned:
    """Removes the journal segments behind the oldest snapshot that reads back whole (deleted,
    or moved to ``archive``; ``dry_run``: only listed)."""

def feeds_recorded_subscription(path: str) -> tuple[str, list[str]]:
    """The venue and symbols a recording subscribed to."""

def feeds_serve(path: str, on_ready: Callable[[str, str], object], options: str) -> str:
    """Serves a recording on 127.0.0.1 in its exchange's protocol; blocks until it stops.
    ``options``: a JSON document (``pace``, ``port``, ``http_port``, ``seconds``,
    ``exit_when_drained``, ``drop_frames``, ``corrupt_frames``, ``exchange_info``); returns the
    server's counters as JSON."""

def feeds_watch(options: str, on_tick: Callable[[str], object] | None = None) -> str:
    """Runs a venue's connector and keeps its books in sync; the report as JSON. ``options``:
    a JSON document (``venue``, ``symbols``, ``ws_base``, ``rest_base``, ``seconds``,
    ``max_frames``, ``record``, ``tick``, ``max_attempts``, ``protocol``, ``tls_ca_file``,
    ``scales``, ``fetch_scales``)."""

# ---- threaded engine (crates/python/src/pipeline.rs) ----------------------------------------

__all__ += [
    "PIPELINE_OUTCOMES",
    "PIPELINE_OUTPUT_FIELDS",
    "PIPELINE_OUTPUT_SIZE",
    "PIPELINE_RISK_CODES",
    "Pipeline",
    "PipelineGateway",
    "PipelineSubscription",
    "limits_config",
    "limits_config_of_engine",
    "pipeline_bench",
    "pipeline_config",
]

PIPELINE_OUTPUT_SIZE: int
PIPELINE_RISK_CODES: list[str]
#: The fields after the event record's, ``[(name, numpy type string), ...]``.
PIPELINE_OUTPUT_FIELDS: list[tuple[str, str]]
#: ``[(code, name), ...]`` of the ``outcome`` field.
PIPELINE_OUTCOMES: list[tuple[int, str]]

@final
class PipelineGateway:
    """A producer handle into the pipeline; thread-safe, one per producer thread."""

    @property
    def id(self) -> int: ...
    @property
    def submitted(self) -> int: ...
    @property
    def closed(self) -> bool: ...
    def submit(
        self,
        instrument: _Instrument,
        order_id: int,
        side: _Side,
        qty: _DecimalLike,
        price: _DecimalLike | None = None,
        *,
        account: int = 0,
        order_type: Literal["limit", "market"] = "limit",
        tif: Literal["gtc", "ioc", "fok"] | None = None,
        post_only: bool = False,
        display_qty: _DecimalLike | None = None,
        stp: Literal["none", "cancel_newest", "cancel_oldest", "cancel_both", "decrement"] = "none",
    ) -> int:
        """Submits a new order (decimal API); returns its command number on this gateway."""
    def cancel(self, instrument: _Instrument, order_id: int) -> int:
        """Submits a cancel; returns its command number."""
    def amend(
        self,
        instrument: _Instrument,
        order_id: int,
        *,
        price: _DecimalLike | None = None,
        qty: _DecimalLike | None = None,
        seen_remaining: _DecimalLike | None = None,
    ) -> int:
        """Submits an amend; returns its command number. ``qty`` becomes the remaining
        quantity as given; with ``seen_remaining`` (the open quantity the sender saw) the amend
        is by total: the fills the sender had not seen come off ``qty``, and if they took it all
        the order's rest is canceled (reason ``FILLED_BEFORE_AMEND``)."""
    def mass_cancel(
        self, instrument: _Instrument, *, account: int | None = None, side: _Side | None = None
    ) -> int:
        """Submits a mass cancel; returns its command number."""
    def submit_ticks(
        self,
        instrument: int,
        order_id: int,
        side: int,
        price: int,
        qty: int,
        account: int = 0,
        order_type: int = 0,
        tif: int = 0,
        stp: int = 0,
        post_only: bool = False,
        display_qty: int = 0,
        client_order_id: str | None = None,
    ) -> int:
        """Integer fast path: a new order in ticks and lots; returns its command number.
        ``client_order_id`` is journaled with it (a tagged record)."""
    def cancel_ticks(self, instrument: int, order_id: int) -> int:
        """Integer fast path: cancel."""
    def amend_ticks(
        self,
        instrument: int,
        order_id: int,
        price: int | None = None,
        qty: int | None = None,
        seen_remaining: int | None = None,
    ) -> int:
        """Integer fast path: amend (by total with ``seen_remaining``, in lots)."""
    def mass_cancel_ticks(
        self, instrument: int, account: int | None = None, side: int | None = None
    ) -> int:
        """Integer fast path: mass cancel."""
    def submit_batch_raw(self, instrument: int, commands: npt.NDArray[np.uint8]) -> tuple[int, int]:
        """Submits 48-byte command records; returns ``(first_seq, accepted)``."""

@final
class PipelineSubscription:
    """Every output of the pipeline, drained in batches of 120-byte records."""

    @property
    def id(self) -> int: ...
    @property
    def finished(self) -> bool: ...
    def poll_raw(self, max: int | None = None, timeout: float = 0.0) -> npt.NDArray[np.uint8]:
        """Drains at most ``max`` outputs as raw records, waiting up to ``timeout`` s."""
    def __len__(self) -> int: ...

# ---- the service venue's book mirrors (crates/python/src/venue_books.rs) ----------------------

__all__ += ["VenueBooks"]

@final
class VenueBooks:
    """Every instrument's book mirror (levels, FIFO queue positions), fed with drained output
    batches (``wintermute_engine::venue_books``)."""

    def __new__(cls, instruments: int) -> VenueBooks: ...
    def apply(self, batch: npt.NDArray[np.uint8]) -> npt.NDArray[np.uint8]:
        """Applies raw 120-byte output records; returns those Python still needs."""
    def to_state(self) -> str:
        """The mirrors as a state document (JSON text)."""
    def load_state(self, state: str) -> None:
        """Replaces the mirrors with a state document's (``VENUE_STATE`` if it does not load)."""
    def to_state_bin(self) -> bytes:
        """The mirrors as a binary state document (what the venue saves)."""
    def load_state_bin(self, state: bytes) -> None:
        """``load_state`` for a binary document from ``to_state_bin``."""
    def watch(self, instrument: int, watched: bool) -> None: ...
    def event(
        self, instrument: int, kind: int, order_id: int, other_id: int, side: int, price: int,
        qty: int, remaining: int, other: int, flags: int,
    ) -> None: ...  # fmt: skip
    def command_done(self, instrument: int) -> None: ...
    def take_updates(
        self,
    ) -> list[tuple[int, int, int, list[tuple[int, int]], list[tuple[int, int]]]]: ...
    def seq(self, instrument: int) -> int: ...
    def depth(self, instrument: int, side: int, limit: int) -> list[tuple[int, int]]: ...
    def best(self, instrument: int, side: int) -> int | None: ...
    def resting(self, instrument: int, order_id: int) -> int | None: ...
    def queue_ahead(self, instrument: int, order_id: int) -> int | None: ...
    def queue_totals(self, instrument: int, side: int) -> list[tuple[int, int]]: ...

# ---- the service venue's order table (crates/python/src/venue_orders.rs) ---------------------

__all__ += ["OrderEntry", "OrderGrid", "VenueLedger", "VenueOrders"]

#: An amount of the ledger: (units, scale), units x 10^-scale.
_Shown: TypeAlias = tuple[int, int]

@final
class VenueLedger:
    """The venue's balances (free, locked), holds, fills, fees and positions, exact integers
    per asset (``wintermute_engine::venue_ledger``)."""

    def __new__(
        cls, instruments: list[tuple[str, str, _DecimalLike, _DecimalLike]],
        maker_bps: _DecimalLike, taker_bps: _DecimalLike, defaults: list[tuple[str, _DecimalLike]],
        accounts: list[tuple[int, list[tuple[str, _DecimalLike]]]],
    ) -> VenueLedger: ...  # fmt: skip
    def to_state(self) -> str:
        """The accounts' holdings and positions as a state document (JSON text)."""
    def load_state(self, state: str) -> None:
        """Replaces the holdings and positions with a state document's (``VENUE_STATE`` if
        it does not load)."""
    def to_state_bin(self) -> bytes:
        """The accounts' holdings and positions as a binary state document (what the venue
        saves)."""
    def load_state_bin(self, state: bytes) -> None:
        """``load_state`` for a binary document from ``to_state_bin``."""
    def check(self, account: int, instrument: int, side: int, units: int) -> None:
        """INSUFFICIENT_BALANCE unless a hold of ``units`` more is free."""
    def balances(self, account: int) -> list[tuple[str, _Shown, _Shown]]:
        """(asset, free, locked), sorted by asset."""
    def positions(self, account: int) -> list[tuple[int, _Shown, _Shown, _Shown, _Shown]]:
        """(instrument, qty, cost, realized, fees)."""

#: An order: (order_id, client_order_id, account, instrument, side, type, tif, price (ticks or
#: None), qty, filled (lots), cum_quote (ticks x lots), status ("pending" before the verdict),
#: reject_reason, created_ns, updated_ns, held (lots for a sell, ticks x lots for a buy)).
_OrderView: TypeAlias = tuple[
    int, str, int, int, int, str, str, int | None, int, int, int, str, str | None, int, int, int
]
#: (0, instrument, price, qty, side) trade; (1, order_id, client_order_id, account, instrument,
#: side, qty, price, maker, from_hold, (fee units, fee scale)) fill; (2, account, instrument,
#: side, units) hold given back (only without a ledger); (3, view) state to publish; (4,
#: command_seq, view | [view] | None, (code, message, reason) | None, counted, trace | None)
#: answer; (5, code, message) the ledger could not apply a fill or a hold given back.
_Effect: TypeAlias = tuple[Any, ...]

@final
class VenueOrders:
    """The venue's order table and the commands waiting for the engine, fed with drained
    output batches (``wintermute_engine::venue_orders``)."""

    def __new__(
        cls, instruments: int, gateway: int, history_size: int, ledger: VenueLedger | None = None
    ) -> VenueOrders: ...
    def place(
        self, account: int, client_order_id: str | None, instrument: int, side: int,
        order_type: str, tif: str, price: int | None, qty: int, held: int, now_ns: int,
    ) -> tuple[int, str]:  # fmt: skip
        """Registers a new order (pending); returns its id and client order id."""
    def restore(
        self, order_id: int, account: int, client_order_id: str, instrument: int, side: int,
        order_type: str, tif: str, price: int | None, qty: int, held: int, now_ns: int,
    ) -> None: ...  # fmt: skip
    def to_state(self) -> str:
        """The order table as a state document (JSON text)."""
    def load_state(self, state: str) -> None:
        """Replaces the orders with a state document's (``VENUE_STATE`` if it does not load
        or commands are waiting)."""
    def to_state_bin(self) -> bytes:
        """The order table as a binary state document (what the venue saves)."""
    def load_state_bin(self, state: bytes) -> None:
        """``load_state`` for a binary document from ``to_state_bin``."""
    def unsent(self) -> list[int]:
        """The ids of the orders registered but not yet sent to the engine (``pending``)."""
    def continue_after(self, last: int) -> None: ...
    def watch(self, account: int, watched: bool) -> None: ...
    def watched(self) -> list[int]: ...
    def order(self, order_id: int) -> _OrderView | None: ...
    def by_client(self, account: int, client_order_id: str) -> _OrderView | None: ...
    def find(
        self, account: int, order_id: int | None, client_order_id: str | None, open_only: bool
    ) -> _OrderView: ...
    def open_orders(self, account: int) -> list[_OrderView]: ...
    def open_count(self) -> int: ...
    def history(self, account: int) -> list[_OrderView]: ...
    def expect(self, command_seq: int, kind: str, order_id: int | None, traced: bool) -> None: ...
    def expect_amend(
        self, command_seq: int, order_id: int, total: int, traced: bool
    ) -> tuple[int, int]: ...
    def forget(self, command_seq: int) -> bool: ...
    def waiting(self) -> list[int]: ...
    def give_up(self, order_id: int, code: str, now_ns: int) -> list[_Effect]: ...
    def apply(self, batch: npt.NDArray[np.uint8], now_ns: int) -> list[_Effect]:
        """Applies raw 120-byte output records; returns the effects."""
    def event(
        self, kind: int, order_id: int, other_id: int, side: int, price: int, qty: int,
        remaining: int, reason: int, instrument: int, now_ns: int,
    ) -> list[_Effect]: ...  # fmt: skip
    def command_done(self) -> None: ...
    def reject(self, order_id: int, reason: str, now_ns: int) -> list[_Effect]: ...
    def expire(self, order_id: int, now_ns: int) -> list[_Effect]: ...

@final
class OrderEntry:
    """The venue's order entry served from Rust (``wintermute_front``): an HTTP listener for
    ``POST /api/orders`` and ``DELETE /api/orders/{id}`` sharing the venue's order table
    (with its ledger) and book mirrors, sending through ``gateway``; running once made."""

    def __new__(
        cls, orders: VenueOrders, books: VenueBooks, gateway: PipelineGateway,
        instruments: list[tuple[str, str, str, str, str, str, str]],
        keys: list[tuple[str, int]], bind: str, *, rate_limit_per_s: float,
        rate_limit_burst: int, max_body_bytes: int, ack_timeout_s: float,
        statuses: dict[str, int], threads: int = 2,
    ) -> OrderEntry: ...  # fmt: skip
    def counters(self) -> dict[str, int]:
        """Commands it sent and the engine refused, named as ``Venue.counters`` names the
        venue's own (``command_place``, ``command_cancel``, ``rejected_<CODE>``)."""
    @property
    def address(self) -> tuple[str, int]:
        """``(host, port)`` it listens on."""
    def stop(self) -> None:
        """Stops it (idempotent)."""

@final
class OrderGrid:
    """An instrument's grid and bounds, checking orders' quantities and prices: the venue's
    one set of order input checks (``wintermute_engine::venue_input``). A value is a ``str``
    (read as ``Decimal(value.strip())`` reads it), a ``Decimal`` or an ``int``; anything wrong
    answers the venue's refusal as ``(code, message)`` (``wintermute.service.order_input``
    raises it as ``VenueError``)."""

    def __new__(
        cls, symbol: str, tick_size: Decimal | str | int, lot_size: Decimal | str | int,
        min_qty: Decimal | str | int, max_qty: Decimal | str | int,
        min_price: Decimal | str | int, max_price: Decimal | str | int,
    ) -> OrderGrid: ...  # fmt: skip
    @property
    def symbol(self) -> str:
        """The symbol."""
    def lots(self, qty: object) -> int | tuple[str, str]:
        """A quantity in lots: finite, positive, within ``[min_qty, max_qty]``, on the lot
        grid; else ``("INVALID_QTY", message)``."""
    def ticks(self, price: object) -> int | tuple[str, str]:
        """A limit price in ticks: finite, within ``[min_price, max_price]``
        (``INVALID_PRICE``), on the tick grid (``OFF_TICK``); else ``(code, message)``."""

@final
class Pipeline:
    """The threaded engine, started from a config document (JSON; see ``pipeline_config``)."""

    def __new__(cls, config: str) -> Pipeline: ...
    @property
    def gateways(self) -> list[PipelineGateway]: ...
    @property
    def subscriptions(self) -> list[PipelineSubscription]: ...
    @property
    def is_running(self) -> bool: ...
    def instruments(self) -> list[str]:
        """The symbols, in id order."""
    def recovery(self) -> RecoveryDict:
        """What recovery did at start (snapshot, warnings, records replayed)."""
    def set_limits(self, account: int, limits: str) -> int:
        """Sets an account's limits (JSON of a limits table, checked: ``ConfigError`` with
        keys under ``limits[account]``); returns the journal seq."""
    def set_default_limits(self, limits: str | None = None) -> int:
        """Sets the limits of unseen accounts (None: refuse them); returns the journal seq."""
    def set_kill_switch(self, engaged: bool, account: int | None = None) -> int:
        """Engages or releases an account's kill switch, or the global one."""
    def set_reference_price(self, instrument: _Instrument, price: _DecimalLike) -> int:
        """Moves an instrument's reference price; returns the journal seq."""
    def snapshot(self) -> SnapshotDict:
        """Writes a snapshot now: ``{"journal_seq": n, "path": str}``."""
    def stats(self) -> PipelineStatsDict:
        """What was measured so far."""
    def shutdown(self) -> PipelineShutdown:
        """Stops cleanly; ``{"stats", "last_seq", "books"}``."""

@type_check_only
class LatencyDict(TypedDict):
    count: int
    min_ns: int
    mean_ns: float
    p50_ns: int
    p95_ns: int
    p99_ns: int
    p999_ns: int
    max_ns: int

@type_check_only
class PipelineStatsDict(TypedDict):
    """``Pipeline.stats()`` (``wintermute.pipeline.PipelineStats`` is its typed view)."""

    topology: Literal["merged", "split"]
    elapsed_s: float
    submitted: int
    counters: dict[str, int]
    commands_per_s: float
    events_per_s: float
    outputs_per_s: float
    latency: dict[str, LatencyDict]
    rings: list[dict[str, Any]]
    gateways: list[dict[str, int]]
    threads: list[dict[str, Any]]
    recovered_records: int
    journal_syncs: int
    journal_rolls: dict[str, int]
    controls: int
    snapshots_written: int
    snapshot_failures: int
    last_snapshot_seq: int
    segments_pruned: int

@type_check_only
class PipelineShutdown(TypedDict):
    stats: PipelineStatsDict
    last_seq: int
    books: dict[str, str]

def pipeline_config(
    document: str, cores: int | None = None, base_dir: str | None = None
) -> tuple[int, str]:
    """Checks a config document (JSON) by the engine's schema and fills the defaults for
    ``cores`` cores (this machine's if None), paths taken against ``base_dir``: returns the
    core count and the resolved document. A bad value raises ``ConfigError`` naming its key."""

def limits_config(document: str, key: str) -> str:
    """Checks a limits table (JSON); returns it as the engine enforces it (a rate's burst
    given), with every key (``null``: no limit)."""

def limits_config_of_engine(document: str, key: str) -> str:
    """Limits in the engine's JSON form (a journal control's ``limits``) as a limits table,
    every key present (``null``: no limit); errors name ``key``."""

def pipeline_bench(
    rate: int | None,
    journal: str,
    *,
    seconds: float = 2.0,
    topology: str = "auto",
    wait: str = "auto",
    pin: bool = False,
    dir: str | None = None,
    seed: int = 42,
    book_deltas: bool = False,
) -> str:
    """One open-loop pipeline benchmark run; its result as a JSON document."""

# ---- the service venue's saved history (crates/python/src/venue_state.rs) --------------------

__all__ += ["venue_history_from_state", "venue_history_to_state"]

#: Records as their fields in order (``wintermute.service.venue_state.encode``).
_HistoryRecords: TypeAlias = list[list[int | str]]

def venue_history_to_state(
    tape: list[tuple[str, _HistoryRecords]], fills: list[tuple[int, _HistoryRecords]]
) -> bytes:
    """The venue's trade tape (by symbol) and fills (by account) as a binary state document,
    each record its fields in order (``wintermute_engine::venue_state::History``)."""

def venue_history_from_state(
    state: bytes,
) -> tuple[list[tuple[str, _HistoryRecords]], list[tuple[int, _HistoryRecords]]]:
    """The ``(tape, fills)`` of a ``venue_history_to_state`` document (``VENUE_STATE`` if it
    does not load)."""

# ---- l2: the integer L2 book and the feeds benchmark loops (crates/python/src/l2.rs) ----------

__all__ += [
    "TickBook",
    "binance_ticks_replay_timed",
    "feeds_recorded_messages",
    "feeds_replay_timed",
    "tick_book_replay",
]

@final
class TickBook:
    """An integer L2 book: prices in ticks, quantities in lots (absolute; 0 deletes a level).

    Sides are codes: ``TickBook.BID`` (0) and ``TickBook.ASK`` (1).
    """

    BID: int
    ASK: int
    NO_BID: int
    NO_ASK: int
    def __new__(cls, window: int = 4096) -> TickBook: ...
    @property
    def window(self) -> int:
        """Ticks per side in the dense window."""
    def set(self, side: int, price: int, qty: int) -> None:
        """Sets the quantity at ``price`` on ``side``; 0 removes the level."""
    def best_bid_price(self) -> int | None:
        """The highest bid price, or None."""
    def best_ask_price(self) -> int | None:
        """The lowest ask price, or None."""
    def best_bid(self) -> tuple[int, int] | None:
        """The highest bid as (price, qty), or None."""
    def best_ask(self) -> tuple[int, int] | None:
        """The lowest ask as (price, qty), or None."""
    def qty_at(self, side: int, price: int) -> int:
        """The quantity at ``price`` on ``side`` (0 when there is no level)."""
    def depth(self, side: int) -> int:
        """Number of levels on ``side``."""
    def levels(self, side: int, limit: int | None = None) -> list[tuple[int, int]]:
        """Up to ``limit`` levels of ``side`` as (price, qty), best first."""
    def clear(self) -> None:
        """Removes every level."""
    def apply(
        self,
        sides: npt.NDArray[np.uint8],
        prices: npt.NDArray[np.int64],
        qtys: npt.NDArray[np.int64],
    ) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
        """Applies arrays of updates; the best bid and ask prices after each one."""
    def __len__(self) -> int: ...

def tick_book_replay(
    sides: npt.NDArray[np.uint8],
    prices: npt.NDArray[np.int64],
    qtys: npt.NDArray[np.int64],
    repeat: int = 1,
    window: int = 4096,
) -> dict[str, Any]:
    """The arrays through a fresh book in a Rust loop: ``{"updates", "seconds", "checksum"}``."""

def feeds_recorded_messages(path: str) -> list[tuple[str | None, str]]:
    """A recording's messages as ``(url, text)``; ``url`` is None for a WebSocket frame."""

def feeds_replay_timed(
    venue: str,
    messages: list[tuple[str | None, str]],
    repeat: int = 1,
    scales: list[tuple[str, str, str]] | None = None,
    window: int = 65536,
) -> dict[str, Any]:
    """Messages through the venue's book builder in a Rust loop, timed. ``scales``
    (``(symbol, tick_size, lot_size)``, Binance only): the connector's integer handler."""

# ---- market: normalized events, L1 rings, latency, consolidated book, synthetic feeds --------
# ---- (crates/python/src/market.rs, crates/python/src/feeds.rs) --------------------------------

__all__ += ["Market", "feeds_synth"]

def feeds_synth(options: str, path: str) -> str:
    """Writes a seeded synthetic market in the venue's protocol to ``path`` (recording format).
    ``options``: a JSON document (``venue``, ``seed``, ``steps``, ``gap_rate``, ...); returns
    ``{"venue", "symbol", "frames", "trades", "gaps", "drop_frames", "corrupt_frames", "bids",
    "asks"}`` as JSON."""

#: ``(seq, kind, side, price, qty, aggressor, trade_id, bid, ask, exchange_ts, receive_ts,
#: normalized_ts)``; ``bid``/``ask`` are ``(price, qty)`` pairs of exact decimal text.
_EventRow = tuple[
    int,
    str,
    str | None,
    str | None,
    str | None,
    str | None,
    int,
    tuple[str, str] | None,
    tuple[str, str] | None,
    int | None,
    int,
    int,
    int | None,
]

@final
class Market:
    """Venues' feeds kept in sync in a background thread (see ``wintermute.market``)."""

    def __new__(cls, options: str) -> Market:
        """Starts the market of ``options``: a JSON document (``venues``, each with ``venue``,
        ``symbols``, endpoints or ``synthetic`` and ``pace``; ``instruments``;
        ``ring_capacity``, ``depth``, ``publish_every``)."""
    def wait_live(self, timeout: float) -> None:
        """Waits until every stream is live; ``FeedError`` on failure or timeout."""
    def streams(self) -> list[tuple[str, str]]:
        """``(venue, symbol)`` of every stream seen, sorted."""
    def book(self, venue: str, symbol: str, depth: int = 10) -> dict[str, Any]:
        """State, counters and the top ``depth`` levels per side of one stream."""
    def events(self, venue: str, symbol: str, last: int | None = None) -> list[_EventRow]:
        """The stream's L1 ring, oldest first."""
    def venue_stats(self, venue: str) -> dict[str, Any]:
        """Latency percentiles (ns), connector counters (JSON), running, error."""
    def consolidated(self, instrument: str, depth: int = 10) -> dict[str, Any]:
        """Consolidated levels, BBO, microprice, mid and cross flag of an instrument."""
    @property
    def running(self) -> bool: ...
    def stop(self) -> None:
        """Stops the connectors and synthetic servers."""

def binance_ticks_replay_timed(
    messages: list[tuple[str | None, str]],
    books: list[tuple[str, str, str]],
    repeat: int = 1,
    window: int = 65536,
) -> dict[str, Any]:
    """Binance messages through the integer path (one book per (symbol, tick, lot)), timed."""

# ---- market making (crates/python/src/mm.rs) ----------------------------------------------

def run_backtest(config_json: str) -> tuple[str, dict[str, npt.NDArray[np.float64]]]: ...

@final
class MmBacktest:
    def __new__(
        cls,
        config_json: str,
        strategy: object | None = None,
        label: str = ...,
        max_batch: int = 4096,
    ) -> MmBacktest: ...
    def run(self) -> tuple[str, dict[str, npt.NDArray[np.float64]]]: ...
    def progress(self) -> float: ...

# ---- market making: Python strategies (crates/python/src/mm_strategy.rs) -------------------

__all__ += [
    "MM_COMMAND_FIELDS",
    "MM_COMMAND_KINDS",
    "MM_EVENT_FIELDS",
    "MM_EVENT_KINDS",
    "MM_LIQUIDITY",
    "MM_SIDES",
    "MM_VENUE_OURS",
]

#: The fields of one event row handed to a strategy (all int64).
MM_EVENT_FIELDS: tuple[str, ...]
#: Event kinds by name: book, trade, fill, order_gone, timer.
MM_EVENT_KINDS: dict[str, int]
#: The fields of one command row a strategy returns (all int64).
MM_COMMAND_FIELDS: tuple[str, ...]
#: Command kinds by name: place, take, amend, cancel.
MM_COMMAND_KINDS: dict[str, int]
#: Side codes: buy, sell.
MM_SIDES: dict[str, int]
#: Liquidity codes of a fill: maker, taker.
MM_LIQUIDITY: dict[str, int]
#: The venue code of our own venue.
MM_VENUE_OURS: int

# ---- market making: the live runner (crates/python/src/mm_live.rs) ---------------------------

__all__ += ["MmLive", "MmSteppedBooks", "check_live_config", "route_kill"]

@final
class MmSteppedBooks:
    def __new__(cls, streams: int) -> MmSteppedBooks: ...
    def set_live(
        self, i: int, bid: tuple[str, str] | None, ask: tuple[str, str] | None
    ) -> None: ...
    def resync(self, i: int) -> None: ...

@final
class MmLive:
    def __new__(
        cls,
        config_json: str,
        gateway: PipelineGateway,
        subscription: PipelineSubscription,
        market: Market | None,
        *,
        account: int,
        instrument: str | int,
        tick_size: str,
        lot_size: str,
        first_client_id: int = ...,
        idle_sleep_us: int = ...,
        books: MmSteppedBooks | None = ...,
        strategy: object | None = ...,
        strategy_name: str = ...,
        max_batch: int = ...,
        queue: int = ...,
        unanswered: int = ...,
        live: bool = ...,
    ) -> MmLive: ...
    def snapshot_json(self) -> str: ...
    def paper_venues(self) -> list[tuple[str, str]]: ...
    def set_kill_switch(self, on: bool) -> None: ...
    def set_venue_kill_switch(self, on: bool) -> None: ...
    def replace_market(self, market: Market) -> None: ...
    @property
    def running(self) -> bool: ...
    def stop(self) -> None: ...

def check_live_config(
    config_json: str, tick_size: str, lot_size: str, live: bool = ...
) -> None: ...
def route_kill(
    config_json: str, tick_size: str, lot_size: str, live: bool = ...
) -> list[tuple[str, str, str, int | None, str | None]]: ...

__all__ += ["RouteSimulators"]

@final
class RouteSimulators:
    def __new__(
        cls,
        config_json: str,
        tick_size: str,
        lot_size: str,
        *,
        tls_cert_chain: str | None = ...,
        tls_key: str | None = ...,
    ) -> RouteSimulators: ...
    def urls(self) -> list[tuple[str, str]]: ...
    def ws_urls(self) -> list[tuple[str, str]]: ...
    def write_key_files(self, dir: str | os.PathLike[str]) -> list[tuple[str, Path]]: ...
    def open_orders(self, venue: str) -> int | None: ...
    def place_resting(self, venue: str, n: int) -> int: ...
    def stop(self) -> None: ...

# ---- market making: the latency benchmark (crates/python/src/mm_bench.rs) -------------------

__all__ += ["mm_backtest_bench", "mm_backtest_tape", "mm_latency_bench"]

def mm_backtest_bench(config_json: str, strategy: str, max_batch: int = 4096) -> str:
    """One backtest with a Rust strategy (builtin, builtin_batched, idle, idle_batched): the
    summary as JSON."""

def mm_backtest_tape(config_json: str) -> tuple[bytes, float, float, str]:
    """The tape of the venue a backtest config quotes on: ``(rows, tick_size, lot_size,
    venue)``, the rows little-endian int64, six per event (ts_exch, ts_recv, kind, side, price
    in ticks, qty in lots)."""

def mm_latency_bench(
    rate: int,
    *,
    seconds: float = 2.0,
    fill_every: int = 20,
    jitter_seconds: float = 1.0,
    busy_spin: bool = True,
    seed: int = 42,
) -> dict[str, Any]:
    """One run of the market maker's tick-to-order latency benchmark on our venue."""

# ---- order routing: the signing benchmark (crates/python/src/routing_bench.rs) ---------------

__all__ += ["routing_sign_timed"]

def routing_sign_timed(rounds: int = 20_000) -> str:
    """Times each venue's order -> signed request edge ``rounds`` times in Rust: a JSON list of
    ``{"edge", "rounds", "p50_ns", "p99_ns", "max_ns", "request_bytes"}``."""

# ---- the audit trail's rows built in Rust (crates/python/src/audit.rs) -----------------------

__all__ += ["AUDIT_REASONS", "AuditColumns", "AuditReplay"]

#: ``[(code, name), ...]``: the reason codes of ``AuditColumns`` (book rejects, cancels, risk).
AUDIT_REASONS: list[tuple[int, str]]

@final
class AuditColumns:
    """Audit rows as columns (see ``wintermute.storage.rust_rows``)."""

    def __len__(self) -> int: ...
    def columns(self) -> dict[str, npt.NDArray[Any]]:
        """Every column as a numpy array (a copy), by name, and ``present`` (null bits)."""
    def copy_binary(self, start: int, end: int, after_seq: int) -> tuple[bytes, int]:
        """PostgreSQL binary COPY data of rows ``start..end`` after ``after_seq``, and its row
        count."""

@final
class AuditReplay:
    """Replays a journal and builds its audit rows; not thread-safe."""

    def __new__(
        cls, instruments: list[tuple[str, str, str, str, str, str, str]]
    ) -> AuditReplay: ...
    @property
    def cursor(self) -> int: ...
    @property
    def records_read(self) -> int: ...
    @property
    def touched(self) -> list[int]: ...
    def resume(self, path: str, at_most: int) -> int | None:
        """Starts from the newest engine snapshot at or before ``at_most`` (fresh only)."""
    def depth(self, instrument: int, levels: int = 10) -> Depth: ...
    def read(self, path: str, now_ns: int) -> AuditColumns:
        """The rows of the records after ``cursor``; records without a time take ``now_ns``."""

# ---- the Redis hot tier's writer (crates/python/src/redis_tier.rs) --------------------------

__all__ += ["RedisWriter", "redis_key"]

@final
class RedisWriter:
    """Writes the Redis hot tier from Rust, one pipeline a round (see
    ``wintermute.storage.redis_tier``). A failed round raises ``WintermuteError`` with reason
    ``REDIS_UNREACHABLE`` or ``REDIS_ERROR``."""

    def __new__(
        cls,
        url: str,
        *,
        prefix: str = "wm",
        stream_len: int = 10_000,
        timeout_s: float = 0.25,
        retry_s: float = 1.0,
        cluster: bool = False,
    ) -> RedisWriter: ...
    @property
    def prefix(self) -> str: ...
    @property
    def stream_len(self) -> int: ...
    @property
    def down(self) -> bool:
        """True while the last round failed."""
    @property
    def pending(self) -> int:
        """Hashes staged and not yet written."""
    @property
    def counters(self) -> tuple[int, int, int]:
        """``(updates, dropped, errors)`` since the writer was opened."""
    def send(
        self,
        hashes: dict[str, dict[str, str | int]],
        entries: list[tuple[str, dict[str, str | int]]],
    ) -> bool:
        """One round of hashes (``HSET``, conflated) and stream entries (``XADD``); False:
        Redis is away and its retry time has not come."""
    def publish_audit(
        self,
        replay: AuditReplay,
        rows: AuditColumns,
        after_seq: int,
        seq: int,
        ts_ns: int,
        levels: int = 10,
    ) -> bool:
        """The books ``replay`` touched and the trades of ``rows`` in ``(after_seq, seq]``."""
    def close(self) -> None: ...

def redis_key(
    prefix: str,
    symbol: str,
    kind: Literal["book", "trades", "venue_book", "venue_trades", "consolidated", "ticks"],
    venue: str | None = None,
) -> str:
    """The Redis key of ``symbol``'s ``kind`` under ``prefix`` (the venue kinds with
    ``venue``); ``TypeError`` for another kind, or a venue where it does not belong."""
