//! Password hashing off the async executor, at most `concurrency` at a time.
//!
//! Each argon2id computation holds ~19 MiB and ~15–30 ms of CPU; the semaphore bounds both memory
//! and the queue's effect on the rest of the server.

use crate::error::EngineResult;
use std::sync::Arc;
use tessera_crypto::password::{HashCost, PasswordHasher, Verified};
use tokio::sync::Semaphore;

#[derive(Clone)]
pub(crate) struct Hasher {
    hasher: Arc<PasswordHasher>,
    permits: Arc<Semaphore>,
}

impl Hasher {
    pub fn new(cost: HashCost, concurrency: usize) -> EngineResult<Self> {
        Ok(Self {
            hasher: Arc::new(PasswordHasher::new(cost)?),
            permits: Arc::new(Semaphore::new(concurrency.max(1))),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&PasswordHasher) -> T + Send + 'static,
    ) -> EngineResult<T> {
        let mut slot = crate::telemetry::HashSlot::queue();
        let _permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| crate::EngineError::Internal("hasher closed".into()))?;
        slot.start();
        let hasher = self.hasher.clone();
        Ok(tokio::task::spawn_blocking(move || f(&hasher)).await?)
    }

    pub async fn hash(&self, password: &str) -> EngineResult<String> {
        let password = password.to_string();
        Ok(self.run(move |h| h.hash(&password)).await??)
    }

    pub async fn verify(&self, password: &str, phc: &str) -> EngineResult<Verified> {
        let (password, phc) = (password.to_string(), phc.to_string());
        self.run(move |h| h.verify(&password, &phc)).await
    }

    /// The work of a verification, for users that don't exist (no timing difference).
    pub async fn verify_decoy(&self, password: &str) -> EngineResult<()> {
        let password = password.to_string();
        self.run(move |h| h.verify_decoy(&password)).await
    }
}
