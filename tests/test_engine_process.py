"""``wintermute run`` (wintermute.engine_process) and ``wintermute bench pipeline``: clean
stops, the acknowledgement log, crash recovery under load, and the benchmark's JSON document."""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np
import pytest

from wintermute import batch, journal
from wintermute.cli import main
from wintermute.config import EngineConfig
from wintermute.engine import Engine
from wintermute.pipeline import Pipeline

CONFIG = """
[[instruments]]
symbol = "BTC-USD"
tick_size = "0.01"
lot_size = "0.001"
min_qty = "0.001"
max_qty = "100"
min_price = "1"
max_price = "1000000"

[[instruments]]
symbol = "ETH-USD"
tick_size = "0.05"
lot_size = "0.01"
min_qty = "0.01"
max_qty = "1000"
min_price = "1"
max_price = "100000"

[threads.risk]
wait = { kind = "park", timeout_us = 200 }

[gateways]
wait = { kind = "park", timeout_us = 200 }

[journal]
dir = "journal"
fsync = "none"
"""


def write_config(tmp_path: Path) -> Path:
    path = tmp_path / "engine.toml"
    path.write_text(CONFIG, encoding="utf-8")
    return path


def run_cli(*args: str, **kwargs: Any) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [sys.executable, "-m", "wintermute.cli", "run", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kwargs,
    )


def acked_journal_seqs(path: Path) -> list[int]:
    """Journal sequence numbers of the acknowledged commands (a torn last line is skipped)."""
    text = path.read_text(encoding="utf-8") if path.exists() else ""
    lines = text.split("\n")[:-1]  # the part after the last newline is not a whole line
    seqs = []
    for line in lines:
        gateway, command_seq, journal_seq = (int(x) for x in line.split())
        assert gateway == 0
        assert command_seq >= 1
        seqs.append(journal_seq)
    return seqs


def wait_for_acks(path: Path, minimum: int, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(acked_journal_seqs(path)) >= minimum:
            return
        time.sleep(0.05)
    raise AssertionError(f"fewer than {minimum} acknowledgements after {timeout} s")


def test_run_for_seconds_with_a_workload(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    acks = tmp_path / "acks.log"
    proc = run_cli(
        "--config", str(cfg), "--seconds", "1.5", "--workload", "5000", "--stats-every", "0.5",
        "--ack-log", str(acks),
    )  # fmt: skip
    out, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err
    assert ": 0 commands and 0 controls replayed, journal seq 0" in out
    assert out.count("cmd/s") >= 3  # periodic lines and the final one
    assert "end_to_end" in out
    assert "stopped: journal flushed" in out
    seqs = acked_journal_seqs(acks)
    assert len(seqs) > 1000
    assert f"acknowledged {len(seqs):,} commands" in out
    assert sorted(seqs) == list(range(1, len(seqs) + 1))  # no risk: every command journaled
    assert len(journal.read(tmp_path / "journal")) == len(seqs)


def test_sigterm_stops_cleanly_and_the_next_start_recovers(tmp_path: Path) -> None:
    cfg = write_config(tmp_path)
    acks = tmp_path / "acks.log"
    proc = run_cli("--config", str(cfg), "--workload", "3000", "--ack-log", str(acks))
    try:
        wait_for_acks(acks, 200, timeout=30)
        proc.send_signal(signal.SIGTERM)
        out, err = proc.communicate(timeout=60)
    finally:
        proc.kill()
    assert proc.returncode == 0, err
    assert "stopped: journal flushed" in out
    n = len(acked_journal_seqs(acks))
    again = subprocess.run(
        [sys.executable, "-m", "wintermute.cli", "run", "--config", str(cfg), "--seconds", "0.2"],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert again.returncode == 0, again.stderr
    assert f": {n:,} commands and 0 controls replayed, journal seq {n:,}" in again.stdout


def test_bad_config_is_a_clear_error(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    bad = tmp_path / "bad.toml"
    bad.write_text(CONFIG.replace("[gateways]", "[gateways]\ncount = 0"), encoding="utf-8")
    assert main(["run", "--config", str(bad)]) == 2
    assert "gateways.count" in capsys.readouterr().err


def replay_in_thread(config: EngineConfig, journal_dir: Path) -> dict[str, Any]:
    """The books of a clean, single-threaded replay of the whole journal."""
    eng = Engine()
    for spec in config.instruments:
        eng.add_instrument(spec)
    entries = journal.read(journal_dir)
    cmds = np.zeros(len(entries), dtype=batch.COMMAND_DTYPE)
    for name in cmds.dtype.names or ():
        if not name.startswith("_"):
            cmds[name] = entries[name]
    # Consecutive runs of one instrument, in journal order.
    cuts = np.flatnonzero(np.diff(entries["instrument"])) + 1
    for part, chunk in zip(
        np.split(entries["instrument"], cuts), np.split(cmds, cuts), strict=True
    ):
        if len(chunk):
            eng.submit_batch(int(part[0]), chunk)
    return {s.symbol: json.loads(eng.snapshot(s.symbol)) for s in config.instruments}


@pytest.mark.slow
def test_crash_under_load_loses_nothing_acknowledged(tmp_path: Path) -> None:
    cfg_path = write_config(tmp_path)
    config = EngineConfig.from_file(cfg_path)
    assert config.journal is not None
    journal_dir = Path(config.journal.dir)
    acks = tmp_path / "acks.log"
    rng = random.Random(20261125)
    kills = 8
    for round_ in range(kills):
        # Read before the restart: once it runs, it acknowledges commands of its own.
        acked_before = acked_journal_seqs(acks)
        proc = run_cli(
            "--config", str(cfg_path), "--workload", "20000", "--stats-every", "0",
            "--ack-log", str(acks), "--seed", str(round_),
        )  # fmt: skip
        try:
            assert proc.stdout is not None
            started = proc.stdout.readline()
            assert started.startswith("started:"), started + (
                proc.stderr.read() if proc.stderr else ""
            )
            # The restart recovered at least every command acknowledged before it.
            recovered = int(started.split("journal seq ")[1].split()[0].replace(",", ""))
            assert recovered >= max(acked_before, default=0)
            wait_for_acks(acks, len(acked_before) + 100, timeout=30)
            time.sleep(rng.uniform(0.0, 1.0))
        finally:
            os.kill(proc.pid, signal.SIGKILL)
            proc.communicate(timeout=30)
        assert proc.returncode == -signal.SIGKILL
        # Every acknowledged command is in the journal as recovered after the crash.
        in_journal = set(journal.read(journal_dir)["seq"].tolist())
        acked = [s for s in acked_journal_seqs(acks) if s]
        missing = [s for s in acked if s not in in_journal]
        assert not missing, f"round {round_}: acknowledged but not journaled: {missing[:10]}"
    # The books recovered by the engine equal a clean replay of the journal.
    with Pipeline(config) as eng:
        recovered_records = eng.stats().recovered_records
    books = eng.shutdown()["books"]
    assert recovered_records == len(journal.read(journal_dir)) > kills * 100
    expected = replay_in_thread(config, journal_dir)
    assert {s: json.loads(b) for s, b in books.items()} == expected
    assert sum(len(b["orders"]) for b in expected.values()) > 0


def test_bench_pipeline_json_has_the_core_bench_shape(capsys: pytest.CaptureFixture[str]) -> None:
    argv = ["bench", "pipeline", "--rates", "20k,max", "--journal", "off,none", "--seconds", "0.05"]
    assert main([*argv, "--json"]) == 0
    doc = first = json.loads(capsys.readouterr().out)
    assert set(doc) == {"workload", "results", "notes"}
    systems = [r["system"] for r in doc["results"]]
    prefix = "wintermute-pipeline" if (os.cpu_count() or 1) < 4 else "wintermute-pipeline-split"
    assert systems == [
        f"{prefix}@20k/no-journal",
        f"{prefix}@20k/journal",
        f"{prefix}@max/no-journal",
        f"{prefix}@max/journal",
    ]
    core_keys = {"system", "ops_per_s", "p50_ns", "p99_ns", "p999_ns"}
    for r in doc["results"]:
        assert core_keys | {"max_ns"} <= set(r)
        assert 0 < r["p50_ns"] <= r["p99_ns"] <= r["p999_ns"] <= r["max_ns"]
        assert r["ops_per_s"] > 0
        assert r["commands"] >= 1000
    assert doc["results"][0]["offered_ops_per_s"] == 20_000
    assert any("journal vs no journal" in note for note in doc["notes"])
    assert doc["workload"]["outputs"] == "executions"
    assert main([*argv[:2], "--rates", "20k", "--journal", "off", "--seconds", "0.05"]) == 0
    assert "wintermute-pipeline" in capsys.readouterr().out
    one = ["--rates", "20k", "--journal", "off", "--seconds", "0.05", "--json"]
    assert main([*argv[:2], *one, "--outputs", "all"]) == 0
    doc = json.loads(capsys.readouterr().out)
    assert [r["system"] for r in doc["results"]] == [f"{prefix}+deltas@20k/no-journal"]
    assert doc["workload"]["outputs"] == "all"
    # Level updates are most of the outputs: the execution feed carries fewer per command.
    executions = {r["system"]: r["outputs_per_command"] for r in first["results"]}
    assert 1 <= executions[f"{prefix}@20k/no-journal"] < doc["results"][0]["outputs_per_command"]


def test_bench_pipeline_rejects_bad_arguments(capsys: pytest.CaptureFixture[str]) -> None:
    for bad in (
        ["--rates", "1.5M"],
        ["--journal", "sometimes"],
        ["--seconds", "0"],
        ["--outputs", "x"],
    ):
        with pytest.raises(SystemExit):
            main(["bench", "pipeline", *bad])
        assert "error" in capsys.readouterr().err


def test_a_torn_ack_log_line_is_cut_before_a_run_appends(tmp_path: Path) -> None:
    # A crash mid-batch leaves "0 2001 2" without its newline; appending to it would run the
    # next run's first line into it ("0 2001 20 1 1"). Whole lines before it stay.
    cfg = write_config(tmp_path)
    acks = tmp_path / "acks.log"
    whole = "".join(f"0 {i} {i}\n" for i in range(1, 2001))

    def run(*extra: str) -> str:
        proc = run_cli("--config", str(cfg), "--seconds", "0.3", "--ack-log", str(acks), *extra)
        out, err = proc.communicate(timeout=60)
        assert proc.returncode == 0, err
        return out

    acks.write_text(whole + "0 2001 2")
    out = run("--workload", "2000")
    assert "warning: torn last line of the ack log cut off: 8 bytes" in out
    text = acks.read_text(encoding="utf-8")
    assert text.startswith(whole)
    assert text.endswith("\n")
    new = acked_journal_seqs(acks)[2000:]  # every line has three fields, or this raises
    assert sorted(new) == list(range(1, len(new) + 1))
    assert len(new) > 100
    # A torn part longer than the 4 KiB blocks the file is read back in.
    acks.write_text(whole + "9" * 5000)
    assert "cut off: 5000 bytes" in run()
    assert acks.read_text(encoding="utf-8") == whole
    # No newline at all: all of it is torn. Empty, or ending in a newline: left alone.
    acks.write_text("0 1")
    assert "cut off: 3 bytes" in run()
    assert acks.read_text(encoding="utf-8") == ""
    for intact in ("", "0 1 1\n"):
        acks.write_text(intact)
        assert "warning: torn" not in run()
        assert acks.read_text(encoding="utf-8") == intact
