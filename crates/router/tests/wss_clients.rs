//! The WebSocket order clients over `wss://`, as against the real venues, without the internet:
//! a private certificate authority made for the test (rcgen) signs a certificate for 127.0.0.1
//! and localhost; the crate's TLS front (`sim::tls_front`) on 127.0.0.1 forwards to a
//! simulator's WebSocket API. The clients reach it through `wss://` with that authority's
//! certificate, and refuse it, with the certificate error, without the authority or when the
//! certificate names another host.

mod coinbase_common;
mod common;
mod kraken_common;

use std::net::SocketAddr;
use std::path::PathBuf;

use wintermute_router::binance::client::BinanceClientError;
use wintermute_router::binance::ws_client::BinanceWsClient;
use wintermute_router::coinbase::user_ws::{CoinbaseUserWs, UserWsError, COINBASE_USER_WS_LIVE};
use wintermute_router::kraken::ws_client::{KrakenWsClient, KrakenWsError};
use wintermute_router::order::TimeInForce;
use wintermute_router::order_state::{OrderState, OrderStatus, ReportKind, Side};
use wintermute_router::signing::{BinanceSigner, CoinbaseJwtSigner};
use wintermute_router::sim::tls_front::tls_front;
use wintermute_testkit::tls::test_pki;

/// A certificate authority's PEM, written to a file of its own, and a TLS front for `backend`
/// with a certificate it signed for `names`; returns (the PEM file, the front's address).
async fn front(names: &[&str], backend: SocketAddr, tag: &str) -> (PathBuf, SocketAddr) {
    let pki = test_pki(names);
    let dir = std::env::temp_dir().join(format!("wm-wss-{}-{tag}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let ca_file = dir.join("ca.pem");
    std::fs::write(&ca_file, &pki.ca_pem).unwrap();
    (ca_file, tls_front(pki.server, backend).await.unwrap())
}

fn binance_client(url: &str, ca: Option<&std::path::Path>) -> BinanceWsClient {
    let signer = BinanceSigner::hmac_sha256(common::HMAC_SECRET.as_bytes().to_vec());
    BinanceWsClient::open(url, ca, common::HMAC_KEY, signer, vec![common::instrument()]).unwrap()
}

#[test]
fn binance_orders_go_through_wss_with_the_authority_and_fail_without_it() {
    common::run(async {
        let sim = common::sim_with(|_| {}).await;
        let (ca, addr) = front(&["localhost", "127.0.0.1"], sim.ws_addr().unwrap(), "binance").await;
        let url = format!("wss://localhost:{}/ws-api/v3", addr.port());
        let mut ws = binance_client(&url, Some(&ca));
        ws.sync_time().await.unwrap();
        ws.subscribe_user_data().await.unwrap();
        let order = common::order("s-1", Side::Buy, "0.01", common::limit("57000", TimeInForce::Gtc));
        let reports = ws.place(&order).await.unwrap();
        assert_eq!(reports[0].kind, ReportKind::New, "{reports:?}");
        assert_eq!(sim.open_order_count("BTCUSDT"), 1);

        // Mozilla's roots alone do not know the test authority: refused, nothing sent.
        let mut stranger = binance_client(&url, None);
        let e = stranger.sync_time().await.unwrap_err();
        let BinanceClientError::Transport { error, .. } = &e else { panic!("{e:?}") };
        assert!(error.contains("invalid peer certificate") && error.contains("UnknownIssuer"), "{error}");
        assert!(!stranger.is_connected());
        // A certificate for another name is refused too (SNI and the check use the URL's host).
        let (ca2, other) = front(&["venue.example"], sim.ws_addr().unwrap(), "binance-other").await;
        let mut misnamed = binance_client(&format!("wss://127.0.0.1:{}/ws-api/v3", other.port()), Some(&ca2));
        let e = misnamed.sync_time().await.unwrap_err().to_string();
        assert!(e.contains("invalid peer certificate") && e.contains("not valid for name"), "{e}");
        assert_eq!(sim.open_order_count("BTCUSDT"), 1);
    });
}

#[test]
fn kraken_orders_go_through_wss_with_the_authority_and_fail_without_it() {
    common::run(async {
        let mut sim = kraken_common::sim_with(kraken_common::roomy).await;
        let ws_addr = sim.start_ws().await.unwrap();
        let mut rest = kraken_common::client_with(&sim, kraken_common::ROOMY);
        let token = rest.websockets_token().await.unwrap();
        let (ca, addr) = front(&["localhost", "127.0.0.1"], ws_addr, "kraken").await;
        let url = format!("wss://localhost:{}/v2", addr.port());
        let mut ws = KrakenWsClient::open(&url, Some(&ca), &token, vec![kraken_common::ws_pair()]).await.unwrap();
        let order = kraken_common::order("k-1", Side::Buy, "0.1", kraken_common::limit("58000", TimeInForce::Gtc));
        let reports = ws.place(&order).await.unwrap();
        assert_eq!(reports[0].kind, ReportKind::New, "{reports:?}");
        assert_eq!(sim.open_order_count(), 1);
        // A reconnect goes to the same wss:// URL, through TLS again.
        ws.reconnect(&token).await.unwrap();
        assert_eq!(ws.cancel("k-1").await.unwrap()[0].kind, ReportKind::Canceled);
        assert_eq!(sim.open_order_count(), 0);

        let refused = KrakenWsClient::open(&url, None, &token, vec![kraken_common::ws_pair()]).await;
        let Err(KrakenWsError::Transport(e)) = refused else { panic!("{refused:?}") };
        assert!(e.contains("invalid peer certificate") && e.contains("UnknownIssuer"), "{e}");
        let missing =
            KrakenWsClient::open(&url, Some(std::path::Path::new("/nonexistent/ca.pem")), &token, vec![]).await;
        assert!(
            matches!(&missing, Err(KrakenWsError::Transport(e)) if e.contains("/nonexistent/ca.pem")),
            "{missing:?}"
        );
    });
}

#[test]
fn coinbase_user_channel_goes_through_wss_with_the_authority_and_fails_without_it() {
    common::run(async {
        let key = coinbase_common::pkcs8();
        let (mut sim, mut rest) = coinbase_common::sim_and_client(&key, |_| {}).await;
        let ws_addr = sim.start_ws().await.unwrap();
        let (ca, addr) = front(&["localhost", "127.0.0.1"], ws_addr, "coinbase").await;
        let url = format!("wss://localhost:{}/", addr.port());
        let signer = || CoinbaseJwtSigner::new(coinbase_common::KEY_NAME, &key).unwrap();
        let mut ws = CoinbaseUserWs::open(&url, Some(&ca), signer(), vec![coinbase_common::product()]).unwrap();
        ws.track(OrderState::new("cb-1", Side::Buy, coinbase_common::lots("1")));
        ws.connect().await.unwrap();
        let order = coinbase_common::order("cb-1", Side::Buy, "1", coinbase_common::limit("14.7000", TimeInForce::Gtc));
        rest.place(&order).await.unwrap();
        tokio::time::timeout(std::time::Duration::from_secs(5), async {
            while ws.orders().get("cb-1").unwrap().status() != OrderStatus::New {
                ws.next_reports().await.unwrap();
            }
        })
        .await
        .expect("the order's update came through TLS");

        let mut stranger = CoinbaseUserWs::open(&url, None, signer(), vec![]).unwrap();
        let e = stranger.connect().await.unwrap_err();
        let UserWsError::Transport(e) = &e else { panic!("{e:?}") };
        assert!(e.contains("invalid peer certificate") && e.contains("UnknownIssuer"), "{e}");
        assert!(CoinbaseUserWs::open("https://advanced-trade-ws-user.coinbase.com", None, signer(), vec![]).is_err());
        assert!(CoinbaseUserWs::open(COINBASE_USER_WS_LIVE, None, signer(), vec![]).is_ok());
    });
}
