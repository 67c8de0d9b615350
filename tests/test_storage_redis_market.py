"""The external venues in Redis (``wintermute.service.market_redis``) against real Redis
servers: the books, trades and consolidated BBO the service publishes, read back by our reader
and by ``redis-cli``; and a Redis Cluster with replicas that loses a master while the
publisher writes: the writes resume once the replica is promoted, and the books are right."""

from __future__ import annotations

import shutil
import signal
import tempfile
import time
from decimal import Decimal
from pathlib import Path

import pytest
import redis
import redis.cluster

from storage_servers import (
    _free_port,
    cluster_ok,
    redis_prefix,
    redis_server_url,
    start_redis,
    start_redis_cluster,
)
from test_storage_redis import redis_cli
from wintermute.errors import ConfigError
from wintermute.market import VENUES
from wintermute.service.external_market import ExternalMarket
from wintermute.service.market_redis import (
    ExternalMarketSource,
    MarketPublisher,
    Update,
    redacted,
)
from wintermute.service.settings import RedisSettings, ServiceSettings
from wintermute.storage.redis_tier import Entry, RedisReader, RedisTier, venue_book_key

__all__ = ["redis_prefix", "redis_server_url"]  # fixtures, used by name


def _quiet(market: ExternalMarket, timeout_s: float = 30.0) -> None:
    """Waits until the synthetic venues replayed everything (no frame for half a second)."""
    deadline = time.monotonic() + timeout_s
    last, since = -1, time.monotonic()
    while time.monotonic() - since < 0.5:
        assert time.monotonic() < deadline, "the synthetic market did not go quiet"
        frames = sum(market.market.counters(v).get("frames", 0) for v in VENUES)
        if frames != last:
            last, since = frames, time.monotonic()
        time.sleep(0.05)


def test_venue_books_trades_and_the_consolidated_bbo_read_back_exactly(
    redis_server_url: str, redis_prefix: str
) -> None:
    with ExternalMarket(pace="fast", steps=600, every_s=0.05, restart_after_s=3600) as market:
        market.wait_live(timeout=30)
        tier = RedisTier(redis_server_url, prefix=redis_prefix)
        publisher = MarketPublisher(tier, ExternalMarketSource(market, prefix=redis_prefix))
        assert publisher.round()  # while the venues still stream
        _quiet(market)
        assert publisher.round()  # the final state
        reader = RedisReader(redis_server_url, prefix=redis_prefix)
        m = market.market
        for venue in VENUES:
            book = m.book(venue, depth=10)
            stored = reader.venue_book("BTC-USD", venue)
            assert stored is not None
            assert (stored["venue"], stored["symbol"], stored["state"]) == (
                venue, book["symbol"], book["state"]
            )  # fmt: skip
            assert stored["bids"] == book["bids"]
            assert stored["asks"] == book["asks"]
            assert stored["bids"]
            assert stored["asks"]
            # The trades: every one in the ring, once, in order (nothing left out between
            # the two rounds, none written twice).
            ring = [e for e in m.events(venue, last=1024) if e["kind"] == "trade"]
            trades = reader.venue_trades("BTC-USD", venue, 1000)
            assert [t["seq"] for t in trades][-len(ring) :] == [e["seq"] for e in ring]
            assert [(t["price"], t["qty"]) for t in trades][-len(ring) :] == [
                (e["price"], e["qty"]) for e in ring
            ]
            # redis-cli, a client we did not write, reads the exact decimal text.
            key = venue_book_key(redis_prefix, "BTC-USD", venue)
            bid = redis_cli(redis_server_url, "HGET", key, "bid").strip()
            assert bid == f'"{format(book["bids"][0][0], "f")}"'
        view = m.consolidated("BTC-USD", depth=1)
        bbo = reader.consolidated("BTC-USD")
        assert bbo is not None
        assert (bbo["bid"], bbo["ask"]) == view["bbo"]
        assert bbo["mid"] == view["mid"]
        assert bbo["microprice"] == view["microprice"]
        assert bbo["bid_qty"] == view["bids"][0]["total"]
        assert bbo["bid_venues"] == view["bids"][0]["venues"]
        assert set(bbo["bid_venues"]) <= {"coinbase", "kraken"}  # Binance's USDT book: apart
        ticks = reader.consolidated_ticks("BTC-USD", 10)
        assert (ticks[-1]["bid"], ticks[-1]["ask"]) == view["bbo"]
        all_fields = redis_cli(
            redis_server_url, "HGETALL", f"{redis_prefix}:{{BTC-USD}}:consolidated"
        )
        assert f'"{format(view["mid"], "f")}"' in all_fields
        reader.close()
        tier.close()


class Rounds:
    """A deterministic source: each round, every symbol's book hash says the round and a
    price derived from it, and its stream gets one entry of the round."""

    def __init__(self, symbols: list[str], prefix: str) -> None:
        self.symbols, self.prefix = symbols, prefix
        self.round = 0

    def fields(self, r: int) -> dict[str, str | int]:
        return {"round": r, "bid": str(Decimal(100) + Decimal(r % 97) / 100)}

    def __call__(self) -> Update:
        self.round += 1
        r = self.round
        hashes: dict[str, Entry] = {
            venue_book_key(self.prefix, s, "x"): self.fields(r) for s in self.symbols
        }
        entries: list[tuple[str, Entry]] = [
            (f"{self.prefix}:{{{s}}}:venue:x:trades", {"round": r}) for s in self.symbols
        ]
        return hashes, entries


def _wait(what: str, until: float, check: object) -> None:
    assert callable(check)
    while not check():
        assert time.monotonic() < until, f"timed out waiting for {what}"
        time.sleep(0.05)


def test_writes_resume_after_a_cluster_master_fails_over_and_the_books_are_right() -> None:
    nodes_dir = Path(tempfile.mkdtemp(prefix="wm-redis-failover-"))
    urls, procs = start_redis_cluster(nodes_dir, masters=3, replicas=1, node_timeout_ms=1000)
    cli = shutil.which("redis-cli")
    assert cli is not None
    symbols = [f"SYM{i}-USD" for i in range(12)]
    source = Rounds(symbols, "wm")
    tier = RedisTier(urls[0], cluster=True, timeout_s=0.5, retry_s=0.05, stream_len=100_000)
    publisher = MarketPublisher(tier, source, every_s=0.02)
    try:
        publisher.start()
        deadline = time.monotonic() + 30
        _wait("the first rounds", deadline, lambda: publisher.published >= 20)
        # The master serving the first symbol's slot dies (SIGKILL), with the publisher on.
        probe = redis.cluster.RedisCluster.from_url(urls[1])
        node = probe.get_node_from_key(venue_book_key("wm", symbols[0], "x"))  # type: ignore[no-untyped-call]
        probe.close()
        victim = next(i for i, u in enumerate(urls) if u.endswith(f":{node.port}/0"))
        assert victim < 3  # a master (the first three of the create command)
        procs[victim].send_signal(signal.SIGKILL)
        procs[victim].wait(10)
        killed_at = time.monotonic()
        failed_before = publisher.failed
        deadline = killed_at + 30
        _wait("a failed write", deadline, lambda: publisher.failed > failed_before)
        # The replica takes over: the cluster is whole again, without the dead node ...
        others = [int(u.rsplit(":", 1)[1].split("/")[0]) for i, u in enumerate(urls) if i != victim]
        _wait("the replica's promotion", deadline, lambda: cluster_ok(cli, others[0], 3))
        # ... and the publisher's writes go on: rounds succeed again, none failing at the end.
        resumed_from = publisher.published
        _wait("the writes to resume", deadline, lambda: publisher.published >= resumed_from + 20)
        resumed_s = time.monotonic() - killed_at
        publisher.stop()
        assert publisher.round(), "a round after the failover failed"
        assert publisher.source_errors == 0
        # Nothing wrong in the books: every hash holds the last round exactly, on the new
        # topology; each stream has rounds in order, none twice, ending with the last.
        reader = redis.cluster.RedisCluster.from_url(
            f"redis://127.0.0.1:{others[0]}/0", decode_responses=True
        )
        last = source.round
        expected = {k: str(v) for k, v in source.fields(last).items()}
        for s in symbols:
            assert reader.hgetall(venue_book_key("wm", s, "x")) == expected, s
            stream: list[tuple[str, dict[str, str]]] = reader.xrange(  # type: ignore[assignment]
                f"wm:{{{s}}}:venue:x:trades"
            )
            rounds = [int(f["round"]) for _, f in stream]
            assert rounds == sorted(set(rounds)), s
            assert rounds[-1] == last, s
        reader.close()
        assert resumed_s < 30
    finally:
        publisher.stop()
        tier.close()
        for p in procs:
            if p.poll() is None:
                p.kill()
            p.wait()
        shutil.rmtree(nodes_dir, ignore_errors=True)


def test_with_redis_away_a_round_fails_fast_and_the_newest_state_lands_when_it_returns() -> None:
    tmp = Path(tempfile.mkdtemp(prefix="wm-redis-away-"))
    port = _free_port()
    url = f"redis://127.0.0.1:{port}/0"
    source = Rounds(["BTC-USD"], "wm")
    tier = RedisTier(url, timeout_s=0.2, retry_s=0.0)
    publisher = MarketPublisher(tier, source)
    try:
        started = time.monotonic()
        assert not any(publisher.round() for _ in range(5))  # nobody listens on the port
        assert time.monotonic() - started < 5
        assert (publisher.failed, publisher.published) == (5, 0)
        assert tier.down
        url2, server = start_redis(tmp, port=port)
        try:
            assert publisher.round()
            assert not publisher.tier.down  # (not ``tier.down``: mypy holds it True here)
            reader = redis.Redis.from_url(url2, decode_responses=True)
            stored = reader.hgetall(venue_book_key("wm", "BTC-USD", "x"))
            assert stored == {k: str(v) for k, v in source.fields(6).items()}  # the newest
            # The stream has only what was sent while Redis listened: round 6.
            entries: list[tuple[str, dict[str, str]]] = reader.xrange(  # type: ignore[assignment]
                "wm:{BTC-USD}:venue:x:trades"
            )
            assert [int(f["round"]) for _, f in entries] == [6]
            reader.close()
        finally:
            server.kill()
            server.wait()
    finally:
        tier.close()
        shutil.rmtree(tmp, ignore_errors=True)


def test_the_service_redis_settings_are_checked_and_urls_are_shown_without_secrets() -> None:
    s = ServiceSettings.from_dict({"redis": {"url": "redis://127.0.0.1:6379/0", "cluster": True}})
    assert s.redis == RedisSettings("redis://127.0.0.1:6379/0", cluster=True)
    assert ServiceSettings.from_dict({}).redis is None
    for bad, key in (
        ({"url": "http://x"}, "redis.url"),
        ({"url": "redis://x", "prefix": "a{b}"}, "redis.prefix"),
        ({"url": "redis://x", "every_s": 0}, "redis.every_s"),
        ({"url": "redis://x", "depth": 0}, "redis.depth"),
        ({"url": "redis://x", "cluster": "yes"}, "redis.cluster"),
        ({"url": "redis://x", "colour": 1}, "redis.colour"),
    ):
        with pytest.raises(ConfigError, match=f"service.{key}"):
            ServiceSettings.from_dict({"redis": bad})
    assert redacted("redis://user:secret@10.0.0.1:6380/2") == "redis://10.0.0.1:6380/2"
