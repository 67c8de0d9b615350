"""Historical market data in the audit store: normalized trades, top-of-book ticks and periodic
book snapshots per venue, with exact decimals, exchange and receive timestamps, the feed's own
sequence numbers and the venue's; queries by venue, symbol and time; export to Parquet and CSV.

The three tables live in the same database as the audit trail (migration 3 of ``sqlite.py``
and ``postgres.py``, and migration 4 for ``venue_seq``; the SQL is here), with the same columns
on both backends:

=============  ==============================================================================
table          one row per
=============  ==============================================================================
md_trades      public trade (``TradeRow``)
md_ticks       change of a stream's best bid or ask (``TickRow``: ``kind`` ``bbo``), and the
               top of each book (re)loaded from a snapshot (``kind`` ``snapshot``)
md_snapshots   level of a periodic top-``N`` book snapshot (``LevelRow``: ``side``, ``level``
               from 0 = best)
=============  ==============================================================================

Every row has ``venue``, ``symbol`` (as the venue writes it) and ``ts_ns``, the event's time in
ns since the epoch: the exchange's timestamp when the venue sends one, else the local receive
time (a snapshot: the local time it was taken). Trades and ticks keep both timestamps too
(``exchange_ts``, ``None`` when the venue sends none; ``receive_ts``) and two sequence numbers:
``seq``, the feed's own per-(venue, symbol) counter (``wintermute.market``: from 1, in the order
the book builder emitted the events, restarting with each market), and ``venue_seq``, the
venue's own number of the message the row came from, to match rows against the exchange's
messages (``None`` where the venue numbers nothing, never made up): Binance the diff's final
update id ``u`` (a ``snapshot`` tick: the update id the book is at) and a trade's trade id;
Coinbase a ``match``'s ``sequence`` (Advanced Trade: ``sequence_num``); ``None`` for Coinbase
``level2`` ticks and everything from Kraken (its books carry a checksum, its v1 trades no id).
A snapshot level's ``venue_seq`` is that of the newest event read when it was taken. Rows
stored before migration 4 have ``venue_seq`` ``None``. Prices and quantities are exact:
PostgreSQL ``numeric``, SQLite text, ``decimal.Decimal`` in Python.

Identity: a trade is ``(venue, symbol, ts_ns, trade_key)``, where ``trade_key`` is the venue's
trade id, or the feed sequence number where the venue sends none (Kraken v1); a tick is
``(venue, symbol, ts_ns, seq)``; a snapshot level ``(venue, symbol, ts_ns, side, level)``.
``venue_seq`` is in no identity: several rows can come from one venue message (the trades of
one Coinbase Advanced Trade message share its ``sequence_num``), Kraken and Coinbase ``level2``
number nothing, and rows stored before migration 4 have none; so the identities stay as they
were and re-recording still stores each row once. ``venue_seq`` is a column to match on.
Writing a row again stores it once, so re-recording the same stream (a replay, a recorder
restarted over the same data) does not duplicate trades or ticks. Snapshots are samples taken
on the recorder's clock: a second recording takes its own.

Queries are checked before they reach a database (:class:`HistoryQuery`)::

    >>> from wintermute.storage.market_history import HistoryQuery
    >>> HistoryQuery("trades", venue="binance", symbol="BTCUSDT", since=10).where("?")
    ('venue = ? AND symbol = ? AND ts_ns >= ?', ['binance', 'BTCUSDT', 10])
    >>> HistoryQuery("quotes")
    Traceback (most recent call last):
    ...
    wintermute.storage.schema.StorageError: table='quotes': expected one of trades, ticks, snapshots
"""

from __future__ import annotations

import csv
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import date
from decimal import Decimal
from os import PathLike
from typing import Any, NamedTuple, Protocol, TextIO

from wintermute.storage.queries import MAX_LIMIT, Time, to_ns
from wintermute.storage.schema import StorageError

__all__ = [
    "COLUMNS",
    "DECIMAL_COLUMNS",
    "KEYS",
    "TABLES",
    "HistoryQuery",
    "HistoryRow",
    "LevelRow",
    "MarketHistory",
    "TickRow",
    "TradeRow",
    "export",
    "open_history",
]


class TradeRow(NamedTuple):
    """A public trade (see the module documentation)."""

    venue: str
    symbol: str
    ts_ns: int
    trade_key: int
    seq: int
    trade_id: int
    price: Decimal
    qty: Decimal
    aggressor: str | None
    exchange_ts: int | None
    receive_ts: int
    venue_seq: int | None = None


class TickRow(NamedTuple):
    """The top of a book after it changed (``bbo``) or was loaded (``snapshot``)."""

    venue: str
    symbol: str
    ts_ns: int
    seq: int
    kind: str
    bid_price: Decimal | None
    bid_qty: Decimal | None
    ask_price: Decimal | None
    ask_qty: Decimal | None
    exchange_ts: int | None
    receive_ts: int
    venue_seq: int | None = None


class LevelRow(NamedTuple):
    """One level of a periodic book snapshot; ``seq`` and ``venue_seq``: those of the newest
    feed event read when it was taken."""

    venue: str
    symbol: str
    ts_ns: int
    side: str
    level: int
    seq: int
    price: Decimal
    qty: Decimal
    venue_seq: int | None = None


HistoryRow = TradeRow | TickRow | LevelRow

#: Query name -> (SQL table, row type).
TABLES: dict[str, tuple[str, type[Any]]] = {
    "trades": ("md_trades", TradeRow),
    "ticks": ("md_ticks", TickRow),
    "snapshots": ("md_snapshots", LevelRow),
}
COLUMNS: dict[str, tuple[str, ...]] = {name: row._fields for name, (_, row) in TABLES.items()}
#: Each table's identity, which is also its primary key and its index for venue + symbol + time.
KEYS: dict[str, tuple[str, ...]] = {
    "trades": ("venue", "symbol", "ts_ns", "trade_key"),
    "ticks": ("venue", "symbol", "ts_ns", "seq"),
    "snapshots": ("venue", "symbol", "ts_ns", "side", "level"),
}
DECIMAL_COLUMNS = frozenset(("price", "qty", "bid_price", "bid_qty", "ask_price", "ask_qty"))
_NULLABLE = frozenset(
    ("aggressor", "exchange_ts", "bid_price", "bid_qty", "ask_price", "ask_qty", "venue_seq")
)
#: Columns added after migration 3 created the tables: (migration, column).
_ADDED = {"venue_seq": 4}
_TEXT = frozenset(("venue", "symbol", "aggressor", "kind", "side"))
_INT4 = frozenset(("level",))

#: PostgreSQL types of the columns (also the binary COPY types).
PG_TYPES: dict[str, list[str]] = {
    name: [
        "numeric" if c in DECIMAL_COLUMNS else "text" if c in _TEXT
        else "int4" if c in _INT4 else "int8"
        for c in cols
    ]
    for name, cols in COLUMNS.items()
}  # fmt: skip


def _columns_sql(name: str, types: Sequence[str]) -> str:
    return ",\n    ".join(
        f"{c} {t}{'' if c in _NULLABLE else ' NOT NULL'}"
        for c, t in zip(COLUMNS[name], types, strict=True)
        if c not in _ADDED
    )


def _sqlite_types(name: str) -> list[str]:
    return ["TEXT" if t in ("numeric", "text") else "INTEGER" for t in PG_TYPES[name]]


def _added_sql(version: int, types: Callable[[str], Sequence[str]]) -> str:
    return "\n".join(
        f"ALTER TABLE {table} ADD COLUMN {c} {t};"
        for name, (table, _) in TABLES.items()
        for c, t in zip(COLUMNS[name], types(name), strict=True)
        if _ADDED.get(c) == version
    )


def sqlite_migration_4() -> str:
    """Migration 4 of ``sqlite.py``: the nullable ``venue_seq`` column on the three tables."""
    return _added_sql(4, _sqlite_types)


def postgres_migration_4() -> str:
    """Migration 4 of ``postgres.py``: the nullable ``venue_seq`` column (``int8``) on the
    three tables (their day partitions get it too)."""
    return _added_sql(4, lambda name: PG_TYPES[name])


def sqlite_migration() -> str:
    """Migration 3 of ``sqlite.py``: the market-data tables (decimals as exact text)."""
    parts = []
    for name, (table, _) in TABLES.items():
        types = _sqlite_types(name)
        parts.append(
            f"CREATE TABLE {table} (\n    {_columns_sql(name, types)},\n"
            f"    PRIMARY KEY ({', '.join(KEYS[name])})\n) WITHOUT ROWID;\n"
            f"CREATE INDEX {table}_time ON {table} (ts_ns);"
        )
    return "\n".join(parts)


def postgres_migration() -> str:
    """Migration 3 of ``postgres.py``: the market-data tables, partitioned by UTC day on
    ``ts_ns`` like ``audit_events``; the primary key doubles as the venue + symbol + time index."""
    parts = []
    for name, (table, _) in TABLES.items():
        parts.append(
            f"CREATE TABLE {table} (\n    {_columns_sql(name, PG_TYPES[name])},\n"
            f"    PRIMARY KEY ({', '.join(KEYS[name])})\n) PARTITION BY RANGE (ts_ns);\n"
            f"CREATE INDEX {table}_time ON {table} (ts_ns);"
        )
    return "\n".join(parts)


_MAX_NAME = 64


@dataclass(frozen=True)
class HistoryQuery:
    """Which rows of ``table`` (``trades``, ``ticks`` or ``snapshots``) to return; every given
    criterion must hold. ``since`` is inclusive, ``until`` exclusive (timezone-aware datetimes
    or ns since the epoch, on ``ts_ns``). Rows come in ``(ts_ns, venue, symbol, ...)`` order, the
    table's identity breaking ties. A venue or symbol nothing was recorded for gives an empty
    answer; a malformed criterion raises ``StorageError`` (``BAD_QUERY``) naming it."""

    table: str
    venue: str | None = None
    symbol: str | None = None
    since: Time | None = None
    until: Time | None = None
    limit: int = 1000

    def __post_init__(self) -> None:
        bad = self._problem()
        if bad:
            raise StorageError(bad, reason="BAD_QUERY")

    def _problem(self) -> str | None:
        if self.table not in TABLES:
            return f"table={self.table!r}: expected one of {', '.join(TABLES)}"
        for name in ("venue", "symbol"):
            value = getattr(self, name)
            if value is not None and not (isinstance(value, str) and 0 < len(value) <= _MAX_NAME):
                return f"{name}={value!r}: not a name of 1..{_MAX_NAME} characters"
        if isinstance(self.limit, bool) or not isinstance(self.limit, int):
            return f"limit={self.limit!r}: not an integer"
        if not 1 <= self.limit <= MAX_LIMIT:
            return f"limit={self.limit}: must be 1..{MAX_LIMIT} (export has no limit)"
        since = None if self.since is None else to_ns(self.since, "since")
        until = None if self.until is None else to_ns(self.until, "until")
        if since is not None and until is not None and since > until:
            return f"inverted time range: since={self.since} is after until={self.until}"
        return None

    @property
    def sql_table(self) -> str:
        return TABLES[self.table][0]

    @property
    def order(self) -> str:
        """The ``ORDER BY`` list: time first, then the rest of the identity."""
        key = KEYS[self.table]
        return ", ".join(["ts_ns", *(c for c in key if c != "ts_ns")])

    def where(self, placeholder: str) -> tuple[str, list[object]]:
        """The ``WHERE`` condition (``TRUE`` when nothing is asked) and its parameters, every
        value bound (``?`` for sqlite3, ``%s`` for psycopg)."""
        p = placeholder
        parts: list[str] = []
        params: list[object] = []
        for column in ("venue", "symbol"):
            value = getattr(self, column)
            if value is not None:
                parts.append(f"{column} = {p}")
                params.append(value)
        if self.since is not None:
            parts.append(f"ts_ns >= {p}")
            params.append(to_ns(self.since, "since"))
        if self.until is not None:
            parts.append(f"ts_ns < {p}")
            params.append(to_ns(self.until, "until"))
        return (" AND ".join(parts) or "TRUE"), params


class MarketHistory(Protocol):
    """The market-data tables of an audit store (``open_history``)."""

    #: ``"sqlite"`` or ``"postgresql"``.
    backend: str

    def write(
        self,
        trades: Sequence[TradeRow] = (),
        ticks: Sequence[TickRow] = (),
        levels: Sequence[LevelRow] = (),
    ) -> int:
        """Stores the rows in one transaction (all or nothing); a row whose identity is
        stored already is skipped. Returns the rows newly stored. Raises ``StorageError``
        (``STORAGE``) when the database fails; nothing of the batch is stored then."""
        ...

    def query(self, q: HistoryQuery) -> list[Any]:
        """At most ``q.limit`` rows matching ``q``, in order."""
        ...

    def rows(self, q: HistoryQuery, chunk: int = 10_000) -> Iterator[Any]:
        """Every row matching ``q`` (``q.limit`` ignored), in order, read ``chunk`` at a time."""
        ...

    def count(self, table: str) -> int:
        """The rows of ``table`` (``trades``, ``ticks``, ``snapshots``)."""
        ...

    def drop_before(self, day: date) -> int:
        """Retention: removes the UTC days before ``day`` (PostgreSQL: drops the day
        partitions, returns how many; SQLite: deletes, returns the rows)."""
        ...

    def close(self) -> None: ...


def open_history(url: str) -> MarketHistory:
    """The market-data history of the audit store at ``url`` (``open_store``'s URLs), its
    schema migrated."""
    if url.startswith(("postgresql://", "postgres://")):
        from wintermute.storage.market_history_postgres import PostgresHistory

        return PostgresHistory(url)
    from wintermute.storage.market_history_sqlite import SqliteHistory
    from wintermute.storage.store import sqlite_path

    return SqliteHistory(sqlite_path(url))


#: Parquet type of the decimal columns: the feeds' decimals are multiples of 10^-18, so scale
#: 18 holds every one exactly (up to 10^20).
PARQUET_DECIMAL = (38, 18)


def export(
    history: MarketHistory,
    q: HistoryQuery,
    fmt: str,
    out: str | PathLike[str] | TextIO,
    chunk: int = 50_000,
) -> int:
    """Writes every row matching ``q`` (``limit`` ignored) to ``out`` as ``csv`` (decimals as
    their exact text, empty for none) or ``parquet`` (a file path; pyarrow, the ``parquet``
    extra; decimals as ``decimal128(38, 18)``, timestamps as int64 ns). Returns the rows."""
    if fmt == "csv":
        if isinstance(out, (str, PathLike)):
            with open(out, "w", newline="", encoding="utf-8") as f:
                return _export_csv(history, q, f, chunk)
        return _export_csv(history, q, out, chunk)
    if fmt != "parquet":
        raise StorageError(f"format={fmt!r}: expected parquet or csv", reason="BAD_QUERY")
    if not isinstance(out, (str, PathLike)):
        raise StorageError("parquet export needs a file path (--out)", reason="BAD_QUERY")
    return _export_parquet(history, q, out, chunk)


def _export_csv(history: MarketHistory, q: HistoryQuery, out: TextIO, chunk: int) -> int:
    writer = csv.writer(out)
    writer.writerow(COLUMNS[q.table])
    n = 0
    for row in history.rows(q, chunk):
        writer.writerow(["" if v is None else v for v in row])
        n += 1
    return n


def _export_parquet(
    history: MarketHistory, q: HistoryQuery, path: str | PathLike[str], chunk: int
) -> int:
    try:
        import pyarrow as pa
        import pyarrow.parquet as pq
    except ImportError:
        raise StorageError(
            "parquet export needs pyarrow: pip install 'wintermute[parquet]'", reason="BAD_QUERY"
        ) from None
    columns = COLUMNS[q.table]
    types = {"int8": pa.int64(), "int4": pa.int32(), "text": pa.string()}
    schema = pa.schema(
        [
            pa.field(
                c,
                pa.decimal128(*PARQUET_DECIMAL) if t == "numeric" else types[t],
                nullable=c in _NULLABLE,
            )
            for c, t in zip(columns, PG_TYPES[q.table], strict=True)
        ]
    )
    n = 0
    with pq.ParquetWriter(str(path), schema) as writer:
        batch: list[Any] = []
        for row in history.rows(q, chunk):
            batch.append(row)
            if len(batch) >= chunk:
                writer.write_table(_table(pa, schema, columns, batch))
                n += len(batch)
                batch = []
        if batch or n == 0:
            writer.write_table(_table(pa, schema, columns, batch))
            n += len(batch)
    return n


def _table(pa: Any, schema: Any, columns: Sequence[str], rows: list[Any]) -> Any:
    try:
        return pa.table({c: [r[i] for r in rows] for i, c in enumerate(columns)}, schema=schema)
    except (pa.ArrowInvalid, pa.ArrowTypeError) as e:  # a decimal beyond decimal128(38, 18)
        raise StorageError(f"parquet export: {e}", reason="STORAGE") from e
