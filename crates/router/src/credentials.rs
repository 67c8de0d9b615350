//! Venue keys from the environment or from files, never printed.
//!
//! | Variable | Meaning |
//! |---|---|
//! | `WINTERMUTE_BINANCE_API_KEY` | the API key (sent in `X-MBX-APIKEY`) |
//! | `WINTERMUTE_BINANCE_ED25519_KEY_FILE` | path to an Ed25519 private key, PKCS#8 PEM (preferred) |
//! | `WINTERMUTE_BINANCE_API_SECRET_FILE` | path to a file holding the HMAC secret |
//! | `WINTERMUTE_BINANCE_API_SECRET` | the HMAC secret itself (least preferred: environments leak) |
//!
//! | `WINTERMUTE_KRAKEN_API_KEY` | Kraken's API key (sent in `API-Key`) |
//! | `WINTERMUTE_KRAKEN_API_SECRET_FILE` | path to a file holding Kraken's base64 secret (preferred) |
//! | `WINTERMUTE_KRAKEN_API_SECRET` | Kraken's secret itself |
//! | `WINTERMUTE_COINBASE_KEY_NAME` | Coinbase's key name (`organizations/{org}/apiKeys/{key}`) |
//! | `WINTERMUTE_COINBASE_PRIVATE_KEY_FILE` | path to its P-256 private key, PKCS#8 PEM |
//!
//! The first key source set wins, in the table's order. Loaded credentials print the API key's
//! first four characters and nothing of the secret; errors name the variable or path, never
//! the value.
//!
//! # Key files
//! The same variables can come from a file instead of the environment ([`KeyFile`]): one
//! `VARIABLE=value` a line, blank lines and `#` comments allowed, e.g.
//!
//! ```text
//! WINTERMUTE_KRAKEN_API_KEY=...
//! WINTERMUTE_KRAKEN_API_SECRET_FILE=/etc/wintermute/kraken.secret
//! ```
//!
//! On Unix the file must be readable by its owner only (mode `0600` or `0400`): a key file
//! others can read is refused, as is a line that is not `WINTERMUTE_...=value` (the error gives
//! the line number, never its text).

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};

use crate::signing::{BinanceSigner, CoinbaseJwtSigner, KrakenSigner, SigningError};

fn required(get: &impl Fn(&str) -> Option<String>, variable: &'static str) -> Result<String, CredentialsError> {
    get(variable).filter(|v| !v.is_empty()).ok_or(CredentialsError::Missing { variable })
}

fn read_file(path: String) -> Result<Vec<u8>, CredentialsError> {
    std::fs::read(Path::new(&path)).map_err(|error| CredentialsError::Unreadable { path, error })
}

/// A secret kept in a file: its text, without the surrounding white space (a trailing newline).
fn read_secret_file(path: String) -> Result<String, CredentialsError> {
    Ok(String::from_utf8_lossy(&read_file(path)?).trim().to_owned())
}

fn shown(api_key: &str) -> String {
    api_key.chars().take(4).collect()
}

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
    /// A key file others than its owner may read or write.
    #[error("key file path={path}: mode {mode:o} opens it to others than its owner: chmod 600 it")]
    Permissions {
        /// The path.
        path: String,
        /// Its permission bits.
        mode: u32,
    },
    /// A key file line that is not `WINTERMUTE_...=value`.
    #[error("key file path={path} line={line}: {why}")]
    Malformed {
        /// The path.
        path: String,
        /// The line (from 1).
        line: usize,
        /// What is wrong (never the line's text).
        why: &'static str,
    },
}

/// Key variables read from a file (see the module docs): never printed.
pub struct KeyFile {
    path: PathBuf,
    values: HashMap<String, String>,
}

impl fmt::Debug for KeyFile {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut names: Vec<&str> = self.values.keys().map(String::as_str).collect();
        names.sort_unstable();
        f.debug_struct("KeyFile").field("path", &self.path).field("variables", &names).finish()
    }
}

impl KeyFile {
    /// Reads and checks the file at `path`: owner-only permissions (Unix), `VARIABLE=value`
    /// lines of `WINTERMUTE_` variables, each named once.
    pub fn read(path: &Path) -> Result<Self, CredentialsError> {
        let shown = path.display().to_string();
        let unreadable = |error| CredentialsError::Unreadable { path: shown.clone(), error };
        let meta = std::fs::metadata(path).map_err(unreadable)?;
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            let mode = meta.permissions().mode() & 0o777;
            if mode & 0o077 != 0 {
                return Err(CredentialsError::Permissions { path: shown, mode });
            }
        }
        #[cfg(not(unix))]
        let _ = meta;
        let bytes = std::fs::read(path).map_err(unreadable)?;
        let text = std::str::from_utf8(&bytes).map_err(|_| CredentialsError::Malformed {
            path: shown.clone(),
            line: 0,
            why: "not UTF-8 text",
        })?;
        let mut values = HashMap::new();
        for (n, line) in text.lines().enumerate() {
            let bad = |why| CredentialsError::Malformed { path: shown.clone(), line: n + 1, why };
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (name, value) = line.split_once('=').ok_or_else(|| bad("expected VARIABLE=value"))?;
            let name = name.trim();
            if !name.starts_with("WINTERMUTE_")
                || !name.bytes().all(|b| b.is_ascii_uppercase() || b == b'_' || b.is_ascii_digit())
            {
                return Err(bad("the variable is not a WINTERMUTE_ key variable"));
            }
            let value = value.trim();
            if value.is_empty() {
                return Err(bad("empty value"));
            }
            if values.insert(name.to_owned(), value.to_owned()).is_some() {
                return Err(bad("a variable named twice"));
            }
        }
        Ok(KeyFile { path: path.to_owned(), values })
    }

    /// The file's path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// The value of `variable`, for the credentials' `from_lookup`.
    pub fn get(&self, variable: &str) -> Option<String> {
        self.values.get(variable).cloned()
    }
}

/// An API key and the signer of its secret: Binance's and Kraken's credentials.
pub struct ApiKey<S> {
    /// The API key.
    pub api_key: String,
    /// The signer.
    pub signer: S,
}

/// A Binance API key and its signer (HMAC secret or Ed25519 private key).
pub type BinanceCredentials = ApiKey<BinanceSigner>;

/// A Kraken API key and its `API-Sign` signer.
pub type KrakenCredentials = ApiKey<KrakenSigner>;

impl<S: fmt::Debug> fmt::Debug for ApiKey<S> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ApiKey {{ api_key: \"{}…\", signer: {:?} }}", shown(&self.api_key), self.signer)
    }
}

impl BinanceCredentials {
    /// From the process environment (see the module docs).
    pub fn from_env() -> Result<Self, CredentialsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// From any variable lookup (the environment, a config map).
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, CredentialsError> {
        let api_key = required(&get, "WINTERMUTE_BINANCE_API_KEY")?;
        let signer = if let Some(path) = get("WINTERMUTE_BINANCE_ED25519_KEY_FILE") {
            BinanceSigner::ed25519_pkcs8(&read_file(path)?)?
        } else if let Some(path) = get("WINTERMUTE_BINANCE_API_SECRET_FILE") {
            BinanceSigner::hmac_sha256(read_secret_file(path)?.into_bytes())
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

impl KrakenCredentials {
    /// From the process environment (see the module docs).
    pub fn from_env() -> Result<Self, CredentialsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// From any variable lookup.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, CredentialsError> {
        let api_key = required(&get, "WINTERMUTE_KRAKEN_API_KEY")?;
        let secret = if let Some(path) = get("WINTERMUTE_KRAKEN_API_SECRET_FILE") {
            read_secret_file(path)?
        } else {
            get("WINTERMUTE_KRAKEN_API_SECRET").filter(|s| !s.is_empty()).ok_or(CredentialsError::Missing {
                variable: "WINTERMUTE_KRAKEN_API_SECRET_FILE | WINTERMUTE_KRAKEN_API_SECRET",
            })?
        };
        Ok(Self { api_key, signer: KrakenSigner::new(&secret)? })
    }
}

/// A Coinbase key name and its JWT signer.
pub struct CoinbaseCredentials {
    /// The key name.
    pub key_name: String,
    /// The ES256 signer.
    pub signer: CoinbaseJwtSigner,
}

impl fmt::Debug for CoinbaseCredentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "CoinbaseCredentials {{ signer: {:?} }}", self.signer)
    }
}

impl CoinbaseCredentials {
    /// From the process environment (see the module docs).
    pub fn from_env() -> Result<Self, CredentialsError> {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    /// From any variable lookup.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self, CredentialsError> {
        let key_name = required(&get, "WINTERMUTE_COINBASE_KEY_NAME")?;
        let pem = read_file(required(&get, "WINTERMUTE_COINBASE_PRIVATE_KEY_FILE")?)?;
        let signer = CoinbaseJwtSigner::new(&key_name, &pem)?;
        Ok(Self { key_name, signer })
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

    fn owner_only(path: &Path, text: &str) {
        std::fs::write(path, text).unwrap();
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).unwrap();
        }
    }

    #[test]
    fn a_key_file_gives_the_variables_and_prints_no_value() {
        let dir = std::env::temp_dir().join(format!("wm-router-keyfile-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("keys");
        owner_only(
            &file,
            "# kraken\n\nWINTERMUTE_BINANCE_API_KEY = KEYsecretpart\nWINTERMUTE_BINANCE_API_SECRET=hushhush\n",
        );
        let keys = KeyFile::read(&file).unwrap();
        let creds = BinanceCredentials::from_lookup(|v| keys.get(v)).unwrap();
        assert!(verify_binance_hmac(b"hushhush", "a=1", &creds.signer.sign("a=1")));
        for printed in [format!("{keys:?}"), format!("{creds:?}")] {
            assert!(!printed.contains("secretpart") && !printed.contains("hushhush"), "{printed}");
        }
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_key_file_others_can_read_or_with_a_bad_line_is_refused_without_its_text() {
        let dir = std::env::temp_dir().join(format!("wm-router-keybad-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let file = dir.join("keys");
        for (text, line, why) in [
            ("WINTERMUTE_KRAKEN_API_KEY=k\nhushhush-pasted-secret\n", 2, "expected VARIABLE=value"),
            ("hushhush=1\n", 1, "not a WINTERMUTE_ key variable"),
            ("WINTERMUTE_KRAKEN_API_KEY=\n", 1, "empty value"),
            ("WINTERMUTE_KRAKEN_API_KEY=a\nWINTERMUTE_KRAKEN_API_KEY=hushhush\n", 2, "named twice"),
        ] {
            owner_only(&file, text);
            let e = KeyFile::read(&file).unwrap_err().to_string();
            assert!(e.contains(&format!("line={line}")) && e.contains(why), "{e}");
            assert!(!e.contains("hushhush"), "{e}");
        }
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt as _;
            std::fs::write(&file, "WINTERMUTE_KRAKEN_API_KEY=hushhush\n").unwrap();
            std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
            let e = KeyFile::read(&file).unwrap_err();
            assert!(matches!(e, CredentialsError::Permissions { mode: 0o644, .. }), "{e}");
            assert!(e.to_string().contains("chmod 600") && !e.to_string().contains("hushhush"));
        }
        let e = KeyFile::read(&dir.join("absent")).unwrap_err().to_string();
        assert!(e.contains("absent"), "{e}");
        std::fs::remove_dir_all(&dir).unwrap();
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

    #[test]
    fn kraken_and_coinbase_keys_load_from_files_and_print_nothing_secret() {
        let dir = std::env::temp_dir().join(format!("wm-router-kc-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let secret = "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==";
        let file = dir.join("kraken");
        std::fs::write(&file, format!("{secret}\n")).unwrap();
        let creds = KrakenCredentials::from_lookup(lookup(&[
            ("WINTERMUTE_KRAKEN_API_KEY", "KRAKENKEY123"),
            ("WINTERMUTE_KRAKEN_API_SECRET_FILE", file.to_str().unwrap()),
        ]))
        .unwrap();
        let body = "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25";
        assert_eq!(
            creds.signer.api_sign("/0/private/AddOrder", "1616492376594", body),
            "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ=="
        );
        let printed = format!("{creds:?}");
        assert!(printed.contains("KRAK") && !printed.contains("KRAKENKEY123") && !printed.contains("kQH5"));
        let err = KrakenCredentials::from_lookup(lookup(&[("WINTERMUTE_KRAKEN_API_KEY", "k")])).unwrap_err();
        assert!(err.to_string().contains("WINTERMUTE_KRAKEN_API_SECRET"));

        let rng = ring::rand::SystemRandom::new();
        let pkcs8 =
            ring::signature::EcdsaKeyPair::generate_pkcs8(&ring::signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng)
                .unwrap();
        use base64::Engine as _;
        let pem = format!(
            "-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n",
            base64::engine::general_purpose::STANDARD.encode(pkcs8.as_ref())
        );
        let key_file = dir.join("coinbase.pem");
        std::fs::write(&key_file, &pem).unwrap();
        let creds = CoinbaseCredentials::from_lookup(lookup(&[
            ("WINTERMUTE_COINBASE_KEY_NAME", "organizations/o/apiKeys/k"),
            ("WINTERMUTE_COINBASE_PRIVATE_KEY_FILE", key_file.to_str().unwrap()),
        ]))
        .unwrap();
        let token = creds.signer.token("GET", "api.coinbase.com", "/api/v3/brokerage/orders/historical/batch", 100);
        let claims = crate::signing::verify_coinbase_jwt(&token, &creds.signer.public_key(), 100).unwrap();
        assert_eq!(claims.sub, "organizations/o/apiKeys/k");
        assert!(!format!("{creds:?}").contains("PRIVATE"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
