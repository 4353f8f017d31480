//! Verifying the tokens in a `Logins` map (cognito-identity reference §1.3).
//!
//! A Tessera user pool's Logins key is its issuer without the scheme, `{host[:port]}/{poolId}`
//! (Cognito's is `cognito-idp.{region}.amazonaws.com/{poolId}`). Its token must be an ID token
//! of that pool: our signature with the pool's ID-token key, `iss` the pool's issuer, `aud` one
//! of the client ids the identity pool lists for that provider, not expired, `token_use` `id`.
//! An external OpenID Connect provider's Logins key is its issuer without the scheme
//! (`login.provider.com`, `127.0.0.1:8080/realm`), its IAM OIDC provider ARN listed in the
//! pool's `OpenIdConnectProviderARNs`; the token is checked by [`crate::federation`]. The public
//! providers (Google, Facebook, Login with Amazon, Sign in with Apple) are checked in
//! [`super::public_logins`]. A SAML provider's key is its IAM ARN (in `SamlProviderARNs`), its
//! value a SAMLResponse for AWS, checked by [`crate::aws_saml`].

use crate::Engine;
use crate::error::{EngineError, EngineResult};
use serde_json::{Map, Value};
use tessera_domain::identity::IdentityPool;
use tessera_domain::{DomainError, UserPoolId};
use tessera_store::KeyUse;

/// A verified login: the provider (the Logins key), who it vouches for, and its claims.
#[derive(Clone, Debug)]
pub struct LoginProof {
    pub provider: String,
    pub subject: String,
    /// The app client the token was issued to (`aud`), for `{provider}:{client}` role mappings.
    pub client_id: Option<String>,
    pub claims: Map<String, Value>,
}

impl LoginProof {
    /// The key of this login's role mapping: `{provider}:{clientId}` for user pools.
    pub fn mapping_key(&self) -> String {
        match &self.client_id {
            Some(c) => format!("{}:{c}", self.provider),
            None => self.provider.clone(),
        }
    }
}

pub(crate) fn invalid(detail: &str) -> EngineError {
    DomainError::not_authorized(format!("Invalid login token. {detail}")).into()
}

pub(crate) fn logins_dont_match() -> EngineError {
    DomainError::not_authorized(
        "Logins don't match. Please include at least one valid login for this identity or identity pool.",
    )
    .into()
}

pub(crate) fn unsupported_provider() -> EngineError {
    DomainError::not_authorized("Token is not from a supported provider of this identity pool.")
        .into()
}

impl Engine {
    /// The issuer base without its scheme: the host part of user-pool Logins keys.
    pub fn login_key_base(&self) -> &str {
        let base = self.inner.settings.issuer_base.as_str();
        base.split_once("://").map(|(_, rest)| rest).unwrap_or(base)
    }

    /// The Logins key of a Tessera user pool: `{public host}/{poolId}`.
    pub fn user_pool_login_key(&self, pool: &UserPoolId) -> String {
        format!("{}/{pool}", self.login_key_base())
    }

    /// Verifies every login; all must be valid.
    pub(crate) async fn verify_logins(
        &self,
        pool: &IdentityPool,
        logins: &std::collections::BTreeMap<String, String>,
    ) -> EngineResult<Vec<LoginProof>> {
        let mut proofs = Vec::with_capacity(logins.len());
        for (key, token) in logins {
            proofs.push(self.verify_login(pool, key, token).await?);
        }
        Ok(proofs)
    }

    /// A login of an external OIDC provider the pool lists (its IAM provider ARN in
    /// `OpenIdConnectProviderARNs`, the key its issuer without the scheme).
    async fn verify_oidc_login(
        &self,
        arn: &str,
        key: &str,
        token: &str,
    ) -> EngineResult<LoginProof> {
        use crate::federation::OidcTokenError as E;
        let Some(provider) = self.oidc_provider(arn).await? else {
            return Err(unsupported_provider());
        };
        let verified = self
            .verify_oidc_token(&provider, token)
            .await
            .map_err(|e| match e {
                E::Malformed | E::Signature | E::Unreachable(_) => {
                    invalid("Couldn't verify signed token.")
                }
                E::Issuer => invalid("Issuer doesn't match providerName"),
                E::Expired { now, exp } => invalid(&format!("Token expired: {now} >= {exp}")),
                E::NotYetValid => invalid("Token used before issued"),
                E::Audience => unsupported_provider(),
                E::MissingSubject => invalid("Missing a required claim: sub"),
            })?;
        Ok(LoginProof {
            provider: key.to_string(),
            subject: verified.subject,
            client_id: None,
            claims: verified.claims,
        })
    }

    /// A SAML login: the Logins key is the IAM SAML provider's ARN (listed in the pool's
    /// `SamlProviderARNs`), the value the IdP's base64 SAMLResponse addressed to AWS
    /// ([`crate::aws_saml`]). The assertion's NameID is the subject; its attributes are the
    /// claims rules see; its Role attribute offers the roles ([`super::credentials`]).
    async fn verify_saml_login(&self, arn: &str, response: &str) -> EngineResult<LoginProof> {
        use crate::aws_saml::AwsSamlRefusal as R;
        use tessera_saml::Refusal;
        let assertion = match self.verify_aws_saml(arn, response).await? {
            Ok(a) => a,
            Err(R::NoProvider) => return Err(unsupported_provider()),
            Err(R::ProviderExpired) => return Err(invalid("SAML provider metadata has expired.")),
            Err(R::Refused(Refusal::Expired(_))) => {
                return Err(invalid("SAML assertion expired or not yet valid."));
            }
            Err(R::Refused(Refusal::Signature(_))) => {
                return Err(invalid("Couldn't verify signed SAML response."));
            }
            Err(R::Refused(Refusal::Issuer(_))) => {
                return Err(invalid("Issuer doesn't match providerName"));
            }
            Err(R::Refused(_)) => return Err(invalid("Invalid SAML response.")),
        };
        Ok(LoginProof {
            provider: arn.to_string(),
            subject: assertion.verified.name_id.clone(),
            client_id: None,
            claims: assertion.claims(arn),
        })
    }

    async fn verify_login(
        &self,
        pool: &IdentityPool,
        key: &str,
        token: &str,
    ) -> EngineResult<LoginProof> {
        let user_pool = key
            .strip_prefix(self.login_key_base())
            .and_then(|rest| rest.strip_prefix('/'))
            .and_then(|id| UserPoolId::parse(id).ok());
        let clients = pool.clients_of(key);
        let Some(user_pool) = user_pool else {
            if let Some(public) = super::public_logins::PublicProvider::of_key(key) {
                let Some(app_ids) = pool.config.supported_login_providers.get(key) else {
                    return Err(logins_dont_match());
                };
                return self.verify_public_login(public, app_ids, token).await;
            }
            if pool.config.supported_login_providers.contains_key(key)
                || key == crate::identity::credentials::IDENTITY_POOL_PROVIDER
            {
                return self.verify_identity_pool_login(pool, key, token).await;
            }
            if let Some(arn) = oidc_provider_arn_for(pool, key) {
                return self.verify_oidc_login(arn, key, token).await;
            }
            if pool.config.saml_provider_arns.iter().any(|a| a == key) {
                return self.verify_saml_login(key, token).await;
            }
            return Err(logins_dont_match());
        };
        if clients.is_empty() {
            return Err(logins_dont_match());
        }
        let couldnt_verify = || invalid("Couldn't verify signed token.");
        let kid = tessera_crypto::jwt::kid_of(token).ok_or_else(couldnt_verify)?;
        let keys = match self.pool_keys_for(&user_pool, &kid).await {
            Ok(k) => k,
            Err(EngineError::Client(_)) => return Err(couldnt_verify()),
            Err(e) => return Err(e),
        };
        // An access token verifies with the pool's access key, and then lacks `aud`, which is
        // what Cognito tells a client that sent one.
        let jwk = keys
            .public_key(&kid, KeyUse::Id)
            .or_else(|| keys.public_key(&kid, KeyUse::Access))
            .ok_or_else(couldnt_verify)?;
        let claims = tessera_crypto::jwt::verify(token, jwk).map_err(|_| couldnt_verify())?;
        let text = |name: &str| claims.get(name).and_then(Value::as_str);
        if text("iss") != Some(self.issuer(&user_pool).as_str()) {
            return Err(invalid("Issuer doesn't match providerName"));
        }
        let Some(aud) = text("aud").filter(|_| text("token_use") == Some("id")) else {
            return Err(invalid("Missing a required claim: aud"));
        };
        let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
        let now = self.now().secs();
        if now >= exp {
            return Err(invalid(&format!("Token expired: {now} >= {exp}")));
        }
        if !clients.contains(&aud) {
            return Err(unsupported_provider());
        }
        let subject = text("sub")
            .ok_or_else(|| invalid("Missing a required claim: sub"))?
            .to_string();
        Ok(LoginProof {
            provider: key.to_string(),
            subject,
            client_id: Some(aud.to_string()),
            claims,
        })
    }
}

/// The IAM OIDC provider ARN among the pool's `OpenIdConnectProviderARNs` whose host/path is
/// `key`.
fn oidc_provider_arn_for<'a>(pool: &'a IdentityPool, key: &str) -> Option<&'a str> {
    pool.config
        .open_id_connect_provider_arns
        .iter()
        .find(|a| {
            a.split_once(":oidc-provider/")
                .is_some_and(|(_, host)| host == key)
        })
        .map(String::as_str)
}
