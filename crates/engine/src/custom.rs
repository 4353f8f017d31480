//! CUSTOM_AUTH: the pool's functions run the sign-in. DefineAuthChallenge reads the rounds so
//! far and decides (issue tokens, fail, or ask again); CreateAuthChallenge words a
//! CUSTOM_CHALLENGE; VerifyAuthChallengeResponse judges the answer. With `CHALLENGE_NAME=SRP_A`
//! the first round may be a real SRP password proof (PASSWORD_VERIFIER), as Amplify's
//! CUSTOM_WITH_SRP does.
//!
//! ```text
//! InitiateAuth ─▶ Define ─┬─ issueTokens ─▶ (MFA, device …) ─▶ tokens
//!                         ├─ failAuthentication ─▶ NotAuthorized
//!                         ├─ PASSWORD_VERIFIER (after SRP_A) ─▶ SRP proof ─▶ Define …
//!                         └─ CUSTOM_CHALLENGE ─▶ Create ─▶ answer ─▶ Verify ─▶ Define …
//! ```

use crate::Engine;
use crate::auth::unknown_user;
use crate::error::{EngineError, EngineResult};
use crate::flow::{AuthOutcome, param};
use crate::signin::{SignIn, expired_session};
use crate::tokens::ClientProof;
use crate::triggers::{ClientMetadata, attributes_of};
use serde_json::{Value, json};
use std::collections::BTreeMap;
use tessera_domain::client::{AppClient, AuthFlow, UserExistenceErrors};
use tessera_domain::flow::{AuthSession, Challenge, SignInContext, Stage};
use tessera_domain::pool::UserPool;
use tessera_domain::triggers::{
    ChallengeResult, CreateAuthChallengeResponse, CustomStep, DefineAuthChallengeResponse, Event,
    Trigger, VerifyAuthChallengeResponse, response, unrecognizable,
};
use tessera_domain::user::User;
use tessera_domain::{DomainError, Sub};

/// Rounds one custom sign-in may take before it is refused.
const MAX_ROUNDS: usize = 10;

fn incorrect() -> EngineError {
    DomainError::incorrect_credentials().into()
}

/// What DefineAuthChallenge and CreateAuthChallenge see of the rounds so far.
fn session_json(history: &[ChallengeResult]) -> Value {
    serde_json::to_value(history).unwrap_or_else(|_| json!([]))
}

/// Who a custom sign-in is for: a user, or (when the client hides which names exist) a name.
struct Subject<'a> {
    user: Option<&'a User>,
    name: &'a str,
    hiding: bool,
}

impl Subject<'_> {
    fn event(&self, pool: &UserPool, trigger: Trigger, source: &str) -> Event {
        let name = self.user.map(|u| u.username.as_str()).unwrap_or(self.name);
        let attributes = self
            .user
            .map(|u| attributes_of(pool, u))
            .unwrap_or_else(|| json!({}));
        let event = Event::new(trigger, source, name).with("userAttributes", attributes);
        if self.hiding {
            event.with("userNotFound", json!(self.user.is_none()))
        } else {
            event
        }
    }
}

impl Engine {
    /// InitiateAuth / AdminInitiateAuth with CUSTOM_AUTH.
    pub(crate) async fn initiate_custom(
        &self,
        pool: &UserPool,
        client: &AppClient,
        params: &BTreeMap<String, String>,
        metadata: &ClientMetadata,
    ) -> EngineResult<AuthOutcome> {
        if !client.config.allows(AuthFlow::CustomAuth) {
            return Err(DomainError::invalid_parameter(
                "CUSTOM_AUTH flow not enabled for this client",
            )
            .into());
        }
        if !Self::has_trigger(pool, Trigger::DefineAuthChallenge) {
            return Err(DomainError::invalid_parameter(
                "Custom auth lambda trigger is not configured for the user pool.",
            )
            .into());
        }
        let username = param(params, "USERNAME")?;
        self.check_client_proof(
            client,
            &[username],
            ClientProof::SecretHash(params.get("SECRET_HASH").map(String::as_str)),
        )?;
        self.pre_authentication(pool, client, username, metadata)
            .await?;
        self.refuse_blocked_address_in(
            tessera_domain::threat::custom_auth_mode(&pool.config.settings),
            pool,
            client.client_id.as_str(),
        )?;
        let user = {
            let mut tx = self.inner.store.read().await?;
            self.find_user(&mut *tx, pool, username).await?
        };
        let hiding = client.config.prevent_user_existence_errors == UserExistenceErrors::Enabled;
        match &user {
            Some(u) => crate::auth::may_sign_in(u, self.now())?,
            None if hiding => {}
            None => return Err(unknown_user(client)),
        }
        let with_srp = params.get("CHALLENGE_NAME").map(String::as_str) == Some("SRP_A");
        if with_srp {
            param(params, "SRP_A")?;
        }
        let history = if with_srp {
            vec![ChallengeResult {
                challenge_name: "SRP_A".into(),
                challenge_result: true,
                challenge_metadata: None,
            }]
        } else {
            Vec::new()
        };
        let at = SignIn {
            pool,
            client,
            context: SignInContext {
                device_key: params.get("DEVICE_KEY").cloned(),
                srp: false,
                custom: None,
                hosted: false,
                ..Default::default()
            },
            metadata: None,
        };
        let subject = Subject {
            user: user.as_ref(),
            name: username,
            hiding,
        };
        self.custom_round(&at, &subject, history, with_srp.then_some(params))
            .await
    }

    /// Asks DefineAuthChallenge what follows `history`, and does it.
    async fn custom_round(
        &self,
        at: &SignIn<'_>,
        subject: &Subject<'_>,
        history: Vec<ChallengeResult>,
        srp_params: Option<&BTreeMap<String, String>>,
    ) -> EngineResult<AuthOutcome> {
        if history.len() > MAX_ROUNDS {
            return Err(incorrect());
        }
        let (pool, client_id) = (at.pool, Some(at.client.client_id.as_str()));
        let source = "DefineAuthChallenge_Authentication";
        let event = subject
            .event(pool, Trigger::DefineAuthChallenge, source)
            .with("session", session_json(&history))
            .with_map("clientMetadata", at.metadata.as_ref());
        let answer = self
            .run_trigger(pool, client_id, event)
            .await?
            .ok_or_else(unrecognizable)?;
        let decided: DefineAuthChallengeResponse = response(&answer)?;
        let next = SignIn {
            pool,
            client: at.client,
            context: SignInContext {
                custom: Some(history.clone()),
                ..at.context.clone()
            },
            metadata: at.metadata.clone(),
        };
        match decided.step()? {
            CustomStep::Fail => {
                if let Some(user) = subject.user {
                    self.record_custom_failure(pool, at.client.client_id.as_str(), user)
                        .await?;
                }
                Err(incorrect())
            }
            CustomStep::IssueTokens => {
                let user = subject.user.ok_or_else(incorrect)?;
                let mut done = SignIn {
                    context: SignInContext {
                        custom: None,
                        ..next.context.clone()
                    },
                    ..next
                };
                let mut tx = self.inner.store.begin().await?;
                let now = self.now();
                match self
                    .judge_custom_sign_in(&mut *tx, &done, user, now)
                    .await?
                {
                    Err(blocked) => {
                        // The refusal and its event are the outcome: both are kept.
                        tx.commit().await?;
                        return Err(blocked.into());
                    }
                    Ok(crate::threat::Judgement::Untracked) => {}
                    Ok(crate::threat::Judgement::Proceed { event_id, risk_mfa }) => {
                        done.context.event_id = Some(event_id);
                        done.context.risk_mfa = risk_mfa;
                    }
                }
                self.proceed(tx, &done, user, Stage::PasswordProven, now)
                    .await
            }
            CustomStep::Challenge(name) if name == "PASSWORD_VERIFIER" => {
                // Only straight after SRP_A: the client's A is in this request.
                let params = srp_params.ok_or_else(unrecognizable)?;
                self.initiate_srp(pool, at.client, params, Some(history))
                    .await
            }
            CustomStep::Challenge(_) => {
                let source = "CreateAuthChallenge_Authentication";
                let event = subject
                    .event(pool, Trigger::CreateAuthChallenge, source)
                    .with("challengeName", json!("CUSTOM_CHALLENGE"))
                    .with("session", session_json(&history))
                    .with_map("clientMetadata", at.metadata.as_ref());
                let answer = self
                    .run_trigger(pool, client_id, event)
                    .await?
                    .ok_or_else(unrecognizable)?;
                let created: CreateAuthChallengeResponse = response(&answer)?;
                let name = subject
                    .user
                    .map(|u| u.username.to_string())
                    .unwrap_or_else(|| subject.name.to_string());
                let mut parameters = created.public_challenge_parameters.unwrap_or_default();
                parameters.insert("USERNAME".into(), name);
                // An unknown name gets a session too (its sub matches nobody), so the answer
                // looks the same until it fails.
                let sub = subject
                    .user
                    .map(|u| u.sub)
                    .unwrap_or_else(|| Sub::from_random(tessera_crypto::random::bytes::<16>()));
                let challenge = Challenge::Custom {
                    private_parameters: created.private_challenge_parameters.unwrap_or_default(),
                    metadata: created.challenge_metadata,
                };
                let now = self.now();
                let mut tx = self.inner.store.begin().await?;
                let token = self
                    .insert_session(&mut *tx, &next, sub, challenge, now)
                    .await?;
                tx.commit().await?;
                Ok(AuthOutcome::Challenge {
                    name: "CUSTOM_CHALLENGE".into(),
                    session: Some(token),
                    parameters,
                    available: Vec::new(),
                })
            }
        }
    }

    /// RespondToAuthChallenge with CUSTOM_CHALLENGE: VerifyAuthChallengeResponse judges the
    /// ANSWER, the round is recorded, and DefineAuthChallenge decides again.
    pub(crate) async fn answer_custom(
        &self,
        at: &SignIn<'_>,
        user: Option<&User>,
        name: &str,
        (hash, session): (&[u8], &AuthSession),
        responses: &BTreeMap<String, String>,
    ) -> EngineResult<AuthOutcome> {
        let Challenge::Custom {
            private_parameters,
            metadata,
        } = &session.challenge
        else {
            return Err(expired_session());
        };
        let answer = param(responses, "ANSWER")?;
        let hiding = at.client.config.prevent_user_existence_errors == UserExistenceErrors::Enabled;
        let subject = Subject { user, name, hiding };
        let source = "VerifyAuthChallengeResponse_Authentication";
        let event = subject
            .event(at.pool, Trigger::VerifyAuthChallengeResponse, source)
            .with(
                "privateChallengeParameters",
                tessera_domain::triggers::string_map(private_parameters),
            )
            .with("challengeAnswer", json!(answer))
            .with_map("clientMetadata", at.metadata.as_ref());
        let verdict = self
            .run_trigger(at.pool, Some(at.client.client_id.as_str()), event)
            .await?
            .ok_or_else(unrecognizable)?;
        let verdict: VerifyAuthChallengeResponse = response(&verdict)?;
        // Each session answers once; the next round gets a new one.
        let mut tx = self.inner.store.begin().await?;
        if !tx.delete_auth_session(hash).await? {
            return Err(expired_session());
        }
        tx.commit().await?;
        let mut history = at.context.custom.clone().unwrap_or_default();
        history.push(ChallengeResult {
            challenge_name: "CUSTOM_CHALLENGE".into(),
            challenge_result: verdict.answer_correct == Some(true),
            challenge_metadata: metadata.clone(),
        });
        self.custom_round(at, &subject, history, None).await
    }

    /// After the SRP proof inside a custom sign-in: record it and let DefineAuthChallenge go on.
    pub(crate) async fn custom_after_password(
        &self,
        at: &SignIn<'_>,
        user: &User,
        mut history: Vec<ChallengeResult>,
    ) -> EngineResult<AuthOutcome> {
        history.push(ChallengeResult {
            challenge_name: "PASSWORD_VERIFIER".into(),
            challenge_result: true,
            challenge_metadata: None,
        });
        let hiding = at.client.config.prevent_user_existence_errors == UserExistenceErrors::Enabled;
        let subject = Subject {
            user: Some(user),
            name: user.username.as_str(),
            hiding,
        };
        self.custom_round(at, &subject, history, None).await
    }
}
