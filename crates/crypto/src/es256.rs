//! ES256 (ECDSA P-256 with SHA-256) JWTs in the shape an AWS Application Load Balancer signs
//! its `x-amzn-oidc-data` header: a `kid` and a `signer` in the JWT header, the public key
//! published as PEM (SubjectPublicKeyInfo) by `kid`, not as a JWKS.
//!
//! The key is derived from 32 secret bytes (the master key's derivation), so every node with
//! the same master key signs with the same key and nothing has to be stored.

use crate::CryptoError;
use aws_lc_rs::rand::SystemRandom;
use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED_SIGNING, EcdsaKeyPair, KeyPair};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

/// `SEQUENCE { SEQUENCE { id-ecPublicKey, prime256v1 }, BIT STRING` — the fixed DER prefix of
/// a P-256 SubjectPublicKeyInfo before the 65-byte uncompressed point.
const SPKI_P256_PREFIX: [u8; 26] = [
    0x30, 0x59, 0x30, 0x13, 0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01, 0x06, 0x08, 0x2a,
    0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07, 0x03, 0x42, 0x00,
];

/// An ES256 signing key and the `kid` its public key is published under.
pub struct Es256Key {
    pair: EcdsaKeyPair,
    kid: String,
}

impl std::fmt::Debug for Es256Key {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Es256Key")
            .field("kid", &self.kid)
            .finish_non_exhaustive()
    }
}

impl Es256Key {
    /// The key whose private scalar is `seed` (RFC 5915 ECPrivateKey without the public key,
    /// which the parser computes). A seed outside the curve's order (odds ~2^-32) is refused.
    pub fn from_seed(seed: &[u8; 32]) -> Result<Self, CryptoError> {
        let mut der = Vec::with_capacity(51);
        der.extend_from_slice(&[0x30, 0x31, 0x02, 0x01, 0x01, 0x04, 0x20]);
        der.extend_from_slice(seed);
        der.extend_from_slice(&[
            0xa0, 0x0a, 0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07,
        ]);
        let pair = EcdsaKeyPair::from_private_key_der(&ECDSA_P256_SHA256_FIXED_SIGNING, &der)
            .map_err(|e| CryptoError::Key(format!("P-256 key: {e}")))?;
        // A kid that names the public key: a new master key gives a new kid.
        let kid = uuid_like(&Sha256::digest(pair.public_key().as_ref()));
        Ok(Self { pair, kid })
    }

    /// A key given as a PEM `PRIVATE KEY` (PKCS#8), as Apple hands out Sign in with Apple keys
    /// (`.p8` files), published under `kid`.
    pub fn from_pkcs8_pem(pem: &str, kid: &str) -> Result<Self, CryptoError> {
        let body: String = pem
            .lines()
            .map(str::trim)
            .filter(|l| !l.starts_with("-----") && !l.is_empty())
            .collect();
        let der = zeroize::Zeroizing::new(
            STANDARD
                .decode(body.as_bytes())
                .map_err(|_| CryptoError::Key("the private key is not PEM".into()))?,
        );
        let pair = EcdsaKeyPair::from_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &der)
            .map_err(|e| CryptoError::Key(format!("P-256 PKCS#8 key: {e}")))?;
        Ok(Self {
            pair,
            kid: kid.to_string(),
        })
    }

    pub fn kid(&self) -> &str {
        &self.kid
    }

    /// The public key as ALB publishes it: a PEM `PUBLIC KEY` (SubjectPublicKeyInfo).
    pub fn public_pem(&self) -> String {
        let mut der = SPKI_P256_PREFIX.to_vec();
        der.extend_from_slice(self.pair.public_key().as_ref());
        let b64 = STANDARD.encode(&der);
        let mut pem = String::from("-----BEGIN PUBLIC KEY-----\n");
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(line));
            pem.push('\n');
        }
        pem.push_str("-----END PUBLIC KEY-----\n");
        pem
    }

    /// A compact JWS: `header` gets `alg`, `typ` and `kid` added (overriding any given).
    pub fn sign(
        &self,
        mut header: Map<String, Value>,
        claims: &Map<String, Value>,
    ) -> Result<String, CryptoError> {
        header.insert("alg".into(), Value::from("ES256"));
        header.insert("typ".into(), Value::from("JWT"));
        header.insert("kid".into(), Value::from(self.kid.clone()));
        let encode = |v: &Map<String, Value>| {
            serde_json::to_vec(v)
                .map(|b| URL_SAFE_NO_PAD.encode(b))
                .map_err(|e| CryptoError::Token(e.to_string()))
        };
        let mut input = encode(&header)?;
        input.push('.');
        input.push_str(&encode(claims)?);
        let sig = self
            .pair
            .sign(&SystemRandom::new(), input.as_bytes())
            .map_err(|_| CryptoError::Token("ES256 signing failed".into()))?;
        input.push('.');
        input.push_str(&URL_SAFE_NO_PAD.encode(sig.as_ref()));
        Ok(input)
    }
}

/// The first 16 bytes of a digest written as a UUID (8-4-4-4-12), as ALB's key ids look.
fn uuid_like(digest: &[u8]) -> String {
    let h = hex::encode(&digest[..16]);
    format!(
        "{}-{}-{}-{}-{}",
        &h[..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_lc_rs::signature::{ECDSA_P256_SHA256_FIXED, UnparsedPublicKey};

    #[test]
    fn signs_a_jwt_the_published_key_verifies() {
        let key = Es256Key::from_seed(&[7u8; 32]).unwrap();
        let mut claims = Map::new();
        claims.insert("sub".into(), Value::from("abc"));
        let mut header = Map::new();
        header.insert("signer".into(), Value::from("arn:x"));
        let jwt = key.sign(header, &claims).unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        assert_eq!(parts.len(), 3);
        let header: Value =
            serde_json::from_slice(&URL_SAFE_NO_PAD.decode(parts[0]).unwrap()).unwrap();
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["kid"], key.kid());
        assert_eq!(header["signer"], "arn:x");
        let sig = URL_SAFE_NO_PAD.decode(parts[2]).unwrap();
        assert_eq!(sig.len(), 64);
        // Verify with the point taken back out of the PEM.
        let pem = key.public_pem();
        let b64: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
        let der = STANDARD.decode(b64).unwrap();
        assert_eq!(&der[..26], &SPKI_P256_PREFIX);
        let input = format!("{}.{}", parts[0], parts[1]);
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &der[26..])
            .verify(input.as_bytes(), &sig)
            .unwrap();
    }

    #[test]
    fn the_same_seed_gives_the_same_key_and_another_seed_another() {
        let a = Es256Key::from_seed(&[1u8; 32]).unwrap();
        let b = Es256Key::from_seed(&[1u8; 32]).unwrap();
        let c = Es256Key::from_seed(&[2u8; 32]).unwrap();
        assert_eq!(a.kid(), b.kid());
        assert_eq!(a.public_pem(), b.public_pem());
        assert_ne!(a.kid(), c.kid());
    }

    #[test]
    fn a_seed_outside_the_curve_order_is_refused() {
        assert!(Es256Key::from_seed(&[0xff; 32]).is_err());
        assert!(Es256Key::from_seed(&[0u8; 32]).is_err());
    }

    #[test]
    fn a_pkcs8_pem_key_signs_under_the_given_kid() {
        let pkcs8 =
            EcdsaKeyPair::generate_pkcs8(&ECDSA_P256_SHA256_FIXED_SIGNING, &SystemRandom::new())
                .unwrap();
        let b64 = STANDARD.encode(pkcs8.as_ref());
        let pem = format!("-----BEGIN PRIVATE KEY-----\n{b64}\n-----END PRIVATE KEY-----\n");
        let key = Es256Key::from_pkcs8_pem(&pem, "ABC123DEFG").unwrap();
        assert_eq!(key.kid(), "ABC123DEFG");
        let jwt = key.sign(Map::new(), &Map::new()).unwrap();
        let parts: Vec<&str> = jwt.split('.').collect();
        let der = STANDARD
            .decode(
                key.public_pem()
                    .lines()
                    .filter(|l| !l.starts_with("-----"))
                    .collect::<String>(),
            )
            .unwrap();
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_FIXED, &der[26..])
            .verify(
                format!("{}.{}", parts[0], parts[1]).as_bytes(),
                &URL_SAFE_NO_PAD.decode(parts[2]).unwrap(),
            )
            .unwrap();
        assert!(
            Es256Key::from_pkcs8_pem(
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
                "k"
            )
            .is_err()
        );
    }
}
