//! Remembered devices: a device proves itself with its own SRP secret (the client generated it
//! and gave us only the verifier), and a remembered device skips MFA.

use crate::ids::{Sub, UserPoolId};
use crate::time::Timestamp;
use serde::{Deserialize, Serialize};

#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Device {
    pub pool_id: UserPoolId,
    pub sub: Sub,
    /// `{region}_{uuid}`, as Cognito's device keys look.
    pub key: String,
    /// The device's SRP "pool name".
    pub group_key: String,
    pub name: Option<String>,
    /// Set by ConfirmDevice; until then the device can't authenticate.
    pub salt: Option<Vec<u8>>,
    pub sealed_verifier: Option<Vec<u8>>,
    pub remembered: bool,
    pub created_at: Timestamp,
    pub modified_at: Timestamp,
    pub last_authenticated_at: Option<Timestamp>,
}

impl std::fmt::Debug for Device {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Device")
            .field("key", &self.key)
            .field("remembered", &self.remembered)
            .finish_non_exhaustive()
    }
}

impl Device {
    pub fn confirmed(&self) -> bool {
        self.sealed_verifier.is_some()
    }

    /// The attributes Cognito reports in DeviceType.DeviceAttributes.
    pub fn attributes(&self) -> Vec<(String, String)> {
        let mut out = vec![
            ("device_status".to_string(), "valid".to_string()),
            (
                "dev:device_remembered_status".to_string(),
                if self.remembered {
                    "remembered"
                } else {
                    "not_remembered"
                }
                .to_string(),
            ),
        ];
        if let Some(name) = &self.name {
            out.push(("device_name".to_string(), name.clone()));
        }
        out
    }
}

/// A pool's DeviceConfiguration: whether devices are tracked, and how they become remembered.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DeviceTracking {
    /// Devices are remembered only when the user says so (UpdateDeviceStatus).
    pub on_user_prompt: bool,
    /// ChallengeRequiredOnNewDevice: a remembered device's own proof stands in for the second
    /// factor. Without it, devices are tracked but MFA is still asked for.
    pub remembered_replaces_mfa: bool,
}

impl DeviceTracking {
    /// From the pool's stored settings; None when the pool doesn't track devices.
    pub fn of(settings: &std::collections::BTreeMap<String, serde_json::Value>) -> Option<Self> {
        let config = settings.get("DeviceConfiguration")?;
        Some(Self {
            on_user_prompt: config
                .get("DeviceOnlyRememberedOnUserPrompt")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false),
            remembered_replaces_mfa: config
                .get("ChallengeRequiredOnNewDevice")
                .and_then(serde_json::Value::as_bool)
                .unwrap_or(false),
        })
    }
}
