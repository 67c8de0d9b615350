//! `wintermute._core.Pipeline`: the threaded engine (`wintermute_engine::pipeline`) from Python.
//!
//! - [`PyPipeline`] starts from a config document (written by `wintermute.config`, read by the
//!   engine's schema, see [`wire`]),
//!   holds the running pipeline, hands out its gateways and subscriptions, reads its stats,
//!   and shuts it down;
//! - [`gateway::PyGateway`]: one producer handle per Python thread (decimal, integer and
//!   batch submits, GIL released);
//! - [`outputs::PySubscription`]: every output, drained in batches of 120-byte records.
//!
//! # Shutdown and drop
//!
//! From Python nobody may be polling, so `shutdown` uses the engine's
//! `pipeline::shutdown_draining` (GIL released), which never waits on a reader; the outputs
//! stay readable with `poll`. A pipeline dropped without `shutdown` stops the same way in the
//! background (`pipeline::shutdown_in_background`): Python never waits for it, accepted
//! commands are still processed and journaled, the threads end shortly after.

mod gateway;
mod outputs;
mod wire;

use std::sync::{Arc, Mutex, PoisonError};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyList};
use wintermute_bench::pipeline::{self as bench, BenchConfig, JournalMode};
use wintermute_engine::analytics::{rate, LatencySummary};
use wintermute_engine::pipeline::output_record::{OUTCOMES, OUTPUT_FIELDS, OUTPUT_SIZE, RISK_CODES};
use wintermute_engine::pipeline::{
    shutdown_draining, shutdown_in_background, BufferedSubscription, Control, Pipeline, PipelineStats, RecoveryInfo,
    SharedGateway, SharedSubscription, Topology,
};
use wintermute_engine::wait::WaitStrategy;

use crate::errors::{Error, Result};
use crate::journal::torn_tail_dict;
use gateway::Instruments;
pub(crate) use gateway::PyGateway;
pub(crate) use outputs::PySubscription;

/// `stats` or `shutdown` while another `shutdown` runs, or after one failed.
fn not_finished() -> Error {
    Error::other("PIPELINE", "the pipeline is shutting down, or failed to (see the error shutdown raised)")
}

/// What `shutdown` returned, kept for a second call.
struct Finished {
    stats: PipelineStats,
    last_seq: u64,
    books: Vec<(String, String)>,
}

/// The threaded engine. See the module docs.
#[pyclass(module = "wintermute._core", name = "Pipeline", frozen)]
pub struct PyPipeline {
    running: Mutex<Option<Pipeline>>,
    finished: Mutex<Option<Finished>>,
    instruments: Arc<Instruments>,
    gateways: Vec<Py<PyGateway>>,
    subscriptions: Vec<Py<PySubscription>>,
    shared_subscriptions: Vec<SharedSubscription>,
    /// Runtime changes (limits, kill switches, reference prices, snapshots); lives on after
    /// shutdown, when its calls fail with `CONTROL_STOPPED`.
    control: Control,
    /// How recovery went at start.
    recovery: RecoveryInfo,
}

impl PyPipeline {
    fn running(&self) -> std::sync::MutexGuard<'_, Option<Pipeline>> {
        self.running.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[pymethods]
impl PyPipeline {
    /// Starts the pipeline from a JSON config (see `wintermute.config.EngineConfig.to_json`):
    /// recovers the books from the journal, if one is configured, then starts the threads.
    #[new]
    fn new(py: Python<'_>, config: &str) -> Result<Self> {
        let config = wire::parse(config)?;
        let instruments = Arc::new(Instruments { specs: config.instruments.clone() });
        let (pipeline, handles) = py.detach(|| Pipeline::start(config))?;
        let (control, recovery) = (pipeline.control(), pipeline.recovery().clone());
        let mut gateways = Vec::with_capacity(handles.gateways.len());
        for g in handles.gateways {
            let (id, gateway, instruments) = (g.id(), SharedGateway::new(g), Arc::clone(&instruments));
            gateways.push(Py::new(py, PyGateway { id, gateway, instruments })?);
        }
        let shared_subscriptions: Vec<_> =
            handles.subscriptions.into_iter().map(BufferedSubscription::shared).collect();
        let subscriptions = shared_subscriptions
            .iter()
            .enumerate()
            .map(|(id, s)| Py::new(py, PySubscription { id, state: Arc::clone(s) }))
            .collect::<PyResult<_>>()?;
        Ok(Self {
            running: Mutex::new(Some(pipeline)),
            finished: Mutex::new(None),
            instruments,
            gateways,
            subscriptions,
            shared_subscriptions,
            control,
            recovery,
        })
    }

    /// What recovery did at start: `{"snapshot": path or None, "snapshot_warnings": [..],
    /// "replayed": n, "controls": n, "journal_seq": n, "truncated": None or the torn tail cut off,
    /// as `Engine.open_journal` reports it}`.
    fn recovery<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyDict>> {
        let r = &self.recovery;
        let d = PyDict::new(py);
        d.set_item("snapshot", r.snapshot.as_ref().map(|p| p.display().to_string()))?;
        let warnings: Vec<String> =
            r.snapshot_warnings.iter().map(|w| format!("{}: {}", w.path.display(), w.why)).collect();
        d.set_item("snapshot_warnings", warnings)?;
        d.set_item("replayed", r.replayed)?;
        d.set_item("controls", r.controls)?;
        d.set_item("journal_seq", r.journal_seq)?;
        d.set_item("truncated", torn_tail_dict(py, r.truncated.as_ref())?)?;
        Ok(d)
    }

    /// Sets an account's pre-trade limits (the JSON of a `wintermute.config` limits table).
    /// Returns once the risk stage applied it: every command submitted afterwards is checked
    /// against them. Returns the control's journal sequence number (0 without a journal).
    fn set_limits(&self, py: Python<'_>, account: u32, limits: &str) -> Result<u64> {
        let limits = wire::limits(limits, &format!("limits[{account}]"))?;
        Ok(py.detach(|| self.control.set_limits(account, limits))?)
    }

    /// Sets the limits of accounts seen for the first time (`None`: their orders are refused).
    #[pyo3(signature = (limits=None))]
    fn set_default_limits(&self, py: Python<'_>, limits: Option<&str>) -> Result<u64> {
        let limits = match limits {
            None => None,
            Some(text) => Some(wire::limits(text, "default_limits")?),
        };
        Ok(py.detach(|| self.control.set_default_limits(limits))?)
    }

    /// Engages (`True`) or releases a kill switch: one account's, or the global one when
    /// `account` is `None`. New orders and amends are refused while engaged; cancels pass.
    #[pyo3(signature = (engaged, account=None))]
    fn set_kill_switch(&self, py: Python<'_>, engaged: bool, account: Option<u32>) -> Result<u64> {
        let result = py.detach(|| match account {
            Some(a) => self.control.set_account_kill(a, engaged),
            None => self.control.set_global_kill(engaged),
        });
        Ok(result?)
    }

    /// Moves an instrument's reference price (price band centre, mark for exposures) to an
    /// exact decimal price on its tick grid.
    fn set_reference_price(
        &self,
        py: Python<'_>,
        instrument: &Bound<'_, PyAny>,
        price: &Bound<'_, PyAny>,
    ) -> Result<u64> {
        let id = self.instruments.resolve(instrument)?;
        let ticks = self.instruments.price(id, "price", price)?;
        Ok(py.detach(|| self.control.set_reference_price(id, ticks))?)
    }

    /// Writes a snapshot of the books and the risk state now (needs a journal); returns
    /// `{"journal_seq": n, "path": str}`.
    fn snapshot<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyDict>> {
        let info = py.detach(|| self.control.snapshot())?;
        let d = PyDict::new(py);
        d.set_item("journal_seq", info.journal_seq)?;
        d.set_item("path", info.path.display().to_string())?;
        Ok(d)
    }

    /// The gateways, one per configured producer.
    #[getter]
    fn gateways(&self, py: Python<'_>) -> Vec<Py<PyGateway>> {
        self.gateways.iter().map(|g| g.clone_ref(py)).collect()
    }

    /// The subscriptions, one per configured consumer.
    #[getter]
    fn subscriptions(&self, py: Python<'_>) -> Vec<Py<PySubscription>> {
        self.subscriptions.iter().map(|s| s.clone_ref(py)).collect()
    }

    /// The instrument symbols, in id order.
    fn instruments(&self) -> Vec<String> {
        self.instruments.specs.iter().map(|s| s.symbol.clone()).collect()
    }

    /// True until `shutdown`.
    #[getter]
    fn is_running(&self) -> bool {
        self.running().is_some()
    }

    /// What was measured so far (at most one stats interval old; after shutdown, the final
    /// stats). See `stats_dict` for the keys.
    fn stats<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyDict>> {
        let live = self.running().as_ref().map(Pipeline::stats);
        match live {
            Some(s) => stats_dict(py, &s),
            None => match self.finished.lock().unwrap_or_else(PoisonError::into_inner).as_ref() {
                Some(f) => stats_dict(py, &f.stats),
                None => Err(not_finished()),
            },
        }
    }

    /// Closes the gateways, drains every ring, joins the threads, flushes the journal.
    /// Returns `{"stats": ..., "last_seq": int, "books": {symbol: snapshot JSON}}` (the JSON
    /// of `Engine.snapshot`, restorable with `Engine.restore`). The outputs published until
    /// then stay readable from the subscriptions. A second call returns the same result.
    fn shutdown<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyDict>> {
        let taken = self.running().take();
        if let Some(pipeline) = taken {
            let subs = &self.shared_subscriptions;
            let done = py.detach(|| shutdown_draining(pipeline, subs))?;
            let books = done
                .engine
                .books()
                .iter()
                .map(|b| Ok((b.spec().symbol.clone(), serde_json::to_string(&b.snapshot())?)))
                .collect::<Result<Vec<_>, serde_json::Error>>()
                .map_err(|e| Error::SnapshotJson { reason: "SNAPSHOT", message: e.to_string() })?;
            let finished = Finished { stats: done.stats, last_seq: done.last_seq, books };
            *self.finished.lock().unwrap_or_else(PoisonError::into_inner) = Some(finished);
        }
        let finished = self.finished.lock().unwrap_or_else(PoisonError::into_inner);
        let Some(f) = finished.as_ref() else {
            return Err(not_finished());
        };
        let d = PyDict::new(py);
        d.set_item("stats", stats_dict(py, &f.stats)?)?;
        d.set_item("last_seq", f.last_seq)?;
        let books = PyDict::new(py);
        for (symbol, json) in &f.books {
            books.set_item(symbol, json)?;
        }
        d.set_item("books", books)?;
        Ok(d)
    }
}

impl Drop for PyPipeline {
    fn drop(&mut self) {
        // Never make Python wait: stop in the background (see the module docs).
        if let Some(pipeline) = self.running.get_mut().unwrap_or_else(PoisonError::into_inner).take() {
            shutdown_in_background(pipeline, self.shared_subscriptions.clone());
        }
    }
}

fn wait_text(w: WaitStrategy) -> String {
    match w {
        WaitStrategy::BusySpin => "busy_spin".into(),
        WaitStrategy::SpinThenYield { spins } => format!("spin_then_yield(spins={spins})"),
        WaitStrategy::Park { spins, yields, timeout } => {
            format!("park(spins={spins}, yields={yields}, timeout_us={})", timeout.as_micros())
        }
    }
}

pub(crate) fn latency_dict<'py>(py: Python<'py>, s: &LatencySummary) -> Result<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item("count", s.count)?;
    d.set_item("min_ns", s.min_ns)?;
    d.set_item("mean_ns", s.mean_ns)?;
    d.set_item("p50_ns", s.p50_ns)?;
    d.set_item("p95_ns", s.p95_ns)?;
    d.set_item("p99_ns", s.p99_ns)?;
    d.set_item("p999_ns", s.p999_ns)?;
    d.set_item("max_ns", s.max_ns)?;
    Ok(d)
}

/// The stats as a dict: `topology`, `elapsed_s`, `submitted`, `counters` (received,
/// risk_rejected, sequenced, refused, not_run, events, outputs), `commands_per_s`,
/// `events_per_s`, `outputs_per_s`, `latency` (gateway_to_risk, risk_to_match,
/// match_to_publish, end_to_end: count/min/mean/p50/p95/p99/p999/max in ns), `rings` (name,
/// capacity, high_water, full_events), `gateways` (gateway, submitted, full_events, capacity),
/// `threads` (name, wait, core, pinned), `recovered_records`, `journal_syncs`, `journal_rolls`
/// (rolls, prepared, roller_failures, populate_failures, longest_ns).
fn stats_dict<'py>(py: Python<'py>, s: &PipelineStats) -> Result<Bound<'py, PyDict>> {
    let d = PyDict::new(py);
    d.set_item(
        "topology",
        match s.topology {
            Topology::Merged => "merged",
            Topology::Split => "split",
        },
    )?;
    d.set_item("elapsed_s", s.elapsed.as_secs_f64())?;
    d.set_item("submitted", s.submitted)?;
    let c = &s.counters;
    let counters = PyDict::new(py);
    for (k, v) in [
        ("received", c.received),
        ("risk_rejected", c.risk_rejected),
        ("sequenced", c.sequenced),
        ("refused", c.refused),
        ("not_run", c.not_run),
        ("events", c.events),
        ("outputs", c.outputs),
    ] {
        counters.set_item(k, v)?;
    }
    d.set_item("counters", counters)?;
    d.set_item("commands_per_s", s.commands_per_s)?;
    d.set_item("events_per_s", s.events_per_s)?;
    d.set_item("outputs_per_s", rate(c.outputs, s.elapsed))?;
    let l = &s.latency;
    let latency = PyDict::new(py);
    latency.set_item("gateway_to_risk", latency_dict(py, &l.gateway_to_risk)?)?;
    latency.set_item("risk_to_match", latency_dict(py, &l.risk_to_match)?)?;
    latency.set_item("match_to_publish", latency_dict(py, &l.match_to_publish)?)?;
    latency.set_item("end_to_end", latency_dict(py, &l.end_to_end)?)?;
    d.set_item("latency", latency)?;
    let rings = PyList::empty(py);
    for r in &s.rings {
        let rd = PyDict::new(py);
        rd.set_item("name", &r.name)?;
        rd.set_item("capacity", r.capacity)?;
        rd.set_item("high_water", r.high_water)?;
        rd.set_item("full_events", r.full_events)?;
        rings.append(rd)?;
    }
    d.set_item("rings", rings)?;
    let gateways = PyList::empty(py);
    for g in &s.gateways {
        let gd = PyDict::new(py);
        gd.set_item("gateway", g.gateway)?;
        gd.set_item("submitted", g.submitted)?;
        gd.set_item("full_events", g.full_events)?;
        gd.set_item("capacity", g.capacity)?;
        gateways.append(gd)?;
    }
    d.set_item("gateways", gateways)?;
    let threads = PyList::empty(py);
    for t in &s.threads {
        let td = PyDict::new(py);
        td.set_item("name", t.name)?;
        td.set_item("wait", wait_text(t.wait))?;
        td.set_item("core", t.core)?;
        td.set_item("pinned", t.pinned)?;
        threads.append(td)?;
    }
    d.set_item("threads", threads)?;
    d.set_item("recovered_records", s.recovered_records)?;
    d.set_item("journal_syncs", s.journal_syncs)?;
    let rolls = PyDict::new(py);
    rolls.set_item("rolls", s.journal_rolls.rolls)?;
    rolls.set_item("prepared", s.journal_rolls.prepared)?;
    rolls.set_item("roller_failures", s.journal_rolls.roller_failures)?;
    rolls.set_item("populate_failures", s.journal_rolls.populate_failures)?;
    rolls.set_item("longest_ns", u64::try_from(s.journal_rolls.longest.as_nanos()).unwrap_or(u64::MAX))?;
    d.set_item("journal_rolls", rolls)?;
    d.set_item("controls", s.controls)?;
    d.set_item("snapshots_written", s.snapshots_written)?;
    d.set_item("snapshot_failures", s.snapshot_failures)?;
    d.set_item("last_snapshot_seq", s.last_snapshot_seq)?;
    d.set_item("segments_pruned", s.segments_pruned)?;
    Ok(d)
}

/// One open-loop pipeline benchmark run (`wintermute_bench::pipeline`), GIL released. `rate`:
/// offered commands/s, None for max; `journal`: off, none, batch or bg; `topology`: auto,
/// merged or split; `wait`: auto, or a config's wait kind (busy_spin, spin_then_yield, park);
/// `book_deltas`: the subscription takes the level updates too (default: an execution feed).
/// Returns the run's result (`wintermute_bench::pipeline::BenchResult`) as a JSON document:
/// `system`, `offered_ops_per_s`, `ops_per_s`, `commands`, `latency`, `pipeline_end_to_end`,
/// `full_events`, `outputs_per_command`, `pinned_threads`, `journal_rolls`, `windows`.
#[pyfunction]
#[pyo3(signature = (rate, journal, *, seconds=2.0, topology="auto", wait="auto", pin=false, dir=None, seed=42, book_deltas=false))]
#[allow(clippy::too_many_arguments)]
fn pipeline_bench(
    py: Python<'_>,
    rate: Option<u64>,
    journal: &str,
    seconds: f64,
    topology: &str,
    wait: &str,
    pin: bool,
    dir: Option<String>,
    seed: u64,
    book_deltas: bool,
) -> Result<String> {
    let bad = |e: bench::BenchError| Error::other("BENCH", e.to_string());
    let journal = JournalMode::parse(journal).map_err(bad)?;
    let mut config =
        BenchConfig { seconds, pin, dir: dir.map(Into::into), seed, book_deltas, ..BenchConfig::new(rate, journal) };
    config.set_topology(topology).map_err(bad)?;
    config.set_wait(wait).map_err(bad)?;
    let r = py.detach(|| bench::run(&config)).map_err(bad)?;
    serde_json::to_string(&r).map_err(|e| Error::type_error(e.to_string()))
}

/// Adds the pipeline classes and functions to `wintermute._core`.
pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyPipeline>()?;
    m.add_class::<PyGateway>()?;
    m.add_class::<PySubscription>()?;
    m.add_function(wrap_pyfunction!(wire::pipeline_config, m)?)?;
    m.add_function(wrap_pyfunction!(wire::limits_config, m)?)?;
    m.add_function(wrap_pyfunction!(wire::limits_config_of_engine, m)?)?;
    m.add_function(wrap_pyfunction!(pipeline_bench, m)?)?;
    m.add("PIPELINE_OUTPUT_SIZE", OUTPUT_SIZE)?;
    m.add("PIPELINE_RISK_CODES", RISK_CODES.to_vec())?;
    m.add("PIPELINE_OUTPUT_FIELDS", OUTPUT_FIELDS.to_vec())?;
    m.add("PIPELINE_OUTCOMES", OUTCOMES.to_vec())?;
    Ok(())
}
