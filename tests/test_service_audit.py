"""The audit trail over REST (``/api/audit/events``, ``/alerts``, ``/report``) against a real
server on 127.0.0.1 with a real HTTP client: the service's venue journals, its audit trail
follows the journal into SQLite or a real PostgreSQL with the monitors on, and each key sees
only what it may."""

from __future__ import annotations

import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, timezone
from pathlib import Path
from typing import Any

import httpx
import pytest

from service_fixtures import Service, running_server, service, service_config  # noqa: F401
from storage_servers import postgres_admin_url, postgres_url
from wintermute.config import EngineConfig
from wintermute.service.app import create_app
from wintermute.service.keys import demo_keys
from wintermute.service.settings import ServiceSettings, split_config
from wintermute.service.venue import Venue
from wintermute.storage.audit_settings import AuditSettings
from wintermute.storage.audit_trail import AuditTrail, plan_trail

__all__ = ["postgres_admin_url", "postgres_url"]  # fixtures, used by name

K1 = {"X-API-Key": "demo-key-1"}
K2 = {"X-API-Key": "demo-key-2"}
K3 = {"X-API-Key": "demo-key-3"}
ADMIN = {"X-API-Key": "demo-admin-key"}


@dataclass
class Audited:
    http: httpx.Client
    trail: AuditTrail
    venue: Venue


@pytest.fixture(params=["sqlite", "postgresql"])
def audited(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Audited]:
    """A venue whose journal an audit trail follows (accounts 1 and 2: one desk), served."""
    url = None if request.param == "sqlite" else request.getfixturevalue("postgres_url")
    engine_doc, _ = split_config(service_config())
    audit = AuditSettings(store=url, account_groups={"desk": (1, 2)})
    plan = plan_trail(EngineConfig.from_dict(engine_doc), audit, tmp_path / "run")
    assert plan.url.startswith("sqlite:///" if url is None else "postgresql://")
    venue = Venue(plan.engine, ServiceSettings(rate_limit_per_s=10**5, rate_limit_burst=10**5))
    trail = plan.start(audit)
    app = create_app(venue=venue, keys=demo_keys(), audit=trail)
    try:
        with running_server(app) as base, httpx.Client(base_url=base, timeout=10) as http:
            yield Audited(http, trail, venue)
    finally:
        venue.close()
        trail.close()


def _place(http: httpx.Client, key: dict[str, str], **kw: Any) -> dict[str, Any]:
    body = {"symbol": "BTC-USD", "side": "buy", "qty": "1", "price": "100", **kw}
    r = http.post("/api/orders", json=body, headers=key)
    assert r.status_code == 201, r.text
    out: dict[str, Any] = r.json()
    return out


def _trade_and_wait(a: Audited) -> dict[str, int]:
    """1 rests a sell; 2 (1's desk) and 3 buy from it; 3's FOK is refused; 1 cancels the
    rest. Waits until the trail stored it all; returns the order ids."""
    http = a.http
    ids = {
        "ask": _place(http, K1, side="sell", qty="1")["order_id"],
        "bid2": _place(http, K2, qty="0.4")["order_id"],
        "bid3": _place(http, K3, qty="0.3")["order_id"],
        "fok3": _place(http, K3, qty="5", tif="fok")["order_id"],
    }
    assert http.delete(f"/api/orders/{ids['ask']}", headers=K1).status_code == 200
    deadline = time.monotonic() + 30
    while not any(e["kind"] == "canceled" for e in http.get("/api/audit/events",
                                                              headers=ADMIN).json()):  # fmt: skip
        assert time.monotonic() < deadline, "the audit trail did not catch up"
        time.sleep(0.05)
    return ids


def test_each_key_sees_its_own_events_and_its_side_of_each_trade(audited: Audited) -> None:
    ids = _trade_and_wait(audited)
    http = audited.http
    everything = http.get("/api/audit/events", headers=ADMIN).json()
    assert [(e["kind"], e["account"]) for e in everything] == [
        ("accepted", 1), ("accepted", 2), ("trade", 1), ("accepted", 3), ("trade", 1),
        ("rejected", 3), ("canceled", 1),
    ]  # fmt: skip
    trade = everything[2]
    assert (trade["order_id"], trade["contra_account"], trade["contra_order_id"], trade["price"],
            trade["qty"], trade["side"]) == (ids["ask"], 2, ids["bid2"], "100.00", "0.400",
                                             "buy")  # fmt: skip
    assert everything[5]["reason"] == "FOK_NOT_FILLABLE"
    assert everything[6]["qty"] == "0.300"  # what was left of the ask
    mine = http.get("/api/audit/events", headers=K3).json()
    assert [e["kind"] for e in mine] == ["accepted", "trade", "rejected"]
    taken = mine[1]
    assert (taken["account"], taken["order_id"], taken["leaves_qty"]) == (None, None, None)
    assert (taken["contra_account"], taken["contra_order_id"], taken["qty"]) == (
        3, ids["bid3"], "0.300"
    )  # fmt: skip
    maker = http.get("/api/audit/events", headers=K1).json()
    assert [e["kind"] for e in maker] == ["accepted", "trade", "trade", "canceled"]
    assert all(e["contra_account"] is None and e["contra_order_id"] is None
               for e in maker if e["kind"] == "trade")  # fmt: skip
    # Filters: an order id (either side of its trades), an instrument, a time range, paging.
    by_order = http.get("/api/audit/events", params={"order_id": ids["bid2"]}, headers=ADMIN)
    assert [e["kind"] for e in by_order.json()] == ["accepted", "trade"]
    assert http.get("/api/audit/events", params={"order_id": ids["bid2"]}, headers=K3).json() == []
    assert (
        http.get("/api/audit/events", params={"instrument": "ETH-USD"}, headers=ADMIN).json() == []
    )
    ts = everything[3]["ts_ns"]
    after_ts = http.get("/api/audit/events", params={"since": ts, "account": 3}, headers=ADMIN)
    assert [e["journal_seq"] for e in after_ts.json()] == [
        e["journal_seq"] for e in everything if e["ts_ns"] >= ts and 3 in (
            e["account"], e["contra_account"])
    ]  # fmt: skip
    first = http.get("/api/audit/events", params={"limit": 2}, headers=ADMIN).json()
    last = f"{first[-1]['journal_seq']}:{first[-1]['n']}"
    rest = http.get("/api/audit/events", params={"after": last}, headers=ADMIN).json()
    assert first + rest == everything


def test_another_accounts_rows_are_forbidden(audited: Audited) -> None:
    _trade_and_wait(audited)
    for path in ("/api/audit/events", "/api/audit/alerts"):
        r = audited.http.get(path, params={"account": 1}, headers=K3)
        assert r.status_code == 403
        assert r.json() == {"code": "FORBIDDEN",
                            "message": "an account key sees only its own account"}  # fmt: skip
    r = audited.http.get("/api/audit/report", params={"day": "2026-12-06", "account": 2},
                         headers=K1)  # fmt: skip
    assert r.status_code == 403
    assert audited.http.get("/api/audit/events").status_code == 401


def test_a_wash_trade_is_an_alert_the_two_related_accounts_and_the_admin_see(
    audited: Audited,
) -> None:
    ids = _trade_and_wait(audited)
    http = audited.http
    deadline = time.monotonic() + 10
    while not (alerts := http.get("/api/audit/alerts", headers=ADMIN).json()):
        assert time.monotonic() < deadline
        time.sleep(0.05)
    assert [(a["rule"], a["account"], a["contra_account"], a["instrument"], a["price"], a["qty"])
            for a in alerts] == [("wash_trade", 1, 2, "BTC-USD", "100.00", "0.400")]  # fmt: skip
    trade = next(e for e in http.get("/api/audit/events", headers=ADMIN).json()
                 if e["kind"] == "trade")  # fmt: skip
    assert (alerts[0]["journal_seq"], trade["contra_order_id"]) == (trade["journal_seq"],
                                                                    ids["bid2"])  # fmt: skip
    assert http.get("/api/audit/alerts", headers=K1).json() == alerts
    assert http.get("/api/audit/alerts", headers=K2).json() == alerts
    assert http.get("/api/audit/alerts", headers=K3).json() == []
    scraped = http.get("/metrics").text  # the service's /metrics carries the trail's too
    assert 'wintermute_compliance_alerts_total{rule="wash_trade"}' in scraped
    assert "wintermute_audit_stored_seq{store=" in scraped
    q = {"rule": "price_band"}
    assert http.get("/api/audit/alerts", params=q, headers=ADMIN).json() == []
    seq = alerts[0]["journal_seq"]
    for params, n in (({"from_seq": seq, "to_seq": seq}, 1), ({"from_seq": seq + 1}, 0)):
        assert len(http.get("/api/audit/alerts", params=params, headers=ADMIN).json()) == n


def test_the_daily_report_answers_per_account(audited: Audited) -> None:
    _trade_and_wait(audited)
    http = audited.http
    ts = http.get("/api/audit/events", headers=ADMIN).json()[0]["ts_ns"]
    day = datetime.fromtimestamp(ts / 1e9, tz=timezone.utc).date().isoformat()
    whole = http.get("/api/audit/report", params={"day": day}, headers=ADMIN).json()
    assert (whole["day"], whole["events"], whole["alerts"]) == (day, 7, 1)
    by_account = {a["account"]: a for a in whole["accounts"]}
    assert sorted(by_account) == [1, 2, 3]
    one, three = by_account[1], by_account[3]
    assert (one["orders"], one["fills"], one["cancels"]) == (1, 2, 1)
    assert one["instruments"] == [{"instrument": "BTC-USD", "fills": 2, "bought": "0",
                                   "sold": "0.700", "volume": "0.700",
                                   "notional": "70.00000"}]  # fmt: skip
    assert (one["order_to_trade"], one["cancel_rate"]) == (0.5, 1.0)
    assert [a["rule"] for a in one["alerts"]] == ["wash_trade"]
    assert three["rejections"] == {"FOK_NOT_FILLABLE": 1}
    assert (three["orders"], three["fills"]) == (1, 1)  # the refused FOK never rested
    own = http.get("/api/audit/report", params={"day": day}, headers=K3).json()
    assert [a["account"] for a in own["accounts"]] == [3]
    assert own["accounts"][0] == three
    empty = http.get("/api/audit/report", params={"day": "2020-01-01"}, headers=ADMIN).json()
    assert (empty["events"], empty["accounts"]) == (0, [])


@pytest.mark.parametrize(
    ("path", "params", "status", "code", "message"),
    [
        ("events", {"since": "2026-12-07T00:00:00Z", "until": "2026-12-06T00:00:00Z"}, 400,
         "BAD_QUERY", "inverted time range"),
        ("events", {"since": "yesterday"}, 400, "BAD_QUERY", "not ISO 8601"),
        ("events", {"since": "2026-12-06T00:00:00"}, 400, "BAD_QUERY", "give a timezone"),
        ("events", {"since": "0001-01-01T00:00:00+23:59"}, 400, "BAD_QUERY", "since="),
        ("events", {"limit": 100_000}, 400, "INVALID_REQUEST", "limit"),
        ("events", {"limit": 0}, 400, "INVALID_REQUEST", "limit"),
        ("events", {"order_id": -1}, 400, "INVALID_REQUEST", "order_id"),
        ("events", {"after": "1:x"}, 400, "INVALID_REQUEST", "after"),
        ("events", {"account": 2**40}, 400, "INVALID_REQUEST", "account"),
        ("alerts", {"rule": "spoofing"}, 400, "INVALID_REQUEST", "rule"),
        ("alerts", {"from_seq": 9, "to_seq": 2}, 400, "BAD_QUERY", "inverted sequence range"),
        ("report", {"day": "2026-02-30"}, 400, "BAD_QUERY", "day=2026-02-30: not a calendar"),
        ("report", {"day": "06/12/2026"}, 400, "INVALID_REQUEST", "day"),
        ("report", {}, 400, "INVALID_REQUEST", "day"),
    ],
)  # fmt: skip
def test_bad_input_is_a_4xx_with_the_error_shape_never_a_500(
    audited: Audited, path: str, params: dict[str, Any], status: int, code: str, message: str
) -> None:
    r = audited.http.get(f"/api/audit/{path}", params=params, headers=ADMIN)
    assert r.status_code == status, r.text
    body = r.json()
    assert body["code"] == code
    assert message in body["message"]


def test_sql_looking_text_is_only_a_symbol_that_matches_nothing(audited: Audited) -> None:
    _trade_and_wait(audited)
    http = audited.http
    for text in ("x'; DROP TABLE audit_events; --", "BTC-USD' OR '1'='1"):
        r = http.get("/api/audit/events", params={"instrument": text}, headers=ADMIN)
        assert (r.status_code, r.json()) == (200, [])
        r = http.get("/api/audit/alerts", params={"instrument": text}, headers=ADMIN)
        assert (r.status_code, r.json()) == (200, [])
    assert len(http.get("/api/audit/events", headers=ADMIN).json()) == 7  # all still there


def test_without_an_audit_trail_the_routes_answer_503(service: Service) -> None:  # noqa: F811
    for path in ("events", "alerts", "report?day=2026-12-06"):
        r = httpx.get(f"{service.url}/api/audit/{path}", headers=ADMIN, timeout=10)
        assert r.status_code == 503
        assert r.json()["code"] == "AUDIT_OFF"


def test_the_openapi_schema_types_every_audit_response(service: Service) -> None:  # noqa: F811
    schema = httpx.get(f"{service.url}/openapi.json", timeout=10).json()
    refs = {
        path: schema["paths"][path]["get"]["responses"]["200"]["content"]["application/json"]
        for path in ("/api/audit/events", "/api/audit/alerts", "/api/audit/report")
    }
    assert refs["/api/audit/events"]["schema"]["items"]["$ref"].endswith("/AuditEventOut")
    assert refs["/api/audit/alerts"]["schema"]["items"]["$ref"].endswith("/AlertOut")
    assert refs["/api/audit/report"]["schema"]["$ref"].endswith("/DailyReportOut")
    event = schema["components"]["schemas"]["AuditEventOut"]["properties"]
    assert event["kind"]["enum"] == ["accepted", "rejected", "trade", "canceled", "amended"]
