//! STS role assumption: AssumeRoleWithWebIdentity and AssumeRole.
//!
//! Both evaluate the role's trust policy with `tessera-policy` and issue real credentials: an
//! `ASIA…` key id, a random secret sealed with the master key, a random session token stored as
//! its hash ([`RoleSession`]), found again by [`Engine::role_session_caller`] when a request is
//! signed with them.
//!
//! Web identity tokens are verified for real, by issuer:
//! - an identity pool's OpenID token (GetOpenIdToken, issuer `{public url}/cognito-identity`):
//!   Tessera's identity-pool key, principal
//!   `cognito-identity.amazonaws.com`, keys `cognito-identity.amazonaws.com:{aud,sub,amr}`;
//! - an ID token of one of Tessera's user pools: the pool's ID-token key; as in AWS, an IAM OIDC
//!   provider must be registered for the issuer, and `aud` must be one of its client ids;
//!   principal the provider's ARN, keys `{issuer host/path}:{aud,sub}`.
//!
//! - an ID token of any other provider registered in IAM (CreateOpenIDConnectProvider): its keys
//!   fetched from the provider ([`crate::federation`]), `azp`/`aud` one of the provider's client
//!   ids; principal the provider's ARN, keys `{issuer host/path}:{aud,sub}`.

use crate::Engine;
use crate::error::{EngineError, EngineResult, on_conflict};
use crate::iam::{load_role, parse_policy};
use serde_json::{Map, Value};
use std::collections::BTreeMap;
use tessera_domain::iam::{self, Role, RoleSession};
use tessera_domain::identity::SessionGrant;
use tessera_domain::{DomainError, ErrorKind, Timestamp, UserPoolId};
use tessera_policy::{Policy, PolicyKind};
use tessera_policy::{Principal, RequestContext, SourcedPolicy, evaluate_trust};
use tessera_store::{Conflict, KeyUse};
use zeroize::Zeroizing;

const BASE32: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const SECRET_ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
/// The default session length, and the cap for role chaining.
const DEFAULT_DURATION: i64 = 3600;
const MIN_DURATION: i64 = 900;
/// STS's limit on an inline session policy (plain characters).
const MAX_SESSION_POLICY: usize = 2048;

/// Who signed an AssumeRole call.
#[derive(Clone, Debug)]
pub enum StsCallerIdentity {
    /// The deployment's root credentials.
    Root,
    /// A role session Tessera issued (role chaining).
    Session(SessionGrant),
}

/// The parts of an AssumeRole* request they share.
#[derive(Clone, Debug, Default)]
pub struct AssumeRoleInput {
    pub role_arn: String,
    pub session_name: String,
    pub duration_seconds: Option<i64>,
    /// An inline session policy.
    pub policy: Option<String>,
    /// Managed session policies (`PolicyArns`).
    pub policy_arns: Vec<String>,
    pub external_id: Option<String>,
}

/// Issued credentials and who they are.
pub struct AssumedRole {
    pub access_key_id: String,
    pub secret_access_key: Zeroizing<String>,
    pub session_token: Zeroizing<String>,
    pub expiration: Timestamp,
    /// `arn:aws:sts::{account}:assumed-role/{role}/{session}`.
    pub assumed_role_arn: String,
    /// `{roleId}:{session}`.
    pub assumed_role_id: String,
    /// Web identity only: the token's `sub`, `aud` and issuer.
    pub subject: Option<String>,
    pub audience: Option<String>,
    pub provider: Option<String>,
    /// Percentage of the session policy limit used, when a session policy was passed.
    pub packed_policy_size: Option<u32>,
    /// AssumeRoleWithSAML only: what the assertion said.
    pub saml: Option<SamlSubject>,
}

/// What AssumeRoleWithSAML answers about the assertion (`subject` and `audience` are in
/// [`AssumedRole`]).
#[derive(Clone, Debug)]
pub struct SamlSubject {
    pub subject_type: String,
    pub issuer: String,
    pub name_qualifier: String,
    pub source_identity: Option<String>,
}

/// AssumeRoleWithSAML's input.
#[derive(Clone, Debug, Default)]
pub struct AssumeRoleWithSamlInput {
    pub role_arn: String,
    pub principal_arn: String,
    pub saml_assertion: String,
    pub duration_seconds: Option<i64>,
    pub policy: Option<String>,
    pub policy_arns: Vec<String>,
}

/// A verified web identity token, as the trust policy sees it.
struct WebIdentity {
    principal: String,
    key_prefix: String,
    subject: String,
    audience: String,
    amr: Option<Vec<String>>,
    provider: String,
}

fn validation(message: impl Into<String>) -> EngineError {
    DomainError::new(ErrorKind::IamValidationError, message).into()
}

fn invalid_token(message: impl Into<String>) -> EngineError {
    DomainError::new(ErrorKind::IamInvalidIdentityToken, message).into()
}

fn access_denied(message: impl Into<String>) -> EngineError {
    DomainError::new(ErrorKind::IamAccessDenied, message).into()
}

pub(crate) fn sealing_purpose(access_key_id: &str) -> String {
    format!("sts-role-secret:{access_key_id}")
}

/// RoleSessionName: 2–64 characters of `[\w+=,.@-]`.
fn check_session_name(name: &str) -> EngineResult<()> {
    let n = name.chars().count();
    if !(2..=64).contains(&n) {
        return Err(validation(format!(
            "1 validation error detected: Value '{name}' at 'roleSessionName' failed to satisfy constraint: Member must have length {}",
            if n < 2 {
                "greater than or equal to 2"
            } else {
                "less than or equal to 64"
            }
        )));
    }
    if !name
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || "_+=,.@-".contains(c))
    {
        return Err(validation(format!(
            "1 validation error detected: Value '{name}' at 'roleSessionName' failed to satisfy constraint: Member must satisfy regular expression pattern: [\\w+=,.@-]*"
        )));
    }
    Ok(())
}

fn check_duration(requested: Option<i64>, role: &Role, cap: Option<i64>) -> EngineResult<i64> {
    let d = requested.unwrap_or(DEFAULT_DURATION);
    if d < MIN_DURATION {
        return Err(validation(format!(
            "1 validation error detected: Value '{d}' at 'durationSeconds' failed to satisfy constraint: Member must have value greater than or equal to {MIN_DURATION}"
        )));
    }
    if d > i64::from(iam::MAX_SESSION_DURATION) {
        return Err(validation(format!(
            "1 validation error detected: Value '{d}' at 'durationSeconds' failed to satisfy constraint: Member must have value less than or equal to {}",
            iam::MAX_SESSION_DURATION
        )));
    }
    if let Some(cap) = cap
        && d > cap
    {
        return Err(validation(
            "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
        ));
    }
    if d > i64::from(role.max_session_duration) {
        return Err(validation(
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
        ));
    }
    Ok(d)
}

pub(crate) use tessera_crypto::jwt::unverified_claims;

fn text<'a>(claims: &'a Map<String, Value>, name: &str) -> Option<&'a str> {
    claims.get(name).and_then(Value::as_str)
}

/// `aud` may be a string or a list.
fn audiences(claims: &Map<String, Value>) -> Vec<String> {
    match claims.get("aud") {
        Some(Value::String(s)) => vec![s.clone()],
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(|v| v.as_str().map(str::to_string))
            .collect(),
        _ => Vec::new(),
    }
}

impl Engine {
    /// The role an ARN names, if it is one of this account's and exists.
    async fn role_of_arn(&self, arn: &str) -> EngineResult<Option<Role>> {
        let Some(name) = iam::role_name_from_arn(&self.inner.settings.account_id, arn) else {
            return Ok(None);
        };
        let mut tx = self.inner.store.read().await?;
        match load_role(&mut *tx, name).await {
            Ok(role) if role.arn == arn => Ok(Some(role)),
            Ok(_) => Ok(None),
            Err(EngineError::Client(_)) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// The enhanced flow's trust check (GetCredentialsForIdentity assumes the role for the
    /// identity as AssumeRoleWithWebIdentity would): the role, if it exists and its trust
    /// policy lets `cognito-identity.amazonaws.com` assume it with this pool's `aud`, the
    /// identity's `sub` and `amr` — and, when the session carries principal tags, also
    /// `sts:TagSession` (identity-pools reference §1.9). `None` otherwise (Cognito's
    /// InvalidIdentityPoolConfigurationException).
    pub(crate) async fn role_trusting_identity_pool(
        &self,
        role_arn: &str,
        pool_id: &str,
        identity_id: &str,
        amr: &[String],
        tagged: bool,
    ) -> EngineResult<Option<Role>> {
        let Some(role) = self.role_of_arn(role_arn).await? else {
            return Ok(None);
        };
        let Ok(trust) = Policy::parse(&role.trust_policy, PolicyKind::Trust) else {
            return Ok(None);
        };
        let now = self.now().millis();
        let mut actions = vec!["sts:AssumeRoleWithWebIdentity"];
        if tagged {
            actions.push("sts:TagSession");
        }
        for action in actions {
            let request = RequestContext::new(action, role.arn.as_str())
                .with_principal(Principal::Federated(
                    "cognito-identity.amazonaws.com".into(),
                ))
                .with_request_time(now)
                .with_key("cognito-identity.amazonaws.com:aud", pool_id)
                .with_key("cognito-identity.amazonaws.com:sub", identity_id)
                .with_multi_key("cognito-identity.amazonaws.com:amr", amr.iter().cloned());
            if !evaluate_trust(&request, SourcedPolicy::new("trust", &trust)).is_allowed() {
                return Ok(None);
            }
        }
        Ok(Some(role))
    }

    /// AssumeRoleWithWebIdentity (unsigned: the token is the credential).
    pub async fn assume_role_with_web_identity(
        &self,
        input: AssumeRoleInput,
        token: &str,
    ) -> EngineResult<AssumedRole> {
        const DENIED: &str = "Not authorized to perform sts:AssumeRoleWithWebIdentity";
        check_session_name(&input.session_name)?;
        let session_policy = self.session_policy(&input).await?;
        let web = self.verify_web_identity(token).await?;
        let role = self
            .role_of_arn(&input.role_arn)
            .await?
            .ok_or_else(|| access_denied(DENIED))?;
        let duration = check_duration(input.duration_seconds, &role, None)?;
        let trust = parse_policy(&role.trust_policy, PolicyKind::Trust)?;
        let p = &web.key_prefix;
        let mut request = RequestContext::new("sts:AssumeRoleWithWebIdentity", role.arn.as_str())
            .with_principal(Principal::Federated(web.principal.clone()))
            .with_request_time(self.now().millis())
            .with_key(&format!("{p}:aud"), web.audience.as_str())
            .with_key(&format!("{p}:sub"), web.subject.as_str());
        if let Some(amr) = &web.amr {
            request = request.with_multi_key(&format!("{p}:amr"), amr.iter().cloned());
        }
        if !evaluate_trust(&request, SourcedPolicy::new("trust", &trust)).is_allowed() {
            return Err(access_denied(DENIED));
        }
        let mut assumed = self
            .issue_role_session(
                &role,
                &input.session_name,
                duration,
                session_policy,
                web.amr.clone().unwrap_or_default(),
                BTreeMap::new(),
            )
            .await?;
        assumed.subject = Some(web.subject);
        assumed.audience = Some(web.audience);
        assumed.provider = Some(web.provider);
        Ok(assumed)
    }

    /// AssumeRoleWithSAML (unsigned: the IdP's signed assertion is the credential). The
    /// assertion is checked by [`crate::aws_saml`]; the role must be one its Role attribute
    /// pairs with `PrincipalArn`, and the role's trust policy must let that SAML provider
    /// assume it with the assertion's `SAML:*` keys (and tag the session when it carries
    /// `PrincipalTag` attributes). The session name is the assertion's RoleSessionName.
    pub async fn assume_role_with_saml(
        &self,
        input: AssumeRoleWithSamlInput,
    ) -> EngineResult<AssumedRole> {
        use crate::aws_saml::AwsSamlRefusal as R;
        use tessera_saml::Refusal;
        const DENIED: &str = "Not authorized to perform sts:AssumeRoleWithSAML";
        let shared = AssumeRoleInput {
            role_arn: input.role_arn.clone(),
            policy: input.policy.clone(),
            policy_arns: input.policy_arns.clone(),
            ..AssumeRoleInput::default()
        };
        let session_policy = self.session_policy(&shared).await?;
        let assertion = match self
            .verify_aws_saml(&input.principal_arn, &input.saml_assertion)
            .await?
        {
            Ok(a) => a,
            Err(R::NoProvider) => return Err(invalid_token("Specified provider doesn't exist")),
            Err(R::ProviderExpired) => {
                return Err(invalid_token("Specified provider's metadata has expired"));
            }
            Err(R::Refused(r)) => {
                return Err(match r {
                    Refusal::Expired(_) => DomainError::new(
                        ErrorKind::IamExpiredToken,
                        "Token must be redeemed within 5 minutes of issuance",
                    )
                    .into(),
                    Refusal::Signature(_) => invalid_token("Response signature invalid"),
                    Refusal::Issuer(_) => invalid_token("Issuer not present in specified provider"),
                    Refusal::Audience(_) => invalid_token("Invalid audience in SAML response"),
                    Refusal::Destination(_) => {
                        invalid_token("Invalid destination or recipient in SAML response")
                    }
                    Refusal::Status(_) => invalid_token("SAML response status is not Success"),
                    Refusal::Encryption(_) => {
                        invalid_token("Encrypted assertions are not supported by this provider")
                    }
                    _ => invalid_token("Invalid SAML response"),
                });
            }
        };
        let session_name = assertion
            .session_name
            .clone()
            .filter(|n| check_session_name(n).is_ok())
            .ok_or_else(|| {
                invalid_token(
                    "RoleSessionName in AuthnResponse must match [a-zA-Z_0-9+=,.@-]{2,64}",
                )
            })?;
        if !assertion
            .roles_for(&input.principal_arn)
            .contains(&input.role_arn)
        {
            return Err(access_denied(DENIED));
        }
        let role = self
            .role_of_arn(&input.role_arn)
            .await?
            .ok_or_else(|| access_denied(DENIED))?;
        let requested = match input.duration_seconds {
            Some(d) => Some(d),
            None => assertion
                .session_duration
                .as_deref()
                .and_then(|d| d.trim().parse::<i64>().ok())
                .map(|d| d.clamp(MIN_DURATION, i64::from(role.max_session_duration))),
        };
        let duration = check_duration(requested, &role, None)?;
        let trust = parse_policy(&role.trust_policy, PolicyKind::Trust)?;
        let account = self.inner.settings.account_id.clone();
        let mut actions = vec!["sts:AssumeRoleWithSAML"];
        if !assertion.principal_tags.is_empty() {
            actions.push("sts:TagSession");
        }
        if assertion.source_identity.is_some() {
            actions.push("sts:SetSourceIdentity");
        }
        for action in actions {
            let mut request = RequestContext::new(action, role.arn.as_str())
                .with_principal(Principal::Federated(input.principal_arn.clone()))
                .with_request_time(self.now().millis());
            for (key, values) in assertion.condition_keys(&account) {
                // An attribute with one value is a single-valued key; several, multivalued.
                request = match <[String; 1]>::try_from(values) {
                    Ok([one]) => request.with_key(&key, one),
                    Err(values) => request.with_multi_key(&key, values),
                };
            }
            for (k, v) in &assertion.principal_tags {
                request = request.with_key(&format!("aws:RequestTag/{k}"), v.as_str());
            }
            if !evaluate_trust(&request, SourcedPolicy::new("trust", &trust)).is_allowed() {
                return Err(access_denied(DENIED));
            }
        }
        let mut assumed = self
            .issue_role_session(
                &role,
                &session_name,
                duration,
                session_policy,
                Vec::new(),
                assertion.principal_tags.clone(),
            )
            .await?;
        tracing::info!(target: "audit", provider = %input.principal_arn, role = %role.arn, subject = %assertion.verified.name_id, "AssumeRoleWithSAML");
        assumed.subject = Some(assertion.verified.name_id.clone());
        assumed.audience = Some(assertion.verified.recipient.clone());
        assumed.saml = Some(SamlSubject {
            subject_type: assertion.subject_type(),
            issuer: assertion.verified.issuer.clone(),
            name_qualifier: assertion.name_qualifier(&account),
            source_identity: assertion.source_identity.clone(),
        });
        Ok(assumed)
    }

    /// AssumeRole, signed by the root credentials or by a role session (role chaining: the
    /// session's own policies must allow `sts:AssumeRole` on the role, and the new session
    /// lasts at most an hour).
    pub async fn assume_role(
        &self,
        caller: &StsCallerIdentity,
        input: AssumeRoleInput,
    ) -> EngineResult<AssumedRole> {
        check_session_name(&input.session_name)?;
        let session_policy = self.session_policy(&input).await?;
        let account = self.inner.settings.account_id.clone();
        let caller_arn = match caller {
            StsCallerIdentity::Root => format!("arn:aws:iam::{account}:root"),
            StsCallerIdentity::Session(g) => g.principal_arn.clone(),
        };
        let denied = || {
            access_denied(format!(
                "User: {caller_arn} is not authorized to perform: sts:AssumeRole on resource: {}",
                input.role_arn
            ))
        };
        let role = self
            .role_of_arn(&input.role_arn)
            .await?
            .ok_or_else(denied)?;
        let cap = matches!(caller, StsCallerIdentity::Session(_)).then_some(DEFAULT_DURATION);
        let duration = check_duration(input.duration_seconds, &role, cap)?;
        let mut request = RequestContext::new("sts:AssumeRole", role.arn.as_str())
            .with_principal(Principal::Aws(caller_arn.clone()))
            .with_request_time(self.now().millis())
            .with_key("aws:PrincipalArn", caller_arn.as_str())
            .with_key("aws:PrincipalAccount", account.as_str());
        if let Some(e) = &input.external_id {
            request = request.with_key("sts:ExternalId", e.as_str());
        }
        let trust = parse_policy(&role.trust_policy, PolicyKind::Trust)?;
        if !evaluate_trust(&request, SourcedPolicy::new("trust", &trust)).is_allowed() {
            return Err(denied());
        }
        if let StsCallerIdentity::Session(grant) = caller
            && !self.session_allows(grant, &request).await?
        {
            return Err(denied());
        }
        self.issue_role_session(
            &role,
            &input.session_name,
            duration,
            session_policy,
            Vec::new(),
            BTreeMap::new(),
        )
        .await
    }

    /// Whether a role session's permissions (its role's policies, within its session policy)
    /// allow a request.
    async fn session_allows(
        &self,
        grant: &SessionGrant,
        request: &RequestContext,
    ) -> EngineResult<bool> {
        Ok(self
            .grant_policies(grant)
            .await?
            .evaluate(request)
            .is_allowed())
    }

    /// The session policy: the inline `Policy` and the default versions of `PolicyArns`, as
    /// one document (their statements act as one set).
    async fn session_policy(&self, input: &AssumeRoleInput) -> EngineResult<Option<String>> {
        if input.policy_arns.len() > 10 {
            return Err(validation(
                "1 validation error detected: Value at 'policyArns' failed to satisfy constraint: Member must have length less than or equal to 10",
            ));
        }
        let mut statements: Vec<Value> = Vec::new();
        if let Some(doc) = &input.policy {
            if doc.chars().count() > MAX_SESSION_POLICY {
                return Err(DomainError::new(
                    ErrorKind::IamValidationError,
                    format!(
                        "1 validation error detected: Value at 'policy' failed to satisfy constraint: Member must have length less than or equal to {MAX_SESSION_POLICY}"
                    ),
                )
                .into());
            }
            parse_policy(doc, PolicyKind::Identity)?;
            statements.extend(statement_values(doc));
        }
        for arn in &input.policy_arns {
            let mut tx = self.inner.store.read().await?;
            let policy = tx
                .get_managed_policy(arn)
                .await?
                .ok_or_else(|| iam::no_such_policy(arn))?;
            if let Some(v) = policy.default_version() {
                statements.extend(statement_values(&v.document));
            }
        }
        if input.policy.is_none() && input.policy_arns.is_empty() {
            return Ok(None);
        }
        let doc = serde_json::json!({"Version": "2012-10-17", "Statement": statements});
        Ok(Some(doc.to_string()))
    }

    async fn verify_web_identity(&self, token: &str) -> EngineResult<WebIdentity> {
        let not_jwt = || {
            invalid_token(
                "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)",
            )
        };
        let unverified = unverified_claims(token).ok_or_else(not_jwt)?;
        let issuer = text(&unverified, "iss").ok_or_else(not_jwt)?.to_string();
        if issuer == self.identity_issuer() {
            return self.verify_identity_pool_token(token).await;
        }
        let issuer_base = self.inner.settings.issuer_base.clone();
        let pool = issuer
            .strip_prefix(issuer_base.as_str())
            .and_then(|rest| rest.strip_prefix('/'))
            .and_then(|id| UserPoolId::parse(id).ok());
        let host_path = iam::issuer_host_path(&issuer).to_string();
        let account = self.inner.settings.account_id.clone();
        let provider_arn = iam::oidc_provider_arn(&account, &issuer);
        let provider = {
            let mut tx = self.inner.store.read().await?;
            tx.get_oidc_provider(&provider_arn).await?
        };
        let Some(provider) = provider else {
            return Err(invalid_token(format!(
                "No OpenIDConnect provider found in your account for {issuer}"
            )));
        };
        let Some(pool) = pool else {
            return self
                .verify_external_web_identity(provider, token, issuer)
                .await;
        };
        let couldnt_verify = || invalid_token("Couldn't verify the signature of the ID Token.");
        let kid = tessera_crypto::jwt::kid_of(token).ok_or_else(couldnt_verify)?;
        let keys = match self.pool_keys_for(&pool, &kid).await {
            Ok(k) => k,
            Err(EngineError::Client(_)) => return Err(couldnt_verify()),
            Err(e) => return Err(e),
        };
        let jwk = keys
            .public_key(&kid, KeyUse::Id)
            .ok_or_else(couldnt_verify)?;
        let claims = tessera_crypto::jwt::verify(token, jwk).map_err(|_| couldnt_verify())?;
        self.check_expiry(&claims)?;
        let audience = audiences(&claims)
            .into_iter()
            .find(|a| provider.client_ids.contains(a))
            .ok_or_else(|| invalid_token("Incorrect token audience"))?;
        let subject = text(&claims, "sub")
            .ok_or_else(|| invalid_token("The ID Token provided has no sub claim."))?
            .to_string();
        Ok(WebIdentity {
            principal: provider.arn,
            key_prefix: host_path,
            subject,
            audience,
            amr: None,
            provider: issuer,
        })
    }

    /// A token of an external provider registered in IAM: its keys fetched from the provider
    /// (see [`crate::federation`]); trust policies see `{host/path}:aud` and `:sub`.
    async fn verify_external_web_identity(
        &self,
        provider: iam::OidcProvider,
        token: &str,
        issuer: String,
    ) -> EngineResult<WebIdentity> {
        use crate::federation::OidcTokenError as E;
        let verified = self
            .verify_oidc_token(&provider, token)
            .await
            .map_err(|e| match e {
                E::Malformed => invalid_token(
                    "The ID Token provided is not a valid JWT. (You may see this error if you sent an Access Token)",
                ),
                E::Issuer => invalid_token(format!(
                    "No OpenIDConnect provider found in your account for {issuer}"
                )),
                E::Signature => invalid_token("Couldn't verify the signature of the ID Token."),
                E::Unreachable(_) => DomainError::new(
                    ErrorKind::IamIdpCommunicationError,
                    "Couldn't retrieve verification key from your identity provider,  please reference AssumeRoleWithWebIdentity documentation for requirements",
                )
                .into(),
                E::Expired { now, exp } => DomainError::new(
                    ErrorKind::IamExpiredToken,
                    format!("Token expired: current date/time {now} must be before the expiration date/time {exp}"),
                )
                .into(),
                E::NotYetValid => invalid_token("The ID Token provided is not yet valid."),
                E::Audience => invalid_token("Incorrect token audience"),
                E::MissingSubject => invalid_token("The ID Token provided has no sub claim."),
            })?;
        Ok(WebIdentity {
            key_prefix: provider.host_path().to_string(),
            principal: provider.arn,
            subject: verified.subject,
            audience: verified.audience,
            amr: None,
            provider: issuer,
        })
    }

    /// An identity pool's own OpenID token (GetOpenIdToken…): no IAM provider needed, as
    /// with `cognito-identity.amazonaws.com` in AWS.
    async fn verify_identity_pool_token(&self, token: &str) -> EngineResult<WebIdentity> {
        const COGNITO: &str = "cognito-identity.amazonaws.com";
        let couldnt_verify = || invalid_token("Couldn't verify the signature of the ID Token.");
        let kid = tessera_crypto::jwt::kid_of(token).ok_or_else(couldnt_verify)?;
        let keys = self.identity_jwks().await?;
        let jwk = keys
            .iter()
            .find(|k| k.kid == kid)
            .ok_or_else(couldnt_verify)?;
        let claims = tessera_crypto::jwt::verify(token, jwk).map_err(|_| couldnt_verify())?;
        self.check_expiry(&claims)?;
        let audience = text(&claims, "aud")
            .ok_or_else(|| invalid_token("Incorrect token audience"))?
            .to_string();
        let subject = text(&claims, "sub")
            .ok_or_else(|| invalid_token("The ID Token provided has no sub claim."))?
            .to_string();
        let amr = match claims.get("amr") {
            Some(Value::Array(a)) => a
                .iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect(),
            Some(Value::String(s)) => vec![s.clone()],
            _ => Vec::new(),
        };
        Ok(WebIdentity {
            principal: COGNITO.to_string(),
            key_prefix: COGNITO.to_string(),
            subject,
            audience,
            amr: Some(amr),
            provider: COGNITO.to_string(),
        })
    }

    fn check_expiry(&self, claims: &Map<String, Value>) -> EngineResult<()> {
        let exp = claims.get("exp").and_then(Value::as_i64).unwrap_or(0);
        let now = self.now().secs();
        if now >= exp {
            return Err(DomainError::new(
                ErrorKind::IamExpiredToken,
                format!("Token expired: current date/time {now} must be before the expiration date/time {exp}"),
            )
            .into());
        }
        Ok(())
    }

    async fn issue_role_session(
        &self,
        role: &Role,
        session_name: &str,
        duration_secs: i64,
        session_policy: Option<String>,
        amr: Vec<String>,
        principal_tags: BTreeMap<String, String>,
    ) -> EngineResult<AssumedRole> {
        let now = self.now();
        let account = &self.inner.settings.account_id;
        let access_key_id = format!("ASIA{}", tessera_crypto::random::string_from(BASE32, 16));
        let secret = Zeroizing::new(tessera_crypto::random::string_from(SECRET_ALPHABET, 40));
        let token = Zeroizing::new(tessera_crypto::random::token(96));
        let assumed_role_arn = format!(
            "arn:aws:sts::{account}:assumed-role/{}/{session_name}",
            role.name
        );
        let assumed_role_id = format!("{}:{session_name}", role.id);
        let packed_policy_size = session_policy.as_ref().map(|p| {
            let used = p.chars().filter(|c| !c.is_whitespace()).count();
            u32::try_from(used * 100 / MAX_SESSION_POLICY.max(1)).unwrap_or(u32::MAX)
        });
        let expiration = now.plus(std::time::Duration::from_secs(
            u64::try_from(duration_secs).unwrap_or(3600),
        ));
        let session = RoleSession {
            access_key_id: access_key_id.clone(),
            sealed_secret: self
                .inner
                .master
                .seal(&sealing_purpose(&access_key_id), secret.as_bytes()),
            token_hash: tessera_crypto::token_hash(&token),
            issued_at: now,
            expires_at: expiration,
            grant: SessionGrant {
                role_arn: role.arn.clone(),
                principal_arn: assumed_role_arn.clone(),
                user_id: assumed_role_id.clone(),
                amr,
                session_policy,
                principal_tags,
            },
        };
        let mut tx = self.inner.store.begin().await?;
        tx.insert_role_session(&session).await.map_err(|e| {
            on_conflict(e, |c| {
                (*c == Conflict::AccessKey)
                    .then(|| DomainError::new(ErrorKind::ConcurrentModification, "Please retry."))
            })
        })?;
        tx.commit().await?;
        Ok(AssumedRole {
            access_key_id,
            secret_access_key: secret,
            session_token: token,
            expiration,
            assumed_role_arn,
            assumed_role_id,
            subject: None,
            audience: None,
            provider: None,
            packed_policy_size,
            saml: None,
        })
    }

    /// The role session an access key id names, checked against the session token the request
    /// carried: its secret (to verify the signature with) and grant. `None` when the key isn't
    /// a role session's; `Some(Err(expired))` when it was but has expired.
    pub async fn role_session_caller(
        &self,
        access_key_id: &str,
        session_token: Option<&str>,
    ) -> EngineResult<Option<Result<(Zeroizing<String>, SessionGrant), RoleSessionRefusal>>> {
        let session = {
            let mut tx = self.inner.store.read().await?;
            tx.get_role_session(access_key_id).await?
        };
        let Some(session) = session else {
            return Ok(None);
        };
        let presented = session_token.map(tessera_crypto::token_hash);
        if !presented.is_some_and(|h| tessera_crypto::constant_time_eq(&h, &session.token_hash)) {
            return Ok(Some(Err(RoleSessionRefusal::BadToken)));
        }
        if self.now() >= session.expires_at {
            return Ok(Some(Err(RoleSessionRefusal::Expired)));
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
        Ok(Some(Ok((
            Zeroizing::new(String::from_utf8_lossy(&secret).into_owned()),
            session.grant,
        ))))
    }
}

/// Why role-session credentials were refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RoleSessionRefusal {
    BadToken,
    Expired,
}

/// A document's statements as JSON values (one statement or a list).
fn statement_values(doc: &str) -> Vec<Value> {
    match serde_json::from_str::<Value>(doc)
        .ok()
        .and_then(|v| v.get("Statement").cloned())
    {
        Some(Value::Array(a)) => a,
        Some(s @ Value::Object(_)) => vec![s],
        _ => Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn role(max: u32) -> Role {
        Role {
            name: "r".into(),
            id: "AROAEXAMPLEEXAMPLE12".into(),
            path: "/".into(),
            arn: "arn:aws:iam::123456789012:role/r".into(),
            description: None,
            max_session_duration: max,
            trust_policy: "{}".into(),
            created_at: Timestamp::from_millis(0),
            tags: vec![],
        }
    }

    fn message(e: EngineError) -> String {
        match e {
            EngineError::Client(d) => d.message,
            other => panic!("{other}"),
        }
    }

    #[test]
    fn durations_follow_sts() {
        assert_eq!(check_duration(None, &role(3600), None).ok(), Some(3600));
        assert_eq!(check_duration(Some(900), &role(3600), None).ok(), Some(900));
        assert!(
            message(check_duration(Some(899), &role(3600), None).unwrap_err())
                .contains("greater than or equal to 900")
        );
        assert_eq!(
            message(check_duration(Some(3601), &role(3600), None).unwrap_err()),
            "The requested DurationSeconds exceeds the MaxSessionDuration set for this role."
        );
        assert!(
            message(check_duration(Some(7200), &role(43200), Some(3600)).unwrap_err())
                .contains("role chaining")
        );
        assert_eq!(
            check_duration(Some(43200), &role(43200), None).ok(),
            Some(43200)
        );
    }

    #[test]
    fn session_names_are_checked() {
        assert!(check_session_name("ok").is_ok());
        assert!(check_session_name("a+=,.@-_9").is_ok());
        assert!(check_session_name("x").is_err());
        assert!(check_session_name(&"x".repeat(65)).is_err());
        assert!(check_session_name("no space").is_err());
    }

    #[test]
    fn issuer_is_read_from_an_unverified_jwt_only_when_it_is_one() {
        use base64::Engine as _;
        let payload = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .encode(br#"{"iss":"https://issuer.example","aud":["a","b"]}"#);
        let token = format!("e30.{payload}.sig");
        let claims = unverified_claims(&token).unwrap_or_default();
        assert_eq!(text(&claims, "iss"), Some("https://issuer.example"));
        assert_eq!(audiences(&claims), ["a", "b"]);
        assert!(unverified_claims("not-a-jwt").is_none());
        assert!(unverified_claims("a.b.c.d").is_none());
    }

    #[test]
    fn session_policies_merge_statements() {
        let one = r#"{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:*","Resource":"*"}}"#;
        assert_eq!(statement_values(one).len(), 1);
        assert!(statement_values("nope").is_empty());
    }
}
