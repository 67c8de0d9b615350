"""``wintermute serve --config FILE``: a real process, its ``[service]`` table, API keys from a
file, TLS through uvicorn's own options, an audit trail in its run directory, and a clean stop
on SIGINT."""

from __future__ import annotations

import datetime
import ipaddress
import json
import os
import signal
import socket
import ssl
import subprocess
import sys
import time
from decimal import Decimal
from pathlib import Path

import httpx

from specs import BTC
from storage_servers import postgres_admin_url, postgres_url, start_redis
from wintermute.config import EngineConfig
from wintermute.storage import AuditQuery, open_store
from wintermute.storage.queries import AlertQuery
from wintermute.storage.redis_tier import RedisReader

__all__ = ["postgres_admin_url", "postgres_url"]  # fixtures, used by name

CONFIG = """
[[instruments]]
symbol = "BTC-USD"
tick_size = "0.01"
lot_size = "0.001"
min_qty = "0.001"
max_qty = "100"
min_price = "1"
max_price = "1000000"

[threads.risk]
wait = "park"

[threads.matching]
wait = "park"

[service]
host = "127.0.0.1"
port = {port}
api_keys_file = "keys.json"
{tls}

[service.balances]
USD = "5000"
BTC = "2"
"""


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
        return port


def _self_signed(directory: Path) -> tuple[Path, Path]:
    """A certificate for 127.0.0.1 and its key (cryptography, which ccxt brings)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name)
        .public_key(key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .sign(key, hashes.SHA256())
    )  # fmt: skip
    cert_path, key_path = directory / "cert.pem", directory / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


def _serve(
    tmp_path: Path, tls: bool, *extra: str, audit: str = ""
) -> tuple[subprocess.Popen[str], str, ssl.SSLContext | None]:
    port = _free_port()
    context = None
    tls_lines = ""
    if tls:
        cert, _ = _self_signed(tmp_path)
        tls_lines = 'ssl_certfile = "cert.pem"\nssl_keyfile = "key.pem"'
        context = ssl.create_default_context(cafile=str(cert))
    (tmp_path / "keys.json").write_text(json.dumps({"keys": [{"key": "file-key-1", "account": 9}]}))
    config = tmp_path / "venue.toml"
    config.write_text(CONFIG.format(port=port, tls=tls_lines) + audit)
    env = {**os.environ, "WINTERMUTE_API_KEYS": ""}
    proc = subprocess.Popen(
        [sys.executable, "-m", "wintermute.cli", "serve", "--config", str(config), "--run-dir",
         str(tmp_path / "run"), *extra],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=env,
    )  # fmt: skip
    return proc, f"{'https' if tls else 'http'}://127.0.0.1:{port}", context


def _wait_ready(url: str, verify: ssl.SSLContext | bool, proc: subprocess.Popen[str]) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        assert proc.poll() is None, proc.communicate()
        try:
            if httpx.get(f"{url}/ready", verify=verify, timeout=1).status_code == 200:
                return
        except httpx.TransportError:
            time.sleep(0.1)
    raise AssertionError("the server did not get ready")


def _stop(proc: subprocess.Popen[str]) -> tuple[int, str]:
    proc.send_signal(signal.SIGINT)
    try:
        _, err = proc.communicate(timeout=20)
    except subprocess.TimeoutExpired:
        proc.kill()
        raise
    return proc.returncode, err


def test_serve_reads_the_service_table_and_the_keys_file_and_stops_on_sigint(
    tmp_path: Path,
) -> None:
    proc, url, _ = _serve(tmp_path, tls=False)
    try:
        _wait_ready(url, True, proc)
        key = {"X-API-Key": "file-key-1"}
        balances = httpx.get(f"{url}/api/account/balances", headers=key).json()
        assert balances == [
            {"asset": "BTC", "free": "2", "locked": "0"},
            {"asset": "USD", "free": "5000", "locked": "0"},
        ]
        order = {"symbol": "BTC-USD", "side": "buy", "qty": "1", "price": "100"}
        assert httpx.post(f"{url}/api/orders", json=order, headers=key).status_code == 201
        assert httpx.get(f"{url}/api/orders", headers={"X-API-Key": "x"}).status_code == 401
        deadline = time.monotonic() + 20  # the audit trail follows the journal
        while not (events := httpx.get(f"{url}/api/audit/events", headers=key).json()):
            assert time.monotonic() < deadline, "the audit trail did not follow"
            time.sleep(0.05)
        assert [(e["kind"], e["account"], e["price"]) for e in events] == [
            ("accepted", 9, "100.00")
        ]
    finally:
        code, err = _stop(proc)
    assert code == 0, err
    assert f"serving on {url}" in err
    run = tmp_path / "run"
    assert f"audit trail: sqlite:///{run / 'audit.db'} following {run / 'journal'}" in err
    store = open_store(f"sqlite:///{run / 'audit.db'}")
    assert [r.kind for r in store.query(AuditQuery(account=9))] == ["accepted"]
    store.close()
    logs = [json.loads(line) for line in err.splitlines() if line.startswith("{")]
    assert any(r.get("route") == "/api/orders" and r.get("status") == 201 for r in logs)
    assert "file-key-1" not in err  # keys never reach the logs


def test_serve_speaks_tls_with_the_configured_certificate(tmp_path: Path) -> None:
    proc, url, context = _serve(tmp_path, True, "--no-audit")
    assert context is not None
    try:
        _wait_ready(url, context, proc)
        r = httpx.get(f"{url}/api/instruments", verify=context)
        assert [i["symbol"] for i in r.json()] == ["BTC-USD"]
        r = httpx.get(f"{url}/api/audit/events", verify=context,
                      headers={"X-API-Key": "file-key-1"})  # fmt: skip
        assert (r.status_code, r.json()["code"]) == (503, "AUDIT_OFF")  # --no-audit
    finally:
        code, err = _stop(proc)
    assert code == 0, err
    assert not (tmp_path / "run").exists()


def test_the_engine_config_reader_leaves_the_service_table_out(tmp_path: Path) -> None:
    path = tmp_path / "both.json"
    path.write_text(json.dumps({"instruments": [BTC], "service": {"port": 1}}))
    assert [i.symbol for i in EngineConfig.from_file(path).instruments] == ["BTC-USD"]


def test_serve_writes_the_audit_trail_to_the_store_its_config_names(
    tmp_path: Path, postgres_url: str
) -> None:
    audit = (f'\n[audit]\nstore = "{postgres_url}"\n\n[audit.monitors]\nmin_orders = 1\n'
             "max_order_to_trade = 1.5\n")  # fmt: skip
    proc, url, _ = _serve(tmp_path, False, audit=audit)
    key = {"X-API-Key": "file-key-1"}
    try:
        _wait_ready(url, True, proc)
        for price in ("100", "99"):  # two orders, no trade: order-to-trade 2 > 1.5
            order = {"symbol": "BTC-USD", "side": "buy", "qty": "0.1", "price": price}
            assert httpx.post(f"{url}/api/orders", json=order, headers=key).status_code == 201
        deadline = time.monotonic() + 20
        while not httpx.get(f"{url}/api/audit/alerts", headers=key).json():
            assert time.monotonic() < deadline, "no alert"
            time.sleep(0.05)
    finally:
        code, err = _stop(proc)
    assert code == 0, err
    assert "audit trail: postgresql://" in err
    run = tmp_path / "run"  # the config has no [journal]: the run directory holds it
    assert (run / "journal").is_dir()
    assert not (run / "audit.db").exists()
    store = open_store(postgres_url)
    assert [r.kind for r in store.query(AuditQuery(account=9))] == ["accepted", "accepted"]
    assert [(a.rule, a.account) for a in store.alerts(AlertQuery())] == [("order_to_trade", 9)]
    store.close()


def test_serve_publishes_our_book_to_the_redis_its_config_names(tmp_path: Path) -> None:
    redis_url, server = start_redis(tmp_path)
    table = f'\n[service.redis]\nurl = "{redis_url}"\nprefix = "served"\n'
    proc, url, _ = _serve(tmp_path, False, audit=table)
    key = {"X-API-Key": "file-key-1"}
    reader = RedisReader(redis_url, prefix="served")
    try:
        _wait_ready(url, True, proc)
        order = {"symbol": "BTC-USD", "side": "buy", "qty": "0.1", "price": "100.5"}
        assert httpx.post(f"{url}/api/orders", json=order, headers=key).status_code == 201
        deadline = time.monotonic() + 20
        while reader.bbo("BTC-USD") != (Decimal("100.50"), None):
            assert time.monotonic() < deadline, "our book did not reach Redis"
            time.sleep(0.05)
        book = reader.book("BTC-USD")
        assert book is not None
        assert book["bids"] == [(Decimal("100.50"), Decimal("0.100"), 1)]
    finally:
        code, err = _stop(proc)
        reader.close()
        server.kill()
        server.wait()
    assert code == 0, err
    assert f"publishing books and trades to Redis ({redis_url})" in err
