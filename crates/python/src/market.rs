//! `wintermute._core.Market`: the live market of `wintermute_feeds::market` from Python (the
//! user-facing wrapper is `wintermute.market.Market`).
//!
//! The connectors run in the market's own background thread; every method here copies from the
//! published view (a brief lock) and builds Python objects afterwards. Waiting and stopping run
//! with the GIL released. Prices and quantities cross as exact decimal strings.

use std::sync::Arc;
use std::time::Duration;

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList, PyTuple};
use wintermute_feeds::book::{Level, Side};
use wintermute_feeds::consolidated::{ConsolidatedLevel, Cross};
use wintermute_feeds::market::{Market, MarketView, StreamView, VenueView};
use wintermute_feeds::message::Aggressor;
use wintermute_feeds::normalized::{EventKind, LatencySummary, NormalizedEvent, Quote};
use wintermute_feeds::options::MarketOptions;
use wintermute_feeds::sync::StreamStats;

use crate::errors::{Error, Result};

/// The first twelve fields of one normalized event's tuple (see `_core.pyi`); PyO3 converts
/// tuples of at most twelve, so [`event_tuple`] appends the thirteenth, `venue_seq`.
type EventHead = (
    u64,
    &'static str,
    Option<&'static str>,
    Option<String>,
    Option<String>,
    Option<&'static str>,
    u64,
    Option<(String, String)>,
    Option<(String, String)>,
    Option<i64>,
    i64,
    i64,
);

/// One normalized event: its first twelve fields and `venue_seq`.
type EventRow = (EventHead, Option<u64>);

/// The Python tuple of `row`: `(*head, venue_seq)`.
fn event_tuple<'py>(py: Python<'py>, (head, venue_seq): EventRow) -> Result<Bound<'py, PyTuple>> {
    let head = head.into_pyobject(py).map_err(Error::Python)?;
    let mut items: Vec<Bound<'py, PyAny>> = head.iter().collect();
    items.push(venue_seq.into_pyobject(py)?.into_any());
    PyTuple::new(py, items).map_err(Error::Python)
}

fn quote(q: Option<Quote>) -> Option<(String, String)> {
    q.map(|q| (q.price().as_str().to_owned(), q.qty().as_str().to_owned()))
}

fn event_row(e: &NormalizedEvent) -> EventRow {
    let has_level = matches!(e.kind, EventKind::Delta | EventKind::Trade);
    let (price, qty) = if has_level {
        (Some(e.level.price().as_str().to_owned()), Some(e.level.qty().as_str().to_owned()))
    } else {
        (None, None)
    };
    let head = (
        e.seq,
        e.kind.name(),
        e.side.map(|s| if s == Side::Buy { "bid" } else { "ask" }),
        price,
        qty,
        e.aggressor.map(|a| if a == Aggressor::Buy { "buy" } else { "sell" }),
        e.trade_id,
        quote(e.bid),
        quote(e.ask),
        e.exchange_ts,
        e.receive_ts,
        e.normalized_ts,
    );
    (head, e.venue_seq)
}

fn levels(levels: &[Level], depth: usize) -> Vec<(String, String)> {
    levels.iter().take(depth).map(|l| (l.price.as_str().to_owned(), l.qty.as_str().to_owned())).collect()
}

fn summary<'py>(py: Python<'py>, s: LatencySummary) -> Result<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("count", s.count)?;
    d.set_item("p50_ns", s.p50)?;
    d.set_item("p99_ns", s.p99)?;
    d.set_item("p999_ns", s.p999)?;
    d.set_item("max_ns", s.max)?;
    Ok(d)
}

/// The dict of `Market.book`.
fn book_dict<'py>(
    py: Python<'py>,
    venue: &str,
    symbol: &str,
    state: &str,
    bids: Vec<(String, String)>,
    asks: Vec<(String, String)>,
    stats: &StreamStats,
) -> Result<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("venue", venue)?;
    d.set_item("symbol", symbol)?;
    d.set_item("state", state)?;
    d.set_item("bids", bids)?;
    d.set_item("asks", asks)?;
    let s = PyDict::new(py);
    for (k, v) in [
        ("messages", stats.messages),
        ("snapshots", stats.snapshots),
        ("updates", stats.updates),
        ("checksum_ok", stats.checksum_ok),
        ("checksum_bad", stats.checksum_bad),
        ("gaps", stats.gaps),
        ("resyncs", stats.resyncs),
        ("crossed", stats.crossed),
        ("errors", stats.errors),
        ("trades", stats.trades),
    ] {
        s.set_item(k, v)?;
    }
    d.set_item("stats", s)?;
    Ok(d)
}

/// What `Market.venue_stats` reads of one venue: latency summaries (exchange to receive,
/// receive to normalized), frames with a negative clock skew, counters as JSON, whether the
/// connector runs, and its last error.
type VenueRow = (LatencySummary, LatencySummary, u64, String, bool, Option<String>);

/// What `Market.venue_stats` reads of one venue.
fn venue_row(x: &VenueView) -> VenueRow {
    (
        x.latency.exchange_to_receive_summary(),
        x.latency.receive_to_normalized_summary(),
        x.latency.negative,
        serde_json::to_string(&x.counters).unwrap_or_default(),
        x.running,
        x.error.clone(),
    )
}

/// The dict of `Market.venue_stats`.
fn venue_stats_dict(py: Python<'_>, row: VenueRow) -> Result<Bound<'_, PyDict>> {
    let (ex, rx, negative, counters, running, error) = row;
    let d = PyDict::new(py);
    d.set_item("exchange_to_receive", summary(py, ex)?)?;
    d.set_item("receive_to_normalized", summary(py, rx)?)?;
    d.set_item("clock_skew_frames", negative)?;
    d.set_item("counters_json", counters)?;
    d.set_item("running", running)?;
    d.set_item("error", error)?;
    Ok(d)
}

fn bad(message: String) -> Error {
    Error::FeedArgument(message)
}

fn no_stream(v: &MarketView, venue: &str, symbol: &str) -> Error {
    let mut known: Vec<String> = v.streams.keys().map(|(v, s)| format!("{}:{s}", v.name())).collect();
    known.sort();
    bad(format!("venue={venue} symbol={symbol}: no such stream (yet); streams={known:?}"))
}

fn cross_dict<'py>(py: Python<'py>, cross: Cross) -> Result<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    let (kind, pair) = match cross {
        Cross::None => ("none", None),
        Cross::Locked { bid, ask } => ("locked", Some((bid, ask))),
        Cross::Crossed { bid, ask } => ("crossed", Some((bid, ask))),
    };
    d.set_item("kind", kind)?;
    d.set_item("bid_venue", pair.map(|p| p.0.name()))?;
    d.set_item("ask_venue", pair.map(|p| p.1.name()))?;
    Ok(d)
}

fn consolidated_levels<'py>(py: Python<'py>, levels: &[ConsolidatedLevel]) -> Result<Bound<'py, PyList>> {
    let out = PyList::empty(py);
    for l in levels {
        let d = PyDict::new(py);
        d.set_item("price", l.price.as_str())?;
        d.set_item("total", l.total().as_str())?;
        let per = PyDict::new(py);
        for v in l.venues() {
            if let Some(q) = l.qty(v) {
                per.set_item(v.name(), q.as_str())?;
            }
        }
        d.set_item("venues", per)?;
        out.append(d)?;
    }
    Ok(out)
}

/// Several venues' feeds kept in sync in a background thread (see `wintermute.market`).
#[pyclass(module = "wintermute._core", name = "Market", frozen)]
pub struct PyMarket {
    /// Shared with a live market maker that reads its books (`mm_live`).
    pub(crate) inner: Arc<Market>,
}

impl PyMarket {
    fn stream<R>(&self, venue: &str, symbol: &str, f: impl FnOnce(&StreamView) -> R) -> Result<R> {
        let v = crate::feeds::venue(venue)?;
        self.inner.read(|view| match view.stream(v, symbol) {
            Some(s) => Ok(f(s)),
            None => Err(no_stream(view, venue, symbol)),
        })
    }
}

#[pymethods]
impl PyMarket {
    /// Starts the market of `options`: a JSON document of
    /// `wintermute_feeds::options::MarketOptions` (venues, instruments, rings).
    #[new]
    fn new(py: Python<'_>, options: &str) -> Result<Self> {
        let config = MarketOptions::from_json(options)?.config()?;
        let inner = Arc::new(py.detach(|| Market::start(config))?);
        Ok(PyMarket { inner })
    }

    /// Waits (GIL released) until every subscribed stream is live; raises `FeedError` if a
    /// venue's connector failed or `timeout` seconds pass.
    fn wait_live(&self, py: Python<'_>, timeout: f64) -> Result<()> {
        let t = Duration::from_secs_f64(timeout.max(0.0));
        Ok(py.detach(|| self.inner.wait_live(t))?)
    }

    /// `(venue, symbol)` of every stream seen so far, sorted.
    fn streams(&self) -> Vec<(&'static str, String)> {
        let mut out: Vec<(&'static str, String)> =
            self.inner.read(|v| v.streams.keys().map(|(v, s)| (v.name(), s.as_str().to_owned())).collect());
        out.sort();
        out
    }

    /// Sync state, counters and the best `depth` levels per side (exact text) of one stream.
    #[pyo3(signature = (venue, symbol, depth=10))]
    fn book<'py>(&self, py: Python<'py>, venue: &str, symbol: &str, depth: usize) -> Result<Bound<'py, PyDict>> {
        let (state, stats, bids, asks) = self.stream(venue, symbol, |s| {
            (format!("{:?}", s.state).to_lowercase(), s.stats, levels(&s.bids, depth), levels(&s.asks, depth))
        })?;
        book_dict(py, venue, symbol, &state, bids, asks, &stats)
    }

    /// The L1 ring of one stream, oldest first (at most the `last` newest), as tuples
    /// `(seq, kind, side, price, qty, aggressor, trade_id, bid, ask, exchange_ts, receive_ts,
    /// normalized_ts, venue_seq)`.
    #[pyo3(signature = (venue, symbol, last=None))]
    fn events<'py>(
        &self,
        py: Python<'py>,
        venue: &str,
        symbol: &str,
        last: Option<usize>,
    ) -> Result<Vec<Bound<'py, PyTuple>>> {
        let rows: Vec<EventRow> = self.stream(venue, symbol, |s| {
            let skip = last.map_or(0, |n| s.ring.len().saturating_sub(n));
            s.ring.iter().skip(skip).map(|e| event_row(&e)).collect()
        })?;
        rows.into_iter().map(|row| event_tuple(py, row)).collect()
    }

    /// Latency percentiles of one venue (ns) and connector counters.
    fn venue_stats<'py>(&self, py: Python<'py>, venue: &str) -> Result<Bound<'py, PyDict>> {
        let v = crate::feeds::venue(venue)?;
        let Some(row) = self.inner.read(|view| view.venue(v).map(venue_row)) else {
            return Err(bad(format!("venue={venue}: not part of this market")));
        };
        venue_stats_dict(py, row)
    }

    /// The consolidated book of `instrument`: levels with per-venue quantities, BBO, microprice
    /// and whether venues are crossed or locked between them.
    #[pyo3(signature = (instrument, depth=10))]
    fn consolidated<'py>(&self, py: Python<'py>, instrument: &str, depth: usize) -> Result<Bound<'py, PyDict>> {
        let c = self.inner.consolidated(instrument, depth)?;
        let d = PyDict::new(py);
        d.set_item("instrument", instrument)?;
        d.set_item("bids", consolidated_levels(py, c.bids())?)?;
        d.set_item("asks", consolidated_levels(py, c.asks())?)?;
        let bbo = c.bbo().map(|b| (b.bid.price.as_str().to_owned(), b.ask.price.as_str().to_owned()));
        d.set_item("bbo", bbo)?;
        d.set_item("microprice", c.microprice().map(|m| m.as_str().to_owned()))?;
        d.set_item("mid", c.mid().map(|m| m.as_str().to_owned()))?;
        d.set_item("cross", cross_dict(py, c.cross())?)?;
        Ok(d)
    }

    /// Whether the background thread still runs.
    #[getter]
    fn running(&self) -> bool {
        self.inner.is_running()
    }

    /// Stops every connector and synthetic server (GIL released); the views keep their final state.
    fn stop(&self, py: Python<'_>) {
        py.detach(|| self.inner.stop());
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyMarket>()
}
