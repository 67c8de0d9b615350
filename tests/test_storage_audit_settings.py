"""The ``[audit]`` table (wintermute.storage.audit_settings): checked when read, left out of
the engine's config, and used by ``wintermute audit follow`` / ``rebuild``."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

import storage_workload
from wintermute.config import EngineConfig
from wintermute.errors import ConfigError
from wintermute.storage import open_store
from wintermute.storage.audit_settings import AuditSettings
from wintermute.storage.monitors import Thresholds
from wintermute.storage.queries import AlertQuery


def test_an_audit_table_sets_the_store_and_the_monitors(tmp_path: Path) -> None:
    path = tmp_path / "engine.toml"
    path.write_text(
        '[[instruments]]\nsymbol = "X"\ntick_size = "1"\nlot_size = "1"\nmin_qty = "1"\n'
        'max_qty = "10"\nmin_price = "1"\nmax_price = "100"\n\n'
        '[audit]\nstore = "sqlite:///a.db"\nrun_dir = "runs"\n\n'
        "[audit.monitors]\nmax_cancel_rate = 0.5\nmin_orders = 7\nprice_band_bps = false\n\n"
        '[audit.monitors.account_groups]\ndesk-a = [1, 2]\n"desk b" = [3]\n'
    )
    from wintermute.config import read_document

    settings = AuditSettings.of_document(read_document(path))
    assert settings.store == "sqlite:///a.db"
    assert settings.run_dir == "runs"
    assert settings.thresholds == Thresholds(max_cancel_rate=0.5, min_orders=7,
                                             price_band_bps=None)  # fmt: skip
    assert settings.account_groups == {"desk-a": (1, 2), "desk b": (3,)}
    monitor = settings.monitor()
    assert monitor is not None
    assert monitor.thresholds == settings.thresholds
    # The engine never sees the table.
    assert [i.symbol for i in EngineConfig.from_file(path).instruments] == ["X"]
    # Without a table: defaults (monitors on, default thresholds, no groups).
    assert AuditSettings.of_document({}) == AuditSettings()


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"stor": "x"}, "audit.stor: unknown key"),
        ({"store": 7}, "audit.store: expected a non-empty string"),
        ({"enabled": "yes"}, "audit.enabled: expected true or false"),
        ({"monitors": {"max_cancel_rate": 2}}, "max_cancel_rate=2 in \\(0, 1\\]"),
        ({"monitors": {"min_orders": 1.5}}, "monitors.min_orders: 1.5 is not an integer"),
        ({"monitors": {"max_order_to_trade": "20"}}, "'20' is not a number"),
        ({"monitors": {"price_band": 5}}, "monitors.price_band: unknown key"),
        ({"monitors": {"account_groups": {"d": [1, "x"]}}}, "expected a list of account"),
        ({"monitors": {"account_groups": [1, 2]}}, "expected a table of group"),
    ],
)
def test_a_bad_audit_table_is_a_config_error(table: dict[str, Any], message: str) -> None:
    with pytest.raises(ConfigError, match=message):
        AuditSettings.from_dict(table)


def test_audit_follow_runs_the_monitors_of_the_config_file(tmp_path: Path) -> None:
    run = storage_workload.run(tmp_path, orders=800, seed=12)
    document = json.loads(run.config_path.read_text())
    document["audit"] = {"monitors": {"price_band_bps": False,
                                      "account_groups": {"desk": [1, 2]}}}  # fmt: skip
    config = tmp_path / "with_audit.json"
    config.write_text(json.dumps(document))
    url = f"sqlite:///{tmp_path / 'f.db'}"
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parent.parent / "python")}
    done = subprocess.run(
        [sys.executable, "-m", "wintermute.cli", "audit", "follow", "--config", str(config),
         "--store", url, "--seconds", "2", "--account-group", "desk2=5,6"],
        env=env, capture_output=True, text=True, timeout=120,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"stored through seq {run.last_seq}" in done.stdout
    store = open_store(url)
    alerts = store.alerts(AlertQuery(rule="wash_trade", limit=100_000))
    pairs = {frozenset((a.account, a.contra_account)) for a in alerts}
    assert pairs == {frozenset((1, 2)), frozenset((5, 6))}  # the file's group and the option's
    assert store.alerts(AlertQuery(rule="price_band")) == []  # off in the file
    store.close()
