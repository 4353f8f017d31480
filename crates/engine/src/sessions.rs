//! User sessions: SetUserPoolSessionConfiguration, GetUserPoolSessionConfiguration,
//! SetUserPoolClientSessionConfiguration, GetUserPoolClientSessionConfiguration,
//! ListUserSessions, AdminListUserSessions, RevokeUserSession, AdminRevokeUserSession; and
//! AdminDeleteSoftwareToken.
//!
//! A token session is a token family (see `tessera_domain::sessions`): revoking it revokes the
//! family, so its refresh token and every access token issued from it (they carry its
//! `origin_jti`) are refused at once. With session tracking on, a sign-in past the pool's
//! MaxPerUser evicts the user's least recently used sessions first.

use crate::Engine;
use crate::error::{EngineError, EngineResult};
use crate::users::{UserRef, Who};
use tessera_domain::sessions::{
    self, CLIENT_SETTING, PoolSessions, parse_token_session_id, token_session_id,
};
use tessera_domain::{ClientId, DomainError, ErrorKind, Sub, Timestamp, UserPoolId};
use tessera_store::Tx;

/// Which kind of session: a token family, or the hosted UI's sign-in (single sign-on) cookie.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SessionKind {
    Token,
    Sso,
}

/// One of a user's sessions, as ListUserSessions reports it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserSession {
    pub session_id: String,
    pub kind: SessionKind,
    /// The app client it was started through (an SSO session from before clients were
    /// recorded has none).
    pub client_id: Option<ClientId>,
    pub created_at: Timestamp,
    pub last_active_at: Timestamp,
    /// The tracked device the session is bound to (its name, or its key), if any.
    pub device: Option<String>,
    /// The session the calling access token belongs to.
    pub current: bool,
}

/// Sessions per ListUserSessions page.
pub const SESSIONS_PAGE: usize = 50;

fn session_not_found() -> EngineError {
    DomainError::new(ErrorKind::ResourceNotFound, "Session not found.").into()
}

impl Engine {
    /// Before a new token family is started for `sub`: with tracking on, revokes the least
    /// recently used sessions beyond the pool's MaxPerUser (inside the caller's transaction).
    pub(crate) async fn make_room_for_a_session(
        &self,
        tx: &mut dyn Tx,
        pool_id: &UserPoolId,
        sub: &Sub,
        now: Timestamp,
    ) -> EngineResult<()> {
        let Some(pool) = tx.get_pool(pool_id).await? else {
            return Ok(());
        };
        let config = PoolSessions::of(&pool.config.settings);
        if !config.tracking {
            return Ok(());
        }
        let active: Vec<_> = tx
            .active_token_families(pool_id, sub, now)
            .await?
            .into_iter()
            .map(|(f, last)| (f.origin_jti, last))
            .collect();
        for origin_jti in sessions::evictions(&active, config.max_per_user) {
            tx.revoke_token_family(&origin_jti, now).await?;
        }
        Ok(())
    }

    pub async fn set_user_pool_session_configuration(
        &self,
        pool_id: &UserPoolId,
        config: PoolSessions,
    ) -> EngineResult<PoolSessions> {
        if !(1..=100).contains(&config.max_per_user) {
            return Err(DomainError::invalid_parameter(
                "TokenSession.MaxPerUser must be between 1 and 100.",
            )
            .into());
        }
        let mut tx = self.inner.store.begin().await?;
        let mut pool = self.load_pool(&mut *tx, pool_id).await?;
        pool.config
            .settings
            .insert(sessions::SETTING.into(), config.to_setting());
        pool.modified_at = self.now();
        tx.update_pool(&pool).await?;
        tx.commit().await?;
        Ok(config)
    }

    pub async fn get_user_pool_session_configuration(
        &self,
        pool_id: &UserPoolId,
    ) -> EngineResult<PoolSessions> {
        let mut tx = self.inner.store.read().await?;
        let pool = self.load_pool(&mut *tx, pool_id).await?;
        Ok(PoolSessions::of(&pool.config.settings))
    }

    /// SetUserPoolClientSessionConfiguration: the client's SSO session lifetime, kept with the
    /// client. (Tessera's hosted sessions don't yet read it.)
    pub async fn set_client_session_configuration(
        &self,
        pool_id: &UserPoolId,
        client_id: &str,
        max_validity_minutes: i64,
    ) -> EngineResult<i64> {
        let mut tx = self.inner.store.begin().await?;
        self.load_pool(&mut *tx, pool_id).await?;
        let mut client = self.load_client(&mut *tx, client_id).await?;
        if &client.pool_id != pool_id {
            return Err(DomainError::client_not_found(client_id).into());
        }
        client.config.settings.insert(
            CLIENT_SETTING.into(),
            serde_json::json!({ "MaxValidityMinutes": max_validity_minutes }),
        );
        client.modified_at = self.now();
        tx.update_client(&client).await?;
        tx.commit().await?;
        Ok(max_validity_minutes)
    }

    pub async fn get_client_session_configuration(
        &self,
        pool_id: &UserPoolId,
        client_id: &str,
    ) -> EngineResult<Option<i64>> {
        let mut tx = self.inner.store.read().await?;
        self.load_pool(&mut *tx, pool_id).await?;
        let client = self.load_client(&mut *tx, client_id).await?;
        if &client.pool_id != pool_id {
            return Err(DomainError::client_not_found(client_id).into());
        }
        Ok(sessions::sso_validity_minutes(&client.config.settings))
    }

    /// ListUserSessions / AdminListUserSessions: the user's active token sessions and hosted-UI
    /// (SSO) sessions, oldest first, [`SESSIONS_PAGE`] at a time; the token names the last
    /// session of the page before.
    pub async fn list_user_sessions(
        &self,
        who: UserRef<'_>,
        next_token: Option<&str>,
    ) -> EngineResult<(Vec<UserSession>, Option<String>)> {
        let after = crate::pools::decode_token(next_token)?;
        let who = self.identify(who).await?;
        let current = match &who {
            Who::Token(id) => Some(id.origin_jti),
            Who::Admin { .. } => None,
        };
        let now = self.now();
        let mut tx = self.inner.store.read().await?;
        let (pool, user) = self.resolve_user(&mut *tx, &who).await?;
        let families = tx.active_token_families(&pool.id, &user.sub, now).await?;
        let hosted = tx.hosted_sessions_of(&pool.id, &user.sub, now).await?;
        let mut all: Vec<UserSession> = families
            .iter()
            .map(|(family, last)| UserSession {
                session_id: token_session_id(&family.origin_jti),
                kind: SessionKind::Token,
                client_id: Some(family.client_id.clone()),
                created_at: family.created_at,
                last_active_at: *last,
                // The device's key for now; named below for the page's sessions only.
                device: family.device_key.clone(),
                current: current == Some(family.origin_jti),
            })
            .chain(hosted.into_iter().filter_map(|(_, s)| {
                Some(UserSession {
                    session_id: s.session_id?,
                    kind: SessionKind::Sso,
                    client_id: s.client_id,
                    created_at: s.auth_time,
                    last_active_at: s.auth_time,
                    device: None,
                    current: false,
                })
            }))
            .collect();
        all.sort_by(|a, b| (a.created_at, &a.session_id).cmp(&(b.created_at, &b.session_id)));
        let start = match &after {
            Some(id) => {
                all.iter()
                    .position(|s| s.session_id == *id)
                    .ok_or_else(|| {
                        // The session the page ended with is gone (expired or revoked): the
                        // client starts over rather than skip or repeat sessions silently.
                        DomainError::invalid_parameter("Invalid pagination token provided.")
                    })?
                    + 1
            }
            None => 0,
        };
        let more = all.len() > start + SESSIONS_PAGE;
        let mut out: Vec<UserSession> = all.into_iter().skip(start).take(SESSIONS_PAGE).collect();
        for session in &mut out {
            if let Some(key) = session.device.take() {
                session.device = Some(
                    tx.get_device(&pool.id, &key)
                        .await?
                        .and_then(|d| d.name)
                        .unwrap_or(key),
                );
            }
        }
        let next = more
            .then(|| {
                out.last()
                    .map(|s| crate::pools::encode_token(&s.session_id))
            })
            .flatten();
        Ok((out, next))
    }

    /// RevokeUserSession / AdminRevokeUserSession: ends one of the user's token sessions — its
    /// refresh token and access tokens at once. A user can't revoke the session of the access
    /// token they call with (GlobalSignOut or RevokeToken do that).
    pub async fn revoke_user_session(
        &self,
        who: UserRef<'_>,
        session_id: &str,
    ) -> EngineResult<()> {
        let who = self.identify(who).await?;
        if sessions::is_sso_session_id(session_id) {
            return self.revoke_sso_session(&who, session_id).await;
        }
        let origin_jti = parse_token_session_id(session_id).ok_or_else(session_not_found)?;
        if let Who::Token(id) = &who
            && id.origin_jti == origin_jti
        {
            return Err(DomainError::invalid_parameter(
                "You can't revoke the session that the access token belongs to.",
            )
            .into());
        }
        let now = self.now();
        let mut tx = self.inner.store.begin().await?;
        let (pool, user) = self.resolve_user(&mut *tx, &who).await?;
        let family = tx
            .get_token_family(&origin_jti)
            .await?
            .filter(|f| f.pool_id == pool.id && f.sub == user.sub && f.is_active(now))
            .ok_or_else(session_not_found)?;
        tx.revoke_token_family(&family.origin_jti, now).await?;
        tx.commit().await?;
        Ok(())
    }

    /// Ends one of the user's hosted-UI sessions: its cookie stops signing in at once, on every
    /// node (tokens already issued through it are token sessions of their own).
    async fn revoke_sso_session(&self, who: &Who<'_>, session_id: &str) -> EngineResult<()> {
        let now = self.now();
        let mut tx = self.inner.store.begin().await?;
        let (pool, user) = self.resolve_user(&mut *tx, who).await?;
        let hash = tx
            .hosted_sessions_of(&pool.id, &user.sub, now)
            .await?
            .into_iter()
            .find(|(_, s)| s.session_id.as_deref() == Some(session_id))
            .map(|(hash, _)| hash)
            .ok_or_else(session_not_found)?;
        tx.delete_hosted_session(&hash).await?;
        tx.commit().await?;
        Ok(())
    }

    /// AdminDeleteSoftwareToken: removes the user's authenticator app (and TOTP as a factor,
    /// and as their preferred one). Idempotent.
    pub async fn admin_delete_software_token(
        &self,
        pool_id: &UserPoolId,
        username: &str,
    ) -> EngineResult<()> {
        let who = UserRef::Admin {
            pool: pool_id,
            username,
        };
        let who = self.identify(who).await?;
        let mut tx = self.inner.store.begin().await?;
        let (pool, mut user) = self.resolve_user(&mut *tx, &who).await?;
        user.mfa.totp_secret = None;
        user.mfa.totp_device_name = None;
        user.mfa.totp_last_step = None;
        user.mfa.software_token = false;
        if user.mfa.preferred == Some(tessera_domain::mfa::MfaFactor::SoftwareToken) {
            user.mfa.preferred = None;
        }
        user.modified_at = self.now();
        self.save_user(&mut *tx, &pool, &user).await?;
        tx.commit().await?;
        Ok(())
    }
}
