//! What a committed change sets off, and the courier that carries it out.
//!
//! In the change's own transaction: a row in the change feed (server-sent events read it), a
//! Cognito Streams record when the pool streams, and a push notification for each other device
//! subscribed to the dataset. A courier ([`Engine::deliver_sync`]) sends the deliveries through a
//! [`SyncSink`] with retries and backoff, so an outage of the stream or the webhook loses
//! nothing. BulkPublish queues the pool's whole data the same way.

use super::{Access, SyncCaller};
use crate::Engine;
use crate::error::EngineResult;
use serde_json::{Value, json};
use std::time::Duration;
use tessera_domain::identity::IdentityPoolId;
use tessera_domain::sync::{
    BulkPublish, BulkPublishStatus, Dataset, DeliveryKind, SyncChange, SyncDelivery,
    SyncDeliveryOutcome, SyncDevice, SyncPoolConfig, SyncRecord,
};
use tessera_domain::{DomainError, ErrorKind, Timestamp};
use tessera_store::Tx;

/// Carries deliveries out: stream records to the Kinesis-compatible endpoint, push
/// notifications to the webhook.
#[async_trait::async_trait]
pub trait SyncSink: Send + Sync + 'static {
    async fn deliver(&self, delivery: &SyncDelivery) -> Result<(), String>;
}

/// How long a claimed delivery stays hidden from other couriers.
const LEASE: Duration = Duration::from_secs(60);
/// Attempts before a delivery is given up on (the backoff reaches its cap long before).
const MAX_ATTEMPTS: u32 = 30;
/// One successful bulk publish per day.
const BULK_PUBLISH_INTERVAL: Duration = Duration::from_secs(24 * 3600);

/// Sent or given-up deliveries are kept this long (for inspection), then swept.
const DONE_KEPT: Duration = Duration::from_secs(7 * 24 * 3600);
/// How far back a server-sent event feed can resume (`Last-Event-ID`).
const CHANGES_KEPT: Duration = Duration::from_secs(24 * 3600);

/// Sweeps old deliveries and change-feed rows (part of [`Engine::sweep`]).
pub(crate) async fn sweep(tx: &mut dyn Tx, now: Timestamp) -> EngineResult<u64> {
    Ok(tx
        .sweep_sync(now.minus(DONE_KEPT), now.minus(CHANGES_KEPT))
        .await?)
}

fn backoff(attempts: u32) -> Duration {
    Duration::from_secs(2u64.saturating_pow(attempts.min(9)).min(300))
}

/// A Cognito Streams record: one synchronisation of one dataset. Both `dataSetName` (the
/// documentation's spelling) and `datasetName` (what AWS's own consumer reads) are sent.
fn stream_record(d: &Dataset, records: &[SyncRecord], operation: &str) -> Value {
    let synced: Vec<Value> = records
        .iter()
        .map(|r| {
            json!({
                "key": r.key,
                "value": r.value,
                "syncCount": r.sync_count,
                "lastModifiedDate": r.modified_at.millis(),
                "deviceLastModifiedDate": r.device_modified_at.unwrap_or(r.modified_at).millis(),
                "op": if r.value.is_some() { "replace" } else { "remove" },
            })
        })
        .collect();
    json!({
        "identityPoolId": d.pool_id.as_str(),
        "identityId": d.identity_id.as_str(),
        "dataSetName": d.name,
        "datasetName": d.name,
        "operation": operation,
        "kinesisSyncRecords": synced,
        "lastModifiedDate": d.modified_at.millis(),
        "payloadType": "Inline",
        "syncCount": d.sync_count,
    })
}

/// The webhook body for one device: Cognito's push message, and the same data laid out for
/// each push service so a relay can forward its part unchanged.
fn push_message(config: &SyncPoolConfig, d: &Dataset, device: &SyncDevice) -> Value {
    let body = json!({
        "source": "cognito-sync",
        "identityPoolId": d.pool_id.as_str(),
        "identityId": d.identity_id.as_str(),
        "datasetName": d.name,
        "syncCount": d.sync_count.to_string(),
    });
    let service = device.platform.as_str();
    let application_arn = config.push_sync.as_ref().and_then(|p| {
        p.application_arns
            .iter()
            .find(|a| a.contains(&format!(":app/{service}/")))
            .or_else(|| p.application_arns.first())
            .cloned()
    });
    json!({
        "deviceId": device.device_id,
        "platform": device.platform,
        "token": device.token,
        "applicationArn": application_arn,
        "message": body,
        "gcm": {"data": body},
        "apns": {"aps": {"content-available": 1}, "data": body},
        "adm": {"data": body},
    })
}

fn delivery(
    kind: DeliveryKind,
    pool: &IdentityPoolId,
    payload: Value,
    now: Timestamp,
) -> SyncDelivery {
    SyncDelivery {
        id: crate::random_uuid().to_string(),
        kind,
        pool_id: pool.clone(),
        payload: payload.to_string(),
        created_at: now,
    }
}

/// The stream a stream delivery goes to, and its record.
pub fn stream_payload(stream: &str, partition_key: &str, record: Value) -> Value {
    json!({"streamName": stream, "partitionKey": partition_key, "record": record})
}

impl Engine {
    /// Records what a committed change sets off, inside its transaction.
    pub(crate) async fn after_sync_change(
        &self,
        tx: &mut dyn Tx,
        d: &Dataset,
        written: &[SyncRecord],
        device_id: Option<&str>,
    ) -> EngineResult<()> {
        let now = self.now();
        tx.insert_sync_change(&SyncChange {
            id: crate::random_uuid().to_string(),
            identity_id: d.identity_id.clone(),
            dataset: d.name.clone(),
            sync_count: d.sync_count,
            device_id: device_id.map(str::to_string),
            created_at: now,
        })
        .await?;
        let (config, _) = self.sync_config(tx, &d.pool_id).await?;
        if let Some(streams) = config.streams.as_ref().filter(|s| s.enabled())
            && let Some(name) = &streams.stream_name
        {
            let operation = if d.live { "replace" } else { "remove" };
            let record = stream_record(d, written, operation);
            let payload = stream_payload(name, d.identity_id.as_str(), record);
            tx.enqueue_sync_delivery(&delivery(DeliveryKind::Stream, &d.pool_id, payload, now))
                .await?;
        }
        // Other devices only: the one that made the change knows.
        for device in tx.dataset_subscribers(&d.identity_id, &d.name).await? {
            if Some(device.device_id.as_str()) == device_id {
                continue;
            }
            let payload = push_message(&config, d, &device);
            tx.enqueue_sync_delivery(&delivery(DeliveryKind::Push, &d.pool_id, payload, now))
                .await?;
        }
        Ok(())
    }

    /// Sends up to `limit` due deliveries; returns how many were delivered.
    pub async fn deliver_sync(&self, sink: &dyn SyncSink, limit: usize) -> EngineResult<usize> {
        let now = self.now();
        let claimed = {
            let mut tx = self.inner.store.begin().await?;
            let claimed = tx
                .claim_sync_deliveries(now, now.plus(LEASE), limit)
                .await?;
            tx.commit().await?;
            claimed
        };
        let mut delivered = 0;
        for (d, attempts) in claimed {
            let outcome = match sink.deliver(&d).await {
                Ok(()) => {
                    delivered += 1;
                    SyncDeliveryOutcome::Delivered
                }
                Err(error) if attempts >= MAX_ATTEMPTS => {
                    tracing::warn!(id = %d.id, kind = d.kind.as_str(), %error, "sync delivery given up");
                    SyncDeliveryOutcome::Failed { error }
                }
                Err(error) => {
                    tracing::info!(id = %d.id, kind = d.kind.as_str(), %error, attempts, "sync delivery failed; will retry");
                    SyncDeliveryOutcome::Retry {
                        at: self.now().plus(backoff(attempts)),
                        error,
                    }
                }
            };
            let mut tx = self.inner.store.begin().await?;
            tx.record_sync_delivery(&d.id, &outcome).await?;
            tx.commit().await?;
        }
        Ok(delivered)
    }

    /// BulkPublish: queues one stream record per live dataset of the pool, once a day.
    pub async fn bulk_publish(
        &self,
        caller: &SyncCaller,
        pool_id: &str,
    ) -> EngineResult<IdentityPoolId> {
        let now = self.now();
        let mut tx = self.inner.store.begin().await?;
        let pool = self
            .sync_pool(&mut *tx, caller, pool_id, Access::Developer)
            .await?;
        let (mut config, _) = self.sync_config(&mut *tx, &pool.id).await?;
        let Some(stream) = config
            .streams
            .as_ref()
            .filter(|s| s.enabled())
            .and_then(|s| s.stream_name.clone())
        else {
            return Err(DomainError::invalid_parameter(
                "Cognito Streams are not enabled for this identity pool.",
            )
            .into());
        };
        match &config.bulk_publish {
            Some(b) if b.status == BulkPublishStatus::InProgress => {
                return Err(DomainError::new(
                    ErrorKind::DuplicateRequest,
                    "A bulk publish is already in progress for this identity pool.",
                )
                .into());
            }
            Some(b)
                if b.status == BulkPublishStatus::Succeeded
                    && now < b.started_at.plus(BULK_PUBLISH_INTERVAL) =>
            {
                return Err(DomainError::new(
                    ErrorKind::AlreadyStreamed,
                    "This identity pool was bulk published within the last 24 hours.",
                )
                .into());
            }
            _ => {}
        }
        let mut after = None;
        loop {
            let identities = tx.list_identities(&pool.id, after.as_ref(), 100).await?;
            let Some(last) = identities.last() else { break };
            after = Some(last.id.clone());
            for identity in identities {
                let mut from: Option<String> = None;
                loop {
                    let datasets = tx.list_datasets(&identity.id, from.as_deref(), 64).await?;
                    let Some(last) = datasets.last() else { break };
                    from = Some(last.name.clone());
                    for d in datasets {
                        let records: Vec<SyncRecord> = tx
                            .dataset_records(&identity.id, &d.name, 0)
                            .await?
                            .into_iter()
                            .filter(|r| r.value.is_some())
                            .collect();
                        let record = stream_record(&d, &records, "replace");
                        let payload = stream_payload(&stream, identity.id.as_str(), record);
                        tx.enqueue_sync_delivery(&delivery(
                            DeliveryKind::Stream,
                            &pool.id,
                            payload,
                            now,
                        ))
                        .await?;
                    }
                }
            }
        }
        // Queued durably in this transaction: the courier delivers them whatever happens next.
        config.bulk_publish = Some(BulkPublish {
            status: BulkPublishStatus::Succeeded,
            started_at: now,
            completed_at: Some(now),
            failure: None,
        });
        tx.put_sync_config(&pool.id, &config).await?;
        tx.commit().await?;
        Ok(pool.id)
    }
}

/// One change as the event feed sends it: its id (`{millis}.{id}`, what `Last-Event-ID`
/// resumes from) and Cognito's push message body.
pub struct ChangeEvent {
    pub id: String,
    pub body: Value,
}

impl Engine {
    /// The identity whose change feed the caller may read.
    pub async fn sync_feed_identity(
        &self,
        caller: &SyncCaller,
        pool_id: &str,
        identity_id: &str,
    ) -> EngineResult<tessera_domain::identity::Identity> {
        let mut tx = self.inner.store.read().await?;
        self.identity_data(&mut *tx, caller, pool_id, identity_id)
            .await
    }

    /// Changes after `after` (an event id), for `device` (its subscriptions, not its own
    /// changes) or for every dataset.
    pub async fn sync_changes(
        &self,
        identity: &tessera_domain::identity::Identity,
        after: Option<&str>,
        device: Option<&str>,
        limit: usize,
    ) -> EngineResult<(Vec<ChangeEvent>, Option<String>)> {
        let cursor = after.and_then(|a| {
            let (ms, id) = a.split_once('.')?;
            Some((Timestamp::from_millis(ms.parse().ok()?), id.to_string()))
        });
        let mut tx = self.inner.store.read().await?;
        let changes = tx
            .sync_changes_after(
                &identity.id,
                cursor.as_ref().map(|(t, id)| (*t, id.as_str())),
                limit,
            )
            .await?;
        let last = changes
            .last()
            .map(|c| format!("{}.{}", c.created_at.millis(), c.id));
        let mut events = Vec::new();
        for c in changes {
            if let Some(device) = device {
                if c.device_id.as_deref() == Some(device) {
                    continue;
                }
                let subscribed = tx
                    .dataset_subscribers(&identity.id, &c.dataset)
                    .await?
                    .iter()
                    .any(|d| d.device_id == device);
                if !subscribed {
                    continue;
                }
            }
            events.push(ChangeEvent {
                id: format!("{}.{}", c.created_at.millis(), c.id),
                body: json!({
                    "source": "cognito-sync",
                    "identityPoolId": identity.pool_id.as_str(),
                    "identityId": identity.id.as_str(),
                    "datasetName": c.dataset,
                    "syncCount": c.sync_count.to_string(),
                }),
            });
        }
        Ok((events, last.or_else(|| after.map(str::to_string))))
    }
}
