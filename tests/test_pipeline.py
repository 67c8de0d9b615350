"""The threaded engine from Python (wintermute.pipeline, wintermute.config): config checks,
single and batch submits, several producer threads, outputs equal to the in-thread engine's
events, stats, shutdown and drop.

Every engine here parks its threads (the defaults on the 2-core CI machine do; the configs
say so explicitly) and every loop is bounded by a count or a timeout.
"""

from __future__ import annotations

import doctest
import json
import subprocess
import sys
import threading
from collections.abc import Mapping
from dataclasses import asdict
from decimal import Decimal
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

import wintermute
from specs import BTC, PARK
from wintermute import _core, batch, errors
from wintermute.config import ConfigError, EngineConfig
from wintermute.engine import Engine
from wintermute.pipeline import OUTCOMES, OUTPUT_DTYPE, RISK_REASONS, Pipeline

BOOK_DELTA = next(k for k, name in batch.KIND_NAMES.items() if name == "book_delta")
EVENT_FIELDS = [n for n in batch.EVENT_DTYPE.names or () if n not in ("command", "_pad")]


def config(**extra: Any) -> dict[str, Any]:
    """A 2-core-friendly config: parking threads, blocking gateways."""
    base: dict[str, Any] = {
        "instruments": [BTC],
        "threads": {"risk": {"wait": PARK}, "matching": {"wait": PARK}},
        "gateways": {"count": 1, "capacity": 1024, "backpressure": "block", "wait": PARK},
    }
    base.update(extra)
    return base


def workload_config(wl: Mapping[str, Any], **extra: Any) -> dict[str, Any]:
    """The config of a generated workload's instrument."""
    spec = dict(wl["spec"])
    return config(instruments=[spec], order_capacity=1 << 17, **extra)


def outcome_names(out: npt.NDArray[np.void]) -> list[str]:
    return [OUTCOMES[int(o)] for o in out["outcome"]]


def test_the_threaded_engine_starts_from_a_config_a_dict_or_a_file(tmp_path: Path) -> None:
    assert type(wintermute.Engine()) is Engine
    path = tmp_path / "e.json"
    path.write_text(json.dumps(config()), encoding="utf-8")
    for given in (config(), EngineConfig.from_dict(config()), path, str(path)):
        with wintermute.Pipeline(given) as eng:
            assert isinstance(eng, Pipeline)
            assert eng.instruments() == ["BTC-USD"]
            assert eng.is_running
        assert not eng.is_running


# ---- submits and outputs -------------------------------------------------------------------


def test_single_submits_decimal_and_integer_paths() -> None:
    with Pipeline(config()) as eng:
        gw, sub = eng.gateway(0), eng.subscription(0)
        assert gw.submit("BTC-USD", 1, "sell", qty="1.5", price=Decimal("64000.25"), account=1) == 1
        assert gw.submit_ticks(0, 2, batch.BUY, 6_400_100, 500, account=2) == 2
        assert gw.amend("BTC-USD", 1, qty="0.5") == 3
        assert gw.cancel_ticks(0, 99) == 4  # unknown order: refused by the book, not here
        assert gw.mass_cancel(0, account=1) == 5
        with pytest.raises(errors.PriceOffTickError):
            gw.submit("BTC-USD", 3, "buy", qty="1", price="1.005")
        with pytest.raises(TypeError, match="floats"):
            gw.submit("BTC-USD", 3, "buy", qty=0.5, price="1")  # type: ignore[arg-type]
        with pytest.raises(errors.UnknownInstrumentError):
            gw.cancel("ETH-USD", 1)
        out = sub.poll(timeout=10.0, until_commands=5)
        assert gw.submitted == 5
    assert list(out["command_seq"][out["last"] == 1]) == [1, 2, 3, 4, 5]
    assert outcome_names(out).count("refused") == 1
    refused = out[out["outcome"] == 2][0]
    assert batch.REJECT_REASONS[int(refused["reason"])] == "UNKNOWN_ORDER"
    trade = out[out["kind"] == 3][0]
    assert (int(trade["price"]), int(trade["qty"])) == (6_400_025, 500)
    assert set(out["journal_seq"][out["last"] == 1]) == {1, 2, 3, 4, 5}
    assert (out["latency_ns"] > 0).all()


def test_an_amend_by_total_through_the_gateway_counts_the_fills_its_sender_had_not_seen() -> None:
    with Pipeline(config()) as eng:
        gw, sub = eng.gateway(0), eng.subscription(0)
        gw.submit("BTC-USD", 1, "sell", qty="2", price="64000", account=1)
        gw.submit("BTC-USD", 2, "buy", qty="0.5", price="64000", account=2)
        # Seen with 2 open, a total of 1.2 asked for: 0.5 filled + 0.7 open.
        gw.amend("BTC-USD", 1, qty="1.2", seen_remaining="2")
        # Then 0.4 more fill unseen and the sender (seeing 0.7 open) asks for 0.3 more: gone.
        gw.submit_ticks(0, 3, batch.BUY, 6_400_000, 400, account=2)
        gw.amend_ticks(0, 1, None, 300, 700)
        with pytest.raises(errors.InvalidOrderError):
            gw.amend_ticks(0, 1, 6_400_100, None, 700)  # by total without a qty
        out = sub.poll(timeout=10.0, until_commands=5)
    amended = out[out["kind"] == 5]
    assert [(int(a["remaining"]), int(a["qty"])) for a in amended] == [(1_500, 700)]
    canceled = out[out["kind"] == 4]
    assert [batch.CANCEL_REASONS[int(c["reason"])] for c in canceled] == ["FILLED_BEFORE_AMEND"]
    assert int(canceled[0]["qty"]) == 300


def test_batch_submit_and_invalid_batches_submit_nothing() -> None:
    cmds = batch.new_orders(
        order_id=[1, 2, 3], side=[1, 0, 0], price=[10_000, 10_000, 9_900], qty=[5, 2, 1]
    )
    with Pipeline(config()) as eng:
        gw, sub = eng.gateway(0), eng.subscription(0)
        bad = cmds.copy()
        bad[1]["side"] = 7
        with pytest.raises(errors.InvalidOrderError, match=r"commands\[1\]"):
            gw.submit_batch(0, bad)
        with pytest.raises(TypeError, match="COMMAND_DTYPE"):
            gw.submit_batch(0, np.zeros(3, dtype=np.int64))
        assert gw.submitted == 0
        assert gw.submit_batch(0, cmds) == (1, 3)
        assert gw.submit_batch(0, batch.cancels([3])) == (4, 1)
        out = sub.poll(timeout=10.0, until_commands=4)
    kinds = [batch.KIND_NAMES[int(k)] for k in out["kind"]]
    assert kinds == [
        "accepted",
        "book_delta",
        "accepted",
        "trade",
        "book_delta",
        "accepted",
        "book_delta",
        "canceled",
        "book_delta",
    ]


def test_reject_backpressure_and_closed_gateways() -> None:
    cfg = config(gateways={"count": 1, "capacity": 2, "backpressure": "reject"})
    cfg["subscriptions"] = {"count": 1, "capacity": 2}
    eng = Pipeline(cfg)
    gw = eng.gateway(0)
    cmds = batch.new_orders(order_id=np.arange(1, 201), side=0, price=100, qty=1)
    first, accepted = gw.submit_batch(0, cmds)
    assert first == 1
    assert 0 < accepted < 200

    def fill() -> None:
        for i in range(1000, 1200):
            gw.submit_ticks(0, i, 0, 100, 1)

    with pytest.raises(errors.WintermuteError) as full:
        fill()
    assert full.value.reason == "GATEWAY_FULL"
    done = eng.shutdown()  # drains into the subscription's backlog: does not wait for a reader
    assert done["stats"].counters.received == gw.submitted
    with pytest.raises(errors.WintermuteError) as closed:
        gw.submit_ticks(0, 5000, 0, 100, 1)
    assert closed.value.reason == "GATEWAY_CLOSED"
    out = eng.subscription(0).poll()
    assert int(np.count_nonzero(out["last"])) == gw.submitted
    assert eng.subscription(0).finished
    assert eng.shutdown()["last_seq"] == done["last_seq"] == gw.submitted


def test_risk_rejections_come_back_as_outputs() -> None:
    risk = {
        "accounts": {"7": {"max_order_qty": 10}, "9": {"price_band_bps": 100}},
        "reject_unknown_accounts": True,
        "reference_prices": {"BTC-USD": "100.00"},
    }
    cfg = EngineConfig.from_dict(config(risk=risk))
    assert EngineConfig.from_dict(cfg.to_dict()) == cfg
    with Pipeline(cfg) as eng:
        gw = eng.gateway(0)
        gw.submit_ticks(0, 1, 0, 10_000, 11, account=7)
        gw.submit_ticks(0, 2, 0, 10_000, 10, account=7)
        gw.submit_ticks(0, 3, 0, 10_000, 1, account=8)
        gw.submit("BTC-USD", 4, "buy", qty="1", price="101.01", account=9)
        gw.submit("BTC-USD", 5, "buy", qty="1", price="101.00", account=9)
        out = eng.subscription(0).poll(timeout=10.0, until_commands=5)
    last = out[out["last"] == 1]
    assert outcome_names(last) == [
        "risk_rejected",
        "event",
        "risk_rejected",
        "risk_rejected",
        "event",
    ]
    reasons = [RISK_REASONS[int(r)] for r in last["reason"][last["outcome"] == 3]]
    assert reasons == ["MAX_ORDER_QTY", "UNKNOWN_ACCOUNT", "PRICE_BAND"]
    assert list(last["journal_seq"]) == [0, 1, 0, 0, 2]


def in_thread_engine(spec: Mapping[str, Any]) -> Engine:
    """The in-thread engine with one instrument."""
    ref = Engine()
    ref.add_instrument(
        spec["symbol"],
        tick_size=spec["tick_size"],
        lot_size=spec["lot_size"],
        min_qty=spec["min_qty"],
        max_qty=spec["max_qty"],
        min_price=spec["min_price"],
        max_price=spec["max_price"],
    )
    return ref


def in_thread_events(
    spec: Mapping[str, Any], records: list[tuple[int, Any]]
) -> npt.NDArray[np.void]:
    """The in-thread engine's events for (instrument, command record) pairs, in order."""
    ref = in_thread_engine(spec)
    parts = [ref.submit_batch(i, np.array([rec], dtype=batch.COMMAND_DTYPE)) for i, rec in records]
    return np.concatenate(parts)


def test_outputs_equal_the_in_thread_engine_events() -> None:
    wl = _core.generate_workload("exchange_core", 7, 3_000)
    commands = np.concatenate([wl["warmup"], wl["commands"]]).view(batch.COMMAND_DTYPE)
    with Pipeline(workload_config(wl)) as eng:
        assert eng.gateway(0).submit_batch(0, commands) == (1, len(commands))
        out = eng.subscription(0).poll(timeout=30.0, until_commands=len(commands))
    assert int(np.count_nonzero(out["last"])) == len(commands)
    ref = in_thread_engine(wl["spec"])
    expected = ref.submit_batch(0, commands)
    got = out[(out["outcome"] == 0) | (out["outcome"] == 2)]
    assert len(got) == len(expected) > len(commands)
    for name in EVENT_FIELDS:
        assert np.array_equal(got[name], expected[name]), name


def test_an_execution_feed_gets_every_event_but_the_book_deltas() -> None:
    wl = _core.generate_workload("exchange_core", 7, 3_000)
    commands = np.concatenate([wl["warmup"], wl["commands"]]).view(batch.COMMAND_DTYPE)
    # Subscription 0 an execution feed, subscription 1 every output.
    cfg = workload_config(wl, subscriptions={"count": 2, "book_deltas": [False, True]})
    subs = EngineConfig.from_dict(cfg).subscriptions
    assert subs.book_deltas == (False, True)
    assert [subs.takes_book_deltas(i) for i in range(2)] == [False, True]
    with Pipeline(cfg) as eng:
        assert eng.gateway(0).submit_batch(0, commands) == (1, len(commands))
        n = len(commands)
        outs = [eng.subscription(i).poll(timeout=30.0, until_commands=n) for i in (0, 1)]
    full = in_thread_engine(wl["spec"]).submit_batch(0, commands)
    for out, expected in zip(outs, [full[full["kind"] != BOOK_DELTA], full], strict=True):
        assert int(np.count_nonzero(out["last"])) == len(commands)
        got = out[(out["outcome"] == 0) | (out["outcome"] == 2)]
        assert len(got) == len(expected) >= len(commands)
        for name in EVENT_FIELDS:
            assert np.array_equal(got[name], expected[name]), name
    assert len(outs[1]) > len(outs[0])


def test_four_producer_threads_every_command_exactly_once_as_in_thread() -> None:
    wl = _core.generate_workload("python", 11, 1)
    spec = wl["spec"]
    per_thread, threads_n = 4_000, 4
    streams = []
    for t in range(threads_n):
        w = _core.generate_workload("python", 100 + t, per_thread)
        cmds = np.concatenate([w["warmup"], w["commands"]]).view(batch.COMMAND_DTYPE).copy()
        cmds["order_id"][cmds["kind"] != batch.MASS_CANCEL] += np.uint64(t << 40)
        streams.append(cmds)
    cfg = workload_config(wl, gateways={"count": threads_n, "capacity": 256, "wait": PARK})
    outputs: list[npt.NDArray[np.void]] = []
    total = sum(len(s) for s in streams)
    with Pipeline(cfg) as eng:

        def produce(t: int) -> None:
            gw = eng.gateway(t)
            cmds = streams[t]
            half = len(cmds) // 2
            for start in range(0, half, 500):  # batches (GIL released)
                part = cmds[start : min(start + 500, half)]
                assert gw.submit_batch(0, part)[1] == len(part)
            for rec in cmds[half:]:  # single submits
                if rec["kind"] == batch.NEW:
                    gw.submit_ticks(0, int(rec["order_id"]), int(rec["side"]), int(rec["price"]),
                                    int(rec["qty"]), int(rec["account"]), int(rec["order_type"]),
                                    int(rec["tif"]))  # fmt: skip
                else:
                    assert rec["kind"] == batch.CANCEL
                    gw.cancel_ticks(0, int(rec["order_id"]))

        producers = [threading.Thread(target=produce, args=(t,)) for t in range(threads_n)]
        for p in producers:
            p.start()
        done = 0
        sub = eng.subscription(0)
        while done < total:
            out = sub.poll(timeout=30.0)
            assert len(out), f"no output after {done} of {total} commands"
            outputs.append(out)
            done += int(np.count_nonzero(out["last"]))
        for p in producers:
            p.join()
        stats = eng.stats()
    out = np.concatenate(outputs)
    last = out[out["last"] == 1]
    ids = list(zip(last["gateway"].tolist(), last["command_seq"].tolist(), strict=True))
    assert len(ids) == len(set(ids)) == total
    for t in range(threads_n):
        assert sorted(s for g, s in ids if g == t) == list(range(1, len(streams[t]) + 1))
    assert list(last["journal_seq"]) == list(range(1, total + 1))
    # The matching order, replayed on the in-thread engine, gives the same events.
    order = [(0, streams[g][s - 1]) for g, s in ids]
    expected = in_thread_events(spec, order)
    got = out[(out["outcome"] == 0) | (out["outcome"] == 2)]
    for name in EVENT_FIELDS:
        assert np.array_equal(got[name], expected[name]), name
    assert [g.submitted for g in stats.gateways] == [len(s) for s in streams]


# ---- stats, shutdown, drop ------------------------------------------------------------------


def test_stats_shape() -> None:
    with Pipeline(config(stats_interval_ms=10)) as eng:
        gw = eng.gateway(0)
        for i in range(1, 51):
            gw.submit_ticks(0, i, i % 2, 100 + (i % 3), 1)
        eng.subscription(0).poll(timeout=10.0, until_commands=50)
        live = eng.stats()
        done = eng.shutdown()
    final = done["stats"]
    for stats in (live, final):
        assert stats.topology == "merged"
        assert set(asdict(stats.latency)) == {
            "gateway_to_risk",
            "risk_to_match",
            "match_to_publish",
            "end_to_end",
        }
        for s in asdict(stats.latency).values():
            assert set(s) == {
                "count",
                "min_ns",
                "mean_ns",
                "p50_ns",
                "p95_ns",
                "p99_ns",
                "p999_ns",
                "max_ns",
            }
            assert s["p50_ns"] <= s["p95_ns"] <= s["p99_ns"] <= s["p999_ns"] <= s["max_ns"]
        assert {r.name for r in stats.rings} == {"gateway[0]", "subscription[0]"}
        assert all(r.high_water <= r.capacity for r in stats.rings)
        assert [t.pinned for t in stats.threads] == [False]
        assert stats.threads[0].wait.startswith("park(")
    assert final.latency.end_to_end.count == final.counters.received == 50
    with pytest.warns(DeprecationWarning, match=r"use \.latency"):
        assert final["latency"] is final.latency  # the old dict access, until it goes
    assert final.commands_per_s > 0
    assert final.events_per_s > 0
    assert final.outputs_per_s > 0
    assert final.submitted == 50
    assert final.recovered_records == 0
    assert set(done["books"]) == {"BTC-USD"}
    book = json.loads(done["books"]["BTC-USD"])
    assert book["seq"] > 0


@pytest.mark.parametrize("prepare", [True, False])
def test_journal_rolls_are_counted(tmp_path: Path, prepare: bool) -> None:
    # 4,096-byte segments hold 56 command records of 72 bytes: 500 commands roll 8 times.
    journal = {"dir": str(tmp_path / "j"), "fsync": "none", "segment_size": 4096}
    cfg = config(journal={**journal, "prepare_segments": prepare, "populate": prepare})
    parsed = EngineConfig.from_dict(cfg).journal
    assert parsed is not None
    assert (parsed.prepare_segments, parsed.populate) == (prepare, prepare)
    with Pipeline(cfg) as eng:
        for i in range(1, 501):
            eng.gateway(0).submit_ticks(0, i, i % 2, 100 + i % 7, 1)
    rolls = eng.shutdown()["stats"].journal_rolls
    assert rolls.rolls == 8
    if prepare:
        assert 0 <= rolls.prepared <= rolls.rolls
    else:
        assert rolls.prepared == 0
    assert rolls.roller_failures == 0
    assert rolls.populate_failures == 0
    assert rolls.longest_ns > 0
    assert len(list((tmp_path / "j").glob("*.wal"))) == 9
    assert not list((tmp_path / "j").glob("*.spare")), "the spare segment outlived the engine"
    with Pipeline(config()) as eng:
        eng.gateway(0).submit_ticks(0, 1, 0, 100, 1)
    assert asdict(eng.shutdown()["stats"].journal_rolls) == {
        "rolls": 0,
        "prepared": 0,
        "roller_failures": 0,
        "populate_failures": 0,
        "longest_ns": 0,
    }


@pytest.mark.parametrize("sync", ["inline", "background"])
def test_prune_segments_bounds_the_journal_and_recovery_names_what_is_missing(
    tmp_path: Path, sync: str
) -> None:
    # "background": the syncer flushes the newest segments every millisecond while the
    # snapshot writer removes old ones.
    jdir = tmp_path / "j"
    journal = {
        "dir": str(jdir),
        "fsync": "batch",
        "sync": sync,
        "sync_interval_ms": 1,
        "segment_size": 4096,
        "snapshot_every_records": 200,
        "snapshot_keep": 2,
        "prune_segments": True,
    }
    cfg = config(journal=journal)
    parsed = EngineConfig.from_dict(cfg).journal
    assert parsed is not None
    assert parsed.prune_segments
    with Pipeline(cfg) as eng:
        for i in range(1, 2001):
            eng.gateway(0).submit_ticks(0, i, i % 2, 100 + i % 7, 1)
    done = eng.shutdown()
    stats = done["stats"]
    made = stats.journal_rolls.rolls + 1
    left = sorted(jdir.glob("*.wal"))
    assert stats.snapshots_written >= 2
    assert stats.segments_pruned > 0
    assert len(left) + stats.segments_pruned == made
    # What is left starts at or before the oldest snapshot kept, whose records it covers.
    snapshots = sorted(int(p.name[len("snapshot-") : -len(".snap")]) for p in jdir.glob("*.snap"))
    assert len(snapshots) == 2
    assert 1 < int(left[0].stem) <= snapshots[0] + 1
    # A restart starts from the newest snapshot: the same books.
    with Pipeline(cfg) as again:
        assert again.recovery().snapshot is not None
    assert again.shutdown()["books"] == done["books"]
    # Without a usable snapshot the records before the first segment are needed: refused.
    for snap in jdir.glob("*.snap"):
        snap.write_bytes(b"damaged")
    with pytest.raises(errors.JournalError, match="journal records missing") as e:
        Pipeline(cfg)
    assert f"first record is seq={int(left[0].stem)}" in str(e.value)
    # The default keeps every segment.
    assert EngineConfig.from_dict(config(journal={"dir": "j"})).journal.prune_segments is False  # type: ignore[union-attr]


def test_archive_dir_keeps_the_pruned_history_readable(tmp_path: Path) -> None:
    from wintermute import journal as wj
    from wintermute.cli import main

    jdir, archive = tmp_path / "j", tmp_path / "archive"
    journal = {
        "dir": str(jdir),
        "fsync": "none",
        "segment_size": 4096,
        "snapshot_every_records": 200,
        "snapshot_keep": 2,
        "prune_segments": True,
        "archive_dir": str(archive),
    }
    with Pipeline(config(journal=journal)) as eng:
        for i in range(1, 2001):
            eng.gateway(0).submit_ticks(0, i, i % 2, 100 + i % 7, 1)
    stats = eng.shutdown()["stats"]
    assert stats.segments_pruned == len(list(archive.glob("*.wal"))) > 0
    old, live = wj.summarize(archive), wj.summarize(jdir)
    assert old["last_seq"] is not None
    assert (old["first_seq"], old["last_seq"] + 1, live["last_seq"]) == (1, live["first_seq"], 2000)
    assert old["records"] + live["records"] == 2000
    assert main(["journal", "verify", str(archive)]) == 0
    # Only pruned segments go there: without pruning it is a mistake, and so is the journal's
    # own directory.
    with pytest.raises(ConfigError, match=r"journal\.archive_dir: needs prune_segments"):
        EngineConfig.from_dict(config(journal={"dir": str(jdir), "archive_dir": str(archive)}))
    with pytest.raises(ConfigError, match=r"journal\.archive_dir: expected a directory path"):
        EngineConfig.from_dict(config(journal={"dir": str(jdir), "archive_dir": 7}))
    same = {**journal, "dir": str(tmp_path / "k"), "archive_dir": str(tmp_path / "k" / ".")}
    with pytest.raises(errors.JournalError, match="is the journal's own directory"):
        Pipeline(config(journal=same))


def test_cli_journal_prune_lists_moves_and_keeps_recovery_whole(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    from wintermute.cli import main

    jdir, archive = tmp_path / "j", tmp_path / "old"
    journal = {"dir": str(jdir), "fsync": "none", "segment_size": 4096}
    with Pipeline(config(journal=journal)) as eng:
        for i in range(1, 1001):
            eng.gateway(0).submit_ticks(0, i, i % 2, 100 + i % 7, 1)
    books = eng.shutdown()["books"]
    # No snapshot yet: nothing can go.
    assert main(["journal", "prune", str(jdir)]) == 0
    assert "nothing can be pruned" in capsys.readouterr().out
    with Pipeline(config(journal=journal)) as eng:
        snap = eng.snapshot()
    eng.shutdown()
    assert snap.journal_seq == 1000
    segments = sorted(p.name for p in jdir.glob("*.wal"))
    assert main(["journal", "prune", str(jdir), "--dry-run", "--json"]) == 0
    listed = json.loads(capsys.readouterr().out)
    assert listed["snapshot_seq"] == 1000
    assert listed["held_seq"] is None
    assert [Path(p).name for p in listed["segments"]] == segments[:-1]
    # A saved venue state (wintermute.service.venue_state) keeps the records after its own.
    held = jdir / "venue-00000000000000000300.state"
    held.write_bytes(b"")
    assert main(["journal", "prune", str(jdir), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert "every record at or before seq 300, a saved venue state's" in out, out
    assert main(["journal", "prune", str(jdir), "--dry-run", "--json"]) == 0
    kept = json.loads(capsys.readouterr().out)
    assert kept["held_seq"] == 300
    assert 0 < len(kept["segments"]) < len(listed["segments"])
    held.unlink()
    assert sorted(p.name for p in jdir.glob("*.wal")) == segments, "a dry run removes nothing"
    assert main(["journal", "prune", str(jdir), "--archive", str(archive)]) == 0
    assert f"moved {len(segments) - 1} segments to {archive}" in capsys.readouterr().out
    assert sorted(p.name for p in archive.glob("*.wal")) == segments[:-1]
    assert main(["journal", "verify", str(archive)]) == 0
    capsys.readouterr()
    # The engine starts from the snapshot, the same books.
    with Pipeline(config(journal=journal)) as again:
        assert again.recovery().snapshot is not None
    assert again.shutdown()["books"] == books
    assert main(["journal", "prune", str(tmp_path / "missing")]) == 2
    assert "is not a directory" in capsys.readouterr().err


def test_books_after_shutdown_restore_into_the_in_thread_engine() -> None:
    with Pipeline(config()) as eng:
        gw = eng.gateway(0)
        gw.submit("BTC-USD", 1, "sell", qty="2", price="64000")
        gw.submit("BTC-USD", 2, "buy", qty="0.5", price="64000.01")
        gw.submit("BTC-USD", 3, "buy", qty="1", price="63999")
    snapshot = eng.shutdown()["books"]["BTC-USD"]
    ref = Engine()
    ref.restore(snapshot)
    assert ref.bbo("BTC-USD") == (
        (Decimal("63999.00"), Decimal("1.000")),
        (Decimal("64000.00"), Decimal("1.500")),
    )


def test_journal_recovery_on_start(tmp_path: Path) -> None:
    cfg = config(journal={"dir": str(tmp_path / "j"), "fsync": "none"})
    with Pipeline(cfg) as eng:
        for i in range(1, 11):
            eng.gateway(0).submit_ticks(0, i, 0, 100 + i, 1)
    first = eng.shutdown()
    with Pipeline(cfg) as again:
        assert again.stats().recovered_records == 10
        assert again.gateway(0).submit_ticks(0, 11, 1, 50, 3) == 1
        out = again.subscription(0).poll(timeout=10.0, until_commands=1)
    assert int(out["journal_seq"][-1]) == 11
    assert again.shutdown()["last_seq"] == first["last_seq"] + 1


def test_a_torn_journal_tail_is_reported_as_the_in_thread_engine_reports_it(
    tmp_path: Path,
) -> None:
    cfg = config(journal={"dir": str(tmp_path / "j"), "fsync": "none"})
    with Pipeline(cfg) as eng:
        for i in range(1, 4):
            eng.gateway(0).submit_ticks(0, i, 0, 100 + i, 1)
    eng.shutdown()
    (segment,) = (tmp_path / "j").glob("*.wal")
    data = bytearray(segment.read_bytes())
    # The frames (crates/engine/src/journal/record.rs): u32 payload length, u32 CRC, payload
    # (u64 seq, u32 instrument, u32 kind, body); kind 0 is a command, 5 a time mark.
    off, commands = 0, []
    while (length := int.from_bytes(data[off : off + 4], "little")) != 0:
        if int.from_bytes(data[off + 20 : off + 24], "little") == 0:
            commands.append(off)
        off += 8 + length
    assert len(commands) == 3
    last = commands[-1]
    data[last + 28] ^= 0xFF  # damage the 3rd (last) command
    segment.write_bytes(bytes(data))
    with Pipeline(cfg) as again:
        rec = again.recovery()
        torn = rec.truncated
        with pytest.warns(DeprecationWarning, match=r"Recovery\['truncated'\] is deprecated"):
            assert rec["truncated"] is torn  # the old dict access, until it goes
    again.shutdown()
    assert (rec.replayed, rec.journal_seq, rec.snapshot) == (2, 2, None)
    # The same shape as ``Engine.open_journal()["truncated"]`` (tests/test_journal.py).
    assert torn is not None
    assert set(torn) == {"segment", "offset", "reason", "removed_segments"}
    assert torn["segment"].endswith(segment.name)
    assert torn["offset"] == last
    assert torn["removed_segments"] == []


def test_an_engine_dropped_without_shutdown_does_not_hang_python() -> None:
    # Full rings, nobody reading, no shutdown: the interpreter still exits at once.
    script = f"""
import numpy as np
from wintermute import Pipeline, batch
cfg = {config()!r}
cfg["gateways"] = {{"count": 1, "capacity": 4, "backpressure": "reject"}}
cfg["subscriptions"] = {{"count": 1, "capacity": 4}}
eng = Pipeline(cfg)
gw = eng.gateway(0)
_, n = gw.submit_batch(0, batch.new_orders(order_id=np.arange(1, 100), side=0, price=100, qty=1))
assert 0 < n < 99, n
del eng
print("dropped", n)
"""
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=False
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.startswith("dropped")


@pytest.mark.parametrize(
    "module", ["wintermute.pipeline", "wintermute.config", "wintermute.pipeline_stats"]
)
def test_docstring_examples(module: str) -> None:
    import importlib

    result = doctest.testmod(
        importlib.import_module(module), optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE
    )
    assert result.attempted > 0
    assert result.failed == 0


def test_output_dtype_is_the_event_record_plus_identity() -> None:
    assert OUTPUT_DTYPE.itemsize == 120
    assert OUTPUT_DTYPE.names is not None
    assert OUTPUT_DTYPE.names[: len(batch.EVENT_DTYPE.names or ())] == batch.EVENT_DTYPE.names


def test_the_core_class_reads_the_same_schema() -> None:
    with pytest.raises(ConfigError, match="non-empty list") as raised:
        _core.Pipeline("{}")
    assert (raised.value.reason, raised.value.key) == ("CONFIG", "instruments")
    wire = json.loads(EngineConfig.from_dict(config()).to_json())
    wire["topology"] = "ring"
    with pytest.raises(ConfigError, match="config key topology"):
        _core.Pipeline(json.dumps(wire))
    wire["topology"] = "merged"
    # A document without `book_deltas` means every output.
    del wire["subscriptions"]["book_deltas"]
    old = _core.Pipeline(json.dumps(wire))
    old.shutdown()
    # One value per subscription, or one for all: a list of another length is refused.
    wire["subscriptions"]["book_deltas"] = [True] * (wire["subscriptions"]["count"] + 1)
    with pytest.raises(ConfigError, match=r"config key subscriptions\.book_deltas"):
        _core.Pipeline(json.dumps(wire))
    wire["subscriptions"]["book_deltas"] = [False] * wire["subscriptions"]["count"]
    _core.Pipeline(json.dumps(wire)).shutdown()
    # The instrument's own check (the engine's), named by its place in the document.
    wire["instruments"][0]["tick_size"] = "0"
    with pytest.raises(ConfigError) as bad_tick:
        _core.Pipeline(json.dumps(wire))
    assert bad_tick.value.key == "instruments[0]"
