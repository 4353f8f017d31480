//! USER_SRP_AUTH: InitiateAuth returns PASSWORD_VERIFIER with the user's salt and the server's
//! public value; RespondToAuthChallenge proves the password with a claim signature.
//!
//! The state between the two steps is an auth session keyed by the SECRET_BLOCK (random bytes;
//! the block itself carries nothing), holding A, B and the sealed secret b. It is deleted by the
//! first answer, so a replayed or forged block finds nothing. An unknown user gets a simulated
//! challenge — a salt and user id derived from the master key, so they are stable per username
//! like a real user's — and the same work and the same error as a wrong password.

use crate::auth::{ProvenPassword, unknown_user};
use crate::error::{EngineError, EngineResult};
use crate::flow::param;
use crate::signin::SignIn;
use crate::tokens::ClientProof;
use crate::{AuthOutcome, Engine};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE};
use std::collections::BTreeMap;
use std::time::Duration;
use tessera_crypto::srp;
use tessera_domain::client::{AppClient, UserExistenceErrors};
use tessera_domain::flow::{AuthSession, Challenge, SignInContext, SrpState};
use tessera_domain::pool::UserPool;
use tessera_domain::user::{SrpCredential, User};
use tessera_domain::{DomainError, Sub, Timestamp, UserPoolId, Username};
use tessera_store::UserLookup;

/// How far a client's TIMESTAMP may be from our clock.
const TIMESTAMP_SKEW: Duration = Duration::from_secs(5 * 60);

pub(crate) fn verifier_purpose(pool: &UserPoolId, sub: &Sub) -> String {
    format!("srp-verifier:{pool}:{sub}")
}

fn b_purpose(block_hash: &[u8]) -> String {
    format!("srp-b:{}", hex_prefix(block_hash))
}

fn hex_prefix(bytes: &[u8]) -> String {
    bytes.iter().take(16).map(|b| format!("{b:02x}")).collect()
}

/// Parses Cognito's TIMESTAMP, `Wed Sep 5 21:08:03 UTC 2018` (zero-padded days accepted too).
fn parse_timestamp(s: &str) -> Option<Timestamp> {
    const MONTHS: [&str; 12] = [
        "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
    ];
    let parts: Vec<&str> = s.split_whitespace().collect();
    let [_weekday, month, day, time, "UTC", year] = parts.as_slice() else {
        return None;
    };
    let month = MONTHS.iter().position(|m| m == month)? as u32 + 1;
    let mut hms = time.split(':').map(|p| p.parse::<u32>().ok());
    let (h, m, sec) = (hms.next()??, hms.next()??, hms.next()??);
    Timestamp::from_civil(year.parse().ok()?, month, day.parse().ok()?, h, m, sec)
}

/// A password claim's TIMESTAMP must parse and lie within the skew window around `now`.
pub(crate) fn check_claim_time(timestamp: &str, now: Timestamp) -> EngineResult<()> {
    let signed_at = parse_timestamp(timestamp)
        .ok_or_else(|| DomainError::invalid_parameter("Invalid TIMESTAMP provided."))?;
    if signed_at.since(now) > TIMESTAMP_SKEW || now.since(signed_at) > TIMESTAMP_SKEW {
        return Err(DomainError::not_authorized(
            "The TIMESTAMP of the password claim is outside the allowed clock skew.",
        )
        .into());
    }
    Ok(())
}

fn decode_block(block: &str) -> Option<Vec<u8>> {
    STANDARD
        .decode(block)
        .or_else(|_| URL_SAFE.decode(block))
        .ok()
        .filter(|b| !b.is_empty())
}

impl Engine {
    /// A fresh salt and sealed verifier for a password the server has just seen, or None when
    /// the pool doesn't do SRP (then no verifier is ever stored).
    pub(crate) async fn srp_credential(
        &self,
        pool: &UserPool,
        sub: &Sub,
        username: &Username,
        password: &str,
    ) -> EngineResult<Option<SrpCredential>> {
        if !pool.config.srp_enabled {
            return Ok(None);
        }
        let salt = tessera_crypto::random::bytes::<16>().to_vec();
        let (pool_name, user, password, s) = (
            pool.id.srp_pool_name().to_string(),
            username.to_string(),
            password.to_string(),
            salt.clone(),
        );
        let verifier =
            tokio::task::spawn_blocking(move || srp::verifier(&pool_name, &user, &password, &s))
                .await??;
        Ok(Some(SrpCredential {
            salt,
            sealed_verifier: self
                .inner
                .master
                .seal(&verifier_purpose(&pool.id, sub), &verifier),
        }))
    }

    /// What an unknown user's challenge is made of: stable per pool and username.
    fn simulated(&self, pool: &UserPool, name: &str) -> (Vec<u8>, String, Vec<u8>) {
        let key = pool.config.sign_in.key(name);
        let m = &self.inner.master;
        let salt = m.derive(&[
            b"srp-fake-salt",
            pool.id.as_str().as_bytes(),
            key.as_bytes(),
        ])[..16]
            .to_vec();
        // Pools that identify users by email or phone answer with a UUID, as for real users.
        let looks_like_alias = !pool.config.sign_in.lookup_aliases(name).is_empty();
        let user_id = if !pool.config.sign_in.username_attributes.is_empty() || looks_like_alias {
            let id = m.derive(&[b"srp-fake-id", pool.id.as_str().as_bytes(), key.as_bytes()]);
            let mut bytes = [0u8; 16];
            bytes.copy_from_slice(&id[..16]);
            uuid::Builder::from_random_bytes(bytes)
                .into_uuid()
                .to_string()
        } else {
            name.to_string()
        };
        // Any element of the group serves: nobody knows a password for it.
        let mut verifier = Vec::with_capacity(384);
        for i in 0u8..12 {
            verifier.extend_from_slice(&m.derive(&[
                b"srp-fake-v",
                &[i],
                pool.id.as_str().as_bytes(),
                key.as_bytes(),
            ]));
        }
        (salt, user_id, verifier)
    }

    /// InitiateAuth / AdminInitiateAuth with USER_SRP_AUTH.
    pub(crate) async fn initiate_srp(
        &self,
        pool: &UserPool,
        client: &AppClient,
        params: &BTreeMap<String, String>,
        custom: Option<Vec<tessera_domain::triggers::ChallengeResult>>,
    ) -> EngineResult<AuthOutcome> {
        if !pool.config.srp_enabled {
            return Err(DomainError::invalid_parameter(
                "USER_SRP_AUTH is not enabled for this user pool.",
            )
            .into());
        }
        let username = param(params, "USERNAME")?;
        let a_hex = param(params, "SRP_A")?;
        self.check_client_proof(
            client,
            &[username],
            ClientProof::SecretHash(params.get("SECRET_HASH").map(String::as_str)),
        )?;
        let a_pub = srp::parse_client_public(a_hex)
            .map_err(|_| DomainError::invalid_parameter("Invalid SRP_A provided."))?;
        let user = {
            let mut tx = self.inner.store.read().await?;
            self.find_user(&mut *tx, pool, username).await?
        };
        let enabled = client.config.prevent_user_existence_errors == UserExistenceErrors::Enabled;
        let (sub, user_id, salt, verifier, known) = match user {
            Some(User {
                sub,
                username,
                srp: Some(c),
                ..
            }) => {
                let v = self
                    .inner
                    .master
                    .open(&verifier_purpose(&pool.id, &sub), &c.sealed_verifier)?;
                (sub, username.to_string(), c.salt, v.to_vec(), true)
            }
            Some(_) if !enabled => {
                return Err(DomainError::not_authorized(
                    "This user has no SRP verifier yet: sign in once with USER_PASSWORD_AUTH, or set a new password.",
                )
                .into());
            }
            None if !enabled => return Err(unknown_user(client)),
            _ => {
                let (salt, user_id, verifier) = self.simulated(pool, username);
                let sub = Sub::from_random(tessera_crypto::random::bytes::<16>());
                (sub, user_id, salt, verifier, false)
            }
        };
        let b = tessera_crypto::random::bytes::<32>();
        let exchange = {
            let verifier = verifier.clone();
            tokio::task::spawn_blocking(move || srp::server_start(&verifier, &b)).await??
        };
        let block = STANDARD.encode(tessera_crypto::random::bytes::<64>());
        let block_hash = tessera_crypto::token_hash(&block);
        let now = self.now();
        let session = AuthSession {
            pool_id: pool.id.clone(),
            client_id: client.client_id.clone(),
            sub,
            context: SignInContext {
                device_key: params.get("DEVICE_KEY").cloned(),
                srp: true,
                custom,
                hosted: false,
                ..Default::default()
            },
            challenge: Challenge::PasswordVerifier(SrpState {
                a_pub,
                b_pub: exchange.b_pub_hex.clone(),
                sealed_b: self.inner.master.seal(&b_purpose(&block_hash), &b),
                user_id: user_id.clone(),
                known,
            }),
            attempts: 0,
            created_at: now,
            expires_at: now.plus(Duration::from_secs(
                60 * u64::from(client.config.auth_session_validity_minutes),
            )),
        };
        let mut tx = self.inner.store.begin().await?;
        tx.insert_auth_session(&block_hash, &session).await?;
        tx.commit().await?;
        let parameters = BTreeMap::from([
            ("SALT".to_string(), srp::salt_hex(&salt)?),
            ("SRP_B".to_string(), exchange.b_pub_hex),
            ("SECRET_BLOCK".to_string(), block),
            ("USERNAME".to_string(), user_id.clone()),
            ("USER_ID_FOR_SRP".to_string(), user_id),
        ]);
        Ok(AuthOutcome::Challenge {
            name: "PASSWORD_VERIFIER".into(),
            session: None,
            parameters,
            available: Vec::new(),
        })
    }

    /// RespondToAuthChallenge with PASSWORD_VERIFIER.
    pub(crate) async fn answer_password_verifier(
        &self,
        pool: &UserPool,
        client: &AppClient,
        responses: &BTreeMap<String, String>,
        metadata: &crate::triggers::ClientMetadata,
    ) -> EngineResult<AuthOutcome> {
        let incorrect = || EngineError::from(DomainError::incorrect_credentials());
        let username = param(responses, "USERNAME")?;
        let block_text = param(responses, "PASSWORD_CLAIM_SECRET_BLOCK")?;
        let timestamp = param(responses, "TIMESTAMP")?;
        let signature = param(responses, "PASSWORD_CLAIM_SIGNATURE")?;
        self.check_client_proof(
            client,
            &[username],
            ClientProof::SecretHash(responses.get("SECRET_HASH").map(String::as_str)),
        )?;
        let now = self.now();
        check_claim_time(timestamp, now)?;
        let block = decode_block(block_text).ok_or_else(incorrect)?;
        let block_hash = tessera_crypto::token_hash(&STANDARD.encode(&block));

        // One write transaction, whatever the outcome: consume the session (single use) and, for
        // a real user, charge the attempt against lockout before any proof is checked.
        let mut tx = self.inner.store.begin().await?;
        let session = tx
            .get_auth_session(&block_hash)
            .await?
            .ok_or_else(incorrect)?;
        let Challenge::PasswordVerifier(state) = &session.challenge else {
            return Err(incorrect());
        };
        if !tx.delete_auth_session(&block_hash).await? {
            return Err(incorrect());
        }
        if session.pool_id != pool.id
            || session.client_id != client.client_id
            || now >= session.expires_at
        {
            tx.commit().await?;
            return Err(DomainError::not_authorized(
                "Invalid session for the user, session is expired.",
            )
            .into());
        }
        let user = if state.known {
            tx.get_user(&pool.id, &UserLookup::Sub(session.sub)).await?
        } else {
            None
        };
        let locked =
            || EngineError::from(DomainError::not_authorized("Password attempts exceeded"));
        let mut event = None;
        match &user {
            Some(user) => {
                let Ok(charged) = user.failures.charge(now) else {
                    crate::telemetry::lockout();
                    tx.commit().await?;
                    return Err(locked());
                };
                if !tx
                    .charge_sign_in(&pool.id, &user.sub, &user.failures, &charged)
                    .await?
                {
                    return Err(EngineError::Contended);
                }
                event = self
                    .open_sign_in_event(&mut *tx, pool, client.client_id.as_str(), user.sub, now)
                    .await?;
            }
            // A simulated challenge is charged like a real one (same lockout, same writes).
            None => match self
                .charge_unknown_name(
                    &mut *tx,
                    pool,
                    &pool.config.sign_in.key(&state.user_id),
                    now,
                )
                .await
            {
                Ok(true) => {}
                Ok(false) => return Err(EngineError::Contended),
                Err(e) => {
                    tx.commit().await?;
                    return Err(e);
                }
            },
        }
        tx.commit().await?;

        let verifier = match &user {
            Some(User {
                srp: Some(c), sub, ..
            }) => self
                .inner
                .master
                .open(&verifier_purpose(&pool.id, sub), &c.sealed_verifier)?
                .to_vec(),
            _ => self.simulated(pool, username).2,
        };
        let b = self
            .inner
            .master
            .open(&b_purpose(&block_hash), &state.sealed_b)?
            .to_vec();
        let (a_pub, b_pub) = (state.a_pub.clone(), state.b_pub.clone());
        let key = tokio::task::spawn_blocking(move || {
            srp::server_session_key(&a_pub, &b_pub, &b, &verifier)
        })
        .await??;
        let valid = srp::verify_claim(
            &key,
            pool.id.srp_pool_name(),
            &state.user_id,
            &block,
            timestamp,
            signature,
        );
        if user.is_some() {
            self.count_password_check();
        }
        let Some(user) = user.filter(|_| valid) else {
            return Err(incorrect());
        };
        if username != state.user_id && username != user.username.as_str() {
            return Err(incorrect());
        }
        let proven = ProvenPassword::new(user.sub, None, None).with_event(event);
        let at = SignIn {
            pool,
            client,
            context: SignInContext {
                device_key: responses
                    .get("DEVICE_KEY")
                    .cloned()
                    .or_else(|| session.context.device_key.clone()),
                srp: true,
                custom: session.context.custom.clone(),
                hosted: false,
                ..Default::default()
            },
            metadata: metadata.clone(),
        };
        self.after_password(&at, proven).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn timestamps_parse_padded_or_not() {
        let want = Timestamp::from_civil(2018, 9, 5, 21, 8, 3);
        assert_eq!(parse_timestamp("Wed Sep 5 21:08:03 UTC 2018"), want);
        assert_eq!(parse_timestamp("Wed Sep 05 21:08:03 UTC 2018"), want);
        assert_eq!(parse_timestamp("Wed Sep 5 21:08:03 GMT 2018"), None);
        assert_eq!(parse_timestamp("yesterday"), None);
    }
}
