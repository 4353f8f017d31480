//! Signing in through a user pool's OpenID Connect or social provider: the hosted UI's
//! `/oauth2/authorize?identity_provider=X` → provider → `/oauth2/idpresponse` round trip.
//!
//! [`Engine::start_federation`] stores the app's authorization request under the hash of a fresh
//! `state` (the browser also gets it in a cookie, so the answer is bound to the browser that
//! asked) with a fresh `nonce`, and returns the provider's authorization URL.
//! [`Engine::finish_federation`] takes that state once, redeems the code at the provider's token
//! endpoint with `client_secret_post` (as Cognito does), verifies the ID token (signature against
//! the provider's JWKS, RS256/ES256 only; `iss`, `aud`, `exp`, and the `nonce` it was sent),
//! reads the userinfo endpoint, and creates or refreshes the federated user: username
//! `{ProviderName}_{subject}`, status EXTERNAL_PROVIDER, the `identities` attribute, mapped
//! attributes rewritten on every sign-in, and the group `{poolId}_{ProviderName}`; the pool's
//! PreSignUp (`PreSignUp_ExternalProvider`), PostConfirmation and PostAuthentication functions
//! run, and PreTokenGeneration when the app redeems its code (`TokenGeneration_HostedAuth`). A provider
//! identity linked to a native user (AdminLinkProviderForUser) signs in as that user; an email
//! address never merges accounts. Every call to the provider goes through the
//! [`OidcDocuments`](crate::federation::OidcDocuments) port, i.e. the outbound guard.

use crate::Engine;
use crate::error::EngineResult;
use crate::triggers::attributes_of;
use serde_json::{Map, Value, json};
use tessera_domain::groups::Group;
use tessera_domain::iam::OidcProvider;
use tessera_domain::identity_providers::{
    FEDERATION_STATE_TTL_MS, FederationState, IdentityProvider, ProviderType,
};
use tessera_domain::oauth::{AuthorizeRequest, urlencode, with_params};
use tessera_domain::triggers::{Event, Trigger};
use tessera_domain::user::{User, UserStatus};
use tessera_domain::{DomainError, Sub, Timestamp, UserPoolId, Username};
use tessera_store::UserLookup;

/// Where to send the browser, and the state to bind to it (cookie).
#[derive(Clone, Debug)]
pub struct FederationStart {
    pub location: String,
    pub state: String,
}

/// A completed federated sign-in: the app's request to resume, and who signed in.
#[derive(Clone, Debug)]
pub struct FederatedSignIn {
    pub request: AuthorizeRequest,
    pub sub: Sub,
    pub auth_time: Timestamp,
    /// A SAML sign-in's session at the provider (kept with the hosted session for logout).
    pub saml: Option<tessera_domain::identity_providers::SamlSignIn>,
}

/// The provider's endpoints, as discovered or configured.
#[derive(Clone, Debug, Default)]
struct Endpoints {
    issuer: Option<String>,
    authorize: String,
    token: String,
    userinfo: Option<String>,
    jwks_uri: Option<String>,
}

/// Why a federated sign-in failed: logged with the reason, shown as a page with the message.
fn refused(provider: &str, why: &str) -> crate::EngineError {
    tracing::warn!(target: crate::audit::TARGET, event = "federated_sign_in_refused", provider, reason = why, "audit");
    DomainError::invalid_parameter(format!("Sign-in with {provider} failed: {why}")).into()
}

fn text(v: &Value) -> Option<String> {
    match v {
        Value::String(s) => Some(s.clone()),
        Value::Bool(b) => Some(b.to_string()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Engine {
    /// Stores a round trip to a provider under the hash of the token sent along (`state`, or
    /// SAML's RelayState).
    pub(crate) async fn put_federation_state(
        &self,
        token: &str,
        pending: &FederationState,
    ) -> EngineResult<()> {
        let mut tx = self.inner.store.begin().await?;
        tx.insert_federation_state(&tessera_crypto::token_hash(token), pending)
            .await?;
        tx.commit().await?;
        Ok(())
    }

    /// Takes the round trip a token names, once, if it is still live.
    pub(crate) async fn take_federation_state(
        &self,
        token: &str,
    ) -> EngineResult<Option<FederationState>> {
        let now = self.now();
        let mut tx = self.inner.store.begin().await?;
        let taken = tx
            .take_federation_state(&tessera_crypto::token_hash(token), now)
            .await?;
        tx.commit().await?;
        Ok(taken)
    }

    /// The provider an `idp_identifier` names.
    pub async fn provider_by_identifier(
        &self,
        pool: &UserPoolId,
        identifier: &str,
    ) -> EngineResult<Option<String>> {
        let mut tx = self.inner.store.read().await?;
        Ok(tx
            .identity_provider_by_identifier(pool, identifier)
            .await?
            .map(|p| p.name))
    }

    async fn endpoints(&self, p: &IdentityProvider) -> EngineResult<Endpoints> {
        let detail = |k: &str| p.details.get(k).filter(|v| !v.is_empty()).cloned();
        match p.provider_type {
            ProviderType::Oidc => {
                let issuer = detail("oidc_issuer").unwrap_or_default();
                let explicit = (
                    detail("authorize_url"),
                    detail("token_url"),
                    detail("attributes_url"),
                    detail("jwks_uri"),
                );
                if let (Some(authorize), Some(token), userinfo, Some(jwks)) = explicit {
                    return Ok(Endpoints {
                        issuer: Some(issuer),
                        authorize,
                        token,
                        userinfo,
                        jwks_uri: Some(jwks),
                    });
                }
                let documents = self
                    .inner
                    .oidc_documents
                    .get()
                    .ok_or_else(|| refused(&p.name, "no outbound client"))?;
                let discovery = documents
                    .get_json(&format!("{issuer}/.well-known/openid-configuration"))
                    .await
                    .map_err(|e| refused(&p.name, &format!("discovery failed: {e}")))?;
                let found = |k: &str| discovery.get(k).and_then(Value::as_str).map(str::to_string);
                Ok(Endpoints {
                    authorize: explicit
                        .0
                        .or_else(|| found("authorization_endpoint"))
                        .ok_or_else(|| refused(&p.name, "no authorization_endpoint"))?,
                    token: explicit
                        .1
                        .or_else(|| found("token_endpoint"))
                        .ok_or_else(|| refused(&p.name, "no token_endpoint"))?,
                    userinfo: explicit.2.or_else(|| found("userinfo_endpoint")),
                    jwks_uri: explicit.3.or_else(|| found("jwks_uri")),
                    issuer: Some(issuer),
                })
            }
            ProviderType::Saml => Err(refused(&p.name, "not an OAuth provider")),
            _ => {
                let e = self.social_endpoints(p);
                Ok(Endpoints {
                    issuer: e.issuer,
                    authorize: e.authorize_url.unwrap_or_default(),
                    token: e.token_url.unwrap_or_default(),
                    userinfo: e.userinfo_url,
                    jwks_uri: e.jwks_uri,
                })
            }
        }
    }

    /// Begins a federated sign-in for an authorization request (see the module documentation).
    pub async fn start_federation(
        &self,
        req: &AuthorizeRequest,
        pool: &UserPoolId,
        provider_name: &str,
        callback: &str,
    ) -> EngineResult<FederationStart> {
        let provider = {
            let mut tx = self.inner.store.read().await?;
            tx.get_identity_provider(pool, provider_name)
                .await?
                .ok_or_else(|| refused(provider_name, "no such provider"))?
        };
        if provider.provider_type == ProviderType::Saml {
            return self.start_saml(req, &provider, callback).await;
        }
        let endpoints = self.endpoints(&provider).await?;
        let state = tessera_crypto::random::token(32);
        let nonce = tessera_crypto::random::token(32);
        let pending = FederationState {
            pool_id: pool.clone(),
            provider_name: provider.name.clone(),
            request: req.clone(),
            nonce: nonce.clone(),
            saml_request_id: None,
            after_logout: None,
            expires_at: Timestamp::from_millis(self.now().millis() + FEDERATION_STATE_TTL_MS),
        };
        self.put_federation_state(&state, &pending).await?;
        let client_id = provider
            .details
            .get("client_id")
            .cloned()
            .unwrap_or_default();
        let scopes = provider
            .details
            .get("authorize_scopes")
            .cloned()
            .unwrap_or_default();
        // Facebook writes its scopes comma-separated; the query wants spaces either way.
        let scopes = scopes
            .split([',', ' '])
            .filter(|s| !s.is_empty())
            .collect::<Vec<_>>()
            .join(" ");
        let mut params = vec![
            ("response_type", "code"),
            ("client_id", client_id.as_str()),
            ("redirect_uri", callback),
            ("scope", scopes.as_str()),
            ("state", state.as_str()),
            ("nonce", nonce.as_str()),
        ];
        // The app's login_hint goes on to the provider, and so does prompt=login (sign in
        // again there too); `none` is answered from our own session, never forwarded.
        if let Some(hint) = req.login_hint.as_deref().filter(|h| !h.is_empty()) {
            params.push(("login_hint", hint));
        }
        if req.prompt == Some(tessera_domain::oauth::Prompt::Login) {
            params.push(("prompt", "login"));
        }
        // Apple answers by POSTing a form when scopes are asked for (its rule).
        if provider.provider_type == ProviderType::SignInWithApple && !scopes.is_empty() {
            params.push(("response_mode", "form_post"));
        }
        let location = with_params(&endpoints.authorize, &params, false);
        Ok(FederationStart { location, state })
    }

    /// Completes a federated sign-in from the provider's answer (see the module documentation).
    /// `state` has been checked against the browser's cookie by the caller.
    pub async fn finish_federation(
        &self,
        pool_id: &UserPoolId,
        state: &str,
        code: &str,
        callback: &str,
        posted_user: Option<&str>,
    ) -> EngineResult<FederatedSignIn> {
        let now = self.now();
        let pending = self
            .take_federation_state(state)
            .await?
            .filter(|s| &s.pool_id == pool_id)
            .ok_or_else(|| refused("the provider", "unknown or expired state"))?;
        let name = pending.provider_name.clone();
        let provider = {
            let mut tx = self.inner.store.read().await?;
            tx.get_identity_provider(pool_id, &name)
                .await?
                .ok_or_else(|| refused(&name, "provider deleted"))?
        };
        let endpoints = self.endpoints(&provider).await?;
        let documents = self
            .inner
            .oidc_documents
            .get()
            .ok_or_else(|| refused(&name, "no outbound client"))?
            .clone();
        let client_id = provider
            .details
            .get("client_id")
            .cloned()
            .unwrap_or_default();
        let secret = if provider.provider_type == ProviderType::SignInWithApple {
            self.apple_client_secret(&provider, &client_id)?
        } else {
            self.provider_secret(&provider, "client_secret")?
                .unwrap_or_default()
        };
        let form = vec![
            ("grant_type".to_string(), "authorization_code".to_string()),
            ("code".to_string(), code.to_string()),
            ("redirect_uri".to_string(), callback.to_string()),
            ("client_id".to_string(), client_id.clone()),
            ("client_secret".to_string(), secret),
        ];
        // Facebook's token endpoint is called with GET (its token_request_method); the others
        // with a POSTed form.
        let tokens = if provider.provider_type == ProviderType::Facebook {
            let pairs: Vec<(&str, &str)> =
                form.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
            documents
                .get_json(&with_params(&endpoints.token, &pairs, false))
                .await
        } else {
            documents.post_form(&endpoints.token, &form).await
        }
        .map_err(|e| refused(&name, &format!("token endpoint: {e}")))?;
        let access_token = tokens
            .get("access_token")
            .and_then(Value::as_str)
            .map(str::to_string);
        let mut claims = Map::new();
        let mut user_info = Value::Null;
        let mut id_claims: Option<Map<String, Value>> = None;
        let id_token = tokens.get("id_token").and_then(Value::as_str);
        let issuer = endpoints.issuer.clone();
        match (id_token, &issuer) {
            (Some(token), Some(iss)) => {
                let as_provider = OidcProvider {
                    arn: String::new(),
                    url: iss.clone(),
                    client_ids: vec![client_id.clone()],
                    thumbprints: vec![],
                    created_at: now,
                    tags: vec![],
                };
                let verified = self
                    .verify_oidc_token_at(&as_provider, token, endpoints.jwks_uri.as_deref())
                    .await
                    .map_err(|e| {
                        // The detail is for the operator's log, not the browser's page.
                        tracing::warn!(target: crate::audit::TARGET, provider = %name, detail = ?e, "federated ID token rejected");
                        refused(&name, &format!("ID token rejected ({})", e.reason()))
                    })?;
                // The audience must be our client id itself, not just an authorized party.
                let aud_ok = match verified.claims.get("aud") {
                    Some(Value::String(a)) => *a == client_id,
                    Some(Value::Array(a)) => a.iter().any(|v| v.as_str() == Some(&client_id)),
                    _ => false,
                };
                if !aud_ok {
                    return Err(refused(&name, "ID token rejected (wrong audience)"));
                }
                let nonce = verified
                    .claims
                    .get("nonce")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                if !tessera_crypto::constant_time_eq(nonce.as_bytes(), pending.nonce.as_bytes()) {
                    return Err(refused(&name, "ID token rejected (nonce)"));
                }
                id_claims = Some(verified.claims.clone());
                claims = verified.claims;
            }
            (None, _) if provider.provider_type == ProviderType::Oidc => {
                return Err(refused(&name, "the token response has no id_token"));
            }
            (None, _) | (Some(_), None) => {}
        }
        if let (Some(url), Some(at)) = (&endpoints.userinfo, &access_token) {
            let post = provider
                .details
                .get("attributes_request_method")
                .is_some_and(|m| m == "POST");
            let info = documents
                .get_bearer(url, at, post)
                .await
                .map_err(|e| refused(&name, &format!("userinfo endpoint: {e}")))?;
            user_info = info.clone();
            if let Value::Object(info) = info {
                if let (Some(a), Some(b)) = (claims.get("sub"), info.get("sub"))
                    && a != b
                {
                    return Err(refused(&name, "userinfo is about someone else"));
                }
                for (k, v) in info {
                    claims.entry(k).or_insert(v);
                }
            }
        }
        // Apple sends the user's name only once, beside the code in its form post (unsigned,
        // so it only fills in what the ID token doesn't say).
        if provider.provider_type == ProviderType::SignInWithApple
            && let Some(Value::Object(user)) =
                posted_user.and_then(|u| serde_json::from_str(u).ok())
            && let Some(Value::Object(n)) = user.get("name")
        {
            for key in ["firstName", "lastName"] {
                if let Some(v) = n.get(key).and_then(Value::as_str) {
                    claims.entry(key.to_string()).or_insert_with(|| json!(v));
                }
            }
            let full = [n.get("firstName"), n.get("lastName")]
                .into_iter()
                .flatten()
                .filter_map(Value::as_str)
                .collect::<Vec<_>>()
                .join(" ");
            if !full.is_empty() {
                claims
                    .entry("name".to_string())
                    .or_insert_with(|| json!(full));
            }
        }
        // What the pool's InboundFederation function is shown: the token response (without
        // the tokens themselves), the ID token's verified claims and the userinfo answer.
        let mut token_response = tokens.as_object().cloned().unwrap_or_default();
        for secret in ["access_token", "refresh_token", "id_token"] {
            token_response.remove(secret);
        }
        let mut inbound = Map::new();
        inbound.insert("tokenResponse".into(), Value::Object(token_response));
        if let Some(id_claims) = id_claims {
            inbound.insert("idToken".into(), Value::Object(id_claims));
        }
        if user_info.is_object() {
            inbound.insert("userInfo".into(), user_info);
        }
        let inbound = Value::Object(inbound);
        let subject = claims
            .get(provider.provider_type.subject_claim())
            .and_then(text)
            .filter(|s| !s.is_empty())
            .ok_or_else(|| refused(&name, "no subject"))?;
        let (sub, auth_time) = self
            .federated_user(
                &provider,
                pending.request.client_id.as_str(),
                &subject,
                issuer.as_deref(),
                &claims,
                inbound,
            )
            .await?;
        tracing::info!(target: "audit", provider = %name, %sub, "federated sign-in");
        Ok(FederatedSignIn {
            request: pending.request,
            sub,
            auth_time,
            saml: None,
        })
    }

    /// Creates or refreshes the user a provider identity signs in as. The pool's functions run
    /// outside transactions: PreSignUp (`PreSignUp_ExternalProvider`, which may refuse) and
    /// PostConfirmation for a new user, PostAuthentication for every sign-in.
    pub(crate) async fn federated_user(
        &self,
        provider: &IdentityProvider,
        client_id: &str,
        subject: &str,
        issuer: Option<&str>,
        claims: &Map<String, Value>,
        inbound: Value,
    ) -> EngineResult<(Sub, Timestamp)> {
        let now = self.now();
        let pool_id = &provider.pool_id;
        let mapped: Vec<(String, String)> = provider
            .attribute_mapping
            .iter()
            .filter(|(attr, _)| attr.as_str() != "username")
            .filter_map(|(attr, claim)| {
                claims
                    .get(claim)
                    .and_then(text)
                    .map(|v| (attr.clone(), v.chars().take(2048).collect()))
            })
            .collect();
        let username = Username::parse(&format!("{}_{subject}", provider.name))
            .map_err(|_| refused(&provider.name, "the subject can't make a username"))?;
        let (pool, existing) = {
            let mut tx = self.inner.store.read().await?;
            let pool = self.load_pool(&mut *tx, pool_id).await?;
            // An explicitly linked identity signs in as the user it was linked to.
            let linked = match tx.federated_link(pool_id, &provider.name, subject).await? {
                Some(sub) => tx.get_user(pool_id, &UserLookup::Sub(sub)).await?,
                None => None,
            };
            let existing = match linked {
                Some(u) => Some(u),
                None => {
                    let key = username.key(pool.config.sign_in.case_sensitive);
                    tx.get_user(pool_id, &UserLookup::UsernameKey(key)).await?
                }
            };
            (pool, existing)
        };
        let mapped = self
            .inbound_federation(&pool, provider, client_id, &username, inbound, mapped)
            .await?;
        let created = existing.is_none();
        let mut user = match existing {
            Some(u) => u,
            None => {
                let identities = json!([{
                    "userId": subject,
                    "providerName": provider.name,
                    "providerType": provider.provider_type.as_str(),
                    "issuer": issuer,
                    "primary": true,
                    "dateCreated": now.millis(),
                }]);
                let mut attributes = tessera_domain::attributes::Attributes::new();
                attributes.insert("identities".into(), identities.to_string());
                User {
                    pool_id: pool_id.clone(),
                    sub: Sub::from_random(tessera_crypto::random::bytes::<16>()),
                    username,
                    status: UserStatus::ExternalProvider,
                    enabled: true,
                    attributes,
                    password: None,
                    srp: None,
                    mfa: Default::default(),
                    failures: Default::default(),
                    created_at: now,
                    modified_at: now,
                }
            }
        };
        if !user.enabled {
            return Err(DomainError::not_authorized("User is disabled.").into());
        }
        let mut changed = false;
        if user.status == UserStatus::ExternalProvider {
            // Mapped attributes are rewritten on every sign-in; ones missing this time stay.
            for (k, v) in mapped {
                if user.attributes.get(&k) != Some(&v) {
                    user.attributes.insert(k, v);
                    changed = true;
                }
            }
            if changed {
                user.modified_at = now;
            }
        }
        if created {
            let event = Event::new(
                Trigger::PreSignUp,
                "PreSignUp_ExternalProvider",
                user.username.as_str(),
            )
            .with("userAttributes", attributes_of(&pool, &user));
            self.pre_sign_up(&pool, Some(client_id), event).await?;
        }
        let mut tx = self.inner.store.begin().await?;
        if created {
            // No aliases: a provider's email never claims a native account.
            tx.insert_user(
                &user,
                &user.username.key(pool.config.sign_in.case_sensitive),
                &[],
            )
            .await?;
        } else if changed {
            // Only when the provider's attributes changed: an unchanged returning user signs
            // in without a write (and so even while a point-in-time recovery pauses writes).
            tx.update_user(&user, &[]).await?;
        }
        let group = format!("{}_{}", pool_id, provider.name);
        if tx.get_group(pool_id, &group).await?.is_none() {
            tx.insert_group(&Group {
                pool_id: pool_id.clone(),
                name: group.clone(),
                description: None,
                role_arn: None,
                precedence: None,
                created_at: now,
                modified_at: now,
            })
            .await?;
        }
        tx.add_group_member(pool_id, &group, &user.sub).await?;
        tx.commit().await?;
        if created {
            self.post_confirmation(
                &pool,
                Some(client_id),
                &user,
                "PostConfirmation_ConfirmSignUp",
                None,
            )
            .await?;
        }
        let event = Event::new(
            Trigger::PostAuthentication,
            "PostAuthentication_Authentication",
            user.username.as_str(),
        )
        .with("userAttributes", attributes_of(&pool, &user))
        .with("newDeviceUsed", json!(false));
        self.run_trigger(&pool, Some(client_id), event).await?;
        Ok((user.sub, now))
    }
}

impl Engine {
    /// Sign in with Apple's client secret: an ES256 JWT signed with the provider's private key
    /// (`key_id` as `kid`), `iss` the team id, `sub` the services id, `aud` Apple's issuer,
    /// valid for five minutes — made afresh for each code it redeems.
    fn apple_client_secret(
        &self,
        provider: &IdentityProvider,
        client_id: &str,
    ) -> EngineResult<String> {
        let detail = |k: &str| provider.details.get(k).cloned().unwrap_or_default();
        let pem = self
            .provider_secret(provider, "private_key")?
            .ok_or_else(|| refused(&provider.name, "no private key"))?;
        let key = tessera_crypto::es256::Es256Key::from_pkcs8_pem(&pem, &detail("key_id"))
            .map_err(|_| refused(&provider.name, "the private key can't sign"))?;
        let audience = self
            .social_endpoints(provider)
            .issuer
            .unwrap_or_else(|| "https://appleid.apple.com".into());
        let now = self.now().secs();
        let mut claims = Map::new();
        claims.insert("iss".into(), json!(detail("team_id")));
        claims.insert("iat".into(), json!(now));
        claims.insert("exp".into(), json!(now + 300));
        claims.insert("aud".into(), json!(audience));
        claims.insert("sub".into(), json!(client_id));
        key.sign(Map::new(), &claims)
            .map_err(|_| refused(&provider.name, "the client secret couldn't be signed"))
    }

    /// The pool's InboundFederation function (if any) sees what the provider said and may
    /// rewrite the mapped attributes: its `userAttributesToMap` replaces them (attributes it
    /// leaves out are not written this time), `{}` keeps them as mapped. Only attributes of the
    /// pool's schema are taken, never `sub`, `identities` or `username`.
    async fn inbound_federation(
        &self,
        pool: &tessera_domain::pool::UserPool,
        provider: &IdentityProvider,
        client_id: &str,
        username: &Username,
        attributes: Value,
        mapped: Vec<(String, String)>,
    ) -> EngineResult<Vec<(String, String)>> {
        let event = Event::new(
            Trigger::InboundFederation,
            "InboundFederation_ExternalProvider",
            username.as_str(),
        )
        .with("providerName", json!(provider.name))
        .with("providerType", json!(provider.provider_type.as_str()))
        .with("attributes", attributes);
        let Some(answer) = self.run_trigger(pool, Some(client_id), event).await? else {
            return Ok(mapped);
        };
        let unusable = || {
            refused(
                &provider.name,
                "the InboundFederation function's answer is unusable",
            )
        };
        let map = match answer.pointer("/response/userAttributesToMap") {
            None | Some(Value::Null) => return Ok(mapped),
            Some(Value::Object(m)) if m.is_empty() => return Ok(mapped),
            Some(Value::Object(m)) => m,
            Some(_) => return Err(unusable()),
        };
        let mut out = Vec::with_capacity(map.len());
        for (name, value) in map {
            let Value::String(value) = value else {
                return Err(unusable());
            };
            let fixed = matches!(name.as_str(), "sub" | "identities" | "username");
            if fixed || !pool.config.schema.iter().any(|a| &a.name == name) {
                tracing::warn!(target: crate::audit::TARGET, provider = %provider.name, attribute = %name, "InboundFederation answer names an attribute that can't be set; ignored");
                continue;
            }
            out.push((name.clone(), value.chars().take(2048).collect()));
        }
        Ok(out)
    }
}

/// The query a login-page button sends to `/oauth2/authorize` for one provider.
pub fn provider_query(raw_query: &str, provider: &str) -> String {
    let kept: Vec<&str> = raw_query
        .split('&')
        .filter(|p| {
            !p.is_empty()
                && !p.starts_with("identity_provider=")
                && !p.starts_with("idp_identifier=")
        })
        .collect();
    let mut q = kept.join("&");
    if !q.is_empty() {
        q.push('&');
    }
    q.push_str("identity_provider=");
    q.push_str(&urlencode(provider));
    q
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_button_keeps_the_request_and_names_one_provider() {
        assert_eq!(
            provider_query("client_id=abc&identity_provider=Old&scope=openid", "Corp"),
            "client_id=abc&scope=openid&identity_provider=Corp"
        );
        assert_eq!(
            provider_query("idp_identifier=x.example", "My IdP"),
            "identity_provider=My%20IdP"
        );
        assert_eq!(provider_query("", "Corp"), "identity_provider=Corp");
    }

    #[test]
    fn claims_are_mapped_as_text() {
        assert_eq!(text(&json!(true)), Some("true".into()));
        assert_eq!(text(&json!(42)), Some("42".into()));
        assert_eq!(text(&json!("x")), Some("x".into()));
        assert_eq!(text(&json!({"a": 1})), None);
    }
}
