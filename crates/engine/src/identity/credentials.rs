//! GetCredentialsForIdentity (the enhanced flow) and the look-up STS does to authenticate the
//! credentials it issued.
//!
//! Credentials are real: an `ASIA…` access key id, a random 40-character secret stored sealed
//! with the master key, and a random session token stored only as its hash, bound to the key
//! id. They last an hour, live in the store (any node validates them), and go with their
//! identity or pool when either is deleted.

use super::LoginProof;
use super::identities::forbidden;
use super::logins::logins_dont_match;
use crate::Engine;
use crate::error::{EngineError, EngineResult, on_conflict};
use std::collections::BTreeMap;
use tessera_domain::identity::{
    Identity, IdentityPool, RoleChoice, SESSION_NAME, SessionGrant, StsSession,
    guest_session_policy, role_name,
};
use tessera_domain::{DomainError, ErrorKind, Timestamp};
use tessera_store::Conflict;
use zeroize::Zeroizing;

/// The Logins key of tokens an identity pool issued itself (GetOpenIdToken…).
pub(crate) const IDENTITY_POOL_PROVIDER: &str = "cognito-identity.amazonaws.com";

/// Enhanced-flow credentials last one hour (cognito developer guide, "concepts").
const LIFETIME: std::time::Duration = std::time::Duration::from_secs(3600);

const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const SECRET_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// What GetCredentialsForIdentity hands out (the only time the secret and token exist in the
/// clear).
pub struct IssuedCredentials {
    pub identity_id: String,
    pub access_key_id: String,
    pub secret_key: Zeroizing<String>,
    pub session_token: Zeroizing<String>,
    pub expiration: Timestamp,
}

/// A caller authenticated by STS credentials Tessera issued.
pub struct StsCaller {
    pub secret: Zeroizing<String>,
    pub grant: SessionGrant,
    /// The identity the credentials were issued to, and its pool (Cognito Sync scopes by them).
    pub identity_id: tessera_domain::identity::IdentityId,
    pub pool_id: tessera_domain::identity::IdentityPoolId,
}

/// Why STS credentials were refused, in STS's terms.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum StsRefusal {
    /// No such key id (STS: InvalidClientTokenId).
    UnknownKey,
    /// The session token is missing or isn't this key's (STS: InvalidClientTokenId).
    BadToken,
    /// STS: ExpiredToken.
    Expired,
}

pub(crate) fn sealing_purpose(access_key_id: &str) -> String {
    format!("sts-secret:{access_key_id}")
}

fn invalid_pool_configuration() -> EngineError {
    DomainError::new(
        ErrorKind::InvalidIdentityPoolConfiguration,
        "Invalid identity pool configuration. Check assigned IAM roles for this pool.",
    )
    .into()
}

impl Engine {
    /// GetCredentialsForIdentity.
    pub async fn get_credentials_for_identity(
        &self,
        identity_id: &str,
        logins: &BTreeMap<String, String>,
        custom_role_arn: Option<&str>,
    ) -> EngineResult<IssuedCredentials> {
        let (identity, pool) = {
            let mut tx = self.inner.store.read().await?;
            let identity = self.load_identity(&mut *tx, identity_id).await?;
            let pool = self.load_identity_pool(&mut *tx, &identity.pool_id).await?;
            (identity, pool)
        };
        if identity.disabled {
            return Err(forbidden(&identity.id).into());
        }
        let verified = self.verify_logins(&pool, logins).await?;
        // An identity-pool token proves the identity it names; an authenticated one stands for
        // the logins the identity has.
        let own_token = verified
            .iter()
            .any(|p| p.provider == IDENTITY_POOL_PROVIDER);
        let proofs = self.own_tokens_name(&identity, verified)?;
        if proofs.is_empty() && own_token && identity.is_authenticated() {
            return self
                .issue_credentials(identity, pool, custom_role_arn, Vec::new(), true)
                .await;
        }
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
        }
        self.issue_credentials(identity, pool, custom_role_arn, proofs, false)
            .await
    }

    /// Chooses the role, then mints, stores and returns credentials. `by_own_token`: the
    /// caller proved an authenticated identity with one of the pool's own OpenID tokens (no
    /// provider claims, so the pool's authenticated role).
    async fn issue_credentials(
        &self,
        mut identity: Identity,
        pool: IdentityPool,
        custom_role_arn: Option<&str>,
        proofs: Vec<LoginProof>,
        by_own_token: bool,
    ) -> EngineResult<IssuedCredentials> {
        let (role_arn, amr, session_policy, principal_tags) = match proofs.first() {
            None if by_own_token => {
                let role = pool
                    .config
                    .roles
                    .get("authenticated")
                    .cloned()
                    .ok_or_else(invalid_pool_configuration)?;
                (
                    role,
                    super::openid::amr_of(&identity),
                    None,
                    BTreeMap::new(),
                )
            }
            None => {
                let role = pool
                    .config
                    .roles
                    .get("unauthenticated")
                    .cloned()
                    .ok_or_else(invalid_pool_configuration)?;
                (
                    role,
                    vec!["unauthenticated".to_string()],
                    Some(guest_session_policy()),
                    BTreeMap::new(),
                )
            }
            Some(first) => {
                let role = choose_role(&pool, first, custom_role_arn)?;
                let mut amr = vec!["authenticated".to_string()];
                for p in &proofs {
                    amr.push(p.provider.clone());
                    amr.push(format!("{}:CognitoSignIn:{}", p.provider, p.subject));
                }
                let tags = pool
                    .config
                    .principal_tag_maps
                    .get(&first.provider)
                    .map(|m| m.tags_from(&first.claims))
                    .unwrap_or_default();
                (role, amr, None, tags)
            }
        };
        // The role must exist in IAM and trust this pool (crate::sts).
        let Some(role) = self
            .role_trusting_identity_pool(
                &role_arn,
                pool.id.as_str(),
                identity.id.as_str(),
                &amr,
                !principal_tags.is_empty(),
            )
            .await?
        else {
            return Err(invalid_pool_configuration());
        };

        let now = self.now();
        let access_key_id = format!("ASIA{}", tessera_crypto::random::string_from(BASE32, 16));
        let secret = Zeroizing::new(tessera_crypto::random::string_from(SECRET_ALPHABET, 40));
        let token = Zeroizing::new(tessera_crypto::random::token(96));
        let account = &self.inner.settings.account_id;
        let session = StsSession {
            access_key_id: access_key_id.clone(),
            sealed_secret: self
                .inner
                .master
                .seal(&sealing_purpose(&access_key_id), secret.as_bytes()),
            token_hash: tessera_crypto::token_hash(&token),
            identity_id: identity.id.clone(),
            pool_id: pool.id.clone(),
            issued_at: now,
            expires_at: now.plus(LIFETIME),
            grant: SessionGrant {
                principal_arn: format!(
                    "arn:aws:sts::{account}:assumed-role/{}/{SESSION_NAME}",
                    role_name(&role_arn)
                ),
                user_id: format!("{}:{SESSION_NAME}", role.id),
                role_arn,
                amr,
                session_policy,
                principal_tags,
            },
        };
        let mut tx = self.inner.store.begin().await?;
        // Link logins the identity doesn't have yet (a guest signing in keeps its id).
        self.link_logins(&mut *tx, &mut identity, &proofs).await?;
        tx.insert_sts_session(&session).await.map_err(|e| {
            on_conflict(e, |c| {
                (*c == Conflict::AccessKey)
                    .then(|| DomainError::new(ErrorKind::ConcurrentModification, "Please retry."))
            })
        })?;
        tx.commit().await?;
        Ok(IssuedCredentials {
            identity_id: identity.id.to_string(),
            access_key_id,
            secret_key: secret,
            session_token: token,
            expiration: session.expires_at,
        })
    }

    /// The STS session an access key id names, checked against the session token the request
    /// carried: the secret to verify its signature with, and who it is.
    pub async fn sts_caller(
        &self,
        access_key_id: &str,
        session_token: Option<&str>,
    ) -> EngineResult<Result<StsCaller, StsRefusal>> {
        let session = {
            let mut tx = self.inner.store.read().await?;
            tx.get_sts_session(access_key_id).await?
        };
        let Some(session) = session else {
            return Ok(Err(StsRefusal::UnknownKey));
        };
        let presented = session_token.map(tessera_crypto::token_hash);
        if !presented.is_some_and(|h| tessera_crypto::constant_time_eq(&h, &session.token_hash)) {
            return Ok(Err(StsRefusal::BadToken));
        }
        if self.now() >= session.expires_at {
            return Ok(Err(StsRefusal::Expired));
        }
        let secret = self
            .inner
            .master
            .open(&sealing_purpose(access_key_id), &session.sealed_secret)
            .map_err(|_| {
                EngineError::Internal(format!(
                    "the secret of {access_key_id} can't be opened: is the master key the one it was sealed with?"
                ))
            })?;
        let secret = Zeroizing::new(String::from_utf8_lossy(&secret).into_owned());
        Ok(Ok(StsCaller {
            secret,
            grant: session.grant,
            identity_id: session.identity_id,
            pool_id: session.pool_id,
        }))
    }

    /// Tokens from the identity pool itself (`cognito-identity.amazonaws.com`) are verified;
    /// public providers (Google, Facebook …) can't be yet.
    pub(crate) async fn verify_identity_pool_login(
        &self,
        pool: &IdentityPool,
        key: &str,
        token: &str,
    ) -> EngineResult<LoginProof> {
        if key == IDENTITY_POOL_PROVIDER {
            return self.verify_own_open_id(pool, key, token).await;
        }
        Err(DomainError::not_authorized(format!(
            "Invalid login token. Tessera can't verify tokens from {} yet.",
            key.chars().take(128).collect::<String>()
        ))
        .into())
    }
}

/// A SAML login's role without a role mapping, as Cognito's SAML guide says: the assertion's
/// Role attribute offers the roles; `CustomRoleArn` picks one of them (and must), unless there
/// is only one. `None` when the assertion offers none (the pool's authenticated role then).
fn saml_role(proof: &LoginProof, custom_role_arn: Option<&str>) -> Option<EngineResult<String>> {
    let offered: Vec<&str> = proof
        .claims
        .get("cognito:roles")
        .and_then(serde_json::Value::as_array)
        .map(|a| a.iter().filter_map(serde_json::Value::as_str).collect())
        .unwrap_or_default();
    let refused = |message: &str| Some(Err(DomainError::not_authorized(message).into()));
    match (offered.as_slice(), custom_role_arn) {
        ([], None) => None,
        (_, Some(custom)) if offered.contains(&custom) => Some(Ok(custom.to_string())),
        (_, Some(_)) => refused("CustomRoleArn is not one of the roles in the SAML assertion."),
        ([only], None) => Some(Ok((*only).to_string())),
        (_, None) => refused(
            "The SAML assertion offers several roles: choose one of them with CustomRoleArn.",
        ),
    }
}

/// The role of an authenticated identity: its provider's role mapping, else (SAML) the role
/// its assertion offers, else the pool's authenticated role.
fn choose_role(
    pool: &IdentityPool,
    proof: &LoginProof,
    custom_role_arn: Option<&str>,
) -> EngineResult<String> {
    let authenticated = || {
        pool.config
            .roles
            .get("authenticated")
            .cloned()
            .ok_or_else(invalid_pool_configuration)
    };
    let Some(mapping) = pool.config.role_mappings.get(&proof.mapping_key()) else {
        if proof.provider.contains(":saml-provider/") {
            return saml_role(proof, custom_role_arn).unwrap_or_else(authenticated);
        }
        return authenticated();
    };
    match mapping.resolve(&proof.claims, custom_role_arn) {
        RoleChoice::Role(role) => Ok(role),
        RoleChoice::AuthenticatedRole => authenticated(),
        RoleChoice::Deny => Err(DomainError::not_authorized(
            "The ambiguous role mapping rules denied this request",
        )
        .into()),
    }
}
