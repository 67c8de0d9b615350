"""``wintermute audit ...``: the audit trail from the command line.

::

    wintermute audit follow  --config engine.toml [--store URL] [--redis URL] [--seconds S]
                             [--connections N] [--metrics-port P] [--full-replay]
                             [MONITOR OPTIONS]
    wintermute audit rebuild --config engine.toml [--store URL] [--connections N]
                             [MONITOR OPTIONS]
    wintermute audit query   [--store URL] [--account N] [--instrument SYM] [--order-id N]
                             [--since T] [--until T] [--after SEQ:N] [--limit N] [--json]
    wintermute audit report  [--store URL] --day YYYY-MM-DD [--account N] [--json]
    wintermute audit retain  [--store URL] --keep-from YYYY-MM-DD

    MONITOR OPTIONS: --monitor [--max-order-to-trade R] [--max-cancel-rate R]
                     [--max-stp-hits N] [--min-orders N] [--price-band-bps B | --no-price-band]
                     [--account-group NAME=A,B,...]...

``--store`` defaults to ``$WINTERMUTE_AUDIT_URL``, else the config's ``[audit] store``
(follow, rebuild), else ``sqlite:///audit.db``. ``--journal`` overrides the config's
``[journal] dir``. The monitors run with ``--monitor`` or when the config has an
``[audit.monitors]`` table (``wintermute.storage.audit_settings``); the options override its
values. ``follow`` resumes: it starts from the engine's snapshot at or before the stored
sequence and, with monitors, from their stored state (``writer.py``); ``--full-replay``
replays the whole journal instead (the monitors count it all again). ``--connections N``
(default: the config's ``[audit] connections``, else 2) writes batches on N PostgreSQL
connections at once (``postgres.py``). Times are ISO 8601
with a timezone (``2026-12-06T10:00:00+00:00``) or integer nanoseconds since the epoch.
``query`` and ``report`` refuse a SQLite file that does not exist (rather than create an
empty one).

Exit status: 0 when the command did its work (a report of a day or an account without
activity is an empty report, still 0); 2 for bad input (a malformed day or time, an inverted
range, a limit out of range, a bad URL or config), a store that cannot be opened or fails.
"""

from __future__ import annotations

import argparse
import contextlib
import json
import logging
import os
import signal
import sys
import threading
from datetime import date, datetime
from pathlib import Path
from typing import Any

from wintermute.cli_args import non_negative_int

__all__ = ["add_parser"]

DEFAULT_STORE = "sqlite:///audit.db"


def store_url(args: argparse.Namespace, configured: str | None = None) -> str:
    """The store of a command: ``--store``, else ``$WINTERMUTE_AUDIT_URL``, else ``configured``
    (a config file's), else ``DEFAULT_STORE`` (shared by ``wintermute audit`` and ``md``)."""
    url: str = args.store or os.environ.get("WINTERMUTE_AUDIT_URL") or configured or DEFAULT_STORE
    return url


def existing_store_url(args: argparse.Namespace, what: str) -> str:
    """``store_url`` of a command that reads (query, report, export): a SQLite file must exist
    already (``StorageError`` naming ``what`` otherwise)."""
    from wintermute.storage import StorageError

    url = store_url(args)
    if not url.startswith(("postgresql://", "postgres://")):
        path = url.removeprefix("sqlite:///") if url.startswith("sqlite:///") else url
        if path and path != ":memory:" and "://" not in path and not Path(path).exists():
            raise StorageError(f"no {what} at {path} (give --store)", reason="STORE_URL")
    return url


def add_store_argument(p: argparse.ArgumentParser) -> None:
    """``--store URL`` (see ``store_url``)."""
    p.add_argument(
        "--store", help=f"postgresql://... or sqlite:///FILE (default: $WINTERMUTE_AUDIT_URL "
        f"or {DEFAULT_STORE})"
    )  # fmt: skip


def add_time_range(p: argparse.ArgumentParser) -> None:
    """``--since`` (inclusive) and ``--until`` (exclusive): ISO 8601 with a timezone, or ns
    (shared by ``wintermute audit query`` and ``md``)."""
    p.add_argument("--since", type=_time, help="ISO 8601 with timezone, or ns (inclusive)")
    p.add_argument("--until", type=_time, help="ISO 8601 with timezone, or ns (exclusive)")


def _existing_store(args: argparse.Namespace) -> Any:
    """The store to read (query, report): a SQLite file must exist already."""
    from wintermute.storage import open_store

    return open_store(existing_store_url(args, "audit store"))


def _journal_of(args: argparse.Namespace) -> tuple[Any, str, Any]:
    """The engine config, the journal directory and the ``[audit]`` settings of --config."""
    from wintermute import errors
    from wintermute.config import EngineConfig, read_document
    from wintermute.storage.audit_settings import AuditSettings

    config = EngineConfig.from_file(args.config)
    settings = AuditSettings.of_document(read_document(args.config))
    journal = args.journal or (config.journal.dir if config.journal else None)
    if journal is None:
        raise errors.ConfigError(
            f"config={args.config} has no [journal] and no --journal was given", reason="CONFIG"
        )
    return config, journal, settings


def _monitor_of(args: argparse.Namespace, settings: Any) -> Any:
    """The compliance monitor the options and the config's ``[audit.monitors]`` ask for."""
    import dataclasses

    from wintermute.storage.monitors import ComplianceMonitor

    if not (args.monitor or (settings.monitors_configured and settings.monitors)):
        return None
    given = {
        name: getattr(args, name)
        for name in ("max_order_to_trade", "max_cancel_rate", "max_stp_hits", "min_orders",
                     "price_band_bps")
        if getattr(args, name) is not None
    }  # fmt: skip
    if args.no_price_band:
        given["price_band_bps"] = None
    thresholds = dataclasses.replace(settings.thresholds, **given)
    groups = {**settings.account_groups, **dict(args.account_group or [])}
    return ComplianceMonitor(thresholds, account_groups=groups)


def _follow(args: argparse.Namespace) -> int:
    from wintermute import errors
    from wintermute.storage import AuditWriter, StorageError, open_store

    config, journal, settings = _journal_of(args)
    monitor = _monitor_of(args, settings)
    store = open_store(store_url(args, settings.store), connections=_connections_of(args, settings))
    hot = None
    if args.redis:
        from wintermute.storage.redis_tier import RedisTier

        hot = RedisTier(args.redis, prefix=args.redis_prefix, cluster=args.redis_cluster)
    writer = AuditWriter(
        store, config.instruments, journal, batch_rows=args.batch_rows, hot=hot, monitor=monitor,
        resume=not args.full_replay, checkpoint_every=settings.checkpoint_every,
    )  # fmt: skip
    if args.metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(args.metrics_port, addr="127.0.0.1")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    start = f"the snapshot at seq {writer.resumed_from}"
    if writer.resumed_from is None:
        start = "the first record"
    if writer.monitor_restored is not None:
        start += f"; monitors' state restored at seq {writer.monitor_restored}"
    print(f"following {journal} into {store.backend} from seq {writer.stored_seq} "
          f"(replaying from {start})", flush=True)  # fmt: skip
    timer = threading.Timer(args.seconds or 0.0, writer.stop)
    timer.daemon = True
    if args.seconds is not None:
        timer.start()
    signal.signal(signal.SIGTERM, lambda *_: writer.stop())
    with contextlib.suppress(KeyboardInterrupt):
        writer.follow(poll_s=args.poll)
    try:
        writer.step()  # what was appended since the last poll
    except (KeyboardInterrupt, StorageError, errors.JournalError) as e:
        logging.getLogger("wintermute.storage.writer").warning("last step skipped: %s", e)
    lag = writer.lag()
    print(f"stored through seq {lag.stored_seq} (journal {lag.journal_seq})", flush=True)
    store.close()
    return 0


def _rebuild(args: argparse.Namespace) -> int:
    from wintermute.storage import open_store, rebuild

    config, journal, settings = _journal_of(args)
    monitor = _monitor_of(args, settings)
    store = open_store(store_url(args, settings.store), connections=_connections_of(args, settings))
    rows = rebuild(store, config.instruments, journal, monitor=monitor)
    print(f"rebuilt {rows} rows from {journal} through seq {store.last_seq()}")
    store.close()
    return 0


def _connections_of(args: argparse.Namespace, settings: Any) -> int:
    """``--connections``, else the config's ``[audit] connections``."""
    return int(settings.connections if args.connections is None else args.connections)


def _connection_count(text: str) -> int:
    from wintermute.storage.schema import MAX_CONNECTIONS

    try:
        value = int(text)
    except ValueError:
        value = 0
    if not 1 <= value <= MAX_CONNECTIONS:
        raise argparse.ArgumentTypeError(
            f"{text!r}: expected an integer from 1 to {MAX_CONNECTIONS}"
        )
    return value


def _time(text: str) -> datetime | int:
    from wintermute.storage import StorageError
    from wintermute.storage.queries import parse_time

    try:
        return parse_time(text)
    except StorageError as e:
        raise argparse.ArgumentTypeError(str(e)) from None


def _day(text: str) -> date:
    try:
        return date.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{text!r}: not a day as YYYY-MM-DD") from None


def _account_group(text: str) -> tuple[str, tuple[int, ...]]:
    name, _, members = text.partition("=")
    accounts = members.split(",")
    if not name or not all(a.strip().isdigit() for a in accounts):
        raise argparse.ArgumentTypeError(f"{text!r}: expected NAME=ACCOUNT,ACCOUNT,...")
    return name, tuple(int(a) for a in accounts)


def _query(args: argparse.Namespace) -> int:
    from wintermute.storage import AuditQuery

    q = AuditQuery(
        account=args.account,
        instrument=args.instrument,
        order_id=args.order_id,
        since=args.since,
        until=args.until,
        after=args.after,
        limit=args.limit,
    )
    store = _existing_store(args)
    rows = store.query(q)
    store.close()
    for row in rows:
        record = {k: (str(v) if k in _DECIMALS and v is not None else v)
                  for k, v in row._asdict().items()}  # fmt: skip
        if args.json:
            print(json.dumps(record))
        else:
            print(" ".join(f"{k}={v}" for k, v in record.items() if v is not None))
    print(f"{len(rows)} rows", file=sys.stderr)
    return 0


def _report(args: argparse.Namespace) -> int:
    from wintermute.storage.daily_report import daily_report, format_table, report_dict

    store = _existing_store(args)
    try:
        report = daily_report(store, args.day, args.account)
    finally:
        store.close()
    if args.json:
        print(json.dumps(report_dict(report), indent=2))
    else:
        print(format_table(report))
    return 0


def _retain(args: argparse.Namespace) -> int:
    from wintermute.storage import open_store

    store = open_store(store_url(args))
    gone = store.drop_before(args.keep_from)
    unit = "day partitions" if store.backend == "postgresql" else "rows"
    print(f"removed {gone} {unit} before {args.keep_from}")
    store.close()
    return 0


def _run(args: argparse.Namespace) -> int:
    from wintermute import errors

    try:
        status: int = args.audit_handler(args)
    except (errors.WintermuteError, OSError, ValueError) as e:
        print(f"wintermute audit: {e}", file=sys.stderr)
        return 2
    return status


_DECIMALS = frozenset(("price", "qty", "leaves_qty", "old_price", "old_qty", "contra_leaves_qty"))


def _row_id(text: str) -> tuple[int, int]:
    seq, _, n = text.partition(":")
    if not (seq.isdigit() and n.isdigit()):
        raise argparse.ArgumentTypeError(f"{text!r}: expected SEQ:N, e.g. 1042:0")
    return int(seq), int(n)


def add_parser(commands: Any) -> None:
    """Adds the ``audit`` command group to ``wintermute``'s sub-parsers."""
    audit = commands.add_parser(
        "audit", help="the audit trail: follow, rebuild, query, report, retain"
    )
    sub = audit.add_subparsers(dest="audit_command", required=True, metavar="COMMAND")

    with_store = add_store_argument

    def with_monitor(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--monitor", action="store_true",
            help="run the compliance monitors (alerts in the log and the store)",
        )  # fmt: skip
        p.add_argument("--max-order-to-trade", type=float, help="rule threshold (default 20)")
        p.add_argument("--max-cancel-rate", type=float, help="rule threshold (default 0.95)")
        p.add_argument("--max-stp-hits", type=int, help="rule threshold (default 10)")
        p.add_argument("--min-orders", type=int, help="orders before the ratio rules apply (100)")
        p.add_argument(
            "--price-band-bps", type=float, help="price band around the last trade (500)"
        )
        p.add_argument("--no-price-band", action="store_true", help="no price-band rule")
        p.add_argument(
            "--account-group", type=_account_group, action="append", metavar="NAME=A,B",
            help="related accounts for the wash-trade rule (repeatable)",
        )  # fmt: skip

    def with_connections(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--connections", type=_connection_count, metavar="N",
            help="PostgreSQL: write batches on N connections at once (default: the config's "
            "[audit] connections, else 2); SQLite keeps one",
        )  # fmt: skip

    def with_journal(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", required=True, help="the engine's config file (instruments)")
        p.add_argument("--journal", help="journal directory (default: the config's)")

    follow = sub.add_parser("follow", help="store the journal's events as they are appended")
    with_journal(follow)
    with_store(follow)
    follow.add_argument("--batch-rows", type=int, default=10_000, help="rows per transaction")
    with_connections(follow)
    follow.add_argument("--poll", type=float, default=0.05, help="seconds between journal reads")
    follow.add_argument("--seconds", type=float, default=None, help="stop after this long")
    follow.add_argument("--redis", help="also publish books and trades to this Redis URL")
    follow.add_argument("--redis-prefix", default="wm", help="Redis key prefix (default: wm)")
    follow.add_argument(
        "--redis-cluster", action="store_true", help="--redis names a node of a Redis Cluster"
    )
    with_monitor(follow)
    follow.add_argument(
        "--full-replay", action="store_true",
        help="replay the whole journal (no snapshot, no stored monitor state)",
    )  # fmt: skip
    follow.add_argument("--metrics-port", type=int, help="serve Prometheus metrics on 127.0.0.1")
    follow.set_defaults(handler=_run, audit_handler=_follow)

    rebuild = sub.add_parser("rebuild", help="empty the store and write the whole journal again")
    with_journal(rebuild)
    with_store(rebuild)
    with_connections(rebuild)
    with_monitor(rebuild)
    rebuild.add_argument(
        "--rust-rows", action="store_true",
        help="deprecated, no effect: the rows are always built in Rust",
    )  # fmt: skip
    rebuild.set_defaults(handler=_run, audit_handler=_rebuild)

    query = sub.add_parser("query", help="audit rows by account, instrument, order, time")
    with_store(query)
    query.add_argument("--account", type=non_negative_int)
    query.add_argument("--instrument")
    query.add_argument("--order-id", type=non_negative_int)
    add_time_range(query)
    query.add_argument(
        "--after", type=_row_id, help="page: rows after this SEQ:N (the last row's journal_seq:n)"
    )
    query.add_argument("--limit", type=int, default=1000, help="rows at most (1..100000)")
    query.add_argument("--json", action="store_true", help="one JSON object per line")
    query.set_defaults(handler=_run, audit_handler=_query)

    report = sub.add_parser("report", help="the daily report per account (and its alerts)")
    with_store(report)
    report.add_argument("--day", type=_day, required=True, help="the UTC day, YYYY-MM-DD")
    report.add_argument("--account", type=non_negative_int, help="this account only")
    report.add_argument("--json", action="store_true", help="JSON instead of tables")
    report.set_defaults(handler=_run, audit_handler=_report)

    retain = sub.add_parser("retain", help="remove the days before a date (retention)")
    with_store(retain)
    retain.add_argument("--keep-from", type=date.fromisoformat, required=True, metavar="DAY")
    retain.set_defaults(handler=_run, audit_handler=_retain)
