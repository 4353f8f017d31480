//! Tessera's cryptography, pure and synchronous.
//!
//! Callers decide where work runs: password hashing and RSA signing are CPU-heavy, so the engine
//! runs them on a bounded blocking pool, never on the async executor.

pub mod es256;
pub mod imported;
pub mod jwt;
pub mod password;
pub mod random;
pub mod seal;
pub mod secret_hash;
pub mod srp;
pub mod totp;
pub mod webauthn;

/// SHA-256 of a token, as stored in place of refresh tokens and session tokens.
pub fn token_hash(token: &str) -> Vec<u8> {
    use sha2::{Digest, Sha256};
    Sha256::digest(token.as_bytes()).to_vec()
}

/// SHA-1, only where a protocol fixes it (IAM's SAML `NameQualifier`), never for secrets.
pub fn sha1(data: &[u8]) -> Vec<u8> {
    aws_lc_rs::digest::digest(&aws_lc_rs::digest::SHA1_FOR_LEGACY_USE_ONLY, data)
        .as_ref()
        .to_vec()
}

/// Compares two byte strings in constant time (for secrets, MACs and hashes).
pub fn constant_time_eq(a: &[u8], b: &[u8]) -> bool {
    use subtle::ConstantTimeEq;
    a.len() == b.len() && bool::from(a.ct_eq(b))
}

#[derive(Debug, thiserror::Error)]
pub enum CryptoError {
    #[error("key material rejected: {0}")]
    Key(String),
    #[error("sealed data could not be opened (wrong key or tampered)")]
    Open,
    #[error("signing failed")]
    Sign,
    #[error("token rejected: {0}")]
    Token(String),
    #[error("password hashing failed: {0}")]
    Hash(String),
}
