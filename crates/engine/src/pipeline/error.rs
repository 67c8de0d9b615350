//! Why a pipeline could not start, or stop cleanly: one error enum, messages with `key=value`
//! context.

use wintermute_core::InstrumentError;

use crate::journal::JournalError;
use crate::risk::RiskError;

/// Why a pipeline could not start or stop cleanly.
#[derive(Debug, thiserror::Error)]
pub enum PipelineError {
    #[error("pipeline config invalid: {why}")]
    Config { why: String },
    #[error("pipeline instrument: {0}")]
    Instrument(#[from] InstrumentError),
    #[error("pipeline risk setup: {0}")]
    Risk(#[from] RiskError),
    #[error("pipeline journal: {0}")]
    Journal(#[from] JournalError),
    #[error("pipeline thread spawn name={name}: {source}")]
    Spawn {
        name: &'static str,
        #[source]
        source: std::io::Error,
    },
    #[error("pipeline thread={name} panicked")]
    ThreadPanicked { name: &'static str },
    #[error("pipeline recovery: journal control record seq={seq}: {source}")]
    Control {
        seq: u64,
        #[source]
        source: RiskError,
    },
}
