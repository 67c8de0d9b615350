//! `wintermute._core.feeds_verify`: replay a recorded feed file through the exchange parsers and
//! book builders of `wintermute-feeds` (GIL released) and return the report as JSON text.

use std::path::Path;

use pyo3::prelude::*;
use wintermute_feeds::{verify_path, FeedError};

use crate::errors;

fn feed_error(py: Python<'_>, e: &FeedError) -> PyErr {
    let class = match e {
        FeedError::Io { .. } | FeedError::Recording { .. } | FeedError::UnknownVenue { .. } => "RecordingError",
        _ => "FeedError",
    };
    errors::error(py, class, e.to_string(), Some("FEED"))
}

/// Replays a recording (cryptofeed raw text, its JSON-lines variant, or Wintermute's own format)
/// and returns the per-stream report as JSON: `{"streams": [...], "errors": n}`.
#[pyfunction]
fn feeds_verify(py: Python<'_>, path: &str) -> PyResult<String> {
    let report = py.detach(|| verify_path(Path::new(path))).map_err(|e| feed_error(py, &e))?;
    Ok(report.to_json())
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_function(wrap_pyfunction!(feeds_verify, m)?)
}
