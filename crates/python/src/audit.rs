//! The audit trail's rows built in Rust (`wintermute_engine::audit_rows`): `AuditReplay` reads
//! a journal incrementally and returns `AuditColumns`, the rows as numpy columns and as
//! PostgreSQL binary `COPY` data (`wintermute.storage.rust_rows` uses them).

use std::path::Path;

use numpy::PyArray1;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};
use wintermute_engine::audit_rows::{reason_names, AuditColumns, AuditInstrument, AuditReplay};

use crate::book::depth_dict;
use crate::errors::{Error, Result};

/// An instrument as `(symbol, tick_size, lot_size, min_qty, max_qty, min_price, max_price)`.
type InstrumentText = (String, String, String, String, String, String, String);

/// Replays a journal and builds its audit rows; not thread-safe.
#[pyclass(module = "wintermute._core", name = "AuditReplay")]
pub struct PyAuditReplay {
    pub(crate) inner: AuditReplay,
}

#[pymethods]
impl PyAuditReplay {
    /// A replay for an engine with `instruments` (in id order), each as decimal text.
    #[new]
    fn new(instruments: Vec<InstrumentText>) -> Result<Self> {
        let specs = instruments.iter().map(|(s, t, l, a, b, c, d)| AuditInstrument::from_decimals(s, t, l, a, b, c, d));
        Ok(Self { inner: AuditReplay::new(specs.collect::<std::result::Result<_, _>>()?)? })
    }

    /// The last journal sequence number read.
    #[getter]
    fn cursor(&self) -> u64 {
        self.inner.cursor()
    }

    /// Journal records read so far (after a resume: only those after the snapshot).
    #[getter]
    fn records_read(&self) -> u64 {
        self.inner.records_read()
    }

    /// The instrument ids whose books the last read ran commands on, ascending.
    #[getter]
    fn touched(&self) -> Vec<u32> {
        self.inner.touched().to_vec()
    }

    /// Starts from the newest engine snapshot in journal directory `path` at or before
    /// `at_most` (a fresh replay only); its sequence, or None (nothing changed).
    fn resume(&mut self, path: &str, at_most: u64) -> Result<Option<u64>> {
        Ok(self.inner.resume(Path::new(path), at_most)?)
    }

    /// The replayed book of instrument id `instrument` as `Engine.depth` gives it.
    #[pyo3(signature = (instrument, levels=10))]
    fn depth<'py>(&self, py: Python<'py>, instrument: u32, levels: usize) -> Result<Bound<'py, PyDict>> {
        let engine = self.inner.engine();
        let book = engine.books().get(instrument as usize).ok_or(Error::UnknownInstrumentId(instrument))?;
        depth_dict(py, book, levels)
    }

    /// The rows of the records after `cursor` (GIL released); records without a time take
    /// `now_ns`.
    fn read(&mut self, py: Python<'_>, path: &str, now_ns: u64) -> Result<PyAuditColumns> {
        let inner = &mut self.inner;
        Ok(PyAuditColumns { inner: py.detach(|| inner.read(Path::new(path), now_ns))? })
    }
}

/// Audit rows as columns.
#[pyclass(module = "wintermute._core", name = "AuditColumns", frozen)]
pub struct PyAuditColumns {
    pub(crate) inner: AuditColumns,
}

#[pymethods]
impl PyAuditColumns {
    fn __len__(&self) -> usize {
        self.inner.len()
    }

    /// Every column as a numpy array (a copy), by name, and `present` (the null bits).
    fn columns<'py>(&self, py: Python<'py>) -> Result<Bound<'py, PyDict>> {
        let d = PyDict::new(py);
        put(&d, &self.inner.u64_columns())?;
        put(&d, &self.inner.i64_columns())?;
        put(&d, &self.inner.u32_columns())?;
        put(&d, &self.inner.u8_columns())?;
        put(&d, &[("present", &self.inner.present[..])])?;
        Ok(d)
    }

    /// PostgreSQL binary `COPY` data of rows `start..end` after journal sequence `after_seq`
    /// (GIL released), and how many rows it holds.
    fn copy_binary<'py>(
        &self,
        py: Python<'py>,
        start: usize,
        end: usize,
        after_seq: u64,
    ) -> (Bound<'py, PyBytes>, usize) {
        let mut out = Vec::new();
        let rows = py.detach(|| self.inner.copy_binary(&mut out, start..end, after_seq));
        (PyBytes::new(py, &out), rows)
    }
}

/// Adds each named column to `d` as a numpy array.
fn put<T: numpy::Element>(d: &Bound<'_, PyDict>, columns: &[(&str, &[T])]) -> PyResult<()> {
    for (name, c) in columns {
        d.set_item(*name, PyArray1::from_slice(d.py(), c))?;
    }
    Ok(())
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyAuditReplay>()?;
    m.add_class::<PyAuditColumns>()?;
    m.add("AUDIT_REASONS", reason_names())
}
