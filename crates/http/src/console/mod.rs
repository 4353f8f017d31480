//! The admin console at `{public_url}/console`: server-rendered pages for an operator to manage
//! user pools, users, groups, app clients and identity pools in a browser, without JavaScript.
//!
//! Every action runs the same API operation the SDKs call, through the dispatcher
//! ([`crate::dispatch::run_as_operator`]): the same validation, rules and errors, a Cognito error
//! shown on the page as the API would have answered it. The operator signs in with configured
//! admin credentials (compared in constant time; a source address is locked out after repeated
//! failures) and is named `console:{access key id}` in the audit trail.
//!
//! The session is a cookie sealed with the master key (any node opens any node's), `HttpOnly;
//! SameSite=Strict; Path=/console`, with idle and absolute timeouts and the CSRF token every form
//! must carry. Pages send a strict CSP and refuse framing.

// Page helpers return the page to show instead as their error, the axum idiom.
#![allow(clippy::result_large_err)]

mod chart;
mod pages;
mod session;

use crate::AppState;
use crate::sigv4::Credentials;
use crate::web::render::{self, CookieScope};
use axum::Router;
use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::header::{CONTENT_TYPE, LOCATION, SET_COOKIE};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use axum::routing::{get, post};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use minijinja::Environment;
use serde_json::{Value, json};
use session::{Lockout, Session};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

/// Where the console is served.
pub const CONSOLE_PATH: &str = "/console";
/// The session cookie.
const SESSION_COOKIE: &str = "tessera-console";
/// The sign-in form's CSRF cookie (before there is a session to bind a token to).
const SIGN_IN_CSRF_COOKIE: &str = "tessera-console-csrf";
/// Every form's hidden field.
const CSRF_FIELD: &str = "_csrf";
/// The console's policy: its own stylesheet and images, nothing else, never framed.
const CSP: &str = "default-src 'self'; img-src 'self' data:; form-action 'self'; \
                   frame-ancestors 'none'; base-uri 'none'; object-src 'none'";
/// The largest form the console reads.
const FORM_LIMIT: usize = 64 * 1024;

/// Who may sign in to the console and for how long.
#[derive(Clone, Debug)]
pub struct ConsoleSettings {
    /// The access key pairs an operator signs in with (the deployment's root credentials).
    pub credentials: Vec<Credentials>,
    /// A session ends after this long without a request.
    pub idle_timeout: Duration,
    /// And this long after signing in, however busy.
    pub absolute_timeout: Duration,
    /// The console has a listener of its own (`console_listen`): the main one doesn't serve it.
    pub own_listener: bool,
}

impl ConsoleSettings {
    pub const DEFAULT_IDLE_TIMEOUT: Duration = Duration::from_secs(30 * 60);
    pub const DEFAULT_ABSOLUTE_TIMEOUT: Duration = Duration::from_secs(8 * 3600);

    /// The default timeouts for these credentials.
    pub fn new(credentials: Vec<Credentials>) -> Self {
        Self {
            credentials,
            idle_timeout: Self::DEFAULT_IDLE_TIMEOUT,
            absolute_timeout: Self::DEFAULT_ABSOLUTE_TIMEOUT,
            own_listener: false,
        }
    }
}

/// The console's part of the application state.
#[derive(Debug)]
pub struct Console {
    settings: ConsoleSettings,
    lockout: Lockout,
}

impl Console {
    pub fn new(settings: ConsoleSettings) -> Self {
        Self {
            settings,
            lockout: Lockout::default(),
        }
    }

    /// Whether the main listener serves the console (it doesn't when it has its own).
    pub fn on_main_listener(&self) -> bool {
        !self.settings.own_listener
    }
}

/// The signed-in operator of a request (put there by [`require_session`]).
#[derive(Clone, Debug)]
pub(crate) struct Operator {
    /// Who signed in: the access key id or the operator account's name.
    pub name: String,
    pub csrf: String,
}

pub(crate) fn routes(state: Arc<AppState>) -> Router<Arc<AppState>> {
    let signed_in = Router::new()
        .route("/console/sign-out", post(pages::sign_out))
        .route("/console/pools", get(pages::pools).post(pages::create_pool))
        .route("/console/pools/{pool}", get(pages::pool))
        .route(
            "/console/pools/{pool}/settings",
            get(pages::pool_settings).post(pages::update_pool),
        )
        .route("/console/pools/{pool}/domain", post(pages::create_domain))
        .route(
            "/console/pools/{pool}/domain/delete",
            get(pages::confirm_delete_domain).post(pages::delete_domain),
        )
        .route(
            "/console/pools/{pool}/delete",
            get(pages::confirm_delete_pool).post(pages::delete_pool),
        )
        .route(
            "/console/pools/{pool}/users",
            get(pages::users).post(pages::create_user),
        )
        .route(
            "/console/pools/{pool}/user-search",
            post(pages::search_users),
        )
        .route("/console/pools/{pool}/users/{username}", get(pages::user))
        .route(
            "/console/pools/{pool}/users/{username}/{action}",
            get(pages::confirm_user_action).post(pages::user_action),
        )
        .route(
            "/console/pools/{pool}/groups",
            get(pages::groups).post(pages::create_group),
        )
        .route(
            "/console/pools/{pool}/groups/{group}/delete",
            get(pages::confirm_delete_group).post(pages::delete_group),
        )
        .route(
            "/console/pools/{pool}/clients",
            get(pages::clients).post(pages::create_client),
        )
        .route(
            "/console/pools/{pool}/clients/{client}/delete",
            get(pages::confirm_delete_client).post(pages::delete_client),
        )
        .route("/console/pools/{pool}/outbox", get(pages::outbox))
        .route(
            "/console/pools/{pool}/outbox/{message}/retry",
            post(pages::retry_message),
        )
        .route(
            "/console/pools/{pool}/providers",
            post(pages::create_identity_provider),
        )
        .route(
            "/console/pools/{pool}/providers/{name}/delete",
            get(pages::confirm_delete_identity_provider).post(pages::delete_identity_provider),
        )
        .route(
            "/console/identity-pools",
            get(pages::identity_pools).post(pages::create_identity_pool),
        )
        .route(
            "/console/identity-pools/{id}",
            get(pages::identity_pool).post(pages::update_identity_pool),
        )
        .route(
            "/console/identity-pools/{id}/roles",
            post(pages::set_identity_pool_roles),
        )
        .route_layer(axum::middleware::from_fn_with_state(state, require_session));
    Router::new()
        .route("/console", get(pages::home))
        .route("/console/", get(pages::home))
        .route("/console/sign-in", post(pages::sign_in))
        .route("/console/console.css", get(stylesheet))
        .merge(signed_in)
}

/// `/console` on the main listener when the console has a listener of its own: not found, as
/// if there were no console.
pub(crate) fn not_here() -> Router<Arc<AppState>> {
    let gone = || async { StatusCode::NOT_FOUND };
    Router::new()
        .route("/console", axum::routing::any(gone))
        .route("/console/", axum::routing::any(gone))
        .route("/console/{*rest}", axum::routing::any(gone))
}

async fn stylesheet() -> Response {
    let mut r = include_str!("console.css").into_response();
    let h = r.headers_mut();
    h.insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/css; charset=utf-8"),
    );
    h.insert(
        "cache-control",
        HeaderValue::from_static("public, max-age=3600"),
    );
    h.insert(
        "x-content-type-options",
        HeaderValue::from_static("nosniff"),
    );
    r
}

fn cookie_scope(state: &AppState, headers: &HeaderMap) -> CookieScope {
    let secure = state.engine.settings().issuer_base.starts_with("https://")
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .is_some_and(|p| p.eq_ignore_ascii_case("https"));
    CookieScope {
        path: CONSOLE_PATH.to_string(),
        secure,
    }
}

fn session_cookie(state: &AppState, headers: &HeaderMap, session: &Session) -> HeaderValue {
    let plain = serde_json::to_vec(session).unwrap_or_default();
    let sealed = URL_SAFE_NO_PAD.encode(state.engine.seal_console_session(&plain));
    cookie_scope(state, headers).set_with(SESSION_COOKIE, &sealed, None, "Strict")
}

fn clear_session_cookie(state: &AppState, headers: &HeaderMap) -> HeaderValue {
    cookie_scope(state, headers).set_with(SESSION_COOKIE, "", Some(0), "Strict")
}

/// The request's session, if its cookie opens and still holds (an operator account's session
/// reads the account: deleting it ends the session at once).
async fn current_session(state: &AppState, headers: &HeaderMap) -> Option<Session> {
    let cookie = render::cookie(headers, SESSION_COOKIE)?;
    let sealed = URL_SAFE_NO_PAD.decode(cookie).ok()?;
    let plain = state.engine.open_console_session(&sealed)?;
    let session: Session = serde_json::from_slice(&plain).ok()?;
    let operator = if session.operator_account {
        state.engine.console_operator(&session.name).await.ok()?
    } else {
        None
    };
    let s = &state.console.settings;
    session
        .holds(
            state.engine.console_now(),
            (s.idle_timeout, s.absolute_timeout),
            &s.credentials,
            operator.as_ref(),
        )
        .then_some(session)
}

/// A 303 to `location`.
pub(crate) fn see_other(location: &str) -> Response {
    let mut r = StatusCode::SEE_OTHER.into_response();
    if let Ok(v) = HeaderValue::from_str(location) {
        r.headers_mut().insert(LOCATION, v);
    }
    render::secure_headers_with_csp(r.headers_mut(), CSP);
    r
}

/// Signed-in pages: a request without a live session goes to the sign-in page (and back
/// after); a form posted without the session's CSRF token is refused. The session's idle
/// timeout starts again with every request.
async fn require_session(State(state): State<Arc<AppState>>, req: Request, next: Next) -> Response {
    let headers = req.headers().clone();
    let Some(session) = current_session(&state, &headers).await else {
        // A page comes back after signing in; a form's post can't be replayed, so it's lost.
        let had_cookie = render::cookie(&headers, SESSION_COOKIE).is_some();
        let mut back = format!("{CONSOLE_PATH}?");
        if had_cookie || req.method() != Method::GET {
            back.push_str("expired=1&");
        }
        if req.method() == Method::GET {
            let path = req.uri().path();
            let target = req.uri().path_and_query().map_or(path, |p| p.as_str());
            back.push_str("next=");
            back.extend(form_urlencoded::byte_serialize(target.as_bytes()));
        }
        let mut r = see_other(back.trim_end_matches(['&', '?']));
        if had_cookie {
            r.headers_mut()
                .append(SET_COOKIE, clear_session_cookie(&state, &headers));
        }
        return r;
    };
    tessera_engine::audit::note_caller(session.operator());
    let req = if req.method() == Method::POST {
        let (parts, body) = req.into_parts();
        let Ok(bytes) = axum::body::to_bytes(body, FORM_LIMIT).await else {
            return (StatusCode::PAYLOAD_TOO_LARGE, "form too large").into_response();
        };
        let submitted = crate::web::form_pairs(&bytes)
            .into_iter()
            .find(|(k, _)| k == CSRF_FIELD)
            .map(|(_, v)| v);
        if !session.csrf_ok(submitted.as_deref()) {
            tessera_engine::audit::note_first_operation("console.Form");
            tessera_engine::audit::note_refusal("InvalidCsrfToken");
            let page = Page::new(&session.csrf, &session.name);
            return page.message(
                StatusCode::FORBIDDEN,
                "Form refused",
                "This form did not come from your console session (or the session changed). \
                 Go back, reload the page and try again.",
            );
        }
        Request::from_parts(parts, Body::from(bytes))
    } else {
        req
    };
    let mut req = req;
    req.extensions_mut().insert(Operator {
        name: session.name.clone(),
        csrf: session.csrf.clone(),
    });
    let mut response = next.run(req).await;
    // A handler that ended the session (sign-out) set its own cookie.
    if !response.headers().contains_key(SET_COOKIE) {
        let touched = session.touched(state.engine.console_now());
        response
            .headers_mut()
            .append(SET_COOKIE, session_cookie(&state, &headers, &touched));
    }
    response
}

const TEMPLATES: &[(&str, &str)] = &[
    ("console/layout.html", include_str!("templates/layout.html")),
    (
        "console/sign_in.html",
        include_str!("templates/sign_in.html"),
    ),
    (
        "console/message.html",
        include_str!("templates/message.html"),
    ),
    (
        "console/confirm.html",
        include_str!("templates/confirm.html"),
    ),
    ("console/home.html", include_str!("templates/home.html")),
    ("console/pools.html", include_str!("templates/pools.html")),
    ("console/pool.html", include_str!("templates/pool.html")),
    (
        "console/pool_settings.html",
        include_str!("templates/pool_settings.html"),
    ),
    ("console/users.html", include_str!("templates/users.html")),
    ("console/user.html", include_str!("templates/user.html")),
    ("console/groups.html", include_str!("templates/groups.html")),
    (
        "console/clients.html",
        include_str!("templates/clients.html"),
    ),
    (
        "console/client_created.html",
        include_str!("templates/client_created.html"),
    ),
    (
        "console/identity_pools.html",
        include_str!("templates/identity_pools.html"),
    ),
    ("console/outbox.html", include_str!("templates/outbox.html")),
    (
        "console/identity_pool.html",
        include_str!("templates/identity_pool.html"),
    ),
];

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = render::environment_of(TEMPLATES);
        env.add_filter("datetime", datetime);
        env
    })
}

/// An API timestamp (epoch seconds, possibly fractional) as `YYYY-MM-DD HH:MM UTC`.
fn datetime(v: minijinja::Value) -> String {
    let secs = f64::try_from(v).ok().filter(|s| s.is_finite());
    match secs {
        Some(s) => {
            let (y, mo, d, h, mi, _) =
                tessera_domain::Timestamp::from_millis((s * 1000.0) as i64).civil();
            format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02} UTC")
        }
        None => String::new(),
    }
}

/// What every console page shares: the operator, the CSRF token for its forms, a notice or
/// error to show.
pub(crate) struct Page {
    csrf: String,
    operator: Option<String>,
    notice: Option<String>,
    error: Option<String>,
}

impl Page {
    pub(crate) fn new(csrf: &str, operator: &str) -> Self {
        Self {
            csrf: csrf.to_string(),
            operator: Some(operator.to_string()).filter(|o| !o.is_empty()),
            notice: None,
            error: None,
        }
    }

    pub(crate) fn of(op: &Operator) -> Self {
        Self::new(&op.csrf, &op.name)
    }

    pub(crate) fn notice(mut self, notice: Option<String>) -> Self {
        self.notice = notice;
        self
    }

    pub(crate) fn error(mut self, error: Option<String>) -> Self {
        self.error = error;
        self
    }

    pub(crate) fn render(
        &self,
        status: StatusCode,
        template: &str,
        title: &str,
        ctx: Value,
    ) -> Response {
        let mut base = json!({
            "title": title,
            "csrf": self.csrf,
            "csrf_field": CSRF_FIELD,
            "operator": self.operator,
            "notice": self.notice,
            "error": self.error,
        });
        if let (Value::Object(b), Value::Object(extra)) = (&mut base, ctx) {
            b.extend(extra);
        }
        let mut r = render::html(environment(), status, template, &base);
        render::secure_headers_with_csp(r.headers_mut(), CSP);
        r
    }

    pub(crate) fn message(&self, status: StatusCode, title: &str, body: &str) -> Response {
        self.render(
            status,
            "console/message.html",
            title,
            json!({ "body": body }),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_console_template_parses_and_escapes() {
        for (name, _) in TEMPLATES {
            assert!(environment().get_template(name).is_ok(), "{name}");
        }
        let html = environment()
            .get_template("console/message.html")
            .and_then(|t| {
                t.render(minijinja::context! {
                    title => "<b>t</b>", body => "<script>x</script>", csrf => "tok",
                    csrf_field => CSRF_FIELD, operator => "AKIA",
                })
            })
            .unwrap();
        assert!(html.contains("&lt;script&gt;x") && !html.contains("<script>"));
        assert!(
            html.contains(r#"name="_csrf" value="tok""#),
            "the sign-out form's token"
        );
        let page = Page::new("tok", "AKIA");
        let r = page.message(StatusCode::OK, "<b>t</b>", "<script>x</script>");
        assert_eq!(r.status(), StatusCode::OK);
        let h = r.headers();
        assert_eq!(h["x-frame-options"], "DENY");
        assert!(
            h["content-security-policy"]
                .to_str()
                .unwrap()
                .contains("frame-ancestors 'none'")
        );
    }

    #[test]
    fn timestamps_read_as_utc() {
        assert_eq!(
            datetime(minijinja::Value::from(1_700_000_000.5)),
            "2023-11-14 22:13 UTC"
        );
        assert_eq!(datetime(minijinja::Value::from("x")), "");
    }
}
