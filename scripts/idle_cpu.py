#!/usr/bin/env python3
"""CPU time of each thread of an idle venue, counted from ``/proc/self/task/*/stat`` (clock
ticks of user + system time, not timed, so a loaded machine moves them little): a ``Venue``
with ``wintermute bench service``'s config (engine threads parked with a 200 µs timeout) is
started, given one order so that every thread has run, then left alone for ``SECONDS``.
Then, what an idle spell costs the next command: one caller places and cancels an order, then
sleeps 1 ms (shorter than the engine threads' patience before their parks lengthen) or 50 ms
(longer). Prints one JSON line: the Python tree it ran, each named
thread's share of a core, and the round trips' p50 and p90 after each gap.

Usage: ``scripts/idle_cpu.py [SECONDS [ROUND_TRIPS]]`` (defaults 10 and 1500, a tenth as many
after the 50 ms gaps; Linux only). To compare with another tree, run it with that tree's
``python`` directory first on ``PYTHONPATH``.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
import threading
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import wintermute
from wintermute.bench.service_server import BENCH_SYMBOL, bench_config
from wintermute.service.venue import Venue


def thread_ticks() -> dict[str, int]:
    """Clock ticks used so far by each thread of this process, summed by thread name (a Python
    thread's own name, the OS name of the others: the engine's are ``wm-*``)."""
    python_names = {t.native_id: f"python:{t.name}" for t in threading.enumerate()}
    ticks: dict[str, int] = {}
    for task in Path("/proc/self/task").iterdir():
        try:
            name = python_names.get(int(task.name)) or (task / "comm").read_text().strip()
            stat = (task / "stat").read_text()
        except OSError:  # the thread ended meanwhile
            continue
        # After the command name (which ends at the last ')'): utime, stime are fields 12, 13.
        fields = stat[stat.rindex(")") + 2 :].split()
        ticks[name] = ticks.get(name, 0) + int(fields[11]) + int(fields[12])
    return ticks


async def round_trips(venue: Venue, gap_s: float, n: int) -> dict[str, float]:
    """p50 and p90 (ms) of ``n`` place + cancel round trips, each after a ``gap_s`` sleep."""
    took = []
    for _ in range(n):
        await asyncio.sleep(gap_s)
        started = time.perf_counter()
        order = await venue.place(1, BENCH_SYMBOL, "buy", "limit", Decimal("1"), Decimal("100"))
        await venue.cancel(1, BENCH_SYMBOL, order_id=order.order_id)
        took.append(time.perf_counter() - started)
    took.sort()
    return {"p50_ms": round(took[n // 2] * 1e3, 3), "p90_ms": round(took[n * 9 // 10] * 1e3, 3)}


def main(seconds: float, n: int) -> dict[str, Any]:
    hz = os.sysconf("SC_CLK_TCK")
    with Venue(bench_config()) as venue:

        async def one_order() -> None:
            await venue.place(1, BENCH_SYMBOL, "buy", "limit", Decimal("1"), Decimal("100"))

        asyncio.run(one_order())
        before = thread_ticks()
        time.sleep(seconds)
        after = thread_ticks()
        gaps = {
            f"after_{gap_ms}_ms": asyncio.run(
                round_trips(venue, gap_ms / 1e3, n if gap_ms == 1 else max(1, n // 10))
            )
            for gap_ms in (1, 50)
        }
    share = {
        name: round((after[name] - before.get(name, 0)) / hz / seconds * 100, 2)
        for name in sorted(after)
        if after[name] > before.get(name, 0) or name.startswith("wm-")
    }
    return {
        "python": str(Path(wintermute.__file__).parent.parent),
        "seconds": seconds,
        "percent_of_a_core": share,
        "process": round((sum(after.values()) - sum(before.values())) / hz / seconds * 100, 2),
        "round_trips": gaps,
    }


if __name__ == "__main__":
    args = sys.argv[1:]
    print(
        json.dumps(main(float(args[0]) if args else 10.0, int(args[1]) if len(args) > 1 else 1500))
    )
