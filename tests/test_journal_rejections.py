"""Risk rejections in the journal: a journaled pipeline writes every command a pre-trade limit
refused, with its reason, so that the journal readers and the audit trail rebuilt from the
journal hold them (docs/storage.md, docs/runtime.md)."""

from __future__ import annotations

from decimal import Decimal
from pathlib import Path
from typing import Any

from specs import BTC, PARK
from wintermute import journal
from wintermute.config import EngineConfig
from wintermute.pipeline import OUTCOMES, RISK_REASONS, Pipeline
from wintermute.storage import AuditQuery, open_store, rebuild
from wintermute.storage.replay import JournalReplay


def journaled(tmp_path: Path) -> EngineConfig:
    data: dict[str, Any] = {
        "instruments": [BTC],
        "threads": {"risk": {"wait": PARK}, "matching": {"wait": PARK}},
        "gateways": {"count": 1, "capacity": 1024, "backpressure": "block", "wait": PARK},
        "risk": {"accounts": {"7": {"max_order_qty": 10}}, "reject_unknown_accounts": True},
        "journal": {"dir": str(tmp_path / "journal"), "fsync": "none", "segment_size": 1 << 20},
    }
    return EngineConfig.from_dict(data)


def run(cfg: EngineConfig) -> Any:
    with Pipeline(cfg) as eng:
        gw = eng.gateway(0)
        gw.submit_ticks(0, 1, 0, 10_000, 5, account=7)  # passes
        gw.submit_ticks(0, 2, 0, 10_000, 11, account=7)  # MAX_ORDER_QTY
        gw.submit_ticks(0, 3, 1, 10_010, 1, account=8)  # UNKNOWN_ACCOUNT
        gw.submit_ticks(0, 4, 1, 10_020, 2, account=7)  # passes
        out = eng.subscription(0).poll(timeout=10.0, until_commands=4)
    return out[out["last"] == 1]


def test_a_journaled_rejection_takes_the_next_sequence_number(tmp_path: Path) -> None:
    last = run(journaled(tmp_path))
    outcomes = [OUTCOMES[int(o)] for o in last["outcome"]]
    assert outcomes == ["event", "risk_rejected", "risk_rejected", "event"]
    assert list(last["journal_seq"]) == [1, 2, 3, 4]

    d = tmp_path / "journal"
    refused = journal.read_rejections(d)
    assert list(refused["seq"]) == [2, 3]
    assert list(refused["order_id"]) == [2, 3]
    assert list(refused["account"]) == [7, 8]
    assert [RISK_REASONS[int(r)] for r in refused["reason"]] == ["MAX_ORDER_QTY", "UNKNOWN_ACCOUNT"]
    assert list(journal.read(d)["seq"]) == [1, 4], "read() yields the commands that ran"
    assert list(journal.read_rejections(d, after_seq=2)["seq"]) == [3]
    s = journal.summarize(d)
    assert (s["ok"], s["records"], s["rejections"], s["first_seq"], s["last_seq"]) == (
        True,
        4,
        2,
        1,
        4,
    )


def test_the_audit_trail_rebuilt_from_the_journal_holds_the_rejections(tmp_path: Path) -> None:
    cfg = journaled(tmp_path)
    run(cfg)
    replay = JournalReplay(cfg.instruments, tmp_path / "journal")
    rows = replay.read()
    assert replay.cursor == 4, "the cursor passes the rejections"
    assert [r.journal_seq for r in rows] == sorted(r.journal_seq for r in rows)
    refused = [r for r in rows if r.kind == "rejected"]
    assert [(r.journal_seq, r.account, r.order_id, r.reason) for r in refused] == [
        (2, 7, 2, "MAX_ORDER_QTY"),
        (3, 8, 3, "UNKNOWN_ACCOUNT"),
    ]
    first = refused[0]
    assert (first.command, first.side, first.price, first.qty) == (
        "new",
        "buy",
        Decimal("100.00"),
        Decimal("0.011"),
    )
    assert replay.read() == [], "nothing read twice"

    store = open_store(f"sqlite:///{tmp_path / 'audit.db'}")
    try:
        rebuild(store, cfg.instruments, tmp_path / "journal")
        stored = store.query(AuditQuery(account=8))
        assert [(r.kind, r.reason) for r in stored] == [("rejected", "UNKNOWN_ACCOUNT")]
        assert store.last_seq() == 4
    finally:
        store.close()
