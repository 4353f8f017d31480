//! ID tokens of external OpenID Connect providers, the ones registered in IAM with
//! CreateOpenIDConnectProvider: identity-pool Logins keyed by the provider's host (reference
//! §1.2, "Generic OIDC") and AssumeRoleWithWebIdentity.
//!
//! The provider's keys come from `{issuer}/.well-known/openid-configuration` → `jwks_uri`,
//! fetched by an [`OidcDocuments`] port (the server's goes through the outbound SSRF guard, with
//! timeouts) and kept in memory for [`JWKS_TTL`]; an unknown `kid` refetches the set once (at
//! most every [`REFETCH_GAP`], so tokens with made-up kids can't drive traffic to the provider).
//! Signatures: RS256 or ES256 only (`tessera_crypto::jwt::verify_foreign`). Claims: `iss` the
//! provider's URL, `azp` if present else `aud` one of the provider's client ids, `exp`/`nbf`
//! with [`SKEW`] of grace, `sub` present.

use crate::Engine;
use crate::error::EngineResult;
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::sync::Arc;
use std::time::{Duration, Instant};
use tessera_crypto::jwt::ForeignTokenError;
use tessera_domain::iam::OidcProvider;

/// How long a fetched key set is trusted before it is fetched again.
pub const JWKS_TTL: Duration = Duration::from_secs(300);
/// The least time between two fetches of a set caused by unknown kids.
pub const REFETCH_GAP: Duration = Duration::from_secs(10);
/// Clock-skew grace on `exp` and `nbf`, in seconds.
pub const SKEW: i64 = 300;

/// Fetches the JSON documents of OpenID Connect discovery. Implementations bound the time and
/// size of each fetch and refuse addresses the deployment shouldn't reach.
#[async_trait::async_trait]
pub trait OidcDocuments: Send + Sync + 'static {
    /// GETs `url` and parses the body as JSON; the error says why it couldn't.
    async fn get_json(&self, url: &str) -> Result<Value, String>;

    /// POSTs a form (a provider's token endpoint) and parses the JSON answer; a non-2xx answer
    /// is an error naming the status.
    async fn post_form(&self, url: &str, _form: &[(String, String)]) -> Result<Value, String> {
        Err(format!("{url}: this client can't post forms"))
    }

    /// GETs (or POSTs, for `attributes_request_method=POST`) a userinfo endpoint with a bearer
    /// token and parses the JSON answer.
    async fn get_bearer(&self, url: &str, _token: &str, _post: bool) -> Result<Value, String> {
        Err(format!("{url}: this client can't send bearer requests"))
    }

    /// GETs a provider API whose refusals mean something (Facebook's Graph API, Amazon's token
    /// info), with an optional bearer token: the status and the body as JSON (`Null` when it
    /// isn't JSON). Only getting no answer at all is an error.
    async fn get_answer(&self, url: &str, _bearer: Option<&str>) -> Result<(u16, Value), String> {
        Err(format!("{url}: this client can't call provider APIs"))
    }

    /// GETs a text document: a SAML provider's `MetadataURL`.
    async fn get_text(&self, url: &str) -> Result<String, String> {
        Err(format!("{url}: this client can't fetch documents"))
    }

    /// GETs a client ID metadata document (`https://` only): the JSON body and the answer's
    /// `Cache-Control: max-age`, if any.
    async fn get_client_metadata(&self, url: &str) -> Result<(Value, Option<u64>), String> {
        Err(format!(
            "{url}: this client can't fetch client metadata documents"
        ))
    }
}

/// Why an external token was refused. Callers turn this into their service's message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OidcTokenError {
    /// Not a JWT, or an algorithm outside the allow-list.
    Malformed,
    /// `iss` isn't the provider's URL.
    Issuer,
    /// Signature wrong, or no key of the provider has its `kid`.
    Signature,
    /// The provider's keys couldn't be fetched (the reason is for the log).
    Unreachable(String),
    /// `exp` (plus grace) is past: `now >= exp`.
    Expired { now: i64, exp: i64 },
    /// `nbf` (less grace) is still ahead.
    NotYetValid,
    /// Neither `azp` nor `aud` names one of the provider's client ids.
    Audience,
    /// No `sub`.
    MissingSubject,
}

impl OidcTokenError {
    /// A short reason fit for an end user's page (the log gets the detail).
    pub fn reason(&self) -> &'static str {
        match self {
            OidcTokenError::Malformed => "not an acceptable token",
            OidcTokenError::Issuer => "wrong issuer",
            OidcTokenError::Signature => "bad signature",
            OidcTokenError::Unreachable(_) => "the provider's keys couldn't be fetched",
            OidcTokenError::Expired { .. } => "expired",
            OidcTokenError::NotYetValid => "not yet valid",
            OidcTokenError::Audience => "wrong audience",
            OidcTokenError::MissingSubject => "no subject",
        }
    }
}

/// A verified external ID token.
#[derive(Debug, Clone)]
pub struct OidcToken {
    pub subject: String,
    /// The client id it was accepted for (`azp`, or the matching `aud`).
    pub audience: String,
    pub claims: Map<String, Value>,
}

/// The keys of one issuer, as last fetched.
#[derive(Clone)]
struct CachedKeys {
    fetched: Instant,
    jwks: Arc<Value>,
}

/// The in-memory JWKS cache (rebuildable: nothing here is stored).
#[derive(Default)]
pub(crate) struct JwksCache {
    by_issuer: std::sync::Mutex<HashMap<String, CachedKeys>>,
    /// When an unknown kid last made us refetch an issuer's set.
    refetched: std::sync::Mutex<HashMap<String, Instant>>,
}

impl JwksCache {
    fn get(&self, issuer: &str) -> Option<CachedKeys> {
        self.by_issuer
            .lock()
            .ok()
            .and_then(|m| m.get(issuer).cloned())
    }

    /// Whether an unknown kid may refetch `issuer`'s set now: not if the set or the last such
    /// refetch is younger than [`REFETCH_GAP`]. Claiming is atomic, so of many requests with
    /// unknown kids at once only one fetches.
    fn claim_refetch(&self, issuer: &str, fetched: Instant) -> bool {
        if fetched.elapsed() < REFETCH_GAP {
            return false;
        }
        let Ok(mut m) = self.refetched.lock() else {
            return false;
        };
        if m.get(issuer).is_some_and(|t| t.elapsed() < REFETCH_GAP) {
            return false;
        }
        m.retain(|_, t| t.elapsed() < REFETCH_GAP);
        m.insert(issuer.to_string(), Instant::now());
        true
    }

    fn put(&self, issuer: &str, jwks: Arc<Value>) {
        if let Ok(mut m) = self.by_issuer.lock() {
            // Bounded by the IAM providers in use; drop stale entries as we go.
            m.retain(|_, c| c.fetched.elapsed() < JWKS_TTL);
            m.insert(
                issuer.to_string(),
                CachedKeys {
                    fetched: Instant::now(),
                    jwks,
                },
            );
        }
    }
}

/// The provider's URL without a trailing slash, as `iss` is compared.
fn normalise(url: &str) -> &str {
    url.strip_suffix('/').unwrap_or(url)
}

/// The checks on verified claims, against the provider and the time `now` (epoch seconds).
pub fn check_claims(
    claims: &Map<String, Value>,
    provider: &OidcProvider,
    now: i64,
) -> Result<OidcToken, OidcTokenError> {
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("iss").map(normalise) != Some(normalise(&provider.url)) {
        return Err(OidcTokenError::Issuer);
    }
    let exp = claims
        .get("exp")
        .and_then(Value::as_i64)
        .ok_or(OidcTokenError::Expired { now, exp: 0 })?;
    if now >= exp.saturating_add(SKEW) {
        return Err(OidcTokenError::Expired { now, exp });
    }
    if let Some(nbf) = claims.get("nbf").and_then(Value::as_i64)
        && nbf > now.saturating_add(SKEW)
    {
        return Err(OidcTokenError::NotYetValid);
    }
    let candidates: Vec<&str> = match (claims.get("azp"), claims.get("aud")) {
        (Some(Value::String(azp)), _) => vec![azp.as_str()],
        (_, Some(Value::String(aud))) => vec![aud.as_str()],
        (_, Some(Value::Array(auds))) => auds.iter().filter_map(Value::as_str).collect(),
        _ => Vec::new(),
    };
    let audience = candidates
        .into_iter()
        .find(|a| provider.client_ids.iter().any(|c| c == a))
        .ok_or(OidcTokenError::Audience)?
        .to_string();
    let subject = text("sub")
        .filter(|s| !s.is_empty())
        .ok_or(OidcTokenError::MissingSubject)?
        .to_string();
    Ok(OidcToken {
        subject,
        audience,
        claims: claims.clone(),
    })
}

impl Engine {
    /// Lets the engine fetch external providers' keys; without it their tokens are refused.
    pub fn set_oidc_documents(&self, documents: Arc<dyn OidcDocuments>) {
        let _ = self.inner.oidc_documents.set(documents);
    }

    /// The provider an IAM OIDC provider ARN names, if it exists.
    pub(crate) async fn oidc_provider(&self, arn: &str) -> EngineResult<Option<OidcProvider>> {
        let mut tx = self.inner.store.read().await?;
        Ok(tx.get_oidc_provider(arn).await?)
    }

    /// Verifies an ID token of `provider` (see the module documentation).
    pub async fn verify_oidc_token(
        &self,
        provider: &OidcProvider,
        token: &str,
    ) -> Result<OidcToken, OidcTokenError> {
        self.verify_oidc_token_at(provider, token, None).await
    }

    /// As [`Self::verify_oidc_token`], with the key set at `jwks_uri` when the provider's
    /// configuration names one instead of leaving it to discovery.
    pub async fn verify_oidc_token_at(
        &self,
        provider: &OidcProvider,
        token: &str,
        jwks_uri: Option<&str>,
    ) -> Result<OidcToken, OidcTokenError> {
        // The issuer is checked before anything is fetched: a token of someone else never
        // makes us call the provider.
        let unverified = crate::sts::unverified_claims(token).ok_or(OidcTokenError::Malformed)?;
        let iss = unverified.get("iss").and_then(Value::as_str);
        if iss.map(normalise) != Some(normalise(&provider.url)) {
            return Err(OidcTokenError::Issuer);
        }
        let cached = self
            .inner
            .jwks_cache
            .get(&provider.url)
            .filter(|c| c.fetched.elapsed() < JWKS_TTL);
        let (jwks, fresh) = match cached {
            Some(c) => (c, false),
            None => (self.fetch_jwks(provider, jwks_uri).await?, true),
        };
        let claims = match tessera_crypto::jwt::verify_foreign(token, &jwks.jwks) {
            Ok(c) => c,
            Err(ForeignTokenError::UnknownKey(_))
                if !fresh
                    && self
                        .inner
                        .jwks_cache
                        .claim_refetch(&provider.url, jwks.fetched) =>
            {
                let again = self.fetch_jwks(provider, jwks_uri).await?;
                tessera_crypto::jwt::verify_foreign(token, &again.jwks).map_err(foreign)?
            }
            Err(e) => return Err(foreign(e)),
        };
        check_claims(&claims, provider, self.now().secs())
    }

    /// Discovery, then the key set; cached on success.
    async fn fetch_jwks(
        &self,
        provider: &OidcProvider,
        configured: Option<&str>,
    ) -> Result<CachedKeys, OidcTokenError> {
        let Some(documents) = self.inner.oidc_documents.get() else {
            return Err(OidcTokenError::Unreachable(
                "this server has no outbound OIDC client".into(),
            ));
        };
        let discovery_url = format!(
            "{}/.well-known/openid-configuration",
            normalise(&provider.url)
        );
        let unreachable = |what: &str, why: String| {
            tracing::warn!(provider = %provider.url, %why, "OIDC {what} unavailable");
            OidcTokenError::Unreachable(format!("{what}: {why}"))
        };
        let jwks_uri = match configured {
            Some(u) => u.to_string(),
            None => {
                let discovery = documents
                    .get_json(&discovery_url)
                    .await
                    .map_err(|e| unreachable("discovery document", e))?;
                discovery
                    .get("jwks_uri")
                    .and_then(Value::as_str)
                    .filter(|u| u.starts_with("https://") || u.starts_with("http://"))
                    .ok_or_else(|| unreachable("discovery document", "no http(s) jwks_uri".into()))?
                    .to_string()
            }
        };
        let jwks = documents
            .get_json(&jwks_uri)
            .await
            .map_err(|e| unreachable("key set", e))?;
        if !jwks.get("keys").is_some_and(Value::is_array) {
            return Err(unreachable("key set", "no \"keys\" array".into()));
        }
        let jwks = Arc::new(jwks);
        self.inner.jwks_cache.put(&provider.url, jwks.clone());
        Ok(CachedKeys {
            fetched: Instant::now(),
            jwks,
        })
    }
}

fn foreign(e: ForeignTokenError) -> OidcTokenError {
    match e {
        ForeignTokenError::Malformed(_) => OidcTokenError::Malformed,
        ForeignTokenError::UnknownKey(_) | ForeignTokenError::Signature(_) => {
            OidcTokenError::Signature
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use tessera_domain::Timestamp;

    fn provider() -> OidcProvider {
        OidcProvider {
            arn: "arn:aws:iam::123456789012:oidc-provider/login.example.com".into(),
            url: "https://login.example.com".into(),
            client_ids: vec!["app".into(), "other".into()],
            thumbprints: vec![],
            created_at: Timestamp::from_millis(0),
            tags: vec![],
        }
    }

    fn claims(v: Value) -> Map<String, Value> {
        match v {
            Value::Object(m) => m,
            _ => Map::new(),
        }
    }

    const NOW: i64 = 1_700_000_000;

    fn base() -> Value {
        json!({"iss": "https://login.example.com", "aud": "app", "sub": "u1", "exp": NOW + 60})
    }

    fn with(field: &str, value: Value) -> Map<String, Value> {
        let mut c = claims(base());
        c.insert(field.into(), value);
        c
    }

    #[test]
    fn a_good_token_passes() {
        let ok = check_claims(&claims(base()), &provider(), NOW).map_err(|e| format!("{e:?}"));
        let ok = ok.unwrap_or_else(|e| panic!("{e}"));
        assert_eq!((ok.subject.as_str(), ok.audience.as_str()), ("u1", "app"));
        // A trailing slash on either side is the same issuer.
        let slash = with("iss", json!("https://login.example.com/"));
        assert!(check_claims(&slash, &provider(), NOW).is_ok());
    }

    #[test]
    fn issuer_must_be_the_providers() {
        let c = with("iss", json!("https://evil.example.com"));
        assert_eq!(
            check_claims(&c, &provider(), NOW).err(),
            Some(OidcTokenError::Issuer)
        );
    }

    #[test]
    fn azp_wins_over_aud_and_lists_are_searched() {
        let mut c = with("aud", json!(["x", "other"]));
        assert_eq!(
            check_claims(&c, &provider(), NOW).map(|t| t.audience).ok(),
            Some("other".into())
        );
        c.insert("azp".into(), json!("stranger"));
        assert_eq!(
            check_claims(&c, &provider(), NOW).err(),
            Some(OidcTokenError::Audience)
        );
        let c = with("aud", json!("nobody"));
        assert_eq!(
            check_claims(&c, &provider(), NOW).err(),
            Some(OidcTokenError::Audience)
        );
    }

    #[test]
    fn five_minutes_of_skew_then_expired() {
        let c = with("exp", json!(NOW - SKEW + 1));
        assert!(check_claims(&c, &provider(), NOW).is_ok());
        let c = with("exp", json!(NOW - SKEW));
        assert_eq!(
            check_claims(&c, &provider(), NOW).err(),
            Some(OidcTokenError::Expired {
                now: NOW,
                exp: NOW - SKEW
            })
        );
        let c = with("nbf", json!(NOW + SKEW));
        assert!(check_claims(&c, &provider(), NOW).is_ok());
        let c = with("nbf", json!(NOW + SKEW + 1));
        assert_eq!(
            check_claims(&c, &provider(), NOW).err(),
            Some(OidcTokenError::NotYetValid)
        );
        let mut c = claims(base());
        c.remove("exp");
        assert!(matches!(
            check_claims(&c, &provider(), NOW),
            Err(OidcTokenError::Expired { .. })
        ));
    }

    #[test]
    fn unknown_kids_refetch_at_most_once_per_gap() {
        let cache = JwksCache::default();
        let young = Instant::now();
        assert!(!cache.claim_refetch("https://a", young));
        let Some(old) = Instant::now().checked_sub(REFETCH_GAP * 2) else {
            return; // a clock this close to its origin can't express the case
        };
        assert!(cache.claim_refetch("https://a", old));
        assert!(!cache.claim_refetch("https://a", old));
        assert!(cache.claim_refetch("https://b", old));
    }

    #[test]
    fn subject_is_required() {
        let mut c = claims(base());
        c.remove("sub");
        assert_eq!(
            check_claims(&c, &provider(), NOW).err(),
            Some(OidcTokenError::MissingSubject)
        );
    }
}
