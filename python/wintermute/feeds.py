"""Market data: exchange feeds, local books and recordings.

``verify(path)`` replays a recorded session offline through the same parsers and book builders
the live connectors use, and reports per (venue, symbol): messages, snapshots, updates, checksums
ok / bad, sequence gaps, resyncs, crossed-book events and the final top of book (exact decimal
text as the exchange wrote it). It reads cryptofeed's raw recordings (the text format and its
JSON-lines variant) and Wintermute's own recording format::

    >>> from pathlib import Path
    >>> from wintermute import feeds
    >>> data = Path(feeds.__file__).resolve().parents[2] / "data"  # the repository's recordings
    >>> report = feeds.verify(data / "kraken/kraken_ws1_2021-04-05_book1000_checksum.cfraw.txt")
    >>> xbt = next(s for s in report["streams"] if s["symbol"] == "XBT/USD")
    >>> xbt["checksum_bad"], xbt["checksum_ok"] > 5000
    (0, True)
"""

from __future__ import annotations

import json
from os import PathLike
from typing import Any, TypedDict

from wintermute import _core

__all__ = ["StreamReport", "VerifyReport", "format_report", "verify"]


class StreamReport(TypedDict):
    venue: str
    symbol: str
    messages: int
    snapshots: int
    updates: int
    checksum_ok: int
    checksum_bad: int
    gaps: int
    resyncs: int
    crossed: int
    best_bid: str | None
    best_ask: str | None
    errors: int


class VerifyReport(TypedDict):
    streams: list[StreamReport]
    errors: int


def verify(path: str | PathLike[str]) -> VerifyReport:
    """Replays a recording file; raises ``wintermute.errors.RecordingError`` if it is unreadable."""
    report: VerifyReport = json.loads(_core.feeds_verify(str(path)))
    return report


_COLUMNS = (
    ("venue", "venue"),
    ("symbol", "symbol"),
    ("messages", "msgs"),
    ("snapshots", "snaps"),
    ("updates", "updates"),
    ("checksum_ok", "crc ok"),
    ("checksum_bad", "crc bad"),
    ("gaps", "gaps"),
    ("resyncs", "resyncs"),
    ("crossed", "crossed"),
    ("errors", "errors"),
    ("best_bid", "best bid"),
    ("best_ask", "best ask"),
)


def format_report(report: VerifyReport) -> str:
    """The report as a text table."""
    rows: list[list[str]] = [[title for _, title in _COLUMNS]]
    for stream in report["streams"]:
        s: dict[str, Any] = dict(stream)
        rows.append(["-" if s[key] is None else f"{s[key]}" for key, _ in _COLUMNS])
    widths = [max(len(r[i]) for r in rows) for i in range(len(_COLUMNS))]
    lines = [
        "  ".join(
            c.rjust(w) if i > 1 else c.ljust(w)
            for i, (c, w) in enumerate(zip(r, widths, strict=True))
        )
        for r in rows
    ]
    lines.insert(1, "-" * len(lines[0]))
    lines.append(f"unattributed errors: {report['errors']}")
    return "\n".join(lines)
