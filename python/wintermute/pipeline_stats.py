"""What the threaded engine measured and recovered, as frozen, typed records:
``Pipeline.stats()`` and the ``stats`` of ``Pipeline.shutdown()``; ``Pipeline.recovery()``
and ``Pipeline.snapshot()``.

>>> from wintermute import Pipeline
>>> config = {"instruments": [{"symbol": "BTC-USD", "tick_size": "0.01",
...     "lot_size": "0.001", "min_qty": "0.001", "max_qty": "100", "min_price": "1",
...     "max_price": "1000000"}], "threads": {"risk": {"wait": "park"}}}
>>> with Pipeline(config) as eng:
...     _ = eng.gateway(0).submit("BTC-USD", 1, "buy", qty="1", price="100")
>>> stats = eng.shutdown()["stats"]
>>> stats.counters.received, stats.latency.end_to_end.count
(1, 1)
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass
from typing import Any, Literal

from wintermute import _core

__all__ = [
    "Counters",
    "GatewayStats",
    "JournalRolls",
    "Latency",
    "PipelineStats",
    "Recovery",
    "RingStats",
    "SnapshotInfo",
    "StageLatencies",
    "ThreadStats",
]


class _DictAccess:
    """``stats["latency"]`` as ``stats.latency``, with a ``DeprecationWarning``: these records
    were dicts until they had types; the attributes are the way."""

    __slots__ = ()

    def __getitem__(self, key: str) -> Any:
        warnings.warn(
            f"{type(self).__name__}[{key!r}] is deprecated: it is typed, use .{key}",
            DeprecationWarning,
            stacklevel=2,
        )
        try:
            return getattr(self, key)
        except AttributeError:
            raise KeyError(key) from None


@dataclass(frozen=True)
class Latency(_DictAccess):
    """A latency distribution, in nanoseconds."""

    count: int
    min_ns: int
    mean_ns: float
    p50_ns: int
    p95_ns: int
    p99_ns: int
    p999_ns: int
    max_ns: int


@dataclass(frozen=True)
class StageLatencies(_DictAccess):
    """Latency per stage, and end to end (gateway to publication)."""

    gateway_to_risk: Latency
    risk_to_match: Latency
    match_to_publish: Latency
    end_to_end: Latency


@dataclass(frozen=True)
class Counters(_DictAccess):
    """Commands received, rejected by risk, sequenced (journaled), refused by the book, not
    run (after a halt); events and outputs published."""

    received: int
    risk_rejected: int
    sequenced: int
    refused: int
    not_run: int
    events: int
    outputs: int


@dataclass(frozen=True)
class RingStats(_DictAccess):
    """One ring's occupancy: its highest fill and how often a producer found it full."""

    name: str
    capacity: int
    high_water: int
    full_events: int


@dataclass(frozen=True)
class GatewayStats(_DictAccess):
    """One gateway: commands submitted, full-ring events, ring capacity."""

    gateway: int
    submitted: int
    full_events: int
    capacity: int


@dataclass(frozen=True)
class ThreadStats(_DictAccess):
    """One engine thread: its wait strategy, the core asked for and whether it was pinned."""

    name: str
    wait: str
    core: int | None
    pinned: bool


@dataclass(frozen=True)
class JournalRolls(_DictAccess):
    """Journal segment rolls: how many, how many found their segment prepared, the roller's
    and populate's failures, and the longest roll (ns)."""

    rolls: int
    prepared: int
    roller_failures: int
    populate_failures: int
    longest_ns: int


@dataclass(frozen=True)
class PipelineStats(_DictAccess):
    """Everything measured: at most one stats interval old while running; exact after
    shutdown."""

    topology: Literal["merged", "split"]
    elapsed_s: float
    submitted: int
    counters: Counters
    commands_per_s: float
    events_per_s: float
    outputs_per_s: float
    latency: StageLatencies
    rings: tuple[RingStats, ...]
    gateways: tuple[GatewayStats, ...]
    threads: tuple[ThreadStats, ...]
    recovered_records: int
    journal_syncs: int
    journal_rolls: JournalRolls
    #: Runtime controls applied (limits, kill switches, reference prices, snapshots).
    controls: int
    snapshots_written: int
    snapshot_failures: int
    last_snapshot_seq: int
    #: Journal segments removed or archived behind the oldest snapshot kept.
    segments_pruned: int

    @classmethod
    def of(cls, d: _core.PipelineStatsDict) -> PipelineStats:
        """The typed view of the engine's stats."""
        lat = d["latency"]
        return cls(
            topology=d["topology"],
            elapsed_s=d["elapsed_s"],
            submitted=d["submitted"],
            counters=Counters(**d["counters"]),
            commands_per_s=d["commands_per_s"],
            events_per_s=d["events_per_s"],
            outputs_per_s=d["outputs_per_s"],
            latency=StageLatencies(
                **{stage: Latency(**lat[stage]) for stage in StageLatencies.__dataclass_fields__}
            ),
            rings=tuple(RingStats(**r) for r in d["rings"]),
            gateways=tuple(GatewayStats(**g) for g in d["gateways"]),
            threads=tuple(ThreadStats(**t) for t in d["threads"]),
            recovered_records=d["recovered_records"],
            journal_syncs=d["journal_syncs"],
            journal_rolls=JournalRolls(**d["journal_rolls"]),
            controls=d["controls"],
            snapshots_written=d["snapshots_written"],
            snapshot_failures=d["snapshot_failures"],
            last_snapshot_seq=d["last_snapshot_seq"],
            segments_pruned=d["segments_pruned"],
        )


@dataclass(frozen=True)
class Recovery(_DictAccess):
    """What the start recovered from the journal (``Pipeline.recovery()``)."""

    #: The snapshot the books and risk state were loaded from (None: replayed from the start).
    snapshot: str | None
    #: Newer snapshots passed over, each as ``"path: why"``.
    snapshot_warnings: tuple[str, ...]
    #: Commands replayed from the journal after the snapshot.
    replayed: int
    #: Runtime controls (limits, kill switches, reference prices) replayed.
    controls: int
    #: The journal's last sequence number after recovery.
    journal_seq: int
    #: A torn tail cut off the journal (the same dict as ``Engine.open_journal()``'s), or None.
    truncated: _core.TornTail | None

    @classmethod
    def of(cls, d: _core.RecoveryDict) -> Recovery:
        """The typed view of the engine's recovery report."""
        return cls(
            snapshot=d["snapshot"],
            snapshot_warnings=tuple(d["snapshot_warnings"]),
            replayed=d["replayed"],
            controls=d["controls"],
            journal_seq=d["journal_seq"],
            truncated=d["truncated"],
        )


@dataclass(frozen=True)
class SnapshotInfo(_DictAccess):
    """A snapshot just written (``Pipeline.snapshot()``)."""

    #: The journal sequence number the snapshot holds the state after.
    journal_seq: int
    #: Where it was written.
    path: str
