//! The venue clients over HTTPS, as against the real venues, without the internet: a private
//! certificate authority made for the test (rcgen) signs a certificate for 127.0.0.1 and
//! localhost; a TLS front on 127.0.0.1 forwards to a venue simulator. The clients reach it
//! through `https://` with that authority's certificate, refuse it without the authority or
//! when the certificate names another host, and the live routes and the kill switch across
//! venues (`wintermute_router::live`) run through them with keys from key files.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use tokio::net::TcpListener;
use wintermute_core::decimal::Decimal;
use wintermute_mm::live_config::LiveSetup;
use wintermute_mm::types::VenueId;
use wintermute_router::binance::client::BinanceRestClient;
use wintermute_router::binance::sim::{BinanceSim, BinanceSimState, SimConfig, SimKey};
use wintermute_router::coinbase::sim::{CoinbaseSim, CoinbaseSimConfig, CoinbaseSimState};
use wintermute_router::http::HttpConnection;
use wintermute_router::kraken::sim::{KrakenSim, KrakenSimConfig, KrakenSimPair, KrakenSimState};
use wintermute_router::live::{
    check_grids, kill_all, live_routes, route_clients, split_quote_routes, KillOutcome, LiveRouteError, Mode,
    RouteClient, RouteTarget,
};
use wintermute_router::order::{Instrument, NewOrder, OrderType, TimeInForce};
use wintermute_router::order_state::Side;
use wintermute_router::signing::{BinanceSigner, CoinbaseJwtSigner};
use wintermute_router::sim::exchange::SimSymbol;
use wintermute_router::sim::SimShared;
use wintermute_router::venue::VenueClient;
use wintermute_testkit::tls::{test_pki, TestPki};

const BINANCE_KEY: &str = "binance-route-key";
const BINANCE_SECRET: &str = "binance-hmac-secret-never-printed";
const KRAKEN_KEY: &str = "kraken-route-key";
const KRAKEN_SECRET: &str = "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==";
const COINBASE_KEY_NAME: &str = "organizations/test/apiKeys/route";

/// Runs a test body on a current-thread runtime, bounded to 30 s.
fn run<F: std::future::Future<Output = ()>>(body: F) {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async { tokio::time::timeout(Duration::from_secs(30), body).await.expect("finished within 30 s") });
}

/// A certificate authority (PEM) and a server configuration with a certificate it signed for
/// `names`.
fn pki(names: &[&str]) -> (String, Arc<rustls::ServerConfig>) {
    let TestPki { ca_pem, server } = test_pki(names);
    (ca_pem, server)
}

/// The simulators' TLS front on 127.0.0.1, forwarding the plaintext to `backend`; its port.
async fn tls_front(config: Arc<rustls::ServerConfig>, backend: SocketAddr) -> u16 {
    wintermute_router::sim::tls_front::tls_front(config, backend).await.unwrap().port()
}

/// A scratch directory for this test's files.
fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wm-https-{name}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    dir
}

/// Writes `text` readable by its owner only (as key files must be).
fn private_file(path: &Path, text: &str) -> String {
    std::fs::write(path, text).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
    }
    path.to_str().unwrap().to_owned()
}

/// Our grid: one cent, 0.001; the simulators trade on it.
fn symbol(name: &str, base: &str, quote: &str) -> SimSymbol {
    let none: [(&str, &str); 0] = [];
    SimSymbol::from_levels(name, (base, quote), ("0.01", "0.001"), none, none).unwrap()
}

/// A Binance simulator whose account holds funds (a live route checks its orders against the
/// account's free balances).
async fn binance_sim() -> BinanceSim {
    let keys = vec![SimKey::Hmac { api_key: BINANCE_KEY.into(), secret: BINANCE_SECRET.as_bytes().to_vec() }];
    let mut cfg = SimConfig::new(vec![symbol("BTCUSDT", "BTC", "USDT")], keys);
    cfg.balances = vec![("BTC".into(), Decimal::new(1_000, 0)), ("USDT".into(), Decimal::new(100_000_000, 0))];
    BinanceSim::start(cfg).await.unwrap()
}

async fn kraken_sim() -> KrakenSim {
    let pair = KrakenSimPair {
        symbol: symbol("XBTUSD", "XBT", "USD"),
        name: "XBTUSD".into(),
        wsname: "XBT/USD".into(),
        ordermin: Decimal::parse("0.001").unwrap(),
        costmin: Decimal::parse("0.5").unwrap(),
    };
    let mut cfg = KrakenSimConfig::new(vec![pair], vec![(KRAKEN_KEY.into(), KRAKEN_SECRET.into())]);
    // Funded as the Binance account: Kraken routes check orders against the free balances.
    cfg.balances = vec![("XBT".into(), Decimal::new(1_000, 0)), ("USD".into(), Decimal::new(100_000_000, 0))];
    let mut sim = KrakenSim::start(cfg).await.unwrap();
    sim.start_ws().await.unwrap(); // the v2 order entry the route uses, at /v2
    sim
}

/// A fresh P-256 key as PKCS#8 PEM, and the simulator that knows its public key, whose tokens
/// must name `host`.
async fn coinbase_sim(host: &str) -> (CoinbaseSim, String) {
    use base64::Engine as _;
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 =
        ring::signature::EcdsaKeyPair::generate_pkcs8(&ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let pem = format!(
        "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
        base64::engine::general_purpose::STANDARD.encode(pkcs8.as_ref())
    );
    let signer = CoinbaseJwtSigner::new(COINBASE_KEY_NAME, pkcs8.as_ref()).unwrap();
    let mut cfg = CoinbaseSimConfig::new(
        vec![symbol("BTC-USD", "BTC", "USD")],
        vec![(COINBASE_KEY_NAME.into(), signer.public_key())],
    );
    cfg.host = host.into();
    // Funded as the Binance account: Coinbase routes check orders against the free balances.
    cfg.balances = vec![("BTC".into(), Decimal::new(1_000, 0)), ("USD".into(), Decimal::new(100_000_000, 0))];
    let mut sim = CoinbaseSim::start(cfg).await.unwrap();
    sim.start_ws().await.unwrap(); // the `user` channel the route reads
    (sim, pem)
}

fn binance_client(connection: HttpConnection) -> BinanceRestClient {
    let signer = BinanceSigner::hmac_sha256(BINANCE_SECRET.as_bytes().to_vec());
    BinanceRestClient::new(connection, BINANCE_KEY, signer, vec![Instrument::new("BTCUSDT", "0.01", "0.001").unwrap()])
}

/// A resting buy far below any price: 0.1 at 100.00 (on our grid; 10 notional, above the
/// simulators' minimum of 5).
fn resting_buy(symbol: &str, client_order_id: String) -> NewOrder {
    NewOrder {
        symbol: symbol.into(),
        client_order_id,
        side: Side::Buy,
        qty: 100,
        order_type: OrderType::Limit { price: 10_000, tif: TimeInForce::Gtc },
    }
}

async fn place<C: VenueClient>(client: &mut C, symbol: &str, id: u64) {
    let order = resting_buy(symbol, client.client_order_id(id, 0));
    let reports = client.place(&order).await.unwrap();
    assert!(!reports.is_empty(), "the venue answered the order");
}

#[test]
fn a_client_reaches_a_simulator_over_https_with_the_private_authority() {
    run(async {
        let (ca_pem, server) = pki(&["127.0.0.1", "localhost"]);
        let dir = scratch("reach");
        let ca = dir.join("ca.pem");
        std::fs::write(&ca, &ca_pem).unwrap();
        let sim = binance_sim().await;
        let port = tls_front(server, sim.addr()).await;
        // By address, and by a host name resolved when the connection opens.
        for (n, url) in [format!("https://127.0.0.1:{port}"), format!("https://localhost:{port}")].iter().enumerate() {
            let mut client = binance_client(HttpConnection::open(url, Some(&ca)).unwrap());
            place(&mut client, "BTCUSDT", n as u64 + 1).await;
            // The connection is kept: a second request on it.
            client.reconcile("BTCUSDT").await.unwrap();
        }
        assert_eq!(sim.open_order_count("BTCUSDT"), 2);
        std::fs::remove_dir_all(&dir).unwrap();
    });
}

#[test]
fn without_the_authority_the_certificate_is_refused_and_nothing_is_sent() {
    run(async {
        let (_ca_pem, server) = pki(&["127.0.0.1"]);
        let sim = binance_sim().await;
        let port = tls_front(server, sim.addr()).await;
        // Mozilla's roots only: the private authority is not among them.
        let mut client = binance_client(HttpConnection::open(&format!("https://127.0.0.1:{port}"), None).unwrap());
        let order = resting_buy("BTCUSDT", "wm1".into());
        let e = client.place(&order).await.unwrap_err().to_string();
        assert!(e.contains("invalid peer certificate") && e.contains("UnknownIssuer"), "{e}");
        assert_eq!(sim.open_order_count("BTCUSDT"), 0);
    });
}

#[test]
fn a_certificate_for_another_host_name_is_refused() {
    run(async {
        let (ca_pem, server) = pki(&["api.binance.com"]);
        let dir = scratch("name");
        let ca = dir.join("ca.pem");
        std::fs::write(&ca, &ca_pem).unwrap();
        let sim = binance_sim().await;
        let port = tls_front(server, sim.addr()).await;
        let mut client = binance_client(HttpConnection::open(&format!("https://127.0.0.1:{port}"), Some(&ca)).unwrap());
        let e = client.place(&resting_buy("BTCUSDT", "wm1".into())).await.unwrap_err().to_string();
        assert!(e.contains("invalid peer certificate") && e.contains("not valid for name"), "{e}");
        assert_eq!(sim.open_order_count("BTCUSDT"), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    });
}

/// A live config hedging on the three venues, each route's `hedge.live` as given.
fn config(live: &str) -> String {
    let venue = |name: &str, symbol: &str, quote: &str| {
        format!(
            r#"{{"name": "{name}", "symbol": "{symbol}", "quote_currency": "{quote}", "weight": 1.0,
                "stale_after_ms": 60000, "basis": {{"ticks": 0.0}}}}"#
        )
    };
    format!(
        r#"{{
  "hedge_on": "kraken", "hedge_threshold_lots": 3, "hedge_slippage_ticks": 2,
  "hedge": {{"routes": ["binance", "kraken", "coinbase"], "live": {{{live}}}}},
  "pricing": {{
    "instrument": {{"symbol": "BTC-USD", "quote_currency": "USD", "tick_size": "0.01", "lot_size": "0.001"}},
    "venues": [{}, {}, {}],
    "model": {{"kind": "fixed_spread", "half_spread_ticks": 3.0, "skew_ticks_per_unit": 0.0}},
    "volatility": {{"fixed": {{"sigma": 1.0}}}},
    "intensity": {{"fixed": {{"bid": {{"a": 1.0, "k": 1.0}}, "ask": {{"a": 1.0, "k": 1.0}}}}}},
    "quoting": {{"levels": 1, "sizes_lots": [10], "level_spacing_ticks": 1, "min_spread_ticks": 2,
                "max_spread_ticks": 100, "max_inventory_lots": 50, "inventory_unit_lots": 10,
                "requote_threshold_ticks": 1.0, "requote_interval_ms": 60000}}
  }}
}}"#,
        venue("binance", "BTCUSDT", "USDT"),
        venue("kraken", "XBT/USD", "USD"),
        venue("coinbase", "BTC-USD", "USD"),
    )
}

fn setup(live: &str) -> LiveSetup {
    LiveSetup::from_json(&config(live), "0.01", "0.001").unwrap()
}

/// Key files for the three routes in `dir`: (binance, kraken, coinbase) paths.
fn key_files(dir: &Path, coinbase_pem: &str) -> [String; 3] {
    let pem = private_file(&dir.join("coinbase.pem"), coinbase_pem);
    [
        private_file(
            &dir.join("binance.keys"),
            &format!("WINTERMUTE_BINANCE_API_KEY={BINANCE_KEY}\nWINTERMUTE_BINANCE_API_SECRET={BINANCE_SECRET}\n"),
        ),
        private_file(
            &dir.join("kraken.keys"),
            &format!(
                "# Kraken\nWINTERMUTE_KRAKEN_API_KEY={KRAKEN_KEY}\nWINTERMUTE_KRAKEN_API_SECRET={KRAKEN_SECRET}\n"
            ),
        ),
        private_file(
            &dir.join("coinbase.keys"),
            &format!("WINTERMUTE_COINBASE_KEY_NAME={COINBASE_KEY_NAME}\nWINTERMUTE_COINBASE_PRIVATE_KEY_FILE={pem}\n"),
        ),
    ]
}

fn no_env(_: &str) -> Option<String> {
    None
}

async fn place_on(target: &mut RouteTarget, id: u64) {
    let symbol = target.symbol.clone();
    match &mut target.client {
        RouteClient::Binance(c) => place(c, &symbol, id).await,
        RouteClient::Kraken(c) => place(c, &symbol, id).await,
        RouteClient::Coinbase(c) => place(c, &symbol, id).await,
    }
}

fn outcomes(kills: &[KillOutcome]) -> Vec<(&'static str, Result<usize, String>)> {
    kills.iter().map(|k| (k.venue, k.result.clone())).collect()
}

#[test]
fn live_routes_reach_the_three_venues_over_https_with_keys_from_files_and_the_kill_switch_clears_them() {
    run(async {
        let (ca_pem, server) = pki(&["127.0.0.1", "localhost"]);
        let dir = scratch("live");
        let ca = private_file(&dir.join("ca.pem"), &ca_pem);
        let (binance, kraken) = (binance_sim().await, kraken_sim().await);
        let (coinbase, pem) = coinbase_sim("127.0.0.1").await;
        let ports = [
            tls_front(Arc::clone(&server), binance.addr()).await,
            tls_front(Arc::clone(&server), kraken.addr()).await,
            tls_front(Arc::clone(&server), coinbase.addr()).await,
        ];
        let ws_ports = [
            tls_front(Arc::clone(&server), binance.ws_addr().unwrap()).await,
            tls_front(Arc::clone(&server), kraken.ws_addr().unwrap()).await,
            tls_front(Arc::clone(&server), coinbase.ws_addr().unwrap()).await,
        ];
        let keys = key_files(&dir, &pem);
        let ws_urls = [
            format!(r#", "ws_url": "wss://127.0.0.1:{}/ws-api/v3""#, ws_ports[0]),
            format!(r#", "ws_url": "wss://127.0.0.1:{}/v2""#, ws_ports[1]),
            format!(r#", "ws_url": "wss://127.0.0.1:{}""#, ws_ports[2]),
        ];
        let live = ["binance", "kraken", "coinbase"]
            .iter()
            .zip(ports.iter().zip(keys.iter().zip(&ws_urls)))
            .map(|(name, (port, (keys, ws)))| {
                format!(
                    r#""{name}": {{"url": "https://127.0.0.1:{port}", "keys_file": "{keys}", "ca_file": "{ca}"{ws}}}"#
                )
            })
            .collect::<Vec<_>>()
            .join(", ");
        let mut targets = route_clients(&setup(&live), Mode::Live, &no_env).unwrap();
        // Binance's and Kraken's routes are their WebSocket clients with the REST companion,
        // Coinbase's REST with the `user` channel; each venue's own grid is the config's.
        assert!(matches!(
            (&targets[0].client, &targets[1].client, &targets[2].client),
            (RouteClient::Binance(_), RouteClient::Kraken(_), RouteClient::Coinbase(_))
        ));
        check_grids(&mut targets).await.unwrap();
        let printed = format!("{targets:?}");
        for secret in [BINANCE_SECRET, KRAKEN_SECRET, BINANCE_KEY, KRAKEN_KEY, "PRIVATE KEY"] {
            assert!(!printed.contains(secret), "the routes' Debug shows no key: {printed}");
        }
        for (n, target) in targets.iter_mut().enumerate() {
            assert_eq!(target.endpoint.to_string(), format!("https://127.0.0.1:{}", ports[n]));
            place_on(target, 1).await;
            place_on(target, 2).await;
        }
        assert_eq!(
            (binance.open_order_count("BTCUSDT"), kraken.open_order_count(), coinbase.open_order_count()),
            (2, 2, 2)
        );
        let kills = kill_all(targets).await;
        assert_eq!(outcomes(&kills), vec![("binance", Ok(2)), ("kraken", Ok(2)), ("coinbase", Ok(2))]);
        assert_eq!(
            (binance.open_order_count("BTCUSDT"), kraken.open_order_count(), coinbase.open_order_count()),
            (0, 0, 0)
        );
        std::fs::remove_dir_all(&dir).unwrap();
    });
}

#[test]
fn the_kill_switch_cancels_orders_another_process_placed_and_reports_a_failing_venue() {
    run(async {
        let dir = scratch("kill");
        let (binance, kraken) = (binance_sim().await, kraken_sim().await);
        let (_coinbase, pem) = coinbase_sim("127.0.0.1").await;
        // The orders of "another process": clients of their own, dropped before the kill.
        {
            let mut b = binance_client(HttpConnection::new(binance.addr()));
            place(&mut b, "BTCUSDT", 1).await;
            place(&mut b, "BTCUSDT", 2).await;
            let k_keys = [("WINTERMUTE_KRAKEN_API_KEY", KRAKEN_KEY), ("WINTERMUTE_KRAKEN_API_SECRET", KRAKEN_SECRET)];
            let env: HashMap<&str, &str> = k_keys.into_iter().collect();
            let kraken_only = format!(
                r#""kraken": {{"url": "http://{}", "ws_url": "ws://{}/v2"}}"#,
                kraken.addr(),
                kraken.ws_addr().unwrap()
            );
            let cfg = config(&kraken_only).replace(r#"["binance", "kraken", "coinbase"]"#, r#"["kraken"]"#);
            let setup = LiveSetup::from_json(&cfg, "0.01", "0.001").unwrap();
            let lookup = |v: &str| env.get(v).map(|s| (*s).to_owned());
            let mut targets = route_clients(&setup, Mode::Local, &lookup).unwrap();
            place_on(&mut targets[0], 7).await;
        }
        assert_eq!((binance.open_order_count("BTCUSDT"), kraken.open_order_count()), (2, 1));
        // Coinbase's route points at a port nobody serves: it fails, the others still cancel.
        let closed = TcpListener::bind("127.0.0.1:0").await.unwrap().local_addr().unwrap();
        let keys = key_files(&dir, &pem);
        let live = format!(
            r#""binance": {{"url": "http://{}", "ws_url": "ws://{}/ws-api/v3", "keys_file": "{}"}},
               "kraken": {{"url": "http://{}", "ws_url": "ws://{}/v2", "keys_file": "{}"}},
               "coinbase": {{"url": "http://{closed}", "ws_url": "ws://{closed}", "keys_file": "{}"}}"#,
            binance.addr(),
            binance.ws_addr().unwrap(),
            keys[0],
            kraken.addr(),
            kraken.ws_addr().unwrap(),
            keys[1],
            keys[2]
        );
        let kills = kill_all(route_clients(&setup(&live), Mode::Local, &no_env).unwrap()).await;
        assert_eq!(&outcomes(&kills)[..2], &[("binance", Ok(2)), ("kraken", Ok(1))]);
        let failed = kills[2].result.as_ref().unwrap_err();
        assert!(failed.contains(&closed.to_string()), "{failed}");
        assert_eq!((binance.open_order_count("BTCUSDT"), kraken.open_order_count()), (0, 0));
        std::fs::remove_dir_all(&dir).unwrap();
    });
}

#[test]
fn a_bad_live_route_is_an_error_naming_the_route_and_the_key_and_never_a_secret() {
    let dir = scratch("errors");
    let (b, k) = ("binance", "kraken");
    let err = |live: &str, mode, env: &dyn Fn(&str) -> Option<String>| {
        route_clients(&setup(live), mode, env).map(|_| ()).unwrap_err().to_string()
    };
    // Plain HTTP under --live.
    let e = err(&format!(r#""{b}": {{"url": "http://127.0.0.1:1"}}"#), Mode::Live, &no_env);
    assert!(e.contains("venue=binance key=hedge.live.binance.url") && e.contains("https://"), "{e}");
    // No keys anywhere: the first route's first variable.
    let e = err("", Mode::Live, &no_env);
    assert!(e.contains("venue=binance keys=environment") && e.contains("variable=WINTERMUTE_BINANCE_API_KEY"), "{e}");
    // A key file others can read.
    let loose = dir.join("loose.keys");
    std::fs::write(&loose, format!("WINTERMUTE_BINANCE_API_KEY={BINANCE_KEY}\n")).unwrap();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        std::fs::set_permissions(&loose, std::fs::Permissions::from_mode(0o644)).unwrap();
        let e = err(&format!(r#""{b}": {{"keys_file": "{}"}}"#, loose.display()), Mode::Live, &no_env);
        assert!(e.contains("venue=binance") && e.contains("chmod 600") && !e.contains(BINANCE_KEY), "{e}");
    }
    // A secret pasted on a line of its own; the secret of a route that has no key variable.
    let pasted =
        private_file(&dir.join("pasted.keys"), &format!("WINTERMUTE_KRAKEN_API_KEY={KRAKEN_KEY}\n{KRAKEN_SECRET}\n"));
    let binance_env = |v: &str| match v {
        "WINTERMUTE_BINANCE_API_KEY" => Some(BINANCE_KEY.to_owned()),
        "WINTERMUTE_BINANCE_API_SECRET" => Some(BINANCE_SECRET.to_owned()),
        _ => None,
    };
    let e = err(&format!(r#""{k}": {{"keys_file": "{pasted}"}}"#), Mode::Live, &binance_env);
    assert!(e.contains("venue=kraken") && e.contains("line=2"), "{e}");
    let half = private_file(&dir.join("half.keys"), &format!("WINTERMUTE_KRAKEN_API_KEY={KRAKEN_KEY}\n"));
    let e = err(&format!(r#""{k}": {{"keys_file": "{half}"}}"#), Mode::Live, &binance_env);
    assert!(e.contains("venue=kraken") && e.contains("variable=WINTERMUTE_KRAKEN_API_SECRET"), "{e}");
    // Without --live every route must say where its simulator is.
    let e = err("", Mode::Local, &binance_env);
    assert!(e.contains("key=hedge.live.binance.url"), "{e}");
    // WebSocket settings: under --live Binance's and Kraken's WebSockets must be wss://;
    // without --live they must be named; the dead man's switch is Kraken's only and within
    // Kraken's range.
    let e = err(&format!(r#""{b}": {{"ws_url": "ws://127.0.0.1:1/ws-api/v3"}}"#), Mode::Live, &binance_env);
    assert!(e.contains("key=hedge.live.binance.ws_url") && e.contains("wss://"), "{e}");
    let e = err(&format!(r#""{b}": {{"url": "http://127.0.0.1:1"}}"#), Mode::Local, &binance_env);
    assert!(e.contains("key=hedge.live.binance.ws_url"), "{e}");
    let e = err(&format!(r#""{k}": {{"ws_url": "ws://127.0.0.1:1/v2"}}"#), Mode::Live, &binance_env);
    assert!(e.contains("key=hedge.live.kraken.ws_url") && e.contains("wss://"), "{e}");
    let e = err(
        &format!(
            r#""{b}": {{"url": "http://127.0.0.1:1", "ws_url": "ws://127.0.0.1:1/ws-api/v3"}},
               "{k}": {{"url": "http://127.0.0.1:2"}}"#
        ),
        Mode::Local,
        &binance_env,
    );
    assert!(e.contains("key=hedge.live.kraken.ws_url") && e.contains("without --live"), "{e}");
    let two_env = |v: &str| match v {
        "WINTERMUTE_KRAKEN_API_KEY" => Some(KRAKEN_KEY.to_owned()),
        "WINTERMUTE_KRAKEN_API_SECRET" => Some(KRAKEN_SECRET.to_owned()),
        _ => binance_env(v),
    };
    let e = err(r#""coinbase": {"dead_man_switch_s": 60}"#, Mode::Live, &two_env);
    assert!(e.contains("key=hedge.live.coinbase.dead_man_switch_s"), "{e}");
    let e = err(&format!(r#""{k}": {{"dead_man_switch_s": 86400}}"#), Mode::Live, &binance_env);
    assert!(e.contains("key=hedge.live.kraken.dead_man_switch_s"), "{e}");
    // A root file that is not there.
    let e = err(&format!(r#""{b}": {{"ca_file": "/nonexistent/ca.pem"}}"#), Mode::Live, &binance_env);
    assert!(e.contains("key=hedge.live.binance.ca_file") && e.contains("/nonexistent/ca.pem"), "{e}");
    for secret in [BINANCE_SECRET, KRAKEN_SECRET, BINANCE_KEY, KRAKEN_KEY] {
        for e in [
            err(&format!(r#""{k}": {{"keys_file": "{pasted}"}}"#), Mode::Live, &binance_env),
            err("", Mode::Live, &binance_env),
        ] {
            assert!(!e.contains(secret), "{e}");
        }
    }
    std::fs::remove_dir_all(&dir).unwrap();
}

/// The three routes' simulators behind TLS fronts, served by a thread of their own (so that a
/// blocking caller, `live_routes`, can reach them), and the `hedge.live` entries pointing at
/// them. Dropping it stops them.
struct Served {
    /// Each venue's `hedge.live` entry, in the config's venue order.
    live: Vec<String>,
    /// Each simulator's state (a grid changed during a test).
    kraken: Arc<SimShared<KrakenSimState>>,
    binance: Arc<SimShared<BinanceSimState>>,
    coinbase: Arc<SimShared<CoinbaseSimState>>,
    dir: PathBuf,
    stop: Option<tokio::sync::oneshot::Sender<()>>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Served {
    /// The `hedge.live` entries of `venues`.
    fn live_of(&self, venues: &[&str]) -> String {
        let picked = self.live.iter().filter(|e| venues.iter().any(|v| e.starts_with(&format!("\"{v}\""))));
        picked.cloned().collect::<Vec<_>>().join(", ")
    }
}

impl Drop for Served {
    fn drop(&mut self) {
        let _ = self.stop.take().map(|s| s.send(()));
        let _ = self.thread.take().map(std::thread::JoinHandle::join);
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn served_behind_tls(name: &str) -> Served {
    let dir = scratch(name);
    let (ca_pem, server) = pki(&["127.0.0.1"]);
    let ca = private_file(&dir.join("ca.pem"), &ca_pem);
    let (live_tx, live_rx) = std::sync::mpsc::channel();
    let (stop, stopped) = tokio::sync::oneshot::channel::<()>();
    let key_dir = dir.clone();
    let thread = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        rt.block_on(async move {
            let (binance, kraken) = (binance_sim().await, kraken_sim().await);
            let (coinbase, pem) = coinbase_sim("127.0.0.1").await;
            let front = |addr| tls_front(Arc::clone(&server), addr);
            let http = [front(binance.addr()).await, front(kraken.addr()).await, front(coinbase.addr()).await];
            let ws = [
                front(kraken.ws_addr().unwrap()).await,
                front(coinbase.ws_addr().unwrap()).await,
                front(binance.ws_addr().unwrap()).await,
            ];
            let keys = key_files(&key_dir, &pem);
            let entry = |name: &str, port: u16, keys: &str, ws: &str| {
                format!(
                    r#""{name}": {{"url": "https://127.0.0.1:{port}", "keys_file": "{keys}", "ca_file": "{ca}"{ws}}}"#
                )
            };
            let live = vec![
                entry("binance", http[0], &keys[0], &format!(r#", "ws_url": "wss://127.0.0.1:{}/ws-api/v3""#, ws[2])),
                entry("kraken", http[1], &keys[1], &format!(r#", "ws_url": "wss://127.0.0.1:{}/v2""#, ws[0])),
                entry("coinbase", http[2], &keys[2], &format!(r#", "ws_url": "wss://127.0.0.1:{}""#, ws[1])),
            ];
            let shared = (Arc::clone(kraken.shared()), Arc::clone(binance.shared()), Arc::clone(coinbase.shared()));
            live_tx.send((live, shared)).unwrap();
            let _ = stopped.await;
            drop((binance, kraken, coinbase));
        });
    });
    let (live, (kraken, binance, coinbase)) = live_rx.recv().unwrap();
    Served { live, kraken, binance, coinbase, dir, stop: Some(stop), thread: Some(thread) }
}

/// `setup(live)` routing to `venues` only (the first hedging; `live` holds their entries), on
/// the grid `tick`, `lot`.
fn setup_on(live: &str, venues: &[&str], tick: &str, lot: &str) -> LiveSetup {
    let routes = venues.iter().map(|v| format!("\"{v}\"")).collect::<Vec<_>>().join(", ");
    let cfg = config(live)
        .replace(r#"["binance", "kraken", "coinbase"]"#, &format!("[{routes}]"))
        .replace(r#""hedge_on": "kraken""#, &format!(r#""hedge_on": "{}""#, venues[0]))
        .replace(
            r#""tick_size": "0.01", "lot_size": "0.001""#,
            &format!(r#""tick_size": "{tick}", "lot_size": "{lot}""#),
        );
    LiveSetup::from_json(&cfg, tick, lot).unwrap()
}

#[test]
fn a_live_route_starts_when_the_venues_own_grid_is_the_configs() {
    let served = served_behind_tls("grid-ok");
    let all = ["binance", "kraken", "coinbase"];
    let setup = setup_on(&served.live_of(&all), &all, "0.01", "0.001");
    let (routes, _grids) = live_routes(&setup, &no_env).unwrap();
    assert_eq!(routes.len(), 3, "exchangeInfo, AssetPairs and the product agree with the config");
    drop(routes);
    // Quoting on Kraken, hedging on Binance: the quote venue's grid is checked too, and its
    // route comes last, taken apart as the quote route.
    let cfg = config(&served.live_of(&["binance", "kraken"]))
        .replace(r#"["binance", "kraken", "coinbase"]"#, r#"["binance"]"#)
        .replace(r#""hedge_on": "kraken""#, r#""quote_on": "kraken", "hedge_on": "binance""#);
    let quoting = LiveSetup::from_json(&cfg, "0.01", "0.001").unwrap();
    let (hedges, quote) = split_quote_routes(&quoting, live_routes(&quoting, &no_env).unwrap().0);
    assert_eq!(hedges.iter().map(|h| h.venue).collect::<Vec<_>>(), vec![VenueId::External(0)]);
    assert_eq!(quote.iter().map(|q| q.venue).collect::<Vec<_>>(), vec![VenueId::External(1)]);
}

#[test]
fn a_live_route_whose_venue_trades_on_another_grid_is_refused_naming_the_route_and_both_grids() {
    let served = served_behind_tls("grid-bad");
    let symbols = [("binance", "BTCUSDT"), ("kraken", "XBTUSD"), ("coinbase", "BTC-USD")];
    for (venue, symbol) in symbols {
        // Our tick is a tenth of a cent; every venue's is a cent.
        let e = live_routes(&setup_on(&served.live_of(&[venue]), &[venue], "0.001", "0.001"), &no_env)
            .map(|_| ())
            .unwrap_err();
        assert!(matches!(e, LiveRouteError::Grid(_)), "{e}");
        assert_eq!(e.key().as_deref(), Some("pricing.instrument.tick_size"), "{e}");
        let text = e.to_string();
        assert!(text.contains(&format!("venue={venue} symbol={symbol}")), "{text}");
        // The venue's value as it wrote it (Binance: 0.01000000).
        let venue_tick = if venue == "binance" { "0.01000000" } else { "0.01" };
        assert!(
            text.contains(&format!(
                "tick_size 0.001 in the config (pricing.instrument.tick_size), {venue_tick} at the venue"
            )),
            "{text}"
        );
    }
    // A lot the venue does not trade in (Binance writes its tick 0.01000000: the same tick).
    let e = live_routes(&setup_on(&served.live_of(&["binance"]), &["binance"], "0.01", "0.01"), &no_env)
        .map(|_| ())
        .unwrap_err();
    assert_eq!(e.key().as_deref(), Some("pricing.instrument.lot_size"), "{e}");
    let e = live_routes(&setup_on(&served.live_of(&["kraken"]), &["kraken"], "0.01", "0.0001"), &no_env)
        .map(|_| ())
        .unwrap_err();
    assert_eq!(e.key().as_deref(), Some("pricing.instrument.lot_size"), "{e}");
    assert!(
        e.to_string().contains("lot_size 0.0001 in the config (pricing.instrument.lot_size), 0.001 at the venue"),
        "{e}"
    );
    // A venue that cannot say: refused too, naming where it was asked.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap();
    let (keys, ca) = (served.dir.join("binance.keys"), served.dir.join("ca.pem"));
    let live = format!(
        r#""binance": {{"url": "https://{closed}", "keys_file": "{}", "ca_file": "{}"}}"#,
        keys.display(),
        ca.display()
    );
    let e = live_routes(&setup_on(&live, &["binance"], "0.01", "0.001"), &no_env).map(|_| ()).unwrap_err();
    assert!(matches!(e, LiveRouteError::GridUnread { .. }), "{e}");
    assert_eq!(e.key().as_deref(), Some("hedge.live.binance.url"), "{e}");
    assert!(e.to_string().contains(&closed.to_string()), "{e}");
}

/// Polls `execution` until an event matches `want` (3 s at most); returns the events seen.
fn events_until(
    execution: &mut dyn wintermute_mm::execution::Execution,
    want: impl Fn(&wintermute_mm::execution::ExecEvent) -> bool,
) -> Vec<wintermute_mm::execution::ExecEvent> {
    let mut seen = Vec::new();
    let mut out = wintermute_mm::execution::ExecEvents::default();
    for _ in 0..300 {
        out.clear();
        execution.poll(1, &mut out);
        seen.extend(out.iter().copied());
        if seen.iter().any(&want) {
            return seen;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    panic!("no such event: {seen:?}");
}

/// A live route to `venue` (grid re-checked every second) with one resting quote: the venue
/// changes its tick to ten cents (`change`), the route halts, its quote is canceled at the
/// venue, the cause names both grids (`venue_tick`: the new tick as the venue writes it), and
/// a new order is refused without reaching the venue; `open` counts the venue's open orders.
fn a_grid_change_halts_the_route(
    venue: &str,
    symbol: &str,
    venue_tick: &str,
    change: impl Fn(&Served),
    open: impl Fn(&Served) -> usize,
) {
    use wintermute_mm::execution::{ExecCommand, ExecEvent, OrderRequest, OrderTif, RejectReason};
    let served = served_behind_tls(&format!("grid-change-{venue}"));
    let live = served.live_of(&[venue]).replacen("{", r#"{"grid_check_s": 1, "#, 1);
    let (mut routes, grids) = live_routes(&setup_on(&live, &[venue], "0.01", "0.001"), &no_env).unwrap();
    let execution = routes[0].execution.as_mut();
    let quote = |client_id| {
        ExecCommand::New(OrderRequest {
            client_id,
            side: wintermute_mm::types::Side::Buy,
            price: 10_000,
            qty: 100,
            tif: OrderTif::PostOnly,
        })
    };
    execution.submit(1, &quote(1)).unwrap();
    events_until(execution, |e| matches!(e, ExecEvent::Accepted { client_id: 1, .. }));
    assert_eq!(open(&served), 1);
    // Checked once a second: the same grid, counted, nothing halted.
    std::thread::sleep(Duration::from_millis(1_300));
    let (_, _, stats) = grids.stats().remove(0);
    assert!(stats.checks >= 1 && stats.changes == 0 && !stats.halted, "{stats:?}");

    // The venue's tick becomes ten cents: the route halts and its quote is canceled.
    change(&served);
    let seen = events_until(execution, |e| matches!(e, ExecEvent::Canceled { client_id: 1, .. }));
    assert!(!seen.iter().any(|e| matches!(e, ExecEvent::Filled { .. })), "{seen:?}");
    assert_eq!(open(&served), 0);
    let (name, route_symbol, stats) = grids.stats().remove(0);
    assert_eq!((name, route_symbol.as_str(), stats.changes, stats.halted), (venue, symbol, 1, true));
    let views = grids.views();
    let at_venue = format!("{venue_tick} at the venue");
    assert!(views[0].halted && views[0].cause.as_deref().is_some_and(|c| c.contains(&at_venue)));
    let causes = grids.halted();
    assert_eq!(causes.len(), 1);
    assert!(
        causes[0].contains(&format!("venue={venue} symbol={symbol}"))
            && causes[0].contains(&format!("tick_size 0.01 in the config, {at_venue}")),
        "{causes:?}"
    );
    // No new order reaches the venue.
    execution.submit(1, &quote(2)).unwrap();
    events_until(execution, |e| matches!(e, ExecEvent::Rejected { client_id: 2, reason: RejectReason::Risk, .. }));
    assert_eq!(open(&served), 0);
}

#[test]
fn a_venue_changing_its_grid_while_running_halts_the_route_cancels_its_quotes_and_says_why() {
    a_grid_change_halts_the_route(
        "kraken",
        "XBTUSD",
        "0.1",
        |s| s.kraken.lock().set_pair_grid("XBTUSD", "0.1", "0.001").unwrap(),
        |s| s.kraken.lock_quietly().open_orders_of(KRAKEN_KEY),
    );
}

#[test]
fn binance_changing_its_grid_while_running_halts_the_route() {
    a_grid_change_halts_the_route(
        "binance",
        "BTCUSDT",
        "0.10000000",
        |s| s.binance.lock().set_symbol_grid("BTCUSDT", "0.1", "0.001").unwrap(),
        |s| s.binance.lock_quietly().open_orders_of("BTCUSDT"),
    );
}

#[test]
fn coinbase_changing_its_grid_while_running_halts_the_route() {
    a_grid_change_halts_the_route(
        "coinbase",
        "BTC-USD",
        "0.1",
        |s| s.coinbase.lock().set_product_grid("BTC-USD", "0.1", "0.001").unwrap(),
        |s| s.coinbase.lock_quietly().open_orders(),
    );
}
