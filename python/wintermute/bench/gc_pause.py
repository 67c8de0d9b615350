"""``wintermute bench gc``: the garbage collector's full-collection pause in a service process,
with the heap frozen once the server started (``wintermute.service.heap``, what ``serve`` and
``demo`` do) and without, measured in the same run::

    wintermute bench gc [--orders 20000] [--rounds 2] [--json]

Each measurement is a fresh process that imports what a server runs (uvicorn, the service app),
opens a venue, freezes the heap or not, rests ``orders`` limit orders on the venue (its order
table grows as a running service's does), then times seven full collections (``gc.collect()``)
and keeps the median. The two kinds of process alternate ``rounds`` times. Reported: the
median pause of each kind, the objects the collector still tracks, and the ratio frozen /
not frozen.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import json
import os
import statistics
import subprocess
import sys
import time
from decimal import Decimal
from typing import Any

from wintermute.cli_args import positive_int

__all__ = ["add_parser", "measure", "run"]

_CONFIG = {
    "instruments": [
        {"symbol": "BTC-USD", "tick_size": "0.01", "lot_size": "0.001", "min_qty": "0.001",
         "max_qty": "100", "min_price": "1", "max_price": "1000000"},
    ],
    "threads": {"risk": {"wait": "park"}, "matching": {"wait": "park"}},
}  # fmt: skip
_COLLECTIONS = 7


def measure(orders: int, frozen: bool) -> dict[str, Any]:
    """One measurement in this process (see the module docs)."""
    import uvicorn  # noqa: F401  (a server's heap: the server's modules loaded)

    from wintermute.service.app import create_app  # noqa: F401
    from wintermute.service.heap import freeze_heap
    from wintermute.service.venue import Venue

    with Venue(_CONFIG) as venue:
        frozen_objects = freeze_heap() if frozen else 0

        async def rest() -> None:
            for i in range(orders):
                side = "buy" if i % 2 else "sell"
                price = Decimal(50 + i % 40) if side == "buy" else Decimal(100 + i % 40)
                await venue.place(1 + i % 3, "BTC-USD", side, "limit", Decimal("0.001"), price)

        asyncio.run(rest())
        pauses = []
        for _ in range(_COLLECTIONS):
            started = time.perf_counter()
            gc.collect()
            pauses.append(time.perf_counter() - started)
        return {
            "frozen": frozen,
            "orders": orders,
            "frozen_objects": frozen_objects,
            "tracked_objects": len(gc.get_objects()),
            "full_collection_ms": statistics.median(pauses) * 1e3,
        }


def run(orders: int = 20_000, rounds: int = 2) -> dict[str, Any]:
    """The whole bench: ``rounds`` pairs of processes, alternating; the result as a dict."""
    runs: list[dict[str, Any]] = []
    for _ in range(rounds):
        for frozen in (False, True):
            cmd = [sys.executable, "-m", "wintermute.bench.gc_pause", "--child", str(orders)]
            if frozen:
                cmd.append("--frozen")
            done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, check=False)
            if done.returncode != 0:
                raise RuntimeError(f"bench gc: a measurement failed: {done.stderr.strip()[-500:]}")
            runs.append(json.loads(done.stdout.strip().splitlines()[-1]))

    def median(frozen: bool) -> float:
        return float(
            statistics.median(r["full_collection_ms"] for r in runs if r["frozen"] is frozen)
        )

    before, after = median(False), median(True)
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "load_average": list(os.getloadavg())},
        "orders": orders,
        "runs": runs,
        "not_frozen_ms": before,
        "frozen_ms": after,
        "frozen_vs_not": after / before if before > 0 else None,
    }


def to_table(r: dict[str, Any]) -> str:
    lines = [
        f"wintermute bench gc ({r['date']}; {r['machine']['cpus']} CPUs, load "
        f"{r['machine']['load_average'][0]:.1f}): a full collection with {r['orders']} orders "
        "resting on the venue",
        f"{'heap':<12} {'tracked objects':>16} {'full collection':>16}",
    ]
    for x in r["runs"]:
        kind = "frozen" if x["frozen"] else "not frozen"
        lines.append(f"{kind:<12} {x['tracked_objects']:>16,} {x['full_collection_ms']:>13.1f} ms")
    ratio = r["frozen_vs_not"]
    lines.append(
        f"median: not frozen {r['not_frozen_ms']:.1f} ms, frozen {r['frozen_ms']:.1f} ms"
        + ("" if ratio is None else f" ({ratio:.3f}x)")
    )
    return "\n".join(lines)


def _main(args: argparse.Namespace) -> int:
    result = run(orders=args.orders, rounds=args.rounds)
    print(json.dumps(result, indent=2) if args.json else to_table(result))
    return 0


def add_parser(targets: Any) -> None:
    """Adds the ``gc`` sub-target to ``wintermute bench``'s sub-parsers."""
    p = targets.add_parser("gc", help="a full GC pause in a service process, heap frozen or not")
    p.add_argument(
        "--orders", type=positive_int, default=20_000, help="orders resting on the venue"
    )
    p.add_argument("--rounds", type=positive_int, default=2, help="pairs of measurements")
    p.add_argument("--json", action="store_true", help="print a JSON document")
    p.set_defaults(handler=_main)


if __name__ == "__main__":  # one measurement, for ``run``: its JSON on the last line
    parser = argparse.ArgumentParser()
    parser.add_argument("--child", type=int, required=True)
    parser.add_argument("--frozen", action="store_true")
    a = parser.parse_args()
    print(json.dumps(measure(a.child, a.frozen)))
