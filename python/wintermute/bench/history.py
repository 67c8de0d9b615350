"""``wintermute bench history``: how fast the market-data recorder stores rows.

::

    wintermute bench history [--events N] [--seed N] [--batch-rows N] [--postgres URL] [--json]

A seeded stream of ``--events`` normalized events (as the feeds' L1 rings hand them to Python:
about 60 % deltas, which are not stored, 30 % top-of-book changes, 10 % trades; exact decimal
text) is put in a stand-in market that holds every event at once, and a
``MarketRecorder`` (snapshots off) reads, converts and writes it all, timed end to end:

- ``convert``: the recorder's read and conversion alone (a store that keeps nothing);
- ``sqlite``: into a fresh SQLite file (``--batch-rows`` per transaction);
- ``postgresql`` (with ``--postgres URL``): into a schema of its own (``wm_bench_md_<pid>``,
  dropped afterwards): binary COPY into staging tables, then ``INSERT ... ON CONFLICT DO
  NOTHING``, one connection;
- ``... again``: the same stream recorded a second time (every row already stored: the
  idempotent path, nothing new is kept).

Rows/s counts stored rows (trades + ticks) over the recorder's wall time. Without a URL,
PostgreSQL is left out and named in the notes.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any

__all__ = ["add_parser", "run"]

_EventRow = tuple[Any, ...]


class _HeldMarket:
    """A stand-in for ``wintermute.market.Market``: one stream whose ring holds every event."""

    def __init__(self, events: list[_EventRow]) -> None:
        self._core = self
        self._events = events

    def streams(self) -> list[tuple[str, str]]:
        return [("binance", "BTCUSDT")]

    def events(self, venue: str, symbol: str, last: int | None = None) -> list[_EventRow]:
        return self._events if last is None else self._events[-last:]

    def book(self, venue: str, symbol: str, depth: int) -> dict[str, Any]:
        return {"state": "buffering", "bids": [], "asks": []}


def events(n: int, seed: int) -> list[_EventRow]:
    """``n`` seeded normalized events of one stream (the rings' tuple layout)."""
    rng = random.Random(seed)
    out: list[_EventRow] = []
    mid = 5_800_000  # cents
    ts = 1_765_000_000_000_000_000
    trade_id = 665_000_000
    for seq in range(1, n + 1):
        ts += rng.randint(10_000, 2_000_000)
        mid += rng.randint(-3, 3)
        r = rng.random()
        recv = ts + rng.randint(200_000, 900_000)
        if r < 0.6:
            price = f"{(mid + rng.randint(-50, 50)) / 100:.2f}"
            qty = f"{rng.randint(0, 10**6) / 10**5:.5f}"
            side = rng.choice(("bid", "ask"))
            out.append((seq, "delta", side, price, qty, None, 0, None, None, ts, recv, recv, seq))
        elif r < 0.9:
            bid = (f"{(mid - 1) / 100:.2f}", f"{rng.randint(1, 10**6) / 10**5:.5f}")
            ask = (f"{(mid + 1) / 100:.2f}", f"{rng.randint(1, 10**6) / 10**5:.5f}")
            out.append((seq, "bbo", None, None, None, None, 0, bid, ask, ts, recv, recv, seq))
        else:
            trade_id += 1
            price = f"{mid / 100:.2f}"
            qty = f"{rng.randint(1, 10**6) / 10**8:.8f}"
            aggressor = rng.choice(("buy", "sell"))
            out.append((seq, "trade", None, price, qty, aggressor, trade_id, None, None, ts,
                        recv, recv, trade_id))  # fmt: skip
    return out


class _NoStore:
    backend = "none"

    def write(self, trades: Sequence[Any] = (), ticks: Sequence[Any] = (),
              levels: Sequence[Any] = ()) -> int:  # fmt: skip
        return len(trades) + len(ticks) + len(levels)


def _record(history: Any, held: list[_EventRow], batch_rows: int) -> dict[str, Any]:
    from wintermute.storage.market_recorder import MarketRecorder

    recorder = MarketRecorder(
        history, _HeldMarket(held), snapshot_every=None, batch_rows=batch_rows,  # type: ignore[arg-type]
        max_pending=max(len(held), batch_rows), flush_s=3600.0,
    )  # fmt: skip
    start = time.perf_counter()
    recorder.read()
    recorder.flush(force=True)
    seconds = time.perf_counter() - start
    rows = recorder.stats.trades + recorder.stats.ticks
    return {"rows": rows, "stored": recorder.stats.stored, "seconds": seconds}


def run(n: int, seed: int, batch_rows: int, postgres: str | None) -> dict[str, Any]:
    """Runs the measurements; returns ``{"events", "rows", "results": [...], "notes": [...]}``."""
    held = events(n, seed)
    convert = _record(_NoStore(), held, batch_rows)
    results: list[dict[str, Any]] = [{"name": "convert (no store)", **convert}]
    notes: list[str] = []
    with tempfile.TemporaryDirectory(prefix="wm-bench-history-") as tmp:
        from wintermute.storage.market_history_sqlite import SqliteHistory

        lite = SqliteHistory(str(Path(tmp) / "bench.db"))
        results.append({"name": "sqlite", **_record(lite, held, batch_rows)})
        results.append({"name": "sqlite again (all stored already)",
                        **_record(lite, held, batch_rows)})  # fmt: skip
        lite.close()
    if postgres:
        results.extend(_postgres(postgres, held, batch_rows))
    else:
        notes.append("postgresql: left out (give --postgres URL)")
    for r in results:
        r["per_s"] = r["rows"] / r["seconds"] if r["seconds"] else 0.0
    return {"events": n, "rows": results[0]["rows"], "results": results, "notes": notes}


def _postgres(url: str, held: list[_EventRow], batch_rows: int) -> list[dict[str, Any]]:
    from psycopg import sql

    from wintermute.storage.market_history_postgres import PostgresHistory

    schema = f"wm_bench_md_{os.getpid()}"
    history = PostgresHistory(url, schema=schema)
    try:
        first = _record(history, held, batch_rows)
        again = _record(history, held, batch_rows)
    finally:
        history._db.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
        history.close()
    name = "postgresql (binary COPY + ON CONFLICT, 1 conn)"
    return [{"name": name, **first}, {"name": "postgresql again (all stored already)", **again}]


def to_table(report: dict[str, Any]) -> str:
    lines = [f"{report['events']} normalized events -> {report['rows']} rows (trades + ticks)", ""]
    lines.append(f"{'target':<48} {'rows':>9} {'new':>9} {'seconds':>9} {'rows/s':>12}")
    lines.extend(
        f"{r['name']:<48} {r['rows']:>9} {r['stored']:>9} {r['seconds']:>9.3f} {r['per_s']:>12,.0f}"
        for r in report["results"]
    )
    lines += [f"note: {n}" for n in report["notes"]]
    return "\n".join(lines)


def _main(args: argparse.Namespace) -> int:
    report = run(args.events, args.seed, args.batch_rows, args.postgres)
    print(json.dumps(report, indent=2) if args.json else to_table(report))
    return 0


def add_parser(targets: Any) -> None:
    """Adds the ``history`` sub-target to ``wintermute bench``'s sub-parsers."""
    p = targets.add_parser("history", help="market-data recorder rows/s into SQLite, PostgreSQL")
    p.add_argument("--events", type=int, default=500_000, help="normalized events to record")
    p.add_argument("--seed", type=int, default=42, help="event stream seed")
    p.add_argument("--batch-rows", type=int, default=50_000, help="rows per transaction")
    p.add_argument("--postgres", help="a postgresql:// URL (a scratch schema is used)")
    p.add_argument("--json", action="store_true", help="print a JSON document")
    p.set_defaults(handler=_main)
