//! User-pool domains: the hosts a pool's hosted UI and OAuth 2.0 endpoints are served on.
//!
//! Two kinds, told apart by whether the request carries a `CustomDomainConfig`:
//! - a prefix domain (`myapp`), which Cognito serves as `myapp.auth.<region>.amazoncognito.com`;
//! - a custom domain (`auth.example.com`), a fully qualified name with a certificate ARN.
//!
//! A pool holds at most one of each, and a name belongs to one pool of the deployment at a time
//! (Cognito's prefixes are unique across a region). The store enforces both.

use crate::error::{DomainError, DomainResult};
use crate::ids::UserPoolId;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::fmt;

/// What the model's `DomainType` allows, which is exactly a prefix domain.
const PREFIX_PATTERN: &str = r"^[a-z0-9](?:[a-z0-9\-]{0,61}[a-z0-9])?$";

/// Words Cognito refuses inside a prefix, checked in this order.
const RESERVED_WORDS: [&str; 3] = ["aws", "amazon", "cognito"];

/// DNS limits a custom domain must keep: a name of at most 253 characters.
const MAX_FQDN_LEN: usize = 253;

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum DomainKind {
    Prefix,
    Custom,
}

impl DomainKind {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Prefix => "prefix",
            Self::Custom => "custom",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "prefix" => Some(Self::Prefix),
            "custom" => Some(Self::Custom),
            _ => None,
        }
    }
}

/// A domain name, valid for its kind: a prefix has no dots, a custom domain has at least one.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct DomainName(String);

/// One DNS label as the model's prefix pattern has it: 1–63 lower-case letters, digits and
/// hyphens, not starting or ending with a hyphen.
fn is_label(s: &str) -> bool {
    let bytes = s.as_bytes();
    let edge = |b: &u8| b.is_ascii_lowercase() || b.is_ascii_digit();
    matches!((bytes.first(), bytes.last()), (Some(first), Some(last)) if edge(first) && edge(last))
        && bytes.len() <= 63
        && bytes.iter().all(|b| edge(b) || *b == b'-')
}

impl DomainName {
    /// A name as CreateUserPoolDomain takes it for `kind`.
    pub fn parse(s: &str, kind: DomainKind) -> DomainResult<Self> {
        match kind {
            DomainKind::Prefix => {
                if !is_label(s) {
                    return Err(DomainError::invalid_parameter(format!(
                        "The domain name contains an invalid character. Domain names can only \
                         contain lower-case letters, numbers, and hyphens. Please enter a \
                         different name that follows this format: {PREFIX_PATTERN}"
                    )));
                }
                if let Some(word) = RESERVED_WORDS.iter().find(|w| s.contains(*w)) {
                    return Err(DomainError::invalid_parameter(format!(
                        "Domain cannot contain reserved word: {word}"
                    )));
                }
            }
            DomainKind::Custom => {
                let labels: Vec<&str> = s.split('.').collect();
                if labels.len() < 2 || s.len() > MAX_FQDN_LEN || !labels.iter().all(|l| is_label(l))
                {
                    return Err(DomainError::invalid_parameter(format!(
                        "The custom domain {s} is not a valid fully qualified domain name: use \
                         lower-case labels of letters, numbers and hyphens separated by dots, \
                         such as auth.example.com."
                    )));
                }
            }
        }
        Ok(Self(s.to_string()))
    }

    /// A name a lookup carries (DescribeUserPoolDomain, a request's Host): `None` when it can't
    /// name any domain, so the lookup finds nothing rather than failing.
    pub fn lookup(s: &str) -> Option<Self> {
        let kind = if s.contains('.') {
            DomainKind::Custom
        } else {
            DomainKind::Prefix
        };
        Self::parse(s, kind).ok()
    }

    pub fn kind(&self) -> DomainKind {
        if self.0.contains('.') {
            DomainKind::Custom
        } else {
            DomainKind::Prefix
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for DomainName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Which hosted pages a domain serves: `1` hosted UI (classic), `2` managed login.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum ManagedLoginVersion {
    #[default]
    HostedUi,
    ManagedLogin,
}

impl ManagedLoginVersion {
    pub fn parse(n: i64) -> DomainResult<Self> {
        match n {
            1 => Ok(Self::HostedUi),
            2 => Ok(Self::ManagedLogin),
            other => Err(DomainError::invalid_parameter(format!(
                "Invalid ManagedLoginVersion {other}: use 1 for the hosted UI (classic) or 2 for \
                 managed login."
            ))),
        }
    }

    pub fn number(self) -> i64 {
        match self {
            Self::HostedUi => 1,
            Self::ManagedLogin => 2,
        }
    }
}

/// The TLS policy a custom domain asks its edge to apply. Tessera stores it: TLS is terminated
/// in front of it (or by it, with one certificate), not per domain.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum SecurityPolicy {
    TlsV1,
    TlsV1_2_2021,
    TlsV1_3_2025,
}

impl SecurityPolicy {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::TlsV1 => "TLS_V1",
            Self::TlsV1_2_2021 => "TLS_V1_2_2021",
            Self::TlsV1_3_2025 => "TLS_V1_3_2025",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [Self::TlsV1, Self::TlsV1_2_2021, Self::TlsV1_3_2025]
            .into_iter()
            .find(|p| p.as_str() == s)
    }
}

/// A custom domain's certificate: stored as given, never checked against ACM.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct CustomDomainConfig {
    pub certificate_arn: String,
    pub security_policy: Option<SecurityPolicy>,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserPoolDomain {
    pub pool_id: UserPoolId,
    pub name: DomainName,
    /// Present exactly for custom domains.
    pub custom: Option<CustomDomainConfig>,
    pub managed_login_version: ManagedLoginVersion,
    /// Modelled settings stored and returned as given (`Routing`: Tessera has no replicas to
    /// fail over to).
    pub settings: BTreeMap<String, serde_json::Value>,
    pub created_at: Timestamp,
    pub modified_at: Timestamp,
}

/// CreateUserPoolDomain's request, before its rules are applied.
#[derive(Clone, Debug, Default)]
pub struct NewDomain {
    pub name: String,
    pub custom: Option<CustomDomainConfig>,
    pub managed_login_version: Option<i64>,
    pub settings: BTreeMap<String, serde_json::Value>,
}

/// UpdateUserPoolDomain: what is given replaces what was; the name never changes.
#[derive(Clone, Debug, Default)]
pub struct DomainUpdate {
    pub custom: Option<CustomDomainConfig>,
    pub managed_login_version: Option<i64>,
    pub settings: BTreeMap<String, serde_json::Value>,
}

impl UserPoolDomain {
    pub fn new(pool_id: UserPoolId, new: NewDomain, now: Timestamp) -> DomainResult<Self> {
        let kind = if new.custom.is_some() {
            DomainKind::Custom
        } else {
            DomainKind::Prefix
        };
        let name = DomainName::parse(&new.name, kind)?;
        let managed_login_version = new
            .managed_login_version
            .map(ManagedLoginVersion::parse)
            .transpose()?
            .unwrap_or_default();
        Ok(Self {
            pool_id,
            name,
            custom: new.custom,
            managed_login_version,
            settings: new.settings,
            created_at: now,
            modified_at: now,
        })
    }

    pub fn kind(&self) -> DomainKind {
        self.name.kind()
    }

    /// Applies an update, or changes nothing if any part of it is invalid.
    pub fn apply(&mut self, update: DomainUpdate, now: Timestamp) -> DomainResult<()> {
        let version = update
            .managed_login_version
            .map(ManagedLoginVersion::parse)
            .transpose()?;
        if update.custom.is_some() && self.kind() == DomainKind::Prefix {
            return Err(DomainError::invalid_parameter(
                "CustomDomainConfig applies only to custom domains.",
            ));
        }
        if let Some(v) = version {
            self.managed_login_version = v;
        }
        if let Some(custom) = update.custom {
            self.custom = Some(custom);
        }
        self.settings.extend(update.settings);
        self.modified_at = now;
        Ok(())
    }

    /// DomainDescription's `Version`: when the domain last changed, as `YYYYMMDDhhmmss` (UTC),
    /// the form Cognito's versions take.
    pub fn version(&self) -> String {
        let (y, mo, d, h, mi, s) = self.modified_at.civil();
        format!("{y:04}{mo:02}{d:02}{h:02}{mi:02}{s:02}")
    }
}

/// The host a domain's traffic must reach: the host of Tessera's public URL, without scheme,
/// port or path. Cognito names a CloudFront distribution here, the target of the DNS alias an
/// operator creates for a custom domain; for Tessera that target is Tessera itself.
pub fn serving_host(public_url: &str) -> String {
    let rest = public_url
        .split_once("://")
        .map(|(_, r)| r)
        .unwrap_or(public_url);
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let authority = authority.rsplit('@').next().unwrap_or_default();
    if let Some(v6) = authority.strip_prefix('[') {
        return v6.split(']').next().unwrap_or_default().to_string();
    }
    authority
        .split(':')
        .next()
        .unwrap_or_default()
        .to_ascii_lowercase()
}

pub fn domain_taken() -> DomainError {
    DomainError::invalid_parameter("Domain already associated with another user pool.")
}

pub fn pool_has_domain() -> DomainError {
    DomainError::invalid_parameter("User pool already has a domain configured.")
}

/// UpdateUserPoolDomain and DeleteUserPoolDomain for a name the pool doesn't hold (or a pool
/// that doesn't exist): one answer for both.
pub fn no_such_domain() -> DomainError {
    DomainError::invalid_parameter("No such domain or user pool exists.")
}

/// DeleteUserPool while the pool still has a domain.
pub fn pool_deletion_blocked_by_domain() -> DomainError {
    DomainError::invalid_parameter(
        "User pool cannot be deleted. It has a domain configured that should be deleted first.",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn prefix(s: &str) -> DomainResult<DomainName> {
        DomainName::parse(s, DomainKind::Prefix)
    }

    fn custom(s: &str) -> DomainResult<DomainName> {
        DomainName::parse(s, DomainKind::Custom)
    }

    #[test]
    fn prefixes_follow_the_model_pattern() {
        for ok in ["a", "my-app", "0", "a1-b2", &"x".repeat(63)] {
            assert_eq!(prefix(ok).map(|d| d.kind()), Ok(DomainKind::Prefix), "{ok}");
        }
        for bad in [
            "",
            "-a",
            "a-",
            "My-App",
            "my_app",
            "auth.example.com",
            &"x".repeat(64),
        ] {
            let e = prefix(bad).unwrap_err();
            assert!(
                e.message
                    .starts_with("The domain name contains an invalid character."),
                "{bad}: {e}"
            );
        }
    }

    #[test]
    fn reserved_words_are_refused_in_prefixes_only() {
        assert_eq!(
            prefix("my-aws-app").unwrap_err().message,
            "Domain cannot contain reserved word: aws"
        );
        assert_eq!(
            prefix("amazonian").unwrap_err().message,
            "Domain cannot contain reserved word: amazon"
        );
        assert_eq!(
            prefix("mycognito").unwrap_err().message,
            "Domain cannot contain reserved word: cognito"
        );
        assert!(custom("auth.cognito-aws.example.com").is_ok());
    }

    #[test]
    fn custom_domains_are_fully_qualified() {
        let d = custom("auth.example.com").unwrap();
        assert_eq!(d.kind(), DomainKind::Custom);
        for bad in [
            "example",
            "Auth.example.com",
            "a..b",
            ".example.com",
            "a.-b.com",
            "a.b.",
        ] {
            assert!(custom(bad).is_err(), "{bad}");
        }
        let long = format!("{}.com", vec!["a".repeat(63); 4].join("."));
        assert!(custom(&long).is_err());
    }

    #[test]
    fn lookups_never_fail() {
        assert_eq!(
            DomainName::lookup("auth.example.com").map(|d| d.kind()),
            Some(DomainKind::Custom)
        );
        assert_eq!(
            DomainName::lookup("myapp").map(|d| d.kind()),
            Some(DomainKind::Prefix)
        );
        assert_eq!(DomainName::lookup("Not A Domain"), None);
    }

    #[test]
    fn the_kind_follows_the_certificate() {
        let pool = UserPoolId::parse("us-east-1_abc").unwrap();
        let t = Timestamp::from_millis(0);
        let cert = CustomDomainConfig {
            certificate_arn: "arn:aws:acm:us-east-1:123456789012:certificate/x".into(),
            security_policy: None,
        };
        let with_cert = |name: &str| NewDomain {
            name: name.into(),
            custom: Some(cert.clone()),
            ..Default::default()
        };
        // A dotted name without a certificate is a prefix with an invalid character.
        let plain = NewDomain {
            name: "auth.example.com".into(),
            ..Default::default()
        };
        assert!(UserPoolDomain::new(pool.clone(), plain, t).is_err());
        let d = UserPoolDomain::new(pool.clone(), with_cert("auth.example.com"), t).unwrap();
        assert_eq!(d.kind(), DomainKind::Custom);
        assert_eq!(d.managed_login_version, ManagedLoginVersion::HostedUi);
        assert!(UserPoolDomain::new(pool, with_cert("auth"), t).is_err());
    }

    #[test]
    fn updates_replace_what_is_given() {
        let pool = UserPoolId::parse("us-east-1_abc").unwrap();
        let mut d = UserPoolDomain::new(
            pool,
            NewDomain {
                name: "myapp".into(),
                ..Default::default()
            },
            Timestamp::from_millis(0),
        )
        .unwrap();
        let later = Timestamp::from_secs(1_700_000_000);
        d.apply(
            DomainUpdate {
                managed_login_version: Some(2),
                ..Default::default()
            },
            later,
        )
        .unwrap();
        assert_eq!(d.managed_login_version, ManagedLoginVersion::ManagedLogin);
        assert_eq!(d.modified_at, later);
        assert_eq!(d.version(), "20231114221320");
        assert!(
            d.apply(
                DomainUpdate {
                    managed_login_version: Some(3),
                    ..Default::default()
                },
                later
            )
            .is_err()
        );
        let cert = CustomDomainConfig {
            certificate_arn: "arn:aws:acm:us-east-1:123456789012:certificate/x".into(),
            security_policy: Some(SecurityPolicy::TlsV1_2_2021),
        };
        assert_eq!(
            d.apply(
                DomainUpdate {
                    custom: Some(cert),
                    ..Default::default()
                },
                later
            )
            .unwrap_err()
            .message,
            "CustomDomainConfig applies only to custom domains."
        );
    }

    #[test]
    fn the_serving_host_is_the_public_urls_host() {
        assert_eq!(serving_host("http://127.0.0.1:9229"), "127.0.0.1");
        assert_eq!(
            serving_host("https://Auth.Example.com/tessera"),
            "auth.example.com"
        );
        assert_eq!(serving_host("http://[::1]:9229/"), "::1");
        assert_eq!(serving_host("tessera.test"), "tessera.test");
    }
}
