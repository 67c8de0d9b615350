//! Subscriptions from Python: the pipeline's outputs drained in batches into 120-byte records
//! (`wintermute.pipeline.OUTPUT_DTYPE`).
//!
//! | off | type | field |
//! |----:|------|-------|
//! | 0 | 80 bytes | the event record of `wintermute.batch.EVENT_DTYPE` (`command` is 0) |
//! | 80 | u64 | command_seq: the command's number on its gateway (from 1) |
//! | 88 | u64 | journal_seq (0: never sequenced) |
//! | 96 | u64 | ingress_ns (pipeline clock) |
//! | 104 | u64 | latency_ns: ingress to publication |
//! | 112 | u16 | gateway |
//! | 114 | u8 | outcome: 0 event, 1 no events, 2 refused by the book, 3 risk rejected, 4 unknown instrument, 5 halted |
//! | 115 | u8 | last: 1 on the command's last output |
//!
//! A refused command's event part is a `rejected` record with the book's reason code (as in
//! `Engine.submit_batch`); a risk rejection's is a `rejected` record whose `reason` indexes
//! [`RISK_CODES`] (1-based).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use numpy::PyArray1;
use pyo3::prelude::*;
use wintermute_core::records::{encode_event, encode_invalid, encode_unknown_instrument, kind, EVENT_SIZE};
use wintermute_engine::pipeline::{Output, OutputKind, Subscription};
use wintermute_engine::risk::RiskError;

/// Size of one output record.
pub(crate) const OUTPUT_SIZE: usize = 120;

/// Risk rejection codes, in the order of the `reason` numbers (1-based) of risk rejections.
pub(crate) const RISK_CODES: [&str; 17] = [
    "GLOBAL_KILL_SWITCH",
    "ACCOUNT_KILL_SWITCH",
    "UNKNOWN_ACCOUNT",
    "UNKNOWN_INSTRUMENT",
    "UNKNOWN_ORDER",
    "DUPLICATE_ORDER_ID",
    "ORDER_RATE",
    "MAX_ORDER_QTY",
    "PRICE_BAND",
    "MAX_ORDER_NOTIONAL",
    "NO_REFERENCE_PRICE",
    "MAX_OPEN_ORDERS",
    "MAX_POSITION",
    "MAX_GROSS_EXPOSURE",
    "MAX_NET_EXPOSURE",
    "OVERFLOW",
    "INSTRUMENT",
];

fn risk_reason(e: &RiskError) -> u8 {
    RISK_CODES.iter().position(|c| *c == e.code()).map_or(0, |i| i as u8 + 1)
}

/// Appends the record of `o` to `out`.
pub(crate) fn encode_output(o: &Output, out: &mut Vec<u8>) {
    let (event, outcome) = match &o.kind {
        OutputKind::Event(e) => (encode_event(e, o.instrument, 0), 0u8),
        OutputKind::NoEvents => ([0u8; EVENT_SIZE], 1),
        OutputKind::Refused(err) => (encode_invalid(err, o.instrument, 0), 2),
        OutputKind::RiskRejected(err) => {
            let mut r = [0u8; EVENT_SIZE];
            r[64..68].copy_from_slice(&o.instrument.to_le_bytes());
            r[72] = kind::REJECTED;
            r[74] = risk_reason(err);
            (r, 3)
        }
        OutputKind::UnknownInstrument => (encode_unknown_instrument(0, o.instrument, 0), 4),
        OutputKind::Halted => ([0u8; EVENT_SIZE], 5),
    };
    out.extend_from_slice(&event);
    out.extend_from_slice(&o.command.seq.to_le_bytes());
    out.extend_from_slice(&o.journal_seq.to_le_bytes());
    out.extend_from_slice(&o.stamps.ingress_ns.to_le_bytes());
    out.extend_from_slice(&o.latency_ns().to_le_bytes());
    out.extend_from_slice(&o.command.gateway.to_le_bytes());
    out.extend_from_slice(&[outcome, u8::from(o.last), 0, 0, 0, 0]);
}

/// A subscription and what was drained from it on the Python side's behalf (while the
/// pipeline shut down) but not read yet.
#[derive(Debug)]
pub(crate) struct SubscriptionState {
    sub: Subscription,
    backlog: Vec<Output>,
}

pub(crate) type SharedSubscription = Arc<Mutex<SubscriptionState>>;

impl SubscriptionState {
    pub(crate) fn shared(sub: Subscription) -> SharedSubscription {
        Arc::new(Mutex::new(Self { sub, backlog: Vec::new() }))
    }

    /// Moves what is in the ring to the backlog (so the matching stage never waits on it).
    pub(crate) fn drain_to_backlog(&mut self) {
        self.sub.poll(&mut self.backlog);
    }

    /// Encodes the backlog, then at most `max` outputs in all.
    fn take(&mut self, max: usize, out: &mut Vec<u8>) -> usize {
        let from_backlog = self.backlog.len().min(max);
        for o in self.backlog.drain(..from_backlog) {
            encode_output(&o, out);
        }
        let mut n = from_backlog;
        if n < max {
            // Encoded straight from the ring (no copy of the outputs on the way).
            n += self.sub.read(max - n, |o| encode_output(o, out));
        }
        n
    }

    fn available(&self) -> usize {
        self.backlog.len() + self.sub.len()
    }

    fn finished(&self) -> bool {
        self.backlog.is_empty() && self.sub.is_finished()
    }
}

pub(crate) fn lock(s: &SharedSubscription) -> std::sync::MutexGuard<'_, SubscriptionState> {
    s.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Every output of the pipeline, in order, drained in batches. See the module docs.
#[pyclass(module = "wintermute._core", name = "PipelineSubscription", frozen)]
pub struct PySubscription {
    pub(crate) id: usize,
    pub(crate) state: SharedSubscription,
}

#[pymethods]
impl PySubscription {
    /// This subscription's number.
    #[getter]
    fn id(&self) -> usize {
        self.id
    }

    /// Drains at most `max` outputs (all available if None) as raw 120-byte records. When none
    /// is available, waits up to `timeout` seconds for the first one (GIL released).
    #[pyo3(signature = (max=None, timeout=0.0))]
    fn poll_raw<'py>(&self, py: Python<'py>, max: Option<usize>, timeout: f64) -> Bound<'py, PyArray1<u8>> {
        let state = Arc::clone(&self.state);
        let bytes = py.detach(move || {
            // NaN (or a negative timeout) means no wait; a day at most.
            let wait = if timeout > 0.0 { timeout.min(86_400.0) } else { 0.0 };
            let deadline = Instant::now() + Duration::from_secs_f64(wait);
            let mut out = Vec::new();
            loop {
                let mut s = lock(&state);
                let n = max.unwrap_or(usize::MAX).min(s.available());
                if n > 0 || s.finished() || Instant::now() >= deadline {
                    out.reserve(n * OUTPUT_SIZE);
                    s.take(n, &mut out);
                    return out;
                }
                drop(s);
                std::thread::sleep(Duration::from_micros(100));
            }
        });
        PyArray1::from_vec(py, bytes)
    }

    /// Outputs waiting right now.
    fn __len__(&self) -> usize {
        lock(&self.state).available()
    }

    /// True once the pipeline stopped and every output was read: nothing more will come.
    #[getter]
    fn finished(&self) -> bool {
        lock(&self.state).finished()
    }
}
