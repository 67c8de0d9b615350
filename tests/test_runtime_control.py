"""Runtime control of the threaded engine from Python: limits, kill switches and reference
prices change while it runs, take effect for every later command, are journaled, and survive a
restart; snapshots (on request and periodic) are what a restart starts from.

Every engine parks its threads (2-core CI machine) and every wait is bounded by a timeout.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import pytest

from specs import BTC, PARK
from wintermute import errors, journal
from wintermute.cli import main
from wintermute.pipeline import OUTCOMES, RISK_REASONS, Pipeline


def config(**extra: Any) -> dict[str, Any]:
    base: dict[str, Any] = {
        "instruments": [BTC],
        "risk": {"reference_prices": {"BTC-USD": "100.00"}},
        "threads": {"risk": {"wait": PARK}, "matching": {"wait": PARK}},
        "gateways": {"count": 1, "capacity": 1024, "backpressure": "block", "wait": PARK},
    }
    base.update(extra)
    return base


def verdicts(eng: Pipeline, n: int) -> list[str]:
    """The outcome of each of the next ``n`` commands: the risk code when risk refused it."""
    out = eng.subscription(0).poll(timeout=10.0, until_commands=n)
    last: npt.NDArray[np.void] = out[out["last"] == 1]
    assert len(last) == n
    names = []
    for rec in last:
        outcome = OUTCOMES[int(rec["outcome"])]
        names.append(RISK_REASONS[int(rec["reason"])] if outcome == "risk_rejected" else outcome)
    return names


def test_kill_switches_and_limits_apply_to_every_later_command() -> None:
    with Pipeline(config()) as eng:
        gw = eng.gateway(0)
        assert eng.kill(7) == 0  # no journal: sequence number 0
        gw.submit("BTC-USD", 1, "buy", qty="1", price="99.00", account=7)
        gw.submit("BTC-USD", 2, "buy", qty="1", price="99.00", account=8)
        assert verdicts(eng, 2) == ["ACCOUNT_KILL_SWITCH", "event"]
        eng.release(7)
        eng.kill()
        gw.submit("BTC-USD", 3, "buy", qty="1", price="99.00", account=7)
        gw.cancel("BTC-USD", 2)  # cancels pass a kill switch
        assert verdicts(eng, 2) == ["GLOBAL_KILL_SWITCH", "event"]
        eng.release()
        eng.set_limits(7, {"max_order_qty": 500})  # lots: 0.5 BTC
        gw.submit("BTC-USD", 4, "buy", qty="0.501", price="99.00", account=7)
        gw.submit("BTC-USD", 5, "buy", qty="0.5", price="99.00", account=7)
        assert verdicts(eng, 2) == ["MAX_ORDER_QTY", "event"]
        # A price band of 100 bps around the reference, then the reference moves.
        eng.set_limits(9, {"price_band_bps": 100})
        gw.submit("BTC-USD", 6, "buy", qty="1", price="101.50", account=9)
        # (A control may overtake commands still in a gateway ring: read the verdict first.)
        assert verdicts(eng, 1) == ["PRICE_BAND"]
        eng.set_reference_price("BTC-USD", "101.00")
        gw.submit("BTC-USD", 7, "buy", qty="1", price="101.50", account=9)
        assert verdicts(eng, 1) == ["event"]
        # Unseen accounts: refused once the default limits are removed.
        eng.set_default_limits(None)
        gw.submit("BTC-USD", 8, "buy", qty="1", price="99.00", account=12)
        assert verdicts(eng, 1) == ["UNKNOWN_ACCOUNT"]
        assert eng.shutdown()["stats"].controls == 8  # exact once stopped


def test_bad_controls_raise_and_change_nothing() -> None:
    with Pipeline(config()) as eng:
        with pytest.raises(errors.ConfigError, match="max_position") as bad:
            eng.set_limits(7, {"max_position": -1})
        assert bad.value.key == "limits[7].max_position"
        with pytest.raises(errors.ConfigError, match="unknown key"):
            eng.set_limits(7, {"max_pos": 1})
        with pytest.raises(errors.PriceOffTickError):
            eng.set_reference_price("BTC-USD", "100.005")
        with pytest.raises(errors.UnknownInstrumentError):
            eng.set_reference_price("ETH-USD", "1")
        with pytest.raises(errors.ControlError) as no_journal:
            eng.snapshot()
        assert no_journal.value.reason == "NO_JOURNAL"
        assert eng.stats().controls == 0
    with pytest.raises(errors.ControlError) as stopped:
        eng.kill()
    assert stopped.value.reason == "CONTROL_STOPPED"
    no_risk = config()
    del no_risk["risk"]
    with Pipeline(no_risk) as plain, pytest.raises(errors.ControlError) as raised:
        plain.kill(7)
    assert raised.value.reason == "NO_RISK"


def test_controls_are_journaled_and_survive_a_restart(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    cfg = config(journal={"dir": str(tmp_path / "j"), "fsync": "none"})
    with Pipeline(cfg) as eng:
        gw = eng.gateway(0)
        gw.submit("BTC-USD", 1, "buy", qty="1", price="99.00", account=7)
        assert verdicts(eng, 1) == ["event"]
        assert eng.kill(7) == 2  # after command 1
        assert eng.set_limits(8, {"max_order_qty": 10}) == 3
    controls = journal.read_controls(tmp_path / "j")
    assert [(c["seq"], c["control"]) for c in controls] == [(2, "account_kill"), (3, "set_limits")]
    assert controls[0] == {"seq": 2, "control": "account_kill", "account": 7, "engaged": True}
    assert controls[1]["limits"]["max_order_qty"] == 10
    summary = journal.summarize(tmp_path / "j")
    assert (summary["records"], summary["controls"], summary["last_seq"]) == (3, 2, 3)
    with Pipeline(cfg) as again:
        assert again.recovery().controls == 2
        gw = again.gateway(0)
        gw.submit("BTC-USD", 2, "buy", qty="1", price="99.00", account=7)
        gw.submit("BTC-USD", 3, "buy", qty="0.011", price="99.00", account=8)
        gw.cancel("BTC-USD", 1)
        assert verdicts(again, 3) == ["ACCOUNT_KILL_SWITCH", "MAX_ORDER_QTY", "event"]
    # The export in JSON lines keeps every record, in sequence order; CSV says what it leaves.
    # Risk rejections are journaled too (records 4 and 5).
    out = export(capsys, str(tmp_path / "j"))
    rows = [json.loads(line) for line in out.out.splitlines()]
    kinds = ["new", "control", "control", "risk_rejected", "risk_rejected", "cancel"]
    assert [r["kind"] for r in rows] == kinds
    assert [r["seq"] for r in rows] == [1, 2, 3, 4, 5, 6]
    assert [(r["command"], r["order_id"], r["reason"]) for r in rows[3:5]] == [
        ("new", 2, "ACCOUNT_KILL_SWITCH"),
        ("new", 3, "MAX_ORDER_QTY"),
    ]
    err = export(capsys, str(tmp_path / "j"), "--format", "csv").err
    assert "2 control records" in err
    assert "2 risk rejections" in err


def export(capsys: pytest.CaptureFixture[str], *args: str) -> Any:
    assert main(["journal", "export", *args]) == 0
    return capsys.readouterr()


def test_snapshots_on_request_and_periodic_are_where_a_restart_starts(tmp_path: Path) -> None:
    j = tmp_path / "j"
    cfg = config(journal={"dir": str(j), "fsync": "none", "snapshot_every_records": 50})
    with Pipeline(cfg) as eng:
        gw = eng.gateway(0)
        for i in range(1, 201):
            gw.submit_ticks(0, i, i % 2, 9_000 + (i % 7) * 100, 1_000, account=i % 5)
        verdicts(eng, 200)
        eng.kill(3)
        taken = eng.snapshot()
        assert taken.journal_seq == 201
        assert Path(taken.path).exists()
    stats = eng.stats()
    assert stats.snapshots_written >= 2, stats
    assert stats.last_snapshot_seq == 201
    with Pipeline(cfg) as again:
        rec = again.recovery()
        assert rec.snapshot == taken.path
        assert (rec.replayed, rec.controls, rec.journal_seq) == (0, 0, 201)
        again.gateway(0).submit_ticks(0, 1_000, 0, 9_000, 1, account=3)
        assert verdicts(again, 1) == ["ACCOUNT_KILL_SWITCH"]  # from the snapshot's risk state
        books = again.shutdown()["books"]
    assert json.loads(books["BTC-USD"])["orders"], "resting orders came back from the snapshot"


def test_limits_config_objects_are_accepted() -> None:
    from wintermute.config import LimitsConfig

    with Pipeline(config()) as eng:
        eng.set_limits(7, LimitsConfig(max_open_orders=1))
        gw = eng.gateway(0)
        gw.submit("BTC-USD", 1, "buy", qty="1", price="99.00", account=7)
        gw.submit("BTC-USD", 2, "buy", qty="1", price="98.00", account=7)
        result: list[Any] = verdicts(eng, 2)
    assert result == ["event", "MAX_OPEN_ORDERS"]
