//! User pools: CreateUserPool, DescribeUserPool, UpdateUserPool, DeleteUserPool, ListUserPools,
//! AddCustomAttributes.

use crate::Engine;
use crate::error::{EngineResult, on_conflict};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use std::collections::BTreeMap;
use tessera_domain::attributes;
use tessera_domain::password::PasswordPolicy;
use tessera_domain::pool::{self, MfaMode, PoolConfig, UserPool};
use tessera_domain::{DomainError, ErrorKind, UserPoolId};
use tessera_store::{Conflict, Tx};

/// What UpdateUserPool may change. Like Cognito, settings left out of the request return to
/// their defaults rather than keeping their old values.
#[derive(Clone, Debug)]
pub struct PoolUpdate {
    pub name: Option<String>,
    pub password_policy: PasswordPolicy,
    pub auto_verified_attributes: Vec<String>,
    pub mfa: MfaMode,
    pub deletion_protection: bool,
    /// Turning SRP off drops every stored verifier of the pool.
    pub srp_enabled: bool,
    pub settings: BTreeMap<String, serde_json::Value>,
}

#[derive(Clone, Debug)]
pub struct PoolPage {
    pub pools: Vec<UserPool>,
    pub next_token: Option<String>,
}

/// Pagination tokens are opaque to clients: the last key of the page, base64url-encoded.
pub(crate) fn encode_token(key: &str) -> String {
    URL_SAFE_NO_PAD.encode(key)
}

/// Cuts a page fetched with `limit + 1` rows down to `limit`, with the token for the next one.
pub(crate) fn paged<T>(
    mut rows: Vec<T>,
    limit: usize,
    key: impl Fn(&T) -> &str,
) -> (Vec<T>, Option<String>) {
    if rows.len() <= limit {
        return (rows, None);
    }
    rows.truncate(limit);
    let next = rows.last().map(|r| encode_token(key(r)));
    (rows, next)
}

pub(crate) fn decode_token(token: Option<&str>) -> EngineResult<Option<String>> {
    let Some(token) = token else { return Ok(None) };
    URL_SAFE_NO_PAD
        .decode(token)
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .map(Some)
        .ok_or_else(|| DomainError::invalid_parameter("Invalid pagination token provided.").into())
}

fn check_auto_verified(attrs: &[String]) -> EngineResult<()> {
    for a in attrs {
        if a != attributes::EMAIL && a != attributes::PHONE_NUMBER {
            return Err(DomainError::invalid_parameter(format!(
                "Invalid AutoVerifiedAttribute: {a}"
            ))
            .into());
        }
    }
    Ok(())
}

/// Turns SRP on or off for a pool (the caller saves it); turning it off drops every stored
/// verifier in the same transaction, so none outlives the switch.
pub(crate) async fn switch_srp(
    tx: &mut dyn tessera_store::Tx,
    pool: &mut UserPool,
    enabled: bool,
) -> EngineResult<()> {
    if pool.config.srp_enabled && !enabled {
        let n = tx.clear_srp_verifiers(&pool.id).await?;
        tracing::info!(pool = %pool.id, verifiers = n, "SRP turned off: verifiers dropped");
    }
    pool.config.srp_enabled = enabled;
    Ok(())
}

/// A setting stored in the pool's settings map (Default when absent or unreadable).
pub(crate) fn setting<T: serde::de::DeserializeOwned + Default>(pool: &UserPool, key: &str) -> T {
    pool.config
        .settings
        .get(key)
        .and_then(|v| serde_json::from_value(v.clone()).ok())
        .unwrap_or_default()
}

/// Stores a setting in the pool's settings map (the caller saves the pool).
pub(crate) fn put_setting<T: serde::Serialize>(
    pool: &mut UserPool,
    key: &str,
    value: &T,
) -> EngineResult<()> {
    let value = serde_json::to_value(value)
        .map_err(|e| crate::error::EngineError::Internal(e.to_string()))?;
    pool.config.settings.insert(key.into(), value);
    Ok(())
}

impl Engine {
    pub(crate) async fn load_pool(
        &self,
        tx: &mut dyn Tx,
        id: &UserPoolId,
    ) -> EngineResult<UserPool> {
        tx.get_pool(id)
            .await?
            .ok_or_else(|| DomainError::pool_not_found(id.as_str()).into())
    }

    pub async fn create_user_pool(
        &self,
        name: String,
        config: PoolConfig,
    ) -> EngineResult<UserPool> {
        pool::check_pool_name(&name)?;
        config.sign_in.validate()?;
        check_auto_verified(&config.auto_verified_attributes)?;
        tessera_domain::messages::Templates::check(&config.settings)?;
        let now = self.now();
        for _ in 0..4 {
            let id = UserPoolId::generate(
                &self.inner.settings.region,
                tessera_crypto::random::bytes::<9>(),
            );
            let pool = UserPool {
                id: id.clone(),
                name: name.clone(),
                created_at: now,
                modified_at: now,
                config: config.clone(),
            };
            let mut tx = self.inner.store.begin().await?;
            match tx.insert_pool(&pool).await {
                Err(tessera_store::StoreError::Conflict(Conflict::Pool)) => continue,
                other => other?,
            }
            self.create_pool_keys(&mut *tx, &id, now).await?;
            tx.commit().await?;
            tracing::info!(pool = %id, "user pool created");
            return Ok(pool);
        }
        Err(crate::EngineError::Internal(
            "could not allocate a pool id".into(),
        ))
    }

    /// The pool alone: DescribeUserPool without its count of the pool's users, which reads all
    /// of them (for pages that only show the pool's name beside a page of its users).
    pub async fn user_pool(&self, id: &UserPoolId) -> EngineResult<UserPool> {
        let mut tx = self.inner.store.read().await?;
        self.load_pool(&mut *tx, id).await
    }

    /// The pool and its estimated number of users.
    pub async fn describe_user_pool(&self, id: &UserPoolId) -> EngineResult<(UserPool, u64)> {
        let mut tx = self.inner.store.read().await?;
        let pool = self.load_pool(&mut *tx, id).await?;
        let now = self.now();
        let users = match self.inner.user_counts.recent(id, now) {
            Some(n) => n,
            None => {
                let n = tx.count_users(id).await?;
                self.inner.user_counts.counted(id, n, now);
                n
            }
        };
        Ok((pool, users))
    }

    pub async fn update_user_pool(&self, id: &UserPoolId, update: PoolUpdate) -> EngineResult<()> {
        if let Some(name) = &update.name {
            pool::check_pool_name(name)?;
        }
        check_auto_verified(&update.auto_verified_attributes)?;
        tessera_domain::messages::Templates::check(&update.settings)?;
        let mut tx = self.inner.store.begin().await?;
        let mut pool = self.load_pool(&mut *tx, id).await?;
        if let Some(name) = update.name {
            pool.name = name;
        }
        pool.config.password_policy = update.password_policy;
        pool.config.auto_verified_attributes = update.auto_verified_attributes;
        pool.config.mfa = update.mfa;
        pool.config.deletion_protection = update.deletion_protection;
        let owned: Vec<_> = crate::pool_settings::OWNED_SETTINGS
            .iter()
            .filter_map(|k| pool.config.settings.remove_entry(*k))
            .collect();
        pool.config.settings = update.settings;
        pool.config.settings.extend(owned);
        pool.modified_at = self.now();
        switch_srp(&mut *tx, &mut pool, update.srp_enabled).await?;
        tx.update_pool(&pool).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn delete_user_pool(&self, id: &UserPoolId) -> EngineResult<()> {
        let mut tx = self.inner.store.begin().await?;
        let pool = self.load_pool(&mut *tx, id).await?;
        if pool.config.deletion_protection {
            return Err(DomainError::invalid_parameter(
                "The user pool cannot be deleted because deletion protection is activated. Deletion protection must be inactivated first.",
            )
            .into());
        }
        // Cognito makes the caller delete the pool's domains first (its resource servers go
        // with the pool).
        if !tx.pool_domains(id).await?.is_empty() {
            return Err(tessera_domain::domains::pool_deletion_blocked_by_domain().into());
        }
        tx.delete_pool(id).await?;
        tx.commit().await?;
        self.forget_pool_keys(id);
        tracing::info!(pool = %id, "user pool deleted");
        Ok(())
    }

    pub async fn list_user_pools(&self, max: usize, next: Option<&str>) -> EngineResult<PoolPage> {
        let after = decode_token(next)?
            .map(|s| UserPoolId::parse(&s))
            .transpose()
            .map_err(|_| DomainError::invalid_parameter("Invalid pagination token provided."))?;
        let mut tx = self.inner.store.read().await?;
        let rows = tx.list_pools(after.as_ref(), max + 1).await?;
        let (pools, next_token) = paged(rows, max, |p| p.id.as_str());
        Ok(PoolPage { pools, next_token })
    }

    pub async fn add_custom_attributes(
        &self,
        id: &UserPoolId,
        attrs: Vec<attributes::RequestedAttribute>,
    ) -> EngineResult<()> {
        let mut tx = self.inner.store.begin().await?;
        let mut pool = self.load_pool(&mut *tx, id).await?;
        attributes::add_custom_attributes(&mut pool.config.schema, &attrs)?;
        pool.modified_at = self.now();
        tx.update_pool(&pool)
            .await
            .map_err(|e| on_conflict(e, |_| None))?;
        tx.commit().await?;
        Ok(())
    }
}

/// Why the replica operations (Create/Delete/List/UpdateUserPoolReplica) are refused.
pub const REPLICAS_UNAVAILABLE: &str = "User pool replicas are not available in Tessera: a replica \
     is a copy of the pool that AWS runs in another AWS Region, which is AWS infrastructure. To run \
     a pool in several places, run several Tessera nodes on one PostgreSQL database (replicated as \
     PostgreSQL allows).";

impl Engine {
    /// The replica operations: the pool must exist (ResourceNotFoundException otherwise, as for
    /// every pool operation), then OperationNotEnabledException saying why.
    pub async fn user_pool_replicas(&self, pool_id: &UserPoolId) -> EngineResult<()> {
        let mut tx = self.inner.store.read().await?;
        self.load_pool(&mut *tx, pool_id).await?;
        Err(DomainError::new(ErrorKind::OperationNotEnabled, REPLICAS_UNAVAILABLE).into())
    }
}

/// DescribeUserPool's `EstimatedNumberOfUsers`. Counting reads every user of the pool (about
/// 45 ms at a million on SQLite), so a large pool's count is kept for [`UserCounts::KEEP`] and
/// answered from there: Cognito calls it an estimate, and it lags there too. A small pool is
/// counted every time, so its figure is exact the moment a user is added or removed.
#[derive(Default)]
pub(crate) struct UserCounts {
    counts:
        std::sync::Mutex<std::collections::HashMap<UserPoolId, (u64, tessera_domain::Timestamp)>>,
}

impl UserCounts {
    /// Pools with fewer users than this are counted on every call.
    const LARGE: u64 = 100_000;
    /// How long a large pool's count is answered without counting again.
    const KEEP: std::time::Duration = std::time::Duration::from_secs(60);

    /// A large pool's count (only those are kept), if it was taken less than [`Self::KEEP`]
    /// before `now`.
    fn recent(&self, id: &UserPoolId, now: tessera_domain::Timestamp) -> Option<u64> {
        let counts = self.counts.lock().ok()?;
        let (n, at) = counts.get(id)?;
        (now < at.plus(Self::KEEP) && *at <= now).then_some(*n)
    }

    fn counted(&self, id: &UserPoolId, n: u64, now: tessera_domain::Timestamp) {
        if let Ok(mut counts) = self.counts.lock() {
            if n >= Self::LARGE {
                counts.insert(id.clone(), (n, now));
            } else {
                counts.remove(id);
            }
        }
    }
}

#[cfg(test)]
mod user_count_tests {
    use super::*;
    use tessera_domain::Timestamp;

    #[test]
    fn only_a_large_pools_count_is_kept_and_only_for_a_minute() {
        let counts = UserCounts::default();
        let id = UserPoolId::generate("us-east-1", [1; 9]);
        let t0 = Timestamp::from_millis(1_000_000);
        counts.counted(&id, 99_999, t0);
        assert_eq!(
            counts.recent(&id, t0),
            None,
            "a small pool is counted every time"
        );
        counts.counted(&id, 1_000_000, t0);
        assert_eq!(
            counts.recent(&id, t0.plus(std::time::Duration::from_secs(59))),
            Some(1_000_000)
        );
        assert_eq!(
            counts.recent(&id, t0.plus(UserCounts::KEEP)),
            None,
            "stale after a minute"
        );
        assert_eq!(
            counts.recent(&id, t0.minus(std::time::Duration::from_secs(1))),
            None
        );
        counts.counted(&id, 10, t0);
        assert_eq!(
            counts.recent(&id, t0),
            None,
            "shrunk below the line: exact again"
        );
        let other = UserPoolId::generate("us-east-1", [2; 9]);
        assert_eq!(counts.recent(&other, t0), None);
    }
}
