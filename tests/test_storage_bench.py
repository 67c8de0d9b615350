"""``wintermute bench storage`` (wintermute.bench.storage): every target runs and reports
every row it wrote, against real servers; scratch schema and keys are gone afterwards."""

from __future__ import annotations

import json

import psycopg
import pytest
import redis

from storage_servers import postgres_admin_url, postgres_url, redis_server_url
from wintermute.cli import main

__all__ = ["postgres_admin_url", "postgres_url", "redis_server_url"]  # fixtures, used by name


def test_bench_storage_measures_every_tier_and_leaves_nothing_behind(
    postgres_url: str, redis_server_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["bench", "storage", "--orders", "3000", "--batch-rows", "700", "--json",
            "--postgres", postgres_url, "--redis", redis_server_url]  # fmt: skip
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    names = [r["name"].split()[0] for r in report["results"]]
    assert names == ["replay", "sqlite", "postgresql", "redis"]
    assert report["rows"] > 3000
    assert all(r["rows"] == report["rows"] for r in report["results"][:3])
    assert all(r["per_s"] > 0 for r in report["results"])
    assert report["notes"] == []
    # The Rust writer, same run: the same trades, one book write a round.
    [rust] = [r for r in report["rust"] if r["name"].startswith("redis (Rust")]
    [python] = [r for r in report["results"] if r["name"].startswith("redis")]
    assert rust["rows"] == python["rows"] > 0
    assert rust["rows"] < rust["updates"] < 2 * rust["rows"]
    assert rust["per_s"] > 0
    with psycopg.connect(postgres_url) as db:
        left = db.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'wm_bench_%'")
        assert left.fetchone() == (0,)
    client = redis.Redis.from_url(redis_server_url)
    assert list(client.scan_iter(match="wmbench*")) == []
    client.close()


def test_bench_storage_without_servers_names_what_it_left_out(
    capsys: pytest.CaptureFixture[str],
) -> None:
    assert main(["bench", "storage", "--orders", "500"]) == 0
    out = capsys.readouterr().out
    assert "sqlite" in out
    assert "note: postgresql: left out (give --postgres URL)" in out
    assert "note: redis: left out (give --redis URL)" in out


def test_bench_storage_variants_copy_every_row_into_each_index_set_and_drop_their_tables(
    postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["bench", "storage", "--orders", "2000", "--json", "--postgres", postgres_url,
            "--variants"]  # fmt: skip
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    variants = [r for r in report["rust"] if r["name"].startswith("postgresql COPY, ")]
    assert [r["name"].removeprefix("postgresql COPY, ") for r in variants] == [
        f"{label}, {n} connection(s)"
        for label in ("audit_events' indexes", "with BRIN seq", "none")
        for n in (1, 2)
    ]
    # Each variant checked the table held every row (the bench raises otherwise).
    assert all(r["rows"] == report["rows"] and r["per_s"] > 0 for r in variants)
    with psycopg.connect(postgres_url) as db:
        left = db.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'wm_bench_%'")
        assert left.fetchone() == (0,)


def test_bench_storage_writes_the_writers_batches_on_each_number_of_connections(
    postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["bench", "storage", "--orders", "2000", "--batch-rows", "400", "--json",
            "--postgres", postgres_url, "--connections", "1,3"]  # fmt: skip
    assert main(argv) == 0
    report = json.loads(capsys.readouterr().out)
    runs = [r for r in report["rust"] if r["name"].startswith("postgresql (writer's batches")]
    assert [r["name"] for r in runs] == [
        f"postgresql (writer's batches, {n} connection(s))" for n in (1, 3)
    ]
    # Each checked the store held every row through the last sequence (it raises otherwise).
    assert all(r["rows"] == report["rows"] and r["batches"] > 3 for r in runs)
    with psycopg.connect(postgres_url) as db:
        left = db.execute("SELECT count(*) FROM pg_namespace WHERE nspname LIKE 'wm_bench_%'")
        assert left.fetchone() == (0,)
    with pytest.raises(SystemExit) as bad:
        main(["bench", "storage", "--connections", "0,2"])
    assert bad.value.code == 2
    assert "--connections" in capsys.readouterr().err
