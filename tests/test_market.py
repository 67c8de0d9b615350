"""The live market from Python over 127.0.0.1: synthetic venues (and a served recording), books,
the L1 rings (lists and numpy), latency, counters, the consolidated book, errors, stopping."""

from __future__ import annotations

import time
from decimal import Decimal
from pathlib import Path

import numpy as np
import pytest

from wintermute import errors, feeds
from wintermute.market import EVENT_DTYPE, Market

DATA = Path(__file__).resolve().parent.parent / "data"
BTC_USD = {"BTC-USD": {"coinbase": "BTC-USD", "kraken": "XBT/USD"}}


def wait_for(predicate: object, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():  # type: ignore[operator]
        assert time.monotonic() < deadline, "condition not reached in time"
        time.sleep(0.01)


@pytest.fixture(scope="module")
def drained(tmp_path_factory: pytest.TempPathFactory) -> Market:
    """Three finite synthetic venues served fast, every frame received, then stopped."""
    m = Market(pace="fast", steps=400, instruments=BTC_USD, ring_capacity=128, depth=20)
    m.wait_live(timeout=20)
    tmp = tmp_path_factory.mktemp("synth")
    synth = {
        v: feeds.synthesize(v, tmp / f"{v}.jsonl", seed=7 + i, steps=400)
        for i, v in enumerate(("binance", "coinbase", "kraken"))
    }
    wait_for(lambda: all(m.counters(v)["frames"] >= synth[v]["frames"] for v in synth))
    m.stop()
    m.synth = synth  # type: ignore[attr-defined]
    return m


def test_books_equal_the_synthetic_truth(drained: Market) -> None:
    assert not drained.running
    for venue, synth in drained.synth.items():  # type: ignore[attr-defined]
        book = drained.book(venue, depth=20)
        assert book["state"] == "live"
        want = [(Decimal(p), Decimal(q)) for p, q in synth["bids"][:20]]
        assert book["bids"] == want
        assert [str(p) for p, _ in book["asks"][:3]] == [p for p, _ in synth["asks"][:3]]
        assert book["stats"]["resyncs"] == 0
        assert book["stats"]["trades"] == synth["trades"]
    assert drained.streams() == [
        ("binance", "BTCUSDT"),
        ("coinbase", "BTC-USD"),
        ("kraken", "XBT/USD"),
    ]
    assert drained.top("kraken")[0] == Decimal(drained.synth["kraken"]["bids"][0][0])  # type: ignore[attr-defined]


def test_l1_ring_lists_and_numpy(drained: Market) -> None:
    events = drained.events("kraken")
    assert len(events) == 128
    assert [e["seq"] for e in events] == list(range(events[0]["seq"], events[0]["seq"] + 128))
    kinds = {e["kind"] for e in events}
    assert {"delta", "bbo"} <= kinds
    for e in events:
        assert e["receive_ts"] > 0
        assert e["normalized_ts"] >= e["receive_ts"]
        if e["kind"] == "delta":
            assert e["side"] in ("bid", "ask")
            assert isinstance(e["price"], Decimal)
            assert e["exchange_ts"] is not None
        if e["kind"] == "bbo":
            assert e["bid"] is not None
            assert e["ask"] is not None
            assert e["bid"][0] < e["ask"][0]
        if e["kind"] == "trade":
            assert e["aggressor"] in ("buy", "sell")
            assert e["qty"] is not None
            assert e["qty"] > 0
    last = drained.events("kraken", last=5)
    assert last == events[-5:]
    arr = drained.events_array("kraken", last=5)
    assert arr.dtype == EVENT_DTYPE
    assert len(arr) == 5
    assert list(arr["seq"]) == [e["seq"] for e in last]
    for rec, e in zip(arr, last, strict=True):
        assert (rec["price"] or None) == (None if e["price"] is None else str(e["price"]))
    trades = [e for e in drained.events("coinbase") if e["kind"] == "trade"]
    assert trades
    assert all(e["trade_id"] > 0 for e in trades)
    assert isinstance(np.asarray(arr["receive_ts"])[0], np.int64)


def test_events_carry_the_venues_own_numbers_or_none(drained: Market) -> None:
    binance = drained.events("binance")
    assert {e["kind"] for e in binance} >= {"delta", "trade"}
    assert all(isinstance(e["venue_seq"], int) for e in binance)
    for e in binance:
        if e["kind"] == "trade":  # the aggTrade's ``a``
            assert e["venue_seq"] == e["trade_id"]
    book = [e["venue_seq"] or 0 for e in binance if e["kind"] != "trade"]
    assert book == sorted(book)  # diff update ids only grow on a live book
    coinbase = [e for e in drained.events("coinbase") if e["kind"] == "trade"]
    assert all(e["venue_seq"] == e["trade_id"] for e in coinbase)  # the synthetic ``sequence``
    assert all(e["venue_seq"] is None for e in drained.events("coinbase") if e["kind"] != "trade")
    assert all(e["venue_seq"] is None for e in drained.events("kraken"))
    assert list(drained.events_array("kraken", last=3)["venue_seq"]) == [-1, -1, -1]
    arr = drained.events_array("binance", last=3)
    assert list(arr["venue_seq"]) == [e["venue_seq"] for e in binance[-3:]]


def test_latency_and_counters(drained: Market) -> None:
    for venue in ("binance", "coinbase", "kraken"):
        lat = drained.latency(venue)
        rx = lat["receive_to_normalized"]
        assert isinstance(rx, dict)
        assert rx["count"] >= drained.counters(venue)["frames"] - 5
        assert 0 < rx["p50_ns"] <= rx["p99_ns"] <= rx["p999_ns"] <= rx["max_ns"]
        ex = lat["exchange_to_receive"]
        assert isinstance(ex, dict)
        assert ex["count"] > 0
        c = drained.counters(venue)
        assert c["connections"] == 1
        assert c["running"] is False
        assert c["error"] is None


def test_consolidated_book(drained: Market) -> None:
    c = drained.consolidated("BTC-USD", depth=5)
    assert len(c["bids"]) <= 5
    assert len(c["asks"]) <= 5
    for side in ("bids", "asks"):
        for level in c[side]:
            assert level["total"] == sum(level["venues"].values())
            assert set(level["venues"]) <= {"coinbase", "kraken"}
    assert c["bbo"] == (c["bids"][0]["price"], c["asks"][0]["price"])
    kraken, coinbase = drained.top("kraken"), drained.top("coinbase")
    assert kraken[0] is not None
    assert kraken[1] is not None
    assert coinbase[0] is not None
    assert coinbase[1] is not None
    crossed = kraken[0] > coinbase[1] or coinbase[0] > kraken[1]
    locked = kraken[0] == coinbase[1] or coinbase[0] == kraken[1]
    kind = c["cross"]["kind"]
    assert kind == ("crossed" if crossed else "locked" if locked else "none")
    if not crossed and not locked:
        assert c["bbo"][0] < c["microprice"] < c["bbo"][1]
    with pytest.raises(errors.FeedError, match='instrument="ETH-USD" is not mapped'):
        drained.consolidated("ETH-USD")


def test_binance_on_integer_books(tmp_path: Path) -> None:
    # The same synthetic Binance market as in the decimal books (seed 7), on ticks and lots:
    # the published levels are exact decimals equal in value to the venue's book, and the
    # consolidated book of an instrument mapped to it works the same.
    scales = {"BTCUSDT": ("0.01", "0.00000001")}
    synth = feeds.synthesize("binance", tmp_path / "b.jsonl", seed=7, steps=300)
    with Market(
        ["binance"], pace="fast", steps=300, scales=scales, depth=20,
        instruments={"BTC-USDT": {"binance": "BTCUSDT"}},
    ) as m:  # fmt: skip
        m.wait_live(timeout=20)
        wait_for(lambda: m.counters("binance")["frames"] >= synth["frames"])
        m.stop()
        book = m.book("binance", depth=20)
        assert (book["state"], book["stats"]["errors"], book["stats"]["gaps"]) == ("live", 0, 0)
        assert book["bids"] == [(Decimal(p), Decimal(q)) for p, q in synth["bids"][:20]]
        assert book["asks"] == [(Decimal(p), Decimal(q)) for p, q in synth["asks"][:20]]
        assert book["stats"]["trades"] == synth["trades"]
        assert any(e["kind"] == "delta" for e in m.events("binance"))
        c = m.consolidated("BTC-USDT", depth=3)
        assert c["bbo"] == (book["bids"][0][0], book["asks"][0][0])
    with pytest.raises(errors.FeedError, match="binance_scales"):
        Market(["binance"], pace="fast", steps=50, scales={"ETHUSDT": ("0.01", "0.01")})
    with pytest.raises(errors.FeedError, match="binance, which is not a venue"):
        Market(["kraken"], scales=scales)


def test_mapping_errors_are_clear() -> None:
    # BTCUSDT is quoted in Tether: mapping it into a USD instrument is allowed only explicitly,
    # and a leg must be subscribed.
    with pytest.raises(errors.FeedError, match="venue=binance symbol=BTC-USD: not subscribed"):
        Market(["binance"], instruments={"BTC-USD": {"binance": "BTC-USD"}}, pace="fast")
    with pytest.raises(errors.FeedError, match="expected one of"):
        Market(["bitmex"])
    with Market(["kraken"], pace="fast", steps=50) as m:
        with pytest.raises(errors.FeedError, match="no such stream"):
            m.book("kraken", "ETH/USD")
        with pytest.raises(errors.FeedError, match="not part of this market"):
            m.book("binance")


def settled(m: Market, venues: tuple[str, ...]) -> None:
    """Waits until every venue is live and no frame arrived for 0.3 s (a fast, finite market)."""
    m.wait_live(timeout=20)
    last: list[int] = []
    for _ in range(200):
        now = [m.counters(v)["frames"] for v in venues]
        if now == last:
            return
        last = now
        time.sleep(0.3)
    raise AssertionError("frames kept coming")


def test_latent_venues_agree_and_an_injected_dislocation_crosses_them() -> None:
    venues = ("coinbase", "kraken")
    with Market(venues, pace="fast", steps=600, instruments=BTC_USD, latent=True) as m:
        settled(m, venues)
        view = m.consolidated("BTC-USD")
        tops = {v: m.top(v) for v in venues}
    assert view["cross"]["kind"] == "none"
    mids = {v: (bid + ask) / 2 for v, (bid, ask) in tops.items()}  # type: ignore[operator]
    assert abs(mids["coinbase"] - mids["kraken"]) < Decimal("0.5"), mids
    # Kraken $3 above the latent price for the whole session: its bid crosses Coinbase's ask.
    jump = ("kraken", 0.0, 3600.0, "3")
    with Market(
        venues, pace="fast", steps=600, instruments=BTC_USD, latent=True, dislocation=jump
    ) as m:
        settled(m, venues)
        cross = m.consolidated("BTC-USD")["cross"]
    assert (cross["kind"], cross["bid_venue"]) == ("crossed", "kraken")
    assert cross["ask_venue"] == "coinbase"
    with pytest.raises(errors.FeedError, match="not a synthetic venue"):
        Market(["coinbase"], latent=True, dislocation=("kraken", 0.0, 1.0, "1"))


def test_a_served_recording_through_endpoints() -> None:
    path = DATA / feeds.RECORDINGS["kraken"]
    server = feeds.ReplayServer(path, pace="fast", seconds=30)
    with Market(
        ["kraken"],
        endpoints={"kraken": server.ws_url},
        symbols={"kraken": ["XBT/USD", "DASH/EUR"]},
        ring_capacity=16,
    ) as m:
        m.wait_live(timeout=20)
        wait_for(lambda: m.book("kraken", "XBT/USD")["stats"]["checksum_ok"] > 100)
        assert m.book("kraken", "XBT/USD")["stats"]["checksum_bad"] == 0
        assert len(m.events("kraken", "XBT/USD")) == 16
        with pytest.raises(errors.FeedError, match="name one"):
            m.book("kraken")


def test_unreachable_endpoint_raises_on_wait() -> None:
    with Market(
        ["coinbase"],
        endpoints={"coinbase": "ws://127.0.0.1:9"},
        symbols={"coinbase": ["BTC-USD"]},
        max_attempts=1,
    ) as m:
        with pytest.raises(errors.FeedError, match="url=coinbase"):
            m.wait_live(timeout=10)
        assert m.counters("coinbase")["error"]


def test_module_docstring_example_runs() -> None:
    import doctest

    import wintermute.market

    result = doctest.testmod(wintermute.market, optionflags=doctest.ELLIPSIS)
    assert result.attempted > 0
    assert result.failed == 0
