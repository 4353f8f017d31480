//! The operator's endpoints: Prometheus metrics and health probes.
//!
//! Tests share the process's one metrics recorder, so counts here are checked as lower bounds or
//! on labels only this file produces; exact counts are asserted by the Python suite, which owns
//! its server process.

use crate::support::{pool_with_client, spawn_app, spawn_app_with};
use std::collections::HashMap;

async fn get(url: &str) -> (u16, String, String) {
    let resp = reqwest::get(url).await.unwrap();
    let status = resp.status().as_u16();
    let content_type = resp
        .headers()
        .get("content-type")
        .map(|v| v.to_str().unwrap().to_string())
        .unwrap_or_default();
    (status, content_type, resp.text().await.unwrap())
}

/// Sample lines as `name{labels}` → value.
fn samples(text: &str) -> HashMap<String, f64> {
    text.lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .filter_map(|l| {
            let (key, value) = l.rsplit_once(' ')?;
            Some((key.to_string(), value.parse().ok()?))
        })
        .collect()
}

#[tokio::test]
async fn metrics_count_requests_by_operation_and_outcome() {
    let app = spawn_app().await;
    let f = pool_with_client(&app).await;
    for _ in 0..3 {
        app.admin
            .describe_user_pool()
            .user_pool_id(&f.pool_id)
            .send()
            .await
            .unwrap();
    }
    // Unknown targets fold into one label value: a client can't add series.
    let resp = reqwest::Client::new()
        .post(format!("{}/", app.endpoint))
        .header("x-amz-target", "NoSuchService.Made_Up_Operation")
        .header("content-type", "application/x-amz-json-1.1")
        .body("{}")
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), 400);

    let (status, content_type, text) = get(&format!("{}/metrics", app.endpoint)).await;
    assert_eq!(status, 200);
    assert!(
        content_type.starts_with("text/plain; version=0.0.4"),
        "{content_type}"
    );
    let s = samples(&text);
    let ok = s[r#"tessera_requests_total{service="cognito-idp",operation="DescribeUserPool",outcome="ok"}"#];
    assert!(ok >= 3.0, "{ok}");
    assert!(
        s[r#"tessera_requests_total{service="unknown",operation="unknown",outcome="UnknownOperationException"}"#]
            >= 1.0
    );
    assert!(!text.contains("Made_Up_Operation") && !text.contains("NoSuchService"));
    assert!(
        s[r#"tessera_request_duration_seconds_count{service="cognito-idp",operation="DescribeUserPool"}"#]
            >= 3.0
    );
    assert!(text.contains(r#"tessera_request_duration_seconds_bucket{service="cognito-idp",operation="DescribeUserPool",le="0.005"}"#));
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        s[&format!(r#"tessera_build_info{{version="{version}"}}"#)],
        1.0
    );
    assert!(s.contains_key("tessera_outbox_pending"));
}

#[tokio::test]
async fn metrics_can_have_their_own_listener() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let app = spawn_app_with(|c| c["metrics_listen"] = format!("127.0.0.1:{port}").into()).await;
    let (status, _, text) = get(&format!("http://127.0.0.1:{port}/metrics")).await;
    assert_eq!(status, 200);
    assert!(text.contains("tessera_build_info"));
    // Not on the main listener then: it falls through to the AWS JSON handler.
    let (status, _, _) = get(&format!("{}/metrics", app.endpoint)).await;
    assert_ne!(status, 200);
}

#[tokio::test]
async fn health_probes_answer_without_credentials() {
    let app = spawn_app().await;
    let (status, _, body) = get(&format!("{}/health/live", app.endpoint)).await;
    assert_eq!((status, body.as_str()), (200, r#"{"status":"live"}"#));
    let (status, _, body) = get(&format!("{}/health/ready", app.endpoint)).await;
    assert_eq!((status, body.as_str()), (200, r#"{"status":"ready"}"#));
}
