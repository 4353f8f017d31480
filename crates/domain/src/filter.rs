//! ListUsers' filter language: `attribute = "value"` (exact) or `attribute ^= "value"` (prefix),
//! over the attributes Cognito allows searching.

use crate::error::{DomainError, DomainResult};

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterField {
    Username,
    Email,
    PhoneNumber,
    Name,
    GivenName,
    FamilyName,
    PreferredUsername,
    /// `cognito:user_status`: UNCONFIRMED, CONFIRMED, …
    UserStatus,
    /// `status`: Enabled or Disabled.
    Enabled,
    Sub,
}

impl FilterField {
    fn parse(name: &str) -> Option<Self> {
        Some(match name {
            "username" => Self::Username,
            "email" => Self::Email,
            "phone_number" => Self::PhoneNumber,
            "name" => Self::Name,
            "given_name" => Self::GivenName,
            "family_name" => Self::FamilyName,
            "preferred_username" => Self::PreferredUsername,
            "cognito:user_status" => Self::UserStatus,
            "status" => Self::Enabled,
            "sub" => Self::Sub,
            _ => return None,
        })
    }

    /// The attribute a field reads, for the attribute-backed ones.
    pub fn attribute(self) -> Option<&'static str> {
        Some(match self {
            Self::Email => "email",
            Self::PhoneNumber => "phone_number",
            Self::Name => "name",
            Self::GivenName => "given_name",
            Self::FamilyName => "family_name",
            Self::PreferredUsername => "preferred_username",
            _ => return None,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FilterOp {
    Equals,
    StartsWith,
}

#[derive(Clone, Debug, PartialEq, Eq)]
pub struct UserFilter {
    pub field: FilterField,
    pub op: FilterOp,
    pub value: String,
}

fn parse_error() -> DomainError {
    DomainError::invalid_parameter("Error while parsing filter.")
}

impl UserFilter {
    /// Parses a filter; an empty or blank filter means "no filter".
    pub fn parse(input: &str) -> DomainResult<Option<Self>> {
        let s = input.trim();
        if s.is_empty() {
            return Ok(None);
        }
        let name_end = s
            .find(|c: char| c.is_whitespace() || c == '=' || c == '^')
            .ok_or_else(parse_error)?;
        let (name, rest) = s.split_at(name_end);
        let rest = rest.trim_start();
        let (op, rest) = if let Some(r) = rest.strip_prefix("^=") {
            (FilterOp::StartsWith, r)
        } else if let Some(r) = rest.strip_prefix('=') {
            (FilterOp::Equals, r)
        } else {
            return Err(parse_error());
        };
        let rest = rest.trim();
        let quoted = rest
            .strip_prefix('"')
            .and_then(|r| r.strip_suffix('"'))
            .ok_or_else(parse_error)?;
        let mut value = String::with_capacity(quoted.len());
        let mut chars = quoted.chars();
        while let Some(c) = chars.next() {
            match c {
                '\\' => value.push(chars.next().ok_or_else(parse_error)?),
                '"' => return Err(parse_error()),
                c => value.push(c),
            }
        }
        let field = FilterField::parse(name).ok_or_else(|| {
            DomainError::invalid_parameter(format!("Invalid search attribute: {name}"))
        })?;
        Ok(Some(Self { field, op, value }))
    }

    pub fn matches(&self, candidate: &str) -> bool {
        match self.op {
            FilterOp::Equals => candidate == self.value,
            FilterOp::StartsWith => candidate.starts_with(&self.value),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_cognito_filters() {
        let f = UserFilter::parse(r#"email = "a@b.co""#)
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("filter"));
        assert_eq!(f.field, FilterField::Email);
        assert_eq!(f.op, FilterOp::Equals);
        assert_eq!(f.value, "a@b.co");
        let f = UserFilter::parse(r#"given_name^="Jo\"h""#)
            .unwrap_or_else(|e| panic!("{e}"))
            .unwrap_or_else(|| panic!("filter"));
        assert_eq!(f.op, FilterOp::StartsWith);
        assert_eq!(f.value, "Jo\"h");
        assert!(f.matches("Jo\"hn"));
        assert_eq!(UserFilter::parse("  "), Ok(None));
        let f = UserFilter::parse(r#"cognito:user_status = "CONFIRMED""#)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(f.map(|f| f.field), Some(FilterField::UserStatus));
    }

    #[test]
    fn rejects_malformed_filters() {
        for bad in [
            r#"email"#,
            r#"email = a"#,
            r#"email ~ "a""#,
            r#"email = "a"b""#,
        ] {
            assert!(UserFilter::parse(bad).is_err(), "{bad}");
        }
        let err = UserFilter::parse(r#"custom:x = "a""#).unwrap_err();
        assert_eq!(err.message, "Invalid search attribute: custom:x");
    }
}
