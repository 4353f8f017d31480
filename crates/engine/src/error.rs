//! The engine's error: what the client is told (a [`DomainError`]), or an internal failure that
//! is logged in full and reported to the client only as `InternalErrorException`.

use tessera_domain::{DomainError, ErrorKind};
use tessera_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    #[error(transparent)]
    Client(#[from] DomainError),
    #[error("storage contention, retry")]
    Contended,
    #[error("internal error: {0}")]
    Internal(String),
}

pub type EngineResult<T> = Result<T, EngineError>;

impl EngineError {
    pub fn kind(&self) -> ErrorKind {
        match self {
            EngineError::Client(e) => e.kind,
            EngineError::Contended => ErrorKind::TooManyRequests,
            EngineError::Internal(_) => ErrorKind::InternalError,
        }
    }
}

impl From<StoreError> for EngineError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Contended => EngineError::Contended,
            StoreError::WritesPaused => EngineError::Client(DomainError::new(
                ErrorKind::OperationNotEnabled,
                crate::recovery::WRITES_PAUSED,
            )),
            other => EngineError::Internal(other.to_string()),
        }
    }
}

impl From<tessera_crypto::CryptoError> for EngineError {
    fn from(e: tessera_crypto::CryptoError) -> Self {
        EngineError::Internal(e.to_string())
    }
}

impl From<tokio::task::JoinError> for EngineError {
    fn from(e: tokio::task::JoinError) -> Self {
        EngineError::Internal(format!("blocking task failed: {e}"))
    }
}

/// A uniqueness conflict from the store becomes the given client error; anything else passes.
pub(crate) fn on_conflict(
    e: StoreError,
    map: impl FnOnce(&tessera_store::Conflict) -> Option<DomainError>,
) -> EngineError {
    if let StoreError::Conflict(c) = &e
        && let Some(d) = map(c)
    {
        return EngineError::Client(d);
    }
    e.into()
}
