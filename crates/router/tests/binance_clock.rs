//! The Binance REST client's server-time offset measured before its first order (what a live
//! route does), against the simulator with its clock moved 8 s ahead of ours: outside the
//! default `recvWindow` (5 s) an unsynced client's orders are refused `-1021`.

mod common;

use common::*;
use wintermute_router::binance::client::TimeInForce;
use wintermute_router::order_state::{OrderStatus, ReportKind, Side};

fn resting(id: &str) -> wintermute_router::order::NewOrder {
    order(id, Side::Sell, "0.1", limit("58010", TimeInForce::Gtc))
}

#[test]
fn a_client_that_syncs_before_its_first_order_passes_a_skewed_venue_clock() {
    run(async {
        let sim = sim_with(|_| {}).await;
        sim.set_clock_skew_ms(8_000);
        let mut plain = hmac_client(&sim);
        let reports = plain.place(&resting("plain-1")).await.unwrap();
        assert!(
            matches!(&reports[0].kind, ReportKind::Rejected { code: Some(-1021), .. }),
            "an unsynced clock 8 s behind is refused: {reports:?}"
        );
        let mut live = hmac_client(&sim);
        live.set_sync_before_first_order(true);
        assert_eq!(live.time_offset_ms(), 0);
        live.place(&resting("live-1")).await.unwrap();
        assert_eq!(live.orders().get("live-1").unwrap().status(), OrderStatus::New);
        let offset = live.time_offset_ms();
        assert!((7_000..=9_000).contains(&offset), "measured offset {offset} ms");
        // Measured once: the venue's clock moving again is not followed by itself.
        sim.set_clock_skew_ms(16_000);
        let reports = live.place(&resting("live-2")).await.unwrap();
        assert!(matches!(&reports[0].kind, ReportKind::Rejected { code: Some(-1021), .. }), "{reports:?}");
        assert_eq!(live.time_offset_ms(), offset);
    });
}
