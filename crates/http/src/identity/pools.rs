//! Identity pool administration: Create/Describe/Update/Delete/ListIdentityPools, tags,
//! Set/GetIdentityPoolRoles, Set/GetPrincipalTagAttributeMap.

use super::{ApiResult, convert};
use crate::AppState;
use std::collections::BTreeMap;
use std::sync::Arc;
use tessera_domain::identity::{IdentityPool, IdentityPoolConfig, PrincipalTagMap, RoleMapping};
use tessera_wire::identity as wire;

fn non_empty<T>(v: Vec<T>) -> Option<Vec<T>> {
    (!v.is_empty()).then_some(v)
}

fn non_empty_map<K, V>(m: BTreeMap<K, V>) -> Option<BTreeMap<K, V>> {
    (!m.is_empty()).then_some(m)
}

pub(crate) fn pool_out(pool: IdentityPool) -> ApiResult<wire::IdentityPool> {
    let c = pool.config;
    Ok(wire::IdentityPool {
        identity_pool_id: pool.id.to_string(),
        identity_pool_name: pool.name,
        allow_unauthenticated_identities: c.allow_unauthenticated_identities,
        allow_classic_flow: c.allow_classic_flow,
        supported_login_providers: non_empty_map(c.supported_login_providers),
        developer_provider_name: c.developer_provider_name,
        open_id_connect_provider_arns: non_empty(c.open_id_connect_provider_arns),
        cognito_identity_providers: non_empty(convert(&c.cognito_identity_providers)?),
        saml_provider_arns: non_empty(c.saml_provider_arns),
        identity_pool_tags: non_empty_map(c.identity_pool_tags),
    })
}

pub async fn create_identity_pool(
    state: Arc<AppState>,
    req: wire::CreateIdentityPoolInput,
) -> ApiResult<wire::IdentityPool> {
    let config: IdentityPoolConfig = convert(&req)?;
    let pool = state
        .engine
        .create_identity_pool(req.identity_pool_name, config)
        .await?;
    pool_out(pool)
}

pub async fn describe_identity_pool(
    state: Arc<AppState>,
    req: wire::DescribeIdentityPoolInput,
) -> ApiResult<wire::IdentityPool> {
    pool_out(
        state
            .engine
            .describe_identity_pool(&req.identity_pool_id)
            .await?,
    )
}

pub async fn update_identity_pool(
    state: Arc<AppState>,
    req: wire::IdentityPool,
) -> ApiResult<wire::IdentityPool> {
    let config: IdentityPoolConfig = convert(&req)?;
    let pool = state
        .engine
        .update_identity_pool(&req.identity_pool_id, req.identity_pool_name, config)
        .await?;
    pool_out(pool)
}

pub async fn delete_identity_pool(
    state: Arc<AppState>,
    req: wire::DeleteIdentityPoolInput,
) -> ApiResult<serde_json::Value> {
    state
        .engine
        .delete_identity_pool(&req.identity_pool_id)
        .await?;
    Ok(serde_json::json!({}))
}

pub async fn list_identity_pools(
    state: Arc<AppState>,
    req: wire::ListIdentityPoolsInput,
) -> ApiResult<wire::ListIdentityPoolsResponse> {
    let page = state
        .engine
        .list_identity_pools(
            req.max_results.clamp(1, 60) as usize,
            req.next_token.as_deref(),
        )
        .await?;
    Ok(wire::ListIdentityPoolsResponse {
        identity_pools: Some(
            page.pools
                .into_iter()
                .map(|p| wire::IdentityPoolShortDescription {
                    identity_pool_id: Some(p.id.to_string()),
                    identity_pool_name: Some(p.name),
                })
                .collect(),
        ),
        next_token: page.next.map(|n| n.to_string()),
    })
}

pub async fn tag_resource(
    state: Arc<AppState>,
    req: wire::TagResourceInput,
) -> ApiResult<wire::TagResourceResponse> {
    state
        .engine
        .retag_identity_pool(&req.resource_arn, req.tags, &[])
        .await?;
    Ok(wire::TagResourceResponse {})
}

pub async fn untag_resource(
    state: Arc<AppState>,
    req: wire::UntagResourceInput,
) -> ApiResult<wire::UntagResourceResponse> {
    state
        .engine
        .retag_identity_pool(&req.resource_arn, BTreeMap::new(), &req.tag_keys)
        .await?;
    Ok(wire::UntagResourceResponse {})
}

pub async fn list_tags_for_resource(
    state: Arc<AppState>,
    req: wire::ListTagsForResourceInput,
) -> ApiResult<wire::ListTagsForResourceResponse> {
    let tags = state.engine.identity_pool_tags(&req.resource_arn).await?;
    Ok(wire::ListTagsForResourceResponse { tags: Some(tags) })
}

pub async fn set_identity_pool_roles(
    state: Arc<AppState>,
    req: wire::SetIdentityPoolRolesInput,
) -> ApiResult<serde_json::Value> {
    let mappings: BTreeMap<String, RoleMapping> = match &req.role_mappings {
        Some(m) => convert(m)?,
        None => BTreeMap::new(),
    };
    state
        .engine
        .set_identity_pool_roles(&req.identity_pool_id, req.roles, mappings)
        .await?;
    Ok(serde_json::json!({}))
}

pub async fn get_identity_pool_roles(
    state: Arc<AppState>,
    req: wire::GetIdentityPoolRolesInput,
) -> ApiResult<wire::GetIdentityPoolRolesResponse> {
    let pool = state
        .engine
        .describe_identity_pool(&req.identity_pool_id)
        .await?;
    Ok(wire::GetIdentityPoolRolesResponse {
        identity_pool_id: Some(pool.id.to_string()),
        roles: Some(pool.config.roles),
        role_mappings: match non_empty_map(pool.config.role_mappings) {
            Some(m) => Some(convert(&m)?),
            None => None,
        },
    })
}

pub async fn set_principal_tag_attribute_map(
    state: Arc<AppState>,
    req: wire::SetPrincipalTagAttributeMapInput,
) -> ApiResult<wire::SetPrincipalTagAttributeMapResponse> {
    let map = PrincipalTagMap {
        use_defaults: req.use_defaults.unwrap_or(false),
        principal_tags: req.principal_tags.unwrap_or_default(),
    };
    let map = state
        .engine
        .set_principal_tag_map(&req.identity_pool_id, &req.identity_provider_name, map)
        .await?;
    Ok(wire::SetPrincipalTagAttributeMapResponse {
        identity_pool_id: Some(req.identity_pool_id),
        identity_provider_name: Some(req.identity_provider_name),
        use_defaults: Some(map.use_defaults),
        principal_tags: Some(map.principal_tags),
    })
}

pub async fn get_principal_tag_attribute_map(
    state: Arc<AppState>,
    req: wire::GetPrincipalTagAttributeMapInput,
) -> ApiResult<wire::GetPrincipalTagAttributeMapResponse> {
    let map = state
        .engine
        .principal_tag_map(&req.identity_pool_id, &req.identity_provider_name)
        .await?;
    Ok(wire::GetPrincipalTagAttributeMapResponse {
        identity_pool_id: Some(req.identity_pool_id),
        identity_provider_name: Some(req.identity_provider_name),
        use_defaults: Some(map.use_defaults),
        principal_tags: Some(map.principal_tags),
    })
}
