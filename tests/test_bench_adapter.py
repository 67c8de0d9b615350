"""Measurement of adapters (wintermute.bench.adapter)."""

from __future__ import annotations

import math
from array import array
from collections.abc import Callable

import pytest

from wintermute.bench.adapter import Result, StepAdapter, percentile
from wintermute.bench.workload import Workload, generate


class _Recorder(StepAdapter[int]):
    """A fake system that records which commands each session applied."""

    name = "recorder"
    note = "recorder: test double"
    install_hint = "nothing to install"
    module = "array"

    def __init__(self) -> None:
        self.sessions: list[list[int]] = []

    def prepare(self, workload: Workload) -> int:
        return len(workload)

    def session(self, prepared: int) -> Callable[[int], object]:
        applied: list[int] = []
        self.sessions.append(applied)
        return applied.append


def test_step_adapter_runs_warmup_untimed_then_two_passes() -> None:
    stream = generate(seed=1, orders=50, warmup=10)
    adapter = _Recorder()
    result = adapter.run(stream)
    assert adapter.sessions == [list(range(60)), list(range(60))]  # two fresh systems
    assert result.system == "recorder"
    assert result.ops == 50
    assert result.seconds > 0
    assert len(result.latencies_ns) == 50
    assert all(ns >= 0 for ns in result.latencies_ns)


def test_available_follows_the_module() -> None:
    assert _Recorder().available()

    class Missing(_Recorder):
        module = "surely_not_an_installed_module_xyz"

    assert not Missing().available()


def test_percentile_is_nearest_rank() -> None:
    ordered = list(range(1, 1001))
    assert percentile(ordered, 50) == 500
    assert percentile(ordered, 99) == 990
    assert percentile(ordered, 99.9) == 999
    assert percentile(ordered, 100) == 1000
    assert percentile([7], 50) == 7
    with pytest.raises(ValueError, match="empty"):
        percentile([], 50)
    with pytest.raises(ValueError, match="must be in"):
        percentile(ordered, 0)


def test_result_rates() -> None:
    result = Result("x", 1_000, 0.5, array("q", [3, 1, 2]))
    assert result.ops_per_s == 2_000
    assert result.percentile_ns(50) == 2
    assert Result("x", 1, 0.0, array("q", [1])).ops_per_s == math.inf
