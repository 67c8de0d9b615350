"""``wintermute bench service``: the load test's own checks, and a short run of it."""

from __future__ import annotations

import asyncio
from decimal import Decimal

import numpy as np
import pytest
import redis

from storage_servers import redis_server_url
from wintermute.bench import service as bench_service
from wintermute.bench.service_fanout import run_fanout
from wintermute.bench.service_fanout import to_table as fanout_table
from wintermute.bench.service_load import percentiles_ms
from wintermute.bench.service_server import BENCH_SYMBOL, bench_config, verify
from wintermute.cli import build_parser
from wintermute.service.venue import Venue

__all__ = ["redis_server_url"]  # a fixture, used by name


def test_percentiles_are_the_samples_own_values() -> None:
    rng = np.random.default_rng(7)
    samples = [int(x) for x in rng.integers(1_000, 10_000_000, 5_001)]
    p = percentiles_ms(samples)
    ordered = sorted(samples)
    assert p["p50"] == ordered[2500] / 1e6
    assert p["max"] == ordered[-1] / 1e6
    assert p["p50"] <= p["p90"] <= p["p99"] <= p["p999"] <= p["max"]
    assert percentiles_ms([])["p99"] == 0.0


def test_the_check_finds_lost_changed_and_intact_orders() -> None:
    async def place(venue: Venue) -> tuple[int, int]:
        rests = await venue.place(1, BENCH_SYMBOL, "buy", "limit", Decimal("1"), Decimal("100"))
        gone = await venue.place(1, BENCH_SYMBOL, "buy", "limit", Decimal("1"), Decimal("99"))
        await venue.cancel(1, BENCH_SYMBOL, order_id=gone.order_id)
        return rests.order_id, gone.order_id

    with Venue(bench_config()) as venue:
        rests, gone = asyncio.run(place(venue))
        intact = verify(venue, [(1, rests, "new"), (1, gone, "canceled")])
        assert (intact["missing"], intact["mismatched"], intact["resting_not_in_book"]) == (0, 0, 0)
        assert intact["checked"] == 2
        lost = verify(venue, [(1, 10**9, "new"), (2, rests, "new"), (1, gone, "new")])
        assert lost["missing"] == 2  # an id the venue never gave; another account's order
        assert lost["mismatched"] == 1  # told "new", but the venue has it canceled


def test_the_cli_knows_the_service_bench() -> None:
    args = build_parser().parse_args(["bench", "service", "--seconds", "2", "--clients", "3"])
    assert (args.seconds, args.clients, args.subscribers, args.ws_buffer) == (2.0, 3, 8, 20_000)
    assert args.fanout is None
    args = build_parser().parse_args(["bench", "service", "--fanout", "100", "--updates", "50"])
    assert (args.fanout, args.updates) == (100, 50)
    for bad in (["--clients", "0"], ["--fanout", "0"]):
        with pytest.raises(SystemExit):
            build_parser().parse_args(["bench", "service", *bad])


@pytest.mark.slow
def test_a_short_fanout_run_delivers_every_update_to_every_reader() -> None:
    r = run_fanout(subscribers=5, updates=500)
    print(fanout_table(r))
    for name in ("ceiling", "per_client", "fanout"):
        phase = r[name]
        assert phase["readers_complete"] == 5, (name, phase)
        assert phase["messages_delivered"] == 5 * 500, (name, phase)
        assert (phase["gaps"], phase["closed"]) == (0, 0), (name, phase)
        assert phase["messages_per_s"] > 0
    assert r["fanout_vs_per_client"] == (
        r["fanout"]["messages_per_s"] / r["per_client"]["messages_per_s"]
    )


@pytest.mark.slow
def test_a_short_load_loses_no_order_and_drops_only_the_stalled_client() -> None:
    r = bench_service.run(seconds=5, clients=4, subscribers=3, hello_seconds=1, engine_seconds=1)
    print(bench_service.to_table(r))
    rest, ws, checked = r["rest"], r["websocket"], r["verify"]
    assert rest["places"] > 0
    assert rest["crossing_orders"] > 0
    assert set(rest["statuses"]) <= {"200", "201"}, rest["statuses"]
    assert checked["checked"] == rest["places"] + rest["crossing_orders"]
    assert (checked["missing"], checked["mismatched"], checked["resting_not_in_book"]) == (0, 0, 0)
    assert ws["gaps"] == 0
    assert ws["subscribers_closed"] == []  # the readers kept up ...
    assert ws["trades_on_tape"] >= ws["burst_trades"] > 0
    assert ws["trades_per_subscriber"] == [ws["trades_on_tape"]] * 3  # ... every trade each ...
    assert ws["stalled_client_dropped"]  # ... while the one that stopped reading was dropped
    dropped = ws["clients_dropped"]  # for its buffer, or its socket's deadline, whichever first
    assert sum(dropped.values()) == 1
    assert set(dropped) <= {"slow_consumer", "send_timeout"}
    assert r["engine_in_process"]["commands_per_s"] > 0
    assert r["client_ceiling"]["failed"] == 0
    assert (
        0
        < r["rest_vs_engine"]
        == rest["requests_per_s"] / (r["engine_in_process"]["commands_per_s"])
    )


@pytest.mark.slow
def test_the_redis_phases_publish_in_the_on_phases_only_and_leave_no_keys(
    redis_server_url: str,
) -> None:
    args = build_parser().parse_args(["bench", "service", "--redis", redis_server_url])
    assert (args.redis, args.redis_seconds) == (redis_server_url, 10.0)
    r = bench_service.run(
        seconds=2, clients=2, subscribers=1, hello_seconds=0.5, engine_seconds=0.5,
        redis_url=redis_server_url, redis_seconds=1.5,
    )  # fmt: skip
    table = bench_service.to_table(r)
    print(table)
    rp = r["redis_publisher"]
    phases = rp["phases"]
    assert [p["publisher_on"] for p in phases] == list(bench_service.REDIS_PHASES)
    for p in phases:
        assert p["requests_per_s"] > 0
        assert ("publisher" in p) == p["publisher_on"]
        if p["publisher_on"]:
            assert p["publisher"]["published"] > 0
            assert p["publisher"]["failed"] == 0
    assert rp["requests_ratio_on_vs_off"] > 0
    assert "Redis publisher on / off" in table
    client = redis.Redis.from_url(redis_server_url)
    assert list(client.scan_iter(match="wmbench*")) == []  # its scratch keys are gone
    client.close()
