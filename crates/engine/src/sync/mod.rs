//! Cognito Sync: datasets of records per identity ([`records`]), usage figures and the pool's
//! sync settings (here), push-sync devices ([`push`]) and the sync trigger ([`trigger`]).
//!
//! Every operation names a pool and usually an identity; [`SyncCaller`] says who asks. An
//! identity's credentials reach only that identity's data; developer credentials (the admin
//! keys) reach every identity of every pool, but can't register devices or subscribe, as in
//! Cognito.

mod delivery;
mod push;
mod records;
mod trigger;

pub(crate) use delivery::sweep;
pub use delivery::{ChangeEvent, SyncSink, stream_payload};
pub use records::{ListRecords, RecordsPage, UpdateRecords};

use crate::Engine;
use crate::error::EngineResult;
use tessera_domain::identity::{
    Identity, IdentityId, IdentityPool, IdentityPoolId, identity_not_found, pool_not_found,
};
use tessera_domain::sync::{SyncPoolConfig, Usage};
use tessera_domain::{DomainError, ErrorKind, Timestamp};
use tessera_store::Tx;

/// Who signed a Cognito Sync request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncCaller {
    /// Developer credentials; `principal` is what LastModifiedBy records.
    Developer { principal: String },
    /// Credentials GetCredentialsForIdentity issued to this identity.
    Identity {
        pool_id: IdentityPoolId,
        identity_id: IdentityId,
    },
}

impl SyncCaller {
    fn name(&self) -> &str {
        match self {
            SyncCaller::Developer { principal } => principal,
            SyncCaller::Identity { identity_id, .. } => identity_id.as_str(),
        }
    }

    fn is_developer(&self) -> bool {
        matches!(self, SyncCaller::Developer { .. })
    }
}

/// Which callers an operation admits.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Access {
    IdentityOrDeveloper,
    Developer,
    Identity,
}

fn forbidden(message: impl Into<String>) -> DomainError {
    DomainError::not_authorized(message)
}

/// An identity pool's usage (DescribeIdentityPoolUsage, ListIdentityPoolUsage).
pub struct PoolUsage {
    pub pool_id: IdentityPoolId,
    pub usage: Usage,
    /// ListRecords calls counted; None before the first.
    pub sync_sessions: Option<i64>,
}

/// A page of ListIdentityPoolUsage.
pub struct PoolUsagePage {
    pub usages: Vec<PoolUsage>,
    pub next: Option<IdentityPoolId>,
}

/// What GetBulkPublishDetails reports.
pub struct BulkPublishDetails {
    pub status: &'static str,
    pub started_at: Option<Timestamp>,
    pub completed_at: Option<Timestamp>,
    pub failure: Option<String>,
}

impl Engine {
    /// The pool, checked against the caller's reach and what the operation admits.
    pub(crate) async fn sync_pool(
        &self,
        tx: &mut dyn Tx,
        caller: &SyncCaller,
        pool_id: &str,
        access: Access,
    ) -> EngineResult<IdentityPool> {
        match (caller, access) {
            (SyncCaller::Identity { .. }, Access::Developer) => {
                return Err(forbidden(
                    "This operation requires developer credentials; identity credentials can't call it.",
                )
                .into());
            }
            (SyncCaller::Developer { .. }, Access::Identity) => {
                return Err(forbidden(
                    "This operation requires the identity's own credentials; developer credentials can't call it.",
                )
                .into());
            }
            (SyncCaller::Identity { pool_id: own, .. }, _) if own.as_str() != pool_id => {
                return Err(forbidden(format!(
                    "Access to IdentityPool '{}' is not allowed with these credentials.",
                    tessera_wire_echo(pool_id)
                ))
                .into());
            }
            _ => {}
        }
        let id = IdentityPoolId::parse(pool_id).map_err(|_| pool_not_found(pool_id))?;
        self.load_identity_pool(tx, &id).await
    }

    /// The pool and the identity, checked as [`Engine::sync_pool`] and against the identity
    /// the caller's credentials belong to.
    pub(crate) async fn sync_identity(
        &self,
        tx: &mut dyn Tx,
        caller: &SyncCaller,
        pool_id: &str,
        identity_id: &str,
        access: Access,
    ) -> EngineResult<(IdentityPool, Identity)> {
        if let SyncCaller::Identity {
            identity_id: own, ..
        } = caller
            && own.as_str() != identity_id
        {
            return Err(forbidden(format!(
                "Access to Identity '{}' is not allowed with these credentials.",
                tessera_wire_echo(identity_id)
            ))
            .into());
        }
        let pool = self.sync_pool(tx, caller, pool_id, access).await?;
        let id = IdentityId::parse(identity_id).map_err(|_| identity_not_found(identity_id))?;
        let identity = tx
            .get_identity(&id)
            .await?
            .filter(|i| i.pool_id == pool.id)
            .ok_or_else(|| identity_not_found(identity_id))?;
        Ok((pool, identity))
    }

    /// The identity whose data an identity-or-developer operation reaches.
    pub(crate) async fn identity_data(
        &self,
        tx: &mut dyn Tx,
        caller: &SyncCaller,
        pool_id: &str,
        identity_id: &str,
    ) -> EngineResult<Identity> {
        let access = Access::IdentityOrDeveloper;
        let (_, identity) = self
            .sync_identity(tx, caller, pool_id, identity_id, access)
            .await?;
        Ok(identity)
    }

    pub(crate) async fn sync_config(
        &self,
        tx: &mut dyn Tx,
        pool: &IdentityPoolId,
    ) -> EngineResult<(SyncPoolConfig, Option<i64>)> {
        Ok(match tx.get_sync_config(pool).await? {
            Some((config, sessions)) => (config, (sessions > 0).then_some(sessions)),
            None => (SyncPoolConfig::default(), None),
        })
    }

    /// DescribeIdentityUsage.
    pub async fn describe_identity_usage(
        &self,
        caller: &SyncCaller,
        pool_id: &str,
        identity_id: &str,
    ) -> EngineResult<(Identity, Usage)> {
        let mut tx = self.inner.store.read().await?;
        let identity = self
            .identity_data(&mut *tx, caller, pool_id, identity_id)
            .await?;
        let usage = tx.identity_usage(&identity.id).await?;
        Ok((identity, usage))
    }

    /// DescribeIdentityPoolUsage.
    pub async fn describe_identity_pool_usage(
        &self,
        caller: &SyncCaller,
        pool_id: &str,
    ) -> EngineResult<PoolUsage> {
        let mut tx = self.inner.store.read().await?;
        let pool = self
            .sync_pool(&mut *tx, caller, pool_id, Access::Developer)
            .await?;
        self.pool_usage(&mut *tx, pool.id).await
    }

    async fn pool_usage(
        &self,
        tx: &mut dyn Tx,
        pool_id: IdentityPoolId,
    ) -> EngineResult<PoolUsage> {
        let usage = tx.pool_usage(&pool_id).await?;
        let (_, sync_sessions) = self.sync_config(tx, &pool_id).await?;
        Ok(PoolUsage {
            pool_id,
            usage,
            sync_sessions,
        })
    }

    /// ListIdentityPoolUsage: the pools ordered by id.
    pub async fn list_identity_pool_usage(
        &self,
        caller: &SyncCaller,
        after: Option<&str>,
        limit: usize,
    ) -> EngineResult<PoolUsagePage> {
        if !caller.is_developer() {
            return Err(forbidden(
                "This operation requires developer credentials; identity credentials can't call it.",
            )
            .into());
        }
        // The same pages as ListIdentityPools.
        let page = self.list_identity_pools(limit, after).await?;
        let mut tx = self.inner.store.read().await?;
        let mut usages = Vec::with_capacity(page.pools.len());
        for p in page.pools {
            usages.push(self.pool_usage(&mut *tx, p.id).await?);
        }
        let next = page.next;
        Ok(PoolUsagePage { usages, next })
    }

    /// GetCognitoEvents.
    pub async fn get_cognito_events(
        &self,
        caller: &SyncCaller,
        pool_id: &str,
    ) -> EngineResult<std::collections::BTreeMap<String, String>> {
        let mut tx = self.inner.store.read().await?;
        let pool = self
            .sync_pool(&mut *tx, caller, pool_id, Access::Developer)
            .await?;
        Ok(self.sync_config(&mut *tx, &pool.id).await?.0.events)
    }

    /// SetCognitoEvents: sets the entries given; an empty value removes its entry.
    pub async fn set_cognito_events(
        &self,
        caller: &SyncCaller,
        pool_id: &str,
        events: &std::collections::BTreeMap<String, String>,
    ) -> EngineResult<()> {
        for (name, function) in events {
            if name != tessera_domain::sync::SYNC_TRIGGER {
                return Err(DomainError::invalid_parameter(format!(
                    "Invalid event type: {}. The only event is {}.",
                    tessera_wire_echo(name),
                    tessera_domain::sync::SYNC_TRIGGER
                ))
                .into());
            }
            if !function.is_empty() && !function.starts_with("arn:aws:lambda:") {
                return Err(DomainError::invalid_parameter(format!(
                    "Invalid Lambda function ARN: {}",
                    tessera_wire_echo(function)
                ))
                .into());
            }
        }
        let mut tx = self.inner.store.begin().await?;
        let pool = self
            .sync_pool(&mut *tx, caller, pool_id, Access::Developer)
            .await?;
        let (mut config, _) = self.sync_config(&mut *tx, &pool.id).await?;
        for (name, function) in events {
            if function.is_empty() {
                config.events.remove(name);
            } else {
                config.events.insert(name.clone(), function.clone());
            }
        }
        tx.put_sync_config(&pool.id, &config).await?;
        tx.commit().await?;
        Ok(())
    }

    /// GetIdentityPoolConfiguration.
    pub async fn get_identity_pool_configuration(
        &self,
        caller: &SyncCaller,
        pool_id: &str,
    ) -> EngineResult<(IdentityPoolId, SyncPoolConfig)> {
        let mut tx = self.inner.store.read().await?;
        let pool = self
            .sync_pool(&mut *tx, caller, pool_id, Access::Developer)
            .await?;
        let (config, _) = self.sync_config(&mut *tx, &pool.id).await?;
        Ok((pool.id, config))
    }

    /// SetIdentityPoolConfiguration: replaces the parts given, keeps the others.
    pub async fn set_identity_pool_configuration(
        &self,
        caller: &SyncCaller,
        pool_id: &str,
        push_sync: Option<tessera_domain::sync::PushSync>,
        streams: Option<tessera_domain::sync::CognitoStreams>,
    ) -> EngineResult<(IdentityPoolId, SyncPoolConfig)> {
        let mut tx = self.inner.store.begin().await?;
        let pool = self
            .sync_pool(&mut *tx, caller, pool_id, Access::Developer)
            .await?;
        let (mut config, _) = self.sync_config(&mut *tx, &pool.id).await?;
        if let Some(p) = push_sync {
            config.push_sync = Some(p);
        }
        if let Some(mut s) = streams {
            // Streaming needs somewhere to stream to.
            if s.streaming_status.as_deref() == Some("ENABLED") && s.stream_name.is_none() {
                return Err(DomainError::invalid_parameter(
                    "StreamName is required to enable streaming.",
                )
                .into());
            }
            let old = config.streams.take().unwrap_or_default();
            s.stream_name = s.stream_name.or(old.stream_name);
            s.role_arn = s.role_arn.or(old.role_arn);
            s.streaming_status = s.streaming_status.or(old.streaming_status);
            config.streams = Some(s);
        }
        tx.put_sync_config(&pool.id, &config).await?;
        tx.commit().await?;
        Ok((pool.id, config))
    }

    /// GetBulkPublishDetails.
    pub async fn get_bulk_publish_details(
        &self,
        caller: &SyncCaller,
        pool_id: &str,
    ) -> EngineResult<(IdentityPoolId, BulkPublishDetails)> {
        use tessera_domain::sync::BulkPublishStatus;
        let mut tx = self.inner.store.read().await?;
        let pool = self
            .sync_pool(&mut *tx, caller, pool_id, Access::Developer)
            .await?;
        let (config, _) = self.sync_config(&mut *tx, &pool.id).await?;
        let details = match config.bulk_publish {
            None => BulkPublishDetails {
                status: "NOT_STARTED",
                started_at: None,
                completed_at: None,
                failure: None,
            },
            Some(b) => BulkPublishDetails {
                status: match b.status {
                    BulkPublishStatus::InProgress => "IN_PROGRESS",
                    BulkPublishStatus::Succeeded => "SUCCEEDED",
                    BulkPublishStatus::Failed => "FAILED",
                },
                started_at: Some(b.started_at),
                completed_at: b.completed_at,
                failure: b.failure,
            },
        };
        Ok((pool.id, details))
    }

    /// The sync session token of a ListRecords: sealed with the master key, bound to pool,
    /// identity and dataset, valid for an hour.
    fn sync_session_token(&self, pool: &str, identity: &str, dataset: &str) -> String {
        use base64::Engine as _;
        let expires = self.now().plus(SESSION_LIFETIME).millis();
        let plain = format!("{expires}");
        let sealed = self
            .inner
            .master
            .seal(&session_purpose(pool, identity, dataset), plain.as_bytes());
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(sealed)
    }

    fn check_sync_session_token(
        &self,
        token: &str,
        pool: &str,
        identity: &str,
        dataset: &str,
    ) -> EngineResult<()> {
        use base64::Engine as _;
        let invalid =
            || DomainError::invalid_parameter("SyncSessionToken not valid for these inputs");
        let sealed = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(token)
            .map_err(|_| invalid())?;
        let plain = self
            .inner
            .master
            .open(&session_purpose(pool, identity, dataset), &sealed)
            .map_err(|_| invalid())?;
        let expires: i64 = std::str::from_utf8(&plain)
            .ok()
            .and_then(|s| s.parse().ok())
            .ok_or_else(invalid)?;
        if self.now().millis() >= expires {
            return Err(DomainError::new(
                ErrorKind::InvalidParameter,
                "SyncSessionToken has expired; call ListRecords for a new one.",
            )
            .into());
        }
        Ok(())
    }
}

const SESSION_LIFETIME: std::time::Duration = std::time::Duration::from_secs(3600);

fn session_purpose(pool: &str, identity: &str, dataset: &str) -> String {
    format!("cognito-sync-session\n{pool}\n{identity}\n{dataset}")
}

fn tessera_wire_echo(s: &str) -> String {
    s.chars().take(256).collect()
}
