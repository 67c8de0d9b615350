//! A private certificate authority for the TLS tests (feature `tls`): made for the test, it
//! signs a server certificate for the names given (`127.0.0.1`, `localhost`), so that a client
//! given the authority's PEM trusts a TLS server on 127.0.0.1 as it would a venue, and one
//! without it refuses the server.

use std::sync::Arc;

use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};

/// A certificate authority and a server configuration with a certificate it signed.
pub struct TestPki {
    /// The authority's certificate (PEM): what a client must trust.
    pub ca_pem: String,
    /// A server configuration (rustls, ring) presenting the signed certificate and the
    /// authority's.
    pub server: Arc<rustls::ServerConfig>,
}

/// A new authority, and a server certificate it signed for `names` (the names the client
/// checks, e.g. `127.0.0.1`).
pub fn test_pki(names: &[&str]) -> TestPki {
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    ca_params.distinguished_name.push(DnType::CommonName, "wintermute test authority");
    let ca = CertifiedIssuer::self_signed(ca_params, KeyPair::generate().unwrap()).unwrap();
    let params = CertificateParams::new(names.iter().map(|n| (*n).to_owned()).collect::<Vec<_>>()).unwrap();
    let key = KeyPair::generate().unwrap();
    let cert = params.signed_by(&key, &ca).unwrap();
    let chain: Vec<CertificateDer<'static>> = vec![cert.der().clone(), ca.der().clone()];
    let private = PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der()));
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let server = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(chain, private)
        .unwrap();
    TestPki { ca_pem: ca.pem(), server: Arc::new(server) }
}
