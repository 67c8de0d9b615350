"""The demo's moving parts: the sampled three-venue market and the background order flow."""

from __future__ import annotations

import time
from decimal import Decimal

from wintermute.service.external_market import ExternalMarket
from wintermute.service.order_flow import MAKERS, MAX_OFFSET_TICKS, OrderFlow
from wintermute.service.venue import Venue
from wintermute.service.web_demo import demo_config


def test_a_quiet_market_samples_venue_tops_that_make_up_the_consolidated_bbo() -> None:
    # A short replay at full speed, then silence: every sample after that is the final state,
    # so the consolidated BBO can be checked against the venues' own tops exactly.
    with ExternalMarket(steps=300, pace="fast", every_s=0.05, restart_after_s=60) as market:
        market.wait_live(timeout=30)
        deadline = time.monotonic() + 30
        previous = -1
        while True:
            time.sleep(0.5)
            sample = market.snapshot()
            frames = sum(v["frames"] for v in sample["venues"].values())
            if frames == previous:
                break
            assert time.monotonic() < deadline, "the replay did not finish"
            previous = frames
    venues = sample["venues"]
    assert {name: v["state"] for name, v in venues.items()} == dict.fromkeys(venues, "live")
    assert [name for name, v in venues.items() if v["merged"]] == ["coinbase", "kraken"]
    merged = [venues["coinbase"], venues["kraken"]]
    best_bid = max(Decimal(v["bid"][0]) for v in merged)
    best_ask = min(Decimal(v["ask"][0]) for v in merged)
    bbo = sample["consolidated"]["bbo"]
    assert (Decimal(bbo[0]), Decimal(bbo[1])) == (best_bid, best_ask)
    kind = sample["consolidated"]["cross"]["kind"]
    assert kind == (
        "crossed" if best_bid > best_ask else "locked" if best_bid == best_ask else "none"
    )
    assert market.reference_mid() == Decimal(sample["consolidated"]["mid"])
    assert market.reference_mid() == (best_bid + best_ask) / 2


def test_a_market_that_went_quiet_is_replaced_by_a_fresh_one() -> None:
    with ExternalMarket(steps=200, pace="fast", every_s=0.05, restart_after_s=0.5) as market:
        market.wait_live(timeout=30)
        deadline = time.monotonic() + 60
        while market.restarts == 0:
            assert time.monotonic() < deadline, "no restart after the replay ended"
            time.sleep(0.1)
        market.wait_live(timeout=30)
        assert all(v["state"] == "live" for v in market.snapshot()["venues"].values())


def test_the_makers_quote_around_the_reference_within_their_limits() -> None:
    reference = Decimal("50000.00")
    with Venue(demo_config()) as venue:
        with OrderFlow(
            venue, "BTC-USD", seed=4, rate=400, reference=lambda: reference, max_resting=5,
            taker_share=0.0,
        ) as flow:  # fmt: skip
            flow.wait_actions(200, timeout=60)
        tick = venue.instrument("BTC-USD").tick_size
        for account in MAKERS:
            orders = venue.open_orders(account, "BTC-USD")
            for side in ("buy", "sell"):
                assert len([o for o in orders if o.side == side]) <= 5
            for o in orders:
                assert o.price is not None
                offset = (o.price - reference) / tick
                if o.side == "buy":
                    assert -MAX_OFFSET_TICKS <= offset <= -1
                else:
                    assert 1 <= offset <= MAX_OFFSET_TICKS
        assert flow.counts["cancel"] > 0  # the caps were reached and kept
        assert flow.counts["refused"] == 0


def test_takers_trade_against_the_makers_and_print_on_the_tape() -> None:
    with Venue(demo_config()) as venue:
        with OrderFlow(venue, "BTC-USD", seed=8, rate=400, taker_share=0.3) as flow:
            flow.wait_actions(300, timeout=60)
        assert flow.counts["take"] > 0
        trades = venue.trades("BTC-USD")
        assert len(trades) > 0
        assert all(t.qty > 0 for t in trades)
