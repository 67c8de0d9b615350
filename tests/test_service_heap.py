"""The server process freezes its start-up heap (``wintermute.service.heap``), so that a full
garbage collection walks only what was allocated since; ``wintermute bench gc`` measures it."""

from __future__ import annotations

import gc
import json
import subprocess
import sys
from pathlib import Path

from service_fixtures import running_server, service_config
from wintermute.bench import gc_pause
from wintermute.service.app import create_app

ROOT = Path(__file__).resolve().parents[1]


def test_an_app_marked_as_the_process_server_freezes_the_heap_at_startup() -> None:
    assert gc.get_freeze_count() == 0
    try:
        app = create_app(service_config())
        with running_server(app):  # not marked: nothing frozen (a test's or a notebook's app)
            assert gc.get_freeze_count() == 0
        app = create_app(service_config())
        app.state.freeze_heap = True  # as serve and demo mark theirs
        with running_server(app):
            frozen = gc.get_freeze_count()
        assert frozen > 10_000  # the modules, classes and functions loaded by then
    finally:
        gc.unfreeze()
    assert gc.get_freeze_count() == 0


def test_a_frozen_heap_leaves_the_collector_only_what_came_after() -> None:
    code = (
        "import json, sys; from wintermute.bench import gc_pause; "
        "print(json.dumps([gc_pause.measure(300, f) for f in (False, True)]))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300,
        check=True,
    )  # fmt: skip
    plain, frozen = json.loads(done.stdout.strip().splitlines()[-1])
    assert (plain["frozen"], frozen["frozen"]) == (False, True)
    assert plain["frozen_objects"] == 0 < frozen["frozen_objects"]
    # What the collector still walks: the orders and what the run allocated, not the start-up heap.
    assert frozen["tracked_objects"] < plain["tracked_objects"] - frozen["frozen_objects"] // 2
    assert frozen["full_collection_ms"] > 0
    assert plain["full_collection_ms"] > 0


def test_wintermute_bench_gc_reports_both_kinds_and_their_ratio() -> None:
    r = gc_pause.run(orders=200, rounds=1)
    assert [x["frozen"] for x in r["runs"]] == [False, True]
    assert r["frozen_vs_not"] == r["frozen_ms"] / r["not_frozen_ms"]
    table = gc_pause.to_table(r)
    assert "not frozen" in table
    assert "x)" in table
    cmd = [sys.executable, "-m", "wintermute.cli", "bench", "gc", "--orders", "0"]
    bad = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=60, check=False)
    assert bad.returncode == 2
    assert "must be a positive integer, got 0" in bad.stderr
