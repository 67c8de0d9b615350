//! [`QuoteModel`]: the configured model, one of the three, built from [`ModelConfig`].

use super::avellaneda_stoikov::AvellanedaStoikov;
use super::fixed::FixedSpread;
use super::glft::Glft;
use super::model_input::{ModelInput, RawQuote};
use crate::config::{MmConfigError, ModelConfig};

/// The quote model the quoter prices with.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum QuoteModel {
    /// Fixed spread, linear skew (the baseline).
    Fixed(FixedSpread),
    /// Avellaneda–Stoikov (2008).
    AvellanedaStoikov(AvellanedaStoikov),
    /// Guéant–Lehalle–Fernandez-Tapia, infinite horizon.
    Glft(Glft),
}

impl QuoteModel {
    /// The model a configuration names (its values checked again here).
    pub fn from_config(cfg: &ModelConfig) -> Result<Self, MmConfigError> {
        let bad = |key: &str, value: f64| MmConfigError::Invalid {
            key: key.to_string(),
            value: value.to_string(),
            reason: "must be a finite number > 0",
        };
        let positive = |v: f64| v.is_finite() && v > 0.0;
        Ok(match *cfg {
            ModelConfig::FixedSpread { half_spread_ticks, skew_ticks_per_unit } => {
                QuoteModel::Fixed(FixedSpread { half_spread: half_spread_ticks, skew_per_unit: skew_ticks_per_unit })
            }
            ModelConfig::AvellanedaStoikov { gamma, session_s } => {
                if !positive(gamma) {
                    return Err(bad("model.gamma", gamma));
                }
                if !positive(session_s) {
                    return Err(bad("model.session_s", session_s));
                }
                QuoteModel::AvellanedaStoikov(AvellanedaStoikov { gamma, session_s })
            }
            ModelConfig::Glft { gamma } => {
                if !positive(gamma) {
                    return Err(bad("model.gamma", gamma));
                }
                QuoteModel::Glft(Glft { gamma })
            }
        })
    }

    /// The model's bid and ask for `input`, in ticks, unrounded.
    #[inline]
    pub fn quote(&self, input: &ModelInput) -> RawQuote {
        match self {
            QuoteModel::Fixed(m) => m.quote(input),
            QuoteModel::AvellanedaStoikov(m) => m.quote(input),
            QuoteModel::Glft(m) => m.quote(input),
        }
    }
}
