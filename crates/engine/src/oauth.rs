//! The hosted UI and OAuth 2.0 / OIDC endpoints, as the engine sees them: a second front door
//! onto the same sign-in flows.
//!
//! The pages start sign-ins with [`Engine::hosted_sign_in`] and answer their challenges with
//! [`Engine::hosted_respond`]; those run the very flows InitiateAuth and RespondToAuthChallenge
//! run (lockout, triggers, MFA, PreventUserExistenceErrors), marked as hosted so they end in
//! [`AuthOutcome::SignedIn`] rather than tokens. The pages then open a hosted session (the
//! cookie) and hand out a code ([`Engine::authorize`]); the token endpoint redeems it
//! ([`Engine::token_grant`]) and mints tokens with the granted scopes, `nonce` and `at_hash`,
//! through PreTokenGeneration with `TokenGeneration_HostedAuth`.

use crate::Engine;
use crate::error::{EngineError, EngineResult};
use crate::flow::{AuthOutcome, ChallengeResponse, TokenSet};
use crate::random_uuid;
use crate::signin::SignIn;
use crate::tokens::{ClientProof, Mint, OAuthMint};
use crate::triggers::ClientMetadata;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use serde_json::{Map, Value, json};
use std::collections::BTreeMap;
use tessera_domain::client::AppClient;
use tessera_domain::domains::DomainName;
use tessera_domain::flow::SignInContext;
use tessera_domain::oauth::{
    AuthorizationCode, AuthorizeRequest, CODE_LIFETIME, HostedSession, OAuthFlow, OAuthSettings,
    OPENID, ResponseType, SESSION_LIFETIME, client_credentials_scopes, is_code_verifier,
    userinfo_claims,
};
use tessera_domain::pool::UserPool;
use tessera_domain::tokens::TokenFamily;
use tessera_domain::user::User;
use tessera_domain::{ClientId, DomainError, Sub, Timestamp, UserPoolId};
use tessera_store::{KeyUse, UserLookup};

/// The errors of the token and revocation endpoints (RFC 6749 §5.2, RFC 7009 §2.2.1).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum OAuthError {
    InvalidRequest,
    InvalidClient,
    InvalidGrant,
    UnauthorizedClient,
    UnsupportedGrantType,
    InvalidScope,
    UnsupportedTokenType,
}

impl OAuthError {
    pub fn code(self) -> &'static str {
        match self {
            Self::InvalidRequest => "invalid_request",
            Self::InvalidClient => "invalid_client",
            Self::InvalidGrant => "invalid_grant",
            Self::UnauthorizedClient => "unauthorized_client",
            Self::UnsupportedGrantType => "unsupported_grant_type",
            Self::InvalidScope => "invalid_scope",
            Self::UnsupportedTokenType => "unsupported_token_type",
        }
    }
}

/// A protocol error for the client, or a fault of ours.
#[derive(Debug)]
pub enum OAuthFailure {
    Protocol(OAuthError),
    Engine(EngineError),
}

impl From<EngineError> for OAuthFailure {
    fn from(e: EngineError) -> Self {
        Self::Engine(e)
    }
}

impl From<OAuthError> for OAuthFailure {
    fn from(e: OAuthError) -> Self {
        Self::Protocol(e)
    }
}

impl From<tessera_store::StoreError> for OAuthFailure {
    fn from(e: tessera_store::StoreError) -> Self {
        Self::Engine(e.into())
    }
}

pub type OAuthResult<T> = Result<T, OAuthFailure>;

/// A client's mistake from a reused engine flow becomes `error`; our own faults stay faults.
fn client_error_as(error: OAuthError) -> impl Fn(EngineError) -> OAuthFailure {
    move |e| match e {
        EngineError::Client(_) => OAuthFailure::Protocol(error),
        other => OAuthFailure::Engine(other),
    }
}

/// A POST to `/oauth2/token`, with the client credentials from Basic auth or the body.
#[derive(Clone, Default)]
pub struct TokenGrantRequest {
    pub grant_type: Option<String>,
    pub client_id: Option<String>,
    pub client_secret: Option<String>,
    pub code: Option<String>,
    pub redirect_uri: Option<String>,
    pub code_verifier: Option<String>,
    pub refresh_token: Option<String>,
    pub scope: Option<String>,
    /// The pool of the domain the request came to: where a CIMD client (a `client_id` that is
    /// an `https://` URL) is looked up.
    pub pool: Option<UserPoolId>,
}

impl std::fmt::Debug for TokenGrantRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenGrantRequest")
            .field("grant_type", &self.grant_type)
            .field("client_id", &self.client_id)
            .finish_non_exhaustive()
    }
}

/// What the token endpoint answers.
#[derive(Clone, PartialEq, Eq)]
pub struct OAuthTokens {
    pub access_token: String,
    pub id_token: Option<String>,
    pub refresh_token: Option<String>,
    pub expires_in: u64,
}

impl std::fmt::Debug for OAuthTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthTokens")
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

/// What an authorization hands back to the client's redirect URI.
#[derive(Clone, PartialEq, Eq)]
pub enum AuthorizeGrant {
    Code(String),
    /// The implicit grant: an access token, and an ID token when `openid` was granted.
    Tokens {
        access_token: String,
        id_token: Option<String>,
        expires_in: u64,
    },
}

impl std::fmt::Debug for AuthorizeGrant {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Code(_) => f.write_str("Code(..)"),
            Self::Tokens { .. } => f.write_str("Tokens(..)"),
        }
    }
}

/// Why `/oauth2/userInfo` refused (both go into `WWW-Authenticate`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum UserInfoError {
    /// 400: no usable bearer token was sent.
    InvalidRequest,
    /// 401: expired, revoked, without `openid`, or its user is gone.
    InvalidToken,
}

fn has_openid(scopes: &[String]) -> bool {
    scopes.iter().any(|s| s == OPENID)
}

/// RFC 7636 S256: the challenge a verifier answers.
fn s256(verifier: &str) -> String {
    URL_SAFE_NO_PAD.encode(tessera_crypto::token_hash(verifier))
}

impl Engine {
    /// The client an authorize request names, if it is a client of `pool`.
    pub async fn pool_client(
        &self,
        pool: &UserPoolId,
        client_id: &str,
    ) -> EngineResult<Option<AppClient>> {
        if client_id.starts_with("https://") {
            return match self.cimd_client(pool, client_id).await {
                Ok(c) => Ok(Some(c.client)),
                Err(EngineError::Client(e)) => {
                    tracing::info!(reason = %e.message, "CIMD client refused");
                    Ok(None)
                }
                Err(e) => Err(e),
            };
        }
        let Ok(id) = ClientId::parse(client_id) else {
            return Ok(None);
        };
        let mut tx = self.inner.store.read().await?;
        Ok(tx.get_client(&id).await?.filter(|c| &c.pool_id == pool))
    }

    /// The user pool a domain name (prefix or custom) serves.
    pub async fn domain_pool(&self, name: &str) -> EngineResult<Option<UserPool>> {
        let mut tx = self.inner.store.read().await?;
        let found = match DomainName::lookup(name) {
            Some(n) => tx.domain_by_name(&n).await?,
            None => None,
        };
        let Some(domain) = found else {
            return Ok(None);
        };
        Ok(tx.get_pool(&domain.pool_id).await?)
    }

    /// SECRET_HASH for a confidential client, computed on the pages' behalf: the hosted UI is
    /// the client's own front door and holds no secret in the browser.
    pub async fn hosted_secret_hash(
        &self,
        client_id: &str,
        username: &str,
    ) -> EngineResult<Option<String>> {
        let mut tx = self.inner.store.read().await?;
        let client = self.load_client(&mut *tx, client_id).await?;
        Ok(self
            .client_secrets(&client)?
            .last()
            .map(|secret| tessera_crypto::secret_hash::compute(secret, username, client_id)))
    }

    /// The sign-in form: the password flow whatever the client's ExplicitAuthFlows (the hosted
    /// UI doesn't need them), with the same lockout, triggers and challenges as the API.
    pub async fn hosted_sign_in(
        &self,
        client_id: &str,
        username: &str,
        password: &str,
    ) -> EngineResult<AuthOutcome> {
        let outcome = self.hosted_password(client_id, username, password).await;
        crate::telemetry::sign_in("HOSTED_UI", &outcome);
        self.count_sign_in(client_id, false, &outcome);
        outcome
    }

    async fn hosted_password(
        &self,
        client_id: &str,
        username: &str,
        password: &str,
    ) -> EngineResult<AuthOutcome> {
        let (client, pool) = self.client_and_pool(client_id, None).await?;
        let metadata = ClientMetadata::default();
        self.migrate_if_unknown(&pool, &client, username, Some(password), &metadata)
            .await?;
        self.pre_authentication(&pool, &client, username, &metadata)
            .await?;
        let proven = self
            .check_password(&pool, &client, username, password)
            .await?;
        let at = SignIn {
            pool: &pool,
            client: &client,
            context: SignInContext {
                hosted: true,
                ..SignInContext::default()
            },
            metadata: None,
        };
        self.after_password(&at, proven).await
    }

    /// The sign-in form's passkey button: USER_AUTH with WEB_AUTHN preferred, as the API runs it
    /// (lockout, enumeration rules), whatever the client's ExplicitAuthFlows. A user without a
    /// passkey (when the client doesn't hide which names exist) comes back as SELECT_CHALLENGE.
    pub async fn hosted_passkey_sign_in(
        &self,
        client_id: &str,
        username: &str,
    ) -> EngineResult<AuthOutcome> {
        let (client, pool) = self.client_and_pool(client_id, None).await?;
        let mut params = BTreeMap::from([
            ("USERNAME".to_string(), username.to_string()),
            ("PREFERRED_CHALLENGE".to_string(), "WEB_AUTHN".to_string()),
        ]);
        if let Some(hash) = self.hosted_secret_hash(client_id, username).await? {
            params.insert("SECRET_HASH".into(), hash);
        }
        let outcome = self
            .initiate_user_auth(&pool, &client, &params, &ClientMetadata::default(), true)
            .await;
        crate::telemetry::sign_in("HOSTED_UI", &outcome);
        outcome
    }

    /// A challenge answered on the pages (new password, MFA codes, MFA choice and setup).
    pub async fn hosted_respond(
        &self,
        client_id: &str,
        challenge_name: &str,
        session: &str,
        mut responses: BTreeMap<String, String>,
    ) -> EngineResult<AuthOutcome> {
        let username = responses.get("USERNAME").cloned().unwrap_or_default();
        if let Some(hash) = self.hosted_secret_hash(client_id, &username).await? {
            responses.insert("SECRET_HASH".into(), hash);
        }
        let outcome = self
            .answer_challenge(
                ChallengeResponse {
                    client_id: client_id.to_string(),
                    challenge_name: challenge_name.to_string(),
                    session: Some(session.to_string()),
                    responses,
                    admin_pool: None,
                    client_metadata: ClientMetadata::default(),
                },
                true,
            )
            .await;
        self.count_sign_in(client_id, false, &outcome);
        outcome
    }

    /// Opens the hosted (SSO) session a completed sign-in through `client_id` earns, keeping
    /// the SAML session the user came with (for single logout); returns the cookie value. It
    /// lasts the client's SSOSession MaxValidityMinutes when set
    /// (SetUserPoolClientSessionConfiguration), else an hour.
    pub async fn open_hosted_session(
        &self,
        pool: &UserPoolId,
        client_id: &str,
        (sub, auth_time): (Sub, Timestamp),
        saml: Option<tessera_domain::identity_providers::SamlSignIn>,
    ) -> EngineResult<String> {
        crate::audit::note_user(pool, &sub);
        let token = tessera_crypto::random::token(32);
        let client = self.pool_client(pool, client_id).await?;
        let lifetime = client
            .as_ref()
            .and_then(|c| tessera_domain::sessions::sso_validity_minutes(&c.config.settings))
            .and_then(|m| u64::try_from(m).ok())
            .filter(|m| *m > 0)
            .map_or(SESSION_LIFETIME, |m| std::time::Duration::from_secs(60 * m));
        let session = HostedSession {
            pool_id: pool.clone(),
            sub,
            auth_time,
            expires_at: auth_time.plus(lifetime),
            saml,
            session_id: Some(tessera_domain::sessions::sso_session_id(
                tessera_crypto::random::bytes::<16>(),
            )),
            client_id: client.map(|c| c.client_id),
        };
        let mut tx = self.inner.store.begin().await?;
        tx.insert_hosted_session(&tessera_crypto::token_hash(&token), &session)
            .await?;
        tx.commit().await?;
        Ok(token)
    }

    /// The live hosted session behind a cookie, for this pool, of a user who may still sign in.
    pub async fn hosted_session(
        &self,
        pool: &UserPoolId,
        cookie: &str,
    ) -> EngineResult<Option<HostedSession>> {
        let now = self.now();
        let mut tx = self.inner.store.read().await?;
        let Some(session) = tx
            .get_hosted_session(&tessera_crypto::token_hash(cookie))
            .await?
            .filter(|s| s.is_live(now) && &s.pool_id == pool)
        else {
            return Ok(None);
        };
        let user = tx.get_user(pool, &UserLookup::Sub(session.sub)).await?;
        Ok(user.filter(|u| u.enabled).map(|_| session))
    }

    /// `/logout`: the cookie stops working on every node.
    pub async fn end_hosted_session(&self, cookie: &str) -> EngineResult<()> {
        let mut tx = self.inner.store.begin().await?;
        tx.delete_hosted_session(&tessera_crypto::token_hash(cookie))
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Completes an authorization for a signed-in user: a code, or implicit tokens.
    pub async fn authorize(
        &self,
        req: &AuthorizeRequest,
        session: &HostedSession,
    ) -> EngineResult<AuthorizeGrant> {
        let now = self.now();
        let (client, pool) = self.client_and_pool(req.client_id.as_str(), None).await?;
        crate::audit::note_user(&pool.id, &session.sub);
        match req.response_type {
            ResponseType::Code => {
                let code = tessera_crypto::random::token(32);
                let record = AuthorizationCode {
                    pool_id: pool.id.clone(),
                    client_id: client.client_id.clone(),
                    client_url: req.client_url.clone(),
                    sub: session.sub,
                    redirect_uri: req.redirect_uri.clone(),
                    scopes: req.scopes.clone(),
                    nonce: req.nonce.clone(),
                    code_challenge: req.code_challenge.clone(),
                    auth_time: session.auth_time,
                    expires_at: now.plus(CODE_LIFETIME),
                };
                let mut tx = self.inner.store.begin().await?;
                tx.insert_authorization_code(&tessera_crypto::token_hash(&code), &record)
                    .await?;
                tx.commit().await?;
                Ok(AuthorizeGrant::Code(code))
            }
            ResponseType::Token => {
                let mut tx = self.inner.store.begin().await?;
                let user = tx
                    .get_user(&pool.id, &UserLookup::Sub(session.sub))
                    .await?
                    .filter(|u| u.enabled)
                    .ok_or_else(|| DomainError::not_authorized("User is disabled."))?;
                let family =
                    oauth_family(&client, &user, &req.scopes, session.auth_time, now, false);
                tx.insert_token_family(&family).await?;
                let groups = self.group_claims(&mut *tx, &pool.id, &user.sub).await?;
                tx.commit().await?;
                let tokens = self
                    .sign_tokens(
                        Mint {
                            pool: &pool,
                            client: &client,
                            user: &user,
                            groups,
                            source: "TokenGeneration_HostedAuth",
                            metadata: None,
                            oauth: Some(OAuthMint {
                                nonce: req.nonce.as_deref(),
                            }),
                        },
                        &family,
                        None,
                        now,
                    )
                    .await?;
                Ok(AuthorizeGrant::Tokens {
                    access_token: tokens.access_token,
                    id_token: has_openid(&req.scopes).then_some(tokens.id_token),
                    expires_in: tokens.expires_in,
                })
            }
        }
    }

    /// The client a token or revocation request authenticates as: client_secret_basic or
    /// client_secret_post for confidential clients, the bare client_id for public ones.
    async fn token_client(&self, req: &TokenGrantRequest) -> OAuthResult<TokenClient> {
        let client_id = req.client_id.as_deref().ok_or(OAuthError::InvalidClient)?;
        if let Some(url) = cimd_url(req) {
            // A CIMD client: public, admitted by a policy of this domain's pool.
            let pool_id = req.pool.as_ref().ok_or(OAuthError::InvalidClient)?;
            if req.client_secret.is_some() {
                return Err(OAuthError::InvalidClient.into());
            }
            let admitted = self
                .cimd_client(pool_id, url)
                .await
                .map_err(client_error_as(OAuthError::InvalidClient))?;
            let grant = req.grant_type.as_deref().unwrap_or_default();
            if !admitted.metadata.grant_types.iter().any(|g| g == grant) {
                return Err(OAuthError::UnauthorizedClient.into());
            }
            let pool = {
                let mut tx = self.inner.store.read().await?;
                self.load_pool(&mut *tx, pool_id).await?
            };
            return Ok(TokenClient {
                refreshable: admitted
                    .metadata
                    .grant_types
                    .iter()
                    .any(|g| g == "refresh_token"),
                client: admitted.client,
                pool,
            });
        }
        let (client, pool) = self
            .client_and_pool(client_id, None)
            .await
            .map_err(client_error_as(OAuthError::InvalidClient))?;
        if client.secrets.is_empty() {
            if req.client_secret.is_some() {
                return Err(OAuthError::InvalidClient.into());
            }
        } else {
            self.check_client_proof(
                &client,
                &[],
                ClientProof::Secret(req.client_secret.as_deref()),
            )
            .map_err(client_error_as(OAuthError::InvalidClient))?;
        }
        Ok(TokenClient {
            client,
            pool,
            refreshable: true,
        })
    }

    /// `POST /oauth2/token`.
    pub async fn token_grant(&self, req: TokenGrantRequest) -> OAuthResult<OAuthTokens> {
        let grant = req.grant_type.clone().ok_or(OAuthError::InvalidRequest)?;
        if !matches!(
            grant.as_str(),
            "authorization_code" | "refresh_token" | "client_credentials"
        ) {
            return Err(OAuthError::UnsupportedGrantType.into());
        }
        let TokenClient {
            client,
            pool,
            refreshable,
        } = self.token_client(&req).await?;
        let settings = OAuthSettings::of(&client);
        match grant.as_str() {
            "authorization_code" => {
                self.redeem_code(&req, &client, &pool, &settings, refreshable)
                    .await
            }
            "refresh_token" => {
                let token = req
                    .refresh_token
                    .as_deref()
                    .ok_or(OAuthError::InvalidRequest)?;
                let proof = match cimd_url(&req) {
                    Some(_) => ClientProof::AdmittedMetadataUrl,
                    None => ClientProof::Secret(req.client_secret.as_deref()),
                };
                let tokens = self
                    .refresh_family(client.client_id.as_str(), token, proof, None, true, true)
                    .await
                    .map_err(client_error_as(OAuthError::InvalidGrant))?;
                let scopes = self.family_scopes(token).await?;
                Ok(OAuthTokens {
                    id_token: has_openid(&scopes).then_some(tokens.id_token),
                    access_token: tokens.access_token,
                    refresh_token: tokens.refresh_token,
                    expires_in: tokens.expires_in,
                })
            }
            _ => {
                self.client_credentials(&req, &client, &pool, &settings)
                    .await
            }
        }
    }

    async fn family_scopes(&self, refresh_token: &str) -> EngineResult<Vec<String>> {
        let mut tx = self.inner.store.read().await?;
        let Some(record) = tx
            .get_refresh_token(&tessera_crypto::token_hash(refresh_token))
            .await?
        else {
            return Ok(Vec::new());
        };
        Ok(tx
            .get_token_family(&record.origin_jti)
            .await?
            .map(|f| f.scopes)
            .unwrap_or_default())
    }

    async fn redeem_code(
        &self,
        req: &TokenGrantRequest,
        client: &AppClient,
        pool: &UserPool,
        settings: &OAuthSettings,
        refreshable: bool,
    ) -> OAuthResult<OAuthTokens> {
        if !settings.allows(OAuthFlow::Code) {
            return Err(OAuthError::UnauthorizedClient.into());
        }
        let code = req.code.as_deref().ok_or(OAuthError::InvalidRequest)?;
        if req.redirect_uri.is_none() {
            return Err(OAuthError::InvalidRequest.into());
        }
        let verifier = match req.code_verifier.as_deref() {
            Some(v) if !is_code_verifier(v) => return Err(OAuthError::InvalidGrant.into()),
            Some(v) => Some(s256(v)),
            None => None,
        };
        let now = self.now();
        let hash = tessera_crypto::token_hash(code);
        let mut tx = self.inner.store.begin().await?;
        let Some(stored) = tx.get_authorization_code(&hash).await? else {
            return Err(OAuthError::InvalidGrant.into());
        };
        if let Some((_, origin_jti)) = stored.redeemed {
            // A replayed code: whatever its first redemption issued is revoked (RFC 6749 §4.1.2).
            tx.revoke_token_family(&origin_jti, now).await?;
            tx.commit().await?;
            return Err(OAuthError::InvalidGrant.into());
        }
        let grant = stored.code;
        if grant.pool_id != pool.id
            || grant
                .redeem(
                    &client.client_id,
                    cimd_url(req),
                    req.redirect_uri.as_deref(),
                    verifier.as_deref(),
                    now,
                )
                .is_err()
        {
            return Err(OAuthError::InvalidGrant.into());
        }
        let user = tx
            .get_user(&pool.id, &UserLookup::Sub(grant.sub))
            .await?
            .filter(|u| u.enabled)
            .ok_or(OAuthError::InvalidGrant)?;
        let family = oauth_family(
            client,
            &user,
            &grant.scopes,
            grant.auth_time,
            now,
            refreshable,
        );
        tx.insert_token_family(&family).await?;
        let refresh = match refreshable {
            true => Some(self.new_refresh_token(&mut *tx, &family, now).await?),
            false => None,
        };
        if !tx
            .redeem_authorization_code(&hash, now, &family.origin_jti)
            .await?
        {
            return Err(OAuthError::InvalidGrant.into());
        }
        let groups = self.group_claims(&mut *tx, &pool.id, &user.sub).await?;
        tx.commit().await?;
        let tokens: TokenSet = self
            .sign_tokens(
                Mint {
                    pool,
                    client,
                    user: &user,
                    groups,
                    source: "TokenGeneration_HostedAuth",
                    metadata: None,
                    oauth: Some(OAuthMint {
                        nonce: grant.nonce.as_deref(),
                    }),
                },
                &family,
                refresh,
                now,
            )
            .await?;
        Ok(OAuthTokens {
            id_token: has_openid(&grant.scopes).then_some(tokens.id_token),
            access_token: tokens.access_token,
            refresh_token: tokens.refresh_token,
            expires_in: tokens.expires_in,
        })
    }

    /// Machine-to-machine: an access token for the client itself, with custom scopes only.
    async fn client_credentials(
        &self,
        req: &TokenGrantRequest,
        client: &AppClient,
        pool: &UserPool,
        settings: &OAuthSettings,
    ) -> OAuthResult<OAuthTokens> {
        if client.secrets.is_empty() || !settings.allows(OAuthFlow::ClientCredentials) {
            return Err(OAuthError::UnauthorizedClient.into());
        }
        let scopes = client_credentials_scopes(req.scope.as_deref(), &settings.scopes)
            .map_err(|_| OAuthError::InvalidScope)?;
        Ok(self.client_access_token(client, pool, &scopes).await?)
    }

    /// The client-credentials grant's token, shared by `/oauth2/token` and GetClientToken: an
    /// access token for the client itself (`sub` is the client id) with `scopes`.
    pub(crate) async fn client_access_token(
        &self,
        client: &AppClient,
        pool: &UserPool,
        scopes: &[String],
    ) -> EngineResult<OAuthTokens> {
        let now = self.now();
        let lifetime = client.config.validity.access.duration().as_secs();
        let claims = json!({
            "sub": client.client_id.as_str(),
            "token_use": "access",
            "scope": scopes.join(" "),
            "auth_time": now.secs(),
            "iss": self.issuer(&pool.id),
            "exp": now.secs() + i64::try_from(lifetime).unwrap_or(i64::MAX),
            "iat": now.secs(),
            "version": 2,
            "jti": random_uuid().to_string(),
            "client_id": client.client_id.as_str(),
        });
        let Value::Object(claims) = claims else {
            return Err(EngineError::Internal("claims are an object".into()));
        };
        let access_token = self.sign_claims(&pool.id, KeyUse::Access, claims).await?;
        Ok(OAuthTokens {
            access_token,
            id_token: None,
            refresh_token: None,
            expires_in: lifetime,
        })
    }

    /// Signs `claims` with the pool's current key for `key_use` (RSA on the blocking pool).
    pub(crate) async fn sign_claims(
        &self,
        pool: &UserPoolId,
        key_use: KeyUse,
        claims: Map<String, Value>,
    ) -> EngineResult<String> {
        let keys = self.pool_keys(pool).await?;
        tokio::task::spawn_blocking(move || keys.signer(key_use).sign(&claims))
            .await
            .map_err(|e| EngineError::Internal(e.to_string()))?
            .map_err(EngineError::from)
    }

    /// `POST /oauth2/revoke`: the refresh token's family ends, and every access and ID token
    /// minted from it with it. Unknown tokens are accepted (RFC 7009).
    pub async fn oauth_revoke(
        &self,
        req: TokenGrantRequest,
        token: Option<&str>,
    ) -> OAuthResult<()> {
        let token = token
            .filter(|t| !t.is_empty())
            .ok_or(OAuthError::InvalidRequest)?;
        let client = self.token_client(&req).await?.client;
        match self
            .revoke_token(
                client.client_id.as_str(),
                token,
                req.client_secret.as_deref(),
            )
            .await
        {
            Ok(()) => Ok(()),
            Err(EngineError::Client(e)) => Err(match e.kind {
                tessera_domain::ErrorKind::UnsupportedTokenType => OAuthError::UnsupportedTokenType,
                tessera_domain::ErrorKind::UnsupportedOperation => OAuthError::InvalidRequest,
                _ => OAuthError::InvalidGrant,
            }
            .into()),
            Err(e) => Err(e.into()),
        }
    }

    /// `/oauth2/userInfo`: the user's attributes the token's scopes reach.
    pub async fn userinfo(
        &self,
        access_token: &str,
    ) -> EngineResult<Result<Map<String, Value>, UserInfoError>> {
        let id = match self.check_access_token(access_token, OPENID).await {
            Ok(id) => id,
            Err(EngineError::Client(_)) => return Ok(Err(UserInfoError::InvalidToken)),
            Err(e) => return Err(e),
        };
        let mut tx = self.inner.store.read().await?;
        let Some(user) = tx
            .get_user(&id.pool_id, &UserLookup::Sub(id.sub))
            .await?
            .filter(|u| u.enabled)
        else {
            return Ok(Err(UserInfoError::InvalidToken));
        };
        let client = tx.get_client(&id.client_id).await?;
        let Some(client) = client else {
            return Ok(Err(UserInfoError::InvalidToken));
        };
        Ok(Ok(userinfo_claims(
            &user.sub,
            user.username.as_str(),
            &user.attributes,
            &id.scopes,
            |name| client.config.may_read(name),
        )))
    }
}

/// The client a token or revocation request authenticated as.
struct TokenClient {
    client: AppClient,
    pool: UserPool,
    /// Whether the code grant issues a refresh token: always, except to a CIMD client whose
    /// document doesn't list the `refresh_token` grant.
    refreshable: bool,
}

/// The metadata URL a token request names its client by, if it is a CIMD client.
fn cimd_url(req: &TokenGrantRequest) -> Option<&str> {
    req.client_id
        .as_deref()
        .filter(|c| c.starts_with("https://"))
}

/// A token family for an OAuth grant: the granted scopes, the sign-in's auth_time, and a
/// refresh token only for the code grant (never for implicit).
fn oauth_family(
    client: &AppClient,
    user: &User,
    scopes: &[String],
    auth_time: Timestamp,
    now: Timestamp,
    refreshable: bool,
) -> TokenFamily {
    let validity = &client.config.validity;
    TokenFamily {
        origin_jti: random_uuid(),
        pool_id: user.pool_id.clone(),
        client_id: client.client_id.clone(),
        sub: user.sub,
        auth_time,
        created_at: now,
        refresh_expires_at: if refreshable {
            now.plus(validity.refresh.duration())
        } else {
            now.plus(validity.access.duration().max(validity.id.duration()))
        },
        revoked_at: None,
        scopes: scopes.to_vec(),
        device_key: None,
    }
}
