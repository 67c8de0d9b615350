//! Quote models: where to bid and ask around the fair value, given the inventory, the
//! volatility and the trade intensity.
//!
//! Every model reads one [`ModelInput`] and returns one [`RawQuote`]: a bid and an ask in ticks,
//! **not rounded** (the models compute in `f64`, they need `ln`, `exp` and square roots). The
//! [`crate::quoter`] rounds them onto the tick grid away from the touch, applies the spread
//! bounds and inventory limits, and everything after that is integer.
//!
//! | model | module | inventory skew | horizon |
//! |---|---|---|---|
//! | fixed spread (baseline) | [`fixed`] | linear, configured | none |
//! | Avellaneda–Stoikov (2008) | [`avellaneda_stoikov`] | `q·γσ²(T−t)` | finite, per session |
//! | Guéant–Lehalle–Fernandez-Tapia | [`glft`] | `q·σ·c2` | infinite |
//!
//! **Units** (all models): prices in ticks of our instrument; `q` in quote units (inventory lots
//! divided by `inventory_unit_lots`; long is positive); σ in ticks per √second; γ per
//! (tick · quote unit); intensity `A` in trades per second and `k` per tick; time in seconds.
//!
//! **Skew direction** (all models): long inventory (`q > 0`) moves **both** quotes **down** (we
//! buy less eagerly and sell more eagerly), short inventory moves both up.
//!
//! [`QuoteModel`] is the one type the quoter holds: an enum over the three, so choosing a model
//! is a configuration value and a quote is a `match`, not a virtual call.

pub mod avellaneda_stoikov;
pub mod fixed;
pub mod glft;
pub mod model_input;
pub mod quote_model;

pub use avellaneda_stoikov::AvellanedaStoikov;
pub use fixed::FixedSpread;
pub use glft::Glft;
pub use model_input::{Intensity, ModelInput, RawQuote};
pub use quote_model::QuoteModel;
