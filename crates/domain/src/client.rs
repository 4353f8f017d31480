//! App clients: which flows they allow, how long their tokens live, and how they authenticate.

use crate::error::{DomainError, DomainResult};
use crate::ids::{ClientId, UserPoolId};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use std::time::Duration;

/// A client secret as stored: sealed with the master key; the engine opens it when needed.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SealedSecret(pub Vec<u8>);

impl std::fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SealedSecret(..)")
    }
}

/// How many secrets a client may hold at once (AddUserPoolClientSecret's limit).
pub const MAX_CLIENT_SECRETS: usize = 2;

/// One of a client's secrets. Its id, `<client id>--<creation epoch millis>`, is derived from
/// the creation time, which is unique among a client's secrets.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClientSecret {
    pub sealed: SealedSecret,
    pub created_at: Timestamp,
}

impl ClientSecret {
    pub fn id(&self, client: &ClientId) -> String {
        format!("{client}--{}", self.created_at.millis())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
pub enum AuthFlow {
    AdminUserPassword,
    CustomAuth,
    UserPassword,
    UserSrp,
    RefreshToken,
    UserAuth,
    /// GetClientToken: machine-to-machine tokens through the API.
    ClientToken,
    /// GetDerivedToken without an actor token.
    TokenExchangeImpersonation,
    /// GetDerivedToken with an actor token.
    TokenExchangeDelegation,
}

impl AuthFlow {
    /// Maps an ExplicitAuthFlows value, including the legacy names.
    pub fn parse(s: &str) -> Option<Self> {
        Some(match s {
            "ALLOW_ADMIN_USER_PASSWORD_AUTH" | "ADMIN_NO_SRP_AUTH" => Self::AdminUserPassword,
            "ALLOW_CUSTOM_AUTH" | "CUSTOM_AUTH_FLOW_ONLY" => Self::CustomAuth,
            "ALLOW_USER_PASSWORD_AUTH" | "USER_PASSWORD_AUTH" => Self::UserPassword,
            "ALLOW_USER_SRP_AUTH" => Self::UserSrp,
            "ALLOW_REFRESH_TOKEN_AUTH" => Self::RefreshToken,
            "ALLOW_USER_AUTH" => Self::UserAuth,
            "ALLOW_CLIENT_TOKEN_AUTH" => Self::ClientToken,
            "ALLOW_TOKEN_EXCHANGE_IMPERSONATION" => Self::TokenExchangeImpersonation,
            "ALLOW_TOKEN_EXCHANGE_DELEGATION" => Self::TokenExchangeDelegation,
            _ => return None,
        })
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub enum TimeUnit {
    Seconds,
    Minutes,
    Hours,
    Days,
}

impl TimeUnit {
    pub fn seconds(self) -> u64 {
        match self {
            Self::Seconds => 1,
            Self::Minutes => 60,
            Self::Hours => 3600,
            Self::Days => 86_400,
        }
    }
}

/// A validity as configured (amount in a unit), which is what Describe returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Validity {
    pub amount: u64,
    pub unit: TimeUnit,
}

impl Validity {
    pub fn duration(self) -> Duration {
        Duration::from_secs(self.amount.saturating_mul(self.unit.seconds()))
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TokenValidity {
    pub access: Validity,
    pub id: Validity,
    pub refresh: Validity,
}

impl Default for TokenValidity {
    fn default() -> Self {
        Self {
            access: Validity {
                amount: 60,
                unit: TimeUnit::Minutes,
            },
            id: Validity {
                amount: 60,
                unit: TimeUnit::Minutes,
            },
            refresh: Validity {
                amount: 30,
                unit: TimeUnit::Days,
            },
        }
    }
}

impl TokenValidity {
    /// Cognito's ranges: access and ID tokens 5 minutes to 1 day; refresh 60 minutes to 10 years.
    pub fn check(&self) -> DomainResult<()> {
        let within = |v: Validity, min: u64, max: u64| {
            let s = v.duration().as_secs();
            (min..=max).contains(&s)
        };
        if !within(self.access, 300, 86_400)
            || !within(self.id, 300, 86_400)
            || !within(self.refresh, 3_600, 315_360_000)
        {
            return Err(DomainError::invalid_parameter(
                "Invalid range for token validity.",
            ));
        }
        if self.refresh.duration() < self.access.duration()
            || self.refresh.duration() < self.id.duration()
        {
            return Err(DomainError::invalid_parameter(
                "Refresh token validity must be greater than access and id token validity.",
            ));
        }
        Ok(())
    }
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Default, Serialize, Deserialize)]
pub enum UserExistenceErrors {
    /// Cognito's API default: unknown users get UserNotFoundException.
    #[default]
    Legacy,
    /// Unknown users are indistinguishable from wrong passwords.
    Enabled,
}

#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefreshTokenRotation {
    pub enabled: bool,
    /// How long a rotated-out refresh token keeps working (0–60 s), for retries.
    pub retry_grace_seconds: u32,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AppClient {
    pub pool_id: UserPoolId,
    pub client_id: ClientId,
    pub name: String,
    /// The client's secrets, oldest first: none for a public client, at most
    /// [`MAX_CLIENT_SECRETS`] while one is being rotated.
    pub secrets: Vec<ClientSecret>,
    pub created_at: Timestamp,
    pub modified_at: Timestamp,
    pub config: ClientConfig,
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ClientConfig {
    /// As configured, for Describe (legacy names preserved).
    pub explicit_auth_flows: Vec<String>,
    pub validity: TokenValidity,
    /// Whether the request set TokenValidityUnits (Describe echoes it only then).
    pub units_given: bool,
    pub read_attributes: Option<Vec<String>>,
    pub write_attributes: Option<Vec<String>>,
    pub prevent_user_existence_errors: UserExistenceErrors,
    pub enable_token_revocation: bool,
    /// Minutes an auth session (challenge) stays answerable: 3–15.
    pub auth_session_validity_minutes: u32,
    pub refresh_token_rotation: RefreshTokenRotation,
    /// OAuth and other modelled settings stored as given (callback URLs, scopes, analytics …).
    pub settings: BTreeMap<String, serde_json::Value>,
}

impl Default for ClientConfig {
    fn default() -> Self {
        Self {
            explicit_auth_flows: Vec::new(),
            validity: TokenValidity::default(),
            units_given: false,
            read_attributes: None,
            write_attributes: None,
            prevent_user_existence_errors: UserExistenceErrors::Legacy,
            enable_token_revocation: true,
            auth_session_validity_minutes: 3,
            refresh_token_rotation: RefreshTokenRotation::default(),
            settings: BTreeMap::new(),
        }
    }
}

/// Cognito's default when ExplicitAuthFlows is omitted.
pub const DEFAULT_AUTH_FLOWS: [&str; 3] = [
    "ALLOW_REFRESH_TOKEN_AUTH",
    "ALLOW_USER_SRP_AUTH",
    "ALLOW_CUSTOM_AUTH",
];

impl ClientConfig {
    /// Whether what this client issues (ID tokens) and reads (GetUser) may show attribute
    /// `name`: its ReadAttributes when it has them, and never a developer-only attribute.
    pub fn may_read(&self, name: &str) -> bool {
        !name.starts_with("dev:")
            && self
                .read_attributes
                .as_ref()
                .is_none_or(|readable| readable.iter().any(|r| r == name))
    }

    pub fn check(&self) -> DomainResult<()> {
        self.validity.check()?;
        if !(3..=15).contains(&self.auth_session_validity_minutes) {
            return Err(DomainError::invalid_parameter(
                "AuthSessionValidity must be between 3 and 15 minutes.",
            ));
        }
        if self.refresh_token_rotation.retry_grace_seconds > 60 {
            return Err(DomainError::invalid_parameter(
                "RetryGracePeriodSeconds must be between 0 and 60.",
            ));
        }
        let legacy = self
            .explicit_auth_flows
            .iter()
            .any(|f| !f.starts_with("ALLOW_"));
        let modern = self
            .explicit_auth_flows
            .iter()
            .any(|f| f.starts_with("ALLOW_"));
        if legacy && modern {
            return Err(DomainError::invalid_parameter(
                "The ExplicitAuthFlows provided has a mix of legacy and new values. Please only use the new values prefixed with ALLOW_.",
            ));
        }
        // Cognito: ALLOW_CLIENT_TOKEN_AUTH is mutually exclusive with user authentication
        // flows; it must be the only flow of the client.
        if self.explicit_auth_flows.len() > 1
            && self
                .explicit_auth_flows
                .iter()
                .any(|f| f == "ALLOW_CLIENT_TOKEN_AUTH")
        {
            return Err(DomainError::invalid_parameter(
                "ALLOW_CLIENT_TOKEN_AUTH can't be combined with other ExplicitAuthFlows.",
            ));
        }
        Ok(())
    }

    /// The scopes named in `AllowedOAuthScopes` (kept with the other OAuth settings as given).
    pub fn allowed_oauth_scopes(&self) -> Vec<&str> {
        self.settings
            .get("AllowedOAuthScopes")
            .and_then(serde_json::Value::as_array)
            .map(|a| a.iter().filter_map(serde_json::Value::as_str).collect())
            .unwrap_or_default()
    }

    /// The flows this client allows. Legacy configurations implied refresh and SRP.
    pub fn allows(&self, flow: AuthFlow) -> bool {
        if self.explicit_auth_flows.is_empty() {
            return DEFAULT_AUTH_FLOWS
                .iter()
                .filter_map(|f| AuthFlow::parse(f))
                .any(|f| f == flow);
        }
        let legacy = self
            .explicit_auth_flows
            .iter()
            .all(|f| !f.starts_with("ALLOW_"));
        if legacy && matches!(flow, AuthFlow::RefreshToken | AuthFlow::UserSrp) {
            return true;
        }
        self.explicit_auth_flows
            .iter()
            .filter_map(|f| AuthFlow::parse(f))
            .any(|f| f == flow)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_allow_srp_refresh_and_custom_only() {
        let c = ClientConfig::default();
        assert!(c.allows(AuthFlow::UserSrp));
        assert!(c.allows(AuthFlow::RefreshToken));
        assert!(c.allows(AuthFlow::CustomAuth));
        assert!(!c.allows(AuthFlow::UserPassword));
        assert!(!c.allows(AuthFlow::AdminUserPassword));
    }

    #[test]
    fn read_attributes_limit_what_a_client_reads() {
        let all = ClientConfig::default();
        assert!(all.may_read("custom:role") && all.may_read("email"));
        assert!(!all.may_read("dev:custom:secret"));
        let some = ClientConfig {
            read_attributes: Some(vec!["email".into(), "email_verified".into(), "name".into()]),
            ..ClientConfig::default()
        };
        assert!(some.may_read("email") && some.may_read("email_verified") && some.may_read("name"));
        assert!(!some.may_read("custom:role") && !some.may_read("given_name"));
    }

    #[test]
    fn legacy_flows_imply_refresh_and_srp() {
        let c = ClientConfig {
            explicit_auth_flows: vec!["ADMIN_NO_SRP_AUTH".into()],
            ..ClientConfig::default()
        };
        assert!(c.allows(AuthFlow::AdminUserPassword));
        assert!(c.allows(AuthFlow::RefreshToken));
        assert!(!c.allows(AuthFlow::UserPassword));
    }

    #[test]
    fn validity_ranges() {
        let mut v = TokenValidity::default();
        assert_eq!(v.check(), Ok(()));
        v.access = Validity {
            amount: 2,
            unit: TimeUnit::Days,
        };
        assert!(v.check().is_err());
    }
}
