//! Latency of the routing edges, per call, as percentiles (own harness: criterion reports no
//! p99). Run: `cargo bench -p wintermute-router --bench routing`.
//!
//! - decision -> signed request bytes: a Binance LIMIT order's query string plus its HMAC-SHA256
//!   or Ed25519 signature, and the same order as a signed WebSocket API `order.place` frame
//!   (parameters sorted, signed, written as JSON); a Kraken order's `AddOrder` form body plus its `API-Sign`; a
//!   Coinbase ES256 JWT;
//! - execution report in -> normalized event out: a Binance FULL order response with two fills,
//!   a Binance WebSocket `executionReport` event (a fill), a Kraken `TradesHistory` answer
//!   with two trades and a Kraken WebSocket v2 `executions` update with the same two trades,
//!   parsed, converted to normalized reports and applied to the order's state machine.
//! - Kraken order -> WebSocket v2 `add_order` frame (token-authenticated, no per-request
//!   signature), beside the REST edge (form body + `API-Sign`) in the same run.
//! - the REST transport: one request and its answer (`GET /api/v3/time` of the Binance
//!   simulator on 127.0.0.1) over a kept connection, plain HTTP and HTTPS (a TLS front with a
//!   private authority's certificate, as the tests use), and a new HTTPS connection per request
//!   (TCP + TLS handshake); the TLS / plain ratio of the kept-connection medians is printed.

use std::hint::black_box;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use bytes::Bytes;
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;
use wintermute_router::binance::sim::{BinanceSim, SimConfig, SimSymbol};
use wintermute_router::http::{Endpoint, HttpConnection};
use wintermute_testkit::tls::test_pki;

use wintermute_router::binance::client::{sign_query, BinanceOrderType, NewOrder, TimeInForce};
use wintermute_router::binance::reports::{order_reports, parse_order, BinanceInstrument};
use wintermute_router::binance::ws_api::{self as binance_ws, signed_request, WsFrame};
use wintermute_router::coinbase::client::create_order_body;
use wintermute_router::coinbase::reports::{fill_report, parse, CoinbaseProduct, FillsPage, TradeIds};
use wintermute_router::kraken::client::add_order_body;
use wintermute_router::kraken::reports::{parse_envelope, trade_report, KrakenPair, TradesHistory};
use wintermute_router::kraken::ws_messages::{self as kraken_ws, add_order_message, KrakenWsPair, WsMessage};
use wintermute_router::order::OrderType;
use wintermute_router::order_state::{OrderState, Side};
use wintermute_router::signing::{BinanceSigner, CoinbaseJwtSigner, KrakenSigner};

const ROUNDS: usize = 20_000;

fn measure(name: &str, op: impl FnMut(usize)) -> f64 {
    measure_n(name, ROUNDS, op)
}

/// `rounds` timed calls after a tenth as many warm-up calls; prints and returns p50 (us).
fn measure_n(name: &str, rounds: usize, mut op: impl FnMut(usize)) -> f64 {
    for i in 0..rounds / 10 {
        op(i); // warm up
    }
    let mut ns: Vec<u64> = (0..rounds)
        .map(|i| {
            let t = Instant::now();
            op(i);
            t.elapsed().as_nanos() as u64
        })
        .collect();
    ns.sort_unstable();
    let pct = |p: f64| ns[((ns.len() as f64 * p) as usize).min(ns.len() - 1)] as f64 / 1000.0;
    println!("{name:<44} p50 {:>8.2} us   p99 {:>8.2} us   max {:>8.2} us", pct(0.50), pct(0.99), pct(1.0));
    pct(0.50)
}

/// A private authority's certificate for 127.0.0.1 (the authority's PEM in `ca`), and a TLS
/// front on 127.0.0.1 forwarding to `backend`; returns the front's address.
async fn tls_front(backend: SocketAddr, ca: &std::path::Path) -> SocketAddr {
    let pki = test_pki(&["127.0.0.1"]);
    std::fs::write(ca, &pki.ca_pem).unwrap();
    let acceptor = TlsAcceptor::from(pki.server);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                tls.get_ref().0.set_nodelay(true).ok();
                let Ok(mut plain) = TcpStream::connect(backend).await else { return };
                plain.set_nodelay(true).ok();
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    addr
}

/// A plain TCP forwarder on 127.0.0.1 to `backend`, the TLS front's hop without TLS.
async fn plain_front(backend: SocketAddr) -> SocketAddr {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut tcp, _)) = listener.accept().await {
            tokio::spawn(async move {
                tcp.set_nodelay(true).ok();
                let Ok(mut plain) = TcpStream::connect(backend).await else { return };
                plain.set_nodelay(true).ok();
                let _ = tokio::io::copy_bidirectional(&mut tcp, &mut plain).await;
            });
        }
    });
    addr
}

/// The REST transport edges (see the module docs).
fn transport() {
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    let none: [(&str, &str); 0] = [];
    let symbol = SimSymbol::from_levels("BTCUSDT", ("BTC", "USDT"), ("0.01", "0.001"), none, none).unwrap();
    let mut config = SimConfig::new(vec![symbol], Vec::new());
    config.weight_limit_1m = u32::MAX; // every edge's calls in one minute
    let sim = rt.block_on(BinanceSim::start(config)).unwrap();
    let ca = std::env::temp_dir().join(format!("wm-routing-bench-ca-{}.pem", std::process::id()));
    let front = rt.block_on(tls_front(sim.addr(), &ca));
    let https = format!("https://{front}");
    let get = |c: &mut HttpConnection| {
        let answer = rt.block_on(c.request("GET", "/api/v3/time", &[], Bytes::new())).unwrap();
        assert_eq!(answer.status, 200);
        black_box(answer);
    };
    let mut direct = HttpConnection::new(sim.addr());
    measure("GET, kept connection, plain HTTP, direct", |_| get(&mut direct));
    // Both through a forwarding hop, so that the ratio is TLS's cost alone.
    let mut plain = HttpConnection::new(rt.block_on(plain_front(sim.addr())));
    let p50_plain = measure("GET, kept connection, plain HTTP, via a hop", |_| get(&mut plain));
    let config = wintermute_feeds::net::tls::client_config(Some(&ca)).unwrap();
    let endpoint = Endpoint::parse(&https).unwrap();
    let mut tls = HttpConnection::with_tls(endpoint.clone(), Arc::clone(&config));
    let p50_tls = measure("GET, kept connection, HTTPS, via a hop", |_| get(&mut tls));
    measure_n("GET, new connection each, HTTPS (handshake)", 2_000, |_| {
        get(&mut HttpConnection::with_tls(endpoint.clone(), Arc::clone(&config)));
    });
    println!("HTTPS / plain HTTP, kept connection via the same hop, p50: {:.2}x", p50_tls / p50_plain);
    let _ = std::fs::remove_file(&ca);
}

fn main() {
    transport();
    let inst = BinanceInstrument::new("BTCUSDT", "0.01", "0.00001").unwrap();
    let order = |i: usize| NewOrder {
        symbol: "BTCUSDT".into(),
        client_order_id: format!("wm{i}"),
        side: Side::Buy,
        qty: 12_345,
        order_type: BinanceOrderType::Limit { price: 5_800_104, tif: TimeInForce::Ioc },
    };
    let hmac = BinanceSigner::hmac_sha256(b"NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j".to_vec());
    let ed = BinanceSigner::ed25519_seed(&[7; 32]).unwrap();
    measure("binance order -> signed query (HMAC-SHA256)", |i| {
        let mut q = order(i).query(&inst);
        sign_query(&mut q, &hmac, 5000, 1_700_000_000_000 + i as i64);
        black_box(q);
    });
    measure("binance order -> signed query (Ed25519)", |i| {
        let mut q = order(i).query(&inst);
        sign_query(&mut q, &ed, 5000, 1_700_000_000_000 + i as i64);
        black_box(q);
    });
    const API_KEY: &str = "vmPUZE6mv9SD5VNHk4HlWFsOr6aKE2zvsw0MuIgwCIPy6utIco14y7Ju91duEh8A";
    measure("binance order -> signed WS frame (HMAC-SHA256)", |i| {
        let params = order(i).ws_params(&inst);
        black_box(signed_request(i as u64, "order.place", params, API_KEY, &hmac, 5000, 1_700_000_000_000 + i as i64));
    });
    measure("binance order -> signed WS frame (Ed25519)", |i| {
        let params = order(i).ws_params(&inst);
        black_box(signed_request(i as u64, "order.place", params, API_KEY, &ed, 5000, 1_700_000_000_000 + i as i64));
    });
    let kraken =
        KrakenSigner::new("kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==")
            .unwrap();
    measure("kraken AddOrder body -> API-Sign", |i| {
        let nonce = (1_616_492_376_594u64 + i as u64).to_string();
        let body = format!("nonce={nonce}&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25");
        black_box(kraken.api_sign("/0/private/AddOrder", &nonce, &body));
    });
    let xbt = KrakenPair::new("XBTUSD", "0.1", "0.00000001", "ZUSD").unwrap();
    measure("kraken order -> AddOrder body + API-Sign", |i| {
        let order = NewOrder {
            symbol: "XBTUSD".into(),
            client_order_id: "00000000-0000-0007-8000-000000000000".into(),
            side: Side::Buy,
            qty: 12_345_000,
            order_type: OrderType::Limit { price: 587_294, tif: TimeInForce::Ioc },
        };
        let nonce = 1_616_492_376_594_000 + i as u64;
        let body = add_order_body(&order, &xbt, nonce);
        black_box(kraken.api_sign("/0/private/AddOrder", &nonce.to_string(), &body));
        black_box(body);
    });
    // The same order as a WebSocket v2 `add_order` frame: no signature (the connection's token
    // authenticates it), the edge against the REST body + API-Sign above.
    let xbt_ws = KrakenWsPair { pair: xbt.clone(), symbol: "BTC/USD".into() };
    let token = "WW91ciBhdXRoZW50aWNhdGlvbiB0b2tlbiBnb2VzIGhlcmUu";
    measure("kraken order -> WS add_order frame", |i| {
        let order = NewOrder {
            symbol: "XBTUSD".into(),
            client_order_id: "00000000-0000-0007-8000-000000000000".into(),
            side: Side::Buy,
            qty: 12_345_000,
            order_type: OrderType::Limit { price: 587_294, tif: TimeInForce::Ioc },
        };
        black_box(add_order_message(&order, &xbt_ws, token, i as u64));
    });
    let rng = ring::rand::SystemRandom::new();
    let pkcs8 =
        ring::signature::EcdsaKeyPair::generate_pkcs8(&ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    let coinbase = CoinbaseJwtSigner::new("organizations/o/apiKeys/k", pkcs8.as_ref()).unwrap();
    measure("coinbase request -> ES256 JWT", |i| {
        black_box(coinbase.token("POST", "api.coinbase.com", "/api/v3/brokerage/orders", 1_700_000_000 + i as i64));
    });
    let band = CoinbaseProduct::new("BAND-GBP", "0.0001", "0.01", "GBP").unwrap();
    measure("coinbase order -> JSON body + ES256 JWT", |i| {
        let order = NewOrder {
            symbol: "BAND-GBP".into(),
            client_order_id: format!("wm{i}"),
            side: Side::Buy,
            qty: 3000,
            order_type: OrderType::Limit { price: 148_069, tif: TimeInForce::Ioc },
        };
        black_box(create_order_body(&order, &band));
        black_box(coinbase.token("POST", "api.coinbase.com", "/api/v3/brokerage/orders", 1_700_000_000 + i as i64));
    });
    let full = br#"{"symbol":"BTCUSDT","orderId":28,"orderListId":-1,"clientOrderId":"wm1","transactTime":1507725176595,"price":"58001.06","origQty":"0.12345","executedQty":"0.12345","cummulativeQuoteQty":"7160.23","status":"FILLED","timeInForce":"IOC","type":"LIMIT","side":"BUY","fills":[{"price":"58001.04","qty":"0.10000","commission":"0.00010000","commissionAsset":"BTC","tradeId":56},{"price":"58001.06","qty":"0.02345","commission":"0.00002345","commissionAsset":"BTC","tradeId":57}]}"#;
    measure("binance FULL response -> reports -> order state", |_| {
        let parsed = parse_order(full).unwrap();
        let reports = order_reports(&parsed, &inst, 1).unwrap();
        let mut state = OrderState::new("wm1", Side::Buy, 12_345);
        for r in &reports {
            state.apply(r).unwrap();
        }
        black_box(state.status());
    });
    let event = r#"{"subscriptionId":0,"event":{"e":"executionReport","E":1700000000001,"s":"BTCUSDT","c":"wm1","S":"BUY","o":"LIMIT","f":"IOC","q":"0.12345","p":"58001.06","P":"0.00","F":"0.00000","g":-1,"C":"","x":"TRADE","X":"PARTIALLY_FILLED","r":"NONE","i":28,"l":"0.10000","z":"0.10000","L":"58001.04","n":"0.0001","N":"BTC","T":1700000000000,"t":56,"I":7,"w":false,"m":false,"M":false,"O":1700000000000,"Z":"5800.104","Y":"5800.104","Q":"0.00000","W":1700000000000,"V":"EXPIRE_MAKER"}}"#;
    measure("binance WS executionReport -> report -> order state", |_| {
        let Ok(WsFrame::Event { event, .. }) = binance_ws::parse_frame(event) else { unreachable!("an event") };
        let report = binance_ws::execution_report(&event, |_| Some(&inst), 1).unwrap().unwrap();
        let mut state = OrderState::new("wm1", Side::Buy, 12_345);
        state.apply(&report).unwrap();
        black_box(state.status());
    });
    let trades = br#"{"error":[],"result":{"trades":{"THVRQM-33VKH-UCI7BS":{"ordertxid":"OQCLML-BW3P3-BUCMWZ","postxid":"TKH2SE-M7IF5-CFI7LT","pair":"XXBTZUSD","time":1688667796.8802,"type":"buy","ordertype":"limit","price":"58729.4","cost":"26428.23000","fee":"68.71340","vol":"0.45000000","margin":"0.00000","leverage":"0","misc":"","trade_id":40274859,"maker":false},"TCWJEG-FL4SZ-3FKGH6":{"ordertxid":"OQCLML-BW3P3-BUCMWZ","postxid":"TKH2SE-M7IF5-CFI7LU","pair":"XXBTZUSD","time":1688667796.8803,"type":"buy","ordertype":"limit","price":"58729.5","cost":"3128.88000","fee":"8.13510","vol":"0.05327500","margin":"0.00000","leverage":"0","misc":"","trade_id":40274860,"maker":false}},"count":2}}"#;
    let fills = br#"{"fills":[{"entry_id":"e1","trade_id":"00000000-0000-4000-9000-0000004c4b41","order_id":"00000000-0000-4000-8000-0000000f4241","trade_time":"2021-04-17T16:43:37.078Z","trade_type":"FILL","price":"14.8024","size":"12.77","commission":"1.13413188","product_id":"BAND-GBP","sequence_timestamp":"2021-04-17T16:43:37.078Z","liquidity_indicator":"TAKER","size_in_quote":false,"user_id":"u","side":"BUY"},{"entry_id":"e2","trade_id":"00000000-0000-4000-9000-0000004c4b42","order_id":"00000000-0000-4000-8000-0000000f4241","trade_time":"2021-04-17T16:43:37.078Z","trade_type":"FILL","price":"14.8069","size":"12.49","commission":"1.10962108","product_id":"BAND-GBP","sequence_timestamp":"2021-04-17T16:43:37.078Z","liquidity_indicator":"TAKER","size_in_quote":false,"user_id":"u","side":"BUY"}],"cursor":""}"#;
    let mut trade_ids = TradeIds::default();
    measure("coinbase fills (2) -> reports -> order state", |_| {
        let page: FillsPage = parse("fills", fills).unwrap();
        let mut state = OrderState::new("wm1", Side::Buy, 3000);
        for fill in &page.fills {
            state.apply(&fill_report(fill, "wm1", &band, &mut trade_ids, 1).unwrap()).unwrap();
        }
        black_box(state.status());
    });
    let executions = br#"{"channel":"executions","type":"update","data":[{"exec_type":"trade","order_id":"OQCLML-BW3P3-BUCMWZ","cl_ord_id":"wm1","symbol":"BTC/USD","side":"buy","order_type":"limit","order_qty":0.503275,"limit_price":58729.5,"order_status":"partially_filled","cum_qty":0.45,"timestamp":"2023-07-06T18:23:16.880200Z","exec_id":"THVRQM-33VKH-UCI7BS","trade_id":40274859,"last_qty":0.45,"last_price":58729.4,"cost":26428.23,"liquidity_ind":"t","fees":[{"asset":"USD","qty":68.7134}]},{"exec_type":"trade","order_id":"OQCLML-BW3P3-BUCMWZ","cl_ord_id":"wm1","symbol":"BTC/USD","side":"buy","order_type":"limit","order_qty":0.503275,"limit_price":58729.5,"order_status":"filled","cum_qty":0.503275,"timestamp":"2023-07-06T18:23:16.880300Z","exec_id":"TCWJEG-FL4SZ-3FKGH6","trade_id":40274860,"last_qty":0.053275,"last_price":58729.5,"cost":3128.88,"liquidity_ind":"t","fees":[{"asset":"USD","qty":8.1351}]}]}"#;
    let executions = std::str::from_utf8(executions).unwrap();
    measure("kraken WS executions (2 trades) -> reports -> order state", |_| {
        let Ok(WsMessage::Executions { executions, .. }) = kraken_ws::parse_frame(executions) else {
            panic!("executions")
        };
        let mut state = OrderState::new("wm1", Side::Buy, 50_327_500);
        for exec in &executions {
            state.apply(&kraken_ws::execution_report(exec, "wm1", &xbt_ws, 1).unwrap()).unwrap();
        }
        black_box(state.status());
    });
    measure("kraken TradesHistory (2 trades) -> reports -> order state", |_| {
        let page: TradesHistory = parse_envelope("t", trades).unwrap().unwrap();
        let mut state = OrderState::new("wm1", Side::Buy, 50_327_500);
        for trade in page.trades.values() {
            state.apply(&trade_report(trade, "wm1", &xbt, 1).unwrap()).unwrap();
        }
        black_box(state.status());
    });
}
