"""Amends of one order in flight together, through the venue's API (``Venue.amend``) and REST:
the venue's drain thread is held (``drain_held``) while the commands are sent, so that every
one of them leaves before the engine's answer to any reaches the venue, as with several
clients, or one that does not wait for answers.

The model (``_expected``) is the amend by total one command at a time: each amend leaves the
order its new total less what filled, whatever was in flight ahead of it."""

from __future__ import annotations

import asyncio
import threading
from collections.abc import Awaitable, Iterator
from decimal import Decimal
from typing import Any, TypeVar

import httpx
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from service_fixtures import Service, drain_held, service, service_config  # noqa: F401
from wintermute.service.settings import split_config
from wintermute.service.venue import OrderState, Venue, VenueError

T = TypeVar("T")
D = Decimal
BTC = "BTC-USD"
LOT = D("0.001")


@pytest.fixture(scope="module")
def venue() -> Iterator[Venue]:
    engine, settings_ = split_config(service_config())
    with Venue(engine, settings_) as v:
        yield v


def burst(venue: Venue, calls: list[Awaitable[T]], sent: int | None = None) -> list[T | VenueError]:
    """Sends ``calls`` in order while the venue's drain is held (``sent`` of them reach the
    engine: all unless told), then returns their results (or the venue's errors) once the
    answers come."""

    async def go() -> list[T | VenueError]:
        with drain_held(venue, len(calls) if sent is None else sent):
            tasks = [asyncio.ensure_future(c) for c in calls]
            await asyncio.sleep(0)  # each task runs up to its send
        done = await asyncio.gather(*tasks, return_exceptions=True)
        for r in done:
            if isinstance(r, BaseException) and not isinstance(r, VenueError):
                raise r
        return done  # type: ignore[return-value]

    return asyncio.run(go())


def rest_sell(venue: Venue, qty: Decimal, tif: str = "gtc") -> OrderState:
    """A fresh sell of ``qty`` BTC at 100 from account 1, alone on the ask side."""
    asyncio.run(venue.cancel_all(1))
    return asyncio.run(venue.place(1, BTC, "sell", "limit", D(qty), D(100), tif=tif))


def test_amends_sent_before_the_earlier_ones_are_answered_all_count(venue: Venue) -> None:
    ask = rest_sell(venue, D(10))
    oid = ask.order_id
    first, taker, second = burst(
        venue,
        [
            venue.amend(1, BTC, order_id=oid, qty=D(6)),
            venue.place(2, BTC, "buy", "market", D(2)),
            venue.amend(1, BTC, order_id=oid, qty=D(8)),
        ],
    )
    assert isinstance(first, OrderState)
    assert isinstance(second, OrderState)
    assert isinstance(taker, OrderState)
    assert taker.filled_qty == 2
    assert (first.qty, second.qty, second.filled_qty) == (D(6), D(8), D(2))
    now = venue.order(1, BTC, order_id=oid)
    assert (now.qty, now.filled_qty, now.status) == (D(8), D(2), "partially_filled")
    assert venue.depth(BTC).asks == [(D("100.00"), D(6))]
    # The ledger holds what is open: 6 of 100 BTC.
    assert {b.asset: b.locked for b in venue.balances(1)}["BTC"] == 6


def test_an_amend_behind_a_refused_one_moves_by_its_own_step_and_the_next_lands_exactly(
    venue: Venue,
) -> None:
    ask = rest_sell(venue, D(10), tif="post_only")
    oid = ask.order_id
    bid = asyncio.run(venue.place(2, BTC, "buy", "limit", D(1), D(99)))
    # Up to 14 at 99 would cross: the book refuses it. The amend to 12 sent behind it counted
    # on 14 (12 is 2 less): it leaves 8.
    refused, behind = burst(
        venue,
        [
            venue.amend(1, BTC, order_id=oid, qty=D(14), price=D(99)),
            venue.amend(1, BTC, order_id=oid, qty=D(12)),
        ],
    )
    assert isinstance(refused, VenueError)
    assert (refused.code, refused.reason) == ("BOOK_REJECTED", "POST_ONLY_WOULD_CROSS")
    assert isinstance(behind, OrderState)
    assert behind.qty == 8
    # Sent once the refusal is known: exact.
    again = asyncio.run(venue.amend(1, BTC, order_id=oid, qty=D(11)))
    assert (again.qty, venue.depth(BTC).asks) == (D(11), [(D("100.00"), D(11))])
    asyncio.run(venue.cancel(2, BTC, order_id=bid.order_id))


def locked(venue: Venue, account: int, asset: str) -> Decimal:
    return {b.asset: b.locked for b in venue.balances(account)}[asset]


def test_a_price_and_a_quantity_amend_up_in_flight_together_fit_the_balance(venue: Venue) -> None:
    # Account 9 has 1,000,000 USD; a bid of 10 ETH at 1,000 holds 10,000 (the ETH book has
    # no asks: nothing trades).
    eth = "ETH-USD"
    bid = asyncio.run(venue.place(9, eth, "buy", "limit", D(10), D(1000)))
    oid = bid.order_id
    # Up to 100 ETH (100,000), and up to 15,000 a coin (150,000 for the 10 known): each fits
    # alone, both together hold 1,500,000.
    more, dearer = burst(
        venue,
        [
            venue.amend(9, eth, order_id=oid, qty=D(100)),
            venue.amend(9, eth, order_id=oid, price=D(15000)),
        ],
        sent=1,
    )
    assert isinstance(more, OrderState)
    assert more.qty == 100
    assert isinstance(dearer, VenueError)
    assert dearer.code == "INSUFFICIENT_BALANCE", dearer
    assert locked(venue, 9, "USD") == 100_000
    # The other way round: dearer first (150,000), then more at the price known (100,000).
    asyncio.run(venue.amend(9, eth, order_id=oid, qty=D(10)))
    dearer, more = burst(
        venue,
        [
            venue.amend(9, eth, order_id=oid, price=D(15000)),
            venue.amend(9, eth, order_id=oid, qty=D(100)),
        ],
        sent=1,
    )
    assert isinstance(dearer, OrderState)
    assert dearer.price == 15000
    assert isinstance(more, VenueError)
    assert more.code == "INSUFFICIENT_BALANCE", more
    now = venue.order(9, eth, order_id=oid)
    assert (now.qty, now.price) == (D(10), D(15000))
    assert locked(venue, 9, "USD") == 150_000
    # Amends that fit, in flight together, still go.
    a, b = burst(
        venue,
        [
            venue.amend(9, eth, order_id=oid, qty=D(20)),
            venue.amend(9, eth, order_id=oid, price=D(20000)),
        ],
    )
    assert isinstance(a, OrderState)
    assert isinstance(b, OrderState)
    assert locked(venue, 9, "USD") == 400_000
    asyncio.run(venue.cancel(9, eth, order_id=oid))
    assert locked(venue, 9, "USD") == 0


_bid_amends = st.lists(
    st.tuples(
        st.one_of(st.none(), st.integers(1, 200)), st.one_of(st.none(), st.integers(10, 200))
    ),
    min_size=1,
    max_size=6,
).map(lambda xs: [(q, p) if q or p else (q, 50) for q, p in xs])


@settings(max_examples=40, deadline=None)
@given(amends=_bid_amends)
def test_amends_of_a_bid_in_flight_together_never_hold_more_than_the_account_has(
    venue: Venue, amends: list[tuple[int | None, int | None]]
) -> None:
    # Account 11 has 1,000,000 USD; a bid of 10 ETH at 1,000 (the ETH book has no asks). Each
    # amend sets the quantity (ETH) and/or the price (hundreds of USD a coin); all are in
    # flight at once. Whichever the venue lets through, the account never holds more than it
    # has, and once all are answered it holds what the order needs, and the next amend is
    # checked against that.
    eth = "ETH-USD"
    oid = asyncio.run(venue.place(11, eth, "buy", "limit", D(10), D(1000))).order_id
    calls: list[Awaitable[OrderState]] = [
        venue.amend(
            11,
            eth,
            order_id=oid,
            qty=None if q is None else D(q),
            price=None if p is None else D(p * 100),
        )
        for q, p in amends
    ]
    results = burst(venue, calls, sent=0)
    for r in results:
        assert isinstance(r, OrderState) or r.code == "INSUFFICIENT_BALANCE", r
    now = venue.order(11, eth, order_id=oid)
    assert now.status == "new"
    usd = {b.asset: b for b in venue.balances(11)}["USD"]
    assert now.price is not None
    assert usd.locked == now.qty * now.price <= 1_000_000
    assert usd.free == 1_000_000 - usd.locked
    asyncio.run(venue.cancel(11, eth, order_id=oid))


def test_amends_of_an_order_that_fills_in_between_are_refused_as_unknown(venue: Venue) -> None:
    oid = rest_sell(venue, D(10)).order_id
    first, taker, second = burst(
        venue,
        [
            venue.amend(1, BTC, order_id=oid, qty=D(5)),
            venue.place(2, BTC, "buy", "market", D(7)),
            venue.amend(1, BTC, order_id=oid, qty=D(9)),
        ],
    )
    assert isinstance(first, OrderState)
    assert first.qty == 5
    assert isinstance(taker, OrderState)
    assert taker.filled_qty == 5
    assert isinstance(second, VenueError)
    assert second.reason == "UNKNOWN_ORDER"
    now = venue.order(1, BTC, order_id=oid)
    assert (now.status, now.qty, now.filled_qty) == ("filled", D(5), D(5))
    # Nothing of the order is in flight any more: a new order amends from its own quantity.
    fresh = rest_sell(venue, D(3)).order_id
    assert asyncio.run(venue.amend(1, BTC, order_id=fresh, qty=D(4))).qty == 4


def _expected(qty: int, ops: list[tuple[str, int]]) -> tuple[str, int, int, list[bool]]:
    """The order's ``(status, total, filled)`` after ``ops`` one at a time, and which amends
    succeed: ``("take", k)`` an IOC buy of ``k``, ``("amend", t)`` an amend to ``t`` in all."""
    status, total, filled, ok = "new", qty, 0, []
    for op, n in ops:
        if op == "take" and status in ("new", "partially_filled"):
            got = min(n, total - filled)
            filled += got
            status = "filled" if filled == total else "partially_filled"
        elif op == "amend":
            ok.append(status in ("new", "partially_filled"))
            if ok[-1]:
                if n <= filled:
                    status = "canceled"  # FILLED_BEFORE_AMEND
                else:
                    total = n
    return status, total, filled, ok


_ops = st.lists(
    st.tuples(st.sampled_from(["amend", "amend", "take"]), st.integers(1, 12)),
    min_size=1,
    max_size=8,
)


@settings(max_examples=60, deadline=None)
@given(qty=st.integers(1, 12), ops=_ops)
def test_amends_in_flight_with_fills_match_the_one_at_a_time_model(
    venue: Venue, qty: int, ops: list[tuple[str, int]]
) -> None:
    # In lots, so that the accounts' balances last for every example.
    oid = rest_sell(venue, qty * LOT).order_id
    calls: list[Awaitable[OrderState]] = [
        venue.amend(1, BTC, order_id=oid, qty=n * LOT)
        if op == "amend"
        else venue.place(2, BTC, "buy", "market", n * LOT)
        for op, n in ops
    ]
    results = burst(venue, calls)
    status, total, filled, ok = _expected(qty, ops)
    amends = [r for (op, _), r in zip(ops, results, strict=True) if op == "amend"]
    assert [isinstance(r, OrderState) for r in amends] == ok, results
    now = venue.order(1, BTC, order_id=oid)
    assert (now.status, now.filled_qty) == (status, filled * LOT), (ops, results)
    if status in ("new", "partially_filled"):
        assert now.qty == total * LOT
        assert venue.depth(BTC).asks == [(D("100.00"), (total - filled) * LOT)]


def test_two_rest_clients_amending_one_order_at_once_both_count(service: Service) -> None:  # noqa: F811
    key = {"X-API-Key": "demo-key-1"}
    body = {"symbol": "BTC-USD", "side": "sell", "qty": "10", "price": "100"}
    with httpx.Client(base_url=service.url, timeout=10) as http:
        oid = http.post("/api/orders", json=body, headers=key).json()["order_id"]
    answers: list[Any] = [None, None]

    def amend(i: int, qty: str) -> None:
        with httpx.Client(base_url=service.url, timeout=10) as client:
            answers[i] = client.patch(f"/api/orders/{oid}", json={"qty": qty}, headers=key)

    threads = [threading.Thread(target=amend, args=(i, q)) for i, q in enumerate(("6", "8"))]
    with drain_held(service.venue, 2):
        for t in threads:
            t.start()
    for t in threads:
        t.join(10)
    assert [r.status_code for r in answers] == [200, 200], [r.text for r in answers]
    # Whichever reached the engine last holds: each counted on the other's change.
    shown = sorted(r.json()["qty"] for r in answers)
    assert shown == ["6.000", "8.000"]
    with httpx.Client(base_url=service.url, timeout=10) as http:
        final = http.get(f"/api/orders/{oid}", headers=key).json()
        asks = http.get("/api/book/BTC-USD").json()["asks"]
    assert final["qty"] in shown
    assert asks == [["100.00", final["qty"]]]
