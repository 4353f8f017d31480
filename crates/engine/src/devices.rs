//! Remembered devices: tracking a device at sign-in (NewDeviceMetadata), ConfirmDevice,
//! DEVICE_SRP_AUTH / DEVICE_PASSWORD_VERIFIER, and ListDevices, GetDevice, ForgetDevice,
//! UpdateDeviceStatus with their Admin forms.

use crate::Engine;
use crate::error::{EngineError, EngineResult};
use crate::flow::{AuthOutcome, ChallengeResponse, missing, param};
use crate::pools::{decode_token, paged};
use crate::signin::{SignIn, expired_session};
use crate::tokens::Mint;
use crate::triggers::attributes_of;
use crate::users::{UserRef, Who};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use serde_json::json;
use std::collections::BTreeMap;
use tessera_crypto::srp;
use tessera_domain::client::AppClient;
use tessera_domain::devices::{Device, DeviceTracking};
use tessera_domain::flow::{AuthSession, Challenge, SrpState, Stage};
use tessera_domain::pool::UserPool;
use tessera_domain::triggers::{Event, Trigger};
use tessera_domain::user::User;
use tessera_domain::{DomainError, ErrorKind, Timestamp};
use tessera_store::{DeviceChallengeKey, Tx};

fn no_device() -> EngineError {
    // Cognito's clients retry without DEVICE_KEY when this message mentions the device.
    DomainError::new(ErrorKind::ResourceNotFound, "Device does not exist.").into()
}

fn verifier_purpose(pool: &UserPool, key: &str) -> String {
    device_verifier_purpose(&pool.id, key)
}

pub(crate) fn device_verifier_purpose(pool: &tessera_domain::UserPoolId, key: &str) -> String {
    format!("device-verifier:{pool}:{key}")
}

fn b_purpose(key: &str) -> String {
    format!("device-srp-b:{key}")
}

const GROUP_ALPHABET: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

#[derive(Clone, Debug)]
pub struct DevicePage {
    pub devices: Vec<Device>,
    pub next_token: Option<String>,
}

impl Engine {
    /// The confirmed device of this user that the sign-in presented, if any.
    pub(crate) async fn presented_device(
        &self,
        tx: &mut dyn Tx,
        at: &SignIn<'_>,
        user: &User,
    ) -> EngineResult<Option<Device>> {
        let Some(key) = at.context.device_key.as_deref() else {
            return Ok(None);
        };
        Ok(tx
            .get_device(&at.pool.id, key)
            .await?
            .filter(|d| d.sub == user.sub && d.confirmed()))
    }

    /// Makes a device challenge findable without its Session as well: by pool, client, user and
    /// the device key the sign-in presented (see [`Engine::sessionless_device_challenge`]).
    pub(crate) async fn index_device_challenge(
        &self,
        tx: &mut dyn Tx,
        session: &AuthSession,
        hash: &[u8],
    ) -> EngineResult<()> {
        let device_step = matches!(
            session.challenge,
            Challenge::DeviceSrpAuth | Challenge::DevicePasswordVerifier { .. }
        );
        if let (true, Some(device_key)) = (device_step, &session.context.device_key) {
            let key = DeviceChallengeKey {
                pool_id: session.pool_id.clone(),
                client_id: session.client_id.clone(),
                sub: session.sub,
                device_key: device_key.clone(),
            };
            tx.index_device_challenge(&key, hash).await?;
        }
        Ok(())
    }

    /// The pending challenge a DEVICE_SRP_AUTH or DEVICE_PASSWORD_VERIFIER answer without a
    /// Session continues. pycognito and amazon-cognito-identity-js releases before it passed the
    /// Session answer the device steps without one, and Cognito accepts them; the sign-in they
    /// continue is the one that has just proven the password (or the previous device step) for
    /// this pool, client, user and device key, found here exactly as its Session would find it:
    /// the same session, live, single use. With nothing pending (no password step, another
    /// client or device, used, expired, an unknown user) the answer is the refusal a missing
    /// Session always gets, so the device's secret alone never signs anyone in.
    pub(crate) async fn sessionless_device_challenge(
        &self,
        tx: &mut dyn Tx,
        (pool, client, user): (&UserPool, &AppClient, Option<&User>),
        req: &ChallengeResponse,
        now: Timestamp,
    ) -> EngineResult<(Vec<u8>, AuthSession)> {
        let refused = || missing("Session");
        let device_key = req.responses.get("DEVICE_KEY").filter(|k| !k.is_empty());
        let device_step = matches!(
            req.challenge_name.as_str(),
            "DEVICE_SRP_AUTH" | "DEVICE_PASSWORD_VERIFIER"
        );
        let (true, Some(user), Some(device_key)) = (device_step, user, device_key) else {
            return Err(refused());
        };
        let key = DeviceChallengeKey {
            pool_id: pool.id.clone(),
            client_id: client.client_id.clone(),
            sub: user.sub,
            device_key: device_key.clone(),
        };
        tx.find_device_challenge(&key)
            .await?
            .filter(|(_, s)| s.is_live(now) && s.challenge.name() == req.challenge_name)
            .ok_or_else(refused)
    }

    /// Issues tokens for a finished sign-in (committing `tx`), with the device it used, or a
    /// newly tracked one when the pool tracks devices and the client has none yet.
    pub(crate) async fn finish_sign_in(
        &self,
        mut tx: Box<dyn Tx>,
        at: &SignIn<'_>,
        user: &User,
        device: Option<Device>,
        stage: Stage,
        now: Timestamp,
    ) -> EngineResult<AuthOutcome> {
        self.record_sign_in_step(
            &mut *tx,
            &at.pool.id,
            at.context.event_id.as_deref(),
            (stage == Stage::SecondFactorProven).then_some(true),
            true,
        )
        .await?;
        let mut new_device = None;
        let device_key = match device {
            Some(mut d) => {
                d.last_authenticated_at = Some(now);
                tx.update_device(&d).await?;
                Some(d.key)
            }
            None if at.context.srp && DeviceTracking::of(&at.pool.config.settings).is_some() => {
                let key = format!("{}_{}", at.pool.id.region(), crate::random_uuid());
                let device = Device {
                    pool_id: at.pool.id.clone(),
                    sub: user.sub,
                    key: key.clone(),
                    group_key: format!(
                        "-{}",
                        tessera_crypto::random::string_from(GROUP_ALPHABET, 9)
                    ),
                    name: None,
                    salt: None,
                    sealed_verifier: None,
                    remembered: false,
                    created_at: now,
                    modified_at: now,
                    last_authenticated_at: Some(now),
                };
                tx.insert_device(&device).await?;
                new_device = Some((device.key, device.group_key));
                Some(key)
            }
            None => None,
        };
        if at.context.hosted {
            // The hosted pages mint tokens at the token endpoint, for the code they hand out.
            tx.commit().await?;
            self.post_authentication(at, user, false).await?;
            return Ok(AuthOutcome::SignedIn {
                sub: user.sub,
                auth_time: now,
            });
        }
        let (family, refresh) = self
            .start_family(&mut *tx, at.client, user, device_key, now)
            .await?;
        let groups = self.group_claims(&mut *tx, &at.pool.id, &user.sub).await?;
        tx.commit().await?;
        // The PostAuthentication function may still refuse; the family it leaves behind is
        // never handed out and expires unused.
        self.post_authentication(at, user, new_device.is_some())
            .await?;
        let source = match stage {
            Stage::PasswordChosen => "TokenGeneration_NewPasswordChallenge",
            Stage::DeviceProven => "TokenGeneration_AuthenticateDevice",
            _ => "TokenGeneration_Authentication",
        };
        let mint = Mint {
            pool: at.pool,
            client: at.client,
            user,
            groups,
            source,
            metadata: at.metadata.as_ref(),
            oauth: None,
        };
        let mut tokens = self.sign_tokens(mint, &family, Some(refresh), now).await?;
        tokens.new_device = new_device;
        Ok(AuthOutcome::Tokens(tokens))
    }

    /// PostAuthentication: the pool's function may still refuse a completed sign-in.
    async fn post_authentication(
        &self,
        at: &SignIn<'_>,
        user: &User,
        new_device_used: bool,
    ) -> EngineResult<()> {
        let event = Event::new(
            Trigger::PostAuthentication,
            "PostAuthentication_Authentication",
            user.username.as_str(),
        )
        .with("userAttributes", attributes_of(at.pool, user))
        .with("newDeviceUsed", json!(new_device_used))
        .with_map("clientMetadata", at.metadata.as_ref());
        self.run_trigger(at.pool, Some(at.client.client_id.as_str()), event)
            .await?;
        Ok(())
    }

    /// DEVICE_SRP_AUTH: the client sends the device's A; we answer DEVICE_PASSWORD_VERIFIER.
    pub(crate) async fn answer_device_srp(
        &self,
        at: &SignIn<'_>,
        user: User,
        (hash, _session): (&[u8], &AuthSession),
        responses: &BTreeMap<String, String>,
        now: Timestamp,
    ) -> EngineResult<AuthOutcome> {
        let key = param(responses, "DEVICE_KEY")?;
        let a_hex = param(responses, "SRP_A")?;
        if at.context.device_key.as_deref() != Some(key) {
            return Err(no_device());
        }
        let a_pub = srp::parse_client_public(a_hex)
            .map_err(|_| DomainError::invalid_parameter("Invalid SRP_A provided."))?;
        let mut tx = self.inner.store.begin().await?;
        let device = self
            .presented_device(&mut *tx, at, &user)
            .await?
            .ok_or_else(no_device)?;
        let (Some(salt), Some(sealed)) = (&device.salt, &device.sealed_verifier) else {
            return Err(no_device());
        };
        let verifier = self
            .inner
            .master
            .open(&verifier_purpose(at.pool, &device.key), sealed)?
            .to_vec();
        let b = tessera_crypto::random::bytes::<32>();
        let exchange =
            tokio::task::spawn_blocking(move || srp::server_start(&verifier, &b)).await??;
        if !tx.delete_auth_session(hash).await? {
            return Err(expired_session());
        }
        let block = tessera_crypto::random::bytes::<64>().to_vec();
        let parameters = BTreeMap::from([
            ("SALT".to_string(), srp::salt_hex(salt)?),
            ("SRP_B".to_string(), exchange.b_pub_hex.clone()),
            ("SECRET_BLOCK".to_string(), STANDARD.encode(&block)),
            ("USERNAME".to_string(), user.username.to_string()),
            ("DEVICE_KEY".to_string(), device.key.clone()),
        ]);
        let challenge = Challenge::DevicePasswordVerifier {
            srp: SrpState {
                a_pub,
                b_pub: exchange.b_pub_hex,
                sealed_b: self.inner.master.seal(&b_purpose(&device.key), &b),
                user_id: device.key.clone(),
                known: true,
            },
            group_key: device.group_key.clone(),
            secret_block: block,
        };
        let outcome = self
            .open_challenge(&mut *tx, at, &user, challenge, parameters, now)
            .await?;
        tx.commit().await?;
        Ok(outcome)
    }

    /// DEVICE_PASSWORD_VERIFIER: the device's proof; a remembered device then skips MFA.
    pub(crate) async fn answer_device_verifier(
        &self,
        at: &SignIn<'_>,
        user: User,
        (hash, session): (&[u8], &AuthSession),
        responses: &BTreeMap<String, String>,
        now: Timestamp,
    ) -> EngineResult<AuthOutcome> {
        let Challenge::DevicePasswordVerifier {
            srp: state,
            group_key,
            secret_block,
        } = &session.challenge
        else {
            return Err(expired_session());
        };
        let signature = param(responses, "PASSWORD_CLAIM_SIGNATURE")?;
        let timestamp = param(responses, "TIMESTAMP")?;
        let presented_block = param(responses, "PASSWORD_CLAIM_SECRET_BLOCK")?;
        crate::srp::check_claim_time(timestamp, now)?;
        let mut tx = self.inner.store.begin().await?;
        let device = self
            .presented_device(&mut *tx, at, &user)
            .await?
            .filter(|d| d.key == state.user_id)
            .ok_or_else(no_device)?;
        drop(tx);
        let Some(sealed) = &device.sealed_verifier else {
            return Err(no_device());
        };
        let verifier = self
            .inner
            .master
            .open(&verifier_purpose(at.pool, &device.key), sealed)?
            .to_vec();
        let b = self
            .inner
            .master
            .open(&b_purpose(&device.key), &state.sealed_b)?
            .to_vec();
        let (a_pub, b_pub) = (state.a_pub.clone(), state.b_pub.clone());
        let key = tokio::task::spawn_blocking(move || {
            srp::server_session_key(&a_pub, &b_pub, &b, &verifier)
        })
        .await??;
        let same_block = STANDARD
            .decode(presented_block)
            .is_ok_and(|p| tessera_crypto::constant_time_eq(&p, secret_block));
        let valid = same_block
            && srp::verify_claim(
                &key,
                group_key,
                &device.key,
                secret_block,
                timestamp,
                signature,
            );
        if !valid {
            return self
                .wrong_answer(hash, session, DomainError::incorrect_credentials().into())
                .await;
        }
        let mut tx = self.inner.store.begin().await?;
        if !tx.delete_auth_session(hash).await? {
            return Err(expired_session());
        }
        self.proceed(tx, at, &user, Stage::DeviceProven, now).await
    }

    /// ConfirmDevice: stores the device's SRP verifier. Returns UserConfirmationNecessary.
    pub async fn confirm_device(
        &self,
        access_token: &str,
        key: &str,
        verifier_b64: &str,
        salt_b64: &str,
        name: Option<String>,
    ) -> EngineResult<bool> {
        let now = self.now();
        let decode = |s: &str, what: &str| {
            STANDARD
                .decode(s)
                .ok()
                .filter(|b| !b.is_empty())
                .ok_or_else(|| DomainError::invalid_parameter(format!("Invalid {what}.")))
        };
        let verifier = decode(verifier_b64, "PasswordVerifier")?;
        let salt = decode(salt_b64, "Salt")?;
        let who = self.identify(UserRef::AccessToken(access_token)).await?;
        let mut tx = self.inner.store.begin().await?;
        let (pool, user) = self.resolve_user(&mut *tx, &who).await?;
        let mut device = tx
            .get_device(&pool.id, key)
            .await?
            .filter(|d| d.sub == user.sub)
            .ok_or_else(no_device)?;
        let tracking = DeviceTracking::of(&pool.config.settings).ok_or_else(|| {
            DomainError::invalid_parameter("Device tracking is not enabled for this user pool.")
        })?;
        device.sealed_verifier = Some(
            self.inner
                .master
                .seal(&verifier_purpose(&pool, key), &verifier),
        );
        device.salt = Some(salt);
        device.name = name.or(device.name);
        device.remembered = !tracking.on_user_prompt;
        device.modified_at = now;
        tx.update_device(&device).await?;
        tx.commit().await?;
        Ok(tracking.on_user_prompt)
    }

    /// A user's device, refused when it isn't theirs.
    async fn user_device(
        &self,
        tx: &mut dyn Tx,
        who: &Who<'_>,
        key: &str,
    ) -> EngineResult<(UserPool, Device)> {
        let (pool, user) = self.resolve_user(tx, who).await?;
        let device = tx
            .get_device(&pool.id, key)
            .await?
            .filter(|d| d.sub == user.sub)
            .ok_or_else(no_device)?;
        Ok((pool, device))
    }

    pub async fn get_device(&self, who: UserRef<'_>, key: &str) -> EngineResult<Device> {
        let who = self.identify(who).await?;
        let mut tx = self.inner.store.read().await?;
        Ok(self.user_device(&mut *tx, &who, key).await?.1)
    }

    pub async fn forget_device(&self, who: UserRef<'_>, key: &str) -> EngineResult<()> {
        let who = self.identify(who).await?;
        let mut tx = self.inner.store.begin().await?;
        let (pool, device) = self.user_device(&mut *tx, &who, key).await?;
        tx.delete_device(&pool.id, &device.key).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn update_device_status(
        &self,
        who: UserRef<'_>,
        key: &str,
        remembered: bool,
    ) -> EngineResult<()> {
        let who = self.identify(who).await?;
        let mut tx = self.inner.store.begin().await?;
        let (_, mut device) = self.user_device(&mut *tx, &who, key).await?;
        device.remembered = remembered;
        device.modified_at = self.now();
        tx.update_device(&device).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn list_devices(
        &self,
        who: UserRef<'_>,
        limit: usize,
        token: Option<&str>,
    ) -> EngineResult<DevicePage> {
        let after = decode_token(token)?;
        let who = self.identify(who).await?;
        let mut tx = self.inner.store.read().await?;
        let (pool, user) = self.resolve_user(&mut *tx, &who).await?;
        let rows = tx
            .list_devices(&pool.id, &user.sub, after.as_deref(), limit + 1)
            .await?;
        let (devices, next_token) = paged(rows, limit, |d| &d.key);
        Ok(DevicePage {
            devices,
            next_token,
        })
    }
}
