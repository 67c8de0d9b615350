"""The service's own settings: the ``[service]`` table of the engine's config file.

The engine reads the rest of the file (``wintermute.config.EngineConfig``); its schema refuses
unknown keys, so ``split_config`` takes the ``service`` table out before the engine sees the
document. Every key has a default, so a file without ``[service]`` serves too::

    >>> from wintermute.service.settings import ServiceSettings
    >>> s = ServiceSettings.from_dict({"port": 8080, "fees": {"maker_bps": "1"}})
    >>> s.port, s.fees.maker_bps, s.fees.taker_bps
    (8080, Decimal('1'), Decimal('5'))

In TOML::

    [service]
    host = "127.0.0.1"          # bind address
    port = 8000
    ssl_certfile = "cert.pem"   # TLS through uvicorn's own options (both or neither)
    ssl_keyfile = "key.pem"
    api_keys_file = "keys.toml" # or the WINTERMUTE_API_KEYS environment variable
    rate_limit_per_s = 50       # per API key: a token bucket of this rate ...
    rate_limit_burst = 100      # ... and this size
    max_body_bytes = 65536      # larger request bodies: 413
    order_entry_bind = "127.0.0.1:8001"  # POST /api/orders and DELETE /api/orders/{id}
                                # served from Rust on this address too (default: off;
                                # wintermute.service.order_entry)
    ws_buffer = 10000           # events a WebSocket client may leave unsent (then: conflated
                                # or disconnected, by channel; wintermute.service.ws)
    ws_send_timeout_s = 10      # a WebSocket whose socket takes no message this long is closed
    ws_send_buffer_bytes = 262144   # each WebSocket's kernel send buffer (0: the system's)
    otlp_endpoint = "http://127.0.0.1:4318/v1/traces"  # OpenTelemetry traces (default: off)
    trace_sample_ratio = 0.01   # the share of requests traced
    save_state_on_snapshot = true   # with [journal] prune_segments: the venue saves its state
                                # after each engine snapshot (wintermute.service.venue_state)

    [service.redis]             # the Redis hot tier (default: off; wintermute.storage.redis_tier)
    url = "redis://127.0.0.1:6379/0"
    cluster = false             # true: url is a node of a Redis Cluster
    prefix = "wm"               # key prefix
    every_s = 0.1               # how often the external venues' books are published
    depth = 10                  # levels per side in each published book
    stream_len = 10000          # entries a trades / ticks stream keeps (about: MAXLEN ~)

    [service.fees]
    maker_bps = "1"             # fee on each fill's notional, in the quote asset
    taker_bps = "5"

    [service.balances]          # every account's starting spot balances
    USD = "1000000"
    BTC = "100"

    [service.accounts.7.balances]   # one account's own
    USD = "50"
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from wintermute.errors import ConfigError

__all__ = ["FeeSchedule", "RedisSettings", "ServiceSettings", "split_config"]


def _error(key: str, message: str) -> ConfigError:
    return ConfigError(f"config key service.{key}: {message}", reason="CONFIG", key=key)


def _decimal(value: Any, key: str) -> Decimal:
    if isinstance(value, bool) or not isinstance(value, (str, int)):
        raise _error(key, f"expected a decimal string, not {type(value).__name__}")
    try:
        d = Decimal(value)
    except InvalidOperation:
        raise _error(key, f"{value!r} is not a decimal") from None
    if not d.is_finite() or d < 0:
        raise _error(key, f"{value!r} must be a finite, non-negative decimal")
    return d


def _int(value: Any, key: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise _error(key, f"{value!r} must be an integer in [{low}, {high}]")
    return value


def _seconds(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 3600:
        raise _error(key, f"{value!r} must be a number of seconds in (0, 3600]")
    return float(value)


def _balances(value: Any, key: str) -> dict[str, Decimal]:
    if not isinstance(value, Mapping):
        raise _error(key, "expected a table of asset = decimal")
    return {str(a): _decimal(v, f"{key}.{a}") for a, v in value.items()}


@dataclass(frozen=True)
class FeeSchedule:
    """Fees in basis points of each fill's notional, charged in the quote asset."""

    maker_bps: Decimal = Decimal("1")
    taker_bps: Decimal = Decimal("5")


@dataclass(frozen=True)
class RedisSettings:
    """Where and how the service publishes to Redis (``[service.redis]``)."""

    url: str
    cluster: bool = False
    prefix: str = "wm"
    every_s: float = 0.1
    depth: int = 10
    stream_len: int = 10_000

    @classmethod
    def from_dict(cls, data: Any) -> RedisSettings:
        if not isinstance(data, Mapping):
            raise _error("redis", "expected a [service.redis] table")
        unknown = set(data) - {"url", "cluster", "prefix", "every_s", "depth", "stream_len"}
        if unknown:
            raise _error(f"redis.{sorted(unknown)[0]}", "unknown key")
        url = data.get("url")
        if not isinstance(url, str) or not url.startswith(("redis://", "rediss://", "unix://")):
            raise _error("redis.url", "expected a redis://, rediss:// or unix:// URL")
        prefix = data.get("prefix", "wm")
        if not isinstance(prefix, str) or not prefix or "{" in prefix or "}" in prefix:
            raise _error("redis.prefix", "expected a non-empty string without braces")
        cluster = data.get("cluster", False)
        if not isinstance(cluster, bool):
            raise _error("redis.cluster", "expected true or false")
        return cls(
            url=url, cluster=cluster, prefix=prefix,
            every_s=_seconds(data.get("every_s", 0.1), "redis.every_s"),
            depth=_int(data.get("depth", 10), "redis.depth", 1, 1000),
            stream_len=_int(data.get("stream_len", 10_000), "redis.stream_len", 1, 10**8),
        )  # fmt: skip


@dataclass(frozen=True)
class ServiceSettings:
    """Everything the service reads from ``[service]`` (see the module documentation)."""

    host: str = "127.0.0.1"
    port: int = 8000
    ssl_certfile: str | None = None
    ssl_keyfile: str | None = None
    api_keys_file: str | None = None
    rate_limit_per_s: int = 50
    rate_limit_burst: int = 100
    max_body_bytes: int = 65536
    fees: FeeSchedule = field(default_factory=FeeSchedule)
    #: Starting balances of every account (None: base 100 and quote 1,000,000 of each
    #: instrument's assets).
    balances: dict[str, Decimal] | None = None
    account_balances: dict[int, dict[str, Decimal]] = field(default_factory=dict)
    #: Public trades kept per instrument; closed orders and fills kept per account.
    tape_size: int = 1000
    history_size: int = 10000
    #: Events a live subscriber may have waiting before it is dropped as a slow consumer.
    subscriber_queue: int = 10000
    #: Events a WebSocket client may have unsent; past it, a sequenced channel's client is
    #: disconnected (``slow_consumer``), a conflated channel keeps the newest message per key.
    ws_buffer: int = 10000
    #: Seconds a WebSocket's socket may take no message before the client is closed
    #: (``send_timeout``).
    ws_send_timeout_s: float = 10.0
    #: Each WebSocket connection's kernel send buffer (``SO_SNDBUF``), bytes; 0: the system's
    #: default, which autotunes up to ``net.ipv4.tcp_wmem``'s maximum (4 MiB on Linux).
    ws_send_buffer_bytes: int = 262144
    #: How long a request waits for the engine's verdict.
    ack_timeout_s: float = 10.0
    #: OpenTelemetry traces over OTLP/HTTP to this endpoint (None: off unless the OTEL_
    #: environment variables say otherwise; ``wintermute.service.tracing``).
    otlp_endpoint: str | None = None
    #: The share of requests traced, in [0, 1].
    trace_sample_ratio: float = 0.01
    #: The Redis hot tier (None: off).
    redis: RedisSettings | None = None
    #: Over a journal with ``prune_segments``: the venue saves its state after each snapshot
    #: the engine takes (``Venue.save_state``), so that pruning keeps only the records since.
    save_state_on_snapshot: bool = True
    #: ``host:port`` where the Rust listener serves order entry (``POST /api/orders``,
    #: ``DELETE /api/orders/{id}``; ``wintermute.service.order_entry``). None: off.
    order_entry_bind: str | None = None

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ServiceSettings:
        """Checked settings from a ``[service]`` table; unknown keys are errors."""
        known = {
            "host", "port", "ssl_certfile", "ssl_keyfile", "api_keys_file", "rate_limit_per_s",
            "rate_limit_burst", "max_body_bytes", "fees", "balances", "accounts", "tape_size",
            "history_size", "subscriber_queue", "ack_timeout_s", "ws_buffer", "otlp_endpoint",
            "trace_sample_ratio", "ws_send_timeout_s", "ws_send_buffer_bytes", "redis",
            "save_state_on_snapshot", "order_entry_bind",
        }  # fmt: skip
        for key in data:
            if key not in known:
                raise _error(str(key), "unknown key")
        kw: dict[str, Any] = {}
        for key in (
            "host", "ssl_certfile", "ssl_keyfile", "api_keys_file", "otlp_endpoint",
            "order_entry_bind",
        ):  # fmt: skip
            if key in data:
                if not isinstance(data[key], str):
                    raise _error(key, "expected a string")
                kw[key] = data[key]
        if "port" in data:
            kw["port"] = _int(data["port"], "port", 0, 65535)
        for key, high in (
            ("rate_limit_per_s", 10**9),
            ("rate_limit_burst", 10**9),
            ("max_body_bytes", 1 << 30),
            ("tape_size", 10**7),
            ("history_size", 10**7),
            ("subscriber_queue", 10**7),
            ("ws_buffer", 10**7),
        ):
            if key in data:
                kw[key] = _int(data[key], key, 1, high)
        if "ws_send_buffer_bytes" in data:
            kw["ws_send_buffer_bytes"] = _int(
                data["ws_send_buffer_bytes"], "ws_send_buffer_bytes", 0, 1 << 30
            )
        for key in ("ack_timeout_s", "ws_send_timeout_s"):
            if key in data:
                kw[key] = _seconds(data[key], key)
        if "trace_sample_ratio" in data:
            r = data["trace_sample_ratio"]
            if isinstance(r, bool) or not isinstance(r, (int, float)) or not 0 <= r <= 1:
                raise _error("trace_sample_ratio", f"{r!r} must be a number in [0, 1]")
            kw["trace_sample_ratio"] = float(r)
        if "fees" in data:
            fees = data["fees"]
            if not isinstance(fees, Mapping) or set(fees) - {"maker_bps", "taker_bps"}:
                raise _error("fees", "expected a table with maker_bps and/or taker_bps")
            kw["fees"] = FeeSchedule(**{k: _decimal(v, f"fees.{k}") for k, v in fees.items()})
        if "balances" in data:
            kw["balances"] = _balances(data["balances"], "balances")
        if "accounts" in data:
            accounts = data["accounts"]
            if not isinstance(accounts, Mapping):
                raise _error("accounts", "expected a table of account id = table")
            per: dict[int, dict[str, Decimal]] = {}
            for k, v in accounts.items():
                try:
                    account = int(k)
                except ValueError:
                    raise _error(f"accounts.{k}", "account ids are integers") from None
                if not isinstance(v, Mapping) or set(v) - {"balances"}:
                    raise _error(f"accounts.{k}", "expected a table with balances")
                per[account] = _balances(v.get("balances", {}), f"accounts.{k}.balances")
            kw["account_balances"] = per
        if "redis" in data:
            kw["redis"] = RedisSettings.from_dict(data["redis"])
        if "save_state_on_snapshot" in data:
            if not isinstance(data["save_state_on_snapshot"], bool):
                raise _error("save_state_on_snapshot", "expected true or false")
            kw["save_state_on_snapshot"] = data["save_state_on_snapshot"]
        if ("ssl_certfile" in kw) != ("ssl_keyfile" in kw):
            raise _error("ssl_certfile", "TLS needs both ssl_certfile and ssl_keyfile")
        return cls(**kw)


def split_config(document: Mapping[str, Any]) -> tuple[dict[str, Any], ServiceSettings]:
    """Splits a config document into the engine's part and the service's settings: the
    engine's schema refuses unknown keys, so the ``service`` table never reaches it (nor the
    ``audit`` table, ``wintermute.storage.audit_settings``, nor the ``market`` table,
    ``wintermute.market_settings``)."""
    engine = {k: v for k, v in document.items() if k not in ("service", "audit", "market")}
    service = document.get("service", {})
    if not isinstance(service, Mapping):
        raise _error("", "expected a [service] table")
    return engine, ServiceSettings.from_dict(service)
