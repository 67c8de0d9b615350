//! Controls: the changes of risk settings a running engine accepts (limits, kill switches,
//! reference prices), as one value each.
//!
//! A [`ControlRecord`] is what [`super::RiskEngine::apply_control`] applies, what a running
//! pipeline's [`crate::pipeline::Control`] sends, and what the journal writes in order with the
//! commands (its byte layout is the journal's business: [`crate::journal::control`]), so that
//! recovery re-applies each change where it happened. Applying a control sets a value: the
//! same control twice, or out of order with book events, leaves the same state.

use wintermute_core::{AccountId, InstrumentId, Price};

use super::limits::AccountLimits;

/// One runtime change of risk state. Serializes (for `wintermute journal` exports) as an object
/// tagged `"control": "set_limits" | "set_default_limits" | "account_kill" | "global_kill" |
/// "reference_price"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(tag = "control", rename_all = "snake_case")]
pub enum ControlRecord {
    /// Sets (or replaces) an account's limits; an unseen account is created flat.
    SetLimits { account: AccountId, limits: AccountLimits },
    /// Sets the limits an unseen account starts with (`None`: unseen accounts are refused).
    SetDefaultLimits { limits: Option<AccountLimits> },
    /// Engages (`true`) or releases an account's kill switch.
    AccountKill { account: AccountId, engaged: bool },
    /// Engages (`true`) or releases the global kill switch.
    GlobalKill { engaged: bool },
    /// Moves an instrument's reference price (price band centre and mark).
    ReferencePrice { instrument: InstrumentId, price: Price },
}

impl ControlRecord {
    /// The instrument the record names (0 when it names none).
    pub fn instrument(&self) -> InstrumentId {
        match *self {
            ControlRecord::ReferencePrice { instrument, .. } => instrument,
            _ => 0,
        }
    }
}
