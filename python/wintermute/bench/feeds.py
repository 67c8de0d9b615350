"""``wintermute bench feeds``: market-data speed beside peers, in one run.

Two parts, each reported as rows of the core bench's JSON shape (``{"workload", "results",
"notes"}``, see :mod:`wintermute.bench.report`):

1. **L2 alone** (``l2/<system>``): a seeded stream of level updates (set quantity at price, 0
   deletes) on about 2,000 levels around a random-walk mid, the best bid and ask read after each
   update. Wintermute's :class:`~wintermute._core.TickBook` runs it three ways: ``native`` (a Rust
   loop behind one call), ``batch`` (numpy arrays in, best bid/ask arrays out, GIL released) and
   ``per-call`` (one Python call per update plus one per best read); the peers of
   :mod:`wintermute.bench.feeds_peers` run it one Python call per update.
2. **JSON -> book** (``json/<venue>/<system>``): every message of the repository's recording of
   each venue (raw exchange JSON, REST snapshots included) parsed and applied to that venue's book
   builder with its sync checks (Binance update ids, Coinbase sequences, Kraken CRC-32), timed in
   a Rust loop. Peers that handle these messages offline are listed in the notes with why they
   could or could not be run.

Per-call rows also carry latency percentiles (a second pass timing each call); loops timed as a
whole (native, batch, JSON replay) report ``null`` percentiles.
"""

from __future__ import annotations

import argparse
import gc
import importlib.util
import json
import math
import os
import random
import time
from array import array
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from functools import partial
from pathlib import Path
from typing import Any, cast

import numpy as np

from wintermute.bench.adapter import percentile, results_document
from wintermute.bench.feeds_peers import L2_PEERS
from wintermute.bench.feeds_peers.json_books import JSON_PEERS, JSON_PEERS_LEFT_OUT
from wintermute.bench.feeds_peers.l2_books import hftbacktest_loop
from wintermute.cli_args import positive_int

DEFAULT_UPDATES = 1_000_000
DEFAULT_SEED = 7
#: Levels each side keeps at most: prices within this many ticks of the mid.
WINDOW = 1_000
#: Price ticks of the walk (the mid stays inside).
TICKS = 40_000
#: Tick of price 0 in the walk (so prices look like a real instrument's: 5,000,000 = 50,000.00).
BASE_TICK = 5_000_000

#: The repository's recordings, one per venue.
RECORDINGS = {
    "binance": (
        "binance/binance_spot_2021-04-04_BTCUSDT-ETHUSDT-DOTUSDT_depth100ms_snapshot_aggTrade"
        ".cfraw.txt"
    ),
    "coinbase": "coinbase/coinbase_exchange_2021-04-17_level2_ticker_matches.cfraw.txt",
    "kraken": "kraken/kraken_ws1_2021-04-05_book1000_checksum.cfraw.txt",
}

SYSTEMS = (
    "wintermute-native",
    "wintermute-batch",
    "wintermute-per-call",
    *(p.name for p in L2_PEERS),
    "hftbacktest",
    "json",
    *dict.fromkeys(p.name for p in JSON_PEERS),
)


@dataclass(frozen=True)
class L2Workload:
    """Level updates as parallel arrays: side (0 bid, 1 ask), price ticks, quantity lots."""

    sides: np.ndarray[Any, np.dtype[np.uint8]]
    prices: np.ndarray[Any, np.dtype[np.int64]]
    qtys: np.ndarray[Any, np.dtype[np.int64]]
    seed: int

    def __len__(self) -> int:
        return len(self.sides)

    def updates(self) -> list[tuple[int, int, int]]:
        """The updates as Python tuples (for the per-call systems)."""
        columns = (cast("list[int]", a.tolist()) for a in (self.sides, self.prices, self.qtys))
        return list(zip(*columns, strict=True))

    def describe(self) -> dict[str, Any]:
        return {
            "name": "l2-random-walk",
            "updates": len(self),
            "seed": self.seed,
            "window_ticks": WINDOW,
            "deletes": int(np.count_nonzero(self.qtys == 0)),
        }


def generate(updates: int = DEFAULT_UPDATES, seed: int = DEFAULT_SEED) -> L2Workload:
    """Updates around a random-walk mid; each side keeps prices within :data:`WINDOW` ticks.

    One in ten updates first moves the mid by one tick; a level that the move leaves behind
    (a bid too far below, an ask at or below the new mid) is deleted at once, so the book never
    crosses and holds about 2,000 levels. Offsets concentrate near the touch; one update in five
    is a delete.
    """
    rng = random.Random(seed)
    sides = array("B")
    prices = array("q")
    qtys = array("q")
    live = (bytearray(TICKS), bytearray(TICKS))
    mid = TICKS // 2

    def emit(side: int, p: int, q: int) -> None:
        sides.append(side)
        prices.append(BASE_TICK + p)
        qtys.append(q)
        live[side][p] = 1 if q else 0

    randrange = rng.randrange
    while len(sides) < updates:
        if randrange(10) == 0:
            mid = min(max(mid + (1 if randrange(2) else -1), WINDOW + 2), TICKS - WINDOW - 2)
            # Only one price per side can leave the window per one-tick move.
            for p in (mid, mid - WINDOW - 1):
                if live[0][p]:
                    emit(0, p, 0)
            for p in (mid, mid + WINDOW + 1):
                if live[1][p]:
                    emit(1, p, 0)
        off = randrange(WINDOW) * randrange(WINDOW) // WINDOW
        q = 0 if randrange(5) == 0 else 1 + randrange(10_000)
        if randrange(2) == 0:
            emit(0, mid - 1 - off, q)
        else:
            emit(1, mid + 1 + off, q)
    n = updates
    return L2Workload(
        np.frombuffer(sides, dtype=np.uint8)[:n].copy(),
        np.frombuffer(prices, dtype=np.int64)[:n].copy(),
        np.frombuffer(qtys, dtype=np.int64)[:n].copy(),
        seed,
    )


@dataclass(frozen=True)
class Row:
    """One line of the report; percentiles only for per-call systems."""

    system: str
    ops_per_s: float
    p50_ns: int | None = None
    p99_ns: int | None = None
    p999_ns: int | None = None


@dataclass
class FeedsReport:
    workload: dict[str, Any]
    rows: list[Row] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The ``bench feeds --json`` document: ``{"workload", "results", "notes"}``."""
        return results_document(self.workload, self.rows, self.notes)

    def to_table(self) -> str:
        """A fixed-width table; each part's rows also relative to its first (Wintermute) row."""
        header = f"{'system':<36}{'ops/s':>16}{'vs first':>10}{'p50 ns':>9}{'p99 ns':>9}"
        lines = [header, "-" * len(header)]
        firsts: dict[str, float] = {}
        for r in self.rows:
            part = r.system.rsplit("/", 1)[0]
            first = firsts.setdefault(part, r.ops_per_s)
            ratio = r.ops_per_s / first if first else math.nan
            p50 = f"{r.p50_ns:,}" if r.p50_ns is not None else "-"
            p99 = f"{r.p99_ns:,}" if r.p99_ns is not None else "-"
            lines.append(f"{r.system:<36}{r.ops_per_s:>16,.0f}{ratio:>10.3f}{p50:>9}{p99:>9}")
        if self.notes:
            lines += ["", "notes:"] + [f"- {note}" for note in self.notes]
        return "\n".join(lines)


def _time_steps(name: str, session: Callable[[], Callable[[int], object]], n: int) -> Row:
    """Throughput over one pass, then per-call latency over a second pass on a fresh book."""
    step = session()
    gc.collect()
    start = time.perf_counter()
    for i in range(n):
        step(i)
    seconds = time.perf_counter() - start
    step = session()
    lat = array("q", bytes(8 * n))
    clock = time.perf_counter_ns
    gc.collect()
    for i in range(n):
        t0 = clock()
        step(i)
        lat[i] = clock() - t0
    ordered = sorted(lat)
    return Row(
        name,
        n / seconds if seconds > 0 else math.inf,
        percentile(ordered, 50),
        percentile(ordered, 99),
        percentile(ordered, 99.9),
    )


def _wintermute_per_call(updates: Sequence[tuple[int, int, int]]) -> Callable[[int], object]:
    from wintermute._core import TickBook

    book = TickBook()
    set_, bid, ask = book.set, book.best_bid_price, book.best_ask_price

    def step(i: int) -> object:
        s, p, q = updates[i]
        set_(s, p, q)
        return bid(), ask()

    return step


def run_l2(work: L2Workload, systems: Sequence[str], report: FeedsReport) -> None:
    """The L2-alone rows, Wintermute first; every peer's final best prices are checked."""
    from wintermute._core import TickBook, tick_book_replay

    wanted = set(systems)
    n = len(work)
    if "wintermute-native" in wanted:
        # Repeat so the timed loop lasts long enough to measure.
        repeat = max(1, 3_000_000 // max(n, 1))
        out = tick_book_replay(work.sides, work.prices, work.qtys, repeat=repeat)
        report.rows.append(Row("l2/wintermute-native", out["updates"] / out["seconds"]))
    reference = TickBook()
    start = time.perf_counter()
    bids, asks = reference.apply(work.sides, work.prices, work.qtys)
    seconds = time.perf_counter() - start
    if "wintermute-batch" in wanted:
        report.rows.append(Row("l2/wintermute-batch", n / seconds if seconds > 0 else math.inf))
    want = (_none_if(int(bids[-1]), TickBook.NO_BID), _none_if(int(asks[-1]), TickBook.NO_ASK))
    updates = work.updates()
    if "wintermute-per-call" in wanted:
        report.rows.append(
            _time_steps("l2/wintermute-per-call", lambda: _wintermute_per_call(updates), n)
        )
    report.notes.append(
        "l2/wintermute-*: TickBook (integer ticks and lots); native = Rust loop behind one call, "
        "batch = apply(numpy arrays) with the GIL released, per-call = set() + best_bid_price() "
        "+ best_ask_price() per update"
    )
    for peer in L2_PEERS:
        if peer.name not in wanted:
            continue
        if not peer.available():
            if os.environ.get("CI") == "true":
                raise RuntimeError(
                    f"peer {peer.name} is missing under CI=true ({peer.install_hint})"
                )
            report.notes.append(f"l2/{peer.name} left out: not installed ({peer.install_hint})")
            continue
        report.rows.append(_time_steps(f"l2/{peer.name}", partial(peer.session, updates), n))
        final = peer.session(updates)
        got: object = None
        for i in range(n):
            got = final(i)
        note = peer.note
        if _normalize(got) != want:
            note += f" -- MISMATCH: final best {got!r}, Wintermute {want!r}"
        report.notes.append(note)
    if "hftbacktest" in wanted:
        if importlib.util.find_spec("hftbacktest") is None:
            report.notes.append(
                "l2/hftbacktest left out: not installed (pip install hftbacktest, or the "
                "peers extra; it pulls numba, llvmlite, polars, holoviews, panel, bokeh and "
                "matplotlib, about 700 MB)"
            )
        else:
            seconds, best = hftbacktest_loop(work.sides, work.prices, work.qtys)
            report.rows.append(Row("l2/hftbacktest", n / seconds if seconds > 0 else math.inf))
            check = "" if best == want else f" -- MISMATCH: final best {best}, Wintermute {want}"
            report.notes.append(
                "l2/hftbacktest: HashMapMarketDepthBacktest driven by its own event array in a "
                "numba-compiled loop, elapse(1) per event, best bid/ask of depth(0) after each "
                "(includes the backtester's per-step work)" + check
            )


def _none_if(value: int, sentinel: int) -> int | None:
    return None if value == sentinel else value


def _normalize(best: object) -> tuple[int | None, int | None]:
    """A peer's (best bid, best ask) as ints (Nautilus returns ``Price`` objects)."""
    if not isinstance(best, tuple) or len(best) != 2:
        return (None, None)
    return tuple(None if v is None else int(float(str(v))) for v in best)  # type: ignore[return-value]


def data_dir() -> Path | None:
    """The recordings folder: ``$WINTERMUTE_DATA`` or the repository's ``data/``."""
    env = os.environ.get("WINTERMUTE_DATA")
    candidates = [Path(env)] if env else []
    candidates.append(Path(__file__).resolve().parents[3] / "data")
    return next((c for c in candidates if (c / "binance").is_dir()), None)


#: The recorded Binance session's instruments (April 2021): symbol, tick size, lot size.
BINANCE_INSTRUMENTS = [
    ("BTCUSDT", "0.01", "0.00000001"),
    ("ETHUSDT", "0.01", "0.00000001"),
    ("DOTUSDT", "0.0001", "0.00000001"),
]


def _ticks_text(ticks: int | None, tick: str) -> str | None:
    """Integer ticks back to normalized decimal text."""
    if ticks is None:
        return None
    return format((Decimal(ticks) * Decimal(tick)).normalize(), "f")


def run_json(report: FeedsReport, systems: Sequence[str], repeat: int = 3) -> None:
    """The JSON -> book rows: each venue's recording through its Rust book builder, Binance's
    also through the integer path, and the installed peers of each venue (their final tops
    cross-checked); peers that cannot run a venue's recording are noted with why."""
    from wintermute._core import feeds_recorded_messages, feeds_replay_timed

    root = data_dir()
    if root is None:
        report.notes.append("json/*: recordings not found (set WINTERMUTE_DATA to the data folder)")
        return
    for venue, rel in RECORDINGS.items():
        messages = feeds_recorded_messages(str(root / rel))
        out = feeds_replay_timed(venue, messages, repeat=repeat)
        report.rows.append(Row(f"json/{venue}/wintermute", out["messages"] / out["seconds"]))
        report.notes.append(
            f"json/{venue}/wintermute: {len(messages)} recorded messages (REST snapshots "
            f"included) parsed and applied with sync checks, {out['errors']} rejected"
        )
        want = {
            s: tuple(None if t is None else format(Decimal(t).normalize(), "f") for t in top)
            for s, top in out["tops"].items()
        }
        if venue == "binance":
            _run_binance_ticks(report, messages, want, repeat)
            _run_binance_tick_feed(report, messages, want, repeat)
        for left_venue, left_peer, why in JSON_PEERS_LEFT_OUT:
            if left_venue == venue and left_peer in systems:
                report.notes.append(f"json/{venue}/{left_peer} left out: {why}")
        for peer in JSON_PEERS:
            if peer.venue != venue or peer.name not in systems:
                continue
            if not peer.available():
                if os.environ.get("CI") == "true":
                    raise RuntimeError(f"peer {peer.name} is missing under CI=true")
                report.notes.append(f"json/{venue}/{peer.name} left out: not installed")
                continue
            seconds, tops = peer.run(messages)
            report.rows.append(Row(f"json/{venue}/{peer.name}", len(messages) / seconds))
            check = "" if tops == want else f" -- MISMATCH: final tops {tops} vs {want}"
            report.notes.append(peer.note + check)


def _run_binance_ticks(
    report: FeedsReport,
    messages: list[tuple[str | None, str]],
    want: dict[str, tuple[str | None, ...]],
    repeat: int,
) -> None:
    """The ``json/binance/wintermute-ticks`` row: Binance's integer path, tops checked."""
    from wintermute._core import binance_ticks_replay_timed

    ticks = binance_ticks_replay_timed(messages, BINANCE_INSTRUMENTS, repeat=repeat)
    report.rows.append(Row("json/binance/wintermute-ticks", ticks["messages"] / ticks["seconds"]))
    got = {
        s: tuple(_ticks_text(t, tick) for t in ticks["tops"][s])
        for s, tick, _ in BINANCE_INSTRUMENTS
    }
    report.notes.append(
        "json/binance/wintermute-ticks: the integer path (BinanceTickBooks: prices in ticks, "
        f"quantities in lots, same sync procedure), {ticks['errors']} rejected"
        + ("" if got == want else f" -- MISMATCH: final tops {got} vs {want}")
    )


def _run_binance_tick_feed(
    report: FeedsReport,
    messages: list[tuple[str | None, str]],
    want: dict[str, tuple[str | None, ...]],
    repeat: int,
) -> None:
    """The ``json/binance/wintermute-tick-feed`` row: the connector's integer handler
    (``BinanceTickFeed``: what ``feeds.watch(..., scales=...)`` runs), tops checked."""
    from wintermute._core import feeds_replay_timed

    out = feeds_replay_timed("binance", messages, repeat=repeat, scales=BINANCE_INSTRUMENTS)
    report.rows.append(Row("json/binance/wintermute-tick-feed", out["messages"] / out["seconds"]))
    got = {s: tuple(out["tops"][s]) for s, _, _ in BINANCE_INSTRUMENTS}
    report.notes.append(
        "json/binance/wintermute-tick-feed: the connector's integer handler (BinanceTickFeed: "
        "the integer books plus the stream counters, trades and normalized-event tap of the "
        f"FeedHandler path, 65,536-tick windows as the connector's default), {out['errors']} "
        "rejected" + ("" if got == want else f" -- MISMATCH: final tops {got} vs {want}")
    )


def run(
    updates: int = DEFAULT_UPDATES,
    seed: int = DEFAULT_SEED,
    systems: Sequence[str] = (),
) -> FeedsReport:
    """Both parts (only the named systems when ``systems`` is given; ``json`` names part 2)."""
    chosen = list(systems) or list(SYSTEMS)
    work = generate(updates, seed)
    report = FeedsReport({**work.describe(), "venues": sorted(RECORDINGS)})
    run_l2(work, chosen, report)
    if "json" in chosen:
        run_json(report, chosen)
    return report


def add_parser(targets: Any) -> None:
    """Adds the ``feeds`` sub-target to ``wintermute bench``'s sub-parsers."""
    p = targets.add_parser(
        "feeds",
        help="market-data speed: the L2 book alone and exchange JSON -> book, beside peers",
    )
    p.add_argument("--json", action="store_true", help="print a JSON document")
    p.add_argument(
        "--updates", type=positive_int, default=DEFAULT_UPDATES, help="level updates (L2 alone)"
    )
    p.add_argument("--seed", type=int, default=DEFAULT_SEED, help="workload seed")
    p.add_argument(
        "--system",
        action="append",
        choices=SYSTEMS,
        help="run only this system (repeatable; 'json' is the JSON -> book part)",
    )
    p.set_defaults(handler=_main)


def _main(args: argparse.Namespace) -> int:
    report = run(updates=args.updates, seed=args.seed, systems=args.system or ())
    if args.json:
        print(json.dumps(report.to_json(), indent=2))
    else:
        print(report.to_table())
    return 0
