"""The venue: order lifecycle, fills and balances, queue positions, bad input, live topics.

The queue positions are checked against the in-thread engine's own FIFO (``Engine.orders_at``)
after random command sequences: the venue only sees the pipeline's outputs, the reference
sees the book itself.
"""

from __future__ import annotations

import asyncio
import random
from collections.abc import Awaitable, Callable, Iterator
from decimal import Decimal
from typing import Any, Literal, TypeVar

import pytest

from service_fixtures import service_config
from wintermute import Engine
from wintermute.service.settings import ServiceSettings, split_config
from wintermute.service.topics import SlowConsumer
from wintermute.service.venue import BookUpdate, OrderState, Venue, VenueError

T = TypeVar("T")
Side = Literal["buy", "sell"]
Tif = Literal["gtc", "ioc", "fok"]
D = Decimal
BTC = "BTC-USD"


def run(coro: Awaitable[T]) -> T:
    async def wrap() -> T:
        return await coro

    return asyncio.run(wrap())


@pytest.fixture
def venue() -> Iterator[Venue]:
    engine, settings = split_config(service_config())
    with Venue(engine, settings) as v:
        yield v


def place(v: Venue, account: int, side: str, qty: str, price: str | None, **kw: Any) -> OrderState:
    kind = "limit" if price is not None else "market"
    return run(v.place(account, BTC, side, kind, D(qty), None if price is None else D(price), **kw))


def test_a_resting_order_then_a_crossing_order_fill_with_maker_and_taker_fees(
    venue: Venue,
) -> None:
    fees = venue.settings.fees
    ask = place(venue, 1, "sell", "2", "100")
    assert (ask.status, ask.queue_ahead, ask.filled_qty) == ("new", D(0), D(0))
    bid = place(venue, 2, "buy", "0.5", "101")
    assert (bid.status, bid.filled_qty, bid.cum_quote) == ("filled", D("0.5"), D("50"))
    ask = venue.order(1, BTC, order_id=ask.order_id)
    assert (ask.status, ask.filled_qty) == ("partially_filled", D("0.5"))
    (maker,) = venue.fills(1)
    (taker,) = venue.fills(2)
    assert (maker.liquidity, taker.liquidity) == ("maker", "taker")
    assert maker.price == taker.price == D(100)  # the resting order's price
    assert maker.fee == D(50) * fees.maker_bps / 10_000
    assert taker.fee == D(50) * fees.taker_bps / 10_000
    b1 = {b.asset: b for b in venue.balances(1)}
    b2 = {b.asset: b for b in venue.balances(2)}
    assert (b1["BTC"].free, b1["BTC"].locked) == (D(100) - 2, D("1.5"))
    assert b1["USD"].free == D(1_000_000) + 50 - maker.fee
    assert b2["USD"].free == D(1_000_000) - 50 - taker.fee  # bought below the limit: change back
    assert (b2["USD"].locked, b2["BTC"].free) == (D(0), D("100.5"))
    assert venue.positions(2) == {BTC: D("0.5")}
    assert [t.taker_side for t in venue.trades(BTC)] == ["buy"]


def test_queue_ahead_is_the_quantity_resting_in_front_at_the_same_price(venue: Venue) -> None:
    a = place(venue, 1, "buy", "1", "50")
    b = place(venue, 2, "buy", "2", "50")
    c = place(venue, 3, "buy", "3", "50")
    assert [o.queue_ahead for o in (a, b, c)] == [D(0), D(1), D(3)]
    run(venue.cancel(1, BTC, order_id=a.order_id))
    place(venue, 1, "sell", "0.5", None)  # takes 0.5 from b
    assert venue.order(3, BTC, order_id=c.order_id).queue_ahead == D("1.5")
    # Down in size keeps the place; a new price goes to the back.
    run(venue.amend(2, BTC, order_id=b.order_id, qty=D("1")))
    assert venue.order(3, BTC, order_id=c.order_id).queue_ahead == D("0.5")
    run(venue.amend(2, BTC, order_id=b.order_id, price=D("49")))
    assert venue.order(3, BTC, order_id=c.order_id).queue_ahead == D(0)
    assert venue.depth(BTC).bids == [(D("50.00"), D(3)), (D("49.00"), D("0.5"))]


def test_queue_positions_match_the_engines_own_fifo_after_random_commands(venue: Venue) -> None:
    rng = random.Random(13)
    ref = Engine()
    ref.add_instrument(**dict(service_config()["instruments"][0].items()))
    live: list[tuple[int, int]] = []  # (account, order id)
    sides: tuple[Side, Side] = ("buy", "sell")
    tifs: tuple[Tif, ...] = ("gtc", "gtc", "gtc", "ioc")
    for _ in range(300):
        op = rng.random()
        code: str | None = None
        if op < 0.6 or not live:
            account, side, tif = rng.randint(1, 3), rng.choice(sides), rng.choice(tifs)
            price, qty = str(rng.randint(95, 105)), str(rng.randint(1, 30) / 10)
            o = place(venue, account, side, qty, price, tif=tif)
            ref.submit(BTC, o.order_id, side, qty, price, account=account, tif=tif)
            live.append((account, o.order_id))
        elif op < 0.8:
            account, oid = live.pop(rng.randrange(len(live)))
            try:
                run(venue.cancel(account, BTC, order_id=oid))
            except VenueError as e:
                code = e.code
            else:
                ref.cancel(BTC, oid)
        else:
            account, oid = rng.choice(live)
            left, new_price = D(rng.randint(1, 30)) / 10, D(rng.randint(95, 105))
            try:
                before = venue.order(account, BTC, order_id=oid).filled_qty
                run(venue.amend(account, BTC, order_id=oid, qty=before + left, price=new_price))
            except VenueError as e:
                code = e.code
            else:
                ref.amend(BTC, oid, price=new_price, qty=left)  # the engine's qty: what is left
        assert code in (None, "UNKNOWN_ORDER")  # an order that filled meanwhile
    checked = 0
    for account in (1, 2, 3):
        for o in venue.open_orders(account):
            assert o.price is not None
            queue = ref.orders_at(BTC, "buy" if o.side == "buy" else "sell", o.price)
            ids = [q["order_id"] for q in queue]
            assert o.order_id in ids
            ahead = sum(q["remaining"] for q in queue[: ids.index(o.order_id)])
            assert o.queue_ahead == ahead, o
            checked += 1
    assert checked > 10
    depth = ref.depth(BTC, 1000)
    mine = venue.depth(BTC, 1000)
    assert [(p, q) for p, q, _ in depth["bids"]] == mine.bids
    assert [(p, q) for p, q, _ in depth["asks"]] == mine.asks


def test_a_repeated_client_order_id_returns_the_first_order(venue: Venue) -> None:
    first = place(venue, 1, "buy", "1", "50", client_order_id="my-1")
    again = place(venue, 1, "buy", "7", "60", client_order_id="my-1")
    assert again.order_id == first.order_id
    assert again.qty == D(1)
    other = place(venue, 2, "buy", "1", "50", client_order_id="my-1")  # another account's own
    assert other.order_id != first.order_id
    assert venue.order(1, BTC, client_order_id="my-1").order_id == first.order_id
    assert len(venue.open_orders(1)) == 1


def test_concurrent_repeats_of_a_client_order_id_place_one_order(venue: Venue) -> None:
    async def five() -> list[OrderState]:
        return await asyncio.gather(
            *(venue.place(1, BTC, "buy", "limit", D(1), D(50), client_order_id="same")
              for _ in range(5))
        )  # fmt: skip

    states = run(five())
    assert len({s.order_id for s in states}) == 1
    assert [o.client_order_id for o in venue.open_orders(1)] == ["same"]
    generated = place(venue, 1, "buy", "1", "50", client_order_id=f"wm-{states[0].order_id + 2}")
    nxt = place(venue, 1, "buy", "1", "50")  # its generated id is taken: it gets another
    assert nxt.order_id == generated.order_id + 1
    assert nxt.client_order_id == f"wm-{nxt.order_id}-"
    assert venue.order(1, BTC, client_order_id=generated.client_order_id) == venue.order(
        1, BTC, order_id=generated.order_id
    )


@pytest.mark.parametrize(
    ("symbol", "qty", "price", "code"),
    [
        ("DOGE-USD", "1", "100", "UNKNOWN_SYMBOL"),
        (BTC, "0", "100", "INVALID_QTY"),
        (BTC, "-1", "100", "INVALID_QTY"),
        (BTC, "0.0005", "100", "INVALID_QTY"),
        (BTC, "1.0005", "100", "INVALID_QTY"),
        (BTC, "1e400", "100", "INVALID_QTY"),
        (BTC, "NaN", "100", "INVALID_QTY"),
        (BTC, "1", "100.001", "OFF_TICK"),
        (BTC, "1", "0", "INVALID_PRICE"),
        (BTC, "1", "99999999999999999999999999", "INVALID_PRICE"),
        (BTC, "1", "Infinity", "INVALID_PRICE"),
    ],
)
def test_bad_input_raises_a_coded_error_and_changes_nothing(
    venue: Venue, symbol: str, qty: str, price: str, code: str
) -> None:
    place(venue, 1, "sell", "1", "200")
    before = (venue.depth(BTC), venue.balances(1), venue.open_orders(1))
    with pytest.raises(VenueError) as e:
        run(venue.place(1, symbol, "buy", "limit", D(qty), D(price)))
    assert e.value.code == code
    assert (venue.depth(BTC), venue.balances(1), venue.open_orders(1)) == before


def test_another_accounts_order_is_unknown_to_an_account(venue: Venue) -> None:
    mine = place(venue, 1, "buy", "1", "50", client_order_id="c1")
    calls: list[Callable[[], object]] = [
        lambda: venue.order(2, BTC, order_id=mine.order_id),
        lambda: venue.order(2, BTC, client_order_id="c1"),
        lambda: run(venue.cancel(2, BTC, order_id=mine.order_id)),
        lambda: run(venue.amend(2, BTC, order_id=mine.order_id, qty=D(2))),
    ]
    for call in calls:
        with pytest.raises(VenueError) as e:
            call()
        assert e.value.code == "UNKNOWN_ORDER"
    assert venue.order(1, BTC, order_id=mine.order_id).status == "new"


def test_more_than_the_free_balance_is_refused(venue: Venue) -> None:
    with pytest.raises(VenueError) as e:
        place(venue, 1, "sell", "100.001", "50")
    assert e.value.code == "INVALID_QTY"  # above max_qty first
    place(venue, 1, "sell", "60", "50")
    with pytest.raises(VenueError) as e:
        place(venue, 1, "sell", "41", "50")
    assert e.value.code == "INSUFFICIENT_BALANCE"
    assert {b.asset: b.locked for b in venue.balances(1)}["BTC"] == D(60)


def test_ioc_and_fok_that_cannot_fill_expire_and_post_only_that_would_cross_is_refused(
    venue: Venue,
) -> None:
    place(venue, 1, "sell", "1", "100")
    ioc = place(venue, 2, "buy", "3", "100", tif="ioc")
    assert (ioc.status, ioc.filled_qty) == ("expired", D(1))
    fok = place(venue, 2, "buy", "3", "100", tif="fok")
    assert (fok.status, fok.filled_qty) == ("expired", D(0))
    place(venue, 1, "sell", "1", "100")
    with pytest.raises(VenueError) as e:
        place(venue, 2, "buy", "1", "100", tif="post_only")
    assert (e.value.code, e.value.reason) == ("BOOK_REJECTED", "POST_ONLY_WOULD_CROSS")
    assert {b.asset: b.locked for b in venue.balances(2)}["USD"] == 0
    market = place(venue, 2, "buy", "2", None)
    assert (market.status, market.filled_qty, market.tif) == ("expired", D(1), "ioc")


def test_cancel_all_cancels_only_the_accounts_orders(venue: Venue) -> None:
    for price in ("50", "51", "52"):
        place(venue, 1, "buy", "1", price)
    theirs = place(venue, 2, "buy", "1", "50")
    done = run(venue.cancel_all(1))
    assert sorted(o.status for o in done) == ["canceled"] * 3
    assert venue.open_orders(1) == []
    assert venue.order(2, BTC, order_id=theirs.order_id).status == "new"
    assert venue.depth(BTC).bids == [(D("50.00"), D(1))]
    assert {b.asset: b.locked for b in venue.balances(1)}["USD"] == 0


def test_risk_limits_and_the_kill_switch_refuse_orders_with_their_codes(venue: Venue) -> None:
    venue.set_limits(1, {"max_order_qty": 1000})  # lots: 1 BTC
    with pytest.raises(VenueError) as e:
        place(venue, 1, "buy", "2", "50")
    assert (e.value.code, e.value.reason) == ("RISK_REJECTED", "MAX_ORDER_QTY")
    venue.kill(1)
    with pytest.raises(VenueError) as e:
        place(venue, 1, "buy", "1", "50")
    assert e.value.code == "KILL_SWITCH"
    place(venue, 2, "buy", "1", "50")  # others still trade
    venue.release(1)
    assert place(venue, 1, "buy", "1", "50").status == "new"
    assert venue.open_orders(1)[0].queue_ahead == D(1)


def test_book_updates_carry_contiguous_sequence_numbers_from_the_snapshot(venue: Venue) -> None:
    async def scenario() -> tuple[int, list[BookUpdate]]:
        snap, sub = venue.subscribe_book(BTC)
        await venue.place(1, BTC, "sell", "limit", D(1), D(100))
        await venue.place(1, BTC, "sell", "limit", D(1), D(101))
        await venue.place(2, BTC, "buy", "limit", D("1.5"), D(101))
        got: list[BookUpdate] = []
        while len(got) < 3:
            got.extend(await asyncio.wait_for(sub.next_batch(), 5))
        sub.close()
        return snap.seq, got

    seq, updates = run(scenario())
    for u in updates:
        assert u.first_seq == seq + 1
        seq = u.seq
    assert updates[-1].asks == [(D("100.00"), D(0)), (D("101.00"), D("0.5"))]
    assert venue.depth(BTC).seq == seq


def test_a_subscriber_that_falls_behind_is_dropped_and_others_are_not(venue: Venue) -> None:
    async def scenario() -> tuple[str | None, int]:
        slow = venue.topics.subscribe(f"trades:{BTC}", capacity=3)
        fast = venue.subscribe(f"trades:{BTC}")
        place_all = [venue.place(1, BTC, "sell", "limit", D(1), D(100)) for _ in range(5)]
        for p in place_all:
            await p
        for _ in range(5):
            await venue.place(2, BTC, "buy", "market", D(1))
        with pytest.raises(SlowConsumer):
            await slow.next_batch()
        got = 0
        while got < 5:
            got += len(await asyncio.wait_for(fast.next_batch(), 5))
        return slow.dropped, got

    assert run(scenario()) == ("slow_consumer", 5)
    assert venue.topics.dropped_slow == 1


def test_settings_refuse_unknown_keys_and_bad_values() -> None:
    from wintermute.errors import ConfigError

    for bad in ({"prot": 1}, {"port": 70000}, {"fees": {"maker_bps": "-1"}}, {"ssl_keyfile": "k"}):
        with pytest.raises(ConfigError):
            ServiceSettings.from_dict(bad)
    engine, s = split_config({"instruments": [], "service": {"port": 9}})
    assert "service" not in engine
    assert s.port == 9
