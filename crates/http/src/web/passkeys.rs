//! `/passkeys/add`: the hosted page where a signed-in user adds a passkey to their account
//! (Cognito's managed-login page of that name, opened with `client_id` and `redirect_uri`).
//! It needs the hosted session a sign-in on these pages leaves; without one the browser goes to
//! sign in first. The registration is the API's (StartWebAuthnRegistration and
//! CompleteWebAuthnRegistration for the session's user, through the page's client), and the
//! browser goes back to `redirect_uri` once the passkey is saved.

use super::pages::{PageRequest, engine_failure, redirect};
use super::render::{PASSKEY_JS, SESSION_COOKIE, cookie};
use crate::AppState;
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::response::Response;
use serde_json::json;
use std::sync::Arc;
use tessera_domain::oauth::{OAuthSettings, urlencode};
use tessera_engine::{EngineError, Registrant};

/// Who is adding a passkey, and where the browser goes afterwards.
struct Adding {
    who: Registrant,
    redirect_uri: String,
}

/// The page's client and redirect URI (a registered callback URL, as for `/oauth2/authorize`),
/// and the signed-in user of the hosted session.
async fn adding(
    state: &AppState,
    page: &PageRequest,
    headers: &HeaderMap,
) -> Result<Adding, Response> {
    let bad = |code: &str| page.error_page(StatusCode::BAD_REQUEST, code, "error_body");
    let client_id = page.params.get("client_id").cloned().unwrap_or_default();
    let client = state
        .engine
        .pool_client(&page.site.pool.id, &client_id)
        .await
        .map_err(engine_failure)?
        .ok_or_else(|| bad("invalid_request"))?;
    let redirect_uri = OAuthSettings::of(&client)
        .redirect_uri(page.params.get("redirect_uri").map(String::as_str))
        .ok_or_else(|| bad("redirect_mismatch"))?;
    let session = match cookie(headers, SESSION_COOKIE) {
        Some(c) => state
            .engine
            .hosted_session(&page.site.pool.id, &c)
            .await
            .map_err(engine_failure)?,
        None => None,
    };
    let Some(session) = session else {
        // Sign in first (a code flow for the same client and redirect URI).
        return Err(redirect(&format!(
            "../oauth2/authorize?response_type=code&client_id={}&redirect_uri={}",
            urlencode(client.client_id.as_str()),
            urlencode(&redirect_uri)
        )));
    };
    Ok(Adding {
        who: Registrant {
            pool_id: page.site.pool.id.clone(),
            sub: session.sub,
            client_id: client.client_id.clone(),
        },
        redirect_uri,
    })
}

/// The page with fresh creation options (each view starts a new registration, replacing any
/// earlier one of the user's).
async fn add_page(
    state: &AppState,
    page: &PageRequest,
    adding: &Adding,
    error: Option<String>,
) -> Response {
    let options = match state
        .engine
        .hosted_start_passkey_registration(&adding.who)
        .await
    {
        Ok(o) => o,
        Err(EngineError::Client(e)) => {
            return page.frame.render(
                StatusCode::BAD_REQUEST,
                "message.html",
                "passkey_add_title",
                json!({ "body": e.message, "error_code": e.kind.name() }),
            );
        }
        Err(e) => return engine_failure(e),
    };
    // The page is one level down (`passkeys/add`), so the frame's relative logo link is too.
    let mut frame = page.frame.clone();
    if let Some(logo) = frame.logo_url.as_mut().filter(|l| l.starts_with("logo/")) {
        logo.insert_str(0, "../");
    }
    let status = if error.is_some() {
        StatusCode::BAD_REQUEST
    } else {
        StatusCode::OK
    };
    frame.render(
        status,
        "passkey_add.html",
        "passkey_add_title",
        json!({
            "error": error,
            "webauthn_options": options.to_string(),
            "continue_url": adding.redirect_uri,
            "passkey_js": PASSKEY_JS,
        }),
    )
}

pub(super) async fn add_form(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    page: PageRequest,
) -> Response {
    match adding(&state, &page, &headers).await {
        Ok(adding) => add_page(&state, &page, &adding, None).await,
        Err(r) => r,
    }
}

pub(super) async fn add_submit(
    State(state): State<Arc<AppState>>,
    headers: HeaderMap,
    page: PageRequest,
    body: Bytes,
) -> Response {
    let adding = match adding(&state, &page, &headers).await {
        Ok(a) => a,
        Err(r) => return r,
    };
    let form = match page.form(&body) {
        Ok(f) => f,
        Err(r) => return r,
    };
    let credential = form
        .get("credential")
        .and_then(|c| serde_json::from_str::<serde_json::Value>(c).ok());
    let Some(credential) = credential else {
        let msg = page.frame.text("passkey_browser_failed");
        return add_page(&state, &page, &adding, Some(msg)).await;
    };
    match state
        .engine
        .hosted_complete_passkey_registration(&adding.who, &credential)
        .await
    {
        Ok(()) => redirect(&adding.redirect_uri),
        Err(EngineError::Client(e)) => {
            add_page(&state, &page, &adding, Some(e.message.clone())).await
        }
        Err(e) => engine_failure(e),
    }
}
