//! CreateUserPoolDomain, DescribeUserPoolDomain, UpdateUserPoolDomain, DeleteUserPoolDomain.
//!
//! Where Cognito names a CloudFront distribution (the target of a custom domain's DNS alias),
//! Tessera names the host of its public URL: that is where a custom domain must point.

use super::{ApiResult, pool_id, stored_settings, with_settings};
use crate::AppState;
use std::sync::Arc;
use tessera_domain::domains::{
    CustomDomainConfig, DomainKind, DomainUpdate, NewDomain, SecurityPolicy, UserPoolDomain,
};
use tessera_wire::idp as wire;

/// Domain settings stored and returned as given.
const STORED: &[&str] = &["Routing"];

fn custom_in(c: Option<wire::CustomDomainConfigType>) -> Option<CustomDomainConfig> {
    c.map(|c| CustomDomainConfig {
        certificate_arn: c.certificate_arn,
        security_policy: c
            .security_policy
            .and_then(|p| SecurityPolicy::parse(p.as_str())),
    })
}

fn custom_out(c: &CustomDomainConfig) -> wire::CustomDomainConfigType {
    wire::CustomDomainConfigType {
        certificate_arn: c.certificate_arn.clone(),
        security_policy: c
            .security_policy
            .and_then(|p| wire::SecurityPolicyType::parse(p.as_str())),
    }
}

/// Create and Update answer the serving host only for custom domains, as Cognito answers its
/// CloudFront domain.
fn cloud_front_domain(state: &AppState, d: &UserPoolDomain) -> Option<String> {
    (d.kind() == DomainKind::Custom).then(|| state.engine.domain_host())
}

fn routing(d: &UserPoolDomain) -> Option<wire::RoutingType> {
    d.settings
        .get("Routing")
        .and_then(|v| serde_json::from_value(v.clone()).ok())
}

pub async fn create_user_pool_domain(
    state: Arc<AppState>,
    req: wire::CreateUserPoolDomainRequest,
) -> ApiResult<wire::CreateUserPoolDomainResponse> {
    let new = NewDomain {
        name: req.domain.clone(),
        settings: stored_settings(&req, STORED)?,
        custom: custom_in(req.custom_domain_config),
        managed_login_version: req.managed_login_version,
    };
    let domain = state
        .engine
        .create_user_pool_domain(&pool_id(&req.user_pool_id)?, new)
        .await?;
    Ok(wire::CreateUserPoolDomainResponse {
        cloud_front_domain: cloud_front_domain(&state, &domain),
        managed_login_version: Some(domain.managed_login_version.number()),
        routing: routing(&domain),
    })
}

pub async fn describe_user_pool_domain(
    state: Arc<AppState>,
    req: wire::DescribeUserPoolDomainRequest,
) -> ApiResult<wire::DescribeUserPoolDomainResponse> {
    let description = match state.engine.describe_user_pool_domain(&req.domain).await? {
        // Cognito answers an unknown domain with an empty description, not an error.
        None => wire::DomainDescriptionType::default(),
        Some(d) => with_settings(
            wire::DomainDescriptionType {
                user_pool_id: Some(d.pool_id.to_string()),
                aws_account_id: Some(state.engine.settings().account_id.clone()),
                domain: Some(d.name.to_string()),
                cloud_front_distribution: Some(state.engine.domain_host()),
                version: Some(d.version()),
                status: Some(wire::DomainStatusType::Active),
                custom_domain_config: d.custom.as_ref().map(custom_out),
                managed_login_version: Some(d.managed_login_version.number()),
                ..Default::default()
            },
            &d.settings,
        )?,
    };
    Ok(wire::DescribeUserPoolDomainResponse {
        domain_description: Some(description),
    })
}

pub async fn update_user_pool_domain(
    state: Arc<AppState>,
    req: wire::UpdateUserPoolDomainRequest,
) -> ApiResult<wire::UpdateUserPoolDomainResponse> {
    let update = DomainUpdate {
        settings: stored_settings(&req, STORED)?,
        custom: custom_in(req.custom_domain_config),
        managed_login_version: req.managed_login_version,
    };
    let domain = state
        .engine
        .update_user_pool_domain(&pool_id(&req.user_pool_id)?, &req.domain, update)
        .await?;
    Ok(wire::UpdateUserPoolDomainResponse {
        cloud_front_domain: cloud_front_domain(&state, &domain),
        managed_login_version: Some(domain.managed_login_version.number()),
        routing: routing(&domain),
    })
}

pub async fn delete_user_pool_domain(
    state: Arc<AppState>,
    req: wire::DeleteUserPoolDomainRequest,
) -> ApiResult<serde_json::Value> {
    state
        .engine
        .delete_user_pool_domain(&pool_id(&req.user_pool_id)?, &req.domain)
        .await?;
    Ok(serde_json::json!({}))
}

/// DescribeUserPool's `Domain` (the prefix) and `CustomDomain`.
pub(crate) fn pool_domains_out(user_pool: &mut wire::UserPoolType, domains: &[UserPoolDomain]) {
    for d in domains {
        let name = Some(d.name.to_string());
        match d.kind() {
            DomainKind::Prefix => user_pool.domain = name,
            DomainKind::Custom => user_pool.custom_domain = name,
        }
    }
}
