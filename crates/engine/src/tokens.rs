//! Issuing, verifying, refreshing and revoking tokens: GetTokensFromRefreshToken, RevokeToken,
//! GlobalSignOut, AdminUserGlobalSignOut, and access-token authentication for the operations that
//! take one.

use crate::Engine;
use crate::error::{EngineError, EngineResult};
use crate::flow::TokenSet;
use crate::random_uuid;
use crate::triggers::attributes_of;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Value, json};
use std::collections::BTreeMap;
use tessera_crypto::jwt::unverified_claims;
use tessera_domain::client::AppClient;
use tessera_domain::groups::GroupClaims;
use tessera_domain::pool::UserPool;
use tessera_domain::tokens::{ADMIN_SCOPE, RefreshTokenRecord, TokenFamily, TokenRequest};
use tessera_domain::triggers::{Event, LambdaConfig, TokenOverrides, Trigger};
use tessera_domain::user::User;
use tessera_domain::{ClientId, DomainError, ErrorKind, Sub, Timestamp, UserPoolId};
use tessera_store::{AccessRead, FamilyState, KeyUse, Tx, UserLookup};
use uuid::Uuid;

/// Who an access token speaks for, once verified.
#[derive(Clone, Debug)]
pub(crate) struct AccessIdentity {
    pub pool_id: UserPoolId,
    pub sub: Sub,
    pub client_id: ClientId,
    /// The token's `scope` claim.
    pub scopes: Vec<String>,
    /// The family (token session) the token was issued from.
    pub origin_jti: Uuid,
}

/// Whose tokens are minted, where, and why (the PreTokenGeneration event's triggerSource and
/// the ClientMetadata it may see).
pub(crate) struct Mint<'a> {
    pub pool: &'a UserPool,
    pub client: &'a AppClient,
    pub user: &'a User,
    /// The user's groups, read with the user.
    pub groups: GroupClaims,
    pub source: &'a str,
    pub metadata: Option<&'a BTreeMap<String, String>>,
    /// Tokens for the OAuth endpoints: the ID token gets `at_hash` (and the request's `nonce`).
    pub oauth: Option<OAuthMint<'a>>,
}

/// What an OAuth grant adds to the ID token.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct OAuthMint<'a> {
    pub nonce: Option<&'a str>,
}

/// OIDC Core §3.1.3.6: base64url of the left half of SHA-256 of the access token.
pub(crate) fn at_hash(access_token: &str) -> String {
    let digest = tessera_crypto::token_hash(access_token);
    URL_SAFE_NO_PAD.encode(&digest[..16])
}

/// How a refresh request proves its client.
pub enum ClientProof<'a> {
    /// InitiateAuth: SECRET_HASH computed over the username.
    SecretHash(Option<&'a str>),
    /// GetTokensFromRefreshToken and RevokeToken: the client secret itself.
    Secret(Option<&'a str>),
    /// The token endpoint for a CIMD client: a public client, authenticated by its metadata
    /// URL being admitted by a policy of the pool (the caller checked that).
    AdmittedMetadataUrl,
}

/// A token's family must exist, be the token's user's and not be revoked (sign-out, a revoked
/// refresh token, an admin's revocation): checked on every call.
fn family_live(id: &AccessIdentity, family: Option<FamilyState>) -> EngineResult<()> {
    match family {
        Some(f) if !f.revoked && f.sub == id.sub => Ok(()),
        _ => Err(DomainError::not_authorized("Access Token has been revoked").into()),
    }
}

/// The user an access token speaks for, as read: refused if gone or disabled.
pub(crate) fn token_user_usable(user: Option<User>) -> EngineResult<User> {
    let user = user.ok_or_else(DomainError::user_not_found)?;
    if !user.enabled {
        return Err(DomainError::not_authorized("User is disabled.").into());
    }
    Ok(user)
}

fn invalid_access() -> EngineError {
    DomainError::not_authorized("Invalid Access Token").into()
}

fn missing_scope() -> EngineError {
    DomainError::not_authorized("Access Token does not have required scopes").into()
}

/// Who a verified access token's claims name.
fn access_identity(
    pool_id: UserPoolId,
    claims: &serde_json::Map<String, Value>,
) -> EngineResult<AccessIdentity> {
    let text = |name: &str| {
        claims
            .get(name)
            .and_then(Value::as_str)
            .ok_or_else(invalid_access)
    };
    let sub = Uuid::parse_str(text("sub")?)
        .map(Sub)
        .map_err(|_| invalid_access())?;
    let origin_jti = Uuid::parse_str(text("origin_jti")?).map_err(|_| invalid_access())?;
    let client_id = ClientId::parse(text("client_id")?).map_err(|_| invalid_access())?;
    let scopes = claims
        .get("scope")
        .and_then(Value::as_str)
        .unwrap_or_default();
    Ok(AccessIdentity {
        origin_jti,
        pool_id,
        sub,
        client_id,
        scopes: scopes
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect(),
    })
}

fn invalid_refresh() -> EngineError {
    DomainError::not_authorized("Invalid Refresh Token").into()
}

impl Engine {
    /// Starts a token family for a fresh authentication (inside `tx`) and returns its refresh
    /// token; the caller commits, then signs with [`Engine::sign_tokens`].
    pub(crate) async fn start_family(
        &self,
        tx: &mut dyn Tx,
        client: &AppClient,
        user: &User,
        device_key: Option<String>,
        now: Timestamp,
    ) -> EngineResult<(TokenFamily, String)> {
        self.make_room_for_a_session(tx, &user.pool_id, &user.sub, now)
            .await?;
        let family = TokenFamily {
            origin_jti: random_uuid(),
            pool_id: user.pool_id.clone(),
            client_id: client.client_id.clone(),
            sub: user.sub,
            auth_time: now,
            created_at: now,
            refresh_expires_at: now.plus(client.config.validity.refresh.duration()),
            revoked_at: None,
            scopes: vec![ADMIN_SCOPE.to_string()],
            device_key,
        };
        tx.insert_token_family(&family).await?;
        let refresh = self.new_refresh_token(tx, &family, now).await?;
        Ok((family, refresh))
    }

    pub(crate) async fn new_refresh_token(
        &self,
        tx: &mut dyn Tx,
        family: &TokenFamily,
        now: Timestamp,
    ) -> EngineResult<String> {
        let token = tessera_crypto::random::token(64);
        tx.insert_refresh_token(&RefreshTokenRecord {
            hash: tessera_crypto::token_hash(&token),
            origin_jti: family.origin_jti,
            pool_id: family.pool_id.clone(),
            issued_at: now,
            superseded_at: None,
        })
        .await?;
        Ok(token)
    }

    /// Signs an ID and access token for `family` (RSA on the blocking pool), after the pool's
    /// PreTokenGeneration function, if any, has had its say. `source` is the event's
    /// triggerSource (TokenGeneration_Authentication, _RefreshTokens, …).
    pub(crate) async fn sign_tokens(
        &self,
        mint: Mint<'_>,
        family: &TokenFamily,
        refresh_token: Option<String>,
        now: Timestamp,
    ) -> EngineResult<TokenSet> {
        let Mint {
            pool,
            client,
            user,
            mut groups,
            source,
            metadata,
            oauth,
        } = mint;
        let issuer = self.issuer(&user.pool_id);
        let overrides = self
            .pre_token_generation(pool, client, user, family, &groups, source, metadata)
            .await?;
        if let Some(o) = overrides.as_ref().and_then(|o| o.groups.as_ref()) {
            groups = GroupClaims::overridden(o);
        }
        let request = TokenRequest {
            issuer: &issuer,
            client,
            user,
            family,
            groups: &groups,
            event_id: random_uuid(),
            id_jti: random_uuid(),
            access_jti: random_uuid(),
            now,
        };
        let (mut id_claims, mut access_claims) = (request.id_claims(), request.access_claims());
        if let Some(o) = &overrides {
            o.apply_to_id(&mut id_claims)?;
            o.apply_to_access(&mut access_claims)?;
        }
        if let Some(nonce) = oauth.and_then(|o| o.nonce) {
            id_claims.insert("nonce".into(), json!(nonce));
        }
        crate::audit::note_user(&user.pool_id, &user.sub);
        let keys = self.pool_keys(&user.pool_id).await?;
        let with_at_hash = oauth.is_some();
        let (id_token, access_token) = tokio::task::spawn_blocking(move || {
            let access_token = keys.signer(KeyUse::Access).sign(&access_claims)?;
            if with_at_hash {
                id_claims.insert("at_hash".into(), json!(at_hash(&access_token)));
            }
            Ok::<_, tessera_crypto::CryptoError>((
                keys.signer(KeyUse::Id).sign(&id_claims)?,
                access_token,
            ))
        })
        .await??;
        Ok(TokenSet {
            access_token,
            id_token,
            refresh_token,
            expires_in: client.config.validity.access.duration().as_secs(),
            new_device: None,
        })
    }

    /// Runs the pool's PreTokenGeneration function, if any, and returns what it asked for.
    #[allow(clippy::too_many_arguments)]
    async fn pre_token_generation(
        &self,
        pool: &UserPool,
        client: &AppClient,
        user: &User,
        family: &TokenFamily,
        groups: &GroupClaims,
        source: &str,
        metadata: Option<&BTreeMap<String, String>>,
    ) -> EngineResult<Option<TokenOverrides>> {
        let config = LambdaConfig::of(&pool.config.settings);
        if config.function(Trigger::PreTokenGeneration).is_none() {
            return Ok(None);
        }
        let version = config.token_version;
        let mut event = Event::new(Trigger::PreTokenGeneration, source, user.username.as_str())
            .versioned(version)
            .with("userAttributes", attributes_of(pool, user))
            .with(
                "groupConfiguration",
                json!({
                    "groupsToOverride": groups.groups,
                    "iamRolesToOverride": groups.roles,
                    "preferredRole": groups.preferred_role,
                }),
            )
            .with_map("clientMetadata", metadata);
        if version >= 2 {
            event = event.with("scopes", json!(family.scopes));
        }
        let Some(answer) = self
            .run_trigger(pool, Some(client.client_id.as_str()), event)
            .await?
        else {
            return Ok(None);
        };
        Ok(Some(TokenOverrides::parse(&answer, version)?))
    }

    /// Verifies an access token as the user-pool API requires: our signature, our issuer, not
    /// expired, carrying the admin scope, and its family neither revoked nor signed out.
    pub(crate) async fn verify_access_token(&self, token: &str) -> EngineResult<AccessIdentity> {
        let mut tx = self.inner.store.read().await?;
        self.verify_access_token_in(&mut *tx, token).await
    }

    /// As [`Engine::verify_access_token`], reading the token's family in `tx` (so an operation
    /// can go on reading in the same transaction).
    pub(crate) async fn verify_access_token_in(
        &self,
        tx: &mut dyn Tx,
        token: &str,
    ) -> EngineResult<AccessIdentity> {
        let verified = self.check_access_token_in(tx, token, ADMIN_SCOPE).await;
        if let Ok(id) = &verified {
            crate::audit::note_user(&id.pool_id, &id.sub);
        }
        crate::telemetry::token_verification(&verified);
        verified
    }

    /// Verifies a JWT of one of our pools: signed by the pool's current or recent key for
    /// `key_use`, our issuer, its `token_use`, not expired. Revocation is the caller's to check.
    /// Any failure is `invalid` (expiry says so).
    pub(crate) async fn verify_pool_jwt(
        &self,
        token: &str,
        key_use: KeyUse,
        invalid: fn() -> EngineError,
    ) -> EngineResult<(UserPoolId, serde_json::Map<String, Value>)> {
        let claims = unverified_claims(token).ok_or_else(invalid)?;
        let iss = claims
            .get("iss")
            .and_then(Value::as_str)
            .ok_or_else(invalid)?;
        let pool_id = iss
            .strip_prefix(&self.inner.settings.issuer_base)
            .and_then(|rest| rest.strip_prefix('/'))
            .and_then(|id| UserPoolId::parse(id).ok())
            .ok_or_else(invalid)?;
        let kid = tessera_crypto::jwt::kid_of(token).ok_or_else(invalid)?;
        let keys = match self.pool_keys_for(&pool_id, &kid).await {
            Ok(k) => k,
            Err(EngineError::Client(_)) => return Err(invalid()),
            Err(e) => return Err(e),
        };
        let jwk = keys.public_key(&kid, key_use).ok_or_else(invalid)?;
        let claims = tessera_crypto::jwt::verify(token, jwk).map_err(|_| invalid())?;
        if claims.get("token_use").and_then(Value::as_str) != Some(key_use.as_str())
            || claims.get("iss").and_then(Value::as_str) != Some(self.issuer(&pool_id).as_str())
        {
            return Err(invalid());
        }
        let exp = claims
            .get("exp")
            .and_then(Value::as_i64)
            .ok_or_else(invalid)?;
        if self.now().secs() >= exp {
            let what = match key_use {
                KeyUse::Access => "Access Token",
                KeyUse::Id => "Token",
            };
            return Err(DomainError::not_authorized(format!("{what} has expired")).into());
        }
        Ok((pool_id, claims))
    }

    /// Verifies an access token as [`Engine::verify_access_token`] does, requiring `scope`.
    /// The signature and claims are verified once per token (see [`crate::verified`]); expiry,
    /// the signing key and the family's revocation on every call.
    pub(crate) async fn check_access_token(
        &self,
        token: &str,
        scope: &str,
    ) -> EngineResult<AccessIdentity> {
        let mut tx = self.inner.store.read().await?;
        self.check_access_token_in(&mut *tx, token, scope).await
    }

    async fn check_access_token_in(
        &self,
        tx: &mut dyn Tx,
        token: &str,
        scope: &str,
    ) -> EngineResult<AccessIdentity> {
        let id = self.access_claims(token, scope).await?;
        let family = tx.get_token_family(&id.origin_jti).await?;
        family_live(&id, family.as_ref().map(FamilyState::from))?;
        Ok(id)
    }

    /// An access token verified as [`Engine::verify_access_token`] does, with the token's
    /// family, user and client read in one statement (see `Store::access_read`): the hot path
    /// of GetUser. The user and client are as stored, unchecked.
    pub(crate) async fn verify_access_read(
        &self,
        token: &str,
    ) -> EngineResult<(AccessIdentity, AccessRead)> {
        let verified = async {
            let id = self.access_claims(token, ADMIN_SCOPE).await?;
            let read = self
                .inner
                .store
                .access_read(&id.origin_jti, &id.pool_id, &id.sub, &id.client_id)
                .await?;
            family_live(&id, read.family)?;
            Ok((id, read))
        }
        .await;
        if let Ok((id, _)) = &verified {
            crate::audit::note_user(&id.pool_id, &id.sub);
        }
        crate::telemetry::token_verification(&verified);
        verified
    }

    /// The part of an access token's check that needs no database: signature and claims (once
    /// per token, see [`crate::verified`]), expiry, the signing key still published, `scope`.
    async fn access_claims(&self, token: &str, scope: &str) -> EngineResult<AccessIdentity> {
        let digest = tessera_crypto::token_hash(token);
        let id = match self.inner.verified.get(&digest) {
            Some(known) => {
                if self.now().secs() >= known.exp {
                    return Err(DomainError::not_authorized("Access Token has expired").into());
                }
                // Its key must still be one the pool publishes (a revoked key's tokens stop).
                let keys = match self.pool_keys_for(&known.id.pool_id, &known.kid).await {
                    Ok(k) => k,
                    Err(EngineError::Client(_)) => return Err(invalid_access()),
                    Err(e) => return Err(e),
                };
                if keys.public_key(&known.kid, KeyUse::Access).is_none() {
                    return Err(invalid_access());
                }
                known.id
            }
            None => {
                let (pool_id, claims) = self
                    .verify_pool_jwt(token, KeyUse::Access, invalid_access)
                    .await?;
                // The scope first: a token without it (client_credentials) is told so.
                let scopes = claims.get("scope").and_then(Value::as_str);
                if !scopes.unwrap_or_default().split(' ').any(|s| s == scope) {
                    return Err(missing_scope());
                }
                let id = access_identity(pool_id, &claims)?;
                let kid = tessera_crypto::jwt::kid_of(token).ok_or_else(invalid_access)?;
                let exp = claims
                    .get("exp")
                    .and_then(Value::as_i64)
                    .ok_or_else(invalid_access)?;
                self.inner.verified.put(
                    digest,
                    crate::verified::Verified {
                        id: id.clone(),
                        kid,
                        exp,
                    },
                    self.now().secs(),
                );
                id
            }
        };
        if !id.scopes.iter().any(|s| s == scope) {
            return Err(missing_scope());
        }
        Ok(id)
    }

    /// The user an access token speaks for, loaded in `tx`, refused if gone or disabled.
    pub(crate) async fn token_user(
        &self,
        tx: &mut dyn Tx,
        id: &AccessIdentity,
    ) -> EngineResult<User> {
        token_user_usable(tx.get_user(&id.pool_id, &UserLookup::Sub(id.sub)).await?)
    }

    /// Checks a client's proof. Clients without a secret need none.
    pub(crate) fn check_client_proof(
        &self,
        client: &AppClient,
        usernames: &[&str],
        proof: ClientProof<'_>,
    ) -> EngineResult<()> {
        let secrets = self.client_secrets(client)?;
        if secrets.is_empty() || matches!(proof, ClientProof::AdmittedMetadataUrl) {
            return Ok(());
        }
        let id = client.client_id.as_str();
        // While a secret is rotated either one proves the client. Every (secret, username) pair
        // is checked, without stopping at a match, so the time taken doesn't tell which matched.
        let ok = match proof {
            ClientProof::SecretHash(None) | ClientProof::Secret(None) => {
                return Err(DomainError::not_authorized(format!(
                    "Client {id} is configured for secret but secret was not received"
                ))
                .into());
            }
            ClientProof::SecretHash(Some(hash)) => secrets.iter().fold(false, |ok, secret| {
                usernames.iter().fold(ok, |ok, u| {
                    ok | tessera_crypto::secret_hash::verify(secret, u, id, hash)
                })
            }),
            ClientProof::Secret(Some(given)) => secrets.iter().fold(false, |ok, secret| {
                ok | tessera_crypto::constant_time_eq(secret.as_bytes(), given.as_bytes())
            }),
            ClientProof::AdmittedMetadataUrl => true,
        };
        if ok {
            Ok(())
        } else {
            Err(DomainError::not_authorized(format!(
                "Unable to verify secret hash for client {id}"
            ))
            .into())
        }
    }

    /// REFRESH_TOKEN_AUTH and GetTokensFromRefreshToken. With `rotate` (and rotation enabled on
    /// the client) the presented token is superseded by a new one returned in the result.
    pub async fn refresh_tokens(
        &self,
        client_id: &str,
        refresh_token: &str,
        proof: ClientProof<'_>,
        device_key: Option<&str>,
        rotate: bool,
    ) -> EngineResult<TokenSet> {
        self.refresh_family(client_id, refresh_token, proof, device_key, rotate, false)
            .await
    }

    /// A refresh through the API (`oauth_door` false) or the token endpoint, which refreshes
    /// whatever the client's ExplicitAuthFlows say and rotates when rotation is on.
    pub(crate) async fn refresh_family(
        &self,
        client_id: &str,
        refresh_token: &str,
        proof: ClientProof<'_>,
        device_key: Option<&str>,
        rotate: bool,
        oauth_door: bool,
    ) -> EngineResult<TokenSet> {
        let now = self.now();
        let hash = tessera_crypto::token_hash(refresh_token);
        // Checking a refresh token only reads; rotation writes in a short transaction of its own.
        let mut tx = self.inner.store.read().await?;
        let client = self.load_client(&mut *tx, client_id).await?;
        let rotation = client.config.refresh_token_rotation;
        // Rotating clients refresh through GetTokensFromRefreshToken whether or not they list
        // ALLOW_REFRESH_TOKEN_AUTH (Cognito has them turn that flow off).
        let rotating = rotate && rotation.enabled;
        if !rotating
            && !oauth_door
            && !client
                .config
                .allows(tessera_domain::client::AuthFlow::RefreshToken)
        {
            return Err(DomainError::invalid_parameter(
                "Refresh Token Flow not enabled for this client",
            )
            .into());
        }
        let record = tx
            .get_refresh_token(&hash)
            .await?
            .ok_or_else(invalid_refresh)?;
        let family = tx
            .get_token_family(&record.origin_jti)
            .await?
            .ok_or_else(invalid_refresh)?;
        // Tokens of a tracked device refresh only with that device's key, as in Cognito.
        if family.client_id != client.client_id
            || family
                .device_key
                .as_deref()
                .is_some_and(|k| device_key != Some(k))
        {
            return Err(invalid_refresh());
        }
        let user = tx
            .get_user(&family.pool_id, &UserLookup::Sub(family.sub))
            .await?
            .ok_or_else(invalid_refresh)?;
        let sub = user.sub.to_string();
        self.check_client_proof(&client, &[user.username.as_str(), &sub], proof)?;
        if family.revoked_at.is_some() {
            return Err(DomainError::not_authorized("Refresh Token has been revoked").into());
        }
        if now >= family.refresh_expires_at {
            return Err(DomainError::not_authorized("Refresh Token has expired").into());
        }
        if !user.enabled {
            return Err(DomainError::not_authorized("User is disabled.").into());
        }
        if let Some(superseded) = record.superseded_at {
            let grace = std::time::Duration::from_secs(u64::from(rotation.retry_grace_seconds));
            if now >= superseded.plus(grace) {
                // A rotated-out token presented after its grace period means two holders of
                // one family (a stolen token, or the thief's copy used first): the whole family
                // ends — its newest refresh token and every access token it issued — as OAuth's
                // security BCP asks of rotation (RFC 9700 §4.14.2).
                drop(tx);
                let mut tx = self.inner.store.begin().await?;
                tx.revoke_token_family(&record.origin_jti, now).await?;
                tx.commit().await?;
                return Err(DomainError::new(
                    ErrorKind::RefreshTokenReuse,
                    "Refresh token has already been used",
                )
                .into());
            }
        }
        let pool = self.load_pool(&mut *tx, &family.pool_id).await?;
        let groups = self.group_claims(&mut *tx, &pool.id, &user.sub).await?;
        drop(tx);
        let new_refresh = if rotating && record.superseded_at.is_none() {
            let mut tx = self.inner.store.begin().await?;
            // Only one of two concurrent refreshes of the same token may rotate it.
            if !tx.supersede_refresh_token(&hash, now).await? {
                return Err(DomainError::new(
                    ErrorKind::RefreshTokenReuse,
                    "Refresh token has already been used",
                )
                .into());
            }
            let token = self.new_refresh_token(&mut *tx, &family, now).await?;
            tx.commit().await?;
            Some(token)
        } else {
            None
        };
        let mint = Mint {
            pool: &pool,
            client: &client,
            user: &user,
            groups,
            source: "TokenGeneration_RefreshTokens",
            metadata: None,
            oauth: oauth_door.then_some(OAuthMint::default()),
        };
        self.sign_tokens(mint, &family, new_refresh, now).await
    }

    /// RevokeToken: revokes the refresh token's family, and with it every access token issued
    /// from it. Unknown tokens are accepted silently, as OAuth revocation requires.
    pub async fn revoke_token(
        &self,
        client_id: &str,
        token: &str,
        client_secret: Option<&str>,
    ) -> EngineResult<()> {
        let mut tx = self.inner.store.begin().await?;
        let client = self.load_client(&mut *tx, client_id).await?;
        self.check_client_proof(&client, &[], ClientProof::Secret(client_secret))?;
        if !client.config.enable_token_revocation {
            return Err(DomainError::new(
                ErrorKind::UnsupportedOperation,
                "Token revocation is not enabled for this client",
            )
            .into());
        }
        if unverified_claims(token).is_some() {
            return Err(DomainError::new(
                ErrorKind::UnsupportedTokenType,
                "Only refresh tokens can be revoked",
            )
            .into());
        }
        let Some(record) = tx
            .get_refresh_token(&tessera_crypto::token_hash(token))
            .await?
        else {
            return Ok(());
        };
        let Some(family) = tx.get_token_family(&record.origin_jti).await? else {
            return Ok(());
        };
        if family.client_id != client.client_id {
            return Err(DomainError::not_authorized("Invalid Refresh Token").into());
        }
        tx.revoke_token_family(&family.origin_jti, self.now())
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// GlobalSignOut: every token of the user stops working.
    pub async fn global_sign_out(&self, access_token: &str) -> EngineResult<()> {
        let id = self.verify_access_token(access_token).await?;
        let mut tx = self.inner.store.begin().await?;
        let user = self.token_user(&mut *tx, &id).await?;
        tx.revoke_user_token_families(&id.pool_id, &user.sub, self.now())
            .await?;
        tx.commit().await?;
        Ok(())
    }
}
