"""Real PostgreSQL and Redis servers for the storage tests.

Each server comes from, in order: the environment (``WINTERMUTE_TEST_POSTGRES_URL``, an admin
URL whose user may create databases; ``WINTERMUTE_TEST_REDIS_URL``), a server already running
on its default local port (127.0.0.1:5432 as ``postgres``, 127.0.0.1:6379), or a throwaway one
this module starts from the installed binaries (``initdb`` + ``pg_ctl`` in a temporary
directory on a free port; ``redis-server`` on a free port), stopped at the end of the session.
Each test gets its own database (dropped afterwards) or its own key prefix (deleted
afterwards). Without a server and without the binaries a test skips, except under
``CI=true``, where it fails.
"""

from __future__ import annotations

import itertools
import os
import random
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg
import pytest
import redis
from psycopg import sql

CI = os.environ.get("CI") == "true"
# Debian's server binaries (newest major version first), then the PATH's.
PG_BIN_DIRS = [
    *sorted(Path("/usr/lib/postgresql").glob("*/bin"), key=lambda p: -int(p.parent.name)),
    Path("/usr/local/bin"),
    Path("/usr/bin"),
]
_counter = itertools.count()


def _missing(what: str) -> None:
    message = f"{what} (set WINTERMUTE_TEST_POSTGRES_URL / WINTERMUTE_TEST_REDIS_URL)"
    if CI:
        pytest.fail(f"{message}; CI=true requires it")
    pytest.skip(message)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _free_cluster_port() -> int:
    """A free port whose cluster bus port (10,000 higher) is free too, below 55,536."""
    for _ in range(200):
        port = random.randrange(20_000, 30_000)
        try:
            for p in (port, port + 10_000):
                with socket.socket() as s:
                    s.bind(("127.0.0.1", p))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port pair for a Redis Cluster node")


def _pg_answers(url: str) -> bool:
    try:
        with psycopg.connect(url, connect_timeout=2):
            return True
    except psycopg.Error:
        return False


def _pg_binary(name: str) -> Path | None:
    for d in PG_BIN_DIRS:
        if (d / name).exists():
            return d / name
    found = shutil.which(name)
    return Path(found) if found else None


def start_postgres(tmp: Path, port: int | None = None) -> tuple[str, Path]:
    """A throwaway server with its data in ``tmp/pg`` (created by ``initdb`` the first time;
    started again on ``port`` later), ``fsync`` off. Returns its admin URL and data dir."""
    initdb, pg_ctl = _pg_binary("initdb"), _pg_binary("pg_ctl")
    if initdb is None or pg_ctl is None:
        _missing("no PostgreSQL server and no initdb/pg_ctl to start one")
    assert initdb is not None
    assert pg_ctl is not None
    data, port = tmp / "pg", port or _free_port()
    as_user = _as_postgres_user(tmp)
    run = {"check": True, "capture_output": True, "timeout": 120}
    if not data.exists():
        subprocess.run([*as_user, initdb, "-D", data, "-U", "postgres", "-A", "trust"], **run)  # type: ignore[call-overload]
    options = f"-p {port} -k {tmp} -c listen_addresses=127.0.0.1 -c fsync=off"
    subprocess.run(  # type: ignore[call-overload]
        [*as_user, pg_ctl, "-D", data, "-o", options, "-l", tmp / "pg.log", "-w", "start"], **run
    )
    return f"postgresql://postgres@127.0.0.1:{port}/postgres", data


def stop_postgres(tmp: Path, data: Path, mode: str = "immediate") -> None:
    """Stops a server of :func:`start_postgres` (``immediate``: as a crash would)."""
    pg_ctl = _pg_binary("pg_ctl")
    subprocess.run(
        [*_as_postgres_user(tmp), str(pg_ctl), "-D", str(data), "-m", mode, "-w", "stop"],
        check=False,
        capture_output=True,
        timeout=60,
    )


def _as_postgres_user(tmp: Path) -> list[str]:
    """initdb refuses to run as root: as root, run the server as the ``postgres`` user (which
    Debian's package creates), owning ``tmp``."""
    if os.geteuid() != 0:
        return []
    shutil.chown(tmp, user="postgres")
    return ["runuser", "-u", "postgres", "--"]


@pytest.fixture(scope="session")
def postgres_admin_url() -> Iterator[str]:
    """An admin URL of a running PostgreSQL server (see the module documentation)."""
    url = os.environ.get("WINTERMUTE_TEST_POSTGRES_URL")
    if url:
        if not url.startswith(("postgresql://", "postgres://")):
            pytest.fail(f"WINTERMUTE_TEST_POSTGRES_URL={url}: give a postgresql:// URL")
        if not _pg_answers(url):
            pytest.fail(f"WINTERMUTE_TEST_POSTGRES_URL={url}: no server answers")
        yield url
        return
    local = "postgresql://postgres@127.0.0.1:5432/postgres"
    if _pg_answers(local):
        yield local
        return
    tmp = Path(tempfile.mkdtemp(prefix="wm-pg-"))
    url, data = start_postgres(tmp)
    try:
        yield url
    finally:
        stop_postgres(tmp, data)
        shutil.rmtree(tmp, ignore_errors=True)


def _with_db(admin_url: str, name: str) -> str:
    """``admin_url`` (a ``postgresql://`` URL) with database ``name``."""
    parts = urlsplit(admin_url)
    return urlunsplit((parts.scheme, parts.netloc, f"/{name}", parts.query, parts.fragment))


@pytest.fixture(params=["sqlite", "postgresql"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """The URL of an empty audit store: SQLite in a file, or a PostgreSQL database of its own
    (each test runs on both)."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'audit.db'}"
    url: str = request.getfixturevalue("postgres_url")
    assert url.startswith("postgresql://"), url  # not a path that SQLite would open
    return url


@pytest.fixture
def postgres_url(postgres_admin_url: str) -> Iterator[str]:
    """A fresh database of its own for one test, dropped afterwards."""
    name = f"wm_test_{os.getpid()}_{next(_counter)}"
    with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
        admin.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))
    try:
        yield _with_db(postgres_admin_url, name)
    finally:
        with psycopg.connect(postgres_admin_url, autocommit=True) as admin:
            admin.execute(
                sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
            )


def _redis_answers(url: str) -> bool:
    try:
        client = redis.Redis.from_url(url, socket_timeout=2)
        ok = bool(client.ping())
        client.close()
        return ok
    except redis.RedisError:
        return False


def start_redis(tmp: Path, port: int | None = None) -> tuple[str, subprocess.Popen[bytes]]:
    """A throwaway ``redis-server`` (no persistence) on a free loopback port."""
    binary = shutil.which("redis-server") or "/usr/local/bin/redis-server"
    if not Path(binary).exists():
        _missing("no Redis server and no redis-server to start one")
    port = port or _free_port()
    proc = subprocess.Popen(
        [binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
         "--dir", str(tmp)],
        stdout=subprocess.DEVNULL,
    )  # fmt: skip
    url = f"redis://127.0.0.1:{port}/0"
    deadline = time.monotonic() + 10
    while not _redis_answers(url):
        if time.monotonic() > deadline:
            proc.kill()
            raise RuntimeError(f"redis-server on port {port} did not start")
        time.sleep(0.05)
    return url, proc


@pytest.fixture(scope="session")
def redis_server_url() -> Iterator[str]:
    """The URL of a running Redis server (see the module documentation)."""
    url = os.environ.get("WINTERMUTE_TEST_REDIS_URL")
    if url:
        if not _redis_answers(url):
            pytest.fail(f"WINTERMUTE_TEST_REDIS_URL={url}: no server answers")
        yield url
        return
    if _redis_answers("redis://127.0.0.1:6379/0"):
        yield "redis://127.0.0.1:6379/0"
        return
    tmp = Path(tempfile.mkdtemp(prefix="wm-redis-"))
    url, proc = start_redis(tmp)
    try:
        yield url
    finally:
        proc.terminate()
        proc.wait(10)
        shutil.rmtree(tmp, ignore_errors=True)


@pytest.fixture
def redis_prefix(redis_server_url: str) -> Iterator[str]:
    """A key prefix of its own for one test; its keys are deleted afterwards."""
    prefix = f"wmtest{os.getpid()}x{next(_counter)}"
    yield prefix
    client = redis.Redis.from_url(redis_server_url)
    keys = list(client.scan_iter(match=f"{prefix}:*"))
    if keys:
        client.delete(*keys)
    client.close()


def start_redis_cluster(
    tmp: Path, masters: int = 3, replicas: int = 0, node_timeout_ms: int = 15_000
) -> tuple[list[str], list[subprocess.Popen[bytes]]]:
    """A throwaway Redis Cluster of ``masters`` nodes on loopback ports, each with
    ``replicas`` replicas (which take over when their master fails for ``node_timeout_ms``):
    node URLs and processes, in the order ``redis-cli --cluster create`` was given them
    (masters first). Created with ``redis-cli --cluster create``."""
    binary = shutil.which("redis-server") or "/usr/local/bin/redis-server"
    cli = shutil.which("redis-cli")
    if not Path(binary).exists() or cli is None:
        _missing("no redis-server / redis-cli to start a Redis Cluster")
    assert cli is not None
    ports: list[int] = []
    while len(ports) < masters * (1 + replicas):
        port = _free_cluster_port()
        if port not in ports:
            ports.append(port)
    procs = []
    for port in ports:
        node = tmp / str(port)
        node.mkdir()
        procs.append(subprocess.Popen(
            [binary, "--port", str(port), "--bind", "127.0.0.1", "--cluster-enabled", "yes",
             "--cluster-config-file", str(node / "nodes.conf"), "--save", "", "--appendonly",
             "no", "--dir", str(node), "--cluster-node-timeout", str(node_timeout_ms),
             "--repl-diskless-sync-delay", "0"],
            stdout=subprocess.DEVNULL,
        ))  # fmt: skip
    urls = [f"redis://127.0.0.1:{p}/0" for p in ports]
    deadline = time.monotonic() + 10
    while not all(_redis_answers(u) for u in urls):
        if time.monotonic() > deadline:
            for p in procs:
                p.kill()
            raise RuntimeError("redis cluster nodes did not start")
        time.sleep(0.05)
    subprocess.run(
        [cli, "--cluster", "create", *(f"127.0.0.1:{p}" for p in ports), "--cluster-replicas",
         str(replicas), "--cluster-yes"],
        check=True, capture_output=True, timeout=60,
    )  # fmt: skip
    deadline = time.monotonic() + 30
    while True:
        # Whole, and every replica in sync with its master (a replica that never synced
        # refuses to take over: its data would be of unknown age).
        if all(cluster_ok(cli, p, masters) for p in ports) and all(
            "master_link_status:up" in _info(cli, p, "replication") for p in ports[masters:]
        ):
            return urls, procs
        if time.monotonic() > deadline:
            info = subprocess.run([cli, "-p", str(ports[0]), "cluster", "info"],
                                  capture_output=True, text=True, timeout=10).stdout  # fmt: skip
            raise RuntimeError(f"redis cluster did not come up: {info}")
        time.sleep(0.1)


def _info(cli: str, port: int, section: str) -> str:
    return subprocess.run([cli, "-p", str(port), "info", section],
                          capture_output=True, text=True, timeout=10).stdout  # fmt: skip


def cluster_ok(cli: str, port: int, masters: int) -> bool:
    """True when the node on ``port`` sees the cluster whole: state ok, ``masters`` masters
    serving every slot."""
    info = subprocess.run([cli, "-p", str(port), "cluster", "info"],
                          capture_output=True, text=True, timeout=10).stdout  # fmt: skip
    return "cluster_state:ok" in info and f"cluster_size:{masters}" in info
