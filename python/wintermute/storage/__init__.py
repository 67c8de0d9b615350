"""Storage tiers derived from the journal: the audit trail (SQLite or PostgreSQL) and the Redis
hot tier. The journal stays the source of truth; every store here can be rebuilt from it.

::

    from wintermute.config import EngineConfig
    from wintermute.storage import AuditQuery, AuditWriter, open_store

    config = EngineConfig.from_file("engine.toml")
    store = open_store("postgresql://postgres@127.0.0.1/audit")  # or "sqlite:///audit.db"
    writer = AuditWriter(store, config.instruments, config.journal.dir)
    writer.step()                                   # or writer.follow() in a thread
    rows = store.query(AuditQuery(account=7, instrument="BTC-USD", limit=100))
    alerts = store.alerts(AlertQuery(account=7))    # with a monitor on the writer

Where things are: ``schema.py`` (the columns and the row), ``replay.py`` (journal -> rows),
``store.py`` (the backend interface, ``open_store``), ``sqlite.py`` and ``postgres.py`` (the
backends), ``queries.py`` (checked queries), ``writer.py`` (the batching writer, its lag
metrics and ``rebuild``), ``redis_tier.py`` (latest books and trade streams in Redis),
``monitors.py`` (the compliance monitors and their alerts), ``daily_report.py`` (the daily
report), ``audit_settings.py`` (the ``[audit]`` config table), ``audit_trail.py`` (the live
trail ``wintermute serve`` and ``demo`` keep), ``audit_command.py`` (``wintermute audit``);
the market-data history in the same store: ``market_history.py`` (its tables, queries,
``open_history``, Parquet/CSV export), ``market_history_sqlite.py`` and
``market_history_postgres.py`` (the backends), ``market_recorder.py`` (the recorder that
feeds it from a live market), ``market_command.py`` (``wintermute md``).
The user guide is ``docs/storage.md``.
"""

from __future__ import annotations

from wintermute.storage.market_history import HistoryQuery, open_history
from wintermute.storage.queries import MAX_LIMIT, AlertQuery, AuditQuery
from wintermute.storage.schema import Alert, AuditRow, StorageError
from wintermute.storage.store import AuditStore, open_store
from wintermute.storage.writer import AuditWriter, Lag, rebuild

__all__ = [
    "MAX_LIMIT",
    "Alert",
    "AlertQuery",
    "AuditQuery",
    "AuditRow",
    "AuditStore",
    "AuditWriter",
    "HistoryQuery",
    "Lag",
    "StorageError",
    "open_history",
    "open_store",
    "rebuild",
]
