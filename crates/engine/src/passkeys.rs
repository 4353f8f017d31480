//! Passkeys: StartWebAuthnRegistration, CompleteWebAuthnRegistration, ListWebAuthnCredentials,
//! DeleteWebAuthnCredential (with the user's access token), and WEB_AUTHN as a USER_AUTH
//! first factor.
//!
//! The relying party is the pool's WebAuthnConfiguration.RelyingPartyId (else its prefix
//! domain's host, when the deployment serves domains on their own hosts). Accepted origins:
//! `https://{RelyingPartyId}`, the pool's hosted-UI domain origins, and the deployment's
//! `webauthn_origins`. Ceremony states live server-side with the sign-in sessions: a
//! registration under a key derived from pool and user (one at a time, five minutes, single
//! use, bound to the client that started it), an assertion in the WEB_AUTHN session (random
//! challenge per attempt, the session's expiry, single use).

use crate::Engine;
use crate::error::{EngineError, EngineResult};
use crate::flow::{AuthOutcome, param};
use crate::signin::{SignIn, expired_session};
use std::collections::BTreeMap;
use std::time::Duration;
use tessera_crypto::webauthn::{PasskeyError, RelyingParty, response_credential_id};
use tessera_domain::choice::{self, AuthFactor};
use tessera_domain::client::UserExistenceErrors;
use tessera_domain::flow::{AuthSession, Challenge, SignInContext};
use tessera_domain::passkeys::{UserVerification, WebAuthnConfig, WebAuthnCredential};
use tessera_domain::pool::UserPool;
use tessera_domain::user::User;
use tessera_domain::{ClientId, DomainError, ErrorKind, Sub, UserPoolId};
use tessera_store::{StoreError, Tx};

/// How long a registration (and the authenticator's prompt) may take.
const REGISTRATION_TTL: Duration = Duration::from_secs(5 * 60);
/// Cognito's limit of passkeys per user.
const MAX_PASSKEYS: usize = 20;
const MAX_LIST: usize = 20;

fn error(kind: ErrorKind, message: &str) -> EngineError {
    DomainError::new(kind, message).into()
}

fn not_enabled() -> EngineError {
    error(
        ErrorKind::WebAuthnNotEnabled,
        "Passkey authentication is not enabled for this user pool: add WEB_AUTHN to its AllowedFirstAuthFactors.",
    )
}

/// A registration's failure, as CompleteWebAuthnRegistration reports it.
fn registration_error(e: PasskeyError) -> EngineError {
    match e {
        PasskeyError::Origin => error(
            ErrorKind::WebAuthnOriginNotAllowed,
            "The passkey's origin is not allowed for this user pool.",
        ),
        PasskeyError::RelyingParty => error(
            ErrorKind::WebAuthnRelyingPartyMismatch,
            "The passkey is for another relying party than this user pool's.",
        ),
        PasskeyError::Challenge => error(
            ErrorKind::WebAuthnChallengeNotFound,
            "The passkey response does not answer this registration's challenge.",
        ),
        PasskeyError::Unsupported(why) => error(
            ErrorKind::WebAuthnCredentialNotSupported,
            &format!("The passkey is not supported: {why}"),
        ),
        PasskeyError::UserNotVerified => DomainError::invalid_parameter(
            "The user pool requires user verification and the authenticator did not verify the user.",
        )
        .into(),
        PasskeyError::Counter | PasskeyError::Invalid(_) => {
            DomainError::invalid_parameter(format!("Invalid passkey credential: {e}")).into()
        }
    }
}

fn parse_credential(text: &str) -> EngineResult<serde_json::Value> {
    serde_json::from_str::<serde_json::Value>(text)
        .ok()
        .filter(serde_json::Value::is_object)
        .ok_or_else(|| DomainError::invalid_parameter("CREDENTIAL is not a JSON object.").into())
}

/// Whom a passkey registration is for: the signed-in user of an access token, or of a hosted
/// session, and the app client they registered through (a registration is completed through
/// the client that started it).
#[derive(Clone, Debug)]
pub struct Registrant {
    pub pool_id: UserPoolId,
    pub sub: Sub,
    pub client_id: ClientId,
}

impl Registrant {
    fn of(id: &crate::tokens::AccessIdentity) -> Self {
        Self {
            pool_id: id.pool_id.clone(),
            sub: id.sub,
            client_id: id.client_id.clone(),
        }
    }
}

impl Engine {
    /// The pool's relying party and the origins it accepts; WebAuthnConfigurationMissing when
    /// the pool names no relying party and has no domain to stand for one.
    async fn relying_party(&self, tx: &mut dyn Tx, pool: &UserPool) -> EngineResult<RelyingParty> {
        let config = WebAuthnConfig::of(&pool.config.settings);
        let domains = tx.pool_domains(&pool.id).await?;
        let base = self.inner.settings.domain_base.as_deref();
        let host_of = |name: &str| match base {
            Some(base) if !name.contains('.') => Some(format!("{name}.{base}")),
            Some(_) => Some(name.to_string()),
            None => None,
        };
        let rp_id = match &config.relying_party_id {
            Some(rp) => rp.clone(),
            None => domains
                .iter()
                .find_map(|d| host_of(d.name.as_str()))
                .ok_or_else(|| {
                    error(
                        ErrorKind::WebAuthnConfigurationMissing,
                        "The user pool has no relying party id and no domain: set WebAuthnConfiguration.RelyingPartyId with SetUserPoolMfaConfig.",
                    )
                })?,
        };
        let mut origins = vec![format!("https://{rp_id}")];
        for d in &domains {
            match host_of(d.name.as_str()) {
                Some(host) => origins.push(format!("https://{host}")),
                // Served under this deployment's own URL: its origin.
                None => {
                    if let Ok(u) = url::Url::parse(&self.inner.settings.issuer_base) {
                        origins.push(u.origin().ascii_serialization());
                    }
                }
            }
        }
        origins.extend(self.inner.settings.webauthn_origins.iter().cloned());
        origins.sort();
        origins.dedup();
        RelyingParty::new(&rp_id, &origins, REGISTRATION_TTL).map_err(|e| {
            DomainError::new(
                ErrorKind::WebAuthnConfigurationMissing,
                format!("The relying party id {rp_id:?} is unusable: {e}"),
            )
            .into()
        })
    }

    /// Whether the pool's sign-in policy offers passkeys (the hosted pages show their buttons
    /// then; the passkey operations refuse otherwise).
    pub fn pool_allows_passkeys(pool: &UserPool) -> bool {
        choice::allowed_first_factors(pool).contains(&AuthFactor::WebAuthn)
    }

    fn passkeys_enabled(pool: &UserPool) -> EngineResult<()> {
        if Self::pool_allows_passkeys(pool) {
            Ok(())
        } else {
            Err(not_enabled())
        }
    }

    /// The registrant, who must still exist and be enabled.
    async fn registrant_user(&self, tx: &mut dyn Tx, id: &Registrant) -> EngineResult<User> {
        let user = tx
            .get_user(&id.pool_id, &tessera_store::UserLookup::Sub(id.sub))
            .await?
            .ok_or_else(DomainError::user_not_found)?;
        if !user.enabled {
            return Err(DomainError::not_authorized("User is disabled.").into());
        }
        Ok(user)
    }

    fn uv_required(pool: &UserPool) -> bool {
        WebAuthnConfig::of(&pool.config.settings).user_verification == UserVerification::Required
    }

    /// Where a user's registration in progress is kept: a key only the server can derive.
    fn registration_key(&self, pool: &UserPoolId, sub: &Sub) -> Vec<u8> {
        self.inner
            .master
            .derive(&[
                b"webauthn-registration",
                pool.as_str().as_bytes(),
                sub.to_string().as_bytes(),
            ])
            .to_vec()
    }

    /// StartWebAuthnRegistration: the options for `navigator.credentials.create()`.
    pub async fn start_web_authn_registration(
        &self,
        access_token: &str,
    ) -> EngineResult<serde_json::Value> {
        let id = self.verify_access_token(access_token).await?;
        self.start_registration(&Registrant::of(&id)).await
    }

    /// The hosted UI's `/passkeys/add`: a registration for the user of a live hosted session,
    /// through the client the page was opened for.
    pub async fn hosted_start_passkey_registration(
        &self,
        who: &Registrant,
    ) -> EngineResult<serde_json::Value> {
        self.start_registration(who).await
    }

    /// The hosted UI's `/passkeys/add` form, answered with the browser's credential.
    pub async fn hosted_complete_passkey_registration(
        &self,
        who: &Registrant,
        credential: &serde_json::Value,
    ) -> EngineResult<()> {
        self.complete_registration(who, credential).await
    }

    async fn start_registration(&self, id: &Registrant) -> EngineResult<serde_json::Value> {
        let now = self.now();
        let mut tx = self.inner.store.begin().await?;
        let user = self.registrant_user(&mut *tx, id).await?;
        let pool = self.load_pool(&mut *tx, &id.pool_id).await?;
        Self::passkeys_enabled(&pool)?;
        let rp = self.relying_party(&mut *tx, &pool).await?;
        let existing = tx.webauthn_credentials(&pool.id, &user.sub).await?;
        if existing.len() >= MAX_PASSKEYS {
            return Err(error(
                ErrorKind::LimitExceeded,
                "The user has the maximum number of passkeys.",
            ));
        }
        let exclude: Vec<String> = existing.into_iter().map(|c| c.credential_id).collect();
        let display = user
            .attribute(tessera_domain::attributes::EMAIL)
            .filter(|e| !e.is_empty())
            .unwrap_or(user.username.as_str())
            .to_string();
        let (options, state) = rp
            .start_registration(
                user.sub.0.as_bytes(),
                user.username.as_str(),
                &display,
                Self::uv_required(&pool),
                &exclude,
            )
            .map_err(registration_error)?;
        let key = self.registration_key(&pool.id, &user.sub);
        // One registration at a time: a new start replaces the one before.
        tx.delete_auth_session(&key).await?;
        tx.insert_auth_session(
            &key,
            &AuthSession {
                pool_id: pool.id.clone(),
                client_id: id.client_id.clone(),
                sub: user.sub,
                challenge: Challenge::WebAuthnRegistration { state },
                context: SignInContext::default(),
                attempts: 0,
                created_at: now,
                expires_at: now.plus(REGISTRATION_TTL),
            },
        )
        .await?;
        tx.commit().await?;
        Ok(options)
    }

    /// CompleteWebAuthnRegistration: verifies the authenticator's response and stores the
    /// passkey. The registration is used up whatever the outcome.
    pub async fn complete_web_authn_registration(
        &self,
        access_token: &str,
        credential: &serde_json::Value,
    ) -> EngineResult<()> {
        let id = self.verify_access_token(access_token).await?;
        self.complete_registration(&Registrant::of(&id), credential)
            .await
    }

    async fn complete_registration(
        &self,
        id: &Registrant,
        credential: &serde_json::Value,
    ) -> EngineResult<()> {
        let now = self.now();
        let mut tx = self.inner.store.begin().await?;
        let user = self.registrant_user(&mut *tx, id).await?;
        let pool = self.load_pool(&mut *tx, &id.pool_id).await?;
        Self::passkeys_enabled(&pool)?;
        let key = self.registration_key(&pool.id, &user.sub);
        let not_found = || {
            error(
                ErrorKind::WebAuthnChallengeNotFound,
                "No passkey registration is in progress for the user, or it expired: call StartWebAuthnRegistration.",
            )
        };
        let session = tx.get_auth_session(&key).await?.ok_or_else(not_found)?;
        let Challenge::WebAuthnRegistration { state } = &session.challenge else {
            return Err(not_found());
        };
        if now >= session.expires_at || session.sub != user.sub {
            return Err(not_found());
        }
        if session.client_id != id.client_id {
            return Err(error(
                ErrorKind::WebAuthnClientMismatch,
                "The registration was started by another app client.",
            ));
        }
        let rp = self.relying_party(&mut *tx, &pool).await?;
        // Used up now, whether or not the response verifies.
        tx.delete_auth_session(&key).await?;
        let registered = match rp.finish_registration(credential, state) {
            Ok(r) => r,
            Err(e) => {
                tx.commit().await?;
                return Err(registration_error(e));
            }
        };
        let passkey = WebAuthnCredential {
            pool_id: pool.id.clone(),
            sub: user.sub,
            credential_id: registered.credential_id,
            friendly_name: None,
            relying_party_id: rp.id().to_string(),
            attachment: registered.attachment,
            transports: registered.transports,
            created_at: now,
            last_used_at: None,
            credential: registered.credential,
        };
        match tx.insert_webauthn_credential(&passkey).await {
            Ok(()) => {}
            Err(StoreError::Conflict(_)) => {
                return Err(
                    DomainError::invalid_parameter("This passkey is registered already.").into(),
                );
            }
            Err(e) => return Err(e.into()),
        }
        tx.commit().await?;
        Ok(())
    }

    /// ListWebAuthnCredentials: the user's passkeys, oldest first, in pages.
    pub async fn list_web_authn_credentials(
        &self,
        access_token: &str,
        max_results: Option<usize>,
        next_token: Option<&str>,
    ) -> EngineResult<(Vec<WebAuthnCredential>, Option<String>)> {
        let id = self.verify_access_token(access_token).await?;
        let mut tx = self.inner.store.read().await?;
        let user = self.token_user(&mut *tx, &id).await?;
        let all = tx.webauthn_credentials(&id.pool_id, &user.sub).await?;
        let start = match next_token {
            Some(t) => {
                all.iter()
                    .position(|c| c.credential_id == t)
                    .ok_or_else(|| DomainError::invalid_parameter("Invalid NextToken."))?
                    + 1
            }
            None => 0,
        };
        let limit = max_results.unwrap_or(MAX_LIST).clamp(1, MAX_LIST);
        let page: Vec<WebAuthnCredential> = all.iter().skip(start).take(limit).cloned().collect();
        let next = (start + page.len() < all.len())
            .then(|| page.last().map(|c| c.credential_id.clone()))
            .flatten();
        Ok((page, next))
    }

    /// DeleteWebAuthnCredential: only the user's own passkey.
    pub async fn delete_web_authn_credential(
        &self,
        access_token: &str,
        credential_id: &str,
    ) -> EngineResult<()> {
        let id = self.verify_access_token(access_token).await?;
        let mut tx = self.inner.store.begin().await?;
        let user = self.token_user(&mut *tx, &id).await?;
        if !tx
            .delete_webauthn_credential(&id.pool_id, &user.sub, credential_id)
            .await?
        {
            return Err(error(
                ErrorKind::ResourceNotFound,
                "The user has no passkey with that credential id.",
            ));
        }
        tx.commit().await?;
        Ok(())
    }

    /// WEB_AUTHN as a first factor: a fresh assertion challenge over the user's passkeys, in
    /// CREDENTIAL_REQUEST_OPTIONS. A name that matches nobody (when the client hides which
    /// names exist) gets options over credential ids nobody holds.
    pub(crate) async fn open_web_authn(
        &self,
        at: &SignIn<'_>,
        user: Option<User>,
        username: &str,
    ) -> EngineResult<AuthOutcome> {
        let pool = at.pool;
        Self::passkeys_enabled(pool)?;
        let now = self.now();
        let mut tx = self.inner.store.begin().await?;
        let rp = self.relying_party(&mut *tx, pool).await?;
        let uv = Self::uv_required(pool);
        let passkeys = match &user {
            Some(u) => tx.webauthn_credentials(&pool.id, &u.sub).await?,
            None => Vec::new(),
        };
        let (options, challenge, sub) = match user.as_ref().filter(|_| !passkeys.is_empty()) {
            Some(u) => {
                let stored: Vec<String> = passkeys.into_iter().map(|c| c.credential).collect();
                let (options, state) = rp
                    .start_assertion(&stored, uv)
                    .map_err(|e| EngineError::Internal(format!("assertion options: {e}")))?;
                (options, Challenge::WebAuthn { state }, u.sub)
            }
            None => {
                if at.client.config.prevent_user_existence_errors != UserExistenceErrors::Enabled {
                    return Err(DomainError::invalid_parameter(
                        "The user has no passkey: register one with StartWebAuthnRegistration.",
                    )
                    .into());
                }
                let key = pool.config.sign_in.key(username);
                let fake = self.inner.master.derive(&[
                    b"webauthn-decoy-credential",
                    pool.id.as_str().as_bytes(),
                    key.as_bytes(),
                ]);
                let options = rp.decoy_assertion_options(
                    &[fake.to_vec()],
                    uv,
                    &tessera_crypto::random::bytes::<32>(),
                );
                let challenge = Challenge::WebAuthn {
                    state: String::new(),
                };
                (
                    options,
                    challenge,
                    Sub::from_random(tessera_crypto::random::bytes::<16>()),
                )
            }
        };
        let options = options.to_string();
        let token = self
            .insert_session(&mut *tx, at, sub, challenge, now)
            .await?;
        tx.commit().await?;
        let shown = user
            .as_ref()
            .map(|u| u.username.to_string())
            .unwrap_or_else(|| username.to_string());
        Ok(AuthOutcome::Challenge {
            name: "WEB_AUTHN".into(),
            session: Some(token),
            parameters: BTreeMap::from([
                ("CREDENTIAL_REQUEST_OPTIONS".to_string(), options),
                ("USER_ID_FOR_SRP".to_string(), shown),
            ]),
            available: Vec::new(),
        })
    }

    /// WEB_AUTHN answered with CREDENTIAL (an AuthenticationResponseJSON). The attempt is
    /// charged against lockout first; the passkey must be the session user's own.
    pub(crate) async fn answer_web_authn(
        &self,
        at: &SignIn<'_>,
        user: Option<User>,
        username: &str,
        (hash, session): (&[u8], &AuthSession),
        responses: &BTreeMap<String, String>,
    ) -> EngineResult<AuthOutcome> {
        let Challenge::WebAuthn { state } = &session.challenge else {
            return Err(expired_session());
        };
        let credential = parse_credential(param(responses, "CREDENTIAL")?)?;
        let now = self.now();
        self.charge_first_factor(at.pool, user.as_ref(), username, now)
            .await?;
        let refused = || EngineError::from(DomainError::incorrect_credentials());
        let Some(user) = user.filter(|_| !state.is_empty()) else {
            return self.wrong_answer(hash, session, refused()).await;
        };
        let stored = match response_credential_id(&credential) {
            Some(cid) => {
                let mut tx = self.inner.store.read().await?;
                tx.get_webauthn_credential(&at.pool.id, &cid)
                    .await?
                    .filter(|c| c.sub == user.sub)
            }
            None => None,
        };
        let Some(mut stored) = stored else {
            return self.wrong_answer(hash, session, refused()).await;
        };
        let rp = {
            let mut tx = self.inner.store.read().await?;
            self.relying_party(&mut *tx, at.pool).await?
        };
        let asserted = match rp.finish_assertion(&credential, state, &stored.credential) {
            Ok(a) => a,
            Err(_) => return self.wrong_answer(hash, session, refused()).await,
        };
        // The counter moves forward before the sign-in completes: a replay of this assertion
        // finds it spent even if the session were somehow still there.
        stored.credential = asserted.credential;
        stored.last_used_at = Some(now);
        let mut tx = self.inner.store.begin().await?;
        if !tx.update_webauthn_credential(&stored).await? {
            return self.wrong_answer(hash, session, refused()).await;
        }
        tx.commit().await?;
        self.passwordless_passed(at, hash, &user, now).await
    }
}
