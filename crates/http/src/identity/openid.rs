//! GetOpenIdToken, GetOpenIdTokenForDeveloperIdentity, the developer-identity operations, and
//! the identity pools' issuer documents (discovery and JWKS).

use super::ApiResult;
use crate::AppState;
use crate::error::ApiError;
use axum::Json;
use axum::extract::State;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::Arc;
use tessera_wire::identity as wire;

pub async fn get_open_id_token(
    state: Arc<AppState>,
    req: wire::GetOpenIdTokenInput,
) -> ApiResult<wire::GetOpenIdTokenResponse> {
    let t = state
        .engine
        .get_open_id_token(&req.identity_id, &req.logins.unwrap_or_default())
        .await?;
    Ok(wire::GetOpenIdTokenResponse {
        identity_id: Some(t.identity_id),
        token: Some(t.token),
    })
}

pub async fn get_open_id_token_for_developer_identity(
    state: Arc<AppState>,
    req: wire::GetOpenIdTokenForDeveloperIdentityInput,
) -> ApiResult<wire::GetOpenIdTokenForDeveloperIdentityResponse> {
    let t = state
        .engine
        .get_open_id_token_for_developer_identity(
            &req.identity_pool_id,
            req.identity_id.as_deref(),
            &req.logins,
            req.token_duration,
        )
        .await?;
    Ok(wire::GetOpenIdTokenForDeveloperIdentityResponse {
        identity_id: Some(t.identity_id),
        token: Some(t.token),
    })
}

pub async fn lookup_developer_identity(
    state: Arc<AppState>,
    req: wire::LookupDeveloperIdentityInput,
) -> ApiResult<wire::LookupDeveloperIdentityResponse> {
    let (identity_id, users) = state
        .engine
        .lookup_developer_identity(
            &req.identity_pool_id,
            req.identity_id.as_deref(),
            req.developer_user_identifier.as_deref(),
        )
        .await?;
    Ok(wire::LookupDeveloperIdentityResponse {
        identity_id: Some(identity_id),
        developer_user_identifier_list: Some(users),
        next_token: None,
    })
}

pub async fn merge_developer_identities(
    state: Arc<AppState>,
    req: wire::MergeDeveloperIdentitiesInput,
) -> ApiResult<wire::MergeDeveloperIdentitiesResponse> {
    let id = state
        .engine
        .merge_developer_identities(
            &req.identity_pool_id,
            &req.developer_provider_name,
            &req.source_user_identifier,
            &req.destination_user_identifier,
        )
        .await?;
    Ok(wire::MergeDeveloperIdentitiesResponse {
        identity_id: Some(id),
    })
}

pub async fn unlink_developer_identity(
    state: Arc<AppState>,
    req: wire::UnlinkDeveloperIdentityInput,
) -> ApiResult<serde_json::Value> {
    state
        .engine
        .unlink_developer_identity(
            &req.identity_pool_id,
            &req.identity_id,
            &req.developer_provider_name,
            &req.developer_user_identifier,
        )
        .await?;
    Ok(json!({}))
}

/// `GET /cognito-identity/.well-known/openid-configuration`.
pub async fn openid_configuration(State(state): State<Arc<AppState>>) -> Response {
    let issuer = state.engine.identity_issuer();
    Json(json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "response_types_supported": ["id_token"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "claims_supported": ["sub", "aud", "amr", "iss", "exp", "iat"],
    }))
    .into_response()
}

/// `GET /cognito-identity/.well-known/jwks.json`.
pub async fn jwks(State(state): State<Arc<AppState>>) -> Response {
    match state.engine.identity_jwks().await {
        Ok(keys) => Json(json!({ "keys": keys })).into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}
