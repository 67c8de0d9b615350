"""Running the adapters on one workload and reporting the results as a table or JSON."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from wintermute.bench.adapter import Adapter, Result, percentile, results_document
from wintermute.bench.registry import SYSTEMS
from wintermute.bench.workload import Workload


@dataclass(frozen=True)
class Row:
    """One line of the report."""

    system: str
    ops_per_s: float
    p50_ns: int
    p99_ns: int
    p999_ns: int

    @classmethod
    def of(cls, result: Result) -> Row:
        ordered = sorted(result.latencies_ns)
        return cls(
            result.system,
            result.ops_per_s,
            percentile(ordered, 50),
            percentile(ordered, 99),
            percentile(ordered, 99.9),
        )


@dataclass(frozen=True)
class Report:
    workload: dict[str, Any]
    rows: list[Row]
    notes: list[str]

    def to_json(self) -> dict[str, Any]:
        """The ``bench --json`` document: ``{"workload", "results", "notes"}``."""
        return results_document(self.workload, self.rows, self.notes)

    def to_table(self) -> str:
        """A fixed-width table, then each system's throughput relative to every other one."""
        header = f"{'system':<26}{'ops/s':>14}{'p50 ns':>10}{'p99 ns':>10}{'p99.9 ns':>10}"
        lines = [header, "-" * len(header)]
        lines += [
            f"{r.system:<26}{r.ops_per_s:>14,.0f}{r.p50_ns:>10,}{r.p99_ns:>10,}{r.p999_ns:>10,}"
            for r in self.rows
        ]
        if len(self.rows) > 1:
            # Columns are numbered like the rows, so the matrix stays narrow.
            lines += ["", "throughput ratio (row / column):"]
            lines.append(" " * 30 + "".join(f"{f'[{j}]':>9}" for j in range(1, len(self.rows) + 1)))
            for i, r in enumerate(self.rows, start=1):
                cells = "".join(f"{r.ops_per_s / c.ops_per_s:>9.2f}" for c in self.rows)
                lines.append(f"{f'[{i}] {r.system}':<30}{cells}")
        if self.notes:
            lines += ["", "notes:"] + [f"- {note}" for note in self.notes]
        return "\n".join(lines)


def run(workload: Workload, adapters: Iterable[Adapter], systems: Sequence[str] = ()) -> Report:
    """Run every available adapter (only those named in ``systems``, when given)."""
    adapters = [a for a in adapters if not systems or a.name in systems]
    notes: list[str] = []
    known = {a.name for a in adapters}
    missing = [s for s in SYSTEMS if s not in known and (not systems or s in systems)]
    if missing:
        notes.append(f"not wired into the harness yet: {', '.join(missing)}")
    rows: list[Row] = []
    for adapter in adapters:
        if not adapter.available():
            notes.append(f"{adapter.name} left out: not installed ({adapter.install_hint})")
            continue
        rows.append(Row.of(adapter.run(workload)))
        notes.append(adapter.note)
    return Report(workload.describe(), rows, notes)
