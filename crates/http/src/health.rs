//! Probes for orchestrators and load balancers: unauthenticated, cheap, and free of user data.
//!
//! - `/health/live`: 200 whenever the process serves requests at all.
//! - `/health/ready`: 200 when the store answers a trivial query and holds every migration this
//!   build knows; otherwise 503 with a short reason (details go to the log).

use crate::AppState;
use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::json;
use std::sync::Arc;
use std::time::Duration;

/// A probe that waits longer than this is told "not ready" (PostgreSQL's pool would otherwise
/// wait its whole acquire timeout for an unreachable server).
const READY_TIMEOUT: Duration = Duration::from_secs(2);

pub(crate) async fn live() -> Response {
    Json(json!({"status": "live"})).into_response()
}

pub(crate) async fn ready(State(state): State<Arc<AppState>>) -> Response {
    let reason = match tokio::time::timeout(READY_TIMEOUT, state.engine.store().ready()).await {
        Ok(Ok(())) => return Json(json!({"status": "ready"})).into_response(),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness check failed");
            "database unavailable"
        }
        Err(_) => {
            tracing::warn!("readiness check timed out");
            "database check timed out"
        }
    };
    (
        StatusCode::SERVICE_UNAVAILABLE,
        Json(json!({"status": "unavailable", "reason": reason})),
    )
        .into_response()
}
