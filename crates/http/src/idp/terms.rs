//! CreateTerms, DescribeTerms, DescribeTermsByClient, UpdateTerms, DeleteTerms, ListTerms.

use super::{ApiResult, pool_id, ts};
use crate::AppState;
use std::sync::Arc;
use tessera_domain::terms::Terms;
use tessera_wire::idp as wire;

fn terms_out(t: Terms) -> wire::TermsType {
    wire::TermsType {
        client_id: t.client_id.to_string(),
        creation_date: ts(t.created_at),
        enforcement: wire::TermsEnforcementType::None,
        last_modified_date: ts(t.modified_at),
        links: t.links,
        terms_id: t.id.to_string(),
        terms_name: t.kind.as_str().to_string(),
        terms_source: wire::TermsSourceType::Link,
        user_pool_id: t.pool_id.to_string(),
    }
}

pub async fn create_terms(
    state: Arc<AppState>,
    req: wire::CreateTermsRequest,
) -> ApiResult<wire::CreateTermsResponse> {
    let terms = state
        .engine
        .create_terms(
            &pool_id(&req.user_pool_id)?,
            &req.client_id,
            &req.terms_name,
            req.links,
        )
        .await?;
    Ok(wire::CreateTermsResponse {
        terms: Some(terms_out(terms)),
    })
}

pub async fn describe_terms(
    state: Arc<AppState>,
    req: wire::DescribeTermsRequest,
) -> ApiResult<wire::DescribeTermsResponse> {
    let terms = state
        .engine
        .describe_terms(&pool_id(&req.user_pool_id)?, &req.terms_id)
        .await?;
    Ok(wire::DescribeTermsResponse {
        terms: Some(terms_out(terms)),
    })
}

pub async fn describe_terms_by_client(
    state: Arc<AppState>,
    req: wire::DescribeTermsByClientRequest,
) -> ApiResult<wire::DescribeTermsByClientResponse> {
    let terms = state
        .engine
        .describe_terms_by_client(
            &pool_id(&req.user_pool_id)?,
            &req.client_id,
            &req.terms_name,
        )
        .await?;
    Ok(wire::DescribeTermsByClientResponse {
        terms: Some(terms_out(terms)),
    })
}

pub async fn update_terms(
    state: Arc<AppState>,
    req: wire::UpdateTermsRequest,
) -> ApiResult<wire::UpdateTermsResponse> {
    let terms = state
        .engine
        .update_terms(
            &pool_id(&req.user_pool_id)?,
            &req.terms_id,
            req.terms_name.as_deref(),
            req.links,
        )
        .await?;
    Ok(wire::UpdateTermsResponse {
        terms: Some(terms_out(terms)),
    })
}

pub async fn delete_terms(
    state: Arc<AppState>,
    req: wire::DeleteTermsRequest,
) -> ApiResult<serde_json::Value> {
    state
        .engine
        .delete_terms(&pool_id(&req.user_pool_id)?, &req.terms_id)
        .await?;
    Ok(serde_json::json!({}))
}

pub async fn list_terms(
    state: Arc<AppState>,
    req: wire::ListTermsRequest,
) -> ApiResult<wire::ListTermsResponse> {
    let page = state
        .engine
        .list_terms(
            &pool_id(&req.user_pool_id)?,
            req.max_results.and_then(|n| usize::try_from(n).ok()),
            req.next_token.as_deref(),
        )
        .await?;
    Ok(wire::ListTermsResponse {
        next_token: page.next_token,
        terms: page
            .terms
            .into_iter()
            .map(|t| wire::TermsDescriptionType {
                creation_date: ts(t.created_at),
                enforcement: wire::TermsEnforcementType::None,
                last_modified_date: ts(t.modified_at),
                terms_id: t.id.to_string(),
                terms_name: t.kind.as_str().to_string(),
            })
            .collect(),
    })
}
