//! The service venue's state as a document: its order table ([`crate::venue_orders`]), ledger
//! ([`crate::venue_ledger`]) and book mirrors ([`crate::venue_books`]) each save to and load
//! from a JSON document of their own, so that a venue over a pruned journal starts from its
//! saved state and the journal records after it (see `docs/service.md`, "Restarts").
//!
//! Every document says which part it is and its format version (`{"part": "orders",
//! "version": 1, ...}`). Loading checks both first, then the fields, then that the document
//! fits the venue it is loaded into (instrument ids, asset names); any failure is a
//! [`StateError`] and leaves the loaded-into value as it was.

use serde::de::DeserializeOwned;
use serde::Deserialize;

/// The format version this build writes and reads.
pub const STATE_VERSION: u32 = 1;

/// A state document that does not load: not one of ours, another version, damaged, or saved
/// by a venue with other instruments or assets.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("venue state ({part}): {why}")]
pub struct StateError {
    /// `orders`, `ledger` or `books`.
    pub part: &'static str,
    /// What is wrong.
    pub why: String,
}

pub(crate) fn state_error(part: &'static str, why: impl Into<String>) -> StateError {
    StateError { part, why: why.into() }
}

#[derive(Deserialize)]
struct Tag {
    part: Option<String>,
    version: Option<u32>,
}

/// Parses a document of `part`: its tag first (a clear error for a foreign document or
/// another version), then its fields.
pub(crate) fn parse<T: DeserializeOwned>(part: &'static str, json: &str) -> Result<T, StateError> {
    let tag: Tag = serde_json::from_str(json).map_err(|e| state_error(part, format!("not a state document: {e}")))?;
    match (tag.part.as_deref(), tag.version) {
        (Some(p), Some(STATE_VERSION)) if p == part => {}
        (Some(p), Some(v)) if p == part => {
            return Err(state_error(part, format!("version {v}; this build reads version {STATE_VERSION}")))
        }
        (p, _) => return Err(state_error(part, format!("the document is part={p:?}, expected {part:?}"))),
    }
    let mut de = serde_json::Deserializer::from_str(json);
    serde_path_to_error::deserialize(&mut de).map_err(|e| state_error(part, e.to_string()))
}
