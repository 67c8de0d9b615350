//! Request signing for each venue, over the exact bytes that go on the wire.
//!
//! | Venue | Scheme | Signed bytes | Where it goes |
//! |---|---|---|---|
//! | Binance | HMAC-SHA256, lowercase hex | the query string (and body) exactly as sent, without `signature` | `&signature=` + `X-MBX-APIKEY` header |
//! | Binance | Ed25519, base64 | the same payload | `&signature=` (percent-encoded) |
//! | Kraken | base64(HMAC-SHA512(base64-decoded secret, path + SHA-256(nonce + body))) | URI path, nonce, POST body | `API-Key`, `API-Sign` headers |
//! | Coinbase Advanced Trade | JWT, ES256 | `"METHOD host/path"` in the `uri` claim, 2-minute expiry | `Authorization: Bearer <jwt>` |
//!
//! All cryptography is [`ring`]'s. Secrets live in [`Secret`], whose `Debug` prints
//! `Secret(<redacted>)`, so a key never reaches a log line or an error message by accident.
//!
//! ```
//! use wintermute_router::signing::BinanceSigner;
//! let signer = BinanceSigner::hmac_sha256(b"secret".to_vec());
//! let sig = signer.sign("symbol=BTCUSDT&timestamp=1");
//! assert_eq!(sig.len(), 64); // lowercase hex of a 32-byte tag
//! assert!(!format!("{signer:?}").contains("secret"));
//! ```

use std::fmt;

use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use base64::Engine as _;
use ring::rand::{SecureRandom, SystemRandom};
use ring::signature::{self, EcdsaKeyPair, Ed25519KeyPair, KeyPair as _, UnparsedPublicKey};
use ring::{digest, hmac};

/// Why a key could not be loaded or a token not verified.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SigningError {
    /// The key material is not what the scheme needs (the message never contains the key).
    #[error("invalid key: scheme={scheme} why={why}")]
    InvalidKey {
        /// Which scheme.
        scheme: &'static str,
        /// What was wrong.
        why: &'static str,
    },
    /// A token or signature did not verify.
    #[error("verification failed: scheme={scheme} why={why}")]
    Verification {
        /// Which scheme.
        scheme: &'static str,
        /// What was wrong.
        why: &'static str,
    },
}

/// Secret bytes (an API secret or private key). Never printed.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Vec<u8>);

impl Secret {
    /// Wraps secret bytes.
    pub fn new(bytes: Vec<u8>) -> Self {
        Self(bytes)
    }

    /// The bytes, for the signer only.
    fn expose(&self) -> &[u8] {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Secret(<redacted>)")
    }
}

/// Lowercase hex of bytes.
pub fn hex_lower(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        out.push(DIGITS[usize::from(b >> 4)] as char);
        out.push(DIGITS[usize::from(b & 0x0f)] as char);
    }
    out
}

/// The DER inside a PEM block (`-----BEGIN ...-----` lines dropped), or the input itself when
/// it is not PEM text.
pub fn pem_to_der(pem_or_der: &[u8]) -> Result<Vec<u8>, SigningError> {
    let Ok(text) = std::str::from_utf8(pem_or_der) else { return Ok(pem_or_der.to_vec()) };
    if !text.contains("-----BEGIN") {
        return Ok(pem_or_der.to_vec());
    }
    let body: String =
        text.lines().map(str::trim).filter(|line| !line.starts_with("-----") && !line.is_empty()).collect();
    STANDARD.decode(body).map_err(|_| SigningError::InvalidKey { scheme: "pem", why: "body is not base64" })
}

/// Signs Binance requests: HMAC-SHA256 (hex) or Ed25519 (base64).
pub enum BinanceSigner {
    /// An HMAC key: the API secret.
    HmacSha256(hmac::Key, Secret),
    /// An Ed25519 private key (the public key is registered with the venue).
    Ed25519(Ed25519KeyPair),
}

impl fmt::Debug for BinanceSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BinanceSigner::HmacSha256(..) => f.write_str("BinanceSigner::HmacSha256(<redacted>)"),
            BinanceSigner::Ed25519(_) => f.write_str("BinanceSigner::Ed25519(<redacted>)"),
        }
    }
}

impl BinanceSigner {
    /// An HMAC-SHA256 signer from the API secret (its text bytes, as Binance shows it).
    pub fn hmac_sha256(secret: Vec<u8>) -> Self {
        let secret = Secret::new(secret);
        BinanceSigner::HmacSha256(hmac::Key::new(hmac::HMAC_SHA256, secret.expose()), secret)
    }

    /// An Ed25519 signer from a PKCS#8 private key, PEM (`BEGIN PRIVATE KEY`) or DER, as
    /// `openssl genpkey -algorithm ed25519` writes it.
    pub fn ed25519_pkcs8(pem_or_der: &[u8]) -> Result<Self, SigningError> {
        let der = pem_to_der(pem_or_der)?;
        Ed25519KeyPair::from_pkcs8_maybe_unchecked(&der)
            .map(BinanceSigner::Ed25519)
            .map_err(|_| SigningError::InvalidKey { scheme: "ed25519", why: "not a PKCS#8 key" })
    }

    /// An Ed25519 signer from the 32-byte seed.
    pub fn ed25519_seed(seed: &[u8]) -> Result<Self, SigningError> {
        Ed25519KeyPair::from_seed_unchecked(seed)
            .map(BinanceSigner::Ed25519)
            .map_err(|_| SigningError::InvalidKey { scheme: "ed25519", why: "seed is not 32 bytes" })
    }

    /// The Ed25519 public key (32 bytes), to register with the venue; `None` for HMAC.
    pub fn ed25519_public_key(&self) -> Option<Vec<u8>> {
        match self {
            BinanceSigner::Ed25519(pair) => Some(pair.public_key().as_ref().to_vec()),
            BinanceSigner::HmacSha256(..) => None,
        }
    }

    /// The signature of `payload` as Binance wants it in `signature=`: hex for HMAC, base64 for
    /// Ed25519 (percent-encode it in a query string: it may hold `+`, `/`, `=`).
    pub fn sign(&self, payload: &str) -> String {
        match self {
            BinanceSigner::HmacSha256(key, _) => hex_lower(hmac::sign(key, payload.as_bytes()).as_ref()),
            BinanceSigner::Ed25519(pair) => STANDARD.encode(pair.sign(payload.as_bytes())),
        }
    }
}

/// Checks a Binance HMAC-SHA256 signature in constant time (the simulator's side).
pub fn verify_binance_hmac(secret: &[u8], payload: &str, signature_hex: &str) -> bool {
    let Some(tag) = hex_decode(signature_hex) else { return false };
    hmac::verify(&hmac::Key::new(hmac::HMAC_SHA256, secret), payload.as_bytes(), &tag).is_ok()
}

/// Checks a Binance Ed25519 signature (base64) with the registered public key.
pub fn verify_binance_ed25519(public_key: &[u8], payload: &str, signature_b64: &str) -> bool {
    let Ok(sig) = STANDARD.decode(signature_b64) else { return false };
    UnparsedPublicKey::new(&signature::ED25519, public_key).verify(payload.as_bytes(), &sig).is_ok()
}

fn hex_decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len()).step_by(2).map(|i| text.get(i..i + 2).and_then(|pair| u8::from_str_radix(pair, 16).ok())).collect()
}

/// Kraken's `API-Sign`: base64(HMAC-SHA512(key = base64-decoded secret,
/// msg = URI path + SHA-256(nonce + POST body))).
pub struct KrakenSigner {
    key: hmac::Key,
}

impl fmt::Debug for KrakenSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("KrakenSigner(<redacted>)")
    }
}

impl KrakenSigner {
    /// From the API secret as Kraken shows it (base64 text).
    pub fn new(secret_base64: &str) -> Result<Self, SigningError> {
        let secret = Secret::new(
            STANDARD
                .decode(secret_base64.trim())
                .map_err(|_| SigningError::InvalidKey { scheme: "kraken", why: "secret is not base64" })?,
        );
        Ok(Self { key: hmac::Key::new(hmac::HMAC_SHA512, secret.expose()) })
    }

    /// The `API-Sign` header value for a request to `uri_path` (`/0/private/AddOrder`) with
    /// this `nonce` and form `body` (which itself contains `nonce=...`).
    pub fn api_sign(&self, uri_path: &str, nonce: &str, body: &str) -> String {
        let mut inner = digest::Context::new(&digest::SHA256);
        inner.update(nonce.as_bytes());
        inner.update(body.as_bytes());
        let inner = inner.finish();
        let mut mac = hmac::Context::with_key(&self.key);
        mac.update(uri_path.as_bytes());
        mac.update(inner.as_ref());
        STANDARD.encode(mac.sign().as_ref())
    }

    /// Whether `signature_b64` is the `API-Sign` of this request (checked in constant time; what
    /// the venue does with the secret it keeps).
    pub fn verify(&self, uri_path: &str, nonce: &str, body: &str, signature_b64: &str) -> bool {
        let Ok(signature) = STANDARD.decode(signature_b64) else { return false };
        let mut message = Vec::with_capacity(uri_path.len() + 32);
        message.extend_from_slice(uri_path.as_bytes());
        let mut inner = digest::Context::new(&digest::SHA256);
        inner.update(nonce.as_bytes());
        inner.update(body.as_bytes());
        message.extend_from_slice(inner.finish().as_ref());
        hmac::verify(&self.key, &message, &signature).is_ok()
    }
}

/// The claims of a Coinbase Advanced Trade request JWT.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct CoinbaseClaims {
    /// The key name (`organizations/{org}/apiKeys/{key}`).
    pub sub: String,
    /// Always `"cdp"`.
    pub iss: String,
    /// Not valid before (Unix seconds).
    pub nbf: i64,
    /// Expires (Unix seconds): `nbf + 120`.
    pub exp: i64,
    /// `"METHOD host/path"`, e.g. `"POST api.coinbase.com/api/v3/brokerage/orders"`; empty
    /// (and left out of the token) for a WebSocket subscription's JWT.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub uri: String,
}

/// Builds Coinbase Advanced Trade JWTs (ES256) for each request.
pub struct CoinbaseJwtSigner {
    key_name: String,
    key_pair: EcdsaKeyPair,
    rng: SystemRandom,
}

impl fmt::Debug for CoinbaseJwtSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CoinbaseJwtSigner {{ key_name: {:?}, key: <redacted> }}", self.key_name)
    }
}

/// How long a Coinbase request JWT is valid (the venue's documented 2 minutes).
pub const COINBASE_JWT_LIFETIME_S: i64 = 120;

impl CoinbaseJwtSigner {
    /// From the key name and a P-256 private key in PKCS#8 (PEM `BEGIN PRIVATE KEY` or DER).
    /// Coinbase hands out SEC1 PEM (`BEGIN EC PRIVATE KEY`); convert it once with
    /// `openssl pkcs8 -topk8 -nocrypt -in key.pem`.
    pub fn new(key_name: &str, pkcs8_pem_or_der: &[u8]) -> Result<Self, SigningError> {
        let der = pem_to_der(pkcs8_pem_or_der)?;
        let rng = SystemRandom::new();
        let key_pair = EcdsaKeyPair::from_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &der, &rng)
            .map_err(|_| SigningError::InvalidKey { scheme: "es256", why: "not a PKCS#8 P-256 key" })?;
        Ok(Self { key_name: key_name.to_owned(), key_pair, rng })
    }

    /// The public key (uncompressed SEC1 point, 65 bytes).
    pub fn public_key(&self) -> Vec<u8> {
        self.key_pair.public_key().as_ref().to_vec()
    }

    /// A JWT for one request: `method` (`"POST"`), `host` (`"api.coinbase.com"`), `path`
    /// (`"/api/v3/brokerage/orders"`), valid from `now_s` for two minutes.
    pub fn token(&self, method: &str, host: &str, path: &str, now_s: i64) -> String {
        self.signed(format!("{method} {host}{path}"), now_s)
    }

    /// A JWT for a WebSocket subscription (the `user` channel): the same claims without `uri`,
    /// valid from `now_s` for two minutes.
    pub fn websocket_token(&self, now_s: i64) -> String {
        self.signed(String::new(), now_s)
    }

    fn signed(&self, uri: String, now_s: i64) -> String {
        let mut nonce = [0u8; 16];
        // SystemRandom fails only if the OS has no randomness; a zero nonce is still a valid
        // (if less unique) header then, and the signature stays sound.
        let _ = self.rng.fill(&mut nonce);
        let header = serde_json::json!({
            "alg": "ES256", "typ": "JWT", "kid": self.key_name, "nonce": hex_lower(&nonce),
        });
        let claims = CoinbaseClaims {
            sub: self.key_name.clone(),
            iss: "cdp".to_owned(),
            nbf: now_s,
            exp: now_s + COINBASE_JWT_LIFETIME_S,
            uri,
        };
        let signing_input = format!(
            "{}.{}",
            URL_SAFE_NO_PAD.encode(header.to_string()),
            URL_SAFE_NO_PAD.encode(serde_json::to_string(&claims).unwrap_or_default()),
        );
        // ECDSA signing fails only on an RNG failure; the token then carries an empty
        // signature, which the venue rejects (never a panic on the order path).
        let sig = self
            .key_pair
            .sign(&self.rng, signing_input.as_bytes())
            .map(|s| URL_SAFE_NO_PAD.encode(s.as_ref()))
            .unwrap_or_default();
        format!("{signing_input}.{sig}")
    }
}

/// Verifies a Coinbase JWT with the public key (uncompressed point), checks `alg` and the
/// validity window at `now_s`, and returns its claims (the simulator's side).
pub fn verify_coinbase_jwt(token: &str, public_key: &[u8], now_s: i64) -> Result<CoinbaseClaims, SigningError> {
    let fail = |why| SigningError::Verification { scheme: "es256", why };
    let mut parts = token.split('.');
    let (Some(h), Some(c), Some(s), None) = (parts.next(), parts.next(), parts.next(), parts.next()) else {
        return Err(fail("not three dot-separated parts"));
    };
    let header: serde_json::Value = URL_SAFE_NO_PAD
        .decode(h)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| fail("header is not base64url JSON"))?;
    if header.get("alg").and_then(|a| a.as_str()) != Some("ES256") {
        return Err(fail("alg is not ES256"));
    }
    let sig = URL_SAFE_NO_PAD.decode(s).map_err(|_| fail("signature is not base64url"))?;
    let signing_input = &token[..h.len() + 1 + c.len()];
    UnparsedPublicKey::new(&signature::ECDSA_P256_SHA256_FIXED, public_key)
        .verify(signing_input.as_bytes(), &sig)
        .map_err(|_| fail("bad signature"))?;
    let claims: CoinbaseClaims = URL_SAFE_NO_PAD
        .decode(c)
        .ok()
        .and_then(|b| serde_json::from_slice(&b).ok())
        .ok_or_else(|| fail("claims are not base64url JSON"))?;
    if now_s < claims.nbf || now_s >= claims.exp {
        return Err(fail("outside the validity window"));
    }
    Ok(claims)
}

#[cfg(test)]
#[path = "signing_tests.rs"]
mod tests;
