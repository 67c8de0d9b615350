"""``wintermute bench pipeline``: end-to-end latency through the threaded engine at constant
offered rates, open loop, with coordinated-omission correction.

::

    wintermute bench pipeline [--rates 100k,1M,max] [--journal off,none,batch] [--seconds S]
                              [--topology auto|merged|split]
                              [--wait auto|busy_spin|spin_then_yield|park]
                              [--pin] [--dir PATH] [--seed N] [--outputs executions|all]
                              [--json]

Each (rate, journal mode) pair is one run of ``wintermute_bench::pipeline`` (Rust, GIL released):
the exchange-core command mix is offered through one gateway at the rate — command ``i`` is
*meant* to leave at ``start + i / rate`` and its latency counts from then, so a stalled engine
cannot hide its backlog (coordinated omission) — and each command's latency is taken when its
last output is read from the subscription. ``max`` offers as fast as the gateway accepts: a
throughput figure. Journal modes: ``off``; ``none`` (journal, no fsync: page cache through the
memory map); ``batch`` (msync every 1,000 records or 10 ms on the matching thread); ``bg``
(fdatasync every 10 ms on a thread of its own).

The subscription is an execution feed by default (``--outputs executions``: order events and
rejections, not the book's level updates — "command enqueued -> execution event out");
``--outputs all`` adds the level updates, 2.88 outputs per command instead of 1.05 (each
result's ``outputs_per_command``), and
names the runs ``wintermute-pipeline+deltas@<rate>/<journal>``.

``--json`` prints the document of ``wintermute bench --json`` (``workload``, ``results``,
``notes``), one result per run named ``wintermute-pipeline@<rate>/<journal>`` (e.g.
``wintermute-pipeline@1M/journal``), with ``max_ns`` and ``offered_ops_per_s`` added.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from typing import Any

from wintermute import _core
from wintermute.cli_args import positive_float
from wintermute.config import WAIT_KINDS

__all__ = ["JOURNAL_MODES", "OUTPUTS", "add_parser", "parse_rate", "rate_label", "run", "to_table"]

#: ``--journal`` values.
JOURNAL_MODES = ("off", "none", "batch", "bg")

#: ``--outputs`` values: what the load thread's subscription receives.
OUTPUTS = ("executions", "all")


def parse_rate(text: str) -> int | None:
    """``max`` (None) or a positive integer with an optional ``k`` / ``M`` suffix."""
    s = text.strip()
    if s.lower() == "max":
        return None
    scale = {"k": 1_000, "K": 1_000, "m": 1_000_000, "M": 1_000_000}.get(s[-1:], 1)
    digits = s[:-1] if scale != 1 else s
    if not digits.isdigit() or int(digits) * scale <= 0:
        raise ValueError(f"rate {text!r}: expected max or a positive integer like 100k or 1M")
    return int(digits) * scale


def rate_label(rate: int | None) -> str:
    """``max``, ``1M``, ``100k`` or the number (as in the system names)."""
    if rate is None:
        return "max"
    if rate >= 1_000_000 and rate % 1_000_000 == 0:
        return f"{rate // 1_000_000}M"
    if rate >= 1_000 and rate % 1_000 == 0:
        return f"{rate // 1_000}k"
    return str(rate)


def run(
    rates: Sequence[int | None],
    journals: Sequence[str],
    *,
    seconds: float = 2.0,
    topology: str = "auto",
    wait: str = "auto",
    pin: bool = False,
    dir: str | None = None,
    seed: int = 42,
    outputs: str = "executions",
) -> dict[str, Any]:
    """Runs every (rate, journal) pair — the journal modes of one rate back to back, so that
    their comparison shares the machine's conditions — and returns the ``--json`` document.
    ``outputs``: ``executions`` (no book deltas) or ``all``."""
    if outputs not in OUTPUTS:
        raise ValueError(f"outputs={outputs!r}: expected {' or '.join(OUTPUTS)}")
    results = []
    by_key: dict[tuple[str, int | None], dict[str, Any]] = {}
    for rate in rates:
        for journal in journals:
            r = json.loads(
                _core.pipeline_bench(
                    rate,
                    journal,
                    seconds=seconds,
                    topology=topology,
                    wait=wait,
                    pin=pin,
                    dir=dir,
                    seed=seed,
                    book_deltas=outputs == "all",
                )
            )
            lat = r["latency"]
            results.append(
                {
                    "system": r["system"],
                    "ops_per_s": round(r["ops_per_s"], 1),
                    "p50_ns": lat["p50_ns"],
                    "p99_ns": lat["p99_ns"],
                    "p999_ns": lat["p999_ns"],
                    "max_ns": lat["max_ns"],
                    "offered_ops_per_s": r["offered_ops_per_s"],
                    "commands": r["commands"],
                    "full_events": r["full_events"],
                    "outputs_per_command": round(r["outputs_per_command"], 3),
                }
            )
            by_key[(journal, rate)] = results[-1]
    notes = [
        *_journal_cost(by_key, rates, journals),
        "open loop: each command's latency counts from its intended send time "
        "(coordinated-omission correction) to the subscriber reading its last output",
        "max: offered as fast as the gateway accepts (throughput; latency then includes the "
        "queue the load itself builds)",
        f"machine: {os.cpu_count()} cores; topology={topology}, wait={wait}, pin={pin}",
        "outputs: "
        + (
            "every output, book deltas included"
            if outputs == "all"
            else "execution feed (order events and rejections; no book deltas)"
        ),
    ]
    workload = {
        "name": "exchange_core_mix",
        "seed": seed,
        "seconds_per_run": seconds,
        "rates": [rate_label(r) for r in rates],
        "journal": list(journals),
        "outputs": outputs,
    }
    return {"workload": workload, "results": results, "notes": notes}


def _journal_cost(
    by_key: dict[tuple[str, int | None], dict[str, Any]],
    rates: Sequence[int | None],
    journals: Sequence[str],
) -> list[str]:
    """For each rate, each journal mode against no journal, measured in this run."""
    if "off" not in journals:
        return []
    notes = []
    for rate in rates:
        base = by_key[("off", rate)]
        for journal in journals:
            if journal == "off":
                continue
            r = by_key[(journal, rate)]
            notes.append(
                f"{r['system']} vs no journal: ops/s x{r['ops_per_s'] / base['ops_per_s']:.2f}, "
                f"p50 x{r['p50_ns'] / base['p50_ns']:.2f}, p99 x{r['p99_ns'] / base['p99_ns']:.2f}"
            )
    return notes


def to_table(doc: dict[str, Any]) -> str:
    """A fixed-width table of a ``run`` document."""
    header = (
        f"{'system':<44}{'offered/s':>12}{'ops/s':>14}{'p50 ns':>14}{'p99 ns':>14}"
        f"{'p99.9 ns':>14}{'max ns':>15}"
    )
    lines = [header, "-" * len(header)]
    for r in doc["results"]:
        offered = "max" if r["offered_ops_per_s"] is None else f"{r['offered_ops_per_s']:,}"
        lines.append(
            f"{r['system']:<44}{offered:>12}{r['ops_per_s']:>14,.0f}{r['p50_ns']:>14,}"
            f"{r['p99_ns']:>14,}{r['p999_ns']:>14,}{r['max_ns']:>15,}"
        )
    lines += ["", "notes:"] + [f"- {n}" for n in doc["notes"]]
    return "\n".join(lines)


def _rates(text: str) -> list[int | None]:
    try:
        return [parse_rate(part) for part in text.split(",")]
    except ValueError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _journals(text: str) -> list[str]:
    modes = [m.strip() for m in text.split(",")]
    for m in modes:
        if m not in JOURNAL_MODES:
            raise argparse.ArgumentTypeError(
                f"journal mode {m!r}: expected {', '.join(JOURNAL_MODES)}"
            )
    return modes


def _main(args: argparse.Namespace) -> int:
    from wintermute import errors

    try:
        doc = run(
            args.rates,
            args.journal,
            seconds=args.seconds,
            topology=args.topology,
            wait=args.wait,
            pin=args.pin,
            dir=args.dir,
            seed=args.seed,
            outputs=args.outputs,
        )
    except errors.WintermuteError as e:
        print(f"wintermute bench pipeline: {e}", file=sys.stderr)
        return 2
    print(json.dumps(doc, indent=2) if args.json else to_table(doc))
    return 0


def add_parser(targets: Any) -> None:
    """Adds the ``pipeline`` sub-target to ``wintermute bench``'s sub-parsers."""
    p = targets.add_parser(
        "pipeline",
        help="end-to-end latency through the threaded engine at constant offered rates",
    )
    p.add_argument(
        "--rates",
        type=_rates,
        default=[100_000, 1_000_000, None],
        help="offered rates, comma-separated: 100k,1M,max (default)",
    )
    p.add_argument(
        "--journal",
        type=_journals,
        default=["off", "none", "batch"],
        help="journal modes, comma-separated: off,none,batch (default), bg",
    )
    p.add_argument("--seconds", type=positive_float, default=2.0, help="seconds per run")
    p.add_argument("--topology", choices=("auto", "merged", "split"), default="auto")
    p.add_argument("--wait", choices=("auto", *WAIT_KINDS), default="auto")
    p.add_argument("--pin", action="store_true", help="pin the load and engine threads")
    p.add_argument("--dir", help="where the journal goes (default: the temp directory)")
    p.add_argument("--seed", type=int, default=42, help="workload seed")
    p.add_argument(
        "--outputs",
        choices=OUTPUTS,
        default="executions",
        help="what the subscription receives: executions (default; no book deltas) or all",
    )
    p.add_argument("--json", action="store_true", help="print a JSON document")
    p.set_defaults(handler=_main)
