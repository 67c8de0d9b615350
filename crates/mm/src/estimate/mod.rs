//! Online estimates of the two market quantities the quote models need: the volatility σ
//! ([`volatility`]) and the trade-arrival intensity `λ(δ) = A·e^(−kδ)` ([`intensity`]). Both
//! are fixed-size after construction: feeding them never allocates.

pub mod intensity;
pub mod volatility;

pub use intensity::IntensityEstimator;
pub use volatility::VolatilityEstimator;
