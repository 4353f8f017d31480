//! CreateIdentityProvider, DescribeIdentityProvider, UpdateIdentityProvider,
//! DeleteIdentityProvider, ListIdentityProviders, GetIdentityProviderByIdentifier,
//! GetSigningCertificate.

use super::{ApiResult, pool_id, ts};
use crate::AppState;
use std::sync::Arc;
use tessera_domain::identity_providers::IdentityProvider;
use tessera_engine::identity_providers::{ProviderSpec, ProviderView};
use tessera_engine::provider_links::ProviderUser;
use tessera_wire::idp as wire;

fn provider_type(p: &IdentityProvider) -> Option<wire::IdentityProviderTypeType> {
    wire::IdentityProviderTypeType::parse(p.provider_type.as_str())
}

fn provider_out(v: ProviderView) -> wire::IdentityProviderType {
    let p = v.provider;
    wire::IdentityProviderType {
        user_pool_id: Some(p.pool_id.to_string()),
        provider_name: Some(p.name.clone()),
        provider_type: provider_type(&p),
        provider_details: Some(v.details),
        attribute_mapping: Some(p.attribute_mapping.clone()),
        idp_identifiers: Some(p.idp_identifiers.clone()),
        acr_mapping: p.acr_mapping.clone(),
        last_modified_date: Some(ts(p.modified_at)),
        creation_date: Some(ts(p.created_at)),
    }
}

/// Page sizes: the model allows 1–60; absent means the largest page.
fn limit(l: Option<i64>) -> usize {
    l.filter(|n| *n > 0).map_or(60, |n| n.min(60) as usize)
}

pub async fn create_identity_provider(
    state: Arc<AppState>,
    req: wire::CreateIdentityProviderRequest,
) -> ApiResult<wire::CreateIdentityProviderResponse> {
    let view = state
        .engine
        .create_identity_provider(
            &pool_id(&req.user_pool_id)?,
            &req.provider_name,
            req.provider_type.as_str(),
            ProviderSpec {
                details: Some(req.provider_details),
                attribute_mapping: req.attribute_mapping,
                idp_identifiers: req.idp_identifiers,
                acr_mapping: req.acr_mapping,
            },
        )
        .await?;
    Ok(wire::CreateIdentityProviderResponse {
        identity_provider: provider_out(view),
    })
}

pub async fn describe_identity_provider(
    state: Arc<AppState>,
    req: wire::DescribeIdentityProviderRequest,
) -> ApiResult<wire::DescribeIdentityProviderResponse> {
    let view = state
        .engine
        .describe_identity_provider(&pool_id(&req.user_pool_id)?, &req.provider_name)
        .await?;
    Ok(wire::DescribeIdentityProviderResponse {
        identity_provider: provider_out(view),
    })
}

/// The certificate of the key the pool signs SAML requests with (generated on first use).
pub async fn get_signing_certificate(
    state: Arc<AppState>,
    req: wire::GetSigningCertificateRequest,
) -> ApiResult<wire::GetSigningCertificateResponse> {
    let certificate = state
        .engine
        .get_signing_certificate(&pool_id(&req.user_pool_id)?)
        .await?;
    Ok(wire::GetSigningCertificateResponse {
        certificate: Some(certificate),
    })
}

pub async fn get_identity_provider_by_identifier(
    state: Arc<AppState>,
    req: wire::GetIdentityProviderByIdentifierRequest,
) -> ApiResult<wire::GetIdentityProviderByIdentifierResponse> {
    let view = state
        .engine
        .identity_provider_by_identifier(&pool_id(&req.user_pool_id)?, &req.idp_identifier)
        .await?;
    Ok(wire::GetIdentityProviderByIdentifierResponse {
        identity_provider: provider_out(view),
    })
}

pub async fn update_identity_provider(
    state: Arc<AppState>,
    req: wire::UpdateIdentityProviderRequest,
) -> ApiResult<wire::UpdateIdentityProviderResponse> {
    let view = state
        .engine
        .update_identity_provider(
            &pool_id(&req.user_pool_id)?,
            &req.provider_name,
            ProviderSpec {
                details: req.provider_details,
                attribute_mapping: req.attribute_mapping,
                idp_identifiers: req.idp_identifiers,
                acr_mapping: req.acr_mapping,
            },
        )
        .await?;
    Ok(wire::UpdateIdentityProviderResponse {
        identity_provider: provider_out(view),
    })
}

pub async fn delete_identity_provider(
    state: Arc<AppState>,
    req: wire::DeleteIdentityProviderRequest,
) -> ApiResult<serde_json::Value> {
    state
        .engine
        .delete_identity_provider(&pool_id(&req.user_pool_id)?, &req.provider_name)
        .await?;
    Ok(serde_json::json!({}))
}

pub async fn list_identity_providers(
    state: Arc<AppState>,
    req: wire::ListIdentityProvidersRequest,
) -> ApiResult<wire::ListIdentityProvidersResponse> {
    let page = state
        .engine
        .list_identity_providers(
            &pool_id(&req.user_pool_id)?,
            limit(req.max_results),
            req.next_token.as_deref(),
        )
        .await?;
    Ok(wire::ListIdentityProvidersResponse {
        providers: page
            .providers
            .iter()
            .map(|p| wire::ProviderDescription {
                provider_name: Some(p.name.clone()),
                provider_type: provider_type(p),
                last_modified_date: Some(ts(p.modified_at)),
                creation_date: Some(ts(p.created_at)),
            })
            .collect(),
        next_token: page.next_token,
    })
}

fn provider_user(u: wire::ProviderUserIdentifierType) -> ProviderUser {
    ProviderUser {
        provider_name: u.provider_name,
        attribute_name: u.provider_attribute_name,
        attribute_value: u.provider_attribute_value,
    }
}

pub async fn admin_link_provider_for_user(
    state: Arc<AppState>,
    req: wire::AdminLinkProviderForUserRequest,
) -> ApiResult<wire::AdminLinkProviderForUserResponse> {
    state
        .engine
        .admin_link_provider_for_user(
            &pool_id(&req.user_pool_id)?,
            provider_user(req.destination_user),
            provider_user(req.source_user),
        )
        .await?;
    Ok(wire::AdminLinkProviderForUserResponse {})
}

pub async fn admin_disable_provider_for_user(
    state: Arc<AppState>,
    req: wire::AdminDisableProviderForUserRequest,
) -> ApiResult<wire::AdminDisableProviderForUserResponse> {
    state
        .engine
        .admin_disable_provider_for_user(&pool_id(&req.user_pool_id)?, provider_user(req.user))
        .await?;
    Ok(wire::AdminDisableProviderForUserResponse {})
}
