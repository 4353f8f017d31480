//! What follows a proof: after a password (or SRP proof, or new password, or second factor) the
//! domain's [`next_step`] decides what the sign-in still owes, and this module opens that
//! challenge — NEW_PASSWORD_REQUIRED, SMS_MFA, EMAIL_OTP, SOFTWARE_TOKEN_MFA, SELECT_MFA_TYPE,
//! MFA_SETUP — or issues the tokens; and answers the MFA challenges.

use crate::Engine;
use crate::error::{EngineError, EngineResult};
use crate::flow::{AuthOutcome, param};
use crate::outbox::{Letter, MessageKind};
use crate::triggers::ClientMetadata;
use std::collections::BTreeMap;
use tessera_domain::attributes;
use tessera_domain::client::AppClient;
use tessera_domain::codes;
use tessera_domain::flow::{
    AuthSession, Challenge, DeviceState, SignInContext, Stage, Step, next_step,
};
use tessera_domain::messages::Channel;
use tessera_domain::mfa::{MfaFactor, MfaStep};
use tessera_domain::pool::UserPool;
use tessera_domain::triggers::Trigger;
use tessera_domain::user::User;
use tessera_domain::{DomainError, ErrorKind, Timestamp};
use tessera_store::{Tx, UserLookup};

pub(crate) fn mfa_mismatch() -> EngineError {
    DomainError::new(
        ErrorKind::CodeMismatch,
        "Invalid code or auth state for the user.",
    )
    .into()
}

pub(crate) fn expired_session() -> EngineError {
    DomainError::not_authorized("Invalid session for the user, session is expired.").into()
}

fn json_list(factors: &[MfaFactor]) -> String {
    let names: Vec<&str> = factors.iter().map(|f| f.name()).collect();
    serde_json::to_string(&names).unwrap_or_else(|_| "[]".into())
}

/// The sealing purpose of a TOTP secret: bound to its user.
pub(crate) fn totp_purpose(pool: &UserPool, user: &User) -> String {
    totp_purpose_of(&pool.id, &user.sub)
}

pub(crate) fn totp_purpose_of(
    pool: &tessera_domain::UserPoolId,
    sub: &tessera_domain::Sub,
) -> String {
    format!("totp-secret:{pool}:{sub}")
}

/// One sign-in in progress: where it happens and what it carries between challenges.
pub(crate) struct SignIn<'a> {
    pub pool: &'a UserPool,
    pub client: &'a AppClient,
    pub context: SignInContext,
    /// The ClientMetadata of the call being answered, for PostAuthentication and
    /// PreTokenGeneration (InitiateAuth's goes to neither, as with Cognito).
    pub metadata: ClientMetadata,
}

impl Engine {
    /// Continues a sign-in inside `tx` (which it commits): opens the next challenge or issues
    /// tokens.
    pub(crate) async fn proceed(
        &self,
        mut tx: Box<dyn Tx>,
        at: &SignIn<'_>,
        user: &User,
        stage: Stage,
        now: Timestamp,
    ) -> EngineResult<AuthOutcome> {
        let device = self.presented_device(&mut *tx, at, user).await?;
        let state = match &device {
            Some(d) => DeviceState::Known {
                remembered: d.remembered,
            },
            None => DeviceState::Unknown,
        };
        let mut step = next_step(user, at.pool, stage, state);
        if at.context.risk_mfa && step == Step::Tokens && stage != Stage::SecondFactorProven {
            // Threat protection owes a second factor the pool's MFA setting wouldn't ask for:
            // one the user can answer (judge_sign_in checked there is one).
            let has = |a: &str| user.attribute(a).is_some_and(|v| !v.is_empty());
            let forced = tessera_domain::mfa::mfa_step(
                tessera_domain::pool::MfaMode::On,
                &at.pool.config.mfa_factors,
                &user.mfa,
                has(attributes::PHONE_NUMBER),
                has(attributes::EMAIL),
            );
            if matches!(forced, MfaStep::Challenge(_) | MfaStep::Select(_)) {
                step = Step::Mfa(forced);
            }
        }
        let challenge = match step {
            Step::Tokens => {
                return self.finish_sign_in(tx, at, user, device, stage, now).await;
            }
            Step::NewPassword => Challenge::NewPasswordRequired,
            Step::DeviceSrp => Challenge::DeviceSrpAuth,
            Step::Mfa(MfaStep::Challenge(factor)) => {
                return self.open_factor(tx, at, user, factor, now).await;
            }
            Step::Mfa(MfaStep::Select(choices)) => Challenge::SelectMfaType { choices },
            Step::Mfa(MfaStep::Setup(choices)) => Challenge::MfaSetup {
                choices,
                secret: None,
                verified: false,
            },
            Step::Mfa(MfaStep::None) => {
                return Err(EngineError::Internal("no MFA step to open".into()));
            }
        };
        let outcome = self
            .open_challenge(&mut *tx, at, user, challenge, BTreeMap::new(), now)
            .await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Opens the challenge for one second factor: SMS and email codes are sent now.
    async fn open_factor(
        &self,
        mut tx: Box<dyn Tx>,
        at: &SignIn<'_>,
        user: &User,
        factor: MfaFactor,
        now: Timestamp,
    ) -> EngineResult<AuthOutcome> {
        let (challenge, parameters) = match factor {
            MfaFactor::SoftwareToken => (
                Challenge::SoftwareTokenMfa,
                user.mfa
                    .totp_device_name
                    .iter()
                    .map(|n| ("FRIENDLY_DEVICE_NAME".to_string(), n.clone()))
                    .collect(),
            ),
            MfaFactor::Sms | MfaFactor::Email => {
                let (t, digest, parameters) =
                    self.send_sign_in_code(tx, at, user, factor, now).await?;
                tx = t;
                (Challenge::MfaCode { factor, digest }, parameters)
            }
        };
        let outcome = self
            .open_challenge(&mut *tx, at, user, challenge, parameters, now)
            .await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// Sends a sign-in code by SMS or email (a second factor, or USER_AUTH's SMS_OTP and
    /// EMAIL_OTP) inside `tx`, and returns the transaction to go on with (a CustomMessage function
    /// is asked outside it), the code's keyed digest and the delivery parameters.
    pub(crate) async fn send_sign_in_code(
        &self,
        mut tx: Box<dyn Tx>,
        at: &SignIn<'_>,
        user: &User,
        factor: MfaFactor,
        now: Timestamp,
    ) -> EngineResult<(Box<dyn Tx>, Vec<u8>, BTreeMap<String, String>)> {
        let pool = at.pool;
        let channel = if factor == MfaFactor::Sms {
            Channel::Sms
        } else {
            Channel::Email
        };
        let to = user
            .attribute(channel.attribute())
            .filter(|v| !v.is_empty())
            .ok_or_else(|| {
                DomainError::invalid_parameter(format!(
                    "The user has no {} for {}.",
                    channel.attribute(),
                    factor.name()
                ))
            })?
            .to_string();
        let code = codes::six_digits(&tessera_crypto::random::bytes::<32>())
            .ok_or_else(|| EngineError::Internal("could not draw a code".into()))?;
        // A CustomMessage function is asked outside the transaction: what this one
        // holds so far (a settled password) is committed first.
        let wording = if Self::has_trigger(pool, Trigger::CustomMessage) {
            tx.commit().await?;
            let wording = self
                .custom_message(
                    pool,
                    Some(at.client.client_id.as_str()),
                    user,
                    "Authentication",
                    at.metadata.as_ref(),
                )
                .await?;
            tx = self.inner.store.begin().await?;
            wording
        } else {
            Letter::plain("Authentication")
        };
        let details = self
            .enqueue(
                &mut *tx,
                pool,
                user,
                (channel, &to),
                (MessageKind::MfaCode { code: &code }, &wording),
                now,
            )
            .await?;
        let parameters = BTreeMap::from([
            (
                "CODE_DELIVERY_DELIVERY_MEDIUM".to_string(),
                channel.medium().to_string(),
            ),
            ("CODE_DELIVERY_DESTINATION".to_string(), details.destination),
        ]);
        Ok((tx, self.mfa_digest(pool, user, &code), parameters))
    }

    pub(crate) fn mfa_digest(&self, pool: &UserPool, user: &User, code: &str) -> Vec<u8> {
        self.inner
            .master
            .derive(&[
                b"mfa-code",
                pool.id.as_str().as_bytes(),
                user.sub.to_string().as_bytes(),
                code.as_bytes(),
            ])
            .to_vec()
    }

    /// Opens a server-side session for `challenge` and returns what the client must answer.
    pub(crate) async fn open_challenge(
        &self,
        tx: &mut dyn Tx,
        at: &SignIn<'_>,
        user: &User,
        challenge: Challenge,
        mut parameters: BTreeMap<String, String>,
        now: Timestamp,
    ) -> EngineResult<AuthOutcome> {
        let pool = at.pool;
        parameters.insert("USER_ID_FOR_SRP".to_string(), user.username.to_string());
        match &challenge {
            Challenge::NewPasswordRequired => {
                let attrs: serde_json::Map<String, serde_json::Value> = user
                    .attributes
                    .iter()
                    .filter(|(k, _)| {
                        k.as_str() != attributes::EMAIL_VERIFIED
                            && k.as_str() != attributes::PHONE_NUMBER_VERIFIED
                    })
                    .map(|(k, v)| (k.clone(), serde_json::Value::String(v.clone())))
                    .collect();
                let required: Vec<String> = pool
                    .config
                    .schema
                    .iter()
                    .filter(|s| s.required && s.name != attributes::SUB)
                    .filter(|s| user.attributes.get(&s.name).is_none_or(|v| v.is_empty()))
                    .map(|s| format!("userAttributes.{}", s.name))
                    .collect();
                parameters.insert(
                    "userAttributes".into(),
                    serde_json::Value::Object(attrs).to_string(),
                );
                parameters.insert(
                    "requiredAttributes".into(),
                    serde_json::to_string(&required)
                        .map_err(|e| EngineError::Internal(e.to_string()))?,
                );
            }
            Challenge::SelectMfaType { choices } => {
                parameters.insert("MFAS_CAN_CHOOSE".into(), json_list(choices));
            }
            Challenge::MfaSetup { choices, .. } => {
                parameters.insert("MFAS_CAN_SETUP".into(), json_list(choices));
            }
            Challenge::PasswordVerifier(_) => {
                return Err(EngineError::Internal(
                    "PASSWORD_VERIFIER is opened by USER_SRP_AUTH".into(),
                ));
            }
            Challenge::MfaCode { .. }
            | Challenge::SoftwareTokenMfa
            | Challenge::DeviceSrpAuth
            | Challenge::DevicePasswordVerifier { .. }
            | Challenge::Custom { .. }
            | Challenge::SelectChallenge { .. }
            | Challenge::SignInCode { .. }
            | Challenge::WebAuthn { .. }
            | Challenge::WebAuthnRegistration { .. }
            | Challenge::SignUpConfirmed => {}
        }
        let name = challenge.name().to_string();
        let token = self
            .insert_session(tx, at, user.sub, challenge, now)
            .await?;
        Ok(AuthOutcome::Challenge {
            name,
            session: Some(token),
            parameters,
            available: Vec::new(),
        })
    }

    /// Stores the server side of a challenge for `sub` and returns its opaque Session string.
    pub(crate) async fn insert_session(
        &self,
        tx: &mut dyn Tx,
        at: &SignIn<'_>,
        sub: tessera_domain::Sub,
        challenge: Challenge,
        now: Timestamp,
    ) -> EngineResult<String> {
        let token = tessera_crypto::random::token(96);
        let session = AuthSession {
            pool_id: at.pool.id.clone(),
            client_id: at.client.client_id.clone(),
            sub,
            context: at.context.clone(),
            challenge,
            attempts: 0,
            created_at: now,
            expires_at: now.plus(std::time::Duration::from_secs(
                60 * u64::from(at.client.config.auth_session_validity_minutes),
            )),
        };
        let hash = tessera_crypto::token_hash(&token);
        tx.insert_auth_session(&hash, &session).await?;
        self.index_device_challenge(tx, &session, &hash).await?;
        Ok(token)
    }

    /// Counts a wrong answer against the session (which stays usable for a few more) and
    /// returns the client's error.
    pub(crate) async fn wrong_answer(
        &self,
        hash: &[u8],
        session: &AuthSession,
        error: EngineError,
    ) -> EngineResult<AuthOutcome> {
        let mut tx = self.inner.store.begin().await?;
        let mut s = session.clone();
        s.attempts += 1;
        tx.update_auth_session(hash, &s).await?;
        let second_factor = matches!(
            session.challenge,
            Challenge::MfaCode { .. } | Challenge::SoftwareTokenMfa
        );
        if second_factor {
            self.record_sign_in_step(
                &mut *tx,
                &session.pool_id,
                session.context.event_id.as_deref(),
                Some(false),
                false,
            )
            .await?;
        }
        tx.commit().await?;
        Err(error)
    }

    /// Checks a TOTP code for a user (or a secret being set up) at `now`. Returns the matched
    /// step, None for a wrong code, and Cognito's ExpiredCodeException for a code whose step
    /// was already used (a code works once).
    pub(crate) fn check_totp(
        &self,
        pool: &UserPool,
        user: &User,
        sealed: &[u8],
        code: &str,
        last_step: Option<u64>,
        now: Timestamp,
    ) -> EngineResult<Option<u64>> {
        let secret = self.inner.master.open(&totp_purpose(pool, user), sealed)?;
        let step =
            tessera_crypto::totp::check(&secret, code, u64::try_from(now.secs()).unwrap_or(0))?;
        match (step, last_step) {
            (Some(step), Some(last)) if step <= last => Err(DomainError::new(
                ErrorKind::ExpiredCode,
                "Your software token has already been used once.",
            )
            .into()),
            (step, _) => Ok(step),
        }
    }

    /// SMS_MFA, EMAIL_OTP, SOFTWARE_TOKEN_MFA, SELECT_MFA_TYPE and MFA_SETUP answers.
    pub(crate) async fn answer_mfa(
        &self,
        at: &SignIn<'_>,
        user: User,
        (hash, session): (&[u8], &AuthSession),
        responses: &BTreeMap<String, String>,
        now: Timestamp,
    ) -> EngineResult<AuthOutcome> {
        let pool = at.pool;
        match &session.challenge {
            Challenge::MfaCode { factor, digest } => {
                let code = param(responses, factor.response_key())?;
                let presented = self.mfa_digest(pool, &user, code.trim());
                if !tessera_crypto::constant_time_eq(&presented, digest) {
                    return self.wrong_answer(hash, session, mfa_mismatch()).await;
                }
                self.second_factor_passed(at, hash, &user, None, now).await
            }
            Challenge::SoftwareTokenMfa => {
                let code = param(responses, "SOFTWARE_TOKEN_MFA_CODE")?;
                let Some(sealed) = user.mfa.totp_secret.as_deref() else {
                    return Err(mfa_mismatch());
                };
                match self.check_totp(pool, &user, sealed, code.trim(), user.mfa.totp_last_step, now) {
                    Ok(Some(step)) => {
                        self.second_factor_passed(at, hash, &user, Some(step), now)
                            .await
                    }
                    Ok(None) => self.wrong_answer(hash, session, mfa_mismatch()).await,
                    // A replayed code counts against the session like a wrong one.
                    Err(e) if e.kind() == ErrorKind::ExpiredCode => {
                        self.wrong_answer(hash, session, e).await
                    }
                    Err(e) => Err(e),
                }
            }
            Challenge::SelectMfaType { choices } => {
                let answer = param(responses, "ANSWER")?;
                let Some(factor) = MfaFactor::parse(answer).filter(|f| choices.contains(f)) else {
                    return Err(DomainError::invalid_parameter(format!(
                        "Invalid ANSWER: choose one of {}",
                        json_list(choices)
                    ))
                    .into());
                };
                let mut tx = self.inner.store.begin().await?;
                if !tx.delete_auth_session(hash).await? {
                    return Err(expired_session());
                }
                self.open_factor(tx, at, &user, factor, now).await
            }
            // VerifySoftwareToken already enrolled the factor; answering finishes the sign-in.
            Challenge::MfaSetup { verified: true, .. } => {
                let mut tx = self.inner.store.begin().await?;
                if !tx.delete_auth_session(hash).await? {
                    return Err(expired_session());
                }
                self.proceed(tx, at, &user, Stage::SecondFactorProven, now)
                    .await
            }
            Challenge::MfaSetup { .. } => Err(DomainError::invalid_parameter(
                "Set up a software token with AssociateSoftwareToken and VerifySoftwareToken (using this Session) before answering MFA_SETUP.",
            )
            .into()),
            Challenge::DeviceSrpAuth => self.answer_device_srp(at, user, (hash, session), responses, now).await,
            Challenge::DevicePasswordVerifier { .. } => {
                self.answer_device_verifier(at, user, (hash, session), responses, now)
                    .await
            }
            Challenge::Custom { .. } => {
                let name = user.username.to_string();
                self.answer_custom(at, Some(&user), &name, (hash, session), responses)
                    .await
            }
            Challenge::NewPasswordRequired
            | Challenge::PasswordVerifier(_)
            | Challenge::SelectChallenge { .. }
            | Challenge::SignInCode { .. }
            | Challenge::WebAuthn { .. }
            | Challenge::WebAuthnRegistration { .. }
            | Challenge::SignUpConfirmed => Err(expired_session()),
        }
    }

    async fn second_factor_passed(
        &self,
        at: &SignIn<'_>,
        hash: &[u8],
        user: &User,
        totp_step: Option<u64>,
        now: Timestamp,
    ) -> EngineResult<AuthOutcome> {
        let mut tx = self.inner.store.begin().await?;
        // Single use: only one answer can consume the session.
        if !tx.delete_auth_session(hash).await? {
            return Err(expired_session());
        }
        let pool = at.pool;
        let mut user = tx
            .get_user(&pool.id, &UserLookup::Sub(user.sub))
            .await?
            .ok_or_else(DomainError::incorrect_credentials)?;
        if let Some(step) = totp_step {
            // Store the step inside this transaction: a concurrent answer with the same code
            // either finds the session gone or the step used.
            if user.mfa.totp_last_step.is_some_and(|last| step <= last) {
                return Err(mfa_mismatch());
            }
            user.mfa.totp_last_step = Some(step);
            self.save_user(&mut *tx, pool, &user).await?;
        }
        self.proceed(tx, at, &user, Stage::SecondFactorProven, now)
            .await
    }
}
