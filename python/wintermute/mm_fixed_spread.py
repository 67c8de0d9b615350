"""The built-in fixed-spread market maker, written again as a Python strategy.

:class:`FixedSpread` reads the backtest config's ``pricing`` table (a ``fixed_spread`` model)
and quotes exactly as the Rust market maker with that table does (``PricedMarketMaker``: the
weighted microprice fair value across the reference venues with their staleness cut-offs, the
fixed half-spread skewed by inventory, the no-flicker quoter with its spread bounds, rounding
away from the touch, levels, inventory limit with its orders in flight and amend-in-place), with
the same floating-point operations in the same order. Run on the same backtest, it must produce
the same orders, fills and PnL to the last money unit: it is the test that the Python callback
path (:mod:`wintermute.mm_strategy`) delivers the events and sends the commands exactly as the
Rust strategy interface does, and a worked example of a strategy with several levels.

It leaves out what the built-in does besides quoting: hedging (``hedge_on``), the book-health
interlock (``interlock``) and measured bases; a config asking for them is a ``ConfigError``.
The formulas are documented once, in docs/market-making-pricing.md.

::

    wintermute mm backtest --config examples/mm_python.toml --out runs/py \\
        --strategy wintermute.mm_fixed_spread:FixedSpread
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from wintermute.errors import ConfigError
from wintermute.mm_strategy import BUY, OURS, SELL, Fill, Strategy, Top

__all__ = ["FixedSpread"]


class _InFlight:
    """The ladder's cancels and amends not yet answered, as ``wintermute_mm::in_flight`` keeps
    them: order id -> ``[side index, worst, counted, pending]`` (lots the order may still fill,
    of those the ones the ladder's slots count, commands not yet answered)."""

    def __init__(self) -> None:
        self.entries: dict[int, list[int]] = {}

    def _entry(self, order_id: int, s: int, open_qty: int) -> list[int]:
        entry = self.entries.get(order_id)
        if entry is None:
            lots = max(open_qty, 0)
            entry = self.entries[order_id] = [s, lots, lots, 0]
        return entry

    def on_cancel(self, order_id: int, s: int, open_qty: int) -> None:
        entry = self._entry(order_id, s, open_qty)
        entry[2] = 0
        entry[3] += 1

    def on_amend(self, order_id: int, s: int, old: int, new: int) -> None:
        entry = self._entry(order_id, s, old)
        entry[1] = max(entry[1], new)
        entry[2] = max(new, 0)
        entry[3] += 1

    def on_fill(self, order_id: int, qty: int) -> bool:
        entry = self.entries.get(order_id)
        if entry is None:
            return False
        entry[1] -= qty
        entry[2] = max(entry[2] - qty, 0)
        if entry[1] <= 0:
            del self.entries[order_id]
            return True
        return False

    def on_answer(self, order_id: int) -> bool:
        entry = self.entries.get(order_id)
        if entry is None:
            return False
        entry[3] = max(entry[3] - 1, 0)
        if entry[3] > 0:
            return False
        del self.entries[order_id]
        return entry[1] > entry[2]

    def on_gone(self, order_id: int) -> bool:
        return self.entries.pop(order_id, None) is not None

    def lots(self, s: int) -> int:
        return sum(e[1] - e[2] for e in self.entries.values() if e[0] == s)


def _microprice(top: Top) -> float | None:
    b, bq, a, aq = top.bid_price, top.bid_qty, top.ask_price, top.ask_qty
    if bq <= 0 or aq <= 0 or b >= a:
        return None
    return float(b) + float(a - b) * float(bq) / (float(bq) + float(aq))


class FixedSpread(Strategy):
    """The built-in fixed-spread market maker (see the module docs)."""

    def __init__(self, config: Mapping[str, Any]) -> None:
        super().__init__(config)
        pricing = self.config.get("pricing")
        if not isinstance(pricing, dict):
            raise ConfigError("FixedSpread: the config has no pricing table", key="pricing")
        for key in ("hedge_on", "interlock"):
            if self.config.get(key):
                raise ConfigError(f"FixedSpread: {key} is not supported", key=key)
        model = pricing["model"]
        if model.get("kind") != "fixed_spread":
            raise ConfigError("FixedSpread: pricing.model.kind must be fixed_spread", key="pricing")
        self.half_spread = float(model["half_spread_ticks"])
        self.skew = float(model["skew_ticks_per_unit"])
        # The reference venues: (weight, staleness cut-off in ns, basis in ticks), by index.
        self.venues: list[tuple[float, int, float]] = []
        for i, v in enumerate(pricing["venues"]):
            basis = v.get("basis")
            if basis is not None and "ticks" not in basis:
                raise ConfigError("FixedSpread: only fixed bases", key=f"pricing.venues[{i}].basis")
            ticks = float(basis["ticks"]) if basis else 0.0
            self.venues.append((float(v["weight"]), int(v["stale_after_ms"]) * 1_000_000, ticks))
        q = pricing["quoting"]
        self.levels = int(q["levels"])
        self.sizes = [int(s) for s in q["sizes_lots"]]
        self.spacing = int(q["level_spacing_ticks"])
        self.min_spread = float(q["min_spread_ticks"])
        self.max_spread = float(q["max_spread_ticks"])
        self.max_inventory = int(q["max_inventory_lots"])
        self.unit_lots = float(q["inventory_unit_lots"])
        self.threshold = float(q["requote_threshold_ticks"])
        self.interval_ns = int(q["requote_interval_ms"]) * 1_000_000
        names = [v["name"] for v in pricing["venues"]]
        market = self.config.get("market", {})
        default = "ours" if market.get("kind") == "synthetic" else names[0]
        quote_on = self.config.get("quote_on") or default
        if isinstance(quote_on, list):
            if len(quote_on) != 1:
                raise ConfigError("FixedSpread quotes on one venue: a list of one", key="quote_on")
            quote_on = quote_on[0]
        self.quote_venue = OURS if quote_on == "ours" else names.index(quote_on)
        # What rests in each slot [side][level] (price, qty) as the quoter believes, and the id.
        self.resting: list[list[tuple[int, int] | None]] = [[None] * self.levels for _ in range(2)]
        self.ids: list[list[int | None]] = [[None] * self.levels for _ in range(2)]
        # Orders canceled or amended and not yet answered; each side's room at the last
        # requote; what rested in each slot before the last decision; a side quoted short
        # while lots were in flight.
        self.in_flight = _InFlight()
        self.room = [0, 0]
        self.was = [[0] * self.levels for _ in range(2)]
        self.starved = [False, False]
        self.last_fair: float | None = None
        self.last_requote_ns = 0
        self.slot_event: str | None = None
        self.refs: dict[int, Top] = {}
        self.pulls = 0
        self.requotes = 0

    # ---- callbacks ------------------------------------------------------------------------

    def on_book(self, venue: int, top: Top) -> None:
        if 0 <= venue < len(self.venues):
            self.refs[venue] = top
        self._decide()

    def on_fill(self, fill: Fill) -> None:
        slot = self._slot_of(fill.order_id)
        if slot is not None:
            s, level = slot
            rest = self.resting[s][level]
            if rest is not None:
                left = rest[1] - fill.qty
                self.resting[s][level] = (rest[0], left) if left > 0 else None
            # An amend down not yet arrived: the order still rests what the venue says.
            if self.resting[s][level] is None and fill.remaining > 0:
                self.resting[s][level] = (fill.price, fill.remaining)
            self.slot_event = "fill"
            if fill.remaining == 0:
                self.ids[s][level] = None
        if self.in_flight.on_fill(fill.order_id, fill.qty):
            self._room_freed()
        self._decide()

    def on_order_gone(self, venue: int, order_id: int) -> None:
        slot = self._slot_of(order_id)
        if slot is not None:
            s, level = slot
            self.resting[s][level] = None
            self.slot_event = self.slot_event or "gone"
            self.ids[s][level] = None
            self._room_freed()
        elif self.in_flight.on_gone(order_id):
            self._room_freed()
        self._decide()

    def on_answer(self, venue: int, order_id: int, open_qty: int) -> None:
        freed = self.in_flight.on_answer(order_id)
        if open_qty == 0:
            # Gone: nothing of it fills any more, whatever else is still on its way.
            freed = self.in_flight.on_gone(order_id) or freed
        slot = self._slot_of(order_id)
        if slot is not None:
            s, level = slot
            if open_qty > 0:
                # The slot rests what the venue says, once nothing else is on its way.
                rest = self.resting[s][level]
                if rest is not None and order_id not in self.in_flight.entries:
                    self.resting[s][level] = (rest[0], open_qty)
            else:
                self.resting[s][level] = None
                self.slot_event = self.slot_event or "gone"
                self.ids[s][level] = None
                freed = True
        if freed:
            self._room_freed()
            self._decide()

    def on_timer(self) -> None:
        self._decide()

    def fair_value(self, now_ns: int) -> float | None:
        total, weights, used = 0.0, 0.0, 0
        for i, (weight, stale_ns, basis) in enumerate(self.venues):
            top = self.refs.get(i)
            if top is None or now_ns - top.ts_ns > stale_ns:
                continue
            mp = _microprice(top)
            if mp is None:
                continue
            total += weight * (mp - basis)
            weights += weight
            used += 1
        return total / weights if used else None

    # ---- the quoter -----------------------------------------------------------------------

    def _room_freed(self) -> None:
        """Lots in flight were freed: a side quoted short because of them requotes."""
        if self.last_fair is not None and (self.starved[0] or self.starved[1]):
            self.slot_event = self.slot_event or "room_freed"

    def _slot_of(self, order_id: int) -> tuple[int, int] | None:
        for s in (0, 1):
            if order_id in self.ids[s]:
                return s, self.ids[s].index(order_id)
        return None

    def _decide(self) -> None:
        fv = self.fair_value(self.now_ns)
        if fv is None or not math.isfinite(fv):
            self._cancel_all()
            self.pulls += 1
            return
        if not self._requote_due(fv):
            return
        target = self._target(fv)
        if target is None:
            self._cancel_all()
            self.pulls += 1
            return
        self._move_to(target)
        self.last_fair = fv
        self.last_requote_ns = self.now_ns
        self.slot_event = None
        self.requotes += 1

    def _requote_due(self, fv: float) -> bool:
        """Nothing quoted yet, a fill or vanished order since the last requote, the fair value
        moved past the threshold, or the requote interval passed."""
        return (
            self.last_fair is None
            or self.slot_event is not None
            or abs(fv - self.last_fair) > self.threshold
            or self.now_ns - self.last_requote_ns >= self.interval_ns
        )

    def _target(self, fv: float) -> list[list[tuple[int, int] | None]] | None:
        inventory = self.inventory
        center = fv - self.skew * (inventory / self.unit_lots)
        raw_bid, raw_ask = center - self.half_spread, center + self.half_spread
        if not (math.isfinite(raw_bid) and math.isfinite(raw_ask)):
            return None
        center = (raw_bid + raw_ask) / 2.0
        half = min(max(raw_ask - raw_bid, self.min_spread), self.max_spread) / 2.0
        bid = min(math.floor(center - half), math.ceil(fv) - 1)
        ask = max(math.ceil(center + half), math.floor(fv) + 1)
        ours = self.top(self.quote_venue)
        if ours.bid_qty > 0 or ours.ask_qty > 0:
            if ours.ask_qty > 0:
                bid = min(bid, ours.ask_price - 1)
            if ours.bid_qty > 0:
                ask = max(ask, ours.bid_price + 1)
        target: list[list[tuple[int, int] | None]] = [[], []]
        rooms = (self.max_inventory - inventory, self.max_inventory + inventory)
        full = sum(self.sizes[: self.levels])
        for s, room in enumerate(rooms):
            flying = max(self.in_flight.lots(s), 0)
            self.room[s] = room - flying
            # Cut short while lots are in flight: quote the rest once they are gone.
            self.starved[s] = flying > 0 and self.room[s] < full
        for s, room in enumerate(self.room):
            for level in range(self.levels):
                offset = level * self.spacing
                price = bid - offset if s == 0 else ask + offset
                qty = min(self.sizes[level], room)
                target[s].append((price, qty) if qty > 0 and price > 0 else None)
                room -= max(qty, 0)
        return target

    def _remember_was(self) -> None:
        self.was = [[0 if r is None else r[1] for r in self.resting[s]] for s in (0, 1)]

    def _move_to(self, target: list[list[tuple[int, int] | None]]) -> None:
        """Moves the slots onto ``target``, cancels first; the places and amends up add at
        most the room less what rested before (the old orders may fill until answered)."""
        venue = self.quote_venue
        self._remember_was()
        budget = [max(self.room[s] - sum(self.was[s]), 0) for s in (0, 1)]
        for s in (0, 1):
            for level in range(self.levels):
                rest, want = self.resting[s][level], target[s][level]
                if rest is not None and (want is None or want[0] != rest[0]):
                    self._cancel_slot(s, level)
        for s, side in ((0, BUY), (1, SELL)):
            for level in range(self.levels):
                rest, want = self.resting[s][level], target[s][level]
                had = 0 if rest is None else rest[1]
                qty = 0
                if want is not None:
                    qty = min(want[1], max(had, 0) + budget[s])
                    budget[s] -= max(qty - had, 0)
                    self.starved[s] = self.starved[s] or qty < want[1]
                if rest is None and want is not None and qty > 0:
                    self.ids[s][level] = self.place(venue, side, want[0], qty)
                elif rest is not None and want is not None and rest[1] != qty:
                    order_id = self.ids[s][level]
                    if order_id is not None:
                        self.amend(venue, order_id, qty)
                        if self.answers_commands:
                            self.in_flight.on_amend(order_id, s, self.was[s][level], qty)
                self.resting[s][level] = (want[0], qty) if want is not None and qty > 0 else None

    def _cancel_slot(self, s: int, level: int) -> None:
        self.resting[s][level] = None
        order_id = self.ids[s][level]
        self.ids[s][level] = None
        if order_id is not None:
            self.cancel(self.quote_venue, order_id)
            if self.answers_commands:
                self.in_flight.on_cancel(order_id, s, self.was[s][level])

    def _cancel_all(self) -> None:
        self._remember_was()
        self.starved = [False, False]
        for s in (0, 1):
            for level in range(self.levels):
                if self.resting[s][level] is not None:
                    self._cancel_slot(s, level)
        self.last_fair = None
        self.slot_event = None
