//! The one place where engine errors become Python exceptions (`wintermute.errors`).
//!
//! # How an error reaches Python
//!
//! Bindings return [`Result<T>`], whose error is [`Error`]: one variant per domain error enum of
//! the engine crates (each with its `From`, so a binding body uses `?` on a core, feeds or
//! engine call), plus the few failures that only argument conversion can have. [`Error`] turns
//! into a `PyErr` in one `From` impl, [`From<Error> for PyErr`], which picks the exception
//! class and its machine-readable `reason` code by matching on the variant. Nothing else in
//! this crate builds a Wintermute exception.
//!
//! # The classes
//!
//! The exception classes are defined in Python (`python/wintermute/errors.py`), where several
//! derive from two bases (`InvalidDecimalError(WintermuteError, ValueError)`), which a class
//! defined in Rust cannot. Here each is a typed Rust handle ([`pyo3::import_exception!`]):
//! [`check_classes`] imports them all once while `_core` initialises, so a misspelt or missing
//! class fails the import of `wintermute._core` instead of a later `raise`.

use std::fmt::Display;

use pyo3::exceptions::{PyTypeError, PyValueError};
use pyo3::prelude::*;
use pyo3::types::{PyDict, PyType};
use wintermute_bench::catalog::UnknownWorkload;
use wintermute_bench::native_book::RecordsError;
use wintermute_core::decimal::DecimalError;
use wintermute_core::records::pending::PendingFull;
use wintermute_core::{InstrumentError, InstrumentId, OrderError, RejectReason, SnapshotError};
use wintermute_engine::journal::JournalError;
use wintermute_engine::journaled_engine::JournaledError;
use wintermute_engine::pipeline::config::ConfigError;
use wintermute_engine::pipeline::record_batch::RecordBatchError;
use wintermute_engine::pipeline::{ControlError, PipelineError, SubmitError};
use wintermute_feeds::tick_book::BatchError;
use wintermute_feeds::{FeedError, TickBookError};
use wintermute_mm::backtest::BacktestError;
use wintermute_mm::batched::CommandError;

/// The exception classes of `wintermute.errors`, as Rust types.
mod classes {
    pyo3::import_exception!(wintermute.errors, WintermuteError);
    pyo3::import_exception!(wintermute.errors, InvalidDecimalError);
    pyo3::import_exception!(wintermute.errors, PriceOffTickError);
    pyo3::import_exception!(wintermute.errors, QuantityOffLotError);
    pyo3::import_exception!(wintermute.errors, InstrumentError);
    pyo3::import_exception!(wintermute.errors, UnknownInstrumentError);
    pyo3::import_exception!(wintermute.errors, OrderError);
    pyo3::import_exception!(wintermute.errors, UnknownOrderError);
    pyo3::import_exception!(wintermute.errors, DuplicateOrderIdError);
    pyo3::import_exception!(wintermute.errors, InvalidQuantityError);
    pyo3::import_exception!(wintermute.errors, InvalidPriceError);
    pyo3::import_exception!(wintermute.errors, InvalidOrderError);
    pyo3::import_exception!(wintermute.errors, FeedError);
    pyo3::import_exception!(wintermute.errors, RecordingError);
    pyo3::import_exception!(wintermute.errors, JournalError);
    pyo3::import_exception!(wintermute.errors, JournalCorruptError);
    pyo3::import_exception!(wintermute.errors, ConfigError);
    pyo3::import_exception!(wintermute.errors, GatewayFullError);
    pyo3::import_exception!(wintermute.errors, GatewayClosedError);
    pyo3::import_exception!(wintermute.errors, ControlError);
}

use classes as py_errors;

/// Every class name of `wintermute.errors` this crate raises, for [`check_classes`].
const CLASS_NAMES: [&str; 20] = [
    "WintermuteError",
    "InvalidDecimalError",
    "PriceOffTickError",
    "QuantityOffLotError",
    "InstrumentError",
    "UnknownInstrumentError",
    "OrderError",
    "UnknownOrderError",
    "DuplicateOrderIdError",
    "InvalidQuantityError",
    "InvalidPriceError",
    "InvalidOrderError",
    "FeedError",
    "RecordingError",
    "JournalError",
    "JournalCorruptError",
    "ConfigError",
    "GatewayFullError",
    "GatewayClosedError",
    "ControlError",
];

/// Imports `wintermute.errors` and checks that every class this crate raises is there and is
/// an exception class: run once at module init, so the handles above never fail later.
pub(crate) fn check_classes(py: Python<'_>) -> PyResult<()> {
    let module = py.import("wintermute.errors")?;
    for name in CLASS_NAMES {
        let class = module.getattr(name)?.cast_into::<PyType>()?;
        if !class.is_subclass_of::<pyo3::exceptions::PyException>()? {
            return Err(PyTypeError::new_err(format!("wintermute.errors.{name} is not an exception class")));
        }
    }
    Ok(())
}

/// Whether a decimal was meant as a price (tick grid), a quantity (lot grid) or neither (an
/// amount of a configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Grid {
    Price,
    Qty,
    Neither,
}

/// A failure of a binding: a domain error of the engine crates, or an argument that could not
/// be converted. See the module docs.
#[derive(Debug)]
pub(crate) enum Error {
    /// Already a Python exception (a failed extract, a callback that raised).
    Python(PyErr),
    /// An argument of the wrong Python type.
    Type(String),
    /// An argument of the right type with a value that names nothing (`side="up"`).
    InvalidOrder(String),
    /// A limit order without a price (`MISSING_PRICE`), or a market order with one.
    Price {
        message: String,
        reason: &'static str,
    },
    Order(OrderError),
    /// The fast path's event buffer is full (`EVENTS_PENDING`).
    PendingFull(PendingFull),
    /// A record batch that was not (wholly) submitted.
    RecordBatch(RecordBatchError),
    Instrument(InstrumentError),
    UnknownInstrumentId(InstrumentId),
    Decimal {
        field: String,
        grid: Grid,
        source: DecimalError,
    },
    Snapshot(SnapshotError),
    /// Snapshot JSON that cannot be read or written (reason `INVALID_SNAPSHOT` or `SNAPSHOT`).
    SnapshotJson {
        reason: &'static str,
        message: String,
    },
    Feed(FeedError),
    /// A feed argument that names nothing (a venue, a stream): a `FeedError`.
    FeedArgument(String),
    TickBook(TickBookError),
    TickBatch(BatchError),
    Journal(JournalError),
    Journaled(JournaledError),
    Pipeline(PipelineError),
    Control(ControlError),
    /// A refused submit.
    Submit(SubmitError),
    /// A config value that is missing, unknown, of the wrong type or out of range (`CONFIG`,
    /// with the key it names).
    Config(ConfigError),
    /// A market-making backtest that could not start: a bad config (`ConfigError`, `CONFIG`,
    /// with the field as its key) or market data that cannot be read (`FeedError`,
    /// `MARKET_DATA`).
    Backtest(BacktestError),
    /// A command a Python strategy sent that the backtester cannot take (`InvalidOrderError`,
    /// `STRATEGY_COMMAND`).
    StrategyCommand(CommandError),
    /// A failure of the bindings' own API with no domain of its own (`UNKNOWN_WORKLOAD`,
    /// `BENCH`, `PIPELINE`): a plain `WintermuteError`.
    Other {
        message: String,
        reason: &'static str,
    },
}

/// What bindings return.
pub(crate) type Result<T, E = Error> = std::result::Result<T, E>;

impl Error {
    /// A `TypeError` for an argument of the wrong type.
    pub(crate) fn type_error(message: impl Into<String>) -> Self {
        Error::Type(message.into())
    }

    /// A plain `WintermuteError` with `reason`.
    pub(crate) fn other(reason: &'static str, message: impl Display) -> Self {
        Error::Other { message: message.to_string(), reason }
    }

    /// A price or quantity argument that is not exact on its grid.
    pub(crate) fn decimal(field: &str, grid: Grid) -> impl FnOnce(DecimalError) -> Self + '_ {
        move |source| Error::Decimal { field: field.to_owned(), grid, source }
    }
}

macro_rules! domain_from {
    ($($variant:ident($source:ty)),* $(,)?) => {$(
        impl From<$source> for Error {
            fn from(e: $source) -> Self {
                Error::$variant(e)
            }
        }
    )*};
}

domain_from!(
    Python(PyErr),
    Config(ConfigError),
    Backtest(BacktestError),
    Order(OrderError),
    Instrument(InstrumentError),
    Snapshot(SnapshotError),
    Feed(FeedError),
    TickBook(TickBookError),
    TickBatch(BatchError),
    Journal(JournalError),
    Journaled(JournaledError),
    Pipeline(PipelineError),
    Control(ControlError),
    Submit(SubmitError),
    RecordBatch(RecordBatchError),
    PendingFull(PendingFull),
);

/// The bench crate's errors: a bad command record is an order error, a bad record length a
/// type error, an unknown workload name a plain `WintermuteError` (`UNKNOWN_WORKLOAD`).
impl From<RecordsError> for Error {
    fn from(e: RecordsError) -> Self {
        match e {
            RecordsError::Command { source, .. } => Error::Order(source),
            e @ RecordsError::Length { .. } => Error::type_error(e.to_string()),
        }
    }
}

/// A venue batch that is not whole output records: a type error, like a bad record length.
impl From<wintermute_engine::venue_books::BatchSizeError> for Error {
    fn from(e: wintermute_engine::venue_books::BatchSizeError) -> Self {
        Error::type_error(e.to_string())
    }
}

/// Bad input to the venue's order table: a plain `WintermuteError` whose `reason` is the
/// venue's error code (`DUPLICATE_CLIENT_ORDER_ID`, `UNKNOWN_ORDER`, ...).
impl From<wintermute_engine::venue_orders::OrderTableError> for Error {
    fn from(e: wintermute_engine::venue_orders::OrderTableError) -> Self {
        Error::other(e.code, e.message)
    }
}

/// A live market maker's config names its key like the engine's config does (`ConfigError`,
/// `CONFIG`); one that could not start otherwise is a plain `WintermuteError` (`MM_LIVE`).
impl From<wintermute_mm::live_config::LiveConfigError> for Error {
    fn from(e: wintermute_mm::live_config::LiveConfigError) -> Self {
        Error::Config(ConfigError::new(e.key.clone(), e.to_string()))
    }
}

impl From<wintermute_mm::live_runner::LiveRunError> for Error {
    fn from(e: wintermute_mm::live_runner::LiveRunError) -> Self {
        Error::other("MM_LIVE", e)
    }
}

/// The paper hedge venues or the market maker behind them could not start (`MM_LIVE`).
impl From<wintermute_router::paper::PaperError> for Error {
    fn from(e: wintermute_router::paper::PaperError) -> Self {
        Error::other("MM_LIVE", e)
    }
}

/// A live hedge route's URL, roots or keys name their config key (`ConfigError`, `CONFIG`);
/// a route that could not start otherwise is `MM_LIVE`.
impl From<wintermute_router::live::LiveRouteError> for Error {
    fn from(e: wintermute_router::live::LiveRouteError) -> Self {
        match e.key() {
            Some(key) => Error::Config(ConfigError::new(key, e.to_string())),
            None => Error::other("MM_LIVE", e),
        }
    }
}

impl From<UnknownWorkload> for Error {
    fn from(e: UnknownWorkload) -> Self {
        Error::other("UNKNOWN_WORKLOAD", e)
    }
}

impl From<std::convert::Infallible> for Error {
    fn from(never: std::convert::Infallible) -> Self {
        match never {}
    }
}

impl From<pyo3::CastError<'_, '_>> for Error {
    fn from(e: pyo3::CastError<'_, '_>) -> Self {
        Error::Python(e.into())
    }
}

/// The class and reason of an order error.
fn order_class(e: &OrderError) -> (Class, &'static str) {
    let reason = e.reason();
    let class = match reason {
        RejectReason::UnknownOrder => class::<py_errors::UnknownOrderError> as Class,
        RejectReason::DuplicateOrderId => class::<py_errors::DuplicateOrderIdError> as Class,
        RejectReason::NonPositiveQty | RejectReason::QtyBelowMin | RejectReason::QtyAboveMax => {
            class::<py_errors::InvalidQuantityError> as Class
        }
        RejectReason::PriceOutOfBand => class::<py_errors::InvalidPriceError> as Class,
        RejectReason::UnknownInstrument => class::<py_errors::UnknownInstrumentError> as Class,
        _ => class::<py_errors::InvalidOrderError> as Class,
    };
    (class, reason.code())
}

fn instrument_class(e: &InstrumentError) -> (Class, &'static str) {
    match e {
        InstrumentError::Unknown { .. } => (class::<py_errors::UnknownInstrumentError> as Class, "UNKNOWN_INSTRUMENT"),
        InstrumentError::Duplicate { .. } => (class::<py_errors::InstrumentError> as Class, "DUPLICATE_INSTRUMENT"),
        _ => (class::<py_errors::InstrumentError> as Class, "INVALID_INSTRUMENT"),
    }
}

fn journal_class(e: &JournalError) -> (Class, &'static str) {
    let class = match e {
        JournalError::Corrupt { .. }
        | JournalError::InvalidCommand { .. }
        | JournalError::InvalidControl { .. }
        | JournalError::SequenceGap { .. } => class::<py_errors::JournalCorruptError> as Class,
        _ => class::<py_errors::JournalError> as Class,
    };
    (class, "JOURNAL")
}

fn feed_class(e: &FeedError) -> (Class, &'static str) {
    let class = match e {
        FeedError::Io { .. } | FeedError::Recording { .. } | FeedError::UnknownVenue { .. } => {
            class::<py_errors::RecordingError> as Class
        }
        _ => class::<py_errors::FeedError> as Class,
    };
    (class, "FEED")
}

/// The class and reason of a tick-book error; `None`: a plain `ValueError`.
fn tick_book_class(e: &TickBookError) -> Option<(Class, &'static str)> {
    match e {
        TickBookError::NegativeQty { .. } => Some((class::<py_errors::InvalidQuantityError> as Class, "NEGATIVE_QTY")),
        TickBookError::PriceOutOfRange { .. } => {
            Some((class::<py_errors::InvalidPriceError> as Class, "PRICE_OUT_OF_RANGE"))
        }
        TickBookError::BadWindow { .. } => None,
    }
}

fn submit_class(e: &SubmitError) -> (Class, &'static str) {
    match e {
        SubmitError::Full { .. } => (class::<py_errors::GatewayFullError> as Class, "GATEWAY_FULL"),
        SubmitError::Closed { .. } => (class::<py_errors::GatewayClosedError> as Class, "GATEWAY_CLOSED"),
        SubmitError::Lent { .. } => (class::<py_errors::GatewayClosedError> as Class, "GATEWAY_LENT"),
    }
}

fn control_reason(e: &ControlError) -> &'static str {
    match e {
        ControlError::Stopped { .. } => "CONTROL_STOPPED",
        ControlError::Timeout { .. } => "CONTROL_TIMEOUT",
        ControlError::NoRisk { .. } => "NO_RISK",
        ControlError::NoJournal { .. } => "NO_JOURNAL",
        ControlError::Risk { source, .. } => source.code(),
        ControlError::Halted { .. } => "JOURNAL_HALTED",
        ControlError::Snapshot { .. } => "SNAPSHOT",
    }
}

/// One class of `wintermute.errors`: the getter of its type object.
type Class = for<'py> fn(Python<'py>) -> Bound<'py, PyType>;

/// The [`Class`] of the exception type `T`.
fn class<T: pyo3::PyTypeInfo>(py: Python<'_>) -> Bound<'_, PyType> {
    T::type_object(py)
}

impl Error {
    /// The exception class, message and reason code; `Err` for the errors that are not
    /// Wintermute exceptions (`TypeError`, `ValueError`, a Python exception passed through).
    fn classify(self) -> std::result::Result<(Class, String, &'static str), PyErr> {
        use py_errors as c;
        let message = |e: &dyn Display| e.to_string();
        Ok(match self {
            Error::Python(e) => return Err(e),
            Error::Type(m) => return Err(PyTypeError::new_err(m)),
            Error::InvalidOrder(m) => (class::<c::InvalidOrderError> as Class, m, "INVALID_ORDER"),
            Error::Price { message, reason } => (class::<c::InvalidPriceError> as Class, message, reason),
            Error::Order(e) => {
                let (class, reason) = order_class(&e);
                (class, message(&e), reason)
            }
            Error::RecordBatch(e) => match &e {
                RecordBatchError::Record { source, .. } => {
                    (class::<c::InvalidOrderError> as Class, message(&e), source.reason().code())
                }
                RecordBatchError::Submit { source, .. } => {
                    (submit_class(source).0, message(&e), submit_class(source).1)
                }
            },
            Error::Instrument(e) => {
                let (class, reason) = instrument_class(&e);
                (class, message(&e), reason)
            }
            Error::UnknownInstrumentId(id) => (
                class::<c::UnknownInstrumentError> as Class,
                format!("unknown instrument id={id}"),
                "UNKNOWN_INSTRUMENT",
            ),
            Error::Decimal { field, grid, source } => {
                let text = format!("{field}: {source}");
                match (&source, grid) {
                    (DecimalError::OffGrid { .. }, Grid::Price) => {
                        (class::<c::PriceOffTickError> as Class, text, "PRICE_OFF_TICK")
                    }
                    (DecimalError::OffGrid { .. }, Grid::Qty) => {
                        (class::<c::QuantityOffLotError> as Class, text, "QTY_OFF_LOT")
                    }
                    _ => (class::<c::InvalidDecimalError> as Class, text, "INVALID_DECIMAL"),
                }
            }
            Error::Snapshot(e) => (class::<c::WintermuteError> as Class, message(&e), "INVALID_SNAPSHOT"),
            Error::SnapshotJson { reason, message } => (class::<c::WintermuteError> as Class, message, reason),
            Error::Feed(e) => {
                let (class, reason) = feed_class(&e);
                (class, message(&e), reason)
            }
            Error::FeedArgument(m) => (class::<c::FeedError> as Class, m, "FEED"),
            Error::TickBook(e) => match tick_book_class(&e) {
                Some((class, reason)) => (class, message(&e), reason),
                None => return Err(PyValueError::new_err(e.to_string())),
            },
            Error::TickBatch(e) => match &e {
                BatchError::Update { error, .. } => match tick_book_class(error) {
                    Some((class, reason)) => (class, message(&e), reason),
                    None => return Err(PyValueError::new_err(e.to_string())),
                },
                _ => return Err(PyValueError::new_err(e.to_string())),
            },
            Error::Journal(e) => {
                let (class, reason) = journal_class(&e);
                (class, message(&e), reason)
            }
            Error::Journaled(e) => match e {
                JournaledError::Journal(inner) => return Error::Journal(inner).classify(),
                JournaledError::Order(inner) => return Error::Order(inner).classify(),
                JournaledError::Instrument(inner) => return Error::Instrument(inner).classify(),
                JournaledError::Snapshot(inner) => return Error::Snapshot(inner).classify(),
                JournaledError::UnknownInstrumentId { id } => return Error::UnknownInstrumentId(id).classify(),
                _ => (class::<c::JournalError> as Class, message(&e), "JOURNAL"),
            },
            Error::Pipeline(e) => match &e {
                PipelineError::Instrument(inner) => {
                    let (class, reason) = instrument_class(inner);
                    (class, message(inner), reason)
                }
                PipelineError::Journal(inner) => {
                    let (class, reason) = journal_class(inner);
                    (class, message(inner), reason)
                }
                PipelineError::Config { .. } => (class::<c::ConfigError> as Class, message(&e), "CONFIG"),
                PipelineError::Risk(_) => (class::<c::WintermuteError> as Class, message(&e), "RISK"),
                _ => (class::<c::WintermuteError> as Class, message(&e), "PIPELINE"),
            },
            Error::Control(e) => (class::<c::ControlError> as Class, message(&e), control_reason(&e)),
            Error::Submit(e) => {
                let (class, reason) = submit_class(&e);
                (class, message(&e), reason)
            }
            Error::PendingFull(e) => (class::<c::WintermuteError> as Class, message(&e), "EVENTS_PENDING"),
            Error::Config(e) => (class::<c::ConfigError> as Class, message(&e), "CONFIG"),
            Error::Backtest(e @ BacktestError::Config { .. }) => {
                (class::<c::ConfigError> as Class, message(&e), "CONFIG")
            }
            Error::Backtest(e @ BacktestError::Data { .. }) => {
                (class::<c::FeedError> as Class, message(&e), "MARKET_DATA")
            }
            Error::StrategyCommand(e) => (class::<c::InvalidOrderError> as Class, message(&e), "STRATEGY_COMMAND"),
            Error::Other { message, reason } => (class::<c::WintermuteError> as Class, message, reason),
        })
    }
}

impl From<Error> for PyErr {
    fn from(e: Error) -> PyErr {
        // A config error also names its key (`ConfigError.key`).
        let key = match &e {
            Error::Config(c) => Some(c.key.clone()),
            Error::Backtest(BacktestError::Config { field, .. }) => Some(field.to_string()),
            _ => None,
        };
        let (class, message, reason) = match e.classify() {
            Ok(c) => c,
            Err(plain) => return plain,
        };
        Python::attach(|py| {
            let build = || -> PyResult<PyErr> {
                let kwargs = PyDict::new(py);
                kwargs.set_item("reason", reason)?;
                if let Some(key) = &key {
                    kwargs.set_item("key", key)?;
                }
                Ok(PyErr::from_value(class(py).call((message,), Some(&kwargs))?))
            };
            build().unwrap_or_else(|failed| failed)
        })
    }
}
