"""``wintermute audit ...``: the audit trail from the command line.

::

    wintermute audit follow  --config engine.toml [--store URL] [--redis URL] [--seconds S]
                             [--metrics-port P] [--monitor [--max-order-to-trade R]
                             [--max-cancel-rate R] [--max-stp-hits N] [--min-orders N]]
    wintermute audit rebuild --config engine.toml [--store URL]
    wintermute audit query   [--store URL] [--account N] [--instrument SYM] [--order-id N]
                             [--since T] [--until T] [--after SEQ:N] [--limit N] [--json]
    wintermute audit retain  [--store URL] --keep-from YYYY-MM-DD

``--store`` defaults to ``$WINTERMUTE_AUDIT_URL``, else ``sqlite:///audit.db``. ``--journal``
overrides the config's ``[journal] dir``. Times are ISO 8601 with a timezone
(``2026-12-06T10:00:00+00:00``) or integer nanoseconds since the epoch.
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
from typing import Any

__all__ = ["add_parser"]

DEFAULT_STORE = "sqlite:///audit.db"


def _store_url(args: argparse.Namespace) -> str:
    url: str = args.store or os.environ.get("WINTERMUTE_AUDIT_URL") or DEFAULT_STORE
    return url


def _journal_of(args: argparse.Namespace) -> tuple[Any, str]:
    from wintermute import errors
    from wintermute.config import EngineConfig

    config = EngineConfig.from_file(args.config)
    journal = args.journal or (config.journal.dir if config.journal else None)
    if journal is None:
        raise errors.ConfigError(
            f"config={args.config} has no [journal] and no --journal was given", reason="CONFIG"
        )
    return config, journal


def _follow(args: argparse.Namespace) -> int:
    from wintermute.storage import AuditWriter, open_store

    config, journal = _journal_of(args)
    store = open_store(_store_url(args))
    hot = None
    if args.redis:
        from wintermute.storage.redis_tier import RedisTier

        hot = RedisTier(args.redis, prefix=args.redis_prefix, cluster=args.redis_cluster)
    monitor = None
    if args.monitor:
        from wintermute.storage.monitors import ComplianceMonitor, Thresholds

        monitor = ComplianceMonitor(
            Thresholds(
                max_order_to_trade=args.max_order_to_trade,
                max_cancel_rate=args.max_cancel_rate,
                max_stp_hits=args.max_stp_hits,
                min_orders=args.min_orders,
            )
        )
    writer = AuditWriter(
        store, config.instruments, journal, batch_rows=args.batch_rows, hot=hot, monitor=monitor
    )
    if args.metrics_port is not None:
        from prometheus_client import start_http_server

        start_http_server(args.metrics_port, addr="127.0.0.1")
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    print(f"following {journal} into {store.backend} from seq {writer.stored_seq}", flush=True)
    timer = threading.Timer(args.seconds or 0.0, writer.stop)
    timer.daemon = True
    if args.seconds is not None:
        timer.start()
    signal.signal(signal.SIGTERM, lambda *_: writer.stop())
    with contextlib.suppress(KeyboardInterrupt):
        writer.follow(poll_s=args.poll)
    lag = writer.lag()
    print(f"stored through seq {lag.stored_seq} (journal {lag.journal_seq})", flush=True)
    store.close()
    return 0


def _rebuild(args: argparse.Namespace) -> int:
    from wintermute.storage import open_store, rebuild

    config, journal = _journal_of(args)
    store = open_store(_store_url(args))
    rows = rebuild(store, config.instruments, journal)
    print(f"rebuilt {rows} rows from {journal} through seq {store.last_seq()}")
    store.close()
    return 0


def _time(text: str) -> datetime | int:
    if text.isdigit():
        return int(text)
    try:
        return datetime.fromisoformat(text)
    except ValueError:
        raise argparse.ArgumentTypeError(
            f"{text!r}: not ISO 8601 (2026-12-06T10:00:00+00:00) or nanoseconds"
        ) from None


def _query(args: argparse.Namespace) -> int:
    from wintermute.storage import AuditQuery, open_store

    q = AuditQuery(
        account=args.account,
        instrument=args.instrument,
        order_id=args.order_id,
        since=args.since,
        until=args.until,
        after=args.after,
        limit=args.limit,
    )
    store = open_store(_store_url(args))
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


def _retain(args: argparse.Namespace) -> int:
    from wintermute.storage import open_store

    store = open_store(_store_url(args))
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


def _non_negative(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError(f"must not be negative, got {text}")
    return value


def add_parser(commands: Any) -> None:
    """Adds the ``audit`` command group to ``wintermute``'s sub-parsers."""
    audit = commands.add_parser("audit", help="the audit trail: follow, rebuild, query, retain")
    sub = audit.add_subparsers(dest="audit_command", required=True, metavar="COMMAND")

    def with_store(p: argparse.ArgumentParser) -> None:
        p.add_argument(
            "--store", help=f"postgresql://... or sqlite:///FILE (default: $WINTERMUTE_AUDIT_URL "
            f"or {DEFAULT_STORE})"
        )  # fmt: skip

    def with_journal(p: argparse.ArgumentParser) -> None:
        p.add_argument("--config", required=True, help="the engine's config file (instruments)")
        p.add_argument("--journal", help="journal directory (default: the config's)")

    follow = sub.add_parser("follow", help="store the journal's events as they are appended")
    with_journal(follow)
    with_store(follow)
    follow.add_argument("--batch-rows", type=int, default=10_000, help="rows per transaction")
    follow.add_argument("--poll", type=float, default=0.05, help="seconds between journal reads")
    follow.add_argument("--seconds", type=float, default=None, help="stop after this long")
    follow.add_argument("--redis", help="also publish books and trades to this Redis URL")
    follow.add_argument("--redis-prefix", default="wm", help="Redis key prefix (default: wm)")
    follow.add_argument(
        "--redis-cluster", action="store_true", help="--redis names a node of a Redis Cluster"
    )
    follow.add_argument(
        "--monitor", action="store_true", help="run the compliance monitors (alerts in the log)"
    )
    follow.add_argument("--max-order-to-trade", type=float, default=20.0, help="monitor rule")
    follow.add_argument("--max-cancel-rate", type=float, default=0.95, help="monitor rule")
    follow.add_argument("--max-stp-hits", type=int, default=10, help="monitor rule")
    follow.add_argument(
        "--min-orders", type=int, default=100, help="orders before the ratio rules apply"
    )
    follow.add_argument("--metrics-port", type=int, help="serve Prometheus metrics on 127.0.0.1")
    follow.set_defaults(handler=_run, audit_handler=_follow)

    rebuild = sub.add_parser("rebuild", help="empty the store and write the whole journal again")
    with_journal(rebuild)
    with_store(rebuild)
    rebuild.set_defaults(handler=_run, audit_handler=_rebuild)

    query = sub.add_parser("query", help="audit rows by account, instrument, order, time")
    with_store(query)
    query.add_argument("--account", type=_non_negative)
    query.add_argument("--instrument")
    query.add_argument("--order-id", type=_non_negative)
    query.add_argument("--since", type=_time, help="ISO 8601 with timezone, or ns (inclusive)")
    query.add_argument("--until", type=_time, help="ISO 8601 with timezone, or ns (exclusive)")
    query.add_argument(
        "--after", type=_row_id, help="page: rows after this SEQ:N (the last row's journal_seq:n)"
    )
    query.add_argument("--limit", type=int, default=1000, help="rows at most (1..100000)")
    query.add_argument("--json", action="store_true", help="one JSON object per line")
    query.set_defaults(handler=_run, audit_handler=_query)

    retain = sub.add_parser("retain", help="remove the days before a date (retention)")
    with_store(retain)
    retain.add_argument("--keep-from", type=date.fromisoformat, required=True, metavar="DAY")
    retain.set_defaults(handler=_run, audit_handler=_retain)
