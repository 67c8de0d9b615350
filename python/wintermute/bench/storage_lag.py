"""``wintermute bench storage-lag``: the audit writer's lag behind a running engine, and the
engine's latency with the writer on and off, in the same run.

::

    wintermute bench storage-lag [--rate 1M] [--seconds 5] [--rounds 2] [--postgres URL]
                                 [--connections N] [--batch-rows N] [--seed N] [--json]

Each round runs two phases, the writer **off** and **on** (the order alternates between
rounds, so neither always runs on a warmer machine). A phase starts a fresh pipeline (this
machine's defaults, a journal without fsync, no subscription) and offers it ``--rate``
commands per second for ``--seconds``, open loop: batches of 200 commands are due at fixed
times and sent when due (late ones at once; the rate achieved is reported). The flow is seeded:
limit orders around a mid, a quarter of them crossing, each cancelled 500 commands later, so
the book stays small and every kind of audit row appears (accepted, trades, cancels, and
cancels refused for orders already filled).

With the writer on, an ``AuditWriter`` follows the live journal into a fresh store (a SQLite
file; with ``--postgres``, a scratch schema on ``--connections`` connections, dropped
afterwards), on a thread of its own, as ``wintermute audit follow`` does. Every 10 ms the
bench samples the engine's journal head (``counters.sequenced``) and the stored sequence. A
sample's **lag** is the time until the store held its head; after the load stops, the writer
is given up to 60 s to catch up (``caught_up_s``; a writer that does not is reported as
behind, with the records left then; it stops after the step under way, which may store the
rest: ``stopped_after_s``, ``stored_seq``).

Reported per phase: commands offered and sent, the rate achieved, the engine's end-to-end
latency (gateway to publication: p50, p99, p99.9), and with the writer on: rows stored, the
writer's rows/s (every row it stored, over the phase until it stopped), lag p50/p99/max, and
how long the writer took to catch up. The summary sets
the engine's p50 and p99 with the writer on against off, per round.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from wintermute import batch
from wintermute.pipeline import Pipeline

__all__ = ["add_parser", "run"]

SYMBOL = "BTC-USD"
INSTRUMENT = {
    "symbol": SYMBOL, "tick_size": "0.01", "lot_size": "0.001", "min_qty": "0.001",
    "max_qty": "100", "min_price": "1", "max_price": "1000000",
}  # fmt: skip
BATCH = 200
CANCEL_AFTER = 500
SAMPLE_S = 0.01
CATCH_UP_S = 60.0


def flow(commands: int, seed: int) -> npt.NDArray[Any]:
    """``commands`` command records: each new order followed ``CANCEL_AFTER`` orders later by
    its cancel (new and cancel interleaved, one each per step)."""
    rng = np.random.default_rng(seed)
    orders = (commands + 1) // 2
    side = np.where(rng.integers(0, 2, orders) == 0, batch.BUY, batch.SELL).astype(np.uint8)
    offset = rng.integers(-20, 61, orders)  # negative: crossing (about a quarter)
    mid = 6_400_000
    price = np.where(side == batch.BUY, mid - offset, mid + offset)
    new = batch.new_orders(
        order_id=np.arange(1, orders + 1), side=side, price=price,
        qty=rng.integers(1, 51, orders), account=rng.integers(1, 9, orders),
    )  # fmt: skip
    cancel = batch.cancels(np.maximum(np.arange(1, orders + 1) - CANCEL_AFTER, 1))
    out = np.empty(2 * orders, dtype=new.dtype)
    out[0::2] = new
    out[1::2] = cancel
    return out[:commands]


def _config(journal: Path) -> dict[str, Any]:
    return {
        "instruments": [INSTRUMENT],
        "journal": {"dir": str(journal), "fsync": "none"},
        "subscriptions": {"count": 0},
        "stats_interval_ms": 5,
    }


def _store(tmp: Path, postgres: str | None, connections: int) -> tuple[Any, Any]:
    """A fresh store and the function that disposes of it."""
    if postgres is None:
        from wintermute.storage.sqlite import SqliteStore

        lite = SqliteStore(str(tmp / "audit.db"))
        return lite, lite.close
    from psycopg import sql

    from wintermute.storage.postgres import PostgresStore

    schema = f"wm_bench_lag_{os.getpid()}_{time.monotonic_ns()}"
    pg = PostgresStore(postgres, schema=schema, connections=connections)

    def drop() -> None:
        pg.reset()
        pg._db.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
        pg.close()

    return pg, drop


def _lags(samples: list[tuple[float, int, int]]) -> list[float]:
    """Each sample's lag: seconds from the sample until a later one's stored sequence reached
    its head (samples whose head was never stored are left out: see ``behind``)."""
    lags, j = [], 0
    for i, (t, head, _) in enumerate(samples):
        j = max(j, i)
        while j < len(samples) and samples[j][2] < head:
            j += 1
        if j == len(samples):
            break
        lags.append(max(0.0, samples[j][0] - t))
    return lags


def _pct(values: list[float], q: float) -> float:
    return float(np.percentile(values, q)) if values else float("nan")


def phase(
    cmds: npt.NDArray[Any], rate: float, writer_on: bool, tmp: Path, postgres: str | None,
    connections: int, batch_rows: int,
) -> dict[str, Any]:  # fmt: skip
    """One phase on a fresh pipeline (see the module documentation)."""
    from wintermute.config import InstrumentConfig
    from wintermute.storage.writer import AuditWriter

    journal = tmp / f"journal-{time.monotonic_ns()}"
    pipeline = Pipeline(_config(journal))
    gateway = pipeline.gateway(0)
    store = dispose = writer = thread = None
    stop = threading.Event()
    samples: list[tuple[float, int, int]] = []
    errors: list[BaseException] = []
    if writer_on:
        store, dispose = _store(tmp, postgres, connections)
        writer = AuditWriter(store, [InstrumentConfig(**INSTRUMENT)], journal,
                             batch_rows=batch_rows)  # fmt: skip

        def follow() -> None:
            assert writer is not None
            try:
                while not stop.is_set():
                    if writer.step() == 0:
                        time.sleep(0.001)
            except BaseException as e:  # reported, not swallowed: the phase fails below
                errors.append(e)

        thread = threading.Thread(target=follow, name="bench-audit-writer", daemon=True)
        thread.start()

    def sample() -> None:
        stored = writer.stored_seq if writer is not None else 0
        samples.append((time.perf_counter(), pipeline.stats().counters.sequenced, stored))

    try:
        sent, start = 0, time.perf_counter()
        next_sample = start
        for k in range(0, len(cmds), BATCH):
            due = start + k / rate
            while (now := time.perf_counter()) < due:
                if now >= next_sample:
                    sample()
                    next_sample = now + SAMPLE_S
                time.sleep(min(due - now, SAMPLE_S))
            _, done = gateway.submit_batch(0, cmds[k : k + BATCH])
            sent += done
            if time.perf_counter() >= next_sample:
                sample()
                next_sample = time.perf_counter() + SAMPLE_S
        load_s = time.perf_counter() - start
        caught_up_s: float | None = None
        if writer is not None:
            # Until the engine has journaled everything and the writer stored it, or 60 s.
            deadline = time.perf_counter() + CATCH_UP_S
            while time.perf_counter() < deadline and not errors:
                sample()
                if samples[-1][1] >= sent and samples[-1][2] >= samples[-1][1]:
                    caught_up_s = samples[-1][0] - start - load_s
                    break
                time.sleep(SAMPLE_S)
    finally:
        stop.set()
        if thread is not None:
            thread.join()  # the step under way finishes first
        writer_done = time.perf_counter()
        stats = pipeline.shutdown()["stats"]
        if dispose is not None:
            rows = store.count() if store is not None and not errors else 0
            dispose()
    if errors:
        raise errors[0]
    e2e = stats.latency.end_to_end
    out: dict[str, Any] = {
        "writer": "on" if writer_on else "off",
        "offered": len(cmds), "sent": sent, "load_seconds": load_s,
        "rate_achieved": sent / load_s if load_s > 0 else 0.0,
        "engine_p50_us": e2e.p50_ns / 1e3, "engine_p99_us": e2e.p99_ns / 1e3,
        "engine_p999_us": e2e.p999_ns / 1e3,
    }  # fmt: skip
    if writer is not None:
        lags = _lags(samples)
        last = samples[-1]
        out.update({
            "rows": rows,
            "stored_seq": writer.stored_seq, "journal_seq": stats.counters.sequenced,
            # The writer's own pace: every row it stored, over the phase until it stopped.
            "rows_per_s": rows / (writer_done - start),
            "lag_p50_s": _pct(lags, 50), "lag_p99_s": _pct(lags, 99),
            "lag_max_s": max(lags, default=float("nan")),
            "caught_up_s": caught_up_s,
            "behind_records": max(0, last[1] - last[2]),
            "stopped_after_s": writer_done - start - load_s,
        })  # fmt: skip
    return out


def run(
    rate: float, seconds: float, rounds: int, seed: int, postgres: str | None = None,
    connections: int = 1, batch_rows: int = 10_000,
) -> dict[str, Any]:  # fmt: skip
    """Runs ``rounds`` rounds of a writer-off and a writer-on phase; returns the report."""
    if rate <= 0 or seconds <= 0 or rounds < 1:
        raise ValueError("rate and seconds must be positive and rounds at least 1")
    cmds = flow(max(BATCH, int(rate * seconds)), seed)
    phases: list[dict[str, Any]] = []
    with tempfile.TemporaryDirectory(prefix="wm-bench-storage-lag-") as tmp:
        for r in range(rounds):
            order = (False, True) if r % 2 == 0 else (True, False)
            for writer_on in order:
                result = phase(cmds, rate, writer_on, Path(tmp), postgres, connections, batch_rows)
                phases.append({"round": r + 1, **result})
    ratios = []
    for r in range(1, rounds + 1):
        off = next(p for p in phases if p["round"] == r and p["writer"] == "off")
        on = next(p for p in phases if p["round"] == r and p["writer"] == "on")
        ratios.append({
            "round": r,
            "p50_on_vs_off": on["engine_p50_us"] / off["engine_p50_us"],
            "p99_on_vs_off": on["engine_p99_us"] / off["engine_p99_us"],
        })  # fmt: skip
    return {
        "rate": rate, "seconds": seconds, "store": "postgresql" if postgres else "sqlite",
        "connections": connections if postgres else 1, "phases": phases, "ratios": ratios,
    }  # fmt: skip


def to_table(report: dict[str, Any]) -> str:
    lines = [
        f"offered {report['rate']:,.0f} commands/s for {report['seconds']} s; store "
        f"{report['store']} ({report['connections']} connection(s))",
        "| round | writer | sent/s | engine p50 / p99 / p99.9 (µs) | rows | writer rows/s "
        "| lag p50 / p99 / max (s) | caught up after (s) |",
        "|---|---|---|---|---|---|---|---|",
    ]
    for p in report["phases"]:
        engine = (
            f"| {p['round']} | {p['writer']} | {p['rate_achieved']:,.0f} | "
            f"{p['engine_p50_us']:.1f} / {p['engine_p99_us']:.1f} / {p['engine_p999_us']:.1f} |"
        )
        if p["writer"] == "off":
            lines.append(f"{engine} | | | |")
            continue
        lag = f"{p['lag_p50_s']:.3f} / {p['lag_p99_s']:.3f} / {p['lag_max_s']:.3f}"
        caught = p["caught_up_s"]
        caught_text = (
            f"{caught:.2f}" if caught is not None else f"not ({p['behind_records']} behind)"
        )
        lines.append(f"{engine} {p['rows']} | {p['rows_per_s']:,.0f} | {lag} | {caught_text} |")
    lines.extend(
        f"round {r['round']}: engine p50 on/off {r['p50_on_vs_off']:.2f}x, "
        f"p99 on/off {r['p99_on_vs_off']:.2f}x"
        for r in report["ratios"]
    )
    return "\n".join(lines)


def _rate(text: str) -> float:
    scale = {"k": 1e3, "K": 1e3, "m": 1e6, "M": 1e6}.get(text[-1:], 1.0)
    try:
        value = float(text[:-1] if scale != 1.0 else text) * scale
    except ValueError:
        value = -1.0
    if not value > 0 or value == float("inf"):
        raise argparse.ArgumentTypeError(f"{text!r}: expected a positive rate, like 200k or 1M")
    return value


def _main(args: argparse.Namespace) -> int:
    report = run(args.rate, args.seconds, args.rounds, args.seed, args.postgres,
                 args.connections, args.batch_rows)  # fmt: skip
    print(json.dumps(report, indent=2) if args.json else to_table(report))
    return 0


def add_parser(targets: Any) -> None:
    """Adds the ``storage-lag`` sub-target to ``wintermute bench``'s sub-parsers."""
    from wintermute.cli_args import positive_float, positive_int

    p = targets.add_parser(
        "storage-lag",
        help="the audit writer's lag behind a running engine; engine latency writer on vs off",
    )
    p.add_argument("--rate", type=_rate, default=1e6, help="commands/s offered (e.g. 200k, 1M)")
    p.add_argument("--seconds", type=positive_float, default=5.0, help="load per phase")
    p.add_argument("--rounds", type=positive_int, default=2, help="rounds of off + on phases")
    p.add_argument("--seed", type=int, default=42, help="order flow seed")
    p.add_argument("--postgres", help="a postgresql:// URL (a scratch schema is used)")
    p.add_argument("--connections", type=positive_int, default=2, help="with --postgres")
    p.add_argument("--batch-rows", type=positive_int, default=10_000, help="rows per batch")
    p.add_argument("--json", action="store_true", help="print a JSON document")
    p.set_defaults(handler=_main)
