"""A schemathesis run over the service's OpenAPI schema against a real server on 127.0.0.1:
every operation, with generated valid (positive) and schema-violating (negative) input,
authenticated as a trader and as an admin; no answer may be a server error (5xx), the audit
trail's routes included (the service keeps one, as ``wintermute serve`` does). Bounded:
``EXAMPLES`` cases per run, spread over all operations."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from schemathesis.generation.modes import GenerationMode

from service_fixtures import running_server, service_config
from wintermute.config import EngineConfig
from wintermute.service.app import create_app
from wintermute.service.keys import demo_keys
from wintermute.service.settings import ServiceSettings, split_config
from wintermute.service.venue import Venue
from wintermute.storage.audit_settings import AuditSettings
from wintermute.storage.audit_trail import plan_trail

EXAMPLES = 150


@pytest.fixture(scope="module")
def served(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """The service with an audit trail (SQLite in a run directory), as ``serve`` runs it."""
    settings = ServiceSettings(rate_limit_per_s=10**6, rate_limit_burst=10**6)
    engine_doc, _ = split_config(service_config())
    audit = AuditSettings(account_groups={"desk": (1, 2)})
    plan = plan_trail(EngineConfig.from_dict(engine_doc), audit, tmp_path_factory.mktemp("run"))
    venue = Venue(plan.engine, settings)
    trail = plan.start(audit)
    app = create_app(venue=venue, keys=demo_keys(), settings=settings, audit=trail)
    try:
        with running_server(app) as url:
            yield url
    finally:
        venue.close()
        trail.close()


@pytest.mark.parametrize("mode", [GenerationMode.POSITIVE, GenerationMode.NEGATIVE])
@pytest.mark.parametrize("key", ["demo-key-1", "demo-admin-key"])
def test_no_operation_answers_a_server_error(served: str, mode: GenerationMode, key: str) -> None:
    schema = schemathesis.openapi.from_url(f"{served}/openapi.json")
    seen: set[tuple[str, str]] = set()

    @given(case=schema.as_strategy(mode))
    @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck))
    def run(case: Any) -> None:
        seen.add((case.method, case.path))
        response = case.call(base_url=served, headers={"X-API-Key": key}, timeout=10)
        case.validate_response(response, checks=[not_a_server_error])
        assert response.status_code < 500, response.text

    run()
    assert len(seen) >= 10  # the run reached most operations
