//! The record formats and code tables of `wintermute_core::records`, exported as data:
//! `wintermute.batch` builds its numpy dtypes and name tables from them at import.
//!
//! - `COMMAND_FIELDS`, `EVENT_FIELDS`: `[(name, numpy type), ...]` in offset order;
//! - `COMMAND_CODES`: `[(name, code), ...]` (`NEW`, `BUY`, `FLAG_POST_ONLY`, ...);
//! - `EVENT_KINDS`, `REJECT_REASONS`, `CANCEL_REASONS`: `[(code, name), ...]`;
//! - `COMMAND_SIZE`, `EVENT_SIZE`: record sizes in bytes.

use pyo3::prelude::*;
use wintermute_core::records::tables::{
    reject_reasons, CANCEL_REASONS, COMMAND_CODES, COMMAND_FIELDS, EVENT_FIELDS, EVENT_KINDS,
};
use wintermute_core::records::{COMMAND_SIZE, EVENT_SIZE};

pub(crate) fn register(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("COMMAND_SIZE", COMMAND_SIZE)?;
    m.add("EVENT_SIZE", EVENT_SIZE)?;
    m.add("COMMAND_FIELDS", COMMAND_FIELDS.to_vec())?;
    m.add("EVENT_FIELDS", EVENT_FIELDS.to_vec())?;
    m.add("COMMAND_CODES", COMMAND_CODES.to_vec())?;
    m.add("EVENT_KINDS", EVENT_KINDS.to_vec())?;
    m.add("REJECT_REASONS", reject_reasons())?;
    let cancel: Vec<(u8, &str)> = CANCEL_REASONS.iter().map(|r| (*r as u8, r.code())).collect();
    m.add("CANCEL_REASONS", cancel)
}
