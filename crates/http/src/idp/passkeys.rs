//! Choice-based sign-in and passkeys: GetUserAuthFactors, AdminGetUserAuthFactors,
//! StartWebAuthnRegistration, CompleteWebAuthnRegistration, ListWebAuthnCredentials,
//! DeleteWebAuthnCredential.

use super::{ApiResult, pool_id, ts};
use crate::AppState;
use std::sync::Arc;
use tessera_engine::UserRef;
use tessera_wire::idp as wire;

/// The members GetUserAuthFactors and AdminGetUserAuthFactors share.
struct AuthFactors {
    username: String,
    preferred: Option<String>,
    mfa: Option<Vec<String>>,
    configured: Option<Vec<wire::AuthFactorType>>,
}

async fn auth_factors(state: &AppState, who: UserRef<'_>) -> ApiResult<AuthFactors> {
    let (user, factors) = state.engine.get_user_auth_factors(who).await?;
    let (list, preferred) = user.mfa.settings();
    Ok(AuthFactors {
        username: user.username.to_string(),
        preferred: preferred.map(String::from),
        mfa: (!list.is_empty()).then(|| list.iter().map(|s| s.to_string()).collect()),
        configured: Some(
            factors
                .iter()
                .filter_map(|f| wire::AuthFactorType::parse(f.name()))
                .collect(),
        ),
    })
}

pub async fn get_user_auth_factors(
    state: Arc<AppState>,
    req: wire::GetUserAuthFactorsRequest,
) -> ApiResult<wire::GetUserAuthFactorsResponse> {
    let f = auth_factors(&state, UserRef::AccessToken(&req.access_token)).await?;
    Ok(wire::GetUserAuthFactorsResponse {
        username: f.username,
        preferred_mfa_setting: f.preferred,
        user_mfa_setting_list: f.mfa,
        configured_user_auth_factors: f.configured,
    })
}

pub async fn admin_get_user_auth_factors(
    state: Arc<AppState>,
    req: wire::AdminGetUserAuthFactorsRequest,
) -> ApiResult<wire::AdminGetUserAuthFactorsResponse> {
    let pool = pool_id(&req.user_pool_id)?;
    let who = UserRef::Admin {
        pool: &pool,
        username: &req.username,
    };
    let f = auth_factors(&state, who).await?;
    Ok(wire::AdminGetUserAuthFactorsResponse {
        username: f.username,
        preferred_mfa_setting: f.preferred,
        user_mfa_setting_list: f.mfa,
        configured_user_auth_factors: f.configured,
    })
}

pub async fn start_web_authn_registration(
    state: Arc<AppState>,
    req: wire::StartWebAuthnRegistrationRequest,
) -> ApiResult<wire::StartWebAuthnRegistrationResponse> {
    let options = state
        .engine
        .start_web_authn_registration(&req.access_token)
        .await?;
    Ok(wire::StartWebAuthnRegistrationResponse {
        credential_creation_options: options,
    })
}

pub async fn complete_web_authn_registration(
    state: Arc<AppState>,
    req: wire::CompleteWebAuthnRegistrationRequest,
) -> ApiResult<wire::CompleteWebAuthnRegistrationResponse> {
    state
        .engine
        .complete_web_authn_registration(&req.access_token, &req.credential)
        .await?;
    Ok(wire::CompleteWebAuthnRegistrationResponse::default())
}

pub async fn list_web_authn_credentials(
    state: Arc<AppState>,
    req: wire::ListWebAuthnCredentialsRequest,
) -> ApiResult<wire::ListWebAuthnCredentialsResponse> {
    let (page, next) = state
        .engine
        .list_web_authn_credentials(
            &req.access_token,
            req.max_results.map(|n| n.max(0) as usize),
            req.next_token.as_deref(),
        )
        .await?;
    Ok(wire::ListWebAuthnCredentialsResponse {
        credentials: page
            .into_iter()
            .map(|c| wire::WebAuthnCredentialDescription {
                friendly_credential_name: c.friendly_name.unwrap_or_else(|| "Passkey".to_string()),
                credential_id: c.credential_id,
                relying_party_id: c.relying_party_id,
                authenticator_attachment: c.attachment,
                authenticator_transports: c.transports,
                created_at: ts(c.created_at),
            })
            .collect(),
        next_token: next,
    })
}

pub async fn delete_web_authn_credential(
    state: Arc<AppState>,
    req: wire::DeleteWebAuthnCredentialRequest,
) -> ApiResult<wire::DeleteWebAuthnCredentialResponse> {
    state
        .engine
        .delete_web_authn_credential(&req.access_token, &req.credential_id)
        .await?;
    Ok(wire::DeleteWebAuthnCredentialResponse::default())
}
