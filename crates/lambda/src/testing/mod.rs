//! Test fixtures for crates that invoke triggers through this one (enable the `testing` feature
//! in their `[dev-dependencies]`): [`LambdaHost`], a small Lambda Invoke API server on
//! 127.0.0.1 whose functions are async closures registered by name. It records every
//! invocation and can be told to be slow, to fail, or to answer with arbitrary bytes.
//!
//! It panics when it cannot start, like an assertion: it is for tests only.

use crate::{FUNCTION_ERROR_HEADER, INVOCATION_TYPE_HEADER, InvocationType};
use axum::body::Bytes;
use axum::extract::{Path, State};
use axum::http::header::{CONNECTION, CONTENT_TYPE};
use axum::http::{HeaderMap, HeaderName, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use serde_json::{Value, json};
use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;
use tokio::sync::Notify;
use tokio::task::JoinHandle;

type Output = Pin<Box<dyn Future<Output = Result<Value, String>> + Send>>;
type Handler = Arc<dyn Fn(Value) -> Output + Send + Sync>;

/// One request that reached the host, as it arrived.
#[derive(Clone, Debug)]
pub struct Invocation {
    /// The FunctionName from the path, percent-decoded (an ARN arrives with its colons).
    pub function: String,
    /// From `X-Amz-Invocation-Type` (RequestResponse when absent, as Lambda defaults).
    pub invocation_type: InvocationType,
    /// The body as JSON, or as a JSON string when it isn't JSON.
    pub event: Value,
    /// The request path exactly as sent (percent-encoded), for checking signatures.
    pub path: String,
    /// Every header, names in lower case, in the order received.
    pub headers: Vec<(String, String)>,
    /// The body exactly as sent.
    pub body: Vec<u8>,
}

impl Invocation {
    /// The first value of header `name` (case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

enum Behaviour {
    Handler(Handler),
    Raw {
        status: u16,
        function_error: Option<String>,
        body: String,
    },
}

struct Function {
    behaviour: Behaviour,
    delay: Duration,
    failures: VecDeque<u16>,
}

#[derive(Default)]
struct HostState {
    functions: Mutex<HashMap<String, Function>>,
    invocations: Mutex<Vec<Invocation>>,
    arrived: Notify,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// A Lambda Invoke API host (`POST /2015-03-31/functions/{FunctionName}/invocations`) on a
/// free port of 127.0.0.1.
///
/// Functions are registered by the FunctionName the invoker will put in the path: the ARN as
/// a pool's LambdaConfig holds it, or a configured name. A handler returning `Err(message)`
/// raises a function error, answered the Lambda way: 200 with `X-Amz-Function-Error:
/// Unhandled` and `{"errorMessage": message, "errorType": "Error", …}`. An unknown function is
/// a 404 `ResourceNotFoundException`. `Event` invocations are answered 202 and run in the
/// background.
///
/// ```no_run
/// # use serde_json::json;
/// # use tessera_lambda::{InvokerSettings, LambdaInvoker, testing::LambdaHost};
/// # use tessera_engine::TriggerInvoker;
/// # async fn example() -> Result<(), Box<dyn std::error::Error>> {
/// let host = LambdaHost::start().await;
/// host.register("PreSignUp", |mut event| async move {
///     event["response"]["autoConfirmUser"] = json!(true);
///     Ok(event)
/// });
/// let invoker = LambdaInvoker::new(InvokerSettings {
///     endpoint: Some(host.endpoint()),
///     allow_private: true, // loopback
///     ..InvokerSettings::default()
/// })?;
/// let answer = invoker.invoke("PreSignUp", &json!({"response": {}})).await?;
/// assert_eq!(answer["response"]["autoConfirmUser"], true);
/// assert_eq!(host.invocations_of("PreSignUp").len(), 1);
/// # Ok(())
/// # }
/// ```
pub struct LambdaHost {
    port: u16,
    state: Arc<HostState>,
    server: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for LambdaHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LambdaHost")
            .field("port", &self.port)
            .finish()
    }
}

impl LambdaHost {
    /// Listens on a free port of 127.0.0.1.
    pub async fn start() -> LambdaHost {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", 0))
            .await
            .unwrap_or_else(|e| panic!("lambda host cannot listen: {e}"));
        let port = listener
            .local_addr()
            .unwrap_or_else(|e| panic!("lambda host has no local address: {e}"))
            .port();
        let state = Arc::new(HostState::default());
        let app = axum::Router::new()
            .route(
                "/2015-03-31/functions/{function}/invocations",
                axum::routing::post(invoke),
            )
            .fallback(not_found)
            .with_state(state.clone());
        let server = tokio::spawn(async move {
            if let Err(e) = axum::serve(listener, app).await {
                tracing::debug!(error = %e, "lambda host stopped");
            }
        });
        LambdaHost {
            port,
            state,
            server: Mutex::new(Some(server)),
        }
    }

    pub fn port(&self) -> u16 {
        self.port
    }

    /// `http://127.0.0.1:PORT`: the endpoint to configure the invoker with.
    pub fn endpoint(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// Serves `function` with `handler`, replacing what served it before (its delay and queued
    /// failures stay).
    pub fn register<F, Fut>(&self, function: &str, handler: F)
    where
        F: Fn(Value) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<Value, String>> + Send + 'static,
    {
        let handler: Handler = Arc::new(move |event| Box::pin(handler(event)));
        self.set_behaviour(function, Behaviour::Handler(handler));
    }

    /// Serves `function` with a fixed answer: `status`, the `X-Amz-Function-Error` header if
    /// given, and `body` as is — output that isn't JSON, an error payload without the header
    /// (as the runtime interface emulator sends), a host error.
    pub fn register_raw(
        &self,
        function: &str,
        status: u16,
        function_error: Option<&str>,
        body: &str,
    ) {
        self.set_behaviour(
            function,
            Behaviour::Raw {
                status,
                function_error: function_error.map(str::to_string),
                body: body.to_string(),
            },
        );
    }

    fn set_behaviour(&self, function: &str, behaviour: Behaviour) {
        let mut functions = lock(&self.state.functions);
        match functions.get_mut(function) {
            Some(f) => f.behaviour = behaviour,
            None => {
                functions.insert(
                    function.to_string(),
                    Function {
                        behaviour,
                        delay: Duration::ZERO,
                        failures: VecDeque::new(),
                    },
                );
            }
        }
    }

    /// Waits `delay` before answering each later invocation of `function` (to make the
    /// invoker time out). The function must be registered.
    pub fn respond_after(&self, function: &str, delay: Duration) {
        match lock(&self.state.functions).get_mut(function) {
            Some(f) => f.delay = delay,
            None => panic!("lambda host: respond_after({function:?}) before registering it"),
        }
    }

    /// Answers the next `times` invocations of `function` with `status` (429 as Lambda's
    /// TooManyRequestsException, 5xx as its ServiceException, others as a generic error)
    /// instead of running it. The function must be registered.
    pub fn fail_next(&self, function: &str, status: u16, times: usize) {
        match lock(&self.state.functions).get_mut(function) {
            Some(f) => f.failures.extend(std::iter::repeat_n(status, times)),
            None => panic!("lambda host: fail_next({function:?}) before registering it"),
        }
    }

    /// Every invocation so far, oldest first (including failed and timed-out ones).
    pub fn invocations(&self) -> Vec<Invocation> {
        lock(&self.state.invocations).clone()
    }

    /// The invocations of `function`, oldest first.
    pub fn invocations_of(&self, function: &str) -> Vec<Invocation> {
        lock(&self.state.invocations)
            .iter()
            .filter(|i| i.function == function)
            .cloned()
            .collect()
    }

    /// Waits until at least `n` invocations have arrived or `timeout` has passed, and returns
    /// all of them (fewer than `n` on timeout: assert on the length).
    pub async fn wait_for(&self, n: usize, timeout: Duration) -> Vec<Invocation> {
        let deadline = tokio::time::Instant::now() + timeout;
        loop {
            let notified = self.state.arrived.notified();
            tokio::pin!(notified);
            // Registered before the check, so an arrival in between still wakes us.
            notified.as_mut().enable();
            if lock(&self.state.invocations).len() >= n {
                break;
            }
            if tokio::time::timeout_at(deadline, notified).await.is_err() {
                break;
            }
        }
        self.invocations()
    }

    /// Stops listening; later invocations are refused.
    pub async fn stop(&self) {
        let server = lock(&self.server).take();
        if let Some(server) = server {
            server.abort();
            let _ = server.await;
        }
    }
}

impl Drop for LambdaHost {
    fn drop(&mut self) {
        if let Some(server) = lock(&self.server).take() {
            server.abort();
        }
    }
}

/// What the host does for one invocation, decided under the lock.
enum Plan {
    NotFound,
    Fail(u16),
    Run(Handler),
    Raw(u16, Option<String>, String),
}

async fn invoke(
    State(state): State<Arc<HostState>>,
    Path(function): Path<String>,
    uri: Uri,
    headers: HeaderMap,
    body: Bytes,
) -> Response {
    let invocation_type = match headers
        .get(INVOCATION_TYPE_HEADER)
        .and_then(|v| v.to_str().ok())
    {
        Some("Event") => InvocationType::Event,
        _ => InvocationType::RequestResponse,
    };
    let event = serde_json::from_slice(&body)
        .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()));
    lock(&state.invocations).push(Invocation {
        function: function.clone(),
        invocation_type,
        event: event.clone(),
        path: uri.path().to_string(),
        headers: headers
            .iter()
            .map(|(n, v)| {
                (
                    n.as_str().to_string(),
                    String::from_utf8_lossy(v.as_bytes()).into_owned(),
                )
            })
            .collect(),
        body: body.to_vec(),
    });
    state.arrived.notify_waiters();

    let (plan, delay) = {
        let mut functions = lock(&state.functions);
        match functions.get_mut(&function) {
            None => (Plan::NotFound, Duration::ZERO),
            Some(f) => {
                let plan = match (f.failures.pop_front(), &f.behaviour) {
                    (Some(status), _) => Plan::Fail(status),
                    (None, Behaviour::Handler(h)) => Plan::Run(h.clone()),
                    (
                        None,
                        Behaviour::Raw {
                            status,
                            function_error,
                            body,
                        },
                    ) => Plan::Raw(*status, function_error.clone(), body.clone()),
                };
                (plan, f.delay)
            }
        }
    };
    if !delay.is_zero() {
        tokio::time::sleep(delay).await;
    }
    match plan {
        Plan::NotFound => lambda_error(
            StatusCode::NOT_FOUND,
            "ResourceNotFoundException",
            &format!("Function not found: {function}"),
        ),
        Plan::Fail(status) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let error_type = if status == StatusCode::TOO_MANY_REQUESTS {
                "TooManyRequestsException"
            } else if status.is_server_error() {
                "ServiceException"
            } else {
                "InvalidRequestContentException"
            };
            lambda_error(status, error_type, "failure requested by the test")
        }
        Plan::Raw(status, function_error, body) => {
            let status = StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            let mut response = (status, body).into_response();
            if let Some(kind) = function_error.and_then(|k| HeaderValue::from_str(&k).ok()) {
                response
                    .headers_mut()
                    .insert(HeaderName::from_static(FUNCTION_ERROR_HEADER), kind);
            }
            close(response)
        }
        Plan::Run(handler) => match invocation_type {
            InvocationType::Event => {
                tokio::spawn(async move {
                    let _ = handler(event).await;
                });
                close(StatusCode::ACCEPTED.into_response())
            }
            InvocationType::RequestResponse => match handler(event).await {
                Ok(output) => close(json_response(StatusCode::OK, &output)),
                Err(message) => {
                    let mut response = json_response(
                        StatusCode::OK,
                        &json!({"errorMessage": message, "errorType": "Error", "stackTrace": []}),
                    );
                    response.headers_mut().insert(
                        HeaderName::from_static(FUNCTION_ERROR_HEADER),
                        HeaderValue::from_static("Unhandled"),
                    );
                    close(response)
                }
            },
        },
    }
}

async fn not_found() -> Response {
    lambda_error(
        StatusCode::NOT_FOUND,
        "UnknownOperationException",
        "not an Invoke API path",
    )
}

/// An error as Lambda's service answers it: `x-amzn-ErrorType` and `{"Type", "Message"}`.
fn lambda_error(status: StatusCode, error_type: &'static str, message: &str) -> Response {
    let mut response = json_response(status, &json!({"Type": "User", "Message": message}));
    response.headers_mut().insert(
        HeaderName::from_static("x-amzn-errortype"),
        HeaderValue::from_static(error_type),
    );
    close(response)
}

fn json_response(status: StatusCode, value: &Value) -> Response {
    let mut response = (status, value.to_string()).into_response();
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    response
}

/// No keep-alive: after `stop`, a client must not reach the host through a pooled connection.
fn close(mut response: Response) -> Response {
    response
        .headers_mut()
        .insert(CONNECTION, HeaderValue::from_static("close"));
    response
}
