"""Prometheus metrics at ``GET /metrics``, in Prometheus' naming conventions (``_total``
counters, ``_seconds`` durations, base units).

- engine: ``wintermute_engine_commands_total{result}`` (received, risk_rejected, sequenced,
  refused), ``wintermute_engine_events_total``, ``wintermute_engine_outputs_total``, and
  ``wintermute_engine_stage_latency_seconds{stage}``: a summary (quantiles 0.5, 0.95, 0.99,
  0.999, with ``_count`` and ``_sum``) per pipeline stage, from ``PipelineStats`` (HDR
  histograms kept by the engine; read at scrape time, at most one stats interval old);
- venue: ``wintermute_venue_commands_total{kind}``, ``wintermute_venue_rejections_total{code}``
  (the Python routes' commands and those of the order entry served from Rust together),
  ``wintermute_venue_trades_total``, ``wintermute_venue_open_orders``,
  ``wintermute_live_subscribers``, ``wintermute_live_subscribers_dropped_total``,
  ``wintermute_ws_clients_dropped_total{reason}``;
- API: ``wintermute_api_requests_total{method,route,status}`` and
  ``wintermute_api_request_duration_seconds{method,route}`` (a histogram); ``route`` is the
  route's template (``/api/orders/{order_id}``), so ids never become labels.

Each app has a registry of its own (several apps in one process never clash).
"""

from __future__ import annotations

import collections
import logging
import time
from collections.abc import Callable, Iterator, Mapping

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Counter, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric
from prometheus_client.exposition import generate_latest
from prometheus_client.registry import Collector
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wintermute.service.venue import Venue

__all__ = ["RequestMetrics", "ServiceMetrics", "router"]

access_log = logging.getLogger("wintermute.service.access")
_QUANTILES = (("0.5", "p50_ns"), ("0.95", "p95_ns"), ("0.99", "p99_ns"), ("0.999", "p999_ns"))
_STAGES = ("gateway_to_risk", "risk_to_match", "match_to_publish", "end_to_end")


class _EngineCollector(Collector):
    """Reads the engine's and the venue's counters at scrape time."""

    def __init__(self, venue: Venue, ws_dropped: collections.Counter[str]) -> None:
        self.venue, self.ws_dropped = venue, ws_dropped
        #: More of the venue's counters, read at scrape time (the Rust order entry's).
        self.counters: list[Callable[[], Mapping[str, int]]] = []

    def collect(self) -> Iterator[Metric]:
        venue = self.venue
        stats = venue.stats()
        commands = CounterMetricFamily(
            "wintermute_engine_commands", "Engine commands by result", labels=["result"]
        )
        c = stats.counters
        for result, value in (
            ("received", c.received), ("risk_rejected", c.risk_rejected),
            ("sequenced", c.sequenced), ("refused", c.refused), ("not_run", c.not_run),
        ):  # fmt: skip
            commands.add_metric([result], value)
        yield commands
        yield CounterMetricFamily("wintermute_engine_events", "Book events", value=c.events)
        yield CounterMetricFamily("wintermute_engine_outputs", "Outputs", value=c.outputs)
        latency = Metric(
            "wintermute_engine_stage_latency_seconds",
            "Latency per pipeline stage (HDR histogram in the engine)",
            "summary",
        )
        for stage in _STAGES:
            lat = getattr(stats.latency, stage)
            for q, attr in _QUANTILES:
                latency.add_sample(
                    latency.name, {"stage": stage, "quantile": q}, getattr(lat, attr) / 1e9
                )
            latency.add_sample(latency.name + "_count", {"stage": stage}, lat.count)
            latency.add_sample(
                latency.name + "_sum", {"stage": stage}, lat.mean_ns * lat.count / 1e9
            )
        yield latency
        kinds = CounterMetricFamily(
            "wintermute_venue_commands", "Commands the venue sent, by kind", labels=["kind"]
        )
        codes = CounterMetricFamily(
            "wintermute_venue_rejections", "Commands refused, by code", labels=["code"]
        )
        counts = collections.Counter(venue.counters)
        for source in self.counters:
            counts.update(source())
        for name, value in sorted(counts.items()):
            if name.startswith("command_"):
                kinds.add_metric([name.removeprefix("command_")], value)
            elif name.startswith("rejected_"):
                codes.add_metric([name.removeprefix("rejected_")], value)
        yield kinds
        yield codes
        yield CounterMetricFamily(
            "wintermute_venue_trades", "Trades on the tape", value=venue.counters["trades"]
        )
        yield GaugeMetricFamily(
            "wintermute_venue_open_orders", "Open orders", value=venue.open_order_count()
        )
        yield GaugeMetricFamily(
            "wintermute_live_subscribers", "Live topic subscribers", value=venue.topics.count()
        )
        yield CounterMetricFamily(
            "wintermute_live_subscribers_dropped",
            "Subscribers dropped for falling behind",
            value=venue.topics.dropped_slow,
        )
        dropped = CounterMetricFamily(
            "wintermute_ws_clients_dropped", "WebSocket clients disconnected", labels=["reason"]
        )
        for reason, n in sorted(self.ws_dropped.items()):
            dropped.add_metric([reason], n)
        yield dropped


class ServiceMetrics:
    """An app's registry: the engine collector and the API's request metrics."""

    def __init__(self, venue: Venue, ws_dropped: collections.Counter[str]) -> None:
        self.registry = CollectorRegistry()
        self._engine = _EngineCollector(venue, ws_dropped)
        self.registry.register(self._engine)
        self.requests = Counter(
            "wintermute_api_requests", "API requests", ["method", "route", "status"],
            registry=self.registry,
        )  # fmt: skip
        self.duration = Histogram(
            "wintermute_api_request_duration_seconds", "API request duration",
            ["method", "route"], registry=self.registry,
            buckets=(0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0),
        )  # fmt: skip

    def add_counters(self, source: Callable[[], Mapping[str, int]]) -> None:
        """Counts the venue's commands and refusals of ``source`` too (named as
        ``Venue.counters``: ``command_<kind>``, ``rejected_<CODE>``), read at each scrape."""
        self._engine.counters.append(source)


class RequestMetrics:
    """ASGI middleware: counts and times every HTTP request by route template, and writes
    one access-log record (method, route, status, duration, account; never the key)."""

    def __init__(self, app: ASGIApp, metrics: ServiceMetrics) -> None:
        self.app, self.metrics = app, metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            elapsed = time.perf_counter() - start
            route = getattr(scope.get("route"), "path", None) or "<unmatched>"
            method = scope["method"]
            self.metrics.requests.labels(method, route, str(status)).inc()
            self.metrics.duration.labels(method, route).observe(elapsed)
            if access_log.isEnabledFor(logging.INFO):
                key = getattr(scope.get("state", {}).get("api_key"), "account", None)
                access_log.info(
                    "request",
                    extra={
                        "method": method, "route": route, "status": status,
                        "duration_ms": round(elapsed * 1000, 3), "account": key,
                    },
                )  # fmt: skip


router = APIRouter(tags=["metrics"])


@router.get("/metrics", include_in_schema=False)
def metrics(request: Request) -> Response:
    """The Prometheus text format."""
    registry: CollectorRegistry = request.app.state.metrics.registry
    return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)
