//! Access tokens whose signature and claims were already verified, kept by the SHA-256 of the
//! token until they expire, so a token presented again (an app calls GetUser, UpdateUserAttributes
//! … with one access token for its hour) skips the RSA verification and the JSON parsing.
//!
//! Only what cannot change about a token's bytes is remembered. Everything that can change is
//! still checked on every use: expiry (against the engine's clock), the signing key (it must
//! still be one the pool publishes, so a revoked key stops its tokens as soon as the key ring
//! sees the revocation, as without the cache), and revocation of the token's family (read from
//! the store each time, so a sign-out or a revoked session takes effect at once).
//!
//! Bounded: at [`CAPACITY`] entries the expired ones go, and if that isn't enough, all of them
//! (a cold cache only costs verifications).

use crate::tokens::AccessIdentity;
use std::collections::HashMap;
use std::sync::Mutex;

/// Entries kept at most (about 300 bytes each).
pub(crate) const CAPACITY: usize = 16_384;

/// One verified access token.
#[derive(Clone, Debug)]
pub(crate) struct Verified {
    pub id: AccessIdentity,
    /// The key it was signed with (`kid`).
    pub kid: String,
    /// Its `exp`, in seconds since the epoch.
    pub exp: i64,
}

#[derive(Default)]
pub(crate) struct VerifiedTokens {
    entries: Mutex<HashMap<Vec<u8>, Verified>>,
}

impl VerifiedTokens {
    /// The token with this digest, if it was verified before.
    pub(crate) fn get(&self, digest: &[u8]) -> Option<Verified> {
        self.lock().get(digest).cloned()
    }

    /// Remembers a verified token; `now` (seconds) decides which entries have expired when the
    /// cache is full.
    pub(crate) fn put(&self, digest: Vec<u8>, verified: Verified, now: i64) {
        let mut entries = self.lock();
        if entries.len() >= CAPACITY {
            entries.retain(|_, v| v.exp > now);
            if entries.len() >= CAPACITY {
                entries.clear();
            }
        }
        entries.insert(digest, verified);
    }

    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Vec<u8>, Verified>> {
        // A panic while holding the lock leaves a map that is still a valid cache.
        self.entries.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tessera_domain::{ClientId, Sub, UserPoolId};
    use uuid::Uuid;

    fn verified(exp: i64) -> Verified {
        Verified {
            id: AccessIdentity {
                pool_id: UserPoolId::parse("us-east-1_cache").unwrap(),
                sub: Sub::from_random([1; 16]),
                client_id: ClientId::parse("1example23456789").unwrap(),
                scopes: vec!["aws.cognito.signin.user.admin".into()],
                origin_jti: Uuid::from_u128(7),
            },
            kid: "kid-1".into(),
            exp,
        }
    }

    #[test]
    fn a_full_cache_drops_expired_entries_first_then_everything() {
        let cache = VerifiedTokens::default();
        for i in 0..CAPACITY {
            // Half expired at t=100, half live.
            let exp = if i % 2 == 0 { 50 } else { 500 };
            cache.put(i.to_be_bytes().to_vec(), verified(exp), 0);
        }
        assert_eq!(cache.len(), CAPACITY);
        cache.put(b"new".to_vec(), verified(500), 100);
        assert_eq!(cache.len(), CAPACITY / 2 + 1);
        assert!(cache.get(b"new").is_some());
        assert!(
            cache.get(&0usize.to_be_bytes()).is_none(),
            "expired entry kept"
        );
        assert!(
            cache.get(&1usize.to_be_bytes()).is_some(),
            "live entry dropped"
        );
        // Full of live entries: all go.
        for i in 0..CAPACITY {
            cache.put(format!("live-{i}").into_bytes(), verified(500), 100);
        }
        cache.put(b"last".to_vec(), verified(500), 100);
        assert!(cache.len() < CAPACITY);
        assert!(cache.get(b"last").is_some());
    }
}
