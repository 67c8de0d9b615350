"""The venue's saved state file (``wintermute.service.venue_state``): the binary version 2
format reads back what was saved, part by part; a version 1 file (one JSON document) written by
the venue before version 2 still loads and the venue comes back from it whole; a damaged file
of either version is a ``JournalError`` (reason ``VENUE_STATE``) naming the file."""

from __future__ import annotations

import asyncio
import json
import shutil
import zlib
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from test_service_restart import journaled, venue_state
from wintermute import errors
from wintermute.service import venue_state as saved_states
from wintermute.service.settings import split_config
from wintermute.service.venue import Venue
from wintermute.service.venue_records import Fill, Trade

V1 = Path(__file__).parent / "fixtures" / "venue_state_v1"


def whole_state(venue: Venue) -> dict[str, Any]:
    """``venue_state`` with the kill switches and account 5's limits (``expected.json``)."""
    state: dict[str, Any] = venue_state(venue)
    state["kill_switches"] = sorted(a for a in venue.kill_switches if a is not None)
    state["limits 5"] = str(venue.limits(5))
    return state


def test_a_version_1_state_loads_and_the_venue_comes_back_whole(tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    shutil.copytree(V1 / "journal", journal)
    [old] = journal.glob("venue-*.state")
    assert old.read_bytes().startswith(b"wintermute-venue-state v1 ")
    expected = json.loads((V1 / "expected.json").read_text())
    assert expected["1"]["fills"], "the fixture traded"
    assert expected["2"]["open"], "and orders rest"
    engine_doc, settings = split_config(journaled(journal))
    with Venue(engine_doc, settings) as venue:
        assert venue.restored == 8 + 2, "loaded as of record 8, then the two records after"
        assert whole_state(venue) == expected
        # It goes on: order and trade ids continue after the saved ones.
        placed = asyncio.run(
            venue.place(1, "BTC-USD", "sell", "limit", Decimal("0.25"), Decimal("99"))
        )
        assert placed.order_id == 8
        assert placed.status == "filled"
        last = venue.trades("BTC-USD")[-1]
        assert last.trade_id == 4, last
        after = whole_state(venue)
    # Saved again at close, in version 2, and loaded back the same.
    [new] = journal.glob("venue-*.state")
    assert new.read_bytes().startswith(b"wintermute-venue-state v2 ")
    with Venue(engine_doc, settings) as venue:
        assert whole_state(venue) == after


def test_a_version_2_state_is_smaller_than_version_1_and_loads_back(tmp_path: Path) -> None:
    journal = tmp_path / "journal"
    shutil.copytree(V1 / "journal", journal)
    engine_doc, settings = split_config(journaled(journal))
    with Venue(engine_doc, settings) as venue:
        orders, ledger = venue._orders, venue._ledger
        assert len(orders.to_state_bin()) * 3 < len(orders.to_state())
        assert len(ledger.to_state_bin()) * 2 < len(ledger.to_state())
        seq = venue.save_state()
    saved = saved_states.load(journal)
    assert saved is not None
    assert saved.journal_seq >= seq
    assert isinstance(saved.body["orders"], bytes)
    tape = saved.body["tape"]["BTC-USD"]
    assert [saved_states.decode(Trade, t).trade_id for t in tape] == [1, 3]
    fills = [saved_states.decode(Fill, f) for f in saved.body["fills"][2]]
    assert [(f.client_order_id, f.qty) for f in fills] == [
        ("b", Decimal("0.500")), ("g", Decimal("0.50")), ("e", Decimal("0.250")),
    ]  # fmt: skip


def _fill(trade_id: int, fee: Decimal, cid: str) -> Fill:
    return Fill(
        trade_id, trade_id + 7, cid, 3, "BTC-USD", "sell", Decimal("100.25"), Decimal("0.001"),
        "taker", fee, "USD", 2**62 + trade_id,
    )  # fmt: skip


decimals = st.decimals(allow_nan=False, allow_infinity=False, places=8, min_value=-(10**12),
                       max_value=10**12)  # fmt: skip
texts = st.text(max_size=12)


@settings(
    max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    tape=st.lists(st.tuples(st.integers(0, 2**63 - 1), decimals, decimals, texts), max_size=20),
    fills=st.dictionaries(
        st.integers(0, 2**32 - 1), st.lists(st.tuples(decimals, texts), max_size=5), max_size=5
    ),
    blobs=st.lists(st.binary(max_size=40), min_size=3, max_size=3),
    seq=st.integers(0, 2**63 - 1),
    kills=st.lists(st.none() | st.integers(0, 2**32 - 1), unique=True, max_size=4),
)
def test_a_version_2_file_reads_back_what_was_saved(
    tmp_path: Path,
    tape: list[tuple[int, Decimal, Decimal, str]],
    fills: dict[int, list[tuple[Decimal, str]]],
    blobs: list[bytes],
    seq: int,
    kills: list[int | None],
) -> None:
    trades = [Trade(i, "BTC-USD", p, q, side, i) for i, p, q, side in tape]
    by_account = {
        a: [_fill(n, fee, cid) for n, (fee, cid) in enumerate(f)] for a, f in fills.items()
    }
    books = {s: json.dumps({"spec": {"symbol": s}, "seq": 3}) for s in ("BTC-USD", "ETH-USD")}
    body = {
        "symbols": ["BTC-USD", "ETH-USD"], "engine": books,
        "orders": blobs[0], "ledger": blobs[1], "books": blobs[2],
        "tape": {"BTC-USD": trades, "ETH-USD": []}, "fills": by_account,
        "next_trade_id": len(tape) + 1, "kill_switches": kills,
        "limits": {"5": {"max_open_orders": 4}}, "default_limits": None,
    }  # fmt: skip
    for old in tmp_path.glob("venue-*.state"):
        old.unlink()
    path = saved_states.save(tmp_path, seq, body)
    assert path.name == saved_states.state_name(seq)
    saved = saved_states.load(tmp_path)
    assert saved is not None
    assert saved.journal_seq == seq
    assert saved.path == path
    back = saved.body
    assert [saved_states.decode(Trade, t) for t in back["tape"]["BTC-USD"]] == trades
    assert back["tape"]["ETH-USD"] == []
    assert {a: [saved_states.decode(Fill, f) for f in fs] for a, fs in back["fills"].items()} == (
        by_account
    )
    assert {k: json.loads(v) for k, v in back["engine"].items()} == {
        k: json.loads(v) for k, v in books.items()
    }
    assert [back["orders"], back["ledger"], back["books"]] == blobs
    for key in ("symbols", "next_trade_id", "kill_switches", "limits", "default_limits"):
        assert back[key] == body[key], key
    # Saved again from what was read, the file is the same.
    again = saved_states.save(tmp_path, seq, {k: v for k, v in back.items() if k != "journal_seq"})
    assert again.read_bytes() == path.read_bytes()


def _saved(tmp_path: Path) -> Path:
    journal = tmp_path / "journal"
    shutil.copytree(V1 / "journal", journal)
    with Venue(*split_config(journaled(journal))):
        pass
    [path] = journal.glob("venue-*.state")
    return path


def _fails(path: Path, why: str) -> None:
    with pytest.raises(errors.JournalError, match=why) as e:
        saved_states.load(path.parent)
    assert e.value.reason == "VENUE_STATE"
    assert str(path) in str(e.value), "the error names the file"


def test_a_damaged_version_2_file_is_an_error_naming_it(tmp_path: Path) -> None:
    path = _saved(tmp_path)
    good = path.read_bytes()
    head, _, data = good.partition(b"\n")
    words = head.decode().split(" ")
    listed = words[4].removeprefix("parts=")
    parts = dict(p.split(":") for p in listed.split(","))
    assert list(parts) == ["meta", "engine", "orders", "ledger", "books", "history"]

    def header(**changed: str) -> bytes:
        fields = dict(w.split("=", 1) for w in words[2:])
        fields.update(changed)
        return (" ".join([*words[:2], *(f"{k}={v}" for k, v in fields.items())]) + "\n").encode()

    def with_crc(body: bytes, **changed: str) -> bytes:
        return header(len=str(len(body)), crc32=f"{zlib.crc32(body):08x}", **changed) + body

    cases = [
        (good.replace(b"v2", b"v3", 1), "does not start with 'wintermute-venue-state v1' or"),
        (good[:-1], "length mismatch"),
        (head + b"\n" + bytes([data[0] ^ 1]) + data[1:], "CRC mismatch"),
        (header(parts="meta:1") + data, "bad header"),
        (header(parts=listed.replace("meta", "other")) + data, "bad header"),
        (header(parts=listed.replace(",", ",x", 1)) + data, "bad header"),
    ]
    sizes = [int(s) for s in parts.values()]
    text = ",".join(
        f"{n}:{s + (i == 0)}" for i, (n, s) in enumerate(zip(parts, sizes, strict=True))
    )
    cases.append((with_crc(data, parts=text), "add up to"))
    # An engine part that is JSON but not an engine snapshot document.
    meta_size, engine_size = sizes[0], sizes[1]
    other = data[:meta_size] + b'{"bids":[]}' + data[meta_size + engine_size :]
    text = listed.replace(f"engine:{engine_size}", "engine:11")
    cases.append((with_crc(other, parts=text), "does not decode: KeyError"))
    for bad, why in cases:
        path.write_bytes(bad)
        _fails(path, why)
    # The parts' sizes move a byte from one part to the next: a part is then damaged. The
    # JSON parts and the history are read with the file; the venue's parts as it starts.
    for i, why in enumerate(
        ["does not decode", "does not decode", r"\(orders\): damaged", r"\(ledger\): damaged",
         "does not decode"]
    ):  # fmt: skip
        moved = list(sizes)
        moved[i], moved[i + 1] = moved[i] - 1, moved[i + 1] + 1
        text = ",".join(f"{n}:{s}" for n, s in zip(parts, moved, strict=True))
        path.write_bytes(header(parts=text) + data)
        with pytest.raises(errors.JournalError, match=why) as e:
            Venue(*split_config(journaled(path.parent)))
        assert e.value.reason == "VENUE_STATE"
        assert str(path) in str(e.value)
    path.write_bytes(good)
    assert saved_states.load(path.parent) is not None


def test_a_damaged_version_1_file_is_an_error_naming_it(tmp_path: Path) -> None:
    [path] = (V1 / "journal").glob("venue-*.state")
    good = path.read_bytes()
    path = tmp_path / path.name
    for bad, why in [
        (good[:-3] + b"}}}", "CRC mismatch"),
        (good[:-1], "length mismatch"),
        (good.replace(b" len=", b" size=", 1), "bad header"),
    ]:
        path.write_bytes(bad)
        _fails(path, why)
    path.write_bytes(good)
    saved = saved_states.load(tmp_path)
    assert saved is not None
    assert isinstance(saved.body["orders"], str)


def test_a_state_whose_part_is_another_is_an_error_at_start(tmp_path: Path) -> None:
    path = _saved(tmp_path)
    saved = saved_states.load(path.parent)
    assert saved is not None
    body = {k: v for k, v in saved.body.items() if k != "journal_seq"}
    saved_states.save(path.parent, saved.journal_seq, {**body, "books": body["ledger"]})
    with pytest.raises(errors.JournalError, match=r"venue state .*\(books\): the document is") as e:
        Venue(*split_config(journaled(path.parent)))
    assert e.value.reason == "VENUE_STATE"
    assert str(path) in str(e.value)
