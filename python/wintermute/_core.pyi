"""Type stubs for the compiled extension ``wintermute._core`` (crates/python).

This stub is the Python contract of the bindings: keep it in step with crates/python/src.
"""

from collections.abc import Callable
from decimal import Decimal
from typing import Any, Literal, TypedDict, final, type_check_only

import numpy as np
import numpy.typing as npt
from typing_extensions import disjoint_base

__all__ = [
    "COMMAND_SIZE",
    "EVENT_SIZE",
    "Engine",
    "Event",
    "__version__",
    "build_info",
    "feeds_recorded_subscription",
    "feeds_serve",
    "feeds_verify",
    "feeds_watch",
    "generate_workload",
    "journal_read",
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

COMMAND_SIZE: int
EVENT_SIZE: int

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
class JournalReport(TypedDict):
    segments: int
    records: int
    last_seq: int
    replayed: int
    refused: int
    snapshot: str | None
    truncated: TornTail | None

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
        self, instrument: int, order_id: int, price: int | None = None, qty: int | None = None
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
        self, instrument: int, commands: npt.NDArray[np.uint8]
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

# ---- market data (crates/python/src/feeds.rs) -----------------------------------------------

def feeds_verify(path: str) -> str:
    """Replays a recording through the feed parsers and book builders; the report as JSON."""

# ---- journal (crates/python/src/journal.rs) -------------------------------------------------

@type_check_only
class JournalColumns(TypedDict):
    seq: npt.NDArray[np.uint64]
    instrument: npt.NDArray[np.uint32]
    commands: npt.NDArray[np.uint8]

def journal_read(path: str, after_seq: int = 0) -> JournalColumns:
    """The journal's entries after ``after_seq`` as columns (commands as 48-byte records)."""

def feeds_recorded_subscription(path: str) -> tuple[str, list[str]]:
    """The venue and symbols a recording subscribed to."""

def feeds_serve(
    path: str,
    on_ready: Callable[[str, str], object],
    *,
    pace: str = "recorded",
    port: int = 0,
    http_port: int = 0,
    seconds: float | None = None,
    exit_when_drained: bool = False,
) -> dict[str, int]:
    """Serves a recording on 127.0.0.1 in its exchange's protocol; blocks until it stops."""

def feeds_watch(
    venue_name: str,
    symbols: list[str],
    *,
    ws_base: str | None = None,
    rest_base: str | None = None,
    seconds: float = 5.0,
    max_frames: int | None = None,
    record: str | None = None,
    on_tick: Callable[[str], object] | None = None,
    tick: float = 0.5,
    max_attempts: int | None = None,
) -> str:
    """Runs a venue's connector and keeps its books in sync; the report as JSON."""
