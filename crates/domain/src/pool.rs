//! User pools: their settings and the sign-in identifier rules that follow from them.

use crate::attributes::{self, Attributes, SchemaAttribute};
use crate::error::{DomainError, DomainResult, ErrorKind};
use crate::ids::{UserPoolId, Username, username_key};
use crate::password::PasswordPolicy;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct UserPool {
    pub id: UserPoolId,
    pub name: String,
    pub created_at: Timestamp,
    pub modified_at: Timestamp,
    pub config: PoolConfig,
}

/// An attribute that can stand in for the username at sign-in.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum SignInAttribute {
    Email,
    PhoneNumber,
    PreferredUsername,
}

impl SignInAttribute {
    pub fn attribute(self) -> &'static str {
        match self {
            Self::Email => attributes::EMAIL,
            Self::PhoneNumber => attributes::PHONE_NUMBER,
            Self::PreferredUsername => attributes::PREFERRED_USERNAME,
        }
    }

    pub fn verified_flag(self) -> Option<&'static str> {
        match self {
            Self::Email => Some(attributes::EMAIL_VERIFIED),
            Self::PhoneNumber => Some(attributes::PHONE_NUMBER_VERIFIED),
            Self::PreferredUsername => None,
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "email" => Some(Self::Email),
            "phone_number" => Some(Self::PhoneNumber),
            "preferred_username" => Some(Self::PreferredUsername),
            _ => None,
        }
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum MfaMode {
    #[default]
    Off,
    On,
    Optional,
}

/// How users are identified at sign-in. Fixed when the pool is created.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SignInPolicy {
    /// Email and/or phone number *are* the username; the stored username is the user's `sub`.
    pub username_attributes: Vec<SignInAttribute>,
    /// Verified email/phone, or any preferred_username, may be used instead of the username.
    pub alias_attributes: Vec<SignInAttribute>,
    /// Cognito's API default is case-sensitive.
    pub case_sensitive: bool,
}

impl Default for SignInPolicy {
    fn default() -> Self {
        Self {
            username_attributes: Vec::new(),
            alias_attributes: Vec::new(),
            case_sensitive: true,
        }
    }
}

/// A sign-in identifier a user holds besides the username, unique in the pool.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Alias {
    pub kind: SignInAttribute,
    /// The value in its indexed form (case rule applied).
    pub key: String,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PoolConfig {
    pub password_policy: PasswordPolicy,
    pub sign_in: SignInPolicy,
    pub schema: Vec<SchemaAttribute>,
    pub auto_verified_attributes: Vec<String>,
    pub mfa: MfaMode,
    /// The factors MFA may use (SetUserPoolMfaConfig).
    #[serde(default)]
    pub mfa_factors: crate::mfa::PoolMfa,
    pub deletion_protection: bool,
    /// Whether USER_SRP_AUTH is offered; when false no SRP verifier is ever stored for this pool.
    #[serde(default = "default_true")]
    pub srp_enabled: bool,
    /// Other modelled settings (message templates, Lambda config, email/SMS configuration …),
    /// stored and returned as given. Behaviour that reads them lives with the feature that needs it.
    pub settings: BTreeMap<String, serde_json::Value>,
}

fn default_true() -> bool {
    true
}

impl PoolConfig {
    /// AdminCreateUserConfig.AllowAdminCreateUserOnly: only administrators create users, so
    /// SignUp (and the hosted sign-up page) is refused.
    pub fn admin_create_only(&self) -> bool {
        self.settings
            .get("AdminCreateUserConfig")
            .and_then(|c| c.get("AllowAdminCreateUserOnly"))
            .and_then(serde_json::Value::as_bool)
            .unwrap_or(false)
    }
}

impl Default for PoolConfig {
    fn default() -> Self {
        Self {
            password_policy: PasswordPolicy::default(),
            sign_in: SignInPolicy::default(),
            schema: attributes::standard_schema(),
            auto_verified_attributes: Vec::new(),
            mfa: MfaMode::Off,
            mfa_factors: Default::default(),
            deletion_protection: false,
            srp_enabled: true,
            settings: BTreeMap::new(),
        }
    }
}

/// Pool names: 1–128 of `[\w\s+=,.@-]` (the model enforces it; checked again for direct callers).
pub fn check_pool_name(name: &str) -> DomainResult<()> {
    let ok = !name.is_empty()
        && name.chars().count() <= 128
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c.is_whitespace() || "_+=,.@-".contains(c));
    if ok {
        Ok(())
    } else {
        Err(DomainError::invalid_parameter(format!(
            "Invalid pool name: {name}"
        )))
    }
}

impl SignInPolicy {
    pub fn validate(&self) -> DomainResult<()> {
        if !self.username_attributes.is_empty() && !self.alias_attributes.is_empty() {
            return Err(DomainError::invalid_parameter(
                "Only one of AliasAttributes or UsernameAttributes can be set in a User Pool.",
            ));
        }
        if self
            .username_attributes
            .contains(&SignInAttribute::PreferredUsername)
        {
            return Err(DomainError::invalid_parameter(
                "UsernameAttributes may only contain email and phone_number.",
            ));
        }
        Ok(())
    }

    pub fn key(&self, s: &str) -> String {
        username_key(s, self.case_sensitive)
    }

    /// What the stored username becomes for a name given at sign-up or creation.
    ///
    /// With UsernameAttributes the given name must be an email or phone number; it is moved into
    /// that attribute and the username becomes the new user's `sub`.
    pub fn assign_username(
        &self,
        given: &str,
        sub: &str,
        attrs: &mut Attributes,
    ) -> DomainResult<Username> {
        if self.username_attributes.is_empty() {
            for alias in &self.alias_attributes {
                let looks_like = match alias {
                    SignInAttribute::Email => attributes::valid_email(given),
                    SignInAttribute::PhoneNumber => attributes::valid_phone(given),
                    SignInAttribute::PreferredUsername => false,
                };
                if looks_like {
                    let (what, attr) = match alias {
                        SignInAttribute::Email => ("email", "email"),
                        _ => ("phone number", "phone_number"),
                    };
                    return Err(DomainError::invalid_parameter(format!(
                        "Username cannot be of {what} format, since user pool is configured for {attr} alias."
                    )));
                }
            }
            return Username::parse(given);
        }
        let as_email = self.username_attributes.contains(&SignInAttribute::Email)
            && attributes::valid_email(given);
        let as_phone = self
            .username_attributes
            .contains(&SignInAttribute::PhoneNumber)
            && attributes::valid_phone(given);
        if as_email {
            attrs.insert(attributes::EMAIL.into(), given.to_string());
        } else if as_phone {
            attrs.insert(attributes::PHONE_NUMBER.into(), given.to_string());
        } else {
            let what = match self.username_attributes.as_slice() {
                [SignInAttribute::Email] => "an email",
                [SignInAttribute::PhoneNumber] => "a phone number",
                _ => "either an email or a phone number",
            };
            return Err(DomainError::invalid_parameter(format!(
                "Username should be {what}."
            )));
        }
        Username::parse(sub)
    }

    /// The aliases a user with these attributes holds under this policy.
    pub fn aliases(&self, attrs: &Attributes) -> Vec<Alias> {
        let mut out = Vec::new();
        let attribute_aliases = !self.username_attributes.is_empty();
        let kinds = if attribute_aliases {
            &self.username_attributes
        } else {
            &self.alias_attributes
        };
        for kind in kinds {
            let Some(value) = attrs.get(kind.attribute()).filter(|v| !v.is_empty()) else {
                continue;
            };
            // Username attributes identify the user whether verified or not; email/phone aliases
            // only once verified; preferred_username always.
            let active = attribute_aliases
                || kind
                    .verified_flag()
                    .is_none_or(|flag| attrs.get(flag).map(String::as_str) == Some("true"));
            if active {
                let key = match kind {
                    // Emails are case-insensitive in practice; Cognito matches them that way.
                    SignInAttribute::Email => value.to_lowercase(),
                    SignInAttribute::PhoneNumber => value.clone(),
                    SignInAttribute::PreferredUsername => self.key(value),
                };
                out.push(Alias { kind: *kind, key });
            }
        }
        out
    }

    /// The aliases a sign-in name could be, most specific first.
    pub fn lookup_aliases(&self, given: &str) -> Vec<Alias> {
        let kinds = if self.username_attributes.is_empty() {
            &self.alias_attributes
        } else {
            &self.username_attributes
        };
        kinds
            .iter()
            .filter_map(|kind| {
                let key = match kind {
                    SignInAttribute::Email if attributes::valid_email(given) => {
                        given.to_lowercase()
                    }
                    SignInAttribute::PhoneNumber if attributes::valid_phone(given) => {
                        given.to_string()
                    }
                    SignInAttribute::PreferredUsername => self.key(given),
                    _ => return None,
                };
                Some(Alias { kind: *kind, key })
            })
            .collect()
    }

    /// The error for an alias already held by someone else. Where email or phone number is the
    /// username, a new user whose value is taken is a UsernameExistsException, and an existing
    /// user changing to a taken value an AliasExistsException (Cognito's wording for both).
    pub fn alias_conflict(&self, alias: &Alias, creating: bool) -> DomainError {
        if self.username_attributes.is_empty() {
            DomainError::new(
                ErrorKind::AliasExists,
                "An account with the given email already exists.".replace(
                    "email",
                    match alias.kind {
                        SignInAttribute::Email => "email",
                        SignInAttribute::PhoneNumber => "phone number",
                        SignInAttribute::PreferredUsername => "preferred_username",
                    },
                ),
            )
        } else {
            DomainError::new(
                if creating {
                    ErrorKind::UsernameExists
                } else {
                    ErrorKind::AliasExists
                },
                match alias.kind {
                    SignInAttribute::PhoneNumber => {
                        "An account with the given phone_number already exists."
                    }
                    _ => "An account with the given email already exists.",
                },
            )
        }
    }
}

/// The pool tag through which a pool opts out of SRP (so no verifier is ever stored for it):
/// `tessera:srp = disabled`. A tag, because every Cognito client can already set one.
pub const SRP_TAG: &str = "tessera:srp";

/// Whether a pool with these UserPoolTags keeps SRP verifiers.
pub fn srp_enabled_by_tags(tags: Option<&std::collections::BTreeMap<String, String>>) -> bool {
    tags.and_then(|t| t.get(SRP_TAG)).map(String::as_str) != Some("disabled")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn email_as_username_moves_the_name_into_the_attribute() {
        let policy = SignInPolicy {
            username_attributes: vec![SignInAttribute::Email],
            ..SignInPolicy::default()
        };
        let mut attrs = Attributes::new();
        let sub = "8f7c1c1e-0000-4000-8000-000000000001";
        let u = policy
            .assign_username("Ann@Example.com", sub, &mut attrs)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(u.as_str(), sub);
        assert_eq!(attrs["email"], "Ann@Example.com");
        assert_eq!(
            policy.aliases(&attrs),
            vec![Alias {
                kind: SignInAttribute::Email,
                key: "ann@example.com".into()
            }]
        );
        assert!(policy.assign_username("ann", sub, &mut attrs).is_err());
    }

    #[test]
    fn aliases_need_verification_except_preferred_username() {
        let policy = SignInPolicy {
            alias_attributes: vec![SignInAttribute::Email, SignInAttribute::PreferredUsername],
            case_sensitive: false,
            ..SignInPolicy::default()
        };
        let mut attrs = Attributes::new();
        attrs.insert("email".into(), "a@b.co".into());
        attrs.insert("preferred_username".into(), "Ann".into());
        assert_eq!(policy.aliases(&attrs).len(), 1);
        attrs.insert("email_verified".into(), "true".into());
        assert_eq!(policy.aliases(&attrs).len(), 2);
        let mut none = Attributes::new();
        let err = policy
            .assign_username("a@b.co", "x", &mut none)
            .unwrap_err();
        assert!(err.message.contains("email alias"));
    }

    #[test]
    fn both_identifier_kinds_are_refused() {
        let policy = SignInPolicy {
            username_attributes: vec![SignInAttribute::Email],
            alias_attributes: vec![SignInAttribute::PhoneNumber],
            case_sensitive: true,
        };
        assert!(policy.validate().is_err());
    }
}
