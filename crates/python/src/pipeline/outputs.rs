//! Subscriptions from Python: the pipeline's outputs drained in batches as 120-byte records
//! (`wintermute_engine::pipeline::output_record`; Python's `wintermute.pipeline.OUTPUT_DTYPE`).

use std::cell::RefCell;
use std::sync::Arc;
use std::time::Duration;

use numpy::PyArray1;
use pyo3::prelude::*;
use wintermute_engine::pipeline::output_record::{encode_output, OUTPUT_SIZE};
use wintermute_engine::pipeline::{BufferedSubscription, Output, SharedSubscription};

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
    /// is available, waits up to `timeout` seconds for the first one (GIL released; NaN or a
    /// negative timeout: no wait; a day at most).
    #[pyo3(signature = (max=None, timeout=0.0))]
    fn poll_raw<'py>(&self, py: Python<'py>, max: Option<usize>, timeout: f64) -> Bound<'py, PyArray1<u8>> {
        let (state, max) = (Arc::clone(&self.state), max.unwrap_or(usize::MAX));
        let wait = Duration::try_from_secs_f64(timeout.max(0.0)).unwrap_or(Duration::MAX);
        let out = py.detach(|| {
            let out = RefCell::new(Vec::new());
            let sized = |n: usize| out.borrow_mut().reserve_exact(n * OUTPUT_SIZE);
            let encode = |o: &Output| encode_output(o, &mut out.borrow_mut());
            BufferedSubscription::wait_take_sized(&state, max, wait, sized, encode);
            out.into_inner()
        });
        PyArray1::from_vec(py, out)
    }

    /// Outputs waiting right now.
    fn __len__(&self) -> usize {
        BufferedSubscription::lock(&self.state).available()
    }

    /// True once the pipeline stopped and every output was read: nothing more will come.
    #[getter]
    fn finished(&self) -> bool {
        BufferedSubscription::lock(&self.state).finished()
    }
}
