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

/// How long a console operator's generated password is (URL-safe characters).
const OPERATOR_PASSWORD_BYTES: usize = 18;

impl crate::Engine {
    /// Adds a sign-in step's outcome to its pool's hourly counts (the console's chart). A
    /// failure to count is logged, never the sign-in's failure.
    pub(crate) async fn count_sign_in(
        &self,
        client_id: &str,
        refresh: bool,
        outcome: &EngineResult<AuthOutcome>,
    ) {
        let counts = sign_in_effect(refresh, outcome);
        if counts.is_empty() {
            return;
        }
        let result: EngineResult<()> = async {
            let client = {
                let mut tx = self.inner.store.read().await?;
                match tessera_domain::ClientId::parse(client_id) {
                    Ok(id) => tx.get_client(&id).await?,
                    Err(_) => None,
                }
            };
            let Some(client) = client else { return Ok(()) };
            let mut tx = self.inner.store.begin().await?;
            tx.add_sign_in_counts(&client.pool_id, console::hour_of(self.now()), &counts)
                .await?;
            tx.commit().await?;
            Ok(())
        }
        .await;
        if let Err(e) = result {
            tracing::warn!(error = %e, "a sign-in was not counted");
        }
    }

    /// The pool's sign-ins, failures and lockouts in each of the last `hours` hours (the
    /// current one last).
    pub async fn sign_in_counts(
        &self,
        pool: &UserPoolId,
        hours: usize,
    ) -> EngineResult<Vec<(Timestamp, SignInCounts)>> {
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
}
