"""The market-data history (wintermute.storage.market_history, market_recorder): a real Binance
recording recorded end to end on SQLite and on a real PostgreSQL, checked row by row against
the recording parsed here independently; Parquet and CSV exports equal the queries; recording
again stores nothing twice; store failures and lost events are counted, never silent; bad
filters are clear errors."""

from __future__ import annotations

import csv
import io
import json
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Iterator
from datetime import date, datetime, timezone
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from prometheus_client import REGISTRY

from storage_servers import (
    postgres_admin_url,
    postgres_url,
    start_postgres,
    stop_postgres,
    store_url,
)
from wintermute.cli import main
from wintermute.storage import StorageError
from wintermute.storage.market_history import (
    HistoryQuery,
    LevelRow,
    MarketHistory,
    TickRow,
    TradeRow,
    export,
    open_history,
)
from wintermute.storage.market_recorder import (
    MarketRecorder,
    RecorderError,
    RecorderStats,
    replay_source,
)

__all__ = ["postgres_admin_url", "postgres_url", "store_url"]  # fixtures, used by name

DATA = Path(__file__).resolve().parent.parent / "data"
BINANCE = (
    DATA
    / "binance"
    / ("binance_spot_2021-04-04_BTCUSDT-ETHUSDT-DOTUSDT_depth100ms_snapshot_aggTrade.cfraw.txt")
)
KRAKEN_TRADES = DATA / "kraken/kraken_ws1_2021-04-05_trade.cfraw.txt"
COINBASE = DATA / "coinbase/coinbase_exchange_2021-04-17_level2_ticker_matches.cfraw.txt"


@pytest.fixture
def history(store_url: str) -> Iterator[MarketHistory]:
    h = open_history(store_url)
    yield h
    h.close()


def record(history: MarketHistory, path: Path, pace: str = "fast", **kw: Any) -> RecorderStats:
    """Records the recording at ``path`` (served at ``pace``) until every frame was read."""
    source = replay_source(path, pace=pace)
    try:
        recorder = MarketRecorder(history, source.market, snapshot_every=None, **kw)
        return recorder.run(seconds=60, done=source.done)
    finally:
        source.close()


def everything(history: MarketHistory, table: str) -> list[Any]:
    return list(history.rows(HistoryQuery(table)))


# --- the recording, parsed here (not by the feeds crate) --------------------------------------


def binance_frames(path: Path) -> Iterator[tuple[str | None, dict[str, Any]]]:
    """``(rest_url or None, payload)`` of every received frame and REST response."""
    for line in path.read_text().splitlines():
        if not line.strip() or line.startswith(("wss://", "configuration:")):
            continue
        head, _, body = line.partition(": ")
        if " -> " in head:
            yield head.split(" -> ")[0], json.loads(body)
        elif " <- " not in head:
            yield None, json.loads(body)


def reference_trades(path: Path) -> list[tuple[Any, ...]]:
    """Every aggTrade: (symbol, trade id, price, qty, aggressor, exchange ns)."""
    out = []
    for url, frame in binance_frames(path):
        data = frame.get("data", {}) if url is None else {}
        if data.get("e") == "aggTrade":
            out.append((data["s"], data["a"], Decimal(data["p"]), Decimal(data["q"]),
                        "sell" if data["m"] else "buy", data["T"] * 1_000_000))  # fmt: skip
    return out


def reference_tops(path: Path) -> dict[str, list[tuple[Any, ...]]]:
    """Per symbol, the top of book after its snapshot and after each depth update that moved
    it (Binance's documented procedure: updates with ``u`` <= the snapshot's lastUpdateId are
    dropped), as (kind, bid price, bid qty, ask price, ask qty, venue number): the venue number
    of a move is the update's ``u``, of the snapshot the last update id its book is at."""
    books: dict[str, tuple[dict[Decimal, Decimal], dict[Decimal, Decimal], int]] = {}
    pending: dict[str, list[dict[str, Any]]] = {}
    tops: dict[str, list[tuple[Any, ...]]] = {}

    def top(symbol: str) -> tuple[Any, ...]:
        bids, asks, _ = books[symbol]
        b, a = max(bids), min(asks)
        return (b, bids[b], a, asks[a])

    def apply(symbol: str, update: dict[str, Any]) -> None:
        bids, asks, last = books[symbol]
        if update["u"] <= last:
            return
        books[symbol] = (bids, asks, update["u"])
        for side, levels in ((bids, update["b"]), (asks, update["a"])):
            for p, q in levels:
                if Decimal(q) == 0:
                    side.pop(Decimal(p), None)
                else:
                    side[Decimal(p)] = Decimal(q)
        now = top(symbol)
        if tops[symbol][-1][1:5] != now:
            tops[symbol].append(("bbo", *now, update["u"]))

    for url, frame in binance_frames(path):
        if url is not None:
            symbol = url.split("symbol=")[1].split("&")[0]
            books[symbol] = ({Decimal(p): Decimal(q) for p, q in frame["bids"]},
                             {Decimal(p): Decimal(q) for p, q in frame["asks"]},
                             frame["lastUpdateId"])  # fmt: skip
            tops[symbol] = [("snapshot", *top(symbol), frame["lastUpdateId"])]
            for update in pending.pop(symbol, []):
                apply(symbol, update)
            continue
        data = frame.get("data", {})
        if data.get("e") != "depthUpdate":
            continue
        if data["s"] in books:
            apply(data["s"], data)
        else:
            pending.setdefault(data["s"], []).append(data)
    return tops


# --- end to end --------------------------------------------------------------------------------


def test_a_binance_recording_is_recorded_with_every_trade_and_top_exact(
    history: MarketHistory,
) -> None:
    # 20 times the recorded pace: the REST snapshots arrive between the depth updates as they
    # did live (at full speed every update would be buffered before them).
    stats = record(history, BINANCE, pace="20")
    assert stats.lost == 0
    assert stats.failures == 0

    trades = everything(history, "trades")
    want = sorted(reference_trades(BINANCE))
    assert len(want) == 1910
    got = sorted((t.symbol, t.trade_id, t.price, t.qty, t.aggressor, t.exchange_ts) for t in trades)
    assert got == want
    for t in trades:
        assert (t.venue, t.trade_key, t.ts_ns) == ("binance", t.trade_id, t.exchange_ts)
        assert t.venue_seq == t.trade_id  # the aggTrade's ``a``, checked against the frames above
        assert isinstance(t.price, Decimal)
        assert t.receive_ts > 0

    ticks = everything(history, "ticks")
    for symbol, tops in reference_tops(BINANCE).items():
        mine = sorted((t for t in ticks if t.symbol == symbol), key=lambda t: t.seq)
        assert [
            (t.kind, t.bid_price, t.bid_qty, t.ask_price, t.ask_qty, t.venue_seq) for t in mine
        ] == tops
        assert mine[0].exchange_ts is None  # a REST snapshot has no time: ts_ns is the receive's
        assert all(t.ts_ns == t.exchange_ts is not None for t in mine[1:])
    assert stats.trades == len(trades)
    assert stats.ticks == len(ticks) == stats.stored - len(trades)


def test_recording_the_same_stream_again_stores_nothing_twice(history: MarketHistory) -> None:
    first = record(history, KRAKEN_TRADES)
    counts = {t: history.count(t) for t in ("trades", "ticks")}
    assert counts["trades"] == 28
    assert first.stored == sum(counts.values())
    again = record(history, KRAKEN_TRADES)
    assert again.trades == first.trades
    assert again.stored == 0
    assert {t: history.count(t) for t in ("trades", "ticks")} == counts
    kraken = everything(history, "trades")
    assert all(t.trade_id == 0 and t.trade_key == t.seq for t in kraken)  # Kraken sends no id
    assert all(t.venue_seq is None for t in kraken)  # ... and so no venue number either


def test_writing_a_batch_twice_stores_it_once(history: MarketHistory) -> None:
    trade = TradeRow("binance", "BTCUSDT", 10**18, 7, 3, 7, Decimal("58001.03"),
                     Decimal("0.00000001"), "buy", 10**18, 10**18 + 5)  # fmt: skip
    tick = TickRow("binance", "BTCUSDT", 10**18, 4, "bbo", Decimal("1.1"), Decimal("2"), None,
                   None, None, 10**18)  # fmt: skip
    level = LevelRow("binance", "BTCUSDT", 10**18, "bid", 0, 4, Decimal("1.1"), Decimal("2"))
    assert history.write([trade], [tick], [level]) == 3
    assert history.write([trade], [tick], [level]) == 0
    assert history.query(HistoryQuery("trades")) == [trade]
    assert history.query(HistoryQuery("ticks")) == [tick]
    assert history.query(HistoryQuery("snapshots")) == [level]


# --- exports -----------------------------------------------------------------------------------


def test_the_parquet_export_reads_back_equal_to_the_query(
    history: MarketHistory, tmp_path: Path, require: Any
) -> None:
    require("pyarrow")
    import pyarrow.parquet as pq

    record(history, BINANCE, pace="20")
    for table in ("trades", "ticks"):
        q = HistoryQuery(table, venue="binance", symbol="BTCUSDT",
                         since=1617566595 * 10**9, until=1617566640 * 10**9)  # fmt: skip
        rows = history.query(HistoryQuery(**{**q.__dict__, "limit": 100_000}))
        assert len(rows) > 50
        out = tmp_path / f"{table}.parquet"
        assert export(history, q, "parquet", out) == len(rows)
        back = pq.read_table(out).to_pylist()
        assert back == [r._asdict() for r in rows]  # Decimal columns compare exactly
        decimals = [v for r in back for v in r.values() if isinstance(v, Decimal)]
        assert decimals
        assert all(v == Decimal(str(v)) for v in decimals)


def test_the_csv_export_holds_the_exact_text(history: MarketHistory) -> None:
    record(history, KRAKEN_TRADES)
    out = io.StringIO()
    q = HistoryQuery("trades", symbol="XBT/USD")
    n = export(history, q, "csv", out)
    lines = list(csv.DictReader(io.StringIO(out.getvalue())))
    rows = history.query(q)
    assert n == len(lines) == len(rows) > 0
    assert [Decimal(x["price"]) for x in lines] == [r.price for r in rows]
    assert [x["price"] for x in lines] == [str(r.price) for r in rows]


# --- bad input -------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"table": "quotes"}, "table='quotes'"),
        ({"table": "trades", "since": 20, "until": 10}, "inverted time range"),
        ({"table": "trades", "limit": 0}, "limit=0"),
        ({"table": "trades", "limit": 10**9}, "limit=1000000000"),
        ({"table": "ticks", "since": datetime(2021, 4, 4)}, "give a timezone"),
        ({"table": "ticks", "venue": ""}, "venue=''"),
        ({"table": "ticks", "symbol": 5}, "symbol=5"),
    ],
)
def test_a_bad_filter_is_a_clear_error(kwargs: dict[str, Any], message: str) -> None:
    with pytest.raises(StorageError, match=message):
        HistoryQuery(**kwargs)


def test_sql_looking_filters_are_only_values(history: MarketHistory) -> None:
    q = HistoryQuery("trades", symbol="x'; DROP TABLE md_trades; --")
    assert history.query(q) == []
    assert history.count("trades") == 0


def test_the_command_line_records_queries_exports_and_refuses_bad_filters(
    store_url: str, tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["md", "record", "--store", store_url, "--replay", str(KRAKEN_TRADES),
                 "--pace", "fast", "--snapshot-every", "0"]) == 0  # fmt: skip
    assert "28 trades" in capsys.readouterr().out
    assert main(["md", "query", "trades", "--store", store_url, "--venue", "kraken",
                 "--since", "2021-04-05T00:00:00Z", "--limit", "5", "--json"]) == 0  # fmt: skip
    out = capsys.readouterr()
    assert len(out.out.splitlines()) == 5
    assert "5 rows" in out.err
    first = json.loads(out.out.splitlines()[0])
    assert first["venue"] == "kraken"
    assert Decimal(first["price"]) > 0
    assert "venue_seq" in first
    assert first["venue_seq"] is None
    csv_out = tmp_path / "t.csv"
    assert main(["md", "export", "trades", "--store", store_url, "--format", "csv",
                 "--out", str(csv_out)]) == 0  # fmt: skip
    assert len(csv_out.read_text().splitlines()) == 29
    assert csv_out.read_text().splitlines()[0].endswith(",receive_ts,venue_seq")
    assert main(["md", "query", "trades", "--store", store_url, "--since", "20",
                 "--until", "10"]) == 2  # fmt: skip
    assert "inverted time range" in capsys.readouterr().err
    assert main(["md", "export", "ticks", "--store", store_url, "--format", "parquet"]) == 2
    assert "needs --out" in capsys.readouterr().err
    with pytest.raises(SystemExit) as e:
        main(["md", "query", "quotes", "--store", store_url])
    assert e.value.code == 2


def test_the_synthetic_market_is_recorded_with_snapshots(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = f"sqlite:///{tmp_path / 'md.db'}"
    assert main(["md", "record", "--store", url, "--venue", "coinbase", "--duration", "3",
                 "--pace", "fast", "--steps", "2000", "--snapshot-every", "0.2",
                 "--depth", "5"]) == 0  # fmt: skip
    history = open_history(url)
    try:
        levels = everything(history, "snapshots")
        assert history.count("ticks") > 0
        assert levels
        first = [lv for lv in levels if lv.ts_ns == levels[0].ts_ns]
        assert {lv.side for lv in first} == {"bid", "ask"}
        assert len(first) <= 10
        bids = [lv.price for lv in first if lv.side == "bid"]
        assert bids == sorted(bids, reverse=True)
    finally:
        history.close()


# --- failures are never silent ---------------------------------------------------------------


class FakeCore:
    """A market core whose one stream's ring holds ``events`` (seq numbers as given)."""

    def __init__(self, events: list[tuple[Any, ...]]) -> None:
        self._core = self
        self.ring = events

    def streams(self) -> list[tuple[str, str]]:
        return [("binance", "BTCUSDT")]

    def events(self, venue: str, symbol: str, last: int | None = None) -> list[tuple[Any, ...]]:
        return self.ring if last is None else self.ring[-last:]

    def book(self, venue: str, symbol: str, depth: int) -> dict[str, Any]:
        return {"state": "live", "bids": [("1.5", "2")], "asks": [("1.6", "3")]}


def trade_event(seq: int) -> tuple[Any, ...]:
    return (seq, "trade", None, "100.25", "0.5", "buy", 1000 + seq, None, None,
            10**18 + seq, 10**18 + seq + 7, 0, 5000 + seq)  # fmt: skip


class FlakyHistory:
    """Fails its first ``failures`` writes, then stores into ``inner``."""

    def __init__(self, inner: MarketHistory, failures: int) -> None:
        self.inner, self.failures, self.backend = inner, failures, inner.backend

    def write(self, *args: Any) -> int:
        if self.failures:
            self.failures -= 1
            raise StorageError("postgresql: server closed the connection", reason="STORAGE")
        return self.inner.write(*args)


def metric(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


def test_a_failing_store_is_logged_counted_and_retried_without_loss(
    history: MarketHistory, caplog: pytest.LogCaptureFixture
) -> None:
    market = FakeCore([trade_event(s) for s in range(1, 101)])
    flaky = FlakyHistory(history, failures=3)
    before = metric("wintermute_md_store_failures_total", store=history.backend)
    recorder = MarketRecorder(flaky, market, snapshot_every=None, batch_rows=40)  # type: ignore[arg-type]
    stats = recorder.run(seconds=0.5)
    assert stats.failures == 3
    assert stats.stored == 100
    assert history.count("trades") == 100
    assert metric("wintermute_md_store_failures_total", store=history.backend) == before + 3
    assert "market-data store failed" in caplog.text
    assert recorder.lag() == (0, 0.0)


def test_a_store_that_keeps_failing_stops_the_recorder_with_a_clear_error(
    history: MarketHistory,
) -> None:
    market = FakeCore([trade_event(s) for s in range(1, 101)])
    dead = FlakyHistory(history, failures=10**6)
    recorder = MarketRecorder(dead, market, snapshot_every=None, batch_rows=10, max_pending=50)  # type: ignore[arg-type]
    with pytest.raises(RecorderError, match=r"100 rows held \(max_pending=50\).*server closed"):
        recorder.run(seconds=5)
    assert history.count("trades") == 0


def test_events_a_ring_overwrote_are_counted_and_logged(
    history: MarketHistory, caplog: pytest.LogCaptureFixture
) -> None:
    market = FakeCore([trade_event(s) for s in range(1, 11)])
    before = metric("wintermute_md_lost_events_total", venue="binance")
    recorder = MarketRecorder(history, market, snapshot_every=None)  # type: ignore[arg-type]
    recorder.read()
    market.ring = [trade_event(s) for s in range(30, 41)]  # 11..29 overwritten
    recorder.read()
    assert recorder.stats.lost == 19
    assert metric("wintermute_md_lost_events_total", venue="binance") == before + 19
    assert "19 events overwritten" in caplog.text
    recorder.flush(force=True)
    assert history.count("trades") == 21


def test_the_lag_gauges_follow_the_rows_held(history: MarketHistory) -> None:
    market = FakeCore([trade_event(s) for s in range(1, 6)])
    recorder = MarketRecorder(history, market, snapshot_every=None, flush_s=3600)  # type: ignore[arg-type]
    recorder.read()
    rows, seconds = recorder.lag()
    assert rows == 5
    assert seconds > 0
    assert metric("wintermute_md_lag_rows", store=history.backend) == 5
    recorder.flush(force=True)
    assert recorder.lag() == (0, 0.0)
    assert metric("wintermute_md_lag_rows", store=history.backend) == 0


def test_retention_removes_the_days_before(history: MarketHistory) -> None:
    day = 86_400 * 10**9
    old = datetime(2021, 4, 4, tzinfo=timezone.utc).timestamp() * 10**9
    rows = [TradeRow("kraken", "XBT/USD", int(old) + i * day, i + 1, i + 1, 0, Decimal("1"),
                     Decimal("1"), None, None, 1) for i in range(3)]  # fmt: skip
    assert history.write(rows) == 3
    gone = history.drop_before(date(2021, 4, 6))
    assert gone == 2  # two day partitions (PostgreSQL) or two rows (SQLite)
    assert [r.ts_ns for r in everything(history, "trades")] == [rows[2].ts_ns]


def test_the_bench_records_on_each_backend_and_stores_nothing_the_second_time(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    extra = ["--postgres", store_url] if store_url.startswith("postgresql://") else []
    assert main(["bench", "history", "--events", "3000", "--batch-rows", "500", "--json",
                 *extra]) == 0  # fmt: skip
    report = json.loads(capsys.readouterr().out)
    by_name = {r["name"].split(" ")[0] + (" again" if "again" in r["name"] else ""): r
               for r in report["results"]}  # fmt: skip
    assert by_name["sqlite"]["stored"] == by_name["sqlite"]["rows"] == report["rows"] > 0
    assert by_name["sqlite again"]["stored"] == 0
    if extra:
        assert by_name["postgresql"]["stored"] == report["rows"]
        assert by_name["postgresql again"]["stored"] == 0
    else:
        assert report["notes"] == ["postgresql: left out (give --postgres URL)"]


def test_postgresql_stopped_mid_recording_then_started_loses_nothing(
    caplog: pytest.LogCaptureFixture,
) -> None:
    server_dir = Path(tempfile.mkdtemp(prefix="wm-pg-md-restart-"))
    url, data = start_postgres(server_dir)
    port = int(url.rsplit(":", 1)[1].split("/")[0])
    market = FakeCore([trade_event(s) for s in range(1, 51)])
    history = open_history(url)
    try:
        recorder = MarketRecorder(history, market, snapshot_every=None)  # type: ignore[arg-type]
        recorder.read()
        assert recorder.flush(force=True) == 50
        stop_postgres(server_dir, data)  # the database goes away, as in a crash
        market.ring = [trade_event(s) for s in range(1, 121)]
        recorder.read()
        assert recorder.flush(force=True) == 0  # failed: logged, counted, rows kept
        assert recorder.stats.failures >= 1
        assert recorder.pending == 70
        assert "market-data store failed (70 rows held" in caplog.text
        start_postgres(server_dir, port=port)
        market.ring = [trade_event(s) for s in range(1, 151)]
        stats = recorder.run(seconds=0.2)
        assert stats.lost == 0
        assert stats.stored == 150
        assert history.count("trades") == 150
    finally:
        history.close()
        stop_postgres(server_dir, data)
        shutil.rmtree(server_dir, ignore_errors=True)


def test_a_replaced_market_is_read_to_its_end_then_the_new_one_from_its_first_event(
    history: MarketHistory,
) -> None:
    old = FakeCore([trade_event(s) for s in range(1, 6)])
    recorder = MarketRecorder(history, old, snapshot_every=None)  # type: ignore[arg-type]
    recorder.read()
    old.ring = [trade_event(s) for s in range(1, 9)]  # 6..8 arrive, then the market restarts
    new = FakeCore([(*trade_event(s)[:9], 2 * 10**18 + s, 2 * 10**18 + s, 0, None) for s in (1, 2)])
    recorder.replace_market(new)  # type: ignore[arg-type]
    recorder.read()
    recorder.flush(force=True)
    assert recorder.stats.lost == 0
    assert recorder.stats.last_seq == {("binance", "BTCUSDT"): 2}
    assert history.count("trades") == 10


def test_the_demo_records_its_external_venues_into_the_audit_store(tmp_path: Path) -> None:
    run = tmp_path / "run"
    done = subprocess.run(
        [sys.executable, "-m", "wintermute.cli", "demo", "--port", "0", "--duration", "8",
         "--record-market", "--run-dir", str(run)],
        capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"market data: recording the external venues into sqlite:///{run}" in done.stdout
    history = open_history(f"sqlite:///{run / 'audit.db'}")
    try:
        assert history.count("ticks") > 0
        assert history.count("snapshots") > 0
        venues = {t.venue for t in everything(history, "ticks")}
        assert venues == {"binance", "coinbase", "kraken"}
    finally:
        history.close()


def test_the_demo_refuses_to_record_without_the_market_or_the_audit_trail(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["demo", "--port", "0", "--duration", "1", "--no-market", "--record-market"]) == 2
    assert "drop --no-market and --no-audit" in capsys.readouterr().err


# --- the venue's own sequence numbers (venue_seq) --------------------------------------------


def coinbase_match_sequences(path: Path) -> dict[tuple[str, int], int]:
    """(product, trade id) -> the ``sequence`` of every ``match`` frame, parsed here."""
    out = {}
    for line in path.read_text().splitlines():
        head, _, body = line.partition(": ")
        if not body.startswith("{") or " <- " in head or " <-> " in head:
            continue
        frame = json.loads(body)
        if frame.get("type") in ("match", "last_match"):
            out[(frame["product_id"], int(frame["trade_id"]))] = frame["sequence"]
    return out


def test_coinbase_trades_carry_the_match_sequence_and_level2_ticks_none(
    store_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    assert main(["md", "record", "--store", store_url, "--replay", str(COINBASE),
                 "--pace", "fast", "--snapshot-every", "0"]) == 0  # fmt: skip
    capsys.readouterr()
    want = coinbase_match_sequences(COINBASE)
    assert len(want) > 10
    assert main(["md", "query", "trades", "--store", store_url, "--venue", "coinbase",
                 "--limit", "100000", "--json"]) == 0  # fmt: skip
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    got = {(r["symbol"], r["trade_id"]): r["venue_seq"] for r in rows}
    assert got == want
    history = open_history(store_url)
    try:
        ticks = everything(history, "ticks")
    finally:
        history.close()
    assert len(ticks) > 100
    assert all(t.venue_seq is None for t in ticks)  # ``level2`` carries no sequence


def test_a_store_made_before_venue_seq_is_migrated_and_keeps_its_rows(
    store_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    from wintermute.storage import postgres, sqlite

    module: Any = sqlite if store_url.startswith("sqlite") else postgres
    migrations = module.MIGRATIONS
    assert "venue_seq" in dict(migrations)[4]  # the migration this test crosses
    monkeypatch.setattr(module, "MIGRATIONS", [m for m in migrations if m[0] <= 3])
    old = open_history(store_url)
    try:  # a row as migration 3 stored it: the column does not exist yet
        with pytest.raises(StorageError, match="venue_seq"):
            old.write(trades=[TradeRow("binance", "X", 5, 1, 1, 1, Decimal("1"), Decimal("2"),
                                       None, None, 6, 9)])  # fmt: skip
        db: Any = old._db  # type: ignore[attr-defined]
        insert = (
            "INSERT INTO md_snapshots (venue, symbol, ts_ns, side, level, seq, price, qty) "
            "VALUES ('kraken', 'X', 5, 'bid', 0, 3, '1', '2')"
        )
        if old.backend == "sqlite":
            db.execute(insert)
        else:
            with db.transaction():
                db.execute("CREATE TABLE md_snapshots_p19700101 PARTITION OF md_snapshots "
                           f"FOR VALUES FROM (0) TO ({86_400 * 10**9})")  # fmt: skip
                db.execute(insert)
    finally:
        old.close()
    monkeypatch.setattr(module, "MIGRATIONS", migrations)
    new = open_history(store_url)
    try:
        (row,) = everything(new, "snapshots")
        assert row.venue_seq is None
        assert row.seq == 3
        trade = TradeRow("binance", "X", 5, 7, 1, 7, Decimal("1"), Decimal("2"), None, None, 6,
                         2**62)  # fmt: skip
        tick = TickRow("binance", "X", 5, 2, "bbo", None, None, Decimal("3"), Decimal("4"), 5, 6,
                       1513939205)  # fmt: skip
        assert new.write(trades=[trade], ticks=[tick]) == 2
        assert everything(new, "trades") == [trade]
        assert everything(new, "ticks") == [tick]
        assert new.write(trades=[trade._replace(venue_seq=None)]) == 0  # identity unchanged
    finally:
        new.close()
