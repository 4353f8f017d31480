//! What the admin console needs from the engine besides the API operations it runs: its session
//! cookie is sealed with the master key (so any node of a deployment opens any node's cookie and
//! nothing about a session lives in a node's memory), and its clock is the engine's.

use tessera_domain::Timestamp;

/// The AEAD purpose of console session cookies: no other sealed value opens as one.
const CONSOLE_SESSION_PURPOSE: &str = "tessera/console-session/v1";

impl crate::Engine {
    /// Seals a console session's bytes for its cookie.
    pub fn seal_console_session(&self, plain: &[u8]) -> Vec<u8> {
        self.inner.master.seal(CONSOLE_SESSION_PURPOSE, plain)
    }

    /// Opens what [`Self::seal_console_session`] sealed; `None` for anything else (tampered,
    /// another deployment's, another purpose's).
    pub fn open_console_session(&self, sealed: &[u8]) -> Option<Vec<u8>> {
        self.inner
            .master
            .open(CONSOLE_SESSION_PURPOSE, sealed)
            .ok()
            .map(|plain| plain.to_vec())
    }

    /// "Now" as the engine sees it (the injected clock), for console session timeouts.
    pub fn console_now(&self) -> Timestamp {
        self.now()
    }
}

use crate::error::{EngineError, EngineResult};
use crate::flow::AuthOutcome;
use std::collections::HashMap;
use std::sync::Mutex;
use tessera_domain::console::{self, ConsoleOperator, SignInCounts};
use tessera_domain::{DomainError, ErrorKind, UserPoolId};

/// What one sign-in step adds to its pool's hourly counts: tokens at the end of a sign-in (a
/// refresh is not one), a refused proof, or an attempt refused by the lockout; nothing for a
/// challenge on the way or any other error.
pub(crate) fn sign_in_effect(refresh: bool, outcome: &EngineResult<AuthOutcome>) -> SignInCounts {
    let mut c = SignInCounts::default();
    if refresh {
        return c;
    }
    match outcome {
        Ok(AuthOutcome::Tokens(_) | AuthOutcome::SignedIn { .. }) => c.sign_ins = 1,
        Ok(AuthOutcome::Challenge { .. }) => {}
        Err(EngineError::Client(e)) => match e.kind {
            ErrorKind::NotAuthorized if e.message == "Password attempts exceeded" => c.lockouts = 1,
            ErrorKind::NotAuthorized
            | ErrorKind::UserNotFound
            | ErrorKind::CodeMismatch
            | ErrorKind::ExpiredCode => c.failures = 1,
            _ => {}
        },
        Err(_) => {}
    }
    c
}

type Tallied = HashMap<(String, Timestamp), SignInCounts>;

/// Sign-in outcomes counted on this node and not yet in the store, by client id and hour.
#[derive(Debug, Default)]
pub(crate) struct SignInTally(Mutex<Tallied>);

/// Distinct (client, hour) pairs a tally holds; more (a flood of made-up client ids that
/// still reached an outcome) are not counted until the next flush.
const TALLY_LIMIT: usize = 10_000;

impl SignInTally {
    fn add(&self, client: &str, hour: Timestamp, counts: &SignInCounts) {
        let Ok(mut map) = self.0.lock() else { return };
        let key = (client.to_string(), hour);
        if map.len() >= TALLY_LIMIT && !map.contains_key(&key) {
            return;
        }
        map.entry(key).or_default().add(counts);
    }

    fn take(&self) -> Tallied {
        self.0
            .lock()
            .map(|mut m| std::mem::take(&mut *m))
            .unwrap_or_default()
    }

    fn put_back(&self, taken: Tallied) {
        for ((client, hour), counts) in taken {
            self.add(&client, hour, &counts);
        }
    }
}

/// How long a console operator's generated password is (URL-safe characters).
const OPERATOR_PASSWORD_BYTES: usize = 18;

impl crate::Engine {
    /// Counts a sign-in step's outcome for its client's pool and the current hour (the
    /// console's chart). Only this node's tally changes: [`Self::flush_sign_in_counts`] adds it
    /// to the store, so a sign-in pays for no extra commit.
    pub(crate) fn count_sign_in(
        &self,
        client_id: &str,
        refresh: bool,
        outcome: &EngineResult<AuthOutcome>,
    ) {
        let counts = sign_in_effect(refresh, outcome);
        if !counts.is_empty() {
            self.inner
                .sign_in_tally
                .add(client_id, console::hour_of(self.now()), &counts);
        }
    }

    /// Adds the sign-ins counted on this node since the last flush to their pools' hourly
    /// rows, in one transaction (the server runs this every few seconds and at shutdown).
    /// Counts of clients that no longer exist are dropped; on a failure the tally is kept for
    /// the next flush.
    pub async fn flush_sign_in_counts(&self) -> EngineResult<()> {
        let taken = self.inner.sign_in_tally.take();
        if taken.is_empty() {
            return Ok(());
        }
        let result = self.add_to_sign_in_counts(&taken).await;
        if result.is_err() {
            self.inner.sign_in_tally.put_back(taken);
        }
        result
    }

    async fn add_to_sign_in_counts(&self, taken: &Tallied) -> EngineResult<()> {
        let mut rows: HashMap<(UserPoolId, Timestamp), SignInCounts> = HashMap::new();
        {
            let mut tx = self.inner.store.read().await?;
            let mut pools: HashMap<&str, Option<UserPoolId>> = HashMap::new();
            for ((client, hour), counts) in taken {
                if !pools.contains_key(client.as_str()) {
                    let pool = match tessera_domain::ClientId::parse(client) {
                        Ok(id) => tx.get_client(&id).await?.map(|c| c.pool_id),
                        Err(_) => None,
                    };
                    pools.insert(client, pool);
                }
                if let Some(Some(pool)) = pools.get(client.as_str()) {
                    rows.entry((pool.clone(), *hour)).or_default().add(counts);
                }
            }
        }
        if rows.is_empty() {
            return Ok(());
        }
        let mut tx = self.inner.store.begin().await?;
        for ((pool, hour), counts) in &rows {
            tx.add_sign_in_counts(pool, *hour, counts).await?;
        }
        tx.commit().await?;
        Ok(())
    }

    /// The pool's sign-ins, failures and lockouts in each of the last `hours` hours (the
    /// current one last).
    pub async fn sign_in_counts(
        &self,
        pool: &UserPoolId,
        hours: usize,
    ) -> EngineResult<Vec<(Timestamp, SignInCounts)>> {
        // This node's latest counts first, so the page shows them (other nodes' arrive with
        // their next flush).
        if let Err(e) = self.flush_sign_in_counts().await {
            tracing::warn!(error = %e, "sign-in counts not flushed");
        }
        let now = self.now();
        let to = console::hour_of(now).plus(std::time::Duration::from_secs(3600));
        let from = to.minus(std::time::Duration::from_secs(3600 * hours as u64));
        let mut tx = self.inner.store.read().await?;
        let stored = tx.sign_in_counts(pool, from, to).await?;
        Ok(console::hourly_series(now, hours, &stored))
    }

    /// Makes a failed message of `pool` pending again (the console's Retry), if it still has
    /// its body; ResourceNotFoundException otherwise.
    pub async fn retry_outbox_message(
        &self,
        pool: &UserPoolId,
        id: &uuid::Uuid,
    ) -> EngineResult<()> {
        crate::audit::note_pool(pool);
        let mut tx = self.inner.store.begin().await?;
        if !tx.retry_message(pool, id, self.now()).await? {
            return Err(DomainError::resource_not_found(
                "No failed message with that id can be retried in this pool (it may have been \
                 retried already, or failed too long ago and lost its text).",
            )
            .into());
        }
        tx.commit().await?;
        self.inner.outbox_ready.notify_one();
        tracing::info!(pool = %pool, message = %id, "a failed message was queued again");
        Ok(())
    }

    /// Creates a console operator with a generated password, returned once (only its argon2id
    /// hash is kept).
    pub async fn create_console_operator(&self, name: &str) -> EngineResult<String> {
        if !console::valid_operator_name(name) {
            return Err(DomainError::invalid_parameter(
                "An operator name is 1 to 64 letters, digits, '.', '_', '-' or '@'.",
            )
            .into());
        }
        let password = tessera_crypto::random::token(OPERATOR_PASSWORD_BYTES);
        let operator = ConsoleOperator {
            name: name.to_string(),
            password_phc: self.inner.hasher.hash(&password).await?,
            created_at: self.now(),
        };
        let mut tx = self.inner.store.begin().await?;
        match tx.insert_console_operator(&operator).await {
            Err(tessera_store::StoreError::Conflict(tessera_store::Conflict::Operator)) => {
                return Err(DomainError::new(
                    ErrorKind::ResourceConflict,
                    format!("An operator named {name} exists already."),
                )
                .into());
            }
            other => other?,
        }
        tx.commit().await?;
        Ok(password)
    }

    /// Every console operator, by name.
    pub async fn list_console_operators(&self) -> EngineResult<Vec<ConsoleOperator>> {
        let mut tx = self.inner.store.read().await?;
        Ok(tx.list_console_operators().await?)
    }

    /// Deletes an operator; returns whether there was one. Their console sessions end with it.
    pub async fn delete_console_operator(&self, name: &str) -> EngineResult<bool> {
        let mut tx = self.inner.store.begin().await?;
        let deleted = tx.delete_console_operator(name).await?;
        tx.commit().await?;
        Ok(deleted)
    }

    /// The operator `name` if `password` is theirs. An unknown name costs the same hashing
    /// work as a known one.
    pub async fn verify_console_operator(
        &self,
        name: &str,
        password: &str,
    ) -> EngineResult<Option<ConsoleOperator>> {
        let found = if console::valid_operator_name(name) {
            let mut tx = self.inner.store.read().await?;
            tx.get_console_operator(name).await?
        } else {
            None
        };
        let Some(operator) = found else {
            self.inner.hasher.verify_decoy(password).await?;
            return Ok(None);
        };
        let verified = self
            .inner
            .hasher
            .verify(password, &operator.password_phc)
            .await?;
        Ok(matches!(verified, tessera_crypto::password::Verified::Yes { .. }).then_some(operator))
    }

    /// The operator `name` as stored now (a console session checks it still exists unchanged).
    pub async fn console_operator(&self, name: &str) -> EngineResult<Option<ConsoleOperator>> {
        let mut tx = self.inner.store.read().await?;
        Ok(tx.get_console_operator(name).await?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn err(kind: ErrorKind, message: &str) -> EngineResult<AuthOutcome> {
        Err(DomainError::new(kind, message).into())
    }

    #[test]
    fn sign_in_outcomes_count_as_the_chart_shows_them() {
        let signed_in = Ok(AuthOutcome::SignedIn {
            sub: tessera_domain::Sub::from_random([1; 16]),
            auth_time: Timestamp::from_secs(1),
        });
        assert_eq!(sign_in_effect(false, &signed_in).sign_ins, 1);
        assert!(sign_in_effect(true, &signed_in).is_empty(), "refreshes");
        let challenge = Ok(AuthOutcome::Challenge {
            name: "SMS_MFA".into(),
            session: None,
            parameters: Default::default(),
            available: vec![],
        });
        assert!(sign_in_effect(false, &challenge).is_empty());
        let wrong = err(ErrorKind::NotAuthorized, "Incorrect username or password.");
        assert_eq!(sign_in_effect(false, &wrong).failures, 1);
        assert_eq!(
            sign_in_effect(false, &err(ErrorKind::CodeMismatch, "x")).failures,
            1
        );
        let locked = err(ErrorKind::NotAuthorized, "Password attempts exceeded");
        assert_eq!(
            sign_in_effect(false, &locked),
            SignInCounts {
                lockouts: 1,
                ..Default::default()
            }
        );
        assert!(sign_in_effect(false, &err(ErrorKind::InvalidParameter, "x")).is_empty());
        assert!(sign_in_effect(true, &wrong).is_empty());
        assert!(sign_in_effect(false, &Err(EngineError::Contended)).is_empty());
    }

    #[test]
    fn the_tally_adds_up_and_gives_back_what_a_failed_flush_took() {
        let tally = SignInTally::default();
        let one = SignInCounts {
            sign_ins: 1,
            ..Default::default()
        };
        let h = Timestamp::from_secs(3600);
        tally.add("c1", h, &one);
        tally.add("c1", h, &one);
        tally.add("c2", h, &one);
        let taken = tally.take();
        assert_eq!(taken[&("c1".to_string(), h)].sign_ins, 2);
        assert!(tally.take().is_empty(), "taken once");
        tally.add("c1", h, &one);
        tally.put_back(taken);
        let again = tally.take();
        assert_eq!(again[&("c1".to_string(), h)].sign_ins, 3);
        assert_eq!(again.len(), 2);
    }
}
