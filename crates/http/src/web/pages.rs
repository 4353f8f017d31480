//! The hosted pages: sign-in with its challenges (new password, MFA codes, MFA choice, TOTP
//! setup), sign-up and confirmation, forgotten password, and the error page. Each form posts
//! back to its page with the authorize request's query string, so a page never loses the
//! request it serves.

use super::render::{CSRF_FIELD, Frame, SESSION_COOKIE};
use super::{HostRouted, Site, form_pairs, query_map};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::{FromRequest, FromRequestParts, Path, Request, State};
use axum::http::header::{LOCATION, SET_COOKIE};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use tessera_domain::attributes::{EMAIL_VERIFIED, PHONE_NUMBER_VERIFIED, SUB};
use tessera_domain::oauth::{AuthorizeError, AuthorizeRequest, check_authorize, error_redirect};
use tessera_domain::pool::SignInAttribute;
use tessera_domain::terms::TermsLinks;
use tessera_engine::{AuthOutcome, AuthorizeGrant, EngineError, TokenSetup};

/// One request to a page: its domain, frame and the authorize request it serves.
pub(super) struct PageRequest {
    pub site: Site,
    pub frame: Frame,
    pub params: BTreeMap<String, String>,
    /// The client's external identity providers: a button each on the sign-in page.
    pub providers: Vec<String>,
    /// The app client the authorize request resolved to: the `client_id` itself, or for a
    /// client named by its metadata URL (CIMD), the app client its policy maps it to.
    pub app_client: Option<String>,
}

impl PageRequest {
    pub(super) async fn of(
        state: &AppState,
        headers: &HeaderMap,
        uri: &Uri,
        host_routed: bool,
    ) -> Result<Self, Response> {
        let site = Site::of(state, headers, uri, host_routed).await?;
        let raw = uri.query().unwrap_or_default();
        let params = query_map(raw);
        let frame = site.frame(state, headers, &params, raw).await;
        Ok(Self {
            site,
            frame,
            params,
            providers: Vec::new(),
            app_client: None,
        })
    }

    /// The authorize request the page serves, or where to send the browser instead.
    async fn authorize_request(&mut self, state: &AppState) -> Result<AuthorizeRequest, Response> {
        let client = match self.params.get("client_id") {
            Some(id) => state
                .engine
                .pool_client(&self.site.pool.id, id)
                .await
                .map_err(engine_failure)?,
            None => None,
        };
        self.app_client = client.as_ref().map(|c| c.client_id.to_string());
        if let Some(c) = &client {
            self.providers = tessera_domain::oauth::OAuthSettings::of(c)
                .identity_providers
                .into_iter()
                .filter(|p| p != "COGNITO")
                .collect();
        }
        check_authorize(&self.params, client.as_ref()).map_err(|e| self.refuse(&e))
    }

    /// An authorize error: back to the client when its redirect URI is trustworthy, else the
    /// error page.
    pub(super) fn refuse(&self, e: &AuthorizeError) -> Response {
        match error_redirect(e) {
            Some(to) => redirect(&to),
            None => self.error_page(StatusCode::BAD_REQUEST, e.code(), "error_body"),
        }
    }

    pub(super) fn error_page(&self, status: StatusCode, code: &str, body_key: &str) -> Response {
        self.frame.render(
            status,
            "message.html",
            "error_title",
            json!({ "body": self.frame.text(body_key), "error_code": code }),
        )
    }

    pub(super) fn form(&self, body: &Bytes) -> Result<BTreeMap<String, String>, Response> {
        let form: BTreeMap<String, String> = form_pairs(body).into_iter().collect();
        if !self.frame.csrf_ok(form.get(CSRF_FIELD).map(String::as_str)) {
            return Err(self.error_page(StatusCode::FORBIDDEN, "csrf", "csrf_body"));
        }
        Ok(form)
    }

    /// The app client the page's flows run for (see [`PageRequest::app_client`]).
    fn client_id(&self) -> &str {
        self.app_client
            .as_deref()
            .or(self.params.get("client_id").map(String::as_str))
            .unwrap_or_default()
    }

    fn login_page(
        &self,
        username: &str,
        error: Option<String>,
        notice: Option<String>,
    ) -> Response {
        let status = if error.is_some() {
            StatusCode::BAD_REQUEST
        } else {
            StatusCode::OK
        };
        self.frame.render(
            status,
            "login.html",
            "sign_in_title",
            json!({
                "username": username,
                "error": error,
                "notice": notice,
                "allow_signup": !self.site.pool.config.admin_create_only(),
                "passkeys": tessera_engine::Engine::pool_allows_passkeys(&self.site.pool),
                "providers": self.providers.iter().map(|p| json!({
                    "name": p,
                    "query": tessera_engine::federated_signin::provider_query(&self.frame.query, p),
                })).collect::<Vec<_>>(),
            }),
        )
    }
}

impl FromRequestParts<Arc<AppState>> for PageRequest {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Response> {
        let host_routed = parts.extensions.get::<HostRouted>().is_some();
        Self::of(state, &parts.headers, &parts.uri, host_routed).await
    }
}

/// A page whose query string is a valid authorize request (else the browser is sent where
/// Cognito sends it: back to the client with an error, or to the error page).
pub(super) struct Authorized {
    pub page: PageRequest,
    pub req: AuthorizeRequest,
}

impl FromRequestParts<Arc<AppState>> for Authorized {
    type Rejection = Response;

    async fn from_request_parts(
        parts: &mut Parts,
        state: &Arc<AppState>,
    ) -> Result<Self, Response> {
        let mut page = PageRequest::from_request_parts(parts, state).await?;
        let req = page.authorize_request(state).await?;
        Ok(Self { page, req })
    }
}

pub(super) fn redirect(to: &str) -> Response {
    let mut r = StatusCode::FOUND.into_response();
    if let Ok(v) = HeaderValue::from_str(to) {
        r.headers_mut().insert(LOCATION, v);
    }
    super::render::secure_headers(r.headers_mut(), &tessera_crypto::random::token(16));
    r
}

pub(super) fn engine_failure(e: EngineError) -> Response {
    crate::error::ApiError::from(e).into_response()
}

/// The message a client error shows on a page (Cognito's own wording), or the response for a
/// fault of ours.
fn shown(e: EngineError) -> Result<String, Response> {
    match e {
        EngineError::Client(d) => Ok(d.message),
        other => Err(engine_failure(other)),
    }
}

/// Where the client's redirect URI gets the grant: `?code=&state=`, or for the implicit flow
/// `#id_token=&access_token=&token_type=Bearer&expires_in=&state=`.
pub(super) fn grant_redirect(req: &AuthorizeRequest, grant: &AuthorizeGrant) -> String {
    use tessera_domain::oauth::with_params;
    match grant {
        AuthorizeGrant::Code(code) => {
            let mut pairs: Vec<(&str, &str)> = vec![("code", code)];
            if let Some(s) = &req.state {
                pairs.push(("state", s));
            }
            with_params(&req.redirect_uri, &pairs, false)
        }
        AuthorizeGrant::Tokens {
            access_token,
            id_token,
            expires_in,
        } => {
            let expires = expires_in.to_string();
            let mut pairs: Vec<(&str, &str)> = Vec::new();
            if let Some(id) = id_token {
                pairs.push(("id_token", id));
            }
            pairs.push(("access_token", access_token));
            pairs.push(("expires_in", &expires));
            pairs.push(("token_type", "Bearer"));
            if let Some(s) = &req.state {
                pairs.push(("state", s));
            }
            with_params(&req.redirect_uri, &pairs, true)
        }
    }
}

/// A finished sign-in: the hosted session (cookie) and the grant for the client.
pub(super) async fn signed_in(
    state: &AppState,
    page: &PageRequest,
    req: &AuthorizeRequest,
    sub: tessera_domain::Sub,
    auth_time: tessera_domain::Timestamp,
) -> Response {
    signed_in_with(state, page, req, sub, auth_time, None).await
}

/// As [`signed_in`], keeping the SAML session the user came with (for single logout).
pub(super) async fn signed_in_with(
    state: &AppState,
    page: &PageRequest,
    req: &AuthorizeRequest,
    sub: tessera_domain::Sub,
    auth_time: tessera_domain::Timestamp,
    saml: Option<tessera_domain::identity_providers::SamlSignIn>,
) -> Response {
    let pool = &page.site.pool.id;
    let cookie = match state
        .engine
        .open_hosted_session(pool, page.client_id(), (sub, auth_time), saml)
        .await
    {
        Ok(c) => c,
        Err(e) => return engine_failure(e),
    };
    let session = match state.engine.hosted_session(pool, &cookie).await {
        Ok(Some(s)) => s,
        Ok(None) => return page.login_page("", Some(page.frame.text("error_body")), None),
        Err(e) => return engine_failure(e),
    };
    let grant = match state.engine.authorize(req, &session).await {
        Ok(g) => g,
        Err(e) => return engine_failure(e),
    };
    let mut r = redirect(&grant_redirect(req, &grant));
    // The cookie lives as long as the session (the client's SSO session validity).
    let max_age = u64::try_from(session.expires_at.millis() - session.auth_time.millis())
        .map_or(0, |ms| ms / 1000);
    r.headers_mut().append(
        SET_COOKIE,
        page.site
            .cookies
            .set(SESSION_COOKIE, &cookie, Some(max_age)),
    );
    r
}

pub(super) async fn login_form(Authorized { page, .. }: Authorized) -> Response {
    let hint = page.params.get("login_hint").cloned().unwrap_or_default();
    page.login_page(&hint, None, None)
}

pub(super) async fn login_submit(
    State(state): State<Arc<AppState>>,
    Authorized { page, req }: Authorized,
    body: Bytes,
) -> Response {
    let form = match page.form(&body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let field = |k: &str| form.get(k).map(String::as_str).unwrap_or_default();
    let username = field("username").trim().to_string();
    let Some(challenge) = form.get("challenge").filter(|c| !c.is_empty()) else {
        if form.contains_key("passkey") {
            return passkey_sign_in(&state, &page, &req, &username).await;
        }
        let outcome = state
            .engine
            .hosted_sign_in(page.client_id(), &username, field("password"))
            .await;
        return match outcome {
            Ok(o) => next_step(&state, &page, &req, &username, o).await,
            Err(e) => match shown(e) {
                Ok(msg) => page.login_page(&username, Some(msg), None),
                Err(r) => r,
            },
        };
    };
    let session = field("session").to_string();
    let mut responses = BTreeMap::from([("USERNAME".to_string(), username.clone())]);
    match challenge.as_str() {
        "NEW_PASSWORD_REQUIRED" => {
            responses.insert("NEW_PASSWORD".into(), field("new_password").into());
            for (k, v) in &form {
                if let Some(name) = k.strip_prefix("attr:") {
                    responses.insert(format!("userAttributes.{name}"), v.clone());
                }
            }
        }
        "SMS_MFA" => {
            responses.insert("SMS_MFA_CODE".into(), field("code").trim().into());
        }
        "EMAIL_OTP" => {
            responses.insert("EMAIL_OTP_CODE".into(), field("code").trim().into());
        }
        "SOFTWARE_TOKEN_MFA" => {
            responses.insert(
                "SOFTWARE_TOKEN_MFA_CODE".into(),
                field("code").trim().into(),
            );
        }
        "SELECT_MFA_TYPE" => {
            responses.insert("ANSWER".into(), field("answer").into());
        }
        "WEB_AUTHN" => {
            responses.insert("CREDENTIAL".into(), field("credential").into());
        }
        "MFA_SETUP" => {
            let device = Some(field("device_name").trim().to_string()).filter(|d| !d.is_empty());
            let verified = state
                .engine
                .verify_software_token(TokenSetup::Session(&session), field("code").trim(), device)
                .await;
            if let Err(e) = verified {
                return match shown(e) {
                    Ok(msg) => {
                        let again = ChallengeView {
                            name: "MFA_SETUP",
                            session: &session,
                            parameters: &BTreeMap::new(),
                            secret: Some(field("secret").to_string()),
                        };
                        challenge_page(&page, &username, again, Some(msg))
                    }
                    Err(r) => r,
                };
            }
        }
        _ => return page.login_page(&username, Some(page.frame.text("error_body")), None),
    }
    let outcome = state
        .engine
        .hosted_respond(page.client_id(), challenge, &session, responses)
        .await;
    match outcome {
        Ok(o) => next_step(&state, &page, &req, &username, o).await,
        Err(e) => {
            let expired =
                matches!(&e, EngineError::Client(d) if d.message.contains("session is expired"));
            match shown(e) {
                // An assertion challenge is used up by its answer, right or wrong.
                Ok(msg) if expired || challenge == "WEB_AUTHN" => {
                    page.login_page(&username, Some(msg), None)
                }
                // A wrong answer leaves the session usable: ask again.
                Ok(msg) => {
                    let parameters: BTreeMap<String, String> = form
                        .iter()
                        .filter_map(|(k, v)| {
                            k.strip_prefix("p:").map(|n| (n.to_string(), v.clone()))
                        })
                        .collect();
                    let view = ChallengeView {
                        name: challenge,
                        session: &session,
                        parameters: &parameters,
                        secret: None,
                    };
                    challenge_page(&page, &username, view, Some(msg))
                }
                Err(r) => r,
            }
        }
    }
}

/// The sign-in form's passkey button: the WEB_AUTHN challenge's page, or back to the form when
/// the user has no passkey (only said when the client doesn't hide which users exist; otherwise
/// every name gets a challenge).
async fn passkey_sign_in(
    state: &AppState,
    page: &PageRequest,
    req: &AuthorizeRequest,
    username: &str,
) -> Response {
    match state
        .engine
        .hosted_passkey_sign_in(page.client_id(), username)
        .await
    {
        Ok(AuthOutcome::Challenge { name, .. }) if name == "SELECT_CHALLENGE" => {
            page.login_page(username, Some(page.frame.text("passkey_none")), None)
        }
        Ok(o) => next_step(state, page, req, username, o).await,
        Err(e) => match shown(e) {
            Ok(msg) => page.login_page(username, Some(msg), None),
            Err(r) => r,
        },
    }
}

/// After a step of the sign-in: the next challenge's page, or the redirect to the client.
async fn next_step(
    state: &AppState,
    page: &PageRequest,
    req: &AuthorizeRequest,
    username: &str,
    outcome: AuthOutcome,
) -> Response {
    match outcome {
        AuthOutcome::SignedIn { sub, auth_time } => {
            signed_in(state, page, req, sub, auth_time).await
        }
        AuthOutcome::Challenge {
            name,
            session,
            parameters,
            ..
        } => {
            let session = session.unwrap_or_default();
            let username = parameters
                .get("USER_ID_FOR_SRP")
                .cloned()
                .unwrap_or_else(|| username.to_string());
            let mut secret = None;
            if name == "MFA_SETUP" {
                match state
                    .engine
                    .associate_software_token(TokenSetup::Session(&session))
                    .await
                {
                    Ok((code, _)) => secret = Some(code),
                    Err(e) => {
                        return match shown(e) {
                            Ok(msg) => page.login_page(&username, Some(msg), None),
                            Err(r) => r,
                        };
                    }
                }
            }
            let view = ChallengeView {
                name: &name,
                session: &session,
                parameters: &parameters,
                secret,
            };
            challenge_page(page, &username, view, None)
        }
        AuthOutcome::Tokens(_) => {
            page.login_page(username, Some(page.frame.text("error_body")), None)
        }
    }
}

struct ChallengeView<'a> {
    name: &'a str,
    session: &'a str,
    parameters: &'a BTreeMap<String, String>,
    /// MFA_SETUP: the TOTP secret being set up.
    secret: Option<String>,
}

fn attribute_label(frame: &Frame, name: &str) -> String {
    let key = name.strip_prefix("custom:").unwrap_or(name);
    let text = frame.text(key);
    if text == key { name.to_string() } else { text }
}

fn input_type(name: &str) -> &'static str {
    match name {
        "email" => "email",
        "phone_number" => "tel",
        "birthdate" => "date",
        _ => "text",
    }
}

fn challenge_page(
    page: &PageRequest,
    username: &str,
    view: ChallengeView<'_>,
    error: Option<String>,
) -> Response {
    let frame = &page.frame;
    let list = |key: &str| -> Vec<String> {
        view.parameters
            .get(key)
            .and_then(|v| serde_json::from_str(v).ok())
            .unwrap_or_default()
    };
    // Shown again after a wrong answer; display only, never trusted.
    let keep: Vec<Value> = [
        "CODE_DELIVERY_DESTINATION",
        "MFAS_CAN_CHOOSE",
        "requiredAttributes",
    ]
    .iter()
    .filter_map(|k| {
        view.parameters
            .get(*k)
            .map(|v| json!({"name": k, "value": v}))
    })
    .collect();
    let mut ctx = json!({
        "challenge": view.name,
        "session": view.session,
        "username": username,
        "error": error,
        "keep": keep,
    });
    let title = match view.name {
        "NEW_PASSWORD_REQUIRED" => {
            let required: Vec<Value> = list("requiredAttributes")
                .iter()
                .filter_map(|a| a.strip_prefix("userAttributes."))
                .map(|a| json!({"name": a, "label": attribute_label(frame, a), "input": input_type(a)}))
                .collect();
            ctx["required"] = json!(required);
            "new_password_title"
        }
        "SELECT_MFA_TYPE" => {
            let choices: Vec<Value> = list("MFAS_CAN_CHOOSE")
                .iter()
                .map(|f| json!({"name": f, "label": frame.text(factor_key(f))}))
                .collect();
            ctx["choices"] = json!(choices);
            "mfa_title"
        }
        "MFA_SETUP" => {
            let secret = view.secret.unwrap_or_default();
            let label = format!("{}:{}", page.site.pool.name, username);
            let uri = format!(
                "otpauth://totp/{}?secret={}&issuer={}",
                tessera_domain::oauth::urlencode(&label),
                secret,
                tessera_domain::oauth::urlencode(&page.site.pool.name)
            );
            ctx["qr_svg"] = json!(qr_svg(&uri));
            ctx["secret"] = json!(secret);
            "totp_setup_title"
        }
        "SOFTWARE_TOKEN_MFA" => {
            ctx["prompt"] = json!(frame.text("mfa_prompt_totp"));
            "mfa_title"
        }
        "WEB_AUTHN" => {
            ctx["webauthn_options"] = json!(
                view.parameters
                    .get("CREDENTIAL_REQUEST_OPTIONS")
                    .map(String::as_str)
                    .unwrap_or_default()
            );
            ctx["passkey_js"] = json!(super::render::PASSKEY_JS);
            "passkey_title"
        }
        _ => {
            let destination = view
                .parameters
                .get("CODE_DELIVERY_DESTINATION")
                .map(String::as_str)
                .unwrap_or_default();
            ctx["prompt"] = json!(super::render::message(
                &frame.lang,
                "mfa_prompt_sent",
                &[("destination", destination)]
            ));
            "mfa_title"
        }
    };
    let status = if ctx["error"].is_null() {
        StatusCode::OK
    } else {
        StatusCode::BAD_REQUEST
    };
    frame.render(status, "challenge.html", title, ctx)
}

fn factor_key(factor: &str) -> &'static str {
    match factor {
        "SOFTWARE_TOKEN_MFA" => "mfa_software_token",
        "SMS_MFA" => "mfa_sms",
        _ => "mfa_email",
    }
}

/// The otpauth URI as an SVG QR code (no image crates: SVG text only).
fn qr_svg(uri: &str) -> String {
    match qrcode::QrCode::new(uri.as_bytes()) {
        Ok(code) => code
            .render::<qrcode::render::svg::Color<'_>>()
            .min_dimensions(200, 200)
            .build(),
        Err(_) => String::new(),
    }
}

/// The attributes the sign-up form asks for: every required one, and the ones the pool verifies
/// (a code must go somewhere), except what the username already is, `sub` and the verified flags.
fn signup_attributes(site: &Site, form: &BTreeMap<String, String>, frame: &Frame) -> Vec<Value> {
    let username_is = username_attribute(site);
    let config = &site.pool.config;
    config
        .schema
        .iter()
        .filter(|s| s.required || config.auto_verified_attributes.contains(&s.name))
        .filter(|s| !s.developer_only)
        .filter(|s| ![SUB, EMAIL_VERIFIED, PHONE_NUMBER_VERIFIED].contains(&s.name.as_str()))
        .filter(|s| Some(s.name.as_str()) != username_is)
        .map(|s| {
            json!({
                "name": s.name,
                "label": attribute_label(frame, &s.name),
                "input": input_type(&s.name),
                "value": form.get(&format!("attr:{}", s.name)).cloned().unwrap_or_default(),
            })
        })
        .collect()
}

/// The attribute users sign up with as their username, when the pool uses one.
fn username_attribute(site: &Site) -> Option<&'static str> {
    let attrs = &site.pool.config.sign_in.username_attributes;
    if attrs.contains(&SignInAttribute::Email) {
        Some("email")
    } else if attrs.contains(&SignInAttribute::PhoneNumber) {
        Some("phone_number")
    } else {
        None
    }
}

/// The client's terms-of-use and privacy-policy links in the page's language, when it has both
/// (a failed lookup shows the page without them rather than no page).
async fn terms_links(state: &AppState, page: &PageRequest) -> Option<TermsLinks> {
    let client = tessera_domain::ClientId::parse(page.client_id()).ok()?;
    state
        .engine
        .terms_links(&page.site.pool.id, &client, &page.frame.lang)
        .await
        .ok()
        .flatten()
}

fn signup_page(
    page: &PageRequest,
    form: &BTreeMap<String, String>,
    error: Option<String>,
    terms: Option<TermsLinks>,
) -> Response {
    let (label, input) = match username_attribute(&page.site) {
        Some(a) => (attribute_label(&page.frame, a), input_type(a)),
        None => (page.frame.text("username"), "text"),
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    page.frame.render(
        status,
        "signup.html",
        "sign_up_title",
        json!({
            "username": form.get("username").cloned().unwrap_or_default(),
            "username_label": label,
            "username_input": input,
            "attributes": signup_attributes(&page.site, form, &page.frame),
            "error": error,
            "terms": terms,
        }),
    )
}

/// A form posted to one of the account pages: its page (with a valid authorize request and
/// CSRF token), its fields, the username it names, and the SECRET_HASH a confidential client's
/// calls need (computed server-side: the hosted UI is the client's own front door).
pub(super) struct Posted {
    page: PageRequest,
    form: BTreeMap<String, String>,
    username: String,
    secret_hash: Option<String>,
}

impl FromRequest<Arc<AppState>> for Posted {
    type Rejection = Response;

    async fn from_request(req: Request, state: &Arc<AppState>) -> Result<Self, Response> {
        let (mut parts, body) = req.into_parts();
        let Authorized { page, .. } = Authorized::from_request_parts(&mut parts, state).await?;
        let body = Bytes::from_request(Request::from_parts(parts, body), state)
            .await
            .map_err(IntoResponse::into_response)?;
        let form = page.form(&body)?;
        let username = form
            .get("username")
            .map(|u| u.trim().to_string())
            .unwrap_or_default();
        let secret_hash = state
            .engine
            .hosted_secret_hash(page.client_id(), &username)
            .await
            .map_err(engine_failure)?;
        Ok(Self {
            page,
            form,
            username,
            secret_hash,
        })
    }
}

impl Posted {
    fn field(&self, name: &str) -> String {
        self.form
            .get(name)
            .map(|v| v.trim().to_string())
            .unwrap_or_default()
    }
}

pub(super) async fn signup_form(
    State(state): State<Arc<AppState>>,
    Authorized { page, .. }: Authorized,
) -> Response {
    if page.site.pool.config.admin_create_only() {
        return page.error_page(StatusCode::FORBIDDEN, "signup_disabled", "error_body");
    }
    let terms = terms_links(&state, &page).await;
    signup_page(&page, &BTreeMap::new(), None, terms)
}

pub(super) async fn signup_submit(State(state): State<Arc<AppState>>, posted: Posted) -> Response {
    let Posted {
        page,
        form,
        username,
        secret_hash,
    } = &posted;
    let mut attributes: Vec<(String, String)> = form
        .iter()
        .filter_map(|(k, v)| {
            k.strip_prefix("attr:")
                .map(|n| (n.to_string(), v.trim().to_string()))
        })
        .filter(|(_, v)| !v.is_empty())
        .collect();
    if let Some(a) = username_attribute(&page.site) {
        attributes.push((a.to_string(), username.clone()));
    }
    let result = state
        .engine
        .sign_up(tessera_engine::SignUp {
            client_id: page.client_id().to_string(),
            username: username.clone(),
            password: Some(form.get("password").cloned().unwrap_or_default()),
            attributes,
            secret_hash: secret_hash.clone(),
            validation_data: None,
            client_metadata: None,
        })
        .await;
    match result {
        Ok(signed_up) if signed_up.confirmed => {
            page.login_page(username, None, Some(page.frame.text("confirmed")))
        }
        Ok(signed_up) => {
            let destination = signed_up.delivery.map(|d| d.destination);
            code_page(
                page,
                CodeStep::Confirm,
                username,
                destination.as_deref(),
                None,
                None,
            )
        }
        Err(e) => match shown(e) {
            Ok(msg) => signup_page(page, form, Some(msg), terms_links(&state, page).await),
            Err(r) => r,
        },
    }
}

#[derive(Clone, Copy)]
enum CodeStep {
    Confirm,
    Reset,
}

fn code_page(
    page: &PageRequest,
    step: CodeStep,
    username: &str,
    destination: Option<&str>,
    error: Option<String>,
    notice: Option<String>,
) -> Response {
    let lang = &page.frame.lang;
    let (action, title, prompt) = match (step, destination) {
        (CodeStep::Confirm, Some(d)) => (
            "confirmUser",
            "confirm_title",
            super::render::message(lang, "confirm_prompt", &[("destination", d)]),
        ),
        (CodeStep::Confirm, None) => (
            "confirmUser",
            "confirm_title",
            page.frame.text("confirm_prompt_plain"),
        ),
        (CodeStep::Reset, Some(d)) => (
            "confirmForgotPassword",
            "reset_title",
            super::render::message(lang, "reset_prompt", &[("destination", d)]),
        ),
        (CodeStep::Reset, None) => (
            "confirmForgotPassword",
            "reset_title",
            page.frame.text("reset_prompt_plain"),
        ),
    };
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    page.frame.render(
        status,
        "code.html",
        title,
        json!({
            "action": action,
            "username": username,
            "prompt": prompt,
            "new_password": matches!(step, CodeStep::Reset),
            "resend": matches!(step, CodeStep::Confirm),
            "error": error,
            "notice": notice,
        }),
    )
}

pub(super) async fn confirm_submit(State(state): State<Arc<AppState>>, posted: Posted) -> Response {
    let Posted {
        page,
        username,
        secret_hash,
        ..
    } = &posted;
    let result = state
        .engine
        .confirm_sign_up(tessera_engine::ConfirmSignUp {
            client_id: page.client_id().to_string(),
            username: username.clone(),
            code: posted.field("code"),
            secret_hash: secret_hash.clone(),
            force_alias_creation: false,
            client_metadata: None,
        })
        .await;
    match result {
        Ok(_) => page.login_page(username, None, Some(page.frame.text("confirmed"))),
        Err(e) => match shown(e) {
            Ok(msg) => code_page(page, CodeStep::Confirm, username, None, Some(msg), None),
            Err(r) => r,
        },
    }
}

pub(super) async fn resend_submit(State(state): State<Arc<AppState>>, posted: Posted) -> Response {
    let Posted {
        page,
        username,
        secret_hash,
        ..
    } = &posted;
    let result = state
        .engine
        .resend_confirmation_code(page.client_id(), username, secret_hash.as_deref(), None)
        .await;
    match result {
        Ok(d) => code_page(
            page,
            CodeStep::Confirm,
            username,
            Some(&d.destination),
            None,
            Some(page.frame.text("code_resent")),
        ),
        Err(e) => match shown(e) {
            Ok(msg) => code_page(page, CodeStep::Confirm, username, None, Some(msg), None),
            Err(r) => r,
        },
    }
}

pub(super) async fn forgot_form(Authorized { page, .. }: Authorized) -> Response {
    page.frame
        .render(StatusCode::OK, "forgot.html", "forgot_title", json!({}))
}

pub(super) async fn forgot_submit(State(state): State<Arc<AppState>>, posted: Posted) -> Response {
    let Posted {
        page,
        username,
        secret_hash,
        ..
    } = &posted;
    let result = state
        .engine
        .forgot_password(page.client_id(), username, secret_hash.as_deref(), None)
        .await;
    match result {
        Ok(d) => code_page(
            page,
            CodeStep::Reset,
            username,
            Some(&d.destination),
            None,
            None,
        ),
        Err(e) => match shown(e) {
            Ok(msg) => page.frame.render(
                StatusCode::BAD_REQUEST,
                "forgot.html",
                "forgot_title",
                json!({ "error": msg }),
            ),
            Err(r) => r,
        },
    }
}

pub(super) async fn reset_submit(State(state): State<Arc<AppState>>, posted: Posted) -> Response {
    let Posted {
        page,
        form,
        username,
        secret_hash,
    } = &posted;
    let result = state
        .engine
        .confirm_forgot_password(tessera_engine::ConfirmForgotPassword {
            client_id: page.client_id().to_string(),
            username: username.clone(),
            code: posted.field("code"),
            password: form.get("password").cloned().unwrap_or_default(),
            secret_hash: secret_hash.clone(),
            client_metadata: None,
        })
        .await;
    match result {
        Ok(()) => page.login_page(username, None, Some(page.frame.text("password_reset"))),
        Err(e) => match shown(e) {
            Ok(msg) => code_page(page, CodeStep::Reset, username, None, Some(msg), None),
            Err(r) => r,
        },
    }
}

/// `/error?error=…&client_id=…`: where Cognito sends a browser it can't send back to the app.
pub(super) async fn error_page(page: PageRequest) -> Response {
    let code = page.params.get("error").cloned().unwrap_or_default();
    page.error_page(StatusCode::BAD_REQUEST, &code, "error_body")
}

/// The logo of the client's (or ALL's) classic customization, served on the domain itself.
pub(super) async fn logo(
    State(state): State<Arc<AppState>>,
    site: Site,
    Path(params): Path<BTreeMap<String, String>>,
) -> Response {
    let key = params.get("key").cloned().unwrap_or_default();
    match state.engine.ui_logo(&site.pool.id, &key).await {
        Ok(Some((media_type, bytes))) => {
            let mut r = bytes.into_response();
            if let Ok(v) = HeaderValue::from_str(&media_type) {
                r.headers_mut().insert(axum::http::header::CONTENT_TYPE, v);
            }
            r.headers_mut().insert(
                "x-content-type-options",
                HeaderValue::from_static("nosniff"),
            );
            r
        }
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(e) => engine_failure(e),
    }
}
