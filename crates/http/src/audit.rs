//! The audit edge: wraps every request in an audit scope and, for requests that do something
//! (API operations, forms posted to the hosted pages), writes one line to the audit target with
//! the request id, source address, operation, caller (the access key a request was signed with),
//! the user pool and user concerned, and the outcome. See `tessera_engine::audit`.

use crate::AppState;
use axum::extract::{Request, State};
use axum::middleware::Next;
use axum::response::Response;
use http::{HeaderMap, Method};
use std::sync::Arc;
use tessera_engine::audit;

/// The access key id a request claims to be signed with (header or presigned form). Whether the
/// signature held shows in the outcome.
fn signed_by(headers: &HeaderMap, query: Option<&str>) -> Option<String> {
    let key = match headers
        .get(http::header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
    {
        Some(value) => tessera_sigv4::parse_authorization(value)
            .ok()?
            .access_key
            .to_string(),
        None => {
            let credential = form_urlencoded::parse(query?.as_bytes())
                .find(|(k, _)| k == "X-Amz-Credential")?
                .1;
            credential.split('/').next()?.to_string()
        }
    };
    // Access key ids are short and alphanumeric; anything else is not worth repeating.
    (!key.is_empty() && key.len() <= 128 && key.bytes().all(|b| b.is_ascii_alphanumeric()))
        .then_some(key)
}

/// Writes the audit line of a request. `source_ip` is the client's address as threat
/// protection sees it: the peer, or what a trusted proxy (`trusted_proxies`) forwarded.
pub async fn audit_requests(
    State(state): State<Arc<AppState>>,
    req: Request,
    next: Next,
) -> Response {
    let source_ip =
        crate::origin::request_client_ip(&req, &state.trusted_proxies).map(|ip| ip.to_string());
    let method = req.method().clone();
    let path = req.uri().path().to_string();
    let caller = signed_by(req.headers(), req.uri().query());
    let api_operation = req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .and_then(crate::dispatch::operation_of)
        .map(|(service, op)| format!("{service}.{op}"));
    let (response, facts) = audit::scope(async move {
        if let Some(op) = api_operation {
            audit::note_operation(op);
        }
        next.run(req).await
    })
    .await;
    let Some(operation) = facts
        .operation
        .or_else(|| (method == Method::POST).then(|| format!("POST {path}")))
    else {
        return response;
    };
    let caller = facts.caller.or(caller);
    let status = response.status();
    let outcome = facts
        .outcome
        .or_else(|| {
            response
                .headers()
                .get("x-amzn-errortype")
                .and_then(|v| v.to_str().ok())
                .map(|v| v.split(':').next().unwrap_or(v).to_string())
        })
        .unwrap_or_else(|| {
            if status.is_success() || status.is_redirection() {
                "ok".to_string()
            } else {
                status.as_str().to_string()
            }
        });
    let request_id = response
        .headers()
        .get("x-amzn-requestid")
        .and_then(|v| v.to_str().ok())
        .map(str::to_string);
    tracing::info!(
        target: audit::TARGET,
        request_id,
        source_ip,
        operation = %tessera_wire::echo(&operation),
        caller,
        pool = facts.pool,
        sub = facts.sub,
        outcome,
        status = status.as_u16(),
        "audit"
    );
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_caller_is_the_signing_access_key() {
        let mut h = HeaderMap::new();
        h.insert(
            http::header::AUTHORIZATION,
            "AWS4-HMAC-SHA256 Credential=AKIAEXAMPLE/20261206/us-east-1/cognito-idp/aws4_request, SignedHeaders=host, Signature=00"
                .parse()
                .unwrap(),
        );
        assert_eq!(signed_by(&h, None).as_deref(), Some("AKIAEXAMPLE"));
        assert_eq!(
            signed_by(
                &HeaderMap::new(),
                Some("X-Amz-Credential=ASIAKEY%2F20261206%2Fus-east-1%2Fs3%2Faws4_request&x=1")
            )
            .as_deref(),
            Some("ASIAKEY")
        );
        assert_eq!(signed_by(&HeaderMap::new(), Some("a=b")), None);
        let mut odd = HeaderMap::new();
        odd.insert(
            http::header::AUTHORIZATION,
            "AWS4-HMAC-SHA256 Credential=<script>/x".parse().unwrap(),
        );
        assert_eq!(signed_by(&odd, None), None);
    }
}
