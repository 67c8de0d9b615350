"""``wintermute bench routing``: an order decision -> the signed request a venue takes, per
venue and key type, Wintermute's router (Rust) against ccxt's own ``create_order`` building the
same request, in the same run::

    wintermute bench routing [--rounds 20000] [--ccxt-rounds 2000] [--json]

The order is one LIMIT IOC buy with a client order id on each venue: Binance ``BTCUSDT``
0.12345 at 58001.04 (an HMAC-SHA256 key, then an Ed25519 key), Kraken ``XBTUSD`` 0.12345 at
58729.4 (``API-Sign``), Coinbase ``BAND-GBP`` 0.3 at 1480.69 (an ES256 JWT). The Rust rows
are ``wintermute_bench::routing`` (integer lots and ticks turned into the venue's text by the
instrument's grid, the query or body built, signed), timed per call in a Rust loop.

ccxt runs in this process with its markets set in memory (no network), its rate limiter off
(it would sleep between calls) and its HTTP call replaced by one that keeps the request and
stops: what is timed is ``create_order`` up to the bytes it would send (market lookup,
parameters, precision, signing). The kept requests are checked before timing: the same
venue, path, parameters and amounts as the Rust side's, and (Binance HMAC, Kraken) a signature
that verifies with the key. Reported: p50, p99 and max per call, and ccxt / Wintermute at the
median.
"""

from __future__ import annotations

import argparse
import base64
import hashlib
import hmac
import json
import os
import time
import urllib.parse
from collections.abc import Callable
from typing import Any

from wintermute import _core
from wintermute.cli_args import positive_int

__all__ = ["add_parser", "ccxt_requests", "run"]

#: Binance's documented example HMAC secret and Kraken's documented example secret (the Rust
#: side signs with the same: ``wintermute_bench::routing``).
BINANCE_HMAC_SECRET = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j"
KRAKEN_SECRET = (
    "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg=="
)
KRAKEN_CLIENT_ID = "00000000-0000-0007-8000-000000000001"
#: Each edge's order as ccxt takes it: (unified symbol, amount, price, params).
ORDERS: dict[str, tuple[str, float, float, dict[str, str]]] = {
    "binance-hmac": ("BTC/USDT", 0.12345, 58001.04, {"newClientOrderId": "wm1"}),
    "binance-ed25519": ("BTC/USDT", 0.12345, 58001.04, {"newClientOrderId": "wm1"}),
    "kraken": ("BTC/USD", 0.12345, 58729.4, {"clientOrderId": KRAKEN_CLIENT_ID}),
    "coinbase": ("BAND/GBP", 0.3, 1480.69, {"clientOrderId": "wm1"}),
}  # fmt: skip


class _CapturedError(Exception):
    """Raised by the replaced HTTP call once it has kept the request."""


class RequestMismatchError(Exception):
    """ccxt's request is not the order the Rust side builds (``check_requests``)."""


def _require(ok: bool, what: str, detail: object) -> None:
    if not ok:
        raise RequestMismatchError(f"ccxt's request: {what}: {detail}")


def _market(symbol: str, market_id: str, tick: str, lot: str, **info: Any) -> dict[str, Any]:
    base, quote = symbol.split("/")
    return {
        "id": market_id, "symbol": symbol, "base": base, "quote": quote, "baseId": base,
        "quoteId": quote, "type": "spot", "spot": True, "margin": False, "swap": False,
        "future": False, "option": False, "contract": False, "linear": None, "inverse": None,
        "active": True, "precision": {"amount": float(lot), "price": float(tick)},
        "limits": {k: {"min": None, "max": None} for k in ("amount", "price", "cost")},
        "info": info,
    }  # fmt: skip


def _exchanges() -> dict[str, Any]:
    """One ccxt client per edge, markets in memory, rate limiter off."""
    try:
        import ccxt
        from cryptography.hazmat.primitives import serialization
        from cryptography.hazmat.primitives.asymmetric import ec, ed25519
    except ImportError as e:
        raise RuntimeError(
            f"bench routing needs ccxt and cryptography ({e}): pip install -e '.[dev]'"
        ) from e
    ed_pem = (
        ed25519.Ed25519PrivateKey.from_private_bytes(bytes([7] * 32))
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
        .decode()
    )
    ec_pem = (
        ec.generate_private_key(ec.SECP256R1())
        .private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.TraditionalOpenSSL,
            serialization.NoEncryption(),
        )
        .decode()
    )
    btc = _market("BTC/USDT", "BTCUSDT", "0.01", "0.00001", orderTypes=["LIMIT", "MARKET"])
    common = {"enableRateLimit": False}
    made = {
        "binance-hmac": (ccxt.binance, {"apiKey": "k", "secret": BINANCE_HMAC_SECRET}, btc),
        "binance-ed25519": (ccxt.binance, {"apiKey": "k", "secret": ed_pem}, btc),
        "kraken": (
            ccxt.kraken,
            {"apiKey": "k", "secret": KRAKEN_SECRET},
            _market("BTC/USD", "XXBTZUSD", "0.1", "0.00000001", altname="XBTUSD"),
        ),
        "coinbase": (
            ccxt.coinbase,
            {"apiKey": "organizations/o/apiKeys/k", "secret": ec_pem},
            _market("BAND/GBP", "BAND-GBP", "0.01", "0.0001"),
        ),
    }
    out = {}
    for edge, (cls, keys, market) in made.items():
        ex = cls({**common, **keys})
        ex.set_markets([market])
        out[edge] = ex
    return out


def _create(ex: Any, edge: str, kept: dict[str, Any]) -> Callable[[], None]:
    """ccxt's create_order for ``edge``, its HTTP call replaced (the request lands in
    ``kept``)."""

    def fetch(url: str, method: str = "GET", headers: Any = None, body: Any = None) -> Any:
        kept.update(url=url, method=method, headers=dict(headers or {}), body=body)
        raise _CapturedError

    ex.fetch = fetch
    symbol, amount, price, params = ORDERS[edge]

    def create() -> None:
        try:
            ex.create_order(symbol, "limit", "buy", amount, price, {"timeInForce": "IOC", **params})
        except _CapturedError:
            return
        raise RuntimeError(f"bench routing: ccxt's create_order ({edge}) sent no request")

    return create


def ccxt_requests() -> dict[str, dict[str, Any]]:
    """The request ccxt builds for each edge (url, method, headers, body), without sending."""
    out: dict[str, dict[str, Any]] = {}
    for edge, ex in _exchanges().items():
        kept: dict[str, Any] = {}
        _create(ex, edge, kept)()
        out[edge] = kept
    return out


def check_requests(requests: dict[str, dict[str, Any]]) -> None:
    """Raises ``RequestMismatchError`` unless ccxt's requests are the orders of the Rust side:
    the venue's order path, the same amounts, and signatures that verify where the key is a
    shared secret."""
    b = requests["binance-hmac"]
    query = dict(urllib.parse.parse_qsl(b["body"]))
    _require(b["url"].endswith("/api/v3/order") and b["method"] == "POST", "Binance path", b)
    fields = tuple(query.get(k) for k in ("symbol", "side", "type", "timeInForce", "quantity",
                                          "price", "newClientOrderId"))  # fmt: skip
    _require(fields == ("BTCUSDT", "BUY", "LIMIT", "IOC", "0.12345", "58001.04", "wm1"),
             "Binance order", query)  # fmt: skip
    unsigned = b["body"].rsplit("&signature=", 1)[0]
    want = hmac.new(BINANCE_HMAC_SECRET.encode(), unsigned.encode(), hashlib.sha256).hexdigest()
    _require(query.get("signature") == want, "Binance HMAC signature does not verify", query)
    ed = dict(urllib.parse.parse_qsl(requests["binance-ed25519"]["body"]))
    _require(len(base64.b64decode(ed.get("signature", ""))) == 64, "Ed25519 signature", ed)
    k = requests["kraken"]
    form = dict(urllib.parse.parse_qsl(k["body"]))
    _require(k["url"].endswith("/0/private/AddOrder"), "Kraken path", k)
    fields = tuple(form.get(key) for key in ("volume", "price", "type", "ordertype"))
    _require(fields == ("0.12345", "58729.4", "buy", "limit"), "Kraken order", form)
    digest = hashlib.sha256((form.get("nonce", "") + k["body"]).encode()).digest()
    sign = hmac.new(base64.b64decode(KRAKEN_SECRET), b"/0/private/AddOrder" + digest, "sha512")
    want = base64.b64encode(sign.digest()).decode()
    _require(k["headers"].get("API-Sign") == want, "Kraken API-Sign does not verify", form)
    c = requests["coinbase"]
    order = json.loads(c["body"])
    _require(c["url"].endswith("/api/v3/brokerage/orders"), "Coinbase path", c)
    limit = order.get("order_configuration", {}).get("sor_limit_ioc")
    _require((order.get("product_id"), order.get("side"), limit)
             == ("BAND-GBP", "BUY", {"base_size": "0.3", "limit_price": "1480.69"}),
             "Coinbase order", order)  # fmt: skip
    auth = c["headers"].get("Authorization", "")
    _require(auth.startswith("Bearer ey"), "Coinbase JWT", c["headers"])


def _percentiles(ns: list[int]) -> dict[str, int]:
    ns = sorted(ns)

    def pick(p: float) -> int:
        return ns[min(int(len(ns) * p), len(ns) - 1)]

    return {"p50_ns": pick(0.50), "p99_ns": pick(0.99), "max_ns": ns[-1]}


def time_ccxt(rounds: int) -> dict[str, dict[str, Any]]:
    """ccxt's create_order per edge, ``rounds`` timed calls after a tenth as many untimed."""
    out: dict[str, dict[str, Any]] = {}
    for edge, ex in _exchanges().items():
        create = _create(ex, edge, {})
        for _ in range(max(rounds // 10, 1)):
            create()
        ns = []
        for _ in range(rounds):
            started = time.perf_counter_ns()
            create()
            ns.append(time.perf_counter_ns() - started)
        out[edge] = {"rounds": rounds, **_percentiles(ns)}
    return out


def run(rounds: int = 20_000, ccxt_rounds: int = 2_000) -> dict[str, Any]:
    """The whole bench (see the module docs); the result as a JSON-able dict."""
    import ccxt

    check_requests(ccxt_requests())
    ours = {e["edge"]: e for e in json.loads(_core.routing_sign_timed(rounds))}
    theirs = time_ccxt(ccxt_rounds)
    rows = []
    for edge, w in ours.items():
        c = theirs[edge]
        rows.append(
            {
                "edge": edge,
                "wintermute": {k: w[k] for k in ("rounds", "p50_ns", "p99_ns", "max_ns")},
                "ccxt": c,
                "ccxt_vs_wintermute_p50": c["p50_ns"] / max(w["p50_ns"], 1),
            }
        )
    return {
        "date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()),
        "machine": {"cpus": os.cpu_count(), "load_average": list(os.getloadavg())},
        "build": _core.build_info()["profile"],
        "ccxt": ccxt.__version__,
        "rows": rows,
    }


def to_table(r: dict[str, Any]) -> str:
    def us(ns: int) -> str:
        return f"{ns / 1000:.2f}"

    lines = [
        f"wintermute bench routing ({r['date']}; {r['machine']['cpus']} CPUs, load "
        f"{r['machine']['load_average'][0]:.1f}; {r['build']} build; ccxt {r['ccxt']}): "
        "order decision -> signed request, us per call",
        f"{'edge':<16} {'wintermute p50':>15} {'p99':>8} {'ccxt p50':>10} {'p99':>9} "
        f"{'ccxt / wm':>10}",
    ]
    for row in r["rows"]:
        w, c = row["wintermute"], row["ccxt"]
        lines.append(
            f"{row['edge']:<16} {us(w['p50_ns']):>15} {us(w['p99_ns']):>8} "
            f"{us(c['p50_ns']):>10} {us(c['p99_ns']):>9} {row['ccxt_vs_wintermute_p50']:>9.0f}x"
        )
    return "\n".join(lines)


def _main(args: argparse.Namespace) -> int:
    result = run(rounds=args.rounds, ccxt_rounds=args.ccxt_rounds)
    print(json.dumps(result, indent=2) if args.json else to_table(result))
    return 0


def add_parser(targets: Any) -> None:
    """Adds the ``routing`` sub-target to ``wintermute bench``'s sub-parsers."""
    p = targets.add_parser(
        "routing", help="order -> signed request per venue, against ccxt's create_order"
    )
    p.add_argument("--rounds", type=positive_int, default=20_000, help="timed Rust calls per edge")
    p.add_argument(
        "--ccxt-rounds", type=positive_int, default=2_000, help="timed ccxt calls per edge"
    )
    p.add_argument("--json", action="store_true", help="print a JSON document")
    p.set_defaults(handler=_main)
