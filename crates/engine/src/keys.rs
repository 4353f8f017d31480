//! Per-pool signing keys and their rotation. Each pool signs ID tokens with one key and access
//! tokens with another, as Cognito does. Keys are stored sealed with the master key and cached
//! parsed in memory; the cache is only a cache, re-read every few seconds, so a rotation or
//! revocation made on one node (or by `tessera keys`) reaches every node.
//!
//! A key's life: created (published in the JWKS as the *next* key, not signing), activated (the
//! newest activated key of its use signs), retired (no longer signs, still published until every
//! token it signed has expired), revoked (withdrawn at once: neither published nor accepted).
//! Rotation activates the published next key, retires the one it replaces and publishes a new
//! next key, so verifiers that cache the JWKS already hold the key that signs after a rotation.

use crate::Engine;
use crate::error::{EngineError, EngineResult};
use serde::Serialize;
use std::collections::HashMap;
use std::sync::{Arc, RwLock};
use std::time::{Duration, Instant};
use tessera_crypto::jwt::{Jwk, SigningKey};
use tessera_domain::{DomainError, ErrorKind, Timestamp, UserPoolId};
use tessera_store::{KeyUse, StoredKey, Tx};

/// How long a retired key stays published: ID and access tokens live at most one day (Cognito's
/// limit, which the client settings enforce), plus clock skew.
pub const RETIRED_KEY_GRACE: Duration = Duration::from_secs(24 * 3600 + 300);

/// How long a node trusts its cached copy of a pool's keys before reading the store again.
const CACHE_TTL: Duration = Duration::from_secs(5);

/// A token naming a kid the cache doesn't hold makes the node re-read the pool's keys, at most
/// this often per pool (so made-up kids can't turn every request into a store read).
const UNKNOWN_KID_REREAD: Duration = Duration::from_secs(1);

/// A new pool gets its next keys from the upkeep task once it is this old, so CreateUserPool
/// generates two RSA keys, not four, and short-lived pools (tests, previews) never pay for more.
pub const NEXT_KEY_DELAY: Duration = Duration::from_secs(600);

const USES: [KeyUse; 2] = [KeyUse::Id, KeyUse::Access];

/// Where a key is in its life at a given time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum KeyState {
    /// Published ahead of signing.
    Next,
    /// Signing (the newest activated key of its use).
    Active,
    /// No longer signing; published until its tokens have expired.
    Retired,
    /// Retired long enough that every token it signed has expired: no longer published.
    Expired,
    /// Withdrawn.
    Revoked,
}

impl KeyState {
    pub fn as_str(self) -> &'static str {
        match self {
            KeyState::Next => "next",
            KeyState::Active => "active",
            KeyState::Retired => "retired",
            KeyState::Expired => "expired",
            KeyState::Revoked => "revoked",
        }
    }

    fn published(self) -> bool {
        matches!(self, KeyState::Next | KeyState::Active | KeyState::Retired)
    }
}

/// A key's state at `now`. An activated, unretired key that isn't its use's newest still counts
/// as active here; `signer` picks the one that signs.
pub fn key_state(key: &StoredKey, now: Timestamp) -> KeyState {
    if key.revoked_at.is_some() {
        return KeyState::Revoked;
    }
    match (key.activated_at, key.retired_at) {
        (None, _) => KeyState::Next,
        (Some(_), None) => KeyState::Active,
        (Some(_), Some(retired)) => {
            if now.millis() < retired.plus(RETIRED_KEY_GRACE).millis() {
                KeyState::Retired
            } else {
                KeyState::Expired
            }
        }
    }
}

/// The key of `key_use` that signs: the newest activated one that is neither retired nor revoked.
fn signer(keys: &[StoredKey], key_use: KeyUse, now: Timestamp) -> Option<&StoredKey> {
    keys.iter()
        .filter(|k| k.key_use == key_use && key_state(k, now) == KeyState::Active)
        .max_by_key(|k| (k.activated_at.map(Timestamp::millis), k.created_at.millis()))
}

/// The oldest published next key of `key_use`: the one rotation activates.
fn next_key(keys: &[StoredKey], key_use: KeyUse, now: Timestamp) -> Option<&StoredKey> {
    keys.iter()
        .filter(|k| k.key_use == key_use && key_state(k, now) == KeyState::Next)
        .min_by_key(|k| (k.created_at.millis(), k.kid.clone()))
}

pub(crate) struct PoolKeys {
    pub id: SigningKey,
    pub access: SigningKey,
    /// Every published key with its use, for verification and the JWKS.
    pub public: Vec<(KeyUse, Jwk)>,
}

impl PoolKeys {
    pub fn signer(&self, key_use: KeyUse) -> &SigningKey {
        match key_use {
            KeyUse::Id => &self.id,
            KeyUse::Access => &self.access,
        }
    }

    pub fn public_key(&self, kid: &str, key_use: KeyUse) -> Option<&Jwk> {
        self.public
            .iter()
            .find(|(u, k)| *u == key_use && k.kid == kid)
            .map(|(_, k)| k)
    }

    fn knows(&self, kid: &str) -> bool {
        self.public.iter().any(|(_, k)| k.kid == kid)
    }

    /// What the keys are, as far as a cache needs to know whether they changed.
    fn shape(&self) -> Vec<String> {
        let mut shape = vec![self.id.kid().to_string(), self.access.kid().to_string()];
        shape.extend(self.public.iter().map(|(_, k)| k.kid.clone()));
        shape
    }
}

/// A pool's JSON Web Key Set, as served at `/{pool}/.well-known/jwks.json`.
#[derive(Clone, Debug, Serialize)]
pub struct PoolJwks {
    pub keys: Vec<Jwk>,
}

/// A signing key as `tessera keys list` shows it; never the private half.
#[derive(Clone, Debug, Serialize)]
pub struct KeyInfo {
    pub pool_id: String,
    pub kid: String,
    #[serde(rename = "use")]
    pub key_use: &'static str,
    pub state: KeyState,
    pub created_at: i64,
    pub activated_at: Option<i64>,
    pub retired_at: Option<i64>,
    pub revoked_at: Option<i64>,
}

struct Cached {
    keys: Arc<PoolKeys>,
    checked: Instant,
}

#[derive(Default)]
pub(crate) struct KeyRing {
    pools: RwLock<HashMap<UserPoolId, Cached>>,
}

impl KeyRing {
    fn get(&self, pool: &UserPoolId, fresh_for: Duration) -> Option<Arc<PoolKeys>> {
        let pools = self.pools.read().unwrap_or_else(|e| e.into_inner());
        let cached = pools.get(pool)?;
        (cached.checked.elapsed() < fresh_for).then(|| cached.keys.clone())
    }

    fn put(&self, pool: &UserPoolId, keys: Arc<PoolKeys>) {
        self.pools
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .insert(
                pool.clone(),
                Cached {
                    keys,
                    checked: Instant::now(),
                },
            );
    }
}

pub(crate) fn purpose(pool: &UserPoolId, kid: &str) -> String {
    format!("signing-key:{pool}:{kid}")
}

fn rotated_concurrently(pool: &UserPoolId) -> EngineError {
    DomainError::new(
        ErrorKind::ConcurrentModification,
        format!("The signing keys of {pool} changed while they were being rotated; try again."),
    )
    .into()
}

impl Engine {
    /// A new stored key of `key_use`, sealed; active from `activated_at`, or a next key.
    async fn generate_keys(
        &self,
        pool: &UserPoolId,
        wanted: Vec<(KeyUse, Option<Timestamp>)>,
        now: Timestamp,
    ) -> EngineResult<Vec<StoredKey>> {
        let count = wanted.len();
        let generated = tokio::task::spawn_blocking(move || {
            (0..count)
                .map(|_| SigningKey::generate())
                .collect::<Result<Vec<_>, _>>()
        })
        .await??;
        wanted
            .into_iter()
            .zip(generated)
            .map(|((key_use, activated_at), (key, der))| {
                Ok(StoredKey {
                    pool_id: pool.clone(),
                    kid: key.kid().to_string(),
                    key_use,
                    sealed_private: self.inner.master.seal(&purpose(pool, key.kid()), &der),
                    public_jwk: serde_json::to_string(key.jwk())
                        .map_err(|e| EngineError::Internal(e.to_string()))?,
                    created_at: now,
                    activated_at,
                    retired_at: None,
                    revoked_at: None,
                })
            })
            .collect()
    }

    /// Generates and stores a new pool's two signing keys inside the caller's transaction. Its
    /// next keys come later, from the upkeep task (see `NEXT_KEY_DELAY`).
    pub(crate) async fn create_pool_keys(
        &self,
        tx: &mut dyn Tx,
        pool: &UserPoolId,
        now: Timestamp,
    ) -> EngineResult<()> {
        let keys = self
            .generate_keys(pool, USES.map(|u| (u, Some(now))).to_vec(), now)
            .await?;
        for key in &keys {
            tx.insert_signing_key(key).await?;
        }
        Ok(())
    }

    /// The pool's keys, from the cache or the store.
    pub(crate) async fn pool_keys(&self, pool: &UserPoolId) -> EngineResult<Arc<PoolKeys>> {
        match self.inner.keys.get(pool, CACHE_TTL) {
            Some(keys) => Ok(keys),
            None => self.load_pool_keys(pool).await,
        }
    }

    /// The pool's keys for verifying a token signed with `kid`: re-read from the store first when
    /// the cached set doesn't know the kid (another node may have just rotated).
    pub(crate) async fn pool_keys_for(
        &self,
        pool: &UserPoolId,
        kid: &str,
    ) -> EngineResult<Arc<PoolKeys>> {
        let keys = self.pool_keys(pool).await?;
        if keys.knows(kid) || self.inner.keys.get(pool, UNKNOWN_KID_REREAD).is_some() {
            return Ok(keys);
        }
        self.load_pool_keys(pool).await
    }

    async fn load_pool_keys(&self, pool: &UserPoolId) -> EngineResult<Arc<PoolKeys>> {
        let stored = {
            let mut tx = self.inner.store.read().await?;
            tx.signing_keys(pool).await?
        };
        if stored.is_empty() {
            self.forget_pool_keys(pool);
            return Err(DomainError::pool_not_found(pool.as_str()).into());
        }
        let now = self.now();
        let mut public = Vec::new();
        for key in stored.iter().filter(|k| key_state(k, now).published()) {
            let jwk: Jwk = serde_json::from_str(&key.public_jwk).map_err(|e| {
                EngineError::Internal(format!("public key {} of {pool}: {e}", key.kid))
            })?;
            public.push((key.key_use, jwk));
        }
        let (Some(id), Some(access)) = (
            signer(&stored, KeyUse::Id, now),
            signer(&stored, KeyUse::Access, now),
        ) else {
            return Err(EngineError::Internal(format!(
                "pool {pool} lacks an active ID or access signing key (revoked without a replacement?)"
            )));
        };
        // Unchanged since the last read: keep the parsed keys.
        let mut shape = vec![id.kid.clone(), access.kid.clone()];
        shape.extend(public.iter().map(|(_, k)| k.kid.clone()));
        if let Some(cached) = self.inner.keys.get(pool, Duration::MAX)
            && cached.shape() == shape
        {
            self.inner.keys.put(pool, cached.clone());
            return Ok(cached);
        }
        let keys = Arc::new(PoolKeys {
            id: self.open_signer(pool, id)?,
            access: self.open_signer(pool, access)?,
            public,
        });
        self.inner.keys.put(pool, keys.clone());
        Ok(keys)
    }

    fn open_signer(&self, pool: &UserPoolId, key: &StoredKey) -> EngineResult<SigningKey> {
        let der = self
            .inner
            .master
            .open(&purpose(pool, &key.kid), &key.sealed_private)
            .map_err(|_| {
                EngineError::Internal(format!(
                    "signing key {} of {pool} can't be opened: is the master key the one it was sealed with?",
                    key.kid
                ))
            })?;
        Ok(SigningKey::from_pkcs8(&der)?)
    }

    pub(crate) fn forget_pool_keys(&self, pool: &UserPoolId) {
        self.inner
            .keys
            .pools
            .write()
            .unwrap_or_else(|e| e.into_inner())
            .remove(pool);
    }

    /// The pool's JWKS: the signing keys, the next keys and the retired keys whose tokens may
    /// still be live.
    pub async fn jwks(&self, pool: &UserPoolId) -> EngineResult<PoolJwks> {
        let keys = self.pool_keys(pool).await?;
        Ok(PoolJwks {
            keys: keys.public.iter().map(|(_, k)| k.clone()).collect(),
        })
    }

    /// Every key the pool has had, oldest first; the pool must exist.
    async fn stored_keys(&self, pool: &UserPoolId) -> EngineResult<Vec<StoredKey>> {
        let stored = {
            let mut tx = self.inner.store.read().await?;
            tx.signing_keys(pool).await?
        };
        if stored.is_empty() {
            return Err(DomainError::pool_not_found(pool.as_str()).into());
        }
        Ok(stored)
    }

    /// Every key the pool has had, oldest first, with its state now.
    pub async fn list_signing_keys(&self, pool: &UserPoolId) -> EngineResult<Vec<KeyInfo>> {
        let stored = self.stored_keys(pool).await?;
        let now = self.now();
        Ok(stored.iter().map(|k| key_info(k, now)).collect())
    }

    /// Makes each use's published next key the signing key at once (or a new key, when none was
    /// published), retires the keys it replaces and publishes new next keys.
    pub async fn rotate_signing_keys(&self, pool: &UserPoolId) -> EngineResult<Vec<KeyInfo>> {
        self.replace_signers(pool, &USES, None).await?;
        self.list_signing_keys(pool).await
    }

    /// Withdraws a key at once: it leaves the JWKS and tokens it signed fail. When it was signing,
    /// its use's next key (or a new one) takes over and a new next key is published.
    pub async fn revoke_signing_key(&self, kid: &str) -> EngineResult<KeyInfo> {
        let key = {
            let mut tx = self.inner.store.read().await?;
            tx.find_signing_key(kid).await?
        }
        .ok_or_else(|| DomainError::resource_not_found(format!("No signing key {kid}.")))?;
        let pool = key.pool_id.clone();
        match key_state(&key, self.now()) {
            KeyState::Revoked => {
                return Err(DomainError::invalid_parameter(format!(
                    "Signing key {kid} is already revoked."
                ))
                .into());
            }
            KeyState::Active => {
                self.replace_signers(&pool, &[key.key_use], Some(kid))
                    .await?
            }
            _ => {
                let mut tx = self.inner.store.begin().await?;
                if !tx.revoke_signing_key(&pool, kid, self.now()).await? {
                    return Err(rotated_concurrently(&pool));
                }
                tx.commit().await?;
                self.forget_pool_keys(&pool);
                crate::audit::event("signing_key_revoked", &pool, kid);
            }
        }
        let mut tx = self.inner.store.read().await?;
        let key = tx
            .find_signing_key(kid)
            .await?
            .ok_or_else(|| EngineError::Internal(format!("signing key {kid} vanished")))?;
        Ok(key_info(&key, self.now()))
    }

    /// For each of `uses`: activates the next key (or a new one), retires the active keys, and
    /// publishes a new next key, in one transaction; with `revoke`, revokes that key in it too.
    async fn replace_signers(
        &self,
        pool: &UserPoolId,
        uses: &[KeyUse],
        revoke: Option<&str>,
    ) -> EngineResult<()> {
        let stored = self.stored_keys(pool).await?;
        let now = self.now();
        // Keys are generated before the transaction: RSA generation is slow, and SQLite's single
        // writer shouldn't wait on it.
        let mut wanted = Vec::new();
        for &key_use in uses {
            if next_key(&stored, key_use, now).is_none() {
                wanted.push((key_use, Some(now)));
            }
            wanted.push((key_use, None));
        }
        let fresh = self.generate_keys(pool, wanted, now).await?;
        let mut tx = self.inner.store.begin().await?;
        if let Some(kid) = revoke
            && !tx.revoke_signing_key(pool, kid, now).await?
        {
            return Err(rotated_concurrently(pool));
        }
        for &key_use in uses {
            if let Some(next) = next_key(&stored, key_use, now)
                && !tx.activate_signing_key(pool, &next.kid, now).await?
            {
                return Err(rotated_concurrently(pool));
            }
            for old in stored.iter().filter(|k| {
                k.key_use == key_use
                    && key_state(k, now) == KeyState::Active
                    && Some(k.kid.as_str()) != revoke
            }) {
                if !tx.retire_signing_key(pool, &old.kid, now).await? {
                    return Err(rotated_concurrently(pool));
                }
            }
        }
        for key in &fresh {
            tx.insert_signing_key(key).await?;
        }
        tx.commit().await?;
        self.forget_pool_keys(pool);
        tracing::info!(pool = %pool, revoked = revoke, "signing keys rotated");
        crate::audit::event(
            "signing_keys_rotated",
            pool,
            &match revoke {
                Some(kid) => format!("revoked {kid}"),
                None => "rotated".to_string(),
            },
        );
        Ok(())
    }

    /// The key upkeep a node runs now and then: publishes next keys for pools that lack them
    /// (once past `NEXT_KEY_DELAY`), and rotates pools whose signing keys are older than
    /// `rotate_after`. Safe on many nodes at once: a node that loses a race skips the pool.
    /// Returns how many pools it changed.
    pub async fn key_upkeep(&self, rotate_after: Option<Duration>) -> EngineResult<usize> {
        let now = self.now();
        let created_before = now.minus(NEXT_KEY_DELAY);
        let activated_before = rotate_after.map(|age| now.minus(age));
        let due = {
            let mut tx = self.inner.store.read().await?;
            tx.pools_due_key_upkeep(created_before, activated_before, 100)
                .await?
        };
        let mut changed = 0;
        for pool in due {
            match self.upkeep_pool(&pool, activated_before).await {
                Ok(()) => changed += 1,
                Err(EngineError::Client(e)) => {
                    tracing::debug!(pool = %pool, error = %e.message, "key upkeep skipped")
                }
                Err(e) => tracing::warn!(pool = %pool, error = %e, "key upkeep failed"),
            }
        }
        Ok(changed)
    }

    async fn upkeep_pool(
        &self,
        pool: &UserPoolId,
        activated_before: Option<Timestamp>,
    ) -> EngineResult<()> {
        let stored = {
            let mut tx = self.inner.store.read().await?;
            tx.signing_keys(pool).await?
        };
        let now = self.now();
        let stale: Vec<KeyUse> = USES
            .into_iter()
            .filter(|&u| {
                let signing = signer(&stored, u, now);
                matches!((signing, activated_before), (Some(k), Some(before))
                    if k.activated_at.is_some_and(|a| a.millis() < before.millis()))
            })
            .collect();
        if !stale.is_empty() {
            return self.replace_signers(pool, &stale, None).await;
        }
        let missing: Vec<(KeyUse, Option<Timestamp>)> = USES
            .into_iter()
            .filter(|&u| next_key(&stored, u, now).is_none())
            .map(|u| (u, None))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        let fresh = self.generate_keys(pool, missing, now).await?;
        let mut tx = self.inner.store.begin().await?;
        for key in &fresh {
            tx.insert_signing_key(key).await?;
        }
        tx.commit().await?;
        self.forget_pool_keys(pool);
        Ok(())
    }
}

/// The deployment value that proves the master key: sealed with it at first start.
pub(crate) const MASTER_KEY_CHECK: &str = "master-key-check";

impl Engine {
    /// Fails when the master key isn't the one this store's secrets were sealed with, so a node
    /// with the wrong key refuses to start instead of failing every request that opens a secret.
    /// The first start of a store seals a check value; a store from before the check is proved
    /// against a sealed signing key first.
    ///
    /// Then installs the store's derive secret (see [`crate::master_key`]), so derived values
    /// stay the same whichever master key is current.
    pub async fn check_master_key(&self) -> EngineResult<()> {
        let check = self.verified_master_key_check().await?;
        self.install_derive_secret(&check).await
    }

    /// The store's master-key check value, once it opens with a key of the ring.
    async fn verified_master_key_check(&self) -> EngineResult<Vec<u8>> {
        let mismatch = || {
            EngineError::Internal(
                "the master key doesn't match the one this store's secrets were sealed with: start \
                 with the store's own master key (TESSERA_MASTER_KEY / master_key, or master.key in \
                 the data directory; during a master-key rotation, the old key among \
                 TESSERA_PREVIOUS_MASTER_KEYS / previous_master_keys)"
                    .into(),
            )
        };
        let master = &self.inner.master;
        let mut tx = self.inner.store.read().await?;
        if let Some(sealed) = tx.get_meta(MASTER_KEY_CHECK).await? {
            return master
                .open(MASTER_KEY_CHECK, &sealed)
                .map(|_| sealed.clone())
                .map_err(|_| mismatch());
        }
        if let Some(pool) = tx.list_pools(None, 1).await?.into_iter().next()
            && let Some(key) = tx
                .signing_keys(&pool.id)
                .await?
                .into_iter()
                .find(|k| k.revoked_at.is_none())
            && master
                .open(&purpose(&pool.id, &key.kid), &key.sealed_private)
                .is_err()
        {
            return Err(mismatch());
        }
        drop(tx);
        let mut tx = self.inner.store.begin().await?;
        let check = master.seal(MASTER_KEY_CHECK, b"tessera master key");
        let written = tx.insert_meta(MASTER_KEY_CHECK, &check).await?;
        tx.commit().await?;
        if written {
            Ok(check)
        } else {
            // Another node wrote it first: check against theirs.
            Box::pin(self.verified_master_key_check()).await
        }
    }
}

fn key_info(key: &StoredKey, now: Timestamp) -> KeyInfo {
    KeyInfo {
        pool_id: key.pool_id.to_string(),
        kid: key.kid.clone(),
        key_use: key.key_use.as_str(),
        state: key_state(key, now),
        created_at: key.created_at.secs(),
        activated_at: key.activated_at.map(Timestamp::secs),
        retired_at: key.retired_at.map(Timestamp::secs),
        revoked_at: key.revoked_at.map(Timestamp::secs),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(kid: &str, key_use: KeyUse, times: [Option<i64>; 3]) -> StoredKey {
        let at = |s: Option<i64>| s.map(|s| Timestamp::from_millis(s * 1000));
        StoredKey {
            pool_id: UserPoolId::parse("us-east-1_Keys").unwrap(),
            kid: kid.into(),
            key_use,
            sealed_private: vec![],
            public_jwk: String::new(),
            created_at: Timestamp::from_millis(0),
            activated_at: at(times[0]),
            retired_at: at(times[1]),
            revoked_at: at(times[2]),
        }
    }

    const DAY: i64 = 86_400;

    #[test]
    fn states_follow_the_keys_life() {
        let now = Timestamp::from_millis(10 * DAY * 1000);
        let state = |times| key_state(&key("k", KeyUse::Id, times), now);
        assert_eq!(state([None, None, None]), KeyState::Next);
        assert_eq!(state([Some(1), None, None]), KeyState::Active);
        // Retired keys stay published for a day and five minutes.
        assert_eq!(state([Some(1), Some(9 * DAY + 1), None]), KeyState::Retired);
        assert_eq!(
            state([Some(1), Some(9 * DAY - 299), None]),
            KeyState::Retired
        );
        assert_eq!(
            state([Some(1), Some(9 * DAY - 300), None]),
            KeyState::Expired
        );
        assert_eq!(state([None, None, Some(5)]), KeyState::Revoked);
        assert_eq!(state([Some(1), None, Some(5)]), KeyState::Revoked);
    }

    #[test]
    fn the_newest_active_key_signs_and_the_oldest_next_key_is_promoted() {
        let now = Timestamp::from_millis(100_000);
        let keys = vec![
            key("old", KeyUse::Id, [Some(1), None, None]),
            key("new", KeyUse::Id, [Some(5), None, None]),
            key("revoked", KeyUse::Id, [Some(9), None, Some(10)]),
            key("access", KeyUse::Access, [Some(1), None, None]),
            key("next-b", KeyUse::Id, [None, None, None]),
            key("next-a", KeyUse::Id, [None, None, None]),
            key("next-revoked", KeyUse::Access, [None, None, Some(2)]),
        ];
        assert_eq!(signer(&keys, KeyUse::Id, now).unwrap().kid, "new");
        assert_eq!(signer(&keys, KeyUse::Access, now).unwrap().kid, "access");
        // Same creation time: the kid breaks the tie, so every node picks the same key.
        assert_eq!(next_key(&keys, KeyUse::Id, now).unwrap().kid, "next-a");
        assert!(next_key(&keys, KeyUse::Access, now).is_none());
    }
}
