//! Logins of the public providers an identity pool lists in `SupportedLoginProviders`
//! (cognito-identity reference §1.2): Google and Sign in with Apple present an ID token, checked
//! like any OpenID Connect token against the provider's key set; Facebook and Login with Amazon
//! present an opaque access token, which only the provider can vouch for, so it is asked.
//!
//! Each provider's endpoints are Cognito's, or the deployment's `[federation.<Type>]` override
//! (the same table the user-pool federation reads): `issuer` and `jwks_uri` for Google and
//! Apple; for Facebook the Graph API root is `userinfo_url` up to its `/me`; for Amazon the token
//! info endpoint is `token_url` followed by `info` (`…/auth/o2/token` → `…/auth/o2/tokeninfo`).
//!
//! The pool's value for a provider is the app id it accepts: Google's client id(s) and Apple's
//! services id(s), separated by `;` when several (the model's pattern allows no comma, but one is
//! accepted too); Facebook's app id; Amazon's app id (or the
//! client id, `amzn1.application-oa2-client…`, which its token info gives as `aud`).

use super::logins::{LoginProof, invalid, unsupported_provider};
use crate::Engine;
use crate::error::{EngineError, EngineResult};
use crate::federation::OidcTokenError;
use serde_json::{Map, Value};
use tessera_domain::DomainError;
use tessera_domain::iam::OidcProvider;
use tessera_domain::identity_providers::{ProviderType, SocialEndpoints};

/// A public provider, by its Logins key.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum PublicProvider {
    Google,
    Facebook,
    Amazon,
    Apple,
}

impl PublicProvider {
    pub(crate) fn of_key(key: &str) -> Option<Self> {
        match key {
            "accounts.google.com" => Some(Self::Google),
            "graph.facebook.com" => Some(Self::Facebook),
            "www.amazon.com" => Some(Self::Amazon),
            "appleid.apple.com" => Some(Self::Apple),
            _ => None,
        }
    }

    fn key(self) -> &'static str {
        match self {
            Self::Google => "accounts.google.com",
            Self::Facebook => "graph.facebook.com",
            Self::Amazon => "www.amazon.com",
            Self::Apple => "appleid.apple.com",
        }
    }

    fn provider_type(self) -> ProviderType {
        match self {
            Self::Google => ProviderType::Google,
            Self::Facebook => ProviderType::Facebook,
            Self::Amazon => ProviderType::LoginWithAmazon,
            Self::Apple => ProviderType::SignInWithApple,
        }
    }
}

/// The app ids a pool's `SupportedLoginProviders` value lists.
fn app_ids(configured: &str) -> Vec<String> {
    configured
        .split([',', ';'])
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

/// The provider didn't answer (Cognito's ExternalServiceException).
fn unreachable(provider: PublicProvider, why: &str) -> EngineError {
    tracing::warn!(provider = provider.key(), %why, "identity provider unavailable");
    DomainError::new(
        tessera_domain::ErrorKind::ExternalService,
        format!("{} is not responding.", provider.key()),
    )
    .into()
}

/// The Graph API root: `userinfo_url` up to its `/me` (`https://graph.facebook.com/v17.0`).
fn graph_root(endpoints: &SocialEndpoints) -> Option<String> {
    let url = endpoints.userinfo_url.as_deref()?;
    let at = url.find("/me")?;
    Some(url[..at].to_string())
}

/// Amazon's token info endpoint, beside its token endpoint.
fn amazon_tokeninfo(endpoints: &SocialEndpoints) -> Option<String> {
    endpoints.token_url.as_deref().map(|t| format!("{t}info"))
}

/// A value of an answer as text (Graph ids are strings; be lenient with numbers).
fn text_of(v: &Value, name: &str) -> Option<String> {
    match v.get(name)? {
        Value::String(s) if !s.is_empty() => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        _ => None,
    }
}

impl Engine {
    /// Verifies a public provider's token for a pool that lists it with `configured` app ids.
    pub(crate) async fn verify_public_login(
        &self,
        provider: PublicProvider,
        configured: &str,
        token: &str,
    ) -> EngineResult<LoginProof> {
        let ids = app_ids(configured);
        let endpoints = self.endpoints_of_type(provider.provider_type(), "v17.0");
        match provider {
            PublicProvider::Google | PublicProvider::Apple => {
                self.verify_public_id_token(provider, &endpoints, ids, token)
                    .await
            }
            PublicProvider::Facebook => self.verify_facebook(&endpoints, &ids, token).await,
            PublicProvider::Amazon => self.verify_amazon(&endpoints, &ids, token).await,
        }
    }

    /// Google and Apple: an ID token signed by the provider, `aud` (or Google's `azp`) one of
    /// the pool's client ids. Google writes `iss` with or without its scheme; both are its.
    async fn verify_public_id_token(
        &self,
        provider: PublicProvider,
        endpoints: &SocialEndpoints,
        client_ids: Vec<String>,
        token: &str,
    ) -> EngineResult<LoginProof> {
        let not_oidc = || invalid("Not a valid OpenId Connect identity token.");
        let unverified = crate::sts::unverified_claims(token).ok_or_else(not_oidc)?;
        let issuer = endpoints.issuer.clone().unwrap_or_default();
        let iss = unverified
            .get("iss")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let accepted = iss == issuer
            || (provider == PublicProvider::Google
                && issuer.strip_prefix("https://") == Some(iss)
                && !iss.is_empty());
        if !accepted {
            return Err(invalid("Issuer doesn't match providerName"));
        }
        let as_oidc = OidcProvider {
            arn: String::new(),
            url: iss.to_string(),
            client_ids,
            thumbprints: Vec::new(),
            created_at: self.now(),
            tags: Vec::new(),
        };
        let verified = self
            .verify_oidc_token_at(&as_oidc, token, endpoints.jwks_uri.as_deref())
            .await
            .map_err(|e| match e {
                OidcTokenError::Malformed => not_oidc(),
                OidcTokenError::Signature => invalid("Couldn't verify signed token."),
                OidcTokenError::Unreachable(why) => unreachable(provider, &why),
                OidcTokenError::Issuer => invalid("Issuer doesn't match providerName"),
                OidcTokenError::Expired { now, exp } => {
                    invalid(&format!("Token expired: {now} >= {exp}"))
                }
                OidcTokenError::NotYetValid => invalid("Token used before issued"),
                OidcTokenError::Audience => unsupported_provider(),
                OidcTokenError::MissingSubject => invalid("Missing a required claim: sub"),
            })?;
        Ok(LoginProof {
            provider: provider.key().to_string(),
            subject: verified.subject,
            client_id: None,
            claims: verified.claims,
        })
    }

    /// Facebook: the Graph API says which app the token was issued to (`/app`) and whose it is
    /// (`/me`).
    async fn verify_facebook(
        &self,
        endpoints: &SocialEndpoints,
        app_ids: &[String],
        token: &str,
    ) -> EngineResult<LoginProof> {
        let provider = PublicProvider::Facebook;
        let root = graph_root(endpoints)
            .ok_or_else(|| unreachable(provider, "no Graph API endpoint configured"))?;
        let app = self
            .answer_of(provider, &format!("{root}/app"), Some(token))
            .await?;
        let app_id = text_of(&app, "id").ok_or_else(|| invalid("Invalid Facebook token."))?;
        if !app_ids.contains(&app_id) {
            return Err(unsupported_provider());
        }
        let me = self
            .answer_of(
                provider,
                &format!("{root}/me?fields=id,name,email"),
                Some(token),
            )
            .await?;
        let user = text_of(&me, "id").ok_or_else(|| invalid("Invalid Facebook token."))?;
        let mut claims = Map::new();
        claims.insert("iss".into(), Value::from(provider.key()));
        claims.insert("aud".into(), Value::from(app_id));
        claims.insert("sub".into(), Value::from(user.clone()));
        claims.insert("id".into(), Value::from(user.clone()));
        for field in ["name", "email"] {
            if let Some(v) = text_of(&me, field) {
                claims.insert(field.into(), Value::from(v));
            }
        }
        Ok(LoginProof {
            provider: provider.key().to_string(),
            subject: user,
            client_id: None,
            claims,
        })
    }

    /// Login with Amazon: its token info names the app (`app_id`, and the client as `aud`) and
    /// the user (`user_id`).
    async fn verify_amazon(
        &self,
        endpoints: &SocialEndpoints,
        app_ids: &[String],
        token: &str,
    ) -> EngineResult<LoginProof> {
        let provider = PublicProvider::Amazon;
        let info_url = amazon_tokeninfo(endpoints)
            .ok_or_else(|| unreachable(provider, "no token endpoint configured"))?;
        let encoded = crate::verification::percent_encode(token);
        let info = self
            .answer_of(
                provider,
                &format!("{info_url}?access_token={encoded}"),
                None,
            )
            .await?;
        let app = text_of(&info, "app_id");
        let aud = text_of(&info, "aud");
        let accepted = [&app, &aud]
            .into_iter()
            .flatten()
            .any(|id| app_ids.contains(id));
        if !accepted {
            return Err(unsupported_provider());
        }
        let user = text_of(&info, "user_id").ok_or_else(|| invalid("Invalid Amazon token."))?;
        let mut claims = Map::new();
        claims.insert("iss".into(), Value::from(provider.key()));
        if let Some(aud) = aud.or(app.clone()) {
            claims.insert("aud".into(), Value::from(aud));
        }
        if let Some(app) = app {
            claims.insert("app_id".into(), Value::from(app));
        }
        claims.insert("sub".into(), Value::from(user.clone()));
        claims.insert("user_id".into(), Value::from(user.clone()));
        Ok(LoginProof {
            provider: provider.key().to_string(),
            subject: user,
            client_id: None,
            claims,
        })
    }

    /// A provider API call (with the user's token as bearer, if given): 2xx gives the answer,
    /// a 4xx means the provider refused the token, anything else is the provider failing.
    async fn answer_of(
        &self,
        provider: PublicProvider,
        url: &str,
        bearer: Option<&str>,
    ) -> EngineResult<Value> {
        let Some(documents) = self.inner.oidc_documents.get() else {
            return Err(unreachable(provider, "this server has no outbound client"));
        };
        let (status, body) = documents
            .get_answer(url, bearer)
            .await
            .map_err(|why| unreachable(provider, &why))?;
        match status {
            200..=299 => Ok(body),
            400..=499 => {
                tracing::info!(
                    provider = provider.key(),
                    status,
                    "provider refused a login token"
                );
                Err(invalid(match provider {
                    PublicProvider::Facebook => "Invalid Facebook token.",
                    PublicProvider::Amazon => "Invalid Amazon token.",
                    _ => "Couldn't verify signed token.",
                }))
            }
            _ => Err(unreachable(provider, &format!("HTTP {status}"))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_and_app_id_lists() {
        assert_eq!(
            PublicProvider::of_key("graph.facebook.com"),
            Some(PublicProvider::Facebook)
        );
        assert_eq!(PublicProvider::of_key("facebook.com"), None);
        assert_eq!(app_ids("a.apps;b;;"), vec!["a.apps", "b"]);
        assert_eq!(app_ids(" a , b"), vec!["a", "b"]);
    }

    #[test]
    fn endpoints_follow_the_overrides() {
        let fb = SocialEndpoints::builtin(ProviderType::Facebook, "v17.0");
        assert_eq!(
            graph_root(&fb).as_deref(),
            Some("https://graph.facebook.com/v17.0")
        );
        let local = SocialEndpoints {
            userinfo_url: Some("http://127.0.0.1:9/me".into()),
            ..Default::default()
        };
        assert_eq!(graph_root(&local).as_deref(), Some("http://127.0.0.1:9"));
        let amazon = SocialEndpoints::builtin(ProviderType::LoginWithAmazon, "");
        assert_eq!(
            amazon_tokeninfo(&amazon).as_deref(),
            Some("https://api.amazon.com/auth/o2/tokeninfo")
        );
    }
}
