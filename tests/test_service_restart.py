"""The service's venue survives a restart on its journal: orders (ids, client order ids,
statuses, filled quantities), fills, balances, positions, the trade tape and the books come
back as they were, through the REST API, through unmodified ccxt on the Binance-compatible API,
and after a crash (the process killed, no shutdown)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from binance_server import ccxt_binance, serve
from service_fixtures import running_server, service_config
from wintermute import journal as journal_files
from wintermute.service.app import create_app
from wintermute.service.keys import demo_keys
from wintermute.service.settings import split_config
from wintermute.service.venue import Venue

K1 = {"X-API-Key": "demo-key-1"}
K2 = {"X-API-Key": "demo-key-2"}
ADMIN = {"X-API-Key": "demo-admin-key"}
#: Times are the restart's (see docs/service.md): everything else must be equal.
_TIMES = {"created_ns", "updated_ns", "ts_ns"}


def journaled(path: Path) -> dict[str, Any]:
    """The service's test config with a journal in ``path`` and a small order-size limit."""
    config = service_config()
    config["journal"] = {"dir": str(path), "fsync": "none", "segment_size": 1 << 16}
    config["risk"] = {"default_limits": {"max_order_qty": 5_000}}
    return config


def times(value: Any) -> list[int]:
    """Every wall-clock field in ``value`` (JSON)."""
    if isinstance(value, dict):
        own = [v for k, v in value.items() if k in _TIMES]
        return own + [t for v in value.values() for t in times(v)]
    if isinstance(value, list | tuple):
        return [t for v in value for t in times(v)]
    return []


def untimed(value: Any) -> Any:
    """``value`` (JSON) without its wall-clock fields."""
    if isinstance(value, dict):
        return {k: untimed(v) for k, v in value.items() if k not in _TIMES}
    if isinstance(value, list | tuple):
        return [untimed(v) for v in value]
    return value


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    return tmp_path / "journal"


def order(**kw: Any) -> dict[str, Any]:
    return {"symbol": "BTC-USD", "side": "buy", "qty": "1", "price": "100", **kw}


def trade_over_rest(http: httpx.Client) -> list[dict[str, Any]]:
    """A session of every kind of order; returns the answers."""
    posts = [
        (K1, order(side="sell", qty="2", client_order_id="ask-1")),
        (K1, order(side="sell", qty="1", price="101")),
        (K2, order(qty="0.5", client_order_id="bid:1")),  # fills 0.5 of ask-1
        (K2, order(qty="1", price="99", client_order_id="bid/2")),
        (K2, order(qty="0.25", type="market", price=None)),  # fills 0.25 of ask-1
        (K1, order(side="sell", qty="3", price="98", tif="fok")),  # expires
        (K1, order(side="sell", qty="1", price="99", tif="post_only")),  # refused by the book
        (K2, order(qty="6", price="90", client_order_id="too-big")),  # risk refuses it
        (ADMIN, order(symbol="ETH-USD", side="sell", qty="2", price="2000")),
        (K2, order(symbol="ETH-USD", qty="0.5", price="2000", tif="ioc")),
    ]
    answers = []
    for key, body in posts:
        body = {k: v for k, v in body.items() if v is not None}
        answers.append(http.post("/api/orders", json=body, headers=key).json())
    bid = answers[3]["order_id"]
    assert http.patch(f"/api/orders/{bid}", json={"qty": "0.75"}, headers=K2).status_code == 200
    assert http.delete(f"/api/orders/{answers[1]['order_id']}", headers=K1).status_code == 200
    for account, engaged in ((3, True), (4, True), (4, False)):
        body = {"account": account, "engaged": engaged}
        assert http.post("/api/admin/kill-switch", json=body, headers=ADMIN).status_code == 200
    # Limits changed at run time: account 1's twice (the last one holds), account 5 unseen.
    for account, limits in (
        (1, {"max_order_qty": 9_000}),
        (1, {"max_order_qty": 7_000, "price_band_bps": 300, "order_rate_per_second": 50}),
        (5, {"max_open_orders": 4, "price_band_ticks": 12}),
    ):
        r = http.put(f"/api/risk/limits/{account}", json=limits, headers=ADMIN)
        assert r.status_code == 200, r.text
    return answers


def rest_state(http: httpx.Client, answers: list[dict[str, Any]]) -> Any:
    """Everything the REST API tells about the session, without times."""
    state: dict[str, Any] = {}
    for name, key in (("k1", K1), ("k2", K2), ("admin", ADMIN)):
        state[name] = {
            "open": http.get("/api/orders", headers=key).json(),
            "fills": http.get("/api/fills", headers=key).json(),
            "balances": http.get("/api/account/balances", headers=key).json(),
            "positions": http.get("/api/account/positions", headers=key).json(),
            "history": [
                http.get("/api/orders/history", params={"symbol": s}, headers=key).json()
                for s in ("BTC-USD", "ETH-USD")
            ],
        }
    for key in (K1, K2, ADMIN):
        for a in answers:
            if "order_id" in a:
                r = http.get(f"/api/orders/{a['order_id']}", headers=key)
                state[f"order {a['order_id']} {key}"] = (r.status_code, r.json())
                r = http.get(f"/api/orders/by-client-id/{a['client_order_id']}", headers=key)
                state[f"client {a['client_order_id']} {key}"] = (r.status_code, r.json())
    state["kill switches"] = http.get("/api/admin/kill-switch", headers=ADMIN).json()
    for account in range(6):
        r = http.get("/api/risk/limits", params={"account": account}, headers=ADMIN)
        state[f"limits {account}"] = r.json()
    for symbol in ("BTC-USD", "ETH-USD"):
        state[f"book {symbol}"] = http.get(f"/api/book/{symbol}").json()
        state[f"trades {symbol}"] = http.get(f"/api/trades/{symbol}").json()
    return untimed(state)


@contextlib.contextmanager
def serving(config: dict[str, Any]) -> Iterator[tuple[httpx.Client, Venue]]:
    app = create_app(config, keys=demo_keys())
    venue: Venue = app.state.venue
    try:
        with running_server(app) as url, httpx.Client(base_url=url, timeout=10) as http:
            yield http, venue
    finally:
        venue.close()


def test_orders_fills_balances_and_positions_survive_a_restart_through_the_rest_api(
    journal: Path,
) -> None:
    journal_config = journaled(journal)
    started = time.time_ns()
    with serving(journal_config) as (http, venue):
        answers = trade_over_rest(http)
        statuses = [a.get("status", a.get("code")) for a in answers]
        assert statuses == [
            "new", "new", "filled", "new", "filled", "expired",
            "BOOK_REJECTED", "RISK_REJECTED", "new", "filled",
        ], statuses  # fmt: skip
        before = rest_state(http, answers)
        assert venue.restored == 0
    stopped = time.time_ns()
    assert before["kill switches"] == {"global_engaged": False, "accounts": [3]}
    # The runtime limits, not the configured ones (default: max_order_qty 5,000 lots).
    limits = {a: before[f"limits {a}"]["limits"] for a in (1, 2, 5)}
    assert (limits[1]["max_order_qty"], limits[1]["price_band_bps"]) == (7_000, 300), limits
    assert limits[1]["order_rate_burst"] == 50, limits
    assert limits[2]["max_order_qty"] == 5_000, limits
    assert (limits[5]["max_open_orders"], limits[5]["max_order_qty"]) == (4, None), limits
    assert before["k1"]["fills"], "the session traded"
    assert before["k2"]["positions"], "the session traded"

    with serving(journal_config) as (http, venue):
        assert venue.restored > len(answers), "every record was read back"
        after = rest_state(http, answers)
        assert after == before
        # Times come from the journal: the first session's, not the restart's.
        seen = times([http.get(f"/api/{what}", headers=key).json()
                      for what in ("fills", "orders/history?symbol=BTC-USD", "trades/BTC-USD")
                      for key in (K1, K2)])  # fmt: skip
        assert len(seen) > 10
        assert all(started < t < stopped for t in seen), (started, stopped, seen)
        # A repeated client order id answers the first order; new orders take new ids.
        again = http.post("/api/orders", json=order(qty="0.5", client_order_id="bid:1"), headers=K2)
        assert untimed(again.json()) == untimed(answers[2])
        fresh = http.post("/api/orders", json=order(qty="0.1", price="95"), headers=K2).json()
        assert fresh["order_id"] > max(a["order_id"] for a in answers if "order_id" in a)
        # The risk-refused id was never taken: it can name a new order.
        reuse = http.post("/api/orders", json=order(qty="1", client_order_id="too-big"), headers=K2)
        assert reuse.status_code == 201, reuse.text


def ccxt_state(ex: Any, ids: list[str]) -> Any:
    """What ccxt reads of account 1, without times (and without the raw payloads, which
    carry them too)."""

    def clean(value: Any) -> Any:
        if isinstance(value, dict):
            drop = {"info", "timestamp", "datetime", "lastTradeTimestamp", "lastUpdateTimestamp"}
            return {k: clean(v) for k, v in value.items() if k not in drop}
        if isinstance(value, list):
            return [clean(v) for v in value]
        return value

    return clean(
        {
            "open": ex.fetch_open_orders("BTC/USD"),
            "trades": ex.fetch_my_trades("BTC/USD"),
            "balance": {k: v for k, v in ex.fetch_balance().items() if k in ("BTC", "USD")},
            "orders": [ex.fetch_order(i, "BTC/USD") for i in ids],
            "by_client": ex.fetch_order(None, "BTC/USD", {"origClientOrderId": "cc-bid-1"}),
            "book": ex.fetch_order_book("BTC/USD"),
        }
    )


def test_orders_and_trades_survive_a_restart_through_ccxt(journal: Path, require: Any) -> None:
    require("ccxt")
    engine_doc = journaled(journal)
    with serve(config=engine_doc) as server:
        ex = ccxt_binance(server)
        asyncio.run(server.venue.place(2, "BTC-USD", "sell", "limit", Decimal("1"), Decimal("100")))
        bid = ex.create_order("BTC/USD", "limit", "buy", 0.4, 100, {"clientOrderId": "cc-bid-1"})
        rest = ex.create_order("BTC/USD", "limit", "buy", 0.5, 99, {"clientOrderId": "cc-bid-2"})
        gone = ex.create_order("BTC/USD", "limit", "buy", 0.5, 98)
        ex.cancel_order(gone["id"], "BTC/USD")
        ids = [bid["id"], rest["id"], gone["id"]]
        before = ccxt_state(ex, ids)
    assert before["trades"], "ccxt traded"
    assert before["open"], "an order rests"

    with serve(config=engine_doc) as server:
        ex = ccxt_binance(server)
        assert ccxt_state(ex, ids) == before
        again = ex.create_order("BTC/USD", "limit", "buy", 0.4, 100, {"clientOrderId": "cc-bid-1"})
        assert again["id"] == bid["id"], "a repeated clientOrderId answers the first order"


def crashing_session(doc: dict[str, Any]) -> None:
    """Run in a child process: trades, prints the venue's state and kills itself (SIGKILL: no
    shutdown, no flush; the journal's pages are the process's last word)."""
    engine_doc, settings = split_config(doc)
    venue = Venue(engine_doc, settings)

    async def session() -> None:
        for account, side, qty, price, client in (
            (1, "sell", "2", "100", "a"), (2, "buy", "0.5", "100", "b"), (2, "buy", "1", "99", "c"),
        ):  # fmt: skip
            await venue.place(
                account, "BTC-USD", side, "limit", Decimal(qty), Decimal(price),
                client_order_id=client,
            )  # fmt: skip

    asyncio.run(session())
    print(json.dumps(venue_state(venue)), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


_CHILD = (
    "import json, sys; sys.path.insert(0, sys.argv[2]); "
    "from test_service_restart import crashing_session; crashing_session(json.loads(sys.argv[1]))"
)


def venue_state(venue: Venue) -> Any:
    """The venue's state for accounts 1 and 2 as JSON-able values, without times."""
    import dataclasses

    def plain(x: Any) -> Any:
        return json.loads(json.dumps(dataclasses.asdict(x), default=str))

    state: dict[str, Any] = {}
    for account in (1, 2):
        state[str(account)] = {
            "open": [plain(o) for o in venue.open_orders(account)],
            "history": [plain(o) for o in venue.all_orders(account, "BTC-USD")],
            "fills": [plain(f) for f in venue.fills(account)],
            "balances": [plain(b) for b in venue.balances(account)],
            "positions": {k: str(v) for k, v in venue.positions(account).items()},
        }
    state["book"] = plain(venue.depth("BTC-USD"))
    state["trades"] = [plain(t) for t in venue.trades("BTC-USD")]
    return untimed(state)


def test_the_venue_comes_back_after_its_process_is_killed(journal: Path) -> None:
    doc = journaled(journal)
    here = str(Path(__file__).parent)
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(doc), here],
        capture_output=True, text=True, timeout=120, env=dict(os.environ),
    )  # fmt: skip
    assert child.returncode == -9, child.stderr
    before = json.loads(child.stdout)
    assert before["1"]["fills"], "the child traded before it was killed"

    engine_doc, settings = split_config(doc)
    with Venue(engine_doc, settings) as venue:
        assert venue.restored == 3
        assert venue_state(venue) == before
        again = asyncio.run(
            venue.place(
                2, "BTC-USD", "buy", "limit", Decimal("9"), Decimal("1"), client_order_id="c"
            )
        )
        assert (again.order_id, again.price, again.qty) == (3, Decimal("99.00"), Decimal("1.000"))
        fresh = asyncio.run(venue.place(2, "BTC-USD", "buy", "limit", Decimal("1"), Decimal("98")))
        assert fresh.order_id == 4


def test_a_pruned_journal_without_a_saved_venue_state_starts_an_empty_venue_with_a_warning(
    journal: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # A journal pruned while no venue state was saved beside it (by an engine of its own, or
    # before venues saved their state; see test_service_restart_pruned.py for the venue's).
    doc = journaled(journal)
    doc["journal"].update(
        segment_size=4096, snapshot_every_records=20, snapshot_keep=1, prune_segments=True
    )
    engine_doc, settings = split_config(doc)
    with Venue(engine_doc, settings) as venue:

        async def session() -> None:
            for i in range(150):
                price = Decimal(100 + i % 10)
                await venue.place(1, "BTC-USD", "buy", "limit", Decimal("0.001"), price)

        asyncio.run(session())
    for state in journal.glob("venue-*.state"):
        state.unlink()
    journal_files.prune(journal)
    first = journal_files.summarize(journal)["first_seq"]
    assert first is not None
    assert first > 1, "the journal is pruned"
    with caplog.at_level("WARNING", logger="wintermute.service.venue"):
        venue = Venue(engine_doc, settings)
    with venue:
        assert venue.restored == 0
        assert venue.open_orders(1) == []
        assert "pruned" in caplog.text, caplog.text
    assert not list(journal.glob("venue-*.state")), "a venue that started empty saves nothing"
