"""The ``[audit]`` table of a config file: where the audit trail goes and how the compliance
monitors are set.

The engine's schema refuses unknown keys, so ``EngineConfig.from_file`` and the service's
``split_config`` take this table out before the engine sees the document (as they do with
``[service]``). Every key has a default, so a file without ``[audit]`` works too::

    [audit]
    enabled = true               # wintermute serve keeps an audit trail (default: true)
    store = "postgresql://postgres@127.0.0.1/audit"   # default: SQLite in the run directory
    run_dir = "runs"             # default: a new wintermute-* directory in the temp dir
    follow = true                # false: another process (wintermute audit follow) writes
                                 # the store; the service only reads it
    connections = 2              # PostgreSQL: batches written on this many connections at
                                 # once (1 to 32; default 2); SQLite keeps one

    [audit.monitors]             # the compliance monitors (wintermute.storage.monitors)
    enabled = true
    max_order_to_trade = 20
    max_cancel_rate = 0.95
    max_stp_hits = 10
    min_orders = 100
    price_band_bps = 500         # false: no price-band rule
    checkpoint_every = 1000      # the stored state is written whole (its changed entries
                                 # folded in) at least every this many batches (0: never)

    [audit.monitors.account_groups]   # related accounts, for the wash-trade rule
    desk-a = [1, 2]
    desk-b = [7, 8, 9]

::

    >>> from wintermute.storage.audit_settings import AuditSettings
    >>> s = AuditSettings.from_dict({"monitors": {"min_orders": 5,
    ...                              "account_groups": {"desk-a": [1, 2]}}})
    >>> s.thresholds.min_orders, s.account_groups
    (5, {'desk-a': (1, 2)})
    >>> s.monitor().account_groups
    {'desk-a': (1, 2)}
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from wintermute.errors import ConfigError
from wintermute.storage.monitor_checkpoints import DEFAULT_EVERY, checkpoint_every
from wintermute.storage.monitors import ComplianceMonitor, Thresholds
from wintermute.storage.schema import MAX_CONNECTIONS

__all__ = ["AuditSettings"]

_THRESHOLD_TYPES = frozenset(f.name for f in fields(Thresholds))


def _error(key: str, message: str) -> ConfigError:
    return ConfigError(f"config key audit.{key}: {message}", reason="CONFIG", key=key)


def _bool(data: Mapping[str, Any], key: str, where: str, default: bool) -> bool:
    value = data.get(key, default)
    if not isinstance(value, bool):
        raise _error(f"{where}{key}", "expected true or false")
    return value


def _number(value: Any, key: str, integer: bool) -> float | int:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise _error(f"monitors.{key}", f"{value!r} is not a number")
    if integer and not isinstance(value, int):
        raise _error(f"monitors.{key}", f"{value!r} is not an integer")
    return value


def _groups(value: Any) -> dict[str, tuple[int, ...]]:
    if not isinstance(value, Mapping):
        raise _error("monitors.account_groups", "expected a table of group = [accounts]")
    out: dict[str, tuple[int, ...]] = {}
    for name, members in value.items():
        if not isinstance(members, list) or not all(
            isinstance(a, int) and not isinstance(a, bool) and 0 <= a < 2**32 for a in members
        ):
            raise _error(f"monitors.account_groups.{name}", "expected a list of account numbers")
        out[str(name)] = tuple(members)
    return out


@dataclass(frozen=True)
class AuditSettings:
    """Everything read from ``[audit]`` (see the module documentation)."""

    enabled: bool = True
    store: str | None = None
    run_dir: str | None = None
    follow: bool = True
    #: PostgreSQL: how many connections the audit writer writes batches on at once.
    connections: int = 2
    monitors: bool = True
    thresholds: Thresholds = field(default_factory=Thresholds)
    account_groups: dict[str, tuple[int, ...]] = field(default_factory=dict)
    #: Batches between two whole states of the monitors in the store (0: never).
    checkpoint_every: int = DEFAULT_EVERY
    #: Whether the document had an ``[audit.monitors]`` table (``audit follow`` then runs
    #: the monitors without ``--monitor``).
    monitors_configured: bool = False

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> AuditSettings:
        """Checked settings from an ``[audit]`` table; unknown keys are errors."""
        if not isinstance(data, Mapping):
            raise _error("", "expected an [audit] table")
        for key in data:
            if key not in ("enabled", "store", "run_dir", "follow", "connections", "monitors"):
                raise _error(str(key), "unknown key")
        kw: dict[str, Any] = {
            "enabled": _bool(data, "enabled", "", True),
            "follow": _bool(data, "follow", "", True),
        }
        if "connections" in data:
            kw["connections"] = _connections(data["connections"])
        for key in ("store", "run_dir"):
            if key in data:
                if not isinstance(data[key], str) or not data[key]:
                    raise _error(key, "expected a non-empty string")
                kw[key] = data[key]
        monitors = data.get("monitors")
        if monitors is not None:
            kw.update(_monitors(monitors), monitors_configured=True)
        return cls(**kw)

    @classmethod
    def of_document(cls, document: Mapping[str, Any]) -> AuditSettings:
        """The settings of a whole config document (defaults without an ``[audit]``)."""
        return cls.from_dict(document.get("audit", {}))

    def monitor(self) -> ComplianceMonitor | None:
        """A fresh monitor with these thresholds and groups (None: monitors off)."""
        if not self.monitors:
            return None
        return ComplianceMonitor(self.thresholds, account_groups=dict(self.account_groups))


def _connections(value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 1 <= value <= MAX_CONNECTIONS:
        raise _error("connections", f"{value!r} is not an integer from 1 to {MAX_CONNECTIONS}")
    return value


def _monitors(table: Any) -> dict[str, Any]:
    if not isinstance(table, Mapping):
        raise _error("monitors", "expected an [audit.monitors] table")
    known = {"enabled", "account_groups", "checkpoint_every", *_THRESHOLD_TYPES}
    for key in table:
        if key not in known:
            raise _error(f"monitors.{key}", "unknown key")
    kw: dict[str, Any] = {}
    for key, value in table.items():
        if key == "price_band_bps" and value is False:
            kw[key] = None
        elif key in _THRESHOLD_TYPES:
            kw[key] = _number(value, key, key in ("max_stp_hits", "min_orders"))
    try:
        thresholds = Thresholds(**kw)
    except ValueError as e:
        raise _error("monitors", str(e)) from None
    groups = _groups(table.get("account_groups", {}))
    try:
        ComplianceMonitor(thresholds, account_groups=groups)
    except ValueError as e:
        raise _error("monitors.account_groups", str(e)) from None
    try:
        every = checkpoint_every(table.get("checkpoint_every", DEFAULT_EVERY))
    except ValueError as e:
        raise _error("monitors.checkpoint_every", str(e).split(": ", 1)[1]) from None
    return {
        "monitors": _bool(table, "enabled", "monitors.", True),
        "thresholds": thresholds,
        "account_groups": groups,
        "checkpoint_every": every,
    }
