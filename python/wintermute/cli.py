"""The ``wintermute`` command line.

::

    wintermute --version
    wintermute demo [--port P] [--host H] [--duration S] [--seed N] [--no-market]
                    [--redis URL [--redis-cluster]]
                    [--run-dir DIR] [--no-audit] [--record-market]
    wintermute demo --terminal [--seconds S] [--seed N] [--commands N] [--part PART]
    wintermute bench [--json] [--seed N] [--orders N] [--system NAME ...]
    wintermute bench pipeline [--rates 100k,1M,max] [--journal off,none,batch] [--json]
    wintermute bench mm [--rates 10k,100k] [--seconds S] [--park] [--json]
    wintermute bench backtest [--config FILE] [--seconds S] [--repeat N] [--max-batch N] [--json]
    wintermute bench mm-live [--steps N] [--gap-ms MS] [--idle-us US] [--json]
    wintermute bench feeds [--json] [--updates N] [--seed N] [--system NAME ...]
    wintermute bench storage [--orders N] [--postgres URL] [--redis URL] [--json]
    wintermute bench history [--events N] [--postgres URL] [--json]
    wintermute bench gc [--orders N] [--rounds N] [--json]
    wintermute bench service [--seconds 60] [--clients 16] [--subscribers 8] [--json]
    wintermute run --config FILE [--seconds S] [--workload RATE] [--stats-every S] [--ack-log FILE]
    wintermute serve --config FILE [--host H] [--port P] [--keys FILE] [--ssl-certfile F ...]
                     [--run-dir DIR] [--audit-store URL] [--no-audit] [--record-market]
    wintermute feeds verify FILE [--json]
    wintermute feeds serve FILE [--pace fast|recorded|N] [--port P] [--seconds S]
    wintermute feeds serve --synthetic VENUE [--seed N] [--steps N] [--gap-rate R] [...]
    wintermute feeds watch [--venue V] [--symbols S ...] [--replay FILE | --ws URL | --live]
    wintermute journal inspect|verify DIR [--json]
    wintermute journal export DIR [--format jsonl|csv|parquet] [--out FILE]
    wintermute journal prune DIR [--archive DIR] [--dry-run] [--json]
    wintermute mm --config FILE [--duration S] [--every S] [--seed N] [--steps N]
        [--strategy MODULE:CLASS] [--live]
    wintermute mm backtest --config FILE --out RUN [--no-progress] [--strategy MODULE:CLASS]
    wintermute mm report RUN
    wintermute route kill --config FILE [--live] [--json]
    wintermute audit follow|rebuild|query|report|retain ...   (wintermute.storage.audit_command)
    wintermute md record|query|export|retain ...   (wintermute.storage.market_command)
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from wintermute import __version__
from wintermute.cli_args import non_negative_int, positive_int


def _demo(args: argparse.Namespace) -> int:
    if not args.terminal:
        from wintermute.service import web_demo

        options = web_demo.DemoOptions(
            host=args.host, port=args.port, duration=args.duration, seed=args.seed,
            market=args.market, audit=args.audit, run_dir=args.run_dir, redis=args.redis,
            redis_cluster=args.redis_cluster, record_market=args.record_market,
        )  # fmt: skip
        return web_demo.run(options)
    from wintermute import demo

    if args.part in ("all", "core"):
        demo.run(seconds=args.seconds, seed=args.seed, commands=args.commands)
    if args.part in ("all", "engine"):
        demo.run_engine(seconds=min(args.seconds, 2.0), seed=args.seed, commands=args.commands)
    if args.part in ("all", "market"):
        demo.run_market(seconds=min(args.seconds, 2.0))
    return 0


def _serve(args: argparse.Namespace) -> int:
    from wintermute import errors
    from wintermute.service.server import serve
    from wintermute.storage import StorageError

    try:
        serve(
            args.config, host=args.host, port=args.port, keys=args.keys,
            ssl_certfile=args.ssl_certfile, ssl_keyfile=args.ssl_keyfile,
            log_level=args.log_level, audit=args.audit, audit_store=args.audit_store,
            run_dir=args.run_dir, record_market=args.record_market,
        )  # fmt: skip
    except (errors.ConfigError, StorageError) as e:
        print(f"wintermute serve: {e}", file=sys.stderr)
        return 2
    return 0


def _feeds_verify(args: argparse.Namespace) -> int:
    from wintermute import errors, feeds

    try:
        report = feeds.verify(args.file)
    except errors.FeedError as e:
        print(f"wintermute feeds verify: {e}", file=sys.stderr)
        return 2
    print(json.dumps(report) if args.json else feeds.format_report(report))
    bad = sum(s["checksum_bad"] + s["gaps"] + s["crossed"] for s in report["streams"])
    return 1 if bad else 0


def _journal(args: argparse.Namespace) -> int:
    from wintermute import errors, journal

    try:
        if args.journal_command == "prune":
            return _journal_prune(args, journal)
        if args.journal_command == "export":
            if args.format == "parquet":
                n = journal.export(args.dir, "parquet", parquet_path=args.out)
            elif args.out:
                with open(args.out, "w", newline="") as out:
                    n = journal.export(args.dir, args.format, out)
            else:
                n = journal.export(args.dir, args.format)
            print(f"exported {n} entries", file=sys.stderr)
            if args.format != "jsonl":
                controls = len(journal.read_controls(args.dir))
                refused = len(journal.read_rejections(args.dir))
                for n_out, what in ((controls, "control records (runtime risk changes)"),
                                    (refused, "risk rejections")):  # fmt: skip
                    if n_out:
                        print(
                            f"note: {n_out} {what} are not in {args.format}; export jsonl to "
                            "include them",
                            file=sys.stderr,
                        )
            return 0
        summary = journal.summarize(args.dir)
    except (errors.JournalError, ValueError) as e:
        print(f"wintermute journal: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(summary))
    else:
        for key, value in summary.items():
            print(f"{key:>12}: {value}")
    return 0 if summary["ok"] else 1


def _journal_prune(args: argparse.Namespace, journal: Any) -> int:
    pruned = journal.prune(args.dir, args.archive, args.dry_run)
    if args.json:
        print(json.dumps(pruned))
        return 0
    if pruned["snapshot_seq"] is None:
        print(f"{args.dir}: no snapshot reads back whole; nothing can be pruned")
        return 0
    verb = "would remove" if args.dry_run else "moved" if args.archive else "deleted"
    where = f" to {args.archive}" if args.archive else ""
    cut, why = pruned["snapshot_seq"], "the oldest snapshot that reads back"
    held = pruned["held_seq"]
    if held is not None and held < cut:
        cut, why = held, "a saved venue state's (it needs the records after it)"
    print(
        f"{verb} {len(pruned['segments'])} segments{where}: every record at or before seq "
        f"{cut}, {why}"
    )
    for segment in pruned["segments"]:
        print(f"  {segment}")
    return 0


def _feeds_serve(args: argparse.Namespace) -> int:
    import tempfile
    import time

    from wintermute import errors, feeds

    if (args.file is None) == (args.synthetic is None):
        print("wintermute feeds serve: give either FILE or --synthetic VENUE", file=sys.stderr)
        return 2
    tmp = tempfile.TemporaryDirectory(prefix="wintermute-synth-")
    try:
        path, faults, what = args.file, {}, args.file
        if args.synthetic is not None:
            # A seeded synthetic market, exchange times from now; its gap frames are lost on
            # the wire so clients resync exactly once per gap.
            path = f"{tmp.name}/{args.synthetic}-{args.seed}.jsonl"
            synth = feeds.synthesize(
                args.synthetic,
                path,
                seed=args.seed,
                steps=args.steps,
                gap_rate=args.gap_rate,
                start_ns=time.time_ns(),
            )
            faults = {
                "drop_frames": synth["drop_frames"],
                "corrupt_frames": synth["corrupt_frames"],
            }
            what = (
                f"synthetic {args.synthetic} {synth['symbol']} seed={args.seed}: "
                f"{synth['frames']} frames, {len(synth['gaps'])} gaps"
            )
        server = feeds.ReplayServer(
            path,
            pace=args.pace,
            port=args.port,
            http_port=args.http_port,
            seconds=args.seconds,
            exit_when_drained=args.exit_when_drained,
            drop_frames=faults.get("drop_frames", ()),
            corrupt_frames=faults.get("corrupt_frames", ()),
        )
    except errors.FeedError as e:
        print(f"wintermute feeds serve: {e}", file=sys.stderr)
        tmp.cleanup()
        return 2
    print(
        f"serving {what}\n  websocket: {server.ws_url}\n  rest:      {server.rest_url}",
        flush=True,
    )
    try:
        stats = server.wait()
    except KeyboardInterrupt:
        return 130
    finally:
        tmp.cleanup()
    print(json.dumps(stats))
    return 0


def _format_live(venue: str, report: Any, counters: dict[str, int]) -> str:
    from wintermute import feeds

    c = counters
    head = (
        f"[{venue}] frames {c.get('frames', 0):,}  connections {c.get('connections', 0)}  "
        f"reconnects {c.get('reconnects', 0)}  resyncs {c.get('resyncs', 0)}"
    )
    return head + "\n" + feeds.format_report(report)


#: ``feeds watch --protocol``: each protocol's venue.
_PROTOCOL_VENUES = {
    "binance": "binance",
    "coinbase": "coinbase",
    "coinbase-advanced": "coinbase",
    "kraken": "kraken",
    "kraken-v2": "kraken",
}


def _tick_scales(specs: Sequence[str]) -> dict[str, tuple[str, str]] | None:
    """``--scale SYMBOL=TICK:LOT`` options as ``{symbol: (tick_size, lot_size)}``."""
    from wintermute import errors

    scales: dict[str, tuple[str, str]] = {}
    for spec in specs:
        symbol, _, sizes = spec.partition("=")
        tick, _, lot = sizes.partition(":")
        if not (symbol and tick and lot):
            raise errors.FeedError(
                f"--scale {spec!r}: expected SYMBOL=TICK_SIZE:LOT_SIZE, e.g. BTCUSDT=0.01:0.00001",
                reason="FEED",
            )
        scales[symbol] = (tick, lot)
    return scales or None


def _feeds_watch(args: argparse.Namespace) -> int:
    from wintermute import errors, feeds

    server = None
    if args.protocol and args.venue and _PROTOCOL_VENUES[args.protocol] != args.venue:
        print(
            f"wintermute feeds watch: --protocol {args.protocol} is not a {args.venue} protocol",
            file=sys.stderr,
        )
        return 2
    args.venue = args.venue or (_PROTOCOL_VENUES[args.protocol] if args.protocol else "kraken")
    try:
        scales = _tick_scales(args.scale)
        if args.live:
            if args.replay or args.ws:
                raise errors.FeedError(
                    "--live uses the exchange's own endpoints: drop --replay/--ws", reason="FEED"
                )
            venue, symbols, ws, rest = args.venue, args.symbols, None, None
            if not symbols:
                raise errors.FeedError("--live needs --symbols", reason="FEED")
        elif args.ws:
            venue, symbols, ws, rest = args.venue, args.symbols, args.ws, args.rest
        else:
            path = args.replay or feeds.bundled_recording(args.venue)
            venue, recorded = feeds.recorded_subscription(path)
            symbols = args.symbols or recorded
            server = feeds.ReplayServer(path, pace=args.pace, seconds=args.seconds + 5)
            ws, rest = server.ws_url, server.rest_url
            print(f"replaying {path} at {ws}", file=sys.stderr)
        tty = sys.stdout.isatty()

        def on_tick(report: feeds.VerifyReport, counters: dict[str, int]) -> None:
            if not args.json:
                text = _format_live(venue, report, counters)
                print(("\x1b[H\x1b[2J" if tty else "") + text, flush=True)

        result = feeds.watch(
            venue,
            list(symbols),
            ws_base=ws,
            rest_base=rest,
            seconds=args.seconds,
            record=args.record,
            on_tick=on_tick,
            tick=args.tick,
            protocol=args.protocol,
            tls_ca_file=args.ca_file,
            scales=scales,
            fetch_scales=args.fetch_scales,
        )
    except errors.FeedError as e:
        print(f"wintermute feeds watch: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(result))
    else:
        print(_format_live(venue, result, result["counters"]))
    return 0


def _bench(args: argparse.Namespace) -> int:
    from wintermute.bench import report, workload
    from wintermute.bench.registry import ADAPTERS

    stream = workload.generate(seed=args.seed, orders=args.orders, warmup=args.warmup)
    result = report.run(stream, ADAPTERS, systems=args.system or ())
    if args.json:
        print(json.dumps(result.to_json(), indent=2))
    else:
        print(result.to_table())
    return 0


def _run(args: argparse.Namespace) -> int:
    from wintermute import engine_process, errors
    from wintermute.config import EngineConfig

    try:
        config = EngineConfig.from_file(args.config)
        engine_process.run(
            config,
            seconds=args.seconds,
            workload=args.workload,
            stats_every=args.stats_every,
            ack_log=args.ack_log,
            seed=args.seed,
        )
    except errors.WintermuteError as e:
        print(f"wintermute run: {e}", file=sys.stderr)
        return 2
    return 0


def _mm_live(args: argparse.Namespace) -> int:
    from wintermute import errors, mm, mm_live

    if args.config is None:
        print("wintermute mm: give --config FILE (a live run) or a command", file=sys.stderr)
        return 2
    try:
        config = mm.load_config(args.config)
        # Every route's URL and keys, and the market, are checked before anything starts.
        mm_live.check_config(config, live=args.live)
        market = mm_live.market_settings(config, base_dir=Path(args.config).parent)
        if market.source == "synthetic":
            market = dataclasses.replace(market, **{
                k: v for k, v in (("seed", args.seed), ("steps", args.steps)) if v is not None
            })  # fmt: skip
        elif args.seed is not None or args.steps is not None:
            raise errors.ConfigError(
                "--seed and --steps are for the synthetic market: [market] reads the venues",
                reason="CONFIG", key="market.source",
            )  # fmt: skip
        hedges = "hedges to the venues (--live)" if args.live else "on paper"
        print(f"wintermute mm: quoting off {market.describe()}, {hedges} ({args.config}); "
              "Ctrl-C stops", flush=True)  # fmt: skip
        strategy = None
        if args.live_strategy is not None:
            strategy = mm.load_strategy(args.live_strategy, config)
        last = mm_live.paper(
            config, duration=args.duration, every=args.every, live=args.live,
            strategy=strategy, market=market,
        )  # fmt: skip
    except (errors.ConfigError, errors.FeedError) as e:
        print(f"wintermute mm: {e}", file=sys.stderr)
        return 2
    print(f"wintermute mm: {mm_live.hedging_summary(last)}", flush=True)
    print(f"wintermute mm: stopped; {len(last['quotes'])} quotes resting", flush=True)
    return 0


def _route_kill(args: argparse.Namespace) -> int:
    from wintermute import errors, mm, mm_live

    try:
        config = mm.load_config(args.config)
        outcomes = mm_live.kill_hedge_routes(config, live=args.live)
    except (errors.ConfigError, FileNotFoundError) as e:
        print(f"wintermute route kill: {e}", file=sys.stderr)
        return 2
    if args.json:
        print(json.dumps(outcomes, indent=2))
    for o in outcomes:
        where = f"{o['venue']} {o['symbol']} at {o['endpoint']}"
        if o["error"] is None:
            print(
                f"{where}: {o['canceled']} orders canceled",
                file=sys.stderr if args.json else sys.stdout,
            )
        else:
            print(f"{where}: FAILED: {o['error']}", file=sys.stderr)
    return 1 if any(o["error"] is not None for o in outcomes) else 0


def _mm(args: argparse.Namespace) -> int:
    from wintermute import errors, mm

    if args.mm_command is None:
        return _mm_live(args)
    try:
        if args.mm_command == "report":
            for path in mm.write_report(args.run):
                print(path)
            return 0
        config = mm.load_config(args.config)
        strategy = None if args.strategy is None else mm.load_strategy(args.strategy, config)
        show = None if args.no_progress else mm.progress_bar()
        result = mm.run_backtest(config, progress=show, strategy=strategy, max_batch=args.max_batch)
        out = mm.save_run(result, args.out, config)
    except (errors.ConfigError, errors.FeedError, errors.InvalidOrderError) as e:
        print(f"wintermute mm {args.mm_command}: {e}", file=sys.stderr)
        return 2
    except FileNotFoundError as e:
        print(f"wintermute mm {args.mm_command}: {e}", file=sys.stderr)
        return 2
    s = result.summary
    print(
        f"{s['model']} on {s['market']}: pnl={s['pnl']['total']:.4f} fills={s['fills']} "
        f"fill_ratio={s['fill_ratio']:.4f} max_inventory={s['max_inventory_lots']} "
        f"uptime={s['uptime']:.3f} events/s={s['md_events_per_s']:,.0f} digest={s['digest']} "
        f"-> {out}"
    )
    return 0


def build_parser() -> argparse.ArgumentParser:
    """The argument parser of the ``wintermute`` command."""
    from wintermute.bench import workload
    from wintermute.bench.registry import SYSTEMS

    parser = argparse.ArgumentParser(
        prog="wintermute", description="Wintermute low-latency trading engine."
    )
    parser.add_argument("--version", action="version", version=f"wintermute {__version__}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    demo = commands.add_parser(
        "demo",
        help="the engine, three synthetic venues, order flow and the web UI on "
        "http://127.0.0.1:8000 (--terminal: the terminal demo)",
    )
    demo.add_argument("--port", type=non_negative_int, default=8000, help="web port (0: any free)")
    demo.add_argument("--host", default="127.0.0.1", help="address to serve on")
    demo.add_argument("--duration", type=float, default=None, help="stop after this many seconds")
    demo.add_argument("--no-market", dest="market", action="store_false", help="no external venues")
    demo.add_argument(
        "--run-dir", help="where the journal and the audit trail go (default: a new temp dir)"
    )
    demo.add_argument("--no-audit", dest="audit", action="store_false", help="no audit trail")
    demo.add_argument("--redis", help="publish the books and trades to this Redis URL")
    demo.add_argument(
        "--redis-cluster", action="store_true", help="--redis names a node of a Redis Cluster"
    )
    demo.add_argument(
        "--record-market",
        action="store_true",
        help="record the external venues' market data into the audit trail's store (wintermute md)",
    )
    demo.add_argument(
        "--terminal", action="store_true", help="the terminal demo: engine, pipeline, feeds"
    )
    demo.add_argument("--seconds", type=float, default=3.0, help="--terminal: stop after this long")
    demo.add_argument("--seed", type=non_negative_int, default=42, help="order flow seed")
    demo.add_argument(
        "--commands", type=positive_int, default=2_000_000, help="commands to generate at most"
    )
    demo.add_argument(
        "--part",
        choices=("all", "core", "engine", "market"),
        default="all",
        help="core: the matching engine per call; engine: the threaded engine; market: feeds",
    )
    demo.set_defaults(handler=_demo)

    bench = commands.add_parser(
        "bench", help="run the seeded order workload through Wintermute and its peers"
    )
    bench.add_argument("--json", action="store_true", help="print a JSON document")
    bench.add_argument(
        "--seed", type=non_negative_int, default=workload.DEFAULT_SEED, help="workload seed"
    )
    bench.add_argument(
        "--orders",
        type=positive_int,
        default=workload.DEFAULT_ORDERS,
        help="measured commands after the warm-up",
    )
    bench.add_argument(
        "--warmup",
        type=non_negative_int,
        default=workload.DEFAULT_WARMUP,
        help="resting orders placed before timing starts",
    )
    bench.add_argument(
        "--system",
        action="append",
        choices=SYSTEMS,
        help="run only this system (repeatable); default: all installed",
    )
    bench.set_defaults(handler=_bench)
    # Sub-targets (`wintermute bench TARGET ...`); none: the core bench above. One block each.
    bench_targets = bench.add_subparsers(dest="bench_target", metavar="TARGET")
    from wintermute.bench import pipeline as bench_pipeline

    bench_pipeline.add_parser(bench_targets)
    from wintermute.bench import feeds as bench_feeds

    bench_feeds.add_parser(bench_targets)
    from wintermute.bench import mm_latency as bench_mm

    bench_mm.add_parser(bench_targets)
    from wintermute.bench import mm_backtest as bench_backtest

    bench_backtest.add_parser(bench_targets)
    from wintermute.bench import mm_peer as bench_backtest_peer

    bench_backtest_peer.add_parser(bench_targets)
    from wintermute.bench import mm_live as bench_mm_live

    bench_mm_live.add_parser(bench_targets)

    from wintermute.bench import storage as bench_storage

    bench_storage.add_parser(bench_targets)
    from wintermute.bench import storage_lag as bench_storage_lag

    bench_storage_lag.add_parser(bench_targets)
    from wintermute.bench import history as bench_history

    bench_history.add_parser(bench_targets)
    from wintermute.bench import gc_pause as bench_gc

    bench_gc.add_parser(bench_targets)
    from wintermute.bench import routing as bench_routing

    bench_routing.add_parser(bench_targets)

    from wintermute.bench import service as bench_service

    bench_service.add_parser(bench_targets)

    run = commands.add_parser(
        "run", help="start the threaded engine from a config file (TOML or JSON) until stopped"
    )
    run.add_argument("--config", required=True, help="engine config file (.toml or .json)")
    run.add_argument("--seconds", type=float, default=None, help="stop after this long")
    run.add_argument(
        "--workload", type=float, default=None, help="drive a seeded order flow at this rate/s"
    )
    run.add_argument("--stats-every", type=float, default=1.0, help="seconds between stats lines")
    run.add_argument("--ack-log", help="append 'gateway seq journal_seq' per acknowledged command")
    run.add_argument("--seed", type=non_negative_int, default=42, help="order flow seed")
    run.set_defaults(handler=_run)

    mm_parser = commands.add_parser(
        "mm", help="market making: run it live (--config), backtests and their reports"
    )
    mm_parser.add_argument("--config", help="market-making config (.toml or .json): run it live")
    mm_parser.add_argument("--duration", type=float, help="seconds to run (default: until Ctrl-C)")
    mm_parser.add_argument("--every", type=float, default=1.0, help="seconds between state lines")
    mm_parser.add_argument(
        "--live",
        action="store_true",
        help="send hedges to the venues' real endpoints over HTTPS, keys from [hedge.live.VENUE] "
        "keys_file or the environment (default: paper, local simulators)",
    )
    mm_parser.add_argument(
        "--seed", type=non_negative_int, help="synthetic market seed (default: [market] seed, 7)"
    )
    mm_parser.add_argument(
        "--steps", type=positive_int,
        help="synthetic messages per venue per replay (default: [market] steps, 20000)",
    )  # fmt: skip
    mm_parser.add_argument(
        "--strategy", dest="live_strategy", metavar="MODULE:CLASS",
        help="quote with this Python strategy (a wintermute.mm_strategy.Strategy) live",
    )  # fmt: skip
    mm_parser.set_defaults(handler=_mm, mm_command=None)
    mm_commands = mm_parser.add_subparsers(dest="mm_command", required=False, metavar="COMMAND")
    backtest = mm_commands.add_parser(
        "backtest", help="backtest the built-in market maker or a Python strategy"
    )
    backtest.add_argument("--config", required=True, help="backtest config (.toml or .json)")
    backtest.add_argument("--out", required=True, help="run directory to write")
    backtest.add_argument("--no-progress", action="store_true", help="no progress bar")
    backtest.add_argument(
        "--strategy", help="a Python strategy instead of the built-in: module:Class"
    )
    backtest.add_argument(
        "--max-batch", type=positive_int, help="most events per call into a Python strategy"
    )
    backtest.set_defaults(handler=_mm)
    report = mm_commands.add_parser("report", help="metrics table, plots and HTML of a run")
    report.add_argument("run", help="run directory written by 'mm backtest'")
    report.set_defaults(handler=_mm)

    serve = commands.add_parser(
        "serve", help="serve the engine over REST and WebSocket (a config file with [service])"
    )
    serve.add_argument("--config", required=True, help="config file (.toml or .json)")
    serve.add_argument("--host", help="bind address (default: [service] host, 127.0.0.1)")
    serve.add_argument("--port", type=non_negative_int, help="port (default: [service] port, 8000)")
    serve.add_argument("--keys", help="API keys file (default: [service] api_keys_file, else "
                       "the WINTERMUTE_API_KEYS environment variable)")  # fmt: skip
    serve.add_argument("--ssl-certfile", help="TLS certificate (PEM)")
    serve.add_argument("--ssl-keyfile", help="TLS private key (PEM)")
    serve.add_argument("--log-level", default="info", choices=["debug", "info", "warning"])
    serve.add_argument(
        "--run-dir", help="the audit trail's directory (default: [audit] run_dir, else a temp dir)"
    )
    serve.add_argument("--audit-store", help="the audit store URL (default: [audit] store, "
                       "else SQLite in the run directory)")  # fmt: skip
    serve.add_argument("--no-audit", dest="audit", action="store_false", help="no audit trail")
    serve.add_argument(
        "--record-market", action="store_true",
        help="record the [market] venues' market data into the audit trail's store",
    )  # fmt: skip
    serve.set_defaults(handler=_serve)

    jr = commands.add_parser("journal", help="inspect, verify and export a journal directory")
    jr_commands = jr.add_subparsers(dest="journal_command", required=True, metavar="COMMAND")
    for name, text in (("inspect", "summarize a journal"), ("verify", "check every record's CRC")):
        sub = jr_commands.add_parser(name, help=text)
        sub.add_argument("dir", metavar="DIR", help="journal directory")
        sub.add_argument("--json", action="store_true", help="print a JSON document")
        sub.set_defaults(handler=_journal)
    export = jr_commands.add_parser(
        "export", help="write every entry as JSON lines, CSV or Parquet"
    )
    export.add_argument("dir", metavar="DIR", help="journal directory")
    export.add_argument("--format", choices=("jsonl", "csv", "parquet"), default="jsonl")
    export.add_argument(
        "--out", help="output file (default: standard output; required for parquet)"
    )
    export.set_defaults(handler=_journal)
    prune = jr_commands.add_parser(
        "prune", help="remove the segments behind the oldest snapshot (delete, or --archive)"
    )
    prune.add_argument("dir", metavar="DIR", help="journal directory")
    prune.add_argument("--archive", metavar="DIR", help="move them here instead of deleting")
    prune.add_argument("--dry-run", action="store_true", help="only list them")
    prune.add_argument("--json", action="store_true", help="print a JSON document")
    prune.set_defaults(handler=_journal)

    from wintermute.storage import audit_command

    audit_command.add_parser(commands)
    from wintermute.storage import market_command

    market_command.add_parser(commands)

    feeds = commands.add_parser("feeds", help="exchange market-data tools")
    feeds_commands = feeds.add_subparsers(dest="feeds_command", required=True, metavar="COMMAND")
    verify = feeds_commands.add_parser("verify", help="check a recorded feed file")
    verify.add_argument("file", metavar="FILE", help="recorded feed file")
    verify.add_argument("--json", action="store_true", help="print a JSON document")
    verify.set_defaults(handler=_feeds_verify)

    serve = feeds_commands.add_parser(
        "serve",
        help="serve a recording over WebSocket/HTTP on 127.0.0.1 in the exchange's protocol",
    )
    serve.add_argument("file", metavar="FILE", nargs="?", help="recorded feed file")
    serve.add_argument(
        "--synthetic",
        choices=("binance", "coinbase", "kraken"),
        help="serve a seeded synthetic market in this venue's protocol instead of a file",
    )
    serve.add_argument("--seed", type=non_negative_int, default=7, help="synthetic market seed")
    serve.add_argument("--steps", type=non_negative_int, default=36_000, help="synthetic messages")
    serve.add_argument(
        "--gap-rate", type=float, default=0.0, help="synthetic gaps per message (lost frames)"
    )
    serve.add_argument(
        "--pace", default="recorded", help="fast, recorded, or a speed factor (e.g. 10)"
    )
    serve.add_argument(
        "--port", type=non_negative_int, default=0, help="WebSocket port (0: any free)"
    )
    serve.add_argument(
        "--http-port", type=non_negative_int, default=0, help="REST port (0: any free)"
    )
    serve.add_argument("--seconds", type=float, default=None, help="stop after this long")
    serve.add_argument(
        "--exit-when-drained",
        action="store_true",
        help="stop once every frame was sent and clients left",
    )
    serve.set_defaults(handler=_feeds_serve)

    watch = feeds_commands.add_parser(
        "watch",
        help="run a venue's connector and show its books' top live (local replay by default)",
    )
    watch.add_argument("--venue", choices=("binance", "coinbase", "kraken"), help="default: kraken")
    watch.add_argument(
        "--protocol",
        choices=tuple(_PROTOCOL_VENUES),
        help="the venue's API (default: binance, coinbase Exchange, kraken v1); a local replay "
        "speaks it too",
    )
    watch.add_argument(
        "--ca-file", help="PEM file of extra trusted certificate authorities (TLS proxy)"
    )
    watch.add_argument("--symbols", nargs="*", default=[], help="symbols as the venue writes them")
    watch.add_argument(
        "--replay", help="recording to serve locally (default: the repository's one)"
    )
    watch.add_argument("--pace", default="10", help="replay pace: fast, recorded or a speed factor")
    watch.add_argument(
        "--ws", help="WebSocket base URL of a running server (e.g. wintermute feeds serve)"
    )
    watch.add_argument("--rest", help="REST base URL (Binance snapshots)")
    watch.add_argument("--live", action="store_true", help="the exchange's real endpoints")
    watch.add_argument("--seconds", type=float, default=5.0, help="how long to watch")
    watch.add_argument("--tick", type=float, default=0.5, help="refresh interval of the live table")
    watch.add_argument(
        "--record", help="write the session to this file (Wintermute's recording format)"
    )
    watch.add_argument("--json", action="store_true", help="print the final report as JSON only")
    watch.add_argument(
        "--scale",
        action="append",
        default=[],
        metavar="SYMBOL=TICK:LOT",
        help="Binance on integer books: a symbol's tick size and lot size (exchangeInfo "
        "PRICE_FILTER.tickSize, LOT_SIZE.stepSize), e.g. BTCUSDT=0.01:0.00001; repeat for every "
        "subscribed symbol",
    )
    watch.add_argument(
        "--fetch-scales",
        action="store_true",
        help="Binance on integer books: fetch the tick and lot sizes not given with --scale from "
        "the REST endpoint's /api/v3/exchangeInfo (--live, or a --rest server that answers it)",
    )
    watch.set_defaults(handler=_feeds_watch)

    route = commands.add_parser(
        "route", help="order routing to the venues of a config's hedge routes"
    )
    route_commands = route.add_subparsers(dest="route_command", required=True, metavar="COMMAND")
    kill = route_commands.add_parser(
        "kill",
        help="kill switch: cancel every open order on every [hedge] routes venue; exit 1 if any "
        "venue failed",
    )
    kill.add_argument("--config", required=True, help="market-making config (.toml or .json)")
    kill.add_argument(
        "--live",
        action="store_true",
        help="the venues' real endpoints (or each route's url); without it each route's "
        "[hedge.live.VENUE] url must name a simulator",
    )
    kill.add_argument("--json", action="store_true", help="print the outcomes as JSON")
    kill.set_defaults(handler=_route_kill)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the ``wintermute`` console script; returns the exit status."""
    args = build_parser().parse_args(argv)
    try:
        status: int = args.handler(args)
    except BrokenPipeError:
        # The reader went away (`wintermute journal export DIR | head`): stop quietly, as Unix
        # tools do, with SIGPIPE's status; and keep Python from failing to flush at exit.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 128 + signal.SIGPIPE
    return status


if __name__ == "__main__":
    sys.exit(main())
