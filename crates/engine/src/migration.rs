//! UserMigration: a name the pool doesn't know is offered to the pool's function, which may
//! vouch for it (with the password the user just typed) so the user is created on the spot —
//! at password sign-in (USER_PASSWORD_AUTH, ADMIN_USER_PASSWORD_AUTH) and at ForgotPassword.
//! SRP never reaches it: the server never sees an SRP password.

use crate::Engine;
use crate::error::EngineResult;
use crate::triggers::ClientMetadata;
use serde_json::json;
use tessera_domain::attributes::Writer;
use tessera_domain::client::{AppClient, UserExistenceErrors};
use tessera_domain::pool::UserPool;
use tessera_domain::triggers::{Event, Trigger, UserMigrationResponse, response, unrecognizable};
use tessera_domain::user::UserStatus;
use tessera_domain::{DomainError, ErrorKind};

/// What the pool's function said about an unknown name.
pub(crate) enum Migration {
    /// The pool has no UserMigration function.
    NoFunction,
    /// The function answered without the user's attributes: the name stays unknown.
    Declined,
    Migrated,
}

/// Cognito's answer when a function declines, for clients that may say a user doesn't exist.
pub(crate) fn migration_declined(client: &AppClient) -> DomainError {
    DomainError::new(
        ErrorKind::UserNotFound,
        format!(
            "Exception migrating user in app client {}",
            client.client_id
        ),
    )
}

impl Engine {
    /// Offers `name` to the UserMigration function when the pool has one and doesn't know the
    /// name. A decline is the client's "no such user" where the client may say so.
    pub(crate) async fn migrate_if_unknown(
        &self,
        pool: &UserPool,
        client: &AppClient,
        name: &str,
        password: Option<&str>,
        metadata: &ClientMetadata,
    ) -> EngineResult<()> {
        if !Self::has_trigger(pool, Trigger::UserMigration) {
            return Ok(());
        }
        let known = {
            let mut tx = self.inner.store.read().await?;
            self.find_user(&mut *tx, pool, name).await?.is_some()
        };
        if known {
            return Ok(());
        }
        match self
            .migrate_user(pool, client, name, password, metadata)
            .await?
        {
            Migration::Declined
                if client.config.prevent_user_existence_errors == UserExistenceErrors::Legacy =>
            {
                Err(migration_declined(client).into())
            }
            _ => Ok(()),
        }
    }

    /// Asks the function about `name`; creates the user it vouches for. `password` is the
    /// password typed at sign-in (None for ForgotPassword, which creates a user who must reset).
    pub(crate) async fn migrate_user(
        &self,
        pool: &UserPool,
        client: &AppClient,
        name: &str,
        password: Option<&str>,
        metadata: &ClientMetadata,
    ) -> EngineResult<Migration> {
        if !Self::has_trigger(pool, Trigger::UserMigration) {
            return Ok(Migration::NoFunction);
        }
        let source = if password.is_some() {
            "UserMigration_Authentication"
        } else {
            "UserMigration_ForgotPassword"
        };
        let mut event = Event::new(Trigger::UserMigration, source, name)
            .with_map("validationData", metadata.as_ref())
            .with_map("clientMetadata", metadata.as_ref());
        if let Some(p) = password {
            event = event.with("password", json!(p));
        }
        let Some(answer) = self
            .run_trigger(pool, Some(client.client_id.as_str()), event)
            .await?
        else {
            return Ok(Migration::NoFunction);
        };
        let decided: UserMigrationResponse = response(&answer)?;
        let Some(attributes) = decided.user_attributes.filter(|a| !a.is_empty()) else {
            return Ok(Migration::Declined);
        };
        let status = match (password, decided.final_user_status.as_deref()) {
            (None, _) | (Some(_), Some("RESET_REQUIRED")) => UserStatus::ResetRequired,
            (Some(_), None | Some("CONFIRMED")) => UserStatus::Confirmed,
            (Some(_), Some(_)) => return Err(unrecognizable().into()),
        };
        let writes: Vec<(String, String)> = attributes
            .into_iter()
            .filter(|(k, _)| k != "sub" && k != "username")
            .collect();
        let now = self.now();
        let mut user = self.new_user(pool, name, &writes, Writer::Admin, status, now)?;
        if decided.enable_sms_mfa == Some(true)
            && user
                .attribute("phone_number")
                .is_some_and(|p| !p.is_empty())
        {
            user.mfa.sms = true;
        }
        if let Some(p) = password.filter(|_| status == UserStatus::Confirmed) {
            pool.config.password_policy.check(p)?;
            self.credentials(pool, &user.sub, &user.username, p, None)
                .await?
                .apply(&mut user);
        }
        let mut tx = self.inner.store.begin().await?;
        self.insert_new_user(&mut *tx, pool, &user, "User already exists")
            .await?;
        tx.commit().await?;
        tracing::info!(pool = %pool.id, sub = %user.sub, source, "user migrated");
        Ok(Migration::Migrated)
    }
}
