"""Binance request signing: the documented HMAC examples byte for byte, Ed25519 keys, the
timing window, and the payload as sent (query then body, signature removed)."""

from __future__ import annotations

import base64
from urllib.parse import quote

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from hypothesis import given
from hypothesis import strategies as st

from wintermute.service.binance import signing
from wintermute.service.binance.errors import BinanceError, Code

# Binance spot API docs, "SIGNED endpoint examples for POST /api/v3/order".
DOCS_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
DOCS_PAYLOAD = (
    b"symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1"
    b"&recvWindow=5000&timestamp=1499827319559"
)
DOCS_SIGNATURE = "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71"
# The docs' mixed example: part in the query string, part in the body, signed as concatenated.
DOCS_MIXED_QUERY = b"symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC"
DOCS_MIXED_BODY = b"quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559"
DOCS_MIXED_SIGNATURE = "0fd168b8ddb4876a0358a8d14d0c9f3da0e9b20c5d52b2a00fcf7d1c602f9a77"


def ed25519_pair() -> tuple[Ed25519PrivateKey, str]:
    private = Ed25519PrivateKey.generate()
    public_pem = (
        private.public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    return private, public_pem


def test_the_docs_hmac_example_signs_to_the_docs_signature_byte_for_byte() -> None:
    assert signing.hmac_signature(DOCS_SECRET, DOCS_PAYLOAD) == DOCS_SIGNATURE


def test_the_docs_example_sent_in_the_query_string_verifies() -> None:
    payload, sig = signing.split_signature(
        DOCS_PAYLOAD + b"&signature=" + DOCS_SIGNATURE.encode(), b""
    )
    assert payload == DOCS_PAYLOAD
    assert sig == DOCS_SIGNATURE
    assert signing.verify(payload, sig, hmac_secret=DOCS_SECRET)


def test_the_docs_example_sent_in_the_body_verifies() -> None:
    payload, sig = signing.split_signature(
        b"", DOCS_PAYLOAD + b"&signature=" + DOCS_SIGNATURE.encode()
    )
    assert payload == DOCS_PAYLOAD
    assert sig is not None
    assert signing.verify(payload, sig, hmac_secret=DOCS_SECRET)


def test_the_docs_mixed_example_signs_the_query_then_the_body() -> None:
    payload, sig = signing.split_signature(
        DOCS_MIXED_QUERY, DOCS_MIXED_BODY + b"&signature=" + DOCS_MIXED_SIGNATURE.encode()
    )
    assert payload == DOCS_MIXED_QUERY + DOCS_MIXED_BODY
    assert sig == DOCS_MIXED_SIGNATURE
    assert signing.verify(payload, sig, hmac_secret=DOCS_SECRET)


def test_an_hmac_signature_is_accepted_in_upper_case_as_binance_does() -> None:
    assert signing.verify(DOCS_PAYLOAD, DOCS_SIGNATURE.upper(), hmac_secret=DOCS_SECRET)


@pytest.mark.parametrize(
    ("payload", "secret"),
    [
        (DOCS_PAYLOAD.replace(b"quantity=1", b"quantity=2"), DOCS_SECRET),
        (DOCS_PAYLOAD + b"&extra=1", DOCS_SECRET),
        (DOCS_PAYLOAD, DOCS_SECRET[:-1] + "k"),
    ],
    ids=["changed-value", "added-param", "other-secret"],
)
def test_a_changed_payload_or_another_secret_does_not_verify(payload: bytes, secret: str) -> None:
    assert not signing.verify(payload, DOCS_SIGNATURE, hmac_secret=secret)


def test_an_ed25519_signature_percent_encoded_in_the_query_verifies_with_the_public_key() -> None:
    private, public_pem = ed25519_pair()
    sig = base64.b64encode(private.sign(DOCS_PAYLOAD)).decode()
    sent = DOCS_PAYLOAD + b"&signature=" + quote(sig, safe="").encode()
    payload, got = signing.split_signature(sent, b"")
    assert got == sig
    assert signing.verify(payload, got, ed25519_public_key=public_pem)


def test_an_ed25519_signature_from_another_key_or_payload_is_refused() -> None:
    private, public_pem = ed25519_pair()
    other, _ = ed25519_pair()
    good = base64.b64encode(private.sign(DOCS_PAYLOAD)).decode()
    assert not signing.verify(DOCS_PAYLOAD + b"x", good, ed25519_public_key=public_pem)
    forged = base64.b64encode(other.sign(DOCS_PAYLOAD)).decode()
    assert not signing.verify(DOCS_PAYLOAD, forged, ed25519_public_key=public_pem)
    assert not signing.verify(DOCS_PAYLOAD, "not base64!", ed25519_public_key=public_pem)
    # An HMAC hex signature is not an Ed25519 signature.
    assert not signing.verify(DOCS_PAYLOAD, DOCS_SIGNATURE, ed25519_public_key=public_pem)


def test_a_key_with_no_secret_verifies_nothing() -> None:
    assert not signing.verify(DOCS_PAYLOAD, DOCS_SIGNATURE)


def test_a_request_without_a_signature_yields_none() -> None:
    assert signing.split_signature(b"a=1", b"b=2") == (b"a=1b=2", None)


def test_two_signatures_are_refused_with_the_duplicate_parameter_code() -> None:
    with pytest.raises(BinanceError) as e:
        signing.split_signature(b"a=1&signature=ab", b"signature=cd")
    assert e.value.code == Code.TOO_MANY_PARAMETERS


@given(
    st.dictionaries(
        st.text("abcdefghijklmnopqrstuvwxyz", min_size=1, max_size=8).filter(
            lambda k: k != "signature"
        ),
        st.text("abcXYZ0123456789.-_~", max_size=12),
        max_size=8,
    )
)
def test_any_query_signed_by_the_client_verifies_after_the_signature_is_split_off(
    params: dict[str, str],
) -> None:
    query = "&".join(f"{k}={v}" for k, v in params.items()).encode()
    sig = signing.hmac_signature(DOCS_SECRET, query)
    sent = (query + b"&" if query else b"") + b"signature=" + sig.encode()
    payload, got = signing.split_signature(sent, b"")
    assert payload == query
    assert got is not None
    assert signing.verify(payload, got, hmac_secret=DOCS_SECRET)


NOW = 1_700_000_000_000


@pytest.mark.parametrize(
    ("params", "code"),
    [
        ({}, Code.MANDATORY_PARAM),
        ({"timestamp": "12ab"}, Code.BAD_PARAM),
        ({"timestamp": str(NOW - 5001)}, Code.INVALID_TIMESTAMP),
        ({"timestamp": str(NOW + 1000)}, Code.INVALID_TIMESTAMP),
        ({"timestamp": str(NOW - 10_001), "recvWindow": "10000"}, Code.INVALID_TIMESTAMP),
        ({"timestamp": str(NOW), "recvWindow": "60001"}, Code.BAD_RECV_WINDOW),
        ({"timestamp": str(NOW), "recvWindow": "-5"}, Code.BAD_PARAM),
    ],
    ids=["missing", "not-a-number", "stale", "ahead", "stale-wide-window", "window-too-big", "neg"],
)
def test_a_timestamp_outside_the_window_is_refused_with_binances_code(
    params: dict[str, str], code: Code
) -> None:
    with pytest.raises(BinanceError) as e:
        signing.check_timestamp(params, NOW)
    assert e.value.code == code
    assert e.value.status == 400


@pytest.mark.parametrize(
    "params",
    [
        {"timestamp": str(NOW)},
        {"timestamp": str(NOW - 5000)},
        {"timestamp": str(NOW + 999)},
        {"timestamp": str(NOW - 60_000), "recvWindow": "60000"},
    ],
)
def test_a_timestamp_inside_the_window_is_accepted(params: dict[str, str]) -> None:
    signing.check_timestamp(params, NOW)


def test_the_websocket_api_payload_is_the_params_sorted_by_name_without_the_signature() -> None:
    params = {
        "timestamp": 1649729878532,
        "apiKey": "k",
        "signature": "x",
        "recvWindow": 100,
        "b": True,
    }
    assert signing.ws_payload(params) == b"apiKey=k&b=true&recvWindow=100&timestamp=1649729878532"


def test_a_public_key_that_is_not_ed25519_or_not_pem_verifies_nothing() -> None:
    from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, generate_private_key

    ec_pem = (
        generate_private_key(SECP256R1())
        .public_key()
        .public_bytes(serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo)
        .decode()
    )
    private, _ = ed25519_pair()
    sig = base64.b64encode(private.sign(DOCS_PAYLOAD)).decode()
    assert not signing.verify(DOCS_PAYLOAD, sig, ed25519_public_key=ec_pem)
    assert not signing.verify(DOCS_PAYLOAD, sig, ed25519_public_key="not a key")
