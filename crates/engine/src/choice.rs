//! Choice-based sign-in: InitiateAuth and AdminInitiateAuth with USER_AUTH, SELECT_CHALLENGE,
//! and the passwordless first factors EMAIL_OTP and SMS_OTP (WEB_AUTHN is in `passkeys`);
//! GetUserAuthFactors and AdminGetUserAuthFactors.
//!
//! The password factors join the existing flows: PASSWORD goes through
//! [`Engine::check_password`] and [`Engine::after_password`] (lockout, MFA as the pool says),
//! PASSWORD_SRP through [`Engine::initiate_srp`]. A passwordless factor ends the sign-in
//! ([`Stage::PasswordlessProven`]). Each attempt at a passwordless factor is charged against
//! the user's lockout counter before it is checked, as a password is.
//!
//! No user enumeration: when the client hides which names exist, SELECT_CHALLENGE offers every
//! challenge the pool allows whoever asks, and a code "sent" to a name that matches nobody (or
//! to a user without that channel) is a simulated challenge that fails like a wrong code.

use crate::Engine;
use crate::auth::{flow_not_enabled, may_sign_in, unknown_user};
use crate::error::{EngineError, EngineResult};
use crate::flow::{AuthOutcome, param};
use crate::signin::{SignIn, expired_session, mfa_mismatch};
use crate::tokens::ClientProof;
use crate::triggers::ClientMetadata;
use crate::users::UserRef;
use std::collections::BTreeMap;
use tessera_domain::choice::{self, AuthFactor, FirstFactor, UserFactors};
use tessera_domain::client::{AppClient, AuthFlow, UserExistenceErrors};
use tessera_domain::flow::{AuthSession, Challenge, SignInContext, Stage};
use tessera_domain::messages::{Channel, mask};
use tessera_domain::mfa::MfaFactor;
use tessera_domain::pool::UserPool;
use tessera_domain::user::User;
use tessera_domain::{DomainError, Sub, Timestamp};
use tessera_store::{Tx, UserLookup};

fn hides_names(client: &AppClient) -> bool {
    client.config.prevent_user_existence_errors == UserExistenceErrors::Enabled
}

fn locked() -> EngineError {
    DomainError::not_authorized("Password attempts exceeded").into()
}

fn code_factor(choice: FirstFactor) -> Option<MfaFactor> {
    match choice {
        FirstFactor::EmailOtp => Some(MfaFactor::Email),
        FirstFactor::SmsOtp => Some(MfaFactor::Sms),
        _ => None,
    }
}

/// The ChallengeResponses key of a sign-in code.
fn code_key(factor: MfaFactor) -> &'static str {
    match factor {
        MfaFactor::Sms => "SMS_OTP_CODE",
        _ => "EMAIL_OTP_CODE",
    }
}

impl Engine {
    /// What a user holds for the first factors (a passkey count needs the store).
    pub(crate) async fn user_factors(
        &self,
        tx: &mut dyn Tx,
        user: &User,
    ) -> EngineResult<UserFactors> {
        let passkeys = tx.webauthn_credentials(&user.pool_id, &user.sub).await?;
        Ok(UserFactors::of(user, passkeys.len()))
    }

    /// USER_AUTH's opening checks: the flow is the client's (the hosted pages need no
    /// ExplicitAuthFlows), a USERNAME, and the client's SECRET_HASH for it.
    fn user_auth_caller<'p>(
        &self,
        client: &AppClient,
        params: &'p BTreeMap<String, String>,
        hosted: bool,
    ) -> EngineResult<&'p str> {
        if !hosted && !client.config.allows(AuthFlow::UserAuth) {
            return Err(flow_not_enabled("USER_AUTH"));
        }
        let username = param(params, "USERNAME")?;
        self.check_client_proof(
            client,
            &[username],
            ClientProof::SecretHash(params.get("SECRET_HASH").map(String::as_str)),
        )?;
        Ok(username)
    }

    /// InitiateAuth / AdminInitiateAuth with USER_AUTH; `hosted` for the hosted UI's pages,
    /// which don't need the client's ExplicitAuthFlows (as its password form doesn't).
    pub(crate) async fn initiate_user_auth(
        &self,
        pool: &UserPool,
        client: &AppClient,
        params: &BTreeMap<String, String>,
        metadata: &ClientMetadata,
        hosted: bool,
    ) -> EngineResult<AuthOutcome> {
        let username = self.user_auth_caller(client, params, hosted)?;
        self.refuse_blocked_address(pool, client.client_id.as_str())?;
        let preferred = match params.get("PREFERRED_CHALLENGE").filter(|p| !p.is_empty()) {
            Some(p) => Some(FirstFactor::parse(p).ok_or_else(|| {
                DomainError::invalid_parameter(format!("Invalid PREFERRED_CHALLENGE: {p}"))
            })?),
            None => None,
        };
        if preferred == Some(FirstFactor::Password) {
            // A user the pool's UserMigration function knows arrives with their password.
            let password = param(params, "PASSWORD")?;
            self.migrate_if_unknown(pool, client, username, Some(password), metadata)
                .await?;
        }
        self.pre_authentication(pool, client, username, metadata)
            .await?;
        let (user, offered) = {
            let mut tx = self.inner.store.read().await?;
            let user = self.find_user(&mut *tx, pool, username).await?;
            let facts = match &user {
                Some(u) if !hides_names(client) => Some(self.user_factors(&mut *tx, u).await?),
                Some(_) => None,
                None if hides_names(client) => None,
                None => return Err(unknown_user(client)),
            };
            (user, choice::available_challenges(pool, facts))
        };
        let at = SignIn {
            pool,
            client,
            context: SignInContext {
                device_key: params.get("DEVICE_KEY").cloned(),
                hosted,
                ..Default::default()
            },
            metadata: None,
        };
        if let Some(choice) = preferred.filter(|c| offered.contains(c)) {
            return self
                .start_first_factor(&at, user, username, choice, params)
                .await;
        }
        if offered.is_empty() {
            return Err(DomainError::not_authorized(
                "The user has no sign-in method this user pool allows.",
            )
            .into());
        }
        let now = self.now();
        let sub = user
            .as_ref()
            .map(|u| u.sub)
            .unwrap_or_else(|| Sub::from_random(tessera_crypto::random::bytes::<16>()));
        let names = offered.iter().map(|c| c.name().to_string()).collect();
        let mut tx = self.inner.store.begin().await?;
        let token = self
            .insert_session(
                &mut *tx,
                &at,
                sub,
                Challenge::SelectChallenge { available: offered },
                now,
            )
            .await?;
        tx.commit().await?;
        Ok(AuthOutcome::Challenge {
            name: "SELECT_CHALLENGE".into(),
            session: Some(token),
            parameters: BTreeMap::new(),
            available: names,
        })
    }

    /// USER_AUTH with ConfirmSignUp's Session: the user just confirmed signs in without a second
    /// code — once, through the client that confirmed them, before the session expires.
    pub(crate) async fn sign_in_after_sign_up(
        &self,
        pool: &UserPool,
        client: &AppClient,
        params: &BTreeMap<String, String>,
        session: &str,
        metadata: &ClientMetadata,
    ) -> EngineResult<AuthOutcome> {
        let username = self.user_auth_caller(client, params, false)?;
        self.pre_authentication(pool, client, username, metadata)
            .await?;
        let now = self.now();
        let hash = tessera_crypto::token_hash(session);
        let (stored, user) = {
            let mut tx = self.inner.store.read().await?;
            let stored = tx.get_auth_session(&hash).await?;
            let user = self.find_user(&mut *tx, pool, username).await?;
            (stored, user)
        };
        let stored = stored.filter(|s| {
            s.challenge == Challenge::SignUpConfirmed
                && s.pool_id == pool.id
                && s.client_id == client.client_id
                && now < s.expires_at
        });
        let (Some(stored), Some(user)) = (stored, user) else {
            return Err(expired_session());
        };
        if user.sub != stored.sub {
            return Err(expired_session());
        }
        let at = SignIn {
            pool,
            client,
            context: SignInContext {
                device_key: params.get("DEVICE_KEY").cloned(),
                ..Default::default()
            },
            metadata: None,
        };
        self.passwordless_passed(&at, &hash, &user, now).await
    }

    /// SELECT_CHALLENGE: the ANSWER names one of the offered challenges; PASSWORD and
    /// PASSWORD_SRP carry their proof in the same call, the others open their own challenge.
    pub(crate) async fn answer_select_challenge(
        &self,
        at: &SignIn<'_>,
        user: Option<User>,
        username: &str,
        (hash, session): (&[u8], &AuthSession),
        responses: &BTreeMap<String, String>,
    ) -> EngineResult<AuthOutcome> {
        let Challenge::SelectChallenge { available } = &session.challenge else {
            return Err(expired_session());
        };
        let answer = param(responses, "ANSWER")?;
        let Some(choice) = FirstFactor::parse(answer).filter(|c| available.contains(c)) else {
            let offered: Vec<&str> = available.iter().map(|c| c.name()).collect();
            return Err(DomainError::invalid_parameter(format!(
                "Invalid ANSWER: choose one of {}",
                offered.join(", ")
            ))
            .into());
        };
        // The selection is single use.
        let mut tx = self.inner.store.begin().await?;
        if !tx.delete_auth_session(hash).await? {
            return Err(expired_session());
        }
        tx.commit().await?;
        let mut params = responses.clone();
        if let Some(key) = &session.context.device_key {
            params
                .entry("DEVICE_KEY".into())
                .or_insert_with(|| key.clone());
        }
        self.start_first_factor(at, user, username, choice, &params)
            .await
    }

    /// Starts (or, for the password factors, completes) the chosen first factor.
    async fn start_first_factor(
        &self,
        at: &SignIn<'_>,
        user: Option<User>,
        username: &str,
        choice: FirstFactor,
        params: &BTreeMap<String, String>,
    ) -> EngineResult<AuthOutcome> {
        let (pool, client) = (at.pool, at.client);
        match choice {
            FirstFactor::Password => {
                let password = param(params, "PASSWORD")?;
                let proven = self
                    .check_password(pool, client, username, password)
                    .await?;
                self.after_password(at, proven).await
            }
            FirstFactor::PasswordSrp => {
                let mut srp = params.clone();
                srp.insert("USERNAME".into(), username.to_string());
                self.initiate_srp(pool, client, &srp, None).await
            }
            FirstFactor::EmailOtp | FirstFactor::SmsOtp => {
                let factor = code_factor(choice)
                    .ok_or_else(|| EngineError::Internal("not a code factor".into()))?;
                self.open_sign_in_code(at, user, username, factor).await
            }
            FirstFactor::WebAuthn => self.open_web_authn(at, user, username).await,
        }
    }

    /// EMAIL_OTP / SMS_OTP as a first factor: sends the code and opens its challenge. A name
    /// that matches nobody, or a user without that verified channel, gets a simulated challenge
    /// (when the client hides which names exist; otherwise an error).
    async fn open_sign_in_code(
        &self,
        at: &SignIn<'_>,
        user: Option<User>,
        username: &str,
        factor: MfaFactor,
    ) -> EngineResult<AuthOutcome> {
        let now = self.now();
        let usable = match user {
            Some(u) => {
                let mut tx = self.inner.store.read().await?;
                let facts = self.user_factors(&mut *tx, &u).await?;
                let has = match factor {
                    MfaFactor::Sms => facts.phone,
                    _ => facts.email,
                };
                has.then_some(u)
            }
            None => None,
        };
        let tx = self.inner.store.begin().await?;
        let Some(user) = usable else {
            if !hides_names(at.client) {
                return Err(DomainError::invalid_parameter(format!(
                    "The user has no verified {} for {}.",
                    if factor == MfaFactor::Sms {
                        "phone number"
                    } else {
                        "email"
                    },
                    if factor == MfaFactor::Sms {
                        "SMS_OTP"
                    } else {
                        "EMAIL_OTP"
                    }
                ))
                .into());
            }
            return self
                .simulated_sign_in_code(tx, at, username, factor, now)
                .await;
        };
        let (mut tx, digest, parameters) =
            self.send_sign_in_code(tx, at, &user, factor, now).await?;
        let outcome = self
            .open_challenge(
                &mut *tx,
                at,
                &user,
                Challenge::SignInCode { factor, digest },
                parameters,
                now,
            )
            .await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// A code challenge nobody can answer, shaped like a real one.
    async fn simulated_sign_in_code(
        &self,
        mut tx: Box<dyn Tx>,
        at: &SignIn<'_>,
        username: &str,
        factor: MfaFactor,
        now: Timestamp,
    ) -> EngineResult<AuthOutcome> {
        let key = at.pool.config.sign_in.key(username);
        let seed = self.inner.master.derive(&[
            b"sign-in-code-destination",
            at.pool.id.as_str().as_bytes(),
            key.as_bytes(),
        ]);
        let letter = |i: usize| char::from(b'a' + seed[i] % 26);
        let (channel, destination) = match factor {
            MfaFactor::Sms => {
                let digits: String = (0..11).map(|i| char::from(b'0' + seed[i] % 10)).collect();
                (Channel::Sms, mask(Channel::Sms, &format!("+{digits}")))
            }
            _ if username.contains('@') => (Channel::Email, mask(Channel::Email, username)),
            _ => (
                Channel::Email,
                mask(Channel::Email, &format!("{}@{}", letter(0), letter(1))),
            ),
        };
        let sub = Sub::from_random(tessera_crypto::random::bytes::<16>());
        let challenge = Challenge::SignInCode {
            factor,
            digest: tessera_crypto::random::bytes::<32>().to_vec(),
        };
        let token = self
            .insert_session(&mut *tx, at, sub, challenge, now)
            .await?;
        tx.commit().await?;
        let name = if factor == MfaFactor::Sms {
            "SMS_OTP"
        } else {
            "EMAIL_OTP"
        };
        Ok(AuthOutcome::Challenge {
            name: name.into(),
            session: Some(token),
            parameters: BTreeMap::from([
                (
                    "CODE_DELIVERY_DELIVERY_MEDIUM".to_string(),
                    channel.medium().to_string(),
                ),
                ("CODE_DELIVERY_DESTINATION".to_string(), destination),
                ("USER_ID_FOR_SRP".to_string(), username.to_string()),
            ]),
            available: Vec::new(),
        })
    }

    /// Charges one attempt at a passwordless factor against lockout (a name that matches
    /// nobody is charged like a user), refusing it while locked. Commits on its own.
    pub(crate) async fn charge_first_factor(
        &self,
        pool: &UserPool,
        user: Option<&User>,
        username: &str,
        now: Timestamp,
    ) -> EngineResult<()> {
        for _ in 0..16 {
            let mut tx = self.inner.store.begin().await?;
            let charged = match user {
                Some(u) => {
                    let current = tx
                        .get_user(&pool.id, &UserLookup::Sub(u.sub))
                        .await?
                        .ok_or_else(DomainError::incorrect_credentials)?;
                    let Ok(charged) = current.failures.charge(now) else {
                        crate::telemetry::lockout();
                        return Err(locked());
                    };
                    tx.charge_sign_in(&pool.id, &u.sub, &current.failures, &charged)
                        .await?
                }
                None => {
                    self.charge_unknown_name(
                        &mut *tx,
                        pool,
                        &pool.config.sign_in.key(username),
                        now,
                    )
                    .await?
                }
            };
            if charged {
                tx.commit().await?;
                return Ok(());
            }
        }
        Err(EngineError::Contended)
    }

    /// EMAIL_OTP / SMS_OTP answered (`user` None: the session's user is gone or never was).
    pub(crate) async fn answer_sign_in_code(
        &self,
        at: &SignIn<'_>,
        user: Option<User>,
        username: &str,
        (hash, session): (&[u8], &AuthSession),
        responses: &BTreeMap<String, String>,
    ) -> EngineResult<AuthOutcome> {
        let Challenge::SignInCode { factor, digest } = &session.challenge else {
            return Err(expired_session());
        };
        let code = param(responses, code_key(*factor))?;
        let now = self.now();
        self.charge_first_factor(at.pool, user.as_ref(), username, now)
            .await?;
        let right = user.as_ref().is_some_and(|u| {
            let presented = self.mfa_digest(at.pool, u, code.trim());
            tessera_crypto::constant_time_eq(&presented, digest)
        });
        match user {
            Some(user) if right => self.passwordless_passed(at, hash, &user, now).await,
            _ => self.wrong_answer(hash, session, mfa_mismatch()).await,
        }
    }

    /// A passwordless first factor checked out: the session is consumed, the lockout counter
    /// reset, and the sign-in ends (such factors stand in for MFA).
    pub(crate) async fn passwordless_passed(
        &self,
        at: &SignIn<'_>,
        hash: &[u8],
        user: &User,
        now: Timestamp,
    ) -> EngineResult<AuthOutcome> {
        let mut tx = self.inner.store.begin().await?;
        if !tx.delete_auth_session(hash).await? {
            return Err(expired_session());
        }
        tx.reset_sign_in_failures(&at.pool.id, &user.sub).await?;
        let user = tx
            .get_user(&at.pool.id, &UserLookup::Sub(user.sub))
            .await?
            .ok_or_else(DomainError::incorrect_credentials)?;
        if let Err(e) = may_sign_in(&user, now) {
            tx.commit().await?;
            return Err(e);
        }
        let judged = self
            .judge_passwordless_sign_in(&mut *tx, at, &user, now)
            .await?;
        self.proceed_judged(tx, at, &user, (judged, Stage::PasswordlessProven), now)
            .await
    }

    /// GetUserAuthFactors / AdminGetUserAuthFactors: the user, and the first factors they have
    /// set up among those the pool allows.
    pub async fn get_user_auth_factors(
        &self,
        who: UserRef<'_>,
    ) -> EngineResult<(User, Vec<AuthFactor>)> {
        let who = self.identify(who).await?;
        let mut tx = self.inner.store.read().await?;
        let (pool, user) = self.resolve_user(&mut *tx, &who).await?;
        let facts = self.user_factors(&mut *tx, &user).await?;
        Ok((user.clone(), choice::configured_factors(&pool, facts)))
    }
}
