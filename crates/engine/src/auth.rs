//! Sign-in: InitiateAuth, AdminInitiateAuth, RespondToAuthChallenge,
//! AdminRespondToAuthChallenge.
//!
//! Every password check goes through [`Engine::check_password`], which applies lockout (charging
//! the attempt in the store before the hash is checked) and answers unknown users with the same
//! work and, when the client asks for it, the same error as a wrong password.

use crate::Engine;
use crate::error::{EngineError, EngineResult};
use crate::flow::{AuthOutcome, AuthRequest, ChallengeResponse, param};
use crate::signin::SignIn;
use crate::telemetry;
use crate::tokens::ClientProof;
use crate::triggers::{ClientMetadata, attributes_of};
use serde_json::json;
use std::collections::BTreeMap;
use tessera_crypto::password::Verified;
use tessera_domain::attributes::{self, WriteKind, Writer};
use tessera_domain::client::{AppClient, AuthFlow, UserExistenceErrors};
use tessera_domain::flow::{AuthSession, Challenge, SignInContext, Stage};
use tessera_domain::pool::UserPool;
use tessera_domain::triggers::{Event, Trigger};
use tessera_domain::user::{User, UserStatus};
use tessera_domain::{DomainError, ErrorKind, Timestamp, UserPoolId};
use tessera_store::{Tx, UserLookup};

pub(crate) fn flow_not_enabled(flow: &str) -> EngineError {
    // Cognito words these differently per flow.
    let message = match flow {
        "USER_SRP_AUTH" => "USER_SRP_AUTH is not enabled for the client.".to_string(),
        _ => format!("{flow} flow not enabled for this client"),
    };
    DomainError::invalid_parameter(message).into()
}

use crate::signin::expired_session;

/// A password check that succeeded and still has to be recorded ([`Engine::settle`]).
#[must_use = "a proven password must be settled, or the lockout counter keeps the attempt"]
pub(crate) struct ProvenPassword {
    sub: tessera_domain::Sub,
    rehash: Option<String>,
    srp: Option<tessera_domain::user::SrpCredential>,
    /// Threat protection: the event the attempt was charged with, and whether the password is
    /// compromised (None: not looked for, as with SRP, which never reveals the password).
    event: Option<String>,
    compromised: Option<bool>,
}

impl ProvenPassword {
    pub(crate) fn new(
        sub: tessera_domain::Sub,
        rehash: Option<String>,
        srp: Option<tessera_domain::user::SrpCredential>,
    ) -> Self {
        Self {
            sub,
            rehash,
            srp,
            event: None,
            compromised: None,
        }
    }

    pub(crate) fn with_event(mut self, event: Option<String>) -> Self {
        self.event = event;
        self
    }
}

/// Whether a user whose password is proven may go on signing in.
pub(crate) fn may_sign_in(user: &User, now: Timestamp) -> EngineResult<()> {
    if !user.enabled {
        return Err(DomainError::not_authorized("User is disabled.").into());
    }
    match user.status {
        UserStatus::Unconfirmed => {
            Err(DomainError::new(ErrorKind::UserNotConfirmed, "User is not confirmed.").into())
        }
        UserStatus::ResetRequired => Err(DomainError::new(
            ErrorKind::PasswordResetRequired,
            "Password reset required for the user",
        )
        .into()),
        UserStatus::ForceChangePassword
            if user
                .password
                .as_ref()
                .and_then(|p| p.expires_at)
                .is_some_and(|exp| now >= exp) =>
        {
            Err(DomainError::not_authorized(
                "Temporary password has expired and must be reset by an administrator.",
            )
            .into())
        }
        _ => Ok(()),
    }
}

/// The error for a user that doesn't exist, as the client's PreventUserExistenceErrors decides.
pub(crate) fn unknown_user(client: &AppClient) -> EngineError {
    match client.config.prevent_user_existence_errors {
        UserExistenceErrors::Enabled => DomainError::incorrect_credentials().into(),
        UserExistenceErrors::Legacy => DomainError::user_not_found().into(),
    }
}

impl Engine {
    /// Finds a user by what they typed at sign-in: username, then an alias, then `sub`. The
    /// request's audit line names the user found (or only the pool).
    pub(crate) async fn find_user(
        &self,
        tx: &mut dyn Tx,
        pool: &UserPool,
        name: &str,
    ) -> EngineResult<Option<User>> {
        let found = self.lookup_user(tx, pool, name).await?;
        match &found {
            Some(user) => crate::audit::note_user(&pool.id, &user.sub),
            None => crate::audit::note_pool(&pool.id),
        }
        Ok(found)
    }

    async fn lookup_user(
        &self,
        tx: &mut dyn Tx,
        pool: &UserPool,
        name: &str,
    ) -> EngineResult<Option<User>> {
        let policy = &pool.config.sign_in;
        if let Some(u) = tx
            .get_user(&pool.id, &UserLookup::UsernameKey(policy.key(name)))
            .await?
        {
            return Ok(Some(u));
        }
        for alias in policy.lookup_aliases(name) {
            if let Some(u) = tx.get_user(&pool.id, &UserLookup::Alias(alias)).await? {
                return Ok(Some(u));
            }
        }
        if let Ok(uuid) = uuid::Uuid::parse_str(name)
            && let Some(u) = tx
                .get_user(&pool.id, &UserLookup::Sub(tessera_domain::Sub(uuid)))
                .await?
        {
            return Ok(Some(u));
        }
        Ok(None)
    }

    /// Checks a password for the user known as `name`, with lockout. The attempt is charged
    /// before the hash is checked; a success must be [`settled`](Engine::settle) in the caller's
    /// next write transaction, which resets the counter. Every failure is indistinguishable from
    /// a wrong password except what the client's settings allow (UserNotFoundException under
    /// LEGACY).
    pub(crate) async fn check_password(
        &self,
        pool: &UserPool,
        client: &AppClient,
        name: &str,
        password: &str,
    ) -> EngineResult<ProvenPassword> {
        self.refuse_blocked_address(pool, client.client_id.as_str())?;
        self.check_password_as(pool, client, name, password, true)
            .await
    }

    /// [`Engine::check_password`] for a user proving their current password to change it:
    /// lockout applies, but it is no sign-in (no auth event, no compromised-password check of
    /// a password being replaced).
    pub(crate) async fn check_current_password(
        &self,
        pool: &UserPool,
        client: &AppClient,
        name: &str,
        password: &str,
    ) -> EngineResult<ProvenPassword> {
        self.check_password_as(pool, client, name, password, false)
            .await
    }

    async fn check_password_as(
        &self,
        pool: &UserPool,
        client: &AppClient,
        name: &str,
        password: &str,
        sign_in: bool,
    ) -> EngineResult<ProvenPassword> {
        let now = self.now();
        let (user, event) = self
            .charge_attempt(pool, client, name, password, now, sign_in)
            .await?;
        let verified = match &user.password {
            Some(p) => {
                self.count_password_check();
                self.inner.hasher.verify(password, &p.phc).await?
            }
            None => {
                self.inner.hasher.verify_decoy(password).await?;
                // An imported user without a password hash has nothing to prove: Cognito sends
                // them to ForgotPassword.
                if user.status == tessera_domain::user::UserStatus::ResetRequired {
                    return Err(DomainError::new(
                        tessera_domain::ErrorKind::PasswordResetRequired,
                        "Password reset required for the user",
                    )
                    .into());
                }
                Verified::No
            }
        };
        let Verified::Yes { needs_rehash } = verified else {
            return Err(DomainError::incorrect_credentials().into());
        };
        let rehash = if needs_rehash {
            Some(self.inner.hasher.hash(password).await?)
        } else {
            None
        };
        // A user from before SRP (or an import) gets a verifier now that we know the password.
        let srp = match user.srp {
            None => {
                self.srp_credential(pool, &user.sub, &user.username, password)
                    .await?
            }
            Some(_) => None,
        };
        let compromised = if sign_in {
            self.sign_in_password_compromised(pool, client.client_id.as_str(), password)
                .await
        } else {
            None
        };
        let mut proven = ProvenPassword::new(user.sub, rehash, srp).with_event(event);
        proven.compromised = compromised;
        Ok(proven)
    }

    /// Records a proven password in `tx`: resets the failure counter, upgrades a weak hash, and
    /// returns the user as stored now.
    pub(crate) async fn settle(
        &self,
        tx: &mut dyn Tx,
        pool: &UserPool,
        proven: ProvenPassword,
    ) -> EngineResult<User> {
        tx.reset_sign_in_failures(&pool.id, &proven.sub).await?;
        let mut user = tx
            .get_user(&pool.id, &UserLookup::Sub(proven.sub))
            .await?
            .ok_or_else(DomainError::incorrect_credentials)?;
        let mut changed = false;
        if let (Some(phc), Some(current)) = (proven.rehash, user.password.as_mut()) {
            current.phc = phc;
            changed = true;
        }
        if let Some(srp) = proven.srp
            && user.srp.is_none()
        {
            user.srp = Some(srp);
            changed = true;
        }
        if changed {
            let aliases = pool.config.sign_in.aliases(&user.attributes);
            match tx.update_user(&user, &aliases).await {
                // A point-in-time recovery pauses writes: the upgrade waits for the next
                // sign-in, the sign-in goes on.
                Err(tessera_store::StoreError::WritesPaused) => {}
                other => other?,
            }
        }
        Ok(user)
    }

    /// Finds the user and charges one sign-in attempt against their lockout counter, or refuses
    /// the attempt while they are locked out. Unknown users cost a decoy hash. With threat
    /// protection on, the attempt's auth event is written (as failed) in the same transaction.
    async fn charge_attempt(
        &self,
        pool: &UserPool,
        client: &AppClient,
        name: &str,
        password: &str,
        now: Timestamp,
        sign_in: bool,
    ) -> EngineResult<(User, Option<String>)> {
        for _ in 0..16 {
            let mut tx = self.inner.store.begin().await?;
            let Some(user) = self.find_user(&mut *tx, pool, name).await? else {
                if client.config.prevent_user_existence_errors == UserExistenceErrors::Enabled {
                    // An unknown name is charged and locked like a real user, so neither the
                    // answers nor their timing tell the two apart.
                    if !self
                        .charge_unknown_name(&mut *tx, pool, &pool.config.sign_in.key(name), now)
                        .await?
                    {
                        continue;
                    }
                    tx.commit().await?;
                } else {
                    drop(tx);
                }
                self.inner.hasher.verify_decoy(password).await?;
                return Err(unknown_user(client));
            };
            let charged = user.failures.charge(now).map_err(|_| {
                telemetry::lockout();
                EngineError::from(DomainError::not_authorized("Password attempts exceeded"))
            })?;
            if tx
                .charge_sign_in(&pool.id, &user.sub, &user.failures, &charged)
                .await?
            {
                let event = if sign_in {
                    self.open_sign_in_event(
                        &mut *tx,
                        pool,
                        client.client_id.as_str(),
                        user.sub,
                        now,
                    )
                    .await?
                } else {
                    None
                };
                tx.commit().await?;
                return Ok((user, event));
            }
        }
        Err(EngineError::Contended)
    }

    /// Charges a failed attempt against a name that matches no user. Ok(false) means a
    /// concurrent attempt won the compare-and-swap (retry); a lock is the same error a real
    /// user gets.
    pub(crate) async fn charge_unknown_name(
        &self,
        tx: &mut dyn Tx,
        pool: &UserPool,
        key: &str,
        now: Timestamp,
    ) -> EngineResult<bool> {
        let current = tx.unknown_user_failures(&pool.id, key).await?;
        let charged = current.charge(now).map_err(|_| {
            telemetry::lockout();
            EngineError::from(DomainError::not_authorized("Password attempts exceeded"))
        })?;
        Ok(tx
            .charge_unknown_user(&pool.id, key, &current, &charged)
            .await?)
    }

    /// What follows a proven password: a challenge or tokens, decided and recorded in the same
    /// transaction that settles the password check.
    pub(crate) async fn after_password(
        &self,
        at: &SignIn<'_>,
        proven: ProvenPassword,
    ) -> EngineResult<AuthOutcome> {
        let now = self.now();
        let threat = (proven.event.clone(), proven.compromised);
        let mut tx = self.inner.store.begin().await?;
        let user = self.settle(&mut *tx, at.pool, proven).await?;
        if let Err(e) = may_sign_in(&user, now) {
            // The password was right: the reset stands even though sign-in stops here.
            tx.commit().await?;
            return Err(e);
        }
        if let Some(history) = at.context.custom.clone() {
            // SRP inside CUSTOM_AUTH: the pool's functions decide what follows.
            tx.commit().await?;
            return self.custom_after_password(at, &user, history).await;
        }
        let judged = self
            .judge_sign_in(&mut *tx, at, &user, (threat.0.as_deref(), threat.1), now)
            .await?;
        self.proceed_judged(tx, at, &user, (judged, Stage::PasswordProven), now)
            .await
    }

    /// Goes on after threat protection's judgement of a proven first factor: a block is
    /// committed with its event and returned; otherwise the sign-in proceeds carrying the event
    /// (and the second factor a risk level may owe).
    pub(crate) async fn proceed_judged(
        &self,
        tx: Box<dyn Tx>,
        at: &SignIn<'_>,
        user: &User,
        (judged, stage): (Result<crate::threat::Judgement, DomainError>, Stage),
        now: Timestamp,
    ) -> EngineResult<AuthOutcome> {
        match judged {
            Err(blocked) => {
                // The refusal and its event are the outcome: both are kept.
                tx.commit().await?;
                Err(blocked.into())
            }
            Ok(crate::threat::Judgement::Untracked) => self.proceed(tx, at, user, stage, now).await,
            Ok(crate::threat::Judgement::Proceed { event_id, risk_mfa }) => {
                let at = SignIn {
                    pool: at.pool,
                    client: at.client,
                    context: SignInContext {
                        event_id: Some(event_id),
                        risk_mfa,
                        ..at.context.clone()
                    },
                    metadata: at.metadata.clone(),
                };
                self.proceed(tx, &at, user, stage, now).await
            }
        }
    }

    /// PreAuthentication: the pool's function may refuse a sign-in before any proof is checked.
    /// Unknown names reach it (with `userNotFound`) only when the client hides which names
    /// exist, as Cognito does.
    pub(crate) async fn pre_authentication(
        &self,
        pool: &UserPool,
        client: &AppClient,
        name: &str,
        metadata: &ClientMetadata,
    ) -> EngineResult<()> {
        if !Self::has_trigger(pool, Trigger::PreAuthentication) {
            return Ok(());
        }
        let user = {
            let mut tx = self.inner.store.read().await?;
            self.find_user(&mut *tx, pool, name).await?
        };
        let hiding = client.config.prevent_user_existence_errors == UserExistenceErrors::Enabled;
        let source = "PreAuthentication_Authentication";
        let mut event = match &user {
            Some(u) => Event::new(Trigger::PreAuthentication, source, u.username.as_str())
                .with("userAttributes", attributes_of(pool, u)),
            None if hiding => Event::new(Trigger::PreAuthentication, source, name)
                .with("userAttributes", json!({})),
            None => return Ok(()),
        };
        if hiding {
            event = event.with("userNotFound", json!(user.is_none()));
        }
        let event = event.with_map("validationData", metadata.as_ref());
        self.run_trigger(pool, Some(client.client_id.as_str()), event)
            .await?;
        Ok(())
    }

    /// Loads the client and its pool, checking an admin caller named the right pool.
    pub(crate) async fn client_and_pool(
        &self,
        client_id: &str,
        admin_pool: Option<&UserPoolId>,
    ) -> EngineResult<(AppClient, UserPool)> {
        let mut tx = self.inner.store.read().await?;
        if let Some(pool) = admin_pool {
            self.load_pool(&mut *tx, pool).await?;
        }
        let client = self.load_client(&mut *tx, client_id).await?;
        if admin_pool.is_some_and(|p| p != &client.pool_id) {
            return Err(DomainError::client_not_found(client_id).into());
        }
        let pool = self.load_pool(&mut *tx, &client.pool_id).await?;
        Ok((client, pool))
    }

    pub async fn initiate_auth(&self, req: AuthRequest) -> EngineResult<AuthOutcome> {
        let flow = telemetry::flow_label(&req.flow);
        let refresh = req.flow.starts_with("REFRESH_TOKEN");
        let client_id = req.client_id.clone();
        let outcome = self.start_sign_in(req).await;
        telemetry::sign_in(flow, &outcome);
        self.count_sign_in(&client_id, refresh, &outcome);
        outcome
    }

    async fn start_sign_in(&self, req: AuthRequest) -> EngineResult<AuthOutcome> {
        let admin = req.admin_pool.is_some();
        let (client, pool) = self
            .client_and_pool(&req.client_id, req.admin_pool.as_ref())
            .await?;
        let params = &req.parameters;
        match req.flow.as_str() {
            "USER_PASSWORD_AUTH" | "ADMIN_USER_PASSWORD_AUTH" | "ADMIN_NO_SRP_AUTH" => {
                let admin_flow = req.flow != "USER_PASSWORD_AUTH";
                if admin_flow != admin {
                    return Err(DomainError::invalid_parameter(
                        "Initiate Auth method not supported.",
                    )
                    .into());
                }
                let needed = if admin_flow {
                    AuthFlow::AdminUserPassword
                } else {
                    AuthFlow::UserPassword
                };
                if !client.config.allows(needed) {
                    return Err(flow_not_enabled(&req.flow));
                }
                let username = param(params, "USERNAME")?;
                let password = param(params, "PASSWORD")?;
                self.check_client_proof(
                    &client,
                    &[username],
                    ClientProof::SecretHash(params.get("SECRET_HASH").map(String::as_str)),
                )?;
                self.migrate_if_unknown(
                    &pool,
                    &client,
                    username,
                    Some(password),
                    &req.client_metadata,
                )
                .await?;
                self.pre_authentication(&pool, &client, username, &req.client_metadata)
                    .await?;
                let proven = self
                    .check_password(&pool, &client, username, password)
                    .await?;
                let at = SignIn {
                    pool: &pool,
                    client: &client,
                    context: SignInContext {
                        device_key: params.get("DEVICE_KEY").cloned(),
                        srp: false,
                        custom: None,
                        hosted: false,
                        ..Default::default()
                    },
                    metadata: None,
                };
                self.after_password(&at, proven).await
            }
            "REFRESH_TOKEN_AUTH" | "REFRESH_TOKEN" => {
                let token = param(params, "REFRESH_TOKEN")?;
                let tokens = self
                    .refresh_tokens(
                        &req.client_id,
                        token,
                        ClientProof::SecretHash(params.get("SECRET_HASH").map(String::as_str)),
                        params.get("DEVICE_KEY").map(String::as_str),
                        false,
                    )
                    .await?;
                Ok(AuthOutcome::Tokens(tokens))
            }
            "USER_SRP_AUTH" => {
                if !client.config.allows(AuthFlow::UserSrp) {
                    return Err(flow_not_enabled(&req.flow));
                }
                self.refuse_blocked_address(&pool, client.client_id.as_str())?;
                self.pre_authentication(
                    &pool,
                    &client,
                    param(params, "USERNAME")?,
                    &req.client_metadata,
                )
                .await?;
                self.initiate_srp(&pool, &client, params, None).await
            }
            "CUSTOM_AUTH" => {
                self.initiate_custom(&pool, &client, params, &req.client_metadata)
                    .await
            }
            "USER_AUTH" => match &req.session {
                Some(session) => {
                    self.sign_in_after_sign_up(
                        &pool,
                        &client,
                        params,
                        session,
                        &req.client_metadata,
                    )
                    .await
                }
                None => {
                    self.initiate_user_auth(&pool, &client, params, &req.client_metadata, false)
                        .await
                }
            },
            other => Err(DomainError::new(
                ErrorKind::UnsupportedOperation,
                format!("Tessera does not support the {other} flow yet"),
            )
            .into()),
        }
    }

    pub async fn respond_to_auth_challenge(
        &self,
        req: ChallengeResponse,
    ) -> EngineResult<AuthOutcome> {
        let challenge = telemetry::challenge_label(&req.challenge_name);
        let client_id = req.client_id.clone();
        let outcome = self.answer_challenge(req, false).await;
        telemetry::challenge_answered(challenge, &outcome);
        self.count_sign_in(&client_id, false, &outcome);
        outcome
    }

    /// Answers a challenge through the API (`hosted` false) or the hosted pages; a session
    /// opened by one door can't be answered through the other.
    pub(crate) async fn answer_challenge(
        &self,
        req: ChallengeResponse,
        hosted: bool,
    ) -> EngineResult<AuthOutcome> {
        let (client, pool) = self
            .client_and_pool(&req.client_id, req.admin_pool.as_ref())
            .await?;
        if req.challenge_name == "PASSWORD_VERIFIER" {
            // Keyed by its SECRET_BLOCK; Cognito's clients send no Session for it.
            return self
                .answer_password_verifier(&pool, &client, &req.responses, &req.client_metadata)
                .await;
        }
        let username = param(&req.responses, "USERNAME")?;
        self.check_client_proof(
            &client,
            &[username],
            ClientProof::SecretHash(req.responses.get("SECRET_HASH").map(String::as_str)),
        )?;
        let now = self.now();
        let (hash, session, user) = {
            let mut tx = self.inner.store.read().await?;
            let user = self.find_user(&mut *tx, &pool, username).await?;
            let (hash, session) = match req.session.as_deref().filter(|s| !s.is_empty()) {
                Some(token) => {
                    let hash = tessera_crypto::token_hash(token);
                    let session = tx
                        .get_auth_session(&hash)
                        .await?
                        .ok_or_else(expired_session)?;
                    if !session.is_live(now)
                        || session.client_id != client.client_id
                        || session.pool_id != pool.id
                        || session.context.hosted != hosted
                    {
                        return Err(expired_session());
                    }
                    (hash, session)
                }
                None => {
                    let pending = (&pool, &client, user.as_ref());
                    self.sessionless_device_challenge(&mut *tx, pending, &req, now)
                        .await?
                }
            };
            let user = user.filter(|u| u.sub == session.sub);
            (hash, session, user)
        };
        if session.challenge.name() != req.challenge_name {
            return Err(DomainError::invalid_parameter(format!(
                "The session was issued for {}, not {}",
                session.challenge.name(),
                req.challenge_name
            ))
            .into());
        }
        let at = SignIn {
            pool: &pool,
            client: &client,
            context: session.context.clone(),
            metadata: req.client_metadata.clone(),
        };
        // USER_AUTH's first factors answer for names that match nobody too (in the same shape
        // and time as for real users).
        let choice_step = (&hash[..], &session);
        match &session.challenge {
            Challenge::SelectChallenge { .. } => {
                return self
                    .answer_select_challenge(&at, user, username, choice_step, &req.responses)
                    .await;
            }
            Challenge::SignInCode { .. } => {
                return self
                    .answer_sign_in_code(&at, user, username, choice_step, &req.responses)
                    .await;
            }
            Challenge::WebAuthn { .. } => {
                return self
                    .answer_web_authn(&at, user, username, choice_step, &req.responses)
                    .await;
            }
            _ => {}
        }
        let Some(user) = user else {
            // A custom challenge opened for a name that matches nobody runs its course through
            // the pool's functions (told userNotFound) and fails only at the end, as Cognito's
            // does, so it answers in the same time and shape as a real one.
            if matches!(session.challenge, Challenge::Custom { .. })
                && client.config.prevent_user_existence_errors == UserExistenceErrors::Enabled
            {
                return self
                    .answer_custom(&at, None, username, (&hash, &session), &req.responses)
                    .await;
            }
            return Err(DomainError::incorrect_credentials().into());
        };
        match session.challenge {
            Challenge::NewPasswordRequired => {
                self.answer_new_password(&at, user, (&hash, &session), &req.responses, now)
                    .await
            }
            Challenge::PasswordVerifier(_) => Err(expired_session()),
            _ => {
                self.answer_mfa(&at, user, (&hash, &session), &req.responses, now)
                    .await
            }
        }
    }

    /// NEW_PASSWORD_REQUIRED: the user picks a password and fills in required attributes.
    async fn answer_new_password(
        &self,
        at: &SignIn<'_>,
        mut user: User,
        (hash, session): (&[u8], &AuthSession),
        responses: &BTreeMap<String, String>,
        now: Timestamp,
    ) -> EngineResult<AuthOutcome> {
        let pool = at.pool;
        let password = param(responses, "NEW_PASSWORD")?;
        let writes: Vec<(String, String)> = responses
            .iter()
            .filter_map(|(k, v)| {
                k.strip_prefix("userAttributes.")
                    .map(|name| (name.to_string(), v.clone()))
            })
            .collect();
        let checked = (|| {
            pool.config.password_policy.check(password)?;
            let writes = attributes::validate_writes(
                &pool.config.schema,
                &writes,
                Writer::User,
                WriteKind::Create,
                &user.attributes,
            )?;
            let mut attrs = user.attributes.clone();
            for (k, v) in writes {
                attrs.insert(k, v);
            }
            attributes::check_required(&pool.config.schema, &attrs)?;
            Ok::<_, DomainError>(attrs)
        })();
        let attrs = match checked {
            Ok(a) => a,
            // A wrong answer uses up one of the session's attempts; the session stays usable.
            Err(e) => return self.wrong_answer(hash, session, e.into()).await,
        };
        let screening = match self
            .screen_password(
                pool,
                (Some(user.sub), Some(at.client.client_id.as_str())),
                (
                    tessera_domain::threat::CredentialEvent::PasswordChange,
                    tessera_domain::threat::AuthEventType::PasswordChange,
                ),
                password,
            )
            .await
        {
            Ok(s) => s,
            Err(e) => return self.wrong_answer(hash, session, e).await,
        };
        let credentials = self
            .credentials(pool, &user.sub, &user.username, password, None)
            .await?;
        let mut tx = self.inner.store.begin().await?;
        if !tx.delete_auth_session(hash).await? {
            return Err(expired_session());
        }
        user.attributes = attrs;
        credentials.apply(&mut user);
        user.status = UserStatus::Confirmed;
        user.modified_at = now;
        let aliases = pool.config.sign_in.aliases(&user.attributes);
        tx.update_user(&user, &aliases)
            .await
            .map_err(|e| crate::error::on_conflict(e, |c| alias_conflict(pool, c, false)))?;
        self.record_screening(
            &mut *tx,
            pool,
            (user.sub, Some(at.client.client_id.as_str())),
            tessera_domain::threat::AuthEventType::PasswordChange,
            &screening,
            now,
        )
        .await?;
        self.proceed(tx, at, &user, Stage::PasswordChosen, now)
            .await
    }
}

pub(crate) fn alias_conflict(
    pool: &UserPool,
    c: &tessera_store::Conflict,
    creating: bool,
) -> Option<DomainError> {
    match c {
        tessera_store::Conflict::Alias(kind) => Some(pool.config.sign_in.alias_conflict(
            &tessera_domain::pool::Alias {
                kind: *kind,
                key: String::new(),
            },
            creating,
        )),
        _ => None,
    }
}
