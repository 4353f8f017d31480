//! The OAuth 2.0 / OIDC endpoints of a domain: `/oauth2/authorize`, `/oauth2/token`,
//! `/oauth2/userInfo`, `/oauth2/revoke` and `/logout`, with Cognito's error surfaces (one table:
//! [`token_error`]).

use super::pages::{PageRequest, engine_failure, grant_redirect, redirect};
use super::render::SESSION_COOKIE;
use super::{Site, form_pairs};
use crate::AppState;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::{CACHE_CONTROL, CONTENT_TYPE, SET_COOKIE, WWW_AUTHENTICATE};
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use std::collections::BTreeMap;
use std::sync::Arc;
use tessera_domain::oauth::{LogoutTarget, Prompt, check_authorize, check_logout, with_params};
use tessera_engine::{OAuthError, OAuthFailure, TokenGrantRequest, UserInfoError};

/// OAuth JSON errors: `{"error": "…"}` with Cognito's status codes (400 for every token-endpoint
/// error, `invalid_client` included; 401 for a failed client authentication at revocation).
fn token_error(error: OAuthError, revocation: bool) -> Response {
    let status = match error {
        OAuthError::InvalidClient if revocation => StatusCode::UNAUTHORIZED,
        _ => StatusCode::BAD_REQUEST,
    };
    no_store((status, Json(json!({ "error": error.code() }))).into_response())
}

fn failure(f: OAuthFailure, revocation: bool) -> Response {
    match f {
        OAuthFailure::Protocol(e) => token_error(e, revocation),
        OAuthFailure::Engine(e) => engine_failure(e),
    }
}

fn no_store(mut r: Response) -> Response {
    r.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    r.headers_mut()
        .insert("pragma", HeaderValue::from_static("no-cache"));
    r
}

/// `GET /oauth2/authorize`: straight back to the client when the browser holds a hosted
/// session (and `prompt` allows it), else to the sign-in page with the same query string.
pub(super) async fn authorize(
    State(state): State<Arc<AppState>>,
    page: PageRequest,
    headers: HeaderMap,
    uri: Uri,
) -> Response {
    let client = match page.params.get("client_id") {
        Some(id) => match state.engine.pool_client(&page.site.pool.id, id).await {
            Ok(c) => c,
            Err(e) => return engine_failure(e),
        },
        None => None,
    };
    // `idp_identifier` names a provider by one of its IdpIdentifiers; it is then checked as
    // `identity_provider` would be (the client must support it).
    let mut params = page.params.clone();
    if let Some(id) = page.params.get("idp_identifier").filter(|v| !v.is_empty())
        && !params.contains_key("identity_provider")
    {
        match state
            .engine
            .provider_by_identifier(&page.site.pool.id, id)
            .await
        {
            Ok(Some(name)) => {
                params.insert("identity_provider".into(), name);
            }
            Ok(None) => {
                params.insert(
                    "identity_provider".into(),
                    format!("unknown identifier {id}"),
                );
            }
            Err(e) => return engine_failure(e),
        }
    }
    let req = match check_authorize(&params, client.as_ref()) {
        Ok(r) => r,
        Err(e) => {
            return match tessera_domain::oauth::error_redirect(&e) {
                Some(to) => redirect(&to),
                None => redirect(&format!(
                    "../error?error={}&client_id={}",
                    e.code(),
                    tessera_domain::oauth::urlencode(
                        page.params
                            .get("client_id")
                            .map(String::as_str)
                            .unwrap_or_default()
                    )
                )),
            };
        }
    };
    let back = |error: &str| {
        let mut pairs = vec![("error", error)];
        if let Some(s) = &req.state {
            pairs.push(("state", s.as_str()));
        }
        redirect(&with_params(&req.redirect_uri, &pairs, false))
    };
    if let Some(idp) = req.identity_provider.as_deref().filter(|p| *p != "COGNITO") {
        return super::federation::start(&state, &page, &req, idp).await;
    }
    let cookie = super::render::cookie(&headers, SESSION_COOKIE);
    let session = match (&cookie, req.prompt) {
        (Some(c), None | Some(Prompt::None) | Some(Prompt::Accepted)) => {
            match state.engine.hosted_session(&page.site.pool.id, c).await {
                Ok(s) => s,
                Err(e) => return engine_failure(e),
            }
        }
        _ => None,
    };
    match session {
        Some(session) => {
            // A sign-in without a password, on the strength of the hosted session: audited as
            // the forms are (a GET is otherwise not).
            tessera_engine::audit::note_operation("GET /oauth2/authorize (hosted session)");
            let grant = state.engine.authorize(&req, &session).await;
            match grant {
                Ok(grant) => redirect(&grant_redirect(&req, &grant)),
                Err(e) => engine_failure(e),
            }
        }
        None if req.prompt == Some(Prompt::None) => back("login_required"),
        None => redirect(&format!("../login?{}", uri.query().unwrap_or_default())),
    }
}

/// Client credentials from `Authorization: Basic` (RFC 6749 §2.3.1: each part form-encoded).
fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get("authorization")?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = STANDARD.decode(encoded.trim()).ok()?;
    let text = String::from_utf8(decoded).ok()?;
    let (id, secret) = text.split_once(':')?;
    let pairs = form_pairs(format!("i={id}&s={secret}").as_bytes());
    Some((pairs.first()?.1.clone(), pairs.get(1)?.1.clone()))
}

/// The token request from a form body and the Authorization header, or the error to answer.
fn grant_request(
    headers: &HeaderMap,
    body: &Bytes,
) -> Result<(TokenGrantRequest, BTreeMap<String, String>), OAuthError> {
    let form_encoded = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|ct| {
            ct.split(';').next().is_some_and(|m| {
                m.trim()
                    .eq_ignore_ascii_case("application/x-www-form-urlencoded")
            })
        });
    if !form_encoded {
        return Err(OAuthError::InvalidRequest);
    }
    let form: BTreeMap<String, String> = form_pairs(body).into_iter().collect();
    let get = |k: &str| form.get(k).filter(|v| !v.is_empty()).cloned();
    let (mut client_id, mut client_secret) = (get("client_id"), get("client_secret"));
    if let Some((id, secret)) = basic_credentials(headers) {
        if client_id.as_ref().is_some_and(|c| c != &id) || client_secret.is_some() {
            return Err(OAuthError::InvalidClient);
        }
        client_id = Some(id);
        client_secret = Some(secret);
    } else if headers.contains_key("authorization") {
        return Err(OAuthError::InvalidClient);
    }
    Ok((
        TokenGrantRequest {
            grant_type: get("grant_type"),
            client_id,
            client_secret,
            code: get("code"),
            redirect_uri: get("redirect_uri"),
            code_verifier: get("code_verifier"),
            refresh_token: get("refresh_token"),
            scope: get("scope"),
            pool: None,
        },
        form,
    ))
}

/// `POST /oauth2/token`.
pub(super) async fn token(
    State(state): State<Arc<AppState>>,
    site: Site,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (mut req, _) = match grant_request(&headers, &body) {
        Ok(r) => r,
        Err(e) => return token_error(e, false),
    };
    req.pool = Some(site.pool.id.clone());
    match state.engine.token_grant(req).await {
        Ok(tokens) => {
            let mut body = serde_json::Map::new();
            body.insert("access_token".into(), json!(tokens.access_token));
            if let Some(id) = tokens.id_token {
                body.insert("id_token".into(), json!(id));
            }
            if let Some(refresh) = tokens.refresh_token {
                body.insert("refresh_token".into(), json!(refresh));
            }
            body.insert("token_type".into(), json!("Bearer"));
            body.insert("expires_in".into(), json!(tokens.expires_in));
            no_store(Json(body).into_response())
        }
        Err(f) => failure(f, false),
    }
}

/// The token endpoint takes only POST (Cognito answers 405 to a GET).
pub(super) async fn token_get() -> Response {
    (
        StatusCode::METHOD_NOT_ALLOWED,
        Json(json!({"error": "invalid_request"})),
    )
        .into_response()
}

/// `GET|POST /oauth2/userInfo`: errors only in `WWW-Authenticate`, as Cognito sends them.
pub(super) async fn userinfo(
    State(state): State<Arc<AppState>>,
    _site: Site,
    headers: HeaderMap,
) -> Response {
    let bearer = headers
        .get("authorization")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split_once(' '))
        .filter(|(scheme, _)| scheme.eq_ignore_ascii_case("bearer"))
        .map(|(_, token)| token.trim().to_string())
        .filter(|t| !t.is_empty());
    let challenge = |status: StatusCode, error: &str, description: &str| {
        let mut r = status.into_response();
        if let Ok(v) = HeaderValue::from_str(&format!(
            "Bearer error=\"{error}\", error_description=\"{description}\""
        )) {
            r.headers_mut().insert(WWW_AUTHENTICATE, v);
        }
        r
    };
    let Some(token) = bearer else {
        return challenge(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Bad OAuth2 request at UserInfo Endpoint",
        );
    };
    match state.engine.userinfo(&token).await {
        Ok(Ok(claims)) => no_store(Json(claims).into_response()),
        Ok(Err(UserInfoError::InvalidRequest)) => challenge(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Bad OAuth2 request at UserInfo Endpoint",
        ),
        Ok(Err(UserInfoError::InvalidToken)) => challenge(
            StatusCode::UNAUTHORIZED,
            "invalid_token",
            "Access token is expired, disabled, or deleted, or the user has globally signed out.",
        ),
        Err(e) => engine_failure(e),
    }
}

/// `POST /oauth2/revoke`: 200 with an empty body, also for tokens already revoked or unknown.
pub(super) async fn revoke(
    State(state): State<Arc<AppState>>,
    _site: Site,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let (req, form) = match grant_request(&headers, &body) {
        Ok(r) => r,
        Err(e) => return token_error(e, true),
    };
    match state
        .engine
        .oauth_revoke(req, form.get("token").map(String::as_str))
        .await
    {
        Ok(()) => no_store(StatusCode::OK.into_response()),
        Err(f) => failure(f, true),
    }
}

/// `GET /logout`: ends the hosted session, then goes to a registered logout URL or back to the
/// sign-in page; an unregistered URL is never redirected to.
pub(super) async fn logout(
    State(state): State<Arc<AppState>>,
    page: PageRequest,
    headers: HeaderMap,
) -> Response {
    // OIDC RP-initiated logout may name the client only by `id_token_hint`. Its `aud` is read
    // without verification: it only picks which client's registered logout URLs apply.
    let client_id = page.params.get("client_id").cloned().or_else(|| {
        page.params
            .get("id_token_hint")
            .and_then(|t| hinted_client(t))
    });
    let client = match client_id {
        Some(id) => match state.engine.pool_client(&page.site.pool.id, &id).await {
            Ok(c) => c,
            Err(e) => return engine_failure(e),
        },
        None => None,
    };
    let Some(client) = client else {
        return page.error_page(StatusCode::BAD_REQUEST, "invalid_request", "logout_body");
    };
    let target = match check_logout(&page.params, &client) {
        Ok(t) => t,
        Err(_) => {
            return page.error_page(StatusCode::BAD_REQUEST, "redirect_mismatch", "logout_body");
        }
    };
    let after = match target {
        LogoutTarget::LogoutUri(to) => to,
        LogoutTarget::SignInAgain(params) => {
            let query: Vec<String> = params
                .iter()
                .map(|(k, v)| format!("{k}={}", tessera_domain::oauth::urlencode(v)))
                .collect();
            format!("login?{}", query.join("&"))
        }
    };
    let mut r = None;
    if let Some(cookie) = super::render::cookie(&headers, SESSION_COOKIE) {
        // A session that came through a SAML provider with IDPSignout is signed out there too:
        // the provider answers at /saml2/logout, which then goes on to `after`.
        if let Ok(Some(session)) = state
            .engine
            .hosted_session(&page.site.pool.id, &cookie)
            .await
        {
            r = super::federation::saml_logout(&state, &page, &session, &client.client_id, &after)
                .await;
        }
        if let Err(e) = state.engine.end_hosted_session(&cookie).await {
            return engine_failure(e);
        }
    }
    let mut r = r.unwrap_or_else(|| redirect(&after));
    r.headers_mut()
        .append(SET_COOKIE, page.site.cookies.clear(SESSION_COOKIE));
    r
}

/// The `aud` of an ID token, unverified.
fn hinted_client(token: &str) -> Option<String> {
    tessera_crypto::jwt::unverified_claims(token)?
        .get("aud")?
        .as_str()
        .map(str::to_string)
}

/// The pool's discovery document on the domain as well (a harmless extra: RPs that want the
/// metadata on the authorization server's host find it here).
pub(super) async fn domain_discovery(State(state): State<Arc<AppState>>, site: Site) -> Response {
    crate::wellknown::discovery(&state, &site.pool.id).await
}
