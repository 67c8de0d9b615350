"""``wintermute mm --live`` and ``wintermute route kill`` from the command line: a live route
without usable keys or with a plain-HTTP URL is refused before anything starts (exit 2, the
route and the key named, no secret printed), and the kill switch reports each venue's outcome
(exit 1 when one failed). Against the routes' own simulators on 127.0.0.1 behind TLS, with a
certificate authority made here (``_core.RouteSimulators``, keys written to key files): the
market maker's hedges reach Coinbase and Kraken over HTTPS, the kill switch cancels the open
orders on both, and without the authority it fails on the certificate and cancels nothing. A
``--live`` route whose venue trades on another grid than the config's is refused before
anything starts (exit 2, the route and both grids named)."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec

from wintermute import errors, mm_live

ROOT = Path(__file__).resolve().parents[1]
SECRET = "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg=="


def clean_env() -> dict[str, str]:
    """The environment without any WINTERMUTE_ key variable."""
    return {k: v for k, v in os.environ.items() if not k.startswith("WINTERMUTE_")}


def cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    cmd = [sys.executable, "-m", "wintermute.cli", *args]
    return subprocess.run(
        cmd, cwd=ROOT, capture_output=True, text=True, timeout=timeout, check=False, env=clean_env()
    )


def config_file(tmp_path: Path, live: dict[str, Any], routes: list[str] | None = None) -> Path:
    config = mm_live.paper_config()
    config["hedge"] = {"routes": routes or ["coinbase"], "live": live}
    path = tmp_path / "mm.json"
    path.write_text(json.dumps(config))
    return path


def private(path: Path, text: str, mode: int = 0o600) -> str:
    path.write_text(text)
    path.chmod(mode)
    return str(path)


def coinbase_keys(tmp_path: Path, mode: int = 0o600) -> str:
    key = ec.generate_private_key(ec.SECP256R1())
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    pem_path = private(tmp_path / "coinbase.pem", pem)
    text = (
        "WINTERMUTE_COINBASE_KEY_NAME=organizations/o/apiKeys/k\n"
        f"WINTERMUTE_COINBASE_PRIVATE_KEY_FILE={pem_path}\n"
    )
    return private(tmp_path / "coinbase.keys", text, mode)


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port: int = s.getsockname()[1]
    return port


def test_mm_live_without_keys_names_the_route_and_the_variable_and_starts_nothing() -> None:
    done = cli("mm", "--config", "examples/mm_live.toml", "--live", "--duration", "1")
    assert done.returncode == 2, done.stderr
    assert "venue=coinbase keys=environment" in done.stderr
    assert "variable=WINTERMUTE_COINBASE_KEY_NAME" in done.stderr
    assert done.stdout == "", "nothing started"
    assert "Traceback" not in done.stderr


@pytest.mark.parametrize(
    ("live", "expected"),
    [
        ({"url": "http://127.0.0.1:9"}, "key=hedge.live.coinbase.url"),
        ({"url": "ftp://127.0.0.1"}, "not an http:// or https:// url"),
        ({"ca_file": "/nonexistent/ca.pem"}, "/nonexistent/ca.pem"),
    ],
)
def test_mm_live_refuses_a_route_url_or_roots_it_cannot_use(
    tmp_path: Path, live: dict[str, Any], expected: str
) -> None:
    live["keys_file"] = coinbase_keys(tmp_path)
    done = cli("mm", "--config", str(config_file(tmp_path, {"coinbase": live})), "--live")
    assert done.returncode == 2, done.stderr
    assert expected in done.stderr
    assert "venue=coinbase" in done.stderr
    assert done.stdout == ""


def test_mm_live_refuses_a_key_file_others_can_read_or_with_a_pasted_secret(tmp_path: Path) -> None:
    loose = coinbase_keys(tmp_path, mode=0o644)
    config = config_file(tmp_path, {"coinbase": {"keys_file": loose}})
    done = cli("mm", "--config", str(config), "--live")
    assert done.returncode == 2, done.stderr
    assert "chmod 600" in done.stderr
    assert "venue=coinbase" in done.stderr
    pasted = private(tmp_path / "pasted.keys", f"WINTERMUTE_KRAKEN_API_KEY=k\n{SECRET}\n")
    config = config_file(tmp_path, {"kraken": {"keys_file": pasted}}, routes=["coinbase", "kraken"])
    coinbase = coinbase_keys(tmp_path)
    edited = json.loads(config.read_text())
    edited["hedge"]["live"]["coinbase"] = {"keys_file": coinbase}
    config.write_text(json.dumps(edited))
    done = cli("mm", "--config", str(config), "--live")
    assert done.returncode == 2, done.stderr
    assert "venue=kraken" in done.stderr
    assert "line=2" in done.stderr
    assert SECRET not in done.stderr + done.stdout


def test_check_config_live_raises_config_error_with_the_key(tmp_path: Path) -> None:
    config = mm_live.paper_config()
    config["hedge"]["live"] = {"coinbase": {"url": "http://127.0.0.1:9"}}
    mm_live.check_config(config)  # on paper the live settings are not used
    with pytest.raises(errors.ConfigError) as e:
        mm_live.check_config(config, live=True)
    assert e.value.key == "hedge.live.coinbase.url"


def test_route_kill_reports_a_venue_that_fails_and_exits_1(tmp_path: Path) -> None:
    port = closed_port()
    live = {
        "coinbase": {
            "url": f"http://127.0.0.1:{port}",
            "ws_url": f"ws://127.0.0.1:{port}",
            "keys_file": coinbase_keys(tmp_path),
        }
    }
    done = cli("route", "kill", "--config", str(config_file(tmp_path, live)))
    assert done.returncode == 1, done.stderr
    assert f"coinbase BTC-USD at http://127.0.0.1:{port}: FAILED" in done.stderr
    assert "Traceback" not in done.stderr


def test_route_kill_without_live_needs_each_routes_url(tmp_path: Path) -> None:
    live = {"coinbase": {"keys_file": coinbase_keys(tmp_path)}}
    done = cli("route", "kill", "--config", str(config_file(tmp_path, live)))
    assert done.returncode == 2, done.stderr
    assert "key=hedge.live.coinbase.url" in done.stderr
    assert done.stdout == ""


# ---- against the routes' simulators on 127.0.0.1, behind TLS with a private authority ----


def authority(tmp_path: Path) -> tuple[str, str, str]:
    """A certificate authority made for the test (its PEM written to ca.pem), and a server
    certificate chain and key it signed for 127.0.0.1: (ca path, chain PEM, key PEM)."""
    import datetime

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_usage = x509.KeyUsage(
        digital_signature=True,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=True,
        crl_sign=True,
        encipher_only=False,
        decipher_only=False,
    )
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "wintermute test authority")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(ca_usage, critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    import ipaddress

    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    pem = serialization.Encoding.PEM
    ca_path = tmp_path / "ca.pem"
    ca_path.write_bytes(ca.public_bytes(pem))
    chain = (leaf.public_bytes(pem) + ca.public_bytes(pem)).decode()
    key_pem = key.private_bytes(
        pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    ).decode()
    return str(ca_path), chain, key_pem


def served(tmp_path: Path, tls: bool) -> tuple[Any, Path]:
    """Simulators of a config routing hedges to Coinbase and Kraken (behind TLS when ``tls``),
    and the config file pointing each route at its simulator with its key file."""
    from wintermute import _core

    config = mm_live.paper_config()
    config["hedge"] = {"routes": ["coinbase", "kraken"]}
    config["hedge_threshold_lots"] = 2
    inst = config["pricing"]["instrument"]
    options: dict[str, str] = {}
    ca = None
    if tls:
        ca, chain, key = authority(tmp_path)
        options = {"tls_cert_chain": chain, "tls_key": key}
    sims = _core.RouteSimulators(json.dumps(config), inst["tick_size"], inst["lot_size"], **options)
    keys = dict(sims.write_key_files(tmp_path))
    ws_urls = dict(sims.ws_urls())
    live: dict[str, Any] = {}
    for venue, url in sims.urls():
        # Kraken's route is its WebSocket v2 client, Coinbase's reads the `user` channel.
        live[venue] = {"url": url, "ws_url": ws_urls[venue], "keys_file": str(keys[venue])}
        if ca is not None:
            live[venue]["ca_file"] = ca
    config["hedge"]["live"] = live
    path = tmp_path / "mm.json"
    path.write_text(json.dumps(config))
    return sims, path


def test_mm_live_runs_with_its_hedge_routes_over_https_and_keys_from_files(tmp_path: Path) -> None:
    sims, config = served(tmp_path, tls=True)
    try:
        assert all(url.startswith("https://127.0.0.1:") for _, url in sims.urls())
        done = cli("mm", "--config", str(config), "--live", "--duration", "4", "--every", "1",
                   "--steps", "3000", timeout=180)  # fmt: skip
        assert done.returncode == 0, done.stderr
        assert "hedges to the venues (--live)" in done.stdout
        summary = done.stdout.splitlines()[-2]
        # Hedges reached the simulators over HTTPS with the files' keys: each answered (an
        # IOC against an empty book comes back unfilled), none was refused or failed to send.
        # An IOC that filled nothing holds hedging for a while, so the hedges stay within the
        # venues' rate limits (Kraken's trading counter, Coinbase's requests a second).
        sent = int(summary.split("hedges: ")[1].split(" sent to ")[0])
        rejected = int(summary.split(" rejected, ")[0].rsplit(" ", 1)[1])
        assert sent >= 1, done.stdout
        assert "sent to coinbase, kraken" in summary, done.stdout
        assert rejected == 0, done.stdout
        assert summary.endswith(" 0 not sent"), done.stdout
        assert "Traceback" not in done.stderr
    finally:
        sims.stop()


@pytest.mark.parametrize("tls", [True, False], ids=["live-https", "plain-simulators"])
def test_route_kill_cancels_the_open_orders_on_two_venues(tmp_path: Path, tls: bool) -> None:
    sims, config = served(tmp_path, tls=tls)
    try:
        assert (sims.place_resting("coinbase", 2), sims.place_resting("kraken", 3)) == (2, 3)
        assert (sims.open_orders("coinbase"), sims.open_orders("kraken")) == (2, 3)
        args = ["route", "kill", "--config", str(config), *(["--live"] if tls else [])]
        done = cli(*args)
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        scheme = "https" if tls else "http"
        assert lines[0].startswith(f"coinbase BTC-USD at {scheme}://127.0.0.1:")
        assert lines[0].endswith(": 2 orders canceled"), done.stdout
        assert lines[1].startswith(f"kraken XBTUSD at {scheme}://127.0.0.1:")
        assert lines[1].endswith(": 3 orders canceled"), done.stdout
        assert (sims.open_orders("coinbase"), sims.open_orders("kraken")) == (0, 0)
    finally:
        sims.stop()


def test_route_kill_live_without_the_authority_fails_on_the_certificate(tmp_path: Path) -> None:
    sims, config = served(tmp_path, tls=True)
    try:
        sims.place_resting("kraken", 1)
        edited = json.loads(config.read_text())
        for live in edited["hedge"]["live"].values():
            del live["ca_file"]
        config.write_text(json.dumps(edited))
        done = cli("route", "kill", "--config", str(config), "--live")
        assert done.returncode == 1, done.stderr
        assert done.stderr.count("FAILED") == 2, done.stderr
        assert "UnknownIssuer" in done.stderr, done.stderr
        assert sims.open_orders("kraken") == 1
    finally:
        sims.stop()


def test_the_live_check_asks_each_venue_and_passes_on_the_configs_grid(
    tmp_path: Path,
) -> None:
    sims, config = served(tmp_path, tls=True)
    try:
        ws = dict(sims.ws_urls())
        assert ws["kraken"].startswith("wss://127.0.0.1:")
        assert ws["kraken"].endswith("/v2")
        assert ws["coinbase"].startswith("wss://127.0.0.1:")
        # The venues' grids are the config's: the live check passes (it asks each venue).
        mm_live.check_config(json.loads(config.read_text()), live=True)
    finally:
        sims.stop()


@pytest.mark.parametrize(("key", "ours"), [("tick_size", "0.001"), ("lot_size", "0.0001")])
def test_mm_live_refuses_a_route_whose_venue_trades_on_another_grid(
    tmp_path: Path, key: str, ours: str
) -> None:
    sims, config = served(tmp_path, tls=True)
    try:
        edited = json.loads(config.read_text())
        theirs = edited["pricing"]["instrument"][key]
        edited["pricing"]["instrument"][key] = ours
        config.write_text(json.dumps(edited))
        done = cli("mm", "--config", str(config), "--live", "--duration", "1")
        assert done.returncode == 2, done.stderr
        assert done.stdout == "", "nothing started"
        assert "venue=coinbase symbol=BTC-USD" in done.stderr, done.stderr
        assert "the venue's grid is not the config's" in done.stderr
        assert f"{key} {ours} in the config (pricing.instrument.{key}), {theirs} at the venue" in (
            done.stderr
        ), done.stderr
        assert "Traceback" not in done.stderr
    finally:
        sims.stop()
