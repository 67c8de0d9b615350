"""OpenTelemetry traces of the service (off by default).

Turn them on with an OTLP/HTTP endpoint in ``[service]`` or with OpenTelemetry's own
environment variables::

    [service]
    otlp_endpoint = "http://127.0.0.1:4318/v1/traces"   # an OpenTelemetry collector
    trace_sample_ratio = 0.01                           # trace 1% of the requests

or ``OTEL_EXPORTER_OTLP_ENDPOINT`` / ``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` (then
``OTEL_TRACES_SAMPLER_ARG``, if set, is the ratio; ``OTEL_SERVICE_NAME`` names the service,
``wintermute`` by default; ``OTEL_SDK_DISABLED=true`` keeps it off). Spans are batched and
exported in the background; a sampled-out request records nothing.

A sampled order gives two spans in one trace:

- ``POST /api/orders`` (kind ``SERVER``; the route's template, never an id): the HTTP
  request, with ``http.request.method``, ``http.route`` and ``http.response.status_code``;
- its child ``venue.place`` (``venue.cancel``, ``venue.amend``, ``venue.mass_cancel``): from
  the command's submission to the engine until the venue applied the engine's verdict, with
  ``wintermute.order_id``, the engine's ``wintermute.engine.command_seq`` and
  ``journal_seq``, ``wintermute.engine.outcome``, ``wintermute.engine.latency_ns`` (ingress
  to publication: through risk and matching, from the engine's output record) and
  ``wintermute.engine.ingress_ns``, one span event per engine output of the command
  (``accepted``, ``trade``, ``canceled``, ...; book level updates are counted in
  ``wintermute.engine.book_deltas``), and the venue's error code if it was refused.

Tests (and embedders) pass their own ``TracerProvider`` to ``create_app(tracer_provider=...)``.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from typing import Any

from starlette.types import ASGIApp, Message, Receive, Scope, Send

from wintermute.service.settings import ServiceSettings

__all__ = ["TraceRequests", "tracer_provider"]

_ENDPOINT_VARS = ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")


def tracer_provider(
    settings: ServiceSettings, environ: Mapping[str, str] | None = None
) -> Any | None:
    """A ``TracerProvider`` exporting over OTLP/HTTP when tracing is configured (see the module
    documentation), else None."""
    env = os.environ if environ is None else environ
    if env.get("OTEL_SDK_DISABLED", "").lower() == "true":
        return None
    endpoint = settings.otlp_endpoint
    from_env = next((env[v] for v in _ENDPOINT_VARS if env.get(v)), None)
    if endpoint is None and from_env is None:
        return None
    from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
    from opentelemetry.sdk.resources import Resource
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import BatchSpanProcessor
    from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased

    ratio = settings.trace_sample_ratio
    if env.get("OTEL_TRACES_SAMPLER_ARG") and settings.otlp_endpoint is None:
        ratio = min(max(float(env["OTEL_TRACES_SAMPLER_ARG"]), 0.0), 1.0)
    resource = Resource.create({"service.name": env.get("OTEL_SERVICE_NAME", "wintermute")})
    provider = TracerProvider(resource=resource, sampler=ParentBased(TraceIdRatioBased(ratio)))
    # The exporter reads the OTEL_ variables itself when no endpoint is given here.
    exporter = OTLPSpanExporter(endpoint=endpoint) if endpoint else OTLPSpanExporter()
    provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider


class TraceRequests:
    """ASGI middleware: a ``SERVER`` span per HTTP request, current while the route runs (so
    the venue's spans are its children), named by the route's template."""

    def __init__(self, app: ASGIApp, tracer: Any) -> None:
        from opentelemetry.trace import SpanKind

        self.app, self.tracer, self.kind = app, tracer, SpanKind.SERVER

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        method = scope["method"]
        with self.tracer.start_as_current_span(method, kind=self.kind) as span:
            if not span.is_recording():
                await self.app(scope, receive, send)
                return
            status = 500

            async def recording_send(message: Message) -> None:
                nonlocal status
                if message["type"] == "http.response.start":
                    status = message["status"]
                await send(message)

            try:
                await self.app(scope, receive, recording_send)
            finally:
                route = getattr(scope.get("route"), "path", None) or "<unmatched>"
                span.update_name(f"{method} {route}")
                span.set_attribute("http.request.method", method)
                span.set_attribute("http.route", route)
                span.set_attribute("http.response.status_code", status)
