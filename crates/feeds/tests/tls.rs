//! The connector over TLS (`wss://` and `https://`), as against the real venues, without the
//! internet: a private certificate authority made for the test signs a certificate for
//! 127.0.0.1; a TLS-terminating proxy on 127.0.0.1 forwards to the replay server. The books must
//! come out exactly as the offline `verify` of the recording says, and a certificate the client
//! does not trust must fail the connect, never be accepted silently.

mod common;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use common::*;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use wintermute_feeds::net::client::{run_feed, stop_pair, Backoff, FeedConfig};
use wintermute_feeds::net::replay_server::{Pace, ReplayOptions, ReplayServer};
use wintermute_feeds::sync::{BinanceBooks, FeedHandler, KrakenBooks, SyncState};
use wintermute_feeds::verify::handler_report;
use wintermute_feeds::{verify_path, FeedError, Venue};
use wintermute_testkit::tls::{test_pki, TestPki};

const LIMIT: Duration = Duration::from_secs(20);

/// A certificate authority, and a server certificate it signed for 127.0.0.1.
fn pki() -> TestPki {
    test_pki(&["127.0.0.1", "localhost"])
}

/// Accepts TLS on 127.0.0.1 and forwards the plaintext to `backend` (`host:port`); returns the
/// proxy's port.
async fn tls_proxy(config: Arc<rustls::ServerConfig>, backend: String) -> u16 {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let acceptor = TlsAcceptor::from(config);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let (acceptor, backend) = (acceptor.clone(), backend.clone());
            tokio::spawn(async move {
                // A client that refuses our certificate aborts the handshake: nothing to forward.
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let Ok(mut plain) = TcpStream::connect(&backend).await else { return };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    port
}

fn authority(url: &str) -> String {
    let rest = url.split("://").nth(1).unwrap();
    rest.split('/').next().unwrap().to_string()
}

fn ca_file(pem: &str, name: &str) -> PathBuf {
    let path = std::env::temp_dir().join(format!("wintermute-tls-{name}-{}.pem", std::process::id()));
    std::fs::write(&path, pem).unwrap();
    path
}

fn config(venue: Venue, symbols: Vec<String>, ws_port: u16, rest_port: u16) -> FeedConfig {
    let mut c = FeedConfig::new(venue, symbols);
    c.ws_base = format!("wss://127.0.0.1:{ws_port}");
    c.rest_base = format!("https://127.0.0.1:{rest_port}");
    c.connect_timeout = Duration::from_secs(2);
    c.http_timeout = Duration::from_secs(2);
    c.backoff = Backoff { initial: Duration::from_millis(20), max: Duration::from_millis(200), jitter: 0.5 };
    c.max_attempts = Some(3);
    c
}

async fn served(path: &str, pki: &TestPki) -> (ReplayServer, u16, u16) {
    let server =
        ReplayServer::start(&read(path), ReplayOptions { pace: Pace::Fast, ..Default::default() }).await.unwrap();
    let ws = tls_proxy(Arc::clone(&pki.server), authority(&server.ws_url())).await;
    let rest = tls_proxy(Arc::clone(&pki.server), authority(&server.rest_url())).await;
    (server, ws, rest)
}

#[tokio::test]
async fn binance_over_wss_and_https_syncs_exactly_as_offline() {
    let pki = pki();
    let (server, ws, rest) = served(BINANCE, &pki).await;
    let total = server.stats().total as u64;
    let mut cfg = config(Venue::Binance, vec!["BTCUSDT".into(), "ETHUSDT".into(), "DOTUSDT".into()], ws, rest);
    let ca = ca_file(&pki.ca_pem, "binance");
    cfg.tls_ca_file = Some(ca.clone());
    let mut books = BinanceBooks::new();
    let (_handle, mut stop) = stop_pair();
    let done = |b: &BinanceBooks, c: &wintermute_feeds::net::client::FeedCounters| {
        c.frames == total && b.streams().len() == 3 && b.streams().iter().all(|s| s.state == SyncState::Live)
    };
    let counters = tokio::time::timeout(LIMIT, run_feed(&cfg, &mut books, &mut stop, done)).await.unwrap().unwrap();
    let _ = std::fs::remove_file(&ca);
    // Three REST snapshots fetched over https, every diff over wss, books = offline verify.
    assert_eq!((counters.snapshot_requests, counters.snapshots, counters.errors), (3, 3, 0));
    let mut offline = verify_path(BINANCE.as_ref()).unwrap();
    offline.streams.retain(|s| s.venue == Venue::Binance);
    assert_eq!(handler_report(&books), offline);
}

#[tokio::test]
async fn kraken_over_wss_verifies_every_checksum() {
    let pki = pki();
    let (server, ws, rest) = served(KRAKEN_BOOK, &pki).await;
    let total = server.stats().total as u64;
    let mut cfg = config(Venue::Kraken, subscribed(KRAKEN_BOOK, "pair"), ws, rest);
    let ca = ca_file(&pki.ca_pem, "kraken");
    cfg.tls_ca_file = Some(ca.clone());
    let mut books = KrakenBooks::new();
    let (_handle, mut stop) = stop_pair();
    let run = run_feed(&cfg, &mut books, &mut stop, |_, c| c.frames == total);
    tokio::time::timeout(LIMIT, run).await.unwrap().unwrap();
    let _ = std::fs::remove_file(&ca);
    let report = handler_report(&books);
    let ok: u64 = report.streams.iter().map(|s| s.checksum_ok).sum();
    let bad: u64 = report.streams.iter().map(|s| s.checksum_bad).sum();
    assert_eq!((ok, bad), (14_496, 0));
}

#[tokio::test]
async fn an_untrusted_certificate_fails_the_connect() {
    let pki = pki();
    let (_server, ws, rest) = served(KRAKEN_BOOK, &pki).await;
    // Mozilla's roots only: the private authority is not among them.
    let mut cfg = config(Venue::Kraken, vec!["XBT/USD".into()], ws, rest);
    cfg.max_attempts = Some(2);
    let mut books = KrakenBooks::new();
    let (_handle, mut stop) = stop_pair();
    let run = run_feed(&cfg, &mut books, &mut stop, |_, _| false);
    let err = tokio::time::timeout(LIMIT, run).await.unwrap().unwrap_err();
    match &err {
        FeedError::Network { attempts, message, .. } => {
            assert_eq!(*attempts, 2);
            assert!(message.to_lowercase().contains("certificate"), "{message}");
        }
        other => panic!("expected a network error, got {other}"),
    }
    assert!(books.streams().is_empty());
    // The same holds for a REST snapshot over https.
    let tls = wintermute_feeds::net::tls::client_config(None).unwrap();
    let url = format!("https://127.0.0.1:{rest}/api/v3/depth?symbol=BTCUSDT&limit=10");
    let e = wintermute_feeds::net::http::get(&url, Duration::from_secs(2), &tls).await.unwrap_err();
    assert!(e.to_string().to_lowercase().contains("certificate"), "{e}");
}
