//! One HTTP/1.1 connection to a venue, re-opened on the next request after a failure: what
//! every REST client shares.
//!
//! A venue is reached at an [`Endpoint`]: a URL, `http://` for the local simulators and
//! `https://` for the venues themselves ([`BINANCE_LIVE`], [`KRAKEN_LIVE`], [`COINBASE_LIVE`]).
//! Host names are resolved when a connection opens; the `Host` header and, over TLS, the server
//! name sent (SNI) and checked against the certificate are the URL's host.
//!
//! TLS is the feeds' ([`wintermute_feeds::net::tls`]): rustls with the *ring* provider,
//! certificates always verified against Mozilla's roots plus, if a PEM file is named, its
//! authorities (a private deployment's, a test's). There is no way to turn verification off: a
//! certificate that does not verify, or names another host, fails the request with the reason.
//!
//! ```
//! use wintermute_router::http::{Endpoint, HttpConnection, BINANCE_LIVE};
//! let endpoint = Endpoint::parse(BINANCE_LIVE).unwrap();
//! assert_eq!((endpoint.host(), endpoint.port(), endpoint.is_tls()), ("api.binance.com", 443, true));
//! let connection = HttpConnection::open(BINANCE_LIVE, None).unwrap(); // connects on first use
//! assert_eq!(connection.addr().to_string(), "https://api.binance.com");
//! ```

use std::fmt;
use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::client::conn::http1::{self, SendRequest};
use hyper::{HeaderMap, Request};
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use tokio::net::TcpStream;
use wintermute_feeds::net::tls;

/// Binance spot's REST base URL.
pub const BINANCE_LIVE: &str = "https://api.binance.com";
/// Kraken's REST base URL.
pub const KRAKEN_LIVE: &str = "https://api.kraken.com";
/// Coinbase Advanced Trade's REST base URL.
pub const COINBASE_LIVE: &str = "https://api.coinbase.com";

/// A venue's answer.
#[derive(Debug)]
pub struct HttpAnswer {
    /// HTTP status.
    pub status: u16,
    /// Headers.
    pub headers: HeaderMap,
    /// Body.
    pub body: Bytes,
}

/// Why an endpoint cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EndpointError {
    /// Not an `http://` or `https://` URL with a host (and, if given, a port).
    #[error("bad venue url={url}: {why}")]
    Url {
        /// The URL.
        url: String,
        /// What is wrong.
        why: &'static str,
    },
    /// The extra root certificates could not be loaded.
    #[error("venue url={url}: {why}")]
    Tls {
        /// The URL.
        url: String,
        /// What failed (the file and the reason).
        why: String,
    },
}

/// Where a venue is: scheme, host and port of an `http://` or `https://` URL (a path after
/// the host is ignored: the clients send the venue's own paths).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Endpoint {
    tls: bool,
    host: String,
    port: u16,
    /// The `Host` header: the host, and the port unless it is the scheme's default.
    authority: String,
}

impl Endpoint {
    /// Parses `http(s)://host[:port][/...]` (a host name, IPv4 address or `[IPv6]`).
    pub fn parse(url: &str) -> Result<Self, EndpointError> {
        let bad = |why| EndpointError::Url { url: url.to_owned(), why };
        let (tls, rest) = if let Some(r) = url.strip_prefix("https://") {
            (true, r)
        } else if let Some(r) = url.strip_prefix("http://") {
            (false, r)
        } else {
            return Err(bad("not an http:// or https:// url"));
        };
        let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
        if authority.contains('@') {
            return Err(bad("user info in a venue url"));
        }
        let (host, port) = match authority.strip_prefix('[') {
            Some(v6) => {
                let (host, after) = v6.split_once(']').ok_or_else(|| bad("unclosed [ in the host"))?;
                (host, after.strip_prefix(':'))
            }
            None => match authority.rsplit_once(':') {
                Some((host, port)) => (host, Some(port)),
                None => (authority, None),
            },
        };
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let default = if tls { 443 } else { 80 };
        let port = match port {
            None => default,
            Some(p) => p.parse::<u16>().ok().filter(|&p| p != 0).ok_or_else(|| bad("bad port"))?,
        };
        let shown_host = if host.contains(':') { format!("[{host}]") } else { host.to_owned() };
        let authority = if port == default { shown_host } else { format!("{shown_host}:{port}") };
        Ok(Endpoint { tls, host: host.to_owned(), port, authority })
    }

    /// `http://addr`: a local simulator.
    pub fn plain(addr: SocketAddr) -> Self {
        Endpoint { tls: false, host: addr.ip().to_string(), port: addr.port(), authority: addr.to_string() }
    }

    /// Whether it is `https://`.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// The host (name or address, without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }
}

impl fmt::Display for Endpoint {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}://{}", if self.tls { "https" } else { "http" }, self.authority)
    }
}

/// The connection (plain HTTP to a simulator, or HTTPS to a venue).
pub struct HttpConnection {
    endpoint: Endpoint,
    tls: Option<Arc<ClientConfig>>,
    sender: Option<SendRequest<Full<Bytes>>>,
}

impl fmt::Debug for HttpConnection {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpConnection")
            .field("endpoint", &self.endpoint.to_string())
            .field("connected", &self.sender.is_some())
            .finish()
    }
}

impl From<SocketAddr> for HttpConnection {
    fn from(addr: SocketAddr) -> Self {
        HttpConnection::new(addr)
    }
}

impl HttpConnection {
    /// A plain-HTTP connection to `addr` (a local simulator), opened on the first request.
    pub fn new(addr: SocketAddr) -> Self {
        Self { endpoint: Endpoint::plain(addr), tls: None, sender: None }
    }

    /// A connection to `url`, opened on the first request; `https://` verifies the venue's
    /// certificate against Mozilla's roots and, if given, the authorities of the PEM file
    /// `extra_roots` (a file that cannot be read or holds no certificate is an error, even for
    /// `http://`, which does not use it).
    pub fn open(url: &str, extra_roots: Option<&Path>) -> Result<Self, EndpointError> {
        let endpoint = Endpoint::parse(url)?;
        if !endpoint.tls && extra_roots.is_none() {
            return Ok(Self { endpoint, tls: None, sender: None });
        }
        let config = tls::client_config(extra_roots)
            .map_err(|e| EndpointError::Tls { url: endpoint.to_string(), why: e.to_string() })?;
        Ok(Self::with_tls(endpoint, config))
    }

    /// A connection to `endpoint` with this TLS configuration (one configuration can serve many
    /// connections; it is only used for `https://`).
    pub fn with_tls(endpoint: Endpoint, config: Arc<ClientConfig>) -> Self {
        Self { endpoint, tls: Some(config), sender: None }
    }

    /// Where it connects.
    pub fn addr(&self) -> &Endpoint {
        &self.endpoint
    }

    /// Sends one request and reads the whole answer; on any failure the connection is dropped
    /// (the next request opens a new one) and the error is returned as text.
    pub async fn send(&mut self, request: Request<Full<Bytes>>) -> Result<HttpAnswer, String> {
        let result = async {
            let sender = self.connection().await?;
            sender.ready().await.map_err(|e| e.to_string())?;
            let response = sender.send_request(request).await.map_err(|e| e.to_string())?;
            let status = response.status().as_u16();
            let (parts, body) = response.into_parts();
            let body = body.collect().await.map_err(|e| e.to_string())?.to_bytes();
            Ok(HttpAnswer { status, headers: parts.headers, body })
        }
        .await;
        if result.is_err() {
            self.sender = None;
        }
        result
    }

    /// Sends `method` `uri` with a `host` header, then `headers`, and `body`; as [`Self::send`]
    /// (a request that cannot be built is an error too).
    pub async fn request(
        &mut self,
        method: &str,
        uri: &str,
        headers: &[(&str, &str)],
        body: Bytes,
    ) -> Result<HttpAnswer, String> {
        let mut builder = Request::builder().method(method).uri(uri).header("host", self.endpoint.authority.as_str());
        for &(name, value) in headers {
            builder = builder.header(name, value);
        }
        let request = builder.body(Full::new(body)).map_err(|e| e.to_string())?;
        self.send(request).await
    }

    async fn connection(&mut self) -> Result<&mut SendRequest<Full<Bytes>>, String> {
        if self.sender.as_ref().is_none_or(|s| s.is_closed()) {
            let Endpoint { host, port, .. } = &self.endpoint;
            // A host name is resolved here (every address it has is tried in turn).
            let stream = TcpStream::connect((host.as_str(), *port))
                .await
                .map_err(|e| format!("connect {}: {e}", self.endpoint))?;
            stream.set_nodelay(true).ok();
            let sender = match (self.endpoint.tls, &self.tls) {
                (false, _) => handshake(stream).await?,
                (true, Some(config)) => {
                    let url = self.endpoint.to_string();
                    let stream = tls::connect(config, host, stream, &url).await.map_err(|e| match e {
                        wintermute_feeds::FeedError::Network { message, .. } => format!("{url}: {message}"),
                        other => other.to_string(),
                    })?;
                    handshake(stream).await?
                }
                (true, None) => return Err(format!("{}: no TLS configuration", self.endpoint)),
            };
            self.sender = Some(sender);
        }
        self.sender.as_mut().ok_or_else(|| "no connection".to_owned())
    }
}

async fn handshake<S>(stream: S) -> Result<SendRequest<Full<Bytes>>, String>
where
    S: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let (sender, connection) = http1::handshake(TokioIo::new(stream)).await.map_err(|e| e.to_string())?;
    tokio::spawn(connection);
    Ok(sender)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_give_scheme_host_port_and_the_host_header() {
        let e = Endpoint::parse("https://api.kraken.com").unwrap();
        assert_eq!(
            (e.is_tls(), e.host(), e.port(), e.authority.as_str()),
            (true, "api.kraken.com", 443, "api.kraken.com")
        );
        let e = Endpoint::parse("https://127.0.0.1:8443/ignored?x").unwrap();
        assert_eq!((e.host(), e.port(), e.authority.as_str()), ("127.0.0.1", 8443, "127.0.0.1:8443"));
        let e = Endpoint::parse("http://[::1]:9000").unwrap();
        assert_eq!((e.is_tls(), e.host(), e.port(), e.to_string().as_str()), (false, "::1", 9000, "http://[::1]:9000"));
        assert_eq!(Endpoint::parse("http://localhost").unwrap().port(), 80);
        let addr: SocketAddr = "127.0.0.1:5000".parse().unwrap();
        assert_eq!(Endpoint::plain(addr).to_string(), "http://127.0.0.1:5000");
    }

    #[test]
    fn bad_urls_are_refused_with_the_reason() {
        for (url, why) in [
            ("ftp://x", "not an http:// or https:// url"),
            ("api.binance.com", "not an http:// or https:// url"),
            ("https://", "no host"),
            ("https://:443", "no host"),
            ("https://h:0", "bad port"),
            ("https://h:99999", "bad port"),
            ("https://u:p@h", "user info in a venue url"),
            ("https://[::1", "unclosed [ in the host"),
        ] {
            assert_eq!(Endpoint::parse(url), Err(EndpointError::Url { url: url.into(), why }), "{url}");
        }
    }

    #[test]
    fn the_live_urls_are_tls_on_the_venues_hosts() {
        for (url, host) in
            [(BINANCE_LIVE, "api.binance.com"), (KRAKEN_LIVE, "api.kraken.com"), (COINBASE_LIVE, "api.coinbase.com")]
        {
            let e = Endpoint::parse(url).unwrap();
            assert_eq!((e.is_tls(), e.host(), e.port()), (true, host, 443));
        }
    }

    #[test]
    fn a_missing_root_file_fails_at_open_naming_it() {
        let e = HttpConnection::open("https://127.0.0.1:1", Some(Path::new("/nonexistent/ca.pem"))).unwrap_err();
        assert!(e.to_string().contains("/nonexistent/ca.pem"), "{e}");
        // Named, it is checked even for plain HTTP (which does not use it): never ignored.
        assert!(HttpConnection::open("http://127.0.0.1:1", Some(Path::new("/nonexistent/ca.pem"))).is_err());
        assert!(HttpConnection::open("http://127.0.0.1:1", None).is_ok());
    }
}
