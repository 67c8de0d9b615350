#!/usr/bin/env python3
"""The service venue's saved state, timed (``wintermute.service.venue_state``): a venue over a
journal places ``ORDERS`` orders (50 accounts buying, a quarter as many sells crossing some of
them), then ``Venue.save_state`` is timed (the engine's snapshot and the state copied under
the venue's locks, then encoded and written), and two restarts: from the saved state, and
from the whole journal (the state file removed). Then the pause a save costs order entry: one
caller places and cancels orders back to back while another thread saves the state;
``entry_max_during_save_ms`` is the slowest of its round trips that overlapped the save
(``entry_p50_ms``: their median without a save). Prints one line of ``key=value``.

Usage: ``scripts/bench_venue_state.py [ORDERS]`` (default 20000).
"""

from __future__ import annotations

import asyncio
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

from wintermute.service.settings import split_config
from wintermute.service.venue import Venue


def config(journal: Path) -> dict[str, Any]:
    inst = {"tick_size": "0.01", "lot_size": "0.001", "min_qty": "0.001", "max_qty": "100",
            "min_price": "1", "max_price": "1000000"}  # fmt: skip
    return {
        "instruments": [{"symbol": "BTC-USD", **inst}, {"symbol": "ETH-USD", **inst}],
        "threads": {"risk": {"wait": "park"}},
        "journal": {"dir": str(journal), "fsync": "none", "prune_segments": True},
        "service": {"save_state_on_snapshot": False},
    }


async def entry_during_save(venue: Venue) -> dict[str, float]:
    """Round trips (place + cancel) back to back: 500 without a save, then while a thread
    saves the state; the median of the first and the slowest overlapping the save."""

    async def round_trip() -> float:
        started = time.perf_counter()
        order = await venue.place(7, "ETH-USD", "buy", "limit", Decimal("0.001"), Decimal("10"))
        await venue.cancel(7, "ETH-USD", order_id=order.order_id)
        return time.perf_counter() - started

    quiet = sorted([await round_trip() for _ in range(500)])
    saving = asyncio.get_running_loop().run_in_executor(None, venue.save_state)
    during = [await round_trip()]
    while not saving.done():
        during.append(await round_trip())
    await saving
    return {
        "entry_p50_ms": round(quiet[len(quiet) // 2] * 1000, 2),
        "entry_max_during_save_ms": round(max(during) * 1000, 1),
    }


def main(orders: int) -> None:
    journal = Path(tempfile.mkdtemp()) / "journal"
    engine_doc, settings = split_config(config(journal))
    out: dict[str, Any] = {"orders": orders}
    with Venue(engine_doc, settings) as venue:

        async def place() -> None:
            for i in range(orders):
                price, account = Decimal(50 + i % 40), 1 + i % 50
                await venue.place(
                    account, "BTC-USD", "buy", "limit", Decimal("0.001"), price,
                    client_order_id=f"c{i}",
                )  # fmt: skip
                if i % 4 == 0:
                    await venue.place(
                        100 + account, "BTC-USD", "sell", "limit", Decimal("0.001"), price
                    )

        asyncio.run(place())
        start = time.perf_counter()
        out["records"] = venue.save_state()
        out["save_state_ms"] = round((time.perf_counter() - start) * 1000, 1)
        out["state_bytes"] = max(p.stat().st_size for p in journal.glob("venue-*.state"))
        out["open_orders"] = venue.open_order_count()
        out.update(asyncio.run(entry_during_save(venue)))
    for how in ("state", "whole_journal"):
        if how == "whole_journal":
            for path in journal.glob("venue-*.state"):
                path.unlink()
        start = time.perf_counter()
        with Venue(engine_doc, settings) as venue:
            out[f"restart_{how}_ms"] = round((time.perf_counter() - start) * 1000)
            assert venue.open_order_count() == out["open_orders"]
    print(" ".join(f"{k}={v}" for k, v in out.items()))


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 20000)
