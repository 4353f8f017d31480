//! An HTTP endpoint on 127.0.0.1 that records every request body it receives (as JSON), for
//! testing the SMS webhook and anything else that POSTs JSON.

use axum::body::Bytes;
use axum::extract::State;
use axum::http::header::CONNECTION;
use axum::http::{HeaderName, StatusCode};
use serde_json::Value;
use std::sync::atomic::{AtomicU16, AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

struct WebhookState {
    received: Mutex<Vec<Value>>,
    arrived: Notify,
    status: AtomicU16,
    body: Mutex<String>,
    delay_ms: AtomicU64,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Records JSON bodies POSTed to any path and answers with a chosen status (200 by default).
///
/// ```no_run
/// # use std::time::Duration;
/// # use tessera_messaging::{SmsWebhook, testing::WebhookSink};
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// let sink = WebhookSink::start().await;
/// let sms = SmsWebhook::new(&sink.url(), true)?; // loopback: allow private addresses
/// // … deliver through `sms` …
/// let bodies = sink.wait_for(1, Duration::from_secs(5)).await;
/// assert_eq!(bodies[0]["destination"], "+15555550123");
/// # Ok(())
/// # }
/// ```
pub struct WebhookSink {
    port: u16,
    state: Arc<WebhookState>,
    server: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for WebhookSink {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookSink")
            .field("port", &self.port)
            .finish()
    }
}

async fn record(
    State(state): State<Arc<WebhookState>>,
    body: Bytes,
) -> (StatusCode, [(HeaderName, &'static str); 1], String) {
    // A body that isn't JSON is kept as a string, so tests can still see what came.
    let value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    lock(&state.received).push(value);
    state.arrived.notify_waiters();
    let delay = state.delay_ms.load(Ordering::SeqCst);
    if delay > 0 {
        tokio::time::sleep(Duration::from_millis(delay)).await;
    }
    let status = StatusCode::from_u16(state.status.load(Ordering::SeqCst))
        .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    let body = lock(&state.body).clone();
    // No keep-alive: after `stop`, a client must not reach the sink through a pooled connection.
    (status, [(CONNECTION, "close")], body)
}

impl WebhookSink {
    /// Listens on a free port of 127.0.0.1.
    pub async fn start() -> WebhookSink {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap_or_else(|e| panic!("webhook sink cannot listen: {e}"));
        let port = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("webhook sink has no local address: {e}"))
            .port();
        let state = Arc::new(WebhookState {
            received: Mutex::new(Vec::new()),
            arrived: Notify::new(),
            status: AtomicU16::new(200),
            body: Mutex::new(String::new()),
            delay_ms: AtomicU64::new(0),
        });
        let app = axum::Router::new()
            .fallback(record)
            .with_state(state.clone());
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::debug!(error = %e, "webhook sink stopped");
            }
        });
        WebhookSink {
            port,
            state,
            server: Mutex::new(Some(server)),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT/sms`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}/sms", self.port)
    }

    /// Every body received so far, oldest first (including those answered with an error).
    pub fn received(&self) -> Vec<Value> {
        lock(&self.state.received).clone()
    }

    /// Waits until at least `n` bodies have arrived or `timeout` has passed, and returns all of
    /// them (fewer than `n` on timeout: assert on the length).
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Value> {
        super::wait_until(&self.state.arrived, n, timeout, || {
            lock(&self.state.received).len()
        })
        .await;
        self.received()
    }

    /// Answers every later request with `status` (e.g. 500, 429, 400) and an empty body; 200
    /// restores success.
    pub fn respond_with(&self, status: u16) {
        self.respond_with_body(status, "");
    }

    /// Answers every later request with `status` and `body`.
    pub fn respond_with_body(&self, status: u16, body: &str) {
        *lock(&self.state.body) = body.to_string();
        self.state.status.store(status, Ordering::SeqCst);
    }

    /// Waits `delay` before answering each later request (to make callers time out).
    pub fn respond_after(&self, delay: Duration) {
        let ms = u64::try_from(delay.as_millis()).unwrap_or(u64::MAX);
        self.state.delay_ms.store(ms, Ordering::SeqCst);
    }

    /// Stops listening; later requests are refused.
    pub async fn stop(&self) {
        let server = lock(&self.server).take();
        if let Some(server) = server {
            server.abort();
            let _ = server.await;
        }
    }
}

impl Drop for WebhookSink {
    fn drop(&mut self) {
        if let Some(server) = lock(&self.server).take() {
            server.abort();
        }
    }
}
