//! The identity pools' own OpenID tokens: GetOpenIdToken, GetOpenIdTokenForDeveloperIdentity,
//! and the developer-identity operations (Lookup, Merge, Unlink).
//!
//! Tokens are RS256 JWTs signed with one deployment-wide key (created at first use, sealed with
//! the master key, stored so every node signs with the same one) under the issuer
//! `{public_url}/cognito-identity`, whose discovery document and JWKS are served beside it.
//! Claims as Cognito's: `sub` the identity id, `aud` the identity pool id, `amr`
//! `["authenticated", provider…]` or `["unauthenticated"]`. Presented back in Logins under
//! `cognito-identity.amazonaws.com`, such a token proves the identity it names.

use super::LoginProof;
use super::identities::forbidden;
use super::logins::logins_dont_match;
use crate::Engine;
use crate::error::{EngineError, EngineResult, on_conflict};
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;
use tessera_crypto::jwt::{Jwk, SigningKey};
use tessera_domain::identity::{
    DEVELOPER_LOGIN, Identity, IdentityId, IdentityPool, identity_not_found,
};
use tessera_domain::{DomainError, ErrorKind, Timestamp};
use tessera_store::{Conflict, IdentitySigningKey};

/// GetOpenIdToken's tokens last 10 minutes.
const OPEN_ID_LIFETIME_SECS: i64 = 600;
/// GetOpenIdTokenForDeveloperIdentity's default TokenDuration (15 minutes).
const DEVELOPER_DEFAULT_SECS: i64 = 900;
pub(crate) const SEALING_PURPOSE: &str = "identity-signing-key";

pub(crate) struct IdentityKeys {
    signer: SigningKey,
    public: Vec<Jwk>,
    loaded_at: Timestamp,
}

/// A new identity-pool signing key is published (in the JWKS) this long before it signs, so
/// verifiers that cache the JWKS hold it before they meet a token it signed.
pub const IDENTITY_KEY_PUBLISH_AHEAD: Duration = Duration::from_secs(3600);
/// A replaced key stays published this long after its successor began signing: past the
/// longest OpenID token (GetOpenIdTokenForDeveloperIdentity's 24 hours), with 5 minutes' slack.
pub const IDENTITY_KEY_GRACE: Duration = Duration::from_secs(24 * 3600 + 300);
/// How long a node trusts its copy of the keys before reading them again.
const IDENTITY_KEYS_TTL: Duration = Duration::from_secs(5);

/// An identity-pool signing key as `tessera keys list` shows it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct IdentityKeyInfo {
    pub kid: String,
    pub created_at: Timestamp,
    pub signing: bool,
}

/// The key that signs at `now`: the newest published at least [`IDENTITY_KEY_PUBLISH_AHEAD`]
/// ago, or, when none is that old yet (a new deployment, or after a revocation), the oldest.
fn identity_signer(stored: &[IdentitySigningKey], now: Timestamp) -> Option<&IdentitySigningKey> {
    let ripe = now.minus(IDENTITY_KEY_PUBLISH_AHEAD);
    stored
        .iter()
        .rev()
        .find(|k| k.created_at <= ripe)
        .or(stored.first())
}

/// An OpenID token and the identity it names.
pub struct OpenIdToken {
    pub identity_id: String,
    pub token: String,
}

fn developer_key(provider: &str) -> String {
    format!("{DEVELOPER_LOGIN}{provider}")
}

impl Engine {
    /// The issuer of identity-pool OpenID tokens.
    pub fn identity_issuer(&self) -> String {
        format!("{}/cognito-identity", self.inner.settings.issuer_base)
    }

    /// The identity pools' signing keys, created (and stored) at first use, re-read every
    /// [`IDENTITY_KEYS_TTL`] so a rotation or revocation on any node reaches this one.
    async fn identity_keys(&self) -> EngineResult<Arc<IdentityKeys>> {
        let now = self.now();
        if let Some(k) = self
            .inner
            .identity_keys
            .read()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
            && now.since(k.loaded_at) < IDENTITY_KEYS_TTL
        {
            return Ok(k);
        }
        let mut stored = {
            let mut tx = self.inner.store.read().await?;
            tx.identity_signing_keys().await?
        };
        if stored.is_empty() {
            let record = self.new_identity_key().await?;
            let mut tx = self.inner.store.begin().await?;
            tx.insert_identity_signing_key(&record).await?;
            tx.commit().await?;
            let mut tx = self.inner.store.read().await?;
            stored = tx.identity_signing_keys().await?;
        }
        let mut public = Vec::new();
        for k in &stored {
            public.push(
                serde_json::from_str::<Jwk>(&k.public_jwk)
                    .map_err(|e| EngineError::Internal(e.to_string()))?,
            );
        }
        let signing = identity_signer(&stored, now)
            .ok_or_else(|| EngineError::Internal("no identity signing key".into()))?;
        let der = self
            .inner
            .master
            .open(SEALING_PURPOSE, &signing.sealed_private)
            .map_err(|_| {
                EngineError::Internal(
                    "the identity-pool signing key can't be opened: is the master key the one it was sealed with?"
                        .into(),
                )
            })?;
        let keys = Arc::new(IdentityKeys {
            signer: SigningKey::from_pkcs8(&der)?,
            public,
            loaded_at: now,
        });
        *self
            .inner
            .identity_keys
            .write()
            .unwrap_or_else(|e| e.into_inner()) = Some(keys.clone());
        Ok(keys)
    }

    async fn new_identity_key(&self) -> EngineResult<IdentitySigningKey> {
        let (key, der) = tokio::task::spawn_blocking(SigningKey::generate).await??;
        Ok(IdentitySigningKey {
            kid: key.kid().to_string(),
            sealed_private: self.inner.master.seal(SEALING_PURPOSE, &der),
            public_jwk: serde_json::to_string(key.jwk())
                .map_err(|e| EngineError::Internal(e.to_string()))?,
            created_at: self.now(),
        })
    }

    fn forget_identity_keys(&self) {
        *self
            .inner
            .identity_keys
            .write()
            .unwrap_or_else(|e| e.into_inner()) = None;
    }

    /// The identity-pool signing keys as `tessera keys list` shows them: kid, creation and
    /// whether it signs now, oldest first.
    pub async fn list_identity_keys(&self) -> EngineResult<Vec<IdentityKeyInfo>> {
        let now = self.now();
        let stored = {
            let mut tx = self.inner.store.read().await?;
            tx.identity_signing_keys().await?
        };
        let signing = identity_signer(&stored, now).map(|k| k.kid.clone());
        Ok(stored
            .iter()
            .map(|k| IdentityKeyInfo {
                kid: k.kid.clone(),
                created_at: k.created_at,
                signing: signing.as_deref() == Some(k.kid.as_str()),
            })
            .collect())
    }

    /// Identity-key upkeep (every node, now and then; `tessera keys rotate` with `force`):
    /// publishes a new key when the newest is older than `rotate_after` (or at once when
    /// forced and none is waiting), and drops keys replaced long enough ago that no token they
    /// signed is still valid. Returns whether anything changed.
    pub async fn identity_key_upkeep(
        &self,
        rotate_after: Option<Duration>,
        force: bool,
    ) -> EngineResult<bool> {
        let now = self.now();
        let stored = {
            let mut tx = self.inner.store.read().await?;
            tx.identity_signing_keys().await?
        };
        let (Some(newest), Some(signing)) = (stored.last(), identity_signer(&stored, now)) else {
            // No key yet: the first is made when the first token is.
            return Ok(false);
        };
        let waiting = newest.kid != signing.kid;
        let due = rotate_after.is_some_and(|age| now.since(newest.created_at) >= age);
        let fresh = if (force || due) && !waiting {
            Some(self.new_identity_key().await?)
        } else {
            None
        };
        // The signer has signed since it was published ahead; older keys go once every token
        // they signed has expired.
        let signing_since = signing.created_at.plus(IDENTITY_KEY_PUBLISH_AHEAD);
        let gone: Vec<&str> = stored
            .iter()
            .take_while(|k| k.kid != signing.kid)
            .filter(|_| now.since(signing_since) >= IDENTITY_KEY_GRACE)
            .map(|k| k.kid.as_str())
            .collect();
        if fresh.is_none() && gone.is_empty() {
            return Ok(false);
        }
        let mut tx = self.inner.store.begin().await?;
        if let Some(key) = &fresh {
            tx.insert_identity_signing_key(key).await?;
        }
        for kid in &gone {
            tx.delete_identity_signing_key(kid).await?;
        }
        tx.commit().await?;
        self.forget_identity_keys();
        tracing::info!(
            published = fresh.as_ref().map(|k| k.kid.as_str()),
            removed = ?gone,
            "identity-pool signing keys rotated"
        );
        Ok(true)
    }

    /// Withdraws an identity-pool signing key at once: it leaves the JWKS and the tokens it
    /// signed are refused; the newest remaining key signs (a new one is made if none remains).
    /// False when no such key exists.
    pub async fn revoke_identity_key(&self, kid: &str) -> EngineResult<bool> {
        let mut tx = self.inner.store.begin().await?;
        let removed = tx.delete_identity_signing_key(kid).await?;
        tx.commit().await?;
        self.forget_identity_keys();
        if removed {
            crate::audit::event_global("signing_key_revoked", &format!("identity key {kid}"));
        }
        Ok(removed)
    }

    /// The JWKS of identity-pool OpenID tokens.
    pub async fn identity_jwks(&self) -> EngineResult<Vec<Jwk>> {
        Ok(self.identity_keys().await?.public.clone())
    }

    async fn sign_open_id(
        &self,
        pool: &IdentityPool,
        identity: &Identity,
        amr: Vec<String>,
        lifetime_secs: i64,
    ) -> EngineResult<String> {
        let keys = self.identity_keys().await?;
        let now = self.now().secs();
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(self.identity_issuer()));
        claims.insert("sub".into(), json!(identity.id.as_str()));
        claims.insert("aud".into(), json!(pool.id.as_str()));
        claims.insert("amr".into(), json!(amr));
        claims.insert("iat".into(), json!(now));
        claims.insert("exp".into(), json!(now + lifetime_secs));
        claims.insert(
            "https://cognito-identity.amazonaws.com/identity-pool-arn".into(),
            json!(self.identity_pool_arn(&pool.id)),
        );
        Ok(keys.signer.sign(&claims)?)
    }

    /// A token from `cognito-identity.amazonaws.com` in Logins: ours, for this pool, unexpired.
    pub(crate) async fn verify_own_open_id(
        &self,
        pool: &IdentityPool,
        key: &str,
        token: &str,
    ) -> EngineResult<LoginProof> {
        let invalid = |d: &str| {
            EngineError::from(DomainError::not_authorized(format!(
                "Invalid login token. {d}"
            )))
        };
        let mut keys = self.identity_keys().await?;
        let kid = tessera_crypto::jwt::kid_of(token)
            .ok_or_else(|| invalid("Couldn't verify signed token."))?;
        if !keys.public.iter().any(|k| k.kid == kid)
            && self.now().since(keys.loaded_at) >= Duration::from_secs(1)
        {
            // A key another node published since this one last looked (at most once a second).
            self.forget_identity_keys();
            keys = self.identity_keys().await?;
        }
        let jwk = keys
            .public
            .iter()
            .find(|k| k.kid == kid)
            .ok_or_else(|| invalid("Couldn't verify signed token."))?;
        let claims = tessera_crypto::jwt::verify(token, jwk)
            .map_err(|_| invalid("Couldn't verify signed token."))?;
        let text = |n: &str| claims.get(n).and_then(Value::as_str);
        if text("iss") != Some(self.identity_issuer().as_str()) {
            return Err(invalid("Issuer doesn't match providerName"));
        }
        if text("aud") != Some(pool.id.as_str()) {
            return Err(logins_dont_match());
        }
        let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
        let now = self.now().secs();
        if now >= exp {
            return Err(invalid(&format!("Token expired: {now} >= {exp}")));
        }
        let subject = text("sub")
            .ok_or_else(|| invalid("Missing a required claim: sub"))?
            .to_string();
        Ok(LoginProof {
            provider: key.to_string(),
            subject,
            client_id: None,
            claims,
        })
    }

    /// GetOpenIdToken (the basic flow): a 10-minute token for an identity.
    pub async fn get_open_id_token(
        &self,
        identity_id: &str,
        logins: &BTreeMap<String, String>,
    ) -> EngineResult<OpenIdToken> {
        let (mut identity, pool) = self.identity_and_pool(identity_id).await?;
        if pool.config.allow_classic_flow == Some(false) {
            return Err(DomainError::invalid_parameter(
                "Basic (classic) flow is not enabled, please use enhanced flow.",
            )
            .into());
        }
        if identity.disabled {
            return Err(forbidden(&identity.id).into());
        }
        let proofs = self.verify_logins(&pool, logins).await?;
        let proofs = self.own_tokens_name(&identity, proofs)?;
        if proofs.is_empty() {
            if identity.is_authenticated() {
                return Err(logins_dont_match());
            }
            if !pool.config.allow_unauthenticated_identities {
                return Err(DomainError::not_authorized(
                    "Unauthenticated access is not supported for this identity pool.",
                )
                .into());
            }
        } else {
            let mut tx = self.inner.store.begin().await?;
            self.link_logins(&mut *tx, &mut identity, &proofs).await?;
            tx.commit().await?;
        }
        let amr = amr_of(&identity);
        let token = self
            .sign_open_id(&pool, &identity, amr, OPEN_ID_LIFETIME_SECS)
            .await?;
        Ok(OpenIdToken {
            identity_id: identity.id.to_string(),
            token,
        })
    }

    /// Identity-pool tokens among verified logins must name this identity; they prove it but
    /// aren't logins to link, so they are taken out.
    pub(crate) fn own_tokens_name(
        &self,
        identity: &Identity,
        proofs: Vec<LoginProof>,
    ) -> EngineResult<Vec<LoginProof>> {
        let mut rest = Vec::new();
        for p in proofs {
            if p.provider == super::credentials::IDENTITY_POOL_PROVIDER {
                if p.subject != identity.id.as_str() {
                    return Err(forbidden(&identity.id).into());
                }
            } else {
                rest.push(p);
            }
        }
        Ok(rest)
    }

    async fn identity_and_pool(&self, identity_id: &str) -> EngineResult<(Identity, IdentityPool)> {
        let mut tx = self.inner.store.read().await?;
        let identity = self.load_identity(&mut *tx, identity_id).await?;
        let pool = self.load_identity_pool(&mut *tx, &identity.pool_id).await?;
        Ok((identity, pool))
    }

    fn developer_provider(&self, pool: &IdentityPool, name: &str) -> EngineResult<String> {
        match &pool.config.developer_provider_name {
            Some(p) if p == name => Ok(developer_key(p)),
            _ => Err(DomainError::not_authorized(format!(
                "The developer provider {} is not configured for this identity pool.",
                name.chars().take(128).collect::<String>()
            ))
            .into()),
        }
    }

    /// GetOpenIdTokenForDeveloperIdentity: the identity of a developer user id (created at
    /// first use, or the given IdentityId it is linked to), with a token for it.
    pub async fn get_open_id_token_for_developer_identity(
        &self,
        pool_id: &str,
        identity_id: Option<&str>,
        logins: &BTreeMap<String, String>,
        token_duration: Option<i64>,
    ) -> EngineResult<OpenIdToken> {
        let pool = self.describe_identity_pool(pool_id).await?;
        let dev_name = pool
            .config
            .developer_provider_name
            .clone()
            .unwrap_or_default();
        let Some(user_id) = logins.get(&dev_name).filter(|_| !dev_name.is_empty()) else {
            return Err(DomainError::not_authorized(
                "The Logins map must hold the identity pool's developer provider name.",
            )
            .into());
        };
        let dev_key = self.developer_provider(&pool, &dev_name)?;
        let public: BTreeMap<String, String> = logins
            .iter()
            .filter(|(k, _)| **k != dev_name)
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let mut proofs = self.verify_logins(&pool, &public).await?;
        proofs.push(LoginProof {
            provider: dev_key.clone(),
            subject: user_id.clone(),
            client_id: None,
            claims: Map::new(),
        });
        let mut tx = self.inner.store.begin().await?;
        let registered = tx.identity_by_login(&pool.id, &dev_key, user_id).await?;
        let mut identity = match identity_id {
            Some(id) => {
                let identity = self.load_identity(&mut *tx, id).await?;
                if identity.pool_id != pool.id {
                    return Err(identity_not_found(id).into());
                }
                if registered.as_ref().is_some_and(|r| r.id != identity.id) {
                    return Err(DomainError::new(
                        ErrorKind::DeveloperUserAlreadyRegistered,
                        "The developer user identifier is already registered with another identity.",
                    )
                    .into());
                }
                identity
            }
            None => match registered {
                Some(r) => r,
                None => {
                    let now = self.now();
                    let fresh = Identity {
                        id: IdentityId::generate(
                            pool.id.region(),
                            tessera_crypto::random::bytes::<16>(),
                        ),
                        pool_id: pool.id.clone(),
                        created_at: now,
                        modified_at: now,
                        logins: BTreeMap::new(),
                        disabled: false,
                    };
                    tx.insert_identity(&fresh).await?;
                    fresh
                }
            },
        };
        self.link_logins(&mut *tx, &mut identity, &proofs).await?;
        tx.commit().await?;
        let amr = amr_of(&identity);
        let lifetime = token_duration
            .unwrap_or(DEVELOPER_DEFAULT_SECS)
            .clamp(1, 86_400);
        let token = self.sign_open_id(&pool, &identity, amr, lifetime).await?;
        Ok(OpenIdToken {
            identity_id: identity.id.to_string(),
            token,
        })
    }

    /// LookupDeveloperIdentity: the identity of a developer user id, or the developer user ids
    /// of an identity; both given must agree.
    pub async fn lookup_developer_identity(
        &self,
        pool_id: &str,
        identity_id: Option<&str>,
        user_id: Option<&str>,
    ) -> EngineResult<(String, Vec<String>)> {
        let pool = self.describe_identity_pool(pool_id).await?;
        let dev_key = pool
            .config
            .developer_provider_name
            .as_deref()
            .map(developer_key)
            .unwrap_or_default();
        let mut tx = self.inner.store.read().await?;
        let by_user = match user_id {
            Some(u) => Some(
                tx.identity_by_login(&pool.id, &dev_key, u)
                    .await?
                    .ok_or_else(|| identity_not_found(u))?,
            ),
            None => None,
        };
        let identity = match (identity_id, by_user) {
            (Some(id), Some(found)) => {
                if found.id.as_str() != id {
                    return Err(DomainError::new(
                        ErrorKind::ResourceConflict,
                        "The developer user identifier doesn't belong to the given identity.",
                    )
                    .into());
                }
                found
            }
            (None, Some(found)) => found,
            (Some(id), None) => {
                let identity = self.load_identity(&mut *tx, id).await?;
                if identity.pool_id != pool.id {
                    return Err(identity_not_found(id).into());
                }
                identity
            }
            (None, None) => {
                return Err(DomainError::invalid_parameter(
                    "IdentityId or DeveloperUserIdentifier must be given.",
                )
                .into());
            }
        };
        let users = identity.logins.get(&dev_key).cloned().into_iter().collect();
        Ok((identity.id.to_string(), users))
    }

    /// MergeDeveloperIdentities: the source user's logins move to the destination user's
    /// identity; the source identity is disabled. Returns the destination identity id.
    pub async fn merge_developer_identities(
        &self,
        pool_id: &str,
        provider: &str,
        source: &str,
        destination: &str,
    ) -> EngineResult<String> {
        let pool = self.describe_identity_pool(pool_id).await?;
        let dev_key = self.developer_provider(&pool, provider)?;
        let mut tx = self.inner.store.begin().await?;
        let mut src = tx
            .identity_by_login(&pool.id, &dev_key, source)
            .await?
            .ok_or_else(|| identity_not_found(source))?;
        let mut dst = tx
            .identity_by_login(&pool.id, &dev_key, destination)
            .await?
            .ok_or_else(|| identity_not_found(destination))?;
        if src.id == dst.id {
            return Ok(dst.id.to_string());
        }
        let moved = std::mem::take(&mut src.logins);
        for (p, subject) in &moved {
            if p != &dev_key && dst.logins.contains_key(p) {
                return Err(DomainError::new(
                    ErrorKind::ResourceConflict,
                    "Both identities have a login of the same provider.",
                )
                .into());
            }
            if p != &dev_key {
                dst.logins.insert(p.clone(), subject.clone());
            }
        }
        let now = self.now();
        src.disabled = true;
        src.modified_at = now;
        tx.update_identity(&src).await?;
        // The source's developer user id can't share the provider slot; it is retired with
        // the source identity, as its other logins now belong to the destination.
        dst.modified_at = now;
        tx.update_identity(&dst).await.map_err(|e| {
            on_conflict(e, |c| {
                (*c == Conflict::Login).then(|| {
                    DomainError::new(
                        ErrorKind::ResourceConflict,
                        "A login is already linked elsewhere.",
                    )
                })
            })
        })?;
        // Cognito Sync: the source's datasets live on under the destination as
        // `{name}.{sourceId}` (MergedDatasetNames).
        tx.merge_datasets(&src.id, &dst.id).await?;
        tx.commit().await?;
        Ok(dst.id.to_string())
    }

    /// UnlinkDeveloperIdentity: removes the developer user id from the identity.
    pub async fn unlink_developer_identity(
        &self,
        pool_id: &str,
        identity_id: &str,
        provider: &str,
        user_id: &str,
    ) -> EngineResult<()> {
        let pool = self.describe_identity_pool(pool_id).await?;
        let dev_key = self.developer_provider(&pool, provider)?;
        let mut tx = self.inner.store.begin().await?;
        let mut identity = self.load_identity(&mut *tx, identity_id).await?;
        if identity.pool_id != pool.id
            || identity.logins.get(&dev_key).map(String::as_str) != Some(user_id)
        {
            return Err(DomainError::resource_not_found(
                "The developer user identifier is not linked to this identity.",
            )
            .into());
        }
        identity.logins.remove(&dev_key);
        identity.modified_at = self.now();
        tx.update_identity(&identity).await?;
        tx.commit().await?;
        Ok(())
    }
}

/// `amr` of an identity's tokens: `unauthenticated`, or `authenticated` and its providers.
pub(crate) fn amr_of(identity: &Identity) -> Vec<String> {
    if !identity.is_authenticated() {
        return vec!["unauthenticated".into()];
    }
    let mut amr = vec!["authenticated".to_string()];
    for (provider, subject) in &identity.logins {
        match provider.strip_prefix(DEVELOPER_LOGIN) {
            Some(dev) => {
                amr.push(dev.to_string());
                amr.push(format!("{dev}:{}:{subject}", identity.pool_id));
            }
            None => {
                amr.push(provider.clone());
                amr.push(format!("{provider}:CognitoSignIn:{subject}"));
            }
        }
    }
    amr
}
