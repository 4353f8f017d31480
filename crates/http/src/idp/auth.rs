//! Sign-in and tokens: InitiateAuth, AdminInitiateAuth, RespondToAuthChallenge,
//! AdminRespondToAuthChallenge, GetTokensFromRefreshToken, RevokeToken, GlobalSignOut.

use super::{ApiResult, pool_id};
use crate::AppState;
use crate::error::ApiError;
use std::collections::BTreeMap;
use std::sync::Arc;
use tessera_engine::{AuthOutcome, AuthRequest, ChallengeResponse, TokenSet};
use tessera_wire::idp as wire;

fn result(tokens: TokenSet) -> wire::AuthenticationResultType {
    wire::AuthenticationResultType {
        access_token: Some(tokens.access_token),
        expires_in: Some(tokens.expires_in as i64),
        id_token: Some(tokens.id_token),
        refresh_token: tokens.refresh_token,
        token_type: Some("Bearer".into()),
        new_device_metadata: tokens
            .new_device
            .map(|(key, group)| wire::NewDeviceMetadataType {
                device_key: Some(key),
                device_group_key: Some(group),
            }),
    }
}

/// The members every auth response shares, in the order of the wire shapes.
type Outcome = (
    Option<wire::AuthenticationResultType>,
    Option<wire::ChallengeNameType>,
    Option<BTreeMap<String, String>>,
    Option<String>,
    Option<Vec<wire::ChallengeNameType>>,
);

/// The four sign-in answers (InitiateAuth, RespondToAuthChallenge and their Admin forms) share
/// their five fields: one place fills any of them from an outcome.
macro_rules! auth_response {
    ($response:ident, $outcome:expr) => {{
        let (
            authentication_result,
            challenge_name,
            challenge_parameters,
            session,
            available_challenges,
        ) = outcome($outcome)?;
        Ok(wire::$response {
            authentication_result,
            challenge_name,
            challenge_parameters,
            session,
            available_challenges,
        })
    }};
}

fn outcome(o: AuthOutcome) -> ApiResult<Outcome> {
    Ok(match o {
        AuthOutcome::Tokens(t) => (Some(result(t)), None, Some(BTreeMap::new()), None, None),
        AuthOutcome::Challenge {
            name,
            session,
            parameters,
            available,
        } => (
            None,
            wire::ChallengeNameType::parse(&name),
            Some(parameters),
            session,
            (!available.is_empty()).then(|| {
                available
                    .iter()
                    .filter_map(|c| wire::ChallengeNameType::parse(c))
                    .collect()
            }),
        ),
        // Only sessions the hosted pages opened end this way, and the API can't answer those.
        AuthOutcome::SignedIn { .. } => {
            return Err(ApiError::internal());
        }
    })
}

/// The origin a public call's UserContextData gives, when its client propagates it.
async fn user_context(
    state: &AppState,
    client_id: &str,
    data: Option<&wire::UserContextDataType>,
) -> ApiResult<Option<tessera_engine::threat::Origin>> {
    let ip = data.and_then(|d| d.ip_address.as_deref());
    if ip.is_none() {
        return Ok(None);
    }
    Ok(state.engine.user_context_origin(client_id, ip).await?)
}

/// Runs a call under `origin` when there is one.
async fn from<T>(
    origin: Option<tessera_engine::threat::Origin>,
    call: impl std::future::Future<Output = T>,
) -> T {
    match origin {
        Some(o) => tessera_engine::threat::with_origin(o, call).await,
        None => call.await,
    }
}

pub async fn initiate_auth(
    state: Arc<AppState>,
    req: wire::InitiateAuthRequest,
) -> ApiResult<wire::InitiateAuthResponse> {
    let origin = user_context(&state, &req.client_id, req.user_context_data.as_ref()).await?;
    let call = state.engine.initiate_auth(AuthRequest {
        client_id: req.client_id,
        flow: req.auth_flow.as_str().to_string(),
        parameters: req.auth_parameters.unwrap_or_default(),
        admin_pool: None,
        client_metadata: req.client_metadata,
        session: req.session,
    });
    auth_response!(InitiateAuthResponse, from(origin, call).await?)
}

pub async fn admin_initiate_auth(
    state: Arc<AppState>,
    req: wire::AdminInitiateAuthRequest,
) -> ApiResult<wire::AdminInitiateAuthResponse> {
    let context = req
        .context_data
        .as_ref()
        .and_then(crate::origin::from_context_data);
    let call = state.engine.initiate_auth(AuthRequest {
        client_id: req.client_id,
        flow: req.auth_flow.as_str().to_string(),
        parameters: req.auth_parameters.unwrap_or_default(),
        admin_pool: Some(pool_id(&req.user_pool_id)?),
        client_metadata: req.client_metadata,
        session: req.session,
    });
    auth_response!(AdminInitiateAuthResponse, from(context, call).await?)
}

pub async fn respond_to_auth_challenge(
    state: Arc<AppState>,
    req: wire::RespondToAuthChallengeRequest,
) -> ApiResult<wire::RespondToAuthChallengeResponse> {
    let origin = user_context(&state, &req.client_id, req.user_context_data.as_ref()).await?;
    let call = state.engine.respond_to_auth_challenge(ChallengeResponse {
        client_id: req.client_id,
        challenge_name: req.challenge_name.as_str().to_string(),
        session: req.session,
        responses: req.challenge_responses.unwrap_or_default(),
        admin_pool: None,
        client_metadata: req.client_metadata,
    });
    auth_response!(RespondToAuthChallengeResponse, from(origin, call).await?)
}

pub async fn admin_respond_to_auth_challenge(
    state: Arc<AppState>,
    req: wire::AdminRespondToAuthChallengeRequest,
) -> ApiResult<wire::AdminRespondToAuthChallengeResponse> {
    let context = req
        .context_data
        .as_ref()
        .and_then(crate::origin::from_context_data);
    let call = state.engine.respond_to_auth_challenge(ChallengeResponse {
        client_id: req.client_id,
        challenge_name: req.challenge_name.as_str().to_string(),
        session: req.session,
        responses: req.challenge_responses.unwrap_or_default(),
        admin_pool: Some(pool_id(&req.user_pool_id)?),
        client_metadata: req.client_metadata,
    });
    auth_response!(
        AdminRespondToAuthChallengeResponse,
        from(context, call).await?
    )
}

pub async fn get_tokens_from_refresh_token(
    state: Arc<AppState>,
    req: wire::GetTokensFromRefreshTokenRequest,
) -> ApiResult<wire::GetTokensFromRefreshTokenResponse> {
    let tokens = state
        .engine
        .refresh_tokens(
            &req.client_id,
            &req.refresh_token,
            tessera_engine::ClientProof::Secret(req.client_secret.as_deref()),
            req.device_key.as_deref(),
            true,
        )
        .await?;
    Ok(wire::GetTokensFromRefreshTokenResponse {
        authentication_result: Some(result(tokens)),
    })
}

pub async fn revoke_token(
    state: Arc<AppState>,
    req: wire::RevokeTokenRequest,
) -> ApiResult<wire::RevokeTokenResponse> {
    state
        .engine
        .revoke_token(&req.client_id, &req.token, req.client_secret.as_deref())
        .await?;
    Ok(wire::RevokeTokenResponse::default())
}

pub async fn global_sign_out(
    state: Arc<AppState>,
    req: wire::GlobalSignOutRequest,
) -> ApiResult<wire::GlobalSignOutResponse> {
    state.engine.global_sign_out(&req.access_token).await?;
    Ok(wire::GlobalSignOutResponse::default())
}
