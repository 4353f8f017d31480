//! The endpoints JWT and OIDC libraries fetch: a pool's JWKS and its discovery document.

use crate::AppState;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::Arc;
use tessera_domain::UserPoolId;

fn not_found(pool: &str) -> Response {
    ApiError::new(
        "ResourceNotFoundException",
        format!("User pool {pool} does not exist."),
        StatusCode::NOT_FOUND,
    )
    .into_response()
}

fn cacheable(body: serde_json::Value) -> Response {
    let mut r = Json(body).into_response();
    r.headers_mut().insert(
        "cache-control",
        HeaderValue::from_static("public, max-age=3600"),
    );
    r
}

pub async fn jwks(State(state): State<Arc<AppState>>, Path(pool): Path<String>) -> Response {
    let Ok(id) = UserPoolId::parse(&pool) else {
        return not_found(&pool);
    };
    match state.engine.jwks(&id).await {
        Ok(jwks) => cacheable(json!(jwks)),
        Err(tessera_engine::EngineError::Client(_)) => not_found(&pool),
        Err(e) => ApiError::from(e).into_response(),
    }
}

/// The discovery document. The OAuth endpoints it names belong to the hosted UI.
pub async fn openid_configuration(
    State(state): State<Arc<AppState>>,
    Path(pool): Path<String>,
) -> Response {
    let Ok(id) = UserPoolId::parse(&pool) else {
        return not_found(&pool);
    };
    if let Err(e) = state.engine.describe_user_pool(&id).await {
        return match e {
            tessera_engine::EngineError::Client(_) => not_found(&pool),
            other => ApiError::from(other).into_response(),
        };
    }
    let issuer = state.engine.issuer(&id);
    let base = &state.engine.settings().issuer_base;
    cacheable(json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "authorization_endpoint": format!("{base}/oauth2/authorize"),
        "token_endpoint": format!("{base}/oauth2/token"),
        "userinfo_endpoint": format!("{base}/oauth2/userInfo"),
        "end_session_endpoint": format!("{base}/logout"),
        "revocation_endpoint": format!("{base}/oauth2/revoke"),
        "response_types_supported": ["code", "token"],
        "scopes_supported": ["openid", "email", "phone", "profile"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    }))
}

pub async fn health(State(state): State<Arc<AppState>>) -> Response {
    match state.engine.store().read().await {
        Ok(_) => {
            Json(json!({ "status": "ok", "store": state.engine.store().backend() })).into_response()
        }
        Err(e) => {
            tracing::error!(error = %e, "health check: store unavailable");
            (
                StatusCode::SERVICE_UNAVAILABLE,
                Json(json!({ "status": "unavailable" })),
            )
                .into_response()
        }
    }
}
