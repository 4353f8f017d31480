//! The request being authorized: who asks, for which action on which resource, and the condition
//! keys that describe it.
//!
//! Condition key names are case-insensitive in IAM (IAM guide
//! `reference_policies_elements_condition`), so they are stored lowercased. Values are strings,
//! as on the wire; the helpers below write numbers, dates, booleans and addresses in the forms
//! the operators read back.

use crate::date;
use std::collections::HashMap;
use std::net::IpAddr;

/// The caller, as a trust or resource policy's `Principal` sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Principal {
    /// An IAM identity by ARN: `arn:aws:iam::123456789012:root`, `…:user/x`, `…:role/x`, or a
    /// role session `arn:aws:sts::123456789012:assumed-role/x/session`.
    Aws(String),
    /// A web-identity or SAML provider, e.g. `cognito-identity.amazonaws.com`, or an
    /// `arn:aws:iam::…:oidc-provider/…` / `…:saml-provider/…` ARN.
    Federated(String),
    /// A service principal such as `lambda.amazonaws.com`.
    Service(String),
    /// An unsigned caller; only `"Principal": "*"` (or `{"AWS": "*"}`) matches it.
    Anonymous,
}

/// A condition key's value in the request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeyValue {
    /// A single-valued key (`aws:username`, `s3:prefix`, `cognito-identity.amazonaws.com:sub`).
    Single(String),
    /// A multivalued key (`cognito-identity.amazonaws.com:amr`, `dynamodb:LeadingKeys`,
    /// `aws:TagKeys`). It can't be used as a policy variable.
    Multi(Vec<String>),
}

impl KeyValue {
    pub(crate) fn values(&self) -> &[String] {
        match self {
            KeyValue::Single(v) => std::slice::from_ref(v),
            KeyValue::Multi(v) => v,
        }
    }
}

/// One request to authorize.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestContext {
    pub(crate) principal: Option<Principal>,
    pub(crate) action: String,
    pub(crate) action_lower: String,
    pub(crate) resource: String,
    pub(crate) keys: HashMap<String, KeyValue>,
}

impl RequestContext {
    /// A request for `action` (e.g. `s3:GetObject`) on `resource` (an ARN, or `*` for actions
    /// without a resource), with no principal and no condition keys yet.
    pub fn new(action: impl Into<String>, resource: impl Into<String>) -> RequestContext {
        let action = action.into();
        RequestContext {
            principal: None,
            action_lower: action.to_lowercase(),
            action,
            resource: resource.into(),
            keys: HashMap::new(),
        }
    }

    /// The request for `sts:AssumeRoleWithWebIdentity` with an identity pool's OpenID token, as
    /// a role's trust policy sees it: the `cognito-identity.amazonaws.com` federated principal and
    /// its `aud` (pool id), `sub` (identity id) and multivalued `amr` keys.
    pub fn cognito_web_identity(pool_id: &str, identity_id: &str, amr: &[&str]) -> RequestContext {
        RequestContext::new("sts:AssumeRoleWithWebIdentity", "*")
            .with_principal(Principal::Federated(
                "cognito-identity.amazonaws.com".to_string(),
            ))
            .with_key("cognito-identity.amazonaws.com:aud", pool_id)
            .with_key("cognito-identity.amazonaws.com:sub", identity_id)
            .with_multi_key(
                "cognito-identity.amazonaws.com:amr",
                amr.iter().map(|s| s.to_string()),
            )
    }

    pub fn with_principal(mut self, principal: Principal) -> RequestContext {
        self.principal = Some(principal);
        self
    }

    /// Sets a single-valued key (replacing any earlier value).
    pub fn with_key(mut self, key: &str, value: impl Into<String>) -> RequestContext {
        self.set_key(key, value);
        self
    }

    /// Sets a multivalued key; an empty list is a present-but-empty key (ForAllValues is true,
    /// ForAnyValue false, Null sees it as absent).
    pub fn with_multi_key<I, S>(mut self, key: &str, values: I) -> RequestContext
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.keys.insert(
            key.to_ascii_lowercase(),
            KeyValue::Multi(values.into_iter().map(Into::into).collect()),
        );
        self
    }

    pub fn with_bool(self, key: &str, value: bool) -> RequestContext {
        self.with_key(key, if value { "true" } else { "false" })
    }

    pub fn with_number(self, key: &str, value: f64) -> RequestContext {
        self.with_key(key, value.to_string())
    }

    pub fn with_ip(self, key: &str, value: IpAddr) -> RequestContext {
        self.with_key(key, value.to_string())
    }

    /// Sets a date key from milliseconds since the Unix epoch, written as ISO 8601 UTC.
    pub fn with_date(self, key: &str, epoch_millis: i64) -> RequestContext {
        self.with_key(key, date::format_iso8601(epoch_millis))
    }

    /// The time of the request: sets `aws:CurrentTime` (ISO 8601) and `aws:EpochTime` (seconds).
    /// The evaluator never reads a clock; this is the only "now" it knows.
    pub fn with_request_time(self, epoch_millis: i64) -> RequestContext {
        self.with_date("aws:CurrentTime", epoch_millis)
            .with_key("aws:EpochTime", epoch_millis.div_euclid(1000).to_string())
    }

    pub fn set_key(&mut self, key: &str, value: impl Into<String>) {
        self.keys
            .insert(key.to_ascii_lowercase(), KeyValue::Single(value.into()));
    }

    pub fn action(&self) -> &str {
        &self.action
    }

    pub fn resource(&self) -> &str {
        &self.resource
    }

    pub fn principal(&self) -> Option<&Principal> {
        self.principal.as_ref()
    }

    /// A key's value, by case-insensitive name.
    pub fn key(&self, name: &str) -> Option<&KeyValue> {
        self.keys.get(&name.to_ascii_lowercase())
    }

    /// `name` must already be lowercase.
    pub(crate) fn key_lower(&self, name: &str) -> Option<&KeyValue> {
        self.keys.get(name)
    }

    /// A policy variable's value: only single-valued keys have one.
    pub(crate) fn variable(&self, name_lower: &str) -> Option<&str> {
        match self.keys.get(name_lower)? {
            KeyValue::Single(v) => Some(v),
            KeyValue::Multi(_) => None,
        }
    }
}
