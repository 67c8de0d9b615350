"""``wintermute bench feeds``: the L2 workload, the JSON document and the peers' cross-checks."""

from __future__ import annotations

import json
from collections.abc import Callable
from decimal import Decimal

import numpy as np
import pytest

from wintermute.bench import feeds
from wintermute.bench.feeds_peers.json_books import JSON_PEERS, JsonPeer, Message, Tops
from wintermute.cli import main


def test_workload_is_seeded_uncrossed_and_near_two_thousand_levels() -> None:
    a, b = feeds.generate(50_000, seed=3), feeds.generate(50_000, seed=3)
    assert np.array_equal(a.prices, b.prices)
    assert not np.array_equal(a.prices, feeds.generate(50_000, seed=4).prices)
    assert len(a) == 50_000
    bids: dict[int, int] = {}
    asks: dict[int, int] = {}
    for side, price, qty in a.updates():
        levels = bids if side == 0 else asks
        if qty:
            levels[price] = qty
        else:
            levels.pop(price, None)
        if bids and asks:
            assert max(bids) < min(asks)
    assert 1_000 < len(bids) + len(asks) <= 2 * feeds.WINDOW
    assert 0.15 < a.describe()["deletes"] / len(a) < 0.35


@pytest.mark.slow
def test_bench_feeds_json_smoke(
    capsys: pytest.CaptureFixture[str], require: Callable[[str], None]
) -> None:
    for module in (
        "nautilus_trader",
        "order_book",
        "sortedcontainers",
        "cryptofeed",
        "ccxt",
        "hftbacktest",
    ):
        require(module)
    assert main(["bench", "feeds", "--json", "--updates", "5000"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert doc["workload"]["updates"] == 5000
    rows = {r["system"]: r for r in doc["results"]}
    for system in (
        "l2/wintermute-native",
        "l2/wintermute-batch",
        "l2/wintermute-per-call",
        "l2/nautilus_trader",
        "l2/order-book",
        "l2/sortedcontainers",
        "l2/hftbacktest",
        "json/binance/wintermute",
        "json/binance/wintermute-ticks",
        "json/binance/wintermute-tick-feed",
        "json/binance/cryptofeed",
        "json/binance/ccxt",
        "json/coinbase/wintermute",
        "json/coinbase/ccxt",
        "json/kraken/wintermute",
        "json/kraken/cryptofeed",
    ):
        assert rows[system]["ops_per_s"] > 0, system
    assert rows["l2/wintermute-per-call"]["p99_ns"] is not None
    assert rows["l2/wintermute-native"]["p50_ns"] is None
    # Every peer ended with Wintermute's best prices; no recorded message was rejected.
    assert not [n for n in doc["notes"] if "MISMATCH" in n]
    assert all(" 0 rejected" in n for n in doc["notes"] if "rejected" in n)


def test_bench_feeds_one_system_table(capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "feeds", "--updates", "2000", "--system", "wintermute-batch"]) == 0
    out = capsys.readouterr().out
    assert "l2/wintermute-batch" in out
    assert "json/" not in out


def _recording(venue: str) -> list[Message]:
    from wintermute._core import feeds_recorded_messages

    root = feeds.data_dir()
    assert root is not None, "the repository's data/ folder is missing"
    return feeds_recorded_messages(str(root / feeds.RECORDINGS[venue]))


def _wintermute_tops(venue: str, messages: list[Message]) -> Tops:
    from wintermute._core import feeds_replay_timed

    out = feeds_replay_timed(venue, messages, repeat=1)
    assert out["errors"] == 0
    return {
        s: (
            None if bid is None else format(Decimal(bid).normalize(), "f"),
            None if ask is None else format(Decimal(ask).normalize(), "f"),
        )
        for s, (bid, ask) in out["tops"].items()
    }


def test_tick_feed_replay_ends_with_the_decimal_tops() -> None:
    from wintermute import errors
    from wintermute._core import feeds_replay_timed

    messages = _recording("binance")
    want = _wintermute_tops("binance", messages)
    out = feeds_replay_timed("binance", messages, repeat=2, scales=feeds.BINANCE_INSTRUMENTS)
    assert out["errors"] == 0
    assert out["messages"] == 2 * len(messages)
    assert out["updates"] > 3 * 2_000  # warm-up + 2 timed passes
    # Canonical text already (ticks x tick size): equal to the normalized decimal tops.
    assert {s: tuple(t) for s, t in out["tops"].items()} == want
    with pytest.raises(errors.FeedError, match="binance only"):
        feeds_replay_timed("kraken", [], scales=feeds.BINANCE_INSTRUMENTS)
    with pytest.raises(errors.FeedError, match="tick_size"):
        feeds_replay_timed("binance", [], scales=[("BTCUSDT", "0", "1")])


@pytest.mark.parametrize(("venue", "name"), [("coinbase", "ccxt"), ("kraken", "cryptofeed")])
def test_json_peer_ends_with_wintermute_tops(
    venue: str, name: str, require: Callable[[str], None]
) -> None:
    require(name)
    (peer,) = [p for p in JSON_PEERS if p.venue == venue and p.name == name]
    messages = _recording(venue)
    want = _wintermute_tops(venue, messages)
    seconds, tops = peer.run(messages)
    assert seconds > 0
    assert len(want) == 10
    assert tops == want


def test_cryptofeed_kraken_checks_the_recorded_checksums(require: Callable[[str], None]) -> None:
    require("cryptofeed")
    from cryptofeed.exceptions import BadChecksum

    (peer,) = [p for p in JSON_PEERS if p.venue == "kraken" and p.name == "cryptofeed"]
    messages = _recording("kraken")
    # The first update frame whose first object carries the checksum, with one digit changed.
    at = next(
        i
        for i, (url, text) in enumerate(messages)
        if url is None and text.startswith("[") and '"c":"' in text and '"as":' not in text
    )
    url, text = messages[at]
    head, tail = text.split('"c":"', 1)
    digit = "1" if tail[0] != "1" else "2"
    corrupted = [*messages[:at], (url, f'{head}"c":"{digit}{tail[1:]}')]
    peer.run(messages[: at + 1])  # the untouched prefix passes
    with pytest.raises(BadChecksum):
        peer.run(corrupted)


def test_json_peer_disagreement_and_left_out_peers_are_reported(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    def wrong_tops(messages: object) -> tuple[float, Tops]:
        return 1.0, {"XBT/USD": ("1", "2")}

    fake = JsonPeer("fake", "kraken", "json", "-", "json/kraken/fake: wrong on purpose", wrong_tops)
    monkeypatch.setattr(feeds, "JSON_PEERS", (fake,))
    report = feeds.FeedsReport({})
    feeds.run_json(report, ["json", "fake", "cryptofeed", "ccxt"], repeat=1)
    assert "json/kraken/fake" in {r.system for r in report.rows}
    (note,) = [n for n in report.notes if n.startswith("json/kraken/fake")]
    assert "MISMATCH" in note
    assert any(n.startswith("json/coinbase/cryptofeed left out: ") for n in report.notes)
    assert any(n.startswith("json/kraken/ccxt left out: ") for n in report.notes)
