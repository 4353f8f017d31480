//! Sealing secrets at rest with the master key (AES-256-GCM).
//!
//! Every sealed value is bound to a *purpose* (e.g. `signing-key:us-east-1_Ab…`) through the AEAD's
//! associated data, so a ciphertext copied into another row or column fails to open.
//! Layout: `version (1) ‖ nonce (12) ‖ ciphertext ‖ tag (16)`.

use crate::CryptoError;
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use zeroize::Zeroizing;

const VERSION: u8 = 1;

pub struct MasterKey {
    key: LessSafeKey,
    /// For deterministic secrets derived from the master key (HMAC-SHA256 of a label).
    derive: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MasterKey(..)")
    }
}

impl MasterKey {
    pub const LEN: usize = 32;

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let unbound = UnboundKey::new(&AES_256_GCM, bytes)
            .map_err(|_| CryptoError::Key("the master key must be 32 bytes".into()))?;
        let derive = Zeroizing::new(hmac_sha256(bytes, &[b"tessera-derive-v1"]));
        Ok(Self {
            key: LessSafeKey::new(unbound),
            derive,
        })
    }

    pub fn generate() -> (Self, Zeroizing<[u8; 32]>) {
        let bytes = Zeroizing::new(crate::random::bytes::<32>());
        // 32 bytes is always a valid AES-256 key.
        match Self::from_bytes(bytes.as_ref()) {
            Ok(k) => (k, bytes),
            Err(_) => std::process::abort(),
        }
    }

    /// A 32-byte value only this deployment can compute, stable for `label` (e.g. the fake SRP
    /// salt of an unknown user, which must be the same every time it is asked for).
    pub fn derive(&self, label: &[&[u8]]) -> [u8; 32] {
        hmac_sha256(self.derive.as_ref(), label)
    }

    pub fn seal(&self, purpose: &str, plaintext: &[u8]) -> Vec<u8> {
        let nonce_bytes = crate::random::bytes::<NONCE_LEN>();
        let mut buf = plaintext.to_vec();
        let sealed = self.key.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce_bytes),
            Aad::from(purpose.as_bytes()),
            &mut buf,
        );
        if sealed.is_err() {
            // Only fails for absurd lengths (> 64 GiB).
            std::process::abort();
        }
        let mut out = Vec::with_capacity(1 + NONCE_LEN + buf.len());
        out.push(VERSION);
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&buf);
        out
    }

    pub fn open(&self, purpose: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        if sealed.len() < 1 + NONCE_LEN + 16 || sealed[0] != VERSION {
            return Err(CryptoError::Open);
        }
        let nonce = Nonce::try_assume_unique_for_key(&sealed[1..1 + NONCE_LEN])
            .map_err(|_| CryptoError::Open)?;
        let mut buf = Zeroizing::new(sealed[1 + NONCE_LEN..].to_vec());
        let len = self
            .key
            .open_in_place(nonce, Aad::from(purpose.as_bytes()), &mut buf)
            .map_err(|_| CryptoError::Open)?
            .len();
        buf.truncate(len);
        Ok(buf)
    }
}

fn hmac_sha256(key: &[u8], parts: &[&[u8]]) -> [u8; 32] {
    use hmac::{Hmac, KeyInit, Mac};
    let Ok(mut mac) = Hmac::<sha2::Sha256>::new_from_slice(key) else {
        return [0; 32];
    };
    for p in parts {
        mac.update(p);
    }
    mac.finalize().into_bytes().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_purpose_binding() {
        let (key, _) = MasterKey::generate();
        let sealed = key.seal("client-secret:abc", b"s3cret");
        assert_ne!(&sealed[13..19], b"s3cret");
        let opened = key
            .open("client-secret:abc", &sealed)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(opened.as_slice(), b"s3cret");
        assert!(key.open("client-secret:other", &sealed).is_err());
        let (other, _) = MasterKey::generate();
        assert!(other.open("client-secret:abc", &sealed).is_err());
        let mut tampered = sealed.clone();
        let last = tampered.len() - 1;
        tampered[last] ^= 1;
        assert!(key.open("client-secret:abc", &tampered).is_err());
        assert_eq!(key.derive(&[b"a", b"b"]), key.derive(&[b"a", b"b"]));
        assert_ne!(key.derive(&[b"a"]), other.derive(&[b"a"]));
    }
}
