"""The threaded engine as a process (``wintermute run``), started from a config file.

::

    wintermute run --config engine.toml [--seconds S] [--workload RATE] [--stats-every S]
                   [--ack-log FILE] [--seed N]

It starts the engine (recovering the books from the journal, if the config has one, and
printing what was recovered), optionally drives a built-in seeded order flow at ``RATE``
commands per second through gateway 0, prints the stats every ``--stats-every`` seconds, and
stops cleanly on SIGINT / SIGTERM or after ``--seconds``: the gateways close, every accepted
command runs, the journal is flushed, the final stats are printed.

``--ack-log FILE`` appends one line per *acknowledged* command — a command whose last output
came back from the engine, so it is journaled (the journal record is written before any output)
— as ``gateway command_seq journal_seq`` (``journal_seq`` 0: not sequenced, e.g. an unknown
instrument; a risk rejection is journaled with its reason and has a number). Lines are flushed
as they are acknowledged, so after a crash of this process every line in the file names a
command the recovered journal holds: the crash test (``tests/test_engine_process.py``) checks
exactly that. A torn last line left by a crash is cut off (and said) when the next run opens
the file.
"""

from __future__ import annotations

import signal
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path
from types import FrameType
from typing import Any, TextIO

import numpy as np
import numpy.typing as npt

from wintermute import batch, errors
from wintermute.config import EngineConfig, InstrumentConfig
from wintermute.engine import Engine
from wintermute.pipeline import Gateway, Pipeline, PipelineStats, Subscription

__all__ = ["OrderFlow", "format_stats", "run"]


class OrderFlow:
    """A seeded order flow for one instrument, in ticks and lots inside its limits: 45% limit
    orders within 50 ticks of the middle of the price band, 15% marketable IOCs, 40% cancels
    of recent orders (some already gone: the book refuses those). Order ids start at
    ``first_id``."""

    def __init__(self, spec: InstrumentConfig, *, seed: int, first_id: int) -> None:
        probe = Engine()
        probe.add_instrument(spec)
        info = probe.instrument(0)
        self.low, self.high = int(info["min_price_ticks"]), int(info["max_price_ticks"])
        self.mid = (self.low + self.high) // 2
        self.min_qty = int(info["min_qty_lots"])
        self.max_qty = min(int(info["max_qty_lots"]), self.min_qty * 10)
        self.rng = np.random.default_rng(seed)
        self.next_id = first_id
        self.recent: npt.NDArray[np.uint64] = np.zeros(1024, dtype=np.uint64)
        self.recent_len = 0

    def commands(self, n: int) -> npt.NDArray[np.void]:
        """The next ``n`` commands as a ``batch.COMMAND_DTYPE`` array."""
        rng = self.rng
        out = np.zeros(n, dtype=batch.COMMAND_DTYPE)
        u = rng.random(n)
        side = rng.integers(0, 2, n)
        cancel = u < 0.40 if self.recent_len else np.zeros(n, dtype=bool)
        ioc = (u >= 0.40) & (u < 0.55)
        new = ~cancel
        ids = np.arange(self.next_id, self.next_id + n, dtype=np.uint64)
        self.next_id += n
        offset = rng.integers(0, 51, n)
        passive = np.where(side == batch.BUY, self.mid - offset, self.mid + offset)
        crossing = np.where(side == batch.BUY, self.mid + 60, self.mid - 60)
        out["order_id"] = np.where(
            cancel, self.recent[rng.integers(0, max(self.recent_len, 1), n)], ids
        )
        out["kind"] = np.where(cancel, batch.CANCEL, batch.NEW)
        out["side"] = np.where(new, side, 0)
        out["price"] = np.where(
            new, np.clip(np.where(ioc, crossing, passive), self.low, self.high), 0
        )
        out["qty"] = np.where(new, rng.integers(self.min_qty, self.max_qty + 1, n), 0)
        out["account"] = np.where(new, rng.integers(1, 5, n), 0)
        out["tif"] = np.where(ioc, batch.IOC, batch.GTC)
        resting = ids[new & ~ioc]
        for start in range(0, len(resting), len(self.recent)):
            chunk = resting[start : start + len(self.recent)]
            self.recent = np.roll(self.recent, -len(chunk))
            self.recent[-len(chunk) :] = chunk
            self.recent_len = min(len(self.recent), self.recent_len + len(chunk))
        return out


def _drive(gateway: Gateway, flows: list[OrderFlow], rate: float, stop: threading.Event) -> None:
    """Offers ``rate`` commands per second, in batches every millisecond, round-robin over the
    instruments, until ``stop``."""
    start = time.monotonic()
    sent = 0
    turn = 0
    while not stop.is_set():
        due = int((time.monotonic() - start) * rate) - sent
        if due <= 0:
            time.sleep(0.001)
            continue
        n = min(due, 10_000)
        instrument = turn % len(flows)
        turn += 1
        cmds = flows[instrument].commands(n)
        try:
            _, accepted = gateway.submit_batch(instrument, cmds)
        except errors.GatewayClosedError:  # the engine is stopping
            return
        sent += n if accepted == n else accepted


def _open_ack_log(path: Path, out: TextIO) -> TextIO:
    """Opens the ack log for appending (the caller closes it). A crash can leave a torn last
    line: a batch of lines is one write(), but the kernel ends a killed process's write to a
    file at a page boundary, and a batch can span many pages. It is cut off first, and said, so
    that the lines appended now start on a line of their own instead of running into it."""
    if path.exists():
        with path.open("r+b") as f:
            end = f.seek(0, 2)
            keep = end
            while keep > 0:
                block = min(keep, 4096)
                f.seek(keep - block)
                chunk = f.read(block)
                newline = chunk.rfind(b"\n")
                if newline >= 0:
                    keep = keep - block + newline + 1
                    break
                keep -= block
            if keep < end:
                f.truncate(keep)
                print(
                    f"warning: torn last line of the ack log cut off: {end - keep} bytes",
                    file=out,
                    flush=True,
                )
    # Closed by the caller's `finally` (a `with` would not cover the shutdown order).
    return path.open("a", encoding="utf-8")


def _acknowledge(sub: Subscription, log: TextIO | None, counts: dict[str, int]) -> None:
    """Reads every output until the engine stopped; writes and flushes the ack lines."""
    while True:
        out = sub.poll(timeout=0.05)
        if len(out) == 0:
            if sub.finished:
                return
            continue
        last = out[out["last"] == 1]
        counts["acknowledged"] += len(last)
        if log is not None and len(last):
            rows = zip(
                last["gateway"].tolist(),
                last["command_seq"].tolist(),
                last["journal_seq"].tolist(),
                strict=True,
            )
            log.write("".join(f"{g} {c} {j}\n" for g, c, j in rows))
            log.flush()


def format_stats(stats: PipelineStats) -> str:
    """One line: rates, end-to-end latency percentiles, busiest ring."""
    e2e = stats.latency.end_to_end
    busiest = max(stats.rings, key=lambda r: r.high_water / r.capacity, default=None)
    ring = (
        f" | {busiest.name} high water {busiest.high_water}/{busiest.capacity}" if busiest else ""
    )
    return (
        f"[{stats.elapsed_s:7.1f}s] {stats.commands_per_s:>11,.0f} cmd/s "
        f"{stats.events_per_s:>11,.0f} ev/s | e2e p50 {e2e.p50_ns:,} p99 {e2e.p99_ns:,} "
        f"p99.9 {e2e.p999_ns:,} max {e2e.max_ns:,} ns{ring}"
    )


def _format_final(stats: PipelineStats) -> str:
    lines = [format_stats(stats), "latency per stage (ns):"]
    lines.append(
        f"  {'stage':<18}{'count':>12}{'p50':>10}{'p95':>10}{'p99':>10}{'p99.9':>10}{'max':>12}"
    )
    for stage, s in asdict(stats.latency).items():
        lines.append(
            f"  {stage:<18}{s['count']:>12,}{s['p50_ns']:>10,}{s['p95_ns']:>10,}"
            f"{s['p99_ns']:>10,}{s['p999_ns']:>10,}{s['max_ns']:>12,}"
        )
    lines.append("counters: " + ", ".join(f"{k}={v:,}" for k, v in asdict(stats.counters).items()))
    lines.append(
        "threads: "
        + ", ".join(f"{t.name} ({t.wait}, core={t.core}, pinned={t.pinned})" for t in stats.threads)
    )
    return "\n".join(lines)


def run(
    config: EngineConfig,
    *,
    seconds: float | None = None,
    workload: float | None = None,
    stats_every: float = 1.0,
    ack_log: str | None = None,
    seed: int = 42,
    out: TextIO = sys.stdout,
) -> PipelineStats:
    """Runs the engine until SIGINT / SIGTERM (when called from the main thread) or
    ``seconds``; returns the final stats. See the module documentation."""
    # The handler only raises a flag (an Event.set inside a signal handler can deadlock if
    # the signal lands while the main thread holds the Event's lock); the main loop, which
    # wakes at least every 0.1 s, turns it into `stop`.
    stop = _Stop()
    installed: list[tuple[int, Any]] = []
    if threading.current_thread() is threading.main_thread():

        def on_signal(signum: int, frame: FrameType | None) -> None:
            stop.signalled = True

        installed = [
            (sig, signal.signal(sig, on_signal)) for sig in (signal.SIGINT, signal.SIGTERM)
        ]
    try:
        return _run(config, stop, seconds, workload, stats_every, ack_log, seed, out)
    finally:
        for sig, previous in installed:
            signal.signal(sig, previous)


class _Stop(threading.Event):
    """The stop event, plus the flag a signal handler raises."""

    signalled = False


def _run(
    config: EngineConfig,
    stop: _Stop,
    seconds: float | None,
    workload: float | None,
    stats_every: float,
    ack_log: str | None,
    seed: int,
    out: TextIO,
) -> PipelineStats:
    if ack_log and config.subscriptions.count == 0:
        raise errors.ConfigError(
            "--ack-log reads acknowledgements from subscription 0: set subscriptions.count >= 1",
            reason="CONFIG",
            key="subscriptions.count",
        )
    engine = Pipeline(config)
    rec = engine.recovery()
    where = f" from {config.journal.dir}" if config.journal else ""
    snapshot = f" after snapshot {rec.snapshot}" if rec.snapshot else ""
    print(
        f"started: {config.topology} topology, {len(engine.gateways)} gateway(s), "
        f"instruments {engine.instruments()}; recovered{where}: {rec.replayed:,} commands "
        f"and {rec.controls:,} controls replayed{snapshot}, journal seq {rec.journal_seq:,}",
        file=out,
        flush=True,
    )
    for warning in rec.snapshot_warnings:
        print(f"warning: snapshot passed over: {warning}", file=out, flush=True)
    if rec.truncated:
        print(f"warning: torn journal tail cut off: {rec.truncated}", file=out, flush=True)
    started: list[threading.Thread] = []
    log = _open_ack_log(Path(ack_log), out) if ack_log else None
    counts = {"acknowledged": 0}
    try:
        work: list[threading.Thread] = []
        if engine.subscriptions:
            sub = engine.subscription(0)
            work.append(threading.Thread(target=_acknowledge, args=(sub, log, counts)))
        if workload:
            # Fresh order ids for each run (the journal may hold earlier ones): the start time
            # in ms, times 2^20.
            first_id = (time.time_ns() // 1_000_000) << 20
            flows = [
                OrderFlow(spec, seed=seed + i, first_id=first_id)
                for i, spec in enumerate(config.instruments)
            ]
            gateway = engine.gateway(0)
            work.append(threading.Thread(target=_drive, args=(gateway, flows, workload, stop)))
        for t in work:
            t.start()
            started.append(t)
        deadline = None if seconds is None else time.monotonic() + seconds
        next_stats = time.monotonic() + stats_every if stats_every > 0 else None
        while not stop.signalled:
            now = time.monotonic()
            if deadline is not None and now >= deadline:
                break
            wakes = [w for w in (deadline, next_stats) if w is not None]
            time.sleep(min([0.1, *(max(w - now, 0.0) for w in wakes)]))
            if next_stats is not None and time.monotonic() >= next_stats:
                print(format_stats(engine.stats()), file=out, flush=True)
                next_stats += stats_every
    finally:
        stop.set()
        result = engine.shutdown()
        for t in started:
            t.join()
        if log is not None:
            log.close()
    final = result["stats"]
    print("stopped: journal flushed, last journal seq", result["last_seq"], file=out)
    print(_format_final(final), file=out, flush=True)
    print(f"acknowledged {counts['acknowledged']:,} commands", file=out, flush=True)
    return final
