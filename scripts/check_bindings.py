#!/usr/bin/env python3
"""Fails when a binding body in crates/python/src is longer than a few lines.

The bindings hold no logic (STYLE.md, habits 1-2): a ``#[pymethods]`` method or a
``#[pyfunction]`` converts its arguments, releases the GIL, calls the engine crates and maps the
error. That fits in ``LIMIT`` lines; a longer body is logic that belongs in the crate owning the
concept, where Rust tests can reach it.

What counts: the lines between a function's opening and closing brace, without blank lines and
``//`` comment lines. ``LIMIT`` is 12: the longest plain binding (a signature-heavy
``submit``: resolve the instrument, convert the order, call) takes 3 to 5 lines, and one that
builds a result dict field by field takes up to ~12. Past that it is doing something.

``ALLOWED`` names the bodies that may stay longer for now, each with its reason. An entry that
no longer needs its place (the body got short, or is gone) is an error too, so the list only
shrinks.

Usage: ``scripts/check_bindings.py [--root DIR] [--limit N]`` (``DIR``: the repository root, or
any directory whose ``crates/python/src`` to check). Standard library only.
"""

from __future__ import annotations

import argparse
import re
import sys
from dataclasses import dataclass
from pathlib import Path

LIMIT = 12

#: "file stem::function" -> why its body may be longer than LIMIT for now.
ALLOWED: dict[str, str] = {
    "pipeline::new": "hands out the gateway and subscription objects of a started pipeline: "
    "Python object construction, no engine logic",
    "pipeline::shutdown": "keeps the final stats and book snapshots for a second call (Python "
    "object lifetime), then builds the result dict",
}


@dataclass(frozen=True)
class Body:
    """One binding function and the size of its body."""

    path: Path
    line: int
    name: str
    lines: int

    @property
    def key(self) -> str:
        return f"{self.path.stem}::{self.name}"


def _mask(text: str) -> str:
    """``text`` with comments, strings and char literals blanked (newlines kept), so that braces
    and keywords can be found with plain searches."""
    out = list(text)
    i, n = 0, len(text)

    def blank(start: int, end: int) -> None:
        for k in range(start, min(end, n)):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        c = text[i]
        if text.startswith("//", i):
            end = text.find("\n", i)
            end = n if end < 0 else end
            blank(i, end)
            i = end
        elif text.startswith("/*", i):
            end = text.find("*/", i + 2)
            end = n if end < 0 else end + 2
            blank(i, end)
            i = end
        elif (
            c == "r"
            and re.match(r'r#*"', text[i:])
            and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_"))
        ):
            hashes = len(re.match(r"r(#*)", text[i:]).group(1))  # type: ignore[union-attr]
            close = '"' + "#" * hashes
            start = i + 1 + hashes + 1
            end = text.find(close, start)
            end = n if end < 0 else end + len(close)
            blank(i, end)
            i = end
        elif c == '"':
            k = i + 1
            while k < n and text[k] != '"':
                k += 2 if text[k] == "\\" else 1
            blank(i, k + 1)
            i = k + 1
        elif c == "'":
            # A char literal ('x', '\n', '\'') or a lifetime ('py): only the former is blanked.
            if i + 1 < n and text[i + 1] == "\\":
                end = text.find("'", i + 3)
                blank(i, end + 1)
                i = end + 1
            elif i + 2 < n and text[i + 2] == "'":
                blank(i, i + 3)
                i += 3
            else:
                i += 1
        else:
            i += 1
    return "".join(out)


def _matching(masked: str, open_at: int) -> int:
    """The index of the brace that closes the one at ``open_at``."""
    depth = 0
    for k in range(open_at, len(masked)):
        if masked[k] == "{":
            depth += 1
        elif masked[k] == "}":
            depth -= 1
            if depth == 0:
                return k
    raise ValueError(f"unbalanced braces from offset {open_at}")


def _body_lines(text: str, open_at: int, close_at: int) -> int:
    inner = text[open_at + 1 : close_at].splitlines()
    if len(inner) <= 1:
        return 1 if "".join(inner).strip() else 0
    # The first and last pieces share lines with the braces.
    lines = [line.strip() for line in inner[1:-1]]
    if inner[0].strip():
        lines.append(inner[0].strip())
    if inner[-1].strip():
        lines.append(inner[-1].strip())
    return sum(1 for line in lines if line and not line.startswith("//"))


_FN = re.compile(r"\bfn\s+(\w+)")


def _function_at(text: str, masked: str, fn_at: int, path: Path) -> tuple[Body, int]:
    """The body of the function whose ``fn`` keyword is at ``fn_at``, and where it ends."""
    name = _FN.match(masked, fn_at).group(1)  # type: ignore[union-attr]
    open_at = masked.index("{", fn_at)
    close_at = _matching(masked, open_at)
    line = text.count("\n", 0, fn_at) + 1
    return Body(path, line, name, _body_lines(text, open_at, close_at)), close_at


def bodies(path: Path) -> list[Body]:
    """Every ``#[pyfunction]`` and every method of a ``#[pymethods]`` impl in ``path``."""
    text = path.read_text()
    masked = _mask(text)
    found: list[Body] = []
    functions = (_FN.search(masked, attr.end()) for attr in re.finditer(r"#\[pyfunction\]", masked))
    found.extend(
        _function_at(text, masked, fn.start(), path)[0] for fn in functions if fn is not None
    )
    for attr in re.finditer(r"#\[pymethods\]", masked):
        impl_open = masked.index("{", attr.end())
        impl_close = _matching(masked, impl_open)
        at = impl_open + 1
        while (fn := _FN.search(masked, at, impl_close)) is not None:
            body, end = _function_at(text, masked, fn.start(), path)
            found.append(body)
            at = end + 1
    return sorted(found, key=lambda b: (str(b.path), b.line))


def check(src: Path, limit: int, allowed: dict[str, str]) -> list[str]:
    """The problems found in the Rust files under ``src``: over-long bodies not allowed, and
    allow-list entries that are no longer needed."""
    problems: list[str] = []
    long_keys: set[str] = set()
    for path in sorted(src.rglob("*.rs")):
        for body in bodies(path):
            if body.lines <= limit:
                continue
            long_keys.add(body.key)
            if body.key not in allowed:
                problems.append(
                    f"{body.path}:{body.line}: fn {body.name}: binding body is {body.lines} lines "
                    f"(limit {limit}): move the logic into the crate that owns it"
                )
    stale = sorted(set(allowed) - long_keys)
    problems.extend(
        f"check_bindings.py: ALLOWED[{k!r}] is not needed any more: remove it" for k in stale
    )
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--root", type=Path, default=Path(__file__).resolve().parent.parent)
    parser.add_argument("--limit", type=int, default=LIMIT)
    args = parser.parse_args(argv)
    src = args.root / "crates" / "python" / "src"
    if not src.is_dir():
        print(f"check_bindings.py: no such directory: {src}", file=sys.stderr)
        return 2
    problems = check(src, args.limit, ALLOWED if args.root.resolve() == _repo_root() else {})
    for p in problems:
        print(p, file=sys.stderr)
    if problems:
        return 1
    print(f"check_bindings.py: every binding body under {src} is within {args.limit} lines")
    return 0


def _repo_root() -> Path:
    return Path(__file__).resolve().parent.parent


if __name__ == "__main__":
    sys.exit(main())
