//! Identifiers, each parsed once at the edge so the rest of the code can trust them.

use crate::error::{DomainError, DomainResult};
use serde::{Deserialize, Serialize};
use std::fmt;

/// Base-62 alphabet used in pool ids (`us-east-1_AbCdEf123`).
const BASE62: &[u8] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
/// Client ids are 26 lower-case alphanumerics, as Cognito's are.
const BASE36: &[u8] = b"0123456789abcdefghijklmnopqrstuvwxyz";

fn encode(random: &[u8], alphabet: &[u8]) -> String {
    random
        .iter()
        .map(|b| alphabet[*b as usize % alphabet.len()] as char)
        .collect()
}

/// A user pool id: `{region}_{9 base-62 characters}`, the shape client libraries parse.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct UserPoolId(String);

impl UserPoolId {
    /// A new id in `region` from 9 random bytes.
    pub fn generate(region: &str, random: [u8; 9]) -> Self {
        Self(format!("{region}_{}", encode(&random, BASE62)))
    }

    /// Accepts any id of the model's form `[\w-]+_[0-9a-zA-Z]+`.
    pub fn parse(s: &str) -> DomainResult<Self> {
        let valid = s.split_once('_').is_some_and(|(region, rest)| {
            !region.is_empty()
                && region
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
                && !rest.is_empty()
                && rest.chars().all(|c| c.is_ascii_alphanumeric())
        });
        if valid && s.len() <= 55 {
            Ok(Self(s.to_string()))
        } else {
            Err(DomainError::invalid_parameter(format!(
                "Invalid user pool id provided: {s}"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The part after `_`: Cognito's SRP uses it as the "pool name" in `x`.
    pub fn srp_pool_name(&self) -> &str {
        self.0.split_once('_').map(|(_, n)| n).unwrap_or(&self.0)
    }

    pub fn region(&self) -> &str {
        self.0.split_once('_').map(|(r, _)| r).unwrap_or_default()
    }
}

impl fmt::Display for UserPoolId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// An app client id: 26 lower-case base-36 characters.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ClientId(String);

impl ClientId {
    pub fn generate(random: [u8; 26]) -> Self {
        Self(encode(&random, BASE36))
    }

    /// Any string the model allows (`[\w+]+`, 1–128); unknown ids fail later as not found.
    pub fn parse(s: &str) -> DomainResult<Self> {
        if !s.is_empty()
            && s.len() <= 128
            && s.chars()
                .all(|c| c.is_alphanumeric() || c == '_' || c == '+')
        {
            Ok(Self(s.to_string()))
        } else {
            Err(DomainError::invalid_parameter(format!(
                "Invalid client id provided: {s}"
            )))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for ClientId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A user's immutable subject (`sub`), a UUID.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Sub(pub uuid::Uuid);

impl Sub {
    pub fn from_random(random: [u8; 16]) -> Self {
        Self(uuid::Builder::from_random_bytes(random).into_uuid())
    }
}

impl fmt::Display for Sub {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.hyphenated().fmt(f)
    }
}

/// A username as the user (or admin) wrote it. Comparison goes through [`Username::key`], which
/// applies the pool's case rule, so `Alice` and `alice` collide in a case-insensitive pool.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Username(String);

impl Username {
    /// Cognito's rule: 1–128 characters of letters, marks, symbols, numbers and punctuation.
    pub fn parse(s: &str) -> DomainResult<Self> {
        let len = s.chars().count();
        if (1..=128).contains(&len) && s.chars().all(|c| !c.is_whitespace() && !c.is_control()) {
            Ok(Self(s.to_string()))
        } else {
            Err(DomainError::invalid_parameter(
                "Username should be 1 to 128 characters of letters, numbers, symbols and punctuation.",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The form the store indexes: lower-cased when the pool is case-insensitive.
    pub fn key(&self, case_sensitive: bool) -> String {
        username_key(&self.0, case_sensitive)
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The indexed form of any sign-in identifier under the pool's case rule.
pub fn username_key(s: &str, case_sensitive: bool) -> String {
    if case_sensitive {
        s.to_string()
    } else {
        s.to_lowercase()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pool_ids_look_like_aws() {
        let id = UserPoolId::generate("us-east-1", [1, 2, 3, 61, 62, 200, 9, 10, 11]);
        assert!(id.as_str().starts_with("us-east-1_"));
        assert_eq!(id.srp_pool_name().len(), 9);
        assert_eq!(id.region(), "us-east-1");
        assert_eq!(UserPoolId::parse(id.as_str()), Ok(id));
        assert!(UserPoolId::parse("nounderscore").is_err());
        assert!(UserPoolId::parse("us-east-1_bad!").is_err());
    }

    #[test]
    fn usernames_follow_the_case_rule() {
        let u = Username::parse("Alice").unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(u.key(true), "Alice");
        assert_eq!(u.key(false), "alice");
        assert!(Username::parse("").is_err());
        assert!(Username::parse("a b").is_err());
        assert!(Username::parse(&"x".repeat(129)).is_err());
    }
}
