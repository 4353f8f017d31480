//! The hosted UI: a user-pool domain's pages and OAuth 2.0 / OIDC endpoints.
//!
//! Every domain is served at `{public_url}/domain/{name}/…`, so a fresh server needs no DNS; a
//! request whose Host is a custom domain, or `{prefix}.{domain_base}`, is routed to the same
//! handlers at Cognito's own paths (`/oauth2/authorize`, `/login` …) by [`host_routing`]. Pages
//! link relatively, so they work under both.
//!
//! The pages drive the engine's sign-in flows — the same ones InitiateAuth and
//! RespondToAuthChallenge run — and never decide a rule themselves.

// Page helpers return the page to show instead as their error, the axum idiom; a Response is
// large but these are cold paths.
#![allow(clippy::result_large_err)]

mod federation;
mod oauth;
mod pages;
mod passkeys;
pub(crate) mod render;

use crate::AppState;
use axum::Router;
use axum::extract::{Request, State};
use axum::http::{HeaderMap, StatusCode, Uri};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use render::{CSRF_COOKIE, CookieScope, Frame};
use std::collections::BTreeMap;
use std::sync::Arc;
use tessera_domain::pool::UserPool;

/// The path prefix under which every domain is reachable without DNS.
pub const DOMAIN_PATH: &str = "/domain";

/// Marks a request that reached a domain by its Host header (its cookies are scoped to `/`).
#[derive(Clone, Copy, Debug)]
pub(crate) struct HostRouted;

/// The domain routes, under `/domain/{name}` (a full path, so handlers see which domain).
pub(crate) fn routes() -> Router<Arc<AppState>> {
    let at = |path: &str| format!("{DOMAIN_PATH}/{{name}}{path}");
    Router::new()
        .route(&at("/oauth2/authorize"), get(oauth::authorize))
        .route(
            &at("/oauth2/token"),
            axum::routing::post(oauth::token).get(oauth::token_get),
        )
        .route(
            &at("/oauth2/userInfo"),
            get(oauth::userinfo).post(oauth::userinfo),
        )
        .route(&at("/oauth2/revoke"), axum::routing::post(oauth::revoke))
        .route(
            &at("/oauth2/idpresponse"),
            get(federation::idp_response).post(federation::idp_response_post),
        )
        .route(
            &at("/saml2/idpresponse"),
            axum::routing::post(federation::saml_response),
        )
        .route(&at("/saml2/metadata"), get(federation::saml_metadata))
        .route(&at("/saml2/logout"), get(federation::saml_logout_response))
        .route(&at("/logout"), get(oauth::logout))
        .route(&at("/error"), get(pages::error_page))
        .route(
            &at("/login"),
            get(pages::login_form).post(pages::login_submit),
        )
        .route(
            &at("/signup"),
            get(pages::signup_form).post(pages::signup_submit),
        )
        .route(
            &at("/confirmUser"),
            axum::routing::post(pages::confirm_submit),
        )
        .route(
            &at("/resendCode"),
            axum::routing::post(pages::resend_submit),
        )
        .route(
            &at("/forgotPassword"),
            get(pages::forgot_form).post(pages::forgot_submit),
        )
        .route(
            &at("/confirmForgotPassword"),
            axum::routing::post(pages::reset_submit),
        )
        .route(
            &at("/passkeys/add"),
            get(passkeys::add_form).post(passkeys::add_submit),
        )
        .route(&at("/logo/{key}"), get(pages::logo))
        .route(
            &at("/.well-known/openid-configuration"),
            get(oauth::domain_discovery),
        )
}

/// The public URL of a domain's endpoints for this deployment: `https://{prefix}.{domain_base}`
/// or `https://{custom domain}` when DNS is set up (`domain_base`), else the path form.
pub fn domain_url(public_url: &str, domain_base: Option<&str>, name: &str) -> String {
    match domain_base {
        Some(base) if !name.contains('.') => format!("https://{name}.{base}"),
        Some(_) => format!("https://{name}"),
        None => format!("{public_url}{DOMAIN_PATH}/{name}"),
    }
}

/// Sends requests for a domain's host to the domain routes.
pub(crate) async fn host_routing(
    State(state): State<Arc<AppState>>,
    mut req: Request,
    next: Next,
) -> Response {
    if let Some(name) = routed_domain(&state, req.headers(), req.uri()).await {
        let path_and_query = req
            .uri()
            .path_and_query()
            .map(|p| p.as_str().to_string())
            .unwrap_or_else(|| "/".into());
        if let Ok(uri) = format!("{DOMAIN_PATH}/{name}{path_and_query}").parse::<Uri>() {
            *req.uri_mut() = uri;
            req.extensions_mut().insert(HostRouted);
        }
    }
    next.run(req).await
}

/// The domain a request's Host names, if it is not the public URL's own host.
async fn routed_domain(state: &AppState, headers: &HeaderMap, uri: &Uri) -> Option<String> {
    if uri.path().starts_with("/_tessera/") || uri.path().starts_with(DOMAIN_PATH) {
        return None;
    }
    let host = headers.get("host")?.to_str().ok()?;
    let host = host
        .rsplit_once(':')
        .filter(|(_, port)| port.bytes().all(|b| b.is_ascii_digit()))
        .map_or(host, |(h, _)| h)
        .to_ascii_lowercase();
    let settings = state.engine.settings();
    let public_host = settings
        .issuer_base
        .split("://")
        .nth(1)
        .and_then(|rest| rest.split(['/', ':']).next())
        .unwrap_or_default();
    if host == public_host || !host.contains('.') || host.parse::<std::net::IpAddr>().is_ok() {
        return None;
    }
    if let Some(base) = settings.domain_base.as_deref()
        && let Some(prefix) = host.strip_suffix(base).and_then(|p| p.strip_suffix('.'))
        && !prefix.contains('.')
    {
        return Some(prefix.to_string());
    }
    // A custom domain: known only to the store.
    match state.engine.domain_pool(&host).await {
        Ok(Some(_)) => Some(host),
        _ => None,
    }
}

/// The domain a request is for, with its pool and cookie scope.
pub(crate) struct Site {
    pub pool: UserPool,
    pub cookies: CookieScope,
    /// The domain's name (prefix or custom).
    pub name: String,
}

impl Site {
    /// Resolves the domain from the request path (`/domain/{name}/…`).
    pub(crate) async fn of(
        state: &AppState,
        headers: &HeaderMap,
        uri: &Uri,
        host_routed: bool,
    ) -> Result<Self, Response> {
        let name = uri
            .path()
            .strip_prefix(DOMAIN_PATH)
            .and_then(|rest| rest.strip_prefix('/'))
            .and_then(|rest| rest.split('/').next())
            .unwrap_or_default()
            .to_string();
        let pool = match state.engine.domain_pool(&name).await {
            Ok(Some(pool)) => pool,
            Ok(None) => return Err((StatusCode::NOT_FOUND, "no such domain").into_response()),
            Err(e) => return Err(crate::error::ApiError::from(e).into_response()),
        };
        let secure = state.engine.settings().issuer_base.starts_with("https://")
            || headers
                .get("x-forwarded-proto")
                .and_then(|v| v.to_str().ok())
                .is_some_and(|p| p.eq_ignore_ascii_case("https"));
        let path = if host_routed {
            "/".to_string()
        } else {
            format!("{DOMAIN_PATH}/{name}")
        };
        Ok(Self {
            pool,
            cookies: CookieScope { path, secure },
            name,
        })
    }

    /// The shared parts of a page for this request.
    pub(crate) async fn frame(
        &self,
        state: &AppState,
        headers: &HeaderMap,
        query: &BTreeMap<String, String>,
        raw_query: &str,
    ) -> Frame {
        let lang = render::pick_language(query.get("lang").map(String::as_str), headers);
        let (csrf, new_csrf) = match render::cookie(headers, CSRF_COOKIE) {
            Some(c)
                if c.len() >= 32
                    && c.bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_') =>
            {
                (c, false)
            }
            _ => (tessera_crypto::random::token(32), true),
        };
        let client = query
            .get("client_id")
            .and_then(|c| tessera_domain::ClientId::parse(c).ok());
        let look = match &client {
            Some(c) => state.engine.hosted_look(&self.pool.id, c).await.ok(),
            None => None,
        }
        .unwrap_or_default();
        let (logo_url, custom_css) = branding(&look);
        Frame {
            lang,
            csrf,
            new_csrf,
            cookies: self.cookies.clone(),
            query: raw_query.to_string(),
            pool_name: self.pool.name.clone(),
            logo_url,
            custom_css,
        }
    }
}

/// The logo to show and the CSS to add for a client's branding: the managed-login style's colours
/// (as the page's CSS variables) and logo, then the classic customisation, whose allow-listed CSS
/// comes last so it wins.
fn branding(look: &tessera_engine::HostedLook) -> (Option<String>, Option<String>) {
    use base64::Engine as _;
    let mut css = String::new();
    if let Some(m) = &look.managed {
        let vars = [
            ("--accent", &m.primary_color),
            ("--accent-ink", &m.primary_text_color),
            ("--link", &m.accent_color),
            ("--focus", &m.focus_color),
            ("--page", &m.page_background),
            ("--card", &m.form_background),
            ("--card-border", &m.form_border),
        ];
        let set: Vec<String> = vars
            .iter()
            .filter_map(|(name, c)| c.as_ref().map(|c| format!("{name}:{}", c.css())))
            .collect();
        if !set.is_empty() {
            css.push_str(&format!(":root{{{}}}\n", set.join(";")));
        }
        if let Some(hover) = &m.primary_hover_color {
            css.push_str(&format!(
                ".submitButton-customizable:hover{{background:{};filter:none}}\n",
                hover.css()
            ));
        }
    }
    if let Some(classic) = &look.classic_css {
        css.push_str(classic);
    }
    let logo = match (
        look.managed.as_ref().and_then(|m| m.logo.as_ref()),
        &look.classic_logo,
    ) {
        (Some(l), _) => Some(format!(
            "data:{};base64,{}",
            l.media_type(),
            base64::engine::general_purpose::STANDARD.encode(&l.bytes)
        )),
        (None, Some(c)) => Some(format!("logo/{}", c.key)),
        (None, None) => None,
    };
    (logo, Some(css).filter(|c| !c.is_empty()))
}

impl axum::extract::FromRequestParts<Arc<AppState>> for Site {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut axum::http::request::Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Response> {
        let host_routed = parts.extensions.get::<HostRouted>().is_some();
        Self::of(state, &parts.headers, &parts.uri, host_routed).await
    }
}

/// A query string as a map (the last value of a repeated key wins).
pub(crate) fn query_map(raw: &str) -> BTreeMap<String, String> {
    form_pairs(raw.as_bytes()).into_iter().collect()
}

/// `application/x-www-form-urlencoded` pairs.
pub(crate) fn form_pairs(body: &[u8]) -> Vec<(String, String)> {
    form_urlencoded::parse(body).into_owned().collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms_decode_like_browsers_encode() {
        let pairs = form_pairs(b"a=1&b=x+y&c=%2Fcb%3Fq%3D1&d=&e&f=%zz&g=100%");
        assert_eq!(
            pairs,
            vec![
                ("a".into(), "1".into()),
                ("b".into(), "x y".into()),
                ("c".into(), "/cb?q=1".into()),
                ("d".into(), "".into()),
                ("e".into(), "".into()),
                ("f".into(), "%zz".into()),
                ("g".into(), "100%".into()),
            ]
        );
    }

    #[test]
    fn domain_urls_follow_the_deployment() {
        assert_eq!(
            domain_url("http://127.0.0.1:9229", None, "myapp"),
            "http://127.0.0.1:9229/domain/myapp"
        );
        assert_eq!(
            domain_url("http://x", Some("auth.example.com"), "myapp"),
            "https://myapp.auth.example.com"
        );
        assert_eq!(
            domain_url("http://x", Some("auth.example.com"), "login.example.org"),
            "https://login.example.org"
        );
    }
}
