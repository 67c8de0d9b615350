"""The market-data recorder: a live ``wintermute.market.Market``'s normalized events into the
market-data history (``market_history.py``), in batches, off the hot path.

The feeds run in the market's background thread and never wait for the recorder: each stream
keeps its last ``ring_capacity`` events in an L1 ring, and the recorder, in its own thread,
reads what each ring gained since its last read (by the feed's sequence number), turns trades
and top-of-book changes into rows, takes a top-``depth`` book snapshot of each live stream
every ``snapshot_every`` seconds, and writes a batch when ``batch_rows`` rows are held or
``flush_s`` seconds passed (one transaction; binary COPY on PostgreSQL)::

    recorder = MarketRecorder(open_history("sqlite:///audit.db"), market)
    recorder.run(seconds=60)          # or step() in your own loop; stop() from another thread
    print(recorder.stats)

Nothing is lost silently:

- **events the recorder did not read in time** (a ring overwrote them: the feed outran the
  recorder) show as a gap in the feed's sequence numbers; each is counted
  (``wintermute_md_lost_events_total``, ``stats.lost``) and logged. ``wintermute md record``
  exits with status 1 when any was lost;
- **a failing store** (``StorageError``): the failure is logged and counted
  (``wintermute_md_store_failures_total``), the batch is kept and retried with exponential
  backoff (reconnecting when the store can) while the recorder goes on reading the feed. Memory
  stays bounded: once ``max_pending`` rows are held unwritten, the recorder stops with
  :class:`RecorderError`, which says how many rows it held and the store's last error.

Lag, exported as Prometheus gauges (label ``store``): ``wintermute_md_lag_rows`` (rows read and
not yet stored) and ``wintermute_md_lag_seconds`` (how long the oldest of them has waited, from
its receive time); counters ``wintermute_md_rows_total`` (label ``table``: rows newly stored)
and ``wintermute_md_events_total`` (events read, label ``venue``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from os import PathLike
from typing import Any

from prometheus_client import Counter, Gauge

from wintermute import errors
from wintermute.market import Market
from wintermute.storage.market_history import LevelRow, MarketHistory, TickRow, TradeRow
from wintermute.storage.schema import StorageError

__all__ = [
    "BackgroundRecorder",
    "MarketRecorder",
    "RecorderError",
    "RecorderStats",
    "ReplaySource",
    "replay_source",
]

log = logging.getLogger("wintermute.storage.market_recorder")

LAG_ROWS = Gauge(
    "wintermute_md_lag_rows", "Market-data rows read from the feeds and not yet stored", ["store"]
)
LAG_SECONDS = Gauge(
    "wintermute_md_lag_seconds",
    "Seconds the oldest market-data row not yet stored has waited since it was received",
    ["store"],
)
ROWS = Counter("wintermute_md_rows", "Market-data rows newly stored", ["store", "table"])
EVENTS = Counter("wintermute_md_events", "Normalized events read by the recorder", ["venue"])
LOST = Counter(
    "wintermute_md_lost_events",
    "Normalized events overwritten in a ring before the recorder read them",
    ["venue"],
)
FAILURES = Counter(
    "wintermute_md_store_failures", "Market-data store writes that failed (retried)", ["store"]
)


class RecorderError(errors.WintermuteError):
    """The recorder stopped: its store kept failing until ``max_pending`` rows were held."""


@dataclass
class RecorderStats:
    """What a recorder did so far."""

    events: int = 0
    trades: int = 0
    ticks: int = 0
    levels: int = 0
    stored: int = 0
    lost: int = 0
    failures: int = 0
    batches: int = 0
    last_seq: dict[tuple[str, str], int] = field(default_factory=dict)


def _dec(text: str | None) -> Decimal | None:
    return None if text is None else Decimal(text)


class MarketRecorder:
    """Records ``market``'s streams (all of them, or ``streams``) into ``history``."""

    def __init__(
        self,
        history: MarketHistory,
        market: Market,
        *,
        streams: set[tuple[str, str]] | None = None,
        depth: int = 10,
        snapshot_every: float | None = 1.0,
        batch_rows: int = 10_000,
        flush_s: float = 0.25,
        max_pending: int = 1_000_000,
        poll_s: float = 0.01,
    ) -> None:
        if batch_rows < 1 or max_pending < batch_rows:
            raise ValueError(
                f"batch_rows={batch_rows}, max_pending={max_pending}: need 1 <= batch_rows <= "
                "max_pending"
            )
        if depth < 1:
            raise ValueError(f"depth={depth}: must be at least 1")
        self.history = history
        self.market = market
        self._core: Any = market._core
        self._streams = streams
        self.depth = depth
        self.snapshot_every = snapshot_every
        self.batch_rows = batch_rows
        self.flush_s = flush_s
        self.max_pending = max_pending
        self.poll_s = poll_s
        self.stats = RecorderStats()
        self._trades: list[TradeRow] = []
        self._ticks: list[TickRow] = []
        self._levels: list[LevelRow] = []
        self._oldest_ns: int | None = None
        self._last_flush = time.monotonic()
        self._last_snapshot: dict[tuple[str, str], float] = {}
        self._last_venue_seq: dict[tuple[str, str], int | None] = {}
        self._failing_since: float | None = None
        self._retry_at = 0.0
        self._backoff = 0.05
        self._last_error: StorageError | None = None
        self._stop = threading.Event()
        self._label = history.backend
        self._next_market: Market | None = None

    @property
    def pending(self) -> int:
        """Rows read and not yet stored."""
        return len(self._trades) + len(self._ticks) + len(self._levels)

    def replace_market(self, market: Market) -> None:
        """Records ``market`` from now on (a restarted one: ``ExternalMarket.on_restart``); the
        next read takes what the old one still holds first. Safe from another thread."""
        self._next_market = market

    def _switch(self) -> None:
        market, self._next_market = self._next_market, None
        if market is None:
            return
        for venue, symbol in self._core.streams():  # a stopped market keeps its final state
            if self._streams is None or (venue, symbol) in self._streams:
                self._read_stream(venue, symbol)
        self.market, self._core = market, market._core
        self.stats.last_seq.clear()  # a new market numbers its events from 1 again
        self._last_snapshot.clear()
        self._last_venue_seq.clear()

    def read(self) -> int:
        """Reads what every stream's ring gained (and the snapshots due); returns the events."""
        self._switch()
        n = 0
        now = time.monotonic()
        for venue, symbol in self._core.streams():
            if self._streams is not None and (venue, symbol) not in self._streams:
                continue
            n += self._read_stream(venue, symbol)
            if self.snapshot_every is not None:
                last = self._last_snapshot.get((venue, symbol))
                if last is None or now - last >= self.snapshot_every:
                    self._snapshot(venue, symbol)
                    self._last_snapshot[(venue, symbol)] = now
        self.lag()
        return n

    def _read_stream(self, venue: str, symbol: str) -> int:
        key = (venue, symbol)
        last = self.stats.last_seq.get(key, 0)
        newest = self._core.events(venue, symbol, 1)
        if not newest or newest[-1][0] <= last:
            return 0
        want = newest[-1][0] - last
        while True:
            events = self._core.events(venue, symbol, want)
            if not events or events[0][0] <= last + 1 or len(events) < want:
                break  # all since ``last``, or the ring holds no more (overwritten)
            want = events[-1][0] - last  # the ring grew between the two reads: ask again
        events = [e for e in events if e[0] > last]
        if not events:
            return 0
        if events[0][0] > last + 1:
            lost = events[0][0] - last - 1
            self.stats.lost += lost
            LOST.labels(venue).inc(lost)
            log.warning(
                "venue=%s symbol=%s: %d events overwritten before they were read (seq %d..%d)",
                venue, symbol, lost, last + 1, events[0][0] - 1,
            )  # fmt: skip
        for (
            seq,
            kind,
            _side,
            price,
            qty,
            aggressor,
            trade_id,
            bid,
            ask,
            ex_ts,
            recv_ts,
            _,
            venue_seq,
        ) in events:
            if kind == "delta":
                continue
            ts = recv_ts if ex_ts is None else ex_ts
            if self._oldest_ns is None:
                self._oldest_ns = recv_ts
            if kind == "trade":
                self._trades.append(
                    TradeRow(venue, symbol, ts, trade_id or seq, seq, trade_id, Decimal(price),
                             Decimal(qty), aggressor, ex_ts, recv_ts, venue_seq)
                )  # fmt: skip
            else:
                self._ticks.append(
                    TickRow(venue, symbol, ts, seq, kind,
                            *((_dec(bid[0]), _dec(bid[1])) if bid else (None, None)),
                            *((_dec(ask[0]), _dec(ask[1])) if ask else (None, None)),
                            ex_ts, recv_ts, venue_seq)
                )  # fmt: skip
        self.stats.last_seq[key] = events[-1][0]
        self._last_venue_seq[key] = events[-1][12]
        self.stats.events += len(events)
        EVENTS.labels(venue).inc(len(events))
        return len(events)

    def _snapshot(self, venue: str, symbol: str) -> None:
        book = self._core.book(venue, symbol, self.depth)
        if book["state"] != "live":
            return
        now = time.time_ns()
        seq = self.stats.last_seq.get((venue, symbol), 0)
        venue_seq = self._last_venue_seq.get((venue, symbol))
        for side, levels in (("bid", book["bids"]), ("ask", book["asks"])):
            for i, (price, qty) in enumerate(levels):
                self._levels.append(
                    LevelRow(
                        venue, symbol, now, side, i, seq, Decimal(price), Decimal(qty), venue_seq
                    )
                )
        if self._oldest_ns is None:
            self._oldest_ns = now

    def flush(self, force: bool = False) -> int:
        """Writes the held rows when a batch is due (``force``: now), ``batch_rows`` at most
        per transaction; returns the rows newly stored. A store failure is logged, counted and
        retried on a later flush; :class:`RecorderError` once ``max_pending`` rows are held."""
        now = time.monotonic()
        due = self.pending >= self.batch_rows or now - self._last_flush >= self.flush_s
        if not self.pending or not (force or due) or (not force and now < self._retry_at):
            return 0
        stored = 0
        while self.pending:
            trades, ticks, levels = self._cut()
            try:
                n = self.history.write(trades, ticks, levels)
            except StorageError as e:
                self._failed(e)
                return stored
            del self._trades[: len(trades)], self._ticks[: len(ticks)], self._levels[: len(levels)]
            for table, rows in (("trades", trades), ("ticks", ticks), ("snapshots", levels)):
                if rows:
                    ROWS.labels(self._label, table).inc(len(rows))
            self.stats.trades += len(trades)
            self.stats.ticks += len(ticks)
            self.stats.levels += len(levels)
            self.stats.stored += n
            self.stats.batches += 1
            stored += n
            if not force and self.pending < self.batch_rows:
                break
        self._failing_since, self._backoff, self._retry_at = None, 0.05, 0.0
        self._last_flush = now
        firsts = [rows[0] for rows in (self._trades, self._ticks) if rows]
        oldest = [r.receive_ts for r in firsts] + ([self._levels[0].ts_ns] if self._levels else [])
        self._oldest_ns = min(oldest, default=None)
        self.lag()
        return stored

    def _cut(self) -> tuple[list[TradeRow], list[TickRow], list[LevelRow]]:
        room = self.batch_rows
        trades = self._trades[:room]
        room -= len(trades)
        ticks = self._ticks[:room]
        room -= len(ticks)
        return trades, ticks, self._levels[:room]

    def _failed(self, e: StorageError) -> None:
        self.stats.failures += 1
        FAILURES.labels(self._label).inc()
        self._last_error = e
        now = time.monotonic()
        if self._failing_since is None:
            self._failing_since = now
        log.warning(
            "market-data store failed (%d rows held, retrying in %.2fs): %s",
            self.pending, self._backoff, e,
        )  # fmt: skip
        self._retry_at = now + self._backoff
        self._backoff = min(self._backoff * 2, 5.0)
        reconnect: Callable[[], None] | None = getattr(self.history, "reconnect", None)
        if reconnect is not None:
            try:
                reconnect()
            except StorageError as again:
                log.warning("market-data store still unreachable: %s", again)
        self._check_bound()

    def _check_bound(self) -> None:
        if self.pending >= self.max_pending and self._last_error is not None:
            since = self._failing_since
            failing = 0.0 if since is None else time.monotonic() - since
            raise RecorderError(
                f"market-data store failing for {failing:.1f}s with {self.pending} rows held "
                f"(max_pending={self.max_pending}); last error: {self._last_error}",
                reason="STORAGE",
            )

    def lag(self) -> tuple[int, float]:
        """Rows held and the seconds the oldest has waited (also published as gauges)."""
        seconds = 0.0 if self._oldest_ns is None else max(time.time_ns() - self._oldest_ns, 0) / 1e9
        LAG_ROWS.labels(self._label).set(self.pending)
        LAG_SECONDS.labels(self._label).set(seconds)
        return self.pending, seconds

    def step(self) -> int:
        """One read and, when due, one flush; returns the events read."""
        n = self.read()
        self.flush()
        self._check_bound()
        return n

    def run(
        self,
        seconds: float | None = None,
        done: Callable[[MarketRecorder], bool] | None = None,
        final_tries: int = 5,
    ) -> RecorderStats:
        """Steps every ``poll_s`` until :meth:`stop`, ``seconds`` passed or ``done(self)`` is
        true, then reads and writes everything left (``final_tries`` attempts with backoff;
        ``RecorderError`` if the store still fails then); returns the stats."""
        end = None if seconds is None else time.monotonic() + seconds
        while not self._stop.is_set() and (end is None or time.monotonic() < end):
            if self.step() == 0:
                if done is not None and done(self):
                    break
                self._stop.wait(self.poll_s)
        self.read()
        for _ in range(final_tries):
            self.flush(force=True)
            if not self.pending:
                break
            time.sleep(max(self._retry_at - time.monotonic(), 0.0))
        if self.pending:
            raise RecorderError(
                f"{self.pending} market-data rows could not be stored: {self._last_error}",
                reason="STORAGE",
            )
        return self.stats

    def stop(self) -> None:
        """Makes :meth:`run` finish (after writing what it holds)."""
        self._stop.set()


@dataclass
class ReplaySource:
    """A recording served on 127.0.0.1 (``feeds.ReplayServer``) and a market connected to it;
    :meth:`done` tells a recorder when every recorded frame was received and read."""

    market: Market
    server: Any
    venue: str
    symbols: list[str]
    frames: int

    def done(self, recorder: MarketRecorder) -> bool:
        counters = self.market.counters(self.venue)
        if counters.get("error"):
            raise errors.FeedError(
                f"venue={self.venue}: replay connector failed: {counters['error']}", reason="FEED"
            )
        return int(counters.get("frames", 0)) >= self.frames

    def close(self) -> None:
        self.market.stop()


def replay_source(
    path: str | PathLike[str],
    *,
    symbols: Sequence[str] = (),
    pace: str = "fast",
    ring_capacity: int = 1 << 16,
) -> ReplaySource:
    """Serves the recording at ``path`` locally (at ``pace``) and connects a market to it,
    subscribed to ``symbols`` (default: the recorded subscription)."""
    from wintermute import _core, feeds

    venue, recorded = feeds.recorded_subscription(path)
    subscribed = list(symbols) or list(recorded)
    frames = sum(1 for url, _ in _core.feeds_recorded_messages(str(path)) if url is None)
    server = feeds.ReplayServer(path, pace=pace)
    market = Market(
        [venue],
        endpoints={venue: (server.ws_url, server.rest_url)},
        symbols={venue: subscribed},
        ring_capacity=ring_capacity,
    )
    return ReplaySource(market, server, venue, subscribed, frames)


class BackgroundRecorder:
    """A :class:`MarketRecorder` of ``market`` into the store at ``url`` on a thread of its own
    (``wintermute demo --record-market``); :meth:`close` stops it after it wrote what it held.
    A recorder that stopped on its own (``RecorderError``) logs why and keeps it in ``error``."""

    def __init__(self, url: str, market: Market, **options: Any) -> None:
        from wintermute.storage.market_history import open_history

        self.url = url
        self.history = open_history(url)
        self.recorder = MarketRecorder(self.history, market, **options)
        self.error: BaseException | None = None
        self._thread = threading.Thread(target=self._run, name="md-recorder", daemon=True)
        self._thread.start()

    def _run(self) -> None:
        try:
            self.recorder.run()
        except (errors.WintermuteError, StorageError) as e:
            self.error = e
            log.error("market-data recorder stopped: %s", e)

    def close(self, timeout: float = 10.0) -> RecorderStats:
        """Stops the recorder (it writes what it holds first) and closes the store."""
        self.recorder.stop()
        self._thread.join(timeout)
        self.history.close()
        return self.recorder.stats
