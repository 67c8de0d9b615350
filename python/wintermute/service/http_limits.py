"""Request limits, as ASGI middleware in front of the routes.

- **Body size**: a body over ``max_body_bytes`` is answered 413 before a route reads it (by
  its ``Content-Length``, or while it streams in).
- **Rate limit** per API key (the ``X-API-Key`` header; requests without a known key share a
  bucket per client address): a token bucket of ``rate_limit_per_s`` tokens a second, at most
  ``rate_limit_burst``. Every answer carries ``RateLimit-Limit``, ``RateLimit-Remaining`` and
  ``RateLimit-Reset`` (seconds until the bucket is full again; the IETF draft's fields); an
  empty bucket answers 429 with ``Retry-After``. Health, readiness, metrics and the docs are
  not limited.
"""

from __future__ import annotations

import json
import math
import time
from collections import OrderedDict

from fastapi import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["BodyLimit", "RateLimit", "TokenBucket"]

# /binance counts Binance's request weights itself and answers 429 in Binance's format.
_EXEMPT = ("/health", "/ready", "/metrics", "/docs", "/redoc", "/openapi.json", "/binance")


def _json_error(status: int, code: str, message: str) -> tuple[bytes, list[tuple[bytes, bytes]]]:
    body = json.dumps({"code": code, "message": message}).encode()
    return body, [(b"content-type", b"application/json"), (b"content-length", b"%d" % len(body))]


class BodyLimit:
    """413 for request bodies over ``max_bytes``."""

    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app, self.max_bytes = app, max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope["headers"]:
            if name == b"content-length":
                try:
                    too_big = int(value) > self.max_bytes
                except ValueError:
                    too_big = True
                if too_big:
                    await self._reject(send)
                    return
        seen = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > self.max_bytes:
                    # FastAPI passes an HTTPException from the body reader through as it is.
                    raise HTTPException(413, f"body over {self.max_bytes} bytes")
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            if message["type"] == "http.response.start":
                started = True
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except HTTPException as e:
            if e.status_code != 413 or started:
                raise
            await self._reject(send)

    async def _reject(self, send: Send) -> None:
        body, headers = _json_error(413, "PAYLOAD_TOO_LARGE", f"body over {self.max_bytes} bytes")
        await send({"type": "http.response.start", "status": 413, "headers": headers})
        await send({"type": "http.response.body", "body": body})


class TokenBucket:
    """``rate`` tokens a second, at most ``burst``; starts full."""

    __slots__ = ("burst", "rate", "stamp", "tokens")

    def __init__(self, rate: float, burst: float, now: float) -> None:
        self.rate, self.burst, self.tokens, self.stamp = rate, burst, burst, now

    def take(self, now: float) -> bool:
        """Takes a token if there is one."""
        self.tokens = min(self.burst, self.tokens + (now - self.stamp) * self.rate)
        self.stamp = now
        if self.tokens >= 1:
            self.tokens -= 1
            return True
        return False

    def reset_s(self) -> int:
        """Seconds until the bucket is full again."""
        return math.ceil((self.burst - self.tokens) / self.rate)

    def retry_after_s(self) -> int:
        """Seconds until the next token."""
        return max(1, math.ceil((1 - self.tokens) / self.rate))


class RateLimit:
    """Token buckets per API key (see the module documentation)."""

    MAX_BUCKETS = 100_000

    def __init__(self, app: ASGIApp, rate: float, burst: int) -> None:
        self.app, self.rate, self.burst = app, rate, burst
        self._buckets: OrderedDict[bytes, TokenBucket] = OrderedDict()

    def _bucket(self, scope: Scope) -> TokenBucket:
        ident = b""
        for name, value in scope["headers"]:
            if name == b"x-api-key":
                ident = b"k:" + value[:128]
                break
        if not ident:
            client = scope.get("client") or ("?", 0)
            ident = b"a:" + str(client[0]).encode()
        now = time.monotonic()
        bucket = self._buckets.get(ident)
        if bucket is None:
            bucket = self._buckets[ident] = TokenBucket(self.rate, self.burst, now)
            if len(self._buckets) > self.MAX_BUCKETS:
                self._buckets.popitem(last=False)
        else:
            self._buckets.move_to_end(ident)
        return bucket

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"].startswith(_EXEMPT):
            await self.app(scope, receive, send)
            return
        bucket = self._bucket(scope)
        allowed = bucket.take(time.monotonic())
        headers = [
            (b"ratelimit-limit", str(self.burst).encode()),
            (b"ratelimit-remaining", str(int(bucket.tokens)).encode()),
            (b"ratelimit-reset", str(bucket.reset_s()).encode()),
        ]
        if not allowed:
            body, base = _json_error(429, "RATE_LIMITED", "too many requests for this key")
            headers += [*base, (b"retry-after", str(bucket.retry_after_s()).encode())]
            await send({"type": "http.response.start", "status": 429, "headers": headers})
            await send({"type": "http.response.body", "body": body})
            return

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                message = {**message, "headers": [*message.get("headers", []), *headers]}
            await send(message)

        await self.app(scope, receive, with_headers)
