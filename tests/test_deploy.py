"""``deploy/``: the Prometheus config scrapes the demo, and every metric the Grafana dashboard
queries is one the running service exports at ``/metrics``."""

from __future__ import annotations

import json
import re
from pathlib import Path
from typing import Any

import httpx
from prometheus_client.parser import text_string_to_metric_families

from service_fixtures import Service, service  # noqa: F401  (the fixture)

ROOT = Path(__file__).resolve().parent.parent
DASHBOARD = ROOT / "deploy" / "grafana" / "wintermute.json"
PROMETHEUS = ROOT / "deploy" / "prometheus.yml"
METRIC = re.compile(r"\bwintermute_[a-z0-9_]+\b")
SUFFIXES = {
    "counter": ("_total", "_created"),
    "histogram": ("_bucket", "_count", "_sum", "_created"),
    "summary": ("_count", "_sum", "_created"),
}


def exported_names(text: str) -> set[str]:
    """Every series name a scrape of ``text`` can answer, samples or not (a counter with no
    labelled sample yet still answers ``<name>_total`` once it has one)."""
    names: set[str] = set()
    for family in text_string_to_metric_families(text):
        names.add(family.name)
        names.update(family.name + s for s in SUFFIXES.get(family.type, ()))
        names.update(sample.name for sample in family.samples)
    return names


def dashboard_queries() -> list[str]:
    dashboard: dict[str, Any] = json.loads(DASHBOARD.read_text())
    return [t["expr"] for panel in dashboard["panels"] for t in panel["targets"]]


def test_every_metric_the_dashboard_queries_is_exported_by_the_running_service(
    service: Service,  # noqa: F811
) -> None:
    key = {"X-API-Key": "demo-key-1"}
    order = {"symbol": "BTC-USD", "side": "buy", "qty": "0.010", "price": "100.00"}
    assert httpx.post(f"{service.url}/api/orders", json=order, headers=key).status_code == 201
    assert httpx.get(f"{service.url}/api/book/BTC-USD").status_code == 200
    scrape = httpx.get(f"{service.url}/metrics")
    assert scrape.status_code == 200
    exported = exported_names(scrape.text)
    queried = {name for expr in dashboard_queries() for name in METRIC.findall(expr)}
    assert len(queried) >= 10
    missing = sorted(queried - exported)
    assert missing == [], f"the dashboard queries metrics the service does not export: {missing}"


def test_the_dashboard_is_importable_grafana_json() -> None:
    dashboard = json.loads(DASHBOARD.read_text())
    ids = [p["id"] for p in dashboard["panels"]]
    assert len(ids) == len(set(ids))
    variables = [v["name"] for v in dashboard["templating"]["list"]]
    for panel in dashboard["panels"]:
        assert panel["datasource"]["uid"] == "${datasource}", panel["title"]
        assert panel["targets"], panel["title"]
        assert {"x", "y", "w", "h"} <= set(panel["gridPos"])
    assert "datasource" in variables


def test_the_prometheus_config_scrapes_the_demo_metrics_endpoint() -> None:
    # (read as text: no YAML library is a dependency of the project)
    lines = [line.split("#")[0].strip() for line in PROMETHEUS.read_text().splitlines()]
    assert lines.count("- job_name: wintermute") == 1
    assert "metrics_path: /metrics" in lines
    assert '- targets: ["127.0.0.1:8000"]' in lines


def test_the_exported_names_helper_sees_counters_without_samples() -> None:
    text = (
        "# HELP wintermute_x_total X\n# TYPE wintermute_x_total counter\n"
        "# HELP wintermute_y Y\n# TYPE wintermute_y gauge\nwintermute_y 1.0\n"
    )
    assert exported_names(text) >= {"wintermute_x_total", "wintermute_y"}
    assert "wintermute_y_total" not in exported_names(text)
