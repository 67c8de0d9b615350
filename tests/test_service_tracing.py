"""OpenTelemetry traces: a sampled order's spans from the HTTP request to the engine's verdict,
nothing when tracing is off or the request is sampled out (an in-memory exporter)."""

from __future__ import annotations

from collections.abc import Iterator

import httpx
import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.sampling import ALWAYS_OFF, ALWAYS_ON, Sampler
from opentelemetry.trace import SpanKind

from service_fixtures import running_server, service_config
from wintermute.service.app import create_app
from wintermute.service.keys import demo_keys
from wintermute.service.settings import ServiceSettings
from wintermute.service.tracing import tracer_provider

KEY = {"X-API-Key": "demo-key-1"}
ORDER = {"symbol": "BTC-USD", "side": "buy", "qty": "0.5", "price": "100.25"}
SETTINGS = ServiceSettings(rate_limit_per_s=10_000, rate_limit_burst=10_000)


def _serve(provider: TracerProvider | None) -> Iterator[str]:
    app = create_app(
        service_config(), keys=demo_keys(), settings=SETTINGS, tracer_provider=provider
    )
    try:
        with running_server(app) as url:
            yield url
    finally:
        app.state.venue.close()


def _provider(sampler: Sampler) -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(sampler=sampler)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


def test_a_sampled_order_is_traced_from_the_request_to_the_engines_verdict() -> None:
    provider, exporter = _provider(ALWAYS_ON)
    for url in _serve(provider):
        placed = httpx.post(f"{url}/api/orders", json=ORDER, headers=KEY)
        assert placed.status_code == 201
        oid = placed.json()["order_id"]
        assert httpx.delete(f"{url}/api/orders/{oid}", headers=KEY).status_code == 200
    spans = {s.name: s for s in exporter.get_finished_spans()}
    request, place = spans["POST /api/orders"], spans["venue.place"]
    assert request.kind == SpanKind.SERVER
    assert request.attributes is not None
    assert place.attributes is not None
    assert request.attributes["http.route"] == "/api/orders"
    assert request.attributes["http.response.status_code"] == 201
    assert place.parent is not None
    assert place.parent.span_id == request.context.span_id
    assert place.context.trace_id == request.context.trace_id
    assert place.attributes["wintermute.order_id"] == oid
    assert place.attributes["wintermute.engine.outcome"] == "event"
    assert place.attributes["wintermute.engine.command_seq"] == 1
    latency, ingress = (
        place.attributes[f"wintermute.engine.{k}_ns"] for k in ("latency", "ingress")
    )
    assert isinstance(latency, int)
    assert latency > 0
    assert isinstance(ingress, int)
    assert ingress > 0
    assert place.attributes["wintermute.engine.book_deltas"] == 1  # a new bid level
    assert [e.name for e in place.events] == ["accepted"]
    cancel = spans["venue.cancel"]
    assert cancel.attributes is not None
    assert cancel.attributes["wintermute.engine.command_seq"] == 2
    assert [e.name for e in cancel.events] == ["canceled"]
    assert spans["DELETE /api/orders/{order_id}"].attributes is not None
    # The venue's span lies within the request's.
    times = (request.start_time, place.start_time, place.end_time, request.end_time)
    assert all(t is not None for t in times)
    assert list(times) == sorted(t or 0 for t in times)


def test_an_order_the_book_refuses_carries_the_venues_error_code() -> None:
    provider, exporter = _provider(ALWAYS_ON)
    for url in _serve(provider):
        ask = {**ORDER, "side": "sell"}
        assert httpx.post(f"{url}/api/orders", json=ask, headers=KEY).status_code == 201
        crossing = {**ORDER, "tif": "post_only"}
        r = httpx.post(f"{url}/api/orders", json=crossing, headers={"X-API-Key": "demo-key-2"})
        assert r.status_code == 422
    places = [s for s in exporter.get_finished_spans() if s.name == "venue.place"]
    refused = places[-1]
    assert refused.attributes is not None
    assert refused.attributes["wintermute.error"] == "BOOK_REJECTED"
    assert [e.name for e in refused.events] == ["rejected"]  # a post-only that would cross
    requests = [s for s in exporter.get_finished_spans() if s.kind == SpanKind.SERVER]
    assert requests[-1].attributes is not None
    assert requests[-1].attributes["http.response.status_code"] == 422


def test_with_tracing_off_no_span_is_created() -> None:
    provider, exporter = _provider(ALWAYS_ON)  # there, but not given to the app
    app = create_app(service_config(), keys=demo_keys(), settings=SETTINGS)
    try:
        assert app.state.venue.tracer is None
        with running_server(app) as url:
            assert httpx.post(f"{url}/api/orders", json=ORDER, headers=KEY).status_code == 201
    finally:
        app.state.venue.close()
    assert exporter.get_finished_spans() == ()
    provider.shutdown()


def test_a_sampled_out_request_records_nothing() -> None:
    provider, exporter = _provider(ALWAYS_OFF)
    for url in _serve(provider):
        assert httpx.post(f"{url}/api/orders", json=ORDER, headers=KEY).status_code == 201
    assert exporter.get_finished_spans() == ()


@pytest.mark.parametrize(
    ("settings", "environ", "on"),
    [
        (ServiceSettings(), {}, False),
        (ServiceSettings(otlp_endpoint="http://127.0.0.1:9/v1/traces"), {}, True),
        (ServiceSettings(), {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:9"}, True),
        (
            ServiceSettings(otlp_endpoint="http://127.0.0.1:9/v1/traces"),
            {"OTEL_SDK_DISABLED": "true"},
            False,
        ),
    ],
)
def test_tracing_is_on_only_when_an_endpoint_is_configured(
    settings: ServiceSettings, environ: dict[str, str], on: bool
) -> None:
    provider = tracer_provider(settings, environ)
    assert (provider is not None) == on
    if provider is not None:
        provider.shutdown()


def test_the_sample_ratio_is_checked() -> None:
    assert ServiceSettings.from_dict({"trace_sample_ratio": 0.25}).trace_sample_ratio == 0.25
    with pytest.raises(Exception, match="trace_sample_ratio"):
        ServiceSettings.from_dict({"trace_sample_ratio": 2})
