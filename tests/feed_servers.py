"""Venues on 127.0.0.1 for the ``[market]`` tests: a seeded synthetic market per venue, served
in the venue's own protocol by the replay server (its final book known in advance), and a
TLS-terminating proxy in front of one, with a private certificate authority for ``wss://``."""

from __future__ import annotations

import asyncio
import contextlib
import datetime
import ipaddress
import ssl
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from wintermute import feeds


@dataclass
class ServedVenue:
    """A synthetic venue served on 127.0.0.1: its URLs, its symbol and its final book."""

    venue: str
    symbol: str
    ws_url: str
    rest_url: str
    best_bid: Decimal
    best_ask: Decimal
    server: feeds.ReplayServer


def serve_venue(tmp_path: Path, venue: str, seed: int, steps: int = 2000) -> ServedVenue:
    """``venue``'s synthetic market (``seed``, ``steps`` messages, no gaps, exchange times from
    now) served fast; once drained, its book stays at the final one (``best_bid``/``best_ask``)
    while the server runs (two minutes at most)."""
    path = tmp_path / f"{venue}-{seed}.jsonl"
    synth = feeds.synthesize(venue, path, seed=seed, steps=steps, start_ns=time.time_ns())
    server = feeds.ReplayServer(path, pace="fast", seconds=120)
    return ServedVenue(
        venue, synth["symbol"], server.ws_url, server.rest_url,
        Decimal(synth["bids"][0][0]), Decimal(synth["asks"][0][0]), server,
    )  # fmt: skip


def authority(directory: Path) -> tuple[Path, ssl.SSLContext]:
    """A private certificate authority (its PEM file) and a server context whose certificate
    for 127.0.0.1 it signed (cryptography, which ccxt brings)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    now = datetime.datetime.now(datetime.timezone.utc)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "wintermute test market CA")])
    ca = (
        x509.CertificateBuilder().subject_name(ca_name).issuer_name(ca_name)
        .public_key(ca_key.public_key()).serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "127.0.0.1")]))
        .issuer_name(ca_name).public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=1))
        .not_valid_after(now + datetime.timedelta(hours=1))
        .add_extension(
            x509.SubjectAlternativeName([x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .sign(ca_key, hashes.SHA256())
    )  # fmt: skip
    pem = serialization.Encoding.PEM
    ca_path, chain_path, key_path = (directory / n for n in ("ca.pem", "chain.pem", "key.pem"))
    ca_path.write_bytes(ca.public_bytes(pem))
    chain_path.write_bytes(leaf.public_bytes(pem) + ca.public_bytes(pem))
    key_path.write_bytes(
        key.private_bytes(pem, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(chain_path, key_path)
    return ca_path, context


@contextlib.contextmanager
def tls_proxy(context: ssl.SSLContext, backend_ws_url: str) -> Iterator[str]:
    """Accepts TLS on 127.0.0.1 and forwards the plaintext to the server of ``backend_ws_url``
    (``ws://HOST:PORT``); yields the proxy's ``wss://127.0.0.1:PORT``."""
    host, port = backend_ws_url.removeprefix("ws://").split("/", 1)[0].rsplit(":", 1)
    loop = asyncio.new_event_loop()
    ready: list[str] = []
    writers: list[asyncio.StreamWriter] = []

    async def pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        with contextlib.suppress(ConnectionError, OSError):
            while data := await reader.read(65536):
                writer.write(data)
                await writer.drain()
        writer.close()

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        writers.append(writer)
        try:
            up_reader, up_writer = await asyncio.open_connection(host, int(port))
        except OSError:
            writer.close()
            return
        writers.append(up_writer)
        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))

    async def shut(server: asyncio.Server) -> None:
        server.close()
        for w in writers:
            w.close()
        for w in writers:
            with contextlib.suppress(Exception):
                await w.wait_closed()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(server.wait_closed(), 5)
        tasks = [t for t in asyncio.all_tasks() if t is not asyncio.current_task()]
        for t in tasks:
            t.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    async def start() -> asyncio.Server:
        server = await asyncio.start_server(client, "127.0.0.1", 0, ssl=context)
        ready.append(f"wss://127.0.0.1:{server.sockets[0].getsockname()[1]}")
        return server

    server = loop.run_until_complete(start())
    thread = threading.Thread(target=loop.run_forever, name="tls-proxy", daemon=True)
    thread.start()
    try:
        yield ready[0]
    finally:
        asyncio.run_coroutine_threadsafe(shut(server), loop).result(timeout=10)
        loop.call_soon_threadsafe(loop.stop)
        thread.join(timeout=10)
        loop.close()
