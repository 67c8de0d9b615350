"""What every audit backend offers, and :func:`open_store`, which picks one from a URL.

=================================  ==========================================================
URL                                backend
=================================  ==========================================================
``postgresql://user@host/db``      PostgreSQL (``postgres.py``): binary COPY, day partitions
``sqlite:///audit.db``             SQLite (``sqlite.py``), the embedded default; four
                                   slashes for an absolute path
a plain file path, ``:memory:``    SQLite at that path
=================================  ==========================================================

::

    >>> from wintermute.storage import AuditQuery, open_store
    >>> store = open_store(":memory:")
    >>> store.last_seq(), store.query(AuditQuery(account=1))
    (0, [])
    >>> store.close()
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date
from typing import Protocol

from wintermute.storage.queries import AlertQuery, AuditQuery
from wintermute.storage.schema import Alert, AuditRow, MonitorState, MonitorStateWrite, StorageError

__all__ = ["AuditStore", "open_store", "sqlite_path"]


class AuditStore(Protocol):
    """An audit trail's storage: written by one writer, read by anyone."""

    #: ``"sqlite"`` or ``"postgresql"``.
    backend: str
    #: Bytes of the monitors' state this store wrote, committed (``schema.state_bytes``).
    state_bytes_written: int

    def last_seq(self) -> int:
        """The journal sequence number the store holds every event up to (0: empty)."""
        ...

    def write(
        self,
        rows: Sequence[AuditRow],
        through_seq: int,
        alerts: Sequence[Alert] = (),
        state: MonitorStateWrite | None = None,
    ) -> int:
        """Stores the rows after :meth:`last_seq` and the compliance ``alerts`` they raised,
        and moves it to ``through_seq``, in one transaction (all or nothing); rows and alerts
        at or before the stored sequence are skipped, and an alert is stored once per
        ``(journal_seq, rule, account)``, so writing a batch twice stores it once. A batch
        holds whole commands (all the rows of a ``journal_seq``), as ``AuditWriter`` cuts
        them. ``state``: the monitors' state as of ``state.journal_seq`` (``through_seq``),
        stored in the same transaction, unless that stored sequence is already past it: a
        whole ``MonitorState`` in place of the one held, or ``MonitorChanges`` upserted over
        it (``StorageError``, ``MONITOR_STATE``, when they do not apply to it). Returns the
        number of rows stored."""
        ...

    def monitor_state(self) -> MonitorState | None:
        """The compliance monitors' state last stored with :meth:`write`, whole (the changes
        stored since merged in; None: none)."""
        ...

    def monitor_state_sizes(self) -> tuple[int, int]:
        """The bytes of the monitors' whole state held and of the entries stored over it
        (``monitor_checkpoints.py``: when the writer folds them into a whole state)."""
        ...

    def query(self, q: AuditQuery) -> list[AuditRow]:
        """The rows matching ``q``, in the engine's order."""
        ...

    def alerts(self, q: AlertQuery) -> list[Alert]:
        """The compliance alerts matching ``q``, in ``(journal_seq, rule, account)`` order."""
        ...

    def count(self) -> int:
        """The number of rows held."""
        ...

    def drop_before(self, day: date) -> int:
        """Retention: removes every row and alert of the UTC days before ``day``; returns how
        many day partitions (PostgreSQL) or rows (SQLite) went."""
        ...

    def reset(self) -> None:
        """Empties the store (rows, alerts, the monitors' state and the sequence) for a
        rebuild."""
        ...

    def close(self) -> None:
        """Closes the connection."""
        ...


def open_store(url: str, *, connections: int = 1) -> AuditStore:
    """The store at ``url`` (see the module documentation), its schema migrated.
    ``connections``: on PostgreSQL, how many connections an ``AuditWriter`` writes batches
    on at once (``PostgresStore``); SQLite keeps its one connection whatever is asked."""
    if url.startswith(("postgresql://", "postgres://")):
        from wintermute.storage.postgres import PostgresStore

        return PostgresStore(url, connections=connections)
    from wintermute.storage.sqlite import SqliteStore

    return SqliteStore(sqlite_path(url))


def sqlite_path(url: str) -> str:
    """The SQLite path of a ``sqlite:///`` URL or a plain path; ``StorageError``
    (``STORE_URL``) for anything else."""
    if url.startswith("sqlite://"):
        if not url.startswith("sqlite:///"):
            raise StorageError(
                f"url={url!r}: write sqlite:///relative/path or sqlite:////absolute/path",
                reason="STORE_URL",
            )
        return url.removeprefix("sqlite:///") or ":memory:"
    if "://" in url:
        raise StorageError(
            f"url={url.split('://', 1)[0]}://...: expected postgresql://, sqlite:/// or a path",
            reason="STORE_URL",
        )
    return url
