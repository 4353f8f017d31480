//! Tessera's HTTP front door.
//!
//! - `POST /` (any path): the AWS JSON 1.1 APIs, dispatched on `X-Amz-Target` ([`dispatch`]),
//!   and the AWS Query APIs (STS), a form body without a target ([`query`]).
//! - `GET /{poolId}/.well-known/jwks.json` and `…/openid-configuration`: what JWT libraries
//!   need to verify a pool's tokens.
//! - `/forward-auth/{poolId}` for reverse proxies and `/forward-auth/keys/{kid}`
//!   ([`forward_auth`]).
//! - `GET /health`, `/health/live`, `/health/ready` ([`health`]).
//! - `GET /metrics` in Prometheus text format ([`metrics`]), unless a separate listener serves it.
//! - `/console`: the admin console ([`console`]).
//!
//! Handlers only translate between wire shapes and engine calls; rules live in the engine and
//! domain. Errors reach the wire in one place ([`error`]).

mod audit;
pub mod console;
mod dispatch;
pub mod error;
mod forward_auth;
mod health;
mod identity;
mod idp;
pub mod metrics;
pub mod origin;
mod query;
pub mod sigv4;
mod sync;
pub mod web;
mod wellknown;

pub use dispatch::IMPLEMENTED;
/// Operations in [`IMPLEMENTED`] that answer only an honest error, with what they answer.
pub use idp::replicas::REFUSED_ON_PURPOSE;
/// The AWS Query protocol's operations (STS, IAM), beside the JSON ones in [`IMPLEMENTED`].
pub use query::implemented as query_operations;
pub use sigv4::Credentials;
/// Cognito Sync's REST operations, beside the JSON ones in [`IMPLEMENTED`].
pub use sync::implemented as sync_operations;
pub use sync::stop_event_feeds;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{any, get};
use std::sync::Arc;
use tessera_engine::Engine;
use tower_http::cors::{AllowHeaders, AllowMethods, AllowOrigin, CorsLayer, ExposeHeaders};

/// How IAM-signed operations are authenticated.
#[derive(Clone, Debug)]
pub enum AdminAuth {
    /// SigV4 with one of these credentials (the default).
    SigV4(Vec<Credentials>),
    /// Any caller (`--dev` only).
    AnyCredentials,
}

pub struct AppState {
    pub engine: Engine,
    pub admin: AdminAuth,
    /// `--dev`: serve the outbox at `/_tessera/outbox` so codes can be read without a mail server.
    pub dev_outbox: bool,
    /// Serve `/metrics` on this router (false when a separate metrics listener serves it).
    pub metrics_here: bool,
    /// Proxies whose X-Forwarded-For is believed (threat protection's source address).
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// The admin console: who may sign in, session timeouts, failed sign-ins.
    pub console: console::Console,
}

/// The admin console alone, for its own listener (`console_listen`): the same pages, the same
/// audit trail and source-address handling as on the main listener, and nothing else.
pub fn console_router(state: Arc<AppState>, body_limit: usize) -> Router {
    let router = console::routes(state.clone())
        .fallback(|| async { axum::http::StatusCode::NOT_FOUND })
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            origin::request_origin,
        ))
        .layer(DefaultBodyLimit::max(body_limit))
        .with_state(state.clone());
    Router::new()
        .fallback_service(router)
        .layer(axum::middleware::from_fn_with_state(
            state,
            audit::audit_requests,
        ))
}

/// Requests larger than this are refused before they are read (Cognito's own limit is far lower
/// for almost every operation; branding images are the largest legitimate bodies).
pub const DEFAULT_BODY_LIMIT: usize = 2 * 1024 * 1024;

pub fn router(state: Arc<AppState>, body_limit: usize) -> Router {
    // Browser SDKs (amazon-cognito-identity-js, Amplify, aws-sdk-js-v3) call cross-origin.
    let cors = CorsLayer::new()
        .allow_origin(AllowOrigin::mirror_request())
        .allow_methods(AllowMethods::mirror_request())
        .allow_headers(AllowHeaders::mirror_request())
        .expose_headers(ExposeHeaders::list([
            http::HeaderName::from_static("x-amzn-requestid"),
            http::HeaderName::from_static("x-amzn-errortype"),
            http::HeaderName::from_static("x-amzn-errormessage"),
            http::HeaderName::from_static("date"),
        ]))
        .max_age(std::time::Duration::from_secs(600));
    metrics::install();
    let mut router = Router::new();
    if state.metrics_here {
        router = router.route("/metrics", get(metrics::render));
    }
    let router = router
        .route("/health", get(wellknown::health))
        .route("/health/live", get(health::live))
        .route("/health/ready", get(health::ready))
        .route(
            "/cognito-identity/.well-known/jwks.json",
            get(identity::openid::jwks),
        )
        .route(
            "/cognito-identity/.well-known/openid-configuration",
            get(identity::openid::openid_configuration),
        )
        .route("/{pool}/.well-known/jwks.json", get(wellknown::jwks))
        .route(
            "/{pool}/.well-known/openid-configuration",
            get(wellknown::openid_configuration),
        )
        .route("/confirmUser", get(wellknown::confirm_user))
        .route("/_tessera/outbox", get(wellknown::dev_outbox))
        .route(
            "/_tessera/ui/{pool}/{client}/logo",
            get(idp::pool_settings::ui_logo),
        )
        .route("/forward-auth/keys/{kid}", get(forward_auth::public_key))
        .route("/forward-auth/{pool}", any(forward_auth::check))
        .route(
            "/forward-auth/{pool}/{*rest}",
            any(forward_auth::check_with_path),
        )
        .route(
            "/{pool}/auth-event-feedback",
            get(idp::threat::feedback_page).post(idp::threat::feedback_submit),
        )
        .route(
            "/user-import/{pool}/{job}",
            axum::routing::put(idp::user_import::upload).layer(DefaultBodyLimit::max(
                tessera_domain::user_import::MAX_CSV_BYTES,
            )),
        )
        .merge(web::routes())
        .merge(if state.console.on_main_listener() {
            console::routes(state.clone())
        } else {
            console::not_here()
        })
        .merge(sync::routes())
        .fallback(dispatch::aws_json)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            origin::request_origin,
        ))
        .layer(DefaultBodyLimit::max(body_limit))
        .layer(cors)
        .with_state(state.clone());
    // Hosts of custom domains and `{prefix}.{domain_base}` reach the same domain routes; the
    // rewrite happens before routing, so it wraps the whole router.
    Router::new()
        .fallback_service(router)
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            web::host_routing,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state,
            audit::audit_requests,
        ))
}
