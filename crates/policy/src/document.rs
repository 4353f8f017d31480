//! The policy grammar (IAM guide `reference_policies_grammar`): parsing a JSON document into a
//! [`Policy`], with IAM's `MalformedPolicyDocument` messages for what it refuses.
//!
//! The document is read once; every pattern (Action, Resource, condition values) is split into
//! its pieces here so evaluation does no parsing.

use crate::condition::Condition;
use crate::context::Principal;
use crate::pattern::Pattern;
use crate::span::{self, Position};
use serde_json::{Map, Value};
use std::fmt;

/// Where a policy document is used; it decides which elements are required or refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PolicyKind {
    /// Attached to a user, group or role, or passed as a session policy: no Principal,
    /// Resource required.
    Identity,
    /// A role's trust policy (AssumeRolePolicyDocument): Principal required, no Resource.
    Trust,
    /// A resource-based policy (e.g. a bucket policy): Principal and Resource required.
    Resource,
}

/// `MalformedPolicyDocument` with IAM's message, for the API layer to send as is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MalformedPolicy {
    message: String,
}

impl MalformedPolicy {
    pub(crate) fn new(message: impl Into<String>) -> MalformedPolicy {
        MalformedPolicy {
            message: message.into(),
        }
    }

    /// IAM's catch-all for documents that are not the grammar's JSON.
    pub(crate) fn syntax() -> MalformedPolicy {
        MalformedPolicy::new("Syntax errors in policy.")
    }

    /// `Invalid principal in policy: "AWS":"arn:…"`, which IAM also sends when a principal ARN
    /// names a role or user that does not exist; the IAM layer, which can look that up, builds
    /// it through this constructor.
    pub fn invalid_principal(kind: &str, value: &str) -> MalformedPolicy {
        MalformedPolicy::new(format!(
            "Invalid principal in policy: \"{kind}\":\"{value}\""
        ))
    }

    pub fn message(&self) -> &str {
        &self.message
    }
}

impl fmt::Display for MalformedPolicy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.message)
    }
}

impl std::error::Error for MalformedPolicy {}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Effect {
    Allow,
    Deny,
}

/// Action / NotAction patterns, lowercased (action names are case-insensitive).
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ActionPatterns {
    pub(crate) negated: bool,
    pub(crate) patterns: Vec<Pattern>,
}

/// One Resource / NotResource entry.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ResourcePattern {
    pub(crate) whole: Pattern,
    pub(crate) parts: Option<Box<[Pattern; 6]>>,
}

#[derive(Debug, Clone, PartialEq)]
pub(crate) struct ResourcePatterns {
    pub(crate) negated: bool,
    pub(crate) patterns: Vec<ResourcePattern>,
}

/// Principal / NotPrincipal: `"*"` or a map of principal types to values.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Principals {
    pub(crate) negated: bool,
    /// `"Principal": "*"` (the same as `{"AWS": "*"}`): everyone, anonymous callers included.
    pub(crate) everyone: bool,
    pub(crate) aws: Vec<String>,
    pub(crate) federated: Vec<String>,
    pub(crate) service: Vec<String>,
    pub(crate) canonical_user: Vec<String>,
}

/// One statement.
#[derive(Debug, Clone, PartialEq)]
pub struct Statement {
    pub sid: Option<String>,
    pub effect: Effect,
    pub(crate) principals: Option<Principals>,
    pub(crate) actions: ActionPatterns,
    pub(crate) resources: Option<ResourcePatterns>,
    pub conditions: Vec<Condition>,
    /// Where the statement's `{` and `}` are in the text it was parsed from (not set by
    /// [`Policy::from_value`]).
    pub start: Option<Position>,
    pub end: Option<Position>,
}

/// A parsed policy document.
#[derive(Debug, Clone, PartialEq)]
pub struct Policy {
    pub version: Option<String>,
    pub id: Option<String>,
    pub statements: Vec<Statement>,
}

pub const VERSION_2012: &str = "2012-10-17";
pub const VERSION_2008: &str = "2008-10-17";

impl Policy {
    /// Parses `json` as a policy of `kind`.
    pub fn parse(json: &str, kind: PolicyKind) -> Result<Policy, MalformedPolicy> {
        let value: Value = serde_json::from_str(json).map_err(|_| MalformedPolicy::syntax())?;
        let mut policy = Policy::from_value(&value, kind)?;
        if let Some(spans) = span::statement_spans(json)
            && spans.len() == policy.statements.len()
        {
            for (statement, (start, end)) in policy.statements.iter_mut().zip(spans) {
                statement.start = Some(span::position(json, start));
                statement.end = Some(span::position(json, end));
            }
        }
        Ok(policy)
    }

    pub fn from_value(value: &Value, kind: PolicyKind) -> Result<Policy, MalformedPolicy> {
        let Value::Object(doc) = value else {
            return Err(MalformedPolicy::syntax());
        };
        for key in doc.keys() {
            if !matches!(key.as_str(), "Version" | "Id" | "Statement") {
                return Err(MalformedPolicy::syntax());
            }
        }
        let version = match doc.get("Version") {
            None => None,
            Some(Value::String(v)) if v == VERSION_2012 || v == VERSION_2008 => Some(v.clone()),
            Some(_) => {
                return Err(MalformedPolicy::new(
                    "The policy must contain a valid version string",
                ));
            }
        };
        let id = optional_string(doc, "Id")?;
        // Variables are substituted only under 2012-10-17; otherwise `${…}` is literal text.
        let variables = version.as_deref() == Some(VERSION_2012);
        let statements = match doc.get("Statement") {
            Some(Value::Array(items)) => items
                .iter()
                .map(|s| parse_statement(s, kind, variables))
                .collect::<Result<Vec<_>, _>>()?,
            Some(single @ Value::Object(_)) => vec![parse_statement(single, kind, variables)?],
            _ => return Err(MalformedPolicy::syntax()),
        };
        Ok(Policy {
            version,
            id,
            statements,
        })
    }

    /// Whether `${…}` policy variables are substituted (only under `2012-10-17`).
    pub fn substitutes_variables(&self) -> bool {
        self.version.as_deref() == Some(VERSION_2012)
    }
}

fn optional_string(obj: &Map<String, Value>, key: &str) -> Result<Option<String>, MalformedPolicy> {
    match obj.get(key) {
        None => Ok(None),
        Some(Value::String(s)) => Ok(Some(s.clone())),
        Some(_) => Err(MalformedPolicy::syntax()),
    }
}

/// A string or a non-empty list of strings.
fn string_list(value: &Value) -> Result<Vec<&str>, MalformedPolicy> {
    match value {
        Value::String(s) => Ok(vec![s.as_str()]),
        Value::Array(items) if !items.is_empty() => items
            .iter()
            .map(|v| v.as_str().ok_or_else(MalformedPolicy::syntax))
            .collect(),
        _ => Err(MalformedPolicy::syntax()),
    }
}

/// Exactly one of `name` / `Not<name>`, or neither.
fn pick<'a>(
    stmt: &'a Map<String, Value>,
    name: &str,
    not_name: &str,
) -> Result<Option<(bool, &'a Value)>, MalformedPolicy> {
    match (stmt.get(name), stmt.get(not_name)) {
        (Some(_), Some(_)) => Err(MalformedPolicy::syntax()),
        (Some(v), None) => Ok(Some((false, v))),
        (None, Some(v)) => Ok(Some((true, v))),
        (None, None) => Ok(None),
    }
}

fn parse_statement(
    value: &Value,
    kind: PolicyKind,
    variables: bool,
) -> Result<Statement, MalformedPolicy> {
    let Value::Object(stmt) = value else {
        return Err(MalformedPolicy::syntax());
    };
    for key in stmt.keys() {
        if !matches!(
            key.as_str(),
            "Sid"
                | "Effect"
                | "Principal"
                | "NotPrincipal"
                | "Action"
                | "NotAction"
                | "Resource"
                | "NotResource"
                | "Condition"
        ) {
            return Err(MalformedPolicy::syntax());
        }
    }
    let sid = optional_string(stmt, "Sid")?;
    let effect = match stmt.get("Effect") {
        Some(Value::String(e)) if e == "Allow" => Effect::Allow,
        Some(Value::String(e)) if e == "Deny" => Effect::Deny,
        Some(_) => return Err(MalformedPolicy::syntax()),
        None => return Err(MalformedPolicy::new("Missing required field Effect")),
    };

    let principals = match (pick(stmt, "Principal", "NotPrincipal")?, kind) {
        (Some(_), PolicyKind::Identity) => {
            return Err(MalformedPolicy::new(
                "Policy document should not specify a principal.",
            ));
        }
        (None, PolicyKind::Trust | PolicyKind::Resource) => {
            return Err(MalformedPolicy::new("Missing required field Principal"));
        }
        (Some((negated, v)), _) => Some(parse_principals(v, negated)?),
        (None, PolicyKind::Identity) => None,
    };

    let actions = match pick(stmt, "Action", "NotAction")? {
        Some((negated, v)) => {
            let mut patterns = Vec::new();
            for action in string_list(v)? {
                if action != "*" {
                    match action.matches(':').count() {
                        0 => {
                            return Err(MalformedPolicy::new(
                                "Actions/Conditions must be prefaced by a vendor, e.g., iam, sdb, ec2, etc.",
                            ));
                        }
                        1 => {}
                        _ => {
                            return Err(MalformedPolicy::new(
                                "Actions/Condition can contain only one colon.",
                            ));
                        }
                    }
                }
                patterns.push(Pattern::parse(&action.to_lowercase(), true, false));
            }
            ActionPatterns { negated, patterns }
        }
        None => {
            return Err(MalformedPolicy::new(
                "Policy statement must contain actions.",
            ));
        }
    };

    let resources = match (pick(stmt, "Resource", "NotResource")?, kind) {
        (Some((negated, _)), PolicyKind::Trust) => {
            let field = if negated { "NotResource" } else { "Resource" };
            return Err(MalformedPolicy::new(format!(
                "Has prohibited field {field}"
            )));
        }
        (None, PolicyKind::Identity | PolicyKind::Resource) => {
            return Err(MalformedPolicy::new(
                "Policy statement must contain resources.",
            ));
        }
        (None, PolicyKind::Trust) => None,
        (Some((negated, v)), _) => {
            let mut patterns = Vec::new();
            for resource in string_list(v)? {
                if resource != "*" && !resource.starts_with("arn:") {
                    return Err(MalformedPolicy::new(format!(
                        "Resource {resource} must be in ARN format or \"*\"."
                    )));
                }
                let whole = Pattern::parse(resource, true, variables);
                let parts = whole.split_arn().map(Box::new);
                patterns.push(ResourcePattern { whole, parts });
            }
            Some(ResourcePatterns { negated, patterns })
        }
    };

    let conditions = match stmt.get("Condition") {
        Some(block) => Condition::parse_block(block, variables)?,
        None => Vec::new(),
    };

    Ok(Statement {
        sid,
        effect,
        principals,
        actions,
        resources,
        conditions,
        start: None,
        end: None,
    })
}

fn parse_principals(value: &Value, negated: bool) -> Result<Principals, MalformedPolicy> {
    let mut p = Principals {
        negated,
        everyone: false,
        aws: Vec::new(),
        federated: Vec::new(),
        service: Vec::new(),
        canonical_user: Vec::new(),
    };
    match value {
        Value::String(s) if s == "*" => p.everyone = true,
        Value::Object(map) if !map.is_empty() => {
            for (kind, values) in map {
                let values = string_list(values)?;
                for v in values {
                    match kind.as_str() {
                        "AWS" if v == "*" => p.everyone = true,
                        "AWS" if valid_aws_principal(v) => p.aws.push(v.to_string()),
                        "Federated" if !v.is_empty() && !v.contains('*') => {
                            p.federated.push(v.to_string())
                        }
                        "Service" if !v.is_empty() && !v.contains('*') => {
                            p.service.push(v.to_string())
                        }
                        "CanonicalUser" if !v.is_empty() => p.canonical_user.push(v.to_string()),
                        _ => return Err(MalformedPolicy::invalid_principal(kind, v)),
                    }
                }
            }
        }
        _ => return Err(MalformedPolicy::syntax()),
    }
    Ok(p)
}

/// A 12-digit account id, or an IAM/STS ARN of an account root, user, role or role session.
fn valid_aws_principal(v: &str) -> bool {
    if is_account_id(v) {
        return true;
    }
    let parts: Vec<&str> = v.splitn(6, ':').collect();
    let [arn, _partition, service, region, account, resource] = parts[..] else {
        return false;
    };
    arn == "arn"
        && region.is_empty()
        && is_account_id(account)
        && !v.contains('*')
        && match service {
            "iam" => {
                resource == "root"
                    || resource.starts_with("user/")
                    || resource.starts_with("role/")
                    || resource.starts_with("federated-user/")
            }
            "sts" => {
                resource.starts_with("assumed-role/") || resource.starts_with("federated-user/")
            }
            _ => false,
        }
}

fn is_account_id(v: &str) -> bool {
    v.len() == 12 && v.bytes().all(|b| b.is_ascii_digit())
}

impl Principals {
    /// Whether `principal` is one of these (before `NotPrincipal` negation).
    fn contains(&self, principal: &Principal) -> bool {
        if self.everyone {
            return true;
        }
        match principal {
            Principal::Aws(arn) => self.aws.iter().any(|p| aws_principal_matches(p, arn)),
            Principal::Federated(provider) => self.federated.iter().any(|p| p == provider),
            Principal::Service(service) => self.service.iter().any(|p| p == service),
            Principal::Anonymous => false,
        }
    }

    pub(crate) fn matches(&self, principal: Option<&Principal>) -> bool {
        let principal = principal.unwrap_or(&Principal::Anonymous);
        self.contains(principal) != self.negated
    }
}

/// An account id or `…:root` covers every IAM and STS principal of the account; a role ARN also
/// covers that role's sessions (`arn:aws:sts::<account>:assumed-role/<role>/<session>`); any
/// other ARN must be equal.
fn aws_principal_matches(policy: &str, caller: &str) -> bool {
    let caller_parts: Vec<&str> = caller.splitn(6, ':').collect();
    let caller_account = caller_parts.get(4).copied().unwrap_or_default();
    if is_account_id(policy) {
        return caller_account == policy;
    }
    if let Some(account) = policy
        .strip_prefix("arn:")
        .and_then(|rest| rest.split_once(":iam::"))
        .and_then(|(_, rest)| rest.strip_suffix(":root"))
    {
        return caller_account == account;
    }
    if policy == caller {
        return true;
    }
    // arn:<p>:iam::<acct>:role/<path/>name  covers  arn:<p>:sts::<acct>:assumed-role/name/<session>
    let policy_parts: Vec<&str> = policy.splitn(6, ':').collect();
    if let (["arn", p_part, "iam", "", p_acct, p_res], ["arn", c_part, "sts", "", c_acct, c_res]) =
        (&policy_parts[..], &caller_parts[..])
        && p_part == c_part
        && p_acct == c_acct
        && let (Some(role_path), Some(session)) = (
            p_res.strip_prefix("role/"),
            c_res.strip_prefix("assumed-role/"),
        )
    {
        let role_name = role_path.rsplit('/').next().unwrap_or(role_path);
        return session
            .split_once('/')
            .is_some_and(|(name, _)| name == role_name);
    }
    false
}
