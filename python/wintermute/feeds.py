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
import threading
from collections.abc import Callable, Mapping, Sequence
from os import PathLike
from pathlib import Path
from typing import Any, TypedDict, cast

from wintermute import _core, errors

__all__ = [
    "RECORDINGS",
    "ReplayServer",
    "StreamReport",
    "SyntheticMarket",
    "VerifyReport",
    "WatchReport",
    "format_report",
    "recorded_subscription",
    "synthesize",
    "verify",
    "watch",
]


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


#: The real recordings shipped in the repository's ``data/`` folder, one per venue (what
#: ``wintermute feeds watch`` replays when no endpoint is given).
RECORDINGS = {
    "binance": (
        "binance/binance_spot_2021-04-04_BTCUSDT-ETHUSDT-DOTUSDT_depth100ms_snapshot_aggTrade.cfraw.txt"
    ),
    "coinbase": "coinbase/coinbase_exchange_2021-04-17_level2_ticker_matches.cfraw.txt",
    "kraken": "kraken/kraken_ws1_2021-04-05_book1000_checksum.cfraw.txt",
}


def bundled_recording(venue: str) -> Path:
    """The repository's recording for ``venue``; raises ``RecordingError`` if it is not there
    (an installed wheel has no ``data/``: pass a recording file instead)."""
    if venue not in RECORDINGS:
        raise errors.FeedError(
            f"venue={venue!r}: expected one of {sorted(RECORDINGS)}", reason="FEED"
        )
    path = Path(__file__).resolve().parents[2] / "data" / RECORDINGS[venue]
    if not path.is_file():
        raise errors.RecordingError(
            f"no bundled recording at path={path}: pass --replay FILE", reason="FEED"
        )
    return path


def recorded_subscription(path: str | PathLike[str]) -> tuple[str, list[str]]:
    """The venue and the symbols a recording subscribed to."""
    return _core.feeds_recorded_subscription(str(path))


class ReplayServer:
    """A local replay server for a recording, in a background thread: WebSocket frames in the
    exchange's own protocol at ``ws_url`` (and Binance's REST snapshot at ``rest_url``).

    ``pace`` is ``"fast"``, ``"recorded"`` or a speed factor such as ``"10"``. The server stops
    after ``seconds``, or when drained and the clients have left (``exit_when_drained``).
    ``drop_frames`` / ``corrupt_frames`` name recorded frames (0-based) to lose on the wire: the
    gaps of a synthetic market (see ``synthesize``). ``exchange_info`` (``{symbol: (tick_size,
    lot_size)}``) is served as Binance's ``GET /api/v3/exchangeInfo``, for ``watch(...,
    fetch_scales=True)``.
    """

    def __init__(
        self,
        path: str | PathLike[str],
        *,
        pace: str = "recorded",
        port: int = 0,
        http_port: int = 0,
        seconds: float | None = None,
        exit_when_drained: bool = False,
        drop_frames: Sequence[int] = (),
        corrupt_frames: Sequence[int] = (),
        exchange_info: Mapping[str, tuple[str, str]] | None = None,
    ) -> None:
        self.ws_url = ""
        self.rest_url = ""
        self.stats: dict[str, int] | None = None
        self.error: BaseException | None = None
        ready = threading.Event()

        def on_ready(ws: str, rest: str) -> None:
            self.ws_url, self.rest_url = ws, rest
            ready.set()

        def serve() -> None:
            try:
                options = {
                    "pace": pace, "port": port, "http_port": http_port, "seconds": seconds,
                    "exit_when_drained": exit_when_drained, "drop_frames": list(drop_frames),
                    "corrupt_frames": list(corrupt_frames),
                    "exchange_info": {k: list(v) for k, v in (exchange_info or {}).items()},
                }  # fmt: skip
                self.stats = json.loads(_core.feeds_serve(str(path), on_ready, json.dumps(options)))
            except BaseException as e:  # handed to the caller by wait() or the constructor
                self.error = e
            finally:
                ready.set()

        self._thread = threading.Thread(target=serve, name="wintermute-replay", daemon=True)
        self._thread.start()
        ready.wait()
        if self.error is not None:
            raise self.error

    def wait(self, timeout: float | None = None) -> dict[str, int] | None:
        """Waits for the server to stop; returns its counters."""
        self._thread.join(timeout)
        if self.error is not None:
            raise self.error
        return self.stats


class WatchReport(TypedDict):
    venue: str
    streams: list[StreamReport]
    errors: int
    counters: dict[str, int]
    elapsed_ms: int


def watch(
    venue: str,
    symbols: list[str],
    *,
    ws_base: str | None = None,
    rest_base: str | None = None,
    seconds: float = 5.0,
    max_frames: int | None = None,
    record: str | PathLike[str] | None = None,
    on_tick: Callable[[VerifyReport, dict[str, int]], None] | None = None,
    tick: float = 0.5,
    max_attempts: int | None = None,
    protocol: str | None = None,
    tls_ca_file: str | PathLike[str] | None = None,
    scales: Mapping[str, tuple[str, str]] | None = None,
    fetch_scales: bool = False,
) -> WatchReport:
    """Connects to ``venue`` (its real endpoints unless ``ws_base``/``rest_base`` are given),
    subscribes to ``symbols``, keeps their books in sync (snapshots, sequence checks,
    checksums, resyncs, reconnects) for ``seconds``, and reports. ``on_tick(report, counters)``
    is called on the first frame and about every ``tick`` seconds while data flows;
    ``max_attempts`` bounds failed connection attempts in a row (``FeedError`` after that;
    default: retry with backoff until ``seconds`` run out). ``record`` writes the session in
    Wintermute's recording format for a later ``verify`` or replay.

    ``protocol`` picks the venue's API: ``binance``, ``coinbase`` (Exchange, the default),
    ``coinbase-advanced`` (Advanced Trade), ``kraken`` (v1, the default) or ``kraken-v2``.
    ``wss://`` and ``https://`` are verified against Mozilla's root certificates, plus those of
    the PEM file ``tls_ca_file`` if given (a TLS-inspecting proxy).

    ``scales`` (Binance only) runs the books on integer ticks and lots, the fast path:
    ``{"BTCUSDT": ("0.01", "0.00001")}`` gives each symbol's tick size and lot size (Binance
    ``exchangeInfo``: ``PRICE_FILTER.tickSize``, ``LOT_SIZE.stepSize``, as decimal text). Give
    one for every subscribed symbol, or none (the decimal books); anything else raises
    ``FeedError``. A price or quantity off a symbol's grid is never rounded: the frame is
    counted in the stream's ``errors`` and the book resyncs from a fresh snapshot. The report's
    prices are then exact canonical decimals (``58001.03`` for the exchange's
    ``58001.03000000``). ``fetch_scales=True`` fetches the scales of the subscribed symbols that
    have none from Binance's ``GET /api/v3/exchangeInfo`` (at ``rest_base``) before connecting;
    a symbol it does not describe raises ``FeedError``."""

    def tick_json(text: str) -> None:
        if on_tick is not None:
            data = json.loads(text)
            on_tick(data["report"], data["counters"])

    options = {
        "venue": venue, "symbols": list(symbols), "ws_base": ws_base, "rest_base": rest_base,
        "seconds": seconds, "max_frames": max_frames,
        "record": None if record is None else str(record), "tick": tick,
        "max_attempts": max_attempts, "protocol": protocol,
        "tls_ca_file": None if tls_ca_file is None else str(tls_ca_file),
        "scales": None if scales is None else {k: [str(t), str(v)] for k, (t, v) in scales.items()},
        "fetch_scales": fetch_scales,
    }  # fmt: skip
    report: WatchReport = json.loads(_core.feeds_watch(json.dumps(options), tick_json))
    return report


class SyntheticMarket(TypedDict):
    venue: str
    symbol: str
    frames: int
    trades: int
    gaps: list[int]
    drop_frames: list[int]
    corrupt_frames: list[int]
    bids: list[tuple[str, str]]
    asks: list[tuple[str, str]]


def synthesize(
    venue: str,
    path: str | PathLike[str],
    *,
    seed: int = 7,
    steps: int = 2000,
    gap_rate: float = 0.0,
    gap_spacing: int = 10,
    burst_rate: float = 0.01,
    trade_rate: float = 0.1,
    depth: int = 40,
    kraken_depth: int = 25,
    symbol: str | None = None,
    start_ns: int | None = None,
) -> SyntheticMarket:
    """Writes a seeded synthetic market in ``venue``'s own protocol to ``path`` (Wintermute
    recording format): a random-walk mid, a realistic depth profile, bursts, trades, and gaps at
    ``gap_rate`` per message. The recording holds every frame (``verify`` of it is clean); serve
    it with ``ReplayServer(path, drop_frames=..., corrupt_frames=...)`` to lose the gap frames on
    the wire, as the result names them. ``bids``/``asks``: the final book the venue publishes
    (exact text). Same seed, same bytes."""
    options = {
        "venue": venue, "seed": seed, "steps": steps, "gap_rate": gap_rate,
        "gap_spacing": gap_spacing, "burst_rate": burst_rate, "trade_rate": trade_rate,
        "depth": depth, "kraken_depth": kraken_depth, "symbol": symbol, "start_ns": start_ns,
    }  # fmt: skip
    result = json.loads(_core.feeds_synth(json.dumps(options), str(path)))
    for side in ("bids", "asks"):
        result[side] = [(price, qty) for price, qty in result[side]]
    return cast(SyntheticMarket, result)
