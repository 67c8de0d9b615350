#!/usr/bin/env python3
"""The venue's quantity and price checks as the Python routes call them: the checks in Rust
(``wintermute.service.order_input``: ``_core.OrderGrid``) against the checks as they were
written in Python (``decimal``: ``wintermute.bench.order_input``, the baseline), in the same
run, on the same values.

Each case checks one order's quantity and price as its route hands them over: the REST place
route the body's text (it made a ``Decimal`` of each before; the baseline still does), the
Binance-compatible API and Python callers a ``Decimal``; and one refused price (off the tick
grid: an exception each time). Prints one JSON line per case: nanoseconds per order for each,
and the baseline over the Rust checks (above 1: the Rust checks are faster).

Usage: ``.venv/bin/python scripts/bench_order_input.py [--seconds 1.0] [--rounds 5]`` (the
best round of each is kept: the machine is shared and noisy). Instructions per order, which
the noise does not move: run one case's body ``--count`` times under callgrind, twice, and
divide the difference by the difference of the counts::

    valgrind --tool=callgrind --callgrind-out-file=/dev/null \
        .venv/bin/python scripts/bench_order_input.py --case "rest text" --impl rust --count 2000
    (then --count 12000; Ir difference / 10000 = instructions per order)
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable
from decimal import Decimal

from wintermute.bench.order_input import python_lots, python_ticks
from wintermute.service.order_input import grid_of, lots_of, ticks_of
from wintermute.service.venue_records import InstrumentInfo, VenueError

D = Decimal
BTC = InstrumentInfo(
    "BTC-USD", "BTC", "USD", D("0.01"), D("0.001"), D("0.001"), D("100"), D("1"), D("1000000")
)

# ---- the cases ---------------------------------------------------------------------------

GRID = grid_of(BTC)
QTYS = ["0.5", "1.250", "0.001", "12.345"]
PRICES = ["100.25", "60000.01", "1", "999999.99"]


def _rest_python(q: str, p: str) -> object:
    return python_lots(Decimal(q), BTC), python_ticks(Decimal(p), BTC)


def _rest_rust(q: str, p: str) -> object:
    return lots_of(q, GRID), ticks_of(p, GRID)


def _decimal_python(q: Decimal, p: Decimal) -> object:
    return python_lots(q, BTC), python_ticks(p, BTC)


def _decimal_rust(q: Decimal, p: Decimal) -> object:
    return lots_of(q, GRID), ticks_of(p, GRID)


def _refused(check: Callable[[], object]) -> Callable[[], object]:
    def run() -> object:
        try:
            return check()
        except VenueError as e:
            return e.code

    return run


def _per_order_ns(body: Callable[[], object], seconds: float) -> float:
    """Nanoseconds per call of ``body`` over about ``seconds``."""
    n, start = 0, time.perf_counter_ns()
    deadline = start + int(seconds * 1e9)
    while True:
        for _ in range(1000):
            body()
        n += 1000
        now = time.perf_counter_ns()
        if now >= deadline:
            return (now - start) / n


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seconds", type=float, default=1.0)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument(
        "--count",
        type=int,
        help="instead of timing, run --case with --impl this many times (for callgrind)",
    )
    parser.add_argument("--case", default="rest text")
    parser.add_argument("--impl", choices=("python", "rust"), default="rust")
    args = parser.parse_args()
    pairs = list(zip(QTYS, PRICES, strict=True))
    dec_pairs = [(D(q), D(p)) for q, p in pairs]
    cycle = {"i": 0}

    def nxt() -> int:
        cycle["i"] = (cycle["i"] + 1) % len(pairs)
        return cycle["i"]

    cases: dict[str, tuple[Callable[[], object], Callable[[], object]]] = {
        "rest text": (
            lambda: _rest_python(*pairs[nxt()]),
            lambda: _rest_rust(*pairs[nxt()]),
        ),
        "decimal": (
            lambda: _decimal_python(*dec_pairs[nxt()]),
            lambda: _decimal_rust(*dec_pairs[nxt()]),
        ),
        "off tick (refused)": (  # the same code
            _refused(lambda: python_ticks(Decimal("100.001"), BTC)),
            _refused(lambda: ticks_of("100.001", GRID)),
        ),
    }
    if args.count is not None:
        body = cases[args.case][0 if args.impl == "python" else 1]
        for _ in range(args.count):
            body()
        return
    for q, p in pairs:  # the same answers before any timing
        assert _rest_python(q, p) == _rest_rust(q, p) == _decimal_rust(D(q), D(p)), (q, p)
    for name, (python, rust) in cases.items():
        best_py, best_rs = float("inf"), float("inf")
        for _ in range(args.rounds):  # interleaved: both see the same machine
            best_py = min(best_py, _per_order_ns(python, args.seconds))
            best_rs = min(best_rs, _per_order_ns(rust, args.seconds))
        print(
            json.dumps(
                {
                    "case": name,
                    "python_ns": round(best_py),
                    "rust_ns": round(best_rs),
                    "python_over_rust": round(best_py / best_rs, 2),
                }
            )
        )


if __name__ == "__main__":
    main()
