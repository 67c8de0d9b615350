"""The documented examples are tests.

Every docstring example in the package runs under doctest, and every fenced code block of
README.md and docs/*.md that is marked as code runs here:

- a `` ```python `` block runs in a fresh interpreter, in an empty temporary directory (so files
  an example writes go nowhere), and must exit 0;
- a `` ```python continued `` block runs after the blocks before it in the same file, in the
  same interpreter (for an example that goes on from the one above it);
- a `` ```python no-run `` block is not run; it must have its reason in an HTML comment on the
  line above the fence (``<!-- no-run: needs the internet -->``), and is still compiled (a
  syntax error fails);
- a `` ```sh test `` block's lines are run one by one as commands from the repository root
  (``wintermute`` is the venv's console script) and must exit 0. Other shell blocks (long runs,
  servers, live connections) are documentation only.

Markdown's renderers use the first word of a fence's info string for highlighting, so the
markers do not show.
"""

from __future__ import annotations

import doctest
import importlib
import os
import re
import shlex
import subprocess
import sys
from dataclasses import dataclass
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
DOC_FILES = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
TIMEOUT_S = 120

MODULES = [
    "wintermute",
    "wintermute.engine",
    "wintermute.batch",
    "wintermute.journal",
    "wintermute.feeds",
    "wintermute.market_settings",
    "wintermute.cli_args",
    "wintermute.service.app",
    "wintermute.service.external_market",
    "wintermute.service.keys",
    "wintermute.service.logs",
    "wintermute.service.order_flow",
    "wintermute.service.settings",
    "wintermute.service.topics",
    "wintermute.service.venue",
    "wintermute.service.web_ui",
    "wintermute.service.ws.levels",
    "wintermute.service.ws.messages",
    "wintermute.service.ws.protocol",
    "wintermute.storage.audit_settings",
    "wintermute.storage.market_history",
    "wintermute.storage.monitors",
    "wintermute.storage.queries",
    "wintermute.storage.store",
]

_FENCE = re.compile(r"^```(\S*)[ \t]*(.*)$")
_NO_RUN_REASON = re.compile(r"^<!--\s*no-run:\s*(.+?)\s*-->$")


@dataclass(frozen=True)
class Block:
    """One fenced code block: where it is, its language and markers, its text."""

    path: Path
    line: int  # 1-based line of the opening fence
    lang: str
    markers: tuple[str, ...]
    text: str
    reason: str | None  # from `<!-- no-run: ... -->` right above the fence

    @property
    def name(self) -> str:
        shown = self.path.relative_to(ROOT) if self.path.is_relative_to(ROOT) else self.path.name
        return f"{shown}:{self.line}"


def blocks(path: Path) -> list[Block]:
    """The fenced code blocks of a markdown file, in order."""
    found: list[Block] = []
    lines = path.read_text().splitlines()
    i = 0
    while i < len(lines):
        m = _FENCE.match(lines[i])
        if not m:
            i += 1
            continue
        start = i
        body: list[str] = []
        i += 1
        while i < len(lines) and lines[i] != "```":
            body.append(lines[i])
            i += 1
        if i == len(lines):
            raise ValueError(f"{path}:{start + 1}: a code fence is never closed")
        i += 1
        above = lines[start - 1].strip() if start > 0 else ""
        reason = _NO_RUN_REASON.match(above)
        found.append(
            Block(
                path=path,
                line=start + 1,
                lang=m.group(1),
                markers=tuple(m.group(2).split()),
                text="\n".join(body) + "\n",
                reason=reason.group(1) if reason else None,
            )
        )
    return found


def python_programs(path: Path) -> tuple[list[tuple[Block, str]], list[Block]]:
    """The runnable programs of a file (a block plus the `continued` blocks it starts) and its
    `no-run` blocks. A marker this test does not know is an error, not a silent skip."""
    programs: list[tuple[Block, str]] = []
    skipped: list[Block] = []
    for block in blocks(path):
        if block.lang != "python":
            continue
        unknown = set(block.markers) - {"no-run", "continued"}
        if unknown:
            raise ValueError(f"{block.name}: unknown marker(s) {sorted(unknown)}")
        if "no-run" in block.markers:
            skipped.append(block)
        elif "continued" in block.markers:
            if not programs:
                raise ValueError(f"{block.name}: `continued` but no runnable block before it")
            first, text = programs[-1]
            programs[-1] = (first, text + f"# --- {block.name}\n" + block.text)
        else:
            programs.append((block, f"# --- {block.name}\n" + block.text))
    return programs, skipped


def shell_commands(path: Path) -> list[tuple[Block, str]]:
    return [
        (block, line.strip())
        for block in blocks(path)
        if block.lang in ("sh", "bash", "console") and "test" in block.markers
        for line in block.text.splitlines()
        if line.strip() and not line.lstrip().startswith("#")
    ]


def run_python(source: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONDONTWRITEBYTECODE": "1"}
    return subprocess.run(
        [sys.executable, "-c", source],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def run_shell(command: str) -> subprocess.CompletedProcess[str]:
    argv = shlex.split(command)
    if argv and argv[0] in ("wintermute", ".venv/bin/wintermute"):
        argv[0] = str(Path(sys.executable).with_name("wintermute"))
    return subprocess.run(
        argv, cwd=ROOT, capture_output=True, text=True, timeout=TIMEOUT_S, check=False
    )


def _collect() -> tuple[list[tuple[Block, str]], list[Block], list[tuple[Block, str]]]:
    programs: list[tuple[Block, str]] = []
    skipped: list[Block] = []
    commands: list[tuple[Block, str]] = []
    for path in DOC_FILES:
        p, s = python_programs(path)
        programs += p
        skipped += s
        commands += shell_commands(path)
    return programs, skipped, commands


PROGRAMS, NO_RUN, COMMANDS = _collect()


@pytest.mark.parametrize("name", MODULES)
def test_docstring_examples(name: str) -> None:
    module = importlib.import_module(name)
    result = doctest.testmod(module, optionflags=doctest.ELLIPSIS | doctest.NORMALIZE_WHITESPACE)
    assert result.attempted > 0, f"{name} has no examples"
    assert result.failed == 0


@pytest.mark.parametrize(("block", "source"), PROGRAMS, ids=[b.name for b, _ in PROGRAMS])
def test_python_example_runs(block: Block, source: str, tmp_path: Path) -> None:
    result = run_python(source, tmp_path)
    assert result.returncode == 0, f"{block.name} failed:\n{result.stderr[-4000:]}"


@pytest.mark.parametrize("block", NO_RUN, ids=[b.name for b in NO_RUN])
def test_python_example_not_run_says_why_and_compiles(block: Block) -> None:
    # Not run (its reason is written beside it in the page), but still valid Python: a pass, not
    # a skip, so that CI's "no skips" rule holds.
    assert block.reason, f"{block.name}: a `no-run` block needs `<!-- no-run: reason -->` above it"
    compile(block.text, block.name, "exec")


@pytest.mark.parametrize(("block", "command"), COMMANDS, ids=[f"{b.name} {c}" for b, c in COMMANDS])
def test_shell_example_runs(block: Block, command: str) -> None:
    result = run_shell(command)
    assert result.returncode == 0, (
        f"{block.name}: `{command}` exited {result.returncode}:\n{result.stderr[-4000:]}"
    )


def test_the_docs_have_examples_and_the_quick_start_comes_first() -> None:
    assert len(PROGRAMS) >= 5
    assert COMMANDS
    first = blocks(ROOT / "README.md")[0]
    assert first.text == "./scripts/demo\n./scripts/check\n"


FIXTURE = """\
# A page

```python
x = 1
```

```python continued
assert x == 1
```

```python
raise SystemExit("this example is broken")
```

<!-- no-run: talks to the internet -->
```python no-run
import urllib.request
```

```python no-run
pass
```

```sh test
python3 -c "raise SystemExit(3)"
```

```sh
this line is documentation only
```
"""


def test_the_runner_catches_a_broken_example(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text(FIXTURE)
    programs, skipped = python_programs(page)
    assert len(programs) == 2  # the `continued` block joined the first
    assert run_python(programs[0][1], tmp_path).returncode == 0
    broken = run_python(programs[1][1], tmp_path)
    assert broken.returncode != 0
    assert "this example is broken" in broken.stderr
    assert [b.reason for b in skipped] == ["talks to the internet", None]
    ((_block, command),) = shell_commands(page)
    assert run_shell(command).returncode == 3


def test_an_unknown_marker_or_an_open_fence_is_an_error(tmp_path: Path) -> None:
    page = tmp_path / "page.md"
    page.write_text("```python norun\npass\n```\n")
    with pytest.raises(ValueError, match="unknown marker"):
        python_programs(page)
    page.write_text("```python\npass\n")
    with pytest.raises(ValueError, match="never closed"):
        blocks(page)
