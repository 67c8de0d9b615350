"""The journal from Python: write, recover, torn tails, corruption, the CLI, and SIGKILL crashes."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import textwrap
from pathlib import Path
from typing import Literal

import numpy as np
import pytest

from wintermute import Engine, _core, batch, errors, journal
from wintermute.cli import main

RECORD = 72  # bytes per journal record (crates/engine/src/journal/record.rs)


def make_engine() -> Engine:
    eng = Engine()
    eng.add_instrument(
        "X",
        tick_size="1",
        lot_size="1",
        min_qty="1",
        max_qty="1000",
        min_price="1",
        max_price="10000",
    )
    eng.add_instrument(
        "Y",
        tick_size="0.5",
        lot_size="0.1",
        min_qty="0.1",
        max_qty="100",
        min_price="1",
        max_price="500",
    )
    return eng


def drive(eng: Engine, start: int, count: int, seed: int = 7) -> list[object]:
    """A deterministic mix through all three APIs; returns what each call returned."""
    rng = random.Random(seed * 1_000_003 + start)
    out: list[object] = []
    for i in range(start, start + count):
        r = rng.random()
        oid = 1 + rng.randrange(60)
        try:
            if r < 0.5:
                side: Literal["buy", "sell"] = "buy" if rng.random() < 0.5 else "sell"
                out.append(
                    [
                        e.to_dict()
                        for e in eng.submit(
                            "X", oid, side, qty=rng.randint(1, 30), price=rng.randint(95, 105)
                        )
                    ]
                )
            elif r < 0.65:
                out.append([e.to_dict() for e in eng.cancel("X", oid)])
            elif r < 0.8:
                out.append(
                    eng.submit_ticks(
                        1, 1000 + i, rng.randrange(2), rng.randint(190, 210), rng.randint(1, 50)
                    )
                )
                out.append(eng.take_events().tobytes())
            else:
                cmds = batch.new_orders(
                    order_id=[oid, oid + 100], side=[0, 1], price=[99, 101], qty=[5, 5]
                )
                out.append(eng.submit_batch("X", cmds).tobytes())
        except errors.OrderError as e:
            out.append(e.reason)
    return out


def snapshots(eng: Engine) -> list[str]:
    return [eng.snapshot(i) for i in range(len(eng.instruments()))]


def test_recovery_rebuilds_the_books_and_continues_identically(tmp_path: Path) -> None:
    live = make_engine()
    assert live.open_journal(str(tmp_path), fsync="none")["records"] == 0
    drive(live, 0, 300)
    live.journal_snapshot()
    drive(live, 300, 200)
    seq = live.journal_seq
    assert seq is not None
    assert seq > 450
    live.close_journal()  # a stop (the SIGKILL test covers crashes); `live` goes on unjournaled
    # A new process defines the same instruments and opens the journal.
    again = make_engine()
    report = again.open_journal(str(tmp_path), fsync="none")
    assert report["truncated"] is None
    assert report["snapshot"] is not None
    assert report["records"] == seq
    assert 0 < report["replayed"] < seq
    assert snapshots(again) == snapshots(live)
    assert again.journal_seq == seq
    # Both continue with the same commands: the same events.
    assert drive(again, 500, 100) == drive(live, 500, 100)
    assert snapshots(again) == snapshots(live)


def test_a_fresh_replay_of_the_journal_equals_the_live_books(tmp_path: Path) -> None:
    live = make_engine()
    live.open_journal(str(tmp_path), fsync="batch")
    drive(live, 0, 400)
    live.close_journal()
    entries = journal.read(tmp_path)
    assert len(entries) >= 400
    replay = make_engine()
    for inst in (0, 1):
        mine = entries[entries["instrument"] == inst]
        cmds = np.zeros(len(mine), dtype=batch.COMMAND_DTYPE)
        for name in batch.COMMAND_DTYPE.names or ():
            if name != "_pad":
                cmds[name] = mine[name]
        replay.submit_batch(inst, cmds)
    assert snapshots(replay) == snapshots(live)


def test_a_torn_last_record_is_cut_and_reported(tmp_path: Path) -> None:
    live = make_engine()
    live.open_journal(str(tmp_path), fsync="none")
    for i in range(1, 11):
        live.submit("X", i, "buy", qty="1", price=str(90 + i))
    live.close_journal()
    (segment,) = tmp_path.glob("*.wal")
    data = bytearray(segment.read_bytes())
    data[9 * RECORD + 20] ^= 0xFF  # damage the 10th (last) record
    segment.write_bytes(bytes(data))
    again = make_engine()
    report = again.open_journal(str(tmp_path), fsync="none")
    assert report["records"] == 9
    assert report["truncated"] is not None
    assert report["truncated"]["offset"] == 9 * RECORD
    assert report["truncated"]["segment"].endswith(segment.name)
    assert again.order_count("X") == 9
    assert again.order("X", 10) is None


def test_damage_in_the_middle_stops_recovery_naming_segment_and_offset(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    live = make_engine()
    live.open_journal(str(tmp_path), fsync="none")
    for i in range(1, 11):
        live.submit("X", i, "sell", qty="1", price=str(200 + i))
    live.close_journal()
    (segment,) = tmp_path.glob("*.wal")
    data = bytearray(segment.read_bytes())
    data[2 * RECORD + 30] ^= 0x01
    segment.write_bytes(bytes(data))
    with pytest.raises(errors.JournalCorruptError, match=rf"{segment.name}.*offset={2 * RECORD}"):
        make_engine().open_journal(str(tmp_path))
    assert segment.read_bytes() == bytes(data), "a failed recovery must not change the files"
    assert main(["journal", "verify", str(tmp_path), "--json"]) == 1
    summary = json.loads(capsys.readouterr().out)
    assert summary["ok"] is False
    assert f"offset={2 * RECORD}" in summary["error"]


def test_one_writer_per_journal_directory(tmp_path: Path) -> None:
    first = make_engine()
    first.open_journal(str(tmp_path))
    with pytest.raises(errors.JournalError, match="open in another writer"):
        make_engine().open_journal(str(tmp_path))
    first.close_journal()
    make_engine().open_journal(str(tmp_path))


def test_misuse_is_refused(tmp_path: Path) -> None:
    eng = make_engine()
    eng.submit("X", 1, "buy", qty="1", price="100")
    with pytest.raises(errors.JournalError, match="before the first command"):
        eng.open_journal(str(tmp_path))
    eng = make_engine()
    with pytest.raises(errors.JournalError, match="fsync"):
        eng.open_journal(str(tmp_path), fsync="sometimes")  # type: ignore[arg-type]
    eng.open_journal(str(tmp_path))
    with pytest.raises(errors.JournalError, match="bypass the journal"):
        eng.restore(make_engine().snapshot(0))
    with pytest.raises(errors.JournalError, match="bypass the journal"):
        eng.run_native(0, np.zeros(0, np.uint8))
    with pytest.raises(errors.JournalError, match="define instruments before open_journal"):
        eng.add_instrument(
            "W", tick_size="1", lot_size="1", min_qty="1", max_qty="1", min_price="1", max_price="2"
        )
    eng.close_journal()
    # Different instruments than the journal's snapshot: refused.
    eng = make_engine()
    eng.open_journal(str(tmp_path))
    eng.submit("X", 5, "buy", qty="1", price="100")
    eng.journal_snapshot()
    eng.close_journal()
    other = Engine()
    other.add_instrument(
        "Z", tick_size="1", lot_size="1", min_qty="1", max_qty="1", min_price="1", max_price="2"
    )
    with pytest.raises(errors.JournalError, match="same instruments"):
        other.open_journal(str(tmp_path))


def test_cli_inspect_and_exports(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    d = tmp_path / "j"
    eng = make_engine()
    eng.open_journal(str(d), fsync="every")
    eng.submit("X", 1, "buy", qty="2", price="100")
    eng.amend("X", 1, qty="1")
    eng.submit("Y", 2, "sell", qty="0.5", price="10.5")
    eng.cancel("X", 1)
    eng.close_journal()
    assert main(["journal", "inspect", str(d), "--json"]) == 0
    s = json.loads(capsys.readouterr().out)
    assert (s["ok"], s["records"], s["first_seq"], s["last_seq"]) == (True, 4, 1, 4)
    assert s["commands"] == {"new": 2, "amend": 1, "cancel": 1}
    assert s["instruments"] == {"0": 3, "1": 1}
    assert main(["journal", "export", str(d)]) == 0
    rows = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert [r["kind"] for r in rows] == ["new", "amend", "new", "cancel"]
    assert (rows[2]["price"], rows[2]["qty"]) == (21, 5)  # ticks of 0.5 and lots of 0.1
    out = tmp_path / "j.csv"
    assert main(["journal", "export", str(d), "--format", "csv", "--out", str(out)]) == 0
    assert out.read_text().splitlines()[0].startswith("kind,seq,instrument,order_id")
    pq = tmp_path / "j.parquet"
    assert main(["journal", "export", str(d), "--format", "parquet", "--out", str(pq)]) == 0
    import pyarrow.parquet as parquet

    assert parquet.read_table(pq).num_rows == 4
    assert main(["journal", "inspect", str(tmp_path / "missing")]) == 2


def test_cli_export_into_a_closed_pipe_stops_quietly(tmp_path: Path) -> None:
    d = tmp_path / "j"
    eng = make_engine()
    eng.open_journal(str(d), fsync="none")
    for i in range(1, 3001):  # about 600 KB of JSON lines: more than a pipe holds
        eng.submit("X", i, "buy" if i % 2 else "sell", qty="1", price=str(90 + i % 20))
    eng.close_journal()
    cli = [sys.executable, "-m", "wintermute.cli", "journal", "export", str(d)]
    with subprocess.Popen(cli, stdout=subprocess.PIPE, stderr=subprocess.PIPE) as p:
        assert p.stdout is not None
        assert p.stderr is not None
        assert json.loads(p.stdout.readline())["seq"] == 1
        p.stdout.close()  # what `| head -1` does
        err = p.stderr.read().decode()
        assert p.wait(timeout=60) == 128 + signal.SIGPIPE, err
    assert "Traceback" not in err, err


CHILD = textwrap.dedent(
    """
    import sys
    import numpy as np
    from wintermute import Engine, _core, batch
    path, commands = sys.argv[1], int(sys.argv[2])
    wl = _core.generate_workload("exchange_core", 5, commands)
    spec = wl["spec"]
    eng = Engine()
    eng.add_instrument(spec["symbol"], tick_size=spec["tick_size"], lot_size=spec["lot_size"],
                       min_qty=spec["min_qty"], max_qty=spec["max_qty"],
                       min_price=spec["min_price"], max_price=spec["max_price"])
    report = eng.open_journal(path, fsync="none", segment_size=1 << 16)
    stream = np.concatenate([wl["warmup"], wl["commands"]]).view(batch.COMMAND_DTYPE)
    done = report["records"]
    print("start", done, flush=True)
    for i in range(done, len(stream)):
        eng.submit_batch(0, stream[i : i + 1])
        if i % 50 == 0:
            print("ack", i + 1, flush=True)   # commands 0..i are journaled and executed
    print("end", len(stream), flush=True)
    """
)


@pytest.mark.slow
def test_sigkill_at_random_moments_loses_nothing_acknowledged(tmp_path: Path) -> None:
    """Kill the engine process with SIGKILL at random moments, many times; after each restart
    every acknowledged command is in the journal and the books equal a replay of the journal."""
    rng = random.Random(2026)
    jdir = tmp_path / "journal"
    total = 40_000
    acked = 0
    env = dict(os.environ)
    for _round in range(12):
        child = subprocess.Popen(
            [sys.executable, "-c", CHILD, str(jdir), str(total)],
            stdout=subprocess.PIPE,
            text=True,
            env=env,
        )
        assert child.stdout is not None
        start = child.stdout.readline().split()
        assert start[0] == "start"
        assert int(start[1]) >= acked, "an acknowledged command was lost"
        kill_after = rng.randint(2, 30)
        for _ in range(kill_after):
            line = child.stdout.readline()
            if not line or line.startswith("end"):
                break
            acked = max(acked, int(line.split()[1]))
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=30)
        child.stdout.close()
        assert child.returncode == -signal.SIGKILL
    # Final restart: recover, and compare with a clean replay of what the journal holds.
    entries = journal.read(jdir)
    assert len(entries) >= acked > 0
    assert np.array_equal(entries["seq"], np.arange(1, len(entries) + 1))
    spec = _core.generate_workload("exchange_core", 5, 1)["spec"]
    recovered, replay = Engine(), Engine()
    for eng in (recovered, replay):
        eng.add_instrument(
            spec["symbol"],
            tick_size=spec["tick_size"],
            lot_size=spec["lot_size"],
            min_qty=spec["min_qty"],
            max_qty=spec["max_qty"],
            min_price=spec["min_price"],
            max_price=spec["max_price"],
        )
    recovered.open_journal(str(jdir), fsync="none")
    cmds = np.zeros(len(entries), dtype=batch.COMMAND_DTYPE)
    for name in batch.COMMAND_DTYPE.names or ():
        if name != "_pad":
            cmds[name] = entries[name]
    replay.submit_batch(0, cmds)
    assert recovered.snapshot(0) == replay.snapshot(0)
