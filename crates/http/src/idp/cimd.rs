//! CreateCIMDPolicy, DescribeCIMDPolicy, UpdateCIMDPolicy, DeleteCIMDPolicy, ListCIMDPolicies,
//! ListClientMetadataURLs, UpdateClientMetadataURLState.

use super::{ApiResult, pool_id, ts};
use crate::AppState;
use std::sync::Arc;
use tessera_engine::{CimdCacheAction, CimdPolicyView};
use tessera_wire::idp as wire;

fn policy_out(v: CimdPolicyView) -> wire::CIMDPolicyType {
    let p = v.policy;
    wire::CIMDPolicyType {
        cimd_policy_id: p.id,
        cache_duration: Some(i64::from(p.cache_seconds)),
        client_id: v.client_exists.then(|| p.client_id.to_string()),
        creation_date: Some(ts(p.created_at)),
        last_modified_date: Some(ts(p.modified_at)),
        policy_name: p.name,
        url_patterns: Some(p.url_patterns),
        user_pool_id: p.pool_id.to_string(),
    }
}

/// CacheDuration within the model's range (the wire layer has checked it).
fn cache_seconds(d: Option<i64>) -> Option<u32> {
    d.and_then(|d| u32::try_from(d).ok())
}

fn limit(max_results: Option<i64>) -> Option<usize> {
    max_results.and_then(|n| usize::try_from(n).ok())
}

pub async fn create_cimd_policy(
    state: Arc<AppState>,
    req: wire::CreateCIMDPolicyRequest,
) -> ApiResult<wire::CreateCIMDPolicyResponse> {
    let policy = state
        .engine
        .create_cimd_policy(
            &pool_id(&req.user_pool_id)?,
            &req.client_id,
            req.policy_name,
            cache_seconds(req.cache_duration),
            req.url_patterns,
        )
        .await?;
    Ok(wire::CreateCIMDPolicyResponse {
        cimd_policy: policy_out(policy),
    })
}

pub async fn describe_cimd_policy(
    state: Arc<AppState>,
    req: wire::DescribeCIMDPolicyRequest,
) -> ApiResult<wire::DescribeCIMDPolicyResponse> {
    let policy = state
        .engine
        .describe_cimd_policy(&pool_id(&req.user_pool_id)?, &req.cimd_policy_id)
        .await?;
    Ok(wire::DescribeCIMDPolicyResponse {
        cimd_policy: policy_out(policy),
    })
}

pub async fn update_cimd_policy(
    state: Arc<AppState>,
    req: wire::UpdateCIMDPolicyRequest,
) -> ApiResult<wire::UpdateCIMDPolicyResponse> {
    let policy = state
        .engine
        .update_cimd_policy(
            &pool_id(&req.user_pool_id)?,
            &req.cimd_policy_id,
            &req.client_id,
            req.policy_name,
            cache_seconds(req.cache_duration),
            req.url_patterns,
        )
        .await?;
    Ok(wire::UpdateCIMDPolicyResponse {
        cimd_policy: policy_out(policy),
    })
}

pub async fn delete_cimd_policy(
    state: Arc<AppState>,
    req: wire::DeleteCIMDPolicyRequest,
) -> ApiResult<serde_json::Value> {
    state
        .engine
        .delete_cimd_policy(&pool_id(&req.user_pool_id)?, &req.cimd_policy_id)
        .await?;
    Ok(serde_json::json!({}))
}

pub async fn list_cimd_policies(
    state: Arc<AppState>,
    req: wire::ListCIMDPoliciesRequest,
) -> ApiResult<wire::ListCIMDPoliciesResponse> {
    let page = state
        .engine
        .list_cimd_policies(
            &pool_id(&req.user_pool_id)?,
            limit(req.max_results),
            req.next_token.as_deref(),
        )
        .await?;
    Ok(wire::ListCIMDPoliciesResponse {
        cimd_policies: page
            .policies
            .into_iter()
            .map(|v| {
                let p = policy_out(v);
                wire::CIMDPolicySummaryType {
                    cimd_policy_id: p.cimd_policy_id,
                    cache_duration: p.cache_duration,
                    client_id: p.client_id,
                    creation_date: p.creation_date,
                    last_modified_date: p.last_modified_date,
                    policy_name: p.policy_name,
                }
            })
            .collect(),
        next_token: page.next_token,
    })
}

pub async fn list_client_metadata_urls(
    state: Arc<AppState>,
    req: wire::ListClientMetadataURLsRequest,
) -> ApiResult<wire::ListClientMetadataURLsResponse> {
    let page = state
        .engine
        .list_client_metadata_urls(
            &pool_id(&req.user_pool_id)?,
            &req.cimd_policy_id,
            limit(req.max_results),
            req.next_token.as_deref(),
        )
        .await?;
    Ok(wire::ListClientMetadataURLsResponse {
        client_metadata_urls: page
            .documents
            .into_iter()
            .map(|d| wire::ClientMetadataURLType {
                cached_date: Some(ts(d.cached_at)),
                expiration_date: Some(ts(d.expires_at)),
                url: d.url,
            })
            .collect(),
        next_token: page.next_token,
    })
}

pub async fn update_client_metadata_url_state(
    state: Arc<AppState>,
    req: wire::UpdateClientMetadataURLStateRequest,
) -> ApiResult<serde_json::Value> {
    let action = match req.action {
        wire::CIMDCacheActionType::Refresh => CimdCacheAction::Refresh,
        wire::CIMDCacheActionType::Invalidate => CimdCacheAction::Invalidate,
    };
    state
        .engine
        .update_client_metadata_url_state(
            &pool_id(&req.user_pool_id)?,
            &req.cimd_policy_id,
            &req.url,
            action,
        )
        .await?;
    Ok(serde_json::json!({}))
}
