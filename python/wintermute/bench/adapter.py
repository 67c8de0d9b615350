"""What a benchmarked system plugs into: the :class:`Adapter` protocol and its measurement.

Each system is measured twice on the same workload, each time on a fresh book built by the
untimed warm-up:

1. **throughput**: one timed loop over all measured commands, no per-command timing;
2. **latency**: a second pass timing each command with :func:`time.perf_counter_ns`, from which
   the report takes p50, p99 and p99.9. Each sample includes one Python call and two clock reads
   (tens of nanoseconds), the same for every Python-driven system.

Anything an adapter must convert before the run (commands into the peer's own objects, derived
book updates) happens outside both timed regions, so each peer is timed on its own work.
"""

from __future__ import annotations

import gc
import importlib.util
import math
import time
from abc import ABC, abstractmethod
from array import array
from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from wintermute.bench.workload import Workload

if TYPE_CHECKING:
    from _typeshed import DataclassInstance

Prepared = TypeVar("Prepared")


@dataclass(frozen=True)
class Result:
    """One system's measurement: ``ops`` commands in ``seconds``, plus per-command latencies."""

    system: str
    ops: int
    seconds: float
    latencies_ns: array[int]

    @property
    def ops_per_s(self) -> float:
        return self.ops / self.seconds if self.seconds > 0 else math.inf

    def percentile_ns(self, q: float) -> int:
        """Nearest-rank percentile of the latency sample, ``q`` in (0, 100]."""
        return percentile(sorted(self.latencies_ns), q)


def percentile(ordered: list[int], q: float) -> int:
    """Nearest-rank percentile of an ascending list, ``q`` in (0, 100]."""
    if not ordered:
        raise ValueError("percentile of an empty sample")
    if not 0 < q <= 100:
        raise ValueError(f"q={q} must be in (0, 100]")
    # Rounded first: float noise (99.9 / 100 * 1000 = 999.0000000000001) must not bump the rank.
    rank = math.ceil(round(q * len(ordered) / 100, 6))
    return ordered[max(rank, 1) - 1]


def results_document(
    workload: dict[str, Any], rows: Iterable[DataclassInstance], notes: list[str]
) -> dict[str, Any]:
    """A ``bench --json`` document: ``{"workload", "results", "notes"}``; each result is a row's
    fields by name (``system``, ``ops_per_s`` to one decimal, the percentiles in ns)."""
    results = [asdict(row) for row in rows]
    for result in results:
        result["ops_per_s"] = round(result["ops_per_s"], 1)
    return {"workload": workload, "results": results, "notes": notes}


class Adapter(Protocol):
    """A system that `wintermute bench` can run the workload through."""

    #: The system's name in reports (``"nautilus_trader"``, ``"wintermute-python"``, ...).
    name: str
    #: A one-line description of how the workload was adapted to the system (a report note).
    note: str
    #: What to install when :meth:`available` is false.
    install_hint: str

    def available(self) -> bool:
        """Whether the system can run here (its package is installed)."""
        ...

    def run(self, workload: Workload) -> Result:
        """Replay ``workload`` and measure throughput and per-command latency."""
        ...


class StepAdapter(ABC, Generic[Prepared]):
    """An :class:`Adapter` for systems driven one command per Python call.

    Subclasses convert the workload once (:meth:`prepare`) and build a fresh system that returns
    a ``step(i)`` function applying command ``i`` (:meth:`session`); :meth:`run` does the timing.
    """

    name: str
    note: str
    install_hint: str
    #: The module whose presence makes the system available.
    module: str

    def available(self) -> bool:
        try:
            return importlib.util.find_spec(self.module) is not None
        except ImportError:
            return False

    @abstractmethod
    def prepare(self, workload: Workload) -> Prepared:
        """Convert the workload into this system's inputs (untimed)."""

    @abstractmethod
    def session(self, prepared: Prepared) -> Callable[[int], object]:
        """A fresh, empty system; return the function applying command ``i`` to it."""

    def run(self, workload: Workload) -> Result:
        prepared = self.prepare(workload)
        warmup, total = workload.warmup, len(workload)

        step = self.session(prepared)
        for i in range(warmup):
            step(i)
        gc.collect()
        start = time.perf_counter()
        for i in range(warmup, total):
            step(i)
        seconds = time.perf_counter() - start

        step = self.session(prepared)
        for i in range(warmup):
            step(i)
        latencies = array("q", bytes(8 * (total - warmup)))
        clock = time.perf_counter_ns
        gc.collect()
        for j, i in enumerate(range(warmup, total)):
            t0 = clock()
            step(i)
            latencies[j] = clock() - t0
        return Result(self.name, total - warmup, seconds, latencies)
