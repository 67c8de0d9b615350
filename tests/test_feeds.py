"""Market data from Python: verify, the local replay server and the connectors over 127.0.0.1."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wintermute import errors, feeds
from wintermute.cli import main

DATA = Path(__file__).resolve().parent.parent / "data"
KRAKEN = DATA / feeds.RECORDINGS["kraken"]
BINANCE = DATA / feeds.RECORDINGS["binance"]


def tops(report: feeds.VerifyReport) -> dict[str, tuple[object, ...]]:
    keys = ("updates", "checksum_ok", "checksum_bad", "gaps", "crossed", "best_bid", "best_ask")
    return {s["symbol"]: tuple(s[k] for k in keys) for s in report["streams"]}  # type: ignore[literal-required]


def test_recorded_subscription() -> None:
    assert feeds.recorded_subscription(BINANCE) == ("binance", ["BTCUSDT", "DOTUSDT", "ETHUSDT"])
    venue, symbols = feeds.recorded_subscription(KRAKEN)
    assert venue == "kraken"
    assert "XBT/USD" in symbols
    assert len(symbols) == 10


@pytest.mark.parametrize("path", [KRAKEN, BINANCE], ids=["kraken", "binance"])
def test_watch_over_the_network_equals_offline_verify(path: Path) -> None:
    offline = feeds.verify(path)
    venue, symbols = feeds.recorded_subscription(path)
    server = feeds.ReplayServer(path, pace="fast", seconds=30)
    ticks: list[dict[str, int]] = []
    report = feeds.watch(
        venue,
        symbols,
        ws_base=server.ws_url,
        rest_base=server.rest_url,
        seconds=4,
        on_tick=lambda _report, counters: ticks.append(counters),
        tick=0.05,
    )
    assert tops(report) == tops(offline)
    assert report["counters"]["connections"] == 1
    assert report["counters"]["reconnects"] == 0
    assert ticks, "the live callback never ran"
    assert ticks[-1]["frames"] <= report["counters"]["frames"]


def test_watch_records_a_session_that_verifies_the_same(tmp_path: Path) -> None:
    venue, symbols = feeds.recorded_subscription(KRAKEN)
    server = feeds.ReplayServer(KRAKEN, pace="fast", seconds=30)
    out = tmp_path / "session.jsonl"
    report = feeds.watch(venue, symbols, ws_base=server.ws_url, seconds=3, record=out)
    assert tops(feeds.verify(out)) == tops(
        {"streams": report["streams"], "errors": report["errors"]}
    )


def test_connection_refused_is_a_feed_error() -> None:
    with pytest.raises(errors.FeedError):
        feeds.watch("kraken", ["XBT/USD"], ws_base="ws://127.0.0.1:9", seconds=10, max_attempts=2)


def test_cli_watch_and_serve(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert (
        main(["feeds", "watch", "--venue", "kraken", "--pace", "fast", "--seconds", "3", "--json"])
        == 0
    )
    report = json.loads(capsys.readouterr().out)
    assert sum(s["checksum_ok"] for s in report["streams"]) == 14_496
    assert main(["feeds", "serve", str(KRAKEN), "--seconds", "0.3"]) == 0
    out = capsys.readouterr().out
    assert "ws://127.0.0.1:" in out
    assert main(["feeds", "serve", str(tmp_path / "missing.txt"), "--seconds", "0.3"]) == 2
    assert main(["feeds", "watch", "--live"]) == 2
