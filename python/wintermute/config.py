"""The threaded engine's configuration: ``EngineConfig``, from a dict, a TOML or a JSON file.

A config names the instruments and, optionally, everything else; what it leaves out gets the
defaults of the Rust ``PipelineConfig::for_cores`` for this machine (asked from the engine,
so there is one source of defaults)::

    >>> from wintermute.config import EngineConfig
    >>> cfg = EngineConfig.from_dict({
    ...     "instruments": [{"symbol": "BTC-USD", "tick_size": "0.01", "lot_size": "0.001",
    ...                      "min_qty": "0.001", "max_qty": "100", "min_price": "1",
    ...                      "max_price": "1000000"}],
    ...     "gateways": {"count": 4},
    ... }, cores=2)
    >>> cfg.topology, cfg.gateways.count, cfg.risk_thread.wait.kind
    ('merged', 4, 'park')

On fewer than 4 cores the risk and matching stages share one thread (``merged``), from 4 cores
on they get a thread each (``split``); engine threads busy-spin when at least 2 cores are left
for producers and consumers, and park otherwise (1-2 cores). See ``docs/pipeline-python.md`` for
every key; in TOML::

    topology = "merged"              # or "split"; default: by core count

    [[instruments]]
    symbol = "BTC-USD"
    tick_size = "0.01"               # exact decimals, as in Engine.add_instrument
    lot_size = "0.001"
    min_qty = "0.001"
    max_qty = "100"
    min_price = "1"
    max_price = "1000000"

    [threads.risk]                   # the risk thread, or the merged thread
    wait = "park"                    # busy_spin | spin_then_yield | park, or a table
    core = 1                         # pin to this core

    [gateways]
    count = 4                        # one per producer thread
    backpressure = "block"           # or "reject"

    [journal]
    dir = "journal"                  # relative to the config file
    fsync = "batch"                  # none | batch | every

    [risk.default_limits]
    max_order_qty = 1000             # lots

Every value is checked; a bad one raises ``ConfigError`` naming its key (``gateways.count``,
``instruments[1].tick_size``, ``risk.accounts.7.max_position``...). Unknown keys are errors too.
"""

from __future__ import annotations

import decimal
import importlib
import json
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any, Literal, cast

from wintermute import _core, errors
from wintermute.errors import ConfigError

__all__ = [
    "ConfigError",
    "EngineConfig",
    "GatewaysConfig",
    "InstrumentConfig",
    "JournalConfig",
    "LimitsConfig",
    "RiskConfig",
    "SubscriptionsConfig",
    "ThreadConfig",
    "WaitConfig",
]

WaitKind = Literal["busy_spin", "spin_then_yield", "park"]
Topology = Literal["merged", "split"]
Fsync = Literal["none", "batch", "every"]
JournalSync = Literal["inline", "background"]
Backpressure = Literal["block", "reject"]

_WAIT_KINDS: tuple[WaitKind, ...] = ("busy_spin", "spin_then_yield", "park")
_MAX_RING = 1 << 30
_U32 = (1 << 32) - 1
_I64 = (1 << 63) - 1


def _config_error(key: str, message: str) -> ConfigError:
    return ConfigError(f"config key {key}: {message}", reason="CONFIG", key=key)


@dataclass(frozen=True)
class WaitConfig:
    """What an idle thread does: spin, spin then yield (after ``spins``), or park (after
    ``spins`` spins and ``yields`` yields, at most ``timeout_us`` per park)."""

    kind: WaitKind
    spins: int = 100
    yields: int = 10
    timeout_us: int = 50


@dataclass(frozen=True)
class ThreadConfig:
    """An engine thread: its wait strategy, and the core to pin it to (None: not pinned)."""

    wait: WaitConfig
    core: int | None = None


@dataclass(frozen=True)
class InstrumentConfig:
    """An instrument, in exact decimal text (as ``Engine.add_instrument`` takes it)."""

    symbol: str
    tick_size: str
    lot_size: str
    min_qty: str
    max_qty: str
    min_price: str
    max_price: str


@dataclass(frozen=True)
class LimitsConfig:
    """Pre-trade limits of an account (None: no limit). Quantities in lots; notionals and
    exposures in notional units (``10^-notional_scale`` quote currency); the price band in
    ticks or basis points around the reference price; the order rate as a token bucket."""

    max_order_qty: int | None = None
    max_order_notional: int | None = None
    max_open_orders: int | None = None
    max_position: int | None = None
    max_gross_exposure: int | None = None
    max_net_exposure: int | None = None
    price_band_ticks: int | None = None
    price_band_bps: int | None = None
    order_rate_per_second: int | None = None
    order_rate_burst: int | None = None


@dataclass(frozen=True)
class RiskConfig:
    """Pre-trade risk. ``default_limits`` apply to accounts not in ``accounts`` (None, written
    ``reject_unknown_accounts = true`` in a file: their orders are rejected with
    ``UNKNOWN_ACCOUNT``); ``reference_prices`` (symbol -> decimal price) centre the price
    bands and value market orders."""

    notional_scale: int = 6
    default_limits: LimitsConfig | None = field(default_factory=LimitsConfig)
    accounts: dict[int, LimitsConfig] = field(default_factory=dict)
    reference_prices: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class JournalConfig:
    """The journal: directory, fsync policy (``batch``: every ``batch_records`` records or
    ``batch_interval_ms``), segment size, where flushes run (``inline`` on the matching
    thread, or ``background`` every ``sync_interval_ms``), and periodic snapshots of the books
    and the risk state (every ``snapshot_every_records`` journal records and/or every
    ``snapshot_every_ms``; None: only on request, ``Pipeline.snapshot()``), keeping the newest
    ``snapshot_keep`` files. A restart loads the newest valid snapshot and replays the rest.
    ``prune_segments``: after each snapshot, remove the journal segments behind the oldest
    snapshot kept (bounded disk use; off by default: the journal stays the whole history):
    deleted, or moved to ``archive_dir`` when it is set (relative paths as for ``dir``).
    ``prepare_segments``: a thread of the journal's own keeps the next segment ready (a roll
    costs the matching thread a rename); ``populate``: segments are faulted in before they are
    written (off by itself with ``sync = "background"``; see docs/runtime.md)."""

    dir: str
    fsync: Fsync = "batch"
    batch_records: int = 1000
    batch_interval_ms: int = 10
    segment_size: int = 64 << 20
    sync: JournalSync = "inline"
    sync_interval_ms: int = 10
    snapshot_every_records: int | None = None
    snapshot_every_ms: int | None = None
    snapshot_keep: int = 3
    prepare_segments: bool = True
    populate: bool = True
    prune_segments: bool = False
    archive_dir: str | None = None


@dataclass(frozen=True)
class GatewaysConfig:
    """The gateways: how many (one per producer thread), their ring capacity, and what a
    submit does on a full ring (``block``, waiting by ``wait``; or ``reject``)."""

    count: int
    capacity: int
    backpressure: Backpressure
    wait: WaitConfig


@dataclass(frozen=True)
class SubscriptionsConfig:
    """The subscriptions: how many, their ring capacity, and whether they take the book's
    level updates (``book_deltas = false``: an execution feed — order events and rejections,
    1.05 outputs per command instead of 2.88 on the exchange-core mix; one boolean for all, or
    a tuple of one per subscription). A full subscription ring holds the matching stage up:
    poll it."""

    count: int
    capacity: int
    book_deltas: bool | tuple[bool, ...] = True

    def takes_book_deltas(self, index: int) -> bool:
        """Whether subscription ``index`` takes the book's level updates."""
        if not 0 <= index < self.count:
            raise IndexError(f"subscription {index} of {self.count}")
        if isinstance(self.book_deltas, bool):
            return self.book_deltas
        return self.book_deltas[index]


@dataclass(frozen=True)
class EngineConfig:
    """Everything the threaded engine starts from. Build it with ``from_dict`` or
    ``from_file`` (defaults for the machine, every value checked)."""

    instruments: tuple[InstrumentConfig, ...]
    topology: Topology
    risk_thread: ThreadConfig
    matching_thread: ThreadConfig
    gateways: GatewaysConfig
    subscriptions: SubscriptionsConfig
    order_capacity: int
    stage_capacity: int
    batch: int
    stats_interval_ms: int
    risk: RiskConfig | None = None
    journal: JournalConfig | None = None
    #: The core count the defaults were chosen for.
    cores: int = 1

    @classmethod
    def from_dict(
        cls,
        data: Mapping[str, Any],
        *,
        cores: int | None = None,
        base_dir: str | PathLike[str] | None = None,
    ) -> EngineConfig:
        """Checks ``data`` and fills what it leaves out with the defaults for ``cores``
        cores (this machine's if None). A relative ``journal.dir`` is taken relative to
        ``base_dir`` (the current directory if None)."""
        return _parse(data, cores, Path(base_dir) if base_dir is not None else None)

    @classmethod
    def from_file(cls, path: str | PathLike[str], *, cores: int | None = None) -> EngineConfig:
        """Reads a ``.toml`` or ``.json`` file (by its suffix); a relative ``journal.dir`` is
        taken relative to the file's directory."""
        p = Path(path)
        if p.suffix.lower() not in (".toml", ".json"):
            raise _config_error("<file>", f"{p}: expected a .toml or .json file")
        try:
            text = p.read_text(encoding="utf-8")
        except OSError as e:
            raise _config_error("<file>", f"cannot read {p}: {e}") from e
        if p.suffix.lower() == ".toml":
            toml = importlib.import_module("tomllib" if sys.version_info >= (3, 11) else "tomli")
            try:
                data = toml.loads(text)
            except ValueError as e:  # tomllib.TOMLDecodeError is a ValueError
                raise _config_error("<file>", f"{p} is not valid TOML: {e}") from e
        else:
            try:
                data = json.loads(text)
            except ValueError as e:
                raise _config_error("<file>", f"{p} is not valid JSON: {e}") from e
        if not isinstance(data, dict):
            raise _config_error("<file>", f"{p}: expected a table at the top level")
        return _parse(data, cores, p.parent)

    def to_dict(self) -> dict[str, Any]:
        """The config as plain data, in the shape ``from_dict`` reads (JSON-able)."""
        d = asdict(self)
        d.pop("cores")
        d["instruments"] = list(d["instruments"])
        d["threads"] = {"risk": d.pop("risk_thread"), "matching": d.pop("matching_thread")}
        if self.journal is not None:
            d["journal"] = {k: v for k, v in d["journal"].items() if v is not None}
        if self.risk is not None:
            d["risk"]["accounts"] = {str(k): v for k, v in d["risk"]["accounts"].items()}
            if self.risk.default_limits is None:
                del d["risk"]["default_limits"]
                d["risk"]["reject_unknown_accounts"] = True
        return {k: v for k, v in d.items() if v is not None}

    def to_json(self) -> str:
        """The JSON document ``wintermute._core.Pipeline`` starts from."""
        d = asdict(self)
        d.pop("cores")
        if self.risk is not None:
            d["risk"]["accounts"] = [
                {"account": k, "limits": v} for k, v in d["risk"]["accounts"].items()
            ]
            d["risk"]["reference_prices"] = [
                {"instrument": k, "price": v} for k, v in d["risk"]["reference_prices"].items()
            ]
        return json.dumps(d)


# ---- parsing ------------------------------------------------------------------------------


class _Table:
    """A mapping read key by key: what is left at the end is an unknown key."""

    def __init__(self, data: Any, key: str) -> None:
        if not isinstance(data, Mapping):
            raise _config_error(key or "<top>", f"expected a table, got {type(data).__name__}")
        self.data = dict(data)
        self.key = key

    def path(self, name: str) -> str:
        return f"{self.key}.{name}" if self.key else name

    def take(self, name: str) -> Any:
        return self.data.pop(name, None)

    def done(self) -> None:
        for name in self.data:
            raise _config_error(self.path(str(name)), "unknown key")


def _int(value: Any, key: str, *, low: int = 0, high: int = _I64) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _config_error(key, f"expected an integer, got {value!r}")
    if not low <= value <= high:
        raise _config_error(key, f"{value} is out of range [{low}, {high}]")
    return value


def _bool(value: Any, key: str, default: bool) -> bool:
    if value is None:
        return default
    if not isinstance(value, bool):
        raise _config_error(key, f"expected true or false, got {value!r}")
    return value


def _book_deltas(value: Any, count: int, default: bool) -> bool | tuple[bool, ...]:
    key = "subscriptions.book_deltas"
    if not isinstance(value, list | tuple):
        return _bool(value, key, default)
    if len(value) != count:
        raise _config_error(
            key,
            f"{len(value)} values for count={count} subscriptions: give one per subscription, "
            "or one boolean",
        )
    for i, v in enumerate(value):
        if not isinstance(v, bool):
            raise _config_error(f"{key}[{i}]", f"expected true or false, got {v!r}")
    return tuple(value)


def _opt_int(value: Any, key: str, *, low: int = 0, high: int = _I64) -> int | None:
    return None if value is None else _int(value, key, low=low, high=high)


def _choice(value: Any, key: str, choices: tuple[str, ...]) -> str:
    if value not in choices:
        raise _config_error(key, f"expected one of {', '.join(choices)}, got {value!r}")
    return cast(str, value)


def _decimal(value: Any, key: str) -> str:
    if isinstance(value, bool | float):
        raise _config_error(
            key, f"floats are inexact: write the decimal as a string, got {value!r}"
        )
    if not isinstance(value, str | int | decimal.Decimal):
        raise _config_error(key, f"expected a decimal (string), got {value!r}")
    # Plain text: str() of a Decimal may use an exponent ("1E-8"), which the engine refuses.
    text = format(value, "f") if isinstance(value, decimal.Decimal) else str(value)
    try:
        ok = decimal.Decimal(text).is_finite()
    except decimal.InvalidOperation:
        ok = False
    if not ok:
        raise _config_error(key, f"{text!r} is not a decimal number")
    return text


def _wait(value: Any, key: str, default: WaitConfig) -> WaitConfig:
    if value is None:
        return default
    if isinstance(value, str):
        return WaitConfig(cast(WaitKind, _choice(value, key, _WAIT_KINDS)))
    t = _Table(value, key)
    kind = cast(WaitKind, _choice(t.take("kind"), t.path("kind"), _WAIT_KINDS))
    w = WaitConfig(kind)
    spins = _opt_int(t.take("spins"), t.path("spins"), high=_U32)
    yields = _opt_int(t.take("yields"), t.path("yields"), high=_U32)
    timeout = _opt_int(t.take("timeout_us"), t.path("timeout_us"), low=1, high=60_000_000)
    t.done()
    return WaitConfig(
        kind,
        w.spins if spins is None else spins,
        w.yields if yields is None else yields,
        w.timeout_us if timeout is None else timeout,
    )


def _wait_of(wire: Mapping[str, Any]) -> WaitConfig:
    return WaitConfig(wire["kind"], wire["spins"], wire["yields"], wire["timeout_us"])


def _thread(value: Any, key: str, default: Mapping[str, Any]) -> ThreadConfig:
    t = _Table(value if value is not None else {}, key)
    wait = _wait(t.take("wait"), t.path("wait"), _wait_of(default["wait"]))
    core = _opt_int(t.take("core"), t.path("core"), high=4095)
    t.done()
    return ThreadConfig(wait, core if core is not None else default["core"])


def _instrument(value: Any, key: str) -> InstrumentConfig:
    t = _Table(value, key)
    symbol = t.take("symbol")
    if not isinstance(symbol, str) or not symbol:
        raise _config_error(t.path("symbol"), f"expected a non-empty string, got {symbol!r}")
    names = ("tick_size", "lot_size", "min_qty", "max_qty", "min_price", "max_price")
    values = {}
    for name in names:
        raw = t.take(name)
        if raw is None:
            raise _config_error(t.path(name), "missing")
        values[name] = _decimal(raw, t.path(name))
    t.done()
    spec = InstrumentConfig(symbol, **values)
    # The engine's own check of the grid and limits (exact, in Rust).
    try:
        _core.Engine().add_instrument(symbol, **values)
    except errors.WintermuteError as e:
        raise _config_error(key, str(e)) from e
    return spec


def _limits(value: Any, key: str) -> LimitsConfig:
    t = _Table(value, key)
    names = [
        "max_order_qty",
        "max_order_notional",
        "max_open_orders",
        "max_position",
        "max_gross_exposure",
        "max_net_exposure",
        "price_band_ticks",
        "price_band_bps",
        "order_rate_per_second",
        "order_rate_burst",
    ]
    small = {"max_open_orders", "price_band_bps", "order_rate_per_second", "order_rate_burst"}
    got = {n: _opt_int(t.take(n), t.path(n), high=_U32 if n in small else _I64) for n in names}
    t.done()
    if got["price_band_ticks"] is not None and got["price_band_bps"] is not None:
        raise _config_error(
            t.path("price_band_bps"), "give price_band_ticks or price_band_bps, not both"
        )
    if got["order_rate_burst"] is not None and got["order_rate_per_second"] is None:
        raise _config_error(t.path("order_rate_burst"), "needs order_rate_per_second")
    return LimitsConfig(**got)


def limits_of(value: LimitsConfig | Mapping[str, Any], key: str = "limits") -> LimitsConfig:
    """Checked account limits from a ``LimitsConfig`` or a mapping in its shape (the keys of a
    ``[risk.accounts.N]`` table); a bad value raises ``ConfigError`` naming ``key.field``."""
    if isinstance(value, LimitsConfig):
        value = asdict(value)
    return _limits(value, key)


def _risk(value: Any, key: str, instruments: tuple[InstrumentConfig, ...]) -> RiskConfig:
    t = _Table(value, key)
    scale = _opt_int(t.take("notional_scale"), t.path("notional_scale"), high=18)
    reject_key = t.path("reject_unknown_accounts")
    reject = _bool(t.take("reject_unknown_accounts"), reject_key, False)
    raw_default = t.take("default_limits")
    if reject and raw_default is not None:
        raise _config_error(reject_key, "give default_limits or reject_unknown_accounts, not both")
    default = None if reject else _limits(raw_default or {}, t.path("default_limits"))
    accounts: dict[int, LimitsConfig] = {}
    raw_accounts = _Table(t.take("accounts") or {}, t.path("accounts"))
    for name, limits in raw_accounts.data.items():
        account_key = raw_accounts.path(str(name))
        try:
            account = int(name)
        except ValueError:
            raise _config_error(account_key, "an account id must be an integer") from None
        accounts[_int(account, account_key, high=_U32)] = _limits(limits, account_key)
    prices: dict[str, str] = {}
    raw_prices = _Table(t.take("reference_prices") or {}, t.path("reference_prices"))
    by_symbol = {i.symbol: i for i in instruments}
    for symbol, price in raw_prices.data.items():
        price_key = raw_prices.path(str(symbol))
        spec = by_symbol.get(str(symbol))
        if spec is None:
            raise _config_error(price_key, f"unknown instrument (known: {', '.join(by_symbol)})")
        text = _decimal(price, price_key)
        p, tick = decimal.Decimal(text), decimal.Decimal(spec.tick_size)
        if p % tick != 0 or not decimal.Decimal(spec.min_price) <= p <= decimal.Decimal(
            spec.max_price
        ):
            raise _config_error(
                price_key,
                f"{text} is not a price of {symbol} (tick {spec.tick_size}, "
                f"{spec.min_price}..{spec.max_price})",
            )
        prices[str(symbol)] = text
    t.done()
    return RiskConfig(6 if scale is None else scale, default, accounts, prices)


def _journal(value: Any, key: str, defaults: Mapping[str, Any], base: Path | None) -> JournalConfig:
    t = _Table(value, key)
    raw_dir = t.take("dir")
    if not isinstance(raw_dir, str) or not raw_dir:
        raise _config_error(t.path("dir"), f"expected a directory path, got {raw_dir!r}")

    def resolve(raw: str) -> Path:
        p = Path(raw).expanduser()
        return base / p if not p.is_absolute() and base is not None else p

    path = resolve(raw_dir)
    raw_archive = t.take("archive_dir")
    if raw_archive is not None and (not isinstance(raw_archive, str) or not raw_archive):
        raise _config_error(
            t.path("archive_dir"), f"expected a directory path, got {raw_archive!r}"
        )
    archive = None if raw_archive is None else resolve(raw_archive)

    def num(name: str, low: int, high: int) -> int:
        v = _opt_int(t.take(name), t.path(name), low=low, high=high)
        return cast(int, defaults[name]) if v is None else v

    fsync = t.take("fsync")
    sync = t.take("sync")
    j = JournalConfig(
        dir=str(path),
        fsync=cast(
            Fsync, _choice(fsync or defaults["fsync"], t.path("fsync"), ("none", "batch", "every"))
        ),
        batch_records=num("batch_records", 1, _U32),
        batch_interval_ms=num("batch_interval_ms", 1, 3_600_000),
        segment_size=num("segment_size", 4096, 1 << 40),
        sync=cast(
            JournalSync, _choice(sync or defaults["sync"], t.path("sync"), ("inline", "background"))
        ),
        sync_interval_ms=num("sync_interval_ms", 1, 3_600_000),
        snapshot_every_records=_opt_int(
            t.take("snapshot_every_records"), t.path("snapshot_every_records"), low=1
        ),
        snapshot_every_ms=_opt_int(
            t.take("snapshot_every_ms"), t.path("snapshot_every_ms"), low=1, high=86_400_000
        ),
        snapshot_keep=num("snapshot_keep", 1, 1_000_000),
        prepare_segments=_bool(
            t.take("prepare_segments"), t.path("prepare_segments"), defaults["prepare_segments"]
        ),
        populate=_bool(t.take("populate"), t.path("populate"), defaults["populate"]),
        prune_segments=_bool(
            t.take("prune_segments"), t.path("prune_segments"), defaults["prune_segments"]
        ),
        archive_dir=None if archive is None else str(archive),
    )
    if j.archive_dir is not None and not j.prune_segments:
        raise _config_error(
            t.path("archive_dir"), "needs prune_segments = true (only pruned segments go there)"
        )
    t.done()
    return j


def _parse(data: Mapping[str, Any], cores: int | None, base: Path | None) -> EngineConfig:
    if cores is not None:
        _int(cores, "cores", low=1, high=1 << 16)
    d = json.loads(_core.pipeline_defaults(cores))
    t = _Table(data, "")
    raw_instruments = t.take("instruments")
    if not isinstance(raw_instruments, list | tuple) or not raw_instruments:
        raise _config_error("instruments", "expected a non-empty list of instrument tables")
    instruments = tuple(_instrument(v, f"instruments[{i}]") for i, v in enumerate(raw_instruments))
    seen: set[str] = set()
    for i, spec in enumerate(instruments):
        if spec.symbol in seen:
            raise _config_error(f"instruments[{i}].symbol", f"duplicate symbol {spec.symbol!r}")
        seen.add(spec.symbol)

    def num(name: str, low: int, high: int) -> int:
        v = _opt_int(t.take(name), name, low=low, high=high)
        return cast(int, d[name]) if v is None else v

    topology = t.take("topology")
    topology = d["topology"] if topology in (None, "auto") else topology
    topology = cast(Topology, _choice(topology, "topology", ("auto", "merged", "split")))
    threads = _Table(t.take("threads") or {}, "threads")
    risk_thread = _thread(threads.take("risk"), "threads.risk", d["risk_thread"])
    matching_thread = _thread(threads.take("matching"), "threads.matching", d["matching_thread"])
    threads.done()

    g = _Table(t.take("gateways") or {}, "gateways")
    gd = d["gateways"]
    gateways = GatewaysConfig(
        count=_opt_int(g.take("count"), "gateways.count", low=1, high=65_536) or gd["count"],
        capacity=_opt_int(g.take("capacity"), "gateways.capacity", low=1, high=_MAX_RING)
        or gd["capacity"],
        backpressure=cast(
            Backpressure,
            _choice(
                g.take("backpressure") or gd["backpressure"],
                "gateways.backpressure",
                ("block", "reject"),
            ),
        ),
        wait=_wait(g.take("wait"), "gateways.wait", _wait_of(gd["wait"])),
    )
    g.done()
    s = _Table(t.take("subscriptions") or {}, "subscriptions")
    sd = d["subscriptions"]
    count = _opt_int(s.take("count"), "subscriptions.count", high=1024)
    sub_count = sd["count"] if count is None else count
    subscriptions = SubscriptionsConfig(
        count=sub_count,
        capacity=_opt_int(s.take("capacity"), "subscriptions.capacity", low=1, high=_MAX_RING)
        or sd["capacity"],
        book_deltas=_book_deltas(s.take("book_deltas"), sub_count, sd["book_deltas"]),
    )
    s.done()
    raw_risk = t.take("risk")
    risk = None if raw_risk is None else _risk(raw_risk, "risk", instruments)
    raw_journal = t.take("journal")
    journal = None if raw_journal is None else _journal(raw_journal, "journal", d["journal"], base)
    config = EngineConfig(
        instruments=instruments,
        topology=topology,
        risk_thread=risk_thread,
        matching_thread=matching_thread,
        gateways=gateways,
        subscriptions=subscriptions,
        order_capacity=num("order_capacity", 1, 1 << 32),
        stage_capacity=num("stage_capacity", 1, _MAX_RING),
        batch=num("batch", 1, 1 << 20),
        stats_interval_ms=num("stats_interval_ms", 1, 3_600_000),
        risk=risk,
        journal=journal,
        cores=d["cores"],
    )
    t.done()
    return config
