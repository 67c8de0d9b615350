//! What a quote model reads ([`ModelInput`]) and what it returns ([`RawQuote`]).

/// One side's trade intensity `λ(δ) = A·e^(−kδ)`: `A` trades per second at the mid, decaying
/// by `k` per tick of depth.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Intensity {
    /// Trades per second at depth 0.
    pub a: f64,
    /// Decay per tick.
    pub k: f64,
}

/// The market state a quote is priced from.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ModelInput {
    /// The fair value `s`, ticks.
    pub fair_value: f64,
    /// Inventory `q` in quote units (long > 0).
    pub q: f64,
    /// Volatility σ, ticks per √second.
    pub sigma: f64,
    /// Intensity of the trades that would hit our bid.
    pub bid_intensity: Intensity,
    /// Intensity of the trades that would lift our ask.
    pub ask_intensity: Intensity,
    /// Now, nanoseconds since the Unix epoch (the A–S horizon is read from it).
    pub now_ns: i64,
}

/// A model's bid and ask, in ticks, before rounding onto the grid.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RawQuote {
    /// Bid price, ticks.
    pub bid: f64,
    /// Ask price, ticks.
    pub ask: f64,
}
