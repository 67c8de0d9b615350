//! What can go wrong before a backtest runs.

/// What can go wrong before a backtest runs (it cannot fail once it runs).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BacktestError {
    /// The configuration is invalid.
    #[error("bad backtest config: field={field} {why}")]
    Config {
        /// The offending field.
        field: &'static str,
        /// Why.
        why: String,
    },
    /// The market data could not be read or converted.
    #[error("bad market data: {why}")]
    Data {
        /// Why.
        why: String,
    },
}
