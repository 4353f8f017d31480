//! [`LambdaInvoker`]: one Invoke API call per trigger invocation, retried as Cognito retries.

use crate::arn::{self, FunctionArn};
use crate::settings::{ConfigError, InvokerSettings};
use crate::signing;
use aws_credential_types::Credentials;
use reqwest::header::CONTENT_TYPE;
use reqwest::{StatusCode, Url};
use serde_json::Value;
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime};
use tessera_engine::{InvokeError, TriggerInvoker};
use tessera_outbound::error_chain;
use tracing::Instrument;

/// Lambda's header naming the invocation type.
pub const INVOCATION_TYPE_HEADER: &str = "x-amz-invocation-type";
/// Lambda's header marking a 200 answer as the function's error (`Unhandled` or `Handled`).
pub const FUNCTION_ERROR_HEADER: &str = "x-amz-function-error";

/// How much of an error answer from the host is read, to quote it.
const ERROR_BODY_LIMIT: usize = 2048;
/// How much of a body is quoted in a message.
const EXCERPT_CHARS: usize = 160;
/// The longest wait between attempts, however the backoff doubles.
const MAX_BACKOFF: Duration = Duration::from_secs(2);

/// `X-Amz-Invocation-Type`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum InvocationType {
    /// Synchronous: the answer is the function's output.
    RequestResponse,
    /// Asynchronous: the host queues the event and answers 202.
    Event,
}

impl InvocationType {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::RequestResponse => "RequestResponse",
            Self::Event => "Event",
        }
    }
}

/// Invokes trigger functions through the AWS Lambda Invoke API
/// (`POST {endpoint}/2015-03-31/functions/{FunctionName}/invocations`), so AWS Lambda itself,
/// `sam local start-lambda`, the runtime interface emulator, LocalStack or any host speaking
/// that API serves them unchanged.
///
/// For each function the endpoint is its own route's, else the default endpoint, else (with
/// credentials) AWS Lambda in the region of its ARN. Each attempt is bounded by the timeout;
/// connection failures, timeouts, 429 and 5xx are retried up to the configured attempts with
/// a doubling backoff, anything else is final. Outbound addresses are guarded against SSRF
/// (see `tessera_outbound`) unless private addresses are allowed.
#[derive(Clone)]
pub struct LambdaInvoker {
    inner: Arc<Inner>,
}

struct Inner {
    client: reqwest::Client,
    endpoint: Option<Endpoint>,
    functions: HashMap<String, Route>,
    region: Option<String>,
    credentials: Option<Credentials>,
    timeout: Duration,
    attempts: u32,
    backoff: Duration,
    payload_limit: usize,
}

/// An Invoke API host: the URL up to where `/2015-03-31/…` is appended.
#[derive(Clone, Debug)]
struct Endpoint {
    base: String,
    /// `scheme://host[:port]`, for logs and messages.
    origin: String,
}

impl Endpoint {
    fn parse(which: &str, raw: &str, allow_private: bool) -> Result<Self, ConfigError> {
        let invalid = |reason: String| ConfigError::InvalidEndpoint {
            which: which.to_string(),
            reason,
        };
        let url = Url::parse(raw).map_err(|e| invalid(e.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(invalid(format!(
                "scheme {}:// (use http:// or https://)",
                url.scheme()
            )));
        }
        if url.host_str().is_none() {
            return Err(invalid("no host".into()));
        }
        if url.query().is_some() || url.fragment().is_some() {
            return Err(invalid("a query or fragment has no place in it".into()));
        }
        if !url.username().is_empty() || url.password().is_some() {
            return Err(invalid(
                "credentials in the URL are not supported (configure access keys instead)".into(),
            ));
        }
        tessera_outbound::check_ip_literal(&url, allow_private).map_err(|e| {
            ConfigError::ForbiddenAddress {
                which: which.to_string(),
                address: e.0,
            }
        })?;
        Ok(Self {
            base: url.as_str().trim_end_matches('/').to_string(),
            origin: url.origin().ascii_serialization(),
        })
    }
}

struct Route {
    endpoint: Option<Endpoint>,
    name: Option<String>,
}

/// Where one invocation goes.
struct Target {
    url: String,
    origin: String,
    signing_region: Option<String>,
}

/// The outcome of one HTTP exchange.
enum Attempt {
    Done(Result<Option<Value>, InvokeError>),
    /// Worth another attempt: the reason, for the final message.
    Retry(String),
    /// The host doesn't take this invocation type (`sam local` answers 501 to `Event`).
    NotImplemented(String),
}

enum CallError {
    Invoke(InvokeError),
    NotImplemented(String),
}

impl std::fmt::Debug for LambdaInvoker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let inner = &self.inner;
        f.debug_struct("LambdaInvoker")
            .field("endpoint", &inner.endpoint.as_ref().map(|e| &e.origin))
            .field("functions", &inner.functions.len())
            .field("region", &inner.region)
            .field("signed", &inner.credentials.is_some())
            .field("timeout", &inner.timeout)
            .field("attempts", &inner.attempts)
            .finish()
    }
}

impl LambdaInvoker {
    /// Validates `settings` and builds the HTTP client. Endpoints given by IP literal are
    /// checked against the SSRF guard here; host names are checked at each resolution.
    pub fn new(settings: InvokerSettings) -> Result<Self, ConfigError> {
        if settings.attempts == 0 {
            return Err(ConfigError::Invalid(
                "lambda attempts must be at least 1".into(),
            ));
        }
        if settings.timeout.is_zero() {
            return Err(ConfigError::Invalid(
                "lambda timeout must be more than 0".into(),
            ));
        }
        if let Some(region) = &settings.region
            && !arn::is_region(region)
        {
            return Err(ConfigError::Invalid(format!(
                "lambda region {region:?} does not look like an AWS region (e.g. us-east-1)"
            )));
        }
        let credentials = match settings.credentials {
            None => None,
            Some(c) if c.access_key_id.is_empty() || c.secret_access_key.is_empty() => {
                return Err(ConfigError::Invalid(
                    "lambda credentials need both an access key id and a secret access key".into(),
                ));
            }
            Some(c) => Some(Credentials::new(
                c.access_key_id,
                c.secret_access_key,
                c.session_token.filter(|t| !t.is_empty()),
                None,
                "tessera-configuration",
            )),
        };
        let allow_private = settings.allow_private;
        let endpoint = settings
            .endpoint
            .as_deref()
            .filter(|e| !e.is_empty())
            .map(|e| Endpoint::parse("the default lambda endpoint", e, allow_private))
            .transpose()?;
        let mut functions = HashMap::new();
        for (key, route) in settings.functions {
            let which = format!("lambda function {key}");
            let endpoint = route
                .endpoint
                .as_deref()
                .filter(|e| !e.is_empty())
                .map(|e| Endpoint::parse(&which, e, allow_private))
                .transpose()?;
            if route.name.as_deref().is_some_and(str::is_empty) {
                return Err(ConfigError::Invalid(format!(
                    "{which}: name must not be empty"
                )));
            }
            functions.insert(
                key,
                Route {
                    endpoint,
                    name: route.name,
                },
            );
        }
        let client = tessera_outbound::client_builder(allow_private)
            .connect_timeout(settings.timeout)
            .build()
            .map_err(|e| ConfigError::Client(error_chain(&e)))?;
        Ok(Self {
            inner: Arc::new(Inner {
                client,
                endpoint,
                functions,
                region: settings.region,
                credentials,
                timeout: settings.timeout,
                attempts: settings.attempts,
                backoff: settings.backoff,
                payload_limit: settings.payload_limit,
            }),
        })
    }

    /// Whether any function can be invoked at all: an endpoint is configured, or credentials
    /// to call AWS Lambda.
    pub fn is_configured(&self) -> bool {
        let inner = &self.inner;
        inner.endpoint.is_some()
            || inner.credentials.is_some()
            || inner.functions.values().any(|r| r.endpoint.is_some())
    }

    /// One line for the startup log: where functions are invoked.
    pub fn summary(&self) -> String {
        let inner = &self.inner;
        let mut parts = vec![match (&inner.endpoint, &inner.credentials) {
            (Some(e), _) => e.origin.clone(),
            (None, Some(_)) => "AWS Lambda (the region of each function ARN)".to_string(),
            (None, None) => "no default endpoint".to_string(),
        }];
        let routes = inner.functions.len();
        if routes > 0 {
            parts.push(format!(
                "{routes} per-function route{}",
                if routes == 1 { "" } else { "s" }
            ));
        }
        if inner.credentials.is_some() {
            parts.push("SigV4-signed".into());
        }
        parts.join(", ")
    }

    fn resolve(&self, function: &str) -> Result<Target, InvokeError> {
        let inner = &self.inner;
        let arn = FunctionArn::parse(function);
        let route = inner
            .functions
            .get(function)
            .or_else(|| arn.as_ref().and_then(|a| inner.functions.get(a.name)));
        let name = route.and_then(|r| r.name.as_deref()).unwrap_or(function);
        let signing_region = arn
            .as_ref()
            .map(|a| a.region.to_string())
            .or_else(|| inner.region.clone());
        let (base, origin) = match route
            .and_then(|r| r.endpoint.as_ref())
            .or(inner.endpoint.as_ref())
        {
            Some(e) => (e.base.clone(), e.origin.clone()),
            None => {
                // An unsigned call to AWS can only be refused, after sending it the event.
                if inner.credentials.is_none() {
                    return Err(InvokeError::Unavailable(format!(
                        "no function host is configured for {function} (configure a lambda \
                         endpoint, or AWS credentials to invoke it on AWS Lambda)"
                    )));
                }
                let aws = match &arn {
                    Some(a) => a.aws_endpoint(),
                    None => inner
                        .region
                        .as_deref()
                        .and_then(|r| arn::aws_endpoint("aws", r)),
                };
                let base = aws.ok_or_else(|| {
                    InvokeError::Unavailable(format!(
                        "no function host is configured for {function} and it names no AWS \
                         Lambda region"
                    ))
                })?;
                (base.clone(), base)
            }
        };
        Ok(Target {
            url: format!(
                "{base}/2015-03-31/functions/{}/invocations",
                encode_path_segment(name)
            ),
            origin,
            signing_region,
        })
    }

    async fn call(
        &self,
        function: &str,
        event: &Value,
        kind: InvocationType,
    ) -> Result<Option<Value>, CallError> {
        let span = tracing::info_span!(
            "lambda_invoke",
            function,
            invocation_type = kind.as_str(),
            endpoint = tracing::field::Empty,
        );
        async move {
            let started = Instant::now();
            let result = self.call_with_retries(function, event, kind).await;
            let latency_ms = u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX);
            match &result {
                Ok((_, attempts)) => {
                    tracing::debug!(outcome = "ok", attempts, latency_ms, "function invoked");
                }
                Err((CallError::Invoke(InvokeError::Function(message)), attempts)) => {
                    tracing::debug!(
                        outcome = "function_error",
                        attempts,
                        latency_ms,
                        error = %message,
                        "function raised an error"
                    );
                }
                Err((CallError::Invoke(e @ InvokeError::InvalidResponse(_)), attempts)) => {
                    tracing::warn!(
                        outcome = "invalid_response",
                        attempts,
                        latency_ms,
                        error = %e,
                        "function answered with something unusable"
                    );
                }
                Err((CallError::Invoke(e @ InvokeError::Unavailable(_)), attempts)) => {
                    tracing::warn!(
                        outcome = "unavailable",
                        attempts,
                        latency_ms,
                        error = %e,
                        "function could not be invoked"
                    );
                }
                Err((CallError::NotImplemented(reason), attempts)) => {
                    tracing::debug!(
                        outcome = "not_implemented",
                        attempts,
                        latency_ms,
                        reason = %reason,
                        "the function host does not take this invocation type"
                    );
                }
            }
            result.map(|(value, _)| value).map_err(|(e, _)| e)
        }
        .instrument(span)
        .await
    }

    /// The answer or the error, each with the number of attempts made.
    async fn call_with_retries(
        &self,
        function: &str,
        event: &Value,
        kind: InvocationType,
    ) -> Result<(Option<Value>, u32), (CallError, u32)> {
        let inner = &self.inner;
        let target = self
            .resolve(function)
            .map_err(|e| (CallError::Invoke(e), 0))?;
        tracing::Span::current().record("endpoint", target.origin.as_str());
        let body = serde_json::to_vec(event).map_err(|e| {
            let e = InvokeError::Unavailable(format!("cannot serialize the event: {e}"));
            (CallError::Invoke(e), 0)
        })?;
        if body.len() > inner.payload_limit {
            let e = InvokeError::Unavailable(format!(
                "the event for {function} is {} bytes, more than the {}-byte invocation limit",
                body.len(),
                inner.payload_limit
            ));
            return Err((CallError::Invoke(e), 0));
        }
        let mut last = String::new();
        for attempt in 1..=inner.attempts {
            if attempt > 1 {
                tokio::time::sleep(self.backoff_before(attempt)).await;
            }
            match self.attempt(function, &target, &body, kind).await {
                Attempt::Done(Ok(value)) => return Ok((value, attempt)),
                Attempt::Done(Err(e)) => return Err((CallError::Invoke(e), attempt)),
                Attempt::NotImplemented(reason) => {
                    return Err((CallError::NotImplemented(reason), attempt));
                }
                Attempt::Retry(reason) => {
                    tracing::debug!(attempt, reason = %reason, "invocation attempt failed");
                    last = reason;
                }
            }
        }
        let e = InvokeError::Unavailable(format!(
            "{function} gave no answer after {} attempt{} at {}: {last}",
            inner.attempts,
            if inner.attempts == 1 { "" } else { "s" },
            target.origin,
        ));
        Err((CallError::Invoke(e), inner.attempts))
    }

    /// `backoff` before the second attempt, doubling for each later one, at most
    /// [`MAX_BACKOFF`].
    fn backoff_before(&self, attempt: u32) -> Duration {
        let doublings = attempt.saturating_sub(2).min(16);
        self.inner
            .backoff
            .saturating_mul(1 << doublings)
            .min(MAX_BACKOFF)
    }

    async fn attempt(
        &self,
        function: &str,
        target: &Target,
        body: &[u8],
        kind: InvocationType,
    ) -> Attempt {
        let inner = &self.inner;
        let content_type = "application/json";
        let mut request = inner
            .client
            .post(&target.url)
            .timeout(inner.timeout)
            .header(CONTENT_TYPE, content_type)
            .header(INVOCATION_TYPE_HEADER, kind.as_str())
            .body(body.to_vec());
        if let Some(credentials) = &inner.credentials {
            let Some(region) = target.signing_region.as_deref() else {
                return Attempt::Done(Err(InvokeError::Unavailable(format!(
                    "no region to sign the invocation of {function} with (configure a lambda \
                     region or name the function by ARN)"
                ))));
            };
            let signed = signing::signature_headers(
                credentials,
                "lambda",
                region,
                SystemTime::now(),
                &target.url,
                &[
                    ("content-type", content_type),
                    (INVOCATION_TYPE_HEADER, kind.as_str()),
                ],
                body,
            );
            match signed {
                Ok(headers) => {
                    for (name, value) in headers {
                        request = request.header(name, value);
                    }
                }
                Err(e) => {
                    return Attempt::Done(Err(InvokeError::Unavailable(format!(
                        "cannot sign the invocation of {function}: {e}"
                    ))));
                }
            }
        }
        let response = match request.send().await {
            Ok(response) => response,
            Err(e) => return self.send_failure(function, e),
        };
        let status = response.status();
        if status.is_success() {
            return match kind {
                // RIE runs the function and answers 200 with its output; AWS answers 202.
                InvocationType::Event => Attempt::Done(Ok(None)),
                InvocationType::RequestResponse => self.read_output(function, response).await,
            };
        }
        let detail = host_error_detail(response).await;
        let message = format!("the function host answered {detail} for {function}");
        if status == StatusCode::NOT_IMPLEMENTED {
            Attempt::NotImplemented(message)
        } else if status == StatusCode::TOO_MANY_REQUESTS || status.is_server_error() {
            Attempt::Retry(format!("answered {detail}"))
        } else {
            // 404 ResourceNotFoundException, 403 AccessDenied, 400, 413, a redirect (not followed):
            // asking again won't change the answer.
            Attempt::Done(Err(InvokeError::Unavailable(message)))
        }
    }

    fn send_failure(&self, function: &str, e: reqwest::Error) -> Attempt {
        let e = e.without_url();
        if tessera_outbound::is_refusal(&e) {
            Attempt::Done(Err(InvokeError::Unavailable(format!(
                "invoking {function} refused: {}",
                error_chain(&e)
            ))))
        } else if e.is_builder() {
            Attempt::Done(Err(InvokeError::Unavailable(format!(
                "cannot build the invocation of {function}: {}",
                error_chain(&e)
            ))))
        } else if e.is_timeout() {
            Attempt::Retry(self.timed_out())
        } else {
            // Connection refused or reset, DNS failure, TLS failure.
            Attempt::Retry(format!("unreachable: {}", error_chain(&e)))
        }
    }

    fn timed_out(&self) -> String {
        format!("timed out after {} ms", self.inner.timeout.as_millis())
    }

    async fn read_output(&self, function: &str, mut response: reqwest::Response) -> Attempt {
        let limit = self.inner.payload_limit;
        let too_large = || {
            Attempt::Done(Err(InvokeError::InvalidResponse(format!(
                "the output of {function} is larger than {limit} bytes"
            ))))
        };
        let function_error = response
            .headers()
            .get(FUNCTION_ERROR_HEADER)
            .map(|v| String::from_utf8_lossy(v.as_bytes()).into_owned());
        if response.content_length().is_some_and(|n| n > limit as u64) {
            return too_large();
        }
        let mut bytes = Vec::new();
        loop {
            match response.chunk().await {
                Ok(Some(chunk)) => {
                    if bytes.len() + chunk.len() > limit {
                        return too_large();
                    }
                    bytes.extend_from_slice(&chunk);
                }
                Ok(None) => break,
                Err(e) if e.is_timeout() => return Attempt::Retry(self.timed_out()),
                Err(e) => {
                    return Attempt::Retry(format!(
                        "the answer was cut short: {}",
                        error_chain(&e.without_url())
                    ));
                }
            }
        }
        Attempt::Done(classify_output(function_error.as_deref(), &bytes).map(Some))
    }
}

/// A function's 200 answer: its output, or the error it raised.
///
/// Lambda marks errors with `X-Amz-Function-Error` and an `{"errorMessage", "errorType", …}`
/// payload. Emulators may leave the header out, so an object with `errorMessage` and
/// `errorType` and neither `triggerSource` nor `response` (which every trigger's answer, being
/// the event it was given, has) is taken for an error too.
fn classify_output(function_error: Option<&str>, bytes: &[u8]) -> Result<Value, InvokeError> {
    let parsed = serde_json::from_slice::<Value>(bytes);
    if let Some(kind) = function_error {
        let message = parsed
            .as_ref()
            .ok()
            .and_then(error_message)
            .unwrap_or_else(|| {
                let text = excerpt(bytes);
                if text.is_empty() {
                    format!("{kind} function error")
                } else {
                    text
                }
            });
        return Err(InvokeError::Function(message));
    }
    let value = parsed.map_err(|e| {
        InvokeError::InvalidResponse(if bytes.iter().all(u8::is_ascii_whitespace) {
            "the function's output is empty".to_string()
        } else {
            format!(
                "the function's output is not a JSON document ({e}); it begins {:?}",
                excerpt(bytes)
            )
        })
    })?;
    let is_error = value.as_object().is_some_and(|o| {
        o.contains_key("errorMessage")
            && o.contains_key("errorType")
            && !o.contains_key("triggerSource")
            && !o.contains_key("response")
    });
    if is_error {
        return Err(InvokeError::Function(
            error_message(&value).unwrap_or_default(),
        ));
    }
    Ok(value)
}

/// `errorMessage` (or, lacking one, `errorType`) of an error payload.
fn error_message(payload: &Value) -> Option<String> {
    let field = |key: &str| match payload.get(key) {
        None | Some(Value::Null) => None,
        Some(Value::String(s)) => Some(s.clone()),
        Some(other) => Some(other.to_string()),
    };
    field("errorMessage").or_else(|| field("errorType"))
}

/// "404 Not Found (ResourceNotFoundException: Function not found: …)" from an error answer.
async fn host_error_detail(mut response: reqwest::Response) -> String {
    let status = response.status();
    // Lambda: `x-amzn-ErrorType: ResourceNotFoundException:http://internal.amazon.com/…`.
    let error_type = response
        .headers()
        .get("x-amzn-errortype")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(':').next())
        .map(str::to_string)
        .filter(|t| !t.is_empty());
    let mut bytes = Vec::new();
    while bytes.len() < ERROR_BODY_LIMIT {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    bytes.truncate(ERROR_BODY_LIMIT);
    // Lambda: `{"Type": "User", "Message": "…"}`; sam local and others vary the case.
    let message = serde_json::from_slice::<Value>(&bytes)
        .ok()
        .and_then(|v| {
            ["Message", "message", "errorMessage"]
                .iter()
                .find_map(|k| v.get(*k).and_then(Value::as_str).map(str::to_string))
        })
        .map(|m| excerpt(m.as_bytes()))
        .unwrap_or_else(|| excerpt(&bytes));
    match (error_type, message.is_empty()) {
        (Some(t), false) => format!("{status} ({t}: {message})"),
        (Some(t), true) => format!("{status} ({t})"),
        (None, false) => format!("{status} ({message})"),
        (None, true) => status.to_string(),
    }
}

/// The start of `bytes` as one line of text, for messages.
fn excerpt(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(bytes);
    let mut out: String = text
        .chars()
        .take(EXCERPT_CHARS)
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    if text.chars().nth(EXCERPT_CHARS).is_some() {
        out.push('…');
    }
    out.trim().to_string()
}

/// Percent-encodes everything but RFC 3986's unreserved characters, so a function ARN
/// (`arn:aws:lambda:…:function:name:qualifier`) or any configured name is one path segment.
fn encode_path_segment(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[async_trait::async_trait]
impl TriggerInvoker for LambdaInvoker {
    async fn invoke(&self, function: &str, event: &Value) -> Result<Value, InvokeError> {
        match self
            .call(function, event, InvocationType::RequestResponse)
            .await
        {
            Ok(value) => Ok(value.unwrap_or(Value::Null)),
            Err(CallError::Invoke(e)) => Err(e),
            Err(CallError::NotImplemented(message)) => Err(InvokeError::Unavailable(message)),
        }
    }

    async fn invoke_async(&self, function: &str, event: &Value) -> Result<(), InvokeError> {
        match self.call(function, event, InvocationType::Event).await {
            Ok(_) => Ok(()),
            Err(CallError::Invoke(e)) => Err(e),
            // `sam local start-lambda` only does RequestResponse: run the function that way
            // rather than never.
            Err(CallError::NotImplemented(_)) => self.invoke(function, event).await.map(|_| ()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn path_segments_are_encoded() {
        assert_eq!(
            encode_path_segment("arn:aws:lambda:us-east-1:123456789012:function:f:live"),
            "arn%3Aaws%3Alambda%3Aus-east-1%3A123456789012%3Afunction%3Af%3Alive"
        );
        assert_eq!(encode_path_segment("my_fn-1.x~"), "my_fn-1.x~");
        assert_eq!(encode_path_segment("a/../b c"), "a%2F..%2Fb%20c");
    }

    #[test]
    fn outputs() {
        let event = json!({"triggerSource": "PreSignUp_SignUp", "response": {}});
        assert_eq!(
            classify_output(None, event.to_string().as_bytes()),
            Ok(event)
        );
        assert_eq!(classify_output(None, b"null"), Ok(Value::Null));
        assert!(matches!(
            classify_output(None, b"Task timed out after 3.00 seconds"),
            Err(InvokeError::InvalidResponse(m)) if m.contains("Task timed out")
        ));
        assert!(matches!(
            classify_output(None, b""),
            Err(InvokeError::InvalidResponse(m)) if m.contains("empty")
        ));
    }

    #[test]
    fn function_errors() {
        let payload = br#"{"errorMessage":"nope","errorType":"Error","stackTrace":[]}"#;
        assert_eq!(
            classify_output(Some("Unhandled"), payload),
            Err(InvokeError::Function("nope".into()))
        );
        // Without the header (the runtime interface emulator).
        assert_eq!(
            classify_output(None, payload),
            Err(InvokeError::Function("nope".into()))
        );
        // A trigger's answer that happens to carry such keys is still an answer.
        let answer = json!({"errorMessage": "x", "errorType": "y", "response": {}});
        assert_eq!(
            classify_output(None, answer.to_string().as_bytes()),
            Ok(answer)
        );
        // With the header, whatever came is the error.
        assert_eq!(
            classify_output(Some("Unhandled"), b"boom"),
            Err(InvokeError::Function("boom".into()))
        );
        assert_eq!(
            classify_output(Some("Handled"), b""),
            Err(InvokeError::Function("Handled function error".into()))
        );
        assert_eq!(
            classify_output(Some("Unhandled"), br#"{"errorType":"Runtime.ExitError"}"#),
            Err(InvokeError::Function("Runtime.ExitError".into()))
        );
    }

    fn invoker(settings: InvokerSettings) -> LambdaInvoker {
        LambdaInvoker::new(settings).unwrap()
    }

    fn url_of(i: &LambdaInvoker, function: &str) -> Result<String, InvokeError> {
        i.resolve(function).map(|t| t.url)
    }

    #[test]
    fn endpoint_resolution() {
        let arn = "arn:aws:lambda:eu-west-1:123456789012:function:pre";
        let mut settings = InvokerSettings {
            endpoint: Some("http://functions.example.com:3001/".into()),
            ..InvokerSettings::default()
        };
        settings.functions.insert(
            "custom".into(),
            crate::FunctionRoute {
                endpoint: Some("https://other.example.com/base".into()),
                name: Some("function".into()),
            },
        );
        settings.functions.insert(
            "pre".into(),
            crate::FunctionRoute {
                endpoint: None,
                name: Some("PreSignUpFunction".into()),
            },
        );
        let i = invoker(settings);
        assert_eq!(
            url_of(&i, "custom").unwrap(),
            "https://other.example.com/base/2015-03-31/functions/function/invocations"
        );
        // By the name inside the ARN; the default endpoint.
        assert_eq!(
            url_of(&i, arn).unwrap(),
            "http://functions.example.com:3001/2015-03-31/functions/PreSignUpFunction/invocations"
        );
        assert_eq!(
            url_of(&i, "arn:aws:lambda:eu-west-1:123456789012:function:post").unwrap(),
            "http://functions.example.com:3001/2015-03-31/functions/\
             arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Apost/invocations"
        );
    }

    #[test]
    fn aws_lambda_only_with_credentials() {
        let arn = "arn:aws:lambda:eu-west-1:123456789012:function:pre";
        let none = invoker(InvokerSettings::default());
        assert!(!none.is_configured());
        assert!(matches!(
            url_of(&none, arn),
            Err(InvokeError::Unavailable(_))
        ));
        let signed = invoker(InvokerSettings {
            region: Some("us-east-2".into()),
            credentials: Some(crate::AwsCredentials {
                access_key_id: "AKIDEXAMPLE".into(),
                secret_access_key: "secret".into(),
                session_token: None,
            }),
            ..InvokerSettings::default()
        });
        assert!(signed.is_configured());
        assert_eq!(
            url_of(&signed, arn).unwrap(),
            "https://lambda.eu-west-1.amazonaws.com/2015-03-31/functions/\
             arn%3Aaws%3Alambda%3Aeu-west-1%3A123456789012%3Afunction%3Apre/invocations"
        );
        assert_eq!(
            url_of(&signed, "by-name").unwrap(),
            "https://lambda.us-east-2.amazonaws.com/2015-03-31/functions/by-name/invocations"
        );
        let target = signed.resolve(arn).unwrap();
        assert_eq!(target.signing_region.as_deref(), Some("eu-west-1"));
    }

    #[test]
    fn bad_settings_are_refused() {
        let bad = |s: InvokerSettings| LambdaInvoker::new(s).is_err();
        assert!(bad(InvokerSettings {
            attempts: 0,
            ..InvokerSettings::default()
        }));
        assert!(bad(InvokerSettings {
            timeout: Duration::ZERO,
            ..InvokerSettings::default()
        }));
        assert!(bad(InvokerSettings {
            region: Some("evil.example.com/".into()),
            ..InvokerSettings::default()
        }));
        for endpoint in [
            "ftp://example.com",
            "example.com:3001",
            "http://example.com/?x=1",
            "http://user:pw@example.com/",
        ] {
            assert!(
                matches!(
                    LambdaInvoker::new(InvokerSettings {
                        endpoint: Some(endpoint.into()),
                        ..InvokerSettings::default()
                    }),
                    Err(ConfigError::InvalidEndpoint { .. })
                ),
                "{endpoint}"
            );
        }
    }

    #[test]
    fn internal_endpoints_need_allow_private() {
        for endpoint in [
            "http://127.0.0.1:3001",
            "http://[::1]:9000",
            "http://10.0.0.7",
        ] {
            let settings = InvokerSettings {
                endpoint: Some(endpoint.into()),
                ..InvokerSettings::default()
            };
            assert!(
                matches!(
                    LambdaInvoker::new(settings.clone()),
                    Err(ConfigError::ForbiddenAddress { .. })
                ),
                "{endpoint}"
            );
            assert!(
                LambdaInvoker::new(InvokerSettings {
                    allow_private: true,
                    ..settings
                })
                .is_ok()
            );
        }
        let mut settings = InvokerSettings::default();
        settings.functions.insert(
            "f".into(),
            crate::FunctionRoute {
                endpoint: Some("http://169.254.169.254/".into()),
                name: None,
            },
        );
        assert!(matches!(
            LambdaInvoker::new(settings),
            Err(ConfigError::ForbiddenAddress { .. })
        ));
    }

    #[test]
    fn backoff_doubles_up_to_a_cap() {
        let i = invoker(InvokerSettings::default());
        assert_eq!(i.backoff_before(2), Duration::from_millis(100));
        assert_eq!(i.backoff_before(3), Duration::from_millis(200));
        assert_eq!(i.backoff_before(30), MAX_BACKOFF);
    }
}
