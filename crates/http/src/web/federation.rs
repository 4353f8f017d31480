//! The hosted UI's doors to external identity providers: `/oauth2/authorize` handing a request
//! to an OIDC or social provider ([`start`]), and `/oauth2/idpresponse`, where the provider sends
//! the browser back ([`idp_response`]). The engine does the protocol; this binds the round trip
//! to the browser with a short-lived cookie holding the `state` sent to the provider, so an
//! answer (or a stolen `state`) replayed in another browser is refused.
//!
//! SAML providers answer at `/saml2/idpresponse` by a cross-site POST ([`saml_response`]),
//! which SameSite cookies don't accompany: that round trip is bound server-side instead, by
//! the RelayState and the AuthnRequest's ID (see `tessera_engine::saml`).
//! `/saml2/metadata` ([`saml_metadata`]) is the pool's SP metadata for the provider's admin.

use super::pages::{PageRequest, engine_failure, redirect, signed_in, signed_in_with};
use crate::AppState;
use axum::extract::State;
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::Arc;
use tessera_domain::oauth::AuthorizeRequest;
use tessera_engine::EngineError;

/// The cookie binding a federated sign-in to the browser that started it.
const FEDERATION_COOKIE: &str = "tessera-federation";
/// Its lifetime: as long as a federated sign-in may take.
const FEDERATION_COOKIE_SECS: u64 = 300;

/// This domain's `/oauth2/idpresponse`, as registered at providers, on the host the browser
/// used (so the binding cookie comes back): the custom domain or `{prefix}.{domain_base}` when
/// the request was routed by its Host header, else the path form under the public URL.
pub(super) fn callback_url(state: &AppState, page: &PageRequest) -> String {
    let settings = state.engine.settings();
    let name = &page.site.name;
    let base = if page.site.cookies.path != "/" {
        super::domain_url(&settings.issuer_base, None, name)
    } else if name.contains('.') {
        format!("https://{name}")
    } else {
        super::domain_url(&settings.issuer_base, settings.domain_base.as_deref(), name)
    };
    format!("{base}/oauth2/idpresponse")
}

/// A failed federated sign-in: a page saying so, with the reason; never a user.
fn failed(page: &PageRequest, e: EngineError) -> Response {
    match e {
        EngineError::Client(d) => page.frame.render(
            StatusCode::BAD_REQUEST,
            "message.html",
            "error_title",
            json!({
                "body": format!("{} {}", page.frame.text("federation_failed"), d.message),
                "error_code": "invalid_request",
            }),
        ),
        other => engine_failure(other),
    }
}

/// Sends an authorize request to `provider`.
pub(super) async fn start(
    state: &AppState,
    page: &PageRequest,
    req: &AuthorizeRequest,
    provider: &str,
) -> Response {
    let callback = callback_url(state, page);
    match state
        .engine
        .start_federation(req, &page.site.pool.id, provider, &callback)
        .await
    {
        Ok(start) => {
            let mut r = redirect(&start.location);
            r.headers_mut().append(
                SET_COOKIE,
                page.site.cookies.set(
                    FEDERATION_COOKIE,
                    &start.state,
                    Some(FEDERATION_COOKIE_SECS),
                ),
            );
            r
        }
        Err(e) => failed(page, e),
    }
}

/// `POST /oauth2/idpresponse`: a provider answering with `response_mode=form_post` (Sign in
/// with Apple). That post is cross-site, so the browser leaves the binding cookie out; the page
/// sends the browser on to the GET form here, a top-level navigation that carries it, and the
/// usual checks run there.
pub(super) async fn idp_response_post(
    State(state): State<Arc<AppState>>,
    page: PageRequest,
    body: axum::body::Bytes,
) -> Response {
    let form: std::collections::BTreeMap<String, String> =
        super::form_pairs(&body).into_iter().collect();
    let kept: Vec<(&str, &str)> = ["code", "state", "error", "user"]
        .into_iter()
        .filter_map(|k| form.get(k).map(|v| (k, v.as_str())))
        .collect();
    let target = tessera_domain::oauth::with_params(&callback_url(&state, &page), &kept, false);
    let mut r = page.frame.render(
        StatusCode::OK,
        "continue.html",
        "federation_continue_title",
        json!({ "target": target }),
    );
    r.headers_mut().insert(
        axum::http::header::CACHE_CONTROL,
        axum::http::HeaderValue::from_static("no-store"),
    );
    r
}

/// `GET /oauth2/idpresponse?code=…&state=…` (or `?error=…`).
pub(super) async fn idp_response(
    State(state): State<Arc<AppState>>,
    page: PageRequest,
    headers: HeaderMap,
) -> Response {
    let given = page.params.get("state").cloned().unwrap_or_default();
    let cookie = super::render::cookie(&headers, FEDERATION_COOKIE).unwrap_or_default();
    let bound =
        !given.is_empty() && tessera_crypto::constant_time_eq(given.as_bytes(), cookie.as_bytes());
    let refuse = |why: &str| {
        tracing::warn!(target: "audit", pool = %page.site.pool.id, reason = why, "federated sign-in refused");
        failed(
            &page,
            EngineError::Client(tessera_domain::DomainError::invalid_parameter(why)),
        )
    };
    if !bound {
        return refuse("The response does not belong to a sign-in started in this browser.");
    }
    if let Some(error) = page.params.get("error") {
        return refuse(&format!("The identity provider answered {error}."));
    }
    let Some(code) = page.params.get("code").filter(|c| !c.is_empty()) else {
        return refuse("The identity provider sent no code.");
    };
    let callback = callback_url(&state, &page);
    let done = match state
        .engine
        .finish_federation(
            &page.site.pool.id,
            &given,
            code,
            &callback,
            page.params.get("user").map(String::as_str),
        )
        .await
    {
        Ok(d) => d,
        Err(e) => return failed(&page, e),
    };
    let mut r = signed_in(&state, &page, &done.request, done.sub, done.auth_time).await;
    r.headers_mut()
        .append(SET_COOKIE, page.site.cookies.clear(FEDERATION_COOKIE));
    r
}

/// `POST /saml2/idpresponse` (`SAMLResponse`, `RelayState`): the SAML assertion consumer.
pub(super) async fn saml_response(
    State(state): State<Arc<AppState>>,
    page: PageRequest,
    body: axum::body::Bytes,
) -> Response {
    let pairs = super::form_pairs(&body);
    let field = |name: &str| {
        pairs
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    };
    let callback = callback_url(&state, &page);
    let done = match state
        .engine
        .finish_saml(
            &page.site.pool.id,
            field("SAMLResponse").unwrap_or_default(),
            field("RelayState"),
            &callback,
        )
        .await
    {
        Ok(d) => d,
        Err(e) => return failed(&page, e),
    };
    let mut r = signed_in_with(
        &state,
        &page,
        &done.request,
        done.sub,
        done.auth_time,
        done.saml,
    )
    .await;
    r.headers_mut()
        .append(SET_COOKIE, page.site.cookies.clear(FEDERATION_COOKIE));
    r
}

/// Where `/logout` goes on after a SAML provider's single logout: `after` as `/logout` would
/// have redirected, made absolute (a relative one is relative to the domain).
pub(super) async fn saml_logout(
    state: &AppState,
    page: &PageRequest,
    session: &tessera_domain::oauth::HostedSession,
    client_id: &tessera_domain::ClientId,
    after: &str,
) -> Option<Response> {
    let callback = callback_url(state, page);
    let absolute = if after.contains("://") {
        after.to_string()
    } else {
        let base = callback.trim_end_matches("/oauth2/idpresponse");
        format!("{base}/{after}")
    };
    match state
        .engine
        .start_saml_logout(session, client_id, &absolute, &callback)
        .await
    {
        Ok(Some(to)) => Some(redirect(&to)),
        Ok(None) => None,
        // The local session ends either way; the provider's refusal is logged.
        Err(e) => {
            tracing::warn!(pool = %page.site.pool.id, error = %e, "SAML single logout not sent");
            None
        }
    }
}

/// `GET /saml2/logout?SAMLResponse=…&RelayState=…`: the provider's answer to our
/// LogoutRequest; on to where `/logout` was going.
pub(super) async fn saml_logout_response(
    State(state): State<Arc<AppState>>,
    page: PageRequest,
    uri: axum::http::Uri,
) -> Response {
    let relay = page.params.get("RelayState").cloned().unwrap_or_default();
    let callback = callback_url(&state, &page);
    match state
        .engine
        .finish_saml_logout(
            &page.site.pool.id,
            uri.query().unwrap_or_default(),
            &relay,
            &callback,
        )
        .await
    {
        Ok(after) => redirect(&after),
        Err(e) => failed(&page, e),
    }
}

/// `GET /saml2/metadata`: the pool's SP metadata (entity id, ACS, SLO, certificates).
pub(super) async fn saml_metadata(
    State(state): State<Arc<AppState>>,
    page: PageRequest,
) -> Response {
    let callback = callback_url(&state, &page);
    match state
        .engine
        .saml_sp_metadata(&page.site.pool.id, &callback)
        .await
    {
        Ok(xml) => (
            [(
                axum::http::header::CONTENT_TYPE,
                "application/samlmetadata+xml",
            )],
            xml,
        )
            .into_response(),
        Err(e) => engine_failure(e),
    }
}
