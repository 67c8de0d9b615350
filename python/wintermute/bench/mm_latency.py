"""``wintermute bench mm``: the market maker's tick-to-order latency on our own venue, open loop.

::

    wintermute bench mm [--rates 10k,100k] [--seconds S] [--fill-every N]
                        [--jitter-seconds S] [--park] [--seed N] [--json]

Each rate is one run of ``wintermute_bench::mm_latency`` (Rust, GIL released): a seeded stream
of external L2 messages (two venues, each message moving one venue's top by 4 ticks) is offered
at the rate; the market maker updates the venue's book, the fair value, decides its quotes and
sends the cancels and places through its gateway and the pipeline's risk to our matching engine.
Message ``i`` is *due* at ``start + i / rate`` and every latency counts from then
(coordinated-omission correction):

- ``tick_to_accept``: due time -> the ``Accepted`` of a new quote it caused, read back;
- ``tick_to_submit``: due time -> the decision's commands in the gateway ring;
- ``fill_to_hedge``: a fill's match time in the engine -> the hedge decided (another account
  sends a 2-lot market order every ``--fill-every`` messages).

Each run also gives ``commands`` (about four per message: every message requotes) and
``cut_short`` (requotes quoted short because orders in flight might still fill: the inventory
limit is set beyond reach, so anything but 0 means the bench did not measure the quoting path).

Right after each run one thread spins for ``--jitter-seconds`` reading the clock and counts the
gaps (``host``): on a shared machine the tails are the host's. ``--park`` lets the engine thread
park when idle (the machine's default below 4 cores) instead of busy-spinning.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from wintermute import _core
from wintermute.bench.pipeline import parse_rate, rate_label
from wintermute.cli_args import positive_float

__all__ = ["add_parser", "run", "to_table"]


def run(
    rates: Sequence[int],
    *,
    seconds: float = 2.0,
    fill_every: int = 20,
    jitter_seconds: float = 1.0,
    park: bool = False,
    seed: int = 42,
) -> dict[str, Any]:
    """Runs each rate once and returns the ``--json`` document."""
    results = [
        _core.mm_latency_bench(
            rate,
            seconds=seconds,
            fill_every=fill_every,
            jitter_seconds=jitter_seconds,
            busy_spin=not park,
            seed=seed,
        )
        for rate in rates
    ]
    notes = [
        "open loop: every latency counts from the message's due time "
        "(coordinated-omission correction)",
        f"machine: {os.cpu_count()} cores; engine thread "
        + ("parks when idle" if park else "busy-spins"),
        "host: gaps in a spinning thread's clock reads right after each run; "
        "the tails cannot be shorter than the host's gaps",
    ]
    workload = {
        "name": "mm_tick_to_order",
        "seed": seed,
        "seconds_per_run": seconds,
        "rates": [rate_label(r) for r in rates],
        "fill_every": fill_every,
    }
    return {"workload": workload, "results": results, "notes": notes}


def to_table(doc: dict[str, Any]) -> str:
    """A fixed-width table of a ``run`` document (latencies in µs)."""
    header = (
        f"{'system':<24}{'msgs':>9}{'fills':>7}{'acc p50':>10}{'p99':>10}{'p99.9':>10}"
        f"{'sub p50':>10}{'p99':>10}{'hedge p99':>11}{'host gaps>=10us/s':>19}{'longest us':>12}"
    )
    lines = [header, "-" * len(header)]
    for r in doc["results"]:
        acc, sub, hedge, host = (
            r["tick_to_accept"],
            r["tick_to_submit"],
            r["fill_to_hedge"],
            r["host"],
        )
        lines.append(
            f"{r['system']:<24}{r['messages']:>9,}{r['fills']:>7,}"
            f"{acc['p50_ns'] / 1e3:>10.2f}{acc['p99_ns'] / 1e3:>10.2f}{acc['p999_ns'] / 1e3:>10.2f}"
            f"{sub['p50_ns'] / 1e3:>10.2f}{sub['p99_ns'] / 1e3:>10.2f}"
            f"{hedge['p99_ns'] / 1e3:>11.2f}{host['gaps_over_10us_per_s']:>19.0f}"
            f"{host['longest_gap_ns'] / 1e3:>12.0f}"
        )
    lines += ["", "notes:"] + [f"- {n}" for n in doc["notes"]]
    return "\n".join(lines)


def _rates(text: str) -> list[int]:
    rates = []
    for part in text.split(","):
        try:
            rate = parse_rate(part)
        except ValueError as e:
            raise argparse.ArgumentTypeError(str(e)) from None
        if rate is None:
            raise argparse.ArgumentTypeError("max is not an offered rate here")
        rates.append(rate)
    return rates


def _main(args: argparse.Namespace) -> int:
    from wintermute import errors

    try:
        doc = run(
            args.rates,
            seconds=args.seconds,
            fill_every=args.fill_every,
            jitter_seconds=args.jitter_seconds,
            park=args.park,
            seed=args.seed,
        )
    except errors.WintermuteError as e:
        print(f"wintermute bench mm: {e}", file=sys.stderr)
        return 2
    print(json.dumps(doc, indent=2) if args.json else to_table(doc))
    return 0


def add_parser(targets: Any) -> None:
    """Adds the ``mm`` sub-target to ``wintermute bench``'s sub-parsers."""
    p = targets.add_parser(
        "mm", help="the market maker's tick-to-order latency on our venue, open loop"
    )
    p.add_argument("--rates", type=_rates, default=[10_000, 100_000], help="messages/s: 10k,100k")
    p.add_argument("--seconds", type=positive_float, default=2.0, help="seconds per run")
    p.add_argument("--fill-every", type=int, default=20, help="a taker order every N messages")
    p.add_argument("--jitter-seconds", type=float, default=1.0, help="host jitter measurement")
    p.add_argument("--park", action="store_true", help="let the engine thread park when idle")
    p.add_argument("--seed", type=int, default=42, help="message stream seed")
    p.add_argument("--json", action="store_true", help="print a JSON document")
    p.set_defaults(handler=_main)
