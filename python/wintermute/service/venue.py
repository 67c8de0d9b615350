"""The venue: the running engine behind the service's APIs.

A ``Venue`` owns a ``wintermute.Pipeline`` and everything an exchange keeps around its
matching engine: it assigns order ids, remembers client order ids (per account: a repeated
place returns the first order), tracks each order's state, fills (maker or taker, with fees)
and the accounts' balances and positions, keeps the public trade tape and an L2 mirror of every
book with a sequence number, and knows the **exact queue position** of every resting order (see
``wintermute.service.book_mirror``; the mirrors themselves run in Rust, ``_core.VenueBooks``).
The REST, WebSocket and Binance-compatible APIs are thin layers over it; none of them talks to
the pipeline.

One background thread drains the engine's subscription (book deltas included): each batch goes
through the Rust book mirrors in one call, and the outputs that concern orders come back to
be applied in the engine's order; ``place``, ``cancel``, ``amend`` and ``cancel_all`` are
coroutines that return once the engine answered the command (the verdict, not a guess)::

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
marks: within the venue's own lag of the times it showed before the restart). A journal whose
oldest segments were pruned (``prune_segments``) no longer starts at record 1: the venue then
starts with an empty order table and empty book mirrors, as before (a warning says so).

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
from dataclasses import dataclass, field
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
    RISK_REASONS,
    Gateway,
    Pipeline,
    Subscription,
    config_of,
)
from wintermute.pipeline_stats import PipelineStats
from wintermute.service.book_mirror import BUY, SELL
from wintermute.service.ledger import Ledger
from wintermute.service.order_input import (
    SIDES,
    TIFS,
    TYPES,
    account_of,
    client_id_of,
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

_F = {name: i for i, name in enumerate(OUTPUT_DTYPE.names or ())}
_KIND, _OUTCOME, _LAST = _F["kind"], _F["outcome"], _F["last"]
_GATEWAY, _CMD = _F["gateway"], _F["command_seq"]
_OID, _OTHER_ID, _PRICE, _QTY = _F["order_id"], _F["other_id"], _F["price"], _F["qty"]
_REMAINING, _OTHER, _SIDE, _REASON = _F["remaining"], _F["other"], _F["side"], _F["reason"]
_FLAGS, _INSTRUMENT, _PAD = _F["flags"], _F["instrument"], _F["_pad2"]
_JOURNAL, _INGRESS, _LATENCY = _F["journal_seq"], _F["ingress_ns"], _F["latency_ns"]
_KINDS = {name: code for code, name in batch.KIND_NAMES.items()}
ACCEPTED, REJECTED, TRADE = _KINDS["accepted"], _KINDS["rejected"], _KINDS["trade"]
CANCELED, AMENDED, BOOK_DELTA = _KINDS["canceled"], _KINDS["amended"], _KINDS["book_delta"]
_OUTCOME_CODES = {name: code for code, name in OUTCOMES.items()}
_QUOTES = ("USDT", "USDC", "USD", "EUR", "BTC", "ETH")
_TIF_CODES = {"gtc": batch.GTC, "ioc": batch.IOC, "fok": batch.FOK, "post_only": batch.GTC}
_SIDE_NAMES = {BUY: "buy", SELL: "sell"}
_OPEN = ("new", "partially_filled")


def _base_quote(symbol: str) -> tuple[str, str]:
    for sep in ("-", "/", "_"):
        if sep in symbol:
            base, _, quote = symbol.partition(sep)
            return base, quote
    for quote in _QUOTES:
        if symbol.endswith(quote) and len(symbol) > len(quote):
            return symbol[: -len(quote)], quote
    return symbol, "USD"


@dataclass
class _Order:
    """An order's working state (the venue's; ``OrderState`` is its frozen view)."""

    order_id: int
    client_order_id: str
    account: int
    inst: InstrumentInfo
    inst_id: int
    side: int
    type: str
    tif: str
    price: int | None  # ticks
    qty: int  # lots, total
    filled: int = 0
    cum_quote: Decimal = Decimal(0)
    status: str = "pending"
    reject_reason: str | None = None
    created_ns: int = field(default_factory=time.time_ns)
    updated_ns: int = 0
    hold_asset: str = ""
    held: Decimal = Decimal(0)


@dataclass
class _Pending:
    """A command waiting for the engine's verdict."""

    kind: str  # place | cancel | amend | mass
    order: _Order | None
    future: asyncio.Future[Any]
    loop: asyncio.AbstractEventLoop
    error: VenueError | None = None
    canceled: list[_Order] = field(default_factory=list)
    span: Any = None  # an OpenTelemetry span while traced (wintermute.service.tracing)
    book_deltas: int = 0


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
        engine = dataclasses.replace(
            engine,
            subscriptions=SubscriptionsConfig(1 + reserve, engine.subscriptions.capacity, True),
            gateways=dataclasses.replace(
                engine.gateways, count=max(engine.gateways.count, 1 + reserve)
            ),
        )
        self.settings = settings or ServiceSettings()
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
        self._ledger = Ledger(defaults, self.settings.account_balances)
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
        self._ids = itertools.count(1)
        self._trade_ids = itertools.count(1)
        self._orders: dict[int, _Order] = {}
        self._by_client: dict[tuple[int, str], int] = {}
        self._open: dict[int, dict[int, None]] = {}  # account -> open order ids, in order
        self._account_orders: dict[int, collections.deque[int]] = {}
        self._closed: collections.deque[int] = collections.deque()
        self._fills: dict[int, collections.deque[Fill]] = {}
        self._pending: dict[tuple[int, int], _Pending] = {}
        self._touched: dict[int, _Order] = {}
        # Answers of the batch being applied, per caller loop (sent once the batch is done).
        self._answers: dict[asyncio.AbstractEventLoop, list[tuple[asyncio.Future[Any], Any]]] = {}
        size = self.settings.tape_size
        self._tape = {s: collections.deque[Trade](maxlen=size) for s in self._instruments}
        self._symbols = list(self._instruments)
        # The books' levels and queue positions, kept in Rust (``wintermute_engine::venue_books``):
        # each drained batch goes through it, and only the rows below it need come to Python.
        self._books = _core.VenueBooks(len(self._symbols))
        self._watched = [False] * len(self._symbols)

        self.pipeline = Pipeline(engine)
        self._gateway = self.pipeline.gateway(0)
        self._subscription = self.pipeline.subscription(0)
        self._stopping = False
        self._released: list[Subscription] = []
        #: Journal records the venue rebuilt its state from at start (0: none).
        self.restored = 0
        # The clock of order, fill and trade times (the journal's while it is replayed).
        self._now: Callable[[], int] = time.time_ns
        try:
            self._restore()
        except BaseException:
            self.pipeline.shutdown()
            raise
        self._drain = threading.Thread(target=self._drain_loop, name="venue-drain", daemon=True)
        self._drain.start()

    def reserved(self, index: int) -> tuple[Gateway, Subscription]:
        """Reserved gateway and subscription ``index`` (see the class docs). Whoever takes
        them must keep reading the subscription while the venue runs (a full one holds the
        engine up) or hand it back with ``release_reserved``."""
        if not 0 <= index < self.config.subscriptions.count - 1:
            raise IndexError(f"reserved pair {index} of {self.config.subscriptions.count - 1}")
        return self.pipeline.gateway(1 + index), self.pipeline.subscription(1 + index)

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
        self, account: int, symbol: str, side: str, type: str, qty: Decimal,
        price: Decimal | None = None, tif: str = "gtc", client_order_id: str | None = None,
    ) -> OrderState:  # fmt: skip
        """Places an order and returns its state after the engine's verdict. A repeat of an
        ``(account, client_order_id)`` returns the first order's state (nothing is sent).
        A market order takes no price and trades IOC (``tif`` ``gtc`` means ``ioc`` for it)
        or FOK. An IOC/FOK order that could not (fully) trade comes back ``expired``; one the
        book or risk refuses raises ``BOOK_REJECTED`` / ``RISK_REJECTED`` / ``KILL_SWITCH``."""
        inst = self.instrument(symbol)
        account = account_of(account)
        if side not in SIDES:
            raise VenueError("INVALID_ORDER", "side must be buy or sell")
        if type not in TYPES:
            raise VenueError("INVALID_ORDER", "type must be limit or market")
        if tif not in TIFS:
            raise VenueError("INVALID_ORDER", "tif must be gtc, ioc, fok or post_only")
        lots = lots_of(qty, inst)
        ticks: int | None = None
        if type == "limit":
            if price is None:
                raise VenueError("INVALID_PRICE", "a limit order needs a price")
            ticks = ticks_of(price, inst)
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
        with self._lock:
            if client_order_id is not None and (account, client_order_id) in self._by_client:
                raise VenueError("DUPLICATE_CLIENT_ORDER_ID", f"{client_order_id} is in flight")
            order_id = next(self._ids)
            if client_order_id is None:
                client_order_id = f"wm-{order_id}"
                while (account, client_order_id) in self._by_client:  # a client chose it
                    client_order_id += "-"
            order = _Order(
                order_id, client_order_id, account, inst,
                self._symbols.index(symbol), side_code, type, tif, ticks, lots,
            )  # fmt: skip
            order.hold_asset, hold = self._hold_for(order, lots, ticks)
            self._ledger.lock(account, order.hold_asset, hold)
            order.held = hold
            self._orders[order_id] = order
            self._by_client[(account, order.client_order_id)] = order_id
        gw = self._gateway
        try:
            result: OrderState = await self._submit(
                "place", order,
                lambda: gw.submit_ticks(
                    order.inst_id, order_id, side_code, ticks or 0, lots, account,
                    batch.LIMIT if type == "limit" else batch.MARKET, _TIF_CODES[tif],
                    batch.STP_NONE, tif == "post_only", 0, order.client_order_id,
                ),
            )  # fmt: skip
        except VenueError as e:
            with self._lock:
                # Never sent (the gateway refused it): it is over. Sent but not answered in
                # time: the engine's answer still applies when it comes.
                sent = any(p.order is order for p in self._pending.values())
                if order.status == "pending" and not sent:
                    order.status, order.reject_reason = "rejected", e.code
                    self._close(order)
            raise
        return result

    async def _repeat(self, account: int, client_order_id: str) -> OrderState | None:
        """The state of the order a client order id already names (waiting for its verdict if
        it has none yet), or None."""
        deadline = time.monotonic() + self.settings.ack_timeout_s
        while True:
            with self._lock:
                oid = self._by_client.get((account, client_order_id))
                if oid is None:
                    return None
                order = self._orders[oid]
                if order.status != "pending":
                    return self._view(order)
            if time.monotonic() > deadline:
                raise VenueError("UNAVAILABLE", "the engine did not answer in time")
            await asyncio.sleep(0.001)

    def _hold_for(self, order: _Order, lots: int, ticks: int | None) -> tuple[str, Decimal]:
        inst = order.inst
        if order.side == SELL:
            return inst.base, lots * inst.lot_size
        if ticks is not None:
            return inst.quote, lots * inst.lot_size * ticks * inst.tick_size
        # A market buy holds what the asks would cost now (what is visible of it).
        left, cost = lots, 0
        for price, qty in self._books.depth(order.inst_id, SELL, 1 << 30):
            take = min(left, qty)
            cost += take * price
            left -= take
            if left == 0:
                break
        return inst.quote, cost * inst.lot_size * inst.tick_size

    async def cancel(
        self, account: int, symbol: str | None, *, order_id: int | None = None,
        client_order_id: str | None = None,
    ) -> OrderState:  # fmt: skip
        """Cancels an open order; returns its final state. ``UNKNOWN_ORDER`` if the account has
        no such open order (another account's orders are unknown to it)."""
        order = self._find(account, symbol, order_id, client_order_id, open_only=True)
        gw = self._gateway
        result: OrderState = await self._submit(
            "cancel", order, lambda: gw.cancel_ticks(order.inst_id, order.order_id)
        )
        return result

    async def amend(
        self, account: int, symbol: str | None, *, order_id: int | None = None,
        client_order_id: str | None = None, qty: Decimal | None = None,
        price: Decimal | None = None,
    ) -> OrderState:  # fmt: skip
        """Amends an open limit order: ``qty`` is the new **total** quantity (more than what
        already filled), ``price`` the new limit. Lowering the quantity at the same price keeps
        the order's place in the queue; anything else sends it to the back (and it may trade
        at once)."""
        order = self._find(account, symbol, order_id, client_order_id, open_only=True)
        if qty is None and price is None:
            raise VenueError("INVALID_ORDER", "amend needs qty and/or price")
        inst = order.inst
        new_lots = None if qty is None else lots_of(qty, inst)
        new_ticks = None if price is None else ticks_of(price, inst)
        with self._lock:
            if order.type != "limit" or order.price is None:
                raise VenueError("INVALID_ORDER", "only limit orders can be amended")
            total = order.qty if new_lots is None else new_lots
            left = total - order.filled
            if left <= 0:
                raise VenueError("INVALID_QTY", f"qty={qty} must exceed the filled quantity")
            ticks = order.price if new_ticks is None else new_ticks
            _, hold = self._hold_for(order, left, ticks)
            self._ledger.check(account, order.hold_asset, hold - order.held)
        gw = self._gateway
        result: OrderState = await self._submit(
            "amend", order,
            lambda: gw.amend_ticks(
                order.inst_id, order.order_id, new_ticks,
                None if new_lots is None else left,
            ),
        )  # fmt: skip
        return result

    async def cancel_all(self, account: int, symbol: str | None = None) -> list[OrderState]:
        """Cancels every open order of ``account`` (in ``symbol``, or everywhere); returns the
        canceled orders' states."""
        account = account_of(account)
        ids = [self._symbols.index(self.instrument(symbol).symbol)] if symbol else None
        out: list[OrderState] = []
        gw = self._gateway
        for inst_id in ids if ids is not None else range(len(self._symbols)):
            done: list[OrderState] = await self._submit(
                "mass", None, functools.partial(gw.mass_cancel_ticks, inst_id, account)
            )
            out.extend(done)
        return out

    async def _submit(self, kind: str, order: _Order | None, send: Callable[[], int]) -> Any:
        loop = asyncio.get_running_loop()
        fut: asyncio.Future[Any] = loop.create_future()
        with self._submit_lock:
            if self._stopping:
                raise VenueError("UNAVAILABLE", "the venue is stopping")
            key = (self._gateway.id, self._gateway.submitted + 1)
            span = None if self.tracer is None else self._span(kind, order)
            with self._lock:
                self._pending[key] = _Pending(kind, order, fut, loop, span=span)
            try:
                seq = send()
            except errors.WintermuteError as e:
                with self._lock:
                    self._pending.pop(key, None)
                if span is not None:
                    span.set_attribute("wintermute.error", "UNAVAILABLE")
                    span.end()
                raise VenueError("UNAVAILABLE", f"the engine refused the command: {e}") from None
            assert seq == key[1], f"gateway numbering: expected {key[1]}, got {seq}"
        self.counters["command_" + kind] += 1
        timer = loop.call_later(self.settings.ack_timeout_s, _time_out, fut)
        try:
            return await fut
        finally:
            timer.cancel()

    def _span(self, kind: str, order: _Order | None) -> Any:
        """A span of the command (a child of the current one: the HTTP request's), or None
        when it is not sampled."""
        span = self.tracer.start_span("venue." + ("mass_cancel" if kind == "mass" else kind))
        if not span.is_recording():
            span.end()
            return None
        if order is not None:
            span.set_attribute("wintermute.order_id", order.order_id)
            span.set_attribute("wintermute.account", order.account)
            span.set_attribute("wintermute.symbol", order.inst.symbol)
        return span

    # ---- queries ------------------------------------------------------------------------

    def _find(
        self, account: int, symbol: str | None, order_id: int | None,
        client_order_id: str | None, *, open_only: bool = False,
    ) -> _Order:  # fmt: skip
        account = account_of(account)
        if symbol is not None:
            self.instrument(symbol)
        with self._lock:
            if order_id is not None:
                order = self._orders.get(order_id) if isinstance(order_id, int) else None
            elif client_order_id is not None:
                oid = self._by_client.get((account, client_order_id))
                order = None if oid is None else self._orders.get(oid)
            else:
                raise VenueError("INVALID_ORDER", "give order_id or client_order_id")
            if (
                order is None
                or order.account != account
                or order.status == "pending"
                or (symbol is not None and order.inst.symbol != symbol)
            ):
                raise VenueError("UNKNOWN_ORDER", f"no such order for account={account}")
            if open_only and order.status not in _OPEN:
                raise VenueError("UNKNOWN_ORDER", f"order {order.order_id} is {order.status}")
            return order

    def order(
        self, account: int, symbol: str | None, *, order_id: int | None = None,
        client_order_id: str | None = None,
    ) -> OrderState:  # fmt: skip
        """One of ``account``'s orders (``UNKNOWN_ORDER`` for other accounts' orders)."""
        with self._lock:
            return self._view(self._find(account, symbol, order_id, client_order_id))

    def open_orders(self, account: int, symbol: str | None = None) -> list[OrderState]:
        """``account``'s open orders, oldest first."""
        if symbol is not None:
            self.instrument(symbol)
        with self._lock:
            orders = (self._orders[i] for i in self._open.get(account, {}))
            return [self._view(o) for o in orders if symbol is None or o.inst.symbol == symbol]

    def open_order_count(self) -> int:
        """Open orders of every account."""
        return sum(len(ids) for ids in self._open.values())

    def all_orders(self, account: int, symbol: str, limit: int = 500) -> list[OrderState]:
        """``account``'s most recent orders in ``symbol`` (open and closed), oldest first."""
        self.instrument(symbol)
        with self._lock:
            ids = self._account_orders.get(account, collections.deque())
            found = [self._orders[i] for i in ids if i in self._orders]
            views = [self._view(o) for o in found if o.inst.symbol == symbol]
        return views[-limit:] if limit > 0 else []

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
            return self._ledger.balances(account_of(account))

    def positions(self, account: int) -> dict[str, Decimal]:
        """``account``'s net position per symbol (base quantity bought minus sold)."""
        return {p.symbol: p.qty for p in self.pnl(account)}

    def pnl(self, account: int) -> list[Position]:
        """``account``'s positions with average price, realized and unrealized PnL, and fees."""
        account = account_of(account)
        with self._lock:
            marks = {s: self._mark(s) for s in self._symbols}
            return self._ledger.positions(account, marks)

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
                    rows = self._books.apply(out.view(np.uint8)).view(OUTPUT_DTYPE).tolist()
                    for row in rows:
                        try:
                            self._apply(row)
                        except Exception:  # noqa: PERF203 (a bug: log it, keep draining)
                            self.counters["apply_errors"] += 1
                            log.exception("venue: applying an engine output failed")
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
        with self._lock:
            for p in self._pending.values():
                with contextlib.suppress(RuntimeError):  # its loop is closed: nobody waits
                    p.loop.call_soon_threadsafe(
                        _resolve, p.future, VenueError("UNAVAILABLE", "the engine stopped")
                    )
            self._pending.clear()

    def _apply(self, row: tuple[Any, ...]) -> None:
        """One engine output (under the lock)."""
        key = (row[_GATEWAY], row[_CMD])
        pending = self._pending.get(key)
        outcome = row[_OUTCOME]
        if pending is not None and pending.span is not None:
            self._trace(row, pending)
        if outcome == _OUTCOME_CODES["event"] and row[_INSTRUMENT] < len(self._symbols):
            self._event(row, pending)
        elif outcome == _OUTCOME_CODES["refused"] and pending is not None:
            self._refused(row, pending)
        elif outcome == _OUTCOME_CODES["risk_rejected"] and pending is not None:
            reason = RISK_REASONS.get(row[_REASON], str(row[_REASON]))
            code = "KILL_SWITCH" if reason.endswith("KILL_SWITCH") else "RISK_REJECTED"
            pending.error = VenueError(code, f"pre-trade risk refused it: {reason}", reason)
        elif pending is not None and outcome not in (
            _OUTCOME_CODES["event"],
            _OUTCOME_CODES["no_events"],
        ):
            pending.error = VenueError("UNAVAILABLE", f"engine outcome {OUTCOMES[outcome]}")
        if row[_LAST]:
            if pending is not None:
                del self._pending[key]
                self._answer(pending)
            self._publish_touched()

    def _trace(self, row: tuple[Any, ...], pending: _Pending) -> None:
        """One output of a traced command: an event, and the engine's record on the last."""
        span = pending.span
        if row[_OUTCOME] == _OUTCOME_CODES["event"] and row[_KIND] != BOOK_DELTA:
            span.add_event(batch.KIND_NAMES.get(row[_KIND], str(row[_KIND])))
        if row[_LAST]:
            # The book deltas never come to Python: the last row counts them (VenueBooks).
            pending.book_deltas += int.from_bytes(row[_PAD], "little")
            span.set_attribute("wintermute.engine.outcome", OUTCOMES.get(row[_OUTCOME], "?"))
            span.set_attribute("wintermute.engine.command_seq", row[_CMD])
            span.set_attribute("wintermute.engine.journal_seq", row[_JOURNAL])
            span.set_attribute("wintermute.engine.ingress_ns", row[_INGRESS])
            span.set_attribute("wintermute.engine.latency_ns", row[_LATENCY])
            span.set_attribute("wintermute.engine.book_deltas", pending.book_deltas)

    def _event(self, row: tuple[Any, ...], pending: _Pending | None) -> None:
        """One event's bookkeeping (the book mirrors have it already: ``VenueBooks``)."""
        kind = row[_KIND]
        if kind == ACCEPTED:
            order = self._orders.get(row[_OID])
            if order is not None and order.status == "pending":
                order.status = "new"
                self._opened(order)
        elif kind == TRADE:
            self._trade(row)
        elif kind == CANCELED:
            order = self._orders.get(row[_OID])
            if order is not None and row[_REMAINING] == 0 and order.status in _OPEN:
                unfilled = batch.CANCEL_REASONS.get(row[_REASON]) == "UNFILLED"
                self._finish(order, "expired" if unfilled else "canceled")
                if pending is not None and pending.kind == "mass":
                    pending.canceled.append(order)
        elif kind == AMENDED:
            order = self._orders.get(row[_OID])
            if order is not None:
                order.price, order.qty = row[_PRICE], order.filled + row[_QTY]
                _, hold = self._hold_for(order, row[_QTY], order.price)
                self._ledger.unlock(order.account, order.hold_asset, order.held - hold)
                order.held = hold
                self._touch(order)
        elif kind == REJECTED and pending is not None:  # post-only, FOK
            self._refused(row, pending)

    def _refused(self, row: tuple[Any, ...], pending: _Pending) -> None:
        """The book refused the command: a FOK that cannot fill expires, the rest are errors."""
        reason = batch.REJECT_REASONS.get(row[_REASON], str(row[_REASON]))
        if reason == "FOK_NOT_FILLABLE" and pending.order is not None:
            self._finish(pending.order, "expired")
        else:
            pending.error = VenueError("BOOK_REJECTED", f"the book refused it: {reason}", reason)

    def _trade(self, row: tuple[Any, ...]) -> None:
        symbol = self._symbols[row[_INSTRUMENT]]
        inst = self._instruments[symbol]
        price, qty = row[_PRICE] * inst.tick_size, row[_QTY] * inst.lot_size
        now = self._now()
        trade = Trade(next(self._trade_ids), symbol, price, qty, _SIDE_NAMES[row[_SIDE]], now)
        self._tape[symbol].append(trade)
        self.topics.publish(f"trades:{symbol}", trade)
        self.counters["trades"] += 1
        for oid, liquidity in ((row[_OID], "maker"), (row[_OTHER_ID], "taker")):
            order = self._orders.get(oid)
            if order is not None:
                self._fill(order, trade, row[_QTY], liquidity)

    def _fill(self, order: _Order, trade: Trade, lots: int, liquidity: str) -> None:
        inst, account = order.inst, order.account
        notional = trade.price * trade.qty
        fees = self.settings.fees
        fee = notional * (fees.maker_bps if liquidity == "maker" else fees.taker_bps) / 10_000
        if order.side == BUY:
            per_unit = notional if order.price is None else order.price * inst.tick_size * trade.qty
            from_hold = min(order.held, per_unit)
            self._ledger.settle(
                account, spend_asset=inst.quote, spend=notional, from_hold=from_hold,
                get_asset=inst.base, get=trade.qty,
            )  # fmt: skip
        else:
            from_hold = min(order.held, trade.qty)
            self._ledger.settle(
                account, spend_asset=inst.base, spend=trade.qty, from_hold=from_hold,
                get_asset=inst.quote, get=notional,
            )  # fmt: skip
        order.held -= from_hold
        self._ledger.charge(account, inst.quote, fee)
        signed = trade.qty if order.side == BUY else -trade.qty
        self._ledger.record_fill(account, inst.symbol, signed, trade.price, fee)
        order.filled += lots
        order.cum_quote += notional
        fill = Fill(
            trade.trade_id, order.order_id, order.client_order_id, account, inst.symbol,
            _SIDE_NAMES[order.side], trade.price, trade.qty, liquidity, fee, inst.quote,
            trade.ts_ns,
        )  # fmt: skip
        history = self._fills.setdefault(
            account, collections.deque(maxlen=self.settings.history_size)
        )
        history.append(fill)
        self.topics.publish(f"account:{account}", fill)
        if order.filled >= order.qty:
            self._finish(order, "filled")
        else:
            order.status = "partially_filled"
            self._touch(order)

    def _opened(self, order: _Order) -> None:
        self._open.setdefault(order.account, {})[order.order_id] = None
        self._account_orders.setdefault(order.account, collections.deque()).append(order.order_id)
        self._touch(order)

    def _finish(self, order: _Order, status: str) -> None:
        order.status = status
        if order.order_id not in self._open.get(order.account, {}):
            self._account_orders.setdefault(order.account, collections.deque()).append(
                order.order_id
            )
        self._close(order)
        self._touch(order)

    def _close(self, order: _Order) -> None:
        """Gives back the order's hold and retires it (the oldest closed orders are forgotten
        beyond ``history_size``)."""
        if order.held:
            self._ledger.unlock(order.account, order.hold_asset, order.held)
            order.held = Decimal(0)
        self._open.get(order.account, {}).pop(order.order_id, None)
        if order.status == "rejected":
            self._by_client.pop((order.account, order.client_order_id), None)
        self._closed.append(order.order_id)
        while len(self._closed) > self.settings.history_size:
            old = self._orders.pop(self._closed.popleft(), None)
            if old is not None:
                self._by_client.pop((old.account, old.client_order_id), None)
                ids = self._account_orders.get(old.account)
                if ids and ids[0] == old.order_id:
                    ids.popleft()

    def _touch(self, order: _Order) -> None:
        """The order changed: its account's topic gets its state when the command ends (with
        its final queue position)."""
        order.updated_ns = self._now()
        self._touched[order.order_id] = order

    def _publish_touched(self) -> None:
        for order in self._touched.values():
            topic = f"account:{order.account}"
            if self.topics.has(topic):
                self.topics.publish(topic, self._view(order))
        self._touched.clear()

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

    def _answer(self, p: _Pending) -> None:
        result: Any
        if p.error is not None:
            result = p.error
            self.counters[f"rejected_{p.error.code}"] += 1
            if p.kind == "place" and p.order is not None and p.order.status == "pending":
                p.order.status = "rejected"
                p.order.reject_reason = p.error.reason or p.error.code
                self._close(p.order)
                self._touch(p.order)
        elif p.kind == "mass":
            result = [self._view(o) for o in p.canceled]
        elif p.kind == "cancel" and p.order is not None and p.order.status in _OPEN:
            result = VenueError("UNKNOWN_ORDER", f"order {p.order.order_id} is not open")
        else:
            assert p.order is not None
            result = self._view(p.order)
        if p.span is not None:
            if isinstance(result, VenueError):
                p.span.set_attribute("wintermute.error", result.code)
            p.span.end()
        self._answers.setdefault(p.loop, []).append((p.future, result))

    def _send_answers(self) -> None:
        """Hands the batch's answers to their callers' loops (under the lock)."""
        for loop, answers in self._answers.items():
            with contextlib.suppress(RuntimeError):  # the loop is closed: nobody waits
                loop.call_soon_threadsafe(_resolve_all, answers)
        self._answers = {}

    def _view(self, o: _Order) -> OrderState:
        inst = o.inst
        ahead = None
        if o.status in _OPEN:
            lots = self._books.queue_ahead(o.inst_id, o.order_id)
            ahead = None if lots is None else lots * inst.lot_size
        return OrderState(
            o.order_id, o.client_order_id, o.account, inst.symbol, _SIDE_NAMES[o.side], o.type,
            o.tif, None if o.price is None else o.price * inst.tick_size,
            o.qty * inst.lot_size, o.filled * inst.lot_size, o.cum_quote,
            "new" if o.status == "pending" else o.status, o.reject_reason, o.created_ns,
            o.updated_ns or o.created_ns, ahead,
        )  # fmt: skip

    # ---- restart over a journal ----------------------------------------------------------

    def _restore(self) -> None:
        """Rebuilds the venue's state from the journal the pipeline just recovered (see the
        module docs): every record in order, through the same bookkeeping as live outputs."""
        journal = self.config.journal
        if journal is None:
            return
        first, steps = journal_steps(journal.dir, self.config.instruments)
        if first == 0:
            return
        if first != 1:
            log.warning(
                "venue: the journal starts at record %d (pruned): the order table, fills and "
                "balances start empty",
                first,
            )
            return
        last_id = 0
        with self._lock:
            for step in steps:
                self.restored += 1
                self._now = functools.partial(int, step.wall_ns or time.time_ns())
                cmd = step.command
                if cmd is None:
                    self._restore_control(step.control or {})
                    continue
                order = None
                if cmd["kind"] == batch.NEW:
                    last_id = max(last_id, cmd["order_id"])
                    if step.client_order_id is not None:
                        order = self._restored_order(step.instrument, cmd, step.client_order_id)
                if step.risk_reason is not None:
                    if order is not None:
                        self._rejected(order, step.risk_reason)
                    continue
                books, inst_id = self._books, step.instrument
                for row in step.events:
                    books.event(
                        inst_id, row[_KIND], row[_OID], row[_OTHER_ID], row[_SIDE], row[_PRICE],
                        row[_QTY], row[_REMAINING], row[_OTHER], row[_FLAGS],
                    )  # fmt: skip
                    if row[_KIND] == REJECTED:
                        if order is not None:
                            reason = batch.REJECT_REASONS.get(row[_REASON], str(row[_REASON]))
                            if reason == "FOK_NOT_FILLABLE":
                                self._finish(order, "expired")
                            else:
                                self._rejected(order, reason)
                    else:
                        self._event(row, None)
                books.command_done(inst_id)
                self._touched.clear()
            self._ids = itertools.count(last_id + 1)
            self._now = time.time_ns
            self.counters.clear()  # they count this process's work (the metrics)
        log.info("venue: rebuilt from %d journal records", self.restored)

    def _restored_order(self, inst_id: int, cmd: dict[str, int], client_order_id: str) -> _Order:
        """A new order the venue sent, as ``place`` registered it (its hold included)."""
        symbol = self._symbols[inst_id]
        market = cmd["order_type"] == batch.MARKET
        tif = {batch.GTC: "gtc", batch.IOC: "ioc", batch.FOK: "fok"}[cmd["tif"]]
        if cmd["flags"] & batch.FLAG_POST_ONLY:
            tif = "post_only"
        ticks = None if market else cmd["price"]
        order = _Order(
            cmd["order_id"], client_order_id, cmd["account"], self._instruments[symbol], inst_id,
            cmd["side"], "market" if market else "limit", tif, ticks, cmd["qty"],
            created_ns=self._now(),
        )  # fmt: skip
        order.hold_asset, order.held = self._hold_for(order, cmd["qty"], ticks)
        # The check passed when the order was placed; later fills may already be counted.
        self._ledger.hold(order.account, order.hold_asset, order.held)
        self._orders[order.order_id] = order
        self._by_client[(order.account, client_order_id)] = order.order_id
        return order

    def _rejected(self, order: _Order, reason: str) -> None:
        """A refused place, as ``_answer`` closes it."""
        if order.status == "pending":
            order.status, order.reject_reason = "rejected", reason
            self._close(order)
            self._touch(order)

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
        self.pipeline.shutdown()
        self._drain.join(timeout=10)
        self.topics.close_all("shutdown")

    def __enter__(self) -> Venue:
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:  # fmt: skip
        self.close()
