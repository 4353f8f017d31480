//! Initiate, Describe, List, Start and CancelPointInTimeRecovery: restoring a pool's user data
//! to a past point (see `tessera_engine::recovery`).

use super::{ApiResult, pool_id, ts};
use crate::AppState;
use std::sync::Arc;
use tessera_domain::recovery::{Recovery, RestoreStatus};
use tessera_domain::{DomainError, Timestamp};
use tessera_wire::idp as wire;
use uuid::Uuid;

fn status_out(s: RestoreStatus) -> wire::RestoreStatusType {
    match s {
        RestoreStatus::PreviewGenerating => wire::RestoreStatusType::PreviewGenerating,
        RestoreStatus::PreviewGenerated => wire::RestoreStatusType::PreviewGenerated,
        RestoreStatus::PreviewCancelled => wire::RestoreStatusType::PreviewCancelled,
        RestoreStatus::PreviewGenerationFailed => wire::RestoreStatusType::PreviewGenerationFailed,
        RestoreStatus::PreviewExpired => wire::RestoreStatusType::PreviewExpired,
        RestoreStatus::Restoring => wire::RestoreStatusType::Restoring,
        RestoreStatus::RestoreCompleted => wire::RestoreStatusType::RestoreCompleted,
    }
}

fn restoration_out(r: Recovery) -> wire::RestorationType {
    wire::RestorationType {
        restore_id: Some(r.restore_id.to_string()),
        restore_status: Some(status_out(r.status)),
        restore_timestamp: Some(ts(r.restore_timestamp)),
        trigger_timestamp: Some(ts(r.trigger_timestamp)),
        restore_preview: r.preview.map(|rows| {
            rows.into_iter()
                .map(|p| wire::RestorePreviewType {
                    entity: Some(p.entity),
                    create_count: Some(i64::try_from(p.create).unwrap_or(i64::MAX)),
                    update_count: Some(i64::try_from(p.update).unwrap_or(i64::MAX)),
                    delete_count: Some(i64::try_from(p.delete).unwrap_or(i64::MAX)),
                })
                .collect()
        }),
    }
}

/// The model's pattern has let only a lowercase UUID through already.
fn restore_id(s: &str) -> ApiResult<Uuid> {
    Uuid::parse_str(s)
        .map_err(|_| DomainError::invalid_parameter("RestoreId is not a valid id.").into())
}

pub async fn initiate_point_in_time_recovery(
    state: Arc<AppState>,
    req: wire::InitiatePointInTimeRecoveryRequest,
) -> ApiResult<wire::InitiatePointInTimeRecoveryResponse> {
    let at = Timestamp::from_millis((req.restore_timestamp.0 * 1000.0).round() as i64);
    let r = state
        .engine
        .initiate_point_in_time_recovery(&pool_id(&req.user_pool_id)?, at)
        .await?;
    Ok(wire::InitiatePointInTimeRecoveryResponse {
        restoration: Some(restoration_out(r)),
    })
}

pub async fn describe_point_in_time_recovery(
    state: Arc<AppState>,
    req: wire::DescribePointInTimeRecoveryRequest,
) -> ApiResult<wire::DescribePointInTimeRecoveryResponse> {
    let r = state
        .engine
        .describe_point_in_time_recovery(
            &pool_id(&req.user_pool_id)?,
            &restore_id(&req.restore_id)?,
        )
        .await?;
    Ok(wire::DescribePointInTimeRecoveryResponse {
        restoration: Some(restoration_out(r)),
    })
}

pub async fn list_point_in_time_recoveries(
    state: Arc<AppState>,
    req: wire::ListPointInTimeRecoveriesRequest,
) -> ApiResult<wire::ListPointInTimeRecoveriesResponse> {
    let limit = req.max_results.map(|n| n as usize).unwrap_or(60);
    let page = state
        .engine
        .list_point_in_time_recoveries(
            &pool_id(&req.user_pool_id)?,
            limit,
            req.next_token.as_deref(),
        )
        .await?;
    Ok(wire::ListPointInTimeRecoveriesResponse {
        restorations: Some(
            page.recoveries
                .into_iter()
                .map(|r| wire::RestorationDescriptionType {
                    restore_id: Some(r.restore_id.to_string()),
                    restore_status: Some(status_out(r.status)),
                    restore_timestamp: Some(ts(r.restore_timestamp)),
                })
                .collect(),
        ),
        next_token: page.next_token,
    })
}

pub async fn start_point_in_time_recovery(
    state: Arc<AppState>,
    req: wire::StartPointInTimeRecoveryRequest,
) -> ApiResult<wire::StartPointInTimeRecoveryResponse> {
    let r = state
        .engine
        .start_point_in_time_recovery(&pool_id(&req.user_pool_id)?, &restore_id(&req.restore_id)?)
        .await?;
    Ok(wire::StartPointInTimeRecoveryResponse {
        restoration: Some(restoration_out(r)),
    })
}

pub async fn cancel_point_in_time_recovery(
    state: Arc<AppState>,
    req: wire::CancelPointInTimeRecoveryRequest,
) -> ApiResult<wire::CancelPointInTimeRecoveryResponse> {
    let r = state
        .engine
        .cancel_point_in_time_recovery(&pool_id(&req.user_pool_id)?, &restore_id(&req.restore_id)?)
        .await?;
    Ok(wire::CancelPointInTimeRecoveryResponse {
        restoration: Some(restoration_out(r)),
    })
}
