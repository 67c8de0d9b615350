"""``create_app(config)``: the service as a FastAPI application (REST, WebSocket ``/ws``,
``/metrics``; OpenAPI at ``/docs``). The path ``/`` is left to the web UI.

The app owns a ``Venue`` (the running engine) made from the config, or runs over one it is
given, and stops the venue it made when the server stops::

    >>> from wintermute.service.app import create_app
    >>> from wintermute.service.keys import demo_keys
    >>> config = {"instruments": [{"symbol": "BTC-USD", "tick_size": "0.01",
    ...     "lot_size": "0.001", "min_qty": "0.001", "max_qty": "100", "min_price": "1",
    ...     "max_price": "1000000"}], "threads": {"risk": {"wait": "park"}}}
    >>> app = create_app(config, keys=demo_keys())
    >>> app.state.venue.instrument("BTC-USD").tick_size
    Decimal('0.01')
    >>> app.state.venue.close()
"""

from __future__ import annotations

import collections
import contextlib
import functools
from collections.abc import AsyncIterator, Iterable, Mapping
from os import PathLike
from pathlib import Path
from typing import Any

from fastapi import APIRouter, FastAPI

from wintermute.config import EngineConfig, read_document
from wintermute.service import binance, metrics, order_entry, tracing, web_ui, ws
from wintermute.service.error_responses import install_error_handlers
from wintermute.service.heap import freeze_heap
from wintermute.service.http_limits import BodyLimit, RateLimit
from wintermute.service.keys import KeyStore
from wintermute.service.rest import account, health, market, orders, risk
from wintermute.service.rest import audit as audit_routes
from wintermute.service.rest.fast_orders import FastOrders
from wintermute.service.settings import ServiceSettings, split_config
from wintermute.service.venue import Venue
from wintermute.service.ws.fanout import publish_alerts
from wintermute.storage.audit_trail import AuditTrail

__all__ = ["create_app"]


def _venue_of(
    config: EngineConfig | Mapping[str, Any] | str | PathLike[str],
    settings: ServiceSettings | None,
) -> tuple[Venue, ServiceSettings]:
    if isinstance(config, EngineConfig):
        s = settings or ServiceSettings()
        return Venue(config, s), s
    if isinstance(config, Mapping):
        engine_doc, from_doc = split_config(config)
        s = settings or from_doc
        return Venue(EngineConfig.from_dict(engine_doc), s), s
    engine_doc, from_doc = split_config(read_document(config))
    s = settings or from_doc
    engine = EngineConfig.from_dict(engine_doc, base_dir=Path(config).parent)
    return Venue(engine, s), s


def create_app(
    config: EngineConfig | Mapping[str, Any] | str | PathLike[str] | None = None,
    *,
    venue: Venue | None = None,
    keys: KeyStore | None = None,
    settings: ServiceSettings | None = None,
    routers: Iterable[APIRouter] = (),
    tracer_provider: Any = None,
    audit: AuditTrail | None = None,
) -> FastAPI:
    """The service app. ``config``: the engine's config (``EngineConfig``, dict or file path,
    with an optional ``[service]`` table), or ``venue``: a running venue to serve (the app
    does not stop it). ``keys``: the API keys (default: ``settings.api_keys_file``, else the
    ``WINTERMUTE_API_KEYS`` environment variable, else none). ``routers``: more routers to
    mount (the Binance-compatible API, the web UI). ``tracer_provider``: an OpenTelemetry
    ``TracerProvider`` to trace with (default: the one ``[service]`` or the ``OTEL_``
    environment variables configure, else none: tracing off; ``wintermute.service.tracing``).
    ``audit``: the audit trail ``/api/audit`` answers from (``wintermute.storage.audit_trail``;
    None: those routes answer 503); whoever made it closes it after the venue."""
    owned = venue is None
    if venue is None:
        if config is None:
            raise ValueError("create_app needs a config or a venue")
        venue, settings = _venue_of(config, settings)
    settings = settings or venue.settings
    if keys is None:
        keys = KeyStore.load(settings.api_keys_file)
    running = venue
    owned_provider = tracer_provider is None
    if tracer_provider is None:
        tracer_provider = tracing.tracer_provider(settings)
    provider = tracer_provider

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        if getattr(app.state, "freeze_heap", False):  # the process's server (serve, demo)
            freeze_heap()
        entry = None
        if running.settings.order_entry_bind is not None:  # served from Rust too
            entry = order_entry.start(running, app.state.keys)
            app.state.metrics.add_counters(entry.counters)
        app.state.order_entry = entry
        try:
            yield
        finally:
            if entry is not None:
                entry.stop()
        if owned:
            running.close()
        if owned_provider and provider is not None:
            provider.shutdown()

    app = FastAPI(
        title="Wintermute",
        summary="REST and WebSocket API of the Wintermute venue",
        description="Prices and quantities are exact decimal strings. Authenticate with the "
        "`X-API-Key` header. Errors are `{code, message}` JSON.",
        version="0.1",
        lifespan=lifespan,
    )
    app.state.venue = venue
    app.state.keys = keys
    app.state.audit = audit
    app.state.settings = settings
    app.state.ws_dropped = collections.Counter()  # reason -> WebSocket clients dropped
    app.state.metrics = metrics.ServiceMetrics(venue, app.state.ws_dropped)
    if audit is not None:  # the audit writer's lag and the monitors' alerts on /metrics too
        app.state.metrics.registry.register(audit.collector())
        # Stored alerts, live to the WebSocket's ``alerts`` channel.
        audit.on_alerts(functools.partial(publish_alerts, venue.topics))
    install_error_handlers(app)
    for module in (health, orders, market, account, risk, audit_routes, metrics, ws, web_ui):
        app.include_router(module.router)
    app.include_router(binance.router(venue, keys))  # Binance-compatible API under /binance
    for router in routers:
        app.include_router(router)
    # The last added is the outermost: metrics see every answer, 413 and 429 included. The
    # order-entry hot path is innermost: limits, metrics and traces apply to it as to the rest.
    app.add_middleware(FastOrders, fastapi_app=app)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(
        RateLimit, rate=float(settings.rate_limit_per_s), burst=settings.rate_limit_burst
    )
    app.add_middleware(metrics.RequestMetrics, metrics=app.state.metrics)
    if provider is not None:
        tracer = provider.get_tracer("wintermute.service")
        venue.tracer = tracer
        app.add_middleware(tracing.TraceRequests, tracer=tracer)
    return app
