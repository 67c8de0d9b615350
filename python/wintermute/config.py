"""The threaded engine's configuration: ``EngineConfig``, from a dict, a TOML or a JSON file.

A config names the instruments and, optionally, everything else; what it leaves out gets the
defaults of the Rust ``PipelineConfig::for_cores`` for this machine. The schema is the
engine's (``wintermute_engine::pipeline::config::PipelineSettings`` in Rust): it checks the
document and fills the defaults, and the classes here are typed, read-only views of what it
resolved — a TOML file, a dict and the JSON the engine reads give the same config or the same
error::

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
``instruments[1].tick_size``, ``risk.accounts.7.max_position``...). Unknown keys are errors too::

    >>> EngineConfig.from_dict({"instruments": [], "gateways": {"count": 0}})
    Traceback (most recent call last):
    ...
    wintermute.errors.ConfigError: config key gateways.count: 0 is out of range [1, 65536]
"""

from __future__ import annotations

import dataclasses
import decimal
import importlib
import json
import os
import sys
from collections.abc import Mapping
from dataclasses import asdict, dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any, Literal

from wintermute import _core
from wintermute.errors import ConfigError

__all__ = [
    "WAIT_KINDS",
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
    "limits_json",
    "limits_of",
    "limits_of_engine",
    "read_document",
]

WaitKind = Literal["busy_spin", "spin_then_yield", "park"]
Topology = Literal["merged", "split"]
Fsync = Literal["none", "batch", "every"]
JournalSync = Literal["inline", "background"]
Backpressure = Literal["block", "reject"]

#: The wait strategies' names, as the config and ``wintermute bench pipeline --wait`` take them.
WAIT_KINDS: tuple[WaitKind, ...] = ("busy_spin", "spin_then_yield", "park")


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
    """An instrument, in exact decimal text (``Engine.add_instrument`` takes it as it is)."""

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
        base = None if base_dir is None else os.fspath(base_dir)
        used, resolved = _core.pipeline_config(_document(data), cores, base)
        return _view(json.loads(resolved), used)

    @classmethod
    def from_file(cls, path: str | PathLike[str], *, cores: int | None = None) -> EngineConfig:
        """Reads a ``.toml`` or ``.json`` file (by its suffix); a relative ``journal.dir`` is
        taken relative to the file's directory. The ``[service]`` table (the service's settings,
        ``wintermute serve``), the ``[audit]`` table (``wintermute.storage.audit_settings``)
        and the ``[market]`` table (``wintermute.market_settings``) are left out."""
        p = Path(path)
        data = read_document(p)
        # The service's and the audit trail's own tables share the file; the engine's schema
        # refuses unknown keys, so it never sees them.
        data.pop("service", None)
        data.pop("audit", None)
        data.pop("market", None)
        return cls.from_dict(data, cores=cores, base_dir=p.parent)

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
        """The JSON document ``wintermute._core.Pipeline`` starts from (``to_dict``: the
        engine reads it with the same schema)."""
        return json.dumps(self.to_dict())


def read_document(path: str | PathLike[str]) -> dict[str, Any]:
    """A ``.toml`` or ``.json`` file (by its suffix) as a dict: the one reader of config files
    (the engine's, the service's, the market maker's, API keys). Anything else, a file that
    cannot be read, bad syntax or a top level that is not a table is a ``ConfigError`` with
    the key ``<file>``."""
    p = Path(path)
    suffix = p.suffix.lower()
    if suffix not in (".toml", ".json"):
        raise _config_error("<file>", f"{p}: expected a .toml or .json file")
    try:
        text = p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise _config_error("<file>", f"cannot read {p}: {e}") from e
    if suffix == ".toml":
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
    return data


def _jsonable(value: Any) -> Any:
    """What ``json`` cannot write itself: exact decimals as text, paths, the dataclasses of
    this module (an ``InstrumentConfig`` in ``instruments``, a ``LimitsConfig``)."""
    if isinstance(value, decimal.Decimal):
        # Plain text: str() of a Decimal may use an exponent ("1E-8"), which the engine refuses.
        return format(value, "f")
    if isinstance(value, PathLike):
        return os.fspath(value)
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        return asdict(value)
    raise TypeError(f"{type(value).__name__} {value!r} is not config data")


def _document(data: Any) -> str:
    """``data`` as the JSON document the engine's schema reads."""
    if dataclasses.is_dataclass(data) and not isinstance(data, type):
        data = asdict(data)
    try:
        return json.dumps(data, default=_jsonable, allow_nan=False)
    except (TypeError, ValueError) as e:
        raise _config_error("<top>", str(e)) from e


def limits_json(limits: LimitsConfig | Mapping[str, Any]) -> str:
    """A ``LimitsConfig``, or a mapping in its shape, as the document the engine checks (see
    ``Pipeline.set_limits``)."""
    return _document(limits)


def limits_of(value: LimitsConfig | Mapping[str, Any], key: str = "limits") -> LimitsConfig:
    """Checked account limits from a ``LimitsConfig`` or a mapping in its shape (the keys of a
    ``[risk.accounts.N]`` table), as the engine enforces them (``order_rate_burst`` given when
    a rate is); a bad value raises ``ConfigError`` naming ``key.field``."""
    return LimitsConfig(**json.loads(_core.limits_config(_document(value), key)))


def limits_of_engine(limits: Mapping[str, Any], key: str = "limits") -> LimitsConfig:
    """Limits in the engine's own form (a journal control record's ``limits``, as ``wintermute
    journal`` exports them) as the ``LimitsConfig`` that sets them; a "no limit" value reads
    back as None."""
    return LimitsConfig(**json.loads(_core.limits_config_of_engine(_document(limits), key)))


# ---- views of the resolved document -------------------------------------------------------


def _wait(d: Mapping[str, Any]) -> WaitConfig:
    return WaitConfig(d["kind"], d["spins"], d["yields"], d["timeout_us"])


def _thread(d: Mapping[str, Any]) -> ThreadConfig:
    return ThreadConfig(_wait(d["wait"]), d["core"])


def _risk(d: Mapping[str, Any]) -> RiskConfig:
    default = d.get("default_limits")
    return RiskConfig(
        notional_scale=d["notional_scale"],
        default_limits=None if d["reject_unknown_accounts"] else LimitsConfig(**default or {}),
        accounts={int(k): LimitsConfig(**v) for k, v in d["accounts"].items()},
        reference_prices=dict(d["reference_prices"]),
    )


def _view(d: Mapping[str, Any], cores: int) -> EngineConfig:
    """The typed view of a document the engine resolved (every key present)."""
    s = d["subscriptions"]
    deltas = s["book_deltas"]
    g = d["gateways"]
    return EngineConfig(
        instruments=tuple(InstrumentConfig(**i) for i in d["instruments"]),
        topology=d["topology"],
        risk_thread=_thread(d["threads"]["risk"]),
        matching_thread=_thread(d["threads"]["matching"]),
        gateways=GatewaysConfig(g["count"], g["capacity"], g["backpressure"], _wait(g["wait"])),
        subscriptions=SubscriptionsConfig(
            s["count"], s["capacity"], deltas if isinstance(deltas, bool) else tuple(deltas)
        ),
        order_capacity=d["order_capacity"],
        stage_capacity=d["stage_capacity"],
        batch=d["batch"],
        stats_interval_ms=d["stats_interval_ms"],
        risk=None if d.get("risk") is None else _risk(d["risk"]),
        journal=None if d.get("journal") is None else JournalConfig(**d["journal"]),
        cores=cores,
    )
