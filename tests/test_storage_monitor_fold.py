"""The compliance monitors' stored state folded into checkpoints (``monitor_checkpoints.py``)
and encoded compactly (``monitor_codec.py``), on SQLite and on a real PostgreSQL: the state a
store restores is the state of a monitor that saw every event, across folds, restarts and
kills between a checkpoint's write and the deletion of the entries it folds in; the entries
stay bounded however many batches; a store of the older JSON format restores without a full
replay; bad data and bad settings are refused by name."""

from __future__ import annotations

import itertools
import random
import zlib
from collections.abc import Iterator
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import storage_workload
from storage_servers import postgres_admin_url, postgres_url, store_url
from wintermute.errors import ConfigError
from wintermute.storage import AuditRow, AuditStore, AuditWriter, open_store
from wintermute.storage import monitor_codec as codec
from wintermute.storage import postgres as postgres_store
from wintermute.storage.audit_settings import AuditSettings
from wintermute.storage.monitor_checkpoints import DEFAULT_EVERY, Checkpoints
from wintermute.storage.monitors import STATE_FORMAT, ComplianceMonitor, Thresholds
from wintermute.storage.postgres import PostgresStore
from wintermute.storage.queries import AlertQuery
from wintermute.storage.schema import MonitorChanges, MonitorState, StorageError

__all__ = ["postgres_admin_url", "postgres_url", "store_url"]  # fixtures, used by name

THRESHOLDS = Thresholds(max_order_to_trade=1.5, max_cancel_rate=0.3, max_stp_hits=2,
                        min_orders=3, price_band_bps=50)  # fmt: skip
GROUPS = {"desk-a": [1, 2, 3]}
ACCOUNTS = [0, 1, 2, 3, 4, 5, 6, 7, 2**32 - 1]


def _monitor() -> ComplianceMonitor:
    return ComplianceMonitor(THRESHOLDS, account_groups=GROUPS)


def _row(seq: int, n: int, kind: str, account: int, contra: int | None, price: int,
         reason: str | None, instrument: str) -> AuditRow:  # fmt: skip
    return AuditRow(seq, n, seq, 0, instrument, "new", kind, account, 1, "buy",
                    Decimal(price) / 4, Decimal("1"), None, None, None, contra, None, None,
                    reason, None)  # fmt: skip


_EVENTS = [("accepted", None), ("trade", None), ("canceled", "USER"),
           ("canceled", "MASS_CANCEL"), ("canceled", "SELF_TRADE"),
           ("rejected", "FOK_SELF_TRADE"), ("canceled", "EXPIRED")]  # fmt: skip
# One command: 1 to 3 events (kind and reason, account, contra account, price, instrument).
_COMMAND = st.lists(
    st.tuples(st.sampled_from(_EVENTS), st.sampled_from(ACCOUNTS), st.sampled_from(ACCOUNTS),
              st.integers(395, 405), st.sampled_from(["BTC-USD", "ETH-USD"])),
    min_size=1, max_size=3,
)  # fmt: skip


def _rows(commands: list[list[Any]]) -> list[AuditRow]:
    out = []
    for seq, command in enumerate(commands, start=1):
        for n, ((kind, reason), account, contra, price, instrument) in enumerate(command):
            other = contra if kind == "trade" else None
            out.append(_row(seq, n, kind, account, other, price, reason, instrument))
    return out


class _KilledError(Exception):
    """A writer killed between a checkpoint's write and the deletion of what it folds."""


class _Lifetime:
    """What a writer does with the monitors' state, on ``store``: restore it (when stored),
    count each batch, store its state (whole or changes, as ``Checkpoints`` says)."""

    def __init__(self, store: AuditStore, every: int) -> None:
        self.store, self.monitor = store, _monitor()
        self.checkpoints = Checkpoints(every)
        state = store.monitor_state()
        self.seq = 0
        if state is not None:
            self.monitor.restore(state)
            self.checkpoints.restored(state, store.monitor_state_sizes())
            self.seq = state.journal_seq

    def batch(self, rows: list[AuditRow], through: int) -> MonitorState | MonitorChanges:
        self.monitor.observe(r for r in rows if r.journal_seq > self.seq)
        state = self.checkpoints.state(self.monitor, through)
        self.store.write([], through, (), state)
        self.checkpoints.stored(state)
        self.monitor.forget_through(through)
        self.seq = through
        return state


def _kill_next_fold(store: AuditStore) -> None:
    """The store's next checkpoint raises after it wrote the whole state, before it deletes
    the entries (its transaction is rolled back, as a kill would leave it)."""

    def killed() -> None:
        del store._drop_folded_entries  # type: ignore[attr-defined]  # once
        raise _KilledError

    store._drop_folded_entries = killed  # type: ignore[attr-defined]


def _entry_rows(store: AuditStore) -> int:
    db: Any = store._db  # type: ignore[attr-defined]
    row = db.execute("SELECT count(*) FROM audit_monitor_entries WHERE part <> 'whole'")
    return int(row.fetchone()[0])


@pytest.fixture
def store(store_url: str) -> Iterator[AuditStore]:
    s = open_store(store_url)
    yield s
    s.close()


@settings(
    max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    commands=st.lists(_COMMAND, min_size=1, max_size=60),
    cuts=st.lists(st.integers(1, 60), max_size=20),
    every=st.integers(1, 4),
    restarts=st.sets(st.integers(0, 20), max_size=4),
    kills=st.sets(st.integers(0, 20), max_size=3),
)  # fmt: skip
def test_the_restored_state_is_that_of_a_monitor_that_saw_every_event(
    store: AuditStore, commands: list[list[Any]], cuts: list[int], every: int,
    restarts: set[int], kills: set[int],
) -> None:  # fmt: skip
    store.reset()
    store.__dict__.pop("_drop_folded_entries", None)  # a kill left over from an example
    rows = _rows(commands)
    last = len(commands)
    ends = sorted({c for c in cuts if c < last} | {last})
    life, wholes, i = _Lifetime(store, every), 0, 0
    while i < len(ends):
        if i in kills:
            kills.discard(i)
            _kill_next_fold(store)
        try:
            state = life.batch([r for r in rows if r.journal_seq <= ends[i]], ends[i])
        except _KilledError:
            life = _Lifetime(store, every)  # the writer died: a new one takes over
            assert life.seq == (ends[i - 1] if i else 0)  # the batch was not stored
            continue
        wholes += isinstance(state, MonitorState)
        if i in restarts:
            life = _Lifetime(store, every)
        i += 1
    reference = _monitor()
    reference.observe(rows)
    assert store.monitor_state() == reference.state(last)
    assert life.monitor.state(last) == reference.state(last)
    assert wholes >= 1


def test_the_entries_stay_bounded_over_many_batches(store: AuditStore) -> None:
    rng = random.Random(11)
    accounts = rng.sample(range(2**32), 400)
    life = _Lifetime(store, every=40)
    most_entries = 0
    for seq in range(1, 601):  # each batch: one account trades with another
        a, b = rng.sample(accounts, 2)
        life.batch([_row(seq, 0, "accepted", a, None, 400, None, "BTC-USD"),
                    _row(seq, 1, "trade", a, b, 401, None, "BTC-USD")], seq)  # fmt: skip
        whole, entries = store.monitor_state_sizes()
        assert entries <= whole + 200  # folded once the entries outgrow the whole state
        most_entries = max(most_entries, _entry_rows(store))
    # At most the accounts (and the instrument) of the batches since the fold.
    assert 0 < most_entries <= 2 * 40 + 1
    assert store.monitor_state() == life.monitor.state(600)
    # Without folding the entries grow towards one per account counted.
    unfolded = _Lifetime(store, every=0)
    unfolded.checkpoints.base = None  # a new whole state, then changes only
    for seq in range(601, 1201):
        a, b = rng.sample(accounts, 2)
        unfolded.batch([_row(seq, 0, "accepted", a, None, 400, None, "BTC-USD"),
                        _row(seq, 1, "trade", a, b, 401, None, "BTC-USD")], seq)  # fmt: skip
    assert _entry_rows(store) > 300 > most_entries
    assert store.monitor_state_sizes()[1] > store.monitor_state_sizes()[0]


def _fold_many(store: AuditStore, seed: int) -> None:
    """800 batches of one trade each among 1,500 accounts, folded every 40 batches."""
    rng = random.Random(seed)
    accounts = rng.sample(range(2**32), 1500)
    life = _Lifetime(store, every=40)
    for seq in range(1, 801):
        a, b = rng.sample(accounts, 2)
        life.batch([_row(seq, 0, "accepted", a, None, 400, None, "BTC-USD"),
                    _row(seq, 1, "trade", a, b, 401, None, "BTC-USD")], seq)  # fmt: skip
    assert store.monitor_state() == life.monitor.state(800)


def _entries_bytes(store: PostgresStore) -> int:
    """The size of the entries table's file (its heap: where a fold's dead rows stay)."""
    row = store._db.execute("SELECT pg_relation_size('audit_monitor_entries')").fetchone()
    assert row is not None
    return int(row[0])


def test_without_autovacuum_the_store_vacuums_the_folded_entries_itself(
    postgres_url: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(postgres_store, "VACUUM_AFTER_DEAD_ROWS", 200)
    store = PostgresStore(postgres_url)
    row = store._db.execute("SHOW autovacuum").fetchone()
    assert row is not None
    server_off = row[0] == "off"
    assert store.vacuums_itself == server_off  # the table has no setting of its own yet
    store._db.execute("ALTER TABLE audit_monitor_entries SET (autovacuum_enabled = off)")
    store.reconnect()  # read again at connect
    assert store.vacuums_itself
    _fold_many(store, seed=12)
    # Each fold of 40 batches deletes up to 81 entries: a vacuum every 3 folds or so.
    assert 3 <= store.vacuums <= 20, store.vacuums
    vacuumed = _entries_bytes(store)
    store.reset()
    store.vacuums_itself = False  # as a store left to an autovacuum that never comes
    store._db.execute("VACUUM FULL audit_monitor_entries")
    _fold_many(store, seed=12)
    unvacuumed = _entries_bytes(store)
    store.close()
    assert vacuumed * 2 < unvacuumed, (vacuumed, unvacuumed)


def _counting_states(store: AuditStore) -> list[MonitorState | MonitorChanges]:
    """Records the monitors' states ``store`` is asked to write (serial and parallel)."""
    seen: list[MonitorState | MonitorChanges] = []
    for name in ("write", "write_columns"):
        real = getattr(store, name, None)
        if real is None:
            continue

        def wrapped(*args: Any, _real: Any = real, **kwargs: Any) -> Any:
            state = kwargs.get("state", args[-1] if args else None)
            if isinstance(state, (MonitorState, MonitorChanges)):
                seen.append(state)
            return _real(*args, **kwargs)

        setattr(store, name, wrapped)
    return seen


def _reference(run: storage_workload.Run, tmp_path: Path) -> tuple[MonitorState, list[Any]]:
    ref = open_store(f"sqlite:///{tmp_path / 'ref.db'}")
    AuditWriter(ref, run.config.instruments, run.journal, monitor=_monitor(),
                checkpoint_every=0).step()  # fmt: skip
    state, alerts = ref.monitor_state(), ref.alerts(AlertQuery(limit=100_000))
    ref.close()
    assert state is not None
    return state, alerts


def _writer(url: str, run: storage_workload.Run) -> tuple[AuditWriter, AuditStore]:
    store = open_store(url)  # a new process: a store of its own
    writer = AuditWriter(store, run.config.instruments, run.journal, monitor=_monitor(),
                         batch_rows=60, checkpoint_every=3)  # fmt: skip
    return writer, store


def _counted_through(rows: list[AuditRow], seq: int) -> bytes:
    m = _monitor()
    m.observe(r for r in rows if r.journal_seq <= seq)
    return m.state(seq).data


def test_a_writer_folds_every_few_batches_and_a_kill_mid_fold_loses_nothing(
    store_url: str, tmp_path: Path
) -> None:
    run = storage_workload.run(tmp_path, orders=1_500, seed=101, snapshots=True)
    rows = [AuditRow._make((*r[:3], 0, *r[3:])) for r in run.expected]
    ref_state, ref_alerts = _reference(run, tmp_path)
    writer, store = _writer(store_url, run)
    _kill_next_fold(store)  # the first state is whole: the first batch dies mid-fold
    with pytest.raises(_KilledError):
        writer.step()
    assert store.last_seq() == 0
    assert store.monitor_state() is None
    store.close()
    writer, store = _writer(store_url, run)
    states = _counting_states(store)
    storage_workload.fail_on_write(store, at=12)  # and a store that goes away later
    with pytest.raises(ConnectionError):
        writer.step()
    assert len(states) == 11
    wholes = [i for i, s in enumerate(states) if isinstance(s, MonitorState)]
    # The first state, then a fold at least after every 3 batches of changes (sooner when
    # the changes outgrow the few accounts' whole state).
    assert wholes[0] == 0
    assert all(b - a <= 4 for a, b in itertools.pairwise([*wholes, len(states)]))
    store.close()
    writer, store = _writer(store_url, run)
    stored = store.last_seq()
    assert writer.monitor_restored == stored
    _kill_next_fold(store)
    with pytest.raises(_KilledError):
        writer.step()  # folds within 3 batches, and dies there
    # The killed fold left the store as it was before that batch: restorable, exact.
    held = store.monitor_state()
    assert held is not None
    assert held.journal_seq == store.last_seq() > stored
    assert held.data == _counted_through(rows, held.journal_seq)
    assert _entry_rows(store) > 0  # the entries the killed fold would have deleted
    store.close()
    last, store = _writer(store_url, run)
    assert last.full_replay_reason is None
    assert last.monitor_restored == held.journal_seq
    last.step()
    assert store.last_seq() == run.last_seq
    assert store.monitor_state() == ref_state
    assert store.alerts(AlertQuery(limit=100_000)) == ref_alerts
    store.close()


def test_on_several_connections_the_fold_goes_with_a_steps_last_batch(
    postgres_url: str, tmp_path: Path
) -> None:
    store = PostgresStore(postgres_url, connections=3)
    steps: list[tuple[dict[int, Any], Any]] = []  # each step's states, and the one stored
    real = store.write_ranges

    def write_ranges(batches: Any, states: Any = {}) -> Any:  # noqa: B006 (the signature's)
        written, prefix, error = real(batches, states)
        within = [s for s in states if s <= prefix]
        steps.append((dict(states), states[max(within)] if within else None))
        return written, prefix, error

    store.write_ranges = write_ranges  # type: ignore[method-assign]
    writers: list[AuditWriter] = []

    def follow(config: Any, journal: Path) -> None:
        if not writers:
            writers.append(AuditWriter(store, config.instruments, journal, monitor=_monitor(),
                                       batch_rows=40, checkpoint_every=2))  # fmt: skip
        writers[0].step()

    run = storage_workload.run(tmp_path, orders=1_500, seed=107, between_chunks=follow,
                               snapshots=True)  # fmt: skip
    writers[0].step()
    ref_state, ref_alerts = _reference(run, tmp_path)
    assert store.monitor_state() == ref_state
    assert store.alerts(AlertQuery(limit=100_000)) == ref_alerts
    several = [states for states, _ in steps[1:] if len(states) > 1]
    assert several  # steps of several batches after the first
    for states in several:  # a whole state only as a step's last
        assert all(isinstance(v, MonitorChanges) for s, v in states.items() if s < max(states))
    stored_wholes = [v for _, v in steps[1:] if isinstance(v, MonitorState)]
    assert len(stored_wholes) >= 2  # folds stored, not only the writer's first state
    store.close()


def test_a_store_of_the_json_format_restores_and_is_folded_into_the_binary_one(
    store_url: str, tmp_path: Path
) -> None:
    run = storage_workload.run(tmp_path, orders=1_500, seed=103, snapshots=True)
    ref_state, ref_alerts = _reference(run, tmp_path)
    rows = [AuditRow._make((*r[:3], 0, *r[3:])) for r in run.expected]
    half = rows[len(rows) // 2].journal_seq
    m = _monitor()
    m.observe(r for r in rows if r.journal_seq <= half // 2)
    counted = m.state(half // 2)
    # What an older version stored: a JSON whole state, then JSON entries over it.
    json_whole = MonitorState(1, counted.config, half // 2, _json_data(m))
    m.forget_through(half // 2)
    m.observe(r for r in rows if half // 2 < r.journal_seq <= half)
    entries = _json_entries(m.changes(half, half // 2))
    store = open_store(store_url)
    store.write([], half // 2, (), json_whole)
    store.write([], half, (), entries)
    # No checkpoints by count or size: the fold comes from the older format alone.
    writer = AuditWriter(store, run.config.instruments, run.journal, monitor=_monitor(),
                         checkpoint_every=0)  # fmt: skip
    assert writer.monitor_restored == half  # no full replay
    assert writer.full_replay_reason is None
    states = _counting_states(store)
    writer.step()
    assert isinstance(states[0], MonitorState)  # folded into the current format at once
    assert states[0].format == STATE_FORMAT == 2
    assert store.monitor_state() == ref_state
    later = [a for a in ref_alerts if a.journal_seq > half]
    assert later
    assert store.alerts(AlertQuery(limit=100_000)) == later
    store.close()


def _json_data(m: ComplianceMonitor) -> bytes:
    from wintermute.storage.monitors import _parts

    return codec.encode_state(1, *_parts(m._accounts, m._over, m._bands))


def _json_entries(changes: MonitorChanges) -> MonitorChanges:
    out = []
    for part, key, value in changes.entries:
        if part == "account":
            counts, rules = codec.decode_account_entry(2, value)
            out.append((part, key, codec.encode_account_entry(1, counts, rules)))
        else:
            band = codec.decode_band_entry(2, key, value)
            out.append((part, key, codec.encode_band_entry(1, band)))
    assert out
    return MonitorChanges(1, changes.config, changes.journal_seq, changes.since, tuple(out))


def test_a_fold_is_due_every_n_batches_or_once_the_entries_outgrow_the_whole_state() -> None:
    m = _monitor()
    m.observe(_rows([[(("accepted", None), a, a, 400, "BTC-USD")] for a in range(300)]))
    cp = Checkpoints(every=3)
    assert cp.due()  # nothing stored: whole
    first = cp.state(m, 300)
    assert isinstance(first, MonitorState)
    cp.stored(first)
    assert (cp.batches, cp.entry_bytes, cp.whole_bytes) == (0, 0, len(first.data))
    small = MonitorChanges(STATE_FORMAT, m.config(), 301, 300, (("account", "1", b"\x00\x01"),))
    for n in range(1, 4):
        assert not cp.due()
        assert isinstance(cp.state(m, 300 + n), MonitorChanges)
        cp.stored(small)
        assert cp.batches == n
    assert cp.due()  # the third batch of changes since the whole state
    assert isinstance(cp.state(m, 304, may_fold=False), MonitorChanges)  # not mid-step
    assert isinstance(cp.state(m, 304), MonitorState)
    cp.stored(first)
    big = MonitorChanges(STATE_FORMAT, m.config(), 301, 300,
                         (("account", "1", b"\x00" * len(first.data)),))  # fmt: skip
    cp.stored(big)
    assert cp.batches == 1
    assert cp.due()  # the entries' bytes outgrew the whole state's
    never = Checkpoints(every=0)
    never.stored(first)
    for _ in range(100):
        never.stored(big)
    assert not never.due()
    never.forget()  # the store refused changes
    assert never.due()


# ---- the encoding ------------------------------------------------------------------------


def test_counts_of_any_size_round_trip_exactly() -> None:
    accounts = {0: (2**70 + 1, 0, 3, 2**64), 2**32 - 1: (1, 2**63, 0, 0), 7: (255, 256, 65_536, 1)}
    over = {7: ["order_to_trade", "stp_hits"]}
    bands = {"BTC-USD": (Decimal("0.0001"), 2**40, Decimal("1E+3")), "É": (Decimal(5), 1, None)}
    for fmt in (1, 2):
        data = codec.encode_state(fmt, accounts, over, bands)
        assert codec.decode_state(fmt, data) == (accounts, over, bands)
        assert codec.encode_state(fmt, *codec.decode_state(fmt, data)) == data
        entry = codec.encode_account_entry(fmt, accounts[0], over[7])
        assert codec.decode_account_entry(fmt, entry) == (accounts[0], over[7])
        assert codec.decode_account_entry(fmt, codec.encode_account_entry(fmt, None, [])) == (
            None, [])  # fmt: skip
        band = codec.encode_band_entry(fmt, bands["BTC-USD"])
        assert codec.decode_band_entry(fmt, "BTC-USD", band) == bands["BTC-USD"]


def test_the_binary_state_is_smaller_than_the_json_one() -> None:
    rng = random.Random(3)
    accounts = {a: (rng.randint(1, 12), rng.randint(0, 3), rng.randint(0, 12), 0)
                for a in rng.sample(range(1_000, 2**31), 10_000)}  # fmt: skip
    binary = len(codec.encode_state(2, accounts, {}, {}))
    assert binary < 0.6 * len(codec.encode_state(1, accounts, {}, {}))
    assert binary < 5 * len(accounts)
    entry = codec.encode_account_entry(2, (12, 3, 4, 0), [])
    assert len(entry) == 5 < len(codec.encode_account_entry(1, (12, 3, 4, 0), []))


def _payload(*parts: bytes) -> bytes:
    return zlib.compress(b"".join(parts))


@pytest.mark.parametrize(
    ("data", "message"),
    [
        (_payload(b"\x01"), "ends inside a field"),
        (_payload(b"\x01\x01\x05"), "ends inside a field"),
        (_payload(b"\x02\x01\x05\x00", b"\x01\x01\x01" * 5, b"\x00"), "out of order"),
        (_payload(b"\x01\x03\x05"), "column width=3"),
        (_payload(b"\x01\x01\x05", b"\x01\x01" * 4, b"\x01\x40", b"\x00"), "names no rule"),
        (_payload(b"\x00\x00\x00\x00\x00\x00\x00\x00\x07"), "bytes after the end"),
        (_payload(b"\x80\x00"), "superfluous zero byte"),
        (_payload(b"\x01\x08", b"\x00" * 7, b"\x01"), "not an account number"),
        (_payload(b"\x00" * 7, b"\x01\x07BTC-USD\x03NaN\x01\x00"), "finite"),
        (b"\x00not zlib", "does not decode"),
    ],
)  # fmt: skip
def test_bad_binary_data_is_refused_and_changes_nothing(data: bytes, message: str) -> None:
    monitor = _monitor()
    monitor.observe(_rows([[(("accepted", None), 1, 1, 400, "BTC-USD")]]))
    before = monitor.state(1)
    with pytest.raises(StorageError, match=message) as e:
        monitor.restore(MonitorState(STATE_FORMAT, monitor.config(), 2, data))
    assert e.value.reason == "MONITOR_STATE"
    assert monitor.state(1) == before


# ---- the setting -------------------------------------------------------------------------


def test_checkpoint_every_is_read_from_the_config_and_checked_by_name() -> None:
    assert AuditSettings().checkpoint_every == DEFAULT_EVERY == 1_000
    s = AuditSettings.from_dict({"monitors": {"checkpoint_every": 50}})
    assert s.checkpoint_every == 50
    assert AuditSettings.from_dict({"monitors": {"checkpoint_every": 0}}).checkpoint_every == 0
    for bad in (-1, 2.5, True, "10", 10**10):
        with pytest.raises(ConfigError, match=r"audit\.monitors\.checkpoint_every") as e:
            AuditSettings.from_dict({"monitors": {"checkpoint_every": bad}})
        assert e.value.key == "monitors.checkpoint_every"
    with pytest.raises(ValueError, match="checkpoint_every=-2"):
        Checkpoints(-2)
