#!/usr/bin/env python3
"""REST order entry under load: the Rust listener (``[service] order_entry_bind``) and the
Python route, in the same run, on the same venue.

Starts the service on 127.0.0.1 (the Python app on a free port, the Rust listener on another),
then runs the load generator (``order_entry_load``, a small Rust HTTP/1.1 client: keep-alive
connections, each placing a limit order and canceling it in a loop, bounded and
self-stopping) against the Rust listener, then against the Python app. Every order an answer
acknowledged (201) is then looked up in the venue's order table: it must be there, canceled.
Prints one JSON line per target and exits 1 if an acknowledged order is missing.

Build the client first (no LTO, to keep the build short)::

    CARGO_PROFILE_RELEASE_LTO=off CARGO_PROFILE_RELEASE_CODEGEN_UNITS=16 \\
        cargo build --release -p wintermute-front --bin order_entry_load -j2
    .venv/bin/python scripts/bench_order_entry.py --seconds 10 --connections 32
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
from pathlib import Path
from resource import RUSAGE_CHILDREN as CHILDREN
from typing import Any

from wintermute.service.app import create_app
from wintermute.service.keys import demo_keys
from wintermute.service.server import background
from wintermute.service.settings import ServiceSettings

ROOT = Path(__file__).resolve().parent.parent
CONFIG: dict[str, Any] = {
    "instruments": [
        {
            "symbol": "BTC-USD",
            "tick_size": "0.01",
            "lot_size": "0.001",
            "min_qty": "0.001",
            "max_qty": "100",
            "min_price": "1",
            "max_price": "1000000",
        }
    ],
    "threads": {"risk": {"wait": "park"}, "matching": {"wait": "park"}},
    "risk": {"default_limits": {"max_order_qty": 100_000}},
}


def _load(
    binary: Path, addr: str, seconds: float, connections: int
) -> tuple[dict[str, Any], list[int]]:
    with tempfile.NamedTemporaryFile("r", suffix=".ids") as ids:
        out = subprocess.run(
            [
                str(binary), "--addr", addr, "--key", "demo-key-1,demo-key-2,demo-key-3",
                "--connections", str(connections), "--seconds", str(seconds),
                "--symbol", "BTC-USD", "--qty", "0.001", "--price", "1000", "--ids", ids.name,
            ],
            check=True, capture_output=True, text=True, timeout=seconds + 120,
        )  # fmt: skip
        return json.loads(out.stdout), [int(line) for line in Path(ids.name).read_text().split()]


def _thread_cpu() -> dict[str, tuple[float, float]]:
    """CPU seconds (user, system) of this process's threads so far, summed by thread name
    (``/proc/self/task``; empty where there is none)."""
    tick = os.sysconf("SC_CLK_TCK")
    out: dict[str, tuple[float, float]] = {}
    tasks = Path("/proc/self/task")
    for task in tasks.iterdir() if tasks.exists() else ():
        try:
            stat = (task / "stat").read_text()
        except OSError:  # the thread ended meanwhile
            continue
        name = stat[stat.index("(") + 1 : stat.rindex(")")]
        fields = stat[stat.rindex(")") + 2 :].split()
        user, system = out.get(name, (0.0, 0.0))
        out[name] = (user + int(fields[11]) / tick, system + int(fields[12]) / tick)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument(
        "--python-connections", type=int, default=None, help="default: --connections"
    )
    parser.add_argument("--load", type=Path, default=ROOT / "target/release/order_entry_load")
    parser.add_argument(
        "--targets", default="rust,python", help="which to load, in order (default: rust,python)"
    )
    args = parser.parse_args()
    if not args.load.exists():
        print(f"no load generator at {args.load}: build it first (see --help)", file=sys.stderr)
        return 2
    settings = ServiceSettings(
        rate_limit_per_s=10**9, rate_limit_burst=10**9, history_size=10**7,
        order_entry_bind="127.0.0.1:0",
    )  # fmt: skip
    app = create_app(CONFIG, keys=demo_keys(), settings=settings)
    venue = app.state.venue
    missing = 0
    try:
        with background(app) as url:
            host, port = app.state.order_entry.address
            targets = [
                ("rust", f"{host}:{port}", args.connections),
                (
                    "python",
                    url.removeprefix("http://"),
                    args.python_connections or args.connections,
                ),
            ]
            wanted = args.targets.split(",")
            unknown = set(wanted) - {name for name, _, _ in targets}
            if unknown:
                print(f"--targets: unknown {sorted(unknown)}", file=sys.stderr)
                return 2
            chosen = [t for name in wanted for t in targets if t[0] == name]
            for name, addr, connections in chosen:
                cpu_before, client_before = _thread_cpu(), resource.getrusage(CHILDREN)
                report, ids = _load(args.load, addr, args.seconds, connections)
                cpu, client = _thread_cpu(), resource.getrusage(CHILDREN)
                per_order = 1e6 / max(len(ids), 1)
                # CPU time per order acknowledged (µs, user and system): this process's
                # threads by name, and the load generator's.
                cpu_us = {
                    k: [round((u - b[0]) * per_order, 1), round((s - b[1]) * per_order, 1)]
                    for k, (u, s) in sorted(cpu.items())
                    for b in [cpu_before.get(k, (0.0, 0.0))]
                    if u + s > b[0] + b[1]
                }
                client_us = [
                    round((client.ru_utime - client_before.ru_utime) * per_order, 1),
                    round((client.ru_stime - client_before.ru_stime) * per_order, 1),
                ]
                lost = [
                    i for i in ids if (venue._orders.order(i) or (None,) * 12)[11] != "canceled"
                ]
                missing += len(lost)
                report.update(
                    target=name, checked=len(ids), not_canceled_in_table=len(lost),
                    load_avg=os.getloadavg()[0], cpus=os.cpu_count(),
                    server_cpu_us_per_order=cpu_us, client_cpu_us_per_order=client_us,
                )  # fmt: skip
                print(json.dumps(report), flush=True)
    finally:
        venue.close()
    return 1 if missing else 0


if __name__ == "__main__":
    sys.exit(main())
