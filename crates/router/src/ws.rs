//! One WebSocket connection to a venue's order API: what the WebSocket clients
//! ([`crate::binance::ws_client`], [`crate::kraken::ws_client`]) share.
//!
//! A venue's WebSocket API is reached at a URL: `ws://` for the local simulators and `wss://`
//! for the venues themselves ([`BINANCE_WS_LIVE`], [`KRAKEN_WS_LIVE`]). Host names are resolved
//! when a connection opens; the `Host` header and, over TLS, the server name sent (SNI) and
//! checked against the certificate are the URL's host.
//!
//! TLS is the REST clients' ([`crate::http`]), which is the feeds'
//! ([`wintermute_feeds::net::tls`]): certificates always verified against Mozilla's roots plus,
//! if a PEM file is named, its authorities. There is no way to turn verification off: a
//! certificate that does not verify, or names another host, fails the connect with the reason.
//!
//! ```
//! use wintermute_router::ws::{WsTarget, BINANCE_WS_LIVE, KRAKEN_WS_LIVE};
//! let target = WsTarget::open(KRAKEN_WS_LIVE, None).unwrap(); // connects on `connect`
//! assert_eq!((target.endpoint().host(), target.endpoint().port()), ("ws-auth.kraken.com", 443));
//! assert!(target.endpoint().is_tls());
//! assert_eq!(WsTarget::open(BINANCE_WS_LIVE, None).unwrap().url(), "wss://ws-api.binance.com:443/ws-api/v3");
//! assert!(WsTarget::open("https://ws-auth.kraken.com/v2", None).is_err()); // not a WebSocket url
//! ```

use std::path::Path;
use std::sync::Arc;

use rustls::ClientConfig;
use tokio::net::TcpStream;
use tokio_tungstenite::tungstenite::protocol::WebSocketConfig;
use tokio_tungstenite::{MaybeTlsStream, WebSocketStream};
use wintermute_feeds::net::tls;

use crate::http::{Endpoint, EndpointError};

/// Binance spot's WebSocket API.
pub const BINANCE_WS_LIVE: &str = "wss://ws-api.binance.com:443/ws-api/v3";
/// Kraken's authenticated WebSocket v2 API.
pub const KRAKEN_WS_LIVE: &str = "wss://ws-auth.kraken.com/v2";

/// An open WebSocket connection (plain to a simulator, TLS to a venue).
pub type Ws = WebSocketStream<MaybeTlsStream<TcpStream>>;

/// Where a WebSocket client connects: the URL, its host and port, and the TLS configuration
/// for `wss://`.
#[derive(Clone)]
pub struct WsTarget {
    url: String,
    endpoint: Endpoint,
    tls: Option<Arc<ClientConfig>>,
}

impl std::fmt::Debug for WsTarget {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsTarget").field("url", &self.url).field("tls", &self.tls.is_some()).finish()
    }
}

impl WsTarget {
    /// Parses `ws(s)://host[:port][/path]`; `wss://` verifies the venue's certificate against
    /// Mozilla's roots and, if given, the authorities of the PEM file `extra_roots` (a file that
    /// cannot be read or holds no certificate is an error, even for `ws://`, which does not use
    /// it).
    pub fn open(url: &str, extra_roots: Option<&Path>) -> Result<Self, EndpointError> {
        let http_url = if let Some(rest) = url.strip_prefix("wss://") {
            format!("https://{rest}")
        } else if let Some(rest) = url.strip_prefix("ws://") {
            format!("http://{rest}")
        } else {
            return Err(EndpointError::Url { url: url.to_owned(), why: "not a ws:// or wss:// url" });
        };
        let endpoint = Endpoint::parse(&http_url).map_err(|e| match e {
            EndpointError::Url { why, .. } => EndpointError::Url { url: url.to_owned(), why },
            other => other,
        })?;
        let tls = if endpoint.is_tls() || extra_roots.is_some() {
            let config = tls::client_config(extra_roots)
                .map_err(|e| EndpointError::Tls { url: url.to_owned(), why: e.to_string() })?;
            Some(config)
        } else {
            None
        };
        Ok(Self { url: url.to_owned(), endpoint, tls })
    }

    /// The URL.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// Its scheme, host and port.
    pub fn endpoint(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Opens a connection: TCP, TLS for `wss://` (the URL's host as the server name), then the
    /// WebSocket handshake. The error is text naming the URL and the reason.
    pub async fn connect(&self, config: WebSocketConfig) -> Result<Ws, String> {
        let (host, port) = (self.endpoint.host(), self.endpoint.port());
        let tcp = TcpStream::connect((host, port)).await.map_err(|e| format!("connect {}: {e}", self.url))?;
        tcp.set_nodelay(true).ok();
        let stream = match (self.endpoint.is_tls(), &self.tls) {
            (false, _) => MaybeTlsStream::Plain(tcp),
            (true, Some(config)) => {
                let tls = tls::connect(config, host, tcp, &self.url).await.map_err(|e| match e {
                    wintermute_feeds::FeedError::Network { message, .. } => format!("{}: {message}", self.url),
                    other => other.to_string(),
                })?;
                MaybeTlsStream::Rustls(tls)
            }
            (true, None) => return Err(format!("{}: no TLS configuration", self.url)),
        };
        let (ws, _) = tokio_tungstenite::client_async_with_config(self.url.as_str(), stream, Some(config))
            .await
            .map_err(|e| format!("{}: WebSocket handshake: {e}", self.url))?;
        Ok(ws)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_give_scheme_host_and_port() {
        let t = WsTarget::open("ws://127.0.0.1:9000/ws-api/v3", None).unwrap();
        let e = t.endpoint();
        assert_eq!((e.is_tls(), e.host(), e.port()), (false, "127.0.0.1", 9000));
        let t = WsTarget::open("wss://localhost:8443/v2", None).unwrap();
        assert_eq!((t.endpoint().is_tls(), t.endpoint().port()), (true, 8443));
        for (url, host) in [(BINANCE_WS_LIVE, "ws-api.binance.com"), (KRAKEN_WS_LIVE, "ws-auth.kraken.com")] {
            let e = WsTarget::open(url, None).unwrap().endpoint().clone();
            assert_eq!((e.is_tls(), e.host(), e.port()), (true, host, 443));
        }
    }

    #[test]
    fn bad_urls_and_root_files_are_refused_with_the_reason() {
        for (url, why) in [
            ("http://h/v2", "not a ws:// or wss:// url"),
            ("wss://", "no host"),
            ("wss://h:0", "bad port"),
            ("wss://u:p@h", "user info in a venue url"),
        ] {
            assert_eq!(WsTarget::open(url, None).unwrap_err(), EndpointError::Url { url: url.into(), why }, "{url}");
        }
        let e = WsTarget::open("wss://127.0.0.1:1", Some(Path::new("/nonexistent/ca.pem"))).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");
        assert!(WsTarget::open("ws://127.0.0.1:1", Some(Path::new("/nonexistent/ca.pem"))).is_err());
    }
}
