//! The service venue's ledger (`wintermute_engine::venue_ledger`) from Python: built from the
//! instruments, fee rates and starting balances as exact decimals (`str`, `int` or
//! `decimal.Decimal`, read as every binding reads them); the venue's order table (`VenueOrders`
//! built with it) takes holds and applies fills through it, and the venue reads balances and
//! positions back as `(units, scale)` pairs.

use std::sync::{Arc, Mutex, MutexGuard, PoisonError};

use pyo3::prelude::*;
use pyo3::types::PyBytes;
use wintermute_core::decimal::Decimal;
use wintermute_engine::venue_ledger::{InstrumentAssets, LedgerConfig, LedgerError, Shown, VenueLedger};
use wintermute_engine::venue_state::StateError;

use crate::convert::decimal;
use crate::errors::{Error, Result};

/// An exact decimal: `str`, `int` or `decimal.Decimal`.
type PyDec<'py> = Bound<'py, PyAny>;
/// `(units, scale)`: `units x 10^-scale`.
type PyShown = (i128, u32);
/// `(instrument, qty, cost, realized, fees)`.
type PyPosition = (u32, PyShown, PyShown, PyShown, PyShown);

fn shown(s: Shown) -> PyShown {
    (s.units, s.scale)
}

fn start(list: Vec<(String, PyDec<'_>)>) -> Result<Vec<(String, Decimal)>> {
    (list.into_iter())
        .map(|(asset, d)| {
            let amount = decimal(&d, &format!("balance {asset}"))?;
            Ok((asset, amount))
        })
        .collect()
}

pub(crate) fn ledger_error(e: LedgerError) -> Error {
    Error::other(e.code, e.message)
}

/// A venue state document that does not load (`wintermute_engine::venue_state`).
pub(crate) fn state_error(e: StateError) -> Error {
    Error::other("VENUE_STATE", e)
}

/// Balances and positions per account.
#[pyclass(module = "wintermute._core", name = "VenueLedger", frozen)]
pub struct PyVenueLedger {
    /// Shared with the Rust order entry (`OrderEntry`).
    pub(crate) inner: Arc<Mutex<VenueLedger>>,
}

impl PyVenueLedger {
    pub(crate) fn lock(&self) -> MutexGuard<'_, VenueLedger> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

#[pymethods]
impl PyVenueLedger {
    /// `instruments`: `(base, quote, tick, lot)` in the engine's id order; `defaults` and
    /// `accounts`: starting balances `(asset, amount)`; amounts as exact decimals.
    #[new]
    fn new(
        instruments: Vec<(String, String, PyDec<'_>, PyDec<'_>)>,
        maker_bps: PyDec<'_>,
        taker_bps: PyDec<'_>,
        defaults: Vec<(String, PyDec<'_>)>,
        accounts: Vec<(u32, Vec<(String, PyDec<'_>)>)>,
    ) -> Result<Self> {
        let instruments = (instruments.into_iter())
            .map(|(base, quote, tick, lot)| {
                Ok(InstrumentAssets { base, quote, tick: decimal(&tick, "tick")?, lot: decimal(&lot, "lot")? })
            })
            .collect::<Result<_>>()?;
        let accounts = accounts.into_iter().map(|(a, l)| Ok((a, start(l)?))).collect::<Result<_>>()?;
        let (maker_bps, taker_bps) = (decimal(&maker_bps, "maker_bps")?, decimal(&taker_bps, "taker_bps")?);
        let defaults = start(defaults)?;
        let config = LedgerConfig { instruments, maker_bps, taker_bps, defaults, accounts };
        Ok(Self { inner: Arc::new(Mutex::new(VenueLedger::new(&config).map_err(ledger_error)?)) })
    }

    /// The accounts' holdings and positions as a state document (JSON text).
    fn to_state(&self, py: Python<'_>) -> String {
        py.detach(|| self.lock().to_state())
    }

    /// Replaces every account's holdings and positions with a state document's
    /// (`VENUE_STATE` if it does not load; the ledger is then unchanged).
    fn load_state(&self, py: Python<'_>, state: &str) -> Result<()> {
        py.detach(|| self.lock().load_state(state)).map_err(state_error)
    }

    /// The accounts' holdings and positions as a binary state document (what the venue saves; see the engine's
    /// `venue_state`).
    fn to_state_bin<'py>(&self, py: Python<'py>) -> Bound<'py, PyBytes> {
        PyBytes::new(py, &py.detach(|| self.lock().to_state_bin()))
    }

    /// `load_state` for a binary state document from `to_state_bin`.
    fn load_state_bin(&self, py: Python<'_>, state: &[u8]) -> Result<()> {
        py.detach(|| self.lock().load_state_bin(state)).map_err(state_error)
    }

    /// `INSUFFICIENT_BALANCE` unless a hold of `units` more (the order table's units) is free.
    fn check(&self, account: u32, instrument: u32, side: u8, units: i128) -> Result<()> {
        self.lock().check(account, instrument, side, units).map_err(ledger_error)
    }

    /// `(asset, free, locked)` of every asset `account` holds or held, sorted by asset.
    fn balances(&self, account: u32) -> Vec<(String, PyShown, PyShown)> {
        let ledger = self.lock();
        ledger.balances(account).into_iter().map(|(a, f, l)| (a.to_owned(), shown(f), shown(l))).collect()
    }

    /// `(instrument, qty, cost, realized, fees)` of `account`'s positions.
    fn positions(&self, account: u32) -> Result<Vec<PyPosition>> {
        let list = self.lock().positions(account).map_err(ledger_error)?;
        Ok(list
            .into_iter()
            .map(|p| (p.instrument, shown(p.qty), shown(p.cost), shown(p.realized), shown(p.fees)))
            .collect())
    }
}

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add_class::<PyVenueLedger>()
}
