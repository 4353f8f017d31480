//! Users, as administrators manage them (Admin*, ListUsers) and as users manage themselves with
//! an access token (SignUp, GetUser, UpdateUserAttributes, ChangePassword, DeleteUser …).

use crate::Engine;
use crate::auth::alias_conflict;
use crate::error::{EngineError, EngineResult, on_conflict};
use crate::outbox::Letter;
use crate::pools::{decode_token, paged};
use crate::triggers::{ClientMetadata, attributes_of};
use std::collections::BTreeMap;
use tessera_domain::attributes::{self, Attributes, WriteKind, Writer};
use tessera_domain::client::AppClient;
use tessera_domain::filter::UserFilter;
use tessera_domain::lockout::SignInFailures;
use tessera_domain::messages::{Channel, DeliveryDetails};
use tessera_domain::pool::UserPool;
use tessera_domain::threat::{AuthEventType, CredentialEvent};
use tessera_domain::triggers::{Event, PreSignUpResponse, Trigger, response};
use tessera_domain::user::{PasswordCredential, SrpCredential, User, UserStatus};
use tessera_domain::{DomainError, ErrorKind, Sub, Timestamp, UserPoolId};
use tessera_store::{Conflict, Tx, UserQuery};

#[derive(Clone)]
pub struct SignUp {
    pub client_id: String,
    pub username: String,
    /// None: a passwordless sign-up, which the pool must allow (a passwordless first factor
    /// in its AllowedFirstAuthFactors).
    pub password: Option<String>,
    pub attributes: Vec<(String, String)>,
    pub secret_hash: Option<String>,
    /// ValidationData, for the PreSignUp function only.
    pub validation_data: Option<BTreeMap<String, String>>,
    pub client_metadata: ClientMetadata,
}

impl std::fmt::Debug for SignUp {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SignUp")
            .field("client_id", &self.client_id)
            .field("username", &self.username)
            .finish_non_exhaustive()
    }
}

#[derive(Clone, Debug)]
pub struct SignedUp {
    pub user: User,
    pub confirmed: bool,
    /// Where the confirmation code went, when the pool auto-verifies an attribute.
    pub delivery: Option<DeliveryDetails>,
}

#[derive(Clone)]
pub struct AdminCreateUser {
    pub username: String,
    pub attributes: Vec<(String, String)>,
    pub temporary_password: Option<String>,
    /// MessageAction RESEND: re-issue the invitation of an existing user.
    pub resend: bool,
    /// MessageAction SUPPRESS: send no invitation.
    pub suppress: bool,
    /// DesiredDeliveryMediums (Cognito's default is SMS).
    pub mediums: Vec<Channel>,
    pub validation_data: Option<BTreeMap<String, String>>,
    pub client_metadata: ClientMetadata,
}

#[derive(Clone, Debug)]
pub struct UserPage {
    pub users: Vec<User>,
    pub next_token: Option<String>,
}

fn user_exists(pool: &UserPool, c: &Conflict, message: &str) -> Option<DomainError> {
    match c {
        Conflict::Username => Some(DomainError::new(ErrorKind::UsernameExists, message)),
        other => alias_conflict(pool, other, true),
    }
}

/// Applies validated attribute writes to a user: a changed email or phone number is no longer
/// verified unless the same request says it is.
fn apply_writes(user: &mut User, writes: Vec<(String, String)>) {
    let explicit: Vec<String> = writes.iter().map(|(k, _)| k.clone()).collect();
    for (name, value) in writes {
        let changed = user.attributes.get(&name) != Some(&value);
        let flag = match name.as_str() {
            attributes::EMAIL => Some(attributes::EMAIL_VERIFIED),
            attributes::PHONE_NUMBER => Some(attributes::PHONE_NUMBER_VERIFIED),
            _ => None,
        };
        if let Some(flag) = flag
            && changed
            && !explicit.iter().any(|e| e == flag)
        {
            user.attributes
                .insert(flag.to_string(), "false".to_string());
        }
        user.attributes.insert(name, value);
    }
}

/// The attributes a client may write on behalf of a user.
fn check_client_may_write(
    pool: &UserPool,
    client: &AppClient,
    writes: &[(String, String)],
) -> EngineResult<()> {
    let allowed = client
        .config
        .write_attributes
        .clone()
        .unwrap_or_else(|| attributes::default_client_attributes(&pool.config.schema, true));
    // Names the schema doesn't know are the schema's error (InvalidParameterException), reported
    // by validation; everything else the client must be allowed to write (sub never is).
    let known =
        |k: &String| k == attributes::SUB || pool.config.schema.iter().any(|s| &s.name == k);
    if writes.iter().all(|(k, _)| !known(k) || allowed.contains(k)) {
        Ok(())
    } else {
        Err(
            DomainError::not_authorized("A client attempted to write unauthorized attribute")
                .into(),
        )
    }
}

/// What is stored for a password: its hash, and an SRP verifier when the pool does SRP.
pub(crate) struct Credentials {
    password: PasswordCredential,
    srp: Option<SrpCredential>,
}

impl Credentials {
    /// Replaces the user's password; an old verifier never survives its password.
    pub(crate) fn apply(self, user: &mut User) {
        user.password = Some(self.password);
        user.srp = self.srp;
    }
}

/// What a PreSignUp function decided: a confirmed status, verified email or phone.
fn apply_pre_sign_up(user: &mut User, decided: &PreSignUpResponse) {
    if decided.auto_confirm_user == Some(true) {
        user.status = UserStatus::Confirmed;
    }
    let verify = [
        (
            decided.auto_verify_email,
            attributes::EMAIL,
            attributes::EMAIL_VERIFIED,
        ),
        (
            decided.auto_verify_phone,
            attributes::PHONE_NUMBER,
            attributes::PHONE_NUMBER_VERIFIED,
        ),
    ];
    for (asked, attr, flag) in verify {
        if asked == Some(true) && user.attribute(attr).is_some_and(|v| !v.is_empty()) {
            user.attributes.insert(flag.to_string(), "true".to_string());
        }
    }
}

/// A user named by their own access token or by an administrator.
#[derive(Clone, Copy, Debug)]
pub enum UserRef<'a> {
    AccessToken(&'a str),
    Admin {
        pool: &'a UserPoolId,
        username: &'a str,
    },
}

/// A [`UserRef`] whose access token has been verified.
pub(crate) enum Who<'a> {
    Token(crate::tokens::AccessIdentity),
    Admin {
        pool: &'a UserPoolId,
        username: &'a str,
    },
}

impl Engine {
    /// Verifies a [`UserRef`]'s access token. Call it before opening the transaction the user is
    /// loaded in: verification reads the store itself, and a request holding one connection while
    /// it waits for another can starve the pool under load.
    pub(crate) async fn identify<'a>(&self, who: UserRef<'a>) -> EngineResult<Who<'a>> {
        Ok(match who {
            UserRef::AccessToken(token) => Who::Token(self.verify_access_token(token).await?),
            UserRef::Admin { pool, username } => Who::Admin { pool, username },
        })
    }

    /// The user (and pool) a verified [`Who`] names, loaded in `tx`.
    pub(crate) async fn resolve_user(
        &self,
        tx: &mut dyn Tx,
        who: &Who<'_>,
    ) -> EngineResult<(UserPool, User)> {
        match *who {
            Who::Token(ref id) => {
                let user = self.token_user(tx, id).await?;
                let pool = self.load_pool(tx, &id.pool_id).await?;
                Ok((pool, user))
            }
            Who::Admin { pool, username } => {
                let pool = self.load_pool(tx, pool).await?;
                let user = self.admin_user(tx, &pool, username).await?;
                crate::audit::note_user(&pool.id, &user.sub);
                Ok((pool, user))
            }
        }
    }

    /// Credentials for a password the server has just seen (computed off the executor, before
    /// any write transaction is opened).
    pub(crate) async fn credentials(
        &self,
        pool: &UserPool,
        sub: &Sub,
        username: &tessera_domain::Username,
        password: &str,
        expires_at: Option<Timestamp>,
    ) -> EngineResult<Credentials> {
        let phc = self.inner.hasher.hash(password).await?;
        let srp = self.srp_credential(pool, sub, username, password).await?;
        Ok(Credentials {
            password: PasswordCredential {
                phc,
                set_at: self.now(),
                expires_at,
            },
            srp,
        })
    }

    /// The user an administrator names: by username, alias or sub; else UserNotFoundException.
    async fn admin_user(&self, tx: &mut dyn Tx, pool: &UserPool, name: &str) -> EngineResult<User> {
        self.find_user(tx, pool, name)
            .await?
            .ok_or_else(|| DomainError::user_not_found().into())
    }

    pub(crate) async fn save_user(
        &self,
        tx: &mut dyn Tx,
        pool: &UserPool,
        user: &User,
    ) -> EngineResult<()> {
        let aliases = pool.config.sign_in.aliases(&user.attributes);
        tx.update_user(user, &aliases)
            .await
            .map_err(|e| on_conflict(e, |c| alias_conflict(pool, c, false)))
    }

    pub(crate) async fn insert_new_user(
        &self,
        tx: &mut dyn Tx,
        pool: &UserPool,
        user: &User,
        exists_message: &str,
    ) -> EngineResult<()> {
        let aliases = pool.config.sign_in.aliases(&user.attributes);
        tx.insert_user(
            user,
            &user.username.key(pool.config.sign_in.case_sensitive),
            &aliases,
        )
        .await
        .map_err(|e| on_conflict(e, |c| user_exists(pool, c, exists_message)))
    }

    /// Builds a new user from a requested name and attributes under the pool's rules.
    pub(crate) fn new_user(
        &self,
        pool: &UserPool,
        username: &str,
        writes: &[(String, String)],
        writer: Writer,
        status: UserStatus,
        now: Timestamp,
    ) -> EngineResult<User> {
        let writes = attributes::validate_writes(
            &pool.config.schema,
            writes,
            writer,
            WriteKind::Create,
            &Attributes::new(),
        )?;
        let sub = Sub::from_random(tessera_crypto::random::bytes::<16>());
        let mut attrs: Attributes = writes.into_iter().collect();
        let username =
            pool.config
                .sign_in
                .assign_username(username, &sub.to_string(), &mut attrs)?;
        attributes::check_required(&pool.config.schema, &attrs)?;
        Ok(User {
            pool_id: pool.id.clone(),
            sub,
            username,
            status,
            enabled: true,
            attributes: attrs,
            password: None,
            srp: None,
            mfa: Default::default(),
            failures: SignInFailures::default(),
            created_at: now,
            modified_at: now,
        })
    }

    pub async fn sign_up(&self, req: SignUp) -> EngineResult<SignedUp> {
        let now = self.now();
        let (client, pool) = {
            let mut tx = self.inner.store.read().await?;
            let client = self.load_client(&mut *tx, &req.client_id).await?;
            let pool = self.load_pool(&mut *tx, &client.pool_id).await?;
            (client, pool)
        };
        if pool.config.admin_create_only() {
            return Err(
                DomainError::not_authorized("SignUp is not permitted for this user pool").into(),
            );
        }
        self.check_client_proof(
            &client,
            &[&req.username],
            crate::tokens::ClientProof::SecretHash(req.secret_hash.as_deref()),
        )?;
        check_client_may_write(&pool, &client, &req.attributes)?;
        let mut user = self.new_user(
            &pool,
            &req.username,
            &req.attributes,
            Writer::User,
            UserStatus::Unconfirmed,
            now,
        )?;
        let screening = match req.password.as_deref() {
            Some(password) => {
                pool.config.password_policy.check(password)?;
                Some(
                    self.screen_password(
                        &pool,
                        (None, Some(client.client_id.as_str())),
                        (CredentialEvent::SignUp, AuthEventType::SignUp),
                        password,
                    )
                    .await?,
                )
            }
            None if tessera_domain::choice::allows_passwordless(&pool) => None,
            None => {
                return Err(DomainError::invalid_parameter(
                    "Password is required for this user pool.",
                )
                .into());
            }
        };
        // The PreSignUp function may reject the sign-up, confirm the user, verify attributes.
        let event = Event::new(
            Trigger::PreSignUp,
            "PreSignUp_SignUp",
            user.username.as_str(),
        )
        .with("userAttributes", attributes_of(&pool, &user))
        .with_map("validationData", req.validation_data.as_ref())
        .with_map("clientMetadata", req.client_metadata.as_ref());
        let decided = self
            .pre_sign_up(&pool, Some(client.client_id.as_str()), event)
            .await?;
        let confirmed = decided.auto_confirm_user == Some(true);
        apply_pre_sign_up(&mut user, &decided);
        // Refuse before anything is written if the confirmation code couldn't be delivered.
        let channel = (!confirmed)
            .then(|| Self::sign_up_channel(&pool, &user))
            .flatten();
        if let Some((channel, _)) = channel {
            self.outbox_status(channel)?;
        }
        if let Some(password) = req.password.as_deref() {
            self.credentials(&pool, &user.sub, &user.username, password, None)
                .await?
                .apply(&mut user);
        }
        let wording = match channel {
            Some(_) => {
                self.custom_message(
                    &pool,
                    Some(client.client_id.as_str()),
                    &user,
                    "SignUp",
                    req.client_metadata.as_ref(),
                )
                .await?
            }
            None => Letter::plain("SignUp"),
        };
        let mut tx = self.inner.store.begin().await?;
        self.insert_new_user(&mut *tx, &pool, &user, "User already exists")
            .await?;
        if let Some(screening) = &screening {
            self.record_screening(
                &mut *tx,
                &pool,
                (user.sub, Some(client.client_id.as_str())),
                AuthEventType::SignUp,
                screening,
                now,
            )
            .await?;
        }
        let delivery = if confirmed {
            None
        } else {
            self.send_sign_up_code(&mut *tx, &pool, &client, &user, &wording, now)
                .await?
        };
        tx.commit().await?;
        tracing::info!(pool = %pool.id, sub = %user.sub, confirmed, "user signed up");
        if confirmed {
            self.post_confirmation(
                &pool,
                Some(client.client_id.as_str()),
                &user,
                "PostConfirmation_ConfirmSignUp",
                req.client_metadata.as_ref(),
            )
            .await?;
        }
        Ok(SignedUp {
            user,
            confirmed,
            delivery,
        })
    }

    /// Runs the PreSignUp function, if any; its decisions (all "no" without one).
    pub(crate) async fn pre_sign_up(
        &self,
        pool: &UserPool,
        client_id: Option<&str>,
        event: Event,
    ) -> EngineResult<PreSignUpResponse> {
        match self.run_trigger(pool, client_id, event).await? {
            Some(answer) => Ok(response(&answer)?),
            None => Ok(PreSignUpResponse::default()),
        }
    }

    /// Runs the PostConfirmation function, if any, for a user who was just confirmed (or reset
    /// their password). As with Cognito, its failure is reported but the confirmation stands.
    pub(crate) async fn post_confirmation(
        &self,
        pool: &UserPool,
        client_id: Option<&str>,
        user: &User,
        source: &str,
        client_metadata: Option<&BTreeMap<String, String>>,
    ) -> EngineResult<()> {
        let event = Event::new(Trigger::PostConfirmation, source, user.username.as_str())
            .with("userAttributes", attributes_of(pool, user))
            .with_map("clientMetadata", client_metadata);
        self.run_trigger(pool, client_id, event).await?;
        Ok(())
    }

    pub async fn admin_confirm_sign_up(
        &self,
        pool_id: &UserPoolId,
        username: &str,
        client_metadata: Option<&BTreeMap<String, String>>,
    ) -> EngineResult<()> {
        let mut tx = self.inner.store.begin().await?;
        let pool = self.load_pool(&mut *tx, pool_id).await?;
        let mut user = self.admin_user(&mut *tx, &pool, username).await?;
        if user.status != UserStatus::Unconfirmed {
            return Err(DomainError::not_authorized(format!(
                "User cannot be confirmed. Current status is {}",
                user.status.as_str()
            ))
            .into());
        }
        user.status = UserStatus::Confirmed;
        user.modified_at = self.now();
        self.save_user(&mut *tx, &pool, &user).await?;
        tx.commit().await?;
        self.post_confirmation(
            &pool,
            None,
            &user,
            "PostConfirmation_ConfirmSignUp",
            client_metadata,
        )
        .await
    }

    pub async fn admin_create_user(
        &self,
        pool_id: &UserPoolId,
        req: AdminCreateUser,
    ) -> EngineResult<User> {
        let now = self.now();
        let pool = {
            let mut tx = self.inner.store.read().await?;
            self.load_pool(&mut *tx, pool_id).await?
        };
        let policy = &pool.config.password_policy;
        // A temporary password the administrator chose is screened like a sign-up's (EventFilter
        // SIGN_UP); one Tessera generates is random and never is.
        let (temporary, screening) = match req.temporary_password.clone() {
            Some(p) => {
                policy.check(&p)?;
                let screening = self
                    .screen_password(
                        &pool,
                        (None, None),
                        (CredentialEvent::SignUp, AuthEventType::SignUp),
                        &p,
                    )
                    .await?;
                (p, Some(screening))
            }
            None => (
                policy.temporary_password(&tessera_crypto::random::bytes::<32>()),
                None,
            ),
        };
        let expires = now.plus(std::time::Duration::from_secs(
            86_400 * u64::from(policy.temporary_password_validity_days.max(1)),
        ));
        if req.resend {
            let existing = {
                let mut tx = self.inner.store.read().await?;
                self.admin_user(&mut *tx, &pool, &req.username).await?
            };
            let credentials = self
                .credentials(
                    &pool,
                    &existing.sub,
                    &existing.username,
                    &temporary,
                    Some(expires),
                )
                .await?;
            let targets = self.invite_channels(&existing, &req)?;
            let wording = self
                .invite_wording(&pool, &existing, &req, &targets)
                .await?;
            let mut tx = self.inner.store.begin().await?;
            let mut user = self.admin_user(&mut *tx, &pool, &req.username).await?;
            if user.status != UserStatus::ForceChangePassword {
                return Err(DomainError::new(
                    ErrorKind::UnsupportedUserState,
                    format!(
                        "Resend not possible. {} status is not FORCE_CHANGE_PASSWORD",
                        req.username
                    ),
                )
                .into());
            }
            credentials.apply(&mut user);
            user.modified_at = now;
            self.save_user(&mut *tx, &pool, &user).await?;
            self.invite(
                &mut *tx,
                &pool,
                &user,
                &targets,
                (&temporary, &wording),
                now,
            )
            .await?;
            tx.commit().await?;
            return Ok(user);
        }
        let mut user = self.new_user(
            &pool,
            &req.username,
            &req.attributes,
            Writer::Admin,
            UserStatus::ForceChangePassword,
            now,
        )?;
        // The PreSignUp function may refuse; its other decisions don't apply to invitations.
        let event = Event::new(
            Trigger::PreSignUp,
            "PreSignUp_AdminCreateUser",
            user.username.as_str(),
        )
        .with("userAttributes", attributes_of(&pool, &user))
        .with_map("validationData", req.validation_data.as_ref())
        .with_map("clientMetadata", req.client_metadata.as_ref());
        self.pre_sign_up(&pool, None, event).await?;
        self.credentials(&pool, &user.sub, &user.username, &temporary, Some(expires))
            .await?
            .apply(&mut user);
        let targets = self.invite_channels(&user, &req)?;
        let wording = self.invite_wording(&pool, &user, &req, &targets).await?;
        let mut tx = self.inner.store.begin().await?;
        self.insert_new_user(&mut *tx, &pool, &user, "User account already exists")
            .await?;
        if let Some(screening) = &screening {
            self.record_screening(
                &mut *tx,
                &pool,
                (user.sub, None),
                AuthEventType::SignUp,
                screening,
                now,
            )
            .await?;
        }
        self.invite(
            &mut *tx,
            &pool,
            &user,
            &targets,
            (&temporary, &wording),
            now,
        )
        .await?;
        tx.commit().await?;
        tracing::info!(pool = %pool.id, sub = %user.sub, "user created by an administrator");
        Ok(user)
    }

    /// Where an invitation goes. Every medium the request names needs its destination
    /// (Cognito: "No email provided but desired delivery medium was Email"). Without
    /// DesiredDeliveryMediums Cognito uses SMS, so a user without a phone number is created
    /// with no invitation sent, as the API reference allows (a user may have no attributes
    /// but the username). A suppressed invitation goes nowhere.
    fn invite_channels(
        &self,
        user: &User,
        req: &AdminCreateUser,
    ) -> EngineResult<Vec<(Channel, String)>> {
        if req.suppress {
            return Ok(Vec::new());
        }
        let destination = |channel: Channel| {
            user.attribute(channel.attribute())
                .filter(|v| !v.is_empty())
                .map(|to| (channel, to.to_string()))
        };
        let targets: Vec<(Channel, String)> = if req.mediums.is_empty() {
            destination(Channel::Sms).into_iter().collect()
        } else {
            let mut targets = Vec::with_capacity(req.mediums.len());
            for channel in &req.mediums {
                let target = destination(*channel).ok_or_else(|| {
                    DomainError::invalid_parameter(format!(
                        "No {} provided but desired delivery medium was {}",
                        channel.attribute(),
                        match channel {
                            Channel::Email => "Email",
                            Channel::Sms => "Sms",
                        }
                    ))
                })?;
                if !targets.contains(&target) {
                    targets.push(target);
                }
            }
            targets
        };
        for (channel, _) in &targets {
            self.outbox_status(*channel)?;
        }
        Ok(targets)
    }

    /// The CustomMessage function's wording of an invitation; the function is not asked when
    /// nothing will be sent.
    async fn invite_wording(
        &self,
        pool: &UserPool,
        user: &User,
        req: &AdminCreateUser,
        targets: &[(Channel, String)],
    ) -> EngineResult<Letter> {
        if targets.is_empty() {
            return Ok(Letter::plain("AdminCreateUser"));
        }
        self.custom_message(
            pool,
            None,
            user,
            "AdminCreateUser",
            req.client_metadata.as_ref(),
        )
        .await
    }

    /// Queues the invitation with the temporary password to each of `targets`.
    async fn invite(
        &self,
        tx: &mut dyn Tx,
        pool: &UserPool,
        user: &User,
        targets: &[(Channel, String)],
        (temporary, wording): (&str, &Letter),
        now: Timestamp,
    ) -> EngineResult<()> {
        for (channel, to) in targets {
            self.enqueue(
                tx,
                pool,
                user,
                (*channel, to),
                (
                    crate::outbox::MessageKind::Invite {
                        temporary_password: temporary,
                    },
                    wording,
                ),
                now,
            )
            .await?;
        }
        Ok(())
    }

    pub async fn admin_get_user(&self, pool_id: &UserPoolId, username: &str) -> EngineResult<User> {
        let mut tx = self.inner.store.read().await?;
        let pool = self.load_pool(&mut *tx, pool_id).await?;
        self.admin_user(&mut *tx, &pool, username).await
    }

    pub async fn admin_delete_user(
        &self,
        pool_id: &UserPoolId,
        username: &str,
    ) -> EngineResult<()> {
        let mut tx = self.inner.store.begin().await?;
        let pool = self.load_pool(&mut *tx, pool_id).await?;
        let user = self.admin_user(&mut *tx, &pool, username).await?;
        tx.delete_user(pool_id, &user.sub).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn admin_update_user_attributes(
        &self,
        pool_id: &UserPoolId,
        username: &str,
        writes: Vec<(String, String)>,
        client_metadata: Option<&BTreeMap<String, String>>,
    ) -> EngineResult<Vec<DeliveryDetails>> {
        let who = UserRef::Admin {
            pool: pool_id,
            username,
        };
        let wording = self
            .wording_for(who, None, "UpdateUserAttribute", client_metadata)
            .await?;
        let mut tx = self.inner.store.begin().await?;
        let pool = self.load_pool(&mut *tx, pool_id).await?;
        let user = self.admin_user(&mut *tx, &pool, username).await?;
        self.write_attributes(tx, &pool, &wording, user, &writes, Writer::Admin)
            .await
    }

    /// Validates and applies attribute writes to `user` in `tx` (which it commits): a changed
    /// email or phone number gets a code as [`Engine::attribute_changes`] decides. Returns
    /// where codes went.
    async fn write_attributes(
        &self,
        mut tx: Box<dyn Tx>,
        pool: &UserPool,
        wording: &Letter,
        mut user: User,
        writes: &[(String, String)],
        writer: Writer,
    ) -> EngineResult<Vec<DeliveryDetails>> {
        let writes = attributes::validate_writes(
            &pool.config.schema,
            writes,
            writer,
            WriteKind::Update,
            &user.attributes,
        )?;
        let now = self.now();
        let before = user.clone();
        apply_writes(&mut user, writes.clone());
        let sent = self
            .attribute_changes(&mut *tx, pool, wording, &before, &mut user, &writes, now)
            .await?;
        user.modified_at = now;
        self.save_user(&mut *tx, pool, &user).await?;
        tx.commit().await?;
        Ok(sent)
    }

    pub async fn admin_delete_user_attributes(
        &self,
        pool_id: &UserPoolId,
        username: &str,
        names: Vec<String>,
    ) -> EngineResult<()> {
        let mut tx = self.inner.store.begin().await?;
        let pool = self.load_pool(&mut *tx, pool_id).await?;
        let mut user = self.admin_user(&mut *tx, &pool, username).await?;
        delete_attributes(&pool, &mut user, &names)?;
        user.modified_at = self.now();
        self.save_user(&mut *tx, &pool, &user).await?;
        tx.commit().await?;
        Ok(())
    }

    /// AdminEnableUser / AdminDisableUser. Disabling also revokes the user's tokens.
    pub async fn admin_set_user_enabled(
        &self,
        pool_id: &UserPoolId,
        username: &str,
        enabled: bool,
    ) -> EngineResult<()> {
        let now = self.now();
        let mut tx = self.inner.store.begin().await?;
        let pool = self.load_pool(&mut *tx, pool_id).await?;
        let mut user = self.admin_user(&mut *tx, &pool, username).await?;
        user.enabled = enabled;
        user.modified_at = now;
        self.save_user(&mut *tx, &pool, &user).await?;
        if !enabled {
            tx.revoke_user_token_families(pool_id, &user.sub, now)
                .await?;
        }
        tx.commit().await?;
        Ok(())
    }

    pub async fn admin_set_user_password(
        &self,
        pool_id: &UserPoolId,
        username: &str,
        password: &str,
        permanent: bool,
    ) -> EngineResult<()> {
        let now = self.now();
        let (pool, existing) = {
            let mut tx = self.inner.store.read().await?;
            let pool = self.load_pool(&mut *tx, pool_id).await?;
            let user = self.admin_user(&mut *tx, &pool, username).await?;
            (pool, user)
        };
        pool.config.password_policy.check(password)?;
        let screening = self
            .screen_password(
                &pool,
                (Some(existing.sub), None),
                (
                    CredentialEvent::PasswordChange,
                    AuthEventType::PasswordChange,
                ),
                password,
            )
            .await?;
        let validity = u64::from(
            pool.config
                .password_policy
                .temporary_password_validity_days
                .max(1),
        );
        let expires_at =
            (!permanent).then(|| now.plus(std::time::Duration::from_secs(86_400 * validity)));
        let credentials = self
            .credentials(
                &pool,
                &existing.sub,
                &existing.username,
                password,
                expires_at,
            )
            .await?;
        let mut tx = self.inner.store.begin().await?;
        let mut user = self.admin_user(&mut *tx, &pool, username).await?;
        if user.sub != existing.sub {
            return Err(crate::EngineError::Contended);
        }
        credentials.apply(&mut user);
        if permanent {
            if user.status != UserStatus::ExternalProvider {
                user.status = UserStatus::Confirmed;
            }
        } else {
            user.status = UserStatus::ForceChangePassword;
        }
        user.modified_at = now;
        self.save_user(&mut *tx, &pool, &user).await?;
        self.record_screening(
            &mut *tx,
            &pool,
            (user.sub, None),
            AuthEventType::PasswordChange,
            &screening,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn admin_user_global_sign_out(
        &self,
        pool_id: &UserPoolId,
        username: &str,
    ) -> EngineResult<()> {
        let mut tx = self.inner.store.begin().await?;
        let pool = self.load_pool(&mut *tx, pool_id).await?;
        let user = self.admin_user(&mut *tx, &pool, username).await?;
        tx.revoke_user_token_families(pool_id, &user.sub, self.now())
            .await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_users(
        &self,
        pool_id: &UserPoolId,
        filter: Option<&str>,
        limit: usize,
        token: Option<&str>,
    ) -> EngineResult<UserPage> {
        let filter = match filter {
            Some(f) => UserFilter::parse(f)?,
            None => None,
        };
        let after = decode_token(token)?;
        // The pool's case rule first, then the page as one statement of its own: a pool's
        // case rule never changes, and a pool deleted in between has no users to list.
        let pool = {
            let mut tx = self.inner.store.read().await?;
            self.load_pool(&mut *tx, pool_id).await?
        };
        let rows = self
            .inner
            .store
            .list_users(
                pool_id,
                &UserQuery {
                    filter: filter.as_ref(),
                    case_sensitive: pool.config.sign_in.case_sensitive,
                    after: after.as_deref(),
                    limit: limit + 1,
                },
            )
            .await?;
        let (rows, next_token) = paged(rows, limit, |(key, _)| key);
        Ok(UserPage {
            users: rows.into_iter().map(|(_, u)| u).collect(),
            next_token,
        })
    }

    /// The user behind an access token and their pool and client, for self-service operations.
    /// The pool, client and user an access token speaks for. The token is verified before the
    /// caller's transaction is opened: verification reads the store itself, and a request that
    /// held one connection while waiting for another could starve the reader pool.
    async fn self_service(
        &self,
        tx: &mut dyn Tx,
        id: &crate::tokens::AccessIdentity,
    ) -> EngineResult<(UserPool, AppClient, User)> {
        let user = self.token_user(tx, id).await?;
        let pool = self.load_pool(tx, &id.pool_id).await?;
        let client = self.load_client(tx, id.client_id.as_str()).await?;
        Ok((pool, client, user))
    }

    /// GetUser: the attributes the token's client may read, as its ID tokens show them.
    /// One statement reads the token's family, the user and the client (the hot path of every
    /// signed-in app); the token's signature is verified once per token.
    pub async fn get_user(&self, access_token: &str) -> EngineResult<User> {
        let (id, read) = self.verify_access_read(access_token).await?;
        let mut user = crate::tokens::token_user_usable(read.user)?;
        let client = read
            .client
            .ok_or_else(|| DomainError::client_not_found(id.client_id.as_str()))?;
        user.attributes
            .retain(|name, _| client.config.may_read(name));
        Ok(user)
    }

    pub async fn update_user_attributes(
        &self,
        access_token: &str,
        writes: Vec<(String, String)>,
        client_metadata: Option<&BTreeMap<String, String>>,
    ) -> EngineResult<Vec<DeliveryDetails>> {
        let who = UserRef::AccessToken(access_token);
        let wording = self
            .wording_for(who, None, "UpdateUserAttribute", client_metadata)
            .await?;
        let id = self.verify_access_token(access_token).await?;
        let mut tx = self.inner.store.begin().await?;
        let (pool, client, user) = self.self_service(&mut *tx, &id).await?;
        check_client_may_write(&pool, &client, &writes)?;
        self.write_attributes(tx, &pool, &wording, user, &writes, Writer::User)
            .await
    }

    pub async fn delete_user_attributes(
        &self,
        access_token: &str,
        names: Vec<String>,
    ) -> EngineResult<()> {
        let id = self.verify_access_token(access_token).await?;
        let mut tx = self.inner.store.begin().await?;
        let (pool, client, mut user) = self.self_service(&mut *tx, &id).await?;
        let as_writes: Vec<(String, String)> =
            names.iter().map(|n| (n.clone(), String::new())).collect();
        check_client_may_write(&pool, &client, &as_writes)?;
        delete_attributes(&pool, &mut user, &names)?;
        user.modified_at = self.now();
        self.save_user(&mut *tx, &pool, &user).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn delete_user(&self, access_token: &str) -> EngineResult<()> {
        let id = self.verify_access_token(access_token).await?;
        let mut tx = self.inner.store.begin().await?;
        let (pool, _, user) = self.self_service(&mut *tx, &id).await?;
        tx.delete_user(&pool.id, &user.sub).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn change_password(
        &self,
        access_token: &str,
        previous: &str,
        proposed: &str,
    ) -> EngineResult<()> {
        let (pool, client, user) = {
            let id = self.verify_access_token(access_token).await?;
            let mut tx = self.inner.store.read().await?;
            self.self_service(&mut *tx, &id).await?
        };
        pool.config.password_policy.check(proposed)?;
        // Same lockout and same errors as sign-in: ChangePassword is a password oracle too.
        let proven = self
            .check_current_password(&pool, &client, user.username.as_str(), previous)
            .await
            .map_err(|e| match e {
                EngineError::Client(d) if d.kind == ErrorKind::UserNotFound => {
                    DomainError::incorrect_credentials().into()
                }
                other => other,
            })?;
        let now = self.now();
        let screening = self
            .screen_password(
                &pool,
                (Some(user.sub), Some(client.client_id.as_str())),
                (
                    CredentialEvent::PasswordChange,
                    AuthEventType::PasswordChange,
                ),
                proposed,
            )
            .await;
        let screening = match screening {
            Ok(s) => s,
            Err(e) => {
                // The current password was right: settle that before refusing the new one.
                let mut tx = self.inner.store.begin().await?;
                self.settle(&mut *tx, &pool, proven).await?;
                tx.commit().await?;
                return Err(e);
            }
        };
        let credentials = self
            .credentials(&pool, &user.sub, &user.username, proposed, None)
            .await?;
        let mut tx = self.inner.store.begin().await?;
        let mut user = self.settle(&mut *tx, &pool, proven).await?;
        credentials.apply(&mut user);
        user.modified_at = now;
        self.save_user(&mut *tx, &pool, &user).await?;
        self.record_screening(
            &mut *tx,
            &pool,
            (user.sub, Some(client.client_id.as_str())),
            AuthEventType::PasswordChange,
            &screening,
            now,
        )
        .await?;
        tx.commit().await?;
        Ok(())
    }
}

fn delete_attributes(pool: &UserPool, user: &mut User, names: &[String]) -> EngineResult<()> {
    // Cognito names every unknown attribute, one line each.
    let unknown: String = names
        .iter()
        .filter(|n| *n != attributes::SUB && !pool.config.schema.iter().any(|s| &&s.name == n))
        .map(|n| format!("user.{n}: Attribute does not exist in the schema.\n"))
        .collect();
    if !unknown.is_empty() {
        return Err(
            DomainError::invalid_parameter(format!("Invalid user attributes: {unknown}")).into(),
        );
    }
    for name in names {
        if name == attributes::SUB {
            return Err(DomainError::invalid_parameter("Cannot delete the sub attribute").into());
        }
        let Some(def) = pool.config.schema.iter().find(|s| &s.name == name) else {
            continue;
        };
        if def.required {
            return Err(DomainError::invalid_parameter(format!(
                "Cannot delete required attribute {name}"
            ))
            .into());
        }
        user.attributes.remove(name);
        match name.as_str() {
            attributes::EMAIL => {
                user.attributes.remove(attributes::EMAIL_VERIFIED);
            }
            attributes::PHONE_NUMBER => {
                user.attributes.remove(attributes::PHONE_NUMBER_VERIFIED);
            }
            _ => {}
        }
    }
    Ok(())
}
