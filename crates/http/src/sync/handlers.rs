//! One function per Cognito Sync operation: wire shapes in, engine call, wire shapes out.

use crate::AppState;
use crate::error::ApiError;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use tessera_domain::sync::{self as dom, PatchOp};
use tessera_engine::sync::{ListRecords, SyncCaller, UpdateRecords};
use tessera_wire::Timestamp as WireTime;
use tessera_wire::sync as w;

/// Every operation [`run`] serves.
pub const OPERATIONS: &[&str] = &[
    "ListIdentityPoolUsage",
    "DescribeIdentityPoolUsage",
    "DescribeIdentityUsage",
    "ListDatasets",
    "DescribeDataset",
    "ListRecords",
    "UpdateRecords",
    "DeleteDataset",
    "GetCognitoEvents",
    "SetCognitoEvents",
    "GetIdentityPoolConfiguration",
    "SetIdentityPoolConfiguration",
    "RegisterDevice",
    "SubscribeToDataset",
    "UnsubscribeFromDataset",
    "GetBulkPublishDetails",
    "BulkPublish",
];

fn decode<T: DeserializeOwned>(input: Value) -> Result<T, ApiError> {
    serde_json::from_value(input)
        .map_err(|e| ApiError::bad_request("SerializationException", e.to_string()))
}

fn encode<T: Serialize>(out: T) -> Result<Value, ApiError> {
    serde_json::to_value(out).map_err(|e| {
        tracing::error!(error = %e, "response encoding failed");
        ApiError::internal()
    })
}

fn time(t: tessera_domain::Timestamp) -> WireTime {
    WireTime::from_millis(t.millis())
}

fn dataset(d: dom::Dataset) -> w::Dataset {
    w::Dataset {
        creation_date: Some(time(d.created_at)),
        data_storage: Some(d.data_storage),
        dataset_name: Some(d.name),
        identity_id: Some(d.identity_id.to_string()),
        last_modified_by: Some(d.last_modified_by),
        last_modified_date: Some(time(d.modified_at)),
        num_records: Some(d.num_records),
    }
}

fn record(r: dom::SyncRecord) -> w::Record {
    w::Record {
        device_last_modified_date: r.device_modified_at.map(time),
        key: Some(r.key),
        last_modified_by: Some(r.last_modified_by),
        last_modified_date: Some(time(r.modified_at)),
        sync_count: Some(r.sync_count),
        value: r.value,
    }
}

fn push_sync(p: dom::PushSync) -> w::PushSync {
    w::PushSync {
        application_arns: Some(p.application_arns),
        role_arn: p.role_arn,
    }
}

fn streams(s: dom::CognitoStreams) -> w::CognitoStreams {
    w::CognitoStreams {
        role_arn: s.role_arn,
        stream_name: s.stream_name,
        streaming_status: s
            .streaming_status
            .as_deref()
            .and_then(w::StreamingStatus::parse),
    }
}

/// Runs operation `op` on its validated input.
pub async fn run(
    state: &AppState,
    caller: &SyncCaller,
    op: &str,
    input: Value,
) -> Result<Value, ApiError> {
    let engine = &state.engine;
    match op {
        "ListIdentityPoolUsage" => {
            let r: w::ListIdentityPoolUsageRequest = decode(input)?;
            let limit = match r.max_results {
                Some(n) if n > 0 => (n as usize).min(60),
                _ => 60,
            };
            let page = engine
                .list_identity_pool_usage(caller, r.next_token.as_deref(), limit)
                .await?;
            let usages: Vec<w::IdentityPoolUsage> =
                page.usages.into_iter().map(pool_usage).collect();
            encode(w::ListIdentityPoolUsageResponse {
                count: Some(usages.len() as i64),
                identity_pool_usages: Some(usages),
                max_results: Some(limit as i64),
                next_token: page.next.map(|p| p.to_string()),
            })
        }
        "DescribeIdentityPoolUsage" => {
            let r: w::DescribeIdentityPoolUsageRequest = decode(input)?;
            let usage = engine
                .describe_identity_pool_usage(caller, &r.identity_pool_id)
                .await?;
            encode(w::DescribeIdentityPoolUsageResponse {
                identity_pool_usage: Some(pool_usage(usage)),
            })
        }
        "DescribeIdentityUsage" => {
            let r: w::DescribeIdentityUsageRequest = decode(input)?;
            let (identity, usage) = engine
                .describe_identity_usage(caller, &r.identity_pool_id, &r.identity_id)
                .await?;
            encode(w::DescribeIdentityUsageResponse {
                identity_usage: Some(w::IdentityUsage {
                    data_storage: Some(usage.data_storage),
                    dataset_count: Some(usage.dataset_count),
                    identity_id: Some(identity.id.to_string()),
                    identity_pool_id: Some(identity.pool_id.to_string()),
                    last_modified_date: Some(time(
                        usage.last_modified.unwrap_or(identity.modified_at),
                    )),
                }),
            })
        }
        "ListDatasets" => {
            let r: w::ListDatasetsRequest = decode(input)?;
            let (datasets, next) = engine
                .list_datasets(
                    caller,
                    &r.identity_pool_id,
                    &r.identity_id,
                    r.next_token.as_deref(),
                    r.max_results,
                )
                .await?;
            let datasets: Vec<w::Dataset> = datasets.into_iter().map(dataset).collect();
            encode(w::ListDatasetsResponse {
                count: Some(datasets.len() as i64),
                datasets: Some(datasets),
                next_token: next,
            })
        }
        "DescribeDataset" => {
            let r: w::DescribeDatasetRequest = decode(input)?;
            let d = engine
                .describe_dataset(caller, &r.identity_pool_id, &r.identity_id, &r.dataset_name)
                .await?;
            encode(w::DescribeDatasetResponse {
                dataset: Some(dataset(d)),
            })
        }
        "DeleteDataset" => {
            let r: w::DeleteDatasetRequest = decode(input)?;
            let d = engine
                .delete_dataset(caller, &r.identity_pool_id, &r.identity_id, &r.dataset_name)
                .await?;
            encode(w::DeleteDatasetResponse {
                dataset: Some(dataset(d)),
            })
        }
        "ListRecords" => {
            let r: w::ListRecordsRequest = decode(input)?;
            let page = engine
                .list_records(
                    caller,
                    ListRecords {
                        pool_id: &r.identity_pool_id,
                        identity_id: &r.identity_id,
                        dataset: &r.dataset_name,
                        last_sync_count: r.last_sync_count,
                        next_token: r.next_token.as_deref(),
                        max_results: r.max_results,
                    },
                )
                .await?;
            let records: Vec<w::Record> = page.records.into_iter().map(record).collect();
            encode(w::ListRecordsResponse {
                count: Some(records.len() as i64),
                dataset_deleted_after_requested_sync_count: Some(page.deleted_after),
                dataset_exists: Some(page.exists),
                dataset_sync_count: Some(page.dataset_sync_count),
                last_modified_by: page.last_modified_by,
                merged_dataset_names: (!page.merged.is_empty()).then_some(page.merged),
                next_token: page.next,
                records: Some(records),
                sync_session_token: Some(page.token),
            })
        }
        "UpdateRecords" => {
            let r: w::UpdateRecordsRequest = decode(input)?;
            let patches = r
                .record_patches
                .unwrap_or_default()
                .into_iter()
                .map(|p| dom::RecordPatch {
                    key: p.key,
                    op: match p.op {
                        w::Operation::Replace => PatchOp::Replace,
                        w::Operation::Remove => PatchOp::Remove,
                    },
                    value: p.value,
                    sync_count: p.sync_count,
                    device_modified_at: p
                        .device_last_modified_date
                        .map(|t| tessera_domain::Timestamp::from_millis((t.0 * 1000.0) as i64)),
                })
                .collect();
            let written = engine
                .update_records(
                    caller,
                    UpdateRecords {
                        pool_id: &r.identity_pool_id,
                        identity_id: &r.identity_id,
                        dataset: &r.dataset_name,
                        device_id: r.device_id.as_deref(),
                        patches,
                        token: &r.sync_session_token,
                    },
                )
                .await?;
            encode(w::UpdateRecordsResponse {
                records: Some(written.into_iter().map(record).collect()),
            })
        }
        "GetCognitoEvents" => {
            let r: w::GetCognitoEventsRequest = decode(input)?;
            let events = engine
                .get_cognito_events(caller, &r.identity_pool_id)
                .await?;
            encode(w::GetCognitoEventsResponse {
                events: Some(events),
            })
        }
        "SetCognitoEvents" => {
            let r: w::SetCognitoEventsRequest = decode(input)?;
            engine
                .set_cognito_events(caller, &r.identity_pool_id, &r.events)
                .await?;
            Ok(Value::Object(Default::default()))
        }
        "GetIdentityPoolConfiguration" => {
            let r: w::GetIdentityPoolConfigurationRequest = decode(input)?;
            let (id, config) = engine
                .get_identity_pool_configuration(caller, &r.identity_pool_id)
                .await?;
            encode(w::GetIdentityPoolConfigurationResponse {
                cognito_streams: config.streams.map(streams),
                identity_pool_id: Some(id.to_string()),
                push_sync: config.push_sync.map(push_sync),
            })
        }
        "SetIdentityPoolConfiguration" => {
            let r: w::SetIdentityPoolConfigurationRequest = decode(input)?;
            let (id, config) = engine
                .set_identity_pool_configuration(
                    caller,
                    &r.identity_pool_id,
                    r.push_sync.map(|p| dom::PushSync {
                        application_arns: p.application_arns.unwrap_or_default(),
                        role_arn: p.role_arn,
                    }),
                    r.cognito_streams.map(|s| dom::CognitoStreams {
                        stream_name: s.stream_name,
                        role_arn: s.role_arn,
                        streaming_status: s.streaming_status.map(|s| s.as_str().to_string()),
                    }),
                )
                .await?;
            encode(w::SetIdentityPoolConfigurationResponse {
                cognito_streams: config.streams.map(streams),
                identity_pool_id: Some(id.to_string()),
                push_sync: config.push_sync.map(push_sync),
            })
        }
        "RegisterDevice" => {
            let r: w::RegisterDeviceRequest = decode(input)?;
            let id = engine
                .register_device(
                    caller,
                    &r.identity_pool_id,
                    &r.identity_id,
                    r.platform.as_str(),
                    &r.token,
                )
                .await?;
            encode(w::RegisterDeviceResponse {
                device_id: Some(id),
            })
        }
        "SubscribeToDataset" | "UnsubscribeFromDataset" => {
            let r: w::SubscribeToDatasetRequest = decode(input)?;
            engine
                .subscribe_to_dataset(
                    caller,
                    &r.identity_pool_id,
                    &r.identity_id,
                    &r.dataset_name,
                    &r.device_id,
                    op == "SubscribeToDataset",
                )
                .await?;
            Ok(Value::Object(Default::default()))
        }
        "BulkPublish" => {
            let r: w::BulkPublishRequest = decode(input)?;
            let id = engine.bulk_publish(caller, &r.identity_pool_id).await?;
            encode(w::BulkPublishResponse {
                identity_pool_id: Some(id.to_string()),
            })
        }
        "GetBulkPublishDetails" => {
            let r: w::GetBulkPublishDetailsRequest = decode(input)?;
            let (id, d) = engine
                .get_bulk_publish_details(caller, &r.identity_pool_id)
                .await?;
            encode(w::GetBulkPublishDetailsResponse {
                bulk_publish_complete_time: d.completed_at.map(time),
                bulk_publish_start_time: d.started_at.map(time),
                bulk_publish_status: w::BulkPublishStatus::parse(d.status),
                failure_message: d.failure,
                identity_pool_id: Some(id.to_string()),
            })
        }
        other => Err(ApiError::bad_request(
            "UnsupportedOperationException",
            format!("Tessera does not implement {other} yet."),
        )),
    }
}

fn pool_usage(u: tessera_engine::sync::PoolUsage) -> w::IdentityPoolUsage {
    w::IdentityPoolUsage {
        data_storage: Some(u.usage.data_storage),
        identity_pool_id: Some(u.pool_id.to_string()),
        last_modified_date: u.usage.last_modified.map(time),
        sync_sessions_count: u.sync_sessions,
    }
}
