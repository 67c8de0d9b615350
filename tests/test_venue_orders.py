"""The venue's order table in Rust (``wintermute._core.VenueOrders``) against a Python reference
of the bookkeeping the venue did in Python before (``Reference`` below, transcribed from it:
states, filled quantity, quote, holds, open orders, history, client order ids, answers), over
random command streams through a real engine: limit orders (some with client order ids, some
repeated), IOC and FOK orders, post-only orders that cross, cancels, amends and mass cancels.
The engine's events go to the table as the pipeline's output records (``apply``), so matching
answers to commands is tested too. The venue itself is tested through its APIs
(``test_service_venue.py``); the table's cases one by one in Rust (``venue_orders_tests.rs``).
"""

from __future__ import annotations

import collections
import random
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from wintermute import Engine, _core, batch, errors
from wintermute.config import InstrumentConfig
from wintermute.pipeline import OUTPUT_DTYPE

BUY, SELL = batch.BUY, batch.SELL
_KIND = {name: code for code, name in batch.KIND_NAMES.items()}
_EVENT_FIELDS = [n for n in batch.EVENT_DTYPE.names or () if not n.startswith("_")]
_OPEN = ("new", "partially_filled")
_TIFS = {"gtc": batch.GTC, "ioc": batch.IOC, "fok": batch.FOK, "post_only": batch.GTC}


def _hold(side: int, lots: int, price: int) -> int:
    return lots * price if side == BUY else lots


@dataclass
class _Order:
    order_id: int
    cid: str
    account: int
    side: int
    tif: str
    price: int
    qty: int
    held: int
    filled: int = 0
    quote: int = 0
    status: str = "pending"
    reason: str | None = None


class Reference:
    """The venue's order bookkeeping as it was in Python (integers, one command at a time)."""

    def __init__(self, history: int) -> None:
        self.history = history
        self.orders: dict[int, _Order] = {}
        self.by_client: dict[tuple[int, str], int] = {}
        self.open: dict[int, dict[int, None]] = {}
        self.account_orders: dict[int, collections.deque[int]] = {}
        self.closed: collections.deque[int] = collections.deque()
        self.unlocked: collections.Counter[int] = collections.Counter()
        self.next_id = 1

    def place(
        self, account: int, cid: str | None, side: int, tif: str, price: int, qty: int
    ) -> int:
        oid = self.next_id
        self.next_id += 1
        if cid is None:
            cid = f"wm-{oid}"
            while (account, cid) in self.by_client:
                cid += "-"
        self.orders[oid] = _Order(oid, cid, account, side, tif, price, qty, _hold(side, qty, price))
        self.by_client[(account, cid)] = oid
        return oid

    def command(self, kind: str, order: _Order | None, events: list[dict[str, int]]) -> Any:
        """Applies one command's events; returns its answer: a state, a list, or an error."""
        error: str | None = None
        canceled: list[_Order] = []
        for ev in events:
            k, o = ev["kind"], self.orders.get(ev["order_id"])
            if k == _KIND["accepted"] and o is not None and o.status == "pending":
                o.status = "new"
                self.open.setdefault(o.account, {})[o.order_id] = None
                self.account_orders.setdefault(o.account, collections.deque()).append(o.order_id)
            elif k == _KIND["trade"]:
                for oid in (ev["order_id"], ev["other_id"]):
                    if (t := self.orders.get(oid)) is not None:
                        self._fill(t, ev["price"], ev["qty"])
            elif k == _KIND["canceled"] and o is not None:
                if ev["remaining"] == 0 and o.status in _OPEN:
                    unfilled = batch.CANCEL_REASONS.get(ev["reason"]) == "UNFILLED"
                    self._finish(o, "expired" if unfilled else "canceled")
                    if kind == "mass":
                        canceled.append(o)
            elif k == _KIND["amended"] and o is not None:
                o.price, o.qty = ev["price"], o.filled + ev["qty"]
                hold = _hold(o.side, ev["qty"], o.price)
                self.unlocked[o.account] += o.held - hold
                o.held = hold
            elif k == _KIND["rejected"]:
                reason = batch.REJECT_REASONS[ev["reason"]]
                if reason == "FOK_NOT_FILLABLE" and kind == "place" and order is not None:
                    self._finish(order, "expired")
                else:
                    error = f"BOOK_REJECTED:{reason}"
        if error is not None:
            if kind == "place" and order is not None and order.status == "pending":
                order.status, order.reason = "rejected", error.split(":")[1]
                self._close(order)
            return error
        if kind == "mass":
            return [self.view(o) for o in canceled]
        assert order is not None
        if kind == "cancel" and order.status in _OPEN:
            return "UNKNOWN_ORDER"
        return self.view(order)

    def _fill(self, o: _Order, price: int, lots: int) -> None:
        per_unit = o.price * lots if o.side == BUY else lots
        o.held -= min(o.held, per_unit)
        o.filled += lots
        o.quote += price * lots
        if o.filled >= o.qty:
            self._finish(o, "filled")
        else:
            o.status = "partially_filled"

    def _finish(self, o: _Order, status: str) -> None:
        o.status = status
        if o.order_id not in self.open.get(o.account, {}):
            self.account_orders.setdefault(o.account, collections.deque()).append(o.order_id)
        self._close(o)

    def _close(self, o: _Order) -> None:
        if o.held:
            self.unlocked[o.account] += o.held
            o.held = 0
        self.open.get(o.account, {}).pop(o.order_id, None)
        if o.status == "rejected":
            self.by_client.pop((o.account, o.cid), None)
        self.closed.append(o.order_id)
        while len(self.closed) > self.history:
            old = self.orders.pop(self.closed.popleft(), None)
            if old is not None:
                self.by_client.pop((old.account, old.cid), None)
                ids = self.account_orders.get(old.account)
                if ids and ids[0] == old.order_id:
                    ids.popleft()

    @staticmethod
    def view(o: _Order) -> tuple[Any, ...]:
        return (o.order_id, o.cid, o.account, o.side, o.tif, o.price, o.qty, o.filled, o.quote,
                o.status, o.reason, o.held)  # fmt: skip


def _view(v: tuple[Any, ...]) -> tuple[Any, ...]:
    """The Rust view's fields the reference has."""
    return (v[0], v[1], v[2], v[4], v[6], v[7], v[8], v[9], v[10], v[11], v[12], v[15])


def _records(seq: int, events: npt.NDArray[Any]) -> npt.NDArray[Any]:
    """A command's events as the pipeline's output records of gateway 0."""
    out = np.zeros(max(len(events), 1), dtype=OUTPUT_DTYPE)
    if len(events) == 0:
        out["outcome"] = 1  # no_events
    for name in _EVENT_FIELDS:
        out[name][: len(events)] = events[name]
    out["outcome"][: len(events)][events["kind"] == _KIND["rejected"]] = 2  # refused
    out["command_seq"], out["gateway"] = seq, 0
    out["last"][-1] = 1
    return out


def _answers(effects: list[tuple[Any, ...]]) -> list[Any]:
    out: list[Any] = []
    for fx in effects:
        if fx[0] != 4:
            continue
        _, _, payload, error, _, _ = fx
        if error is not None:
            code, _, reason = error
            out.append(f"{code}:{reason}" if code == "BOOK_REJECTED" else code)
        elif isinstance(payload, list):
            out.append([_view(v) for v in payload])
        else:
            out.append(_view(payload))
    return out


@pytest.mark.parametrize("seed", [1, 2, 3, 4, 5])
def test_the_rust_table_matches_the_python_reference_on_random_engine_flows(seed: int) -> None:
    rng = random.Random(seed)
    engine = Engine()
    engine.add_instrument(InstrumentConfig("X-USD", "1", "1", "1", "1000", "1", "100000"))
    history = 40  # small, so that old final orders are forgotten on the way
    ref, table = Reference(history), _core.VenueOrders(1, 0, history)
    unlocked: collections.Counter[int] = collections.Counter()
    seen: collections.Counter[str] = collections.Counter()
    for seq in range(1, 1201):
        live = [o for o in ref.orders.values() if o.status in _OPEN]
        r = rng.random()
        order: _Order | None = None
        if r < 0.12 and live:
            kind, order = "cancel", rng.choice(live)
            cmd = batch.cancels(order.order_id)
        elif r < 0.24 and live:
            kind, order = "amend", rng.choice(live)
            cmd = np.zeros(1, dtype=batch.COMMAND_DTYPE)
            cmd["kind"], cmd["order_id"] = batch.AMEND, order.order_id
            cmd["qty"], cmd["price"] = rng.randint(1, 9), 100 + rng.randint(-3, 3)
            cmd["flags"] = batch.FLAG_HAS_QTY | (batch.FLAG_HAS_PRICE if rng.random() < 0.5 else 0)
        elif r < 0.26:
            kind, account = "mass", rng.randint(1, 3)
            cmd = np.zeros(1, dtype=batch.COMMAND_DTYPE)
            cmd["kind"], cmd["account"] = batch.MASS_CANCEL, account
        else:
            kind = "place"
            account, side = rng.randint(1, 3), rng.choice((BUY, SELL))
            tif = rng.choice(("gtc",) * 6 + ("ioc", "fok", "post_only"))
            price, qty = 100 + rng.randint(-4, 4), rng.randint(1, 9)
            cid = rng.choice((None, None, f"c{rng.randint(1, 60)}"))
            if cid is not None and (account, cid) in ref.by_client:
                with pytest.raises(errors.WintermuteError) as e:
                    table.place(account, cid, 0, side, "limit", tif, price, qty, 0, 0)
                assert e.value.reason == "DUPLICATE_CLIENT_ORDER_ID"
                seen["duplicate"] += 1
                continue
            oid = ref.place(account, cid, side, tif, price, qty)
            got_id, got_cid = table.place(
                account, cid, 0, side, "limit", tif, price, qty, _hold(side, qty, price), 0
            )
            assert (got_id, got_cid) == (oid, ref.orders[oid].cid)
            order = ref.orders[oid]
            cmd = batch.new_orders(
                order_id=oid, side=side, price=price, qty=qty, account=account,
                tif=_TIFS[tif], post_only=int(tif == "post_only"),
            )  # fmt: skip
        table.expect(seq, kind, None if order is None else order.order_id, False)
        events = engine.submit_batch(0, cmd)
        want = ref.command(kind, order, [dict(zip(_EVENT_FIELDS, e, strict=False)) for e in
                                          events[_EVENT_FIELDS].tolist()])  # fmt: skip
        effects = table.apply(_records(seq, events).view(np.uint8), seq)
        assert _answers(effects) == [want], f"command {seq} ({kind})"
        for fx in effects:
            if fx[0] == 2:
                unlocked[fx[1]] += fx[4]
        seen[kind if not isinstance(want, str) else want.split(":")[0]] += 1
    assert table.waiting() == []
    nonzero = {a: u for a, u in unlocked.items() if u}
    assert nonzero, "holds were given back"
    assert nonzero == {a: u for a, u in ref.unlocked.items() if u}
    assert sorted(ref.orders) == sorted(
        oid for oid in range(1, ref.next_id) if table.order(oid) is not None
    )
    for o in ref.orders.values():
        view = table.order(o.order_id)
        assert view is not None
        assert _view(view) == Reference.view(o)
    for account in (1, 2, 3):
        assert [v[0] for v in table.open_orders(account)] == list(ref.open.get(account, {}))
        history_ids = [i for i in ref.account_orders.get(account, ()) if i in ref.orders]
        assert [v[0] for v in table.history(account)] == history_ids
    assert table.open_count() == sum(len(m) for m in ref.open.values())
    # The stream went through every path.
    for path in ("place", "cancel", "amend", "mass", "BOOK_REJECTED", "duplicate"):
        assert seen[path] > 0, (path, seen)
    assert any(o.status == "expired" for o in ref.orders.values()), "IOC/FOK remainders expired"


def test_a_batch_that_is_not_whole_records_is_a_type_error_and_changes_nothing() -> None:
    table = _core.VenueOrders(1, 0, 10)
    oid, _ = table.place(1, "a", 0, BUY, "limit", "gtc", 100, 1, 100, 0)
    table.expect(1, "place", oid, False)
    with pytest.raises(TypeError, match="not a whole number of 120-byte output records"):
        table.apply(np.zeros(OUTPUT_DTYPE.itemsize + 1, dtype=np.uint8), 0)
    assert table.waiting() == [1]
    view = table.order(oid)
    assert view is not None
    assert view[11] == "pending"
    with pytest.raises(TypeError, match="kind="):
        table.expect(2, "launch", oid, False)
    with pytest.raises(errors.WintermuteError, match="tif must be"):
        table.place(1, "b", 0, BUY, "limit", "gtd", 100, 1, 100, 0)
