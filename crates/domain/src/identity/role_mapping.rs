//! Role mapping (cognito `role-based-access-control` guide): which IAM role an authenticated
//! identity gets from the claims of the token it presented. Pure; the engine supplies the claims.
//!
//! - `Token`: `CustomRoleArn` if it is one of the token's `cognito:roles`; else
//!   `cognito:preferred_role`; else the ambiguity rule.
//! - `Rules`: the rules in order, first match wins (a `CustomRoleArn` that some matching rule
//!   names wins over the order); no match → the ambiguity rule. A `NotEqual` rule on a claim the
//!   token lacks is not evaluated.
//! - Ambiguity: `AuthenticatedRole` → the pool's authenticated role; `Deny` → refused.

use crate::error::{DomainError, DomainResult};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Cognito documents at most 25 rules per provider ("not adjustable"); the model allows 400.
pub const MAX_RULES: usize = 25;

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MappingType {
    Token,
    Rules,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum AmbiguousRoleResolution {
    AuthenticatedRole,
    Deny,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum MatchType {
    Equals,
    Contains,
    StartsWith,
    NotEqual,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct MappingRule {
    pub claim: String,
    pub match_type: MatchType,
    pub value: String,
    #[serde(rename = "RoleARN")]
    pub role_arn: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RulesConfiguration {
    pub rules: Vec<MappingRule>,
}

/// One provider's role mapping, in Cognito's JSON shape.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "PascalCase")]
pub struct RoleMapping {
    #[serde(rename = "Type")]
    pub mapping_type: MappingType,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ambiguous_role_resolution: Option<AmbiguousRoleResolution>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub rules_configuration: Option<RulesConfiguration>,
}

/// What a mapping decided.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum RoleChoice {
    /// This role.
    Role(String),
    /// The pool's default authenticated role.
    AuthenticatedRole,
    /// Refused by the ambiguity rule (or a CustomRoleArn the token doesn't allow).
    Deny,
}

impl RoleMapping {
    /// SetIdentityPoolRoles' checks beyond the model's shapes. `is_role_arn` judges role ARNs.
    pub fn validate(&self, provider: &str, is_role_arn: impl Fn(&str) -> bool) -> DomainResult<()> {
        if self.ambiguous_role_resolution.is_none() {
            return Err(DomainError::invalid_parameter(format!(
                "AmbiguousRoleResolution must be specified for the role mapping of {provider}."
            )));
        }
        match (self.mapping_type, &self.rules_configuration) {
            (MappingType::Rules, None) => Err(DomainError::invalid_parameter(format!(
                "RulesConfiguration is required for the Rules role mapping of {provider}."
            ))),
            (MappingType::Rules, Some(c)) if c.rules.is_empty() || c.rules.len() > MAX_RULES => {
                Err(DomainError::invalid_parameter(format!(
                    "The role mapping of {provider} must have between 1 and {MAX_RULES} rules."
                )))
            }
            (MappingType::Rules, Some(c)) => {
                for rule in &c.rules {
                    if !is_role_arn(&rule.role_arn) {
                        return Err(DomainError::invalid_parameter(format!(
                            "Invalid RoleARN in the role mapping of {provider}: {}",
                            rule.role_arn
                        )));
                    }
                    if rule.claim.is_empty() {
                        return Err(DomainError::invalid_parameter(
                            "A mapping rule's Claim must not be empty.",
                        ));
                    }
                }
                Ok(())
            }
            (MappingType::Token, Some(_)) => Err(DomainError::invalid_parameter(format!(
                "RulesConfiguration is only allowed for the Rules role mapping type ({provider})."
            ))),
            (MappingType::Token, None) => Ok(()),
        }
    }

    /// The role for a token with these claims.
    pub fn resolve(
        &self,
        claims: &Map<String, Value>,
        custom_role_arn: Option<&str>,
    ) -> RoleChoice {
        let chosen = match self.mapping_type {
            MappingType::Token => {
                let roles = token_roles(claims);
                match custom_role_arn {
                    Some(custom) if roles.iter().any(|r| r == custom) => {
                        return RoleChoice::Role(custom.to_string());
                    }
                    Some(_) => return RoleChoice::Deny,
                    None => claims
                        .get("cognito:preferred_role")
                        .and_then(Value::as_str)
                        .map(str::to_string),
                }
            }
            MappingType::Rules => {
                let rules = self
                    .rules_configuration
                    .as_ref()
                    .map(|c| c.rules.as_slice())
                    .unwrap_or_default();
                let mut matching = rules.iter().filter(|r| r.matches(claims));
                match custom_role_arn {
                    Some(custom) => matching
                        .find(|r| r.role_arn == custom)
                        .map(|r| r.role_arn.clone()),
                    None => matching.next().map(|r| r.role_arn.clone()),
                }
            }
        };
        match chosen {
            Some(role) => RoleChoice::Role(role),
            None => match self.ambiguous_role_resolution {
                Some(AmbiguousRoleResolution::AuthenticatedRole) => RoleChoice::AuthenticatedRole,
                _ => RoleChoice::Deny,
            },
        }
    }
}

/// `cognito:roles`: a JSON array in real tokens, a comma-separated string in the docs.
fn token_roles(claims: &Map<String, Value>) -> Vec<String> {
    match claims.get("cognito:roles") {
        Some(Value::Array(a)) => a
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_string)
            .collect(),
        Some(Value::String(s)) => s.split(',').map(|r| r.trim().to_string()).collect(),
        _ => Vec::new(),
    }
}

impl MappingRule {
    /// Whether a token's claims match this rule. A claim holding a list (`cognito:groups`)
    /// matches when any of its values does; `NotEqual` then needs none to be equal.
    pub fn matches(&self, claims: &Map<String, Value>) -> bool {
        let values: Vec<String> = match claims.get(&self.claim) {
            None | Some(Value::Null) => return false,
            Some(Value::String(s)) => vec![s.clone()],
            Some(Value::Array(a)) => a
                .iter()
                .map(|v| {
                    v.as_str()
                        .map(str::to_string)
                        .unwrap_or_else(|| v.to_string())
                })
                .collect(),
            Some(other) => vec![other.to_string()],
        };
        let want = self.value.as_str();
        match self.match_type {
            MatchType::Equals => values.iter().any(|v| v == want),
            MatchType::Contains => values.iter().any(|v| v.contains(want)),
            MatchType::StartsWith => values.iter().any(|v| v.starts_with(want)),
            MatchType::NotEqual => values.iter().all(|v| v != want),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn claims(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap_or_default()
    }

    fn rule(claim: &str, m: MatchType, value: &str, role: &str) -> MappingRule {
        MappingRule {
            claim: claim.into(),
            match_type: m,
            value: value.into(),
            role_arn: format!("arn:aws:iam::000000000000:role/{role}"),
        }
    }

    fn rules(rs: Vec<MappingRule>, amb: AmbiguousRoleResolution) -> RoleMapping {
        RoleMapping {
            mapping_type: MappingType::Rules,
            ambiguous_role_resolution: Some(amb),
            rules_configuration: Some(RulesConfiguration { rules: rs }),
        }
    }

    const ARN: &str = "arn:aws:iam::000000000000:role/";

    #[test]
    fn first_matching_rule_wins() {
        let m = rules(
            vec![
                rule("custom:dept", MatchType::Equals, "eng", "Eng"),
                rule("email", MatchType::Contains, "@corp", "Corp"),
                rule("email", MatchType::StartsWith, "admin", "Admin"),
            ],
            AmbiguousRoleResolution::Deny,
        );
        let c = claims(json!({"custom:dept": "eng", "email": "admin@corp.example"}));
        assert_eq!(m.resolve(&c, None), RoleChoice::Role(format!("{ARN}Eng")));
        let c = claims(json!({"custom:dept": "ops", "email": "admin@corp.example"}));
        assert_eq!(m.resolve(&c, None), RoleChoice::Role(format!("{ARN}Corp")));
        let c = claims(json!({"email": "admin@home.example"}));
        assert_eq!(m.resolve(&c, None), RoleChoice::Role(format!("{ARN}Admin")));
        let c = claims(json!({"email": "bob@home.example"}));
        assert_eq!(m.resolve(&c, None), RoleChoice::Deny);
    }

    #[test]
    fn custom_role_picks_among_matching_rules() {
        let m = rules(
            vec![
                rule("email", MatchType::Contains, "@", "A"),
                rule("email", MatchType::Contains, "@", "B"),
            ],
            AmbiguousRoleResolution::AuthenticatedRole,
        );
        let c = claims(json!({"email": "x@y"}));
        assert_eq!(
            m.resolve(&c, Some(&format!("{ARN}B"))),
            RoleChoice::Role(format!("{ARN}B"))
        );
        assert_eq!(
            m.resolve(&c, Some(&format!("{ARN}Other"))),
            RoleChoice::AuthenticatedRole
        );
    }

    #[test]
    fn not_equal_skips_missing_claims_and_lists_match_by_member() {
        let m = rules(
            vec![rule("tier", MatchType::NotEqual, "free", "Paid")],
            AmbiguousRoleResolution::AuthenticatedRole,
        );
        assert_eq!(
            m.resolve(&claims(json!({})), None),
            RoleChoice::AuthenticatedRole
        );
        assert_eq!(
            m.resolve(&claims(json!({"tier": "gold"})), None),
            RoleChoice::Role(format!("{ARN}Paid"))
        );
        assert_eq!(
            m.resolve(&claims(json!({"tier": "free"})), None),
            RoleChoice::AuthenticatedRole
        );
        let groups = rules(
            vec![rule(
                "cognito:groups",
                MatchType::Equals,
                "admins",
                "Admins",
            )],
            AmbiguousRoleResolution::Deny,
        );
        assert_eq!(
            groups.resolve(
                &claims(json!({"cognito:groups": ["users", "admins"]})),
                None
            ),
            RoleChoice::Role(format!("{ARN}Admins"))
        );
    }

    #[test]
    fn token_mapping_uses_preferred_role_custom_role_and_ambiguity() {
        let m = RoleMapping {
            mapping_type: MappingType::Token,
            ambiguous_role_resolution: Some(AmbiguousRoleResolution::Deny),
            rules_configuration: None,
        };
        let c = claims(json!({
            "cognito:preferred_role": format!("{ARN}P"),
            "cognito:roles": [format!("{ARN}P"), format!("{ARN}Q")]
        }));
        assert_eq!(m.resolve(&c, None), RoleChoice::Role(format!("{ARN}P")));
        assert_eq!(
            m.resolve(&c, Some(&format!("{ARN}Q"))),
            RoleChoice::Role(format!("{ARN}Q"))
        );
        assert_eq!(m.resolve(&c, Some(&format!("{ARN}Z"))), RoleChoice::Deny);
        // A comma-separated string, as the docs describe it.
        let c = claims(json!({"cognito:roles": format!("{ARN}P, {ARN}Q")}));
        assert_eq!(
            m.resolve(&c, Some(&format!("{ARN}Q"))),
            RoleChoice::Role(format!("{ARN}Q"))
        );
        assert_eq!(m.resolve(&claims(json!({})), None), RoleChoice::Deny);
        let lenient = RoleMapping {
            ambiguous_role_resolution: Some(AmbiguousRoleResolution::AuthenticatedRole),
            ..m
        };
        assert_eq!(
            lenient.resolve(&claims(json!({})), None),
            RoleChoice::AuthenticatedRole
        );
    }

    #[test]
    fn validation() {
        let ok = |s: &str| s.starts_with("arn:aws:iam::");
        let token = RoleMapping {
            mapping_type: MappingType::Token,
            ambiguous_role_resolution: Some(AmbiguousRoleResolution::Deny),
            rules_configuration: None,
        };
        assert!(token.validate("p", ok).is_ok());
        let no_amb = RoleMapping {
            ambiguous_role_resolution: None,
            ..token.clone()
        };
        assert!(no_amb.validate("p", ok).is_err());
        let rules_missing = RoleMapping {
            mapping_type: MappingType::Rules,
            ..token.clone()
        };
        assert!(rules_missing.validate("p", ok).is_err());
        let too_many = rules(
            (0..26)
                .map(|i| rule("a", MatchType::Equals, "b", &format!("R{i}")))
                .collect(),
            AmbiguousRoleResolution::Deny,
        );
        assert!(too_many.validate("p", ok).is_err());
        let bad_arn = rules(
            vec![MappingRule {
                role_arn: "not-an-arn".into(),
                ..rule("a", MatchType::Equals, "b", "R")
            }],
            AmbiguousRoleResolution::Deny,
        );
        assert!(bad_arn.validate("p", ok).is_err());
        let token_with_rules = RoleMapping {
            rules_configuration: Some(RulesConfiguration { rules: vec![] }),
            ..token
        };
        assert!(token_with_rules.validate("p", ok).is_err());
    }
}
