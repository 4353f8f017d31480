//! Password hashing off the async executor, on `concurrency` threads of its own.
//!
//! Each argon2id computation holds ~19 MiB and ~15–30 ms of CPU. The threads are fixed and each
//! keeps its argon2 memory between computations ([`Workspace`]), so hashing's memory is
//! `concurrency × 19 MiB`, allocated once. (On tokio's blocking pool every hash allocated its
//! memory afresh on whichever thread ran it, and the allocator kept those 19 MiB blocks in
//! per-thread arenas: resident memory rose by that much for each arena sign-ins had touched.)
//! The semaphore bounds the work in flight to the threads' number, so a queued request waits
//! here, where the queue-time metric sees it.

use crate::error::EngineResult;
use std::sync::mpsc::{Receiver, Sender, channel};
use std::sync::{Arc, Mutex};
use tessera_crypto::password::{HashCost, PasswordHasher, Verified, Workspace};
use tokio::sync::{Semaphore, oneshot};

type Job = Box<dyn FnOnce(&PasswordHasher, &mut Workspace) + Send>;

#[derive(Clone)]
pub(crate) struct Hasher {
    jobs: Sender<Job>,
    permits: Arc<Semaphore>,
}

impl Hasher {
    pub fn new(cost: HashCost, concurrency: usize) -> EngineResult<Self> {
        let hasher = Arc::new(PasswordHasher::new(cost)?);
        let (jobs, queue) = channel::<Job>();
        let queue = Arc::new(Mutex::new(queue));
        let concurrency = concurrency.max(1);
        for n in 0..concurrency {
            let (hasher, queue) = (hasher.clone(), queue.clone());
            std::thread::Builder::new()
                .name(format!("tessera-hash-{n}"))
                .spawn(move || work(&hasher, &queue))
                .map_err(|e| crate::EngineError::Internal(format!("hashing thread: {e}")))?;
        }
        Ok(Self {
            jobs,
            permits: Arc::new(Semaphore::new(concurrency)),
        })
    }

    async fn run<T: Send + 'static>(
        &self,
        f: impl FnOnce(&PasswordHasher, &mut Workspace) -> T + Send + 'static,
    ) -> EngineResult<T> {
        let closed = || crate::EngineError::Internal("hasher closed".into());
        let mut slot = crate::telemetry::HashSlot::queue();
        let _permit = self.permits.acquire().await.map_err(|_| closed())?;
        slot.start();
        let (done, result) = oneshot::channel();
        self.jobs
            .send(Box::new(move |h, ws| {
                let _ = done.send(f(h, ws));
            }))
            .map_err(|_| closed())?;
        result.await.map_err(|_| closed())
    }

    pub async fn hash(&self, password: &str) -> EngineResult<String> {
        let password = password.to_string();
        Ok(self.run(move |h, ws| h.hash_in(&password, ws)).await??)
    }

    pub async fn verify(&self, password: &str, phc: &str) -> EngineResult<Verified> {
        let (password, phc) = (password.to_string(), phc.to_string());
        self.run(move |h, ws| h.verify_in(&password, &phc, ws))
            .await
    }

    /// The work of a verification, for users that don't exist (no timing difference).
    pub async fn verify_decoy(&self, password: &str) -> EngineResult<()> {
        let password = password.to_string();
        self.run(move |h, ws| h.verify_decoy_in(&password, ws))
            .await
    }
}

/// One hashing thread: takes jobs until every [`Hasher`] handle is gone.
fn work(hasher: &PasswordHasher, queue: &Mutex<Receiver<Job>>) {
    let mut workspace = Workspace::new();
    loop {
        let job = match queue.lock() {
            Ok(q) => q.recv(),
            Err(_) => return,
        };
        match job {
            Ok(job) => job(hasher, &mut workspace),
            Err(_) => return,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn hashes_and_verifies_run_on_the_pools_threads() {
        let h = Hasher::new(HashCost::InsecureFast, 2).unwrap_or_else(|e| panic!("{e}"));
        let phc = h.hash("Passw0rd!").await.unwrap_or_else(|e| panic!("{e}"));
        let checks: Vec<_> = (0..8)
            .map(|i| {
                let (h, phc) = (h.clone(), phc.clone());
                tokio::spawn(async move {
                    let pw = if i % 2 == 0 { "Passw0rd!" } else { "wrong" };
                    h.verify(pw, &phc).await.unwrap_or_else(|e| panic!("{e}"))
                })
            })
            .collect();
        for (i, check) in checks.into_iter().enumerate() {
            let r = check.await.unwrap_or_else(|e| panic!("{e}"));
            let expected = if i % 2 == 0 {
                Verified::Yes {
                    needs_rehash: false,
                }
            } else {
                Verified::No
            };
            assert_eq!(r, expected);
        }
        h.verify_decoy("anything")
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        drop(h);
    }
}
