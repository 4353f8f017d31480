//! SAML 2.0 federation for user pools: the pool's SP keys (GetSigningCertificate), SAML
//! providers' metadata (CreateIdentityProvider/UpdateIdentityProvider with ProviderType SAML),
//! and sign-in through them — SP-initiated (`/oauth2/authorize?identity_provider=X` → an
//! AuthnRequest by the Redirect binding → the provider → a POST to `/saml2/idpresponse`) and,
//! when the provider has `IDPInit`, IdP-initiated.
//!
//! The SP-initiated round trip is bound server-side, not by a cookie (the response arrives as a
//! cross-site POST, which SameSite=Lax cookies don't accompany): the app's authorization request
//! is stored under the hash of a fresh RelayState together with the AuthnRequest's ID, taken
//! once, and the response must name that ID in `InResponseTo`. Every accepted assertion id is
//! recorded in the store until the assertion expires, so a replay is refused on every node. The
//! XML checks are `tessera_saml`'s; each refusal leaves an audit line and a page, never a user.

use crate::Engine;
use crate::error::{EngineError, EngineResult};
use crate::federated_signin::{FederatedSignIn, FederationStart};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use tessera_domain::identity_providers::{
    FEDERATION_STATE_TTL_MS, FederationState, IdentityProvider, ProviderType, SamlSignIn,
    SamlSpKeys,
};
use tessera_domain::oauth::{AuthorizeRequest, HostedSession, ResponseType, check_authorize};
use tessera_domain::{DomainError, Timestamp, UserPoolId};
use tessera_saml::{Refusal, ServiceProvider, SpKeys};

/// ProviderDetails keys derived from the metadata and the pool's keys (Describe shows them).
pub const DERIVED_KEYS: [&str; 4] = [
    "ActiveEncryptionCertificate",
    "SLORedirectBindingURI",
    "SSORedirectBindingURI",
    "SSOPostBindingURI",
];

pub(crate) fn key_purpose(pool: &UserPoolId, which: &str) -> String {
    format!("saml-sp-key:{pool}:{which}")
}

/// A refused SAML sign-in: an audit line with the detail, a page with the short reason.
fn refused(provider: &str, reason: &str, detail: &str) -> EngineError {
    tracing::warn!(target: crate::audit::TARGET, event = "federated_sign_in_refused", provider, reason, detail, "audit");
    DomainError::invalid_parameter(format!("Sign-in with {provider} failed: {reason}")).into()
}

fn refusal(provider: &str, r: &Refusal) -> EngineError {
    refused(provider, r.reason(), &r.to_string())
}

/// The ACS of the domain whose `/oauth2/idpresponse` is `callback`.
pub fn acs_url(callback: &str) -> String {
    format!("{}/saml2/idpresponse", domain_base(callback))
}

fn domain_base(callback: &str) -> &str {
    callback
        .strip_suffix("/oauth2/idpresponse")
        .or_else(|| callback.strip_suffix("/saml2/idpresponse"))
        .unwrap_or(callback)
}

impl Engine {
    /// The pool's SP key pairs, generated and stored on first use.
    pub(crate) async fn saml_sp_keys(&self, pool: &UserPoolId) -> EngineResult<SpKeys> {
        let stored = {
            let mut tx = self.inner.store.read().await?;
            self.load_pool(&mut *tx, pool).await?;
            tx.saml_sp_keys(pool).await?
        };
        let stored = match stored {
            Some(k) => k,
            None => {
                let now = self.now();
                let pool_name = pool.to_string();
                // RSA key generation is a few hundred milliseconds of CPU: off the async threads.
                let fresh = tokio::task::spawn_blocking(move || {
                    tessera_saml::generate_sp_keys(&pool_name, now.secs())
                })
                .await
                .map_err(|e| EngineError::Internal(format!("SP key generation: {e}")))?
                .map_err(|e| EngineError::Internal(e.to_string()))?;
                let keys = SamlSpKeys {
                    pool_id: pool.clone(),
                    signing_certificate: fresh.signing_certificate.clone(),
                    sealed_signing_key: self
                        .inner
                        .master
                        .seal(&key_purpose(pool, "signing"), fresh.signing_key.as_bytes()),
                    encryption_certificate: fresh.encryption_certificate.clone(),
                    sealed_encryption_key: self.inner.master.seal(
                        &key_purpose(pool, "encryption"),
                        fresh.encryption_key.as_bytes(),
                    ),
                    created_at: now,
                };
                let mut tx = self.inner.store.begin().await?;
                if !tx.insert_saml_sp_keys(&keys).await? {
                    // Another node generated them first: theirs are the pool's.
                    let theirs = tx.saml_sp_keys(pool).await?;
                    tx.commit().await?;
                    theirs.ok_or_else(|| EngineError::Internal("SP keys vanished".into()))?
                } else {
                    tx.commit().await?;
                    keys
                }
            }
        };
        let open = |which: &str, sealed: &[u8]| -> EngineResult<String> {
            let plain = self.inner.master.open(&key_purpose(pool, which), sealed)?;
            String::from_utf8(plain.to_vec())
                .map_err(|_| EngineError::Internal("SP key is not UTF-8".into()))
        };
        Ok(SpKeys {
            signing_key: open("signing", &stored.sealed_signing_key)?,
            signing_certificate: stored.signing_certificate,
            encryption_key: open("encryption", &stored.sealed_encryption_key)?,
            encryption_certificate: stored.encryption_certificate,
        })
    }

    /// GetSigningCertificate: the base64 DER of the certificate the pool signs SAML requests
    /// with.
    pub async fn get_signing_certificate(&self, pool: &UserPoolId) -> EngineResult<String> {
        let keys = self.saml_sp_keys(pool).await?;
        Ok(tessera_saml::pem_body(&keys.signing_certificate))
    }

    /// The metadata document of a SAML provider's checked details: the MetadataFile, or what
    /// MetadataURL answers (through the outbound guard). Adds the derived keys to `details`.
    pub(crate) async fn saml_metadata_for(
        &self,
        pool: &UserPoolId,
        details: &mut BTreeMap<String, String>,
    ) -> EngineResult<String> {
        let invalid = |why: String| -> EngineError { DomainError::invalid_parameter(why).into() };
        let document = match (details.get("MetadataFile"), details.get("MetadataURL")) {
            (Some(file), _) => file.clone(),
            (None, Some(url)) => {
                let documents = self.inner.oidc_documents.get().ok_or_else(|| {
                    invalid("MetadataURL can't be fetched by this server.".into())
                })?;
                documents.get_text(url).await.map_err(|e| {
                    tracing::warn!(url = %url, error = %e, "SAML metadata fetch failed");
                    invalid(format!("Unable to retrieve metadata from {url}."))
                })?
            }
            (None, None) => return Err(invalid("A metadata source is required.".into())),
        };
        let summary = tessera_saml::parse_idp_metadata(&document)
            .map_err(|e| invalid(format!("Invalid SAML metadata: {e}.")))?;
        for k in DERIVED_KEYS {
            details.remove(k);
        }
        if let Some(u) = summary.sso_redirect {
            details.insert("SSORedirectBindingURI".into(), u);
        }
        if let Some(u) = summary.sso_post {
            details.insert("SSOPostBindingURI".into(), u);
        }
        if let Some(u) = summary.slo_redirect {
            details.insert("SLORedirectBindingURI".into(), u);
        }
        if details
            .get("EncryptedResponses")
            .is_some_and(|v| v == "true")
        {
            let keys = self.saml_sp_keys(pool).await?;
            details.insert(
                "ActiveEncryptionCertificate".into(),
                tessera_saml::pem_body(&keys.encryption_certificate),
            );
        }
        Ok(document)
    }

    async fn service_provider(
        &self,
        provider: &IdentityProvider,
        callback: &str,
    ) -> EngineResult<ServiceProvider> {
        Ok(ServiceProvider {
            pool_id: provider.pool_id.to_string(),
            acs_url: acs_url(callback),
            slo_url: format!("{}/saml2/logout", domain_base(callback)),
            keys: self.saml_sp_keys(&provider.pool_id).await?,
            sign_requests: provider.details.contains_key("RequestSigningAlgorithm"),
            encrypted_assertions: provider.flag("EncryptedResponses"),
        })
    }

    /// The SP metadata of a pool at the domain whose callback is `callback`.
    pub async fn saml_sp_metadata(
        &self,
        pool: &UserPoolId,
        callback: &str,
    ) -> EngineResult<String> {
        let sp = ServiceProvider {
            pool_id: pool.to_string(),
            acs_url: acs_url(callback),
            slo_url: format!("{}/saml2/logout", domain_base(callback)),
            keys: self.saml_sp_keys(pool).await?,
            sign_requests: true,
            encrypted_assertions: false,
        };
        sp.metadata_xml()
            .map_err(|e| EngineError::Internal(e.to_string()))
    }

    /// Begins an SP-initiated SAML sign-in (see the module documentation).
    pub(crate) async fn start_saml(
        &self,
        req: &AuthorizeRequest,
        provider: &IdentityProvider,
        callback: &str,
    ) -> EngineResult<FederationStart> {
        let metadata = provider
            .saml_metadata
            .as_deref()
            .ok_or_else(|| refused(&provider.name, "no metadata", "provider has no metadata"))?;
        let sp = self.service_provider(provider, callback).await?;
        let relay_state = tessera_crypto::random::token(32);
        let started = sp
            .start(metadata, &relay_state)
            .map_err(|e| refusal(&provider.name, &e))?;
        let pending = FederationState {
            pool_id: provider.pool_id.clone(),
            provider_name: provider.name.clone(),
            request: req.clone(),
            nonce: String::new(),
            saml_request_id: Some(started.request_id),
            after_logout: None,
            expires_at: Timestamp::from_millis(self.now().millis() + FEDERATION_STATE_TTL_MS),
        };
        self.put_federation_state(&relay_state, &pending).await?;
        Ok(FederationStart {
            location: started.redirect_url,
            state: relay_state,
        })
    }

    /// Completes a SAML sign-in from the form posted to the ACS (`callback` is the domain's
    /// `/saml2/idpresponse`). A RelayState naming a pending sign-in makes it SP-initiated;
    /// otherwise it is IdP-initiated, accepted only from a provider with `IDPInit`, and its
    /// RelayState must be the app's authorization request (`client_id`, `redirect_uri`,
    /// `response_type`, `scope`, `state`).
    pub async fn finish_saml(
        &self,
        pool_id: &UserPoolId,
        saml_response: &str,
        relay_state: Option<&str>,
        callback: &str,
    ) -> EngineResult<FederatedSignIn> {
        let now = self.now();
        if saml_response.is_empty() {
            return Err(refused("the provider", "no SAMLResponse", "empty form"));
        }
        let pending = match relay_state.filter(|r| !r.is_empty() && !r.contains('=')) {
            Some(r) => {
                let taken = self.take_federation_state(r).await?;
                Some(
                    taken
                        .filter(|s| &s.pool_id == pool_id && s.saml_request_id.is_some())
                        .ok_or_else(|| {
                            refused(
                                "the provider",
                                "the response does not answer a sign-in in progress",
                                "unknown, used or expired RelayState",
                            )
                        })?,
                )
            }
            None => None,
        };
        let (provider, request, verified) = match pending {
            Some(p) => {
                let provider = self.saml_provider(pool_id, &p.provider_name).await?;
                let sp = self.service_provider(&provider, callback).await?;
                let pending_request = tessera_saml::PendingRequest {
                    request_id: p.saml_request_id.clone().unwrap_or_default(),
                    // The state was found by this RelayState's hash.
                    relay_state: relay_state.unwrap_or_default().to_string(),
                };
                let verified = sp
                    .finish(
                        provider.saml_metadata.as_deref().unwrap_or_default(),
                        Some(&pending_request),
                        saml_response,
                        relay_state,
                        now.millis(),
                    )
                    .map_err(|e| refusal(&provider.name, &e))?;
                (provider, p.request, verified)
            }
            None => {
                self.idp_initiated(pool_id, saml_response, relay_state, callback)
                    .await?
            }
        };
        let fresh = {
            let mut tx = self.inner.store.begin().await?;
            let fresh = tx
                .record_saml_assertion(
                    pool_id,
                    &verified.issuer,
                    &verified.assertion_id,
                    Timestamp::from_millis(verified.keep_until_ms),
                    now,
                )
                .await?;
            tx.commit().await?;
            fresh
        };
        if !fresh {
            return Err(refused(
                &provider.name,
                "the assertion was already used",
                &format!("replayed assertion {}", verified.assertion_id),
            ));
        }
        let claims = saml_claims(&verified)
            .map_err(|why| refused(&provider.name, "unacceptable attribute values", why))?;
        let (sub, auth_time) = self
            .federated_user(
                &provider,
                request.client_id.as_str(),
                &verified.name_id,
                Some(&verified.issuer),
                &claims,
                // The InboundFederation function sees the assertion's attributes.
                serde_json::json!({ "samlResponse": claims }),
            )
            .await?;
        tracing::info!(target: "audit", provider = %provider.name, %sub, "federated sign-in (SAML)");
        Ok(FederatedSignIn {
            request,
            sub,
            auth_time,
            saml: Some(SamlSignIn {
                provider_name: provider.name.clone(),
                name_id: verified.name_id,
                name_id_format: verified.name_id_format,
                session_indexes: verified.session_indexes,
            }),
        })
    }

    /// `/logout` of a hosted session that came through a SAML provider with `IDPSignout`: a
    /// signed LogoutRequest by the Redirect binding to the provider's SLO endpoint, whose answer
    /// comes back to `/saml2/logout` and then goes on to `after`. `None` when the session has
    /// nothing to sign out of at a provider.
    pub async fn start_saml_logout(
        &self,
        session: &HostedSession,
        client_id: &tessera_domain::ClientId,
        after: &str,
        callback: &str,
    ) -> EngineResult<Option<String>> {
        let Some(saml) = &session.saml else {
            return Ok(None);
        };
        let provider = {
            let mut tx = self.inner.store.read().await?;
            tx.get_identity_provider(&session.pool_id, &saml.provider_name)
                .await?
        };
        let Some(provider) = provider.filter(|p| p.flag("IDPSignout")) else {
            return Ok(None);
        };
        if !provider.details.contains_key("SLORedirectBindingURI") {
            return Ok(None);
        }
        let sp = self.service_provider(&provider, callback).await?;
        let relay_state = tessera_crypto::random::token(32);
        let started = sp
            .logout_url(
                provider.saml_metadata.as_deref().unwrap_or_default(),
                &saml.name_id,
                saml.name_id_format.as_deref(),
                &saml.session_indexes,
                &relay_state,
            )
            .map_err(|e| refusal(&provider.name, &e))?;
        let pending = FederationState {
            pool_id: session.pool_id.clone(),
            provider_name: provider.name.clone(),
            request: AuthorizeRequest {
                client_id: client_id.clone(),
                client_url: None,
                response_type: ResponseType::Code,
                redirect_uri: after.to_string(),
                state: None,
                scopes: vec![],
                nonce: None,
                code_challenge: None,
                identity_provider: Some(provider.name.clone()),
                prompt: None,
                login_hint: None,
            },
            nonce: String::new(),
            saml_request_id: Some(started.request_id),
            after_logout: Some(after.to_string()),
            expires_at: Timestamp::from_millis(self.now().millis() + FEDERATION_STATE_TTL_MS),
        };
        self.put_federation_state(&relay_state, &pending).await?;
        tracing::info!(target: "audit", provider = %provider.name, sub = %session.sub, "SAML single logout sent");
        Ok(Some(started.redirect_url))
    }

    /// The provider's LogoutResponse at `/saml2/logout`: verified against the LogoutRequest
    /// sent; returns where `/logout` was to send the browser.
    pub async fn finish_saml_logout(
        &self,
        pool_id: &UserPoolId,
        raw_query: &str,
        relay_state: &str,
        callback: &str,
    ) -> EngineResult<String> {
        let now = self.now();
        let pending = self
            .take_federation_state(relay_state)
            .await?
            .filter(|s| &s.pool_id == pool_id && s.after_logout.is_some())
            .ok_or_else(|| {
                refused(
                    "the provider",
                    "the answer does not belong to a sign-out in progress",
                    "unknown, used or expired logout RelayState",
                )
            })?;
        let provider = self.saml_provider(pool_id, &pending.provider_name).await?;
        let sp = self.service_provider(&provider, callback).await?;
        sp.finish_logout(
            provider.saml_metadata.as_deref().unwrap_or_default(),
            pending.saml_request_id.as_deref().unwrap_or_default(),
            relay_state,
            raw_query,
            now.millis(),
        )
        .map_err(|e| refusal(&provider.name, &e))?;
        Ok(pending.after_logout.unwrap_or_default())
    }

    async fn saml_provider(&self, pool: &UserPoolId, name: &str) -> EngineResult<IdentityProvider> {
        let mut tx = self.inner.store.read().await?;
        tx.get_identity_provider(pool, name)
            .await?
            .filter(|p| p.provider_type == ProviderType::Saml)
            .ok_or_else(|| refused(name, "provider deleted", "no such SAML provider"))
    }

    /// An unsolicited response: verified against each of the pool's providers that accept
    /// IdP-initiated sign-in (only one's metadata can verify it).
    async fn idp_initiated(
        &self,
        pool_id: &UserPoolId,
        saml_response: &str,
        relay_state: Option<&str>,
        callback: &str,
    ) -> EngineResult<(IdentityProvider, AuthorizeRequest, tessera_saml::Verified)> {
        let providers: Vec<IdentityProvider> = {
            let mut tx = self.inner.store.read().await?;
            tx.list_identity_providers(
                pool_id,
                None,
                tessera_domain::identity_providers::MAX_PROVIDERS,
            )
            .await?
            .into_iter()
            .filter(|p| p.provider_type == ProviderType::Saml && p.flag("IDPInit"))
            .collect()
        };
        let mut last: Option<(String, Refusal)> = None;
        let mut found = None;
        for provider in providers {
            let sp = self.service_provider(&provider, callback).await?;
            match sp.finish(
                provider.saml_metadata.as_deref().unwrap_or_default(),
                None,
                saml_response,
                relay_state,
                self.now().millis(),
            ) {
                Ok(v) => {
                    found = Some((provider, v));
                    break;
                }
                Err(e) => last = Some((provider.name.clone(), e)),
            }
        }
        let Some((provider, verified)) = found else {
            return Err(match last {
                Some((name, e)) => refusal(&name, &e),
                None => refused(
                    "the provider",
                    "the response does not answer a sign-in in progress",
                    "unsolicited response and no provider accepts IdP-initiated sign-in",
                ),
            });
        };
        let params: BTreeMap<String, String> =
            form_urlencoded_pairs(relay_state.unwrap_or_default());
        let client = match params.get("client_id") {
            Some(id) => self.pool_client(pool_id, id).await?,
            None => None,
        };
        let mut params = params;
        params.insert("identity_provider".into(), provider.name.clone());
        let request = check_authorize(&params, client.as_ref()).map_err(|e| {
            refused(
                &provider.name,
                "the RelayState is not a valid authorization request",
                &format!("{e:?}"),
            )
        })?;
        Ok((provider, request, verified))
    }
}

fn form_urlencoded_pairs(s: &str) -> BTreeMap<String, String> {
    s.split('&')
        .filter(|p| !p.is_empty())
        .map(|p| {
            let (k, v) = p.split_once('=').unwrap_or((p, ""));
            (form_decode(k), form_decode(v))
        })
        .collect()
}

/// `application/x-www-form-urlencoded` decoding: `+` is a space, `%XX` a byte; a malformed
/// escape stays as written.
fn form_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        match bytes[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                match hex {
                    Some(b) => {
                        out.push(b);
                        i += 2;
                    }
                    None => out.push(b'%'),
                }
            }
            b => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

/// The claims attribute mapping reads: each SAML attribute by name, several values joined
/// with commas; the NameID as `saml:NameID`. Values with 4-byte UTF-8 characters are refused,
/// as Cognito does.
fn saml_claims(v: &tessera_saml::Verified) -> Result<Map<String, Value>, &'static str> {
    let mut claims = Map::new();
    for (name, values) in &v.attributes {
        if values.iter().any(|s| s.chars().any(|c| c.len_utf8() == 4)) {
            return Err("4-byte UTF-8 characters in an attribute value");
        }
        claims.insert(name.clone(), Value::String(values.join(",")));
    }
    claims.insert("saml:NameID".into(), Value::String(v.name_id.clone()));
    Ok(claims)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_acs_sits_beside_the_oauth_callback() {
        assert_eq!(
            acs_url("http://127.0.0.1:9229/domain/corp/oauth2/idpresponse"),
            "http://127.0.0.1:9229/domain/corp/saml2/idpresponse"
        );
        assert_eq!(
            acs_url("https://auth.example.com/saml2/idpresponse"),
            "https://auth.example.com/saml2/idpresponse"
        );
    }

    #[test]
    fn attributes_become_claims_and_4_byte_characters_are_refused() {
        let mut v = tessera_saml::Verified {
            assertion_id: "_a".into(),
            issuer: "https://idp".into(),
            name_id: "alice".into(),
            name_id_format: None,
            session_indexes: vec![],
            attributes: vec![
                ("email".into(), vec!["a@example.com".into()]),
                ("groups".into(), vec!["x".into(), "y".into()]),
            ],
            keep_until_ms: 0,
            recipient: String::new(),
        };
        let c = saml_claims(&v).unwrap_or_default();
        assert_eq!(c.get("email"), Some(&Value::String("a@example.com".into())));
        assert_eq!(c.get("groups"), Some(&Value::String("x,y".into())));
        assert_eq!(c.get("saml:NameID"), Some(&Value::String("alice".into())));
        v.attributes.push(("name".into(), vec!["𠮷".into()]));
        assert!(saml_claims(&v).is_err());
    }

    #[test]
    fn relay_state_queries_decode() {
        let p = form_urlencoded_pairs(
            "client_id=abc&redirect_uri=https%3A%2F%2Fapp%2Fcb&scope=openid+email",
        );
        assert_eq!(
            p.get("redirect_uri").map(String::as_str),
            Some("https://app/cb")
        );
        assert_eq!(p.get("client_id").map(String::as_str), Some("abc"));
    }
}
