//! OAuth 2.0 resource servers and the scopes app clients may be granted.
//!
//! A resource server defines custom scopes; an access token carries each as
//! `<identifier>/<scope name>`. An app client's `AllowedOAuthScopes` may name the standard OIDC and
//! Cognito scopes or a custom scope some resource server of its pool defines.

use crate::error::{DomainError, DomainResult, ErrorKind};
use crate::ids::UserPoolId;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::fmt;

/// Scopes every pool knows without a resource server.
pub const STANDARD_SCOPES: [&str; 5] = [
    "phone",
    "email",
    "openid",
    "profile",
    "aws.cognito.signin.user.admin",
];

/// The model's character classes: an identifier is `[\x21\x23-\x5B\x5D-\x7E]` (visible ASCII but
/// `"` and `\`); a scope name also excludes `/`, which separates it from the identifier.
fn identifier_char(c: char) -> bool {
    matches!(c, '\x21' | '\x23'..='\x5B' | '\x5D'..='\x7E')
}

fn scope_name_char(c: char) -> bool {
    identifier_char(c) && c != '/'
}

fn within(s: &str, max: usize, allowed: fn(char) -> bool) -> bool {
    !s.is_empty() && s.chars().count() <= max && s.chars().all(allowed)
}

/// A resource server's identifier, unique within its pool: an API name (`solar-system-data`) or
/// URL (`https://api.example.com`).
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ResourceServerIdentifier(String);

impl ResourceServerIdentifier {
    pub fn parse(s: &str) -> DomainResult<Self> {
        if within(s, 256, identifier_char) {
            Ok(Self(s.to_string()))
        } else {
            Err(DomainError::invalid_parameter(format!(
                "Invalid resource server identifier: {s}"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ResourceServerIdentifier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A custom scope's name within its resource server.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ScopeName(String);

impl ScopeName {
    pub fn parse(s: &str) -> DomainResult<Self> {
        if within(s, 256, scope_name_char) {
            Ok(Self(s.to_string()))
        } else {
            Err(DomainError::invalid_parameter(format!(
                "Invalid scope name: {s}"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceServerScope {
    pub name: ScopeName,
    pub description: String,
}

/// At most this many scopes per resource server (the model's bound, also a Cognito quota).
pub const MAX_SCOPES: usize = 100;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ResourceServer {
    pub pool_id: UserPoolId,
    pub identifier: ResourceServerIdentifier,
    pub name: String,
    pub scopes: Vec<ResourceServerScope>,
    pub created_at: Timestamp,
    pub modified_at: Timestamp,
}

/// A resource server's name: `[\w\s+=,.@-]+`, 1–256 characters.
fn check_name(name: &str) -> DomainResult<()> {
    let allowed =
        |c: char| c.is_ascii_alphanumeric() || c.is_ascii_whitespace() || "_+=,.@-".contains(c);
    if within(name, 256, allowed) {
        Ok(())
    } else {
        Err(DomainError::invalid_parameter(format!(
            "Invalid resource server name: {name}"
        )))
    }
}

/// Scope names as given: each valid, described, and named once.
pub fn parse_scopes(scopes: &[(String, String)]) -> DomainResult<Vec<ResourceServerScope>> {
    if scopes.len() > MAX_SCOPES {
        return Err(DomainError::invalid_parameter(format!(
            "A resource server can define at most {MAX_SCOPES} scopes."
        )));
    }
    let mut out: Vec<ResourceServerScope> = Vec::with_capacity(scopes.len());
    for (name, description) in scopes {
        let name = ScopeName::parse(name)?;
        if description.is_empty() || description.chars().count() > 256 {
            return Err(DomainError::invalid_parameter(format!(
                "Invalid description for scope {}.",
                name.as_str()
            )));
        }
        if out.iter().any(|s| s.name == name) {
            return Err(DomainError::invalid_parameter(format!(
                "Scope {} is defined more than once.",
                name.as_str()
            )));
        }
        out.push(ResourceServerScope {
            name,
            description: description.clone(),
        });
    }
    Ok(out)
}

impl ResourceServer {
    pub fn new(
        pool_id: UserPoolId,
        identifier: &str,
        name: &str,
        scopes: &[(String, String)],
        now: Timestamp,
    ) -> DomainResult<Self> {
        check_name(name)?;
        Ok(Self {
            pool_id,
            identifier: ResourceServerIdentifier::parse(identifier)?,
            name: name.to_string(),
            scopes: parse_scopes(scopes)?,
            created_at: now,
            modified_at: now,
        })
    }

    /// UpdateResourceServer: the name and the whole list of scopes are replaced (scopes left out
    /// are removed). Clients keep naming removed scopes; their tokens just stop carrying them.
    pub fn replace(
        &mut self,
        name: &str,
        scopes: &[(String, String)],
        now: Timestamp,
    ) -> DomainResult<()> {
        check_name(name)?;
        self.scopes = parse_scopes(scopes)?;
        self.name = name.to_string();
        self.modified_at = now;
        Ok(())
    }

    pub fn defines(&self, scope: &str) -> bool {
        self.scopes.iter().any(|s| s.name.as_str() == scope)
    }
}

/// A scope as an app client names it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum OAuthScope<'a> {
    Standard(&'a str),
    /// `<identifier>/<scope name>`; the name can't hold `/`, so the last `/` splits them.
    Custom {
        resource_server: &'a str,
        scope: &'a str,
    },
}

impl<'a> OAuthScope<'a> {
    /// `None` for a string that is neither a standard scope nor shaped like a custom one.
    pub fn parse(s: &'a str) -> Option<Self> {
        if STANDARD_SCOPES.contains(&s) {
            return Some(Self::Standard(s));
        }
        let (resource_server, scope) = s.rsplit_once('/')?;
        (within(resource_server, 256, identifier_char) && within(scope, 256, scope_name_char))
            .then_some(Self::Custom {
                resource_server,
                scope,
            })
    }
}

pub fn resource_server_exists(identifier: &str, pool: &UserPoolId) -> DomainError {
    DomainError::invalid_parameter(format!("{identifier} already exists in user pool {pool}."))
}

pub fn resource_server_not_found(identifier: &str) -> DomainError {
    DomainError::resource_not_found(format!("Resource server {identifier} does not exist."))
}

/// A client names a scope no resource server of its pool defines.
pub fn scope_does_not_exist(scope: &str) -> DomainError {
    DomainError::new(
        ErrorKind::ScopeDoesNotExist,
        format!("Invalid scope requested: {scope}"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn scopes(names: &[&str]) -> Vec<(String, String)> {
        names
            .iter()
            .map(|n| (n.to_string(), format!("the {n} scope")))
            .collect()
    }

    fn pool() -> UserPoolId {
        UserPoolId::parse("us-east-1_abc").unwrap()
    }

    #[test]
    fn identifiers_may_be_urls_and_scope_names_have_no_slash() {
        assert!(ResourceServerIdentifier::parse("https://api.example.com/v1").is_ok());
        assert!(ResourceServerIdentifier::parse("solar-system-data").is_ok());
        for bad in ["", "has space", "quo\"te", "back\\slash", &"x".repeat(257)] {
            assert!(ResourceServerIdentifier::parse(bad).is_err(), "{bad}");
        }
        assert!(ScopeName::parse("read.all").is_ok());
        assert!(ScopeName::parse("read/all").is_err());
    }

    #[test]
    fn scopes_are_described_and_unique() {
        let rs = ResourceServer::new(
            pool(),
            "api",
            "My API",
            &scopes(&["read", "write"]),
            Timestamp::from_millis(0),
        )
        .unwrap();
        assert!(rs.defines("read") && !rs.defines("admin"));
        assert_eq!(
            parse_scopes(&scopes(&["read", "read"]))
                .unwrap_err()
                .message,
            "Scope read is defined more than once."
        );
        assert!(parse_scopes(&[("read".into(), String::new())]).is_err());
        let many: Vec<String> = (0..=MAX_SCOPES).map(|i| format!("s{i}")).collect();
        let many: Vec<&str> = many.iter().map(String::as_str).collect();
        assert!(parse_scopes(&scopes(&many)).is_err());
        assert!(
            ResourceServer::new(pool(), "api", "bad/name", &[], Timestamp::from_millis(0)).is_err()
        );
    }

    #[test]
    fn replace_swaps_name_and_scopes() {
        let mut rs = ResourceServer::new(
            pool(),
            "api",
            "v1",
            &scopes(&["read"]),
            Timestamp::from_millis(0),
        )
        .unwrap();
        rs.replace("v2", &scopes(&["write"]), Timestamp::from_millis(5))
            .unwrap();
        assert_eq!(rs.name, "v2");
        assert!(rs.defines("write") && !rs.defines("read"));
        assert_eq!(rs.modified_at, Timestamp::from_millis(5));
        assert!(
            rs.replace("v3", &scopes(&["a/b"]), Timestamp::from_millis(6))
                .is_err()
        );
        assert_eq!(rs.name, "v2", "a refused update changes nothing");
    }

    #[test]
    fn client_scopes_split_at_the_last_slash() {
        assert_eq!(
            OAuthScope::parse("openid"),
            Some(OAuthScope::Standard("openid"))
        );
        assert_eq!(
            OAuthScope::parse("https://api.example.com/hello-world.all"),
            Some(OAuthScope::Custom {
                resource_server: "https://api.example.com",
                scope: "hello-world.all"
            })
        );
        assert_eq!(OAuthScope::parse("Cognito"), None);
        assert_eq!(OAuthScope::parse("api/"), None);
        assert_eq!(
            scope_does_not_exist("Cognito").message,
            "Invalid scope requested: Cognito"
        );
    }
}
