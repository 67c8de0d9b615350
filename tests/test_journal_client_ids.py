"""Client order ids and wall-clock time in a pipeline's journal, as Python reads them back:
``journal.read`` (``wall_ns``), ``journal.read_client_order_ids``, ``journal.read_rejections``
and the JSON-lines export (docs/runtime.md)."""

from __future__ import annotations

import io
import json
import time
from pathlib import Path
from typing import Any

import pytest

from specs import BTC, PARK
from wintermute import errors, journal
from wintermute.config import EngineConfig
from wintermute.pipeline import Pipeline


def journaled(tmp_path: Path) -> EngineConfig:
    data: dict[str, Any] = {
        "instruments": [BTC],
        "threads": {"risk": {"wait": PARK}, "matching": {"wait": PARK}},
        "gateways": {"count": 1, "capacity": 1024, "backpressure": "block", "wait": PARK},
        "risk": {"accounts": {"7": {"max_order_qty": 10}}},
        "journal": {"dir": str(tmp_path / "journal"), "fsync": "none", "segment_size": 1 << 20},
    }
    return EngineConfig.from_dict(data)


def test_client_order_ids_and_times_come_back_from_a_pipelines_journal(tmp_path: Path) -> None:
    cfg = journaled(tmp_path)
    start = time.time_ns()
    with Pipeline(cfg) as eng:
        gw = eng.gateway(0)
        gw.submit_ticks(0, 1, 0, 10_000, 5, account=7, client_order_id="bid-1")
        gw.submit_ticks(0, 2, 1, 10_050, 1, account=7)
        gw.submit_ticks(0, 3, 0, 10_000, 11, account=7, client_order_id="too:big/3")  # refused
        with pytest.raises(errors.InvalidOrderError, match="client order id"):
            gw.submit_ticks(0, 4, 0, 10_000, 1, account=7, client_order_id="no spaces")
        eng.subscription(0).poll(timeout=10.0, until_commands=3)
    end = time.time_ns()
    path = tmp_path / "journal"
    assert journal.read_client_order_ids(path) == {1: "bid-1", 3: "too:big/3"}
    entries = journal.read(path)
    assert entries["seq"].tolist() == [1, 2], "the bad id was refused before the ring"
    assert all(start <= t <= end for t in entries["wall_ns"].tolist())
    refused = journal.read_rejections(path)
    assert refused["seq"].tolist() == [3]
    assert start <= int(refused["wall_ns"][0]) <= end
    out = io.StringIO()
    assert journal.export(path, "jsonl", out) == 3
    rows = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [r.get("client_order_id") for r in rows] == ["bid-1", None, "too:big/3"]
    assert all(r["wall_ns"] >= start for r in rows)
