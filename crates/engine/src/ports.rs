//! The engine's view of the outside world that isn't storage.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, Ordering};
use tessera_domain::Timestamp;

pub trait Clock: Send + Sync + 'static {
    fn now(&self) -> Timestamp;
}

#[derive(Clone, Copy, Debug, Default)]
pub struct SystemClock;

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        let ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Timestamp::from_millis(ms)
    }
}

/// A clock tests move by hand, so expiry and lockout are tested without sleeping.
#[derive(Clone, Debug)]
pub struct ManualClock {
    ms: Arc<AtomicI64>,
}

impl ManualClock {
    pub fn new(start: Timestamp) -> Self {
        Self {
            ms: Arc::new(AtomicI64::new(start.millis())),
        }
    }

    /// Starts at the real current time.
    pub fn starting_now() -> Self {
        Self::new(SystemClock.now())
    }

    pub fn advance(&self, d: std::time::Duration) {
        self.ms.fetch_add(d.as_millis() as i64, Ordering::SeqCst);
    }
}

impl Clock for ManualClock {
    fn now(&self) -> Timestamp {
        Timestamp::from_millis(self.ms.load(Ordering::SeqCst))
    }
}

/// Why a message wasn't delivered.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DeliveryError {
    /// Worth retrying later (connection refused, 4xx from SMTP, timeout, 5xx from a webhook).
    #[error("temporary delivery failure: {0}")]
    Transient(String),
    /// Retrying won't help (address rejected, 4xx from a webhook, no such channel).
    #[error("permanent delivery failure: {0}")]
    Permanent(String),
}

/// Sends messages from the outbox. Implementations live outside the engine (SMTP, SMS webhook);
/// the engine only decides what to send and records the outcome.
#[async_trait::async_trait]
pub trait Messenger: Send + Sync + 'static {
    /// Whether this messenger can deliver on `channel` at all.
    fn supports(&self, channel: tessera_domain::messages::Channel) -> bool;
    async fn send(
        &self,
        message: &tessera_domain::messages::OutboundMessage,
    ) -> Result<(), DeliveryError>;
}

/// Why a trigger function gave no usable answer.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvokeError {
    /// The function ran and raised an error (Lambda's `X-Amz-Function-Error`); the message is
    /// its `errorMessage`. Cognito: UserLambdaValidationException.
    #[error("function error: {0}")]
    Function(String),
    /// The function answered with something that isn't a JSON document.
    /// Cognito: InvalidLambdaResponseException.
    #[error("unrecognizable function output: {0}")]
    InvalidResponse(String),
    /// No answer after the retries: unreachable, timed out, throttled, refused by the SSRF
    /// guard, or no endpoint for the function. Cognito: UnexpectedLambdaException.
    #[error("function unavailable: {0}")]
    Unavailable(String),
}

/// Invokes the functions a pool's LambdaConfig names (Lambda's Invoke API, or anything that
/// speaks it). The engine builds the events and applies the responses; this only carries them.
#[async_trait::async_trait]
pub trait TriggerInvoker: Send + Sync + 'static {
    /// A synchronous (RequestResponse) invocation of `function` — the ARN or name from the
    /// pool's LambdaConfig — with `event`; returns the function's output document.
    async fn invoke(
        &self,
        function: &str,
        event: &serde_json::Value,
    ) -> Result<serde_json::Value, InvokeError>;

    /// An asynchronous (Event) invocation, as Cognito makes for the custom sender triggers:
    /// Ok once the function's host has accepted the event.
    async fn invoke_async(
        &self,
        function: &str,
        event: &serde_json::Value,
    ) -> Result<(), InvokeError>;
}
