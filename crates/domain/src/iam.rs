//! IAM's model as Tessera keeps it: roles with trust policies and inline policies, customer
//! managed policies with versions, and the OIDC and SAML identity providers that web-identity
//! and SAML federation name. Names follow the IAM API (botocore `iam` 2010-05-08); validation
//! rules and messages are IAM's (`ValidationError` texts are the AWS-wide "1 validation error
//! detected" form the IAM API sends for model constraints).
//!
//! Policy documents are kept as the text the caller sent (IAM returns them as sent,
//! URL-encoded); parsing and evaluation belong to `tessera-policy`, which the engine calls.

use crate::error::{DomainError, ErrorKind};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

/// IAM's `MaxSessionDuration` bounds (seconds) and default.
pub const MIN_SESSION_DURATION: u32 = 3600;
pub const MAX_SESSION_DURATION: u32 = 43200;
/// Managed policy versions kept at once (IAM's quota).
pub const MAX_POLICY_VERSIONS: usize = 5;
/// Tags per role, policy or provider.
pub const MAX_TAGS: usize = 50;
/// Managed policies attached to one role (IAM's default quota).
pub const MAX_ATTACHED_POLICIES: usize = 10;
/// Client ids and thumbprints per OIDC provider.
pub const MAX_OIDC_CLIENT_IDS: usize = 100;
pub const MAX_OIDC_THUMBPRINTS: usize = 5;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Tag {
    pub key: String,
    pub value: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Role {
    pub name: String,
    /// `AROA…`, 21 characters.
    pub id: String,
    pub path: String,
    pub arn: String,
    pub description: Option<String>,
    pub max_session_duration: u32,
    /// The AssumeRolePolicyDocument as the caller sent it.
    pub trust_policy: String,
    pub created_at: Timestamp,
    pub tags: Vec<Tag>,
}

/// An inline role policy.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct InlinePolicy {
    pub name: String,
    pub document: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct PolicyVersion {
    /// `v1`, `v2`, … never reused.
    pub version_id: String,
    pub document: String,
    pub created_at: Timestamp,
}

/// A customer managed policy and its versions.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ManagedPolicy {
    pub name: String,
    /// `ANPA…`, 21 characters.
    pub id: String,
    pub path: String,
    pub arn: String,
    pub description: Option<String>,
    pub default_version_id: String,
    /// The number of the last version created (the next is one more).
    pub last_version: u32,
    pub versions: Vec<PolicyVersion>,
    pub created_at: Timestamp,
    pub updated_at: Timestamp,
    pub tags: Vec<Tag>,
}

impl ManagedPolicy {
    pub fn default_version(&self) -> Option<&PolicyVersion> {
        self.version(&self.default_version_id)
    }

    pub fn version(&self, id: &str) -> Option<&PolicyVersion> {
        self.versions.iter().find(|v| v.version_id == id)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct OidcProvider {
    pub arn: String,
    /// The issuer URL as registered (`https://host/path`).
    pub url: String,
    pub client_ids: Vec<String>,
    pub thumbprints: Vec<String>,
    pub created_at: Timestamp,
    pub tags: Vec<Tag>,
}

impl OidcProvider {
    /// The issuer without its scheme: the ARN's resource part and the prefix of the condition
    /// keys (`host/path:aud`).
    pub fn host_path(&self) -> &str {
        issuer_host_path(&self.url)
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SamlProvider {
    pub arn: String,
    pub name: String,
    pub metadata_document: String,
    pub created_at: Timestamp,
    pub valid_until: Option<Timestamp>,
    pub tags: Vec<Tag>,
}

/// Credentials STS issued for a role session that no identity pool identity owns
/// (AssumeRole, AssumeRoleWithWebIdentity with a user-pool or OIDC token): the secret sealed
/// with the master key, the session token only as its hash.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RoleSession {
    pub access_key_id: String,
    pub sealed_secret: Vec<u8>,
    pub token_hash: Vec<u8>,
    pub issued_at: Timestamp,
    pub expires_at: Timestamp,
    pub grant: crate::identity::SessionGrant,
}

/// `https://host/path` → `host/path` (IAM strips the scheme and a trailing slash).
pub fn issuer_host_path(url: &str) -> &str {
    let rest = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .unwrap_or(url);
    rest.strip_suffix('/').unwrap_or(rest)
}

/// The resource part after a path: `/` → ``, `/a/b/` → `a/b/`.
fn path_part(path: &str) -> &str {
    path.strip_prefix('/').unwrap_or(path)
}

pub fn role_arn(account: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:role/{}{name}", path_part(path))
}

pub fn policy_arn(account: &str, path: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:policy/{}{name}", path_part(path))
}

pub fn oidc_provider_arn(account: &str, url: &str) -> String {
    format!(
        "arn:aws:iam::{account}:oidc-provider/{}",
        issuer_host_path(url)
    )
}

pub fn saml_provider_arn(account: &str, name: &str) -> String {
    format!("arn:aws:iam::{account}:saml-provider/{name}")
}

/// The role name in a role ARN (`arn:aws:iam::1:role/a/b/Name` → `Name`), if it is one of
/// this account's role ARNs.
pub fn role_name_from_arn<'a>(account: &str, arn: &'a str) -> Option<&'a str> {
    let rest = arn.strip_prefix("arn:aws:iam::")?;
    let rest = rest.strip_prefix(account)?;
    let rest = rest.strip_prefix(":role/")?;
    rest.rsplit('/').next().filter(|n| !n.is_empty())
}

/// Lowercased name: IAM names are unique regardless of case.
pub fn name_key(name: &str) -> String {
    name.to_ascii_lowercase()
}

fn validation(member: &str, value: &str, constraint: &str) -> DomainError {
    DomainError::new(
        ErrorKind::IamValidationError,
        format!(
            "1 validation error detected: Value '{value}' at '{member}' failed to satisfy constraint: {constraint}"
        ),
    )
}

fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

/// Role, policy and SAML provider names: `[\w+=,.@-]+`, `max` characters at most.
pub fn check_name(member: &str, value: &str, max: usize) -> Result<(), DomainError> {
    if value.is_empty() || value.chars().count() > max {
        return Err(validation(
            member,
            value,
            &format!("Member must have length less than or equal to {max}"),
        ));
    }
    if !value.chars().all(is_name_char) {
        return Err(validation(
            member,
            value,
            "Member must satisfy regular expression pattern: [\\w+=,.@-]+",
        ));
    }
    Ok(())
}

/// Paths: `/` or `/…/`, printable ASCII, at most 512 characters.
pub fn check_path(member: &str, value: &str) -> Result<(), DomainError> {
    let ok = value.len() <= 512
        && value.starts_with('/')
        && value.ends_with('/')
        && value.chars().all(|c| ('!'..='~').contains(&c));
    if !ok {
        return Err(validation(
            member,
            value,
            "Member must satisfy regular expression pattern: (\\u002F)|(\\u002F[\\u0021-\\u007E]+\\u002F)",
        ));
    }
    Ok(())
}

pub fn check_description(value: &str) -> Result<(), DomainError> {
    if value.chars().count() > 1000 {
        return Err(validation(
            "description",
            value,
            "Member must have length less than or equal to 1000",
        ));
    }
    Ok(())
}

pub fn check_max_session_duration(value: i64) -> Result<u32, DomainError> {
    if value < i64::from(MIN_SESSION_DURATION) {
        return Err(validation(
            "maxSessionDuration",
            &value.to_string(),
            "Member must have value greater than or equal to 3600",
        ));
    }
    if value > i64::from(MAX_SESSION_DURATION) {
        return Err(validation(
            "maxSessionDuration",
            &value.to_string(),
            "Member must have value less than or equal to 43200",
        ));
    }
    Ok(value as u32)
}

/// Tags: at most 50, keys 1–128 characters, values at most 256, keys unique ignoring case.
pub fn check_tags(tags: &[Tag]) -> Result<(), DomainError> {
    if tags.len() > MAX_TAGS {
        return Err(DomainError::new(
            ErrorKind::IamLimitExceeded,
            "The number of tags has reached the maximum limit.",
        ));
    }
    for (i, tag) in tags.iter().enumerate() {
        if tag.key.is_empty() || tag.key.chars().count() > 128 {
            return Err(validation(
                &format!("tags.{}.member.key", i + 1),
                &tag.key,
                "Member must have length less than or equal to 128",
            ));
        }
        if tag.value.chars().count() > 256 {
            return Err(validation(
                &format!("tags.{}.member.value", i + 1),
                &tag.value,
                "Member must have length less than or equal to 256",
            ));
        }
        if tags[..i]
            .iter()
            .any(|t| t.key.eq_ignore_ascii_case(&tag.key))
        {
            return Err(DomainError::new(
                ErrorKind::IamInvalidInput,
                "Duplicate tag keys found. Please note that Tag keys are case insensitive.",
            ));
        }
    }
    Ok(())
}

/// TagRole / TagPolicy: new values replace those of the same key (ignoring case).
pub fn merge_tags(existing: &mut Vec<Tag>, new: &[Tag]) -> Result<(), DomainError> {
    check_tags(new)?;
    for tag in new {
        if let Some(t) = existing
            .iter_mut()
            .find(|t| t.key.eq_ignore_ascii_case(&tag.key))
        {
            t.value = tag.value.clone();
        } else {
            existing.push(tag.clone());
        }
    }
    if existing.len() > MAX_TAGS {
        return Err(DomainError::new(
            ErrorKind::IamLimitExceeded,
            "The number of tags has reached the maximum limit.",
        ));
    }
    Ok(())
}

pub fn remove_tags(existing: &mut Vec<Tag>, keys: &[String]) {
    existing.retain(|t| !keys.iter().any(|k| k.eq_ignore_ascii_case(&t.key)));
}

/// An OIDC provider's URL: `https://` (or `http://`, which a Tessera deployment's own issuer
/// may be when it is served without TLS), at most 255 characters.
pub fn check_oidc_url(url: &str) -> Result<(), DomainError> {
    if url.is_empty() || url.chars().count() > 255 {
        return Err(validation(
            "url",
            url,
            "Member must have length less than or equal to 255",
        ));
    }
    let scheme = url.starts_with("https://") || url.starts_with("http://");
    if !scheme || issuer_host_path(url).is_empty() {
        return Err(DomainError::new(
            ErrorKind::IamInvalidInput,
            "Invalid Open ID Connect Provider URL",
        ));
    }
    Ok(())
}

/// A thumbprint is the 40-hex-digit SHA-1 of the IdP's certificate.
pub fn check_thumbprint(t: &str) -> Result<(), DomainError> {
    if t.len() != 40 || !t.chars().all(|c| c.is_ascii_hexdigit()) {
        return Err(validation(
            "thumbprintList",
            t,
            "Member must have length greater than or equal to 40",
        ));
    }
    Ok(())
}

pub fn check_client_id(c: &str) -> Result<(), DomainError> {
    if c.is_empty() || c.chars().count() > 255 {
        return Err(validation(
            "clientIDList",
            c,
            "Member must have length less than or equal to 255",
        ));
    }
    Ok(())
}

pub fn no_such_role(name: &str) -> DomainError {
    DomainError::new(
        ErrorKind::IamNoSuchEntity,
        format!("The role with name {name} cannot be found."),
    )
}

pub fn role_exists(name: &str) -> DomainError {
    DomainError::new(
        ErrorKind::IamEntityAlreadyExists,
        format!("Role with name {name} already exists."),
    )
}

pub fn no_such_role_policy(name: &str) -> DomainError {
    DomainError::new(
        ErrorKind::IamNoSuchEntity,
        format!("The role policy with name {name} cannot be found."),
    )
}

pub fn no_such_policy(arn: &str) -> DomainError {
    DomainError::new(
        ErrorKind::IamNoSuchEntity,
        format!("Policy {arn} was not found."),
    )
}

pub fn policy_exists(name: &str) -> DomainError {
    DomainError::new(
        ErrorKind::IamEntityAlreadyExists,
        format!("A policy called {name} already exists. Duplicate names are not allowed."),
    )
}

pub fn no_such_policy_version(arn: &str, version: &str) -> DomainError {
    DomainError::new(
        ErrorKind::IamNoSuchEntity,
        format!("Policy {arn} version {version} does not exist or is not attachable."),
    )
}

pub fn no_such_oidc_provider(arn: &str) -> DomainError {
    DomainError::new(
        ErrorKind::IamNoSuchEntity,
        format!("OpenIDConnect Provider not found for arn {arn}"),
    )
}

pub fn oidc_provider_exists(url: &str) -> DomainError {
    DomainError::new(
        ErrorKind::IamEntityAlreadyExists,
        format!("Provider with url {url} already exists."),
    )
}

pub fn no_such_saml_provider(arn: &str) -> DomainError {
    DomainError::new(
        ErrorKind::IamNoSuchEntity,
        format!("SAMLProvider {arn} does not exist."),
    )
}

pub fn saml_provider_exists(name: &str) -> DomainError {
    DomainError::new(
        ErrorKind::IamEntityAlreadyExists,
        format!("SAMLProvider {name} already exists."),
    )
}

pub fn malformed_policy(message: impl Into<String>) -> DomainError {
    DomainError::new(ErrorKind::IamMalformedPolicyDocument, message)
}

/// IAM's MaxItems: default 100, 1–1000.
pub fn check_max_items(max_items: Option<i64>) -> Result<usize, DomainError> {
    match max_items {
        None => Ok(100),
        Some(n) if (1..=1000).contains(&n) => Ok(n as usize),
        Some(n) if n < 1 => Err(validation(
            "maxItems",
            &n.to_string(),
            "Member must have value greater than or equal to 1",
        )),
        Some(n) => Err(validation(
            "maxItems",
            &n.to_string(),
            "Member must have value less than or equal to 1000",
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn arns_put_the_path_between_kind_and_name() {
        assert_eq!(
            role_arn("123456789012", "/", "r"),
            "arn:aws:iam::123456789012:role/r"
        );
        assert_eq!(
            role_arn("123456789012", "/app/x/", "r"),
            "arn:aws:iam::123456789012:role/app/x/r"
        );
        assert_eq!(
            role_name_from_arn("123456789012", "arn:aws:iam::123456789012:role/app/x/r"),
            Some("r")
        );
        assert_eq!(
            role_name_from_arn("123456789012", "arn:aws:iam::999999999999:role/r"),
            None
        );
        assert_eq!(
            oidc_provider_arn("1", "https://issuer.example.com/pool/"),
            "arn:aws:iam::1:oidc-provider/issuer.example.com/pool"
        );
    }

    #[test]
    fn names_paths_and_durations_follow_iam() {
        assert!(check_name("roleName", "a+=,.@-_Z9", 64).is_ok());
        let e = check_name("roleName", "bad name", 64).unwrap_err();
        assert_eq!(e.kind, ErrorKind::IamValidationError);
        assert!(
            e.message
                .starts_with("1 validation error detected: Value 'bad name' at 'roleName'")
        );
        assert!(check_name("roleName", &"a".repeat(65), 64).is_err());
        assert!(check_path("path", "/").is_ok());
        assert!(check_path("path", "/a/b/").is_ok());
        assert!(check_path("path", "a/").is_err());
        assert!(check_path("path", "/a").is_err());
        assert_eq!(check_max_session_duration(3600), Ok(3600));
        assert!(check_max_session_duration(3599).is_err());
        assert!(check_max_session_duration(43201).is_err());
    }

    #[test]
    fn tags_merge_by_key_ignoring_case_and_refuse_duplicates() {
        let mut tags = vec![Tag {
            key: "Env".into(),
            value: "dev".into(),
        }];
        merge_tags(
            &mut tags,
            &[Tag {
                key: "env".into(),
                value: "prod".into(),
            }],
        )
        .unwrap();
        assert_eq!(tags.len(), 1);
        assert_eq!(tags[0].value, "prod");
        let dup = [
            Tag {
                key: "a".into(),
                value: "1".into(),
            },
            Tag {
                key: "A".into(),
                value: "2".into(),
            },
        ];
        assert_eq!(
            check_tags(&dup).unwrap_err().kind,
            ErrorKind::IamInvalidInput
        );
        remove_tags(&mut tags, &["ENV".to_string()]);
        assert!(tags.is_empty());
    }
}
