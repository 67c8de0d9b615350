//! TLS for the connectors: `wss://` WebSockets and `https://` REST snapshots.
//!
//! [rustls](https://docs.rs/rustls) with the *ring* crypto provider, TLS 1.2 and 1.3, server
//! certificates checked against Mozilla's root store ([webpki-roots](https://docs.rs/webpki-roots),
//! compiled in, so the check does not depend on the machine's certificate files) plus, when
//! [`FeedConfig::tls_ca_file`](super::client::FeedConfig::tls_ca_file) names one, the
//! certificates of a PEM file (a corporate TLS proxy's authority, or a test's private one). There
//! is no switch that turns verification off: a certificate that does not verify fails the connect
//! with a [`FeedError::Network`] naming the reason, and the connector backs off and retries like
//! any other failed connect.
//!
//! ```
//! let config = wintermute_feeds::net::tls::client_config(None).unwrap();
//! assert!(config.alpn_protocols.is_empty()); // plain HTTP/1.1 and WebSocket upgrades
//! ```

use std::path::Path;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::{ClientConfig, RootCertStore};
use tokio::net::TcpStream;
use tokio_rustls::client::TlsStream;
use tokio_rustls::TlsConnector;

use crate::error::FeedError;

fn config_err(reason: String) -> FeedError {
    FeedError::Config { field: "tls_ca_file", reason }
}

/// A client configuration trusting Mozilla's roots and, if given, every certificate in the PEM
/// file `extra_roots`. A file that cannot be read, holds no certificate or holds one that is
/// not a usable authority is an error (never silently ignored).
pub fn client_config(extra_roots: Option<&Path>) -> Result<Arc<ClientConfig>, FeedError> {
    let mut roots = RootCertStore { roots: webpki_roots::TLS_SERVER_ROOTS.to_vec() };
    if let Some(path) = extra_roots {
        let shown = path.display();
        let mut added = 0usize;
        let certs = CertificateDer::pem_file_iter(path).map_err(|e| config_err(format!("path={shown}: {e}")))?;
        for cert in certs {
            let cert = cert.map_err(|e| config_err(format!("path={shown}: {e}")))?;
            roots.add(cert).map_err(|e| config_err(format!("path={shown}: certificate refused: {e}")))?;
            added += 1;
        }
        if added == 0 {
            return Err(config_err(format!("path={shown}: no PEM certificate in the file")));
        }
    }
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| config_err(format!("TLS setup: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::new(config))
}

/// Opens TLS over `tcp` for `host` (checked against the certificate's names). `url` is for the
/// error message only.
pub async fn connect(
    config: &Arc<ClientConfig>,
    host: &str,
    tcp: TcpStream,
    url: &str,
) -> Result<TlsStream<TcpStream>, FeedError> {
    let name = ServerName::try_from(host.to_string()).map_err(|_| FeedError::Network {
        url: url.into(),
        attempts: 0,
        message: format!("bad TLS host name {host}"),
    })?;
    TlsConnector::from(Arc::clone(config)).connect(name, tcp).await.map_err(|e| FeedError::Network {
        url: url.into(),
        attempts: 0,
        message: format!("TLS handshake: {e}"),
    })
}

/// The host part of an `authority` (`host:port`, `[v6]:port` or `host`).
pub fn host_of(authority: &str) -> &str {
    if let Some(rest) = authority.strip_prefix('[') {
        return rest.split(']').next().unwrap_or(rest);
    }
    authority.rsplit_once(':').map_or(authority, |(h, _)| h)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts() {
        assert_eq!(host_of("api.binance.com:443"), "api.binance.com");
        assert_eq!(host_of("localhost"), "localhost");
        assert_eq!(host_of("[::1]:8443"), "::1");
    }

    #[test]
    fn a_bad_ca_file_is_an_error_not_ignored() {
        let dir = std::env::temp_dir().join(format!("wm-tls-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let empty = dir.join("empty.pem");
        std::fs::write(&empty, "no certificate here\n").unwrap();
        let e = client_config(Some(&empty)).unwrap_err().to_string();
        assert!(e.contains("no PEM certificate"), "{e}");
        let missing = dir.join("missing.pem");
        assert!(client_config(Some(&missing)).is_err());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
