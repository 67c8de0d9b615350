#!/usr/bin/env python3
"""Python function calls per venue command, counted (not timed, so a loaded machine does not
move them much): ``cProfile`` in the venue's drain thread and in the callers' event-loop thread
while 32 coroutines place and cancel a passive order for ``SECONDS`` (the venue's in-process
rate of ``wintermute bench service``: ``wintermute.bench.service_server.engine_rate``).
Prints one JSON line: the Python tree it ran, commands, calls per command in each thread.

Usage: ``scripts/venue_calls.py [SECONDS]`` (default 3). To compare with another tree, run
it with that tree's ``python`` directory first on ``PYTHONPATH``.
"""

from __future__ import annotations

import asyncio
import cProfile
import json
import pstats
import sys
from typing import Any

import wintermute.service.venue as venue_module
from wintermute.bench.service_server import bench_config, engine_rate
from wintermute.service.venue import Venue


def _calls(profile: cProfile.Profile) -> int:
    """Every function call the profile saw (primitive and recursive)."""
    stats: dict[Any, tuple[int, ...]] = pstats.Stats(profile).stats  # type: ignore[attr-defined]
    return sum(row[1] for row in stats.values())


def main(seconds: float) -> dict[str, Any]:
    drain = cProfile.Profile()
    loop = cProfile.Profile()
    original = Venue._drain_loop

    def profiled(self: Venue) -> None:  # the drain thread, from its start to its end
        drain.enable()
        try:
            original(self)
        finally:
            drain.disable()

    Venue._drain_loop = profiled  # type: ignore[method-assign]
    venue = Venue(bench_config())

    async def run() -> dict[str, Any]:
        loop.enable()
        try:
            return await engine_rate(venue, seconds, 32)
        finally:
            loop.disable()

    try:
        result = asyncio.run(run())
    finally:
        venue.close()
        Venue._drain_loop = original  # type: ignore[method-assign]
    n = result["commands"]
    return {
        "tree": venue_module.__file__,
        "commands": n,
        "drain_calls_per_command": round(_calls(drain) / n, 2),
        "loop_calls_per_command": round(_calls(loop) / n, 2),
    }


if __name__ == "__main__":
    print(json.dumps(main(float(sys.argv[1]) if len(sys.argv) > 1 else 3.0)))
