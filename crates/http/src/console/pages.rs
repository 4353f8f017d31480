//! The console's pages. Each reads with, and acts through, the API operations (see
//! [`crate::dispatch::run_as_operator`]); forms are posted, then answered with a redirect to
//! the page showing the result (so a reload repeats nothing), except the new app client's
//! page, the only place its secret is ever shown.

use super::session::{self, Session};
use super::{
    CONSOLE_PATH, CSRF_FIELD, Operator, Page, SIGN_IN_CSRF_COOKIE, clear_session_cookie,
    cookie_scope, current_session, see_other, session_cookie,
};
use crate::AppState;
use crate::error::ApiError;
use crate::web::{form_pairs, query_map, render};
use axum::Extension;
use axum::body::Bytes;
use axum::extract::{Path, RawQuery, State};
use axum::http::header::SET_COOKIE;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;

type Form = Vec<(String, String)>;

/// A form field, trimmed; `None` when absent or blank.
fn field<'a>(form: &'a Form, name: &str) -> Option<&'a str> {
    form.iter()
        .rev()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.trim())
        .filter(|v| !v.is_empty())
}

/// Every value of a repeated field (checkboxes), blanks left out.
fn fields(form: &Form, name: &str) -> Vec<String> {
    form.iter()
        .filter(|(k, v)| k == name && !v.trim().is_empty())
        .map(|(_, v)| v.trim().to_string())
        .collect()
}

/// A textarea's lines (or space-separated words), blanks left out.
fn lines(form: &Form, name: &str) -> Vec<String> {
    field(form, name)
        .map(|v| {
            v.split(|c: char| c.is_whitespace() || c == ',')
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default()
}

fn checked(form: &Form, name: &str) -> bool {
    field(form, name).is_some()
}

async fn idp(state: &Arc<AppState>, operation: &str, input: Value) -> Result<Value, ApiError> {
    crate::dispatch::run_as_operator(state.clone(), "cognito-idp", operation, input).await
}

async fn identity(state: &Arc<AppState>, operation: &str, input: Value) -> Result<Value, ApiError> {
    crate::dispatch::run_as_operator(state.clone(), "cognito-identity", operation, input).await
}

/// One page of a list operation whose paging token is `NextToken`: `input` with the token of
/// the page asked for, and the link to the page after it (`{base}?next=…`) when there is one.
async fn list_page(
    state: &Arc<AppState>,
    (service, operation): (&str, &str),
    mut input: Value,
    next: Option<&str>,
    base: &str,
) -> Result<(Value, Option<String>), ApiError> {
    if let Some(n) = next {
        input["NextToken"] = json!(n);
    }
    let list = crate::dispatch::run_as_operator(state.clone(), service, operation, input).await?;
    let next_url = list
        .get("NextToken")
        .and_then(Value::as_str)
        .map(|t| format!("{base}?next={}", query_part(t)));
    Ok((list, next_url))
}

/// A Cognito error as the page shows it: the exception's name and its message, as an SDK
/// would report them.
fn api_error(e: &ApiError) -> String {
    if e.message.is_empty() {
        e.code.clone()
    } else {
        format!("{}: {}", e.code, e.message)
    }
}

/// A failed read: the error page.
fn failure(page: Page, e: &ApiError) -> Response {
    let status = if e.status.is_client_error() || e.status.is_server_error() {
        e.status
    } else {
        StatusCode::BAD_REQUEST
    };
    page.message(status, "The request failed", &api_error(e))
}

fn path_part(s: &str) -> String {
    // Path segments: unreserved characters stay, everything else is percent-encoded.
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

fn query_part(s: &str) -> String {
    form_urlencoded::byte_serialize(s.as_bytes()).collect()
}

fn pool_url(pool: &str) -> String {
    format!("{CONSOLE_PATH}/pools/{}", path_part(pool))
}

fn user_url(pool: &str, username: &str) -> String {
    format!("{}/users/{}", pool_url(pool), path_part(username))
}

/// The confirmations a redirect may ask the next page to show (a fixed set: nothing a link
/// carries is ever repeated onto the page).
fn notice(query: &BTreeMap<String, String>) -> Option<String> {
    let text = match query.get("notice")?.as_str() {
        "pool_created" => "User pool created.",
        "pool_deleted" => "User pool deleted.",
        "pool_updated" => "Settings saved.",
        "domain_created" => "Domain created.",
        "domain_deleted" => "Domain deleted.",
        "user_created" => "User created.",
        "user_deleted" => "User deleted.",
        "user_disabled" => "User disabled.",
        "user_enabled" => "User enabled.",
        "user_confirmed" => "User confirmed.",
        "password_reset" => {
            "Password reset: the user must set a new one with the code sent to them."
        }
        "signed_out" => "The user was signed out everywhere.",
        "added_to_group" => "User added to the group.",
        "removed_from_group" => "User removed from the group.",
        "group_created" => "Group created.",
        "group_deleted" => "Group deleted.",
        "client_deleted" => "App client deleted.",
        "identity_pool_created" => "Identity pool created.",
        "message_retried" => "The message is queued again: the courier sends it shortly.",
        "identity_pool_updated" => "Identity pool saved.",
        "roles_set" => "Roles saved.",
        "provider_created" => "Identity provider created.",
        "provider_deleted" => "Identity provider deleted.",
        _ => return None,
    };
    Some(text.to_string())
}

fn query_of(raw: &Option<String>) -> BTreeMap<String, String> {
    query_map(raw.as_deref().unwrap_or_default())
}

// ---- Sign-in, home, sign-out --------------------------------------------------------------

/// `/console`: the dashboard for a signed-in operator, else the sign-in form.
pub(crate) async fn home(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    RawQuery(raw): RawQuery,
) -> Response {
    let query = query_of(&raw);
    let Some(session) = current_session(&state, &headers).await else {
        let error = query
            .contains_key("expired")
            .then(|| "Your console session ended. Sign in again.".to_string());
        let notice = query
            .contains_key("signed_out")
            .then(|| "You are signed out of the console.".to_string());
        return sign_in_page(
            &state,
            &headers,
            StatusCode::OK,
            query.get("next").map(String::as_str),
            error,
            notice,
            "",
        );
    };
    tessera_engine::audit::note_caller(session.operator());
    let page = Page::new(&session.csrf, &session.name);
    let pools = idp(&state, "ListUserPools", json!({ "MaxResults": 10 })).await;
    let identity_pools = identity(&state, "ListIdentityPools", json!({ "MaxResults": 10 })).await;
    let error = [&pools, &identity_pools]
        .iter()
        .find_map(|r| r.as_ref().err().map(api_error));
    let mut r = page.error(error).render(
        StatusCode::OK,
        "console/home.html",
        "Tessera console",
        json!({
            "pools": pools.ok().and_then(|v| v.get("UserPools").cloned()),
            "identity_pools": identity_pools.ok().and_then(|v| v.get("IdentityPools").cloned()),
            "settings": {
                "region": state.engine.settings().region,
                "issuer_base": state.engine.settings().issuer_base,
            },
        }),
    );
    let touched = session.touched(state.engine.console_now());
    r.headers_mut()
        .append(SET_COOKIE, session_cookie(&state, &headers, &touched));
    r
}

fn sign_in_page(
    state: &AppState,
    headers: &HeaderMap,
    status: StatusCode,
    next: Option<&str>,
    error: Option<String>,
    notice: Option<String>,
    access_key_id: &str,
) -> Response {
    let csrf = tessera_crypto::random::token(32);
    let mut r = Page::new(&csrf, "").error(error).notice(notice).render(
        status,
        "console/sign_in.html",
        "Sign in to the Tessera console",
        json!({
            "next": session::after_sign_in(next),
            "access_key_id": access_key_id,
            "narrow_page": true,
        }),
    );
    r.headers_mut().append(
        SET_COOKIE,
        cookie_scope(state, headers).set_with(SIGN_IN_CSRF_COOKIE, &csrf, None, "Strict"),
    );
    r
}

/// An access key id or operator name fit to repeat in the audit trail (short, and letters,
/// digits and the few marks an operator name may have), else nothing.
fn auditable_key(key: &str) -> Option<&str> {
    (!key.is_empty()
        && key.len() <= 128
        && key
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-' | b'@')))
    .then_some(key)
}

pub(crate) async fn sign_in(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    tessera_engine::audit::note_first_operation("console.SignIn");
    let form = form_pairs(&body);
    let next = field(&form, "next");
    let key = field(&form, "access_key_id").unwrap_or_default();
    let secret = form
        .iter()
        .find(|(k, _)| k == "secret_access_key")
        .map(|(_, v)| v.as_str())
        .unwrap_or_default();
    if let Some(k) = auditable_key(key) {
        tessera_engine::audit::note_caller(format!("console:{k}"));
    }
    let expected = render::cookie(&headers, SIGN_IN_CSRF_COOKIE);
    let submitted = field(&form, CSRF_FIELD);
    let csrf_ok = matches!((&expected, submitted), (Some(e), Some(s))
        if tessera_crypto::constant_time_eq(e.as_bytes(), s.as_bytes()));
    if !csrf_ok {
        tessera_engine::audit::note_refusal("InvalidCsrfToken");
        return sign_in_page(
            &state,
            &headers,
            StatusCode::FORBIDDEN,
            next,
            Some("The sign-in form expired. Try again.".into()),
            None,
            key,
        );
    }
    let ip = tessera_engine::threat::origin().ip;
    let now = state.engine.console_now();
    let console = &state.console;
    let locked = || {
        tessera_engine::audit::note_refusal("locked_out");
        Some(
            "Too many failed sign-ins from your address: the console is locked for it for a \
             while. Try again later."
                .to_string(),
        )
    };
    if console.lockout.locked(ip, now).is_some() {
        return sign_in_page(
            &state,
            &headers,
            StatusCode::TOO_MANY_REQUESTS,
            next,
            locked(),
            None,
            key,
        );
    }
    // The admin access key first, else an operator account (`tessera admin create`).
    let csrf = tessera_crypto::random::token(32);
    let session = match session::authenticate(&console.settings.credentials, key, secret) {
        Some(credentials) => Some(Session::open(credentials, csrf, now)),
        None => match state.engine.verify_console_operator(key, secret).await {
            Ok(found) => found.map(|o| Session::open_operator(&o, csrf, now)),
            Err(e) => {
                let e = ApiError::from(e);
                tessera_engine::audit::note_refusal(&e.code);
                return sign_in_page(
                    &state,
                    &headers,
                    e.status,
                    next,
                    Some(api_error(&e)),
                    None,
                    key,
                );
            }
        },
    };
    let Some(session) = session else {
        let now_locked = console.lockout.failed(ip, now);
        let (status, error) = if now_locked {
            (StatusCode::TOO_MANY_REQUESTS, locked())
        } else {
            tessera_engine::audit::note_refusal("NotAuthorizedException");
            (
                StatusCode::UNAUTHORIZED,
                Some(
                    "Incorrect access key id or secret access key, or operator name or \
                     password."
                        .to_string(),
                ),
            )
        };
        return sign_in_page(&state, &headers, status, next, error, None, key);
    };
    console.lockout.succeeded(ip);
    tracing::info!(
        who = %session.name,
        operator_account = session.operator_account,
        "an operator signed in to the console"
    );
    let mut r = see_other(&session::after_sign_in(next));
    let h = r.headers_mut();
    h.append(SET_COOKIE, session_cookie(&state, &headers, &session));
    h.append(
        SET_COOKIE,
        cookie_scope(&state, &headers).set_with(SIGN_IN_CSRF_COOKIE, "", Some(0), "Strict"),
    );
    r
}

pub(crate) async fn sign_out(State(state): State<Arc<AppState>>, headers: HeaderMap) -> Response {
    tessera_engine::audit::note_first_operation("console.SignOut");
    let mut r = see_other(&format!("{CONSOLE_PATH}?signed_out=1"));
    r.headers_mut()
        .append(SET_COOKIE, clear_session_cookie(&state, &headers));
    r
}

// ---- User pools ---------------------------------------------------------------------------

pub(crate) async fn pools(
    State(state): State<Arc<AppState>>,
    Extension(op): Extension<Operator>,
    RawQuery(raw): RawQuery,
) -> Response {
    let query = query_of(&raw);
    let page = Page::of(&op).notice(notice(&query));
    pools_page(
        &state,
        page,
        query.get("next").cloned(),
        StatusCode::OK,
        json!({}),
    )
    .await
}

async fn pools_page(
    state: &Arc<AppState>,
    page: Page,
    next: Option<String>,
    status: StatusCode,
    form: Value,
) -> Response {
    let (list, next_url) = match list_page(
        state,
        ("cognito-idp", "ListUserPools"),
        json!({ "MaxResults": 20 }),
        next.as_deref(),
        &format!("{CONSOLE_PATH}/pools"),
    )
    .await
    {
        Ok(v) => v,
        Err(e) => return failure(page, &e),
    };
    page.render(
        status,
        "console/pools.html",
        "User pools",
        json!({
            "pools": list.get("UserPools"),
            "next_url": next_url,
            "paged": next.is_some(),
            "form": form,
        }),
    )
}

pub(crate) async fn create_pool(
    State(state): State<Arc<AppState>>,
    Extension(op): Extension<Operator>,
    body: Bytes,
) -> Response {
    let form = form_pairs(&body);
    let mut input = json!({
        "PoolName": field(&form, "pool_name").unwrap_or_default(),
        "AdminCreateUserConfig": {
            "AllowAdminCreateUserOnly": !checked(&form, "self_sign_up"),
        },
    });
    match field(&form, "sign_in_with") {
        Some("email") => {
            input["UsernameAttributes"] = json!(["email"]);
            input["AutoVerifiedAttributes"] = json!(["email"]);
        }
        Some("email_phone") => {
            input["UsernameAttributes"] = json!(["email", "phone_number"]);
            input["AutoVerifiedAttributes"] = json!(["email"]);
        }
        _ => {}
    }
    if checked(&form, "deletion_protection") {
        input["DeletionProtection"] = json!("ACTIVE");
    }
    match idp(&state, "CreateUserPool", input).await {
        Ok(v) => {
            let id = v["UserPool"]["Id"].as_str().unwrap_or_default();
            see_other(&format!("{}?notice=pool_created", pool_url(id)))
        }
        Err(e) => {
            let page = Page::of(&op).error(Some(api_error(&e)));
            let echo = json!({ "pool_name": field(&form, "pool_name") });
            pools_page(&state, page, None, e.status, echo).await
        }
    }
}

async fn describe_pool(state: &Arc<AppState>, pool: &str) -> Result<Value, ApiError> {
    let v = idp(state, "DescribeUserPool", json!({ "UserPoolId": pool })).await?;
    Ok(v.get("UserPool").cloned().unwrap_or(Value::Null))
}

/// The pool's name, for pages that show no more of it than the header: DescribeUserPool
/// without its user count, which costs a pass over the pool's users (≈45 ms at a million).
/// A malformed id gets DescribeUserPool's own answer.
async fn named_pool(state: &Arc<AppState>, pool: &str) -> Result<Value, ApiError> {
    match tessera_domain::UserPoolId::parse(pool) {
        Ok(id) => {
            let found = state.engine.user_pool(&id).await.map_err(ApiError::from)?;
            Ok(json!({ "Id": pool, "Name": found.name }))
        }
        Err(_) => describe_pool(state, pool).await,
    }
}

/// What every page of a pool shows at its top.
fn pool_header(pool: &Value, id: &str) -> Value {
    json!({
        "id": id,
        "name": pool.get("Name"),
        "url": pool_url(id),
    })
}

pub(crate) async fn pool(
    State(state): State<Arc<AppState>>,
    Extension(op): Extension<Operator>,
    Path(pool_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let page = Page::of(&op).notice(notice(&query_of(&raw)));
    let pool = match describe_pool(&state, &pool_id).await {
        Ok(p) => p,
        Err(e) => return failure(page, &e),
    };
    let settings = state.engine.settings();
    let domain = pool
        .get("Domain")
        .and_then(Value::as_str)
        .map(|d| crate::web::domain_url(&settings.issuer_base, settings.domain_base.as_deref(), d));
    let providers = idp(
        &state,
        "ListIdentityProviders",
        json!({ "UserPoolId": pool_id, "MaxResults": 60 }),
    )
    .await
    .ok()
    .and_then(|v| v.get("Providers").cloned())
    .map(|list| {
        let mut list = list;
        for p in list.as_array_mut().into_iter().flatten() {
            let name = p
                .get("ProviderName")
                .and_then(Value::as_str)
                .unwrap_or_default();
            p["delete_url"] = json!(format!(
                "{}/providers/{}/delete",
                pool_url(&pool_id),
                path_part(name)
            ));
        }
        list
    });
    let metrics = match tessera_domain::UserPoolId::parse(&pool_id) {
        Ok(id) => state.engine.sign_in_counts(&id, 24).await.ok(),
        Err(_) => None,
    };
    let totals = metrics.as_ref().map(|m| {
        m.iter().fold(
            json!({"sign_ins": 0, "failures": 0, "lockouts": 0}),
            |mut t, (_, c)| {
                for (k, v) in [
                    ("sign_ins", c.sign_ins),
                    ("failures", c.failures),
                    ("lockouts", c.lockouts),
                ] {
                    t[k] = json!(t[k].as_u64().unwrap_or(0) + v);
                }
                t
            },
        )
    });
    let hours: Vec<Value> = metrics
        .as_deref()
        .unwrap_or_default()
        .iter()
        .map(|(h, c)| {
            json!({
                "hour": h.secs(),
                "sign_ins": c.sign_ins,
                "failures": c.failures,
                "lockouts": c.lockouts,
            })
        })
        .collect();
    page.render(
        StatusCode::OK,
        "console/pool.html",
        &format!(
            "User pool {}",
            pool.get("Name").and_then(Value::as_str).unwrap_or(&pool_id)
        ),
        json!({
            "p": pool_header(&pool, &pool_id),
            "pool": pool,
            "issuer": format!("{}/{}", settings.issuer_base, pool_id),
            "domain_url": domain,
            "providers": providers,
            "chart": metrics.as_deref().map(super::chart::sign_in_svg),
            "totals": totals,
            "hours": hours,
        }),
    )
}

// ---- Message outbox -----------------------------------------------------------------------

/// Messages the outbox page lists (the newest).
const OUTBOX_PAGE: usize = 100;

pub(crate) async fn outbox(
    State(state): State<Arc<AppState>>,
    Extension(op): Extension<Operator>,
    Path(pool_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let page = Page::of(&op).notice(notice(&query_of(&raw)));
    outbox_page(&state, page, &pool_id, StatusCode::OK).await
}

async fn outbox_page(
    state: &Arc<AppState>,
    page: Page,
    pool_id: &str,
    status: StatusCode,
) -> Response {
    let pool = match describe_pool(state, pool_id).await {
        Ok(p) => p,
        Err(e) => return failure(page, &e),
    };
    let entries = match tessera_domain::UserPoolId::parse(pool_id) {
        Ok(id) => state.engine.list_outbox(Some(&id), OUTBOX_PAGE).await,
        Err(_) => Ok(Vec::new()),
    };
    let entries = match entries {
        Ok(e) => e,
        Err(e) => return failure(page, &ApiError::from(e)),
    };
    let base = format!("{}/outbox", pool_url(pool_id));
    let rows: Vec<Value> = entries
        .iter()
        .map(|e| {
            let m = &e.message;
            let held = e.status == tessera_domain::messages::OutboxStatus::Held;
            json!({
                "id": m.id.to_string(),
                "created": m.created_at.secs(),
                "channel": m.channel.as_str(),
                "to": m.to,
                "subject": m.subject,
                "status": e.status.as_str(),
                "attempts": e.attempts,
                "last_error": e.last_error,
                "delivered": e.delivered_at.map(|t| t.secs()),
                // Only held (--dev) messages are kept to be read; a pending or failed one's
                // text is the user's code or temporary password, never shown.
                "body": held.then(|| m.body.clone()).filter(|b| !b.is_empty()),
                "retry_url": (e.status == tessera_domain::messages::OutboxStatus::Failed)
                    .then(|| format!("{base}/{}/retry", m.id)),
            })
        })
        .collect();
    page.render(
        status,
        "console/outbox.html",
        "Message outbox",
        json!({
            "p": pool_header(&pool, pool_id),
            "messages": rows,
            "limit": OUTBOX_PAGE,
        }),
    )
}

pub(crate) async fn retry_message(
    State(state): State<Arc<AppState>>,
    Extension(op): Extension<Operator>,
    Path((pool_id, message)): Path<(String, String)>,
) -> Response {
    tessera_engine::audit::note_operation("console.RetryMessage");
    let not_found = || {
        ApiError::from(tessera_engine::EngineError::from(
            tessera_domain::DomainError::resource_not_found("No such message."),
        ))
    };
    let result = match (
        tessera_domain::UserPoolId::parse(&pool_id),
        uuid::Uuid::parse_str(&message),
    ) {
        (Ok(pool), Ok(id)) => state
            .engine
            .retry_outbox_message(&pool, &id)
            .await
            .map_err(ApiError::from),
        _ => Err(not_found()),
    };
    match result {
        Ok(()) => see_other(&format!(
            "{}/outbox?notice=message_retried",
            pool_url(&pool_id)
        )),
        Err(e) => {
            tessera_engine::audit::note_refusal(&e.code);
            let page = Page::of(&op).error(Some(api_error(&e)));
            outbox_page(&state, page, &pool_id, e.status).await
        }
    }
}

pub(crate) async fn create_domain(
    State(state): State<Arc<AppState>>,
    Extension(op): Extension<Operator>,
    Path(pool_id): Path<String>,
    body: Bytes,
) -> Response {
    let form = form_pairs(&body);
    let input = json!({
        "UserPoolId": pool_id,
        "Domain": field(&form, "domain").unwrap_or_default(),
    });
    match idp(&state, "CreateUserPoolDomain", input).await {
        Ok(_) => see_other(&format!("{}?notice=domain_created", pool_url(&pool_id))),
        Err(e) => Page::of(&op).message(e.status, "The domain was not created", &api_error(&e)),
    }
}

pub(crate) async fn confirm_delete_domain(
    State(state): State<Arc<AppState>>,
    Extension(op): Extension<Operator>,
    Path(pool_id): Path<String>,
) -> Response {
    let page = Page::of(&op);
    let pool = match describe_pool(&state, &pool_id).await {
        Ok(p) => p,
        Err(e) => return failure(page, &e),
    };
    let Some(domain) = pool.get("Domain").and_then(Value::as_str) else {
        return page.message(
            StatusCode::NOT_FOUND,
            "No domain",
            "This pool has no domain.",
        );
    };
    confirm(
        page,
        StatusCode::OK,
        "Delete domain",
        &format!(
            "Delete the domain {domain}? Its hosted sign-in pages and OAuth endpoints stop \
             answering at once."
        ),
        &format!("{}/domain/delete", pool_url(&pool_id)),
        "Delete domain",
        &pool_url(&pool_id),
        pool_header(&pool, &pool_id),
    )
}

pub(crate) async fn delete_domain(
    State(state): State<Arc<AppState>>,
    Extension(op): Extension<Operator>,
    Path(pool_id): Path<String>,
) -> Response {
    let page = Page::of(&op);
    let pool = match describe_pool(&state, &pool_id).await {
        Ok(p) => p,
        Err(e) => return failure(page, &e),
    };
    let domain = pool.get("Domain").cloned().unwrap_or(Value::Null);
    let input = json!({ "UserPoolId": pool_id, "Domain": domain });
    match idp(&state, "DeleteUserPoolDomain", input).await {
        Ok(_) => see_other(&format!("{}?notice=domain_deleted", pool_url(&pool_id))),
        Err(e) => failure(page, &e),
    }
}

/// What UpdateUserPool takes that DescribeUserPool shows, under the same names (`Name` is
/// `PoolName`). UpdateUserPool resets what it isn't given, as Cognito's does, so the settings
/// form sends the pool's current values with the few it edits.
const UPDATABLE: &[&str] = &[
    "AccountRecoverySetting",
    "AcrConfiguration",
    "AdminCreateUserConfig",
    "AutoVerifiedAttributes",
    "DcrConfiguration",
    "DeletionProtection",
    "DeviceConfiguration",
    "EmailConfiguration",
    "EmailVerificationMessage",
    "EmailVerificationSubject",
    "IssuerConfiguration",
    "KeyConfiguration",
    "LambdaConfig",
    "MfaConfiguration",
    "Policies",
    "SmsAuthenticationMessage",
    "SmsConfiguration",
    "SmsVerificationMessage",
    "UserAttributeUpdateSettings",
    "UserPoolAddOns",
    "UserPoolTags",
    "UserPoolTier",
    "VerificationMessageTemplate",
];

/// The UpdateUserPool input that keeps everything of `pool` but what `form` edits.
fn pool_update(pool_id: &str, pool: &Value, form: &Form) -> Value {
    let mut input = Map::new();
    input.insert("UserPoolId".into(), json!(pool_id));
    for key in UPDATABLE {
        if let Some(v) = pool.get(*key).filter(|v| !v.is_null()) {
            input.insert((*key).to_string(), v.clone());
        }
    }
    if let Some(name) = pool.get("Name") {
        input.insert("PoolName".into(), name.clone());
    }
    if let Some(name) = field(form, "pool_name") {
        input.insert("PoolName".into(), json!(name));
    }
    input.insert(
        "DeletionProtection".into(),
        json!(if checked(form, "deletion_protection") {
            "ACTIVE"
        } else {
            "INACTIVE"
        }),
    );
    let admin = input
        .entry("AdminCreateUserConfig")
        .or_insert_with(|| json!({}));
    admin["AllowAdminCreateUserOnly"] = json!(!checked(form, "self_sign_up"));
    let policies = input.entry("Policies").or_insert_with(|| json!({}));
    if policies.get("PasswordPolicy").is_none_or(Value::is_null) {
        policies["PasswordPolicy"] = json!({});
    }
    let pw = &mut policies["PasswordPolicy"];
    if let Some(n) = field(form, "minimum_length") {
        // Not a number: passed on as text, so the model's own check answers.
        pw["MinimumLength"] = n.parse::<i64>().map(|n| json!(n)).unwrap_or(json!(n));
    }
    if let Some(n) = field(form, "temporary_password_days") {
        pw["TemporaryPasswordValidityDays"] =
            n.parse::<i64>().map(|n| json!(n)).unwrap_or(json!(n));
    }
    for (key, name) in [
        ("RequireUppercase", "require_uppercase"),
        ("RequireLowercase", "require_lowercase"),
        ("RequireNumbers", "require_numbers"),
        ("RequireSymbols", "require_symbols"),
    ] {
        pw[key] = json!(checked(form, name));
    }
    Value::Object(input)
}

pub(crate) async fn pool_settings(
    State(state): State<Arc<AppState>>,
    Extension(op): Extension<Operator>,
    Path(pool_id): Path<String>,
) -> Response {
    pool_settings_page(&state, Page::of(&op), &pool_id, StatusCode::OK).await
}

async fn pool_settings_page(
    state: &Arc<AppState>,
    page: Page,
    pool_id: &str,
    status: StatusCode,
) -> Response {
    let pool = match describe_pool(state, pool_id).await {
        Ok(p) => p,
        Err(e) => return failure(page, &e),
    };
    page.render(
        status,
        "console/pool_settings.html",
        "Pool settings",
        json!({ "p": pool_header(&pool, pool_id), "pool": pool }),
    )
}

pub(crate) async fn update_pool(
    State(state): State<Arc<AppState>>,
    Extension(op): Extension<Operator>,
    Path(pool_id): Path<String>,
    body: Bytes,
) -> Response {
    let form = form_pairs(&body);
    let page = Page::of(&op);
    // The current settings are read first, so the update changes only what the form edits.
    let pool = match describe_pool(&state, &pool_id).await {
        Ok(p) => p,
        Err(e) => return failure(page, &e),
    };
    match idp(
        &state,
        "UpdateUserPool",
        pool_update(&pool_id, &pool, &form),
    )
    .await
    {
        Ok(_) => see_other(&format!("{}?notice=pool_updated", pool_url(&pool_id))),
        Err(e) => {
            let page = page.error(Some(api_error(&e)));
            pool_settings_page(&state, page, &pool_id, e.status).await
        }
    }
}

/// The confirmation page of a destructive action: what it does, and its button.
#[allow(clippy::too_many_arguments)]
fn confirm(
    page: Page,
    status: StatusCode,
    title: &str,
    body: &str,
    action: &str,
    button: &str,
    cancel: &str,
    p: Value,
) -> Response {
    page.render(
        status,
        "console/confirm.html",
        title,
        json!({
            "body": body,
            "action": action,
            "button": button,
            "cancel": cancel,
            "p": p,
        }),
    )
}

pub(crate) async fn confirm_delete_pool(
    State(state): State<Arc<AppState>>,
    Extension(op): Extension<Operator>,
    Path(pool_id): Path<String>,
) -> Response {
    delete_pool_page(&state, Page::of(&op), StatusCode::OK, &pool_id).await
}

async fn delete_pool_page(
    state: &Arc<AppState>,
    page: Page,
    status: StatusCode,
    pool_id: &str,
) -> Response {
    let pool = match describe_pool(state, pool_id).await {
        Ok(p) => p,
        Err(e) => return failure(page, &e),
    };
    let name = pool.get("Name").and_then(Value::as_str).unwrap_or(pool_id);
    let protected = pool.get("DeletionProtection").and_then(Value::as_str) == Some("ACTIVE");
    let mut body = format!(
        "Delete the user pool {name} ({pool_id}) with all its users, groups and app clients? \
         This cannot be undone."
    );
    if protected {
        body.push_str(
            " Deletion protection is on: the pool can't be deleted until it is turned off.",
        );
    }
    confirm(
        page,
        status,
        "Delete user pool",
        &body,
        &format!("{}/delete", pool_url(pool_id)),
        "Delete user pool",
        &pool_url(pool_id),
        pool_header(&pool, pool_id),
    )
}

pub(crate) async fn delete_pool(
    State(state): State<Arc<AppState>>,
    Extension(op): Extension<Operator>,
    Path(pool_id): Path<String>,
) -> Response {
    match idp(&state, "DeleteUserPool", json!({ "UserPoolId": pool_id })).await {
        Ok(_) => see_other(&format!("{CONSOLE_PATH}/pools?notice=pool_deleted")),
        Err(e) => {
            let page = Page::of(&op).error(Some(api_error(&e)));
            delete_pool_page(&state, page, e.status, &pool_id).await
        }
    }
}

// ---- Users --------------------------------------------------------------------------------

/// The search attributes offered, as (filter name, label).
const SEARCH_ATTRIBUTES: &[(&str, &str)] = &[
    ("username", "Username"),
    ("email", "Email"),
    ("phone_number", "Phone number"),
    ("sub", "User ID (sub)"),
    ("cognito:user_status", "Confirmation status"),
    ("status", "Enabled or Disabled (the whole word)"),
    ("name", "Name"),
    ("given_name", "Given name"),
    ("family_name", "Family name"),
    ("preferred_username", "Preferred username"),
];

pub(crate) async fn users(
    State(state): State<Arc<AppState>>,
    Extension(op): Extension<Operator>,
    Path(pool_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let query = query_of(&raw);
    // The tokens of the pages before this one (`prev`, repeated, oldest first; empty for the
    // first page), carried in the links so "Previous page" needs no server-side state.
    let trail: Vec<String> = form_urlencoded::parse(raw.as_deref().unwrap_or_default().as_bytes())
        .filter(|(k, _)| k == "prev")
        .map(|(_, v)| v.into_owned())
        .collect();
    let page = Page::of(&op).notice(notice(&query));
    users_page(
        &state,
        page,
        &pool_id,
        (&query, &trail),
        StatusCode::OK,
        json!({}),
    )
    .await
}

/// Pages kept in the "Previous page" trail; older ones are reached through "First page".
const TRAIL: usize = 40;

/// The users list's paging links: ListUsers tokens only go forward, so each link carries the
/// tokens of the pages before it.
struct Pager<'a> {
    base: &'a str,
    /// `attr=…&q=…`, or empty.
    search: &'a str,
    /// This page's token (`None`: the first page).
    current: Option<&'a str>,
    /// The tokens of the pages before this one, oldest first (`""`: the first page).
    trail: &'a [String],
}

impl Pager<'_> {
    fn url(&self, token: Option<&str>, trail: &[String]) -> String {
        let mut parts: Vec<String> = Vec::new();
        if !self.search.is_empty() {
            parts.push(self.search.to_string());
        }
        if let Some(t) = token.filter(|t| !t.is_empty()) {
            parts.push(format!("token={}", query_part(t)));
        }
        let skip = trail.len().saturating_sub(TRAIL);
        for t in &trail[skip..] {
            parts.push(format!("prev={}", query_part(t)));
        }
        if parts.is_empty() {
            self.base.to_string()
        } else {
            format!("{}?{}", self.base, parts.join("&"))
        }
    }

    fn first(&self) -> String {
        self.url(None, &[])
    }

    fn next(&self, token: &str) -> String {
        let mut trail = self.trail.to_vec();
        trail.push(self.current.unwrap_or_default().to_string());
        self.url(Some(token), &trail)
    }

    /// The page before this one, when this isn't the first.
    fn previous(&self) -> Option<String> {
        self.current?;
        match self.trail.split_last() {
            Some((last, rest)) => Some(self.url(Some(last), rest)),
            // Further back than the trail keeps: the first page.
            None => Some(self.first()),
        }
    }
}

async fn users_page(
    state: &Arc<AppState>,
    page: Page,
    pool_id: &str,
    (query, trail): (&BTreeMap<String, String>, &[String]),
    status: StatusCode,
    form: Value,
) -> Response {
    let pool = match named_pool(state, pool_id).await {
        Ok(p) => p,
        Err(e) => return failure(page, &e),
    };
    let attr = query.get("attr").map(String::as_str).unwrap_or("username");
    let q = query.get("q").map(String::as_str).unwrap_or_default();
    let mut input = json!({ "UserPoolId": pool_id, "Limit": 25 });
    let mut page = page;
    if !q.is_empty() {
        match session::prefix_filter(attr, q) {
            Some(f) => input["Filter"] = json!(f),
            None => page = page.error(Some(format!("Users can't be searched by {attr}."))),
        }
    }
    if let Some(t) = query.get("token") {
        input["PaginationToken"] = json!(t);
    }
    let (list, status, page) = match idp(state, "ListUsers", input).await {
        Ok(v) => (v, status, page),
        Err(e) => (json!({}), e.status, page.error(Some(api_error(&e)))),
    };
    let base = format!("{}/users", pool_url(pool_id));
    let search = if q.is_empty() {
        String::new()
    } else {
        format!("attr={}&q={}", query_part(attr), query_part(q))
    };
    let pager = Pager {
        base: &base,
        search: &search,
        current: query.get("token").map(String::as_str),
        trail,
    };
    let next_url = list
        .get("PaginationToken")
        .and_then(Value::as_str)
        .map(|t| pager.next(t));
    let previous_url = pager.previous();
    let first_url = query.contains_key("token").then(|| pager.first());
    let users: Vec<Value> = list
        .get("Users")
        .and_then(Value::as_array)
        .map(|users| {
            users
                .iter()
                .map(|u| {
                    let username = u
                        .get("Username")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    json!({
                        "username": username,
                        "url": user_url(pool_id, username),
                        "email": attribute(u.get("Attributes"), "email"),
                        "phone_number": attribute(u.get("Attributes"), "phone_number"),
                        "status": u.get("UserStatus"),
                        "enabled": u.get("Enabled"),
                        "created": u.get("UserCreateDate"),
                    })
                })
                .collect()
        })
        .unwrap_or_default();
    let attributes: Vec<Value> = SEARCH_ATTRIBUTES
        .iter()
        .map(|(name, label)| json!({ "name": name, "label": label, "selected": *name == attr }))
        .collect();
    page.render(
        status,
        "console/users.html",
        "Users",
        json!({
            "p": pool_header(&pool, pool_id),
            "users": users,
            "attributes": attributes,
            "q": q,
            "next_url": next_url,
            "previous_url": previous_url,
            "first_url": first_url,
            "form": form,
        }),
    )
}

/// One attribute's value from an API attribute list.
fn attribute(list: Option<&Value>, name: &str) -> Option<String> {
    list?
        .as_array()?
        .iter()
        .find(|a| a.get("Name").and_then(Value::as_str) == Some(name))
        .and_then(|a| a.get("Value"))
        .and_then(Value::as_str)
        .map(str::to_string)
}

/// The search form: posted (so it carries the session's CSRF token like every form), then
/// answered with the bookmarkable result URL.
pub(crate) async fn search_users(Path(pool_id): Path<String>, body: Bytes) -> Response {
    let form = form_pairs(&body);
    let attr = field(&form, "attr").unwrap_or("username");
    let q = field(&form, "q").unwrap_or_default();
    let base = format!("{}/users", pool_url(&pool_id));
    if q.is_empty() {
        return see_other(&base);
    }
    see_other(&format!(
        "{base}?attr={}&q={}",
        query_part(attr),
        query_part(q)
    ))
}

pub(crate) async fn create_user(
    State(state): State<Arc<AppState>>,
    Extension(op): Extension<Operator>,
    Path(pool_id): Path<String>,
    body: Bytes,
) -> Response {
    let form = form_pairs(&body);
    let username = field(&form, "username").unwrap_or_default();
    let mut attributes = Vec::new();
    if let Some(email) = field(&form, "email") {
        attributes.push(json!({ "Name": "email", "Value": email }));
        if checked(&form, "email_verified") {
            attributes.push(json!({ "Name": "email_verified", "Value": "true" }));
        }
    }
    if let Some(phone) = field(&form, "phone_number") {
        attributes.push(json!({ "Name": "phone_number", "Value": phone }));
        if checked(&form, "phone_number_verified") {
            attributes.push(json!({ "Name": "phone_number_verified", "Value": "true" }));
        }
    }
    let mut input = json!({
        "UserPoolId": pool_id,
        "Username": username,
        "UserAttributes": attributes,
    });
    if let Some(p) = form
        .iter()
        .find(|(k, v)| k == "temporary_password" && !v.is_empty())
    {
        input["TemporaryPassword"] = json!(p.1);
    }
    if checked(&form, "send_invitation") {
        let mut media = Vec::new();
        if field(&form, "email").is_some() {
            media.push("EMAIL");
        }
        if field(&form, "phone_number").is_some() {
            media.push("SMS");
        }
        if !media.is_empty() {
            input["DesiredDeliveryMediums"] = json!(media);
        }
    } else {
        input["MessageAction"] = json!("SUPPRESS");
    }
    match idp(&state, "AdminCreateUser", input).await {
        Ok(v) => {
            let created = v["User"]["Username"].as_str().unwrap_or(username);
            see_other(&format!(
                "{}?notice=user_created",
                user_url(&pool_id, created)
            ))
        }
        Err(e) => {
            let page = Page::of(&op).error(Some(api_error(&e)));
            let echo = json!({
                "username": username,
                "email": field(&form, "email"),
                "phone_number": field(&form, "phone_number"),
            });
            users_page(
                &state,
                page,
                &pool_id,
                (&BTreeMap::new(), &[]),
                e.status,
                echo,
            )
            .await
        }
    }
}

pub(crate) async fn user(
    State(state): State<Arc<AppState>>,
    Extension(op): Extension<Operator>,
    Path((pool_id, username)): Path<(String, String)>,
    RawQuery(raw): RawQuery,
) -> Response {
    let page = Page::of(&op).notice(notice(&query_of(&raw)));
    user_page(&state, page, &pool_id, &username, StatusCode::OK).await
}

async fn user_page(
    state: &Arc<AppState>,
    page: Page,
    pool_id: &str,
    username: &str,
    status: StatusCode,
) -> Response {
    let who = json!({ "UserPoolId": pool_id, "Username": username });
    let user = match idp(state, "AdminGetUser", who.clone()).await {
        Ok(u) => u,
        Err(e) => return failure(page, &e),
    };
    let pool = match describe_pool(state, pool_id).await {
        Ok(p) => p,
        Err(e) => return failure(page, &e),
    };
    let mut with_limit = who.clone();
    with_limit["Limit"] = json!(60);
    let groups = idp(state, "AdminListGroupsForUser", with_limit).await;
    let devices = idp(state, "AdminListDevices", {
        let mut d = who.clone();
        d["Limit"] = json!(20);
        d
    })
    .await;
    let all_groups = idp(
        state,
        "ListGroups",
        json!({ "UserPoolId": pool_id, "Limit": 60 }),
    )
    .await;
    let threat_on = matches!(
        pool.pointer("/UserPoolAddOns/AdvancedSecurityMode")
            .and_then(Value::as_str),
        Some("AUDIT" | "ENFORCED")
    );
    let events = if threat_on {
        let mut e = who.clone();
        e["MaxResults"] = json!(10);
        idp(state, "AdminListUserAuthEvents", e)
            .await
            .ok()
            .and_then(|v| v.get("AuthEvents").cloned())
    } else {
        None
    };
    let errors: Vec<String> = [&groups, &devices, &all_groups]
        .iter()
        .filter_map(|r| r.as_ref().err().map(api_error))
        .collect();
    let page = if errors.is_empty() {
        page
    } else {
        page.error(Some(errors.join(" ")))
    };
    let member_of: Vec<Value> = groups
        .as_ref()
        .ok()
        .and_then(|g| g.get("Groups"))
        .and_then(Value::as_array)
        .cloned()
        .unwrap_or_default();
    let member_names: Vec<&str> = member_of
        .iter()
        .filter_map(|g| g.get("GroupName").and_then(Value::as_str))
        .collect();
    let other_groups: Vec<Value> = all_groups
        .as_ref()
        .ok()
        .and_then(|g| g.get("Groups"))
        .and_then(Value::as_array)
        .map(|gs| {
            gs.iter()
                .filter_map(|g| g.get("GroupName").and_then(Value::as_str))
                .filter(|n| !member_names.contains(n))
                .map(|n| json!(n))
                .collect()
        })
        .unwrap_or_default();
    let name = user
        .get("Username")
        .and_then(Value::as_str)
        .unwrap_or(username)
        .to_string();
    page.render(
        status,
        "console/user.html",
        &format!("User {name}"),
        json!({
            "p": pool_header(&pool, pool_id),
            "user": user,
            "url": user_url(pool_id, &name),
            "users_url": format!("{}/users", pool_url(pool_id)),
            "groups": member_of,
            "other_groups": other_groups,
            "devices": devices.ok().and_then(|d| d.get("Devices").cloned()),
            "threat_on": threat_on,
            "events": events,
        }),
    )
}

/// A user action: its operation, whether it is confirmed on a page of its own first, its
/// page's wording, and the notice after it.
struct UserAction {
    operation: &'static str,
    confirm: Option<(&'static str, &'static str)>,
    notice: &'static str,
}

fn user_action_of(action: &str) -> Option<UserAction> {
    let a = |operation, confirm, notice| {
        Some(UserAction {
            operation,
            confirm,
            notice,
        })
    };
    match action {
        "disable" => a("AdminDisableUser", None, "user_disabled"),
        "enable" => a("AdminEnableUser", None, "user_enabled"),
        "confirm" => a("AdminConfirmSignUp", None, "user_confirmed"),
        "add-to-group" => a("AdminAddUserToGroup", None, "added_to_group"),
        "remove-from-group" => a("AdminRemoveUserFromGroup", None, "removed_from_group"),
        "reset-password" => a(
            "AdminResetUserPassword",
            Some((
                "Reset password",
                "Reset the password of {user}? Their current password stops working at once, \
                 and they must set a new one with the code sent to their verified email or \
                 phone (AdminResetUserPassword).",
            )),
            "password_reset",
        ),
        "sign-out" => a(
            "AdminUserGlobalSignOut",
            Some((
                "Sign out",
                "Sign {user} out everywhere? Every refresh token issued to them is revoked, so \
                 every app must sign in again when its tokens expire (AdminUserGlobalSignOut).",
            )),
            "signed_out",
        ),
        "delete" => a(
            "AdminDeleteUser",
            Some((
                "Delete user",
                "Delete {user}? Their attributes, group memberships, devices and sessions are \
                 removed. This cannot be undone.",
            )),
            "user_deleted",
        ),
        _ => None,
    }
}

pub(crate) async fn confirm_user_action(
    State(state): State<Arc<AppState>>,
    Extension(op): Extension<Operator>,
    Path((pool_id, username, action)): Path<(String, String, String)>,
) -> Response {
    let page = Page::of(&op);
    let Some(UserAction {
        confirm: Some((button, body)),
        ..
    }) = user_action_of(&action)
    else {
        return page.message(StatusCode::NOT_FOUND, "Not found", "There is no such page.");
    };
    // The user must exist for the page to make sense.
    let who = json!({ "UserPoolId": pool_id, "Username": username });
    if let Err(e) = idp(&state, "AdminGetUser", who).await {
        return failure(page, &e);
    }
    let pool = describe_pool(&state, &pool_id).await.unwrap_or(Value::Null);
    confirm(
        page,
        StatusCode::OK,
        button,
        &body.replace("{user}", &username),
        &format!("{}/{action}", user_url(&pool_id, &username)),
        button,
        &user_url(&pool_id, &username),
        pool_header(&pool, &pool_id),
    )
}

pub(crate) async fn user_action(
    State(state): State<Arc<AppState>>,
    Extension(op): Extension<Operator>,
    Path((pool_id, username, action)): Path<(String, String, String)>,
    body: Bytes,
) -> Response {
    let page = Page::of(&op);
    let Some(a) = user_action_of(&action) else {
        return page.message(
            StatusCode::NOT_FOUND,
            "Not found",
            "There is no such action.",
        );
    };
    let form = form_pairs(&body);
    let mut input = json!({ "UserPoolId": pool_id, "Username": username });
    if matches!(action.as_str(), "add-to-group" | "remove-from-group") {
        input["GroupName"] = json!(field(&form, "group").unwrap_or_default());
    }
    match idp(&state, a.operation, input).await {
        Ok(_) if action == "delete" => {
            see_other(&format!("{}/users?notice={}", pool_url(&pool_id), a.notice))
        }
        Ok(_) => see_other(&format!(
            "{}?notice={}",
            user_url(&pool_id, &username),
            a.notice
        )),
        Err(e) => {
            let page = page.error(Some(api_error(&e)));
            user_page(&state, page, &pool_id, &username, e.status).await
        }
    }
}

// ---- Groups -------------------------------------------------------------------------------

pub(crate) async fn groups(
    State(state): State<Arc<AppState>>,
    Extension(op): Extension<Operator>,
    Path(pool_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let query = query_of(&raw);
    let page = Page::of(&op).notice(notice(&query));
    groups_page(
        &state,
        page,
        &pool_id,
        query.get("next").cloned(),
        StatusCode::OK,
        json!({}),
    )
    .await
}

async fn groups_page(
    state: &Arc<AppState>,
    page: Page,
    pool_id: &str,
    next: Option<String>,
    status: StatusCode,
    form: Value,
) -> Response {
    let pool = match describe_pool(state, pool_id).await {
        Ok(p) => p,
        Err(e) => return failure(page, &e),
    };
    let (list, next_url) = match list_page(
        state,
        ("cognito-idp", "ListGroups"),
        json!({ "UserPoolId": pool_id, "Limit": 60 }),
        next.as_deref(),
        &format!("{}/groups", pool_url(pool_id)),
    )
    .await
    {
        Ok(v) => v,
        Err(e) => return failure(page, &e),
    };
    let groups: Vec<Value> = list
        .get("Groups")
        .and_then(Value::as_array)
        .map(|gs| {
            gs.iter()
                .map(|g| {
                    let mut g = g.clone();
                    let name = g
                        .get("GroupName")
                        .and_then(Value::as_str)
                        .unwrap_or_default();
                    g["delete_url"] = json!(format!(
                        "{}/groups/{}/delete",
                        pool_url(pool_id),
                        path_part(name)
                    ));
                    g
                })
                .collect()
        })
        .unwrap_or_default();
    page.render(
        status,
        "console/groups.html",
        "Groups",
        json!({
            "p": pool_header(&pool, pool_id),
            "groups": groups,
            "next_url": next_url,
            "form": form,
        }),
    )
}

pub(crate) async fn create_group(
    State(state): State<Arc<AppState>>,
    Extension(op): Extension<Operator>,
    Path(pool_id): Path<String>,
    body: Bytes,
) -> Response {
    let form = form_pairs(&body);
    let mut input = json!({
        "UserPoolId": pool_id,
        "GroupName": field(&form, "group_name").unwrap_or_default(),
    });
    if let Some(d) = field(&form, "description") {
        input["Description"] = json!(d);
    }
    if let Some(p) = field(&form, "precedence") {
        // Not a number: passed on as text, so the model's own check answers.
        input["Precedence"] = p.parse::<i64>().map(|n| json!(n)).unwrap_or(json!(p));
    }
    if let Some(r) = field(&form, "role_arn") {
        input["RoleArn"] = json!(r);
    }
    match idp(&state, "CreateGroup", input).await {
        Ok(_) => see_other(&format!(
            "{}/groups?notice=group_created",
            pool_url(&pool_id)
        )),
        Err(e) => {
            let page = Page::of(&op).error(Some(api_error(&e)));
            let echo = json!({
                "group_name": field(&form, "group_name"),
                "description": field(&form, "description"),
                "precedence": field(&form, "precedence"),
                "role_arn": field(&form, "role_arn"),
            });
            groups_page(&state, page, &pool_id, None, e.status, echo).await
        }
    }
}

pub(crate) async fn confirm_delete_group(
    State(state): State<Arc<AppState>>,
    Extension(op): Extension<Operator>,
    Path((pool_id, group)): Path<(String, String)>,
) -> Response {
    let page = Page::of(&op);
    let found = idp(
        &state,
        "GetGroup",
        json!({ "UserPoolId": pool_id, "GroupName": group }),
    )
    .await;
    if let Err(e) = found {
        return failure(page, &e);
    }
    let pool = describe_pool(&state, &pool_id).await.unwrap_or(Value::Null);
    let groups = format!("{}/groups", pool_url(&pool_id));
    confirm(
        page,
        StatusCode::OK,
        "Delete group",
        &format!(
            "Delete the group {group}? Its members stay in the pool but leave the group, and \
             their next tokens no longer name it."
        ),
        &format!("{groups}/{}/delete", path_part(&group)),
        "Delete group",
        &groups,
        pool_header(&pool, &pool_id),
    )
}

pub(crate) async fn delete_group(
    State(state): State<Arc<AppState>>,
    Extension(op): Extension<Operator>,
    Path((pool_id, group)): Path<(String, String)>,
) -> Response {
    let input = json!({ "UserPoolId": pool_id, "GroupName": group });
    match idp(&state, "DeleteGroup", input).await {
        Ok(_) => see_other(&format!(
            "{}/groups?notice=group_deleted",
            pool_url(&pool_id)
        )),
        Err(e) => {
            let page = Page::of(&op).error(Some(api_error(&e)));
            groups_page(&state, page, &pool_id, None, e.status, json!({})).await
        }
    }
}

// ---- App clients --------------------------------------------------------------------------

const AUTH_FLOWS: &[&str] = &[
    "ALLOW_USER_SRP_AUTH",
    "ALLOW_REFRESH_TOKEN_AUTH",
    "ALLOW_USER_PASSWORD_AUTH",
    "ALLOW_ADMIN_USER_PASSWORD_AUTH",
    "ALLOW_CUSTOM_AUTH",
    "ALLOW_USER_AUTH",
];
const OAUTH_FLOWS: &[&str] = &["code", "implicit", "client_credentials"];

/// The real hosted sign-in page of `client` on the pool's domain (so the operator sees its
/// branding), when the client can use it: the code grant and a callback URL to name.
fn sign_in_preview(domain_url: &str, client: &Value) -> Option<String> {
    let has_code = client
        .get("AllowedOAuthFlows")
        .and_then(Value::as_array)
        .is_some_and(|f| f.iter().any(|f| f.as_str() == Some("code")));
    let callback = client
        .get("CallbackURLs")
        .and_then(Value::as_array)
        .and_then(|c| c.first())
        .and_then(Value::as_str)?;
    let id = client.get("ClientId").and_then(Value::as_str)?;
    has_code.then(|| {
        format!(
            "{domain_url}/login?client_id={}&response_type=code&redirect_uri={}",
            query_part(id),
            query_part(callback)
        )
    })
}

/// A client as the console shows it: never with its secret.
fn without_secret(mut client: Value) -> Value {
    if let Some(c) = client.as_object_mut() {
        let had = c.remove("ClientSecret").is_some();
        c.insert("HasSecret".into(), json!(had));
    }
    client
}

pub(crate) async fn clients(
    State(state): State<Arc<AppState>>,
    Extension(op): Extension<Operator>,
    Path(pool_id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let query = query_of(&raw);
    let page = Page::of(&op).notice(notice(&query));
    clients_page(
        &state,
        page,
        &pool_id,
        query.get("next").cloned(),
        StatusCode::OK,
        Map::new(),
    )
    .await
}

async fn clients_page(
    state: &Arc<AppState>,
    page: Page,
    pool_id: &str,
    next: Option<String>,
    status: StatusCode,
    form: Map<String, Value>,
) -> Response {
    let pool = match describe_pool(state, pool_id).await {
        Ok(p) => p,
        Err(e) => return failure(page, &e),
    };
    let settings = state.engine.settings();
    let domain_url = pool
        .get("Domain")
        .and_then(Value::as_str)
        .map(|d| crate::web::domain_url(&settings.issuer_base, settings.domain_base.as_deref(), d));
    let (list, next_url) = match list_page(
        state,
        ("cognito-idp", "ListUserPoolClients"),
        json!({ "UserPoolId": pool_id, "MaxResults": 20 }),
        next.as_deref(),
        &format!("{}/clients", pool_url(pool_id)),
    )
    .await
    {
        Ok(v) => v,
        Err(e) => return failure(page, &e),
    };
    let mut clients = Vec::new();
    for c in list
        .get("UserPoolClients")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let id = c
            .get("ClientId")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let input = json!({ "UserPoolId": pool_id, "ClientId": id });
        let mut client = match idp(state, "DescribeUserPoolClient", input).await {
            Ok(v) => without_secret(v.get("UserPoolClient").cloned().unwrap_or(Value::Null)),
            Err(_) => without_secret(c.clone()),
        };
        client["delete_url"] = json!(format!(
            "{}/clients/{}/delete",
            pool_url(pool_id),
            path_part(id)
        ));
        client["preview_url"] = json!(
            domain_url
                .as_deref()
                .and_then(|d| sign_in_preview(d, &client))
        );
        clients.push(client);
    }
    let default_flows = ["ALLOW_USER_SRP_AUTH", "ALLOW_REFRESH_TOKEN_AUTH"];
    let chosen = |name: &str, default: bool| match form.get("flows").and_then(Value::as_array) {
        Some(f) => f.iter().any(|v| v.as_str() == Some(name)),
        None => default,
    };
    let auth_flows: Vec<Value> = AUTH_FLOWS
        .iter()
        .map(|f| json!({ "name": f, "checked": chosen(f, default_flows.contains(f)) }))
        .collect();
    let oauth_flows: Vec<Value> = OAUTH_FLOWS
        .iter()
        .map(|f| json!({ "name": f, "checked": chosen(f, false) }))
        .collect();
    page.render(
        status,
        "console/clients.html",
        "App clients",
        json!({
            "p": pool_header(&pool, pool_id),
            "domain_url": domain_url,
            "clients": clients,
            "next_url": next_url,
            "auth_flows": auth_flows,
            "oauth_flows": oauth_flows,
            "form": form,
        }),
    )
}

pub(crate) async fn create_client(
    State(state): State<Arc<AppState>>,
    Extension(op): Extension<Operator>,
    Path(pool_id): Path<String>,
    body: Bytes,
) -> Response {
    let form = form_pairs(&body);
    let auth_flows: Vec<String> = fields(&form, "auth_flow")
        .into_iter()
        .filter(|f| AUTH_FLOWS.contains(&f.as_str()))
        .collect();
    let oauth_flows: Vec<String> = fields(&form, "oauth_flow")
        .into_iter()
        .filter(|f| OAUTH_FLOWS.contains(&f.as_str()))
        .collect();
    let scopes = lines(&form, "scopes");
    let callbacks = lines(&form, "callback_urls");
    let logouts = lines(&form, "logout_urls");
    let mut input = json!({
        "UserPoolId": pool_id,
        "ClientName": field(&form, "client_name").unwrap_or_default(),
        "GenerateSecret": checked(&form, "generate_secret"),
        "ExplicitAuthFlows": auth_flows,
    });
    if !oauth_flows.is_empty() {
        input["AllowedOAuthFlowsUserPoolClient"] = json!(true);
        input["AllowedOAuthFlows"] = json!(oauth_flows);
        input["SupportedIdentityProviders"] = json!(["COGNITO"]);
    }
    if !scopes.is_empty() {
        input["AllowedOAuthScopes"] = json!(scopes);
    }
    if !callbacks.is_empty() {
        input["CallbackURLs"] = json!(callbacks);
    }
    if !logouts.is_empty() {
        input["LogoutURLs"] = json!(logouts);
    }
    let page = Page::of(&op);
    match idp(&state, "CreateUserPoolClient", input).await {
        Ok(v) => {
            let client = v.get("UserPoolClient").cloned().unwrap_or(Value::Null);
            let secret = client.get("ClientSecret").cloned();
            let pool = describe_pool(&state, &pool_id).await.unwrap_or(Value::Null);
            page.render(
                StatusCode::CREATED,
                "console/client_created.html",
                "App client created",
                json!({
                    "p": pool_header(&pool, &pool_id),
                    "client": without_secret(client),
                    "secret": secret,
                }),
            )
        }
        Err(e) => {
            let page = page.error(Some(api_error(&e)));
            let mut echo = Map::new();
            echo.insert("client_name".into(), json!(field(&form, "client_name")));
            echo.insert(
                "flows".into(),
                json!([fields(&form, "auth_flow"), fields(&form, "oauth_flow")].concat()),
            );
            echo.insert("scopes".into(), json!(field(&form, "scopes")));
            echo.insert("callback_urls".into(), json!(field(&form, "callback_urls")));
            echo.insert("logout_urls".into(), json!(field(&form, "logout_urls")));
            echo.insert(
                "generate_secret".into(),
                json!(checked(&form, "generate_secret")),
            );
            clients_page(&state, page, &pool_id, None, e.status, echo).await
        }
    }
}

pub(crate) async fn confirm_delete_client(
    State(state): State<Arc<AppState>>,
    Extension(op): Extension<Operator>,
    Path((pool_id, client)): Path<(String, String)>,
) -> Response {
    let page = Page::of(&op);
    let input = json!({ "UserPoolId": pool_id, "ClientId": client });
    let found = match idp(&state, "DescribeUserPoolClient", input).await {
        Ok(v) => v,
        Err(e) => return failure(page, &e),
    };
    let name = found
        .pointer("/UserPoolClient/ClientName")
        .and_then(Value::as_str)
        .unwrap_or(&client)
        .to_string();
    let pool = describe_pool(&state, &pool_id).await.unwrap_or(Value::Null);
    let clients = format!("{}/clients", pool_url(&pool_id));
    confirm(
        page,
        StatusCode::OK,
        "Delete app client",
        &format!(
            "Delete the app client {name} ({client})? Apps using it can no longer sign users in. \
             This cannot be undone."
        ),
        &format!("{clients}/{}/delete", path_part(&client)),
        "Delete app client",
        &clients,
        pool_header(&pool, &pool_id),
    )
}

pub(crate) async fn delete_client(
    State(state): State<Arc<AppState>>,
    Extension(op): Extension<Operator>,
    Path((pool_id, client)): Path<(String, String)>,
) -> Response {
    let input = json!({ "UserPoolId": pool_id, "ClientId": client });
    match idp(&state, "DeleteUserPoolClient", input).await {
        Ok(_) => see_other(&format!(
            "{}/clients?notice=client_deleted",
            pool_url(&pool_id)
        )),
        Err(e) => {
            let page = Page::of(&op).error(Some(api_error(&e)));
            clients_page(&state, page, &pool_id, None, e.status, Map::new()).await
        }
    }
}

// ---- Identity pools -----------------------------------------------------------------------

pub(crate) async fn identity_pools(
    State(state): State<Arc<AppState>>,
    Extension(op): Extension<Operator>,
    RawQuery(raw): RawQuery,
) -> Response {
    let query = query_of(&raw);
    let page = Page::of(&op).notice(notice(&query));
    identity_pools_page(
        &state,
        page,
        query.get("next").cloned(),
        StatusCode::OK,
        json!({}),
    )
    .await
}

async fn identity_pools_page(
    state: &Arc<AppState>,
    page: Page,
    next: Option<String>,
    status: StatusCode,
    form: Value,
) -> Response {
    let (list, next_url) = match list_page(
        state,
        ("cognito-identity", "ListIdentityPools"),
        json!({ "MaxResults": 20 }),
        next.as_deref(),
        &format!("{CONSOLE_PATH}/identity-pools"),
    )
    .await
    {
        Ok(v) => v,
        Err(e) => return failure(page, &e),
    };
    let mut pools = Vec::new();
    for p in list
        .get("IdentityPools")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
    {
        let id = p.get("IdentityPoolId").cloned().unwrap_or(Value::Null);
        let described = identity(
            state,
            "DescribeIdentityPool",
            json!({ "IdentityPoolId": id }),
        )
        .await
        .unwrap_or_else(|_| p.clone());
        let roles = identity(
            state,
            "GetIdentityPoolRoles",
            json!({ "IdentityPoolId": id }),
        )
        .await
        .ok()
        .and_then(|r| r.get("Roles").cloned());
        let url = id.as_str().map(identity_pool_url);
        pools.push(json!({ "pool": described, "roles": roles, "url": url }));
    }
    page.render(
        status,
        "console/identity_pools.html",
        "Identity pools",
        json!({ "pools": pools, "next_url": next_url, "form": form }),
    )
}

pub(crate) async fn create_identity_pool(
    State(state): State<Arc<AppState>>,
    Extension(op): Extension<Operator>,
    body: Bytes,
) -> Response {
    let form = form_pairs(&body);
    let mut input = json!({
        "IdentityPoolName": field(&form, "identity_pool_name").unwrap_or_default(),
        "AllowUnauthenticatedIdentities": checked(&form, "allow_unauthenticated"),
    });
    if let (Some(pool), Some(client)) = (field(&form, "user_pool_id"), field(&form, "client_id")) {
        input["CognitoIdentityProviders"] = json!([user_pool_provider(pool, client)]);
    }
    match identity(&state, "CreateIdentityPool", input).await {
        Ok(_) => see_other(&format!(
            "{CONSOLE_PATH}/identity-pools?notice=identity_pool_created"
        )),
        Err(e) => {
            let page = Page::of(&op).error(Some(api_error(&e)));
            let echo = json!({
                "identity_pool_name": field(&form, "identity_pool_name"),
                "user_pool_id": field(&form, "user_pool_id"),
                "client_id": field(&form, "client_id"),
            });
            identity_pools_page(&state, page, None, e.status, echo).await
        }
    }
}

/// A CognitoIdentityProviders entry for a user pool: `pool` is its id (or already a provider
/// name, kept as written).
fn user_pool_provider(pool: &str, client: &str) -> Value {
    let name = if pool.contains('/') {
        pool.to_string()
    } else {
        let region = pool.split('_').next().unwrap_or_default();
        format!("cognito-idp.{region}.amazonaws.com/{pool}")
    };
    json!({ "ProviderName": name, "ClientId": client })
}

fn identity_pool_url(id: &str) -> String {
    format!("{CONSOLE_PATH}/identity-pools/{}", path_part(id))
}

pub(crate) async fn identity_pool(
    State(state): State<Arc<AppState>>,
    Extension(op): Extension<Operator>,
    Path(id): Path<String>,
    RawQuery(raw): RawQuery,
) -> Response {
    let page = Page::of(&op).notice(notice(&query_of(&raw)));
    identity_pool_page(&state, page, &id, StatusCode::OK).await
}

async fn identity_pool_page(
    state: &Arc<AppState>,
    page: Page,
    id: &str,
    status: StatusCode,
) -> Response {
    let pool = match identity(
        state,
        "DescribeIdentityPool",
        json!({ "IdentityPoolId": id }),
    )
    .await
    {
        Ok(p) => p,
        Err(e) => return failure(page, &e),
    };
    let roles = identity(
        state,
        "GetIdentityPoolRoles",
        json!({ "IdentityPoolId": id }),
    )
    .await;
    let (roles, page) = match roles {
        Ok(r) => (r, page),
        Err(e) => (json!({}), page.error(Some(api_error(&e)))),
    };
    let providers: Vec<String> = pool
        .get("CognitoIdentityProviders")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .map(|p| {
            format!(
                "{} {}",
                p.get("ProviderName")
                    .and_then(Value::as_str)
                    .unwrap_or_default(),
                p.get("ClientId")
                    .and_then(Value::as_str)
                    .unwrap_or_default()
            )
        })
        .collect();
    let oidc: Vec<&str> = pool
        .get("OpenIdConnectProviderARNs")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    page.render(
        status,
        "console/identity_pool.html",
        &format!(
            "Identity pool {}",
            pool.get("IdentityPoolName")
                .and_then(Value::as_str)
                .unwrap_or(id)
        ),
        json!({
            "ip": pool,
            "url": identity_pool_url(id),
            "providers": providers.join("\n"),
            "oidc_arns": oidc.join("\n"),
            "roles": roles.get("Roles"),
            "role_mappings": roles.get("RoleMappings"),
        }),
    )
}

/// The UpdateIdentityPool input that keeps everything of `pool` (as DescribeIdentityPool
/// shows it) but what `form` edits: UpdateIdentityPool replaces the whole configuration.
fn identity_pool_update(pool: &Value, form: &Form) -> Value {
    let mut input = pool.clone();
    if let Some(name) = field(form, "identity_pool_name") {
        input["IdentityPoolName"] = json!(name);
    }
    input["AllowUnauthenticatedIdentities"] = json!(checked(form, "allow_unauthenticated"));
    input["AllowClassicFlow"] = json!(checked(form, "allow_classic_flow"));
    let providers: Vec<Value> = field(form, "providers")
        .unwrap_or_default()
        .lines()
        .filter_map(|line| {
            let mut words = line.split_whitespace();
            let pool = words.next()?;
            Some(user_pool_provider(pool, words.next().unwrap_or_default()))
        })
        .collect();
    input["CognitoIdentityProviders"] = json!(providers);
    input["OpenIdConnectProviderARNs"] = json!(lines(form, "oidc_arns"));
    input
}

pub(crate) async fn update_identity_pool(
    State(state): State<Arc<AppState>>,
    Extension(op): Extension<Operator>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let form = form_pairs(&body);
    let page = Page::of(&op);
    // The current configuration first, so the update changes only what the form edits.
    let pool = match identity(
        &state,
        "DescribeIdentityPool",
        json!({ "IdentityPoolId": id }),
    )
    .await
    {
        Ok(p) => p,
        Err(e) => return failure(page, &e),
    };
    match identity(
        &state,
        "UpdateIdentityPool",
        identity_pool_update(&pool, &form),
    )
    .await
    {
        Ok(_) => see_other(&format!(
            "{}?notice=identity_pool_updated",
            identity_pool_url(&id)
        )),
        Err(e) => {
            let page = page.error(Some(api_error(&e)));
            identity_pool_page(&state, page, &id, e.status).await
        }
    }
}

pub(crate) async fn set_identity_pool_roles(
    State(state): State<Arc<AppState>>,
    Extension(op): Extension<Operator>,
    Path(id): Path<String>,
    body: Bytes,
) -> Response {
    let form = form_pairs(&body);
    let page = Page::of(&op);
    let current = match identity(
        &state,
        "GetIdentityPoolRoles",
        json!({ "IdentityPoolId": id }),
    )
    .await
    {
        Ok(r) => r,
        Err(e) => return failure(page, &e),
    };
    let mut roles = Map::new();
    for kind in ["authenticated", "unauthenticated"] {
        if let Some(arn) = field(&form, kind) {
            roles.insert(kind.into(), json!(arn));
        }
    }
    let mut input = json!({ "IdentityPoolId": id, "Roles": roles });
    // Role mappings aren't edited here: they are kept.
    if let Some(m) = current.get("RoleMappings").filter(|m| !m.is_null()) {
        input["RoleMappings"] = m.clone();
    }
    match identity(&state, "SetIdentityPoolRoles", input).await {
        Ok(_) => see_other(&format!("{}?notice=roles_set", identity_pool_url(&id))),
        Err(e) => {
            let page = page.error(Some(api_error(&e)));
            identity_pool_page(&state, page, &id, e.status).await
        }
    }
}

// ---- Identity providers of a user pool ----------------------------------------------------

pub(crate) async fn create_identity_provider(
    State(state): State<Arc<AppState>>,
    Extension(op): Extension<Operator>,
    Path(pool_id): Path<String>,
    body: Bytes,
) -> Response {
    let form = form_pairs(&body);
    let mut details = json!({
        "client_id": field(&form, "idp_client_id").unwrap_or_default(),
        "client_secret": field(&form, "idp_client_secret").unwrap_or_default(),
        "authorize_scopes": field(&form, "idp_scopes").unwrap_or("openid email profile"),
        "oidc_issuer": field(&form, "idp_issuer").unwrap_or_default(),
        "attributes_request_method": field(&form, "idp_request_method").unwrap_or("GET"),
    });
    if field(&form, "idp_client_secret").is_none() {
        // A public client: Cognito requires the key, empty.
        details["client_secret"] = json!("");
    }
    let mapping: Map<String, Value> = field(&form, "idp_mapping")
        .unwrap_or_default()
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once('=')?;
            Some((k.trim().to_string(), json!(v.trim())))
        })
        .filter(|(k, _)| !k.is_empty())
        .collect();
    let mut input = json!({
        "UserPoolId": pool_id,
        "ProviderName": field(&form, "idp_name").unwrap_or_default(),
        "ProviderType": "OIDC",
        "ProviderDetails": details,
    });
    if !mapping.is_empty() {
        input["AttributeMapping"] = Value::Object(mapping);
    }
    match idp(&state, "CreateIdentityProvider", input).await {
        Ok(_) => see_other(&format!("{}?notice=provider_created", pool_url(&pool_id))),
        Err(e) => Page::of(&op).message(
            e.status,
            "The identity provider was not created",
            &api_error(&e),
        ),
    }
}

pub(crate) async fn confirm_delete_identity_provider(
    State(state): State<Arc<AppState>>,
    Extension(op): Extension<Operator>,
    Path((pool_id, name)): Path<(String, String)>,
) -> Response {
    let page = Page::of(&op);
    let input = json!({ "UserPoolId": pool_id, "ProviderName": name });
    if let Err(e) = idp(&state, "DescribeIdentityProvider", input).await {
        return failure(page, &e);
    }
    let pool = describe_pool(&state, &pool_id).await.unwrap_or(Value::Null);
    confirm(
        page,
        StatusCode::OK,
        "Delete identity provider",
        &format!(
            "Delete the identity provider {name}? Its users can no longer sign in through it; \
             the users it created stay in the pool."
        ),
        &format!(
            "{}/providers/{}/delete",
            pool_url(&pool_id),
            path_part(&name)
        ),
        "Delete identity provider",
        &pool_url(&pool_id),
        pool_header(&pool, &pool_id),
    )
}

pub(crate) async fn delete_identity_provider(
    State(state): State<Arc<AppState>>,
    Extension(op): Extension<Operator>,
    Path((pool_id, name)): Path<(String, String)>,
) -> Response {
    let input = json!({ "UserPoolId": pool_id, "ProviderName": name });
    match idp(&state, "DeleteIdentityProvider", input).await {
        Ok(_) => see_other(&format!("{}?notice=provider_deleted", pool_url(&pool_id))),
        Err(e) => failure(Page::of(&op), &e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_identity_pool_update_keeps_what_the_form_does_not_edit() {
        let pool = json!({
            "IdentityPoolId": "us-east-1:abc", "IdentityPoolName": "old",
            "AllowUnauthenticatedIdentities": true, "DeveloperProviderName": "login.dev",
            "SupportedLoginProviders": { "graph.facebook.com": "123" },
            "CognitoIdentityProviders": [{ "ProviderName": "x", "ClientId": "y" }],
        });
        let form: Form = vec![
            ("identity_pool_name".into(), "new".into()),
            (
                "providers".into(),
                "us-east-1_Pool c1\n\ncognito-idp.eu-west-1.amazonaws.com/eu-west-1_X c2".into(),
            ),
            ("oidc_arns".into(), "arn:aws:iam::1:oidc-provider/a".into()),
        ];
        let input = identity_pool_update(&pool, &form);
        assert_eq!(input["IdentityPoolName"], "new");
        assert_eq!(input["AllowUnauthenticatedIdentities"], false, "unchecked");
        assert_eq!(input["DeveloperProviderName"], "login.dev");
        assert_eq!(
            input["SupportedLoginProviders"]["graph.facebook.com"],
            "123"
        );
        assert_eq!(
            input["CognitoIdentityProviders"],
            json!([
                { "ProviderName": "cognito-idp.us-east-1.amazonaws.com/us-east-1_Pool", "ClientId": "c1" },
                { "ProviderName": "cognito-idp.eu-west-1.amazonaws.com/eu-west-1_X", "ClientId": "c2" },
            ])
        );
        assert_eq!(
            input["OpenIdConnectProviderARNs"],
            json!(["arn:aws:iam::1:oidc-provider/a"])
        );
    }

    #[test]
    fn links_encode_names() {
        assert_eq!(
            user_url("us-east-1_abc", "a b/c@d"),
            "/console/pools/us-east-1_abc/users/a%20b%2Fc%40d"
        );
        assert_eq!(query_part("a b&c"), "a+b%26c");
    }

    #[test]
    fn notices_come_from_a_fixed_set() {
        let mut q = BTreeMap::new();
        q.insert("notice".to_string(), "user_created".to_string());
        assert_eq!(notice(&q).as_deref(), Some("User created."));
        q.insert("notice".to_string(), "<script>".to_string());
        assert_eq!(notice(&q), None);
    }

    #[test]
    fn the_preview_opens_the_real_sign_in_page_of_a_code_grant_client() {
        let client = json!({
            "ClientId": "abc", "AllowedOAuthFlows": ["code"],
            "CallbackURLs": ["https://app.example.com/cb?x=1"],
        });
        assert_eq!(
            sign_in_preview("http://127.0.0.1:9229/domain/acme", &client).as_deref(),
            Some(
                "http://127.0.0.1:9229/domain/acme/login?client_id=abc&response_type=code&redirect_uri=https%3A%2F%2Fapp.example.com%2Fcb%3Fx%3D1"
            )
        );
        assert_eq!(
            sign_in_preview(
                "d",
                &json!({ "ClientId": "abc", "AllowedOAuthFlows": ["code"] })
            ),
            None
        );
        assert_eq!(
            sign_in_preview(
                "d",
                &json!({ "ClientId": "abc", "AllowedOAuthFlows": ["implicit"], "CallbackURLs": ["https://x"] })
            ),
            None
        );
    }

    #[test]
    fn paging_back_retraces_the_tokens_seen() {
        let base = "/console/pools/p/users";
        let first = Pager {
            base,
            search: "",
            current: None,
            trail: &[],
        };
        assert_eq!(first.previous(), None);
        let to_second = first.next("T2");
        assert_eq!(to_second, format!("{base}?token=T2&prev="));
        let trail = vec![String::new()];
        let second = Pager {
            base,
            search: "attr=email&q=a",
            current: Some("T2"),
            trail: &trail,
        };
        assert_eq!(
            second.previous().as_deref(),
            Some("/console/pools/p/users?attr=email&q=a")
        );
        let to_third = second.next("T3+/");
        assert_eq!(
            to_third,
            format!("{base}?attr=email&q=a&token=T3%2B%2F&prev=&prev=T2")
        );
        let trail = vec![String::new(), "T2".to_string()];
        let third = Pager {
            base,
            search: "",
            current: Some("T3"),
            trail: &trail,
        };
        assert_eq!(
            third.previous().as_deref(),
            Some("/console/pools/p/users?token=T2&prev=")
        );
        // A trail cut short (or a hand-made link) still leads back to the first page.
        let lost = Pager {
            base,
            search: "",
            current: Some("T9"),
            trail: &[],
        };
        assert_eq!(lost.previous().as_deref(), Some(base));
        // The trail is bounded.
        let long: Vec<String> = (0..100).map(|i| format!("t{i}")).collect();
        let deep = Pager {
            base,
            search: "",
            current: Some("x"),
            trail: &long,
        };
        assert_eq!(deep.next("y").matches("prev=").count(), TRAIL);
    }

    #[test]
    fn secrets_are_dropped_before_rendering() {
        let c = without_secret(json!({ "ClientId": "x", "ClientSecret": "s" }));
        assert_eq!(c, json!({ "ClientId": "x", "HasSecret": true }));
    }

    #[test]
    fn a_pool_update_keeps_what_the_form_does_not_edit() {
        let pool = json!({
            "Id": "us-east-1_x", "Name": "old", "Arn": "arn", "EstimatedNumberOfUsers": 3,
            "AutoVerifiedAttributes": ["email"], "MfaConfiguration": "OPTIONAL",
            "Policies": { "PasswordPolicy": { "MinimumLength": 8, "RequireSymbols": true },
                          "SignInPolicy": { "AllowedFirstAuthFactors": ["PASSWORD"] } },
            "AdminCreateUserConfig": { "AllowAdminCreateUserOnly": true,
                                       "InviteMessageTemplate": { "EmailSubject": "Hi" } },
            "LambdaConfig": null,
        });
        let form: Form = vec![
            ("minimum_length".into(), "12".into()),
            ("require_symbols".into(), "1".into()),
            ("self_sign_up".into(), "1".into()),
            ("deletion_protection".into(), "1".into()),
        ];
        let input = pool_update("us-east-1_x", &pool, &form);
        assert_eq!(input["UserPoolId"], "us-east-1_x");
        assert_eq!(input["PoolName"], "old");
        assert_eq!(input["AutoVerifiedAttributes"], json!(["email"]));
        assert_eq!(input["MfaConfiguration"], "OPTIONAL");
        assert_eq!(input["DeletionProtection"], "ACTIVE");
        assert_eq!(
            input["Policies"]["SignInPolicy"],
            json!({ "AllowedFirstAuthFactors": ["PASSWORD"] })
        );
        assert_eq!(input["Policies"]["PasswordPolicy"]["MinimumLength"], 12);
        assert_eq!(input["Policies"]["PasswordPolicy"]["RequireSymbols"], true);
        assert_eq!(
            input["Policies"]["PasswordPolicy"]["RequireUppercase"],
            false
        );
        assert_eq!(
            input["AdminCreateUserConfig"]["AllowAdminCreateUserOnly"],
            false
        );
        assert_eq!(
            input["AdminCreateUserConfig"]["InviteMessageTemplate"]["EmailSubject"],
            "Hi"
        );
        for read_only in [
            "Id",
            "Name",
            "Arn",
            "EstimatedNumberOfUsers",
            "LambdaConfig",
        ] {
            assert!(input.get(read_only).is_none(), "{read_only}");
        }
    }

    #[test]
    fn destructive_actions_are_confirmed_first() {
        for a in ["reset-password", "sign-out", "delete"] {
            assert!(user_action_of(a).and_then(|a| a.confirm).is_some(), "{a}");
        }
        for a in ["disable", "enable", "confirm", "add-to-group"] {
            assert!(user_action_of(a).and_then(|a| a.confirm).is_none(), "{a}");
        }
        assert!(user_action_of("other").is_none());
    }
}
