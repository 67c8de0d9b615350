"""What every Binance endpoint shares: the venue, the keys, the rate limiter, the symbol map,
and the request plumbing (parameters, weight, signature, Binance's headers and error body).

Parameters are read the way Binance reads them: from the query string and, for a form body,
from the body too; a parameter given twice is -1101. Each request is weighed first (its weight
may depend on its parameters: a depth of 5000 levels weighs 250), then a SIGNED one is
authenticated: the ``X-MBX-APIKEY`` header (missing or malformed: -2014, unknown: -2015),
``timestamp`` and ``recvWindow`` (-1021), then the signature over the request as sent (-1022).
Every answer, error or not, carries ``X-MBX-USED-WEIGHT-1M``; order entry adds
``X-MBX-ORDER-COUNT-10S`` and ``X-MBX-ORDER-COUNT-1D``.
"""

from __future__ import annotations

import logging
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from urllib.parse import parse_qsl

from starlette.requests import Request
from starlette.responses import JSONResponse, Response

from wintermute.service.binance import signing
from wintermute.service.binance.errors import BinanceError, Code, from_venue_error
from wintermute.service.binance.formats import SymbolMap
from wintermute.service.binance.weights import RateLimiter, RateLimits
from wintermute.service.keys import ApiKey, KeyStore
from wintermute.service.venue import Venue, VenueError

__all__ = ["BinanceApi", "Call", "Params"]

Params = Mapping[str, str]

log = logging.getLogger("wintermute.service.binance")

_API_KEY = re.compile(r"[A-Za-z0-9_.\-]{1,128}")
_DECIMAL = re.compile(r"[0-9]{1,20}(\.[0-9]{1,20})?")
_DECIMAL_RANGE = r"^([0-9]{1,20})(\.[0-9]{1,20})?$"
_INT = re.compile(r"[0-9]{1,18}")


def now_ms() -> int:
    """The server's clock, in milliseconds."""
    return time.time_ns() // 1_000_000


def mandatory(name: str) -> BinanceError:
    """Binance's -1102 for a missing parameter."""
    return BinanceError(
        Code.MANDATORY_PARAM,
        f"Mandatory parameter '{name}' was not sent, was empty/null, or malformed.",
    )


def param_decimal(params: Params, name: str) -> Decimal | None:
    """An exact decimal parameter (Binance's pattern; -1100 otherwise), or None."""
    text = params.get(name)
    if text is None:
        return None
    if not _DECIMAL.fullmatch(text):
        raise BinanceError(
            Code.BAD_PARAM,
            f"Illegal characters found in parameter '{name}'; legal range is '{_DECIMAL_RANGE}'.",
        )
    return Decimal(text)


def param_int(params: Params, name: str, *, low: int = 0, high: int | None = None) -> int | None:
    """A non-negative integer parameter within [low, high] (-1100 / -1130 otherwise), or None."""
    text = params.get(name)
    if text is None:
        return None
    if not _INT.fullmatch(text):
        raise BinanceError(
            Code.BAD_PARAM,
            f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,18}}$'.",
        )
    value = int(text)
    if value < low or (high is not None and value > high):
        raise BinanceError(Code.INVALID_PARAMETER, f"Invalid data sent for a parameter: '{name}'.")
    return value


@dataclass
class Call:
    """One request as an endpoint sees it: its parameters, the caller's key (SIGNED only) and
    the clock when it arrived."""

    params: Params
    key: ApiKey | None
    now_ms: int

    @property
    def account(self) -> int:
        """The account of the request's key."""
        if self.key is None:
            raise BinanceError(Code.UNAUTHORIZED, "You are not authorized to execute this request.")
        return self.key.account


class BinanceApi:
    """The venue seen through Binance's API; one per server."""

    def __init__(
        self,
        venue: Venue,
        keys: KeyStore,
        limits: RateLimits | None = None,
        clock_ms: Callable[[], int] = now_ms,
    ) -> None:
        self.venue = venue
        self.keys = keys
        self.limiter = RateLimiter(limits)
        self.clock_ms = clock_ms
        self.symbols = SymbolMap(venue.instruments())

    def symbol(self, params: Params, name: str = "symbol") -> str:
        """Our symbol for the request's Binance ``symbol`` (-1102 missing, -1121 unknown)."""
        text = params.get(name)
        if not text:
            raise mandatory(name)
        ours = self.symbols.ours(text)
        if ours is None:
            raise BinanceError(Code.BAD_SYMBOL, "Invalid symbol.")
        return ours

    async def handle(
        self,
        request: Request,
        endpoint: Callable[[Call], Awaitable[object]],
        *,
        weight: int | Callable[[Params], int] = 1,
        signed: bool = False,
        counts_order: bool = False,
    ) -> Response:
        """Runs ``endpoint`` for ``request`` with Binance's plumbing around it."""
        now = self.clock_ms()
        client = request.client.host if request.client is not None else "unknown"
        headers: dict[str, str] = {}
        account: int | None = None
        try:
            query = request.scope.get("query_string", b"")
            body = b""
            if request.method in ("POST", "PUT", "DELETE"):
                content_type = request.headers.get("content-type", "")
                if not content_type or content_type.startswith("application/x-www-form-urlencoded"):
                    body = await request.body()
            params = _parse(query, body)
            cost = weight(params) if callable(weight) else weight
            headers["X-MBX-USED-WEIGHT-1M"] = str(self.limiter.spend_weight(client, cost, now))
            key = None
            if signed:
                key = self.authenticate(
                    request.headers.get("x-mbx-apikey"), query, body, params, now
                )
                account = key.account
                if counts_order:
                    ten, day = self.limiter.count_order(account, now)
                    headers["X-MBX-ORDER-COUNT-10S"] = str(ten)
                    headers["X-MBX-ORDER-COUNT-1D"] = str(day)
            result = await endpoint(Call(params, key, now))
            return JSONResponse(result, headers=headers)
        except BinanceError as e:
            return self.error_response(e, headers, client, account, now, counts_order)
        except VenueError as e:
            err = from_venue_error(e.code, e.message, cancel=request.method == "DELETE")
            return self.error_response(err, headers, client, account, now, counts_order)
        except Exception:  # a bug: Binance's "unknown error", logged (no secrets in requests)
            log.exception("binance endpoint failed path=%s", request.url.path)
            err = BinanceError(
                Code.UNKNOWN, "An unknown error occurred while processing the request."
            )
            return self.error_response(err, headers, client, account, now, counts_order)

    def error_response(
        self,
        e: BinanceError,
        headers: dict[str, str],
        client: str,
        account: int | None,
        now: int,
        counts_order: bool,
    ) -> Response:
        """Binance's error body with the usual headers (and ``Retry-After`` on a 429)."""
        headers.setdefault("X-MBX-USED-WEIGHT-1M", str(self.limiter.used_weight(client, now)))
        if counts_order and account is not None and "X-MBX-ORDER-COUNT-10S" not in headers:
            ten, day = self.limiter.order_counts(account, now)
            headers["X-MBX-ORDER-COUNT-10S"] = str(ten)
            headers["X-MBX-ORDER-COUNT-1D"] = str(day)
        if e.retry_after is not None:
            headers["Retry-After"] = str(e.retry_after)
        return JSONResponse(e.body(), status_code=e.status, headers=headers)

    def authenticate(
        self, api_key: str | None, query: bytes, body: bytes, params: Params, now: int
    ) -> ApiKey:
        """The key of a SIGNED request, or Binance's error for it."""
        key = self.lookup_key(api_key)
        signing.check_timestamp(params, now)
        payload, signature = signing.split_signature(query, body)
        if not signature:
            raise mandatory("signature")
        if not signing.verify(
            payload,
            signature,
            hmac_secret=key.hmac_secret,
            ed25519_public_key=key.ed25519_public_key,
        ):
            raise BinanceError(Code.INVALID_SIGNATURE, "Signature for this request is not valid.")
        return key

    def lookup_key(self, api_key: str | None) -> ApiKey:
        """The stored key named ``api_key`` (-2014 malformed or missing, -2015 unknown)."""
        if api_key is None or not _API_KEY.fullmatch(api_key):
            raise BinanceError(Code.BAD_API_KEY_FMT, "API-key format invalid.")
        key = self.keys.lookup(api_key)
        if key is None:
            raise BinanceError(
                Code.REJECTED_MBX_KEY, "Invalid API-key, IP, or permissions for action."
            )
        return key


def _parse(query: bytes, body: bytes) -> dict[str, str]:
    params: dict[str, str] = {}
    for part in (query, body):
        if not part:
            continue
        try:
            pairs = parse_qsl(part.decode("utf-8"), keep_blank_values=True)
        except UnicodeDecodeError:
            raise BinanceError(Code.BAD_PARAM, "Illegal characters found in a parameter.") from None
        for name, value in pairs:
            if name in params:
                raise BinanceError(
                    Code.TOO_MANY_PARAMETERS, "Duplicate values for a parameter detected."
                )
            if value == "":
                raise BinanceError(Code.PARAM_EMPTY, f"Parameter '{name}' was empty.")
            params[name] = value
    return params
