"""scripts/check_structure.py on small crates written for each test: it fails on a module
cycle and on an overlong file without a written reason, and passes once they are gone."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parent.parent / "scripts" / "check_structure.py"


def write_crate(root: Path, files: dict[str, str], crate: str = "demo") -> Path:
    for name, text in files.items():
        path = root / "crates" / crate / "src" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text, encoding="utf-8")
    return root


def run(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), str(root)], capture_output=True, text=True, check=False
    )


def test_a_crate_without_cycles_or_long_files_passes(tmp_path: Path) -> None:
    write_crate(
        tmp_path,
        {
            "lib.rs": "pub mod wait;\npub mod message;\npub mod stage;\n",
            "wait.rs": "pub struct Waker;\n",
            "message.rs": "use crate::wait::Waker;\npub struct Reply(pub Waker);\n",
            "stage.rs": "use crate::message::Reply;\nuse super::wait;\n"
            "pub fn run(r: Reply) -> wait::Waker { r.0 }\n",
        },
    )
    result = run(tmp_path)
    assert result.returncode == 0, result.stderr
    assert "module cycles: ok" in result.stdout
    assert "file length: ok" in result.stdout


def test_two_modules_that_use_each_other_fail_and_are_named(tmp_path: Path) -> None:
    write_crate(
        tmp_path,
        {
            "lib.rs": "mod journal;\nmod risk;\n",
            "journal.rs": "use crate::risk::Limits;\npub enum ControlRecord { Set(Limits) }\n",
            "risk.rs": "pub struct Limits;\npub fn apply(c: &crate::journal::ControlRecord) {}\n",
        },
    )
    result = run(tmp_path)
    assert result.returncode == 1
    assert "module cycle in demo (lib.rs): crate::journal -> crate::risk -> crate::journal" in (
        result.stderr
    )
    assert "crates/demo/src/risk.rs:2" in result.stderr


def test_a_cycle_through_three_modules_is_found(tmp_path: Path) -> None:
    write_crate(
        tmp_path,
        {
            "lib.rs": "mod a;\nmod b;\nmod c;\n",
            "a.rs": "use crate::b::B;\npub struct A;\n",
            "b.rs": "use super::c::C;\npub struct B;\n",
            "c.rs": "pub struct C;\nfn f() -> crate::a::A { crate::a::A }\n",
        },
    )
    result = run(tmp_path)
    assert result.returncode == 1
    assert "crate::a -> crate::b -> crate::c -> crate::a" in result.stderr


def test_a_parent_that_only_reexports_its_children_is_no_cycle(tmp_path: Path) -> None:
    write_crate(
        tmp_path,
        {
            "lib.rs": "pub mod journal;\n",
            "journal.rs": "//! The journal.\nmod error;\nmod writer;\n"
            "pub use error::JournalError;\npub use writer::Journal;\n",
            "journal/error.rs": "pub enum JournalError { Io }\n",
            "journal/writer.rs": "use super::JournalError;\npub struct Journal;\n"
            "impl Journal { pub fn f() -> Result<(), JournalError> { Ok(()) } }\n",
        },
    )
    result = run(tmp_path)
    assert result.returncode == 0, result.stderr


def test_a_parent_whose_code_uses_a_child_that_uses_the_parent_is_a_cycle(tmp_path: Path) -> None:
    write_crate(
        tmp_path,
        {
            "lib.rs": "pub mod journal;\n",
            "journal.rs": "mod writer;\npub use writer::Journal;\n"
            "pub enum JournalError { Io }\n"
            "pub fn open() -> Journal { Journal }\n",
            "journal/writer.rs": "use super::JournalError;\npub struct Journal;\n",
        },
    )
    result = run(tmp_path)
    assert result.returncode == 1
    assert "crate::journal -> crate::journal::writer -> crate::journal" in result.stderr


def test_modules_whose_files_below_them_use_each_other_are_a_cycle(tmp_path: Path) -> None:
    write_crate(
        tmp_path,
        {
            "lib.rs": "pub mod journal;\npub mod risk;\n",
            "journal.rs": "pub mod control;\n",
            "journal/control.rs": "use crate::risk::limits::Limits;\npub struct Control(Limits);\n",
            "risk.rs": "pub mod limits;\nuse crate::journal::control::Control;\n"
            "pub fn apply(_: Control) {}\n",
            "risk/limits.rs": "pub struct Limits;\n",
        },
    )
    result = run(tmp_path)
    assert result.returncode == 1
    assert "module cycle between subtrees in demo (lib.rs): crate::journal -> crate::risk" in (
        result.stderr
    )


def test_comments_strings_tests_of_a_file_and_external_crates_are_no_dependency(
    tmp_path: Path,
) -> None:
    write_crate(
        tmp_path,
        {
            "lib.rs": "mod a;\nmod b;\n",
            "a.rs": "//! See [`crate::b::B`].\n/* crate::b::B */\n"
            'pub const S: &str = "crate::b::B";\npub struct A;\n'
            "use std::fmt;\nuse other_crate::b::B;\n"
            "#[cfg(test)]\nmod tests {\n    use super::*;\n    use crate::a::A;\n}\n",
            "b.rs": "use crate::a::A;\npub struct B(A);\n",
        },
    )
    result = run(tmp_path)
    assert result.returncode == 0, result.stderr


def test_a_path_attribute_and_mod_rs_files_are_followed(tmp_path: Path) -> None:
    write_crate(
        tmp_path,
        {
            "lib.rs": "mod net;\n",
            "net/mod.rs": 'mod client;\n#[cfg(test)]\n#[path = "net_tests.rs"]\nmod tests;\n'
            "pub struct Net;\n",
            "net/client.rs": "use super::tests::T;\n",
            "net/net_tests.rs": "use super::client;\npub struct T;\n",
        },
    )
    result = run(tmp_path)
    assert result.returncode == 1
    assert "crate::net::client -> crate::net::tests -> crate::net::client" in result.stderr


@pytest.mark.parametrize(
    ("head", "fails"),
    [
        ("//! A module.\n", True),
        ("//! A module.\n//! Length: one state machine; its arms read best side by side.\n", False),
        ("//! Length:\n", True),  # a mark without a reason is no reason
        ("\n" * 12 + "//! Length: too far down to be seen.\n", True),
    ],
)
def test_a_file_over_800_lines_needs_a_written_reason_at_its_top(
    tmp_path: Path, head: str, fails: bool
) -> None:
    body = "pub fn f() {}\n" * 801
    write_crate(tmp_path, {"lib.rs": "mod big;\n", "big.rs": head + body})
    result = run(tmp_path)
    assert (result.returncode == 1) == fails, result.stderr
    if fails:
        assert "crates/demo/src/big.rs" in result.stderr
        assert "over 800" in result.stderr


def test_a_file_of_exactly_800_lines_passes(tmp_path: Path) -> None:
    write_crate(tmp_path, {"lib.rs": "mod big;\n", "big.rs": "pub fn f() {}\n" * 800})
    assert run(tmp_path).returncode == 0
