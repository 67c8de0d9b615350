"""The venue: the running engine behind the service's APIs.

A ``Venue`` owns a ``wintermute.Pipeline`` and everything an exchange keeps around its
matching engine: it assigns order ids, remembers client order ids (per account: a repeated
place returns the first order), tracks each order's state, fills (maker or taker, with fees)
and the accounts' balances and positions, keeps the public trade tape and an L2 mirror of every
book with a sequence number, and knows the **exact queue position** of every resting order (see
``wintermute.service.book_mirror``; the mirrors themselves run in Rust, ``_core.VenueBooks``).
The order table (each order's state, filled quantity and hold, the client order id index,
open orders and history) and the matching of the engine's outputs to the commands waiting for
them run in Rust too (``_core.VenueOrders``, ``wintermute_engine::venue_orders``). The REST,
WebSocket and Binance-compatible APIs are thin layers over it; none of them talks to the
pipeline.

One background thread drains the engine's subscription (book deltas included): each batch goes
through the Rust book mirrors and then the Rust order table, one call each, and what is left
for Python comes back in the engine's order (public trades, fills for the accounts' histories,
order states to publish and the commands' answers: balances, holds, fees and positions are
the ledger's, ``_core.VenueLedger``, which the order table moves in the same calls);
``place``, ``cancel``, ``amend`` and ``cancel_all`` are coroutines that return once the engine
answered the command (the verdict, not a guess)::

    >>> import asyncio
    >>> from decimal import Decimal
    >>> from wintermute.service.venue import Venue
    >>> config = {"instruments": [{"symbol": "BTC-USD", "tick_size": "0.01",
    ...     "lot_size": "0.001", "min_qty": "0.001", "max_qty": "100", "min_price": "1",
    ...     "max_price": "1000000"}], "threads": {"risk": {"wait": "park"}}}
    >>> async def main(venue: Venue) -> None:
    ...     ask = await venue.place(1, "BTC-USD", "sell", "limit", Decimal("2"), Decimal("100"))
    ...     bid = await venue.place(2, "BTC-USD", "buy", "limit", Decimal("0.5"), Decimal("100"))
    ...     print(bid.status, venue.order(1, "BTC-USD", order_id=ask.order_id).filled_qty)
    >>> with Venue(config) as venue:
    ...     asyncio.run(main(venue))
    ...     print(venue.depth("BTC-USD").asks)
    filled 0.500
    [(Decimal('100.00'), Decimal('1.500'))]

Bad input (an unknown symbol, a quantity off the lot grid or out of range, a price off the
tick grid, another account's order) raises ``VenueError`` with a ``code`` and leaves everything
as it was. Live topics (``subscribe``): ``book:<symbol>`` (``BookUpdate``), ``trades:<symbol>``
(``Trade``), ``account:<id>`` (``OrderState`` and ``Fill``), ``stats`` (``PipelineStats``, once
a second); each subscriber has a bounded queue and is dropped when it falls behind.

Over a journal (``[journal]`` in the config) the venue survives a restart, clean or not: the
engine journals each new order the venue sends with its client order id, and a venue starting
over that journal rebuilds from it (``wintermute.service.venue_journal``) its order table (order
ids continue without reuse; client order ids, statuses and filled quantities as they were, so a
repeated place still returns the first order), fills, balances and positions (from the
configured starting balances), the public trade tape and the book mirrors with their sequence
numbers. Rebuilt orders, fills and trades take the engine's times from the journal (its time
marks: within the venue's own lag of the times it showed before the restart).

The venue saves its state as of one journal record beside the journal (``venue-<seq>.state``,
``wintermute.service.venue_state``) once rebuilt at start, at ``close``, after each engine
snapshot over a pruned journal and on request (``save_state``); a restart loads the
newest and replays only the records after it, and pruning (``prune_segments``) never removes
those records, so a venue over a pruned journal comes back whole. A state file that does not
read back raises ``JournalError`` (reason ``VENUE_STATE``); a journal pruned with no state saved
beside it starts the venue with an empty order table and empty book mirrors (a warning says so).

Known limits: icebergs and self-trade prevention modes are not offered through it.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import dataclasses
import functools
import itertools
import logging
import threading
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from os import PathLike
from pathlib import Path
from types import TracebackType
from typing import Any

import numpy as np

from wintermute import _core, batch, errors
from wintermute.config import (
    EngineConfig,
    LimitsConfig,
    SubscriptionsConfig,
    limits_of,
    limits_of_engine,
    read_document,
)
from wintermute.pipeline import (
    OUTCOMES,
    OUTPUT_DTYPE,
    Gateway,
    Pipeline,
    Subscription,
    config_of,
)
from wintermute.pipeline_stats import PipelineStats
from wintermute.service import ledger, venue_state
from wintermute.service.book_mirror import BUY, SELL
from wintermute.service.order_input import (
    SIDES,
    TIFS,
    TYPES,
    account_of,
    client_id_of,
    grid_of,
    lots_of,
    ticks_of,
)
from wintermute.service.settings import ServiceSettings, split_config
from wintermute.service.topics import SlowConsumer, Subscriber, Topics
from wintermute.service.venue_journal import journal_steps
from wintermute.service.venue_records import (
    Balance,
    BookUpdate,
    Depth,
    Fill,
    InstrumentInfo,
    OrderState,
    Position,
    Trade,
    VenueError,
)

log = logging.getLogger("wintermute.service.venue")

__all__ = [
    "Balance",
    "BookUpdate",
    "Depth",
    "Fill",
    "InstrumentInfo",
    "OrderState",
    "Position",
    "SlowConsumer",
    "Subscriber",
    "Trade",
    "Venue",
    "VenueError",
]

# Journal events are EVENT_DTYPE rows; OUTPUT_DTYPE starts with the same fields.
_F = {name: i for i, name in enumerate(OUTPUT_DTYPE.names or ())}
_KIND, _OID, _OTHER_ID, _PRICE = _F["kind"], _F["order_id"], _F["other_id"], _F["price"]
_QTY, _REMAINING, _OTHER, _SIDE = _F["qty"], _F["remaining"], _F["other"], _F["side"]
_REASON, _FLAGS, _INSTRUMENT = _F["reason"], _F["flags"], _F["instrument"]
REJECTED = {name: code for code, name in batch.KIND_NAMES.items()}["rejected"]
_QUOTES = ("USDT", "USDC", "USD", "EUR", "BTC", "ETH")
_TIF_CODES = {"gtc": batch.GTC, "ioc": batch.IOC, "fok": batch.FOK, "post_only": batch.GTC}
_SIDE_NAMES = {BUY: "buy", SELL: "sell"}
_OPEN = ("new", "partially_filled")
# An order's view tuple (``VenueOrders``): order_id, client_order_id, account, instrument, side,
# type, tif, price (ticks), qty (lots), filled (lots), cum_quote (ticks x lots), status,
# reject_reason, created_ns, updated_ns, held (lots for a sell, ticks x lots for a buy).
_OID_V, _ACCOUNT_V, _INST_V, _SIDE_V, _TYPE_V = 0, 2, 3, 4, 5
_PRICE_V, _QTY_V, _FILLED_V, _STATUS, _HELD_V = 7, 8, 9, 11, 15


def _base_quote(symbol: str) -> tuple[str, str]:
    for sep in ("-", "/", "_"):
        if sep in symbol:
            base, _, quote = symbol.partition(sep)
            return base, quote
    for quote in _QUOTES:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol[: -len(quote)], quote
    return symbol, "USD"


#: ``VenueOrders.apply``'s effect tags (``crates/python/src/venue_orders.rs``; holds given back,
#: tag 2, never come: the ledger carries them out in Rust).
_TRADE_FX, _FILL_FX, _STATE_FX, _ANSWER_FX, _LEDGER_ERROR_FX = 0, 1, 3, 4, 5
#: A command waiting for the engine's verdict: its future, its loop and its span (or None).
_Waiter = tuple[asyncio.Future[Any], asyncio.AbstractEventLoop, Any]


def _resolve(fut: asyncio.Future[Any], result: Any) -> None:
    if fut.done():
        return
    if isinstance(result, BaseException):
        fut.set_exception(result)
    else:
        fut.set_result(result)


def _resolve_all(answers: list[tuple[asyncio.Future[Any], Any]]) -> None:
    """Resolves a drained batch's answers on their loop: one wake-up per batch and loop,
    not one per command."""
    for fut, result in answers:
        _resolve(fut, result)


def _time_out(fut: asyncio.Future[Any]) -> None:
    _resolve(fut, VenueError("UNAVAILABLE", "the engine did not answer in time"))


class Venue:
    """The running engine with an exchange's bookkeeping (see the module documentation).

    ``Venue(config, settings)``: ``config`` is an ``EngineConfig``, a dict in its shape or a
    ``.toml`` / ``.json`` path; the venue takes every output (one subscription with book
    deltas, whatever the config says). ``settings``: fees, starting balances, history sizes
    (``ServiceSettings``; defaults if None). ``reserve``: gateways and subscriptions (with book
    deltas) kept for traders inside this process, such as a live market maker
    (``wintermute.mm_live``): ``reserved(i)`` hands out pair ``i``; the venue never uses them,
    but sees their orders and trades on the book like anyone's. Stop it with ``close()`` (or
    ``with``).
    """

    def __init__(
        self, config: EngineConfig | Mapping[str, Any] | str | PathLike[str],
        settings: ServiceSettings | None = None, *, reserve: int = 0,
    ) -> None:  # fmt: skip
        engine = config_of(config)
        if reserve < 0:
            raise ValueError(f"reserve={reserve}: expected >= 0")
        self.settings = settings or ServiceSettings()
        # With order entry served from Rust, one more gateway: its own (no subscription: the
        # venue's drain hands it its answers).
        entry = self.settings.order_entry_bind is not None
        engine = dataclasses.replace(
            engine,
            subscriptions=SubscriptionsConfig(1 + reserve, engine.subscriptions.capacity, True),
            gateways=dataclasses.replace(
                engine.gateways, count=max(engine.gateways.count, 1 + reserve + entry)
            ),
        )
        self.config = engine
        self._instruments: dict[str, InstrumentInfo] = {}
        for ic in engine.instruments:
            base, quote = _base_quote(ic.symbol)
            self._instruments[ic.symbol] = InstrumentInfo(
                ic.symbol, base, quote, Decimal(ic.tick_size), Decimal(ic.lot_size),
                Decimal(ic.min_qty), Decimal(ic.max_qty), Decimal(ic.min_price),
                Decimal(ic.max_price),
            )  # fmt: skip
        defaults = self.settings.balances
        if defaults is None:
            defaults = {}
            for info in self._instruments.values():
                defaults.setdefault(info.base, Decimal(100))
                defaults.setdefault(info.quote, Decimal(1_000_000))
        # Balances, holds, fills' fees and positions, kept in Rust (``wintermute_engine::
        # venue_ledger``) and moved by the order table below in the same calls.
        self._ledger = ledger.new_ledger(
            self._instruments.values(), self.settings.fees, defaults,
            self.settings.account_balances,
        )  # fmt: skip
        risk = engine.risk
        self._limits: dict[int, LimitsConfig] = dict(risk.accounts) if risk else {}
        self._default_limits = risk.default_limits if risk else None
        self.kill_switches: set[int | None] = set()
        #: Called after each kill switch change with (account or None for the global one,
        #: engaged); a live market maker on this venue holds its hedging meanwhile.
        self.on_kill_switch: list[Callable[[int | None, bool], None]] = []
        self.topics = Topics(self.settings.subscriber_queue)
        self.counters: collections.Counter[str] = collections.Counter()
        #: An OpenTelemetry tracer: each command gets a span (``wintermute.service.tracing``).
        self.tracer: Any = None

        self._lock = threading.RLock()
        self._submit_lock = threading.Lock()
        self._trade_ids = itertools.count(1)
        self._fills: dict[int, collections.deque[Fill]] = {}
        # The callers waiting for the engine's verdict, by command number on the venue's
        # gateway (which outputs answer which command is matched in Rust: ``VenueOrders``).
        self._waiting: dict[int, _Waiter] = {}
        # Amends waiting for the engine, by command number: (order id, lots, ticks): the open
        # lots it asked for and its new price (None: unchanged). What they may leave counts in
        # the next amend's hold check (``_amend_hold``).
        self._amends: dict[int, tuple[int, int | None, int | None]] = {}
        self._last_trade: Trade | None = None
        # Answers of the batch being applied, per caller loop (sent once the batch is done).
        self._answers: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any]]] = {}
        size = self.settings.tape_size
        self._tape = {s: collections.deque[Trade](maxlen=size) for s in self._instruments}
        self._symbols = list(self._instruments)
        self._infos = list(self._instruments.values())
        # Each instrument's quantity and price checks (in Rust: ``_core.OrderGrid``).
        self._grids = {i.symbol: grid_of(i) for i in self._infos}
        # The books' levels and queue positions, kept in Rust (``wintermute_engine::venue_books``):
        # each drained batch goes through it, and only the rows below it need come to Python.
        self._books = _core.VenueBooks(len(self._symbols))
        self._watched = [False] * len(self._symbols)

        self.pipeline = Pipeline(engine)
        self._gateway = self.pipeline.gateway(0)
        self._subscription = self.pipeline.subscription(0)
        # The order table (states, client order ids, holds, open orders, history) and the
        # commands waiting for the engine, kept in Rust (``wintermute_engine::venue_orders``):
        # each drained batch goes through it after the book mirrors.
        self._orders = _core.VenueOrders(
            len(self._symbols), self._gateway.id, self.settings.history_size, self._ledger
        )
        self._watched_accounts: set[int] = set()
        self._topic_changes = -1
        self._stopping = False
        self._released: list[Subscription] = []
        #: Journal records the venue rebuilt its state from at start (0: none); those of a
        #: saved state count (``wintermute.service.venue_state``).
        self.restored = 0
        # Whether the venue saves its state (over a journal, once rebuilt whole), and the
        # journal record of the last one saved.
        self._saves = False
        self._state_seq = 0
        self._save_lock = threading.Lock()
        self._autosave: threading.Event | None = None
        # The clock of order, fill and trade times (the journal's while it is replayed).
        self._now: Callable[[], int] = time.time_ns
        try:
            self._restore()
        except BaseException:
            self.pipeline.shutdown()
            raise
        self._drain = threading.Thread(target=self._drain_loop, name="venue-drain", daemon=True)
        self._drain.start()
        # Over a pruned journal, the state is saved after each engine snapshot (woken by the
        # drain thread, which reads the stats), so pruning keeps only the records since.
        on = engine.journal is not None and engine.journal.prune_segments
        if self._saves and reserve == 0 and on and self.settings.save_state_on_snapshot:
            self._autosave = threading.Event()
            self._saver = threading.Thread(target=self._save_loop, name="venue-state", daemon=True)
            self._saver.start()

    def reserved(self, index: int) -> tuple[Gateway, Subscription]:
        """Reserved gateway and subscription ``index`` (see the class docs). Whoever takes
        them must keep reading the subscription while the venue runs (a full one holds the
        engine up) or hand it back with ``release_reserved``."""
        if not 0 <= index < self.config.subscriptions.count - 1:
            raise IndexError(f"reserved pair {index} of {self.config.subscriptions.count - 1}")
        return self.pipeline.gateway(1 + index), self.pipeline.subscription(1 + index)

    def order_entry_parts(
        self,
    ) -> tuple[_core.VenueOrders, _core.VenueBooks, _core.PipelineGateway]:
        """What the Rust order entry listener shares (``wintermute.service.order_entry``; only
        with ``[service] order_entry_bind``): the order table (with the ledger), the book
        mirrors, and the gateway of its own, whose commands are the venue's orders."""
        if self.settings.order_entry_bind is None:
            raise VenueError("UNAVAILABLE", "order_entry_bind is not set")
        gateway = self.pipeline.gateway(self.config.subscriptions.count)
        return self._orders, self._books, gateway._core

    def release_reserved(self, index: int) -> None:
        """Reserved subscription ``index`` is read by nobody any more: the venue drains and
        drops what it receives, so it never holds the engine up."""
        _, subscription = self.reserved(index)
        with self._lock:
            if subscription not in self._released:
                self._released.append(subscription)

    @classmethod
    def from_file(cls, path: str | PathLike[str]) -> Venue:
        """A venue from a ``.toml`` / ``.json`` config file with an optional ``[service]``
        table (``wintermute.service.settings``)."""
        engine_doc, settings = split_config(read_document(path))
        return cls(EngineConfig.from_dict(engine_doc, base_dir=Path(path).parent), settings)

    # ---- reference data -----------------------------------------------------------------

    def instruments(self) -> list[InstrumentInfo]:
        """Every instrument, in the engine's id order."""
        return list(self._instruments.values())

    def instrument(self, symbol: str) -> InstrumentInfo:
        """One instrument; ``VenueError("UNKNOWN_SYMBOL")`` if there is none."""
        info = self._instruments.get(symbol) if isinstance(symbol, str) else None
        if info is None:
            raise VenueError("UNKNOWN_SYMBOL", f"unknown symbol={str(symbol)[:40]!r}")
        return info

    @property
    def ready(self) -> bool:
        """True while the engine runs and its outputs are drained."""
        return self.pipeline.is_running and self._drain.is_alive() and not self._stopping

    # ---- order entry --------------------------------------------------------------------

    async def place(
        self, account: int, symbol: str, side: str, type: str, qty: Decimal | str,
        price: Decimal | str | None = None, tif: str = "gtc", client_order_id: str | None = None,
    ) -> OrderState:  # fmt: skip
        """Places an order and returns its state after the engine's verdict. A repeat of an
        ``(account, client_order_id)`` returns the first order's state (nothing is sent).
        A market order takes no price and trades IOC (``tif`` ``gtc`` means ``ioc`` for it)
        or FOK. An IOC/FOK order that could not (fully) trade comes back ``expired``; one the
        book or risk refuses raises ``BOOK_REJECTED`` / ``RISK_REJECTED`` / ``KILL_SWITCH``."""
        grid = self._grids[self.instrument(symbol).symbol]
        account = account_of(account)
        if side not in SIDES:
            raise VenueError("INVALID_ORDER", "side must be buy or sell")
        if type not in TYPES:
            raise VenueError("INVALID_ORDER", "type must be limit or market")
        if tif not in TIFS:
            raise VenueError("INVALID_ORDER", "tif must be gtc, ioc, fok or post_only")
        lots = lots_of(qty, grid)
        ticks: int | None = None
        if type == "limit":
            if price is None:
                raise VenueError("INVALID_PRICE", "a limit order needs a price")
            ticks = ticks_of(price, grid)
        else:
            if price is not None:
                raise VenueError("INVALID_PRICE", "a market order takes no price")
            if tif == "post_only":
                raise VenueError("INVALID_ORDER", "a market order cannot be post_only")
            tif = "ioc" if tif == "gtc" else tif
        if client_order_id is not None:
            client_order_id = client_id_of(client_order_id)
            repeat = await self._repeat(account, client_order_id)
            if repeat is not None:
                return repeat
        side_code = BUY if side == "buy" else SELL
        inst_id = self._symbols.index(symbol)
        with self._lock:
            if client_order_id is not None and self._orders.by_client(account, client_order_id):
                raise VenueError("DUPLICATE_CLIENT_ORDER_ID", f"{client_order_id} is in flight")
            units = self._hold_units(inst_id, side_code, lots, ticks)
            try:  # the order and its hold (INSUFFICIENT_BALANCE: neither)
                order_id, client_order_id = self._orders.place(
                    account, client_order_id, inst_id, side_code, type, tif, ticks, lots, units,
                    self._now(),
                )  # fmt: skip
            except errors.WintermuteError as e:
                raise VenueError(e.reason or "INVALID_ORDER", str(e)) from None
        gw, cid = self._gateway, client_order_id
        try:
            result: OrderState = await self._submit(
                "place", order_id, (order_id, account, symbol),
                lambda: gw.submit_ticks(
                    inst_id, order_id, side_code, ticks or 0, lots, account,
                    batch.LIMIT if type == "limit" else batch.MARKET, _TIF_CODES[tif],
                    batch.STP_NONE, tif == "post_only", 0, cid,
                ),
            )  # fmt: skip
        except VenueError as e:
            with self._lock:
                # Never sent (the gateway refused it): it is over. Sent but not answered in
                # time: the engine's answer still applies when it comes.
                self._carry_out(self._orders.give_up(order_id, e.code, self._now()))
            raise
        return result

    async def _repeat(self, account: int, client_order_id: str) -> OrderState | None:
        """The state of the order a client order id already names (waiting for its verdict if
        it has none yet), or None."""
        deadline = time.monotonic() + self.settings.ack_timeout_s
        while True:
            with self._lock:
                view = self._orders.by_client(account, client_order_id)
                if view is None:
                    return None
                if view[_STATUS] != "pending":
                    return self._state(view)
            if time.monotonic() > deadline:
                raise VenueError("UNAVAILABLE", "the engine did not answer in time")
            await asyncio.sleep(0.001)

    def _hold_units(self, inst_id: int, side: int, lots: int, ticks: int | None) -> int:
        """What an order holds of its account's balance, in the order table's units: lots for
        a sell (the base), ticks x lots for a buy (the quote)."""
        if side == SELL:
            return lots
        if ticks is not None:
            return lots * ticks
        # A market buy holds what the asks would cost now (what is visible of it).
        left, cost = lots, 0
        for price, qty in self._books.depth(inst_id, SELL, 1 << 30):
            take = min(left, qty)
            cost += take * price
            left -= take
            if left == 0:
                break
        return cost

    async def cancel(
        self, account: int, symbol: str | None, *, order_id: int | None = None,
        client_order_id: str | None = None,
    ) -> OrderState:  # fmt: skip
        """Cancels an open order; returns its final state. ``UNKNOWN_ORDER`` if the account has
        no such open order (another account's orders are unknown to it)."""
        view = self._find(account, symbol, order_id, client_order_id, open_only=True)
        oid, inst_id, gw = view[_OID_V], view[_INST_V], self._gateway
        result: OrderState = await self._submit(
            "cancel", oid, (oid, view[_ACCOUNT_V], self._symbols[inst_id]),
            lambda: gw.cancel_ticks(inst_id, oid),
        )  # fmt: skip
        return result

    async def amend(
        self, account: int, symbol: str | None, *, order_id: int | None = None,
        client_order_id: str | None = None, qty: Decimal | None = None,
        price: Decimal | None = None,
    ) -> OrderState:  # fmt: skip
        """Amends an open limit order: ``qty`` is the new **total** quantity (more than what
        already filled), ``price`` the new limit. Lowering the quantity at the same price keeps
        the order's place in the queue; anything else sends it to the back (and it may trade
        at once). The engine amends by total: fills not yet in this venue's view when the
        amend is sent come off too, so the order never trades more than ``qty`` in all; fills
        that reach ``qty`` cancel the order's rest (``FILLED_BEFORE_AMEND``). Amends of one
        order sent before the earlier ones are answered (several clients, or one that does not
        wait) apply in the order sent, each counting on those before it.

        ``INSUFFICIENT_BALANCE`` (nothing sent) unless the account's free balance covers the
        most the order may hold once this amend applies, whatever the engine does with the
        order's amends still in flight (``_amend_hold``)."""
        view = self._find(account, symbol, order_id, client_order_id, open_only=True)
        if qty is None and price is None:
            raise VenueError("INVALID_ORDER", "amend needs qty and/or price")
        oid, inst_id = view[_OID_V], view[_INST_V]
        inst = self._infos[inst_id]
        new_lots = None if qty is None else lots_of(qty, self._grids[inst.symbol])
        new_ticks = None if price is None else ticks_of(price, self._grids[inst.symbol])
        with self._lock:
            if view[_TYPE_V] != "limit" or view[_PRICE_V] is None:
                raise VenueError("INVALID_ORDER", "only limit orders can be amended")
            total = view[_QTY_V] if new_lots is None else new_lots
            left = total - view[_FILLED_V]
            if left <= 0:
                raise VenueError("INVALID_QTY", f"qty={qty} must exceed the filled quantity")
        gw = self._gateway
        # By total: the table hands out the open lots asked for and the open lots it sees,
        # counting this order's amends still in flight (sent before this one, not answered).
        # The hold check runs under the same lock, just before the amend is registered.
        result: OrderState = await self._submit(
            "amend", oid, (oid, view[_ACCOUNT_V], inst.symbol),
            functools.partial(gw.amend_ticks, inst_id, oid, new_ticks), amend_total=new_lots,
            amend=(view[_ACCOUNT_V], new_lots, new_ticks),
        )  # fmt: skip
        return result

    def _amend_hold(
        self, order_id: int, account: int, total: int | None, ticks: int | None
    ) -> None:
        """The hold check of an amend of ``order_id`` to ``total`` lots (None: unchanged) at
        ``ticks`` (None: unchanged), under the lock. Amends of one order in flight apply in
        the order sent, and any of them may be refused, so an amend that keeps the quantity
        keeps whatever the quantity amends before it leave (at most the most any of them asks
        for: one behind a refused amend leaves less, or is refused), and one that keeps the
        price keeps whatever the price amends before it set. The check counts the most the
        order may hold once this amend applies: its open lots (for a price-only amend, the
        most any amend in flight asks for, or the open lots now) at its price (for a buy that
        keeps its price, the highest any amend in flight sets, or the price now).
        ``INSUFFICIENT_BALANCE`` if the account's free balance does not cover that less what
        the order holds now; nothing changes then."""
        try:
            view: tuple[Any, ...] = self._orders.find(account, order_id, None, True)
        except errors.WintermuteError as e:
            raise VenueError(e.reason or "UNKNOWN_ORDER", str(e)) from None
        inst_id, side = view[_INST_V], view[_SIDE_V]
        flight = [(lots, t) for oid, lots, t in self._amends.values() if oid == order_id]
        if total is None:
            lots = max([view[_QTY_V] - view[_FILLED_V], *(n for n, _ in flight if n is not None)])
        else:
            lots = total - view[_FILLED_V]
        if ticks is None:
            ticks = view[_PRICE_V]
            if side == BUY:
                ticks = max([ticks, *(t for _, t in flight if t is not None)])
        units = self._hold_units(inst_id, side, lots, ticks) - view[_HELD_V]
        try:
            self._ledger.check(account, inst_id, side, units)
        except errors.WintermuteError as e:
            raise VenueError(e.reason or "INVALID_ORDER", str(e)) from None

    async def cancel_all(self, account: int, symbol: str | None = None) -> list[OrderState]:
        """Cancels every open order of ``account`` (in ``symbol``, or everywhere); returns the
        canceled orders' states."""
        account = account_of(account)
        ids = [self._symbols.index(self.instrument(symbol).symbol)] if symbol else None
        out: list[OrderState] = []
        gw = self._gateway
        for inst_id in ids if ids is not None else range(len(self._symbols)):
            done: list[OrderState] = await self._submit(
                "mass", None, None, functools.partial(gw.mass_cancel_ticks, inst_id, account)
            )
            out.extend(done)
        return out

    async def _submit(
        self, kind: str, order_id: int | None, about: tuple[int, int, str] | None,
        send: Callable[..., int], amend_total: int | None = None,
        amend: tuple[int, int | None, int | None] | None = None,
    ) -> Any:  # fmt: skip
        """Sends a command and waits for its answer. ``about``: ``(order id, account,
        symbol)`` of the order it concerns (for its span). With ``amend_total`` (lots), an
        amend by total: ``send`` gets the ``qty, seen_remaining`` the order table gives it
        (``VenueOrders.expect_amend``); otherwise no argument. With ``amend`` (``account,
        total lots, ticks``, either None when unchanged), an amend: its hold is checked
        (``_amend_hold``) and it counts in later amends' checks until answered."""
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        with self._submit_lock:
            if self._stopping:
                raise VenueError("UNAVAILABLE", "the venue is stopping")
            seq = self._gateway.submitted + 1
            span = None if self.tracer is None else self._span(kind, about)
            with self._lock:
                try:
                    if amend is not None:
                        assert order_id is not None
                        self._amend_hold(order_id, *amend)
                    if amend_total is None:
                        self._orders.expect(seq, kind, order_id, span is not None)
                        args: tuple[int, ...] = ()
                    else:
                        assert order_id is not None
                        args = self._orders.expect_amend(
                            seq, order_id, amend_total, span is not None
                        )
                except (errors.WintermuteError, VenueError) as e:
                    code = e.code if isinstance(e, VenueError) else e.reason or "INVALID_ORDER"
                    if span is not None:
                        span.set_attribute("wintermute.error", code)
                        span.end()
                    if isinstance(e, VenueError):
                        raise
                    raise VenueError(code, str(e)) from None
                self._waiting[seq] = (fut, loop, span)
                if amend is not None:
                    assert order_id is not None
                    self._amends[seq] = (order_id, args[0] if args else None, amend[2])
            try:
                sent = send(*args)
            except errors.WintermuteError as e:
                with self._lock:
                    self._orders.forget(seq)
                    self._waiting.pop(seq, None)
                    self._amends.pop(seq, None)
                if span is not None:
                    span.set_attribute("wintermute.error", "UNAVAILABLE")
                    span.end()
                raise VenueError("UNAVAILABLE", f"the engine refused the command: {e}") from None
            assert sent == seq, f"gateway numbering: expected {seq}, got {sent}"
        self.counters["command_" + kind] += 1
        timer = loop.call_later(self.settings.ack_timeout_s, _time_out, fut)
        try:
            return await fut
        finally:
            timer.cancel()

    def _span(self, kind: str, about: tuple[int, int, str] | None) -> Any:
        """A span of the command (a child of the current one: the HTTP request's), or None
        when it is not sampled."""
        span = self.tracer.start_span("venue." + ("mass_cancel" if kind == "mass" else kind))
        if not span.is_recording():
            span.end()
            return None
        if about is not None:
            span.set_attribute("wintermute.order_id", about[0])
            span.set_attribute("wintermute.account", about[1])
            span.set_attribute("wintermute.symbol", about[2])
        return span

    # ---- queries ------------------------------------------------------------------------

    def _find(
        self, account: int, symbol: str | None, order_id: int | None,
        client_order_id: str | None, *, open_only: bool = False,
    ) -> tuple[Any, ...]:  # fmt: skip
        """The view tuple of one of ``account``'s orders (``VenueOrders``)."""
        account = account_of(account)
        if symbol is not None:
            self.instrument(symbol)
        if order_id is not None:
            if isinstance(order_id, bool) or not isinstance(order_id, int):
                order_id = -1
            if not 0 <= order_id < 2**64:
                raise VenueError("UNKNOWN_ORDER", f"no such order for account={account}")
            client_order_id = None
        elif client_order_id is not None and not isinstance(client_order_id, str):
            raise VenueError("UNKNOWN_ORDER", f"no such order for account={account}")
        with self._lock:
            try:
                view: tuple[Any, ...] = self._orders.find(
                    account, order_id, client_order_id, open_only
                )
            except errors.WintermuteError as e:
                raise VenueError(e.reason or "UNKNOWN_ORDER", str(e)) from None
        if symbol is not None and self._symbols[view[_INST_V]] != symbol:
            raise VenueError("UNKNOWN_ORDER", f"no such order for account={account}")
        return view

    def order(
        self, account: int, symbol: str | None, *, order_id: int | None = None,
        client_order_id: str | None = None,
    ) -> OrderState:  # fmt: skip
        """One of ``account``'s orders (``UNKNOWN_ORDER`` for other accounts' orders)."""
        with self._lock:
            return self._state(self._find(account, symbol, order_id, client_order_id))

    def open_orders(self, account: int, symbol: str | None = None) -> list[OrderState]:
        """``account``'s open orders, oldest first."""
        inst_id = None if symbol is None else self._symbols.index(self.instrument(symbol).symbol)
        if isinstance(account, bool) or not isinstance(account, int) or not 0 <= account < 2**32:
            return []
        with self._lock:
            views = self._orders.open_orders(account)
            return [self._state(v) for v in views if inst_id in (None, v[_INST_V])]

    def open_order_count(self) -> int:
        """Open orders of every account."""
        return int(self._orders.open_count())

    def all_orders(self, account: int, symbol: str, limit: int = 500) -> list[OrderState]:
        """``account``'s most recent orders in ``symbol`` (open and closed), oldest first."""
        inst_id = self._symbols.index(self.instrument(symbol).symbol)
        if isinstance(account, bool) or not isinstance(account, int) or not 0 <= account < 2**32:
            return []
        with self._lock:
            views = self._orders.history(account)
            found = [self._state(v) for v in views if v[_INST_V] == inst_id]
        return found[-limit:] if limit > 0 else []

    def fills(self, account: int, symbol: str | None = None, limit: int = 500) -> list[Fill]:
        """``account``'s most recent fills, oldest first."""
        if symbol is not None:
            self.instrument(symbol)
        with self._lock:
            found = [f for f in self._fills.get(account, ()) if symbol in (None, f.symbol)]
        return found[-limit:] if limit > 0 else []

    def depth(self, symbol: str, limit: int = 100) -> Depth:
        """The book's top ``limit`` levels per side and its sequence number."""
        inst = self.instrument(symbol)
        with self._lock:
            return self._depth(inst, max(limit, 0))

    def _depth(self, inst: InstrumentInfo, limit: int) -> Depth:
        i, books = self._symbols.index(inst.symbol), self._books
        t, lot = inst.tick_size, inst.lot_size
        return Depth(
            inst.symbol, books.seq(i),
            [(p * t, q * lot) for p, q in books.depth(i, BUY, limit)],
            [(p * t, q * lot) for p, q in books.depth(i, SELL, limit)],
        )  # fmt: skip

    def trades(self, symbol: str, limit: int = 500) -> list[Trade]:
        """The most recent public trades, oldest first."""
        self.instrument(symbol)
        with self._lock:
            tape = list(self._tape[symbol])
        return tape[-limit:] if limit > 0 else []

    def balances(self, account: int) -> list[Balance]:
        """``account``'s spot balances."""
        with self._lock:
            return ledger.balances(self._ledger, account_of(account))

    def positions(self, account: int) -> dict[str, Decimal]:
        """``account``'s net position per symbol (base quantity bought minus sold)."""
        return {p.symbol: p.qty for p in self.pnl(account)}

    def pnl(self, account: int) -> list[Position]:
        """``account``'s positions with average price, realized and unrealized PnL, and fees."""
        account = account_of(account)
        with self._lock:
            marks = {s: self._mark(s) for s in self._symbols}
            return ledger.positions(self._ledger, account, self._symbols, marks)

    def _mark(self, symbol: str) -> Decimal | None:
        inst = self._instruments[symbol]
        i = self._symbols.index(symbol)
        bid, ask = self._books.best(i, BUY), self._books.best(i, SELL)
        if bid is not None and ask is not None:
            return (bid + ask) * inst.tick_size / 2
        tape = self._tape[symbol]
        return tape[-1].price if tape else None

    def queue_ahead(self, symbol: str, order_id: int) -> Decimal | None:
        """The exact quantity ahead of a resting order at its price (None if it does not
        rest); the order's ``OrderState.queue_ahead`` carries the same."""
        inst = self.instrument(symbol)
        with self._lock:
            ahead = self._books.queue_ahead(self._symbols.index(symbol), order_id)
        return None if ahead is None else ahead * inst.lot_size

    # ---- risk controls ------------------------------------------------------------------

    def limits(self, account: int) -> LimitsConfig | None:
        """``account``'s pre-trade limits (None: its orders are refused, UNKNOWN_ACCOUNT)."""
        return self._limits.get(account_of(account), self._default_limits)

    def set_limits(self, account: int, limits: LimitsConfig | Mapping[str, Any]) -> LimitsConfig:
        """Replaces ``account``'s limits (blocks until the risk thread applied them)."""
        account = account_of(account)
        try:
            checked = limits_of(limits)
            self.pipeline.set_limits(account, checked)
        except errors.ConfigError as e:
            raise VenueError("INVALID_LIMITS", str(e)) from None
        except errors.ControlError as e:
            raise VenueError("UNAVAILABLE", str(e)) from None
        self._limits[account] = checked
        return checked

    def kill(self, account: int | None = None) -> None:
        """Engages the kill switch of ``account`` (None: global): new orders are refused."""
        self._control(True, account)

    def release(self, account: int | None = None) -> None:
        """Releases a kill switch."""
        self._control(False, account)

    def _control(self, engage: bool, account: int | None) -> None:
        if account is not None:
            account = account_of(account)
        try:
            (self.pipeline.kill if engage else self.pipeline.release)(account)
        except errors.ControlError as e:
            raise VenueError("UNAVAILABLE", str(e)) from None
        (self.kill_switches.add if engage else self.kill_switches.discard)(account)
        for hook in list(self.on_kill_switch):
            hook(account, engage)

    def save_state(self, timeout: float = 10.0) -> int:
        """Saves the venue's state now and returns the journal record it is as of (see the
        module docs): the engine takes a snapshot while the venue's new commands wait for every
        command sent to be answered (at most ``timeout`` seconds), and the state is copied (the
        order table, ledger and book mirrors as binary documents, the tape and fills as lists):
        a pause in order entry that grows with the books and the order table. The state is
        encoded and written after order entry resumes, before this returns. Pruning may
        then go up to that record: a venue keeps the journal since its last saved state, so
        one that runs long between restarts calls this now and then. ``VenueError``
        (``UNAVAILABLE``) without a journal, with reserved gateways (their commands do not
        wait), while stopping, or with a command still unanswered after ``timeout``."""
        if not self._saves or self.config.subscriptions.count > 1:
            raise VenueError(
                "UNAVAILABLE", "only a venue over a journal and without reserved gateways "
                "saves its state while it runs",
            )  # fmt: skip
        deadline = time.monotonic() + timeout
        # One save at a time, each written before the next is taken (an older state written
        # over a newer one would name records pruning may have removed).
        with self._save_lock:
            return self._save_now(deadline)

    def _save_now(self, deadline: float) -> int:
        """``save_state``'s work (under the save lock)."""
        with self._submit_lock:
            if self._stopping:
                raise VenueError("UNAVAILABLE", "the venue is stopping")
            while self._waiting:  # (the drain thread empties it)
                if time.monotonic() > deadline:
                    raise VenueError("UNAVAILABLE", "commands are still waiting for the engine")
                time.sleep(0.001)
            try:
                snapshot = self.pipeline.snapshot()
            except errors.ControlError as e:
                raise VenueError("UNAVAILABLE", str(e)) from None
            # Every record up to the snapshot's is the venue's and applied: nothing else
            # sends commands, and the venue's own wait behind the lock held here. The copy
            # taken here is all order entry waits for: the snapshot's bytes, the Rust parts'
            # binary documents and the lists of the tape and fills (records do not change).
            raw = Path(snapshot.path).read_bytes()  # (the engine may remove it after)
            with self._lock:
                body = self._state_body({})
        # Encoded and written with the venue running again (the state saved before holds the
        # journal).
        body["engine"] = venue_state.snapshot_document(Path(snapshot.path), raw)
        self._save_state(snapshot.journal_seq, body)
        return snapshot.journal_seq

    def stats(self) -> PipelineStats:
        """The engine's stats (latency per stage, throughput, counters)."""
        return self.pipeline.stats()

    # ---- live topics ----------------------------------------------------------------------

    def subscribe(self, topic: str) -> Subscriber:
        """A subscriber of ``topic`` (see the module documentation); ``UNKNOWN_SYMBOL`` /
        ``INVALID_TOPIC`` for a topic that cannot exist."""
        name, _, arg = topic.partition(":")
        if name in ("book", "trades"):
            self.instrument(arg)
        elif name == "account":
            if not arg.isdigit():
                raise VenueError("INVALID_TOPIC", f"topic={topic[:60]!r}: account:<id>")
        elif topic != "stats":
            raise VenueError("INVALID_TOPIC", f"unknown topic={topic[:60]!r}")
        return self.topics.subscribe(topic)

    def subscribe_book(self, symbol: str, limit: int = 100) -> tuple[Depth, Subscriber]:
        """A snapshot of the book and a subscriber of its updates, taken together: the first
        update's ``first_seq`` is the snapshot's ``seq + 1``."""
        inst = self.instrument(symbol)
        with self._lock:
            return self._depth(inst, limit), self.topics.subscribe(f"book:{symbol}")

    # ---- the drain thread ---------------------------------------------------------------

    def _drain_loop(self) -> None:
        sub = self._subscription
        # Read the engine's stats about once a second, always: a read collects what the
        # engine's threads handed over (a thread hands over again only once it was read).
        every = 1.0 + self.config.stats_interval_ms / 2000
        next_stats = time.monotonic() + every
        while True:
            out = sub.poll(4096, timeout=0.05)
            if len(out):
                with self._lock:
                    self._watch_books()
                    self._watch_accounts()
                    kept = self._books.apply(out.view(np.uint8))
                    self._carry_out(self._orders.apply(kept, self._now()))
                    self._publish_books()
                    self._send_answers()
            elif sub.finished:
                break
            for released in self._released:
                released.poll(4096)
            if time.monotonic() >= next_stats:
                next_stats = time.monotonic() + every
                try:
                    stats = self.pipeline.stats()
                except errors.WintermuteError as e:
                    # Stats are not readable while a shutdown runs (the venue is closing;
                    # the outputs left are still drained): nothing to publish this round.
                    if e.reason != "PIPELINE":
                        raise
                    continue
                self.topics.publish("stats", stats)
                if self._autosave is not None and stats.last_snapshot_seq > self._state_seq:
                    self._autosave.set()
        with self._lock:
            for seq, (fut, loop, _) in self._waiting.items():
                self._orders.forget(seq)
                with contextlib.suppress(RuntimeError):  # its loop is closed: nobody waits
                    loop.call_soon_threadsafe(
                        _resolve, fut, VenueError("UNAVAILABLE", "the engine stopped")
                    )
            self._waiting.clear()
            self._amends.clear()

    def _carry_out(self, effects: list[tuple[Any, ...]]) -> None:
        """What the order table and the ledger left to do after a batch
        (``VenueOrders.apply``), in the engine's order: the tape, the fills' history, order
        states to publish and the answers (under the lock)."""
        for fx in effects:
            try:
                tag = fx[0]
                if tag == _FILL_FX:
                    self._fill(fx)
                elif tag == _TRADE_FX:
                    self._trade(fx)
                elif tag == _STATE_FX:
                    view = fx[1]
                    topic = f"account:{view[_ACCOUNT_V]}"
                    if self.topics.has(topic):
                        self.topics.publish(topic, self._state(view))
                elif tag == _ANSWER_FX:
                    self._answer(fx)
                else:  # the ledger refused a fill or a hold given back (an overflow): a bug
                    self.counters["apply_errors"] += 1
                    log.error("venue: the ledger could not apply an engine output: %s", fx[2])
            except Exception:  # noqa: PERF203 (a bug: log it, keep draining)
                self.counters["apply_errors"] += 1
                log.exception("venue: applying an engine output failed")

    def _trade(self, fx: tuple[Any, ...]) -> None:
        _, inst_id, ticks, lots, side = fx
        inst = self._infos[inst_id]
        price, qty = ticks * inst.tick_size, lots * inst.lot_size
        now = self._now()
        trade = Trade(next(self._trade_ids), inst.symbol, price, qty, _SIDE_NAMES[side], now)
        self._last_trade = trade
        self._tape[inst.symbol].append(trade)
        self.topics.publish(f"trades:{inst.symbol}", trade)
        self.counters["trades"] += 1

    def _fill(self, fx: tuple[Any, ...]) -> None:
        """One of the venue's orders traded in the trade before (the order table has counted
        it, the ledger has moved its balances, position and fee): the account's fill
        history."""
        _, order_id, client_order_id, account, inst_id, side, _, _, maker, _, fee_ = fx
        trade = self._last_trade
        assert trade is not None, "a fill follows its trade"
        inst = self._infos[inst_id]
        fee = ledger.decimal(fee_)
        fill = Fill(
            trade.trade_id, order_id, client_order_id, account, inst.symbol, _SIDE_NAMES[side],
            trade.price, trade.qty, "maker" if maker else "taker", fee, inst.quote, trade.ts_ns,
        )  # fmt: skip
        history = self._fills.setdefault(
            account, collections.deque(maxlen=self.settings.history_size)
        )
        history.append(fill)
        self.topics.publish(f"account:{account}", fill)

    def _watch_accounts(self) -> None:
        """Tells the order table which accounts have live subscribers (their orders' states
        are published)."""
        if self.topics.changes == self._topic_changes:
            return
        self._topic_changes = self.topics.changes
        watched = {
            int(arg)
            for name, _, arg in (t.partition(":") for t in self.topics.names())
            if name == "account" and arg.isdigit() and int(arg) < 2**32
        }
        for account in watched ^ self._watched_accounts:
            self._orders.watch(account, account in watched)
        self._watched_accounts = watched

    def _watch_books(self) -> None:
        """Tells the book mirrors which books have live subscribers (their updates are kept)."""
        for i, symbol in enumerate(self._symbols):
            watched = self.topics.has(f"book:{symbol}")
            if watched != self._watched[i]:
                self._watched[i] = watched
                self._books.watch(i, watched)

    def _publish_books(self) -> None:
        """Publishes the drained batch's book updates (one per command that changed levels)."""
        for inst_id, first, last, bids, asks in self._books.take_updates():
            symbol = self._symbols[inst_id]
            topic = f"book:{symbol}"
            if not self.topics.has(topic):
                continue
            inst = self._instruments[symbol]
            t, lot = inst.tick_size, inst.lot_size
            update = BookUpdate(
                symbol, first, last, [(p * t, q * lot) for p, q in bids],
                [(p * t, q * lot) for p, q in asks], time.time_ns(),
            )  # fmt: skip
            self.topics.publish(topic, update)

    def _answer(self, fx: tuple[Any, ...]) -> None:
        """A finished command of the venue: its answer goes to its caller with the batch."""
        _, seq, payload, error, counted, trace = fx
        self._amends.pop(seq, None)
        result: Any
        if error is not None:
            result = VenueError(*error)
            if counted:
                self.counters[f"rejected_{result.code}"] += 1
        elif isinstance(payload, list):
            result = [self._state(v) for v in payload]
        else:
            result = self._state(payload)
        waiter = self._waiting.pop(seq, None)
        if waiter is None:
            return
        future, loop, span = waiter
        if span is not None:
            self._trace(span, trace)
            if isinstance(result, VenueError):
                span.set_attribute("wintermute.error", result.code)
            span.end()
        self._answers.setdefault(loop, []).append((future, result))

    @staticmethod
    def _trace(span: Any, trace: tuple[Any, ...] | None) -> None:
        """A traced command's events, and the engine's record of its last output."""
        if trace is None:
            return
        events, outcome, command_seq, journal_seq, ingress_ns, latency_ns, book_deltas = trace
        for kind in events:
            span.add_event(batch.KIND_NAMES.get(kind, str(kind)))
        span.set_attribute("wintermute.engine.outcome", OUTCOMES.get(outcome, "?"))
        span.set_attribute("wintermute.engine.command_seq", command_seq)
        span.set_attribute("wintermute.engine.journal_seq", journal_seq)
        span.set_attribute("wintermute.engine.ingress_ns", ingress_ns)
        span.set_attribute("wintermute.engine.latency_ns", latency_ns)
        # The book deltas never come to Python (VenueBooks counts them).
        span.set_attribute("wintermute.engine.book_deltas", book_deltas)

    def _send_answers(self) -> None:
        """Hands the batch's answers to their callers' loops (under the lock)."""
        for loop, answers in self._answers.items():
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                loop.call_soon_threadsafe(_resolve_all, answers)
        self._answers = {}

    def _state(self, v: tuple[Any, ...]) -> OrderState:
        """An order's state from its view tuple (``VenueOrders``), with its queue position."""
        oid, cid, account, inst_id, side, type_, tif, price, qty, filled, quote, status = v[:12]
        inst = self._infos[inst_id]
        lot, tick = inst.lot_size, inst.tick_size
        ahead = None
        if status in _OPEN:
            lots = self._books.queue_ahead(inst_id, oid)
            ahead = None if lots is None else lots * lot
        return OrderState(
            oid, cid, account, inst.symbol, _SIDE_NAMES[side], type_, tif,
            None if price is None else price * tick, qty * lot, filled * lot,
            quote * tick * lot if quote else Decimal(0), "new" if status == "pending" else status,
            v[12], v[13], v[14], ahead,
        )  # fmt: skip

    # ---- restart over a journal ----------------------------------------------------------

    def _restore(self) -> None:
        """Rebuilds the venue's state from the journal the pipeline just recovered (see the
        module docs): every record in order, through the same bookkeeping as live outputs."""
        journal = self.config.journal
        if journal is None:
            return
        saved = venue_state.load(journal.dir)
        after = 0 if saved is None else saved.journal_seq
        if saved is not None:
            with self._lock:
                self._load_state(saved.path, saved.body)
                # Orders registered but not yet sent when the state was saved: sent after,
                # their records come below; never sent, they are given up after the replay.
                pending = self._orders.unsent()
        else:
            pending = []
        books = None if saved is None else saved.body["engine"]
        first, steps, engine = journal_steps(journal.dir, self.config.instruments, after, books)
        if saved is not None:
            end = self.pipeline.recovery().journal_seq
            if end < after:
                raise errors.JournalError(
                    f"venue state {saved.path} is as of record {after}, but the journal ends "
                    f"at record {end}: records the state includes were lost",
                    reason="VENUE_STATE",
                )
            if first not in (0, after + 1):
                raise errors.JournalError(
                    f"venue state {saved.path} is as of record {after}, but the journal's "
                    f"records after it start at {first}: records {after + 1}..{first - 1} "
                    "are missing",
                    reason="VENUE_STATE",
                )
            self.restored = after
        elif first > 1:
            log.warning(
                "venue: the journal starts at record %d (pruned) and holds no saved venue "
                "state: the order table, fills and balances start empty",
                first,
            )
            return
        last = after
        with self._lock:
            for step in steps:
                self.restored += 1
                last = step.seq
                self._now = functools.partial(int, step.wall_ns or time.time_ns())
                cmd = step.command
                if cmd is None:
                    self._restore_control(step.control or {})
                    continue
                order_id = None
                if cmd["kind"] == batch.NEW:
                    self._orders.continue_after(cmd["order_id"])
                    if step.client_order_id is not None:
                        order_id = self._restored_order(step.instrument, cmd, step.client_order_id)
                if step.risk_reason is not None:
                    if order_id is not None:
                        self._carry_out(
                            self._orders.reject(order_id, step.risk_reason, self._now())
                        )
                    continue
                books, orders, inst_id = self._books, self._orders, step.instrument
                for row in step.events:
                    books.event(
                        inst_id, row[_KIND], row[_OID], row[_OTHER_ID], row[_SIDE], row[_PRICE],
                        row[_QTY], row[_REMAINING], row[_OTHER], row[_FLAGS],
                    )  # fmt: skip
                    now = self._now()
                    if row[_KIND] == REJECTED:
                        if order_id is not None:
                            reason = batch.REJECT_REASONS.get(row[_REASON], str(row[_REASON]))
                            if reason == "FOK_NOT_FILLABLE":
                                self._carry_out(orders.expire(order_id, now))
                            else:
                                self._carry_out(orders.reject(order_id, reason, now))
                    elif row[_INSTRUMENT] < len(self._symbols):
                        self._carry_out(
                            orders.event(
                                row[_KIND], row[_OID], row[_OTHER_ID], row[_SIDE], row[_PRICE],
                                row[_QTY], row[_REMAINING], row[_REASON], row[_INSTRUMENT], now,
                            )
                        )  # fmt: skip
                books.command_done(inst_id)
                orders.command_done()
            self._now = time.time_ns
            for order_id in pending:
                view = self._orders.order(order_id)
                if view is not None and view[_STATUS] == "pending":
                    self._carry_out(self._orders.give_up(order_id, "UNAVAILABLE", self._now()))
            self.counters.clear()  # they count this process's work (the metrics)
            books = {s: engine.snapshot(s) for s in self._symbols}
            self._save_state(last, self._state_body(books))
        self._saves = True
        log.info("venue: rebuilt from %d journal records", self.restored)

    def _save_state(self, journal_seq: int, body: dict[str, Any]) -> None:
        """Saves a state from ``_state_body`` as of journal record ``journal_seq``
        (``wintermute.service.venue_state``)."""
        journal = self.config.journal
        assert journal is not None
        venue_state.save(journal.dir, journal_seq, body)
        self._state_seq = journal_seq

    def _state_body(self, books: Mapping[str, str]) -> dict[str, Any]:
        """The venue's state, the engine's books being ``books`` (under the lock): what
        ``venue_state.save`` takes, copied (the tape and fills as lists of their records,
        which never change), so that it is encoded and written outside the lock."""
        trade_id = next(self._trade_ids)
        self._trade_ids = itertools.count(trade_id)
        body = {
            "symbols": self._symbols,
            "engine": dict(books),
            "orders": self._orders.to_state_bin(),
            "ledger": self._ledger.to_state_bin(),
            "books": self._books.to_state_bin(),
            "next_trade_id": trade_id,
            "tape": {s: list(tape) for s, tape in self._tape.items()},
            "fills": {a: list(fills) for a, fills in self._fills.items()},
            "kill_switches": sorted(self.kill_switches, key=lambda a: -1 if a is None else a),
            "limits": {str(a): dataclasses.asdict(lim) for a, lim in self._limits.items()},
            "default_limits": None
            if self._default_limits is None
            else dataclasses.asdict(self._default_limits),
        }
        return body

    def _save_loop(self) -> None:
        """The ``venue-state`` thread: saves the state whenever the drain thread says the
        engine took a snapshot since the last one saved."""
        assert self._autosave is not None
        while True:
            self._autosave.wait()
            self._autosave.clear()
            if self._stopping:
                return
            try:
                self.save_state()
            except VenueError as e:  # stopping, or commands unanswered: the next snapshot
                log.warning("venue: saving its state after a snapshot failed: %s", e)
            except Exception:  # the state saved before stays; keep running
                log.exception("venue: saving its state after a snapshot failed")

    def _load_state(self, path: Path, body: Mapping[str, Any]) -> None:
        """The venue's state from a saved one (under the lock); ``JournalError`` (reason
        ``VENUE_STATE``) if it does not fit this venue."""
        engine = body.get("engine")
        if (
            body.get("symbols") != self._symbols
            or not isinstance(engine, dict)
            or set(engine) != set(self._symbols)
        ):
            raise errors.JournalError(
                f"venue state {path}: saved for instruments {body.get('symbols')}, this venue "
                f"has {self._symbols}",
                reason="VENUE_STATE",
            )
        try:
            for part, doc in (
                (self._orders, body["orders"]), (self._ledger, body["ledger"]),
                (self._books, body["books"]),
            ):  # fmt: skip
                # Binary documents (version 2 files) or JSON text (version 1).
                if isinstance(doc, bytes):
                    part.load_state_bin(doc)
                else:
                    part.load_state(doc)
            self._trade_ids = itertools.count(int(body["next_trade_id"]))
            for symbol, trades in body["tape"].items():
                self._tape[symbol].extend(venue_state.decode(Trade, t) for t in trades)
            for account, fills in body["fills"].items():
                self._fills[int(account)] = collections.deque(
                    (venue_state.decode(Fill, f) for f in fills), maxlen=self.settings.history_size
                )
            self.kill_switches = set(body["kill_switches"])
            self._limits = {int(a): LimitsConfig(**v) for a, v in body["limits"].items()}
            given = body["default_limits"]
            self._default_limits = None if given is None else LimitsConfig(**given)
        except (KeyError, TypeError, ValueError, ArithmeticError, errors.WintermuteError) as e:
            raise errors.JournalError(f"venue state {path}: {e}", reason="VENUE_STATE") from e

    def _restored_order(self, inst_id: int, cmd: dict[str, int], client_order_id: str) -> int:
        """A new order the venue sent, as ``place`` registered it (its hold included)."""
        market = cmd["order_type"] == batch.MARKET
        tif = {batch.GTC: "gtc", batch.IOC: "ioc", batch.FOK: "fok"}[cmd["tif"]]
        if cmd["flags"] & batch.FLAG_POST_ONLY:
            tif = "post_only"
        ticks = None if market else cmd["price"]
        side, account = cmd["side"], cmd["account"]
        if self._orders.order(cmd["order_id"]) is not None:
            return int(cmd["order_id"])  # registered, hold and all, in a saved state
        units = self._hold_units(inst_id, side, cmd["qty"], ticks)
        # Its hold is taken with it, without the check (it passed when the order was placed).
        self._orders.restore(
            cmd["order_id"], account, client_order_id, inst_id, side,
            "market" if market else "limit", tif, ticks, cmd["qty"], units, self._now(),
        )  # fmt: skip
        return int(cmd["order_id"])

    def _restore_control(self, control: Mapping[str, Any]) -> None:
        """A journaled kill switch or limits change (the engine re-applied it; the venue's
        view, so that ``limits`` shows what the engine enforces)."""
        what = control.get("control")
        if what == "set_limits":
            self._limits[account_of(control["account"])] = limits_of_engine(control["limits"])
        elif what == "set_default_limits":
            given = control.get("limits")
            self._default_limits = None if given is None else limits_of_engine(given)
        if what in ("account_kill", "global_kill"):
            account = control.get("account") if what == "account_kill" else None
            if control.get("engaged"):
                self.kill_switches.add(account)
            else:
                self.kill_switches.discard(account)

    # ---- lifetime -----------------------------------------------------------------------

    def close(self) -> None:
        """Stops the engine (every accepted command runs first), the drain thread and every
        subscriber."""
        with self._submit_lock:
            self._stopping = True
        if self._autosave is not None:
            self._autosave.set()
            self._saver.join(timeout=10)
        done = self.pipeline.shutdown()
        self._drain.join(timeout=10)
        if self._saves and not self._drain.is_alive():
            # Every output is applied: the state is the engine's last record's.
            self._saves = False
            try:
                with self._save_lock, self._lock:
                    body = self._state_body(done["books"])
                    self._save_state(done["last_seq"], body)
            except Exception:
                # The state saved before stays (pruning keeps the records after it).
                log.exception("venue: saving its state at close failed")
        self.topics.close_all("shutdown")

    def __enter__(self) -> Venue:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        self.close()
