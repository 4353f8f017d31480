//! The OAuth 2.0 / OpenID Connect rules of a user-pool domain: what an app client allows, what
//! an authorization request may ask for, PKCE, redirect and logout URLs, authorization codes and
//! the hosted sign-in session.
//!
//! Cognito first, then the OAuth 2.0 Security BCP: redirect URIs match a registered one exactly,
//! PKCE is S256 only, a code is single use, bound to its client, redirect URI, challenge, nonce and
//! user, and lives five minutes. Everything here is pure: the engine stores and signs.

use crate::client::AppClient;
use crate::error::{DomainError, DomainResult, ErrorKind};
use crate::ids::{ClientId, Sub, UserPoolId};
use crate::time::Timestamp;
use crate::tokens::ADMIN_SCOPE;
use serde::{Deserialize, Serialize};
use serde_json::Value;
use std::collections::BTreeMap;
use std::time::Duration;

pub const OPENID: &str = "openid";

/// How long an authorization code can be redeemed.
pub const CODE_LIFETIME: Duration = Duration::from_secs(5 * 60);

/// How long the hosted UI remembers a sign-in (Cognito: one hour, not configurable).
pub const SESSION_LIFETIME: Duration = Duration::from_secs(60 * 60);

/// The OAuth flows an app client may allow.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum OAuthFlow {
    Code,
    Implicit,
    ClientCredentials,
}

impl OAuthFlow {
    fn parse(s: &str) -> Option<Self> {
        match s {
            "code" => Some(Self::Code),
            "implicit" => Some(Self::Implicit),
            "client_credentials" => Some(Self::ClientCredentials),
            _ => None,
        }
    }
}

/// A client's OAuth settings, read from what Create/UpdateUserPoolClient stored.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OAuthSettings {
    /// `AllowedOAuthFlowsUserPoolClient`: every other field is inert until it is true.
    pub enabled: bool,
    pub flows: Vec<OAuthFlow>,
    pub scopes: Vec<String>,
    pub callback_urls: Vec<String>,
    pub logout_urls: Vec<String>,
    pub default_redirect_uri: Option<String>,
    pub identity_providers: Vec<String>,
}

fn strings(settings: &BTreeMap<String, Value>, key: &str) -> Vec<String> {
    settings
        .get(key)
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(Value::as_str)
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

impl OAuthSettings {
    pub fn of(client: &AppClient) -> Self {
        Self::from_settings(&client.config.settings)
    }

    /// Where the browser may be sent back: the requested URI (else the client's default) when
    /// it is exactly one of the client's CallbackURLs; `None` is a redirect mismatch.
    pub fn redirect_uri(&self, requested: Option<&str>) -> Option<String> {
        let uri = match requested.filter(|u| !u.is_empty()) {
            Some(u) => u.to_string(),
            None => self.default_redirect_uri.clone()?,
        };
        self.callback_urls.contains(&uri).then_some(uri)
    }

    pub fn from_settings(settings: &BTreeMap<String, Value>) -> Self {
        Self {
            enabled: settings
                .get("AllowedOAuthFlowsUserPoolClient")
                .and_then(Value::as_bool)
                .unwrap_or(false),
            flows: strings(settings, "AllowedOAuthFlows")
                .iter()
                .filter_map(|f| OAuthFlow::parse(f))
                .collect(),
            scopes: strings(settings, "AllowedOAuthScopes"),
            callback_urls: strings(settings, "CallbackURLs"),
            logout_urls: strings(settings, "LogoutURLs"),
            default_redirect_uri: settings
                .get("DefaultRedirectURI")
                .and_then(Value::as_str)
                .map(str::to_string),
            identity_providers: strings(settings, "SupportedIdentityProviders"),
        }
    }

    pub fn allows(&self, flow: OAuthFlow) -> bool {
        self.enabled && self.flows.contains(&flow)
    }

    /// The rules Create/UpdateUserPoolClient enforce on the OAuth fields.
    pub fn check(&self, has_secret: bool) -> DomainResult<()> {
        let invalid_flow = |m: &str| DomainError::new(ErrorKind::InvalidOAuthFlow, m);
        if self.flows.contains(&OAuthFlow::ClientCredentials) {
            if self.flows.len() > 1 {
                return Err(invalid_flow(
                    "client_credentials flow can not be selected along with code flow or implicit flow.",
                ));
            }
            if !has_secret {
                return Err(invalid_flow(
                    "client_credentials flow can not be selected if client does not have a client secret.",
                ));
            }
        }
        for url in self.callback_urls.iter().chain(&self.logout_urls) {
            check_registered_url(url)?;
        }
        if let Some(default) = &self.default_redirect_uri
            && !self.callback_urls.contains(default)
        {
            return Err(DomainError::invalid_parameter(
                "DefaultRedirectURI must be one of the CallbackURLs.",
            ));
        }
        Ok(())
    }
}

/// A callback or logout URL as Cognito registers it: absolute, no fragment, HTTPS except on the
/// loopback host; custom schemes (`myapp://cb`) are allowed for native apps.
pub fn check_registered_url(url: &str) -> DomainResult<()> {
    let invalid = || DomainError::invalid_parameter(format!("{url} is not a valid URL."));
    let (scheme, rest) = url.split_once("://").ok_or_else(invalid)?;
    if scheme.is_empty()
        || !scheme
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '+' | '-' | '.'))
        || url.contains('#')
        || url.chars().any(char::is_whitespace)
    {
        return Err(invalid());
    }
    if scheme.eq_ignore_ascii_case("http") {
        let host = authority_host(rest);
        if !matches!(host, "localhost" | "127.0.0.1" | "[::1]") {
            return Err(DomainError::invalid_parameter(
                "Invalid redirect url. HTTPS is required over HTTP except for http://localhost.",
            ));
        }
    }
    Ok(())
}

/// The host of `host[:port]/path…` (brackets kept for IPv6).
fn authority_host(rest: &str) -> &str {
    let authority = rest.split(['/', '?']).next().unwrap_or_default();
    let authority = authority.rsplit('@').next().unwrap_or(authority);
    if authority.starts_with('[') {
        return authority.split_inclusive(']').next().unwrap_or(authority);
    }
    authority.split(':').next().unwrap_or(authority)
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum ResponseType {
    Code,
    Token,
}

/// `prompt` (managed login): `login` forces the form, `none` forbids it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum Prompt {
    Login,
    None,
    /// `select_account` and `consent`: accepted, nothing to select among for local users.
    Accepted,
}

/// A validated `/oauth2/authorize` request (also what `/login` and the other pages carry).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizeRequest {
    pub client_id: ClientId,
    /// A client named by its metadata document URL (CIMD): the URL; `client_id` is then the
    /// app client its policy maps it to.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_url: Option<String>,
    pub response_type: ResponseType,
    pub redirect_uri: String,
    pub state: Option<String>,
    /// The granted scopes: what was asked for, or every scope of the client.
    pub scopes: Vec<String>,
    pub nonce: Option<String>,
    /// An S256 code challenge.
    pub code_challenge: Option<String>,
    pub identity_provider: Option<String>,
    pub prompt: Option<Prompt>,
    pub login_hint: Option<String>,
}

/// Why an authorization request failed, and so where the user is sent.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum AuthorizeError {
    /// Nothing trustworthy to redirect to: the domain's error page.
    Page { error: &'static str },
    /// Back to the (registered) redirect URI with `error`, `error_description` and `state`.
    Redirect {
        redirect_uri: String,
        error: &'static str,
        description: Option<String>,
        state: Option<String>,
    },
}

impl AuthorizeError {
    pub fn code(&self) -> &'static str {
        match self {
            Self::Page { error } | Self::Redirect { error, .. } => error,
        }
    }
}

/// Checks an authorize request against the client it names. `client` is None when the
/// client_id names no client of this domain's pool.
pub fn check_authorize(
    params: &BTreeMap<String, String>,
    client: Option<&AppClient>,
) -> Result<AuthorizeRequest, AuthorizeError> {
    let get = |k: &str| params.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let Some(client) = client else {
        return Err(AuthorizeError::Page {
            error: "invalid_request",
        });
    };
    let settings = OAuthSettings::of(client);
    if !settings.enabled {
        return Err(AuthorizeError::Page {
            error: "unauthorized_client",
        });
    }
    let Some(redirect_uri) = settings.redirect_uri(get("redirect_uri")) else {
        return Err(AuthorizeError::Page {
            error: "redirect_mismatch",
        });
    };
    let state = get("state").map(str::to_string);
    let fail = |error: &'static str, description: Option<&str>| AuthorizeError::Redirect {
        redirect_uri: redirect_uri.clone(),
        error,
        description: description.map(str::to_string),
        state: state.clone(),
    };
    let response_type = match get("response_type") {
        Some("code") => ResponseType::Code,
        Some("token") => ResponseType::Token,
        Some(_) => return Err(fail("unsupported_response_type", None)),
        None => return Err(fail("invalid_request", None)),
    };
    let flow = match response_type {
        ResponseType::Code => OAuthFlow::Code,
        ResponseType::Token => OAuthFlow::Implicit,
    };
    if !settings.allows(flow) {
        return Err(fail("unauthorized_client", None));
    }
    let code_challenge = match (get("code_challenge"), get("code_challenge_method")) {
        (None, None) => None,
        (Some(c), Some("S256")) if response_type == ResponseType::Code => {
            if !is_s256_challenge(c) {
                return Err(fail("invalid_request", Some("invalid code_challenge")));
            }
            Some(c.to_string())
        }
        (Some(_), Some("S256")) => None,
        (_, Some(_)) => {
            return Err(fail(
                "invalid_request",
                Some("unsupported code_challenge_method"),
            ));
        }
        (Some(_), None) => {
            return Err(fail(
                "invalid_request",
                Some("code_challenge_method is required"),
            ));
        }
    };
    let scopes = grant_scopes(get("scope"), &settings.scopes).map_err(|e| fail(e, None))?;
    let prompt = match get("prompt") {
        None => None,
        Some(p) => {
            let values: Vec<&str> = p.split(' ').filter(|s| !s.is_empty()).collect();
            if values.contains(&"none") && values.len() > 1 {
                return Err(fail("invalid_request", Some("prompt none is exclusive")));
            }
            if values.contains(&"none") {
                Some(Prompt::None)
            } else if values.contains(&"login") {
                Some(Prompt::Login)
            } else if values
                .iter()
                .all(|v| matches!(*v, "select_account" | "consent"))
            {
                Some(Prompt::Accepted)
            } else {
                return Err(fail("invalid_request", Some("unsupported prompt")));
            }
        }
    };
    let identity_provider = get("identity_provider").map(str::to_string);
    if let Some(idp) = &identity_provider
        && !settings.identity_providers.iter().any(|p| p == idp)
    {
        return Err(fail(
            "invalid_request",
            Some("identity_provider is not supported by the client"),
        ));
    }
    Ok(AuthorizeRequest {
        client_id: client.client_id.clone(),
        client_url: get("client_id")
            .filter(|c| c.starts_with("https://"))
            .map(str::to_string),
        response_type,
        redirect_uri,
        state,
        scopes,
        nonce: get("nonce").map(str::to_string),
        code_challenge,
        identity_provider,
        prompt,
        login_hint: get("login_hint").map(str::to_string),
    })
}

/// RFC 7636: BASE64URL(SHA256(verifier)) is 43 characters of the URL-safe alphabet.
fn is_s256_challenge(c: &str) -> bool {
    c.len() == 43
        && c.bytes()
            .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
}

/// RFC 7636 §4.1: 43–128 unreserved characters.
pub fn is_code_verifier(v: &str) -> bool {
    (43..=128).contains(&v.len())
        && v.bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~'))
}

/// The scopes granted for a request: every requested scope must be allowed for the client
/// (`invalid_scope` otherwise), `email`, `phone` and `profile` need `openid`, and nothing asked
/// means everything the client allows.
pub fn grant_scopes(
    requested: Option<&str>,
    allowed: &[String],
) -> Result<Vec<String>, &'static str> {
    let Some(requested) = requested else {
        return Ok(allowed.to_vec());
    };
    let mut granted: Vec<String> = Vec::new();
    for scope in requested.split(' ').filter(|s| !s.is_empty()) {
        if !allowed.iter().any(|a| a == scope) {
            return Err("invalid_scope");
        }
        if !granted.iter().any(|g| g == scope) {
            granted.push(scope.to_string());
        }
    }
    let needs_openid = granted
        .iter()
        .any(|s| matches!(s.as_str(), "email" | "phone" | "profile"));
    if needs_openid && !granted.iter().any(|s| s == OPENID) {
        return Err("invalid_scope");
    }
    if granted.is_empty() {
        return Err("invalid_scope");
    }
    Ok(granted)
}

/// `client_credentials` scopes: custom scopes only; none asked means all the client's custom ones.
pub fn client_credentials_scopes(
    requested: Option<&str>,
    allowed: &[String],
) -> Result<Vec<String>, &'static str> {
    let custom: Vec<String> = allowed
        .iter()
        .filter(|s| s.contains('/'))
        .cloned()
        .collect();
    let granted = match requested.filter(|r| !r.trim().is_empty()) {
        None => custom,
        Some(r) => {
            let mut granted = Vec::new();
            for scope in r.split(' ').filter(|s| !s.is_empty()) {
                if !custom.iter().any(|c| c == scope) {
                    return Err("invalid_scope");
                }
                if !granted.iter().any(|g: &String| g == scope) {
                    granted.push(scope.to_string());
                }
            }
            granted
        }
    };
    if granted.is_empty() {
        return Err("invalid_scope");
    }
    Ok(granted)
}

/// Whether an access token with these scopes may call the user-pool self-service API.
pub fn grants_admin(scopes: &[String]) -> bool {
    scopes.iter().any(|s| s == ADMIN_SCOPE)
}

/// An authorization code as stored (under the SHA-256 of the code, never the code).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct AuthorizationCode {
    pub pool_id: UserPoolId,
    pub client_id: ClientId,
    /// The metadata URL of a CIMD client: only that URL redeems the code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_url: Option<String>,
    pub sub: Sub,
    pub redirect_uri: String,
    pub scopes: Vec<String>,
    pub nonce: Option<String>,
    pub code_challenge: Option<String>,
    /// When the user proved who they are (the ID token's `auth_time`).
    pub auth_time: Timestamp,
    pub expires_at: Timestamp,
}

/// Why a code can't be redeemed. All of them are `invalid_grant` on the wire.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CodeRejection {
    Expired,
    OtherClient,
    RedirectMismatch,
    VerifierMissing,
    VerifierMismatch,
}

impl AuthorizationCode {
    /// Checks a token request against the code. `verifier_digest` is SHA-256 of the
    /// code_verifier, base64url without padding, when one was sent.
    pub fn redeem(
        &self,
        client: &ClientId,
        client_url: Option<&str>,
        redirect_uri: Option<&str>,
        verifier_challenge: Option<&str>,
        now: Timestamp,
    ) -> Result<(), CodeRejection> {
        if now >= self.expires_at {
            return Err(CodeRejection::Expired);
        }
        if &self.client_id != client || self.client_url.as_deref() != client_url {
            return Err(CodeRejection::OtherClient);
        }
        if redirect_uri != Some(self.redirect_uri.as_str()) {
            return Err(CodeRejection::RedirectMismatch);
        }
        match (&self.code_challenge, verifier_challenge) {
            (None, _) => Ok(()),
            (Some(_), None) => Err(CodeRejection::VerifierMissing),
            (Some(expected), Some(given)) => {
                if same_bytes(expected.as_bytes(), given.as_bytes()) {
                    Ok(())
                } else {
                    Err(CodeRejection::VerifierMismatch)
                }
            }
        }
    }
}

/// Compares without stopping at the first difference.
fn same_bytes(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

/// A hosted-UI sign-in remembered by a cookie: valid for every client of the pool for an hour.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct HostedSession {
    pub pool_id: UserPoolId,
    pub sub: Sub,
    pub auth_time: Timestamp,
    pub expires_at: Timestamp,
    /// The SAML session the user signed in with, for single logout from `/logout`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub saml: Option<crate::identity_providers::SamlSignIn>,
    /// Its SessionId in ListUserSessions (see `sessions::sso_session_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub session_id: Option<String>,
    /// The app client the user signed in through.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub client_id: Option<ClientId>,
}

impl HostedSession {
    pub fn is_live(&self, now: Timestamp) -> bool {
        now < self.expires_at
    }
}

/// What `/logout` was asked to do after clearing the session.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LogoutTarget {
    /// Redirect to a registered logout URL.
    LogoutUri(String),
    /// Sign out and start a new sign-in (Cognito's `redirect_uri` + `response_type` form).
    SignInAgain(BTreeMap<String, String>),
}

/// Cognito's `/logout`: `client_id` + `logout_uri` (a registered LogoutURL), or `client_id` +
/// `redirect_uri` + `response_type` (back to the sign-in page); OIDC's
/// `post_logout_redirect_uri` is accepted as a `logout_uri`. Anything else is the error page
/// Cognito shows ("Required String parameter 'redirect_uri' is not present").
pub fn check_logout(
    params: &BTreeMap<String, String>,
    client: &AppClient,
) -> Result<LogoutTarget, AuthorizeError> {
    let get = |k: &str| params.get(k).map(String::as_str).filter(|v| !v.is_empty());
    let settings = OAuthSettings::of(client);
    let page = AuthorizeError::Page {
        error: "redirect_mismatch",
    };
    if let Some(uri) = get("logout_uri").or_else(|| get("post_logout_redirect_uri")) {
        if !settings.enabled || !settings.logout_urls.iter().any(|u| u == uri) {
            return Err(page);
        }
        let target = match get("state") {
            Some(state) if get("post_logout_redirect_uri").is_some() => {
                let sep = if uri.contains('?') { '&' } else { '?' };
                format!("{uri}{sep}state={}", urlencode(state))
            }
            _ => uri.to_string(),
        };
        return Ok(LogoutTarget::LogoutUri(target));
    }
    if get("redirect_uri").is_some() && get("response_type").is_some() {
        // Checked again, like any authorize request, when the sign-in page is opened.
        check_authorize(params, Some(client))?;
        let keep = [
            "client_id",
            "redirect_uri",
            "response_type",
            "state",
            "scope",
            "nonce",
            "code_challenge",
            "code_challenge_method",
        ];
        return Ok(LogoutTarget::SignInAgain(
            params
                .iter()
                .filter(|(k, _)| keep.contains(&k.as_str()))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
        ));
    }
    Err(page)
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
pub fn urlencode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// `uri` with `pairs` appended as a query (`?` or `&`) or, for implicit grants, as a fragment.
pub fn with_params(uri: &str, pairs: &[(&str, &str)], fragment: bool) -> String {
    let encoded: Vec<String> = pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect();
    let sep = if fragment {
        '#'
    } else if uri.contains('?') {
        '&'
    } else {
        '?'
    };
    format!("{uri}{sep}{}", encoded.join("&"))
}

/// Where an authorize error sends the browser: the redirect with its parameters, or None for
/// the error page.
pub fn error_redirect(e: &AuthorizeError) -> Option<String> {
    match e {
        AuthorizeError::Page { .. } => None,
        AuthorizeError::Redirect {
            redirect_uri,
            error,
            description,
            state,
        } => {
            let mut pairs: Vec<(&str, &str)> = vec![("error", error)];
            if let Some(d) = description {
                pairs.push(("error_description", d));
            }
            if let Some(s) = state {
                pairs.push(("state", s));
            }
            Some(with_params(redirect_uri, &pairs, false))
        }
    }
}

/// The claims `/oauth2/userInfo` answers with for these scopes: `sub` and `username` always;
/// `email`/`phone` their attributes, with the `*_verified` flags as the strings Cognito sends;
/// `profile` every other readable attribute, custom ones included.
pub fn userinfo_claims(
    sub: &Sub,
    username: &str,
    attributes: &BTreeMap<String, String>,
    scopes: &[String],
    may_read: impl Fn(&str) -> bool,
) -> serde_json::Map<String, Value> {
    let has = |s: &str| scopes.iter().any(|g| g == s);
    let mut out = serde_json::Map::new();
    out.insert("sub".into(), Value::String(sub.to_string()));
    for (name, value) in attributes {
        if name == "sub" || !may_read(name) {
            continue;
        }
        let wanted = match name.as_str() {
            "email" | "email_verified" => has("email"),
            "phone_number" | "phone_number_verified" => has("phone"),
            _ => has("profile"),
        };
        if wanted {
            out.insert(name.clone(), Value::String(value.clone()));
        }
    }
    out.insert("username".into(), Value::String(username.to_string()));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::client::ClientConfig;
    use serde_json::json;

    fn client(settings: Value) -> AppClient {
        let Value::Object(map) = settings else {
            panic!("settings must be an object")
        };
        AppClient {
            pool_id: UserPoolId::parse("us-east-1_abcdefghi").unwrap(),
            client_id: ClientId::parse("26characterclientidabcdefg").unwrap(),
            name: "web".into(),
            secrets: Vec::new(),
            created_at: Timestamp::from_secs(0),
            modified_at: Timestamp::from_secs(0),
            config: ClientConfig {
                settings: map.into_iter().collect(),
                ..ClientConfig::default()
            },
        }
    }

    fn web() -> AppClient {
        client(json!({
            "AllowedOAuthFlowsUserPoolClient": true,
            "AllowedOAuthFlows": ["code", "implicit"],
            "AllowedOAuthScopes": ["openid", "email", "profile", "api/read"],
            "CallbackURLs": ["https://app.example.com/cb", "http://localhost:3000/cb"],
            "LogoutURLs": ["https://app.example.com/bye"],
            "SupportedIdentityProviders": ["COGNITO"],
        }))
    }

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    const CHALLENGE: &str = "E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM";

    fn base() -> Vec<(&'static str, &'static str)> {
        vec![
            ("client_id", "26characterclientidabcdefg"),
            ("response_type", "code"),
            ("redirect_uri", "https://app.example.com/cb"),
            ("state", "xyz"),
        ]
    }

    #[test]
    fn a_valid_request_grants_every_client_scope_when_none_is_asked() {
        let req = check_authorize(&params(&base()), Some(&web())).unwrap();
        assert_eq!(req.response_type, ResponseType::Code);
        assert_eq!(req.scopes, ["openid", "email", "profile", "api/read"]);
        assert_eq!(req.state.as_deref(), Some("xyz"));
    }

    #[test]
    fn redirect_uris_match_exactly_or_the_error_page_is_shown() {
        for bad in [
            "https://app.example.com/cb/",
            "https://APP.example.com/cb",
            "https://app.example.com:443/cb",
            "https://app.example.com/cb?x=1",
            "https://evil.example.com/cb",
        ] {
            let mut p = base();
            p[2] = ("redirect_uri", bad);
            assert_eq!(
                check_authorize(&params(&p), Some(&web())),
                Err(AuthorizeError::Page {
                    error: "redirect_mismatch"
                }),
                "{bad}"
            );
        }
        assert!(matches!(
            check_authorize(&params(&base()), None),
            Err(AuthorizeError::Page { .. })
        ));
    }

    #[test]
    fn pkce_is_s256_only() {
        let mut p = base();
        p.push(("code_challenge", CHALLENGE));
        p.push(("code_challenge_method", "S256"));
        let req = check_authorize(&params(&p), Some(&web())).unwrap();
        assert_eq!(req.code_challenge.as_deref(), Some(CHALLENGE));
        for method in [Some("plain"), None] {
            let mut p = base();
            p.push(("code_challenge", CHALLENGE));
            if let Some(m) = method {
                p.push(("code_challenge_method", m));
            }
            let e = check_authorize(&params(&p), Some(&web())).unwrap_err();
            assert_eq!(e.code(), "invalid_request");
            let to = error_redirect(&e).unwrap();
            assert!(to.starts_with("https://app.example.com/cb?error=invalid_request"));
            assert!(to.ends_with("&state=xyz"), "{to}");
        }
    }

    #[test]
    fn scopes_must_be_allowed_and_attribute_scopes_need_openid() {
        assert_eq!(
            grant_scopes(Some("openid email"), &web_scopes()),
            Ok(vec!["openid".to_string(), "email".to_string()])
        );
        assert_eq!(
            grant_scopes(Some("email"), &web_scopes()),
            Err("invalid_scope")
        );
        assert_eq!(
            grant_scopes(Some("openid phone"), &web_scopes()),
            Err("invalid_scope")
        );
        assert_eq!(
            grant_scopes(Some("offline_access"), &web_scopes()),
            Err("invalid_scope")
        );
        assert_eq!(
            grant_scopes(Some("api/read"), &web_scopes()),
            Ok(vec!["api/read".to_string()])
        );
    }

    fn web_scopes() -> Vec<String> {
        OAuthSettings::of(&web()).scopes
    }

    #[test]
    fn flows_must_be_allowed() {
        let mut p = base();
        p[1] = ("response_type", "token");
        let only_code = client(json!({
            "AllowedOAuthFlowsUserPoolClient": true,
            "AllowedOAuthFlows": ["code"],
            "AllowedOAuthScopes": ["openid"],
            "CallbackURLs": ["https://app.example.com/cb"],
        }));
        assert_eq!(
            check_authorize(&params(&p), Some(&only_code))
                .unwrap_err()
                .code(),
            "unauthorized_client"
        );
        p[1] = ("response_type", "id_token");
        assert_eq!(
            check_authorize(&params(&p), Some(&web()))
                .unwrap_err()
                .code(),
            "unsupported_response_type"
        );
        let disabled = client(json!({"CallbackURLs": ["https://app.example.com/cb"]}));
        assert_eq!(
            check_authorize(&params(&base()), Some(&disabled)),
            Err(AuthorizeError::Page {
                error: "unauthorized_client"
            })
        );
    }

    #[test]
    fn client_settings_follow_cognitos_rules() {
        let s = |v: Value| OAuthSettings::of(&client(v));
        let both = s(json!({"AllowedOAuthFlowsUserPoolClient": true,
            "AllowedOAuthFlows": ["code", "client_credentials"], "AllowedOAuthScopes": ["a/b"]}));
        assert!(
            both.check(true)
                .unwrap_err()
                .message
                .contains("along with code flow")
        );
        let cc = s(json!({"AllowedOAuthFlowsUserPoolClient": true,
            "AllowedOAuthFlows": ["client_credentials"], "AllowedOAuthScopes": ["a/b"]}));
        assert!(
            cc.check(false)
                .unwrap_err()
                .message
                .contains("does not have a client secret")
        );
        assert_eq!(cc.check(true), Ok(()));
        assert!(check_registered_url("http://example.com/cb").is_err());
        assert!(check_registered_url("https://example.com/cb#frag").is_err());
        assert!(check_registered_url("relative/cb").is_err());
        for ok in [
            "http://localhost:3000/cb",
            "http://127.0.0.1/cb",
            "http://[::1]:8080/cb",
            "myapp://callback",
            "https://example.com/cb?x=1",
        ] {
            assert_eq!(check_registered_url(ok), Ok(()), "{ok}");
        }
    }

    #[test]
    fn codes_are_bound_to_client_redirect_and_verifier() {
        let code = AuthorizationCode {
            pool_id: UserPoolId::parse("us-east-1_abcdefghi").unwrap(),
            client_id: ClientId::parse("26characterclientidabcdefg").unwrap(),
            client_url: None,
            sub: Sub(uuid::Uuid::nil()),
            redirect_uri: "https://app.example.com/cb".into(),
            scopes: vec!["openid".into()],
            nonce: None,
            code_challenge: Some(CHALLENGE.into()),
            auth_time: Timestamp::from_secs(100),
            expires_at: Timestamp::from_secs(400),
        };
        let me = code.client_id.clone();
        let other = ClientId::parse("zzzzzzzzzzzzzzzzzzzzzzzzzz").unwrap();
        let now = Timestamp::from_secs(200);
        let cb = Some("https://app.example.com/cb");
        assert_eq!(code.redeem(&me, None, cb, Some(CHALLENGE), now), Ok(()));
        assert_eq!(
            code.redeem(&me, None, cb, Some(CHALLENGE), Timestamp::from_secs(400)),
            Err(CodeRejection::Expired)
        );
        assert_eq!(
            code.redeem(&other, None, cb, Some(CHALLENGE), now),
            Err(CodeRejection::OtherClient)
        );
        assert_eq!(
            code.redeem(
                &me,
                None,
                Some("https://app.example.com/cb/"),
                Some(CHALLENGE),
                now
            ),
            Err(CodeRejection::RedirectMismatch)
        );
        assert_eq!(
            code.redeem(&me, None, cb, None, now),
            Err(CodeRejection::VerifierMissing)
        );
        assert_eq!(
            code.redeem(&me, None, cb, Some("x"), now),
            Err(CodeRejection::VerifierMismatch)
        );
        // A CIMD client's code: only its metadata URL redeems it, and never without one.
        let url = "https://c.example/m.json";
        let cimd = AuthorizationCode {
            client_url: Some(url.into()),
            ..code.clone()
        };
        assert_eq!(
            cimd.redeem(&me, Some(url), cb, Some(CHALLENGE), now),
            Ok(())
        );
        for presented in [None, Some("https://c.example/other.json")] {
            assert_eq!(
                cimd.redeem(&me, presented, cb, Some(CHALLENGE), now),
                Err(CodeRejection::OtherClient)
            );
        }
        assert_eq!(
            code.redeem(&me, Some(url), cb, Some(CHALLENGE), now),
            Err(CodeRejection::OtherClient)
        );
    }

    #[test]
    fn logout_redirects_only_to_registered_urls() {
        let c = web();
        let p = |pairs: &[(&str, &str)]| params(pairs);
        assert_eq!(
            check_logout(
                &p(&[
                    ("client_id", "x"),
                    ("logout_uri", "https://app.example.com/bye")
                ]),
                &c
            ),
            Ok(LogoutTarget::LogoutUri(
                "https://app.example.com/bye".into()
            ))
        );
        assert_eq!(
            check_logout(
                &p(&[
                    ("client_id", "x"),
                    ("post_logout_redirect_uri", "https://app.example.com/bye"),
                    ("state", "s 1")
                ]),
                &c
            ),
            Ok(LogoutTarget::LogoutUri(
                "https://app.example.com/bye?state=s%201".into()
            ))
        );
        assert!(check_logout(&p(&[("logout_uri", "https://evil.example.com/")]), &c).is_err());
        assert!(check_logout(&p(&[]), &c).is_err());
        let again = check_logout(&params(&base()), &c).unwrap();
        assert!(
            matches!(again, LogoutTarget::SignInAgain(m) if m.get("state").map(String::as_str) == Some("xyz"))
        );
    }

    #[test]
    fn userinfo_sends_verified_flags_as_strings_and_respects_scopes() {
        let attrs: BTreeMap<String, String> = [
            ("email", "a@example.com"),
            ("email_verified", "true"),
            ("phone_number", "+15555550100"),
            ("name", "Ann"),
            ("custom:tier", "gold"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let sub = Sub(uuid::Uuid::nil());
        let scopes = vec!["openid".to_string(), "email".to_string()];
        let out = userinfo_claims(&sub, "ann", &attrs, &scopes, |_| true);
        assert_eq!(out["email_verified"], json!("true"));
        assert_eq!(out["username"], json!("ann"));
        assert!(!out.contains_key("phone_number") && !out.contains_key("name"));
        let profile = vec!["openid".to_string(), "profile".to_string()];
        let out = userinfo_claims(&sub, "ann", &attrs, &profile, |n| n != "custom:tier");
        assert_eq!(out["name"], json!("Ann"));
        assert!(!out.contains_key("custom:tier") && !out.contains_key("email"));
    }

    #[test]
    fn client_credentials_grants_custom_scopes_only() {
        let allowed = vec!["api/read".to_string(), "api/write".to_string()];
        assert_eq!(
            client_credentials_scopes(None, &allowed),
            Ok(allowed.clone())
        );
        assert_eq!(
            client_credentials_scopes(Some("api/read"), &allowed),
            Ok(vec!["api/read".to_string()])
        );
        assert_eq!(
            client_credentials_scopes(Some("openid"), &allowed),
            Err("invalid_scope")
        );
        assert_eq!(
            client_credentials_scopes(None, &["openid".to_string()]),
            Err("invalid_scope")
        );
    }
}
