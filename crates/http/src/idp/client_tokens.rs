//! GetClientToken and GetDerivedToken: tokens for an app client that authenticates with its
//! secret (the dispatcher doesn't require a SigV4 signature for either; see `dispatch.rs`).

use super::ApiResult;
use crate::AppState;
use std::sync::Arc;
use tessera_engine::DerivedTokenRequest;
use tessera_wire::idp as wire;

pub async fn get_client_token(
    state: Arc<AppState>,
    req: wire::GetClientTokenRequest,
) -> ApiResult<wire::GetClientTokenResponse> {
    let tokens = state
        .engine
        .get_client_token(&req.client_id, &req.secret, req.scopes.as_deref())
        .await?;
    Ok(wire::GetClientTokenResponse {
        client_authentication_result: Some(wire::ClientAuthenticationResultType {
            access_token: Some(tokens.access_token),
            expires_in: i64::try_from(tokens.expires_in).ok(),
            token_type: Some("Bearer".into()),
        }),
    })
}

pub async fn get_derived_token(
    state: Arc<AppState>,
    req: wire::GetDerivedTokenRequest,
) -> ApiResult<wire::GetDerivedTokenResponse> {
    let issued = state
        .engine
        .get_derived_token(DerivedTokenRequest {
            client_id: req.client_id,
            client_secret: req.client_secret,
            subject_token: req.subject_token,
            subject_token_type: req.subject_token_type.as_str().to_string(),
            subject_token_provider: req.subject_token_provider_name,
            actor_token: req.actor_token,
            actor_token_type: req.actor_token_type.map(|t| t.as_str().to_string()),
            actor_token_provider: req.actor_token_provider_name,
            scopes: req.scopes,
            audiences: req.audiences.unwrap_or_default(),
            resources: req.resources.unwrap_or_default(),
            requested_token_type: req.requested_token_type.map(|t| t.as_str().to_string()),
        })
        .await?;
    let id_token = issued.issued_token_type == "ID_TOKEN";
    Ok(wire::GetDerivedTokenResponse {
        expires_in: i64::try_from(issued.expires_in).ok(),
        issued_token: issued.token,
        issued_token_type: if id_token {
            wire::IssuedTokenTypeIdentifierType::IdToken
        } else {
            wire::IssuedTokenTypeIdentifierType::AccessToken
        },
        scopes: Some(issued.scopes),
        // RFC 8693 §2.2.1: N_A when the issued token isn't an access token.
        token_type: if id_token {
            wire::OAuthTokenTypeType::NA
        } else {
            wire::OAuthTokenTypeType::Bearer
        },
    })
}
