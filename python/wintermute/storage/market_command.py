"""``wintermute md ...``: the market-data history from the command line.

::

    wintermute md record [--store URL] [--replay FILE | --venue V ...] [--symbols S ...]
                         [--duration S] [--pace P] [--depth N] [--snapshot-every S]
                         [--batch-rows N] [--ring N] [--seed N] [--steps N] [--metrics-port P]
    wintermute md query  TABLE [--store URL] [--venue V] [--symbol S] [--since T] [--until T]
                         [--limit N] [--json]
    wintermute md export TABLE --format parquet|csv [--out FILE] [--store URL] [--venue V]
                         [--symbol S] [--since T] [--until T]
    wintermute md retain [--store URL] --keep-from YYYY-MM-DD

``TABLE`` is ``trades``, ``ticks`` or ``snapshots``. ``--store`` defaults to
``$WINTERMUTE_AUDIT_URL``, else ``sqlite:///audit.db`` (the audit trail's store: the same
database). ``record`` records a recording served locally (``--replay FILE``, at ``--pace``,
default ``10`` times the recorded pace, until every frame was read or ``--duration``) or,
without ``--replay``, the seeded synthetic market of each ``--venue`` (default: all three)
for ``--duration`` seconds (default 10). Times are ISO 8601 with a timezone or integer ns
since the epoch.

Exit status: 0 when the command did its work; 1 when ``record`` lost events (the feed outran
the recorder: the count is printed; raise ``--ring`` or lower ``--pace``); 2 for bad input (an
unknown table, a malformed or inverted time range, a limit out of range, a bad URL), a store
that cannot be opened, or a recorder stopped by a failing store.
"""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from datetime import date
from typing import Any

from wintermute.cli_args import positive_int
from wintermute.storage.audit_command import (
    add_store_argument,
    add_time_range,
    existing_store_url,
    store_url,
)

__all__ = ["add_parser"]


def _existing_history(args: argparse.Namespace) -> Any:
    """The history to read (query, export): a SQLite file must exist already."""
    from wintermute.storage.market_history import open_history

    return open_history(existing_store_url(args, "store"))


def _record(args: argparse.Namespace) -> int:
    from wintermute.market import VENUES, Market
    from wintermute.storage.market_history import open_history
    from wintermute.storage.market_recorder import MarketRecorder, replay_source

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    history = open_history(store_url(args))
    done = None
    if args.replay:
        source = replay_source(
            args.replay, symbols=args.symbols, pace=args.pace or "10", ring_capacity=args.ring
        )
        market, done, close = source.market, source.done, source.close
        what = f"{args.replay} ({source.venue}: {', '.join(source.symbols)})"
        streams = None
    else:
        venues = args.venue or list(VENUES)
        market = Market(
            venues, seed=args.seed, steps=args.steps, pace=args.pace or "recorded",
            ring_capacity=args.ring,
        )  # fmt: skip
        close = market.stop
        what = f"the synthetic market of {', '.join(venues)}"
        streams = None
        if args.symbols:
            streams = {(v, s) for v in venues for s in args.symbols}
    recorder = MarketRecorder(
        history, market, streams=streams, depth=args.depth,
        snapshot_every=args.snapshot_every or None, batch_rows=args.batch_rows,
    )  # fmt: skip
    if args.metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(args.metrics_port, addr="127.0.0.1")
    signal.signal(signal.SIGTERM, lambda *_: recorder.stop())
    print(f"recording {what} into {history.backend}", flush=True)
    seconds = args.duration if args.duration is not None else (None if args.replay else 10.0)
    try:
        stats = recorder.run(seconds=seconds, done=done)
    except KeyboardInterrupt:
        stats = recorder.run(seconds=0)
    finally:
        close()
        history.close()
    print(
        f"read {stats.events} events: {stats.trades} trades, {stats.ticks} ticks, "
        f"{stats.levels} snapshot levels in {stats.batches} batches; {stats.stored} rows new "
        f"(the rest were stored already); {stats.failures} store failures retried; "
        f"{stats.lost} events lost",
        flush=True,
    )
    if stats.lost:
        print(
            f"wintermute md: {stats.lost} events were overwritten before the recorder read "
            "them (raise --ring or lower --pace)",
            file=sys.stderr,
        )
        return 1
    return 0


def _query_of(args: argparse.Namespace) -> Any:
    from wintermute.storage.market_history import HistoryQuery

    return HistoryQuery(
        args.table, venue=args.venue, symbol=args.symbol, since=args.since, until=args.until,
        limit=getattr(args, "limit", 1000),
    )  # fmt: skip


def _plain(row: Any) -> dict[str, Any]:
    from decimal import Decimal

    return {k: (str(v) if isinstance(v, Decimal) else v) for k, v in row._asdict().items()}


def _query(args: argparse.Namespace) -> int:
    q = _query_of(args)
    history = _existing_history(args)
    try:
        rows = history.query(q)
    finally:
        history.close()
    for row in rows:
        record = _plain(row)
        if args.json:
            print(json.dumps(record))
        else:
            print(" ".join(f"{k}={v}" for k, v in record.items() if v is not None))
    print(f"{len(rows)} rows", file=sys.stderr)
    return 0


def _export(args: argparse.Namespace) -> int:
    from wintermute.storage import StorageError
    from wintermute.storage.market_history import export

    q = _query_of(args)
    if args.format == "parquet" and not args.out:
        raise StorageError("--format parquet needs --out FILE", reason="BAD_QUERY")
    history = _existing_history(args)
    try:
        n = export(history, q, args.format, args.out or sys.stdout)
    finally:
        history.close()
    print(f"exported {n} {args.table} rows" + (f" to {args.out}" if args.out else ""),
          file=sys.stderr)  # fmt: skip
    return 0


def _retain(args: argparse.Namespace) -> int:
    from wintermute.storage.market_history import open_history

    history = open_history(store_url(args))
    try:
        gone = history.drop_before(args.keep_from)
        unit = "day partitions" if history.backend == "postgresql" else "rows"
    finally:
        history.close()
    print(f"removed {gone} market-data {unit} before {args.keep_from}")
    return 0


def _run(args: argparse.Namespace) -> int:
    from wintermute import errors

    try:
        status: int = args.md_handler(args)
    except BrokenPipeError:
        raise  # the reader went away (md export ... | head): the main stops quietly
    except (errors.WintermuteError, OSError, ValueError) as e:
        print(f"wintermute md: {e}", file=sys.stderr)
        return 2
    return status


def add_parser(commands: Any) -> None:
    """Adds the ``md`` command group to ``wintermute``'s sub-parsers."""
    from wintermute.market import VENUES
    from wintermute.storage.market_history import TABLES

    md = commands.add_parser(
        "md", help="market-data history: record feeds into the store, query, export"
    )
    sub = md.add_subparsers(dest="md_command", required=True, metavar="COMMAND")

    with_store = add_store_argument

    def with_filters(p: argparse.ArgumentParser) -> None:
        p.add_argument("table", choices=tuple(TABLES), metavar="TABLE",
                       help=f"one of {', '.join(TABLES)}")  # fmt: skip
        with_store(p)
        p.add_argument("--venue", help="this venue only (binance, coinbase, kraken)")
        p.add_argument("--symbol", help="this symbol only, as the venue writes it")
        add_time_range(p)

    record = sub.add_parser("record", help="record normalized trades, ticks and book snapshots")
    with_store(record)
    record.add_argument("--replay", help="a recording to serve locally and record")
    record.add_argument("--venue", action="append", choices=VENUES,
                        help="synthetic venue to record (repeatable; default: all)")  # fmt: skip
    record.add_argument("--symbols", nargs="*", default=[], help="only these symbols")
    record.add_argument("--duration", type=float, help="stop after this many seconds")
    record.add_argument("--pace", help="fast, recorded or a speed factor (replay: 10)")
    record.add_argument("--depth", type=positive_int, default=10, help="levels per snapshot side")
    record.add_argument("--snapshot-every", type=float, default=1.0,
                        help="seconds between book snapshots of a stream (0: none)")  # fmt: skip
    record.add_argument("--batch-rows", type=positive_int, default=10_000, help="rows per batch")
    record.add_argument("--ring", type=positive_int, default=1 << 16,
                        help="events kept per stream for the recorder to read")  # fmt: skip
    record.add_argument("--seed", type=int, default=7, help="synthetic market seed")
    record.add_argument("--steps", type=positive_int, default=12_000, help="synthetic messages")
    record.add_argument("--metrics-port", type=int, help="serve Prometheus metrics on 127.0.0.1")
    record.set_defaults(handler=_run, md_handler=_record)

    query = sub.add_parser("query", help="rows by venue, symbol and time range")
    with_filters(query)
    query.add_argument("--limit", type=int, default=1000, help="rows at most (1..100000)")
    query.add_argument("--json", action="store_true", help="one JSON object per line")
    query.set_defaults(handler=_run, md_handler=_query)

    export = sub.add_parser("export", help="every matching row to Parquet or CSV")
    with_filters(export)
    export.add_argument("--format", choices=("parquet", "csv"), required=True)
    export.add_argument("--out", help="output file (csv: default stdout)")
    export.set_defaults(handler=_run, md_handler=_export)

    retain = sub.add_parser("retain", help="remove the market data of the days before a date")
    with_store(retain)
    retain.add_argument("--keep-from", type=date.fromisoformat, required=True, metavar="DAY")
    retain.set_defaults(handler=_run, md_handler=_retain)
