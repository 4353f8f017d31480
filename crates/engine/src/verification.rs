//! Codes that prove possession of an email address or phone: ConfirmSignUp,
//! ResendConfirmationCode, ForgotPassword, ConfirmForgotPassword, AdminResetUserPassword,
//! GetUserAttributeVerificationCode, VerifyUserAttribute — and the codes that attribute changes
//! and sign-ups send.

use crate::Engine;
use crate::auth::unknown_user;
use crate::error::{EngineError, EngineResult};
use crate::outbox::{Letter, simulated_delivery};
use crate::tokens::ClientProof;
use crate::users::UserRef;
use std::collections::BTreeMap;
use tessera_domain::attributes::{self, EMAIL_VERIFIED, PHONE_NUMBER_VERIFIED};
use tessera_domain::client::{AppClient, UserExistenceErrors};
use tessera_domain::codes::{self, CodePurpose};
use tessera_domain::messages::{self, Channel, DeliveryDetails};
use tessera_domain::pool::{Alias, UserPool};
use tessera_domain::triggers::Trigger;
use tessera_domain::user::{User, UserStatus};
use tessera_domain::{DomainError, ErrorKind, Timestamp, UserPoolId};
use tessera_store::{Conflict, StoreError, Tx, UserLookup};

#[derive(Clone)]
pub struct ConfirmSignUp {
    pub client_id: String,
    pub username: String,
    pub code: String,
    pub secret_hash: Option<String>,
    pub force_alias_creation: bool,
    pub client_metadata: crate::triggers::ClientMetadata,
}

#[derive(Clone)]
pub struct ConfirmForgotPassword {
    pub client_id: String,
    pub username: String,
    pub code: String,
    pub password: String,
    pub secret_hash: Option<String>,
    pub client_metadata: crate::triggers::ClientMetadata,
}

fn verified_flag(channel: Channel) -> &'static str {
    match channel {
        Channel::Email => EMAIL_VERIFIED,
        Channel::Sms => PHONE_NUMBER_VERIFIED,
    }
}

fn channel_of(attribute: &str) -> Option<Channel> {
    match attribute {
        attributes::EMAIL => Some(Channel::Email),
        attributes::PHONE_NUMBER => Some(Channel::Sms),
        _ => None,
    }
}

fn is_verified(user: &User, channel: Channel) -> bool {
    user.attribute(channel.attribute())
        .is_some_and(|v| !v.is_empty())
        && user.attribute(verified_flag(channel)) == Some("true")
}

/// Whether a password reset also ends the user's sessions. On unless the pool is tagged
/// `tessera:reset-keeps-tokens = true`.
fn reset_revokes_tokens(pool: &UserPool) -> bool {
    pool.config
        .settings
        .get("UserPoolTags")
        .and_then(|t| t.get("tessera:reset-keeps-tokens"))
        .and_then(|v| v.as_str())
        != Some("true")
}

/// Attributes whose changes wait for their verification code (UserAttributeUpdateSettings).
fn verify_before_update(pool: &UserPool) -> Vec<String> {
    pool.config
        .settings
        .get("UserAttributeUpdateSettings")
        .and_then(|s| s.get("AttributesRequireVerificationBeforeUpdate"))
        .and_then(|v| v.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|x| x.as_str().map(String::from))
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) fn percent_encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

impl Engine {
    /// Where a sign-up confirmation code goes: the phone when phone numbers are auto-verified
    /// (Cognito prefers SMS), else the email when emails are.
    pub(crate) fn sign_up_channel(pool: &UserPool, user: &User) -> Option<(Channel, String)> {
        [Channel::Sms, Channel::Email].into_iter().find_map(|c| {
            let auto = pool
                .config
                .auto_verified_attributes
                .iter()
                .any(|a| a == c.attribute());
            let to = user.attribute(c.attribute()).filter(|v| !v.is_empty())?;
            auto.then(|| (c, to.to_string()))
        })
    }

    /// Sends the sign-up confirmation code (inside the sign-up's transaction).
    pub(crate) async fn send_sign_up_code(
        &self,
        tx: &mut dyn Tx,
        pool: &UserPool,
        client: &AppClient,
        user: &User,
        wording: &Letter,
        now: Timestamp,
    ) -> EngineResult<Option<DeliveryDetails>> {
        let Some((channel, to)) = Self::sign_up_channel(pool, user) else {
            return Ok(None);
        };
        let base = format!("{}/confirmUser", self.inner.settings.issuer_base);
        let (client_id, username) = (client.client_id.to_string(), user.username.to_string());
        let link = move |code: &str| {
            format!(
                "{base}?client_id={}&user_name={}&confirmation_code={code}",
                percent_encode(&client_id),
                percent_encode(&username)
            )
        };
        let details = self
            .send_code(
                tx,
                pool,
                user,
                CodePurpose::ConfirmSignUp,
                channel,
                &to,
                None,
                Some(&link),
                wording,
                now,
            )
            .await?;
        Ok(Some(details))
    }

    /// Saves a user whose verified email or phone became an alias. With `take_over`, an alias
    /// held by someone else moves to this user (the other's attribute is no longer verified) —
    /// Cognito's "last verifier wins"; without it, AliasExistsException.
    pub(crate) async fn save_with_aliases(
        &self,
        tx: &mut dyn Tx,
        pool: &UserPool,
        user: &User,
        take_over: bool,
    ) -> EngineResult<()> {
        let aliases = pool.config.sign_in.aliases(&user.attributes);
        if take_over {
            for alias in &aliases {
                let holder = tx
                    .get_user(&pool.id, &UserLookup::Alias(alias.clone()))
                    .await?;
                if let Some(mut other) = holder.filter(|o| o.sub != user.sub) {
                    if let Some(flag) = alias.kind.verified_flag() {
                        other
                            .attributes
                            .insert(flag.to_string(), "false".to_string());
                    } else {
                        other.attributes.remove(alias.kind.attribute());
                    }
                    let theirs = pool.config.sign_in.aliases(&other.attributes);
                    tx.update_user(&other, &theirs).await?;
                }
            }
        }
        tx.update_user(user, &aliases).await.map_err(|e| match e {
            StoreError::Conflict(Conflict::Alias(kind)) => {
                EngineError::from(pool.config.sign_in.alias_conflict(
                    &Alias {
                        kind,
                        key: String::new(),
                    },
                    false,
                ))
            }
            other => other.into(),
        })
    }

    /// Applies email/phone changes a write made to `user` (compared with `before`): a changed
    /// auto-verified attribute gets a code at its new value and loses its verification — or,
    /// when the pool requires verification before update, keeps its old value until the code
    /// comes back. Returns where codes went.
    #[allow(clippy::too_many_arguments)]
    pub(crate) async fn attribute_changes(
        &self,
        tx: &mut dyn Tx,
        pool: &UserPool,
        wording: &Letter,
        before: &User,
        user: &mut User,
        explicit: &[(String, String)],
        now: Timestamp,
    ) -> EngineResult<Vec<DeliveryDetails>> {
        let mut sent = Vec::new();
        let wait = verify_before_update(pool);
        for channel in [Channel::Email, Channel::Sms] {
            let name = channel.attribute();
            let (Some(new), old) = (
                user.attribute(name).map(String::from),
                before.attribute(name),
            ) else {
                continue;
            };
            let marked_verified = explicit
                .iter()
                .any(|(k, v)| k == verified_flag(channel) && v == "true");
            let auto = pool
                .config
                .auto_verified_attributes
                .iter()
                .any(|a| a == name);
            if old == Some(new.as_str()) || new.is_empty() || marked_verified || !auto {
                continue;
            }
            let pending = if wait.iter().any(|w| w == name) && old.is_some() {
                // The old value (and its verification) stands until the new one is proven.
                if let Some(old) = old {
                    user.attributes.insert(name.to_string(), old.to_string());
                }
                if let Some(flag) = before.attribute(verified_flag(channel)) {
                    user.attributes
                        .insert(verified_flag(channel).to_string(), flag.to_string());
                }
                Some(new.clone())
            } else {
                None
            };
            sent.push(
                self.send_code(
                    tx,
                    pool,
                    user,
                    CodePurpose::VerifyAttribute(name.to_string()),
                    channel,
                    &new,
                    pending,
                    None,
                    wording,
                    now,
                )
                .await?,
            );
        }
        Ok(sent)
    }

    /// A CustomMessage function's wording for a message to the user known as `name`, asked
    /// before the write transaction (None without a function, or for an unknown name).
    async fn wording_by_name(
        &self,
        pool: &UserPool,
        client: &AppClient,
        name: &str,
        event: &'static str,
        metadata: Option<&BTreeMap<String, String>>,
    ) -> EngineResult<Letter> {
        if !Self::has_trigger(pool, Trigger::CustomMessage) {
            return Ok(Letter::plain(event));
        }
        let user = {
            let mut tx = self.inner.store.read().await?;
            self.find_user(&mut *tx, pool, name).await?
        };
        match user {
            Some(u) => {
                self.custom_message(pool, Some(client.client_id.as_str()), &u, event, metadata)
                    .await
            }
            None => Ok(Letter::plain(event)),
        }
    }

    /// The same for a user named by access token or by an administrator.
    pub(crate) async fn wording_for(
        &self,
        who: UserRef<'_>,
        client_id: Option<&str>,
        event: &'static str,
        metadata: Option<&BTreeMap<String, String>>,
    ) -> EngineResult<Letter> {
        let who = self.identify(who).await?;
        let (pool, user) = {
            let mut tx = self.inner.store.read().await?;
            self.resolve_user(&mut *tx, &who).await?
        };
        self.custom_message(&pool, client_id, &user, event, metadata)
            .await
    }

    /// A send to a name that matches no user, when the client hides which names exist: the same
    /// hourly limit (LimitExceededException) and the same write as a real send, so neither the
    /// answers nor their timing tell the two apart.
    async fn simulated_send(
        &self,
        mut tx: Box<dyn Tx>,
        pool: &UserPool,
        name: &str,
        purpose: &CodePurpose,
        now: Timestamp,
    ) -> EngineResult<()> {
        let key = pool.config.sign_in.key(name);
        let previous = tx
            .unknown_name_sends(&pool.id, &key, &purpose.key())
            .await?;
        let sends = codes::record_send(&previous, now)?;
        tx.put_unknown_name_sends(&pool.id, &key, &purpose.key(), &sends)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// The user named in a public (unsigned) request, or the client's error for an unknown one.
    async fn named_user(
        &self,
        tx: &mut dyn Tx,
        pool: &UserPool,
        client: &AppClient,
        name: &str,
    ) -> EngineResult<Option<User>> {
        match self.find_user(tx, pool, name).await? {
            Some(u) => Ok(Some(u)),
            None if client.config.prevent_user_existence_errors == UserExistenceErrors::Enabled => {
                Ok(None)
            }
            None => Err(unknown_user(client)),
        }
    }

    /// ConfirmSignUp. With a client that allows USER_AUTH, returns the Session with which
    /// InitiateAuth signs the user straight in (the code just given is their first factor).
    pub async fn confirm_sign_up(&self, req: ConfirmSignUp) -> EngineResult<Option<String>> {
        let now = self.now();
        let (client, pool) = self.client_and_pool(&req.client_id, None).await?;
        self.check_client_proof(
            &client,
            &[&req.username],
            ClientProof::SecretHash(req.secret_hash.as_deref()),
        )?;
        let mut tx = self.inner.store.begin().await?;
        let Some(mut user) = self
            .named_user(&mut *tx, &pool, &client, &req.username)
            .await?
        else {
            return Err(codes::mismatch().into());
        };
        if user.status != UserStatus::Unconfirmed {
            return Err(DomainError::not_authorized(format!(
                "User cannot be confirmed. Current status is {}",
                user.status.as_str()
            ))
            .into());
        }
        let code = match self
            .check_code(
                &mut *tx,
                &pool,
                &user,
                &CodePurpose::ConfirmSignUp,
                &req.code,
                now,
            )
            .await?
        {
            Ok(code) => code,
            Err(e) => {
                tx.commit().await?;
                return Err(e.into());
            }
        };
        user.status = UserStatus::Confirmed;
        if let Some(channel) = code.sent_to.as_deref().and_then(channel_of) {
            user.attributes
                .insert(verified_flag(channel).to_string(), "true".to_string());
        }
        user.modified_at = now;
        self.save_with_aliases(&mut *tx, &pool, &user, req.force_alias_creation)
            .await?;
        tx.commit().await?;
        tracing::info!(pool = %pool.id, sub = %user.sub, "sign-up confirmed");
        self.post_confirmation(
            &pool,
            Some(client.client_id.as_str()),
            &user,
            "PostConfirmation_ConfirmSignUp",
            req.client_metadata.as_ref(),
        )
        .await?;
        if !client
            .config
            .allows(tessera_domain::client::AuthFlow::UserAuth)
        {
            return Ok(None);
        }
        let at = crate::signin::SignIn {
            pool: &pool,
            client: &client,
            context: tessera_domain::flow::SignInContext::default(),
            metadata: None,
        };
        let mut tx = self.inner.store.begin().await?;
        let token = self
            .insert_session(
                &mut *tx,
                &at,
                user.sub,
                tessera_domain::flow::Challenge::SignUpConfirmed,
                now,
            )
            .await?;
        tx.commit().await?;
        Ok(Some(token))
    }

    pub async fn resend_confirmation_code(
        &self,
        client_id: &str,
        username: &str,
        secret_hash: Option<&str>,
        client_metadata: Option<&BTreeMap<String, String>>,
    ) -> EngineResult<DeliveryDetails> {
        let now = self.now();
        let (client, pool) = self.client_and_pool(client_id, None).await?;
        self.check_client_proof(&client, &[username], ClientProof::SecretHash(secret_hash))?;
        let wording = self
            .wording_by_name(&pool, &client, username, "ResendCode", client_metadata)
            .await?;
        let mut tx = self.inner.store.begin().await?;
        let Some(user) = self.named_user(&mut *tx, &pool, &client, username).await? else {
            self.simulated_send(tx, &pool, username, &CodePurpose::ConfirmSignUp, now)
                .await?;
            return Ok(simulated_delivery(self, &pool, username));
        };
        if user.status != UserStatus::Unconfirmed {
            return Err(DomainError::invalid_parameter("User is already confirmed.").into());
        }
        if Self::sign_up_channel(&pool, &user).is_none() {
            return Err(DomainError::invalid_parameter("Auto verification not turned on.").into());
        }
        let details = self
            .send_sign_up_code(&mut *tx, &pool, &client, &user, &wording, now)
            .await?
            .ok_or_else(|| DomainError::invalid_parameter("Auto verification not turned on."))?;
        tx.commit().await?;
        Ok(details)
    }

    /// Sends a reset code to the user's recovery channel (inside `tx`).
    async fn send_reset_code(
        &self,
        tx: &mut dyn Tx,
        pool: &UserPool,
        user: &User,
        wording: &Letter,
        now: Timestamp,
    ) -> EngineResult<DeliveryDetails> {
        let channel = messages::recovery_channel(&pool.config.settings, |c| is_verified(user, c))
            .map_err(|()| {
                DomainError::not_authorized("User password cannot be reset in the current state.")
            })?
            .ok_or_else(|| {
                DomainError::invalid_parameter(
                    "Cannot reset password for the user as there is no registered/verified email or phone_number",
                )
            })?;
        let to = user
            .attribute(channel.attribute())
            .unwrap_or_default()
            .to_string();
        self.send_code(
            tx,
            pool,
            user,
            CodePurpose::ResetPassword,
            channel,
            &to,
            None,
            None,
            wording,
            now,
        )
        .await
    }

    pub async fn forgot_password(
        &self,
        client_id: &str,
        username: &str,
        secret_hash: Option<&str>,
        client_metadata: Option<&BTreeMap<String, String>>,
    ) -> EngineResult<DeliveryDetails> {
        let now = self.now();
        let (client, pool) =
            self.client_and_pool(client_id, None)
                .await
                .map_err(|e| match e.kind() {
                    ErrorKind::ResourceNotFound => {
                        DomainError::resource_not_found("Username/client id combination not found.")
                            .into()
                    }
                    _ => e,
                })?;
        self.check_client_proof(&client, &[username], ClientProof::SecretHash(secret_hash))?;
        // With admin-only recovery nobody resets their own password, known or not.
        if messages::recovery_channel(&pool.config.settings, |_| false).is_err() {
            return Err(
                DomainError::not_authorized("Contact administrator to reset password.").into(),
            );
        }
        // A name we don't know may belong to a user the pool's UserMigration function vouches
        // for: created now, with a reset code on its way.
        self.migrate_if_unknown(&pool, &client, username, None, &client_metadata.cloned())
            .await?;
        let wording = self
            .wording_by_name(&pool, &client, username, "ForgotPassword", client_metadata)
            .await?;
        let mut tx = self.inner.store.begin().await?;
        let Some(user) = self.named_user(&mut *tx, &pool, &client, username).await? else {
            self.simulated_send(tx, &pool, username, &CodePurpose::ResetPassword, now)
                .await?;
            return Ok(simulated_delivery(self, &pool, username));
        };
        if !user.enabled {
            return Err(DomainError::not_authorized("User is disabled.").into());
        }
        let details = self
            .send_reset_code(&mut *tx, &pool, &user, &wording, now)
            .await?;
        tx.commit().await?;
        Ok(details)
    }

    pub async fn confirm_forgot_password(&self, req: ConfirmForgotPassword) -> EngineResult<()> {
        let now = self.now();
        let (client, pool) = self.client_and_pool(&req.client_id, None).await?;
        self.check_client_proof(
            &client,
            &[&req.username],
            ClientProof::SecretHash(req.secret_hash.as_deref()),
        )?;
        pool.config.password_policy.check(&req.password)?;
        // Screened before the user is looked up, so the answer is the same whoever is named.
        let screening = self
            .screen_password(
                &pool,
                (None, Some(client.client_id.as_str())),
                (
                    tessera_domain::threat::CredentialEvent::PasswordChange,
                    tessera_domain::threat::AuthEventType::ForgotPassword,
                ),
                &req.password,
            )
            .await?;
        let Some(existing) = ({
            let mut tx = self.inner.store.read().await?;
            self.named_user(&mut *tx, &pool, &client, &req.username)
                .await?
        }) else {
            return Err(codes::mismatch().into());
        };
        let credentials = self
            .credentials(
                &pool,
                &existing.sub,
                &existing.username,
                &req.password,
                None,
            )
            .await?;
        let mut tx = self.inner.store.begin().await?;
        let mut user = tx
            .get_user(&pool.id, &UserLookup::Sub(existing.sub))
            .await?
            .ok_or_else(|| EngineError::from(codes::mismatch()))?;
        if let Err(e) = self
            .check_code(
                &mut *tx,
                &pool,
                &user,
                &CodePurpose::ResetPassword,
                &req.code,
                now,
            )
            .await?
        {
            tx.commit().await?;
            return Err(e.into());
        }
        credentials.apply(&mut user);
        if matches!(
            user.status,
            UserStatus::ResetRequired | UserStatus::ForceChangePassword
        ) {
            user.status = UserStatus::Confirmed;
        }
        user.modified_at = now;
        self.save_user(&mut *tx, &pool, &user).await?;
        self.record_screening(
            &mut *tx,
            &pool,
            (user.sub, Some(client.client_id.as_str())),
            tessera_domain::threat::AuthEventType::ForgotPassword,
            &screening,
            now,
        )
        .await?;
        tx.reset_sign_in_failures(&pool.id, &user.sub).await?;
        if reset_revokes_tokens(&pool) {
            tx.revoke_user_token_families(&pool.id, &user.sub, now)
                .await?;
        }
        tx.commit().await?;
        tracing::info!(pool = %pool.id, sub = %user.sub, "password reset");
        self.post_confirmation(
            &pool,
            Some(client.client_id.as_str()),
            &user,
            "PostConfirmation_ConfirmForgotPassword",
            req.client_metadata.as_ref(),
        )
        .await
    }

    pub async fn admin_reset_user_password(
        &self,
        pool_id: &UserPoolId,
        username: &str,
        client_metadata: Option<&BTreeMap<String, String>>,
    ) -> EngineResult<DeliveryDetails> {
        let now = self.now();
        let wording = self
            .wording_for(
                UserRef::Admin {
                    pool: pool_id,
                    username,
                },
                None,
                "ForgotPassword",
                client_metadata,
            )
            .await?;
        let mut tx = self.inner.store.begin().await?;
        let pool = self.load_pool(&mut *tx, pool_id).await?;
        let mut user = self
            .find_user(&mut *tx, &pool, username)
            .await?
            .ok_or_else(DomainError::user_not_found)?;
        let details = self
            .send_reset_code(&mut *tx, &pool, &user, &wording, now)
            .await?;
        user.status = UserStatus::ResetRequired;
        user.modified_at = now;
        self.save_user(&mut *tx, &pool, &user).await?;
        if reset_revokes_tokens(&pool) {
            tx.revoke_user_token_families(&pool.id, &user.sub, now)
                .await?;
        }
        tx.commit().await?;
        Ok(details)
    }

    pub async fn get_user_attribute_verification_code(
        &self,
        access_token: &str,
        attribute: &str,
        client_metadata: Option<&BTreeMap<String, String>>,
    ) -> EngineResult<DeliveryDetails> {
        let now = self.now();
        let channel = channel_of(attribute).ok_or_else(|| {
            DomainError::invalid_parameter(format!("Invalid attribute name: {attribute}"))
        })?;
        let wording = self
            .wording_for(
                UserRef::AccessToken(access_token),
                None,
                "VerifyUserAttribute",
                client_metadata,
            )
            .await?;
        let id = self.verify_access_token(access_token).await?;
        let mut tx = self.inner.store.begin().await?;
        let user = self.token_user(&mut *tx, &id).await?;
        let pool = self.load_pool(&mut *tx, &id.pool_id).await?;
        let purpose = CodePurpose::VerifyAttribute(attribute.to_string());
        // A change waiting for its code keeps waiting: the new code goes to the new value.
        let pending = tx
            .get_code(&pool.id, &user.sub, &purpose.key())
            .await?
            .and_then(|c| c.pending_value);
        let to = pending
            .clone()
            .or_else(|| user.attribute(attribute).map(String::from))
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                DomainError::invalid_parameter(format!("The user has no {attribute} to verify."))
            })?;
        let details = self
            .send_code(
                &mut *tx, &pool, &user, purpose, channel, &to, pending, None, &wording, now,
            )
            .await?;
        tx.commit().await?;
        Ok(details)
    }

    pub async fn verify_user_attribute(
        &self,
        access_token: &str,
        attribute: &str,
        presented: &str,
    ) -> EngineResult<()> {
        let now = self.now();
        let channel = channel_of(attribute).ok_or_else(|| {
            DomainError::invalid_parameter(format!("Invalid attribute name: {attribute}"))
        })?;
        let id = self.verify_access_token(access_token).await?;
        let mut tx = self.inner.store.begin().await?;
        let mut user = self.token_user(&mut *tx, &id).await?;
        let pool = self.load_pool(&mut *tx, &id.pool_id).await?;
        let purpose = CodePurpose::VerifyAttribute(attribute.to_string());
        let code = match self
            .check_code(&mut *tx, &pool, &user, &purpose, presented, now)
            .await?
        {
            Ok(code) => code,
            Err(e) => {
                tx.commit().await?;
                return Err(e.into());
            }
        };
        if let Some(new) = code.pending_value {
            user.attributes.insert(attribute.to_string(), new);
        }
        user.attributes
            .insert(verified_flag(channel).to_string(), "true".to_string());
        user.modified_at = now;
        self.save_with_aliases(&mut *tx, &pool, &user, true).await?;
        tx.commit().await?;
        Ok(())
    }
}
