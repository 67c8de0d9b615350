//! The Redis hot tier's writer (`wintermute_storage::redis_tier::RedisWriter`) from Python:
//! `wintermute.storage.redis_tier.RedisTier` stages each round through it and Rust writes the
//! pipeline (GIL released). A failed round raises `WintermuteError` with reason
//! `REDIS_UNREACHABLE` or `REDIS_ERROR`.

use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use pyo3::prelude::*;
use pyo3::types::{PyDict, PyInt, PyString};
use wintermute_storage::redis::{self, Cmd};
use wintermute_storage::redis_fields::{key, xadd, KeyKind};
use wintermute_storage::redis_tier::{Flushed, RedisOptions, RedisTierError, RedisWriter};

use crate::audit::{PyAuditColumns, PyAuditReplay};
use crate::errors::{Error, Result};

impl From<RedisTierError> for Error {
    fn from(e: RedisTierError) -> Self {
        Error::other(e.reason(), e)
    }
}

/// Writes hashes and stream entries to Redis (or a Redis Cluster), one pipeline a round.
#[pyclass(module = "wintermute._core", name = "RedisWriter", frozen)]
pub struct PyRedisWriter {
    inner: Mutex<RedisWriter>,
}

impl PyRedisWriter {
    fn lock(&self) -> MutexGuard<'_, RedisWriter> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Writes the staged round (GIL released); True if written, False if Redis is away and
    /// its retry time has not come.
    fn flush(&self, py: Python<'_>) -> Result<bool> {
        let now = Instant::now();
        let flushed = py.detach(|| self.lock().flush(now))?;
        Ok(matches!(flushed, Flushed::Written { .. }))
    }
}

/// Appends `fields` (str -> str or int, as redis-py writes them) to `cmd`.
fn put_fields(cmd: &mut Cmd, fields: &Bound<'_, PyDict>) -> Result<()> {
    for (name, value) in fields.iter() {
        let name = name.cast_into::<PyString>().map_err(|_| Error::type_error("a field name must be a str"))?;
        cmd.arg(name.to_str()?);
        if let Ok(s) = value.cast::<PyString>() {
            cmd.arg(s.to_str()?);
        } else if value.is_instance_of::<PyInt>() {
            cmd.arg(value.str()?.to_str()?);
        } else {
            return Err(Error::type_error(format!("field {name}: a value must be a str or an int")));
        }
    }
    Ok(())
}

/// `cmd` with `fields` appended.
fn with_fields(mut cmd: Cmd, fields: &Bound<'_, PyDict>) -> Result<Cmd> {
    put_fields(&mut cmd, fields)?;
    Ok(cmd)
}

/// `(key, HSET key fields...)` of one entry of `send`'s hashes.
fn hset(key: Bound<'_, PyAny>, fields: &Bound<'_, PyAny>) -> Result<(String, Cmd)> {
    let key: String = key.extract()?;
    let fields = fields.cast::<PyDict>().map_err(|_| Error::type_error("hash fields must be a dict"))?;
    let mut c = redis::cmd("HSET");
    c.arg(&key);
    Ok((key, with_fields(c, fields)?))
}

#[pymethods]
impl PyRedisWriter {
    /// A writer to the Redis at `url`, or to the Redis Cluster `url` is a node of; connects on
    /// the first round.
    #[new]
    #[pyo3(signature = (url, *, prefix="wm", stream_len=10_000, timeout_s=0.25, retry_s=1.0, cluster=false))]
    fn new(url: &str, prefix: &str, stream_len: u64, timeout_s: f64, retry_s: f64, cluster: bool) -> Result<Self> {
        let seconds = |name: &str, s: f64| {
            Duration::try_from_secs_f64(s).map_err(|_| Error::other("REDIS_URL", format!("{name}={s}: not a duration")))
        };
        let options = RedisOptions {
            cluster,
            timeout: seconds("timeout_s", timeout_s)?,
            retry: seconds("retry_s", retry_s)?,
            stream_len,
            prefix: prefix.to_owned(),
        };
        Ok(Self { inner: Mutex::new(RedisWriter::open(url, options)?) })
    }

    #[getter]
    fn prefix(&self) -> String {
        self.lock().options().prefix.clone()
    }

    #[getter]
    fn stream_len(&self) -> u64 {
        self.lock().options().stream_len
    }

    /// True while the last round failed.
    #[getter]
    fn down(&self) -> bool {
        self.lock().down()
    }

    /// Hashes staged and not yet written.
    #[getter]
    fn pending(&self) -> usize {
        self.lock().pending()
    }

    /// `(updates, dropped, errors)` since the writer was opened.
    #[getter]
    fn counters(&self) -> (u64, u64, u64) {
        let c = self.lock().counters();
        (c.updates, c.dropped, c.errors)
    }

    /// One round: `hashes` (key -> fields, `HSET`, conflated) and `entries` (stream key,
    /// fields: `XADD ... MAXLEN ~ stream_len`).
    fn send(
        &self,
        py: Python<'_>,
        hashes: &Bound<'_, PyDict>,
        entries: Vec<(String, Bound<'_, PyDict>)>,
    ) -> Result<bool> {
        let stream_len = self.lock().options().stream_len;
        let staged = hashes.iter().map(|(key, fields)| hset(key, &fields)).collect::<Result<Vec<_>>>()?;
        let adds = entries.iter().map(|(key, f)| with_fields(xadd(key, stream_len), f)).collect::<Result<Vec<_>>>()?;
        self.lock().stage(staged, adds);
        self.flush(py)
    }

    /// The audit writer's round: the books `replay` touched in its last read (top `levels`
    /// levels, as of journal sequence `seq`, stamped `ts_ns`) and the trades among `rows`
    /// after journal sequence `after_seq`, up to `seq`.
    #[pyo3(signature = (replay, rows, after_seq, seq, ts_ns, levels=10))]
    fn publish_audit(
        &self,
        replay: PyRef<'_, PyAuditReplay>,
        rows: PyRef<'_, PyAuditColumns>,
        after_seq: u64,
        seq: u64,
        ts_ns: u64,
        levels: usize,
    ) -> Result<bool> {
        self.lock().stage_audit(&replay.inner, &rows.inner, after_seq, seq, ts_ns, levels);
        self.flush(replay.py())
    }

    /// Closes the connection (the next round opens one again).
    fn close(&self) {
        self.lock().close();
    }
}

/// The Redis key of `symbol`'s `kind` (`KeyKind::NAMES`; the venue kinds with `venue`) under
/// `prefix`: the one layout the writer writes and `wintermute.storage.redis_tier` reads.
#[pyfunction]
#[pyo3(signature = (prefix, symbol, kind, venue=None))]
fn redis_key(prefix: &str, symbol: &str, kind: &str, venue: Option<&str>) -> Result<String> {
    let named = KeyKind::named(kind, venue);
    let expected = "book, trades, consolidated or ticks without a venue; venue_book or venue_trades with one";
    Ok(key(
        prefix,
        symbol,
        named.ok_or_else(|| Error::type_error(format!("kind={kind:?} venue={venue:?}: {expected}")))?,
    ))
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyRedisWriter>()?;
    m.add_function(wrap_pyfunction!(redis_key, m)?)?;
    Ok(())
}
