"""Market-making strategies written in Python, run by the Rust backtester (and live, unchanged:
``wintermute.mm_live``).

Subclass :class:`Strategy` and override the callbacks you need::

    from wintermute import mm
    from wintermute.mm_strategy import BUY, OURS, SELL, Strategy, Top

    class Around(Strategy):
        \"\"\"One lot a side, 5 ticks around the first reference venue's mid, on our venue.\"\"\"

        def __init__(self, config):
            super().__init__(config)
            self.working = []

        def on_book(self, venue: int, top: Top) -> None:
            if venue != 0 or not (top.bid_qty and top.ask_qty):
                return
            for order_id in self.working:
                self.cancel(OURS, order_id)
            mid = (top.bid_price + top.ask_price) // 2
            self.working = [self.place(OURS, BUY, mid - 5, 1), self.place(OURS, SELL, mid + 5, 1)]

    result = mm.run_backtest(config, strategy=Around(config))

The built-in market maker stays Rust; a Python strategy is driven by the same backtester, in
**batches**: the events it would receive accumulate on the Rust side (no Python object is made
for them there) and are handed over in one call per batch, as one ``int64`` array. The base
class walks the batch in order and calls ``on_book``, ``on_trade``, ``on_fill``,
``on_order_gone``, ``on_answer`` and ``on_timer`` once per event, with the state
(:attr:`Strategy.now_ns`, :meth:`Strategy.top`, :meth:`Strategy.book_live`,
:attr:`Strategy.inventory`) as of that event. Each order command is sent **as of the event it
was decided after**: the backtester ends a batch before any command could reach a venue (one
order latency after the batch's first event, and before each metrics sample), so batching
changes nothing in what the strategy trades; ``tests/test_mm_strategy.py`` runs
:class:`wintermute.mm_fixed_spread.FixedSpread` (the built-in fixed-spread market maker written
again in Python) and gets the built-in's fills and PnL exactly. A batch also ends at
``max_batch`` events.

Integers throughout: prices in ticks and quantities in lots of the instrument (the backtest's
grid), times in nanoseconds, fees in money units (tick·lot / 10^6; negative: a rebate). Venues
are ``OURS`` (-1, our venue) or the index of an external venue in the config's market.

Events are light: ``Top``, ``Trade`` and ``Fill`` are named tuples made for each event. A
strategy that would rather work on the whole batch at once (numpy) overrides :meth:`on_batch`,
which receives the batch as a numpy structured array of :data:`EVENT_DTYPE` (its fields:
``_core.MM_EVENT_FIELDS``); the state is then brought up to the batch's end before the call and
its commands count as decided after the batch's last event.

Every ``cancel`` and ``amend`` gets exactly one answer (``on_answer``;
:attr:`Strategy.answers_commands` is true) in a backtest and live; live, at most ``unanswered``
of them may await their answers (:attr:`Strategy.answer_room` says how many more this batch),
past which they raise
``InvalidOrderError`` (reason ``TOO_MANY_UNANSWERED``) and send nothing.

What it costs: ``wintermute bench backtest`` runs the same backtest with the built-in market
maker and with Python strategies and reports the cost per event handed over
(docs/market-making.md).
"""

from __future__ import annotations

from collections.abc import Mapping
from operator import index
from typing import Any, Final, NamedTuple

import numpy as np
import numpy.typing as npt

from wintermute import _core
from wintermute.errors import InvalidOrderError

__all__ = [
    "BUY",
    "EVENT_DTYPE",
    "MAKER",
    "OURS",
    "SELL",
    "TAKER",
    "Fill",
    "Strategy",
    "Top",
    "Trade",
]

#: Our own venue (the matching engine); external venues are 0, 1, ... in the market's order.
OURS: Final[int] = _core.MM_VENUE_OURS
#: Side codes (a fill's side, a trade's aggressor, an order's side).
BUY: Final[int] = _core.MM_SIDES["buy"]
SELL: Final[int] = _core.MM_SIDES["sell"]
#: Liquidity codes of a fill.
MAKER: Final[int] = _core.MM_LIQUIDITY["maker"]
TAKER: Final[int] = _core.MM_LIQUIDITY["taker"]
#: One event of a batch, as :meth:`Strategy.on_batch` receives them.
EVENT_DTYPE: Final = np.dtype([(name, np.int64) for name in _core.MM_EVENT_FIELDS])

_KIND = _core.MM_EVENT_KINDS
_BOOK, _TRADE, _FILL, _GONE = _KIND["book"], _KIND["trade"], _KIND["fill"], _KIND["order_gone"]
_ANSWER = _KIND["answer"]
_CMD = _core.MM_COMMAND_KINDS
_PLACE, _TAKE, _AMEND, _CANCEL = _CMD["place"], _CMD["take"], _CMD["amend"], _CMD["cancel"]
#: The event row's fields, in the order the per-event dispatch below unpacks them.
_FIELDS: Final = (
    "kind",
    "venue",
    "ts_ns",
    "origin_ts_ns",
    "order_id",
    "side",
    "price",
    "qty",
    "remaining",
    "liquidity",
    "fee",
    "position",
    "bid_price",
    "bid_qty",
    "ask_price",
    "ask_qty",
    "live",
)
_COMMAND_FIELDS: Final = ("kind", "after", "venue", "side", "price", "qty", "order_id")
if _core.MM_EVENT_FIELDS != _FIELDS or _core.MM_COMMAND_FIELDS != _COMMAND_FIELDS:
    raise ImportError("wintermute._core's strategy event layout is not the one this module reads")


class Top(NamedTuple):
    """A venue's best bid and ask (quantity 0: no such side), and when it last changed (ns)."""

    bid_price: int
    bid_qty: int
    ask_price: int
    ask_qty: int
    ts_ns: int


class Trade(NamedTuple):
    """A public trade on ``venue``; ``aggressor`` is the side that took liquidity."""

    venue: int
    price: int
    qty: int
    aggressor: int
    ts_ns: int


class Fill(NamedTuple):
    """One of our fills: ``remaining`` lots of the order still work; ``fee`` in money units
    (negative: a rebate); ``ts_ns`` when it happened at the venue."""

    venue: int
    order_id: int
    side: int
    price: int
    qty: int
    remaining: int
    liquidity: int
    fee: int
    ts_ns: int


_EMPTY: Final = Top(0, 0, 0, 0, 0)
_make = tuple.__new__


class Strategy:
    """The base class of a Python market-making strategy (see the module docs).

    ``config`` is the backtest's config (a dict); a strategy reads its own settings from it.
    Every callback does nothing by default.
    """

    def __init__(self, config: Mapping[str, Any] | None = None) -> None:
        #: The backtest config the strategy was made for.
        self.config: dict[str, Any] = dict(config or {})
        #: The time of the event being handled, ns.
        self.now_ns = 0
        #: Our position, lots (> 0 long), after the last fill we were told of.
        self.inventory = 0
        self._tops: dict[int, Top] = {}
        self._live: dict[int, bool] = {}
        self._commands: list[int] = []
        self._event = 0
        self._next_id: int | None = None
        #: Whether the driver answers this strategy's cancels and amends (:meth:`on_answer`):
        #: the backtester and the live runner do; until the first batch, and where it does
        #: not, ``False``.
        self.answers_commands = False
        #: Cancels and amends the driver still takes in this batch before answers come back
        #: (``None``: no limit, the backtester's case); past it they raise.
        self.answer_room: int | None = None

    # ---- callbacks ------------------------------------------------------------------------

    def on_book(self, venue: int, top: Top) -> None:
        """``venue``'s top changed (as we see it, after the feed latency)."""

    def on_trade(self, trade: Trade) -> None:
        """A public trade printed."""

    def on_fill(self, fill: Fill) -> None:
        """One of our orders filled (:attr:`inventory` already counts it)."""

    def on_order_gone(self, venue: int, order_id: int) -> None:
        """One of our orders left without our cancel (refused post-only, unfilled IOC)."""

    def on_answer(self, venue: int, order_id: int, open_qty: int) -> None:
        """The venue's answer to a cancel or an amend of ours for ``order_id`` reached us: the
        order had ``open_qty`` lots open once the command took effect (0: it is gone) and fills
        at most those from now on; the fills it had before were reported first (``on_fill``).
        Until this answer, a canceled order may still fill, and an amended one may fill up to
        the larger of its old and new quantity. Only when :attr:`answers_commands`."""

    def on_timer(self) -> None:
        """The periodic timer (``timer_ms``) fired."""

    def fair_value(self, now_ns: int) -> float | None:
        """Our fair value at ``now_ns``, ticks, if the strategy has one: the reference of the
        ``markouts_fair`` metrics (read at every metrics sample). ``None`` by default."""
        return None

    def on_batch(self, events: npt.NDArray[np.void]) -> None:
        """A whole batch (a structured array of :data:`EVENT_DTYPE`, valid during the call
        only), for a strategy that works on it at once. Override it to replace the per-event
        callbacks; the default calls them, event by event."""
        self._dispatch(events.tolist())

    # ---- what the strategy reads ----------------------------------------------------------

    def top(self, venue: int) -> Top:
        """``venue``'s latest top as we have seen it (all zero before its first)."""
        return self._tops.get(venue, _EMPTY)

    def book_live(self, venue: int) -> bool:
        """Whether ``venue``'s book was live (in sync) at its latest top."""
        return self._live.get(venue, False)

    # ---- what the strategy sends ----------------------------------------------------------

    def place(self, venue: int, side: int, price: int, qty: int) -> int:
        """Sends a post-only limit order; returns its id (the backtester's own)."""
        return self._new_order(_PLACE, venue, side, price, qty)

    def take(self, venue: int, side: int, price: int, qty: int) -> int:
        """Sends an immediate-or-cancel order, taking up to ``price``; returns its id."""
        return self._new_order(_TAKE, venue, side, price, qty)

    def amend(self, venue: int, order_id: int, qty: int) -> None:
        """Lowers a working order's quantity to ``qty`` lots, keeping its queue priority.
        Raises ``InvalidOrderError`` (reason ``TOO_MANY_UNANSWERED``, nothing sent) when
        :attr:`answer_room` is spent."""
        row = (_AMEND, self._event, index(venue), 0, 0, index(qty), index(order_id))
        self._spend_answer()
        self._commands += row

    def cancel(self, venue: int, order_id: int) -> None:
        """Cancels a working order (nothing happens if it is gone when the cancel arrives).
        Raises ``InvalidOrderError`` (reason ``TOO_MANY_UNANSWERED``, nothing sent) when
        :attr:`answer_room` is spent."""
        row = (_CANCEL, self._event, index(venue), 0, 0, 0, index(order_id))
        self._spend_answer()
        self._commands += row

    def _spend_answer(self) -> None:
        room = self.answer_room
        if room is None:
            return
        if room <= 0:
            raise InvalidOrderError(
                "too many cancels and amends awaiting answers: nothing sent (wait for "
                "on_answer, or raise the live runner's unanswered limit)",
                reason="TOO_MANY_UNANSWERED",
            )
        self.answer_room = room - 1

    def _new_order(self, kind: int, venue: int, side: int, price: int, qty: int) -> int:
        order_id = self._next_id
        if order_id is None:
            raise RuntimeError("orders can only be sent from a callback of a running backtest")
        self._next_id = order_id + 1
        self._commands += (
            kind,
            self._event,
            index(venue),
            index(side),
            index(price),
            index(qty),
            order_id,
        )
        return order_id

    # ---- the driver's entry point ---------------------------------------------------------

    def _on_batch(
        self,
        rows: npt.NDArray[np.int64],
        next_order_id: int | None,
        answered: bool = False,
        answer_room: int | None = None,
    ) -> npt.NDArray[np.int64] | None:
        """Called by the driver once per batch: ``rows`` is ``(events, fields)`` int64,
        ``answered`` whether the driver answers cancels and amends, ``answer_room`` how many
        more it takes before answers come back (None: no limit); returns the commands as a
        flat int64 array of ``_core.MM_COMMAND_FIELDS`` rows (None: no command)."""
        self._next_id = next_order_id
        self.answers_commands = answered
        self.answer_room = answer_room
        commands: list[int] = []
        self._commands = commands
        if type(self).on_batch is Strategy.on_batch:
            self._dispatch(rows.tolist())
        else:
            self._catch_up(rows)
            self._event = len(rows) - 1
            self.on_batch(rows.view(EVENT_DTYPE).reshape(-1))
        self._next_id = None
        return np.array(commands, dtype=np.int64) if commands else None

    def _dispatch(self, rows: list[Any]) -> None:
        tops, live = self._tops, self._live
        for i, row in enumerate(rows):
            (
                kind,
                venue,
                ts,
                origin,
                oid,
                side,
                price,
                qty,
                rem,
                liq,
                fee,
                pos,
                bp,
                bq,
                ap,
                aq,
                up,
            ) = row
            self._event = i
            self.now_ns = ts
            if kind == _BOOK:
                top = tops[venue] = _make(Top, (bp, bq, ap, aq, origin))
                live[venue] = up == 1
                self.on_book(venue, top)
            elif kind == _TRADE:
                self.on_trade(_make(Trade, (venue, price, qty, side, origin)))
            elif kind == _FILL:
                self.inventory = pos
                self.on_fill(_make(Fill, (venue, oid, side, price, qty, rem, liq, fee, origin)))
            elif kind == _GONE:
                self.on_order_gone(venue, oid)
            elif kind == _ANSWER:
                self.on_answer(venue, oid, rem)
            else:
                self.on_timer()

    def _catch_up(self, rows: npt.NDArray[np.int64]) -> None:
        """Brings the state to the end of ``rows`` (for an :meth:`on_batch` override)."""
        if len(rows) == 0:
            return
        last_book: dict[int, int] = {}
        last_fill = -1
        for i, (kind, venue) in enumerate(rows[:, :2].tolist()):
            if kind == _BOOK:
                last_book[venue] = i
            elif kind == _FILL:
                last_fill = i
        for venue, i in last_book.items():
            r = rows[i].tolist()
            self._tops[venue] = _make(Top, (r[12], r[13], r[14], r[15], r[3]))
            self._live[venue] = r[16] == 1
        if last_fill >= 0:
            self.inventory = int(rows[last_fill, 11])
        self.now_ns = int(rows[-1, 2])
