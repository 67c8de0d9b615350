"""The venue's book mirrors in Rust (``wintermute._core.VenueBooks``) against the Python
reference (``wintermute.service.book_mirror.BookMirror``, written from ``docs/matching.md``),
over the events a real engine makes for random order flows: the same levels, sequence numbers,
resting orders, queue positions and per-command level changes. The batch path (``apply``,
which drops the book deltas) is tested in Rust (``venue_books_tests.rs``) and through the
venue (``test_service_venue.py``)."""

from __future__ import annotations

import random

import numpy as np
import pytest

from wintermute import Engine, _core, batch
from wintermute.config import InstrumentConfig
from wintermute.pipeline import OUTPUT_DTYPE
from wintermute.service.book_mirror import BUY, SELL, BookMirror

_E = {name: i for i, name in enumerate(batch.EVENT_DTYPE.names or ())}
_FIELDS = ("kind", "order_id", "other_id", "side", "price", "qty", "remaining", "other", "flags")


def _flow(seed: int, n: int) -> list[list[tuple[int, ...]]]:
    """Events per command of ``n`` random commands: limit orders around 100, some crossing,
    IOCs, cancels and amends of resting orders."""
    rng = random.Random(seed)
    engine = Engine()
    engine.add_instrument(InstrumentConfig("X-USD", "1", "1", "1", "1000", "1", "100000"))
    live: list[int] = []
    out: list[list[tuple[int, ...]]] = []
    for oid in range(1, n + 1):
        r = rng.random()
        if r < 0.15 and live:
            cmd = batch.cancels(rng.choice(live))
        elif r < 0.3 and live:
            cmd = np.zeros(1, dtype=batch.COMMAND_DTYPE)
            cmd["kind"], cmd["order_id"] = batch.AMEND, rng.choice(live)
            cmd["qty"], cmd["price"] = rng.randint(1, 9), 100 + rng.randint(-3, 3)
            cmd["flags"] = batch.FLAG_HAS_QTY | (batch.FLAG_HAS_PRICE if rng.random() < 0.5 else 0)
        else:
            tif = batch.IOC if rng.random() < 0.1 else batch.GTC
            cmd = batch.new_orders(
                order_id=oid, side=rng.choice((batch.BUY, batch.SELL)),
                price=100 + rng.randint(-4, 4), qty=rng.randint(1, 9), account=rng.randint(1, 3),
                tif=tif,
            )  # fmt: skip
            live.append(oid)
        events = engine.submit_batch(0, cmd).tolist()
        out.append(events)
    return out


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_the_rust_mirror_matches_the_python_reference_on_random_engine_flows(seed: int) -> None:
    reference, books = BookMirror(), _core.VenueBooks(1)
    books.watch(0, True)
    ids: set[int] = set()
    for events in _flow(seed, 600):
        for ev in events:
            kind = ev[_E["kind"]]
            args = [ev[_E[f]] for f in _FIELDS]
            books.event(0, *args)
            o, s, p, q = ev[_E["order_id"]], ev[_E["side"]], ev[_E["price"]], ev[_E["qty"]]
            rem, other = ev[_E["remaining"]], ev[_E["other"]]
            name = batch.KIND_NAMES.get(kind)
            if name == "book_delta":
                reference.level(s, p, q, rem)
            elif name == "accepted":
                reference.accepted(o, s, p, q)
                ids.add(o)
            elif name == "trade":
                reference.traded(o, rem, ev[_E["other_id"]], other)
            elif name == "canceled":
                reference.canceled(o, rem)
            elif name == "amended":
                reference.amended(o, p, q, bool(ev[_E["flags"]] & 1))
        changes = reference.command_done()
        books.command_done(0)
        updates = books.take_updates()
        if changes:
            levels: dict[int, dict[int, int]] = {BUY: {}, SELL: {}}
            for c in changes:
                levels[c.side][c.price] = c.qty
            want = (
                0, reference.seq - len(changes) + 1, reference.seq,
                sorted(levels[BUY].items(), reverse=True), sorted(levels[SELL].items()),
            )  # fmt: skip
            assert updates == [want]
        else:
            assert updates == []
    assert books.seq(0) == reference.seq
    for side in (BUY, SELL):
        assert books.depth(0, side, 1000) == reference.depth(side, 1000)
        assert books.best(0, side) == reference.best(side)
        assert dict(books.queue_totals(0, side)) == reference.queue_totals(side)
        assert dict(books.queue_totals(0, side)) == dict(books.depth(0, side, 1000))
    for oid in ids:
        assert books.resting(0, oid) == reference.resting(oid)
        assert books.queue_ahead(0, oid) == reference.queue_ahead(oid)
    assert any(books.queue_ahead(0, oid) for oid in ids), "some order waits behind another"


def test_a_batch_that_is_not_whole_records_is_a_type_error() -> None:
    books = _core.VenueBooks(1)
    with pytest.raises(TypeError, match="not a whole number of 120-byte output records"):
        books.apply(np.zeros(OUTPUT_DTYPE.itemsize + 1, dtype=np.uint8))
    assert books.seq(0) == 0
