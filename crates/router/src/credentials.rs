//! Venue keys from the environment or from files, never printed.
//!
//! | Variable | Meaning |
//! |---|---|
//! | `WINTERMUTE_BINANCE_API_KEY` | the API key (sent in `X-MBX-APIKEY`) |
//! | `WINTERMUTE_BINANCE_ED25519_KEY_FILE` | path to an Ed25519 private key, PKCS#8 PEM (preferred) |
//! | `WINTERMUTE_BINANCE_API_SECRET_FILE` | path to a file holding the HMAC secret |
//! | `WINTERMUTE_BINANCE_API_SECRET` | the HMAC secret itself (least preferred: environments leak) |
//!
//! The first of the three key sources that is set wins, in that order. The loaded
//! [`BinanceCredentials`] print the API key's first four characters and nothing of the secret;
//! errors name the variable or path, never the value.

use std::fmt;
use std::path::Path;

use crate::signing::{BinanceSigner, SigningError};

/// Why credentials could not be loaded.
#[derive(Debug, thiserror::Error)]
pub enum CredentialsError {
    /// A required variable is not set.
    #[error("credentials missing: variable={variable}")]
    Missing {
        /// Which variable (or list of alternatives).
        variable: &'static str,
    },
    /// A key file could not be read.
    #[error("key file unreadable: path={path} error={error}")]
    Unreadable {
        /// The path.
        path: String,
        /// The I/O error.
        error: std::io::Error,
    },
    /// The key material is invalid.
    #[error(transparent)]
    Key(#[from] SigningError),
}

/// A Binance API key and its signer.
pub struct BinanceCredentials {
    /// The API key.
    pub api_key: String,
    /// The signer (HMAC secret or Ed25519 private key).
    pub signer: BinanceSigner,
}

impl fmt::Debug for BinanceCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let shown: String = self.api_key.chars().take(4).collect();
        write!(f, "BinanceCredentials {{ api_key: \"{shown}…\", signer: {:?} }}", self.signer)
    }
}

impl BinanceCredentials {
    /// From the process environment (see the module docs).
    pub fn from_env() -> Result<Self, CredentialsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// From any variable lookup (the environment, a config map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, CredentialsError> {
        let api_key = get("WINTERMUTE_BINANCE_API_KEY")
            .filter(|k| !k.is_empty())
            .ok_or(CredentialsError::Missing { variable: "WINTERMUTE_BINANCE_API_KEY" })?;
        let read = |path: String| {
            std::fs::read(Path::new(&path)).map_err(|error| CredentialsError::Unreadable { path, error })
        };
        let signer = if let Some(path) = get("WINTERMUTE_BINANCE_ED25519_KEY_FILE") {
            BinanceSigner::ed25519_pkcs8(&read(path)?)?
        } else if let Some(path) = get("WINTERMUTE_BINANCE_API_SECRET_FILE") {
            let bytes = read(path)?;
            let text = String::from_utf8_lossy(&bytes);
            BinanceSigner::hmac_sha256(text.trim().as_bytes().to_vec())
        } else if let Some(secret) = get("WINTERMUTE_BINANCE_API_SECRET") {
            BinanceSigner::hmac_sha256(secret.into_bytes())
        } else {
            return Err(CredentialsError::Missing {
                variable: "WINTERMUTE_BINANCE_ED25519_KEY_FILE | WINTERMUTE_BINANCE_API_SECRET_FILE | WINTERMUTE_BINANCE_API_SECRET",
            });
        };
        Ok(Self { api_key, signer })
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashMap;

    use super::*;
    use crate::signing::verify_binance_hmac;

    fn lookup(pairs: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: HashMap<String, String> = pairs.iter().map(|(k, v)| ((*k).to_owned(), (*v).to_owned())).collect();
        move |name| map.get(name).cloned()
    }

    #[test]
    fn an_hmac_secret_from_a_file_signs_and_neither_debug_nor_errors_print_it() {
        let dir = std::env::temp_dir().join(format!("wm-router-cred-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("secret");
        std::fs::write(&file, "s3cr3t-value\n").unwrap();
        let creds = BinanceCredentials::from_lookup(lookup(&[
            ("WINTERMUTE_BINANCE_API_KEY", "KEYabcdef123"),
            ("WINTERMUTE_BINANCE_API_SECRET_FILE", file.to_str().unwrap()),
        ]))
        .unwrap();
        let sig = creds.signer.sign("a=1");
        assert!(verify_binance_hmac(b"s3cr3t-value", "a=1", &sig), "the trailing newline is trimmed");
        let printed = format!("{creds:?}");
        assert!(printed.contains("KEYa") && !printed.contains("KEYabcdef123") && !printed.contains("s3cr3t"));
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn missing_or_unreadable_keys_name_the_variable_or_path_not_a_value() {
        let err = BinanceCredentials::from_lookup(lookup(&[])).unwrap_err();
        assert!(err.to_string().contains("variable=WINTERMUTE_BINANCE_API_KEY"));
        let err = BinanceCredentials::from_lookup(lookup(&[("WINTERMUTE_BINANCE_API_KEY", "k")])).unwrap_err();
        assert!(matches!(err, CredentialsError::Missing { .. }));
        let err = BinanceCredentials::from_lookup(lookup(&[
            ("WINTERMUTE_BINANCE_API_KEY", "k"),
            ("WINTERMUTE_BINANCE_ED25519_KEY_FILE", "/nonexistent/ed25519.pem"),
        ]))
        .unwrap_err();
        assert!(err.to_string().contains("path=/nonexistent/ed25519.pem"));
    }

    #[test]
    fn an_ed25519_file_wins_over_an_hmac_secret() {
        let dir = std::env::temp_dir().join(format!("wm-router-ed-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("ed.pem");
        let rng = ring::rand::SystemRandom::new();
        let pkcs8 = ring::signature::Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
        use base64::Engine as _;
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(pkcs8.as_ref())
        );
        std::fs::write(&file, pem).unwrap();
        let creds = BinanceCredentials::from_lookup(lookup(&[
            ("WINTERMUTE_BINANCE_API_KEY", "k"),
            ("WINTERMUTE_BINANCE_ED25519_KEY_FILE", file.to_str().unwrap()),
            ("WINTERMUTE_BINANCE_API_SECRET", "ignored"),
        ]))
        .unwrap();
        assert!(creds.signer.ed25519_public_key().is_some());
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
