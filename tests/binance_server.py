"""A real server with the Binance-compatible API for the tests, and clients for it.

``serve()`` serves a fresh venue (BTC-USD, ETH-USD) on 127.0.0.1 with three
keys: ``bn-hmac-1`` (account 1, HMAC secret ``HMAC_SECRET``), ``bn-ed-1`` (account 1, an
Ed25519 key: ``ED_PRIVATE_PEM``) and ``bn-hmac-2`` (account 2, the counterparty).
``ccxt_binance`` / ``ccxt_pro_binance`` build unmodified ccxt clients whose every URL points at
that server; a request or connection to any other host fails the test.
"""

from __future__ import annotations

import contextlib
import hashlib
import hmac
import time
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlencode

import httpx
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from service_fixtures import running_server, service_config
from wintermute.service import binance
from wintermute.service.app import create_app
from wintermute.service.keys import ApiKey, KeyStore
from wintermute.service.settings import split_config
from wintermute.service.venue import Venue

__all__ = [
    "ED_PRIVATE_PEM",
    "HMAC_SECRET",
    "BinanceServer",
    "ccxt_binance",
    "ccxt_pro_binance",
    "serve",
]

HMAC_SECRET = "test-secret-1-NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP"
HMAC_SECRET_2 = "test-secret-2-e3UZjInClVN65XAbvqqM6A7H5fATj0j"
_ED_KEY = Ed25519PrivateKey.generate()
ED_PRIVATE_PEM = _ED_KEY.private_bytes(
    serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
).decode()
ED_PUBLIC_PEM = (
    _ED_KEY.public_key()
    .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
    .decode()
)

KEYS = KeyStore(
    [
        ApiKey("bn-hmac-1", 1, "trader", HMAC_SECRET, None),
        ApiKey("bn-ed-1", 1, "trader", None, ED_PUBLIC_PEM),
        ApiKey("bn-hmac-2", 2, "trader", HMAC_SECRET_2, None),
    ]
)


@dataclass
class BinanceServer:
    """A running server: its base URL, the Binance API's base, and the venue behind it."""

    url: str
    venue: Venue
    prefix: str = binance.PREFIX

    @property
    def api(self) -> str:
        """The Binance-compatible API's base URL (``.../binance``)."""
        return self.url + self.prefix

    @property
    def ws(self) -> str:
        """The same, as a WebSocket URL."""
        return self.api.replace("http://", "ws://", 1)

    def signed(
        self,
        method: str,
        path: str,
        params: dict[str, Any],
        *,
        key: str = "bn-hmac-1",
        secret: str = HMAC_SECRET,
        timestamp: int | None = None,
        in_body: bool = False,
    ) -> httpx.Response:
        """A SIGNED request, made by hand as Binance documents it."""
        stamped = {**params, "timestamp": timestamp if timestamp is not None else now_ms()}
        query = urlencode(stamped)
        sig = hmac.new(secret.encode(), query.encode(), hashlib.sha256).hexdigest()
        signed = f"{query}&signature={sig}"
        headers = {"X-MBX-APIKEY": key}
        if in_body:
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            return httpx.request(method, self.api + path, content=signed, headers=headers)
        return httpx.request(method, f"{self.api}{path}?{signed}", headers=headers)


def now_ms() -> int:
    return time.time_ns() // 1_000_000


@contextlib.contextmanager
def serve(
    limits: binance.RateLimits | None = None, config: dict[str, Any] | None = None
) -> Iterator[BinanceServer]:
    """A fresh venue served by the service app (which mounts the Binance-compatible API at
    ``/binance``) on 127.0.0.1 (``config``: the engine and service config, the tests' own by
    default). With ``limits``, the API is mounted again at ``/binance-limited`` with those rate
    limits, and the server points there."""
    engine_doc, settings = split_config(service_config() if config is None else config)
    venue = Venue(engine_doc, settings)
    try:
        routers = []
        prefix = binance.PREFIX
        if limits is not None:
            prefix = "/binance-limited"
            routers.append(binance.router(venue, KEYS, limits=limits, prefix=prefix))
        app = create_app(venue=venue, keys=KEYS, routers=routers)
        with running_server(app) as url:
            yield BinanceServer(url, venue, prefix)
    finally:
        venue.close()


def _urls(server: BinanceServer) -> dict[str, Any]:
    rest = server.api + "/api/v3"
    return {
        "public": rest,
        "private": rest,
        "ws": {"spot": server.ws + "/ws", "ws-api": {"spot": server.ws + "/ws-api/v3"}},
    }


_OPTIONS = {
    "fetchMarkets": ["spot"],
    "fetchCurrencies": False,
    "fetchMargins": False,
    "defaultType": "spot",
}


def _config(key: str, secret: str) -> dict[str, Any]:
    return {"apiKey": key, "secret": secret, "enableRateLimit": False, "options": dict(_OPTIONS)}


def ccxt_binance(server: BinanceServer, key: str = "bn-hmac-1", secret: str = HMAC_SECRET) -> Any:
    """ccxt's (synchronous) ``binance`` pointed at ``server``, and nowhere else."""
    import ccxt

    local = server.url

    class LocalBinance(ccxt.binance):  # type: ignore[misc]
        def fetch(self, url: str, *args: Any, **kwargs: Any) -> Any:
            assert url.startswith(local), f"ccxt tried to reach url={url}"
            return super().fetch(url, *args, **kwargs)

    exchange = LocalBinance(_config(key, secret))
    exchange.urls["api"] = _urls(server)
    return exchange


def ccxt_pro_binance(
    server: BinanceServer, key: str = "bn-hmac-1", secret: str = HMAC_SECRET
) -> Any:
    """ccxt.pro's ``binance`` (asyncio) pointed at ``server``, and nowhere else: call it inside
    a running event loop and ``await exchange.close()`` at the end."""
    import ccxt.pro

    local = server.url
    local_ws = server.ws

    class LocalBinancePro(ccxt.pro.binance):  # type: ignore[misc]
        async def fetch(self, url: str, *args: Any, **kwargs: Any) -> Any:
            assert url.startswith(local), f"ccxt tried to reach url={url}"
            return await super().fetch(url, *args, **kwargs)

        def client(self, url: str) -> Any:
            assert url.startswith(local_ws) or url == "authenticationFlights", (
                f"ccxt tried to reach url={url}"
            )
            return super().client(url)

    exchange = LocalBinancePro(_config(key, secret))
    exchange.urls["api"] = _urls(server)
    return exchange
