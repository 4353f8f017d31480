//! The endpoints JWT and OIDC libraries fetch: a pool's JWKS and its discovery document.

use crate::AppState;
use crate::error::ApiError;
use axum::Json;
use axum::extract::{Path, Query, State};
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
    discovery(&state, &id).await
}

/// The discovery document of a pool: Cognito's ten keys, plus what strict OIDC, OAuth 2.1 and
/// MCP clients look for (`code_challenge_methods_supported`, revocation, end-session), with
/// endpoints on the pool's domain as this deployment serves it. A pool without a domain has no
/// OAuth endpoints to name.
pub(crate) async fn discovery(state: &AppState, id: &UserPoolId) -> Response {
    if let Err(e) = state.engine.describe_user_pool(id).await {
        return match e {
            tessera_engine::EngineError::Client(_) => not_found(id.as_str()),
            other => ApiError::from(other).into_response(),
        };
    }
    let domains = match state.engine.pool_domains(id).await {
        Ok(d) => d,
        Err(e) => return ApiError::from(e).into_response(),
    };
    let settings = state.engine.settings();
    let issuer = state.engine.issuer(id);
    let mut doc = json!({
        "issuer": issuer,
        "jwks_uri": format!("{issuer}/.well-known/jwks.json"),
        "response_types_supported": ["code", "token"],
        "scopes_supported": ["openid", "email", "phone", "profile"],
        "subject_types_supported": ["public"],
        "id_token_signing_alg_values_supported": ["RS256"],
        "token_endpoint_auth_methods_supported": ["client_secret_basic", "client_secret_post"],
    });
    // A custom domain answers on its own host only once DNS is set up (domain_base); the
    // prefix domain always answers under the public URL.
    let domain = domains
        .iter()
        .find(|d| settings.domain_base.is_some() && d.custom.is_some())
        .or_else(|| domains.iter().find(|d| d.custom.is_none()))
        .or_else(|| domains.first());
    if let (Some(d), Some(map)) = (domain, doc.as_object_mut()) {
        let base = crate::web::domain_url(
            &settings.issuer_base,
            settings.domain_base.as_deref(),
            d.name.as_str(),
        );
        map.insert(
            "authorization_endpoint".into(),
            json!(format!("{base}/oauth2/authorize")),
        );
        map.insert(
            "token_endpoint".into(),
            json!(format!("{base}/oauth2/token")),
        );
        map.insert(
            "userinfo_endpoint".into(),
            json!(format!("{base}/oauth2/userInfo")),
        );
        map.insert(
            "revocation_endpoint".into(),
            json!(format!("{base}/oauth2/revoke")),
        );
        map.insert(
            "end_session_endpoint".into(),
            json!(format!("{base}/logout")),
        );
        map.insert("code_challenge_methods_supported".into(), json!(["S256"]));
        map.insert(
            "grant_types_supported".into(),
            json!([
                "authorization_code",
                "refresh_token",
                "client_credentials",
                "implicit"
            ]),
        );
    }
    cacheable(doc)
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

#[derive(serde::Deserialize)]
pub struct ConfirmUser {
    client_id: String,
    user_name: String,
    confirmation_code: String,
}

fn page(status: StatusCode, title: &str, text: &str) -> Response {
    let escape = |s: &str| {
        s.replace('&', "&amp;")
            .replace('<', "&lt;")
            .replace('>', "&gt;")
            .replace('"', "&quot;")
    };
    let html = format!(
        "<!doctype html><html><head><meta charset=\"utf-8\"><title>{0}</title></head>\
         <body><h1>{0}</h1><p>{1}</p></body></html>",
        escape(title),
        escape(text)
    );
    (status, [("content-type", "text/html; charset=utf-8")], html).into_response()
}

/// The link a CONFIRM_WITH_LINK email carries: confirms the sign-up, as Cognito's hosted
/// `/confirmUser` does.
pub async fn confirm_user(
    State(state): State<Arc<AppState>>,
    Query(q): Query<ConfirmUser>,
) -> Response {
    let result = state
        .engine
        .confirm_sign_up(tessera_engine::ConfirmSignUp {
            client_id: q.client_id,
            username: q.user_name,
            code: q.confirmation_code,
            secret_hash: None,
            force_alias_creation: false,
            client_metadata: None,
        })
        .await;
    match result {
        Ok(_) => page(
            StatusCode::OK,
            "Confirmed",
            "Your registration has been confirmed. You can sign in now.",
        ),
        Err(tessera_engine::EngineError::Client(e)) => {
            page(StatusCode::BAD_REQUEST, "Not confirmed", &e.message)
        }
        Err(e) => ApiError::from(e).into_response(),
    }
}

#[derive(serde::Deserialize)]
pub struct OutboxQuery {
    pool: Option<String>,
    limit: Option<usize>,
}

/// `--dev` only: the newest messages, with bodies (held messages keep theirs).
pub async fn dev_outbox(
    State(state): State<Arc<AppState>>,
    Query(q): Query<OutboxQuery>,
) -> Response {
    if !state.dev_outbox {
        return StatusCode::NOT_FOUND.into_response();
    }
    let pool = q.pool.as_deref().and_then(|p| UserPoolId::parse(p).ok());
    match state
        .engine
        .list_outbox(pool.as_ref(), q.limit.unwrap_or(50).min(500))
        .await
    {
        Ok(entries) => Json(json!(
            entries
                .iter()
                .map(|e| json!({
                    "id": e.message.id,
                    "pool_id": e.message.pool_id,
                    "channel": e.message.channel.as_str(),
                    "to": e.message.to,
                    "subject": e.message.subject,
                    "body": e.message.body,
                    "status": e.status.as_str(),
                    "attempts": e.attempts,
                    "last_error": e.last_error,
                    "created_at": e.message.created_at.millis(),
                }))
                .collect::<Vec<_>>()
        ))
        .into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}
