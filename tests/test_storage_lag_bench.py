"""``wintermute bench storage-lag`` (wintermute.bench.storage_lag): the writer follows a live
journal to its end in every writer-on phase, on SQLite and PostgreSQL; the lag is measured as
documented; scratch schemas are gone afterwards."""

from __future__ import annotations

import json

import psycopg
import pytest

from storage_servers import postgres_admin_url, postgres_url
from wintermute.bench.storage_lag import _lags, flow
from wintermute.cli import main

__all__ = ["postgres_admin_url", "postgres_url"]  # fixtures, used by name


def test_a_samples_lag_runs_until_the_store_holds_its_head() -> None:
    # (time, journal head, stored sequence)
    samples = [(0.0, 10, 0), (0.1, 20, 5), (0.2, 20, 10), (0.5, 30, 20), (0.6, 30, 30)]
    assert _lags(samples) == pytest.approx([0.2, 0.4, 0.3, 0.1, 0.0])
    # A head never stored is left out (the report says how far behind the writer stayed).
    assert _lags([(0.0, 10, 0), (0.1, 20, 10), (0.2, 30, 10)]) == pytest.approx([0.1])


def test_the_flow_cancels_each_order_later_and_is_seeded() -> None:
    cmds = flow(2_000, seed=7)
    assert len(cmds) == 2_000
    assert (cmds["kind"][0::2] == 0).all()
    assert (cmds["kind"][1::2] == 1).all()
    assert (flow(2_000, seed=7) == cmds).all()
    assert not (flow(2_000, seed=8) == cmds).all()


@pytest.mark.parametrize("backend", ["sqlite", "postgresql"])
def test_each_writer_on_phase_stores_the_whole_journal_and_phases_alternate(
    backend: str, postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["bench", "storage-lag", "--rate", "20k", "--seconds", "0.5", "--rounds", "2",
            "--json"]  # fmt: skip
    if backend == "postgresql":
        argv += ["--postgres", postgres_url, "--connections", "2"]
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    assert report["store"] == backend
    assert [(p["round"], p["writer"]) for p in report["phases"]] == [
        (1, "off"), (1, "on"), (2, "on"), (2, "off"),
    ]  # fmt: skip
    for p in report["phases"]:
        assert p["sent"] == p["offered"] == 10_000
        assert p["engine_p50_us"] > 0
        if p["writer"] == "on":
            assert p["caught_up_s"] is not None, p
            # One journal record per command, every one stored; more rows than commands
            # (trades, refused cancels of filled orders).
            assert p["stored_seq"] == p["journal_seq"] == p["sent"]
            assert p["rows"] > p["sent"]
            assert 0 <= p["lag_p50_s"] <= p["lag_p99_s"] <= p["lag_max_s"]
    assert [r["round"] for r in report["ratios"]] == [1, 2]
    if backend == "postgresql":
        with psycopg.connect(postgres_url) as db:
            left = db.execute(
                "SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'wm_bench_lag%'"
            )
            assert left.fetchone() == (0,)


def test_a_rate_that_is_not_positive_is_refused(capsys: pytest.CaptureFixture[str]) -> None:
    for rate in ("0", "-5k", "fast", "inf"):
        with pytest.raises(SystemExit) as e:
            main(["bench", "storage-lag", f"--rate={rate}"])
        assert e.value.code == 2
        assert "expected a positive rate" in capsys.readouterr().err
