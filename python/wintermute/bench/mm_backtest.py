"""``wintermute bench backtest``: what a strategy in Python costs per event, against Rust
strategies on the same backtest, in the same run.

::

    wintermute bench backtest [--config FILE] [--seconds S] [--order-ms MS] [--repeat N]
                              [--max-batch N] [--json]

One backtest config (by default ``examples/mm_python.toml``: the seeded synthetic market, our
venue with other participants, three reference venues, the fixed-spread model; ``--seconds``
sets its length, ``--order-ms`` its order latency, which bounds a batch's span) runs with each
strategy below; each row is the best of ``--repeat`` runs of
the event loop (tape building excluded):

==========================  ===============================================================
``rust builtin``            the built-in market maker, called per event (Rust)
``rust builtin_batched``    the same through the batch boundary (events buffered in Rust)
``rust idle``               a strategy that does nothing: the backtester's own cost
``rust idle_batched``       the same through the batch boundary
``python idle``             a Python strategy whose callbacks do nothing (events in batches)
``python idle unbatched``   the same, one call into Python per event (``max_batch=1``)
``python on_batch``         a Python ``on_batch`` override that does nothing (the handover only)
``python FixedSpread``      ``wintermute.mm_fixed_spread.FixedSpread``: the built-in's quoting
==========================  ===============================================================

Pairs that trade identically (every idle row; ``FixedSpread`` and ``rust builtin``, which the
run checks digest for digest) differ only by the path the events took, so ``ns/event`` is the
extra loop time over the pair's Rust row (``rust idle``, or ``rust builtin`` for the strategies
that quote), divided by the events handed to the strategy.
"""

from __future__ import annotations

import argparse
import copy
import json
import os
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from wintermute import _core, mm
from wintermute.mm_fixed_spread import FixedSpread
from wintermute.mm_strategy import Strategy

__all__ = ["DEFAULT_CONFIG", "add_parser", "run", "to_table"]

#: The default backtest (the fixed-spread example with a Python strategy).
DEFAULT_CONFIG = Path(__file__).resolve().parents[3] / "examples" / "mm_python.toml"


class _Idle(Strategy):
    """Callbacks that do nothing."""


class _IdleBatch(Strategy):
    """A whole-batch override that does nothing."""

    def on_batch(self, events: npt.NDArray[np.void]) -> None:
        pass


def _best(repeat: int, once: Callable[[], dict[str, Any]]) -> dict[str, Any]:
    runs = [once() for _ in range(repeat)]
    return min(runs, key=lambda s: float(s["loop_seconds"]))


def run(config: dict[str, Any], *, repeat: int = 3, max_batch: int = 4096) -> dict[str, Any]:
    """Runs every row (best of ``repeat``) and returns the ``--json`` document."""
    config = copy.deepcopy(config)
    config.pop("strategy", None)
    text = json.dumps(config)

    def rust(name: str) -> dict[str, Any]:
        return _best(repeat, lambda: json.loads(_core.mm_backtest_bench(text, name, max_batch)))

    def python(make: Callable[[], Strategy], batch: int) -> dict[str, Any]:
        return _best(
            repeat, lambda: mm.run_backtest(config, strategy=make(), max_batch=batch).summary
        )

    rows = [
        ("rust builtin", rust("builtin"), None),
        ("rust builtin_batched", rust("builtin_batched"), "rust builtin"),
        ("rust idle", rust("idle"), None),
        ("rust idle_batched", rust("idle_batched"), "rust idle"),
        ("python idle", python(lambda: _Idle(config), max_batch), "rust idle"),
        ("python idle unbatched", python(lambda: _Idle(config), 1), "rust idle"),
        ("python on_batch", python(lambda: _IdleBatch(config), max_batch), "rust idle"),
        ("python FixedSpread", python(lambda: FixedSpread(config), max_batch), "rust builtin"),
    ]
    by_name = {name: summary for name, summary, _ in rows}
    results = []
    for name, s, baseline in rows:
        if baseline is not None and s["digest"] != by_name[baseline]["digest"]:
            raise RuntimeError(f"{name} traded differently from {baseline}: the comparison is void")
        batching = s.get("batching") or {}
        events = int(batching.get("events", 0))
        extra = None
        if baseline is not None and events:
            base_s = float(by_name[baseline]["loop_seconds"])
            extra = (float(s["loop_seconds"]) - base_s) / events * 1e9
        results.append(
            {
                "system": name,
                "loop_seconds": s["loop_seconds"],
                "md_events": s["md_events"],
                "md_events_per_s": s["md_events_per_s"],
                "strategy_events": events,
                "batches": int(batching.get("batches", 0)),
                "orders": s["orders"],
                "fills": s["fills"],
                "baseline": baseline,
                "ns_per_event": extra,
                "digest": s["digest"],
            }
        )
    notes = [
        "ns/event: (loop seconds - the baseline row's) / events handed to the strategy; the "
        "pairs trade identically (checked by digest)",
        f"best of {repeat} runs per row; machine: {os.cpu_count()} cores",
    ]
    workload = {
        "name": "mm_backtest",
        "seed": config.get("seed"),
        "sim_seconds": config["market"].get("duration_s"),
        "order_ms": config.get("latency", {}).get("order_ms"),
        "max_batch": max_batch,
    }
    return {"workload": workload, "results": results, "notes": notes}


def to_table(doc: dict[str, Any]) -> str:
    """A fixed-width table of a ``run`` document."""
    header = (
        f"{'system':<24}{'loop s':>9}{'md ev/s':>12}{'strat ev':>10}{'batches':>9}"
        f"{'ev/batch':>9}{'orders':>9}{'fills':>7}{'ns/event':>10}  vs"
    )
    lines = [header, "-" * len(header)]
    for r in doc["results"]:
        per = "" if r["ns_per_event"] is None else f"{r['ns_per_event']:.0f}"
        mean = f"{r['strategy_events'] / r['batches']:.1f}" if r["batches"] else ""
        lines.append(
            f"{r['system']:<24}{r['loop_seconds']:>9.3f}{r['md_events_per_s'] / 1e6:>11.2f}M"
            f"{r['strategy_events']:>10,}{r['batches']:>9,}{mean:>9}{r['orders']:>9,}"
            f"{r['fills']:>7,}{per:>10}  {r['baseline'] or ''}"
        )
    lines += ["", "notes:"] + [f"- {n}" for n in doc["notes"]]
    return "\n".join(lines)


def _main(args: argparse.Namespace) -> int:
    from wintermute import errors

    try:
        config = mm.load_config(args.config)
        if args.seconds is not None:
            config["market"]["duration_s"] = args.seconds
        if args.order_ms is not None:
            config.setdefault("latency", {})["order_ms"] = args.order_ms
        started = time.monotonic()
        doc = run(config, repeat=args.repeat, max_batch=args.max_batch)
    except (errors.WintermuteError, FileNotFoundError, RuntimeError) as e:
        print(f"wintermute bench backtest: {e}", file=sys.stderr)
        return 2
    doc["notes"].append(f"wall time of the benchmark: {time.monotonic() - started:.1f} s")
    print(json.dumps(doc, indent=2) if args.json else to_table(doc))
    return 0


def add_parser(targets: Any) -> None:
    """Adds the ``backtest`` sub-target to ``wintermute bench``'s sub-parsers."""
    p = targets.add_parser(
        "backtest", help="a Python strategy's cost per event against Rust, same backtest"
    )
    p.add_argument("--config", default=str(DEFAULT_CONFIG), help="backtest config (.toml/.json)")
    p.add_argument("--seconds", type=float, help="simulated seconds (default: the config's)")
    p.add_argument("--order-ms", type=float, help="order latency, ms (default: the config's)")
    p.add_argument("--repeat", type=int, default=3, help="runs per row (the best is kept)")
    p.add_argument("--max-batch", type=int, default=4096, help="most events per Python call")
    p.add_argument("--json", action="store_true", help="print the JSON document")
    p.set_defaults(handler=_main)
