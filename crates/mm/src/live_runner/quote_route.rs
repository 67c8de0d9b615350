//! The runner's quote routes (`quote_on = ["<venue>", ...]`), checked against the config.

use crate::live_hedge::HedgeRoute;
use crate::types::VenueId;

/// `quotes` must be one route per pricing venue of `quote_venues`, in that order (both empty:
/// quoting on ours).
pub(super) fn check(quotes: &[HedgeRoute], quote_venues: &[usize]) -> Result<(), String> {
    let routed: Vec<VenueId> = quotes.iter().map(|q| q.venue).collect();
    let wanted: Vec<VenueId> = quote_venues.iter().map(|&i| VenueId::External(i as u8)).collect();
    if let Some(q) = quotes.iter().find(|q| q.execution.venue() != q.venue) {
        return Err(format!("a route to venue={:?} whose execution is venue={:?}", q.venue, q.execution.venue()));
    }
    match routed == wanted {
        true => Ok(()),
        false if wanted.is_empty() => Err(format!("routes to {routed:?} but quote_on is our venue")),
        false => Err(format!(
            "routes to {routed:?} but quote_on is pricing venues {quote_venues:?}: one route each, in order"
        )),
    }
}
