"""The service's venue over a pruned journal: its saved state (``venue-<seq>.state`` beside the
journal, ``wintermute.service.venue_state``) keeps the records after it from pruning, and a
restart loads it and replays only those records, so that open orders, client order ids,
balances, positions, fills and the books come back as they were; a damaged or foreign state is
an error, never an empty start."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import os
import signal
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path
from typing import Any

import httpx
import pytest

from test_service_restart import (
    ADMIN,
    K1,
    K2,
    journaled,
    order,
    rest_state,
    serving,
    trade_over_rest,
    untimed,
    venue_state,
)
from wintermute import batch, errors
from wintermute import journal as journal_files
from wintermute.service import venue_state as saved_states
from wintermute.service.settings import ServiceSettings, split_config
from wintermute.service.venue import Venue, VenueError


@pytest.fixture
def journal(tmp_path: Path) -> Path:
    return tmp_path / "journal"


def pruning(path: Path) -> dict[str, Any]:
    """``journaled`` with small segments, a snapshot every 10 records (one kept), pruning and
    no rate limit."""
    doc = journaled(path)
    doc["journal"].update(
        segment_size=4096, snapshot_every_records=10, snapshot_keep=1, prune_segments=True
    )
    # The padding orders go over REST faster than the API keys' default rate.
    doc.setdefault("service", {}).update(rate_limit_per_s=10**6, rate_limit_burst=10**6)
    return doc


def by_hand(path: Path) -> dict[str, Any]:
    """``pruning`` with the venue's state saved only at start, at close and on request."""
    doc = pruning(path)
    doc.setdefault("service", {})["save_state_on_snapshot"] = False
    return doc


def states(path: Path) -> list[str]:
    return sorted(p.name for p in path.glob("venue-*.state"))


def saved_past(path: Path, venue: Venue, seq: int) -> int:
    """The record of the venue's saved state, once it is past ``seq`` and the engine took no
    snapshot since (the venue saves its state after the engine's snapshots, as it reads the
    engine's stats: about once a second; each save prunes the journal before it is written,
    so none is under way then)."""
    deadline = time.monotonic() + 10
    while True:
        saved = saved_states.load(path)
        assert saved is not None
        done = saved.journal_seq >= venue.pipeline.stats().last_snapshot_seq
        if (saved.journal_seq > seq and done) or time.monotonic() > deadline:
            return saved.journal_seq
        time.sleep(0.05)


def first_seq(path: Path) -> int:
    first = journal_files.summarize(path)["first_seq"]
    assert first is not None
    return first


def last_seq(path: Path) -> int:
    last = journal_files.summarize(path)["last_seq"]
    assert last is not None
    return last


def pruned(venue: Venue) -> int:
    """The segments the venue's engine pruned, once it pruned some (the snapshot writer
    prunes in a thread of its own)."""
    deadline = time.monotonic() + 10
    while (n := venue.pipeline.stats().segments_pruned) == 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    return n


def filler(http: httpx.Client, n: int, tag: str) -> None:
    """``n`` orders far from the market, each canceled: records for snapshots and segments."""
    for i in range(n):
        body = order(qty="0.001", price="50", client_order_id=f"{tag}-{i}")
        placed = http.post("/api/orders", json=body, headers=ADMIN).json()
        assert http.delete(f"/api/orders/{placed['order_id']}", headers=ADMIN).status_code == 200


def test_a_venue_over_a_pruned_journal_restores_its_orders_balances_and_positions(
    journal: Path,
) -> None:
    config = pruning(journal)
    with serving(config) as (http, venue):
        filler(http, 40, "one")
        answers = trade_over_rest(http)
        first_session = rest_state(http, answers)
    assert states(journal) == [saved_states.state_name(last_seq(journal))]

    with serving(config) as (http, venue):
        assert rest_state(http, answers) == first_session
        held = last_seq(journal)
        filler(http, 40, "two")
        assert pruned(venue) > 0, "the engine pruned its journal"
        # The venue saved its state after the engine's snapshots: pruning follows it.
        moved = saved_past(journal, venue, held)
        assert moved > held
        assert 1 < first_seq(journal) <= moved + 1, "pruned up to the saved state, not past it"
        # More trading on top: a partial fill of the first session's resting ask.
        taker = http.post("/api/orders", json=order(qty="0.25", client_order_id="late"), headers=K2)
        assert taker.json()["status"] == "filled", taker.text
        answers.append(taker.json())
        before = rest_state(http, answers)
    assert first_seq(journal) > 1

    with serving(config) as (http, venue):
        assert venue.restored == last_seq(journal)
        after = rest_state(http, answers)
        assert after == before
        ask = answers[0]
        k1 = before["k1"]
        assert [o["order_id"] for o in k1["open"]] == [ask["order_id"]], "ask-1 rests"
        assert k1["open"][0]["filled_qty"] == "1.000", "0.5 + 0.25 + 0.25 of 2"
        for name in ("k1", "k2"):
            assert isinstance(before[name]["fills"], list), before[name]["fills"]
            assert before[name]["fills"], "the sessions traded"
            assert isinstance(before[name]["positions"], list), before[name]["positions"]
            assert before[name]["positions"], "the sessions traded"
            assets = {b["asset"] for b in before[name]["balances"]}
            assert assets == {"BTC", "ETH", "USD"}, before[name]["balances"]
        # A repeated client order id still answers the first order.
        again = http.post("/api/orders", json=order(qty="0.5", client_order_id="bid:1"), headers=K2)
        assert untimed(again.json()) == untimed(answers[2])
        # The first session's resting order cancels through the API, and its hold comes back.
        gone = http.delete(f"/api/orders/{ask['order_id']}", headers=K1)
        assert gone.status_code == 200, gone.text
        assert gone.json()["status"] == "canceled"
        assert http.get("/api/orders", headers=K1).json() == []
        balances = http.get("/api/account/balances", headers=K1).json()
        assert isinstance(balances, list), balances
        btc = [b for b in balances if b["asset"] == "BTC"]
        assert Decimal(btc[0]["locked"]) == 0, btc
        book = http.get("/api/book/BTC-USD").json()
        assert all(Decimal(p) != Decimal(100) for p, _ in book["asks"]), book
    # A state older than the journal's first record: the records between are gone.
    saved = saved_states.load(journal)
    assert saved is not None
    body = {k: v for k, v in saved.body.items() if k != "journal_seq"}
    saved_states.save(journal, 1, body)
    with pytest.raises(errors.JournalError, match=r"records 2\.\.\d+ are missing") as e:
        Venue(*split_config(config))
    assert e.value.reason == "VENUE_STATE"


def crashing_pruned_session(doc: dict[str, Any]) -> None:
    """Run in a child process over a journal with a saved state: trades (filling part of the
    first session's resting order), pads the journal until it is pruned, prints the venue's
    state and kills itself (no close: no state saved at the end)."""
    engine_doc, settings = split_config(doc)
    venue = Venue(engine_doc, settings)

    async def session() -> None:
        for account, side, price, client in ((2, "buy", "100", "d"), (1, "sell", "102", "e")):
            await venue.place(
                account, "BTC-USD", side, "limit", Decimal("0.5"), Decimal(price),
                client_order_id=client,
            )  # fmt: skip
        await padding(venue, 60)

    asyncio.run(session())
    print(json.dumps({"state": venue_state(venue), "pruned": pruned(venue)}), flush=True)
    os.kill(os.getpid(), signal.SIGKILL)


async def padding(venue: Venue, n: int) -> None:
    """``n`` orders of account 3 far from the market, each canceled."""
    for _ in range(n):
        placed = await venue.place(3, "BTC-USD", "buy", "limit", Decimal("0.001"), Decimal("50"))
        await venue.cancel(3, "BTC-USD", order_id=placed.order_id)


_CHILD = (
    "import json, sys; sys.path.insert(0, sys.argv[2]); "
    "from test_service_restart_pruned import crashing_pruned_session; "
    "crashing_pruned_session(json.loads(sys.argv[1]))"
)


def test_a_killed_venue_over_a_pruned_journal_replays_the_records_after_its_saved_state(
    journal: Path,
) -> None:
    doc = by_hand(journal)
    engine_doc, settings = split_config(doc)
    with Venue(engine_doc, settings) as venue:

        async def first() -> None:
            for account, side, qty, price, client in (
                (1, "sell", "2", "100", "a"), (2, "buy", "0.5", "100", "b"),
                (2, "buy", "1", "99", "c"),
            ):  # fmt: skip
                await venue.place(
                    account, "BTC-USD", side, "limit", Decimal(qty), Decimal(price),
                    client_order_id=client,
                )  # fmt: skip
            await padding(venue, 40)

        asyncio.run(first())
    held = last_seq(journal)
    assert states(journal) == [saved_states.state_name(held)]

    here = str(Path(__file__).parent)
    child = subprocess.run(
        [sys.executable, "-c", _CHILD, json.dumps(doc), here],
        capture_output=True, text=True, timeout=120, env=dict(os.environ),
    )  # fmt: skip
    assert child.returncode == -9, child.stderr
    out = json.loads(child.stdout)
    before = out["state"]
    assert out["pruned"] > 0, "the child's engine pruned the journal"
    assert states(journal) == [saved_states.state_name(held)], "the killed venue saved nothing"
    assert 1 < first_seq(journal) <= held + 1
    last = last_seq(journal)
    assert last > held

    with Venue(engine_doc, settings) as venue:
        assert venue.restored == last
        assert venue_state(venue) == before
        assert before["1"]["open"][0]["client_order_id"] == "a"
        assert before["1"]["open"][0]["filled_qty"] == "1.000", "0.5 + 0.5 of 2"
        again = asyncio.run(
            venue.place(
                2, "BTC-USD", "buy", "limit", Decimal("9"), Decimal("1"), client_order_id="c"
            )
        )
        assert (again.order_id, again.price, again.qty) == (3, Decimal("99.00"), Decimal("1.000"))
        gone = asyncio.run(venue.cancel(1, "BTC-USD", order_id=1))
        assert gone.status == "canceled"
        assert [o.client_order_id for o in venue.open_orders(1)] == ["e"]


def test_a_damaged_or_foreign_saved_state_is_an_error_not_an_empty_start(journal: Path) -> None:
    doc = pruning(journal)
    engine_doc, settings = split_config(doc)
    with Venue(engine_doc, settings) as venue:
        asyncio.run(
            venue.place(
                1, "BTC-USD", "sell", "limit", Decimal("1"), Decimal("100"), client_order_id="a"
            )
        )
    [name] = states(journal)
    path = journal / name
    good = path.read_bytes()
    saved = saved_states.load(journal)
    assert saved is not None
    body = {k: v for k, v in saved.body.items() if k != "journal_seq"}

    def fails(why: str) -> None:
        with pytest.raises(errors.JournalError, match=why) as e:
            Venue(engine_doc, settings)
        assert e.value.reason == "VENUE_STATE"

    path.write_bytes(good[:-3] + b"}}}")
    fails("CRC mismatch")
    path.write_bytes(good[:-1])
    fails("length mismatch")
    path.write_bytes(b"something else\n{}")
    fails("does not start with 'wintermute-venue-state v1'")
    saved_states.save(journal, saved.journal_seq, {**body, "symbols": ["BTC-USD"]})
    fails("saved for instruments")
    saved_states.save(journal, saved.journal_seq, {**body, "orders": body["ledger"]})
    fails(r"venue state \(orders\): the document is part=Some\(\"ledger\"\)")
    # A state past the journal's end: records it includes are gone.
    saved_states.save(journal, saved.journal_seq + 5, body)
    fails("the journal ends at record")
    # Saved back whole, it loads again.
    saved_states.save(journal, saved.journal_seq, body)
    with Venue(engine_doc, settings) as venue:
        assert [o.client_order_id for o in venue.open_orders(1)] == ["a"]


def test_a_running_venue_saves_its_state_and_pruning_goes_up_to_it(journal: Path) -> None:
    engine_doc, settings = split_config(by_hand(journal))
    with Venue(engine_doc, settings) as venue:
        assert states(journal) == [saved_states.state_name(0)], "saved once rebuilt (empty)"

        async def first() -> None:
            for account, side, qty, price, client in (
                (1, "sell", "2", "100", "a"), (2, "buy", "0.5", "100", "b"),
            ):  # fmt: skip
                await venue.place(
                    account, "BTC-USD", side, "limit", Decimal(qty), Decimal(price),
                    client_order_id=client,
                )  # fmt: skip
            await padding(venue, 40)

        asyncio.run(first())
        assert first_seq(journal) == 1, "the state saved at start holds the whole journal"
        seq = venue.save_state()
        assert seq == last_seq(journal)
        assert states(journal) == [saved_states.state_name(seq)]
        asyncio.run(padding(venue, 40))
        assert pruned(venue) > 0
        venue.pipeline.snapshot()  # answered once written and pruned: no prune under way
        assert 1 < first_seq(journal) <= seq + 1
        before = venue_state(venue)
    with Venue(engine_doc, settings) as venue:
        assert venue_state(venue) == before
        assert [o.client_order_id for o in venue.open_orders(1)] == ["a"]
    other = split_config(journaled(journal.parent / "other"))[0]
    with (
        Venue(other, settings, reserve=1) as venue,
        pytest.raises(VenueError, match="only a venue over a journal"),
    ):
        venue.save_state()


def test_saving_after_each_snapshot_is_a_setting() -> None:
    assert ServiceSettings().save_state_on_snapshot
    assert not ServiceSettings.from_dict({"save_state_on_snapshot": False}).save_state_on_snapshot
    with pytest.raises(errors.ConfigError, match="save_state_on_snapshot: expected true or false"):
        ServiceSettings.from_dict({"save_state_on_snapshot": "yes"})


def test_an_order_registered_but_never_sent_when_the_state_was_saved_is_given_up(
    journal: Path,
) -> None:
    engine_doc, settings = split_config(by_hand(journal))
    with Venue(engine_doc, settings) as venue:
        before = [dataclasses.asdict(b) for b in venue.balances(1)]
        # As ``place`` registers an order (its hold taken), then nothing sent: a process that
        # dies between the two (the state saved meanwhile holds the order, ``pending``).
        units = venue._hold_units(0, 0, 1_000, 10_000)
        lost_id, _ = venue._orders.place(1, "lost", 0, 0, "limit", "gtc", 10_000, 1_000, units, 1)
        assert [dataclasses.asdict(b) for b in venue.balances(1)] != before, "held"
        venue.save_state()
    with Venue(engine_doc, settings) as venue:
        lost = venue.order(1, "BTC-USD", order_id=lost_id)
        assert (lost.status, lost.reject_reason) == ("rejected", "UNAVAILABLE")
        assert [dataclasses.asdict(b) for b in venue.balances(1)] == before, "the hold is back"


def test_an_order_registered_when_the_state_was_saved_and_sent_after_holds_once(
    journal: Path,
) -> None:
    engine_doc, settings = split_config(by_hand(journal))
    with Venue(engine_doc, settings) as venue:
        # As ``place`` does, with the state saved between the registration and the send.
        units = venue._hold_units(0, 0, 1_000, 10_000)
        oid, _ = venue._orders.place(1, "late", 0, 0, "limit", "gtc", 10_000, 1_000, units, 1)
        venue.save_state()
        saved = saved_states.load(journal)
        assert saved is not None
        copy = saved.path.read_bytes()
        gw = venue._gateway

        async def send() -> Any:
            return await venue._submit(
                "place", oid, (oid, 1, "BTC-USD"),
                lambda: gw.submit_ticks(
                    0, oid, 0, 10_000, 1_000, 1, batch.LIMIT, batch.GTC, batch.STP_NONE, False,
                    0, "late",
                ),
            )  # fmt: skip

        assert asyncio.run(send()).status == "new"
        held = [dataclasses.asdict(b) for b in venue.balances(1)]
    # Back to the state saved before the send (as after a crash): the send is replayed.
    for name in states(journal):
        (journal / name).unlink()
    saved.path.write_bytes(copy)
    with Venue(engine_doc, settings) as venue:
        assert venue.order(1, "BTC-USD", client_order_id="late").status == "new"
        assert [dataclasses.asdict(b) for b in venue.balances(1)] == held, "held once"
