"""A Binance-spot-compatible API for our venue: Binance bots and unmodified ccxt trade on it.

:func:`router` builds one FastAPI router with everything, under a prefix (``/binance`` by
default, so it sits beside the service's own API)::

    app.include_router(binance.router(venue, keys))

and a client points its Binance base URLs at it:

| Binance | here |
|---|---|
| ``https://api.binance.com/api/v3`` | ``http://HOST/binance/api/v3`` (REST) |
| ``wss://stream.binance.com:9443/ws`` (and ``/stream``) | ``ws://HOST/binance/ws`` (``/stream``) |
| ``wss://ws-api.binance.com:443/ws-api/v3`` | ``ws://HOST/binance/ws-api/v3`` |

The parts, one module each:

- :mod:`~wintermute.service.binance.signing`: HMAC-SHA256 and Ed25519 signatures over the
  request as sent, ``timestamp`` and ``recvWindow``;
- :mod:`~wintermute.service.binance.errors`: Binance's ``{"code", "msg"}`` and its codes;
- :mod:`~wintermute.service.binance.weights`: request weights, order counts, 429s;
- :mod:`~wintermute.service.binance.formats`: symbols (``BTC-USD`` is ``BTCUSD``), exact
  decimals, Binance's order, trade and exchangeInfo shapes;
- :mod:`~wintermute.service.binance.context`: the request plumbing every endpoint shares;
- :mod:`~wintermute.service.binance.rest_market` and
  :mod:`~wintermute.service.binance.rest_trading`: the REST endpoints;
- :mod:`~wintermute.service.binance.streams`: the market streams (diff depth, trades,
  bookTicker);
- :mod:`~wintermute.service.binance.ws_api`: the WebSocket API's user data stream.

The user guide is ``docs/binance-api.md``.
"""

from __future__ import annotations

from collections.abc import Callable

from fastapi import APIRouter

from wintermute.service.binance.context import BinanceApi, now_ms
from wintermute.service.binance.rest_market import market_routes
from wintermute.service.binance.rest_trading import trading_routes
from wintermute.service.binance.streams import stream_routes
from wintermute.service.binance.weights import RateLimits
from wintermute.service.binance.ws_api import ws_api_routes
from wintermute.service.keys import KeyStore
from wintermute.service.venue import Venue

__all__ = ["PREFIX", "BinanceApi", "RateLimits", "router"]

#: Where :func:`router` mounts the API by default.
PREFIX = "/binance"


def router(
    venue: Venue,
    keys: KeyStore,
    *,
    limits: RateLimits | None = None,
    prefix: str = PREFIX,
    clock_ms: Callable[[], int] = now_ms,
) -> APIRouter:
    """The Binance-compatible API over ``venue``, authenticating with ``keys``, under
    ``prefix``. ``limits`` sets the rate limits (Binance's by default); ``clock_ms`` is the
    server clock that ``timestamp`` is checked against."""
    api = BinanceApi(venue, keys, limits, clock_ms)
    # Out of the OpenAPI schema: Binance documents these endpoints (their parameters are
    # read from the raw query and body, as Binance reads them, so FastAPI knows none of them).
    top = APIRouter(prefix=prefix, tags=["binance"], include_in_schema=False)
    for part in (market_routes(api), trading_routes(api), stream_routes(api), ws_api_routes(api)):
        top.include_router(part)
    return top
