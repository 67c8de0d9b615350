"""``wintermute demo``: the whole platform on one machine, in the browser.

It starts, with nothing installed or running beforehand:

- the engine behind the service's venue (``wintermute.service.venue``), trading BTC-USD;
- the synthetic three-venue market (Binance, Coinbase, Kraken on 127.0.0.1, read by the real
  connectors; ``wintermute.service.external_market``);
- background order flow on our venue: seeded noise makers quoting around the outside market's
  consolidated mid and takers sending small market orders (``wintermute.service.order_flow``);
- the market maker (``wintermute.mm_live``, the config of ``examples/mm_live.toml``) quoting
  BTC-USD on our venue as account 9 off the external venues' books, on a Rust thread of its
  own; the web UI's market-maker panel shows its quotes, inventory, PnL and its parts, the
  interlock with its pulls per cause and its hedge decisions, and the ladder marks its orders;
- the service (REST, WebSocket, ``/metrics``) with the web UI at ``http://127.0.0.1:8000``;
- an audit trail (``wintermute.storage.audit_trail``): the engine journals into a run
  directory (printed at start; ``--run-dir`` to choose it) and the audit writer follows the
  journal on a thread of its own into SQLite there (``audit.db``), with the compliance
  monitors on (accounts 1 and 2 are one desk, ``DEMO_ACCOUNT_GROUPS``, so trading one against
  the other raises a wash-trade alert; ``DEMO_THRESHOLDS`` flag a cancel rate over 40% once an
  account has 50 orders, which the noise makers reach within a minute, so alerts show up
  while you watch); ``/api/audit/events``, ``/api/audit/alerts`` and
  ``/api/audit/report`` answer from it, and ``wintermute audit report --store
  sqlite:///RUN/audit.db --day YYYY-MM-DD`` reads it after the demo. ``--no-audit``: none.
  The page's alerts panel lists the newest alerts as they are stored (the WebSocket's
  ``alerts`` channel);
- with ``--redis URL`` (``--redis-cluster``: a node of a Redis Cluster), the Redis hot tier:
  our book and trades (from the audit writer), the external venues' books and trades and the
  consolidated BBO (``wintermute.service.market_redis``), for other processes to read.

The browser trades as account 1 with the demo key ``demo-key-1`` (the page is given it; the
other demo keys are ``demo-key-2``, ``demo-key-3`` and ``demo-admin-key``). The demo listens on
127.0.0.1 only. Ctrl-C stops it cleanly, as does ``duration`` running out. A port that is taken
is a clear error, not a traceback (``--port 0`` picks a free one).

Without the external market (``market=False``) there is no market maker: its panel says so.
"""

from __future__ import annotations

import errno
import socket
import sys
import threading
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, TextIO

import uvicorn

from wintermute import mm_live
from wintermute.config import EngineConfig
from wintermute.service.app import create_app
from wintermute.service.external_market import ExternalMarket
from wintermute.service.keys import demo_keys
from wintermute.service.market_redis import redacted, redis_tier
from wintermute.service.market_services import MarketServices
from wintermute.service.order_flow import OrderFlow
from wintermute.service.settings import RedisSettings, ServiceSettings
from wintermute.service.venue import Venue
from wintermute.service.web_ui import WebUi, market_maker_not_running
from wintermute.storage.audit_settings import AuditSettings
from wintermute.storage.audit_trail import AuditTrail, TrailPlan, plan_trail
from wintermute.storage.monitors import Thresholds

__all__ = [
    "BROWSER_KEY",
    "DEMO_ACCOUNT_GROUPS",
    "DEMO_THRESHOLDS",
    "DemoOptions",
    "PortTakenError",
    "demo_config",
    "run",
]

#: The API key the page trades with (account 1).
BROWSER_KEY = "demo-key-1"
SYMBOL = "BTC-USD"
#: The demo's related accounts, for the wash-trade monitor: the browser's account and the
#: second demo key's.
DEMO_ACCOUNT_GROUPS = {"demo-desk": (1, 2)}
#: The demo's monitor thresholds: tighter than the defaults, so its noise makers (who cancel
#: about half of their orders) show cancel-rate alerts.
DEMO_THRESHOLDS = Thresholds(max_cancel_rate=0.4, min_orders=50)


class PortTakenError(OSError):
    """The demo's port is in use by another program."""


@dataclass(frozen=True)
class DemoOptions:
    """``host`` and ``port`` to serve on (port 0: any free one); ``duration`` seconds to run
    (None: until Ctrl-C); ``seed`` of the order flow and the synthetic venues; ``rate`` of the
    background flow (actions a second); ``market``: run the external venues; ``audit``: keep
    an audit trail in ``run_dir`` (None: a new temporary directory); ``redis``: a Redis URL
    (``redis_cluster``: of a Redis Cluster node) to publish the books to (None: off);
    ``record_market``: record the external venues' trades, top-of-book ticks and book snapshots
    into the audit trail's store (``wintermute.storage.market_recorder``; off by default: it
    takes interpreter time from the venue)."""

    host: str = "127.0.0.1"
    port: int = 8000
    duration: float | None = None
    seed: int = 7
    rate: float = 30.0
    market: bool = True
    audit: bool = True
    run_dir: str | None = None
    #: Publish the books, trades and consolidated BBO to this Redis (None: off).
    redis: str | None = None
    redis_cluster: bool = False
    record_market: bool = False


def demo_config() -> dict[str, Any]:
    """The demo venue's engine config: BTC-USD on a one-cent grid, parked engine threads (a
    laptop's cores stay free), and starting balances deep enough for hours of noise flow."""
    return {
        "instruments": [{
            "symbol": SYMBOL, "tick_size": "0.01", "lot_size": "0.001", "min_qty": "0.001",
            "max_qty": "100", "min_price": "1", "max_price": "1000000",
        }],
        "threads": {"risk": {"wait": {"kind": "park", "timeout_us": 200}},
                    "matching": {"wait": {"kind": "park", "timeout_us": 200}}},
    }  # fmt: skip


def _settings() -> ServiceSettings:
    return ServiceSettings(
        balances={"BTC": Decimal(100_000), "USD": Decimal(10_000_000_000)},
        rate_limit_per_s=200,
        rate_limit_burst=400,
    )


def bind(host: str, port: int) -> socket.socket:
    """A listening socket on ``host:port``; ``PortTakenError`` when the port is in use."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    try:
        sock.bind((host, port))
    except OSError as e:
        sock.close()
        if e.errno == errno.EADDRINUSE:
            raise PortTakenError(
                e.errno,
                f"port {port} on {host} is already in use (another demo running?); "
                "stop it, or pick another port with --port N (--port 0: any free port)",
            ) from None
        raise
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def run(options: DemoOptions = DemoOptions(), out: TextIO = sys.stdout) -> int:
    """Runs the demo until Ctrl-C or ``options.duration``; returns the exit status."""
    try:
        sock = bind(options.host, options.port)
    except PortTakenError as e:
        print(f"wintermute demo: {e.strerror}", file=sys.stderr)
        return 2
    if options.record_market and not (options.market and options.audit):
        sock.close()
        print("wintermute demo: --record-market records the external venues into the audit "
              "trail's store: drop --no-market and --no-audit", file=sys.stderr)  # fmt: skip
        return 2
    url = f"http://{options.host}:{sock.getsockname()[1]}"
    engine = EngineConfig.from_dict(demo_config())
    audit_settings = AuditSettings(
        thresholds=DEMO_THRESHOLDS, account_groups=dict(DEMO_ACCOUNT_GROUPS)
    )
    plan: TrailPlan | None = None
    if options.audit:
        plan = plan_trail(engine, audit_settings, options.run_dir, prefix="wintermute-demo-")
        engine = plan.engine
    venue = Venue(engine, _settings(), reserve=1)
    redis = None if options.redis is None else RedisSettings(options.redis, options.redis_cluster)
    hot = None if redis is None or plan is None else redis_tier(redis)
    trail: AuditTrail | None = None if plan is None else plan.start(audit_settings, hot=hot)
    market = ExternalMarket(seed=options.seed) if options.market else None
    services = None
    if market is not None:
        record_url = plan.url if options.record_market and plan is not None else None
        services = MarketServices(market, redis=redis, record_url=record_url)
    maker = (
        None if market is None else mm_live.start_on_venue(mm_live.paper_config(), venue, market)
    )
    flow = OrderFlow(
        venue, SYMBOL, seed=options.seed, rate=options.rate,
        reference=market.reference_mid if market is not None else None,
    )  # fmt: skip
    app = create_app(venue=venue, keys=demo_keys(), audit=trail)
    app.state.freeze_heap = True  # wintermute.service.heap: shorter GC pauses
    app.state.ui = WebUi(
        symbol=SYMBOL, api_key=BROWSER_KEY, market=market,
        market_maker=maker.state if maker is not None else market_maker_not_running,
    )  # fmt: skip
    server = uvicorn.Server(
        uvicorn.Config(app, log_level="warning", lifespan="on", ws="websockets-sansio")
    )
    timer = None
    if options.duration is not None:
        timer = threading.Timer(options.duration, lambda: setattr(server, "should_exit", True))
        timer.daemon = True
        timer.start()
    audit_line = "" if plan is None else f"\n  {plan.describe()}"
    if redis is not None:
        audit_line += f"\n  publishing the books to Redis at {redacted(redis.url)}"
    if services is not None and services.recording is not None:
        audit_line += f"\n  {services.lines()[-1]}"
    print(
        f"Wintermute demo: the web UI is at {url}/  (API docs {url}/docs, metrics {url}/metrics)"
        f"\n  the browser trades as account 1 (key {BROWSER_KEY}); Ctrl-C stops{audit_line}",
        file=out,
        flush=True,
    )
    try:
        server.run(sockets=[sock])
    except KeyboardInterrupt:  # uvicorn shut down gracefully, then re-raised the Ctrl-C
        pass
    finally:
        if timer is not None:
            timer.cancel()
        flow.stop()
        if maker is not None:
            maker.stop()
        if services is not None:
            services.stop()
        venue.close()
        if trail is not None:
            trail.close()
        sock.close()
    print("Wintermute demo: stopped", file=out, flush=True)
    return 0
