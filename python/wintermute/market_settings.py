"""Where the external market comes from: the ``[market]`` table of a config file, read by
``wintermute mm --config FILE`` (the market maker's reference books) and ``wintermute serve
--config FILE`` (the web UI's venue panels, ``/ws/market``, ``--record-market`` and the Redis
venue books).

Two sources. The **synthetic** market (the default, also when there is no ``[market]`` table):
Binance, Coinbase and Kraken served on 127.0.0.1 in their own protocols from one seeded latent
price, read by the real connectors, replayed afresh when it runs out::

    [market]
    source = "synthetic"         # the default
    seed = 7
    steps = 20000                # messages per venue per replay
    pace = "1"                   # "1": the recorded pace; "10": ten times faster; "fast"
    gap_rate = 0.001             # injected sequence gaps per message (each one resyncs)
    restart_after_s = 10.0       # a fresh market after this long without a frame

The **venues** themselves (or anything speaking their protocols: a proxy, ``wintermute feeds
serve``), one table per venue; ``source = "venues"`` is implied by ``[market.venues]``::

    [market.venues.coinbase]
    symbols = ["BTC-USD"]
    # ws_url = "wss://ws-feed.exchange.coinbase.com"     # the default: PUBLIC_ENDPOINTS
    # ca_file = "proxy-ca.pem"     # root certificates trusted besides Mozilla's (PEM)

    [market.venues.kraken]
    symbols = ["XBT/USD"]

    [market.venues.binance]
    symbols = ["BTCUSDT"]
    # rest_url = "https://api.binance.com"   # Binance's book snapshots (the default)

    [market.instruments.BTC-USD]  # what our instrument's consolidated book merges
    coinbase = "BTC-USD"
    kraken = "XBT/USD"

Every key is checked; a bad one raises ``ConfigError`` naming it (``market.venues.kraken.symbols``,
``market.instruments.BTC-USD.binance``); unknown keys and venues are errors too::

    >>> from wintermute.market_settings import MarketSettings
    >>> s = MarketSettings.from_dict({"venues": {"kraken": {"symbols": ["XBT/USD"]}}})
    >>> s.source, s.venues[0].ws_url
    ('venues', 'wss://ws.kraken.com')
    >>> MarketSettings.from_dict({"venues": {"bitmex": {"symbols": ["XBTUSD"]}}})
    Traceback (most recent call last):
    ...
    wintermute.errors.ConfigError: config key market.venues.bitmex: unknown venue; expected ...
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from wintermute.errors import ConfigError
from wintermute.market import DEFAULT_SYMBOLS, VENUES

__all__ = [
    "PUBLIC_ENDPOINTS",
    "SYNTHETIC_LEGS",
    "MarketSettings",
    "VenueEndpoint",
]

Source = Literal["synthetic", "venues"]

#: The venues' public market-data endpoints, ``(ws_url, rest_url)``: the defaults of
#: ``[market.venues.<venue>]`` (the feeds' own, ``wintermute_feeds::net::endpoints``). Only
#: Binance reads a REST endpoint (its book snapshots).
PUBLIC_ENDPOINTS: dict[str, tuple[str, str | None]] = {
    "binance": ("wss://stream.binance.com:9443", "https://api.binance.com"),
    "coinbase": ("wss://ws-feed.exchange.coinbase.com", None),
    "kraken": ("wss://ws.kraken.com", None),
}

#: The synthetic market's symbols merged into our instrument (US dollars only: not Binance's
#: Tether pair).
SYNTHETIC_LEGS = {"coinbase": DEFAULT_SYMBOLS["coinbase"], "kraken": DEFAULT_SYMBOLS["kraken"]}

_SYNTHETIC_KEYS = ("seed", "steps", "pace", "gap_rate", "restart_after_s")


def _error(key: str, message: str) -> ConfigError:
    return ConfigError(f"config key market.{key}: {message}", reason="CONFIG", key=f"market.{key}")


def _table(value: Any, key: str) -> Mapping[str, Any]:
    if not isinstance(value, Mapping):
        raise _error(key, "expected a table")
    return value


def _unknown(data: Mapping[str, Any], known: Iterable[str], prefix: str) -> None:
    extra = sorted(set(data) - set(known))
    if extra:
        raise _error(f"{prefix}{extra[0]}", f"unknown key; expected one of {sorted(known)}")


def _url(value: Any, key: str, schemes: tuple[str, ...]) -> str:
    if not isinstance(value, str) or not value.startswith(schemes):
        raise _error(key, f"expected a {' or '.join(schemes)} URL")
    if not value.split("://", 1)[1].split("/", 1)[0]:
        raise _error(key, "the URL names no host")
    return value


@dataclass(frozen=True)
class VenueEndpoint:
    """One venue of a ``venues`` market: its symbols as the venue writes them, where its feed
    is (``ws_url``; ``rest_url``: Binance's snapshots) and ``ca_file``, a PEM file of root
    certificates trusted besides Mozilla's (None: none)."""

    venue: str
    symbols: tuple[str, ...]
    ws_url: str
    rest_url: str | None = None
    ca_file: str | None = None

    @classmethod
    def from_dict(cls, venue: str, data: Any, base_dir: Path | None) -> VenueEndpoint:
        key = f"venues.{venue}"
        if venue not in VENUES:
            raise _error(key, f"unknown venue; expected one of {list(VENUES)}")
        table = _table(data, key)
        _unknown(table, ("symbols", "ws_url", "rest_url", "ca_file"), f"{key}.")
        symbols = table.get("symbols")
        if (
            not isinstance(symbols, list)
            or not symbols
            or not all(isinstance(s, str) and s for s in symbols)
        ):
            raise _error(f"{key}.symbols", "expected a non-empty list of symbols")
        if len(set(symbols)) != len(symbols):
            raise _error(f"{key}.symbols", "a symbol is listed twice")
        ws_default, rest_default = PUBLIC_ENDPOINTS[venue]
        ws = _url(table.get("ws_url", ws_default), f"{key}.ws_url", ("wss://", "ws://"))
        rest = rest_default
        if "rest_url" in table:
            if rest_default is None:
                raise _error(f"{key}.rest_url", f"{venue}'s feed reads no REST endpoint")
            rest = _url(table["rest_url"], f"{key}.rest_url", ("https://", "http://"))
        ca_file = None
        if "ca_file" in table:
            raw = table["ca_file"]
            if not isinstance(raw, str) or not raw:
                raise _error(f"{key}.ca_file", "expected a path to a PEM file")
            path = Path(raw)
            if not path.is_absolute() and base_dir is not None:
                path = base_dir / path
            if not path.is_file():
                raise _error(f"{key}.ca_file", f"no file at {path}")
            ca_file = str(path)
        return cls(venue, tuple(symbols), ws, rest, ca_file)


@dataclass(frozen=True)
class MarketSettings:
    """The external market (see the module documentation). ``instruments``: per instrument
    of ours, ``{venue: symbol}`` merged into its consolidated book (the synthetic market
    merges Coinbase's and Kraken's dollar books, ``SYNTHETIC_LEGS``, when it names none)."""

    source: Source = "synthetic"
    seed: int = 7
    steps: int = 20_000
    pace: str = "1"
    gap_rate: float = 0.001
    restart_after_s: float = 10.0
    venues: tuple[VenueEndpoint, ...] = ()
    instruments: dict[str, dict[str, str]] = field(default_factory=dict)

    @classmethod
    def from_dict(cls, data: Any, *, base_dir: str | Path | None = None) -> MarketSettings:
        """Checked settings from a ``[market]`` table (relative ``ca_file`` paths are taken
        from ``base_dir``: the config file's folder); unknown keys are errors."""
        if data is not None and not isinstance(data, Mapping):
            raise ConfigError(
                "config key market: expected a [market] table", reason="CONFIG", key="market"
            )
        table: Mapping[str, Any] = data or {}
        _unknown(table, ("source", "venues", "instruments", *_SYNTHETIC_KEYS), "")
        source = table.get("source", "venues" if "venues" in table else "synthetic")
        if source not in ("synthetic", "venues"):
            raise _error("source", f"{source!r}: expected 'synthetic' or 'venues'")
        base = None if base_dir is None else Path(base_dir)
        kw: dict[str, Any] = {"source": source}
        if source == "venues":
            for k in _SYNTHETIC_KEYS:
                if k in table:
                    raise _error(k, "only for source = 'synthetic'")
            venues = _table(table.get("venues"), "venues")
            if not venues:
                raise _error("venues", "name at least one venue")
            kw["venues"] = tuple(
                VenueEndpoint.from_dict(str(name), v, base) for name, v in venues.items()
            )
        else:
            if "venues" in table:
                raise _error("venues", "only for source = 'venues'")
            kw.update(_synthetic(table))
        settings = cls(**kw)
        instruments: dict[str, dict[str, str]] = {}
        for inst, legs in _table(table.get("instruments", {}), "instruments").items():
            key = f"instruments.{inst}"
            instruments[str(inst)] = {}
            for venue, symbol in _table(legs, key).items():
                if not isinstance(symbol, str):
                    raise _error(f"{key}.{venue}", "expected the venue's symbol")
                settings.check_stream(venue, symbol, f"market.{key}.{venue}")
                instruments[str(inst)][str(venue)] = symbol
        return dataclasses.replace(settings, instruments=instruments)

    def symbols(self) -> dict[str, tuple[str, ...]]:
        """Each venue's subscribed symbols."""
        if self.source == "synthetic":
            return {v: (DEFAULT_SYMBOLS[v],) for v in VENUES}
        return {v.venue: v.symbols for v in self.venues}

    def check_stream(self, venue: str, symbol: str, key: str) -> None:
        """Raises ``ConfigError`` naming ``key`` unless this market subscribes to ``venue``'s
        ``symbol``."""
        subscribed = self.symbols()
        if venue not in subscribed:
            where = "[market.venues]" if self.source == "venues" else "the synthetic market"
            raise ConfigError(
                f"config key {key}: venue {venue!r} is not in {where} "
                f"(venues: {sorted(subscribed)})",
                reason="CONFIG", key=key,
            )  # fmt: skip
        if symbol not in subscribed[venue]:
            where = f"market.venues.{venue}.symbols" if self.source == "venues" else (
                f"the synthetic {venue} market"
            )  # fmt: skip
            raise ConfigError(
                f"config key {key}: {venue} symbol {symbol!r} is not subscribed by {where} "
                f"({list(subscribed[venue])})",
                reason="CONFIG", key=key,
            )  # fmt: skip

    def legs(self, instrument: str) -> dict[str, str]:
        """The venues' symbols merged into ``instrument``'s consolidated book."""
        if instrument in self.instruments:
            return dict(self.instruments[instrument])
        return dict(SYNTHETIC_LEGS) if self.source == "synthetic" else {}

    def describe(self) -> str:
        """One line: where the market comes from."""
        if self.source == "synthetic":
            return f"the synthetic market (seed {self.seed}, {self.steps} messages a replay)"
        return "the venues: " + ", ".join(
            f"{v.venue} {'/'.join(v.symbols)} at {v.ws_url}" for v in self.venues
        )


def _synthetic(table: Mapping[str, Any]) -> dict[str, Any]:
    kw: dict[str, Any] = {}
    for key, high in (("seed", 2**63 - 1), ("steps", 10**9)):
        if key in table:
            v = table[key]
            if isinstance(v, bool) or not isinstance(v, int) or not 0 <= v <= high or (
                key == "steps" and v == 0
            ):  # fmt: skip
                raise _error(key, f"{v!r} must be an integer in [{int(key == 'steps')}, {high}]")
            kw[key] = v
    if "pace" in table:
        pace = table["pace"]
        ok = isinstance(pace, str) and (pace in ("fast", "recorded") or _positive(pace))
        if not ok:
            raise _error("pace", f"{pace!r}: expected 'fast', 'recorded' or a speed like '10'")
        kw["pace"] = pace
    if "gap_rate" in table:
        r = table["gap_rate"]
        if isinstance(r, bool) or not isinstance(r, (int, float)) or not 0 <= r < 1:
            raise _error("gap_rate", f"{r!r} must be a number in [0, 1)")
        kw["gap_rate"] = float(r)
    if "restart_after_s" in table:
        s = table["restart_after_s"]
        if isinstance(s, bool) or not isinstance(s, (int, float)) or not 0 < s <= 3600:
            raise _error("restart_after_s", f"{s!r} must be a number of seconds in (0, 3600]")
        kw["restart_after_s"] = float(s)
    return kw


def _positive(text: str) -> bool:
    try:
        return float(text) > 0
    except ValueError:
        return False
