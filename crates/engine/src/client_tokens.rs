//! Tokens through the API rather than the token endpoint: GetClientToken (the client-credentials
//! grant for clients with `ALLOW_CLIENT_TOKEN_AUTH`) and GetDerivedToken (RFC 8693 token
//! exchange). Both mint with the token endpoint's code ([`Engine::client_access_token`],
//! [`TokenRequest`]) and sign with the pool's keys, so a token from here verifies exactly as
//! one from `/oauth2/token` does.
//!
//! A derived token belongs to its subject token's family (same `origin_jti`): revoking the
//! subject's refresh token or signing the user out revokes it too, and it never outlives the
//! subject token.

use crate::Engine;
use crate::error::{EngineError, EngineResult};
use crate::oauth::OAuthTokens;
use crate::random_uuid;
use crate::tokens::ClientProof;
use serde_json::{Map, Value, json};
use tessera_domain::client::{AppClient, AuthFlow};
use tessera_domain::oauth::{OAuthFlow, OAuthSettings, client_credentials_scopes};
use tessera_domain::resource_servers::{ResourceServerIdentifier, resource_server_not_found};
use tessera_domain::tokens::{ADMIN_SCOPE, TokenRequest};
use tessera_domain::{DomainError, Sub, UserPoolId};
use tessera_store::{KeyUse, UserLookup};
use uuid::Uuid;

/// What GetDerivedToken asks for (the wire's members, unvalidated beyond the model).
#[derive(Clone, Default)]
pub struct DerivedTokenRequest {
    pub client_id: String,
    pub client_secret: Option<String>,
    pub subject_token: String,
    /// `ACCESS_TOKEN`, `ID_TOKEN` or `SAML2`.
    pub subject_token_type: String,
    pub subject_token_provider: Option<String>,
    pub actor_token: Option<String>,
    pub actor_token_type: Option<String>,
    pub actor_token_provider: Option<String>,
    pub scopes: Option<Vec<String>>,
    pub audiences: Vec<String>,
    pub resources: Vec<String>,
    /// `ACCESS_TOKEN` (the default) or `ID_TOKEN`.
    pub requested_token_type: Option<String>,
}

impl std::fmt::Debug for DerivedTokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DerivedTokenRequest")
            .field("client_id", &self.client_id)
            .field("subject_token_type", &self.subject_token_type)
            .finish_non_exhaustive()
    }
}

/// What GetDerivedToken answers.
#[derive(Clone)]
pub struct DerivedToken {
    pub token: String,
    /// `ACCESS_TOKEN` or `ID_TOKEN`.
    pub issued_token_type: &'static str,
    pub expires_in: u64,
    pub scopes: Vec<String>,
}

impl std::fmt::Debug for DerivedToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DerivedToken")
            .field("issued_token_type", &self.issued_token_type)
            .field("expires_in", &self.expires_in)
            .finish_non_exhaustive()
    }
}

fn invalid_subject() -> EngineError {
    DomainError::not_authorized("Invalid subject token.").into()
}

fn invalid_actor() -> EngineError {
    DomainError::not_authorized("Invalid actor token.").into()
}

fn key_use_of(token_type: &str) -> EngineResult<KeyUse> {
    match token_type {
        "ACCESS_TOKEN" => Ok(KeyUse::Access),
        "ID_TOKEN" => Ok(KeyUse::Id),
        _ => Err(DomainError::invalid_parameter(
            "Tessera exchanges only the ID and access tokens it issued; SAML2 assertions and \
             external providers' tokens are not supported.",
        )
        .into()),
    }
}

fn flow_not_enabled(flow: &str) -> EngineError {
    DomainError::invalid_parameter(format!("{flow} flow not enabled for this client")).into()
}

/// A verified token of the client's pool and the claims it carries.
struct PoolToken {
    claims: Map<String, Value>,
}

impl PoolToken {
    fn text(&self, name: &str) -> Option<&str> {
        self.claims.get(name).and_then(Value::as_str)
    }

    fn scopes(&self) -> Vec<String> {
        self.text("scope")
            .unwrap_or_default()
            .split(' ')
            .filter(|s| !s.is_empty())
            .map(str::to_string)
            .collect()
    }

    /// RFC 8693 §4.1: who acts, keeping the chain of earlier actors.
    fn actor_claim(&self) -> Value {
        let mut act = Map::new();
        if let Some(sub) = self.text("sub") {
            act.insert("sub".into(), json!(sub));
        }
        if let Some(client) = self.text("client_id").or_else(|| self.text("aud")) {
            act.insert("client_id".into(), json!(client));
        }
        if let Some(earlier) = self.claims.get("act") {
            act.insert("act".into(), earlier.clone());
        }
        Value::Object(act)
    }
}

impl Engine {
    /// The client a call names, authenticated by its secret: a client with secrets must send
    /// one of them; a client without must send none.
    async fn secret_client(
        &self,
        client_id: &str,
        secret: Option<&str>,
    ) -> EngineResult<(AppClient, tessera_domain::pool::UserPool)> {
        let (client, pool) = self.client_and_pool(client_id, None).await?;
        if client.secrets.is_empty() {
            if secret.is_some() {
                return Err(DomainError::not_authorized(format!(
                    "Client {client_id} has no secret, but one was sent."
                ))
                .into());
            }
        } else {
            self.check_client_proof(&client, &[], ClientProof::Secret(secret))?;
        }
        Ok((client, pool))
    }

    /// GetClientToken: an access token for the client itself, as the client-credentials grant
    /// issues it. The client needs a secret and `ALLOW_CLIENT_TOKEN_AUTH` (or the
    /// client_credentials OAuth flow); `scopes` must be custom scopes the client is allowed
    /// (all of them when absent).
    pub async fn get_client_token(
        &self,
        client_id: &str,
        secret: &str,
        scopes: Option<&[String]>,
    ) -> EngineResult<OAuthTokens> {
        let (client, pool) = self.client_and_pool(client_id, None).await?;
        if client.secrets.is_empty() {
            return Err(DomainError::not_authorized(format!(
                "Client {client_id} has no secret; GetClientToken needs a client with a secret."
            ))
            .into());
        }
        self.check_client_proof(&client, &[], ClientProof::Secret(Some(secret)))?;
        let settings = OAuthSettings::of(&client);
        if !client.config.allows(AuthFlow::ClientToken)
            && !settings.allows(OAuthFlow::ClientCredentials)
        {
            return Err(flow_not_enabled("ALLOW_CLIENT_TOKEN_AUTH"));
        }
        let requested = scopes.map(|s| s.join(" "));
        let granted = client_credentials_scopes(requested.as_deref(), &settings.scopes)
            .map_err(|_| {
                DomainError::invalid_parameter(
                    "Invalid scope requested: scopes must be custom scopes the app client is allowed.",
                )
            })?;
        self.client_access_token(&client, &pool, &granted).await
    }

    /// Verifies a token of `pool` for an exchange; a token of a user (with a family) must
    /// still have its family unrevoked.
    async fn exchange_token(
        &self,
        pool: &UserPoolId,
        token: &str,
        key_use: KeyUse,
        invalid: fn() -> EngineError,
    ) -> EngineResult<PoolToken> {
        let (token_pool, claims) = match self.verify_pool_jwt(token, key_use, invalid).await {
            Ok(v) => v,
            Err(EngineError::Client(e)) if e.message.contains("expired") => {
                return Err(EngineError::Client(e));
            }
            Err(EngineError::Client(_)) => return Err(invalid()),
            Err(e) => return Err(e),
        };
        if &token_pool != pool {
            return Err(invalid());
        }
        let token = PoolToken { claims };
        if let Some(origin) = token.text("origin_jti") {
            let origin = Uuid::parse_str(origin).map_err(|_| invalid())?;
            let mut tx = self.inner.store.read().await?;
            match tx.get_token_family(&origin).await? {
                Some(f) if f.revoked_at.is_none() => {}
                _ => return Err(invalid()),
            }
        }
        Ok(token)
    }

    /// GetDerivedToken (see the module documentation).
    pub async fn get_derived_token(&self, req: DerivedTokenRequest) -> EngineResult<DerivedToken> {
        if !req.audiences.is_empty() && !req.resources.is_empty() {
            return Err(DomainError::invalid_parameter(
                "You can't request both Audiences and Resources.",
            )
            .into());
        }
        if req.subject_token_provider.is_some() || req.actor_token_provider.is_some() {
            key_use_of("SAML2")?;
        }
        let subject_use = key_use_of(&req.subject_token_type)?;
        let actor_use = match (&req.actor_token, &req.actor_token_type) {
            (Some(_), Some(t)) => Some(key_use_of(t)?),
            (Some(_), None) => {
                return Err(DomainError::invalid_parameter(
                    "ActorTokenType is required with an ActorToken.",
                )
                .into());
            }
            (None, _) => None,
        };
        let issue_id = match req.requested_token_type.as_deref() {
            None | Some("ACCESS_TOKEN") => false,
            Some("ID_TOKEN") => true,
            Some(_) => {
                return Err(DomainError::invalid_parameter("Invalid RequestedTokenType.").into());
            }
        };
        let (client, pool) = self
            .secret_client(&req.client_id, req.client_secret.as_deref())
            .await?;
        let (flow, name) = if actor_use.is_some() {
            (
                AuthFlow::TokenExchangeDelegation,
                "ALLOW_TOKEN_EXCHANGE_DELEGATION",
            )
        } else {
            (
                AuthFlow::TokenExchangeImpersonation,
                "ALLOW_TOKEN_EXCHANGE_IMPERSONATION",
            )
        };
        if !client.config.allows(flow) {
            return Err(flow_not_enabled(name));
        }

        let subject = self
            .exchange_token(&pool.id, &req.subject_token, subject_use, invalid_subject)
            .await?;
        let actor = match (&req.actor_token, actor_use) {
            (Some(token), Some(key_use)) => Some(
                self.exchange_token(&pool.id, token, key_use, invalid_actor)
                    .await?,
            ),
            _ => None,
        };
        let sub = subject
            .text("sub")
            .and_then(|s| Uuid::parse_str(s).ok())
            .map(Sub)
            .ok_or_else(invalid_subject)?;
        let origin_jti = subject
            .text("origin_jti")
            .and_then(|s| Uuid::parse_str(s).ok())
            .ok_or_else(invalid_subject)?;

        // Scopes: the request's, within the subject's and the client's; else the subject's. The
        // client's are its AllowedOAuthScopes and the admin scope every API sign-in carries.
        let held = subject.scopes();
        let mut allowed = OAuthSettings::of(&client).scopes;
        allowed.push(ADMIN_SCOPE.to_string());
        let scopes: Vec<String> = match &req.scopes {
            None => held,
            Some(asked) => asked
                .iter()
                .filter(|s| held.contains(s) && allowed.contains(s))
                .cloned()
                .fold(Vec::new(), |mut acc, s| {
                    if !acc.contains(&s) {
                        acc.push(s);
                    }
                    acc
                }),
        };

        let now = self.now();
        let mut tx = self.inner.store.read().await?;
        for identifier in &req.resources {
            let found = match ResourceServerIdentifier::parse(identifier) {
                Ok(id) => tx.get_resource_server(&pool.id, &id).await?,
                Err(_) => None,
            };
            if found.is_none() {
                return Err(resource_server_not_found(identifier).into());
            }
        }
        let user = tx
            .get_user(&pool.id, &UserLookup::Sub(sub))
            .await?
            .ok_or_else(DomainError::user_not_found)?;
        if !user.enabled {
            return Err(DomainError::not_authorized("User is disabled.").into());
        }
        let mut family = tx
            .get_token_family(&origin_jti)
            .await?
            .filter(|f| f.revoked_at.is_none() && f.sub == sub)
            .ok_or_else(invalid_subject)?;
        family.scopes = scopes.clone();
        let groups = self.group_claims(&mut *tx, &pool.id, &sub).await?;
        drop(tx);

        let issuer = self.issuer(&pool.id);
        let request = TokenRequest {
            issuer: &issuer,
            client: &client,
            user: &user,
            family: &family,
            groups: &groups,
            event_id: random_uuid(),
            id_jti: random_uuid(),
            access_jti: random_uuid(),
            now,
        };
        let (mut claims, key_use, lifetime) = if issue_id {
            (
                request.id_claims(),
                KeyUse::Id,
                client.config.validity.id.duration().as_secs(),
            )
        } else {
            (
                request.access_claims(),
                KeyUse::Access,
                client.config.validity.access.duration().as_secs(),
            )
        };
        // Audience-bound: the named audience or resource server.
        if let Some(audience) = req.audiences.first().or(req.resources.first()) {
            let aud = if issue_id {
                json!([client.client_id.as_str(), audience])
            } else {
                json!(audience)
            };
            claims.insert("aud".into(), aud);
        }
        if let Some(actor) = &actor {
            claims.insert("act".into(), actor.actor_claim());
        }
        // Never past the subject token's own expiry.
        let subject_exp = subject
            .claims
            .get("exp")
            .and_then(Value::as_i64)
            .ok_or_else(invalid_subject)?;
        let exp = (now.secs() + i64::try_from(lifetime).unwrap_or(i64::MAX)).min(subject_exp);
        claims.insert("exp".into(), json!(exp));
        let token = self.sign_claims(&pool.id, key_use, claims).await?;
        Ok(DerivedToken {
            token,
            issued_token_type: if issue_id { "ID_TOKEN" } else { "ACCESS_TOKEN" },
            expires_in: u64::try_from(exp - now.secs()).unwrap_or(0),
            scopes,
        })
    }
}
