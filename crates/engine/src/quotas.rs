//! Request-rate quotas: each user pool gets Cognito's per-category rates (GCRA buckets from the
//! governor crate, a burst of one second's worth), raised where GetProvisionedLimit /
//! UpdateProvisionedLimit say so. The provisioned values live in the store, shared by every
//! node, and are re-read at most every few seconds; the buckets are per node, and with
//! `nodes` set each node enforces its share of the rate (`⌈rate / nodes⌉`), so a cluster
//! behind an even load balancer admits the configured rate, and one node alone admits its
//! share.

use crate::{Engine, EngineResult};
use governor::{DefaultKeyedRateLimiter, Quota};
use std::collections::{BTreeMap, HashMap};
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};
use tessera_domain::DomainError;
use tessera_domain::error::ErrorKind;
use tessera_domain::quotas::{self, Bucket, Category};

/// How the deployment applies quotas.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuotaSettings {
    pub enabled: bool,
    /// Nodes sharing the rates (1: this node enforces the whole rate).
    pub nodes: u32,
}

/// How long a node trusts its copy of the provisioned limits.
const PROVISIONED_TTL: Duration = Duration::from_secs(5);

/// Where the provisioned limits are kept (deployment metadata, a JSON map category → rate).
const PROVISIONED_META: &str = "provisioned_limits";

/// Client ids remembered per node (a client's pool never changes); cleared when full.
const CLIENT_CACHE: usize = 10_000;

type Limiter = Arc<DefaultKeyedRateLimiter<String>>;

#[derive(Default)]
pub(crate) struct Quotas {
    settings: OnceLock<QuotaSettings>,
    limiters: Mutex<HashMap<Bucket, (u32, Limiter)>>,
    provisioned: Mutex<Option<(Instant, BTreeMap<String, u32>)>>,
    client_pools: Mutex<HashMap<String, String>>,
}

/// A limit as GetProvisionedLimit / UpdateProvisionedLimit answer it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LimitView {
    pub category: Category,
    pub provisioned: u32,
    pub free: u32,
}

fn limiter(rate: u32) -> Limiter {
    let rate = NonZeroU32::new(rate).unwrap_or(NonZeroU32::MIN);
    Arc::new(DefaultKeyedRateLimiter::keyed(Quota::per_second(rate)))
}

/// A lock that a panicking holder didn't poison for good: the maps hold nothing a half-done
/// update could leave inconsistent.
fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// The provisioned rates as stored (category name → requests per second; none: defaults).
fn provisioned_in(stored: Option<Vec<u8>>) -> BTreeMap<String, u32> {
    stored
        .and_then(|bytes| serde_json::from_slice(&bytes).ok())
        .unwrap_or_default()
}

fn throttled() -> DomainError {
    DomainError::new(ErrorKind::TooManyRequests, "Rate exceeded")
}

impl Engine {
    /// Turns quotas on (once, at start). Without this call nothing is limited.
    pub fn configure_quotas(&self, settings: QuotaSettings) {
        let _ = self.inner.quotas.settings.set(settings);
    }

    /// Admits one call of a cognito-idp `operation` against the pool `pool` (a pool id, or
    /// `*` for calls that name none), or refuses it with TooManyRequestsException when the
    /// pool's bucket for the operation's category is empty.
    pub async fn admit(&self, operation: &str, pool: &str) -> EngineResult<()> {
        let Some(settings) = self.inner.quotas.settings.get().copied() else {
            return Ok(());
        };
        if !settings.enabled {
            return Ok(());
        }
        let Some(bucket) = quotas::bucket_of(operation) else {
            return Ok(());
        };
        let rate = bucket.rate(self.provisioned_rate(bucket.category).await?);
        let share = rate.div_ceil(settings.nodes.max(1));
        let limiter = {
            let mut limiters = lock(&self.inner.quotas.limiters);
            match limiters.get(&bucket) {
                Some((r, l)) if *r == share => l.clone(),
                _ => {
                    let l = limiter(share);
                    limiters.insert(bucket, (share, l.clone()));
                    l
                }
            }
        };
        if limiter.check_key(&pool.to_string()).is_err() {
            crate::telemetry::throttled(bucket.category.name());
            return Err(throttled().into());
        }
        Ok(())
    }

    /// The pool an app client belongs to, remembered once read (None for an unknown client:
    /// the operation itself will say so).
    pub async fn pool_of_client(&self, client_id: &str) -> EngineResult<Option<String>> {
        if let Some(p) = lock(&self.inner.quotas.client_pools).get(client_id) {
            return Ok(Some(p.clone()));
        }
        let client = {
            let mut tx = self.inner.store.read().await?;
            match self.load_client(&mut *tx, client_id).await {
                Ok(c) => c,
                Err(_) => return Ok(None),
            }
        };
        let pool = client.pool_id.as_str().to_string();
        let mut cache = lock(&self.inner.quotas.client_pools);
        if cache.len() >= CLIENT_CACHE {
            cache.clear();
        }
        cache.insert(client_id.to_string(), pool.clone());
        Ok(Some(pool))
    }

    async fn provisioned_map(&self, fresh: bool) -> EngineResult<BTreeMap<String, u32>> {
        if !fresh
            && let Some((at, map)) = lock(&self.inner.quotas.provisioned).as_ref()
            && at.elapsed() < PROVISIONED_TTL
        {
            return Ok(map.clone());
        }
        let map = {
            let mut tx = self.inner.store.read().await?;
            provisioned_in(tx.get_meta(PROVISIONED_META).await?)
        };
        *lock(&self.inner.quotas.provisioned) = Some((Instant::now(), map.clone()));
        Ok(map)
    }

    async fn provisioned_rate(&self, category: Category) -> EngineResult<u32> {
        let map = self.provisioned_map(false).await?;
        Ok(map
            .get(category.name())
            .copied()
            .unwrap_or(category.default_rps()))
    }

    /// GetProvisionedLimit.
    pub async fn get_provisioned_limit(
        &self,
        class: &str,
        attributes: &BTreeMap<String, String>,
    ) -> EngineResult<LimitView> {
        let category = quotas::category_of_definition(class, attributes)?;
        let map = self.provisioned_map(true).await?;
        Ok(LimitView {
            category,
            provisioned: map
                .get(category.name())
                .copied()
                .unwrap_or(category.default_rps()),
            free: category.default_rps(),
        })
    }

    /// UpdateProvisionedLimit: a rate between the default and the maximum for an adjustable
    /// category, for every node (each picks it up within a few seconds).
    pub async fn update_provisioned_limit(
        &self,
        class: &str,
        attributes: &BTreeMap<String, String>,
        requested: i64,
    ) -> EngineResult<LimitView> {
        let category = quotas::category_of_definition(class, attributes)?;
        let value = quotas::check_requested(category, requested)?;
        let mut tx = self.inner.store.begin().await?;
        let mut map = provisioned_in(tx.get_meta(PROVISIONED_META).await?);
        map.insert(category.name().to_string(), value);
        let bytes =
            serde_json::to_vec(&map).map_err(|e| crate::EngineError::Internal(e.to_string()))?;
        tx.put_meta(PROVISIONED_META, &bytes).await?;
        tx.commit().await?;
        *lock(&self.inner.quotas.provisioned) = None;
        tracing::info!(target: crate::audit::TARGET, category = category.name(), value, "provisioned limit updated");
        Ok(LimitView {
            category,
            provisioned: value,
            free: category.default_rps(),
        })
    }
}
