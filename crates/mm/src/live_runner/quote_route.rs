//! The runner's quote route (`quote_on = "<venue>"`), checked against the config.

use crate::live_hedge::HedgeRoute;
use crate::types::VenueId;

/// `quote` must be a route to pricing venue `quote_venue` (both absent: quoting on ours).
pub(super) fn check(quote: Option<&HedgeRoute>, quote_venue: Option<usize>) -> Result<(), String> {
    match (quote, quote_venue) {
        (None, None) => Ok(()),
        (Some(q), Some(i)) if q.venue == VenueId::External(i as u8) && q.execution.venue() == q.venue => Ok(()),
        (Some(q), _) => Err(format!(
            "a route to venue={:?} (execution venue={:?}) but quote_on is pricing venue {quote_venue:?}",
            q.venue,
            q.execution.venue()
        )),
        (None, Some(i)) => Err(format!("quote_on is pricing venue {i}: it needs a route")),
    }
}
