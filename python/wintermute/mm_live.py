"""The live market maker from Python: quotes on a running engine off the external venues'
books, on a Rust thread of its own (``wintermute_mm::live_runner``).

The books come from a ``wintermute.market.Market`` (the real connectors; by default the
seeded synthetic three-venue market on 127.0.0.1) straight into the market maker's thread: no
Python runs on the quoting path. It trades as its own account through a gateway and a
subscription of the pipeline that nobody else uses (a ``wintermute.service.venue.Venue``
reserves them with ``reserve=1``), so the pipeline's risk checks its orders like anyone's::

    from wintermute import mm
    from wintermute.market import Market
    from wintermute.service.venue import Venue

    config = mm.load_config("examples/mm_live.toml")
    with Venue(venue_config, reserve=1) as venue, Market(latent=True, ...) as market:
        gateway, subscription = venue.reserved(0)
        with mm.LiveMarketMaker(config, gateway=gateway, subscription=subscription,
                                market=market, account=9, symbol="BTC-USD",
                                tick_size="0.01", lot_size="0.001") as maker:
            print(maker.state()["quotes"])

``state()`` is JSON-ready (exact decimals as strings): the resting quotes with price, quantity
and the exact quantity ahead of each in our venue's FIFO queue, the inventory (our fills and
the hedge fills), the PnL and its parts (spread capture, inventory mark-to-market, fees, hedge
slippage; they add up to the total exactly), markouts, the interlock (whether quoting is
allowed, the active causes, pulls per cause), the latest hedge decisions, the hedges sent and
what came of them (``hedging``), the reference books and counters. ``kill()`` and
``release()`` are the operator's kill switch; our venue's kill switch (``Venue.kill()``, global
or the market maker's account) reaches it too when it runs on a service venue
(``start_on_venue``). Either one pulls every quote and holds hedging: no new hedge order until
it is released (the orders in flight complete and their fills count); ``hedging.hold`` says so.
``stop()`` pulls every quote and ends the thread.

Hedges are sent when the config has a ``[hedge]`` section: its ``routes`` name the pricing
venues hedges go to, each served on paper by that venue's local simulator (started on
127.0.0.1 with the market maker, its book following the feed's), through the venue's real
order client. ``paper_venues()`` lists them.

With ``live=True`` (``wintermute mm --config FILE --live``) the routes go to the venues
themselves over HTTPS instead (or each route's ``[hedge.live.<venue>] url``; Kraken's and
Coinbase's WebSockets at their ``ws_url``), with the keys of its ``keys_file`` or of the
environment (docs/order-routing.md, "Live routes"); every route's URL and keys are checked,
and each venue is asked whether its grid is the config's, before anything starts
(``check_config(config, live=True)``).
``kill_hedge_routes(config)`` is the kill switch across the routes' venues
(``wintermute route kill``).

**Quoting on external venues.** ``quote_on = "<venue>"`` or a list of venues (pricing venues,
none also a hedge route) sends the quotes there instead of our venue, through the same route
machinery as the hedges: on paper each venue's simulator (listed by ``paper_venues()``, its
book following the feed's, charging the venue's maker fee), with ``live=True`` the venues
themselves with the keys of ``[hedge.live.<venue>]``. Each venue gets a ladder of its own,
priced post-only against its own top; the fills of all of them go into the one inventory and
PnL, ``max_inventory_lots`` holds for all the ladders together, and a pull (the interlock, a
kill switch, ``stop()``) cancels on every one. ``state()["quote_venues"]`` counts what was
sent, filled and refused on each, with that venue's own ``markouts`` (its fills against its
mid; the top-level ``markouts`` are every venue's fills, each against its own venue's mid)
(empty when quoting on our venue alone; ``quote_on = ["ours", "kraken"]`` quotes on our venue
too, listed there as ``"ours"``) and each quote names its ``venue``. A Python strategy's
orders go there too: it places them on the quote venues' indices (see below).
With ``live=True`` each route's venue grid is asked again every ``grid_check_s`` (default
60 s): ``state()["grids"]`` counts the checks per route, and a route whose venue changed its
tick or lot is ``halted`` (no new orders, its resting ones canceled) with the ``cause``.

``paper(config)`` runs the whole thing on one machine, as ``wintermute mm --config FILE``
does: an engine, the external market, background order flow that trades with the quotes, and
the market maker.

**Where the books come from.** The config's ``[market]`` table
(``wintermute.market_settings``): by default the seeded synthetic market on 127.0.0.1; with
``[market.venues.<venue>]`` tables, the venues' own public feeds (or any server speaking their
protocols), so ``wintermute mm --config FILE --live`` quotes off the real venues' books and
hedges against them. ``market_settings(config)`` reads it and checks that every pricing
venue's symbol is subscribed (a ``[market]`` table with a ``kind`` is a backtest's market: a
live run takes the synthetic default instead).

**A Python strategy live.** ``LiveMarketMaker(..., strategy=MyStrategy(config))`` (or
``wintermute mm --config FILE --strategy module:Class``) quotes with a
``wintermute.mm_strategy.Strategy`` subclass instead of the built-in model: the same
callbacks, event records and commands as in the backtester, and the same view: the reference
venues' tops and public trades, our venue's top (our own orders in it) and its public trades,
our fills. With ``quote_on`` venues its orders go to those venues (the pricing venue's index,
as ``on_book`` numbers them) through the same routes, and its fills there come back as our
venue's do; an order for a venue it does not quote on is refused (``on_order_gone``). The Rust
thread still owns the
books, the interlock, risk, the inventory and the hedging; the strategy runs on a thread of its
own, receives its events in batches (the GIL taken once per batch) and only proposes orders:
new orders go out only while quoting is allowed, and a pull cancels its orders from the Rust
thread in the same turn, however slow the strategy is. The queues between them are bounded:
when the strategy falls behind, tops are conflated per venue and timers merged, counted in
``state()["strategy"]`` (docs/market-making.md). ``SteppedBooks`` sets the reference books by
hand instead of a ``Market`` (a stepped market, for tests).
"""

from __future__ import annotations

import contextlib
import json
import sys
import threading
import time
from collections.abc import Callable, Mapping
from decimal import Decimal
from pathlib import Path
from typing import Any, TextIO

from wintermute import _core
from wintermute._stoppable import Stoppable
from wintermute.errors import ConfigError
from wintermute.market import Market
from wintermute.market_settings import MarketSettings
from wintermute.mm_strategy import Strategy
from wintermute.pipeline import Gateway, Subscription

__all__ = [
    "EXAMPLE_CONFIG",
    "MM_ACCOUNT",
    "LiveMarketMaker",
    "SteppedBooks",
    "check_config",
    "engine_config",
    "hedging_summary",
    "kill_hedge_routes",
    "market_settings",
    "paper",
    "paper_config",
    "present",
    "start_on_venue",
]

#: The account the demo's and ``paper``'s market maker trades as.
MM_ACCOUNT = 9
#: The example config of a live run (``paper_config()`` is the same).
EXAMPLE_CONFIG = Path(__file__).resolve().parents[2] / "examples" / "mm_live.toml"
_VENUE_NAMES = ("binance", "coinbase", "kraken")


def paper_config() -> dict[str, Any]:
    """The built-in config of a paper run (``examples/mm_live.toml``): GLFT on BTC-USD of a
    one-cent, 0.001 grid, priced off Coinbase's BTC-USD and Kraken's XBT/USD (Binance's BTCUSDT
    is Tether: in with a measured basis), with the interlock, and hedges sent to Coinbase's
    local simulator."""
    usd = {"quote_currency": "USD", "weight": 1.0, "stale_after_ms": 2000}
    return {
        "quote_on": "ours", "hedge_on": "coinbase", "hedge_threshold_lots": 20,
        "hedge_slippage_ticks": 50, "timer_ms": 100, "hedge": {"routes": ["coinbase"]},
        "interlock": {"stale_after_ms": 3000, "cross_threshold_ticks": 2000},
        "fees": {"ours": {"maker_ppm": -20, "taker_ppm": 50},
                 "coinbase": {"maker_ppm": 400, "taker_ppm": 600},
                 "kraken": {"maker_ppm": 250, "taker_ppm": 400}},
        "pricing": {
            "instrument": {"symbol": "BTC-USD", "quote_currency": "USD",
                           "tick_size": "0.01", "lot_size": "0.001"},
            "venues": [
                {"name": "coinbase", "symbol": "BTC-USD", **usd},
                {"name": "kraken", "symbol": "XBT/USD", **usd},
                {"name": "binance", "symbol": "BTCUSDT", "quote_currency": "USDT",
                 "weight": 1.0, "stale_after_ms": 2000,
                 "basis": {"measured": {"reference": "coinbase", "half_life_s": 30.0}}},
            ],
            "model": {"kind": "glft", "gamma": 0.001},
            "volatility": {"ewma": {"sample_ms": 100, "half_life_s": 30.0, "initial_sigma": 20.0}},
            "intensity": {"fixed": {"bid": {"a": 5.0, "k": 0.2}, "ask": {"a": 5.0, "k": 0.2}}},
            "quoting": {"levels": 2, "sizes_lots": [10, 20], "level_spacing_ticks": 3,
                        "min_spread_ticks": 4, "max_spread_ticks": 2000,
                        "max_inventory_lots": 200, "inventory_unit_lots": 10,
                        "requote_threshold_ticks": 2.0, "requote_interval_ms": 1000},
        },
    }  # fmt: skip


#: Reference books set by hand, one per pricing venue, for a stepped market:
#: ``set_live(i, (bid_price, bid_qty), (ask_price, ask_qty))`` (decimal text) and ``resync(i)``.
SteppedBooks = _core.MmSteppedBooks


def _dec(d: Decimal) -> str:
    """Exact text without exponent or trailing zeros."""
    text = format(d, "f")
    return text.rstrip("0").rstrip(".") if "." in text else text


def present(raw: Mapping[str, Any], tick_size: Decimal, lot_size: Decimal) -> dict[str, Any]:
    """The runner's snapshot (ticks, lots, money in 10^-6 tick x lot) as exact decimals of the
    quote currency and the base asset, JSON-ready (see the module docs)."""

    def price(t: int | None) -> str | None:
        return None if t is None else _dec(Decimal(t) * tick_size)

    def qty(n: int | None) -> str | None:
        return None if n is None else _dec(Decimal(n) * lot_size)

    def money(m: int) -> str:
        return _dec(Decimal(m) * tick_size * lot_size / 1_000_000)

    def fractional(t: float, places: Decimal) -> str:
        return _dec((Decimal(repr(t)) * tick_size).quantize(places))

    fair = raw.get("fair_value")
    lock = raw["interlock"]
    refs = raw["references"]
    sent = raw["hedging"]

    def venue(i: int) -> str:
        return str(refs[i]["venue"]) if i < len(refs) else "?"

    state = "running" if raw["running"] else "stopped"
    if raw["running"] and raw["halted"]:
        state = "pulled"
    return {
        "state": state,
        "quoting": raw["running"] and not raw["halted"],
        "fair_value": None if fair is None else fractional(fair, tick_size / 100),
        "quotes": [
            {"venue": q["venue"], "side": q["side"], "level": q["level"], "order_id": q["order_id"],
             "price": price(q["price"]), "qty": qty(q["qty"]),
             "queue_ahead": qty(q["queue_ahead"])}
            for q in raw["quotes"]
        ],
        "inventory": qty(raw["inventory"]),
        "pnl": {k: money(v) for k, v in raw["pnl"].items()},
        "interlock": {
            "quoting": lock["quoting"], "causes": lock["causes"],
            "pulls": dict(lock["pulls"]), "returns": lock["returns"],
            "uptime": round(lock["uptime"], 4),
        },
        "hedges": [
            {"venue": venue(h["venue"]),
             "side": h["side"], "qty": qty(h["qty"]), "limit_price": price(h["limit_price"]),
             "touch_price": price(h["touch_price"]),
             "decision_fair": fractional(h["decision_fair"], tick_size)}
            for h in raw["hedges"]
        ],
        "hedging": {
            "routes": sent["routes"],
            **{k: sent[k] for k in ("orders_sent", "fills", "partial", "unfilled", "rejected",
                                    "send_errors", "hold", "kill_switch", "holds",
                                    "held_decisions", "due", "balance_reduced",
                                    "balance_skipped")},
            "balance_reduced_qty": qty(sent["balance_reduced_qty"]),
            # Each route's account balances (exact decimal text), where the route tracks them.
            "balances": sent["balances"],
            "fees": money(sent["fees"]),
            # What the hedges cost: slippage against the decisions' fair value, less their fees.
            "pnl": money(raw["pnl"]["hedge_slippage"] - sent["fees"]),
            **{k: qty(sent[k]) for k in ("filled_qty", "net_filled", "canceled_qty", "in_flight")},
            "orders": [
                {"client_id": o["client_id"], "venue": venue(o["venue"]), "side": o["side"],
                 "qty": qty(o["qty"]), "limit_price": price(o["limit_price"]),
                 "filled": qty(o["filled"]), "status": o["status"],
                 "avg_price": None if not o["filled"] else _dec(
                     (Decimal(o["notional"]) / (o["filled"] * 1_000_000) * tick_size)
                     .quantize(tick_size / 100)),
                 "notional": money(o["notional"]), "fees": money(o["fees"]),
                 "decision_fair": fractional(o["decision_fair"], tick_size)}
                for o in sent["orders"]
            ],
            "last_errors": sent["last_errors"],
        },
        "quote_venues": [
            {**{k: qv[k] for k in ("venue", "open", "orders_sent", "amends", "cancels", "fills",
                                   "canceled", "rejected", "would_cross", "last_reject")},
             "filled_qty": qty(qv["filled_qty"]), "fees": money(qv["fees"]),
             "markouts": qv.get("markouts", [])}
            for qv in raw["quote_venues"]
        ],
        "markouts": raw["markouts"],
        "references": [
            {"venue": r["venue"], "symbol": r["symbol"], "state": r["state"],
             "bid": price(r["bid"]), "ask": price(r["ask"])}
            for r in refs
        ],
        "counters": raw["counters"],
        "strategy": raw.get("strategy"),
        "error": raw["error"],
        "grids": [dict(g) for g in raw.get("grids", [])],
    }  # fmt: skip


class LiveMarketMaker(Stoppable):
    """A live market maker on a running pipeline (see the module docs).

    ``config``: the market-making config as ``mm.load_config`` reads it (the same file as a
    backtest's; ``pricing`` required). ``gateway`` and ``subscription``: the pipeline's, for the
    market maker alone (the subscription must take book deltas). ``market``: the external
    venues (or ``books``: a ``SteppedBooks`` set by hand). ``account``: the account it trades
    as; ``symbol``, ``tick_size`` and ``lot_size``: the instrument it quotes on our venue (the
    config's ``pricing.instrument`` must have the same grid). Its order ids start at
    ``first_order_id`` (keep other traders' ids below it; a strategy's start at 2^41).
    ``strategy``: a ``wintermute.mm_strategy.Strategy`` deciding the quotes instead of the
    built-in model, handed at most ``max_batch`` events per call, ``queue`` events waiting at
    most, its cancels and amends awaiting their answers ``unanswered`` at most (past it
    ``Strategy.cancel`` and ``Strategy.amend`` raise; see the module docs). A bad config raises
    ``ConfigError`` naming the key, before anything starts. ``live``: the hedge routes go to
    the venues themselves (see the module docs)."""

    def __init__(
        self,
        config: Mapping[str, Any],
        *,
        gateway: Gateway,
        subscription: Subscription,
        market: Market | None = None,
        account: int,
        symbol: str,
        tick_size: str | Decimal,
        lot_size: str | Decimal,
        first_order_id: int = 1 << 40,
        idle_sleep_us: int = 200,
        books: _core.MmSteppedBooks | None = None,
        strategy: Strategy | None = None,
        max_batch: int = 4096,
        queue: int = 8192,
        unanswered: int = 1024,
        live: bool = False,
    ) -> None:
        self.account = account
        self.symbol = symbol
        self.tick_size, self.lot_size = Decimal(str(tick_size)), Decimal(str(lot_size))
        if strategy is not None and not isinstance(strategy, Strategy):
            raise TypeError(f"strategy: expected a mm_strategy.Strategy, got {strategy!r}")
        if max_batch < 1 or queue < 1 or unanswered < 1:
            raise ConfigError(
                "max_batch, queue and unanswered must be >= 1", reason="CONFIG", key="strategy"
            )
        self.strategy = strategy
        name = "" if strategy is None else type(strategy).__qualname__
        self._core = _core.MmLive(
            json.dumps(config), gateway._core, subscription._core,
            None if market is None else market._core,
            account=account, instrument=symbol, tick_size=str(tick_size), lot_size=str(lot_size),
            first_client_id=first_order_id, idle_sleep_us=idle_sleep_us, books=books,
            strategy=strategy, strategy_name=name, max_batch=max_batch, queue=queue,
            unanswered=unanswered, live=live,
        )  # fmt: skip
        #: Called once after the thread ended (``start_on_venue`` hands the subscription back).
        self.on_stop: list[Callable[[], None]] = []

    def paper_venues(self) -> list[tuple[str, str]]:
        """The simulators the hedges go to: (venue, "127.0.0.1:port")."""
        return self._core.paper_venues()

    def raw_state(self) -> dict[str, Any]:
        """The runner's snapshot as is: ticks, lots and money in 10^-6 tick x lot."""
        out: dict[str, Any] = json.loads(self._core.snapshot_json())
        return out

    def state(self) -> dict[str, Any]:
        """The latest state, exact decimals as strings (see the module docs)."""
        out = present(self.raw_state(), self.tick_size, self.lot_size)
        out["message"] = f"market maker: {out['state']} ({self.symbol}, account {self.account})"
        return out

    def kill(self) -> None:
        """The operator's kill switch: every quote is pulled, quoting and hedging held (the
        hedges in flight complete)."""
        self._core.set_kill_switch(True)

    def release(self) -> None:
        """Releases the operator's kill switch: quotes return once the interlock allows, and
        hedging once no other kill switch is engaged."""
        self._core.set_kill_switch(False)

    def set_venue_kill_switch(self, engaged: bool) -> None:
        """Our venue's kill switch (global or this account's) as the venue reports it: the
        same hold as ``kill()``, as a source of its own (``hedging.kill_switch``)."""
        self._core.set_venue_kill_switch(engaged)

    def replace_market(self, market: Market) -> None:
        """Reads ``market``'s books from now on (a restarted synthetic market)."""
        self._core.replace_market(market._core)

    @property
    def running(self) -> bool:
        """Whether the market maker's thread runs."""
        return bool(self._core.running)

    def stop(self) -> None:
        """Pulls every quote, waits for the cancels and the hedges in flight (2 s at most),
        ends the thread and stops the hedge venues' simulators."""
        self._core.stop()
        hooks, self.on_stop = self.on_stop, []
        for hook in hooks:
            hook()


def _instrument(config: Mapping[str, Any]) -> dict[str, Any]:
    pricing = config.get("pricing")
    if not isinstance(pricing, dict) or not isinstance(pricing.get("instrument"), dict):
        raise ConfigError("a live run needs [pricing.instrument]", reason="CONFIG", key="pricing")
    inst: dict[str, Any] = pricing["instrument"]
    return inst


def engine_config(config: Mapping[str, Any]) -> dict[str, Any]:
    """The engine config of a paper run: the config's instrument, pre-trade risk on (every
    account, the market maker's included, under the same default limits; kill switches
    work), parked engine threads."""
    inst = _instrument(config)
    return {
        "instruments": [{
            "symbol": inst["symbol"], "tick_size": inst["tick_size"],
            "lot_size": inst["lot_size"], "min_qty": inst["lot_size"], "max_qty": "1000",
            "min_price": inst["tick_size"], "max_price": "10000000",
        }],
        "threads": {"risk": {"wait": {"kind": "park", "timeout_us": 200}},
                    "matching": {"wait": {"kind": "park", "timeout_us": 200}}},
        "risk": {"default_limits": {"max_order_qty": 1_000_000}},
    }  # fmt: skip


def check_config(config: Mapping[str, Any], *, live: bool = False) -> None:
    """Raises ``ConfigError`` naming the key if ``config`` cannot run live on its own
    instrument's grid (with ``live``: or a hedge route's URL or keys are not usable, or a
    route's venue trades the symbol on another grid, which each venue is asked); starts
    nothing and sends no order."""
    inst = _instrument(config)
    tick, lot = str(inst["tick_size"]), str(inst["lot_size"])
    _core.check_live_config(json.dumps(config), tick, lot, live=live)


def market_settings(
    config: Mapping[str, Any], *, base_dir: str | Path | None = None
) -> MarketSettings:
    """The external market of ``config``'s ``[market]`` table (see the module docs; relative
    ``ca_file`` paths from ``base_dir``). Raises ``ConfigError`` naming the key when the table
    is bad or a ``pricing.venues`` entry's symbol is not subscribed."""
    table = config.get("market")
    backtest = isinstance(table, Mapping) and "kind" in table
    settings = MarketSettings() if table is None or backtest else (
        MarketSettings.from_dict(table, base_dir=base_dir)
    )  # fmt: skip
    _check_pricing(config, settings)
    return settings


def _check_pricing(config: Mapping[str, Any], settings: MarketSettings) -> None:
    pricing = config.get("pricing")
    venues = pricing.get("venues") if isinstance(pricing, Mapping) else None
    for i, v in enumerate(venues if isinstance(venues, list) else []):
        if isinstance(v, Mapping) and isinstance(v.get("name"), str):
            settings.check_stream(v["name"], str(v.get("symbol")), f"pricing.venues[{i}]")


def _legs(config: Mapping[str, Any], settings: MarketSettings) -> dict[str, str]:
    """The venues merged into our instrument's consolidated book (the order flow's reference):
    ``[market.instruments]``'s, else the synthetic market's, else the pricing venues quoted in
    our instrument's quote currency."""
    inst = _instrument(config)
    if inst["symbol"] in settings.instruments or settings.source == "synthetic":
        return settings.legs(inst["symbol"])
    quote = inst.get("quote_currency")
    return {
        v["name"]: v["symbol"]
        for v in config["pricing"].get("venues", [])
        if quote is not None and v.get("quote_currency") == quote
    }


def kill_hedge_routes(config: Mapping[str, Any], *, live: bool = False) -> list[dict[str, Any]]:
    """The kill switch on every ``[hedge] routes`` venue and the ``quote_on`` venue (when it
    is not ours): each venue's open orders canceled.
    ``live``: the venues themselves (or the routes' ``url``); else each route must name its
    ``url`` (a simulator). Keys as for a live run. One dict per venue: ``venue``, ``symbol``,
    ``endpoint``, ``canceled`` (a count, or None) and ``error`` (None, or why it failed). A
    route that cannot be made raises ``ConfigError`` before anything is sent."""
    inst = _instrument(config)
    tick, lot = str(inst["tick_size"]), str(inst["lot_size"])
    rows = _core.route_kill(json.dumps(config), tick, lot, live=live)
    keys = ("venue", "symbol", "endpoint", "canceled", "error")
    return [dict(zip(keys, row, strict=True)) for row in rows]


def start_on_venue(
    config: Mapping[str, Any],
    venue: Any,
    market: Any,
    account: int = MM_ACCOUNT,
    strategy: Strategy | None = None,
    *,
    live: bool = False,
) -> LiveMarketMaker:
    """The market maker on a ``wintermute.service.venue.Venue`` made with ``reserve >= 1``
    (its first reserved gateway and subscription), reading ``market`` (a ``Market``, or an
    ``ExternalMarket``, whose restarts it follows), quoting with ``strategy`` if given;
    ``live``: hedges to the venues."""
    inst = _instrument(config)
    info = venue.instrument(inst["symbol"])
    gateway, subscription = venue.reserved(0)
    feeds = getattr(market, "market", market)
    maker = LiveMarketMaker(
        config, gateway=gateway, subscription=subscription, market=feeds, account=account,
        symbol=info.symbol, tick_size=info.tick_size, lot_size=info.lot_size, strategy=strategy,
        live=live,
    )  # fmt: skip
    if hasattr(market, "on_restart"):
        market.on_restart.append(maker.replace_market)

    def follow_kill_switch(_account: int | None = None, _engaged: bool = False) -> None:
        kills = venue.kill_switches
        maker.set_venue_kill_switch(None in kills or account in kills)

    follow_kill_switch()
    venue.on_kill_switch.append(follow_kill_switch)

    def unhook() -> None:
        with contextlib.suppress(ValueError):
            venue.on_kill_switch.remove(follow_kill_switch)
        venue.release_reserved(0)

    maker.on_stop.append(unhook)
    return maker


def _line(s: Mapping[str, Any]) -> str:
    quotes = " ".join(f"{q['side']} {q['qty']}@{q['price']}" for q in s["quotes"]) or "no quotes"
    pulls = {k: v for k, v in s["interlock"]["pulls"].items() if v}
    causes = ",".join(s["interlock"]["causes"]) or "none"
    sent = s["hedging"]
    on = "".join(
        f" on {qv['venue']} ({qv['open']} open, {qv['orders_sent']} sent, "
        f"{qv['rejected']} refused)"
        for qv in s["quote_venues"]
    )  # fmt: skip
    st = s.get("strategy")
    strategy = "" if not st else (
        f" | strategy {st['name']}: {st['events']} events in {st['batches']} batches, "
        f"{st['conflated_books'] + st['conflated_timers']} conflated, {st['dropped']} dropped, "
        f"{st['refused']} refused"
    )  # fmt: skip
    halted = [f"{g['venue']} {g['symbol']}" for g in s.get("grids", []) if g["halted"]]
    grids = f" | grid changed, halted: {', '.join(halted)}" if halted else ""
    return (
        f"{s['state']:8} fair {s['fair_value']} | {quotes}{on} | inventory {s['inventory']} | "
        f"pnl {s['pnl']['total']} (spread {s['pnl']['spread_capture']}, "
        f"mtm {s['pnl']['inventory_mtm']}, fees {s['pnl']['fees']}, "
        f"hedge slippage {s['pnl']['hedge_slippage']}) | fills {s['counters']['fills']} | "
        f"interlock {causes} pulls {pulls} | hedges {s['counters']['hedges']} decided, "
        f"{sent['orders_sent']} sent, {sent['filled_qty']} filled{strategy}{grids}"
    )


def hedging_summary(s: Mapping[str, Any]) -> str:
    """One line on the hedges sent (``state()["hedging"]``)."""
    h = s["hedging"]
    if not h["routes"]:
        return f"hedges: {s['counters']['hedges']} decided, none sent (no [hedge] routes)"
    return (
        f"hedges: {h['orders_sent']} sent to {', '.join(h['routes'])}, {h['fills']} fills, "
        f"{h['filled_qty']} filled (net {h['net_filled']}), {h['canceled_qty']} canceled "
        f"unfilled ({h['partial']} partial, {h['unfilled']} unfilled), {h['rejected']} "
        f"rejected, {h['send_errors']} not sent"
        + (
            f", {h['balance_reduced']} cut and {h['balance_skipped']} skipped for funds"
            if h["balance_reduced"] or h["balance_skipped"]
            else ""
        )
    )


def paper(
    config: Mapping[str, Any],
    *,
    duration: float | None = None,
    every: float = 1.0,
    seed: int | None = None,
    steps: int | None = None,
    rate: float = 30.0,
    out: TextIO = sys.stdout,
    stop: threading.Event | None = None,
    strategy: Strategy | None = None,
    live: bool = False,
    market: MarketSettings | None = None,
) -> dict[str, Any]:
    """Runs the market maker on paper (see the module docs), printing its state every
    ``every`` seconds until ``duration`` passes, ``stop`` is set or Ctrl-C; returns the last
    state. ``market``: the external market (default: the config's ``[market]``,
    ``market_settings(config)``); ``seed`` and ``steps`` (messages per venue, replayed at the
    recorded pace; then a fresh market), when given, replace the synthetic market's;
    ``strategy`` quotes instead of the built-in model. With the synthetic market nothing
    leaves 127.0.0.1, unless ``live``: the hedges then go to the venues (see the module docs).
    A bad config (with ``live``: a route without usable keys or URL) raises ``ConfigError``
    before anything starts."""
    from wintermute.service.external_market import ExternalMarket
    from wintermute.service.order_flow import OrderFlow
    from wintermute.service.venue import Venue

    check_config(config, live=live)
    symbol = _instrument(config)["symbol"]
    settings = market_settings(config) if market is None else market
    _check_pricing(config, settings)
    if settings.source != "synthetic" and (seed is not None or steps is not None):
        raise ConfigError(
            "seed and steps are the synthetic market's: [market] reads the venues",
            reason="CONFIG", key="market.source",
        )  # fmt: skip
    legs = _legs(config, settings)
    stop = stop or threading.Event()
    started = time.monotonic()
    with contextlib.ExitStack() as stack:
        venue = stack.enter_context(Venue(engine_config(config), reserve=1))
        external = ExternalMarket(settings, seed=seed, steps=steps, instrument=symbol, legs=legs)
        stack.callback(external.stop)
        maker = start_on_venue(config, venue, external, strategy=strategy, live=live)
        stack.callback(maker.stop)
        quote_on = config.get("quote_on") or []
        quote_on = [quote_on] if isinstance(quote_on, str) else list(quote_on)
        for name, addr in maker.paper_venues():
            what = "quotes" if name in quote_on else "hedges"
            print(f"{what} go to {name}'s simulator on {addr} (paper)", file=out, flush=True)
        flow = OrderFlow(
            venue, symbol, seed=settings.seed if seed is None else seed, rate=rate,
            reference=external.reference_mid,
        )  # fmt: skip
        stack.callback(flow.stop)
        try:
            while not stop.wait(every):
                print(_line(maker.state()), file=out, flush=True)
                if duration is not None and time.monotonic() - started >= duration:
                    break
        except KeyboardInterrupt:
            pass
        flow.stop()
        maker.stop()
        last = maker.state()
    print(_line(last), file=out, flush=True)
    return last
