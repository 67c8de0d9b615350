"""The live market maker from Python (``wintermute.mm_live``) on a real pipeline, fed by the
synthetic three-venue market through the real connectors: its quotes rest on our venue's book
(with the exact queue place the venue's own mirror computes) and move with the market, the
kill switches pull them, its hedges go to the Coinbase simulator on 127.0.0.1 and come back
into the inventory and the PnL exactly, stop leaves nothing behind, and a bad config names its
key."""

from __future__ import annotations

import asyncio
import copy
import json
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from wintermute import errors, mm, mm_live
from wintermute.market import VENUES, Market
from wintermute.mm_fixed_spread import FixedSpread
from wintermute.service.order_flow import OrderFlow
from wintermute.service.venue import Venue

ROOT = Path(__file__).resolve().parents[1]
SYMBOL = "BTC-USD"
ACCOUNT = mm_live.MM_ACCOUNT


def wait_for(
    maker: mm_live.LiveMarketMaker,
    what: str,
    done: Callable[[dict[str, Any]], bool],
    timeout: float = 20,
) -> dict[str, Any]:
    deadline = time.monotonic() + timeout
    while True:
        s = maker.state()
        if done(s):
            return s
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {s}"
        time.sleep(0.05)


def resting(s: dict[str, Any]) -> bool:
    return len(s["quotes"]) == 4 and all(q["queue_ahead"] is not None for q in s["quotes"])


class Rig:
    def __init__(self, config: dict[str, Any] | None = None) -> None:
        self.config = config or mm_live.paper_config()
        self.venue = Venue(mm_live.engine_config(self.config), reserve=1)
        self.market = Market(VENUES, steps=4000, pace="1", latent=True, max_attempts=None)
        self.maker = self.start(self.config)

    def start(self, config: dict[str, Any]) -> mm_live.LiveMarketMaker:
        return mm_live.start_on_venue(config, self.venue, self.market, ACCOUNT)

    def close(self) -> None:
        self.maker.stop()
        self.market.stop()
        self.venue.close()


@pytest.fixture
def rig() -> Iterator[Rig]:
    r = Rig()
    try:
        yield r
    finally:
        r.close()


def test_quotes_rest_on_our_venues_book_with_their_exact_queue_place_and_move(rig: Rig) -> None:
    s = wait_for(rig.maker, "four resting quotes", resting)
    assert s["state"] == "running"
    assert s["interlock"]["quoting"]
    assert [r["state"] for r in s["references"]] == ["live", "live", "live"]
    bids = [q for q in s["quotes"] if q["side"] == "buy"]
    asks = [q for q in s["quotes"] if q["side"] == "sell"]
    assert Decimal(bids[0]["price"]) < Decimal(s["fair_value"]) < Decimal(asks[0]["price"])
    assert [q["qty"] for q in bids] == ["0.01", "0.02"]
    depth = rig.venue.depth(SYMBOL, 50)
    book = {"buy": dict(depth.bids), "sell": dict(depth.asks)}
    for q in s["quotes"]:
        # On the book, at its price, with at least its own quantity there.
        assert book[q["side"]][Decimal(q["price"])] >= Decimal(q["qty"]), (q, depth)
    # The queue place the Rust runner tracks equals the venue's own mirror of the book.
    first = s["quotes"][0]
    assert rig.venue.queue_ahead(SYMBOL, first["order_id"]) == Decimal(first["queue_ahead"])
    before = {(q["side"], q["price"]) for q in s["quotes"]}
    moved = wait_for(rig.maker, "the quotes to move with the market", lambda x: resting(x)
                     and {(q["side"], q["price"]) for q in x["quotes"]} != before)  # fmt: skip
    assert moved["counters"]["requotes"] > s["counters"]["requotes"]
    assert moved["counters"]["updates"] > s["counters"]["updates"]


def test_fills_with_other_traders_move_inventory_and_pnl_whose_parts_add_up(rig: Rig) -> None:
    wait_for(rig.maker, "quotes", resting)

    def fair() -> Decimal | None:
        value = rig.maker.state()["fair_value"]
        return None if value is None else Decimal(value)

    flow = OrderFlow(rig.venue, SYMBOL, seed=3, rate=60, taker_share=0.6, reference=fair)
    try:
        s = wait_for(rig.maker, "a fill", lambda x: x["counters"]["fills"] > 0, timeout=30)
    finally:
        flow.stop()
    raw = rig.maker.raw_state()
    parts = raw["pnl"]
    assert parts["total"] == sum(v for k, v in parts.items() if k != "total")
    assert s["inventory"] != "0" or raw["counters"]["fills"] >= 2


def wait_raw(
    maker: mm_live.LiveMarketMaker, what: str, done: Callable[[dict[str, Any]], bool]
) -> dict[str, Any]:
    deadline = time.monotonic() + 30
    while True:
        s = maker.raw_state()
        if done(s):
            return s
        assert time.monotonic() < deadline, f"timed out waiting for {what}: {s}"
        time.sleep(0.05)


def test_hedges_go_to_the_coinbase_simulator_and_reach_inventory_and_pnl_exactly() -> None:
    config = mm_live.paper_config()
    config["hedge_threshold_lots"] = 2
    rig = Rig(config)
    try:
        wait_for(rig.maker, "quotes", resting)
        [(name, addr)] = rig.maker.paper_venues()
        assert name == "coinbase"
        assert addr.startswith("127.0.0.1:")
        # Nobody else on our book: a market buy of 0.015 takes it from our asks.
        asyncio.run(rig.venue.place(1, SYMBOL, "buy", "market", Decimal("0.015")))
        taker = rig.venue.fills(1, SYMBOL)
        tick, lot = Decimal("0.01"), Decimal("0.001")
        sold = [(int(f.price / tick), int(f.qty / lot)) for f in taker]
        assert sum(q for _, q in sold) == 15

        def settled(s: dict[str, Any]) -> bool:
            h = s["hedging"]
            done = all(o["status"] in ("filled", "canceled", "rejected") for o in h["orders"])
            return s["counters"]["fills"] >= len(sold) and h["orders_sent"] > 0 and done \
                and h["in_flight"] == 0 and abs(s["inventory"]) <= 2  # fmt: skip

        raw = wait_raw(rig.maker, "the hedges done", settled)
    finally:
        rig.close()
    h = raw["hedging"]
    assert h["routes"] == ["coinbase"]
    assert (h["rejected"], h["send_errors"]) == (0, 0), h["last_errors"]
    assert all(o["venue"] == 0 and o["side"] == "buy" for o in h["orders"]), h["orders"]
    # The inventory is our quotes' fills plus the hedges' fills, to the lot.
    assert h["net_filled"] == sum(o["filled"] for o in h["orders"]) > 0
    assert raw["inventory"] == -15 + h["net_filled"]
    assert raw["counters"]["hedge_fills"] == h["fills"]
    # Fees: our fills' 20 ppm rebate (exact in money units of 10^-6 tick x lot), and the
    # simulator's 600 ppm on each hedge (the config's Coinbase taker fee).
    assert all(o["fees"] * 1_000_000 == o["notional"] * 600 for o in h["orders"])
    pnl = raw["pnl"]
    assert pnl["fees"] == sum(p * q * 20 for p, q in sold) - sum(o["fees"] for o in h["orders"])
    # Hedge slippage: what each hedge paid against the fair value its decision saw.
    decision = [round(Decimal(repr(o["decision_fair"])) * 1_000_000) for o in h["orders"]]
    assert pnl["hedge_slippage"] == sum(
        d * o["filled"] - o["notional"] for d, o in zip(decision, h["orders"], strict=True)
    )
    assert pnl["total"] == sum(v for k, v in pnl.items() if k != "total")
    shown = mm_live.present(raw, tick, lot)["hedging"]
    assert shown["filled_qty"] == str(h["filled_qty"] * lot).rstrip("0").rstrip(".")
    assert shown["orders"][0]["venue"] == "coinbase"


def test_the_venues_kill_switches_and_the_operators_pull_the_quotes_and_hold_hedging(
    rig: Rig,
) -> None:
    s = wait_for(rig.maker, "quotes", resting)
    assert (s["hedging"]["hold"], s["hedging"]["holds"]) == (None, 0)
    ids = [q["order_id"] for q in s["quotes"]]
    rig.venue.kill(ACCOUNT)  # the service's kill switch on the market maker's account
    s = wait_for(rig.maker, "the venue's pull", lambda x: not x["quotes"])
    assert s["state"] == "pulled"
    assert "kill_switch" in s["interlock"]["causes"]
    assert (s["hedging"]["hold"], s["hedging"]["kill_switch"]) == ("kill_switch", ["venue"])
    assert s["hedging"]["holds"] == 1
    deadline = time.monotonic() + 5
    while any(rig.venue.queue_ahead(SYMBOL, i) is not None for i in ids):
        assert time.monotonic() < deadline, "quotes left on the book while killed"
        time.sleep(0.02)
    rig.venue.release(ACCOUNT)
    s = wait_for(rig.maker, "quotes back", resting)
    assert (s["hedging"]["hold"], s["hedging"]["kill_switch"]) == (None, [])
    rig.venue.kill()  # the global one
    s = wait_for(rig.maker, "the global pull", lambda x: not x["quotes"])
    assert (s["hedging"]["hold"], s["hedging"]["holds"]) == ("kill_switch", 2)
    rig.venue.release()
    wait_for(rig.maker, "quotes back", resting)
    rig.maker.kill()
    s = wait_for(rig.maker, "the operator's pull", lambda x: not x["quotes"])
    assert s["state"] == "pulled"
    assert s["interlock"]["pulls"]["kill_switch"] == 3
    assert (s["hedging"]["kill_switch"], s["hedging"]["holds"]) == (["operator"], 3)
    rig.maker.release()
    wait_for(rig.maker, "quotes back", resting)


def test_hedging_stops_while_the_services_kill_switch_is_engaged_and_resumes_after() -> None:
    config = mm_live.paper_config()
    config["hedge_threshold_lots"] = 2
    rig = Rig(config)
    try:
        wait_for(rig.maker, "quotes", resting)
        asyncio.run(rig.venue.place(1, SYMBOL, "buy", "market", Decimal("0.015")))
        rig.venue.kill(ACCOUNT)

        # The hedges sent before the hold complete and their fills count; nothing new goes out.
        def on_hold(x: dict[str, Any]) -> bool:
            h = x["hedging"]
            return h["hold"] == "kill_switch" and h["in_flight"] == 0 and not x["quotes"]

        s = wait_raw(rig.maker, "the hold with nothing in flight", on_hold)
        sent = s["hedging"]["orders_sent"]
        assert s["counters"]["hedge_fills"] == s["hedging"]["fills"]
        time.sleep(1.0)  # ten timer ticks and the refusal back-off
        held = rig.maker.raw_state()
        assert held["hedging"]["orders_sent"] == sent, "a hedge order was sent while killed"
        assert held["hedging"]["due"] == (abs(held["inventory"]) > 2)
        rig.venue.release(ACCOUNT)
        after = wait_raw(rig.maker, "hedged back within the threshold after the release",
                         lambda x: x["hedging"]["hold"] is None and x["hedging"]["in_flight"] == 0
                         and abs(x["inventory"]) <= 2 and len(x["quotes"]) == 4)  # fmt: skip
    finally:
        rig.close()
    assert after["hedging"]["kill_switch"] == []
    assert after["hedging"]["holds"] == 1
    assert not after["hedging"]["due"]
    assert after["inventory"] == -15 + after["hedging"]["net_filled"]
    shown = mm_live.present(after, Decimal("0.01"), Decimal("0.001"))["hedging"]
    assert (shown["hold"], shown["holds"]) == (None, 1)
    Decimal(shown["fees"])


def test_stop_cancels_every_quote_and_ends_the_thread(rig: Rig) -> None:
    s = wait_for(rig.maker, "quotes", resting)
    ids = [q["order_id"] for q in s["quotes"]]
    rig.maker.stop()
    assert not rig.maker.running
    last = rig.maker.state()
    assert last["state"] == "stopped"
    assert last["quotes"] == []
    deadline = time.monotonic() + 5
    while any(rig.venue.queue_ahead(SYMBOL, i) is not None for i in ids):
        assert time.monotonic() < deadline, "quotes left on the book after stop"
        time.sleep(0.02)
    rig.maker.stop()  # idempotent
    # The venue drains the market maker's subscription from now on: it never holds the
    # engine up, whatever trades next.
    _, subscription = rig.venue.reserved(0)
    with OrderFlow(rig.venue, SYMBOL, seed=4, rate=200) as flow:
        flow.wait_actions(40, timeout=30)
    deadline = time.monotonic() + 5
    while len(subscription):
        assert time.monotonic() < deadline, f"{len(subscription)} outputs left undrained"
        time.sleep(0.02)


def test_the_market_maker_leases_its_gateway_and_gives_it_back_when_it_stops(rig: Rig) -> None:
    """The runner submits with no lock: the gateway is out of its slot while it runs, and
    anyone else who tries it is told so, without submitting anything."""
    gateway, subscription = rig.venue.reserved(0)
    wait_for(rig.maker, "quotes", resting)
    with pytest.raises(errors.GatewayClosedError) as lent:
        gateway.submit(SYMBOL, 1, "buy", qty="0.001", price="1.00", account=ACCOUNT)
    assert lent.value.reason == "GATEWAY_LENT"
    assert "lent" in str(lent.value)
    with pytest.raises(errors.GatewayClosedError) as twice:
        rig.start(rig.config)
    assert twice.value.reason == "GATEWAY_LENT", "one market maker per gateway"
    assert rig.maker.running, "the refused second one changed nothing"
    rig.maker.stop()
    assert not gateway.closed
    before = gateway.submitted
    gateway.cancel(SYMBOL, 1)  # back in its slot: submits go through again
    assert gateway.submitted == before + 1
    del subscription


@pytest.mark.parametrize(
    ("edit", "key"),
    [
        (lambda c: c["pricing"]["model"].update(gamma=-1.0), "pricing.model.gamma"),
        (lambda c: c.update(colour="blue"), "colour"),
        (lambda c: c["pricing"]["venues"][0].update(name="bitstamp"), "pricing.venues[0].name"),
        (
            lambda c: c["pricing"]["instrument"].update(tick_size="0.1"),
            "pricing.instrument.tick_size",
        ),
        (lambda c: c["pricing"]["venues"][2].pop("basis"), "pricing.venues[2].basis"),
        (lambda c: c.update(quote_on="coinbase"), "quote_on"),  # a hedge route too
        (lambda c: c.update(quote_on="bitstamp"), "quote_on"),
        (lambda c: c["interlock"].update(stale_after_ms=-1), "interlock.stale_after_ms"),
        (lambda c: c["hedge"].update(routes=["bitstamp"]), "hedge.routes[0]"),
        (lambda c: c["hedge"].update(routes=["kraken"]), "hedge_on"),
    ],
)
def test_a_bad_config_is_a_clear_error_naming_the_key(
    rig: Rig, edit: Callable[[dict[str, Any]], None], key: str
) -> None:
    config = copy.deepcopy(rig.config)
    edit(config)
    with pytest.raises(errors.ConfigError) as e:
        rig.start(config)
    assert e.value.key == key, str(e.value)
    assert key.split(".")[-1].split("[")[0] in str(e.value)


def test_the_example_config_is_the_built_in_paper_config() -> None:
    assert mm.load_config(ROOT / "examples" / "mm_live.toml") == mm_live.paper_config()


def test_wintermute_mm_runs_the_market_maker_on_paper_and_stops_after_its_duration() -> None:
    cmd = [sys.executable, "-m", "wintermute.cli", "mm", "--config", "examples/mm_live.toml",
           "--duration", "4", "--every", "0.5", "--steps", "3000"]  # fmt: skip
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("running") and "@" in line for line in lines), done.stdout
    assert any(line.startswith("hedges go to coinbase's simulator on 127.0.0.1:") for line in lines)
    assert lines[-2].startswith("wintermute mm: hedges: ")
    assert "sent to coinbase" in lines[-2]
    assert lines[-1] == "wintermute mm: stopped; 0 quotes resting", done.stdout
    assert "Traceback" not in done.stderr


def test_wintermute_mm_runs_a_python_strategy_live(tmp_path: Path) -> None:
    config = mm_live.paper_config()
    for key in ("hedge_on", "hedge", "interlock", "hedge_threshold_lots", "hedge_slippage_ticks"):
        config.pop(key)
    config["pricing"]["venues"] = config["pricing"]["venues"][:2]  # no measured basis
    config["pricing"]["model"] = {
        "kind": "fixed_spread", "half_spread_ticks": 5.0, "skew_ticks_per_unit": 1.0,
    }  # fmt: skip
    path = tmp_path / "mm.json"
    path.write_text(json.dumps(config))
    cmd = [sys.executable, "-m", "wintermute.cli", "mm", "--config", str(path), "--strategy",
           "wintermute.mm_fixed_spread:FixedSpread", "--duration", "4", "--every", "0.5",
           "--steps", "3000"]  # fmt: skip
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    running = [line for line in lines if line.startswith("running") and "@" in line]
    assert running, done.stdout
    assert "strategy FixedSpread: " in running[-1]
    assert lines[-1] == "wintermute mm: stopped; 0 quotes resting", done.stdout
    bad = subprocess.run([*cmd[:7], "wintermute.mm_fixed_spread:Nope"], cwd=ROOT,
                         capture_output=True, text=True, timeout=60, check=False)  # fmt: skip
    assert bad.returncode == 2
    assert "Nope" in bad.stderr


def test_wintermute_mm_with_a_bad_config_is_a_clear_error(tmp_path: Path) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text((ROOT / "examples" / "mm_live.toml").read_text() + "\ncolour = 1\n")
    cmd = [sys.executable, "-m", "wintermute.cli", "mm", "--config", str(bad), "--duration", "1"]
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 2
    assert "colour" in done.stderr
    assert "Traceback" not in done.stderr


def test_wintermute_mm_quotes_on_the_coinbase_simulator_and_stop_cancels_them_there(
    tmp_path: Path,
) -> None:
    config = mm_live.paper_config()
    for key in ("hedge_on", "hedge", "hedge_threshold_lots", "hedge_slippage_ticks"):
        config.pop(key)
    config["quote_on"] = "coinbase"
    path = tmp_path / "mm.json"
    path.write_text(json.dumps(config))
    cmd = [sys.executable, "-m", "wintermute.cli", "mm", "--config", str(path),
           "--duration", "4", "--every", "0.5", "--steps", "3000"]  # fmt: skip
    done = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=180, check=False)
    assert done.returncode == 0, done.stderr
    lines = done.stdout.splitlines()
    assert any(line.startswith("quotes go to coinbase's simulator on 127.0.0.1:") for line in lines)
    resting_there = [
        line for line in lines
        if line.startswith("running") and "@" in line and " on coinbase (" in line
        and " on coinbase (0 open" not in line
    ]  # fmt: skip
    assert resting_there, done.stdout
    # Stopping canceled every quote at the venue: none open there, none resting.
    assert " on coinbase (0 open, " in lines[-3], done.stdout
    assert lines[-1] == "wintermute mm: stopped; 0 quotes resting", done.stdout
    assert "Traceback" not in done.stderr


def test_a_python_strategy_quotes_on_the_kraken_simulator_and_a_pull_cancels_there() -> None:
    config = mm_live.paper_config()
    for key in ("hedge_on", "hedge", "interlock", "hedge_threshold_lots", "hedge_slippage_ticks"):
        config.pop(key)
    config["pricing"]["venues"] = config["pricing"]["venues"][:2]  # coinbase, kraken
    config["pricing"]["model"] = {
        "kind": "fixed_spread", "half_spread_ticks": 5.0, "skew_ticks_per_unit": 1.0,
    }  # fmt: skip
    config["quote_on"] = ["kraken"]
    # One level a side, requoted on a 20-tick move (not 2): Kraken's simulator counts every
    # place and (more) every early cancel against its trading rate limit, as Kraken does.
    config["pricing"]["quoting"].update(levels=1, sizes_lots=[10], requote_threshold_ticks=20.0)
    venue = Venue(mm_live.engine_config(config), reserve=1)
    market = Market(VENUES, steps=4000, pace="1", latent=True, max_attempts=None)
    maker = mm_live.start_on_venue(config, venue, market, ACCOUNT, strategy=FixedSpread(config))
    try:
        assert [name for name, _ in maker.paper_venues()] == ["kraken"]

        def on_kraken(s: dict[str, Any]) -> bool:
            qv = s["quote_venues"]
            return (
                len(s["quotes"]) == 2
                and {q["venue"] for q in s["quotes"]} == {"kraken"}
                and len(qv) == 1 and qv[0]["open"] == 2
            )  # fmt: skip

        s = wait_for(maker, "the strategy's bid and ask on Kraken's simulator", on_kraken)
        assert s["quote_venues"][0]["venue"] == "kraken"
        # Kraken's own markouts (its fills against its mid), at every horizon.
        horizons = [m["horizon_ms"] for m in s["quote_venues"][0]["markouts"]]
        assert horizons == [m["horizon_ms"] for m in s["markouts"]]
        assert horizons == [100, 1000, 5000, 30000, 60000]
        assert s["strategy"]["name"] == "FixedSpread"
        assert s["strategy"]["events"] > 0
        # Kraken's queue is not seen; nothing of ours rests on our venue.
        assert all(q["queue_ahead"] is None for q in s["quotes"])
        (bid,) = (Decimal(q["price"]) for q in s["quotes"] if q["side"] == "buy")
        (ask,) = (Decimal(q["price"]) for q in s["quotes"] if q["side"] == "sell")
        assert bid < ask, s["quotes"]
        # The kill switch pulls them: the simulator confirms each cancel.
        maker.kill()
        s = wait_for(
            maker, "the quotes canceled at Kraken",
            lambda s: not s["quotes"] and s["quote_venues"][0]["open"] == 0,
        )  # fmt: skip
        assert s["quote_venues"][0]["canceled"] >= 2, s["quote_venues"]
        assert s["strategy"]["pulled"] >= 2, s["strategy"]
        maker.stop()
        s = maker.state()
        assert s["quote_venues"][0]["open"] == 0, s["quote_venues"]
        assert not s["quotes"]
    finally:
        maker.stop()
        market.stop()
        venue.close()


def hedge_balances_known(
    venue: str, fees: dict[str, int] | None = None
) -> tuple[dict[str, Any], dict[str, Any], dict[str, tuple[Decimal, Decimal]]]:
    """Runs the paper config hedging on ``venue`` (with these fees there) until its route's
    balances are known: the state's ``hedging``, its one route (checked to be ``venue``'s),
    and that route's assets as exact (free, locked)."""
    config = mm_live.paper_config()
    config["hedge_on"] = venue
    config["hedge"] = {"routes": [venue]}
    if fees is not None:
        config["fees"][venue] = fees
    rig = Rig(config)
    try:

        def known(s: dict[str, Any]) -> bool:
            return any(b["known"] for b in s["hedging"]["balances"])

        s = wait_for(rig.maker, "the route's balances", known)
    finally:
        rig.close()
    h = s["hedging"]
    [route] = h["balances"]
    assert route["venue"] == venue
    assets = {a["asset"]: (Decimal(a["free"]), Decimal(a["locked"])) for a in route["assets"]}
    return h, route, assets


@pytest.mark.parametrize("venue", ["kraken", "coinbase"])
def test_kraken_and_coinbase_hedge_routes_balances_show_exactly_in_the_state(venue: str) -> None:
    # Kraken's from BalanceEx and its balances channel (v2 names: XBT is BTC), Coinbase's polled.
    _, route, assets = hedge_balances_known(venue)
    zero = Decimal(0)
    assert assets == {"BTC": (Decimal(1_000_000), zero), "USD": (Decimal(10**12), zero)}
    assert (route["refused"], route["forced_resyncs"]) == (0, 0)


def test_a_binance_hedge_routes_account_balances_show_exactly_in_the_state() -> None:
    h, route, assets = hedge_balances_known("binance", {"maker_ppm": 100, "taker_ppm": 100})
    # The paper account's funds, as the simulator's GET /api/v3/account writes them.
    zero = Decimal(0)
    assert assets == {"BTC": (Decimal(1_000_000), zero), "USDT": (Decimal(10**12), zero)}
    assert all(isinstance(a["free"], str) for a in route["assets"]), "exact text, never floats"
    assert (route["refused"], route["forced_resyncs"]) == (0, 0)
    assert (h["balance_reduced"], h["balance_skipped"]) == (0, 0)
    assert Decimal(h["balance_reduced_qty"]) == 0
