"""Binance request signing, checked the way Binance documents it.

A SIGNED request carries ``timestamp`` (milliseconds), an optional ``recvWindow`` (default 5000,
at most 60000) and ``signature``; the API key goes in the ``X-MBX-APIKEY`` header. The signed
payload is the query string followed by the request body, *exactly as sent* (percent-encoding
and parameter order included), less the ``signature`` parameter itself:

- an HMAC-SHA256 key signs it with its secret; the signature is lowercase hex (Binance compares
  it case-insensitively);
- an Ed25519 key signs it with its private key; the signature is base64, percent-encoded in the
  request (``+`` ``/`` ``=`` as ``%2B`` ``%2F`` ``%3D``), and checked here with the public key.

The WebSocket API signs its ``params`` instead: every parameter but ``signature``, sorted by
name, as ``name=value`` joined by ``&`` (:func:`ws_payload`).

A request is on time when ``timestamp < server_time + 1000`` and
``server_time - timestamp <= recvWindow`` (:func:`check_timestamp`); anything else is error
-1021. Nothing here logs or echoes a secret.
"""

from __future__ import annotations

import base64
import binascii
import functools
import hashlib
import hmac
from collections.abc import Mapping
from urllib.parse import unquote_to_bytes

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from wintermute.service.binance.errors import BinanceError, Code

__all__ = [
    "DEFAULT_RECV_WINDOW_MS",
    "MAX_RECV_WINDOW_MS",
    "check_timestamp",
    "hmac_signature",
    "split_signature",
    "verify",
    "ws_payload",
]

DEFAULT_RECV_WINDOW_MS = 5000
MAX_RECV_WINDOW_MS = 60000
#: How far a request's timestamp may run ahead of the server's clock (Binance: one second).
FUTURE_TOLERANCE_MS = 1000


def hmac_signature(secret: str, payload: bytes) -> str:
    """The HMAC-SHA256 signature of ``payload`` as Binance writes it (lowercase hex)."""
    return hmac.new(secret.encode(), payload, hashlib.sha256).hexdigest()


def _strip(part: bytes) -> tuple[bytes, bytes | None]:
    """``part`` (a query string or a form body) without its ``signature=`` parameter, and that
    parameter's raw (still percent-encoded) value."""
    kept: list[bytes] = []
    found: bytes | None = None
    for item in part.split(b"&") if part else []:
        if item.startswith(b"signature="):
            if found is not None:
                raise BinanceError(
                    Code.TOO_MANY_PARAMETERS, "Duplicate values for parameter 'signature'."
                )
            found = item[len(b"signature=") :]
        else:
            kept.append(item)
    return b"&".join(kept), found


def split_signature(query: bytes, body: bytes) -> tuple[bytes, str | None]:
    """The signed payload of a request (its query string then its body, as sent, without the
    ``signature`` parameter) and the signature, percent-decoded (None if there is none)."""
    q, q_sig = _strip(query)
    b, b_sig = _strip(body)
    if q_sig is not None and b_sig is not None:
        raise BinanceError(Code.TOO_MANY_PARAMETERS, "Duplicate values for parameter 'signature'.")
    raw = q_sig if q_sig is not None else b_sig
    if raw is None:
        return q + b, None
    try:
        return q + b, unquote_to_bytes(raw).decode("ascii")
    except UnicodeDecodeError:
        raise BinanceError(
            Code.INVALID_SIGNATURE, "Signature for this request is not valid."
        ) from None


def verify(
    payload: bytes,
    signature: str,
    *,
    hmac_secret: str | None = None,
    ed25519_public_key: str | None = None,
) -> bool:
    """True if ``signature`` signs ``payload`` under the key's HMAC secret or Ed25519 public key
    (PEM). A key with neither verifies nothing."""
    if hmac_secret is not None:
        expected = hmac_signature(hmac_secret, payload)
        if hmac.compare_digest(expected, signature.lower()):
            return True
    if ed25519_public_key is not None:
        try:
            raw = base64.b64decode(signature, validate=True)
        except (binascii.Error, ValueError):
            return False
        public = _ed25519_key(ed25519_public_key)
        if public is None:
            return False
        try:
            public.verify(raw, payload)
        except InvalidSignature:
            return False
        return True
    return False


@functools.lru_cache(maxsize=1024)
def _ed25519_key(pem: str) -> Ed25519PublicKey | None:
    """The parsed public key of a PEM text (parsed once: parsing costs more than verifying),
    or None if it is not an Ed25519 public key."""
    try:
        public = load_pem_public_key(pem.encode())
    except ValueError:
        return None
    return public if isinstance(public, Ed25519PublicKey) else None


def _int_param(params: Mapping[str, str], name: str) -> int | None:
    text = params.get(name)
    if text is None:
        return None
    if not text.isdigit() or len(text) > 18:
        raise BinanceError(
            Code.BAD_PARAM,
            f"Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,18}}$'.",
        )
    return int(text)


def check_timestamp(params: Mapping[str, str], now_ms: int) -> None:
    """Checks ``timestamp`` and ``recvWindow`` against the server's clock ``now_ms``; raises
    ``BinanceError`` -1102 (missing), -1100 (not a number), -1131 (recvWindow too large) or
    -1021 (outside the window)."""
    timestamp = _int_param(params, "timestamp")
    if timestamp is None:
        raise BinanceError(
            Code.MANDATORY_PARAM,
            "Mandatory parameter 'timestamp' was not sent, was empty/null, or malformed.",
        )
    window = _int_param(params, "recvWindow")
    if window is None:
        window = DEFAULT_RECV_WINDOW_MS
    if window > MAX_RECV_WINDOW_MS:
        raise BinanceError(Code.BAD_RECV_WINDOW, "recvWindow must be less than 60000")
    if timestamp >= now_ms + FUTURE_TOLERANCE_MS:
        raise BinanceError(
            Code.INVALID_TIMESTAMP,
            "Timestamp for this request was 1000ms ahead of the server's time.",
        )
    if now_ms - timestamp > window:
        raise BinanceError(
            Code.INVALID_TIMESTAMP, "Timestamp for this request is outside of the recvWindow."
        )


def ws_payload(params: Mapping[str, object]) -> bytes:
    """The payload a WebSocket API request signs: its params but ``signature``, sorted by name,
    ``name=value`` joined by ``&`` (values as the JSON held them: text as is, numbers in
    decimal, booleans as ``true``/``false``)."""

    def text(v: object) -> str:
        if isinstance(v, bool):
            return "true" if v else "false"
        return str(v)

    items = sorted((k, text(v)) for k, v in params.items() if k != "signature")
    return "&".join(f"{k}={v}" for k, v in items).encode()
