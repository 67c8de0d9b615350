"""API keys: loading from a file or the environment, lookups, and secrets kept out of reprs."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from wintermute.errors import ConfigError
from wintermute.service.keys import ENV_VAR, KeyStore, demo_keys

TOML = """
[[keys]]
key = "alpha-key-123"
account = 7
hmac_secret = "top-secret-hmac"

[[keys]]
key = "root-key-456"
account = 0
role = "admin"
"""


def test_keys_load_from_a_toml_file_with_accounts_and_roles(tmp_path: Path) -> None:
    path = tmp_path / "keys.toml"
    path.write_text(TOML)
    store = KeyStore.from_file(path)
    alpha, root = store.lookup("alpha-key-123"), store.lookup("root-key-456")
    assert alpha is not None
    assert root is not None
    assert (alpha.account, alpha.role, alpha.is_admin, alpha.hmac_secret) == (
        7, "trader", False, "top-secret-hmac",
    )  # fmt: skip
    assert (root.account, root.is_admin) == (0, True)
    assert store.lookup("alpha-key-12") is None
    assert store.lookup("") is None
    assert store.lookup(None) is None


def test_keys_load_from_the_environment_as_json_or_a_path(tmp_path: Path) -> None:
    doc = {"keys": [{"key": "env-key", "account": 3}]}
    store = KeyStore.from_env({ENV_VAR: json.dumps(doc)})
    assert store is not None
    assert store.lookup("env-key") is not None
    path = tmp_path / "k.json"
    path.write_text(json.dumps(doc))
    by_path = KeyStore.from_env({ENV_VAR: str(path)})
    assert by_path is not None
    assert len(by_path) == 1
    assert KeyStore.from_env({}) is None


@pytest.mark.parametrize(
    "doc",
    [
        {"keys": [{"key": "k1", "account": -1}]},
        {"keys": [{"key": "k1", "account": 1, "role": "root"}]},
        {"keys": [{"key": "k1", "account": 1, "extra": 1}]},
        {"keys": [{"key": "k1", "account": 1}, {"key": "k1", "account": 2}]},
        {"keys": "k1"},
    ],
)
def test_bad_key_documents_are_config_errors_without_the_secrets(doc: dict[str, object]) -> None:
    with pytest.raises(ConfigError) as e:
        KeyStore.from_document(doc)
    assert "k1" not in str(e.value)


def test_reprs_never_show_a_key_or_a_secret() -> None:
    store = demo_keys()
    key = store.lookup("demo-key-1")
    assert key is not None
    assert "demo-key-1" not in repr(key)
    assert "demo-secret" not in repr(key)
    assert "demo" not in repr(store)
