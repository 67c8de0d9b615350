"""scripts/check_bindings.py: a binding body longer than the limit fails the check."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parent.parent
SCRIPT = ROOT / "scripts" / "check_bindings.py"


def _load() -> ModuleType:
    spec = importlib.util.spec_from_file_location("check_bindings", SCRIPT)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules["check_bindings"] = module
    spec.loader.exec_module(module)
    return module


check_bindings = _load()

SHORT = """
#[pyfunction]
fn short(py: Python<'_>, path: &str) -> Result<String> {
    // A comment line does not count.
    let report = py.detach(|| verify(path))?;

    Ok(report.to_json())
}
"""

LONG_METHOD = """
#[pyclass]
struct PyThing;

#[pymethods]
impl PyThing {
    fn fine(&self) -> u32 {
        1
    }

    /// Braces in strings and chars do not confuse it: "{" '{' '}'
    fn busy<'py>(&self, py: Python<'py>) -> u64 {
        let text = "}}}} not a brace {";
        let brace = '}';
        let mut total = 0;
        for i in 0..10 {
            total += i;
        }
        if total > 3 {
            total -= 1;
        }
        while total > 100 {
            total /= 2;
        }
        let _ = (text, brace);
        total
    }
}
"""


def _tree(tmp_path: Path, files: dict[str, str]) -> Path:
    src = tmp_path / "crates" / "python" / "src"
    src.mkdir(parents=True)
    for name, text in files.items():
        (src / name).write_text(text)
    return tmp_path


def _run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(SCRIPT), "--root", str(root), *args],
        capture_output=True,
        text=True,
        check=False,
    )


def test_a_short_binding_passes(tmp_path: Path) -> None:
    result = _run(_tree(tmp_path, {"feeds.rs": SHORT}))
    assert result.returncode == 0, result.stderr


def test_a_long_method_body_fails_and_is_named(tmp_path: Path) -> None:
    result = _run(_tree(tmp_path, {"thing.rs": SHORT + LONG_METHOD}))
    assert result.returncode == 1
    assert "fn busy: binding body is 14 lines (limit 12)" in result.stderr
    assert "fn fine" not in result.stderr
    assert "fn short" not in result.stderr


def test_the_limit_is_a_parameter(tmp_path: Path) -> None:
    root = _tree(tmp_path, {"thing.rs": LONG_METHOD})
    assert _run(root, "--limit", "14").returncode == 0
    assert _run(root, "--limit", "2").returncode == 1


def test_body_sizes_skip_blank_and_comment_lines(tmp_path: Path) -> None:
    path = _tree(tmp_path, {"feeds.rs": SHORT}) / "crates" / "python" / "src" / "feeds.rs"
    [body] = check_bindings.bodies(path)
    assert (body.name, body.lines) == ("short", 2)


def test_an_allowed_body_passes_and_a_stale_allowance_fails(tmp_path: Path) -> None:
    src = _tree(tmp_path, {"thing.rs": LONG_METHOD}) / "crates" / "python" / "src"
    assert check_bindings.check(src, 12, {"thing::busy": "a reason"}) == []
    stale = check_bindings.check(src, 12, {"thing::busy": "a reason", "thing::gone": "moved"})
    assert stale == ["check_bindings.py: ALLOWED['thing::gone'] is not needed any more: remove it"]


def test_the_tree_passes() -> None:
    result = _run(ROOT)
    assert result.returncode == 0, result.stderr
