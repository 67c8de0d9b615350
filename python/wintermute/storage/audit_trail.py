"""A live audit trail beside a running engine: what ``wintermute serve`` and ``wintermute
demo`` keep.

:class:`AuditTrail` runs the audit writer (``writer.py``) on a thread of its own, following
the engine's journal into a store, with the compliance monitors on, and answers the service's
questions (events, alerts, the daily report) through a connection of its own, so readers
never share the writer's transaction. The engine never waits for it: the writer only reads
the journal files the engine appends to::

    trail = AuditTrail("sqlite:///run/audit.db", config.instruments, "run/journal",
                       monitor=ComplianceMonitor()).start()
    rows = trail.events(AuditQuery(account=7))
    trail.close()      # after the engine stopped: stores what is left, then stops

A trail started again over a store it wrote resumes, monitors included (the writer's
default: the engine's snapshot and the monitors' stored state; see ``writer.py``).
``follow=False`` only reads: another process (``wintermute audit follow``) writes the store.
An in-memory SQLite store cannot be shared by two connections and is refused.
:meth:`AuditTrail.collector` hands the writer's and the monitors' Prometheus metrics (the
default registry's ``wintermute_audit_*`` and ``wintermute_compliance_*``) to another
registry: the service's ``/metrics``.

:func:`plan_trail` decides where a service's trail goes from its ``[audit]`` settings
(``audit_settings.py``): the engine's own journal when its config has one, else a journal in
the *run directory*; the configured store URL, else SQLite in the run directory
(``audit.db``). The run directory is the one given, else ``[audit] run_dir``, else a new
``wintermute-*`` directory in the system's temporary directory; it is made only when
something goes there.
"""

from __future__ import annotations

import dataclasses
import logging
import tempfile
import threading
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from os import PathLike
from pathlib import Path

from prometheus_client import REGISTRY
from prometheus_client.metrics_core import Metric

from wintermute import errors
from wintermute.config import EngineConfig, InstrumentConfig, JournalConfig
from wintermute.storage.audit_settings import AuditSettings
from wintermute.storage.daily_report import DailyReport, daily_report
from wintermute.storage.monitor_checkpoints import DEFAULT_EVERY
from wintermute.storage.monitors import ComplianceMonitor
from wintermute.storage.queries import AlertQuery, AuditQuery
from wintermute.storage.redis_tier import RedisTier
from wintermute.storage.schema import Alert, AuditRow, StorageError
from wintermute.storage.store import open_store
from wintermute.storage.writer import AuditWriter

__all__ = ["AuditTrail", "TrailPlan", "plan_trail"]

log = logging.getLogger("wintermute.storage.audit_trail")


def _is_memory(url: str) -> bool:
    return url in (":memory:", "", "sqlite://", "sqlite:///", "sqlite:///:memory:")


class AuditTrail:
    """The trail of the journal at ``journal`` in the store at ``url`` (see the module
    documentation). :meth:`start` the writer, :meth:`close` when the engine has stopped."""

    def __init__(
        self,
        url: str,
        instruments: Sequence[InstrumentConfig],
        journal: str | PathLike[str],
        *,
        monitor: ComplianceMonitor | None = None,
        follow: bool = True,
        poll_s: float = 0.1,
        hot: RedisTier | None = None,
        connections: int = 1,
        checkpoint_every: int = DEFAULT_EVERY,
    ) -> None:
        if _is_memory(url):
            raise StorageError(
                f"url={url!r}: a live audit trail needs a file or a server, not memory",
                reason="STORE_URL",
            )
        self.url = url
        self.journal = str(journal)
        self.monitor = monitor
        self._poll_s = poll_s
        self.writer: AuditWriter | None = None
        if follow:
            self.writer = AuditWriter(
                open_store(url, connections=connections),
                instruments,
                journal,
                monitor=monitor,
                hot=hot,
                checkpoint_every=checkpoint_every,
            )
        self._reader = open_store(url)
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    @property
    def backend(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self._reader.backend

    def start(self) -> AuditTrail:
        """Starts following the journal (a daemon thread); returns the trail."""
        if self.writer is not None and self._thread is None:
            self._thread = threading.Thread(
                target=self.writer.follow, args=(self._poll_s,), name="audit-writer", daemon=True
            )
            self._thread.start()
        return self

    def on_alerts(self, listener: Callable[[list[Alert]], None]) -> None:
        """Calls ``listener`` with each batch of alerts once stored (on the writer's thread;
        nothing when this trail only reads)."""
        if self.writer is not None:
            self.writer.on_alerts.append(listener)

    def events(self, q: AuditQuery) -> list[AuditRow]:
        """The audit rows matching ``q``."""
        with self._lock:
            return self._reader.query(q)

    def alerts(self, q: AlertQuery) -> list[Alert]:
        """The compliance alerts matching ``q``."""
        with self._lock:
            return self._reader.alerts(q)

    def report(self, day: date, account: int | None = None) -> DailyReport:
        """The daily report of ``day`` (``daily_report.py``)."""
        with self._lock:
            return daily_report(self._reader, day, account)

    def collector(self) -> _StorageMetrics:
        """A collector of the storage tier's metrics, to register in another registry."""
        return _StorageMetrics()

    def stored_seq(self) -> int:
        """The journal sequence the store holds every event up to."""
        with self._lock:
            return self._reader.last_seq()

    def close(self) -> None:
        """Stops the writer after storing what the journal holds (call it once the engine
        stopped appending), and closes the connections (the Redis tier's too)."""
        writer = self.writer
        if writer is not None:
            writer.stop()
            if self._thread is not None:
                self._thread.join(timeout=30)
            if self._thread is None or not self._thread.is_alive():
                try:
                    writer.step()
                except (StorageError, errors.JournalError) as e:
                    log.warning("audit trail: the last events were not stored: %s", e)
                writer.store.close()
            if writer.hot is not None:
                writer.hot.close()
            self.writer = None
        with self._lock:
            self._reader.close()


class _StorageMetrics:
    """The default registry's storage families (lag, rows, alerts), for another registry."""

    PREFIXES = ("wintermute_audit_", "wintermute_compliance_")

    def collect(self) -> Iterator[Metric]:
        for family in REGISTRY.collect():
            if family.name.startswith(self.PREFIXES):
                yield family


@dataclass(frozen=True)
class TrailPlan:
    """Where a service's audit trail goes: the engine config to run (with a journal), the
    journal the writer follows, the store URL, and the run directory (None: none needed)."""

    engine: EngineConfig
    journal: str
    url: str
    run_dir: Path | None

    def start(self, settings: AuditSettings, hot: RedisTier | None = None) -> AuditTrail:
        """The trail of this plan, started (once the engine runs: its journal exists);
        ``hot``: also publish our books and trades to Redis (``redis_tier.py``)."""
        return AuditTrail(
            self.url, self.engine.instruments, self.journal, monitor=settings.monitor(),
            follow=settings.follow, hot=hot, connections=settings.connections,
            checkpoint_every=settings.checkpoint_every,
        ).start()  # fmt: skip

    def describe(self) -> str:
        """One line for the start-up banner."""
        where = f" (run directory {self.run_dir})" if self.run_dir is not None else ""
        return f"audit trail: {self.url} following {self.journal}{where}"


def plan_trail(
    engine: EngineConfig,
    settings: AuditSettings,
    run_dir: str | PathLike[str] | None = None,
    *,
    prefix: str = "wintermute-",
) -> TrailPlan:
    """Where the trail of a service running ``engine`` goes (see the module documentation).
    A journal added for it keeps no fsync (the trail is derived; the engine's durability is
    what its own ``[journal]`` says)."""
    needs_dir = engine.journal is None or settings.store is None
    directory: Path | None = None
    if needs_dir:
        chosen = run_dir if run_dir is not None else settings.run_dir
        if chosen is None:
            directory = Path(tempfile.mkdtemp(prefix=prefix))
        else:
            directory = Path(chosen).absolute()
            directory.mkdir(parents=True, exist_ok=True)
    if engine.journal is None:
        assert directory is not None
        journal = JournalConfig(str(directory / "journal"), fsync="none", segment_size=4 << 20)
        engine = dataclasses.replace(engine, journal=journal)
    assert engine.journal is not None
    url = settings.store
    if url is None:
        assert directory is not None
        url = f"sqlite:///{directory / 'audit.db'}"
    return TrailPlan(engine, engine.journal.dir, url, directory)
