//! What the SigV4 policy gateway asks of the engine: who holds an access key (an identity
//! pool's credentials from GetCredentialsForIdentity, or an STS role session), the secret to
//! verify its signature with, and the policies its requests are evaluated against (the role's
//! inline and attached policies, and the session policy that scopes them down).

use crate::Engine;
use crate::error::{EngineError, EngineResult};
use crate::identity::StsRefusal;
use tessera_domain::Timestamp;
use tessera_domain::iam;
use tessera_domain::identity::SessionGrant;
use tessera_policy::{Decision, Policy, PolicyKind, RequestContext, SourcedPolicy, evaluate};
use zeroize::Zeroizing;

/// A session the gateway authenticated.
pub struct GatewaySession {
    /// To verify the request's signature with.
    pub secret: Zeroizing<String>,
    pub grant: SessionGrant,
    /// The identity pool and identity, for credentials from GetCredentialsForIdentity.
    pub identity: Option<(String, String)>,
    /// `aws:TokenIssueTime`.
    pub issued_at: Timestamp,
}

impl GatewaySession {
    /// The context of a call made with this session: the principal and the global keys IAM
    /// sets for an assumed role (`aws:userid`, `aws:PrincipalArn`, `aws:PrincipalType`,
    /// `aws:PrincipalAccount`, `aws:TokenIssueTime`, `aws:PrincipalTag/*`), and for identity
    /// pool credentials the `cognito-identity.amazonaws.com` keys. Callers add what only they
    /// know (region, source address, the service's own keys).
    pub fn request_context(
        &self,
        account_id: &str,
        action: &str,
        resource: &str,
        now_ms: i64,
    ) -> RequestContext {
        let grant = &self.grant;
        let mut request = RequestContext::new(action, resource)
            .with_principal(tessera_policy::Principal::Aws(grant.principal_arn.clone()))
            .with_request_time(now_ms)
            .with_key("aws:userid", grant.user_id.as_str())
            .with_key("aws:PrincipalArn", grant.role_arn.as_str())
            .with_key("aws:PrincipalType", "AssumedRole")
            .with_key("aws:PrincipalAccount", account_id)
            .with_date("aws:TokenIssueTime", self.issued_at.millis());
        for (k, v) in &grant.principal_tags {
            request = request.with_key(&format!("aws:PrincipalTag/{k}"), v.as_str());
        }
        if let Some((pool, id)) = &self.identity {
            request = request
                .with_key("cognito-identity.amazonaws.com:aud", pool.as_str())
                .with_key("cognito-identity.amazonaws.com:sub", id.as_str())
                .with_multi_key(
                    "cognito-identity.amazonaws.com:amr",
                    grant.amr.iter().cloned(),
                );
        }
        request
    }
}

/// IAM's refusal message for an identity-based implicit or explicit deny.
pub fn not_authorized_message(principal_arn: &str, action: &str, resource: &str) -> String {
    format!(
        "User: {principal_arn} is not authorized to perform: {action} on resource: {resource} because no identity-based policy allows the {action} action"
    )
}

/// A role's policies and a session's scope-down, parsed once and evaluated per request.
pub struct GrantPolicies {
    identity: Vec<(String, Policy)>,
    session: Option<Policy>,
}

impl GrantPolicies {
    /// IAM's decision: an explicit Deny anywhere wins; else an Allow in the role's policies
    /// and, when the session has a session policy, in that too.
    pub fn evaluate(&self, request: &RequestContext) -> Decision {
        let identity: Vec<SourcedPolicy<'_>> = self
            .identity
            .iter()
            .map(|(id, p)| SourcedPolicy::new(id, p))
            .collect();
        let session: Vec<SourcedPolicy<'_>> = self
            .session
            .iter()
            .map(|p| SourcedPolicy::new("session", p))
            .collect();
        evaluate(
            request,
            &identity,
            self.session.as_ref().map(|_| session.as_slice()),
        )
    }
}

impl Engine {
    /// Whether a session may make an API call: `action` (`cognito-idp:AdminCreateUser`,
    /// `iam:CreateRole`, …) on `resource`, by the role's and the session's policies, as IAM
    /// decides for a call signed with assumed-role credentials.
    pub async fn session_may_call(
        &self,
        session: &GatewaySession,
        action: &str,
        resource: &str,
        source_ip: Option<std::net::IpAddr>,
    ) -> EngineResult<bool> {
        let policies = self.grant_policies(&session.grant).await?;
        let settings = &self.inner.settings;
        let mut request = session
            .request_context(&settings.account_id, action, resource, self.now().millis())
            .with_key("aws:RequestedRegion", settings.region.as_str());
        if let Some(ip) = source_ip {
            request = request.with_ip("aws:SourceIp", ip);
        }
        Ok(policies.evaluate(&request).is_allowed())
    }

    /// The session an access key names, checked against the session token the request carried.
    /// `Ok(Err(UnknownKey))` when the key is no session's.
    pub async fn gateway_session(
        &self,
        access_key_id: &str,
        session_token: Option<&str>,
    ) -> EngineResult<Result<GatewaySession, StsRefusal>> {
        if let Some(found) = self
            .role_session_caller(access_key_id, session_token)
            .await?
        {
            let (secret, grant) = match found {
                Ok(found) => found,
                Err(crate::sts::RoleSessionRefusal::Expired) => {
                    return Ok(Err(StsRefusal::Expired));
                }
                Err(crate::sts::RoleSessionRefusal::BadToken) => {
                    return Ok(Err(StsRefusal::BadToken));
                }
            };
            let issued_at = {
                let mut tx = self.inner.store.read().await?;
                tx.get_role_session(access_key_id).await?
            }
            .map_or(self.now(), |s| s.issued_at);
            return Ok(Ok(GatewaySession {
                secret,
                grant,
                identity: None,
                issued_at,
            }));
        }
        let caller = match self.sts_caller(access_key_id, session_token).await? {
            Ok(c) => c,
            Err(refusal) => return Ok(Err(refusal)),
        };
        let session = {
            let mut tx = self.inner.store.read().await?;
            tx.get_sts_session(access_key_id).await?
        }
        .ok_or_else(|| EngineError::Internal("the session vanished while read".into()))?;
        Ok(Ok(GatewaySession {
            secret: caller.secret,
            grant: caller.grant,
            identity: Some((
                session.pool_id.as_str().to_string(),
                session.identity_id.as_str().to_string(),
            )),
            issued_at: session.issued_at,
        }))
    }

    /// The role's inline and attached policies and the grant's session policy. A role that no
    /// longer exists has none: everything is implicitly denied.
    pub async fn grant_policies(&self, grant: &SessionGrant) -> EngineResult<GrantPolicies> {
        let mut docs = Vec::new();
        if let Some(name) =
            iam::role_name_from_arn(&self.inner.settings.account_id, &grant.role_arn)
        {
            let mut tx = self.inner.store.read().await?;
            for p in tx.role_policies(name).await? {
                docs.push((p.name, p.document));
            }
            for arn in tx.attached_role_policies(name).await? {
                if let Some(p) = tx.get_managed_policy(&arn).await?
                    && let Some(v) = p.default_version()
                {
                    docs.push((p.arn.clone(), v.document.clone()));
                }
            }
        }
        Ok(GrantPolicies {
            identity: docs
                .into_iter()
                .filter_map(|(id, d)| {
                    Policy::parse(&d, PolicyKind::Identity)
                        .ok()
                        .map(|p| (id, p))
                })
                .collect(),
            session: grant
                .session_policy
                .as_deref()
                .and_then(|d| Policy::parse(d, PolicyKind::Identity).ok()),
        })
    }
}
