"""``wintermute bench mm-live``: what a Python strategy costs per event **live**, against the
built-in model on the same stepped market, in the same run.

::

    wintermute bench mm-live [--steps N] [--gap-ms MS] [--idle-us US] [--json]

Each row runs the live market maker on a fresh pipeline (risk on) off reference books set by
hand (``mm_live.SteppedBooks``): ``--steps`` book states, ``--gap-ms`` apart, each moving the
fair value by 10 ticks, so every step requotes (cancel and place on our venue's book). The
config is the fixed-spread one of ``tests/test_mm_live_strategy.py`` (two levels a side).

==========================  ===============================================================
``builtin``                 the built-in fixed-spread model, on the runner's thread
``python FixedSpread``      ``wintermute.mm_fixed_spread.FixedSpread`` (the same quotes) on
                            the strategy thread, events in batches
==========================  ===============================================================

Per row: the **decision latency** the runner measures (from the loop turn that read a top to
the orders handed to our venue's gateway: within the turn for the built-in; through the queue,
the batch call into Python and back for the strategy; each of the strategy's commands counts
once), p50 and p99 over the row's latest 4096; ``--idle-us`` is how long the runner's and the
strategy's threads sleep when they find nothing to do (the live default, 200 µs, bounds the
wait of each hop);
and for the strategy the time spent in its calls per event handed over (the GIL taken once per
batch). The last line is the ratio of the two p50s.
"""

from __future__ import annotations

import argparse
import json
import time
from decimal import Decimal
from typing import Any

from wintermute import mm_live
from wintermute.mm_fixed_spread import FixedSpread
from wintermute.mm_strategy import Strategy
from wintermute.service.venue import Venue

__all__ = ["CONFIG", "add_parser", "run", "to_table"]

_USD = {"quote_currency": "USD", "weight": 1.0, "stale_after_ms": 600_000}
#: The market-making config of every row.
CONFIG: dict[str, Any] = {
    "quote_on": "ours",
    "timer_ms": 1000,
    "fees": {"ours": {"maker_ppm": 0, "taker_ppm": 0}},
    "pricing": {
        "instrument": {"symbol": "BTC-USD", "quote_currency": "USD", "tick_size": "0.01",
                       "lot_size": "0.001"},
        "venues": [{"name": "coinbase", "symbol": "BTC-USD", **_USD},
                   {"name": "kraken", "symbol": "XBT/USD", **_USD}],
        "model": {"kind": "fixed_spread", "half_spread_ticks": 3.0, "skew_ticks_per_unit": 1.0},
        "volatility": {"fixed": {"sigma": 1.0}},
        "intensity": {"fixed": {"bid": {"a": 1.0, "k": 1.0}, "ask": {"a": 1.0, "k": 1.0}}},
        "quoting": {"levels": 2, "sizes_lots": [2, 3], "level_spacing_ticks": 2,
                    "min_spread_ticks": 2, "max_spread_ticks": 100, "max_inventory_lots": 50,
                    "inventory_unit_lots": 2, "requote_threshold_ticks": 1.0,
                    "requote_interval_ms": 600000},
    },
}  # fmt: skip


def _row(strategy: Strategy | None, steps: int, gap_s: float, idle_us: int) -> dict[str, Any]:
    venue = Venue(mm_live.engine_config(CONFIG), reserve=1)
    books = mm_live.SteppedBooks(2)
    gateway, subscription = venue.reserved(0)
    maker = mm_live.LiveMarketMaker(
        CONFIG, gateway=gateway, subscription=subscription, books=books, account=9,
        symbol="BTC-USD", tick_size="0.01", lot_size="0.001", strategy=strategy,
        idle_sleep_us=idle_us,
    )  # fmt: skip
    try:
        base = Decimal("60000.00")
        for k in range(steps):
            bid = base + Decimal("0.10") * (k % 2)
            for i in range(2):
                books.set_live(i, (str(bid), "1"), (str(bid + Decimal("0.04")), "1"))
            time.sleep(gap_s)
        time.sleep(1.2)  # the next snapshot (timer_ms 1000)
        s = maker.raw_state()
    finally:
        maker.stop()
        venue.close()
    d = s["decisions"]
    st = s.get("strategy")
    return {
        "row": "builtin" if strategy is None else f"python {type(strategy).__name__}",
        "decisions": d["count"],
        "p50_ns": d["p50_ns"],
        "p99_ns": d["p99_ns"],
        "requotes_or_commands": s["counters"]["commands"],
        "strategy_ns_per_event": st["busy_ns"] / st["events"] if st and st["events"] else None,
        "events": None if not st else st["events"],
        "batches": None if not st else st["batches"],
        "conflated": None if not st else st["conflated_books"] + st["conflated_timers"],
    }  # fmt: skip


def run(steps: int = 500, gap_ms: float = 5.0, idle_us: int = 200) -> dict[str, Any]:
    """Both rows on the same stepped market; returns the rows and the p50 ratio."""
    gap = gap_ms / 1000
    rows = [_row(None, steps, gap, idle_us), _row(FixedSpread(CONFIG), steps, gap, idle_us)]
    builtin, python = rows
    ratio = python["p50_ns"] / builtin["p50_ns"] if builtin["p50_ns"] else None
    return {"steps": steps, "gap_ms": gap_ms, "idle_us": idle_us, "rows": rows, "p50_ratio": ratio}


def to_table(doc: dict[str, Any]) -> str:
    """The rows as text."""
    lines = [
        f"wintermute bench mm-live: {doc['steps']} steps, {doc['gap_ms']} ms apart, "
        f"threads idle {doc['idle_us']} µs",
        f"{'row':24} {'decisions':>9} {'p50 µs':>9} {'p99 µs':>9} {'py ns/event':>11} "
        f"{'events':>7} {'batches':>7}",
    ]
    for r in doc["rows"]:
        per = r["strategy_ns_per_event"]
        lines.append(
            f"{r['row']:24} {r['decisions']:>9} {r['p50_ns'] / 1000:>9.1f} "
            f"{r['p99_ns'] / 1000:>9.1f} {'' if per is None else f'{per:,.0f}':>11} "
            f"{r['events'] or '':>7} {r['batches'] or '':>7}"
        )
    ratio = doc["p50_ratio"]
    lines.append(f"decision latency p50, python / builtin: {ratio:.1f}x" if ratio else "")
    return "\n".join(lines)


def _main(args: argparse.Namespace) -> int:
    doc = run(args.steps, args.gap_ms, args.idle_us)
    print(json.dumps(doc, indent=2) if args.json else to_table(doc))
    return 0


def add_parser(targets: Any) -> None:
    """Adds the ``mm-live`` sub-target to ``wintermute bench``'s sub-parsers."""
    p = targets.add_parser(
        "mm-live", help="a Python strategy live: decision latency against the built-in model"
    )
    p.add_argument("--steps", type=int, default=500, help="book states (each one requotes)")
    p.add_argument("--gap-ms", type=float, default=5.0, help="ms between book states")
    p.add_argument(
        "--idle-us", type=int, default=200, help="the threads' sleep when idle, µs (0: spin)"
    )
    p.add_argument("--json", action="store_true", help="print the JSON document")
    p.set_defaults(handler=_main)
