//! Passkeys (WebAuthn credentials) and a pool's WebAuthn settings.
//!
//! A credential belongs to one user of one pool; its id is unique within the pool, so a
//! credential registered by one user can be neither used nor deleted by another. The public
//! key and the authenticator's sign counter live in `credential`, the WebAuthn library's own
//! serialisation, which this crate treats as opaque.

use crate::ids::{Sub, UserPoolId};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;

#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct WebAuthnCredential {
    pub pool_id: UserPoolId,
    pub sub: Sub,
    /// The credential id, base64url without padding (as the authenticator's `rawId`).
    pub credential_id: String,
    pub friendly_name: Option<String>,
    pub relying_party_id: String,
    /// `platform` or `cross-platform`, when the client said.
    pub attachment: Option<String>,
    pub transports: Vec<String>,
    pub created_at: Timestamp,
    pub last_used_at: Option<Timestamp>,
    /// The verified credential (public key, counter, flags) as the WebAuthn library writes it.
    pub credential: String,
}

/// User verification a pool asks of authenticators (WebAuthnConfiguration.UserVerification).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub enum UserVerification {
    #[default]
    Preferred,
    Required,
}

impl UserVerification {
    pub fn name(self) -> &'static str {
        match self {
            UserVerification::Preferred => "preferred",
            UserVerification::Required => "required",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        match s {
            "preferred" => Some(Self::Preferred),
            "required" => Some(Self::Required),
            _ => None,
        }
    }
}

/// A pool's WebAuthn configuration, kept in the pool's settings under `WebAuthnConfiguration`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct WebAuthnConfig {
    /// None: the pool's prefix domain (Cognito's default), which a pool without one lacks.
    pub relying_party_id: Option<String>,
    pub user_verification: UserVerification,
    /// FactorConfiguration (`SINGLE_FACTOR` or `MULTI_FACTOR_WITH_USER_VERIFICATION`), as set.
    pub factor_configuration: Option<String>,
}

pub const SETTING: &str = "WebAuthnConfiguration";

impl WebAuthnConfig {
    pub fn of(settings: &BTreeMap<String, serde_json::Value>) -> Self {
        let c = settings.get(SETTING);
        let text = |k: &str| c.and_then(|c| c.get(k)).and_then(|v| v.as_str());
        Self {
            relying_party_id: text("RelyingPartyId").map(str::to_string),
            user_verification: text("UserVerification")
                .and_then(UserVerification::parse)
                .unwrap_or_default(),
            factor_configuration: text("FactorConfiguration").map(str::to_string),
        }
    }

    pub fn to_setting(&self) -> serde_json::Value {
        let mut m = serde_json::Map::new();
        if let Some(rp) = &self.relying_party_id {
            m.insert("RelyingPartyId".into(), rp.clone().into());
        }
        m.insert(
            "UserVerification".into(),
            self.user_verification.name().into(),
        );
        if let Some(f) = &self.factor_configuration {
            m.insert("FactorConfiguration".into(), f.clone().into());
        }
        serde_json::Value::Object(m)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn config_round_trips_through_settings() {
        let c = WebAuthnConfig {
            relying_party_id: Some("auth.example.com".into()),
            user_verification: UserVerification::Required,
            factor_configuration: Some("SINGLE_FACTOR".into()),
        };
        let settings = BTreeMap::from([(SETTING.to_string(), c.to_setting())]);
        assert_eq!(WebAuthnConfig::of(&settings), c);
        assert_eq!(
            WebAuthnConfig::of(&BTreeMap::new()),
            WebAuthnConfig::default()
        );
    }
}
