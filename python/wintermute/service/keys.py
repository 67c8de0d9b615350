"""API keys: each scoped to one account, with a role (``trader``, or ``admin`` for risk limits
and the kill switch).

Keys come from a TOML or JSON file, or from the ``WINTERMUTE_API_KEYS`` environment variable
(the same JSON document, or the file's path). A file lists keys as::

    [[keys]]
    key = "trader-1-key"
    account = 1
    role = "trader"                      # default
    hmac_secret = "..."                  # optional: for the Binance-compatible signed API
    # ed25519_public_key = "-----BEGIN PUBLIC KEY-----..."

>>> from wintermute.service.keys import KeyStore
>>> store = KeyStore.from_document({"keys": [{"key": "k1", "account": 7, "hmac_secret": "s"}]})
>>> store.lookup("k1")
ApiKey(key='k1…', account=7, role='trader')
>>> store.lookup("nope") is None
True

Secrets never appear in a ``repr``, a log line or an error message: ``ApiKey``'s ``repr``
shows two characters of the key and none of its secrets.
"""

from __future__ import annotations

import hmac
import json
import os
from collections.abc import Mapping
from dataclasses import dataclass, field
from os import PathLike
from pathlib import Path
from typing import Any, Literal

from wintermute.config import read_document
from wintermute.errors import ConfigError

__all__ = ["ENV_VAR", "ApiKey", "KeyStore", "demo_keys"]

#: The environment variable that can hold the keys (a JSON document, or a file path).
ENV_VAR = "WINTERMUTE_API_KEYS"

Role = Literal["trader", "admin"]


def _error(message: str) -> ConfigError:
    return ConfigError(f"API keys: {message}", reason="CONFIG", key="keys")


@dataclass(frozen=True)
class ApiKey:
    """One API key: the account it trades for, its role, and optional signing secrets."""

    key: str = field(repr=False)
    account: int
    role: Role = "trader"
    hmac_secret: str | None = field(default=None, repr=False)
    ed25519_public_key: str | None = field(default=None, repr=False)

    @property
    def is_admin(self) -> bool:
        """True for the admin role."""
        return self.role == "admin"

    def __repr__(self) -> str:
        return f"ApiKey(key='{self.key[:2]}…', account={self.account}, role={self.role!r})"


class KeyStore:
    """The keys, by key text; ``lookup`` compares in constant time per candidate."""

    def __init__(self, keys: list[ApiKey]) -> None:
        self._keys: dict[str, ApiKey] = {}
        for k in keys:
            if k.key in self._keys:
                raise _error(f"a key is listed twice (account={k.account})")
            self._keys[k.key] = k

    def lookup(self, key: str | None) -> ApiKey | None:
        """The key's record, or None for a missing or unknown key."""
        if not key:
            return None
        found = self._keys.get(key)
        if found is None or not hmac.compare_digest(found.key.encode(), key.encode()):
            return None
        return found

    def __len__(self) -> int:
        return len(self._keys)

    def entries(self) -> list[ApiKey]:
        """Every key (for the Rust order entry listener, which checks them itself)."""
        return list(self._keys.values())

    def __repr__(self) -> str:
        return f"<KeyStore keys={len(self._keys)}>"

    @classmethod
    def from_document(cls, data: Mapping[str, Any]) -> KeyStore:
        """Keys from ``{"keys": [{"key": ..., "account": ..., "role": ...}, ...]}``."""
        entries = data.get("keys")
        if not isinstance(entries, list):
            raise _error("expected a list under 'keys'")
        keys = []
        for i, e in enumerate(entries):
            if not isinstance(e, Mapping):
                raise _error(f"keys[{i}] is not a table")
            unknown = set(e) - {"key", "account", "role", "hmac_secret", "ed25519_public_key"}
            if unknown:
                raise _error(f"keys[{i}]: unknown fields {sorted(unknown)}")
            key, account, role = e.get("key"), e.get("account"), e.get("role", "trader")
            if not isinstance(key, str) or len(key) < 2:
                raise _error(f"keys[{i}].key must be a string of 2 or more characters")
            if isinstance(account, bool) or not isinstance(account, int) or account < 0:
                raise _error(f"keys[{i}].account must be a non-negative integer")
            if role not in ("trader", "admin"):
                raise _error(f"keys[{i}].role must be trader or admin")
            for opt in ("hmac_secret", "ed25519_public_key"):
                if e.get(opt) is not None and not isinstance(e[opt], str):
                    raise _error(f"keys[{i}].{opt} must be a string")
            keys.append(
                ApiKey(key, account, role, e.get("hmac_secret"), e.get("ed25519_public_key"))
            )
        return cls(keys)

    @classmethod
    def from_file(cls, path: str | PathLike[str]) -> KeyStore:
        """Keys from a ``.toml`` or ``.json`` file."""
        return cls.from_document(read_document(path))

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> KeyStore | None:
        """Keys from ``WINTERMUTE_API_KEYS`` (JSON text, or a file path), or None if unset."""
        value = (os.environ if environ is None else environ).get(ENV_VAR, "").strip()
        if not value:
            return None
        if value.startswith("{"):
            try:
                data = json.loads(value)
            except ValueError:
                raise _error(f"{ENV_VAR} is not valid JSON") from None
            if not isinstance(data, dict):
                raise _error(f"{ENV_VAR}: expected a JSON object")
            return cls.from_document(data)
        if not Path(value).is_file():
            raise _error(f"{ENV_VAR} is neither JSON nor the path of a file")
        return cls.from_file(value)

    @classmethod
    def load(cls, path: str | PathLike[str] | None = None) -> KeyStore:
        """The keys from ``path`` if given, else from the environment, else none at all (then
        every authenticated request is refused)."""
        if path is not None:
            return cls.from_file(path)
        return cls.from_env() or cls([])


def demo_keys(accounts: int = 3) -> KeyStore:
    """Well-known keys for the demo and the tests: ``demo-key-<n>`` trades for account
    ``n`` (1..accounts), ``demo-admin-key`` is the admin (account 0)."""
    keys = [
        ApiKey(f"demo-key-{n}", n, "trader", f"demo-secret-{n}") for n in range(1, accounts + 1)
    ]
    keys.append(ApiKey("demo-admin-key", 0, "admin"))
    return KeyStore(keys)
