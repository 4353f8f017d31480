//! Sealing secrets at rest with the master key (AES-256-GCM), and the keyring that lets the master
//! key be rotated while nodes keep serving.
//!
//! Every sealed value is bound to a *purpose* (e.g. `signing-key:us-east-1_Ab…`) through the AEAD's
//! associated data, so a ciphertext copied into another row or column fails to open.
//!
//! Layouts:
//! - version 1 (before rotation existed): `1 ‖ nonce (12) ‖ ciphertext ‖ tag (16)`; it names no
//!   key, so every key of the ring is tried.
//! - version 2: `2 ‖ key id (4) ‖ nonce (12) ‖ ciphertext ‖ tag (16)`; the key id is the first
//!   four bytes of HMAC-SHA256(key, "tessera-master-key-id-v1"), so a value says which key of the
//!   ring opens it and a re-seal can skip values already under the current key. The id is only a
//!   routing hint (the AEAD still authenticates): a forged id just fails to open.
//!
//! [`Keyring`] seals with its current key and opens with whichever key a value names; the previous
//! keys open only. Values derived from the master key ([`Keyring::derive`]) must not change when the
//! key does (fake SRP salts of unknown users, the forward-auth signing key…), so they come from a
//! *derive secret* the engine keeps sealed in the store and installs at start
//! ([`Keyring::install_derive_secret`]); until then (and for a store that never had one) it is the
//! one the current key derives, as before rotation existed.

use crate::CryptoError;
use aws_lc_rs::aead::{AES_256_GCM, Aad, LessSafeKey, NONCE_LEN, Nonce, UnboundKey};
use std::sync::{Arc, RwLock};
use zeroize::Zeroizing;

const V1: u8 = 1;
const V2: u8 = 2;
/// Bytes of key id in a version-2 value.
pub const KEY_ID_LEN: usize = 4;
const TAG_LEN: usize = 16;

/// Which key sealed a value: the first bytes of a keyed hash of the key (safe to print).
pub type KeyId = [u8; KEY_ID_LEN];

pub struct MasterKey {
    key: LessSafeKey,
    id: KeyId,
    /// For deterministic secrets derived from the master key (HMAC-SHA256 of a label).
    derive: Zeroizing<[u8; 32]>,
}

impl std::fmt::Debug for MasterKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "MasterKey({})", hex::encode(self.id))
    }
}

impl MasterKey {
    pub const LEN: usize = 32;

    pub fn from_bytes(bytes: &[u8]) -> Result<Self, CryptoError> {
        let unbound = UnboundKey::new(&AES_256_GCM, bytes)
            .map_err(|_| CryptoError::Key("the master key must be 32 bytes".into()))?;
        let derive = Zeroizing::new(hmac_sha256(bytes, &[b"tessera-derive-v1"]));
        let full_id = hmac_sha256(bytes, &[b"tessera-master-key-id-v1"]);
        let mut id = [0; KEY_ID_LEN];
        id.copy_from_slice(&full_id[..KEY_ID_LEN]);
        Ok(Self {
            key: LessSafeKey::new(unbound),
            id,
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

    /// The id version-2 values sealed with this key carry.
    pub fn id(&self) -> KeyId {
        self.id
    }

    /// The derive secret this key gives (see [`Keyring::derive`]): what a store sealed with only
    /// this key has always used.
    pub fn derive_secret(&self) -> Zeroizing<[u8; 32]> {
        self.derive.clone()
    }

    /// A 32-byte value only this deployment can compute, stable for `label`.
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
        let mut out = Vec::with_capacity(1 + KEY_ID_LEN + NONCE_LEN + buf.len());
        out.push(V2);
        out.extend_from_slice(&self.id);
        out.extend_from_slice(&nonce_bytes);
        out.extend_from_slice(&buf);
        out
    }

    /// Opens a value sealed with this key (version 2 naming it, or version 1).
    pub fn open(&self, purpose: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        match Sealed::parse(sealed)? {
            Sealed::V2 { key_id, body } if key_id == self.id => self.open_body(purpose, body),
            Sealed::V2 { .. } => Err(CryptoError::Open),
            Sealed::V1 { body } => self.open_body(purpose, body),
        }
    }

    /// `nonce ‖ ciphertext ‖ tag`.
    fn open_body(&self, purpose: &str, body: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        let nonce =
            Nonce::try_assume_unique_for_key(&body[..NONCE_LEN]).map_err(|_| CryptoError::Open)?;
        let mut buf = Zeroizing::new(body[NONCE_LEN..].to_vec());
        let len = self
            .key
            .open_in_place(nonce, Aad::from(purpose.as_bytes()), &mut buf)
            .map_err(|_| CryptoError::Open)?
            .len();
        buf.truncate(len);
        Ok(buf)
    }
}

/// A sealed value's header, read without any key.
enum Sealed<'a> {
    V1 { body: &'a [u8] },
    V2 { key_id: KeyId, body: &'a [u8] },
}

impl<'a> Sealed<'a> {
    fn parse(sealed: &'a [u8]) -> Result<Self, CryptoError> {
        match sealed.first() {
            Some(&V1) if sealed.len() >= 1 + NONCE_LEN + TAG_LEN => {
                Ok(Sealed::V1 { body: &sealed[1..] })
            }
            Some(&V2) if sealed.len() >= 1 + KEY_ID_LEN + NONCE_LEN + TAG_LEN => {
                let mut key_id = [0; KEY_ID_LEN];
                key_id.copy_from_slice(&sealed[1..1 + KEY_ID_LEN]);
                Ok(Sealed::V2 {
                    key_id,
                    body: &sealed[1 + KEY_ID_LEN..],
                })
            }
            _ => Err(CryptoError::Open),
        }
    }
}

/// Which key a sealed value names: `Some(id)` for version 2, `None` for version 1 (any key) or
/// something that isn't a sealed value.
pub fn sealed_key_id(sealed: &[u8]) -> Option<KeyId> {
    match Sealed::parse(sealed) {
        Ok(Sealed::V2 { key_id, .. }) => Some(key_id),
        _ => None,
    }
}

/// The keys a node holds: the current one seals, every one opens.
struct Keys {
    current: MasterKey,
    previous: Vec<MasterKey>,
}

impl Keys {
    fn all(&self) -> impl Iterator<Item = &MasterKey> {
        std::iter::once(&self.current).chain(&self.previous)
    }
}

/// The master key and the keys it replaced (see the module docs). Its keys can be replaced while
/// it is in use ([`Keyring::replace`]), so a node can pick up a rotated key file without a
/// restart.
pub struct Keyring {
    keys: RwLock<Arc<Keys>>,
    /// Installed by the engine from the store; None: the current key's.
    derive: RwLock<Option<Zeroizing<[u8; 32]>>>,
}

impl std::fmt::Debug for Keyring {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let keys = self.keys();
        f.debug_struct("Keyring")
            .field("current", &keys.current)
            .field("previous", &keys.previous)
            .finish_non_exhaustive()
    }
}

impl From<MasterKey> for Keyring {
    fn from(current: MasterKey) -> Self {
        Self::new(current, Vec::new())
    }
}

/// What [`Keyring::reseal`] found.
#[derive(Debug, PartialEq, Eq)]
pub enum Reseal {
    /// Already sealed with the current key.
    Current,
    /// Opened with another key of the ring and sealed again with the current one.
    Resealed(Vec<u8>),
}

impl Keyring {
    /// `previous` keys open values but never seal; a previous key equal to the current one is
    /// dropped.
    pub fn new(current: MasterKey, previous: Vec<MasterKey>) -> Self {
        Self {
            keys: RwLock::new(Arc::new(Self::keys_of(current, previous))),
            derive: RwLock::new(None),
        }
    }

    fn keys_of(current: MasterKey, mut previous: Vec<MasterKey>) -> Keys {
        previous.retain(|k| k.id != current.id);
        Keys { current, previous }
    }

    fn keys(&self) -> Arc<Keys> {
        match self.keys.read() {
            Ok(k) => k.clone(),
            Err(poisoned) => poisoned.into_inner().clone(),
        }
    }

    /// Replaces the keys (a rotated key file was picked up); values keep opening as long as the
    /// key that sealed them is among the new ones.
    pub fn replace(&self, current: MasterKey, previous: Vec<MasterKey>) {
        let keys = Arc::new(Self::keys_of(current, previous));
        match self.keys.write() {
            Ok(mut k) => *k = keys,
            Err(poisoned) => *poisoned.into_inner() = keys,
        }
    }

    /// The current key's id, then the previous keys' ids.
    pub fn key_ids(&self) -> (KeyId, Vec<KeyId>) {
        let keys = self.keys();
        (
            keys.current.id,
            keys.previous.iter().map(|k| k.id).collect(),
        )
    }

    /// Makes [`Keyring::derive`] use `secret` from now on (the store's derive secret).
    pub fn install_derive_secret(&self, secret: Zeroizing<[u8; 32]>) {
        match self.derive.write() {
            Ok(mut d) => *d = Some(secret),
            Err(poisoned) => *poisoned.into_inner() = Some(secret),
        }
    }

    /// A 32-byte value only this deployment can compute, stable for `label` (e.g. the fake SRP
    /// salt of an unknown user, which must be the same every time it is asked for) and across
    /// master-key rotations once the engine has installed the store's derive secret.
    pub fn derive(&self, label: &[&[u8]]) -> [u8; 32] {
        let installed = match self.derive.read() {
            Ok(d) => d.as_ref().map(|s| hmac_sha256(s.as_ref(), label)),
            Err(poisoned) => poisoned
                .into_inner()
                .as_ref()
                .map(|s| hmac_sha256(s.as_ref(), label)),
        };
        installed.unwrap_or_else(|| self.keys().current.derive(label))
    }

    /// Seals with the current key.
    pub fn seal(&self, purpose: &str, plaintext: &[u8]) -> Vec<u8> {
        self.keys().current.seal(purpose, plaintext)
    }

    /// Opens a value sealed with any key of the ring.
    pub fn open(&self, purpose: &str, sealed: &[u8]) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
        self.open_with(purpose, sealed).map(|(plain, _)| plain)
    }

    /// Opens a value and tells which key opened it.
    pub fn open_with(
        &self,
        purpose: &str,
        sealed: &[u8],
    ) -> Result<(Zeroizing<Vec<u8>>, KeyId), CryptoError> {
        let keys = self.keys();
        match Sealed::parse(sealed)? {
            Sealed::V2 { key_id, body } => keys
                .all()
                .filter(|k| k.id == key_id)
                .find_map(|k| k.open_body(purpose, body).ok().map(|p| (p, k.id)))
                .ok_or(CryptoError::Open),
            Sealed::V1 { body } => keys
                .all()
                .find_map(|k| k.open_body(purpose, body).ok().map(|p| (p, k.id)))
                .ok_or(CryptoError::Open),
        }
    }

    /// The derive secret of the key that opens `sealed` (for a store from before the derive
    /// secret was stored: the key that sealed its first values is the one it derived with).
    pub fn derive_secret_of(
        &self,
        purpose: &str,
        sealed: &[u8],
    ) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
        let (_, id) = self.open_with(purpose, sealed)?;
        self.keys()
            .all()
            .find(|k| k.id == id)
            .map(MasterKey::derive_secret)
            .ok_or(CryptoError::Open)
    }

    /// Whether `sealed` names the current key (so re-sealing can skip it without opening it).
    pub fn is_current(&self, sealed: &[u8]) -> bool {
        sealed_key_id(sealed) == Some(self.keys().current.id)
    }

    /// Brings a value under the current key: opens it with whichever key of the ring sealed it
    /// and seals it again, bound to the same purpose.
    pub fn reseal(&self, purpose: &str, sealed: &[u8]) -> Result<Reseal, CryptoError> {
        if self.is_current(sealed) {
            return Ok(Reseal::Current);
        }
        let plain = self.open(purpose, sealed)?;
        Ok(Reseal::Resealed(self.seal(purpose, &plain)))
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

    /// A version-1 value, as stores from before key ids hold them.
    fn seal_v1(key: &[u8; 32], purpose: &str, plain: &[u8]) -> Vec<u8> {
        let k = LessSafeKey::new(UnboundKey::new(&AES_256_GCM, key).unwrap());
        let nonce = crate::random::bytes::<NONCE_LEN>();
        let mut buf = plain.to_vec();
        k.seal_in_place_append_tag(
            Nonce::assume_unique_for_key(nonce),
            Aad::from(purpose.as_bytes()),
            &mut buf,
        )
        .unwrap();
        [&[V1][..], &nonce, &buf].concat()
    }

    #[test]
    fn round_trip_and_purpose_binding() {
        let (key, _) = MasterKey::generate();
        let sealed = key.seal("client-secret:abc", b"s3cret");
        assert_eq!(sealed[0], V2);
        assert_eq!(sealed[1..5], key.id());
        assert!(!sealed.windows(6).any(|w| w == b"s3cret"));
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

    #[test]
    fn version_1_values_still_open_and_derive_is_unchanged() {
        let (key, bytes) = MasterKey::generate();
        let v1 = seal_v1(&bytes, "p", b"old");
        assert_eq!(key.open("p", &v1).unwrap().as_slice(), b"old");
        assert_eq!(sealed_key_id(&v1), None);
        // The same derivation as before key ids: HMAC(HMAC(key, "tessera-derive-v1"), label).
        let secret = hmac_sha256(bytes.as_ref(), &[b"tessera-derive-v1"]);
        assert_eq!(key.derive(&[b"x"]), hmac_sha256(&secret, &[b"x"]));
        // A ring whose previous key sealed it opens it, and re-sealing moves it to version 2.
        let (new, _) = MasterKey::generate();
        let ring = Keyring::new(new, vec![key]);
        assert_eq!(ring.open("p", &v1).unwrap().as_slice(), b"old");
        let Reseal::Resealed(again) = ring.reseal("p", &v1).unwrap() else {
            panic!("not resealed")
        };
        assert!(ring.is_current(&again));
        assert_eq!(ring.open("p", &again).unwrap().as_slice(), b"old");
    }

    #[test]
    fn a_ring_seals_with_its_current_key_and_opens_with_any() {
        let (a, a_bytes) = MasterKey::generate();
        let (b, b_bytes) = MasterKey::generate();
        let (a_id, b_id) = (a.id(), b.id());
        let under_a = a.seal("p", b"x");
        let ring = Keyring::new(b, vec![a]);
        assert_eq!(ring.key_ids(), (b_id, vec![a_id]));
        assert_eq!(ring.open("p", &under_a).unwrap().as_slice(), b"x");
        assert!(!ring.is_current(&under_a));
        let under_b = ring.seal("p", b"y");
        assert_eq!(sealed_key_id(&under_b), Some(b_id));
        assert_eq!(ring.reseal("p", &under_b).unwrap(), Reseal::Current);
        let Reseal::Resealed(moved) = ring.reseal("p", &under_a).unwrap() else {
            panic!("not resealed")
        };
        assert_eq!(sealed_key_id(&moved), Some(b_id));
        // Without the previous key, what it sealed no longer opens; what was re-sealed does.
        let b_only = Keyring::from(MasterKey::from_bytes(b_bytes.as_ref()).unwrap());
        assert!(b_only.open("p", &under_a).is_err());
        assert_eq!(b_only.open("p", &moved).unwrap().as_slice(), b"x");
        assert!(b_only.reseal("p", &under_a).is_err());
        // A forged key id is refused, not tried against other keys.
        let mut forged = under_a.clone();
        forged[1..5].copy_from_slice(&b_id);
        assert!(ring.open("p", &forged).is_err());
        // Keys are replaced in place.
        ring.replace(MasterKey::from_bytes(a_bytes.as_ref()).unwrap(), vec![]);
        assert_eq!(ring.key_ids(), (a_id, vec![]));
        assert!(ring.open("p", &under_b).is_err());
    }

    #[test]
    fn derive_follows_the_installed_secret_not_the_current_key() {
        let (a, _) = MasterKey::generate();
        let (b, _) = MasterKey::generate();
        let before = a.derive(&[b"salt", b"alice"]);
        let secret = a.derive_secret();
        let check = a.seal("check", b"c");
        let ring = Keyring::new(b, vec![a]);
        assert_ne!(ring.derive(&[b"salt", b"alice"]), before);
        let found = ring.derive_secret_of("check", &check).unwrap();
        assert_eq!(found.as_ref(), secret.as_ref());
        ring.install_derive_secret(found);
        assert_eq!(ring.derive(&[b"salt", b"alice"]), before);
    }
}
