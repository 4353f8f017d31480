//! Push sync as server-sent events: `GET /sync/v1/identitypools/{P}/identities/{I}/events`,
//! SigV4-signed (service `cognito-sync`) with the identity's credentials (or developer ones).
//!
//! Each committed change to one of the identity's datasets is an event `dataset-changed` whose
//! data is the message Cognito sends through SNS. With `?deviceId=` only the datasets that
//! device subscribed to, and not its own changes. `Last-Event-ID` resumes after an event; a
//! comment every 15 s keeps proxies from closing an idle stream. Changes are read from the
//! store, so every node serves every change.

use super::rest_status;
use crate::AppState;
use crate::error::ApiError;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderMap, Method, Uri};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use std::collections::{HashMap, VecDeque};
use std::sync::Arc;
use std::time::Duration;

const POLL: Duration = Duration::from_millis(500);

/// Set when the server shuts down: open feeds end, so a graceful shutdown isn't held open by
/// clients that would otherwise listen forever (they reconnect elsewhere with Last-Event-ID).
static STOPPING: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
static STOPPED: tokio::sync::Notify = tokio::sync::Notify::const_new();

/// Ends every open event feed of this process (called when the server begins shutting down).
pub fn stop_event_feeds() {
    STOPPING.store(true, std::sync::atomic::Ordering::SeqCst);
    STOPPED.notify_waiters();
}
const PAGE: usize = 100;

pub async fn events(
    State(state): State<Arc<AppState>>,
    Path((pool, identity)): Path<(String, String)>,
    Query(query): Query<HashMap<String, String>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
) -> Response {
    let caller = match super::authenticate(&state, &method, &uri, &headers, b"").await {
        Ok(c) => c,
        Err(e) => return refused(e),
    };
    let identity = match state
        .engine
        .sync_feed_identity(&caller, &pool, &identity)
        .await
    {
        Ok(i) => i,
        Err(e) => return refused(e.into()),
    };
    let device = query.get("deviceId").cloned();
    let cursor = headers
        .get("last-event-id")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    let start = (state, identity, device, cursor, VecDeque::new());
    let stream = futures_util::stream::unfold(
        start,
        |(state, identity, device, mut cursor, mut queue)| async move {
            loop {
                if STOPPING.load(std::sync::atomic::Ordering::SeqCst) {
                    return None;
                }
                if let Some(e) = queue.pop_front() {
                    let tessera_engine::sync::ChangeEvent { id, body } = e;
                    let event = Event::default()
                        .event("dataset-changed")
                        .id(id)
                        .data(body.to_string());
                    return Some((
                        Ok::<_, std::convert::Infallible>(event),
                        (state, identity, device, cursor, queue),
                    ));
                }
                match state
                    .engine
                    .sync_changes(&identity, cursor.as_deref(), device.as_deref(), PAGE)
                    .await
                {
                    Ok((events, next)) => {
                        let empty = events.is_empty() && next == cursor;
                        queue.extend(events);
                        cursor = next;
                        if empty {
                            tokio::select! {
                                _ = tokio::time::sleep(POLL) => {}
                                _ = STOPPED.notified() => {}
                            }
                        }
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "sync event feed failed");
                        return None;
                    }
                }
            }
        },
    );
    Sse::new(stream)
        .keep_alive(KeepAlive::new().interval(Duration::from_secs(15)))
        .into_response()
}

fn refused(mut e: ApiError) -> Response {
    e.status = rest_status(&e.code);
    e.into_response()
}
