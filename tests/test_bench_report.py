"""Running adapters and reporting (wintermute.bench.report)."""

from __future__ import annotations

import json
from array import array

from wintermute.bench.adapter import Result
from wintermute.bench.report import run
from wintermute.bench.workload import Workload, generate


class _Fake:
    def __init__(self, name: str, available: bool, seconds: float = 0.5) -> None:
        self.name = name
        self.note = f"{name}: fake"
        self.install_hint = f"pip install {name}"
        self._available = available
        self._seconds = seconds
        self.runs = 0

    def available(self) -> bool:
        return self._available

    def run(self, workload: Workload) -> Result:
        self.runs += 1
        latencies = array("q", range(1, workload.measured + 1))
        return Result(self.name, workload.measured, self._seconds, latencies)


STREAM = generate(seed=1, orders=1_000, warmup=10)


def test_json_document_has_exactly_the_documented_shape() -> None:
    adapters = [_Fake("order-book", True, 0.25), _Fake("sortedcontainers", True)]
    document = run(STREAM, adapters).to_json()
    assert set(document) == {"workload", "results", "notes"}
    assert document["workload"] == STREAM.describe()
    assert document["results"] == [
        {"system": "order-book", "ops_per_s": 4000.0, "p50_ns": 500, "p99_ns": 990, "p999_ns": 999},
        {
            "system": "sortedcontainers",
            "ops_per_s": 2000.0,
            "p50_ns": 500,
            "p99_ns": 990,
            "p999_ns": 999,
        },
    ]
    assert json.loads(json.dumps(document)) == document


def test_missing_peers_are_left_out_and_named_in_notes() -> None:
    missing = _Fake("nautilus_trader", False)
    report = run(STREAM, [missing, _Fake("sortedcontainers", True)])
    assert [row.system for row in report.rows] == ["sortedcontainers"]
    assert missing.runs == 0
    assert any("nautilus_trader left out" in n and "pip install" in n for n in report.notes)
    assert any("wintermute-native" in n and "not wired" in n for n in report.notes)
    assert "sortedcontainers: fake" in report.notes


def test_systems_filter_runs_only_those_named() -> None:
    a, b = _Fake("order-book", True), _Fake("sortedcontainers", True)
    report = run(STREAM, [a, b], systems=["order-book"])
    assert (a.runs, b.runs) == (1, 0)
    assert not any("not wired" in n for n in report.notes)


def test_table_lists_systems_and_ratios() -> None:
    table = run(STREAM, [_Fake("order-book", True, 0.25), _Fake("sortedcontainers", True)])
    text = table.to_table()
    lines = text.splitlines()
    assert lines[0].split() == ["system", "ops/s", "p50", "ns", "p99", "ns", "p99.9", "ns"]
    assert lines[2].split()[:2] == ["order-book", "4,000"]
    assert "throughput ratio (row / column):" in lines
    matrix = lines[lines.index("throughput ratio (row / column):") + 1 :]
    assert matrix[0].split() == ["[1]", "[2]"]
    assert matrix[1].split() == ["[1]", "order-book", "1.00", "2.00"]
    assert matrix[2].split() == ["[2]", "sortedcontainers", "0.50", "1.00"]
