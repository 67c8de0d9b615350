"""``wintermute bench service``: a load test of the service over real sockets on 127.0.0.1.

::

    wintermute bench service [--seconds 60] [--clients 16] [--subscribers 8]
                             [--hello-seconds S] [--engine-seconds S] [--ws-buffer N] [--json]
    wintermute bench service --fanout N [--updates 5000] [--json]
    wintermute bench service --redis URL [--redis-seconds 10] ...

``--fanout N`` measures the WebSocket fan-out alone (N subscribers of one book, the path
before the fan-out as the baseline in the same run): ``wintermute.bench.service_fanout``.
``--redis URL`` adds, after the run below, the cost of the Redis publisher
(``wintermute.service.market_redis``) on the service: the synthetic external market runs in
the server's process, and the REST load (the same clients, no subscribers) runs three times,
``--redis-seconds`` each, five times: publisher off, on (every 0.1 s, as
``[service.redis]``'s default), off, on, off; reported: each phase's requests a second and
p50/p99, and the ratios of the "on" phases' mean to the "off" phases'.

Without ``--fanout``:

One run, in this order, each phase bounded by its duration:

1. **The venue in-process** (in the server's process, before any HTTP): 32 coroutines place
   and cancel through ``Venue.place`` / ``Venue.cancel`` — the rate the REST path is compared
   with.
2. **The load generator's ceiling**: the REST clients ``GET`` a raw asyncio server that
   answers a constant — no framework; what the clients themselves can do.
3. **The framework's ceiling**: the same against ``/bench/hello`` of the service app (its
   middleware, routing, JSON; no venue).
4. **The load**: ``--clients`` REST clients (one keep-alive connection and one API key each)
   place a passive limit order and cancel it, every tenth round an IOC that trades, while
   ``--subscribers`` WebSocket clients read the book and the trades and one more client
   subscribes and never reads. Reported: requests and orders a second, latency p50/p90/p99/
   p99.9 (exact, from every answer), WebSocket messages a second across the subscribers,
   gaps in their book sequence (must be 0), engine event -> subscriber latency (each
   trade's venue timestamp to its receipt), and whether the stalled client was dropped
   (``slow_consumer``, or ``send_timeout`` if its socket stayed full that long first) while
   the others kept up.
5. **Nothing lost**: every acknowledged order is looked up in the venue (which keeps every
   order for the run): it must exist with the status the client was last told (or filled
   since), and an open one must have its place in the book.

The server (uvicorn with uvloop and httptools, the app of ``wintermute serve``), the REST
clients and the WebSocket subscribers run in three processes, so none shares another's
interpreter (a subscriber's latency is not its process's REST work); on a machine with few
cores they still share the CPUs, which the ceilings in 2 and 3 make visible.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import sys
import time
from collections.abc import Callable
from typing import Any

from wintermute.cli_args import positive_float, positive_int

__all__ = ["add_parser", "run", "to_table"]

START_TIMEOUT_S = 60.0
#: Waves of 2,000 trades the burst sends at most (0.2 s apart) to fill the stalled client.
BURST_MAX_WAVES = 250
#: How long the subscribers may take to receive the last trade after the burst.
CATCH_UP_S = 60.0
#: The ``--redis`` phases: the publisher off and on in turn, so slow drifts of a shared
#: machine weigh on both.
REDIS_PHASES = (False, True, False, True, False)


def _recv(conn: Any, process: Any, timeout_s: float, what: str) -> Any:
    """The process's next message; an error if it ends or says nothing in time."""
    deadline = time.monotonic() + timeout_s
    while not conn.poll(0.2):
        if process is not None and not process.is_alive():
            raise RuntimeError(f"bench service: the {what} process ended ({process.exitcode})")
        if time.monotonic() > deadline:
            raise RuntimeError(f"bench service: no {what} within {timeout_s:.0f}s")
    return conn.recv()


def _load_phase(
    url: str, server: Any, conn: Any, clients: int, subscribers: int, seconds: float,
    cross_every: int,
) -> dict[str, Any]:  # fmt: skip
    """The REST load with the subscribers reading (in a process of their own), then the
    burst that must drop the stalled client, then the subscribers' catch-up (every trade
    reaches every reader)."""
    from wintermute.bench import service_load as load
    from wintermute.bench.service_server import BENCH_SYMBOL

    ctx = multiprocessing.get_context("spawn")
    here, there = ctx.Pipe()
    readers = ctx.Process(
        target=load.serve_subscribers, args=(there, url, BENCH_SYMBOL, subscribers),
        name="bench-subscribers", daemon=True,
    )  # fmt: skip
    readers.start()
    out: dict[str, Any] = {}
    try:
        _recv(here, readers, START_TIMEOUT_S, "subscribers")
        rest = out["rest"] = load.run_loop(
            load.rest_load(url, clients, seconds, symbol=BENCH_SYMBOL, cross_every=cross_every)
        )
        here.send(("quiet",))
        _, totals = _recv(here, readers, 30, "subscribers")
        out["load_messages"] = totals["messages"]
        filled = sum(status == "filled" for _, status in rest.acked.values())
        started = time.perf_counter()
        conn.send(("burst", BURST_MAX_WAVES))
        _, out["burst"] = _recv(conn, server, 120, "burst")
        here.send(("wait", filled + out["burst"]["trades"], CATCH_UP_S))  # IOC filled: 1 trade
        _recv(here, readers, CATCH_UP_S + 30, "subscribers")
        out["burst_fanout_s"] = time.perf_counter() - started
        conn.send(("counters",))
        _, out["counters"] = _recv(conn, server, 30, "counters")
        here.send(("stop",))
        _, done = _recv(here, readers, 60, "subscribers")
        out["subscribers"], out["stalled_dropped"] = done["subscribers"], done["stalled_dropped"]
    finally:
        readers.join(10)
        if readers.is_alive():
            readers.kill()
    return out


def run(
    *,
    seconds: float = 60.0,
    clients: int = 16,
    subscribers: int = 8,
    hello_seconds: float | None = None,
    engine_seconds: float | None = None,
    ws_buffer: int = 20_000,
    cross_every: int = 10,
    redis_url: str | None = None,
    redis_seconds: float = 10.0,
    freeze_heap: bool = True,
) -> dict[str, Any]:
    """One run (see the module documentation); the result as a JSON-able dict."""
    from wintermute.bench import service_load as load
    from wintermute.bench.service_server import ServerOptions, serve_bench, serve_hello

    hello_s = hello_seconds if hello_seconds is not None else min(10.0, max(1.0, seconds / 6))
    engine_s = engine_seconds if engine_seconds is not None else hello_s
    ctx = multiprocessing.get_context("spawn")
    result: dict[str, Any] = {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "load_average": list(os.getloadavg())},
        "settings": {
            "seconds": seconds, "clients": clients, "subscribers": subscribers,
            "hello_seconds": hello_s, "engine_seconds": engine_s, "ws_buffer": ws_buffer,
            "cross_every": cross_every, "server": "uvicorn (uvloop, httptools)",
            "freeze_heap": freeze_heap,
        },
    }  # fmt: skip

    here, there = ctx.Pipe()
    hello = ctx.Process(target=serve_hello, args=(there,), name="bench-hello", daemon=True)
    hello.start()
    try:
        _, raw_url = _recv(here, hello, START_TIMEOUT_S, "hello server")
        result["client_ceiling"] = load.run_loop(load.hello_load(raw_url, clients, hello_s))
    finally:
        here.send(("stop",))
        hello.join(10)
        if hello.is_alive():
            hello.kill()

    here, there = ctx.Pipe()
    options = ServerOptions(
        clients, ws_buffer=ws_buffer, engine_s=engine_s, freeze_heap=freeze_heap
    )
    server = ctx.Process(target=serve_bench, args=(there, options), name="bench-server")
    server.start()
    try:
        _, info = _recv(here, server, START_TIMEOUT_S + engine_s, "server")
        url = info["url"]
        engine = info["engine"]
        result["engine_in_process"] = {
            "commands": engine["commands"], "seconds": engine["seconds"],
            "commands_per_s": engine["commands"] / engine["seconds"],
            "latency_ms": load.percentiles_ms(engine["latencies_ns"]),
        }  # fmt: skip
        result["framework_hello"] = load.run_loop(
            load.hello_load(f"{url}/bench/hello", clients, hello_s)
        )
        phase = _load_phase(url, server, here, clients, subscribers, seconds, cross_every)
        rest, subs, counters = phase["rest"], phase["subscribers"], phase["counters"]
        acked = [(account, oid, status) for oid, (account, status) in rest.acked.items()]
        here.send(("verify", acked))
        _, verified = _recv(here, server, 120, "verification")
        if redis_url is not None:
            result["redis_publisher"] = _redis_phases(
                url, server, here, redis_url, clients, redis_seconds
            )
    finally:
        here.send(("stop",))
        server.join(30)
        if server.is_alive():
            server.kill()

    orders = rest.places + rest.crosses
    result["rest"] = {
        "requests": rest.requests, "seconds": rest.seconds,
        "requests_per_s": rest.requests / rest.seconds, "orders_per_s": orders / rest.seconds,
        "places": rest.places, "cancels": rest.cancels, "crossing_orders": rest.crosses,
        "statuses": {str(k): v for k, v in sorted(rest.statuses.items())},
        "latency_ms": load.percentiles_ms(rest.latencies_ns),
    }  # fmt: skip
    messages = phase["load_messages"]
    lat = [x for s in subs for x in s["trade_latencies_ns"]]
    burst = phase["burst"]
    delivered = burst["trades"] * subscribers
    result["websocket"] = {
        "subscribers": subscribers,
        "messages": messages,
        "messages_per_s": messages / rest.seconds,
        "book_deltas": sum(s["deltas"] for s in subs),
        "gaps": sum(s["gaps"] for s in subs),
        "trades_on_tape": counters.get("trades", 0),
        "trades_per_subscriber": [s["trades"] for s in subs],
        "subscribers_closed": [s["closed"] for s in subs if s["closed"] is not None],
        "event_to_client_ms": load.percentiles_ms(lat),
        "burst_trades": burst["trades"],
        "burst_seconds_to_drop": burst["seconds"],
        # The burst's trades delivered to every reader, a second (None: no burst was needed).
        "burst_fanout_trades_per_s": delivered / phase["burst_fanout_s"] if delivered else None,
        "stalled_client_dropped": phase["stalled_dropped"],
        "clients_dropped": burst["dropped"],
    }
    result["verify"] = verified
    result["rest_vs_engine"] = result["rest"]["requests_per_s"] / max(
        result["engine_in_process"]["commands_per_s"], 1e-9
    )
    return result


def _redis_phases(
    url: str, server: Any, conn: Any, redis_url: str, clients: int, seconds: float
) -> dict[str, Any]:
    """REST load with the Redis publisher off and on in turn, five phases (see the module
    documentation)."""
    from wintermute.bench import service_load as load
    from wintermute.bench.service_server import BENCH_SYMBOL

    phases: list[dict[str, Any]] = []
    for on in REDIS_PHASES:
        conn.send(("redis", redis_url, on))
        _, done = _recv(conn, server, START_TIMEOUT_S + 60, "redis switch")
        if phases and done:
            phases[-1]["publisher"] = done
        rest = load.run_loop(load.rest_load(url, clients, seconds, symbol=BENCH_SYMBOL))
        phases.append({
            "publisher_on": on, "orders_per_s": (rest.places + rest.crosses) / rest.seconds,
            "requests_per_s": rest.requests / rest.seconds,
            "latency_ms": load.percentiles_ms(rest.latencies_ns),
        })  # fmt: skip
    conn.send(("redis", redis_url, False))
    _, done = _recv(conn, server, 60, "redis switch")
    if done:
        phases[-1]["publisher"] = done

    def mean(on: bool, value: Callable[[dict[str, Any]], float]) -> float:
        chosen = [value(p) for p in phases if p["publisher_on"] == on]
        return sum(chosen) / len(chosen)

    def requests(p: dict[str, Any]) -> float:
        return float(p["requests_per_s"])

    def p99(p: dict[str, Any]) -> float:
        return float(p["latency_ms"]["p99"])

    return {
        "seconds": seconds, "phases": phases,
        "requests_ratio_on_vs_off": mean(True, requests) / max(mean(False, requests), 1e-9),
        "p99_ratio_on_vs_off": mean(True, p99) / max(mean(False, p99), 1e-9),
    }  # fmt: skip


def _rate(x: float | None) -> str:
    return "-" if x is None else f"{x:,.0f}/s"


def _lat(d: dict[str, float]) -> str:
    return f"p50 {d['p50']:.2f} ms, p99 {d['p99']:.2f} ms, p99.9 {d['p999']:.2f} ms"


def to_table(r: dict[str, Any]) -> str:
    """The result as text, one line per measurement."""
    s, e, c, f = r["settings"], r["engine_in_process"], r["client_ceiling"], r["framework_hello"]
    rest, ws, v = r["rest"], r["websocket"], r["verify"]
    load_avg = ", ".join(f"{x:.1f}" for x in r["machine"]["load_average"])
    return "\n".join([
        f"wintermute bench service ({r['date']}; {r['machine']['cpus']} CPUs, load {load_avg}; "
        f"{s['server']})",
        f"venue in-process ({s['engine_seconds']:.0f}s, 32 callers): "
        f"{e['commands_per_s']:,.0f} commands/s; {_lat(e['latency_ms'])}",
        f"client ceiling (raw hello server, {s['clients']} clients): "
        f"{c['requests_per_s']:,.0f} req/s; {_lat(c['latency_ms'])}",
        f"framework hello (the app's /bench/hello): {f['requests_per_s']:,.0f} req/s; "
        f"{_lat(f['latency_ms'])}",
        f"REST place+cancel ({s['seconds']:.0f}s, {s['clients']} clients): "
        f"{rest['requests_per_s']:,.0f} req/s ({rest['orders_per_s']:,.0f} orders/s); "
        f"{_lat(rest['latency_ms'])}; statuses {rest['statuses']}",
        f"REST / venue in-process: {r['rest_vs_engine']:.2f}x",
        f"WebSocket ({ws['subscribers']} subscribers) during the load: "
        f"{ws['messages_per_s']:,.0f} messages/s; {ws['gaps']} gaps; "
        f"engine event -> client {_lat(ws['event_to_client_ms'])}",
        f"burst: {ws['burst_trades']:,} trades in {ws['burst_seconds_to_drop']:.1f}s, stalled "
        f"client dropped: {ws['stalled_client_dropped']} (server drops: "
        f"{ws['clients_dropped']}); trades fanned out {_rate(ws['burst_fanout_trades_per_s'])}",
        f"trades on the tape {ws['trades_on_tape']:,}; each subscriber got "
        f"{ws['trades_per_subscriber']}; subscribers closed: {ws['subscribers_closed']}",
        f"acknowledged orders checked: {v['checked']:,}; missing {v['missing']}, "
        f"mismatched {v['mismatched']}, resting but not in the book {v['resting_not_in_book']}",
        *_redis_lines(r.get("redis_publisher")),
    ])  # fmt: skip


def _redis_lines(rp: dict[str, Any] | None) -> list[str]:
    if rp is None:
        return []
    lines = [
        f"REST with the Redis publisher {'ON ' if p['publisher_on'] else 'off'} "
        f"({rp['seconds']:.0f}s): {p['requests_per_s']:,.0f} req/s; {_lat(p['latency_ms'])}"
        + (f"; {p['publisher']['published']} rounds published, {p['publisher']['failed']} "
           "failed" if p.get("publisher") else "")
        for p in rp["phases"]
    ]  # fmt: skip
    lines.append(
        f"Redis publisher on / off: requests {rp['requests_ratio_on_vs_off']:.3f}x, "
        f"p99 {rp['p99_ratio_on_vs_off']:.3f}x"
    )
    return lines


def _fanout_main(args: argparse.Namespace) -> int:
    from wintermute.bench.service_fanout import run_fanout
    from wintermute.bench.service_fanout import to_table as fanout_table

    result = run_fanout(subscribers=args.fanout, updates=args.updates)
    print(json.dumps(result, indent=2) if args.json else fanout_table(result))
    incomplete = [
        name for name in ("per_client", "fanout")
        if result[name]["readers_complete"] != args.fanout or result[name]["gaps"]
    ]  # fmt: skip
    if incomplete:
        print(f"bench service --fanout: readers missed updates: {incomplete}", file=sys.stderr)
    return 1 if incomplete else 0


def _main(args: argparse.Namespace) -> int:
    if args.fanout:
        return _fanout_main(args)
    result = run(
        seconds=args.seconds, clients=args.clients, subscribers=args.subscribers,
        hello_seconds=args.hello_seconds, engine_seconds=args.engine_seconds,
        ws_buffer=args.ws_buffer, redis_url=args.redis, redis_seconds=args.redis_seconds,
        freeze_heap=args.freeze_heap,
    )  # fmt: skip
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(to_table(result))
    lost = result["verify"]["missing"] + result["verify"]["mismatched"]
    if lost:
        print(f"bench service: {lost} acknowledged orders lost or wrong", file=sys.stderr)
    return 1 if lost else 0


def add_parser(targets: Any) -> None:
    """Adds the ``service`` sub-target to ``wintermute bench``'s sub-parsers."""
    p = targets.add_parser("service", help="load test of the REST and WebSocket APIs on 127.0.0.1")
    p.add_argument("--seconds", type=positive_float, default=60.0, help="load duration")
    p.add_argument("--clients", type=positive_int, default=16, help="REST clients")
    p.add_argument("--subscribers", type=positive_int, default=8, help="WebSocket readers")
    p.add_argument("--hello-seconds", type=positive_float, help="each ceiling's duration")
    p.add_argument("--engine-seconds", type=positive_float, help="in-process duration")
    p.add_argument(
        "--ws-buffer", type=positive_int, default=20_000,
        help="events a WebSocket client may leave unsent before it is dropped",
    )  # fmt: skip
    p.add_argument(
        "--fanout", type=positive_int, metavar="N",
        help="measure WebSocket fan-out to N subscribers of one book instead "
        "(wintermute.bench.service_fanout)",
    )  # fmt: skip
    p.add_argument(
        "--updates", type=positive_int, default=5000, help="book updates of the fan-out run"
    )
    p.add_argument(
        "--redis", metavar="URL",
        help="also measure the Redis publisher's cost on the service (a scratch key prefix)",
    )  # fmt: skip
    p.add_argument(
        "--redis-seconds", type=positive_float, default=10.0,
        help="each phase of the --redis measurement",
    )  # fmt: skip
    p.add_argument(
        "--no-freeze", dest="freeze_heap", action="store_false",
        help="leave the server's start-up heap unfrozen (serve and demo freeze it)",
    )  # fmt: skip
    p.add_argument("--json", action="store_true", help="print a JSON document")
    p.set_defaults(handler=_main)
