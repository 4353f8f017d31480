//! Cognito Sync over REST-JSON: `/identitypools/…` on the main listener, as the model's
//! `http` traits place each operation (see [`route`]).
//!
//! The pipeline, like the JSON 1.1 one: find the operation from method and path, gather its input
//! from path, query, headers and body into the model's shape, authenticate (SigV4 by the admin
//! keys, which are developer credentials, or by credentials GetCredentialsForIdentity issued),
//! validate against the model, run the handler ([`handlers`]). Errors carry `x-amzn-ErrorType`
//! and `{"__type","message"}` with the status the model gives each exception.

mod events;
mod handlers;

use crate::error::ApiError;
use crate::{AdminAuth, AppState, sigv4};
use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Map, Value};
use std::sync::Arc;
use tessera_engine::identity::StsRefusal;
use tessera_engine::sync::SyncCaller;
use tessera_wire::model::{Location, ShapeKind};
use tessera_wire::sync::SERVICE;

pub use events::stop_event_feeds;

/// The operations this adapter serves, for `tessera operations`.
pub fn implemented() -> Vec<(&'static str, &'static str)> {
    handlers::OPERATIONS
        .iter()
        .map(|op| (SERVICE.name, *op))
        .collect()
}

/// The routes: every path under `/identitypools`.
pub fn routes() -> axum::Router<Arc<AppState>> {
    axum::Router::new()
        .route("/identitypools", axum::routing::any(handle))
        .route("/identitypools/{*rest}", axum::routing::any(handle))
        .route(
            "/sync/v1/identitypools/{pool}/identities/{identity}/events",
            axum::routing::get(events::events),
        )
}

/// The operation a method and path name, and the path's parameters.
fn route(
    method: &Method,
    segments: &[String],
) -> Option<(&'static str, Vec<(&'static str, String)>)> {
    let s: Vec<&str> = segments.iter().map(String::as_str).collect();
    let m = method.as_str();
    let (op, params): (&str, Vec<(&str, &str)>) = match (m, s.as_slice()) {
        ("GET", ["identitypools"]) => ("ListIdentityPoolUsage", vec![]),
        ("GET", ["identitypools", p]) => ("DescribeIdentityPoolUsage", vec![("IdentityPoolId", p)]),
        ("POST", ["identitypools", p, "bulkpublish"]) => {
            ("BulkPublish", vec![("IdentityPoolId", p)])
        }
        ("POST", ["identitypools", p, "getBulkPublishDetails"]) => {
            ("GetBulkPublishDetails", vec![("IdentityPoolId", p)])
        }
        ("GET", ["identitypools", p, "events"]) => {
            ("GetCognitoEvents", vec![("IdentityPoolId", p)])
        }
        ("POST", ["identitypools", p, "events"]) => {
            ("SetCognitoEvents", vec![("IdentityPoolId", p)])
        }
        ("GET", ["identitypools", p, "configuration"]) => {
            ("GetIdentityPoolConfiguration", vec![("IdentityPoolId", p)])
        }
        ("POST", ["identitypools", p, "configuration"]) => {
            ("SetIdentityPoolConfiguration", vec![("IdentityPoolId", p)])
        }
        ("POST", ["identitypools", p, "identity", i, "device"]) => (
            "RegisterDevice",
            vec![("IdentityPoolId", p), ("IdentityId", i)],
        ),
        ("GET", ["identitypools", p, "identities", i]) => (
            "DescribeIdentityUsage",
            vec![("IdentityPoolId", p), ("IdentityId", i)],
        ),
        ("GET", ["identitypools", p, "identities", i, "datasets"]) => (
            "ListDatasets",
            vec![("IdentityPoolId", p), ("IdentityId", i)],
        ),
        (_, ["identitypools", p, "identities", i, "datasets", d]) => (
            match m {
                "GET" => "DescribeDataset",
                "POST" => "UpdateRecords",
                "DELETE" => "DeleteDataset",
                _ => return None,
            },
            vec![("IdentityPoolId", p), ("IdentityId", i), ("DatasetName", d)],
        ),
        (
            "GET",
            [
                "identitypools",
                p,
                "identities",
                i,
                "datasets",
                d,
                "records",
            ],
        ) => (
            "ListRecords",
            vec![("IdentityPoolId", p), ("IdentityId", i), ("DatasetName", d)],
        ),
        (
            _,
            [
                "identitypools",
                p,
                "identities",
                i,
                "datasets",
                d,
                "subscriptions",
                dev,
            ],
        ) => (
            match m {
                "POST" => "SubscribeToDataset",
                "DELETE" => "UnsubscribeFromDataset",
                _ => return None,
            },
            vec![
                ("IdentityPoolId", p),
                ("IdentityId", i),
                ("DatasetName", d),
                ("DeviceId", dev),
            ],
        ),
        _ => return None,
    };
    let op = SERVICE.operation(op)?.name;
    let params = params
        .into_iter()
        .map(|(k, v)| (k, v.to_string()))
        .collect();
    Some((op, params))
}

/// The status the model gives each exception (REST-JSON clients read the code from the header
/// and body; the status still tells retrying clients what kind of failure it was).
fn rest_status(code: &str) -> StatusCode {
    match code {
        "NotAuthorizedException"
        | "UnrecognizedClientException"
        | "InvalidSignatureException"
        | "MissingAuthenticationTokenException"
        | "ExpiredTokenException" => StatusCode::FORBIDDEN,
        "ResourceNotFoundException" => StatusCode::NOT_FOUND,
        "ResourceConflictException" => StatusCode::CONFLICT,
        "TooManyRequestsException" | "LambdaThrottledException" => StatusCode::TOO_MANY_REQUESTS,
        "InternalErrorException" => StatusCode::INTERNAL_SERVER_ERROR,
        _ => StatusCode::BAD_REQUEST,
    }
}

pub async fn handle(
    State(state): State<Arc<AppState>>,
    method: Method,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let started = std::time::Instant::now();
    let result = serve(&state, &method, &uri, &headers, &body).await;
    match result {
        Ok((op, value)) => {
            crate::metrics::record(SERVICE.name, op, &Ok(Value::Null), started.elapsed());
            let mut response = (StatusCode::OK, value.to_string()).into_response();
            let h = response.headers_mut();
            h.insert("content-type", HeaderValue::from_static("application/json"));
            if let Ok(v) = HeaderValue::from_str(&request_id) {
                h.insert("x-amzn-requestid", v);
            }
            response
        }
        Err((op, mut e)) => {
            let op = op.unwrap_or("unknown");
            e.status = rest_status(&e.code);
            if e.status.is_server_error() {
                tracing::error!(%op, %request_id, code = %e.code, "sync request failed");
            } else {
                tracing::info!(%op, %request_id, code = %e.code, "sync request refused");
            }
            let err: Result<Value, ApiError> = Err(e.clone());
            crate::metrics::record(SERVICE.name, op, &err, started.elapsed());
            e.into_response_with(&request_id)
        }
    }
}

type Failure = (Option<&'static str>, ApiError);

async fn serve(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<(&'static str, Value), Failure> {
    let segments: Vec<String> = uri
        .path()
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| String::from_utf8_lossy(&tessera_sigv4::percent_decode(s)).into_owned())
        .collect();
    let (op_name, params) = route(method, &segments).ok_or_else(|| {
        (
            None,
            ApiError::new(
                "UnknownOperationException",
                "No Cognito Sync operation answers this method and path.",
                StatusCode::NOT_FOUND,
            ),
        )
    })?;
    let fail = |e: ApiError| (Some(op_name), e);
    let caller = authenticate(state, method, uri, headers, body)
        .await
        .map_err(fail)?;
    let input = gather_input(op_name, &params, uri, headers, body).map_err(fail)?;
    let op = SERVICE
        .operation(op_name)
        .ok_or_else(|| fail(ApiError::internal()))?;
    SERVICE.validate_input(op, &input).map_err(|rejection| {
        let code = match rejection {
            tessera_wire::model::Rejection::Serialization(_) => "SerializationException",
            tessera_wire::model::Rejection::Constraints(_) => "InvalidParameterException",
        };
        fail(ApiError::bad_request(code, rejection.message()))
    })?;
    let value = handlers::run(state, &caller, op_name, input)
        .await
        .map_err(fail)?;
    Ok((op_name, value))
}

/// SigV4 by the admin keys (developer credentials) or by an identity's issued credentials.
pub(crate) async fn authenticate(
    state: &AppState,
    method: &Method,
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<SyncCaller, ApiError> {
    let developer = || SyncCaller::Developer {
        principal: format!("arn:aws:iam::{}:root", state.engine.settings().account_id),
    };
    let token = headers
        .get("x-amz-security-token")
        .and_then(|v| v.to_str().ok());
    if matches!(state.admin, AdminAuth::AnyCredentials) && token.is_none() {
        return Ok(developer());
    }
    let req = sigv4::Request {
        method,
        uri,
        headers,
        body,
        service: SERVICE.signing_name,
        now: crate::dispatch::now_secs(),
    };
    // JS SDK v2 never signs Content-Type; every x-amz-* header must still be signed.
    let pending = sigv4::prepare(&req, &[])?;
    let key = pending.access_key().to_string();
    if let AdminAuth::SigV4(roots) = &state.admin
        && let Some(root) = roots.iter().find(|c| c.access_key_id == key)
    {
        pending.check(&root.secret_access_key)?;
        return Ok(developer());
    }
    match state.engine.sts_caller(&key, token).await? {
        Ok(caller) => {
            pending.check(&caller.secret)?;
            Ok(SyncCaller::Identity {
                pool_id: caller.pool_id,
                identity_id: caller.identity_id,
            })
        }
        Err(StsRefusal::Expired) => Err(ApiError::new(
            "NotAuthorizedException",
            "The security token included in the request is expired",
            StatusCode::FORBIDDEN,
        )),
        Err(StsRefusal::UnknownKey | StsRefusal::BadToken) => Err(ApiError::new(
            "UnrecognizedClientException",
            "The security token included in the request is invalid.",
            StatusCode::FORBIDDEN,
        )),
    }
}

/// The operation's input shape filled from where the model says each member travels.
fn gather_input(
    op_name: &str,
    params: &[(&'static str, String)],
    uri: &Uri,
    headers: &HeaderMap,
    body: &[u8],
) -> Result<Value, ApiError> {
    let serialization = |m: String| ApiError::bad_request("SerializationException", m);
    let mut input = if body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        match serde_json::from_slice::<Value>(body) {
            Ok(Value::Object(m)) => m,
            Ok(_) => {
                return Err(serialization(
                    "The request body must be a JSON object.".into(),
                ));
            }
            Err(e) => {
                return Err(serialization(format!(
                    "The request body is not valid JSON: {e}"
                )));
            }
        }
    };
    let Some(op) = SERVICE.operation(op_name) else {
        return Err(ApiError::internal());
    };
    let Some(shape) = op.input else {
        return Ok(Value::Object(input));
    };
    let ShapeKind::Structure { members, .. } = &SERVICE.shape(shape).kind else {
        return Ok(Value::Object(input));
    };
    let query: Vec<(String, String)> = uri
        .query()
        .map(|q| form_urlencoded::parse(q.as_bytes()).into_owned().collect())
        .unwrap_or_default();
    for m in members.iter() {
        // Only the body carries body members: a body can't smuggle a path or query value.
        if m.location != Location::Body {
            input.remove(m.name);
        }
        let raw = match m.location {
            Location::Body | Location::HeaderPrefix => continue,
            Location::Uri => params
                .iter()
                .find(|(k, _)| *k == m.location_name)
                .map(|(_, v)| v.clone()),
            Location::Query => query
                .iter()
                .find(|(k, _)| k == m.location_name)
                .map(|(_, v)| v.clone()),
            Location::Header => headers
                .get(m.location_name)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string),
        };
        let Some(raw) = raw else { continue };
        let value = match SERVICE.shape(m.shape).kind {
            ShapeKind::Integer { .. } => raw.parse::<i64>().map(Value::from).map_err(|_| {
                serialization(format!(
                    "{} must be an integer, not '{}'",
                    m.location_name,
                    tessera_wire::echo(&raw)
                ))
            })?,
            _ => Value::String(raw),
        };
        input.insert(m.name.to_string(), value);
    }
    Ok(Value::Object(input))
}
