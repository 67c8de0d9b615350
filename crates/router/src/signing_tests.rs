use super::*;

const BINANCE_DOC_SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";
const BINANCE_DOC_PAYLOAD: &str =
    "symbol=LTCBTC&side=BUY&type=LIMIT&timeInForce=GTC&quantity=1&price=0.1&recvWindow=5000&timestamp=1499827319559";

#[test]
fn binance_hmac_matches_the_documented_example_byte_for_byte() {
    let signer = BinanceSigner::hmac_sha256(BINANCE_DOC_SECRET.as_bytes().to_vec());
    let sig = signer.sign(BINANCE_DOC_PAYLOAD);
    assert_eq!(sig, "c8db56825ae71d6d79447849e617115f4a920fa2acdcab2b053c4b2838bd6b71");
    assert!(verify_binance_hmac(BINANCE_DOC_SECRET.as_bytes(), BINANCE_DOC_PAYLOAD, &sig));
}

#[test]
fn binance_hmac_verification_rejects_a_changed_payload_or_signature() {
    let signer = BinanceSigner::hmac_sha256(BINANCE_DOC_SECRET.as_bytes().to_vec());
    let sig = signer.sign(BINANCE_DOC_PAYLOAD);
    let changed = BINANCE_DOC_PAYLOAD.replace("price=0.1", "price=0.2");
    assert!(!verify_binance_hmac(BINANCE_DOC_SECRET.as_bytes(), &changed, &sig));
    let mut bad = sig.clone().into_bytes();
    bad[0] = if bad[0] == b'0' { b'1' } else { b'0' };
    let bad = String::from_utf8(bad).unwrap();
    assert!(!verify_binance_hmac(BINANCE_DOC_SECRET.as_bytes(), BINANCE_DOC_PAYLOAD, &bad));
    assert!(!verify_binance_hmac(BINANCE_DOC_SECRET.as_bytes(), BINANCE_DOC_PAYLOAD, "zz"));
}

/// RFC 8032 section 7.1, test 1 (empty message): the Ed25519 signer is the standard one.
#[test]
fn ed25519_matches_rfc_8032_test_vector_one() {
    let seed = hex_decode("9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60").unwrap();
    let signer = BinanceSigner::ed25519_seed(&seed).unwrap();
    assert_eq!(
        hex_lower(&signer.ed25519_public_key().unwrap()),
        "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
    );
    let sig = STANDARD.decode(signer.sign("")).unwrap();
    assert_eq!(
        hex_lower(&sig),
        "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
    );
}

#[test]
fn a_binance_ed25519_signature_verifies_with_the_public_key_and_not_with_another() {
    let rng = SystemRandom::new();
    let pkcs8 = Ed25519KeyPair::generate_pkcs8(&rng).unwrap();
    let pem = format!("-----BEGIN PRIVATE KEY-----\n{}\n-----END PRIVATE KEY-----\n", STANDARD.encode(pkcs8.as_ref()));
    let signer = BinanceSigner::ed25519_pkcs8(pem.as_bytes()).unwrap();
    let public = signer.ed25519_public_key().unwrap();
    let sig = signer.sign(BINANCE_DOC_PAYLOAD);
    assert!(verify_binance_ed25519(&public, BINANCE_DOC_PAYLOAD, &sig));
    assert!(!verify_binance_ed25519(&public, "symbol=LTCBTC", &sig));
    let other = BinanceSigner::ed25519_seed(&[7u8; 32]).unwrap();
    assert!(!verify_binance_ed25519(&other.ed25519_public_key().unwrap(), BINANCE_DOC_PAYLOAD, &sig));
}

#[test]
fn kraken_api_sign_matches_the_documented_example_byte_for_byte() {
    let signer =
        KrakenSigner::new("kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==")
            .unwrap();
    let sign = signer.api_sign(
        "/0/private/AddOrder",
        "1616492376594",
        "nonce=1616492376594&ordertype=limit&pair=XBTUSD&price=37500&type=buy&volume=1.25",
    );
    assert_eq!(sign, "4/dpxb3iT4tp/ZCVEwSnEsLxx0bqyhLpdfOpc6fn7OR8+UClSV5n9E6aSS8MPtnRfp32bAb0nmbRn6H8ndwLUQ==");
}

#[test]
fn a_kraken_secret_that_is_not_base64_is_a_clear_error_without_the_secret() {
    let err = KrakenSigner::new("not base64 !!").unwrap_err();
    assert!(err.to_string().contains("scheme=kraken"));
    assert!(!err.to_string().contains("not base64 !!"));
}

fn coinbase_signer() -> CoinbaseJwtSigner {
    let rng = SystemRandom::new();
    let pkcs8 = EcdsaKeyPair::generate_pkcs8(&signature::ECDSA_P256_SHA256_FIXED_SIGNING, &rng).unwrap();
    CoinbaseJwtSigner::new("organizations/o/apiKeys/k", pkcs8.as_ref()).unwrap()
}

#[test]
fn a_coinbase_jwt_verifies_with_the_public_key_and_carries_method_host_path_and_expiry() {
    let signer = coinbase_signer();
    let token = signer.token("POST", "api.coinbase.com", "/api/v3/brokerage/orders", 1_700_000_000);
    let claims = verify_coinbase_jwt(&token, &signer.public_key(), 1_700_000_001).unwrap();
    assert_eq!(claims.uri, "POST api.coinbase.com/api/v3/brokerage/orders");
    assert_eq!(claims.sub, "organizations/o/apiKeys/k");
    assert_eq!(claims.iss, "cdp");
    assert_eq!(claims.exp - claims.nbf, COINBASE_JWT_LIFETIME_S);
    let header: serde_json::Value =
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(token.split('.').next().unwrap()).unwrap()).unwrap();
    assert_eq!(header["alg"], "ES256");
    assert_eq!(header["kid"], "organizations/o/apiKeys/k");
}

#[test]
fn a_coinbase_websocket_jwt_has_no_uri_claim_and_verifies_with_the_public_key() {
    let signer = coinbase_signer();
    let token = signer.websocket_token(1_700_000_000);
    let claims_json = URL_SAFE_NO_PAD.decode(token.split('.').nth(1).unwrap()).unwrap();
    let claims: serde_json::Value = serde_json::from_slice(&claims_json).unwrap();
    assert!(claims.get("uri").is_none(), "{claims}");
    let claims = verify_coinbase_jwt(&token, &signer.public_key(), 1_700_000_119).unwrap();
    assert_eq!((claims.uri.as_str(), claims.exp - claims.nbf), ("", COINBASE_JWT_LIFETIME_S));
    assert!(verify_coinbase_jwt(&token, &signer.public_key(), 1_700_000_120).is_err());
}

#[test]
fn a_coinbase_jwt_fails_when_expired_tampered_or_checked_with_another_key() {
    let signer = coinbase_signer();
    let token = signer.token("GET", "api.coinbase.com", "/api/v3/brokerage/orders", 1_000);
    assert!(verify_coinbase_jwt(&token, &signer.public_key(), 1_000 + 120).is_err());
    assert!(verify_coinbase_jwt(&token, &signer.public_key(), 999).is_err());
    assert!(verify_coinbase_jwt(&token, &coinbase_signer().public_key(), 1_001).is_err());
    let claims = URL_SAFE_NO_PAD.encode(
        r#"{"sub":"organizations/o/apiKeys/k","iss":"cdp","nbf":1000,"exp":1120,"uri":"POST api.coinbase.com/api/v3/brokerage/orders"}"#,
    );
    let mut parts: Vec<&str> = token.split('.').collect();
    parts[1] = &claims;
    assert!(verify_coinbase_jwt(&parts.join("."), &signer.public_key(), 1_001).is_err());
    assert!(verify_coinbase_jwt("a.b", &signer.public_key(), 1_001).is_err());
}

#[test]
fn no_signer_or_secret_prints_its_key_material() {
    let hmac = BinanceSigner::hmac_sha256(BINANCE_DOC_SECRET.as_bytes().to_vec());
    let ed = BinanceSigner::ed25519_seed(&[42u8; 32]).unwrap();
    let kraken = KrakenSigner::new("a2V5LWJ5dGVzLWhlcmU=").unwrap();
    let coinbase = coinbase_signer();
    let secret = Secret::new(b"hunter2-secret".to_vec());
    let printed = format!("{hmac:?} {ed:?} {kraken:?} {coinbase:?} {secret:?} {hmac:#?}");
    for needle in [BINANCE_DOC_SECRET, "hunter2", "a2V5LWJ5dGVzLWhlcmU=", "key-bytes-here"] {
        assert!(!printed.contains(needle), "{needle} leaked in {printed}");
    }
    assert!(printed.contains("<redacted>"));
}
