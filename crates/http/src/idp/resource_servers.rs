//! CreateResourceServer, DescribeResourceServer, UpdateResourceServer, DeleteResourceServer,
//! ListResourceServers.

use super::{ApiResult, pool_id};
use crate::AppState;
use std::sync::Arc;
use tessera_domain::resource_servers::ResourceServer;
use tessera_engine::ScopeSpec;
use tessera_wire::idp as wire;

fn scopes_in(scopes: Option<Vec<wire::ResourceServerScopeType>>) -> Vec<ScopeSpec> {
    scopes
        .into_iter()
        .flatten()
        .map(|s| (s.scope_name, s.scope_description))
        .collect()
}

fn server_out(r: &ResourceServer) -> wire::ResourceServerType {
    wire::ResourceServerType {
        user_pool_id: Some(r.pool_id.to_string()),
        identifier: Some(r.identifier.to_string()),
        name: Some(r.name.clone()),
        scopes: Some(
            r.scopes
                .iter()
                .map(|s| wire::ResourceServerScopeType {
                    scope_name: s.name.as_str().to_string(),
                    scope_description: s.description.clone(),
                })
                .collect(),
        ),
        managed_by: None,
    }
}

/// Page sizes: the model allows 1–50; absent means the largest page.
fn limit(l: Option<i64>) -> usize {
    l.filter(|n| *n > 0).map_or(50, |n| n.min(50) as usize)
}

pub async fn create_resource_server(
    state: Arc<AppState>,
    req: wire::CreateResourceServerRequest,
) -> ApiResult<wire::CreateResourceServerResponse> {
    let server = state
        .engine
        .create_resource_server(
            &pool_id(&req.user_pool_id)?,
            &req.identifier,
            &req.name,
            &scopes_in(req.scopes),
        )
        .await?;
    Ok(wire::CreateResourceServerResponse {
        resource_server: server_out(&server),
    })
}

pub async fn describe_resource_server(
    state: Arc<AppState>,
    req: wire::DescribeResourceServerRequest,
) -> ApiResult<wire::DescribeResourceServerResponse> {
    let server = state
        .engine
        .describe_resource_server(&pool_id(&req.user_pool_id)?, &req.identifier)
        .await?;
    Ok(wire::DescribeResourceServerResponse {
        resource_server: server_out(&server),
    })
}

pub async fn update_resource_server(
    state: Arc<AppState>,
    req: wire::UpdateResourceServerRequest,
) -> ApiResult<wire::UpdateResourceServerResponse> {
    let server = state
        .engine
        .update_resource_server(
            &pool_id(&req.user_pool_id)?,
            &req.identifier,
            &req.name,
            &scopes_in(req.scopes),
        )
        .await?;
    Ok(wire::UpdateResourceServerResponse {
        resource_server: server_out(&server),
    })
}

pub async fn delete_resource_server(
    state: Arc<AppState>,
    req: wire::DeleteResourceServerRequest,
) -> ApiResult<serde_json::Value> {
    state
        .engine
        .delete_resource_server(&pool_id(&req.user_pool_id)?, &req.identifier)
        .await?;
    Ok(serde_json::json!({}))
}

pub async fn list_resource_servers(
    state: Arc<AppState>,
    req: wire::ListResourceServersRequest,
) -> ApiResult<wire::ListResourceServersResponse> {
    let page = state
        .engine
        .list_resource_servers(
            &pool_id(&req.user_pool_id)?,
            limit(req.max_results),
            req.next_token.as_deref(),
        )
        .await?;
    Ok(wire::ListResourceServersResponse {
        resource_servers: page.servers.iter().map(server_out).collect(),
        next_token: page.next_token,
    })
}
