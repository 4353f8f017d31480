//! The forward-auth endpoint reverse proxies call before letting a request through (nginx
//! `auth_request`, Traefik ForwardAuth, Envoy ext_authz HTTP), and the keys of the ALB-format
//! `x-amzn-oidc-data` JWT it hands back.
//!
//! - `{any method} /forward-auth/{poolId}[/{anything}]?client_id=&scope=&token_use=`: reads
//!   `Authorization: Bearer …`; 200 with identity headers, 401 (`WWW-Authenticate: Bearer`,
//!   with `error="invalid_token"` when a token was given) or 403 `insufficient_scope`, as RFC
//!   6750 §3 words them. Envoy appends the original path to the prefix, hence `{anything}`.
//! - `GET /forward-auth/keys/{kid}`: the PEM public key, as ALB publishes its keys.

use crate::AppState;
use crate::error::ApiError;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use std::collections::HashMap;
use std::sync::Arc;
use tessera_engine::forward_auth::{ForwardAuthCheck, ForwardAuthRefusal, TokenUse};

fn challenge(status: StatusCode, value: &str) -> Response {
    let mut r = status.into_response();
    if let Ok(v) = HeaderValue::from_str(value) {
        r.headers_mut().insert("www-authenticate", v);
    }
    r.headers_mut()
        .insert("cache-control", HeaderValue::from_static("no-store"));
    r
}

fn bad_request(description: &str) -> Response {
    challenge(
        StatusCode::BAD_REQUEST,
        &format!("Bearer error=\"invalid_request\", error_description=\"{description}\""),
    )
}

/// The token of `Authorization: Bearer <token>` (scheme case-insensitive).
fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get("authorization")?.to_str().ok()?.trim();
    let (scheme, token) = value.split_once(' ')?;
    let token = token.trim();
    (scheme.eq_ignore_ascii_case("bearer") && !token.is_empty()).then_some(token)
}

pub async fn check_with_path(
    state: State<Arc<AppState>>,
    Path((pool, _rest)): Path<(String, String)>,
    query: Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    check(state, Path(pool), query, headers).await
}

pub async fn check(
    State(state): State<Arc<AppState>>,
    Path(pool): Path<String>,
    Query(query): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    let token_use = match query.get("token_use").map(String::as_str) {
        None | Some("") => TokenUse::Access,
        Some(s) => match TokenUse::parse(s) {
            Some(u) => u,
            None => return bad_request("token_use must be access or id"),
        },
    };
    let scopes: Vec<&str> = query
        .get("scope")
        .map(|s| s.split(' ').filter(|s| !s.is_empty()).collect())
        .unwrap_or_default();
    if token_use == TokenUse::Id && !scopes.is_empty() {
        return bad_request("scope can only be required of access tokens");
    }
    let Some(token) = bearer(&headers) else {
        return challenge(StatusCode::UNAUTHORIZED, "Bearer");
    };
    let check = ForwardAuthCheck {
        pool_id: &pool,
        token,
        token_use,
        client_id: query.get("client_id").map(String::as_str),
        scopes,
    };
    let identity = match state.engine.forward_auth(&check).await {
        Ok(Ok(identity)) => identity,
        Ok(Err(ForwardAuthRefusal::InvalidToken(why))) => {
            return challenge(
                StatusCode::UNAUTHORIZED,
                &format!("Bearer error=\"invalid_token\", error_description=\"{why}\""),
            );
        }
        Ok(Err(ForwardAuthRefusal::InsufficientScope)) => {
            return challenge(
                StatusCode::FORBIDDEN,
                &format!(
                    "Bearer error=\"insufficient_scope\", error_description=\"The token lacks a required scope.\", scope=\"{}\"",
                    check.scopes.join(" ")
                ),
            );
        }
        Err(e) => return ApiError::from(e).into_response(),
    };
    let mut r = StatusCode::OK.into_response();
    let h = r.headers_mut();
    h.insert("cache-control", HeaderValue::from_static("no-store"));
    let access_token = (token_use == TokenUse::Access).then_some(token);
    for (name, value) in [
        ("x-auth-sub", Some(identity.sub.as_str())),
        ("x-auth-username", Some(identity.username.as_str())),
        ("x-auth-groups", Some(identity.groups.join(",").as_str())),
        ("x-auth-scope", Some(identity.scope.as_str())),
        ("x-auth-client-id", Some(identity.client_id.as_str())),
        ("x-amzn-oidc-identity", Some(identity.sub.as_str())),
        ("x-amzn-oidc-accesstoken", access_token),
        ("x-amzn-oidc-data", Some(identity.oidc_data.as_str())),
    ] {
        // Usernames may hold any UTF-8 but control characters can't be a header value.
        if let Some(v) = value.and_then(|v| HeaderValue::from_bytes(v.as_bytes()).ok()) {
            h.insert(HeaderName::from_static(name), v);
        }
    }
    r
}

pub async fn public_key(State(state): State<Arc<AppState>>, Path(kid): Path<String>) -> Response {
    match state.engine.alb_public_key(&kid) {
        Ok(Some(pem)) => {
            let mut r = pem.into_response();
            let h = r.headers_mut();
            h.insert(
                "content-type",
                HeaderValue::from_static("application/x-pem-file"),
            );
            h.insert(
                "cache-control",
                HeaderValue::from_static("public, max-age=3600"),
            );
            r
        }
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => ApiError::from(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bearer_takes_the_token_of_a_bearer_header_only() {
        let mut h = HeaderMap::new();
        assert_eq!(bearer(&h), None);
        h.insert("authorization", HeaderValue::from_static("bearer abc.def"));
        assert_eq!(bearer(&h), Some("abc.def"));
        h.insert("authorization", HeaderValue::from_static("Basic abc"));
        assert_eq!(bearer(&h), None);
        h.insert("authorization", HeaderValue::from_static("Bearer "));
        assert_eq!(bearer(&h), None);
    }
}
