"""Running the service: ``wintermute serve --config FILE`` (or ``serve(...)`` from Python).

The config file is the engine's (``docs/pipeline-python.md``) with an optional ``[service]``
table (``wintermute.service.settings``): bind address and port, TLS certificate and key
(uvicorn's own ``ssl_certfile`` / ``ssl_keyfile``), the API keys file, rate limits, fees and
starting balances. Command-line options override the file. Keys come from ``--keys FILE``,
else ``[service] api_keys_file``, else the ``WINTERMUTE_API_KEYS`` environment variable.
Logs are JSON lines on stderr. Ctrl-C (SIGINT) or SIGTERM stops the server, then the engine
(every accepted command runs first), then the audit trail (once it stored the journal's end).

The service keeps an **audit trail** by default (``wintermute.storage.audit_trail``): the
audit writer follows the engine's journal on a thread of its own, with the compliance
monitors on, into ``[audit] store`` (``--audit-store``), else SQLite in a run directory
(``--run-dir``, ``[audit] run_dir``, else a new ``wintermute-serve-*`` temporary directory)
whose path is printed at start; an engine config without ``[journal]`` journals into the run
directory. ``/api/audit/...`` answers from it, and the WebSocket's ``alerts`` channel pushes
each alert as it is stored. ``--no-audit`` or ``[audit] enabled = false`` turns it off (those
routes then answer 503). With ``[service.redis]``, the audit writer also publishes our books
and trades to Redis (``wintermute.storage.redis_tier``).

With a ``[market]`` table (``wintermute.market_settings``: the synthetic market, or the venues'
own feeds) the service runs that **external market** next to ours, as ``wintermute demo`` does:
the web UI's venue panels and consolidated BBO, ``/ws/market``, the venues' books, trades and
consolidated BBO in Redis (with ``[service.redis]``), and, with ``--record-market``, its trades,
top-of-book ticks and book snapshots recorded into the audit trail's store
(``wintermute.storage.market_recorder``).
"""

from __future__ import annotations

import contextlib
import dataclasses
import sys
import threading
import time
from collections.abc import Iterator
from os import PathLike
from pathlib import Path

import uvicorn
from fastapi import FastAPI

from wintermute.config import EngineConfig, read_document
from wintermute.errors import ConfigError
from wintermute.market_settings import MarketSettings
from wintermute.service.app import create_app
from wintermute.service.external_market import ExternalMarket
from wintermute.service.keys import KeyStore
from wintermute.service.logs import configure_logging
from wintermute.service.market_redis import redacted, redis_tier
from wintermute.service.market_services import MarketServices
from wintermute.service.settings import split_config
from wintermute.service.venue import Venue
from wintermute.service.web_ui import WebUi
from wintermute.storage.audit_settings import AuditSettings
from wintermute.storage.audit_trail import AuditTrail, plan_trail

__all__ = ["background", "serve"]

START_TIMEOUT_S = 10.0


def serve(
    config: str | PathLike[str],
    *,
    host: str | None = None,
    port: int | None = None,
    keys: str | PathLike[str] | None = None,
    ssl_certfile: str | None = None,
    ssl_keyfile: str | None = None,
    log_level: str = "info",
    audit: bool = True,
    audit_store: str | None = None,
    run_dir: str | PathLike[str] | None = None,
    record_market: bool = False,
) -> None:
    """Serves the venue of ``config`` until stopped (see the module documentation).
    ``record_market``: record the ``[market]`` venues into the audit trail's store."""
    configure_logging(log_level)
    path = Path(config)
    document = read_document(path)
    engine_doc, settings = split_config(document)
    audit_settings = AuditSettings.of_document(document)
    if audit_store is not None:
        audit_settings = dataclasses.replace(audit_settings, store=audit_store)
    overrides = {
        k: v
        for k, v in (
            ("host", host), ("port", port), ("ssl_certfile", ssl_certfile),
            ("ssl_keyfile", ssl_keyfile),
        )
        if v is not None
    }  # fmt: skip
    settings = dataclasses.replace(settings, **overrides)  # type: ignore[arg-type]
    keys_file = keys if keys is not None else _relative(path, settings.api_keys_file)
    store = KeyStore.load(keys_file)
    engine = EngineConfig.from_dict(engine_doc, base_dir=path.parent)
    market_settings: MarketSettings | None = None
    instrument: str | None = None
    if "market" in document:
        market_settings = MarketSettings.from_dict(document["market"], base_dir=path.parent)
        instrument = market_instrument(market_settings, [i.symbol for i in engine.instruments])
    if record_market and (market_settings is None or not (audit and audit_settings.enabled)):
        raise ConfigError(
            "--record-market records the [market] venues into the audit trail's store: "
            "the config needs a [market] table, and the audit trail on",
            reason="CONFIG", key="market",
        )  # fmt: skip
    plan = None
    if audit and audit_settings.enabled:
        configured_dir = _relative(path, audit_settings.run_dir)
        plan = plan_trail(
            engine, dataclasses.replace(audit_settings, run_dir=configured_dir), run_dir,
            prefix="wintermute-serve-",
        )  # fmt: skip
        engine = plan.engine
    venue = Venue(engine, settings)
    trail: AuditTrail | None = None
    services: MarketServices | None = None
    try:
        if plan is not None:
            hot = None if settings.redis is None else redis_tier(settings.redis)
            trail = plan.start(audit_settings, hot=hot)
            print(f"wintermute: {plan.describe()}", file=sys.stderr, flush=True)
            if settings.redis is not None:
                where = redacted(settings.redis.url)
                print(f"wintermute: publishing books and trades to Redis ({where})",
                      file=sys.stderr, flush=True)  # fmt: skip
        if market_settings is not None and instrument is not None:
            record_url = plan.url if record_market and plan is not None else None
            services = MarketServices(
                ExternalMarket(market_settings, instrument=instrument),
                redis=settings.redis, record_url=record_url,
            )  # fmt: skip
            for line in services.lines():
                print(f"wintermute: {line}", file=sys.stderr, flush=True)
        app = create_app(venue=venue, keys=store, settings=settings, audit=trail)
        app.state.freeze_heap = True  # wintermute.service.heap: shorter GC pauses
        if services is not None:
            app.state.ui = WebUi(symbol=instrument, market=services.market)
        scheme = "https" if settings.ssl_certfile else "http"
        print(
            f"wintermute: serving on {scheme}://{settings.host}:{settings.port} "
            f"(API docs at /docs; {len(store)} API keys)",
            file=sys.stderr,
            flush=True,
        )
        if settings.order_entry_bind is not None:
            print(
                f"wintermute: order entry (POST /api/orders, DELETE /api/orders/{{id}}) also "
                f"served from Rust on http://{settings.order_entry_bind}",
                file=sys.stderr, flush=True,
            )  # fmt: skip
        uvicorn.run(
            app,
            host=settings.host,
            port=settings.port,
            ssl_certfile=_relative(path, settings.ssl_certfile),
            ssl_keyfile=_relative(path, settings.ssl_keyfile),
            ws="websockets-sansio",
            ws_per_message_deflate=False,  # compressing costs CPU per message per client
            log_config=None,
            log_level=log_level,
        )
    finally:
        if services is not None:
            services.stop()
        venue.close()
        if trail is not None:
            trail.close()


def market_instrument(settings: MarketSettings, symbols: list[str]) -> str:
    """Our instrument the external market's consolidated book is named after: the one
    ``[market.instruments]`` maps (each must be one of ``symbols``, the engine's), else the
    first of ``symbols``."""
    for name in settings.instruments:
        if name not in symbols:
            raise ConfigError(
                f"config key market.instruments.{name}: not an instrument of the engine "
                f"({symbols})",
                reason="CONFIG", key=f"market.instruments.{name}",
            )  # fmt: skip
    if len(settings.instruments) > 1:
        raise ConfigError(
            "config key market.instruments: map one instrument (the web UI shows one)",
            reason="CONFIG", key="market.instruments",
        )  # fmt: skip
    return next(iter(settings.instruments), symbols[0])


@contextlib.contextmanager
def background(app: FastAPI, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Serves ``app`` on a background thread (port 0: a free port the kernel picks) and
    yields its base URL, ``http://HOST:PORT``; stops the server on exit. For notebooks,
    examples and tests; ``serve`` is the way for a deployment."""
    config = uvicorn.Config(
        app, host=host, port=port, log_level="warning", ws="websockets-sansio",
        ws_per_message_deflate=False,
    )  # fmt: skip
    server = uvicorn.Server(config)
    thread = threading.Thread(target=server.run, name="wintermute-server", daemon=True)
    thread.start()
    deadline = time.monotonic() + START_TIMEOUT_S
    while not server.started:
        if not thread.is_alive() or time.monotonic() > deadline:
            server.should_exit = True
            raise RuntimeError(f"the server did not start on {host}:{port}")
        time.sleep(0.01)
    bound = server.servers[0].sockets[0].getsockname()
    try:
        yield f"http://{bound[0]}:{bound[1]}"
    finally:
        server.should_exit = True
        thread.join(timeout=START_TIMEOUT_S)


def _relative(config: Path, name: str | None) -> str | None:
    """A path from the config file, taken relative to the file's directory."""
    if name is None:
        return None
    p = Path(name)
    return str(p if p.is_absolute() else config.parent / p)
