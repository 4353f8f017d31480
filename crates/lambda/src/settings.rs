//! What an operator configures about the function host, and what can be wrong with it.

use std::collections::BTreeMap;
use std::time::Duration;

/// How long one attempt may take, as Cognito allows a trigger.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(5);
/// Attempts in total (the first and two retries), as Cognito makes.
pub const DEFAULT_ATTEMPTS: u32 = 3;
/// Lambda's limit on a synchronous invocation's request and response payloads.
pub const DEFAULT_PAYLOAD_LIMIT: usize = 6 * 1024 * 1024;
/// The wait before the first retry; it doubles for each later one.
pub const DEFAULT_BACKOFF: Duration = Duration::from_millis(100);

/// Where and how to invoke trigger functions. [`Default`] gives Cognito's timeout and attempts
/// and no endpoint at all (every invocation is then unavailable).
#[derive(Clone, Debug)]
pub struct InvokerSettings {
    /// The Invoke API host for every function without its own: `http://127.0.0.1:3001` for
    /// `sam local start-lambda`, `http://127.0.0.1:9000` for the runtime interface emulator.
    /// Without it (and without a per-function endpoint), a function named by ARN is invoked on
    /// AWS Lambda in the ARN's region, if credentials are configured.
    pub endpoint: Option<String>,
    /// Per-function overrides, keyed by the ARN or name exactly as a pool's LambdaConfig holds
    /// it (or by the function name inside such an ARN).
    pub functions: BTreeMap<String, FunctionRoute>,
    /// Signing region (and AWS region) for functions given by name rather than ARN.
    pub region: Option<String>,
    /// Sign every invocation with SigV4 (service `lambda`) using these.
    pub credentials: Option<AwsCredentials>,
    /// Per attempt: connecting, sending, the function running, reading its answer.
    pub timeout: Duration,
    /// Attempts in total on connection failures, timeouts, 429 and 5xx (at least 1).
    pub attempts: u32,
    /// The wait before the first retry; doubled before each later one.
    pub backoff: Duration,
    /// Largest event sent and largest output read, in bytes.
    pub payload_limit: usize,
    /// Let invocations reach private, loopback, link-local and other internal addresses.
    pub allow_private: bool,
}

impl Default for InvokerSettings {
    fn default() -> Self {
        Self {
            endpoint: None,
            functions: BTreeMap::new(),
            region: None,
            credentials: None,
            timeout: DEFAULT_TIMEOUT,
            attempts: DEFAULT_ATTEMPTS,
            backoff: DEFAULT_BACKOFF,
            payload_limit: DEFAULT_PAYLOAD_LIMIT,
            allow_private: false,
        }
    }
}

/// Where one function lives, overriding the defaults.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct FunctionRoute {
    /// Its Invoke API host; the default endpoint when `None`.
    pub endpoint: Option<String>,
    /// The FunctionName to put in the request path instead of the ARN or name from
    /// LambdaConfig: the runtime interface emulator serves `function`, `sam local` the
    /// template's logical id.
    pub name: Option<String>,
}

/// An access key to sign invocations with.
#[derive(Clone)]
pub struct AwsCredentials {
    pub access_key_id: String,
    pub secret_access_key: String,
    pub session_token: Option<String>,
}

impl std::fmt::Debug for AwsCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AwsCredentials")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"<redacted>")
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "<redacted>"),
            )
            .finish()
    }
}

/// The invoker could not be built from its settings (found at startup, not at invocation).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ConfigError {
    /// An endpoint isn't an `http://` or `https://` URL with a host and nothing after the path.
    #[error("invalid endpoint for {which}: {reason}")]
    InvalidEndpoint { which: String, reason: String },
    /// An endpoint names an internal address by IP literal and private addresses aren't allowed.
    #[error("refusing internal address {address} for {which} (allow private addresses to use it)")]
    ForbiddenAddress { which: String, address: String },
    /// A number or name out of range: no attempts, a zero timeout, an impossible region.
    #[error("{0}")]
    Invalid(String),
    /// The HTTP client could not be set up.
    #[error("HTTP client setup failed: {0}")]
    Client(String),
}
