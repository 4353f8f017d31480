//! Users, their status, credentials and sign-in failure counters.

use crate::attributes::Attributes;
use crate::ids::{Sub, UserPoolId, Username};
use crate::lockout::SignInFailures;
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum UserStatus {
    Unconfirmed,
    Confirmed,
    ForceChangePassword,
    ResetRequired,
    ExternalProvider,
    Archived,
    Compromised,
    Unknown,
}

impl UserStatus {
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Unconfirmed => "UNCONFIRMED",
            Self::Confirmed => "CONFIRMED",
            Self::ForceChangePassword => "FORCE_CHANGE_PASSWORD",
            Self::ResetRequired => "RESET_REQUIRED",
            Self::ExternalProvider => "EXTERNAL_PROVIDER",
            Self::Archived => "ARCHIVED",
            Self::Compromised => "COMPROMISED",
            Self::Unknown => "UNKNOWN",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            Self::Unconfirmed,
            Self::Confirmed,
            Self::ForceChangePassword,
            Self::ResetRequired,
            Self::ExternalProvider,
            Self::Archived,
            Self::Compromised,
            Self::Unknown,
        ]
        .into_iter()
        .find(|v| v.as_str() == s)
    }
}

/// A password as stored: a PHC string (argon2id for passwords we hash; imported formats verify
/// and are upgraded on the next sign-in).
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct PasswordCredential {
    pub phc: String,
    pub set_at: Timestamp,
    /// Set for an administrator-issued temporary password.
    pub expires_at: Option<Timestamp>,
}

impl std::fmt::Debug for PasswordCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasswordCredential")
            .field("set_at", &self.set_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// The SRP salt and verifier for a password; the verifier is sealed with the master key because
/// it can be attacked offline at one modular exponentiation per guess.
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SrpCredential {
    pub salt: Vec<u8>,
    pub sealed_verifier: Vec<u8>,
}

impl std::fmt::Debug for SrpCredential {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SrpCredential(..)")
    }
}

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct User {
    pub pool_id: UserPoolId,
    pub sub: Sub,
    pub username: Username,
    pub status: UserStatus,
    pub enabled: bool,
    /// Every attribute except `sub`, which is the user's id and always reported.
    pub attributes: Attributes,
    pub password: Option<PasswordCredential>,
    pub srp: Option<SrpCredential>,
    pub mfa: crate::mfa::UserMfa,
    pub failures: SignInFailures,
    pub created_at: Timestamp,
    pub modified_at: Timestamp,
}

impl User {
    /// Attributes as clients see them: `sub` first, then the rest.
    pub fn attributes_with_sub(&self) -> Vec<(String, String)> {
        let mut out = Vec::with_capacity(self.attributes.len() + 1);
        out.push(("sub".to_string(), self.sub.to_string()));
        out.extend(self.attributes.iter().map(|(k, v)| (k.clone(), v.clone())));
        out
    }

    pub fn attribute(&self, name: &str) -> Option<&str> {
        self.attributes.get(name).map(String::as_str)
    }
}
