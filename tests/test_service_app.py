"""The service app served for real on 127.0.0.1 (``service_fixtures``): health, readiness and
JSON errors."""

from __future__ import annotations

import httpx

from service_fixtures import Service, service  # noqa: F401


def test_the_server_answers_health_and_readiness_on_127_0_0_1(service: Service) -> None:  # noqa: F811
    assert service.url.startswith("http://127.0.0.1:")
    assert httpx.get(f"{service.url}/health").json() == {"status": "ok"}
    r = httpx.get(f"{service.url}/ready")
    assert (r.status_code, r.json()) == (200, {"status": "ready"})


def test_an_unknown_route_is_a_json_404(service: Service) -> None:  # noqa: F811
    r = httpx.get(f"{service.url}/no/such/route")
    assert r.status_code == 404
    assert r.json()["code"] == "NOT_FOUND"
