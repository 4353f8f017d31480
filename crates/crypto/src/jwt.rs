//! JWTs: RS256 signing with cached key pairs, JWKS, and verification of our own tokens.
//!
//! Signing uses aws-lc's `RsaKeyPair` directly (parsed once, kept in memory) because re-parsing
//! the key on every token, as general-purpose JWT crates do, costs ~2.7× the signature itself.
//! Verification goes through `jsonwebtoken` with RS256 as the only allowed algorithm and only
//! keys we published; expiry is checked by the caller against its own clock.

use crate::CryptoError;
use aws_lc_rs::encoding::AsDer;
use aws_lc_rs::rsa::KeySize;
use aws_lc_rs::signature::{KeyPair as _, RSA_PKCS1_SHA256, RsaKeyPair};
use base64::Engine;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// A public key as published in a JWKS.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Jwk {
    pub alg: String,
    pub e: String,
    pub kid: String,
    pub kty: String,
    pub n: String,
    #[serde(rename = "use")]
    pub use_: String,
}

pub struct SigningKey {
    kid: String,
    pair: RsaKeyPair,
    jwk: Jwk,
}

impl std::fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningKey")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl SigningKey {
    /// A new RSA-2048 key; returns it with its PKCS#8 encoding (to be sealed and stored).
    pub fn generate() -> Result<(Self, Zeroizing<Vec<u8>>), CryptoError> {
        let pair = RsaKeyPair::generate(KeySize::Rsa2048)
            .map_err(|_| CryptoError::Key("RSA key generation failed".into()))?;
        let der = pair
            .as_der()
            .map_err(|_| CryptoError::Key("PKCS#8 encoding failed".into()))?;
        let der = Zeroizing::new(der.as_ref().to_vec());
        Ok((Self::from_pair(pair), der))
    }

    pub fn from_pkcs8(der: &[u8]) -> Result<Self, CryptoError> {
        let pair = RsaKeyPair::from_pkcs8(der).map_err(|e| CryptoError::Key(e.to_string()))?;
        Ok(Self::from_pair(pair))
    }

    fn from_pair(pair: RsaKeyPair) -> Self {
        let public = pair.public_key();
        let n = public.modulus().big_endian_without_leading_zero().to_vec();
        let e = public.exponent().big_endian_without_leading_zero().to_vec();
        // Like Cognito's: a 44-character base64 id, here derived from the public key.
        let kid = STANDARD.encode(Sha256::digest([n.as_slice(), e.as_slice()].concat()));
        let jwk = Jwk {
            alg: "RS256".into(),
            e: URL_SAFE_NO_PAD.encode(&e),
            kid: kid.clone(),
            kty: "RSA".into(),
            n: URL_SAFE_NO_PAD.encode(&n),
            use_: "sig".into(),
        };
        Self { kid, pair, jwk }
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    pub fn jwk(&self) -> &Jwk {
        &self.jwk
    }

    /// A compact JWS with header `{"kid","alg":"RS256"}` (Cognito omits `typ`).
    pub fn sign(&self, claims: &Map<String, Value>) -> Result<String, CryptoError> {
        let header = serde_json::json!({ "kid": self.kid, "alg": "RS256" });
        let header = serde_json::to_vec(&header).map_err(|_| CryptoError::Sign)?;
        let payload = serde_json::to_vec(claims).map_err(|_| CryptoError::Sign)?;
        let mut input = URL_SAFE_NO_PAD.encode(header);
        input.push('.');
        input.push_str(&URL_SAFE_NO_PAD.encode(payload));
        let mut sig = vec![0u8; self.pair.public_modulus_len()];
        let rng = aws_lc_rs::rand::SystemRandom::new();
        self.pair
            .sign(&RSA_PKCS1_SHA256, &rng, input.as_bytes(), &mut sig)
            .map_err(|_| CryptoError::Sign)?;
        input.push('.');
        input.push_str(&URL_SAFE_NO_PAD.encode(sig));
        Ok(input)
    }
}

/// The claims of a compact JWT (exactly three parts) read without verifying it: only to learn
/// which keys or client to check it against, never to trust what it says.
pub fn unverified_claims(token: &str) -> Option<Map<String, Value>> {
    let mut parts = token.split('.');
    let (_, payload, _) = (parts.next()?, parts.next()?, parts.next()?);
    if parts.next().is_some() {
        return None;
    }
    let bytes = URL_SAFE_NO_PAD.decode(payload.trim_end_matches('=')).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The `kid` a token claims to be signed with, without trusting anything else in it.
pub fn kid_of(token: &str) -> Option<String> {
    jsonwebtoken::decode_header(token).ok()?.kid
}

/// Verifies a token's RS256 signature with one of our keys and returns its claims. Expiry, issuer
/// and token use are the caller's to check (against the engine's clock and the pool).
pub fn verify(token: &str, key: &Jwk) -> Result<Map<String, Value>, CryptoError> {
    use jsonwebtoken::{Algorithm, DecodingKey, Validation};
    let header =
        jsonwebtoken::decode_header(token).map_err(|e| CryptoError::Token(e.to_string()))?;
    if header.alg != Algorithm::RS256 || header.kid.as_deref() != Some(key.kid.as_str()) {
        return Err(CryptoError::Token("algorithm or key not accepted".into()));
    }
    let decoding = DecodingKey::from_rsa_components(&key.n, &key.e)
        .map_err(|e| CryptoError::Token(e.to_string()))?;
    let mut validation = Validation::new(Algorithm::RS256);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.set_required_spec_claims::<&str>(&[]);
    jsonwebtoken::decode::<Map<String, Value>>(token, &decoding, &validation)
        .map(|data| data.claims)
        .map_err(|e| CryptoError::Token(e.to_string()))
}

/// Why a token of another issuer (an external OpenID Connect provider) didn't verify.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ForeignTokenError {
    /// Not a JWT, or an algorithm outside the allow-list (RS256, ES256).
    #[error("not an acceptable JWT: {0}")]
    Malformed(String),
    /// The key set has no usable key with the token's `kid` (worth one refetch of the set).
    #[error("no key {0:?} in the key set")]
    UnknownKey(Option<String>),
    /// The signature is wrong (or the key doesn't fit the algorithm).
    #[error("signature rejected: {0}")]
    Signature(String),
}

/// The algorithms accepted in tokens of external providers.
const FOREIGN_ALGORITHMS: [jsonwebtoken::Algorithm; 2] = [
    jsonwebtoken::Algorithm::RS256,
    jsonwebtoken::Algorithm::ES256,
];

/// Verifies the signature of a token issued by someone else with their JWKS document
/// (`{"keys": [...]}`) and returns its claims. Only RS256 and ES256 are accepted; the key is
/// chosen by `kid` (or is the set's only key when the token names none), and a key that states
/// its `alg` must state the token's. Keys of the set this version can't read are skipped.
/// Claims (`iss`, `aud`, `exp`, …) are the caller's to check.
pub fn verify_foreign(token: &str, jwks: &Value) -> Result<Map<String, Value>, ForeignTokenError> {
    use jsonwebtoken::jwk::Jwk as AnyJwk;
    use jsonwebtoken::{DecodingKey, Validation};
    let header = jsonwebtoken::decode_header(token)
        .map_err(|e| ForeignTokenError::Malformed(e.to_string()))?;
    if !FOREIGN_ALGORITHMS.contains(&header.alg) {
        return Err(ForeignTokenError::Malformed(format!(
            "algorithm {:?} is not accepted",
            header.alg
        )));
    }
    let keys: Vec<AnyJwk> = jwks
        .get("keys")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|k| serde_json::from_value::<AnyJwk>(k.clone()).ok())
                .collect()
        })
        .unwrap_or_default();
    let key = match &header.kid {
        Some(kid) => keys
            .iter()
            .find(|k| k.common.key_id.as_deref() == Some(kid.as_str())),
        None if keys.len() == 1 => keys.first(),
        None => None,
    }
    .ok_or_else(|| ForeignTokenError::UnknownKey(header.kid.clone()))?;
    if let Some(alg) = key.common.key_algorithm
        && alg.to_string() != format!("{:?}", header.alg)
    {
        return Err(ForeignTokenError::Signature(
            "the key is for another algorithm".into(),
        ));
    }
    let decoding =
        DecodingKey::from_jwk(key).map_err(|e| ForeignTokenError::Signature(e.to_string()))?;
    let mut validation = Validation::new(header.alg);
    validation.validate_exp = false;
    validation.validate_nbf = false;
    validation.validate_aud = false;
    validation.set_required_spec_claims::<&str>(&[]);
    jsonwebtoken::decode::<Map<String, Value>>(token, &decoding, &validation)
        .map(|data| data.claims)
        .map_err(|e| ForeignTokenError::Signature(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn sign_then_verify_round_trip() {
        let (key, der) = SigningKey::generate().unwrap_or_else(|e| panic!("{e}"));
        let reloaded = SigningKey::from_pkcs8(&der).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(reloaded.kid(), key.kid());
        assert_eq!(key.kid().len(), 44);
        let mut claims = Map::new();
        claims.insert("sub".into(), json!("abc"));
        let token = key.sign(&claims).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(kid_of(&token).as_deref(), Some(key.kid()));
        let got = verify(&token, reloaded.jwk()).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(got["sub"], "abc");
    }

    #[test]
    fn rejects_other_keys_tampering_and_other_algorithms() {
        let (a, _) = SigningKey::generate().unwrap_or_else(|e| panic!("{e}"));
        let (b, _) = SigningKey::generate().unwrap_or_else(|e| panic!("{e}"));
        let token = a.sign(&Map::new()).unwrap_or_else(|e| panic!("{e}"));
        assert!(verify(&token, b.jwk()).is_err());
        let mut parts: Vec<&str> = token.split('.').collect();
        let forged_payload = URL_SAFE_NO_PAD.encode(br#"{"sub":"admin"}"#);
        parts[1] = &forged_payload;
        assert!(verify(&parts.join("."), a.jwk()).is_err());
        // alg=none and HS256 with the public key as secret are both refused.
        let none = format!(
            "{}.{}.",
            URL_SAFE_NO_PAD.encode(format!(r#"{{"kid":"{}","alg":"none"}}"#, a.kid())),
            URL_SAFE_NO_PAD.encode("{}")
        );
        assert!(verify(&none, a.jwk()).is_err());
        let hs = format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(format!(r#"{{"kid":"{}","alg":"HS256"}}"#, a.kid())),
            URL_SAFE_NO_PAD.encode("{}"),
            URL_SAFE_NO_PAD.encode("sig")
        );
        assert!(verify(&hs, a.jwk()).is_err());
    }

    fn set_of(jwks: &[&Jwk]) -> Value {
        json!({ "keys": jwks })
    }

    #[test]
    fn foreign_rs256_tokens_verify_with_the_set_by_kid() {
        let (a, _) = SigningKey::generate().unwrap_or_else(|e| panic!("{e}"));
        let (b, _) = SigningKey::generate().unwrap_or_else(|e| panic!("{e}"));
        let mut claims = Map::new();
        claims.insert("sub".into(), json!("x"));
        let token = a.sign(&claims).unwrap_or_else(|e| panic!("{e}"));
        let got = verify_foreign(&token, &set_of(&[b.jwk(), a.jwk()]));
        assert_eq!(got.map(|c| c["sub"].clone()).ok(), Some(json!("x")));
        // Not in the set: worth a refetch.
        assert!(matches!(
            verify_foreign(&token, &set_of(&[b.jwk()])),
            Err(ForeignTokenError::UnknownKey(Some(_)))
        ));
        // Another key published under a's kid: the signature is wrong.
        let mut impostor = b.jwk().clone();
        impostor.kid = a.kid().to_string();
        assert!(matches!(
            verify_foreign(&token, &set_of(&[&impostor])),
            Err(ForeignTokenError::Signature(_))
        ));
        // A key that says it is for another algorithm is not used.
        let mut es = a.jwk().clone();
        es.alg = "ES256".into();
        assert!(verify_foreign(&token, &set_of(&[&es])).is_err());
        // Keys this version can't read are skipped, not fatal.
        let odd = json!({"keys": [{"kty": "weird", "kid": "?"}, a.jwk()]});
        assert!(verify_foreign(&token, &odd).is_ok());
    }

    #[test]
    fn foreign_tokens_outside_the_allow_list_are_malformed() {
        let (a, _) = SigningKey::generate().unwrap_or_else(|e| panic!("{e}"));
        for alg in ["none", "HS256", "RS512"] {
            let t = format!(
                "{}.{}.{}",
                URL_SAFE_NO_PAD.encode(format!(r#"{{"kid":"{}","alg":"{alg}"}}"#, a.kid())),
                URL_SAFE_NO_PAD.encode("{}"),
                URL_SAFE_NO_PAD.encode("sig")
            );
            assert!(
                matches!(
                    verify_foreign(&t, &set_of(&[a.jwk()])),
                    Err(ForeignTokenError::Malformed(_))
                ),
                "{alg}"
            );
        }
        assert!(matches!(
            verify_foreign("not.a.jwt", &set_of(&[a.jwk()])),
            Err(ForeignTokenError::Malformed(_))
        ));
    }

    #[test]
    fn foreign_es256_tokens_verify() {
        use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair};
        let pair = EcdsaKeyPair::generate(&ECDSA_P256_SHA256_FIXED_SIGNING)
            .unwrap_or_else(|e| panic!("{e}"));
        let der = pair.to_pkcs8v1().unwrap_or_else(|e| panic!("{e}"));
        let point = pair.public_key().as_ref().to_vec();
        let jwk = json!({
            "kty": "EC", "crv": "P-256", "kid": "ec-1", "alg": "ES256", "use": "sig",
            "x": URL_SAFE_NO_PAD.encode(&point[1..33]),
            "y": URL_SAFE_NO_PAD.encode(&point[33..65]),
        });
        let mut header = jsonwebtoken::Header::new(jsonwebtoken::Algorithm::ES256);
        header.kid = Some("ec-1".into());
        let key = jsonwebtoken::EncodingKey::from_ec_der(der.as_ref());
        let token = jsonwebtoken::encode(&header, &json!({"sub": "ec"}), &key)
            .unwrap_or_else(|e| panic!("{e}"));
        let got = verify_foreign(&token, &json!({ "keys": [jwk] }));
        assert_eq!(got.map(|c| c["sub"].clone()).ok(), Some(json!("ec")));
    }
}
