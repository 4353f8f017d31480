//! `GET /metrics`: the process's metrics in Prometheus text format, rendered by
//! metrics-exporter-prometheus from the recorder [`install`]ed behind the `metrics` facade (the
//! engine records sign-ins, lockouts, hashing, outbox and triggers through the same facade; see
//! `tessera_engine::telemetry`). Served here, on the main listener or on its own one, never by
//! the exporter's own HTTP listener.

use crate::AppState;
use crate::error::ApiError;
use axum::extract::State;
use axum::http::{HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use metrics::{counter, histogram};
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};
use std::sync::{Arc, OnceLock};
use std::time::Duration;

pub const REQUESTS: &str = "tessera_requests_total";
pub const REQUEST_DURATION: &str = "tessera_request_duration_seconds";
pub const BUILD_INFO: &str = "tessera_build_info";

/// Latency buckets (seconds) of every histogram: from a cached read to a slow trigger.
const BUCKETS: &[f64] = &[
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
];

/// How long a scrape waits for the outbox depth before rendering without refreshing it.
const DEPTH_TIMEOUT: Duration = Duration::from_secs(2);

static HANDLE: OnceLock<PrometheusHandle> = OnceLock::new();

/// Installs the Prometheus recorder as the process's global recorder (once: later calls, as
/// from several applications in one test process, share it) and returns its handle.
pub fn install() -> PrometheusHandle {
    HANDLE
        .get_or_init(|| {
            let builder = match PrometheusBuilder::new().set_buckets(BUCKETS) {
                Ok(b) => b,
                Err(e) => {
                    tracing::error!(error = %e, "histogram buckets refused; using summaries");
                    PrometheusBuilder::new()
                }
            };
            let recorder = builder.build_recorder();
            let handle = recorder.handle();
            if let Err(e) = metrics::set_global_recorder(recorder) {
                tracing::warn!(error = %e, "another metrics recorder is installed; /metrics will be empty");
            }
            describe();
            handle
        })
        .clone()
}

fn describe() {
    metrics::describe_counter!(
        REQUESTS,
        "AWS JSON requests by service, operation and outcome (ok or the error's __type)"
    );
    metrics::describe_histogram!(
        REQUEST_DURATION,
        metrics::Unit::Seconds,
        "AWS JSON request latency by service and operation"
    );
    metrics::describe_gauge!(
        BUILD_INFO,
        "Always 1; the version label says which build runs"
    );
    metrics::gauge!(BUILD_INFO, "version" => env!("CARGO_PKG_VERSION")).set(1.0);
    tessera_engine::telemetry::describe();
}

/// Records one AWS JSON request. Labels come from the model (unknown targets fold into
/// "unknown"), so a client can't grow the label set.
pub(crate) fn request<T>(target: &str, result: &Result<T, ApiError>, took: Duration) {
    let (service, operation) =
        crate::dispatch::operation_of(target).unwrap_or(("unknown", "unknown"));
    record(service, operation, result, took);
}

/// Counts one request of a model operation (REST services name it from method and path).
pub(crate) fn record<T>(
    service: &'static str,
    operation: &'static str,
    result: &Result<T, ApiError>,
    took: Duration,
) {
    let outcome = match result {
        Ok(_) => "ok".to_string(),
        Err(e) => e.code.clone(),
    };
    counter!(REQUESTS, "service" => service, "operation" => operation, "outcome" => outcome)
        .increment(1);
    histogram!(REQUEST_DURATION, "service" => service, "operation" => operation)
        .record(took.as_secs_f64());
}

pub(crate) async fn render(State(state): State<Arc<AppState>>) -> Response {
    // The outbox is shared by every node, so its depth is read when asked for, not tracked.
    match tokio::time::timeout(DEPTH_TIMEOUT, state.engine.outbox_depth()).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => tracing::warn!(error = %e, "outbox depth unavailable for metrics"),
        Err(_) => tracing::warn!("outbox depth timed out for metrics"),
    }
    let mut response = (StatusCode::OK, install().render()).into_response();
    response.headers_mut().insert(
        "content-type",
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    response
}

/// A router serving only `/metrics`, for a separate metrics listener.
pub fn router(state: Arc<AppState>) -> axum::Router {
    axum::Router::new()
        .route("/metrics", axum::routing::get(render))
        .with_state(state)
}
