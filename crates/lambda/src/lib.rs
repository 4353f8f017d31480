//! Lambda-compatible triggers for Tessera, the outbound half: the engine builds each trigger's
//! event and applies its answer; [`LambdaInvoker`] carries the event to the function named in
//! the pool's LambdaConfig through the AWS Lambda Invoke API. Speaking that API rather than a
//! protocol of our own means a function served by AWS Lambda, `sam local start-lambda`, the
//! Lambda runtime interface emulator or LocalStack works unchanged.

mod arn;
mod invoker;
mod settings;
mod signing;
#[cfg(feature = "testing")]
pub mod testing;

pub use invoker::{FUNCTION_ERROR_HEADER, INVOCATION_TYPE_HEADER, InvocationType, LambdaInvoker};
pub use settings::{
    AwsCredentials, ConfigError, DEFAULT_ATTEMPTS, DEFAULT_BACKOFF, DEFAULT_PAYLOAD_LIMIT,
    DEFAULT_TIMEOUT, FunctionRoute, InvokerSettings,
};
pub use signing::sign_post;
