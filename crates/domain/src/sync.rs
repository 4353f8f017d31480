//! Cognito Sync's data model and rules: datasets of key/value records per identity, the sync
//! counts the sync managers reconcile with, and the limits Cognito enforces.
//!
//! A dataset's sync count rises by exactly one with every accepted UpdateRecords, and every
//! record written by it carries that count, so a client that last saw count `n` asks for the
//! records above `n`. A deleted dataset leaves a tombstone holding its count (raised once more
//! for the deletion), so a re-created dataset numbers above every count a client has seen.
//! Removed records stay as tombstones (no value) for the same reason.

use crate::identity::{IdentityId, IdentityPoolId};
use crate::{DomainError, DomainResult, ErrorKind, Timestamp};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, BTreeSet};

/// Datasets per identity (Cognito's default limit; merged datasets count).
pub const MAX_DATASETS: u64 = 20;
/// Live records per dataset.
pub const MAX_RECORDS: usize = 1024;
/// UTF-8 bytes of keys and values of a dataset's live records.
pub const MAX_DATASET_BYTES: i64 = 1024 * 1024;

/// A dataset as stored: live, or the tombstone of a deleted one.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Dataset {
    pub pool_id: IdentityPoolId,
    pub identity_id: IdentityId,
    pub name: String,
    pub created_at: Timestamp,
    pub modified_at: Timestamp,
    /// The identity id, or the developer principal, that made the last change.
    pub last_modified_by: String,
    pub sync_count: i64,
    /// The count a deletion left (0 if never deleted): clients that synced below it are told.
    pub deleted_at_count: i64,
    /// False for the tombstone of a deleted dataset.
    pub live: bool,
    /// UTF-8 bytes of keys and values of the live records.
    pub data_storage: i64,
    pub num_records: i64,
}

/// One record as stored; `value` is None for a removed record (a tombstone).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncRecord {
    pub key: String,
    pub value: Option<String>,
    pub sync_count: i64,
    pub modified_at: Timestamp,
    pub last_modified_by: String,
    pub device_modified_at: Option<Timestamp>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum PatchOp {
    Replace,
    Remove,
}

/// One change UpdateRecords asks for.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RecordPatch {
    pub key: String,
    pub op: PatchOp,
    pub value: Option<String>,
    /// The record's count as the client last saw it (0 for a record it never saw).
    pub sync_count: i64,
    pub device_modified_at: Option<Timestamp>,
}

/// The bytes a record takes against the 1 MB limit (the sync managers' `computeRecordSize`).
pub fn record_size(key: &str, value: Option<&str>) -> i64 {
    (key.len() + value.map_or(0, str::len)) as i64
}

/// What an accepted UpdateRecords writes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Applied {
    pub dataset: Dataset,
    /// The records written, every one at the dataset's new count.
    pub written: Vec<SyncRecord>,
}

/// Who is writing, and where.
pub struct Writer<'a> {
    pub pool_id: &'a IdentityPoolId,
    pub identity_id: &'a IdentityId,
    pub dataset: &'a str,
    pub by: &'a str,
    pub now: Timestamp,
}

/// Checks every patch against the stored records and the limits, and computes what to write.
///
/// `existing` is the dataset row (live or tombstone), `records` its stored records (tombstones
/// included), `live_datasets` how many live datasets the identity has. Nothing here is partial:
/// any refusal means nothing is written.
pub fn apply_patches(
    w: &Writer<'_>,
    existing: Option<&Dataset>,
    records: &BTreeMap<String, SyncRecord>,
    patches: &[RecordPatch],
    live_datasets: u64,
) -> DomainResult<Applied> {
    let mut seen = BTreeSet::new();
    for p in patches {
        if !seen.insert(p.key.as_str()) {
            return Err(DomainError::invalid_parameter(format!(
                "Duplicate key in RecordPatches: {}",
                crate_echo(&p.key)
            )));
        }
        if p.op == PatchOp::Replace && p.value.is_none() {
            return Err(DomainError::invalid_parameter(format!(
                "Value is required to replace the record: {}",
                crate_echo(&p.key)
            )));
        }
        if p.sync_count < 0 {
            return Err(DomainError::invalid_parameter(format!(
                "SyncCount must not be negative for: {}",
                crate_echo(&p.key)
            )));
        }
    }
    // A stale count is a conflict: another device wrote the record since this one last saw it.
    for p in patches {
        let current = records.get(&p.key).map_or(0, |r| r.sync_count);
        if current != p.sync_count {
            return Err(DomainError::new(
                ErrorKind::ResourceConflict,
                format!(
                    "Current SyncCount for: {} is: {current} not: {}",
                    crate_echo(&p.key),
                    p.sync_count
                ),
            ));
        }
    }
    let live = existing.is_some_and(|d| d.live);
    if !live && live_datasets >= MAX_DATASETS {
        return Err(DomainError::new(
            ErrorKind::LimitExceeded,
            format!("Too many datasets for this identity: at most {MAX_DATASETS} are allowed."),
        ));
    }
    let count = existing.map_or(0, |d| d.sync_count) + 1;
    let written: Vec<SyncRecord> = patches
        .iter()
        .map(|p| SyncRecord {
            key: p.key.clone(),
            value: match p.op {
                PatchOp::Replace => p.value.clone(),
                PatchOp::Remove => None,
            },
            sync_count: count,
            modified_at: w.now,
            last_modified_by: w.by.to_string(),
            device_modified_at: p.device_modified_at,
        })
        .collect();
    let mut after: BTreeMap<&str, Option<&str>> = records
        .iter()
        .map(|(k, r)| (k.as_str(), r.value.as_deref()))
        .collect();
    for r in &written {
        after.insert(&r.key, r.value.as_deref());
    }
    let (num_records, data_storage) = after
        .iter()
        .filter_map(|(k, v)| v.map(|v| record_size(k, Some(v))))
        .fold((0i64, 0i64), |(n, s), size| (n + 1, s + size));
    if num_records as usize > MAX_RECORDS {
        return Err(DomainError::new(
            ErrorKind::LimitExceeded,
            format!("Too many records in the dataset: at most {MAX_RECORDS} are allowed."),
        ));
    }
    if data_storage > MAX_DATASET_BYTES {
        return Err(DomainError::new(
            ErrorKind::LimitExceeded,
            format!(
                "The dataset would hold {data_storage} bytes: at most {MAX_DATASET_BYTES} are allowed."
            ),
        ));
    }
    let dataset = Dataset {
        pool_id: w.pool_id.clone(),
        identity_id: w.identity_id.clone(),
        name: w.dataset.to_string(),
        created_at: match existing {
            Some(d) if d.live => d.created_at,
            _ => w.now,
        },
        modified_at: w.now,
        last_modified_by: w.by.to_string(),
        sync_count: count,
        deleted_at_count: existing.map_or(0, |d| d.deleted_at_count),
        live: true,
        data_storage,
        num_records,
    };
    Ok(Applied { dataset, written })
}

/// The tombstone a deletion leaves: no records, count raised once more.
pub fn deleted(dataset: &Dataset, by: &str, now: Timestamp) -> Dataset {
    let count = dataset.sync_count + 1;
    Dataset {
        modified_at: now,
        last_modified_by: by.to_string(),
        sync_count: count,
        deleted_at_count: count,
        live: false,
        data_storage: 0,
        num_records: 0,
        ..dataset.clone()
    }
}

/// What ListRecords says about the dataset for a client that last saw `last_sync_count`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ListView {
    pub exists: bool,
    pub sync_count: i64,
    /// The dataset was deleted after the count the client asked from.
    pub deleted_after: bool,
}

/// Refuses a count the dataset never reached, and says what the client must learn.
pub fn list_view(existing: Option<&Dataset>, last_sync_count: i64) -> DomainResult<ListView> {
    let count = existing.map_or(0, |d| d.sync_count);
    if last_sync_count < 0 || last_sync_count > count {
        return Err(DomainError::invalid_parameter(format!(
            "No such SyncCount: {last_sync_count} exists for this Dataset"
        )));
    }
    let deleted_at = existing.map_or(0, |d| d.deleted_at_count);
    Ok(ListView {
        exists: existing.is_some_and(|d| d.live),
        sync_count: count,
        deleted_after: 0 < last_sync_count && last_sync_count < deleted_at,
    })
}

/// The name a dataset of a merged-away identity takes under the identity it merged into.
pub fn merged_name(dataset: &str, source: &IdentityId) -> String {
    format!("{dataset}.{source}")
}

/// Whether `candidate` is a dataset merged into `dataset` (`{dataset}.{region}:{guid}`).
pub fn is_merged_into(candidate: &str, dataset: &str) -> bool {
    candidate
        .strip_prefix(dataset)
        .and_then(|rest| rest.strip_prefix('.'))
        .is_some_and(|id| IdentityId::parse(id).is_ok())
}

/// The SyncTrigger entry of SetCognitoEvents, the only event Cognito defines.
pub const SYNC_TRIGGER: &str = "SyncTrigger";

/// An identity pool's Cognito Sync settings: events, push sync, streams, bulk publish.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct SyncPoolConfig {
    #[serde(default)]
    pub events: BTreeMap<String, String>,
    #[serde(default)]
    pub push_sync: Option<PushSync>,
    #[serde(default)]
    pub streams: Option<CognitoStreams>,
    #[serde(default)]
    pub bulk_publish: Option<BulkPublish>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PushSync {
    pub application_arns: Vec<String>,
    pub role_arn: Option<String>,
}

#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct CognitoStreams {
    pub stream_name: Option<String>,
    pub role_arn: Option<String>,
    /// `ENABLED` or `DISABLED`.
    pub streaming_status: Option<String>,
}

impl CognitoStreams {
    pub fn enabled(&self) -> bool {
        self.streaming_status.as_deref() == Some("ENABLED") && self.stream_name.is_some()
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum BulkPublishStatus {
    InProgress,
    Succeeded,
    Failed,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BulkPublish {
    pub status: BulkPublishStatus,
    pub started_at: Timestamp,
    pub completed_at: Option<Timestamp>,
    pub failure: Option<String>,
}

/// A device registered for push sync (RegisterDevice).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncDevice {
    pub pool_id: IdentityPoolId,
    pub identity_id: IdentityId,
    pub device_id: String,
    /// `APNS`, `APNS_SANDBOX`, `GCM` or `ADM`.
    pub platform: String,
    pub token: String,
    pub created_at: Timestamp,
}

/// Usage figures of one identity or pool: live datasets, their bytes, the latest change.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Usage {
    pub dataset_count: i64,
    pub data_storage: i64,
    pub last_modified: Option<Timestamp>,
}

/// What a durable sync delivery carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum DeliveryKind {
    /// A Cognito Streams record for the Kinesis-compatible endpoint.
    Stream,
    /// A push notification for the push webhook.
    Push,
}

impl DeliveryKind {
    pub fn as_str(self) -> &'static str {
        match self {
            DeliveryKind::Stream => "stream",
            DeliveryKind::Push => "push",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "stream" => Some(DeliveryKind::Stream),
            "push" => Some(DeliveryKind::Push),
            _ => None,
        }
    }
}

/// One durable delivery: written with the change, sent by the courier with retries.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncDelivery {
    pub id: String,
    pub kind: DeliveryKind,
    pub pool_id: IdentityPoolId,
    /// The JSON document to send (a stream record, or a push webhook body).
    pub payload: String,
    pub created_at: Timestamp,
}

/// How a delivery attempt ended.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SyncDeliveryOutcome {
    Delivered,
    Retry { at: Timestamp, error: String },
    Failed { error: String },
}

/// A committed change to a dataset, as the server-sent event feed reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SyncChange {
    pub id: String,
    pub identity_id: IdentityId,
    pub dataset: String,
    pub sync_count: i64,
    /// The device that made the change (UpdateRecords' DeviceId), if it said.
    pub device_id: Option<String>,
    pub created_at: Timestamp,
}

fn crate_echo(s: &str) -> String {
    s.chars().take(256).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ids() -> (IdentityPoolId, IdentityId) {
        (
            IdentityPoolId::parse("us-east-1:11111111-1111-1111-1111-111111111111").unwrap(),
            IdentityId::parse("us-east-1:22222222-2222-2222-2222-222222222222").unwrap(),
        )
    }

    fn patch(key: &str, value: Option<&str>, count: i64) -> RecordPatch {
        RecordPatch {
            key: key.into(),
            op: if value.is_some() {
                PatchOp::Replace
            } else {
                PatchOp::Remove
            },
            value: value.map(Into::into),
            sync_count: count,
            device_modified_at: None,
        }
    }

    fn apply(
        existing: Option<&Dataset>,
        records: &BTreeMap<String, SyncRecord>,
        patches: &[RecordPatch],
        live: u64,
    ) -> DomainResult<Applied> {
        let (p, i) = ids();
        let w = Writer {
            pool_id: &p,
            identity_id: &i,
            dataset: "prefs",
            by: i.as_str(),
            now: Timestamp::from_millis(5_000),
        };
        apply_patches(&w, existing, records, patches, live)
    }

    fn stored(applied: &Applied) -> BTreeMap<String, SyncRecord> {
        applied
            .written
            .iter()
            .map(|r| (r.key.clone(), r.clone()))
            .collect()
    }

    #[test]
    fn one_update_raises_the_count_by_one_for_every_record() {
        let a = apply(
            None,
            &BTreeMap::new(),
            &[patch("a", Some("1"), 0), patch("b", Some("22"), 0)],
            0,
        )
        .unwrap();
        assert_eq!(a.dataset.sync_count, 1);
        assert!(a.written.iter().all(|r| r.sync_count == 1));
        assert_eq!((a.dataset.num_records, a.dataset.data_storage), (2, 5));
        let b = apply(Some(&a.dataset), &stored(&a), &[patch("a", None, 1)], 1).unwrap();
        assert_eq!(b.dataset.sync_count, 2);
        assert_eq!((b.dataset.num_records, b.dataset.data_storage), (1, 3));
        assert_eq!(b.written[0].value, None);
    }

    #[test]
    fn a_stale_count_is_a_conflict_naming_both_counts() {
        let a = apply(None, &BTreeMap::new(), &[patch("user", Some("x"), 0)], 0).unwrap();
        let e = apply(
            Some(&a.dataset),
            &stored(&a),
            &[patch("user", Some("y"), 0)],
            1,
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::ResourceConflict);
        assert_eq!(e.message, "Current SyncCount for: user is: 1 not: 0");
    }

    #[test]
    fn duplicates_and_valueless_replaces_are_refused() {
        let e = apply(
            None,
            &BTreeMap::new(),
            &[patch("a", Some("1"), 0), patch("a", Some("2"), 0)],
            0,
        )
        .unwrap_err();
        assert_eq!(e.kind, ErrorKind::InvalidParameter);
        let mut p = patch("a", None, 0);
        p.op = PatchOp::Replace;
        assert_eq!(
            apply(None, &BTreeMap::new(), &[p], 0).unwrap_err().kind,
            ErrorKind::InvalidParameter
        );
    }

    #[test]
    fn limits_hold() {
        let e = apply(None, &BTreeMap::new(), &[patch("a", Some("1"), 0)], 20).unwrap_err();
        assert_eq!(e.kind, ErrorKind::LimitExceeded);
        let big = "x".repeat(MAX_DATASET_BYTES as usize);
        let e = apply(None, &BTreeMap::new(), &[patch("a", Some(&big), 0)], 0).unwrap_err();
        assert_eq!(e.kind, ErrorKind::LimitExceeded);
        let many: Vec<RecordPatch> = (0..=MAX_RECORDS)
            .map(|i| patch(&format!("k{i}"), Some("v"), 0))
            .collect();
        let e = apply(None, &BTreeMap::new(), &many, 0).unwrap_err();
        assert_eq!(e.kind, ErrorKind::LimitExceeded);
    }

    #[test]
    fn deletion_leaves_a_tombstone_that_counts_on() {
        let a = apply(None, &BTreeMap::new(), &[patch("a", Some("1"), 0)], 0).unwrap();
        let gone = deleted(&a.dataset, "me", Timestamp::from_millis(6_000));
        assert_eq!((gone.sync_count, gone.live), (2, false));
        let v = list_view(Some(&gone), 1).unwrap();
        assert!(v.deleted_after && !v.exists);
        assert!(!list_view(Some(&gone), 0).unwrap().deleted_after);
        let again = apply(
            Some(&gone),
            &BTreeMap::new(),
            &[patch("a", Some("2"), 0)],
            0,
        )
        .unwrap();
        assert_eq!(again.dataset.sync_count, 3);
        assert!(list_view(Some(&again.dataset), 1).unwrap().deleted_after);
        let e = list_view(Some(&again.dataset), 4).unwrap_err();
        assert_eq!(e.message, "No such SyncCount: 4 exists for this Dataset");
    }

    #[test]
    fn merged_names_are_recognised() {
        let (_, i) = ids();
        let name = merged_name("prefs", &i);
        assert!(is_merged_into(&name, "prefs"));
        assert!(!is_merged_into("prefs.other", "prefs"));
        assert!(!is_merged_into(&name, "pref"));
    }
}
