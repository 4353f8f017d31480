//! MFA settings: SetUserPoolMfaConfig, GetUserPoolMfaConfig, SetUserMFAPreference,
//! AdminSetUserMFAPreference, SetUserSettings, AdminSetUserSettings, AssociateSoftwareToken,
//! VerifySoftwareToken. (The challenges themselves are in `signin`.)

use crate::Engine;
use crate::error::{EngineError, EngineResult};
use crate::signin::{expired_session, totp_purpose};
use tessera_domain::attributes::{EMAIL, PHONE_NUMBER};
use tessera_domain::flow::Challenge;
use tessera_domain::mfa::{MfaFactor, PoolMfa};
use tessera_domain::pool::{MfaMode, UserPool};
use tessera_domain::user::User;
use tessera_domain::{DomainError, ErrorKind, UserPoolId};
use tessera_store::{Tx, UserLookup};

/// One factor's part of SetUserMFAPreference.
#[derive(Clone, Copy, Debug, Default)]
pub struct FactorPreference {
    pub enabled: Option<bool>,
    pub preferred: Option<bool>,
}

#[derive(Clone, Copy, Debug, Default)]
pub struct MfaPreferences {
    pub sms: Option<FactorPreference>,
    pub software_token: Option<FactorPreference>,
    pub email: Option<FactorPreference>,
}

/// A pool's MFA configuration as GetUserPoolMfaConfig reports it.
#[derive(Clone, Debug)]
pub struct PoolMfaConfig {
    pub mode: MfaMode,
    pub factors: PoolMfa,
    /// The pool's passkey settings (WebAuthnConfiguration).
    pub webauthn: tessera_domain::passkeys::WebAuthnConfig,
}

/// How AssociateSoftwareToken / VerifySoftwareToken name their user.
#[derive(Clone, Copy, Debug)]
pub enum TokenSetup<'a> {
    AccessToken(&'a str),
    /// The Session of an MFA_SETUP challenge.
    Session(&'a str),
}

fn totp_not_enabled() -> DomainError {
    DomainError::new(
        ErrorKind::SoftwareTokenMfaNotFound,
        "Software Token MFA has not been enabled by the userPool",
    )
}

/// Applies SetUserMFAPreference to a user, with Cognito's preconditions.
fn apply_preferences(
    pool: &UserPool,
    user: &mut User,
    prefs: &MfaPreferences,
) -> Result<(), DomainError> {
    let factors = [
        (MfaFactor::Sms, prefs.sms),
        (MfaFactor::SoftwareToken, prefs.software_token),
        (MfaFactor::Email, prefs.email),
    ];
    for (factor, pref) in factors {
        let Some(pref) = pref else { continue };
        let has = |a: &str| user.attribute(a).is_some_and(|v| !v.is_empty());
        if pref.enabled == Some(true) || pref.preferred == Some(true) {
            match factor {
                MfaFactor::SoftwareToken if !pool.config.mfa_factors.software_token => {
                    return Err(totp_not_enabled());
                }
                MfaFactor::SoftwareToken if user.mfa.totp_secret.is_none() => {
                    return Err(DomainError::invalid_parameter(
                        "User has not verified software token mfa",
                    ));
                }
                MfaFactor::Sms if !has(PHONE_NUMBER) => {
                    return Err(DomainError::invalid_parameter(
                        "User does not have delivery config set to turn on SMS_MFA",
                    ));
                }
                MfaFactor::Email if !has(EMAIL) => {
                    return Err(DomainError::invalid_parameter(
                        "User does not have delivery config set to turn on EMAIL_OTP",
                    ));
                }
                MfaFactor::Sms | MfaFactor::Email if !pool.config.mfa_factors.allows(factor) => {
                    return Err(DomainError::invalid_parameter(format!(
                        "{} is not enabled for this user pool",
                        factor.name()
                    )));
                }
                _ => {}
            }
        }
        let on = pref.enabled.unwrap_or(pref.preferred == Some(true));
        let slot = match factor {
            MfaFactor::Sms => &mut user.mfa.sms,
            MfaFactor::SoftwareToken => &mut user.mfa.software_token,
            MfaFactor::Email => &mut user.mfa.email,
        };
        *slot = on;
        if pref.preferred == Some(true) && on {
            user.mfa.preferred = Some(factor);
        } else if user.mfa.preferred == Some(factor) && (!on || pref.preferred == Some(false)) {
            user.mfa.preferred = None;
        }
    }
    Ok(())
}

impl Engine {
    pub async fn set_user_pool_mfa_config(
        &self,
        pool_id: &UserPoolId,
        mode: Option<MfaMode>,
        factors: PoolMfa,
        webauthn: Option<tessera_domain::passkeys::WebAuthnConfig>,
    ) -> EngineResult<PoolMfaConfig> {
        let mut tx = self.inner.store.begin().await?;
        let mut pool = self.load_pool(&mut *tx, pool_id).await?;
        let mode = mode.unwrap_or(pool.config.mfa);
        if mode != MfaMode::Off && !(factors.sms || factors.software_token || factors.email) {
            return Err(DomainError::invalid_parameter(
                "At least one MFA method (SMS, software token or email) must be enabled when MFA is ON or OPTIONAL.",
            )
            .into());
        }
        pool.config.mfa = mode;
        pool.config.mfa_factors = factors;
        if let Some(w) = webauthn {
            pool.config
                .settings
                .insert(tessera_domain::passkeys::SETTING.into(), w.to_setting());
        }
        pool.modified_at = self.now();
        tx.update_pool(&pool).await?;
        tx.commit().await?;
        Ok(PoolMfaConfig {
            mode,
            webauthn: tessera_domain::passkeys::WebAuthnConfig::of(&pool.config.settings),
            factors: pool.config.mfa_factors,
        })
    }

    pub async fn get_user_pool_mfa_config(
        &self,
        pool_id: &UserPoolId,
    ) -> EngineResult<PoolMfaConfig> {
        let mut tx = self.inner.store.read().await?;
        let pool = self.load_pool(&mut *tx, pool_id).await?;
        Ok(PoolMfaConfig {
            mode: pool.config.mfa,
            webauthn: tessera_domain::passkeys::WebAuthnConfig::of(&pool.config.settings),
            factors: pool.config.mfa_factors,
        })
    }

    async fn update_mfa(
        &self,
        tx: &mut dyn Tx,
        pool: &UserPool,
        mut user: User,
        prefs: &MfaPreferences,
    ) -> EngineResult<()> {
        apply_preferences(pool, &mut user, prefs)?;
        user.modified_at = self.now();
        self.save_user(tx, pool, &user).await
    }

    pub async fn set_user_mfa_preference(
        &self,
        access_token: &str,
        prefs: MfaPreferences,
    ) -> EngineResult<()> {
        let id = self.verify_access_token(access_token).await?;
        let mut tx = self.inner.store.begin().await?;
        let user = self.token_user(&mut *tx, &id).await?;
        let pool = self.load_pool(&mut *tx, &id.pool_id).await?;
        self.update_mfa(&mut *tx, &pool, user, &prefs).await?;
        tx.commit().await?;
        Ok(())
    }

    pub async fn admin_set_user_mfa_preference(
        &self,
        pool_id: &UserPoolId,
        username: &str,
        prefs: MfaPreferences,
    ) -> EngineResult<()> {
        let mut tx = self.inner.store.begin().await?;
        let pool = self.load_pool(&mut *tx, pool_id).await?;
        let user = self
            .find_user(&mut *tx, &pool, username)
            .await?
            .ok_or_else(DomainError::user_not_found)?;
        self.update_mfa(&mut *tx, &pool, user, &prefs).await?;
        tx.commit().await?;
        Ok(())
    }

    /// SetUserSettings / AdminSetUserSettings: the legacy MFAOptions, which only switch SMS MFA.
    pub async fn set_sms_mfa_option(
        &self,
        who: crate::users::UserRef<'_>,
        sms: bool,
    ) -> EngineResult<()> {
        let who = self.identify(who).await?;
        let mut tx = self.inner.store.begin().await?;
        let (pool, user) = self.resolve_user(&mut *tx, &who).await?;
        let prefs = MfaPreferences {
            sms: Some(FactorPreference {
                enabled: Some(sms),
                preferred: None,
            }),
            ..MfaPreferences::default()
        };
        self.update_mfa(&mut *tx, &pool, user, &prefs).await?;
        tx.commit().await?;
        Ok(())
    }

    /// The MFA_SETUP session behind a Session string, live and unexpired.
    async fn setup_session(
        &self,
        tx: &mut dyn Tx,
        token: &str,
    ) -> EngineResult<(Vec<u8>, tessera_domain::flow::AuthSession, UserPool, User)> {
        let hash = tessera_crypto::token_hash(token);
        let session = tx
            .get_auth_session(&hash)
            .await?
            .filter(|s| s.is_live(self.now()))
            .ok_or_else(expired_session)?;
        if !matches!(session.challenge, Challenge::MfaSetup { .. }) {
            return Err(expired_session());
        }
        let pool = self.load_pool(tx, &session.pool_id).await?;
        let user = tx
            .get_user(&pool.id, &UserLookup::Sub(session.sub))
            .await?
            .ok_or_else(expired_session)?;
        Ok((hash, session, pool, user))
    }

    /// Hands out a new TOTP secret (base32). With a Session, the same Session is returned.
    pub async fn associate_software_token(
        &self,
        by: TokenSetup<'_>,
    ) -> EngineResult<(String, Option<String>)> {
        let secret = tessera_crypto::totp::new_secret();
        let code = tessera_crypto::totp::encode(&secret);
        let verified = match by {
            TokenSetup::AccessToken(token) => Some(self.verify_access_token(token).await?),
            TokenSetup::Session(_) => None,
        };
        let mut tx = self.inner.store.begin().await?;
        match by {
            TokenSetup::AccessToken(_) => {
                let id =
                    verified.ok_or_else(|| EngineError::Internal("unverified token".into()))?;
                let mut user = self.token_user(&mut *tx, &id).await?;
                let pool = self.load_pool(&mut *tx, &id.pool_id).await?;
                if !pool.config.mfa_factors.software_token {
                    return Err(totp_not_enabled().into());
                }
                user.mfa.pending_totp_secret =
                    Some(self.inner.master.seal(&totp_purpose(&pool, &user), &secret));
                self.save_user(&mut *tx, &pool, &user).await?;
                tx.commit().await?;
                Ok((code, None))
            }
            TokenSetup::Session(token) => {
                let (hash, mut session, pool, user) = self.setup_session(&mut *tx, token).await?;
                if !pool.config.mfa_factors.software_token {
                    return Err(totp_not_enabled().into());
                }
                if let Challenge::MfaSetup {
                    secret: slot,
                    verified,
                    ..
                } = &mut session.challenge
                {
                    *slot = Some(self.inner.master.seal(&totp_purpose(&pool, &user), &secret));
                    *verified = false;
                }
                tx.update_auth_session(&hash, &session).await?;
                tx.commit().await?;
                Ok((code, Some(token.to_string())))
            }
        }
    }

    /// Checks a code from the newly associated secret. Returns the Session to answer MFA_SETUP
    /// with (for the Session form).
    pub async fn verify_software_token(
        &self,
        by: TokenSetup<'_>,
        code: &str,
        device_name: Option<String>,
    ) -> EngineResult<Option<String>> {
        let now = self.now();
        let mismatch = || {
            EngineError::from(DomainError::new(
                ErrorKind::EnableSoftwareTokenMfa,
                "Code mismatch and fail enable Software Token MFA",
            ))
        };
        let verified = match by {
            TokenSetup::AccessToken(token) => Some(self.verify_access_token(token).await?),
            TokenSetup::Session(_) => None,
        };
        let mut tx = self.inner.store.begin().await?;
        match by {
            TokenSetup::AccessToken(_) => {
                let id =
                    verified.ok_or_else(|| EngineError::Internal("unverified token".into()))?;
                let mut user = self.token_user(&mut *tx, &id).await?;
                let pool = self.load_pool(&mut *tx, &id.pool_id).await?;
                let sealed = user.mfa.pending_totp_secret.clone().ok_or_else(|| {
                    DomainError::invalid_parameter(
                        "Call AssociateSoftwareToken before VerifySoftwareToken.",
                    )
                })?;
                let Some(step) = self.check_totp(&pool, &user, &sealed, code, None, now)? else {
                    return Err(mismatch());
                };
                user.mfa.totp_secret = Some(sealed);
                user.mfa.pending_totp_secret = None;
                user.mfa.totp_device_name = device_name;
                user.mfa.totp_last_step = Some(step);
                user.modified_at = now;
                self.save_user(&mut *tx, &pool, &user).await?;
                tx.commit().await?;
                Ok(None)
            }
            TokenSetup::Session(token) => {
                let (hash, mut session, pool, user) = self.setup_session(&mut *tx, token).await?;
                let Challenge::MfaSetup {
                    secret: Some(sealed),
                    verified,
                    ..
                } = &mut session.challenge
                else {
                    return Err(DomainError::invalid_parameter(
                        "Call AssociateSoftwareToken with this Session first.",
                    )
                    .into());
                };
                let Some(step) = self.check_totp(&pool, &user, sealed, code, None, now)? else {
                    session.attempts += 1;
                    tx.update_auth_session(&hash, &session).await?;
                    tx.commit().await?;
                    return Err(mismatch());
                };
                // Cognito enrols the factor here, not when MFA_SETUP is answered: a client that
                // signs in again without answering is asked SOFTWARE_TOKEN_MFA, not MFA_SETUP.
                let mut user = user;
                user.mfa
                    .enrol_software_token(sealed.clone(), device_name, step);
                user.modified_at = now;
                self.save_user(&mut *tx, &pool, &user).await?;
                *verified = true;
                tx.update_auth_session(&hash, &session).await?;
                tx.commit().await?;
                Ok(Some(token.to_string()))
            }
        }
    }
}
