//! A request's way through the gateway: which service, who signed it, is it allowed, and the
//! forward to the backend (re-signed with the backend's key, bodies streamed both ways).

use crate::auth::{self, AuthError, Incoming, Payload, Service, Signed};
use crate::chunked::AwsChunked;
use crate::dynamodb::{self, TableSchema};
use crate::errors::Refusal;
use crate::s3::{self, S3Plan, S3Request};
use crate::{Backend, Check, GatewaySettings};
use axum::Router;
use axum::body::{Body, Bytes};
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderMap, HeaderValue, Method, StatusCode, Uri};
use axum::response::Response;
use futures_util::StreamExt;
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use tessera_engine::Engine;
use tessera_engine::gateway::{GatewaySession, GrantPolicies};
use tessera_engine::identity::StsRefusal;

/// DynamoDB's request limit is 16 MiB; the whole body is needed to authorize it.
const DYNAMODB_BODY_LIMIT: usize = 16 * 1024 * 1024;
/// S3 bodies with a hex payload hash up to this size are checked before forwarding; larger
/// ones are checked as they stream and the forward is aborted on a mismatch.
const S3_BUFFER_LIMIT: u64 = 8 * 1024 * 1024;
/// DeleteObjects bodies name at most 1000 keys.
const DELETE_BODY_LIMIT: usize = 2 * 1024 * 1024;
/// How long a table's key schema is trusted.
const SCHEMA_TTL: Duration = Duration::from_secs(60);

pub struct Gateway {
    engine: Engine,
    settings: GatewaySettings,
    client: reqwest::Client,
    schemas: Mutex<HashMap<String, (Instant, TableSchema)>>,
}

impl Gateway {
    pub fn new(engine: Engine, settings: GatewaySettings) -> Result<Gateway, String> {
        let client = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(10))
            .tcp_nodelay(true)
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| e.to_string())?;
        Ok(Gateway {
            engine,
            settings,
            client,
            schemas: Mutex::new(HashMap::new()),
        })
    }
}

pub fn router(gateway: Arc<Gateway>) -> Router {
    Router::new().fallback(handle).with_state(gateway)
}

/// Who signed a request.
enum Caller {
    Root,
    Session(Box<Session>),
}

/// A Tessera-issued session and what it may do.
struct Session {
    authenticated: GatewaySession,
    policies: GrantPolicies,
}

/// What every check of one request shares.
struct Context<'a> {
    caller: &'a Caller,
    service: Service,
    region: &'a str,
    source_ip: std::net::IpAddr,
    now_ms: i64,
}

fn now_ms() -> i64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

async fn handle(
    State(gw): State<Arc<Gateway>>,
    ConnectInfo(peer): ConnectInfo<SocketAddr>,
    req: Request,
) -> Response {
    let request_id = uuid::Uuid::new_v4().to_string();
    let service = if req
        .headers()
        .get("x-amz-target")
        .and_then(|v| v.to_str().ok())
        .is_some_and(|t| t.starts_with("DynamoDB_20120810."))
    {
        Service::DynamoDb
    } else {
        Service::S3
    };
    let body_unread = carries_body(req.headers());
    let result = match service {
        Service::DynamoDb => gw.dynamodb(peer, req).await,
        Service::S3 => gw.s3(peer, req).await,
    };
    result.unwrap_or_else(|refusal| {
        tracing::debug!(code = refusal.code, message = %refusal.message, "gateway refused");
        let mut response = refusal.render(service, &request_id);
        // A refusal answers before the body is read. A client that sent `Expect: 100-continue`
        // and got the refusal first never sends the body (RFC 9110 §10.1.1 lets it); were the
        // connection kept alive, the Content-Length bytes still awaited would be taken from the
        // start of its next request (`GET` read as `ET`: seen as intermittent signature
        // mismatches with boto3). Closing the connection keeps requests apart.
        if body_unread {
            response.headers_mut().insert(
                axum::http::header::CONNECTION,
                HeaderValue::from_static("close"),
            );
        }
        response
    })
}

/// Whether a request says it has a body (a non-zero length, or a transfer coding).
fn carries_body(headers: &HeaderMap) -> bool {
    headers.contains_key(axum::http::header::TRANSFER_ENCODING)
        || header_str(headers, "content-length")
            .and_then(|v| v.trim().parse::<u64>().ok())
            .is_some_and(|n| n > 0)
}

impl Gateway {
    /// Looks up the key's secret and checks the signature (`payload_hash` as signed).
    async fn authenticate(
        &self,
        incoming: &Incoming<'_>,
        signed: &Signed,
        payload_hash: &str,
    ) -> Result<(Caller, zeroize::Zeroizing<String>), Refusal> {
        let service = incoming.service;
        let auth_err = |e: AuthError| Refusal::auth(service, e);
        if let Some((key, secret)) = &self.settings.root_credentials
            && tessera_crypto::constant_time_eq(key.as_bytes(), signed.access_key.as_bytes())
        {
            signed
                .check(incoming, secret, payload_hash)
                .map_err(auth_err)?;
            return Ok((Caller::Root, zeroize::Zeroizing::new(secret.clone())));
        }
        let session = self
            .engine
            .gateway_session(&signed.access_key, signed.session_token.as_deref())
            .await
            .map_err(|e| Refusal::internal(e.to_string()))?
            .map_err(|r| {
                auth_err(match r {
                    StsRefusal::UnknownKey => AuthError::UnknownKey,
                    StsRefusal::BadToken => AuthError::BadToken,
                    StsRefusal::Expired => AuthError::ExpiredToken,
                })
            })?;
        signed
            .check(incoming, &session.secret, payload_hash)
            .map_err(auth_err)?;
        let policies = self
            .engine
            .grant_policies(&session.grant)
            .await
            .map_err(|e| Refusal::internal(e.to_string()))?;
        let secret = session.secret.clone();
        Ok((
            Caller::Session(Box::new(Session {
                authenticated: session,
                policies,
            })),
            secret,
        ))
    }

    /// Every check must be allowed.
    fn authorize(&self, ctx: &Context<'_>, checks: &[Check]) -> Result<(), Refusal> {
        for check in checks {
            if !self.allows(ctx, check) {
                let principal = match ctx.caller {
                    Caller::Root => format!("arn:aws:iam::{}:root", self.settings.account_id),
                    Caller::Session(s) => s.authenticated.grant.principal_arn.clone(),
                };
                return Err(Refusal::denied(
                    ctx.service,
                    &principal,
                    &check.action,
                    &check.resource,
                ));
            }
        }
        Ok(())
    }

    fn allows(&self, ctx: &Context<'_>, check: &Check) -> bool {
        let Caller::Session(session) = ctx.caller else {
            return true;
        };
        let Session {
            authenticated,
            policies,
        } = session.as_ref();
        let mut request = authenticated
            .request_context(
                &self.settings.account_id,
                check.action.as_str(),
                check.resource.as_str(),
                ctx.now_ms,
            )
            .with_key("aws:RequestedRegion", ctx.region)
            .with_ip("aws:SourceIp", ctx.source_ip)
            .with_bool("aws:SecureTransport", self.settings.tls);
        for (k, v) in &check.keys {
            request = request.with_key(k, v.as_str());
        }
        if let Some(keys) = &check.leading_keys {
            request = request.with_multi_key("dynamodb:LeadingKeys", keys.iter().cloned());
        }
        policies.evaluate(&request).is_allowed()
    }

    /// The backend configured for `service`.
    fn backend(&self, service: Service) -> Result<Backend, Refusal> {
        let configured = match service {
            Service::S3 => &self.settings.s3,
            Service::DynamoDb => &self.settings.dynamodb,
        };
        configured.clone().ok_or_else(|| {
            Refusal::bad_gateway(
                service,
                format!("No {} backend is configured.", service.signing_name()),
            )
        })
    }

    async fn dynamodb(&self, peer: SocketAddr, req: Request) -> Result<Response, Refusal> {
        let service = Service::DynamoDb;
        let backend = self.backend(service)?;
        let (parts, body) = req.into_parts();
        let body = axum::body::to_bytes(body, DYNAMODB_BODY_LIMIT)
            .await
            .map_err(|_| Refusal::too_large(service))?;
        let now = now_ms();
        let incoming = Incoming::of(&parts, service, now / 1000);
        let signed = auth::parse(&incoming).map_err(|e| Refusal::auth(service, e))?;
        let body_hash = hex::encode(Sha256::digest(&body));
        if let Some(given) = parts
            .headers
            .get("x-amz-content-sha256")
            .and_then(|v| v.to_str().ok())
            && !given.eq_ignore_ascii_case(&body_hash)
        {
            return Err(Refusal::auth(service, AuthError::ContentShaMismatch));
        }
        let (caller, _) = self.authenticate(&incoming, &signed, &body_hash).await?;
        let target = parts
            .headers
            .get("x-amz-target")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let operation = target
            .strip_prefix("DynamoDB_20120810.")
            .unwrap_or_default()
            .to_string();
        if !matches!(caller, Caller::Root) {
            let json: serde_json::Value = serde_json::from_slice(&body).map_err(|_| {
                Refusal::bad_request(
                    service,
                    "Start of structure or map found where not expected.",
                )
            })?;
            let mut schemas = HashMap::new();
            for table in dynamodb::tables(&operation, &json) {
                if let Some(s) = self.table_schema(&backend, &signed.region, &table).await? {
                    schemas.insert(table, s);
                }
            }
            let account = self.settings.account_id.clone();
            let region = signed.region.clone();
            let arn = move |t: &str| format!("arn:aws:dynamodb:{region}:{account}:table/{t}");
            let lookup = |t: &str| schemas.get(t).cloned();
            let checks = match dynamodb::plan(&operation, &json, &arn, &lookup) {
                Ok(c) => c,
                // A table whose key schema the backend didn't give (it doesn't exist, or
                // DescribeTable failed): without its partition key, dynamodb:LeadingKeys can't be
                // known, and an absent key would satisfy ForAllValues. Refuse rather than guess.
                Err(dynamodb::PlanError::UnknownTable | dynamodb::PlanError::NoPartitionKey) => {
                    let table = dynamodb::tables(&operation, &json)
                        .into_iter()
                        .find(|t| !schemas.contains_key(t))
                        .unwrap_or_default();
                    let principal = match &caller {
                        Caller::Session(s) => s.authenticated.grant.principal_arn.clone(),
                        Caller::Root => String::new(),
                    };
                    return Err(Refusal::denied(
                        service,
                        &principal,
                        &format!("dynamodb:{operation}"),
                        &arn(&table),
                    ));
                }
            };
            let ctx = Context {
                caller: &caller,
                service,
                region: &signed.region,
                source_ip: peer.ip(),
                now_ms: now,
            };
            self.authorize(&ctx, &checks)?;
        }
        let content_type = header_str(&parts.headers, "content-type")
            .unwrap_or("application/x-amz-json-1.0")
            .to_string();
        let response = self
            .send_dynamodb(&backend, &signed.region, &target, &content_type, body)
            .await?;
        Ok(relay(response))
    }

    /// A JSON 1.0 request to the DynamoDB backend, signed with its key.
    async fn send_dynamodb(
        &self,
        backend: &Backend,
        region: &str,
        target: &str,
        content_type: &str,
        body: Bytes,
    ) -> Result<reqwest::Response, Refusal> {
        let headers = vec![
            ("content-type".to_string(), content_type.to_string()),
            ("x-amz-target".to_string(), target.to_string()),
        ];
        let url = format!("{}/", backend.endpoint);
        let signing = sign(
            backend,
            Service::DynamoDb,
            region,
            "POST",
            &url,
            &headers,
            BackendPayload::Bytes(&body),
        )?;
        let mut request = self.client.post(&url).body(body);
        for (k, v) in headers.iter().chain(signing.iter()) {
            request = request.header(k, v);
        }
        request.send().await.map_err(|e| {
            Refusal::bad_gateway(
                Service::DynamoDb,
                format!("The backend did not answer: {e}"),
            )
        })
    }

    /// A table's key schema, from the backend's DescribeTable (cached for a minute); `None`
    /// when the backend doesn't know the table.
    async fn table_schema(
        &self,
        backend: &Backend,
        region: &str,
        table: &str,
    ) -> Result<Option<TableSchema>, Refusal> {
        if let Some((at, s)) = self
            .schemas
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .get(table)
            && at.elapsed() < SCHEMA_TTL
        {
            return Ok(Some(s.clone()));
        }
        let body = serde_json::json!({ "TableName": table }).to_string();
        let response = self
            .send_dynamodb(
                backend,
                region,
                "DynamoDB_20120810.DescribeTable",
                "application/x-amz-json-1.0",
                Bytes::from(body),
            )
            .await?;
        if !response.status().is_success() {
            return Ok(None);
        }
        let answer: serde_json::Value = response
            .json()
            .await
            .map_err(|e| Refusal::bad_gateway(Service::DynamoDb, format!("DescribeTable: {e}")))?;
        let Some(schema) = answer.get("Table").and_then(TableSchema::from_description) else {
            return Ok(None);
        };
        let mut cache = self.schemas.lock().unwrap_or_else(|e| e.into_inner());
        if cache.len() > 10_000 {
            cache.clear();
        }
        cache.insert(table.to_string(), (Instant::now(), schema.clone()));
        Ok(Some(schema))
    }

    /// Bucket and key of an S3 request, and the path to forward (always path-style).
    fn address(&self, uri: &Uri, headers: &HeaderMap) -> (Option<String>, Option<String>, String) {
        let raw_path = uri.path();
        let host = header_str(headers, "host")
            .map(str::to_string)
            .or_else(|| uri.authority().map(|a| a.to_string()))
            .unwrap_or_default();
        let host = host
            .split(':')
            .next()
            .unwrap_or_default()
            .to_ascii_lowercase();
        if let Some(domain) = &self.settings.s3_domain
            && let Some(bucket) = host.strip_suffix(&format!(".{domain}"))
            && !bucket.is_empty()
        {
            let key = crate::percent_decode_str(raw_path.trim_start_matches('/'));
            let forward = format!(
                "/{bucket}{}",
                if raw_path.is_empty() { "/" } else { raw_path }
            );
            return (Some(bucket.to_string()), Some(key), forward);
        }
        let trimmed = raw_path.trim_start_matches('/');
        let (bucket, key) = match trimmed.split_once('/') {
            Some((b, k)) => (b, Some(crate::percent_decode_str(k))),
            None => (trimmed, None),
        };
        let bucket = crate::percent_decode_str(bucket);
        (
            (!bucket.is_empty()).then_some(bucket),
            key,
            raw_path.to_string(),
        )
    }

    async fn s3(&self, peer: SocketAddr, req: Request) -> Result<Response, Refusal> {
        let service = Service::S3;
        let backend = self.backend(service)?;
        let (parts, body) = req.into_parts();
        let now = now_ms();
        let incoming = Incoming::of(&parts, service, now / 1000);
        let signed = auth::parse(&incoming).map_err(|e| Refusal::auth(service, e))?;
        let (caller, secret) = self
            .authenticate(&incoming, &signed, signed.payload.as_str())
            .await?;
        let (bucket, key, forward_path) = self.address(&parts.uri, &parts.headers);
        let query = auth::query_pairs(&parts.uri);
        let s3_request = S3Request {
            method: parts.method.as_str(),
            bucket: bucket.clone(),
            key,
            query: query.clone(),
            copy_source: header_str(&parts.headers, "x-amz-copy-source").map(str::to_string),
            acl: header_str(&parts.headers, "x-amz-acl").map(str::to_string),
        };
        let ctx = Context {
            caller: &caller,
            service,
            region: &signed.region,
            source_ip: peer.ip(),
            now_ms: now,
        };
        let mut base_checks = Vec::new();
        let mut body = Some(body);
        let mut buffered: Option<Bytes> = None;
        match s3::plan(&s3_request) {
            S3Plan::Checks(c) => base_checks = c,
            S3Plan::DeleteObjects { bucket } => {
                let bytes = read_checked(body.take(), &signed.payload, DELETE_BODY_LIMIT).await?;
                let keys = s3::delete_keys(&String::from_utf8_lossy(&bytes))
                    .ok_or_else(|| Refusal::bad_request(service, "The XML you provided was not well-formed or did not validate against our published schema"))?;
                base_checks = s3::delete_checks(&bucket, &keys);
                buffered = Some(bytes);
            }
            S3Plan::Unmapped => {
                if !matches!(caller, Caller::Root) {
                    return Err(Refusal::denied(service, "", parts.method.as_str(), "*"));
                }
            }
        }
        for check in &mut base_checks {
            check.keys.push((
                "s3:authType".into(),
                if signed.presigned {
                    "REST-QUERY-STRING"
                } else {
                    "REST-HEADER"
                }
                .into(),
            ));
            check
                .keys
                .push(("s3:signatureversion".into(), "AWS4-HMAC-SHA256".into()));
            check.keys.push((
                "s3:x-amz-content-sha256".into(),
                signed.payload.as_str().into(),
            ));
        }
        self.authorize(&ctx, &base_checks)?;

        // The body to forward, and how it is bound for the backend.
        let failure: Arc<Mutex<Option<Refusal>>> = Arc::new(Mutex::new(None));
        let mut drop_headers: Vec<&str> = Vec::new();
        let mut content_length =
            header_str(&parts.headers, "content-length").and_then(|v| v.parse::<u64>().ok());
        let (forward_body, backend_payload) = match (&signed.payload, buffered) {
            (_, Some(bytes)) => {
                let hash = hex::encode(Sha256::digest(&bytes));
                (reqwest::Body::from(bytes), PayloadOut::Hex(hash))
            }
            (Payload::Hex(expected), None) => {
                if content_length.is_none_or(|l| l <= S3_BUFFER_LIMIT) {
                    let bytes =
                        read_checked(body.take(), &signed.payload, S3_BUFFER_LIMIT as usize)
                            .await?;
                    let hash = expected.clone();
                    (reqwest::Body::from(bytes), PayloadOut::Hex(hash))
                } else {
                    let stream = transformed(
                        body.take().unwrap_or_default(),
                        Transform::Hash(Sha256::new(), expected.clone()),
                        failure.clone(),
                    );
                    (reqwest::Body::wrap_stream(stream), PayloadOut::Unsigned)
                }
            }
            (Payload::Unsigned, None) => (
                reqwest::Body::wrap_stream(body.take().unwrap_or_default().into_data_stream()),
                PayloadOut::Unsigned,
            ),
            (Payload::Streaming(mode), None) => {
                let signer = mode
                    .starts_with("STREAMING-AWS4-HMAC-SHA256-PAYLOAD")
                    .then(|| signed.chunk_context(&secret, service));
                let decoded_length = header_str(&parts.headers, "x-amz-decoded-content-length")
                    .and_then(|v| v.parse::<u64>().ok());
                let decoder = AwsChunked::new(
                    signer,
                    header_str(&parts.headers, "x-amz-trailer"),
                    decoded_length,
                );
                content_length = decoded_length;
                drop_headers.extend([
                    "x-amz-decoded-content-length",
                    "x-amz-trailer",
                    "content-encoding",
                ]);
                let stream = transformed(
                    body.take().unwrap_or_default(),
                    Transform::Chunked(Box::new(decoder)),
                    failure.clone(),
                );
                (reqwest::Body::wrap_stream(stream), PayloadOut::Unsigned)
            }
        };

        // Headers: the client's, less its own signature, hop-by-hop ones and what decoding
        // replaced.
        let mut headers: Vec<(String, String)> = Vec::new();
        for (name, value) in &parts.headers {
            let n = name.as_str();
            if FORWARD_SKIP.contains(&n) || drop_headers.contains(&n) {
                continue;
            }
            let Ok(v) = value.to_str() else { continue };
            if n == "content-encoding" {
                continue;
            }
            headers.push((n.to_string(), v.to_string()));
        }
        if let Some(enc) = header_str(&parts.headers, "content-encoding") {
            let rest: Vec<&str> = enc
                .split(',')
                .map(str::trim)
                .filter(|e| !e.eq_ignore_ascii_case("aws-chunked") && !e.is_empty())
                .collect();
            if !rest.is_empty() {
                headers.push(("content-encoding".into(), rest.join(",")));
            }
        }
        let query_out = forward_query(parts.uri.query());
        let url = format!(
            "{}{}{}",
            backend.endpoint,
            forward_path,
            query_out.map(|q| format!("?{q}")).unwrap_or_default()
        );
        let signing = sign(
            &backend,
            service,
            &signed.region,
            parts.method.as_str(),
            &url,
            &headers,
            match &backend_payload {
                PayloadOut::Hex(h) => BackendPayload::Precomputed(h),
                PayloadOut::Unsigned => BackendPayload::Unsigned,
            },
        )?;
        let method = reqwest::Method::from_bytes(parts.method.as_str().as_bytes())
            .map_err(|_| Refusal::bad_request(service, "Unsupported method"))?;
        let mut request = self.client.request(method, &url).body(forward_body);
        for (k, v) in headers.iter().chain(signing.iter()) {
            request = request.header(k, v);
        }
        if let Some(l) = content_length {
            request = request.header("content-length", l.to_string());
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => {
                if let Some(refusal) = failure.lock().unwrap_or_else(|e| e.into_inner()).take() {
                    return Err(refusal);
                }
                return Err(Refusal::bad_gateway(
                    service,
                    format!("The backend did not answer: {e}"),
                ));
            }
        };
        if let Some(refusal) = failure.lock().unwrap_or_else(|e| e.into_inner()).take() {
            return Err(refusal);
        }
        // A missing object is 404 only to callers who may list the bucket (else 403, so
        // existence doesn't leak).
        if response.status() == reqwest::StatusCode::NOT_FOUND
            && (parts.method == Method::GET || parts.method == Method::HEAD)
            && base_checks
                .iter()
                .any(|c| c.action == "s3:GetObject" || c.action == "s3:GetObjectVersion")
            && let Some(bucket) = &bucket
        {
            let list = Check::new("s3:ListBucket", &s3::bucket_arn(bucket));
            if !self.allows(&ctx, &list) {
                return Err(Refusal::denied(service, "", "s3:GetObject", ""));
            }
        }
        Ok(relay(response))
    }
}

/// Headers never forwarded: the client's signature (replaced), hop-by-hop headers, and
/// `host` / `content-length` (set for the backend).
const FORWARD_SKIP: &[&str] = &[
    "authorization",
    "x-amz-date",
    "x-amz-security-token",
    "x-amz-content-sha256",
    "host",
    "content-length",
    "connection",
    "keep-alive",
    "proxy-connection",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
    "expect",
];

/// The query without a presigned URL's signature parameters.
fn forward_query(query: Option<&str>) -> Option<String> {
    let kept: Vec<&str> = query?
        .split('&')
        .filter(|p| {
            let name = p.split_once('=').map_or(*p, |(k, _)| k);
            !matches!(
                name,
                "X-Amz-Algorithm"
                    | "X-Amz-Credential"
                    | "X-Amz-Date"
                    | "X-Amz-Expires"
                    | "X-Amz-SignedHeaders"
                    | "X-Amz-Signature"
                    | "X-Amz-Security-Token"
            )
        })
        .collect();
    (!kept.is_empty()).then(|| kept.join("&"))
}

fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers.get(name).and_then(|v| v.to_str().ok())
}

/// Reads a whole (small) body and checks it against a hex payload hash, if that is the mode.
async fn read_checked(
    body: Option<Body>,
    payload: &Payload,
    limit: usize,
) -> Result<Bytes, Refusal> {
    let bytes = axum::body::to_bytes(body.unwrap_or_default(), limit)
        .await
        .map_err(|_| Refusal::too_large(Service::S3))?;
    if let Payload::Hex(expected) = payload
        && hex::encode(Sha256::digest(&bytes)) != *expected
    {
        return Err(Refusal::auth(Service::S3, AuthError::ContentShaMismatch));
    }
    Ok(bytes)
}

enum PayloadOut {
    Hex(String),
    Unsigned,
}

/// A body check or decoding done while the body streams through.
enum Transform {
    /// SHA-256 of everything must equal the hex.
    Hash(Sha256, String),
    Chunked(Box<AwsChunked>),
}

impl Transform {
    fn push(&mut self, data: &[u8]) -> Result<Bytes, Refusal> {
        match self {
            Transform::Hash(h, _) => {
                h.update(data);
                Ok(Bytes::copy_from_slice(data))
            }
            Transform::Chunked(d) => d.push(data).map(Bytes::from).map_err(Refusal::chunk),
        }
    }

    fn finish(self) -> Result<(), Refusal> {
        match self {
            Transform::Hash(h, expected) => {
                if hex::encode(h.finalize()) == expected {
                    Ok(())
                } else {
                    Err(Refusal::auth(Service::S3, AuthError::ContentShaMismatch))
                }
            }
            Transform::Chunked(mut d) => d.finish().map_err(Refusal::chunk),
        }
    }
}

/// The body as a stream through `transform`; a failure ends the stream with an error (which
/// aborts the forward) and is left in `failure` for the answer.
///
/// The last piece of output is held back until the body has ended and checked out: the
/// backend is told the exact length, so without its last bytes it never completes the
/// request, however late (a trailing checksum, the final hash) the check fails.
fn transformed(
    body: Body,
    transform: Transform,
    failure: Arc<Mutex<Option<Refusal>>>,
) -> impl futures_util::Stream<Item = Result<Bytes, std::io::Error>> + Send + 'static {
    struct Pipe<S, F> {
        inner: S,
        transform: Option<Transform>,
        held: Option<Bytes>,
        fail: F,
    }
    let fail = move |refusal: Refusal| {
        let message = refusal.message.clone();
        *failure.lock().unwrap_or_else(|e| e.into_inner()) = Some(refusal);
        std::io::Error::other(message)
    };
    let pipe = Pipe {
        inner: body.into_data_stream(),
        transform: Some(transform),
        held: None,
        fail,
    };
    futures_util::stream::unfold(pipe, |mut pipe| async move {
        let transform = pipe.transform.as_mut()?;
        loop {
            match pipe.inner.next().await {
                Some(Ok(bytes)) => match transform.push(&bytes) {
                    Ok(out) if out.is_empty() => continue,
                    Ok(out) => match pipe.held.replace(out) {
                        Some(previous) => return Some((Ok(previous), pipe)),
                        None => continue,
                    },
                    Err(r) => {
                        pipe.transform = None;
                        let e = (pipe.fail)(r);
                        return Some((Err(e), pipe));
                    }
                },
                Some(Err(e)) => {
                    pipe.transform = None;
                    return Some((Err(std::io::Error::other(e)), pipe));
                }
                None => {
                    let finished = pipe.transform.take().map(Transform::finish);
                    return match finished {
                        Some(Err(r)) => {
                            let e = (pipe.fail)(r);
                            Some((Err(e), pipe))
                        }
                        _ => pipe.held.take().map(|last| {
                            // Ends the stream on the next poll (`transform` is gone).
                            (Ok(last), pipe)
                        }),
                    };
                }
            }
        }
    })
}

/// The backend's answer, streamed back with its status and headers.
fn relay(response: reqwest::Response) -> Response {
    let status =
        StatusCode::from_u16(response.status().as_u16()).unwrap_or(StatusCode::BAD_GATEWAY);
    let mut headers = HeaderMap::new();
    for (name, value) in response.headers() {
        if matches!(
            name.as_str(),
            "connection" | "keep-alive" | "transfer-encoding" | "te" | "trailer" | "upgrade"
        ) {
            continue;
        }
        if let (Ok(n), Ok(v)) = (
            axum::http::HeaderName::from_bytes(name.as_str().as_bytes()),
            HeaderValue::from_bytes(value.as_bytes()),
        ) {
            headers.append(n, v);
        }
    }
    let mut out = Response::new(Body::from_stream(response.bytes_stream()));
    *out.status_mut() = status;
    *out.headers_mut() = headers;
    out
}

enum BackendPayload<'a> {
    Bytes(&'a [u8]),
    Precomputed(&'a str),
    Unsigned,
}

/// The signature headers for the backend (SigV4 with its static key; S3's single-encoded
/// paths and `x-amz-content-sha256`, DynamoDB's double-encoded ones).
fn sign(
    backend: &Backend,
    service: Service,
    region: &str,
    method: &str,
    url: &str,
    headers: &[(String, String)],
    payload: BackendPayload<'_>,
) -> Result<Vec<(String, String)>, Refusal> {
    use aws_sigv4::http_request::{
        PayloadChecksumKind, PercentEncodingMode, SignableBody, SignableRequest, SigningSettings,
        UriPathNormalizationMode, sign as sigv4_sign,
    };
    use aws_sigv4::sign::v4;
    let credentials = aws_credential_types::Credentials::new(
        backend.access_key_id.clone(),
        backend.secret_access_key.clone(),
        None,
        None,
        "tessera-gateway",
    );
    let identity: aws_smithy_runtime_api::client::identity::Identity = credentials.into();
    let mut settings = SigningSettings::default();
    if service == Service::S3 {
        settings.percent_encoding_mode = PercentEncodingMode::Single;
        settings.uri_path_normalization_mode = UriPathNormalizationMode::Disabled;
        settings.payload_checksum_kind = PayloadChecksumKind::XAmzSha256;
    }
    let params = v4::SigningParams::builder()
        .identity(&identity)
        .region(region)
        .name(service.signing_name())
        .time(std::time::SystemTime::now())
        .settings(settings)
        .build()
        .map_err(|e| Refusal::internal(e.to_string()))?
        .into();
    let body = match payload {
        BackendPayload::Bytes(b) => SignableBody::Bytes(b),
        BackendPayload::Precomputed(h) => SignableBody::Precomputed(h.to_string()),
        BackendPayload::Unsigned => SignableBody::UnsignedPayload,
    };
    let request = SignableRequest::new(
        method,
        url,
        headers.iter().map(|(k, v)| (k.as_str(), v.as_str())),
        body,
    )
    .map_err(|e| Refusal::internal(e.to_string()))?;
    let (instructions, _) = sigv4_sign(request, &params)
        .map_err(|e| Refusal::internal(e.to_string()))?
        .into_parts();
    Ok(instructions
        .headers()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect())
}
