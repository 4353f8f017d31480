//! cognito-identity handlers: wire shapes in, engine calls, wire shapes out.

pub mod identities;
pub mod openid;
pub mod pools;

use crate::error::ApiError;
use serde::Serialize;
use serde::de::DeserializeOwned;

pub(crate) type ApiResult<T> = Result<T, ApiError>;

/// Between a wire shape and a domain shape that spell their members the same (Cognito's
/// names), through JSON.
pub(crate) fn convert<A: Serialize, B: DeserializeOwned>(value: &A) -> ApiResult<B> {
    serde_json::to_value(value)
        .and_then(serde_json::from_value)
        .map_err(|e| {
            tracing::error!(error = %e, "wire conversion failed");
            ApiError::internal()
        })
}

pub(crate) fn ts(t: tessera_domain::Timestamp) -> tessera_wire::Timestamp {
    tessera_wire::Timestamp::from_millis(t.millis())
}
