"""Audit queries (wintermute.storage.queries): answers by account, instrument, order id and
time on both backends, and bad input refused before it reaches a database."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from decimal import Decimal
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from storage_servers import postgres_admin_url, postgres_url
from wintermute.storage import MAX_LIMIT, AuditQuery, AuditRow, AuditStore, StorageError, open_store
from wintermute.storage.queries import to_ns

__all__ = ["postgres_admin_url", "postgres_url"]  # fixtures, used by name

T0 = datetime(2026, 12, 6, 10, 0, tzinfo=timezone.utc)
SYMBOLS = ["BTC-USD", "ETH-USD", "x'; DROP TABLE audit_events; --"]


def _rows() -> list[AuditRow]:
    """60 rows: accounts 1..3, three symbols, one second apart, a few u64 order ids."""
    rows = []
    for i in range(60):
        ts = to_ns(T0 + timedelta(seconds=i), "ts")
        order_id = 2**64 - 1 - i if i % 7 == 0 else 1000 + i
        rows.append(AuditRow(i + 1, 0, i + 1, ts, SYMBOLS[i % 3], "new", "accepted", 1 + i % 4 % 3,
                             order_id, "sell", Decimal("0.05") * i, Decimal("1.0001"), None, None,
                             None, None, None, None, None, None))  # fmt: skip
    return rows


ROWS = _rows()


@pytest.fixture(params=["sqlite", "postgresql"], scope="module")
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture
def store(backend: str, request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[AuditStore]:
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'q.db'}"
    else:
        url = request.getfixturevalue("postgres_url")
    s = open_store(url)
    assert s.backend == backend
    s.write(ROWS, through_seq=len(ROWS))
    yield s
    s.close()


def _reference(q: AuditQuery) -> list[AuditRow]:
    """The answer, computed over the rows in Python."""
    since = None if q.since is None else to_ns(q.since, "since")
    until = None if q.until is None else to_ns(q.until, "until")
    return [
        r
        for r in ROWS
        if (q.account is None or r.account == q.account)
        and (q.instrument is None or r.instrument == q.instrument)
        and (q.order_id is None or r.order_id == q.order_id)
        and (since is None or r.ts_ns >= since)
        and (until is None or r.ts_ns < until)
        and (q.after is None or (r.journal_seq, r.n) > q.after)
    ][: q.limit]


@pytest.mark.parametrize(
    "q",
    [
        AuditQuery(account=2),
        AuditQuery(instrument="ETH-USD", limit=5),
        AuditQuery(order_id=2**64 - 1 - 14),
        AuditQuery(order_id=1001),
        AuditQuery(since=T0 + timedelta(seconds=10), until=T0 + timedelta(seconds=20)),
        AuditQuery(account=1, instrument="BTC-USD", since=T0 + timedelta(seconds=3)),
        AuditQuery(after=(50, 0)),
        AuditQuery(after=(49, 1), account=1),
        AuditQuery(since=T0, until=T0),  # empty range: nothing, not an error
    ],
    ids=lambda q: repr(q),
)
def test_queries_answer_as_the_reference_does(store: AuditStore, q: AuditQuery) -> None:
    assert store.query(q) == _reference(q)


def test_decimals_and_u64_order_ids_come_back_exactly(store: AuditStore) -> None:
    (row,) = store.query(AuditQuery(order_id=2**64 - 1))
    assert row == ROWS[0]
    third = store.query(AuditQuery(account=1, limit=3))[2]  # i = 4: accounts go 1, 2, 3, 1, 1
    assert (third.journal_seq, str(third.price), str(third.qty)) == (5, "0.20", "1.0001")


def test_an_unknown_account_gives_an_empty_answer(store: AuditStore) -> None:
    assert store.query(AuditQuery(account=424242)) == []
    assert store.query(AuditQuery(instrument="NOPE-USD")) == []


def test_sql_looking_strings_are_only_values(store: AuditStore) -> None:
    evil = SYMBOLS[2]
    assert store.query(AuditQuery(instrument=evil)) == [r for r in ROWS if r.instrument == evil]
    assert store.query(AuditQuery(instrument="' OR '1'='1")) == []
    assert store.count() == len(ROWS)  # nothing dropped


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"since": T0, "until": T0 - timedelta(seconds=1)}, "inverted time range"),
        ({"limit": MAX_LIMIT + 1}, f"limit={MAX_LIMIT + 1}"),
        ({"limit": 0}, "limit=0"),
        ({"limit": 10**12}, "limit=1000000000000"),
        ({"account": -1}, "account=-1"),
        ({"account": 2**32}, "account=4294967296"),
        ({"order_id": 2**64}, "order_id=18446744073709551616"),
        ({"instrument": ""}, "instrument=''"),
        ({"instrument": "X" * 65}, "instrument="),
        ({"since": datetime(2026, 12, 6)}, "give a timezone"),
        ({"after": (-3, 0)}, "after=(-3, 0)"),
        ({"after": (3,)}, "after=(3,)"),
    ],
)
def test_bad_queries_raise_a_clear_error(kwargs: dict[str, object], message: str) -> None:
    with pytest.raises(StorageError, match="^" + _escape(message)) as raised:
        AuditQuery(**kwargs)  # type: ignore[arg-type]
    assert raised.value.reason == "BAD_QUERY"


def _escape(text: str) -> str:
    import re

    return ".*" + re.escape(text)


@settings(max_examples=60, deadline=None)
@given(
    account=st.none() | st.integers(0, 4),
    instrument=st.none() | st.sampled_from([*SYMBOLS, "Z"]),
    start=st.integers(-5, 65),
    width=st.integers(0, 70),
    limit=st.integers(1, 70),
)
def test_random_queries_on_sqlite_match_the_reference(
    account: int | None, instrument: str | None, start: int, width: int, limit: int
) -> None:
    q = AuditQuery(account=account, instrument=instrument, limit=limit,
                   since=T0 + timedelta(seconds=start),
                   until=T0 + timedelta(seconds=start + width))  # fmt: skip
    assert _SQLITE.query(q) == _reference(q)


_SQLITE = open_store(":memory:")
_SQLITE.write(ROWS, through_seq=len(ROWS))


def test_store_urls_name_their_backend(tmp_path: Path) -> None:
    assert open_store(f"sqlite:///{tmp_path / 'a.db'}").backend == "sqlite"
    with pytest.raises(StorageError, match="sqlite:///"):
        open_store("sqlite://relative.db")
    with pytest.raises(StorageError, match="mysql://"):
        open_store("mysql://localhost/x")
