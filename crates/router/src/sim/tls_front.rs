//! A TLS front for a simulator: accepts TLS on 127.0.0.1 with a given certificate and
//! forwards the plaintext to the simulator, so a client reaches it through `https://` as it
//! would a venue (`crate::sim_routes`, and the paper venues when asked).

use std::net::SocketAddr;
use std::sync::Arc;

use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use tokio::net::{TcpListener, TcpStream};
use tokio_rustls::TlsAcceptor;

/// Accepts TLS on 127.0.0.1 (a free port) and forwards the plaintext to `backend`; returns the
/// front's address. Runs on the calling runtime.
pub async fn tls_front(config: Arc<rustls::ServerConfig>, backend: SocketAddr) -> std::io::Result<SocketAddr> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let addr = listener.local_addr()?;
    let acceptor = TlsAcceptor::from(config);
    tokio::spawn(async move {
        while let Ok((tcp, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                // A client that refuses the certificate aborts the handshake: nothing to forward.
                let Ok(mut tls) = acceptor.accept(tcp).await else { return };
                let Ok(mut plain) = TcpStream::connect(backend).await else { return };
                let _ = tokio::io::copy_bidirectional(&mut tls, &mut plain).await;
            });
        }
    });
    Ok(addr)
}

/// A TLS server configuration from a PEM certificate chain (leaf first) and a PEM private key.
pub fn server_config(cert_chain_pem: &str, key_pem: &str) -> Result<Arc<rustls::ServerConfig>, String> {
    let chain = CertificateDer::pem_slice_iter(cert_chain_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| format!("certificate chain: {e}"))?;
    if chain.is_empty() {
        return Err("certificate chain: no PEM certificate".into());
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem.as_bytes()).map_err(|e| format!("private key: {e}"))?;
    let config = rustls::ServerConfig::builder_with_provider(Arc::new(rustls::crypto::ring::default_provider()))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .with_no_client_auth()
        .with_single_cert(chain, key)
        .map_err(|e| e.to_string())?;
    Ok(Arc::new(config))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bad_certificate_or_key_is_an_error() {
        assert!(server_config("", "").unwrap_err().contains("no PEM certificate"));
        let e = server_config("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n", "").unwrap_err();
        assert!(e.contains("private key"), "{e}");
    }
}
